// dist/browser/: the package for browsers without a bundler — self-contained ES
// modules (the loader bundled in, no bare specifiers, no `node:` imports) that a plain
// <script type="module"> or a module Worker can import by relative path.  The three
// inlined binaries stay in their own chunks, so only the one `init()` picks (and, in the
// pool's workers, the shared-memory build) is fetched.
import { rmSync } from 'node:fs';
import * as esbuild from 'esbuild';

// chunk names carry a content hash: without this, every rebuild's chunks would pile up in
// dist/browser/chunks and go into the package
rmSync('dist/browser', { recursive: true, force: true });
await esbuild.build({
  entryPoints: {
    surprisal: 'src/index.ts',
    pool: 'src/pool/browser.ts',
    'worker-browser': 'src/pool/worker-browser.ts',
  },
  outdir: 'dist/browser',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  chunkNames: 'chunks/[name]-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
});

// The demo page (demo/: the seed article with every number live, computed by surprisal in
// a module Web Worker; the library from ../src through Vite), built as it is published and
// checked in headless Chromium by demo/check.mjs: the worker loads the best backend this
// Chromium validates (wasm-relaxed here), the article's numbers are in the DOM, sliders,
// the units toggle, the chart drag and the backend switch change them as they should, no
// page errors, and a non-blank screenshot.  The in-page benchmark is left out to keep this
// fast (`node demo/check.mjs --dir <build> --bench` runs it too).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { CHROMIUM } from './browser/server.js';

const root = new URL('..', import.meta.url).pathname;
if (!existsSync(CHROMIUM)) console.log(`test/demo.test.ts skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);

it.skipIf(!existsSync(CHROMIUM))('the demo builds, loads the best backend, renders the article\'s numbers and reacts to its controls', () => {
  const out = mkdtempSync(join(tmpdir(), 'surprisal-demo-'));
  try {
    execFileSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', 'demo', '--outDir', join(out, 'site'), '--emptyOutDir', '--logLevel', 'error'], { cwd: root, stdio: 'pipe' });
    const run = () => execFileSync(process.execPath, [join(root, 'demo/check.mjs'), '--dir', join(out, 'site'), '--screenshot', join(out, 'demo.png')],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CHROMIUM } });
    let log: string;
    try {
      log = run();
    } catch (e) {
      const { stdout, stderr } = e as { stdout?: string; stderr?: string };
      throw new Error(`demo/check.mjs failed:\n${stdout ?? ''}\n${stderr ?? ''}`);
    }
    expect(log).toContain('all checks passed');
    expect(log).not.toContain('FAIL');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 90_000);

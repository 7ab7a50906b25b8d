// surprisal where the users are: the packed tarball installed into an empty project and
// loaded in real headless Chromium (Debian's, driven by playwright-core) — with no
// bundler (import map, relative path), in a module Worker, through the worker pool
// (plain and cross-origin isolated), and built into a tiny app by Vite.  Every page
// runs test/browser/fixtures/compute.js and must get Node's answers.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as surprisal from '../dist/index.js';
// @ts-expect-error: a plain JS fixture shared with the pages
import { compute } from './browser/fixtures/compute.js';
import { CHROMIUM, CHROMIUM_ARGS, serve } from './browser/server.js';

const root = new URL('..', import.meta.url).pathname;
const fixtures = join(root, 'test/browser/fixtures');
const haveChromium = existsSync(CHROMIUM);
let dir = '';
let server: { url: string; close: () => Promise<void> };
let browser: Browser;
let expected: Record<string, unknown>;

const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: 'error' } });

// The arrays come out of the wasm kernels (IEEE arithmetic, no engine Math): they must be
// Node's bit for bit.  The scalars are small inputs, which take the JS twins and so the
// engine's own Math.log — "implementation-approximated" in ECMAScript, and Chromium 156's
// differs from Node 20's by an ulp (Math.log(3): 1.0986122886681098 against …096) — so
// they must agree within 4 ulp.
function expectNodeAnswers(r: Record<string, unknown>) {
  expect(Object.keys(r).sort()).toEqual(Object.keys(expected).sort());
  for (const [key, want] of Object.entries(expected)) {
    const got = r[key];
    if (typeof want === 'number' && typeof got === 'number' && got !== want) {
      expect(Math.abs(got - want), key).toBeLessThanOrEqual(4 * Number.EPSILON * Math.abs(want));
    } else {
      expect(got, key).toEqual(want);
    }
  }
}

async function resultOf(path: string): Promise<Record<string, unknown>> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await page.goto(`${server.url}/${path}`);
    await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, null, { timeout: 30_000 });
    const result = await page.evaluate(() => (window as unknown as { result: Record<string, unknown> }).result);
    expect(errors).toEqual([]);
    return result;
  } finally {
    await page.close();
  }
}

describe.skipIf(!haveChromium)('in headless Chromium', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'surprisal-browser-'));
    npm(['pack', '--pack-destination', dir, '--ignore-scripts'], root);
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'browser-consumer', private: true, type: 'module' }));
    npm(['install', '--no-audit', '--no-fund', join(dir, tarball)], dir);
    for (const f of readdirSync(fixtures)) copyFileSync(join(fixtures, f), join(dir, f));
    // a tiny app built by Vite, which must pick the package's `browser` export
    const app = join(dir, 'vite-app');
    mkdirSync(app);
    copyFileSync(join(fixtures, 'compute.js'), join(app, 'compute.js'));
    writeFileSync(join(app, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="./main.js"></script>');
    writeFileSync(join(app, 'main.js'), [
      "import * as S from 'surprisal';",
      "import { compute } from './compute.js';",
      'compute(S).then((r) => { window.result = r; }, (e) => { window.result = { error: String(e) }; });',
    ].join('\n'));
    execFileSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', app, '--outDir', 'dist', '--base', './', '--logLevel', 'error'], { cwd: dir, stdio: 'pipe' });
    server = await serve(dir);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    expected = await compute(surprisal, 'wasm-simd');
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a plain <script type="module"> with an import map: init() loads wasm-simd, values equal Node\'s', async () => {
    const r = await resultOf('importmap.html');
    expect(r.backend).toBe('wasm-simd');
    expectNodeAnswers(r);
  });

  it('the same by a relative path into the package', async () => {
    expectNodeAnswers(await resultOf('relative.html'));
  });

  it('inside a module Web Worker', async () => {
    expectNodeAnswers(await resultOf('worker.html'));
  });

  it('the worker pool, transferring (page not isolated)', async () => {
    const r = await resultOf('pool.html');
    expect(r).toMatchObject({ shared: false, inMemory: false, isolated: false, backend: 'wasm-simd', size: 2, lossEqual: true, gradEqual: true, softmaxEqual: true });
    expect(r.error).toEqual(['RangeError', 'softmaxCrossEntropy: label at row 0 is 200, outside [0, 200)']);
  });

  it('the worker pool through shared memory (cross-origin isolated page): the worker computes in a WebAssembly memory shared with the page', async () => {
    const r = await resultOf('isolated/pool.html');
    expect(r).toMatchObject({ shared: true, inMemory: true, isolated: true, backend: 'wasm-simd', lossEqual: true, gradEqual: true, softmaxEqual: true });
    // both threads computed rows: the worker in its WebAssembly memory shared with the page
    expect(r.split).toHaveLength(2);
    expect((r.split as number[]).every((rows) => rows > 0)).toBe(true);
  });

  it('built into an app by Vite', async () => {
    expectNodeAnswers(await resultOf('vite-app/dist/index.html'));
  });
}, 300_000);

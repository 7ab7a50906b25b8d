// surprisal in headless Chromium (Debian's, driven by playwright-core; no downloads): the
// built dist/ served by a local HTTP server (test/browser/server.ts) and loaded as plain
// ES modules — through an import map in a page, by relative path in a dedicated module
// Web Worker, and the worker pool's browser build (dist/pool/browser.js) in a page with
// and without cross-origin isolation.  The pages run test/browser/values.js: init() on
// its own must pick the best backend the page's own feature probes find, every backend
// must give the exact values, and the pool the single-thread results bit for bit.  And
// test/pool-cases.js's matrix (test/pool.test.ts's): every row-wise function through the
// pool, call after call, equal to the single call bit for bit — shared memory with 2 and
// 16 threads in an isolated page; transfers with
// 2 and 16 workers in a page that is not isolated.
//
// Needs `npm run build` first.  Skipped, saying why, where there is no Chromium.
import { copyFileSync, cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, serve } from './browser/server.js';
import { type PoolResult, poolProblems, problems, type Result, runnable } from './browser/values.js';
import { BROWSER_SHAPES, cases } from './pool-cases.js';

const root = new URL('..', import.meta.url).pathname;
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.log(`test/browser.test.ts skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);

type PageResult = Result & { first: string; isolated: boolean; error?: string };
let dir = '';
let server: { url: string; close: () => Promise<void> } | undefined;
let browser: Browser | undefined;
let mainThread: PageResult | undefined;

interface MatrixResult {
  loaded: string;
  backend: string;
  shared: boolean;
  size: number;
  isolated: boolean;
  checked: number;
  mismatches: string[];
  startMs: number;
  matrixMs: number;
}

/**
 * The pool modes the matrix runs in: shared memory needs an isolated page; a page that is
 * not isolated gets transfers by default.  The shapes are pool-cases.js's BROWSER_SHAPES
 * (every row count at 10 and 1000 columns but 2048 × 1000, which runs in Node), both float
 * types; the five pages, two of them with 16 Web Workers, take ~35 s on a 2-core machine.
 */
const MATRIX = [
  { page: 'isolated/pool-matrix.html?size=2', isolated: true, shared: true, size: 2, what: 'shared memory, 2 threads' },
  { page: 'isolated/pool-matrix.html?size=16', isolated: true, shared: true, size: 16, what: 'shared memory, 16 threads' },
  { page: 'pool-matrix.html?size=2', isolated: false, shared: false, size: 2, what: 'transfers, 2 workers' },
  { page: 'pool-matrix.html?size=16', isolated: false, shared: false, size: 16, what: 'transfers, 16 workers' },
] as const;
/** Pool results per page: every case of every shape in both float types, called twice. */
const MATRIX_CHECKS = BROWSER_SHAPES.length * 2 * cases(null, 1, 10, Float64Array).length * 2;

/** Opens a page, waits for its `window.result`, and returns it; the page must log no error. */
async function resultOf<T>(path: string, timeout = 30_000): Promise<T & { error?: string }> {
  const page = await browser!.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  try {
    await page.goto(`${server!.url}/${path}`);
    await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, null, { timeout });
    const result = await page.evaluate(() => (window as unknown as { result: T & { error?: string } }).result);
    expect(result.error).toBeUndefined();
    expect(errors).toEqual([]);
    return result;
  } finally {
    await page.close();
  }
}

describe.skipIf(!haveChromium)('in headless Chromium', () => {
  beforeAll(async () => {
    for (const f of ['dist/index.js', 'dist/pool/browser.js', 'dist/pool/worker-browser.js', 'dist/wasm/simd.generated.js']) {
      if (!existsSync(join(root, f))) throw new Error(`${f} is missing: run \`npm run build\` first`);
    }
    // a snapshot of dist/ (a rebuild elsewhere cannot pull files from under the pages), the pages, values.js
    dir = mkdtempSync(join(tmpdir(), 'surprisal-browser-'));
    cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
    const pages = join(root, 'test/browser/pages');
    for (const f of readdirSync(pages)) copyFileSync(join(pages, f), join(dir, f));
    copyFileSync(join(root, 'test/browser/values.js'), join(dir, 'values.js'));
    copyFileSync(join(root, 'test/pool-cases.js'), join(dir, 'pool-cases.js'));
    server = await serve(dir);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a page: init() picks the best backend the page\'s own probes find (wasm-relaxed where relaxed SIMD validates), and every backend gives the exact values', async () => {
    const r = await resultOf<PageResult>('main.html');
    expect(r.features.simd).toBe(true); // every Chromium this runs on has SIMD
    expect(r.first).toBe(runnable(r.features)[0]);
    expect(r.backends.auto.loaded).toBe(r.first);
    expect(problems(r)).toEqual([]);
    mainThread = r;
  });

  it('a dedicated module Web Worker: the same, and the page\'s values bit for bit', async () => {
    const r = await resultOf<PageResult>('worker.html');
    expect(r.first).toBe(runnable(r.features)[0]);
    expect(problems(r)).toEqual([]);
    if (mainThread) {
      expect(r.features).toEqual(mainThread.features);
      expect(r.backends).toEqual(mainThread.backends);
    }
  });

  it('surprisal/pool in a page that is not cross-origin isolated: transfers; softmax and softmaxCrossEntropy equal the single-thread calls bit for bit', async () => {
    const r = await resultOf<PoolResult>('pool.html');
    expect(r.isolated).toBe(false);
    expect(poolProblems(r, false)).toEqual([]);
  });

  it('surprisal/pool in a cross-origin-isolated page (COOP/COEP): shared memory; the same bit for bit', async () => {
    const r = await resultOf<PoolResult>('isolated/pool.html');
    expect(r.isolated).toBe(true);
    expect(poolProblems(r, true)).toEqual([]);
  });

  for (const m of MATRIX) {
    it(`surprisal/pool, ${m.what}${m.isolated ? ' (isolated page)' : ' (page not isolated)'}: every row-wise function equals the single call bit for bit, call after call`, async () => {
      const r = await resultOf<MatrixResult>(m.page, 60_000);
      console.log(`pool matrix in Chromium, ${m.what}: ${r.checked} pool results, ${r.mismatches.length} mismatches; pool started in ${r.startMs} ms, matrix ${r.matrixMs} ms`);
      expect({ isolated: r.isolated, shared: r.shared, size: r.size, backend: r.backend })
        .toEqual({ isolated: m.isolated, shared: m.shared, size: m.size, backend: r.loaded });
      expect(r.checked).toBe(MATRIX_CHECKS);
      expect(r.mismatches).toEqual([]);
    }, 70_000);
  }
}, 90_000);

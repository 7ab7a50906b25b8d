// The package as a user installs it: `npm pack` the built dist/, install the tarball into
// an empty project (offline: it has no dependencies), and use it there with no build
// step — from Node's main thread and a worker_threads Worker on every backend this Node
// runs (test/browser/values.js: exact values), on Nodes 22 and 24 too, through the worker pool
// (`surprisal/pool`), on Bun and Deno (their npm packages, where the npm cache holds
// them: .ci/run fetches them), and from TypeScript against the shipped .d.ts; publint
// and arethetypeswrong lint the same tarball.
//
// Needs `npm run build` first (it packs dist/ as it is, with --ignore-scripts).
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poolProblems, problems, type Result } from './browser/values.js';

const root = new URL('..', import.meta.url).pathname;
const bin = (pkg: string, file: string) => join(root, 'node_modules', pkg, file);
/**
 * The published tarball's budget: npm's "package size", in kB of 1000 bytes (160 kB until
 * the joint tables' row sums gained their low parts, ~0.5 kB for the conditional
 * entropy's relative accuracy on dominated rows; 163 kB until softmaxKlDivergence's rows
 * of two got their closed form, ~2.7 kB in three builds and the JS twin; 166 kB until the
 * four-column rows' loop and the narrow KL rows' pass were inlined at their calls, ~2.6 kB in
 * the two SIMD builds; 169 kB until the wide rows' exponential pass was inlined at its four
 * calls, ~2.1 kB for 5–8 % at 1000 columns, and the QA fixes of 0.2's last stop, ~1.5 kB
 * with the sharded loss's state checks and its smoothing sum kept relative to the maximum;
 * 173 kB until the twins' own exponential, js/math.ts, ~1.5 kB with its table of
 * 2^(j/64): docs/performance.md; 176 kB until the fixes of a base below 1 and of
 * normalised KL near DBL_MAX, ~0.4 kB; 177 kB until float32 calls' gradient rows past
 * FLT_MAX were formed again in float64, plan.ts's `wideGradRows`, ~1.2 kB; 179 kB until
 * the narrow rows' exponential loop was inlined in each kernel's tile loop, ~3 kB in the
 * two SIMD builds for 7–30 % at 3–32 columns; 183 kB until float64 rows of four were
 * taken in registers, `fourRowsF64`, ~1 kB in the two SIMD builds for 1.3–1.6× at four
 * columns).
 */
const MAX_TARBALL = 184_500;
let dir = '';
let tarball = '';

/** npm and npx quietly: errors only, no update notice. */
const NPM_ENV = { ...process.env, npm_config_loglevel: 'error', npm_config_update_notifier: 'false' };
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: NPM_ENV });
/**
 * `npx --offline -y <pkg> ...args` in the consumer project, or null where the npm cache
 * does not hold pkg (offline: the suite never downloads a runtime; .ci/run fetches them).
 */
function fromCache(pkg: string, args: string[]): { status: number | null; stdout: string; stderr: string } | null {
  const run = spawnSync('npx', ['--offline', '-y', pkg, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000, env: NPM_ENV });
  if (run.status !== 0 && /ENOTCACHED|ETARGET|E404|ENOTFOUND|EAI_AGAIN|could not determine executable/i.test(run.stderr)) {
    console.log(`skipped: ${pkg} is not in the npm cache (npx --offline): ${run.stderr.trim().split('\n')[0]}`);
    return null;
  }
  return run;
}
const node = (args: string[], options: { timeout?: number } = {}) =>
  execFileSync(process.execPath, args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: options.timeout ?? 60_000 });

// onEveryBackend in the main thread, then in a worker_threads Worker running this same file.
const SMOKE = `
  import { Worker, isMainThread, parentPort } from 'node:worker_threads';
  import * as S from 'surprisal';
  import { onEveryBackend } from './values.js';
  const result = await onEveryBackend(S);
  const runtime = typeof Bun !== 'undefined' ? 'bun' : typeof Deno !== 'undefined' ? 'deno' : 'node';
  if (isMainThread) {
    const w = new Worker(new URL(import.meta.url));
    w.once('message', (worker) => console.log(JSON.stringify({ runtime, version: process.version, main: result, worker })));
    w.once('error', (e) => { console.error(e); process.exitCode = 1; });
  } else parentPort.postMessage(result);
`;

// The pool's agreement with the single-thread calls, shared and in transfer mode.
const POOL = `
  import * as S from 'surprisal';
  import { createPool } from 'surprisal/pool';
  import { poolAgreement } from './values.js';
  const shared = await poolAgreement(S, createPool, { size: 2 });
  const transfer = await poolAgreement(S, createPool, { size: 2, shared: false });
  console.log(JSON.stringify({ shared, transfer }));
`;

function expectEveryBackend(out: string): { runtime: string; version: string; main: Result; worker: Result } {
  const r = JSON.parse(out) as { runtime: string; version: string; main: Result; worker: Result };
  expect(problems(r.main)).toEqual([]);
  expect(problems(r.worker)).toEqual([]);
  expect(r.worker).toEqual(r.main); // one engine: the worker's values are the main thread's bit for bit
  return r;
}

describe('the packed tarball in an empty project', () => {
  beforeAll(() => {
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/pool/node.js', 'dist/pool/browser.js', 'dist/wasm/simd.generated.js']) {
      if (!existsSync(join(root, f))) throw new Error(`${f} is missing: run \`npm run build\` first`);
    }
    dir = mkdtempSync(join(tmpdir(), 'surprisal-pack-'));
    const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', dir, '--ignore-scripts'], root)) as { filename: string }[];
    tarball = join(dir, packed.filename);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    npm(['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', tarball], dir);
    copyFileSync(join(root, 'test/browser/values.js'), join(dir, 'values.js'));
    writeFileSync(join(dir, 'smoke.mjs'), SMOKE);
    writeFileSync(join(dir, 'pool.mjs'), POOL);
  }, 120_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`is at most ${MAX_TARBALL / 1000} kB and holds package.json, README.md, LICENSE and dist/ only: no build/, src/, tests, .wasm files or sources`, () => {
    expect(statSync(tarball).size).toBeLessThanOrEqual(MAX_TARBALL);
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, ''));
    const outside = files.filter((f) => !['package.json', 'README.md', 'LICENSE'].includes(f) && !f.startsWith('dist/'));
    expect(outside).toEqual([]);
    expect(files.filter((f) => /(^|\/)(build|src|test|assembly|scripts)\//.test(f) || /\.test\.|\.wasm$|\.map$|(?<!\.d)\.ts$/.test(f))).toEqual([]);
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/pool/node.js', 'dist/pool/node.d.ts', 'dist/pool/browser.js', 'dist/pool/worker-browser.js', 'dist/pool/worker-node.js']) {
      expect(files).toContain(f);
    }
    // the binaries, inlined and gzipped (the relaxed build as a delta against the SIMD build)
    expect(files.filter((f) => f.startsWith('dist/wasm/')).sort()).toEqual(['dist/wasm/relaxed.generated.js', 'dist/wasm/scalar.generated.js', 'dist/wasm/simd.generated.js']);
  });

  it('imports and runs on every backend this Node runs, in the main thread and in a worker thread: exact values', () => {
    const r = expectEveryBackend(node(['smoke.mjs']));
    // Node 20 has relaxed SIMD off; Node ≥ 22 on
    expect(r.main.features.relaxed).toBe(Number(process.versions.node.split('.')[0]) >= 22);
  });

  it.skipIf(Number(process.versions.node.split('.')[0]) >= 22)('with relaxed SIMD switched on (node --experimental-wasm-relaxed-simd): wasm-relaxed too, and auto picks it', () => {
    const r = expectEveryBackend(node(['--experimental-wasm-relaxed-simd', 'smoke.mjs']));
    expect(r.main.features.relaxed).toBe(true);
    expect(r.main.backends.auto.loaded).toBe('wasm-relaxed');
  });

  // the Node versions users run (20 is the suite's own): relaxed SIMD is on in both
  for (const major of [22, 24]) {
    it(`on Node ${major} (npx node@${major}, from the npm cache): every backend, wasm-relaxed included, and the pool in both modes`, (ctx) => {
      const run = fromCache(`node@${major}`, ['smoke.mjs']);
      if (!run) return ctx.skip(`node@${major} is not in the npm cache`);
      expect(run.stderr).toBe('');
      const r = expectEveryBackend(run.stdout);
      expect(r.version).toMatch(new RegExp(`^v${major}\\.`));
      expect(r.main.backends.auto.loaded).toBe('wasm-relaxed');
      const pool = fromCache(`node@${major}`, ['pool.mjs']);
      if (!pool) throw new Error(`node@${major} ran smoke.mjs, then was not found for pool.mjs`);
      expect(pool.status, pool.stderr).toBe(0);
      const p = JSON.parse(pool.stdout);
      expect(poolProblems(p.shared, true)).toEqual([]);
      expect(poolProblems(p.transfer, false)).toEqual([]);
    });
  }

  // (both report a Node version of their own compatibility layer; `runtime` says which ran)
  for (const [name, pkg, args] of [['Bun', 'bun@1', []], ['Deno', 'deno@2', ['run', '-A']]] as const) {
    it(`on ${name} (npx ${pkg}, from the npm cache): every backend in the main thread and a worker, and the pool in both modes`, (ctx) => {
      const smoke = fromCache(pkg, [...args, 'smoke.mjs']);
      if (!smoke) return ctx.skip(`${pkg} is not in the npm cache`);
      expect(smoke.status, smoke.stderr).toBe(0);
      const r = expectEveryBackend(smoke.stdout);
      expect(r.runtime).toBe(name.toLowerCase());
      expect(r.main.backends.auto.loaded).toMatch(/^wasm-/);
      const pool = fromCache(pkg, [...args, 'pool.mjs']);
      if (!pool) throw new Error(`${pkg} ran smoke.mjs, then was not found for pool.mjs`);
      expect(pool.status, pool.stderr).toBe(0); // exits only once close() has ended the workers
      const p = JSON.parse(pool.stdout);
      expect(poolProblems(p.shared, true)).toEqual([]);
      expect(poolProblems(p.transfer, false)).toEqual([]);
      expect(p.shared.loaded).toBe(p.transfer.loaded);
    });
  }

  it('surprisal/pool, shared memory and transfers: softmax and softmaxCrossEntropy equal the single-thread calls bit for bit, errors too; close() lets the process exit', () => {
    const r = JSON.parse(node(['pool.mjs'])); // returns only if the process exits after close()
    expect(poolProblems(r.shared, true)).toEqual([]);
    expect(poolProblems(r.transfer, false)).toEqual([]);
    expect(r.shared.loaded).toBe(r.transfer.loaded);
  });

  it('type-checks against the shipped .d.ts: reductions give number or Float64Array, maps keep the input\'s float type, misspelt options are errors', () => {
    writeFileSync(join(dir, 'types.ts'), `
      import { allocate, backend, entropy, init, klDivergence, logSoftmax, logSumExp, softmax, softmaxCrossEntropy, type Backend, type WasmArray } from 'surprisal';
      import { createPool, type Pool } from 'surprisal/pool';
      const b: Promise<Backend> = init({ backend: 'wasm-relaxed' });
      const now: Backend = backend();
      const h: number = entropy([0.5, 0.5]);
      const rows: Float64Array = entropy([0.5, 0.5, 1, 0], { cols: 2 });
      const kl: number = klDivergence(new Float32Array(2), [0.5, 0.5], { base: 2 });
      const p32: Float32Array = softmax(new Float32Array(3));
      const p64: Float64Array = softmax([1, 2, 3]);
      const into: Float64Array = logSoftmax(new Float32Array(3), { out: new Float64Array(3) });
      const loss: number = softmaxCrossEntropy([1, 2], [0], { cols: 2 });
      const perRow: Float64Array = softmaxCrossEntropy([1, 2], [0], { cols: 2, reduction: 'none' });
      const x: WasmArray<Float64Array> = allocate(Float64Array, 3);
      const lse: number = logSumExp(x);
      const lseRows: Float64Array = logSumExp(x, { cols: 3 });
      // @ts-expect-error: a vector reduction is a number, not an array
      const wrong: Float64Array = entropy([0.5, 0.5]);
      // @ts-expect-error: the softmax of a Float32Array is a Float32Array
      const wrong32: Float64Array = softmax(new Float32Array(3));
      // @ts-expect-error: a misspelt option ('bse')
      entropy([0.5, 0.5], { bse: 2 });
      // @ts-expect-error: a misspelt option ('temprature')
      softmax([1, 2], { temprature: 2 });
      // @ts-expect-error: not a backend
      init({ backend: 'webgpu' });
      // @ts-expect-error: softmaxCrossEntropy needs cols
      softmaxCrossEntropy([1, 2], [0], {});
      async function pooled(): Promise<number> {
        const pool: Pool = await createPool({ size: 2 });
        const r: Float64Array = await pool.logSumExp([1, 2, 3, 4], { cols: 2 });
        // @ts-expect-error: a misspelt pool option ('sise')
        await createPool({ sise: 2 });
        await pool.close();
        return r[0];
      }
      export { b, now, h, rows, kl, p32, p64, into, loss, perRow, lse, lseRows, wrong, wrong32, pooled };
    `);
    const tsc = bin('typescript', 'bin/tsc');
    const base = { noEmit: true, strict: true, target: 'es2022', lib: ['es2022', 'dom'], skipLibCheck: false, skipDefaultLibCheck: true };
    const projects = {
      // a Node project (nodenext resolution), the shipped .d.ts checked too (skipLibCheck off).  They name DOM
      // types (BufferSource, WebAssembly, Transferable) that @types/node 20 lacks, so the DOM lib is on.
      'tsconfig.node.json': { ...base, module: 'nodenext', moduleResolution: 'nodenext', types: ['node'], typeRoots: [join(root, 'node_modules/@types')] },
      // a project with a bundler (moduleResolution bundler), no Node types
      'tsconfig.bundler.json': { ...base, module: 'esnext', moduleResolution: 'bundler', types: [] },
    };
    for (const [file, compilerOptions] of Object.entries(projects)) {
      writeFileSync(join(dir, file), JSON.stringify({ compilerOptions, files: ['types.ts'] }));
      const r = spawnSync(process.execPath, [tsc, '-p', file], { cwd: dir, encoding: 'utf8' });
      expect(r.stdout + r.stderr, file).toBe('');
      expect(r.status, file).toBe(0);
    }
  });

  it('publint --strict and arethetypeswrong (--profile esm-only) pass on the tarball', () => {
    // the same tarball as above, rather than `attw --pack .`, whose `npm pack` runs the
    // `prepare` script: a full rebuild of dist/ in the middle of the test run
    const publint = spawnSync(process.execPath, [bin('publint', 'src/cli.js'), 'run', '--strict', tarball], { cwd: dir, encoding: 'utf8' });
    expect(publint.stdout + publint.stderr).toContain('All good!');
    expect(publint.status).toBe(0);
    const attw = spawnSync(process.execPath, [bin('@arethetypeswrong/cli', 'dist/index.js'), tarball, '--profile', 'esm-only', '--format', 'table-flipped'], { cwd: dir, encoding: 'utf8' });
    expect(attw.status, attw.stdout + attw.stderr).toBe(0);
  });
}, 240_000);

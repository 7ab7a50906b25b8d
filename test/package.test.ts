// The package as a user installs it: `npm pack`, install the tarball into an empty
// project, and use it there with no build step — from Node, from a worker thread, through
// the worker pool (`surprisal/pool`), and from TypeScript (the .d.ts overloads).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
let dir = '';

const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: 'error' } });

describe('the packed tarball in an empty project', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'surprisal-pack-'));
    npm(['pack', '--pack-destination', dir, '--ignore-scripts'], root);
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    npm(['install', '--no-audit', '--no-fund', join(dir, tarball)], dir);
  }, 180_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ships the built files only', () => {
    const files = readdirSync(join(dir, 'node_modules/surprisal/dist'));
    expect(files).toContain('index.js');
    expect(files).toContain('index.d.ts');
    expect(readdirSync(join(dir, 'node_modules/surprisal/build')).sort()).toEqual(['surprisal.scalar.wasm', 'surprisal.simd.wasm']);
  });

  it('imports and runs on every backend, in the main thread and in a worker', () => {
    writeFileSync(join(dir, 'smoke.mjs'), `
      import { Worker, isMainThread, parentPort } from 'node:worker_threads';
      import { init, backend, entropy, information, crossEntropy, softmax, softmaxCrossEntropy, allocate, logSumExp } from 'surprisal';
      const out = [];
      for (const b of ['js', 'wasm', 'wasm-simd', 'auto']) {
        await init({ backend: b });
        const x = allocate(Float32Array, 4);
        x.array.set([1, 2, 3, 4]);
        out.push([backend(), information(0.01, { base: 2 }).toFixed(4), entropy([0.99, 0.01], { base: 2 }).toFixed(4),
          crossEntropy([0, 0, 1], [0.1, 0.15, 0.75]).toFixed(4), softmax(new Float32Array([0, 0])).join(),
          softmaxCrossEntropy([0, 0], [1], { cols: 2 }).toFixed(4), logSumExp(x).toFixed(4)].join(' '));
        x.free();
      }
      if (isMainThread) {
        const w = new Worker(new URL(import.meta.url));
        w.on('message', (m) => { console.log(JSON.stringify({ main: out, worker: m })); });
      } else parentPort.postMessage(out);
    `);
    const { main, worker } = JSON.parse(execFileSync(process.execPath, ['smoke.mjs'], { cwd: dir, encoding: 'utf8' }));
    expect(main).toEqual([
      'js 6.6439 0.0808 0.2877 0.5,0.5 0.6931 4.4402',
      'wasm 6.6439 0.0808 0.2877 0.5,0.5 0.6931 4.4402',
      'wasm-simd 6.6439 0.0808 0.2877 0.5,0.5 0.6931 4.4402',
      'wasm-simd 6.6439 0.0808 0.2877 0.5,0.5 0.6931 4.4402',
    ]);
    expect(worker).toEqual(main);
  });

  it('surprisal/pool: two threads give the one-thread values bit for bit, a bad argument the one-thread error, and the process exits without close()', () => {
    writeFileSync(join(dir, 'pool.mjs'), `
      import { init, softmax, softmaxCrossEntropy } from 'surprisal';
      import { createPool } from 'surprisal/pool';
      await init();
      const pool = await createPool({ size: 2 });
      const rows = 1024, cols = 100;
      const z = pool.array(Float32Array, rows * cols);
      for (let i = 0; i < z.length; i++) z[i] = Math.sin(i * 0.37) * 8;
      const y = Int32Array.from({ length: rows }, (_, r) => (r * 7) % cols);
      const p = await pool.softmax(z, { cols }), p1 = softmax(z, { cols });
      const loss = await pool.softmaxCrossEntropy(z, y, { cols });
      let worst = 0;
      for (let r = 0; r < rows; r++) { let s = 0; for (let c = 0; c < cols; c++) s += p[r * cols + c]; worst = Math.max(worst, Math.abs(s - 1)); }
      let error = null, single = null;
      try { await pool.softmaxCrossEntropy(z, y.map((v) => v + cols), { cols }); } catch (e) { error = [e.constructor.name, e.message]; }
      try { softmaxCrossEntropy(z, y.map((v) => v + cols), { cols }); } catch (e) { single = [e.constructor.name, e.message]; }
      console.log(JSON.stringify({
        shared: pool.shared, backend: pool.backend, split: pool.lastSplit.length,
        softmaxEqual: p.every((v, i) => Object.is(v, p1[i])), lossEqual: Object.is(loss, softmaxCrossEntropy(z, y, { cols })),
        worst, error, single,
      }));
      // no pool.close(): a pool left open must not keep the process alive
    `);
    const r = JSON.parse(execFileSync(process.execPath, ['pool.mjs'], { cwd: dir, encoding: 'utf8', timeout: 60_000 }));
    expect(r).toMatchObject({ shared: true, backend: 'wasm-simd', split: 2, softmaxEqual: true, lossEqual: true });
    expect(r.worst).toBeLessThan(1e-6); // each softmax row sums to 1 (float32 entries)
    expect(r.error[0]).toBe('RangeError');
    expect(r.error).toEqual(r.single);
  });

  it('type-checks: reductions give number or Float64Array, maps keep Float32Array', () => {
    writeFileSync(join(dir, 'types.ts'), `
      import { entropy, softmax, logSoftmax, softmaxCrossEntropy, klDivergence, init, type Backend } from 'surprisal';
      const b: Promise<Backend> = init();
      const h: number = entropy([0.5, 0.5]);
      const rows: Float64Array = entropy([0.5, 0.5, 1, 0], { cols: 2 });
      const kl: number = klDivergence(new Float32Array(2), [0.5, 0.5], { base: 2 });
      const p32: Float32Array = softmax(new Float32Array(3));
      const p64: Float64Array = softmax([1, 2, 3]);
      const into: Float64Array = logSoftmax(new Float32Array(3), { out: new Float64Array(3) });
      const loss: number = softmaxCrossEntropy([1, 2], [0], { cols: 2 });
      const perRow: Float64Array = softmaxCrossEntropy([1, 2], [0], { cols: 2, reduction: 'none' });
      // @ts-expect-error: a vector reduction is a number, not an array
      const wrong: Float64Array = entropy([0.5, 0.5]);
      export { b, h, rows, kl, p32, p64, into, loss, perRow, wrong };
    `);
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const result = execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022,dom', 'types.ts'], { cwd: dir, encoding: 'utf8' });
    expect(result).toBe('');
  });
}, 240_000);

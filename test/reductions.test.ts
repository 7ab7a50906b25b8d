// src/reductions.ts: the per-row results of the reductions, and `out`, which takes them
// instead of a new array — on every backend: the same values bit for bit as the
// allocating call, the caller's array returned, nothing else written, and the errors.
import { describe, expect, it } from 'vitest';
import {
  allocate, crossEntropy, init, entropy, jsDivergence, klDivergence, logSumExp, signedLogSumExp, softmaxEntropy, softmaxKlDivergence,
} from '../src/index.js';
import { createPool } from '../dist/pool/node.js';
import { onEachBackend, randomDistribution, randomLogits, rng } from './helpers.js';

type Call = (out?: Float64Array) => unknown;

/** The reductions taking `out`, on a float32 or float64 matrix of `rows` × `cols`. */
function calls(Type: Float32ArrayConstructor | Float64ArrayConstructor, rows: number, cols: number): [string, Call][] {
  const random = rng(rows * 31 + cols);
  const n = rows * cols;
  const x = randomLogits(n, random, Type), y = randomLogits(n, random, Type);
  const p = new Type(n), q = new Type(n);
  for (let r = 0; r < rows; r++) {
    p.set(randomDistribution(cols, random, Float64Array), r * cols);
    q.set(randomDistribution(cols, random, Float64Array), r * cols);
  }
  const w = new Type(n).map(() => random());
  const grad = new Type(n), gradQ = new Type(n);
  const o = (out?: Float64Array) => ({ cols, ...(out ? { out } : {}) });
  return [
    ['logSumExp', (out) => logSumExp(x, o(out))],
    ['logSumExp, weights', (out) => logSumExp(x, { ...o(out), weights: w })],
    ['softmaxEntropy, base 2, grad', (out) => softmaxEntropy(x, { ...o(out), base: 2, grad })],
    ['softmaxKlDivergence, T 0.5, gradQ', (out) => softmaxKlDivergence(x, y, { ...o(out), temperature: 0.5, gradQ })],
    ['entropy', (out) => entropy(p, o(out))],
    ['crossEntropy, base 10', (out) => crossEntropy(p, q, { ...o(out), base: 10 })],
    ['klDivergence, normalize', (out) => klDivergence(w, q, { ...o(out), normalize: true })],
    ['jsDivergence', (out) => jsDivergence(p, q, o(out))],
  ];
}

onEachBackend('per-row results into out', (b) => {
  for (const Type of [Float32Array, Float64Array]) {
    for (const [rows, cols] of [[1, 7], [9, 2], [13, 4], [6, 33], [3, 1000]]) {
      it(`${Type.name} ${rows} × ${cols}: the allocating call's values bit for bit, in the caller's array`, () => {
        for (const [name, call] of calls(Type, rows, cols)) {
          const want = call() as Float64Array;
          const buf = new Float64Array(rows + 2).fill(-7), out = buf.subarray(1, rows + 1);
          const got = call(out);
          expect(got, name).toBe(out);
          expect(Array.from(out), name).toEqual(Array.from(want));
          expect([buf[0], buf[rows + 1]], `${name}: nothing outside out`).toEqual([-7, -7]);
        }
      });
    }
  }

  it('refuses an out that is not one float64 per row of a matrix, in memory of its own', () => {
    const x = new Float64Array([1, 2, 3, 4, 5, 6]), g = new Float64Array(6), half = new Float64Array(6).fill(0.5);
    const bad: [() => unknown, ErrorConstructor, RegExp][] = [
      [() => logSumExp(x, { out: new Float64Array(1) } as never), TypeError, /out takes one result per row of a matrix \(give cols\)/],
      [() => logSumExp(x, { cols: 2, out: new Float32Array(3) as never }), TypeError, /out must be a Float64Array of your own .* got a Float32Array/],
      [() => logSumExp(x, { cols: 2, out: [0, 0, 0] as never }), TypeError, /out must be a Float64Array/],
      [() => logSumExp(x, { cols: 2, out: new Float64Array(2) }), TypeError, /out must have length 3, got 2/],
      [() => entropy(half, { cols: 2, out: new Float64Array(half.buffer, 0, 3) }), RangeError, /out overlaps p/],
      [() => softmaxEntropy(x, { cols: 2, grad: g, out: g.subarray(3, 6) }), RangeError, /out overlaps grad/],
      [() => signedLogSumExp(x, { cols: 2, out: new Float64Array(3) } as never), TypeError, /unknown option 'out'/],
    ];
    // (a WasmArray's view: on the JS backend `allocate` gives an ordinary array)
    if (b !== 'js') bad.push([() => logSumExp(x, { cols: 2, out: allocate(Float64Array, 3).array }), TypeError, /got a view into its WebAssembly memory/]);
    for (const [f, E, message] of bad) {
      expect(f).toThrow(E);
      expect(f).toThrow(message);
    }
  });
});

describe('per-row results', () => {
  it('a new array for every matrix call: a result never changes under a later call', () => {
    const x = new Float64Array([0, 1, 2, 3]);
    const a = logSumExp(x, { cols: 2 }), b = logSumExp(x, { cols: 2 });
    expect(a).not.toBe(b);
    const a0 = a.slice();
    logSumExp(new Float64Array([9, 9, 9, 9]), { cols: 2 });
    expect(a).toEqual(a0);
  });
});

describe('the pool', () => {
  for (const shared of [true, false]) {
    it(`writes per-row results into out (${shared ? 'shared memory' : 'transfers'}), the single call's bit for bit`, async () => {
      // (the pool is the built package's, with a backend state of its own: named, as this file's)
      await init({ backend: 'wasm-simd' });
      const pool = await createPool({ size: 2, shared, minElements: 0, backend: 'wasm-simd' });
      try {
        const rows = 300, cols = 10, x = randomLogits(rows * cols, rng(7), Float32Array), out = new Float64Array(rows);
        expect(await pool.logSumExp(x, { cols, out })).toBe(out);
        expect(out).toEqual(logSumExp(x, { cols }));
        expect(await pool.softmaxEntropy(x, { cols, out })).toBe(out);
        expect(out).toEqual(softmaxEntropy(x, { cols }));
      } finally {
        await pool.close();
      }
    });
  }
});

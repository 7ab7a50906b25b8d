// Each wasm kernel against its JS twin (src/js/), side by side: the same algorithm in
// the same order, so on the same inputs the two agree within the SPEC's bounds — at
// every row length through the SIMD tails, on several rows at once.
import { beforeAll, describe, expect, it } from 'vitest';
import { init } from '../src/index.js';
import { allocate, engineFor, setSmallInputCutoff } from '../src/backend.js';
import { type Engine, jsEngine } from '../src/engine.js';
import { expectAllClose, randomDistribution, randomLogits, rng, sameBits } from './helpers.js';

const SHAPES: [number, number][] = [[1, 0], [1, 1], [3, 2], [2, 3], [1, 4], [5, 5], [2, 7], [1, 8], [3, 9], [1, 15], [1, 16], [2, 17], [1, 31], [4, 33], [1, 1000], [3, 4097]];

function inputs(rows: number, cols: number, seed: number) {
  const random = rng(seed);
  const n = rows * cols;
  const P64 = new Float64Array(n), Q64 = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    if (!cols) break;
    P64.set(randomDistribution(cols, random, Float64Array), r * cols);
    Q64.set(randomDistribution(cols, random, Float64Array), r * cols);
  }
  if (n > 2) P64[n - 2] = 0;
  const X64 = randomLogits(n, random, Float64Array, 4), Y64 = randomLogits(n, random, Float64Array, 4);
  if (n > 3) X64[1] = -Infinity;
  const labels = Int32Array.from({ length: rows }, (_, r) => (r === 1 ? -1 : Math.floor(random() * cols)));
  const weights = Float64Array.from({ length: cols }, () => 0.5 + random());
  return { P64, Q64, X64, Y64, P32: Float32Array.from(P64), Q32: Float32Array.from(Q64), X32: Float32Array.from(X64), Y32: Float32Array.from(Y64), labels, weights };
}

type Outputs = Record<string, ArrayLike<number>>;

function runAll(e: Engine, rows: number, cols: number, d: ReturnType<typeof inputs>): Outputs {
  const o: Outputs = {};
  const f64 = () => new Float64Array(rows);
  const two = () => new Float64Array(2 * rows);
  const put = (name: string, out: Float64Array, sums: Float64Array, min: number) => { o[name] = out; o[`${name} sums`] = sums; o[`${name} min`] = [min]; };
  for (const [t, P, Q, X, Y] of [['F32', d.P32, d.Q32, d.X32, d.Y32], ['F64', d.P64, d.Q64, d.X64, d.Y64]] as const) {
    let out = f64(), sums = f64();
    put(`entropy${t}`, out, sums, t === 'F32' ? e.entropyRowsF32(P, rows, cols, out, sums) : e.entropyRowsF64(P, rows, cols, false, out, sums));
    for (const k of ['crossEntropyRows', 'klDivergenceRows', 'jsDivergenceRows'] as const) {
      out = f64(); sums = two();
      put(`${k}${t}`, out, sums, t === 'F32' ? e[`${k}F32`](P, Q, rows, cols, out, sums) : e[`${k}F64`](P, Q, rows, cols, false, out, sums));
      if (t === 'F64') { out = f64(); sums = two(); put(`${k} normalised`, out, sums, e[`${k}F64`](P, Q.map((v) => v * 3), rows, cols, true, out, sums)); }
    }
    out = f64(); e[`logSumExpRows${t}`](X, rows, cols, out); o[`lse${t}`] = out;
    for (const T of [1, 0.7]) {
      const Type = t === 'F32' ? Float32Array : Float64Array;
      let dst = new Type(rows * cols); e[`softmaxRows${t}`](X, rows, cols, T, dst); o[`softmax${t} T=${T}`] = dst;
      dst = new Type(rows * cols); e[`logSoftmaxRows${t}`](X, rows, cols, T, dst); o[`logSoftmax${t} T=${T}`] = dst;
      out = f64(); e[`softmaxEntropyRows${t}`](X, rows, cols, T, out); o[`softmaxEntropy${t} T=${T}`] = out;
      out = f64(); e[`softmaxKlDivergenceRows${t}`](X, Y, rows, cols, T, out); o[`softmaxKl${t} T=${T}`] = out;
    }
    if (cols > 0) {
      for (const eps of [0, 0.1]) {
        const Type = t === 'F32' ? Float32Array : Float64Array;
        let grad = new Type(rows * cols); out = f64();
        e[`softmaxCrossEntropyLabels${t}`](X, d.labels, rows, cols, eps ? d.weights : null, eps ? d.weights.reduce((a, b) => a + b) : cols, eps, 0.5, grad, out);
        o[`ceLabels${t} eps=${eps}`] = out; o[`ceLabels${t} grad eps=${eps}`] = grad;
        grad = new Type(rows * cols); out = f64();
        e[`softmaxCrossEntropyProbs${t}`](X, P, rows, cols, eps ? d.weights : null, eps, 0.5, grad, out);
        o[`ceProbs${t} eps=${eps}`] = out; o[`ceProbs${t} grad eps=${eps}`] = grad;
      }
    }
  }
  return o;
}

for (const which of ['wasm-simd', 'wasm'] as const) {
  describe(`${which} kernels against their JS twins`, () => {
    let wasm: Engine;
    beforeAll(async () => {
      await init({ backend: which });
      setSmallInputCutoff(0);
      wasm = engineFor(Infinity);
      expect(wasm.name).toBe(which);
    });
    for (const [rows, cols] of SHAPES) {
      it(`${rows} × ${cols}`, () => {
        const d = inputs(rows, cols, rows * 1000 + cols);
        const got = runAll(wasm, rows, cols, d);
        const want = runAll(jsEngine, rows, cols, d);
        for (const key of Object.keys(want)) {
          const dtype = key.includes('F32') ? 'f32' : 'f64';
          const w = Array.from(want[key]);
          // a gradient entry is a difference of terms of the order of the scale (0.5) times
          // the weights: judge it against that, not against its own (possibly cancelled) size
          const mag = key.includes('grad') ? w.map(() => 2) : undefined;
          expectAllClose(got[key], w, dtype, mag, key);
        }
      });
    }
  });
}

// Calls staged in the arena run in blocks of rows (engine.ts, BLOCK_BYTES); calls whose
// inputs are already in module memory run whole, in place.  The two must agree bit for
// bit: every row's value is the kernel's on that row alone.
describe('a batch staged in blocks of rows equals the same batch computed whole, in place', () => {
  let wasm: Engine;
  beforeAll(async () => {
    await init({ backend: 'wasm-simd' });
    setSmallInputCutoff(0);
    wasm = engineFor(Infinity);
  });
  // 300 rows of 1000: 1.2 MB per float32 input, 2.4 MB per float64 one — several blocks,
  // the last a partial one, for every kernel
  it('300 × 1000, every kernel, float32 and float64', () => {
    const rows = 300, cols = 1000;
    const d = inputs(rows, cols, 77);
    const staged = runAll(wasm, rows, cols, d);
    // memory grown once, up front, so that no later allocation or arena detaches the views
    allocate(Float64Array, 4 << 20).free();
    const names = ['P32', 'Q32', 'X32', 'Y32', 'P64', 'Q64', 'X64', 'Y64'] as const;
    const arrays = names.map((k) => allocate(d[k].constructor as Float32ArrayConstructor, d[k].length));
    const views = Object.fromEntries(names.map((k, i) => [k, arrays[i].array]));
    names.forEach((k) => views[k].set(d[k]));
    const whole = runAll(wasm, rows, cols, { ...d, ...views } as typeof d);
    arrays.forEach((a) => a.free());
    expect(Object.keys(staged).length).toBeGreaterThan(40);
    const bits = (a: ArrayLike<number>) => (ArrayBuffer.isView(a) ? a as Float64Array : Float64Array.from(a));
    for (const key of Object.keys(staged)) expect(sameBits(bits(staged[key]), bits(whole[key])), key).toBe(true);
    // a map's new result (no dst) is filled block by block too
    for (const T of [1, 0.7]) {
      expect(sameBits(wasm.softmaxRowsF32(d.X32, rows, cols, T, null), staged[`softmaxF32 T=${T}`] as Float32Array)).toBe(true);
      expect(sameBits(wasm.logSoftmaxRowsF64(d.X64, rows, cols, T, null), staged[`logSoftmaxF64 T=${T}`] as Float64Array)).toBe(true);
    }
  });
});

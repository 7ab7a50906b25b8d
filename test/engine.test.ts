// A kernel and its twin tested against each other: for every kernel of the table
// (src/kernels.ts), the JS twin (`jsEngine`, src/js/) and each wasm engine this runtime
// supports (`supported()`: wasm-relaxed, wasm-simd, wasm) are run through
// `engine.run(name, f32, args)` on the same random inputs — float32 and float64, row
// lengths 0…33, 63–65 and 1000 (every vector body and tail), one and several rows, every
// optional array present and absent — and every output (maps, per-row results, parts,
// accumulators) must agree within the SPEC's bounds.  Then, on the wasm engines:
//   - in place (out = x, the loss's grad = logits) gives what separate arrays give;
//   - arrays in module memory (WasmArrays, and int32 / byte blocks of the heap) are
//     used in place and give the staged call's values bit for bit, for a batch staged
//     in blocks of rows too;
//   - rows longer than the staging window (src/stream.ts: segments merged, added, or
//     handed to the twin) still agree with the twin.
// Inputs are never written (except in place).
import v8 from 'node:v8';
import { beforeAll, describe, expect, it } from 'vitest';
import { init } from '../src/index.js';
import { allocate, currentEngine, detect, setSmallInputCutoff, supported } from '../src/backend.js';
import { type Engine, jsEngine, WasmEngine } from '../src/engine.js';
import { KERNELS, type KernelName, NARROW_COLS, ROW_GROUP, summed } from '../src/kernels.js';
import { TWINS } from '../src/js/index.js';
import type { WasmArray } from '../src/memory.js';
import { expectClose, randomDistribution, randomLogits, rng, sameBits } from './helpers.js';

// Node 20 validates relaxed SIMD only behind this V8 flag (Node ≥ 22: on by default): with
// it the relaxed build's kernels are checked against their twins here too.  (Each test file
// runs in its own process: the flag changes nothing elsewhere.)
if (!detect.relaxed()) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
const ENGINES = supported();

type FloatCtor = Float32ArrayConstructor | Float64ArrayConstructor;
type Floats = Float32Array | Float64Array;
type Args = unknown[];

/** Random inputs for one shape and float type; kernels take what they need. */
interface Data {
  rows: number;
  cols: number;
  Type: FloatCtor;
  f32: boolean;
  /** Probability rows (a zero in each row of 3 or more), and a second set with full support. */
  P: Floats;
  Q: Floats;
  /** Non-negative counts (a joint table), with some zeros. */
  C: Floats;
  /** Logits N(0, 4²), one masked (−Infinity) entry in P's logits when a row is long enough; Y unmasked. */
  X: Floats;
  Y: Floats;
  /** Targets in [0, 1] (sigmoid losses). */
  T01: Floats;
  /** Signed weights, one per element and one per column (some zero), in the kernel's float type. */
  Wel: Floats;
  Wcol: Floats;
  /** Positive class weights (per column), in the kernel's float type. */
  cw: Floats;
  labels: Int32Array;
  bytes: Uint8Array;
  /** Per-row values: two positive totals a row (JS normalisation), and one number a row. */
  rowIn2: Float64Array;
  rowIn1: Float64Array;
}

/** Inputs are never written (every call gets fresh outputs, in-place calls copies): made once per shape. */
const made = new Map<string, Data>();
function data(rows: number, cols: number, Type: FloatCtor, seed: number): Data {
  const key = `${rows} ${cols} ${Type.name} ${seed}`;
  let d = made.get(key);
  if (!d) made.set(key, (d = makeData(rows, cols, Type, seed)));
  return d;
}

/** A new array of `Type` with n values of f(). */
function filled(Type: FloatCtor, n: number, f: () => number): Floats {
  const a = new Type(n);
  for (let i = 0; i < n; i++) a[i] = f();
  return a;
}

function makeData(rows: number, cols: number, Type: FloatCtor, seed: number): Data {
  const random = rng(seed);
  const n = rows * cols;
  const f32 = Type === Float32Array;
  const round = f32 ? Math.fround : (v: number) => v;
  const P = new Type(n), Q = new Type(n);
  for (let r = 0; r < rows && cols > 0; r++) {
    const p = randomDistribution(cols, random, Float64Array);
    if (cols >= 3) {
      p[cols - 2] = 0;
    }
    P.set(p, r * cols);
    Q.set(randomDistribution(cols, random, Float64Array), r * cols);
  }
  const C = filled(Type, n, () => (random() < 0.2 ? 0 : Math.floor(random() * 50)));
  const X = randomLogits(n, random, Type, 4), Y = randomLogits(n, random, Type, 4);
  if (cols > 3) X[1] = -Infinity;
  const T01 = filled(Type, n, () => (random() < 0.3 ? Math.round(random()) : random()));
  const signed = () => (random() < 0.15 ? 0 : round((random() < 0.3 ? -1 : 1) * (0.25 + random())));
  const labels = Int32Array.from({ length: rows }, (_, r) => (r === 1 || cols === 0 ? -1 : Math.floor(random() * cols)));
  return {
    rows, cols, Type, f32, P, Q, C, X, Y, T01,
    Wel: filled(Type, n, signed),
    Wcol: filled(Type, cols, signed),
    cw: filled(Type, cols, () => round(0.5 + random())),
    labels,
    bytes: Uint8Array.from({ length: n }, () => (random() < 0.5 ? Math.floor(random() * 4) : Math.floor(random() * 256))),
    rowIn2: Float64Array.from({ length: 2 * rows }, () => 0.5 + random()),
    rowIn1: Float64Array.from({ length: rows }, () => round(random() * 3 - 1)),
  };
}

/** One call of a kernel: its arguments (fresh outputs each time `args()` is called). */
interface Variant {
  label: string;
  args: () => Args;
}

const f64 = (n: number) => new Float64Array(n);
const outOf = (d: Data) => new d.Type(d.rows * d.cols);
/** Every combination of the optional arrays present (true) and absent. */
const both = [true, false] as const;

/**
 * The calls each kernel is tested with, arguments in its table order, as the API modules
 * make them (src/entropy.ts, softmax.ts, loss.ts, sigmoid.ts, weighted.ts,
 * information.ts, accumulate.ts, stream.ts).
 */
const VARIANTS: Record<KernelName, (d: Data) => Variant[]> = {
  sumRows: (d) => both.map((aux) => ({ label: `aux ${aux}`, args: () => [d.P, d.rows, d.cols, f64(d.rows), aux ? f64(2 * d.rows) : null] })),
  // normalize: float64 only — the API normalises float32 input in the float64 kernel (entropy.ts)
  entropyRows: (d) => (d.f32 ? [0] : [0, 1]).flatMap((norm) => both.map((aux) => ({
    label: `normalize ${norm}, aux ${aux}`, args: () => [norm ? d.C : d.P, d.rows, d.cols, norm, f64(d.rows), aux ? f64(5 * d.rows) : null],
  }))),
  crossEntropyRows: (d) => (d.f32 ? [0] : [0, 1]).flatMap((norm) => both.map((aux) => ({
    label: `normalize ${norm}, aux ${aux}`, args: () => [norm ? d.C : d.P, d.Q, d.rows, d.cols, norm, f64(d.rows), aux ? f64(6 * d.rows) : null],
  }))),
  klDivergenceRows: (d) => (d.f32 ? [0] : [0, 1]).flatMap((norm) => both.map((aux) => ({
    label: `normalize ${norm}, aux ${aux}`, args: () => [norm ? d.C : d.P, d.Q, d.rows, d.cols, norm, f64(d.rows), aux ? f64(4 * d.rows) : null],
  }))),
  jsDivergenceRows: (d) => both.flatMap((rowIn) => both.map((aux) => ({
    label: `totals ${rowIn}, aux ${aux}`, args: () => [d.P, d.Q, d.rows, d.cols, rowIn ? d.rowIn2 : null, f64(d.rows), aux ? f64(4 * d.rows) : null],
  }))),
  logSumExpRows: (d) => both.map((aux) => ({ label: `aux ${aux}`, args: () => [d.X, d.rows, d.cols, f64(d.rows), aux ? f64(3 * d.rows) : null, null] })),
  weightedLogSumExpRows: (d) => both.flatMap((el) => both.map((extra) => ({
    label: `weights per ${el ? 'element' : 'column'}, sign and aux ${extra}`,
    args: () => [d.X, el ? d.Wel : d.Wcol, el ? 1 : 0, d.rows, d.cols, f64(d.rows), extra ? f64(d.rows) : null, extra ? f64(4 * d.rows) : null],
  }))),
  softmaxRows: (d) => [1, 0.7].flatMap((T) => both.map((aux) => ({ label: `T ${T}, aux ${aux}`, args: () => [d.X, d.rows, d.cols, T, outOf(d), aux ? f64(3 * d.rows) : null, null] }))),
  logSoftmaxRows: (d) => [1, 0.7].flatMap((T) => both.map((aux) => ({ label: `T ${T}, aux ${aux}`, args: () => [d.X, d.rows, d.cols, T, outOf(d), aux ? f64(3 * d.rows) : null, null] }))),
  softmaxEntropyRows: (d) => [1, 0.7].flatMap((T) => both.map((grad) => ({
    label: `T ${T}, grad and aux ${grad}`, args: () => [d.X, d.rows, d.cols, T, grad ? 0.5 : 1, grad ? outOf(d) : null, f64(d.rows), grad ? f64(4 * d.rows) : null, null],
  }))),
  softmaxKlDivergenceRows: (d) => [1, 0.7].flatMap((T) => both.map((grads) => ({
    label: `T ${T}, grads ${grads}`, args: () => [d.X, d.Y, d.rows, d.cols, T, grads ? 0.5 : 1, grads ? outOf(d) : null, grads ? outOf(d) : null, f64(d.rows), null],
  }))),
  affineRows: (d) => [{ label: 'x·a + c', args: () => [d.Y, d.rows, d.cols, 0.75, -1.5, outOf(d)] }],
  scaleRows: (d) => both.map((c) => ({ label: `c ${c}`, args: () => [d.Y, d.rows, d.cols, d.rowIn1, c ? d.cw : null, outOf(d)] })),
  // grouped: the losses of each group of ROW_GROUP rows summed into one entry, the groups' in order (a 'mean' or 'sum' of narrow rows only, as loss.ts)
  softmaxCrossEntropyLabels: (d) => [0, 0.1].flatMap((eps) => both.map((extra) => ({
    label: `ε ${eps}, weights and grad ${extra}, grouped ${!extra && d.cols < NARROW_COLS}`,
    args: () => [d.X, d.labels, d.rows, d.cols, extra ? d.cw : null, extra ? sum(d.cw) : d.cols, eps, 0.5, extra ? outOf(d) : null, f64(d.rows), !extra && d.cols < NARROW_COLS ? 1 : 0, null],
  }))),
  softmaxCrossEntropyProbs: (d) => [0, 0.1].flatMap((eps) => both.map((extra) => ({
    label: `ε ${eps}, weights and grad ${extra}, grouped ${extra && d.cols < NARROW_COLS}`,
    args: () => [d.X, d.P, d.rows, d.cols, extra ? d.cw : null, eps, 0.5, extra ? outOf(d) : null, f64(d.rows), extra && d.cols < NARROW_COLS ? 1 : 0, null],
  }))),
  labelMax: (d) => [{ label: 'labels (row 1 ignored: −1)', args: () => [d.labels, d.rows, f64(1)] }],
  sigmoidCrossEntropyRows: (d) => [
    { label: 'plain', args: () => [d.X, d.T01, d.rows, d.cols, null, 0, null, 0, 1, 1, null, f64(d.rows), null, null] },
    { label: 'weights per element, posWeight, ε, grad and losses', args: () => [d.Y, d.T01, d.rows, d.cols, absOf(d.Wel), 1, d.cw, 0.1, 0.25, 0.5, outOf(d), f64(d.rows), f64(d.rows * d.cols), null] },
    { label: 'weights per column, grad', args: () => [d.Y, d.T01, d.rows, d.cols, absOf(d.Wcol), 0, null, 0, 1, 1, outOf(d), f64(d.rows), null, null] },
  ],
  sigmoidFocalLossRows: (d) => [[0.25, 2], [-1, 0], [0.5, 1], [0.25, 1.5]].map(([alpha, gamma], i) => ({
    label: `α ${alpha}, γ ${gamma}${i % 2 ? ', grad and losses' : ''}`,
    args: () => [i % 2 ? d.X : d.Y, d.T01, d.rows, d.cols, alpha, gamma, 0.5, 0.25, i % 2 ? outOf(d) : null, f64(d.rows), i % 2 ? f64(d.rows * d.cols) : null, null],
  })),
  marginRows: (d) => both.map((lo) => ({ label: `margins, low parts ${lo}`, args: () => [d.C, d.rows, d.cols, f64(d.rows), lo ? f64(d.rows) : null, f64(d.cols), f64(d.cols), Float64Array.of(Infinity, 0, 0)] })),
  mutualInformationRows: (d) => {
    // the margins of C, as information.ts computes them in its first pass
    const rowSums = Float64Array.from({ length: d.rows }, (_, r) => { let s = 0; for (let j = 0; j < d.cols; j++) s += d.C[r * d.cols + j]; return s; });
    const colSum = Float64Array.from({ length: d.cols }, (_, j) => { let s = 0; for (let r = 0; r < d.rows; r++) s += d.C[r * d.cols + j]; return s; });
    const total = rowSums.reduce((a, b) => a + b, 0);
    return [
      { label: 'mutual information', args: () => [d.C, d.rows, d.cols, rowSums, null, colSum.map((c) => 1 / c), colSum, total, f64(2)] },
      { label: 'conditional entropy', args: () => [d.C, d.rows, d.cols, rowSums, f64(d.rows), null, null, total, f64(2)] },
    ];
  },
  byteHistogram: (d) => [{ label: 'bytes', args: () => [d.bytes, d.rows, d.cols, f64(256), null] }],
};

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

function absOf<T extends Floats>(a: T): T {
  return a.map(Math.abs) as T;
}

const OUTPUT_KINDS = new Set(['out', 'out64', 'res', 'resOpt', 'sums', 'aux', 'colAcc', 'acc']);

/** A deep copy of a call's arguments (typed arrays copied, numbers and null kept). */
function clone(args: Args): Args {
  return args.map((a) => (ArrayBuffer.isView(a) ? (a as Floats).slice() : a));
}

/** Row r of x (cols entries) at temperature T, in float64: t = (x − m)/T, p = softmax, ls = log Σ eᵗ. */
function softmaxRow(x: ArrayLike<number>, r: number, cols: number, T: number) {
  let m = -Infinity;
  for (let j = 0; j < cols; j++) m = Math.max(m, x[r * cols + j]);
  const t = Array.from({ length: cols }, (_, j) => (x[r * cols + j] === -Infinity ? -Infinity : (x[r * cols + j] - m) / T));
  const e = t.map(Math.exp);
  const s = e.reduce((a, b) => a + b, 0);
  return { t: t.map((v) => (v === -Infinity ? 0 : v)), p: e.map((v) => v / s), ls: Math.log(s) };
}

/** For each element of rows × cols, f(r, j). */
const each = (d: Data, f: (r: number, j: number) => number): number[] =>
  Array.from({ length: d.rows * d.cols }, (_, i) => f(Math.floor(i / d.cols), i % d.cols));

const sigma = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * The magnitude each output is judged against where it is a difference of terms (SPEC:
 * "for a result near 0, within the bound of the sum of the magnitudes of its terms"):
 * the sum of the magnitudes of the terms the kernel forms, in float64 from the inputs
 * (and, for gradients, the row's result from the twin).  Absent: the result's own size.
 */
const MAGNITUDES: Partial<Record<KernelName, (a: Args, want: Args, d: Data) => Record<number, ArrayLike<number>>>> = {
  // a row sum's low part (0, or a dominated row's): judged against the row's sum
  marginRows: (_a, want) => ({ 4: want[3] as Float64Array }),
  // ∂H/∂x = −g·p·(t − log S + H)/T
  softmaxEntropyRows: (a, want, d) => {
    const T = a[3] as number, g = a[4] as number, H = want[6] as Float64Array; // (H·g: in the base's scale)
    const rows = Array.from({ length: d.rows }, (_, r) => softmaxRow(d.X, r, d.cols, T));
    return { 5: each(d, (r, j) => (g / T) * rows[r].p[j] * (Math.abs(rows[r].t[j]) + Math.abs(rows[r].ls) + Math.abs(H[r] / g))) };
  },
  // ∂D/∂a = g·p·(log p − log q − D)/T, ∂D/∂b = g·(q − p)/T
  softmaxKlDivergenceRows: (a, want, d) => {
    const T = a[4] as number, g = a[5] as number, D = want[8] as Float64Array;
    const P = Array.from({ length: d.rows }, (_, r) => softmaxRow(d.X, r, d.cols, T));
    const Q = Array.from({ length: d.rows }, (_, r) => softmaxRow(d.Y, r, d.cols, T));
    return {
      6: each(d, (r, j) => (g / T) * P[r].p[j] * (Math.abs(P[r].t[j]) + Math.abs(Q[r].t[j]) + Math.abs(P[r].ls) + Math.abs(Q[r].ls) + Math.abs(D[r]))),
      7: each(d, (r, j) => (g / T) * (P[r].p[j] + Q[r].p[j])),
    };
  },
  // ∂loss/∂z_c = g·(tw·p_c − w_c·t_c), t the (smoothed) target, tw = Σ w·t
  softmaxCrossEntropyLabels: (a, _want, d) => {
    const w = a[4] as Floats | null, eps = a[6] as number, g = a[7] as number;
    const target = (r: number, j: number) => (1 - eps) * (d.labels[r] === j ? 1 : 0) + eps / d.cols;
    return { 8: lossGradMagnitude(d, w, g, target) };
  },
  softmaxCrossEntropyProbs: (a, _want, d) => {
    const w = a[4] as Floats | null, eps = a[5] as number, g = a[6] as number, P = a[1] as Floats;
    return { 7: lossGradMagnitude(d, w, g, (r, j) => (1 - eps) * P[r * d.cols + j] + eps / d.cols) };
  },
  // ∂ℓ/∂x = g·w·((1 − y)·σ(x) − y·pw·σ(−x))
  sigmoidCrossEntropyRows: (a, _want, d) => {
    const x = a[0] as Floats, y = a[1] as Floats, w = a[4] as Floats | null, wEl = a[5] as number, pw = a[6] as Floats | null;
    const eps = a[7] as number, g = a[9] as number;
    return {
      10: each(d, (r, j) => {
        const i = r * d.cols + j, yy = y[i] * (1 - eps) + eps / 2;
        const wv = w ? Math.abs(w[wEl ? i : j]) : 1;
        return Math.abs(g) * wv * ((1 - yy) * sigma(x[i]) + yy * (pw ? pw[j] : 1) * sigma(-x[i]));
      }),
    };
  },
  // ∂ℓ/∂x = g·α_t·[((1 − y)·σ(x) − y·σ(−x))·q^γ + γ·(1 − 2y)·BCE·q^(γ−1)·σ(x)σ(−x)], q = 1 − p_t
  sigmoidFocalLossRows: (a, _want, d) => {
    const x = a[0] as Floats, y = a[1] as Floats, alpha = a[4] as number, gamma = a[5] as number, g = a[7] as number;
    return {
      8: each(d, (r, j) => {
        const i = r * d.cols + j, xv = x[i], yv = y[i];
        const sx = sigma(xv), smx = sigma(-xv), q = (1 - yv) * sx + yv * smx;
        const at = alpha < 0 ? 1 : Math.abs(yv * alpha + (1 - alpha) * (1 - yv));
        const ce = Math.max(xv, 0) - xv * yv + Math.log1p(Math.exp(-Math.abs(xv)));
        return Math.abs(g) * at * (((1 - yv) * sx + yv * smx) * q ** gamma + gamma * Math.abs(1 - 2 * yv) * ce * (gamma === 0 ? 0 : q ** (gamma - 1)) * sx * smx);
      }),
    };
  },
  // x·a + c
  affineRows: (a, _want, d) => ({ 5: each(d, (r, j) => Math.abs((a[0] as Floats)[r * d.cols + j] * (a[3] as number)) + Math.abs(a[4] as number)) }),
  scaleRows: (a, _want, d) => ({ 5: each(d, (r, j) => Math.abs((a[0] as Floats)[r * d.cols + j] * (a[3] as Float64Array)[r]) + Math.abs(a[4] ? (a[4] as Floats)[j] : 0)) }),
  // log|Σ b·eˣ| where the sum cancels: its error is the bound times Σ|b|·eˣ / |Σ b·eˣ|; the
  // parts A = Σ b at the maximum and R = Σ b·e^(x − m) below it, of Σ|b| and Σ|b|·e^(x − m)
  weightedLogSumExpRows: (a, want, d) => {
    const abs = clone(a);
    abs[1] = (a[1] as Floats).map(Math.abs);
    abs[5] = f64(d.rows);
    abs[6] = null;
    abs[7] = f64(4 * d.rows);
    jsEngine.run('weightedLogSumExpRows', d.f32, abs);
    const value = want[5] as Float64Array, absValue = abs[5] as Float64Array, absAux = abs[7] as Float64Array;
    const out: Record<number, ArrayLike<number>> = {
      5: Array.from(value, (v, r) => (Number.isFinite(v) ? Math.abs(v) + Math.exp(absValue[r] - v) : Math.abs(v))),
    };
    if (want[7]) out[7] = Array.from(want[7] as Float64Array, (v, i) => (i % 4 === 1 || i % 4 === 2 ? Math.abs(absAux[i]) : Math.abs(v)));
    return out;
  },
};

function lossGradMagnitude(d: Data, w: Floats | null, g: number, target: (r: number, j: number) => number): number[] {
  const rows = Array.from({ length: d.rows }, (_, r) => {
    const { p } = softmaxRow(d.X, r, d.cols, 1);
    let tw = 0;
    for (let j = 0; j < d.cols; j++) tw += (w ? w[j] : 1) * target(r, j);
    return { p, tw };
  });
  return each(d, (r, j) => Math.abs(g) * (rows[r].tw * rows[r].p[j] + (w ? w[j] : 1) * target(r, j)));
}

/**
 * Parts that hold a row's smallest entry (or weight): what reads them (validation, the
 * long-row merges) asks only whether it is negative or NaN, and a kernel may report
 * min(smallest, 0) — its masked tail lanes hold 0.  They are compared as min(v, 0).
 */
const SMALLEST: Partial<Record<KernelName, [number, number]>> = {
  sumRows: [4, 1], entropyRows: [5, 4], crossEntropyRows: [6, 5], klDivergenceRows: [6, 3], jsDivergenceRows: [6, 3],
  weightedLogSumExpRows: [7, 3],
};

/** Parts that are the low half of a compensated pair (judged against the pair's high half, the part before). */
const LOW_PARTS: Partial<Record<KernelName, [number, number, number]>> = {
  entropyRows: [5, 5, 1], crossEntropyRows: [6, 6, 1], marginRows: [7, 3, 2], mutualInformationRows: [8, 2, 1],
};

/** Every output of a call on `e` and on the twin agree within the bounds; the inputs are untouched. */
function compare(name: KernelName, d: Data, v: Variant, e: Engine, what: string): void {
  const params = KERNELS[name].params;
  const a = v.args(), b = v.args();
  const inputs = clone(a);
  e.run(name, d.f32, a);
  jsEngine.run(name, d.f32, b);
  const dtype = d.f32 ? 'f32' : 'f64';
  const mags = MAGNITUDES[name]?.(inputs, b, d) ?? {};
  params.forEach((p, i) => {
    const got = a[i] as ArrayLike<number> | null, want = b[i] as ArrayLike<number> | null;
    if (OUTPUT_KINDS.has(p.kind)) {
      if (want === null) return;
      expect(got!.length).toBe(want.length);
      const smallest = SMALLEST[name]?.[0] === i ? SMALLEST[name]![1] : -1;
      const low = LOW_PARTS[name]?.[0] === i ? LOW_PARTS[name]! : null;
      const k = p.k ?? want.length;
      const m = mags[i];
      // group sums: the first ⌈rows/ROW_GROUP⌉ entries (the rest is the kernel's scratch)
      const results = summed(p.kind, a[i + 1]) ? Math.ceil(d.rows / ROW_GROUP) : want.length;
      for (let j = 0; j < results; j++) {
        const g = got![j], w = want[j];
        if (j % k !== smallest && !(low && j % low[1] === low[2]) && (g === w || (Math.abs(g - w) <= 1e-16 * Math.abs(w)))) continue; // equal: the common case, fast
        const where = `${what}: ${p.kind} (argument ${i})[${j}]`;
        if (j % k === smallest) {
          expectClose(Math.min(g, 0), Math.min(w, 0), dtype, undefined, `${where} (smallest entry, as min(v, 0))`);
        } else if (low && j % low[1] === low[2]) {
          expectClose(g + got![j - 1], w + want[j - 1], dtype, undefined, `${where} (a compensated pair, as its sum)`);
        } else {
          const mj = m ? m[j] : NaN;
          expectClose(g, w, dtype, Number.isFinite(mj) ? mj : Math.abs(w), where);
        }
      }
    } else if (ArrayBuffer.isView(got)) {
      const same = Buffer.from((got as Uint8Array).buffer, (got as Uint8Array).byteOffset, (got as Uint8Array).byteLength)
        .equals(Buffer.from((inputs[i] as Uint8Array).buffer, (inputs[i] as Uint8Array).byteOffset, (inputs[i] as Uint8Array).byteLength));
      expect(same, `${what}: input ${i} unchanged`).toBe(true);
    }
  });
}

const COLS = [...Array.from({ length: 34 }, (_, i) => i), 63, 64, 65, 1000];
const SHAPES: [number, number][] = [[0, 5], ...COLS.map((c): [number, number] => [1, c]), ...COLS.filter((c) => c > 0).map((c): [number, number] => [3, c])];
const TYPES = [Float32Array, Float64Array] as const;
const names = Object.keys(KERNELS) as KernelName[];

it('every kernel of the table has a twin, a wasm export in each build, and variants here', async () => {
  expect(Object.keys(VARIANTS).sort()).toEqual([...names].sort());
  expect(Object.keys(TWINS).sort()).toEqual([...names].sort());
  for (const name of names) expect(TWINS[name].length, `${name}: the twin takes the table's parameters`).toBeGreaterThanOrEqual(KERNELS[name].params.filter((q) => q.kind !== 'tmp').length);
  for (const b of ENGINES) {
    await init({ backend: b });
    const e = currentEngine() as WasmEngine;
    expect(e.name).toBe(b);
    for (const name of names) for (const s of ['F32', 'F64']) expect(typeof e.exports[`${name}${s}`], `${b}: ${name}${s}`).toBe('function');
  }
});

for (const b of ENGINES) {
  describe(`${b}: each kernel against its twin`, () => {
    let e: Engine;
    beforeAll(async () => {
      await init({ backend: b, window: 32 * 2 ** 20 });
      setSmallInputCutoff(0);
      e = currentEngine();
      expect(e.name).toBe(b);
    });
    for (const name of names) {
      it(name, () => {
        for (const Type of TYPES) {
          for (const [rows, cols] of SHAPES) {
            const d = data(rows, cols, Type, rows * 7919 + cols * 31 + (Type === Float32Array ? 1 : 2));
            for (const v of VARIANTS[name](d)) compare(name, d, v, e, `${name} ${Type.name} ${rows} × ${cols}, ${v.label}`);
          }
        }
      });
    }
  });
}

/** The kernels whose public functions may write their output over their input (args.ts `output`'s inPlaceOk), and internal in-place uses. */
const IN_PLACE: Partial<Record<KernelName, [number, number]>> = {
  softmaxRows: [0, 4],
  logSoftmaxRows: [0, 4],
  affineRows: [0, 5],
  scaleRows: [0, 5],
  softmaxCrossEntropyLabels: [0, 8],
  softmaxCrossEntropyProbs: [0, 7],
};

/**
 * A call's typed arrays moved into module memory: floats as WasmArrays (`allocate`),
 * int32 labels and bytes in blocks of the heap.  `views()` reads the arrays anew (a call
 * may grow memory and detach earlier views).
 */
function inModuleMemory(e: WasmEngine, args: Args) {
  const held: { w?: WasmArray; ptr?: number; Type: new (b: ArrayBufferLike, o: number, n: number) => ArrayBufferView; n: number }[] = [];
  const slot: number[] = [];
  args.forEach((a, i) => {
    if (!ArrayBuffer.isView(a)) return;
    const src = a as Floats;
    if (a instanceof Float32Array || a instanceof Float64Array) {
      const w = a instanceof Float32Array ? allocate(Float32Array, src.length) : allocate(Float64Array, src.length);
      w.array.set(src);
      held.push({ w, Type: a.constructor as FloatCtor, n: src.length });
    } else {
      const ptr = e.heap.alloc(src.byteLength);
      const Type = a.constructor as Int32ArrayConstructor;
      held.push({ ptr, Type, n: src.length });
    }
    slot.push(i);
  });
  // fill the non-float blocks now that no allocation follows
  held.forEach((h, j) => {
    if (h.ptr !== undefined) (new (h.Type as Int32ArrayConstructor)(e.heap.buffer, h.ptr, h.n)).set(args[slot[j]] as Int32Array);
  });
  const views = (): Args => {
    const out = args.slice();
    held.forEach((h, j) => {
      out[slot[j]] = h.w ? h.w.array : new h.Type(e.heap.buffer, h.ptr!, h.n);
    });
    return out;
  };
  const free = () => held.forEach((h) => (h.w ? h.w.free() : e.heap.free(h.ptr!)));
  return { views, free };
}

/**
 * Σ |c·log(c/q)| over a joint table: the magnitude of the terms of `mutualInformationRows`
 * (q = c(x)·c(y)/N, or c(x) without the column sums).
 */
function informationMagnitude(args: Args): number {
  const [x, rows, cols, rowSums, , , colSum, total] = args as [Floats, number, number, Float64Array, unknown, unknown, Float64Array | null, number];
  let m = 0;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const c = x[r * cols + j];
      if (c > 0) m += Math.abs(c * Math.log(colSum ? (c * total) / (rowSums[r] * colSum[j]) : c / rowSums[r]));
    }
  }
  return m;
}

/**
 * Bit-for-bit equality of two calls' outputs (NaN payloads included) — except the sum
 * `mutualInformationRows` adds to its accumulator (a compensated pair), which a call
 * staged in blocks of rows adds block by block: that within the bound of its terms.
 */
function sameOutputs(name: KernelName, a: Args, b: Args, what: string, f32: boolean): void {
  KERNELS[name].params.forEach((p, i) => {
    if (!OUTPUT_KINDS.has(p.kind) || a[i] === null) return;
    const x = a[i] as Floats, y = b[i] as Floats;
    if (name === 'mutualInformationRows' && p.kind === 'acc') {
      expectClose(x[0] + x[1], y[0] + y[1], f32 ? 'f32' : 'f64', informationMagnitude(b), `${what}: the accumulated sum`);
    } else expect(sameBits(x, y), `${what}: ${p.kind} (argument ${i}) bit for bit`).toBe(true);
  });
}

for (const b of ENGINES) {
  describe(`${b}: in place, and arrays in module memory`, () => {
    let e: WasmEngine;
    beforeAll(async () => {
      await init({ backend: b, window: 32 * 2 ** 20 });
      setSmallInputCutoff(0);
      e = currentEngine() as WasmEngine;
    });

    it('out = x (and the loss\'s grad = logits) gives the values of separate arrays', () => {
      for (const [name, [x, out]] of Object.entries(IN_PLACE) as [KernelName, [number, number]][]) {
        for (const Type of TYPES) {
          for (const [rows, cols] of [[1, 1], [1, 7], [3, 33], [2, 65], [4, 1000]]) {
            const d = data(rows, cols, Type, rows * 101 + cols);
            for (const v of VARIANTS[name](d)) {
              const separate = v.args();
              if (separate[out] === null) continue;
              const inPlace = clone(v.args());
              inPlace[out] = inPlace[x];
              for (const eng of [e, jsEngine]) {
                const s = clone(separate), p = clone(inPlace);
                p[out] = p[x];
                eng.run(name, d.f32, s);
                eng.run(name, d.f32, p);
                const what = `${eng.name} ${name} ${Type.name} ${rows} × ${cols}, ${v.label}, in place`;
                sameOutputs(name, p, s, what, d.f32);
              }
            }
          }
        }
      }
    });

    it('every kernel on arrays in module memory (used in place) gives the staged values bit for bit', () => {
      for (const name of names) {
        for (const Type of TYPES) {
          for (const [rows, cols] of [[1, 0], [1, 5], [3, 33], [2, 64], [2, 1000]]) {
            const d = data(rows, cols, Type, rows * 13 + cols);
            for (const v of VARIANTS[name](d)) {
              const staged = v.args();
              const zero = inModuleMemory(e, v.args());
              try {
                e.run(name, d.f32, staged);
                e.run(name, d.f32, zero.views());
                sameOutputs(name, zero.views(), staged, `${b} ${name} ${Type.name} ${rows} × ${cols}, ${v.label}`, d.f32);
              } finally {
                zero.free();
              }
            }
          }
        }
      }
    });

    // Calls staged through the window run in blocks of rows (engine.ts, BLOCK_BYTES); calls
    // whose arrays are already in module memory run whole, in place.  Every row's value is the
    // kernel's on that row alone, so the two agree bit for bit (the per-call accumulators of
    // the information kernels, summed block by block, within the bound).
    it('a batch of 300 × 1000 staged in blocks of rows equals the batch computed whole, in place', () => {
      for (const name of names) {
        for (const Type of TYPES) {
          const d = data(300, 1000, Type, 77);
          for (const v of VARIANTS[name](d).slice(0, 2)) {
            const staged = v.args();
            const zero = inModuleMemory(e, v.args());
            try {
              e.run(name, d.f32, staged);
              e.run(name, d.f32, zero.views());
              sameOutputs(name, zero.views(), staged, `${b} ${name} ${Type.name} 300 × 1000, ${v.label}`, d.f32);
            } finally {
              zero.free();
            }
          }
        }
      }
    });
  });
}

// A row longer than the window is computed in segments that fit it (src/stream.ts): each
// kernel's `long` strategy — segments' parts merged, per-row results added, or the twin on
// the caller's arrays — must still give the twin's values.
for (const b of ENGINES) {
  describe(`${b}: rows longer than the window (1 MiB)`, () => {
    let e: WasmEngine;
    beforeAll(async () => {
      await init({ backend: b, window: 2 ** 20 });
      setSmallInputCutoff(0);
      e = currentEngine() as WasmEngine;
      expect(e.heap.windowLimit).toBe(2 ** 20);
    });
    for (const name of names) {
      it(`${name} (${KERNELS[name].long})`, () => {
        for (const Type of TYPES) {
          // a row of 2^18 + 17 (float32: 1 MiB + 68 bytes an array; float64 twice that)
          const d = data(1, 2 ** 18 + 17, Type, 4242);
          const pages = e.heap.pages;
          for (const v of VARIANTS[name](d)) {
            // stream.ts adds the per-row results of an additive kernel's segments, not its
            // parts: sumRows's aux of a long row is left unwritten (no caller asks for it)
            if (name === 'sumRows' && v.args()[4] !== null) continue;
            compare(name, d, v, e, `${name} ${Type.name} 1 × ${d.cols}, ${v.label}`);
          }
          expect(e.heap.pages, `${name}: memory grew`).toBe(pages);
        }
      });
    }
  });
}

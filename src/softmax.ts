// log-sum-exp, softmax, log-softmax, and the entropy and KL divergence of softmax
// outputs from the logits — of a vector or of each row of a matrix (`cols`).

import { baseScale, options, output, sameLength, shape, temperature, vector } from './args.js';
import { definedRow, execute, expWeight, liveData, mapWeight, ROW_SCRATCH, ROW_WEIGHT, type Plan, UNBOUNDED, wideGrad, wideGradRows } from './plan.js';
import { softmaxEntropyRows, softmaxKlDivergenceRows } from './js/softmax.js';
import { LSE_OPTIONS, logSumExpWeightedPlan } from './weighted.js';
import { WasmArray, revive, uninitialized } from './memory.js';
import { perRow } from './reductions.js';
import { logSoftmaxSmall, logSumExpSmall, softmaxEntropySmall, softmaxKlDivergenceSmall, softmaxSmall } from './small.js';
import type { FloatArray, LogSumExpOptions, MapOptions, MatrixOptions, SoftmaxEntropyOptions, SoftmaxKlOptions, Vector, VectorOptions } from './types.js';

const MAP_OPTIONS = ['cols', 'temperature', 'out'] as const;
const ENTROPY_OPTIONS = ['cols', 'base', 'temperature', 'grad', 'out'] as const;
const KL_OPTIONS = ['cols', 'base', 'temperature', 'gradP', 'gradQ', 'out'] as const;

/**
 * log Σ exp xᵢ, computed relative to the maximum so it never overflows.  Empty or
 * all −Infinity: −Infinity; any +Infinity: +Infinity; any NaN: NaN.
 *
 * @example
 * ```ts
 * import { logSumExp } from 'surprisal';
 * logSumExp([1000, 1000]); // 1000.6931471805599 (= 1000 + ln 2)
 * ```
 */
export function logSumExp(x: Vector, options?: VectorOptions<LogSumExpOptions>): number;
export function logSumExp(x: Vector, options: MatrixOptions<LogSumExpOptions>): Float64Array;
export function logSumExp(x: Vector, options?: LogSumExpOptions): number | Float64Array {
  return logSumExpSmall(x, options) ?? execute(logSumExpPlan(x, options));
}

/** @internal */
export function logSumExpPlan(x: Vector, options_?: LogSumExpOptions): Plan<number | Float64Array> {
  if ((options_ as { weights?: unknown } | undefined)?.weights !== undefined) return logSumExpWeightedPlan(x, options_);
  const fn = 'logSumExp';
  const o = options<LogSumExpOptions>(fn, options_, LSE_OPTIONS);
  const X = vector(fn, 'x', x);
  const s = shape(fn, X.length, o.cols);
  const res = perRow(s, fn, o.out, [X]);
  return {
    rows: s.rows, cols: s.cols, size: X.length, weight: expWeight(X.dtype === 'f32'),
    stages: [{ kernel: 'logSumExpRows', f32: X.dtype === 'f32', args: [X.data, s.rows, s.cols, res, null, null] }],
    finish: () => (s.matrix ? res : res[0]),
  };
}

/** The plan of softmax or logSoftmax (`kernel`). @internal */
export function mapPlan(fn: string, kernel: 'softmaxRows' | 'logSoftmaxRows', x: Vector, options_: MapOptions | undefined): Plan<FloatArray> {
  const o = options<MapOptions>(fn, options_, MAP_OPTIONS);
  const X = vector(fn, 'x', x);
  const s = shape(fn, X.length, o.cols);
  const T = temperature(fn, o.temperature);
  const f32 = X.dtype === 'f32';
  const dst: FloatArray = o.out === undefined ? (f32 ? uninitialized(Float32Array, X.length) : uninitialized(Float64Array, X.length)) : output(fn, 'out', o.out, X.length, [X], [X]);
  const at = o.out === undefined ? 0 : dst.byteOffset; // (an array allocated here is never in module memory)
  return {
    rows: s.rows, cols: s.cols, size: X.length, weight: mapWeight(f32),
    stages: [{ kernel, f32, args: [X.data, s.rows, s.cols, T, dst, null, null] }],
    // a view of module memory (a WasmArray's, or its .array) is re-made: the call may
    // have grown memory and detached `dst`
    finish: () => (o.out instanceof WasmArray ? o.out.array : dst.length === X.length ? dst : revive(dst, at, X.length)),
  };
}

/**
 * softmax(x/T)ᵢ = exp(xᵢ/T − lse), row-wise with `cols`.  Float32Array in, Float32Array
 * out; anything else gives a Float64Array.  −Infinity logits are masked (exactly 0); a
 * row of only −Infinity is all 0; a row with +Infinity or NaN is NaN.
 *
 * @example
 * ```ts
 * import { softmax } from 'surprisal';
 * softmax([1, 2, 3]); // Float64Array [0.09003057317038046, 0.24472847105479767, 0.6652409557748219]
 * ```
 */
export function softmax<O extends FloatArray>(x: Vector, options: MapOptions & { out: O }): O;
export function softmax<T extends FloatArray>(x: Vector, options: MapOptions & { out: WasmArray<T> }): T;
export function softmax(x: Float32Array | WasmArray<Float32Array>, options?: MapOptions): Float32Array;
export function softmax(x: Vector, options?: MapOptions): Float64Array;
export function softmax(x: Vector, options?: MapOptions): FloatArray {
  return softmaxSmall(x, options) ?? execute(mapPlan('softmax', 'softmaxRows', x, options));
}

/**
 * log softmax(x/T)ᵢ = xᵢ/T − lse, without the cancellation of log(softmax(x)).  A row of
 * only −Infinity stays −Infinity (no NaN).
 *
 * @example
 * ```ts
 * import { logSoftmax } from 'surprisal';
 * logSoftmax([0, 0]); // Float64Array [-0.6931471805599453, -0.6931471805599453]
 * ```
 */
export function logSoftmax<O extends FloatArray>(x: Vector, options: MapOptions & { out: O }): O;
export function logSoftmax<T extends FloatArray>(x: Vector, options: MapOptions & { out: WasmArray<T> }): T;
export function logSoftmax(x: Float32Array | WasmArray<Float32Array>, options?: MapOptions): Float32Array;
export function logSoftmax(x: Vector, options?: MapOptions): Float64Array;
export function logSoftmax(x: Vector, options?: MapOptions): FloatArray {
  return logSoftmaxSmall(x, options) ?? execute(mapPlan('logSoftmax', 'logSoftmaxRows', x, options));
}

/**
 * Entropy of softmax(logits/T) without materialising it: the entropy bonus of policy
 * gradients.  Masked (−Infinity) logits contribute 0; a fully masked row has entropy 0.
 * With `grad`, ∂H/∂logits = −p ⊙ (log p + H)/T (per row, in the chosen base) is written
 * there in the same pass: the gradient of `torch.distributions.Categorical(logits).entropy()`.
 *
 * @example
 * ```ts
 * import { softmaxEntropy } from 'surprisal';
 * softmaxEntropy([0, 0, 0, 0], { base: 2 }); // 2 bits: uniform over 4 actions
 * ```
 */
export function softmaxEntropy(logits: Vector, options?: VectorOptions<SoftmaxEntropyOptions>): number;
export function softmaxEntropy(logits: Vector, options: MatrixOptions<SoftmaxEntropyOptions>): Float64Array;
export function softmaxEntropy(logits: Vector, options?: SoftmaxEntropyOptions): number | Float64Array {
  return softmaxEntropySmall(logits, options) ?? execute(softmaxEntropyPlan(logits, options));
}

/** @internal */
export function softmaxEntropyPlan(logits: Vector, options_?: SoftmaxEntropyOptions): Plan<number | Float64Array> {
  const fn = 'softmaxEntropy';
  const o = options<SoftmaxEntropyOptions>(fn, options_, ENTROPY_OPTIONS);
  const X = vector(fn, 'logits', logits);
  const s = shape(fn, X.length, o.cols);
  const scale = baseScale(fn, o.base);
  const T = temperature(fn, o.temperature);
  const grad = o.grad === undefined ? null : output(fn, 'grad', o.grad, X.length, [X], []);
  const res = perRow(s, fn, o.out, [X], { grad });
  const f32 = X.dtype === 'f32', given = o.grad;
  return {
    rows: s.rows, cols: s.cols, size: X.length, weight: expWeight(f32),
    // (the kernel gives H in the base's scale)
    stages: [{ kernel: 'softmaxEntropyRows', f32, args: [X.data, s.rows, s.cols, T, scale, grad, res, null, null] }],
    finish: () => {
      // (|p·(log p + H)| ≤ 1/e + log cols, over T, in the base)
      const g = wideGrad(f32, given, () => ((1 + Math.log(s.cols)) * Math.abs(scale)) / T);
      if (g) {
        const x = liveData(logits, X.data) as Float32Array, { cols } = s;
        wideGradRows([g], s.rows, cols, (off) => definedRow(x, off, cols), (_, off) =>
          softmaxEntropyRows(x.subarray(off, off + cols), 1, cols, T, scale, g.subarray(off, off + cols), ROW_SCRATCH, null));
      }
      return s.matrix ? res : res[0];
    },
  };
}

/**
 * D(softmax(P/T) ‖ softmax(Q/T)) from the logits (knowledge distillation).  With `gradQ`
 * and/or `gradP`, ∂D/∂Q = (q − p)/T (the student's gradient) and ∂D/∂P = p ⊙ (log p −
 * log q − D)/T are written there (in the chosen base), as autograd of
 * `F.kl_div(log_softmax(Q), log_softmax(P), log_target=True)` gives them.
 *
 * @example
 * ```ts
 * import { softmaxKlDivergence } from 'surprisal';
 * softmaxKlDivergence([0, 0], [0, Math.log(9)]); // 0.5108256237659907 = D([½, ½] ‖ [0.1, 0.9])
 * ```
 */
export function softmaxKlDivergence(logitsP: Vector, logitsQ: Vector, options?: VectorOptions<SoftmaxKlOptions>): number;
export function softmaxKlDivergence(logitsP: Vector, logitsQ: Vector, options: MatrixOptions<SoftmaxKlOptions>): Float64Array;
export function softmaxKlDivergence(logitsP: Vector, logitsQ: Vector, options?: SoftmaxKlOptions): number | Float64Array {
  return softmaxKlDivergenceSmall(logitsP, logitsQ, options) ?? execute(softmaxKlDivergencePlan(logitsP, logitsQ, options));
}

/** @internal */
export function softmaxKlDivergencePlan(logitsP: Vector, logitsQ: Vector, options_?: SoftmaxKlOptions): Plan<number | Float64Array> {
  const fn = 'softmaxKlDivergence';
  const o = options<SoftmaxKlOptions>(fn, options_, KL_OPTIONS);
  const A = vector(fn, 'logitsP', logitsP);
  const B = vector(fn, 'logitsQ', logitsQ);
  sameLength(fn, A, B);
  const s = shape(fn, A.length, o.cols);
  const scale = baseScale(fn, o.base);
  const T = temperature(fn, o.temperature);
  const gradP = o.gradP === undefined ? null : output(fn, 'gradP', o.gradP, A.length, [A, B], []);
  const gradQ = o.gradQ === undefined ? null : output(fn, 'gradQ', o.gradQ, A.length, [A, B], []);
  if (gradP && gradQ && gradP.buffer === gradQ.buffer && gradP.byteOffset < gradQ.byteOffset + gradQ.byteLength && gradQ.byteOffset < gradP.byteOffset + gradP.byteLength) {
    throw new RangeError(`${fn}: gradP overlaps gradQ; use separate arrays`);
  }
  const res = perRow(s, fn, o.out, [A, B], { gradP, gradQ });
  const f32 = A.dtype === 'f32' && B.dtype === 'f32', givenP = o.gradP, givenQ = o.gradQ;
  return {
    rows: s.rows, cols: s.cols, size: A.length, weight: ROW_WEIGHT,
    stages: [{ kernel: 'softmaxKlDivergenceRows', f32, args: [A.data, B.data, s.rows, s.cols, T, scale, gradP, gradQ, res, null] }],
    finish: () => {
      // (|q − p| ≤ 1 over T, in the base; ∂D/∂P's log q is the data's)
      const gP = wideGrad(f32, givenP, UNBOUNDED), gQ = wideGrad(f32, givenQ, () => Math.abs(scale) / T);
      if (gP || gQ) {
        const a = liveData(logitsP, A.data) as Float32Array, b = liveData(logitsQ, B.data) as Float32Array, { cols } = s;
        wideGradRows([gP, gQ], s.rows, cols, (off) => definedRow(a, off, cols) && definedRow(b, off, cols), (_, off) => {
          const end = off + cols;
          softmaxKlDivergenceRows(a.subarray(off, end), b.subarray(off, end), 1, cols, T, scale, gP && gP.subarray(off, end), gQ && gQ.subarray(off, end), ROW_SCRATCH);
        });
      }
      return s.matrix ? res : res[0];
    },
  };
}

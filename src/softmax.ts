// log-sum-exp, softmax, log-softmax, and the entropy and KL divergence of softmax
// outputs from the logits — of a vector or of each row of a matrix (`cols`).

import { type Arg, baseScale, temperature, options, output, sameLength, shape, vector } from './args.js';
import { engineFor } from './backend.js';
import { finish, type MatrixOptions, rowBuffers, type VectorOptions } from './entropy.js';
import { WasmArray } from './memory.js';
import type { MapOptions, RowsOption, SoftmaxReductionOptions, Vector } from './types.js';

type FloatArray = Float32Array | Float64Array;

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
export function logSumExp(x: Vector, options?: VectorOptions<RowsOption>): number;
export function logSumExp(x: Vector, options: MatrixOptions<RowsOption>): Float64Array;
export function logSumExp(x: Vector, options_?: RowsOption): number | Float64Array {
  const fn = 'logSumExp';
  const o = options<RowsOption>(fn, options_);
  const X = vector(fn, 'x', x);
  const s = shape(fn, X.length, o.cols);
  const { out } = rowBuffers(s, 1);
  const engine = engineFor(X.length);
  if (X.dtype === 'f32') engine.logSumExpRowsF32(X.data, s.rows, s.cols, out);
  else engine.logSumExpRowsF64(X.data, s.rows, s.cols, out);
  return s.matrix ? out : out[0];
}

type MapKernel = 'softmaxRows' | 'logSoftmaxRows';

function map(fn: string, kernel: MapKernel, x: Vector, options_: MapOptions | undefined): FloatArray {
  const o = options<MapOptions>(fn, options_);
  const X = vector(fn, 'x', x);
  const s = shape(fn, X.length, o.cols);
  const T = temperature(fn, o.temperature);
  const dst = o.out === undefined ? null : output(fn, 'out', o.out, X.length, [X], [X]);
  const engine = engineFor(X.length);
  const result = X.dtype === 'f32'
    ? engine[kernel === 'softmaxRows' ? 'softmaxRowsF32' : 'logSoftmaxRowsF32'](X.data, s.rows, s.cols, T, dst)
    : engine[kernel === 'softmaxRows' ? 'softmaxRowsF64' : 'logSoftmaxRowsF64'](X.data, s.rows, s.cols, T, dst);
  // a WasmArray's view is re-derived: the call may have grown memory and detached `dst`
  return o.out instanceof WasmArray ? o.out.array : result;
}

/**
 * softmax(x/T)ᵢ = exp(xᵢ/T − lse), row-wise with `cols`.  Float32Array in, Float32Array
 * out; anything else gives a Float64Array.  −Infinity logits are masked (exactly 0); a
 * row of only −Infinity is all 0; a row with +Infinity or NaN is NaN.
 *
 * @example
 * ```ts
 * import { softmax } from 'surprisal';
 * softmax([1, 2, 3]);                      // Float64Array [0.09003057317038045, 0.2447284710547976, 0.6652409557748218]
 * softmax([1, 2, 3], { temperature: 1e9 }); // ≈ uniform: each 0.3333333…
 * ```
 */
export function softmax<O extends FloatArray>(x: Vector, options: MapOptions & { out: O }): O;
export function softmax<T extends FloatArray>(x: Vector, options: MapOptions & { out: WasmArray<T> }): T;
export function softmax(x: Float32Array | WasmArray<Float32Array>, options?: MapOptions): Float32Array;
export function softmax(x: Vector, options?: MapOptions): Float64Array;
export function softmax(x: Vector, options?: MapOptions): FloatArray {
  return map('softmax', 'softmaxRows', x, options);
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
  return map('logSoftmax', 'logSoftmaxRows', x, options);
}

function logitsArgs(fn: string, x: Vector, options_: SoftmaxReductionOptions | undefined) {
  const o = options<SoftmaxReductionOptions>(fn, options_);
  const X = vector(fn, fn === 'softmaxEntropy' ? 'logits' : 'logitsP', x);
  const s = shape(fn, X.length, o.cols);
  return { X, s, scale: baseScale(fn, o.base), T: temperature(fn, o.temperature) };
}

/**
 * Entropy of softmax(logits/T) without materialising it: the entropy bonus of policy
 * gradients.  Masked (−Infinity) logits contribute 0; a fully masked row has entropy 0.
 *
 * @example
 * ```ts
 * import { softmaxEntropy } from 'surprisal';
 * softmaxEntropy([0, 0, 0, 0], { base: 2 }); // 2 bits: uniform over 4 actions
 * ```
 */
export function softmaxEntropy(logits: Vector, options?: VectorOptions<SoftmaxReductionOptions>): number;
export function softmaxEntropy(logits: Vector, options: MatrixOptions<SoftmaxReductionOptions>): Float64Array;
export function softmaxEntropy(logits: Vector, options_?: SoftmaxReductionOptions): number | Float64Array {
  const { X, s, scale, T } = logitsArgs('softmaxEntropy', logits, options_);
  const { out } = rowBuffers(s, 1);
  const engine = engineFor(X.length);
  if (X.dtype === 'f32') engine.softmaxEntropyRowsF32(X.data, s.rows, s.cols, T, out);
  else engine.softmaxEntropyRowsF64(X.data, s.rows, s.cols, T, out);
  return finish(out, scale, s);
}

/**
 * D(softmax(P/T) ‖ softmax(Q/T)) from the logits (knowledge distillation).
 *
 * @example
 * ```ts
 * import { softmaxKlDivergence } from 'surprisal';
 * softmaxKlDivergence([0, 0], [0, Math.log(9)]); // 0.5108256237659907 = D([½, ½] ‖ [0.1, 0.9])
 * ```
 */
export function softmaxKlDivergence(logitsP: Vector, logitsQ: Vector, options?: VectorOptions<SoftmaxReductionOptions>): number;
export function softmaxKlDivergence(logitsP: Vector, logitsQ: Vector, options: MatrixOptions<SoftmaxReductionOptions>): Float64Array;
export function softmaxKlDivergence(logitsP: Vector, logitsQ: Vector, options_?: SoftmaxReductionOptions): number | Float64Array {
  const fn = 'softmaxKlDivergence';
  const { X: A, s, scale, T } = logitsArgs(fn, logitsP, options_);
  const B: Arg = vector(fn, 'logitsQ', logitsQ);
  sameLength(fn, A, B);
  const { out } = rowBuffers(s, 1);
  const engine = engineFor(A.length);
  if (A.dtype === 'f32' && B.dtype === 'f32') engine.softmaxKlDivergenceRowsF32(A.data, B.data, s.rows, s.cols, T, out);
  else engine.softmaxKlDivergenceRowsF64(A.data, B.data, s.rows, s.cols, T, out);
  return finish(out, scale, s);
}

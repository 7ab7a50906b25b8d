// log-sum-exp, softmax, log-softmax, and the entropy and KL divergence of softmax
// outputs from the logits — of a vector or of each row of a matrix (`cols`).

import { options, output, shape, temperature, vector } from './args.js';
import { engineFor } from './backend.js';
import { WasmArray, uninitialized } from './memory.js';
import { type MatrixOptions, type VectorOptions, perRow } from './reductions.js';
import type { FloatArray, MapOptions, RowsOption, Vector } from './types.js';

const LSE_OPTIONS = ['cols', 'weights'] as const;
const MAP_OPTIONS = ['cols', 'temperature', 'out'] as const;

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
  const o = options<RowsOption>(fn, options_, LSE_OPTIONS);
  const X = vector(fn, 'x', x);
  const s = shape(fn, X.length, o.cols);
  const res = perRow(s);
  engineFor(X.length).run('logSumExpRows', X.dtype === 'f32', [X.data, s.rows, s.cols, res, null, null]);
  return s.matrix ? res : res[0];
}

function map(fn: string, kernel: 'softmaxRows' | 'logSoftmaxRows', x: Vector, options_: MapOptions | undefined): FloatArray {
  const o = options<MapOptions>(fn, options_, MAP_OPTIONS);
  const X = vector(fn, 'x', x);
  const s = shape(fn, X.length, o.cols);
  const T = temperature(fn, o.temperature);
  const f32 = X.dtype === 'f32';
  const dst: FloatArray = o.out === undefined ? (f32 ? uninitialized(Float32Array, X.length) : uninitialized(Float64Array, X.length)) : output(fn, 'out', o.out, X.length, [X], [X]);
  engineFor(X.length).run(kernel, f32, [X.data, s.rows, s.cols, T, dst, null, null]);
  // a WasmArray's view is re-derived: the call may have grown memory and detached `dst`
  return o.out instanceof WasmArray ? o.out.array : dst;
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

// Weighted and signed log-sum-exp (scipy.special.logsumexp with `b=` and
// `return_sign=True`) of a vector or of each row of a matrix (`cols`).  `logSumExp(x,
// { weights })` in softmax.ts comes here too (`logSumExpWeightedPlan`).

import { type Arg, type Shape, options, shape, vector } from './args.js';
import { execute, type Plan, type Stage, weightedWeight } from './plan.js';
import { perRow } from './reductions.js';
import { signedLogSumExpSmall } from './small.js';
import type { LogSumExpOptions, MatrixOptions, SignedLogSumExpOptions, SignedValue, Vector, VectorOptions } from './types.js';

const OPTIONS = ['cols', 'weights'] as const;
/** logSumExp's options, with and without weights (softmax.ts). @internal */
export const LSE_OPTIONS = ['cols', 'weights', 'out'] as const;

/** The weights of a call: their argument, and whether there is one per element (else one per column). */
function weightsOf(fn: string, X: Arg, s: Shape, cols: number | undefined, w: unknown): { W: Arg; perElement: boolean } {
  const W = vector(fn, 'weights', w);
  if (W.length === X.length) return { W, perElement: true };
  // (an empty matrix has s.cols = 0: its weights per column are still `cols` of them)
  if (s.matrix && W.length === cols) return { W, perElement: false };
  throw new TypeError(`${fn}: weights must have length ${X.length} (one per element)${s.matrix ? ` or ${cols} (one per column)` : ''}, got ${W.length}`);
}

/** The weighted kernel's stage: values into `res`, signs into `sign` (when given), parts into `aux` (when given). */
function stage(X: Arg, s: Shape, W: Arg, perElement: boolean, res: Float64Array, sign: Float64Array | null, aux: Float64Array | null): Stage {
  return { kernel: 'weightedLogSumExpRows', f32: X.dtype === 'f32', args: [X.data, W.data, perElement ? 1 : 0, s.rows, s.cols, res, sign, aux] };
}

/** The first negative weight of row r (per element) or of the columns, for the error. */
function negativeWeight(fn: string, W: Arg): never {
  const d = W.data;
  let i = 0;
  while (i < W.length && !(d[i] < 0)) i++;
  throw new RangeError(`${fn}: weights[${i}] is ${d[i]}; weights must be non-negative (for weights of any sign use signedLogSumExp, which returns the sign apart)`);
}

/**
 * The plan of `logSumExp(x, { cols, weights })`: log Σ bᵢ·e^xᵢ with weights bᵢ ≥ 0, one
 * per element or one per column (scipy's `logsumexp(a, b=b)`).  A negative weight is a
 * RangeError pointing at `signedLogSumExp`.  `logSumExpPlan` in softmax.ts hands its
 * calls with `weights` here; `options_` is its options object, unchecked.
 * @internal
 */
export function logSumExpWeightedPlan(x: Vector, options_: unknown): Plan<number | Float64Array> {
  const fn = 'logSumExp';
  const o = options<LogSumExpOptions>(fn, options_, LSE_OPTIONS);
  const X = vector(fn, 'x', x);
  const s = shape(fn, X.length, o.cols);
  const { W, perElement } = weightsOf(fn, X, s, o.cols, o.weights);
  if (!perElement) {
    const d = W.data;
    for (let j = 0; j < W.length; j++) if (d[j] < 0) negativeWeight(fn, W);
  }
  const res = perRow(s, fn, o.out, [X, W]);
  // per element, the kernel reports each row's smallest weight (aux[4r + 3])
  const aux = perElement ? new Float64Array(4 * s.rows) : null;
  return {
    rows: s.rows, cols: s.cols, size: X.length, weight: weightedWeight(X.dtype === 'f32'),
    stages: [stage(X, s, W, perElement, res, null, aux)],
    finish: () => {
      if (aux) for (let r = 0; r < s.rows; r++) if (aux[4 * r + 3] < 0) negativeWeight(fn, W);
      return s.matrix ? res : res[0];
    },
  };
}

/** `logSumExp(x, { cols, weights })` (see `logSumExpWeightedPlan`). */
export function logSumExpWeighted(x: Vector, options_: unknown): number | Float64Array {
  return execute(logSumExpWeightedPlan(x, options_));
}

/**
 * log|Σ bᵢ·e^xᵢ| and the sign of the sum (−1, 0 or 1), for weights of any sign — one per
 * element, or one per column (`cols` of them) for every row — as scipy's
 * `logsumexp(a, b=b, return_sign=True)`: numbers, or a Float64Array of each per row with
 * `cols`.  Without weights, b = 1.
 *
 * Computed relative to the largest x of nonzero weight, so it never overflows; an entry of
 * weight 0 is left out whatever its x (NaN or ±Infinity included), as scipy ≥ 1.15.  An
 * exact cancellation, all weights 0, all x −Infinity, or no entries give
 * `{ value: -Infinity, sign: 0 }`; a NaN x (of nonzero weight) or weight gives NaN and
 * sign NaN; +Infinity terms of one sign (an x of +Infinity, or an infinite weight) give
 * `value: Infinity` with that sign, of both signs NaN.  Where the sum nearly cancels the
 * value keeps the digits the data do: its condition number is Σ|bᵢ|e^xᵢ / |Σ bᵢe^xᵢ|.
 * (scipy returns NaN for a few rows this computes: equal largest entries whose weights
 * cancel, and for `b = 0` with x = +Infinity; and sign −1 for an empty input.)
 *
 * @example
 * ```ts
 * import { signedLogSumExp } from 'surprisal';
 * signedLogSumExp([1, 2], { weights: [1, -1] }); // { value: 1.5413248546129181, sign: -1 } (log(e² − e))
 * ```
 */
export function signedLogSumExp(x: Vector, options?: VectorOptions<SignedLogSumExpOptions>): SignedValue<number>;
export function signedLogSumExp(x: Vector, options: MatrixOptions<SignedLogSumExpOptions>): SignedValue<Float64Array>;
export function signedLogSumExp(x: Vector, options_?: SignedLogSumExpOptions): SignedValue {
  return signedLogSumExpSmall(x, options_) ?? execute(signedLogSumExpPlan(x, options_));
}

/** The plan of `signedLogSumExp`. @internal */
export function signedLogSumExpPlan(x: Vector, options_?: SignedLogSumExpOptions): Plan<SignedValue> {
  const fn = 'signedLogSumExp';
  const o = options<SignedLogSumExpOptions>(fn, options_, OPTIONS);
  const X = vector(fn, 'x', x);
  const s = shape(fn, X.length, o.cols);
  let W: Arg, perElement: boolean;
  if (o.weights === undefined) {
    // b = 1: one weight per column
    const ones = X.dtype === 'f32' ? new Float32Array(s.cols) : new Float64Array(s.cols);
    W = { data: ones.fill(1), dtype: X.dtype, length: s.cols, name: 'weights' };
    perElement = !s.matrix;
  } else ({ W, perElement } = weightsOf(fn, X, s, o.cols, o.weights));
  const value = new Float64Array(s.rows), sign = new Float64Array(s.rows);
  return {
    rows: s.rows, cols: s.cols, size: X.length, weight: weightedWeight(X.dtype === 'f32'),
    stages: [stage(X, s, W, perElement, value, sign, null)],
    finish: () => (s.matrix ? { value, sign } : { value: value[0], sign: sign[0] }),
  };
}

// The binary / multi-label losses from logits: the sigmoid cross-entropy (PyTorch's
// `binary_cross_entropy_with_logits`) and the sigmoid focal loss (torchvision's
// `sigmoid_focal_loss`), each with its gradient in the same pass (assembly/sigmoid.ts).
//
// Validation: shapes, options and the per-class arrays are checked before any kernel
// runs.  The per-element inputs — targets in [0, 1], per-element weights finite and
// non-negative — are checked by the kernel as it reads them (two vector operations; a
// JavaScript scan would cost as much as the kernel: 1.1 ms per 10⁶ float32), which makes
// a row with a bad entry NaN; `finish` then scans for the first bad entry and names it in
// a RangeError.  So a call that throws for a bad target or weight may already have
// written `grad`.

import { type Arg, type Shape, at, baseScale, describe, labelSmoothingOption, options, output, reductionOption, sameLength, shape, vector } from './args.js';
import { rowOf } from './memory.js';
import { execute, liveData, ROW_SCRATCH, ROW_WEIGHT, sigmoidWeight, type Plan, UNBOUNDED, wideGrad, wideGradRows } from './plan.js';
import { sigmoidCrossEntropyRows, sigmoidFocalLossRows } from './js/sigmoid.js';
import { fsum, maxRow } from './js/sum.js';
import { positiveZeros } from './reductions.js';
import { sigmoidCrossEntropySmall, sigmoidFocalLossSmall } from './small.js';
import type { FloatArray, Reduction, SigmoidCrossEntropyOptions, SigmoidFocalLossOptions, Vector } from './types.js';

const SCE_OPTIONS = ['cols', 'weights', 'posWeight', 'reduction', 'labelSmoothing', 'base', 'grad'] as const;
const FOCAL_OPTIONS = ['cols', 'alpha', 'gamma', 'reduction', 'base', 'grad'] as const;

/**
 * Binary cross-entropy from logits, element by element, as PyTorch's
 * `binary_cross_entropy_with_logits`: ℓ = −w·[pw·y·log σ(x) + (1 − y)·log(1 − σ(x))],
 * computed as w·[pw·y·softplus(−x) + (1 − y)·softplus(x)] so that it is accurate and
 * finite for any logit (±1e4 included).  Targets y ∈ [0, 1] (soft targets allowed).
 *
 * - `cols`: the number of classes (row length); it only matters for the per-class
 *   `weights` and `posWeight` — the losses are per element either way.
 * - `posWeight` (PyTorch's `pos_weight`): the weight of the positive term, one per class
 *   (`cols` of them; without `cols`, one per element), or one number for all.
 * - `weights` (PyTorch's `weight`): one per element, or one per class (`cols` of them).
 * - `labelSmoothing` ε ∈ [0, 1): targets become (1 − ε)·y + ε/2, as TF.js's
 *   `sigmoidCrossEntropy` (PyTorch has none).
 * - `reduction`: `'mean'` over all elements (PyTorch's: Σ w·ℓ / N, not divided by Σ w),
 *   `'sum'`, or `'none'` (a Float64Array, one loss per element).  The mean of no
 *   elements is 0 (PyTorch: NaN).
 * - `grad`: filled with ∂loss/∂logits for the chosen reduction (`'none'`: of the sum),
 *   w·[(1 − y)·σ(x) − pw·y·σ(−x)] scaled, in the same pass.
 *
 * A coefficient of 0 times an infinite term counts 0 (as 0·log 0 = 0): a logit of
 * −Infinity with target 0, or +Infinity with target 1, costs 0 with a zero gradient
 * (PyTorch gives NaN).  NaN logits give NaN.  A target outside [0, 1] (or NaN), a
 * negative or non-finite weight or posWeight is a RangeError naming it.
 *
 * @example
 * ```ts
 * import { sigmoidCrossEntropy } from 'surprisal';
 * const grad = new Float64Array(2);
 * sigmoidCrossEntropy([0, 2], [1, 0], { grad }); // 1.410037595801459 = (ln 2 + ln(1 + e²))/2
 * grad; // (σ(x) − y)/2: Float64Array [-0.25, 0.4403985389889412]
 * ```
 */
export function sigmoidCrossEntropy(logits: Vector, targets: Vector, options: SigmoidCrossEntropyOptions & { reduction: 'none' }): Float64Array;
export function sigmoidCrossEntropy(logits: Vector, targets: Vector, options?: SigmoidCrossEntropyOptions & { reduction?: 'mean' | 'sum' }): number;
export function sigmoidCrossEntropy(logits: Vector, targets: Vector, options?: SigmoidCrossEntropyOptions): number | Float64Array;
export function sigmoidCrossEntropy(logits: Vector, targets: Vector, options?: SigmoidCrossEntropyOptions): number | Float64Array {
  return sigmoidCrossEntropySmall(logits, targets, options) ?? execute(sigmoidCrossEntropyPlan(logits, targets, options));
}

/**
 * The sigmoid focal loss of RetinaNet from logits, as torchvision's
 * `ops.sigmoid_focal_loss`: with p = σ(x), p_t = p·y + (1 − p)·(1 − y),
 * ℓ = α_t·(1 − p_t)^γ·BCE(x, y), α_t = α·y + (1 − α)·(1 − y).  `alpha` (default 0.25)
 * at most 1, a negative α turning the weighting off (α_t = 1); `gamma` ≥ 0 (default 2;
 * (1 − p_t)^0 = 1 even where p_t = 1).  `reduction` is `'mean'` by default over all
 * elements (torchvision's default is `'none'`), or `'sum'`, or `'none'` (a Float64Array
 * per element).  `grad`: ∂loss/∂logits in the same pass, analytic:
 * α_t·[(σ(x) − y)·(1 − p_t)^γ + γ·(1 − 2y)·BCE·(1 − p_t)^(γ−1)·σ(x)σ(−x)].
 * Targets in [0, 1]; infinite and NaN logits as in `sigmoidCrossEntropy`.
 *
 * @example
 * ```ts
 * import { sigmoidFocalLoss } from 'surprisal';
 * sigmoidFocalLoss([0, 0], [1, 0], { alpha: -1, gamma: 2 }); // 0.17328679513998632 = ln 2 / 4
 * ```
 */
export function sigmoidFocalLoss(logits: Vector, targets: Vector, options: SigmoidFocalLossOptions & { reduction: 'none' }): Float64Array;
export function sigmoidFocalLoss(logits: Vector, targets: Vector, options?: SigmoidFocalLossOptions & { reduction?: 'mean' | 'sum' }): number;
export function sigmoidFocalLoss(logits: Vector, targets: Vector, options?: SigmoidFocalLossOptions): number | Float64Array;
export function sigmoidFocalLoss(logits: Vector, targets: Vector, options?: SigmoidFocalLossOptions): number | Float64Array {
  return sigmoidFocalLossSmall(logits, targets, options) ?? execute(sigmoidFocalLossPlan(logits, targets, options));
}

/** What both losses parse the same way. */
interface Common {
  X: Arg;
  T: Arg;
  s: Shape;
  f32: boolean;
  reduction: Reduction;
  lscale: number;
  gscale: number;
  grad: FloatArray | null;
  /** Rows a kernel row (`grouping`), and the kernel rows' losses. */
  k: number;
  res: Float64Array;
  losses: Float64Array | null;
  /** The call's other inputs, parsed. */
  others: Arg[];
}

/** Parses what both losses share; `others` parses the call's other inputs (after the logits and targets, before `grad`). */
function common(fn: string, logits: Vector, targets: Vector, o: Partial<SigmoidCrossEntropyOptions & SigmoidFocalLossOptions>, others: () => Arg[]): Common {
  const X = vector(fn, 'logits', logits);
  const T = vector(fn, 'targets', targets);
  sameLength(fn, X, T);
  const s = shape(fn, X.length, o.cols);
  const more = others();
  const reduction = reductionOption(fn, o.reduction);
  const lscale = baseScale(fn, o.base);
  const n = X.length;
  const gscale = (reduction === 'mean' ? (n > 0 ? 1 / n : 0) : 1) * lscale;
  const grad = o.grad === undefined ? null : output(fn, 'grad', o.grad, n, [X, T, ...more], []);
  const f32 = X.dtype === 'f32' && T.dtype === 'f32';
  const k = grouping(s.rows, s.cols);
  return { X, T, s, f32, reduction, lscale, gscale, grad, k, res: new Float64Array(s.rows / k), losses: reduction === 'none' ? new Float64Array(n) : null, others: more };
}

/** A per-class array (or, `single`, one number for every class) of finite non-negative values, as a Float64Array of `cols`. */
function perClass(fn: string, name: string, v: unknown, cols: number, classes: string, single: boolean): Float64Array {
  const values = typeof v === 'number' && single ? [v] : vector(fn, name, v).data;
  if (values.length !== cols && !(single && values.length === 1)) {
    throw new TypeError(`${fn}: ${name} must have one entry per ${classes} (${cols})${single ? ' or be one number' : ''}, got length ${values.length}`);
  }
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (!(x >= 0 && x < Infinity)) {
      throw new RangeError(`${fn}: ${typeof v === 'number' ? name : `${name}[${i}]`} is ${x}; ${name} must be finite and non-negative`);
    }
  }
  return values.length === cols ? Float64Array.from(values) : new Float64Array(cols).fill(values[0]);
}

/**
 * Rows of the kernel for `rows` × `cols` elements: narrow rows (fewer than 64 entries) are
 * grouped k at a time into rows of k·cols — k the largest divisor of `rows` with k·cols ≤
 * 4096 — since the losses are elementwise and only their total is returned; per-class
 * arrays are then tiled k times.  (The kernels take narrow rows flat themselves when no
 * such k helps: a prime number of rows.)
 */
function grouping(rows: number, cols: number): number {
  if (cols >= 64 || rows < 2) return 1;
  for (let k = Math.min(rows, Math.floor(4096 / cols)); k > 1; k--) {
    if (rows % k === 0) return k * cols >= 64 ? k : 1;
  }
  return 1;
}

/** A per-class array repeated k times. */
function tiled(a: Float64Array | null, k: number): Float64Array | null {
  if (a === null || k === 1) return a;
  const t = new Float64Array(a.length * k);
  for (let i = 0; i < k; i++) t.set(a, i * a.length);
  return t;
}

/** The reduction of the per-row losses; a NaN total is first checked for a bad target or weight (see the top). */
function finish(fn: string, c: Common, weights: Arg | null): number | Float64Array {
  const total = fsum(c.res);
  if (total !== total) {
    const d = c.T.data;
    for (let i = 0; i < c.T.length; i++) {
      const v = d[i];
      if (!(v >= 0 && v <= 1)) throw new RangeError(`${fn}: ${at(c.T, i, c.s)} is ${v}; targets must be in [0, 1]`);
    }
    if (weights) {
      const w = weights.data;
      for (let i = 0; i < weights.length; i++) {
        const v = w[i];
        if (!(v >= 0 && v < Infinity)) throw new RangeError(`${fn}: ${at(weights, i, c.s)} is ${v}; weights must be finite and non-negative`);
      }
    }
  }
  if (c.reduction === 'none') return positiveZeros(c.losses!, c.lscale);
  if (c.reduction === 'sum') return total;
  return c.X.length > 0 ? total / c.X.length : 0;
}

/** The plan of a `sigmoidCrossEntropy` call (plan.ts): one kernel over the rows, then the reduction. @internal */
export function sigmoidCrossEntropyPlan(logits: Vector, targets: Vector, options_?: SigmoidCrossEntropyOptions): Plan<number | Float64Array> {
  const fn = 'sigmoidCrossEntropy';
  const o = options<SigmoidCrossEntropyOptions>(fn, options_, SCE_OPTIONS);
  const c = common(fn, logits, targets, o, () => (o.weights === undefined ? [] : [vector(fn, 'weights', o.weights)]));
  const W = c.others.length ? c.others[0] : null;
  const { rows, cols, matrix } = c.s;
  const n = c.X.length;
  const eps = labelSmoothingOption(fn, o.labelSmoothing);
  // weights: per element (checked by the kernel), or per class (checked here)
  let w: ArrayLike<number> | null = null, wElem = 0, wElemArg: Arg | null = null;
  if (W) {
    if (W.length === n) {
      w = W.data;
      wElem = 1;
      wElemArg = W;
    } else if (matrix && W.length === cols) {
      w = perClass(fn, 'weights', o.weights, cols, 'class', false);
    } else {
      throw new TypeError(`${fn}: weights must have one entry per element (${n})${matrix ? ` or per class (${cols})` : ''}, got length ${W.length}`);
    }
  }
  const pw = o.posWeight === undefined ? null : perClass(fn, 'posWeight', o.posWeight, cols, matrix ? 'class' : 'element', true);
  const { k } = c, kr = rows / k, kc = cols * k;
  const wk = wElem ? w : tiled(w as Float64Array | null, k), pk = tiled(pw, k), givenGrad = o.grad, givenWeights = o.weights;
  return {
    rows: kr, cols: kc, size: n, weight: sigmoidWeight(c.f32, c.grad !== null),
    stages: [{ kernel: 'sigmoidCrossEntropyRows', f32: c.f32, args: [c.X.data, c.T.data, kr, kc, wk, wElem, pk, eps, c.lscale, c.gscale, c.grad, c.res, c.losses, null] }],
    finish: () => {
      const value = finish(fn, c, wElemArg);
      // (|w·((pw·y + 1 − y)·σ − pw·y)| ≤ w·(pw + 1), y in [0, 1]; weights per element are the data's)
      const bound = wElem ? UNBOUNDED : () => largest(w) * (largest(pw) + 1) * Math.abs(c.gscale);
      wideSigmoid(c, logits, targets, givenGrad, bound, (x, y, g, j) => {
        const wj = wElem ? rowOf(liveData(givenWeights, w!), j, 1) : w && rowOf(w, j % cols, 1), pj = pw && rowOf(pw, j % cols, 1);
        sigmoidCrossEntropyRows(x, y, 1, 1, wj, wElem, pj, eps, c.lscale, c.gscale, g, ROW_SCRATCH, null);
      });
      return value;
    },
  };
}

/** The largest entry of per-class values (1 where there are none). */
const largest = (a: ArrayLike<number> | null): number => (a ? maxRow(a, 0, a.length) : 1);

/** The plan of a `sigmoidFocalLoss` call. @internal */
export function sigmoidFocalLossPlan(logits: Vector, targets: Vector, options_?: SigmoidFocalLossOptions): Plan<number | Float64Array> {
  const fn = 'sigmoidFocalLoss';
  const o = options<SigmoidFocalLossOptions>(fn, options_, FOCAL_OPTIONS);
  const c = common(fn, logits, targets, o, () => []);
  const { rows, cols } = c.s;
  const alpha = o.alpha === undefined ? 0.25 : o.alpha;
  if (typeof alpha !== 'number') throw new TypeError(`${fn}: alpha must be a number, got ${describe(alpha)}`);
  if (!(alpha <= 1)) throw new RangeError(`${fn}: alpha must be at most 1 (a negative alpha turns the weighting off), got ${alpha}`);
  const gamma = o.gamma === undefined ? 2 : o.gamma;
  if (typeof gamma !== 'number') throw new TypeError(`${fn}: gamma must be a number, got ${describe(gamma)}`);
  if (!(gamma >= 0 && gamma < Infinity)) throw new RangeError(`${fn}: gamma must be finite and non-negative, got ${gamma}`);
  const { k } = c, kr = rows / k, kc = cols * k, givenGrad = o.grad;
  return {
    rows: kr, cols: kc, size: c.X.length, weight: ROW_WEIGHT,
    stages: [{ kernel: 'sigmoidFocalLossRows', f32: c.f32, args: [c.X.data, c.T.data, kr, kc, alpha < 0 ? -1 : alpha, gamma, c.lscale, c.gscale, c.grad, c.res, c.losses, null] }],
    finish: () => {
      const value = finish(fn, c, null);
      wideSigmoid(c, logits, targets, givenGrad, UNBOUNDED, (x, y, g) => sigmoidFocalLossRows(x, y, 1, 1, alpha < 0 ? -1 : alpha, gamma, c.lscale, c.gscale, g, ROW_SCRATCH, null));
      return value;
    },
  };
}

/**
 * plan.ts's `wideGradRows` on a sigmoid loss's gradient, entry by entry (the losses are
 * elementwise; a NaN logit's entry is NaN on every path): `redo` forms entry j again from
 * its logit, target and gradient entry.
 */
function wideSigmoid(c: Common, logits: Vector, targets: Vector, given: unknown, bound: () => number,
  redo: (x: ArrayLike<number>, y: ArrayLike<number>, g: Float64Array, j: number) => void): void {
  const g = wideGrad(c.f32, given, bound);
  if (!g) return;
  const x = liveData(logits, c.X.data), y = liveData(targets, c.T.data);
  wideGradRows([g], c.X.length, 1, (j) => x[j] === x[j], (j) => redo(rowOf(x, j, 1), rowOf(y, j, 1), g.subarray(j, j + 1), j));
}

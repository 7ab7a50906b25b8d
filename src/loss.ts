// The classification loss, fused from logits: softmax cross-entropy with PyTorch's
// `cross_entropy` semantics (class weights, label smoothing, ignore index, reductions)
// and its gradient from the same softmax.

import { type Arg, baseScale, classWeights, describe, labelSmoothingOption, options, output, reductionOption, shape, vector } from './args.js';
import { engineFor } from './backend.js';
import { type Engine, scanEngine } from './engine.js';
import { definedRow, execute, finite, liveData, lossWeight, type Plan, ROW_SCRATCH, type Stage, UNBOUNDED, wideGrad, wideGradRows } from './plan.js';
import { NARROW_COLS, ROW_GROUP } from './kernels.js';
import { fsum, maxRow } from './js/sum.js';
import { softmaxCrossEntropyLabels, softmaxCrossEntropyProbs } from './js/loss.js';
import { uninitialized } from './memory.js';
import { softmaxCrossEntropySmall } from './small.js';
import type { CrossEntropyLossOptions, FloatArray, Labels, Reduction, Vector } from './types.js';

const LOSS_OPTIONS = ['cols', 'reduction', 'labelSmoothing', 'ignoreIndex', 'weights', 'grad', 'base'] as const;

/**
 * Softmax cross-entropy from logits (`cols` classes per row), as PyTorch's
 * `F.cross_entropy`: integer labels (length = rows) or probability targets (length =
 * logits.length; labels win when both fit, i.e. `cols` = 1).  `'mean'` over no
 * (non-ignored) rows is 0 with a zero gradient.  With `grad`, ∂loss/∂logits for the
 * chosen reduction is written there in the same pass (for `'none'`, of the sum).
 *
 * @example
 * ```ts
 * import { softmaxCrossEntropy } from 'surprisal';
 * const logits = new Float32Array([2, 0, 0, 0, 2, 0]);   // 2 rows × 3 classes
 * const grad = new Float32Array(6);
 * softmaxCrossEntropy(logits, [0, 1], { cols: 3, grad }); // 0.2395447… = ln(1 + 2e⁻²)
 * grad; // (softmax − onehot)/2: [-0.10650…, 0.05325…, 0.05325…, 0.05325…, -0.10650…, 0.05325…]
 * ```
 */
export function softmaxCrossEntropy(logits: Vector, targets: Labels | Vector, options: CrossEntropyLossOptions & { reduction: 'none' }): Float64Array;
export function softmaxCrossEntropy(logits: Vector, targets: Labels | Vector, options: CrossEntropyLossOptions & { reduction?: 'mean' | 'sum' }): number;
export function softmaxCrossEntropy(logits: Vector, targets: Labels | Vector, options: CrossEntropyLossOptions): number | Float64Array;
export function softmaxCrossEntropy(logits: Vector, targets: Labels | Vector, options: CrossEntropyLossOptions): number | Float64Array {
  return softmaxCrossEntropySmall(logits, targets, options) ?? execute(softmaxCrossEntropyPlan(logits, targets, options));
}

/**
 * The plan of a loss call: one kernel over all rows, then the reduction of the per-row
 * losses.  `later`: the plan runs after this call returns (the pool's), so int32 labels
 * are copied — the kernel trusts the labels validated now, and the caller may change
 * theirs in the meantime (a direct call reads them in place unless `grad` shares their
 * buffer).
 * @internal
 */
export function softmaxCrossEntropyPlan(logits: Vector, targets: Labels | Vector, options: CrossEntropyLossOptions, later = false): Plan<number | Float64Array> {
  const c = prepareLoss('softmaxCrossEntropy', logits, targets, options, later);
  const { rows, cols } = c;
  const gradScale = (c.reduction === 'mean' ? (c.denominator !== 0 ? 1 / c.denominator : 0) : 1) * c.scale;
  const res = c.reduction !== 'none' && !later ? rowLosses(rows) : uninitialized(Float64Array, rows); // (every row's loss is written)
  const f32 = c.Z.dtype === 'f32' && (c.labels !== null || c.T.dtype === 'f32');
  // a 'mean' or 'sum' of narrow rows: the kernel sums each group of rows' losses into one
  // entry, and the reduction adds those (kernels.ts, 'sums'; assembly/loss.ts, `sumGroupsF64`)
  const grouped = c.reduction !== 'none' && cols < NARROW_COLS ? 1 : 0;
  const stage: Stage = c.labels
    ? { kernel: 'softmaxCrossEntropyLabels', f32, args: [c.Z.data, c.labels, rows, cols, c.weights, c.wsum, c.eps, gradScale, c.grad, res, grouped, null] }
    : { kernel: 'softmaxCrossEntropyProbs', f32, args: [c.Z.data, c.T.data, rows, cols, c.weights, c.eps, gradScale, c.grad, res, grouped, null] };
  // (a bound on the gradient's entries with labels: (e·a − w_c·b − [c = y]·c) with each
  // coefficient at most (3·max w + Σw)·|scale|; with targets it depends on them)
  const bound = c.labels ? () => (3 * (c.weights ? maxRow(c.weights, 0, cols) : 1) + c.wsum) * Math.abs(gradScale) : UNBOUNDED;
  const given = options.grad;
  return {
    rows, cols, size: c.Z.length, weight: lossWeight(f32, c.grad !== null), stages: [stage],
    finish: () => {
      const g = wideGrad(f32, given, bound);
      if (g) {
        const z = liveData(logits, c.Z.data) as Float32Array, t = liveData(targets, c.T.data) as Float32Array, { labels, weights, wsum, eps } = c;
        const defined = (off: number) => definedRow(z, off, cols) && (labels !== null || finite(t, off, off + cols));
        wideGradRows([g], rows, cols, defined, (r, off) => {
          const zr = z.subarray(off, off + cols), gr = g.subarray(off, off + cols);
          if (labels) softmaxCrossEntropyLabels(zr, labels.subarray(r, r + 1), 1, cols, weights, wsum, eps, gradScale, gr, ROW_SCRATCH, false);
          else softmaxCrossEntropyProbs(zr, t.subarray(off, off + cols), 1, cols, weights, eps, gradScale, gr, ROW_SCRATCH, false);
        });
      }
      return reduceLoss(c, grouped ? res.subarray(0, Math.ceil(rows / ROW_GROUP)) : res);
    },
  };
}

/**
 * The per-row losses of a 'mean' or 'sum' call computed now: an array kept from call to
 * call (up to ROW_LOSSES rows), which never leaves this module.  A new one is memory the
 * system has to map and zero on first touch, a page at a time; a training loop reduces a
 * batch of one shape every step.  A pool's plan (run later) gets its own.
 */
function rowLosses(rows: number): Float64Array {
  if (rows > ROW_LOSSES) return uninitialized(Float64Array, rows);
  if (rows > kept.length) kept = new Float64Array(Math.max(rows, Math.min(2 * kept.length, ROW_LOSSES)));
  return rows === kept.length ? kept : kept.subarray(0, rows);
}
const ROW_LOSSES = 2 ** 19;
let kept = new Float64Array(0);

/** A validated call: every argument checked, labels turned into int32 (−1 = ignored). */
interface LossCall {
  Z: Arg;
  T: Arg;
  rows: number;
  cols: number;
  labels: Int32Array | null;
  reduction: Reduction;
  eps: number;
  weights: Float64Array | null;
  wsum: number;
  scale: number;
  grad: FloatArray | null;
  /** Σ w_y over the rows that count (labels), or the row count (targets): 'mean' divides by it. */
  denominator: number;
}

/** Parses and validates a loss call (every error the call can raise is raised here). */
function prepareLoss(fn: string, logits: Vector, targets: Labels | Vector, options_: CrossEntropyLossOptions, later: boolean): LossCall {
  const o = options<CrossEntropyLossOptions>(fn, options_, LOSS_OPTIONS);
  if (o.cols === undefined) throw new TypeError(`${fn}: cols (the number of classes) is required`);
  // (the labels' scan runs after the views below are taken: its engine is readied first)
  const scan = targets instanceof Int32Array ? scanEngine(engineFor(targets.length, 64)) : null;
  const Z = vector(fn, 'logits', logits);
  const s = shape(fn, Z.length, o.cols);
  const { rows, cols } = s;
  const T = vector(fn, 'targets', targets);
  const isLabels = T.length === rows;
  if (!isLabels && T.length !== Z.length) {
    throw new TypeError(`${fn}: targets must be ${rows} labels or ${Z.length} probabilities (rows × cols), got length ${T.length}`);
  }
  const reduction = reductionOption(fn, o.reduction);
  const eps = labelSmoothingOption(fn, o.labelSmoothing);
  const ignore = o.ignoreIndex;
  if (ignore !== undefined && !(typeof ignore === 'number' && Number.isInteger(ignore))) {
    throw new TypeError(`${fn}: ignoreIndex must be an integer, got ${describe(ignore)}`);
  }
  let weights: Float64Array | null = null;
  let wsum = cols;
  if (o.weights !== undefined) {
    // (per class of `cols`: an empty input has s.cols = 0, its classes are still cols)
    weights = classWeights(fn, o.weights, o.cols as number);
    wsum = fsum(weights);
  }
  const scale = baseScale(fn, o.base);
  const grad = o.grad === undefined ? null : output(fn, 'grad', o.grad, Z.length, isLabels ? [Z] : [Z, T], [Z]);

  // Labels: validated and turned into int32 (−1 = ignored) before any kernel runs; the
  // 'mean' denominator is Σ w_y over the rows that count, as PyTorch.
  let labels: Int32Array | null = null;
  let denominator = rows;
  if (isLabels) {
    const d = T.data;
    // int32 labels without weights, the common case: their range in one scan; when every
    // one is a class and none is ignoreIndex, nothing is rewritten and each counts 1
    if (d instanceof Int32Array && scan && !weights) {
      const hi = classRange(d, scan);
      if (hi >= 0 && hi < cols && (ignore === undefined || ignore < 0 || ignore > hi)) {
        // (copied for the pool's later run, and where grad shares their buffer: the kernel
        // writes grad row by row and reads each row's label after)
        const copy = later || (grad !== null && grad.buffer === d.buffer);
        return { Z, T, rows, cols, labels: copy ? d.slice() : d, reduction, eps, weights, wsum, scale, grad, denominator };
      }
    }
    labels = new Int32Array(rows);
    denominator = 0;
    for (let r = 0; r < rows; r++) {
      const y = d[r];
      if (y === ignore) {
        labels[r] = -1;
        continue;
      }
      if (!Number.isInteger(y) || y < 0 || y >= cols) throw badLabel(fn, r, y, cols, ignore);
      labels[r] = y;
      denominator += weights ? weights[y] : 1;
    }
  }
  return { Z, T, rows, cols, labels, reduction, eps, weights, wsum, scale, grad, denominator };
}

/** The largest of int32 labels when none is negative, else −1 (`labelMax`, a negative label read as 2³¹ or more; over 1024 labels a SIMD scan). */
function classRange(labels: Int32Array, scan: Engine): number {
  RANGE[0] = 0;
  scan.run('labelMax', false, [labels, labels.length, RANGE]);
  return RANGE[0] >= 2 ** 31 ? -1 : RANGE[0];
}
const RANGE = new Float64Array(1);

function badLabel(fn: string, r: number, y: number, cols: number, ignore: number | undefined): RangeError {
  if (!Number.isInteger(y)) return new RangeError(`${fn}: label at row ${r} is ${y}, not an integer class index`);
  return new RangeError(`${fn}: label at row ${r} is ${y}, outside [0, ${cols})${ignore === undefined ? '' : ` and not ignoreIndex (${ignore})`}`);
}

/**
 * The requested reduction of the per-row losses (or of their group sums), in the base
 * (compensated: the same value however the rows were computed).
 */
function reduceLoss(c: LossCall, losses: Float64Array): number | Float64Array {
  if (c.scale !== 1) for (let r = 0; r < losses.length; r++) losses[r] = losses[r] * c.scale + 0; // (−0 as 0 below base 1)
  if (c.reduction === 'none') return losses;
  const total = fsum(losses);
  if (c.reduction === 'sum') return total;
  return c.denominator !== 0 ? total / c.denominator : 0;
}

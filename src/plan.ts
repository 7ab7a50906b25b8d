// A call, once its arguments are parsed and validated: the kernel calls that compute it
// (stages, in the kernel table's argument order) and what turns their results into the
// value returned (`finish`: scaling to a base, validation against the kernels' row
// statistics, a loss's reduction).  Every public row-wise function is `execute(plan)`;
// the worker pool builds the same plan, splits its stages by rows across threads (every
// row's result is the kernel's on that row alone) and calls the same `finish`, so its
// values are the single call's bit for bit.

import { engineFor } from './backend.js';
import type { KernelName } from './kernels.js';
import { stage } from './js/softmax.js';
import { hasNaN, maxRow } from './js/sum.js';
import { WasmArray } from './memory.js';

export interface Stage {
  kernel: KernelName;
  f32: boolean;
  args: unknown[];
}

export interface Plan<R = unknown> {
  rows: number;
  cols: number;
  /** Elements, and the weight of the small-input cutoff (see `engineFor`). */
  size: number;
  weight: number;
  stages: Stage[];
  finish(): R;
}

/**
 * Plan weights shared by several functions, and by small.ts, which runs a vector's call
 * on the engine its plan would take: each at the length where a row staged by hand
 * (small.ts) passes the twins' loops (docs/performance.md, "Small calls").
 * softmaxKlDivergence, the focal loss and the sigmoid cross-entropy with a gradient take
 * the kernels from 8 entries.
 */
export const ROW_WEIGHT = 0.5;
/**
 * The weighted and signed log-sum-exp's weight: a row of at most 32 entries is one block
 * of their twin's, which small.ts runs as one loop, so float32 rows take the kernel from
 * 24 entries, float64 rows from 40 (every small call's loop).
 */
export const weightedWeight = (f32: boolean): number => (f32 ? 1.5 : 2.5);
/**
 * The weight of the softmax loss with a gradient: float32 rows take the kernel from 8
 * entries, float64 rows from 16; its call, which writes the n entries of the gradient
 * from the room, passes the loop from there.
 */
export const laneWeight = (f32: boolean): number => (f32 ? 0.5 : 1);
/**
 * The probability reductions' weights, written as the entries (float32 rows : float64
 * rows) from which each takes its kernel at the default cut-off of 16: where four lanes of
 * the float32 logarithm, or two of the longer float64 one, pass a loop of `Math.log`
 * calls.  Entropy 8 : 20; the Jensen–Shannon divergence, two logarithms a term in the
 * loop, 8 : 10; KL 11 : 12.
 */
export const entropyWeight = (f32: boolean): number => (f32 ? 8 : 20) / 16;
export const jsWeight = (f32: boolean): number => (f32 ? 8 : 10) / 16;
export const klWeight = (f32: boolean): number => (f32 ? 11 : 12) / 16;
/**
 * The weight of log-sum-exp, softmaxEntropy, the softmax loss and the sigmoid
 * cross-entropy without a gradient: their twins' exponential (js/math.ts) costs a third
 * of `Math.exp`, so float32 rows take the kernels from 12 entries, float64 rows from 20.
 */
export const expWeight = (f32: boolean): number => (f32 ? 0.75 : 1.25);
/** The maps' (softmax, logSoftmax): their twins take a second pass over the row, so float64 rows take the kernels from 16 entries. */
export const mapWeight = (f32: boolean): number => (f32 ? 0.75 : 1);
/** The softmax loss's weight: `expWeight`, and `laneWeight` with a gradient (see there). */
export const lossWeight = (f32: boolean, grad: boolean): number => (grad ? laneWeight(f32) : expWeight(f32));
/** The sigmoid cross-entropy's weight: `expWeight`, and ROW_WEIGHT with a gradient. */
export const sigmoidWeight = (f32: boolean, grad: boolean): number => (grad ? ROW_WEIGHT : expWeight(f32));
/**
 * Cross-entropy's weight: its kernel sets up a reference logarithm per row first, so
 * float32 rows take it from 19 entries, float64 rows from 32.
 */
export const crossEntropyWeight = (f32: boolean): number => (f32 ? 19 : 32) / 16;
/** The joint tables' two passes (mutualInformation, conditionalEntropy). */
export const TABLE_WEIGHT = 6;

/** Runs a plan on the engine its size calls for (the JS twins below the small-input cutoff). */
export function execute<R>(plan: Plan<R>): R {
  const engine = engineFor(plan.size, plan.weight);
  for (const s of plan.stages) engine.run(s.kernel, s.f32, s.args);
  return plan.finish();
}

/** Above this bound on a gradient's entries (FLT_MAX/4) a float32 kernel's may overflow: see `wideGradRows`. */
const WIDE = 8.5e37;

/**
 * A gradient argument's view where a float32 kernel writes it into a Float64Array and
 * `bound()`, a bound on its entries known from the call's options (Infinity where it
 * depends on the data; taken only for such a gradient), does not rule out float32
 * overflow (see `wideGradRows`); else null.  A WasmArray's view is made again: memory may
 * have grown since the call was parsed.
 */
export function wideGrad(f32: boolean, given: unknown, bound: () => number): Float64Array | null {
  if (!f32) return null;
  const g = given instanceof WasmArray ? given.array : given;
  return g instanceof Float64Array && !(bound() <= WIDE) ? g : null;
}

/** `wideGrad`'s bound where the data set it. */
export const UNBOUNDED = (): number => Infinity;

/** An input's elements now (a WasmArray's view made again, as `wideGrad`). */
export const liveData = (given: unknown, data: ArrayLike<number>): ArrayLike<number> => (given instanceof WasmArray ? given.array : data);

/**
 * The float32 kernels form gradients in float32 lanes, so an entry past FLT_MAX — a base
 * near 1 (1/ln base reaches 4.5e15) times a temperature's 1/T, or class weights or soft
 * targets near 1e30 — comes out ±Infinity or NaN, where a Float64Array holds its value.
 * Each row of these gradients with an entry that is not finite, and whose inputs define
 * it (`defined(off)`: a row with a NaN or +Infinity logit, or all −Infinity, is NaN on
 * every path), is formed again by `redo(r, off)`: the twin on that row, in float64, with
 * a float32 call's cut-off for exponentials.  A gradient of finite entries costs one pass.
 */
export function wideGradRows(grads: (Float64Array | null)[], rows: number, cols: number,
  defined: (off: number) => boolean, redo: (r: number, off: number) => void): void {
  const fine = (from: number, to: number): boolean => grads.every((g) => g === null || finite(g, from, to));
  if (fine(0, rows * cols)) return;
  const was = stage.f32;
  stage.f32 = true;
  try {
    for (let r = 0, off = 0; r < rows; r++, off += cols) if (!fine(off, off + cols) && defined(off)) redo(r, off);
  } finally {
    stage.f32 = was;
  }
}

/** Whether a[from … to − 1] are all finite (x·0 is NaN for ±Infinity and NaN; four sums, so no add waits for the last). */
export function finite(a: ArrayLike<number>, from: number, to: number): boolean {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, j = from;
  for (; j + 3 < to; j += 4) {
    s0 += a[j] * 0;
    s1 += a[j + 1] * 0;
    s2 += a[j + 2] * 0;
    s3 += a[j + 3] * 0;
  }
  for (; j < to; j++) s0 += a[j] * 0;
  return s0 + s1 + s2 + s3 === 0;
}

/** Whether logits a[off … off + n − 1] define a softmax: no NaN or +Infinity, not all −Infinity. */
export function definedRow(a: ArrayLike<number>, off: number, n: number): boolean {
  const m = maxRow(a, off, n);
  return m > -Infinity && m < Infinity && !hasNaN(a, off, n);
}

/** A row's result that `redo` computes again and drops (the kernel's is kept). */
export const ROW_SCRATCH = new Float64Array(1);

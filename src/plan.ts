// A call, once its arguments are parsed and validated: the kernel calls that compute it
// (stages, in the kernel table's argument order) and what turns their results into the
// value returned (`finish`: scaling to a base, validation against the kernels' row
// statistics, a loss's reduction).  Every public row-wise function is `execute(plan)`;
// the worker pool builds the same plan, splits its stages by rows across threads (every
// row's result is the kernel's on that row alone) and calls the same `finish`, so its
// values are the single call's bit for bit.

import { engineFor } from './backend.js';
import type { KernelName } from './kernels.js';

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

// What the reductions' API modules share: their per-row result arrays.

import { type Arg, type Shape, describe, output } from './args.js';
import { inModuleMemory, uninitialized } from './memory.js';
import type { FloatArray } from './types.js';

/**
 * The per-row results of a call: the caller's `out` when given (a matrix call's, one
 * float64 per row: a loop over batches of one shape then allocates nothing), else a new
 * array for a matrix (returned to the caller; every row's result is written, so it is not
 * zeroed first), or a one-element scratch for a vector, whose value is returned as a
 * number and which nothing outside the module ever sees.  `out` may not overlap
 * `inputs`; it is refused in module memory, where a call that grows memory would detach
 * it before `finish` scales it.
 */
const ONE = new Float64Array(1);
/** @internal */
export function perRow(s: Shape, fn = '', out?: unknown, inputs: Arg[] = [], grads: Record<string, FloatArray | null> = {}): Float64Array {
  if (out === undefined) return s.matrix ? uninitialized(Float64Array, s.rows) : ONE;
  if (!s.matrix) throw new TypeError(`${fn}: out takes one result per row of a matrix (give cols); a vector's value is returned as a number`);
  if (!(out instanceof Float64Array) || inModuleMemory(out)) {
    const got = out instanceof Float64Array ? 'a view into its WebAssembly memory' : describe(out);
    throw new TypeError(`${fn}: out must be a Float64Array of your own (one float64 result per row), got ${got}`);
  }
  const others = Object.entries(grads).flatMap(([name, g]) => (g ? [{ data: g, dtype: 'f64' as const, length: g.length, name }] : []));
  return output(fn, 'out', out, s.rows, [...inputs, ...others], []) as Float64Array;
}

/**
 * A quantity never negative in nats (an entropy, a mutual information) in the requested
 * base: a rounding below 0 is 0, NaN stays NaN, and the scale comes after the clamp (a
 * base below 1 makes the value negative).
 * @internal
 */
export const nonNegativeInBase = (v: number, scale: number): number => (v > 0 ? v * scale : v !== v ? v : 0);

/**
 * −0 as 0 in losses a kernel or twin wrote already scaled to a base below 1 (a loss of 0
 * times its negative scale), as every other result gives it.  @internal
 */
export function positiveZeros(losses: Float64Array, scale: number): Float64Array {
  if (scale < 0) for (let i = 0; i < losses.length; i++) losses[i] += 0;
  return losses;
}

/** Scales nats to the requested base (−0 becomes 0) and returns a number (vector) or the rows. @internal */
export function scaled(res: Float64Array, scale: number, s: Shape): number | Float64Array {
  for (let r = 0; r < res.length; r++) {
    const v = res[r];
    res[r] = v === 0 ? 0 : v * scale;
  }
  return s.matrix ? res : res[0];
}

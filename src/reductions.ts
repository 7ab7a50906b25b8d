// What the reductions' API modules share: their per-row result arrays.

import type { Shape } from './args.js';
import { uninitialized } from './memory.js';

/**
 * The per-row results of a call: a new array for a matrix (it is returned to the
 * caller; every row's result is written, so it is not zeroed first), a one-element scratch for a vector, whose value is returned as a number and
 * which nothing outside the module ever sees.
 */
const ONE = new Float64Array(1);
/** @internal */
export function perRow(s: Shape): Float64Array {
  return s.matrix ? uninitialized(Float64Array, s.rows) : ONE;
}

/** Scales nats to the requested base (−0 becomes 0) and returns a number (vector) or the rows. @internal */
export function scaled(res: Float64Array, scale: number, s: Shape): number | Float64Array {
  for (let r = 0; r < res.length; r++) {
    const v = res[r];
    res[r] = v === 0 ? 0 : v * scale;
  }
  return s.matrix ? res : res[0];
}

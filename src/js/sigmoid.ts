// JS twins of assembly/sigmoid.ts: the same formulas, element by element in float64
// (expNonPos, Math.log1p), blocks of 32 into a compensated sum, the same row flags and the
// same recomputation of a NaN row; float32 input is read as the numbers it holds.

import { expNonPos } from './math.js';
import { Sum } from './sum.js';

type Vec = ArrayLike<number>;
type Out = { [i: number]: number; readonly length: number };

/** max(0, v), NaN → 0: a product 0·∞ (see assembly/sigmoid.ts). */
const pos = (v: number): number => (v > 0 ? v : 0);

/** Set by the row functions: a target outside [0, 1], or a weight negative, infinite or NaN. */
interface RowState {
  bad: boolean;
}

function bceRow(x: Vec, y: Vec, w: Vec | null, wOff: number, pw: Vec | null, off: number, n: number, eps: number,
  lscale: number, gscale: number, grad: Out | null, losses: Out | null, careful: boolean, sum: Sum, st: RowState): number {
  sum.reset();
  let bad = false;
  const ome = 1 - eps, eps2 = eps * 0.5;
  for (let j = 0; j < n;) {
    let block = 0;
    for (const stop = Math.min(j + 32, n); j < stop; j++) {
      const i = off + j;
      const xv = x[i], yv = y[i];
      const wv = w ? w[wOff + j] : 1;
      if (!(yv >= 0 && yv <= 1) || !(wv >= 0 && wv < Infinity)) bad = true;
      const yy = yv * ome + eps2;
      const cN = 1 - yy, cP = pw ? yy * pw[j] : yy;
      const e = expNonPos(-Math.abs(xv));
      const l = Math.log1p(e);
      const a = xv > 0 ? xv : 0;
      let loss = pos(cP * (a - xv)) + pos(cN * a) + (cP + cN) * l;
      if (w) loss = careful && wv === 0 ? 0 : loss * wv;
      if (xv !== xv) loss = xv;
      if (grad) {
        const small = e / (1 + e), big = 1 - small;
        const sx = xv < 0 ? small : big, smx = xv < 0 ? big : small;
        grad[i] = (cN * sx - cP * smx) * wv * gscale;
      }
      if (losses) losses[i] = loss * lscale;
      block += loss;
    }
    sum.add(block);
  }
  st.bad = bad;
  return sum.value();
}

/** Twin of `sigmoidCrossEntropyRowsF32/F64` (kernels.ts: x, y, rows, cols, w, wElem, pw, eps, lscale, gscale, grad, res, losses). */
export function sigmoidCrossEntropyRows(x: Vec, y: Vec, rows: number, cols: number, w: Vec | null, wElem: number, pw: Vec | null,
  eps: number, lscale: number, gscale: number, grad: Out | null, res: Float64Array, losses: Out | null, _tmp?: unknown): void {
  const sum = new Sum(), st: RowState = { bad: false };
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const wOff = w && wElem ? off : 0;
    let total = bceRow(x, y, w, wOff, pw, off, cols, eps, lscale, gscale, grad, losses, false, sum, st);
    if (w && total !== total) total = bceRow(x, y, w, wOff, pw, off, cols, eps, lscale, gscale, grad, losses, true, sum, st);
    res[r] = st.bad ? NaN : total * lscale;
  }
}

function focalRow(x: Vec, y: Vec, off: number, n: number, alpha: number, gamma: number, lscale: number, gscale: number,
  grad: Out | null, losses: Out | null, careful: boolean, sum: Sum, st: RowState): number {
  sum.reset();
  let bad = false;
  for (let j = 0; j < n;) {
    let block = 0;
    for (const stop = Math.min(j + 32, n); j < stop; j++) {
      const i = off + j;
      const xv = x[i], yv = y[i];
      if (!(yv >= 0 && yv <= 1)) bad = true;
      const cN = 1 - yv;
      const e = expNonPos(-Math.abs(xv));
      const l = Math.log1p(e);
      const a = xv > 0 ? xv : 0;
      const ce = pos(yv * (a - xv)) + pos(cN * a) + l;
      const small = e / (1 + e), big = 1 - small;
      const sx = xv < 0 ? small : big, smx = xv < 0 ? big : small;
      const q = cN * sx + yv * smx; // 1 − p_t
      const qg = gamma === 2 ? q * q : gamma === 1 ? q : gamma === 0 ? 1 : q ** gamma;
      const at = alpha < 0 ? 1 : yv * alpha + (1 - alpha) * cN;
      let loss = at * ce * qg;
      if (careful && (at === 0 || qg === 0)) loss = 0;
      if (xv !== xv) loss = xv;
      if (grad) {
        let g = (cN * sx - yv * smx) * qg;
        if (gamma !== 0) {
          const ss = sx * smx;
          const t = gamma === 2 ? q * ss : gamma === 1 ? ss : (qg * ss) / q;
          g += gamma * (cN - yv) * pos(ce * t);
        }
        grad[i] = g * at * gscale;
      }
      if (losses) losses[i] = loss * lscale;
      block += loss;
    }
    sum.add(block);
  }
  st.bad = bad;
  return sum.value();
}

/** Twin of `sigmoidFocalLossRowsF32/F64` (x, y, rows, cols, alpha, gamma, lscale, gscale, grad, res, losses). */
export function sigmoidFocalLossRows(x: Vec, y: Vec, rows: number, cols: number, alpha: number, gamma: number,
  lscale: number, gscale: number, grad: Out | null, res: Float64Array, losses: Out | null, _tmp?: unknown): void {
  const sum = new Sum(), st: RowState = { bad: false };
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    let total = focalRow(x, y, off, cols, alpha, gamma, lscale, gscale, grad, losses, false, sum, st);
    if (total !== total) total = focalRow(x, y, off, cols, alpha, gamma, lscale, gscale, grad, losses, true, sum, st);
    res[r] = st.bad ? NaN : total * lscale;
  }
}

// JS twins of assembly/softmax.ts: every row relative to its maximum (or to 0 when the
// maximum is not finite), the same passes, the same special rows.

import { maxRow } from './reduce.js';

type Vec = ArrayLike<number>;
type Out = { [i: number]: number; readonly length: number };

const shiftOf = (m: number): number => (Number.isFinite(m) ? m : 0);

/** Σ exp((x − shift)·invT) over x[off, off + n); stores each exp to dst when given. */
export function expSum(x: Vec, off: number, n: number, shift: number, invT: number, dst: Out | null): number {
  let s = 0;
  for (let i = off, end = off + n; i < end; i++) {
    const e = Math.exp((x[i] - shift) * invT);
    if (dst) dst[i] = e;
    s += e;
  }
  return s;
}

export function logSumExpRows(x: Vec, rows: number, cols: number, out: Float64Array): void {
  for (let r = 0; r < rows; r++) {
    const m = shiftOf(maxRow(x, r * cols, cols));
    out[r] = m + Math.log(expSum(x, r * cols, cols, m, 1, null));
  }
}

export function softmaxRows(x: Vec, rows: number, cols: number, invT: number, out: Out): void {
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const m = shiftOf(maxRow(x, off, cols));
    const s = expSum(x, off, cols, m, invT, out);
    if (s === Infinity) {
      for (let i = off; i < off + cols; i++) out[i] = NaN;
    } else if (s !== 0) {
      const c = 1 / s;
      for (let i = off; i < off + cols; i++) out[i] *= c;
    }
  }
}

export function logSoftmaxRows(x: Vec, rows: number, cols: number, invT: number, out: Out): void {
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const m = shiftOf(maxRow(x, off, cols));
    const s = expSum(x, off, cols, m, invT, null);
    if (s === 0 || s === Infinity) {
      const fill = s === 0 ? -Infinity : NaN;
      for (let i = off; i < off + cols; i++) out[i] = fill;
      continue;
    }
    const ls = Math.log(s);
    for (let i = off; i < off + cols; i++) out[i] = (x[i] - m) * invT - ls;
  }
}

/** H(softmax(x/T)) = log S − (1/S)·Σ e·t per row; 0 for a fully masked row. */
export function softmaxEntropyRows(x: Vec, rows: number, cols: number, invT: number, out: Float64Array): void {
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const m = shiftOf(maxRow(x, off, cols));
    let s = 0, a = 0;
    for (let i = off; i < off + cols; i++) {
      const t = (x[i] - m) * invT;
      const e = Math.exp(t);
      s += e;
      if (e !== 0) a += e * t;
    }
    out[r] = s === 0 ? 0 : Math.log(s) - a / s;
  }
}

function klFromSums(sa: number, sb: number, acc: number): number {
  if (sa === 0) return 0;
  if (sb === 0 && sa === sa && acc === acc) return Infinity;
  return acc / sa + Math.log(sb / sa);
}

/** D(softmax(a/T) ‖ softmax(b/T)) = (1/SA)·Σ ea·(ta − tb) + log(SB/SA) per row. */
export function softmaxKlDivergenceRows(xa: Vec, xb: Vec, rows: number, cols: number, invT: number, out: Float64Array): void {
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const ma = shiftOf(maxRow(xa, off, cols));
    const mb = shiftOf(maxRow(xb, off, cols));
    let sa = 0, sb = 0, acc = 0;
    for (let i = off; i < off + cols; i++) {
      const ta = (xa[i] - ma) * invT;
      const tb = (xb[i] - mb) * invT;
      const ea = Math.exp(ta);
      sa += ea;
      sb += Math.exp(tb);
      if (ea !== 0) acc += ea * (ta - tb);
    }
    out[r] = klFromSums(sa, sb, acc);
  }
}

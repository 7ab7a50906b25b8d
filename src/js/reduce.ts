// JS twins of assembly/reduce.ts: the same passes and formulas, one float64 loop each.
// Where the kernels have a float32 and a float64 variant, the twin is the float64 one
// (float32 input is read as the numbers it holds); `totals` null means 1 for every row.

import { logRatio, logMix } from './math.js';

type Vec = ArrayLike<number>;

const DBL_MIN = 2.2250738585072014e-308;

/** log(q/Tq) for cross-entropy (see assembly/reduce.ts: `ceLogF64`). */
function ceLog(vq: number, scq: number, Tq: number, Tq0: number): number {
  const uq = vq * scq;
  return uq < DBL_MIN && vq > 0 ? Math.log(vq) - Math.log(Tq0) : logRatio(uq, Tq);
}

/** One term (p/Tp)·log(q/Tq), p ≠ 0 (see assembly/reduce.ts: `ceTermF64`). */
function ceTerm(vp: number, vq: number, scp: number, invTp: number, scq: number, Tq: number, Tq0: number): number {
  const up = vp * scp;
  if (up === 0) return vq === 0 ? -Infinity : 0;
  return up * invTp * ceLog(vq, scq, Tq, Tq0);
}

/** log((p/Tp)/(q/Tq)) for KL (see assembly/reduce.ts: `klLogF64`). */
function klLog(vp: number, vq: number, scp: number, scq: number, Tp: number, Tq: number, Tp0: number, Tq0: number): number {
  const up = vp * scp, uq = vq * scq + 0;
  if (uq < DBL_MIN && vq > 0) return Math.log(vp) - Math.log(Tp0) - (Math.log(vq) - Math.log(Tq0));
  return logRatio(up * Tq, uq * Tp);
}

/** One KL term, p ≠ 0 (see assembly/reduce.ts: `klTermF64`). */
function klTerm(vp: number, vq: number, scp: number, invTp: number, scq: number, Tp: number, Tq: number, Tp0: number, Tq0: number): number {
  const up = vp * scp;
  if (up === 0) return vq === 0 ? Infinity : 0;
  return up * invTp * klLog(vp, vq, scp, scq, Tp, Tq, Tp0, Tq0);
}

/**
 * A power of two s with T·s near 1 (s within [2^-1023, 2^1023]; 1 for a non-finite T):
 * rows are scaled by it, exactly, before 1/T or products with the other total.
 */
export function pow2Scale(T: number): number {
  if (!Number.isFinite(T)) return 1;
  return Math.min(2 ** 1023, Math.max(2 ** -1023, 2 ** -Math.floor(Math.log2(T))));
}

/** Largest entry of x[off, off + n), ignoring NaN; −Infinity when empty. */
export function maxRow(x: Vec, off: number, n: number): number {
  let m = -Infinity;
  for (let i = off, end = off + n; i < end; i++) {
    const v = x[i];
    if (v > m) m = v;
  }
  return m;
}

/** sums[r] = Σ x[r, :], compensated (see assembly/reduce.ts: `sumRowsF64`); returns the smallest entry. */
export function sumRows(x: Vec, rows: number, cols: number, sums: Float64Array, at = 0): number {
  let lo = Infinity;
  for (let r = 0; r < rows; r++) {
    let s = 0, c = 0;
    for (let i = r * cols, end = i + cols; i < end; i++) {
      const v = x[i];
      const t = s + v;
      const bp = t - s;
      c += s - (t - bp) + (v - bp);
      s = t;
      if (v < lo) lo = v;
    }
    sums[at + r] = Number.isFinite(s) ? s + c : s;
  }
  return lo;
}

/** out[r] = H(p[r]/T[r]) in nats; sums[r] = Σ p[r]; returns min p. */
export function entropyRows(p: Vec, rows: number, cols: number, totals: Float64Array | null, out: Float64Array, sums: Float64Array): number {
  let lo = Infinity;
  for (let r = 0; r < rows; r++) {
    const sc = totals ? pow2Scale(totals[r]) : 1;
    const T = totals ? totals[r] * sc : 1;
    const invT = 1 / T;
    let h = 0, s = 0;
    for (let i = r * cols, end = i + cols; i < end; i++) {
      const v = p[i];
      const u = v * sc;
      if (u !== 0) h += totals ? u * invT * logRatio(u, T) : v * Math.log(v);
      s += v;
      if (v < lo) lo = v;
    }
    out[r] = -h;
    sums[r] = s;
  }
  return lo;
}

/** out[r] = H(p/Tp, q/Tq) in nats; sums[r] = Σ p, sums[rows + r] = Σ q; returns min(p, q). */
export function crossEntropyRows(p: Vec, q: Vec, rows: number, cols: number, totals: Float64Array | null, out: Float64Array, sums: Float64Array): number {
  let lo = Infinity;
  for (let r = 0; r < rows; r++) {
    const Tp0 = totals ? totals[r] : 1, Tq0 = totals ? totals[rows + r] : 1;
    const scp = totals ? pow2Scale(Tp0) : 1, scq = totals ? pow2Scale(Tq0) : 1;
    const Tp = Tp0 * scp, Tq = Tq0 * scq;
    const invTp = 1 / Tp;
    let h = 0, sp = 0, sq = 0;
    for (let i = r * cols, end = i + cols; i < end; i++) {
      const vp = p[i], vq = q[i];
      // without totals, log(q/1) is log q (the kernels' logRatio(q, 1) is log1p(q − 1) near 1: the same to an ulp)
      if (vp !== 0) h += totals ? ceTerm(vp, vq, scp, invTp, scq, Tq, Tq0) : vp * Math.log(vq);
      sp += vp;
      sq += vq;
      if (vp < lo) lo = vp;
      if (vq < lo) lo = vq;
    }
    out[r] = -h;
    sums[r] = sp;
    sums[rows + r] = sq;
  }
  return lo;
}

/** out[r] = D(p/Tp ‖ q/Tq) in nats, each term p·log(p/q) from the ratio. */
export function klDivergenceRows(p: Vec, q: Vec, rows: number, cols: number, totals: Float64Array | null, out: Float64Array, sums: Float64Array): number {
  let lo = Infinity;
  for (let r = 0; r < rows; r++) {
    const Tp0 = totals ? totals[r] : 1, Tq0 = totals ? totals[rows + r] : 1;
    const scp = totals ? pow2Scale(Tp0) : 1, scq = totals ? pow2Scale(Tq0) : 1;
    const Tp = Tp0 * scp, Tq = Tq0 * scq;
    const invTp = 1 / Tp;
    let d = 0, sp = 0, sq = 0;
    for (let i = r * cols, end = i + cols; i < end; i++) {
      const vp = p[i], vq = q[i];
      if (vp !== 0) d += totals ? klTerm(vp, vq, scp, invTp, scq, Tp, Tq, Tp0, Tq0) : vp * logRatio(vp, vq + 0);
      sp += vp;
      sq += vq;
      if (vp < lo) lo = vp;
      if (vq < lo) lo = vq;
    }
    out[r] = d;
    sums[r] = sp;
    sums[rows + r] = sq;
  }
  return lo;
}

/** out[r] = JS(p/Tp, q/Tq) in nats: ½Σ p·log(p/m) + ½Σ q·log(q/m), m = (p + q)/2. */
export function jsDivergenceRows(p: Vec, q: Vec, rows: number, cols: number, totals: Float64Array | null, out: Float64Array, sums: Float64Array): number {
  let lo = Infinity;
  for (let r = 0; r < rows; r++) {
    const scp = totals ? pow2Scale(totals[r]) : 1, scq = totals ? pow2Scale(totals[rows + r]) : 1;
    const Tp = totals ? totals[r] * scp : 1;
    const Tq = totals ? totals[rows + r] * scq : 1;
    const invTp = 1 / Tp, invTq = 1 / Tq;
    let d = 0, sp = 0, sq = 0;
    for (let i = r * cols, end = i + cols; i < end; i++) {
      const vp = p[i], vq = q[i];
      const up = vp * scp, uq = vq * scq;
      const a = up * Tq, b = uq * Tp;
      // an entry its row's scaling underflows contributes below 1e-300: dropped, not 0·log 0
      if (up !== 0) d += up * invTp * logMix(a, b);
      if (uq !== 0) d += uq * invTq * logMix(b, a);
      sp += vp;
      sq += vq;
      if (vp < lo) lo = vp;
      if (vq < lo) lo = vq;
    }
    out[r] = d * 0.5;
    sums[r] = sp;
    sums[rows + r] = sq;
  }
  return lo;
}

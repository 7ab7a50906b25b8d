// Scalar twins of the ratio logs in assembly/math.ts.  JavaScript's Math.log and
// Math.log1p are float64 functions of < 1 ulp, so the twin of every kernel computes in
// float64, float32 input included.

const SQRT1_2 = 0.7071067811865476;
const SQRT2 = 1.4142135623730951;

/** log(a/b) with relative accuracy when a ≈ b: log1p of the exact difference there. */
export function logRatio(a: number, b: number): number {
  const r = a / b;
  if (r >= SQRT1_2 && r < SQRT2) return Math.log1p((a - b) / b);
  // a/b overflows only when b is subnormal: take the logs apart then.
  return r === Infinity && b > 0 ? Math.log(a) - Math.log(b) : Math.log(r);
}

/** log(a/m) with m = (a + b)/2, from (a − b)/(a + b) when the ratio is near 1. */
export function logMix(a: number, b: number): number {
  const s = a + b;
  const r = (a + a) / s;
  return r >= SQRT1_2 && r < SQRT2 ? Math.log1p((a - b) / s) : Math.log(r);
}

/** Dekker's splitting (2^27 + 1): the high half of a, so products of halves are exact. */
function splitHi(a: number): number {
  const c = 134217729 * a;
  return c - (c - a);
}

/**
 * exp((x − m)/T) for x ≤ m.  Where x − m ≥ −200·T, exp(d/T) of the rounded d = x − m,
 * as the float64 kernel's fast path (at most 200·2^-53 ≈ 2.2e-14 relative; for float32
 * input d is exact).  Beyond, the argument is never rounded as a whole: x − m = d + e
 * exactly (TwoSum), t = d/T, and its residual (d − t·T + e)/T with t·T split exactly
 * (Dekker), so exp = exp(t)·(1 + residual).  As `expShiftedF64` in assembly/math.ts.
 */
export function expShifted(x: number, m: number, T: number): number {
  const d = x - m;
  if (d >= -200 * T) return T === 1 ? Math.exp(d) : Math.exp(d / T);
  if (d < -746 * T) return 0;
  const xc = x;
  const bb = d - xc;
  const e = xc - (d - bb) - (m + bb);
  if (T === 1) return Math.exp(d) * (1 + e);
  const t = d / T;
  const p = t * T;
  const th = splitHi(t), tl = t - th, Th = splitHi(T), Tl = T - Th;
  const pe = th * Th - p + th * Tl + tl * Th + tl * Tl;
  return Math.exp(t) * (1 + (d - p - pe + e) / T);
}

/** log S for S = ones + rest, with log1p when a single maximal entry makes S ≈ 1. */
export function logOnesPlus(ones: number, rest: number): number {
  return ones === 1 ? Math.log1p(rest) : Math.log(ones + rest);
}

// Scalar twins of the ratio logs in assembly/math.ts.  JavaScript's Math.log and
// Math.log1p are float64 functions of < 1 ulp, so the twin of every kernel computes in
// float64, float32 input included.

const SQRT1_2 = 0.7071067811865476;
const SQRT2 = 1.4142135623730951;

/** log(a/b) with relative accuracy when a ≈ b: log1p of the exact difference there. */
export function logRatio(a: number, b: number): number {
  const r = a / b;
  return r >= SQRT1_2 && r < SQRT2 ? Math.log1p((a - b) / b) : Math.log(r);
}

/** log(a/m) with m = (a + b)/2, from (a − b)/(a + b) when the ratio is near 1. */
export function logMix(a: number, b: number): number {
  const s = a + b;
  const r = (a + a) / s;
  return r >= SQRT1_2 && r < SQRT2 ? Math.log1p((a - b) / s) : Math.log(r);
}

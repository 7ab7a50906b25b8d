// Vectorised exp and log: the only transcendental code in the kernels.
//
// WebAssembly SIMD has no exp or log instruction, so each is built here from an
// integer-domain range reduction and a polynomial, without FMA (relaxed SIMD is off by
// default in Node 20 and in some browsers).  The polynomial coefficients are
// near-minimax fits printed by `scripts/fit-poly.py`; the worst errors below were
// measured by `scripts/ulp-error.mjs` against a float64 reference (float32, every
// float in the range) or an exact double-double one (float64, 2^24 random arguments).
//
// Scalar tails and the scalar build use the AssemblyScript standard library
// (`Math`, `Mathf`: musl ports, < 1 ulp), which also serves the rare special lanes
// (zero, subnormal, negative, infinite, NaN) that the vector log hands over.

// ---------------------------------------------------------------------------------
// float32
// ---------------------------------------------------------------------------------

// Literals inside a cast take the cast's type in AssemblyScript (<f32>(0.69… * T)
// rounds 0.69… to float32 first), so float64 constants are always named and typed.
const LN2: f64 = 0.6931471805599453;

// Adding 1.5·2^23 rounds to an integer and leaves it in the low mantissa bits.
const F32_MAGIC: f32 = 12582912.0; // 0x4b400000
const F32_LN2_HI: f32 = 0.693359375; // 0x3f318000, for log's k·ln2
const F32_LN2_LO: f32 = -2.12194440e-4; // 0xb95e8083

// exp(r) ≈ 1 + r + r²·P4(r) on [−ln2/2, ln2/2]; polynomial error 3.1e-9 (0.05 ulp).
const E32_0: f32 = 0.499999934514726261436;
const E32_1: f32 = 0.166665206875631069527;
const E32_2: f32 = 0.0416683874085470014635;
const E32_3: f32 = 0.00836871003530827074193;
const E32_4: f32 = 0.00138146110010650886717;

/**
 * Per-call constants of `expShiftedF32x4` for a temperature T: ln 2·T split as
 * c1 + c2 with c1 of 16 significant bits, so n·c1 is exact for the |n| ≤ 151 that
 * float32 needs.  (ln 2·T is formed in float64, ample for float32.)
 */
export function expSplitHiF32(T: f64): f32 {
  const ln2T: f64 = LN2 * T;
  return reinterpret<f32>(reinterpret<u32>(<f32>ln2T) & 0xffffff00);
}
export function expSplitLoF32(T: f64): f32 {
  const ln2T: f64 = LN2 * T;
  return <f32>(ln2T - <f64>expSplitHiF32(T));
}

/**
 * exp((x − m)/T) in four float32 lanes, for the x ≤ m of a softmax row.
 *
 * The argument is never rounded as a whole: x − m is carried exactly as d + e
 * (TwoSum), n = round(d·log₂e/T), and r = ((d − n·c1) − n·c2 + e)/T, where c1 + c2 =
 * ln 2·T (`expSplitHiF32/LoF32`) and d − n·c1 is exact (Sterbenz).  So the result is
 * exp of the exact argument to within the polynomial's rounding, however far x lies
 * below m — a rounded (x − m)/T would cost |x − m|/T half-ulps, 3e-6 at a spread of 50.
 * exp(r) is 1 + r + r²·P4(r), scaled by 2^(n>>1)·2^(n−(n>>1)) so that subnormal
 * results come out right.
 *
 * Worst error, every float32 x in [−103, 0] with m = 0, T = 1: 1.0 ulp (normal
 * results); random (x, m, T) against mpmath: 1.1 ulp.  Lanes with x − m below
 * `nspan` = −104·T, −Infinity included, are exactly 0 (their result underflows; the
 * test is on x − m, since m − 104·T may round to m); NaN passes through.
 * `k` = log₂e/T.
 */
// @ts-ignore: decorator
@inline export function expShiftedF32x4(x: v128, m: v128, nspan: v128, k: v128, c1: v128, c2: v128, invT: v128): v128 {
  const d0 = f32x4.sub(x, m);
  const under = f32x4.lt(d0, nspan);
  const xc = v128.bitselect(m, x, under);
  const d = v128.andnot(d0, under);
  const bb = f32x4.sub(d, xc);
  const e = f32x4.sub(f32x4.sub(xc, f32x4.sub(d, bb)), f32x4.add(m, bb));
  const z = f32x4.add(f32x4.mul(d, k), f32x4.splat(F32_MAGIC));
  const n = i32x4.sub(z, i32x4.splat(0x4b400000));
  const nf = f32x4.sub(z, f32x4.splat(F32_MAGIC));
  let r = f32x4.sub(f32x4.sub(d, f32x4.mul(nf, c1)), f32x4.mul(nf, c2));
  r = f32x4.mul(f32x4.add(r, e), invT);
  let p = f32x4.add(f32x4.mul(f32x4.splat(E32_4), r), f32x4.splat(E32_3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(E32_2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(E32_1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(E32_0));
  p = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), f32x4.splat(1.0));
  const n1 = i32x4.shr_s(n, 1);
  const s1 = i32x4.shl(i32x4.add(n1, i32x4.splat(127)), 23);
  const s2 = i32x4.shl(i32x4.add(i32x4.sub(n, n1), i32x4.splat(127)), 23);
  return v128.andnot(f32x4.mul(f32x4.mul(p, s1), s2), under);
}

// log(1+f) ≈ f − f²/2 + f³·P7(f) on [√½−1, √2−1]; polynomial error 5.8e-9 (0.1 ulp).
const L32_0: f32 = 0.333333317096948707832;
const L32_1: f32 = -0.250008210562149491678;
const L32_2: f32 = 0.200012266674600280314;
const L32_3: f32 = -0.166233564793838915407;
const L32_4: f32 = 0.14201762467034402847;
const L32_5: f32 = -0.131601950530747843733;
const L32_6: f32 = 0.127615503601545910027;
const L32_7: f32 = -0.0763442990732474053566;

/**
 * log(r) in four float32 lanes, where `fNear` is an accurate value of r − 1 for the
 * lanes whose r lies in [√½, √2).
 *
 * The reduction is done on the bits: adding 0x3f800000 − 0x3f3504f3 moves the
 * exponent boundary to √½, so r = 2ᵏ·m with m ∈ [√½, √2) and no float operation.
 * Where k = 0 the polynomial's argument is `fNear` instead of m − 1: a caller that
 * forms r as a quotient a/b passes (a − b)/b, whose numerator is exact (Sterbenz),
 * and so keeps relative accuracy in log(a/b) when a ≈ b — the rounding of a/b
 * itself would cost an absolute 2^-24, which is most of a small log.
 *
 * Worst error, r = every positive normal float32 with fNear = r − 1: 1.0 ulp.
 * Lanes that are zero, subnormal, negative, infinite or NaN are recomputed by the
 * scalar `Mathf.log` (log 0 = −Infinity, log of a negative = NaN).
 */
// @ts-ignore: decorator
@inline export function logRatioF32x4(r: v128, fNear: v128): v128 {
  const ix = i32x4.add(r, i32x4.splat(0x004afb0d));
  const k = i32x4.sub(i32x4.shr_s(ix, 23), i32x4.splat(127));
  const m = i32x4.add(v128.and(ix, i32x4.splat(0x007fffff)), i32x4.splat(0x3f3504f3));
  const f = v128.bitselect(fNear, f32x4.sub(m, f32x4.splat(1.0)), i32x4.eq(k, i32x4.splat(0)));
  const kf = f32x4.convert_i32x4_s(k);
  const f2 = f32x4.mul(f, f);
  let p = f32x4.add(f32x4.mul(f32x4.splat(L32_7), f), f32x4.splat(L32_6));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(L32_5));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(L32_4));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(L32_3));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(L32_2));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(L32_1));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(L32_0));
  // Small terms first, k·ln2 last: (k·LN2_LO + f³P − f²/2 + f) + k·LN2_HI.
  let y = f32x4.add(f32x4.mul(f32x4.mul(p, f), f2), f32x4.mul(kf, f32x4.splat(F32_LN2_LO)));
  y = f32x4.sub(y, f32x4.mul(f2, f32x4.splat(0.5)));
  y = f32x4.add(f32x4.add(y, f), f32x4.mul(kf, f32x4.splat(F32_LN2_HI)));
  const normal = v128.and(f32x4.ge(r, f32x4.splat(1.17549435e-38)), f32x4.le(r, f32x4.splat(3.40282347e38)));
  return i32x4.all_true(normal) ? y : logSpecialF32x4(r, y);
}

/** log(x) in four float32 lanes; see `logRatioF32x4` for the error bound. */
// @ts-ignore: decorator
@inline export function logF32x4(x: v128): v128 {
  return logRatioF32x4(x, f32x4.sub(x, f32x4.splat(1.0)));
}

function logSpecialF32x4(r: v128, y: v128): v128 {
  const lo: f32 = 1.17549435e-38;
  const hi: f32 = 3.40282347e38;
  let x = f32x4.extract_lane(r, 0);
  if (!(x >= lo && x <= hi)) y = f32x4.replace_lane(y, 0, Mathf.log(x));
  x = f32x4.extract_lane(r, 1);
  if (!(x >= lo && x <= hi)) y = f32x4.replace_lane(y, 1, Mathf.log(x));
  x = f32x4.extract_lane(r, 2);
  if (!(x >= lo && x <= hi)) y = f32x4.replace_lane(y, 2, Mathf.log(x));
  x = f32x4.extract_lane(r, 3);
  if (!(x >= lo && x <= hi)) y = f32x4.replace_lane(y, 3, Mathf.log(x));
  return y;
}

// ---------------------------------------------------------------------------------
// float64
// ---------------------------------------------------------------------------------

// fdlibm's split of ln 2 (LN2_HI has 32 significant bits), for log's k·ln2.
const F64_LN2_HI: f64 = 6.93147180369123816490e-01; // 0x3fe62e42fee00000
const F64_LN2_LO: f64 = 1.90821492927058770002e-10; // 0x3dea39ef35793c76
const F64_MAGIC: f64 = 6755399441055744.0; // 1.5·2^52, 0x4338000000000000

// exp(r) ≈ 1 + r + r²·P9(r) on [−ln2/2, ln2/2]; polynomial error 3.6e-18 (0.03 ulp).
const E64_0: f64 = 0.500000000000001061759;
const E64_1: f64 = 0.16666666666666412764;
const E64_2: f64 = 0.041666666666530259178;
const E64_3: f64 = 0.00833333333349433599217;
const E64_4: f64 = 0.00138888889435993787155;
const E64_5: f64 = 0.000198412695067794017555;
const E64_6: f64 = 0.0000248014931345522717146;
const E64_7: f64 = 0.00000275575862629116872665;
const E64_8: f64 = 2.76302344676451772572e-7;
const E64_9: f64 = 2.50000742362807986225e-8;

// Dekker's splitting (2^27 + 1): a = splitHi(a) + (a − splitHi(a)), each half of 26 bits,
// so that products of halves are exact and a·b's rounding error can be recovered without FMA.
// @ts-ignore: decorator
@inline export function splitHi(a: f64): f64 {
  const c = 134217729.0 * a; // 2^27 + 1
  return c - (c - a);
}

/**
 * Per-call constants of `expShiftedF64x2`: ln 2·T as c1 + c2, c1 of 42 significant
 * bits (n·c1 exact for |n| ≤ 1076).  ln 2·T is formed as a double-double (Dekker's
 * product of fdlibm's two-part ln 2), since its float64 rounding alone would cost
 * |n| half-ulps.
 */
export function expSplitHiF64(T: f64): f64 {
  return reinterpret<f64>(reinterpret<u64>(F64_LN2_HI * T) & 0xfffffffffffff800);
}
export function expSplitLoF64(T: f64): f64 {
  const a = F64_LN2_HI;
  const p = a * T;
  const ah = splitHi(a), al = a - ah, th = splitHi(T), tl = T - th;
  const pe = ((ah * th - p) + ah * tl + al * th) + al * tl;
  return (p - expSplitHiF64(T)) + (pe + F64_LN2_LO * T);
}

/**
 * exp((x − m)/T) in two float64 lanes, for the x ≤ m of a softmax row: the float64
 * twin of `expShiftedF32x4` (exact difference, split ln 2·T), with c1, c2 from
 * `expSplitHiF64/LoF64`, `nspan` = −746·T and `k` = log₂e/T.
 *
 * Worst error over 2^24 random (x, m, T) against mpmath: 1.0 ulp (normal results).
 */
// @ts-ignore: decorator
@inline export function expShiftedF64x2(x: v128, m: v128, nspan: v128, k: v128, c1: v128, c2: v128, invT: v128): v128 {
  const d0 = f64x2.sub(x, m);
  const under = f64x2.lt(d0, nspan);
  const xc = v128.bitselect(m, x, under);
  const d = v128.andnot(d0, under);
  const bb = f64x2.sub(d, xc);
  const e = f64x2.sub(f64x2.sub(xc, f64x2.sub(d, bb)), f64x2.add(m, bb));
  const z = f64x2.add(f64x2.mul(d, k), f64x2.splat(F64_MAGIC));
  const n = i64x2.sub(z, i64x2.splat(0x4338000000000000));
  const nf = f64x2.sub(z, f64x2.splat(F64_MAGIC));
  let r = f64x2.sub(f64x2.sub(d, f64x2.mul(nf, c1)), f64x2.mul(nf, c2));
  r = f64x2.mul(f64x2.add(r, e), invT);
  let p = f64x2.add(f64x2.mul(f64x2.splat(E64_9), r), f64x2.splat(E64_8));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(E64_7));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(E64_6));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(E64_5));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(E64_4));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(E64_3));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(E64_2));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(E64_1));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(E64_0));
  p = f64x2.add(f64x2.add(f64x2.mul(p, f64x2.mul(r, r)), r), f64x2.splat(1.0));
  const n1 = i64x2.shr_s(n, 1);
  const s1 = i64x2.shl(i64x2.add(n1, i64x2.splat(1023)), 52);
  const s2 = i64x2.shl(i64x2.add(i64x2.sub(n, n1), i64x2.splat(1023)), 52);
  return v128.andnot(f64x2.mul(f64x2.mul(p, s1), s2), under);
}

// fdlibm e_log.c: log(1+f) = 2s + s·R(s²), s = f/(2+f), |R − (2/3·z + 2/5·z² + …)| < 2^-62.
const LG1: f64 = 6.666666666666735130e-01;
const LG2: f64 = 3.999999999940941908e-01;
const LG3: f64 = 2.857142874366239149e-01;
const LG4: f64 = 2.222219843214978396e-01;
const LG5: f64 = 1.818357216161805012e-01;
const LG6: f64 = 1.531383769920937332e-01;
const LG7: f64 = 1.479819860511658591e-01;

/**
 * log(r) in two float64 lanes, where for lanes with r ∈ [√½, √2) the argument of the
 * series, s = (r − 1)/(r + 1), is taken as `numNear / denNear` instead — a caller
 * forming r = a/b passes a − b and a + b, exact or nearly so, and keeps relative
 * accuracy in log(a/b) when a ≈ b.
 *
 * Worst error over 2^24 random positive normal r with numNear = r − 1, denNear =
 * r + 1: 1.4 ulp.  Lanes that are zero, subnormal, negative, infinite or NaN are
 * recomputed by the scalar `Math.log`.
 */
// @ts-ignore: decorator
@inline export function logRatioF64x2(r: v128, numNear: v128, denNear: v128): v128 {
  const ix = i64x2.add(r, i64x2.splat(0x00095f6200000000));
  const k = i64x2.sub(i64x2.shr_s(ix, 52), i64x2.splat(1023));
  const m = i64x2.add(v128.and(ix, i64x2.splat(0x000fffffffffffff)), i64x2.splat(0x3fe6a09e00000000));
  const near = i64x2.eq(k, i64x2.splat(0));
  const num = v128.bitselect(numNear, f64x2.sub(m, f64x2.splat(1.0)), near);
  const den = v128.bitselect(denNear, f64x2.add(m, f64x2.splat(1.0)), near);
  const s = f64x2.div(num, den);
  const z = f64x2.mul(s, s);
  const w = f64x2.mul(z, z);
  const t1 = f64x2.mul(w, f64x2.add(f64x2.splat(LG2), f64x2.mul(w, f64x2.add(f64x2.splat(LG4), f64x2.mul(w, f64x2.splat(LG6))))));
  const t2 = f64x2.mul(z, f64x2.add(f64x2.splat(LG1), f64x2.mul(w, f64x2.add(f64x2.splat(LG3),
    f64x2.mul(w, f64x2.add(f64x2.splat(LG5), f64x2.mul(w, f64x2.splat(LG7))))))));
  const kf = f64x2.convert_low_i32x4_s(i32x4.shuffle(k, k, 0, 2, 0, 2));
  // 2s + s·R + k·ln2, small terms first.
  let y = f64x2.add(f64x2.mul(s, f64x2.add(t1, t2)), f64x2.mul(kf, f64x2.splat(F64_LN2_LO)));
  y = f64x2.add(f64x2.add(y, f64x2.add(s, s)), f64x2.mul(kf, f64x2.splat(F64_LN2_HI)));
  const normal = v128.and(f64x2.ge(r, f64x2.splat(2.2250738585072014e-308)), f64x2.le(r, f64x2.splat(1.7976931348623157e308)));
  return i64x2.all_true(normal) ? y : logSpecialF64x2(r, y);
}

/** log(x) in two float64 lanes; see `logRatioF64x2` for the error bound. */
// @ts-ignore: decorator
@inline export function logF64x2(x: v128): v128 {
  return logRatioF64x2(x, f64x2.sub(x, f64x2.splat(1.0)), f64x2.add(x, f64x2.splat(1.0)));
}

function logSpecialF64x2(r: v128, y: v128): v128 {
  const lo: f64 = 2.2250738585072014e-308;
  const hi: f64 = 1.7976931348623157e308;
  let x = f64x2.extract_lane(r, 0);
  if (!(x >= lo && x <= hi)) y = f64x2.replace_lane(y, 0, Math.log(x));
  x = f64x2.extract_lane(r, 1);
  if (!(x >= lo && x <= hi)) y = f64x2.replace_lane(y, 1, Math.log(x));
  return y;
}

// ---------------------------------------------------------------------------------
// Scalar twins, for the tails and the scalar build.
// ---------------------------------------------------------------------------------

/**
 * exp((x − m)/T) for x ≤ m with the argument as accurate as in `expShiftedF64x2`:
 * x − m = d + e exactly (TwoSum), t = d/T, and t's residual ρ = (d − t·T + e)/T with
 * t·T split exactly (Dekker), so exp = exp(t)·(1 + ρ).  NaN passes through; x below
 * m − 746·T gives 0.
 */
export function expShiftedF64(x: f64, m: f64, T: f64): f64 {
  const d = x - m;
  if (d < -746.0 * T) return 0;
  const xc = x;
  const bb = d - xc;
  const e = (xc - (d - bb)) - (m + bb);
  if (T == 1.0) return Math.exp(d) * (1.0 + e);
  const t = d / T;
  const p = t * T;
  const th = splitHi(t), tl = t - th, Th = splitHi(T), Tl = T - Th;
  const pe = ((th * Th - p) + th * Tl + tl * Th) + tl * Tl;
  return Math.exp(t) * (1.0 + ((d - p) - pe + e) / T);
}

/** exp((x − m)/T) for float32 x ≤ m: in float64, where x − m is exact and t's rounding negligible. */
// @ts-ignore: decorator
@inline export function expShiftedF32(x: f32, m: f32, T: f64): f32 {
  return <f32>Math.exp((<f64>x - <f64>m) / T);
}

/** log S for S = ones + rest, with log1p when a single maximal entry makes S ≈ 1. */
// @ts-ignore: decorator
@inline export function logOnesPlus(ones: f64, rest: f64): f64 {
  return ones == 1 ? Math.log1p(rest) : Math.log(ones + rest);
}

/**
 * log(a/b) with relative accuracy when a ≈ b: log1p of the exact difference there.
 * The ratio is formed in float64, where a float32 a/b cannot overflow.
 */
// @ts-ignore: decorator
@inline export function logRatioF32(a: f32, b: f32): f32 {
  const r = <f64>a / <f64>b;
  return r >= 0.7071067811865476 && r < 1.4142135623730951 ? Mathf.log1p((a - b) / b) : <f32>Math.log(r);
}

/** log(a/b) with relative accuracy when a ≈ b: log1p of the exact difference there. */
// @ts-ignore: decorator
@inline export function logRatioF64(a: f64, b: f64): f64 {
  const r = a / b;
  if (r >= 0.7071067811865476 && r < 1.4142135623730951) return Math.log1p((a - b) / b);
  // a/b overflows only when b is subnormal: take the logs apart then.
  return r == Infinity && b > 0 ? Math.log(a) - Math.log(b) : Math.log(r);
}

/** log(a/m) with m = (a + b)/2, from (a − b)/(a + b) when the ratio is near 1. */
// @ts-ignore: decorator
@inline export function logMixF32(a: f32, b: f32): f32 {
  const s = a + b;
  const r = (a + a) / s;
  return r >= 0.70710677 && r < 1.4142135 ? Mathf.log1p((a - b) / s) : Mathf.log(r);
}

/** log(a/m) with m = (a + b)/2, from (a − b)/(a + b) when the ratio is near 1. */
// @ts-ignore: decorator
@inline export function logMixF64(a: f64, b: f64): f64 {
  const s = a + b;
  const r = (a + a) / s;
  return r >= 0.7071067811865476 && r < 1.4142135623730951 ? Math.log1p((a - b) / s) : Math.log(r);
}

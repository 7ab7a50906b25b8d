// Vectorised exp and log: the only transcendental code in the kernels.
//
// WebAssembly SIMD has no exp or log instruction, so each is built here from an
// integer-domain range reduction and a polynomial, without FMA (relaxed SIMD is off by
// default in Node 20 and in some browsers).  The polynomial coefficients are
// near-minimax fits printed by `scripts/fit-poly.py`; the worst errors below were
// measured by `scripts/ulp-error.mjs` against a float64 reference (float32, every
// float in the range) or a double-double one from mpmath (float64, 2^18 arguments).
//
// Scalar tails and the scalar build use the AssemblyScript standard library
// (`Math`, `Mathf`: musl ports, < 1 ulp), which also serves the rare special lanes
// (zero, subnormal, negative, infinite, NaN) that the vector log hands over.

// ---------------------------------------------------------------------------------
// Constants live in linear memory
// ---------------------------------------------------------------------------------
// V8's optimizing compiler neither hoists a v128 constant out of a loop nor keeps it in
// a register: a `f32x4.splat(c)` in a loop body is rebuilt (2–3 instructions) at every
// use, and pure scalar work feeding a splat (log₂e/T, 1/T) is scheduled inside the loop
// too — measured: the same exp ran at 3.3 ns per element that way, 1.3 with loads.  A
// splat-load from memory is one instruction folded into its user, and a store (it has
// an effect) is never moved into a loop.  So every constant of the vector exp and log
// is read from the tables below, and what depends on the temperature is written once
// per call by `setExpF32` / `setExpF64`.

// Literals inside a cast take the cast's type in AssemblyScript (<f32>(0.69… * T)
// rounds 0.69… to float32 first), so float64 constants are always named and typed.
const LN2: f64 = 0.6931471805599453;
const LOG2E: f64 = 1.4426950408889634;

// float32 table (indices into C32)
const F_MAGIC = 0; // 1.5·2^23: adding it rounds to an integer kept in the low mantissa bits
const F_MAGIC_BIAS = 1; // 1.5·2^23 + 127: the same, with the exponent bias already added
const F_E0 = 2; // exp(r) ≈ 1 + r + r²·P4(r) on [−ln2/2, ln2/2]: polynomial error 3.1e-9 (0.05 ulp)
const F_ONE = 7;
const F_LN2_HI = 8; // 0x3f318000, 9 significant bits: k·LN2_HI is exact
const F_LN2_LO = 9;
const F_L0 = 10; // log(1+f) ≈ f − f²/2 + f³·P7(f) on [√½−1, √2−1]: polynomial error 5.8e-9 (0.1 ulp)
const F_HALF = 18;
const C32 = memory.data<f32>([
  12582912.0, 12583039.0,
  0.499999934514726261436, 0.166665206875631069527, 0.0416683874085470014635, 0.00836871003530827074193, 0.00138146110010650886717,
  1.0, 0.693359375, -2.12194440e-4,
  0.333333317096948707832, -0.250008210562149491678, 0.200012266674600280314, -0.166233564793838915407,
  0.14201762467034402847, -0.131601950530747843733, 0.127615503601545910027, -0.0763442990732474053566,
  0.5,
]);
const I_MAGIC = 0; // bits of 1.5·2^23
const I_127 = 1;
const I_LOG_SHIFT = 2; // 0x3f800000 − 0x3f3504f3: moves the exponent boundary to √½
const I_MANT = 3;
const I_SQRT_HALF = 4; // bits of √½
const I32 = memory.data<i32>([0x4b400000, 127, 0x004afb0d, 0x007fffff, 0x3f3504f3]);

// per-call float32 values, written by setExpF32(T)
const F_K = 0; // log₂e/T
const F_C1 = 1; // ln 2·T = C1 + C2, C1 of 16 significant bits: n·C1 exact for |n| ≤ 151
const F_C2 = 2;
const F_INV_T = 3;
const F_FAST = 4; // −87·T: the fast path's range of x − m (normal results)
const F_SPAN = 5; // −104·T: below it exp((x − m)/T) underflows to 0
const CALL32 = memory.data(32, 16);

// @ts-ignore: decorator
@inline function f32c(i: i32): v128 {
  return v128.load32_splat(C32 + (<usize>i << 2));
}
// @ts-ignore: decorator
@inline function i32c(i: i32): v128 {
  return v128.load32_splat(I32 + (<usize>i << 2));
}
// @ts-ignore: decorator
@inline function f32t(i: i32): v128 {
  return v128.load32_splat(CALL32 + (<usize>i << 2));
}

/**
 * Sets the temperature of `expShiftedF32x4` for this call.  ln 2·T is formed in
 * float64 (ample for float32) and split as C1 + C2 by clearing C1's low 8 bits.
 */
export function setExpF32(T: f64): void {
  const ln2T: f64 = LN2 * T;
  const c1 = reinterpret<f32>(reinterpret<u32>(<f32>ln2T) & 0xffffff00);
  store<f32>(CALL32 + (F_K << 2), <f32>(LOG2E / T));
  store<f32>(CALL32 + (F_C1 << 2), c1);
  store<f32>(CALL32 + (F_C2 << 2), <f32>(ln2T - <f64>c1));
  store<f32>(CALL32 + (F_INV_T << 2), <f32>(1.0 / T));
  store<f32>(CALL32 + (F_FAST << 2), -<f32>min(87.0 * T, 1e38));
  store<f32>(CALL32 + (F_SPAN << 2), -<f32>min(104.0 * T, 1e38));
}

/**
 * exp((x − m)/T) in four float32 lanes, for the x ≤ m of a softmax row; T is the one
 * last given to `setExpF32`.
 *
 * The argument is never rounded as a whole: x − m is carried exactly as d + e
 * (TwoSum), n = round(d·log₂e/T), and r = ((d − n·C1) + (e − n·C2))/T, where
 * C1 + C2 = ln 2·T and d − n·C1 is exact (Sterbenz).  So the result is exp of the exact
 * argument to within the polynomial's rounding, however far x lies below m — a rounded
 * (x − m)/T would cost up to |x − m|/T float32 ulps, 2e-6 at a spread of 32.
 * exp(r) = 1 + r + r²·P4(r), scaled by 2ⁿ built from the magic-biased sum itself
 * (XNNPACK's trick).  That needs a normal result, x − m ≥ −87·T: any other vector
 * (a subnormal or zero result, −Infinity, NaN) takes `expShiftedSlowF32x4`, which
 * scales in two steps.
 *
 * Worst error, every float32 x in [−87.3, 0] with m = 0, T = 1: 0.99 ulp (normal
 * results); 2^24 random (x, m, T): 1.36 ulp.  Subnormal results are exact to their last
 * bit; a result below half the smallest subnormal is 0.
 */
// @ts-ignore: decorator
@inline export function expShiftedF32x4(x: v128, m: v128): v128 {
  const d = f32x4.sub(x, m);
  if (!i32x4.all_true(f32x4.ge(d, f32t(F_FAST)))) return expShiftedSlowF32x4(x, m);
  const bb = f32x4.sub(d, x);
  const e = f32x4.sub(f32x4.sub(x, f32x4.sub(d, bb)), f32x4.add(m, bb));
  const z = f32x4.add(f32x4.mul(d, f32t(F_K)), f32c(F_MAGIC_BIAS));
  const nf = f32x4.sub(z, f32c(F_MAGIC_BIAS));
  const r = f32x4.mul(f32x4.add(f32x4.sub(d, f32x4.mul(nf, f32t(F_C1))), f32x4.sub(e, f32x4.mul(nf, f32t(F_C2)))), f32t(F_INV_T));
  return f32x4.mul(expPolyF32x4(r), i32x4.shl(z, 23));
}

/**
 * 1 + r + r²·P4(r) ≈ exp(r) on [−ln2/2, ln2/2], P4 in Estrin's scheme:
 * (c0 + c1·r) + r²·((c2 + c3·r) + r²·c4).  A softmax pass is bound by the latency of
 * one element's chain of dependent operations (the out-of-order window holds only a few
 * elements' worth), and Estrin's is 5 deep where Horner's is 8.
 */
// @ts-ignore: decorator
@inline function expPolyF32x4(r: v128): v128 {
  const r2 = f32x4.mul(r, r);
  const a = f32x4.add(f32x4.mul(f32c(F_E0 + 1), r), f32c(F_E0));
  const b = f32x4.add(f32x4.mul(f32c(F_E0 + 3), r), f32c(F_E0 + 2));
  const p = f32x4.add(f32x4.mul(f32x4.add(f32x4.mul(f32c(F_E0 + 4), r2), b), r2), a);
  return f32x4.add(f32x4.add(f32x4.mul(p, r2), r), f32c(F_ONE));
}

/**
 * `expShiftedF32x4` for any lane: 2ⁿ applied as 2^(n>>1)·2^(n−(n>>1)) so subnormal
 * results are right; lanes with x − m below −104·T (−Infinity included) are exactly 0;
 * NaN passes through.
 */
function expShiftedSlowF32x4(x: v128, m: v128): v128 {
  const d0 = f32x4.sub(x, m);
  const bb = f32x4.sub(d0, x);
  const e0 = f32x4.sub(f32x4.sub(x, f32x4.sub(d0, bb)), f32x4.add(m, bb));
  // pmax returns its first operand when that is NaN: NaN lanes stay NaN
  const under = f32x4.lt(d0, f32t(F_SPAN));
  const d = f32x4.pmax(d0, f32t(F_SPAN));
  const e = v128.andnot(e0, under); // e0 is NaN where d0 is infinite
  const z = f32x4.add(f32x4.mul(d, f32t(F_K)), f32c(F_MAGIC));
  const n = i32x4.sub(z, i32c(I_MAGIC));
  const nf = f32x4.sub(z, f32c(F_MAGIC));
  let r = f32x4.sub(f32x4.sub(d, f32x4.mul(nf, f32t(F_C1))), f32x4.mul(nf, f32t(F_C2)));
  r = f32x4.mul(f32x4.add(r, e), f32t(F_INV_T));
  const n1 = i32x4.shr_s(n, 1);
  const s1 = i32x4.shl(i32x4.add(n1, i32c(I_127)), 23);
  const s2 = i32x4.shl(i32x4.add(i32x4.sub(n, n1), i32c(I_127)), 23);
  return v128.andnot(f32x4.mul(f32x4.mul(expPolyF32x4(r), s1), s2), under);
}

/**
 * The bits of r that the float32 log reduces: r's bits + (0x3f800000 − 0x3f3504f3), as
 * integers.  A lane of r is a positive normal float32 exactly when its bits lie in
 * [LOG_BITS_MIN, LOG_BITS_MAX] as signed integers (zero and subnormals fall below, and
 * negative, infinite and NaN lanes wrap below or land above), so a kernel that takes
 * `logFromBitsF32x4` keeps their running `i32x4.min_s` / `max_s` — two operations, no
 * branch, no call in its loop — and redoes a block with `logRatioF32x4` when
 * `logBitsNormalF32` says some lane was not normal.
 */
// @ts-ignore: decorator
@inline export function logBitsF32x4(r: v128): v128 {
  return i32x4.add(r, i32c(I_LOG_SHIFT));
}
const LOG_BITS_MIN: i32 = 0x00cafb0d; // bits of FLT_MIN, shifted
const LOG_BITS_MAX: i32 = 0x7fcafb0c; // bits of FLT_MAX, shifted

/** True when the running min_s `lo` and max_s `hi` of `logBitsF32x4` lie within the normal range. */
// @ts-ignore: decorator
@inline export function logBitsNormalF32(lo: v128, hi: v128): bool {
  return i32x4.all_true(v128.and(i32x4.ge_s(lo, i32x4.splat(LOG_BITS_MIN)), i32x4.le_s(hi, i32x4.splat(LOG_BITS_MAX))));
}

/**
 * log(r) in four float32 lanes from `ix = logBitsF32x4(r)`, for lanes where r is a
 * positive normal float32 (others give a finite meaningless value: see `logBitsF32x4`).
 * `fNear` is an accurate value of r − 1 for the lanes whose r lies in [√½, √2).
 *
 * The reduction is done on the bits: adding 0x3f800000 − 0x3f3504f3 moves the
 * exponent boundary to √½, so r = 2ᵏ·m with m ∈ [√½, √2) and no float operation.
 * Where k = 0 the polynomial's argument is `fNear` instead of m − 1: a caller that
 * forms r as a quotient a/b passes (a − b)/b, whose numerator is exact (Sterbenz),
 * and so keeps relative accuracy in log(a/b) when a ≈ b — the rounding of a/b
 * itself would cost an absolute 2^-24, which is most of a small log.
 *
 * Worst error, r = every positive normal float32 with fNear = r − 1: 0.94 ulp; log(a/b)
 * with r = a·(1/b), fNear = (a − b)·(1/b), 2^24 pairs a ≈ b: 4.1 ulp (the reciprocal's
 * two roundings of r; the log itself adds < 1).
 */
// @ts-ignore: decorator
@inline export function logFromBitsF32x4(ix: v128, fNear: v128): v128 {
  const k = i32x4.sub(i32x4.shr_s(ix, 23), i32c(I_127));
  const m = i32x4.add(v128.and(ix, i32c(I_MANT)), i32c(I_SQRT_HALF));
  const f = v128.bitselect(fNear, f32x4.sub(m, f32c(F_ONE)), i32x4.eq(k, i32x4.splat(0)));
  const kf = f32x4.convert_i32x4_s(k);
  const f2 = f32x4.mul(f, f);
  // P7 in Estrin's scheme (see `expPolyF32x4`): 4 deep rather than 7
  const f4 = f32x4.mul(f2, f2);
  const q01 = f32x4.add(f32x4.mul(f32c(F_L0 + 1), f), f32c(F_L0));
  const q23 = f32x4.add(f32x4.mul(f32c(F_L0 + 3), f), f32c(F_L0 + 2));
  const q45 = f32x4.add(f32x4.mul(f32c(F_L0 + 5), f), f32c(F_L0 + 4));
  const q67 = f32x4.add(f32x4.mul(f32c(F_L0 + 7), f), f32c(F_L0 + 6));
  const p = f32x4.add(f32x4.add(q01, f32x4.mul(f2, q23)), f32x4.mul(f4, f32x4.add(q45, f32x4.mul(f2, q67))));
  // Small terms first, k·ln2 last: (f³P + (k·LN2_LO − f²/2) + f) + k·LN2_HI, with f³ and
  // the bracket formed beside P so that P is followed by one multiply and three adds.
  const f3 = f32x4.mul(f2, f);
  const lo = f32x4.sub(f32x4.mul(kf, f32c(F_LN2_LO)), f32x4.mul(f2, f32c(F_HALF)));
  const y = f32x4.add(f32x4.mul(p, f3), lo);
  return f32x4.add(f32x4.add(y, f), f32x4.mul(kf, f32c(F_LN2_HI)));
}

/**
 * log(r) in four float32 lanes, any r: `logFromBitsF32x4` (and its error bound), with
 * lanes that are zero, subnormal, negative, infinite or NaN recomputed by the scalar
 * `Mathf.log` (log 0 = −Infinity, log of a negative = NaN).  The check is a branch and
 * the rare path a call, which costs register spills in the loop around it: hot loops
 * take `logFromBitsF32x4` and come here only to redo a block.
 */
// @ts-ignore: decorator
@inline export function logRatioF32x4(r: v128, fNear: v128): v128 {
  const ix = logBitsF32x4(r);
  const y = logFromBitsF32x4(ix, fNear);
  return logBitsNormalF32(ix, ix) ? y : logSpecialF32x4(r, y);
}

/** log(x) in four float32 lanes; see `logRatioF32x4`. */
// @ts-ignore: decorator
@inline export function logF32x4(x: v128): v128 {
  return logRatioF32x4(x, f32x4.sub(x, f32c(F_ONE)));
}

/** log(x) for the positive normal lanes of x, from `ix = logBitsF32x4(x)`; see `logFromBitsF32x4`. */
// @ts-ignore: decorator
@inline export function logNormalF32x4(ix: v128, x: v128): v128 {
  return logFromBitsF32x4(ix, f32x4.sub(x, f32c(F_ONE)));
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

// float64 table (indices into C64)
const D_MAGIC = 0; // 1.5·2^52
const D_MAGIC_BIAS = 1; // 1.5·2^52 + 1023
const D_E0 = 2; // exp(r) ≈ 1 + r + r²·P9(r) on [−ln2/2, ln2/2]: polynomial error 3.6e-18 (0.03 ulp)
const D_ONE = 12;
const D_LN2_HI = 13;
const D_LN2_LO = 14;
const D_LG1 = 15; // fdlibm e_log.c: log(1+f) = 2s + s·R(s²), s = f/(2+f), |R − (2/3·z + 2/5·z² + …)| < 2^-62
const C64 = memory.data<f64>([
  6755399441055744.0, 6755399441056767.0,
  0.500000000000001061759, 0.16666666666666412764, 0.041666666666530259178, 0.00833333333349433599217,
  0.00138888889435993787155, 0.000198412695067794017555, 0.0000248014931345522717146, 0.00000275575862629116872665,
  2.76302344676451772572e-7, 2.50000742362807986225e-8,
  1.0, 6.93147180369123816490e-01, 1.90821492927058770002e-10,
  6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01, 2.222219843214978396e-01,
  1.818357216161805012e-01, 1.531383769920937332e-01, 1.479819860511658591e-01,
]);
const L_MAGIC = 0; // bits of 1.5·2^52
const L_1023 = 1;
const L_LOG_SHIFT = 2; // (0x3ff00000 − 0x3fe6a09e) << 32: moves the exponent boundary to √½
const L_MANT = 3;
const L_SQRT_HALF = 4; // 0x3fe6a09e << 32
const I64 = memory.data<i64>([0x4338000000000000, 1023, 0x00095f6200000000, 0x000fffffffffffff, 0x3fe6a09e00000000]);

// per-call float64 values, written by setExpF64(T)
const D_K = 0;
const D_C1 = 1; // ln 2·T = C1 + C2, C1 of 42 significant bits: n·C1 exact for |n| ≤ 1076
const D_C2 = 2;
const D_INV_T = 3;
const D_FAST = 4; // −200·T: the fast path's range of x − m
const D_SPAN = 5; // −746·T: below it exp((x − m)/T) underflows to 0
const CALL64 = memory.data(64, 16);

// @ts-ignore: decorator
@inline function f64c(i: i32): v128 {
  return v128.load64_splat(C64 + (<usize>i << 3));
}
// @ts-ignore: decorator
@inline function i64c(i: i32): v128 {
  return v128.load64_splat(I64 + (<usize>i << 3));
}
// @ts-ignore: decorator
@inline function f64t(i: i32): v128 {
  return v128.load64_splat(CALL64 + (<usize>i << 3));
}

// Dekker's splitting (2^27 + 1): a = splitHi(a) + (a − splitHi(a)), each half of 26 bits,
// so that products of halves are exact and a·b's rounding error can be recovered without FMA.
// @ts-ignore: decorator
@inline export function splitHi(a: f64): f64 {
  const c = 134217729.0 * a;
  return c - (c - a);
}

/**
 * Sets the temperature of `expShiftedF64x2` for this call.  ln 2·T is formed as a
 * double-double (Dekker's product of fdlibm's two-part ln 2), since its float64
 * rounding alone would cost |n| half-ulps, then split as C1 (42 bits) + C2.
 */
export function setExpF64(T: f64): void {
  const a = F64_LN2_HI;
  const p = a * T;
  const ah = splitHi(a), al = a - ah, th = splitHi(T), tl = T - th;
  const pe = ((ah * th - p) + ah * tl + al * th) + al * tl;
  const c1 = reinterpret<f64>(reinterpret<u64>(p) & 0xfffffffffffff800);
  store<f64>(CALL64 + (D_K << 3), LOG2E / T);
  store<f64>(CALL64 + (D_C1 << 3), c1);
  store<f64>(CALL64 + (D_C2 << 3), (p - c1) + (pe + F64_LN2_LO * T));
  store<f64>(CALL64 + (D_INV_T << 3), 1.0 / T);
  store<f64>(CALL64 + (D_FAST << 3), -min(200.0 * T, 1e308));
  store<f64>(CALL64 + (D_SPAN << 3), -min(746.0 * T, 1e308));
}

/**
 * exp((x − m)/T) in two float64 lanes, for the x ≤ m of a softmax row: the float64
 * twin of `expShiftedF32x4` (T from `setExpF64`), except that the fast path, x − m ≥
 * −200·T, rounds d = x − m (as scipy's and PyTorch's softmax do): that costs at most
 * 200·2^-53 ≈ 2.2e-14 relative, within the float64 bound with room, and saves the
 * TwoSum in the slower float64 lanes.  Other vectors take `expShiftedSlowF64x2`, exact
 * in the argument.
 *
 * Worst error over 2^18 random (x, m, T) against mpmath: 157 ulp = 3.5e-14 (the
 * rounded d, at x − m ≈ −200·T); 1.2 ulp where d is exact.
 */
// @ts-ignore: decorator
@inline export function expShiftedF64x2(x: v128, m: v128): v128 {
  const d = f64x2.sub(x, m);
  if (!i64x2.all_true(f64x2.ge(d, f64t(D_FAST)))) return expShiftedSlowF64x2(x, m);
  const z = f64x2.add(f64x2.mul(d, f64t(D_K)), f64c(D_MAGIC_BIAS));
  const nf = f64x2.sub(z, f64c(D_MAGIC_BIAS));
  let r = f64x2.sub(f64x2.sub(d, f64x2.mul(nf, f64t(D_C1))), f64x2.mul(nf, f64t(D_C2)));
  r = f64x2.mul(r, f64t(D_INV_T));
  return f64x2.mul(expPolyF64x2(r), i64x2.shl(z, 52));
}

/** 1 + r + r²·P9(r) ≈ exp(r) on [−ln2/2, ln2/2], P9 in Estrin's scheme (see `expPolyF32x4`). */
// @ts-ignore: decorator
@inline function expPolyF64x2(r: v128): v128 {
  const r2 = f64x2.mul(r, r);
  const r4 = f64x2.mul(r2, r2);
  const q01 = f64x2.add(f64x2.mul(f64c(D_E0 + 1), r), f64c(D_E0));
  const q23 = f64x2.add(f64x2.mul(f64c(D_E0 + 3), r), f64c(D_E0 + 2));
  const q45 = f64x2.add(f64x2.mul(f64c(D_E0 + 5), r), f64c(D_E0 + 4));
  const q67 = f64x2.add(f64x2.mul(f64c(D_E0 + 7), r), f64c(D_E0 + 6));
  const q89 = f64x2.add(f64x2.mul(f64c(D_E0 + 9), r), f64c(D_E0 + 8));
  const lo = f64x2.add(q01, f64x2.mul(r2, q23));
  const hi = f64x2.add(f64x2.add(q45, f64x2.mul(r2, q67)), f64x2.mul(r4, q89));
  const p = f64x2.add(lo, f64x2.mul(r4, hi));
  return f64x2.add(f64x2.add(f64x2.mul(p, r2), r), f64c(D_ONE));
}

/**
 * The exact-argument twin of `expShiftedSlowF32x4`; inlined (no call in the loops around
 * it, so V8 need not spill their vectors: 3–5 % on float64 log-sum-exp and softmax).
 */
// @ts-ignore: decorator
@inline function expShiftedSlowF64x2(x: v128, m: v128): v128 {
  const d0 = f64x2.sub(x, m);
  const bb = f64x2.sub(d0, x);
  const e0 = f64x2.sub(f64x2.sub(x, f64x2.sub(d0, bb)), f64x2.add(m, bb));
  const under = f64x2.lt(d0, f64t(D_SPAN));
  const d = f64x2.pmax(d0, f64t(D_SPAN));
  const e = v128.andnot(e0, under);
  const z = f64x2.add(f64x2.mul(d, f64t(D_K)), f64c(D_MAGIC));
  const n = i64x2.sub(z, i64c(L_MAGIC));
  const nf = f64x2.sub(z, f64c(D_MAGIC));
  let r = f64x2.sub(f64x2.sub(d, f64x2.mul(nf, f64t(D_C1))), f64x2.mul(nf, f64t(D_C2)));
  r = f64x2.mul(f64x2.add(r, e), f64t(D_INV_T));
  const n1 = i64x2.shr_s(n, 1);
  const s1 = i64x2.shl(i64x2.add(n1, i64c(L_1023)), 52);
  const s2 = i64x2.shl(i64x2.add(i64x2.sub(n, n1), i64c(L_1023)), 52);
  return v128.andnot(f64x2.mul(f64x2.mul(expPolyF64x2(r), s1), s2), under);
}

/**
 * The bits of r that the float64 log reduces (r's bits + L_LOG_SHIFT), the float64 twin
 * of `logBitsF32x4`.  Read as four i32 lanes, the odd ones are the high words; the
 * shift's low word is 0, so they are r's high words + 0x00095f62 exactly, and r is a
 * positive normal float64 exactly when they lie in [LOG_HI_MIN, LOG_HI_MAX] as signed
 * integers.  Kernels keep the running `i32x4.min_s` / `max_s` of these bits (the even
 * lanes are ignored) and ask `logBitsNormalF64`.
 */
// @ts-ignore: decorator
@inline export function logBitsF64x2(r: v128): v128 {
  return i64x2.add(r, i64c(L_LOG_SHIFT));
}
const LOG_HI_MIN: i32 = 0x00195f62; // high word of DBL_MIN's bits, shifted
const LOG_HI_MAX: i32 = 0x7ff95f61; // high word of DBL_MAX's bits, shifted

/** True when the high words of the running min_s `lo` and max_s `hi` of `logBitsF64x2` lie within the normal range. */
// @ts-ignore: decorator
@inline export function logBitsNormalF64(lo: v128, hi: v128): bool {
  const ok = v128.and(i32x4.ge_s(lo, i32x4.splat(LOG_HI_MIN)), i32x4.le_s(hi, i32x4.splat(LOG_HI_MAX)));
  return (i32x4.bitmask(ok) & 0b1010) == 0b1010;
}

/**
 * log(r) in two float64 lanes from `ix = logBitsF64x2(r)`, for lanes where r is a
 * positive normal float64 (others give a meaningless value).  For lanes with
 * r ∈ [√½, √2) the argument of the series, s = (r − 1)/(r + 1), is taken as
 * `numNear / denNear` instead — a caller forming r = a/b passes a − b and a + b, exact
 * or nearly so, and keeps relative accuracy in log(a/b) when a ≈ b.
 *
 * Worst error over 2^18 random positive normal r with numNear = r − 1, denNear =
 * r + 1: 1.4 ulp; log(a/b) from a/b, a − b, a + b for a ≈ b: 2.7 ulp.
 */
// @ts-ignore: decorator
@inline export function logFromBitsF64x2(ix: v128, numNear: v128, denNear: v128): v128 {
  // a logical shift: ix ≥ 0 in every lane this function is for (x64 has no 64-bit arithmetic one)
  const k = i64x2.sub(i64x2.shr_u(ix, 52), i64c(L_1023));
  const m = i64x2.add(v128.and(ix, i64c(L_MANT)), i64c(L_SQRT_HALF));
  const near = i64x2.eq(k, i64x2.splat(0));
  const num = v128.bitselect(numNear, f64x2.sub(m, f64c(D_ONE)), near);
  const den = v128.bitselect(denNear, f64x2.add(m, f64c(D_ONE)), near);
  const s = f64x2.div(num, den);
  const z = f64x2.mul(s, s);
  const w = f64x2.mul(z, z);
  // fdlibm's odd and even parts of R, each in Estrin's scheme in w (see `expPolyF32x4`)
  const w2 = f64x2.mul(w, w);
  const t1 = f64x2.mul(w, f64x2.add(f64x2.add(f64c(D_LG1 + 1), f64x2.mul(w, f64c(D_LG1 + 3))), f64x2.mul(w2, f64c(D_LG1 + 5))));
  const t2 = f64x2.mul(z, f64x2.add(f64x2.add(f64c(D_LG1), f64x2.mul(w, f64c(D_LG1 + 2))),
    f64x2.mul(w2, f64x2.add(f64c(D_LG1 + 4), f64x2.mul(w, f64c(D_LG1 + 6))))));
  const kf = f64x2.convert_low_i32x4_s(i32x4.shuffle(k, k, 0, 2, 0, 2));
  // 2s + s·R + k·ln2, small terms first.
  const y = f64x2.add(f64x2.mul(s, f64x2.add(t1, t2)), f64x2.mul(kf, f64c(D_LN2_LO)));
  return f64x2.add(f64x2.add(y, f64x2.add(s, s)), f64x2.mul(kf, f64c(D_LN2_HI)));
}

/**
 * log(r) in two float64 lanes, any r: `logFromBitsF64x2` (and its error bound), with
 * lanes that are zero, subnormal, negative, infinite or NaN recomputed by the scalar
 * `Math.log`; a branch and a call, for careful paths (see `logRatioF32x4`).
 */
// @ts-ignore: decorator
@inline export function logRatioF64x2(r: v128, numNear: v128, denNear: v128): v128 {
  const ix = logBitsF64x2(r);
  const y = logFromBitsF64x2(ix, numNear, denNear);
  return logBitsNormalF64(ix, ix) ? y : logSpecialF64x2(r, y);
}

/** log(x) in two float64 lanes; see `logRatioF64x2`. */
// @ts-ignore: decorator
@inline export function logF64x2(x: v128): v128 {
  return logRatioF64x2(x, f64x2.sub(x, f64c(D_ONE)), f64x2.add(x, f64c(D_ONE)));
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
 * exp((x − m)/T) for x ≤ m, as `expShiftedF64x2`: exp(d/T) of the rounded d = x − m
 * where x − m ≥ −200·T; beyond, x − m = d + e exactly (TwoSum), t = d/T, and t's
 * residual ρ = (d − t·T + e)/T with t·T split exactly (Dekker), so exp = exp(t)·(1 + ρ).
 * NaN passes through; x − m below −746·T gives 0.
 */
export function expShiftedF64(x: f64, m: f64, T: f64): f64 {
  const d = x - m;
  // the vector fast path's range, and its rounding of d (≤ 2.2e-14 relative)
  if (d >= -200.0 * T) return T == 1.0 ? Math.exp(d) : Math.exp(d / T);
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

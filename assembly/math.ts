// Vectorised exp and log, and the summation helpers every kernel shares: the only
// transcendental code in the kernels.
//
// WebAssembly SIMD has no exp or log instruction, so each is built here from an
// integer-domain range reduction and a polynomial (XNNPACK's and Cephes' methods).  With
// relaxed SIMD (the `wasm-relaxed` build, ASC_FEATURE_RELAXED_SIMD) every multiply-add
// is `relaxed_madd`, which the engine may fuse: the same code, one rounding fewer.
//
// Constants.  V8 neither hoists a `v128.const` out of a loop nor keeps it in a register
// (V8 12+ rebuilds it at every use), so a kernel reads the constants it needs from the
// static tables below into locals once, before its loop, and passes them to the inline
// functions here; per-call values (1/T, log₂e/T) are splats of computed scalars, which
// are not constants to V8 either.  Nothing here writes memory: the tables are read-only,
// so the build can also run on a shared memory, one instance per thread.
//
// Values below the smallest normal number of their type are returned as 0 (exp), and
// subnormal arguments of log are the callers' to mask: subnormal arithmetic is
// microcoded on x86 and would cost 30–100× per lane.  The bounds below apply to normal
// results.  Errors are measured by `scripts/ulp-error.mjs`.

// ---------------------------------------------------------------------------------
// Multiply-add, and lane reductions
// ---------------------------------------------------------------------------------

/** a·b + c in four float32 lanes: fused where relaxed SIMD lets the engine fuse it. */
// @ts-ignore: decorator
@inline export function madd32(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** a·b + c in two float64 lanes (see `madd32`). */
// @ts-ignore: decorator
@inline export function madd64(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f64x2.relaxed_madd(a, b, c);
  return f64x2.add(f64x2.mul(a, b), c);
}

// @ts-ignore: decorator
@inline export function sumLanesF64x2(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

/** Lanes 2 and 3 of a float32 vector, promoted to float64 (`promote_low` takes 0 and 1). */
// @ts-ignore: decorator
@inline export function promoteHighF32x4(v: v128): v128 {
  return f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 2, 3));
}

/** Σ of a float32 vector's lanes into a float64 pair: low lanes + high lanes. */
// @ts-ignore: decorator
@inline export function widenF32x4(v: v128): v128 {
  return f64x2.add(f64x2.promote_low_f32x4(v), promoteHighF32x4(v));
}

// @ts-ignore: decorator
@inline export function maxLanesF32x4(v: v128): f32 {
  const h = f32x4.pmax(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  return max(f32x4.extract_lane(h, 0), f32x4.extract_lane(h, 1));
}

// @ts-ignore: decorator
@inline export function minLanesF32x4(v: v128): f32 {
  const h = f32x4.pmin(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  return min(f32x4.extract_lane(h, 0), f32x4.extract_lane(h, 1));
}

// @ts-ignore: decorator
@inline export function maxLanesF64x2(v: v128): f64 {
  return max(f64x2.extract_lane(v, 0), f64x2.extract_lane(v, 1));
}

// @ts-ignore: decorator
@inline export function minLanesF64x2(v: v128): f64 {
  return min(f64x2.extract_lane(v, 0), f64x2.extract_lane(v, 1));
}

// ---------------------------------------------------------------------------------
// Long sums
// ---------------------------------------------------------------------------------
//
// A running sum of n terms is off by up to n·2^-53 of Σ|terms|: 4e6 equal terms of an
// entropy lose 12 digits of its 16.  Kernels therefore add their terms in short blocks
// (a few vectors per lane: each lane's error at most a few ulps of the block) and add
// the block sums into a compensated pair (TwoSum, Neumaier's order-free form): the total
// is then within 2 ulps of the exact sum of the blocks, whatever n.  The compensation
// costs six operations per block, nothing per element.

/**
 * The new low part of a compensated pair (hi, lo) after adding v to it (both lanes): the
 * exact rounding error of hi + v (TwoSum) added to lo.  The caller then sets hi += v.
 */
// @ts-ignore: decorator
@inline export function twoSumLoF64x2(hi: v128, v: v128, lo: v128): v128 {
  const s = f64x2.add(hi, v);
  const bb = f64x2.sub(s, hi);
  return f64x2.add(lo, f64x2.add(f64x2.sub(hi, f64x2.sub(s, bb)), f64x2.sub(v, bb)));
}

/** hi + lo of a compensated pair's lanes, as one float64 (the lanes' own TwoSum included). */
// @ts-ignore: decorator
@inline export function pairTotal(hi: v128, lo: v128): f64 {
  const a = f64x2.extract_lane(hi, 0), b = f64x2.extract_lane(hi, 1);
  const s = a + b;
  const bb = s - a;
  const e = (a - (s - bb)) + (b - bb);
  const t = isFinite(s) ? e + sumLanesF64x2(lo) : 0; // an infinite or NaN sum's compensation is NaN
  pairLo = t - ((s + t) - s);
  return s + t;
}
/** What `pairTotal` could not fit into its float64 result (for callers that need hi + lo). */
export let pairLo: f64 = 0;

/** Scalar TwoSum: s = a + b rounded, `twoLo` its exact error. */
// @ts-ignore: decorator
@inline export function twoSum(a: f64, b: f64): f64 {
  const s = a + b;
  const bb = s - a;
  twoLo = (a - (s - bb)) + (b - bb);
  return s;
}
export let twoLo: f64 = 0;

/**
 * Σ of a row's entries other than its largest, m (plus m for each further copy of it), for
 * a row where m holds most of the mass: summed apart from m, the small entries keep the low
 * bits that a sum beside m rounds away.  Blocks of 32 entries (two float64 lanes for a
 * float64 row where there is SIMD), the blocks into a compensated pair: within 2 ulps,
 * whatever n.  Asked only of such rows, which then take one more pass.
 */
export function restMass<T>(x: usize, n: i32, m: f64): f64 {
  const bytes = <usize>sizeof<T>();
  let h: f64 = 0, l: f64 = 0, copies: i64 = 0, i = 0;
  while (i < n) {
    const end = min(i + 32, n);
    let s: f64 = 0;
    if (ASC_FEATURE_SIMD && bytes == 8) {
      const mv = f64x2.splat(m);
      let sv = f64x2.splat(0), k = i64x2.splat(0);
      for (; i + 2 <= end; i += 2) {
        const v = v128.load(x + (<usize>i << 3)), eq = f64x2.eq(v, mv);
        sv = f64x2.add(sv, v128.andnot(v, eq));
        k = i64x2.sub(k, eq); // (an equal lane is −1)
      }
      s = f64x2.extract_lane(sv, 0) + f64x2.extract_lane(sv, 1);
      copies += i64x2.extract_lane(k, 0) + i64x2.extract_lane(k, 1);
    }
    for (; i < end; i++) {
      const v = <f64>load<T>(x + <usize>i * bytes);
      if (v == m) copies++;
      else s += v;
    }
    h = twoSum(h, s);
    l += twoLo;
  }
  return (h + l) + <f64>(copies - 1) * m;
}

// ---------------------------------------------------------------------------------
// float32 exp
// ---------------------------------------------------------------------------------
//
// A softmax row needs exp((x − m)/T) for its entries x ≤ m.  Rounding x − m costs up to
// ½ ulp of |x − m| in the argument (1e-6 relative in the result at a spread of 30), so
// the kernels compute, per row, E(x) = exp((x − b)/T − k·ln 2) where x − b is exact:
//   near rows, |m/T| < 176: b = 0, k = ⌊m·log₂e/T⌋ − 1 — x itself is reduced;
//   far rows (huge logits): b = m, k = −1 — then x − m is exact for every x within
//   87·T of m (Sterbenz), and the others underflow anyway.
// E ≤ 4, so a row's sum never overflows; E differs from exp((x − m)/T) by the row's
// constant factor exp((m − b)/T − k·ln 2) ∈ [2, 4) (`expScale`), which softmax divides
// out and log-sum-exp adds back in float64.  T is a float64 throughout: C1 + C2 = T·ln 2
// and 1/T are formed from it (a float32 T would move the argument by |x/T|·2^-24).
//
// Reduction (XNNPACK's rr2): n = round(u·log₂e/T) by the magic bias 1.5·2²³ + 127 − k,
// which also leaves n − k + 127 in the low bits, so a shift by 23 builds 2^(n−k);
// t = (u − n·C1 − n·C2)/T with C1 + C2 = T·ln 2, C1 of 15 bits so that n·C1 (|n| < 2⁹)
// and u − n·C1 are exact.  exp(t) = 1 + t·P(t), P of degree 4 (XNNPACK's rr2-p5
// coefficients), on [−ln2/2, ln2/2], as E = 2^(n−k)·(1 + t·P(t)): the scale last, so no
// intermediate is ever subnormal.  The row's cut-off is on the final value's exponent:
// lanes with (x − m)/T < ln FLT_MIN − 0.01 (the hundredth for the rounding of the cut-off
// itself), −Infinity (masked logits) included, are 0 by a compare and mask, not a branch
// — every result of the row, p = exp((x − m)/T)/S or a sum's term, that is a normal number
// comes from lanes above it.  Those lanes are first lifted to the cut-off, where E =
// scale·FLT_MIN·e^-0.01 ≥ 1.98·FLT_MIN is still normal (the reason for the scale ≥ 2), so
// that no lane computes with subnormals or infinities (microcoded on x86: 30–100× a lane).
// NaN passes through.
//
// Exponentials below the smallest normal number are 0 (XNNPACK's choice; the scalar build
// and the JS twins cut at the same FLT_MIN·e^-0.01): a softmax entry below FLT_MIN may be
// 0, a result formed from such an entry is off by what the entry carries in it (a loss
// gradient entry w·p: w·FLT_MIN), and a sum of terms e·t (the softmax entropy) drops the
// terms whose e is below the normal range — each at most e·(1 + |ln e|) < 88·FLT_MIN —
// so it is off by at most n·88·FLT_MIN absolutely (float64: n·709·DBL_MIN), n entries.
//
// Worst error against exp in float64, every float32 u with T = 1, normal results:
// 2.3 ulp; 1.96 ulp fused (wasm-relaxed).

export const F_LOG2E = 0;
export const F_MAGIC = 1; // 1.5·2^23 + 127
export const F_P1 = 2; // P(t) = p1 + p2·t + p3·t² + p4·t³ + p5·t⁴
export const F_P2 = 3;
export const F_P3 = 4;
export const F_P4 = 5;
export const F_P5 = 6;
export const F_LN2_HI = 7; // for log: 0x3f318000, 9 significant bits, so k·LN2_HI is exact
export const F_LN2_LO = 8;
export const F_ONE = 9;
export const F_HALF = 10;
export const F_Q0 = 11; // log(1+f) ≈ f − f²/2 + f³·Q(f), Q = Q0 + Q1·f + … + Q7·f⁷
export const F_LOWEST = 19; // −FLT_MAX: pmax with it lifts −Infinity (only) to a finite number
export const F_NINF = 20;
export const F_INF = 21;
export const F_NAN = 22;
export const F_FAR = 23; // |m/T| from which the float32 exp takes m as its base (see expRowF32)
const EXP32 = memory.data<f32>([
  1.4426950216293335, 12583039.0,
  0.9999997019767761, 0.4999915063381195, 0.16667652130126953, 0.04189782217144966, 0.008289290592074394,
  0.693359375, -2.12194440e-4, 1.0, 0.5,
  0.333333317096948707832, -0.250008210562149491678, 0.200012266674600280314, -0.166233564793838915407,
  0.14201762467034402847, -0.131601950530747843733, 0.127615503601545910027, -0.0763442990732474053566,
  -3.4028234663852886e38, -Infinity, Infinity, NaN, 176.0,
], 16);

/**
 * v, as a value the optimizer cannot fold into a constant (v | 0, the 0 read from memory).
 * Node 24's V8 materialises every v128.const where it is used, in a loop at every step
 * (three instructions, one on the shuffle port), while a value computed before the loop
 * stays in a register or a stack slot — where the code using it runs every step (else
 * TurboFan moves it into the loop as well: rows.ts, `UNIT`).  A loop short of registers reads its fixed
 * constants from the tables inside it (`k32`: one load, none held across the loop); this
 * is for the values binaryen folds only because a caller's argument is constant (T = 1
 * inlined), and for a constant a loop uses many times a step (the KL loop's log shift).
 */
// @ts-ignore: decorator
@inline export function kept(v: v128): v128 {
  return v128.or(v, v128.load(ZERO16));
}
const ZERO16 = memory.data(16, 16);

/** A float32 constant of the tables above, splatted (kernels read them before their loops). */
// @ts-ignore: decorator
@inline export function k32(i: i32): v128 {
  return v128.load32_splat(EXP32 + (<usize>i << 2));
}

// The per-row scalars of the float32 exp, set by `expRowF32`; kernels splat them.
export let expK: f32 = 0; // log₂e/T
export let expC1: f32 = 0; // −C1
export let expC2: f32 = 0; // −C2
export let expInvT: f32 = 1;
export let expBase: f32 = 0; // b
export let expMagic: f32 = 0; // 1.5·2^23 + 127 − k
export let expCut: f32 = 0; // x − b below it: E below the normal range, returned as 0
export let expLift: f32 = 0; // what lanes below the cut-off are computed as: the cut-off, where E is normal
/** exp((m − b)/T − k·ln 2) in float64: E(m), the factor between E and exp((x − m)/T). */
export let expScale: f64 = 1;

const LN2: f64 = 0.6931471805599453;
const LOG2E: f64 = 1.4426950408889634;
const LN_FLT_MIN: f64 = -87.33654475055310898657;

/**
 * ln 2·T in two float32 parts for the reduction x/T − k·ln 2 (Cody–Waite): the high part
 * keeps 15 significant bits, so that k·hi is exact for every |k| < 2⁹ the exponential
 * meets, and the low part is the rest.  `negLn2HiF32x4`/`LoF32x4`: their negatives
 * splatted, which the vector kernels read before their loops.
 */
// @ts-ignore: decorator
@inline function ln2HiF32(T: f64): f32 {
  return reinterpret<f32>(reinterpret<u32>(<f32>(LN2 * T)) & 0xfffffe00);
}
// @ts-ignore: decorator
@inline function ln2LoF32(T: f64): f32 {
  return <f32>(LN2 * T - <f64>ln2HiF32(T));
}
// @ts-ignore: decorator
@inline export function negLn2HiF32x4(T: f64): v128 {
  return f32x4.splat(-ln2HiF32(T));
}
// @ts-ignore: decorator
@inline export function negLn2LoF32x4(T: f64): v128 {
  return f32x4.splat(-ln2LoF32(T));
}

/** Sets the scalars of the float32 exp for a row of finite maximum m at temperature T. */
export function expRowF32(m: f32, T: f64): void {
  const q = <f64>m / T;
  const near = Math.abs(q) < 176.0;
  const k = (near ? Math.floor(q * LOG2E) : 0.0) - 1;
  expK = <f32>(LOG2E / T);
  expC1 = -ln2HiF32(T);
  expC2 = -ln2LoF32(T);
  expInvT = <f32>(1.0 / T);
  expBase = near ? 0 : m;
  expMagic = <f32>(12583039.0 - k);
  expCut = <f32>((near ? <f64>m : 0) + T * (LN_FLT_MIN - 0.01)); // (x − m)/T < ln FLT_MIN − 0.01
  expLift = expCut;
  expScale = Math.exp((near ? q : 0) - k * LN2);
}

/**
 * E(x) in four float32 lanes (see above): `b`, `k` (log₂e/T), `magic`, `c1`, `c2`,
 * `invT`, `cut`, `lift` from `expRowF32`; p1…p5 and `one` from the table.
 */
// @ts-ignore: decorator
@inline export function expF32x4(x: v128, b: v128, k: v128, magic: v128, c1: v128, c2: v128, invT: v128, cut: v128, lift: v128,
  p1: v128, p2: v128, p3: v128, p4: v128, p5: v128, one: v128, unitT: bool = false): v128 {
  const u = f32x4.sub(x, b);
  const us = f32x4.pmax(u, lift); // NaN stays NaN: pmax returns its first operand then
  let n = madd32(us, k, magic);
  const s = i32x4.shl(n, 23);
  n = f32x4.sub(n, magic);
  let t = madd32(n, c1, us);
  t = madd32(n, c2, t);
  if (!unitT) t = f32x4.mul(t, invT); // (·1 is exact: skipped where the caller knows T = 1)
  let p = madd32(p5, t, p4);
  p = madd32(p, t, p3);
  p = madd32(p, t, p2);
  p = madd32(p, t, p1);
  const f = f32x4.mul(madd32(t, p, one), s);
  return v128.andnot(f, f32x4.lt(u, cut));
}

// ---------------------------------------------------------------------------------
// float32 log
// ---------------------------------------------------------------------------------
//
// Reduction on the bits: adding 0x3f800000 − 0x3f3504f3 moves the exponent boundary to
// √½, so x = 2ᵏ·m with m ∈ [√½, √2) and no float operation; log(1+f) = f − f²/2 +
// f³·Q(f) on [√½−1, √2−1] (Cephes' degree-10 fit, Q in Estrin's scheme).  Only for
// positive normal x: zero, subnormal, negative, infinite and NaN lanes give a finite
// meaningless value, and the callers mask them (see `logBitsOkF32x4`).
//
// Worst error, every positive normal float32: 0.94 ulp.  `fNear` is an accurate value of
// x − 1 used where k = 0: a caller forming x as a ratio a/b passes (a − b)/b, whose
// numerator is exact (Sterbenz), and so keeps relative accuracy in log(a/b) when a ≈ b.

export const I_LOG_SHIFT = 0; // 0x3f800000 − 0x3f3504f3
export const I_MANT = 1;
export const I_SQRT_HALF = 2;
export const I_127 = 3;
export const I_FLT_MIN = 4; // bits of FLT_MIN
export const I_EXP = 5; // the exponent field
const LOG32 = memory.data<i32>([0x004afb0d, 0x007fffff, 0x3f3504f3, 127, 0x00800000, 0x7f800000], 16);

/** An int32 constant of the float32 log's table, splatted. */
// @ts-ignore: decorator
@inline export function i32k(i: i32): v128 {
  return v128.load32_splat(LOG32 + (<usize>i << 2));
}

/** Lanes of x that are positive normal float32 numbers (all ones), by their bits alone. */
// @ts-ignore: decorator
@inline export function normalF32x4(x: v128, fltMin: v128, expField: v128): v128 {
  // bits ≥ FLT_MIN's as signed integers (not zero, subnormal or negative) and exponent not all ones
  return v128.andnot(i32x4.ge_s(x, fltMin), i32x4.eq(v128.and(x, expField), expField));
}

/**
 * log x in four float32 lanes for positive normal x (see above): `shift`, `mant`,
 * `sqrtHalf`, `i127` from the int table, `one`, `half`, `lnHi`, `lnLo` and Q's eight
 * coefficients from the float table.
 */
// @ts-ignore: decorator
@inline export function logF32x4(x: v128, fNear: v128, shift: v128, mant: v128, sqrtHalf: v128, i127: v128,
  one: v128, half: v128, lnHi: v128, lnLo: v128,
  q0: v128, q1: v128, q2: v128, q3: v128, q4: v128, q5: v128, q6: v128, q7: v128): v128 {
  const ix = i32x4.add(x, shift);
  const k = i32x4.sub(i32x4.shr_s(ix, 23), i127);
  const m = i32x4.add(v128.and(ix, mant), sqrtHalf);
  const f = v128.bitselect(fNear, f32x4.sub(m, one), i32x4.eq(k, i32x4.splat(0)));
  const kf = f32x4.convert_i32x4_s(k);
  const f2 = f32x4.mul(f, f);
  const f4 = f32x4.mul(f2, f2);
  const a = madd32(q1, f, q0), b = madd32(q3, f, q2), c = madd32(q5, f, q4), d = madd32(q7, f, q6);
  const q = madd32(f4, madd32(f2, d, c), madd32(f2, b, a));
  // small terms first, k·ln2 last: (f³Q + (k·LN2_LO − f²/2) + f) + k·LN2_HI
  const lo = f32x4.sub(f32x4.mul(kf, lnLo), f32x4.mul(f2, half));
  const y = madd32(q, f32x4.mul(f2, f), lo);
  return madd32(kf, lnHi, f32x4.add(y, f));
}

// ---------------------------------------------------------------------------------
// float64 exp
// ---------------------------------------------------------------------------------
//
// The float64 twin of the float32 exp: E(x) = exp((x − b)/T − k·ln 2) with far rows at
// |m/T| ≥ 1420, magic bias 1.5·2⁵² + 1023 − k, shift by 52, C1 of 40 significant bits
// (n·C1 exact for |n| < 2¹²), exp(t) ≈ 1 + t + t²·P(t) with P of degree 9 (polynomial
// error 3.6e-18) in Estrin's scheme, normal results only: the cut-off at (x − m)/T <
// ln DBL_MIN − 0.01, E there ≥ 1.98·2^-1022.
//
// Worst error against mpmath over 2^18 arguments in [−708.39, 0] (m = 0, T = 1;
// scripts/ulp-error.mjs): 1.0 ulp.

export const D_LOG2E = 0;
export const D_MAGIC = 1; // 1.5·2^52 + 1023
export const D_P0 = 2; // P = P0 + P1·t + … + P9·t⁹
export const D_ONE = 12;
export const D_LN2_HI = 13; // fdlibm's split of ln 2, for log
export const D_LN2_LO = 14;
export const D_G1 = 15; // fdlibm e_log.c: log(1+f) = 2s + s·R(s²), s = f/(2+f), R's coefficients G1…G7
export const D_TWO = 22;
const EXP64 = memory.data<f64>([
  1.4426950408889634, 6755399441056767.0,
  0.500000000000001061759, 0.16666666666666412764, 0.041666666666530259178, 0.00833333333349433599217,
  0.00138888889435993787155, 0.000198412695067794017555, 0.0000248014931345522717146, 0.00000275575862629116872665,
  2.76302344676451772572e-7, 2.50000742362807986225e-8,
  1.0, 6.93147180369123816490e-01, 1.90821492927058770002e-10,
  6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01, 2.222219843214978396e-01,
  1.818357216161805012e-01, 1.531383769920937332e-01, 1.479819860511658591e-01,
  2.0,
], 16);

/** A float64 constant of the tables above, splatted. */
// @ts-ignore: decorator
@inline export function k64(i: i32): v128 {
  return v128.load64_splat(EXP64 + (<usize>i << 3));
}

export let dexpK: f64 = 0;
export let dexpC1: f64 = 0;
export let dexpC2: f64 = 0;
export let dexpInvT: f64 = 1;
export let dexpBase: f64 = 0;
export let dexpMagic: f64 = 0;
export let dexpCut: f64 = 0;
export let dexpLift: f64 = 0;
export let dexpScale: f64 = 1;

const F64_LN2_HI: f64 = 6.93147180369123816490e-01;
const F64_LN2_LO: f64 = 1.90821492927058770002e-10;
const LN_DBL_MIN: f64 = -708.3964185322641;

// Dekker's splitting (2^27 + 1): a = splitHi(a) + (a − splitHi(a)), each half of 26 bits,
// so that products of halves are exact and a·b's rounding error is recovered without FMA.
// @ts-ignore: decorator
@inline export function splitHi(a: f64): f64 {
  const c = 134217729.0 * a;
  return c - (c - a);
}

/**
 * Sets the scalars of the float64 exp for a row of finite maximum m at temperature T.
 * T·ln 2 is formed as a double-double (Dekker's product of fdlibm's two-part ln 2),
 * since its rounding alone would cost |n| half-ulps, then split as C1 + C2.
 */
export function expRowF64(m: f64, T: f64): void {
  const q = m / T;
  const near = Math.abs(q) < 1420.0;
  const k = (near ? Math.floor(q * LOG2E) : 0.0) - 1;
  const a = F64_LN2_HI;
  const p = a * T;
  const ah = splitHi(a), al = a - ah, th = splitHi(T), tl = T - th;
  const pe = ((ah * th - p) + ah * tl + al * th) + al * tl;
  const c1 = reinterpret<f64>(reinterpret<u64>(p) & 0xffffffffffffe000);
  dexpK = LOG2E / T;
  dexpC1 = -c1;
  dexpC2 = -((p - c1) + (pe + F64_LN2_LO * T));
  dexpInvT = 1.0 / T;
  dexpBase = near ? 0 : m;
  dexpMagic = 6755399441056767.0 - k;
  dexpCut = (near ? m : 0) + T * (LN_DBL_MIN - 0.01);
  dexpLift = dexpCut;
  dexpScale = Math.exp((near ? q : 0) - k * LN2);
}

/** E(x) in two float64 lanes (see `expF32x4`; p0…p9 from the float64 table). */
// @ts-ignore: decorator
@inline export function expF64x2(x: v128, b: v128, k: v128, magic: v128, c1: v128, c2: v128, invT: v128, cut: v128, lift: v128,
  one: v128, p0: v128, p1: v128, p2: v128, p3: v128, p4: v128, p5: v128, p6: v128, p7: v128, p8: v128, p9: v128): v128 {
  const u = f64x2.sub(x, b);
  const us = f64x2.pmax(u, lift);
  let n = madd64(us, k, magic);
  const s = i64x2.shl(n, 52);
  n = f64x2.sub(n, magic);
  let t = madd64(n, c1, us);
  t = f64x2.mul(madd64(n, c2, t), invT);
  const t2 = f64x2.mul(t, t), t4 = f64x2.mul(t2, t2);
  const a = madd64(p1, t, p0), bb = madd64(p3, t, p2), c = madd64(p5, t, p4), d = madd64(p7, t, p6), e = madd64(p9, t, p8);
  const p = madd64(t4, madd64(t4, e, madd64(t2, d, c)), madd64(t2, bb, a));
  const f = f64x2.mul(f64x2.add(madd64(p, t2, t), one), s);
  return v128.andnot(f, f64x2.lt(u, cut));
}

// ---------------------------------------------------------------------------------
// float64 log
// ---------------------------------------------------------------------------------
//
// The float64 twin of the float32 log: the reduction on the bits (the shift
// (0x3ff00000 − 0x3fe6a09e) << 32 moves the exponent boundary to √½), then fdlibm's
// s = f/(2+f), log(1+f) = 2s + s·R(s²), R's odd and even parts in Estrin's scheme.  For
// k = 0 the series argument is taken as numNear/denNear: a caller forming x = a/b passes
// a − b and a + b, exact or nearly so, and keeps relative accuracy when a ≈ b.
//
// Worst error over 2^18 random positive normal x: 1.4 ulp; log(a/b) from a/b, a − b,
// a + b for a ≈ b: 2.7 ulp.

export const L_LOG_SHIFT = 0;
export const L_MANT = 1;
export const L_SQRT_HALF = 2;
export const L_1023 = 3;
export const L_DBL_MIN = 4; // bits of DBL_MIN
export const L_EXP = 5;
const LOG64 = memory.data<i64>([0x00095f6200000000, 0x000fffffffffffff, 0x3fe6a09e00000000, 1023, 0x0010000000000000, 0x7ff0000000000000], 16);

/** An int64 constant of the float64 log's table, splatted. */
// @ts-ignore: decorator
@inline export function i64k(i: i32): v128 {
  return v128.load64_splat(LOG64 + (<usize>i << 3));
}

/** Lanes of x that are positive normal float64 numbers (all ones), by their bits alone. */
// @ts-ignore: decorator
@inline export function normalF64x2(x: v128, dblMin: v128, expField: v128): v128 {
  return v128.andnot(i64x2.ge_s(x, dblMin), i64x2.eq(v128.and(x, expField), expField));
}

/** log x in two float64 lanes for positive normal x (see above). */
// @ts-ignore: decorator
@inline export function logF64x2(x: v128, numNear: v128, denNear: v128, shift: v128, mant: v128, sqrtHalf: v128, i1023: v128,
  one: v128, lnHi: v128, lnLo: v128, g1: v128, g2: v128, g3: v128, g4: v128, g5: v128, g6: v128, g7: v128): v128 {
  const ix = i64x2.add(x, shift);
  // a logical shift: ix ≥ 0 in every lane this function is for (x64 has no 64-bit arithmetic one)
  const k = i64x2.sub(i64x2.shr_u(ix, 52), i1023);
  const m = i64x2.add(v128.and(ix, mant), sqrtHalf);
  const near = i64x2.eq(k, i64x2.splat(0));
  const num = v128.bitselect(numNear, f64x2.sub(m, one), near);
  const den = v128.bitselect(denNear, f64x2.add(m, one), near);
  const s = f64x2.div(num, den);
  const z = f64x2.mul(s, s);
  const w = f64x2.mul(z, z);
  const w2 = f64x2.mul(w, w);
  const t1 = f64x2.mul(w, madd64(w2, g6, madd64(w, g4, g2)));
  const t2 = f64x2.mul(z, madd64(w2, madd64(w, g7, g5), madd64(w, g3, g1)));
  const kf = f64x2.convert_low_i32x4_s(i32x4.shuffle(k, k, 0, 2, 0, 2));
  // 2s + s·R + k·ln2, small terms first
  const y = madd64(s, f64x2.add(t1, t2), f64x2.mul(kf, lnLo));
  return madd64(kf, lnHi, f64x2.add(y, f64x2.add(s, s)));
}

// ---------------------------------------------------------------------------------
// Sigmoid, softplus, and log1p on [0, 1]: the binary losses
// ---------------------------------------------------------------------------------
//
// Everything a binary loss needs from a logit x comes from one exponential e = exp(−|x|)
// ∈ [0, 1], which never overflows:
//   σ(−|x|) = e/(1 + e),  σ(|x|) = 1 − σ(−|x|) ≥ ½   (σ(x) and σ(−x) picked by the sign
//                                                     of x: the small one is never 1 − σ)
//   softplus(±x) = log(1 + e^±x) = max(±x, 0) + log1p(e)
// so softplus(x) and softplus(−x) are sums of non-negative terms, accurate for any x.
//
// exp(u), u = −|x| ≤ 0 (`expNonPos…`): the reduction of the exp above with no per-row
// shift (u is exact); lanes below the cut-off (results under the smallest normal number,
// −Infinity included) are 0 by a compare and mask, and are first lifted to the cut-off so
// that no lane computes with subnormals: the result is formed as (1 + t + t²·E(t))·2ⁿ, a
// factor in [0.7, 1.5] times a normal power of 2 (XNNPACK's 2ⁿ + (t·2ⁿ)·P(t) would make
// t·2ⁿ subnormal near the cut-off), and u is at most −2^-26 (float64: −2^-60), whose exp
// rounds to 1 as that of every u above it does, so that t⁴ is not subnormal either.
// float32: E of degree 4 (fit_exp(4) of scripts/fit-poly.py, 3.1e-9), in Estrin's scheme
// — the loss kernels are bound by the latency of their chains, not by operation counts;
// float64: the exp above's polynomial.  NaN passes.
//
// log1p(e), e ∈ [0, 1] (`log1pUnit…`).  float32: t = 2e/(2 + e) (one division),
// log1p(e) = 2·atanh(t/2) = t + t³·L(t²), L of degree 3 fitted by Lawson's method to the
// relative error of the result on t ∈ [0, ⅔] (4.5e-9); below t = 2^-12 the t³ term is
// under 2^-26 of t and dropped (t masked to 0 there, so that t² is never subnormal).
// float64: k = [e ≥ ½], f = e (k = 0) or (e − 1)/2 (k = 1), both exact, so log1p(e) =
// k·ln 2 + log(1 + f), f ∈ [−¼, ½), with no rounding of 1 + e; fdlibm's s = f/(2 + f),
// log(1 + f) = f − (f²/2 − s·(f²/2 + R(s²))), R(z) = z·P(z), P of degree 6 refitted for
// |s| ≤ 0.2 (1.5e-17); below e = 2^-54, log1p(e) = e (f masked to 0 in the polynomial).
// Only for e in [0, 1] or NaN.
//
// σ(x) and softplus(x) are then one division and one add; the kernels form them inline.
//
// Worst errors measured (a scratch probe: every float32 of the range against Math in
// float64; float64: 2^18 random arguments against mpmath at 40 digits, as
// scripts/ulp-error.mjs), normal results, SIMD build (relaxed-SIMD build in brackets):
//   float32  exp(u), u ∈ [−87.34, 0]        1.01 ulp  (1.04)
//            log1p(e), e ∈ [0, 1]            1.97 ulp  (1.97)
//            σ(x), x ∈ [−104, 104]           2.40 ulp  (2.40)
//            softplus(x), x ∈ [−104, 1e5]    2.89 ulp  (2.89)
//   float64  exp(u), u ∈ [−708.4, 0]        1.00 ulp  (1.08)
//            log1p(e), e ∈ [0, 1]            0.91 ulp  (0.91)
//            σ(x), |x| ≤ 708                 2.31 ulp  (2.31)
//            softplus(x), |x| ≤ 708          1.45 ulp  (1.45)
// Results below the smallest normal number are returned as 0.

export const SG_MAGIC = 0; // 1.5·2^23 + 127: n + 127 in the low bits, 2ⁿ by a shift
export const SG_LOG2E = 1;
export const SG_NLN2_HI = 2; // −C1, 15 significant bits: n·C1 exact for |n| < 2^9
export const SG_NLN2_LO = 3;
export const SG_CUT = 4; // the float32 just above ln FLT_MIN: exp(u) is normal from it on (4.5e-6 to spare)
export const SG_E0 = 5; // exp(t) ≈ 1 + t + t²·E(t), E = E0 + … + E4·t⁴ (3.1e-9, scripts/fit-poly.py's fit_exp(4))
export const SG_ONE = 10;
export const SG_TWO = 11;
export const SG_TINY = 12; // 2^-12: below it t·t·P(t²) is under 2^-26 of t and is dropped
export const SG_L0 = 13; // log1p(e) ≈ t + t³·L(t²), L = L0 + … + L3·w³, t = 2e/(2 + e)
export const SG_SIGN = 17; // −0: the sign bit
export const SG_ZERO = 18;
export const SG_INF = 19;
export const SG_NTINY = 20; // −2^-26
export const SG_FLT_MIN = 21; // as bits: 0x00800000
const SIG32 = memory.data<f32>([
  12583039.0, 1.4426950216293335, -0.693145751953125, -1.4286068e-06, -87.33654,
  0.4999999403953552, 0.1666652113199234, 0.04166838899254799, 0.008368710055947304, 0.0013814610429108143,
  1.0, 2.0, 0.000244140625,
  0.08333302289247513, 0.012506727129220963, 0.002187640406191349, 0.0005471096374094486,
  -0.0, 0.0, Infinity, -1.4901161193847656e-8, 1.1754943508222875e-38,
], 16);

/** A float32 constant of the sigmoid table, splatted (kernels read them before their loops). */
// @ts-ignore: decorator
@inline export function sg32(i: i32): v128 {
  return v128.load32_splat(SIG32 + (<usize>i << 2));
}

/**
 * exp(u) in four float32 lanes for u ≤ 0 (see above): 0 below the cut-off (−Infinity
 * included), NaN for NaN.  Constants: SG_MAGIC, SG_LOG2E, SG_NLN2_HI, SG_NLN2_LO,
 * SG_CUT, SG_NTINY, SG_ONE, SG_E0…SG_E0+4.
 */
// @ts-ignore: decorator
@inline export function expNonPosF32x4(u: v128, magic: v128, log2e: v128, c1: v128, c2: v128, cut: v128, ntiny: v128, one: v128,
  e0: v128, e1: v128, e2: v128, e3: v128, e4: v128): v128 {
  // NaN stays NaN (pmax and pmin return their first operand then); u above −2^-26 is
  // taken as −2^-26, whose exp rounds to 1 as theirs does, so that t⁴ below is not subnormal
  const us = f32x4.pmin(f32x4.pmax(u, cut), ntiny);
  let n = madd32(us, log2e, magic);
  const s = i32x4.shl(n, 23); // 2ⁿ
  n = f32x4.sub(n, magic);
  let t = madd32(n, c1, us);
  t = madd32(n, c2, t);
  // Estrin's scheme: a shorter chain of dependent operations than Horner's (the kernels
  // are bound by its latency, not by the operation count)
  const t2 = f32x4.mul(t, t), t4 = f32x4.mul(t2, t2);
  const p = madd32(t4, e4, madd32(t2, madd32(e3, t, e2), madd32(e1, t, e0))); // E(t)
  const e = f32x4.mul(f32x4.add(madd32(t2, p, t), one), s); // (1 + t + t²·E(t))·2ⁿ
  return v128.andnot(e, f32x4.lt(u, cut));
}

/**
 * exp(a − b) in four float32 lanes for a ≤ b, with a − b taken exactly: its rounded
 * value s and error r (TwoSum), exp(s)·(1 + r).  |r| ≤ 2^-24·|s|, under 5.3e-6 wherever
 * the result is normal, so the dropped r²/2 is below 1.4e-11 of it: the result is within
 * `expNonPosF32x4`'s 1.01 ulp plus a rounding, whatever the size of a and b (the rounded
 * difference alone would cost |s|·2^-24, up to 87 ulp).  0 where a − b is below the
 * cut-off (a = −Infinity included); NaN for NaN.  Constants as `expNonPosF32x4`.
 */
// @ts-ignore: decorator
@inline export function expDiffF32x4(a: v128, b: v128, magic: v128, log2e: v128, c1: v128, c2: v128, cut: v128, ntiny: v128, one: v128,
  e0: v128, e1: v128, e2: v128, e3: v128, e4: v128, inf: v128): v128 {
  const s = f32x4.sub(a, b);
  const t = f32x4.sub(s, a);
  const r = f32x4.sub(f32x4.sub(a, f32x4.sub(s, t)), f32x4.add(b, t));
  const e = expNonPosF32x4(s, magic, log2e, c1, c2, cut, ntiny, one, e0, e1, e2, e3, e4);
  // (r is NaN or infinite only where s is not finite, and e then 0 or NaN already)
  return madd32(e, v128.and(r, f32x4.lt(f32x4.abs(r), inf)), e);
}

/**
 * log1p(e) in four float32 lanes for e ∈ [0, 1] or NaN (see above).  Constants: SG_TWO,
 * SG_TINY, SG_L0…SG_L0+3.
 */
// @ts-ignore: decorator
@inline export function log1pUnitF32x4(e: v128, two: v128, tiny: v128, l0: v128, l1: v128, l2: v128, l3: v128): v128 {
  const t = f32x4.div(f32x4.add(e, e), f32x4.add(two, e)); // 2·atanh⁻¹: log1p(e) = 2·atanh(t/2)
  const tm = v128.andnot(t, f32x4.lt(t, tiny)); // t, or 0 where log1p(e) = t
  const w = f32x4.mul(tm, tm);
  const l = madd32(f32x4.mul(w, w), madd32(l3, w, l2), madd32(l1, w, l0));
  return madd32(f32x4.mul(tm, w), l, t);
}

/**
 * σ(x) = 1/(1 + e^−x) in four float32 lanes, from e = exp(−|x|): e/(1 + e) for x < 0,
 * 1 − e/(1 + e) otherwise.  σ(−x) is the other of the two.
 */
// @ts-ignore: decorator
@inline export function sigmoidF32x4(x: v128, e: v128, one: v128): v128 {
  const small = f32x4.div(e, f32x4.add(one, e));
  return v128.bitselect(small, f32x4.sub(one, small), i32x4.shr_s(x, 31));
}

/** softplus(x) = log(1 + eˣ) = max(x, 0) + log1p(exp(−|x|)) in four float32 lanes (l = log1p(exp(−|x|))). */
// @ts-ignore: decorator
@inline export function softplusF32x4(x: v128, l: v128, zero: v128): v128 {
  return f32x4.add(f32x4.pmax(x, zero), l);
}

export const SD_LOG2E = 0;
export const SD_MAGIC = 1; // 1.5·2^52 + 1023
export const SD_NLN2_HI = 2; // −fdlibm's ln2_hi (32 significant bits: n·C1 exact for |n| < 2^21)
export const SD_NLN2_LO = 3;
export const SD_CUT = 4; // just above ln DBL_MIN: exp(u) is normal from it on (2.7e-14 to spare)
export const SD_P0 = 5; // exp(t) ≈ 1 + t + t²·P(t), P = P0 + … + P9·t⁹ (as D_P0…)
export const SD_ONE = 15;
export const SD_TWO = 16;
export const SD_HALF = 17;
export const SD_NHALF = 18;
export const SD_TINY = 19; // 2^-54
export const SD_LN2_HI = 20;
export const SD_LN2_LO = 21;
export const SD_R0 = 22; // R(z) = z·(R0 + R1·z + … + R6·z⁶), z = s², |s| ≤ 0.2
export const SD_SIGN = 29; // −0
export const SD_ZERO = 30;
export const SD_INF = 31;
export const SD_NTINY = 32; // −2^-60
export const SD_FLT_MIN = 33; // the smallest normal float32, as a float64
const SIG64 = memory.data<f64>([
  1.4426950408889634, 6755399441056767.0, -6.93147180369123816490e-01, -1.90821492927058770002e-10, -708.3964185322641,
  0.500000000000001061759, 0.16666666666666412764, 0.041666666666530259178, 0.00833333333349433599217,
  0.00138888889435993787155, 0.000198412695067794017555, 0.0000248014931345522717146, 0.00000275575862629116872665,
  2.76302344676451772572e-7, 2.50000742362807986225e-8,
  1.0, 2.0, 0.5, -0.5, 5.551115123125783e-17, 6.93147180369123816490e-01, 1.90821492927058770002e-10,
  0.666666666666727111143, 0.399999999961615594033, 0.285714293953056858689, 0.222221385005441790285,
  0.181863561033694697839, 0.152501880026912983329, 0.153681949364600895898,
  -0.0, 0.0, Infinity, -8.673617379884035e-19, 1.1754943508222875e-38,
], 16);

/** A float64 constant of the sigmoid table, splatted. */
// @ts-ignore: decorator
@inline export function sg64(i: i32): v128 {
  return v128.load64_splat(SIG64 + (<usize>i << 3));
}

/**
 * exp(u) in two float64 lanes for u ≤ 0: 2ⁿ·(1 + t + t²·P(t)) — the factor in [0.7, 1.5],
 * so no intermediate is subnormal above the cut-off; 0 below it, NaN for NaN.
 */
// @ts-ignore: decorator
@inline export function expNonPosF64x2(u: v128, log2e: v128, magic: v128, c1: v128, c2: v128, cut: v128, ntiny: v128, one: v128,
  p0: v128, p1: v128, p2: v128, p3: v128, p4: v128, p5: v128, p6: v128, p7: v128, p8: v128, p9: v128): v128 {
  const us = f64x2.pmin(f64x2.pmax(u, cut), ntiny); // −2^-60 at most: t⁴ is not subnormal (exp rounds to 1 there)
  let n = madd64(us, log2e, magic);
  const s = i64x2.shl(n, 52);
  n = f64x2.sub(n, magic);
  let t = madd64(n, c1, us);
  t = madd64(n, c2, t);
  const t2 = f64x2.mul(t, t), t4 = f64x2.mul(t2, t2);
  const a = madd64(p1, t, p0), b = madd64(p3, t, p2), c = madd64(p5, t, p4), d = madd64(p7, t, p6), g = madd64(p9, t, p8);
  const p = madd64(t4, madd64(t4, g, madd64(t2, d, c)), madd64(t2, b, a));
  const e = f64x2.mul(f64x2.add(madd64(p, t2, t), one), s);
  return v128.andnot(e, f64x2.lt(u, cut));
}

/** log1p(e) in two float64 lanes for e ∈ [0, 1] or NaN (see above). */
// @ts-ignore: decorator
@inline export function log1pUnitF64x2(e: v128, two: v128, half: v128, nhalf: v128, tiny: v128, lnHi: v128, lnLo: v128,
  r0: v128, r1: v128, r2: v128, r3: v128, r4: v128, r5: v128, r6: v128): v128 {
  const k = f64x2.ge(e, half);
  const f = v128.bitselect(madd64(e, half, nhalf), e, k);
  const g = v128.andnot(f, f64x2.lt(e, tiny));
  const s = f64x2.div(g, f64x2.add(two, g));
  const z = f64x2.mul(s, s);
  const w = f64x2.mul(z, z);
  // R = z·(R0 + R2·w + R4·w² + R6·w³) + w·(R1 + R3·w + R5·w²), fdlibm's split
  const t1 = f64x2.mul(w, madd64(w, madd64(w, r5, r3), r1));
  const t2 = f64x2.mul(z, madd64(w, madd64(w, madd64(w, r6, r4), r2), r0));
  const hfsq = f64x2.mul(f64x2.mul(g, g), half);
  // k·ln2_hi − ((hfsq − (s·(hfsq + R) + k·ln2_lo)) − f)
  const y = f64x2.sub(hfsq, madd64(s, f64x2.add(hfsq, f64x2.add(t1, t2)), v128.and(lnLo, k)));
  return f64x2.sub(v128.and(lnHi, k), f64x2.sub(y, f));
}

/** σ(x) in two float64 lanes from e = exp(−|x|) (see `sigmoidF32x4`). */
// @ts-ignore: decorator
@inline export function sigmoidF64x2(x: v128, e: v128, one: v128): v128 {
  const small = f64x2.div(e, f64x2.add(one, e));
  return v128.bitselect(small, f64x2.sub(one, small), i64x2.shr_s(x, 63));
}

/** softplus(x) in two float64 lanes (l = log1p(exp(−|x|))). */
// @ts-ignore: decorator
@inline export function softplusF64x2(x: v128, l: v128, zero: v128): v128 {
  return f64x2.add(f64x2.pmax(x, zero), l);
}

// ---------------------------------------------------------------------------------
// float64 expm1, to float32 needs
// ---------------------------------------------------------------------------------
//
// expm1(x) for the float32 KL terms ea·(e^−u − 1), where a term's rounding costs D up to
// its relative error times the term (summed: ~9·M at worst, M = Σ p·|log p/q|), so the
// float32 exp's 2.3 ulp would spend the whole 2e-6·M bound.  n = round(x·log₂e) (the magic
// 1.5·2⁵² leaves n in the low bits, and n + 1023 shifted by 52 is 2ⁿ), t = x − n·C1 − n·C2
// ∈ [−ln2/2, ln2/2] (fdlibm's C1, 32 significant bits: n·C1 exact), expm1(t) = t + t²·P(t),
// P of degree 5 (scripts/fit-poly.py's fit_expm1(5): 2.4e-10 relative), and
//   expm1(x) = 2ⁿ·expm1(t) + (2ⁿ − 1),
// whose parts are exact but for the sum's rounding; at n = 0 it is expm1(t) itself, so a
// term near 0 keeps its relative accuracy.  The same with 2ⁿ in place of 2ⁿ − 1 is exp(x),
// to the same relative error (lanes of either, by a mask).  x is clamped to [−700, 709], so
// that 2ⁿ·expm1(t) is normal (a subnormal operand is microcoded on x86): below, expm1(x) is
// −1 and exp(x) is 2^-1010 instead of less.  NaN passes.  Worst relative error measured
// against Math.expm1 and Math.exp (2^20 random x each on [−0.35, 0.35], [−1e-8, 1e-8] and
// [−700, 709]; SIMD and relaxed-SIMD builds alike): 3.4e-10 (expm1), 9.9e-11 (exp).

// (log₂e, C1, C2 and 1 are the sigmoid table's, SD_…)
const M1_LO = 0;
const M1_HI = 1;
const M1_P0 = 2; // P = P0 + P1·t + … + P5·t⁵
const EXPM1_64 = memory.data<f64>([
  -700.0, 709.0,
  0.500000004413932296208, 0.166666663706195224165, 0.0416663610297240079831, 0.00833338934923944719868,
  0.00139406173466423697197, 0.000198458762845544569529,
], 16);

/** An `EXPM1_64` constant, splatted (read where it is used, not held across a loop). */
// @ts-ignore: decorator
@inline function m1(i: i32): v128 {
  return v128.load64_splat(EXPM1_64 + (<usize>i << 3));
}

/** expm1(x) in two float64 lanes, 3.4e-10 relative (see above); exp(x) in the lanes where `exp` is all ones. */
// @ts-ignore: decorator
@inline export function expm1F64x2(x: v128, exp: v128): v128 {
  const xs = f64x2.pmin(f64x2.pmax(x, m1(M1_LO)), m1(M1_HI)); // (NaN stays NaN)
  const magic = i64x2.splat(0x4338000000000000); // 1.5·2⁵², by its bits: AssemblyScript's parser misreads this literal
  const kn = madd64(xs, sg64(SD_LOG2E), magic);
  const s = i64x2.shl(i64x2.add(kn, i64x2.splat(1023)), 52); // 2ⁿ
  const n = f64x2.sub(kn, magic);
  const t = madd64(n, sg64(SD_NLN2_LO), madd64(n, sg64(SD_NLN2_HI), xs));
  const t2 = f64x2.mul(t, t);
  const a = madd64(t, m1(M1_P0 + 1), m1(M1_P0)), b = madd64(t, m1(M1_P0 + 3), m1(M1_P0 + 2)), c = madd64(t, m1(M1_P0 + 5), m1(M1_P0 + 4));
  const e = madd64(t2, madd64(t2, madd64(t2, c, b), a), t); // expm1(t)
  return madd64(s, e, f64x2.sub(s, v128.andnot(sg64(SD_ONE), exp)));
}

// The scalar build's exponential for its row loops, u = (x − m)/T ≤ 0 or NaN.  A row whose
// spread (max − min)/T is under NEAR_F32 (float32 rows) or NEAR_F64 takes Math.exp (the
// standard library's, 1 ulp): there no exponential is below the cut-off, and Math.exp
// takes no special case (it does below −512).  A wider row — a −Infinity entry, a wide
// spread — mixes entries whose exponential underflows with others at random, and any
// branch on them (Math.exp's own, a test of the result, or a float select or max, which
// V8 compiles to jumps) is mispredicted about as often as taken, ~15 ns each: such rows
// take `expFar32` or `expNonPos`, with no branch on u (masks and blends are integer
// operations on the bits).

/** Float32 rows narrower than this (−ln of rows.ts' F32_CUT is 87.35) take Math.exp. */
export const NEAR_F32: f64 = 87;
/** Float64 rows narrower than this take Math.exp (whose special case starts at −512). */
export const NEAR_F64: f64 = 500;

/** Bits of b where the mask is all ones, of a where it is 0. */
// @ts-ignore: decorator
@inline function blend(a: f64, b: f64, mask: i64): f64 {
  return reinterpret<f64>((reinterpret<i64>(a) & ~mask) | (reinterpret<i64>(b) & mask));
}

/**
 * exp(u), u ≤ 0 or NaN, for float32 rows in the scalar build (see above): Math.exp (1 ulp),
 * and 0 where u < ln FLT_MIN − 0.01, the vector exp's cut-off (below it Math.exp gets −1
 * instead, where it takes no special case, and its result is dropped).
 */
// @ts-ignore: decorator
@inline export function expFar32(u: f64): f64 {
  const below = -(<i64>(u < LN_FLT_MIN - 0.01)); // (NaN passes)
  const e = Math.exp(blend(u, -1, below));
  return reinterpret<f64>(reinterpret<i64>(e) & ~below);
}

/**
 * exp(u), u ≤ 0 or NaN, for float64 rows in the scalar build (see above): `expNonPosF64x2` in one lane —
 * the same operations in the same order, so the same value (1.00 ulp) — and 0 below `cut`.
 */
// @ts-ignore: decorator
@inline export function expNonPos(u: f64, cut: f64): f64 {
  const lo = load<f64>(SIG64, SD_CUT << 3), hi = load<f64>(SIG64, SD_NTINY << 3);
  const below = -(<i64>(u < lo)); // (NaN passes both)
  const us = blend(blend(u, lo, below), hi, -(<i64>(u > hi)));
  const magic = load<f64>(SIG64, SD_MAGIC << 3);
  let n = us * load<f64>(SIG64, SD_LOG2E << 3) + magic;
  const s = reinterpret<f64>(reinterpret<i64>(n) << 52);
  n -= magic;
  let t = n * load<f64>(SIG64, SD_NLN2_HI << 3) + us;
  t = n * load<f64>(SIG64, SD_NLN2_LO << 3) + t;
  const t2 = t * t, t4 = t2 * t2;
  const P = SIG64 + (SD_P0 << 3);
  const a = load<f64>(P, 8) * t + load<f64>(P), b = load<f64>(P, 24) * t + load<f64>(P, 16);
  const c = load<f64>(P, 40) * t + load<f64>(P, 32), d = load<f64>(P, 56) * t + load<f64>(P, 48);
  const g = load<f64>(P, 72) * t + load<f64>(P, 64);
  const p = t4 * (t4 * g + (t2 * d + c)) + (t2 * b + a);
  const e = ((p * t2 + t) + load<f64>(SIG64, SD_ONE << 3)) * s;
  return reinterpret<f64>(reinterpret<i64>(e) & ~below & -(<i64>!(e < cut)));
}

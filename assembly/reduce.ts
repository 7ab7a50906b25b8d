// Reductions over probability rows: entropy, cross-entropy, the KL and Jensen–Shannon
// divergences, and row sums — each row of a row-major matrix on its own, in nats.
//
// Every kernel writes res[r] and, when aux ≠ 0, the row's parts (float64, k a row): what
// validation reads (the row sums, the smallest entry) and what src/stream.ts merges for
// a row longer than the window.  A row's result never depends on the other rows or on
// where a call was split.  Kernels never allocate and never write static memory (only
// wasm globals, which are per instance).
//
// Formulations (each adds parts of one sign, so nothing cancels):
//   entropy        p₀ = max p, W = Σp, A = Σ p·(log p − log p₀) ≤ 0:
//                    H = −W·log p₀ − A, normalised log(W/p₀) − A/W.
//                  log p − log p₀ comes from one vector log of both (below), so equal
//                  entries give exactly 0, and a uniform row gives −W·log p₀ with W exact:
//                  log n to the last bits.  −W·log p₀ is formed as −L − ((W − 1)·L) with
//                  W = hi + lo and L = Math.log(p₀) (float32 rows: from the vector log),
//                  so W − 1 is exact.
//   cross-entropy  the same with q₀ = max q: H = −W_p·log q₀ − Σ p·(log q − log q₀),
//                  normalised log(W_q/q₀) − A/W_p.
//   KL             A = Σ p·log(p/q), the log taken from the bits of p and q apart (no
//                  ratio to under- or overflow: scipy gh-20710), near 1 from the exact
//                  difference of their mantissas, so close rows keep their digits;
//                  normalised D = A/W_p + log(W_q/W_p).
//   Jensen–Shannon A = Σ a·log(2a/(a + b)) + b·log(2b/(a + b)) with a = p, b = q (or
//                  p/W_p, q/W_q: the totals come in `rowIn`), the logs near 1 from
//                  ±(a − b)/(a + b); D = A/2.
// The vector logs work in bits (log₂; the sums are turned into nats once, in float64).
//
// One pass a row.  Entropy and cross-entropy scan each block of 32 entries (16 float64)
// for its largest p (q) before its terms, and move p₀ (q₀) and the sums so far up when
// it grows (see `entropyRowF32`).
//
// Sums: each vector lane adds at most 8 terms (float32 lanes for float32 rows), then the
// block goes into a float64 accumulator: a compensated pair (TwoSum) for float64 rows,
// so a sum is exact to a few ulps whatever the row's length (eight equal terms add
// exactly, so a uniform row's W is exact); a plain float64 sum for float32 rows, whose
// error (~n/32·2^-53) is far inside the float32 bound.
//
// Which lanes the vector logs see.  They take positive normal numbers only; a p lane
// that is not one is set to 0 by its bits before a float operation touches it (subnormal
// arithmetic is microcoded on many x86 cores), and its term is 0:
//   p = 0, −0                 0·log 0 = 0 and 0·log(0/q) = 0: exact.
//   p subnormal               its term (at most 1455·DBL_MIN, 192·FLT_MIN) is dropped:
//                             within every bound, unless the result is made of such
//                             terms — a row whose |result| is below n·1e-287 (float32:
//                             n·1e-28) and has a subnormal p is computed again exactly,
//                             so it keeps its digits (scipy gh-20710: KL(2.22e-308 ‖ 1e15));
//                             and a subnormal p over q = 0 still makes the row Infinity.
//   q subnormal, p > 0        (cross-entropy, KL) the lane is scaled into the normal range
//                             by its bits, its log corrected in the integer exponent (see
//                             "A subnormal q in the vector logs"): the first block that
//                             has one is done again by the kernel's second copy, which
//                             does the rest of the row — a vector term like any other.
//   q zero, p > 0             (cross-entropy, KL; JS: a ratio below the normal range): the
//                             block of 32 entries is summed again by the exact scalar
//                             terms — p > 0 = q makes the row Infinity, after which no
//                             block is.
//   negative, NaN, infinite   a negative entry (or −0) sends the row to the exact path
//                             (its value: the formula's, NaN where a log is of a negative
//                             number); NaN and ±Infinity show in the sums (aux), and
//                             validation reads both to name the entry.
// The exact scalar path — Math.log in float64, float32 entries promoted (exact), terms
// scaled by 2^600 where the row's largest entry is below 2^-400, every term kept — is
// also the scalar build's kernel, and that of special rows (no positive normal entry).
//
// Error of a float32 result: the vector logs' (below) and the float32 lane sums'
// (≤ 7·2^-24 of a block's Σ|terms|): within 2e-7 of Σ|terms|.  Float64: 2.5e-16 a term.

import {
  twoSumLoF64x2, pairTotal, pairLo, restMass, i32k, i64k, kept, widenF32x4, madd32, madd64, sumLanesF64x2,
  I_MANT, I_SQRT_HALF, L_LOG_SHIFT, L_MANT, L_SQRT_HALF, L_1023,
} from "./math";

const FLT_MIN: f64 = 1.1754943508222875e-38;
const DBL_MIN: f64 = 2.2250738585072014e-308;
const SQRT_HALF: f64 = 0.7071067811865476;
const SQRT_TWO: f64 = 1.4142135623730951;
const LN2: f64 = 0.6931471805599453;
/**
 * Rows whose largest entry is below TINY are scaled by SCALE in the exact path, and those
 * above HUGE by UNSCALE (the terms p·log(p/p₀), p·log(q/q₀), p·log(p/q) reach ~745·p, and
 * their sums W·|H|: beyond DBL_MAX near it).  A normalised row's value is then A_s/(W·s) of
 * the scaled sum A_s (W·s exact), not (A_s/s)/W: that A_s/s is subnormal where the row is.
 */
const TINY: f64 = 3.872591914849318e-121; // 2^-400
const HUGE: f64 = 2.5822498780869086e120; // 2^400
const SCALE: f64 = 4.149515568880993e180; // 2^600
const UNSCALE: f64 = 2.409919865102884e-181; // 2^-600
/**
 * A row with dropped subnormal terms is computed again exactly when |result| < n·REDO:
 * 1455·DBL_MIN·10^16 (float64), 192·FLT_MIN·10^7 (float32), rounded up.
 */
const REDO64: f64 = 1e-287;
const REDO32: f64 = 1e-28;

// ---------------------------------------------------------------------------------
// Row results (wasm globals: one set per instance, so per thread)
// ---------------------------------------------------------------------------------

let rowWhi: f64 = 0, rowWlo: f64 = 0; // W (entropy), W_p (the others)
let rowWq: f64 = 0, rowWqlo: f64 = 0; // W_q (rowWqlo: its low part where the row has one)
let rowK: i32 = 0; // KL: the row's kc (see "KL of normalised rows")
let rowMax: f64 = 0; // p₀ or q₀
let rowA: f64 = 0;
let rowAs: f64 = 0, rowSc: f64 = 1; // an exact row's A as summed, at the scale rowSc (rowA = rowAs/rowSc)
let rowMin: f64 = 0;
let rowInf = false; // some p > 0 has q = 0 (cross-entropy, KL)

// @ts-ignore: decorator
@inline function put(aux: usize, r: i32, k: i32, j: i32, v: f64): void {
  store<f64>(aux + (<usize>(r * k + j) << 3), v);
}

/** The low part of a Neumaier pair after adding v to its high part hi (the caller then adds v to hi). */
// @ts-ignore: decorator
@inline function neuLo(hi: f64, v: f64, lo: f64): f64 {
  const t = hi + v;
  return lo + (Math.abs(hi) >= Math.abs(v) ? (hi - t) + v : (v - t) + hi);
}

/** A pair's value (an infinite or NaN high part is the value: its compensation is NaN). */
// @ts-ignore: decorator
@inline function pairValue(hi: f64, lo: f64): f64 {
  return isFinite(hi) ? hi + lo : hi;
}

/** Stores a pair (hi, lo) normalised: rowWhi = hi + lo rounded, rowWlo the rest. */
// @ts-ignore: decorator
@inline function setW(hi: f64, lo: f64): void {
  const s = pairValue(hi, lo);
  rowWhi = s;
  rowWlo = isFinite(s) ? lo - (s - hi) : 0;
}

/** `setW` for W_q: rowWq and rowWqlo. */
// @ts-ignore: decorator
@inline function setWq(hi: f64, lo: f64): void {
  const s = pairValue(hi, lo);
  rowWq = s;
  rowWqlo = isFinite(s) ? lo - (s - hi) : 0;
}

// @ts-ignore: decorator
@inline function at<T>(x: usize, i: i32): f64 {
  return <f64>load<T>(x + (<usize>i << alignof<T>()));
}

// ---------------------------------------------------------------------------------
// The exact scalar logs
// ---------------------------------------------------------------------------------

/**
 * log((a + lo)/b) for a, b > 0 and lo a's low part (|lo| ≤ ½ ulp(a)): log1p of the exact
 * difference near 1 (a − b is exact there: Sterbenz), apart when a/b is not a normal number.
 */
function logRatio(a: f64, b: f64, lo: f64 = 0): f64 {
  const r = a / b;
  if (r >= SQRT_HALF && r < SQRT_TWO) return Math.log1p((a - b + lo) / b);
  if (r >= DBL_MIN && r < Infinity) return Math.log(r);
  return Math.log(a) - Math.log(b);
}

/** log(2a/(a + b)) for a > 0, b ≥ 0: log1p((a − b)/(a + b)) near 1. */
function logMix(a: f64, b: f64): f64 {
  const s = a + b;
  const r = (a + a) / s;
  if (r >= SQRT_HALF && r < SQRT_TWO) return Math.log1p((a - b) / s);
  if (r >= DBL_MIN) return Math.log(r);
  return Math.log(a + a) - Math.log(s);
}

// ---------------------------------------------------------------------------------
// KL of normalised rows
// ---------------------------------------------------------------------------------
//
// D = Σ (p/W_p)·log((p/W_p)/(q/W_q)) = A/W_p − c with A = Σ p·(log(p/q) − kc·ln 2) and
// c = log(W_p/W_q) − kc·ln 2, for any integer kc.  With kc = 0, where P ∝ Q nearly but
// the totals differ (counts against probabilities; q ≈ 1e-300), A/W_p and c are both
// log(W_p/W_q) (690 there) and cancel to an error of an ulp of that.  With kc the integer
// nearest log₂(W_p/W_q) both are below ~0.4 in size.  The logs take kc off log₂(p/q)'s
// integer part (exact), the exact terms scale the smaller of p, q by 2^|kc| (exact), and c
// is log1p of the totals' difference near 1, from their compensated pairs (`klShift`).
// The exact rows take kc from their totals (a pass before the terms); the vector rows
// from the first PREFIX entries (`klRef`), computing the row once more with the totals'
// kc where that was off and the result small against the difference (`klRowF32`).

/** Entries summed for a normalised vector row's kc (`klRef`). */
const PREFIX: i32 = 128;
/** The kc a vector row asks to be computed again with (its own: none). */
let klAgain: i32 = 0;

/** 2^k, 0 ≤ k ≤ 1023. */
// @ts-ignore: decorator
@inline function pow2(k: i32): f64 {
  return reinterpret<f64>(<u64>(k + 1023) << 52);
}

/** x·2^k for 0 ≤ k ≤ 2046, exact unless it overflows (in two steps past 2^1023). */
// @ts-ignore: decorator
@inline function scale2(x: f64, k: i32): f64 {
  return k > 1023 ? x * pow2(1023) * pow2(k - 1023) : x * pow2(k);
}

/**
 * The integer nearest log₂(wp/wq) (within 0.59: from the high words of their bits, a
 * subnormal one scaled by 2^600 first), in [−2046, 2046]; 0 unless both are positive and finite.
 */
function kcOf(wp: f64, wq: f64): i32 {
  if (!(wp > 0 && wq > 0 && wp < Infinity && wq < Infinity)) return 0;
  let e = 0;
  if (wp < DBL_MIN) {
    wp *= SCALE;
    e = -600;
  }
  if (wq < DBL_MIN) {
    wq *= SCALE;
    e += 600;
  }
  const k = ((<i32>(reinterpret<u64>(wp) >> 32) - <i32>(reinterpret<u64>(wq) >> 32) + 0x80000) >> 20) + e;
  return k > 2046 ? 2046 : k < -2046 ? -2046 : k;
}

/**
 * c = log(W_p/W_q) − kc·ln 2 from the pairs: the smaller side scaled up by 2^|kc| (exact),
 * near 1 from the pairs' difference.  Where that overflows (the larger total within 2^0.6
 * of DBL_MAX) the larger side is scaled down by 2^⌈|kc|/2⌉ and the smaller up by the rest
 * (exact: both stay near their geometric mean); log(W_p/W_q) − kc·ln 2 would cancel to an
 * ulp of 709 there.
 */
function klShift(whi: f64, wlo: f64, qhi: f64, qlo: f64, kc: i32): f64 {
  let ph = whi, pl = wlo, qh = qhi, ql = qlo;
  if (kc < 0) {
    ph = scale2(ph, -kc);
    pl = scale2(pl, -kc);
  } else if (kc > 0) {
    qh = scale2(qh, kc);
    ql = scale2(ql, kc);
  }
  if (kc != 0 && !(ph + pl < Infinity && qh + ql < Infinity)) {
    const k = abs(kc), u = pow2((k + 1) >> 1), v = pow2(k - ((k + 1) >> 1));
    ph = kc > 0 ? whi / u : whi * v;
    pl = kc > 0 ? wlo / u : wlo * v;
    qh = kc > 0 ? qhi * v : qhi / u;
    ql = kc > 0 ? qlo * v : qlo / u;
  }
  const a = ph + pl, b = qh + ql;
  if (!(a < Infinity && b < Infinity)) return logRatio(whi + wlo, qhi + qlo) - <f64>kc * LN2;
  const r = a / b;
  if (r >= SQRT_HALF && r < SQRT_TWO) return Math.log1p(((ph - qh) + (pl - ql)) / b);
  return logRatio(a, b);
}

/**
 * log(a/b) − kc·ln 2 for a, b > 0: the smaller side scaled up by 2^|kc| (exact), or where
 * that overflows, both halfway as `klShift`'s where both stay normal (exact).
 */
// @ts-ignore: decorator
@inline function logRatioK(a: f64, b: f64, kc: i32): f64 {
  if (kc == 0) return logRatio(a, b);
  const x = kc < 0 ? scale2(a, -kc) : a, y = kc > 0 ? scale2(b, kc) : b;
  return x < Infinity && y < Infinity ? logRatio(x, y) : logRatioHalfway(a, b, kc);
}
function logRatioHalfway(a: f64, b: f64, kc: i32): f64 {
  const k = abs(kc), u = pow2((k + 1) >> 1), v = pow2(k - ((k + 1) >> 1));
  const x = kc > 0 ? a / u : a * v, y = kc > 0 ? b * v : b / u;
  return x >= DBL_MIN && y >= DBL_MIN && x < Infinity && y < Infinity ? logRatio(x, y) : logRatio(a, b) - <f64>kc * LN2;
}

// ---------------------------------------------------------------------------------
// Finishing a row from its parts
// ---------------------------------------------------------------------------------

const LN2_HI: f64 = 6.93147180369123816490e-01; // 32 bits: k·LN2_HI is exact
const LN2_LO: f64 = 1.90821492927058770002e-10;

/** Set by `logSplit`: the low part of log m. */
let logLo: f64 = 0;

/**
 * log m as a double-double (returned high part, `logLo`): m = 2ᵏ·f', f' ∈ [√½, √2),
 * log m = k·LN2_HI + (k·LN2_LO + log1p(f' − 1)) — the high part exact, the low part
 * within ~4e-17 — so that a result that is −log m to first order (a uniform row's
 * entropy) is rounded once.  Subnormal m: Math.log, low part 0.
 */
function logSplit(m: f64): f64 {
  if (!(m >= DBL_MIN && m < Infinity)) {
    logLo = 0;
    return Math.log(m);
  }
  const b = reinterpret<u64>(m);
  let k = <i32>((b >> 52) & 0x7ff) - 1023;
  let f = reinterpret<f64>((b & 0x000fffffffffffff) | 0x3ff0000000000000); // [1, 2)
  if (f >= SQRT_TWO) {
    f *= 0.5;
    k++;
  }
  logLo = <f64>k * LN2_LO + Math.log1p(f - 1.0);
  return <f64>k * LN2_HI;
}

/** −W·L − A with W = whi + wlo, L = lhi + llo = log m₀: near W = 1 as −lhi − (llo + (W − 1)·L + A). */
function negWLogMinus(whi: f64, wlo: f64, lhi: f64, llo: f64, A: f64): f64 {
  if (!isFinite(whi)) return NaN;
  const d = (whi - 1) + wlo;
  const L = lhi + llo;
  if (Math.abs(d) <= 0.5) return -lhi - (llo + (d * L + A));
  return -((whi + wlo) * L) - A;
}

/** H from W = whi + wlo, p₀ and A·sc (sc: the scale A was summed at, a power of two). */
function entropyValue(whi: f64, wlo: f64, p0: f64, A: f64, mn: f64, norm: bool, sc: f64 = 1.0): f64 {
  if (!(mn >= 0) || !isFinite(whi)) return NaN;
  if (p0 == 0) return 0;
  if (norm) {
    // log(W/p₀) with W's low part: near 1 (a dominant entry) W/p₀ rounded would carry
    // 2⁻⁵³/log(W/p₀) relative error (the SIMD rows' wlo is then W − p₀ summed again apart
    // from p₀: `restMass`)
    return logRatio(whi, p0, wlo) - A / ((whi + wlo) * sc);
  }
  const hi = logSplit(p0);
  return negWLogMinus(whi, wlo, hi, logLo, A / sc);
}

/** H(P, Q) from W_p = whi + wlo, W_q = Wq + Wqlo, q₀ and A·sc (as `entropyValue`'s). */
function crossEntropyValue(whi: f64, wlo: f64, Wq: f64, Wqlo: f64, q0: f64, A: f64, mn: f64, inf: bool, norm: bool, sc: f64 = 1.0): f64 {
  // (a negative p is a term like any other: −p·log q; a negative q makes its log NaN)
  if (!isFinite(whi) || !isFinite(Wq)) return NaN;
  if (inf) return Infinity;
  if (whi == 0 && A == 0) return 0; // no mass (an empty row): no terms
  if (norm) return logRatio(Wq, q0, Wqlo) - A / ((whi + wlo) * sc); // (with W_q's low part, as `entropyValue`)
  const hi = logSplit(q0);
  return negWLogMinus(whi, wlo, hi, logLo, A / sc);
}

/**
 * D from W_p = whi + wlo, W_q = qhi + qlo and A = Σ p·(log(p/q) − kc·ln 2), summed at the
 * scale sc (unnormalised rows: kc = 0, D = A).
 */
function klValue(whi: f64, wlo: f64, qhi: f64, qlo: f64, A: f64, kc: i32, mn: f64, inf: bool, norm: bool, sc: f64 = 1.0): f64 {
  if (!(mn >= 0) || !isFinite(whi) || !isFinite(qhi)) return NaN;
  if (inf) return Infinity;
  const Wp = whi + wlo;
  if (!norm || Wp == 0) return A / sc; // (no mass: no terms)
  if (!(Wp > 0 && qhi + qlo > 0)) return NaN;
  return A / (Wp * sc) - klShift(whi, wlo, qhi, qlo, kc);
}

function jsValue(Wp: f64, Wq: f64, A: f64, mn: f64): f64 {
  if (!(mn >= 0) || !isFinite(Wp) || !isFinite(Wq)) return NaN;
  return A * 0.5;
}

// (stream.ts finishes a long row's merged parts with the same formulas in JS:
// src/js/reduce.ts, whose twins share them.)

// ---------------------------------------------------------------------------------
// The exact scalar rows (the scalar build; special rows; rows computed again)
// ---------------------------------------------------------------------------------

/** max, min of a row (NaN ignored). */
let scanMax: f64 = 0, scanMin: f64 = 0;
function scan<T>(x: usize, n: i32): void {
  let m: f64 = 0, mn: f64 = Infinity;
  for (let i = 0; i < n; i++) {
    const v = at<T>(x, i);
    if (v > m) m = v;
    if (v < mn) mn = v;
  }
  scanMax = m;
  scanMin = mn;
}

/** Σ x (compensated) and min x of a row: rowWhi/rowWlo, rowMin. */
function sumRowExact<T>(x: usize, n: i32): void {
  let hi: f64 = 0, lo: f64 = 0, mn: f64 = Infinity;
  for (let i = 0; i < n; i++) {
    const v = at<T>(x, i);
    lo = neuLo(hi, v, lo);
    hi += v;
    if (v < mn) mn = v;
  }
  setW(hi, lo);
  rowMin = mn;
}

/** rowA = A/sc (a part for the callers' merges), and A and sc themselves (`rowAs`, `rowSc`) for the row's own value. */
// @ts-ignore: decorator
@inline function setA(A: f64, sc: f64): void {
  rowAs = A;
  rowSc = sc;
  rowA = A / sc;
}

/** Entropy parts of a row, every term exact: rowWhi/rowWlo, rowMax = p₀, rowA, rowMin. */
function entropyRowExact<T>(x: usize, n: i32): void {
  scan<T>(x, n);
  const p0 = scanMax, mn = scanMin;
  const ok = mn >= 0 && p0 > 0 && p0 < Infinity;
  const sc: f64 = p0 < TINY ? SCALE : p0 > HUGE ? UNSCALE : 1.0;
  const L = ok ? Math.log(p0) : 0;
  let whi: f64 = 0, wlo: f64 = 0, ahi: f64 = 0, alo: f64 = 0;
  for (let i = 0; i < n; i++) {
    const v = at<T>(x, i);
    wlo = neuLo(whi, v, wlo);
    whi += v;
    if (ok && v > 0) {
      const t = (v * sc) * (Math.log(v) - L);
      alo = neuLo(ahi, t, alo);
      ahi += t;
    }
  }
  setW(whi, wlo);
  rowMax = p0;
  setA(pairValue(ahi, alo), sc);
  rowMin = mn;
}

/** Cross-entropy parts, exact: rowWhi/rowWlo (W_p), rowWq, rowMax = q₀, rowA, rowMin, rowInf. */
function crossEntropyRowExact<T>(p: usize, q: usize, n: i32): void {
  scan<T>(q, n);
  const q0 = scanMax;
  let mn = scanMin, pmax: f64 = 0;
  for (let i = 0; i < n; i++) {
    const v = at<T>(p, i);
    if (v < mn) mn = v;
    if (v > pmax) pmax = v;
  }
  const sc: f64 = pmax < TINY ? SCALE : pmax > HUGE ? UNSCALE : 1.0;
  const L = q0 > 0 && q0 < Infinity ? Math.log(q0) : 0;
  let whi: f64 = 0, wlo: f64 = 0, qhi: f64 = 0, qlo: f64 = 0, ahi: f64 = 0, alo: f64 = 0;
  let inf = false;
  for (let i = 0; i < n; i++) {
    const vp = at<T>(p, i), vq = at<T>(q, i);
    wlo = neuLo(whi, vp, wlo);
    whi += vp;
    qlo = neuLo(qhi, vq, qlo);
    qhi += vq;
    // every p ≠ 0 (with validate: false a negative p gives the formula's value, as a loop would)
    if (vp != 0) {
      if (vq == 0 && vp > 0) inf = true;
      else {
        const t = (vp * sc) * (Math.log(vq) - L);
        alo = neuLo(ahi, t, alo);
        ahi += t;
      }
    }
  }
  setW(whi, wlo);
  setWq(qhi, qlo);
  rowMax = q0;
  setA(pairValue(ahi, alo), sc);
  rowMin = mn;
  rowInf = inf;
}

/**
 * KL parts, exact: rowWhi/rowWlo (W_p), rowWq/rowWqlo, rowA = Σ p·(log(p/q) − kc·ln 2),
 * rowK = kc (normalised rows: from the totals, a pass before the terms; else 0), rowMin, rowInf.
 */
function klRowExact<T>(p: usize, q: usize, n: i32, norm: bool): void {
  let pmax: f64 = 0, mn: f64 = Infinity;
  let whi: f64 = 0, wlo: f64 = 0, qhi: f64 = 0, qlo: f64 = 0, ahi: f64 = 0, alo: f64 = 0;
  for (let i = 0; i < n; i++) {
    const vp = at<T>(p, i), vq = at<T>(q, i);
    if (vp > pmax) pmax = vp;
    if (vp < mn) mn = vp;
    if (vq < mn) mn = vq;
    wlo = neuLo(whi, vp, wlo);
    whi += vp;
    qlo = neuLo(qhi, vq, qlo);
    qhi += vq;
  }
  setW(whi, wlo);
  setWq(qhi, qlo);
  const kc = norm ? kcOf(rowWhi, rowWq) : 0;
  const sc: f64 = pmax < TINY ? SCALE : pmax > HUGE ? UNSCALE : 1.0;
  let inf = false;
  for (let i = 0; i < n; i++) {
    const vp = at<T>(p, i), vq = at<T>(q, i);
    if (vp > 0) {
      if (vq > 0) {
        const t = (vp * sc) * logRatioK(vp, vq, kc);
        alo = neuLo(ahi, t, alo);
        ahi += t;
      } else if (vq == 0) inf = true;
    }
  }
  setA(pairValue(ahi, alo), sc);
  rowK = kc;
  rowMin = mn;
  rowInf = inf;
}

/** JS parts, exact, with a = p/Tp, b = q/Tq (Tp = Tq = 1: unnormalised): rowWhi (W_p), rowWq, rowA, rowMin. */
function jsRowExact<T>(p: usize, q: usize, n: i32, Tp: f64, Tq: f64): void {
  scan<T>(p, n);
  let big = scanMax / Tp;
  let mn = scanMin;
  scan<T>(q, n);
  if (scanMin < mn) mn = scanMin;
  if (scanMax / Tq > big) big = scanMax / Tq;
  const sc: f64 = big < TINY ? SCALE : 1.0;
  let whi: f64 = 0, wlo: f64 = 0, qhi: f64 = 0, qlo: f64 = 0, ahi: f64 = 0, alo: f64 = 0;
  for (let i = 0; i < n; i++) {
    const vp = at<T>(p, i), vq = at<T>(q, i);
    wlo = neuLo(whi, vp, wlo);
    whi += vp;
    qlo = neuLo(qhi, vq, qlo);
    qhi += vq;
    if (vp > 0 || vq > 0) {
      const a = Tp == 1.0 ? vp : vp / Tp, b = Tq == 1.0 ? vq : vq / Tq;
      let t: f64 = 0;
      if (a > 0) t = (a * sc) * logMix(a, b);
      if (b > 0) t += (b * sc) * logMix(b, a);
      alo = neuLo(ahi, t, alo);
      ahi += t;
    }
  }
  setW(whi, wlo);
  rowWq = pairValue(qhi, qlo);
  rowA = pairValue(ahi, alo) * (sc == 1.0 ? 1.0 : UNSCALE);
  rowMin = mn;
}

// Block sums of the exact terms, for the vector kernels' careful blocks: [i0, i1) of a row.

function ceBlockExact<T>(p: usize, q: usize, i0: i32, i1: i32, L: f64): f64 {
  let hi: f64 = 0, lo: f64 = 0;
  for (let i = i0; i < i1; i++) {
    const vp = at<T>(p, i), vq = at<T>(q, i);
    if (vp != 0) {
      if (vq == 0 && vp > 0) {
        rowInf = true; // the row is Infinity (or NaN, from its sums): its terms no longer matter
        return 0;
      }
      const t = vp * (Math.log(vq) - L);
      lo = neuLo(hi, t, lo);
      hi += t;
    }
  }
  return hi + lo;
}

function klBlockExact<T>(p: usize, q: usize, i0: i32, i1: i32, kc: i32): f64 {
  let hi: f64 = 0, lo: f64 = 0;
  for (let i = i0; i < i1; i++) {
    const vp = at<T>(p, i), vq = at<T>(q, i);
    if (vp > 0) {
      if (vq > 0) {
        const t = vp * logRatioK(vp, vq, kc);
        lo = neuLo(hi, t, lo);
        hi += t;
      } else if (vq == 0) {
        rowInf = true; // as in ceBlockExact
        return 0;
      }
    }
  }
  return hi + lo;
}

function jsBlockExact<T>(p: usize, q: usize, i0: i32, i1: i32, Tp: f64, Tq: f64): f64 {
  let hi: f64 = 0, lo: f64 = 0;
  for (let i = i0; i < i1; i++) {
    const vp = at<T>(p, i), vq = at<T>(q, i);
    const a = Tp == 1.0 ? vp : vp / Tp, b = Tq == 1.0 ? vq : vq / Tq;
    let t: f64 = 0;
    if (a > 0) t = a * logMix(a, b);
    if (b > 0) t += b * logMix(b, a);
    lo = neuLo(hi, t, lo);
    hi += t;
  }
  return hi + lo;
}

// ---------------------------------------------------------------------------------
// Vector helpers
// ---------------------------------------------------------------------------------

/**
 * Lanes whose bits, as signed integers, are above `lo` (the bits of the smallest normal
 * number, less one): positive normal numbers, +Infinity and NaN — never 0, −0, a
 * subnormal or a negative number.  (Infinite and NaN entries make their row NaN
 * through its sums; they need not be told apart here.)
 */
// @ts-ignore: decorator
@inline function aboveF32x4(v: v128, lo: v128): v128 {
  return i32x4.gt_s(v, lo);
}

// @ts-ignore: decorator
@inline function aboveF64x2(v: v128, lo: v128): v128 {
  return i64x2.gt_s(v, lo);
}

/** Entries [i, n) of a float32 row, 1 ≤ n − i ≤ 3, in lanes 0…, the others 0 (reads only the row). */
// @ts-ignore: decorator
@inline function tailF32(x: usize, i: i32, n: i32): v128 {
  const p = x + (<usize>i << 2);
  let v = v128.load32_zero(p);
  if (n - i > 1) v = v128.load32_lane(p, v, 1, 4);
  if (n - i > 2) v = v128.load32_lane(p, v, 2, 8);
  return v;
}

/** Entry i of a float64 row in lane 0, lane 1 zero. */
// @ts-ignore: decorator
@inline function tailF64(x: usize, i: i32): v128 {
  return v128.load64_zero(x + (<usize>i << 3));
}

/** Lanes [0, k) set (k in 1…3). */
// @ts-ignore: decorator
@inline function laneMaskF32(k: i32): v128 {
  return i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(k));
}

// @ts-ignore: decorator
@inline function scalarLane(v: f64): v128 {
  return f64x2.replace_lane(f64x2.splat(0), 0, v);
}

// ---------------------------------------------------------------------------------
// log x − log m₀ in vector lanes
// ---------------------------------------------------------------------------------
//
// Entropy and cross-entropy need d = log₂ x − log₂ m₀ for the row's largest entry m₀.
// With x = 2ᵏ·m, m ∈ [√½, √2) from the bits (m₀ = 2^k₀·m₀'), d = (k − k₀) + (log₂ m −
// log₂ m₀'): the integer k − k₀ comes out of the bits directly (k₀ is folded into the
// shift that moves the exponent boundary to √½), and log₂ m = s·Q(s²), s = (m − 1)/(m +
// 1), |s| ≤ 0.1716 (m − 1 exact; one division).  x = m₀ gives d = 0 exactly (the same
// operations on the same bits), so equal entries cancel exactly.  Q is a least-squares
// fit of log₂(m)/s on s² ∈ [0, 0.02944]:
//   float32: degree 3, |error of log₂ m| ≤ 8.2e-8 evaluated in float32;
//   float64: degree 6, relative error 2.1e-16.
// Only positive normal x: other lanes give a finite meaningless value, which the
// callers multiply by 0.  16 (float32) / 21 (float64) operations a vector, against 30 /
// 32 for log x − log m₀ from math.ts's logs.

const DL32 = memory.data<f32>([
  2.885390043258667, 0.9617988467216492, 0.5767145156860352, 0.43173301219940186, 1.0,
], 16);
const DL64 = memory.data<f64>([
  2.8853900817779268, 0.9617966939247984, 0.5770780171213384, 0.4121984165065179, 0.3206155741577704,
  0.26146626388149474, 0.24268690881416238, 1.0,
], 16);

// @ts-ignore: decorator
@inline function dl32(i: i32): v128 {
  return v128.load32_splat(DL32 + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function dl64(i: i32): v128 {
  return v128.load64_splat(DL64 + (<usize>i << 3));
}

/** The float32 shift of `logDiffF32x4` for a row whose largest entry has the bits b₀. */
// @ts-ignore: decorator
@inline function diffShiftF32(b0: i32): i32 {
  const s: i32 = 0x004afb0d; // 0x3f800000 − 0x3f3504f3
  return s - ((b0 + s) & 0xff800000);
}

/** log₂ m of `logDiffF32x4` (for x = m₀: log₂ m₀', the row's r₀). */
// @ts-ignore: decorator
@inline function log2MF32x4(ix: v128, mant: v128, sqrtHalf: v128, one: v128, c0: v128, c1: v128, c2: v128, c3: v128): v128 {
  const m = i32x4.add(v128.and(ix, mant), sqrtHalf);
  const s = f32x4.div(f32x4.sub(m, one), f32x4.add(m, one));
  const z = f32x4.mul(s, s);
  return f32x4.mul(s, madd32(madd32(madd32(c3, z, c2), z, c1), z, c0));
}

/**
 * d = log₂ x − log₂ m₀ in four float32 lanes (float32 rows work in bits, and their sums
 * are turned into nats once, in float64): `shift` from `diffShiftF32`, r₀ = log₂ m₀'.
 */
// @ts-ignore: decorator
@inline function logDiffF32x4(x: v128, shift: v128, mant: v128, sqrtHalf: v128, one: v128, r0: v128,
  c0: v128, c1: v128, c2: v128, c3: v128): v128 {
  const ix = i32x4.add(x, shift);
  const kd = f32x4.convert_i32x4_s(i32x4.shr_s(ix, 23));
  return f32x4.add(kd, f32x4.sub(log2MF32x4(ix, mant, sqrtHalf, one, c0, c1, c2, c3), r0));
}

/** The float64 k₀ term of `logDiffF64x2`: 1023 + k₀ for a row whose largest entry has the bits b₀. */
// @ts-ignore: decorator
@inline function diffBiasF64(b0: i64): i64 {
  return <i64>(<u64>(b0 + 0x00095f6200000000) >> 52);
}

// @ts-ignore: decorator
@inline function log2MF64x2(ix: v128, mant: v128, sqrtHalf: v128, one: v128,
  c0: v128, c1: v128, c2: v128, c3: v128, c4: v128, c5: v128, c6: v128): v128 {
  const m = i64x2.add(v128.and(ix, mant), sqrtHalf);
  const s = f64x2.div(f64x2.sub(m, one), f64x2.add(m, one));
  const z = f64x2.mul(s, s);
  const p = madd64(madd64(madd64(madd64(madd64(madd64(c6, z, c5), z, c4), z, c3), z, c2), z, c1), z, c0);
  return f64x2.mul(s, p);
}

/** d = log₂ x − log₂ m₀ in two float64 lanes: `shift` = L_LOG_SHIFT, `bias` from `diffBiasF64`, r₀ = log₂ m₀'. */
// @ts-ignore: decorator
@inline function logDiffF64x2(x: v128, shift: v128, bias: v128, mant: v128, sqrtHalf: v128, one: v128, r0: v128,
  c0: v128, c1: v128, c2: v128, c3: v128, c4: v128, c5: v128, c6: v128): v128 {
  const ix = i64x2.add(x, shift);
  // a logical shift: ix ≥ 0 for every x this is for; k − k₀ = (ix >> 52) − (1023 + k₀)
  const k = i64x2.sub(i64x2.shr_u(ix, 52), bias);
  const kd = f64x2.convert_low_i32x4_s(i32x4.shuffle(k, k, 0, 2, 0, 2));
  return f64x2.add(kd, f64x2.sub(log2MF64x2(ix, mant, sqrtHalf, one, c0, c1, c2, c3, c4, c5, c6), r0));
}

// log₂(p/q) without forming p/q (KL): with p = 2^kp·mp and q = 2^kq·mq, mp, mq ∈ [√½, √2)
// from the bits, log₂(p/q) = (kp − kq) + log₂(mp/mq) = (kp − kq) + s·Q(s²), s = (mp − mq)/(mp
// + mq), |s| ≤ ⅓: one division, no ratio to under- or overflow (scipy gh-20710), and
// where p ≈ q (same kp, kq) mp − mq is exact, so close rows keep their digits.  Q is a
// least-squares fit on s² ∈ [0, ⅑]: float32 degree 4 (relative error 2.1e-8), float64
// degree 9 (7.5e-17).  Where p and q straddle a power of two times √½ (kp ≠ kq, p ≈ q)
// the two parts cancel: an absolute error of an ulp of 1, within the bounds relative to
// the terms' magnitudes (such entries are a fraction ~|p − q|/p of the row).
const KR32 = memory.data<f32>([
  2.885390043258667, 0.9617916345596313, 0.5774365663528442, 0.4033980071544647, 0.40647438168525696,
], 16);
const KR64 = memory.data<f64>([
  2.8853900817779268, 0.9617966939262065, 0.5770780162872596, 0.4121985909365818, 0.32059844406445875,
  0.26232325497325837, 0.22165040788318593, 0.19608633399205647, 0.14252442138568774, 0.25657277253200705,
], 16);

// @ts-ignore: decorator
@inline function kr32(i: i32): v128 {
  return v128.load32_splat(KR32 + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function kr64(i: i32): v128 {
  return v128.load64_splat(KR64 + (<usize>i << 3));
}

/**
 * log₂(p/q) − kc in four float32 lanes for positive normal p and q's bits x (a scaled
 * subnormal's: see `klF32T`); other lanes give a finite, meaningless value.  k, the integer
 * nearest the bits' difference over 2²³, is within 0.59 of log₂(p/q), so p and q·2^k (q's
 * exponent field moved by k) are within a factor 1.5; both are then moved by p's exponent
 * into [2/3, 3) (exact, in the bits: no lane computes with a subnormal, whatever p and q),
 * and log₂(p/(q·2^k)) = 2·atanh(s)/ln 2 with s = (p′ − q′)/(p′ + q′), |s| < 0.2, its
 * numerator exact (Sterbenz).  A close pair has k = 0 and s of p and q themselves;
 * reduced apart, as a table log would, a pair either side of 2^j·√2 would give
 * ±1 + log₂(mp/mq), cancelling to an ulp of 1 (6e-8 against a log₂ of ~(p − q)/q).
 * (A p of 0, subnormal, negative, infinite or NaN still gives finite bits: its term is
 * dropped, or its row computed again, by the caller.)  `half` = 2²², `expo`, `one`: the
 * bits of the exponent field and of 1; `kcv` the row's kc (see "KL of normalised rows").
 */
// @ts-ignore: decorator
@inline function log2RatioF32x4(p: v128, x: v128, kcv: v128, half: v128, expo: v128, one: v128, mant: v128,
  c0: v128, c1: v128, c2: v128, c3: v128, c4: v128, wide: bool): v128 {
  // (bits(p) − x stays within 32 bits for a normal q, whose bits are ≥ 0; a scaled
  // subnormal's reach −22·2²³, and there, `wide` (a constant at each call), the exponent
  // fields and the mantissas are differenced apart, the second's carry −1, 0 or 1)
  const k = wide
    ? i32x4.add(i32x4.sub(i32x4.shr_s(p, 23), i32x4.shr_s(x, 23)), i32x4.shr_s(i32x4.add(i32x4.sub(v128.and(p, mant), v128.and(x, mant)), half), 23))
    : i32x4.shr_s(i32x4.add(i32x4.sub(p, x), half), 23);
  const e = i32x4.sub(v128.and(p, expo), one);
  const p1 = i32x4.sub(p, e), q1 = i32x4.sub(i32x4.add(x, i32x4.shl(k, 23)), e);
  const s = f32x4.div(f32x4.sub(p1, q1), f32x4.add(p1, q1));
  const z = f32x4.mul(s, s);
  const kd = f32x4.convert_i32x4_s(i32x4.sub(k, kcv));
  return f32x4.add(kd, f32x4.mul(s, madd32(madd32(madd32(madd32(c4, z, c3), z, c2), z, c1), z, c0)));
}

/**
 * log₂(p/q) − kc in two float64 lanes for positive normal p, q; `shift` = L_LOG_SHIFT,
 * `pshift` the same (over a scaled subnormal q: plus 1022 << 52, which adds 1022 to kp −
 * kq; kp + 1022 < 4096 stays in the 12 bits above the mantissa), `kcv` the row's kc.
 */
// @ts-ignore: decorator
@inline function log2RatioF64x2(p: v128, q: v128, pshift: v128, kcv: v128, shift: v128, mant: v128, sqrtHalf: v128,
  c0: v128, c1: v128, c2: v128, c3: v128, c4: v128, c5: v128, c6: v128, c7: v128, c8: v128, c9: v128): v128 {
  const ip = i64x2.add(p, pshift), iq = i64x2.add(q, shift);
  // logical shifts: ip, iq ≥ 0 for positive normal p, q
  const k = i64x2.sub(i64x2.sub(i64x2.shr_u(ip, 52), i64x2.shr_u(iq, 52)), kcv);
  const kd = f64x2.convert_low_i32x4_s(i32x4.shuffle(k, k, 0, 2, 0, 2));
  const mp = i64x2.add(v128.and(ip, mant), sqrtHalf), mq = i64x2.add(v128.and(iq, mant), sqrtHalf);
  const s = f64x2.div(f64x2.sub(mp, mq), f64x2.add(mp, mq));
  const z = f64x2.mul(s, s);
  let c = madd64(madd64(madd64(madd64(c9, z, c8), z, c7), z, c6), z, c5);
  c = madd64(madd64(madd64(madd64(madd64(c, z, c4), z, c3), z, c2), z, c1), z, c0);
  return f64x2.add(kd, f64x2.mul(s, c));
}

/** Bits to add to a float32 for `log2NearF32x4`: the √½ boundary shift less the bits of 1.0, so k comes out of a shift. */
const NEAR_SHIFT32: i32 = 0x004afb0d - 0x3f800000;

/**
 * log₂ x in four float32 lanes for positive normal x, accurate near 1: where x ∈ [√½, √2)
 * (k = 0) the series variable is f/(f + 2) with f = x − 1 given by the caller (from an
 * exact difference), else (m − 1)/(m + 1).  Other lanes: finite, meaningless.
 */
// @ts-ignore: decorator
@inline function log2NearF32x4(x: v128, f: v128, shift: v128, mant: v128, sqrtHalf: v128, one: v128, two: v128,
  c0: v128, c1: v128, c2: v128, c3: v128): v128 {
  const ix = i32x4.add(x, shift);
  const k = i32x4.shr_s(ix, 23);
  const m = i32x4.add(v128.and(ix, mant), sqrtHalf);
  const num = v128.bitselect(f, f32x4.sub(m, one), i32x4.eq(k, i32x4.splat(0)));
  const s = f32x4.div(num, f32x4.add(num, two));
  const z = f32x4.mul(s, s);
  return f32x4.add(f32x4.convert_i32x4_s(k), f32x4.mul(s, madd32(madd32(madd32(c3, z, c2), z, c1), z, c0)));
}

/**
 * log₂ x in two float64 lanes for positive normal x = a/b, accurate near 1: where
 * x ∈ [√½, √2) the series variable is num/den, which the caller gives as (a − b)/(a + b)
 * (or the like), else (m − 1)/(m + 1).
 */
// @ts-ignore: decorator
@inline function log2NearF64x2(x: v128, num0: v128, den0: v128, shift: v128, mant: v128, sqrtHalf: v128, i1023: v128, one: v128,
  c0: v128, c1: v128, c2: v128, c3: v128, c4: v128, c5: v128, c6: v128): v128 {
  const ix = i64x2.add(x, shift);
  const k = i64x2.sub(i64x2.shr_u(ix, 52), i1023);
  const m = i64x2.add(v128.and(ix, mant), sqrtHalf);
  const near = i64x2.eq(k, i64x2.splat(0));
  const num = v128.bitselect(num0, f64x2.sub(m, one), near);
  const den = v128.bitselect(den0, f64x2.add(m, one), near);
  const s = f64x2.div(num, den);
  const z = f64x2.mul(s, s);
  const p = madd64(madd64(madd64(madd64(madd64(madd64(c6, z, c5), z, c4), z, c3), z, c2), z, c1), z, c0);
  const kd = f64x2.convert_low_i32x4_s(i32x4.shuffle(k, k, 0, 2, 0, 2));
  return f64x2.add(kd, f64x2.mul(s, p));
}

// ---------------------------------------------------------------------------------
// A subnormal q in the vector logs (cross-entropy, KL)
// ---------------------------------------------------------------------------------
//
// A subnormal number is an integer times the smallest subnormal: its bits b, read as an
// integer, are its value in units of 2^-149 (float32, 1 ≤ b < 2^23) or 2^-1074 (float64,
// 1 ≤ b < 2^52).  So a subnormal q is made normal without a float operation on it:
//   float32: the i32 → f32 conversion of the bits is b itself, exact (b < 2^24), a
//            normal number ≥ 1, and log₂ q = log₂ b − 149;
//   float64: (no i64 → f64 vector conversion) the bits put under the exponent of 1.0
//            are 1 + b·2^-52, and subtracting 1 is exact (Sterbenz: both in [1, 2)):
//            b·2^-52 = q·2^1022, a normal number ≥ 2^-52, and log₂ q = log₂(b·2^-52) − 1022.
// The 149 (1022) comes off the integer exponent k of the vector log, which the log's
// reduction takes from the bits anyway.  Float32 (`subBitsF32x4`): the lane holds b's
// float bits less 149 << 23 — not a float, but bits that only the log's integer
// reduction reads (an add and shifts), giving k − 149 and b's mantissa; for
// cross-entropy k − k₀ − 149 must fit the 9 bits above the mantissa, so q₀ < 2^100
// (larger, the row is exact).  Float64: the bias of cross-entropy's k gets 1022 more, and
// KL's p lane's shift 1022 << 52 more (kp + 1022 < 4096 fits the 12 bits above the
// mantissa of p + shift, read by a logical shift; q's can't go below 0).  The log of the
// scaled number is as accurate as any other lane's, and k is exact, so the term is too.
// Multiplying q by 2^k instead would itself be a multiplication with a subnormal operand,
// which many x86 cores do in a microcode assist (of the order of 100 cycles): the slow
// path this avoids.
// Lanes that are not subnormal keep their bits (a bitselect on `aboveF32x4`), and the
// scaled copy takes every positive q (`qOkF32x4`): 0, −0 and negative q are still not
// taken, so p > 0 over them still makes the block careful (q = 0: Infinity; a negative q
// sends the row to the exact path).
//
// The kernels (cross-entropy and KL) have two copies, by a type argument (`Plain`,
// `Scaled`): the plain one is the loop of rows without a subnormal q; at the first block
// that has a subnormal q under p > 0 (`subUnderF32`), it hands the row, with its sums so
// far, to the scaled copy, which does that block again and the rest of the row (a row
// with one subnormal q usually has more: this costs one block, and keeps the plain loop
// as it was).  A block careful for q = 0 alone (an Infinity row) stays in the plain copy.
// The scaled loop does 4–6 more operations a vector (its cost: docs/performance.md).

/** Float32: 149 << 23, taken from a scaled lane's bits (`subBitsF32x4`). */
const SUBQ32 = memory.data<i32>([0x4a800000], 16);
/** Cross-entropy scales float32 lanes only while q₀ < 2^100 (its bits): see `subBitsF32x4`. */
const SUB_REF32: u32 = 0x71800000;
/** Float64: 1022 (from k), 1022 << 52 (added to the shift of p: KL's k = kp − kq), the bits of 1.0. */
const SUBQ64 = memory.data<i64>([1022, 0x3fe0000000000000, 0x3ff0000000000000], 16);

/** The two copies of the cross-entropy and KL kernels (type arguments): subnormal q as it is, or scaled. */
type Plain = u8;
type Scaled = u16;

/** Whether a kernel copy scales subnormal q (a constant: the other copy's code is not compiled in). */
// @ts-ignore: decorator
@inline function scaledOf<S>(): bool {
  return sizeof<S>() == 2;
}

/**
 * A scaled float32 q: a subnormal lane's bits as b's float bits less 149 << 23 — not a
 * float, but bits whose reduction in `logDiffF32x4` or `log2RatioF32x4` (an integer add
 * and shifts, no float operation) gives k − 149 and b's mantissa: log₂ q.  (No wrap: b's
 * bits are in [0x3f800000, 0x4b000000).)  Other lanes keep their bits.
 */
// @ts-ignore: decorator
@inline function subBitsF32x4(q: v128, lo: v128, e149: v128): v128 {
  return v128.bitselect(q, i32x4.sub(f32x4.convert_i32x4_s(q), e149), aboveF32x4(q, lo));
}

/** Lanes whose q the vector logs take: positive normal (`Plain`), or any positive (`Scaled`: subnormal q too). */
// @ts-ignore: decorator
@inline function qOkF32x4<S>(q: v128, lo: v128): v128 {
  return scaledOf<S>() ? i32x4.gt_s(q, i32x4.splat(0)) : aboveF32x4(q, lo);
}

// @ts-ignore: decorator
@inline function qOkF64x2<S>(q: v128, lo: v128): v128 {
  return scaledOf<S>() ? i64x2.gt_s(q, i64x2.splat(0)) : aboveF64x2(q, lo);
}

/** q with its subnormal lanes as q·2^1022 (see above); `one` is 1.0, `mant` the mantissa mask. */
// @ts-ignore: decorator
@inline function subQF64x2(q: v128, u: v128, mant: v128, one: v128): v128 {
  return v128.bitselect(q, f64x2.sub(v128.bitselect(q, one, mant), one), u);
}

/**
 * Whether entries [i0, i1) of float32 rows have a subnormal q under a p above the normal
 * range's bottom: a careful block that the scaled copy can take (not one whose careful
 * lanes are all q = 0 or negative: those stay exact blocks, and the row Infinity).
 */
function subUnderF32(p: usize, q: usize, i0: i32, i1: i32): bool {
  for (let i = i0; i < i1; i++) {
    const o = <usize>i << 2;
    const bq = load<i32>(q + o);
    if (load<i32>(p + o) > 0x007fffff && bq > 0 && bq <= 0x007fffff) return true;
  }
  return false;
}

function subUnderF64(p: usize, q: usize, i0: i32, i1: i32): bool {
  for (let i = i0; i < i1; i++) {
    const o = <usize>i << 3;
    const bq = load<i64>(q + o);
    if (load<i64>(p + o) > 0x000fffffffffffff && bq > 0 && bq <= 0x000fffffffffffff) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------
// Row sums
// ---------------------------------------------------------------------------------

/** res[r] = Σ x[r, :] (compensated); aux (2 a row): the sum, the smallest entry. */
export function sumRowsF32(x: usize, rows: i32, cols: i32, res: usize, aux: usize): void {
  for (let r = 0; r < rows; r++) {
    const row = x + (<usize>r * <usize>cols << 2);
    if (!ASC_FEATURE_SIMD) sumRowExact<f32>(row, cols);
    else {
      const zero = f32x4.splat(0);
      let hi = f64x2.splat(0), lo = hi, mn = f32x4.splat(Infinity);
      let i = 0;
      const n16 = cols & ~15;
      while (i < n16) {
        const end = min(i + 32, n16);
        let a = zero;
        for (; i < end; i += 16) {
          const p = row + (<usize>i << 2);
          const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
          a = f32x4.add(a, f32x4.add(f32x4.add(v0, v1), f32x4.add(v2, v3)));
          mn = f32x4.pmin(mn, f32x4.pmin(f32x4.pmin(v0, v1), f32x4.pmin(v2, v3)));
        }
        const b = widenF32x4(a);
        lo = twoSumLoF64x2(hi, b, lo);
        hi = f64x2.add(hi, b);
      }
      let a = zero;
      for (; i + 4 <= cols; i += 4) {
        const v = v128.load(row + (<usize>i << 2));
        a = f32x4.add(a, v);
        mn = f32x4.pmin(mn, v);
      }
      if (i < cols) {
        const v = tailF32(row, i, cols);
        a = f32x4.add(a, v);
        mn = f32x4.pmin(mn, v128.bitselect(v, f32x4.splat(Infinity), laneMaskF32(cols - i)));
      }
      const b = widenF32x4(a);
      lo = twoSumLoF64x2(hi, b, lo);
      hi = f64x2.add(hi, b);
      const s = pairTotal(hi, lo);
      rowWhi = s;
      rowWlo = pairLo;
      const m = f32x4.pmin(mn, i32x4.shuffle(mn, mn, 2, 3, 0, 1));
      rowMin = <f64>min(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1));
    }
    store<f64>(res + (<usize>r << 3), rowWhi);
    if (aux) {
      put(aux, r, 2, 0, rowWhi);
      put(aux, r, 2, 1, rowMin);
    }
  }
}

export function sumRowsF64(x: usize, rows: i32, cols: i32, res: usize, aux: usize): void {
  for (let r = 0; r < rows; r++) {
    const row = x + (<usize>r * <usize>cols << 3);
    if (!ASC_FEATURE_SIMD) sumRowExact<f64>(row, cols);
    else {
      const zero = f64x2.splat(0);
      let hi = zero, lo = zero, mn = f64x2.splat(Infinity);
      let i = 0;
      const n8 = cols & ~7;
      while (i < n8) {
        const end = min(i + 16, n8);
        let a = zero;
        for (; i < end; i += 8) {
          const p = row + (<usize>i << 3);
          const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
          a = f64x2.add(a, f64x2.add(f64x2.add(v0, v1), f64x2.add(v2, v3)));
          mn = f64x2.pmin(mn, f64x2.pmin(f64x2.pmin(v0, v1), f64x2.pmin(v2, v3)));
        }
        lo = twoSumLoF64x2(hi, a, lo);
        hi = f64x2.add(hi, a);
      }
      let a = zero;
      for (; i + 2 <= cols; i += 2) {
        const v = v128.load(row + (<usize>i << 3));
        a = f64x2.add(a, v);
        mn = f64x2.pmin(mn, v);
      }
      if (i < cols) {
        const v = tailF64(row, i);
        a = f64x2.add(a, v);
        mn = f64x2.pmin(mn, f64x2.replace_lane(v, 1, Infinity));
      }
      lo = twoSumLoF64x2(hi, a, lo);
      hi = f64x2.add(hi, a);
      const s = pairTotal(hi, lo);
      rowWhi = s;
      rowWlo = pairLo;
      rowMin = min(f64x2.extract_lane(mn, 0), f64x2.extract_lane(mn, 1));
    }
    store<f64>(res + (<usize>r << 3), rowWhi);
    if (aux) {
      put(aux, r, 2, 0, rowWhi);
      put(aux, r, 2, 1, rowMin);
    }
  }
}

// ---------------------------------------------------------------------------------
// Entropy
// ---------------------------------------------------------------------------------

// One pass over a row, in blocks of 32 entries (float32; 16 float64).  A block is first
// scanned for its largest entry, and when that is above the reference m₀ so far, m₀
// moves up and A (the terms so far, relative to the old m₀) moves with it: A += W·(log m₀
// − log m₀'), W the mass so far; all terms stay ≤ 0.  A uniform row never moves m₀ after
// its first block.  The same scan sees the sign bits: a row with a negative entry (or
// −0) is left to the exact path, as is one with no positive normal entry.  Subnormal
// entries are dropped (see the top) and looked for only when the result is small.

/** Whether a float32 row has a subnormal entry (0 < |x| < FLT_MIN). */
function hasSubnormalF32(x: usize, n: i32): bool {
  const abs = i32x4.splat(0x7fffffff), lo = i32x4.splat(0x007fffff), zero = i32x4.splat(0);
  let f = zero;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const b = v128.and(v128.load(x + (<usize>i << 2)), abs);
    f = v128.or(f, v128.and(i32x4.gt_s(b, zero), i32x4.le_s(b, lo)));
  }
  for (; i < n; i++) {
    const b = load<i32>(x + (<usize>i << 2)) & 0x7fffffff;
    if (b > 0 && b <= 0x007fffff) return true;
  }
  return v128.any_true(f);
}

function hasSubnormalF64(x: usize, n: i32): bool {
  for (let i = 0; i < n; i++) {
    const b = load<i64>(x + (<usize>i << 3)) & 0x7fffffffffffffff;
    if (b > 0 && b <= 0x000fffffffffffff) return true;
  }
  return false;
}

/**
 * Whether a vector kernel's term sum (rowA) overflowed while the row's sums (rowWhi,
 * rowWq) are finite: terms beyond the lanes' range (float32: a p above ~1e36 over a tiny
 * q), which the exact path (float64) computes.  A NaN or infinite entry makes a sum
 * non-finite itself, so this is not one.
 */
// @ts-ignore: decorator
@inline function overflowed(): bool {
  return !isFinite(rowA) && isFinite(rowWhi) && isFinite(rowWq);
}

/** Whether some p ≠ 0 has q = 0 in rows of float32 p and q (a subnormal p there makes KL and cross-entropy Infinity). */
function zeroUnderF32(p: usize, q: usize, n: i32): bool {
  const abs = i32x4.splat(0x7fffffff), zero = f32x4.splat(0);
  let f = zero;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    f = v128.or(f, v128.and(v128.and(v128.load(p + o), abs), f32x4.eq(v128.load(q + o), zero)));
  }
  for (; i < n; i++) if (load<f32>(p + (<usize>i << 2)) != 0 && load<f32>(q + (<usize>i << 2)) == 0) return true;
  return v128.any_true(f);
}

function zeroUnderF64(p: usize, q: usize, n: i32): bool {
  for (let i = 0; i < n; i++) if (load<f64>(p + (<usize>i << 3)) != 0 && load<f64>(q + (<usize>i << 3)) == 0) return true;
  return false;
}

/** log m₀ for a float32 row's reference of bits b₀ and r₀ = log₂ m₀' (`log2MF32x4`): (k₀ + r₀)·ln 2. */
// @ts-ignore: decorator
@inline function ref32Log(b0: u32, r0: v128): f64 {
  const k0 = (<i32>(b0 + 0x004afb0d) >> 23) - 127;
  return (<f64>k0 + <f64>f32x4.extract_lane(r0, 0)) * LN2;
}

/** One float32 row's entropy (see the top); its parts in the row globals. */
function entropyRowF32(x: usize, n: i32, norm: bool): f64 {
  const mant = i32k(I_MANT), sqrtHalf = i32k(I_SQRT_HALF);
  const c0 = dl32(0), c1 = dl32(1), c2 = dl32(2), c3 = dl32(3), one = dl32(4);
  const lo = mant; // the bits of FLT_MIN, less one
  const zero = f32x4.splat(0);
  let ref: u32 = 0; // the bits of m₀ (0: none yet)
  let shift = zero, r0 = zero;
  let aa = f64x2.splat(0), ww = aa; // Σ of the blocks (float64: the float32 bound needs no compensation)
  let bits: u32 = 0; // the largest bits seen as unsigned: a sign bit means a negative entry or −0
  let i = 0;
  while (i < n) {
    const end = min(i + 32, n);
    // the block's largest bits (as unsigned: for entries ≥ 0 the largest entry)
    let m = zero;
    const p = x + (<usize>i << 2);
    if (end - i == 32) {
      m = i32x4.max_u(i32x4.max_u(i32x4.max_u(v128.load(p), v128.load(p, 16)), i32x4.max_u(v128.load(p, 32), v128.load(p, 48))),
        i32x4.max_u(i32x4.max_u(v128.load(p, 64), v128.load(p, 80)), i32x4.max_u(v128.load(p, 96), v128.load(p, 112))));
    } else {
      let j = i;
      for (; j + 4 <= end; j += 4) m = i32x4.max_u(m, v128.load(x + (<usize>j << 2)));
      if (j < end) m = i32x4.max_u(m, tailF32(x, j, end));
    }
    m = i32x4.max_u(m, i32x4.shuffle(m, m, 2, 3, 0, 1));
    const bm = max(<u32>i32x4.extract_lane(m, 0), <u32>i32x4.extract_lane(m, 1));
    if (bm > bits) bits = bm;
    if (bm > ref && bm >= 0x00800000 && bm < 0x7f800000) {
      const nshift = i32x4.splat(diffShiftF32(<i32>bm));
      const nr0 = log2MF32x4(i32x4.add(i32x4.splat(<i32>bm), nshift), mant, sqrtHalf, one, c0, c1, c2, c3);
      if (ref) {
        const dv = logDiffF32x4(i32x4.splat(<i32>ref), nshift, mant, sqrtHalf, one, nr0, c0, c1, c2, c3);
        aa = f64x2.add(aa, scalarLane(sumLanesF64x2(ww) * <f64>f32x4.extract_lane(dv, 0)));
      }
      ref = bm;
      shift = nshift;
      r0 = nr0;
    }
    // its terms
    let a = zero, w = zero;
    for (; i + 16 <= end; i += 16) {
      const q = x + (<usize>i << 2);
      const v0 = v128.load(q), v1 = v128.load(q, 16), v2 = v128.load(q, 32), v3 = v128.load(q, 48);
      w = f32x4.add(w, f32x4.add(f32x4.add(v0, v1), f32x4.add(v2, v3)));
      const s0 = v128.and(v0, aboveF32x4(v0, lo)), s1 = v128.and(v1, aboveF32x4(v1, lo));
      const s2 = v128.and(v2, aboveF32x4(v2, lo)), s3 = v128.and(v3, aboveF32x4(v3, lo));
      const d0 = logDiffF32x4(s0, shift, mant, sqrtHalf, one, r0, c0, c1, c2, c3);
      const d1 = logDiffF32x4(s1, shift, mant, sqrtHalf, one, r0, c0, c1, c2, c3);
      const d2 = logDiffF32x4(s2, shift, mant, sqrtHalf, one, r0, c0, c1, c2, c3);
      const d3 = logDiffF32x4(s3, shift, mant, sqrtHalf, one, r0, c0, c1, c2, c3);
      a = f32x4.add(a, f32x4.add(f32x4.add(f32x4.mul(s0, d0), f32x4.mul(s1, d1)), f32x4.add(f32x4.mul(s2, d2), f32x4.mul(s3, d3))));
    }
    for (; i < end; i += 4) {
      const v = i + 4 <= end ? v128.load(x + (<usize>i << 2)) : tailF32(x, i, end);
      w = f32x4.add(w, v);
      const s = v128.and(v, aboveF32x4(v, lo));
      a = f32x4.add(a, f32x4.mul(s, logDiffF32x4(s, shift, mant, sqrtHalf, one, r0, c0, c1, c2, c3)));
    }
    i = end;
    aa = f64x2.add(aa, widenF32x4(a));
    ww = f64x2.add(ww, widenF32x4(w));
  }
  if (ref == 0 || bits >= 0x80000000) {
    // no positive normal entry, or a negative one (or −0)
    entropyRowExact<f32>(x, n);
    return entropyValue(rowWhi, rowWlo, rowMax, rowAs, rowMin, norm, rowSc);
  }
  const W = sumLanesF64x2(ww);
  rowWhi = W;
  rowWlo = 0;
  rowA = sumLanesF64x2(aa) * LN2;
  rowMax = <f64>reinterpret<f32>(ref);
  rowMin = 0;
  // log p₀ from the same vector log as the terms (k₀ + log₂ m₀')·ln 2, within 3e-8: no Math.log a row
  const h = norm ? entropyValue(W, 0, rowMax, rowA, 0, true) : negWLogMinus(W, 0, ref32Log(ref, r0), 0, rowA);
  if (Math.abs(h) < <f64>n * REDO32 && hasSubnormalF32(x, n)) {
    entropyRowExact<f32>(x, n);
    return entropyValue(rowWhi, rowWlo, rowMax, rowAs, rowMin, norm, rowSc);
  }
  return h;
}

function entropyRowF64(x: usize, n: i32, norm: bool): f64 {
  const shift = i64k(L_LOG_SHIFT), mant = i64k(L_MANT), sqrtHalf = i64k(L_SQRT_HALF);
  const c0 = dl64(0), c1 = dl64(1), c2 = dl64(2), c3 = dl64(3), c4 = dl64(4), c5 = dl64(5), c6 = dl64(6), one = dl64(7);
  const lo = mant; // the bits of DBL_MIN, less one
  const zero = f64x2.splat(0);
  let ref: f64 = 0;
  let bias = zero, r0 = zero;
  let ahi = zero, alo = zero, whi = zero, wlo = zero;
  let aa = zero; // A of up to 16 blocks, then into (ahi, alo)
  let sign = zero; // an OR of every entry: a sign bit means a negative entry or −0
  let i = 0, blocks = 0;
  while (i < n) {
    const end = min(i + 16, n);
    let m = zero;
    const p = x + (<usize>i << 3);
    if (end - i == 16) {
      const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
      const v4 = v128.load(p, 64), v5 = v128.load(p, 80), v6 = v128.load(p, 96), v7 = v128.load(p, 112);
      m = f64x2.pmax(f64x2.pmax(f64x2.pmax(v0, v1), f64x2.pmax(v2, v3)), f64x2.pmax(f64x2.pmax(v4, v5), f64x2.pmax(v6, v7)));
      sign = v128.or(sign, v128.or(v128.or(v128.or(v0, v1), v128.or(v2, v3)), v128.or(v128.or(v4, v5), v128.or(v6, v7))));
    } else {
      let j = i;
      for (; j + 2 <= end; j += 2) {
        const v = v128.load(x + (<usize>j << 3));
        m = f64x2.pmax(m, v);
        sign = v128.or(sign, v);
      }
      if (j < end) {
        const v = tailF64(x, j);
        m = f64x2.pmax(m, v);
        sign = v128.or(sign, v);
      }
    }
    const m0 = f64x2.extract_lane(m, 0), m1 = f64x2.extract_lane(m, 1);
    const bm = m0 > m1 ? m0 : m1;
    if (bm > ref && bm < Infinity && bm >= DBL_MIN) {
      const b = reinterpret<i64>(bm);
      const nbias = i64x2.splat(diffBiasF64(b));
      const nr0 = log2MF64x2(i64x2.add(i64x2.splat(b), shift), mant, sqrtHalf, one, c0, c1, c2, c3, c4, c5, c6);
      if (ref > 0) {
        const dv = logDiffF64x2(f64x2.splat(ref), shift, nbias, mant, sqrtHalf, one, nr0, c0, c1, c2, c3, c4, c5, c6);
        const c = scalarLane((sumLanesF64x2(whi) + sumLanesF64x2(wlo)) * f64x2.extract_lane(dv, 0));
        alo = twoSumLoF64x2(ahi, c, alo);
        ahi = f64x2.add(ahi, c);
      }
      ref = bm;
      bias = nbias;
      r0 = nr0;
    }
    let a = zero, w = zero;
    for (; i + 8 <= end; i += 8) {
      const q = x + (<usize>i << 3);
      const v0 = v128.load(q), v1 = v128.load(q, 16), v2 = v128.load(q, 32), v3 = v128.load(q, 48);
      w = f64x2.add(w, f64x2.add(f64x2.add(v0, v1), f64x2.add(v2, v3)));
      const s0 = v128.and(v0, aboveF64x2(v0, lo)), s1 = v128.and(v1, aboveF64x2(v1, lo));
      const s2 = v128.and(v2, aboveF64x2(v2, lo)), s3 = v128.and(v3, aboveF64x2(v3, lo));
      const d0 = logDiffF64x2(s0, shift, bias, mant, sqrtHalf, one, r0, c0, c1, c2, c3, c4, c5, c6);
      const d1 = logDiffF64x2(s1, shift, bias, mant, sqrtHalf, one, r0, c0, c1, c2, c3, c4, c5, c6);
      const d2 = logDiffF64x2(s2, shift, bias, mant, sqrtHalf, one, r0, c0, c1, c2, c3, c4, c5, c6);
      const d3 = logDiffF64x2(s3, shift, bias, mant, sqrtHalf, one, r0, c0, c1, c2, c3, c4, c5, c6);
      a = f64x2.add(a, f64x2.add(f64x2.add(f64x2.mul(s0, d0), f64x2.mul(s1, d1)), f64x2.add(f64x2.mul(s2, d2), f64x2.mul(s3, d3))));
    }
    for (; i < end; i += 2) {
      const v = i + 2 <= end ? v128.load(x + (<usize>i << 3)) : tailF64(x, i);
      w = f64x2.add(w, v);
      const s = v128.and(v, aboveF64x2(v, lo));
      a = f64x2.add(a, f64x2.mul(s, logDiffF64x2(s, shift, bias, mant, sqrtHalf, one, r0, c0, c1, c2, c3, c4, c5, c6)));
    }
    i = end;
    // W compensated every block (eight equal terms a lane add exactly: a uniform row's W is exact);
    // A in groups of 16 blocks (its terms are 0 on a uniform row)
    wlo = twoSumLoF64x2(whi, w, wlo);
    whi = f64x2.add(whi, w);
    aa = f64x2.add(aa, a);
    if (++blocks == 16) {
      alo = twoSumLoF64x2(ahi, aa, alo);
      ahi = f64x2.add(ahi, aa);
      aa = zero;
      blocks = 0;
    }
  }
  alo = twoSumLoF64x2(ahi, aa, alo);
  ahi = f64x2.add(ahi, aa);
  if (ref == 0 || v128.any_true(v128.and(sign, i64x2.splat(0x8000000000000000)))) {
    entropyRowExact<f64>(x, n);
    return entropyValue(rowWhi, rowWlo, rowMax, rowAs, rowMin, norm, rowSc);
  }
  rowWhi = pairTotal(whi, wlo);
  rowWlo = pairLo;
  rowA = pairTotal(ahi, alo) * LN2;
  rowMax = ref;
  rowMin = 0;
  if (norm && rowWhi < SQRT_TWO * ref) rowWlo = restMass<f64>(x, n, ref) - (rowWhi - ref); // (whi − p₀ exact: Sterbenz)
  const h = entropyValue(rowWhi, rowWlo, ref, rowA, 0, norm);
  // the subnormal entries' terms were dropped: they count where the result is small, or in a
  // normalised row of a total below TINY
  if (((Math.abs(h) < <f64>n * REDO64 || (norm && rowWhi < TINY)) && hasSubnormalF64(x, n)) || (!isFinite(rowA) && isFinite(rowWhi))) {
    entropyRowExact<f64>(x, n);
    return entropyValue(rowWhi, rowWlo, rowMax, rowAs, rowMin, norm, rowSc);
  }
  return h;
}

/**
 * res[r] = H(p[r, :]) in nats (normalize ≠ 0: of p/Σp); aux (5 a row): W as hi, lo, p₀
 * (the row's largest entry), A = Σ p·(log p − log p₀), the smallest entry.
 */
export function entropyRowsF32(p: usize, rows: i32, cols: i32, normalize: f64, res: usize, aux: usize): void {
  const norm = normalize != 0;
  for (let r = 0; r < rows; r++) {
    const row = p + (<usize>r * <usize>cols << 2);
    let h: f64;
    if (ASC_FEATURE_SIMD) h = entropyRowF32(row, cols, norm);
    else {
      entropyRowExact<f32>(row, cols);
      h = entropyValue(rowWhi, rowWlo, rowMax, rowAs, rowMin, norm, rowSc);
    }
    store<f64>(res + (<usize>r << 3), h);
    if (aux) {
      put(aux, r, 5, 0, rowWhi);
      put(aux, r, 5, 1, rowWlo);
      put(aux, r, 5, 2, rowMax);
      put(aux, r, 5, 3, rowA);
      put(aux, r, 5, 4, rowMin);
    }
  }
}

export function entropyRowsF64(p: usize, rows: i32, cols: i32, normalize: f64, res: usize, aux: usize): void {
  const norm = normalize != 0;
  for (let r = 0; r < rows; r++) {
    const row = p + (<usize>r * <usize>cols << 3);
    let h: f64;
    if (ASC_FEATURE_SIMD) h = entropyRowF64(row, cols, norm);
    else {
      entropyRowExact<f64>(row, cols);
      h = entropyValue(rowWhi, rowWlo, rowMax, rowAs, rowMin, norm, rowSc);
    }
    store<f64>(res + (<usize>r << 3), h);
    if (aux) {
      put(aux, r, 5, 0, rowWhi);
      put(aux, r, 5, 1, rowWlo);
      put(aux, r, 5, 2, rowMax);
      put(aux, r, 5, 3, rowA);
      put(aux, r, 5, 4, rowMin);
    }
  }
}

// ---------------------------------------------------------------------------------
// Cross-entropy
// ---------------------------------------------------------------------------------
//
// As entropy, the reference being q₀ = max q (each block scanned first), the terms
// p·(log q − log q₀) for p > 0.  A lane whose p is above the normal range's bottom and
// whose q is not a positive normal number (q = 0: the row is Infinity; q subnormal)
// makes its block careful.  The first block with a subnormal q under such a p (q₀ known;
// float32: below 2^100) hands the row, from that block on, to the kernel's copy with
// subnormal q scaled (see "A subnormal q in the vector logs"), which does the block
// again; a lane careful there (q = 0 or negative), or in the plain copy for q = 0 alone,
// sends its block to the exact scalar terms (which stop at a p > 0 over q = 0: the row
// is Infinity, even before q₀ is known).  Two copies of the kernel (`crossEntropyF32T`),
// so that the rows without such a q run the loop they always did.

/**
 * A float32 row's cross-entropy from entry i on (a block's start), with the row's state
 * so far: the reference's bits `ref` (0: none yet), q's largest bits, the sums aa (A,
 * in bits), wp, wq (float64 pairs), aN (the careful blocks' terms, in nats), the
 * smallest q, the OR of p's lanes below the normal range, whether the row is exact.
 * S: `Plain`, or `Scaled` (subnormal q lanes scaled: see "A subnormal q in the vector logs").
 */
// @ts-ignore: decorator
@inline function crossEntropyF32T<S>(p: usize, q: usize, n: i32, norm: bool, i: i32, ref: u32, bits: u32,
  aa: v128, wp: v128, wq: v128, aN: f64, mq: v128, below: v128, exact: bool): f64 {
  const mant = i32k(I_MANT), sqrtHalf = i32k(I_SQRT_HALF);
  const c0 = dl32(0), c1 = dl32(1), c2 = dl32(2), c3 = dl32(3), one = dl32(4);
  const lo = mant;
  const e149 = v128.load32_splat(SUBQ32);
  const zero = f32x4.splat(0);
  let shift = zero, r0 = zero;
  if (ref) {
    shift = i32x4.splat(diffShiftF32(<i32>ref));
    r0 = log2MF32x4(i32x4.add(i32x4.splat(<i32>ref), shift), mant, sqrtHalf, one, c0, c1, c2, c3);
  }
  let handover = -1; // the block from which the scaled copy takes the row over
  while (i < n) {
    const start = i, end = min(i + 32, n);
    let m = zero;
    const pq = q + (<usize>i << 2);
    if (end - i == 32) {
      m = i32x4.max_u(i32x4.max_u(i32x4.max_u(v128.load(pq), v128.load(pq, 16)), i32x4.max_u(v128.load(pq, 32), v128.load(pq, 48))),
        i32x4.max_u(i32x4.max_u(v128.load(pq, 64), v128.load(pq, 80)), i32x4.max_u(v128.load(pq, 96), v128.load(pq, 112))));
    } else {
      let j = i;
      for (; j + 4 <= end; j += 4) m = i32x4.max_u(m, v128.load(q + (<usize>j << 2)));
      if (j < end) m = i32x4.max_u(m, tailF32(q, j, end));
    }
    m = i32x4.max_u(m, i32x4.shuffle(m, m, 2, 3, 0, 1));
    const bm = max(<u32>i32x4.extract_lane(m, 0), <u32>i32x4.extract_lane(m, 1));
    if (bm > bits) bits = bm;
    if (bm > ref && bm >= 0x00800000 && bm < 0x7f800000) {
      const nshift = i32x4.splat(diffShiftF32(<i32>bm));
      const nr0 = log2MF32x4(i32x4.add(i32x4.splat(<i32>bm), nshift), mant, sqrtHalf, one, c0, c1, c2, c3);
      if (ref) {
        const dv = logDiffF32x4(i32x4.splat(<i32>ref), nshift, mant, sqrtHalf, one, nr0, c0, c1, c2, c3);
        const dn = <f64>f32x4.extract_lane(dv, 0);
        aa = f64x2.add(aa, scalarLane(sumLanesF64x2(wp) * dn));
      }
      ref = bm;
      shift = nshift;
      r0 = nr0;
      // (k − k₀ − 149 of a scaled lane must fit the 9 bits above the mantissa: q₀ < 2^100)
      if (scaledOf<S>() && ref >= SUB_REF32) exact = true;
    }
    let a = zero, w1 = zero, w2 = zero, careful = zero;
    for (; i + 16 <= end; i += 16) {
      const o = <usize>i << 2;
      const p0 = v128.load(p + o), p1 = v128.load(p + o, 16), q0 = v128.load(q + o), q1 = v128.load(q + o, 16);
      const p2 = v128.load(p + o, 32), p3 = v128.load(p + o, 48), q2 = v128.load(q + o, 32), q3 = v128.load(q + o, 48);
      w1 = f32x4.add(w1, f32x4.add(f32x4.add(p0, p1), f32x4.add(p2, p3)));
      w2 = f32x4.add(w2, f32x4.add(f32x4.add(q0, q1), f32x4.add(q2, q3)));
      mq = f32x4.pmin(mq, f32x4.pmin(f32x4.pmin(q0, q1), f32x4.pmin(q2, q3)));
      let x0 = q0, x1 = q1, x2 = q2, x3 = q3;
      if (scaledOf<S>()) {
        x0 = subBitsF32x4(q0, lo, e149); x1 = subBitsF32x4(q1, lo, e149);
        x2 = subBitsF32x4(q2, lo, e149); x3 = subBitsF32x4(q3, lo, e149);
      }
      const op0 = aboveF32x4(p0, lo), op1 = aboveF32x4(p1, lo), oq0 = qOkF32x4<S>(q0, lo), oq1 = qOkF32x4<S>(q1, lo);
      const op2 = aboveF32x4(p2, lo), op3 = aboveF32x4(p3, lo), oq2 = qOkF32x4<S>(q2, lo), oq3 = qOkF32x4<S>(q3, lo);
      below = v128.or(below, v128.or(v128.or(v128.andnot(p0, op0), v128.andnot(p1, op1)), v128.or(v128.andnot(p2, op2), v128.andnot(p3, op3))));
      careful = v128.or(careful, v128.or(v128.or(v128.andnot(op0, oq0), v128.andnot(op1, oq1)), v128.or(v128.andnot(op2, oq2), v128.andnot(op3, oq3))));
      const d0 = logDiffF32x4(v128.and(x0, oq0), shift, mant, sqrtHalf, one, r0, c0, c1, c2, c3);
      const d1 = logDiffF32x4(v128.and(x1, oq1), shift, mant, sqrtHalf, one, r0, c0, c1, c2, c3);
      const d2 = logDiffF32x4(v128.and(x2, oq2), shift, mant, sqrtHalf, one, r0, c0, c1, c2, c3);
      const d3 = logDiffF32x4(v128.and(x3, oq3), shift, mant, sqrtHalf, one, r0, c0, c1, c2, c3);
      a = f32x4.add(a, f32x4.add(f32x4.add(f32x4.mul(v128.and(p0, op0), d0), f32x4.mul(v128.and(p1, op1), d1)),
        f32x4.add(f32x4.mul(v128.and(p2, op2), d2), f32x4.mul(v128.and(p3, op3), d3))));
    }
    for (; i < end; i += 4) {
      const whole = i + 4 <= end;
      const o = <usize>i << 2;
      const p0 = whole ? v128.load(p + o) : tailF32(p, i, end), q0 = whole ? v128.load(q + o) : tailF32(q, i, end);
      w1 = f32x4.add(w1, p0);
      w2 = f32x4.add(w2, q0);
      mq = f32x4.pmin(mq, whole ? q0 : v128.bitselect(q0, f32x4.splat(Infinity), laneMaskF32(end - i)));
      const x0 = scaledOf<S>() ? subBitsF32x4(q0, lo, e149) : q0;
      const op0 = aboveF32x4(p0, lo), oq0 = qOkF32x4<S>(q0, lo);
      below = v128.or(below, v128.andnot(p0, op0));
      careful = v128.or(careful, v128.andnot(op0, oq0));
      const d0 = logDiffF32x4(v128.and(x0, oq0), shift, mant, sqrtHalf, one, r0, c0, c1, c2, c3);
      a = f32x4.add(a, f32x4.mul(v128.and(p0, op0), d0));
    }
    if (!scaledOf<S>() && ref != 0 && ref < SUB_REF32 && !rowInf && v128.any_true(careful) && subUnderF32(p, q, start, end)) {
      // this block again, and the rest of the row, with subnormal q scaled (the call is
      // after the loop, out of its way; the block's scan is done, its sums not yet added;
      // mq and below see it twice)
      handover = start;
      break;
    }
    i = end;
    if (v128.any_true(careful) && !rowInf) {
      // (no reference yet: a p > 0 over q = 0 still makes the row Infinity, found by the
      // exact terms' first such lane; anything else sends the row to the exact path)
      if (ref == 0) {
        ceBlockExact<f32>(p, q, start, end, 0);
        if (!rowInf) exact = true;
        a = zero;
      } else {
        aN += ceBlockExact<f32>(p, q, start, end, Math.log(<f64>reinterpret<f32>(ref)));
        a = zero;
      }
    }
    aa = f64x2.add(aa, widenF32x4(a));
    wp = f64x2.add(wp, widenF32x4(w1));
    wq = f64x2.add(wq, widenF32x4(w2));
  }
  if (!scaledOf<S>() && handover >= 0) return crossEntropyScaledF32(p, q, n, norm, handover, ref, bits, aa, wp, wq, aN, mq, below, exact);
  const qmin = f32x4.pmin(mq, i32x4.shuffle(mq, mq, 2, 3, 0, 1));
  const mnq = min(f32x4.extract_lane(qmin, 0), f32x4.extract_lane(qmin, 1));
  if (exact || ref == 0 || bits >= 0x80000000 || v128.any_true(v128.and(below, i32x4.splat(0x80000000)))) {
    crossEntropyRowExact<f32>(p, q, n);
    return crossEntropyValue(rowWhi, rowWlo, rowWq, rowWqlo, rowMax, rowAs, rowMin, rowInf, norm, rowSc);
  }
  rowWhi = sumLanesF64x2(wp);
  rowWlo = 0;
  rowWq = sumLanesF64x2(wq);
  rowWqlo = 0;
  rowA = sumLanesF64x2(aa) * LN2 + aN;
  rowMax = <f64>reinterpret<f32>(ref);
  rowMin = 0;
  const h = norm || rowInf || !isFinite(rowWq) ? crossEntropyValue(rowWhi, 0, rowWq, rowWqlo, rowMax, rowA, 0, rowInf, norm)
    : negWLogMinus(rowWhi, 0, ref32Log(ref, r0), 0, rowA);
  // dropped subnormal p: over some q = 0 the row is Infinity; a small result is computed again;
  // and so is a row whose term sums overflowed (float32 lanes: terms beyond FLT_MAX, p ≳ 1e36)
  if (!rowInf && ((v128.any_true(below) && ((mnq == 0 && zeroUnderF32(p, q, n)) || Math.abs(h) < <f64>n * REDO32))
    || overflowed())) {
    crossEntropyRowExact<f32>(p, q, n);
    return crossEntropyValue(rowWhi, rowWlo, rowWq, rowWqlo, rowMax, rowAs, rowMin, rowInf, norm, rowSc);
  }
  return h;
}

/** One float32 row's cross-entropy (see above); its parts in the row globals. */
function crossEntropyRowF32(p: usize, q: usize, n: i32, norm: bool): f64 {
  rowInf = false;
  const zero = f64x2.splat(0);
  return crossEntropyF32T<Plain>(p, q, n, norm, 0, 0, 0, zero, zero, zero, 0, f32x4.splat(Infinity), zero, false);
}

/** The rest of a float32 row from its first careful block, subnormal q scaled (see `crossEntropyF32T`). */
function crossEntropyScaledF32(p: usize, q: usize, n: i32, norm: bool, i: i32, ref: u32, bits: u32,
  aa: v128, wp: v128, wq: v128, aN: f64, mq: v128, below: v128, exact: bool): f64 {
  return crossEntropyF32T<Scaled>(p, q, n, norm, i, ref, bits, aa, wp, wq, aN, mq, below, exact);
}

/**
 * A float64 row's cross-entropy from entry i on, with the row's state so far (see
 * `crossEntropyF32T`): the reference `ref` (0: none yet), `blocks` (A's blocks since it
 * was last added to its pair), the pairs (ahi, alo) of A in bits, (whi, wlo) of W_p,
 * (qhi, qlo) of W_q, aa, aN, the OR of q's block scans (`sign`), below, the smallest q,
 * whether the row is exact.
 */
// @ts-ignore: decorator
@inline function crossEntropyF64T<S>(p: usize, q: usize, n: i32, norm: bool, i: i32, ref: f64, blocks: i32,
  ahi: v128, alo: v128, whi: v128, wlo: v128, qhi: v128, qlo: v128, aa: v128, aN: f64,
  sign: v128, below: v128, mq: v128, exact: bool): f64 {
  const shift = i64k(L_LOG_SHIFT), mant = i64k(L_MANT), sqrtHalf = i64k(L_SQRT_HALF);
  const c0 = dl64(0), c1 = dl64(1), c2 = dl64(2), c3 = dl64(3), c4 = dl64(4), c5 = dl64(5), c6 = dl64(6), one = dl64(7);
  const lo = mant;
  const k1022 = v128.load64_splat(SUBQ64);
  const zero = f64x2.splat(0);
  let bias = zero, r0 = zero;
  if (ref > 0) {
    const b = reinterpret<i64>(ref);
    bias = i64x2.splat(diffBiasF64(b));
    r0 = log2MF64x2(i64x2.add(i64x2.splat(b), shift), mant, sqrtHalf, one, c0, c1, c2, c3, c4, c5, c6);
  }
  let handover = -1; // the block from which the scaled copy takes the row over
  while (i < n) {
    const start = i, end = min(i + 16, n);
    let m = zero;
    const pq = q + (<usize>i << 3);
    if (end - i == 16) {
      const v0 = v128.load(pq), v1 = v128.load(pq, 16), v2 = v128.load(pq, 32), v3 = v128.load(pq, 48);
      const v4 = v128.load(pq, 64), v5 = v128.load(pq, 80), v6 = v128.load(pq, 96), v7 = v128.load(pq, 112);
      m = f64x2.pmax(f64x2.pmax(f64x2.pmax(v0, v1), f64x2.pmax(v2, v3)), f64x2.pmax(f64x2.pmax(v4, v5), f64x2.pmax(v6, v7)));
      sign = v128.or(sign, v128.or(v128.or(v128.or(v0, v1), v128.or(v2, v3)), v128.or(v128.or(v4, v5), v128.or(v6, v7))));
    } else {
      let j = i;
      for (; j + 2 <= end; j += 2) {
        const v = v128.load(q + (<usize>j << 3));
        m = f64x2.pmax(m, v);
        sign = v128.or(sign, v);
      }
      if (j < end) {
        const v = tailF64(q, j);
        m = f64x2.pmax(m, v);
        sign = v128.or(sign, v);
      }
    }
    const m0 = f64x2.extract_lane(m, 0), m1 = f64x2.extract_lane(m, 1);
    const bm = m0 > m1 ? m0 : m1;
    if (bm > ref && bm < Infinity && bm >= DBL_MIN) {
      const b = reinterpret<i64>(bm);
      const nbias = i64x2.splat(diffBiasF64(b));
      const nr0 = log2MF64x2(i64x2.add(i64x2.splat(b), shift), mant, sqrtHalf, one, c0, c1, c2, c3, c4, c5, c6);
      if (ref > 0) {
        const dv = logDiffF64x2(f64x2.splat(ref), shift, nbias, mant, sqrtHalf, one, nr0, c0, c1, c2, c3, c4, c5, c6);
        const c = scalarLane((sumLanesF64x2(whi) + sumLanesF64x2(wlo)) * f64x2.extract_lane(dv, 0));
        alo = twoSumLoF64x2(ahi, c, alo);
        ahi = f64x2.add(ahi, c);
      }
      ref = bm;
      bias = nbias;
      r0 = nr0;
    }
    let a = zero, w1 = zero, w2 = zero, careful = zero;
    for (; i + 8 <= end; i += 8) {
      const o = <usize>i << 3;
      const p0 = v128.load(p + o), p1 = v128.load(p + o, 16), q0 = v128.load(q + o), q1 = v128.load(q + o, 16);
      const p2 = v128.load(p + o, 32), p3 = v128.load(p + o, 48), q2 = v128.load(q + o, 32), q3 = v128.load(q + o, 48);
      w1 = f64x2.add(w1, f64x2.add(f64x2.add(p0, p1), f64x2.add(p2, p3)));
      w2 = f64x2.add(w2, f64x2.add(f64x2.add(q0, q1), f64x2.add(q2, q3)));
      mq = f64x2.pmin(mq, f64x2.pmin(f64x2.pmin(q0, q1), f64x2.pmin(q2, q3)));
      let x0 = q0, x1 = q1, x2 = q2, x3 = q3, b0 = bias, b1 = bias, b2 = bias, b3 = bias;
      if (scaledOf<S>()) {
        const u0 = aboveF64x2(q0, lo), u1 = aboveF64x2(q1, lo), u2 = aboveF64x2(q2, lo), u3 = aboveF64x2(q3, lo);
        x0 = subQF64x2(q0, u0, mant, one); x1 = subQF64x2(q1, u1, mant, one);
        x2 = subQF64x2(q2, u2, mant, one); x3 = subQF64x2(q3, u3, mant, one);
        b0 = i64x2.add(bias, v128.andnot(k1022, u0)); b1 = i64x2.add(bias, v128.andnot(k1022, u1));
        b2 = i64x2.add(bias, v128.andnot(k1022, u2)); b3 = i64x2.add(bias, v128.andnot(k1022, u3));
      }
      const op0 = aboveF64x2(p0, lo), op1 = aboveF64x2(p1, lo), oq0 = qOkF64x2<S>(q0, lo), oq1 = qOkF64x2<S>(q1, lo);
      const op2 = aboveF64x2(p2, lo), op3 = aboveF64x2(p3, lo), oq2 = qOkF64x2<S>(q2, lo), oq3 = qOkF64x2<S>(q3, lo);
      below = v128.or(below, v128.or(v128.or(v128.andnot(p0, op0), v128.andnot(p1, op1)), v128.or(v128.andnot(p2, op2), v128.andnot(p3, op3))));
      careful = v128.or(careful, v128.or(v128.or(v128.andnot(op0, oq0), v128.andnot(op1, oq1)), v128.or(v128.andnot(op2, oq2), v128.andnot(op3, oq3))));
      const d0 = logDiffF64x2(v128.and(x0, oq0), shift, b0, mant, sqrtHalf, one, r0, c0, c1, c2, c3, c4, c5, c6);
      const d1 = logDiffF64x2(v128.and(x1, oq1), shift, b1, mant, sqrtHalf, one, r0, c0, c1, c2, c3, c4, c5, c6);
      const d2 = logDiffF64x2(v128.and(x2, oq2), shift, b2, mant, sqrtHalf, one, r0, c0, c1, c2, c3, c4, c5, c6);
      const d3 = logDiffF64x2(v128.and(x3, oq3), shift, b3, mant, sqrtHalf, one, r0, c0, c1, c2, c3, c4, c5, c6);
      a = f64x2.add(a, f64x2.add(f64x2.add(f64x2.mul(v128.and(p0, op0), d0), f64x2.mul(v128.and(p1, op1), d1)),
        f64x2.add(f64x2.mul(v128.and(p2, op2), d2), f64x2.mul(v128.and(p3, op3), d3))));
    }
    for (; i < end; i += 2) {
      const whole = i + 2 <= end;
      const o = <usize>i << 3;
      const p0 = whole ? v128.load(p + o) : tailF64(p, i), q0 = whole ? v128.load(q + o) : tailF64(q, i);
      w1 = f64x2.add(w1, p0);
      w2 = f64x2.add(w2, q0);
      mq = f64x2.pmin(mq, whole ? q0 : f64x2.replace_lane(q0, 1, Infinity));
      let x0 = q0, b0 = bias;
      if (scaledOf<S>()) {
        const u0 = aboveF64x2(q0, lo);
        x0 = subQF64x2(q0, u0, mant, one);
        b0 = i64x2.add(bias, v128.andnot(k1022, u0));
      }
      const op0 = aboveF64x2(p0, lo), oq0 = qOkF64x2<S>(q0, lo);
      below = v128.or(below, v128.andnot(p0, op0));
      careful = v128.or(careful, v128.andnot(op0, oq0));
      const d0 = logDiffF64x2(v128.and(x0, oq0), shift, b0, mant, sqrtHalf, one, r0, c0, c1, c2, c3, c4, c5, c6);
      a = f64x2.add(a, f64x2.mul(v128.and(p0, op0), d0));
    }
    if (!scaledOf<S>() && ref > 0 && !rowInf && v128.any_true(careful) && subUnderF64(p, q, start, end)) {
      // this block again, and the rest of the row, with subnormal q scaled (the call is
      // after the loop, out of its way; the block's scan is done, its sums not yet added;
      // mq and below see it twice)
      handover = start;
      break;
    }
    i = end;
    if (v128.any_true(careful) && !rowInf) {
      // (no reference yet: a p > 0 over q = 0 still makes the row Infinity, found by the
      // exact terms' first such lane; anything else sends the row to the exact path)
      if (ref == 0) {
        ceBlockExact<f64>(p, q, start, end, 0);
        if (!rowInf) exact = true;
        a = zero;
      } else {
        aN += ceBlockExact<f64>(p, q, start, end, Math.log(ref));
        a = zero;
      }
    }
    wlo = twoSumLoF64x2(whi, w1, wlo);
    whi = f64x2.add(whi, w1);
    qlo = twoSumLoF64x2(qhi, w2, qlo);
    qhi = f64x2.add(qhi, w2);
    aa = f64x2.add(aa, a);
    if (++blocks == 16) {
      alo = twoSumLoF64x2(ahi, aa, alo);
      ahi = f64x2.add(ahi, aa);
      aa = zero;
      blocks = 0;
    }
  }
  if (!scaledOf<S>() && handover >= 0) return crossEntropyScaledF64(p, q, n, norm, handover, ref, blocks, ahi, alo, whi, wlo, qhi, qlo, aa, aN, sign, below, mq, exact);
  alo = twoSumLoF64x2(ahi, aa, alo);
  ahi = f64x2.add(ahi, aa);
  const mnq = min(f64x2.extract_lane(mq, 0), f64x2.extract_lane(mq, 1));
  if (exact || ref == 0 || v128.any_true(v128.and(v128.or(sign, below), i64x2.splat(0x8000000000000000)))) {
    crossEntropyRowExact<f64>(p, q, n);
    return crossEntropyValue(rowWhi, rowWlo, rowWq, rowWqlo, rowMax, rowAs, rowMin, rowInf, norm, rowSc);
  }
  rowWhi = pairTotal(whi, wlo);
  rowWlo = pairLo;
  rowWq = pairTotal(qhi, qlo);
  rowWqlo = pairLo;
  if (!scaledOf<S>() && norm && rowWq < SQRT_TWO * ref) rowWqlo = restMass<f64>(q, n, ref) - (rowWq - ref); // (as entropy's)
  rowA = pairTotal(ahi, alo) * LN2 + aN;
  rowMax = ref;
  rowMin = 0;
  const h = crossEntropyValue(rowWhi, rowWlo, rowWq, rowWqlo, ref, rowA, 0, rowInf, norm);
  if (!rowInf && ((v128.any_true(below) && ((mnq == 0 && zeroUnderF64(p, q, n)) || Math.abs(h) < <f64>n * REDO64 || (norm && rowWhi < TINY)))
    || overflowed())) {
    crossEntropyRowExact<f64>(p, q, n);
    return crossEntropyValue(rowWhi, rowWlo, rowWq, rowWqlo, rowMax, rowAs, rowMin, rowInf, norm, rowSc);
  }
  return h;
}

function crossEntropyRowF64(p: usize, q: usize, n: i32, norm: bool): f64 {
  rowInf = false;
  const zero = f64x2.splat(0);
  return crossEntropyF64T<Plain>(p, q, n, norm, 0, 0, 0, zero, zero, zero, zero, zero, zero, zero, 0, zero, zero, f64x2.splat(Infinity), false);
}

function crossEntropyScaledF64(p: usize, q: usize, n: i32, norm: bool, i: i32, ref: f64, blocks: i32,
  ahi: v128, alo: v128, whi: v128, wlo: v128, qhi: v128, qlo: v128, aa: v128, aN: f64,
  sign: v128, below: v128, mq: v128, exact: bool): f64 {
  return crossEntropyF64T<Scaled>(p, q, n, norm, i, ref, blocks, ahi, alo, whi, wlo, qhi, qlo, aa, aN, sign, below, mq, exact);
}

/**
 * res[r] = H(p[r, :], q[r, :]) in nats (normalize ≠ 0: of p/Σp and q/Σq); aux (6 a row):
 * W_p as hi, lo, W_q, q₀ (the row's largest q), A = Σ p·(log q − log q₀), the smallest
 * entry of p and q (0 when none is negative).
 */
export function crossEntropyRowsF32(p: usize, q: usize, rows: i32, cols: i32, normalize: f64, res: usize, aux: usize): void {
  const norm = normalize != 0;
  for (let r = 0; r < rows; r++) {
    const o = <usize>r * <usize>cols << 2;
    let h: f64;
    if (ASC_FEATURE_SIMD) h = crossEntropyRowF32(p + o, q + o, cols, norm);
    else {
      crossEntropyRowExact<f32>(p + o, q + o, cols);
      h = crossEntropyValue(rowWhi, rowWlo, rowWq, rowWqlo, rowMax, rowAs, rowMin, rowInf, norm, rowSc);
    }
    store<f64>(res + (<usize>r << 3), h);
    if (aux) putCrossEntropy(aux, r);
  }
}

export function crossEntropyRowsF64(p: usize, q: usize, rows: i32, cols: i32, normalize: f64, res: usize, aux: usize): void {
  const norm = normalize != 0;
  for (let r = 0; r < rows; r++) {
    const o = <usize>r * <usize>cols << 3;
    let h: f64;
    if (ASC_FEATURE_SIMD) h = crossEntropyRowF64(p + o, q + o, cols, norm);
    else {
      crossEntropyRowExact<f64>(p + o, q + o, cols);
      h = crossEntropyValue(rowWhi, rowWlo, rowWq, rowWqlo, rowMax, rowAs, rowMin, rowInf, norm, rowSc);
    }
    store<f64>(res + (<usize>r << 3), h);
    if (aux) putCrossEntropy(aux, r);
  }
}

function putCrossEntropy(aux: usize, r: i32): void {
  put(aux, r, 6, 0, rowWhi);
  put(aux, r, 6, 1, rowWlo);
  put(aux, r, 6, 2, rowWq);
  put(aux, r, 6, 3, rowMax);
  // a row with p > 0 over q = 0 carries it in A (Infinity: the merge and the value agree)
  put(aux, r, 6, 4, rowInf ? -Infinity : rowA);
  put(aux, r, 6, 5, rowMin);
}

// ---------------------------------------------------------------------------------
// KL and Jensen–Shannon divergences
// ---------------------------------------------------------------------------------
//
// One pass, no reference: KL's terms are p·log₂(p/q) with the ratio's log near 1 from
// (p − q)/q; JS's are a·log₂(2a/(a + b)) + b·log₂(2b/(a + b)) with the logs near 1 from
// ±(a − b)/(a + b).  A lane whose p is positive and whose ratio is not a positive normal
// number (KL: q = 0 or subnormal; JS: a ratio below the normal range, as from p ≫ q in
// unnormalised rows) makes its block careful.  KL, as cross-entropy, hands the row from
// its first careful block on to its copy with subnormal q scaled (see "A subnormal q in
// the vector logs"; the log is taken of the parts' bits, so p/q's under- or overflow,
// scipy gh-20710, never arises); a lane still careful there (q = 0 or negative), and a
// careful JS block, send their block to the exact scalar terms.

const KL = 0, JS = 1;

/**
 * A float32 row's KL divergence from entry i on (a block's start), with the row's sums
 * so far (aa of A in bits, wp, wq; aN the careful blocks' terms in nats), below (an OR
 * of p's lanes that are not above the normal range's bottom: a sign bit, a negative p or
 * −0; other bits, a subnormal p) and mq (the smallest q: < 0, or 0, some q = 0).
 * S: `Plain`, or `Scaled` (subnormal q lanes scaled: see "A subnormal q in the vector logs").
 */
// @ts-ignore: decorator
@inline function klF32T<S>(p: usize, q: usize, n: i32, norm: bool, kc: i32, i: i32,
  aa: v128, wp: v128, wq: v128, aN: f64, below: v128, mq: v128): f64 {
  const mant = i32k(I_MANT), kcv = i32x4.splat(kc);
  const c0 = kr32(0), c1 = kr32(1), c2 = kr32(2), c3 = kr32(3), c4 = kr32(4);
  const lo = mant;
  const e149 = v128.load32_splat(SUBQ32);
  const zero = f32x4.splat(0), inf = kept(f32x4.splat(Infinity));
  const half = kept(i32x4.splat(0x400000)), expo = kept(i32x4.splat(0x7f800000)), one = kept(i32x4.splat(0x3f800000)); // 2²², the bits of the exponent field and of 1
  let handover = -1; // the block from which the scaled copy takes the row over
  while (i < n) {
    const start = i, end = min(i + 32, n);
    let a = zero, w1 = zero, w2 = zero, careful = zero;
    for (; i + 16 <= end; i += 16) {
      const o = <usize>i << 2;
      const p0 = v128.load(p + o), p1 = v128.load(p + o, 16), q0 = v128.load(q + o), q1 = v128.load(q + o, 16);
      const p2 = v128.load(p + o, 32), p3 = v128.load(p + o, 48), q2 = v128.load(q + o, 32), q3 = v128.load(q + o, 48);
      w1 = f32x4.add(w1, f32x4.add(f32x4.add(p0, p1), f32x4.add(p2, p3)));
      w2 = f32x4.add(w2, f32x4.add(f32x4.add(q0, q1), f32x4.add(q2, q3)));
      mq = f32x4.pmin(mq, f32x4.pmin(f32x4.pmin(q0, q1), f32x4.pmin(q2, q3)));
      // the scaled copy: a subnormal q's lane holds bits(b) − (149 << 23), whose log's k is
      // 149 less (no float is formed from them: they only feed the integer reduction), and
      // every positive q is taken
      let x0 = q0, x1 = q1, x2 = q2, x3 = q3;
      if (scaledOf<S>()) {
        x0 = subBitsF32x4(q0, lo, e149); x1 = subBitsF32x4(q1, lo, e149);
        x2 = subBitsF32x4(q2, lo, e149); x3 = subBitsF32x4(q3, lo, e149);
      }
      const op0 = aboveF32x4(p0, lo), op1 = aboveF32x4(p1, lo), oq0 = qOkF32x4<S>(q0, lo), oq1 = qOkF32x4<S>(q1, lo);
      const op2 = aboveF32x4(p2, lo), op3 = aboveF32x4(p3, lo), oq2 = qOkF32x4<S>(q2, lo), oq3 = qOkF32x4<S>(q3, lo);
      below = v128.or(below, v128.or(v128.or(v128.andnot(p0, op0), v128.andnot(p1, op1)), v128.or(v128.andnot(p2, op2), v128.andnot(p3, op3))));
      careful = v128.or(careful, v128.or(v128.or(v128.andnot(op0, oq0), v128.andnot(op1, oq1)), v128.or(v128.andnot(op2, oq2), v128.andnot(op3, oq3))));
      const l0 = log2RatioF32x4(p0, x0, kcv, half, expo, one, mant, c0, c1, c2, c3, c4, scaledOf<S>());
      const l1 = log2RatioF32x4(p1, x1, kcv, half, expo, one, mant, c0, c1, c2, c3, c4, scaledOf<S>());
      const l2 = log2RatioF32x4(p2, x2, kcv, half, expo, one, mant, c0, c1, c2, c3, c4, scaledOf<S>());
      const l3 = log2RatioF32x4(p3, x3, kcv, half, expo, one, mant, c0, c1, c2, c3, c4, scaledOf<S>());
      a = f32x4.add(a, f32x4.add(f32x4.add(f32x4.mul(v128.and(p0, op0), l0), f32x4.mul(v128.and(p1, op1), l1)),
        f32x4.add(f32x4.mul(v128.and(p2, op2), l2), f32x4.mul(v128.and(p3, op3), l3))));
    }
    for (; i < end; i += 4) {
      const whole = i + 4 <= end;
      const o = <usize>i << 2;
      const p0 = whole ? v128.load(p + o) : tailF32(p, i, end), q0 = whole ? v128.load(q + o) : tailF32(q, i, end);
      w1 = f32x4.add(w1, p0);
      w2 = f32x4.add(w2, q0);
      mq = f32x4.pmin(mq, whole ? q0 : v128.bitselect(q0, inf, laneMaskF32(end - i)));
      const x0 = scaledOf<S>() ? subBitsF32x4(q0, lo, e149) : q0;
      const op0 = aboveF32x4(p0, lo), oq0 = qOkF32x4<S>(q0, lo);
      below = v128.or(below, v128.andnot(p0, op0));
      careful = v128.or(careful, v128.andnot(op0, oq0));
      const l0 = log2RatioF32x4(p0, x0, kcv, half, expo, one, mant, c0, c1, c2, c3, c4, scaledOf<S>());
      a = f32x4.add(a, f32x4.mul(v128.and(p0, op0), l0));
    }
    if (!scaledOf<S>() && !rowInf && v128.any_true(careful) && subUnderF32(p, q, start, end)) {
      // this block again, and the rest of the row, with subnormal q scaled (the call is
      // after the loop, out of its way; the block's scan is done, its sums not yet added;
      // mq and below see it twice)
      handover = start;
      break;
    }
    i = end;
    if (v128.any_true(careful) && !rowInf) {
      aN += klBlockExact<f32>(p, q, start, end, kc);
      a = zero;
    }
    aa = f64x2.add(aa, widenF32x4(a));
    wp = f64x2.add(wp, widenF32x4(w1));
    wq = f64x2.add(wq, widenF32x4(w2));
  }
  if (!scaledOf<S>() && handover >= 0) return klScaledF32(p, q, n, norm, kc, handover, aa, wp, wq, aN, below, mq);
  const qmin = f32x4.pmin(mq, i32x4.shuffle(mq, mq, 2, 3, 0, 1));
  const mnq = min(f32x4.extract_lane(qmin, 0), f32x4.extract_lane(qmin, 1));
  if (mnq < 0 || v128.any_true(v128.and(below, i32x4.splat(0x80000000)))) return divergenceExact<f32>(KL, p, q, n, norm, 1, 1);
  rowWhi = sumLanesF64x2(wp);
  rowWlo = 0;
  rowWq = sumLanesF64x2(wq);
  rowWqlo = 0;
  rowA = sumLanesF64x2(aa) * LN2 + aN;
  rowK = kc;
  rowMin = 0;
  const d = klValue(rowWhi, 0, rowWq, 0, rowA, kc, 0, rowInf, norm);
  // dropped subnormal p: over some q = 0 the row is Infinity; a small result is computed again;
  // and so is a row whose term sums overflowed (as in crossEntropyF32T)
  if (!rowInf && ((v128.any_true(below) && ((mnq == 0 && zeroUnderF32(p, q, n)) || Math.abs(d) < <f64>n * REDO32))
    || overflowed())) {
    return divergenceExact<f32>(KL, p, q, n, norm, 1, 1);
  }
  if (norm && !rowInf) klAgain = klRedo(kc, d);
  return d;
}

/** KL of a float32 row (see above; a normalised row's kc from `klRef`, once more from `klRedo`). */
// @ts-ignore: decorator
@inline function klRowF32(p: usize, q: usize, n: i32, norm: bool): f64 {
  const kc = norm ? klRef<f32>(p, q, n) : 0;
  const d = klRowF32K(p, q, n, norm, kc);
  return klAgain != kc ? klRowF32K(p, q, n, norm, klAgain) : d;
}

function klRowF32K(p: usize, q: usize, n: i32, norm: bool, kc: i32): f64 {
  rowInf = false;
  klAgain = kc;
  const zero = f64x2.splat(0);
  return klF32T<Plain>(p, q, n, norm, kc, 0, zero, zero, zero, 0, zero, f32x4.splat(Infinity));
}

/** The rest of a float32 row from its first careful block, subnormal q scaled (see `klF32T`). */
function klScaledF32(p: usize, q: usize, n: i32, norm: bool, kc: i32, i: i32, aa: v128, wp: v128, wq: v128, aN: f64, below: v128, mq: v128): f64 {
  return klF32T<Scaled>(p, q, n, norm, kc, i, aa, wp, wq, aN, below, mq);
}

/** A float64 row's KL divergence from entry i on (see `klF32T`; the sums as pairs, `blocks` as in `crossEntropyF64T`). */
// @ts-ignore: decorator
@inline function klF64T<S>(p: usize, q: usize, n: i32, norm: bool, kc: i32, i: i32, blocks: i32,
  ahi: v128, alo: v128, whi: v128, wlo: v128, qhi: v128, qlo: v128, aa: v128, aN: f64, below: v128, mq: v128): f64 {
  const shift = i64k(L_LOG_SHIFT), mant = i64k(L_MANT), sqrtHalf = i64k(L_SQRT_HALF), kcv = i64x2.splat(<i64>kc);
  const c0 = kr64(0), c1 = kr64(1), c2 = kr64(2), c3 = kr64(3), c4 = kr64(4);
  const c5 = kr64(5), c6 = kr64(6), c7 = kr64(7), c8 = kr64(8), c9 = kr64(9);
  const lo = mant;
  const one = v128.load64_splat(SUBQ64 + 16), shift1022 = i64x2.add(shift, v128.load64_splat(SUBQ64 + 8));
  const zero = f64x2.splat(0);
  let handover = -1; // the block from which the scaled copy takes the row over
  while (i < n) {
    const start = i, end = min(i + 16, n);
    let a = zero, w1 = zero, w2 = zero, careful = zero;
    for (; i + 8 <= end; i += 8) {
      const o = <usize>i << 3;
      const p0 = v128.load(p + o), p1 = v128.load(p + o, 16), q0 = v128.load(q + o), q1 = v128.load(q + o, 16);
      const p2 = v128.load(p + o, 32), p3 = v128.load(p + o, 48), q2 = v128.load(q + o, 32), q3 = v128.load(q + o, 48);
      w1 = f64x2.add(w1, f64x2.add(f64x2.add(p0, p1), f64x2.add(p2, p3)));
      w2 = f64x2.add(w2, f64x2.add(f64x2.add(q0, q1), f64x2.add(q2, q3)));
      mq = f64x2.pmin(mq, f64x2.pmin(f64x2.pmin(q0, q1), f64x2.pmin(q2, q3)));
      let x0 = q0, x1 = q1, x2 = q2, x3 = q3, h0 = shift, h1 = shift, h2 = shift, h3 = shift;
      if (scaledOf<S>()) {
        const u0 = aboveF64x2(q0, lo), u1 = aboveF64x2(q1, lo), u2 = aboveF64x2(q2, lo), u3 = aboveF64x2(q3, lo);
        x0 = subQF64x2(q0, u0, mant, one); x1 = subQF64x2(q1, u1, mant, one);
        x2 = subQF64x2(q2, u2, mant, one); x3 = subQF64x2(q3, u3, mant, one);
        h0 = v128.bitselect(shift, shift1022, u0); h1 = v128.bitselect(shift, shift1022, u1);
        h2 = v128.bitselect(shift, shift1022, u2); h3 = v128.bitselect(shift, shift1022, u3);
      }
      const op0 = aboveF64x2(p0, lo), op1 = aboveF64x2(p1, lo), oq0 = qOkF64x2<S>(q0, lo), oq1 = qOkF64x2<S>(q1, lo);
      const op2 = aboveF64x2(p2, lo), op3 = aboveF64x2(p3, lo), oq2 = qOkF64x2<S>(q2, lo), oq3 = qOkF64x2<S>(q3, lo);
      below = v128.or(below, v128.or(v128.or(v128.andnot(p0, op0), v128.andnot(p1, op1)), v128.or(v128.andnot(p2, op2), v128.andnot(p3, op3))));
      careful = v128.or(careful, v128.or(v128.or(v128.andnot(op0, oq0), v128.andnot(op1, oq1)), v128.or(v128.andnot(op2, oq2), v128.andnot(op3, oq3))));
      const l0 = log2RatioF64x2(p0, x0, h0, kcv, shift, mant, sqrtHalf, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9);
      const l1 = log2RatioF64x2(p1, x1, h1, kcv, shift, mant, sqrtHalf, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9);
      const l2 = log2RatioF64x2(p2, x2, h2, kcv, shift, mant, sqrtHalf, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9);
      const l3 = log2RatioF64x2(p3, x3, h3, kcv, shift, mant, sqrtHalf, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9);
      a = f64x2.add(a, f64x2.add(f64x2.add(f64x2.mul(v128.and(p0, op0), l0), f64x2.mul(v128.and(p1, op1), l1)),
        f64x2.add(f64x2.mul(v128.and(p2, op2), l2), f64x2.mul(v128.and(p3, op3), l3))));
    }
    for (; i < end; i += 2) {
      const whole = i + 2 <= end;
      const o = <usize>i << 3;
      const p0 = whole ? v128.load(p + o) : tailF64(p, i), q0 = whole ? v128.load(q + o) : tailF64(q, i);
      w1 = f64x2.add(w1, p0);
      w2 = f64x2.add(w2, q0);
      mq = f64x2.pmin(mq, whole ? q0 : f64x2.replace_lane(q0, 1, Infinity));
      let x0 = q0, h0 = shift;
      if (scaledOf<S>()) {
        const u0 = aboveF64x2(q0, lo);
        x0 = subQF64x2(q0, u0, mant, one);
        h0 = v128.bitselect(shift, shift1022, u0);
      }
      const op0 = aboveF64x2(p0, lo), oq0 = qOkF64x2<S>(q0, lo);
      below = v128.or(below, v128.andnot(p0, op0));
      careful = v128.or(careful, v128.andnot(op0, oq0));
      const l0 = log2RatioF64x2(p0, x0, h0, kcv, shift, mant, sqrtHalf, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9);
      a = f64x2.add(a, f64x2.mul(v128.and(p0, op0), l0));
    }
    if (!scaledOf<S>() && !rowInf && v128.any_true(careful) && subUnderF64(p, q, start, end)) {
      // this block again, and the rest of the row, with subnormal q scaled (the call is
      // after the loop, out of its way; the block's scan is done, its sums not yet added;
      // mq and below see it twice)
      handover = start;
      break;
    }
    i = end;
    if (v128.any_true(careful) && !rowInf) {
      aN += klBlockExact<f64>(p, q, start, end, kc);
      a = zero;
    }
    wlo = twoSumLoF64x2(whi, w1, wlo);
    whi = f64x2.add(whi, w1);
    qlo = twoSumLoF64x2(qhi, w2, qlo);
    qhi = f64x2.add(qhi, w2);
    aa = f64x2.add(aa, a);
    if (++blocks == 16) {
      alo = twoSumLoF64x2(ahi, aa, alo);
      ahi = f64x2.add(ahi, aa);
      aa = zero;
      blocks = 0;
    }
  }
  if (!scaledOf<S>() && handover >= 0) return klScaledF64(p, q, n, norm, kc, handover, blocks, ahi, alo, whi, wlo, qhi, qlo, aa, aN, below, mq);
  alo = twoSumLoF64x2(ahi, aa, alo);
  ahi = f64x2.add(ahi, aa);
  const mnq = min(f64x2.extract_lane(mq, 0), f64x2.extract_lane(mq, 1));
  if (mnq < 0 || v128.any_true(v128.and(below, i64x2.splat(0x8000000000000000)))) return divergenceExact<f64>(KL, p, q, n, norm, 1, 1);
  rowWhi = pairTotal(whi, wlo);
  rowWlo = pairLo;
  rowWq = pairTotal(qhi, qlo);
  rowWqlo = pairLo;
  rowA = pairTotal(ahi, alo) * LN2 + aN;
  rowK = kc;
  rowMin = 0;
  const d = klValue(rowWhi, rowWlo, rowWq, rowWqlo, rowA, kc, 0, rowInf, norm);
  if (!rowInf && ((v128.any_true(below) && ((mnq == 0 && zeroUnderF64(p, q, n)) || Math.abs(d) < <f64>n * REDO64 || (norm && rowWhi < TINY)))
    || overflowed())) {
    return divergenceExact<f64>(KL, p, q, n, norm, 1, 1);
  }
  if (norm && !rowInf) klAgain = klRedo(kc, d);
  return d;
}

// @ts-ignore: decorator
@inline function klRowF64(p: usize, q: usize, n: i32, norm: bool): f64 {
  const kc = norm ? klRef<f64>(p, q, n) : 0;
  const d = klRowF64K(p, q, n, norm, kc);
  return klAgain != kc ? klRowF64K(p, q, n, norm, klAgain) : d;
}

function klRowF64K(p: usize, q: usize, n: i32, norm: bool, kc: i32): f64 {
  rowInf = false;
  klAgain = kc;
  const zero = f64x2.splat(0);
  return klF64T<Plain>(p, q, n, norm, kc, 0, 0, zero, zero, zero, zero, zero, zero, zero, 0, zero, f64x2.splat(Infinity));
}

function klScaledF64(p: usize, q: usize, n: i32, norm: bool, kc: i32, i: i32, blocks: i32,
  ahi: v128, alo: v128, whi: v128, wlo: v128, qhi: v128, qlo: v128, aa: v128, aN: f64, below: v128, mq: v128): f64 {
  return klF64T<Scaled>(p, q, n, norm, kc, i, blocks, ahi, alo, whi, wlo, qhi, qlo, aa, aN, below, mq);
}

/**
 * A normalised vector row's kc: from the plain sums of its first PREFIX entries (all of
 * a shorter row).  A prefix that misleads costs accuracy only where D is small against
 * the difference, and `klRedo` then asks for the row again.
 */
// @ts-ignore: decorator
@inline function klRef<T>(p: usize, q: usize, n: i32): i32 {
  const m = min(n, PREFIX);
  let i = 0;
  let sp: f64 = 0, sq: f64 = 0;
  if (sizeof<T>() == 4) {
    // (float32 lanes over PREFIX entries: an overflow shows as Infinity, and kcOf says 0)
    let a = f32x4.splat(0), b = a;
    for (; i + 4 <= m; i += 4) {
      const o = <usize>i << 2;
      a = f32x4.add(a, v128.load(p + o));
      b = f32x4.add(b, v128.load(q + o));
    }
    sp = sumLanesF64x2(widenF32x4(a));
    sq = sumLanesF64x2(widenF32x4(b));
  } else {
    let a = f64x2.splat(0), b = a;
    for (; i + 2 <= m; i += 2) {
      const o = <usize>i << 3;
      a = f64x2.add(a, v128.load(p + o));
      b = f64x2.add(b, v128.load(q + o));
    }
    sp = sumLanesF64x2(a);
    sq = sumLanesF64x2(b);
  }
  for (; i < m; i++) {
    sp += at<T>(p, i);
    sq += at<T>(q, i);
  }
  return kcOf(sp, sq);
}

/**
 * The kc a normalised vector row is computed again with: the totals' where the row's
 * (from `klRef`) is off by dk ≥ 1 and |D| < dk/16 (its terms, relative to kc, are then
 * ~dk in size against a result ~|D|, each carrying an ulp of dk); else the row's own.
 */
// @ts-ignore: decorator
@inline function klRedo(kc: i32, d: f64): i32 {
  const ks = kcOf(rowWhi, rowWq);
  const dk = abs(ks - kc);
  return dk >= 1 && Math.abs(d) < <f64>dk * 0.0625 ? ks : kc;
}

/** The Jensen–Shannon terms of one vector (a, b already masked, and scaled when normalised); t added to `a`. */
// @ts-ignore: decorator
@inline function jsTermF32x4(sa: v128, sb: v128, shift: v128, mant: v128, sqrtHalf: v128, one: v128, two: v128,
  c0: v128, c1: v128, c2: v128, c3: v128): v128 {
  const rs = f32x4.div(one, f32x4.add(sa, sb));
  const xp = f32x4.mul(f32x4.add(sa, sa), rs), xq = f32x4.mul(f32x4.add(sb, sb), rs);
  const f = f32x4.mul(f32x4.sub(sa, sb), rs);
  const lp = log2NearF32x4(xp, f, shift, mant, sqrtHalf, one, two, c0, c1, c2, c3);
  const lq = log2NearF32x4(xq, f32x4.neg(f), shift, mant, sqrtHalf, one, two, c0, c1, c2, c3);
  return f32x4.add(f32x4.mul(sa, lp), f32x4.mul(sb, lq));
}

/** Lanes of a JS vector whose ratio 2a/(a + b) (or 2b/(a + b)) fell below the normal range while a (b) did not. */
// @ts-ignore: decorator
@inline function jsCarefulF32x4(sa: v128, sb: v128, op: v128, oq: v128, lo: v128, one: v128): v128 {
  const rs = f32x4.div(one, f32x4.add(sa, sb));
  return v128.or(v128.andnot(op, i32x4.gt_s(f32x4.mul(f32x4.add(sa, sa), rs), lo)), v128.andnot(oq, i32x4.gt_s(f32x4.mul(f32x4.add(sb, sb), rs), lo)));
}

/** Jensen–Shannon of a float32 row (a = p/Tp, b = q/Tq: Tp = Tq = 1 unless normalised). */
function jsRowF32(p: usize, q: usize, n: i32, Tp: f64, Tq: f64): f64 {
  const shift = kept(i32x4.splat(NEAR_SHIFT32)), mant = i32k(I_MANT), sqrtHalf = i32k(I_SQRT_HALF);
  const c0 = dl32(0), c1 = dl32(1), c2 = dl32(2), c3 = dl32(3), one = dl32(4), two = f32x4.add(one, one);
  const lo = mant;
  const scaled = Tp != 1.0 || Tq != 1.0;
  const cp = f32x4.splat(<f32>(1.0 / Tp)), cq = f32x4.splat(<f32>(1.0 / Tq));
  const zero = f32x4.splat(0);
  let aa = f64x2.splat(0), wp = aa, wq = aa;
  let aN: f64 = 0;
  let sign = zero;
  let i = 0;
  while (i < n) {
    const start = i, end = min(i + 32, n);
    let a = zero, w1 = zero, w2 = zero, careful = zero;
    for (; i < end; i += 4) {
      const whole = i + 4 <= end;
      const o = <usize>i << 2;
      const vp = whole ? v128.load(p + o) : tailF32(p, i, end), vq = whole ? v128.load(q + o) : tailF32(q, i, end);
      w1 = f32x4.add(w1, vp);
      w2 = f32x4.add(w2, vq);
      sign = v128.or(sign, v128.or(vp, vq));
      const op = aboveF32x4(vp, lo), oq = aboveF32x4(vq, lo);
      let sa = v128.and(vp, op), sb = v128.and(vq, oq);
      if (scaled) {
        sa = f32x4.mul(sa, cp);
        sb = f32x4.mul(sb, cq);
      }
      careful = v128.or(careful, jsCarefulF32x4(sa, sb, op, oq, lo, one));
      a = f32x4.add(a, jsTermF32x4(sa, sb, shift, mant, sqrtHalf, one, two, c0, c1, c2, c3));
    }
    if (v128.any_true(careful)) {
      aN += jsBlockExact<f32>(p, q, start, end, Tp, Tq);
      a = zero;
    }
    aa = f64x2.add(aa, widenF32x4(a));
    wp = f64x2.add(wp, widenF32x4(w1));
    wq = f64x2.add(wq, widenF32x4(w2));
  }
  if (v128.any_true(v128.and(sign, i32x4.splat(0x80000000)))) return divergenceExact<f32>(JS, p, q, n, false, Tp, Tq);
  rowWhi = sumLanesF64x2(wp);
  rowWlo = 0;
  rowWq = sumLanesF64x2(wq);
  rowA = sumLanesF64x2(aa) * LN2 + aN;
  rowMin = 0;
  const d = jsValue(rowWhi, rowWq, rowA, 0);
  if (Math.abs(d) < <f64>n * REDO32 && (hasSubnormalF32(p, n) || hasSubnormalF32(q, n))) return divergenceExact<f32>(JS, p, q, n, false, Tp, Tq);
  return d;
}

function divergenceExact<T>(kind: i32, p: usize, q: usize, n: i32, norm: bool, Tp: f64, Tq: f64): f64 {
  if (kind == KL) {
    klRowExact<T>(p, q, n, norm);
    return klValue(rowWhi, rowWlo, rowWq, rowWqlo, rowAs, rowK, rowMin, rowInf, norm, rowSc);
  }
  jsRowExact<T>(p, q, n, Tp, Tq);
  return jsValue(rowWhi, rowWq, rowA, rowMin);
}

function jsRowF64(p: usize, q: usize, n: i32, Tp: f64, Tq: f64): f64 {
  const shift = i64k(L_LOG_SHIFT), mant = i64k(L_MANT), sqrtHalf = i64k(L_SQRT_HALF), i1023 = i64k(L_1023);
  const c0 = dl64(0), c1 = dl64(1), c2 = dl64(2), c3 = dl64(3), c4 = dl64(4), c5 = dl64(5), c6 = dl64(6), one = dl64(7);
  const lo = mant;
  const scaled = Tp != 1.0 || Tq != 1.0;
  const cp = f64x2.splat(1.0 / Tp), cq = f64x2.splat(1.0 / Tq);
  const zero = f64x2.splat(0);
  let ahi = zero, alo = zero, whi = zero, wlo = zero, qhi = zero, qlo = zero, aa = zero;
  let aN: f64 = 0;
  let sign = zero;
  let i = 0, blocks = 0;
  while (i < n) {
    const start = i, end = min(i + 16, n);
    let a = zero, w1 = zero, w2 = zero, careful = zero;
    for (; i < end; i += 2) {
      const whole = i + 2 <= end;
      const o = <usize>i << 3;
      const vp = whole ? v128.load(p + o) : tailF64(p, i), vq = whole ? v128.load(q + o) : tailF64(q, i);
      w1 = f64x2.add(w1, vp);
      w2 = f64x2.add(w2, vq);
      sign = v128.or(sign, v128.or(vp, vq));
      const op = aboveF64x2(vp, lo), oq = aboveF64x2(vq, lo);
      let sa = v128.and(vp, op), sb = v128.and(vq, oq);
      if (scaled) {
        sa = f64x2.mul(sa, cp);
        sb = f64x2.mul(sb, cq);
      }
      const s = f64x2.add(sa, sb);
      const rs = f64x2.div(one, s);
      const a2 = f64x2.add(sa, sa), b2 = f64x2.add(sb, sb);
      const xp = f64x2.mul(a2, rs), xq = f64x2.mul(b2, rs);
      const d = f64x2.sub(sa, sb);
      careful = v128.or(careful, v128.or(v128.andnot(op, i64x2.gt_s(xp, lo)), v128.andnot(oq, i64x2.gt_s(xq, lo))));
      // log(2a/(a + b)) near 1: the series variable (a − b)/(3a + b)
      const lp = log2NearF64x2(xp, d, f64x2.add(a2, s), shift, mant, sqrtHalf, i1023, one, c0, c1, c2, c3, c4, c5, c6);
      const lq = log2NearF64x2(xq, f64x2.neg(d), f64x2.add(b2, s), shift, mant, sqrtHalf, i1023, one, c0, c1, c2, c3, c4, c5, c6);
      a = f64x2.add(a, f64x2.add(f64x2.mul(sa, lp), f64x2.mul(sb, lq)));
    }
    if (v128.any_true(careful)) {
      aN += jsBlockExact<f64>(p, q, start, end, Tp, Tq);
      a = zero;
    }
    wlo = twoSumLoF64x2(whi, w1, wlo);
    whi = f64x2.add(whi, w1);
    qlo = twoSumLoF64x2(qhi, w2, qlo);
    qhi = f64x2.add(qhi, w2);
    aa = f64x2.add(aa, a);
    if (++blocks == 16) {
      alo = twoSumLoF64x2(ahi, aa, alo);
      ahi = f64x2.add(ahi, aa);
      aa = zero;
      blocks = 0;
    }
  }
  alo = twoSumLoF64x2(ahi, aa, alo);
  ahi = f64x2.add(ahi, aa);
  if (v128.any_true(v128.and(sign, i64x2.splat(0x8000000000000000)))) return divergenceExact<f64>(JS, p, q, n, false, Tp, Tq);
  rowWhi = pairTotal(whi, wlo);
  rowWlo = pairLo;
  rowWq = pairTotal(qhi, qlo);
  rowA = pairTotal(ahi, alo) * LN2 + aN;
  rowMin = 0;
  const d = jsValue(rowWhi, rowWq, rowA, 0);
  if (Math.abs(d) < <f64>n * REDO64 && (hasSubnormalF64(p, n) || hasSubnormalF64(q, n))) return divergenceExact<f64>(JS, p, q, n, false, Tp, Tq);
  return d;
}

/**
 * res[r] = D(p[r, :] ‖ q[r, :]) in nats (normalize ≠ 0: of p/Σp and q/Σq); aux (4 a row):
 * W_p, W_q, A = Σ p·log(p/q) (normalised: Σ p·(log(p/q) − ks·ln 2), ks = `kcOf(W_p, W_q)`
 * of the two totals stored; +Infinity where some p > 0 has q = 0), the smallest entry of p
 * and q (0 when none is negative).
 */
export function klDivergenceRowsF32(p: usize, q: usize, rows: i32, cols: i32, normalize: f64, res: usize, aux: usize): void {
  const norm = normalize != 0;
  for (let r = 0; r < rows; r++) {
    const o = <usize>r * <usize>cols << 2;
    const d = ASC_FEATURE_SIMD ? klRowF32(p + o, q + o, cols, norm) : divergenceExact<f32>(KL, p + o, q + o, cols, norm, 1, 1);
    store<f64>(res + (<usize>r << 3), d);
    if (aux) putDivergence(aux, r, true, norm);
  }
}

export function klDivergenceRowsF64(p: usize, q: usize, rows: i32, cols: i32, normalize: f64, res: usize, aux: usize): void {
  const norm = normalize != 0;
  for (let r = 0; r < rows; r++) {
    const o = <usize>r * <usize>cols << 3;
    const d = ASC_FEATURE_SIMD ? klRowF64(p + o, q + o, cols, norm) : divergenceExact<f64>(KL, p + o, q + o, cols, norm, 1, 1);
    store<f64>(res + (<usize>r << 3), d);
    if (aux) putDivergence(aux, r, true, norm);
  }
}

/** The totals (W_p, W_q) of row r from `rowIn` (2 a row), or 1, 1 when absent; rows with totals the vector path cannot scale by go exact. */
// @ts-ignore: decorator
@inline function totalsOk(T: f64): bool {
  return T >= 1.0e-280 && T <= 1.0e280;
}

/**
 * res[r] = JS(p[r, :], q[r, :]) in nats, of p/W_p and q/W_q when `rowIn` (2 a row: W_p,
 * W_q) is given; aux (4 a row): Σp, Σq, A = Σ a·log(2a/(a + b)) + b·log(2b/(a + b)), the
 * smallest entry of p and q (0 when none is negative).
 */
export function jsDivergenceRowsF32(p: usize, q: usize, rows: i32, cols: i32, rowIn: usize, res: usize, aux: usize): void {
  for (let r = 0; r < rows; r++) {
    const o = <usize>r * <usize>cols << 2;
    const Tp: f64 = rowIn ? load<f64>(rowIn + (<usize>r << 4)) : 1.0, Tq: f64 = rowIn ? load<f64>(rowIn + (<usize>r << 4), 8) : 1.0;
    const d = ASC_FEATURE_SIMD && totalsOk(Tp) && totalsOk(Tq) ? jsRowF32(p + o, q + o, cols, Tp, Tq)
      : divergenceExact<f32>(JS, p + o, q + o, cols, false, Tp, Tq);
    store<f64>(res + (<usize>r << 3), d);
    if (aux) putDivergence(aux, r, false, false);
  }
}

export function jsDivergenceRowsF64(p: usize, q: usize, rows: i32, cols: i32, rowIn: usize, res: usize, aux: usize): void {
  for (let r = 0; r < rows; r++) {
    const o = <usize>r * <usize>cols << 3;
    const Tp: f64 = rowIn ? load<f64>(rowIn + (<usize>r << 4)) : 1.0, Tq: f64 = rowIn ? load<f64>(rowIn + (<usize>r << 4), 8) : 1.0;
    const d = ASC_FEATURE_SIMD && totalsOk(Tp) && totalsOk(Tq) ? jsRowF64(p + o, q + o, cols, Tp, Tq)
      : divergenceExact<f64>(JS, p + o, q + o, cols, false, Tp, Tq);
    store<f64>(res + (<usize>r << 3), d);
    if (aux) putDivergence(aux, r, false, false);
  }
}

function putDivergence(aux: usize, r: i32, kl: bool, norm: bool): void {
  const wp = rowWhi + rowWlo;
  put(aux, r, 4, 0, wp);
  put(aux, r, 4, 1, rowWq);
  // KL, normalised: A relative to ks·ln 2, ks = kcOf of the two totals stored, which the
  // long-row merge computes again (src/js/reduce.ts, mergeDivergence)
  let A = rowA;
  if (kl && norm && !rowInf) {
    const ks = kcOf(wp, rowWq);
    if (ks != rowK) A += <f64>(rowK - ks) * LN2 * wp;
  }
  put(aux, r, 4, 2, kl && rowInf ? Infinity : A);
  put(aux, r, 4, 3, rowMin);
}

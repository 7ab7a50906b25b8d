// The softmax family, row by row: log-sum-exp, softmax, log-softmax, and the entropy
// and KL divergence of softmax outputs computed from the logits without materialising
// the probabilities.
//
// Every row is taken relative to its maximum m: exp((x − m)/T) ≤ 1 cannot overflow,
// and S = Σ exp((x − m)/T) lies in [1, n], so log-sum-exp = m/T + log S loses nothing
// to the scale of the logits (±1e300 in float64, ±1e30 in float32).  The exponentials
// come from `expShifted*`, which never rounds the argument (x − m)/T as a whole.
//
// S is accumulated as `ones + rest`: the entries equal to the maximum contribute
// exactly 1 each, and log S = log1p(rest) when there is one of them, so a log-sum-exp
// or log-softmax near 0 (one dominant logit) keeps its relative accuracy; log(1 + rest)
// would round rest to 2^-53 first.
//
// Rows whose maximum is not finite never reach the exponentials (`special*`): a row of
// −Infinity (masked) logits has log-sum-exp −Infinity, softmax 0, log-softmax
// −Infinity, entropy 0; a row with +Infinity has log-sum-exp +Infinity and, as PyTorch,
// softmax and log-softmax NaN; a row containing NaN is NaN.  NaN among finite logits
// reaches S through exp and makes the row NaN.
//
// float32 rows: exp in f32x4 lanes, S accumulated in float64 — a float32 sum of 10⁶
// terms would carry a relative error of ~1e-5, far beyond a float32 result's.

import { expShiftedF32x4, expShiftedF64x2, expShiftedF32, expShiftedF64, setExpF32, setExpF64, logOnesPlus } from "./math";
import { maxF32, maxF64, sumLanesF64x2, promoteHighF32x4 } from "./reduce";


/** Set by `expSumF32/F64`: how many entries of the row were exactly the maximum (exp = 1). */
export let expSumOnes: f64 = 0;

// ---------------------------------------------------------------------------------
// Row passes shared with loss.ts
// ---------------------------------------------------------------------------------

/**
 * Σ exp((x − m)/T) over a float32 row with a finite maximum m, returned as the part
 * `rest` from entries below the maximum (the count of those at it goes to
 * `expSumOnes`).  Stores each exponential to `dst` when dst ≠ 0 (dst may be x).
 *
 * With `exact`, a rest below 1e-30 is recomputed from x in float64 (`restExactF32`):
 * callers that take log1p(rest) need it to full relative accuracy.  That re-reads x,
 * so a caller storing over x (dst = x) must pass exact = false; softmax can (S ≥ 1,
 * so 1/S does not see rest < 1e-30), the loss takes rest from a pass without dst.
 */
export function expSumF32(x: usize, n: i32, m: f32, T: f64, dst: usize, exact: bool = true): f64 {
  // two copies of the loop, with and without the store: V8 does not unswitch it
  return dst ? expSumLoopF32(x, n, m, T, dst, exact, true) : expSumLoopF32(x, n, m, T, 0, exact, false);
}

// @ts-ignore: decorator
@inline function expSumLoopF32(x: usize, n: i32, m: f32, T: f64, dst: usize, exact: bool, stores: bool): f64 {
  let i = 0;
  let rest: f64 = 0;
  let ones: i32 = 0;
  if (ASC_FEATURE_SIMD) {
    setExpF32(T);
    const vm = f32x4.splat(m);
    let s0 = f64x2.splat(0), s1 = s0, cnt = i32x4.splat(0);
    // Blocks of 8 vectors summed in float32 lanes, then added into float64: each lane adds
    // 8 positive terms, a relative error ≤ 7·2^-24 = 4.2e-7 of the block — inside the
    // float32 bound — for a quarter of the float64 work.
    while (i + 4 <= n) {
      const end = min(i + 32, n & ~3);
      let b = f32x4.splat(0);
      for (; i < end; i += 4) {
        const o = <usize>i << 2;
        const v = v128.load(x + o);
        const e = expShiftedF32x4(v, vm);
        if (stores) v128.store(dst + o, e);
        // x = m rather than e = 1: known before e is, so the sum waits for one operation less
        const top = f32x4.eq(v, vm);
        cnt = i32x4.sub(cnt, top);
        b = f32x4.add(b, v128.andnot(e, top));
      }
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(b));
      s1 = f64x2.add(s1, promoteHighF32x4(b));
    }
    rest = sumLanesF64x2(f64x2.add(s0, s1));
    ones = i32x4.extract_lane(cnt, 0) + i32x4.extract_lane(cnt, 1) + i32x4.extract_lane(cnt, 2) + i32x4.extract_lane(cnt, 3);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    const e = expShiftedF32(v, m, T);
    if (stores) store<f32>(dst + o, e);
    if (v == m) ones++;
    else rest += <f64>e;
  }
  if (exact && rest < 1e-30) return restExactF32(x, n, m, T);
  expSumOnes = <f64>ones;
  return rest;
}

/**
 * `expSumF32` in float64 for a row where all but the maximal entries lie so far below
 * it (Σ < 1e-30) that their float32 exponentials, subnormal or 0, would decide log S
 * (a one-hot-like row; masked entries cost nothing here).
 */
function restExactF32(x: usize, n: i32, m: f32, T: f64): f64 {
  let rest: f64 = 0, ones: f64 = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    if (v == -Infinity) continue;
    const e = Math.exp((<f64>v - <f64>m) / T);
    if (v == m) ones++;
    else rest += e;
  }
  expSumOnes = ones;
  return rest;
}

/** The float64 twin of `expSumF32`. */
export function expSumF64(x: usize, n: i32, m: f64, T: f64, dst: usize): f64 {
  let i = 0;
  let rest: f64 = 0;
  let ones: i64 = 0;
  if (ASC_FEATURE_SIMD) {
    setExpF64(T);
    const vm = f64x2.splat(m);
    let s0 = f64x2.splat(0), s1 = s0, cnt = i64x2.splat(0);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 3;
      const v0 = v128.load(x + o), v1 = v128.load(x + o, 16);
      const e0 = expShiftedF64x2(v0, vm);
      const e1 = expShiftedF64x2(v1, vm);
      if (dst) {
        v128.store(dst + o, e0);
        v128.store(dst + o, e1, 16);
      }
      const t0 = f64x2.eq(v0, vm), t1 = f64x2.eq(v1, vm);
      cnt = i64x2.sub(i64x2.sub(cnt, t0), t1);
      s0 = f64x2.add(s0, v128.andnot(e0, t0));
      s1 = f64x2.add(s1, v128.andnot(e1, t1));
    }
    rest = sumLanesF64x2(f64x2.add(s0, s1));
    ones = i64x2.extract_lane(cnt, 0) + i64x2.extract_lane(cnt, 1);
  }
  for (; i < n; i++) {
    const o = <usize>i << 3;
    const v = load<f64>(x + o);
    const e = expShiftedF64(v, m, T);
    if (dst) store<f64>(dst + o, e);
    if (v == m) ones++;
    else rest += e;
  }
  expSumOnes = <f64>ones;
  return rest;
}

/** dst[i] = x[i]·c over a float32 row (in place when dst = x). */
export function scaleF32(x: usize, n: i32, c: f32, dst: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vc = f32x4.splat(c);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(dst + o, f32x4.mul(v128.load(x + o), vc));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(x + o) * c);
  }
}

/** dst[i] = x[i]·c over a float64 row (in place when dst = x). */
export function scaleF64(x: usize, n: i32, c: f64, dst: usize): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vc = f64x2.splat(c);
    for (; i + 2 <= n; i += 2) {
      const o = <usize>i << 3;
      v128.store(dst + o, f64x2.mul(v128.load(x + o), vc));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 3;
    store<f64>(dst + o, load<f64>(x + o) * c);
  }
}

export function fillF32(dst: usize, n: i32, v: f32): void {
  for (let i = 0; i < n; i++) store<f32>(dst + (<usize>i << 2), v);
}

export function fillF64(dst: usize, n: i32, v: f64): void {
  for (let i = 0; i < n; i++) store<f64>(dst + (<usize>i << 3), v);
}

/** True when the row holds a NaN (only asked of rows whose maximum is not finite). */
export function hasNaNF32(x: usize, n: i32): bool {
  for (let i = 0; i < n; i++) if (isNaN(load<f32>(x + (<usize>i << 2)))) return true;
  return false;
}

export function hasNaNF64(x: usize, n: i32): bool {
  for (let i = 0; i < n; i++) if (isNaN(load<f64>(x + (<usize>i << 3)))) return true;
  return false;
}

/** A row whose maximum is not finite is masked (no mass) when it is all −Infinity, or empty. */
// @ts-ignore: decorator
@inline export function maskedRowF32(x: usize, n: i32, m: f32): bool {
  return m == -Infinity && !hasNaNF32(x, n);
}

// @ts-ignore: decorator
@inline export function maskedRowF64(x: usize, n: i32, m: f64): bool {
  return m == -Infinity && !hasNaNF64(x, n);
}

// ---------------------------------------------------------------------------------
// log-sum-exp
// ---------------------------------------------------------------------------------

/** out[r] = log Σ exp(x[r, :]) (float64 results). */
export function logSumExpRowsF32(x: usize, rows: i32, cols: i32, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const row = x + (<usize>r * <usize>cols << 2);
    const m = maxF32(row, cols);
    let v: f64;
    if (!isFinite(m)) v = hasNaNF32(row, cols) ? NaN : <f64>m;
    else {
      const rest = expSumF32(row, cols, m, 1.0, 0);
      v = <f64>m + logOnesPlus(expSumOnes, rest);
    }
    store<f64>(out + (<usize>r << 3), v);
  }
}

/** out[r] = log Σ exp(x[r, :]). */
export function logSumExpRowsF64(x: usize, rows: i32, cols: i32, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const row = x + (<usize>r * <usize>cols << 3);
    const m = maxF64(row, cols);
    let v: f64;
    if (!isFinite(m)) v = hasNaNF64(row, cols) ? NaN : m;
    else {
      const rest = expSumF64(row, cols, m, 1.0, 0);
      v = m + logOnesPlus(expSumOnes, rest);
    }
    store<f64>(out + (<usize>r << 3), v);
  }
}

// ---------------------------------------------------------------------------------
// softmax and log-softmax: out may be x itself (each pass reads an entry before it
// writes the same entry).
// ---------------------------------------------------------------------------------

/** out[r, :] = exp((x − m)/T − log S), in three passes: max, exp-store-sum, scale. */
export function softmaxRowsF32(x: usize, rows: i32, cols: i32, T: f64, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    const m = maxF32(x + off, cols);
    if (!isFinite(m)) {
      fillF32(out + off, cols, maskedRowF32(x + off, cols, m) ? 0 : NaN);
      continue;
    }
    const rest = expSumF32(x + off, cols, m, T, out + off, false);
    scaleF32(out + off, cols, <f32>(1.0 / (expSumOnes + rest)), out + off);
  }
}

export function softmaxRowsF64(x: usize, rows: i32, cols: i32, T: f64, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 3;
    const m = maxF64(x + off, cols);
    if (!isFinite(m)) {
      fillF64(out + off, cols, maskedRowF64(x + off, cols, m) ? 0 : NaN);
      continue;
    }
    const rest = expSumF64(x + off, cols, m, T, out + off);
    scaleF64(out + off, cols, 1.0 / (expSumOnes + rest), out + off);
  }
}

/** out[r, :] = (x − m)/T − log S. */
export function logSoftmaxRowsF32(x: usize, rows: i32, cols: i32, T: f64, out: usize): void {
  const invT = <f32>(1.0 / T);
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    const m = maxF32(x + off, cols);
    if (!isFinite(m)) {
      fillF32(out + off, cols, maskedRowF32(x + off, cols, m) ? -Infinity : NaN);
      continue;
    }
    const rest = expSumF32(x + off, cols, m, T, 0);
    const ls = <f32>logOnesPlus(expSumOnes, rest);
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const vm = f32x4.splat(m), vt = f32x4.splat(invT), vl = f32x4.splat(ls);
      for (; i + 4 <= cols; i += 4) {
        const o = off + (<usize>i << 2);
        v128.store(out + o, f32x4.sub(f32x4.mul(f32x4.sub(v128.load(x + o), vm), vt), vl));
      }
    }
    for (; i < cols; i++) {
      const o = off + (<usize>i << 2);
      store<f32>(out + o, (load<f32>(x + o) - m) * invT - ls);
    }
  }
}

export function logSoftmaxRowsF64(x: usize, rows: i32, cols: i32, T: f64, out: usize): void {
  const invT = 1.0 / T;
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 3;
    const m = maxF64(x + off, cols);
    if (!isFinite(m)) {
      fillF64(out + off, cols, maskedRowF64(x + off, cols, m) ? -Infinity : NaN);
      continue;
    }
    const rest = expSumF64(x + off, cols, m, T, 0);
    const ls = logOnesPlus(expSumOnes, rest);
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const vm = f64x2.splat(m), vt = f64x2.splat(invT), vl = f64x2.splat(ls);
      for (; i + 2 <= cols; i += 2) {
        const o = off + (<usize>i << 3);
        v128.store(out + o, f64x2.sub(f64x2.mul(f64x2.sub(v128.load(x + o), vm), vt), vl));
      }
    }
    for (; i < cols; i++) {
      const o = off + (<usize>i << 3);
      store<f64>(out + o, (load<f64>(x + o) - m) * invT - ls);
    }
  }
}

// ---------------------------------------------------------------------------------
// Entropy of softmax(x/T) from the logits:
//   H = log S − (1/S)·Σ eᵢ·tᵢ,  tᵢ = (xᵢ − m)/T ≤ 0, eᵢ = exp(tᵢ).
// Both terms are ≥ 0, so nothing cancels.  Masked entries (e = 0) contribute 0, not
// 0·(−Infinity).  A fully masked row has no mass and entropy 0.
// ---------------------------------------------------------------------------------

export function softmaxEntropyRowsF32(x: usize, rows: i32, cols: i32, T: f64, out: usize): void {
  const invT = <f32>(1.0 / T);
  for (let r = 0; r < rows; r++) {
    const row = x + (<usize>r * <usize>cols << 2);
    const m = maxF32(row, cols);
    if (!isFinite(m)) {
      store<f64>(out + (<usize>r << 3), maskedRowF32(row, cols, m) ? 0 : NaN);
      continue;
    }
    let i = 0;
    let rest: f64 = 0, a: f64 = 0;
    let ones: i32 = 0;
    if (ASC_FEATURE_SIMD) {
      setExpF32(T);
      const vm = f32x4.splat(m);
      const vt = f32x4.splat(invT), zero = f32x4.splat(0);
      let s0 = f64x2.splat(0), s1 = s0, a0 = s0, a1 = s0, cnt = i32x4.splat(0);
      for (; i + 4 <= cols; i += 4) {
        const v = v128.load(row + (<usize>i << 2));
        const e = expShiftedF32x4(v, vm);
        const t = f32x4.mul(f32x4.sub(v, vm), vt);
        const et = v128.bitselect(zero, f32x4.mul(e, t), f32x4.eq(e, zero));
        const top = f32x4.eq(v, vm); // the maximal entries (as in `expSumF32`)
        const below = v128.andnot(e, top);
        cnt = i32x4.sub(cnt, top);
        s0 = f64x2.add(s0, f64x2.promote_low_f32x4(below));
        s1 = f64x2.add(s1, promoteHighF32x4(below));
        a0 = f64x2.add(a0, f64x2.promote_low_f32x4(et));
        a1 = f64x2.add(a1, promoteHighF32x4(et));
      }
      rest = sumLanesF64x2(f64x2.add(s0, s1));
      a = sumLanesF64x2(f64x2.add(a0, a1));
      ones = i32x4.extract_lane(cnt, 0) + i32x4.extract_lane(cnt, 1) + i32x4.extract_lane(cnt, 2) + i32x4.extract_lane(cnt, 3);
    }
    for (; i < cols; i++) {
      const v = load<f32>(row + (<usize>i << 2));
      const e = expShiftedF32(v, m, T);
      if (v == m) ones++;
      else rest += <f64>e;
      if (e != 0) a += <f64>(e * ((v - m) * invT));
    }
    if (rest < 1e-30) {
      // the entries below the maximum underflow float32: the sums again, in float64
      rest = 0;
      a = 0;
      ones = 0;
      for (let j = 0; j < cols; j++) {
        const v = load<f32>(row + (<usize>j << 2));
        if (v == -Infinity) continue;
        const t = (<f64>v - <f64>m) / T;
        const e = Math.exp(t);
        if (v == m) ones++;
        else rest += e;
        if (e != 0) a += e * t;
      }
    }
    const s = <f64>ones + rest;
    store<f64>(out + (<usize>r << 3), logOnesPlus(<f64>ones, rest) - a / s);
  }
}

export function softmaxEntropyRowsF64(x: usize, rows: i32, cols: i32, T: f64, out: usize): void {
  const invT = 1.0 / T;
  for (let r = 0; r < rows; r++) {
    const row = x + (<usize>r * <usize>cols << 3);
    const m = maxF64(row, cols);
    if (!isFinite(m)) {
      store<f64>(out + (<usize>r << 3), maskedRowF64(row, cols, m) ? 0 : NaN);
      continue;
    }
    let i = 0;
    let rest: f64 = 0, a: f64 = 0;
    let ones: i64 = 0;
    if (ASC_FEATURE_SIMD) {
      setExpF64(T);
      const vm = f64x2.splat(m);
      const vt = f64x2.splat(invT), zero = f64x2.splat(0);
      let s0 = f64x2.splat(0), a0 = s0, cnt = i64x2.splat(0);
      for (; i + 2 <= cols; i += 2) {
        const v = v128.load(row + (<usize>i << 3));
        const e = expShiftedF64x2(v, vm);
        const t = f64x2.mul(f64x2.sub(v, vm), vt);
        const top = f64x2.eq(v, vm);
        cnt = i64x2.sub(cnt, top);
        s0 = f64x2.add(s0, v128.andnot(e, top));
        a0 = f64x2.add(a0, v128.bitselect(zero, f64x2.mul(e, t), f64x2.eq(e, zero)));
      }
      rest = sumLanesF64x2(s0);
      a = sumLanesF64x2(a0);
      ones = i64x2.extract_lane(cnt, 0) + i64x2.extract_lane(cnt, 1);
    }
    for (; i < cols; i++) {
      const v = load<f64>(row + (<usize>i << 3));
      const e = expShiftedF64(v, m, T);
      if (v == m) ones++;
      else rest += e;
      if (e != 0) a += e * ((v - m) * invT);
    }
    const s = <f64>ones + rest;
    store<f64>(out + (<usize>r << 3), logOnesPlus(<f64>ones, rest) - a / s);
  }
}

// ---------------------------------------------------------------------------------
// KL divergence of softmax(a/T) from softmax(b/T), from the logits.  With
// tᵢ = ((aᵢ − ma) − (bᵢ − mb))/T = log pᵢ − log qᵢ − log(SB/SA):
//   D = (1/SA)·Σ eaᵢ·tᵢ + log1p((SB − SA)/SA)
// and SB − SA = Σ (ebᵢ − eaᵢ) summed as eaᵢ·expm1(−tᵢ) where |tᵢ| < ¼, so that for
// close distributions (D ~ t²) neither part carries more than its own rounding.  tᵢ
// is formed from the exact differences aᵢ − ma and bᵢ − mb (float64 lanes for float32
// logits, where they are exact; a TwoSum each in float64), so it is right both when the
// rows are close (the two differences cancel exactly) and when the logits are huge.
// Entries with pᵢ = 0 contribute 0; pᵢ > 0 = qᵢ makes D +Infinity; a fully masked `a`
// row has no mass and divergence 0.
// ---------------------------------------------------------------------------------

// expm1(t) = t + t²/2! + … + t¹⁰/10! + O(t¹¹) for |t| < ¼: truncation below 3e-14
// relative; used only there, for the small difference eb − ea = ea·expm1(−t).
const EXPM1_NEAR: f64 = 0.25;
// @ts-ignore: decorator
@inline function expm1SmallF64x2(t: v128): v128 {
  let p = f64x2.add(f64x2.mul(t, f64x2.splat(2.755731922398589e-7)), f64x2.splat(2.7557319223985893e-6));
  p = f64x2.add(f64x2.mul(p, t), f64x2.splat(2.48015873015873e-5));
  p = f64x2.add(f64x2.mul(p, t), f64x2.splat(1.984126984126984e-4));
  p = f64x2.add(f64x2.mul(p, t), f64x2.splat(1.388888888888889e-3));
  p = f64x2.add(f64x2.mul(p, t), f64x2.splat(8.333333333333333e-3));
  p = f64x2.add(f64x2.mul(p, t), f64x2.splat(4.1666666666666664e-2));
  p = f64x2.add(f64x2.mul(p, t), f64x2.splat(0.16666666666666666));
  p = f64x2.add(f64x2.mul(p, t), f64x2.splat(0.5));
  p = f64x2.add(f64x2.mul(p, t), f64x2.splat(1.0));
  return f64x2.mul(p, t);
}

/** D from the sums of a pass centred on c: SA = ones + rest of a, acc = Σ ea·(t − c), diff = e^c·SB − SA. */
// @ts-ignore: decorator
@inline function klFromSums(sa: f64, acc: f64, diff: f64): f64 {
  return acc / sa + Math.log1p(diff / sa);
}

/** (a − ma) − (b − mb) from the two differences and their TwoSum errors. */
// @ts-ignore: decorator
@inline function exactDiffF64x2(a: v128, ma: v128, b: v128, mb: v128): v128 {
  const da = f64x2.sub(a, ma), db = f64x2.sub(b, mb);
  const ba = f64x2.sub(da, a), bb = f64x2.sub(db, b);
  const ea = f64x2.sub(f64x2.sub(a, f64x2.sub(da, ba)), f64x2.add(ma, ba));
  const eb = f64x2.sub(f64x2.sub(b, f64x2.sub(db, bb)), f64x2.add(mb, bb));
  const e = f64x2.sub(ea, eb);
  // the errors are NaN where a difference is infinite (a masked logit): drop them there
  return f64x2.add(f64x2.sub(da, db), v128.and(e, f64x2.eq(e, e)));
}

// @ts-ignore: decorator
@inline function exactDiffF64(a: f64, ma: f64, b: f64, mb: f64): f64 {
  const da = a - ma, db = b - mb;
  const ba = da - a, bb = db - b;
  const e = ((a - (da - ba)) - (ma + ba)) - ((b - (db - bb)) - (mb + bb));
  return (da - db) + (e == e ? e : 0);
}

/** D for rows where ma or mb is not finite (`nan`: either row holds a NaN). */
function specialKl(ma: f64, mb: f64, nan: bool): f64 {
  if (nan) return NaN;
  if (ma == -Infinity) return 0; // a has no mass
  if (ma == Infinity || mb == Infinity) return NaN;
  return Infinity; // b is fully masked where a has mass
}

/** The parts of the last `klPassF32` / `klPassF64`: Σ ea as ones + rest, Σ ea·(t − c), a masked Q entry seen. */
let klOnes: f64 = 0, klRest: f64 = 0, klAcc: f64 = 0, klHole = false;

/**
 * One pass over a float32 row for D, centred on c: with t = ((a − ma) − (b − mb))/T from
 * exact differences, D = Σ ea·(t − c) / SA + log1p(Σ ea·expm1(c − t) / SA), each
 * ea·expm1(c − t) taken from the float64 expm1 where |c − t| < ¼ and as e^c·eb − ea
 * elsewhere (no cancellation there).  Any c gives D; the rows choose (see below).
 */
function klPassF32(xa: usize, xb: usize, cols: i32, ma: f32, mb: f32, T: f64, c: f64): f64 {
  const invT = 1.0 / T, ec = Math.exp(c);
  let i = 0;
  let rest: f64 = 0, acc: f64 = 0, diff: f64 = 0;
  let ones: i32 = 0;
  let hole = false;
  if (ASC_FEATURE_SIMD) {
    setExpF32(T);
    const vma = f32x4.splat(ma), vmb = f32x4.splat(mb);
    const zero = f32x4.splat(0), ninf = f32x4.splat(-Infinity);
    let holes = v128.splat<i32>(0);
    const ma64 = f64x2.splat(<f64>ma), mb64 = f64x2.splat(<f64>mb), vt64 = f64x2.splat(invT), near = f64x2.splat(EXPM1_NEAR);
    const vc = f64x2.splat(c), vec = f64x2.splat(ec);
    let s0 = f64x2.splat(0), s1 = s0, a0 = s0, a1 = s0, d0 = s0, d1 = s0, cnt = i32x4.splat(0);
    for (; i + 4 <= cols; i += 4) {
      const o = <usize>i << 2;
      const va = v128.load(xa + o), vb = v128.load(xb + o);
      const ea = expShiftedF32x4(va, vma);
      const eb = expShiftedF32x4(vb, vmb);
      holes = v128.or(holes, v128.andnot(f32x4.eq(vb, ninf), f32x4.eq(va, ninf)));
      const top = f32x4.eq(va, vma); // the maximal entries of a (as in `expSumF32`)
      const below = v128.andnot(ea, top);
      cnt = i32x4.sub(cnt, top);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(below));
      s1 = f64x2.add(s1, promoteHighF32x4(below));
      const live = f32x4.ne(ea, zero);
      // t = ((a − ma) − (b − mb))/T in float64 lanes, where both differences are exact.
      const t0 = f64x2.mul(f64x2.sub(f64x2.sub(f64x2.promote_low_f32x4(va), ma64), f64x2.sub(f64x2.promote_low_f32x4(vb), mb64)), vt64);
      const t1 = f64x2.mul(f64x2.sub(f64x2.sub(promoteHighF32x4(va), ma64), f64x2.sub(promoteHighF32x4(vb), mb64)), vt64);
      const ea0 = f64x2.promote_low_f32x4(ea), ea1 = promoteHighF32x4(ea);
      // live lanes (ea ≠ 0) as 64-bit masks: sign-extend the 32-bit compare results
      const l0 = i64x2.extend_low_i32x4_s(live), l1 = i64x2.extend_high_i32x4_s(live);
      const eb0 = f64x2.promote_low_f32x4(eb), eb1 = promoteHighF32x4(eb);
      const u0 = f64x2.sub(vc, t0), u1 = f64x2.sub(vc, t1);
      a0 = f64x2.sub(a0, v128.and(f64x2.mul(ea0, u0), l0));
      a1 = f64x2.sub(a1, v128.and(f64x2.mul(ea1, u1), l1));
      const n0 = f64x2.lt(f64x2.abs(u0), near), n1 = f64x2.lt(f64x2.abs(u1), near);
      d0 = f64x2.add(d0, v128.bitselect(f64x2.mul(ea0, expm1SmallF64x2(u0)), f64x2.sub(f64x2.mul(vec, eb0), ea0), n0));
      d1 = f64x2.add(d1, v128.bitselect(f64x2.mul(ea1, expm1SmallF64x2(u1)), f64x2.sub(f64x2.mul(vec, eb1), ea1), n1));
    }
    rest = sumLanesF64x2(f64x2.add(s0, s1));
    acc = sumLanesF64x2(f64x2.add(a0, a1));
    diff = sumLanesF64x2(f64x2.add(d0, d1));
    ones = i32x4.extract_lane(cnt, 0) + i32x4.extract_lane(cnt, 1) + i32x4.extract_lane(cnt, 2) + i32x4.extract_lane(cnt, 3);
    hole = v128.any_true(holes);
  }
  for (; i < cols; i++) {
    const o = <usize>i << 2;
    const va = load<f32>(xa + o), vb = load<f32>(xb + o);
    const ea = expShiftedF32(va, ma, T);
    if (va == ma) ones++;
    else rest += <f64>ea;
    if (ea == 0) {
      if (vb == -Infinity && va != -Infinity) hole = true;
      diff += ec * <f64>expShiftedF32(vb, mb, T);
      continue;
    }
    const t = ((<f64>va - <f64>ma) - (<f64>vb - <f64>mb)) * invT;
    const u = c - t;
    acc -= <f64>ea * u;
    diff += Math.abs(u) < EXPM1_NEAR ? <f64>ea * Math.expm1(u) : ec * <f64>expShiftedF32(vb, mb, T) - <f64>ea;
  }
  klOnes = <f64>ones; klRest = rest; klAcc = acc; klHole = hole;
  return klFromSums(<f64>ones + rest, acc, diff);
}

/** The centre of a second pass when the last pass's D nearly cancels its parts (see below), else NaN. */
function klRecentre(d: f64): f64 {
  const mean = klAcc / (klOnes + klRest);
  return Math.abs(d) < 1e-3 * Math.abs(mean) && isFinite(mean) ? mean : NaN;
}

/**
 * A first pass centred on 0 gives D as Σ p·t + log(SB/SA).  When those two parts nearly
 * cancel — close distributions whose logits differ by a near-constant shift over most of
 * the mass, |D| below 1e-3 of them — a second pass centres on their mean shift c = Σ p·t,
 * so that both parts are small and D keeps the accuracy of its own terms (float32 exps
 * carry 6e-8 relative error: uncentred, that is 6e-8 of the parts, not of D).
 */
export function softmaxKlDivergenceRowsF32(xa: usize, xb: usize, rows: i32, cols: i32, T: f64, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    const ma = maxF32(xa + off, cols);
    const mb = maxF32(xb + off, cols);
    if (!isFinite(ma) || !isFinite(mb)) {
      store<f64>(out + (<usize>r << 3), specialKl(ma, mb, hasNaNF32(xa + off, cols) || hasNaNF32(xb + off, cols)));
      continue;
    }
    let d = klPassF32(xa + off, xb + off, cols, ma, mb, T, 0);
    if (klHole) d = d == d ? Infinity : d; // (a NaN elsewhere in the rows stays NaN)
    else if (klRest < 1e-30) d = klExactF32(xa + off, xb + off, cols, ma, mb, T);
    else {
      const c = klRecentre(d);
      if (c == c) d = klPassF32(xa + off, xb + off, cols, ma, mb, T, c);
    }
    store<f64>(out + (<usize>r << 3), d);
  }
}

/**
 * The float32 row's D in float64 throughout, for a row where all but the maximal
 * entries of a lie so far below it (rest < 1e-30) that their float32 exponentials,
 * subnormal or 0, would decide D (as `restExactF32` does for S).
 */
function klExactF32(xa: usize, xb: usize, n: i32, ma: f32, mb: f32, T: f64): f64 {
  const invT = 1.0 / T;
  let sa: f64 = 0, acc: f64 = 0, diff: f64 = 0;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const a = <f64>load<f32>(xa + o), b = <f64>load<f32>(xb + o);
    const eb = Math.exp((b - <f64>mb) * invT);
    if (a == -Infinity) {
      diff += eb;
      continue;
    }
    const ea = Math.exp((a - <f64>ma) * invT);
    // both differences are exact: float32 values are 24-bit, float64 holds 53
    const t = ((a - <f64>ma) - (b - <f64>mb)) * invT;
    sa += ea;
    acc += ea * t;
    diff += Math.abs(t) < EXPM1_NEAR ? ea * Math.expm1(-t) : eb - ea;
  }
  return klFromSums(sa, acc, diff);
}

/** `klPassF32` for a float64 row (float64 exps; the differences from `exactDiffF64x2`). */
function klPassF64(xa: usize, xb: usize, cols: i32, ma: f64, mb: f64, T: f64, c: f64): f64 {
  const invT = 1.0 / T, ec = Math.exp(c);
  let i = 0;
  let rest: f64 = 0, acc: f64 = 0, diff: f64 = 0;
  let ones: i64 = 0;
  let hole = false;
  if (ASC_FEATURE_SIMD) {
    setExpF64(T);
    const vma = f64x2.splat(ma), vmb = f64x2.splat(mb);
    const vt = f64x2.splat(invT), zero = f64x2.splat(0), vnear = f64x2.splat(EXPM1_NEAR);
    const ninf = f64x2.splat(-Infinity), vc = f64x2.splat(c), vec = f64x2.splat(ec);
    let s0 = f64x2.splat(0), c0 = s0, d0 = s0, cnt = i64x2.splat(0), holes = s0;
    for (; i + 2 <= cols; i += 2) {
      const o = <usize>i << 3;
      const va = v128.load(xa + o), vb = v128.load(xb + o);
      const ea = expShiftedF64x2(va, vma);
      const eb = expShiftedF64x2(vb, vmb);
      holes = v128.or(holes, v128.andnot(f64x2.eq(vb, ninf), f64x2.eq(va, ninf)));
      const top = f64x2.eq(va, vma);
      cnt = i64x2.sub(cnt, top);
      s0 = f64x2.add(s0, v128.andnot(ea, top));
      const t = f64x2.mul(exactDiffF64x2(va, vma, vb, vmb), vt);
      const u = f64x2.sub(vc, t);
      c0 = f64x2.sub(c0, v128.and(f64x2.mul(ea, u), f64x2.ne(ea, zero)));
      const near = f64x2.lt(f64x2.abs(u), vnear);
      d0 = f64x2.add(d0, v128.bitselect(f64x2.mul(ea, expm1SmallF64x2(u)), f64x2.sub(f64x2.mul(vec, eb), ea), near));
    }
    rest = sumLanesF64x2(s0);
    acc = sumLanesF64x2(c0);
    diff = sumLanesF64x2(d0);
    ones = i64x2.extract_lane(cnt, 0) + i64x2.extract_lane(cnt, 1);
    hole = v128.any_true(holes);
  }
  for (; i < cols; i++) {
    const o = <usize>i << 3;
    const va = load<f64>(xa + o), vb = load<f64>(xb + o);
    const ea = expShiftedF64(va, ma, T);
    if (va == ma) ones++;
    else rest += ea;
    if (ea == 0) {
      if (vb == -Infinity && va != -Infinity) hole = true;
      diff += ec * expShiftedF64(vb, mb, T);
      continue;
    }
    const t = exactDiffF64(va, ma, vb, mb) * invT;
    const u = c - t;
    acc -= ea * u;
    diff += Math.abs(u) < EXPM1_NEAR ? ea * Math.expm1(u) : ec * expShiftedF64(vb, mb, T) - ea;
  }
  klOnes = <f64>ones; klRest = rest; klAcc = acc; klHole = hole;
  return klFromSums(<f64>ones + rest, acc, diff);
}

export function softmaxKlDivergenceRowsF64(xa: usize, xb: usize, rows: i32, cols: i32, T: f64, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 3;
    const ma = maxF64(xa + off, cols);
    const mb = maxF64(xb + off, cols);
    if (!isFinite(ma) || !isFinite(mb)) {
      store<f64>(out + (<usize>r << 3), specialKl(ma, mb, hasNaNF64(xa + off, cols) || hasNaNF64(xb + off, cols)));
      continue;
    }
    let d = klPassF64(xa + off, xb + off, cols, ma, mb, T, 0);
    if (klHole) d = d == d ? Infinity : d; // (a NaN elsewhere in the rows stays NaN)
    else {
      const c = klRecentre(d);
      if (c == c) d = klPassF64(xa + off, xb + off, cols, ma, mb, T, c);
    }
    store<f64>(out + (<usize>r << 3), d);
  }
}

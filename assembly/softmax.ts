// The softmax family, row by row: log-sum-exp, softmax, log-softmax, and the entropy
// and KL divergence of softmax outputs computed from the logits without materialising
// the probabilities.
//
// Every row is taken relative to its maximum m: exp(x − m) ≤ 1 cannot overflow, and
// the sum S = Σ exp(x − m) lies in [1, n], so log-sum-exp = m + log S loses nothing to
// the scale of the logits (±1e300 in float64, ±1e30 in float32).  With a temperature
// T the argument is (x − m)·(1/T), m being also the maximum of x/T for T > 0.
//
// A row whose maximum is not finite is shifted by 0 instead (scipy's choice): all
// −Infinity gives S = 0, log-sum-exp −Infinity, and softmax all 0 by the explicit
// S = 0 case below; a +Infinity entry gives S = +Infinity, log-sum-exp +Infinity and
// (as PyTorch) a softmax / log-softmax row of NaN, filled explicitly.  NaN logits
// reach S through exp and make the whole row NaN.
//
// float32 rows: exp in f32x4 lanes, S accumulated in float64 — a float32 sum of 10⁶
// terms would carry a relative error of ~1e-5, far beyond a float32 result's.

import { expF32x4, expF64x2 } from "./math";
import { maxF32, maxF64, sumLanesF64x2, promoteHighF32x4 } from "./reduce";

// @ts-ignore: decorator
@inline export function shiftF32(m: f32): f32 {
  return isFinite(m) ? m : 0;
}

// @ts-ignore: decorator
@inline export function shiftF64(m: f64): f64 {
  return isFinite(m) ? m : 0;
}

// ---------------------------------------------------------------------------------
// Row passes shared with loss.ts
// ---------------------------------------------------------------------------------

/** Σ exp((x − shift)·invT) over a float32 row; stores each exp to `dst` when dst ≠ 0. */
export function expSumF32(x: usize, n: i32, shift: f32, invT: f32, dst: usize): f64 {
  let i = 0;
  let s: f64 = 0;
  if (ASC_FEATURE_SIMD) {
    const vs = f32x4.splat(shift), vt = f32x4.splat(invT);
    let s0 = f64x2.splat(0), s1 = s0;
    if (dst) {
      for (; i + 4 <= n; i += 4) {
        const o = <usize>i << 2;
        const e = expF32x4(f32x4.mul(f32x4.sub(v128.load(x + o), vs), vt));
        v128.store(dst + o, e);
        s0 = f64x2.add(s0, f64x2.promote_low_f32x4(e));
        s1 = f64x2.add(s1, promoteHighF32x4(e));
      }
    } else {
      for (; i + 4 <= n; i += 4) {
        const e = expF32x4(f32x4.mul(f32x4.sub(v128.load(x + (<usize>i << 2)), vs), vt));
        s0 = f64x2.add(s0, f64x2.promote_low_f32x4(e));
        s1 = f64x2.add(s1, promoteHighF32x4(e));
      }
    }
    s = sumLanesF64x2(f64x2.add(s0, s1));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const e = Mathf.exp((load<f32>(x + o) - shift) * invT);
    if (dst) store<f32>(dst + o, e);
    s += <f64>e;
  }
  return s;
}

/** Σ exp((x − shift)·invT) over a float64 row; stores each exp to `dst` when dst ≠ 0. */
export function expSumF64(x: usize, n: i32, shift: f64, invT: f64, dst: usize): f64 {
  let i = 0;
  let s: f64 = 0;
  if (ASC_FEATURE_SIMD) {
    const vs = f64x2.splat(shift), vt = f64x2.splat(invT);
    let s0 = f64x2.splat(0), s1 = s0;
    if (dst) {
      for (; i + 4 <= n; i += 4) {
        const o = <usize>i << 3;
        const e0 = expF64x2(f64x2.mul(f64x2.sub(v128.load(x + o), vs), vt));
        const e1 = expF64x2(f64x2.mul(f64x2.sub(v128.load(x + o, 16), vs), vt));
        v128.store(dst + o, e0);
        v128.store(dst + o, e1, 16);
        s0 = f64x2.add(s0, e0);
        s1 = f64x2.add(s1, e1);
      }
    } else {
      for (; i + 4 <= n; i += 4) {
        const o = <usize>i << 3;
        s0 = f64x2.add(s0, expF64x2(f64x2.mul(f64x2.sub(v128.load(x + o), vs), vt)));
        s1 = f64x2.add(s1, expF64x2(f64x2.mul(f64x2.sub(v128.load(x + o, 16), vs), vt)));
      }
    }
    s = sumLanesF64x2(f64x2.add(s0, s1));
  }
  for (; i < n; i++) {
    const o = <usize>i << 3;
    const e = Math.exp((load<f64>(x + o) - shift) * invT);
    if (dst) store<f64>(dst + o, e);
    s += e;
  }
  return s;
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

function fillF32(dst: usize, n: i32, v: f32): void {
  for (let i = 0; i < n; i++) store<f32>(dst + (<usize>i << 2), v);
}

function fillF64(dst: usize, n: i32, v: f64): void {
  for (let i = 0; i < n; i++) store<f64>(dst + (<usize>i << 3), v);
}

// ---------------------------------------------------------------------------------
// log-sum-exp
// ---------------------------------------------------------------------------------

/** out[r] = log Σ exp(x[r, :]) (float64 results). */
export function logSumExpRowsF32(x: usize, rows: i32, cols: i32, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const row = x + (<usize>r * <usize>cols << 2);
    const m = shiftF32(maxF32(row, cols));
    store<f64>(out + (<usize>r << 3), <f64>m + Math.log(expSumF32(row, cols, m, 1.0, 0)));
  }
}

/** out[r] = log Σ exp(x[r, :]). */
export function logSumExpRowsF64(x: usize, rows: i32, cols: i32, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const row = x + (<usize>r * <usize>cols << 3);
    const m = shiftF64(maxF64(row, cols));
    store<f64>(out + (<usize>r << 3), m + Math.log(expSumF64(row, cols, m, 1.0, 0)));
  }
}

// ---------------------------------------------------------------------------------
// softmax and log-softmax: out may be x itself (each pass reads an entry before it
// writes the same entry).
// ---------------------------------------------------------------------------------

/** out[r, :] = exp((x − m)/T − log S), in three passes: max, exp-store-sum, scale. */
export function softmaxRowsF32(x: usize, rows: i32, cols: i32, invT: f32, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    const m = shiftF32(maxF32(x + off, cols));
    const s = expSumF32(x + off, cols, m, invT, out + off);
    // S = 0: every logit is −Infinity and every exp already stored is exactly 0.
    if (s == Infinity) fillF32(out + off, cols, NaN);
    else if (s != 0) scaleF32(out + off, cols, <f32>(1.0 / s), out + off);
  }
}

/** out[r, :] = exp((x − m)/T − log S). */
export function softmaxRowsF64(x: usize, rows: i32, cols: i32, invT: f64, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 3;
    const m = shiftF64(maxF64(x + off, cols));
    const s = expSumF64(x + off, cols, m, invT, out + off);
    if (s == Infinity) fillF64(out + off, cols, NaN);
    else if (s != 0) scaleF64(out + off, cols, 1.0 / s, out + off);
  }
}

/** out[r, :] = (x − m)/T − log S; a row of −Infinity logits stays −Infinity (not NaN). */
export function logSoftmaxRowsF32(x: usize, rows: i32, cols: i32, invT: f32, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    const m = shiftF32(maxF32(x + off, cols));
    const s = expSumF32(x + off, cols, m, invT, 0);
    if (s == 0 || s == Infinity) {
      fillF32(out + off, cols, s == 0 ? -Infinity : NaN);
      continue;
    }
    const ls = <f32>Math.log(s);
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

/** out[r, :] = (x − m)/T − log S. */
export function logSoftmaxRowsF64(x: usize, rows: i32, cols: i32, invT: f64, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 3;
    const m = shiftF64(maxF64(x + off, cols));
    const s = expSumF64(x + off, cols, m, invT, 0);
    if (s == 0 || s == Infinity) {
      fillF64(out + off, cols, s == 0 ? -Infinity : NaN);
      continue;
    }
    const ls = Math.log(s);
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

export function softmaxEntropyRowsF32(x: usize, rows: i32, cols: i32, invT: f32, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const row = x + (<usize>r * <usize>cols << 2);
    const m = shiftF32(maxF32(row, cols));
    let i = 0;
    let s: f64 = 0, a: f64 = 0;
    if (ASC_FEATURE_SIMD) {
      const vm = f32x4.splat(m), vt = f32x4.splat(invT), zero = f32x4.splat(0);
      let s0 = f64x2.splat(0), s1 = s0, a0 = s0, a1 = s0;
      for (; i + 4 <= cols; i += 4) {
        const t = f32x4.mul(f32x4.sub(v128.load(row + (<usize>i << 2)), vm), vt);
        const e = expF32x4(t);
        const et = v128.bitselect(zero, f32x4.mul(e, t), f32x4.eq(e, zero));
        s0 = f64x2.add(s0, f64x2.promote_low_f32x4(e));
        s1 = f64x2.add(s1, promoteHighF32x4(e));
        a0 = f64x2.add(a0, f64x2.promote_low_f32x4(et));
        a1 = f64x2.add(a1, promoteHighF32x4(et));
      }
      s = sumLanesF64x2(f64x2.add(s0, s1));
      a = sumLanesF64x2(f64x2.add(a0, a1));
    }
    for (; i < cols; i++) {
      const t = (load<f32>(row + (<usize>i << 2)) - m) * invT;
      const e = Mathf.exp(t);
      s += <f64>e;
      if (e != 0) a += <f64>(e * t);
    }
    store<f64>(out + (<usize>r << 3), s == 0 ? 0 : Math.log(s) - a / s);
  }
}

export function softmaxEntropyRowsF64(x: usize, rows: i32, cols: i32, invT: f64, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const row = x + (<usize>r * <usize>cols << 3);
    const m = shiftF64(maxF64(row, cols));
    let i = 0;
    let s: f64 = 0, a: f64 = 0;
    if (ASC_FEATURE_SIMD) {
      const vm = f64x2.splat(m), vt = f64x2.splat(invT), zero = f64x2.splat(0);
      let s0 = f64x2.splat(0), a0 = s0;
      for (; i + 2 <= cols; i += 2) {
        const t = f64x2.mul(f64x2.sub(v128.load(row + (<usize>i << 3)), vm), vt);
        const e = expF64x2(t);
        s0 = f64x2.add(s0, e);
        a0 = f64x2.add(a0, v128.bitselect(zero, f64x2.mul(e, t), f64x2.eq(e, zero)));
      }
      s = sumLanesF64x2(s0);
      a = sumLanesF64x2(a0);
    }
    for (; i < cols; i++) {
      const t = (load<f64>(row + (<usize>i << 3)) - m) * invT;
      const e = Math.exp(t);
      s += e;
      if (e != 0) a += e * t;
    }
    store<f64>(out + (<usize>r << 3), s == 0 ? 0 : Math.log(s) - a / s);
  }
}

// ---------------------------------------------------------------------------------
// KL divergence of softmax(a/T) from softmax(b/T), from the logits:
//   log pᵢ − log qᵢ = (taᵢ − tbᵢ) − log(SA/SB),  so  D = (1/SA)·Σ eaᵢ·(taᵢ − tbᵢ) + log(SB/SA).
// Entries with pᵢ = 0 contribute 0; pᵢ > 0 = qᵢ gives +Infinity through tb = −Infinity.
// A fully masked `a` row has no mass and divergence 0; a fully masked `b` row under an
// unmasked `a` is +Infinity (not Infinity − Infinity).
// ---------------------------------------------------------------------------------

// @ts-ignore: decorator
@inline function klFromSums(sa: f64, sb: f64, acc: f64): f64 {
  if (sa == 0) return 0;
  if (sb == 0 && sa == sa && acc == acc) return Infinity;
  return acc / sa + Math.log(sb / sa);
}

export function softmaxKlDivergenceRowsF32(xa: usize, xb: usize, rows: i32, cols: i32, invT: f32, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    const ma = shiftF32(maxF32(xa + off, cols));
    const mb = shiftF32(maxF32(xb + off, cols));
    let i = 0;
    let sa: f64 = 0, sb: f64 = 0, acc: f64 = 0;
    if (ASC_FEATURE_SIMD) {
      const vma = f32x4.splat(ma), vmb = f32x4.splat(mb), vt = f32x4.splat(invT), zero = f32x4.splat(0);
      let a0 = f64x2.splat(0), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0;
      for (; i + 4 <= cols; i += 4) {
        const o = off + (<usize>i << 2);
        const ta = f32x4.mul(f32x4.sub(v128.load(xa + o), vma), vt);
        const tb = f32x4.mul(f32x4.sub(v128.load(xb + o), vmb), vt);
        const ea = expF32x4(ta);
        const eb = expF32x4(tb);
        const d = v128.bitselect(zero, f32x4.mul(ea, f32x4.sub(ta, tb)), f32x4.eq(ea, zero));
        a0 = f64x2.add(a0, f64x2.promote_low_f32x4(ea));
        a1 = f64x2.add(a1, promoteHighF32x4(ea));
        b0 = f64x2.add(b0, f64x2.promote_low_f32x4(eb));
        b1 = f64x2.add(b1, promoteHighF32x4(eb));
        c0 = f64x2.add(c0, f64x2.promote_low_f32x4(d));
        c1 = f64x2.add(c1, promoteHighF32x4(d));
      }
      sa = sumLanesF64x2(f64x2.add(a0, a1));
      sb = sumLanesF64x2(f64x2.add(b0, b1));
      acc = sumLanesF64x2(f64x2.add(c0, c1));
    }
    for (; i < cols; i++) {
      const o = off + (<usize>i << 2);
      const ta = (load<f32>(xa + o) - ma) * invT;
      const tb = (load<f32>(xb + o) - mb) * invT;
      const ea = Mathf.exp(ta);
      sa += <f64>ea;
      sb += <f64>Mathf.exp(tb);
      if (ea != 0) acc += <f64>(ea * (ta - tb));
    }
    store<f64>(out + (<usize>r << 3), klFromSums(sa, sb, acc));
  }
}

export function softmaxKlDivergenceRowsF64(xa: usize, xb: usize, rows: i32, cols: i32, invT: f64, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 3;
    const ma = shiftF64(maxF64(xa + off, cols));
    const mb = shiftF64(maxF64(xb + off, cols));
    let i = 0;
    let sa: f64 = 0, sb: f64 = 0, acc: f64 = 0;
    if (ASC_FEATURE_SIMD) {
      const vma = f64x2.splat(ma), vmb = f64x2.splat(mb), vt = f64x2.splat(invT), zero = f64x2.splat(0);
      let a0 = f64x2.splat(0), b0 = a0, c0 = a0;
      for (; i + 2 <= cols; i += 2) {
        const o = off + (<usize>i << 3);
        const ta = f64x2.mul(f64x2.sub(v128.load(xa + o), vma), vt);
        const tb = f64x2.mul(f64x2.sub(v128.load(xb + o), vmb), vt);
        const ea = expF64x2(ta);
        a0 = f64x2.add(a0, ea);
        b0 = f64x2.add(b0, expF64x2(tb));
        c0 = f64x2.add(c0, v128.bitselect(zero, f64x2.mul(ea, f64x2.sub(ta, tb)), f64x2.eq(ea, zero)));
      }
      sa = sumLanesF64x2(a0);
      sb = sumLanesF64x2(b0);
      acc = sumLanesF64x2(c0);
    }
    for (; i < cols; i++) {
      const o = off + (<usize>i << 3);
      const ta = (load<f64>(xa + o) - ma) * invT;
      const tb = (load<f64>(xb + o) - mb) * invT;
      const ea = Math.exp(ta);
      sa += ea;
      sb += Math.exp(tb);
      if (ea != 0) acc += ea * (ta - tb);
    }
    store<f64>(out + (<usize>r << 3), klFromSums(sa, sb, acc));
  }
}

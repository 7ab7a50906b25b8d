// Reductions over probability rows: entropy, cross-entropy, KL and Jensen–Shannon
// divergence, and the row sums that normalisation and validation need.
//
// Every kernel walks a row-major matrix of `rows` × `cols` (a vector is one row),
// writes one float64 result per row to `out`, and returns the smallest entry it read
// so the caller can reject negative probabilities without a second pass.  The row
// sums it writes to `sums` (p's, then q's after `rows` slots) are the other half of
// validation.  NaN never wins a pmin, but it does poison the row sum, which is how the
// caller sees it.
//
// float32 rows: the terms are computed in f32x4 lanes and accumulated in float64
// (f64x2), so the sum adds no error visible at float32 precision.
// float64 rows take per-row totals (`totals`, 0 for "already normalised"): with
// `normalize` the caller passes the row sums and the kernels work on p/Tp and q/Tq
// without materialising them — see each kernel for where the totals enter.
//
// 0·log 0 = 0 by substituting a harmless argument for the log where p = 0, rather than
// masking a NaN afterwards.

import { logF32x4, logRatioF32x4, logBitsF32x4, logBitsNormalF32, logFromBitsF32x4, logNormalF32x4, logRatioF64x2, logBitsF64x2, logBitsNormalF64, logFromBitsF64x2, logRatioF32, logRatioF64, logMixF32, logMixF64 } from "./math";

// Rows are summed in blocks of BLOCK entries, the unit of the fast log
// (`logFromBitsF32x4`, `logFromBitsF64x2`): the loop takes pairs of vectors and tracks
// the range of the log arguments' bits, and a block with a lane that is not a positive
// normal float is summed again by the careful path, which also takes the block's odd
// last vector.  float32 blocks (8 vectors) are summed in float32 lanes — each lane adds
// 8 terms, a relative error ≤ 7·2^-24 = 4.2e-7 of the block's Σ|t|, inside the float32
// bound — and the block sums in float64; float64 blocks in float64.
const BLOCK = 32;

// A ratio p/q whose q is subnormal may overflow (0.5/1e-40 > FLT_MAX): such a q is
// scaled by 2^64 (2^128 in float64) and 64·ln 2 (128·ln 2) added back to the log.
// For JS divergence the ratios are at most 2; there the scaling only keeps the
// reciprocal of a subnormal p + q finite.
const F32_TINY: f32 = 1.17549435e-38;
const F32_2P64: f32 = 18446744073709551616.0;
const F32_64LN2: f32 = 44.3614195558365;
const F64_TINY: f64 = 2.2250738585072014e-308;

// float64 with totals: where q·(2^-k) — q scaled with its row — is below the normal
// range, q/Tq would round on the subnormal grid or to 0 (q = 1e-323 of a total 3, or
// 1e-24 of 1e300).  Such a row is summed again with these scalar terms, whose log of
// q/Tq is log q − log Tq: each log within an ulp, so the term keeps 1e-15 relative.

/** log(q/Tq) for cross-entropy: q·scq = uq, Tq = Tq0·scq in [1, 2). */
// @ts-ignore: decorator
@inline function ceLogF64(vq: f64, scq: f64, Tq: f64, Tq0: f64): f64 {
  const uq = vq * scq;
  return uq < F64_TINY && vq > 0 ? Math.log(vq) - Math.log(Tq0) : logRatioF64(uq, Tq);
}

/**
 * One term (p/Tp)·log(q/Tq), for p ≠ 0.  A p that scaling with its row's total underflows
 * (5e-324 of a total 300) is a term below 1e-300: 0, or −∞ against q = 0 (p > 0 = q).
 */
// @ts-ignore: decorator
@inline function ceTermF64(vp: f64, vq: f64, scp: f64, invTp: f64, scq: f64, Tq: f64, Tq0: f64): f64 {
  const up = vp * scp;
  if (up == 0) return vq == 0 ? -Infinity : 0;
  return up * invTp * ceLogF64(vq, scq, Tq, Tq0);
}

/** log((p/Tp)/(q/Tq)) for KL, from the ratio a/b = (up·Tq)/(uq·Tp) where that is exact enough. */
// @ts-ignore: decorator
@inline function klLogF64(vp: f64, vq: f64, scp: f64, scq: f64, Tp: f64, Tq: f64, Tp0: f64, Tq0: f64): f64 {
  const up = vp * scp, uq = vq * scq + 0; // + 0: −0 becomes +0 (p/q = +Infinity)
  if (uq < F64_TINY && vq > 0) return (Math.log(vp) - Math.log(Tp0)) - (Math.log(vq) - Math.log(Tq0));
  return logRatioF64(up * Tq, uq * Tp);
}

/** One KL term, for p ≠ 0 (an underflowing p as in `ceTermF64`: 0, or ∞ against q = 0). */
// @ts-ignore: decorator
@inline function klTermF64(vp: f64, vq: f64, scp: f64, invTp: f64, scq: f64, Tp: f64, Tq: f64, Tp0: f64, Tq0: f64): f64 {
  const up = vp * scp;
  if (up == 0) return vq == 0 ? Infinity : 0;
  return up * invTp * klLogF64(vp, vq, scp, scq, Tp, Tq, Tp0, Tq0);
}

// ---------------------------------------------------------------------------------
// Shared row helpers
// ---------------------------------------------------------------------------------

// @ts-ignore: decorator
@inline export function sumLanesF64x2(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

// @ts-ignore: decorator
@inline export function minLanesF32x4(v: v128): f32 {
  return min(min(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), min(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

// @ts-ignore: decorator
@inline export function minLanesF64x2(v: v128): f64 {
  return min(f64x2.extract_lane(v, 0), f64x2.extract_lane(v, 1));
}

/** Lanes 2 and 3 of a float32 vector, promoted to float64 (`promote_low` takes 0 and 1). */
// @ts-ignore: decorator
@inline export function promoteHighF32x4(v: v128): v128 {
  return f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 2, 3));
}

/**
 * Largest entry of a float32 row, ignoring NaN (pmax drops a NaN second operand; the
 * callers let NaN reach the sum instead, where it propagates).  −Infinity for an
 * empty or all-(−Infinity) row.
 */
export function maxF32(x: usize, n: i32): f32 {
  let i = 0;
  let m: f32 = -Infinity;
  if (ASC_FEATURE_SIMD) {
    let m0 = f32x4.splat(-Infinity);
    let m1 = m0;
    for (; i + 8 <= n; i += 8) {
      m0 = f32x4.pmax(m0, v128.load(x + (<usize>i << 2)));
      m1 = f32x4.pmax(m1, v128.load(x + (<usize>i << 2), 16));
    }
    for (; i + 4 <= n; i += 4) m0 = f32x4.pmax(m0, v128.load(x + (<usize>i << 2)));
    m0 = f32x4.pmax(m0, m1);
    m = max(max(f32x4.extract_lane(m0, 0), f32x4.extract_lane(m0, 1)), max(f32x4.extract_lane(m0, 2), f32x4.extract_lane(m0, 3)));
  }
  for (; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    if (v > m) m = v;
  }
  return m;
}

/** Largest entry of a float64 row, ignoring NaN; −Infinity for an empty row. */
export function maxF64(x: usize, n: i32): f64 {
  let i = 0;
  let m: f64 = -Infinity;
  if (ASC_FEATURE_SIMD) {
    let m0 = f64x2.splat(-Infinity);
    let m1 = m0;
    for (; i + 4 <= n; i += 4) {
      m0 = f64x2.pmax(m0, v128.load(x + (<usize>i << 3)));
      m1 = f64x2.pmax(m1, v128.load(x + (<usize>i << 3), 16));
    }
    for (; i + 2 <= n; i += 2) m0 = f64x2.pmax(m0, v128.load(x + (<usize>i << 3)));
    m0 = f64x2.pmax(m0, m1);
    m = max(f64x2.extract_lane(m0, 0), f64x2.extract_lane(m0, 1));
  }
  for (; i < n; i++) {
    const v = load<f64>(x + (<usize>i << 3));
    if (v > m) m = v;
  }
  return m;
}

/**
 * A power of two s with T·s in [1, 2) (clamped to s ∈ [2^-1023, 2^1023], and 1 for a
 * non-finite T): normalising kernels scale a row by it first, exactly, so that 1/T and
 * products of entries with the other row's total neither overflow nor underflow however
 * large or small the totals are.
 */
export function pow2Scale(T: f64): f64 {
  const b = <i32>(reinterpret<u64>(T) >> 52) & 0x7ff;
  if (b == 0x7ff) return 1.0;
  if (b == 0) return 8.98846567431158e307; // 2^1023: T subnormal (or 0)
  if (b == 2046) return reinterpret<f64>(<u64>0x0008000000000000); // 2^-1023
  return reinterpret<f64>(<u64>(2046 - b) << 52);
}

// ---------------------------------------------------------------------------------
// Row sums (the normalisation pass)
// ---------------------------------------------------------------------------------

/**
 * sums[r] = Σ x[r, :], compensated (TwoSum per addition, the errors summed apart): the
 * totals that `normalize` divides by enter every term of a normalised divergence, so a
 * plain sum's error — up to n·2^-53 relative, 2e-12 for 20 000 equal entries — would be
 * all of the D of two nearly equal rows.  Returns the smallest entry.
 */
export function sumRowsF64(x: usize, rows: i32, cols: i32, sums: usize): f64 {
  let lo: f64 = Infinity;
  for (let r = 0; r < rows; r++) {
    const row = x + (<usize>r * <usize>cols << 3);
    let i = 0;
    let s: f64 = 0, c: f64 = 0;
    if (ASC_FEATURE_SIMD) {
      let s0 = f64x2.splat(0), c0 = s0, mn = f64x2.splat(Infinity);
      for (; i + 2 <= cols; i += 2) {
        const v = v128.load(row + (<usize>i << 3));
        const t = f64x2.add(s0, v);
        const bp = f64x2.sub(t, s0);
        c0 = f64x2.add(c0, f64x2.add(f64x2.sub(s0, f64x2.sub(t, bp)), f64x2.sub(v, bp)));
        s0 = t;
        mn = f64x2.pmin(mn, v);
      }
      const a = f64x2.extract_lane(s0, 0), b = f64x2.extract_lane(s0, 1);
      s = a + b;
      const bp = s - a;
      c = (a - (s - bp)) + (b - bp) + sumLanesF64x2(c0);
      lo = min(lo, minLanesF64x2(mn));
    }
    for (; i < cols; i++) {
      const v = load<f64>(row + (<usize>i << 3));
      const t = s + v;
      const bp = t - s;
      c += (s - (t - bp)) + (v - bp);
      s = t;
      if (v < lo) lo = v;
    }
    // an infinite or NaN entry makes the compensation NaN: the plain sum says it
    store<f64>(sums + (<usize>r << 3), isFinite(s) ? s + c : s);
  }
  return lo;
}

// ---------------------------------------------------------------------------------
// Entropy  H(P) = −Σ p log p
// ---------------------------------------------------------------------------------

/**
 * p·log p, for a vector of p whose log argument `safe` is p with its zeros replaced by 1
 * (0·log 0 = 0).  `careful` takes any lane; otherwise only lanes whose argument is a
 * positive normal float (the caller tracks `logBitsF32x4(safe)`, see `BLOCK`).
 */
// @ts-ignore: decorator
@inline function entropyTermF32x4(v: v128, careful: bool): v128 {
  const safe = entropyArgF32x4(v);
  return f32x4.mul(v, careful ? logF32x4(safe) : logNormalF32x4(logBitsF32x4(safe), safe));
}

// @ts-ignore: decorator
@inline function entropyArgF32x4(v: v128): v128 {
  return v128.bitselect(f32x4.splat(1.0), v, f32x4.eq(v, f32x4.splat(0))); // −0 too
}

/** out[r] = H(p[r, :]) in nats, sums[r] = Σ p[r, :]; returns min p. */
export function entropyRowsF32(p: usize, rows: i32, cols: i32, out: usize, sums: usize): f64 {
  let lo: f32 = Infinity;
  for (let r = 0; r < rows; r++) {
    const row = p + (<usize>r * <usize>cols << 2);
    let i = 0;
    let h: f64 = 0;
    let s: f64 = 0;
    if (ASC_FEATURE_SIMD) {
      let h0 = f64x2.splat(0), h1 = h0, s0 = h0, s1 = h0, mn = f32x4.splat(Infinity);
      while (i + 4 <= cols) {
        const start = i, end = min(i + BLOCK, cols & ~3), pairs = start + ((end - start) & ~7);
        let bh = f32x4.splat(0), bs = bh, bitsLo = i32x4.splat(i32.MAX_VALUE), bitsHi = i32x4.splat(i32.MIN_VALUE);
        for (; i < pairs; i += 8) {
          const v = v128.load(row + (<usize>i << 2)), w = v128.load(row + (<usize>i << 2), 16);
          bs = f32x4.add(bs, f32x4.add(v, w));
          mn = f32x4.pmin(mn, f32x4.pmin(v, w));
          const bv = logBitsF32x4(entropyArgF32x4(v)), bw = logBitsF32x4(entropyArgF32x4(w));
          bitsLo = i32x4.min_s(bitsLo, i32x4.min_s(bv, bw));
          bitsHi = i32x4.max_s(bitsHi, i32x4.max_s(bv, bw));
          bh = f32x4.add(bh, f32x4.add(entropyTermF32x4(v, false), entropyTermF32x4(w, false)));
        }
        // the block's odd last vector, or the whole block again if a lane was not normal
        if (!logBitsNormalF32(bitsLo, bitsHi)) {
          i = start;
          bh = bs = f32x4.splat(0);
        }
        for (; i < end; i += 4) {
          const v = v128.load(row + (<usize>i << 2));
          bh = f32x4.add(bh, entropyTermF32x4(v, true));
          bs = f32x4.add(bs, v);
          mn = f32x4.pmin(mn, v);
        }
        h0 = f64x2.add(h0, f64x2.promote_low_f32x4(bh));
        h1 = f64x2.add(h1, promoteHighF32x4(bh));
        s0 = f64x2.add(s0, f64x2.promote_low_f32x4(bs));
        s1 = f64x2.add(s1, promoteHighF32x4(bs));
      }
      h = sumLanesF64x2(f64x2.add(h0, h1));
      s = sumLanesF64x2(f64x2.add(s0, s1));
      lo = min(lo, minLanesF32x4(mn));
    }
    for (; i < cols; i++) {
      const v = load<f32>(row + (<usize>i << 2));
      if (v != 0) h += <f64>(v * Mathf.log(v));
      s += <f64>v;
      if (v < lo) lo = v;
    }
    store<f64>(out + (<usize>r << 3), -h);
    store<f64>(sums + (<usize>r << 3), s);
  }
  return <f64>lo;
}

/** The log argument of a normalised entropy term, u/T with u = p·sc, or 1 where u = 0. */
// @ts-ignore: decorator
@inline function entropyArgF64x2(v: v128, vsc: v128, vT: v128, vInvT: v128): v128 {
  const u = f64x2.mul(v, vsc);
  return f64x2.mul(v128.bitselect(vT, u, f64x2.eq(u, f64x2.splat(0))), vInvT);
}

/** (u/T)·log(u/T), the log as the ratio a/T with a − T and a + T (`careful` as in `entropyTermF32x4`). */
// @ts-ignore: decorator
@inline function entropyTermF64x2(v: v128, vsc: v128, vT: v128, vInvT: v128, careful: bool): v128 {
  const u = f64x2.mul(v, vsc);
  const a = v128.bitselect(vT, u, f64x2.eq(u, f64x2.splat(0)));
  const r = f64x2.mul(a, vInvT), num = f64x2.sub(a, vT), den = f64x2.add(a, vT);
  const l = careful ? logRatioF64x2(r, num, den) : logFromBitsF64x2(logBitsF64x2(r), num, den);
  return f64x2.mul(f64x2.mul(u, vInvT), l);
}

/**
 * out[r] = H(p[r, :]/T[r]) in nats, T = totals[r] (1 when totals = 0), sums[r] = Σ p.
 * Each term is (p/T)·log(p/T) with the log taken as a ratio, so a normalised row
 * close to one-hot keeps its relative accuracy.  Returns min p.  The blocks and the
 * fast log are the float32 kernels' (`BLOCK`), in float64 lanes and sums.
 */
export function entropyRowsF64(p: usize, rows: i32, cols: i32, totals: usize, out: usize, sums: usize): f64 {
  let lo: f64 = Infinity;
  for (let r = 0; r < rows; r++) {
    const row = p + (<usize>r * <usize>cols << 3);
    const T0: f64 = totals ? load<f64>(totals + (<usize>r << 3)) : 1.0;
    const sc = pow2Scale(T0);
    const T = T0 * sc, invT = 1.0 / T;
    let i = 0;
    let h: f64 = 0;
    let s: f64 = 0;
    if (ASC_FEATURE_SIMD) {
      const vT = f64x2.splat(T), vInvT = f64x2.splat(invT), vsc = f64x2.splat(sc);
      let h0 = f64x2.splat(0), s0 = h0, mn = f64x2.splat(Infinity);
      while (i + 2 <= cols) {
        const start = i, end = min(i + BLOCK, cols & ~1), pairs = start + ((end - start) & ~3);
        let bh = f64x2.splat(0), bs = bh, bitsLo = i32x4.splat(i32.MAX_VALUE), bitsHi = i32x4.splat(i32.MIN_VALUE);
        for (; i < pairs; i += 4) {
          const v = v128.load(row + (<usize>i << 3)), w = v128.load(row + (<usize>i << 3), 16);
          bs = f64x2.add(bs, f64x2.add(v, w));
          mn = f64x2.pmin(mn, f64x2.pmin(v, w));
          const bv = logBitsF64x2(entropyArgF64x2(v, vsc, vT, vInvT)), bw = logBitsF64x2(entropyArgF64x2(w, vsc, vT, vInvT));
          bitsLo = i32x4.min_s(bitsLo, i32x4.min_s(bv, bw));
          bitsHi = i32x4.max_s(bitsHi, i32x4.max_s(bv, bw));
          bh = f64x2.add(bh, f64x2.add(entropyTermF64x2(v, vsc, vT, vInvT, false), entropyTermF64x2(w, vsc, vT, vInvT, false)));
        }
        // the block's odd last vector, or the whole block again if a lane was not normal
        if (!logBitsNormalF64(bitsLo, bitsHi)) {
          i = start;
          bh = bs = f64x2.splat(0);
        }
        for (; i < end; i += 2) {
          const v = v128.load(row + (<usize>i << 3));
          bs = f64x2.add(bs, v);
          mn = f64x2.pmin(mn, v);
          bh = f64x2.add(bh, entropyTermF64x2(v, vsc, vT, vInvT, true));
        }
        h0 = f64x2.add(h0, bh);
        s0 = f64x2.add(s0, bs);
      }
      h = sumLanesF64x2(h0);
      s = sumLanesF64x2(s0);
      lo = min(lo, minLanesF64x2(mn));
    }
    for (; i < cols; i++) {
      const v = load<f64>(row + (<usize>i << 3));
      const u = v * sc;
      if (u != 0) h += u * invT * logRatioF64(u, T);
      s += v;
      if (v < lo) lo = v;
    }
    store<f64>(out + (<usize>r << 3), -h);
    store<f64>(sums + (<usize>r << 3), s);
  }
  return lo;
}

// ---------------------------------------------------------------------------------
// Cross-entropy  H(P, Q) = −Σ p log q
// ---------------------------------------------------------------------------------

/** The log argument of a cross-entropy term: q, or 1 where p = 0 (0·log q = 0 for any q ≥ 0). */
// @ts-ignore: decorator
@inline function crossEntropyArgF32x4(vp: v128, vq: v128): v128 {
  return v128.bitselect(f32x4.splat(1.0), vq, f32x4.eq(vp, f32x4.splat(0)));
}

/** p·log q (`careful` as in `entropyTermF32x4`). */
// @ts-ignore: decorator
@inline function crossEntropyTermF32x4(vp: v128, vq: v128, careful: bool): v128 {
  const safe = crossEntropyArgF32x4(vp, vq);
  return f32x4.mul(vp, careful ? logF32x4(safe) : logNormalF32x4(logBitsF32x4(safe), safe));
}

/** out[r] = H(p[r], q[r]) in nats; sums[r] = Σ p[r], sums[rows + r] = Σ q[r]; returns min(p, q). */
export function crossEntropyRowsF32(p: usize, q: usize, rows: i32, cols: i32, out: usize, sums: usize): f64 {
  let lo: f32 = Infinity;
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    let i = 0;
    let h: f64 = 0, sp: f64 = 0, sq: f64 = 0;
    if (ASC_FEATURE_SIMD) {
      i = pqRowF32(CE, p, q, off, cols);
      h = rowSum;
      sp = rowP;
      sq = rowQ;
      lo = min(lo, rowMin);
    }
    for (; i < cols; i++) {
      const o = off + (<usize>i << 2);
      const vp = load<f32>(p + o);
      const vq = load<f32>(q + o);
      if (vp != 0) h += <f64>(vp * Mathf.log(vq));
      sp += <f64>vp;
      sq += <f64>vq;
      lo = min(lo, min(vp, vq));
    }
    store<f64>(out + (<usize>r << 3), -h);
    store<f64>(sums + (<usize>r << 3), sp);
    store<f64>(sums + (<usize>(rows + r) << 3), sq);
  }
  return <f64>lo;
}

/** The cross-entropy log's numerator b = q·scq, or Tq where p = 0 (0·log q = 0). */
// @ts-ignore: decorator
@inline function crossEntropyNumF64x2(vp: v128, vq: v128, vscq: v128, vTq: v128): v128 {
  return v128.bitselect(vTq, f64x2.mul(vq, vscq), f64x2.eq(vp, f64x2.splat(0)));
}

/** (p/Tp)·log(q/Tq), the log as the ratio b/Tq with b − Tq and b + Tq (`careful` as in `entropyTermF32x4`). */
// @ts-ignore: decorator
@inline function crossEntropyTermF64x2(vp: v128, b: v128, vscp: v128, vTq: v128, vInvTp: v128, vInvTq: v128, careful: bool): v128 {
  const r = f64x2.mul(b, vInvTq), num = f64x2.sub(b, vTq), den = f64x2.add(b, vTq);
  const l = careful ? logRatioF64x2(r, num, den) : logFromBitsF64x2(logBitsF64x2(r), num, den);
  return f64x2.mul(f64x2.mul(f64x2.mul(vp, vscp), vInvTp), l);
}

/**
 * Lanes that `ceTermF64` must take (the row is then summed again by it): q·scq below the
 * normal range with q > 0 (`ceLogF64`), or a p that its row's scaling underflows.
 */
// @ts-ignore: decorator
@inline function crossEntropyFarF64x2(vp: v128, vq: v128, b: v128, vscp: v128): v128 {
  const zero = f64x2.splat(0);
  return v128.or(v128.and(f64x2.lt(b, f64x2.splat(F64_TINY)), f64x2.gt(vq, zero)),
    v128.andnot(f64x2.eq(f64x2.mul(vp, vscp), zero), f64x2.eq(vp, zero)));
}

/**
 * out[r] = H(p/Tp, q/Tq) in nats with Tp = totals[r], Tq = totals[rows + r] (1 when
 * totals = 0, the layout of `sums`): −Σ (p/Tp)·log(q/Tq), the log taken as a ratio.
 * Sums as for float32; blocks and the fast log as `entropyRowsF64`.
 */
export function crossEntropyRowsF64(p: usize, q: usize, rows: i32, cols: i32, totals: usize, out: usize, sums: usize): f64 {
  let lo: f64 = Infinity;
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 3;
    const Tp0: f64 = totals ? load<f64>(totals + (<usize>r << 3)) : 1.0;
    const Tq0: f64 = totals ? load<f64>(totals + (<usize>(rows + r) << 3)) : 1.0;
    const scp = pow2Scale(Tp0), scq = pow2Scale(Tq0);
    const Tp = Tp0 * scp, Tq = Tq0 * scq;
    const invTp = 1.0 / Tp, invTq = 1.0 / Tq;
    let i = 0;
    let h: f64 = 0, sp: f64 = 0, sq: f64 = 0;
    let far = false;
    if (ASC_FEATURE_SIMD) {
      const vscp = f64x2.splat(scp), vscq = f64x2.splat(scq), vTp = f64x2.splat(Tp), vTq = f64x2.splat(Tq);
      const vInvTp = f64x2.splat(invTp), vInvTq = f64x2.splat(invTq);
      i = pqRowF64(CE, p, q, off, cols, vscp, vscq, vTp, vTq, vInvTp, vInvTq);
      h = rowSum;
      sp = rowP;
      sq = rowQ;
      lo = min(lo, rowMin64);
      far = rowFar;
    }
    if (far) {
      h = 0;
      for (let j = 0; j < i; j++) {
        const o = off + (<usize>j << 3);
        const vp = load<f64>(p + o);
        if (vp != 0) h += ceTermF64(vp, load<f64>(q + o), scp, invTp, scq, Tq, Tq0);
      }
    }
    for (; i < cols; i++) {
      const o = off + (<usize>i << 3);
      const vp = load<f64>(p + o);
      const vq = load<f64>(q + o);
      if (vp != 0) h += ceTermF64(vp, vq, scp, invTp, scq, Tq, Tq0);
      sp += vp;
      sq += vq;
      lo = min(lo, min(vp, vq));
    }
    store<f64>(out + (<usize>r << 3), -h);
    store<f64>(sums + (<usize>r << 3), sp);
    store<f64>(sums + (<usize>(rows + r) << 3), sq);
  }
  return lo;
}

// ---------------------------------------------------------------------------------
// Kullback–Leibler divergence  D(P‖Q) = Σ p log(p/q)
// ---------------------------------------------------------------------------------

/**
 * The KL log's denominator before scaling: q, or 1 where p = 0 (0·log(0/q) = 0); q + 0
 * turns −0 into +0, so that p/(−0) is +Infinity, not −Infinity.
 */
// @ts-ignore: decorator
@inline function klDenF32x4(vp: v128, vq: v128): v128 {
  return v128.bitselect(f32x4.splat(1.0), f32x4.add(vq, f32x4.splat(0)), f32x4.eq(vp, f32x4.splat(0)));
}

/** A denominator below the normal range is scaled by 2^64, so that p/q cannot overflow. */
// @ts-ignore: decorator
@inline function klScaledF32x4(b0: v128): v128 {
  return v128.bitselect(f32x4.mul(b0, f32x4.splat(F32_2P64)), b0, f32x4.lt(b0, f32x4.splat(F32_TINY)));
}

/** The KL log's numerator: p, or 1 where p = 0. */
// @ts-ignore: decorator
@inline function klNumF32x4(vp: v128): v128 {
  return v128.bitselect(f32x4.splat(1.0), vp, f32x4.eq(vp, f32x4.splat(0)));
}

/** The KL log's argument p/q (1 where p = 0), as `klTermF32x4` forms it. */
// @ts-ignore: decorator
@inline function klArgF32x4(vp: v128, vq: v128): v128 {
  return f32x4.mul(klNumF32x4(vp), f32x4.div(f32x4.splat(1.0), klScaledF32x4(klDenF32x4(vp, vq))));
}

/**
 * p·log(p/q) (`careful` as in `entropyTermF32x4`), the log from p·(1/q) and
 * (p − q)·(1/q); 64·ln 2 is added back where q was scaled.
 */
// @ts-ignore: decorator
@inline function klTermF32x4(vp: v128, vq: v128, careful: bool): v128 {
  const a = klNumF32x4(vp);
  const b0 = klDenF32x4(vp, vq);
  const b = klScaledF32x4(b0);
  const rb = f32x4.div(f32x4.splat(1.0), b);
  const ratio = f32x4.mul(a, rb), near = f32x4.mul(f32x4.sub(a, b), rb);
  const l = careful ? logRatioF32x4(ratio, near) : logFromBitsF32x4(logBitsF32x4(ratio), near);
  return f32x4.mul(vp, f32x4.add(l, v128.and(f32x4.splat(F32_64LN2), f32x4.lt(b0, f32x4.splat(F32_TINY)))));
}

/**
 * out[r] = D(p[r] ‖ q[r]) in nats.  Each term is p·log(p/q) with the log of the ratio
 * computed by `logRatioF32x4` from p·(1/q) and (p − q)·(1/q), so a KL of close
 * distributions is as accurate as its terms, not the difference of two large sums.
 * Sums and return as `crossEntropyRowsF32`.
 */
export function klDivergenceRowsF32(p: usize, q: usize, rows: i32, cols: i32, out: usize, sums: usize): f64 {
  let lo: f32 = Infinity;
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    let i = 0;
    let d: f64 = 0, sp: f64 = 0, sq: f64 = 0;
    if (ASC_FEATURE_SIMD) {
      i = pqRowF32(KL, p, q, off, cols);
      d = rowSum;
      sp = rowP;
      sq = rowQ;
      lo = min(lo, rowMin);
    }
    for (; i < cols; i++) {
      const o = off + (<usize>i << 2);
      const vp = load<f32>(p + o);
      const vq = load<f32>(q + o);
      if (vp != 0) d += <f64>(vp * logRatioF32(vp, vq + 0));
      sp += <f64>vp;
      sq += <f64>vq;
      lo = min(lo, min(vp, vq));
    }
    store<f64>(out + (<usize>r << 3), d);
    store<f64>(sums + (<usize>r << 3), sp);
    store<f64>(sums + (<usize>(rows + r) << 3), sq);
  }
  return <f64>lo;
}

/** The KL ratio's numerator a = p·scp·Tq (1 where p = 0) … */
// @ts-ignore: decorator
@inline function klNumF64x2(vp: v128, vscp: v128, vTq: v128): v128 {
  return v128.bitselect(f64x2.splat(1.0), f64x2.mul(f64x2.mul(vp, vscp), vTq), f64x2.eq(vp, f64x2.splat(0)));
}

/** … and denominator b = (q·scq + 0)·Tp (1 where p = 0; + 0: −0 becomes +0, p/q = +Infinity). */
// @ts-ignore: decorator
@inline function klDenF64x2(vp: v128, vq: v128, vscq: v128, vTp: v128): v128 {
  const uq = f64x2.add(f64x2.mul(vq, vscq), f64x2.splat(0));
  return v128.bitselect(f64x2.splat(1.0), f64x2.mul(uq, vTp), f64x2.eq(vp, f64x2.splat(0)));
}

/** (p/Tp)·log(a/b), the log from a/b, a − b and a + b (`careful` as in `entropyTermF32x4`). */
// @ts-ignore: decorator
@inline function klTermF64x2(vp: v128, a: v128, b: v128, vscp: v128, vInvTp: v128, careful: bool): v128 {
  const r = f64x2.div(a, b), num = f64x2.sub(a, b), den = f64x2.add(a, b);
  const l = careful ? logRatioF64x2(r, num, den) : logFromBitsF64x2(logBitsF64x2(r), num, den);
  return f64x2.mul(f64x2.mul(f64x2.mul(vp, vscp), vInvTp), l);
}

/** Lanes that `klTermF64` must take: q·scq below the normal range with q > 0, or p underflowed by scaling (p ≠ 0). */
// @ts-ignore: decorator
@inline function klFarF64x2(vp: v128, vq: v128, vscp: v128, vscq: v128): v128 {
  const zero = f64x2.splat(0);
  const uq = f64x2.add(f64x2.mul(vq, vscq), zero);
  const far = v128.or(v128.and(f64x2.lt(uq, f64x2.splat(F64_TINY)), f64x2.gt(vq, zero)), f64x2.eq(f64x2.mul(vp, vscp), zero));
  return v128.andnot(far, f64x2.eq(vp, zero));
}

/**
 * out[r] = D(p/Tp ‖ q/Tq) in nats (totals as `crossEntropyRowsF64`).  The ratio
 * (p/Tp)/(q/Tq) is taken as a/b with a = p·Tq, b = q·Tp, whose difference a − b
 * carries only the two products' roundings, so normalised close rows stay accurate.
 * Blocks and the fast log as `entropyRowsF64`.
 */
export function klDivergenceRowsF64(p: usize, q: usize, rows: i32, cols: i32, totals: usize, out: usize, sums: usize): f64 {
  let lo: f64 = Infinity;
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 3;
    const Tp0: f64 = totals ? load<f64>(totals + (<usize>r << 3)) : 1.0;
    const Tq0: f64 = totals ? load<f64>(totals + (<usize>(rows + r) << 3)) : 1.0;
    const scp = pow2Scale(Tp0), scq = pow2Scale(Tq0);
    const Tp = Tp0 * scp, Tq = Tq0 * scq;
    const invTp = 1.0 / Tp;
    let i = 0;
    let d: f64 = 0, sp: f64 = 0, sq: f64 = 0;
    let far = false;
    if (ASC_FEATURE_SIMD) {
      const vscp = f64x2.splat(scp), vscq = f64x2.splat(scq), vTp = f64x2.splat(Tp), vTq = f64x2.splat(Tq);
      const vInvTp = f64x2.splat(invTp), vInvTq = f64x2.splat(1.0 / Tq);
      i = pqRowF64(KL, p, q, off, cols, vscp, vscq, vTp, vTq, vInvTp, vInvTq);
      d = rowSum;
      sp = rowP;
      sq = rowQ;
      lo = min(lo, rowMin64);
      far = rowFar;
    }
    if (far) {
      d = 0;
      for (let j = 0; j < i; j++) {
        const o = off + (<usize>j << 3);
        const vp = load<f64>(p + o);
        if (vp != 0) d += klTermF64(vp, load<f64>(q + o), scp, invTp, scq, Tp, Tq, Tp0, Tq0);
      }
    }
    for (; i < cols; i++) {
      const o = off + (<usize>i << 3);
      const vp = load<f64>(p + o);
      const vq = load<f64>(q + o);
      if (vp != 0) d += klTermF64(vp, vq, scp, invTp, scq, Tp, Tq, Tp0, Tq0);
      sp += vp;
      sq += vq;
      lo = min(lo, min(vp, vq));
    }
    store<f64>(out + (<usize>r << 3), d);
    store<f64>(sums + (<usize>r << 3), sp);
    store<f64>(sums + (<usize>(rows + r) << 3), sq);
  }
  return lo;
}

// ---------------------------------------------------------------------------------
// Jensen–Shannon divergence  ½D(P‖M) + ½D(Q‖M),  M = ½(P + Q)
// ---------------------------------------------------------------------------------

/**
 * The JS logs' common parts for a vector of p and q: the scale (2^64 where p + q is
 * below the normal range, so that 1/(p + q) stays finite) and 1/(a + b) of the scaled
 * a = p·sc, b = q·sc.
 */
// @ts-ignore: decorator
@inline function jsScaleF32x4(vp: v128, vq: v128): v128 {
  return v128.bitselect(f32x4.splat(F32_2P64), f32x4.splat(1.0), f32x4.lt(f32x4.add(vp, vq), f32x4.splat(F32_TINY)));
}

/** log(p/m) = log(2a/(a + b)): its argument (1 where p = 0) … */
// @ts-ignore: decorator
@inline function jsArgF32x4(a: v128, rs: v128, vp: v128): v128 {
  return v128.bitselect(f32x4.splat(1.0), f32x4.mul(f32x4.add(a, a), rs), f32x4.eq(vp, f32x4.splat(0)));
}

/** … and the log itself, near 1 from ±(a − b)/(a + b) (`careful` as in `entropyTermF32x4`). */
// @ts-ignore: decorator
@inline function jsLogF32x4(a: v128, f: v128, rs: v128, vp: v128, careful: bool): v128 {
  const arg = jsArgF32x4(a, rs, vp);
  const near = v128.andnot(f, f32x4.eq(vp, f32x4.splat(0)));
  return careful ? logRatioF32x4(arg, near) : logFromBitsF32x4(logBitsF32x4(arg), near);
}

/** ½(p·log(p/m) + q·log(q/m)). */
// @ts-ignore: decorator
@inline function jsTermF32x4(vp: v128, vq: v128, careful: bool): v128 {
  const sc = jsScaleF32x4(vp, vq);
  const a = f32x4.mul(vp, sc), b = f32x4.mul(vq, sc);
  const rs = f32x4.div(f32x4.splat(1.0), f32x4.add(a, b));
  const f = f32x4.mul(f32x4.sub(a, b), rs);
  const lp = jsLogF32x4(a, f, rs, vp, careful), lq = jsLogF32x4(b, f32x4.neg(f), rs, vq, careful);
  return f32x4.mul(f32x4.add(f32x4.mul(vp, lp), f32x4.mul(vq, lq)), f32x4.splat(0.5));
}

/** The bits of both JS log arguments' range, folded by min_s (`lo`) or max_s. */
// @ts-ignore: decorator
@inline function jsBitsF32x4(vp: v128, vq: v128, lo: bool): v128 {
  const sc = jsScaleF32x4(vp, vq);
  const a = f32x4.mul(vp, sc), b = f32x4.mul(vq, sc);
  const rs = f32x4.div(f32x4.splat(1.0), f32x4.add(a, b));
  const bp = logBitsF32x4(jsArgF32x4(a, rs, vp)), bq = logBitsF32x4(jsArgF32x4(b, rs, vq));
  return lo ? i32x4.min_s(bp, bq) : i32x4.max_s(bp, bq);
}

// ---------------------------------------------------------------------------------
// The float32 body of the two-distribution reductions
// ---------------------------------------------------------------------------------

const CE = 0, KL = 1, JS = 2;

/** A term of `kind` for a vector of p and q (`careful` as in `entropyTermF32x4`). */
// @ts-ignore: decorator
@inline function pqTermF32x4(kind: i32, vp: v128, vq: v128, careful: bool): v128 {
  if (kind == CE) return crossEntropyTermF32x4(vp, vq, careful);
  if (kind == KL) return klTermF32x4(vp, vq, careful);
  return jsTermF32x4(vp, vq, careful);
}

/** The bits of a term's log argument(s) (`logBitsF32x4`), folded by min_s (`lo`) or max_s. */
// @ts-ignore: decorator
@inline function pqBitsF32x4(kind: i32, vp: v128, vq: v128, lo: bool): v128 {
  if (kind == CE) return logBitsF32x4(crossEntropyArgF32x4(vp, vq));
  if (kind == KL) return logBitsF32x4(klArgF32x4(vp, vq));
  return jsBitsF32x4(vp, vq, lo);
}

// The SIMD body's results for one row: Σ terms, Σ p, Σ q and min(p, q) over the entries
// before the index it returns (written once a row; the scalar tail goes on from there).
let rowSum: f64 = 0, rowP: f64 = 0, rowQ: f64 = 0, rowMin: f32 = 0;

/**
 * Σ term(p, q), Σ p, Σ q and min(p, q) over the whole vectors of a float32 row: pairs of
 * vectors through the fast log, block by block (`BLOCK`), each block's odd last vector or
 * — when a log argument was not a positive normal float — the whole block again on the
 * careful path.  Returns how many entries it took.
 */
// @ts-ignore: decorator
@inline function pqRowF32(kind: i32, p: usize, q: usize, off: usize, cols: i32): i32 {
  let i = 0;
  let t0 = f64x2.splat(0), t1 = t0, p0 = t0, p1 = t0, q0 = t0, q1 = t0, mn = f32x4.splat(Infinity);
  while (i + 4 <= cols) {
    const start = i, end = min(i + BLOCK, cols & ~3), pairs = start + ((end - start) & ~7);
    let bt = f32x4.splat(0), bp = bt, bq = bt, bitsLo = i32x4.splat(i32.MAX_VALUE), bitsHi = i32x4.splat(i32.MIN_VALUE);
    for (; i < pairs; i += 8) {
      const o = off + (<usize>i << 2);
      const vp = v128.load(p + o), wp = v128.load(p + o, 16);
      const vq = v128.load(q + o), wq = v128.load(q + o, 16);
      bp = f32x4.add(bp, f32x4.add(vp, wp));
      bq = f32x4.add(bq, f32x4.add(vq, wq));
      mn = f32x4.pmin(mn, f32x4.pmin(f32x4.pmin(vp, vq), f32x4.pmin(wp, wq)));
      bitsLo = i32x4.min_s(bitsLo, i32x4.min_s(pqBitsF32x4(kind, vp, vq, true), pqBitsF32x4(kind, wp, wq, true)));
      bitsHi = i32x4.max_s(bitsHi, i32x4.max_s(pqBitsF32x4(kind, vp, vq, false), pqBitsF32x4(kind, wp, wq, false)));
      bt = f32x4.add(bt, f32x4.add(pqTermF32x4(kind, vp, vq, false), pqTermF32x4(kind, wp, wq, false)));
    }
    // the block's odd last vector, or the whole block again if a lane was not normal
    if (!logBitsNormalF32(bitsLo, bitsHi)) {
      i = start;
      bt = bp = bq = f32x4.splat(0);
    }
    for (; i < end; i += 4) {
      const o = off + (<usize>i << 2);
      const vp = v128.load(p + o), vq = v128.load(q + o);
      bp = f32x4.add(bp, vp);
      bq = f32x4.add(bq, vq);
      mn = f32x4.pmin(mn, f32x4.pmin(vp, vq));
      bt = f32x4.add(bt, pqTermF32x4(kind, vp, vq, true));
    }
    t0 = f64x2.add(t0, f64x2.promote_low_f32x4(bt));
    t1 = f64x2.add(t1, promoteHighF32x4(bt));
    p0 = f64x2.add(p0, f64x2.promote_low_f32x4(bp));
    p1 = f64x2.add(p1, promoteHighF32x4(bp));
    q0 = f64x2.add(q0, f64x2.promote_low_f32x4(bq));
    q1 = f64x2.add(q1, promoteHighF32x4(bq));
  }
  rowSum = sumLanesF64x2(f64x2.add(t0, t1));
  rowP = sumLanesF64x2(f64x2.add(p0, p1));
  rowQ = sumLanesF64x2(f64x2.add(q0, q1));
  rowMin = minLanesF32x4(mn);
  return i;
}

/**
 * out[r] = JS(p[r], q[r]) in nats.  With s = p + q, the two ratios are p/m = 2p/s and
 * q/m = 2q/s, and their logs near 1 come from ±(p − q)/s (exact numerator), so the
 * divergence of close rows is as accurate as its terms.  Sums and return as
 * `crossEntropyRowsF32`.
 */
export function jsDivergenceRowsF32(p: usize, q: usize, rows: i32, cols: i32, out: usize, sums: usize): f64 {
  let lo: f32 = Infinity;
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    let i = 0;
    let d: f64 = 0, sp: f64 = 0, sq: f64 = 0;
    if (ASC_FEATURE_SIMD) {
      i = pqRowF32(JS, p, q, off, cols);
      d = rowSum;
      sp = rowP;
      sq = rowQ;
      lo = min(lo, rowMin);
    }
    for (; i < cols; i++) {
      const o = off + (<usize>i << 2);
      const vp = load<f32>(p + o);
      const vq = load<f32>(q + o);
      let t: f32 = 0;
      if (vp != 0) t += vp * logMixF32(vp, vq);
      if (vq != 0) t += vq * logMixF32(vq, vp);
      d += <f64>(t * 0.5);
      sp += <f64>vp;
      sq += <f64>vq;
      lo = min(lo, min(vp, vq));
    }
    store<f64>(out + (<usize>r << 3), d);
    store<f64>(sums + (<usize>r << 3), sp);
    store<f64>(sums + (<usize>(rows + r) << 3), sq);
  }
  return <f64>lo;
}

/** The log argument of `jsSideF64x2`, 2a/(a + b), or 1 where u = 0. */
// @ts-ignore: decorator
@inline function jsSideArgF64x2(u: v128, a: v128, s: v128): v128 {
  return v128.bitselect(f64x2.splat(1.0), f64x2.div(f64x2.add(a, a), s), f64x2.eq(u, f64x2.splat(0)));
}

/**
 * One side of a JS term, (u/T)·log(2a/(a + b)), for the scaled u = p·sc with a = u·T'
 * and b the other side's, s = a + b (see `jsDivergenceRowsF64`); 0 where u = 0.  In the
 * series variable the log's argument near 1 is (a − b)/(3a + b).  (2a/s, not 2a·(1/s):
 * 1/s overflows for a subnormal s.)
 */
// @ts-ignore: decorator
@inline function jsSideF64x2(u: v128, a: v128, b: v128, s: v128, vInvT: v128, careful: bool): v128 {
  const one = f64x2.splat(1.0), zero = f64x2.splat(0);
  const z = f64x2.eq(u, zero);
  const r = jsSideArgF64x2(u, a, s);
  const num = v128.bitselect(zero, f64x2.sub(a, b), z), den = v128.bitselect(one, f64x2.add(f64x2.mul(a, f64x2.splat(3.0)), b), z);
  const l = careful ? logRatioF64x2(r, num, den) : logFromBitsF64x2(logBitsF64x2(r), num, den);
  return f64x2.mul(f64x2.mul(u, vInvT), l);
}


// ---------------------------------------------------------------------------------
// The float64 body of the two-distribution reductions
// ---------------------------------------------------------------------------------

// The float64 bodies take each row's scales and totals (as `crossEntropyRowsF64` forms
// them) splatted: scp, scq, Tp, Tq, invTp, invTq.  (Six parameters rather than an
// object: an object would be allocated, and kernels never allocate.)

/** A float64 term of `kind` (`careful` as in `entropyTermF32x4`). */
// @ts-ignore: decorator
@inline function pqTermF64x2(kind: i32, vp: v128, vq: v128, scp: v128, scq: v128, Tp: v128, Tq: v128, invTp: v128, invTq: v128, careful: bool): v128 {
  if (kind == CE) return crossEntropyTermF64x2(vp, crossEntropyNumF64x2(vp, vq, scq, Tq), scp, Tq, invTp, invTq, careful);
  if (kind == KL) return klTermF64x2(vp, klNumF64x2(vp, scp, Tq), klDenF64x2(vp, vq, scq, Tp), scp, invTp, careful);
  const up = f64x2.mul(vp, scp), uq = f64x2.mul(vq, scq);
  const a = f64x2.mul(up, Tq), b = f64x2.mul(uq, Tp), s = f64x2.add(a, b);
  return f64x2.add(jsSideF64x2(up, a, b, s, invTp, careful), jsSideF64x2(uq, b, a, s, invTq, careful));
}

/** The bits of a float64 term's log argument(s) (`logBitsF64x2`), folded by min_s (`lo`) or max_s. */
// @ts-ignore: decorator
@inline function pqBitsF64x2(kind: i32, vp: v128, vq: v128, scp: v128, scq: v128, Tp: v128, Tq: v128, invTp: v128, invTq: v128, lo: bool): v128 {
  if (kind == CE) return logBitsF64x2(f64x2.mul(crossEntropyNumF64x2(vp, vq, scq, Tq), invTq));
  if (kind == KL) return logBitsF64x2(f64x2.div(klNumF64x2(vp, scp, Tq), klDenF64x2(vp, vq, scq, Tp)));
  const up = f64x2.mul(vp, scp), uq = f64x2.mul(vq, scq);
  const a = f64x2.mul(up, Tq), b = f64x2.mul(uq, Tp), s = f64x2.add(a, b);
  const xp = logBitsF64x2(jsSideArgF64x2(up, a, s)), xq = logBitsF64x2(jsSideArgF64x2(uq, b, s));
  return lo ? i32x4.min_s(xp, xq) : i32x4.max_s(xp, xq);
}

/** Lanes the scalar far-term path must take (cross-entropy and KL; JS has none). */
// @ts-ignore: decorator
@inline function pqFarF64x2(kind: i32, vp: v128, vq: v128, scp: v128, scq: v128, Tp: v128, Tq: v128, invTp: v128, invTq: v128): v128 {
  if (kind == CE) return crossEntropyFarF64x2(vp, vq, crossEntropyNumF64x2(vp, vq, scq, Tq), scp);
  if (kind == KL) return klFarF64x2(vp, vq, scp, scq);
  return f64x2.splat(0);
}

// `pqRowF64`'s results for one row, as `pqRowF32`'s, and whether a lane needs the far path.
let rowMin64: f64 = 0, rowFar: bool = false;

/** The float64 twin of `pqRowF32`, with the row's scales and totals splatted (see above). */
// @ts-ignore: decorator
@inline function pqRowF64(kind: i32, p: usize, q: usize, off: usize, cols: i32, scp: v128, scq: v128, Tp: v128, Tq: v128, invTp: v128, invTq: v128): i32 {
  let i = 0;
  let t0 = f64x2.splat(0), p0 = t0, q0 = t0, mn = f64x2.splat(Infinity), far = t0;
  while (i + 2 <= cols) {
    const start = i, end = min(i + BLOCK, cols & ~1), pairs = start + ((end - start) & ~3);
    let bt = f64x2.splat(0), bp = bt, bq = bt, bitsLo = i32x4.splat(i32.MAX_VALUE), bitsHi = i32x4.splat(i32.MIN_VALUE);
    for (; i < pairs; i += 4) {
      const o = off + (<usize>i << 3);
      const vp = v128.load(p + o), wp = v128.load(p + o, 16);
      const vq = v128.load(q + o), wq = v128.load(q + o, 16);
      bp = f64x2.add(bp, f64x2.add(vp, wp));
      bq = f64x2.add(bq, f64x2.add(vq, wq));
      mn = f64x2.pmin(mn, f64x2.pmin(f64x2.pmin(vp, vq), f64x2.pmin(wp, wq)));
      far = v128.or(far, v128.or(pqFarF64x2(kind, vp, vq, scp, scq, Tp, Tq, invTp, invTq), pqFarF64x2(kind, wp, wq, scp, scq, Tp, Tq, invTp, invTq)));
      bitsLo = i32x4.min_s(bitsLo, i32x4.min_s(pqBitsF64x2(kind, vp, vq, scp, scq, Tp, Tq, invTp, invTq, true), pqBitsF64x2(kind, wp, wq, scp, scq, Tp, Tq, invTp, invTq, true)));
      bitsHi = i32x4.max_s(bitsHi, i32x4.max_s(pqBitsF64x2(kind, vp, vq, scp, scq, Tp, Tq, invTp, invTq, false), pqBitsF64x2(kind, wp, wq, scp, scq, Tp, Tq, invTp, invTq, false)));
      bt = f64x2.add(bt, f64x2.add(pqTermF64x2(kind, vp, vq, scp, scq, Tp, Tq, invTp, invTq, false), pqTermF64x2(kind, wp, wq, scp, scq, Tp, Tq, invTp, invTq, false)));
    }
    // the block's odd last vector, or the whole block again if a lane was not normal
    if (!logBitsNormalF64(bitsLo, bitsHi)) {
      i = start;
      bt = bp = bq = f64x2.splat(0);
    }
    for (; i < end; i += 2) {
      const o = off + (<usize>i << 3);
      const vp = v128.load(p + o), vq = v128.load(q + o);
      bp = f64x2.add(bp, vp);
      bq = f64x2.add(bq, vq);
      mn = f64x2.pmin(mn, f64x2.pmin(vp, vq));
      far = v128.or(far, pqFarF64x2(kind, vp, vq, scp, scq, Tp, Tq, invTp, invTq));
      bt = f64x2.add(bt, pqTermF64x2(kind, vp, vq, scp, scq, Tp, Tq, invTp, invTq, true));
    }
    t0 = f64x2.add(t0, bt);
    p0 = f64x2.add(p0, bp);
    q0 = f64x2.add(q0, bq);
  }
  rowSum = sumLanesF64x2(t0);
  rowP = sumLanesF64x2(p0);
  rowQ = sumLanesF64x2(q0);
  rowMin64 = minLanesF64x2(mn);
  rowFar = v128.any_true(far);
  return i;
}

/**
 * out[r] = JS(p/Tp, q/Tq) in nats (totals as `crossEntropyRowsF64`).  With a = p·Tq and
 * b = q·Tp: p̂/m̂ = 2a/(a + b) and q̂/m̂ = 2b/(a + b); in the series variable of the
 * log these are s = (a − b)/(3a + b) and (b − a)/(3b + a).  An entry that scaling with
 * its row's total underflows (1e-45 of a total 1e300) contributes below 1e-300: it is
 * dropped with the zeros, not turned into 0·log 0.  Blocks and the fast log as
 * `entropyRowsF64`.
 */
export function jsDivergenceRowsF64(p: usize, q: usize, rows: i32, cols: i32, totals: usize, out: usize, sums: usize): f64 {
  let lo: f64 = Infinity;
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 3;
    const Tp0: f64 = totals ? load<f64>(totals + (<usize>r << 3)) : 1.0;
    const Tq0: f64 = totals ? load<f64>(totals + (<usize>(rows + r) << 3)) : 1.0;
    const scp = pow2Scale(Tp0), scq = pow2Scale(Tq0);
    const Tp = Tp0 * scp, Tq = Tq0 * scq;
    const invTp = 1.0 / Tp, invTq = 1.0 / Tq;
    let i = 0;
    let d: f64 = 0, sp: f64 = 0, sq: f64 = 0;
    if (ASC_FEATURE_SIMD) {
      const vscp = f64x2.splat(scp), vscq = f64x2.splat(scq), vTp = f64x2.splat(Tp), vTq = f64x2.splat(Tq);
      const vInvTp = f64x2.splat(invTp), vInvTq = f64x2.splat(invTq);
      i = pqRowF64(JS, p, q, off, cols, vscp, vscq, vTp, vTq, vInvTp, vInvTq);
      d = rowSum;
      sp = rowP;
      sq = rowQ;
      lo = min(lo, rowMin64);
    }
    for (; i < cols; i++) {
      const o = off + (<usize>i << 3);
      const vp = load<f64>(p + o);
      const vq = load<f64>(q + o);
      const up = vp * scp, uq = vq * scq;
      const a = up * Tq, b = uq * Tp;
      if (up != 0) d += up * invTp * logMixF64(a, b);
      if (uq != 0) d += uq * invTq * logMixF64(b, a);
      sp += vp;
      sq += vq;
      lo = min(lo, min(vp, vq));
    }
    store<f64>(out + (<usize>r << 3), d * 0.5);
    store<f64>(sums + (<usize>r << 3), sp);
    store<f64>(sums + (<usize>(rows + r) << 3), sq);
  }
  return lo;
}

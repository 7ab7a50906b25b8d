// Joint tables and bytes: the margins of a joint probability (or count) table, the terms
// of its mutual information and conditional entropy, and the histogram of a byte stream.
//
// A joint table is row-major, rows X and columns Y.  Two passes:
//   marginRows — each row's sum (compensated), the column sums added to per-column
//     float64 pairs (hi, lo) by TwoSum at every entry (kept across blocks of rows: a
//     column sum over 10⁶ rows is still within 2 ulps), the grand total and the smallest
//     entry (for validation);
//   mutualInformationRows — Σ c·log(c/q) over the table, q = c(x)·c(y)/N (mutual
//     information: the ratio p(x,y)/(p(x)p(y)) from unnormalised entries c and their
//     total N) or q = c(x) (the ratio p(x,y)/p(x) of the conditional entropy); see
//     below for how the ratio is formed.  The caller divides by N.
// Both read float32 tables two entries at a time (promoted: exact) and compute in
// float64 lanes: the mutual information of a near-independent table is a sum of terms
// c·log(1 + η) with η of the order of the rounding of its margins, which float32 logs
// could not resolve.  An entry whose ratio is not a positive normal number (0, a row or
// column of zeros) contributes 0: 0·log 0 = 0.  Row sums, column sums and terms are
// summed in lanes over short blocks, the blocks into compensated pairs.
//
// byteHistogram counts the bytes of rows × cols bytes into four interleaved sub-histograms
// of 32-bit counters (byte v of the i-th byte of each group of four in counter 4v + i mod 4),
// so consecutive bytes of equal value increment different words and never wait for the
// store before them (store-to-load forwarding); at the end the four are added into the
// caller's 256 float64 counts, so no count overflows however many calls add to them.

import {
  twoSumLoF64x2, sumLanesF64x2, logF64x2, normalF64x2, k64, i64k, minLanesF64x2, maxLanesF64x2, pairTotal, pairLo, restMass, twoSum, twoLo,
  D_ONE, D_LN2_HI, D_LN2_LO, D_G1, L_LOG_SHIFT, L_MANT, L_SQRT_HALF, L_1023, L_DBL_MIN, L_EXP,
} from "./math";

const I64 = memory.data<f64>([Infinity, 0.0], 16);

/** Two entries at p as float64 lanes (float32 promoted). */
// @ts-ignore: decorator
@inline function load2<T>(p: usize): v128 {
  if (sizeof<T>() == 4) return f64x2.promote_low_f32x4(v128.load64_zero(p));
  return v128.load(p);
}

/** One entry at p in lane 0, lane 1 = 0. */
// @ts-ignore: decorator
@inline function load1<T>(p: usize): v128 {
  if (sizeof<T>() == 4) return f64x2.promote_low_f32x4(v128.load32_zero(p));
  return v128.load64_zero(p);
}

/** Adds v to the compensated per-column pairs at (h, l), two columns (TwoSum). */
// @ts-ignore: decorator
@inline function addColumns(h: usize, l: usize, v: v128): void {
  const hi = v128.load(h);
  const s = f64x2.add(hi, v);
  const bb = f64x2.sub(s, hi);
  v128.store(l, f64x2.add(v128.load(l), f64x2.add(f64x2.sub(hi, f64x2.sub(s, bb)), f64x2.sub(v, bb))));
  v128.store(h, s);
}

/** Scalar TwoSum of v into the pair at (h, l). */
// @ts-ignore: decorator
@inline function addPair(h: usize, l: usize, v: f64): void {
  const hi = load<f64>(h);
  const s = hi + v;
  const bb = s - hi;
  store<f64>(l, load<f64>(l) + ((hi - (s - bb)) + (v - bb)));
  store<f64>(h, s);
}

// ---------------------------------------------------------------------------------
// Margins
// ---------------------------------------------------------------------------------

/**
 * Stores a row's sum at `at` and, when `lo` is not 0, its low part there.  A row whose
 * largest entry m is at least total/√2 — the only rows with a term c·log(c/c(x)) near
 * log 1 — is summed again apart from m: (hi, lo) = TwoSum(m, rest), so that the terms'
 * c − c(x) = (m − hi) − lo has the rest's own relative accuracy (the lanes' sum loses the
 * small entries' low bits against m: [1, 10⁻¹³ × 199] gave H(Y|X) 2e-6 off relative).
 * Other rows' low part is 0.
 */
function dominated<T>(row: usize, cols: i32, m: f64, total: f64, at: usize, lo: usize): void {
  if (!(lo && m > 0 && m < Infinity && m >= total * 0.7071067811865476)) {
    store<f64>(at, total);
    if (lo) store<f64>(lo, 0);
    return;
  }
  store<f64>(at, twoSum(m, restMass<T>(row, cols, m)));
  store<f64>(lo, twoLo);
}

/**
 * res[r] = Σ row r (compensated), resLo[r] its low part where the row is dominated (see
 * `dominated`), else 0; colHi/colLo[j] += column j's entries (TwoSum pairs); acc[0] =
 * min(acc[0], smallest entry), (acc[1], acc[2]) += Σ of the rows (a pair).
 */
function margins<T>(x: usize, rows: i32, cols: i32, res: usize, resLo: usize, colHi: usize, colLo: usize, acc: usize): void {
  const bytes = <usize>sizeof<T>();
  let mn = load<f64>(acc);
  if (!ASC_FEATURE_SIMD) {
    for (let r = 0; r < rows; r++) {
      const row = x + <usize>r * <usize>cols * bytes;
      let h: f64 = 0, l: f64 = 0, mx: f64 = 0;
      for (let j = 0; j < cols;) {
        let s: f64 = 0;
        for (const end = min(j + 32, cols); j < end; j++) {
          const v = <f64>load<T>(row + <usize>j * bytes);
          s += v;
          if (v < mn) mn = v;
          if (v > mx) mx = v;
          addPair(colHi + (<usize>j << 3), colLo + (<usize>j << 3), v);
        }
        const t = h + s, bb = t - h;
        l += (h - (t - bb)) + (s - bb);
        h = t;
      }
      const total = isFinite(h) ? h + l : h;
      dominated<T>(row, cols, mx, total, res + (<usize>r << 3), resLo ? resLo + (<usize>r << 3) : 0);
      addPair(acc + 8, acc + 16, total);
    }
    store<f64>(acc, mn);
    return;
  }
  const inf = v128.load64_splat(I64), zero = v128.load64_splat(I64, 8);
  let mv = inf;
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>r * <usize>cols * bytes;
    let hi = zero, lo = zero, mxv = zero;
    let j = 0;
    while (j + 2 <= cols) {
      const end = min(j + 64, cols & ~1);
      let s0 = zero, s1 = zero;
      for (; j + 4 <= end; j += 4) {
        const v0 = load2<T>(row + <usize>j * bytes), v1 = load2<T>(row + <usize>(j + 2) * bytes);
        s0 = f64x2.add(s0, v0);
        s1 = f64x2.add(s1, v1);
        mv = f64x2.pmin(mv, f64x2.pmin(v0, v1));
        mxv = f64x2.pmax(mxv, f64x2.pmax(v0, v1));
        const o = <usize>j << 3;
        addColumns(colHi + o, colLo + o, v0);
        addColumns(colHi + o + 16, colLo + o + 16, v1);
      }
      for (; j < end; j += 2) {
        const v = load2<T>(row + <usize>j * bytes);
        s0 = f64x2.add(s0, v);
        mv = f64x2.pmin(mv, v);
        mxv = f64x2.pmax(mxv, v);
        addColumns(colHi + (<usize>j << 3), colLo + (<usize>j << 3), v);
      }
      const block = f64x2.add(s0, s1);
      lo = twoSumLoF64x2(hi, block, lo);
      hi = f64x2.add(hi, block);
    }
    if (j < cols) {
      // the odd last entry
      const v = load1<T>(row + <usize>j * bytes);
      lo = twoSumLoF64x2(hi, v, lo);
      hi = f64x2.add(hi, v);
      const e = f64x2.extract_lane(v, 0);
      if (e < mn) mn = e;
      mxv = f64x2.pmax(mxv, v);
      addPair(colHi + (<usize>j << 3), colLo + (<usize>j << 3), e);
    }
    const total = pairTotal(hi, lo);
    dominated<T>(row, cols, maxLanesF64x2(mxv), total, res + (<usize>r << 3), resLo ? resLo + (<usize>r << 3) : 0);
    addPair(acc + 8, acc + 16, total);
  }
  store<f64>(acc, min(mn, minLanesF64x2(mv)));
}

export function marginRowsF32(x: usize, rows: i32, cols: i32, res: usize, resLo: usize, colHi: usize, colLo: usize, acc: usize): void {
  margins<f32>(x, rows, cols, res, resLo, colHi, colLo, acc);
}

export function marginRowsF64(x: usize, rows: i32, cols: i32, res: usize, resLo: usize, colHi: usize, colLo: usize, acc: usize): void {
  margins<f64>(x, rows, cols, res, resLo, colHi, colLo, acc);
}

// ---------------------------------------------------------------------------------
// Mutual information and conditional entropy terms
// ---------------------------------------------------------------------------------
//
// Each term is c·log(c/q): q = c(x)·c(y)/N (mutual information) or q = c(x) (conditional
// entropy).  The ratio c/q is formed as c·a·b (a = N/c(x), b = 1/c(y); or a = 1/c(x)),
// with no division; where it lies in [√½, √2) the log's series takes its argument from
// c − q and c + q instead (math.ts: logF64x2's numNear, denNear), with q = (c(x)/N)·c(y)
// or c(x) itself: c − q is then exact (Sterbenz), so a term near 0 — a row whose entries
// are all in one column, an independent table — has the relative accuracy of q, and an
// entry equal to its row sum gives exactly 0.

/** The scalar log(c/q) from the ratio and q = hi + lo (see above): log1p(((c − hi) − lo)/q) near 1. */
// @ts-ignore: decorator
@inline function logRatio(c: f64, q: f64, lo: f64, ratio: f64): f64 {
  return ratio >= 0.7071067811865476 && ratio < 1.4142135623730951 ? Math.log1p(((c - q) - lo) / q) : Math.log(ratio);
}

/**
 * (acc[0], acc[1]) += Σ c·log(c/q) over the table (see above): mutual information with
 * colInv (1/c(y)) and colSum (c(y)) given, a = total/rowSums[r]; conditional entropy with
 * both 0, a = 1/rowSums[r], and q = c(x) taken with its low part rowLo[r] (see `dominated`;
 * 0: none).  Terms whose ratio is not a positive normal number are 0.
 */
function terms<T>(x: usize, rows: i32, cols: i32, rowSums: usize, rowLo: usize, colInv: usize, colSum: usize, total: f64, acc: usize): void {
  const bytes = <usize>sizeof<T>();
  if (!ASC_FEATURE_SIMD) {
    let h: f64 = 0, l: f64 = 0;
    for (let r = 0; r < rows; r++) {
      const row = x + <usize>r * <usize>cols * bytes;
      const cx = load<f64>(rowSums + (<usize>r << 3));
      const a = colInv ? total / cx : 1.0 / cx, rq = colInv ? cx / total : cx;
      const qlo = !colInv && rowLo ? load<f64>(rowLo + (<usize>r << 3)) : 0;
      for (let j = 0; j < cols;) {
        let s: f64 = 0;
        for (const end = min(j + 32, cols); j < end; j++) {
          const c = <f64>load<T>(row + <usize>j * bytes);
          const o = <usize>j << 3;
          const ratio = colInv ? c * a * load<f64>(colInv + o) : c * a;
          const q = colInv ? rq * load<f64>(colSum + o) : rq;
          if (ratio >= 2.2250738585072014e-308 && ratio < Infinity) s += c * logRatio(c, q, qlo, ratio);
        }
        const t = h + s, bb = t - h;
        l += (h - (t - bb)) + (s - bb);
        h = t;
      }
    }
    addPair(acc, acc + 8, isFinite(h) ? h + l : h);
    return;
  }
  if (colInv) termsSimd<T>(x, rows, cols, rowSums, 0, colInv, colSum, total, acc, true);
  else termsSimd<T>(x, rows, cols, rowSums, rowLo, 0, 0, total, acc, false);
}

/** The log's c − q (see above), with q's low part for the conditional entropy (c + q, ≈ 2c, needs none). */
// @ts-ignore: decorator
@inline function nearNum(c: v128, q: v128, lo: v128, mutual: bool): v128 {
  return mutual ? f64x2.sub(c, q) : f64x2.sub(f64x2.sub(c, q), lo);
}

/** The vector loop of `terms`, compiled apart for the mutual information (`mutual`) and the conditional entropy. */
// @ts-ignore: decorator
@inline function termsSimd<T>(x: usize, rows: i32, cols: i32, rowSums: usize, rowLo: usize, colInv: usize, colSum: usize, total: f64, acc: usize, mutual: bool): void {
  const bytes = <usize>sizeof<T>();
  const zero = v128.load64_splat(I64, 8);
  const shift = i64k(L_LOG_SHIFT), mant = i64k(L_MANT), sqrtHalf = i64k(L_SQRT_HALF), i1023 = i64k(L_1023);
  const dblMin = i64k(L_DBL_MIN), expField = i64k(L_EXP);
  const one = k64(D_ONE), lnHi = k64(D_LN2_HI), lnLo = k64(D_LN2_LO);
  const g1 = k64(D_G1), g2 = k64(D_G1 + 1), g3 = k64(D_G1 + 2), g4 = k64(D_G1 + 3), g5 = k64(D_G1 + 4), g6 = k64(D_G1 + 5), g7 = k64(D_G1 + 6);
  let hi = zero, lo = zero, s0 = zero, s1 = zero;
  let count = 0; // vectors in the current block
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>r * <usize>cols * bytes;
    const cx = load<f64>(rowSums + (<usize>r << 3));
    const av = f64x2.splat(mutual ? total / cx : 1.0 / cx), rq = f64x2.splat(mutual ? cx / total : cx);
    const qlo = f64x2.splat(!mutual && rowLo ? load<f64>(rowLo + (<usize>r << 3)) : 0);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const o = <usize>j << 3;
      const c0 = load2<T>(row + <usize>j * bytes), c1 = load2<T>(row + <usize>(j + 2) * bytes);
      let q0 = f64x2.mul(c0, av), q1 = f64x2.mul(c1, av), d0 = rq, d1 = rq;
      if (mutual) {
        q0 = f64x2.mul(q0, v128.load(colInv + o));
        q1 = f64x2.mul(q1, v128.load(colInv + o, 16));
        d0 = f64x2.mul(rq, v128.load(colSum + o));
        d1 = f64x2.mul(rq, v128.load(colSum + o, 16));
      }
      const l0 = logF64x2(q0, nearNum(c0, d0, qlo, mutual), f64x2.add(c0, d0), shift, mant, sqrtHalf, i1023, one, lnHi, lnLo, g1, g2, g3, g4, g5, g6, g7);
      const l1 = logF64x2(q1, nearNum(c1, d1, qlo, mutual), f64x2.add(c1, d1), shift, mant, sqrtHalf, i1023, one, lnHi, lnLo, g1, g2, g3, g4, g5, g6, g7);
      s0 = f64x2.add(s0, v128.and(f64x2.mul(c0, l0), normalF64x2(q0, dblMin, expField)));
      s1 = f64x2.add(s1, v128.and(f64x2.mul(c1, l1), normalF64x2(q1, dblMin, expField)));
      if (++count == 16) {
        const block = f64x2.add(s0, s1);
        lo = twoSumLoF64x2(hi, block, lo);
        hi = f64x2.add(hi, block);
        s0 = zero;
        s1 = zero;
        count = 0;
      }
    }
    for (; j < cols; j += 2) {
      // the last entries: lanes past the row read as c = 0 (ratio 0: no term)
      const full = cols - j >= 2;
      const o = <usize>j << 3;
      const c = full ? load2<T>(row + <usize>j * bytes) : load1<T>(row + <usize>j * bytes);
      let q = f64x2.mul(c, av), d = rq;
      if (mutual) {
        q = f64x2.mul(q, full ? v128.load(colInv + o) : v128.load64_zero(colInv + o));
        d = f64x2.mul(rq, full ? v128.load(colSum + o) : v128.load64_zero(colSum + o));
      }
      const l = logF64x2(q, nearNum(c, d, qlo, mutual), f64x2.add(c, d), shift, mant, sqrtHalf, i1023, one, lnHi, lnLo, g1, g2, g3, g4, g5, g6, g7);
      s1 = f64x2.add(s1, v128.and(f64x2.mul(c, l), normalF64x2(q, dblMin, expField)));
      if (++count == 16) {
        const block = f64x2.add(s0, s1);
        lo = twoSumLoF64x2(hi, block, lo);
        hi = f64x2.add(hi, block);
        s0 = zero;
        s1 = zero;
        count = 0;
      }
    }
  }
  const block = f64x2.add(s0, s1);
  lo = twoSumLoF64x2(hi, block, lo);
  hi = f64x2.add(hi, block);
  const t = pairTotal(hi, lo);
  const extra = pairLo;
  addPair(acc, acc + 8, t);
  store<f64>(acc + 8, load<f64>(acc + 8) + extra);
}

export function mutualInformationRowsF32(x: usize, rows: i32, cols: i32, rowSums: usize, rowLo: usize, colInv: usize, colSum: usize, total: f64, acc: usize): void {
  terms<f32>(x, rows, cols, rowSums, rowLo, colInv, colSum, total, acc);
}

export function mutualInformationRowsF64(x: usize, rows: i32, cols: i32, rowSums: usize, rowLo: usize, colInv: usize, colSum: usize, total: f64, acc: usize): void {
  terms<f64>(x, rows, cols, rowSums, rowLo, colInv, colSum, total, acc);
}

// ---------------------------------------------------------------------------------
// Byte histogram
// ---------------------------------------------------------------------------------

/**
 * acc[v] += how many of the rows × cols bytes at p equal v (256 float64 counts); `tmp`:
 * 4096 bytes of scratch for the four sub-histograms.  Each call counts fewer than 2³²
 * bytes (all of memory), so its 32-bit counters cannot overflow.
 */
function histogram(p: usize, rows: i32, cols: i32, acc: usize, tmp: usize): void {
  const n = <usize>rows * <usize>cols;
  memory.fill(tmp, 0, 4096);
  let i: usize = 0;
  // eight bytes an iteration, as two 32-bit words: byte k of a word to sub-histogram k
  for (; i + 8 <= n; i += 8) {
    const a = load<u32>(p + i), b = load<u32>(p + i, 4);
    const h0 = tmp + ((a & 0xff) << 4), h1 = tmp + ((a >> 4) & 0xff0), h2 = tmp + ((a >> 12) & 0xff0), h3 = tmp + ((a >> 20) & 0xff0);
    store<u32>(h0, load<u32>(h0) + 1);
    store<u32>(h1, load<u32>(h1, 4) + 1, 4);
    store<u32>(h2, load<u32>(h2, 8) + 1, 8);
    store<u32>(h3, load<u32>(h3, 12) + 1, 12);
    const g0 = tmp + ((b & 0xff) << 4), g1 = tmp + ((b >> 4) & 0xff0), g2 = tmp + ((b >> 12) & 0xff0), g3 = tmp + ((b >> 20) & 0xff0);
    store<u32>(g0, load<u32>(g0) + 1);
    store<u32>(g1, load<u32>(g1, 4) + 1, 4);
    store<u32>(g2, load<u32>(g2, 8) + 1, 8);
    store<u32>(g3, load<u32>(g3, 12) + 1, 12);
  }
  for (; i < n; i++) {
    const h = tmp + (<usize>load<u8>(p + i) << 4) + ((i & 3) << 2);
    store<u32>(h, load<u32>(h) + 1);
  }
  for (let v = 0; v < 256; v++) {
    const h = tmp + (<usize>v << 4);
    const c = load<u32>(h) + load<u32>(h, 4) + load<u32>(h, 8) + load<u32>(h, 12);
    const o = acc + (<usize>v << 3);
    store<f64>(o, load<f64>(o) + <f64>c);
  }
}

export function byteHistogramF32(p: usize, rows: i32, cols: i32, acc: usize, tmp: usize): void {
  histogram(p, rows, cols, acc, tmp);
}

export function byteHistogramF64(p: usize, rows: i32, cols: i32, acc: usize, tmp: usize): void {
  histogram(p, rows, cols, acc, tmp);
}

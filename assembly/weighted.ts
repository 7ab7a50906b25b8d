// Weighted and signed log-sum-exp, row by row: log|Σ bᵢ·e^xᵢ| and the sign of the sum
// (scipy.special.logsumexp(a, b=…, return_sign=True)).
//
// Per row: m = the largest xᵢ among the entries with bᵢ ≠ 0 (an entry of weight 0 is left
// out altogether, as scipy ≥ 1.15 does: its x may be anything, NaN or ±Infinity
// included); then D = A + R with
//   A = Σ bᵢ over the entries at the maximum (each contributes bᵢ·e⁰ exactly), and
//   R = Σ bᵢ·e^(xᵢ−m) over the others,
// and the value is m + log|D|, the sign that of D.  D is a signed sum: an exact
// cancellation (D = 0) gives value −Infinity and sign 0, and a near one loses the digits
// the data do (the condition number is Σ|bᵢ|e^xᵢ / |Σ bᵢe^xᵢ|).  log|D| is taken from
// the TwoSum A + R (hi, lo): log1p((|hi| − 1) + lo) when |hi| ∈ [½, 2] (|hi| − 1 is
// exact there), so a result near 0 — one dominant entry of weight 1 — keeps its relative
// accuracy, as the `ones + rest` of softmax.ts.
//
// The exponentials are the E(x) of math.ts with T = 1 — its reduction and polynomials,
// set up per row from m (near rows reduce x itself with a shift k, far rows x − m) — with
// the lanes below the cut-off selected away rather than raised (`expCutF32x4`: no lane
// ever computes with subnormals, so masked entries cost what others do), and R is
// divided by E(m) in float64.  float32 rows compute E and the products bᵢ·E in float32 lanes, sum them in
// float32 lanes over short blocks (≤ 32 terms a lane) and the blocks into a compensated
// float64 pair; float64 rows the same in f64x2 lanes.
//
// Special rows are decided after the vector passes, by a scalar scan (`classify`), as
// scipy's direct formula Σ bᵢ·e^xᵢ decides them: a NaN x or b (of an entry with b ≠ 0),
// or +Infinity terms of both signs, or ±Infinity·0 (an infinite weight on a masked
// logit), give NaN; +Infinity terms of one sign (x = +Infinity, or an infinite weight)
// give value +Infinity with that sign; a row with no entry above −Infinity (all masked,
// all weights 0, or empty) gives −Infinity, sign 0.  A finite sum that overflows (weights
// near the largest float) gives +Infinity with its sign.
//
// `aux` (4 a row, when not 0): m, A, R, and the smallest weight of the row (what
// `logSumExp(x, { weights })` checks for negative weights).  A special row stores m = NaN
// (NaN result) or m = +Infinity with its sign in A.  The TypeScript side merges the parts
// of the segments of a row too long for its window (stream.ts) and finishes them as
// `putRow` does.

import {
  madd32, madd64, k32, k64, twoSumLoF64x2, widenF32x4, maxLanesF32x4, minLanesF32x4, maxLanesF64x2, minLanesF64x2,
  sumLanesF64x2,
  F_LOG2E, F_P1, F_P2, F_P3, F_P4, F_P5, D_LOG2E, D_ONE, D_P0, D_LN2_HI, D_LN2_LO,
} from "./math";

const LN2: f64 = 0.6931471805599453;
const LOG2E: f64 = 1.4426950408889634;
const LN_FLT_MIN: f64 = -87.33654475055310898657;
const LN_DBL_MIN: f64 = -708.3964185322641;

// −C1, −C2 of ln 2 for the float32 exp at T = 1 (as expRowF32 forms them: C1 = ln 2 in
// float32 with its 9 low bits cleared), and the lane constants the loops need (read into
// locals: a v128.const in a loop is rebuilt at every use by V8 12+).
const W32 = memory.data<f32>([-0.693145751953125, -1.428606765330187e-06, -Infinity, Infinity, 0.0], 16);
const W64 = memory.data<f64>([-Infinity, Infinity, 0.0], 16);

// ---------------------------------------------------------------------------------
// A row's parts (set by the row functions), and its results
// ---------------------------------------------------------------------------------

let gM: f64 = 0; // the maximum (NaN, or +Infinity with the sign in gA, for special rows)
let gA: f64 = 0; // Σ b at the maximum
let gR: f64 = 0; // Σ b·e^(x − m) below it
let gMinW: f64 = 0; // the smallest weight

/** Writes row r's value and sign (and its parts to aux) from gM, gA, gR, gMinW. */
function putRow(r: i32, res: usize, sgn: usize, aux: usize): void {
  const m = gM, A = gA, R = gR;
  let v: f64, s: f64;
  if (isNaN(m)) {
    v = NaN;
    s = NaN;
  } else if (m == Infinity) {
    v = Infinity;
    s = A;
  } else if (m == -Infinity) {
    v = -Infinity;
    s = 0;
  } else {
    const t = A + R;
    const bb = t - A;
    const e = (A - (t - bb)) + (R - bb);
    if (t == 0) {
      v = -Infinity;
      s = 0;
    } else {
      s = t > 0 ? 1 : -1;
      const a = Math.abs(t), ea = s * e;
      v = m + (a >= 0.5 && a <= 2 ? Math.log1p((a - 1) + ea) : Math.log(a) + ea / a);
    }
  }
  store<f64>(res + (<usize>r << 3), v);
  if (sgn) store<f64>(sgn + (<usize>r << 3), s);
  if (aux) {
    const p = aux + (<usize>r << 5);
    store<f64>(p, m);
    store<f64>(p, A, 8);
    store<f64>(p, R, 16);
    store<f64>(p, gMinW, 24);
  }
}

/**
 * The parts of a special row (see the top), from a scalar scan of its entries: NaN, or
 * +Infinity with its sign, or −Infinity (nothing above −Infinity).  `m` is the row's
 * maximum, `sum` what the vector pass found for A + R (its sign, for an overflow).
 */
function classify<T>(x: usize, w: usize, n: i32, m: f64, sum: f64): void {
  let nan = false, pos = false, neg = false;
  for (let i = 0; i < n; i++) {
    const o = <usize>i * sizeof<T>();
    const b = <f64>load<T>(w + o), v = <f64>load<T>(x + o);
    if (b == 0) continue;
    if (isNaN(b) || isNaN(v)) nan = true;
    else if (v == Infinity) {
      if (b > 0) pos = true;
      else neg = true;
    } else if (v == -Infinity) {
      if (!isFinite(b)) nan = true; // ±Infinity·0
    } else if (b == Infinity) pos = true;
    else if (b == -Infinity) neg = true;
  }
  gR = 0;
  if (nan || (pos && neg)) {
    gM = NaN;
    gA = 0;
  } else if (pos || neg) {
    gM = Infinity;
    gA = pos ? 1 : -1;
  } else if (m == -Infinity) {
    gM = -Infinity;
    gA = 0;
  } else if (isNaN(sum)) {
    gM = NaN;
    gA = 0;
  } else {
    // finite terms whose sum overflowed
    gM = Infinity;
    gA = sum > 0 ? 1 : -1;
  }
}

// ---------------------------------------------------------------------------------
// The scalar build: one loop per pass, float64 Math.exp (x − m is exact for float32 x)
// ---------------------------------------------------------------------------------

function rowScalar<T>(x: usize, w: usize, n: i32): void {
  let m: f64 = -Infinity, mw: f64 = Infinity;
  for (let i = 0; i < n; i++) {
    const o = <usize>i * sizeof<T>();
    const b = <f64>load<T>(w + o), v = <f64>load<T>(x + o);
    if (b != 0 && v > m) m = v;
    if (b < mw) mw = b;
  }
  gMinW = mw;
  if (!isFinite(m)) {
    classify<T>(x, w, n, m, 0);
    return;
  }
  // blocks of 32 terms into compensated pairs (hi, lo) for A and R
  let ah: f64 = 0, al: f64 = 0, rh: f64 = 0, rl: f64 = 0;
  for (let i = 0; i < n;) {
    let a: f64 = 0, s: f64 = 0;
    for (const end = min(i + 32, n); i < end; i++) {
      const o = <usize>i * sizeof<T>();
      const b = <f64>load<T>(w + o), v = <f64>load<T>(x + o);
      if (b == 0) continue;
      if (v == m) a += b;
      else s += b * Math.exp(v - m);
    }
    let t = ah + a, bb = t - ah;
    al += (ah - (t - bb)) + (a - bb);
    ah = t;
    t = rh + s;
    bb = t - rh;
    rl += (rh - (t - bb)) + (s - bb);
    rh = t;
  }
  const A = isFinite(ah) ? ah + al : ah, R = isFinite(rh) ? rh + rl : rh;
  if (!isFinite(A) || !isFinite(R) || !isFinite(A + R)) {
    classify<T>(x, w, n, m, A + R);
    return;
  }
  gM = m;
  gA = A;
  gR = R;
}

// ---------------------------------------------------------------------------------
// float32 rows
// ---------------------------------------------------------------------------------

// The per-row scalars of E (T = 1), set by `setupF32` from the row's maximum
let eB32: f32 = 0, eMagic32: f32 = 0, eCut32: f32 = 0, eLift32: f32 = 0;

/**
 * E(x) = exp(x − b − k·ln 2) for a row of finite maximum m (math.ts: expRowF32 at T = 1):
 * near rows b = 0 and k = ⌈m·log₂e⌉, far rows b = m and k = 0.  The cut-off a hundredth
 * above ln FLT_MIN, so that its rounding never lets a subnormal E through; the lanes
 * below it are computed at `lift`, where E ≈ e³⁰·FLT_MIN and t·2ⁿ is normal for any t
 * the reduction leaves (see `expCutF32x4`).
 */
function setupF32(m: f32): void {
  const q = <f64>m;
  const near = Math.abs(q) < 176.0;
  const k = near ? Math.ceil(q * LOG2E) : 0.0;
  eB32 = near ? 0 : m;
  eMagic32 = <f32>(12583039.0 - k);
  eCut32 = <f32>(k * LN2 + (LN_FLT_MIN + 0.01));
  eLift32 = <f32>(k * LN2 + (LN_FLT_MIN + 30.0));
}

/** The f32 vector at p with lanes [r, 4) set from `fill` (r in 1…3), reading only lanes [0, r). */
// @ts-ignore: decorator
@inline function loadPartF32(p: usize, r: i32, fill: v128): v128 {
  let v = v128.load32_lane(p, fill, 0);
  if (r > 1) v = v128.load32_lane(p, v, 1, 4);
  if (r > 2) v = v128.load32_lane(p, v, 2, 8);
  return v;
}

/**
 * E(x) in four float32 lanes: math.ts's expF32x4 at T = 1, except that the lanes below
 * the cut-off are replaced by `lift` (set well above the cut-off) with a select on the
 * compare, where expF32x4 raises them to a maximum two above it.  There the reduction's
 * t·2ⁿ is subnormal for rows whose lifted t is small — every masked (−Infinity, or weight
 * 0) lane, or a logit far below the maximum, then costs a subnormal multiply (masked
 * rows ran 2.6× slower than random ones) — and lanes between the cut-off and the lift
 * come out as E(lift).  Here every lane at or above the cut-off is computed as itself,
 * and those below as a harmless argument, then 0.
 */
// @ts-ignore: decorator
@inline function expCutF32x4(x: v128, b: v128, k: v128, magic: v128, c1: v128, c2: v128, cut: v128, lift: v128,
  p1: v128, p2: v128, p3: v128, p4: v128, p5: v128): v128 {
  const u = f32x4.sub(x, b);
  const below = f32x4.lt(u, cut); // NaN: false, and NaN passes
  const us = v128.bitselect(lift, u, below);
  let n = madd32(us, k, magic);
  const s = i32x4.shl(n, 23);
  n = f32x4.sub(n, magic);
  const t = madd32(n, c2, madd32(n, c1, us));
  let p = madd32(p5, t, p4);
  p = madd32(p, t, p3);
  p = madd32(p, t, p2);
  p = madd32(p, t, p1);
  return v128.andnot(madd32(f32x4.mul(t, s), p, s), below);
}

function rowF32(x: usize, w: usize, n: i32): void {
  const ninf = v128.load32_splat(W32, 8), pinf = v128.load32_splat(W32, 12), zero = v128.load32_splat(W32, 16);
  // pass 1: the maximum over the entries of nonzero weight, and the smallest weight (NaN
  // weights passed over, as the twin's b < mw: pmin(acc, w) keeps acc where w is NaN, so
  // each accumulator takes its weights one by one and never holds a NaN that would hide
  // a negative weight after it)
  let m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf, mw = pinf, mw2 = pinf;
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = x + (<usize>i << 2), q = w + (<usize>i << 2);
    const w0 = v128.load(q), w1 = v128.load(q, 16), w2 = v128.load(q, 32), w3 = v128.load(q, 48);
    m0 = f32x4.pmax(m0, v128.bitselect(v128.load(p), ninf, f32x4.ne(w0, zero)));
    m1 = f32x4.pmax(m1, v128.bitselect(v128.load(p, 16), ninf, f32x4.ne(w1, zero)));
    m2 = f32x4.pmax(m2, v128.bitselect(v128.load(p, 32), ninf, f32x4.ne(w2, zero)));
    m3 = f32x4.pmax(m3, v128.bitselect(v128.load(p, 48), ninf, f32x4.ne(w3, zero)));
    mw = f32x4.pmin(f32x4.pmin(mw, w0), w1);
    mw2 = f32x4.pmin(f32x4.pmin(mw2, w2), w3);
  }
  for (; i < n; i += 4) {
    const p = x + (<usize>i << 2), q = w + (<usize>i << 2);
    const r = n - i;
    const wv = r >= 4 ? v128.load(q) : loadPartF32(q, r, zero);
    const xv = r >= 4 ? v128.load(p) : loadPartF32(p, r, ninf);
    m0 = f32x4.pmax(m0, v128.bitselect(xv, ninf, f32x4.ne(wv, zero)));
    mw = f32x4.pmin(mw, r >= 4 ? wv : loadPartF32(q, r, pinf));
  }
  const m = maxLanesF32x4(f32x4.pmax(f32x4.pmax(m0, m1), f32x4.pmax(m2, m3)));
  gMinW = <f64>minLanesF32x4(f32x4.pmin(mw, mw2));
  if (!isFinite(m)) {
    classify<f32>(x, w, n, m, 0);
    return;
  }
  // pass 2: Σ b·E(x) below the maximum (R), Σ b at it (A)
  setupF32(m);
  const mv = f32x4.splat(m);
  const b = f32x4.splat(eB32), magic = f32x4.splat(eMagic32), cut = f32x4.splat(eCut32), lift = f32x4.splat(eLift32);
  const k = k32(F_LOG2E), c1 = v128.load32_splat(W32), c2 = v128.load32_splat(W32, 4);
  const p1 = k32(F_P1), p2 = k32(F_P2), p3 = k32(F_P3), p4 = k32(F_P4), p5 = k32(F_P5);
  let hi = f64x2.splat(0), lo = hi, ahi = hi, alo = hi;
  i = 0;
  while (i < n) {
    // a block: ≤ 32 terms a lane in each float32 accumulator
    const end = min(i + 128, n);
    let a0 = zero, a1 = zero, av = zero;
    for (; i + 8 <= end; i += 8) {
      const p = x + (<usize>i << 2), q = w + (<usize>i << 2);
      const w0 = v128.load(q), w1 = v128.load(q, 16);
      const x0 = v128.bitselect(v128.load(p), ninf, f32x4.ne(w0, zero));
      const x1 = v128.bitselect(v128.load(p, 16), ninf, f32x4.ne(w1, zero));
      const e0 = expCutF32x4(x0, b, k, magic, c1, c2, cut, lift, p1, p2, p3, p4, p5);
      const e1 = expCutF32x4(x1, b, k, magic, c1, c2, cut, lift, p1, p2, p3, p4, p5);
      const t0 = f32x4.eq(x0, mv), t1 = f32x4.eq(x1, mv);
      a0 = f32x4.add(a0, v128.andnot(f32x4.mul(w0, e0), t0));
      a1 = f32x4.add(a1, v128.andnot(f32x4.mul(w1, e1), t1));
      av = f32x4.add(av, f32x4.add(v128.and(w0, t0), v128.and(w1, t1)));
    }
    for (; i < end; i += 4) {
      const p = x + (<usize>i << 2), q = w + (<usize>i << 2);
      const r = end - i;
      const wv = r >= 4 ? v128.load(q) : loadPartF32(q, r, zero);
      const xv = v128.bitselect(r >= 4 ? v128.load(p) : loadPartF32(p, r, ninf), ninf, f32x4.ne(wv, zero));
      const e = expCutF32x4(xv, b, k, magic, c1, c2, cut, lift, p1, p2, p3, p4, p5);
      const t = f32x4.eq(xv, mv);
      a0 = f32x4.add(a0, v128.andnot(f32x4.mul(wv, e), t));
      av = f32x4.add(av, v128.and(wv, t));
    }
    const block = widenF32x4(f32x4.add(a0, a1));
    lo = twoSumLoF64x2(hi, block, lo);
    hi = f64x2.add(hi, block);
    const ab = widenF32x4(av);
    alo = twoSumLoF64x2(ahi, ab, alo);
    ahi = f64x2.add(ahi, ab);
  }
  const scale = <f64>f32x4.extract_lane(expCutF32x4(mv, b, k, magic, c1, c2, cut, lift, p1, p2, p3, p4, p5), 0);
  finishParts(m, ahi, alo, hi, lo, scale);
  if (!isFinite(gA) || !isFinite(gR) || !isFinite(gA + gR)) classify<f32>(x, w, n, m, gA + gR);
}

/** gM, gA, gR from the pairs of a vector pass: A = ahi + alo, R = (hi + lo)/scale. */
// @ts-ignore: decorator
@inline function finishParts(m: f64, ahi: v128, alo: v128, hi: v128, lo: v128, scale: f64): void {
  gM = m;
  const a = sumLanesF64x2(ahi), r = sumLanesF64x2(hi);
  gA = isFinite(a) ? a + sumLanesF64x2(alo) : a;
  gR = (isFinite(r) ? r + sumLanesF64x2(lo) : r) / scale;
}

/**
 * res[r] = log|Σ b·e^x| over row r, sgn[r] (when not 0) its sign; b one per element
 * (`perElement` 1: rows × cols) or one per column (0: cols, the same for every row);
 * aux (4 a row, when not 0): m, A, R, the smallest weight.  See the top.
 */
export function weightedLogSumExpRowsF32(x: usize, w: usize, perElement: i32, rows: i32, cols: i32, res: usize, sgn: usize, aux: usize): void {
  const step: usize = perElement ? <usize>cols << 2 : 0;
  for (let r = 0; r < rows; r++) {
    const row = x + (<usize>r * <usize>cols << 2), wr = w + <usize>r * step;
    if (ASC_FEATURE_SIMD) rowF32(row, wr, cols);
    else rowScalar<f32>(row, wr, cols);
    putRow(r, res, sgn, aux);
  }
}

// ---------------------------------------------------------------------------------
// float64 rows
// ---------------------------------------------------------------------------------

let eB64: f64 = 0, eMagic64: f64 = 0, eCut64: f64 = 0, eLift64: f64 = 0;

/** The float64 twin of `setupF32` (math.ts: expRowF64 at T = 1; far rows at |m| ≥ 1420). */
function setupF64(m: f64): void {
  const near = Math.abs(m) < 1420.0;
  const k = near ? Math.ceil(m * LOG2E) : 0.0;
  eB64 = near ? 0 : m;
  eMagic64 = 6755399441056767.0 - k;
  eCut64 = k * LN2 + (LN_DBL_MIN + 0.01);
  eLift64 = k * LN2 + (LN_DBL_MIN + 30.0);
}

/** The float64 twin of `expCutF32x4` (math.ts's expF64x2 at T = 1, lanes below the cut-off selected away). */
// @ts-ignore: decorator
@inline function expCutF64x2(x: v128, b: v128, k: v128, magic: v128, c1: v128, c2: v128, cut: v128, lift: v128,
  one: v128, p0: v128, p1: v128, p2: v128, p3: v128, p4: v128, p5: v128, p6: v128, p7: v128, p8: v128, p9: v128): v128 {
  const u = f64x2.sub(x, b);
  const below = f64x2.lt(u, cut);
  const us = v128.bitselect(lift, u, below);
  let n = madd64(us, k, magic);
  const s = i64x2.shl(n, 52);
  n = f64x2.sub(n, magic);
  const t = madd64(n, c2, madd64(n, c1, us));
  const t2 = f64x2.mul(t, t), t4 = f64x2.mul(t2, t2);
  const a = madd64(p1, t, p0), bb = madd64(p3, t, p2), c = madd64(p5, t, p4), d = madd64(p7, t, p6), e = madd64(p9, t, p8);
  const p = madd64(t4, madd64(t4, e, madd64(t2, d, c)), madd64(t2, bb, a));
  return v128.andnot(f64x2.mul(f64x2.add(madd64(p, t2, t), one), s), below);
}

function rowF64(x: usize, w: usize, n: i32): void {
  const ninf = v128.load64_splat(W64), pinf = v128.load64_splat(W64, 8), zero = v128.load64_splat(W64, 16);
  // (the smallest weight as rowF32's)
  let m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf, mw = pinf, mw2 = pinf;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const p = x + (<usize>i << 3), q = w + (<usize>i << 3);
    const w0 = v128.load(q), w1 = v128.load(q, 16), w2 = v128.load(q, 32), w3 = v128.load(q, 48);
    m0 = f64x2.pmax(m0, v128.bitselect(v128.load(p), ninf, f64x2.ne(w0, zero)));
    m1 = f64x2.pmax(m1, v128.bitselect(v128.load(p, 16), ninf, f64x2.ne(w1, zero)));
    m2 = f64x2.pmax(m2, v128.bitselect(v128.load(p, 32), ninf, f64x2.ne(w2, zero)));
    m3 = f64x2.pmax(m3, v128.bitselect(v128.load(p, 48), ninf, f64x2.ne(w3, zero)));
    mw = f64x2.pmin(f64x2.pmin(mw, w0), w1);
    mw2 = f64x2.pmin(f64x2.pmin(mw2, w2), w3);
  }
  for (; i < n; i += 2) {
    const p = x + (<usize>i << 3), q = w + (<usize>i << 3);
    const full = n - i >= 2;
    const wv = full ? v128.load(q) : v128.load64_lane(q, zero, 0);
    const xv = full ? v128.load(p) : v128.load64_lane(p, ninf, 0);
    m0 = f64x2.pmax(m0, v128.bitselect(xv, ninf, f64x2.ne(wv, zero)));
    mw = f64x2.pmin(mw, full ? wv : v128.load64_lane(q, pinf, 0));
  }
  const m = maxLanesF64x2(f64x2.pmax(f64x2.pmax(m0, m1), f64x2.pmax(m2, m3)));
  gMinW = minLanesF64x2(f64x2.pmin(mw, mw2));
  if (!isFinite(m)) {
    classify<f64>(x, w, n, m, 0);
    return;
  }
  setupF64(m);
  const mv = f64x2.splat(m);
  const b = f64x2.splat(eB64), magic = f64x2.splat(eMagic64), cut = f64x2.splat(eCut64), lift = f64x2.splat(eLift64);
  const k = k64(D_LOG2E), c1 = f64x2.neg(k64(D_LN2_HI)), c2 = f64x2.neg(k64(D_LN2_LO)), one = k64(D_ONE);
  const q0 = k64(D_P0), q1 = k64(D_P0 + 1), q2 = k64(D_P0 + 2), q3 = k64(D_P0 + 3), q4 = k64(D_P0 + 4);
  const q5 = k64(D_P0 + 5), q6 = k64(D_P0 + 6), q7 = k64(D_P0 + 7), q8 = k64(D_P0 + 8), q9 = k64(D_P0 + 9);
  let hi = zero, lo = zero, ahi = zero, alo = zero;
  i = 0;
  while (i < n) {
    const end = min(i + 64, n);
    let a0 = zero, a1 = zero, av = zero;
    for (; i + 4 <= end; i += 4) {
      const p = x + (<usize>i << 3), q = w + (<usize>i << 3);
      const w0 = v128.load(q), w1 = v128.load(q, 16);
      const x0 = v128.bitselect(v128.load(p), ninf, f64x2.ne(w0, zero));
      const x1 = v128.bitselect(v128.load(p, 16), ninf, f64x2.ne(w1, zero));
      const e0 = expCutF64x2(x0, b, k, magic, c1, c2, cut, lift, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9);
      const e1 = expCutF64x2(x1, b, k, magic, c1, c2, cut, lift, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9);
      const t0 = f64x2.eq(x0, mv), t1 = f64x2.eq(x1, mv);
      a0 = f64x2.add(a0, v128.andnot(f64x2.mul(w0, e0), t0));
      a1 = f64x2.add(a1, v128.andnot(f64x2.mul(w1, e1), t1));
      av = f64x2.add(av, f64x2.add(v128.and(w0, t0), v128.and(w1, t1)));
    }
    for (; i < end; i += 2) {
      const p = x + (<usize>i << 3), q = w + (<usize>i << 3);
      const full = end - i >= 2;
      const wv = full ? v128.load(q) : v128.load64_lane(q, zero, 0);
      const xv = v128.bitselect(full ? v128.load(p) : v128.load64_lane(p, ninf, 0), ninf, f64x2.ne(wv, zero));
      const e = expCutF64x2(xv, b, k, magic, c1, c2, cut, lift, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9);
      const t = f64x2.eq(xv, mv);
      a0 = f64x2.add(a0, v128.andnot(f64x2.mul(wv, e), t));
      av = f64x2.add(av, v128.and(wv, t));
    }
    const block = f64x2.add(a0, a1);
    lo = twoSumLoF64x2(hi, block, lo);
    hi = f64x2.add(hi, block);
    alo = twoSumLoF64x2(ahi, av, alo);
    ahi = f64x2.add(ahi, av);
  }
  const scale = f64x2.extract_lane(expCutF64x2(mv, b, k, magic, c1, c2, cut, lift, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9), 0);
  finishParts(m, ahi, alo, hi, lo, scale);
  if (!isFinite(gA) || !isFinite(gR) || !isFinite(gA + gR)) classify<f64>(x, w, n, m, gA + gR);
}

export function weightedLogSumExpRowsF64(x: usize, w: usize, perElement: i32, rows: i32, cols: i32, res: usize, sgn: usize, aux: usize): void {
  const step: usize = perElement ? <usize>cols << 3 : 0;
  for (let r = 0; r < rows; r++) {
    const row = x + (<usize>r * <usize>cols << 3), wr = w + <usize>r * step;
    if (ASC_FEATURE_SIMD) rowF64(row, wr, cols);
    else rowScalar<f64>(row, wr, cols);
    putRow(r, res, sgn, aux);
  }
}

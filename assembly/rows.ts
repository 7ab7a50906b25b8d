// What the softmax family and the loss share: a row's maximum, the per-row set-up of the
// exponential, the exponential pass over a wide row, and the tiles of narrow rows.
//
// Rows of at least NARROW entries are walked as consecutive vectors, the last vector's
// lanes beyond the row masked (not a scalar tail: every entry goes through the same
// code).  Narrower rows are taken four at a time (two in float64), gathered into a tile
// whose vector j holds entry j of each row: the lanes are rows, and every step — the
// maximum, the exponentials, the sums, the final log — is one vector operation for four
// rows.  The groups are counted from the call's first row; the rows after the last whole
// group (a single row: a small call) are walked as wide rows, which for them costs a
// quarter of a tile whose other lanes would be idle.  A row's value never depends on its
// neighbours, and the callers split calls at whole groups (src/kernels.ts, ROW_GROUP),
// so the pool's blocks give the single call's values bit for bit.
//
// Sums: float32 exponentials are added in float32 lanes over short blocks (each lane adds
// at most 8 terms: ≤ 7·2^-24 relative) and the blocks into a compensated float64 pair.

import {
  madd32, madd64, widenF32x4, maxLanesF32x4, expF32x4, kept, expF64x2, k32, k64, logF32x4, logF64x2, i32k, i64k, twoSumLoF64x2,
  sumLanesF64x2, splitHi, expFar32, expNonPos, NEAR_F32, NEAR_F64, promoteHighF32x4, negLn2HiF32x4, negLn2LoF32x4,
  F_P1, F_P2, F_P3, F_P4, F_P5, F_ONE, F_HALF, F_LN2_HI, F_LN2_LO, F_Q0, F_NINF, F_INF, F_NAN, F_FAR, F_MAGIC, F_LOG2E, I_LOG_SHIFT, I_MANT, I_SQRT_HALF, I_127,
  D_ONE, D_P0, D_MAGIC, D_LOG2E, D_LN2_HI, D_LN2_LO, D_G1, L_LOG_SHIFT, L_MANT, L_SQRT_HALF, L_1023,
  expNonPosF64x2, log1pUnitF64x2, sg64, SD_LOG2E, SD_MAGIC, SD_NLN2_HI, SD_NLN2_LO, SD_CUT, SD_NTINY, SD_ONE, SD_P0, SD_TWO, SD_HALF, SD_NHALF,
  SD_TINY, SD_LN2_HI, SD_LN2_LO, SD_R0, SD_ZERO,
} from "./math";

/** Rows narrower than this are taken four at a time, lanes = rows (see above); src/kernels.ts, NARROW_COLS, is the same number. */
export const NARROW: i32 = 64;

// The cut-offs of the exponentials (math.ts): exp((x − m)/T) below FLT_MIN·e^-0.01
// (DBL_MIN·e^-0.01) is 0 — the vector exp's, which the scalar build and the JS twins share.
export const F32_CUT: f64 = 1.163797986604692e-38;
export const F64_CUT: f64 = 2.2029340036946747e-308;
export const LOG2E: f64 = 1.4426950408889634;
export const LN_FLT_MIN: f64 = -87.33654475055310898657;

// ---------------------------------------------------------------------------------
// float32: the per-row parameters of E, in lanes
// ---------------------------------------------------------------------------------
//
// E(x) = exp((x − b)/T − k·ln 2) (see math.ts) with, per lane (row) of maximum m:
//   near rows, |m/T| < 176: b = 0, k = ⌊m·log₂e/T⌋ − 1;  far rows: b = m, k = −1;
// so that E(m), the row's `scale`, is in [2, 4) (give or take the rounding of m·log₂e/T).
// The cut-off is on the final value: lanes whose exp((x − m)/T) is below FLT_MIN·e^-0.01
// are 0 — no softmax entry p = exp((x − m)/T)/S ≤ exp((x − m)/T) at or above FLT_MIN is
// lost — and E there is still ≥ 2·0.99·FLT_MIN, a normal number (math.ts).
// Computed in vector lanes for a wide row (m splatted) and four narrow rows alike, so no
// row pays for a scalar exp or floor.  Lanes whose m is not finite get m = 0 here; their
// rows are special and their results are set apart.  Written to the scratch `tmp` (one
// return value in AssemblyScript); kernels read them into locals before their loops.
// T is taken in float64 by the set-up and the passes: a temperature rounded to float32
// would move every argument by up to |x/T|·2^-24 (5e-6 relative at |x/T| = 87).

// The kernels' scratch `tmp` (per call, per thread: never static memory, which the
// pool's threads share): the setup's four vectors, then a group's outputs, then tiles.
export const T_B = 0, T_MAGIC = 16, T_CUT = 32, T_LIFT = 48; // setup
export const T_NAN = 64, T_SUM = 80, T_ONES = 96; // a tile's NaN lanes, sums (all, or rest), counts at the maximum
export const T_TILE = 128; // the tile (and, past it, a second one)

/** Lanes whose value is finite (all ones). */
// @ts-ignore: decorator
@inline export function finiteF32x4(v: v128): v128 {
  return f32x4.lt(f32x4.abs(v), f32x4.splat(Infinity));
}

// @ts-ignore: decorator
@inline export function setupF32(m: v128, T: f64, tmp: usize): void {
  const mf = v128.and(m, finiteF32x4(m)); // not finite: 0
  // (m·(1/T), not m/T, which is a division: where the two round apart, k may differ by one
  // or a row with |m/T| ≈ 176 take the other reduction; either gives E and its scale alike)
  const q = f32x4.mul(mf, f32x4.splat(<f32>(1.0 / T)));
  const near = f32x4.lt(f32x4.abs(q), f32x4.splat(176));
  const k = f32x4.sub(v128.and(f32x4.floor(f32x4.mul(q, f32x4.splat(<f32>LOG2E))), near), f32x4.splat(1));
  const mb = v128.and(mf, near); // m − b
  v128.store(tmp, v128.andnot(mf, near), T_B);
  v128.store(tmp, f32x4.sub(f32x4.splat(12583039.0), k), T_MAGIC);
  // (x − m)/T below ln FLT_MIN − 0.01: 0 (a hundredth to spare for the rounding of m − b + T·…)
  const cut = f32x4.add(mb, f32x4.splat(<f32>(T * (LN_FLT_MIN - 0.01))));
  v128.store(tmp, cut, T_CUT);
  v128.store(tmp, cut, T_LIFT); // (= the cut-off: see math.ts)
}

// ---------------------------------------------------------------------------------
// float32 vector helpers
// ---------------------------------------------------------------------------------

/** Lanes [0, r) of a vector set (r in 1…4; 4: all). */
// @ts-ignore: decorator
@inline export function laneMask(r: i32): v128 {
  return i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(r));
}

/** Stores lanes [0, r) of v at p (r in 1…4). */
// @ts-ignore: decorator
@inline export function storeLanesF32(p: usize, v: v128, r: i32): void {
  if (r == 4) {
    v128.store(p, v);
    return;
  }
  v128.store32_lane(p, v, 0);
  if (r > 1) v128.store32_lane(p, v, 1, 4);
  if (r > 2) v128.store32_lane(p, v, 2, 8);
}

/** The vector at p with lanes beyond r set to v (a wide row's last, partial vector). */
// @ts-ignore: decorator
@inline export function loadLastF32(p: usize, r: i32, fill: v128): v128 {
  return v128.bitselect(v128.load(p), fill, laneMask(r));
}

/** Max of a wide float32 row (pmax: NaN never wins; see `hasNaNF32`), splatted. */
export function rowMaxF32(x: usize, n: i32): v128 {
  const ninf = f32x4.splat(-Infinity);
  let m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = x + (<usize>i << 2);
    m0 = f32x4.pmax(m0, v128.load(p));
    m1 = f32x4.pmax(m1, v128.load(p, 16));
    m2 = f32x4.pmax(m2, v128.load(p, 32));
    m3 = f32x4.pmax(m3, v128.load(p, 48));
  }
  for (; i + 4 <= n; i += 4) m0 = f32x4.pmax(m0, v128.load(x + (<usize>i << 2)));
  if (i < n) m1 = f32x4.pmax(m1, loadLastF32(x + (<usize>i << 2), n - i, ninf));
  return f32x4.splat(maxLanesF32x4(f32x4.pmax(f32x4.pmax(m0, m1), f32x4.pmax(m2, m3))));
}

/** True when the row holds a NaN (asked only of rows whose maximum is not finite). */
export function hasNaNF32(x: usize, n: i32): bool {
  for (let i = 0; i < n; i++) if (isNaN(load<f32>(x + (<usize>i << 2)))) return true;
  return false;
}

// ---------------------------------------------------------------------------------
// float32 wide rows: the exponential pass
// ---------------------------------------------------------------------------------

/** Set by `expPassF32`: Σ E over the row (float64), and over the entries below m (`rest`), and their count at m. */
export let passSum: f64 = 0;
export let passRest: f64 = 0;
export let passOnes: i32 = 0;

/**
 * One pass of E over a wide row (setup done): stores E to `dst` when dst ≠ 0 (dst may be
 * x), and sums it — all of it (`passSum`), or, with `split`, apart for the entries equal
 * to m (`passOnes`, `passRest`, as float64 sums of E: the caller divides by E(m)).
 * Inlined at its four calls, where `split` is a constant, and so are `dst` = 0 and T = 1 at
 * log-sum-exp's (T = 1 at the loss's): the loop keeps only the branches its call takes,
 * and skips the ·1/T where T = 1.
 */
// @ts-ignore: decorator
@inline export function expPassF32(x: usize, n: i32, m: v128, T: f64, dst: usize, split: bool, tmp: usize): void {
  const b = v128.load(tmp, T_B), magic = v128.load(tmp, T_MAGIC), cut = v128.load(tmp, T_CUT), lift = v128.load(tmp, T_LIFT);
  const k = f32x4.splat(<f32>(LOG2E / T)), invT = f32x4.splat(<f32>(1.0 / T));
  const c1 = negLn2HiF32x4(T), c2 = negLn2LoF32x4(T);
  const p1 = k32(F_P1), p2 = k32(F_P2), p3 = k32(F_P3), p4 = k32(F_P4), p5 = k32(F_P5), one = k32(F_ONE);
  const zero = f32x4.splat(0);
  let hi = f64x2.splat(0), lo = hi;
  let cnt = i32x4.splat(0);
  let i = 0;
  while (i + 16 <= n) {
    const end = min(i + 128, n & ~15);
    let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
    for (; i < end; i += 16) {
      const p = x + (<usize>i << 2);
      const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
      const e0 = expF32x4(v0, b, k, magic, c1, c2, invT, cut, lift, p1, p2, p3, p4, p5, one, T == 1);
      const e1 = expF32x4(v1, b, k, magic, c1, c2, invT, cut, lift, p1, p2, p3, p4, p5, one, T == 1);
      const e2 = expF32x4(v2, b, k, magic, c1, c2, invT, cut, lift, p1, p2, p3, p4, p5, one, T == 1);
      const e3 = expF32x4(v3, b, k, magic, c1, c2, invT, cut, lift, p1, p2, p3, p4, p5, one, T == 1);
      if (dst) {
        const d = dst + (<usize>i << 2);
        v128.store(d, e0);
        v128.store(d, e1, 16);
        v128.store(d, e2, 32);
        v128.store(d, e3, 48);
      }
      if (split) {
        // x = m rather than E = E(m): known before E is, so the sum waits for one operation less
        const t0 = f32x4.eq(v0, m), t1 = f32x4.eq(v1, m), t2 = f32x4.eq(v2, m), t3 = f32x4.eq(v3, m);
        cnt = i32x4.sub(i32x4.sub(cnt, i32x4.add(t0, t1)), i32x4.add(t2, t3));
        a0 = f32x4.add(a0, v128.andnot(e0, t0));
        a1 = f32x4.add(a1, v128.andnot(e1, t1));
        a2 = f32x4.add(a2, v128.andnot(e2, t2));
        a3 = f32x4.add(a3, v128.andnot(e3, t3));
      } else {
        a0 = f32x4.add(a0, e0);
        a1 = f32x4.add(a1, e1);
        a2 = f32x4.add(a2, e2);
        a3 = f32x4.add(a3, e3);
      }
    }
    const block = widenF32x4(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
    lo = twoSumLoF64x2(hi, block, lo);
    hi = f64x2.add(hi, block);
  }
  // the last vectors, the final one partial (its lanes beyond n read as −Infinity: E = 0)
  let a = zero;
  const ninf = f32x4.splat(-Infinity);
  for (; i < n; i += 4) {
    const r = min(n - i, 4);
    const p = x + (<usize>i << 2);
    const v = r == 4 ? v128.load(p) : loadLastF32(p, r, ninf);
    const e = expF32x4(v, b, k, magic, c1, c2, invT, cut, lift, p1, p2, p3, p4, p5, one);
    if (dst) storeLanesF32(dst + (<usize>i << 2), e, r);
    if (split) {
      const t = f32x4.eq(v, m);
      cnt = i32x4.sub(cnt, t);
      a = f32x4.add(a, v128.andnot(e, t));
    } else a = f32x4.add(a, e);
  }
  const last = widenF32x4(a);
  lo = twoSumLoF64x2(hi, last, lo);
  hi = f64x2.add(hi, last);
  const total = sumLanesF64x2(hi) + sumLanesF64x2(lo);
  if (split) {
    passRest = total;
    passOnes = i32x4.extract_lane(cnt, 0) + i32x4.extract_lane(cnt, 1) + i32x4.extract_lane(cnt, 2) + i32x4.extract_lane(cnt, 3);
  } else passSum = total;
}

/** E(m) for a splatted row maximum (setup done): the row's `scale` (see the top). */
export function expOfF32(m: v128, T: f64, tmp: usize): v128 {
  return expF32x4(m, v128.load(tmp, T_B), f32x4.splat(<f32>(LOG2E / T)), v128.load(tmp, T_MAGIC), negLn2HiF32x4(T),
    negLn2LoF32x4(T), f32x4.splat(<f32>(1.0 / T)), v128.load(tmp, T_CUT), v128.load(tmp, T_LIFT),
    k32(F_P1), k32(F_P2), k32(F_P3), k32(F_P4), k32(F_P5), k32(F_ONE));
}

/** dst[i] = x[i]·c over a wide float32 row (in place when dst = x). */
export function scaleRowF32(x: usize, n: i32, c: f32, dst: usize): void {
  const vc = f32x4.splat(c);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = x + (<usize>i << 2), d = dst + (<usize>i << 2);
    v128.store(d, f32x4.mul(v128.load(p), vc));
    v128.store(d, f32x4.mul(v128.load(p, 16), vc), 16);
    v128.store(d, f32x4.mul(v128.load(p, 32), vc), 32);
    v128.store(d, f32x4.mul(v128.load(p, 48), vc), 48);
  }
  for (; i < n; i += 4) storeLanesF32(dst + (<usize>i << 2), f32x4.mul(v128.load(x + (<usize>i << 2)), vc), min(n - i, 4));
}

export function fillF32(dst: usize, n: i32, v: f32): void {
  for (let i = 0; i < n; i++) store<f32>(dst + (<usize>i << 2), v);
}

/** log(ones + rest), with log1p when a single maximal entry makes S ≈ 1. */
// @ts-ignore: decorator
@inline export function logOnesPlus(ones: f64, rest: f64): f64 {
  return ones == 1 ? Math.log1p(rest) : Math.log(ones + rest);
}

/** Writes a row's parts (m, ones, rest) to aux when asked. */
// @ts-ignore: decorator
@inline export function putAux(aux: usize, r: i32, k: i32, a: f64, b: f64, c: f64): void {
  if (aux) {
    const p = aux + (<usize>(r * k) << 3);
    store<f64>(p, a);
    store<f64>(p, b, 8);
    store<f64>(p, c, 16);
  }
}

// ---------------------------------------------------------------------------------
// float32 narrow rows: four rows a tile
// ---------------------------------------------------------------------------------

/**
 * Gathers entry j of rows r0…r0+3 (of `cols`, from x; the callers tile whole groups only,
 * so all four exist) into tile vector j.  Returns the lanes' maxima; the lanes holding a
 * NaN go to T_NAN.
 */
export function gatherF32(x: usize, r0: i32, cols: i32, tmp: usize): v128 {
  const tile = tmp + T_TILE;
  const row = <usize>cols << 2;
  const q0 = x + <usize>r0 * row, q1 = q0 + row, q2 = q1 + row, q3 = q2 + row;
  let m = f32x4.splat(-Infinity), nan = i32x4.splat(0);
  let j = 0;
  if (cols == 2) {
    // four rows of two: two vectors, split into the even and the odd entries
    const a = v128.load(q0), b = v128.load(q0, 16);
    const v0 = i32x4.shuffle(a, b, 0, 2, 4, 6), v1 = i32x4.shuffle(a, b, 1, 3, 5, 7);
    v128.store(tile, v0);
    v128.store(tile, v1, 16);
    v128.store(tmp, v128.or(f32x4.ne(v0, v0), f32x4.ne(v1, v1)), T_NAN);
    return f32x4.pmax(f32x4.pmax(m, v0), v1);
  }
  // four entries of each row at a time, transposed (`transpose4`: eight shuffles where
  // lane loads take twelve inserts); the maximum still taken entry by entry, in order
  // (pmax of ±0 depends on it)
  for (; j + 4 <= cols; j += 4) {
    const o = <usize>j << 2, p = tile + (<usize>j << 4);
    transpose4(v128.load(q0 + o), v128.load(q1 + o), v128.load(q2 + o), v128.load(q3 + o), p, 16);
    const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
    m = f32x4.pmax(f32x4.pmax(f32x4.pmax(f32x4.pmax(m, v0), v1), v2), v3);
    nan = v128.or(nan, v128.or(v128.or(f32x4.ne(v0, v0), f32x4.ne(v1, v1)), v128.or(f32x4.ne(v2, v2), f32x4.ne(v3, v3))));
  }
  for (; j < cols; j++) {
    const o = <usize>j << 2;
    let v = v128.load32_zero(q0 + o);
    v = v128.load32_lane(q1 + o, v, 1);
    v = v128.load32_lane(q2 + o, v, 2);
    v = v128.load32_lane(q3 + o, v, 3);
    v128.store(tile + (<usize>j << 4), v);
    m = f32x4.pmax(m, v);
    nan = v128.or(nan, f32x4.ne(v, v));
  }
  v128.store(tmp, nan, T_NAN);
  return m;
}

/** The 4×4 transpose of a, b, c, d: lane i of the J-th vector stored (at p + J·stride) is lane J of the i-th argument. */
// @ts-ignore: decorator
@inline function transpose4(a: v128, b: v128, c: v128, d: v128, p: usize, stride: usize): void {
  const ab0 = i32x4.shuffle(a, b, 0, 4, 1, 5), cd0 = i32x4.shuffle(c, d, 0, 4, 1, 5);
  const ab1 = i32x4.shuffle(a, b, 2, 6, 3, 7), cd1 = i32x4.shuffle(c, d, 2, 6, 3, 7);
  v128.store(p, i32x4.shuffle(ab0, cd0, 0, 1, 4, 5));
  v128.store(p + stride, i32x4.shuffle(ab0, cd0, 2, 3, 6, 7));
  v128.store(p + 2 * stride, i32x4.shuffle(ab1, cd1, 0, 1, 4, 5));
  v128.store(p + 3 * stride, i32x4.shuffle(ab1, cd1, 2, 3, 6, 7));
}

/** Writes lane i of tile vector j to entry j of row r0 + i (the four rows of `gatherF32`). */
export function scatterF32(tile: usize, r0: i32, cols: i32, dst: usize): void {
  const row = <usize>cols << 2;
  const q = dst + <usize>r0 * row;
  let j = 0;
  if (cols == 2) {
    // four rows of two: the entries interleaved back into two vectors
    const v0 = v128.load(tile), v1 = v128.load(tile, 16);
    v128.store(q, i32x4.shuffle(v0, v1, 0, 4, 1, 5));
    v128.store(q, i32x4.shuffle(v0, v1, 2, 6, 3, 7), 16);
    return;
  }
  // four entries of each row at a time, transposed back
  for (; j + 4 <= cols; j += 4) {
    const p = tile + (<usize>j << 4), o = q + (<usize>j << 2);
    transpose4(v128.load(p), v128.load(p, 16), v128.load(p, 32), v128.load(p, 48), o, row);
  }
  for (; j < cols; j++) {
    const v = v128.load(tile + (<usize>j << 4));
    const o = q + (<usize>j << 2);
    v128.store32_lane(o, v, 0);
    v128.store32_lane(o + row, v, 1);
    v128.store32_lane(o + 2 * row, v, 2);
    v128.store32_lane(o + 3 * row, v, 3);
  }
}

/**
 * E over a tile, its parameters given (`tileSumAtF32`), summed per lane — all of it or,
 * with `split`, apart for the entries equal to the lane's maximum (at T_SUM, and their
 * counts at T_ONES as floats) — and, with `store`, stored to `dst` (a tile; may be the
 * same).  Four accumulators: each lane adds ≤ 16 terms.
 */
// @ts-ignore: decorator
@inline export function tileSumF32(tile: usize, cols: i32, m: v128, b: v128, k: v128, magic: v128, c1: v128, c2: v128, invT: v128, cut: v128,
  p1: v128, p2: v128, p3: v128, p4: v128, p5: v128, one: v128, unit: bool, dst: usize, store: bool, split: bool, tmp: usize): void {
  const lift = cut;
  const zero = f32x4.splat(0);
  let a0 = zero, a1 = zero, a2 = zero, a3 = zero, cnt = i32x4.splat(0);
  let j = 0;
  // four columns a step, each into its accumulator (column j into a_(j mod 4), in order,
  // as the loop below): four independent exponentials, no branch per column
  for (; j + 4 <= cols; j += 4) {
    const o = <usize>j << 4, p = tile + o, q = dst + o;
    const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
    const e0 = expF32x4(v0, b, k, magic, c1, c2, invT, cut, lift, p1, p2, p3, p4, p5, one, unit);
    const e1 = expF32x4(v1, b, k, magic, c1, c2, invT, cut, lift, p1, p2, p3, p4, p5, one, unit);
    const e2 = expF32x4(v2, b, k, magic, c1, c2, invT, cut, lift, p1, p2, p3, p4, p5, one, unit);
    const e3 = expF32x4(v3, b, k, magic, c1, c2, invT, cut, lift, p1, p2, p3, p4, p5, one, unit);
    if (store) {
      v128.store(q, e0);
      v128.store(q, e1, 16);
      v128.store(q, e2, 32);
      v128.store(q, e3, 48);
    }
    if (split) {
      const t0 = f32x4.eq(v0, m), t1 = f32x4.eq(v1, m), t2 = f32x4.eq(v2, m), t3 = f32x4.eq(v3, m);
      a0 = f32x4.add(a0, v128.andnot(e0, t0));
      a1 = f32x4.add(a1, v128.andnot(e1, t1));
      a2 = f32x4.add(a2, v128.andnot(e2, t2));
      a3 = f32x4.add(a3, v128.andnot(e3, t3));
      cnt = i32x4.sub(i32x4.sub(cnt, i32x4.add(t0, t1)), i32x4.add(t2, t3));
    } else {
      a0 = f32x4.add(a0, e0);
      a1 = f32x4.add(a1, e1);
      a2 = f32x4.add(a2, e2);
      a3 = f32x4.add(a3, e3);
    }
  }
  for (; j < cols; j++) {
    const o = <usize>j << 4;
    const v = v128.load(tile + o);
    const e = expF32x4(v, b, k, magic, c1, c2, invT, cut, lift, p1, p2, p3, p4, p5, one, unit);
    if (store) v128.store(dst + o, e);
    const term = split ? v128.andnot(e, f32x4.eq(v, m)) : e;
    if (split) cnt = i32x4.sub(cnt, f32x4.eq(v, m));
    const w = j & 3;
    if (w == 0) a0 = f32x4.add(a0, term);
    else if (w == 1) a1 = f32x4.add(a1, term);
    else if (w == 2) a2 = f32x4.add(a2, term);
    else a3 = f32x4.add(a3, term);
  }
  const s = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
  v128.store(tmp, s, T_SUM);
  if (split) v128.store(tmp, f32x4.convert_i32x4_s(cnt), T_ONES);
}

/**
 * A tile's exponentials (`tileSumF32`), inlined in a caller's tile loop: E's parameters
 * (setupF32's values) formed in registers from the lanes' maxima m; returns the scale E(m).
 * The constants that depend on T (k, invT, c1, c2 and cutT, the cut-off's
 * T·(ln FLT_MIN − 0.01)) are formed by the caller before its loop (`unit`: T = 1, known):
 * at a few columns a tile, a call and a set-up a tile, with its divisions, cost as much as
 * the tile's exponentials.
 */
// @ts-ignore: decorator
@inline export function tileSumAtF32(tile: usize, cols: i32, m: v128, k: v128, invT: v128, c1: v128, c2: v128, cutT: v128, unit: bool,
  dst: usize, store: bool, split: bool, tmp: usize): v128 {
  const p1 = k32(F_P1), p2 = k32(F_P2), p3 = k32(F_P3), p4 = k32(F_P4), p5 = k32(F_P5), one = k32(F_ONE);
  const mf = v128.and(m, finiteF32x4(m)); // (as setupF32: not finite, 0)
  const q = unit ? mf : f32x4.mul(mf, invT);
  const near = f32x4.lt(f32x4.abs(q), k32(F_FAR));
  const magic = f32x4.sub(k32(F_MAGIC), f32x4.sub(v128.and(f32x4.floor(f32x4.mul(q, k32(F_LOG2E))), near), one));
  const b = v128.andnot(mf, near), cut = f32x4.add(v128.and(mf, near), cutT);
  tileSumF32(tile, cols, m, b, k, magic, c1, c2, invT, cut, p1, p2, p3, p4, p5, one, unit, dst, store, split, tmp);
  return expF32x4(m, b, k, magic, c1, c2, invT, cut, cut, p1, p2, p3, p4, p5, one, unit);
}

/** `tileSumAtF32` at T = 1 (log-sum-exp's and the loss's), split. */
// @ts-ignore: decorator
@inline export function tileSumUnitF32(tile: usize, cols: i32, m: v128, dst: usize, store: bool, tmp: usize): v128 {
  return tileSumAtF32(tile, cols, m, k32(F_LOG2E), k32(F_ONE), v128.load32_splat(UNIT), v128.load32_splat(UNIT, 4), v128.load32_splat(UNIT, 8),
    true, dst, store, true, tmp);
}

/** log(ones + rest) in float32 lanes, accurate near 0 (the log's fNear is (ones − 1) + rest, exact for ones = 1). */
export function logOnesPlusF32x4(ones: v128, rest: v128): v128 {
  return logPartsF32x4(f32x4.add(ones, rest), f32x4.add(f32x4.sub(ones, k32(F_ONE)), rest));
}

/** log S in float32 lanes from S = ones + rest and its accurate S − 1 = (ones − 1) + rest. */
// @ts-ignore: decorator
@inline export function logPartsF32x4(s: v128, near1: v128): v128 {
  return logF32x4(s, near1, i32k(I_LOG_SHIFT), i32k(I_MANT), i32k(I_SQRT_HALF), i32k(I_127), k32(F_ONE), k32(F_HALF), k32(F_LN2_HI), k32(F_LN2_LO),
    k32(F_Q0), k32(F_Q0 + 1), k32(F_Q0 + 2), k32(F_Q0 + 3), k32(F_Q0 + 4), k32(F_Q0 + 5), k32(F_Q0 + 6), k32(F_Q0 + 7));
}

/** Lanes of a tile's rows that are masked (maximum −Infinity, no NaN): their mass is 0. */
// @ts-ignore: decorator
@inline export function maskedLanesF32(m: v128, tmp: usize): v128 {
  return v128.andnot(f32x4.eq(m, f32x4.splat(-Infinity)), v128.load(tmp, T_NAN));
}

/**
 * out[r…r+g) = m + ls in float64 (the first g of four lanes), or the special value sv where
 * `special` (float32 lane masks): there sv + 0 is formed, which is sv (sv is ±Infinity or NaN).
 */
// @ts-ignore: decorator
@inline export function storeLogSumsF64(out: usize, r: i32, g: i32, m: v128, ls: v128, sv: v128, special: v128): void {
  const a = v128.bitselect(sv, m, special), b = v128.andnot(ls, special);
  storeRowsF64(out, r, g, f64x2.add(f64x2.promote_low_f32x4(a), f64x2.promote_low_f32x4(b)), f64x2.add(promoteHighF32x4(a), promoteHighF32x4(b)));
}

/** out[r…r+g) = the first g of the four float64 lanes lo, hi (g in 1…4). */
// @ts-ignore: decorator
@inline export function storeRowsF64(out: usize, r: i32, g: i32, lo: v128, hi: v128): void {
  const o = out + (<usize>r << 3);
  if (g == 4) {
    v128.store(o, lo);
    v128.store(o, hi, 16);
    return;
  }
  v128.store64_lane(o, lo, 0);
  if (g > 1) v128.store64_lane(o, lo, 1, 8);
  if (g > 2) v128.store64_lane(o, hi, 0, 16);
}

// ---------------------------------------------------------------------------------
// float64 rows of two entries: two rows a step, in registers
// ---------------------------------------------------------------------------------

// What `twoRowsF64` computes (and softmax.ts's `twoRowsF32`: the first three).
export const TWO_LSE = 0, TWO_LOG_SOFTMAX = 1, TWO_ENTROPY = 2, TWO_SOFTMAX = 3, TWO_LOSS = 4;

/**
 * Float64 rows of two entries at T = 1, `rows` a multiple of 2, two rows a step in the
 * two lanes: with m the row's maximum, a the other entry and e = exp(a − m) (a − m
 * rounded, its rounding error lo carried as e·(1 + lo), as float32's `expDiffF32x4`
 * carries it: a rounded a − m of −700 is off by up to 2^-44 absolute, which e would take
 * as a relative error), log S = log1p(e) —
 * one exponential and one log a row, where the tiles take three exponentials and a log
 * (the sigmoid family's exp and log1p, math.ts).  `what`:
 *   TWO_LSE, out[r] = m + log S;
 *   TWO_LOG_SOFTMAX, out[r, j] = (x_j − m) − log S;
 *   TWO_SOFTMAX, the maximum's 1/(1 + e) and the other's e/(1 + e);
 *   TWO_ENTROPY, out[r] = log S − (a − m)·p_a, p_a = e/(1 + e), and when `grad` is not 0
 *     the gradient −p·(log p + H) times `gscale`: p_m·p_a·(a − m) at the maximum, its
 *     negative at the other entry;
 *   TWO_LOSS (`labels`; no weights or smoothing), out[r] = log S − (z_y − m), and the
 *     gradient ±gscale·p' with p' the probability of the class that is not y (no
 *     cancellation in p_y − 1 = −p'); an ignored row (y < 0) 0.
 * Special rows as the tiles': masked rows −Infinity (log-sum-exp, logSoftmax), 0 (softmax,
 * the entropy and its gradient); rows with +Infinity or NaN NaN (log-sum-exp of +Infinity:
 * +Infinity); the loss of a row with no defined softmax NaN.
 */
export function twoRowsF64(x: usize, labels: usize, rows: i32, out: usize, what: i32, grad: usize, gscale: f64): void {
  const log2e = sg64(SD_LOG2E), magic = sg64(SD_MAGIC), c1 = sg64(SD_NLN2_HI), c2 = sg64(SD_NLN2_LO), cut = sg64(SD_CUT), ntiny = sg64(SD_NTINY), one = sg64(SD_ONE);
  const p0 = sg64(SD_P0), p1 = sg64(SD_P0 + 1), p2 = sg64(SD_P0 + 2), p3 = sg64(SD_P0 + 3), p4 = sg64(SD_P0 + 4);
  const p5 = sg64(SD_P0 + 5), p6 = sg64(SD_P0 + 6), p7 = sg64(SD_P0 + 7), p8 = sg64(SD_P0 + 8), p9 = sg64(SD_P0 + 9);
  const two = sg64(SD_TWO), half = sg64(SD_HALF), nhalf = sg64(SD_NHALF), tiny = sg64(SD_TINY), lnHi = sg64(SD_LN2_HI), lnLo = sg64(SD_LN2_LO);
  const r0 = sg64(SD_R0), r1 = sg64(SD_R0 + 1), r2 = sg64(SD_R0 + 2), r3 = sg64(SD_R0 + 3), r4 = sg64(SD_R0 + 4), r5 = sg64(SD_R0 + 5), r6 = sg64(SD_R0 + 6);
  const zero = sg64(SD_ZERO), gs = f64x2.splat(gscale);
  for (let r = 0; r < rows; r += 2) {
    const ninf = f64x2.splat(-Infinity), inf = f64x2.splat(Infinity), nanv = f64x2.splat(NaN);
    const q = x + (<usize>r << 4), o = <usize>r << 4;
    const a = v128.load(q), b = v128.load(q, 16);
    const v0 = i64x2.shuffle(a, b, 0, 2), v1 = i64x2.shuffle(a, b, 1, 3);
    const nan = v128.or(f64x2.ne(v0, v0), f64x2.ne(v1, v1));
    const m = f64x2.pmax(f64x2.pmax(ninf, v0), v1);
    const top = f64x2.eq(v0, m), other = v128.bitselect(v1, v0, top);
    // a − m and its rounding error (TwoSum; 0 where not finite): e = exp(d)·(1 + lo)
    const d = f64x2.sub(other, m), bb = f64x2.sub(d, other);
    let lo = f64x2.add(f64x2.sub(other, f64x2.sub(d, bb)), f64x2.sub(f64x2.sub(zero, m), bb));
    lo = v128.and(lo, f64x2.lt(f64x2.abs(lo), inf));
    let e = expNonPosF64x2(d, log2e, magic, c1, c2, cut, ntiny, one, p0, p1, p2, p3, p4, p5, p6, p7, p8, p9);
    e = madd64(e, lo, e);
    const finite = f64x2.lt(f64x2.abs(m), inf);
    const masked = v128.andnot(f64x2.eq(m, ninf), nan);
    const bad = v128.andnot(v128.or(v128.not(finite), nan), masked);
    if (what == TWO_SOFTMAX) {
      const pm = f64x2.div(one, f64x2.add(one, e)), po = f64x2.mul(e, pm);
      const fill = v128.and(bad, nanv), dead = v128.or(bad, masked);
      const s0 = v128.bitselect(fill, v128.bitselect(pm, po, top), dead), s1 = v128.bitselect(fill, v128.bitselect(po, pm, top), dead);
      storePairsF64(out + o, s0, s1);
      continue;
    }
    const ls = log1pUnitF64x2(e, two, half, nhalf, tiny, lnHi, lnLo, r0, r1, r2, r3, r4, r5, r6);
    if (what == TWO_LSE) {
      // NaN rows NaN, the others whose maximum is not finite (±Infinity, masked) their maximum
      const special = v128.or(v128.not(finite), nan);
      v128.store(out + (<usize>r << 3), v128.bitselect(v128.bitselect(nanv, m, nan), f64x2.add(m, ls), special));
    } else if (what == TWO_LOG_SOFTMAX) {
      const w0 = v128.bitselect(ninf, v128.or(f64x2.sub(f64x2.sub(v0, m), ls), v128.and(bad, nanv)), masked);
      const w1 = v128.bitselect(ninf, v128.or(f64x2.sub(f64x2.sub(v1, m), ls), v128.and(bad, nanv)), masked);
      storePairsF64(out + o, w0, w1);
    } else if (what == TWO_ENTROPY) {
      // log S + |a − m|·p_a, both terms ≥ 0 (p_a = 0 drops a masked a's term)
      const pa = f64x2.div(e, f64x2.add(one, e));
      const held = f64x2.eq(pa, zero);
      const h = f64x2.sub(ls, v128.andnot(f64x2.mul(d, pa), held));
      v128.store(out + (<usize>r << 3), v128.or(v128.andnot(h, masked), v128.and(bad, nanv)));
      if (grad) {
        // (0 where p_a = 0: not 0·(−Infinity); 0 on masked rows, NaN on bad ones; both maxima: 0)
        let w = v128.andnot(f64x2.mul(f64x2.mul(f64x2.mul(pa, f64x2.div(one, f64x2.add(one, e))), d), gs), held);
        w = v128.or(v128.andnot(w, masked), v128.and(bad, nanv));
        const nw = f64x2.sub(zero, w);
        storePairsF64(grad + o, v128.bitselect(w, nw, top), v128.bitselect(nw, w, top));
      }
    } else {
      const y0 = load<i32>(labels + (<usize>r << 2)), yb = load<i32>(labels + (<usize>(r + 1) << 2));
      const y = i64x2.replace_lane(i64x2.splat(<i64>y0), 1, <i64>yb);
      const ignored = i64x2.lt_s(y, zero), y1 = i64x2.eq(y, i64x2.splat(1));
      const zy = v128.andnot(v128.bitselect(v1, v0, y1), ignored); // (0 where ignored)
      const dead = v128.or(ignored, v128.or(v128.not(finite), nan)); // (a masked row's loss is NaN too)
      v128.store(out + (<usize>r << 3), v128.andnot(v128.or(f64x2.sub(ls, f64x2.sub(zy, m)), v128.and(dead, nanv)), ignored));
      if (grad) {
        const rs = f64x2.div(one, f64x2.add(one, e));
        const gn = f64x2.mul(v128.bitselect(f64x2.mul(e, rs), rs, f64x2.eq(zy, m)), gs); // g·p'
        const gy = f64x2.sub(zero, gn);
        const fill = v128.andnot(nanv, ignored); // NaN where the row is bad, 0 where ignored
        storePairsF64(grad + o, v128.bitselect(fill, v128.bitselect(gn, gy, y1), dead), v128.bitselect(fill, v128.bitselect(gy, gn, y1), dead));
      }
    }
  }
}

// ---------------------------------------------------------------------------------
// float64 rows of four entries: two rows a step, in registers
// ---------------------------------------------------------------------------------

// float64 entries are lifted this many T below m for the entropy's t (not 100: E is
// normal down to ln DBL_MIN)
export const F64_FLOOR: f64 = 800;

/**
 * Float64 rows of four entries, `rows` a multiple of 2: the tiles' computation
 * (gatherF64, tileSumAtF64 and the kernels' tile loops) with the same values bit for bit,
 * on two rows a step transposed in registers — at four columns the tile's round trips
 * through `tmp`, its call and E(m), which here is picked from the entries at m (the same
 * function of the same bits), cost as much as the arithmetic.  `what`, as `twoRowsF64`'s
 * (T any, but TWO_LSE and TWO_LOSS only at T = 1, which their kernels pass):
 *   TWO_LSE, out[r] = m + log S;
 *   TWO_SOFTMAX, out[r, j] = E_j/S;
 *   TWO_LOG_SOFTMAX, out[r, j] = (x_j − m)·(1/T) − log S;
 *   TWO_ENTROPY, out[r] = log S − A'/S' and, when `grad` is not 0, −p·(log p + H)/T times
 *     `gscale` there (softmaxEntropyNarrowF64's values);
 *   TWO_LOSS, out[r] = log S − (z_y − m) (int32 `labels`, negative = ignored) and, when
 *     `grad` is not 0, its gradient times `gscale` there (labelsNarrowF64's values without
 *     weights or smoothing).
 * Special rows as the tiles'.
 */
export function fourRowsF64(x: usize, labels: usize, rows: i32, T: f64, out: usize, what: i32, grad: usize, gscale: f64): void {
  expConstsF64(T);
  const unit = T == 1;
  const k = f64x2.splat(dK), invT = f64x2.splat(dInvT), c1 = f64x2.splat(dC1), c2 = f64x2.splat(dC2), cutT = f64x2.splat(dCutT);
  const vT = f64x2.splat(T), floorT = f64x2.splat(F64_FLOOR * T), gs = f64x2.splat(gscale), gb = f64x2.mul(f64x2.splat(0), gs);
  const split = what != TWO_SOFTMAX;
  for (let r = 0; r < rows; r += 2) {
    const one = k64(D_ONE), zero = f64x2.splat(0), ninf = f64x2.splat(-Infinity), nanv = f64x2.splat(NaN);
    const q0 = k64(D_P0), q1 = k64(D_P0 + 1), q2 = k64(D_P0 + 2), q3 = k64(D_P0 + 3), q4 = k64(D_P0 + 4);
    const q5 = k64(D_P0 + 5), q6 = k64(D_P0 + 6), q7 = k64(D_P0 + 7), q8 = k64(D_P0 + 8), q9 = k64(D_P0 + 9);
    // lane i of v_j is entry j of row r + i (gatherF64's tile), the maximum in entry order
    const p = x + (<usize>r << 5);
    const a0 = v128.load(p), a1 = v128.load(p, 16), b0 = v128.load(p, 32), b1 = v128.load(p, 48);
    const v0 = i64x2.shuffle(a0, b0, 0, 2), v1 = i64x2.shuffle(a0, b0, 1, 3);
    const v2 = i64x2.shuffle(a1, b1, 0, 2), v3 = i64x2.shuffle(a1, b1, 1, 3);
    const m = f64x2.pmax(f64x2.pmax(f64x2.pmax(f64x2.pmax(ninf, v0), v1), v2), v3);
    const nan = v128.or(v128.or(f64x2.ne(v0, v0), f64x2.ne(v1, v1)), v128.or(f64x2.ne(v2, v2), f64x2.ne(v3, v3)));
    // tileSumAtF64's set-up
    const mf = v128.and(m, finiteF64x2(m));
    const qm = unit ? mf : f64x2.div(mf, vT);
    const near = f64x2.lt(f64x2.abs(qm), f64x2.splat(1420));
    const magic = f64x2.sub(k64(D_MAGIC), f64x2.sub(v128.and(f64x2.floor(f64x2.mul(qm, k64(D_LOG2E))), near), one));
    const b = v128.andnot(mf, near), cut = f64x2.add(v128.and(mf, near), cutT);
    const e0 = expF64x2(v0, b, k, magic, c1, c2, invT, cut, cut, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9);
    const e1 = expF64x2(v1, b, k, magic, c1, c2, invT, cut, cut, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9);
    const e2 = expF64x2(v2, b, k, magic, c1, c2, invT, cut, cut, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9);
    const e3 = expF64x2(v3, b, k, magic, c1, c2, invT, cut, cut, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9);
    const bad = v128.or(v128.not(finiteF64x2(m)), nan), masked = v128.andnot(f64x2.eq(m, ninf), nan);
    const o = <usize>r << 5;
    if (!split) {
      // softmax: masked rows 0, the other special rows NaN
      const sum = f64x2.add(f64x2.add(f64x2.add(zero, e0), e2), f64x2.add(f64x2.add(zero, e1), e3));
      let c = f64x2.div(one, sum);
      c = v128.bitselect(zero, v128.or(c, v128.and(nanv, bad)), masked);
      storeRowsOfFourF64(out + o, f64x2.mul(e0, c), f64x2.mul(e1, c), f64x2.mul(e2, c), f64x2.mul(e3, c));
      continue;
    }
    // the entries below the maximum summed (column j into a_(j mod 2)), those at it counted
    const t0 = f64x2.eq(v0, m), t1 = f64x2.eq(v1, m), t2 = f64x2.eq(v2, m), t3 = f64x2.eq(v3, m);
    const rest = f64x2.add(f64x2.add(f64x2.add(zero, v128.andnot(e0, t0)), v128.andnot(e2, t2)), f64x2.add(f64x2.add(zero, v128.andnot(e1, t1)), v128.andnot(e3, t3)));
    const cnt = i64x2.sub(i64x2.sub(i64x2.splat(0), i64x2.add(t0, t1)), i64x2.add(t2, t3));
    const ones = f64x2.convert_low_i32x4_s(i32x4.shuffle(cnt, cnt, 0, 2, 0, 2));
    // E(m): an entry's, picked (a row of only NaN matches none: its results are NaN anyway)
    const scale = v128.or(v128.or(v128.and(e0, t0), v128.and(e1, t1)), v128.or(v128.and(e2, t2), v128.and(e3, t3)));
    const ls = logOnesPlusF64x2(ones, f64x2.div(rest, scale));
    if (what == TWO_LSE) {
      v128.store(out + (<usize>r << 3), v128.bitselect(v128.bitselect(nanv, m, nan), f64x2.add(m, ls), bad));
    } else if (what == TWO_LOG_SOFTMAX) {
      const fill = v128.and(v128.andnot(bad, masked), nanv);
      storeRowsOfFourF64(out + o,
        v128.bitselect(ninf, v128.or(f64x2.sub(f64x2.mul(f64x2.sub(v0, m), invT), ls), fill), masked),
        v128.bitselect(ninf, v128.or(f64x2.sub(f64x2.mul(f64x2.sub(v1, m), invT), ls), fill), masked),
        v128.bitselect(ninf, v128.or(f64x2.sub(f64x2.mul(f64x2.sub(v2, m), invT), ls), fill), masked),
        v128.bitselect(ninf, v128.or(f64x2.sub(f64x2.mul(f64x2.sub(v3, m), invT), ls), fill), masked));
    } else if (what == TWO_ENTROPY) {
      // A' = Σ E·t, t of x lifted to m − 800·T; S' = ones·E(m) + rest
      const floor = f64x2.sub(m, floorT);
      const u0 = f64x2.mul(f64x2.sub(f64x2.pmax(v0, floor), m), invT), u1 = f64x2.mul(f64x2.sub(f64x2.pmax(v1, floor), m), invT);
      const u2 = f64x2.mul(f64x2.sub(f64x2.pmax(v2, floor), m), invT), u3 = f64x2.mul(f64x2.sub(f64x2.pmax(v3, floor), m), invT);
      const a = madd64(e3, u3, madd64(e2, u2, madd64(e1, u1, madd64(e0, u0, zero))));
      const sE = madd64(ones, scale, rest);
      const fill = v128.and(v128.andnot(bad, masked), nanv);
      const h = v128.or(v128.andnot(f64x2.sub(ls, f64x2.div(a, sE)), masked), fill);
      v128.store(out + (<usize>r << 3), h);
      if (grad) {
        const c0 = f64x2.sub(h, ls);
        const c = v128.or(v128.andnot(f64x2.div(f64x2.splat(-gscale), f64x2.mul(sE, vT)), masked), fill);
        // (a fully masked row: 0, where t is −∞ − (−∞))
        storeRowsOfFourF64(grad + o,
          v128.andnot(f64x2.mul(f64x2.mul(e0, c), f64x2.add(u0, c0)), masked), v128.andnot(f64x2.mul(f64x2.mul(e1, c), f64x2.add(u1, c0)), masked),
          v128.andnot(f64x2.mul(f64x2.mul(e2, c), f64x2.add(u2, c0)), masked), v128.andnot(f64x2.mul(f64x2.mul(e3, c), f64x2.add(u3, c0)), masked));
      }
    } else {
      // z_y picked from the row (0 where ignored: no column matches a negative label)
      const ya = load<i32>(labels + (<usize>r << 2)), yb = load<i32>(labels + (<usize>(r + 1) << 2));
      const y = i64x2.replace_lane(i64x2.splat(<i64>ya), 1, <i64>yb);
      const ignored = i64x2.lt_s(y, i64x2.splat(0));
      const y0 = i64x2.eq(y, i64x2.splat(0)), y1 = i64x2.eq(y, i64x2.splat(1)), y2 = i64x2.eq(y, i64x2.splat(2)), y3 = i64x2.eq(y, i64x2.splat(3));
      const zy = v128.or(v128.or(v128.and(v0, y0), v128.and(v1, y1)), v128.or(v128.and(v2, y2), v128.and(v3, y3)));
      const loss = f64x2.sub(ls, v128.andnot(f64x2.sub(zy, m), ignored));
      v128.store(out + (<usize>r << 3), v128.andnot(v128.or(loss, v128.and(bad, nanv)), ignored));
      if (grad) {
        // labelsNarrowF64's coefficients at weight 1, no smoothing (gb = 0·g, as there: its
        // zero's sign): E·(1/S')·g − gb − [y = j]·g; ignored rows 0, special rows NaN
        const ga = f64x2.mul(f64x2.div(one, madd64(ones, scale, rest)), gs);
        const dead = v128.or(ignored, bad), fill = v128.and(v128.andnot(nanv, ignored), bad);
        storeRowsOfFourF64(grad + o,
          v128.bitselect(fill, f64x2.sub(f64x2.sub(f64x2.mul(e0, ga), gb), v128.and(gs, y0)), dead), v128.bitselect(fill, f64x2.sub(f64x2.sub(f64x2.mul(e1, ga), gb), v128.and(gs, y1)), dead),
          v128.bitselect(fill, f64x2.sub(f64x2.sub(f64x2.mul(e2, ga), gb), v128.and(gs, y2)), dead), v128.bitselect(fill, f64x2.sub(f64x2.sub(f64x2.mul(e3, ga), gb), v128.and(gs, y3)), dead));
      }
    }
  }
}

/** Rows r, r + 1 of four entries at p from the columns w0…w3 (row i is lane i of each: transposed back). */
// @ts-ignore: decorator
@inline function storeRowsOfFourF64(p: usize, w0: v128, w1: v128, w2: v128, w3: v128): void {
  v128.store(p, i64x2.shuffle(w0, w1, 0, 2));
  v128.store(p, i64x2.shuffle(w2, w3, 0, 2), 16);
  v128.store(p, i64x2.shuffle(w0, w1, 1, 3), 32);
  v128.store(p, i64x2.shuffle(w2, w3, 1, 3), 48);
}

/** Rows r and r + 1 of two entries from lanes: (s0[0], s1[0]) to p, (s0[1], s1[1]) to p + 16. */
// @ts-ignore: decorator
@inline function storePairsF64(p: usize, s0: v128, s1: v128): void {
  v128.store(p, i64x2.shuffle(s0, s1, 0, 2));
  v128.store(p, i64x2.shuffle(s0, s1, 1, 3), 16);
}

// ---------------------------------------------------------------------------------
// float32 rows of four entries: four rows a step, in registers
// ---------------------------------------------------------------------------------

/**
 * `fourRowsF32`'s (and `tileSumUnitF32`'s) values at T = 1 that the exp's table (math.ts,
 * EXP32: log₂e, 1) has not,
 * as float32 bits — −C1, −C2, the cut-off T·(ln FLT_MIN − 0.01) and the lift 100·T (see
 * `expF32x4`) — and the label compares' 1, 2, 3.  Read from memory before the loop, they stay in a register or a stack slot: V8's
 * TurboFan moves a value computed from constants into the loop when the code using it
 * does not run every step (the group's is skipped at the pipeline's last step), and
 * builds it again there, four instructions a step (`kept` alone keeps binaryen from
 * folding, not V8 from moving).
 */
export const UNIT = memory.data<u32>([0xbf317200, 0xb5bfbe8e, 0xc2aeb16e, 0x42c80000, 1, 2, 3], 16);

// What `fourRowsF32` computes.
export const FOUR_LSE = 0, FOUR_SOFTMAX = 1, FOUR_LOG_SOFTMAX = 2, FOUR_ENTROPY = 3, FOUR_LOSS = 4;

/**
 * Rows of four entries (`cols` = 4; or of two, for FOUR_ENTROPY: their other two columns
 * taken as masked entries, which add exactly 0 to every sum), `rows` a multiple of 4: the
 * tiles' computation (gatherF32, tileSumAtF32 and the kernels' tile loops), with the
 * same values, on four rows a step transposed in registers — at four columns the tiles' calls and their round trips
 * through `tmp` cost as much as the arithmetic.  `what`: FOUR_LSE, out[r] = m + log S
 * (float64; T = 1); FOUR_SOFTMAX, out[r, j] = E_j/S; FOUR_LOG_SOFTMAX, out[r, j] =
 * (x_j − m)/T − log S; FOUR_ENTROPY, out[r] = log S − A'/S' (float64) and, when `grad`
 * is not 0, −p·(log p + H)/T times `gradScale` there (softmaxEntropyNarrowF32's values);
 * FOUR_LOSS, out[r] = log S − (x_y − m) (float64; T = 1, int32
 * `labels`, negative = ignored) and, when `grad` is not 0, its gradient times `gradScale`
 * there: labelsNarrowF32's values without weights or smoothing.  Special rows as the
 * tiles'.
 *
 * A group's maximum, exponentials, sum and log form one chain of dependent operations
 * longer than the core's window for overlapping the next group's, so log S is taken one
 * step late: each step computes a group's S and finishes the group before it.
 *
 * Inlined at each call: `what` is a constant there, and so are `cols` (but at the
 * entropy's) and T = 1 (at log-sum-exp's and the loss's), so each copy keeps only its own
 * branches and constants instead of testing `what` several times a step.
 */
// @ts-ignore: decorator
@inline export function fourRowsF32(x: usize, labels: usize, rows: i32, cols: i32, T: f64, gradScale: f64, grad: usize, out: usize, what: i32): void {
  // the values that depend on T: UNIT's where T = 1 (log-sum-exp's and the loss's calls
  // pass it), else formed here (kept: see math.ts)
  const unit = T == 1;
  const p1 = k32(F_P1), p2 = k32(F_P2), p3 = k32(F_P3), p4 = k32(F_P4), p5 = k32(F_P5), one = k32(F_ONE);
  const k = unit ? k32(F_LOG2E) : kept(f32x4.splat(<f32>(LOG2E / T))), invT = unit ? one : kept(f32x4.splat(<f32>(1.0 / T)));
  const c1 = unit ? v128.load32_splat(UNIT) : kept(negLn2HiF32x4(T)), c2 = unit ? v128.load32_splat(UNIT, 4) : kept(negLn2LoF32x4(T));
  const cutT = unit ? v128.load32_splat(UNIT, 8) : kept(f32x4.splat(<f32>(T * (LN_FLT_MIN - 0.01))));
  const lift = unit ? v128.load32_splat(UNIT, 12) : kept(f32x4.splat(<f32>(100 * T)));
  const zero = f32x4.splat(0);
  const i1 = v128.load32_splat(UNIT, 16), i2 = v128.load32_splat(UNIT, 20), i3 = v128.load32_splat(UNIT, 24);
  // the previous group's maximum and NaN lanes, ones + rest, (ones − 1) + rest, and its
  // entropy's A'/S' and S', or loss's z_y and labels
  let pm = zero, pNan = zero, pS = one, pNear = zero, pQuot = zero, pAux = zero, pY = zero;
  for (let r = 0; r <= rows; r += 4) {
    const log2e = k32(F_LOG2E), far = k32(F_FAR), magic0 = k32(F_MAGIC), ninf = k32(F_NINF), inf = k32(F_INF), nanv = k32(F_NAN);
    let m = zero, nan = zero, sum = one, near1 = zero, quot = zero, aux = zero, y = zero;
    if (r < rows) {
      const q = x + (<usize>(r * cols) << 2);
      // lane i of v_j is entry j of row r + i: the 4×4 transpose (transpose4), or two rows'
      // even and odd entries (gatherF32)
      let v0 = ninf, v1 = ninf, v2 = ninf, v3 = ninf;
      if (cols == 4) {
        const ra = v128.load(q), rb = v128.load(q, 16), rc = v128.load(q, 32), rd = v128.load(q, 48);
        const ab0 = i32x4.shuffle(ra, rb, 0, 4, 1, 5), cd0 = i32x4.shuffle(rc, rd, 0, 4, 1, 5);
        const ab1 = i32x4.shuffle(ra, rb, 2, 6, 3, 7), cd1 = i32x4.shuffle(rc, rd, 2, 6, 3, 7);
        v0 = i32x4.shuffle(ab0, cd0, 0, 1, 4, 5);
        v1 = i32x4.shuffle(ab0, cd0, 2, 3, 6, 7);
        v2 = i32x4.shuffle(ab1, cd1, 0, 1, 4, 5);
        v3 = i32x4.shuffle(ab1, cd1, 2, 3, 6, 7);
      } else {
        const a = v128.load(q), b = v128.load(q, 16);
        v0 = i32x4.shuffle(a, b, 0, 2, 4, 6);
        v1 = i32x4.shuffle(a, b, 1, 3, 5, 7);
      }
      // the maximum entry by entry, in order (pmax of ±0 depends on it), as gatherF32
      m = f32x4.pmax(f32x4.pmax(f32x4.pmax(f32x4.pmax(ninf, v0), v1), v2), v3);
      const fin = f32x4.lt(f32x4.abs(m), inf);
      const mf = v128.and(m, fin), qm = f32x4.mul(mf, invT);
      // setupF32's values, in registers: the magic, the base (m where far) and the cut-off
      const nr = f32x4.lt(f32x4.abs(qm), far);
      const magic = f32x4.sub(magic0, f32x4.sub(v128.and(f32x4.floor(f32x4.mul(qm, log2e)), nr), one));
      const base = v128.andnot(mf, nr), cut = f32x4.add(v128.and(mf, nr), cutT);
      const e0 = expF32x4(v0, base, k, magic, c1, c2, invT, cut, cut, p1, p2, p3, p4, p5, one, T == 1);
      const e1 = expF32x4(v1, base, k, magic, c1, c2, invT, cut, cut, p1, p2, p3, p4, p5, one, T == 1);
      const e2 = expF32x4(v2, base, k, magic, c1, c2, invT, cut, cut, p1, p2, p3, p4, p5, one, T == 1);
      const e3 = expF32x4(v3, base, k, magic, c1, c2, invT, cut, cut, p1, p2, p3, p4, p5, one, T == 1);
      let w0 = e0, w1 = e1, w2 = e2, w3 = e3;
      if (what == FOUR_SOFTMAX) {
        // masked rows 0 (their sum alone is 0: the maximum's E is not); rows with NaN or
        // +Infinity NaN: their sum is, as E(NaN) and, at m = +Infinity, E(+Infinity) are
        const sum4 = f32x4.add(f32x4.add(e0, e1), f32x4.add(e2, e3));
        const c = v128.andnot(f32x4.div(one, sum4), f32x4.eq(sum4, zero));
        w0 = f32x4.mul(e0, c);
        w1 = f32x4.mul(e1, c);
        w2 = f32x4.mul(e2, c);
        w3 = f32x4.mul(e3, c);
      } else {
        // tileSumF32's split: the entries below the maximum summed, those at it counted
        const t0 = f32x4.eq(v0, m), t1 = f32x4.eq(v1, m), t2 = f32x4.eq(v2, m), t3 = f32x4.eq(v3, m);
        const rest = f32x4.add(f32x4.add(v128.andnot(e0, t0), v128.andnot(e1, t1)), f32x4.add(v128.andnot(e2, t2), v128.andnot(e3, t3)));
        // the rows with NaN: rest is NaN exactly there when m is finite or −Infinity (E of a
        // finite entry at most a finite m is finite, and E(−Infinity) is 0 while the cut-off
        // is finite, as it is for T ≤ 1e30; entries at m = −Infinity are left out).  At
        // m = +Infinity the other entries' E may be NaN; only log-sum-exp tells those rows
        // (+Infinity) from NaN rows, and scans them
        nan = f32x4.ne(rest, rest);
        if (what == FOUR_LSE && !i32x4.all_true(fin)) {
          nan = v128.or(v128.or(f32x4.ne(v0, v0), f32x4.ne(v1, v1)), v128.or(f32x4.ne(v2, v2), f32x4.ne(v3, v3)));
        }
        const ones = f32x4.convert_i32x4_s(i32x4.sub(i32x4.sub(i32x4.splat(0), i32x4.add(t0, t1)), i32x4.add(t2, t3)));
        // the maximum's exponential is an entry's: picked, not taken again (the same
        // function of the same bits, so the entries at m have the same E and their OR is
        // it; a NaN row, which matches no entry, is NaN anyway)
        const scale = v128.or(v128.or(v128.and(e0, t0), v128.and(e1, t1)), v128.or(v128.and(e2, t2), v128.and(e3, t3)));
        const scaled = f32x4.div(rest, scale);
        // logOnesPlusF32x4's two arguments
        sum = f32x4.add(ones, scaled);
        near1 = f32x4.add(f32x4.sub(ones, one), scaled);
        if (what == FOUR_ENTROPY) {
          // A' = Σ E·t, with t of x lifted to m − 100·T; S' = Σ E
          const floor = f32x4.sub(m, lift);
          let a = madd32(e0, f32x4.mul(f32x4.sub(f32x4.pmax(v0, floor), m), invT), zero);
          a = madd32(e1, f32x4.mul(f32x4.sub(f32x4.pmax(v1, floor), m), invT), a);
          a = madd32(e2, f32x4.mul(f32x4.sub(f32x4.pmax(v2, floor), m), invT), a);
          a = madd32(e3, f32x4.mul(f32x4.sub(f32x4.pmax(v3, floor), m), invT), a);
          aux = madd32(ones, scale, rest);
          quot = f32x4.div(a, aux);
          // the gradient's E, formed when the group is finished
          if (grad && cols == 4) storeFour(grad + (<usize>r << 4), e0, e1, e2, e3);
          if (grad && cols == 2) storeTwo(grad + (<usize>r << 3), e0, e1);
        }
        if (what == FOUR_LOSS) {
          // z_y picked from the row (0 where ignored: no column matches a negative label)
          y = v128.load(labels + (<usize>r << 2));
          aux = v128.or(v128.or(v128.and(v0, i32x4.eq(y, zero)), v128.and(v1, i32x4.eq(y, i1))),
            v128.or(v128.and(v2, i32x4.eq(y, i2)), v128.and(v3, i32x4.eq(y, i3))));
          if (grad) {
            // softmax − onehot, scaled: labelsNarrowF32's coefficients at weight 1, no smoothing
            // (ga = (1·1 + 0)/S'·g, gb = 0·g, gc = 1·1·g); ignored rows 0, special rows NaN
            const gs = f32x4.splat(<f32>gradScale);
            const ga = f32x4.mul(f32x4.div(madd32(one, one, f32x4.mul(zero, f32x4.splat(4))), madd32(ones, scale, rest)), gs);
            const gb = f32x4.mul(zero, gs), gc = f32x4.mul(f32x4.mul(one, one), gs);
            const ignored = i32x4.lt_s(y, zero);
            const bad = v128.or(v128.not(fin), nan);
            const dead = v128.or(ignored, bad), fillv = v128.and(v128.andnot(nanv, ignored), bad);
            w0 = v128.bitselect(fillv, f32x4.sub(f32x4.sub(f32x4.mul(e0, ga), gb), v128.and(gc, i32x4.eq(y, zero))), dead);
            w1 = v128.bitselect(fillv, f32x4.sub(f32x4.sub(f32x4.mul(e1, ga), gb), v128.and(gc, i32x4.eq(y, i1))), dead);
            w2 = v128.bitselect(fillv, f32x4.sub(f32x4.sub(f32x4.mul(e2, ga), gb), v128.and(gc, i32x4.eq(y, i2))), dead);
            w3 = v128.bitselect(fillv, f32x4.sub(f32x4.sub(f32x4.mul(e3, ga), gb), v128.and(gc, i32x4.eq(y, i3))), dead);
            storeFour(grad + (<usize>r << 4), w0, w1, w2, w3);
          }
        }
        // logSoftmax: (x − m)/T now, less log S when the group is finished
        if (what == FOUR_LOG_SOFTMAX) {
          w0 = f32x4.mul(f32x4.sub(v0, m), invT);
          w1 = f32x4.mul(f32x4.sub(v1, m), invT);
          w2 = f32x4.mul(f32x4.sub(v2, m), invT);
          w3 = f32x4.mul(f32x4.sub(v3, m), invT);
        }
      }
      if (what == FOUR_SOFTMAX || what == FOUR_LOG_SOFTMAX) storeFour(out + (<usize>r << 4), w0, w1, w2, w3);
    }
    if (r > 0 && what != FOUR_SOFTMAX) {
      fourFinish(x, pm, pNan, logPartsF32x4(pS, pNear), pQuot, pAux, pY, r - 4, cols, T, gradScale, grad, out, what, ninf, inf, nanv, lift, invT);
    }
    pm = m;
    pNan = nan;
    pS = sum;
    pNear = near1;
    pQuot = quot;
    pAux = aux;
    pY = y;
  }
}

/**
 * `fourRowsF32`'s results of the group at row r, from its maximum m, NaN lanes and log S
 * `ls`, and the entropy's A'/S' (`quot`) and S' (`aux`), or the loss's z_y (`aux`) and labels.
 */
// @ts-ignore: decorator
@inline function fourFinish(x: usize, m: v128, nan: v128, ls: v128, quot: v128, aux: v128, y: v128, r: i32, cols: i32, T: f64, gradScale: f64,
  grad: usize, out: usize, what: i32, ninf: v128, inf: v128, nanv: v128, lift: v128, invT: v128): void {
  // rows with ±Infinity or NaN are special; masked rows (−Infinity, no NaN) among them
  const bad = v128.or(v128.not(f32x4.lt(f32x4.abs(m), inf)), nan);
  const masked = v128.andnot(f32x4.eq(m, ninf), nan);
  if (what == FOUR_LSE) {
    // NaN rows NaN, the other special rows their maximum
    const sv = v128.bitselect(nanv, m, nan);
    storeLogSumsF64(out, r, 4, m, ls, sv, bad);
  } else if (what == FOUR_ENTROPY) {
    // masked rows 0, the other special rows NaN
    const h = v128.or(v128.andnot(f32x4.sub(ls, quot), masked), v128.and(v128.andnot(bad, masked), nanv));
    storeRowsF64(out, r, 4, f64x2.promote_low_f32x4(h), f64x2.promote_low_f32x4(i32x4.shuffle(h, h, 2, 3, 2, 3)));
    if (grad) {
      // E·c1·(t + c0) with c0 = H − log S, c1 = −g/(S'·T) (NaN on special rows, 0 on masked
      // ones, whose t is −∞ − (−∞)), t of x lifted to m − 100·T: row by row, lanes splatted
      const c0 = f32x4.sub(h, ls);
      let c1 = f32x4.div(f32x4.splat(<f32>-gradScale), f32x4.mul(aux, f32x4.splat(<f32>T)));
      c1 = v128.or(v128.andnot(c1, masked), v128.and(v128.andnot(bad, masked), nanv));
      const floor = f32x4.sub(m, lift);
      if (cols == 2) {
        // rows of two: the tile's columns, lane by lane
        const o = <usize>r << 3, a = v128.load(x + o), b = v128.load(x + o, 16), ga = v128.load(grad + o), gb = v128.load(grad + o, 16);
        const t0 = f32x4.mul(f32x4.sub(f32x4.pmax(i32x4.shuffle(a, b, 0, 2, 4, 6), floor), m), invT);
        const t1 = f32x4.mul(f32x4.sub(f32x4.pmax(i32x4.shuffle(a, b, 1, 3, 5, 7), floor), m), invT);
        storeTwo(grad + o, v128.andnot(f32x4.mul(f32x4.mul(i32x4.shuffle(ga, gb, 0, 2, 4, 6), c1), f32x4.add(t0, c0)), masked),
          v128.andnot(f32x4.mul(f32x4.mul(i32x4.shuffle(ga, gb, 1, 3, 5, 7), c1), f32x4.add(t1, c0)), masked));
        return;
      }
      const o = <usize>r << 4;
      entropyGradRow(x + o, grad + o, invT, i32x4.shuffle(m, m, 0, 0, 0, 0), i32x4.shuffle(floor, floor, 0, 0, 0, 0), i32x4.shuffle(c0, c0, 0, 0, 0, 0), i32x4.shuffle(c1, c1, 0, 0, 0, 0), i32x4.shuffle(masked, masked, 0, 0, 0, 0));
      entropyGradRow(x + o + 16, grad + o + 16, invT, i32x4.shuffle(m, m, 1, 1, 1, 1), i32x4.shuffle(floor, floor, 1, 1, 1, 1), i32x4.shuffle(c0, c0, 1, 1, 1, 1), i32x4.shuffle(c1, c1, 1, 1, 1, 1), i32x4.shuffle(masked, masked, 1, 1, 1, 1));
      entropyGradRow(x + o + 32, grad + o + 32, invT, i32x4.shuffle(m, m, 2, 2, 2, 2), i32x4.shuffle(floor, floor, 2, 2, 2, 2), i32x4.shuffle(c0, c0, 2, 2, 2, 2), i32x4.shuffle(c1, c1, 2, 2, 2, 2), i32x4.shuffle(masked, masked, 2, 2, 2, 2));
      entropyGradRow(x + o + 48, grad + o + 48, invT, i32x4.shuffle(m, m, 3, 3, 3, 3), i32x4.shuffle(floor, floor, 3, 3, 3, 3), i32x4.shuffle(c0, c0, 3, 3, 3, 3), i32x4.shuffle(c1, c1, 3, 3, 3, 3), i32x4.shuffle(masked, masked, 3, 3, 3, 3));
    }
  } else if (what == FOUR_LOSS) {
    // ignored rows 0, special rows NaN; lanes whose float32 loss is not finite in float64
    const ignored = i32x4.lt_s(y, i32x4.splat(0));
    const zy = aux, loss32 = f32x4.sub(ls, f32x4.sub(zy, m));
    const fin = f32x4.lt(f32x4.abs(loss32), inf);
    // a finite loss and no NaN: m is finite too (z_y − m at m = ±Infinity is NaN or
    // infinite), so no row of the group is special
    const lossOr0 = v128.andnot(loss32, ignored); // (0 where ignored)
    let lo = f64x2.promote_low_f32x4(lossOr0), hi = promoteHighF32x4(lossOr0);
    if (!i32x4.all_true(v128.andnot(fin, nan))) {
      const l32 = v128.andnot(v128.or(loss32, v128.and(bad, nanv)), ignored);
      lo = f64x2.promote_low_f32x4(l32);
      hi = promoteHighF32x4(l32);
      const nan64 = f64x2.splat(NaN);
      const l64 = f64x2.sub(f64x2.promote_low_f32x4(ls), f64x2.sub(f64x2.promote_low_f32x4(zy), f64x2.promote_low_f32x4(m)));
      const h64 = f64x2.sub(promoteHighF32x4(ls), f64x2.sub(promoteHighF32x4(zy), promoteHighF32x4(m)));
      lo = v128.bitselect(lo, v128.andnot(v128.or(l64, v128.and(i64x2.extend_low_i32x4_s(bad), nan64)), i64x2.extend_low_i32x4_s(ignored)), i64x2.extend_low_i32x4_s(fin));
      hi = v128.bitselect(hi, v128.andnot(v128.or(h64, v128.and(i64x2.extend_high_i32x4_s(bad), nan64)), i64x2.extend_high_i32x4_s(ignored)), i64x2.extend_high_i32x4_s(fin));
    }
    storeRowsF64(out, r, 4, lo, hi);
  } else {
    // logSoftmax: each row less its log S; masked rows −Infinity, the other special rows NaN
    const nanBad = v128.and(v128.andnot(bad, masked), nanv);
    const o = out + (<usize>r << 4);
    lessLogS(o, i32x4.shuffle(ls, ls, 0, 0, 0, 0), i32x4.shuffle(nanBad, nanBad, 0, 0, 0, 0), i32x4.shuffle(masked, masked, 0, 0, 0, 0), ninf);
    lessLogS(o + 16, i32x4.shuffle(ls, ls, 1, 1, 1, 1), i32x4.shuffle(nanBad, nanBad, 1, 1, 1, 1), i32x4.shuffle(masked, masked, 1, 1, 1, 1), ninf);
    lessLogS(o + 32, i32x4.shuffle(ls, ls, 2, 2, 2, 2), i32x4.shuffle(nanBad, nanBad, 2, 2, 2, 2), i32x4.shuffle(masked, masked, 2, 2, 2, 2), ninf);
    lessLogS(o + 48, i32x4.shuffle(ls, ls, 3, 3, 3, 3), i32x4.shuffle(nanBad, nanBad, 3, 3, 3, 3), i32x4.shuffle(masked, masked, 3, 3, 3, 3), ninf);
  }
}

/** Four rows of four at p from the columns w0…w3 (row i is lane i of each: transposed back). */
// @ts-ignore: decorator
@inline function storeFour(p: usize, w0: v128, w1: v128, w2: v128, w3: v128): void {
  const x0 = i32x4.shuffle(w0, w1, 0, 4, 1, 5), y0 = i32x4.shuffle(w2, w3, 0, 4, 1, 5);
  const x1 = i32x4.shuffle(w0, w1, 2, 6, 3, 7), y1 = i32x4.shuffle(w2, w3, 2, 6, 3, 7);
  v128.store(p, i32x4.shuffle(x0, y0, 0, 1, 4, 5));
  v128.store(p, i32x4.shuffle(x0, y0, 2, 3, 6, 7), 16);
  v128.store(p, i32x4.shuffle(x1, y1, 0, 1, 4, 5), 32);
  v128.store(p, i32x4.shuffle(x1, y1, 2, 3, 6, 7), 48);
}

/** Four rows of two at p from the columns w0, w1 (row i is lane i of each: interleaved back). */
// @ts-ignore: decorator
@inline function storeTwo(p: usize, w0: v128, w1: v128): void {
  v128.store(p, i32x4.shuffle(w0, w1, 0, 4, 1, 5));
  v128.store(p, i32x4.shuffle(w0, w1, 2, 6, 3, 7), 16);
}

/** A softmaxEntropy gradient row of four at g, holding E: E·c1·((max(x, floor) − m)/T + c0), x the row at p, 0 if masked (m, floor, c0, c1, masked splatted). */
// @ts-ignore: decorator
@inline function entropyGradRow(p: usize, g: usize, invT: v128, m: v128, floor: v128, c0: v128, c1: v128, masked: v128): void {
  const t = f32x4.mul(f32x4.sub(f32x4.pmax(v128.load(p), floor), m), invT);
  v128.store(g, v128.andnot(f32x4.mul(f32x4.mul(v128.load(g), c1), f32x4.add(t, c0)), masked));
}

/** A logSoftmax row of four at p, holding (x − m)/T: less log S, NaN where `nanBad`, −Infinity where `masked` (lanes splatted). */
// @ts-ignore: decorator
@inline function lessLogS(p: usize, ls: v128, nanBad: v128, masked: v128, ninf: v128): void {
  v128.store(p, v128.bitselect(ninf, v128.or(f32x4.sub(v128.load(p), ls), nanBad), masked));
}

// ---------------------------------------------------------------------------------
// float32 scalar rows (the scalar build)
// ---------------------------------------------------------------------------------

/** Set by `scalarMaxF32`/`scalarMaxF64`: the row's least entry (NaN ignored). */
export let scalarLow: f64 = 0;

export function scalarMaxF32(x: usize, n: i32): f32 {
  let m: f32 = -Infinity, lo: f32 = Infinity;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    if (v > m) m = v;
    if (v < lo) lo = v;
  }
  scalarLow = lo;
  return m;
}

/** Set by `scalarExpSumF32`/`scalarExpSumF64`: the entries equal to the maximum. */
export let scalarOnes: f64 = 0;

/**
 * Σ exp((x − m)/T) over the entries below m (returned; their count at m in `scalarOnes`),
 * in float64, where x − m is exact for float32 x and m; stores each exponential (as
 * float32) to dst when dst ≠ 0.  `lo`: the row's least entry (`scalarLow`), which picks
 * the exponential (math.ts, NEAR_F32).
 */
export function scalarExpSumF32(x: usize, n: i32, m: f32, lo: f64, T: f64, dst: usize): f64 {
  if ((<f64>m - lo) / T >= NEAR_F32) return farExpSumF32(x, n, m, T, dst);
  const invT = 1.0 / T;
  let rest: f64 = 0;
  let ones = 0;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    const e = Math.exp((<f64>v - <f64>m) * invT);
    if (dst) store<f32>(dst + o, <f32>e);
    if (v == m) ones++;
    else rest += e;
  }
  scalarOnes = <f64>ones;
  return rest;
}

/** `scalarExpSumF32` for a row whose exponentials may underflow, with no branch on an entry. */
function farExpSumF32(x: usize, n: i32, m: f32, T: f64, dst: usize): f64 {
  const invT = 1.0 / T;
  let rest: f64 = 0;
  let ones = 0;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    const e = expFar32((<f64>v - <f64>m) * invT); // below float32's normal range: 0, as the vector exp gives it
    if (dst) store<f32>(dst + o, <f32>e);
    // (which entries are at m may be at random too; rest + 0 is rest)
    ones += <i32>(v == m);
    rest += reinterpret<f64>(reinterpret<i64>(e) & (<i64>(v == m) - 1));
  }
  scalarOnes = <f64>ones;
  return rest;
}

// ---------------------------------------------------------------------------------
// float64: the same, two lanes a vector
// ---------------------------------------------------------------------------------

export const LN_DBL_MIN: f64 = -708.3964185322641;


// @ts-ignore: decorator
@inline export function finiteF64x2(v: v128): v128 {
  return f64x2.lt(f64x2.abs(v), f64x2.splat(Infinity));
}

/** The float64 twin of `setupF32` (far rows at |m/T| ≥ 1420; cut-off at ln DBL_MIN − 0.01). */
// @ts-ignore: decorator
@inline export function setupF64(m: v128, T: f64, tmp: usize): void {
  const mf = v128.and(m, finiteF64x2(m));
  const q = f64x2.div(mf, f64x2.splat(T));
  const near = f64x2.lt(f64x2.abs(q), f64x2.splat(1420));
  const k = f64x2.sub(v128.and(f64x2.floor(f64x2.mul(q, f64x2.splat(LOG2E))), near), f64x2.splat(1));
  const mb = v128.and(mf, near);
  v128.store(tmp, v128.andnot(mf, near), T_B);
  v128.store(tmp, f64x2.sub(f64x2.splat(6755399441056767.0), k), T_MAGIC);
  const cut = f64x2.add(mb, f64x2.splat(T * (LN_DBL_MIN - 0.01)));
  v128.store(tmp, cut, T_CUT);
  v128.store(tmp, cut, T_LIFT); // (= the cut-off: see math.ts)
}

/**
 * The float64 exp's constants that depend on T, set by `expConstsF64`: C1, C2 of T·ln 2
 * (see math.ts: `expRowF64`), log₂e/T, 1/T and the tiles' cut-off T·(ln DBL_MIN − 0.01).
 */
export let dC1: f64 = 0, dC2: f64 = 0, dK: f64 = 0, dInvT: f64 = 0, dCutT: f64 = 0;
export function expConstsF64(T: f64): void {
  dK = LOG2E / T;
  dInvT = 1.0 / T;
  dCutT = T * (LN_DBL_MIN - 0.01);
  const a: f64 = 6.93147180369123816490e-01, lo: f64 = 1.90821492927058770002e-10;
  const p = a * T;
  const ah = splitHi(a), al = a - ah, th = splitHi(T), tl = T - th;
  const pe = ((ah * th - p) + ah * tl + al * th) + al * tl;
  const c1 = reinterpret<f64>(reinterpret<u64>(p) & 0xffffffffffffe000);
  dC1 = -c1;
  dC2 = -((p - c1) + (pe + lo * T));
}

/** The vector at p with lane 1 set to v when only lane 0 belongs to the row. */
// @ts-ignore: decorator
@inline export function loadLastF64(p: usize, r: i32, fill: v128): v128 {
  return r == 2 ? v128.load(p) : f64x2.replace_lane(v128.load(p), 1, f64x2.extract_lane(fill, 0));
}

// @ts-ignore: decorator
@inline export function storeLanesF64(p: usize, v: v128, r: i32): void {
  if (r == 2) v128.store(p, v);
  else v128.store64_lane(p, v, 0);
}

export function rowMaxF64(x: usize, n: i32): v128 {
  const ninf = f64x2.splat(-Infinity);
  let m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const p = x + (<usize>i << 3);
    m0 = f64x2.pmax(m0, v128.load(p));
    m1 = f64x2.pmax(m1, v128.load(p, 16));
    m2 = f64x2.pmax(m2, v128.load(p, 32));
    m3 = f64x2.pmax(m3, v128.load(p, 48));
  }
  for (; i + 2 <= n; i += 2) m0 = f64x2.pmax(m0, v128.load(x + (<usize>i << 3)));
  if (i < n) m1 = f64x2.pmax(m1, loadLastF64(x + (<usize>i << 3), n - i, ninf));
  const v = f64x2.pmax(f64x2.pmax(m0, m1), f64x2.pmax(m2, m3));
  return f64x2.splat(max(f64x2.extract_lane(v, 0), f64x2.extract_lane(v, 1)));
}

export function hasNaNF64(x: usize, n: i32): bool {
  for (let i = 0; i < n; i++) if (isNaN(load<f64>(x + (<usize>i << 3)))) return true;
  return false;
}

/** The float64 twin of `expPassF32`: four vectors an iteration, blocks of 64 entries into a compensated pair. */
export function expPassF64(x: usize, n: i32, m: v128, T: f64, dst: usize, split: bool, tmp: usize): void {
  const b = v128.load(tmp, T_B), magic = v128.load(tmp, T_MAGIC), cut = v128.load(tmp, T_CUT), lift = v128.load(tmp, T_LIFT);
  expConstsF64(T);
  const k = f64x2.splat(dK), invT = f64x2.splat(dInvT), c1 = f64x2.splat(dC1), c2 = f64x2.splat(dC2);
  const one = k64(D_ONE);
  const q0 = k64(D_P0), q1 = k64(D_P0 + 1), q2 = k64(D_P0 + 2), q3 = k64(D_P0 + 3), q4 = k64(D_P0 + 4);
  const q5 = k64(D_P0 + 5), q6 = k64(D_P0 + 6), q7 = k64(D_P0 + 7), q8 = k64(D_P0 + 8), q9 = k64(D_P0 + 9);
  const zero = f64x2.splat(0);
  let hi = zero, lo = zero;
  let cnt = i64x2.splat(0);
  let i = 0;
  while (i + 8 <= n) {
    const end = min(i + 64, n & ~7);
    let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
    for (; i < end; i += 8) {
      const p = x + (<usize>i << 3);
      const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
      const e0 = expF64x2(v0, b, k, magic, c1, c2, invT, cut, lift, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9);
      const e1 = expF64x2(v1, b, k, magic, c1, c2, invT, cut, lift, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9);
      const e2 = expF64x2(v2, b, k, magic, c1, c2, invT, cut, lift, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9);
      const e3 = expF64x2(v3, b, k, magic, c1, c2, invT, cut, lift, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9);
      if (dst) {
        const d = dst + (<usize>i << 3);
        v128.store(d, e0);
        v128.store(d, e1, 16);
        v128.store(d, e2, 32);
        v128.store(d, e3, 48);
      }
      if (split) {
        const t0 = f64x2.eq(v0, m), t1 = f64x2.eq(v1, m), t2 = f64x2.eq(v2, m), t3 = f64x2.eq(v3, m);
        cnt = i64x2.sub(i64x2.sub(cnt, i64x2.add(t0, t1)), i64x2.add(t2, t3));
        a0 = f64x2.add(a0, v128.andnot(e0, t0));
        a1 = f64x2.add(a1, v128.andnot(e1, t1));
        a2 = f64x2.add(a2, v128.andnot(e2, t2));
        a3 = f64x2.add(a3, v128.andnot(e3, t3));
      } else {
        a0 = f64x2.add(a0, e0);
        a1 = f64x2.add(a1, e1);
        a2 = f64x2.add(a2, e2);
        a3 = f64x2.add(a3, e3);
      }
    }
    const block = f64x2.add(f64x2.add(a0, a1), f64x2.add(a2, a3));
    lo = twoSumLoF64x2(hi, block, lo);
    hi = f64x2.add(hi, block);
  }
  let a = zero;
  const ninf = f64x2.splat(-Infinity);
  for (; i < n; i += 2) {
    const r = min(n - i, 2);
    const p = x + (<usize>i << 3);
    const v = loadLastF64(p, r, ninf);
    const e = expF64x2(v, b, k, magic, c1, c2, invT, cut, lift, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9);
    if (dst) storeLanesF64(dst + (<usize>i << 3), e, r);
    if (split) {
      const t = f64x2.eq(v, m);
      cnt = i64x2.sub(cnt, t);
      a = f64x2.add(a, v128.andnot(e, t));
    } else a = f64x2.add(a, e);
  }
  lo = twoSumLoF64x2(hi, a, lo);
  hi = f64x2.add(hi, a);
  const total = sumLanesF64x2(hi) + sumLanesF64x2(lo);
  if (split) {
    passRest = total;
    passOnes = <i32>(i64x2.extract_lane(cnt, 0) + i64x2.extract_lane(cnt, 1));
  } else passSum = total;
}

/** E(m) for float64 rows (setup done). */
export function expOfF64(m: v128, T: f64, tmp: usize): v128 {
  expConstsF64(T);
  return expF64x2(m, v128.load(tmp, T_B), f64x2.splat(dK), v128.load(tmp, T_MAGIC), f64x2.splat(dC1), f64x2.splat(dC2),
    f64x2.splat(dInvT), v128.load(tmp, T_CUT), v128.load(tmp, T_LIFT),
    k64(D_ONE), k64(D_P0), k64(D_P0 + 1), k64(D_P0 + 2), k64(D_P0 + 3), k64(D_P0 + 4), k64(D_P0 + 5), k64(D_P0 + 6),
    k64(D_P0 + 7), k64(D_P0 + 8), k64(D_P0 + 9));
}

export function scaleRowF64(x: usize, n: i32, c: f64, dst: usize): void {
  const vc = f64x2.splat(c);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const p = x + (<usize>i << 3), d = dst + (<usize>i << 3);
    v128.store(d, f64x2.mul(v128.load(p), vc));
    v128.store(d, f64x2.mul(v128.load(p, 16), vc), 16);
    v128.store(d, f64x2.mul(v128.load(p, 32), vc), 32);
    v128.store(d, f64x2.mul(v128.load(p, 48), vc), 48);
  }
  for (; i < n; i += 2) storeLanesF64(dst + (<usize>i << 3), f64x2.mul(v128.load(x + (<usize>i << 3)), vc), min(n - i, 2));
}

export function fillF64(dst: usize, n: i32, v: f64): void {
  for (let i = 0; i < n; i++) store<f64>(dst + (<usize>i << 3), v);
}

/** Gathers entry j of rows r0, r0+1 into tile vector j (see `gatherF32`); the NaN lanes (64-bit) to T_NAN. */
export function gatherF64(x: usize, r0: i32, cols: i32, tmp: usize): v128 {
  const tile = tmp + T_TILE;
  const row = <usize>cols << 3;
  const q0 = x + <usize>r0 * row, q1 = q0 + row;
  let m = f64x2.splat(-Infinity), nan = i32x4.splat(0);
  let j = 0;
  // two entries of each row at a time, transposed (two shuffles where lane loads take two
  // inserts and four loads); the maximum in entry order
  for (; j + 2 <= cols; j += 2) {
    const o = <usize>j << 3, p = tile + (<usize>j << 4);
    const a = v128.load(q0 + o), b = v128.load(q1 + o);
    const v0 = i64x2.shuffle(a, b, 0, 2), v1 = i64x2.shuffle(a, b, 1, 3);
    v128.store(p, v0);
    v128.store(p, v1, 16);
    m = f64x2.pmax(f64x2.pmax(m, v0), v1);
    nan = v128.or(nan, v128.or(f64x2.ne(v0, v0), f64x2.ne(v1, v1)));
  }
  for (; j < cols; j++) {
    const o = <usize>j << 3;
    const v = v128.load64_lane(q1 + o, v128.load64_zero(q0 + o), 1);
    v128.store(tile + (<usize>j << 4), v);
    m = f64x2.pmax(m, v);
    nan = v128.or(nan, f64x2.ne(v, v));
  }
  v128.store(tmp, nan, T_NAN);
  return m;
}

/** Writes lane i of tile vector j to entry j of row r0 + i (the two rows of `gatherF64`). */
export function scatterF64(tile: usize, r0: i32, cols: i32, dst: usize): void {
  const row = <usize>cols << 3;
  const q = dst + <usize>r0 * row;
  let j = 0;
  // two entries of each row at a time, transposed back
  for (; j + 2 <= cols; j += 2) {
    const p = tile + (<usize>j << 4), o = q + (<usize>j << 3);
    const v0 = v128.load(p), v1 = v128.load(p, 16);
    v128.store(o, i64x2.shuffle(v0, v1, 0, 2));
    v128.store(o + row, i64x2.shuffle(v0, v1, 1, 3));
  }
  for (; j < cols; j++) {
    const o = q + (<usize>j << 3);
    const v = v128.load(tile + (<usize>j << 4));
    v128.store64_lane(o, v, 0);
    v128.store64_lane(o + row, v, 1);
  }
}

/**
 * The float64 twin of `tileSumAtF32`: setupF64's values formed in registers from m, the
 * sums (two accumulators, column j into a_(j mod 2)) to T_SUM and (split) T_ONES, with
 * `store` the exponentials to `dst`; returns E(m).  The constants that depend on T are
 * `expConstsF64`'s, which the caller calls before its loop (`unit`: T = 1, known).  A call,
 * not inlined: its four float64 exponentials are large code, and the call costs them little.
 */
export function tileSumAtF64(tile: usize, cols: i32, m: v128, T: f64, unit: bool, dst: usize, store: bool, split: bool, tmp: usize): v128 {
  const k = f64x2.splat(dK), invT = f64x2.splat(dInvT), c1 = f64x2.splat(dC1), c2 = f64x2.splat(dC2), cutT = f64x2.splat(dCutT);
  const one = k64(D_ONE);
  const q0 = k64(D_P0), q1 = k64(D_P0 + 1), q2 = k64(D_P0 + 2), q3 = k64(D_P0 + 3), q4 = k64(D_P0 + 4);
  const q5 = k64(D_P0 + 5), q6 = k64(D_P0 + 6), q7 = k64(D_P0 + 7), q8 = k64(D_P0 + 8), q9 = k64(D_P0 + 9);
  const mf = v128.and(m, finiteF64x2(m)); // (as setupF64: not finite, 0; m/T a division, as there)
  const q = unit ? mf : f64x2.div(mf, f64x2.splat(T));
  const near = f64x2.lt(f64x2.abs(q), f64x2.splat(1420));
  const magic = f64x2.sub(k64(D_MAGIC), f64x2.sub(v128.and(f64x2.floor(f64x2.mul(q, k64(D_LOG2E))), near), one));
  const b = v128.andnot(mf, near), cut = f64x2.add(v128.and(mf, near), cutT);
  const zero = f64x2.splat(0);
  let a0 = zero, a1 = zero, cnt = i64x2.splat(0);
  let j = 0;
  // two columns a step (column j into a_(j mod 2), in order, as the loop below: see tileSumF32)
  for (; j + 2 <= cols; j += 2) {
    const o = <usize>j << 4, p = tile + o, d = dst + o;
    const v0 = v128.load(p), v1 = v128.load(p, 16);
    const e0 = expF64x2(v0, b, k, magic, c1, c2, invT, cut, cut, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9);
    const e1 = expF64x2(v1, b, k, magic, c1, c2, invT, cut, cut, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9);
    if (store) {
      v128.store(d, e0);
      v128.store(d, e1, 16);
    }
    if (split) {
      const t0 = f64x2.eq(v0, m), t1 = f64x2.eq(v1, m);
      a0 = f64x2.add(a0, v128.andnot(e0, t0));
      a1 = f64x2.add(a1, v128.andnot(e1, t1));
      cnt = i64x2.sub(cnt, i64x2.add(t0, t1));
    } else {
      a0 = f64x2.add(a0, e0);
      a1 = f64x2.add(a1, e1);
    }
  }
  for (; j < cols; j++) {
    const o = <usize>j << 4;
    const v = v128.load(tile + o);
    const e = expF64x2(v, b, k, magic, c1, c2, invT, cut, cut, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9);
    if (store) v128.store(dst + o, e);
    const term = split ? v128.andnot(e, f64x2.eq(v, m)) : e;
    if (split) cnt = i64x2.sub(cnt, f64x2.eq(v, m));
    if (j & 1) a1 = f64x2.add(a1, term);
    else a0 = f64x2.add(a0, term);
  }
  v128.store(tmp, f64x2.add(a0, a1), T_SUM);
  if (split) v128.store(tmp, f64x2.convert_low_i32x4_s(i32x4.shuffle(cnt, cnt, 0, 2, 0, 2)), T_ONES);
  return expF64x2(m, b, k, magic, c1, c2, invT, cut, cut, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9);
}

/** log(ones + rest) in float64 lanes, accurate near 0 (see `logOnesPlusF32x4`). */
export function logOnesPlusF64x2(ones: v128, rest: v128): v128 {
  const one = k64(D_ONE);
  const s = f64x2.add(ones, rest);
  const num = f64x2.add(f64x2.sub(ones, one), rest);
  return logF64x2(s, num, f64x2.add(s, one), i64k(L_LOG_SHIFT), i64k(L_MANT), i64k(L_SQRT_HALF), i64k(L_1023),
    one, k64(D_LN2_HI), k64(D_LN2_LO), k64(D_G1), k64(D_G1 + 1), k64(D_G1 + 2), k64(D_G1 + 3), k64(D_G1 + 4), k64(D_G1 + 5), k64(D_G1 + 6));
}

// @ts-ignore: decorator
@inline export function maskedLanesF64(m: v128, tmp: usize): v128 {
  return v128.andnot(f64x2.eq(m, f64x2.splat(-Infinity)), v128.load(tmp, T_NAN));
}

export function scalarMaxF64(x: usize, n: i32): f64 {
  let m: f64 = -Infinity, lo: f64 = Infinity;
  for (let i = 0; i < n; i++) {
    const v = load<f64>(x + (<usize>i << 3));
    if (v > m) m = v;
    if (v < lo) lo = v;
  }
  scalarLow = lo;
  return m;
}

/** The float64 twin of `scalarExpSumF32` (x − m rounded, as scipy's and PyTorch's softmax). */
export function scalarExpSumF64(x: usize, n: i32, m: f64, lo: f64, T: f64, dst: usize): f64 {
  if ((m - lo) / T >= NEAR_F64) return farExpSumF64(x, n, m, T, dst);
  const invT = 1.0 / T;
  let rest: f64 = 0;
  let ones = 0;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 3;
    const v = load<f64>(x + o);
    const e = Math.exp((v - m) * invT);
    if (dst) store<f64>(dst + o, e);
    if (v == m) ones++;
    else rest += e;
  }
  scalarOnes = <f64>ones;
  return rest;
}

function farExpSumF64(x: usize, n: i32, m: f64, T: f64, dst: usize): f64 {
  const invT = 1.0 / T;
  let rest: f64 = 0;
  let ones = 0;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 3;
    const v = load<f64>(x + o);
    const e = expNonPos((v - m) * invT, F64_CUT); // below the normal range: 0, as the vector exp gives it
    if (dst) store<f64>(dst + o, e);
    ones += <i32>(v == m);
    rest += reinterpret<f64>(reinterpret<i64>(e) & (<i64>(v == m) - 1));
  }
  scalarOnes = <f64>ones;
  return rest;
}


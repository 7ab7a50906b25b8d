// The softmax family, row by row: log-sum-exp, softmax, log-softmax, and the entropy
// and KL divergence of softmax outputs computed from the logits without materialising
// the probabilities — with their gradients.
//
// Every row is taken relative to its maximum m: exp((x − m)/T) ≤ 1 cannot overflow and
// S = Σ exp((x − m)/T) lies in [1, n], so log-sum-exp = m/T + log S loses nothing to
// the scale of the logits (±1e300 in float64, ±1e30 in float32).  The exponentials are
// the E(x) of math.ts: exp((x − m)/T) times a per-row factor `scale` ∈ (½, 1], divided
// out where it matters.  S is kept as `ones + rest`: the entries equal to the maximum
// contribute exactly 1 each, and log S = log1p(rest) when there is one of them, so a
// log-sum-exp or log-softmax near 0 (one dominant logit) keeps its relative accuracy.
//
// Rows: see rows.ts (wide rows as consecutive vectors, narrow rows four at a time).
//
// Special rows (maximum not finite): a row of −Infinity (masked) logits has log-sum-exp
// −Infinity, softmax 0, log-softmax −Infinity, entropy 0; a row with +Infinity has
// log-sum-exp +Infinity and, as PyTorch, softmax and log-softmax NaN; a row containing NaN
// is NaN.
//
// `aux`, when not 0, receives each row's parts (m, ones, rest — and A for the entropy)
// as float64: the TypeScript side merges the parts of the segments of a row too long for
// its window.

import {
  madd32, madd64, expF32x4, expF64x2, expm1F64x2, k32, k64, widenF32x4, promoteHighF32x4, twoSumLoF64x2, sumLanesF64x2, pairTotal, twoSum, twoLo,
  expFar32, expNonPos, NEAR_F32, NEAR_F64, expDiffF32x4, log1pUnitF32x4, sg32, SG_MAGIC, SG_LOG2E, SG_NLN2_HI, SG_NLN2_LO, SG_CUT,
  SG_NTINY, SG_E0, SG_ONE, SG_TWO, SG_TINY, SG_INF, SG_ZERO, SG_L0, expNonPosF64x2, log1pUnitF64x2, sg64, SD_LOG2E, SD_MAGIC,
  SD_NLN2_HI, SD_NLN2_LO, SD_CUT, SD_NTINY, SD_ONE, SD_P0, SD_TWO, SD_HALF, SD_NHALF, SD_TINY, SD_LN2_HI, SD_LN2_LO, SD_R0, SD_SIGN, SD_ZERO,
  F_P1, F_P2, F_P3, F_P4, F_P5, F_ONE, F_LOWEST, F_NINF, F_NAN, D_ONE, D_P0, negLn2HiF32x4, negLn2LoF32x4,
} from "./math";
import {
  NARROW, T_B, T_MAGIC, T_CUT, T_LIFT, T_NAN, T_SUM, T_ONES, T_TILE, LOG2E, expOfF32, expOfF64, expPassF32, expPassF64, fillF32, fillF64, finiteF32x4, finiteF64x2,
  gatherF32, gatherF64, hasNaNF32, hasNaNF64, logOnesPlus, logOnesPlusF32x4, fourRowsF32, FOUR_LSE, FOUR_SOFTMAX, FOUR_LOG_SOFTMAX, FOUR_ENTROPY, logOnesPlusF64x2, maskedLanesF32, maskedLanesF64,
  passOnes, passRest, passSum, putAux, rowMaxF32, rowMaxF64, scalarExpSumF32, scalarExpSumF64, scalarLow, scalarMaxF32, scalarMaxF64,
  scalarOnes, scaleRowF32, scaleRowF64, scatterF32, scatterF64, setupF32, setupF64, storeLanesF32, storeLanesF64, storeRowsF64,
  tileSumAtF64, tileSumAtF32, tileSumUnitF32, twoRowsF64, fourRowsF64, F64_FLOOR, TWO_LSE, TWO_LOG_SOFTMAX, TWO_ENTROPY, TWO_SOFTMAX, storeLogSumsF64, expConstsF64, dC1, dC2, dK, dInvT, F32_CUT, F64_CUT, LN_FLT_MIN,
} from "./rows";

// ---------------------------------------------------------------------------------
// float32 kernels
// ---------------------------------------------------------------------------------

/**
 * out[r] = log Σ exp(x[r, :]) (float64 results); aux (3 per row): m, ones, rest.  `tmp`:
 * 16·NARROW bytes of scratch for the narrow rows' tile.
 */
export function logSumExpRowsF32(x: usize, rows: i32, cols: i32, out: usize, aux: usize, tmp: usize): void {
  if (!ASC_FEATURE_SIMD) {
    for (let r = 0; r < rows; r++) {
      const row = x + (<usize>r * <usize>cols << 2);
      const m = scalarMaxF32(row, cols);
      let v: f64 = m;
      let ones: f64 = 0, rest: f64 = 0;
      if (!isFinite(m)) v = hasNaNF32(row, cols) ? NaN : m;
      else {
        rest = scalarExpSumF32(row, cols, m, scalarLow, 1.0, 0);
        ones = scalarOnes;
        v = <f64>m + logOnesPlus(ones, rest);
      }
      store<f64>(out + (<usize>r << 3), v);
      putAux(aux, r, 3, m, ones, rest);
    }
    return;
  }
  // whole groups of 4 rows as tiles, a last partial group row by row (see rows.ts)
  const first = cols < NARROW && aux == 0 && cols > 0 ? rows & ~3 : 0;
  if (first > 0 && cols == 2) twoRowsF32(x, first, out, TWO_LSE, 0, 0);
  else if (first > 0 && cols == 4) fourRowsF32(x, 0, first, 4, 1, 0, 0, out, FOUR_LSE);
  else if (first > 0) logSumExpTilesF32(x, first, cols, out, tmp);
  for (let r = first; r < rows; r++) {
    const row = x + (<usize>r * <usize>cols << 2);
    const mv = rowMaxF32(row, cols);
    const m = f32x4.extract_lane(mv, 0);
    if (!isFinite(m)) {
      store<f64>(out + (<usize>r << 3), hasNaNF32(row, cols) ? NaN : <f64>m);
      putAux(aux, r, 3, hasNaNF32(row, cols) ? NaN : m, 0, 0);
      continue;
    }
    setupF32(mv, 1, tmp);
    expPassF32(row, cols, mv, 1, 0, true, tmp);
    const scale = <f64>f32x4.extract_lane(expOfF32(mv, 1, tmp), 0);
    const rest = passRest / scale, ones = <f64>passOnes;
    store<f64>(out + (<usize>r << 3), <f64>m + logOnesPlus(ones, rest));
    putAux(aux, r, 3, m, ones, rest);
  }
}

/** Log-sum-exp of narrow rows, `rows` a multiple of 4, tile by tile. */
function logSumExpTilesF32(x: usize, rows: i32, cols: i32, out: usize, tmp: usize): void {
  for (let r = 0; r < rows; r += 4) {
    const m = gatherF32(x, r, cols, tmp);
    const scale = tileSumUnitF32(tmp + T_TILE, cols, m, 0, false, tmp);
    const ls = logOnesPlusF32x4(v128.load(tmp, T_ONES), f32x4.div(v128.load(tmp, T_SUM), scale));
    // special lanes: NaN rows NaN, the others (±Infinity) their maximum
    const nan = v128.load(tmp, T_NAN);
    storeLogSumsF64(out, r, 4, m, ls, v128.bitselect(f32x4.splat(NaN), m, nan), v128.or(v128.not(finiteF32x4(m)), nan));
  }
}

/**
 * Rows of two entries at T = 1, `rows` a multiple of 4, four rows a step: with m the
 * row's maximum and a the other entry, log S = log1p(exp(a − m)), a − m taken exactly
 * (`expDiffF32x4`) — one exponential and one log a row, where the tiles take three
 * exponentials and a log; log1p is the sigmoid family's (1.97 ulp).  `what`:
 * TWO_LSE, out[r] = m + log S (float64); TWO_LOG_SOFTMAX, out[r, j] = (x_j − m) − log S;
 * TWO_ENTROPY, out[r] = log S − (a − m)·p_a, p_a = e/(1 + e) (float64), and when `grad` is
 * not 0 the gradient −p·(log p + H) times `gscale`: p_m·p_a·(a − m) at the maximum, its
 * negative at the other entry (p_m = 1/(1 + e)).  Conventions as the tiles': masked rows
 * −Infinity, −Infinity and 0 (a gradient of 0); rows with +Infinity or NaN: NaN
 * (log-sum-exp: +Infinity for +Infinity).
 */
function twoRowsF32(x: usize, rows: i32, out: usize, what: i32, grad: usize, gscale: f64): void {
  const magic = sg32(SG_MAGIC), log2e = sg32(SG_LOG2E), c1 = sg32(SG_NLN2_HI), c2 = sg32(SG_NLN2_LO), cut = sg32(SG_CUT), ntiny = sg32(SG_NTINY);
  const e0 = sg32(SG_E0), e1 = sg32(SG_E0 + 1), e2 = sg32(SG_E0 + 2), e3 = sg32(SG_E0 + 3), e4 = sg32(SG_E0 + 4);
  const one = sg32(SG_ONE), two = sg32(SG_TWO), tiny = sg32(SG_TINY), inf = sg32(SG_INF), zero = sg32(SG_ZERO);
  const l0 = sg32(SG_L0), l1 = sg32(SG_L0 + 1), l2 = sg32(SG_L0 + 2), l3 = sg32(SG_L0 + 3);
  const gs = f32x4.splat(<f32>gscale);
  for (let r = 0; r < rows; r += 4) {
    const ninf = k32(F_NINF), nanv = k32(F_NAN);
    const q = x + (<usize>r << 3);
    const a = v128.load(q), b = v128.load(q, 16);
    const v0 = i32x4.shuffle(a, b, 0, 2, 4, 6), v1 = i32x4.shuffle(a, b, 1, 3, 5, 7);
    const nan = v128.or(f32x4.ne(v0, v0), f32x4.ne(v1, v1));
    const m = f32x4.pmax(f32x4.pmax(ninf, v0), v1);
    const other = v128.bitselect(v1, v0, f32x4.eq(v0, m));
    const e = expDiffF32x4(other, m, magic, log2e, c1, c2, cut, ntiny, one, e0, e1, e2, e3, e4, inf);
    const ls = log1pUnitF32x4(e, two, tiny, l0, l1, l2, l3);
    const finite = f32x4.lt(f32x4.abs(m), inf);
    if (what == TWO_LSE) {
      // special lanes: NaN rows NaN, the others (±Infinity, a fully masked row) their maximum
      const special = v128.or(v128.not(finite), nan);
      const sv = v128.bitselect(nanv, m, nan);
      storeLogSumsF64(out, r, 4, m, ls, sv, special);
      continue;
    }
    const masked = v128.andnot(f32x4.eq(m, ninf), nan);
    const bad = v128.andnot(v128.or(v128.not(finite), nan), masked);
    if (what == TWO_LOG_SOFTMAX) {
      const w0 = v128.bitselect(ninf, v128.or(f32x4.sub(f32x4.sub(v0, m), ls), v128.and(bad, nanv)), masked);
      const w1 = v128.bitselect(ninf, v128.or(f32x4.sub(f32x4.sub(v1, m), ls), v128.and(bad, nanv)), masked);
      const o = out + (<usize>r << 3);
      v128.store(o, i32x4.shuffle(w0, w1, 0, 4, 1, 5));
      v128.store(o, i32x4.shuffle(w0, w1, 2, 6, 3, 7), 16);
      continue;
    }
    // entropy: log S + |a − m|·p_a, both terms ≥ 0 (p_a = 0 drops a masked a's term)
    const pa = f32x4.div(e, f32x4.add(one, e));
    const held = f32x4.eq(pa, zero), d = f32x4.sub(other, m);
    let h = f32x4.sub(ls, v128.andnot(f32x4.mul(d, pa), held));
    h = v128.or(v128.andnot(h, masked), v128.and(bad, nanv));
    storeRowsF64(out, r, 4, f64x2.promote_low_f32x4(h), f64x2.promote_low_f32x4(i32x4.shuffle(h, h, 2, 3, 2, 3)));
    if (grad) {
      // (0 where p_a = 0: not 0·(−Infinity); 0 on masked rows, NaN on bad ones)
      let w = v128.andnot(f32x4.mul(f32x4.mul(f32x4.mul(pa, f32x4.div(one, f32x4.add(one, e))), d), gs), held);
      w = v128.or(v128.andnot(w, masked), v128.and(bad, nanv));
      const nw = f32x4.sub(zero, w), top = f32x4.eq(v0, m); // (both maxima: w = 0)
      const g0 = v128.bitselect(w, nw, top), g1 = v128.bitselect(nw, w, top);
      const o = grad + (<usize>r << 3);
      v128.store(o, i32x4.shuffle(g0, g1, 0, 4, 1, 5));
      v128.store(o, i32x4.shuffle(g0, g1, 2, 6, 3, 7), 16);
    }
  }
}

/**
 * softmax of rows of two entries, `rows` a multiple of 4: the tiles' computation
 * (gatherF32, tileSumAtF32, then E/ΣE), with the same values, four rows a step
 * in registers — at two columns the tiles' calls and their stores to and loads from
 * `tmp` cost more than the arithmetic.
 */
function softmaxTwoF32(x: usize, rows: i32, T: f64, out: usize): void {
  const k = f32x4.splat(<f32>(LOG2E / T)), invT = f32x4.splat(<f32>(1.0 / T));
  const c1 = negLn2HiF32x4(T), c2 = negLn2LoF32x4(T);
  const p1 = k32(F_P1), p2 = k32(F_P2), p3 = k32(F_P3), p4 = k32(F_P4), p5 = k32(F_P5), one = k32(F_ONE);
  const log2e = f32x4.splat(<f32>LOG2E), far = f32x4.splat(176), magic0 = f32x4.splat(12583039.0);
  const cutT = f32x4.splat(<f32>(T * (LN_FLT_MIN - 0.01)));
  const ninf = f32x4.splat(-Infinity), inf = f32x4.splat(Infinity), zero = f32x4.splat(0), nanv = f32x4.splat(NaN);
  for (let r = 0; r < rows; r += 4) {
    const q = x + (<usize>r << 3), o = out + (<usize>r << 3);
    const a = v128.load(q), b = v128.load(q, 16);
    const v0 = i32x4.shuffle(a, b, 0, 2, 4, 6), v1 = i32x4.shuffle(a, b, 1, 3, 5, 7);
    const nan = v128.or(f32x4.ne(v0, v0), f32x4.ne(v1, v1));
    const m = f32x4.pmax(f32x4.pmax(ninf, v0), v1);
    const fin = f32x4.lt(f32x4.abs(m), inf);
    const mf = v128.and(m, fin), qm = f32x4.mul(mf, invT);
    // setupF32's values, in registers: the magic, the base (m where far) and the cut-off
    const near = f32x4.lt(f32x4.abs(qm), far);
    const magic = f32x4.sub(magic0, f32x4.sub(v128.and(f32x4.floor(f32x4.mul(qm, log2e)), near), one));
    const base = v128.andnot(mf, near), cut = f32x4.add(v128.and(mf, near), cutT);
    const e0 = expF32x4(v0, base, k, magic, c1, c2, invT, cut, cut, p1, p2, p3, p4, p5, one);
    const e1 = expF32x4(v1, base, k, magic, c1, c2, invT, cut, cut, p1, p2, p3, p4, p5, one);
    // masked rows 0; rows with +Infinity or NaN: NaN
    let c = f32x4.div(one, f32x4.add(e0, e1));
    c = v128.bitselect(zero, v128.or(c, v128.and(nanv, v128.or(v128.not(fin), nan))), v128.andnot(f32x4.eq(m, ninf), nan));
    const s0 = f32x4.mul(e0, c), s1 = f32x4.mul(e1, c);
    v128.store(o, i32x4.shuffle(s0, s1, 0, 4, 1, 5));
    v128.store(o, i32x4.shuffle(s0, s1, 2, 6, 3, 7), 16);
  }
}

/**
 * out[r, :] = softmax(x[r, :]/T) (out may be x); aux (3 per row): m, 0, S = Σ exp((x − m)/T).
 * `tmp`: 16·NARROW bytes.
 */
export function softmaxRowsF32(x: usize, rows: i32, cols: i32, T: f64, out: usize, aux: usize, tmp: usize): void {
  if (!ASC_FEATURE_SIMD) {
    for (let r = 0; r < rows; r++) {
      const off = <usize>r * <usize>cols << 2;
      const m = scalarMaxF32(x + off, cols);
      if (!isFinite(m)) {
        const nan = hasNaNF32(x + off, cols);
        fillF32(out + off, cols, m == -Infinity && !nan ? 0 : NaN);
        putAux(aux, r, 3, nan ? NaN : m, 0, 0);
        continue;
      }
      const rest = scalarExpSumF32(x + off, cols, m, scalarLow, T, out + off);
      const s = scalarOnes + rest;
      const c = <f32>(1.0 / s);
      for (let i = 0; i < cols; i++) store<f32>(out + off + (<usize>i << 2), load<f32>(out + off + (<usize>i << 2)) * c);
      putAux(aux, r, 3, m, 0, s);
    }
    return;
  }
  // whole groups of 4 rows as tiles, a last partial group row by row (see rows.ts)
  const first = cols < NARROW && aux == 0 && cols > 0 ? rows & ~3 : 0;
  if (first > 0 && cols == 2) softmaxTwoF32(x, first, T, out);
  else if (first > 0 && cols == 4) fourRowsF32(x, 0, first, 4, T, 0, 0, out, FOUR_SOFTMAX);
  else if (first > 0) {
    const tk = f32x4.splat(<f32>(LOG2E / T)), tInv = f32x4.splat(<f32>(1.0 / T)), tc1 = negLn2HiF32x4(T), tc2 = negLn2LoF32x4(T);
    const tCut = f32x4.splat(<f32>(T * (LN_FLT_MIN - 0.01)));
    for (let r = 0; r < first; r += 4) {
      const m = gatherF32(x, r, cols, tmp);
      tileSumAtF32(tmp + T_TILE, cols, m, tk, tInv, tc1, tc2, tCut, false, tmp + T_TILE, true, false, tmp);
      // masked rows 0; rows with +Infinity or NaN: NaN (their sums are not finite, or NaN)
      let c = f32x4.div(f32x4.splat(1), v128.load(tmp, T_SUM));
      c = v128.bitselect(f32x4.splat(0), v128.or(c, v128.and(f32x4.splat(NaN), v128.or(v128.not(finiteF32x4(m)), v128.load(tmp, T_NAN)))), maskedLanesF32(m, tmp));
      for (let j = 0; j < cols; j++) {
        const p = tmp + T_TILE + (<usize>j << 4);
        v128.store(p, f32x4.mul(v128.load(p), c));
      }
      scatterF32(tmp + T_TILE, r, cols, out);
    }
  }
  for (let r = first; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    const mv = rowMaxF32(x + off, cols);
    const m = f32x4.extract_lane(mv, 0);
    if (!isFinite(m)) {
      const nan = hasNaNF32(x + off, cols);
      fillF32(out + off, cols, m == -Infinity && !nan ? 0 : NaN);
      putAux(aux, r, 3, nan ? NaN : m, 0, 0);
      continue;
    }
    setupF32(mv, T, tmp);
    expPassF32(x + off, cols, mv, T, out + off, false, tmp);
    const s = passSum;
    scaleRowF32(out + off, cols, <f32>(1.0 / s), out + off);
    if (aux) putAux(aux, r, 3, m, 0, s / <f64>f32x4.extract_lane(expOfF32(mv, T, tmp), 0)); // (its scale: an exponential, taken only when wanted)
  }
}

/** out[r, :] = (x − m)/T − log S (out may be x); aux as for log-sum-exp.  `tmp`: 16·NARROW bytes. */
export function logSoftmaxRowsF32(x: usize, rows: i32, cols: i32, T: f64, out: usize, aux: usize, tmp: usize): void {
  const invT = <f32>(1.0 / T);
  if (!ASC_FEATURE_SIMD) {
    for (let r = 0; r < rows; r++) {
      const off = <usize>r * <usize>cols << 2;
      const m = scalarMaxF32(x + off, cols);
      if (!isFinite(m)) {
        const nan = hasNaNF32(x + off, cols);
        fillF32(out + off, cols, m == -Infinity && !nan ? -Infinity : NaN);
        putAux(aux, r, 3, nan ? NaN : m, 0, 0);
        continue;
      }
      const rest = scalarExpSumF32(x + off, cols, m, scalarLow, T, 0);
      const ones = scalarOnes;
      const ls = <f32>logOnesPlus(ones, rest);
      for (let i = 0; i < cols; i++) {
        const o = off + (<usize>i << 2);
        store<f32>(out + o, (load<f32>(x + o) - m) * invT - ls);
      }
      putAux(aux, r, 3, m, ones, rest);
    }
    return;
  }
  const vInvT = f32x4.splat(invT);
  // whole groups of 4 rows as tiles, a last partial group row by row (see rows.ts)
  const first = cols < NARROW && aux == 0 && cols > 0 ? rows & ~3 : 0;
  if (first > 0 && cols == 2 && T == 1) twoRowsF32(x, first, out, TWO_LOG_SOFTMAX, 0, 0);
  else if (first > 0 && cols == 4) fourRowsF32(x, 0, first, 4, T, 0, 0, out, FOUR_LOG_SOFTMAX);
  else if (first > 0) {
    const tk = f32x4.splat(<f32>(LOG2E / T)), tInv = f32x4.splat(<f32>(1.0 / T)), tc1 = negLn2HiF32x4(T), tc2 = negLn2LoF32x4(T);
    const tCut = f32x4.splat(<f32>(T * (LN_FLT_MIN - 0.01)));
    for (let r = 0; r < first; r += 4) {
      const m = gatherF32(x, r, cols, tmp);
      // (the tile keeps x: the exponentials are only summed)
      const scale = tileSumAtF32(tmp + T_TILE, cols, m, tk, tInv, tc1, tc2, tCut, false, 0, false, true, tmp);
      let ls = logOnesPlusF32x4(v128.load(tmp, T_ONES), f32x4.div(v128.load(tmp, T_SUM), scale));
      // masked rows −Infinity everywhere (x − m is NaN there); +Infinity or NaN rows NaN
      const masked = maskedLanesF32(m, tmp);
      const bad = v128.andnot(v128.or(v128.not(finiteF32x4(m)), v128.load(tmp, T_NAN)), masked);
      for (let j = 0; j < cols; j++) {
        const p = tmp + T_TILE + (<usize>j << 4);
        let v = f32x4.sub(f32x4.mul(f32x4.sub(v128.load(p), m), vInvT), ls);
        v = v128.bitselect(f32x4.splat(-Infinity), v128.or(v, v128.and(bad, f32x4.splat(NaN))), masked);
        v128.store(p, v);
      }
      scatterF32(tmp + T_TILE, r, cols, out);
    }
  }
  for (let r = first; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    const mv = rowMaxF32(x + off, cols);
    const m = f32x4.extract_lane(mv, 0);
    if (!isFinite(m)) {
      const nan = hasNaNF32(x + off, cols);
      fillF32(out + off, cols, m == -Infinity && !nan ? -Infinity : NaN);
      putAux(aux, r, 3, nan ? NaN : m, 0, 0);
      continue;
    }
    setupF32(mv, T, tmp);
    expPassF32(x + off, cols, mv, T, 0, true, tmp);
    const rest = passRest / <f64>f32x4.extract_lane(expOfF32(mv, T, tmp), 0), ones = <f64>passOnes;
    const ls = f32x4.splat(<f32>logOnesPlus(ones, rest));
    let i = 0;
    for (; i < cols; i += 4) {
      const o = off + (<usize>i << 2);
      storeLanesF32(out + o, f32x4.sub(f32x4.mul(f32x4.sub(v128.load(x + o), mv), vInvT), ls), min(cols - i, 4));
    }
    putAux(aux, r, 3, m, ones, rest);
  }
}

// ---------------------------------------------------------------------------------
// out = x·a + c: the second pass of a row too long for the window (the TypeScript side
// puts the merged row statistics into the segments' outputs with it)
// ---------------------------------------------------------------------------------

export function affineRowsF32(x: usize, rows: i32, cols: i32, a: f64, c: f64, out: usize): void {
  const n = rows * cols;
  const fa = <f32>a, fc = <f32>c;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const va = f32x4.splat(fa), vc = f32x4.splat(fc);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, madd32(v128.load(x + o), va, vc));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(x + o) * fa + fc);
  }
}

export function affineRowsF64(x: usize, rows: i32, cols: i32, a: f64, c: f64, out: usize): void {
  const n = rows * cols;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const va = f64x2.splat(a), vc = f64x2.splat(c);
    for (; i + 2 <= n; i += 2) {
      const o = <usize>i << 3;
      v128.store(out + o, madd64(v128.load(x + o), va, vc));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 3;
    store<f64>(out + o, load<f64>(x + o) * a + c);
  }
}

export function logSumExpRowsF64(x: usize, rows: i32, cols: i32, out: usize, aux: usize, tmp: usize): void {
  if (!ASC_FEATURE_SIMD) {
    for (let r = 0; r < rows; r++) {
      const row = x + (<usize>r * <usize>cols << 3);
      const m = scalarMaxF64(row, cols);
      let v: f64 = m;
      let ones: f64 = 0, rest: f64 = 0;
      if (!isFinite(m)) v = hasNaNF64(row, cols) ? NaN : m;
      else {
        rest = scalarExpSumF64(row, cols, m, scalarLow, 1.0, 0);
        ones = scalarOnes;
        v = m + logOnesPlus(ones, rest);
      }
      store<f64>(out + (<usize>r << 3), v);
      putAux(aux, r, 3, isNaN(v) ? NaN : m, ones, rest);
    }
    return;
  }
  // whole groups of 2 rows as tiles, a last partial group row by row (see rows.ts)
  const first = cols < NARROW && aux == 0 && cols > 0 ? rows & ~1 : 0;
  if (first > 0 && cols == 2) twoRowsF64(x, 0, first, out, TWO_LSE, 0, 0);
  else if (first > 0 && cols == 4) fourRowsF64(x, 0, first, 1, out, TWO_LSE, 0, 0);
  else if (first > 0) {
    expConstsF64(1);
    for (let r = 0; r < first; r += 2) {
      const m = gatherF64(x, r, cols, tmp);
      const scale = tileSumAtF64(tmp + T_TILE, cols, m, 1, true, 0, false, true, tmp);
      const ls = logOnesPlusF64x2(v128.load(tmp, T_ONES), f64x2.div(v128.load(tmp, T_SUM), scale));
      const special = v128.or(v128.not(finiteF64x2(m)), v128.load(tmp, T_NAN));
      const v = v128.bitselect(v128.bitselect(f64x2.splat(NaN), m, v128.load(tmp, T_NAN)), f64x2.add(m, ls), special);
      storeLanesF64(out + (<usize>r << 3), v, min(rows - r, 2));
    }
  }
  for (let r = first; r < rows; r++) {
    const row = x + (<usize>r * <usize>cols << 3);
    const mv = rowMaxF64(row, cols);
    const m = f64x2.extract_lane(mv, 0);
    if (!isFinite(m)) {
      const v = hasNaNF64(row, cols) ? NaN : m;
      store<f64>(out + (<usize>r << 3), v);
      putAux(aux, r, 3, v, 0, 0);
      continue;
    }
    setupF64(mv, 1, tmp);
    expPassF64(row, cols, mv, 1, 0, true, tmp);
    const rest = passRest / f64x2.extract_lane(expOfF64(mv, 1, tmp), 0), ones = <f64>passOnes;
    store<f64>(out + (<usize>r << 3), m + logOnesPlus(ones, rest));
    putAux(aux, r, 3, m, ones, rest);
  }
}

export function softmaxRowsF64(x: usize, rows: i32, cols: i32, T: f64, out: usize, aux: usize, tmp: usize): void {
  if (!ASC_FEATURE_SIMD) {
    for (let r = 0; r < rows; r++) {
      const off = <usize>r * <usize>cols << 3;
      const m = scalarMaxF64(x + off, cols);
      if (!isFinite(m)) {
        const nan = hasNaNF64(x + off, cols);
        fillF64(out + off, cols, m == -Infinity && !nan ? 0 : NaN);
        putAux(aux, r, 3, nan ? NaN : m, 0, 0);
        continue;
      }
      const rest = scalarExpSumF64(x + off, cols, m, scalarLow, T, out + off);
      const s = scalarOnes + rest;
      const c = 1.0 / s;
      for (let i = 0; i < cols; i++) store<f64>(out + off + (<usize>i << 3), load<f64>(out + off + (<usize>i << 3)) * c);
      putAux(aux, r, 3, m, 0, s);
    }
    return;
  }
  // whole groups of 2 rows as tiles, a last partial group row by row (see rows.ts)
  const first = cols < NARROW && aux == 0 && cols > 0 ? rows & ~1 : 0;
  if (first > 0 && cols == 2 && T == 1) twoRowsF64(x, 0, first, out, TWO_SOFTMAX, 0, 0);
  else if (first > 0 && cols == 4) fourRowsF64(x, 0, first, T, out, TWO_SOFTMAX, 0, 0);
  else if (first > 0) {
    expConstsF64(T);
    for (let r = 0; r < first; r += 2) {
      const m = gatherF64(x, r, cols, tmp);
      tileSumAtF64(tmp + T_TILE, cols, m, T, false, tmp + T_TILE, true, false, tmp);
      let c = f64x2.div(f64x2.splat(1), v128.load(tmp, T_SUM));
      c = v128.bitselect(f64x2.splat(0), v128.or(c, v128.and(f64x2.splat(NaN), v128.or(v128.not(finiteF64x2(m)), v128.load(tmp, T_NAN)))), maskedLanesF64(m, tmp));
      for (let j = 0; j < cols; j++) {
        const p = tmp + T_TILE + (<usize>j << 4);
        v128.store(p, f64x2.mul(v128.load(p), c));
      }
      scatterF64(tmp + T_TILE, r, cols, out);
    }
  }
  for (let r = first; r < rows; r++) {
    const off = <usize>r * <usize>cols << 3;
    const mv = rowMaxF64(x + off, cols);
    const m = f64x2.extract_lane(mv, 0);
    if (!isFinite(m)) {
      const nan = hasNaNF64(x + off, cols);
      fillF64(out + off, cols, m == -Infinity && !nan ? 0 : NaN);
      putAux(aux, r, 3, nan ? NaN : m, 0, 0);
      continue;
    }
    setupF64(mv, T, tmp);
    expPassF64(x + off, cols, mv, T, out + off, false, tmp);
    const s = passSum;
    scaleRowF64(out + off, cols, 1.0 / s, out + off);
    if (aux) putAux(aux, r, 3, m, 0, s / f64x2.extract_lane(expOfF64(mv, T, tmp), 0)); // (its scale: an exponential, taken only when wanted)
  }
}

export function logSoftmaxRowsF64(x: usize, rows: i32, cols: i32, T: f64, out: usize, aux: usize, tmp: usize): void {
  const invT = 1.0 / T;
  if (!ASC_FEATURE_SIMD) {
    for (let r = 0; r < rows; r++) {
      const off = <usize>r * <usize>cols << 3;
      const m = scalarMaxF64(x + off, cols);
      if (!isFinite(m)) {
        const nan = hasNaNF64(x + off, cols);
        fillF64(out + off, cols, m == -Infinity && !nan ? -Infinity : NaN);
        putAux(aux, r, 3, nan ? NaN : m, 0, 0);
        continue;
      }
      const rest = scalarExpSumF64(x + off, cols, m, scalarLow, T, 0);
      const ones = scalarOnes;
      const ls = logOnesPlus(ones, rest);
      for (let i = 0; i < cols; i++) {
        const o = off + (<usize>i << 3);
        store<f64>(out + o, (load<f64>(x + o) - m) * invT - ls);
      }
      putAux(aux, r, 3, m, ones, rest);
    }
    return;
  }
  const vInvT = f64x2.splat(invT);
  // whole groups of 2 rows as tiles, a last partial group row by row (see rows.ts)
  const first = cols < NARROW && aux == 0 && cols > 0 ? rows & ~1 : 0;
  if (first > 0 && cols == 2 && T == 1) twoRowsF64(x, 0, first, out, TWO_LOG_SOFTMAX, 0, 0);
  else if (first > 0 && cols == 4) fourRowsF64(x, 0, first, T, out, TWO_LOG_SOFTMAX, 0, 0);
  else if (first > 0) {
    expConstsF64(T);
    for (let r = 0; r < first; r += 2) {
      const m = gatherF64(x, r, cols, tmp);
      // (the tile keeps x: the exponentials are only summed)
      const scale = tileSumAtF64(tmp + T_TILE, cols, m, T, false, 0, false, true, tmp);
      const ls = logOnesPlusF64x2(v128.load(tmp, T_ONES), f64x2.div(v128.load(tmp, T_SUM), scale));
      const masked = maskedLanesF64(m, tmp);
      const bad = v128.andnot(v128.or(v128.not(finiteF64x2(m)), v128.load(tmp, T_NAN)), masked);
      for (let j = 0; j < cols; j++) {
        const p = tmp + T_TILE + (<usize>j << 4);
        let v = f64x2.sub(f64x2.mul(f64x2.sub(v128.load(p), m), vInvT), ls);
        v = v128.bitselect(f64x2.splat(-Infinity), v128.or(v, v128.and(bad, f64x2.splat(NaN))), masked);
        v128.store(p, v);
      }
      scatterF64(tmp + T_TILE, r, cols, out);
    }
  }
  for (let r = first; r < rows; r++) {
    const off = <usize>r * <usize>cols << 3;
    const mv = rowMaxF64(x + off, cols);
    const m = f64x2.extract_lane(mv, 0);
    if (!isFinite(m)) {
      const nan = hasNaNF64(x + off, cols);
      fillF64(out + off, cols, m == -Infinity && !nan ? -Infinity : NaN);
      putAux(aux, r, 3, nan ? NaN : m, 0, 0);
      continue;
    }
    setupF64(mv, T, tmp);
    expPassF64(x + off, cols, mv, T, 0, true, tmp);
    const rest = passRest / f64x2.extract_lane(expOfF64(mv, T, tmp), 0), ones = <f64>passOnes;
    const ls = f64x2.splat(logOnesPlus(ones, rest));
    for (let i = 0; i < cols; i += 2) {
      const o = off + (<usize>i << 3);
      storeLanesF64(out + o, f64x2.sub(f64x2.mul(f64x2.sub(v128.load(x + o), mv), vInvT), ls), min(cols - i, 2));
    }
    putAux(aux, r, 3, m, ones, rest);
  }
}

// ---------------------------------------------------------------------------------
// Entropy of softmax(x/T) from the logits, and its gradient:
//   H = log S − (1/S)·Σ eᵢ·tᵢ,  tᵢ = (xᵢ − m)/T ≤ 0, eᵢ = exp(tᵢ), S = Σ eᵢ;
//   ∂H/∂xᵢ = −pᵢ·(log pᵢ + H)/T,  pᵢ = eᵢ/S, log pᵢ = tᵢ − log S.
// Both terms of H are ≥ 0, so nothing cancels.  Masked entries (e = 0) contribute 0, not
// 0·(−Infinity): t is taken of x lifted to m − 100·T (float32; m − 800·T in float64),
// below which E is 0 anyway.  Terms whose exponential is below the normal range are
// dropped with it (math.ts): H is then off by at most n·88·FLT_MIN (n·709·DBL_MIN in
// float64), absolutely.  A fully masked row has no mass:
// entropy 0, gradient 0.  `grad` must not be x (the logits are read again for it).
// aux (4 per row): m, ones, rest, A = Σ eᵢ·tᵢ.
// ---------------------------------------------------------------------------------

/** Set by `entropyPassF32`/`F64`: the row's Σ E below m, its count at m, and Σ E·t (all in units of E). */
let entRest: f64 = 0, entOnes: i32 = 0, entA: f64 = 0;

/** E over a wide float32 row (setup done), stored to dst when dst ≠ 0; the split sums and Σ E·t. */
// @ts-ignore: decorator
@inline function entropyPassF32(x: usize, n: i32, m: v128, T: f64, dst: usize, tmp: usize): void {
  const b = v128.load(tmp, T_B), magic = v128.load(tmp, T_MAGIC), cut = v128.load(tmp, T_CUT), lift = v128.load(tmp, T_LIFT);
  const k = f32x4.splat(<f32>(LOG2E / T)), invT = f32x4.splat(<f32>(1.0 / T));
  const c1 = negLn2HiF32x4(T), c2 = negLn2LoF32x4(T);
  const p1 = k32(F_P1), p2 = k32(F_P2), p3 = k32(F_P3), p4 = k32(F_P4), p5 = k32(F_P5), one = k32(F_ONE);
  const floor = f32x4.sub(m, f32x4.splat(<f32>(100 * T)));
  const zero = f32x4.splat(0), ninf = f32x4.splat(-Infinity);
  let hi = f64x2.splat(0), lo = hi, ahi = hi, alo = hi;
  let cnt = i32x4.splat(0);
  let i = 0;
  while (i < n) {
    const end = min(i + 64, n);
    let s0 = zero, s1 = zero, a0 = zero, a1 = zero;
    for (; i + 8 <= end; i += 8) {
      const p = x + (<usize>i << 2);
      const v0 = v128.load(p), v1 = v128.load(p, 16);
      const e0 = expF32x4(v0, b, k, magic, c1, c2, invT, cut, lift, p1, p2, p3, p4, p5, one);
      const e1 = expF32x4(v1, b, k, magic, c1, c2, invT, cut, lift, p1, p2, p3, p4, p5, one);
      if (dst) {
        v128.store(dst + (<usize>i << 2), e0);
        v128.store(dst + (<usize>i << 2), e1, 16);
      }
      const t0 = f32x4.eq(v0, m), t1 = f32x4.eq(v1, m);
      cnt = i32x4.sub(cnt, i32x4.add(t0, t1));
      s0 = f32x4.add(s0, v128.andnot(e0, t0));
      s1 = f32x4.add(s1, v128.andnot(e1, t1));
      a0 = madd32(e0, f32x4.mul(f32x4.sub(f32x4.pmax(v0, floor), m), invT), a0);
      a1 = madd32(e1, f32x4.mul(f32x4.sub(f32x4.pmax(v1, floor), m), invT), a1);
    }
    for (; i < end; i += 4) {
      const r = min(n - i, 4);
      const p = x + (<usize>i << 2);
      const v = r == 4 ? v128.load(p) : v128.bitselect(v128.load(p), ninf, i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(r)));
      const e = expF32x4(v, b, k, magic, c1, c2, invT, cut, lift, p1, p2, p3, p4, p5, one);
      if (dst) storeLanesF32(dst + (<usize>i << 2), e, r);
      const t = f32x4.eq(v, m);
      cnt = i32x4.sub(cnt, t);
      s0 = f32x4.add(s0, v128.andnot(e, t));
      a0 = madd32(e, f32x4.mul(f32x4.sub(f32x4.pmax(v, floor), m), invT), a0);
    }
    const bs = widenF32x4(f32x4.add(s0, s1)), ba = widenF32x4(f32x4.add(a0, a1));
    lo = twoSumLoF64x2(hi, bs, lo);
    hi = f64x2.add(hi, bs);
    alo = twoSumLoF64x2(ahi, ba, alo);
    ahi = f64x2.add(ahi, ba);
  }
  entRest = sumLanesF64x2(hi) + sumLanesF64x2(lo);
  entA = sumLanesF64x2(ahi) + sumLanesF64x2(alo);
  entOnes = i32x4.extract_lane(cnt, 0) + i32x4.extract_lane(cnt, 1) + i32x4.extract_lane(cnt, 2) + i32x4.extract_lane(cnt, 3);
}

/** g = e·c1·(t + c0) over a wide float32 row, e read from g, t = (x lifted − m)/T. */
function entropyGradF32(x: usize, n: i32, m: v128, T: f64, c0: f32, c1: f32, g: usize): void {
  const invT = f32x4.splat(<f32>(1.0 / T)), floor = f32x4.sub(m, f32x4.splat(<f32>(100 * T)));
  const vc0 = f32x4.splat(c0), vc1 = f32x4.splat(c1);
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    const t = f32x4.mul(f32x4.sub(f32x4.pmax(v128.load(x + o), floor), m), invT);
    storeLanesF32(g + o, f32x4.mul(f32x4.mul(v128.load(g + o), vc1), f32x4.add(t, vc0)), min(n - i, 4));
  }
}

/**
 * out[r] = H(softmax(x[r, :]/T)) in the base's scale `gscale` (1/ln base: −0 as 0); grad
 * (or 0) = ∂H/∂x scaled by it too; aux (4 per row, in nats): m, ones, rest, A.  `tmp`:
 * see rows.ts.
 */
export function softmaxEntropyRowsF32(x: usize, rows: i32, cols: i32, T: f64, gscale: f64, grad: usize, out: usize, aux: usize, tmp: usize): void {
  entropyRowsF32(x, rows, cols, T, gscale, grad, out, aux, tmp);
  // H·g + 0 in the base's scale while the block's results are in the cache (a pass of its
  // own over a call's results, in JS after the copy, took a third of softmaxEntropy's time
  // at two columns); + 0 turns −0 into 0
  affineRowsF64(out, 1, rows, gscale, 0, out);
}

/** `softmaxEntropyRowsF32` in nats. */
function entropyRowsF32(x: usize, rows: i32, cols: i32, T: f64, gscale: f64, grad: usize, out: usize, aux: usize, tmp: usize): void {
  if (!ASC_FEATURE_SIMD) {
    for (let r = 0; r < rows; r++) {
      const off = <usize>r * <usize>cols << 2;
      const m = scalarMaxF32(x + off, cols);
      if (!isFinite(m)) {
        const v: f64 = m == -Infinity && !hasNaNF32(x + off, cols) ? 0 : NaN;
        store<f64>(out + (<usize>r << 3), v);
        if (grad) fillF32(grad + off, cols, <f32>v);
        putAux4(aux, r, v == 0 ? -Infinity : NaN, 0, 0, 0);
        continue;
      }
      // rows that fit tmp keep their exponentials (in grad, or in tmp) for Σ e·t, which then
      // takes no exponential of its own: as float32, so a term carries a float32 rounding,
      // as in the SIMD builds; longer rows take them again in float64 (grad or not, so that
      // H is the same with a gradient and without)
      const stored = cols <= 1024, E = grad ? grad + off : stored ? tmp : 0;
      const rest = scalarExpSumF32(x + off, cols, m, scalarLow, T, E);
      const ones = scalarOnes;
      const a = stored ? storedEntropyAF32(x + off, E, cols, <f64>m, T) : scalarEntropyA(x + off, cols, <f64>m, scalarLow, T, 4);
      const s = ones + rest, ls = logOnesPlus(ones, rest);
      const h = ls - a / s;
      store<f64>(out + (<usize>r << 3), h);
      putAux4(aux, r, m, ones, rest, a);
      if (grad) scalarEntropyGrad(x + off, cols, <f64>m, T, h - ls, -gscale / (T * s), grad + off, 4);
    }
    return;
  }
  // whole groups of 4 rows as tiles, a last partial group row by row (see rows.ts)
  const first = cols < NARROW && aux == 0 && cols > 0 ? rows & ~3 : 0;
  if (first > 0 && cols == 2 && T == 1) twoRowsF32(x, first, out, TWO_ENTROPY, grad, gscale);
  else if (first > 0 && (cols == 4 || cols == 2)) fourRowsF32(x, 0, first, cols, T, gscale, grad, out, FOUR_ENTROPY);
  else if (first > 0) softmaxEntropyNarrowF32(x, first, cols, T, gscale, grad, out, tmp);
  for (let r = first; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    const mv = rowMaxF32(x + off, cols);
    const m = f32x4.extract_lane(mv, 0);
    if (!isFinite(m)) {
      const v: f64 = m == -Infinity && !hasNaNF32(x + off, cols) ? 0 : NaN;
      store<f64>(out + (<usize>r << 3), v);
      if (grad) fillF32(grad + off, cols, <f32>v);
      putAux4(aux, r, v == 0 ? -Infinity : NaN, 0, 0, 0);
      continue;
    }
    setupF32(mv, T, tmp);
    entropyPassF32(x + off, cols, mv, T, grad ? grad + off : 0, tmp);
    const scale = <f64>f32x4.extract_lane(expOfF32(mv, T, tmp), 0);
    const ones = <f64>entOnes, rest = entRest / scale, a = entA / scale;
    const s = ones + rest, ls = logOnesPlus(ones, rest);
    const h = ls - a / s;
    store<f64>(out + (<usize>r << 3), h);
    putAux4(aux, r, m, ones, rest, a);
    // g = −(E/S')·(t − log S + H)/T·gscale, with S' = S·scale the sum of E
    if (grad) entropyGradF32(x + off, cols, mv, T, <f32>(h - ls), <f32>(-gscale / (T * s * scale)), grad + off);
  }
}

/** Narrow float32 rows, four a tile (see rows.ts): the same values lane by lane. */
function softmaxEntropyNarrowF32(x: usize, rows: i32, cols: i32, T: f64, gscale: f64, grad: usize, out: usize, tmp: usize): void {
  const tile = tmp + T_TILE, etile = tile + (<usize>cols << 4);
  const invT = f32x4.splat(<f32>(1.0 / T));
  const tk = f32x4.splat(<f32>(LOG2E / T)), tc1 = negLn2HiF32x4(T), tc2 = negLn2LoF32x4(T);
  const tCut = f32x4.splat(<f32>(T * (LN_FLT_MIN - 0.01)));
  for (let r = 0; r < rows; r += 4) {
    const m = gatherF32(x, r, cols, tmp);
    const scale = tileSumAtF32(tile, cols, m, tk, invT, tc1, tc2, tCut, false, etile, true, true, tmp);
    const ones = v128.load(tmp, T_ONES), restE = v128.load(tmp, T_SUM);
    // A' = Σ E·t, with t of x lifted to m − 100·T
    const floor = f32x4.sub(m, f32x4.splat(<f32>(100 * T)));
    let a = f32x4.splat(0);
    for (let j = 0; j < cols; j++) {
      const o = <usize>j << 4;
      a = madd32(v128.load(etile + o), f32x4.mul(f32x4.sub(f32x4.pmax(v128.load(tile + o), floor), m), invT), a);
    }
    const sE = madd32(ones, scale, restE); // S' = Σ E
    const ls = logOnesPlusF32x4(ones, f32x4.div(restE, scale));
    let h = f32x4.sub(ls, f32x4.div(a, sE));
    // masked rows 0; +Infinity or NaN rows NaN
    const masked = maskedLanesF32(m, tmp);
    const bad = v128.andnot(v128.or(v128.not(finiteF32x4(m)), v128.load(tmp, T_NAN)), masked);
    h = v128.or(v128.andnot(h, masked), v128.and(bad, f32x4.splat(NaN)));
    storeRowsF64(out, r, min(rows - r, 4), f64x2.promote_low_f32x4(h), f64x2.promote_low_f32x4(i32x4.shuffle(h, h, 2, 3, 2, 3)));
    if (grad) {
      const c0 = f32x4.sub(h, ls);
      let c1 = f32x4.div(f32x4.splat(<f32>-gscale), f32x4.mul(sE, f32x4.splat(<f32>T)));
      c1 = v128.or(v128.andnot(c1, masked), v128.and(bad, f32x4.splat(NaN)));
      for (let j = 0; j < cols; j++) {
        const o = <usize>j << 4;
        const tt = f32x4.mul(f32x4.sub(f32x4.pmax(v128.load(tile + o), floor), m), invT);
        // (a fully masked row: 0, where t is −∞ − (−∞))
        v128.store(etile + o, v128.andnot(f32x4.mul(f32x4.mul(v128.load(etile + o), c1), f32x4.add(tt, c0)), masked));
      }
      scatterF32(etile, r, cols, grad);
    }
  }
}

/**
 * Σ e·t over a row in float64 for the scalar build (e = exp(t), t = (x − m)/T; e below
 * the normal range, masked entries included, 0, and its term too).  `lo`: the row's least
 * entry, which picks the exponential (math.ts, NEAR_F32).
 */
function scalarEntropyA(x: usize, n: i32, m: f64, lo: f64, T: f64, size: i32): f64 {
  const invT = 1.0 / T, cut = size == 4 ? F32_CUT : F64_CUT;
  let a: f64 = 0;
  if ((m - lo) / T < (size == 4 ? NEAR_F32 : NEAR_F64)) {
    for (let i = 0; i < n; i++) {
      const v: f64 = size == 4 ? <f64>load<f32>(x + (<usize>i << 2)) : load<f64>(x + (<usize>i << 3));
      const t = (v - m) * invT;
      a += Math.exp(t) * t;
    }
    return a;
  }
  for (let i = 0; i < n; i++) {
    const v: f64 = size == 4 ? <f64>load<f32>(x + (<usize>i << 2)) : load<f64>(x + (<usize>i << 3));
    const t = (v - m) * invT;
    const e = size == 4 ? expFar32(t) : expNonPos(t, cut);
    // e = 0 drops the term (0·−Infinity would be NaN), with no branch on the entry
    a += reinterpret<f64>(reinterpret<i64>(e * t) & -(<i64>(e != 0)));
  }
  return a;
}

/** `scalarEntropyA` of a float32 row from its exponentials as stored (float32) at `e`. */
function storedEntropyAF32(x: usize, e: usize, n: i32, m: f64, T: f64): f64 {
  const invT = 1.0 / T;
  let a: f64 = 0;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const ei = <f64>load<f32>(e + o), t = (<f64>load<f32>(x + o) - m) * invT;
    // e = 0 drops the term (0·−Infinity would be NaN), with no branch on the entry
    a += reinterpret<f64>(reinterpret<i64>(ei * t) & -(<i64>(ei != 0)));
  }
  return a;
}

/** g = e·c1·(t + c0) for the scalar build, e read from g (float32 or float64 rows). */
function scalarEntropyGrad(x: usize, n: i32, m: f64, T: f64, c0: f64, c1: f64, g: usize, size: i32): void {
  const invT = 1.0 / T;
  for (let i = 0; i < n; i++) {
    if (size == 4) {
      const o = <usize>i << 2;
      const v = <f64>load<f32>(x + o);
      const t = v == -Infinity ? 0 : max((v - m) * invT, -F64_FLOOR); // (see below)
      store<f32>(g + o, <f32>(<f64>load<f32>(g + o) * c1 * (t + c0)));
    } else {
      const o = <usize>i << 3;
      const v = load<f64>(x + o);
      // t at least −F64_FLOOR: below it e is 0, and (v − m)/T may overflow (1e300 − (−1e300)),
      // which would make the entry 0·−Infinity
      const t = v == -Infinity ? 0 : max((v - m) * invT, -F64_FLOOR);
      store<f64>(g + o, load<f64>(g + o) * c1 * (t + c0));
    }
  }
}

// @ts-ignore: decorator
@inline function putAux4(aux: usize, r: i32, a: f64, b: f64, c: f64, d: f64): void {
  if (aux) {
    const p = aux + (<usize>(r << 2) << 3);
    store<f64>(p, a);
    store<f64>(p, b, 8);
    store<f64>(p, c, 16);
    store<f64>(p, d, 24);
  }
}

/** The float64 twin of `entropyPassF32`: two vectors an iteration. */
// @ts-ignore: decorator
@inline function entropyPassF64(x: usize, n: i32, m: v128, T: f64, dst: usize, tmp: usize): void {
  const b = v128.load(tmp, T_B), magic = v128.load(tmp, T_MAGIC), cut = v128.load(tmp, T_CUT), lift = v128.load(tmp, T_LIFT);
  expConstsF64(T);
  const k = f64x2.splat(dK), invT = f64x2.splat(dInvT), c1 = f64x2.splat(dC1), c2 = f64x2.splat(dC2);
  const one = k64(D_ONE);
  const q0 = k64(D_P0), q1 = k64(D_P0 + 1), q2 = k64(D_P0 + 2), q3 = k64(D_P0 + 3), q4 = k64(D_P0 + 4);
  const q5 = k64(D_P0 + 5), q6 = k64(D_P0 + 6), q7 = k64(D_P0 + 7), q8 = k64(D_P0 + 8), q9 = k64(D_P0 + 9);
  const floor = f64x2.sub(m, f64x2.splat(F64_FLOOR * T));
  const zero = f64x2.splat(0), ninf = f64x2.splat(-Infinity);
  let hi = zero, lo = zero, ahi = zero, alo = zero;
  let cnt = i64x2.splat(0);
  let i = 0;
  while (i < n) {
    const end = min(i + 64, n);
    let s0 = zero, s1 = zero, a0 = zero, a1 = zero;
    for (; i + 4 <= end; i += 4) {
      const p = x + (<usize>i << 3);
      const v0 = v128.load(p), v1 = v128.load(p, 16);
      const e0 = expF64x2(v0, b, k, magic, c1, c2, invT, cut, lift, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9);
      const e1 = expF64x2(v1, b, k, magic, c1, c2, invT, cut, lift, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9);
      if (dst) {
        v128.store(dst + (<usize>i << 3), e0);
        v128.store(dst + (<usize>i << 3), e1, 16);
      }
      const t0 = f64x2.eq(v0, m), t1 = f64x2.eq(v1, m);
      cnt = i64x2.sub(cnt, i64x2.add(t0, t1));
      s0 = f64x2.add(s0, v128.andnot(e0, t0));
      s1 = f64x2.add(s1, v128.andnot(e1, t1));
      a0 = madd64(e0, f64x2.mul(f64x2.sub(f64x2.pmax(v0, floor), m), invT), a0);
      a1 = madd64(e1, f64x2.mul(f64x2.sub(f64x2.pmax(v1, floor), m), invT), a1);
    }
    for (; i < end; i += 2) {
      const r = min(n - i, 2);
      const p = x + (<usize>i << 3);
      const v = r == 2 ? v128.load(p) : f64x2.replace_lane(v128.load(p), 1, -Infinity);
      const e = expF64x2(v, b, k, magic, c1, c2, invT, cut, lift, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9);
      if (dst) storeLanesF64(dst + (<usize>i << 3), e, r);
      const t = f64x2.eq(v, m);
      cnt = i64x2.sub(cnt, t);
      s0 = f64x2.add(s0, v128.andnot(e, t));
      a0 = madd64(e, f64x2.mul(f64x2.sub(f64x2.pmax(v, floor), m), invT), a0);
    }
    const bs = f64x2.add(s0, s1), ba = f64x2.add(a0, a1);
    lo = twoSumLoF64x2(hi, bs, lo);
    hi = f64x2.add(hi, bs);
    alo = twoSumLoF64x2(ahi, ba, alo);
    ahi = f64x2.add(ahi, ba);
  }
  entRest = sumLanesF64x2(hi) + sumLanesF64x2(lo);
  entA = sumLanesF64x2(ahi) + sumLanesF64x2(alo);
  entOnes = <i32>(i64x2.extract_lane(cnt, 0) + i64x2.extract_lane(cnt, 1));
}

function entropyGradF64(x: usize, n: i32, m: v128, T: f64, c0: f64, c1: f64, g: usize): void {
  const invT = f64x2.splat(1.0 / T), floor = f64x2.sub(m, f64x2.splat(F64_FLOOR * T));
  const vc0 = f64x2.splat(c0), vc1 = f64x2.splat(c1);
  for (let i = 0; i < n; i += 2) {
    const o = <usize>i << 3;
    const t = f64x2.mul(f64x2.sub(f64x2.pmax(v128.load(x + o), floor), m), invT);
    storeLanesF64(g + o, f64x2.mul(f64x2.mul(v128.load(g + o), vc1), f64x2.add(t, vc0)), min(n - i, 2));
  }
}

/** The float64 `softmaxEntropyRowsF32`. */
export function softmaxEntropyRowsF64(x: usize, rows: i32, cols: i32, T: f64, gscale: f64, grad: usize, out: usize, aux: usize, tmp: usize): void {
  entropyRowsF64(x, rows, cols, T, gscale, grad, out, aux, tmp);
  affineRowsF64(out, 1, rows, gscale, 0, out); // (in the base's scale, as above)
}

function entropyRowsF64(x: usize, rows: i32, cols: i32, T: f64, gscale: f64, grad: usize, out: usize, aux: usize, tmp: usize): void {
  if (!ASC_FEATURE_SIMD) {
    for (let r = 0; r < rows; r++) {
      const off = <usize>r * <usize>cols << 3;
      const m = scalarMaxF64(x + off, cols);
      if (!isFinite(m)) {
        const v: f64 = m == -Infinity && !hasNaNF64(x + off, cols) ? 0 : NaN;
        store<f64>(out + (<usize>r << 3), v);
        if (grad) fillF64(grad + off, cols, v);
        putAux4(aux, r, v == 0 ? -Infinity : NaN, 0, 0, 0);
        continue;
      }
      const rest = scalarExpSumF64(x + off, cols, m, scalarLow, T, grad ? grad + off : 0);
      const ones = scalarOnes;
      const a = scalarEntropyA(x + off, cols, m, scalarLow, T, 8);
      const s = ones + rest, ls = logOnesPlus(ones, rest);
      const h = ls - a / s;
      store<f64>(out + (<usize>r << 3), h);
      putAux4(aux, r, m, ones, rest, a);
      if (grad) scalarEntropyGrad(x + off, cols, m, T, h - ls, -gscale / (T * s), grad + off, 8);
    }
    return;
  }
  // whole groups of 2 rows as tiles, a last partial group row by row (see rows.ts)
  const first = cols < NARROW && aux == 0 && cols > 0 ? rows & ~1 : 0;
  if (first > 0 && cols == 2 && T == 1) twoRowsF64(x, 0, first, out, TWO_ENTROPY, grad, gscale);
  else if (first > 0 && cols == 4) fourRowsF64(x, 0, first, T, out, TWO_ENTROPY, grad, gscale);
  else if (first > 0) softmaxEntropyNarrowF64(x, first, cols, T, gscale, grad, out, tmp);
  for (let r = first; r < rows; r++) {
    const off = <usize>r * <usize>cols << 3;
    const mv = rowMaxF64(x + off, cols);
    const m = f64x2.extract_lane(mv, 0);
    if (!isFinite(m)) {
      const v: f64 = m == -Infinity && !hasNaNF64(x + off, cols) ? 0 : NaN;
      store<f64>(out + (<usize>r << 3), v);
      if (grad) fillF64(grad + off, cols, v);
      putAux4(aux, r, v == 0 ? -Infinity : NaN, 0, 0, 0);
      continue;
    }
    setupF64(mv, T, tmp);
    entropyPassF64(x + off, cols, mv, T, grad ? grad + off : 0, tmp);
    const scale = f64x2.extract_lane(expOfF64(mv, T, tmp), 0);
    const ones = <f64>entOnes, rest = entRest / scale, a = entA / scale;
    const s = ones + rest, ls = logOnesPlus(ones, rest);
    const h = ls - a / s;
    store<f64>(out + (<usize>r << 3), h);
    putAux4(aux, r, m, ones, rest, a);
    if (grad) entropyGradF64(x + off, cols, mv, T, h - ls, -gscale / (T * s * scale), grad + off);
  }
}

function softmaxEntropyNarrowF64(x: usize, rows: i32, cols: i32, T: f64, gscale: f64, grad: usize, out: usize, tmp: usize): void {
  const tile = tmp + T_TILE, etile = tile + (<usize>cols << 4);
  expConstsF64(T);
  const invT = f64x2.splat(dInvT);
  for (let r = 0; r < rows; r += 2) {
    const m = gatherF64(x, r, cols, tmp);
    const scale = tileSumAtF64(tile, cols, m, T, false, etile, true, true, tmp);
    const ones = v128.load(tmp, T_ONES), restE = v128.load(tmp, T_SUM);
    const floor = f64x2.sub(m, f64x2.splat(F64_FLOOR * T));
    let a = f64x2.splat(0);
    for (let j = 0; j < cols; j++) {
      const o = <usize>j << 4;
      a = madd64(v128.load(etile + o), f64x2.mul(f64x2.sub(f64x2.pmax(v128.load(tile + o), floor), m), invT), a);
    }
    const sE = madd64(ones, scale, restE);
    const ls = logOnesPlusF64x2(ones, f64x2.div(restE, scale));
    let h = f64x2.sub(ls, f64x2.div(a, sE));
    const masked = maskedLanesF64(m, tmp);
    const bad = v128.andnot(v128.or(v128.not(finiteF64x2(m)), v128.load(tmp, T_NAN)), masked);
    h = v128.or(v128.andnot(h, masked), v128.and(bad, f64x2.splat(NaN)));
    storeLanesF64(out + (<usize>r << 3), h, min(rows - r, 2));
    if (grad) {
      const c0 = f64x2.sub(h, ls);
      let c1 = f64x2.div(f64x2.splat(-gscale), f64x2.mul(sE, f64x2.splat(T)));
      c1 = v128.or(v128.andnot(c1, masked), v128.and(bad, f64x2.splat(NaN)));
      for (let j = 0; j < cols; j++) {
        const o = <usize>j << 4;
        const tt = f64x2.mul(f64x2.sub(f64x2.pmax(v128.load(tile + o), floor), m), invT);
        // (a fully masked row: 0, where t is −∞ − (−∞))
        v128.store(etile + o, v128.andnot(f64x2.mul(f64x2.mul(v128.load(etile + o), c1), f64x2.add(tt, c0)), masked));
      }
      scatterF64(etile, r, cols, grad);
    }
  }
}

// ---------------------------------------------------------------------------------
// KL divergence of softmax(a/T) from softmax(b/T), from the logits, and its gradients:
//   D = Σ pᵢ·uᵢ + log(SB/SA),  uᵢ = ((aᵢ − ma) − (bᵢ − mb))/T = log pᵢ − log qᵢ + log(SA/SB);
//   SB/SA = 1 + Δ/SA,  Δ = Σ (ebᵢ − eaᵢ) = Σ eaᵢ·expm1(−uᵢ)  (eb = ea·e^−u exactly):
// for close distributions (D ~ u²) the two parts of D nearly cancel, so Δ is summed from
// its own small terms — float64 rows: eaᵢ·expm1(−uᵢ) where |uᵢ| < ¼, ebᵢ − eaᵢ elsewhere
// (no cancellation there); float32 rows (SIMD): eaᵢ·expm1(−uᵢ) everywhere, expm1 in
// float64, as `klTermsF64x2` says why — and log(SB/SA) = log1p(Δ/SA): neither part then
// carries more than its own rounding, float32 exponentials' 1e-7 included.
//   ∂D/∂bᵢ = (qᵢ − pᵢ)/T (the student's gradient in distillation);
//   ∂D/∂aᵢ = pᵢ·(log pᵢ − log qᵢ − D)/T = pᵢ·(uᵢ − c)/T,  c = log(SA/SB) + D.
// u is formed from the exact differences a − ma and b − mb (float64 lanes for float32
// logits, where both are exact), so it is right both when the rows are close (the
// differences cancel exactly) and when the logits are huge; masked entries — only they, a
// logit far below its maximum counts as it is — are lifted to a finite value first (−FLT_MAX
// in float32, 100·T below the row's maximum in float64 and the JS twin: their p or q is 0
// there, so u only has to be finite).  Entries with pᵢ = 0 contribute 0; pᵢ > 0 = qᵢ (b masked where a has mass)
// makes D +Infinity (NaN if either row holds a NaN); a fully masked `a` row has no mass
// and divergence 0.  The gradients take a second pass (the exponentials again): neither
// may be a or b.
//   When the two parts still cancel — |log(SA/SB)| > K·D: logits that differ by a near-
// constant shift c over most of the mass, where uᵢ ≈ c is not small and Δ comes from
// eb − ea — the row is taken again centred on the mean shift c = Σ p·u:
//   D = Σ pᵢ·(uᵢ − c) + log1p(Δc/SA),  Δc = Σ eaᵢ·expm1(c − uᵢ)  (= Σ (ebᵢ·e^c − eaᵢ)),
// whose parts are as small as D's own terms (K = 64; |c| ≤ log(8n) + D there, so e^c is
// finite).  Not centred, |log(SA/SB)| ≤ K·D, the cancellation costs D at most ~K of its
// parts' roundings relative to D (6e-15 at K = 64) — float64 roundings in both types: a
// float32 row's terms are ea·expm1(−u) with expm1 in float64 (`klTermsF64x2`), not
// differences of two float32 exponentials, whose 2.3 ulp each needed K = 1 and even so
// reached 1.2 times the float32 bound.
// ---------------------------------------------------------------------------------

/** Set by the KL passes: Σ ea, Δ = Σ (eb − ea), Σ ea·u (all in units of a's E), and whether b is masked where a has mass. */
let klSA: f64 = 0, klDelta: f64 = 0, klA: f64 = 0, klHole = false;

// expm1(t) = t + t²/2! + … + t¹²/12! + O(t¹³) for |t| < ¼: truncation below 2e-17 relative.
// (Δ's near terms feed D through a cancellation of about 2/|u| — D ≈ Σ p·u²/2 — so a series
// to t¹⁰, 2.4e-14 at |t| = ¼, left float64 D off by up to 3e-13 relative.)
const EXPM1_NEAR: f64 = 0.25;
// 1/12!, 1/11!, …, 1/2!, 1
const EXPM1 = memory.data<f64>([
  2.08767569878681e-9, 2.505210838544172e-8, 2.755731922398589e-7, 2.7557319223985893e-6, 2.48015873015873e-5,
  1.984126984126984e-4, 1.388888888888889e-3, 8.333333333333333e-3, 4.1666666666666664e-2, 0.16666666666666666, 0.5, 1.0,
], 16);

/** EXPM1's coefficient i, splatted. */
// @ts-ignore: decorator
@inline function em(i: i32): v128 {
  return v128.load64_splat(EXPM1 + (<usize>i << 3));
}

/**
 * expm1(t) = t·P(t), |t| < ¼, in two float64 lanes; P (degree 11) in Estrin's scheme: the
 * loops are bound by the latency of its chain (Horner's is 22 dependent operations).  Its
 * coefficients are read where it runs (only vectors with a near lane take it), not held
 * across the callers' loops.
 */
// @ts-ignore: decorator
@inline function expm1SmallF64x2(t: v128): v128 {
  const t2 = f64x2.mul(t, t), t4 = f64x2.mul(t2, t2);
  const a = madd64(t, em(10), em(11)), b = madd64(t, em(8), em(9)), c = madd64(t, em(6), em(7));
  const d = madd64(t, em(4), em(5)), e = madd64(t, em(2), em(3)), f = madd64(t, em(0), em(1));
  const p = madd64(t4, madd64(t4, madd64(t2, f, e), madd64(t2, d, c)), madd64(t2, b, a));
  return f64x2.mul(p, t);
}

/**
 * Δ's terms (in a's units) in two float64 lanes of a float32 row pair where some lanes have
 * ea = 0 (`none`); elsewhere the kernels take ea·expm1(−u) alone.  Each term ea·expm1(−u)
 * comes from the same ea as Σ ea, so that ea's rounding moves p and q alike and costs D a
 * few roundings of M = Σ p·|log p/q|; q's own float32 exponential there would add its 2.3
 * ulp times the mass of q away from p, up to ~9·M after the centring.  Where ea is 0, p has
 * no mass to move and the term is q's mass, e^((b − mb)/T)·kq (db = b − mb, kq = scaleA·e^shift).
 */
// @ts-ignore: decorator
@inline function klTermsF64x2(ea: v128, u: v128, none: v128, db: v128, invT: v128, kq: v128): v128 {
  const xb = f64x2.mul(db, invT);
  const e = expm1F64x2(v128.bitselect(xb, f64x2.neg(u), none), none);
  // (ea·e is 0 where ea is: e is finite; q's exponentials below the normal range are 0, as
  // the vector exp gives them — a masked entry's among them)
  const q = v128.andnot(none, f64x2.lt(xb, f64x2.splat(LN_FLT_MIN - 0.01)));
  return madd64(ea, e, v128.and(f64x2.mul(e, kq), q));
}

// the second row's set-up goes past the first's in tmp (the KL kernels use no tile)
const T_B2 = T_TILE;

/**
 * One pass over a wide float32 row pair (both set-ups done: a's at tmp, b's at tmp +
 * T_B2).  `write` false: the sums, centred on `shift` (klSA, klDelta = Σ (eb − ea) in a's
 * units, klA = Σ ea·(u − shift), klHole; kq = scaleA·e^shift, see `klTermsF64x2`); true: the
 * gradients, from the sums (ia = 1/Σea, ib = 1/Σeb, c, g = gscale/T; shift 0).
 */
function klPassF32(a: usize, b: usize, n: i32, ma: f32, mb: f32, T: f64, tmp: usize, kq: f64, shift: f64,
  write: bool, ia: f64, ib: f64, c: f64, g: f64, gp: usize, gq: usize): void {
  const ba = v128.load(tmp, T_B), mga = v128.load(tmp, T_MAGIC), cuta = v128.load(tmp, T_CUT), lifta = v128.load(tmp, T_LIFT);
  const bb = v128.load(tmp, T_B2 + T_B), mgb = v128.load(tmp, T_B2 + T_MAGIC), cutb = v128.load(tmp, T_B2 + T_CUT), liftb = v128.load(tmp, T_B2 + T_LIFT);
  const k = f32x4.splat(<f32>(LOG2E / T)), invT = f32x4.splat(<f32>(1.0 / T));
  const c1 = negLn2HiF32x4(T), c2 = negLn2LoF32x4(T);
  const p1 = k32(F_P1), p2 = k32(F_P2), p3 = k32(F_P3), p4 = k32(F_P4), p5 = k32(F_P5), one = k32(F_ONE);
  // u − shift = ((a − ma) − (b − mb))/T − shift: the shift after the product (folded into
  // mb, it is lost to mb's rounding when |mb| is large: mb = 1e20 has an ulp of 16384)
  const ma64 = f64x2.splat(<f64>ma), mb64 = f64x2.splat(<f64>mb), vshift = f64x2.splat(shift);
  // masked entries (only they) are lifted to −FLT_MAX: u only has to be finite there (p or q is 0)
  const lowest = k32(F_LOWEST);
  const invT64 = f64x2.splat(1.0 / T);
  const via = f64x2.splat(ia), vib = f64x2.splat(ib), vc = f64x2.splat(c), vg = f64x2.splat(g);
  const vk = f64x2.splat(kq);
  const zero = f32x4.splat(0), ninf = f32x4.splat(-Infinity), zero64 = f64x2.splat(0);
  let sa = f64x2.splat(0), delta = sa, acc = sa, holes = i32x4.splat(0);
  for (let i = 0; i < n; i += 4) {
    const r = min(n - i, 4);
    const o = <usize>i << 2;
    const mask = i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(r));
    const va = v128.bitselect(v128.load(a + o), ninf, mask), vb = v128.bitselect(v128.load(b + o), ninf, mask);
    const ea = expF32x4(va, ba, k, mga, c1, c2, invT, cuta, lifta, p1, p2, p3, p4, p5, one);
    const la = f32x4.pmax(va, lowest), lb = f32x4.pmax(vb, lowest); // (NaN stays NaN)
    // (a − ma) − (b − mb), each difference exact in float64
    const db0 = f64x2.sub(f64x2.promote_low_f32x4(lb), mb64), db1 = f64x2.sub(promoteHighF32x4(lb), mb64);
    const u0 = f64x2.sub(f64x2.mul(f64x2.sub(f64x2.sub(f64x2.promote_low_f32x4(la), ma64), db0), invT64), vshift);
    const u1 = f64x2.sub(f64x2.mul(f64x2.sub(f64x2.sub(promoteHighF32x4(la), ma64), db1), invT64), vshift);
    const ea0 = f64x2.promote_low_f32x4(ea), ea1 = promoteHighF32x4(ea);
    if (write) {
      const p0 = f64x2.mul(ea0, via), q1 = f64x2.mul(ea1, via);
      if (gq) {
        const eb = expF32x4(vb, bb, k, mgb, c1, c2, invT, cutb, liftb, p1, p2, p3, p4, p5, one);
        const d0 = f64x2.mul(f64x2.sub(f64x2.mul(f64x2.promote_low_f32x4(eb), vib), p0), vg);
        const d1 = f64x2.mul(f64x2.sub(f64x2.mul(promoteHighF32x4(eb), vib), q1), vg);
        storeLanesF32(gq + o, i32x4.shuffle(f32x4.demote_f64x2_zero(d0), f32x4.demote_f64x2_zero(d1), 0, 1, 4, 5), r);
      }
      if (gp) {
        const d0 = f64x2.mul(f64x2.mul(p0, f64x2.sub(u0, vc)), vg);
        const d1 = f64x2.mul(f64x2.mul(q1, f64x2.sub(u1, vc)), vg);
        storeLanesF32(gp + o, i32x4.shuffle(f32x4.demote_f64x2_zero(d0), f32x4.demote_f64x2_zero(d1), 0, 1, 4, 5), r);
      }
    } else {
      holes = v128.or(holes, v128.and(f32x4.ne(ea, zero), f32x4.eq(vb, ninf)));
      sa = f64x2.add(sa, widenF32x4(ea));
      acc = madd64(ea0, u0, acc);
      acc = madd64(ea1, u1, acc);
      // Δ in units of a's E (see `klTermsF64x2`)
      let d0: v128, d1: v128;
      const none = f32x4.eq(ea, zero);
      if (v128.any_true(none)) {
        d0 = klTermsF64x2(ea0, u0, i64x2.extend_low_i32x4_s(none), db0, invT64, vk);
        d1 = klTermsF64x2(ea1, u1, i64x2.extend_high_i32x4_s(none), db1, invT64, vk);
      } else {
        d0 = f64x2.mul(ea0, expm1F64x2(f64x2.neg(u0), zero64));
        d1 = f64x2.mul(ea1, expm1F64x2(f64x2.neg(u1), zero64));
      }
      delta = f64x2.add(delta, d0);
      delta = f64x2.add(delta, d1);
    }
  }
  if (!write) {
    klSA = sumLanesF64x2(sa);
    klDelta = sumLanesF64x2(delta);
    klA = sumLanesF64x2(acc);
    klHole = v128.any_true(holes);
  }
}

/** D for rows where ma or mb is not finite (`nan`: either row holds a NaN). */
function specialKl(ma: f64, mb: f64, nan: bool): f64 {
  if (nan) return NaN;
  if (ma == -Infinity) return 0; // a has no mass
  if (ma == Infinity || mb == Infinity) return NaN;
  return Infinity; // b is fully masked where a has mass
}

/**
 * The scalar build's passes over a row pair (float32 or float64 by `size`), in float64
 * with Math.exp: the sums (blocks of 32 into compensated pairs), or (`write`) the
 * gradients, as `klPassF32` (rr = e^shift: the scales are 1 here).
 */
function scalarKl(a: usize, b: usize, n: i32, ma: f64, mb: f64, T: f64, size: i32, rr: f64, shift: f64,
  write: bool, ia: f64, ib: f64, c: f64, g: f64, gp: usize, gq: usize): void {
  const invT = 1.0 / T, cut = size == 4 ? F32_CUT : F64_CUT;
  let hSA: f64 = 0, lSA: f64 = 0, hD: f64 = 0, lD: f64 = 0, hA: f64 = 0, lA: f64 = 0;
  let hole = false;
  let i = 0;
  while (i < n) {
    const end = min(i + 32, n);
    let sa: f64 = 0, delta: f64 = 0, acc: f64 = 0;
    for (; i < end; i++) {
      const va: f64 = size == 4 ? <f64>load<f32>(a + (<usize>i << 2)) : load<f64>(a + (<usize>i << 3));
      const vb: f64 = size == 4 ? <f64>load<f32>(b + (<usize>i << 2)) : load<f64>(b + (<usize>i << 3));
      // exponentials below the normal range are 0, as the vector exp gives them (so that an
      // entry of P whose probability is flushed is no hole where Q is masked)
      let ea = Math.exp((va - ma) * invT), eb = Math.exp((vb - mb) * invT);
      if (ea < cut) ea = 0;
      if (eb < cut) eb = 0;
      // (0 where ea is: a − ma may overflow there, and 0·∞ would be NaN)
      const u = ea == 0 ? 0 : ((va == -Infinity ? -100 * T : va - ma) - (vb == -Infinity ? -100 * T : vb - mb)) * invT - shift;
      if (write) {
        const p = ea * ia;
        if (gq) {
          const v = (eb * ib - p) * g;
          if (size == 4) store<f32>(gq + (<usize>i << 2), <f32>v);
          else store<f64>(gq + (<usize>i << 3), v);
        }
        if (gp) {
          const v = p * (u - c) * g;
          if (size == 4) store<f32>(gp + (<usize>i << 2), <f32>v);
          else store<f64>(gp + (<usize>i << 3), v);
        }
      } else {
        if (ea != 0 && vb == -Infinity) hole = true;
        sa += ea;
        if (ea != 0) acc += ea * u;
        delta += ea != 0 && vb != -Infinity && Math.abs(u) < EXPM1_NEAR ? ea * Math.expm1(-u) : eb * rr - ea;
      }
    }
    if (!write) {
      hSA = twoSum(hSA, sa); lSA += twoLo;
      hD = twoSum(hD, delta); lD += twoLo;
      hA = twoSum(hA, acc); lA += twoLo;
    }
  }
  if (!write) {
    // (an infinite or NaN sum's compensation is NaN)
    klSA = isFinite(hSA) ? hSA + lSA : hSA;
    klDelta = isFinite(hD) ? hD + lD : hD;
    klA = isFinite(hA) ? hA + lA : hA;
    klHole = hole;
  }
}

// |log(SA/SB)| above this many D: the row is taken again, centred (see above)
const KL_CENTRE: f64 = 64;

/** gradQ of a row whose a or b maximum is not finite: q/T where a has no mass and b does, else NaN. */
function klSpecialGrad(b: usize, n: i32, mb: f64, T: f64, g: f64, d: f64, gq: usize, size: i32): void {
  const invT = 1.0 / T;
  let s: f64 = 0;
  if (d == 0 && isFinite(mb)) {
    for (let i = 0; i < n; i++) s += Math.exp(((size == 4 ? <f64>load<f32>(b + (<usize>i << 2)) : load<f64>(b + (<usize>i << 3))) - mb) * invT);
  }
  for (let i = 0; i < n; i++) {
    const v = d == 0 && isFinite(mb)
      ? Math.exp(((size == 4 ? <f64>load<f32>(b + (<usize>i << 2)) : load<f64>(b + (<usize>i << 3))) - mb) * invT) / s * g
      : NaN;
    if (size == 4) store<f32>(gq + (<usize>i << 2), <f32>v);
    else store<f64>(gq + (<usize>i << 3), v);
  }
}

/**
 * out[r] = D(softmax(a[r, :]/T) ‖ softmax(b[r, :]/T)) times `gscale` (1/ln base; −0 as 0);
 * gradP, gradQ (or 0): the gradients above scaled by it.  `tmp`: see rows.ts.
 */
export function softmaxKlDivergenceRowsF32(a: usize, b: usize, rows: i32, cols: i32, T: f64, gscale: f64,
  gradP: usize, gradQ: usize, out: usize, tmp: usize): void {
  // rows of two without gradients: each finite row in closed form, on every backend and in
  // any position (a call's tail, a single row), so that a row's value is its own; whole
  // groups of 4 other narrow rows without gradients in lanes; the rest row by row
  let first = 0;
  if (cols == 2 && !gradP && !gradQ) {
    first = rows;
    if (ASC_FEATURE_SIMD) klTwoF32(a, b, rows, T, out, tmp);
    else klTwoScalarF32(a, b, rows, T, out, tmp);
  } else if (ASC_FEATURE_SIMD && cols < NARROW && cols > 0 && !gradP && !gradQ) {
    first = rows & ~3;
    if (first > 0) klNarrowF32(a, b, first, cols, T, out, tmp);
  }
  for (let r = first; r < rows; r++) klRowF32(a, b, r, cols, T, gscale, gradP, gradQ, out, tmp);
  klScaleRowsF64(out, rows, gscale); // (in the base's scale, as softmaxEntropyRowsF32's)
}

/**
 * out[r] = max(D, 0)·gscale, −0 as 0; NaN stays NaN.  D ≥ 0, but a row whose terms below the
 * normal range were dropped can come out a few FLT_MIN under it: D is clamped before the
 * scale, whose sign is the base's (a base below 1 makes every divergence ≤ 0).
 */
function klScaleRowsF64(out: usize, rows: i32, g: f64): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vg = f64x2.splat(g), zero = f64x2.splat(0);
    // (pmax(v, 0) is v < 0 ? 0 : v: a NaN passes)
    for (; i + 2 <= rows; i += 2) v128.store(out + (<usize>i << 3), madd64(f64x2.pmax(v128.load(out + (<usize>i << 3)), zero), vg, zero));
  }
  for (; i < rows; i++) {
    const d = load<f64>(out + (<usize>i << 3));
    store<f64>(out + (<usize>i << 3), (d < 0 ? 0 : d) * g + 0);
  }
}

// Rows of two entries (a binary teacher and student) in closed form.  With da = a₁ − a₀ and
// db = b₁ − b₀ (exact in float64), the two classes swapped where da > 0 (D is symmetric in
// them), α = da/T ≤ 0, β = db/T, δ = (db − da)/T and s = σ(α) = p₁ ≤ ½:
//   D = softplus(β) − softplus(α) − s·δ,
// the Bregman divergence of softplus.  Where |δ| ≥ ½, D ≥ 0.12·s·|δ| and the softplus values
// are at most ~31·D (s = ½, |δ| = ½): their few ulps cost at most ~1e-14 of D.  Below,
// where D ≈ s(1 − s)·δ²/2, it is taken apart: with h = e^δ − 1 − δ = δ²·H(δ) and
// t = s·(δ + h) = s·expm1(δ),
//   D = [log1p(t) − t] + s·h,   log1p(t) − t = −t·w + 2w³·G(w²),  w = t/(2 + t)
// (log1p(t) = 2·atanh(w)): two terms of opposite signs, each at most 2.4 times their sum.
// H is e^δ's Taylor series from 1/2! to δ¹²/14! (|δ| < ½: truncated at 2e-16 of H), G
// atanh's from 1/3 to w¹⁴/17 (|w| < 0.14: at 4e-15 of G, whose term is under 5 % of
// log1p(t) − t).  e^α and e^−|β| are 0 below ln DBL_MIN, where they stop being normal (as
// the vector exp gives them), on every backend.  Worst relative error against mpmath over 20,000 random float32
// row pairs at T = 1 (pairs a millionth apart among them): 5.0e-15; a temperature adds the
// rounding of da/T, up to |α|·2^-52 (over 8,000 more with spreads to 3e38 and T from
// 1e-20 to 100: 5.3e-14, at α = −588).
const KL_TWO = memory.data<f64>([
  0.5, 0.16666666666666666, 4.1666666666666664e-2, 8.333333333333333e-3, 1.388888888888889e-3, 1.984126984126984e-4,
  2.48015873015873e-5, 2.7557319223985893e-6, 2.755731922398589e-7, 2.505210838544172e-8, 2.08767569878681e-9,
  1.6059043836821613e-10, 1.1470745597729725e-11,
  0.3333333333333333, 0.2, 0.14285714285714285, 0.1111111111111111, 0.09090909090909091, 0.07692307692307693,
  0.06666666666666667, 0.058823529411764705,
], 16);
const KL_H = 0, KL_G = 13, KL_END = 21;

/** KL_TWO's coefficient i, splatted. */
// @ts-ignore: decorator
@inline function kt(i: i32): v128 {
  return v128.load64_splat(KL_TWO + (<usize>i << 3));
}

/**
 * D of `rows` float32 rows of two entries, four a step in two float64 vectors (see above);
 * the last rows (rows % 4) through a padded copy in `tmp`.  A row with an entry or a
 * difference/T that is not finite is taken again alone by the row path.
 */
function klTwoF32(a: usize, b: usize, rows: i32, T: f64, out: usize, tmp: usize): void {
  const full = rows & ~3;
  if (full > 0) klTwoGroupsF32(a, b, full, T, out, a, b, tmp);
  const rest = rows - full;
  if (rest > 0) {
    // (zeros after the rows: finite lanes whose results are dropped)
    const ta = tmp, tb = tmp + 32, to = tmp + 64;
    v128.store(ta, i64x2.splat(0));
    v128.store(ta, i64x2.splat(0), 16);
    v128.store(tb, i64x2.splat(0));
    v128.store(tb, i64x2.splat(0), 16);
    memory.copy(ta, a + (<usize>full << 3), <usize>rest << 3);
    memory.copy(tb, b + (<usize>full << 3), <usize>rest << 3);
    const bad = klTwoGroupsF32(ta, tb, 4, T, to, a, b, 0);
    for (let i = 0; i < rest; i++) store<f64>(out + (<usize>(full + i) << 3), load<f64>(to + (<usize>i << 3)));
    for (let i = 0; i < rest; i++) if (bad & (1 << i)) klRowF32(a, b, full + i, 2, T, 1, 0, 0, out, tmp);
  }
}

/**
 * `klTwoF32`'s four-row steps over x = a, y = b (`rows` a multiple of 4), results to out;
 * rows that are not finite taken by the row path on the caller's `a`, `b` where `tmp` is
 * not 0, else their lanes in the last group returned as a bit mask.
 */
function klTwoGroupsF32(x: usize, y: usize, rows: i32, T: f64, out: usize, a: usize, b: usize, tmp: usize): i32 {
  const invT = f64x2.splat(1.0 / T), sign = sg64(SD_SIGN), zero = sg64(SD_ZERO);
  const log2e = sg64(SD_LOG2E), magic = sg64(SD_MAGIC), c1 = sg64(SD_NLN2_HI), c2 = sg64(SD_NLN2_LO), cut = sg64(SD_CUT), ntiny = sg64(SD_NTINY), one = sg64(SD_ONE);
  const p0 = sg64(SD_P0), p1 = sg64(SD_P0 + 1), p2 = sg64(SD_P0 + 2), p3 = sg64(SD_P0 + 3), p4 = sg64(SD_P0 + 4);
  const p5 = sg64(SD_P0 + 5), p6 = sg64(SD_P0 + 6), p7 = sg64(SD_P0 + 7), p8 = sg64(SD_P0 + 8), p9 = sg64(SD_P0 + 9);
  const two = sg64(SD_TWO), half = sg64(SD_HALF), nhalf = sg64(SD_NHALF), tiny = sg64(SD_TINY), lnHi = sg64(SD_LN2_HI), lnLo = sg64(SD_LN2_LO);
  const r0 = sg64(SD_R0), r1 = sg64(SD_R0 + 1), r2 = sg64(SD_R0 + 2), r3 = sg64(SD_R0 + 3), r4 = sg64(SD_R0 + 4), r5 = sg64(SD_R0 + 5), r6 = sg64(SD_R0 + 6);
  let bad = 0;
  for (let r = 0; r < rows; r += 4) {
    const o = <usize>r << 3;
    // four rows: the first entries (even lanes) and the second (odd)
    const va = v128.load(x + o), wa = v128.load(x + o, 16), vb = v128.load(y + o), wb = v128.load(y + o, 16);
    const a0 = i32x4.shuffle(va, wa, 0, 2, 4, 6), a1 = i32x4.shuffle(va, wa, 1, 3, 5, 7);
    const b0 = i32x4.shuffle(vb, wb, 0, 2, 4, 6), b1 = i32x4.shuffle(vb, wb, 1, 3, 5, 7);
    const daLo = f64x2.sub(f64x2.promote_low_f32x4(a1), f64x2.promote_low_f32x4(a0)), daHi = f64x2.sub(promoteHighF32x4(a1), promoteHighF32x4(a0));
    const dbLo = f64x2.sub(f64x2.promote_low_f32x4(b1), f64x2.promote_low_f32x4(b0)), dbHi = f64x2.sub(promoteHighF32x4(b1), promoteHighF32x4(b0));
    // rows whose da/T and db/T are finite (so are their entries and δ; NaN is not)
    const okLo = v128.and(finiteF64x2(f64x2.mul(daLo, invT)), finiteF64x2(f64x2.mul(dbLo, invT)));
    const okHi = v128.and(finiteF64x2(f64x2.mul(daHi, invT)), finiteF64x2(f64x2.mul(dbHi, invT)));
    // rows r, r + 1, then r + 2, r + 3 (one copy of the inlined body: the package's size)
    for (let k = 0; k < 2; k++) {
      const d = klTwoF64x2(k ? daHi : daLo, k ? dbHi : dbLo, invT, sign, zero, log2e, magic, c1, c2, cut, ntiny, one,
        p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, two, half, nhalf, tiny, lnHi, lnLo, r0, r1, r2, r3, r4, r5, r6);
      v128.store(out + (<usize>(r + 2 * k) << 3), d);
    }
    if (!i64x2.all_true(v128.and(okLo, okHi))) {
      bad = ~(i64x2.bitmask(okLo) | (i64x2.bitmask(okHi) << 2)) & 15;
      if (tmp) for (let i = 0; i < 4; i++) if (bad & (1 << i)) klRowF32(a, b, r + i, 2, T, 1, 0, 0, out, tmp);
    }
  }
  return bad;
}

/** `klTwoF32` for the scalar build, row by row with Math.log1p (the row path where it is not finite, alike). */
function klTwoScalarF32(a: usize, b: usize, rows: i32, T: f64, out: usize, tmp: usize): void {
  const invT = 1.0 / T;
  for (let r = 0; r < rows; r++) {
    const o = <usize>r << 3;
    const da = <f64>load<f32>(a + o, 4) - <f64>load<f32>(a + o), db = <f64>load<f32>(b + o, 4) - <f64>load<f32>(b + o);
    if (isFinite(da * invT) && isFinite(db * invT)) store<f64>(out + o, klTwo(da, db, invT));
    else klRowF32(a, b, r, 2, T, 1, 0, 0, out, tmp);
  }
}

/** `klTwoF64x2` in one lane (Horner's scheme; the same exponential, `Math.log1p`). */
function klTwo(da: f64, db: f64, invT: f64): f64 {
  const flip = da > 0;
  const fa = flip ? -da : da, fb = flip ? -db : db;
  const alpha = fa * invT, beta = fb * invT, delta = (fb - fa) * invT;
  const e = expNonPos(alpha, 0), s = e / (1 + e);
  if (!(Math.abs(delta) < 0.5)) return (Math.max(beta, 0) + Math.log1p(expNonPos(-Math.abs(beta), 0)) - Math.log1p(e)) - s * delta;
  let H: f64 = 0, G: f64 = 0;
  for (let k = KL_G - 1; k >= KL_H; k--) H = H * delta + load<f64>(KL_TWO + (<usize>k << 3));
  const h = delta * delta * H;
  const t = s * (delta + h), w = t / (2 + t), z = w * w;
  for (let k = KL_END - 1; k >= KL_G; k--) G = G * z + load<f64>(KL_TWO + (<usize>k << 3));
  return s * h + ((w + w) * z * G - t * w);
}

/** D of two rows of two entries from their differences da and db (see above). */
// @ts-ignore: decorator
@inline function klTwoF64x2(da: v128, db: v128, invT: v128, sign: v128, zero: v128,
  log2e: v128, magic: v128, c1: v128, c2: v128, cut: v128, ntiny: v128, one: v128,
  p0: v128, p1: v128, p2: v128, p3: v128, p4: v128, p5: v128, p6: v128, p7: v128, p8: v128, p9: v128,
  two: v128, half: v128, nhalf: v128, tiny: v128, lnHi: v128, lnLo: v128,
  r0: v128, r1: v128, r2: v128, r3: v128, r4: v128, r5: v128, r6: v128): v128 {
  // the classes swapped where da > 0: α ≤ 0
  const flip = v128.and(f64x2.gt(da, zero), sign);
  const fa = v128.xor(da, flip), fb = v128.xor(db, flip);
  const alpha = f64x2.mul(fa, invT), beta = f64x2.mul(fb, invT), delta = f64x2.mul(f64x2.sub(fb, fa), invT);
  const e = expNonPosF64x2(alpha, log2e, magic, c1, c2, cut, ntiny, one, p0, p1, p2, p3, p4, p5, p6, p7, p8, p9);
  const s = f64x2.div(e, f64x2.add(one, e));
  // each form only where a lane takes it (random rows are mostly far; close ones near)
  const isNear = f64x2.lt(f64x2.abs(delta), half);
  let d = zero;
  if (!i64x2.all_true(isNear)) {
    // far: softplus(β) − softplus(α) − s·δ
    const eb = expNonPosF64x2(v128.or(beta, sign), log2e, magic, c1, c2, cut, ntiny, one, p0, p1, p2, p3, p4, p5, p6, p7, p8, p9);
    const spa = log1pUnitF64x2(e, two, half, nhalf, tiny, lnHi, lnLo, r0, r1, r2, r3, r4, r5, r6);
    const spb = f64x2.add(f64x2.pmax(beta, zero), log1pUnitF64x2(eb, two, half, nhalf, tiny, lnHi, lnLo, r0, r1, r2, r3, r4, r5, r6));
    d = f64x2.sub(f64x2.sub(spb, spa), f64x2.mul(s, delta));
  }
  if (v128.any_true(isNear)) {
    // near: [log1p(t) − t] + s·h
    const d2 = f64x2.mul(delta, delta), d4 = f64x2.mul(d2, d2), d8 = f64x2.mul(d4, d4);
    const hA = madd64(delta, kt(KL_H + 1), kt(KL_H)), hB = madd64(delta, kt(KL_H + 3), kt(KL_H + 2));
    const hC = madd64(delta, kt(KL_H + 5), kt(KL_H + 4)), hD = madd64(delta, kt(KL_H + 7), kt(KL_H + 6));
    const hE = madd64(delta, kt(KL_H + 9), kt(KL_H + 8)), hF = madd64(delta, kt(KL_H + 11), kt(KL_H + 10));
    const H = madd64(d8, madd64(d4, kt(KL_H + 12), madd64(d2, hF, hE)), madd64(d4, madd64(d2, hD, hC), madd64(d2, hB, hA)));
    const h = f64x2.mul(d2, H);
    const t = f64x2.mul(s, f64x2.add(delta, h));
    const w = f64x2.div(t, f64x2.add(two, t));
    const z = f64x2.mul(w, w), z2 = f64x2.mul(z, z), z4 = f64x2.mul(z2, z2);
    const G = madd64(z4, madd64(z2, madd64(z, kt(KL_G + 7), kt(KL_G + 6)), madd64(z, kt(KL_G + 5), kt(KL_G + 4))),
      madd64(z2, madd64(z, kt(KL_G + 3), kt(KL_G + 2)), madd64(z, kt(KL_G + 1), kt(KL_G))));
    const g = f64x2.sub(f64x2.mul(f64x2.mul(f64x2.add(w, w), z), G), f64x2.mul(t, w));
    d = v128.bitselect(madd64(s, h, g), d, isNear);
  }
  return d;
}

/**
 * log1p(x) for the float32 rows' log(SB/SA) = log1p(Δ/SA): the vector log (2.7 ulp near
 * 0), in every lane of a group of four as in a row of its own, so that the two give one
 * result.  1 + x = SB/SA is positive and normal: SA ∈ (½, n] and SB (in a's units,
 * scaleA/scaleB ∈ (½, 2)) ∈ (¼, 2n], so 1 + x ∈ (1/4n, 4n); the centred pass's e^c, |c| < 2·|log SA/SB|,
 * widens that to ((4n)⁻³, (4n)³).
 */
// @ts-ignore: decorator
@inline function klLog1p(x: f64): f64 {
  return ASC_FEATURE_SIMD ? f64x2.extract_lane(logOnesPlusF64x2(k64(D_ONE), f64x2.splat(x)), 0) : Math.log1p(x);
}

/** Row r of `softmaxKlDivergenceRowsF32`. */
function klRowF32(a: usize, b: usize, r: i32, cols: i32, T: f64, gscale: f64, gradP: usize, gradQ: usize, out: usize, tmp: usize): void {
  {
    const off = <usize>r * <usize>cols << 2;
    const ra = a + off, rb = b + off;
    const gp = gradP ? gradP + off : 0, gq = gradQ ? gradQ + off : 0;
    const ma = ASC_FEATURE_SIMD ? f32x4.extract_lane(rowMaxF32(ra, cols), 0) : scalarMaxF32(ra, cols);
    const mb = ASC_FEATURE_SIMD ? f32x4.extract_lane(rowMaxF32(rb, cols), 0) : scalarMaxF32(rb, cols);
    if (!isFinite(ma) || !isFinite(mb)) {
      const d = specialKl(ma, mb, hasNaNF32(ra, cols) || hasNaNF32(rb, cols));
      store<f64>(out + (<usize>r << 3), d);
      if (gp) fillF32(gp, cols, d == 0 ? 0 : NaN);
      if (gq) klSpecialGrad(rb, cols, mb, T, gscale / T, d, gq, 4);
      return;
    }
    let scaleA: f64 = 1, scaleB: f64 = 1;
    if (ASC_FEATURE_SIMD) {
      setupF32(f32x4.splat(ma), T, tmp);
      setupF32(f32x4.splat(mb), T, tmp + T_B2);
      scaleA = <f64>f32x4.extract_lane(expOfF32(f32x4.splat(ma), T, tmp), 0);
      scaleB = <f64>f32x4.extract_lane(expOfF32(f32x4.splat(mb), T, tmp + T_B2), 0);
      klPassF32(ra, rb, cols, ma, mb, T, tmp, scaleA, 0, false, 0, 0, 0, 0, 0, 0);
    } else scalarKl(ra, rb, cols, <f64>ma, <f64>mb, T, 4, 1, 0, false, 0, 0, 0, 0, 0, 0);
    // log(SB/SA) = log1p(Δ/SA), Δ and SA in the same units
    let logRatio = -klLog1p(klDelta / klSA); // log(SA/SB)
    let d = klA / klSA - logRatio;
    let sb = klSA + klDelta; // SB in units of a's E
    if (!klHole && Math.abs(logRatio) > KL_CENTRE * Math.abs(d)) {
      // the parts cancel: again, centred on the mean shift c
      const c = klA / klSA, ec = Math.exp(c);
      if (ASC_FEATURE_SIMD) klPassF32(ra, rb, cols, ma, mb, T, tmp, scaleA * ec, c, false, 0, 0, 0, 0, 0, 0);
      else scalarKl(ra, rb, cols, <f64>ma, <f64>mb, T, 4, ec, c, false, 0, 0, 0, 0, 0, 0);
      const l = klLog1p(klDelta / klSA);
      d = klA / klSA + l;
      logRatio = c - l;
      sb = (klSA + klDelta) / ec;
    }
    // b masked where a has mass: Infinity, unless a NaN makes the row NaN
    if (klHole) d = hasNaNF32(ra, cols) || hasNaNF32(rb, cols) ? NaN : Infinity;
    store<f64>(out + (<usize>r << 3), d);
    if (gp || gq) {
      // 1/SB in units of b's E: SB' = SB·scaleB/scaleA
      const ia = 1.0 / klSA, ib = scaleA / (sb * scaleB), c = logRatio + d, g = gscale / T;
      if (ASC_FEATURE_SIMD) klPassF32(ra, rb, cols, ma, mb, T, tmp, 0, 0, true, ia, ib, c, g, gp, gq);
      else scalarKl(ra, rb, cols, <f64>ma, <f64>mb, T, 4, 1, 0, true, ia, ib, c, g, gp, gq);
    }
  }
}

// float32 narrow rows (fewer than NARROW entries), four a step: the tiles of a and b
// (rows.ts: `gatherF32`; lane = row), b's at tmp + KL_B and each set-up beside its tile,
// the four rows' sums at tmp + KL_SUMS.  At two columns the row loop's set-ups, horizontal
// sums and calls cost ~150 ns a row, more than a naive JS loop.
const KL_B: usize = 2048, KL_SUMS: usize = 1536;

/**
 * `klPassF32`'s sums (centred on `shift`, kq = scaleA·e^shift per row), for the four rows
 * of the tiles at tmp and tmp + KL_B, each in its lane: to tmp + KL_SUMS, as float64 per
 * row, Σ ea, Δ, Σ ea·u, then the hole lanes (int32).  `ma`, `mb`: the rows' maxima (finite;
 * no NaN in the tiles).  Inlined into `klNarrowF32`'s two passes: as a call, its nine
 * arguments and two dozen constants were formed again for every group.
 */
// @ts-ignore: decorator
@inline function klLanesF32(tmp: usize, cols: i32, ma: v128, mb: v128, T: f64, kLo: v128, kHi: v128, shLo: v128, shHi: v128): void {
  const tb = tmp + KL_B;
  const ba = v128.load(tmp, T_B), mga = v128.load(tmp, T_MAGIC), cuta = v128.load(tmp, T_CUT), lifta = v128.load(tmp, T_LIFT);
  const k = f32x4.splat(<f32>(LOG2E / T)), invT = f32x4.splat(<f32>(1.0 / T));
  const c1 = negLn2HiF32x4(T), c2 = negLn2LoF32x4(T);
  const p1 = k32(F_P1), p2 = k32(F_P2), p3 = k32(F_P3), p4 = k32(F_P4), p5 = k32(F_P5), one = k32(F_ONE);
  const maLo = f64x2.promote_low_f32x4(ma), maHi = promoteHighF32x4(ma), mbLo = f64x2.promote_low_f32x4(mb), mbHi = promoteHighF32x4(mb);
  const lowest = k32(F_LOWEST), invT64 = f64x2.splat(1.0 / T);
  const zero = f32x4.splat(0), ninf = f32x4.splat(-Infinity), zero64 = f64x2.splat(0);
  let saLo = zero64, saHi = zero64, dLo = zero64, dHi = zero64, aLo = zero64, aHi = zero64, holes = i32x4.splat(0);
  for (let j = 0; j < cols; j++) {
    const o = <usize>j << 4;
    const va = v128.load(tmp + T_TILE + o), vb = v128.load(tb + T_TILE + o);
    const ea = expF32x4(va, ba, k, mga, c1, c2, invT, cuta, lifta, p1, p2, p3, p4, p5, one);
    const la = f32x4.pmax(va, lowest), lb = f32x4.pmax(vb, lowest);
    // the terms of `klPassF32`, rows 0 and 1 in u0 (and the like), rows 2 and 3 in u1
    const db0 = f64x2.sub(f64x2.promote_low_f32x4(lb), mbLo), db1 = f64x2.sub(promoteHighF32x4(lb), mbHi);
    const u0 = f64x2.sub(f64x2.mul(f64x2.sub(f64x2.sub(f64x2.promote_low_f32x4(la), maLo), db0), invT64), shLo);
    const u1 = f64x2.sub(f64x2.mul(f64x2.sub(f64x2.sub(promoteHighF32x4(la), maHi), db1), invT64), shHi);
    const ea0 = f64x2.promote_low_f32x4(ea), ea1 = promoteHighF32x4(ea);
    holes = v128.or(holes, v128.and(f32x4.ne(ea, zero), f32x4.eq(vb, ninf)));
    saLo = f64x2.add(saLo, ea0);
    saHi = f64x2.add(saHi, ea1);
    aLo = madd64(ea0, u0, aLo);
    aHi = madd64(ea1, u1, aHi);
    let d0: v128, d1: v128;
    const none = f32x4.eq(ea, zero);
    if (v128.any_true(none)) {
      d0 = klTermsF64x2(ea0, u0, i64x2.extend_low_i32x4_s(none), db0, invT64, kLo);
      d1 = klTermsF64x2(ea1, u1, i64x2.extend_high_i32x4_s(none), db1, invT64, kHi);
    } else {
      d0 = f64x2.mul(ea0, expm1F64x2(f64x2.neg(u0), zero64));
      d1 = f64x2.mul(ea1, expm1F64x2(f64x2.neg(u1), zero64));
    }
    dLo = f64x2.add(dLo, d0);
    dHi = f64x2.add(dHi, d1);
  }
  const q = tmp + KL_SUMS;
  v128.store(q, saLo);
  v128.store(q, saHi, 16);
  v128.store(q, dLo, 32);
  v128.store(q, dHi, 48);
  v128.store(q, aLo, 64);
  v128.store(q, aHi, 80);
  v128.store(q, holes, 96);
}

/**
 * D of `rows` (a multiple of 4) narrow float32 rows, four a step: the sums of each row in
 * its lane (`klLanesF32`), then each row finished as `klRowF32` finishes it — again
 * centred where its parts cancel (one more pass for the four when any row needs it).  A
 * group holding a special row (a maximum not finite, a NaN) is taken row by row.
 */
function klNarrowF32(a: usize, b: usize, rows: i32, cols: i32, T: f64, out: usize, tmp: usize): void {
  const tb = tmp + KL_B, q = tmp + KL_SUMS;
  const zero64 = f64x2.splat(0), one = k64(D_ONE), inf = f64x2.splat(Infinity), centreBy = f64x2.splat(KL_CENTRE);
  for (let r = 0; r < rows; r += 4) {
    const ma = gatherF32(a, r, cols, tmp), mb = gatherF32(b, r, cols, tb);
    const nan = v128.or(v128.load(tmp, T_NAN), v128.load(tb, T_NAN));
    if (!i32x4.all_true(v128.and(finiteF32x4(ma), finiteF32x4(mb))) || v128.any_true(nan)) {
      for (let i = 0; i < 4; i++) klRowF32(a, b, r + i, cols, T, 1, 0, 0, out, tmp);
      continue;
    }
    setupF32(ma, T, tmp);
    const sa = expOfF32(ma, T, tmp);
    // kq = scaleA per row, as the row loop forms it
    const kLo = f64x2.promote_low_f32x4(sa), kHi = promoteHighF32x4(sa);
    klLanesF32(tmp, cols, ma, mb, T, kLo, kHi, zero64, zero64);
    // each row finished as `klRowF32` finishes it, rows 0 and 1 in the low vector, 2 and 3 in
    // the high: log(SB/SA) = log1p(Δ/SA), d = A/SA + log(SB/SA), Infinity where b is masked
    // where a has mass
    const holes = v128.load(q, 96);
    const h0 = i64x2.extend_low_i32x4_s(holes), h1 = i64x2.extend_high_i32x4_s(holes);
    let sa0 = v128.load(q), sa1 = v128.load(q, 16);
    // (A/SA: the mean shift c where a row is taken again)
    const m0 = f64x2.div(v128.load(q, 64), sa0), m1 = f64x2.div(v128.load(q, 80), sa1);
    let l0 = logOnesPlusF64x2(one, f64x2.div(v128.load(q, 32), sa0)), l1 = logOnesPlusF64x2(one, f64x2.div(v128.load(q, 48), sa1));
    const d0 = v128.bitselect(inf, f64x2.add(m0, l0), h0);
    const d1 = v128.bitselect(inf, f64x2.add(m1, l1), h1);
    const c0 = v128.andnot(f64x2.gt(f64x2.abs(l0), f64x2.mul(centreBy, f64x2.abs(d0))), h0);
    const c1 = v128.andnot(f64x2.gt(f64x2.abs(l1), f64x2.mul(centreBy, f64x2.abs(d1))), h1);
    const o = out + (<usize>r << 3);
    if (!v128.any_true(v128.or(c0, c1))) {
      v128.store(o, d0);
      v128.store(o, d1, 16);
      continue;
    }
    // the rows whose parts cancel: again, centred on their mean shift c (the others on 0)
    v128.store(q, v128.and(m0, c0), 112);
    v128.store(q, v128.and(m1, c1), 128);
    for (let i = 0; i < 4; i++) {
      const c = load<f64>(q + 112 + (<usize>i << 3));
      store<f64>(q + 144 + (<usize>i << 3), c != 0 ? Math.exp(c) : 1);
    }
    const shLo = v128.load(q, 112), shHi = v128.load(q, 128), ecLo = v128.load(q, 144), ecHi = v128.load(q, 160);
    klLanesF32(tmp, cols, ma, mb, T, f64x2.mul(kLo, ecLo), f64x2.mul(kHi, ecHi), shLo, shHi);
    sa0 = v128.load(q);
    sa1 = v128.load(q, 16);
    l0 = logOnesPlusF64x2(one, f64x2.div(v128.load(q, 32), sa0));
    l1 = logOnesPlusF64x2(one, f64x2.div(v128.load(q, 48), sa1));
    v128.store(o, v128.bitselect(f64x2.add(f64x2.div(v128.load(q, 64), sa0), l0), d0, c0));
    v128.store(o, v128.bitselect(f64x2.add(f64x2.div(v128.load(q, 80), sa1), l1), d1, c1), 16);
  }
}

/** The float64 twin of `klPassF32`: exact differences by TwoSum in float64 lanes. */
function klPassF64(a: usize, b: usize, n: i32, ma: f64, mb: f64, T: f64, tmp: usize, rr: f64, shift: f64,
  write: bool, ia: f64, ib: f64, c: f64, g: f64, gp: usize, gq: usize): void {
  const ba = v128.load(tmp, T_B), mga = v128.load(tmp, T_MAGIC), cuta = v128.load(tmp, T_CUT), lifta = v128.load(tmp, T_LIFT);
  const bb = v128.load(tmp, T_B2 + T_B), mgb = v128.load(tmp, T_B2 + T_MAGIC), cutb = v128.load(tmp, T_B2 + T_CUT), liftb = v128.load(tmp, T_B2 + T_LIFT);
  expConstsF64(T);
  const k = f64x2.splat(dK), invT = f64x2.splat(dInvT), c1 = f64x2.splat(dC1), c2 = f64x2.splat(dC2);
  const one = k64(D_ONE);
  const q0 = k64(D_P0), q1 = k64(D_P0 + 1), q2 = k64(D_P0 + 2), q3 = k64(D_P0 + 3), q4 = k64(D_P0 + 4);
  const q5 = k64(D_P0 + 5), q6 = k64(D_P0 + 6), q7 = k64(D_P0 + 7), q8 = k64(D_P0 + 8), q9 = k64(D_P0 + 9);
  const vma = f64x2.splat(ma), vmb = f64x2.splat(mb), vshift = f64x2.splat(shift);
  // masked entries (only they) are lifted to 100·T below their row's maximum
  const floorA = f64x2.sub(vma, f64x2.splat(100.0 * T)), floorB = f64x2.sub(vmb, f64x2.splat(100.0 * T));
  const via = f64x2.splat(ia), vib = f64x2.splat(ib), vc = f64x2.splat(c), vg = f64x2.splat(g);
  const vrr = f64x2.splat(rr), vnear = f64x2.splat(EXPM1_NEAR);
  const zero = f64x2.splat(0), ninf = f64x2.splat(-Infinity);
  // blocks of 64 entries into compensated pairs (see math.ts: Long sums)
  let hSA = zero, lSA = zero, hD = zero, lD = zero, hA = zero, lA = zero, holes = zero;
  let i = 0;
  while (i < n) {
    const end = min(i + 64, n);
    let sa = zero, delta = zero, acc = zero;
    for (; i < end; i += 2) {
      const r = min(n - i, 2);
      const o = <usize>i << 3;
      const va = r == 2 ? v128.load(a + o) : f64x2.replace_lane(v128.load(a + o), 1, -Infinity);
      const vb = r == 2 ? v128.load(b + o) : f64x2.replace_lane(v128.load(b + o), 1, -Infinity);
      const ea = expF64x2(va, ba, k, mga, c1, c2, invT, cuta, lifta, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9);
      // (a − ma) − (b − mb) from the two differences and their TwoSum errors, of the lifted logits
      const la = v128.bitselect(floorA, va, f64x2.eq(va, ninf)), lb = v128.bitselect(floorB, vb, f64x2.eq(vb, ninf));
      const da = f64x2.sub(la, vma), db = f64x2.sub(lb, vmb);
      const xa = f64x2.sub(da, la), xb = f64x2.sub(db, lb);
      const erra = f64x2.sub(f64x2.sub(la, f64x2.sub(da, xa)), f64x2.add(vma, xa));
      const errb = f64x2.sub(f64x2.sub(lb, f64x2.sub(db, xb)), f64x2.add(vmb, xb));
      // u − shift; 0 where ea is 0: a − ma may overflow there (a spread beyond DBL_MAX), and 0·∞ would be NaN
      const u = v128.andnot(f64x2.sub(f64x2.mul(f64x2.add(f64x2.sub(da, db), f64x2.sub(erra, errb)), invT), vshift), f64x2.eq(ea, zero));
      if (write) {
        const p = f64x2.mul(ea, via);
        if (gq) {
          const eb = expF64x2(vb, bb, k, mgb, c1, c2, invT, cutb, liftb, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9);
          storeLanesF64(gq + o, f64x2.mul(f64x2.sub(f64x2.mul(eb, vib), p), vg), r);
        }
        if (gp) storeLanesF64(gp + o, f64x2.mul(f64x2.mul(p, f64x2.sub(u, vc)), vg), r);
      } else {
        const eb = expF64x2(vb, bb, k, mgb, c1, c2, invT, cutb, liftb, one, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9);
        const bMasked = f64x2.eq(vb, ninf);
        holes = v128.or(holes, v128.andnot(bMasked, f64x2.eq(ea, zero)));
        sa = f64x2.add(sa, ea);
        acc = madd64(ea, u, acc);
        // (a masked b entry is never near: its lift is lost to mb's rounding where |mb| ≫ 100·T)
        const nr = v128.andnot(f64x2.lt(f64x2.abs(u), vnear), v128.or(f64x2.eq(ea, zero), bMasked));
        let d = f64x2.sub(f64x2.mul(eb, vrr), ea);
        if (v128.any_true(nr)) d = v128.bitselect(f64x2.mul(ea, expm1SmallF64x2(f64x2.neg(u))), d, nr);
        delta = f64x2.add(delta, d);
      }
    }
    if (!write) {
      lSA = twoSumLoF64x2(hSA, sa, lSA);
      hSA = f64x2.add(hSA, sa);
      lD = twoSumLoF64x2(hD, delta, lD);
      hD = f64x2.add(hD, delta);
      lA = twoSumLoF64x2(hA, acc, lA);
      hA = f64x2.add(hA, acc);
    }
  }
  if (!write) {
    klSA = pairTotal(hSA, lSA);
    klDelta = pairTotal(hD, lD);
    klA = pairTotal(hA, lA);
    klHole = v128.any_true(holes);
  }
}

/**
 * ∂D/∂a at a float64 row's dominant entry k (p_k > ½: the one entry at the maximum, SA <
 * 2), as −Σ of the others.  p_k·(u_k − c) cancels there — u_k ≈ c = Σ p·u, so its rounding
 * (ε·|u_k|) is what is left: a teacher at 12 against a student at −20 gave 1e-11 relative
 * — while the others' terms do not cancel and sum to its negative exactly (Σ ∂D/∂a = 0).
 */
function dominantGradPF64(a: usize, gp: usize, n: i32, ma: f64): void {
  let k = 0, s: f64 = 0;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 3;
    if (load<f64>(a + o) == ma) k = i;
    else s += load<f64>(gp + o);
  }
  store<f64>(gp + (<usize>k << 3), -s);
}

export function softmaxKlDivergenceRowsF64(a: usize, b: usize, rows: i32, cols: i32, T: f64, gscale: f64,
  gradP: usize, gradQ: usize, out: usize, tmp: usize): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 3;
    const ra = a + off, rb = b + off;
    const gp = gradP ? gradP + off : 0, gq = gradQ ? gradQ + off : 0;
    const ma = ASC_FEATURE_SIMD ? f64x2.extract_lane(rowMaxF64(ra, cols), 0) : scalarMaxF64(ra, cols);
    const mb = ASC_FEATURE_SIMD ? f64x2.extract_lane(rowMaxF64(rb, cols), 0) : scalarMaxF64(rb, cols);
    if (!isFinite(ma) || !isFinite(mb)) {
      const d = specialKl(ma, mb, hasNaNF64(ra, cols) || hasNaNF64(rb, cols));
      store<f64>(out + (<usize>r << 3), d);
      if (gp) fillF64(gp, cols, d == 0 ? 0 : NaN);
      if (gq) klSpecialGrad(rb, cols, mb, T, gscale / T, d, gq, 8);
      continue;
    }
    let scaleA: f64 = 1, scaleB: f64 = 1;
    if (ASC_FEATURE_SIMD) {
      setupF64(f64x2.splat(ma), T, tmp);
      setupF64(f64x2.splat(mb), T, tmp + T_B2);
      scaleA = f64x2.extract_lane(expOfF64(f64x2.splat(ma), T, tmp), 0);
      scaleB = f64x2.extract_lane(expOfF64(f64x2.splat(mb), T, tmp + T_B2), 0);
      klPassF64(ra, rb, cols, ma, mb, T, tmp, scaleA / scaleB, 0, false, 0, 0, 0, 0, 0, 0);
    } else scalarKl(ra, rb, cols, ma, mb, T, 8, 1, 0, false, 0, 0, 0, 0, 0, 0);
    let logRatio = -Math.log1p(klDelta / klSA);
    let d = klA / klSA - logRatio;
    let sb = klSA + klDelta;
    if (!klHole && Math.abs(logRatio) > KL_CENTRE * Math.abs(d)) {
      const c = klA / klSA, ec = Math.exp(c);
      if (ASC_FEATURE_SIMD) klPassF64(ra, rb, cols, ma, mb, T, tmp, scaleA / scaleB * ec, c, false, 0, 0, 0, 0, 0, 0);
      else scalarKl(ra, rb, cols, ma, mb, T, 8, ec, c, false, 0, 0, 0, 0, 0, 0);
      const l = Math.log1p(klDelta / klSA);
      d = klA / klSA + l;
      logRatio = c - l;
      sb = (klSA + klDelta) / ec;
    }
    if (klHole) d = hasNaNF64(ra, cols) || hasNaNF64(rb, cols) ? NaN : Infinity;
    store<f64>(out + (<usize>r << 3), d);
    if (gp || gq) {
      const ia = 1.0 / klSA, ib = scaleA / (sb * scaleB), c = logRatio + d, g = gscale / T;
      if (ASC_FEATURE_SIMD) klPassF64(ra, rb, cols, ma, mb, T, tmp, 0, 0, true, ia, ib, c, g, gp, gq);
      else scalarKl(ra, rb, cols, ma, mb, T, 8, 1, 0, true, ia, ib, c, g, gp, gq);
      // (klSA is in units of a's E, whose value at the maximum is scaleA)
      if (gp && !klHole && klSA < 2 * scaleA) dominantGradPF64(ra, gp, cols, ma);
    }
  }
  klScaleRowsF64(out, rows, gscale);
}

/** out[r, j] = x[r, j]·a[r] − c[j] (c = 0: none), float32 rows; out may be x. */
export function scaleRowsF32(x: usize, rows: i32, cols: i32, a: usize, c: usize, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    const ar = <f32>load<f64>(a + (<usize>r << 3));
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      const va = f32x4.splat(ar), zero = f32x4.splat(0);
      for (; j + 4 <= cols; j += 4) {
        const o = off + (<usize>j << 2);
        const vc = c ? v128.load(c + (<usize>j << 2)) : zero;
        v128.store(out + o, f32x4.sub(f32x4.mul(v128.load(x + o), va), vc));
      }
    }
    for (; j < cols; j++) {
      const o = off + (<usize>j << 2);
      store<f32>(out + o, load<f32>(x + o) * ar - (c ? load<f32>(c + (<usize>j << 2)) : 0));
    }
  }
}

export function scaleRowsF64(x: usize, rows: i32, cols: i32, a: usize, c: usize, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 3;
    const ar = load<f64>(a + (<usize>r << 3));
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      const va = f64x2.splat(ar), zero = f64x2.splat(0);
      for (; j + 2 <= cols; j += 2) {
        const o = off + (<usize>j << 3);
        const vc = c ? v128.load(c + (<usize>j << 3)) : zero;
        v128.store(out + o, f64x2.sub(f64x2.mul(v128.load(x + o), va), vc));
      }
    }
    for (; j < cols; j++) {
      const o = off + (<usize>j << 3);
      store<f64>(out + o, load<f64>(x + o) * ar - (c ? load<f64>(c + (<usize>j << 3)) : 0));
    }
  }
}

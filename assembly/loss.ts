// The fused softmax cross-entropy loss and its gradient, row by row, with PyTorch's
// semantics for class weights w and label smoothing ε (C = cols classes):
//
//   labels:  lossᵢ = (1−ε)·w_y·(lse − z_y) + (ε/C)·Σ_c w_c·(lse − z_c)
//   targets: lossᵢ = −Σ_c w_c·t̃_c·log p_c,   t̃ = (1−ε)·t + ε/C
//
// with lse − z_c = log S − t_c, t_c = z_c − m ≤ 0 and S = Σ exp(t_c) kept as ones + rest
// (rows.ts), so every term is a sum of non-negative parts.  The softmax is computed once:
// its exponentials go straight into `grad`, and a last pass turns them into
//
//   labels:  ∂/∂z_c = g·[((1−ε)·w_y + ε·W/C)·p_c − (ε/C)·w_c − (1−ε)·w_y·[c = y]]
//   targets: ∂/∂z_c = g·[(Σ_k w_k·t̃_k)·p_c − w_c·t̃_c]
//
// where W = Σ w_c and g is the caller's scale (1/Σ w_y for 'mean', else 1; times
// 1/ln(base)), folded into the coefficients unless that overflows the gradient's type
// (a base near 1), when it is applied last.  A row with a negative label is ignored:
// loss 0, gradient 0.  `grad` may be `z` itself: every value a later pass needs is read
// before the exponentials overwrite it.  Terms whose weight·target is 0 contribute 0
// even against a −Infinity logit.  A (non-ignored) row whose logits are all −Infinity,
// or hold +Infinity or NaN, has no defined softmax: its loss and gradient are NaN, as in
// PyTorch.  Narrow rows (fewer than NARROW classes) are taken four at a time in lanes.

import {
  madd32, madd64, promoteHighF32x4, sumLanesF64x2, expDiffF32x4, log1pUnitF32x4, sg32, SG_MAGIC, SG_LOG2E, SG_NLN2_HI, SG_NLN2_LO, SG_CUT, SG_NTINY,
  SG_E0, SG_ONE, SG_TWO, SG_TINY, SG_INF, SG_ZERO, SG_L0, kept, k32, F_NINF, F_NAN,
} from "./math";
import {
  NARROW, T_NAN, T_SUM, T_ONES, T_TILE, expOfF32, expOfF64, expPassF32, expPassF64, fillF32, fillF64, finiteF32x4, finiteF64x2,
  gatherF32, gatherF64, logOnesPlus, logOnesPlusF32x4, logOnesPlusF64x2, passOnes, passRest, rowMaxF32, rowMaxF64,
  scalarExpSumF32, scalarExpSumF64, scalarLow, scalarMaxF32, scalarMaxF64, scalarOnes, scatterF32, scatterF64, setupF32, setupF64,
  storeLanesF32, storeLanesF64, storeRowsF64, tileSumAtF64, tileSumUnitF32, fourRowsF32, FOUR_LOSS, twoRowsF64, fourRowsF64, TWO_LOSS, expConstsF64,
} from "./rows";

/** The gradient's coefficients: g = (e·gA − w·gB − [c = y]·gC)·gS (see `fold`). */
let gA: f64 = 0, gB: f64 = 0, gC: f64 = 0, gS: f64 = 1;

/**
 * Folds the caller's scale gs into the coefficients a, b, c when the products stay finite
 * in the gradient's precision (fewest roundings), else keeps it apart so it comes last.
 */
function fold(a: f64, b: f64, c: f64, gs: f64, f32: bool): void {
  const fa = a * gs, fb = b * gs, fc = c * gs;
  const fits = f32 ? isFinite(<f32>fa) && isFinite(<f32>fb) && isFinite(<f32>fc) : isFinite(fa) && isFinite(fb) && isFinite(fc);
  if (fits) {
    gA = fa; gB = fb; gC = fc; gS = 1;
  } else {
    gA = a; gB = b; gC = c; gS = gs;
  }
}

// Rows a group sum adds: src/kernels.ts, ROW_GROUP.
const SUM_ROWS = 16;

/**
 * With `grouped` (a 'mean' or 'sum' of narrow rows, reduced from these): the losses of
 * each group of SUM_ROWS rows, counted from the call's first, summed into out[g] for group
 * g — the reduction then adds a sixteenth as many terms, and a sixteenth as many are
 * copied out.  The even and the odd rows each as a tree, ((l₀ + l₂) + (l₄ + l₆)) +
 * ((l₈ + l₁₀) + (l₁₂ + l₁₄)), then the two trees' sum (the float64 lanes' order; rows
 * past the last 0).  Group g's sum lands at or before its first row, so no loss is
 * overwritten before it is read.  Calls are split only at whole groups, so every split
 * gives the same sums.  Four additions deep, each is within 4u·Σ|lᵢ| = 2ε·Σ|lᵢ| of the
 * exact sum (to first order; u = 2⁻⁵³): relative to the sum itself for losses ≥ 0 (weights
 * and targets ≥ 0).
 */
function sumGroupsF64(out: usize, rows: i32): void {
  for (let r = 0; r < rows; r += SUM_ROWS) {
    const p = out + (<usize>r << 3), n = min(rows - r, SUM_ROWS);
    let s: f64;
    if (ASC_FEATURE_SIMD && n == SUM_ROWS) {
      const a = f64x2.add(f64x2.add(v128.load(p), v128.load(p, 16)), f64x2.add(v128.load(p, 32), v128.load(p, 48)));
      const b = f64x2.add(f64x2.add(v128.load(p, 64), v128.load(p, 80)), f64x2.add(v128.load(p, 96), v128.load(p, 112)));
      const t = f64x2.add(a, b);
      s = f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
    } else s = sumTree(p, n, 0) + sumTree(p, n, 1);
    store<f64>(out + (<usize>(r / SUM_ROWS) << 3), s);
  }
}

/** The tree of `sumGroupsF64` over rows j, j + 2, …, j + 14 of the group at p (rows from n on 0). */
function sumTree(p: usize, n: i32, j: i32): f64 {
  return ((lossAt(p, n, j) + lossAt(p, n, j + 2)) + (lossAt(p, n, j + 4) + lossAt(p, n, j + 6)))
    + ((lossAt(p, n, j + 8) + lossAt(p, n, j + 10)) + (lossAt(p, n, j + 12) + lossAt(p, n, j + 14)));
}

// @ts-ignore: decorator
@inline function lossAt(p: usize, n: i32, i: i32): f64 {
  return i < n ? load<f64>(p + (<usize>i << 3)) : 0;
}

/**
 * acc[0] = max(acc[0], the largest of the int32 labels read as unsigned, where a negative
 * label is 2³¹ or more): their range, for the loss's validation (src/loss.ts), which runs
 * before any loss kernel.  (The labels are int32 in both variants.)
 */
function labelMax(labels: usize, rows: i32, acc: usize): void {
  let r = 0, h: u32 = 0;
  if (ASC_FEATURE_SIMD) {
    let m0 = i32x4.splat(0), m1 = m0;
    for (; r + 8 <= rows; r += 8) {
      const p = labels + (<usize>r << 2);
      m0 = i32x4.max_u(m0, v128.load(p));
      m1 = i32x4.max_u(m1, v128.load(p, 16));
    }
    const m = i32x4.max_u(m0, m1);
    const a = max(<u32>i32x4.extract_lane(m, 0), <u32>i32x4.extract_lane(m, 1));
    h = max(a, max(<u32>i32x4.extract_lane(m, 2), <u32>i32x4.extract_lane(m, 3)));
  }
  for (; r < rows; r++) h = max(h, load<u32>(labels + (<usize>r << 2)));
  store<f64>(acc, max(load<f64>(acc), <f64>h));
}

export function labelMaxF32(labels: usize, rows: i32, acc: usize): void {
  labelMax(labels, rows, acc);
}

export function labelMaxF64(labels: usize, rows: i32, acc: usize): void {
  labelMax(labels, rows, acc);
}

// The smoothing and soft-target sums of a wide row, float32 (T = f32: entries, weights and
// targets) or float64: each term formed as the scalar build's loop forms it, in float64
// (z − m exact for float32 rows), and added in lanes there is SIMD — only the order of the
// additions differs, which moves a sum of n terms by at most n·2^-53 of the terms'
// magnitudes (of one sign where the weights and targets are ≥ 0).

/** Entries i, i+1 (`high`: i+2, i+3) of a row of T at p, as two float64 lanes. */
// @ts-ignore: decorator
@inline function lanes64<T>(p: usize, i: i32, high: bool): v128 {
  if (sizeof<T>() == 8) return v128.load(p + (<usize>i << 3) + (high ? 16 : 0));
  const v = v128.load(p + (<usize>i << 2));
  return high ? promoteHighF32x4(v) : f64x2.promote_low_f32x4(v);
}

/** Σ_c w_c·(z_c − m) over a row of T in float64 (w = 0: every w_c = 1; w_c = 0 terms skipped). */
function weightedShift<T>(z: usize, n: i32, m: T, w: usize): f64 {
  const bytes = <usize>sizeof<T>();
  let s: f64 = 0, i = 0;
  if (ASC_FEATURE_SIMD) {
    const mv = f64x2.splat(<f64>m), zero = f64x2.splat(0);
    let s0 = zero, s1 = zero;
    for (; i + 4 <= n; i += 4) {
      let d0 = f64x2.sub(lanes64<T>(z, i, false), mv), d1 = f64x2.sub(lanes64<T>(z, i, true), mv);
      if (w) {
        // (a class of weight 0 counts 0, even against a −Infinity logit)
        const w0 = lanes64<T>(w, i, false), w1 = lanes64<T>(w, i, true);
        d0 = v128.andnot(f64x2.mul(w0, d0), f64x2.eq(w0, zero));
        d1 = v128.andnot(f64x2.mul(w1, d1), f64x2.eq(w1, zero));
      }
      s0 = f64x2.add(s0, d0);
      s1 = f64x2.add(s1, d1);
    }
    s = sumLanesF64x2(f64x2.add(s0, s1));
  }
  for (; i < n; i++) {
    const o = <usize>i * bytes;
    const wc: f64 = w ? <f64>load<T>(w + o) : 1;
    if (wc != 0) s += wc * (<f64>load<T>(z + o) - <f64>m);
  }
  return s;
}

/** Σ w·t̃·(z − m) and Σ w·t̃ over a row of T (probability targets), in float64; the second to `tgtW`. */
let tgtW: f64 = 0;
function targetSums<T>(z: usize, tgt: usize, n: i32, m: T, w: usize, keep: f64, spread: f64): f64 {
  const bytes = <usize>sizeof<T>();
  let b: f64 = 0, tw: f64 = 0, i = 0;
  if (ASC_FEATURE_SIMD) {
    const mv = f64x2.splat(<f64>m), kv = f64x2.splat(keep), sv = f64x2.splat(spread), zero = f64x2.splat(0);
    let b0 = zero, b1 = zero, t0 = zero, t1 = zero;
    for (; i + 4 <= n; i += 4) {
      let wt0 = f64x2.add(f64x2.mul(lanes64<T>(tgt, i, false), kv), sv), wt1 = f64x2.add(f64x2.mul(lanes64<T>(tgt, i, true), kv), sv);
      if (w) {
        wt0 = f64x2.mul(wt0, lanes64<T>(w, i, false));
        wt1 = f64x2.mul(wt1, lanes64<T>(w, i, true));
      }
      b0 = f64x2.add(b0, v128.andnot(f64x2.mul(wt0, f64x2.sub(lanes64<T>(z, i, false), mv)), f64x2.eq(wt0, zero)));
      b1 = f64x2.add(b1, v128.andnot(f64x2.mul(wt1, f64x2.sub(lanes64<T>(z, i, true), mv)), f64x2.eq(wt1, zero)));
      t0 = f64x2.add(t0, wt0);
      t1 = f64x2.add(t1, wt1);
    }
    b = sumLanesF64x2(f64x2.add(b0, b1));
    tw = sumLanesF64x2(f64x2.add(t0, t1));
  }
  for (; i < n; i++) {
    const o = <usize>i * bytes;
    let wt = <f64>load<T>(tgt + o) * keep + spread;
    if (w) wt *= <f64>load<T>(w + o);
    if (wt != 0) b += wt * (<f64>load<T>(z + o) - <f64>m);
    tw += wt;
  }
  tgtW = tw;
  return b;
}

// ---------------------------------------------------------------------------------
// float32
// ---------------------------------------------------------------------------------

/** g[c] = (e[c]·a − b·wt[c])·gs over a float32 row; wt[c] = w_c (labels) or w_c·t̃_c (targets, tgt ≠ 0). */
function affineGradF32(g: usize, n: i32, a: f32, b: f32, gs: f32, w: usize, tgt: usize, keep: f32, spread: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const va = f32x4.splat(a), vb = f32x4.splat(b), vg = f32x4.splat(gs), vk = f32x4.splat(keep), vs = f32x4.splat(spread);
    const one = f32x4.splat(1);
    for (; i < n; i += 4) {
      const o = <usize>i << 2;
      let wt = tgt ? madd32(v128.load(tgt + o), vk, vs) : one;
      if (w) wt = f32x4.mul(wt, v128.load(w + o));
      const v = f32x4.mul(f32x4.sub(f32x4.mul(v128.load(g + o), va), f32x4.mul(wt, vb)), vg);
      storeLanesF32(g + o, v, min(n - i, 4));
    }
    return;
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    let wt: f32 = tgt ? load<f32>(tgt + o) * keep + spread : 1;
    if (w) wt *= load<f32>(w + o);
    store<f32>(g + o, (load<f32>(g + o) * a - wt * b) * gs);
  }
}

/** S's parts of a wide float32 row at T = 1, exponentials stored to g (g may be z: read before). */
let rowOnes: f64 = 0;
function restF32(z: usize, n: i32, m: f32, g: usize, tmp: usize): f64 {
  if (!ASC_FEATURE_SIMD) {
    const rest = scalarExpSumF32(z, n, m, scalarLow, 1.0, g);
    rowOnes = scalarOnes;
    return rest;
  }
  const mv = f32x4.splat(m);
  setupF32(mv, 1, tmp);
  expPassF32(z, n, mv, 1, g, true, tmp);
  rowOnes = <f64>passOnes;
  return passRest / <f64>f32x4.extract_lane(expOfF32(mv, 1, tmp), 0);
}

/** The scale between stored exponentials and exp(z − m) (1 in the scalar build). */
function storedScaleF32(m: f32, tmp: usize): f64 {
  if (!ASC_FEATURE_SIMD) return 1;
  const mv = f32x4.splat(m);
  setupF32(mv, 1, tmp);
  return <f64>f32x4.extract_lane(expOfF32(mv, 1, tmp), 0);
}

function maxOfF32(z: usize, n: i32): f32 {
  return ASC_FEATURE_SIMD ? f32x4.extract_lane(rowMaxF32(z, n), 0) : scalarMaxF32(z, n);
}

/**
 * Integer labels (int32, negative = ignored).  out[r] = the row's weighted loss; grad (or
 * 0) gets the gradient scaled by `gradScale`.  `weights` (float32 per class, or 0 for
 * none) sum to `wsum`.  `tmp`: see rows.ts.
 */
export function softmaxCrossEntropyLabelsF32(
  z: usize, labels: usize, rows: i32, cols: i32, weights: usize, wsum: f64,
  eps: f64, gradScale: f64, grad: usize, out: usize, grouped: bool, tmp: usize
): void {
  // whole groups of 4 rows as tiles, a last partial group row by row (see rows.ts)
  const first = ASC_FEATURE_SIMD && cols < NARROW && cols > 0 ? rows & ~3 : 0;
  if (first > 0) {
    if (cols == 2 && !weights && eps == 0) labelsTwoF32(z, labels, first, gradScale, grad, out);
    else if (cols == 4 && !weights && eps == 0) fourRowsF32(z, labels, first, 4, 1, gradScale, grad, out, FOUR_LOSS);
    else labelsNarrowF32(z, labels, first, cols, weights, wsum, eps, gradScale, grad, out, tmp);
  }
  const C = <f64>cols;
  for (let r = first; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    const row = z + off;
    const y = load<i32>(labels + (<usize>r << 2));
    if (y < 0) {
      store<f64>(out + (<usize>r << 3), 0);
      if (grad) memory.fill(grad + off, 0, <usize>cols << 2);
      continue;
    }
    const m = maxOfF32(row, cols);
    if (!isFinite(m)) {
      store<f64>(out + (<usize>r << 3), NaN);
      if (grad) fillF32(grad + off, cols, NaN);
      continue;
    }
    const ty = <f64>load<f32>(row + (<usize>y << 2)) - <f64>m;
    const a = eps > 0 ? weightedShift<f32>(row, cols, m, weights) : 0;
    const rest = restF32(row, cols, m, grad ? grad + off : 0, tmp);
    const ones = rowOnes;
    const s = ones + rest, ls = logOnesPlus(ones, rest);
    const wy: f64 = weights ? <f64>load<f32>(weights + (<usize>y << 2)) : 1;
    // a label of weight 0 counts 0, even against a −Infinity logit (not 0·Infinity), but a
    // NaN in the row still makes it NaN (0·log S: log S is finite, or NaN)
    let loss = wy != 0 ? (1 - eps) * wy * (ls - ty) : 0 * ls;
    if (eps > 0) loss += eps / C * (wsum * ls - a);
    store<f64>(out + (<usize>r << 3), loss);
    if (grad) {
      const g = grad + off;
      const gy = g + (<usize>y << 2);
      const scale = storedScaleF32(m, tmp);
      fold(((1 - eps) * wy + eps * wsum / C) / (s * scale), eps / C, (1 - eps) * wy, gradScale, true);
      const ey = load<f32>(gy);
      const w = eps > 0 ? weights : 0;
      affineGradF32(g, cols, <f32>gA, <f32>gB, <f32>gS, w, 0, 0, 0);
      const by = w ? <f32>gB * load<f32>(w + (<usize>y << 2)) : <f32>gB;
      store<f32>(gy, (ey * <f32>gA - by - <f32>gC) * <f32>gS);
    }
  }
  if (grouped) sumGroupsF64(out, rows);
}

/** Probability targets (float32 matrix like z).  out[r] = the row's loss; gradient as for labels. */
export function softmaxCrossEntropyProbsF32(
  z: usize, targets: usize, rows: i32, cols: i32, weights: usize,
  eps: f64, gradScale: f64, grad: usize, out: usize, grouped: bool, tmp: usize
): void {
  // whole groups of 4 rows as tiles, a last partial group row by row (see rows.ts)
  const first = ASC_FEATURE_SIMD && cols < NARROW && cols > 0 ? rows & ~3 : 0;
  if (first > 0) {
    probsNarrowF32(z, targets, first, cols, weights, eps, gradScale, grad, out, tmp);
  }
  const keep = 1 - eps, spread = eps / <f64>cols;
  for (let r = first; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    const row = z + off, tgt = targets + off;
    const m = maxOfF32(row, cols);
    if (!isFinite(m)) {
      store<f64>(out + (<usize>r << 3), NaN);
      if (grad) fillF32(grad + off, cols, NaN);
      continue;
    }
    // Σ w·t̃·(z − m) and Σ w·t̃ before the exponentials may overwrite z
    const b = targetSums<f32>(row, tgt, cols, m, weights, keep, spread);
    const tw = tgtW;
    const rest = restF32(row, cols, m, grad ? grad + off : 0, tmp);
    const ones = rowOnes;
    const s = ones + rest;
    store<f64>(out + (<usize>r << 3), tw * logOnesPlus(ones, rest) - b);
    if (grad) {
      const scale = storedScaleF32(m, tmp);
      fold(tw / (s * scale), 1, 0, gradScale, true);
      affineGradF32(grad + off, cols, <f32>gA, <f32>gB, <f32>gS, weights, tgt, <f32>keep, <f32>spread);
    }
  }
  if (grouped) sumGroupsF64(out, rows);
}

// float32 narrow rows: four a tile (rows.ts), the lanes rows.

/** Labels of rows r…r+3 as int32 lanes (the callers tile whole groups: the four rows exist). */
// @ts-ignore: decorator
@inline function labelLanes(labels: usize, r: i32): v128 {
  const p = labels + (<usize>r << 2);
  return v128.load(p);
}

/** z[r + i, y_i] in lane i for the rows r…r+3 of `labelLanes` (0 where a row is ignored, y_i < 0). */
function labelLogitsF32(z: usize, y: v128, r: i32, cols: i32): v128 {
  const row = <usize>cols, at = z + (<usize>r * row << 2);
  let v = f32x4.splat(0);
  const y0 = i32x4.extract_lane(y, 0), y1 = i32x4.extract_lane(y, 1), y2 = i32x4.extract_lane(y, 2), y3 = i32x4.extract_lane(y, 3);
  if (y0 >= 0) v = f32x4.replace_lane(v, 0, load<f32>(at + (<usize>y0 << 2)));
  if (y1 >= 0) v = f32x4.replace_lane(v, 1, load<f32>(at + (row + <usize>y1 << 2)));
  if (y2 >= 0) v = f32x4.replace_lane(v, 2, load<f32>(at + (2 * row + <usize>y2 << 2)));
  if (y3 >= 0) v = f32x4.replace_lane(v, 3, load<f32>(at + (3 * row + <usize>y3 << 2)));
  return v;
}

/**
 * `labelsNarrowF32` for rows of two entries without weights or smoothing (a binary
 * classifier's loss), `rows` a multiple of 4, four rows a step: with m the row's maximum
 * and a the other entry, log S − (z_y − m) = log1p(exp(a − m)) + (m − z_y), a − m taken
 * exactly (math.ts, `expDiffF32x4`) — one exponential and one log a row, where the
 * tiles take three exponentials and a log.  The loss of the favoured class is the log1p
 * alone, as small as exp(a − m), and keeps its relative accuracy.  The gradient is ±g·p'
 * with p' the probability of the class that is not y (p_y − 1 = −p'): no cancellation.
 */
function labelsTwoF32(z: usize, labels: usize, rows: i32, gradScale: f64, grad: usize, out: usize): void {
  const magic = sg32(SG_MAGIC), log2e = sg32(SG_LOG2E), c1 = sg32(SG_NLN2_HI), c2 = sg32(SG_NLN2_LO), cut = sg32(SG_CUT), ntiny = sg32(SG_NTINY);
  const e0 = sg32(SG_E0), e1 = sg32(SG_E0 + 1), e2 = sg32(SG_E0 + 2), e3 = sg32(SG_E0 + 3), e4 = sg32(SG_E0 + 4);
  const one = sg32(SG_ONE), two = sg32(SG_TWO), tiny = sg32(SG_TINY), inf = sg32(SG_INF), zero = sg32(SG_ZERO);
  const l0 = sg32(SG_L0), l1 = sg32(SG_L0 + 1), l2 = sg32(SG_L0 + 2), l3 = sg32(SG_L0 + 3);
  const ones1 = kept(i32x4.splat(1)), gs = f32x4.splat(<f32>gradScale);
  for (let r = 0; r < rows; r += 4) {
    const ninf = k32(F_NINF), nanv = k32(F_NAN);
    const q = z + (<usize>r << 3);
    const a = v128.load(q), b = v128.load(q, 16);
    const v0 = i32x4.shuffle(a, b, 0, 2, 4, 6), v1 = i32x4.shuffle(a, b, 1, 3, 5, 7);
    const nan = v128.or(f32x4.ne(v0, v0), f32x4.ne(v1, v1));
    const m = f32x4.pmax(f32x4.pmax(ninf, v0), v1);
    const y = labelLanes(labels, r);
    const ignored = i32x4.lt_s(y, i32x4.splat(0));
    const y1 = i32x4.eq(y, ones1);
    const zy = v128.andnot(v128.bitselect(v1, v0, y1), ignored); // (0 where ignored, as labelLogitsF32)
    const e = expDiffF32x4(v128.bitselect(v1, v0, f32x4.eq(v0, m)), m, magic, log2e, c1, c2, cut, ntiny, one, e0, e1, e2, e3, e4, inf);
    const ls = log1pUnitF32x4(e, two, tiny, l0, l1, l2, l3);
    const bad = v128.or(f32x4.ge(f32x4.abs(m), inf), nan);
    const loss32 = f32x4.sub(ls, f32x4.sub(zy, m));
    const lfin = finiteF32x4(loss32);
    const l32 = v128.andnot(v128.or(loss32, v128.and(bad, nanv)), ignored);
    // (lanes whose float32 loss is not finite: in float64, out of the loop's code)
    if (i32x4.all_true(lfin)) storeRowsF64(out, r, 4, f64x2.promote_low_f32x4(l32), promoteHighF32x4(l32));
    else twoLossF64(out, r, l32, ls, zy, m, bad, ignored, lfin);
    if (grad) {
      const rs = f32x4.div(one, f32x4.add(one, e));
      const gn = f32x4.mul(v128.bitselect(f32x4.mul(e, rs), rs, f32x4.eq(zy, m)), gs); // g·p'
      const gy = f32x4.sub(zero, gn);
      const dead = v128.or(ignored, bad);
      const fillv = v128.and(v128.andnot(nanv, ignored), bad); // NaN where bad, 0 where ignored
      const s0 = v128.bitselect(fillv, v128.bitselect(gn, gy, y1), dead), s1 = v128.bitselect(fillv, v128.bitselect(gy, gn, y1), dead);
      const o = grad + (<usize>r << 3);
      v128.store(o, i32x4.shuffle(s0, s1, 0, 4, 1, 5));
      v128.store(o, i32x4.shuffle(s0, s1, 2, 6, 3, 7), 16);
    }
  }
}

/** `labelsTwoF32`'s losses of a group where a float32 loss is not finite: those lanes in float64 (as `labelsNarrowF32`). */
function twoLossF64(out: usize, r: i32, l32: v128, ls: v128, zy: v128, m: v128, bad: v128, ignored: v128, fin: v128): void {
  const one = f64x2.splat(1), zero = f64x2.splat(0);
  const lo = labelLossF64(f64x2.promote_low_f32x4(ls), f64x2.sub(f64x2.promote_low_f32x4(zy), f64x2.promote_low_f32x4(m)),
    one, zero, one, zero, zero, false, i64x2.extend_low_i32x4_s(bad), i64x2.extend_low_i32x4_s(ignored));
  const hi = labelLossF64(promoteHighF32x4(ls), f64x2.sub(promoteHighF32x4(zy), promoteHighF32x4(m)),
    one, zero, one, zero, zero, false, i64x2.extend_high_i32x4_s(bad), i64x2.extend_high_i32x4_s(ignored));
  storeRowsF64(out, r, 4, v128.bitselect(f64x2.promote_low_f32x4(l32), lo, i64x2.extend_low_i32x4_s(fin)),
    v128.bitselect(promoteHighF32x4(l32), hi, i64x2.extend_high_i32x4_s(fin)));
}

function labelsNarrowF32(z: usize, labels: usize, rows: i32, cols: i32, weights: usize, wsum: f64,
  eps: f64, gradScale: f64, grad: usize, out: usize, tmp: usize): void {
  const tile = tmp + T_TILE, etile = tile + (<usize>cols << 4);
  const keep = f32x4.splat(<f32>(1 - eps)), share = f32x4.splat(<f32>(eps / <f64>cols)), sw = f32x4.splat(<f32>wsum);
  const keep64 = f64x2.splat(1 - eps), share64 = f64x2.splat(eps / <f64>cols), sw64 = f64x2.splat(wsum);
  const zero = f32x4.splat(0), one = f32x4.splat(1), zero64 = f64x2.splat(0);
  for (let r = 0; r < rows; r += 4) {
    const m = gatherF32(z, r, cols, tmp);
    const y = labelLanes(labels, r);
    const ignored = i32x4.lt_s(y, i32x4.splat(0));
    // z_y and w_y per lane, and (smoothing) a = Σ_c w_c·(z_c − m): float32 products summed
    // over 8 columns at most, the chunks into float64 — and, in the lanes where that is not
    // finite (a product beyond float32's range, or a −Infinity logit of positive weight), again
    // in float64 term by term.  Every choice is a lane's (a row's) own: a row's result never
    // depends on the rows it shares a tile with.
    const mLo = f64x2.promote_low_f32x4(m), mHi = promoteHighF32x4(m);
    let zy = zero, wy = one, aLo = zero64, aHi = zero64;
    // no weights, no smoothing (the common loss): z_y read where it is, not picked from the tile
    if (!weights && eps == 0) zy = labelLogitsF32(z, y, r, cols);
    else for (let j0 = 0; j0 < cols; j0 += 8) {
      const end = min(j0 + 8, cols);
      let as = zero;
      for (let j = j0; j < end; j++) {
        const v = v128.load(tile + (<usize>j << 4));
        const at = i32x4.eq(y, i32x4.splat(j));
        const wj = weights ? f32x4.splat(load<f32>(weights + (<usize>j << 2))) : one;
        zy = v128.bitselect(v, zy, at);
        if (weights) wy = v128.bitselect(wj, wy, at);
        // a class of weight 0 counts 0, even against a −Infinity logit
        if (eps > 0) as = f32x4.add(as, v128.andnot(f32x4.mul(wj, f32x4.sub(v, m)), f32x4.eq(wj, zero)));
      }
      if (eps > 0) {
        aLo = f64x2.add(aLo, f64x2.promote_low_f32x4(as));
        aHi = f64x2.add(aHi, promoteHighF32x4(as));
      }
    }
    if (eps > 0) {
      const finLo = finiteF64x2(aLo), finHi = finiteF64x2(aHi);
      if (!i64x2.all_true(v128.and(finLo, finHi))) {
        let cLo = zero64, cHi = zero64;
        for (let j = 0; j < cols; j++) {
          const wj: f64 = weights ? <f64>load<f32>(weights + (<usize>j << 2)) : 1;
          if (wj != 0) {
            const v = v128.load(tile + (<usize>j << 4)), w = f64x2.splat(wj);
            cLo = madd64(w, f64x2.sub(f64x2.promote_low_f32x4(v), mLo), cLo);
            cHi = madd64(w, f64x2.sub(promoteHighF32x4(v), mHi), cHi);
          }
        }
        aLo = v128.bitselect(aLo, cLo, finLo);
        aHi = v128.bitselect(aHi, cHi, finHi);
      }
    }
    const scale = tileSumUnitF32(tile, cols, m, etile, grad != 0, tmp);
    const ones = v128.load(tmp, T_ONES), restE = v128.load(tmp, T_SUM);
    const ls = logOnesPlusF32x4(ones, f32x4.div(restE, scale));
    // ignored rows 0; rows whose maximum is not finite (or hold NaN) NaN
    const bad = v128.or(v128.not(finiteF32x4(m)), v128.load(tmp, T_NAN));
    // without smoothing, (1−ε)·w_y·(log S − (z_y − m)) in float32 lanes (a few roundings of
    // non-negative terms) where that is finite; in float64 in the others, and with smoothing
    const loss32 = eps == 0 ? v128.andnot(f32x4.mul(f32x4.mul(keep, wy), f32x4.sub(ls, f32x4.sub(zy, m))), f32x4.eq(wy, zero)) : zero;
    const fin = eps == 0 ? finiteF32x4(loss32) : i32x4.splat(0);
    const l32 = v128.andnot(v128.or(loss32, v128.and(bad, f32x4.splat(NaN))), ignored);
    let lossLo = f64x2.promote_low_f32x4(l32), lossHi = promoteHighF32x4(l32);
    if (!i32x4.all_true(fin)) {
      const finLo = i64x2.extend_low_i32x4_s(fin), finHi = i64x2.extend_high_i32x4_s(fin);
      lossLo = v128.bitselect(lossLo, labelLossF64(f64x2.promote_low_f32x4(ls), f64x2.sub(f64x2.promote_low_f32x4(zy), mLo),
        f64x2.promote_low_f32x4(wy), aLo, keep64, share64, sw64, eps > 0, i64x2.extend_low_i32x4_s(bad), i64x2.extend_low_i32x4_s(ignored)), finLo);
      lossHi = v128.bitselect(lossHi, labelLossF64(promoteHighF32x4(ls), f64x2.sub(promoteHighF32x4(zy), mHi),
        promoteHighF32x4(wy), aHi, keep64, share64, sw64, eps > 0, i64x2.extend_high_i32x4_s(bad), i64x2.extend_high_i32x4_s(ignored)), finHi);
    }
    storeRowsF64(out, r, min(rows - r, 4), lossLo, lossHi);
    if (grad) {
      const sE = madd32(ones, scale, restE);
      const gs = f32x4.splat(<f32>gradScale);
      const ga = f32x4.mul(f32x4.div(madd32(keep, wy, f32x4.mul(share, sw)), sE), gs);
      const gb = f32x4.mul(share, gs), gc = f32x4.mul(f32x4.mul(keep, wy), gs);
      const dead = v128.or(ignored, bad);
      const fillv = v128.and(v128.andnot(f32x4.splat(NaN), ignored), bad); // NaN where bad, 0 where ignored
      if (weights && eps > 0) {
        for (let j = 0; j < cols; j++) {
          const o = <usize>j << 4;
          const wj = f32x4.splat(load<f32>(weights + (<usize>j << 2)));
          let g = f32x4.sub(f32x4.mul(v128.load(etile + o), ga), f32x4.mul(wj, gb));
          g = f32x4.sub(g, v128.and(gc, i32x4.eq(y, i32x4.splat(j))));
          v128.store(etile + o, v128.bitselect(fillv, g, dead));
        }
      } else {
        // every class of weight 1 (1·gb is gb exactly): the same values, no load or branch a column
        let jv = i32x4.splat(0);
        const step = i32x4.splat(1);
        for (let j = 0; j < cols; j++) {
          const o = <usize>j << 4;
          let g = f32x4.sub(f32x4.mul(v128.load(etile + o), ga), gb);
          g = f32x4.sub(g, v128.and(gc, i32x4.eq(y, jv)));
          v128.store(etile + o, v128.bitselect(fillv, g, dead));
          jv = i32x4.add(jv, step);
        }
      }
      scatterF32(etile, r, cols, grad);
    }
  }
}

/**
 * A label row's loss in two float64 lanes: (1−ε)·w_y·(log S − t_y) (0 where w_y = 0) +
 * (ε/C)·(W·log S − a); NaN where `bad`, 0 where `ignored` (64-bit lane masks).
 */
// @ts-ignore: decorator
@inline function labelLossF64(ls: v128, ty: v128, wy: v128, a: v128, keep: v128, share: v128, sw: v128, smooth: bool, bad: v128, ignored: v128): v128 {
  let loss = v128.andnot(f64x2.mul(f64x2.mul(keep, wy), f64x2.sub(ls, ty)), f64x2.eq(wy, f64x2.splat(0)));
  if (smooth) loss = madd64(share, f64x2.sub(f64x2.mul(sw, ls), a), loss);
  return v128.andnot(v128.or(loss, v128.and(bad, f64x2.splat(NaN))), ignored);
}

function probsNarrowF32(z: usize, targets: usize, rows: i32, cols: i32, weights: usize,
  eps: f64, gradScale: f64, grad: usize, out: usize, tmp: usize): void {
  const tile = tmp + T_TILE, etile = tile + (<usize>cols << 4);
  const keep = f32x4.splat(<f32>(1 - eps)), spread = f32x4.splat(<f32>(eps / <f64>cols));
  const zero = f32x4.splat(0), zero64 = f64x2.splat(0);
  const row = <usize>cols << 2;
  for (let r = 0; r < rows; r += 4) {
    const m = gatherF32(z, r, cols, tmp);
    const q0 = targets + <usize>r * row, q1 = q0 + row, q2 = q1 + row, q3 = q2 + row;
    // Σ w·t̃·(z − m) and Σ w·t̃ per lane: float32 products summed over 8 columns at most (≤ 8
    // roundings of terms of one sign: 4.8e-7), the chunks into float64; w·t̃ also goes to the
    // second tile, for the gradient.  Targets are not validated (PyTorch): a product or a chunk
    // beyond float32's range leaves a sum that is not finite — as do a −Infinity logit under a
    // positive target and a NaN — and such a lane (row) is summed again in float64 term by
    // term, the others kept (a row's result never depends on its tile's other rows).
    let bLo = zero64, bHi = zero64, twLo = zero64, twHi = zero64;
    for (let j0 = 0; j0 < cols; j0 += 8) {
      const end = min(j0 + 8, cols);
      let bs = zero, ts = zero;
      for (let j = j0; j < end; j++) {
        const o = <usize>j << 2;
        let t = v128.load32_zero(q0 + o);
        t = v128.load32_lane(q1 + o, t, 1);
        t = v128.load32_lane(q2 + o, t, 2);
        t = v128.load32_lane(q3 + o, t, 3);
        let wt = madd32(t, keep, spread);
        if (weights) wt = f32x4.mul(wt, f32x4.splat(load<f32>(weights + o)));
        const v = f32x4.sub(v128.load(tile + (<usize>j << 4)), m);
        // a term of weight·target 0 counts 0, even against a −Infinity logit
        bs = f32x4.add(bs, v128.andnot(f32x4.mul(wt, v), f32x4.eq(wt, zero)));
        ts = f32x4.add(ts, wt);
        v128.store(etile + (<usize>j << 4), wt);
      }
      bLo = f64x2.add(bLo, f64x2.promote_low_f32x4(bs));
      bHi = f64x2.add(bHi, promoteHighF32x4(bs));
      twLo = f64x2.add(twLo, f64x2.promote_low_f32x4(ts));
      twHi = f64x2.add(twHi, promoteHighF32x4(ts));
    }
    // (a lane's b + tw is not finite when either is not)
    const finLo = finiteF64x2(f64x2.add(bLo, twLo)), finHi = finiteF64x2(f64x2.add(bHi, twHi));
    if (!i64x2.all_true(v128.and(finLo, finHi))) {
      const mLo = f64x2.promote_low_f32x4(m), mHi = promoteHighF32x4(m);
      let cLo = zero64, cHi = zero64, uLo = zero64, uHi = zero64;
      for (let j = 0; j < cols; j++) {
        const wt = v128.load(etile + (<usize>j << 4)), v = v128.load(tile + (<usize>j << 4));
        const wtLo = f64x2.promote_low_f32x4(wt), wtHi = promoteHighF32x4(wt);
        cLo = f64x2.add(cLo, v128.andnot(f64x2.mul(wtLo, f64x2.sub(f64x2.promote_low_f32x4(v), mLo)), f64x2.eq(wtLo, zero64)));
        cHi = f64x2.add(cHi, v128.andnot(f64x2.mul(wtHi, f64x2.sub(promoteHighF32x4(v), mHi)), f64x2.eq(wtHi, zero64)));
        uLo = f64x2.add(uLo, wtLo);
        uHi = f64x2.add(uHi, wtHi);
      }
      bLo = v128.bitselect(bLo, cLo, finLo);
      bHi = v128.bitselect(bHi, cHi, finHi);
      twLo = v128.bitselect(twLo, uLo, finLo);
      twHi = v128.bitselect(twHi, uHi, finHi);
    }
    // the exponentials, for the gradient, overwrite the tile (x is no longer needed)
    const scale = tileSumUnitF32(tile, cols, m, tile, grad != 0, tmp);
    const ones = v128.load(tmp, T_ONES), restE = v128.load(tmp, T_SUM);
    const ls = logOnesPlusF32x4(ones, f32x4.div(restE, scale));
    const bad = v128.or(v128.not(finiteF32x4(m)), v128.load(tmp, T_NAN));
    const nan64 = f64x2.splat(NaN);
    const lossLo = v128.or(f64x2.sub(f64x2.mul(twLo, f64x2.promote_low_f32x4(ls)), bLo), v128.and(i64x2.extend_low_i32x4_s(bad), nan64));
    const lossHi = v128.or(f64x2.sub(f64x2.mul(twHi, promoteHighF32x4(ls)), bHi), v128.and(i64x2.extend_high_i32x4_s(bad), nan64));
    storeRowsF64(out, r, min(rows - r, 4), lossLo, lossHi);
    if (grad) {
      const sE = madd32(ones, scale, restE);
      const gs = f32x4.splat(<f32>gradScale);
      const tw = i32x4.shuffle(f32x4.demote_f64x2_zero(twLo), f32x4.demote_f64x2_zero(twHi), 0, 1, 4, 5);
      const ga = f32x4.mul(f32x4.div(tw, sE), gs);
      const nan = v128.and(bad, f32x4.splat(NaN));
      for (let j = 0; j < cols; j++) {
        const o = <usize>j << 4;
        const g = f32x4.sub(f32x4.mul(v128.load(tile + o), ga), f32x4.mul(v128.load(etile + o), gs));
        v128.store(tile + o, v128.or(g, nan));
      }
      scatterF32(tile, r, cols, grad);
    }
  }
}

// ---------------------------------------------------------------------------------
// float64
// ---------------------------------------------------------------------------------

function affineGradF64(g: usize, n: i32, a: f64, b: f64, gs: f64, w: usize, tgt: usize, keep: f64, spread: f64): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const va = f64x2.splat(a), vb = f64x2.splat(b), vg = f64x2.splat(gs), vk = f64x2.splat(keep), vs = f64x2.splat(spread);
    const one = f64x2.splat(1);
    for (; i < n; i += 2) {
      const o = <usize>i << 3;
      let wt = tgt ? madd64(v128.load(tgt + o), vk, vs) : one;
      if (w) wt = f64x2.mul(wt, v128.load(w + o));
      const v = f64x2.mul(f64x2.sub(f64x2.mul(v128.load(g + o), va), f64x2.mul(wt, vb)), vg);
      storeLanesF64(g + o, v, min(n - i, 2));
    }
    return;
  }
  for (; i < n; i++) {
    const o = <usize>i << 3;
    let wt: f64 = tgt ? load<f64>(tgt + o) * keep + spread : 1;
    if (w) wt *= load<f64>(w + o);
    store<f64>(g + o, (load<f64>(g + o) * a - wt * b) * gs);
  }
}

function restF64(z: usize, n: i32, m: f64, g: usize, tmp: usize): f64 {
  if (!ASC_FEATURE_SIMD) {
    const rest = scalarExpSumF64(z, n, m, scalarLow, 1.0, g);
    rowOnes = scalarOnes;
    return rest;
  }
  const mv = f64x2.splat(m);
  setupF64(mv, 1, tmp);
  expPassF64(z, n, mv, 1, g, true, tmp);
  rowOnes = <f64>passOnes;
  return passRest / f64x2.extract_lane(expOfF64(mv, 1, tmp), 0);
}

function storedScaleF64(m: f64, tmp: usize): f64 {
  if (!ASC_FEATURE_SIMD) return 1;
  const mv = f64x2.splat(m);
  setupF64(mv, 1, tmp);
  return f64x2.extract_lane(expOfF64(mv, 1, tmp), 0);
}

function maxOfF64(z: usize, n: i32): f64 {
  return ASC_FEATURE_SIMD ? f64x2.extract_lane(rowMaxF64(z, n), 0) : scalarMaxF64(z, n);
}

export function softmaxCrossEntropyLabelsF64(
  z: usize, labels: usize, rows: i32, cols: i32, weights: usize, wsum: f64,
  eps: f64, gradScale: f64, grad: usize, out: usize, grouped: bool, tmp: usize
): void {
  // whole groups of 2 rows as tiles, a last partial group row by row (see rows.ts)
  const first = ASC_FEATURE_SIMD && cols < NARROW && cols > 0 ? rows & ~1 : 0;
  if (first > 0 && cols == 2 && !weights && eps == 0) twoRowsF64(z, labels, first, out, TWO_LOSS, grad, gradScale);
  else if (first > 0 && cols == 4 && !weights && eps == 0) fourRowsF64(z, labels, first, 1, out, TWO_LOSS, grad, gradScale);
  else if (first > 0) labelsNarrowF64(z, labels, first, cols, weights, wsum, eps, gradScale, grad, out, tmp);
  const C = <f64>cols;
  for (let r = first; r < rows; r++) {
    const off = <usize>r * <usize>cols << 3;
    const row = z + off;
    const y = load<i32>(labels + (<usize>r << 2));
    if (y < 0) {
      store<f64>(out + (<usize>r << 3), 0);
      if (grad) memory.fill(grad + off, 0, <usize>cols << 3);
      continue;
    }
    const m = maxOfF64(row, cols);
    if (!isFinite(m)) {
      store<f64>(out + (<usize>r << 3), NaN);
      if (grad) fillF64(grad + off, cols, NaN);
      continue;
    }
    const ty = load<f64>(row + (<usize>y << 3)) - m;
    const a = eps > 0 ? weightedShift<f64>(row, cols, m, weights) : 0;
    const rest = restF64(row, cols, m, grad ? grad + off : 0, tmp);
    const ones = rowOnes;
    const s = ones + rest, ls = logOnesPlus(ones, rest);
    const wy: f64 = weights ? load<f64>(weights + (<usize>y << 3)) : 1;
    let loss = wy != 0 ? (1 - eps) * wy * (ls - ty) : 0 * ls; // (as the float32 rows')
    if (eps > 0) loss += eps / C * (wsum * ls - a);
    store<f64>(out + (<usize>r << 3), loss);
    if (grad) {
      const g = grad + off;
      const gy = g + (<usize>y << 3);
      const scale = storedScaleF64(m, tmp);
      fold(((1 - eps) * wy + eps * wsum / C) / (s * scale), eps / C, (1 - eps) * wy, gradScale, false);
      const ey = load<f64>(gy);
      const w = eps > 0 ? weights : 0;
      affineGradF64(g, cols, gA, gB, gS, w, 0, 0, 0);
      const by = w ? gB * load<f64>(w + (<usize>y << 3)) : gB;
      store<f64>(gy, (ey * gA - by - gC) * gS);
    }
  }
  if (grouped) sumGroupsF64(out, rows);
}

export function softmaxCrossEntropyProbsF64(
  z: usize, targets: usize, rows: i32, cols: i32, weights: usize,
  eps: f64, gradScale: f64, grad: usize, out: usize, grouped: bool, tmp: usize
): void {
  // whole groups of 2 rows as tiles, a last partial group row by row (see rows.ts)
  const first = ASC_FEATURE_SIMD && cols < NARROW && cols > 0 ? rows & ~1 : 0;
  if (first > 0) {
    probsNarrowF64(z, targets, first, cols, weights, eps, gradScale, grad, out, tmp);
  }
  const keep = 1 - eps, spread = eps / <f64>cols;
  for (let r = first; r < rows; r++) {
    const off = <usize>r * <usize>cols << 3;
    const row = z + off, tgt = targets + off;
    const m = maxOfF64(row, cols);
    if (!isFinite(m)) {
      store<f64>(out + (<usize>r << 3), NaN);
      if (grad) fillF64(grad + off, cols, NaN);
      continue;
    }
    const b = targetSums<f64>(row, tgt, cols, m, weights, keep, spread);
    const tw = tgtW;
    const rest = restF64(row, cols, m, grad ? grad + off : 0, tmp);
    const ones = rowOnes;
    const s = ones + rest;
    store<f64>(out + (<usize>r << 3), tw * logOnesPlus(ones, rest) - b);
    if (grad) {
      const scale = storedScaleF64(m, tmp);
      fold(tw / (s * scale), 1, 0, gradScale, false);
      affineGradF64(grad + off, cols, gA, gB, gS, weights, tgt, keep, spread);
    }
  }
  if (grouped) sumGroupsF64(out, rows);
}

function labelsNarrowF64(z: usize, labels: usize, rows: i32, cols: i32, weights: usize, wsum: f64,
  eps: f64, gradScale: f64, grad: usize, out: usize, tmp: usize): void {
  const tile = tmp + T_TILE, etile = tile + (<usize>cols << 4);
  const keep = f64x2.splat(1 - eps), share = f64x2.splat(eps / <f64>cols), sw = f64x2.splat(wsum);
  const zero = f64x2.splat(0), one = f64x2.splat(1);
  expConstsF64(1);
  for (let r = 0; r < rows; r += 2) {
    const m = gatherF64(z, r, cols, tmp);
    const y0 = load<i32>(labels + (<usize>r << 2)), y1 = load<i32>(labels + (<usize>(r + 1) << 2));
    const y = i64x2.replace_lane(i64x2.splat(<i64>y0), 1, <i64>y1);
    const ignored = i64x2.lt_s(y, i64x2.splat(0));
    let ty = zero, wy = one, a = zero;
    if (!weights && eps == 0) {
      // z_y − m read where z_y is (see labelsNarrowF32); 0 where a row is ignored
      let zy = zero;
      if (y0 >= 0) zy = f64x2.replace_lane(zy, 0, load<f64>(z + ((<usize>r * <usize>cols + <usize>y0) << 3)));
      if (y1 >= 0) zy = f64x2.replace_lane(zy, 1, load<f64>(z + ((<usize>(r + 1) * <usize>cols + <usize>y1) << 3)));
      ty = v128.andnot(f64x2.sub(zy, m), ignored);
    } else for (let j = 0; j < cols; j++) {
      const v = f64x2.sub(v128.load(tile + (<usize>j << 4)), m);
      const at = i64x2.eq(y, i64x2.splat(j));
      const wj = weights ? f64x2.splat(load<f64>(weights + (<usize>j << 3))) : one;
      ty = v128.bitselect(v, ty, at);
      if (weights) wy = v128.bitselect(wj, wy, at);
      if (eps > 0) a = f64x2.add(a, v128.andnot(f64x2.mul(wj, v), f64x2.eq(wj, zero)));
    }
    const scale = tileSumAtF64(tile, cols, m, 1, true, etile, grad != 0, true, tmp);
    const ones = v128.load(tmp, T_ONES), restE = v128.load(tmp, T_SUM);
    const ls = logOnesPlusF64x2(ones, f64x2.div(restE, scale));
    let loss = v128.andnot(f64x2.mul(f64x2.mul(keep, wy), f64x2.sub(ls, ty)), f64x2.eq(wy, zero));
    if (eps > 0) loss = madd64(share, f64x2.sub(f64x2.mul(sw, ls), a), loss);
    const bad = v128.or(v128.not(finiteF64x2(m)), v128.load(tmp, T_NAN));
    loss = v128.andnot(v128.or(loss, v128.and(bad, f64x2.splat(NaN))), ignored);
    storeLanesF64(out + (<usize>r << 3), loss, min(rows - r, 2));
    if (grad) {
      const sE = madd64(ones, scale, restE);
      const gs = f64x2.splat(gradScale);
      const ga = f64x2.mul(f64x2.div(madd64(keep, wy, f64x2.mul(share, sw)), sE), gs);
      const gb = f64x2.mul(share, gs), gc = f64x2.mul(f64x2.mul(keep, wy), gs);
      const dead = v128.or(ignored, bad);
      const fillv = v128.and(v128.andnot(f64x2.splat(NaN), ignored), bad);
      for (let j = 0; j < cols; j++) {
        const o = <usize>j << 4;
        const wj = weights && eps > 0 ? f64x2.splat(load<f64>(weights + (<usize>j << 3))) : one;
        let g = f64x2.sub(f64x2.mul(v128.load(etile + o), ga), f64x2.mul(wj, gb));
        g = f64x2.sub(g, v128.and(gc, i64x2.eq(y, i64x2.splat(j))));
        v128.store(etile + o, v128.bitselect(fillv, g, dead));
      }
      scatterF64(etile, r, cols, grad);
    }
  }
}

function probsNarrowF64(z: usize, targets: usize, rows: i32, cols: i32, weights: usize,
  eps: f64, gradScale: f64, grad: usize, out: usize, tmp: usize): void {
  const tile = tmp + T_TILE, etile = tile + (<usize>cols << 4);
  const keep = f64x2.splat(1 - eps), spread = f64x2.splat(eps / <f64>cols);
  const zero = f64x2.splat(0);
  const row = <usize>cols << 3;
  expConstsF64(1);
  for (let r = 0; r < rows; r += 2) {
    const m = gatherF64(z, r, cols, tmp);
    const q0 = targets + <usize>r * row, q1 = q0 + row;
    let b = zero, tw = zero;
    for (let j = 0; j < cols; j++) {
      const o = <usize>j << 3;
      const t = v128.load64_lane(q1 + o, v128.load64_zero(q0 + o), 1);
      let wt = madd64(t, keep, spread);
      if (weights) wt = f64x2.mul(wt, f64x2.splat(load<f64>(weights + o)));
      const v = f64x2.sub(v128.load(tile + (<usize>j << 4)), m);
      b = f64x2.add(b, v128.andnot(f64x2.mul(wt, v), f64x2.eq(wt, zero)));
      tw = f64x2.add(tw, wt);
      v128.store(etile + (<usize>j << 4), wt);
    }
    // the exponentials, for the gradient, overwrite the tile (x is no longer needed)
    const scale = tileSumAtF64(tile, cols, m, 1, true, tile, grad != 0, true, tmp);
    const ones = v128.load(tmp, T_ONES), restE = v128.load(tmp, T_SUM);
    const ls = logOnesPlusF64x2(ones, f64x2.div(restE, scale));
    const bad = v128.or(v128.not(finiteF64x2(m)), v128.load(tmp, T_NAN));
    let loss = f64x2.sub(f64x2.mul(tw, ls), b);
    loss = v128.or(loss, v128.and(bad, f64x2.splat(NaN)));
    storeLanesF64(out + (<usize>r << 3), loss, min(rows - r, 2));
    if (grad) {
      const sE = madd64(ones, scale, restE);
      const gs = f64x2.splat(gradScale);
      const ga = f64x2.mul(f64x2.div(tw, sE), gs);
      const nan = v128.and(bad, f64x2.splat(NaN));
      for (let j = 0; j < cols; j++) {
        const o = <usize>j << 4;
        const g = f64x2.sub(f64x2.mul(v128.load(tile + o), ga), f64x2.mul(v128.load(etile + o), gs));
        v128.store(tile + o, v128.or(g, nan));
      }
      scatterF64(tile, r, cols, grad);
    }
  }
}

// The fused softmax cross-entropy loss and its gradient, row by row, with PyTorch's
// semantics for class weights w and label smoothing ε (C = cols classes):
//
//   labels:  lossᵢ = (1−ε)·w_y·(lse − z_y) + (ε/C)·Σ_c w_c·(lse − z_c)
//   targets: lossᵢ = −Σ_c w_c·t̃_c·log p_c,   t̃ = (1−ε)·t + ε/C
//
// with lse − z_c = log S − t_c, t_c = z_c − m ≤ 0 and S = Σ exp(t_c), so every term
// is a sum of non-negative parts.  The softmax is computed once: its exponentials go
// straight into `grad`, and a last pass turns them into
//
//   labels:  ∂/∂z_c = g·[((1−ε)·w_y + ε·W/C)·p_c − (ε/C)·w_c − (1−ε)·w_y·[c = y]]
//   targets: ∂/∂z_c = g·[(Σ_k w_k·t̃_k)·p_c − w_c·t̃_c]
//
// where W = Σ w_c and g is the caller's scale (1/Σ w_y for 'mean', else 1; times
// 1/ln(base)), folded into the coefficients unless that overflows (`foldScale`).  A row
// with a negative label is ignored: loss 0, gradient 0.  `grad` may be `z` itself:
// every value a later pass needs is read before the exponentials overwrite it.
// Terms whose weight·target is 0 contribute 0 even against a −Infinity logit.  A
// (non-ignored) row whose logits are all −Infinity, or hold +Infinity, has no defined
// softmax: its loss and gradient are NaN, as in PyTorch.

import { maxF32, maxF64, sumLanesF64x2, promoteHighF32x4 } from "./reduce";
import { expSumF32, expSumF64, expSumOnes, fillF32, fillF64 } from "./softmax";
import { logOnesPlus } from "./math";

// ---------------------------------------------------------------------------------
// float32
// ---------------------------------------------------------------------------------

/** Σ_c w_c·t_c over a float32 row, t_c = z_c − m, w_c = 1 when `w` = 0; w_c = 0 terms skipped. */
function weightedShiftedSumF32(z: usize, n: i32, m: f32, w: usize): f64 {
  let i = 0;
  let s: f64 = 0;
  if (ASC_FEATURE_SIMD) {
    const vm = f32x4.splat(m), zero = f32x4.splat(0);
    let s0 = f64x2.splat(0), s1 = s0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const t = f32x4.sub(v128.load(z + o), vm);
      let wt = t;
      if (w) {
        const vw = v128.load(w + o);
        wt = v128.bitselect(zero, f32x4.mul(vw, t), f32x4.eq(vw, zero));
      }
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(wt));
      s1 = f64x2.add(s1, promoteHighF32x4(wt));
    }
    s = sumLanesF64x2(f64x2.add(s0, s1));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const wc: f32 = w ? load<f32>(w + o) : 1;
    if (wc != 0) s += <f64>(wc * (load<f32>(z + o) - m));
  }
  return s;
}

/**
 * The gradient's coefficients (a, b, c for the label) and the caller's scale gs: folded
 * into one another when the products stay finite in the gradient's precision (fewest
 * roundings, no subnormal intermediates when gs is large), else kept apart so gs comes
 * last (a gs beyond the range — a base near 1 — then overflows to the gradient's signed
 * infinity, not to ∞ − ∞).  Sets gA, gB, gC, gS.
 */
let gA: f64 = 0, gB: f64 = 0, gC: f64 = 0, gS: f64 = 1;
function foldScale(a: f64, b: f64, c: f64, gs: f64, f32: bool): void {
  const fa = a * gs, fb = b * gs, fc = c * gs;
  const fits = f32 ? isFinite(<f32>fa) && isFinite(<f32>fb) && isFinite(<f32>fc) : isFinite(fa) && isFinite(fb) && isFinite(fc);
  if (fits) {
    gA = fa; gB = fb; gC = fc; gS = 1;
  } else {
    gA = a; gB = b; gC = c; gS = gs;
  }
}

/**
 * `expSumF32` at T = 1, storing the exponentials to g (when g ≠ 0).  When g is the row
 * itself, the exact rest (see `expSumF32`) must come from a pass that does not store,
 * before the one that overwrites the logits: in-place costs one more exp pass.
 */
function restF32(row: usize, n: i32, m: f32, g: usize): f64 {
  if (g != row) return expSumF32(row, n, m, 1.0, g);
  const rest = expSumF32(row, n, m, 1.0, 0);
  const ones = expSumOnes;
  expSumF32(row, n, m, 1.0, g, false);
  expSumOnes = ones;
  return rest;
}

/**
 * g[c] = (e[c]·a − b·(w ? w[c] : 1))·gs, in place over a float32 row.  The caller's
 * scale gs comes last, so a scale beyond the range (a base near 1, say) overflows to
 * the gradient's signed infinity rather than to ∞ − ∞.  Returns whether some e[c] was
 * below FLT_MIN (see `subnormalGradF32`).
 */
function affineF32(g: usize, n: i32, a: f32, b: f32, w: usize, gs: f32): bool {
  let i = 0;
  let low = false;
  if (ASC_FEATURE_SIMD) {
    const va = f32x4.splat(a), vb = f32x4.splat(b), vg = f32x4.splat(gs), tiny = f32x4.splat(F32_MIN_NORMAL);
    let lows = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const e = v128.load(g + o);
      lows = v128.or(lows, f32x4.lt(e, tiny));
      const sub = w ? f32x4.mul(vb, v128.load(w + o)) : vb;
      v128.store(g + o, f32x4.mul(f32x4.sub(f32x4.mul(e, va), sub), vg));
    }
    low = v128.any_true(lows);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const e = load<f32>(g + o);
    if (e < F32_MIN_NORMAL) low = true;
    store<f32>(g + o, (e * a - b * (w ? load<f32>(w + o) : 1)) * gs);
  }
  return low;
}

const F32_MIN_NORMAL: f32 = 1.17549435e-38;
const LN_F32_MIN_NORMAL: f64 = -87.33654475055310898657;

/**
 * Float32 gradient entries whose exponential e = exp(z − m) fell below FLT_MIN were formed
 * from e on float32's subnormal grid (a few subnormal ulps off once scaled).  Recomputed
 * here from the logits, in float64, and rounded once: g = (e·a − sub)·gs with sub = b·w_c
 * (labels; plus c at the label y) or c·w_c·(t_c·keep + spread) (probability targets, when
 * `tgt` ≠ 0).  Needs the logits intact: not called when the gradient overwrote them.
 */
function subnormalGradF32(z: usize, g: usize, n: i32, m: f32, a: f64, b: f64, c: f64, gs: f64,
  w: usize, y: i32, tgt: usize, keep: f64, spread: f64): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const t = <f64>load<f32>(z + o) - <f64>m;
    if (!(t < LN_F32_MIN_NORMAL)) continue;
    const wc: f64 = w ? <f64>load<f32>(w + o) : 1;
    let sub: f64;
    if (tgt) sub = c * wc * (<f64>load<f32>(tgt + o) * keep + spread);
    else sub = b * wc + (i == y ? c : 0);
    store<f32>(g + o, <f32>((Math.exp(t) * a - sub) * gs));
  }
}

/**
 * Integer labels (int32, negative = ignored).  out[r] = the row's weighted loss;
 * grad (or 0) gets the gradient scaled by `gradScale`.  `weights` (float32 per class,
 * or 0 for none) sum to `wsum`.
 */
export function softmaxCrossEntropyLabelsF32(
  z: usize, labels: usize, rows: i32, cols: i32, weights: usize, wsum: f64,
  eps: f64, gradScale: f64, grad: usize, out: usize
): void {
  const C = <f64>cols;
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    const row = z + off;
    const y = load<i32>(labels + (<usize>r << 2));
    if (y < 0) {
      store<f64>(out + (<usize>r << 3), 0);
      if (grad) memory.fill(grad + off, 0, <usize>cols << 2);
      continue;
    }
    const m = maxF32(row, cols);
    if (!isFinite(m)) {
      store<f64>(out + (<usize>r << 3), NaN);
      if (grad) fillF32(grad + off, cols, NaN);
      continue;
    }
    const ty = <f64>load<f32>(row + (<usize>y << 2)) - <f64>m;
    const a = eps > 0 ? weightedShiftedSumF32(row, cols, m, weights) : 0;
    const rest = restF32(row, cols, m, grad ? grad + off : 0);
    const s = expSumOnes + rest;
    const ls = logOnesPlus(expSumOnes, rest);
    const wy: f64 = weights ? <f64>load<f32>(weights + (<usize>y << 2)) : 1;
    // a label of weight 0 counts 0, even against a −Infinity logit (not 0·Infinity)
    let loss = wy != 0 ? (1 - eps) * wy * (ls - ty) : 0;
    if (eps > 0) loss += eps / C * (wsum * ls - a);
    store<f64>(out + (<usize>r << 3), loss);
    if (grad) {
      const gy = grad + off + (<usize>y << 2);
      const ey = load<f32>(gy);
      foldScale(((1 - eps) * wy + eps * wsum / C) / s, eps / C, (1 - eps) * wy, gradScale, true);
      const ga = <f32>gA, gb = <f32>gB, gc = <f32>gC, gs = <f32>gS;
      const w = eps > 0 ? weights : 0;
      const low = affineF32(grad + off, cols, ga, gb, w, gs);
      const by = w ? gb * load<f32>(w + (<usize>y << 2)) : gb;
      store<f32>(gy, (ey * ga - by - gc) * gs);
      if (low && grad + off != row) subnormalGradF32(row, grad + off, cols, m, gA, gB, gC, gS, w, y, 0, 0, 0);
    }
  }
}

/**
 * Probability targets (float32 matrix like z).  out[r] = the row's loss; gradient as
 * for labels.  `weights` as for labels.
 */
export function softmaxCrossEntropyProbsF32(
  z: usize, targets: usize, rows: i32, cols: i32, weights: usize,
  eps: f64, gradScale: f64, grad: usize, out: usize
): void {
  const keep64 = 1 - eps, spread64 = eps / <f64>cols;
  const keep = <f32>keep64, spread = <f32>spread64;
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 2;
    const row = z + off, tgt = targets + off;
    const m = maxF32(row, cols);
    if (!isFinite(m)) {
      store<f64>(out + (<usize>r << 3), NaN);
      if (grad) fillF32(grad + off, cols, NaN);
      continue;
    }
    // B = Σ w·t̃·(z − m) and Tw = Σ w·t̃, before the exponentials may overwrite z — in
    // float64 lanes: targets are not validated, and w·t̃·(z − m) of float32 numbers can
    // pass float32's range (1e30 · 2e30) where the loss itself is finite.
    let i = 0;
    let b: f64 = 0, tw: f64 = 0;
    const m64 = <f64>m;
    if (ASC_FEATURE_SIMD) {
      const vm = f64x2.splat(m64), vk = f64x2.splat(keep64), vs = f64x2.splat(spread64), zero = f64x2.splat(0);
      let b0 = f64x2.splat(0), b1 = b0, t0 = b0, t1 = b0;
      for (; i + 4 <= cols; i += 4) {
        const o = <usize>i << 2;
        const t = v128.load(tgt + o), z = v128.load(row + o);
        let w0 = f64x2.add(f64x2.mul(f64x2.promote_low_f32x4(t), vk), vs);
        let w1 = f64x2.add(f64x2.mul(promoteHighF32x4(t), vk), vs);
        if (weights) {
          const w = v128.load(weights + o);
          w0 = f64x2.mul(w0, f64x2.promote_low_f32x4(w));
          w1 = f64x2.mul(w1, promoteHighF32x4(w));
        }
        b0 = f64x2.add(b0, v128.bitselect(zero, f64x2.mul(w0, f64x2.sub(f64x2.promote_low_f32x4(z), vm)), f64x2.eq(w0, zero)));
        b1 = f64x2.add(b1, v128.bitselect(zero, f64x2.mul(w1, f64x2.sub(promoteHighF32x4(z), vm)), f64x2.eq(w1, zero)));
        t0 = f64x2.add(t0, w0);
        t1 = f64x2.add(t1, w1);
      }
      b = sumLanesF64x2(f64x2.add(b0, b1));
      tw = sumLanesF64x2(f64x2.add(t0, t1));
    }
    for (; i < cols; i++) {
      const o = <usize>i << 2;
      let wt = <f64>load<f32>(tgt + o) * keep64 + spread64;
      if (weights) wt *= <f64>load<f32>(weights + o);
      if (wt != 0) b += wt * (<f64>load<f32>(row + o) - m64);
      tw += wt;
    }
    const rest = restF32(row, cols, m, grad ? grad + off : 0);
    const s = expSumOnes + rest;
    store<f64>(out + (<usize>r << 3), tw * logOnesPlus(expSumOnes, rest) - b);
    if (grad) {
      const g = grad + off;
      foldScale(tw / s, 1, 0, gradScale, true);
      const a = <f32>gA, c = <f32>gB, gs = <f32>gS;
      i = 0;
      let low = false;
      if (ASC_FEATURE_SIMD) {
        const va = f32x4.splat(a), vc = f32x4.splat(c), vg = f32x4.splat(gs), vk = f32x4.splat(keep), vs = f32x4.splat(spread);
        const tiny = f32x4.splat(F32_MIN_NORMAL);
        let lows = f32x4.splat(0);
        for (; i + 4 <= cols; i += 4) {
          const o = <usize>i << 2;
          let wt = f32x4.add(f32x4.mul(v128.load(tgt + o), vk), vs);
          if (weights) wt = f32x4.mul(wt, v128.load(weights + o));
          const e = v128.load(g + o);
          lows = v128.or(lows, f32x4.lt(e, tiny));
          v128.store(g + o, f32x4.mul(f32x4.sub(f32x4.mul(e, va), f32x4.mul(wt, vc)), vg));
        }
        low = v128.any_true(lows);
      }
      for (; i < cols; i++) {
        const o = <usize>i << 2;
        let wt = load<f32>(tgt + o) * keep + spread;
        if (weights) wt *= load<f32>(weights + o);
        const e = load<f32>(g + o);
        if (e < F32_MIN_NORMAL) low = true;
        store<f32>(g + o, (e * a - wt * c) * gs);
      }
      if (low && g != row) subnormalGradF32(row, g, cols, m, gA, 0, gB, gS, weights, -1, tgt, keep64, spread64);
    }
  }
}

// ---------------------------------------------------------------------------------
// float64
// ---------------------------------------------------------------------------------

function weightedShiftedSumF64(z: usize, n: i32, m: f64, w: usize): f64 {
  let i = 0;
  let s: f64 = 0;
  if (ASC_FEATURE_SIMD) {
    const vm = f64x2.splat(m), zero = f64x2.splat(0);
    let s0 = f64x2.splat(0);
    for (; i + 2 <= n; i += 2) {
      const o = <usize>i << 3;
      const t = f64x2.sub(v128.load(z + o), vm);
      let wt = t;
      if (w) {
        const vw = v128.load(w + o);
        wt = v128.bitselect(zero, f64x2.mul(vw, t), f64x2.eq(vw, zero));
      }
      s0 = f64x2.add(s0, wt);
    }
    s = sumLanesF64x2(s0);
  }
  for (; i < n; i++) {
    const o = <usize>i << 3;
    const wc: f64 = w ? load<f64>(w + o) : 1;
    if (wc != 0) s += wc * (load<f64>(z + o) - m);
  }
  return s;
}

function affineF64(g: usize, n: i32, a: f64, b: f64, w: usize, gs: f64): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const va = f64x2.splat(a), vb = f64x2.splat(b), vg = f64x2.splat(gs);
    for (; i + 2 <= n; i += 2) {
      const o = <usize>i << 3;
      const sub = w ? f64x2.mul(vb, v128.load(w + o)) : vb;
      v128.store(g + o, f64x2.mul(f64x2.sub(f64x2.mul(v128.load(g + o), va), sub), vg));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 3;
    store<f64>(g + o, (load<f64>(g + o) * a - b * (w ? load<f64>(w + o) : 1)) * gs);
  }
}

export function softmaxCrossEntropyLabelsF64(
  z: usize, labels: usize, rows: i32, cols: i32, weights: usize, wsum: f64,
  eps: f64, gradScale: f64, grad: usize, out: usize
): void {
  const C = <f64>cols;
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 3;
    const row = z + off;
    const y = load<i32>(labels + (<usize>r << 2));
    if (y < 0) {
      store<f64>(out + (<usize>r << 3), 0);
      if (grad) memory.fill(grad + off, 0, <usize>cols << 3);
      continue;
    }
    const m = maxF64(row, cols);
    if (!isFinite(m)) {
      store<f64>(out + (<usize>r << 3), NaN);
      if (grad) fillF64(grad + off, cols, NaN);
      continue;
    }
    const ty = load<f64>(row + (<usize>y << 3)) - m;
    const a = eps > 0 ? weightedShiftedSumF64(row, cols, m, weights) : 0;
    const rest = expSumF64(row, cols, m, 1.0, grad ? grad + off : 0);
    const s = expSumOnes + rest;
    const ls = logOnesPlus(expSumOnes, rest);
    const wy: f64 = weights ? load<f64>(weights + (<usize>y << 3)) : 1;
    // a label of weight 0 counts 0, even against a −Infinity logit (not 0·Infinity)
    let loss = wy != 0 ? (1 - eps) * wy * (ls - ty) : 0;
    if (eps > 0) loss += eps / C * (wsum * ls - a);
    store<f64>(out + (<usize>r << 3), loss);
    if (grad) {
      const gy = grad + off + (<usize>y << 3);
      const ey = load<f64>(gy);
      foldScale(((1 - eps) * wy + eps * wsum / C) / s, eps / C, (1 - eps) * wy, gradScale, false);
      const w = eps > 0 ? weights : 0;
      affineF64(grad + off, cols, gA, gB, w, gS);
      const by = w ? gB * load<f64>(w + (<usize>y << 3)) : gB;
      store<f64>(gy, (ey * gA - by - gC) * gS);
    }
  }
}

export function softmaxCrossEntropyProbsF64(
  z: usize, targets: usize, rows: i32, cols: i32, weights: usize,
  eps: f64, gradScale: f64, grad: usize, out: usize
): void {
  const keep = 1 - eps, spread = eps / <f64>cols;
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols << 3;
    const row = z + off, tgt = targets + off;
    const m = maxF64(row, cols);
    if (!isFinite(m)) {
      store<f64>(out + (<usize>r << 3), NaN);
      if (grad) fillF64(grad + off, cols, NaN);
      continue;
    }
    let i = 0;
    let b: f64 = 0, tw: f64 = 0;
    if (ASC_FEATURE_SIMD) {
      const vm = f64x2.splat(m), vk = f64x2.splat(keep), vs = f64x2.splat(spread), zero = f64x2.splat(0);
      let b0 = f64x2.splat(0), t0 = b0;
      for (; i + 2 <= cols; i += 2) {
        const o = <usize>i << 3;
        let wt = f64x2.add(f64x2.mul(v128.load(tgt + o), vk), vs);
        if (weights) wt = f64x2.mul(wt, v128.load(weights + o));
        b0 = f64x2.add(b0, v128.bitselect(zero, f64x2.mul(wt, f64x2.sub(v128.load(row + o), vm)), f64x2.eq(wt, zero)));
        t0 = f64x2.add(t0, wt);
      }
      b = sumLanesF64x2(b0);
      tw = sumLanesF64x2(t0);
    }
    for (; i < cols; i++) {
      const o = <usize>i << 3;
      let wt = load<f64>(tgt + o) * keep + spread;
      if (weights) wt *= load<f64>(weights + o);
      if (wt != 0) b += wt * (load<f64>(row + o) - m);
      tw += wt;
    }
    const rest = expSumF64(row, cols, m, 1.0, grad ? grad + off : 0);
    const s = expSumOnes + rest;
    store<f64>(out + (<usize>r << 3), tw * logOnesPlus(expSumOnes, rest) - b);
    if (grad) {
      const g = grad + off;
      foldScale(tw / s, 1, 0, gradScale, false);
      const a = gA, c = gB, gs = gS;
      i = 0;
      if (ASC_FEATURE_SIMD) {
        const va = f64x2.splat(a), vc = f64x2.splat(c), vg = f64x2.splat(gs), vk = f64x2.splat(keep), vs = f64x2.splat(spread);
        for (; i + 2 <= cols; i += 2) {
          const o = <usize>i << 3;
          let wt = f64x2.add(f64x2.mul(v128.load(tgt + o), vk), vs);
          if (weights) wt = f64x2.mul(wt, v128.load(weights + o));
          v128.store(g + o, f64x2.mul(f64x2.sub(f64x2.mul(v128.load(g + o), va), f64x2.mul(wt, vc)), vg));
        }
      }
      for (; i < cols; i++) {
        const o = <usize>i << 3;
        let wt = load<f64>(tgt + o) * keep + spread;
        if (weights) wt *= load<f64>(weights + o);
        store<f64>(g + o, (load<f64>(g + o) * a - wt * c) * gs);
      }
    }
  }
}

// The binary (multi-label) losses from logits, row by row: the sigmoid cross-entropy
// (PyTorch's `binary_cross_entropy_with_logits`) and the sigmoid focal loss
// (torchvision's `sigmoid_focal_loss`), each with its gradient in the same pass.
//
// Every quantity of an element comes from one exponential e = exp(−|x|) (math.ts):
//   softplus(x) = max(x, 0) + log1p(e),  softplus(−x) = max(−x, 0) + log1p(e),
//   σ(x), σ(−x) = 1 − e/(1 + e) and e/(1 + e), the small one never a difference.
// With the positive-term coefficient cP = pw·y and the negative one cN = 1 − y,
//   ℓ = −w·[pw·y·log σ(x) + (1 − y)·log σ(−x)] = w·[cP·softplus(−x) + cN·softplus(x)]
//     = w·[cP·max(−x, 0) + cN·max(x, 0) + (cP + cN)·log1p(e)],
// a sum of non-negative terms: accurate to a few ulps for every logit (no cancellation,
// unlike PyTorch's (1 − y)·x + … form, which loses everything when x < 0 and y = 0), and
// never overflowing (±1e4 give e = 0 and the exact linear terms).
//   ∂ℓ/∂x = w·[cN·σ(x) − cP·σ(−x)].
// The focal loss (p = σ(x), no weights): ce = y·softplus(−x) + (1 − y)·softplus(x),
//   q = 1 − p_t = (1 − y)·σ(x) + y·σ(−x)  (a sum, so q is accurate where p_t ≈ 1),
//   ℓ = α_t·ce·q^γ, α_t = α·y + (1 − α)·(1 − y) (1 when α < 0),
//   ∂ℓ/∂x = α_t·[(cN·σ(x) − y·σ(−x))·q^γ + γ·(1 − 2y)·ce·q^γ·σ(x)σ(−x)/q],
// using ∂ce/∂x = σ(x) − y and ∂q/∂x = σ(x)σ(−x)(1 − 2y); γ = 0 gives α_t times the
// cross-entropy's gradient.  q^γ and q^(γ−1) are products for γ = 0…4 (0⁰ = 1), else
// exp(γ·log q) — in float64 lanes for float32 data, since float32's error in log q would
// be multiplied by γ·|log q| — and 0 for q below the smallest normal number.
//
// Infinite logits.  0·∞ never reaches a result: a linear term cP·max(−x, 0) whose
// coefficient is 0 is 0 (max(0, product) turns its NaN into 0, in the hot loop, at one
// operation a term), so a masked logit (−Infinity) with target 0 costs 0 and gives a zero
// gradient, and +Infinity with target 1 likewise (PyTorch gives NaN for both).  NaN
// logits still make NaN, through the log1p term.  What max(0, ·) cannot reach — a weight
// or α_t of 0 times an infinite loss — makes the row's sum NaN; such a row is computed
// again with those products masked (0·∞ = 0, NaN logits still NaN), never in the hot loop.
//
// Validation.  Targets outside [0, 1] and negative or infinite weights are found here, as
// the row is read — the largest bit pattern of y + 0 as an unsigned integer is 1's exactly
// when every y is in [0, 1] (negative ones and NaN above it), two operations a vector —
// and make the row's result NaN (NaN targets and weights make it NaN by themselves); the
// TypeScript side then names the first bad entry.  A scan in JavaScript would cost as
// much as the kernel (1.1 ms per 10⁶ float32 on an EPYC).
//
// Subnormals.  No lane computes with them on the float32 path, whose data can hold them:
// targets below the smallest normal float32 are taken as 0 (a loss change below 1e-37),
// gradient terms whose scaled value would be subnormal are 0 (FLT_MIN/|gscale| compared
// first), and math.ts's functions keep their own intermediates normal.
//
// Results: `res` gets each row's sum times `lscale` (1/ln base); `losses` (float64, one
// per element, when not 0) each element's loss times `lscale`; `grad` (the kernel's float
// type, when not 0) each element's derivative times `gscale` (the reduction's 1/N and the
// base, from the caller).  Each row is computed on its own; float32 lanes add at most 8
// terms before the block goes into a compensated float64 pair.  Results below the smallest
// normal number of the kernel's type are returned as 0.  Rows narrower than NARROW are
// computed as one flat array (see "Narrow rows" below).

import {
  madd32, madd64, widenF32x4, twoSumLoF64x2, sumLanesF64x2, promoteHighF32x4,
  expNonPosF32x4, log1pUnitF32x4, expNonPosF64x2, log1pUnitF64x2, logF32x4, logF64x2,
  sg32, sg64, k32, k64, i32k, i64k,
  SG_MAGIC, SG_LOG2E, SG_NLN2_HI, SG_NLN2_LO, SG_CUT, SG_NTINY, SG_FLT_MIN, SG_E0, SG_ONE, SG_TWO, SG_TINY, SG_L0, SG_SIGN, SG_ZERO, SG_INF,
  SD_LOG2E, SD_MAGIC, SD_NLN2_HI, SD_NLN2_LO, SD_CUT, SD_NTINY, SD_P0, SD_ONE, SD_TWO, SD_HALF, SD_NHALF, SD_TINY,
  SD_LN2_HI, SD_LN2_LO, SD_R0, SD_SIGN, SD_ZERO, SD_INF, SD_FLT_MIN,
  F_HALF, F_LN2_HI, F_LN2_LO, F_Q0, I_LOG_SHIFT, I_MANT, I_SQRT_HALF, I_127, I_FLT_MIN,
  D_LN2_HI, D_LN2_LO, D_G1, L_LOG_SHIFT, L_MANT, L_SQRT_HALF, L_1023, L_DBL_MIN,
} from "./math";

// Each float32 row function is instantiated (inlined) for the common call — no weights,
// no positive weights, no smoothing, no per-element losses (`fast`; the focal loss: γ = 2),
// with or without the gradient (`G`), compile-time constants, four vectors an iteration —
// and once with those as run-time choices; a row's last, partial vector goes through one
// shared function.

/** Set by the row functions: the row has a target outside [0, 1], or a negative or infinite (or, recomputed, NaN) weight. */
let rowBad: bool = false;
/** The same for a row's last, partial vector (set by the tail functions). */
let tailBad: bool = false;

/** hi + lo of a row's compensated pair (an infinite or NaN sum's compensation is NaN: then hi alone). */
// @ts-ignore: decorator
@inline function rowTotal(hi: v128, lo: v128): f64 {
  const h = sumLanesF64x2(hi);
  return isFinite(h) ? h + sumLanesF64x2(lo) : h;
}

/**
 * Targets below the smallest normal float32 taken as 0 (negative ones too: the check reads
 * the targets before this).  `fltMin`: FLT_MIN splatted.
 */
// @ts-ignore: decorator
@inline function flushF32(v: v128, fltMin: v128): v128 {
  return v128.andnot(v, f32x4.lt(v, fltMin));
}

// ---------------------------------------------------------------------------------
// float32 lanes
// ---------------------------------------------------------------------------------

/** Lanes [0, r) of a vector set (r in 1…3). */
// @ts-ignore: decorator
@inline function laneMask(r: i32): v128 {
  return i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(r));
}

/** The vector at p, lanes from r on replaced by `fill` (a row's last, partial vector). */
// @ts-ignore: decorator
@inline function loadLastF32(p: usize, r: i32, fill: v128): v128 {
  return v128.bitselect(v128.load(p), fill, laneMask(r));
}

/** Stores lanes [0, r) of v at p (r in 1…4). */
// @ts-ignore: decorator
@inline function storeF32(p: usize, v: v128, r: i32): void {
  if (r == 4) {
    v128.store(p, v);
    return;
  }
  v128.store32_lane(p, v, 0);
  if (r > 1) v128.store32_lane(p, v, 1, 4);
  if (r > 2) v128.store32_lane(p, v, 2, 8);
}

/** Stores lanes [0, r) of a float32 vector, widened and times `ls`, as float64 at p. */
// @ts-ignore: decorator
@inline function storeWideF32(p: usize, v: v128, ls: v128, r: i32): void {
  const lo = f64x2.mul(f64x2.promote_low_f32x4(v), ls);
  const hi = f64x2.mul(promoteHighF32x4(v), ls);
  if (r == 4) {
    v128.store(p, lo);
    v128.store(p, hi, 16);
    return;
  }
  v128.store64_lane(p, lo, 0);
  if (r > 1) v128.store64_lane(p, lo, 1, 8);
  if (r > 2) v128.store64_lane(p, hi, 0, 16);
}

/**
 * The loss of four elements (and their gradient and losses stored, r of them, at byte
 * offset o of grad and 2·o of losses when asked).  hasW, hasPw, smooth, wantG, wantL:
 * compile-time constants in the fast instances.  `careful`: the recomputation of a NaN row.
 */
// @ts-ignore: decorator
@inline function bceF32(xv: v128, yv: v128, wv: v128, pwv: v128, hasW: bool, hasPw: bool, smooth: bool, wantG: bool, wantL: bool,
  ome: v128, eps2: v128, gs: v128, gthr: v128, ls: v128, grad: usize, losses: usize, o: usize, r: i32, careful: bool,
  magic: v128, log2e: v128, c1: v128, c2: v128, cut: v128, ntiny: v128, e0: v128, e1: v128, e2: v128, e3: v128, e4: v128,
  one: v128, two: v128, tiny: v128, l0: v128, l1: v128, l2: v128, l3: v128, sign: v128, zero: v128): v128 {
  const e = expNonPosF32x4(v128.or(xv, sign), magic, log2e, c1, c2, cut, ntiny, one, e0, e1, e2, e3, e4);
  const y = smooth ? madd32(yv, ome, eps2) : yv; // label smoothing: (1 − ε)·y + ε/2
  const cN = f32x4.sub(one, y);
  const cP = hasPw ? f32x4.mul(y, pwv) : y;
  const l = log1pUnitF32x4(e, two, tiny, l0, l1, l2, l3);
  const a = f32x4.pmax(xv, zero); // max(x, 0); NaN stays
  const b = f32x4.sub(a, xv); // max(−x, 0) (NaN for x = +∞, where cP·b is taken as 0)
  const lin = f32x4.add(f32x4.pmax(zero, f32x4.mul(cP, b)), f32x4.pmax(zero, f32x4.mul(cN, a)));
  // log1p's coefficient cP + cN: 1 without positive weights (y + (1 − y))
  let loss = hasPw ? madd32(f32x4.add(cP, cN), l, lin) : f32x4.add(lin, l);
  if (hasW) {
    loss = f32x4.mul(loss, wv);
    if (careful) loss = v128.andnot(loss, f32x4.eq(wv, zero));
  }
  if (careful) loss = v128.bitselect(xv, loss, f32x4.ne(xv, xv));
  if (wantG) {
    const small = f32x4.div(e, f32x4.add(one, e)); // σ(−|x|)
    const big = f32x4.sub(one, small);
    const d = v128.and(v128.xor(small, big), i32x4.shr_s(xv, 31));
    const sx = v128.xor(big, d), smx = v128.xor(small, d); // σ(x), σ(−x)
    let g = f32x4.sub(f32x4.mul(cN, sx), f32x4.mul(cP, smx));
    if (hasW) g = f32x4.mul(g, f32x4.mul(wv, gs));
    else {
      // |g·gscale| below FLT_MIN: 0, without a subnormal product (gthr = FLT_MIN/|gscale|)
      g = f32x4.mul(v128.andnot(g, f32x4.lt(v128.andnot(g, sign), gthr)), gs);
    }
    storeF32(grad + o, g, r);
  }
  if (wantL) storeWideF32(losses + (o << 1), loss, ls, r);
  return loss;
}

/** FLT_MIN/|gscale|: a gradient term below it, times gscale, is below the normal range. */
// @ts-ignore: decorator
@inline function gradCut(gscale: f64): f32 {
  return <f32>(1.1754943508222875e-38 / Math.abs(gscale));
}

/** A row's last r (1…3) elements, masked lanes 0; sets tailBad.  Pointers at those elements. */
function bceTailF32(x: usize, y: usize, w: usize, pw: usize, r: i32, eps: f64, gscale: f64, lscale: f64,
  grad: usize, losses: usize, careful: bool): v128 {
  const one = sg32(SG_ONE), zero = sg32(SG_ZERO);
  const xv = loadLastF32(x, r, zero), yr = loadLastF32(y, r, zero), yv = flushF32(yr, sg32(SG_FLT_MIN));
  const wv = w ? loadLastF32(w, r, one) : one, pwv = pw ? loadLastF32(pw, r, one) : one;
  const bad = v128.or(v128.or(f32x4.lt(yr, zero), f32x4.gt(yr, one)), v128.or(f32x4.lt(wv, zero), f32x4.eq(wv, sg32(SG_INF))));
  // (a NaN target is looked for whether careful or not: the loss's max(0, ·) terms hide it,
  // and the vectors before the tail find theirs in `ybits`)
  tailBad = v128.any_true(v128.or(v128.or(bad, f32x4.ne(yr, yr)), careful ? f32x4.ne(wv, wv) : zero));
  const loss = bceF32(xv, yv, wv, pwv, w != 0, pw != 0, true, grad != 0, losses != 0,
    f32x4.splat(<f32>(1.0 - eps)), f32x4.splat(<f32>(eps * 0.5)), f32x4.splat(<f32>gscale), f32x4.splat(gradCut(gscale)), f64x2.splat(lscale),
    grad, losses, 0, r, careful,
    sg32(SG_MAGIC), sg32(SG_LOG2E), sg32(SG_NLN2_HI), sg32(SG_NLN2_LO), sg32(SG_CUT), sg32(SG_NTINY),
    sg32(SG_E0), sg32(SG_E0 + 1), sg32(SG_E0 + 2), sg32(SG_E0 + 3), sg32(SG_E0 + 4),
    one, sg32(SG_TWO), sg32(SG_TINY), sg32(SG_L0), sg32(SG_L0 + 1), sg32(SG_L0 + 2), sg32(SG_L0 + 3), sg32(SG_SIGN), zero);
  return v128.and(loss, laneMask(r));
}

/** Sum of one row's losses (float64); sets rowBad.  Pointers at the row's start (w: 0, or its weights). */
// @ts-ignore: decorator
@inline function bceRowF32(x: usize, y: usize, w: usize, pw: usize, n: i32, eps: f64, gscale: f64, lscale: f64,
  grad: usize, losses: usize, careful: bool, fast: bool, G: bool): f64 {
  const magic = sg32(SG_MAGIC), log2e = sg32(SG_LOG2E), c1 = sg32(SG_NLN2_HI), c2 = sg32(SG_NLN2_LO), cut = sg32(SG_CUT), ntiny = sg32(SG_NTINY);
  const e0 = sg32(SG_E0), e1 = sg32(SG_E0 + 1), e2 = sg32(SG_E0 + 2), e3 = sg32(SG_E0 + 3), e4 = sg32(SG_E0 + 4);
  const one = sg32(SG_ONE), two = sg32(SG_TWO), tiny = sg32(SG_TINY);
  const l0 = sg32(SG_L0), l1 = sg32(SG_L0 + 1), l2 = sg32(SG_L0 + 2), l3 = sg32(SG_L0 + 3);
  const sign = sg32(SG_SIGN), zero = sg32(SG_ZERO), inf = sg32(SG_INF);
  const ome = f32x4.splat(<f32>(1.0 - eps)), eps2 = f32x4.splat(<f32>(eps * 0.5));
  const gs = f32x4.splat(<f32>gscale), gthr = f32x4.splat(gradCut(gscale)), ls = f64x2.splat(lscale), fltMin = sg32(SG_FLT_MIN);
  const hasW = !fast && w != 0, hasPw = !fast && pw != 0, wantG = fast ? G : grad != 0, wantL = !fast && losses != 0;
  // the targets' check: the largest bit pattern of y + 0 (−0 made +0) as an unsigned
  // integer is at most 1's exactly when every y is in [0, 1] (negative and NaN ones above it)
  let ybits = i32x4.splat(0), wmin = inf, wmax = zero, nan = i32x4.splat(0);
  let wv = one, pwv = one;
  let hi = f64x2.splat(0), lo = hi;
  let i = 0;
  while (i + 4 <= n) {
    // a block: each lane adds at most 8 terms in float32 (8 sums of 4 in the fast loop)
    const end = min(i + (fast ? 128 : 32), n & ~3);
    let acc = zero;
    if (fast) {
      // four vectors an iteration: the chains of dependent operations overlap
      for (; i + 16 <= end; i += 16) {
        const o = <usize>i << 2;
        const xa = v128.load(x + o), ra = v128.load(y + o), xb = v128.load(x + o, 16), rb = v128.load(y + o, 16);
        const xc = v128.load(x + o, 32), rc = v128.load(y + o, 32), xd = v128.load(x + o, 48), rd = v128.load(y + o, 48);
        ybits = i32x4.max_u(ybits, i32x4.max_u(i32x4.max_u(f32x4.add(ra, zero), f32x4.add(rb, zero)),
          i32x4.max_u(f32x4.add(rc, zero), f32x4.add(rd, zero))));
        const ya = flushF32(ra, fltMin), yb = flushF32(rb, fltMin), yc = flushF32(rc, fltMin), yd = flushF32(rd, fltMin);
        const la = bceF32(xa, ya, wv, pwv, false, false, false, wantG, false, ome, eps2, gs, gthr, ls, grad, 0, o, 4, false,
          magic, log2e, c1, c2, cut, ntiny, e0, e1, e2, e3, e4, one, two, tiny, l0, l1, l2, l3, sign, zero);
        const lb = bceF32(xb, yb, wv, pwv, false, false, false, wantG, false, ome, eps2, gs, gthr, ls, grad, 0, o + 16, 4, false,
          magic, log2e, c1, c2, cut, ntiny, e0, e1, e2, e3, e4, one, two, tiny, l0, l1, l2, l3, sign, zero);
        const lc = bceF32(xc, yc, wv, pwv, false, false, false, wantG, false, ome, eps2, gs, gthr, ls, grad, 0, o + 32, 4, false,
          magic, log2e, c1, c2, cut, ntiny, e0, e1, e2, e3, e4, one, two, tiny, l0, l1, l2, l3, sign, zero);
        const ld = bceF32(xd, yd, wv, pwv, false, false, false, wantG, false, ome, eps2, gs, gthr, ls, grad, 0, o + 48, 4, false,
          magic, log2e, c1, c2, cut, ntiny, e0, e1, e2, e3, e4, one, two, tiny, l0, l1, l2, l3, sign, zero);
        acc = f32x4.add(acc, f32x4.add(f32x4.add(la, lb), f32x4.add(lc, ld)));
      }
    }
    for (; i < end; i += 4) {
      const o = <usize>i << 2;
      const xv = v128.load(x + o), yr = v128.load(y + o), yv = flushF32(yr, fltMin);
      ybits = i32x4.max_u(ybits, f32x4.add(yr, zero));
      if (hasW) {
        wv = v128.load(w + o);
        wmin = f32x4.pmin(wmin, wv);
        wmax = f32x4.pmax(wmax, wv);
      }
      if (hasPw) pwv = v128.load(pw + o);
      if (careful) nan = v128.or(nan, v128.or(f32x4.ne(yr, yr), f32x4.ne(wv, wv)));
      acc = f32x4.add(acc, bceF32(xv, yv, wv, pwv, hasW, hasPw, !fast, wantG, wantL, ome, eps2, gs, gthr, ls, grad, losses, o, 4, careful,
        magic, log2e, c1, c2, cut, ntiny, e0, e1, e2, e3, e4, one, two, tiny, l0, l1, l2, l3, sign, zero));
    }
    const block = widenF32x4(acc);
    lo = twoSumLoF64x2(hi, block, lo);
    hi = f64x2.add(hi, block);
  }
  let bad: bool = false;
  if (i < n) {
    const o = <usize>i << 2;
    const block = widenF32x4(bceTailF32(x + o, y + o, w ? w + o : 0, pw ? pw + o : 0, n - i, eps, gscale, lscale,
      grad ? grad + o : 0, losses ? losses + (o << 1) : 0, careful));
    bad = tailBad;
    lo = twoSumLoF64x2(hi, block, lo);
    hi = f64x2.add(hi, block);
  }
  const flags = v128.or(i32x4.gt_u(ybits, one), v128.or(f32x4.lt(wmin, zero), f32x4.eq(wmax, inf)));
  rowBad = bad || v128.any_true(v128.or(flags, nan));
  return rowTotal(hi, lo);
}

/**
 * The sigmoid cross-entropy of rows × cols logits x against targets y ∈ [0, 1] (see the
 * top).  w: weights (0: none), one per element when wElem ≠ 0, else one per column; pw:
 * positive weights, one per column (0: none); eps: label smoothing; grad (float32) and
 * losses (float64): 0 when not wanted.
 */
export function sigmoidCrossEntropyRowsF32(x: usize, y: usize, rows: i32, cols: i32, w: usize, wElem: i32, pw: usize,
  eps: f64, lscale: f64, gscale: f64, grad: usize, res: usize, losses: usize, tmp: usize): void {
  if (!ASC_FEATURE_SIMD) {
    scalarBceRows(x, y, rows, cols, w, wElem, pw, eps, lscale, gscale, grad, res, losses, true);
    return;
  }
  if (cols == 0) {
    for (let r = 0; r < rows; r++) store<f64>(res + (<usize>r << 3), 0);
    return;
  }
  if (cols < NARROW) {
    bceNarrowF32(x, y, rows, cols, w, wElem, pw, eps, lscale, gscale, grad, res, losses, tmp);
    return;
  }
  const fast = w == 0 && pw == 0 && eps == 0 && losses == 0;
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols;
    const xr = x + (off << 2), yr = y + (off << 2);
    const wr: usize = w == 0 ? 0 : wElem ? w + (off << 2) : w;
    const gr: usize = grad == 0 ? 0 : grad + (off << 2), lr: usize = losses == 0 ? 0 : losses + (off << 3);
    let total: f64;
    if (fast) {
      if (grad) total = bceRowF32(xr, yr, 0, 0, cols, 0, gscale, lscale, gr, 0, false, true, true);
      else total = bceRowF32(xr, yr, 0, 0, cols, 0, gscale, lscale, 0, 0, false, true, false);
    } else {
      total = bceRowF32(xr, yr, wr, pw, cols, eps, gscale, lscale, gr, lr, false, false, false);
      if (wr != 0 && isNaN(total)) total = bceRowF32(xr, yr, wr, pw, cols, eps, gscale, lscale, gr, lr, true, false, false);
    }
    store<f64>(res + (<usize>r << 3), rowBad ? NaN : total * lscale);
  }
}


// ---------------------------------------------------------------------------------
// Narrow rows: the block taken as one flat array
// ---------------------------------------------------------------------------------
//
// Rows narrower than NARROW cost more in their set-up than in their elements.  The
// elements' losses do not depend on their neighbours, so a block of narrow rows is
// computed as one flat array, a chunk of whole rows and whole vectors at a time (a
// multiple of lcm(cols, lanes) elements, at most CHUNK), the vectors running across row
// boundaries; the losses go to the scratch `tmp` and each row's sum is their float64 sum
// in column order, four running sums by column mod 4 (so a row's result is still its own,
// wherever a call is split).  Per-column arrays are tiled into `tmp` over lcm(cols,
// lanes) entries — a whole number of vectors and of rows, read at the same offsets in
// every chunk.  A weighted element is computed as in a recomputed row (0·∞ = 0 under a
// zero weight); a chunk holding an invalid target or weight has the losses of those
// elements set to NaN afterwards (a scalar pass, only then), so their rows' sums are NaN.

/** Rows narrower than this (elements) are computed as one flat array. */
const NARROW: i32 = 64;
const CHUNK: i32 = 256;
// tmp: the chunk's losses (CHUNK float64: room for either type), then the tiled columns
const T_W: usize = <usize>CHUNK << 3, T_PW: usize = T_W + (<usize>NARROW << 5);

/** The flat layout of narrow rows: `period` = lcm(cols, lanes) entries, `chunk` elements (whole periods). */
let narrowPeriod: i32 = 0, narrowChunk: i32 = 0;
function narrowLayout(cols: i32, lanes: i32): void {
  const period = cols % lanes == 0 ? cols : cols % 2 == 0 && lanes == 4 ? cols << 1 : cols * lanes;
  narrowPeriod = period;
  narrowChunk = CHUNK / period * period;
}

/** Tiles cols entries of a per-column array over `period` entries at dst. */
function tile(src: usize, cols: i32, period: i32, dst: usize, f32: bool): void {
  for (let k = 0; k < period; k++) {
    if (f32) store<f32>(dst + (<usize>k << 2), load<f32>(src + (<usize>(k % cols) << 2)));
    else store<f64>(dst + (<usize>k << 3), load<f64>(src + (<usize>(k % cols) << 3)));
  }
}

/** Each row's sum of the m losses at tmp (m/cols whole rows), times lscale, to res from row r. */
function narrowSums(tmp: usize, m: i32, cols: i32, lscale: f64, res: usize, r: i32, f32: bool): void {
  for (let k = 0; k < m; k += cols) {
    let a0: f64 = 0, a1: f64 = 0, a2: f64 = 0, a3: f64 = 0;
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const i = k + c;
      if (f32) {
        const q = tmp + (<usize>i << 2);
        a0 += <f64>load<f32>(q);
        a1 += <f64>load<f32>(q, 4);
        a2 += <f64>load<f32>(q, 8);
        a3 += <f64>load<f32>(q, 12);
      } else {
        const q = tmp + (<usize>i << 3);
        a0 += load<f64>(q);
        a1 += load<f64>(q, 8);
        a2 += load<f64>(q, 16);
        a3 += load<f64>(q, 24);
      }
    }
    for (; c < cols; c++) a0 += f32 ? <f64>load<f32>(tmp + (<usize>(k + c) << 2)) : load<f64>(tmp + (<usize>(k + c) << 3));
    store<f64>(res + (<usize>(r + k / cols) << 3), ((a0 + a1) + (a2 + a3)) * lscale);
  }
}

/** Sets the losses at tmp of the chunk's elements [j, j + m) with an invalid target (or weight, w ≠ 0) to NaN. */
function markInvalid(tmp: usize, y: usize, w: usize, wElem: bool, cols: i32, j: i32, m: i32, f32: bool): void {
  for (let k = 0; k < m; k++) {
    const i = j + k;
    const yv = f32 ? <f64>load<f32>(y + (<usize>i << 2)) : load<f64>(y + (<usize>i << 3));
    let ok = yv >= 0 && yv <= 1;
    if (w) {
      const wi = wElem ? i : i % cols;
      const wv = f32 ? <f64>load<f32>(w + (<usize>wi << 2)) : load<f64>(w + (<usize>wi << 3));
      ok = ok && wv >= 0 && wv < Infinity;
    }
    if (!ok) {
      if (f32) store<f32>(tmp + (<usize>k << 2), NaN);
      else store<f64>(tmp + (<usize>k << 3), NaN);
    }
  }
}

function bceNarrowF32(x: usize, y: usize, rows: i32, cols: i32, w: usize, wElem: i32, pw: usize,
  eps: f64, lscale: f64, gscale: f64, grad: usize, res: usize, losses: usize, tmp: usize): void {
  narrowLayout(cols, 4);
  const period = narrowPeriod, chunk = narrowChunk, wrap = <usize>period << 2;
  const wc = w != 0 && !wElem;
  if (wc) tile(w, cols, period, tmp + T_W, true);
  if (pw) tile(pw, cols, period, tmp + T_PW, true);
  const magic = sg32(SG_MAGIC), log2e = sg32(SG_LOG2E), c1 = sg32(SG_NLN2_HI), c2 = sg32(SG_NLN2_LO), cut = sg32(SG_CUT), ntiny = sg32(SG_NTINY);
  const e0 = sg32(SG_E0), e1 = sg32(SG_E0 + 1), e2 = sg32(SG_E0 + 2), e3 = sg32(SG_E0 + 3), e4 = sg32(SG_E0 + 4);
  const one = sg32(SG_ONE), two = sg32(SG_TWO), tiny = sg32(SG_TINY);
  const l0 = sg32(SG_L0), l1 = sg32(SG_L0 + 1), l2 = sg32(SG_L0 + 2), l3 = sg32(SG_L0 + 3);
  const sign = sg32(SG_SIGN), zero = sg32(SG_ZERO), inf = sg32(SG_INF), fltMin = sg32(SG_FLT_MIN);
  const ome = f32x4.splat(<f32>(1.0 - eps)), eps2 = f32x4.splat(<f32>(eps * 0.5));
  const gs = f32x4.splat(<f32>gscale), gthr = f32x4.splat(gradCut(gscale)), ls = f64x2.splat(lscale);
  const hasW = w != 0, hasPw = pw != 0, wantG = grad != 0, wantL = losses != 0;
  const n = rows * cols;
  for (let j = 0; j < n; j += chunk) {
    const m = min(chunk, n - j);
    let ybits = i32x4.splat(0), wmin = inf, wmax = zero;
    let pp: usize = 0; // offset in the tiled columns: k mod period
    for (let k = 0; k < m; k += 4) {
      const rl = min(m - k, 4);
      const o = <usize>(j + k) << 2, po = <usize>k << 2;
      const xv = rl == 4 ? v128.load(x + o) : loadLastF32(x + o, rl, zero);
      const yr = rl == 4 ? v128.load(y + o) : loadLastF32(y + o, rl, zero), yv = flushF32(yr, fltMin);
      ybits = i32x4.max_u(ybits, f32x4.add(yr, zero));
      let wv = one;
      if (hasW) {
        wv = wc ? v128.load(tmp + T_W + pp) : rl == 4 ? v128.load(w + o) : loadLastF32(w + o, rl, one);
        wmin = f32x4.pmin(wmin, wv);
        wmax = f32x4.pmax(wmax, wv);
      }
      const pwv = hasPw ? v128.load(tmp + T_PW + pp) : one;
      pp += 16;
      if (pp == wrap) pp = 0;
      const loss = bceF32(xv, yv, wv, pwv, hasW, hasPw, true, wantG, wantL, ome, eps2, gs, gthr, ls, grad, losses, o, rl, hasW,
        magic, log2e, c1, c2, cut, ntiny, e0, e1, e2, e3, e4, one, two, tiny, l0, l1, l2, l3, sign, zero);
      v128.store(tmp + po, loss);
    }
    // NaN weights make NaN losses: only a recomputed row's masking (0·∞) is applied above
    if (v128.any_true(v128.or(i32x4.gt_u(ybits, one), v128.or(f32x4.lt(wmin, zero), f32x4.eq(wmax, inf))))) {
      markInvalid(tmp, y, w, wElem != 0, cols, j, m, true);
    }
    narrowSums(tmp, m, cols, lscale, res, j / cols, true);
  }
}

// ---------------------------------------------------------------------------------
// The focal loss, float32
// ---------------------------------------------------------------------------------

/**
 * q^γ in four float32 lanes for q ∈ [0, 1] (a little above 1 by rounding is fine) and a
 * γ that is not an integer of 0…4: exp(γ·log q) in float64 lanes (in float32 the error of
 * log q would be multiplied by γ·|log q|: 2e-6 of q^γ at q = 1e-5, γ = 3), results below
 * FLT_MIN 0.  `g64`: γ splatted in float64.  A call, not inlined: the rare γ's code once,
 * not in every specialised row loop.
 */
function powUnitF32x4(q: v128, g64: v128): v128 {
  const one = sg64(SD_ONE), dblMin = i64k(L_DBL_MIN), fltMin = sg64(SD_FLT_MIN);
  const log2e = sg64(SD_LOG2E), magic = sg64(SD_MAGIC), c1 = sg64(SD_NLN2_HI), c2 = sg64(SD_NLN2_LO), cut = sg64(SD_CUT), ntiny = sg64(SD_NTINY);
  const p0 = sg64(SD_P0), p1 = sg64(SD_P0 + 1), p2 = sg64(SD_P0 + 2), p3 = sg64(SD_P0 + 3), p4 = sg64(SD_P0 + 4);
  const p5 = sg64(SD_P0 + 5), p6 = sg64(SD_P0 + 6), p7 = sg64(SD_P0 + 7), p8 = sg64(SD_P0 + 8), p9 = sg64(SD_P0 + 9);
  let lo = powUnitF64x2(f64x2.promote_low_f32x4(q), g64, one, dblMin, log2e, magic, c1, c2, cut, ntiny, p0, p1, p2, p3, p4, p5, p6, p7, p8, p9);
  let hi = powUnitF64x2(promoteHighF32x4(q), g64, one, dblMin, log2e, magic, c1, c2, cut, ntiny, p0, p1, p2, p3, p4, p5, p6, p7, p8, p9);
  lo = v128.andnot(lo, f64x2.lt(lo, fltMin));
  hi = v128.andnot(hi, f64x2.lt(hi, fltMin));
  return i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

/** The focal loss of four elements (see `bceF32`); gm: 0, 1, 2 (γ itself) or 3 (another γ). */
// @ts-ignore: decorator
@inline function focalF32(xv: v128, yv: v128, gm: i32, gv: v128, g64: v128, av: v128, anv: v128, noAlpha: v128, wantG: bool, wantL: bool,
  gs: v128, ls: v128, grad: usize, losses: usize, o: usize, r: i32, careful: bool,
  magic: v128, log2e: v128, c1: v128, c2: v128, cut: v128, ntiny: v128, e0: v128, e1: v128, e2: v128, e3: v128, e4: v128,
  one: v128, two: v128, tiny: v128, l0: v128, l1: v128, l2: v128, l3: v128, sign: v128, zero: v128, fltMin: v128): v128 {
  const e = expNonPosF32x4(v128.or(xv, sign), magic, log2e, c1, c2, cut, ntiny, one, e0, e1, e2, e3, e4);
  const cN = f32x4.sub(one, yv);
  const l = log1pUnitF32x4(e, two, tiny, l0, l1, l2, l3);
  const a = f32x4.pmax(xv, zero);
  const b = f32x4.sub(a, xv);
  const ce = f32x4.add(f32x4.add(f32x4.pmax(zero, f32x4.mul(yv, b)), f32x4.pmax(zero, f32x4.mul(cN, a))), l);
  const small = f32x4.div(e, f32x4.add(one, e));
  const big = f32x4.sub(one, small);
  const d = v128.and(v128.xor(small, big), i32x4.shr_s(xv, 31));
  const sx = v128.xor(big, d), smx = v128.xor(small, d);
  const q = madd32(cN, sx, f32x4.mul(yv, smx)); // 1 − p_t
  // q^γ, and q^(γ−1) for the gradient: integer γ by products, any other through float64
  let qg = one, qm = one;
  if (gm == 2) {
    qg = f32x4.mul(q, q);
    qm = q;
  } else if (gm == 1) qg = q;
  else if (gm == 3 || gm == 4) {
    const q2 = f32x4.mul(q, q);
    qm = gm == 3 ? q2 : f32x4.mul(q2, q);
    qg = f32x4.mul(qm, q);
  } else if (gm == 5) qg = powUnitF32x4(q, g64);
  const at = v128.bitselect(one, madd32(yv, av, f32x4.mul(anv, cN)), noAlpha);
  let loss = f32x4.mul(f32x4.mul(at, ce), qg);
  if (careful) {
    loss = v128.andnot(loss, v128.or(f32x4.eq(at, zero), f32x4.eq(qg, zero)));
    loss = v128.bitselect(xv, loss, f32x4.ne(xv, xv));
  }
  if (wantG) {
    let g = f32x4.mul(f32x4.sub(f32x4.mul(cN, sx), f32x4.mul(yv, smx)), qg);
    if (gm != 0) {
      // γ·(1 − 2y)·ce·q^γ·σ(x)σ(−x)/q, its magnitude ≥ 0 with 0·∞ and 0/0 (q = 0) taken as 0
      const ss = f32x4.mul(sx, smx);
      const t = gm == 5 ? f32x4.div(f32x4.mul(qg, ss), q) : f32x4.mul(qm, ss);
      const m = f32x4.pmax(zero, f32x4.mul(ce, t));
      g = madd32(f32x4.mul(gv, f32x4.sub(cN, yv)), m, g);
    }
    storeF32(grad + o, f32x4.mul(f32x4.mul(g, at), gs), r);
  }
  if (wantL) storeWideF32(losses + (o << 1), loss, ls, r);
  return loss;
}

/** How q^γ is computed: γ = 0…4 by products (0⁰ = 1), any other γ (5) by exp(γ·log q). */
// @ts-ignore: decorator
@inline function gammaMode(gamma: f64): i32 {
  return gamma == 0 ? 0 : gamma == 1 ? 1 : gamma == 2 ? 2 : gamma == 3 ? 3 : gamma == 4 ? 4 : 5;
}

function focalTailF32(x: usize, y: usize, r: i32, alpha: f64, gamma: f64, gscale: f64, lscale: f64,
  grad: usize, losses: usize, careful: bool): v128 {
  const one = sg32(SG_ONE), zero = sg32(SG_ZERO);
  const xv = loadLastF32(x, r, zero), yr = loadLastF32(y, r, zero), yv = flushF32(yr, sg32(SG_FLT_MIN));
  tailBad = v128.any_true(v128.or(v128.or(f32x4.lt(yr, zero), f32x4.gt(yr, one)), f32x4.ne(yr, yr))); // (NaN: see bceTailF32)
  const loss = focalF32(xv, yv, gammaMode(gamma), f32x4.splat(<f32>gamma), f64x2.splat(gamma), f32x4.splat(<f32>alpha), f32x4.splat(<f32>(1.0 - alpha)),
    i32x4.splat(alpha < 0 ? -1 : 0), grad != 0, losses != 0, f32x4.splat(<f32>gscale), f64x2.splat(lscale), grad, losses, 0, r, careful,
    sg32(SG_MAGIC), sg32(SG_LOG2E), sg32(SG_NLN2_HI), sg32(SG_NLN2_LO), sg32(SG_CUT), sg32(SG_NTINY),
    sg32(SG_E0), sg32(SG_E0 + 1), sg32(SG_E0 + 2), sg32(SG_E0 + 3), sg32(SG_E0 + 4),
    one, sg32(SG_TWO), sg32(SG_TINY), sg32(SG_L0), sg32(SG_L0 + 1), sg32(SG_L0 + 2), sg32(SG_L0 + 3), sg32(SG_SIGN), zero, i32k(I_FLT_MIN));
  return v128.and(loss, laneMask(r));
}

// @ts-ignore: decorator
@inline function focalRowF32(x: usize, y: usize, n: i32, alpha: f64, gamma: f64, gscale: f64, lscale: f64,
  grad: usize, losses: usize, careful: bool, fast: bool, G: bool): f64 {
  const magic = sg32(SG_MAGIC), log2e = sg32(SG_LOG2E), c1 = sg32(SG_NLN2_HI), c2 = sg32(SG_NLN2_LO), cut = sg32(SG_CUT), ntiny = sg32(SG_NTINY);
  const e0 = sg32(SG_E0), e1 = sg32(SG_E0 + 1), e2 = sg32(SG_E0 + 2), e3 = sg32(SG_E0 + 3), e4 = sg32(SG_E0 + 4);
  const one = sg32(SG_ONE), two = sg32(SG_TWO), tiny = sg32(SG_TINY);
  const l0 = sg32(SG_L0), l1 = sg32(SG_L0 + 1), l2 = sg32(SG_L0 + 2), l3 = sg32(SG_L0 + 3);
  const sign = sg32(SG_SIGN), zero = sg32(SG_ZERO), fltMin = sg32(SG_FLT_MIN);
  let nan = i32x4.splat(0);
  const gm = fast ? 2 : gammaMode(gamma), wantG = fast ? G : grad != 0, wantL = !fast && losses != 0;
  const gv = f32x4.splat(<f32>gamma), g64 = f64x2.splat(gamma), av = f32x4.splat(<f32>alpha), anv = f32x4.splat(<f32>(1.0 - alpha));
  const noAlpha = i32x4.splat(alpha < 0 ? -1 : 0);
  const gs = f32x4.splat(<f32>gscale), ls = f64x2.splat(lscale);
  let ybits = i32x4.splat(0);
  let hi = f64x2.splat(0), lo = hi;
  let i = 0;
  while (i + 4 <= n) {
    const end = min(i + (fast ? 128 : 32), n & ~3);
    let acc = zero;
    if (fast) {
      for (; i + 16 <= end; i += 16) {
        const o = <usize>i << 2;
        const xa = v128.load(x + o), ra = v128.load(y + o), xb = v128.load(x + o, 16), rb = v128.load(y + o, 16);
        const xc = v128.load(x + o, 32), rc = v128.load(y + o, 32), xd = v128.load(x + o, 48), rd = v128.load(y + o, 48);
        ybits = i32x4.max_u(ybits, i32x4.max_u(i32x4.max_u(f32x4.add(ra, zero), f32x4.add(rb, zero)),
          i32x4.max_u(f32x4.add(rc, zero), f32x4.add(rd, zero))));
        const ya = flushF32(ra, fltMin), yb = flushF32(rb, fltMin), yc = flushF32(rc, fltMin), yd = flushF32(rd, fltMin);
        const la = focalF32(xa, ya, 2, gv, g64, av, anv, noAlpha, wantG, false, gs, ls, grad, 0, o, 4, false,
          magic, log2e, c1, c2, cut, ntiny, e0, e1, e2, e3, e4, one, two, tiny, l0, l1, l2, l3, sign, zero, fltMin);
        const lb = focalF32(xb, yb, 2, gv, g64, av, anv, noAlpha, wantG, false, gs, ls, grad, 0, o + 16, 4, false,
          magic, log2e, c1, c2, cut, ntiny, e0, e1, e2, e3, e4, one, two, tiny, l0, l1, l2, l3, sign, zero, fltMin);
        const lc = focalF32(xc, yc, 2, gv, g64, av, anv, noAlpha, wantG, false, gs, ls, grad, 0, o + 32, 4, false,
          magic, log2e, c1, c2, cut, ntiny, e0, e1, e2, e3, e4, one, two, tiny, l0, l1, l2, l3, sign, zero, fltMin);
        const ld = focalF32(xd, yd, 2, gv, g64, av, anv, noAlpha, wantG, false, gs, ls, grad, 0, o + 48, 4, false,
          magic, log2e, c1, c2, cut, ntiny, e0, e1, e2, e3, e4, one, two, tiny, l0, l1, l2, l3, sign, zero, fltMin);
        acc = f32x4.add(acc, f32x4.add(f32x4.add(la, lb), f32x4.add(lc, ld)));
      }
    }
    for (; i < end; i += 4) {
      const o = <usize>i << 2;
      const xv = v128.load(x + o), yr = v128.load(y + o), yv = flushF32(yr, fltMin);
      ybits = i32x4.max_u(ybits, f32x4.add(yr, zero));
      if (careful) nan = v128.or(nan, f32x4.ne(yr, yr));
      acc = f32x4.add(acc, focalF32(xv, yv, gm, gv, g64, av, anv, noAlpha, wantG, wantL, gs, ls, grad, losses, o, 4, careful,
        magic, log2e, c1, c2, cut, ntiny, e0, e1, e2, e3, e4, one, two, tiny, l0, l1, l2, l3, sign, zero, fltMin));
    }
    const block = widenF32x4(acc);
    lo = twoSumLoF64x2(hi, block, lo);
    hi = f64x2.add(hi, block);
  }
  let bad: bool = false;
  if (i < n) {
    const o = <usize>i << 2;
    const block = widenF32x4(focalTailF32(x + o, y + o, n - i, alpha, gamma, gscale, lscale, grad ? grad + o : 0, losses ? losses + (o << 1) : 0, careful));
    bad = tailBad;
    lo = twoSumLoF64x2(hi, block, lo);
    hi = f64x2.add(hi, block);
  }
  rowBad = bad || v128.any_true(v128.or(i32x4.gt_u(ybits, one), nan));
  return rowTotal(hi, lo);
}

function focalNarrowF32(x: usize, y: usize, rows: i32, cols: i32, alpha: f64, gamma: f64, lscale: f64, gscale: f64,
  grad: usize, res: usize, losses: usize, tmp: usize): void {
  narrowLayout(cols, 4);
  const chunk = narrowChunk;
  const magic = sg32(SG_MAGIC), log2e = sg32(SG_LOG2E), c1 = sg32(SG_NLN2_HI), c2 = sg32(SG_NLN2_LO), cut = sg32(SG_CUT), ntiny = sg32(SG_NTINY);
  const e0 = sg32(SG_E0), e1 = sg32(SG_E0 + 1), e2 = sg32(SG_E0 + 2), e3 = sg32(SG_E0 + 3), e4 = sg32(SG_E0 + 4);
  const one = sg32(SG_ONE), two = sg32(SG_TWO), tiny = sg32(SG_TINY);
  const l0 = sg32(SG_L0), l1 = sg32(SG_L0 + 1), l2 = sg32(SG_L0 + 2), l3 = sg32(SG_L0 + 3);
  const sign = sg32(SG_SIGN), zero = sg32(SG_ZERO), fltMin = sg32(SG_FLT_MIN);
  const gm = gammaMode(gamma), wantG = grad != 0, wantL = losses != 0;
  const gv = f32x4.splat(<f32>gamma), g64 = f64x2.splat(gamma), av = f32x4.splat(<f32>alpha), anv = f32x4.splat(<f32>(1.0 - alpha));
  const noAlpha = i32x4.splat(alpha < 0 ? -1 : 0);
  const gs = f32x4.splat(<f32>gscale), ls = f64x2.splat(lscale);
  const n = rows * cols;
  for (let j = 0; j < n; j += chunk) {
    const m = min(chunk, n - j);
    let ybits = i32x4.splat(0);
    for (let k = 0; k < m; k += 4) {
      const rl = min(m - k, 4);
      const o = <usize>(j + k) << 2;
      const xv = rl == 4 ? v128.load(x + o) : loadLastF32(x + o, rl, zero);
      const yr = rl == 4 ? v128.load(y + o) : loadLastF32(y + o, rl, zero), yv = flushF32(yr, fltMin);
      ybits = i32x4.max_u(ybits, f32x4.add(yr, zero));
      const loss = focalF32(xv, yv, gm, gv, g64, av, anv, noAlpha, wantG, wantL, gs, ls, grad, losses, o, rl, true,
        magic, log2e, c1, c2, cut, ntiny, e0, e1, e2, e3, e4, one, two, tiny, l0, l1, l2, l3, sign, zero, fltMin);
      v128.store(tmp + (<usize>k << 2), loss);
    }
    if (v128.any_true(i32x4.gt_u(ybits, one))) markInvalid(tmp, y, 0, false, cols, j, m, true);
    narrowSums(tmp, m, cols, lscale, res, j / cols, true);
  }
}

/**
 * The sigmoid focal loss of rows × cols logits x against targets y ∈ [0, 1] (see the
 * top): alpha (< 0: no α weighting), gamma ≥ 0; grad and losses as for the cross-entropy.
 */
export function sigmoidFocalLossRowsF32(x: usize, y: usize, rows: i32, cols: i32, alpha: f64, gamma: f64,
  lscale: f64, gscale: f64, grad: usize, res: usize, losses: usize, tmp: usize): void {
  if (!ASC_FEATURE_SIMD) {
    scalarFocalRows(x, y, rows, cols, alpha, gamma, lscale, gscale, grad, res, losses, true);
    return;
  }
  if (cols == 0) {
    for (let r = 0; r < rows; r++) store<f64>(res + (<usize>r << 3), 0);
    return;
  }
  if (cols < NARROW) {
    focalNarrowF32(x, y, rows, cols, alpha, gamma, lscale, gscale, grad, res, losses, tmp);
    return;
  }
  const fast = gamma == 2 && losses == 0;
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols;
    const xr = x + (off << 2), yr = y + (off << 2);
    const gr: usize = grad == 0 ? 0 : grad + (off << 2), lr: usize = losses == 0 ? 0 : losses + (off << 3);
    let total: f64;
    if (fast) {
      if (grad) total = focalRowF32(xr, yr, cols, alpha, 2, gscale, lscale, gr, 0, false, true, true);
      else total = focalRowF32(xr, yr, cols, alpha, 2, gscale, lscale, 0, 0, false, true, false);
    } else total = focalRowF32(xr, yr, cols, alpha, gamma, gscale, lscale, gr, lr, false, false, false);
    if (isNaN(total)) total = focalRowF32(xr, yr, cols, alpha, gamma, gscale, lscale, gr, lr, true, false, false);
    store<f64>(res + (<usize>r << 3), rowBad ? NaN : total * lscale);
  }
}

// ---------------------------------------------------------------------------------
// float64 lanes
// ---------------------------------------------------------------------------------

/** The vector at p with lane 1 replaced by `fill` (a row's last element alone). */
// @ts-ignore: decorator
@inline function loadLastF64(p: usize, fill: v128): v128 {
  return f64x2.replace_lane(v128.load(p), 1, f64x2.extract_lane(fill, 0));
}

// @ts-ignore: decorator
@inline function storeF64(p: usize, v: v128, r: i32): void {
  if (r == 2) v128.store(p, v);
  else v128.store64_lane(p, v, 0);
}

// @ts-ignore: decorator
@inline function bceF64(xv: v128, yv: v128, wv: v128, pwv: v128, hasW: bool, hasPw: bool, smooth: bool, wantG: bool, wantL: bool,
  ome: v128, eps2: v128, gs: v128, ls: v128, grad: usize, losses: usize, o: usize, r: i32, careful: bool,
  log2e: v128, magic: v128, c1: v128, c2: v128, cut: v128, ntiny: v128, one: v128,
  p0: v128, p1: v128, p2: v128, p3: v128, p4: v128, p5: v128, p6: v128, p7: v128, p8: v128, p9: v128,
  two: v128, half: v128, nhalf: v128, tiny: v128, lnHi: v128, lnLo: v128,
  r0: v128, r1: v128, r2: v128, r3: v128, r4: v128, r5: v128, r6: v128, sign: v128, zero: v128): v128 {
  const e = expNonPosF64x2(v128.or(xv, sign), log2e, magic, c1, c2, cut, ntiny, one, p0, p1, p2, p3, p4, p5, p6, p7, p8, p9);
  const y = smooth ? madd64(yv, ome, eps2) : yv;
  const cN = f64x2.sub(one, y);
  const cP = hasPw ? f64x2.mul(y, pwv) : y;
  const l = log1pUnitF64x2(e, two, half, nhalf, tiny, lnHi, lnLo, r0, r1, r2, r3, r4, r5, r6);
  const a = f64x2.pmax(xv, zero);
  const b = f64x2.sub(a, xv);
  const lin = f64x2.add(f64x2.pmax(zero, f64x2.mul(cP, b)), f64x2.pmax(zero, f64x2.mul(cN, a)));
  let loss = hasPw ? madd64(f64x2.add(cP, cN), l, lin) : f64x2.add(lin, l);
  if (hasW) {
    loss = f64x2.mul(loss, wv);
    if (careful) loss = v128.andnot(loss, f64x2.eq(wv, zero));
  }
  if (careful) loss = v128.bitselect(xv, loss, f64x2.ne(xv, xv));
  if (wantG) {
    const small = f64x2.div(e, f64x2.add(one, e));
    const big = f64x2.sub(one, small);
    const d = v128.and(v128.xor(small, big), i64x2.shr_s(xv, 63));
    const sx = v128.xor(big, d), smx = v128.xor(small, d);
    const g = f64x2.sub(f64x2.mul(cN, sx), f64x2.mul(cP, smx));
    storeF64(grad + o, f64x2.mul(g, hasW ? f64x2.mul(wv, gs) : gs), r);
  }
  if (wantL) storeF64(losses + o, f64x2.mul(loss, ls), r);
  return loss;
}

/** A row's last element (lane 1 masked to 0); sets tailBad. */
function bceTailF64(x: usize, y: usize, w: usize, pw: usize, eps: f64, gscale: f64, lscale: f64,
  grad: usize, losses: usize, careful: bool): v128 {
  const one = sg64(SD_ONE), zero = sg64(SD_ZERO);
  const xv = loadLastF64(x, zero), yv = loadLastF64(y, zero);
  const wv = w ? loadLastF64(w, one) : one, pwv = pw ? loadLastF64(pw, one) : one;
  const bad = v128.or(v128.or(f64x2.lt(yv, zero), f64x2.gt(yv, one)), v128.or(f64x2.lt(wv, zero), f64x2.eq(wv, sg64(SD_INF))));
  tailBad = v128.any_true(v128.or(v128.or(bad, f64x2.ne(yv, yv)), careful ? f64x2.ne(wv, wv) : zero));
  const loss = bceF64(xv, yv, wv, pwv, w != 0, pw != 0, true, grad != 0, losses != 0,
    f64x2.splat(1.0 - eps), f64x2.splat(eps * 0.5), f64x2.splat(gscale), f64x2.splat(lscale), grad, losses, 0, 1, careful,
    sg64(SD_LOG2E), sg64(SD_MAGIC), sg64(SD_NLN2_HI), sg64(SD_NLN2_LO), sg64(SD_CUT), sg64(SD_NTINY), one,
    sg64(SD_P0), sg64(SD_P0 + 1), sg64(SD_P0 + 2), sg64(SD_P0 + 3), sg64(SD_P0 + 4), sg64(SD_P0 + 5), sg64(SD_P0 + 6), sg64(SD_P0 + 7),
    sg64(SD_P0 + 8), sg64(SD_P0 + 9), sg64(SD_TWO), sg64(SD_HALF), sg64(SD_NHALF), sg64(SD_TINY), sg64(SD_LN2_HI), sg64(SD_LN2_LO),
    sg64(SD_R0), sg64(SD_R0 + 1), sg64(SD_R0 + 2), sg64(SD_R0 + 3), sg64(SD_R0 + 4), sg64(SD_R0 + 5), sg64(SD_R0 + 6), sg64(SD_SIGN), zero);
  return f64x2.replace_lane(loss, 1, 0);
}

// @ts-ignore: decorator
@inline function bceRowF64(x: usize, y: usize, w: usize, pw: usize, n: i32, eps: f64, gscale: f64, lscale: f64,
  grad: usize, losses: usize, careful: bool, fast: bool, G: bool): f64 {
  const log2e = sg64(SD_LOG2E), magic = sg64(SD_MAGIC), c1 = sg64(SD_NLN2_HI), c2 = sg64(SD_NLN2_LO), cut = sg64(SD_CUT), ntiny = sg64(SD_NTINY), one = sg64(SD_ONE);
  const p0 = sg64(SD_P0), p1 = sg64(SD_P0 + 1), p2 = sg64(SD_P0 + 2), p3 = sg64(SD_P0 + 3), p4 = sg64(SD_P0 + 4);
  const p5 = sg64(SD_P0 + 5), p6 = sg64(SD_P0 + 6), p7 = sg64(SD_P0 + 7), p8 = sg64(SD_P0 + 8), p9 = sg64(SD_P0 + 9);
  const two = sg64(SD_TWO), half = sg64(SD_HALF), nhalf = sg64(SD_NHALF), tiny = sg64(SD_TINY), lnHi = sg64(SD_LN2_HI), lnLo = sg64(SD_LN2_LO);
  const r0 = sg64(SD_R0), r1 = sg64(SD_R0 + 1), r2 = sg64(SD_R0 + 2), r3 = sg64(SD_R0 + 3), r4 = sg64(SD_R0 + 4), r5 = sg64(SD_R0 + 5), r6 = sg64(SD_R0 + 6);
  const sign = sg64(SD_SIGN), zero = sg64(SD_ZERO), inf = sg64(SD_INF);
  const ome = f64x2.splat(1.0 - eps), eps2 = f64x2.splat(eps * 0.5);
  const gs = f64x2.splat(gscale), ls = f64x2.splat(lscale);
  const hasW = !fast && w != 0, hasPw = !fast && pw != 0, wantG = fast ? G : grad != 0, wantL = !fast && losses != 0;
  // (pmin and pmax pass a NaN over, and the loss's max(0, ·) terms hide it: NaN targets are
  // looked for apart, in `nan`, with NaN weights when a row is recomputed)
  let ymin = inf, ymax = f64x2.neg(inf), wmin = inf, wmax = zero, nan = i32x4.splat(0);
  let wv = one, pwv = one;
  let hi = f64x2.splat(0), lo = hi;
  let i = 0;
  while (i + 2 <= n) {
    const end = min(i + 32, n & ~1);
    let acc0 = zero, acc1 = zero;
    if (fast) {
      // four vectors an iteration (see the float32 kernel)
      for (; i + 8 <= end; i += 8) {
        const o = <usize>i << 3;
        const xa = v128.load(x + o), ya = v128.load(y + o), xb = v128.load(x + o, 16), yb = v128.load(y + o, 16);
        const xc = v128.load(x + o, 32), yc = v128.load(y + o, 32), xd = v128.load(x + o, 48), yd = v128.load(y + o, 48);
        ymin = f64x2.pmin(ymin, f64x2.pmin(f64x2.pmin(ya, yb), f64x2.pmin(yc, yd)));
        ymax = f64x2.pmax(ymax, f64x2.pmax(f64x2.pmax(ya, yb), f64x2.pmax(yc, yd)));
        nan = v128.or(nan, v128.or(v128.or(f64x2.ne(ya, ya), f64x2.ne(yb, yb)), v128.or(f64x2.ne(yc, yc), f64x2.ne(yd, yd))));
        const la = bceF64(xa, ya, wv, pwv, false, false, false, wantG, false, ome, eps2, gs, ls, grad, 0, o, 2, false,
          log2e, magic, c1, c2, cut, ntiny, one, p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, two, half, nhalf, tiny, lnHi, lnLo,
          r0, r1, r2, r3, r4, r5, r6, sign, zero);
        const lb = bceF64(xb, yb, wv, pwv, false, false, false, wantG, false, ome, eps2, gs, ls, grad, 0, o + 16, 2, false,
          log2e, magic, c1, c2, cut, ntiny, one, p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, two, half, nhalf, tiny, lnHi, lnLo,
          r0, r1, r2, r3, r4, r5, r6, sign, zero);
        const lc = bceF64(xc, yc, wv, pwv, false, false, false, wantG, false, ome, eps2, gs, ls, grad, 0, o + 32, 2, false,
          log2e, magic, c1, c2, cut, ntiny, one, p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, two, half, nhalf, tiny, lnHi, lnLo,
          r0, r1, r2, r3, r4, r5, r6, sign, zero);
        const ld = bceF64(xd, yd, wv, pwv, false, false, false, wantG, false, ome, eps2, gs, ls, grad, 0, o + 48, 2, false,
          log2e, magic, c1, c2, cut, ntiny, one, p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, two, half, nhalf, tiny, lnHi, lnLo,
          r0, r1, r2, r3, r4, r5, r6, sign, zero);
        acc0 = f64x2.add(acc0, f64x2.add(la, lb));
        acc1 = f64x2.add(acc1, f64x2.add(lc, ld));
      }
    }
    for (; i < end; i += 2) {
      const o = <usize>i << 3;
      const xv = v128.load(x + o), yv = v128.load(y + o);
      ymin = f64x2.pmin(ymin, yv);
      ymax = f64x2.pmax(ymax, yv);
      nan = v128.or(nan, f64x2.ne(yv, yv));
      if (hasW) {
        wv = v128.load(w + o);
        wmin = f64x2.pmin(wmin, wv);
        wmax = f64x2.pmax(wmax, wv);
      }
      if (hasPw) pwv = v128.load(pw + o);
      if (careful) nan = v128.or(nan, f64x2.ne(wv, wv));
      const loss = bceF64(xv, yv, wv, pwv, hasW, hasPw, !fast, wantG, wantL, ome, eps2, gs, ls, grad, losses, o, 2, careful,
        log2e, magic, c1, c2, cut, ntiny, one, p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, two, half, nhalf, tiny, lnHi, lnLo,
        r0, r1, r2, r3, r4, r5, r6, sign, zero);
      if (i & 2) acc1 = f64x2.add(acc1, loss);
      else acc0 = f64x2.add(acc0, loss);
    }
    const block = f64x2.add(acc0, acc1);
    lo = twoSumLoF64x2(hi, block, lo);
    hi = f64x2.add(hi, block);
  }
  let bad: bool = false;
  if (i < n) {
    const o = <usize>i << 3;
    const block = bceTailF64(x + o, y + o, w ? w + o : 0, pw ? pw + o : 0, eps, gscale, lscale, grad ? grad + o : 0, losses ? losses + o : 0, careful);
    bad = tailBad;
    lo = twoSumLoF64x2(hi, block, lo);
    hi = f64x2.add(hi, block);
  }
  const flags = v128.or(v128.or(f64x2.lt(ymin, zero), f64x2.gt(ymax, one)), v128.or(f64x2.lt(wmin, zero), f64x2.eq(wmax, inf)));
  rowBad = bad || v128.any_true(v128.or(flags, nan));
  return rowTotal(hi, lo);
}

/** The float64 twin of `bceNarrowF32` (two lanes). */
function bceNarrowF64(x: usize, y: usize, rows: i32, cols: i32, w: usize, wElem: i32, pw: usize,
  eps: f64, lscale: f64, gscale: f64, grad: usize, res: usize, losses: usize, tmp: usize): void {
  narrowLayout(cols, 2);
  const period = narrowPeriod, chunk = narrowChunk, wrap = <usize>period << 3;
  const wc = w != 0 && !wElem;
  if (wc) tile(w, cols, period, tmp + T_W, false);
  if (pw) tile(pw, cols, period, tmp + T_PW, false);
  const log2e = sg64(SD_LOG2E), magic = sg64(SD_MAGIC), c1 = sg64(SD_NLN2_HI), c2 = sg64(SD_NLN2_LO), cut = sg64(SD_CUT), ntiny = sg64(SD_NTINY), one = sg64(SD_ONE);
  const p0 = sg64(SD_P0), p1 = sg64(SD_P0 + 1), p2 = sg64(SD_P0 + 2), p3 = sg64(SD_P0 + 3), p4 = sg64(SD_P0 + 4);
  const p5 = sg64(SD_P0 + 5), p6 = sg64(SD_P0 + 6), p7 = sg64(SD_P0 + 7), p8 = sg64(SD_P0 + 8), p9 = sg64(SD_P0 + 9);
  const two = sg64(SD_TWO), half = sg64(SD_HALF), nhalf = sg64(SD_NHALF), tiny = sg64(SD_TINY), lnHi = sg64(SD_LN2_HI), lnLo = sg64(SD_LN2_LO);
  const r0 = sg64(SD_R0), r1 = sg64(SD_R0 + 1), r2 = sg64(SD_R0 + 2), r3 = sg64(SD_R0 + 3), r4 = sg64(SD_R0 + 4), r5 = sg64(SD_R0 + 5), r6 = sg64(SD_R0 + 6);
  const sign = sg64(SD_SIGN), zero = sg64(SD_ZERO), inf = sg64(SD_INF);
  const ome = f64x2.splat(1.0 - eps), eps2 = f64x2.splat(eps * 0.5);
  const gs = f64x2.splat(gscale), ls = f64x2.splat(lscale);
  const hasW = w != 0, hasPw = pw != 0, wantG = grad != 0, wantL = losses != 0;
  const n = rows * cols;
  for (let j = 0; j < n; j += chunk) {
    const m = min(chunk, n - j);
    let ymin = inf, ymax = f64x2.neg(inf), wmin = inf, wmax = zero, ynan = zero; // (NaN targets apart: see bceRowF64)
    let pp: usize = 0;
    for (let k = 0; k < m; k += 2) {
      const rl = min(m - k, 2);
      const o = <usize>(j + k) << 3, po = <usize>k << 3;
      const xv = rl == 2 ? v128.load(x + o) : loadLastF64(x + o, zero);
      const yv = rl == 2 ? v128.load(y + o) : loadLastF64(y + o, zero);
      ymin = f64x2.pmin(ymin, yv);
      ymax = f64x2.pmax(ymax, yv);
      ynan = v128.or(ynan, f64x2.ne(yv, yv));
      let wv = one;
      if (hasW) {
        wv = wc ? v128.load(tmp + T_W + pp) : rl == 2 ? v128.load(w + o) : loadLastF64(w + o, one);
        wmin = f64x2.pmin(wmin, wv);
        wmax = f64x2.pmax(wmax, wv);
      }
      const pwv = hasPw ? v128.load(tmp + T_PW + pp) : one;
      pp += 16;
      if (pp == wrap) pp = 0;
      const loss = bceF64(xv, yv, wv, pwv, hasW, hasPw, true, wantG, wantL, ome, eps2, gs, ls, grad, losses, o, rl, hasW,
        log2e, magic, c1, c2, cut, ntiny, one, p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, two, half, nhalf, tiny, lnHi, lnLo,
        r0, r1, r2, r3, r4, r5, r6, sign, zero);
      v128.store(tmp + po, loss);
    }
    if (v128.any_true(v128.or(v128.or(v128.or(f64x2.lt(ymin, zero), f64x2.gt(ymax, one)), v128.or(f64x2.lt(wmin, zero), f64x2.eq(wmax, inf))), ynan))) {
      markInvalid(tmp, y, w, wElem != 0, cols, j, m, false);
    }
    narrowSums(tmp, m, cols, lscale, res, j / cols, false);
  }
}

/** The float64 twin of `sigmoidCrossEntropyRowsF32` (w, pw, grad in float64). */
export function sigmoidCrossEntropyRowsF64(x: usize, y: usize, rows: i32, cols: i32, w: usize, wElem: i32, pw: usize,
  eps: f64, lscale: f64, gscale: f64, grad: usize, res: usize, losses: usize, tmp: usize): void {
  if (!ASC_FEATURE_SIMD) {
    scalarBceRows(x, y, rows, cols, w, wElem, pw, eps, lscale, gscale, grad, res, losses, false);
    return;
  }
  if (cols == 0) {
    for (let r = 0; r < rows; r++) store<f64>(res + (<usize>r << 3), 0);
    return;
  }
  if (cols < NARROW) {
    bceNarrowF64(x, y, rows, cols, w, wElem, pw, eps, lscale, gscale, grad, res, losses, tmp);
    return;
  }
  const fast = w == 0 && pw == 0 && eps == 0 && losses == 0;
  for (let r = 0; r < rows; r++) {
    const off = (<usize>r * <usize>cols) << 3;
    const xr = x + off, yr = y + off;
    const wr: usize = w == 0 ? 0 : wElem ? w + off : w;
    const gr: usize = grad == 0 ? 0 : grad + off, lr: usize = losses == 0 ? 0 : losses + off;
    let total: f64;
    if (fast) {
      if (grad) total = bceRowF64(xr, yr, 0, 0, cols, 0, gscale, lscale, gr, 0, false, true, true);
      else total = bceRowF64(xr, yr, 0, 0, cols, 0, gscale, lscale, 0, 0, false, true, false);
    } else {
      total = bceRowF64(xr, yr, wr, pw, cols, eps, gscale, lscale, gr, lr, false, false, false);
      if (wr != 0 && isNaN(total)) total = bceRowF64(xr, yr, wr, pw, cols, eps, gscale, lscale, gr, lr, true, false, false);
    }
    store<f64>(res + (<usize>r << 3), rowBad ? NaN : total * lscale);
  }
}

/** q^γ in float64 lanes (see `powUnitF32x4`). */
// @ts-ignore: decorator
@inline function powUnitF64x2(q: v128, gv: v128, one: v128, dblMin: v128,
  log2e: v128, magic: v128, c1: v128, c2: v128, cut: v128, ntiny: v128,
  p0: v128, p1: v128, p2: v128, p3: v128, p4: v128, p5: v128, p6: v128, p7: v128, p8: v128, p9: v128): v128 {
  const lq = logF64x2(q, f64x2.sub(q, one), f64x2.add(q, one), i64k(L_LOG_SHIFT), i64k(L_MANT), i64k(L_SQRT_HALF), i64k(L_1023), one,
    k64(D_LN2_HI), k64(D_LN2_LO), k64(D_G1), k64(D_G1 + 1), k64(D_G1 + 2), k64(D_G1 + 3), k64(D_G1 + 4), k64(D_G1 + 5), k64(D_G1 + 6));
  const v = expNonPosF64x2(f64x2.mul(gv, lq), log2e, magic, c1, c2, cut, ntiny, one, p0, p1, p2, p3, p4, p5, p6, p7, p8, p9);
  return v128.andnot(v, i64x2.lt_s(q, dblMin));
}

// @ts-ignore: decorator
@inline function focalF64(xv: v128, yv: v128, gm: i32, gv: v128, av: v128, anv: v128, noAlpha: v128, wantG: bool, wantL: bool,
  gs: v128, ls: v128, grad: usize, losses: usize, o: usize, r: i32, careful: bool,
  log2e: v128, magic: v128, c1: v128, c2: v128, cut: v128, ntiny: v128, one: v128,
  p0: v128, p1: v128, p2: v128, p3: v128, p4: v128, p5: v128, p6: v128, p7: v128, p8: v128, p9: v128,
  two: v128, half: v128, nhalf: v128, tiny: v128, lnHi: v128, lnLo: v128,
  r0: v128, r1: v128, r2: v128, r3: v128, r4: v128, r5: v128, r6: v128, sign: v128, zero: v128, dblMin: v128): v128 {
  const e = expNonPosF64x2(v128.or(xv, sign), log2e, magic, c1, c2, cut, ntiny, one, p0, p1, p2, p3, p4, p5, p6, p7, p8, p9);
  const cN = f64x2.sub(one, yv);
  const l = log1pUnitF64x2(e, two, half, nhalf, tiny, lnHi, lnLo, r0, r1, r2, r3, r4, r5, r6);
  const a = f64x2.pmax(xv, zero);
  const b = f64x2.sub(a, xv);
  const ce = f64x2.add(f64x2.add(f64x2.pmax(zero, f64x2.mul(yv, b)), f64x2.pmax(zero, f64x2.mul(cN, a))), l);
  const small = f64x2.div(e, f64x2.add(one, e));
  const big = f64x2.sub(one, small);
  const d = v128.and(v128.xor(small, big), i64x2.shr_s(xv, 63));
  const sx = v128.xor(big, d), smx = v128.xor(small, d);
  const q = madd64(cN, sx, f64x2.mul(yv, smx));
  let qg = one, qm = one;
  if (gm == 2) {
    qg = f64x2.mul(q, q);
    qm = q;
  } else if (gm == 1) qg = q;
  else if (gm == 3 || gm == 4) {
    const q2 = f64x2.mul(q, q);
    qm = gm == 3 ? q2 : f64x2.mul(q2, q);
    qg = f64x2.mul(qm, q);
  } else if (gm == 5) qg = powUnitF64x2(q, gv, one, dblMin, log2e, magic, c1, c2, cut, ntiny, p0, p1, p2, p3, p4, p5, p6, p7, p8, p9);
  const at = v128.bitselect(one, madd64(yv, av, f64x2.mul(anv, cN)), noAlpha);
  let loss = f64x2.mul(f64x2.mul(at, ce), qg);
  if (careful) {
    loss = v128.andnot(loss, v128.or(f64x2.eq(at, zero), f64x2.eq(qg, zero)));
    loss = v128.bitselect(xv, loss, f64x2.ne(xv, xv));
  }
  if (wantG) {
    let g = f64x2.mul(f64x2.sub(f64x2.mul(cN, sx), f64x2.mul(yv, smx)), qg);
    if (gm != 0) {
      const ss = f64x2.mul(sx, smx);
      const t = gm == 5 ? f64x2.div(f64x2.mul(qg, ss), q) : f64x2.mul(qm, ss);
      const m = f64x2.pmax(zero, f64x2.mul(ce, t));
      g = madd64(f64x2.mul(gv, f64x2.sub(cN, yv)), m, g);
    }
    storeF64(grad + o, f64x2.mul(f64x2.mul(g, at), gs), r);
  }
  if (wantL) storeF64(losses + o, f64x2.mul(loss, ls), r);
  return loss;
}

function focalTailF64(x: usize, y: usize, alpha: f64, gamma: f64, gscale: f64, lscale: f64,
  grad: usize, losses: usize, careful: bool): v128 {
  const one = sg64(SD_ONE), zero = sg64(SD_ZERO);
  const xv = loadLastF64(x, zero), yv = loadLastF64(y, zero);
  tailBad = v128.any_true(v128.or(v128.or(f64x2.lt(yv, zero), f64x2.gt(yv, one)), f64x2.ne(yv, yv)));
  const loss = focalF64(xv, yv, gammaMode(gamma), f64x2.splat(gamma), f64x2.splat(alpha), f64x2.splat(1.0 - alpha),
    i64x2.splat(alpha < 0 ? -1 : 0), grad != 0, losses != 0, f64x2.splat(gscale), f64x2.splat(lscale), grad, losses, 0, 1, careful,
    sg64(SD_LOG2E), sg64(SD_MAGIC), sg64(SD_NLN2_HI), sg64(SD_NLN2_LO), sg64(SD_CUT), sg64(SD_NTINY), one,
    sg64(SD_P0), sg64(SD_P0 + 1), sg64(SD_P0 + 2), sg64(SD_P0 + 3), sg64(SD_P0 + 4), sg64(SD_P0 + 5), sg64(SD_P0 + 6), sg64(SD_P0 + 7),
    sg64(SD_P0 + 8), sg64(SD_P0 + 9), sg64(SD_TWO), sg64(SD_HALF), sg64(SD_NHALF), sg64(SD_TINY), sg64(SD_LN2_HI), sg64(SD_LN2_LO),
    sg64(SD_R0), sg64(SD_R0 + 1), sg64(SD_R0 + 2), sg64(SD_R0 + 3), sg64(SD_R0 + 4), sg64(SD_R0 + 5), sg64(SD_R0 + 6), sg64(SD_SIGN), zero,
    i64k(L_DBL_MIN));
  return f64x2.replace_lane(loss, 1, 0);
}

// @ts-ignore: decorator
@inline function focalRowF64(x: usize, y: usize, n: i32, alpha: f64, gamma: f64, gscale: f64, lscale: f64,
  grad: usize, losses: usize, careful: bool): f64 {
  const log2e = sg64(SD_LOG2E), magic = sg64(SD_MAGIC), c1 = sg64(SD_NLN2_HI), c2 = sg64(SD_NLN2_LO), cut = sg64(SD_CUT), ntiny = sg64(SD_NTINY), one = sg64(SD_ONE);
  const p0 = sg64(SD_P0), p1 = sg64(SD_P0 + 1), p2 = sg64(SD_P0 + 2), p3 = sg64(SD_P0 + 3), p4 = sg64(SD_P0 + 4);
  const p5 = sg64(SD_P0 + 5), p6 = sg64(SD_P0 + 6), p7 = sg64(SD_P0 + 7), p8 = sg64(SD_P0 + 8), p9 = sg64(SD_P0 + 9);
  const two = sg64(SD_TWO), half = sg64(SD_HALF), nhalf = sg64(SD_NHALF), tiny = sg64(SD_TINY), lnHi = sg64(SD_LN2_HI), lnLo = sg64(SD_LN2_LO);
  const r0 = sg64(SD_R0), r1 = sg64(SD_R0 + 1), r2 = sg64(SD_R0 + 2), r3 = sg64(SD_R0 + 3), r4 = sg64(SD_R0 + 4), r5 = sg64(SD_R0 + 5), r6 = sg64(SD_R0 + 6);
  const sign = sg64(SD_SIGN), zero = sg64(SD_ZERO), inf = sg64(SD_INF), dblMin = i64k(L_DBL_MIN);
  const gm = gammaMode(gamma), wantG = grad != 0, wantL = losses != 0;
  const gv = f64x2.splat(gamma), av = f64x2.splat(alpha), anv = f64x2.splat(1.0 - alpha);
  const noAlpha = i64x2.splat(alpha < 0 ? -1 : 0);
  const gs = f64x2.splat(gscale), ls = f64x2.splat(lscale);
  let ymin = inf, ymax = f64x2.neg(inf), nan = i32x4.splat(0);
  let hi = f64x2.splat(0), lo = hi;
  let i = 0;
  while (i + 2 <= n) {
    const end = min(i + 32, n & ~1);
    let acc0 = zero, acc1 = zero;
    for (; i < end; i += 2) {
      const o = <usize>i << 3;
      const xv = v128.load(x + o), yv = v128.load(y + o);
      ymin = f64x2.pmin(ymin, yv);
      ymax = f64x2.pmax(ymax, yv);
      nan = v128.or(nan, f64x2.ne(yv, yv)); // (pmin and pmax pass NaN over: see bceRowF64)
      const loss = focalF64(xv, yv, gm, gv, av, anv, noAlpha, wantG, wantL, gs, ls, grad, losses, o, 2, careful,
        log2e, magic, c1, c2, cut, ntiny, one, p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, two, half, nhalf, tiny, lnHi, lnLo,
        r0, r1, r2, r3, r4, r5, r6, sign, zero, dblMin);
      if (i & 2) acc1 = f64x2.add(acc1, loss);
      else acc0 = f64x2.add(acc0, loss);
    }
    const block = f64x2.add(acc0, acc1);
    lo = twoSumLoF64x2(hi, block, lo);
    hi = f64x2.add(hi, block);
  }
  let bad: bool = false;
  if (i < n) {
    const o = <usize>i << 3;
    const block = focalTailF64(x + o, y + o, alpha, gamma, gscale, lscale, grad ? grad + o : 0, losses ? losses + o : 0, careful);
    bad = tailBad;
    lo = twoSumLoF64x2(hi, block, lo);
    hi = f64x2.add(hi, block);
  }
  rowBad = bad || v128.any_true(v128.or(v128.or(f64x2.lt(ymin, zero), f64x2.gt(ymax, one)), nan));
  return rowTotal(hi, lo);
}

function focalNarrowF64(x: usize, y: usize, rows: i32, cols: i32, alpha: f64, gamma: f64, lscale: f64, gscale: f64,
  grad: usize, res: usize, losses: usize, tmp: usize): void {
  narrowLayout(cols, 2);
  const chunk = narrowChunk;
  const log2e = sg64(SD_LOG2E), magic = sg64(SD_MAGIC), c1 = sg64(SD_NLN2_HI), c2 = sg64(SD_NLN2_LO), cut = sg64(SD_CUT), ntiny = sg64(SD_NTINY), one = sg64(SD_ONE);
  const p0 = sg64(SD_P0), p1 = sg64(SD_P0 + 1), p2 = sg64(SD_P0 + 2), p3 = sg64(SD_P0 + 3), p4 = sg64(SD_P0 + 4);
  const p5 = sg64(SD_P0 + 5), p6 = sg64(SD_P0 + 6), p7 = sg64(SD_P0 + 7), p8 = sg64(SD_P0 + 8), p9 = sg64(SD_P0 + 9);
  const two = sg64(SD_TWO), half = sg64(SD_HALF), nhalf = sg64(SD_NHALF), tiny = sg64(SD_TINY), lnHi = sg64(SD_LN2_HI), lnLo = sg64(SD_LN2_LO);
  const r0 = sg64(SD_R0), r1 = sg64(SD_R0 + 1), r2 = sg64(SD_R0 + 2), r3 = sg64(SD_R0 + 3), r4 = sg64(SD_R0 + 4), r5 = sg64(SD_R0 + 5), r6 = sg64(SD_R0 + 6);
  const sign = sg64(SD_SIGN), zero = sg64(SD_ZERO), inf = sg64(SD_INF), dblMin = i64k(L_DBL_MIN);
  const gm = gammaMode(gamma), wantG = grad != 0, wantL = losses != 0;
  const gv = f64x2.splat(gamma), av = f64x2.splat(alpha), anv = f64x2.splat(1.0 - alpha);
  const noAlpha = i64x2.splat(alpha < 0 ? -1 : 0);
  const gs = f64x2.splat(gscale), ls = f64x2.splat(lscale);
  const n = rows * cols;
  for (let j = 0; j < n; j += chunk) {
    const m = min(chunk, n - j);
    let ymin = inf, ymax = f64x2.neg(inf), ynan = zero; // (NaN targets apart: see bceRowF64)
    for (let k = 0; k < m; k += 2) {
      const rl = min(m - k, 2);
      const o = <usize>(j + k) << 3;
      const xv = rl == 2 ? v128.load(x + o) : loadLastF64(x + o, zero);
      const yv = rl == 2 ? v128.load(y + o) : loadLastF64(y + o, zero);
      ymin = f64x2.pmin(ymin, yv);
      ymax = f64x2.pmax(ymax, yv);
      ynan = v128.or(ynan, f64x2.ne(yv, yv));
      const loss = focalF64(xv, yv, gm, gv, av, anv, noAlpha, wantG, wantL, gs, ls, grad, losses, o, rl, true,
        log2e, magic, c1, c2, cut, ntiny, one, p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, two, half, nhalf, tiny, lnHi, lnLo,
        r0, r1, r2, r3, r4, r5, r6, sign, zero, dblMin);
      v128.store(tmp + (<usize>k << 3), loss);
    }
    if (v128.any_true(v128.or(v128.or(f64x2.lt(ymin, zero), f64x2.gt(ymax, one)), ynan))) markInvalid(tmp, y, 0, false, cols, j, m, false);
    narrowSums(tmp, m, cols, lscale, res, j / cols, false);
  }
}

export function sigmoidFocalLossRowsF64(x: usize, y: usize, rows: i32, cols: i32, alpha: f64, gamma: f64,
  lscale: f64, gscale: f64, grad: usize, res: usize, losses: usize, tmp: usize): void {
  if (!ASC_FEATURE_SIMD) {
    scalarFocalRows(x, y, rows, cols, alpha, gamma, lscale, gscale, grad, res, losses, false);
    return;
  }
  if (cols == 0) {
    for (let r = 0; r < rows; r++) store<f64>(res + (<usize>r << 3), 0);
    return;
  }
  if (cols < NARROW) {
    focalNarrowF64(x, y, rows, cols, alpha, gamma, lscale, gscale, grad, res, losses, tmp);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const off = (<usize>r * <usize>cols) << 3;
    const xr = x + off, yr = y + off;
    const gr: usize = grad == 0 ? 0 : grad + off, lr: usize = losses == 0 ? 0 : losses + off;
    let total = focalRowF64(xr, yr, cols, alpha, gamma, gscale, lscale, gr, lr, false);
    if (isNaN(total)) total = focalRowF64(xr, yr, cols, alpha, gamma, gscale, lscale, gr, lr, true);
    store<f64>(res + (<usize>r << 3), rowBad ? NaN : total * lscale);
  }
}

// ---------------------------------------------------------------------------------
// The scalar build: one element at a time in float64 (the JS twins' code), blocks of 32
// into a compensated sum
// ---------------------------------------------------------------------------------

// @ts-ignore: decorator
@inline function loadF(p: usize, i: i32, f32: bool): f64 {
  return f32 ? <f64>load<f32>(p + (<usize>i << 2)) : load<f64>(p + (<usize>i << 3));
}

// @ts-ignore: decorator
@inline function storeF(p: usize, i: i32, v: f64, f32: bool): void {
  if (f32) store<f32>(p + (<usize>i << 2), <f32>v);
  else store<f64>(p + (<usize>i << 3), v);
}

/** max(0, v), NaN → 0 (a product 0·∞). */
// @ts-ignore: decorator
@inline function pos(v: f64): f64 {
  return v > 0 ? v : 0;
}

/** The state of a compensated sum (Neumaier's), for the scalar rows. */
let sumHi: f64 = 0, sumLo: f64 = 0;

// @ts-ignore: decorator
@inline function sumAdd(v: f64): void {
  const s = sumHi + v;
  sumLo += Math.abs(sumHi) >= Math.abs(v) ? sumHi - s + v : v - s + sumHi;
  sumHi = s;
}

// @ts-ignore: decorator
@inline function sumValue(): f64 {
  return isFinite(sumHi) ? sumHi + sumLo : sumHi;
}

function scalarBceRow(x: usize, y: usize, w: usize, pw: usize, n: i32, eps: f64, lscale: f64, gscale: f64,
  grad: usize, losses: usize, f32: bool, careful: bool): f64 {
  sumHi = 0;
  sumLo = 0;
  let bad = false;
  for (let i = 0; i < n;) {
    let block: f64 = 0;
    for (const stop = min(i + 32, n); i < stop; i++) {
      const xv = loadF(x, i, f32), yv = loadF(y, i, f32);
      const wv = w ? loadF(w, i, f32) : 1.0;
      if (!(yv >= 0 && yv <= 1) || !(wv >= 0 && wv < Infinity)) bad = true;
      const yy = yv * (1 - eps) + eps * 0.5;
      const cN = 1 - yy, cP = pw ? yy * loadF(pw, i, f32) : yy;
      const e = Math.exp(-Math.abs(xv));
      const l = Math.log1p(e);
      const a = xv > 0 ? xv : 0;
      let loss = (pos(cP * (a - xv)) + pos(cN * a)) + (cP + cN) * l;
      if (w) loss = careful && wv == 0 ? 0 : loss * wv;
      if (isNaN(xv)) loss = xv;
      if (grad) {
        const small = e / (1 + e), big = 1 - small;
        const sx = xv < 0 ? small : big, smx = xv < 0 ? big : small;
        storeF(grad, i, (cN * sx - cP * smx) * wv * gscale, f32);
      }
      if (losses) store<f64>(losses + (<usize>i << 3), loss * lscale);
      block += loss;
    }
    sumAdd(block);
  }
  rowBad = bad;
  return sumValue();
}

function scalarBceRows(x: usize, y: usize, rows: i32, cols: i32, w: usize, wElem: i32, pw: usize, eps: f64,
  lscale: f64, gscale: f64, grad: usize, res: usize, losses: usize, f32: bool): void {
  const sh: usize = f32 ? 2 : 3;
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols;
    const xr = x + (off << sh), yr = y + (off << sh);
    const wr = w == 0 ? <usize>0 : wElem ? w + (off << sh) : w;
    const gr = grad == 0 ? <usize>0 : grad + (off << sh), lr = losses == 0 ? <usize>0 : losses + (off << 3);
    let total = scalarBceRow(xr, yr, wr, pw, cols, eps, lscale, gscale, gr, lr, f32, false);
    if (wr != 0 && isNaN(total)) total = scalarBceRow(xr, yr, wr, pw, cols, eps, lscale, gscale, gr, lr, f32, true);
    store<f64>(res + (<usize>r << 3), rowBad ? NaN : total * lscale);
  }
}

function scalarFocalRow(x: usize, y: usize, n: i32, alpha: f64, gamma: f64, lscale: f64, gscale: f64,
  grad: usize, losses: usize, f32: bool, careful: bool): f64 {
  sumHi = 0;
  sumLo = 0;
  let bad = false;
  for (let i = 0; i < n;) {
    let block: f64 = 0;
    for (const stop = min(i + 32, n); i < stop; i++) {
      const xv = loadF(x, i, f32), yv = loadF(y, i, f32);
      if (!(yv >= 0 && yv <= 1)) bad = true;
      const cN = 1 - yv;
      const e = Math.exp(-Math.abs(xv));
      const l = Math.log1p(e);
      const a = xv > 0 ? xv : 0;
      const ce = (pos(yv * (a - xv)) + pos(cN * a)) + l;
      const small = e / (1 + e), big = 1 - small;
      const sx = xv < 0 ? small : big, smx = xv < 0 ? big : small;
      const q = cN * sx + yv * smx;
      const qg = gamma == 2 ? q * q : gamma == 1 ? q : gamma == 0 ? 1.0 : Math.pow(q, gamma);
      const at = alpha < 0 ? 1.0 : yv * alpha + (1 - alpha) * cN;
      let loss = at * ce * qg;
      if (careful && (at == 0 || qg == 0)) loss = 0;
      if (isNaN(xv)) loss = xv;
      if (grad) {
        let g = (cN * sx - yv * smx) * qg;
        if (gamma != 0) {
          const ss = sx * smx;
          const t = gamma == 2 ? q * ss : gamma == 1 ? ss : qg * ss / q;
          g += gamma * (cN - yv) * pos(ce * t);
        }
        storeF(grad, i, g * at * gscale, f32);
      }
      if (losses) store<f64>(losses + (<usize>i << 3), loss * lscale);
      block += loss;
    }
    sumAdd(block);
  }
  rowBad = bad;
  return sumValue();
}

function scalarFocalRows(x: usize, y: usize, rows: i32, cols: i32, alpha: f64, gamma: f64, lscale: f64, gscale: f64,
  grad: usize, res: usize, losses: usize, f32: bool): void {
  const sh: usize = f32 ? 2 : 3;
  for (let r = 0; r < rows; r++) {
    const off = <usize>r * <usize>cols;
    const xr = x + (off << sh), yr = y + (off << sh);
    const gr = grad == 0 ? <usize>0 : grad + (off << sh), lr = losses == 0 ? <usize>0 : losses + (off << 3);
    let total = scalarFocalRow(xr, yr, cols, alpha, gamma, lscale, gscale, gr, lr, f32, false);
    if (isNaN(total)) total = scalarFocalRow(xr, yr, cols, alpha, gamma, lscale, gscale, gr, lr, f32, true);
    store<f64>(res + (<usize>r << 3), rowBad ? NaN : total * lscale);
  }
}

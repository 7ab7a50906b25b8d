// JS twins of assembly/loss.ts: the fused softmax cross-entropy with PyTorch's class
// weights and label smoothing, loss and gradient from one softmax.

import { logOnesPlus } from './math.js';
import { maxRow } from './reduce.js';
import { expSum, expSumOnes } from './softmax.js';

type Vec = ArrayLike<number>;
type Out = { [i: number]: number; readonly length: number };

/** A row with no defined softmax (maximum not finite): NaN loss and gradient. */
function undefinedRow(out: Float64Array, r: number, grad: Out | null, off: number, cols: number): void {
  out[r] = NaN;
  if (grad) for (let c = 0; c < cols; c++) grad[off + c] = NaN;
}

/** The gradient's coefficients with the caller's scale folded in when that stays finite; see assembly/loss.ts. */
function foldScale(a: number, b: number, c: number, gs: number, grad: Out): [number, number, number, number] {
  const fa = a * gs, fb = b * gs, fc = c * gs;
  const f = grad instanceof Float32Array ? Math.fround : (v: number) => v;
  return Number.isFinite(f(fa)) && Number.isFinite(f(fb)) && Number.isFinite(f(fc)) ? [fa, fb, fc, 1] : [a, b, c, gs];
}

const F32_MIN_NORMAL = 2 ** -126;
const LN_F32_MIN_NORMAL = Math.log(F32_MIN_NORMAL);

/**
 * Float32 gradient entries whose exponential fell below FLT_MIN, recomputed from the
 * logits in float64 and rounded once (see assembly/loss.ts: `subnormalGradF32`); `tgt`
 * null: labels (sub = b·w_c, plus c at y), else probability targets (sub = c·w_c·t̃_c).
 */
function subnormalGrad(z: Vec, grad: Out, off: number, n: number, m: number, a: number, b: number, c: number, gs: number,
  w: Vec | null, y: number, tgt: Vec | null, keep: number, spread: number): void {
  for (let i = 0; i < n; i++) {
    const t = z[off + i] - m;
    if (!(t < LN_F32_MIN_NORMAL)) continue;
    const wc = w ? w[i] : 1;
    const sub = tgt ? c * wc * (tgt[off + i] * keep + spread) : b * wc + (i === y ? c : 0);
    grad[off + i] = (Math.exp(t) * a - sub) * gs;
  }
}

/** The gradient overwrote the logits (in place): they cannot be read again. */
function inPlace(z: Vec, grad: Out): boolean {
  return (grad as unknown) === z || (ArrayBuffer.isView(z) && ArrayBuffer.isView(grad) && z.buffer === grad.buffer && z.byteOffset === grad.byteOffset);
}

/** Σ_c w_c·(z_c − m) over a row (w_c = 1 without weights); w_c = 0 terms skipped. */
function weightedShiftedSum(z: Vec, off: number, n: number, m: number, w: Vec | null): number {
  let s = 0;
  for (let c = 0; c < n; c++) {
    const wc = w ? w[c] : 1;
    if (wc !== 0) s += wc * (z[off + c] - m);
  }
  return s;
}

/** labels: int32 per row, negative = ignored; see assembly/loss.ts for the formulas. */
export function softmaxCrossEntropyLabels(
  z: Vec, labels: Int32Array, rows: number, cols: number, weights: Vec | null, wsum: number,
  eps: number, gradScale: number, grad: Out | null, out: Float64Array,
): void {
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const y = labels[r];
    if (y < 0) {
      out[r] = 0;
      if (grad) for (let c = 0; c < cols; c++) grad[off + c] = 0;
      continue;
    }
    const m = maxRow(z, off, cols);
    if (!Number.isFinite(m)) {
      undefinedRow(out, r, grad, off, cols);
      continue;
    }
    const ty = z[off + y] - m;
    const a = eps > 0 ? weightedShiftedSum(z, off, cols, m, weights) : 0;
    const rest = expSum(z, off, cols, m, 1, grad);
    const s = expSumOnes + rest;
    const ls = logOnesPlus(expSumOnes, rest);
    const wy = weights ? weights[y] : 1;
    let loss = wy !== 0 ? (1 - eps) * wy * (ls - ty) : 0;
    if (eps > 0) loss += (eps / cols) * (wsum * ls - a);
    out[r] = loss;
    if (grad) {
      const ey = grad[off + y];
      const [ga, gb, gc, gs] = foldScale(((1 - eps) * wy + (eps * wsum) / cols) / s, eps / cols, (1 - eps) * wy, gradScale, grad);
      const w = eps > 0 ? weights : null;
      let low = false;
      for (let c = 0; c < cols; c++) {
        const e = grad[off + c];
        if (e < F32_MIN_NORMAL) low = true;
        grad[off + c] = (e * ga - gb * (w ? w[c] : 1)) * gs;
      }
      grad[off + y] = (ey * ga - (w ? gb * w[y] : gb) - gc) * gs;
      if (low && grad instanceof Float32Array && !inPlace(z, grad)) subnormalGrad(z, grad, off, cols, m, ga, gb, gc, gs, w, y, null, 0, 0);
    }
  }
}

/** Probability targets (a matrix like z); see assembly/loss.ts for the formulas. */
export function softmaxCrossEntropyProbs(
  z: Vec, targets: Vec, rows: number, cols: number, weights: Vec | null,
  eps: number, gradScale: number, grad: Out | null, out: Float64Array,
): void {
  const keep = 1 - eps, spread = eps / cols;
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const m = maxRow(z, off, cols);
    if (!Number.isFinite(m)) {
      undefinedRow(out, r, grad, off, cols);
      continue;
    }
    let b = 0, tw = 0;
    for (let c = 0; c < cols; c++) {
      let wt = targets[off + c] * keep + spread;
      if (weights) wt *= weights[c];
      if (wt !== 0) b += wt * (z[off + c] - m);
      tw += wt;
    }
    const rest = expSum(z, off, cols, m, 1, grad);
    const s = expSumOnes + rest;
    out[r] = tw * logOnesPlus(expSumOnes, rest) - b;
    if (grad) {
      const [a, k, , gs] = foldScale(tw / s, 1, 0, gradScale, grad);
      let low = false;
      for (let c = 0; c < cols; c++) {
        let wt = targets[off + c] * keep + spread;
        if (weights) wt *= weights[c];
        const e = grad[off + c];
        if (e < F32_MIN_NORMAL) low = true;
        grad[off + c] = (e * a - wt * k) * gs;
      }
      if (low && grad instanceof Float32Array && !inPlace(z, grad)) subnormalGrad(z, grad, off, cols, m, a, 0, k, gs, weights, -1, targets, keep, spread);
    }
  }
}

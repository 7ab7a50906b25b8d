// JS twins of assembly/loss.ts: the fused softmax cross-entropy with PyTorch's class
// weights and label smoothing, loss and gradient from one softmax, in float64.

import { ROW_GROUP } from '../kernels.js';
import { expSum, gradScratch, logOnesPlus, parts } from './softmax.js';
import { maxRow } from './sum.js';

type Vec = ArrayLike<number>;
type Out = { [i: number]: number; readonly length: number };

/** A row with no defined softmax (maximum not finite): NaN loss and gradient. */
function undefinedRow(res: Float64Array, r: number, grad: Out | null, off: number, cols: number): void {
  res[r] = NaN;
  if (grad) for (let c = 0; c < cols; c++) grad[off + c] = NaN;
}

/** The gradient's coefficients with the caller's scale folded in when that stays finite (see assembly/loss.ts). */
function fold(a: number, b: number, c: number, gs: number, grad: Out): [number, number, number, number] {
  const fa = a * gs, fb = b * gs, fc = c * gs;
  const f = grad instanceof Float32Array ? Math.fround : (v: number) => v;
  return Number.isFinite(f(fa)) && Number.isFinite(f(fb)) && Number.isFinite(f(fc)) ? [fa, fb, fc, 1] : [a, b, c, gs];
}

/** With `grouped`: group g's ROW_GROUP losses summed into res[g], even and odd rows each as a tree, then the two (see assembly/loss.ts, `sumGroupsF64`). */
function sumGroups(res: Float64Array, rows: number): void {
  for (let r = 0; r < rows; r += ROW_GROUP) {
    const n = Math.min(rows - r, ROW_GROUP);
    res[r / ROW_GROUP] = sumTree(res, r, n, 0) + sumTree(res, r, n, 1);
  }
}

/** ((l_j + l_j+2) + (l_j+4 + l_j+6)) + ((l_j+8 + l_j+10) + (l_j+12 + l_j+14)) of the group from row r (rows from n on 0). */
function sumTree(res: Float64Array, r: number, n: number, j: number): number {
  return ((lossAt(res, r, n, j) + lossAt(res, r, n, j + 2)) + (lossAt(res, r, n, j + 4) + lossAt(res, r, n, j + 6)))
    + ((lossAt(res, r, n, j + 8) + lossAt(res, r, n, j + 10)) + (lossAt(res, r, n, j + 12) + lossAt(res, r, n, j + 14)));
}

/** Row i of the group from row r, 0 from n on (as the kernel's `lossAt`). */
const lossAt = (res: Float64Array, r: number, n: number, i: number): number => (i < n ? res[r + i] : 0);

/**
 * acc[0] = max(acc[0], the largest label read as unsigned, where a negative one is 2³¹ or
 * more): four labels a step into four maxima, so that no comparison waits for the one
 * before it.
 */
export function labelMax(labels: Int32Array, rows: number, acc: Float64Array): void {
  const d = new Uint32Array(labels.buffer, labels.byteOffset, rows);
  let h0 = 0, h1 = 0, h2 = 0, h3 = 0, r = 0;
  for (const n = rows - 3; r < n; r += 4) {
    const a = d[r], b = d[r + 1], c = d[r + 2], e = d[r + 3];
    h0 = a > h0 ? a : h0;
    h1 = b > h1 ? b : h1;
    h2 = c > h2 ? c : h2;
    h3 = e > h3 ? e : h3;
  }
  for (; r < rows; r++) h0 = d[r] > h0 ? d[r] : h0;
  acc[0] = Math.max(acc[0], h0, h1, h2, h3);
}

/** The twins' scratch (synchronous, never nested). */
const P = parts();

/** labels: int32 per row, negative = ignored; see assembly/loss.ts for the formulas. */
export function softmaxCrossEntropyLabels(
  z: Vec, labels: Int32Array, rows: number, cols: number, weights: Vec | null, wsum: number,
  eps: number, gradScale: number, grad: Out | null, res: Float64Array, grouped: boolean,
): void {
  const p = P, E = gradScratch(grad);
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const y = labels[r];
    if (y < 0) {
      res[r] = 0;
      if (grad) for (let c = 0; c < cols; c++) grad[off + c] = 0;
      continue;
    }
    const m = maxRow(z, off, cols);
    if (!Number.isFinite(m)) {
      undefinedRow(res, r, grad, off, cols);
      continue;
    }
    const ty = z[off + y] - m;
    let a = 0;
    if (eps > 0) {
      for (let c = 0; c < cols; c++) {
        const wc = weights ? weights[c] : 1;
        if (wc !== 0) a += wc * (z[off + c] - m);
      }
    }
    const rest = expSum(z, off, cols, m, 1, E, p);
    const s = p.ones + rest;
    const ls = logOnesPlus(p.ones, rest);
    const wy = weights ? weights[y] : 1;
    // a label of weight 0 counts 0, even against a −Infinity logit (not 0·Infinity), but a
    // NaN in the row still makes it NaN (0·log S: log S is finite, or NaN)
    let loss = wy !== 0 ? (1 - eps) * wy * (ls - ty) : 0 * ls;
    if (eps > 0) loss += (eps / cols) * (wsum * ls - a);
    res[r] = loss;
    if (grad && E) {
      const ey = E[off + y];
      const [ga, gb, gc, gs] = fold(((1 - eps) * wy + (eps * wsum) / cols) / s, eps / cols, (1 - eps) * wy, gradScale, E);
      const w = eps > 0 ? weights : null;
      for (let c = 0; c < cols; c++) grad[off + c] = (E[off + c] * ga - gb * (w ? w[c] : 1)) * gs;
      grad[off + y] = (ey * ga - (w ? gb * w[y] : gb) - gc) * gs;
    }
  }
  if (grouped) sumGroups(res, rows);
}

/** Probability targets (a matrix like z); see assembly/loss.ts for the formulas. */
export function softmaxCrossEntropyProbs(
  z: Vec, targets: Vec, rows: number, cols: number, weights: Vec | null,
  eps: number, gradScale: number, grad: Out | null, res: Float64Array, grouped: boolean,
): void {
  const keep = 1 - eps, spread = eps / cols;
  const p = P, E = gradScratch(grad);
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const m = maxRow(z, off, cols);
    if (!Number.isFinite(m)) {
      undefinedRow(res, r, grad, off, cols);
      continue;
    }
    let b = 0, tw = 0;
    for (let c = 0; c < cols; c++) {
      let wt = targets[off + c] * keep + spread;
      if (weights) wt *= weights[c];
      if (wt !== 0) b += wt * (z[off + c] - m);
      tw += wt;
    }
    const rest = expSum(z, off, cols, m, 1, E, p);
    const s = p.ones + rest;
    res[r] = tw * logOnesPlus(p.ones, rest) - b;
    if (grad && E) {
      const [a, k, , gs] = fold(tw / s, 1, 0, gradScale, E);
      for (let c = 0; c < cols; c++) {
        let wt = targets[off + c] * keep + spread;
        if (weights) wt *= weights[c];
        grad[off + c] = (E[off + c] * a - wt * k) * gs;
      }
    }
  }
  if (grouped) sumGroups(res, rows);
}

// JS twins of assembly/info.ts: the margins of a joint table (row sums, column sums in
// compensated pairs, the total, the smallest entry), the Σ c·log(c/q) of its mutual
// information and conditional entropy, and the byte histogram.  The same passes and
// sums in float64 (float32 tables read as the numbers they hold).

import { Sum } from './sum.js';

type Vec = ArrayLike<number>;

const rowSum = new Sum();

/** TwoSum of v into the pair (h[i], l[i]). */
function addPair(h: Float64Array, l: Float64Array, i: number, v: number): void {
  const hi = h[i];
  const s = hi + v;
  const bb = s - hi;
  l[i] += (hi - (s - bb)) + (v - bb);
  h[i] = s;
}

/** TwoSum of v into the pair (a[i], a[i + 1]). */
function addTo(a: Float64Array, i: number, v: number): void {
  const hi = a[i];
  const s = hi + v;
  const bb = s - hi;
  a[i + 1] += (hi - (s - bb)) + (v - bb);
  a[i] = s;
}

/**
 * res[r] = Σ row r; (colHi[j], colLo[j]) += column j's entries; acc[0] = min(acc[0],
 * smallest entry), (acc[1], acc[2]) += Σ of the rows.
 */
export function marginRows(x: Vec, rows: number, cols: number, res: Float64Array, colHi: Float64Array, colLo: Float64Array, acc: Float64Array): void {
  let mn = acc[0];
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    rowSum.reset();
    for (let j = 0; j < cols;) {
      let s = 0;
      for (const end = Math.min(j + 32, cols); j < end; j++) {
        const v = x[off + j];
        s += v;
        if (v < mn) mn = v;
        addPair(colHi, colLo, j, v);
      }
      rowSum.add(s);
    }
    const t = rowSum.value();
    res[r] = t;
    addTo(acc, 1, t);
  }
  acc[0] = mn;
}

/** log(c/q) from the ratio c·a·b and q (as assembly/info.ts: log1p((c − q)/q) near 1). */
function logRatio(c: number, q: number, ratio: number): number {
  return ratio >= Math.SQRT1_2 && ratio < Math.SQRT2 ? Math.log1p((c - q) / q) : Math.log(ratio);
}

/**
 * (acc[0], acc[1]) += Σ c·log(c/q): q = c(x)·c(y)/total with colInv (1/c(y)) and colSum
 * (c(y)) given (mutual information), else q = c(x) (conditional entropy); the ratio c/q
 * formed as c·a·b (a = total/c(x) or 1/c(x), b = colInv); terms whose ratio is not a
 * positive normal number are 0.
 */
export function mutualInformationRows(x: Vec, rows: number, cols: number, rowSums: Float64Array, colInv: Float64Array | null,
  colSum: Float64Array | null, total: number, acc: Float64Array): void {
  const sum = new Sum();
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const cx = rowSums[r];
    const a = colInv ? total / cx : 1 / cx, rq = colInv ? cx / total : cx;
    for (let j = 0; j < cols;) {
      let s = 0;
      for (const end = Math.min(j + 32, cols); j < end; j++) {
        const c = x[off + j];
        const ratio = colInv ? c * a * colInv[j] : c * a;
        if (ratio >= 2.2250738585072014e-308 && ratio < Infinity) s += c * logRatio(c, colInv ? rq * colSum![j] : rq, ratio);
      }
      sum.add(s);
    }
  }
  addTo(acc, 0, sum.value());
}

/** acc[v] += how many of the rows × cols bytes equal v (four sub-histograms, as the kernel). */
export function byteHistogram(bytes: Uint8Array, rows: number, cols: number, acc: Float64Array, _tmp: unknown): void {
  const n = rows * cols;
  const h = new Uint32Array(1024);
  // flushed every 2³⁰ bytes: 32-bit counters never overflow
  for (let start = 0; start < n; start += 2 ** 30) {
    const end = Math.min(n, start + 2 ** 30);
    let i = start;
    for (; i + 4 <= end; i += 4) {
      h[bytes[i] << 2]++;
      h[(bytes[i + 1] << 2) | 1]++;
      h[(bytes[i + 2] << 2) | 2]++;
      h[(bytes[i + 3] << 2) | 3]++;
    }
    for (; i < end; i++) h[bytes[i] << 2]++;
    for (let v = 0; v < 256; v++) {
      acc[v] += h[4 * v] + h[4 * v + 1] + h[4 * v + 2] + h[4 * v + 3];
      h[4 * v] = h[4 * v + 1] = h[4 * v + 2] = h[4 * v + 3] = 0;
    }
  }
}

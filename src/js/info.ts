// JS twins of assembly/info.ts: the margins of a joint table (row sums, column sums in
// compensated pairs, the total, the smallest entry), the Σ c·log(c/q) of its mutual
// information and conditional entropy, and the byte histogram.  The same passes and
// sums in float64 (float32 tables read as the numbers they hold).

import { Sum } from './sum.js';

type Vec = ArrayLike<number>;

const rowSum = new Sum(), termSum = new Sum();

/** TwoSum of v into the pair (h[i], l[i]). */
export function addPair(h: Float64Array, l: Float64Array, i: number, v: number): void {
  const hi = h[i];
  const s = hi + v;
  const bb = s - hi;
  l[i] += (hi - (s - bb)) + (v - bb);
  h[i] = s;
}

/** TwoSum of v into the pair (a[i], a[i + 1]). */
export function addTo(a: Float64Array, i: number, v: number): void {
  const hi = a[i];
  const s = hi + v;
  const bb = s - hi;
  a[i + 1] += (hi - (s - bb)) + (v - bb);
  a[i] = s;
}

/**
 * res[r] = Σ row r, resLo[r] its low part where the row is dominated (see `dominated`),
 * else 0; (colHi[j], colLo[j]) += column j's entries; acc[0] = min(acc[0], smallest
 * entry), (acc[1], acc[2]) += Σ of the rows.
 */
export function marginRows(x: Vec, rows: number, cols: number, res: Float64Array, resLo: Float64Array | null, colHi: Float64Array, colLo: Float64Array,
  acc: Float64Array): void {
  let mn = acc[0];
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    rowSum.reset();
    let mx = 0;
    for (let j = 0; j < cols;) {
      let s = 0;
      for (const end = Math.min(j + 32, cols); j < end; j++) {
        const v = x[off + j];
        s += v;
        if (v < mn) mn = v;
        if (v > mx) mx = v;
        addPair(colHi, colLo, j, v);
      }
      rowSum.add(s);
    }
    const t = rowSum.value();
    dominated(x, off, cols, mx, t, res, resLo, r);
    addTo(acc, 1, t);
  }
  acc[0] = mn;
}

/**
 * A row's sum into res[r] and, with `lo`, its low part: a row whose largest entry m is at
 * least total/√2 is summed again apart from m (m added for each further copy), (hi, lo) =
 * TwoSum(m, rest); others' low part is 0 (as assembly/info.ts and math.ts, `restMass`).
 */
function dominated(x: Vec, off: number, cols: number, m: number, total: number, res: Float64Array, lo: Float64Array | null, r: number): void {
  if (!(lo && m > 0 && m < Infinity && m >= total * Math.SQRT1_2)) {
    res[r] = total;
    if (lo) lo[r] = 0;
    return;
  }
  rowSum.reset();
  let copies = 0;
  for (let j = 0; j < cols;) {
    let s = 0;
    for (const end = Math.min(j + 32, cols); j < end; j++) {
      if (x[off + j] === m) copies++;
      else s += x[off + j];
    }
    rowSum.add(s);
  }
  const rest = rowSum.value() + (copies - 1) * m, hi = m + rest, b = hi - m;
  res[r] = hi;
  lo[r] = (m - (hi - b)) + (rest - b);
}

/** log(c/q) from the ratio c·a·b and q = hi + lo (as assembly/info.ts: log1p(((c − hi) − lo)/q) near 1). */
export function logRatio(c: number, q: number, lo: number, ratio: number): number {
  return ratio >= Math.SQRT1_2 && ratio < Math.SQRT2 ? Math.log1p((c - q - lo) / q) : Math.log(ratio);
}

/**
 * (acc[0], acc[1]) += Σ c·log(c/q): q = c(x)·c(y)/total with colInv (1/c(y)) and colSum
 * (c(y)) given (mutual information), else q = c(x) with its low part rowLo[r] (conditional
 * entropy; rowLo may be null); the ratio c/q
 * formed as c·a·b (a = total/c(x) or 1/c(x), b = colInv); terms whose ratio is not a
 * positive normal number are 0.
 */
export function mutualInformationRows(x: Vec, rows: number, cols: number, rowSums: Float64Array, rowLo: Float64Array | null, colInv: Float64Array | null,
  colSum: Float64Array | null, total: number, acc: Float64Array): void {
  const sum = termSum.reset();
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const cx = rowSums[r];
    const a = colInv ? total / cx : 1 / cx, rq = colInv ? cx / total : cx, qlo = !colInv && rowLo ? rowLo[r] : 0;
    for (let j = 0; j < cols;) {
      let s = 0;
      for (const end = Math.min(j + 32, cols); j < end; j++) {
        const c = x[off + j];
        const ratio = colInv ? c * a * colInv[j] : c * a;
        if (ratio >= 2.2250738585072014e-308 && ratio < Infinity) s += c * logRatio(c, colInv ? rq * colSum![j] : rq, qlo, ratio);
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

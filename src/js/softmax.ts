// JS twins of assembly/softmax.ts: every row relative to its maximum, the same passes,
// the same special rows, S kept as ones + rest; in float64 with Math.exp (float32 input
// is read as the numbers it holds, and x − m is then exact).

import { Sum, hasNaN, maxRow } from './sum.js';

type Vec = ArrayLike<number>;
type Out = { [i: number]: number; readonly length: number };

/** Set by `expSum`: how many entries were exactly the maximum (exp = 1). */
let expOnes = 0;
const sum = new Sum();

/**
 * Σ exp((x − m)/T) over x[off, off + n) with a finite maximum m, returned as the part
 * from entries below the maximum (their count at it goes to `expOnes`); stores each
 * exponential to dst when given (dst may be x).  Summed in blocks, compensated.
 */
function expSum(x: Vec, off: number, n: number, m: number, T: number, dst: Out | null): number {
  const invT = 1 / T;
  let ones = 0;
  sum.reset();
  for (let i = off, end = off + n; i < end;) {
    let block = 0;
    for (const stop = Math.min(i + 32, end); i < stop; i++) {
      const v = x[i];
      const e = Math.exp((v - m) * invT);
      if (dst) dst[i] = e;
      if (v === m) ones++;
      else block += e;
    }
    sum.add(block);
  }
  expOnes = ones;
  return sum.value();
}

/** log(ones + rest), with log1p when a single maximal entry makes S ≈ 1. */
export function logOnesPlus(ones: number, rest: number): number {
  return ones === 1 ? Math.log1p(rest) : Math.log(ones + rest);
}

function fill(out: Out, off: number, n: number, v: number): void {
  for (let i = off, end = off + n; i < end; i++) out[i] = v;
}

/** Writes a row's three parts when asked. */
function putAux(aux: Float64Array | null, r: number, a: number, b: number, c: number): void {
  if (aux) {
    aux[3 * r] = a;
    aux[3 * r + 1] = b;
    aux[3 * r + 2] = c;
  }
}

export function logSumExpRows(x: Vec, rows: number, cols: number, res: Float64Array, aux: Float64Array | null): void {
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const m = maxRow(x, off, cols);
    if (!Number.isFinite(m)) {
      const v = hasNaN(x, off, cols) ? NaN : m;
      res[r] = v;
      putAux(aux, r, v, 0, 0);
      continue;
    }
    const rest = expSum(x, off, cols, m, 1, null);
    res[r] = m + logOnesPlus(expOnes, rest);
    putAux(aux, r, m, expOnes, rest);
  }
}

export function softmaxRows(x: Vec, rows: number, cols: number, T: number, out: Out, aux: Float64Array | null): void {
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const m = maxRow(x, off, cols);
    if (!Number.isFinite(m)) {
      const nan = hasNaN(x, off, cols);
      fill(out, off, cols, m === -Infinity && !nan ? 0 : NaN);
      putAux(aux, r, nan ? NaN : m, 0, 0);
      continue;
    }
    const rest = expSum(x, off, cols, m, T, out);
    const s = expOnes + rest;
    const c = 1 / s;
    for (let i = off; i < off + cols; i++) out[i] *= c;
    putAux(aux, r, m, 0, s);
  }
}

export function logSoftmaxRows(x: Vec, rows: number, cols: number, T: number, out: Out, aux: Float64Array | null): void {
  const invT = 1 / T;
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const m = maxRow(x, off, cols);
    if (!Number.isFinite(m)) {
      const nan = hasNaN(x, off, cols);
      fill(out, off, cols, m === -Infinity && !nan ? -Infinity : NaN);
      putAux(aux, r, nan ? NaN : m, 0, 0);
      continue;
    }
    const rest = expSum(x, off, cols, m, T, null);
    const ones = expOnes;
    const ls = logOnesPlus(ones, rest);
    for (let i = off; i < off + cols; i++) out[i] = (x[i] - m) * invT - ls;
    putAux(aux, r, m, ones, rest);
  }
}

/** out = x·a + c, elementwise (a long row's second pass: see stream.ts). */
export function affineRows(x: Vec, rows: number, cols: number, a: number, c: number, out: Out): void {
  for (let i = 0, n = rows * cols; i < n; i++) out[i] = x[i] * a + c;
}

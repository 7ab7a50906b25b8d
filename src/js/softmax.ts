// JS twins of assembly/softmax.ts: every row relative to its maximum, the same passes,
// the same special rows (maximum not finite), S kept as ones + rest.

import { expShifted, logOnesPlus } from './math.js';
import { maxRow } from './reduce.js';

type Vec = ArrayLike<number>;
type Out = { [i: number]: number; readonly length: number };

/** Set by `expSum`: how many entries were exactly the maximum (exp = 1). */
export let expSumOnes = 0;

/**
 * Σ exp((x − m)/T) over x[off, off + n) with a finite maximum m, returned as the part
 * from entries below the maximum (their count at it goes to `expSumOnes`); stores each
 * exponential to dst when given.
 */
export function expSum(x: Vec, off: number, n: number, m: number, T: number, dst: Out | null): number {
  let rest = 0, ones = 0;
  const fast = -200 * T;
  for (let i = off, end = off + n; i < end; i++) {
    // expShifted's fast path, inlined: exp(d/T) of the rounded d = x − m
    const v = x[i];
    const d = v - m;
    const e = d >= fast ? (T === 1 ? Math.exp(d) : Math.exp(d / T)) : expShifted(v, m, T);
    if (dst) dst[i] = e; // dst may be x
    if (v === m) ones++;
    else rest += e;
  }
  expSumOnes = ones;
  return rest;
}

export function hasNaN(x: Vec, off: number, n: number): boolean {
  for (let i = off, end = off + n; i < end; i++) if (x[i] !== x[i]) return true;
  return false;
}

/** A row whose maximum is not finite is masked (no mass) when it is all −Infinity, or empty. */
export function maskedRow(x: Vec, off: number, n: number, m: number): boolean {
  return m === -Infinity && !hasNaN(x, off, n);
}

function fill(out: Out, off: number, n: number, v: number): void {
  for (let i = off, end = off + n; i < end; i++) out[i] = v;
}

export function logSumExpRows(x: Vec, rows: number, cols: number, out: Float64Array): void {
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const m = maxRow(x, off, cols);
    if (!Number.isFinite(m)) {
      out[r] = hasNaN(x, off, cols) ? NaN : m;
      continue;
    }
    const rest = expSum(x, off, cols, m, 1, null);
    out[r] = m + logOnesPlus(expSumOnes, rest);
  }
}

export function softmaxRows(x: Vec, rows: number, cols: number, T: number, out: Out): void {
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const m = maxRow(x, off, cols);
    if (!Number.isFinite(m)) {
      fill(out, off, cols, maskedRow(x, off, cols, m) ? 0 : NaN);
      continue;
    }
    const rest = expSum(x, off, cols, m, T, out);
    const c = 1 / (expSumOnes + rest);
    for (let i = off; i < off + cols; i++) out[i] *= c;
  }
}

export function logSoftmaxRows(x: Vec, rows: number, cols: number, T: number, out: Out): void {
  const invT = 1 / T;
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const m = maxRow(x, off, cols);
    if (!Number.isFinite(m)) {
      fill(out, off, cols, maskedRow(x, off, cols, m) ? -Infinity : NaN);
      continue;
    }
    const rest = expSum(x, off, cols, m, T, null);
    const ls = logOnesPlus(expSumOnes, rest);
    for (let i = off; i < off + cols; i++) out[i] = (x[i] - m) * invT - ls;
  }
}

/** H(softmax(x/T)) = log S − (1/S)·Σ e·t per row; 0 for a fully masked row. */
export function softmaxEntropyRows(x: Vec, rows: number, cols: number, T: number, out: Float64Array): void {
  const invT = 1 / T;
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const m = maxRow(x, off, cols);
    if (!Number.isFinite(m)) {
      out[r] = maskedRow(x, off, cols, m) ? 0 : NaN;
      continue;
    }
    let rest = 0, ones = 0, a = 0;
    for (let i = off; i < off + cols; i++) {
      const v = x[i];
      const e = expShifted(v, m, T);
      if (v === m) ones++;
      else rest += e;
      if (e !== 0) a += e * ((v - m) * invT);
    }
    out[r] = logOnesPlus(ones, rest) - a / (ones + rest);
  }
}

/** D for rows where ma or mb is not finite (`nan`: either row holds a NaN). */
function specialKl(ma: number, mb: number, nan: boolean): number {
  if (nan) return NaN;
  if (ma === -Infinity) return 0;
  if (ma === Infinity || mb === Infinity) return NaN;
  return Infinity;
}

const EXPM1_NEAR = 0.25;

/** (a − ma) − (b − mb) from the two differences and their TwoSum errors (dropped where infinite). */
function exactDiff(a: number, ma: number, b: number, mb: number): number {
  const da = a - ma, db = b - mb;
  const ba = da - a, bb = db - b;
  const e = a - (da - ba) - (ma + ba) - (b - (db - bb) - (mb + bb));
  return da - db + (e === e ? e : 0);
}

/** The parts of one `klPass`: Σ ea (as ones + rest), Σ ea·(t − c), a masked Q entry seen. */
let klOnes = 0, klRest = 0, klAcc = 0, klHole = false;

/**
 * One pass over a row for D, centred on c: with t = ((a − ma) − (b − mb))/T from exact
 * differences, D = Σ ea·(t − c) / SA + log1p(Σ ea·expm1(c − t) / SA), each ea·expm1(c − t)
 * taken as ea·expm1(c − t) where |c − t| < ¼ and as e^c·eb − ea elsewhere (no cancellation
 * there).  Any c gives D; see `softmaxKlDivergenceRows` for which.
 */
function klPass(xa: Vec, xb: Vec, off: number, n: number, ma: number, mb: number, T: number, c: number): number {
  const invT = 1 / T, ec = Math.exp(c);
  let rest = 0, ones = 0, acc = 0, diff = 0;
  let hole = false;
  for (let i = off; i < off + n; i++) {
    const ea = expShifted(xa[i], ma, T);
    if (xa[i] === ma) ones++;
    else rest += ea;
    if (ea === 0) {
      // b masked where a has mass (however little): D is Infinity
      if (xb[i] === -Infinity && xa[i] !== -Infinity) hole = true;
      diff += ec * expShifted(xb[i], mb, T);
      continue;
    }
    const t = exactDiff(xa[i], ma, xb[i], mb) * invT;
    const u = c - t;
    acc -= ea * u;
    diff += Math.abs(u) < EXPM1_NEAR ? ea * Math.expm1(u) : ec * expShifted(xb[i], mb, T) - ea;
  }
  klOnes = ones; klRest = rest; klAcc = acc; klHole = hole;
  const sa = ones + rest;
  return acc / sa + Math.log1p(diff / sa);
}

/**
 * D(softmax(a/T) ‖ softmax(b/T)) from the logits.  A first pass centred on 0 gives D as
 * Σ p·t + log(SB/SA); when those two parts nearly cancel (close distributions whose
 * logits differ by a near-constant shift on most of the mass: |D| below 1e-3 of them), a
 * second pass centres on c = Σ p·t, the mean shift, so that both parts are small and D
 * keeps the accuracy of its own terms.
 */
export function softmaxKlDivergenceRows(xa: Vec, xb: Vec, rows: number, cols: number, T: number, out: Float64Array): void {
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const ma = maxRow(xa, off, cols);
    const mb = maxRow(xb, off, cols);
    if (!Number.isFinite(ma) || !Number.isFinite(mb)) {
      out[r] = specialKl(ma, mb, hasNaN(xa, off, cols) || hasNaN(xb, off, cols));
      continue;
    }
    let d = klPass(xa, xb, off, cols, ma, mb, T, 0);
    const mean = klAcc / (klOnes + klRest);
    if (!klHole && Math.abs(d) < 1e-3 * Math.abs(mean) && Number.isFinite(mean)) d = klPass(xa, xb, off, cols, ma, mb, T, mean);
    out[r] = klHole && d === d ? Infinity : d; // (a NaN elsewhere in the rows stays NaN)
  }
}

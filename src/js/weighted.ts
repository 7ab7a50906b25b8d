// JS twin of assembly/weighted.ts: the weighted and signed log-sum-exp of each row, the
// same passes (the maximum over the entries of nonzero weight, then A = Σ b at the
// maximum and R = Σ b·e^(x−m) below it, in blocks of 32 into compensated sums), the same
// special rows and the same finish; in float64 with `expNonPos` (float32 input is read as
// the numbers it holds, and x − m is then exact).  Also what stream.ts needs to merge the
// parts of a row's segments.

import { expNonPos } from './math.js';
import { Sum } from './sum.js';

type Vec = ArrayLike<number>;

/** A row's parts: the maximum m, A = Σ b at it, R = Σ b·e^(x − m) below it, the smallest weight. */
let pM = 0, pA = 0, pR = 0, pMinW = 0;

const aSum = new Sum(), rSum = new Sum();

/**
 * Row r's value m + log|A + R| into res[r] and the sign of A + R into sign[r] (see
 * assembly/weighted.ts: putRow): an exact cancellation is −Infinity with sign 0; m = NaN
 * is NaN; m = +Infinity is +Infinity with the sign A.
 */
export function finish(m: number, A: number, R: number, res: Float64Array, sign: Float64Array | null, r: number): void {
  let value: number, s: number;
  if (m !== m) {
    value = NaN;
    s = NaN;
  } else if (m === Infinity) {
    value = Infinity;
    s = A;
  } else if (m === -Infinity) {
    value = -Infinity;
    s = 0;
  } else {
    const t = A + R;
    const bb = t - A;
    const e = (A - (t - bb)) + (R - bb);
    if (t === 0) {
      value = -Infinity;
      s = 0;
    } else {
      s = t > 0 ? 1 : -1;
      const a = Math.abs(t), ea = s * e;
      value = m + (a >= 0.5 && a <= 2 ? Math.log1p((a - 1) + ea) : Math.log(a) + ea / a);
    }
  }
  res[r] = value;
  if (sign) sign[r] = s;
}

/** The parts of a special row from a scan of its entries (see assembly/weighted.ts: classify). */
function classify(x: Vec, w: Vec, off: number, woff: number, n: number, m: number, sum: number): void {
  let nan = false, pos = false, neg = false;
  for (let i = 0; i < n; i++) {
    const b = w[woff + i], v = x[off + i];
    if (b === 0) continue;
    if (b !== b || v !== v) nan = true;
    else if (v === Infinity) {
      if (b > 0) pos = true;
      else neg = true;
    } else if (v === -Infinity) {
      if (!Number.isFinite(b)) nan = true;
    } else if (b === Infinity) pos = true;
    else if (b === -Infinity) neg = true;
  }
  pR = 0;
  if (nan || (pos && neg)) {
    pM = NaN;
    pA = 0;
  } else if (pos || neg) {
    pM = Infinity;
    pA = pos ? 1 : -1;
  } else if (m === -Infinity) {
    pM = -Infinity;
    pA = 0;
  } else if (sum !== sum) {
    pM = NaN;
    pA = 0;
  } else {
    pM = Infinity;
    pA = sum > 0 ? 1 : -1;
  }
}

function row(x: Vec, w: Vec, off: number, woff: number, n: number): void {
  let m = -Infinity, mw = Infinity;
  for (let i = 0; i < n; i++) {
    const b = w[woff + i], v = x[off + i];
    if (b !== 0 && v > m) m = v;
    if (b < mw) mw = b;
  }
  pMinW = mw;
  if (!Number.isFinite(m)) {
    classify(x, w, off, woff, n, m, 0);
    return;
  }
  aSum.reset();
  rSum.reset();
  for (let i = 0; i < n;) {
    let a = 0, s = 0;
    for (const end = Math.min(i + 32, n); i < end; i++) {
      const b = w[woff + i];
      if (b === 0) continue;
      const v = x[off + i];
      if (v === m) a += b;
      else s += b * expNonPos(v - m);
    }
    aSum.add(a);
    rSum.add(s);
  }
  const A = aSum.value(), R = rSum.value();
  if (!Number.isFinite(A) || !Number.isFinite(R) || !Number.isFinite(A + R)) {
    classify(x, w, off, woff, n, m, A + R);
    return;
  }
  pM = m;
  pA = A;
  pR = R;
}

/**
 * res[r] = log|Σ b·e^x| over row r, sign[r] its sign; b per element (perElement 1) or per
 * column (0); aux (4 a row): m, A, R, the smallest weight.
 */
export function weightedLogSumExpRows(x: Vec, w: Vec, perElement: number, rows: number, cols: number,
  res: Float64Array, sign: Float64Array | null, aux: Float64Array | null): void {
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    row(x, w, off, perElement ? off : 0, cols);
    finish(pM, pA, pR, res, sign, r);
    if (aux) {
      aux[4 * r] = pM;
      aux[4 * r + 1] = pA;
      aux[4 * r + 2] = pR;
      aux[4 * r + 3] = pMinW;
    }
  }
}

/**
 * The parts of a row from its segments' parts (m, A, R, minW each): the largest maximum,
 * A of the segments at it, R of those plus the others' A + R rescaled by e^(mₛ − m); a
 * NaN segment makes the row NaN, +Infinity segments of both signs too.
 */
export function mergeParts(aux: readonly Float64Array[]): Float64Array {
  let nan = false, pos = false, neg = false, m = -Infinity, minW = Infinity;
  for (const a of aux) {
    if (a[3] < minW) minW = a[3];
    if (a[0] !== a[0]) nan = true;
    else if (a[0] === Infinity) {
      if (a[1] > 0) pos = true;
      else neg = true;
    } else if (a[0] > m) m = a[0];
  }
  if (nan || (pos && neg)) return Float64Array.of(NaN, 0, 0, minW);
  if (pos || neg) return Float64Array.of(Infinity, pos ? 1 : -1, 0, minW);
  if (m === -Infinity) return Float64Array.of(-Infinity, 0, 0, minW);
  const A = new Sum(), R = new Sum();
  for (const a of aux) {
    if (a[0] === m) {
      A.add(a[1]);
      R.add(a[2]);
    } else if (a[0] > -Infinity) {
      const f = expNonPos(a[0] - m);
      R.add(a[1] * f);
      R.add(a[2] * f);
    }
  }
  const av = A.value(), rv = R.value(), t = av + rv;
  if (!Number.isFinite(t)) return t !== t ? Float64Array.of(NaN, 0, 0, minW) : Float64Array.of(Infinity, t > 0 ? 1 : -1, 0, minW);
  return Float64Array.of(m, av, rv, minW);
}

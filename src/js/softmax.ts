// JS twins of assembly/softmax.ts: every row relative to its maximum, the same passes,
// the same special rows, S kept as ones + rest; in float64 with `expNonPos` (float32 input
// is read as the numbers it holds, and x − m is then exact).

import { expNonPos } from './math.js';
import { Sum, hasNaN, maxRow } from './sum.js';

type Vec = ArrayLike<number>;
type Out = { [i: number]: number; readonly length: number };

/**
 * Σ exp((x − m)/T) over x[off, off + n) with a finite maximum m, as parts: `s.ones` the
 * entries equal to the maximum (exp = 1), the returned value the sum over the others;
 * stores each exponential to dst when given (dst may be x).  Summed in blocks of 32 into
 * `s`, compensated.
 */
export function expSum(x: Vec, off: number, n: number, m: number, T: number, dst: Out | null, s: Parts): number {
  const invT = 1 / T;
  const tiny = cutOff();
  let ones = 0;
  const sum = s.sum.reset();
  for (let i = off, end = off + n; i < end;) {
    let block = 0;
    for (const stop = Math.min(i + 32, end); i < stop; i++) {
      const v = x[i];
      let e = expNonPos((v - m) * invT);
      if (e < tiny) e = 0;
      if (dst) dst[i] = e;
      if (v === m) ones++;
      else block += e;
    }
    sum.add(block);
  }
  s.ones = ones;
  return sum.value();
}

/**
 * Exponentials below the normal range of the output's type are 0, as the kernels give them:
 * exp((x − m)/T) below FLT_MIN·e^-0.01 (float32) or DBL_MIN·e^-0.01 — the kernels' cut-off
 * (assembly/math.ts), the hundredth their margin for rounding.
 */
export const CUT32 = 1.163797986604692e-38, CUT64 = 2.2029340036946747e-308;
/** How far below the maximum, in units of T, an entry's t is taken at most (the kernels' F64_FLOOR): exp(−FLOOR) is 0 in either type. */
export const FLOOR = 800;
/**
 * The element type of the kernel a twin stands in for (the plan's `f32`, set by the JS
 * engine before each call): the kernels flush at their own type's normal range, which the
 * inputs choose (float64 logits with a float32 `grad` run the float64 kernel).
 */
export const stage = { f32: false };
function cutOff(): number {
  return stage.f32 ? CUT32 : CUT64;
}

/**
 * Where a row's exponentials are kept until its gradient is formed: `grad` itself, or, for
 * a float32 grad of a float64 stage, a float64 copy (the kernels stage such a grad in
 * float64: an exponential below FLT_MIN still counts where its coefficient is large).
 */
export function gradScratch(grad: Out | null): Out | null {
  return grad instanceof Float32Array && !stage.f32 ? new Float64Array(grad.length) : grad;
}

/** A call's scratch for `expSum`: one per module, reset by every use (twins are synchronous and do not nest). */
export interface Parts {
  ones: number;
  sum: Sum;
}
export const parts = (): Parts => ({ ones: 0, sum: new Sum() });
const P = parts();
const S1 = new Sum(), S2 = new Sum(), S3 = new Sum();

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
  const p = P;
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const m = maxRow(x, off, cols);
    if (!Number.isFinite(m)) {
      const v = hasNaN(x, off, cols) ? NaN : m;
      res[r] = v;
      putAux(aux, r, v, 0, 0);
      continue;
    }
    const rest = expSum(x, off, cols, m, 1, null, p);
    res[r] = m + logOnesPlus(p.ones, rest);
    putAux(aux, r, m, p.ones, rest);
  }
}

export function softmaxRows(x: Vec, rows: number, cols: number, T: number, out: Out, aux: Float64Array | null): void {
  const p = P;
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const m = maxRow(x, off, cols);
    if (!Number.isFinite(m)) {
      const nan = hasNaN(x, off, cols);
      fill(out, off, cols, m === -Infinity && !nan ? 0 : NaN);
      putAux(aux, r, nan ? NaN : m, 0, 0);
      continue;
    }
    const rest = expSum(x, off, cols, m, T, out, p);
    const s = p.ones + rest;
    const c = 1 / s;
    for (let i = off; i < off + cols; i++) out[i] *= c;
    putAux(aux, r, m, 0, s);
  }
}

export function logSoftmaxRows(x: Vec, rows: number, cols: number, T: number, out: Out, aux: Float64Array | null): void {
  const invT = 1 / T;
  const p = P;
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const m = maxRow(x, off, cols);
    if (!Number.isFinite(m)) {
      const nan = hasNaN(x, off, cols);
      fill(out, off, cols, m === -Infinity && !nan ? -Infinity : NaN);
      putAux(aux, r, nan ? NaN : m, 0, 0);
      continue;
    }
    const rest = expSum(x, off, cols, m, T, null, p);
    const ones = p.ones;
    const ls = logOnesPlus(ones, rest);
    for (let i = off; i < off + cols; i++) out[i] = (x[i] - m) * invT - ls;
    putAux(aux, r, m, ones, rest);
  }
}

/** out = x·a + c, elementwise (a long row's second pass: see stream.ts). */
export function affineRows(x: Vec, rows: number, cols: number, a: number, c: number, out: Out): void {
  for (let i = 0, n = rows * cols; i < n; i++) out[i] = x[i] * a + c;
}

/**
 * H(softmax(x/T)) = log S − (1/S)·Σ e·t per row, t = (x − m)/T, e = exp(t) (terms whose e
 * is below the normal range dropped, as the kernels drop them); 0 for a fully masked row;
 * times gscale (1/ln base; −0 as 0).  grad (or null): −p·(log p + H)/T·gscale.  aux (in
 * nats): m, ones, rest, A.
 */
export function softmaxEntropyRows(x: Vec, rows: number, cols: number, T: number, gscale: number, grad: Out | null,
  res: Float64Array, aux: Float64Array | null): void {
  const invT = 1 / T;
  const tiny = cutOff();
  const a = S1.reset(), p = P;
  const E = gradScratch(grad);
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const m = maxRow(x, off, cols);
    if (!Number.isFinite(m)) {
      const v = m === -Infinity && !hasNaN(x, off, cols) ? 0 : NaN;
      res[r] = v;
      if (grad) fill(grad, off, cols, v);
      if (aux) aux.set([v === 0 ? -Infinity : NaN, 0, 0, 0], 4 * r);
      continue;
    }
    const rest = expSum(x, off, cols, m, T, E, p);
    const ones = p.ones;
    a.reset();
    for (let i = off, end = off + cols; i < end;) {
      let block = 0;
      for (const stop = Math.min(i + 32, end); i < stop; i++) {
        if (x[i] === -Infinity) continue;
        const t = (x[i] - m) * invT;
        const e = expNonPos(t);
        if (e >= tiny) block += e * t; // below the normal range: dropped with its exponential (as expSum drops it)
      }
      a.add(block);
    }
    const A = a.value();
    const s = ones + rest, ls = logOnesPlus(ones, rest);
    const h = ls - A / s;
    res[r] = h * gscale + 0;
    if (aux) aux.set([m, ones, rest, A], 4 * r);
    if (grad && E) {
      const c0 = h - ls, c1 = -gscale / (T * s);
      for (let i = off, end = off + cols; i < end; i++) {
        // t at least −FLOOR: below it E is 0, and (x − m)/T may overflow (1e300 − (−1e300)),
        // which would make the entry 0·−Infinity
        const t = x[i] === -Infinity ? 0 : Math.max((x[i] - m) * invT, -FLOOR);
        grad[i] = E[i] * c1 * (t + c0);
      }
    }
  }
}

/** D for rows where ma or mb is not finite (`nan`: either row holds a NaN). */
function specialKl(ma: number, mb: number, nan: boolean): number {
  if (nan) return NaN;
  if (ma === -Infinity) return 0; // a has no mass
  if (ma === Infinity || mb === Infinity) return NaN;
  return Infinity; // b is fully masked where a has mass
}

/** (a − ma) − (b − mb) of logits lifted to `lift` below their maxima, from the exact differences (TwoSum). */
function liftedDiff(a: number, ma: number, b: number, mb: number, lift: number): number {
  const la = a === -Infinity ? ma - lift : a, lb = b === -Infinity ? mb - lift : b;
  const da = la - ma, db = lb - mb;
  const xa = da - la, xb = db - lb;
  return da - db + (la - (da - xa) - (ma + xa) - (lb - (db - xb) - (mb + xb)));
}

/** |log(SA/SB)| above this many D: the row again, centred (assembly/softmax.ts: KL_CENTRE). */
const KL_CENTRE = 64;

/** The sums of one pass over a row pair (see `klPass`). */
const K = { SA: 0, delta: 0, A: 0, hole: false };

/**
 * One pass over a row pair, centred on `shift`: SA = Σ ea, Δ = Σ (eb·e^shift − ea) (from
 * ea·expm1(shift − u) where the two nearly cancel), A = Σ ea·(u − shift), and whether b is
 * masked where a has mass — into K.  (The SIMD kernels' float32 rows take ea·expm1(−u) for
 * every term, as their ea and eb are float32 exponentials; here both are float64 ones, and
 * eb's own rounding costs D no more than ea's.)
 */
function klPass(a: Vec, b: Vec, off: number, cols: number, ma: number, mb: number, T: number, shift: number): void {
  const invT = 1 / T, lift = 100 * T, es = Math.exp(shift);
  // exponentials below the normal range are 0 (`cutOff`): a flushed entry of P is no hole
  const tiny = cutOff();
  const sa = S1.reset(), delta = S2.reset(), acc = S3.reset();
  let hole = false;
  for (let i = off, end = off + cols; i < end;) {
    let ba = 0, bd = 0, bc = 0;
    for (const stop = Math.min(i + 32, end); i < stop; i++) {
      let ea = expNonPos((a[i] - ma) * invT), eb = expNonPos((b[i] - mb) * invT);
      if (ea < tiny) ea = 0;
      if (eb < tiny) eb = 0;
      if (ea !== 0 && b[i] === -Infinity) hole = true;
      ba += ea;
      const u = liftedDiff(a[i], ma, b[i], mb, lift) * invT - shift;
      if (ea !== 0) bc += ea * u;
      // (a masked b entry is never near: its lift is lost to mb's rounding where |mb| ≫ 100·T)
      bd += ea !== 0 && b[i] !== -Infinity && Math.abs(u) < 0.25 ? ea * Math.expm1(-u) : eb * es - ea;
    }
    sa.add(ba); delta.add(bd); acc.add(bc);
  }
  K.SA = sa.value(); K.delta = delta.value(); K.A = acc.value(); K.hole = hole;
}

/**
 * D(softmax(a/T) ‖ softmax(b/T))·gscale (−0 as 0), D = Σ p·u + log1p(Δ/SA) per row, Δ = Σ (eb − ea) from its own small
 * terms (see assembly/softmax.ts), and again centred on the mean shift where the two parts cancel;
 * gradP, gradQ (or null): ∂D/∂a = p·(u − log(SA/SB) − D)/T, ∂D/∂b = (q − p)/T, times gscale.
 * Float32 rows of two without gradients: `klTwo` where the row is finite, as the kernel.
 */
export function softmaxKlDivergenceRows(a: Vec, b: Vec, rows: number, cols: number, T: number, gscale: number,
  gradP: Out | null, gradQ: Out | null, res: Float64Array): void {
  const invT = 1 / T;
  // float32 rows of two without gradients: each finite row in closed form, as the kernel
  const two = cols === 2 && stage.f32 && !gradP && !gradQ;
  for (let r = 0; r < rows; r++) {
    if (two) {
      const da = a[2 * r + 1] - a[2 * r], db = b[2 * r + 1] - b[2 * r];
      if (Number.isFinite(da * invT) && Number.isFinite(db * invT)) {
        res[r] = klTwo(da, db, invT);
        continue;
      }
    }
    klRow(a, b, r, cols, T, gscale, gradP, gradQ, res);
  }
  // 0 where rounding left D below 0, then in the base's scale (of the base's sign), −0 as 0:
  // as the kernel's `klScaleRowsF64`
  for (let r = 0; r < rows; r++) {
    const d = res[r];
    res[r] = (d < 0 ? 0 : d) * gscale + 0;
  }
}

/** Row r of `softmaxKlDivergenceRows`. */
function klRow(a: Vec, b: Vec, r: number, cols: number, T: number, gscale: number,
  gradP: Out | null, gradQ: Out | null, res: Float64Array): void {
  const invT = 1 / T, lift = 100 * T;
  const off = r * cols;
  const ma = maxRow(a, off, cols), mb = maxRow(b, off, cols);
  if (!Number.isFinite(ma) || !Number.isFinite(mb)) {
    const d = specialKl(ma, mb, hasNaN(a, off, cols) || hasNaN(b, off, cols));
    res[r] = d;
    if (gradP) fill(gradP, off, cols, d === 0 ? 0 : NaN);
    if (gradQ) {
      let s = 0;
      if (d === 0 && Number.isFinite(mb)) for (let i = off; i < off + cols; i++) s += expNonPos((b[i] - mb) * invT);
      for (let i = off; i < off + cols; i++) gradQ[i] = d === 0 && Number.isFinite(mb) ? (expNonPos((b[i] - mb) * invT) / s) * gscale * invT : NaN;
    }
    return;
  }
  klPass(a, b, off, cols, ma, mb, T, 0);
  const SA = K.SA;
  let SB = SA + K.delta;
  let logRatio = -Math.log1p(K.delta / SA); // log(SA/SB)
  let d = K.A / SA - logRatio;
  if (!K.hole && Math.abs(logRatio) > KL_CENTRE * Math.abs(d)) {
    // the parts cancel: again, centred on the mean shift c
    const c = K.A / SA;
    klPass(a, b, off, cols, ma, mb, T, c);
    const l = Math.log1p(K.delta / SA);
    d = K.A / SA + l;
    logRatio = c - l;
    SB = (SA + K.delta) / Math.exp(c);
  }
  // b masked where a has mass: Infinity, unless a NaN makes the row NaN
  if (K.hole) d = hasNaN(a, off, cols) || hasNaN(b, off, cols) ? NaN : Infinity;
  res[r] = d;
  if (gradP || gradQ) {
    const c = logRatio + d, g = gscale * invT;
    for (let i = off; i < off + cols; i++) {
      const ea = expNonPos((a[i] - ma) * invT), p = ea / SA;
      if (gradQ) gradQ[i] = (expNonPos((b[i] - mb) * invT) / SB - p) * g;
      // u = 0 where ea is: a − ma may overflow there (a spread beyond DBL_MAX), and 0·∞ would be NaN
      if (gradP) gradP[i] = p * ((ea === 0 ? 0 : liftedDiff(a[i], ma, b[i], mb, lift) * invT) - c) * g;
    }
    if (gradP && !stage.f32 && !K.hole && SA < 2) dominantGradP(a, gradP, off, cols, ma);
  }
}

/**
 * ∂D/∂a at a float64 row's dominant entry k (p_k > ½: the one entry at the maximum, SA < 2),
 * as −Σ of the others.  p_k·(u_k − c) cancels there — u_k ≈ c = Σ p·u, so its rounding
 * (ε·|u_k|) is what is left: a teacher at 12 against a student at −20 gave 1e-11 relative
 * — while the others' terms do not cancel and sum to its negative exactly (Σ ∂D/∂a = 0).
 */
function dominantGradP(a: Vec, gradP: Out, off: number, cols: number, ma: number): void {
  let k = off, s = 0;
  for (let i = off; i < off + cols; i++) {
    if (a[i] === ma) k = i;
    else s += gradP[i];
  }
  gradP[k] = -s;
}

/** e^δ − 1 − δ = δ²·H(δ): H's Taylor coefficients 1/2!, …, 1/14! (|δ| < ½). */
const KL_H = Array.from({ length: 13 }, (_, k) => 1 / factorial(k + 2));
/** log1p(t) − t = −t·w + 2w³·G(w²), w = t/(2 + t): G's coefficients 1/3, 1/5, …, 1/17. */
const KL_G = Array.from({ length: 8 }, (_, k) => 1 / (2 * k + 3));
function factorial(n: number): number {
  return n < 2 ? 1 : n * factorial(n - 1);
}
/** exp(u), u ≤ 0, 0 below ln DBL_MIN, where it stops being normal (as the kernels' `expNonPos`). */
function expCut(u: number): number {
  return u < -708.3964185322641 ? 0 : expNonPos(u);
}

/**
 * D of a row of two entries from da = a₁ − a₀ and db = b₁ − b₀ (exact for float32 logits):
 * softplus(β) − softplus(α) − σ(α)·δ with the classes swapped where da > 0, and its near
 * form where |δ| < ½ — see `klTwoF32` in assembly/softmax.ts.
 */
function klTwo(da: number, db: number, invT: number): number {
  const flip = da > 0;
  const fa = flip ? -da : da, fb = flip ? -db : db;
  const alpha = fa * invT, beta = fb * invT, delta = (fb - fa) * invT;
  const e = expCut(alpha), s = e / (1 + e);
  if (!(Math.abs(delta) < 0.5)) return Math.max(beta, 0) + Math.log1p(expCut(-Math.abs(beta))) - Math.log1p(e) - s * delta;
  let H = 0, G = 0;
  for (let k = KL_H.length - 1; k >= 0; k--) H = H * delta + KL_H[k];
  const h = delta * delta * H;
  const t = s * (delta + h), w = t / (2 + t), z = w * w;
  for (let k = KL_G.length - 1; k >= 0; k--) G = G * z + KL_G[k];
  return s * h + ((w + w) * z * G - t * w);
}

/** out[r, j] = x[r, j]·a[r] − c[j] (c null: 0). */
export function scaleRows(x: Vec, rows: number, cols: number, a: Float64Array, c: Vec | null, out: Out): void {
  for (let r = 0; r < rows; r++) {
    const ar = a[r];
    for (let j = 0, i = r * cols; j < cols; j++, i++) out[i] = x[i] * ar - (c ? c[j] : 0);
  }
}

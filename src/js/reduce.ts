// JS twins of assembly/reduce.ts: the exact scalar path of the kernels (their scalar
// build), in float64 with Math.log: float32 input is read as the numbers it holds.  Each
// row is scanned for its largest entry (the reference m₀ of entropy and cross-entropy),
// then summed term by term into compensated (Neumaier) pairs — W's low part is kept,
// so that −W·log m₀ is formed as −L − ((W − 1)·L) with W − 1 exact, as the kernels do.
// Every term is kept (subnormal entries included: entries are scaled by 2^600 where a
// row's largest is below 2^-400, so their terms are normal numbers).
//
// The finishing formulas (`entropyValue` …) are also what src/stream.ts applies to the
// merged parts of a row longer than the wasm engine's window.

type Vec = ArrayLike<number>;

const SQRT_HALF = Math.SQRT1_2;
const SQRT_TWO = Math.SQRT2;
export const DBL_MIN = 2.2250738585072014e-308;
const TINY = 2 ** -400;
const SCALE = 2 ** 600;
const UNSCALE = 2 ** -600;
/** Above this a row is scaled by UNSCALE (assembly/reduce.ts, TINY). */
const HUGE = 2 ** 400;

// ---------------------------------------------------------------------------------
// Compensated pairs (Neumaier), kept in module state: the twins are synchronous
// ---------------------------------------------------------------------------------

/** A compensated sum whose low part can be read (src/js/sum.ts's Sum keeps it private). */
class Pair {
  hi = 0;
  lo = 0;

  reset(): this {
    this.hi = 0;
    this.lo = 0;
    return this;
  }

  add(v: number): void {
    const s = this.hi, t = s + v;
    this.lo += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    this.hi = t;
  }

  /** hi + lo (an infinite or NaN sum is itself: its compensation is NaN). */
  value(): number {
    return Number.isFinite(this.hi) ? this.hi + this.lo : this.hi;
  }

  /** The low part that `value()` rounded off. */
  rest(): number {
    const s = this.value();
    return Number.isFinite(s) ? this.lo - (s - this.hi) : 0;
  }
}

const W = new Pair(), Q = new Pair(), A = new Pair();

// ---------------------------------------------------------------------------------
// The exact logs
// ---------------------------------------------------------------------------------

/**
 * log((a + lo)/b) for a, b > 0 and lo a's low part (|lo| ≤ ½ ulp(a)): log1p of the exact
 * difference near 1 (a − b is exact there: Sterbenz), apart when a/b is not a normal number.
 */
export function logRatio(a: number, b: number, lo = 0): number {
  const r = a / b;
  if (r >= SQRT_HALF && r < SQRT_TWO) return Math.log1p((a - b + lo) / b);
  if (r >= DBL_MIN && r < Infinity) return Math.log(r);
  return Math.log(a) - Math.log(b);
}

/** log(2a/(a + b)) for a > 0, b ≥ 0: log1p((a − b)/(a + b)) near 1. */
export function logMix(a: number, b: number): number {
  const s = a + b;
  const r = (a + a) / s;
  if (r >= SQRT_HALF && r < SQRT_TWO) return Math.log1p((a - b) / s);
  if (r >= DBL_MIN) return Math.log(r);
  return Math.log(a + a) - Math.log(s);
}

// ---------------------------------------------------------------------------------
// Finishing a row from its parts (the kernels' `…Value` functions)
// ---------------------------------------------------------------------------------

const LN2_HI = 6.9314718036912381649e-1; // 32 bits: k·LN2_HI is exact
const LN2_LO = 1.9082149292705877e-10;

/** Set by `logSplit`: the low part of log m. */
let logLo = 0;
const BITS = new Float64Array(1);
const WORDS = new Uint32Array(BITS.buffer);
/** The index of a float64's high word in WORDS (1 on little-endian platforms). */
const HIGH = ((BITS[0] = 2), WORDS[1] === 0x40000000 ? 1 : 0);

/**
 * log m as a double-double (assembly/reduce.ts: `logSplit`), returned high part and
 * `logLo`: m = 2ᵏ·f', f' ∈ [√½, √2), log m = k·LN2_HI (exact) + (k·LN2_LO + log1p(f' − 1)),
 * so that a result that is −log m to first order (a uniform row's entropy) is rounded once.
 */
function logSplit(m: number): number {
  if (!(m >= DBL_MIN && m < Infinity)) {
    logLo = 0;
    return Math.log(m);
  }
  BITS[0] = m;
  const high = WORDS[HIGH];
  let k = ((high >>> 20) & 0x7ff) - 1023;
  // m's significand in [1, 2): its exponent field set to 1023 (`m * 2 ** -k` calls pow)
  WORDS[HIGH] = (high & 0x000fffff) | 0x3ff00000;
  let f = BITS[0];
  if (f >= SQRT_TWO) {
    f *= 0.5;
    k++;
  }
  logLo = k * LN2_LO + Math.log1p(f - 1);
  return k * LN2_HI;
}

/** −W·log m − A with W = whi + wlo: near W = 1 as −Lhi − (Llo + (W − 1)·L + A), W − 1 exact. */
function negWLogMinus(whi: number, wlo: number, m: number, a: number): number {
  const hi = logSplit(m);
  return negWL(whi, wlo, hi, logLo, a);
}

/** `negWLogMinus` with log m given as hi + lo. */
function negWL(whi: number, wlo: number, hi: number, lo: number, a: number): number {
  const L = hi + lo;
  const d = whi - 1 + wlo;
  if (Math.abs(d) <= 0.5) return -hi - (lo + (d * L + a));
  return -((whi + wlo) * L) - a;
}

/**
 * H from W = whi + wlo, p₀, A = Σ p·(log p − log p₀) summed at the scale sc (a power of
 * two: see assembly/reduce.ts, TINY), the smallest entry.
 */
export function entropyValue(whi: number, wlo: number, p0: number, a: number, min: number, normalize: boolean, sc = 1): number {
  if (!(min >= 0) || !Number.isFinite(whi)) return NaN;
  if (p0 === 0) return 0;
  if (normalize) {
    // log(W/p₀) with W's low part: near 1 (a dominant entry) W/p₀ rounded would carry
    // 2⁻⁵³/log(W/p₀) relative error
    return logRatio(whi, p0, wlo) - a / ((whi + wlo) * sc);
  }
  return negWLogMinus(whi, wlo, p0, a / sc);
}

/** H(P, Q) from W_p = whi + wlo, W_q = wq + wqlo, q₀, A = Σ p·(log q − log q₀) at the scale sc (−Infinity: some p > 0 has q = 0). */
export function crossEntropyValue(whi: number, wlo: number, wq: number, wqlo: number, q0: number, a: number, min: number, normalize: boolean, sc = 1): number {
  // (a negative p is a term like any other: −p·log q; a negative q makes its log NaN)
  if (!Number.isFinite(whi) || !Number.isFinite(wq)) return NaN;
  if (a === -Infinity) return Infinity;
  if (whi === 0 && a === 0) return 0; // no mass (an empty row): no terms
  if (normalize) return logRatio(wq, q0, wqlo) - a / ((whi + wlo) * sc); // (with W_q's low part, as `entropyValue`)
  return negWLogMinus(whi, wlo, q0, a / sc);
}

/**
 * D(P‖Q) from W_p = whi + wlo, W_q = qhi + qlo and A = Σ p·(log(p/q) − kc·ln 2)
 * (+Infinity: some p > 0 has q = 0): A/W_p − (log(W_p/W_q) − kc·ln 2) normalised (see
 * assembly/reduce.ts, "KL of normalised rows"), A otherwise (kc = 0).  The long-row merge
 * passes kc = 0, A = Σ p·log(p/q) and the totals without their low parts.
 */
export function klValue(whi: number, wlo: number, qhi: number, qlo: number, a: number, kc: number, min: number, normalize: boolean, sc = 1): number {
  if (!(min >= 0) || !Number.isFinite(whi) || !Number.isFinite(qhi)) return NaN;
  if (a === Infinity) return Infinity;
  const wp = whi + wlo;
  if (!normalize || wp === 0) return a / sc; // (no mass: no terms)
  if (!(wp > 0 && qhi + qlo > 0)) return NaN;
  return a / (wp * sc) - klShift(whi, wlo, qhi, qlo, kc);
}

const LN2 = Math.LN2;

/** x·2^k for 0 ≤ k ≤ 2046, exact unless it overflows (in two steps past 2^1023). */
function scale2(x: number, k: number): number {
  return k > 1023 ? x * 2 ** 1023 * pow2(k - 1023) : x * pow2(k);
}

/** log(a/b) − kc·ln 2 where the smaller of a, b scaled up by 2^|kc| overflows: as the kernel's `logRatioHalfway`. */
function logRatioHalfway(a: number, b: number, kc: number): number {
  const k = Math.abs(kc), u = pow2((k + 1) >> 1), v = pow2(k - ((k + 1) >> 1));
  const x = kc > 0 ? a / u : a * v, y = kc > 0 ? b * v : b / u;
  return x >= DBL_MIN && y >= DBL_MIN && x < Infinity && y < Infinity ? logRatio(x, y) : logRatio(a, b) - kc * LN2;
}

/** 2^k for an integer k in [0, 1023], exact, from its bits (`2 ** k` calls pow). */
function pow2(k: number): number {
  WORDS[HIGH] = (k + 1023) << 20;
  WORDS[1 - HIGH] = 0;
  return BITS[0];
}

/** The integer nearest log₂(wp/wq) (the kernel's `kcOf`: a subnormal one scaled by 2^600 first), in [−2046, 2046]; 0 unless both are positive and finite. */
function kcOf(wp: number, wq: number): number {
  if (!(wp > 0 && wq > 0 && wp < Infinity && wq < Infinity)) return 0;
  let e = 0;
  if (wp < DBL_MIN) {
    wp *= SCALE;
    e = -600;
  }
  if (wq < DBL_MIN) {
    wq *= SCALE;
    e += 600;
  }
  BITS[0] = wp;
  const hp = WORDS[HIGH];
  BITS[0] = wq;
  const k = ((hp - WORDS[HIGH] + 0x80000) >> 20) + e;
  return k > 2046 ? 2046 : k < -2046 ? -2046 : k;
}

/**
 * log(W_p/W_q) − kc·ln 2 from the pairs: the smaller side scaled up by 2^|kc| (exact), near
 * 1 from the pairs' difference; where that overflows, the larger side down by 2^⌈|kc|/2⌉
 * and the smaller up by the rest (the kernel's `klShift`).
 */
function klShift(whi: number, wlo: number, qhi: number, qlo: number, kc: number): number {
  let ph = whi, pl = wlo, qh = qhi, ql = qlo;
  if (kc < 0) {
    ph = scale2(ph, -kc);
    pl = scale2(pl, -kc);
  } else if (kc > 0) {
    qh = scale2(qh, kc);
    ql = scale2(ql, kc);
  }
  if (kc !== 0 && !(ph + pl < Infinity && qh + ql < Infinity)) {
    const k = Math.abs(kc), u = pow2((k + 1) >> 1), v = pow2(k - ((k + 1) >> 1));
    ph = kc > 0 ? whi / u : whi * v;
    pl = kc > 0 ? wlo / u : wlo * v;
    qh = kc > 0 ? qhi * v : qhi / u;
    ql = kc > 0 ? qlo * v : qlo / u;
  }
  const a = ph + pl, b = qh + ql;
  if (!(a < Infinity && b < Infinity)) return logRatio(whi + wlo, qhi + qlo) - kc * LN2;
  const r = a / b;
  if (r >= SQRT_HALF && r < SQRT_TWO) return Math.log1p((ph - qh + (pl - ql)) / b);
  return logRatio(a, b);
}

/** JS(P, Q) from W_p, W_q and A = Σ a·log(2a/(a + b)) + b·log(2b/(a + b)). */
export function jsValue(wp: number, wq: number, a: number, min: number): number {
  if (!(min >= 0) || !Number.isFinite(wp) || !Number.isFinite(wq)) return NaN;
  return a * 0.5;
}

// ---------------------------------------------------------------------------------
// The kernels
// ---------------------------------------------------------------------------------

let scanMax = 0, scanMin = 0;

function put4(aux: Float64Array, r: number, a: number, b: number, c: number, d: number): void {
  const k = 4 * r;
  aux[k] = a;
  aux[k + 1] = b;
  aux[k + 2] = c;
  aux[k + 3] = d;
}

/** max(0, x) and min x over x[off, off + n) (NaN ignored). */
function scan(x: Vec, off: number, n: number): void {
  let m = 0, mn = Infinity;
  for (let i = off, end = off + n; i < end; i++) {
    const v = x[i];
    if (v > m) m = v;
    if (v < mn) mn = v;
  }
  scanMax = m;
  scanMin = mn;
}

/** res[r] = Σ x[r, :] (compensated); aux (2 a row): the sum, the smallest entry. */
export function sumRows(x: Vec, rows: number, cols: number, res: Float64Array, aux: Float64Array | null): void {
  for (let r = 0; r < rows; r++) {
    W.reset();
    let mn = Infinity;
    for (let i = r * cols, end = i + cols; i < end; i++) {
      const v = x[i];
      W.add(v);
      if (v < mn) mn = v;
    }
    const s = W.value();
    res[r] = s;
    if (aux) {
      aux[2 * r] = s;
      aux[2 * r + 1] = mn;
    }
  }
}

/** res[r] = H(p[r, :]) in nats (normalize ≠ 0: of p/Σp); aux (5 a row): W hi, lo, p₀, A, the smallest entry. */
export function entropyRows(p: Vec, rows: number, cols: number, normalize: number, res: Float64Array, aux: Float64Array | null): void {
  const norm = normalize !== 0;
  for (let r = 0; r < rows; r++) {
    const off = r * cols, end = off + cols;
    let p0 = 0, mn = Infinity;
    for (let i = off; i < end; i++) {
      const v = p[i];
      if (v > p0) p0 = v;
      if (v < mn) mn = v;
    }
    const ok = mn >= 0 && p0 > 0 && p0 < Infinity;
    const sc = p0 < TINY ? SCALE : p0 > HUGE ? UNSCALE : 1;
    const lhi = ok ? logSplit(p0) : 0, llo = ok ? logLo : 0;
    // the terms' reference is Math.log(p₀), as the kernel's: an entry equal to p₀ adds exactly 0
    const L = ok ? Math.log(p0) : 0;
    // W and A as Neumaier pairs, inline
    let whi = 0, wc = 0, ahi = 0, ac = 0;
    for (let i = off; i < end; i++) {
      const v = p[i];
      let t = whi + v;
      wc += Math.abs(whi) >= Math.abs(v) ? whi - t + v : v - t + whi;
      whi = t;
      if (ok && v > 0) {
        const u = v * sc * (Math.log(v) - L);
        t = ahi + u;
        ac += Math.abs(ahi) >= Math.abs(u) ? ahi - t + u : u - t + ahi;
        ahi = t;
      }
    }
    const w = Number.isFinite(whi) ? whi + wc : whi;
    const wlo = Number.isFinite(w) ? wc - (w - whi) : 0;
    const as = Number.isFinite(ahi) ? ahi + ac : ahi;
    const a = as / sc;
    res[r] = !ok || norm || p0 < DBL_MIN ? entropyValue(w, wlo, p0, as, mn, norm, sc) : negWL(w, wlo, lhi, llo, a);
    if (aux) {
      const k = 5 * r;
      aux[k] = w;
      aux[k + 1] = wlo;
      aux[k + 2] = p0;
      aux[k + 3] = a;
      aux[k + 4] = mn;
    }
  }
}

/**
 * res[r] = H(p[r, :], q[r, :]) in nats; aux (6 a row): W_p hi, lo, W_q, q₀, A (−Infinity
 * where some p > 0 has q = 0), the smallest entry of p and q.
 */
export function crossEntropyRows(p: Vec, q: Vec, rows: number, cols: number, normalize: number, res: Float64Array, aux: Float64Array | null): void {
  const norm = normalize !== 0;
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    scan(p, off, cols);
    const sc = scanMax < TINY ? SCALE : scanMax > HUGE ? UNSCALE : 1;
    let mn = scanMin;
    scan(q, off, cols);
    const q0 = scanMax;
    if (scanMin < mn) mn = scanMin;
    const L = q0 > 0 && q0 < Infinity ? Math.log(q0) : 0;
    W.reset();
    Q.reset();
    A.reset();
    let inf = false;
    for (let i = off, end = off + cols; i < end; i++) {
      const vp = p[i], vq = q[i];
      W.add(vp);
      Q.add(vq);
      // every p ≠ 0 (with validate: false a negative p gives the formula's value, as a loop would)
      if (vp !== 0) {
        if (vq === 0 && vp > 0) inf = true;
        else A.add(vp * sc * (Math.log(vq) - L));
      }
    }
    const whi = W.value(), wlo = W.rest(), wq = Q.value();
    const as = inf ? -Infinity : A.value();
    const a = as / sc;
    res[r] = crossEntropyValue(whi, wlo, wq, Q.rest(), q0, as, mn, norm, sc);
    if (aux) {
      const k = 6 * r;
      aux[k] = whi;
      aux[k + 1] = wlo;
      aux[k + 2] = wq;
      aux[k + 3] = q0;
      aux[k + 4] = a;
      aux[k + 5] = mn;
    }
  }
}

/**
 * res[r] = D(p[r, :] ‖ q[r, :]) in nats; aux (4 a row): W_p, W_q, A = Σ p·log(p/q)
 * (+Infinity where some p > 0 has q = 0), the smallest entry.  A normalised row's terms
 * are log(p/q) − kc·ln 2, kc from its totals (a pass before the terms): the smaller of p,
 * q scaled up by 2^|kc| (exact), so that where P ∝ Q nearly they are small.
 */
export function klDivergenceRows(p: Vec, q: Vec, rows: number, cols: number, normalize: number, res: Float64Array, aux: Float64Array | null): void {
  const norm = normalize !== 0;
  for (let r = 0; r < rows; r++) {
    const off = r * cols, end = off + cols;
    let pmax = 0, mn = Infinity;
    W.reset();
    Q.reset();
    A.reset();
    for (let i = off; i < end; i++) {
      const vp = p[i], vq = q[i];
      if (vp > pmax) pmax = vp;
      if (vp < mn) mn = vp;
      if (vq < mn) mn = vq;
      W.add(vp);
      Q.add(vq);
    }
    const whi = W.value(), wlo = W.rest(), qhi = Q.value(), qlo = Q.rest();
    const kc = norm ? kcOf(whi, qhi) : 0;
    const sc = pmax < TINY ? SCALE : pmax > HUGE ? UNSCALE : 1;
    let inf = false;
    for (let i = off; i < end; i++) {
      const vp = p[i], vq = q[i];
      if (vp > 0) {
        if (vq > 0) {
          if (kc === 0) A.add(vp * sc * logRatio(vp, vq));
          else {
            const x = kc < 0 ? scale2(vp, -kc) : vp, y = kc > 0 ? scale2(vq, kc) : vq;
            A.add(vp * sc * (x < Infinity && y < Infinity ? logRatio(x, y) : logRatioHalfway(vp, vq, kc)));
          }
        } else if (vq === 0) inf = true;
      }
    }
    const as = inf ? Infinity : A.value();
    const a = as / sc;
    res[r] = klValue(whi, wlo, qhi, qlo, as, kc, mn, norm, sc);
    // (aux's A: relative to kc·ln 2, kc = kcOf(aux's W_p, W_q), as the kernels': see mergeDivergence)
    if (aux) put4(aux, r, whi + wlo, qhi, a, mn);
  }
}

/**
 * res[r] = JS(p[r, :], q[r, :]) in nats, of p/W_p and q/W_q when `rowIn` (2 a row: W_p,
 * W_q) is given; aux (4 a row): Σp, Σq, A, the smallest entry.
 */
export function jsDivergenceRows(p: Vec, q: Vec, rows: number, cols: number, rowIn: Float64Array | null, res: Float64Array, aux: Float64Array | null): void {
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    const tp = rowIn ? rowIn[2 * r] : 1, tq = rowIn ? rowIn[2 * r + 1] : 1;
    scan(p, off, cols);
    let big = scanMax / tp, mn = scanMin;
    scan(q, off, cols);
    if (scanMin < mn) mn = scanMin;
    if (scanMax / tq > big) big = scanMax / tq;
    const sc = big < TINY ? SCALE : 1;
    W.reset();
    Q.reset();
    A.reset();
    for (let i = off, end = off + cols; i < end; i++) {
      const vp = p[i], vq = q[i];
      W.add(vp);
      Q.add(vq);
      if (vp > 0 || vq > 0) {
        const a = tp === 1 ? vp : vp / tp, b = tq === 1 ? vq : vq / tq;
        let t = 0;
        if (a > 0) t = a * sc * logMix(a, b);
        if (b > 0) t += b * sc * logMix(b, a);
        A.add(t);
      }
    }
    const wp = W.value(), wq = Q.value();
    const a = A.value() * (sc === 1 ? 1 : UNSCALE);
    res[r] = jsValue(wp, wq, a, mn);
    if (aux) put4(aux, r, wp, wq, a, mn);
  }
}

// ---------------------------------------------------------------------------------
// Long rows: the parts of a row's segments (each segment's aux) merged as the kernels
// accumulate them, then finished (src/stream.ts).  `out` receives the merged parts.
// ---------------------------------------------------------------------------------

/** Entropy: p₀ the largest, W compensated, A = Σₛ Aₛ + Wₛ·(log p₀ₛ − log p₀) (every part ≤ 0). */
export function mergeEntropy(aux: Float64Array[], normalize: boolean, out: Float64Array): number {
  let p0 = 0, min = Infinity;
  for (const a of aux) {
    if (a[2] > p0) p0 = a[2];
    if (a[4] < min) min = a[4];
  }
  W.reset();
  A.reset();
  const L = p0 > 0 && p0 < Infinity ? Math.log(p0) : 0;
  for (const a of aux) {
    W.add(a[0]);
    W.add(a[1]);
    A.add(a[3]);
    const w = a[0] + a[1];
    if (w !== 0 && a[2] > 0 && a[2] !== p0) A.add(w * (Math.log(a[2]) - L));
  }
  const whi = W.value(), wlo = W.rest(), a = A.value();
  out[0] = whi;
  out[1] = wlo;
  out[2] = p0;
  out[3] = a;
  out[4] = min;
  return entropyValue(whi, wlo, p0, a, min, normalize);
}

/** Cross-entropy: as entropy with q₀; a segment's A of −Infinity (p > 0 over q = 0) makes the row's. */
export function mergeCrossEntropy(aux: Float64Array[], normalize: boolean, out: Float64Array): number {
  let q0 = 0, min = Infinity, inf = false;
  for (const a of aux) {
    if (a[3] > q0) q0 = a[3];
    if (a[5] < min) min = a[5];
    if (a[4] === -Infinity) inf = true;
  }
  W.reset();
  Q.reset();
  A.reset();
  const L = q0 > 0 && q0 < Infinity ? Math.log(q0) : 0;
  for (const a of aux) {
    W.add(a[0]);
    W.add(a[1]);
    Q.add(a[2]);
    if (inf) continue;
    A.add(a[4]);
    const w = a[0] + a[1];
    if (w !== 0 && a[3] > 0 && a[3] !== q0) A.add(w * (Math.log(a[3]) - L));
  }
  const whi = W.value(), wlo = W.rest(), wq = Q.value(), a = inf ? -Infinity : A.value();
  out[0] = whi;
  out[1] = wlo;
  out[2] = wq;
  out[3] = q0;
  out[4] = a;
  out[5] = min;
  return crossEntropyValue(whi, wlo, wq, Q.rest(), q0, a, min, normalize);
}

/**
 * KL (kl) or Jensen–Shannon: W_p, W_q and A add up; the smallest entry is the smallest.
 * A normalised KL segment's A is relative to ks·ln 2, ks = kcOf of its totals (the
 * kernels' aux): each is moved to the row's kc, which adds nothing where ks is the row's
 * (a row of P ∝ Q nearly), and the row is finished as the kernels finish theirs.
 */
export function mergeDivergence(aux: Float64Array[], kl: boolean, normalize: boolean, out: Float64Array): number {
  let min = Infinity;
  W.reset();
  Q.reset();
  A.reset();
  for (const a of aux) {
    W.add(a[0]);
    Q.add(a[1]);
    if (a[3] < min) min = a[3];
  }
  const wp = W.value(), wq = Q.value();
  const kc = kl && normalize ? kcOf(wp, wq) : 0;
  for (const a of aux) {
    A.add(a[2]);
    if (kl && normalize) {
      const ks = kcOf(a[0], a[1]);
      if (ks !== kc && a[0] !== 0) A.add((ks - kc) * LN2 * a[0]);
    }
  }
  const a = A.value();
  out[0] = wp;
  out[1] = wq;
  out[2] = a;
  out[3] = min;
  return kl ? klValue(wp, W.rest(), wq, Q.rest(), a, kc, min, normalize) : jsValue(wp, wq, a, min);
}

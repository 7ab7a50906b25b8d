// The oracles: what the SPEC/README say a call must do, from its materialised arguments
// (expectation: the errors it may throw, or float64 references and a checker of its
// result), the loose comparisons, and runCase, which makes one call and judges it (its
// error or result, inputs left unmodified, known bugs, the canaries after it).

import { S, persistent, heapOf, current, fsum, fmt, isDetached, snapshot } from './common.js';
import { materialize } from './generators.js';
import { runCanaries, sameBits } from './canaries.js';
import { knownBug } from './known.js';

// ---------------------------------------------------------------------------------
// The oracle: what the SPEC/README say a call must do, from the materialised values
// ---------------------------------------------------------------------------------

/** As the README's vector rules: {ok, data (snapshot), dtype, view} or {type: reason}. */
function inspectVector(x) {
  if (x instanceof S.WasmArray) {
    if (!x.live) return { type: 'freed WasmArray' };
    const v = x.array;
    return { ok: true, data: Array.from(v), dtype: v instanceof Float32Array ? 'f32' : 'f64', view: v, length: v.length };
  }
  if (ArrayBuffer.isView(x)) {
    if (x instanceof DataView || x instanceof BigInt64Array || x instanceof BigUint64Array) return { type: 'not numbers' };
    if (x.length === 0 && isDetached(x)) return { type: 'detached' };
    return { ok: true, data: Array.from(x), dtype: x instanceof Float32Array ? 'f32' : 'f64', view: x, length: x.length };
  }
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) if (typeof x[i] !== 'number') return { type: `entry ${i} not a number` };
    return { ok: true, data: x.slice(), dtype: 'f64', view: null, length: x.length };
  }
  return { type: 'not an array' };
}

/** An expectation: `errors` (classes the call may throw; empty: it must return), `maybe` (borderline). */
class Expect {
  constructor() { this.errors = new Set(); this.maybe = new Set(); this.check = null; this.shapeOnly = false; }
  error(cls) { this.errors.add(cls); return this; }
}

/** The option names each function knows (src/*.ts): any other (an array's indices too) is a TypeError. */
// (the reductions' `out` is known but never generated: the cases give `out` to the maps only)
const PROB_OPTIONS = ['base', 'normalize', 'validate', 'cols', 'out'];
const KNOWN_OPTIONS = {
  information: ['base'],
  entropy: PROB_OPTIONS, crossEntropy: PROB_OPTIONS, klDivergence: PROB_OPTIONS, jsDivergence: PROB_OPTIONS,
  logSumExp: ['cols', 'weights', 'out'],
  softmax: ['cols', 'temperature', 'out'], logSoftmax: ['cols', 'temperature', 'out'],
  softmaxEntropy: ['cols', 'base', 'temperature', 'grad', 'out'],
  softmaxKlDivergence: ['cols', 'base', 'temperature', 'gradP', 'gradQ', 'out'],
  softmaxCrossEntropy: ['cols', 'reduction', 'labelSmoothing', 'ignoreIndex', 'weights', 'grad', 'base'],
  mutualInformation: ['cols', 'base', 'normalize', 'validate'], conditionalEntropy: ['cols', 'base', 'normalize', 'validate'],
  byteEntropy: ['base'], signedLogSumExp: ['cols', 'weights'],
  sigmoidCrossEntropy: ['cols', 'weights', 'posWeight', 'reduction', 'labelSmoothing', 'base', 'grad'],
  sigmoidFocalLoss: ['cols', 'alpha', 'gamma', 'reduction', 'base', 'grad'],
};

function optionChecks(fn, options, e) {
  if (options !== undefined && options !== null && typeof options !== 'object') { e.error('TypeError'); return null; }
  const o = options ?? {};
  for (const key in o) if (!KNOWN_OPTIONS[fn].includes(key)) { e.error('TypeError'); return null; }
  return o;
}

function checkCols(cols, n, e) {
  if (cols === undefined) return { rows: 1, cols: n, matrix: false };
  if (typeof cols !== 'number' || !Number.isInteger(cols)) { e.error('TypeError'); return null; }
  if (cols < 1) { e.error('RangeError'); return null; }
  if (n % cols !== 0) { e.error('RangeError'); return null; }
  return { rows: n / cols, cols: n === 0 ? 0 : cols, matrix: true };
}

function checkBase(base, e) {
  if (base === undefined) return 1;
  if (typeof base !== 'number') { e.error('TypeError'); return null; }
  if (!Number.isFinite(base) || base <= 0 || base === 1) { e.error('RangeError'); return null; }
  return 1 / Math.log(base);
}

/** Temperatures: a number in [1e-30, 1e30] (src/args.ts since fed0267; was: finite and > 0). */
function checkTemperature(t, e) {
  if (t === undefined) return 1;
  if (typeof t !== 'number') { e.error('TypeError'); return null; }
  if (!(t >= 1e-30 && t <= 1e30)) { e.error('RangeError'); return null; }
  return t;
}

function checkFlag(v, fallback, e) {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') { e.error('TypeError'); return null; }
  return v;
}

/** `out`/`grad`: type, length, detached, overlap with inputs (in place allowed for `inPlaceOk`). */
function checkOut(o, n, inputs, inPlaceOk, e) {
  const view = o instanceof S.WasmArray ? (o.live ? o.array : null) : o;
  if (!(view instanceof Float32Array || view instanceof Float64Array)) { e.error('TypeError'); return null; }
  if (view.length !== n) { e.error('TypeError'); return null; }
  if (n > 0 && isDetached(view)) { e.error('TypeError'); return null; }
  // a view into a module's memory outside every live WasmArray (freed, raw) is refused
  if (n > 0 && Object.values(persistent).some((p) => p.heap && view.buffer === p.heap.memory.buffer && p.heap.locate(view) < 0)) { e.error('TypeError'); return null; }
  for (const arg of inputs) {
    const d = arg.view;
    if (!d || d.buffer !== view.buffer || n === 0) continue;
    const a0 = d.byteOffset, a1 = a0 + d.byteLength, b0 = view.byteOffset, b1 = b0 + view.byteLength;
    if (a1 <= b0 || b1 <= a0) continue;
    const same = a0 === b0 && a1 === b1 && d.constructor === view.constructor;
    // an input that is a stray view of the module's memory is read once, when the call is
    // parsed (src/args.ts): an output over it may be refused or may not
    if (Object.values(persistent).some((p) => p.heap && d.buffer === p.heap.memory.buffer && p.heap.locate(d) < 0)) { e.maybe.add('RangeError'); continue; }
    if (!(same && inPlaceOk.includes(arg))) { e.error('RangeError'); return null; }
  }
  return view;
}

const SUM_TOL = { f32: 1e-5, f64: 1e-6 };

/** Probability checks (with `validate`): entries, then row sums (borderline sums: either). */
function checkProbabilities(arg, s, normalize, e) {
  for (const v of arg.data) if (!(v >= 0) || !Number.isFinite(v)) { e.error('RangeError'); return false; }
  if (s.cols === 0) return true;
  const tol = SUM_TOL[arg.dtype];
  for (let r = 0; r < s.rows; r++) {
    const sum = fsum(arg.data.slice(r * s.cols, (r + 1) * s.cols));
    if (normalize) {
      if (!(sum > 0) || !Number.isFinite(sum)) { e.error('RangeError'); return false; }
      if (sum > 1e307) e.maybe.add('RangeError'); // the library's own summation may overflow
    } else {
      const off = Math.abs(sum - 1);
      if (off > 2 * tol) { e.error('RangeError'); return false; }
      if (off > 0.5 * tol) e.maybe.add('RangeError');
    }
  }
  return true;
}

/** log(a/b) for a, b ≥ 0, accurate when a ≈ b, exact for subnormal/overflowing ratios. */
function logRatio(a, b) {
  if (b === 0) return a === 0 ? NaN : Infinity;
  const r = a / b;
  if (r > 0.5 && r < 2) return Math.log1p((a - b) / b);
  // a ratio that overflows, or underflows (to a subnormal or to 0), from the two logs
  if ((r === Infinity || r < 2.2250738585072014e-308) && a > 0 && b > 0) return Math.log(a) - Math.log(b);
  return Math.log(r);
}

/** log(2a/(a + b)), from the exact difference a − b when a ≈ b. */
function logMix(a, b) {
  const s = a + b, r = (2 * a) / s;
  return r > 0.5 && r < 2 ? Math.log1p((a - b) / s) : logRatio(2 * a, s);
}

/** Whether v is a normal float64 number (a product that neither overflowed nor underflowed). */
const normal = (v) => Math.abs(v) >= 2.2250738585072014e-308 && Number.isFinite(v);

/** Reference reductions over probability rows (float64; `normalize`: divide each row by its sum). */
function probabilityReference(fn, P, Q, s, normalize) {
  const values = [], mags = [], slack = [];
  for (let r = 0; r < s.rows; r++) {
    const p = P.data.slice(r * s.cols, (r + 1) * s.cols);
    const q = Q ? Q.data.slice(r * s.cols, (r + 1) * s.cols) : null;
    const Sp = normalize ? fsum(p) : 1, Sq = normalize && q ? fsum(q) : 1;
    const terms = [];
    for (let i = 0; i < p.length; i++) {
      const a = p[i], b = q ? q[i] : 0;
      if (fn === 'entropy') { if (a !== 0) terms.push(-(a / Sp) * logRatio(a, Sp)); }
      // p > 0 = q is Infinity, however small p is next to its total (p/Σp may underflow)
      else if (fn === 'crossEntropy') { if (a !== 0) terms.push(b === 0 ? Infinity : -(a / Sp) * logRatio(b, Sq)); }
      else if (fn === 'klDivergence') {
        if (a === 0) continue;
        if (b === 0) { terms.push(Infinity); continue; }
        // log((a/Sp)/(b/Sq)): from the products when they are normal numbers, else from two logs
        // (a ≠ 0 here: a product of 0 is an underflow, except b·Sp with b = 0)
        const x = a * Sq, y = b * Sp;
        terms.push((a / Sp) * (!normalize ? logRatio(a, b) : normal(x) && (b === 0 || normal(y)) ? logRatio(x, y) : logRatio(a, b) + logRatio(Sq, Sp)));
      }
      else {
        const an = a / Sp, bn = b / Sq;
        if (an !== 0) terms.push(0.5 * an * logMix(an, bn));
        if (bn !== 0) terms.push(0.5 * bn * logMix(bn, an));
      }
    }
    values.push(fsum(terms));
    mags.push(fsum(terms.map(Math.abs)));
    // the reference's own rounding when normalising (a few ulps of each normalised term)
    slack.push(normalize ? 8e-16 * fsum(p.map((v) => Math.abs(v / Sp))) + 8e-16 * fsum(terms.map(Math.abs)) : 0);
  }
  return { values, mags, slack };
}

/** One row of softmax quantities relative to the maximum (float64, conventions of the README). */
function softmaxRow(x, T) {
  let m = -Infinity, nan = false;
  for (const v of x) { if (v !== v) nan = true; else if (v > m) m = v; }
  if (nan || m === Infinity) return { special: 'nan', m, nan, x };
  if (m === -Infinity) return { special: 'masked', m, nan, x };
  const t = x.map((v) => (v - m) / T);
  const e = t.map(Math.exp);
  const ones = e.filter((v) => v === 1).length;
  const rest = fsum(e.filter((v) => v !== 1));
  const S = ones + rest;
  const ls = ones === 1 ? Math.log1p(rest) : Math.log(S);
  const logp = t.map((v) => v - ls);
  const p = e.map((v) => v / S);
  return { m, t, p, logp, ls, S, x };
}

/** The expectation of one call (errors it may throw, or a checker of its result). */
function expectation(c, args, options) {
  const e = new Expect();
  const fn = c.fn;
  if (fn === 'information') {
    const o = optionChecks(fn, options, e);
    const p = args[0];
    if (typeof p !== 'number') e.error('TypeError');
    else if (!(p >= 0 && p <= 1)) e.error('RangeError');
    const scale = o ? checkBase(o.base, e) : null;
    if (e.errors.size || scale === null) return e;
    const want = o.base === 2 ? -Math.log2(p) : o.base === 10 ? -Math.log10(p) : -Math.log(p) * scale;
    e.check = (got) => compareNumber(got, want, Math.abs(want), 'f64');
    return e;
  }
  const o = optionChecks(fn, options, e) ?? {};
  if (fn === 'softmaxCrossEntropy') return lossExpectation(args, o, e);
  if (fn === 'mutualInformation' || fn === 'conditionalEntropy') return jointExpectation(fn, args, o, e);
  if (fn === 'byteEntropy') return bytesExpectation(args[0], o, e);
  if (fn === 'sigmoidCrossEntropy' || fn === 'sigmoidFocalLoss') return sigmoidExpectation(fn, args, o, e);
  if (fn === 'signedLogSumExp' || (fn === 'logSumExp' && o.weights !== undefined)) return weightedExpectation(fn, args[0], o, e);
  const A = inspectVector(args[0]);
  if (!A.ok) e.error('TypeError');
  const two = args.length > 1;
  const Bv = two ? inspectVector(args[1]) : null;
  if (two && !Bv.ok) e.error('TypeError');
  if (A.ok && two && Bv.ok && A.length !== Bv.length) e.error('TypeError');
  const s = A.ok ? checkCols(o.cols, A.length, e) : null;
  const isProb = ['entropy', 'crossEntropy', 'klDivergence', 'jsDivergence'].includes(fn);
  // logSumExp, softmax and logSoftmax take no `base` (optionChecks made it a TypeError)
  const scale = isProb || fn === 'softmaxEntropy' || fn === 'softmaxKlDivergence' ? checkBase(o.base, e) : 1;
  e.scale = scale;
  let normalize = false, validate = true, T = 1, out;
  if (isProb) {
    normalize = checkFlag(o.normalize, false, e);
    validate = checkFlag(o.validate, true, e);
  } else if (fn !== 'logSumExp') {
    T = checkTemperature(o.temperature, e);
  }
  const isMap = fn === 'softmax' || fn === 'logSoftmax';
  if (isMap && o.out !== undefined && A.ok) out = checkOut(o.out, A.length, [A], [A], e);
  if (e.errors.size || !s) return e;

  if (isProb) {
    let sane = true;
    if (validate) {
      if (!checkProbabilities(A, s, normalize, e)) return e;
      if (two && !checkProbabilities(Bv, s, normalize, e)) return e;
    } else {
      sane = [A, Bv].filter(Boolean).every((X) => X.data.every((v) => v >= 0 && Number.isFinite(v)));
      if (normalize) sane &&= rowSumsPositive(A, s) && (!two || rowSumsPositive(Bv, s));
      else sane &&= rowSumsNear1(A, s) && (!two || rowSumsNear1(Bv, s));
    }
    const dtype = A.dtype === 'f32' && (!two || Bv.dtype === 'f32') && !normalize ? 'f32' : 'f64';
    const ref = probabilityReference(fn, A, Bv, s, normalize);
    e.shapeOnly = !sane;
    e.check = (got) => compareReduction(got, ref, scale, s, dtype, !sane);
    return e;
  }
  const dtype = A.dtype === 'f32' && (!two || Bv.dtype === 'f32') ? 'f32' : 'f64';
  const rows = [];
  for (let r = 0; r < s.rows; r++) {
    rows.push({
      a: softmaxRow(A.data.slice(r * s.cols, (r + 1) * s.cols), fn === 'logSumExp' ? 1 : T),
      b: two ? softmaxRow(Bv.data.slice(r * s.cols, (r + 1) * s.cols), T) : null,
    });
  }
  if (isMap) {
    e.check = (got) => compareMap(fn, got, rows, s, A, out, dtype, o.out);
    return e;
  }
  e.check = (got) => compareSoftmaxReduction(fn, got, rows, scale, s, dtype);
  return e;
}

function rowSumsPositive(X, s) {
  for (let r = 0; r < s.rows; r++) { const sum = fsum(X.data.slice(r * s.cols, (r + 1) * s.cols)); if (!(sum > 0 && sum < 1e300)) return false; }
  return true;
}
function rowSumsNear1(X, s) {
  for (let r = 0; r < s.rows; r++) if (s.cols > 0 && Math.abs(fsum(X.data.slice(r * s.cols, (r + 1) * s.cols)) - 1) > 1e-5) return false;
  return true;
}


/**
 * mutualInformation / conditionalEntropy of a joint table (rows X, columns Y): every entry
 * divided by the table's total, I = Σ p·log(p/(p(x)·p(y))), H(Y|X) = −Σ p·log(p/p(x)),
 * each log from the counts' ratio (two logs where a product leaves the normal range);
 * never negative (a rounding below 0 is 0).
 */
function jointExpectation(fn, args, o, e) {
  if (o.cols === undefined) e.error('TypeError');
  const A = inspectVector(args[0]);
  if (!A.ok) e.error('TypeError');
  const s = o.cols === undefined || !A.ok ? null : checkCols(o.cols, A.length, e);
  const scale = checkBase(o.base, e);
  e.scale = scale;
  const normalize = checkFlag(o.normalize, false, e), validate = checkFlag(o.validate, true, e);
  if (e.errors.size || !s || scale === null || normalize === null || validate === null) return e;
  if (A.length === 0) {
    e.check = (got) => compareNumber(got, 0, 0, 'f64');
    return e;
  }
  const x = A.data, total = fsum(x);
  let sane = x.every((v) => v >= 0 && Number.isFinite(v));
  if (validate) {
    if (!sane) { e.error('RangeError'); return e; }
    if (normalize) {
      if (!(total > 0 && total < Infinity)) { e.error('RangeError'); return e; }
    } else {
      const off = Math.abs(total - 1), tol = SUM_TOL[A.dtype];
      if (off > 2 * tol) { e.error('RangeError'); return e; }
      if (off > 0.5 * tol) e.maybe.add('RangeError');
    }
  }
  sane &&= total > 1e-290 && total < 1e290;
  const { rows, cols } = s;
  const rowSum = [], colSum = [];
  // a row sum's low part too: where one entry dominates its row, log(c/c(x)) near 1 is
  // log1p of ((c − hi) − lo)/hi, the rest of the row's mass kept in lo (hi alone rounds it away)
  const rowLo = [];
  for (let r = 0; r < rows; r++) {
    const row = x.slice(r * cols, (r + 1) * cols), hi = fsum(row);
    rowSum.push(hi);
    rowLo.push(Number.isFinite(hi) ? fsum([...row, -hi]) : 0);
  }
  for (let c = 0; c < cols; c++) colSum.push(fsum(Array.from({ length: rows }, (_, r) => x[r * cols + c])));
  // the terms, and the magnitudes of what they are made of (−p·log p, p·log p(x), p·log p(y):
  // a result near 0 is held to those, as the SPEC's clause for results near 0)
  const terms = [], parts = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = x[r * cols + c];
      if (!(v > 0)) continue;
      const pl = (u) => (v / total) * Math.abs(Math.log(u / total));
      parts.push(pl(v) + pl(rowSum[r]) + (fn === 'mutualInformation' ? pl(colSum[c]) : 0));
      let l;
      if (fn === 'conditionalEntropy') {
        const q = rowSum[r], ratio = v / q;
        l = -(ratio > 0.5 && ratio < 2 ? Math.log1p((v - q - rowLo[r]) / q) : logRatio(v, q));
      }
      else {
        const a = v * total, b = rowSum[r] * colSum[c];
        l = normal(a) && normal(b) ? logRatio(a, b) : Math.log(v) + Math.log(total) - Math.log(rowSum[r]) - Math.log(colSum[c]);
      }
      terms.push((v / total) * l);
    }
  }
  const want = Math.max(fsum(terms), 0), mag = fsum(terms.map(Math.abs)) + fsum(parts);
  const dtype = A.dtype;
  e.shapeOnly = !sane;
  e.check = (got) => (sane ? compareNumber(got, want * scale, mag * Math.abs(scale), dtype) : typeCheck(got, 'number'));
  return e;
}

/**
 * logSumExp(x, { weights }) and signedLogSumExp: per row, S = Σ bᵢ·e^(xᵢ − m) over m, the
 * largest x whose weight is not 0; the value m + log|S| (−∞ where S = 0), the sign of S.
 * Values are checked where x and the weights are finite and S is not a cancellation (a
 * relative error of S is an absolute error of log|S|); weights of a float32 x are float32.
 */
function weightedExpectation(fn, x, o, e) {
  const signed = fn === 'signedLogSumExp';
  const X = inspectVector(x);
  if (!X.ok) e.error('TypeError');
  const s = X.ok ? checkCols(o.cols, X.length, e) : null;
  let w = null, perElement = true;
  if (o.weights === undefined && signed) w = X.ok ? new Array(X.length).fill(1) : null;
  else {
    const W = inspectVector(o.weights);
    if (!W.ok) e.error('TypeError');
    else if (X.ok && s) {
      if (W.length === X.length) w = W.data;
      else if (s.matrix && W.length === o.cols) { w = W.data; perElement = false; }
      else e.error('TypeError');
    }
  }
  if (e.errors.size || !s || !w) return e;
  if (!signed && w.some((v) => v < 0)) { e.error('RangeError'); return e; }
  const f32 = X.dtype === 'f32', lim = f32 ? 1e30 : 1e300;
  const wt = f32 ? w.map(Math.fround) : w;
  const sane = X.data.every((v) => Number.isFinite(v) && Math.abs(v) <= lim) && wt.every(Number.isFinite);
  const rows = [];
  for (let r = 0; r < s.rows; r++) {
    const xs = X.data.slice(r * s.cols, (r + 1) * s.cols), ws = perElement ? wt.slice(r * s.cols, (r + 1) * s.cols) : wt;
    let m = -Infinity;
    xs.forEach((v, i) => { if (ws[i] !== 0 && v > m) m = v; });
    const terms = m === -Infinity ? [] : xs.map((v, i) => (ws[i] === 0 ? 0 : ws[i] * Math.exp(v - m)));
    const S = fsum(terms), mag = fsum(terms.map(Math.abs));
    const clear = Math.abs(S) > (f32 ? 1e-3 : 1e-6) * mag;
    rows.push({ value: S === 0 ? -Infinity : m + Math.log(Math.abs(S)), sign: Math.sign(S), mag: Math.abs(m) + (S === 0 ? 0 : mag / Math.abs(S)), clear: S === 0 || clear });
  }
  const dtype = f32 ? 'f32' : 'f64';
  const one = (value, sign, row) => {
    if (!sane || !row.clear) return typeof value === 'number' && (!signed || typeof sign === 'number') ? null : `returned ${typeof value}, want a number`;
    if (signed && sign !== row.sign) return `sign ${sign}, want ${row.sign}`;
    return compareNumber(value, row.value, row.mag, dtype);
  };
  e.shapeOnly = !sane;
  e.check = (got) => {
    const value = signed ? got?.value : got, sign = signed ? got?.sign : undefined;
    if (!s.matrix) return one(value, sign, rows[0] ?? { value: -Infinity, sign: 0, mag: 0, clear: true });
    if (!(value instanceof Float64Array) || value.length !== s.rows) return `returned ${value?.constructor?.name}, want a Float64Array of ${s.rows}`;
    if (signed && !(sign instanceof Float64Array && sign.length === s.rows)) return 'sign: want a Float64Array of one per row';
    for (let r = 0; r < s.rows; r++) {
      const msg = one(value[r], signed ? sign[r] : undefined, rows[r]);
      if (msg) return `[${r}]: ${msg}`;
    }
    return null;
  };
  return e;
}

/** A per-class option: an array of `len` finite non-negative entries (or, `single`, one number or one entry). */
function perClassOption(v, len, single, e) {
  if (single && typeof v === 'number') return v >= 0 && v < Infinity ? new Array(len).fill(v) : (e.error('RangeError'), null);
  const V = inspectVector(v);
  if (!V.ok) { e.error('TypeError'); return null; }
  if (V.length !== len && !(single && V.length === 1)) { e.error('TypeError'); return null; }
  if (!V.data.every((x) => x >= 0 && x < Infinity)) { e.error('RangeError'); return null; }
  return V.length === len ? V.data : new Array(len).fill(V.data[0]);
}

/**
 * sigmoidCrossEntropy: ℓ = w·[pw·y'·softplus(−x) + (1 − y')·softplus(x)], y' = (1 − ε)·y + ε/2,
 * its reduction over all elements, and the gradient w·[(1 − y')·σ(x) − pw·y'·σ(−x)] scaled
 * as the reduction; values checked where the logits are finite.
 */
function sigmoidExpectation(fn, args, o, e) {
  const focal = fn === 'sigmoidFocalLoss';
  const X = inspectVector(args[0]), T = inspectVector(args[1]);
  if (!X.ok || !T.ok) e.error('TypeError');
  else if (X.length !== T.length) e.error('TypeError');
  const n = X.ok ? X.length : 0;
  const s = X.ok ? checkCols(o.cols, n, e) : null;
  let w = null, wElem = false;
  if (o.weights !== undefined && s) {
    const W = inspectVector(o.weights);
    if (!W.ok) e.error('TypeError');
    else if (W.length === n) { w = W.data; wElem = true; }
    else if (s.matrix && W.length === s.cols) w = perClassOption(o.weights, s.cols, false, e);
    else e.error('TypeError');
  }
  const classes = s ? (s.matrix ? s.cols : n) : 0;
  const pw = o.posWeight === undefined || !s ? null : perClassOption(o.posWeight, classes, true, e);
  const reduction = o.reduction === undefined ? 'mean' : o.reduction;
  if (!['mean', 'sum', 'none'].includes(reduction)) e.error(typeof reduction === 'string' ? 'RangeError' : 'TypeError');
  const eps = o.labelSmoothing === undefined ? 0 : o.labelSmoothing;
  if (typeof eps !== 'number') e.error('TypeError');
  else if (!(eps >= 0 && eps < 1)) e.error('RangeError');
  const alpha = o.alpha === undefined ? 0.25 : o.alpha, gamma = o.gamma === undefined ? 2 : o.gamma;
  if (focal) {
    if (typeof alpha !== 'number') e.error('TypeError');
    else if (!(alpha <= 1)) e.error('RangeError');
    if (typeof gamma !== 'number') e.error('TypeError');
    else if (!(gamma >= 0 && gamma < Infinity)) e.error('RangeError');
  }
  const lscale = checkBase(o.base, e);
  e.scale = lscale;
  let grad = null;
  if (o.grad !== undefined && X.ok) grad = checkOut(o.grad, n, [X, T, o.weights !== undefined ? inspectVector(o.weights) : null].filter((v) => v && v.ok), [], e);
  if (e.errors.size || !s) return e;
  // per element, checked by the kernel (then named by the call): targets in [0, 1], weights finite ≥ 0
  if (!T.data.every((y) => y >= 0 && y <= 1) || (wElem && !w.every((v) => v >= 0 && v < Infinity))) { e.error('RangeError'); return e; }
  const f32 = X.dtype === 'f32' && T.dtype === 'f32', dtype = f32 ? 'f32' : 'f64';
  const r32 = (v) => (f32 ? Math.fround(v) : v);
  const sane = X.data.every((x) => Number.isFinite(x) && Math.abs(x) <= (f32 ? 1e30 : 1e300));
  const softplus = (z) => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
  const sigma = (z) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));
  const losses = [], grads = [];
  for (let i = 0; i < n; i++) {
    const x = X.data[i], y = (1 - eps) * T.data[i] + eps / 2, c = s.matrix ? i % s.cols : i;
    const wi = w ? r32(wElem ? w[i] : w[c]) : 1, p = pw ? r32(pw[c]) : 1;
    if (focal) {
      // α_t·q^γ·BCE, q = 1 − p_t; q^(γ−1)·σ(x)σ(−x) as q^γ·σσ/q, 0 where q = 0
      const bce = y * softplus(-x) + (1 - y) * softplus(x), q = y * sigma(-x) + (1 - y) * sigma(x);
      const at = alpha < 0 ? 1 : alpha * y + (1 - alpha) * (1 - y), qg = gamma === 0 ? 1 : q ** gamma;
      const ss = sigma(x) * sigma(-x), side = gamma === 0 || q === 0 ? 0 : gamma * (1 - 2 * y) * bce * (qg * ss / q);
      const d = (1 - y) * sigma(x) - y * sigma(-x); // σ(x) − y without its cancellation
      losses.push(at * qg * bce);
      grads.push([at * (d * qg + side), Math.abs(at) * (((1 - y) * sigma(x) + y * sigma(-x)) * qg + Math.abs(side))]);
      continue;
    }
    losses.push(wi * (p * y * softplus(-x) + (1 - y) * softplus(x)));
    grads.push([wi * ((1 - y) * sigma(x) - p * y * sigma(-x)), wi * ((1 - y) * sigma(x) + p * y * sigma(-x))]);
  }
  const total = fsum(losses);
  const gscale = (reduction === 'mean' ? (n > 0 ? 1 / n : 0) : 1) * lscale;
  e.shapeOnly = !sane;
  e.check = (got) => {
    let err;
    if (reduction === 'none') err = compareArray(got, losses.map((v) => v * lscale), losses.map((v) => Math.abs(v * lscale)), dtype, Float64Array, !sane);
    else if (!sane) err = typeCheck(got, 'number');
    else err = compareNumber(got, (reduction === 'sum' ? total : n > 0 ? total / n : 0) * lscale, Math.abs((reduction === 'sum' ? total : n > 0 ? total / n : 0) * lscale), dtype);
    if (err || !grad || !sane) return err;
    const g = o.grad instanceof S.WasmArray ? o.grad.array : current(grad);
    for (let i = 0; i < n; i++) {
      const want = grads[i][0] * gscale, m = grads[i][1] * Math.abs(gscale);
      const msg = g instanceof Float32Array ? compareNumber(g[i], Math.fround(want), m, 'f32', 2 ** -140 * m) : compareNumber(g[i], want, m, dtype);
      if (msg) return `grad[${i}]: ${msg}`;
    }
    return null;
  };
  return e;
}

/** byteEntropy: −Σ (c/n)·log(c/n) over the byte counts, in base 2 unless `base` says otherwise; empty input 0. */
function bytesExpectation(b, o, e) {
  if (!(b instanceof Uint8Array || b instanceof Uint8ClampedArray)) e.error('TypeError');
  else if (b.length === 0 && isDetached(b)) e.error('TypeError');
  const scale = checkBase(o.base === undefined ? 2 : o.base, e);
  e.scale = scale;
  if (e.errors.size || scale === null) return e;
  const n = b.length, counts = new Float64Array(256);
  for (let i = 0; i < n; i++) counts[b[i]]++;
  const terms = [];
  for (const c of counts) if (c > 0) terms.push(-(c / n) * Math.log(c / n));
  const h = fsum(terms);
  e.check = (got) => compareNumber(got, h > 0 ? h * scale : 0, h * Math.abs(scale), 'f64');
  return e;
}

function lossExpectation(args, o, e) {
  if (o.cols === undefined) e.error('TypeError');
  const Z = inspectVector(args[0]);
  if (!Z.ok) e.error('TypeError');
  const s = o.cols === undefined ? null : checkCols(o.cols, Z.ok ? Z.length : 0, e);
  const Tg = inspectVector(args[1]);
  if (!Tg.ok) e.error('TypeError');
  let isLabels = false;
  if (s && Z.ok && Tg.ok) {
    isLabels = Tg.length === s.rows;
    if (!isLabels && Tg.length !== Z.length) e.error('TypeError');
  }
  const reduction = o.reduction === undefined ? 'mean' : o.reduction;
  if (!['mean', 'sum', 'none'].includes(reduction)) e.error(typeof reduction === 'string' ? 'RangeError' : 'TypeError');
  const eps = o.labelSmoothing === undefined ? 0 : o.labelSmoothing;
  if (typeof eps !== 'number') e.error('TypeError');
  else if (!(eps >= 0 && eps < 1)) e.error('RangeError');
  const ignore = o.ignoreIndex;
  if (ignore !== undefined && !(typeof ignore === 'number' && Number.isInteger(ignore))) e.error('TypeError');
  let W = null;
  if (o.weights !== undefined) {
    W = inspectVector(o.weights);
    if (!W.ok) e.error('TypeError');
    else if (W.length !== o.cols) e.error('TypeError');
    else if (!Array.from(W.data).every((v) => v >= 0 && v < Infinity)) e.error('RangeError');
  }
  const scale = checkBase(o.base, e);
  e.scale = scale;
  let grad;
  if (o.grad !== undefined && Z.ok) grad = checkOut(o.grad, Z.length, isLabels ? [Z] : [Z, Tg].filter((x) => x.ok), [Z], e);
  if (e.errors.size || !s || !Z.ok || !Tg.ok) return e;
  const { rows, cols } = s;
  if (isLabels) {
    for (let r = 0; r < rows; r++) {
      const y = Tg.data[r];
      if (y === ignore) continue;
      if (!Number.isInteger(y) || y < 0 || y >= cols) { e.error('RangeError'); return e; }
    }
  }
  // the reference: PyTorch's formulas, row by row
  const w = W ? W.data : null;
  const sane = (!w || w.every(Number.isFinite)) && (isLabels || Tg.data.every(Number.isFinite));
  const losses = [], mags = [], grads = [], tws = [];
  let denominator = 0;
  for (let r = 0; r < rows; r++) {
    const z = Z.data.slice(r * cols, (r + 1) * cols);
    const t = [];
    if (isLabels) {
      const y = Tg.data[r];
      if (y === ignore) { losses.push(0); mags.push(0); grads.push(new Array(cols).fill(0)); continue; }
      denominator += w ? w[y] : 1;
      for (let c = 0; c < cols; c++) t.push((1 - eps) * (c === y ? 1 : 0) + eps / cols);
    } else {
      denominator += 1;
      for (let c = 0; c < cols; c++) t.push((1 - eps) * Tg.data[r * cols + c] + eps / cols);
    }
    const row = softmaxRow(z, 1);
    if (row.special) { losses.push(NaN); mags.push(0); grads.push(new Array(cols).fill(NaN)); continue; }
    const terms = row.logp.map((l, c) => { const wc = w ? w[c] : 1; return t[c] * wc === 0 ? 0 : -wc * t[c] * l; });
    losses.push(fsum(terms));
    mags.push(fsum(terms.map(Math.abs)) + fsum(row.logp.map((l, c) => { const wt = Math.abs((w ? w[c] : 1) * t[c]); return wt === 0 ? 0 : wt * (Math.abs(row.t[c]) + Math.abs(row.ls)); })));
    const tw = fsum(t.map((v, c) => v * (w ? w[c] : 1)));
    tws[r] = tw;
    // (the magnitude of Σ w·t̃ is Σ |w·t̃|: targets are not validated, and a row summing to ~0
    // makes Σ w·t̃ a cancellation that any summation order rounds differently)
    const twMag = fsum(t.map((v, c) => Math.abs(v * (w ? w[c] : 1))));
    grads.push(row.p.map((p, c) => [tw * p - (w ? w[c] : 1) * t[c], twMag * p + Math.abs((w ? w[c] : 1) * t[c])]));
  }
  const dtype = Z.dtype === 'f32' && (isLabels || Tg.dtype === 'f32') ? 'f32' : 'f64';
  const gradScale = (reduction === 'mean' ? (denominator !== 0 ? 1 / denominator : 0) : 1) * scale;
  e.shapeOnly = !sane;
  e.check = (got) => {
    const total = fsum(losses), mag = fsum(mags);
    let err;
    if (reduction === 'none') err = compareArray(got, losses.map((v) => v * scale), mags.map((m) => m * Math.abs(scale)), dtype, Float64Array, !sane);
    else if (reduction === 'sum') err = sane ? compareNumber(got, total * scale, mag * Math.abs(scale), dtype) : typeCheck(got, 'number');
    else err = sane ? compareNumber(got, denominator !== 0 ? (total * scale) / denominator : 0, denominator !== 0 ? (mag * Math.abs(scale)) / Math.abs(denominator) : 0, dtype) : typeCheck(got, 'number');
    if (err || !grad) return err;
    const g = o.grad instanceof S.WasmArray ? o.grad.array : current(grad);
    if (!sane) return null;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const ref = grads[r][c];
        const want = Array.isArray(ref) ? ref[0] * gradScale : ref * gradScale;
        const m = Array.isArray(ref) ? ref[1] * Math.abs(gradScale) : 0;
        // a Float32Array gradient is float32-rounded (out of range: ±Infinity), its
        // exponentials kept at float32's subnormal resolution, 2^-149, before the row's weight
        // Σ w·t̃ scales them; the exponentials are 0 below their type's cut-off (README,
        // accuracy), float64's too: an entry is off by up to those times that weight
        const floor = (g instanceof Float32Array ? 2 * 2 ** -149 : 0) + CUT[dtype];
        const sub = floor * Math.abs((tws[r] ?? 0) * gradScale);
        const msg = g instanceof Float32Array ? compareNumber(g[r * cols + c], Math.fround(want), m, 'f32', sub) : compareNumber(g[r * cols + c], want, m, dtype, sub);
        if (msg) return `grad[${r * cols + c}]: ${msg}`;
      }
    }
    return null;
  };
  return e;
}

// --- comparisons (loose: the property tests hold the SPEC's bounds; here, categories
// and gross errors).  Float32 results below FLT_MIN are allowed 1e-36 (a gradient written
// over its own logits keeps float32's subnormal resolution there; README, accuracy).

const LOOSE = { f32: { rel: 1e-4, abs: 1e-36 }, f64: { rel: 1e-9, abs: 1e-290 } };
let overflowOk = false; // set per call: some input is beyond the documented range
let floorScale = 1; // set per call: the base's 1/ln b scales the absolute floors too

function compareNumber(got, want, mag, dtype, extra = 0) {
  if (typeof got !== 'number') return `returned ${typeof got}, want a number`;
  if (Number.isNaN(want)) return Number.isNaN(got) ? null : `got ${fmt(got)}, want NaN`;
  // beyond the documented range (±1e30 float32, ±1e300 float64), partial sums may overflow
  // with both signs, ∞ − ∞, where the exact result is huge or infinite
  if (overflowOk && Number.isNaN(got) && !(Math.abs(want) < 1e300)) return null;
  if (!Number.isFinite(want)) return got === want ? null : `got ${fmt(got)}, want ${fmt(want)}`;
  // a finite result at the top of its type's range may overflow on the way (logits near
  // ±1.8e308), a float32 one beyond it may be ±Infinity (logSoftmax of 1e30 at T = 1e-30:
  // README), and so may any result from inputs beyond the documented range
  if ((Math.abs(want) > (dtype === 'f32' ? 1e38 : 1e305) || overflowOk) && (got === Infinity || got === -Infinity)) return null;
  if (!Number.isFinite(got)) return `got ${fmt(got)}, want ${fmt(want)}`;
  const { rel, abs } = LOOSE[dtype];
  const tol = rel * Math.max(Number.isFinite(mag) ? mag : 0, Math.abs(want)) + abs * floorScale + extra;
  return Math.abs(got - want) <= tol ? null : `got ${fmt(got)}, want ${fmt(want)} (error ${Math.abs(got - want).toExponential(2)} > ${tol.toExponential(2)})`;
}

function typeCheck(got, type) {
  return typeof got === type ? null : `returned ${typeof got}, want a ${type}`;
}

function compareArray(got, want, mags, dtype, Type, shapeOnly, extras = null) {
  if (!(got instanceof Type)) return `returned ${got?.constructor?.name ?? typeof got}, want a ${Type.name}`;
  if (got.length !== want.length) return `returned length ${got.length}, want ${want.length}`;
  if (shapeOnly) return null;
  for (let i = 0; i < want.length; i++) {
    const msg = compareNumber(got[i], want[i], mags[i], dtype, extras ? extras[i] : 0);
    if (msg) return `[${i}]: ${msg}`;
  }
  return null;
}

function compareReduction(got, ref, scale, s, dtype, shapeOnly) {
  const want = ref.values.map((v) => v * scale), mags = ref.mags.map((m) => m * Math.abs(scale));
  // the reference's own rounding, and 6 digits for close distributions (the SPEC's KL/JS clause)
  const extras = ref.slack.map((x, i) => x * Math.abs(scale) + 1e-6 * Math.abs(want[i]));
  if (s.matrix) return compareArray(got, want, mags, dtype, Float64Array, shapeOnly, extras);
  if (typeof got !== 'number') return `returned ${typeof got}, want a number`;
  return shapeOnly ? null : compareNumber(got, want[0], mags[0], dtype, extras[0]);
}

/** The exponentials' cut-off (assembly/rows.ts F32_CUT, F64_CUT): exp((x − m)/T) below it is 0. */
const CUT = { f32: 1.163797986604692e-38, f64: 2.2029340036946747e-308 };

function compareSoftmaxReduction(fn, got, rows, scale, s, dtype) {
  const want = [], mags = [], extras = [], either = [];
  // terms whose exponential is below the cut-off are dropped (the README's accuracy table):
  // a result off by at most cols·88·FLT_MIN (float32), cols·709·DBL_MIN (float64)
  const flushed = s.cols * (dtype === 'f32' ? 88 * 2 ** -126 : 709 * 2 ** -1022) * Math.abs(scale);
  for (const { a, b } of rows) {
    extras.push(fn === 'logSumExp' ? 0 : flushed);
    either.push(false);
    if (fn === 'logSumExp') {
      if (a.special) { want.push(a.nan ? NaN : a.m); mags.push(0); continue; }
      want.push(a.m + a.ls); mags.push(Math.abs(a.m) + Math.abs(a.ls));
    } else if (fn === 'softmaxEntropy') {
      if (a.special) { want.push(a.special === 'masked' ? 0 : NaN); mags.push(0); continue; }
      const terms = a.p.map((p, i) => (p === 0 ? 0 : -p * a.logp[i]));
      want.push(fsum(terms) * scale); mags.push(fsum(terms.map(Math.abs)) * Math.abs(scale));
    } else {
      if (a.nan || b.nan) { want.push(NaN); mags.push(0); continue; }
      if (a.special === 'masked') { want.push(0); mags.push(0); continue; }
      if (a.m === Infinity || b.m === Infinity) { want.push(NaN); mags.push(0); continue; }
      if (b.special === 'masked') { want.push(Infinity * scale); mags.push(0); continue; }
      // Q masked (the logit itself −Infinity, not a (b − max)/T that overflowed) where P has
      // mass: Infinity — where P's exponential is at least the cut-off; below it P's entry
      // is 0 (flushed, the README's edge cases) and the row finite; within 3 % of the
      // cut-off either (the cut-off is applied to a rounded exponential)
      const hole = a.x.map((v, i) => (v !== -Infinity && b.x[i] === -Infinity ? Math.exp(a.t[i]) : 0));
      const big = Math.max(...hole);
      if (big >= CUT[dtype] * 1.03) { want.push(Infinity * scale); mags.push(0); continue; }
      either[either.length - 1] = big > CUT[dtype] / 1.03;
      const terms = a.p.map((p, i) => (p === 0 || hole[i] > 0 ? 0 : p * (a.logp[i] - b.logp[i])));
      // a P entry below the cut-off is dropped: its term, up to cut·(|log p| + |log q|), may
      // be large against the others where Q's logits are spread far (|log q| ~ 1e32)
      extras[extras.length - 1] += fsum(a.t.map((t, i) => (Math.exp(t) < CUT[dtype] * 1.03 && a.p[i] > 0 && hole[i] === 0
        ? CUT[dtype] * 1.03 * (Math.abs(a.logp[i]) + Math.abs(b.logp[i])) : 0))) * Math.abs(scale);
      want.push(fsum(terms) * scale);
      mags.push((fsum(terms.map(Math.abs)) + fsum(a.p.map((p, i) => (p === 0 ? 0 : p * (Math.abs(a.logp[i]) + Math.abs(b.logp[i]))))) * 1e-6) * Math.abs(scale));
      // close distributions: the SPEC promises 6 digits (KL ≈ 1e-8 keeps ≥ 6 correct digits)
      extras[extras.length - 1] += 1e-6 * Math.abs(fsum(terms) * scale);
    }
  }
  const compare = () => {
    // a row at the cut-off: Infinity is as right as the finite value
    for (let r = 0; r < either.length; r++) {
      const g = s.matrix ? got?.[r] : got;
      if (either[r] && g === Infinity * scale) want[r] = g;
    }
    if (s.matrix) return compareArray(got, want, mags, dtype, Float64Array, false, extras);
    if (typeof got !== 'number') return `returned ${typeof got}, want a number`;
    return compareNumber(got, want[0], mags[0], dtype, extras[0]);
  };
  return compare();
}

function compareMap(fn, got, rows, s, A, out, dtype, outOption) {
  const Type = out ? out.constructor : A.dtype === 'f32' ? Float32Array : Float64Array;
  if (out) {
    const expected = outOption instanceof S.WasmArray ? outOption.array : out;
    // a view into module memory that the call's growth detached comes back re-derived: a
    // live view of the same type and length over the memory as it is now (a detached view
    // no longer tells its byte offset)
    const rederived = isDetached(out) && got && got.constructor === out.constructor && !isDetached(got) &&
      got.length === rows.length * s.cols && got.buffer.byteLength % 65536 === 0;
    if (got !== expected && got !== out && !rederived) return 'did not return `out`';
  }
  const want = [], mags = [];
  for (const { a } of rows) {
    for (let i = 0; i < s.cols; i++) {
      if (a.special) { want.push(a.special === 'masked' ? (fn === 'softmax' ? 0 : -Infinity) : NaN); mags.push(0); continue; }
      if (fn === 'softmax') { want.push(a.p[i]); mags.push(a.p[i]); }
      else { want.push(a.logp[i]); mags.push(Math.abs(a.t[i]) + Math.abs(a.ls)); }
    }
  }
  const view = outOption instanceof S.WasmArray ? outOption.array : got;
  // a Float32Array result is float32-rounded (out of range: ±Infinity)
  const cmpType = Type === Float32Array ? 'f32' : dtype;
  const rounded = Type === Float32Array ? want.map(Math.fround) : want;
  return compareArray(view, rounded, mags, cmpType, Type, false);
}

// ---------------------------------------------------------------------------------
// Running a case: one call, judged
// ---------------------------------------------------------------------------------

/** Runs one case on the current backend; returns { outcome, failure?, known? }. */
export function runCase(c, state) {
  const { ctx, args, options } = materialize(c);
  const e = expectation(c, args, options);
  const before = args.map(snapshot);
  const heap = heapOf();
  const pagesBefore = heap ? heap.pages : 0;
  const call = () => (c.fn === 'information' ? S.information(args[0], options) : S[c.fn](...args, options));
  let result, thrown = null;
  const t0 = performance.now();
  try {
    result = call();
  } catch (err) {
    thrown = err;
    if (process.env.FUZZ_STACK) console.error(err.stack);
  }
  const ms = performance.now() - t0;
  const grew = heap ? heap.pages > pagesBefore : false;
  let failure = null, outcome;
  const expectThrow = e.errors.size > 0;
  if (thrown) {
    const cls = thrown?.constructor?.name;
    const documented = (cls === 'TypeError' || cls === 'RangeError') && typeof thrown.message === 'string' && thrown.message.startsWith(`${c.fn}: `);
    outcome = documented ? cls : 'other';
    if (!documented) failure = `threw ${cls}: ${thrown?.message} (not a documented "${c.fn}: …" TypeError/RangeError)`;
    else if (!e.errors.has(cls) && !e.maybe.has(cls)) failure = expectThrow ? `threw ${cls} (${thrown.message}); want ${[...e.errors].join(' or ')}` : `threw ${cls} (${thrown.message}); want a result`;
  } else {
    outcome = expectThrow ? 'returned' : e.shapeOnly ? 'ok (shape checked)' : 'ok (value checked)';
    if (expectThrow) failure = `returned ${describeResult(result)}; want ${[...e.errors].join(' or ')}`;
    else if (e.check) {
      // from the inputs as they were (an in-place call has overwritten them since)
      overflowOk = args.some((x, i) => {
        const v = inspectVector(x);
        return v.ok && before[i] !== null && Array.from(before[i]).some((y) => Number.isFinite(y) && Math.abs(y) > (v.dtype === 'f32' ? 1e30 : 1e300));
      });
      floorScale = Math.max(1, Math.abs(e.scale ?? 1)) || 1;
      const msg = e.check(result);
      if (msg && msg.startsWith('known:')) e.known = msg.slice(6);
      if (msg) failure = `wrong result: ${msg}`;
    }
  }
  // inputs not written (except out/grad targets and memory the library owns)
  if (!failure) {
    const target = options && typeof options === 'object' ? (options.out ?? options.grad) : undefined;
    const targetView = target instanceof S.WasmArray ? (target.live ? target.array : null) : target;
    args.forEach((x, i) => {
      if (failure || before[i] === null || x === target || (targetView && ArrayBuffer.isView(x) && x.buffer === targetView.buffer)) return;
      if (ctx.loose.size || (x instanceof S.WasmArray && targetView && x.array.buffer === targetView.buffer)) return;
      const now = snapshot(x);
      if (now && (now.length !== before[i].length || now.some((v, j) => !Object.is(v, before[i][j])))) failure = `input ${i} was modified by the call`;
    });
  }
  let known = null;
  if (failure) known = knownBug(c, e, thrown, ctx, grew, args, options, before);
  for (const wa of ctx.allocs) wa.free();
  // canaries: bit-identical to the start
  const canary = runCanaries(state.inputs, persistent[S.backend()]?.canary);
  const want = state.canaries[`${S.backend()}/${state.cutoff}`];
  let corrupted = null;
  if (!sameBits(canary, want)) corrupted = 'a canary call gave a different result after this call';
  if (S.backend() !== state.backend) corrupted = `backend() changed to ${S.backend()}`;
  return { outcome, failure, known, corrupted, ms, notes: ctx.notes, grew };
}

function describeResult(r) {
  if (typeof r === 'number') return fmt(r);
  if (ArrayBuffer.isView(r)) return `${r.constructor.name}(${r.length})`;
  return typeof r;
}

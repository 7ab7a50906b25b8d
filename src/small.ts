// Small calls: a vector of at most SMALL entries (a policy's handful of actions, one
// row of class logits), with no option or only the common ones (`base`; `out`; `grad`;
// the losses' `cols`, `reduction`).  The general path parses the call into a plan and runs
// a kernel or twin built for long rows, whose fixed cost is several times the arithmetic of
// a handful of entries.  Here a call runs on the engine its plan would take (`engineFor`
// with the plan's weight):
//   - on a wasm backend, from the length its plan's weight sets (plan.ts states each), the
//     same kernel on the row, staged by hand into the engine's room (engine.ts, `room`),
//     so the values are the general path's bit for bit;
//   - below that, and on the JS backend, one or two plain loops in float64 (the weighted
//     and signed log-sum-exp: theirs for an ordinary row, the twin for a special one; the
//     joint tables: their twins' loops on a table whose rows are one block each), or the
//     twin itself on the caller's arrays (softmaxKlDivergence, the focal loss: their
//     twins' special rows would have to be written out again).
//
// Each function returns `undefined` where it does not apply — another array type or
// option, an entry that fails validation, a maximum that is not finite, an `out` that
// shares the input's buffer — and the caller then takes the general path, which computes
// or throws as it always does: nothing here raises an error.
//
// The loops' values.  log-sum-exp, softmax, logSoftmax, softmaxEntropy, the KL and
// Jensen–Shannon divergences and the losses are the twins' own formulas in the twins'
// order (at most 32 entries are one of their blocks), so they equal the JS backend bit for
// bit.  entropy, cross-entropy and byteEntropy drop the twins' reference logarithm or
// order: their terms (−p·log p, −p·log q, −c·log(c/n)) are never negative (p, q ≤ 1 within
// the tolerance), so a plain sum of at most 32 of them is within 32 ulps of the exact sum,
// inside the float64 bound (1e-13).

import { SUM_TOLERANCE, baseScale } from './args.js';
import { engineFor, smallCalls } from './backend.js';
import { jsEngine, type Room, ROOM_TMP, WasmEngine } from './engine.js';
import { crossEntropyWeight, definedRow, entropyWeight, expWeight, jsWeight, klWeight, lossWeight, mapWeight, ROW_SCRATCH, ROW_WEIGHT, sigmoidWeight, TABLE_WEIGHT, UNBOUNDED, weightedWeight, wideGrad, wideGradRows } from './plan.js';
import { expNonPos } from './js/math.js';
import { DBL_MIN, logMix, logRatio } from './js/reduce.js';
import { sigmoidFocalLossRows } from './js/sigmoid.js';
import { CUT32, CUT64, FLOOR, logOnesPlus, softmaxKlDivergenceRows, stage } from './js/softmax.js';
import { finish, weightedLogSumExpRows } from './js/weighted.js';
import { addPair, addTo, logRatio as logOfRatio } from './js/info.js';
import { fsum, Sum } from './js/sum.js';
import { nonNegativeInBase, positiveZeros } from './reductions.js';
import type { FloatArray, SignedValue } from './types.js';

/** The most entries a call takes here. */
const SMALL = 32;

type In = ArrayLike<unknown>;

/** A Float32Array, Float64Array or array of 1 to SMALL entries (an array's entries are checked in the loops). */
function small(x: unknown): x is In {
  return (x instanceof Float32Array || x instanceof Float64Array || Array.isArray(x)) && x.length > 0 && x.length <= SMALL && smallCalls();
}

/**
 * Whether a plain sum w of x's entries is within its type's tolerance of 1 by a margin:
 * the general path checks a compensated sum, and a plain sum of at most 32 entries is
 * within 1e-14 of it, so a call accepted here is accepted there (one at the limit goes
 * there and is checked exactly).
 */
const near1 = (w: number, x: In): boolean => Math.abs(w - 1) <= tolerance(x) - 1e-12;

/** The sum-to-1 tolerance of x's type. */
const tolerance = (x: In): number => (x instanceof Float32Array ? SUM_TOLERANCE.f32 : SUM_TOLERANCE.f64);

/**
 * Whether every enumerable key of `o` is one of `keys`, or `cols` given as undefined (as
 * generic callers pass it: a vector); undefined options have none.  null or a non-object:
 * not a call for here.
 */
function only(o: unknown, keys: readonly string[]): boolean {
  if (o === undefined) return true;
  if (typeof o !== 'object' || o === null) return false;
  for (const k in o) if (!listed(keys, k) && !(k === 'cols' && (o as { cols?: unknown }).cols === undefined)) return false;
  return true;
}

/** Whether k is one of `keys` (a loop of ===: `Array#includes` on strings costs more than the rest of `only`). */
function listed(keys: readonly string[], k: string): boolean {
  for (let i = 0; i < keys.length; i++) if (keys[i] === k) return true;
  return false;
}

// The hot path of a call without options, or with only `out`, is kept small enough for V8
// to inline whole into the caller's code (its budget is of bytecode, summed over the
// functions inlined): what only a given option needs is a call of its own.

/** The scale of a valid `base` (undefined: 1), or NaN for any other (the general path names the fault). */
const scaleOf = (base: unknown): number => (base === undefined ? 1 : givenScale(base));
function givenScale(base: unknown): number {
  return typeof base === 'number' && base > 0 && base < Infinity && base !== 1 ? baseScale('', base) : NaN;
}

/** The base's scale for options of at most `base`, or NaN where the call is not one for here. */
const baseOf = (o: unknown): number => (o === undefined ? 1 : givenBase(o));
const givenBase = (o: unknown): number => (only(o, BASE) ? scaleOf((o as { base?: unknown }).base) : NaN);
const BASE = ['base'] as const, NONE = [] as const;

/** nats in the base's scale, −0 as 0 (as `scaled`). */
const inBase = (v: number, scale: number): number => (v === 0 ? 0 : v * scale);

/**
 * `out` for an input of n entries: a new array of the input's type, or the given one when
 * it is a Float32Array or Float64Array of n entries apart from the input's buffer and not
 * in a buffer the size of a module memory's pages (null: not handled here; the general
 * path checks it: it runs an `out` over the input in place, and names a partial overlap).
 */
function outOf(x: In, given: unknown): FloatArray | null {
  if (given === undefined) return x instanceof Float32Array ? new Float32Array(x.length) : new Float64Array(x.length);
  return known(x, given) && (given as FloatArray).length === x.length ? (given as FloatArray) : newOut(x, given);
}

/** `outOf` for a pair not known. */
function newOut(x: In, given: unknown): FloatArray | null {
  if (!(given instanceof Float32Array || given instanceof Float64Array) || given.length !== x.length) return null;
  return bufferOf(given).byteLength % 65536 !== 0 && newApart(x, given) ? given : null;
}

/**
 * Whether (x, g) is one of the last few pairs of an input and an `out` or gradient found
 * apart (g a Float32Array or Float64Array outside module memory, x not a view of its
 * buffer).  A view's buffer is fixed for its life, so a pair stays apart: arrays used call
 * after call, or a few in turn, are looked up by identity, and the buffers are compared
 * only on a new pair.  (This keeps `outOf` small enough for V8 to inline.)
 */
function known(x: unknown, g: unknown): boolean {
  for (let i = 0; i < PAIRS; i++) if (pairOut[i] === g && pairIn[i] === x) return true;
  return false;
}
function remember(x: In, g: FloatArray): void {
  // (only views of buffers bufferOf keeps, of at most 256 bytes: a small view of a large
  // buffer would keep the buffer alive; an array is at most SMALL entries)
  if (bufferOf(g).byteLength > 256 || (!Array.isArray(x) && bufferOf(x as FloatArray).byteLength > 256)) return;
  pairIn[pairNext] = x;
  pairOut[pairNext] = g;
  pairNext = (pairNext + 1) & (PAIRS - 1);
}
const PAIRS = 8, pairIn: unknown[] = new Array(PAIRS).fill(null), pairOut: unknown[] = new Array(PAIRS).fill(null);
let pairNext = 0;

/** Whether x is not a view of g's buffer. */
const apart = (x: In, g: FloatArray): boolean => Array.isArray(x) || bufferOf(x as FloatArray) !== bufferOf(g);

/** Whether x is apart from g's buffer (g: an `out` or gradient), the pair remembered where it is. */
function newApart(x: In, g: FloatArray): boolean {
  if (!apart(x, g)) return false;
  remember(x, g);
  return true;
}

/**
 * A typed array's buffer.  Reading `.buffer` costs as much as a small call's arithmetic,
 * and a view's buffer is fixed for its life, so the buffers of the last few small arrays
 * (at most 256 bytes: nothing large is kept alive) are remembered: an `out` used call
 * after call, or a few in turn, is looked up, not read.  The search starts where the last
 * one was found: a call's arrays, and those of a few calls in turn, were remembered one
 * after the other.
 */
function bufferOf(a: ArrayBufferView): ArrayBufferLike {
  for (let j = 0, i = hit; j < SEEN; j++, i = (i + 1) & (SEEN - 1)) {
    if (seenView[i] === a) {
      hit = i;
      return seenBuffer[i] as ArrayBufferLike;
    }
  }
  const b = a.buffer;
  if (b.byteLength <= 256) {
    seenView[next] = a;
    seenBuffer[next] = b;
    next = (next + 1) & (SEEN - 1);
  }
  return b;
}
const SEEN = 16, seenView: unknown[] = new Array(SEEN).fill(null), seenBuffer: unknown[] = new Array(SEEN).fill(null);
let next = 0, hit = 0;

/**
 * The row maximum of numeric entries, or NaN where an entry is not a number or the maximum
 * is not finite.  The entries are copied to XS as float64 as they are read, and the loops
 * after this read that copy: one element type, whichever array the caller passed.  A NaN
 * entry is passed over: it makes the sums below NaN, and with them every result, as the
 * general path gives a row holding one.
 */
function maxOf(x: In): number {
  const n = x.length;
  let m = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    if (typeof v !== 'number') return NaN;
    XS[i] = v;
    if (v > m) m = v;
  }
  return m > -Infinity && m < Infinity ? m : NaN;
}
const XS = new Float64Array(SMALL);

/** exp(x − m) below the normal range of the kernel's type is 0, as the kernels give it (js/softmax.ts: `cutOff`). */
const cutOf = (x: In): number => (x instanceof Float32Array ? CUT32 : CUT64);

/**
 * Σ exp(XS − m) over n entries below the maximum, each stored to `dst` when given; `ones`
 * counts those equal to it (read it after the call: an argument list beside the call is
 * evaluated before it).
 */
let ones = 0;
function expRest(n: number, m: number, cut: number, dst: { [i: number]: number } | null): number {
  let rest = 0, k = 0;
  for (let i = 0; i < n; i++) {
    const v = XS[i];
    let e = expNonPos(v - m);
    if (e < cut) e = 0;
    if (dst) dst[i] = e;
    if (v === m) k++;
    else rest += e;
  }
  ones = k;
  return rest;
}

// The kernels on one row (see the top): from the plan's length on, the SIMD exponentials
// or logarithms and a copy each way cost less than the twins' loop.

/**
 * The room (engine.ts) of the wasm engine a call of n entries and this plan weight runs on,
 * or null where its plan would run the twin — or where the call's second input is a view
 * of the module's own memory (a WasmArray's, or a stray one a freed WasmArray left, which
 * the room may lie over): staging the first input could overwrite it before it is read.
 * The loops read such a view where it is.  (A first input is read once, by a copy that
 * handles overlap, before anything is written.)
 */
function wasmRoom(n: number, weight: number, second: In | null = null): Room | null {
  const e = engineFor(n, weight);
  return e === jsEngine ? null : roomOf(e, second);
}

/** `wasmRoom` on a call its plan runs on engine e (kept apart: the loops' calls inline only the test above). */
function roomOf(e: unknown, second: In | null): Room | null {
  if (!(e instanceof WasmEngine) || (second !== null && ArrayBuffer.isView(second) && bufferOf(second) === e.heap.buffer)) return null;
  return e.room();
}

/** Slot k's address in room r (engine.ts: 256 bytes from the room's address + 256·k). */
const ptr = (r: Room, k: number): number => r.at + 256 * k;

// The calls below read their kernels from the module's exports by name: the engine's
// layouts (engine.ts) are for staging a plan's arrays, which these calls do by hand.

/**
 * Copies x into slot k of room r as the kernel's float type: false where an array's entry
 * is not a number (the general path's TypeError).  A typed array is copied by `set` (a
 * memcpy): a loop of element stores, inlined into a call's other loops, cost ~2 ns an
 * entry (docs/performance.md, "Small calls").
 */
function put(r: Room, k: number, x: In, f32: boolean): boolean {
  const v = f32 ? r.f32 : r.f64, o = (f32 ? 64 : 32) * k;
  if (!Array.isArray(x)) {
    v.set(x as FloatArray, o);
    return true;
  }
  for (let i = 0; i < x.length; i++) {
    const a = x[i];
    if (typeof a !== 'number') return false;
    v[o + i] = a;
  }
  return true;
}

/** Copies slot k's first dst.length entries, of the kernel's float type, into dst (an `out` or gradient). */
function take(r: Room, k: number, dst: FloatArray, f32: boolean): void {
  dst.set(r.view(k, dst.length, f32));
}

/** Float64 entry i of slot k (a kernel's per-row results and parts). */
const at64 = (r: Room, k: number, i = 0): number => r.f64[32 * k + i];

/** Whether a row sum w of x's entries is within its type's tolerance of 1: the general path's check, on the same sum. */
const sumsTo1 = (w: number, x: In): boolean => Math.abs(w - 1) <= tolerance(x);

/**
 * entropy (q null), cross-entropy or a divergence of one row by its kernel (slots: p 0,
 * q 1, the parts 2, the result 3), in nats, and the plan's validation of the parts: each
 * input sums to 1 within its tolerance and no entry is negative (entropy.ts, `check`);
 * NaN where they do not (the general path names the fault) or an array entry is not a number.
 */
function reduceOn(r: Room, name: 'entropyRows' | 'crossEntropyRows' | 'klDivergenceRows' | 'jsDivergenceRows', p: In, q: In | null): number {
  const n = p.length, f32 = p instanceof Float32Array && (q === null || q instanceof Float32Array);
  if (!put(r, 0, p, f32) || (q && !put(r, 1, q, f32))) return NaN;
  const x = r.x;
  if (name === 'entropyRows') (f32 ? x.entropyRowsF32 : x.entropyRowsF64)(ptr(r, 0), 1, n, 0, ptr(r, 3), ptr(r, 2));
  else if (name === 'crossEntropyRows') (f32 ? x.crossEntropyRowsF32 : x.crossEntropyRowsF64)(ptr(r, 0), ptr(r, 1), 1, n, 0, ptr(r, 3), ptr(r, 2));
  else if (name === 'klDivergenceRows') (f32 ? x.klDivergenceRowsF32 : x.klDivergenceRowsF64)(ptr(r, 0), ptr(r, 1), 1, n, 0, ptr(r, 3), ptr(r, 2));
  else (f32 ? x.jsDivergenceRowsF32 : x.jsDivergenceRowsF64)(ptr(r, 0), ptr(r, 1), 1, n, 0, ptr(r, 3), ptr(r, 2));
  // the parts (kernels.ts): Σp in two (entropy, cross-entropy) or one; Σq; the smallest entry
  const two = name === 'entropyRows' || name === 'crossEntropyRows';
  const sp = two ? at64(r, 2, 0) + at64(r, 2, 1) : at64(r, 2, 0), sq = at64(r, 2, two ? 2 : 1), min = at64(r, 2, name === 'entropyRows' ? 4 : name === 'crossEntropyRows' ? 5 : 3);
  return min >= 0 && sumsTo1(sp, p) && (q === null || sumsTo1(sq, q)) ? at64(r, 3) : NaN;
}

/** A kernel's value in the base (NaN: not one for here). */
const lean = (v: number, scale: number): number | undefined => (v === v ? inBase(v, scale) : undefined);

/** entropy(p, options?) of a small vector. */
export function entropySmall(p: unknown, o: unknown): number | undefined {
  if (!small(p)) return undefined;
  const scale = baseOf(o);
  if (scale !== scale) return undefined;
  const r = wasmRoom(p.length, entropyWeight(p instanceof Float32Array));
  if (r) return lean(reduceOn(r, 'entropyRows', p, null), scale);
  const n = p.length;
  let w = 0, h = 0;
  for (let i = 0; i < n; i++) {
    const v = p[i];
    if (!(typeof v === 'number' && v >= 0)) return undefined;
    w += v;
    if (v > 0) h -= v * Math.log(v);
  }
  return near1(w, p) ? inBase(h, scale) : undefined;
}

/** Whether p and q are two small vectors of one length whose call is one for here. */
const pair = (p: unknown, q: unknown): boolean => small(p) && small(q) && p.length === q.length;

/** Whether the entries of p and q were valid (`bad` unset) and each sums to 1 within its type's tolerance. */
const valid = (p: In, q: In, wp: number, wq: number, bad: boolean): boolean => !bad && near1(wp, p) && near1(wq, q);

// The loops below validate as they compute (a pass of its own costs as much again): an
// entry that is not a non-negative number sets `bad`, and the value is then discarded.

/** crossEntropy(p, q, options?) of small vectors: −Σ p·log q over p ≠ 0 (Infinity where q = 0). */
export function crossEntropySmall(p: unknown, q: unknown, o: unknown): number | undefined {
  const scale = pair(p, q) ? baseOf(o) : NaN;
  if (scale !== scale) return undefined;
  const P = p as In, Q = q as In;
  const r = wasmRoom(P.length, crossEntropyWeight(P instanceof Float32Array && Q instanceof Float32Array), Q);
  if (r) return lean(reduceOn(r, 'crossEntropyRows', P, Q), scale);
  const n = P.length;
  let wp = 0, wq = 0, h = 0, bad = false;
  for (let i = 0; i < n; i++) {
    const a = P[i], b = Q[i];
    if (!(typeof a === 'number' && typeof b === 'number' && a >= 0 && b >= 0)) bad = true;
    wp += a as number;
    wq += b as number;
    if (a !== 0) h -= (a as number) * Math.log(b as number);
  }
  return valid(P, Q, wp, wq, bad) ? inBase(h, scale) : undefined;
}

/** klDivergence(p, q, options?) of small vectors: Σ p·log(p/q) over p > 0 (Infinity where q = 0), summed as the twin's (compensated). */
export function klDivergenceSmall(p: unknown, q: unknown, o: unknown): number | undefined {
  const scale = pair(p, q) ? baseOf(o) : NaN;
  if (scale !== scale) return undefined;
  const P = p as In, Q = q as In;
  const r = wasmRoom(P.length, klWeight(P instanceof Float32Array && Q instanceof Float32Array), Q);
  if (r) return lean(reduceOn(r, 'klDivergenceRows', P, Q), scale);
  const n = P.length;
  let wp = 0, wq = 0, s = 0, c = 0, bad = false, inf = false;
  for (let i = 0; i < n; i++) {
    const a = P[i] as number, b = Q[i] as number;
    if (!(typeof a === 'number' && typeof b === 'number' && a >= 0 && b >= 0)) bad = true;
    wp += a;
    wq += b;
    if (!(a > 0)) continue;
    if (b === 0) inf = true;
    else {
      const u = a * logRatio(a, b), t = s + u;
      c += Math.abs(s) >= Math.abs(u) ? s - t + u : u - t + s;
      s = t;
    }
  }
  return valid(P, Q, wp, wq, bad) ? inBase(inf ? Infinity : s + c, scale) : undefined;
}

/** jsDivergence(p, q, options?) of small vectors: ½Σ a·log(2a/(a + b)) + b·log(2b/(a + b)), summed as the twin's. */
export function jsDivergenceSmall(p: unknown, q: unknown, o: unknown): number | undefined {
  const scale = pair(p, q) ? baseOf(o) : NaN;
  if (scale !== scale) return undefined;
  const P = p as In, Q = q as In;
  const r = wasmRoom(P.length, jsWeight(P instanceof Float32Array && Q instanceof Float32Array), Q);
  if (r) return lean(reduceOn(r, 'jsDivergenceRows', P, Q), scale);
  const n = P.length;
  let wp = 0, wq = 0, s = 0, c = 0, bad = false;
  for (let i = 0; i < n; i++) {
    const a = P[i] as number, b = Q[i] as number;
    if (!(typeof a === 'number' && typeof b === 'number' && a >= 0 && b >= 0)) bad = true;
    wp += a;
    wq += b;
    if (!(a > 0 || b > 0)) continue;
    let u = 0;
    if (a > 0) u = a * logMix(a, b);
    if (b > 0) u += b * logMix(b, a);
    const t = s + u;
    c += Math.abs(s) >= Math.abs(u) ? s - t + u : u - t + s;
    s = t;
  }
  return valid(P, Q, wp, wq, bad) ? inBase((s + c) * 0.5, scale) : undefined;
}

/** softmax or logSoftmax of x into out by the kernel (slots: x 0, out 2): false where x is not all numbers. */
function mapOn(r: Room, name: 'softmaxRows' | 'logSoftmaxRows', x: In, out: FloatArray): boolean {
  const n = x.length, f32 = x instanceof Float32Array;
  if (!put(r, 0, x, f32)) return false;
  const k = name === 'softmaxRows' ? (f32 ? r.x.softmaxRowsF32 : r.x.softmaxRowsF64) : f32 ? r.x.logSoftmaxRowsF32 : r.x.logSoftmaxRowsF64;
  k(ptr(r, 0), 1, n, 1, ptr(r, 2), 0, r.at + ROOM_TMP);
  take(r, 2, out, f32);
  return true;
}

/**
 * logSumExp(x, { weights? }) of a small vector: m + log(ones + rest), or with weights the
 * twin's (a negative weight, AUX[3] < 0, is the general path's to name).
 */
export function logSumExpSmall(x: unknown, o: unknown): number | undefined {
  if (!small(x)) return undefined;
  if ((o as { weights?: unknown } | null | undefined)?.weights !== undefined) return weighted(x, o, WEIGHTS) && !(AUX[3] < 0) ? RES[0] : undefined;
  if (!only(o, NONE)) return undefined;
  const f32 = x instanceof Float32Array, r = wasmRoom(x.length, expWeight(f32));
  if (r) {
    if (!put(r, 0, x, f32)) return undefined;
    (f32 ? r.x.logSumExpRowsF32 : r.x.logSumExpRowsF64)(ptr(r, 0), 1, x.length, ptr(r, 3), 0, r.at + ROOM_TMP);
    return at64(r, 3);
  }
  const m = maxOf(x);
  if (m !== m) return undefined;
  const rest = expRest(x.length, m, cutOf(x), null);
  return m + logOnesPlus(ones, rest);
}

const OUT = ['out'] as const;

/** softmax(x, { out }?) of a small vector: the exponentials, then each times 1/S. */
export function softmaxSmall(x: unknown, o: unknown): FloatArray | undefined {
  if (!small(x) || !only(o, OUT)) return undefined;
  const out = outOf(x, (o as { out?: unknown } | undefined)?.out);
  if (!out) return undefined;
  const r = wasmRoom(x.length, mapWeight(x instanceof Float32Array));
  if (r) return mapOn(r, 'softmaxRows', x, out) ? out : undefined;
  const m = maxOf(x);
  if (m !== m) return undefined;
  const n = x.length, rest = expRest(n, m, cutOf(x), out);
  const c = 1 / (ones + rest);
  for (let i = 0; i < n; i++) out[i] *= c;
  return out;
}

/** logSoftmax(x, { out }?) of a small vector: (x − m) − log S. */
export function logSoftmaxSmall(x: unknown, o: unknown): FloatArray | undefined {
  if (!small(x) || !only(o, OUT)) return undefined;
  const out = outOf(x, (o as { out?: unknown } | undefined)?.out);
  if (!out) return undefined;
  const r = wasmRoom(x.length, mapWeight(x instanceof Float32Array));
  if (r) return mapOn(r, 'logSoftmaxRows', x, out) ? out : undefined;
  const m = maxOf(x);
  if (m !== m) return undefined;
  const n = x.length, rest = expRest(n, m, cutOf(x), null);
  const ls = logOnesPlus(ones, rest);
  for (let i = 0; i < n; i++) out[i] = XS[i] - m - ls;
  return out;
}

const ENTROPY = ['base', 'grad'] as const;

/**
 * softmaxEntropy(x, { base?, grad? }) of a small vector: log S − (1/S)·Σ e·t, t = x − m,
 * and the gradient −p·(log p + H) (scaled to the base) as the twin forms it.
 */
export function softmaxEntropySmall(x: unknown, o: unknown): number | undefined {
  if (!small(x) || !only(o, ENTROPY)) return undefined;
  const opt = o as { base?: unknown; grad?: unknown } | undefined;
  const scale = scaleOf(opt?.base);
  const grad = opt?.grad === undefined ? null : outOf(x, opt.grad);
  if (scale !== scale || (opt?.grad !== undefined && !grad)) return undefined;
  const f32 = x instanceof Float32Array, r = wasmRoom(x.length, expWeight(f32));
  if (r) {
    // (slots: x 0, grad 2, H in the base 3)
    const n = x.length;
    if (!put(r, 0, x, f32)) return undefined;
    (f32 ? r.x.softmaxEntropyRowsF32 : r.x.softmaxEntropyRowsF64)(ptr(r, 0), 1, n, 1, scale, grad ? ptr(r, 2) : 0, ptr(r, 3), 0, r.at + ROOM_TMP);
    if (grad) take(r, 2, grad, f32);
    return at64(r, 3);
  }
  const m = maxOf(x);
  if (m !== m) return undefined;
  const n = x.length, E = expStore(x, grad), cut = cutOf(x);
  let rest = 0, k = 0, a = 0;
  for (let i = 0; i < n; i++) {
    const v = XS[i];
    if (v === -Infinity) {
      if (E) E[i] = 0;
      continue;
    }
    const t = v - m;
    let e = expNonPos(t);
    if (e < cut) e = 0;
    if (E) E[i] = e;
    if (v === m) k++;
    else rest += e;
    if (e !== 0) a += e * t;
  }
  const s = k + rest, ls = logOnesPlus(k, rest), h = ls - a / s;
  if (grad && E) {
    const c0 = h - ls, c1 = -scale / s;
    for (let i = 0; i < n; i++) grad[i] = E[i] * c1 * ((XS[i] === -Infinity ? 0 : Math.max(XS[i] - m, -FLOOR)) + c0);
  }
  return inBase(h, scale);
}

/** Where a call's exponentials are kept until its gradient is formed, as the twins keep them: `grad`, or a float64 scratch for a float32 grad of float64 input. */
const expStore = (x: In, grad: FloatArray | null): FloatArray | null =>
  grad instanceof Float32Array && !(x instanceof Float32Array) ? SCRATCH : grad;

const SIGMOID = ['grad', 'reduction', 'base'] as const;

/** A valid `reduction` (absent: 'mean'), or undefined for any other (the general path names the fault). */
const reductionOf = (v: unknown): 'mean' | 'sum' | 'none' | undefined => (v === undefined ? 'mean' : v === 'mean' || v === 'sum' || v === 'none' ? v : undefined);

/**
 * sigmoidCrossEntropy(x, t, { grad?, reduction?, base? }) of small vectors, without
 * weights or smoothing: the twin's softplus form w·[y·softplus(−x) + (1 − y)·softplus(x)],
 * summed in order, and its gradient σ(x) − y.
 */
export function sigmoidCrossEntropySmall(x: unknown, t: unknown, o: unknown): number | Float64Array | undefined {
  if (!pair(x, t) || !only(o, SIGMOID)) return undefined;
  const opt = o as { grad?: unknown; reduction?: unknown; base?: unknown } | undefined;
  const reduction = reductionOf(opt?.reduction), lscale = scaleOf(opt?.base);
  if (!reduction || lscale !== lscale) return undefined;
  const X = x as In, T = t as In, n = X.length;
  const grad = gradFor(X, T, opt?.grad);
  if (grad === undefined) return undefined;
  const gscale = (reduction === 'mean' ? 1 / n : 1) * lscale;
  const r = wasmRoom(n, sigmoidWeight(X instanceof Float32Array && T instanceof Float32Array, grad !== null), T);
  if (r) return sigmoidOn(r, false, X, T, 0, 0, lscale, gscale, grad, reduction);
  const losses = reduction === 'none' ? new Float64Array(n) : null;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const xv = X[i], yv = T[i];
    if (!(typeof xv === 'number' && typeof yv === 'number' && yv >= 0 && yv <= 1)) return undefined;
    const yy = yv * 1 + 0, cN = 1 - yy, cP = yy;
    const e = expNonPos(-Math.abs(xv)), l = Math.log1p(e), a = xv > 0 ? xv : 0;
    let loss = pos(cP * (a - xv)) + pos(cN * a) + (cP + cN) * l;
    if (xv !== xv) loss = xv;
    if (grad) {
      const lo = e / (1 + e), hi = 1 - lo;
      grad[i] = (cN * (xv < 0 ? lo : hi) - cP * (xv < 0 ? hi : lo)) * 1 * gscale;
    }
    if (losses) losses[i] = loss * lscale + 0;
    total += loss;
  }
  if (losses) return losses;
  const sum = total * lscale + 0; // (as the general path's compensated sum of it: −0 is 0)
  return reduction === 'sum' ? sum : sum / n;
}

/**
 * sigmoidCrossEntropy (no weights, no smoothing) or sigmoidFocalLoss (`focal`: α a, γ b) of
 * one row by its kernel (slots: x 0, t 1, grad 2, the row's loss 3, the losses of 'none' 4),
 * reduced as the plan's `finish` (sigmoid.ts); undefined where the total is NaN (a bad
 * target: the general path names it) or an array entry is not a number.
 */
function sigmoidOn(r: Room, focal: boolean, X: In, T: In, a: number, b: number, lscale: number, gscale: number, grad: FloatArray | null, reduction: 'mean' | 'sum' | 'none'): number | Float64Array | undefined {
  const n = X.length, f32 = X instanceof Float32Array && T instanceof Float32Array;
  if (!put(r, 0, X, f32) || !put(r, 1, T, f32)) return undefined;
  const g = grad ? ptr(r, 2) : 0, losses = reduction === 'none' ? ptr(r, 4) : 0;
  if (focal) (f32 ? r.x.sigmoidFocalLossRowsF32 : r.x.sigmoidFocalLossRowsF64)(ptr(r, 0), ptr(r, 1), 1, n, a, b, lscale, gscale, g, ptr(r, 3), losses, r.at + ROOM_TMP);
  else (f32 ? r.x.sigmoidCrossEntropyRowsF32 : r.x.sigmoidCrossEntropyRowsF64)(ptr(r, 0), ptr(r, 1), 1, n, 0, 0, 0, 0, lscale, gscale, g, ptr(r, 3), losses, r.at + ROOM_TMP);
  const total = fsum(r.view(3, 1, false));
  if (total !== total) return undefined;
  if (grad) take(r, 2, grad, f32);
  if (losses) return positiveZeros((r.view(4, n, false) as Float64Array).slice(), lscale);
  return reduction === 'sum' ? total : total / n;
}

/** max(0, v), NaN → 0: a product 0·∞ counts 0 (js/sigmoid.ts). */
const pos = (v: number): number => (v > 0 ? v : 0);

const COUNTS = new Float64Array(256), BYTES = new Uint8Array(SMALL);

/** byteEntropy(bytes, { base? }) of at most SMALL bytes: the counts' terms, each distinct byte once (its count then cleared). */
export function byteEntropySmall(bytes: unknown, o: unknown): number | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0 || bytes.length > SMALL || !smallCalls() || !only(o, BASE)) return undefined;
  const base = (o as { base?: unknown } | undefined)?.base, scale = scaleOf(base === undefined ? 2 : base);
  if (scale !== scale) return undefined;
  const n = bytes.length;
  // (the bytes read once, so that every count set is cleared whatever the array does)
  for (let i = 0; i < n; i++) COUNTS[(BYTES[i] = bytes[i])]++;
  let h = 0;
  for (let i = 0; i < n; i++) {
    const c = COUNTS[BYTES[i]];
    if (c === 0) continue;
    COUNTS[BYTES[i]] = 0;
    h -= c * (2 * c > n ? Math.log1p((c - n) / n) : Math.log(c / n));
  }
  return nonNegativeInBase(h / n, scale);
}

const LOSS = ['cols', 'grad', 'reduction', 'base'] as const;
type LossOptions = { cols?: unknown; grad?: unknown; reduction?: unknown; base?: unknown };

/**
 * softmaxCrossEntropy(logits, [y], { cols: logits.length, grad?, reduction?, base? }):
 * one row and its label, no weights or smoothing: log S − (z_y − m), and the gradient
 * softmax − onehot (scaled to the base).
 */
export function softmaxCrossEntropySmall(z: unknown, labels: unknown, o: unknown): number | Float64Array | undefined {
  if (!small(z) || !only(o, LOSS) || o === undefined) return undefined;
  const opt = o as LossOptions;
  const n = z.length;
  const reduction = reductionOf(opt.reduction);
  if (opt.cols !== n || !reduction) return undefined;
  if (!((Array.isArray(labels) || labels instanceof Int32Array || labels instanceof Float64Array) && labels.length === 1)) return undefined;
  const y = labels[0];
  if (!(typeof y === 'number' && Number.isInteger(y) && y >= 0 && y < n)) return undefined;
  const grad = opt.grad === undefined ? null : outOf(z, opt.grad);
  const scale = scaleOf(opt.base);
  if ((opt.grad !== undefined && !grad) || scale !== scale) return undefined;
  const f32 = z instanceof Float32Array, r = wasmRoom(n, lossWeight(f32, grad !== null));
  if (r) {
    // the plan's arguments for one row: no weights (their sum n), no smoothing, the
    // gradient's scale the base's ('mean' of one row), group sums but for 'none' (narrow rows)
    if (!put(r, 0, z, f32)) return undefined;
    r.i32[64] = y;
    (f32 ? r.x.softmaxCrossEntropyLabelsF32 : r.x.softmaxCrossEntropyLabelsF64)(ptr(r, 0), ptr(r, 1), 1, n, 0, n, 0, scale, grad ? ptr(r, 2) : 0, ptr(r, 3), reduction === 'none' ? 0 : 1, r.at + ROOM_TMP);
    if (grad) take(r, 2, grad, f32);
    const loss = at64(r, 3) * scale;
    return reduction === 'none' ? Float64Array.of(loss + 0) : loss + 0;
  }
  const m = maxOf(z);
  if (m !== m) return undefined;
  const E = expStore(z, grad);
  const rest = expRest(n, m, cutOf(z), E);
  const s = ones + rest;
  const loss = (logOnesPlus(ones, rest) - (XS[y] - m)) * scale;
  if (grad && E) {
    // the twin's fold of (1/s, 0, 1) and the scale: folded where that stays finite
    const f = E instanceof Float32Array ? Math.fround : (v: number) => v;
    const fold = Number.isFinite(f((1 / s) * scale)) && Number.isFinite(f(scale));
    const ga = fold ? (1 / s) * scale : 1 / s, gb = fold ? 0 * scale : 0, gc = fold ? scale : 1, gs = fold ? 1 : scale;
    const ey = E[y];
    for (let c = 0; c < n; c++) grad[c] = (E[c] * ga - gb * 1) * gs;
    grad[y] = (ey * ga - gb - gc) * gs;
  }
  // (−0 as 0, as the general path gives it)
  return reduction === 'none' ? Float64Array.of(loss + 0) : loss + 0;
}
const SCRATCH = new Float64Array(SMALL);

// The functions below run their JS twin (src/js/) on the caller's arrays without the plan
// where the general path runs that twin too (`engineFor`: the plan's weight), and the
// kernel in the room where it runs that, so they give its values bit for bit.  What their
// plans check is checked here first (types, lengths, options); what a plan's `finish`
// rejects (a negative weight, a NaN loss from a bad target) goes to the general path,
// which names it.

/** Whether the general path runs a call of n entries of this weight (its plan's) on the twins. */
const onTwins = (n: number, weight: number): boolean => engineFor(n, weight) === jsEngine;

/** The twins' one-row results and parts, read as soon as a twin returns (never handed out). */
const RES = new Float64Array(1), SIGN = new Float64Array(1), AUX = new Float64Array(4);
const ONES = new Float64Array(SMALL).fill(1);
const WEIGHTS = ['weights'] as const;

/** Whether every entry of an array is a number (typed arrays hold nothing else). */
function numbers(x: In): x is ArrayLike<number> {
  if (!Array.isArray(x)) return true;
  for (let i = 0; i < x.length; i++) if (typeof x[i] !== 'number') return false;
  return true;
}

/**
 * The weighted or signed log-sum-exp of a small vector into RES, SIGN and AUX (the twin's
 * parts; AUX[3], the smallest weight), with `o.weights` (or b = 1 where absent) one per
 * entry: false where the call is not one for here.
 */
function weighted(x: In, o: unknown, keys: readonly string[]): boolean {
  const given = (o as { weights?: unknown } | undefined)?.weights, w = given === undefined ? ONES : given; // (null: the general path's error)
  if (!only(o, keys) || !(w instanceof Float32Array || w instanceof Float64Array || Array.isArray(w))) return false;
  if ((w !== ONES && w.length !== x.length) || !numbers(x) || !numbers(w)) return false;
  const n = x.length, r = wasmRoom(n, weightedWeight(x instanceof Float32Array), w as In);
  if (!r) {
    weightedRow(x as ArrayLike<number>, w as ArrayLike<number>, n);
    return true;
  }
  // (slots: x 0, the weights 1, the parts 2, the value 3, the sign 4; numbers: checked above)
  const f32 = x instanceof Float32Array;
  put(r, 0, x, f32);
  if (w === ONES) r.view(1, n, f32).fill(1);
  else put(r, 1, w, f32);
  (f32 ? r.x.weightedLogSumExpRowsF32 : r.x.weightedLogSumExpRowsF64)(ptr(r, 0), ptr(r, 1), 1, 1, n, ptr(r, 3), ptr(r, 4), ptr(r, 2));
  RES[0] = at64(r, 3);
  SIGN[0] = at64(r, 4);
  AUX[3] = at64(r, 2, 3);
  return true;
}

/**
 * The twin's row (js/weighted.ts, `row`) of n ≤ 32 entries into RES, SIGN and AUX[3]: one
 * block, whose sums are the row's (a compensated sum of one term is that term), then its
 * `finish`; a row whose maximum or sums are not finite is the twin's own to classify.
 */
function weightedRow(x: ArrayLike<number>, w: ArrayLike<number>, n: number): void {
  let m = -Infinity, mw = Infinity;
  for (let i = 0; i < n; i++) {
    const b = w[i], v = x[i];
    if (b !== 0 && v > m) m = v;
    if (b < mw) mw = b;
  }
  let a = 0, s = 0;
  if (m > -Infinity && m < Infinity) {
    for (let i = 0; i < n; i++) {
      const b = w[i];
      if (b === 0) continue;
      const v = x[i];
      if (v === m) a += b;
      else s += b * expNonPos(v - m);
    }
  }
  if (!(m > -Infinity && m < Infinity && Number.isFinite(a) && Number.isFinite(s) && Number.isFinite(a + s))) {
    weightedLogSumExpRows(x, w, 1, 1, n, RES, SIGN, AUX);
    return;
  }
  finish(m, a, s, RES, SIGN, 0);
  AUX[3] = mw;
}

/** signedLogSumExp(x, { weights? }) of a small vector. */
export function signedLogSumExpSmall(x: unknown, o: unknown): SignedValue<number> | undefined {
  return small(x) && weighted(x, o, WEIGHTS) ? { value: RES[0], sign: SIGN[0] } : undefined;
}

const KL = ['base', 'temperature', 'gradP', 'gradQ'] as const;
type KlOptions = { base?: unknown; temperature?: unknown; gradP?: unknown; gradQ?: unknown };

/** A gradient array for inputs a and b (null where none is asked for, undefined where not one for here). */
function gradFor(a: In, b: In, given: unknown): FloatArray | null | undefined {
  if (given === undefined) return null;
  const g = outOf(a, given);
  return g && (known(b, g) || newApart(b, g)) ? g : undefined;
}

/** softmaxKlDivergence(a, b, { base?, temperature?, gradP?, gradQ? }) of small vectors. */
export function softmaxKlDivergenceSmall(a: unknown, b: unknown, o: unknown): number | undefined {
  if (!pair(a, b) || !only(o, KL) || !numbers(a as In) || !numbers(b as In)) return undefined;
  const opt = o as KlOptions | undefined, A = a as ArrayLike<number>, B = b as ArrayLike<number>;
  const scale = scaleOf(opt?.base), T = opt?.temperature === undefined ? 1 : opt.temperature; // (null: the general path's TypeError)
  if (scale !== scale || !(typeof T === 'number' && T >= 1e-30 && T <= 1e30)) return undefined;
  const gradP = gradFor(A, B, opt?.gradP), gradQ = gradFor(A, B, opt?.gradQ);
  if (gradP === undefined || gradQ === undefined || (gradP && gradQ && bufferOf(gradP) === bufferOf(gradQ))) return undefined;
  const f32 = A instanceof Float32Array && B instanceof Float32Array, n = A.length;
  const r = wasmRoom(n, ROW_WEIGHT, B);
  if (r) {
    // (slots: a 0, b 1, gradP 2, the result 3, gradQ 4; their entries are numbers: checked above)
    put(r, 0, A, f32);
    put(r, 1, B, f32);
    (f32 ? r.x.softmaxKlDivergenceRowsF32 : r.x.softmaxKlDivergenceRowsF64)(ptr(r, 0), ptr(r, 1), 1, n, T, scale, gradP ? ptr(r, 2) : 0, gradQ ? ptr(r, 4) : 0, ptr(r, 3), r.at + ROOM_TMP);
    if (gradP) take(r, 2, gradP, f32);
    if (gradQ) take(r, 4, gradQ, f32);
    // (a float32 gradient past FLT_MAX into a Float64Array, as the general path: softmax.ts)
    const value = at64(r, 3), gP = wideGrad(f32, gradP, UNBOUNDED), gQ = wideGrad(f32, gradQ, () => Math.abs(scale) / T);
    if (gP || gQ) wideGradRows([gP, gQ], 1, n, () => definedRow(A, 0, n) && definedRow(B, 0, n), () => softmaxKlDivergenceRows(A, B, 1, n, T, scale, gP, gQ, ROW_SCRATCH));
    return value;
  }
  stage.f32 = f32; // (its cut-off for exponentials: js/softmax.ts)
  softmaxKlDivergenceRows(A, B, 1, n, T, scale, gradP, gradQ, RES);
  return RES[0];
}

const FOCAL = ['alpha', 'gamma', 'reduction', 'base', 'grad'] as const;
type FocalOptions = { alpha?: unknown; gamma?: unknown; reduction?: unknown; base?: unknown; grad?: unknown };

/** sigmoidFocalLoss(x, t, { alpha?, gamma?, reduction?, base?, grad? }) of small vectors (a NaN total: the general path's, which names a bad target). */
export function sigmoidFocalLossSmall(x: unknown, t: unknown, o: unknown): number | Float64Array | undefined {
  if (!pair(x, t) || !only(o, FOCAL) || !numbers(x as In) || !numbers(t as In)) return undefined;
  const opt = o as FocalOptions | undefined, X = x as ArrayLike<number>, T = t as ArrayLike<number>, n = X.length;
  const reduction = reductionOf(opt?.reduction), lscale = scaleOf(opt?.base);
  const alpha = opt?.alpha === undefined ? 0.25 : opt.alpha, gamma = opt?.gamma === undefined ? 2 : opt.gamma;
  if (!reduction || lscale !== lscale) return undefined;
  if (!(typeof alpha === 'number' && alpha <= 1 && typeof gamma === 'number' && gamma >= 0 && gamma < Infinity)) return undefined;
  const grad = gradFor(X, T, opt?.grad);
  if (grad === undefined) return undefined;
  const gscale = (reduction === 'mean' ? 1 / n : 1) * lscale;
  const r = wasmRoom(n, ROW_WEIGHT, T);
  if (r) return sigmoidOn(r, true, X, T, alpha < 0 ? -1 : alpha, gamma, lscale, gscale, grad, reduction);
  const losses = reduction === 'none' ? new Float64Array(n) : null;
  sigmoidFocalLossRows(X, T, 1, n, alpha < 0 ? -1 : alpha, gamma, lscale, gscale, grad, RES, losses, null);
  const total = fsum(RES);
  if (total !== total) return undefined;
  return losses ? positiveZeros(losses, lscale) : reduction === 'sum' ? total : total / n;
}

const JOINT = ['cols', 'base', 'normalize', 'validate'] as const;
type JointOptions = { cols?: unknown; base?: unknown; normalize?: unknown; validate?: unknown };
const ROW_SUMS = new Float64Array(SMALL), COL_HI = new Float64Array(SMALL), COL_LO = new Float64Array(SMALL);
/** The twins' `acc`: the smallest entry, then the total as a TwoSum pair. */
const ACC = new Float64Array(3);
const TERMS = new Sum();

/**
 * mutualInformation (`mutual`) or conditionalEntropy of a small joint table: information.ts's
 * value (Σ c·log(ratio) over the total, never below 0, in the base).  The loops below are
 * the twins' (js/info.ts: `marginRows`, `mutualInformationRows`, and their helpers) on a
 * table of at most SMALL entries, where every row is one block of theirs: the same
 * operations in the same order, so the same bits, without the generic twins' calls and
 * per-entry tests.  A table that fails validation is the general path's.
 */
export function jointSmall(joint: unknown, o: unknown, mutual: boolean): number | undefined {
  if (!small(joint) || o === undefined || !only(o, JOINT) || !onTwins(joint.length, TABLE_WEIGHT) || !numbers(joint)) return undefined;
  const opt = o as JointOptions, cols = opt.cols, n = joint.length;
  // (only an absent flag takes its default: null is the general path's TypeError)
  const normalize = opt.normalize === undefined ? false : opt.normalize, validate = opt.validate === undefined ? true : opt.validate, scale = scaleOf(opt.base);
  if (!(typeof cols === 'number' && Number.isInteger(cols) && cols > 0 && n % cols === 0)) return undefined;
  if (typeof normalize !== 'boolean' || typeof validate !== 'boolean' || scale !== scale) return undefined;
  ACC[0] = Infinity;
  ACC[1] = ACC[2] = 0;
  const terms = mutual ? mutualTerms(joint, n / cols, cols) : conditionalTerms(joint, n / cols, cols);
  const total = Number.isFinite(ACC[1]) ? ACC[1] + ACC[2] : ACC[1];
  if (validate && !(ACC[0] >= 0 && (normalize ? total > 0 && total < Infinity : sumsTo1(total, joint)))) return undefined;
  // (the twins' last step: the terms' sum into a zeroed TwoSum pair, which makes an infinite sum NaN)
  ACC[0] = ACC[1] = 0;
  addTo(ACC, 0, terms);
  const sum = ACC[0] + ACC[1];
  return nonNegativeInBase((mutual ? sum : -sum) / total, scale);
}

/**
 * Σ c·log(c/q(x)) over the table, q(x) its row's sum (js/info.ts, `dominated`: apart from
 * a dominating largest entry, with a low part), and ACC's smallest entry and total.  Each
 * row's terms need only that row's sum, so one visit a row serves both passes of the
 * twins.  The total's TwoSum (`addTo`) and the terms' compensated sum (`Sum`) are written
 * out in locals here: through ACC and a `Sum` this function took ~10 % longer on tables of
 * 4 and 10 entries.
 */
function conditionalTerms(x: ArrayLike<number>, rows: number, cols: number): number {
  let mn = ACC[0], th = ACC[1], tl = ACC[2], sh = 0, sc = 0;
  for (let r = 0, off = 0; r < rows; r++, off += cols) {
    let s = 0, mx = 0;
    for (let j = off; j < off + cols; j++) {
      const v = x[j];
      s += v;
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
    let q = s, lo = 0;
    if (mx > 0 && mx < Infinity && mx >= s * Math.SQRT1_2) {
      let rest = 0, copies = 0;
      for (let j = off; j < off + cols; j++) {
        if (x[j] === mx) copies++;
        else rest += x[j];
      }
      rest += (copies - 1) * mx;
      q = mx + rest;
      const b = q - mx;
      lo = (mx - (q - b)) + (rest - b);
    }
    const t = th + s, bt = t - th;
    tl += (th - (t - bt)) + (s - bt);
    th = t;
    const a = 1 / q;
    let u = 0;
    for (let j = off; j < off + cols; j++) {
      const c = x[j], ratio = c * a;
      if (ratio >= DBL_MIN && ratio < Infinity) u += c * logOfRatio(c, q, lo, ratio);
    }
    const w = sh + u;
    sc += Math.abs(sh) >= Math.abs(u) ? sh - w + u : u - w + sh;
    sh = w;
  }
  ACC[0] = mn;
  ACC[1] = th;
  ACC[2] = tl;
  return Number.isFinite(sh) ? sh + sc : sh;
}

/**
 * Σ c·log(c·N/(c(x)·c(y))) over the table, and ACC's smallest entry and total: the margins
 * first (column sums in compensated pairs), then the terms over the reciprocal column sums.
 */
function mutualTerms(x: ArrayLike<number>, rows: number, cols: number): number {
  for (let j = 0; j < cols; j++) COL_HI[j] = COL_LO[j] = 0;
  let mn = ACC[0];
  for (let r = 0, off = 0; r < rows; r++, off += cols) {
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const v = x[off + j];
      s += v;
      if (v < mn) mn = v;
      addPair(COL_HI, COL_LO, j, v);
    }
    ROW_SUMS[r] = s;
    addTo(ACC, 1, s);
  }
  ACC[0] = mn;
  const N = Number.isFinite(ACC[1]) ? ACC[1] + ACC[2] : ACC[1];
  for (let j = 0; j < cols; j++) {
    const c = COL_HI[j] + COL_LO[j];
    COL_HI[j] = c;
    COL_LO[j] = 1 / c;
  }
  const terms = TERMS.reset();
  for (let r = 0, off = 0; r < rows; r++, off += cols) {
    const a = N / ROW_SUMS[r], rq = ROW_SUMS[r] / N;
    let u = 0;
    for (let j = 0; j < cols; j++) {
      const c = x[off + j], ratio = c * a * COL_LO[j];
      if (ratio >= DBL_MIN && ratio < Infinity) u += c * logOfRatio(c, rq * COL_HI[j], 0, ratio);
    }
    terms.add(u);
  }
  return terms.value();
}

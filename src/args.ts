// Argument parsing and validation, done once, before any kernel runs.  Every error
// names the function and the argument, says what was expected and what was given, and
// for a probability row that does not sum to 1 suggests `normalize: true`.
//
// Classes: a wrong type, a wrong shape or a non-integer `cols` is a TypeError; a value
// outside its domain (a negative probability, a base of 1, a label out of range, a
// partial overlap between input and output) is a RangeError.

import { WasmArray, isStrayModuleView } from './memory.js';
import type { FloatArray, Reduction } from './types.js';

/** @internal */
export type DType = 'f32' | 'f64';

/** @internal */
export interface Arg {
  /** The elements (a WasmArray is resolved to its current view). */
  data: ArrayLike<number>;
  dtype: DType;
  length: number;
  name: string;
}

/** Tolerance on |Σp − 1| without `normalize`: float64 as torch.distributions' simplex check, float32 looser for float32-summed data. */
export const SUM_TOLERANCE = { f32: 1e-5, f64: 1e-6 } as const;

/** @internal */
export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return `an Array(${x.length})`;
  if (ArrayBuffer.isView(x)) return `a ${x.constructor.name}`;
  if (typeof x === 'object') return `an object (${(x as object).constructor?.name ?? 'Object'})`;
  if (typeof x === 'string') return `a string (${JSON.stringify(x.length > 20 ? `${x.slice(0, 20)}…` : x)})`;
  return `${typeof x === 'undefined' ? '' : `${typeof x} `}${String(x)}`;
}

/** Whether a view's buffer is detached (transferred away). @internal */
export function isDetached(view: ArrayBufferView): boolean {
  const buffer = view.buffer as ArrayBuffer & { detached?: boolean };
  if (typeof buffer.detached === 'boolean') return buffer.detached;
  if (typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

/** A vector argument: any float or integer typed array, an Array of numbers, or a WasmArray. @internal */
export function vector(fn: string, name: string, x: unknown): Arg {
  // the float typed arrays first: at 16 elements the order of these tests shows
  if (x instanceof Float32Array) return typed(fn, name, x, 'f32');
  if (x instanceof Float64Array) return typed(fn, name, x, 'f64');
  if (x instanceof WasmArray) {
    if (!x.live) throw new TypeError(`${fn}: ${name} is a WasmArray that has been freed`);
    return { data: x.array, dtype: x.array instanceof Float32Array ? 'f32' : 'f64', length: x.length, name };
  }
  if (ArrayBuffer.isView(x)) {
    if (x instanceof DataView || (typeof BigInt64Array !== 'undefined' && (x instanceof BigInt64Array || x instanceof BigUint64Array))) {
      throw new TypeError(`${fn}: ${name} must be an array or typed array of numbers, got ${describe(x)}`);
    }
    // Integer (and float16) typed arrays: counts and labels are real uses; read as float64.
    return typed(fn, name, x as unknown as ArrayLike<number> & ArrayBufferView, 'f64');
  }
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) {
      if (typeof x[i] !== 'number') {
        throw new TypeError(`${fn}: ${name}[${i}] must be a number, got ${describe(x[i])}`);
      }
    }
    return { data: x, dtype: 'f64', length: x.length, name };
  }
  throw new TypeError(`${fn}: ${name} must be an array or typed array of numbers, got ${describe(x)}`);
}

function typed(fn: string, name: string, x: ArrayLike<number> & ArrayBufferView, dtype: DType): Arg {
  if (x.length === 0 && isDetached(x)) {
    throw new TypeError(`${fn}: ${name} is a view of a detached ArrayBuffer`);
  }
  // A view into surprisal's memory outside every live WasmArray (made by hand over its
  // buffer, or of a freed one) lies where the window stages rows: read once, now, so that
  // a call of several passes sees the same entries in each.
  const own = isStrayModuleView(x) ? (x as unknown as { slice(): typeof x }).slice() : x;
  return { data: own, dtype, length: x.length, name };
}

const NO_OPTIONS = Object.freeze({});

/** Edit distance (insertions, deletions, substitutions, transpositions) between two option names. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * Every own key of `o` must be a known option of `fn`: a misspelt option would otherwise
 * be silently ignored (`{ bse: 2 }` giving nats).  The error names the nearest known one.
 * @internal
 */
export function checkOptions(fn: string, o: object, known: readonly string[]): void {
  for (const key in o) {
    if (known.includes(key)) continue;
    let best = '', bestD = Infinity;
    for (const k of known) {
      const d = distance(key, k);
      if (d < bestD) {
        best = k;
        bestD = d;
      }
    }
    const hint = bestD <= Math.max(2, Math.floor(best.length / 3)) ? ` (did you mean '${best}'?)` : ` (its options: ${known.join(', ')})`;
    throw new TypeError(`${fn}: unknown option '${key}'${hint}`);
  }
}

/** The options object of a call (empty when absent), its keys checked against `known`. @internal */
export function options<T extends object>(fn: string, o: unknown, known: readonly string[]): Partial<T> {
  if (o === undefined || o === null) return NO_OPTIONS as Partial<T>;
  if (typeof o !== 'object') throw new TypeError(`${fn}: options must be an object, got ${describe(o)}`);
  checkOptions(fn, o, known);
  return o as Partial<T>;
}

/** @internal */
export interface Shape {
  rows: number;
  cols: number;
  /** True when `cols` was given: results are per row. */
  matrix: boolean;
}

/** Rows and columns of an input of `n` elements, `cols` given or not. @internal */
export function shape(fn: string, n: number, cols: unknown): Shape {
  if (cols === undefined) return { rows: 1, cols: n, matrix: false };
  if (typeof cols !== 'number' || !Number.isInteger(cols)) {
    throw new TypeError(`${fn}: cols must be an integer, got ${describe(cols)}`);
  }
  if (cols < 1) throw new RangeError(`${fn}: cols must be at least 1, got ${cols}`);
  if (n % cols !== 0) throw new RangeError(`${fn}: length ${n} is not a multiple of cols = ${cols}`);
  return { rows: n / cols, cols: n === 0 ? 0 : cols, matrix: true };
}

/** Two inputs of different lengths: a TypeError (a wrong shape), as `length % cols` is a RangeError (a wrong value). @internal */
export function sameLength(fn: string, a: Arg, b: Arg): void {
  if (a.length !== b.length) {
    throw new TypeError(`${fn}: ${a.name} and ${b.name} must have the same length, got ${a.length} and ${b.length}`);
  }
}

/**
 * 1/ln(base) for a `base` option (1 when absent: nats); values in nats are multiplied by
 * it.  scipy divides by ln(base) instead, so the two can differ in the last bit (the
 * entropy of [1, 1, 2] in bits: 1.4999999999999998 here, 1.5 there).  Against 40-digit
 * values of 3000 random distributions, multiplying gave the correctly rounded result as
 * often as dividing in base 2 (51 % and 49 %) and more often in base 10 (51 % and 38 %).
 * @internal
 */
export function baseScale(fn: string, base: unknown): number {
  if (base === undefined) return 1;
  if (typeof base !== 'number') throw new TypeError(`${fn}: base must be a number, got ${describe(base)}`);
  if (!Number.isFinite(base) || base <= 0 || base === 1) {
    throw new RangeError(`${fn}: base must be finite, positive and not 1, got ${base}`);
  }
  return base === 2 ? Math.LOG2E : base === 10 ? Math.LOG10E : 1 / Math.log(base);
}

/**
 * The `temperature` option T (1 when absent), within [1e-30, 1e30]: there 1/T, log₂e/T
 * and ln 2·T are normal float32 numbers, so the float32 kernels see the same T as the
 * float64 ones (a temperature of 1e-30 already makes every softmax one-hot).
 * @internal
 */
export function temperature(fn: string, t: unknown): number {
  if (t === undefined) return 1;
  if (typeof t !== 'number') throw new TypeError(`${fn}: temperature must be a number, got ${describe(t)}`);
  if (!(t >= 1e-30 && t <= 1e30)) throw new RangeError(`${fn}: temperature must be in [1e-30, 1e30], got ${t}`);
  return t;
}

/** @internal */
export function flag(fn: string, name: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new TypeError(`${fn}: ${name} must be a boolean, got ${describe(v)}`);
  return v;
}

/** A loss's `reduction` (absent: 'mean'); a string that is none of the three is a RangeError, anything else a TypeError. @internal */
export function reductionOption(fn: string, v: unknown): Reduction {
  if (v === undefined) return 'mean';
  if (v === 'mean' || v === 'sum' || v === 'none') return v;
  throw new (typeof v === 'string' ? RangeError : TypeError)(`${fn}: reduction must be 'mean', 'sum' or 'none', got ${describe(v)}`);
}

/** A loss's `labelSmoothing` ε ∈ [0, 1) (absent: 0). @internal */
export function labelSmoothingOption(fn: string, v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number') throw new TypeError(`${fn}: labelSmoothing must be a number, got ${describe(v)}`);
  if (!(v >= 0 && v < 1)) throw new RangeError(`${fn}: labelSmoothing must be in [0, 1), got ${v}`);
  return v;
}

/**
 * A loss's class `weights` (one per class of `cols`), copied as float64: each finite and
 * non-negative (PyTorch does not check; a negative or NaN weight would make 'mean' divide
 * by a sum that is no total). @internal
 */
export function classWeights(fn: string, w: unknown, cols: number): Float64Array {
  const W = vector(fn, 'weights', w);
  if (W.length !== cols) throw new TypeError(`${fn}: weights must have one entry per class (${cols}), got length ${W.length}`);
  const weights = Float64Array.from(W.data);
  for (let i = 0; i < cols; i++) {
    const v = weights[i];
    if (!(v >= 0 && v < Infinity)) throw new RangeError(`${fn}: weights[${i}] is ${v}; weights must be finite and non-negative`);
  }
  return weights;
}

/** Where entry `i` of a possibly row-major input sits, for messages. @internal */
export function at(arg: Arg, i: number, s: Shape): string {
  return s.matrix ? `${arg.name}[${i}] (row ${Math.floor(i / s.cols)}, entry ${i % s.cols})` : `${arg.name}[${i}]`;
}

/**
 * Checks a probability input from the statistics its kernel returned: the smallest
 * entry and the row sums (`sums[offset + r]`).  Entries are scanned only when those
 * say something is wrong, to name the first bad one.
 * @internal
 */
export function checkProbabilities(fn: string, arg: Arg, s: Shape, min: number, sums: Float64Array, offset: number, normalize: boolean): void {
  const tol = arg.dtype === 'f32' ? SUM_TOLERANCE.f32 : SUM_TOLERANCE.f64;
  // the common case, every row fine, in one tight loop; the loops below name the fault
  if (min >= 0) {
    let r = 0;
    if (normalize) while (r < s.rows && sums[offset + r] > 0 && sums[offset + r] < Infinity) r++;
    else while (r < s.rows && Math.abs(sums[offset + r] - 1) <= tol) r++;
    if (r === s.rows) return;
  }
  let suspect = !(min >= 0);
  for (let r = 0; r < s.rows && !suspect; r++) suspect = !Number.isFinite(sums[offset + r]);
  if (suspect) {
    const d = arg.data;
    for (let i = 0; i < arg.length; i++) {
      const v = d[i];
      if (v < 0) throw new RangeError(`${fn}: ${at(arg, i, s)} is ${v}; probabilities must be non-negative`);
      if (!Number.isFinite(v)) throw new RangeError(`${fn}: ${at(arg, i, s)} is ${v}; probabilities must be finite`);
    }
  }
  if (s.cols === 0) return; // an empty vector: the empty sum, nothing to normalise
  for (let r = 0; r < s.rows; r++) {
    const sum = sums[offset + r];
    const which = s.matrix ? `${arg.name} row ${r}` : arg.name;
    if (normalize) {
      if (!(sum > 0) || !Number.isFinite(sum)) {
        throw new RangeError(`${fn}: ${which} sums to ${sum}; normalize needs a positive, finite sum`);
      }
    } else if (!(Math.abs(sum - 1) <= tol)) {
      throw new RangeError(
        `${fn}: ${which} sums to ${sum}, not 1 (tolerance ${tol}); pass { normalize: true } to treat it as weights or counts`,
      );
    }
  }
}

/**
 * An `out`/`grad` argument: a Float32Array, Float64Array or WasmArray of `n` elements
 * that is the input itself (in place) or does not overlap it.
 * @internal
 */
export function output(fn: string, name: string, o: unknown, n: number, inputs: Arg[], inPlaceOk: Arg[]): FloatArray {
  const view = o instanceof WasmArray ? (o.live ? o.array : null) : o;
  if (!(view instanceof Float32Array || view instanceof Float64Array)) {
    throw new TypeError(`${fn}: ${name} must be a Float32Array, Float64Array or WasmArray, got ${o instanceof WasmArray ? 'a freed WasmArray' : describe(o)}`);
  }
  if (view.length !== n) {
    // (a detached view has length 0, so this is the only place it can show)
    if (n > 0 && isDetached(view)) throw new TypeError(`${fn}: ${name} is a view of a detached ArrayBuffer`);
    throw new TypeError(`${fn}: ${name} must have length ${n}, got ${view.length}`);
  }
  if (n === 0) return view;
  const buffer = view.buffer;
  if (isStrayModuleView(view)) {
    throw new TypeError(`${fn}: ${name} is a view into surprisal's WebAssembly memory outside any live WasmArray (freed, or made by hand); pass a live WasmArray or an array of your own`);
  }
  for (let k = 0; k < inputs.length; k++) {
    const arg = inputs[k];
    const d = arg.data;
    if (!ArrayBuffer.isView(d) || d.buffer !== buffer) continue;
    const a0 = d.byteOffset, a1 = a0 + (d as FloatArray).byteLength;
    const b0 = view.byteOffset, b1 = b0 + view.byteLength;
    if (a1 <= b0 || b1 <= a0) continue;
    const same = a0 === b0 && a1 === b1 && d.constructor === view.constructor;
    if (!(same && inPlaceOk.includes(arg))) {
      throw new RangeError(`${fn}: ${name} overlaps ${arg.name}${same ? '' : ' partially'}; ${inPlaceOk.includes(arg) ? `pass ${arg.name} itself to work in place, or` : 'use'} a separate array`);
    }
  }
  return view;
}

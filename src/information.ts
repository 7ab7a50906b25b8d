// Information from a joint table — mutual information and conditional entropy — and the
// entropy of a byte stream.

import { type Arg, type Shape, SUM_TOLERANCE, baseScale, describe, flag, isDetached, options, shape, vector } from './args.js';
import { execute, type Plan, TABLE_WEIGHT } from './plan.js';
import { WasmArray } from './memory.js';
import { Sum } from './js/sum.js';
import { nonNegativeInBase } from './reductions.js';
import { byteEntropySmall, jointSmall } from './small.js';
import type { BaseOption, Vector } from './types.js';

export interface JointOptions extends BaseOption {
  /** Columns of the joint table (values of Y); its rows are the values of X.  Required. */
  cols: number;
  /** Treat the table as non-negative weights or counts (a contingency table) and divide by their total. */
  normalize?: boolean;
  /** Check that the entries are finite, non-negative and (without `normalize`) sum to 1. Default `true`. */
  validate?: boolean;
}

export interface ByteEntropyOptions {
  /** Logarithm base: `2` (bits per byte, the default: 0…8), `Math.E` (nats), `256` (0…1). */
  base?: number;
}

const JOINT_OPTIONS = ['cols', 'base', 'normalize', 'validate'] as const;
const BYTE_OPTIONS = ['base'] as const;

/** Where entry i of the table sits, for messages. */
const entry = (i: number, s: Shape): string => `joint[${i}] (row ${Math.floor(i / s.cols)}, column ${i % s.cols})`;

/**
 * Checks a joint table from its margins' statistics: the smallest entry and the total
 * (as `checkProbabilities` does per row for the entropy functions, over the whole table).
 */
function checkJoint(fn: string, arg: Arg, s: Shape, min: number, total: number, normalize: boolean): void {
  const tol = arg.dtype === 'f32' ? SUM_TOLERANCE.f32 : SUM_TOLERANCE.f64;
  if (min >= 0 && (normalize ? total > 0 && total < Infinity : Math.abs(total - 1) <= tol)) return;
  if (!(min >= 0) || !Number.isFinite(total)) {
    const d = arg.data;
    for (let i = 0; i < arg.length; i++) {
      const v = d[i];
      if (v < 0) throw new RangeError(`${fn}: ${entry(i, s)} is ${v}; probabilities must be non-negative`);
      if (!Number.isFinite(v)) throw new RangeError(`${fn}: ${entry(i, s)} is ${v}; probabilities must be finite`);
    }
  }
  if (normalize) {
    throw new RangeError(`${fn}: joint sums to ${total}; normalize needs a positive, finite sum`);
  }
  throw new RangeError(`${fn}: joint sums to ${total}, not 1 (tolerance ${tol}); pass { normalize: true } to treat it as weights or counts`);
}

/**
 * Σ c·log(ratio) over the table, and its total N: the ratio is c·N/(c(x)·c(y)) for the
 * mutual information, c/c(x) for the conditional entropy.  Two plans run one after the
 * other: the margins (and, in their finish, validation), then the terms.
 */
function jointTerms(fn: string, joint: Vector, options_: unknown, mutual: boolean): { sum: number; total: number; scale: number } | null {
  const o = options<JointOptions>(fn, options_, JOINT_OPTIONS);
  const X = vector(fn, 'joint', joint);
  if (o.cols === undefined) {
    throw new TypeError(`${fn}: cols is required (the joint table is row-major, rows × cols: one row per value of X, one column per value of Y)`);
  }
  const s = shape(fn, X.length, o.cols);
  const scale = baseScale(fn, o.base);
  const normalize = flag(fn, 'normalize', o.normalize, false);
  const validate = flag(fn, 'validate', o.validate, true);
  if (X.length === 0) return null;
  const f32 = X.dtype === 'f32';
  // pass 1: the margins, the total and the smallest entry
  // (row sums, and for the conditional entropy their low parts on dominated rows: assembly/info.ts)
  const rowSums = new Float64Array(s.rows), rowLo = mutual ? null : new Float64Array(s.rows);
  const colHi = new Float64Array(s.cols), colLo = new Float64Array(s.cols);
  const acc = Float64Array.of(Infinity, 0, 0);
  const margins: Plan<number> = {
    rows: s.rows, cols: s.cols, size: X.length, weight: TABLE_WEIGHT,
    stages: [{ kernel: 'marginRows', f32, args: [X.data, s.rows, s.cols, rowSums, rowLo, colHi, colLo, acc] }],
    finish: () => {
      const total = Number.isFinite(acc[1]) ? acc[1] + acc[2] : acc[1];
      if (validate) checkJoint(fn, X, s, acc[0], total, normalize);
      return total;
    },
  };
  const total = execute(margins);
  // pass 2: the terms (for the mutual information, over the reciprocal column sums)
  let colInv: Float64Array | null = null, colSum: Float64Array | null = null;
  if (mutual) {
    colInv = colLo;
    colSum = colHi;
    for (let j = 0; j < s.cols; j++) {
      const c = colHi[j] + colLo[j];
      colSum[j] = c;
      colInv[j] = 1 / c;
    }
  }
  const sum = new Float64Array(2);
  // a WasmArray's view is read anew: the first pass may have grown memory and detached it
  const data = joint instanceof WasmArray ? joint.array : X.data;
  return execute({
    rows: s.rows, cols: s.cols, size: X.length, weight: TABLE_WEIGHT,
    stages: [{ kernel: 'mutualInformationRows', f32, args: [data, s.rows, s.cols, rowSums, rowLo, colInv, colSum, total, sum] }],
    finish: () => ({ sum: sum[0] + sum[1], total, scale }),
  });
}

/**
 * The mutual information I(X;Y) = Σ p(x,y)·log(p(x,y) / (p(x)·p(y))) of a joint table:
 * rows are the values of X, columns (`cols`, required) those of Y.  A probability table
 * (summing to 1), or with `normalize: true` any non-negative table — counts, a contingency
 * table — divided by its total: sklearn's `mutual_info_score(contingency=…)` (which always
 * normalises, and whose result this matches).  In nats unless `base` says otherwise; 0
 * for independent X and Y (up to rounding; never negative).  One pass over the table for
 * its margins, one for the terms, every sum compensated.
 *
 * @example
 * ```ts
 * import { mutualInformation } from 'surprisal';
 * mutualInformation([0.5, 0, 0, 0.5], { cols: 2, base: 2 }); // 1 (X determines Y: one bit)
 * mutualInformation([1, 2, 3, 6], { cols: 2, normalize: true }); // 0 (independent counts)
 * ```
 */
export function mutualInformation(joint: Vector, options: JointOptions): number {
  const v = mutualInformationOf(joint, options);
  // a table of one row or one column: X or Y takes one value and I is 0 exactly, where its
  // terms, each log 1 rounded, need not cancel
  return v === v && (options.cols === 1 || joint.length === options.cols) ? 0 : v;
}

function mutualInformationOf(joint: Vector, options: JointOptions): number {
  const small = jointSmall(joint, options, true);
  if (small !== undefined) return small;
  const t = jointTerms('mutualInformation', joint, options, true);
  if (!t) return 0;
  // (independent margins round either way around 0)
  return nonNegativeInBase(t.sum / t.total, t.scale);
}

/**
 * The conditional entropy H(Y|X) = −Σ p(x,y)·log(p(x,y) / p(x)) = H(X,Y) − H(X) of a
 * joint table: rows X, columns Y (`cols`, required); probabilities, or with `normalize`
 * counts (see `mutualInformation`).  In nats unless `base` says otherwise; 0 when X
 * determines Y.
 *
 * @example
 * ```ts
 * import { conditionalEntropy } from 'surprisal';
 * conditionalEntropy([0.25, 0.25, 0.5, 0], { cols: 2, base: 2 }); // 0.5 (a fair bit when X = 0, none when X = 1)
 * ```
 */
export function conditionalEntropy(joint: Vector, options: JointOptions): number {
  const small = jointSmall(joint, options, false);
  if (small !== undefined) return small;
  const t = jointTerms('conditionalEntropy', joint, options, false);
  if (!t) return 0;
  return nonNegativeInBase(-t.sum / t.total, t.scale);
}

/**
 * H = −Σ (c/n)·log(c/n) over 256 counts of n bytes, each term from c and n (log1p for a
 * count above n/2), compensated.
 */
function entropyOfCounts(counts: Float64Array, n: number): number {
  const sum = new Sum();
  for (let v = 0; v < 256; v++) {
    const c = counts[v];
    if (c === 0) continue;
    sum.add(-c * (2 * c > n ? Math.log1p((c - n) / n) : Math.log(c / n)));
  }
  return sum.value() / n;
}

/**
 * The Shannon entropy of the byte histogram of `bytes`, in bits per byte (0…8) unless
 * `base` says otherwise: `scipy.stats.entropy(np.bincount(b, minlength=256), base=2)`.
 * The histogram is counted in WebAssembly (four sub-histograms, so that runs of one byte
 * never stall on the store before them), and the counts are float64, so any length
 * counts exactly.  Empty input: 0.  A Uint8Array, a Buffer or a Uint8ClampedArray; a view
 * into a WasmArray's memory is read in place.
 *
 * @example
 * ```ts
 * import { byteEntropy } from 'surprisal';
 * byteEntropy(new TextEncoder().encode('abab')); // 1
 * byteEntropy(Uint8Array.from({ length: 256 }, (_, i) => i)); // 8
 * ```
 */
export function byteEntropy(bytes: Uint8Array | Uint8ClampedArray, options_?: ByteEntropyOptions): number {
  const v = byteEntropySmall(bytes, options_);
  if (v !== undefined) return v;
  const fn = 'byteEntropy';
  const o = options<ByteEntropyOptions>(fn, options_, BYTE_OPTIONS);
  let b: Uint8Array;
  if (bytes instanceof Uint8Array) b = bytes;
  else if (bytes instanceof Uint8ClampedArray) b = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  else {
    const u: unknown = bytes;
    const hint = u instanceof ArrayBuffer || ArrayBuffer.isView(u) ? ' (wrap it: new Uint8Array(buffer, byteOffset, length))' : '';
    throw new TypeError(`${fn}: bytes must be a Uint8Array, got ${describe(bytes)}${hint}`);
  }
  const scale = baseScale(fn, o.base === undefined ? 2 : o.base);
  const n = b.length;
  if (n === 0) {
    if (isDetached(b)) throw new TypeError(`${fn}: bytes is a view of a detached ArrayBuffer`);
    return 0;
  }
  return execute(byteEntropyPlan(b, n, scale));
}

/**
 * The histogram's stage and the entropy of its counts.  The bytes go to the kernel as n
 * rows of one byte: it counts rows × cols contiguous bytes, and the engine stages (or
 * reads in place) blocks of rows of at most 256 KiB, which stay in L2 while counted.
 */
function byteEntropyPlan(b: Uint8Array, n: number, scale: number): Plan<number> {
  const counts = new Float64Array(256);
  return {
    rows: n, cols: 1, size: n, weight: 3,
    stages: [{ kernel: 'byteHistogram', f32: false, args: [b, n, 1, counts, null] }],
    finish: () => {
      return nonNegativeInBase(entropyOfCounts(counts, n), scale);
    },
  };
}

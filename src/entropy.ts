// Information, entropy, cross-entropy and the KL and Jensen–Shannon divergences of
// probability vectors (or of each row of a matrix, with `cols`).

import { type Shape, baseScale, checkProbabilities, describe, flag, options, sameLength, shape, vector } from './args.js';
import { engineFor } from './backend.js';
import type { BaseOption, ProbabilityOptions, Vector } from './types.js';

/** Options of a reduction called on one vector: the result is a number. */
export type VectorOptions<O> = O & { cols?: undefined };
/** Options of a reduction called on a matrix: the result has one value per row. */
export type MatrixOptions<O> = O & { cols: number };

// One-row results and sums of 1-D calls, reused: a call returns a number from them, and
// calls are synchronous, so nothing else can see them (a fresh Float64Array per call
// costs more than a 16-element JS loop).
const ONE = new Float64Array(1);
const TWO = new Float64Array(2);

/** Per-row result and sums arrays: fresh for a matrix (returned to the caller), shared for a vector. */
export function rowBuffers(s: Shape, inputs: 1 | 2): { out: Float64Array; sums: Float64Array } {
  if (s.matrix) return { out: new Float64Array(s.rows), sums: new Float64Array(inputs * s.rows) };
  return { out: ONE, sums: TWO };
}

/** Scales nats to the requested base and returns a number (1-D) or the rows. */
export function finish(out: Float64Array, scale: number, s: Shape): number | Float64Array {
  for (let r = 0; r < out.length; r++) {
    const v = out[r];
    out[r] = v === 0 ? 0 : v * scale; // also turns −0 (−Σ of zero terms) into 0
  }
  return s.matrix ? out : out[0];
}

/**
 * Self-information (surprisal) of an event of probability `p`: −log_b p.
 *
 * `p = 0` gives `Infinity`; `p` outside [0, 1] or NaN is a RangeError.
 *
 * @example
 * ```ts
 * import { information } from 'surprisal';
 * information(0.99, { base: 2 }); // 0.014499569695115089 bits: a biased coin's heads
 * information(0.01, { base: 2 }); // 6.643856189774724 bits: its tails
 * ```
 */
export function information(p: number, options_?: BaseOption): number {
  const fn = 'information';
  const o = options<BaseOption>(fn, options_);
  if (typeof p !== 'number') throw new TypeError(`${fn}: p must be a number, got ${describe(p)}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${fn}: p must be a probability in [0, 1], got ${p}`);
  const scale = baseScale(fn, o.base);
  const nats = o.base === 2 ? -Math.log2(p) : o.base === 10 ? -Math.log10(p) : -Math.log(p) * scale;
  return nats + 0; // information(1) is 0, not −0
}

/**
 * Shannon entropy H(P) = −Σ pᵢ log pᵢ (0·log 0 = 0), of a vector or of each row.
 *
 * @example
 * ```ts
 * import { entropy } from 'surprisal';
 * entropy([0.99, 0.01], { base: 2 });                  // 0.08079313589591118 bits
 * entropy([1, 1, 2], { normalize: true });             // 1.0397207708399179 nats (counts)
 * entropy([0.5, 0.5, 1, 0], { cols: 2, base: 2 });     // Float64Array [1, 0]
 * ```
 */
export function entropy(p: Vector, options?: VectorOptions<ProbabilityOptions>): number;
export function entropy(p: Vector, options: MatrixOptions<ProbabilityOptions>): Float64Array;
export function entropy(p: Vector, options_?: ProbabilityOptions): number | Float64Array {
  const fn = 'entropy';
  const o = options<ProbabilityOptions>(fn, options_);
  const P = vector(fn, 'p', p);
  const s = shape(fn, P.length, o.cols);
  const scale = baseScale(fn, o.base);
  const normalize = flag(fn, 'normalize', o.normalize, false);
  const validate = flag(fn, 'validate', o.validate, true);
  const { out, sums } = rowBuffers(s, 1);
  const f32 = P.dtype === 'f32' && !normalize;
  const engine = engineFor(P.length, f32 ? 1 : 4);
  const min = f32
    ? engine.entropyRowsF32(P.data, s.rows, s.cols, out, sums)
    : engine.entropyRowsF64(P.data, s.rows, s.cols, normalize, out, sums);
  if (validate) checkProbabilities(fn, P, s, min, sums, 0, normalize);
  return finish(out, scale, s);
}

type PQKernel = 'crossEntropyRows' | 'klDivergenceRows' | 'jsDivergenceRows';
/** The float32 and float64 kernels of each (names spelled out: no string is built per call). */
const KERNELS = {
  crossEntropyRows: ['crossEntropyRowsF32', 'crossEntropyRowsF64'],
  klDivergenceRows: ['klDivergenceRowsF32', 'klDivergenceRowsF64'],
  jsDivergenceRows: ['jsDivergenceRowsF32', 'jsDivergenceRowsF64'],
} as const;

/** The shared body of the two-distribution reductions. */
function pq(fn: string, kernel: PQKernel, p: Vector, q: Vector, options_: ProbabilityOptions | undefined): number | Float64Array {
  const o = options<ProbabilityOptions>(fn, options_);
  const P = vector(fn, 'p', p);
  const Q = vector(fn, 'q', q);
  sameLength(fn, P, Q);
  const s = shape(fn, P.length, o.cols);
  const scale = baseScale(fn, o.base);
  const normalize = flag(fn, 'normalize', o.normalize, false);
  const validate = flag(fn, 'validate', o.validate, true);
  const { out, sums } = rowBuffers(s, 2);
  // Float32 lanes when both inputs are float32; normalising float32 input runs the
  // float64 kernels on a converted copy, so that p/Σp is not rounded to float32.
  const f32 = P.dtype === 'f32' && Q.dtype === 'f32' && !normalize;
  const engine = engineFor(P.length, f32 ? 1 : 4);
  const min = f32
    ? engine[KERNELS[kernel][0]](P.data, Q.data, s.rows, s.cols, out, sums)
    : engine[KERNELS[kernel][1]](P.data, Q.data, s.rows, s.cols, normalize, out, sums);
  if (validate) {
    checkProbabilities(fn, P, s, min, sums, 0, normalize);
    checkProbabilities(fn, Q, s, min, sums, s.rows, normalize);
  }
  return finish(out, scale, s);
}

/**
 * Cross-entropy H(P, Q) = −Σ pᵢ log qᵢ; `Infinity` where some pᵢ > 0 has qᵢ = 0.
 *
 * @example
 * ```ts
 * import { crossEntropy } from 'surprisal';
 * const p = [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]; // MNIST digit "2", one-hot
 * const q = [0.01, 0.02, 0.75, 0.05, 0.02, 0.1, 0.001, 0.02, 0.009, 0.02];
 * crossEntropy(p, q); // 0.2876820724517809 nats = −ln 0.75
 * ```
 */
export function crossEntropy(p: Vector, q: Vector, options?: VectorOptions<ProbabilityOptions>): number;
export function crossEntropy(p: Vector, q: Vector, options: MatrixOptions<ProbabilityOptions>): Float64Array;
export function crossEntropy(p: Vector, q: Vector, options?: ProbabilityOptions): number | Float64Array {
  return pq('crossEntropy', 'crossEntropyRows', p, q, options);
}

/**
 * Kullback–Leibler divergence D(P‖Q) = Σ pᵢ log(pᵢ/qᵢ), each term from the ratio so
 * that close distributions keep their digits; `Infinity` where pᵢ > 0 = qᵢ.
 *
 * @example
 * ```ts
 * import { klDivergence } from 'surprisal';
 * klDivergence([0.5, 0.5], [0.9, 0.1]); // 0.5108256237659907 nats
 * klDivergence([0.9, 0.1], [0.5, 0.5]); // 0.3680642071684971: not symmetric
 * ```
 */
export function klDivergence(p: Vector, q: Vector, options?: VectorOptions<ProbabilityOptions>): number;
export function klDivergence(p: Vector, q: Vector, options: MatrixOptions<ProbabilityOptions>): Float64Array;
export function klDivergence(p: Vector, q: Vector, options?: ProbabilityOptions): number | Float64Array {
  return pq('klDivergence', 'klDivergenceRows', p, q, options);
}

/**
 * Jensen–Shannon divergence ½D(P‖M) + ½D(Q‖M), M = ½(P + Q): symmetric, finite, at
 * most log 2 (1 bit).
 *
 * @example
 * ```ts
 * import { jsDivergence } from 'surprisal';
 * jsDivergence([1, 0], [0, 1], { base: 2 }); // 1
 * ```
 */
export function jsDivergence(p: Vector, q: Vector, options?: VectorOptions<ProbabilityOptions>): number;
export function jsDivergence(p: Vector, q: Vector, options: MatrixOptions<ProbabilityOptions>): Float64Array;
export function jsDivergence(p: Vector, q: Vector, options?: ProbabilityOptions): number | Float64Array {
  return pq('jsDivergence', 'jsDivergenceRows', p, q, options);
}

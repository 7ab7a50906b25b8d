// Information, entropy, cross-entropy and the KL and Jensen–Shannon divergences of
// probability vectors (or of each row of a matrix, with `cols`).
//
// One kernel pass a call (assembly/reduce.ts): it returns each row's value and its parts
// (`aux`: the row sums and the smallest entry), from which the inputs are validated
// afterwards, entries scanned only to name a bad one.  Inputs below 8 to 32 elements (the
// plans' weights, plan.ts) run on the JS twins, which beat a wasm call's fixed cost
// there.  float32 lanes when the inputs are Float32Arrays (both, for two distributions)
// and not normalised: normalising runs the float64 kernel on the values (p/Σp is then not
// rounded to float32, and the result meets the float64 bound), as 0.1 did.

import { type Arg, type Shape, SUM_TOLERANCE, baseScale, checkProbabilities, describe, flag, options, sameLength, shape, vector } from './args.js';
import { crossEntropyWeight, entropyWeight, execute, jsWeight, klWeight, type Plan } from './plan.js';
import { perRow, scaled } from './reductions.js';
import { crossEntropySmall, entropySmall, jsDivergenceSmall, klDivergenceSmall } from './small.js';
import type { BaseOption, MatrixOptions, ProbabilityOptions, Vector, VectorOptions } from './types.js';

const BASE_OPTIONS = ['base'] as const;
const OPTIONS = ['base', 'normalize', 'validate', 'cols', 'out'] as const;

// The parts of a vector's one row, reused (calls are synchronous, and nothing outside
// this module sees them); a matrix's are allocated per call.
const AUX: Record<number, Float64Array> = { 2: new Float64Array(2), 4: new Float64Array(4), 5: new Float64Array(5), 6: new Float64Array(6) };
const auxOf = (s: Shape, k: number): Float64Array => (s.matrix ? new Float64Array(s.rows * k) : AUX[k]);

/**
 * Validates an input from its kernel's parts: row r's sum is `sum(r)`, the smallest
 * entry is the smallest of aux[k·r + at].  The common case — every row fine — is one
 * loop; otherwise `checkProbabilities` names the fault.
 */
function check(fn: string, arg: Arg, s: Shape, aux: Float64Array, k: number, at: number, sum: (r: number) => number, normalize: boolean): void {
  const tol = arg.dtype === 'f32' ? SUM_TOLERANCE.f32 : SUM_TOLERANCE.f64;
  let min = Infinity, ok = true;
  for (let r = 0; r < s.rows; r++) {
    const m = aux[k * r + at];
    if (m < min) min = m;
    const w = sum(r);
    if (normalize ? !(w > 0 && w < Infinity) : !(Math.abs(w - 1) <= tol)) ok = false;
  }
  if (ok && min >= 0) return;
  const sums = new Float64Array(s.rows);
  for (let r = 0; r < s.rows; r++) sums[r] = sum(r);
  checkProbabilities(fn, arg, s, min, sums, 0, normalize);
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
  const o = options<BaseOption>(fn, options_, BASE_OPTIONS);
  if (typeof p !== 'number') throw new TypeError(`${fn}: p must be a number, got ${describe(p)}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${fn}: p must be a probability in [0, 1], got ${p}`);
  const scale = baseScale(fn, o.base);
  const nats = o.base === 2 ? -Math.log2(p) : o.base === 10 ? -Math.log10(p) : -Math.log(p) * scale;
  return nats + 0; // information(1) is 0, not −0
}

/**
 * Shannon entropy H(P) = −Σ pᵢ log pᵢ (0·log 0 = 0), of a vector or of each row.
 * Accurate to the last bits however long the row (the entropy of a uniform
 * distribution of 4·10⁶ entries is log n within 2e-15): see the kernels' notes.
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
export function entropy(p: Vector, options?: ProbabilityOptions): number | Float64Array {
  return entropySmall(p, options) ?? execute(entropyPlan(p, options));
}

/** @internal */
export function entropyPlan(p: Vector, options_?: ProbabilityOptions): Plan<number | Float64Array> {
  const fn = 'entropy';
  const o = options<ProbabilityOptions>(fn, options_, OPTIONS);
  const P = vector(fn, 'p', p);
  const s = shape(fn, P.length, o.cols);
  const scale = baseScale(fn, o.base);
  const normalize = flag(fn, 'normalize', o.normalize, false);
  const validate = flag(fn, 'validate', o.validate, true);
  const f32 = P.dtype === 'f32' && !normalize;
  const res = perRow(s, fn, o.out, [P]);
  const aux = validate ? auxOf(s, 5) : null;
  return {
    rows: s.rows, cols: s.cols, size: P.length, weight: entropyWeight(f32),
    stages: [{ kernel: 'entropyRows', f32, args: [P.data, s.rows, s.cols, normalize ? 1 : 0, res, aux] }],
    finish: () => {
      if (aux) check(fn, P, s, aux, 5, 4, (r) => aux[5 * r] + aux[5 * r + 1], normalize);
      return scaled(res, scale, s);
    },
  };
}

type PQKernel = 'crossEntropyRows' | 'klDivergenceRows';

/** The parsed arguments of a two-distribution function (cross-entropy, KL, Jensen–Shannon). */
function pqArgs(fn: string, p: Vector, q: Vector, options_: ProbabilityOptions | undefined) {
  const o = options<ProbabilityOptions>(fn, options_, OPTIONS);
  const P = vector(fn, 'p', p);
  const Q = vector(fn, 'q', q);
  sameLength(fn, P, Q);
  const s = shape(fn, P.length, o.cols);
  const scale = baseScale(fn, o.base);
  const normalize = flag(fn, 'normalize', o.normalize, false);
  const validate = flag(fn, 'validate', o.validate, true);
  // float32 lanes when both inputs are float32 and not normalised (see the top)
  const f32 = P.dtype === 'f32' && Q.dtype === 'f32' && !normalize;
  return { P, Q, s, scale, normalize, validate, f32, res: perRow(s, fn, o.out, [P, Q]) };
}

/** The plan of cross-entropy or KL (`kernel`, whose parts are k a row, Σp at `sp`, Σq at `sq`, the smallest entry at `at`). */
function pqPlan(fn: string, kernel: PQKernel, k: number, sp: (a: Float64Array, r: number) => number, sq: number, at: number,
  p: Vector, q: Vector, options_: ProbabilityOptions | undefined): Plan<number | Float64Array> {
  const { P, Q, s, scale, normalize, validate, f32, res } = pqArgs(fn, p, q, options_);
  const aux = validate ? auxOf(s, k) : null;
  return {
    rows: s.rows, cols: s.cols, size: P.length, weight: kernel === 'crossEntropyRows' ? crossEntropyWeight(f32) : klWeight(f32),
    stages: [{ kernel, f32, args: [P.data, Q.data, s.rows, s.cols, normalize ? 1 : 0, res, aux] }],
    finish: () => {
      if (aux) {
        check(fn, P, s, aux, k, at, (r) => sp(aux, r), normalize);
        check(fn, Q, s, aux, k, at, (r) => aux[k * r + sq], normalize);
      }
      return scaled(res, scale, s);
    },
  };
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
  return crossEntropySmall(p, q, options) ?? execute(crossEntropyPlan(p, q, options));
}

/** @internal */
export function crossEntropyPlan(p: Vector, q: Vector, options?: ProbabilityOptions): Plan<number | Float64Array> {
  return pqPlan('crossEntropy', 'crossEntropyRows', 6, (a, r) => a[6 * r] + a[6 * r + 1], 2, 5, p, q, options);
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
  return klDivergenceSmall(p, q, options) ?? execute(klDivergencePlan(p, q, options));
}

/** @internal */
export function klDivergencePlan(p: Vector, q: Vector, options?: ProbabilityOptions): Plan<number | Float64Array> {
  return pqPlan('klDivergence', 'klDivergenceRows', 4, (a, r) => a[4 * r], 1, 3, p, q, options);
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
  const v = jsDivergenceSmall(p, q, options);
  if (v !== undefined) return v;
  let value: unknown;
  for (const plan of jsDivergencePlans(p, q, options)) value = execute(plan);
  return value as number | Float64Array;
}

/**
 * The plans of the Jensen–Shannon divergence, run in turn: with `normalize`, first the row
 * totals (which the terms need: each term mixes p/Σp and q/Σq), then the terms.
 * @internal
 */
export function jsDivergencePlans(p: Vector, q: Vector, options_?: ProbabilityOptions): Plan<unknown>[] {
  const fn = 'jsDivergence';
  const { P, Q, s, scale, normalize, validate, f32, res } = pqArgs(fn, p, q, options_);
  const aux = validate ? auxOf(s, 4) : null;
  let totals: Plan<void> | null = null;
  let rowIn: Float64Array | null = null;
  if (normalize) {
    const sp = new Float64Array(s.rows), sq = new Float64Array(s.rows);
    const within = new Float64Array(2 * s.rows);
    rowIn = within;
    totals = {
      rows: s.rows, cols: s.cols, size: P.length, weight: 1,
      stages: [
        { kernel: 'sumRows', f32: false, args: [P.data, s.rows, s.cols, sp, null] },
        { kernel: 'sumRows', f32: false, args: [Q.data, s.rows, s.cols, sq, null] },
      ],
      finish: () => {
        for (let r = 0; r < s.rows; r++) {
          within[2 * r] = sp[r];
          within[2 * r + 1] = sq[r];
        }
      },
    };
  }
  const terms: Plan<number | Float64Array> = {
    rows: s.rows, cols: s.cols, size: P.length, weight: jsWeight(f32),
    stages: [{ kernel: 'jsDivergenceRows', f32, args: [P.data, Q.data, s.rows, s.cols, rowIn, res, aux] }],
    finish: () => {
      if (validate && aux) {
        // with normalize the sums come from the totals (aux's Σp, Σq are the same numbers)
        check(fn, P, s, aux, 4, 3, (r) => aux[4 * r], normalize);
        check(fn, Q, s, aux, 4, 3, (r) => aux[4 * r + 1], normalize);
      }
      return scaled(res, scale, s);
    },
  };
  return totals ? [totals, terms] : [terms];
}

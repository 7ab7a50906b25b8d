// Property-based tests (fast-check) of every public function on every backend: the
// identities of information theory, the conventions of the SPEC, and agreement with
// float64 references computed here from the exact values of the inputs (float32
// inputs included: the references see the float32 numbers the library is given), over
// random lengths, dtypes (Float32Array, Float64Array, number[]), views at odd offsets
// into NaN-padded buffers, and magnitudes from subnormal to ±1e30 / ±1e300.  Results
// whose exact value is below the normal range of their type are held to the SPEC's rule
// (`belowNormal`: they may be 0; the bounds apply to normal results).
//
// Runs: FC_RUNS (default 200 per property and backend; ≈ 4 s in all).  Seed: FC_SEED (a number, or
// `random`; default fixed, so CI is deterministic).  A failure prints the seed, the
// path and the shrunk counterexample; rerun with FC_SEED=<seed> to reproduce.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allocate, backend, createEntropy, crossEntropy, entropy, information, init, jsDivergence, klDivergence, logSoftmax, logSumExp, sigmoidCrossEntropy,
  sigmoidFocalLoss, softmax, softmaxCrossEntropy, softmaxEntropy, softmaxKlDivergence, type Backend, type CrossEntropyLossOptions,
} from '../src/index.js';
import { setSmallInputCutoff } from '../src/backend.js';
import { ABS, BACKENDS, MIN_NORMAL, REL, fsum, onEachBackend, randomLogits, rng } from './helpers.js';

const RUNS = Number(process.env.FC_RUNS ?? 200);
const SEED = process.env.FC_SEED === 'random' ? undefined : Number(process.env.FC_SEED ?? 0x5eed);
fc.configureGlobal({ numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) });

// ---------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------

type Kind = 'f32' | 'f64' | 'array';
type DType = 'f32' | 'f64';
type Input = Float32Array | Float64Array | number[];

const KINDS: readonly Kind[] = ['f32', 'f64', 'array'];
const kindArb = fc.constantFrom<Kind>(...KINDS);
/** Element offset of a typed view into its (NaN-padded) buffer. */
const offsetArb = fc.integer({ min: 0, max: 5 });

/** The input `kind` holding `values` (float32-rounded for 'f32'), and the exact numbers it holds. */
function build(kind: Kind, values: readonly number[], offset = 0): { x: Input; v: number[] } {
  let x: Input;
  if (kind === 'array') {
    x = values.slice();
  } else {
    const Type = kind === 'f32' ? Float32Array : Float64Array;
    // NaN around the view: a kernel reading outside it would turn the result into NaN
    const buffer = new Type(offset + values.length + 3).fill(NaN);
    x = buffer.subarray(offset, offset + values.length);
    x.set(values);
  }
  const v = Array.from(x);
  // counterexamples print their inputs in full up to 64 values, else a summary
  const shown = v.length <= 64 ? v.map((e) => (Object.is(e, -0) ? '-0' : String(e))).join(', ') : `${v.slice(0, 8).join(', ')}, … (${v.length} values)`;
  const text = kind === 'array' ? `[${shown}]` : `${kind === 'f32' ? 'Float32Array' : 'Float64Array'}.from([${shown}])${offset ? ` /* at element offset ${offset} */` : ''}`;
  return { x, v, [fc.toStringMethod]: () => text } as { x: Input; v: number[] };
}

/** Float32 when the inputs are all float32 (the SPEC's float32 path), float64 otherwise. */
const dtypeOf = (...kinds: Kind[]): DType => (kinds.every((k) => k === 'f32') ? 'f32' : 'f64');

const lengthArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 33 }) },
  { weight: 3, arbitrary: fc.integer({ min: 34, max: 300 }) },
  { weight: 1, arbitrary: fc.integer({ min: 301, max: 4000 }) },
);

/** A non-negative weight: zeros (±0), ordinary values, integer counts, tiny and subnormal values. */
const weightArb = fc.oneof(
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.constant(-0) },
  { weight: 8, arbitrary: fc.double({ min: 1e-6, max: 1, noNaN: true }) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 1000 }) },
  { weight: 1, arbitrary: fc.double({ min: 1e-45, max: 1e-30, noNaN: true }) },
  { weight: 1, arbitrary: fc.double({ min: Number.MIN_VALUE, max: 1e-300, noNaN: true }) },
);

/** n weights: explicit (so they shrink) when short, from a seeded generator when long. */
function weightsArb(n: number): fc.Arbitrary<number[]> {
  if (n <= 40) return fc.array(weightArb, { minLength: n, maxLength: n });
  return fc.record({ seed: fc.integer(), zeros: fc.double({ min: 0, max: 0.5, noNaN: true }), decades: fc.integer({ min: 0, max: 40 }) })
    .map(({ seed, zeros, decades }) => {
      const random = rng(seed);
      return Array.from({ length: n }, () => (random() < zeros ? 0 : Math.pow(10, -decades * random()) * (0.5 + random())));
    });
}

/** Weights divided by their sum (a weight of 1 is added when they are all 0). */
function toDistribution(w: readonly number[]): number[] {
  const s = fsum(w);
  if (!(s > 0)) return w.map((_, i) => (i === 0 ? 1 : 0));
  return w.map((v) => v / s);
}

/** `rows` rows of `cols` weights each, every row a distribution. */
function distributionRows(w: readonly number[], cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < w.length / cols; r++) out.push(...toDistribution(w.slice(r * cols, (r + 1) * cols)));
  return out;
}

/** Two distributions of the same length; q has zeros only where p has (mostly). */
const pqArb = lengthArb.chain((n) =>
  fc.record({
    wp: weightsArb(n),
    wq: weightsArb(n),
    fullSupport: fc.boolean(),
    kp: kindArb,
    kq: kindArb,
    op: offsetArb,
    oq: offsetArb,
  }),
).map(({ wp, wq, fullSupport, kp, kq, op, oq }) => {
  const p = toDistribution(wp);
  // without full support, q may be 0 (+0 or −0) where p is not, at every third entry:
  // then D = H(p,q) = Infinity
  const qw = wq.map((v, i) => (v === 0 && p[i] !== 0 ? (fullSupport || i % 3 !== 0 ? 0.5 : i % 2 ? 0 : -0) : v));
  const q = toDistribution(qw);
  const P = build(kp, p, op), Q = build(kq, q, oq);
  return { P, Q, kp, kq, dtype: dtypeOf(kp, kq) };
});

const distArb = lengthArb.chain((n) => fc.record({ w: weightsArb(n), kind: kindArb, offset: offsetArb }))
  .map(({ w, kind, offset }) => ({ P: build(kind, toDistribution(w), offset), kind, dtype: dtypeOf(kind) }));

/**
 * Logits on a dyadic grid k·2^s (|k| ≤ 4096), so that every difference x − m is exact in
 * float32 and float64 and the references are exact; optionally scaled by 2^big (up to
 * ≈1e30 in float32, ≈1e300 in float64), with −Infinity (masked) entries.
 */
const gridArb = fc.record({
  s: fc.integer({ min: -10, max: 0 }),
  big: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 100 }) }),
  masked: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) }),
});
const kArb = fc.integer({ min: -4096, max: 4096 });

function logitValues(ks: readonly number[], g: { s: number; big: number; masked: number }, kind: Kind, seed = 1): number[] {
  const random = rng(seed);
  const e = g.s + (kind === 'f32' ? g.big : g.big * 10 - 16); // f32 ≤ 2^100·4096 < FLT_MAX; f64 ≤ 2^996
  const scale = Math.pow(2, e);
  return ks.map((k) => (g.masked > 0 && random() < g.masked ? -Infinity : k * scale));
}

function kValuesArb(n: number): fc.Arbitrary<number[]> {
  if (n <= 40) return fc.array(kArb, { minLength: n, maxLength: n });
  return fc.record({ seed: fc.integer(), spread: fc.integer({ min: 1, max: 4096 }) }).map(({ seed, spread }) => {
    const random = rng(seed);
    return Array.from({ length: n }, () => Math.round((2 * random() - 1) * spread));
  });
}

const logitsArb = lengthArb.chain((n) => fc.record({ ks: kValuesArb(n), g: gridArb, kind: kindArb, offset: offsetArb, seed: fc.integer() }))
  .map(({ ks, g, kind, offset, seed }) => ({ X: build(kind, logitValues(ks, g, kind, seed), offset), kind, dtype: dtypeOf(kind), g }));

/** A row-major matrix shape: rows × cols with cols ≥ 1. */
const shapeArb = fc.record({ rows: fc.integer({ min: 1, max: 7 }), cols: fc.integer({ min: 1, max: 70 }) });

/** Temperatures: 1, powers of two (x/T exact), and arbitrary T in [0.05, 20]. */
const temperatureArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(1) },
  { weight: 2, arbitrary: fc.integer({ min: -4, max: 4 }).map((k) => Math.pow(2, k)) },
  { weight: 2, arbitrary: fc.double({ min: 0.05, max: 20, noNaN: true }) },
);

// ---------------------------------------------------------------------------------
// References (float64, term by term, from the exact values)
// ---------------------------------------------------------------------------------

/** log(a/b), accurate when a ≈ b (log1p of the exact difference). */
function logRatio(a: number, b: number): number {
  if (b === 0) return a === 0 ? 0 : Infinity; // ±0 alike
  const r = a / b;
  if (r > 0.5 && r < 2) return Math.log1p((a - b) / b);
  // a ratio that overflows or is subnormal has lost digits: take the logs apart
  if ((r === Infinity || r < 2.2250738585072014e-308) && a > 0 && b > 0) return Math.log(a) - Math.log(b);
  return Math.log(r);
}

interface Reduction { value: number; mag: number }

/**
 * References of the reductions with `normalize`, from the raw weights: every log is
 * taken of ratios of the given numbers (log(p/Sp), log(p/q) + log(Sq/Sp)), never of a
 * rounded p/Sp, which loses digits when it is subnormal.
 */
const normalizedRefs = {
  entropy(p: readonly number[]): Reduction {
    const S = fsum(p);
    const t = p.map((v) => (v === 0 ? 0 : -(v / S) * logRatio(v, S)));
    return { value: fsum(t), mag: fsum(t.map(Math.abs)) };
  },
  crossEntropy(p: readonly number[], q: readonly number[]): Reduction {
    const Sp = fsum(p), Sq = fsum(q);
    const t = p.map((v, i) => (v === 0 ? 0 : -(v / Sp) * logRatio(q[i], Sq)));
    return { value: fsum(t), mag: fsum(t.map(Math.abs)) };
  },
  klDivergence(p: readonly number[], q: readonly number[]): Reduction {
    const Sp = fsum(p), Sq = fsum(q), shift = logRatio(Sq, Sp);
    const t = p.map((v, i) => (v === 0 ? 0 : (v / Sp) * (logRatio(v, q[i]) + shift)));
    // the two logs are added: allow their rounding
    const slack = fsum(p.map((v, i) => (v === 0 ? 0 : (v / Sp) * (Math.abs(logRatio(v, q[i])) + Math.abs(shift))))) * 4e-16 / REL.f64;
    return { value: fsum(t), mag: fsum(t.map(Math.abs)) + slack };
  },
  jsDivergence(p: readonly number[], q: readonly number[]): Reduction {
    return refs.jsDivergence(toDistribution(p), toDistribution(q));
  },
};

const refs = {
  entropy(p: readonly number[]): Reduction {
    const t = p.map((v) => (v === 0 ? 0 : -v * Math.log(v)));
    return { value: fsum(t), mag: fsum(t.map(Math.abs)) };
  },
  crossEntropy(p: readonly number[], q: readonly number[]): Reduction {
    const t = p.map((v, i) => (v === 0 ? 0 : -v * Math.log(q[i])));
    return { value: fsum(t), mag: fsum(t.map(Math.abs)) };
  },
  klDivergence(p: readonly number[], q: readonly number[]): Reduction {
    const t = p.map((v, i) => (v === 0 ? 0 : v * logRatio(v, q[i])));
    return { value: fsum(t), mag: fsum(t.map(Math.abs)) };
  },
  jsDivergence(p: readonly number[], q: readonly number[]): Reduction {
    const t: number[] = [];
    p.forEach((a, i) => {
      // log(a/m) = log(2a/(a + b)): no (a + b)/2 underflowing to 0 for subnormal a + b
      const b = q[i];
      if (a !== 0) t.push(0.5 * a * logRatio(2 * a, a + b));
      if (b !== 0) t.push(0.5 * b * logRatio(2 * b, a + b));
    });
    return { value: fsum(t), mag: fsum(t.map(Math.abs)) };
  },
};

const FLT_MIN = 2 ** -126;

/**
 * The documented absolute error of a result formed from n exponentials when those below the
 * normal range are dropped (0.2; assembly/math.ts): log S — log-sum-exp, log-softmax, a loss
 * per unit of Σ w·t — n·MIN; the softmax entropy n·88·MIN (float64 n·709·MIN).
 */
function flushed(n: number, dtype: DType, entropy = false): number {
  return n * MIN_NORMAL[dtype] * (entropy ? (dtype === 'f32' ? 88 : 709) : 1);
}

/**
 * The same for a softmax KL divergence: the terms p·|log p − log q| of the entries whose p is
 * below the normal range, and n·MIN for the sums they leave.
 */
function klFlushed(p: readonly number[], logp: readonly number[], logq: readonly number[], dtype: DType): number {
  const min = MIN_NORMAL[dtype];
  return fsum(p.map((v, i) => (v > 0 && v < min && Number.isFinite(logq[i]) ? v * (Math.abs(logp[i]) + Math.abs(logq[i])) : 0))) + 2 * p.length * min;
}


/** Dekker's exact product: a·b = hi + lo. */
function twoProduct(a: number, b: number): [number, number] {
  const split = (v: number) => { const c = 134217729 * v; const h = c - (c - v); return [h, v - h]; };
  const p = a * b;
  const [ah, al] = split(a), [bh, bl] = split(b);
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
}

/** One row's softmax quantities, relative to the maximum (x − m is exact on the grid). */
function softmaxRef(x: readonly number[], T = 1) {
  let m = -Infinity;
  for (const v of x) if (v > m) m = v;
  if (m === -Infinity) {
    return { lse: -Infinity, lseMag: 0, p: x.map(() => 0), logp: x.map(() => -Infinity), logpMag: x.map(() => 0), H: 0, t: x.map(() => -Infinity), ls: -Infinity };
  }
  // t = (x − m)/T exactly as t + c (c: the residual of the division, to first order)
  const t: number[] = [], c: number[] = [];
  for (const v of x) {
    const d = v - m;
    if (d === -Infinity) { t.push(-Infinity); c.push(0); continue; }
    const q = d / T;
    t.push(q);
    if (q < -1e4) { c.push(0); continue; } // exp underflows: no correction needed (nor computable)
    const [ph, pl] = twoProduct(q, T);
    c.push((d - ph - pl) / T);
  }
  const e = t.map((v, i) => (v === -Infinity ? 0 : Math.exp(v) * (1 + c[i])));
  const ones = t.filter((v) => v === 0).length;
  const rest = fsum(e.filter((_, i) => t[i] !== 0));
  const S = ones + rest;
  const ls = ones === 1 ? Math.log1p(rest) : Math.log(S);
  const logp = t.map((v, i) => (v === -Infinity ? -Infinity : v - ls + c[i]));
  const p = e.map((v) => v / S);
  const Hterms = p.map((v, i) => (v === 0 ? 0 : -v * logp[i]));
  return {
    lse: m / T + ls, lseMag: Math.abs(m / T) + Math.abs(ls),
    p, logp, logpMag: t.map((v) => (v === -Infinity ? 0 : Math.abs(v) + Math.abs(ls))),
    H: fsum(Hterms), t, ls,
  };
}

/** The SPEC bound on |got − want|: REL·max(mag, |want|) + ABS. */
function tolerance(want: number, dtype: DType, mag = Math.abs(want)): number {
  return REL[dtype] * Math.max(mag, Math.abs(want)) + ABS[dtype];
}

/** True when got is within the SPEC bound of want (NaN ≡ NaN, ±Infinity exactly); `extra`: an absolute allowance. */
function close(got: number, want: number, dtype: DType, mag = Math.abs(want), factor = 1, extra = 0): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want)) return got === want;
  return Math.abs(got - want) <= factor * tolerance(want, dtype, mag) + extra;
}

/** Throws a readable message (fast-check prints it with the counterexample). */
function check(ok: boolean, what: string, got?: unknown, want?: unknown): void {
  if (!ok) throw new Error(`${what}${got === undefined ? '' : `: got ${String(got)}, want ${String(want)}`}`);
}

/**
 * The SPEC's rule for results below the normal range: "a result below the smallest normal
 * number of its type may be returned exactly or as 0: the bounds apply to normal results"
 * (0.2 returns such exponentials as 0).  A result whose exact size (`mag`, else |want|) is
 * positive and below the smallest normal number of `dtype` passes when got and want are
 * both below it too; every other result is held to the bound.
 */
function belowNormalRange(got: number, want: number, dtype: DType, mag = Math.abs(want)): boolean {
  const min = MIN_NORMAL[dtype];
  return mag > 0 && mag < min && Math.abs(want) < min && Math.abs(got) < min && (got === 0 || want === 0 || Math.sign(got) === Math.sign(want));
}

function checkClose(got: number, want: number, dtype: DType, mag: number | undefined, what: string, factor = 1, extra = 0): void {
  if (!close(got, want, dtype, mag, factor, extra) && !belowNormalRange(got, want, dtype, mag)) {
    throw new Error(`${what} [${backend()}]: got ${got}, want ${want} (error ${Math.abs(got - want).toExponential(3)} > ${(factor * tolerance(want, dtype, mag) + extra).toExponential(3)})`);
  }
}

const asNumber = (r: number | Float64Array): number => {
  expect(typeof r).toBe('number');
  return r as number;
};

// ---------------------------------------------------------------------------------
// Properties, on every backend
// ---------------------------------------------------------------------------------

onEachBackend('properties: information and the probability reductions', () => {
  it('information(p) = −log_b p on [0, 1], additive, 0 (not −0) at 1; RangeError outside', () => {
    fc.assert(fc.property(
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.constantFrom(undefined, 2, 10, 3, 0.5),
      (a, b, base) => {
        const scale = base === undefined ? 1 : 1 / Math.log(base);
        const want = base === 2 ? -Math.log2(a) : base === 10 ? -Math.log10(a) : -Math.log(a) * scale;
        const got = information(a, base === undefined ? undefined : { base });
        checkClose(got, want, 'f64', undefined, `information(${a}, ${base})`);
        if (a === 1) check(Object.is(got, 0), 'information(1) is +0', got, 0);
        const ab = a * b;
        if (ab > 1e-300) {
          const sum = information(a) + information(b);
          checkClose(information(ab), sum, 'f64', Math.abs(information(a)) + Math.abs(information(b)) + 1, `information(${a}·${b}) additive`, 4);
        }
      },
    ));
    fc.assert(fc.property(
      fc.oneof(fc.double({ min: 1, max: 1e308, noNaN: true, minExcluded: true }), fc.double({ max: -Number.MIN_VALUE, noNaN: true }), fc.constant(NaN), fc.constant(-Infinity), fc.constant(Infinity)),
      (p) => {
        expect(() => information(p)).toThrow(RangeError);
      },
    ));
  });

  it('entropy: matches the reference; 0 ≤ H ≤ log(nnz); base b divides by ln b; H = Σ pᵢ·information(pᵢ)', () => {
    fc.assert(fc.property(distArb, fc.constantFrom(undefined, 2, 10, 0.25, 7.5), ({ P, dtype }, base) => {
      const r = refs.entropy(P.v);
      const H = asNumber(entropy(P.x));
      checkClose(H, r.value, dtype, r.mag, 'entropy');
      const nnz = P.v.filter((v) => v > 0).length;
      const s = fsum(P.v); // the float32 inputs may sum to 1 ± 1e-7
      check(H >= -tolerance(0, dtype), 'H ≥ 0', H, '≥ 0');
      const upper = s * Math.log(nnz / s);
      check(H <= upper + tolerance(upper, dtype), `H ≤ Σp·log(nnz/Σp) = ${upper}`, H);
      if (base !== undefined) {
        const Hb = asNumber(entropy(P.x, { base }));
        checkClose(Hb, r.value / Math.log(base), dtype, r.mag / Math.abs(Math.log(base)), `entropy base ${base}`, 2);
      }
      if (dtype === 'f64' && P.v.length <= 300) {
        const viaInformation = fsum(P.v.map((v) => (v === 0 ? 0 : v * information(v))));
        checkClose(H, viaInformation, 'f64', r.mag, 'H = Σ p·information(p)', 4);
      }
    }));
  });

  it('cross-entropy, KL and JS match the references; H(p, q) = H(p) + D(p‖q)', () => {
    fc.assert(fc.property(pqArb, ({ P, Q, kp, kq, dtype }) => {
      const ce = asNumber(crossEntropy(P.x, Q.x));
      const kl = asNumber(klDivergence(P.x, Q.x));
      const js = asNumber(jsDivergence(P.x, Q.x));
      const h = asNumber(entropy(P.x));
      const rce = refs.crossEntropy(P.v, Q.v), rkl = refs.klDivergence(P.v, Q.v), rjs = refs.jsDivergence(P.v, Q.v), rh = refs.entropy(P.v);
      checkClose(ce, rce.value, dtype, rce.mag, 'crossEntropy');
      checkClose(kl, rkl.value, dtype, rkl.mag, 'klDivergence');
      checkClose(js, rjs.value, dtype, rjs.mag, 'jsDivergence');
      const hdtype = dtypeOf(P.x instanceof Float32Array ? 'f32' : 'f64');
      checkClose(h, rh.value, hdtype, rh.mag, 'entropy');
      // the identity, from the library's own three numbers
      if (Number.isFinite(ce)) {
        const mag = rce.mag + rh.mag + rkl.mag;
        const idtype = kp === 'f32' || kq === 'f32' ? 'f32' : 'f64'; // H(p) alone runs in float32 on float32 p
        check(Math.abs(ce - (h + kl)) <= 2 * REL[idtype] * mag + 3 * ABS[idtype],
          'H(p,q) = H(p) + D(p‖q)', ce, `${h} + ${kl}`);
      } else {
        check(ce === Infinity && kl === Infinity, 'H(p,q) and D(p‖q) are both Infinity', `${ce}, ${kl}`, 'Infinity');
      }
    }));
  });

  it('D(p‖q) ≥ ½‖p − q‖₁² (Pinsker, so D ≥ 0 and D > 0 when p ≠ q); D(p‖p) = 0 and JS(p, p) = 0', () => {
    fc.assert(fc.property(pqArb, ({ P, Q, dtype }) => {
      const kl = asNumber(klDivergence(P.x, Q.x));
      const l1 = fsum(P.v.map((v, i) => Math.abs(v - Q.v[i])));
      // the inputs sum to 1 only to rounding: with δ = |Σq − Σp| (summed from the exact
      // differences), D ≥ ½‖p − q‖₁² − 3δ − δ²
      const delta = Math.abs(fsum(P.v.map((v, i) => v - Q.v[i])));
      const slack = 4 * delta + tolerance(0, dtype, refs.klDivergence(P.v, Q.v).mag);
      check(kl >= 0.5 * l1 * l1 - slack, `Pinsker: D ≥ ½‖p−q‖₁² = ${0.5 * l1 * l1}`, kl);
      check(kl >= -slack, 'D ≥ 0', kl, '≥ 0');
      const self = asNumber(klDivergence(P.x, P.x));
      check(Math.abs(self) <= ABS[dtype], 'D(p‖p) = 0', self, 0);
      const jsSelf = asNumber(jsDivergence(P.x, P.x));
      check(Math.abs(jsSelf) <= ABS[dtype], 'JS(p, p) = 0', jsSelf, 0);
    }));
  });

  it('JS is symmetric, 0 ≤ JS ≤ log 2, finite even where q has zeros', () => {
    fc.assert(fc.property(pqArb, fc.constantFrom(undefined, 2), ({ P, Q, dtype }, base) => {
      const a = asNumber(jsDivergence(P.x, Q.x, { base }));
      const b = asNumber(jsDivergence(Q.x, P.x, { base }));
      const ln2 = base === 2 ? 1 : Math.LN2;
      const mag = refs.jsDivergence(P.v, Q.v).mag / (base === 2 ? Math.LN2 : 1);
      check(Number.isFinite(a), 'JS finite', a);
      check(Math.abs(a - b) <= 2 * tolerance(a, dtype, mag), 'JS(p,q) = JS(q,p)', a, b);
      const s = (fsum(P.v) + fsum(Q.v)) / 2;
      check(a >= -tolerance(0, dtype, mag), 'JS ≥ 0', a, '≥ 0');
      check(a <= s * ln2 + tolerance(ln2, dtype, mag), 'JS ≤ log 2', a, ln2);
    }));
  });

  it('KL of close distributions keeps its digits (each term from the ratio)', () => {
    fc.assert(fc.property(
      distArb, fc.integer({ min: 3, max: 9 }), fc.integer(),
      ({ P, kind }, decades, seed) => {
        const random = rng(seed);
        const delta = Math.pow(10, -decades);
        const q = toDistribution(P.v.map((v) => v * (1 + delta * (2 * random() - 1))));
        const Q = build(kind, q);
        const dtype = dtypeOf(kind);
        const r = refs.klDivergence(P.v, Q.v);
        checkClose(asNumber(klDivergence(P.x, Q.x)), r.value, dtype, r.mag, `KL of close distributions (δ = ${delta})`);
        const j = refs.jsDivergence(P.v, Q.v);
        checkClose(asNumber(jsDivergence(P.x, Q.x)), j.value, dtype, j.mag, `JS of close distributions (δ = ${delta})`);
      },
    ));
  });

  it('normalize: k·p (and counts) normalise to p, for every reduction', () => {
    fc.assert(fc.property(
      pqArb,
      fc.oneof(fc.integer({ min: -20, max: 20 }).map((e) => Math.pow(2, e)), fc.double({ min: 1e-3, max: 1e6, noNaN: true }), fc.constantFrom(1e-310, 1.7e308)),
      fc.oneof(fc.double({ min: 1e-3, max: 1e6, noNaN: true }), fc.constantFrom(1e-310, 1e-300, 1e300, 1.7e308)),
      ({ P, Q, kp, kq }, k1, k2) => {
        // subnormal entries, and totals far from 1 (1e±300), subnormal (1e-310) or near
        // DBL_MAX: normalising must neither underflow nor overflow (it scales rows by powers
        // of two first)
        const A = build(kp, P.v.map((v) => v * (kp === 'f32' ? Math.min(1e30, Math.max(1e-30, k1)) : k1)));
        const k = kq === 'f32' ? Math.min(1e30, Math.max(1e-30, k2)) : k2; // float32 totals stay in range
        // q entries below 2^-1000 of their total included (normalised: subnormal; BUG-10)
        const B = build(kq, Q.v.map((v) => v * k));
        // normalising runs in float64 (on a converted copy for float32 input): the float64
        // bound applies to the exact inputs
        const dtype: DType = 'f64';
        const rh = normalizedRefs.entropy(A.v);
        checkClose(asNumber(entropy(A.x, { normalize: true })), rh.value, dtype, rh.mag, 'entropy(k·p, normalize)');
        for (const [name, fn, rf] of [
          ['crossEntropy', crossEntropy, normalizedRefs.crossEntropy], ['klDivergence', klDivergence, normalizedRefs.klDivergence], ['jsDivergence', jsDivergence, normalizedRefs.jsDivergence],
        ] as const) {
          const r = rf(A.v, B.v);
          checkClose(asNumber(fn(A.x, B.x, { normalize: true })), r.value, dtype, r.mag, `${name}(k·p, k'·q, normalize)`);
        }
        // powers of two scale exactly: then the normalised result is that of p itself
        if (Math.log2(k1) % 1 === 0 && P.v.every((v) => v === 0 || Math.abs(v) >= 2.2250738585072014e-308 * 2 ** 20)) {
          const plain = build(kp, P.v);
          checkClose(asNumber(entropy(A.x, { normalize: true })), asNumber(entropy(plain.x, { normalize: true })), 'f64', rh.mag, 'entropy(2^k·p) = entropy(p) normalised');
        }
      },
    ));
  });

  it('rows (cols) equal the 1-D calls of each row', () => {
    fc.assert(fc.property(
      shapeArb.chain(({ rows, cols }) => fc.record({ wp: weightsArb(rows * cols), wq: weightsArb(rows * cols), kind: kindArb, offset: offsetArb, rows: fc.constant(rows), cols: fc.constant(cols) })),
      ({ wp, wq, kind, offset, rows, cols }) => {
        const p = distributionRows(wp, cols);
        const q = distributionRows(wq.map((v, i) => (v === 0 && p[i] !== 0 ? 1 : v)), cols);
        const P = build(kind, p, offset), Q = build(kind, q, offset);
        const dtype = dtypeOf(kind);
        const row = (X: Input, r: number) => X.slice(r * cols, (r + 1) * cols) as Input;
        const H = entropy(P.x, { cols });
        expect(H).toBeInstanceOf(Float64Array);
        expect(H.length).toBe(rows);
        for (let r = 0; r < rows; r++) {
          const want = refs.entropy(P.v.slice(r * cols, (r + 1) * cols));
          checkClose(H[r], asNumber(entropy(row(P.x, r))), dtype, want.mag, `entropy row ${r}`, 2);
        }
        for (const [name, fn, rf] of [
          ['crossEntropy', crossEntropy, refs.crossEntropy], ['klDivergence', klDivergence, refs.klDivergence], ['jsDivergence', jsDivergence, refs.jsDivergence],
        ] as const) {
          const all = fn(P.x, Q.x, { cols });
          expect(all.length).toBe(rows);
          for (let r = 0; r < rows; r++) {
            const want = rf(P.v.slice(r * cols, (r + 1) * cols), Q.v.slice(r * cols, (r + 1) * cols));
            checkClose(all[r], want.value, dtype, want.mag, `${name} row ${r} vs reference`);
            checkClose(all[r], asNumber(fn(row(P.x, r), row(Q.x, r))), dtype, want.mag, `${name} row ${r} vs the 1-D call`, 2);
          }
        }
      },
    ));
  });

  it('validation: a row off 1 by more than the tolerance, or a negative entry, is a RangeError', () => {
    fc.assert(fc.property(distArb, fc.double({ min: 1e-3, max: 10, noNaN: true }), fc.boolean(), ({ P, kind }, off, up) => {
      const scaled = build(kind, P.v.map((v) => v * (up ? 1 + off : 1 / (1 + off))));
      expect(() => entropy(scaled.x)).toThrow(RangeError);
      expect(() => klDivergence(scaled.x, P.x)).toThrow(/normalize: true/);
      const negative = build(kind, P.v.map((v, i) => (i === 0 ? -Math.abs(v) - 1e-3 : v)));
      expect(() => entropy(negative.x)).toThrow(RangeError);
      expect(() => entropy(negative.x, { validate: false })).not.toThrow();
    }));
  });
});

onEachBackend('properties: log-sum-exp and the softmax family', () => {
  it('logSumExp, softmax, logSoftmax, softmaxEntropy match the references; softmax sums to 1; logSoftmax = log softmax', () => {
    fc.assert(fc.property(logitsArb, temperatureArb, ({ X, dtype }, T) => {
      const r = softmaxRef(X.v, T);
      const r1 = T === 1 ? r : softmaxRef(X.v, 1);
      const n = X.v.length;
      checkClose(asNumber(logSumExp(X.x)), r1.lse, dtype, r1.lseMag, 'logSumExp', 1, flushed(n, dtype));
      const opts = T === 1 ? undefined : { temperature: T };
      const p = softmax(X.x, opts);
      const lp = logSoftmax(X.x, opts);
      expect(p).toBeInstanceOf(X.x instanceof Float32Array ? Float32Array : Float64Array);
      expect(lp).toBeInstanceOf(X.x instanceof Float32Array ? Float32Array : Float64Array);
      expect(p.length).toBe(X.v.length);
      for (let i = 0; i < p.length; i++) {
        checkClose(p[i], r.p[i], dtype, undefined, `softmax[${i}] (T = ${T})`);
        checkClose(lp[i], r.logp[i], dtype, r.logpMag[i], `logSoftmax[${i}] (T = ${T})`, 1, flushed(n, dtype));
        // logSoftmax = log softmax: exp(logSoftmax) is softmax (relative error grows with |log p|)
        if (p[i] > 1e-300) {
          const e = Math.exp(lp[i]);
          check(Math.abs(e - p[i]) <= 2 * REL[dtype] * p[i] * (1 + Math.abs(lp[i])) + ABS[dtype], `exp(logSoftmax[${i}]) = softmax[${i}]`, e, p[i]);
        }
      }
      const total = fsum(Array.from(p));
      if (r.lse !== -Infinity) check(Math.abs(total - 1) <= REL[dtype] + p.length * ABS[dtype], 'Σ softmax = 1', total, 1);
      else check(total === 0, 'a fully masked softmax is 0', total, 0);
      const H = asNumber(softmaxEntropy(X.x, opts));
      checkClose(H, r.H, dtype, undefined, `softmaxEntropy (T = ${T})`, 1, flushed(n, dtype, true));
      const live = X.v.filter((v) => v !== -Infinity).length;
      check(H >= -ABS[dtype] && H <= Math.log(Math.max(live, 1)) * (1 + REL[dtype]) + ABS[dtype], '0 ≤ H(softmax) ≤ log n', H);
    }));
  });

  it('shift invariance: softmax(x + c) = softmax(x), logSumExp(x + c) = logSumExp(x) + c', () => {
    fc.assert(fc.property(logitsArb, fc.integer({ min: -(1 << 19), max: 1 << 19 }), temperatureArb, ({ X, kind, dtype, g }, j, T) => {
      const scale = Math.pow(2, g.s + (kind === 'f32' ? g.big : g.big * 10 - 16));
      const c = j * scale; // on the grid: x + c is exact (|k + j| < 2^21)
      const Y = build(kind, X.v.map((v) => v + c));
      for (let i = 0; i < X.v.length; i++) if (X.v[i] !== -Infinity) check(Y.v[i] - c === X.v[i], 'x + c exact (test setup)');
      const opts = { temperature: T };
      const a = softmax(X.x, opts), b = softmax(Y.x, opts);
      const la = logSoftmax(X.x, opts), lb = logSoftmax(Y.x, opts);
      const r = softmaxRef(X.v, T);
      for (let i = 0; i < a.length; i++) {
        checkClose(b[i], a[i], dtype, r.p[i], `softmax(x + ${c})[${i}]`, 2);
        checkClose(lb[i], la[i], dtype, r.logpMag[i], `logSoftmax(x + ${c})[${i}]`, 2, 2 * flushed(a.length, dtype));
      }
      const r0 = softmaxRef(X.v), r1 = softmaxRef(Y.v);
      const lx = asNumber(logSumExp(X.x)), ly = asNumber(logSumExp(Y.x));
      if (Number.isFinite(lx)) checkClose(ly, lx + c, dtype, r0.lseMag + r1.lseMag + Math.abs(c), `logSumExp(x + ${c})`, 2, 2 * flushed(a.length, dtype));
      else check(ly === lx, 'logSumExp of a masked row', ly, lx);
      checkClose(asNumber(softmaxEntropy(Y.x, opts)), asNumber(softmaxEntropy(X.x, opts)), dtype, r.H, 'softmaxEntropy(x + c)', 2, 2 * flushed(a.length, dtype, true));
    }));
  });

  it('temperature: softmax(x, {temperature: 2^k}) = softmax(x / 2^k)', () => {
    fc.assert(fc.property(logitsArb, fc.integer({ min: -3, max: 3 }), ({ X, kind, dtype, g }, k) => {
      fc.pre(kind !== 'f32' || g.big + k < 20); // x/2^k stays a float32
      const T = Math.pow(2, k);
      const Y = build(kind, X.v.map((v) => v / T));
      const a = softmax(X.x, { temperature: T }), b = softmax(Y.x);
      const r = softmaxRef(Y.v);
      for (let i = 0; i < a.length; i++) checkClose(a[i], b[i], dtype, r.p[i], `softmax T = ${T} [${i}]`, 2);
      checkClose(asNumber(softmaxEntropy(X.x, { temperature: T })), asNumber(softmaxEntropy(Y.x)), dtype, r.H, 'softmaxEntropy T', 2, 2 * flushed(a.length, dtype, true));
    }));
  });

  it('softmaxKlDivergence matches the reference, D(x‖x) = 0, D ≥ 0, and equals klDivergence(softmax P, softmax Q)', () => {
    fc.assert(fc.property(
      lengthArb.chain((n) => fc.record({ a: kValuesArb(n), b: kValuesArb(n), g: gridArb, kind: kindArb, oa: offsetArb, ob: offsetArb })),
      temperatureArb,
      ({ a, b, g, kind, oa, ob }, T) => {
        const gb = { ...g, masked: 0 }; // Q unmasked: Infinity otherwise (tested below)
        const A = build(kind, logitValues(a, g, kind, 7), oa), B = build(kind, logitValues(b, gb, kind, 8), ob);
        const dtype = dtypeOf(kind);
        const ra = softmaxRef(A.v, T), rb = softmaxRef(B.v, T);
        const terms = ra.p.map((v, i) => (v === 0 ? 0 : v * (ra.logp[i] - rb.logp[i])));
        const want = fsum(terms);
        // the reference's own rounding: logp differences carry ulp(|logp|)
        const mag = fsum(terms.map(Math.abs)) + fsum(ra.p.map((v, i) => (v === 0 ? 0 : v * (Math.abs(ra.logp[i]) + Math.abs(rb.logp[i]))))) * 4e-16 / REL[dtype];
        const opts = { temperature: T };
        const got = asNumber(softmaxKlDivergence(A.x, B.x, opts));
        checkClose(got, want, dtype, mag, `softmaxKlDivergence (T = ${T})`, 1, klFlushed(ra.p, ra.logp, rb.logp, dtype));
        check(got >= -tolerance(0, dtype, mag), 'D ≥ 0', got);
        const self = asNumber(softmaxKlDivergence(A.x, A.x, opts));
        check(Math.abs(self) <= ABS[dtype], 'D(x‖x) = 0', self, 0);
        // through the maps only where no probability of Q underflows (or loses digits as a subnormal)
        if (dtype === 'f64' && ra.p.every((v, i) => v === 0 || rb.p[i] > 1e-290)) {
          const viaMaps = asNumber(klDivergence(softmax(A.x, opts), softmax(B.x, opts), { validate: false }));
          checkClose(got, viaMaps, 'f64', mag + 1e-300, 'D(softmax P‖softmax Q)', 8);
        }
      },
    ));
  });

  it('float32 logits with full mantissas and offsets up to ±1e4 (off the grid): every softmax function within the SPEC', () => {
    // x − m of two float32 numbers is exact in float64, so the references stay exact off the grid
    fc.assert(fc.property(
      lengthArb, fc.integer(), fc.constantFrom(0.1, 1, 10, 100), fc.double({ min: -1e4, max: 1e4, noNaN: true }), fc.integer({ min: -2, max: 2 }),
      (n, seed, spread, offset, k) => {
        const random = rng(seed);
        const T = Math.pow(2, k);
        const X = build('f32', Array.from({ length: n }, () => offset + spread * (2 * random() - 1)));
        const Y = build('f32', Array.from({ length: n }, () => spread * (2 * random() - 1)));
        const r = softmaxRef(X.v, T), r1 = softmaxRef(X.v), ry = softmaxRef(Y.v, T);
        checkClose(asNumber(logSumExp(X.x)), r1.lse, 'f32', r1.lseMag, 'logSumExp', 1, flushed(n, 'f32'));
        const p = softmax(X.x, { temperature: T }), lp = logSoftmax(X.x, { temperature: T });
        for (let i = 0; i < n; i++) {
          checkClose(p[i], r.p[i], 'f32', undefined, `softmax[${i}]`);
          checkClose(lp[i], r.logp[i], 'f32', r.logpMag[i], `logSoftmax[${i}]`, 1, flushed(n, 'f32'));
        }
        checkClose(asNumber(softmaxEntropy(X.x, { temperature: T })), r.H, 'f32', undefined, 'softmaxEntropy', 1, flushed(n, 'f32', true));
        const loss = softmaxCrossEntropy(X.x, [n - 1], { cols: n });
        checkClose(loss, -r1.logp[n - 1], 'f32', r1.logpMag[n - 1], 'softmaxCrossEntropy', 1, flushed(n, 'f32'));
        // softmaxKlDivergence of the offset P (BUG-7: it used to round a − b and maxA − maxB apart)
        const terms = r.p.map((v, i) => (v === 0 ? 0 : v * (r.logp[i] - ry.logp[i])));
        checkClose(asNumber(softmaxKlDivergence(X.x, Y.x, { temperature: T })), fsum(terms), 'f32', fsum(terms.map(Math.abs)), 'softmaxKlDivergence', 1, klFlushed(r.p, r.logp, ry.logp, 'f32'));
      },
    ));
  });

  it('rows (cols) of every map and reduction equal the 1-D calls', () => {
    fc.assert(fc.property(
      shapeArb.chain(({ rows, cols }) => fc.record({ ks: kValuesArb(rows * cols), ks2: kValuesArb(rows * cols), g: gridArb, kind: kindArb, offset: offsetArb, rows: fc.constant(rows), cols: fc.constant(cols), seed: fc.integer() })),
      temperatureArb,
      ({ ks, ks2, g, kind, offset, rows, cols, seed }, T) => {
        const X = build(kind, logitValues(ks, g, kind, seed), offset);
        const Y = build(kind, logitValues(ks2, { ...g, masked: 0 }, kind, seed + 1), offset);
        const dtype = dtypeOf(kind);
        const row = (Z: Input, r: number) => Z.slice(r * cols, (r + 1) * cols) as Input;
        const opts = { cols, temperature: T };
        const lse = logSumExp(X.x, { cols }), H = softmaxEntropy(X.x, opts), D = softmaxKlDivergence(X.x, Y.x, opts);
        const p = softmax(X.x, opts), lp = logSoftmax(X.x, opts);
        for (const v of [lse, H, D]) {
          expect(v).toBeInstanceOf(Float64Array);
          expect(v.length).toBe(rows);
        }
        for (let r = 0; r < rows; r++) {
          const ref = softmaxRef(X.v.slice(r * cols, (r + 1) * cols), T);
          const ref1 = softmaxRef(X.v.slice(r * cols, (r + 1) * cols), 1);
          checkClose(lse[r], ref1.lse, dtype, ref1.lseMag, `logSumExp row ${r}`, 1, flushed(cols, dtype));
          checkClose(lse[r], asNumber(logSumExp(row(X.x, r))), dtype, ref1.lseMag, `logSumExp row ${r} vs 1-D`, 2);
          checkClose(H[r], ref.H, dtype, undefined, `softmaxEntropy row ${r}`, 1, flushed(cols, dtype, true));
          checkClose(H[r], asNumber(softmaxEntropy(row(X.x, r), { temperature: T })), dtype, ref.H, `softmaxEntropy row ${r} vs 1-D`, 2);
          const d1 = asNumber(softmaxKlDivergence(row(X.x, r), row(Y.x, r), { temperature: T }));
          const dm = Math.abs(d1) + ref.p.reduce((s, v, i) => s + (v === 0 ? 0 : v * (Math.abs(ref.logp[i]) + 1)), 0);
          checkClose(D[r], d1, dtype, dm, `softmaxKlDivergence row ${r} vs 1-D`, 2);
          const p1 = softmax(row(X.x, r), { temperature: T }), lp1 = logSoftmax(row(X.x, r), { temperature: T });
          for (let c = 0; c < cols; c++) {
            const i = r * cols + c;
            checkClose(p[i], ref.p[c], dtype, undefined, `softmax[${r}, ${c}]`);
            checkClose(p[i], p1[c], dtype, ref.p[c], `softmax[${r}, ${c}] vs 1-D`, 2);
            checkClose(lp[i], ref.logp[c], dtype, ref.logpMag[c], `logSoftmax[${r}, ${c}]`, 1, flushed(cols, dtype));
            checkClose(lp[i], lp1[c], dtype, ref.logpMag[c], `logSoftmax[${r}, ${c}] vs 1-D`, 2);
          }
        }
      },
    ));
  });

  it('out: writing into a given array (or in place) gives the same values', () => {
    fc.assert(fc.property(logitsArb, fc.boolean(), ({ X }, inPlace) => {
      fc.pre(X.x instanceof Float32Array || X.x instanceof Float64Array);
      const x = X.x as Float32Array | Float64Array;
      for (const fn of [softmax, logSoftmax]) {
        const want = fn(x);
        const Type = x instanceof Float32Array ? Float32Array : Float64Array;
        const target = inPlace ? new Type(x) : new Type(x.length).fill(NaN);
        const got = fn(inPlace ? target : x, { out: target });
        check(got === target, 'returns out');
        for (let i = 0; i < want.length; i++) check(Object.is(got[i], want[i]), `out[${i}]`, got[i], want[i]);
      }
    }));
  });
});

/** Reference of the fused loss (PyTorch's formulas, term by term, from exact logits). */
function lossRef(z: readonly number[], targets: readonly number[], o: CrossEntropyLossOptions) {
  const C = o.cols, rows = z.length / C, eps = o.labelSmoothing ?? 0;
  const w = o.weights ? Array.from(o.weights) : Array(C).fill(1);
  const isLabels = targets.length === rows;
  const losses: number[] = [], mags: number[] = [], grads: number[][] = [], gradMags: number[][] = [];
  const tws: number[] = []; // Σ |w·t̃| per row: what an error in log S is multiplied by
  let denominator = 0;
  for (let r = 0; r < rows; r++) {
    const ref = softmaxRef(z.slice(r * C, (r + 1) * C));
    const t: number[] = [];
    if (isLabels) {
      const y = targets[r];
      if (y === o.ignoreIndex) { losses.push(0); mags.push(0); grads.push(Array(C).fill(0)); gradMags.push(Array(C).fill(0)); tws.push(0); continue; }
      denominator += w[y];
      for (let c = 0; c < C; c++) t.push((1 - eps) * (c === y ? 1 : 0) + eps / C);
    } else {
      denominator += 1;
      for (let c = 0; c < C; c++) t.push((1 - eps) * targets[r * C + c] + eps / C);
    }
    const terms = ref.logp.map((l, c) => (t[c] * w[c] === 0 ? 0 : -w[c] * t[c] * l));
    losses.push(fsum(terms));
    mags.push(fsum(terms.map(Math.abs)) + fsum(ref.logpMag.map((m, c) => Math.abs(w[c] * t[c]) * m)));
    const tw = fsum(t.map((v, c) => v * w[c]));
    tws.push(fsum(t.map((v, c) => Math.abs(v * w[c]))));
    grads.push(ref.p.map((p, c) => tw * p - w[c] * t[c]));
    // each entry is a difference of two terms: the near-0 bound is relative to their magnitudes
    gradMags.push(ref.p.map((p, c) => Math.abs(tw * p) + Math.abs(w[c] * t[c])));
  }
  return { losses, mags, grads, gradMags, denominator, tws };
}

onEachBackend('properties: softmaxCrossEntropy', () => {
  const caseArb = shapeArb.chain(({ rows, cols }) => fc.record({
    ks: kValuesArb(rows * cols),
    g: gridArb.map((g) => ({ ...g, masked: 0 })),
    labels: fc.array(fc.integer({ min: 0, max: cols - 1 }), { minLength: rows, maxLength: rows }),
    ignore: fc.option(fc.integer({ min: -1, max: cols - 1 }), { nil: undefined }),
    smoothing: fc.oneof(fc.constant(0), fc.double({ min: 1e-6, max: 0.99, noNaN: true })),
    weights: fc.option(fc.array(fc.oneof(fc.constant(0), fc.double({ min: 1e-3, max: 4, noNaN: true })), { minLength: cols, maxLength: cols }), { nil: undefined }),
    kind: kindArb,
    labelKind: fc.constantFrom('array', 'int32', 'uint32'),
    rows: fc.constant(rows),
    cols: fc.constant(cols),
    seed: fc.integer(),
  }));

  it("labels: 'none' matches the reference row by row, 'sum' = Σ 'none', 'mean' = 'sum' / Σ w_y; the gradient matches and ignored rows are 0", () => {
    fc.assert(fc.property(caseArb, ({ ks, g, labels, ignore, smoothing, weights, kind, labelKind, rows, cols, seed }) => {
      const Z = build(kind, logitValues(ks, g, kind, seed));
      const dtype = dtypeOf(kind);
      const y = labelKind === 'int32' ? Int32Array.from(labels) : labelKind === 'uint32' ? Uint32Array.from(labels) : labels.slice();
      const o = { cols, labelSmoothing: smoothing, ignoreIndex: ignore, weights };
      const ref = lossRef(Z.v, labels, o);
      const none = softmaxCrossEntropy(Z.x, y, { ...o, reduction: 'none' });
      expect(none).toBeInstanceOf(Float64Array);
      expect(none.length).toBe(rows);
      for (let r = 0; r < rows; r++) checkClose(none[r], ref.losses[r], dtype, ref.mags[r], `loss row ${r}`, 1, ref.tws[r] * flushed(cols, dtype));
      const magSum = fsum(ref.mags);
      const sum = asNumber(softmaxCrossEntropy(Z.x, y, { ...o, reduction: 'sum' }));
      checkClose(sum, fsum(Array.from(none)), dtype, magSum, "'sum' = Σ 'none'", 2);
      const GradType = kind === 'f32' ? Float32Array : Float64Array;
      const grad = new GradType(Z.v.length).fill(NaN);
      const mean = asNumber(softmaxCrossEntropy(Z.x, y, { ...o, grad }));
      const want = ref.denominator === 0 ? 0 : fsum(ref.losses) / ref.denominator;
      checkClose(mean, want, dtype, ref.denominator === 0 ? 0 : magSum / Math.abs(ref.denominator), "'mean'", 2);
      if (ref.denominator === 0) check(Object.is(mean, 0), "'mean' over no rows is 0", mean, 0);
      const scale = ref.denominator === 0 ? 0 : 1 / ref.denominator;
      for (let r = 0; r < rows; r++) {
        const ignored = labels[r] === ignore;
        const gm = ref.gradMags[r].map((v) => v * scale);
        let rowSum = 0;
        for (let c = 0; c < cols; c++) {
          const v = grad[r * cols + c];
          rowSum += v;
          if (ignored || scale === 0) check(Object.is(v, 0) || v === 0, `grad[${r}, ${c}] of an ignored row is 0`, v, 0);
          else checkClose(v, ref.grads[r][c] * scale, dtype, gm[c], `grad[${r}, ${c}]`, 1, ref.tws[r] * scale * flushed(cols, dtype));
        }
        // Σ_c ∂loss/∂z_c = Σ_c (Σt·w)·p_c − w_c·t_c = 0 when there are no weights
        if (!weights && !ignored) check(Math.abs(rowSum) <= 2 * REL[dtype] * fsum(gm) + cols * ABS[dtype], `Σ grad row ${r} = 0`, rowSum, 0);
      }
    }));
  });

  it('labels equal one-hot probability targets (and soft targets match the reference)', () => {
    fc.assert(fc.property(caseArb, fc.integer(), ({ ks, g, labels, smoothing, weights, kind, rows, cols, seed }, tseed) => {
      fc.pre(cols >= 2); // cols = 1: a target of length rows is read as labels
      const Z = build(kind, logitValues(ks, g, kind, seed));
      const dtype = dtypeOf(kind);
      const onehot = build(kind, Array.from({ length: rows * cols }, (_, i) => (labels[Math.floor(i / cols)] === i % cols ? 1 : 0)));
      const o = { cols, labelSmoothing: smoothing, weights, reduction: 'none' as const };
      const a = softmaxCrossEntropy(Z.x, labels, o), b = softmaxCrossEntropy(Z.x, onehot.x, o);
      const ref = lossRef(Z.v, labels, o);
      for (let r = 0; r < rows; r++) checkClose(b[r], a[r], dtype, ref.mags[r], `one-hot row ${r}`, 2);
      // soft targets
      const random = rng(tseed);
      const soft = build(kind, distributionRows(Array.from({ length: rows * cols }, () => random()), cols));
      const rs = lossRef(Z.v, soft.v, o);
      const s = softmaxCrossEntropy(Z.x, soft.x, o);
      for (let r = 0; r < rows; r++) checkClose(s[r], rs.losses[r], dtype, rs.mags[r], `soft targets row ${r}`, 1, rs.tws[r] * flushed(cols, dtype));
    }));
  });

  it('a label outside [0, cols) or not an integer is a RangeError naming the row', () => {
    fc.assert(fc.property(shapeArb, fc.oneof(fc.integer({ min: -1000, max: -1 }), fc.integer({ min: 0, max: 1000 }), fc.double({ noNaN: false })), fc.nat(), ({ rows, cols }, bad, at) => {
      fc.pre(!(Number.isInteger(bad) && bad >= 0 && bad < cols));
      const r = at % rows;
      const labels = Array.from({ length: rows }, (_, i) => (i === r ? bad : 0));
      expect(() => softmaxCrossEntropy(new Float64Array(rows * cols), labels, { cols })).toThrow(RangeError);
      expect(() => softmaxCrossEntropy(new Float64Array(rows * cols), labels, { cols })).toThrow(new RegExp(`row ${r}\\b`));
      // int32 labels take a scan of their own (src/loss.ts): the same error, naming the same row
      if (Number.isInteger(bad) && Math.abs(bad) < 2 ** 31) {
        expect(() => softmaxCrossEntropy(new Float64Array(rows * cols), Int32Array.from(labels), { cols })).toThrow(new RegExp(`row ${r}\\b`));
      }
    }));
  });

  it('int32 labels give the values of the same labels as numbers, with and without ignoreIndex', () => {
    fc.assert(fc.property(shapeArb, fc.integer(), fc.constantFrom(undefined, -100, -1, 0, 1), (s, seed, ignoreIndex) => {
      const random = rng(seed);
      const { rows, cols } = s;
      const z = randomLogits(rows * cols, random, Float64Array);
      const labels = Array.from({ length: rows }, () => (ignoreIndex !== undefined && random() < 0.3 ? ignoreIndex : Math.floor(random() * cols)));
      for (const reduction of ['mean', 'sum', 'none'] as const) {
        const a = softmaxCrossEntropy(z, labels, { cols, reduction, ignoreIndex });
        const b = softmaxCrossEntropy(z, Int32Array.from(labels), { cols, reduction, ignoreIndex });
        expect(b).toEqual(a);
      }
    }));
  });
});

// ---------------------------------------------------------------------------------
// Agreement between the backends, on the same inputs
// ---------------------------------------------------------------------------------

describe('properties: the backends agree within the SPEC bounds', () => {
  let before: Backend;
  beforeAll(() => {
    before = backend();
    setSmallInputCutoff(0);
  });
  afterAll(async () => {
    await init({ backend: before });
  });

  /** Every function's result on one backend, as a flat list of [name, value, mag]. */
  function all(P: { x: Input; v: number[] }, Q: { x: Input; v: number[] }, X: { x: Input; v: number[] }, Y: { x: Input; v: number[] }, T: number) {
    // [name, value, mag, an absolute allowance: what dropping exponentials below the normal range may cost]
    const out: [string, number, number, number][] = [];
    const push = (name: string, v: number | ArrayLike<number>, mag: number | ArrayLike<number>, extra = 0) => {
      if (typeof v === 'number') out.push([name, v, mag as number, extra]);
      else for (let i = 0; i < v.length; i++) out.push([`${name}[${i}]`, v[i], (mag as ArrayLike<number>)[i], extra]);
    };
    push('entropy', entropy(P.x), refs.entropy(P.v).mag);
    push('crossEntropy', crossEntropy(P.x, Q.x), refs.crossEntropy(P.v, Q.v).mag);
    push('klDivergence', klDivergence(P.x, Q.x), refs.klDivergence(P.v, Q.v).mag);
    push('jsDivergence', jsDivergence(P.x, Q.x), refs.jsDivergence(P.v, Q.v).mag);
    const r = softmaxRef(X.v, T), r1 = softmaxRef(X.v);
    const n = X.v.length, dX = X.x instanceof Float32Array ? 'f32' : 'f64';
    push('logSumExp', logSumExp(X.x), r1.lseMag, flushed(n, dX));
    push('softmax', softmax(X.x, { temperature: T }), r.p.map(Math.abs));
    push('logSoftmax', logSoftmax(X.x, { temperature: T }), r.logpMag, flushed(n, dX));
    push('softmaxEntropy', softmaxEntropy(X.x, { temperature: T }), r.H, flushed(n, dX, true));
    const ry = softmaxRef(Y.v, T);
    push('softmaxKlDivergence', softmaxKlDivergence(X.x, Y.x, { temperature: T }),
      fsum(r.p.map((v, i) => (v === 0 ? 0 : v * (Math.abs(r.logp[i] - ry.logp[i]) + 4e-16 * (Math.abs(r.logp[i]) + Math.abs(ry.logp[i])) / 2e-6)))),
      klFlushed(r.p, r.logp, ry.logp, dX));
    const cols = X.v.length;
    push('softmaxCrossEntropy', softmaxCrossEntropy(X.x, [cols - 1], { cols }), r1.logpMag[cols - 1], flushed(n, dX));
    return out;
  }

  it(`${BACKENDS.join(', ')} give the same numbers within the bounds`, async () => {
    await fc.assert(fc.asyncProperty(
      pqArb,
      lengthArb.chain((n) => fc.record({ a: kValuesArb(n), b: kValuesArb(n), g: gridArb, seed: fc.integer() })),
      temperatureArb,
      async ({ P, Q, kp, kq }, { a, b, g, seed }, T) => {
        const kind = kp;
        const X = build(kind, logitValues(a, g, kind, seed));
        const Y = build(kind, logitValues(b, { ...g, masked: 0 }, kind, seed + 1));
        fc.pre(X.v.some((v) => v !== -Infinity));
        const results: Record<string, [string, number, number, number][]> = {};
        for (const b of BACKENDS) {
          await init({ backend: b });
          results[b] = all(P, Q, X, Y, T);
        }
        const dPQ = dtypeOf(kp, kq), dX = dtypeOf(kind);
        const js = results.js;
        for (const b of BACKENDS.filter((k) => k !== 'js')) {
          results[b].forEach(([name, v, mag, extra], i) => {
            const dtype = /^(entropy|crossEntropy|klDivergence|jsDivergence)$/.test(name) ? (name === 'entropy' ? dtypeOf(kp) : dPQ) : dX;
            checkClose(v, js[i][1], dtype, mag, `${name}: ${b} vs js`, 2, 2 * extra);
          });
        }
      },
    ), { numRuns: Math.max(10, Math.round(RUNS / 2)) });
  });
});

// ---------------------------------------------------------------------------------
// Regressions: the library bugs these properties (and fuzz/run.js) found, as minimal
// reproductions; all of them are fixed.  (A bug found and not yet fixed is pinned here with
// `it.fails`, which passes while the bug is there — when it is fixed, the test fails: make
// it an `it`.)
// ---------------------------------------------------------------------------------

onEachBackend('regressions', (b) => {
  // BUG-29 (found by fuzz/run.js): the float32 kernels form gradients in float32 lanes, so
  // an entry beyond FLT_MAX (soft targets or class weights near 1e30, a temperature of
  // 1e-30, and a base of 1 + 2⁻⁵², whose 1/ln base is 4.5e15) was ±Infinity (or NaN),
  // though the grad array is a Float64Array that holds it.  Such rows are formed again in
  // float64 now.  The reference is the same call on float64 logits (every entry here is
  // exact in float32).
  for (const cutoff of [0, 16]) {
    it(`BUG-29: a float32 call's gradient entries beyond FLT_MAX into a Float64Array are finite and right (small-input cutoff ${cutoff})`, () => {
      setSmallInputCutoff(cutoff);
      try {
        const base = 1.0000000000000002, n = 16, cols = 4;
        const z = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7)), z2 = Float32Array.from({ length: n }, (_, i) => Math.cos(i));
        const zt = z.map((v) => v * 1e-30), zt2 = z2.map((v) => v * 1e-30); // (logits / T of order 1 at T = 1e-30)
        const t = Float32Array.from({ length: n }, (_, i) => (i % 3 ? 1e30 : -2e30)), y = Float32Array.from({ length: n }, (_, i) => i % 2);
        const T = 1e-30;
        type Call = (as: (a: Float32Array) => Float32Array, g: Float64Array) => unknown;
        const calls: [string, Call][] = [
          ['softmaxCrossEntropy, soft targets', (as, g) => softmaxCrossEntropy(as(z), as(t), { cols, grad: g, base, reduction: 'sum' })],
          ['softmaxCrossEntropy, weighted labels', (as, g) => softmaxCrossEntropy(as(z), Int32Array.of(0, 1, 2, 3), { cols, grad: g, base, weights: [3e30, 1, 1e30, 1], reduction: 'sum' })],
          ['softmaxCrossEntropy, weighted labels, smoothing', (as, g) => softmaxCrossEntropy(as(z), Int32Array.of(1, 0, 3, 2), { cols, grad: g, base, weights: [1, 3e30, 1, 1], labelSmoothing: 0.1, reduction: 'sum' })],
          ['softmaxCrossEntropy, soft targets, mean', (as, g) => softmaxCrossEntropy(as(z), as(t), { cols, grad: g, base })],
          ['softmaxCrossEntropy, weighted labels, ignoreIndex', (as, g) => softmaxCrossEntropy(as(z), Int32Array.of(0, 1, 2, 1), { cols, grad: g, base, weights: [3e30, 1, 1e30, 1], ignoreIndex: 1, reduction: 'sum' })],
          ['softmaxEntropy', (as, g) => softmaxEntropy(as(zt), { cols, grad: g, base, temperature: T })],
          ['softmaxEntropy, into a WasmArray', (as, g) => {
            const w = allocate(Float64Array, n);
            try {
              softmaxEntropy(as(zt), { cols, grad: w, base, temperature: T });
              g.set(w.array);
            } finally {
              w.free();
            }
          }],
          ['softmaxKlDivergence gradQ', (as, g) => softmaxKlDivergence(as(zt), as(zt2), { cols, gradQ: g, base, temperature: T })],
          ['softmaxKlDivergence gradQ, one row', (as, g) => softmaxKlDivergence(as(zt), as(zt2), { gradQ: g, base, temperature: T })],
          ['softmaxKlDivergence gradP', (as, g) => softmaxKlDivergence(as(zt), as(zt2), { cols, gradP: g, base, temperature: T })],
          ['sigmoidCrossEntropy, weights per element', (as, g) => sigmoidCrossEntropy(as(z), as(y), { grad: g, base, weights: new Float32Array(n).fill(1e30), reduction: 'sum' })],
          ['sigmoidCrossEntropy, weights per class', (as, g) => sigmoidCrossEntropy(as(z), as(y), { cols, grad: g, base, weights: [1e30, 1, 1, 3e30], reduction: 'sum' })],
        ];
        for (const [name, call] of calls) {
          const want = new Float64Array(n), got = new Float64Array(n);
          call((a) => Float64Array.from(a) as never, want);
          call((a) => a, got);
          expect(want.some((v) => Math.abs(v) > 3.5e38), name).toBe(true);
          for (let i = 0; i < n; i++) {
            expect(Number.isFinite(got[i]), `${name}: grad[${i}] = ${got[i]}`).toBe(true);
            expect(Math.abs(got[i] - want[i]), `${name}: grad[${i}] = ${got[i]} against ${want[i]}`).toBeLessThanOrEqual(2e-6 * Math.max(...want.map(Math.abs)));
          }
        }
      } finally {
        setSmallInputCutoff(0);
      }
    });
  }
  it('BUG-1: klDivergence with q = −0 where p > 0 is Infinity (it was NaN: p·log(p/−0))', () => {
    expect(crossEntropy([0.5, 0.5], [-0, 1])).toBe(Infinity);
    expect(klDivergence([0.5, 0.5], [-0, 1])).toBe(Infinity);
    expect(klDivergence(new Float32Array([0.5, 0.5]), new Float32Array([-0, 1]))).toBe(Infinity);
  });

  // normalize: true used to scale each entry by the other input's total, and by 1/total,
  // which underflowed, overflowed or rounded for totals or entries far from 1
  it('BUG-2a: entropy([1e-320, 1e-320], {normalize: true}) is ln 2 (it was Infinity)', () => {
    expect(entropy([1e-320, 1e-320], { normalize: true })).toBeCloseTo(Math.LN2, 12);
  });
  it('BUG-2b: jsDivergence([1e300, 1e300], [1e300, 1e300], {normalize: true}) is 0 (it was NaN)', () => {
    expect(jsDivergence([1e300, 1e300], [1e300, 1e300], { normalize: true })).toBe(0);
  });
  it('BUG-2c: klDivergence([1e-3, 1e-3], [1, 1e-321], {normalize: true}) is finite (it was Infinity)', () => {
    const want = 0.5 * Math.log(0.5) + 0.5 * (Math.log(0.5) - Math.log(1e-321)); // 368.87…
    expect(klDivergence([1e-3, 1e-3], [1, 1e-321], { normalize: true })).toBeCloseTo(want, 9);
  });
  it('BUG-2d: jsDivergence([1e-3, 1e-3], [1, 1e-321], {normalize: true}) is ≈ 0.2158 (it was −Infinity)', () => {
    const want = jsDivergence([0.5, 0.5], [1, 1e-321], { validate: false });
    expect(jsDivergence([1e-3, 1e-3], [1, 1e-321], { normalize: true })).toBeCloseTo(want, 12);
  });
  it('BUG-2e: klDivergence of a subnormal q with normalize keeps 1e-13 relative accuracy (it was 3.6e-11)', () => {
    const p = new Float32Array([1 / 3, 1 / 3, 1 / 3]);
    const q = [4.940656e-318, 1e-39, 1];
    const want = normalizedRefs.klDivergence(Array.from(p), q).value; // 272.3765143747268
    expect(Math.abs(klDivergence(p, q, { normalize: true }) - want) / want).toBeLessThan(1e-13);
  });

  // BUG-10 (what remained of BUG-2): crossEntropy with normalize rounded q/Σq on the
  // subnormal grid, and an entry that is tiny next to a huge total underflowed when its row
  // was scaled.  Such rows now take log q − log Σq.
  it('BUG-10a: crossEntropy([0.5, 0.5], [3, 1e-323], {normalize: true}) = 372.42276851474475', () => {
    const want = -0.5 * (Math.log(1e-323) - Math.log(3)); // −½·log(1e-323/3) − ½·log(1)
    expect(crossEntropy([0.5, 0.5], [3, 1e-323], { normalize: true })).toBeCloseTo(want, 9); // 372.2200359606906
  });
  it('BUG-10b: klDivergence([1, 1], [1e300, 1e-24], {normalize: true}) = 372.3256378844755', () => {
    const want = 0.5 * Math.log(0.5) + 0.5 * (Math.log(0.5) - (Math.log(1e-24) - Math.log(1e300)));
    expect(klDivergence([1, 1], [1e300, 1e-24], { normalize: true })).toBeCloseTo(want, 9); // Infinity
  });

  // (0.2) Restricted to normal results.  The SPEC: "a result below the smallest normal
  // number of its type may be returned exactly or as 0: the bounds apply to normal results",
  // and 0.2 returns exponentials below the normal range as 0.  BUG-3's results (3.8e-42,
  // 6.8e-46, 3.7e-44 in float32) are below FLT_MIN: they need only stay below it.  The
  // property itself — tiny results keep their relative accuracy — is checked where the
  // results are normal float32 numbers (e^-80 = 1.8e-35).
  it('BUG-3: float32 softmaxEntropy / logSumExp / softmaxCrossEntropy of tiny normal results keep their relative accuracy (the wasm kernels flushed them)', () => {
    const rel = (got: number, want: number) => Math.abs(got - want) / want;
    const gap = 80, e = Math.exp(-gap), p1 = e / (1 + e);
    const H = -(1 - p1) * Math.log1p(-p1) + p1 * (gap + Math.log1p(e)); // 1.46e-33
    expect(rel(softmaxEntropy(new Float32Array([0, -gap])), H)).toBeLessThan(2e-6);
    expect(rel(logSumExp(new Float32Array([0, -gap])), Math.log1p(e))).toBeLessThan(2e-6);
    expect(rel(softmaxCrossEntropy(new Float32Array([0, -gap]), [0], { cols: 2 }), Math.log1p(e))).toBeLessThan(2e-6);
    // below FLT_MIN: 0, or a float32 subnormal
    for (const v of [softmaxEntropy(new Float32Array([0, -100])), logSumExp(new Float32Array([0, -104])), softmaxCrossEntropy(new Float32Array([0, -100]), [0], { cols: 2 }),
      logSumExp(new Float32Array([0, -87.5])), softmaxCrossEntropy(new Float32Array([0, -87.5]), [0], { cols: 2 })]) {
      expect(v >= 0 && v < FLT_MIN, `${v} below FLT_MIN`).toBe(true);
    }
    // Q masking an entry whose P-probability is a normal float32 (e^-80): Infinity
    expect(softmaxKlDivergence(new Float32Array([0, -80]), new Float32Array([0, -Infinity]))).toBe(Infinity);
    // (e^-100 is below FLT_MIN: P's probability may be 0, and D then 0 — or Infinity)
    const d = softmaxKlDivergence(new Float32Array([0, -100]), new Float32Array([0, -Infinity]));
    expect(d === Infinity || d === 0, `D = ${d}`).toBe(true);
  });

  // (0.2) Exponentials below the smallest normal number are 0 (XNNPACK's choice, decided for
  // 0.2; assembly/math.ts states it above the exp).  A normal result formed from such an
  // exponential is off by what that exponential carried, and no more — the documented bound:
  //   a sum of terms e·t (softmax entropy): n·88·FLT_MIN absolutely (float64 n·709·DBL_MIN),
  //     each dropped term being e·(1 + |ln e|) < 88·FLT_MIN;
  //   a loss gradient entry w·p whose p is below FLT_MIN: w·FLT_MIN absolutely.
  // Here e^-87.5 = 1.0e-38 < FLT_MIN: the entropy of [0, −87.5] (exact 8.83e-37) may be 0, and
  // the gradient entry 4·p₁ (exact 3.99e-38, weight 4) too.  Results whose exponentials are all
  // normal keep the relative bound (BUG-3, e^-80).
  it('float32 results formed from an exponential below FLT_MIN are within the documented absolute bound (n·88·FLT_MIN; w·FLT_MIN for a gradient entry)', () => {
    const gap = 87.5, e = Math.exp(-gap), p1 = e / (1 + e);
    const H = -(1 - p1) * Math.log1p(-p1) + p1 * (gap + Math.log1p(e)); // 8.83e-37
    const n = 2;
    const got = softmaxEntropy(new Float32Array([0, -gap]));
    expect(Math.abs(got - H), `softmaxEntropy: got ${got}, want ${H}`).toBeLessThanOrEqual(2e-6 * H + n * 88 * FLT_MIN);
    expect(got >= 0 && got <= H * (1 + 2e-6), `softmaxEntropy: ${got} is 0 … H`).toBe(true);
    // the same row inside a wide one (70 entries, 69 of them at −87.5): still within n·88·FLT_MIN
    const wide = new Float32Array(70).fill(-gap);
    wide[0] = 0;
    const ew = Math.exp(-gap), Sw = 1 + 69 * ew;
    const Hw = Math.log(Sw) + (69 * ew * gap) / Sw; // 6.1e-35
    expect(Math.abs(softmaxEntropy(wide) - Hw)).toBeLessThanOrEqual(2e-6 * Hw + 70 * 88 * FLT_MIN);
    const want = 4 * p1; // 3.99e-38
    expect(want).toBeGreaterThan(FLT_MIN);
    const grad = new Float32Array(2);
    softmaxCrossEntropy(new Float32Array([0, -gap]), [0], { cols: 2, grad, weights: [4, 0.5], reduction: 'sum' });
    expect(Math.abs(grad[1] - want), `gradient: got ${grad[1]}, want ${want}`).toBeLessThanOrEqual(2e-6 * want + 4 * FLT_MIN);
    // a gradient entry whose p is normal keeps the relative bound
    const gap2 = 87, p2 = Math.exp(-gap2) / (1 + Math.exp(-gap2)); // 1.65e-38 ≥ FLT_MIN
    softmaxCrossEntropy(new Float32Array([0, -gap2]), [0], { cols: 2, grad, weights: [4, 0.5], reduction: 'sum' });
    expect(Math.abs(grad[1] - 4 * p2), `gradient: got ${grad[1]}, want ${4 * p2}`).toBeLessThanOrEqual(2e-6 * 4 * p2);
  });

  // BUG-6: extreme temperatures gave NaN (1/T = Infinity on every path; T or 1/T beyond
  // float32 on the wasm float32 path).  Since fed0267 a temperature outside [1e-30, 1e30] is
  // a RangeError; at the limits the answers are right.
  it('BUG-6: temperatures outside [1e-30, 1e30] are a RangeError; at the limits the answers are right, never NaN', () => {
    const x64 = [0.3, -1.2, 0.7], x32 = new Float32Array([0.3, -Infinity, 0.7, -1]);
    for (const T of [5e-324, 1e-300, 1e-40, 1e39, 1e300]) {
      expect(() => softmaxEntropy(x64, { temperature: T })).toThrow(RangeError);
      expect(() => softmax(x32, { temperature: T })).toThrow(RangeError);
    }
    expect(softmaxEntropy(x64, { temperature: 1e-30 })).toBe(0);
    expect(Array.from(logSoftmax(x64, { temperature: 1e-30 }))[2]).toBe(0);
    expect(softmaxEntropy(x32, { temperature: 1e-30 })).toBe(0);
    expect(logSoftmax(x32, { temperature: 1e30 })[1]).toBe(-Infinity);
    expect(softmax(x32, { temperature: 1e30 })[0]).toBeCloseTo(1 / 3, 6);
    expect(softmaxEntropy(x32, { temperature: 1e30 })).toBeCloseTo(Math.log(3), 6);
  });

  // BUG-7: softmaxKlDivergence formed t = (a − b − (maxA − maxB))/T, rounding a − b and
  // maxA − maxB apart: an error of ulp(max |logit|)/T in every term.
  it('BUG-7a: softmaxKlDivergence([1e20, 0], [0, 1]) = −log softmax([0, 1])[0] = 1.3132616875182228 (it was ln 2)', () => {
    expect(softmaxKlDivergence([1e20, 0], [0, 1])).toBeCloseTo(1.3132616875182228, 12);
  });
  it('BUG-7b: float32 softmaxKlDivergence of logits near 1000 meets the SPEC bound (the wasm kernels were off by 1.6e-5)', () => {
    const a = new Float32Array([1000.123, 1000.456, 1000.789, 1000.321]), c = new Float32Array([0.3, -0.2, 0.1, 0.05]);
    const ra = softmaxRef(Array.from(a)), rc = softmaxRef(Array.from(c));
    const terms = ra.p.map((p, i) => p * (ra.logp[i] - rc.logp[i]));
    const want = fsum(terms), mag = fsum(terms.map(Math.abs));
    expect(Math.abs(softmaxKlDivergence(a, c) - want) / mag).toBeLessThan(2e-6);
  });
  it('BUG-7c: float32 softmaxKlDivergence of one-element rows is exactly 0, never negative (the wasm kernels gave −1.7e-21)', () => {
    const d = softmaxKlDivergence(new Float32Array([-50.33443069458008]), new Float32Array([96.58023834228516]), { temperature: 0.25 });
    expect(d).toBe(0);
  });

  // BUG-9: with integer labels, a row whose label has class weight 0 and a −Infinity logit got
  // loss (1 − ε)·w_y·(lse − z_y) = 0·Infinity = NaN.  README: "terms whose target × weight is 0
  // count 0 even against a −Infinity logit".
  it("BUG-9: softmaxCrossEntropy([0, −Infinity], [1], { weights: [1, 0], reduction: 'sum' }) is 0 (it was NaN)", () => {
    expect(softmaxCrossEntropy([0, -Infinity], [0, 1], { cols: 2, weights: [1, 0], reduction: 'sum' })).toBe(0);
    expect(softmaxCrossEntropy([0, -Infinity], [1], { cols: 2, weights: [1, 0], reduction: 'sum' })).toBe(0);
    expect(Array.from(softmaxCrossEntropy(new Float32Array([0, -Infinity]), [1], { cols: 2, weights: [1, 0], reduction: 'none' }))).toEqual([0]);
  });

  // BUG-11: the wasm float32 softmaxKlDivergence formed terms from probabilities below
  // FLT_MIN in float32 subnormals (or flushed them): results below FLT_MIN lost their digits
  // (5 % here), and a masked Q entry where P's probability is below float32's range was missed.
  // (0.2) Restricted to normal results (see BUG-3): the divergence of these logits at T = 0.5
  // is 6.6e-43, below FLT_MIN — it need only stay below it; at T = 1 it is 4.5e-21, a normal
  // float32, whose terms come from probabilities down to e^-51: 2e-6 relative.  And a masked
  // Q entry under a P-probability that is a normal number (float32 e^-80, float64 e^-700) is
  // seen; under one below the normal range (e^-118.5 in float32, e^-1000 in float64) D is
  // Infinity or, that probability being 0, D of the rest.
  it('BUG-11: float32 softmaxKlDivergence of a tiny normal result keeps 2e-6 relative accuracy, and sees Q mask a tiny normal P', () => {
    const x = [81.41995239257812, 17.94681739807129, -21.333152770996094, 30.448720932006836];
    const y = [63.73897171020508, -90.32240295410156, -74.73977661132812, -49.196044921875];
    const kl = (T: number) => {
      const ra = softmaxRef(x, T), ry = softmaxRef(y, T);
      return fsum(ra.p.map((p, i) => (p === 0 ? 0 : p * (ra.logp[i] - ry.logp[i]))));
    };
    const want = kl(1); // 4.45e-21
    expect(want).toBeGreaterThan(FLT_MIN);
    const got = softmaxKlDivergence(new Float32Array(x), new Float32Array(y));
    expect(Math.abs(got - want) / want, `got ${got}, want ${want}`).toBeLessThan(2e-6);
    const tiny = softmaxKlDivergence(new Float32Array(x), new Float32Array(y), { temperature: 0.5 }); // exact: 6.5554148353738e-43
    expect(kl(0.5)).toBeLessThan(FLT_MIN);
    expect(tiny >= 0 && tiny < FLT_MIN, `${tiny} below FLT_MIN`).toBe(true);
    // a masked Q entry under a normal P-probability
    expect(softmaxKlDivergence(new Float32Array([0.902910590171814, -0.28229400515556335]), new Float32Array([1.3761342763900757, -Infinity]), { temperature: 0.015 })).toBe(Infinity); // p = e^-79
    expect(softmaxKlDivergence([0, -700], [0, -Infinity])).toBe(Infinity);
    // and under one below the normal range
    for (const d of [softmaxKlDivergence(new Float32Array([0.902910590171814, -0.28229400515556335]), new Float32Array([1.3761342763900757, -Infinity]), { temperature: 0.01 }),
      softmaxKlDivergence([0, -1000], [0, -Infinity])]) {
      expect(d === Infinity || d === 0, `D = ${d}`).toBe(true);
    }
  });

  // BUG-17 (found by fuzz/run.js): jsDivergence with normalize, where an entry scaled with its
  // row's huge total underflows to 0, gave 0·log 0 = NaN (the test was on the entry, not the
  // scaled entry).  Such a term is below 1e-300 and is dropped.
  it('BUG-17: jsDivergence([0.25, 0.75], [1.4e-45, 1e300], {normalize: true}) is finite and right (it was NaN)', () => {
    const want = jsDivergence([0.25, 0.75], [0, 1], { validate: false });
    expect(jsDivergence([0.25, 0.75], [1.401298464324817e-45, 1e300], { normalize: true })).toBeCloseTo(want, 14);
  });

  // BUG-18 (found by fuzz/run.js): float32 probability targets (not validated, as in PyTorch)
  // times float32 logit differences can pass float32's range (1e30 · 2e30); the loss was
  // formed in float32 lanes and came out NaN (∞ − ∞).  It is formed in float64 now.
  it('BUG-18: softmaxCrossEntropy of float32 logits ±1e30 against targets ±1e30 is finite', () => {
    const z = new Float32Array([7.871846427714206e29, 4.3143963311533944e29, -1.0777012286936936e30, -8.195175149327414e29]);
    const t = new Float32Array(z);
    const want = softmaxCrossEntropy(Float64Array.from(z), Float64Array.from(t), { cols: 2, reduction: 'sum' });
    const got = softmaxCrossEntropy(z, t, { cols: 2, reduction: 'sum' });
    expect(Number.isFinite(want)).toBe(true);
    expect(Math.abs(got - want) / Math.abs(want)).toBeLessThan(1e-6);
  });

  // BUG-19 (found by fuzz/run.js): with normalize, a p entry that scaling with its row's
  // total underflows (5e-324 of 300) made 0·log 0 = NaN; it is a term below 1e-300 (0), or
  // ∞ where q = 0 — and another entry with p > 0 = q makes the whole divergence ∞ anyway.
  it('BUG-19: klDivergence / crossEntropy with normalize and p = 5e-324 next to a total of 300 (it was NaN)', () => {
    const p = [5e-324, 100, 200], q = [0.25, 0.25, 0.5];
    const want = klDivergence([0, 1 / 3, 2 / 3], q, { validate: false });
    expect(klDivergence(p, q, { normalize: true })).toBeCloseTo(want, 14);
    expect(crossEntropy(p, q, { normalize: true })).toBeCloseTo(crossEntropy([0, 1 / 3, 2 / 3], q, { validate: false }), 14);
    expect(klDivergence([5e-324, 100, 200, 1], [0.25, 0.25, 0.5, 0], { normalize: true })).toBe(Infinity);
  });

  // BUG-21 (found by fuzz/run.js): a NaN logit in Q together with a masked Q entry where P is
  // finite gave Infinity; NaN propagates.
  it('BUG-21: softmaxKlDivergence with a NaN and a −Infinity in Q is NaN (it was Infinity)', () => {
    const p = new Float32Array([0.5, 0.25, -1, 0.75, 0.1]), q = new Float32Array([NaN, 0.5, -Infinity, 0.2, 0.3]);
    expect(softmaxKlDivergence(p, q)).toBeNaN();
    expect(softmaxKlDivergence(Float64Array.from(p), Float64Array.from(q))).toBeNaN();
  });

  // BUG-22 (found by fuzz/run.js): normalize divided by row totals summed plainly; 20 001 equal
  // entries carry a relative error of ~2e-12 in the total, and that was all of D(P‖Q) for two
  // equal rows.  The totals are summed with TwoSum compensation now.
  it('BUG-22: klDivergence of two equal rows of 20 001 entries with normalize is 0 within 1e-15', () => {
    const p = new Int8Array(20001).fill(1), q = new Float64Array(20001).fill(1e-300);
    expect(Math.abs(klDivergence(p, q, { normalize: true }))).toBeLessThan(1e-15);
    expect(Math.abs(jsDivergence(q, p, { normalize: true }))).toBeLessThan(1e-15);
  });

  // BUG-24 (found by fuzz/run.js): the float32 SIMD pass of softmaxKlDivergence folded the
  // second pass's centring shift into Q's maximum (mb − shift·T), where it was lost to the
  // rounding of a large mb: Q = 1e20 everywhere (a uniform Q) gave a negative divergence.
  it('BUG-24: softmaxKlDivergence against a constant Q of 1e20 or 1e30 is its value against a constant Q of 0', () => {
    const a = new Float32Array([0.7871846556663513, 0.431439608335495, -1.077701210975647, -0.8195174932479858]);
    const want = softmaxKlDivergence(a, new Float32Array(4), { cols: 2 });
    for (const c of [1e20, 1e30, -1e30]) {
      const got = softmaxKlDivergence(a, new Float32Array(4).fill(c), { cols: 2 });
      for (let r = 0; r < 2; r++) expect(Math.abs(got[r] - want[r])).toBeLessThan(2e-6 * want[r]);
    }
    // and the exact value: D(p‖uniform) = log 2 − H(p)
    const p0 = 1 / (1 + Math.exp(a[1] - a[0]));
    expect(Math.abs(want[0] - (p0 * Math.log(2 * p0) + (1 - p0) * Math.log(2 * (1 - p0))))).toBeLessThan(2e-6 * want[0]);
  });

  // BUG-25 (found by fuzz/run.js): the scalar build's softmaxKlDivergence kept exponentials
  // below the normal range, so a P entry whose probability is flushed everywhere else made a
  // masked Q entry a hole (Infinity) on 'wasm' alone.
  it('BUG-25: softmaxKlDivergence with Q masked only under a P entry below the normal range is finite', () => {
    for (const [T, lo] of [[Float64Array, -720], [Float32Array, -95]] as const) {
      expect(softmaxKlDivergence(T.from([0, lo]), T.from([0, -Infinity]))).toBe(0);
      expect(softmaxKlDivergence(T.from([0, 0, lo]), T.from([0, 0, -Infinity]))).toBe(0);
    }
  });

  // BUG-26 (found by fuzz/run.js): the JS twins chose the exponentials' cut-off by the output's
  // type, the kernels by the inputs': float64 logits with a float32 grad flushed the loss's
  // terms below FLT_MIN on 'js' alone (a loss of 1.4e-44 came back 0).
  it('BUG-26: float64 logits with a float32 grad keep the float64 loss of a confident row', () => {
    const grad = new Float32Array(2);
    const loss = softmaxCrossEntropy([0, -101], [0], { cols: 2, reduction: 'none', grad }) as Float64Array;
    const want = Math.log1p(Math.exp(-101)); // 1.3685394711738530e-44
    expect(Math.abs(loss[0] - want)).toBeLessThan(1e-13 * want);
  });

  // BUG-27 (found by fuzz/run.js): the JS twins kept a row's exponentials in a float32 grad
  // while forming the gradient of a float64 stage, so one below FLT_MIN was lost even where
  // a huge target weight made its gradient entry large (the kernels stage such a grad in float64).
  it('BUG-27: float64 logits, a float32 grad: an exponential below FLT_MIN still makes its gradient entry', () => {
    const g = new Float32Array(2);
    softmaxCrossEntropy(new Float64Array([0, -120]), [1e300, 0], { cols: 2, grad: g, reduction: 'sum' });
    expect(g[1]).toBe(Infinity); // 1e300·e^-120 = 7.7e247, past float32's range
    const h = new Float32Array(2);
    softmaxEntropy(new Float64Array([0, -100]), { grad: h });
    expect(Math.abs(h[1] - 3.7204474227823893e-42)).toBeLessThan(2e-44); // p·(log p + H), p = e^-100: float32-subnormal
  });

  // BUG-28 (found by fuzz/run.js): the power of two that normalised KL takes its terms
  // relative to was clamped at 2^±1023, while W_p/W_q reaches 2^±2046 (1e30 against 1e-300:
  // 2^1096), leaving a shift of 73·ln 2 to cancel.
  it('BUG-28: klDivergence with normalize of P ∝ Q whose totals differ by more than 2^1023 is 0 within 1e-15', () => {
    for (const n of [26, 1000]) {
      const p = new Float64Array(n).fill(1e30), q = new Float64Array(n).fill(1e-300);
      expect(Math.abs(klDivergence(p, q, { normalize: true }))).toBeLessThan(1e-15);
      expect(Math.abs(klDivergence(q, p, { normalize: true }))).toBeLessThan(1e-15);
    }
  });

  // BUG-23 (found by fuzz/run.js): softmaxKlDivergence formed D = Σ p·t + log(SB/SA) with t
  // relative to each row's maximum; for close distributions whose logits differ by a near-
  // constant shift over most of the mass the two parts (≈ ±1 here) cancel to D ≈ 5e-5, and
  // float32 exps (6e-8) left 5e-4 relative error.  A second pass centres on the mean shift.
  it('BUG-23: softmaxKlDivergence of P = one logit raised over 20 001, Q = uniform keeps its digits', () => {
    const n = 20001;
    for (const [delta, Type, rel] of [[1, Float32Array, 2e-6], [0.02, Float64Array, 1e-9]] as const) {
      const a = new Type(n).fill(1);
      a[0] = 1 + delta;
      const d = a[0] - 1; // the shift as the array holds it
      const em = Math.expm1(d), p0 = (1 + em) / (n + em);
      const want = p0 * d - Math.log1p(em / n); // D = p₀·δ − log(Z/n), Z = e^δ + n − 1
      const got = softmaxKlDivergence(a, new Type(n).fill(1));
      expect(Math.abs(got - want) / want).toBeLessThan(rel); // was 5e-4 (float32), 7.7e-7 (float64, D ≈ 1e-8)
    }
  });

  // BUG-12: float32 softmaxCrossEntropy gradients below FLT_MIN were off by ~2 float32 ulps
  // (1.5e-5 relative): the exponentials are stored as float32 (in the grad array, or in float32
  // lanes) before they are scaled by the class weight.  Such entries are now recomputed from
  // the logits in float64 — except in place (grad = logits), where the logits are gone.
  // (0.2) Restricted to normal results (see BUG-3): the entry of the original case (gap 92.92,
  // 1.8e-40) is below FLT_MIN and need only stay below it; the property is checked where the
  // entry is a normal float32 number (gap 80: 7.2e-35; for an entry normal though its
  // exponential is not, see 'float32 results that are normal numbers …' above).
  it('BUG-12: a tiny normal float32 gradient entry is the float32 nearest the exact value (within 2e-6)', () => {
    const gap80 = Math.fround(80);
    const want = (4 * Math.exp(-gap80)) / (1 + Math.exp(-gap80)); // 7.2e-35
    const g80 = new Float32Array(2);
    softmaxCrossEntropy(new Float32Array([0, -gap80]), [0], { cols: 2, grad: g80, weights: [4, 0.5], reduction: 'sum' });
    expect(Math.abs(g80[1] - want), `got ${g80[1]}, want ${want}`).toBeLessThanOrEqual(2e-6 * want);
    const gap = Math.fround(92.92);
    const grad = new Float32Array(2);
    softmaxCrossEntropy(new Float32Array([0, -gap]), [0], { cols: 2, grad, weights: [4, 0.5], reduction: 'sum' });
    expect(grad[1] >= 0 && grad[1] < FLT_MIN, `${grad[1]} below FLT_MIN`).toBe(true); // exact: 1.7677364952091289e-40
  });

  // BUG-13 and BUG-14, regressions of fed0267 (found by fuzz/run.js): zero-copy float32 calls
  // whose output is their input (a WasmArray, or its view, as both) were wrong on the wasm
  // backends — the float32 kernels read the input again (to recompute underflowing terms
  // in float64) after the output had overwritten it.
  it('BUG-13: softmaxCrossEntropy(z, labels, { grad: z }) with z a float32 WasmArray is right', () => {
    const z = allocate(Float32Array, 6);
    z.array.set([0, 0, 0, 1, 2, 3]);
    const grad = new Float32Array(6);
    const want = softmaxCrossEntropy(new Float32Array([0, 0, 0, 1, 2, 3]), [0, 2], { cols: 3, grad }); // 0.7531091290191074
    const got = softmaxCrossEntropy(z, [0, 2], { cols: 3, grad: z }); // was 1.2531091290191074 on wasm
    const g = Array.from(z.array);
    z.free();
    expect(got).toBeCloseTo(want, 6);
    expect(g.map((v, i) => Math.abs(v - grad[i]) < 1e-7)).toEqual(Array(6).fill(true));
  });
  // Found at FC_RUNS=3000 of 'KL of close distributions': the float32 vector KL reduced p and
  // q apart, and a close pair on either side of 2^j·√2 gave 1 + log₂(mp/mq) ≈ 1 − 0.99957,
  // an ulp of 1 against a log of 3e-4 (the term 2e-4 off; the KL of the row 6 % off).
  it('float32 KL of a pair either side of 2^-4·√2 (0.08839236 ‖ 0.08836574) is within 2e-6 of its terms\' magnitudes', () => {
    const p = Float32Array.of(0.08839236199855804, 0.25, 0.6616076380014420), q = Float32Array.of(0.08836574107408524, 0.25002662092447280, 0.6616076380014420);
    const terms = Array.from(p, (v, i) => v * Math.log(v / q[i]));
    const want = fsum(terms), mag = fsum(terms.map(Math.abs));
    const got = klDivergence(p, q, { validate: false });
    expect(Math.abs(got - want), `${got} against ${want}`).toBeLessThanOrEqual(2e-6 * mag);
  });
  // Found by a second reader of the change above: with a subnormal q (the kernel's scaled
  // copy), bits(p) − bits(q) left 32 bits where log₂(p/q) > 255, and the term came out
  // 512·p·ln 2 too low (−1.7e37 for 1.8e37).
  it('float32 KL of p = 1e35 (and 1.6e32) against a subnormal q = 1e-45 is its float64 value', () => {
    for (const big of [1e35, 1.6e32, 3e38]) {
      const p = new Float32Array(64).fill(1), q = new Float32Array(64).fill(1);
      p[5] = big;
      q[5] = 1e-45;
      const want = fsum(Array.from(p, (v, i) => v * Math.log(v / q[i])));
      const got = klDivergence(p, q, { validate: false });
      expect(Math.abs(got - want), `${big}: ${got} against ${want}`).toBeLessThanOrEqual(2e-6 * Math.abs(want));
    }
  });
  // Found by fuzz/run.js: a normalised KL whose larger total is within 2^0.6 of DBL_MAX,
  // where scaling the smaller total up by 2^kc overflows, took log(W_p/W_q) − kc·ln 2 as a
  // difference of two numbers near 641 in the vector kernel (−2.6e-14 for 0).
  it('klDivergence of proportional rows whose total is near DBL_MAX is 0 within 1e-15, normalised', () => {
    for (const [p, q] of [[[1.7976931348623157e308], [7.871846599200555e29]], [[1.2e308, 0.5e308], [1.2e-300, 0.5e-300]], [[1e-300, 3e-300], [0.4e308, 1.2e308]]]) {
      const d = klDivergence(Float64Array.from(p), q, { cols: p.length, normalize: true })[0];
      expect(Math.abs(d), `${p} ‖ ${q}: ${d}`).toBeLessThanOrEqual(1e-15);
    }
  });
  it('BUG-14: softmax(x, { out: x }) with x a float32 WasmArray [0, −200] is [1, 0]', () => {
    const x = allocate(Float32Array, 2);
    x.array.set([0, -200]);
    softmax(x, { out: x });
    const got = Array.from(x.array);
    x.free();
    expect(got).toEqual([1, 0]); // was [0.2689414322376251, 0] on wasm
  });
});

// Found by reading the kernels after the fuzzer's DBL_MAX case: normalising rows of any
// scale.  Counts times a power of two are exact from subnormal (c·2^-1074) to near DBL_MAX,
// and normalise to the counts' distribution: every normalised value is the counts' own.
// Rows of subnormal entries lost digits (their term sums, unscaled, were subnormal: 3e-4 in
// the entropy, 6–15 % in KL), the vector KL dropped their terms whole (7e4× too large), and
// the cross-entropy's and entropy's sums overflowed near DBL_MAX (Infinity).
onEachBackend('properties: normalising rows of any scale', () => {
  const random = rng(0x5ca1e);
  for (const cutoff of [0, 16]) {
    it(`every normalised value of counts·2^k is the counts' own, k from −1074 to near DBL_MAX (small-input cutoff ${cutoff})`, () => {
      setSmallInputCutoff(cutoff);
      try {
        for (const n of [1, 3, 17, 40, 1000]) {
          const c = Array.from({ length: n }, () => Math.floor(random() * 1000) + (random() < 0.2 ? 0 : 1)), d = Array.from({ length: n }, () => Math.floor(random() * 1000) + 1);
          c[0] ||= 1;
          const top = (x: number[]) => 1023 - Math.ceil(Math.log2(fsum(x))); // the largest k whose total stays below 2^1023
          const o = { normalize: true };
          const want = { entropy: entropy(c, o), crossEntropy: crossEntropy(c, d, o), klDivergence: klDivergence(c, d, o), jsDivergence: jsDivergence(c, d, o) };
          for (const [kp, kq] of [[-1074, 0], [-1060, 0], [-600, 0], [0, -1074], [-1074, -1074], [top(c), 0], [0, top(d)], [top(c), top(d)], [top(c), -600]]) {
            const p = c.map((v) => v * 2 ** kp), q = d.map((v) => v * 2 ** kq);
            const got = {
              entropy: entropy(p, o), crossEntropy: crossEntropy(p, q, o), klDivergence: klDivergence(p, q, o), jsDivergence: jsDivergence(p, q, o),
              rows: klDivergence(Float64Array.from([...p, ...p]), Float64Array.from([...q, ...q]), { ...o, cols: n })[1],
            };
            for (const [name, w] of [...Object.entries(want), ['rows', want.klDivergence]] as const) {
              const v = got[name as keyof typeof got];
              expect(Math.abs(v - w), `${name}, n ${n}, p·2^${kp}, q·2^${kq}: ${v} against ${w}`).toBeLessThanOrEqual(Math.max(1e-13 * Math.abs(w), 1e-15));
            }
          }
        }
      } finally {
        setSmallInputCutoff(0);
      }
    });
  }
});

// A base below 1 (0.5: "halvings") makes every value ≤ 0.  Found by fuzz/run.js:
// softmaxKlDivergence clamped D ≥ 0 after the scale, which made every such divergence 0;
// and the per-element losses of 'none' and the entropy accumulator gave −0 for a zero.
onEachBackend('properties: a base below 1', () => {
  const random = rng(0xba5e);
  const dist = (n: number) => {
    const w = Array.from({ length: n }, () => 0.05 + random());
    const s = fsum(w);
    return w.map((v) => v / s);
  };
  /** Each call in nats and in base b: its value is nats / ln b, and 0 as +0 (not −0). */
  const calls = (n: number): [string, (base?: number) => number | Float64Array][] => {
    const p = dist(n), q = dist(n), a = randomLogits(n, random, Float64Array), b = randomLogits(n, random, Float64Array);
    const one = [1, ...Array(n - 1).fill(0)];
    const x = Float64Array.from({ length: 2 * n }, (_, i) => (i % n === 0 ? 0 : i < n ? -Infinity : Math.sin(i)));
    // logits ±Infinity with the targets they predict: the first row's losses are 0
    const xs = Float64Array.from(x, (v, i) => (i < n ? (i % 2 ? -Infinity : Infinity) : v));
    const t = Float64Array.from(xs, (v, i) => (i < n ? (v > 0 ? 1 : 0) : i % 2));
    return [
      ['entropy', (base) => entropy(p, { base })],
      ['entropy of one-hot', (base) => entropy(one, { base })],
      ['crossEntropy', (base) => crossEntropy(p, q, { base })],
      ['klDivergence', (base) => klDivergence(p, q, { base })],
      ['klDivergence of equal rows', (base) => klDivergence([...p, ...q], [...p, ...q], { cols: n, base })],
      ['jsDivergence', (base) => jsDivergence(p, q, { base })],
      ['softmaxEntropy rows', (base) => softmaxEntropy(x, { cols: n, base })],
      ['softmaxKlDivergence', (base) => softmaxKlDivergence(a, b, { base })],
      ['softmaxKlDivergence rows, the second equal', (base) => softmaxKlDivergence([...a, ...b], [...b, ...b], { cols: n, base })],
      ['softmaxCrossEntropy none (row 0: a loss of 0)', (base) => softmaxCrossEntropy(x, [0, 1], { cols: n, base, reduction: 'none' })],
      ['softmaxCrossEntropy sum', (base) => softmaxCrossEntropy(x, [0, 1], { cols: n, base, reduction: 'sum' })],
      ['sigmoidCrossEntropy none', (base) => sigmoidCrossEntropy(xs, t, { base, reduction: 'none' })],
      ['sigmoidFocalLoss none', (base) => sigmoidFocalLoss(xs, t, { base, reduction: 'none' })],
      ['sigmoidFocalLoss mean', (base) => sigmoidFocalLoss(xs, t, { base })],
      ['createEntropy of one weight', (base) => createEntropy(undefined, { base }).add([3]).value],
      ['createEntropy', (base) => createEntropy(undefined, { base }).add(p).value],
    ];
  };
  const asArray = (r: number | Float64Array): ArrayLike<number> => (typeof r === 'number' ? [r] : r);
  for (const cutoff of [0, 16]) {
    it(`every value in base b is its value in nats / ln b, a 0 +0 (small-input cutoff ${cutoff}: ${cutoff ? 'the small loops' : 'the kernels'} for n = 3)`, () => {
      setSmallInputCutoff(cutoff);
      try {
        for (const n of [3, 40]) {
          for (const [name, f] of calls(n)) {
            const nats = Array.from(asArray(f()));
            for (const base of [0.5, 0.1, 2]) {
              const got = Array.from(asArray(f(base)));
              got.forEach((v, i) => {
                const want = nats[i] / Math.log(base);
                if (nats[i] === 0) expect(Object.is(v, 0), `${name}, n ${n}, base ${base} [${i}]: ${v}`).toBe(true);
                else expect(Math.abs(v - want), `${name}, n ${n}, base ${base} [${i}]: ${v} against ${want}`).toBeLessThanOrEqual(1e-13 * Math.abs(want));
              });
            }
          }
        }
      } finally {
        setSmallInputCutoff(0);
      }
    });
  }
});

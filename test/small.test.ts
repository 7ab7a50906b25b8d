// src/small.ts: the loops that take small calls.  Each is checked against the general
// path on the JS backend (the twins) on random vectors of 1 to 32 entries of every input
// type, masked, wide and NaN logits, zeros and Infinity results among them: bit for bit
// where small.ts keeps the twin's formula and order, within 32 ulps where it sums
// entropy's and cross-entropy's non-negative terms plainly.  Then the calls it must leave
// to the general path (which computes them or throws), and that a result is the caller's.
import fc from 'fast-check';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  byteEntropy, conditionalEntropy, crossEntropy, entropy, init, mutualInformation, jsDivergence, klDivergence, logSoftmax, logSumExp, sigmoidCrossEntropy, sigmoidFocalLoss, signedLogSumExp,
  softmax, softmaxCrossEntropy, softmaxEntropy, softmaxKlDivergence,
} from '../src/index.js';
import { allocate, currentEngine, setSmallInputCutoff, supported } from '../src/backend.js';
import type { WasmEngine } from '../src/engine.js';
import { crossEntropyWeight, entropyWeight, execute, expWeight, jsWeight, klWeight, laneWeight } from '../src/plan.js';
import { logSumExpPlan, mapPlan, softmaxEntropyPlan, softmaxKlDivergencePlan } from '../src/softmax.js';
import { sigmoidCrossEntropyPlan, sigmoidFocalLossPlan } from '../src/sigmoid.js';
import { logSumExpWeightedPlan, signedLogSumExpPlan } from '../src/weighted.js';
import { crossEntropyPlan, entropyPlan, jsDivergencePlans, klDivergencePlan } from '../src/entropy.js';
import { softmaxCrossEntropyPlan } from '../src/loss.js';
import {
  byteEntropySmall, crossEntropySmall, entropySmall, jointSmall, jsDivergenceSmall, klDivergenceSmall, logSoftmaxSmall, logSumExpSmall,
  sigmoidCrossEntropySmall, sigmoidFocalLossSmall, signedLogSumExpSmall, softmaxCrossEntropySmall, softmaxEntropySmall, softmaxKlDivergenceSmall, softmaxSmall,
} from '../src/small.js';

fc.configureGlobal({ numRuns: Number(process.env.FC_RUNS ?? 200), seed: 0x5a11 });

type Kind = 'f32' | 'f64' | 'array';
type Input = Float32Array | Float64Array | number[];
const kindArb = fc.constantFrom<Kind>('f32', 'f64', 'array');

function build(kind: Kind, v: readonly number[]): Input {
  return kind === 'array' ? v.slice() : kind === 'f32' ? Float32Array.from(v) : Float64Array.from(v);
}

/** A probability vector: random weights with zeros, normalised in float64 (its float32 copy sums to 1 within 32 float32 ulps). */
const probsArb = (n: number) => fc.array(fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 5, arbitrary: fc.double({ min: 1e-6, max: 1, noNaN: true }) }), { minLength: n, maxLength: n })
  .filter((w) => w.some((x) => x > 0))
  .map((w) => {
    const s = w.reduce((a, b) => a + b, 0);
    return w.map((x) => x / s);
  });

/** Logits: ordinary, wide, masked (−Infinity) and the odd NaN. */
const logitArb = fc.oneof(
  { weight: 8, arbitrary: fc.double({ min: -8, max: 8, noNaN: true }) },
  { weight: 2, arbitrary: fc.double({ min: -300, max: 300, noNaN: true }) },
  { weight: 2, arbitrary: fc.constant(-Infinity) },
  { weight: 1, arbitrary: fc.constant(Number.NaN) },
);
const logitsArb = fc.integer({ min: 1, max: 32 }).chain((n) => fc.array(logitArb, { minLength: n, maxLength: n }));
const pqArb = fc.integer({ min: 1, max: 32 }).chain((n) => fc.tuple(probsArb(n), probsArb(n), kindArb, kindArb));

/** The general path's value of `f()` on the JS backend (the twins), and small.ts's, which must apply. */
function both<T>(general: () => T, small: () => T | undefined): [T, T] {
  setSmallInputCutoff(0);
  const want = general();
  setSmallInputCutoff(16);
  logSumExpSmall([7, 7, 7, 7, 7], undefined); // a call before it, of other counts: nothing carries over
  const got = small();
  expect(got, 'small.ts took the call').not.toBeUndefined();
  return [got as T, want];
}

/** Within 32 ulps (float64) of the general path's value. */
function near(got: number, want: number): void {
  if (!Number.isFinite(want)) expect(got).toBe(want);
  else expect(Math.abs(got - want)).toBeLessThanOrEqual(32 * 2 ** -52 * Math.abs(want));
}

describe('small calls', () => {
  beforeAll(async () => {
    await init({ backend: 'js' });
  });
  afterAll(() => setSmallInputCutoff(16));

  it('entropy and cross-entropy: within 32 ulps of the twins', () => {
    fc.assert(fc.property(pqArb, fc.constantFrom(undefined, { base: 2 }), ([p, q, kp, kq], o) => {
      const P = build(kp, p), Q = build(kq, q);
      near(...both(() => entropy(P, o), () => entropySmall(P, o)));
      near(...both(() => crossEntropy(P, Q, o), () => crossEntropySmall(P, Q, o)));
    }));
  });

  it('KL and Jensen–Shannon divergences: the twins\' values bit for bit (Infinity where q = 0 < p)', () => {
    fc.assert(fc.property(pqArb, fc.constantFrom(undefined, { base: 10 }), ([p, q, kp, kq], o) => {
      const P = build(kp, p), Q = build(kq, q);
      const [kl, klWant] = both(() => klDivergence(P, Q, o), () => klDivergenceSmall(P, Q, o));
      expect(Object.is(kl, klWant), `${kl} vs ${klWant}`).toBe(true);
      const [js, jsWant] = both(() => jsDivergence(P, Q, o), () => jsDivergenceSmall(P, Q, o));
      expect(Object.is(js, jsWant), `${js} vs ${jsWant}`).toBe(true);
    }));
  });

  it('log-sum-exp, softmax, logSoftmax and softmaxEntropy: the twins\' values bit for bit, masked and NaN rows included', () => {
    fc.assert(fc.property(logitsArb, kindArb, (v, k) => {
      const x = build(k, v);
      const m = Math.max(...v.filter((e) => !Number.isNaN(e)));
      if (!Number.isFinite(m)) return; // (a fully masked row is the general path's)
      const [lse, lseWant] = both(() => logSumExp(x), () => logSumExpSmall(x, undefined));
      expect(Object.is(lse, lseWant)).toBe(true);
      const [h, hWant] = both(() => softmaxEntropy(x, { base: 2 }), () => softmaxEntropySmall(x, { base: 2 }));
      expect(Object.is(h, hWant)).toBe(true);
      for (const [f, small] of [[softmax, softmaxSmall], [logSoftmax, logSoftmaxSmall]] as const) {
        const [y, yWant] = both(() => f(x), () => small(x, undefined));
        expect(y).toEqual(yWant);
        const out = k === 'f32' ? new Float64Array(v.length) : new Float32Array(v.length);
        const [z, zWant] = both(() => f(x, { out: out.slice() }).slice(), () => small(x, { out })?.slice());
        expect(z).toEqual(zWant);
      }
    }));
  });

  it('softmaxEntropy\'s gradient and the sigmoid cross-entropy: the twins\' values bit for bit; byteEntropy within 32 ulps', () => {
    const gradKind = fc.constantFrom('f32', 'f64');
    fc.assert(fc.property(logitsArb, kindArb, gradKind, fc.constantFrom(undefined, 2, 0.5), (v, k, g, base) => {
      const x = build(k, v);
      if (!Number.isFinite(Math.max(...v.filter((e) => !Number.isNaN(e))))) return;
      const make = () => (g === 'f32' ? new Float32Array(v.length) : new Float64Array(v.length));
      const gw = make(), gs = make();
      const [h, want] = both(() => softmaxEntropy(x, { base, grad: gw }), () => softmaxEntropySmall(x, { base, grad: gs }));
      expect(Object.is(h, want)).toBe(true);
      expect(gs).toEqual(gw);
    }));
    const targetArb = fc.oneof(fc.constantFrom(0, 1), fc.double({ min: 0, max: 1, noNaN: true }));
    const sigArb = fc.integer({ min: 1, max: 32 }).chain((n) => fc.tuple(fc.array(fc.oneof(logitArb, fc.constantFrom(Infinity, 1e4, -1e4)), { minLength: n, maxLength: n }),
      fc.array(targetArb, { minLength: n, maxLength: n }), kindArb, kindArb, fc.constantFrom<'mean' | 'sum' | 'none'>('mean', 'sum', 'none'),
      fc.constantFrom(undefined, 2, 0.5), fc.constantFrom('none', 'f32', 'f64')));
    fc.assert(fc.property(sigArb, ([v, t, kx, kt, reduction, base, g]) => {
      const x = build(kx, v), y = build(kt, t);
      const make = () => (g === 'none' ? undefined : g === 'f32' ? new Float32Array(v.length) : new Float64Array(v.length));
      const gw = make(), gs = make();
      const [loss, want] = both(() => sigmoidCrossEntropy(x, y, { reduction, base, grad: gw }), () => sigmoidCrossEntropySmall(x, y, { reduction, base, grad: gs }));
      expect(loss).toEqual(want);
      expect(gs).toEqual(gw);
    }));
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 32 }), fc.constantFrom(undefined, { base: Math.E }), (b, o) => {
      near(...both(() => byteEntropy(b, o), () => byteEntropySmall(b, o)));
    }));
  });

  it('the loss of one row and its label: the twin\'s value and gradient bit for bit, in every reduction and base', () => {
    const arb = fc.tuple(logitsArb, kindArb, fc.nat(), fc.constantFrom<'mean' | 'sum' | 'none'>('mean', 'sum', 'none'),
      fc.constantFrom(undefined, 2, 0.5), fc.constantFrom('none', 'f32', 'f64'));
    fc.assert(fc.property(arb, ([v, k, label, reduction, base, g]) => {
      const x = build(k, v), cols = v.length;
      if (!Number.isFinite(Math.max(...v.filter((e) => !Number.isNaN(e))))) return;
      const y = [label % cols];
      const grad = () => (g === 'none' ? undefined : g === 'f32' ? new Float32Array(cols) : new Float64Array(cols));
      const gw = grad(), gs = grad();
      const [loss, want] = both(() => softmaxCrossEntropy(x, y, { cols, reduction, base, grad: gw }),
        () => softmaxCrossEntropySmall(x, y, { cols, reduction, base, grad: gs }));
      expect(loss).toEqual(want);
      expect(gs).toEqual(gw);
    }));
  });

  it('weighted and signed log-sum-exp, softmaxKlDivergence and the focal loss: the twins\' values and gradients bit for bit', () => {
    const weightArb = fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 4, arbitrary: fc.double({ min: -3, max: 3, noNaN: true }) });
    const wArb = fc.integer({ min: 1, max: 32 }).chain((n) => fc.tuple(fc.array(logitArb, { minLength: n, maxLength: n }), fc.array(weightArb, { minLength: n, maxLength: n }), kindArb, kindArb));
    fc.assert(fc.property(wArb, ([v, w, kx, kw]) => {
      const x = build(kx, v), signed = build(kw, w), weights = build(kw, w.map(Math.abs));
      expect(Object.is(...both(() => logSumExp(x, { weights }), () => logSumExpSmall(x, { weights })))).toBe(true);
      expect(both(() => signedLogSumExp(x, { weights: signed }), () => signedLogSumExpSmall(x, { weights: signed }))).toSatisfy(([a, b]) => Object.is(a.value, b.value) && Object.is(a.sign, b.sign));
      expect(both(() => signedLogSumExp(x), () => signedLogSumExpSmall(x, undefined))).toSatisfy(([a, b]) => Object.is(a.value, b.value) && Object.is(a.sign, b.sign));
    }));
    const gradArb = fc.constantFrom('none', 'f32', 'f64');
    const klArb = fc.integer({ min: 1, max: 32 }).chain((n) => fc.tuple(fc.array(logitArb, { minLength: n, maxLength: n }), fc.array(logitArb, { minLength: n, maxLength: n }),
      kindArb, kindArb, fc.constantFrom(undefined, 2), fc.constantFrom(undefined, 0.5, 3), gradArb, gradArb));
    fc.assert(fc.property(klArb, ([a, b, ka, kb, base, temperature, gp, gq]) => {
      const A = build(ka, a), B = build(kb, b);
      const make = (g: string) => (g === 'none' ? undefined : g === 'f32' ? new Float32Array(a.length) : new Float64Array(a.length));
      const pw = make(gp), qw = make(gq), ps = make(gp), qs = make(gq);
      const [d, want] = both(() => softmaxKlDivergence(A, B, { base, temperature, gradP: pw, gradQ: qw }), () => softmaxKlDivergenceSmall(A, B, { base, temperature, gradP: ps, gradQ: qs }));
      expect(Object.is(d, want), `${d} vs ${want}`).toBe(true);
      expect([ps, qs]).toEqual([pw, qw]);
    }));
    const focalArb = fc.integer({ min: 1, max: 32 }).chain((n) => fc.tuple(fc.array(fc.oneof(logitArb, fc.constantFrom(Infinity, 1e4, -1e4)), { minLength: n, maxLength: n }),
      fc.array(fc.oneof(fc.constantFrom(0, 1), fc.double({ min: 0, max: 1, noNaN: true })), { minLength: n, maxLength: n }), kindArb, kindArb,
      fc.constantFrom<'mean' | 'sum' | 'none'>('mean', 'sum', 'none'), fc.constantFrom(undefined, 0.5, -1), fc.constantFrom(undefined, 0, 1, 1.5), fc.constantFrom(undefined, 2), gradArb));
    fc.assert(fc.property(focalArb, ([v, t, kx, kt, reduction, alpha, gamma, base, g]) => {
      const x = build(kx, v), y = build(kt, t);
      if (v.some(Number.isNaN)) return; // (a NaN loss is the general path's: it checks the targets)
      const make = () => (g === 'none' ? undefined : g === 'f32' ? new Float32Array(v.length) : new Float64Array(v.length));
      const gw = make(), gs = make();
      const [loss, want] = both(() => sigmoidFocalLoss(x, y, { reduction, alpha, gamma, base, grad: gw }), () => sigmoidFocalLossSmall(x, y, { reduction, alpha, gamma, base, grad: gs }));
      expect(loss).toEqual(want);
      expect(gs).toEqual(gw);
    }));
  });

  it('mutual information and conditional entropy of small tables: the twins\' values bit for bit', () => {
    /** Both functions of `joint` on the general path (the twins) and here, Object.is apart. */
    const agree = (joint: Input, o: { cols: number; base?: number; normalize?: boolean; validate?: boolean }) => {
      for (const [f, mutual] of [[mutualInformation, true], [conditionalEntropy, false]] as const) {
        const [t, want] = both(() => f(joint, o), () => jointSmall(joint, o, mutual));
        expect(Object.is(t, want), `${t} vs ${want}`).toBe(true);
      }
    };
    const tableArb = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 8 })).chain(([r, c]) => fc.tuple(probsArb(r * c), fc.constant(c), kindArb,
      fc.constantFrom(undefined, 2), fc.boolean()));
    fc.assert(fc.property(tableArb, ([p, cols, k, base, counts]) => {
      const joint = build(k, counts ? p.map((v) => Math.round(v * 50)) : p);
      if (counts && !joint.some((v) => v > 0)) return;
      agree(joint, { cols, base, normalize: counts });
    }));
    // unvalidated tables: repeated maxima (dominated rows), negative, NaN and infinite
    // entries, and with normalize entries near DBL_MAX, whose terms sum past it
    const oddArb = fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 0.5, 1, -0.25, Number.NaN, Infinity, 1e-300, 1e300, 5e306, 4.25e307, -1e308));
    const rawArb = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 8 })).chain(([r, c]) => fc.tuple(fc.array(oddArb, { minLength: r * c, maxLength: r * c }),
      fc.constant(c), kindArb, fc.boolean()));
    fc.assert(fc.property(rawArb, ([v, cols, k, normalize]) => agree(build(k, v), { cols, normalize, validate: false })));
    // valid tables whose N·I or N·H(Y|X) passes DBL_MAX: NaN on both paths
    agree(Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 4.25e307 : 0)), { cols: 4, normalize: true });
    agree(new Float64Array(32).fill(5e306), { cols: 32, normalize: true });
  });

  it('on a wasm backend, softmaxEntropy, softmaxKlDivergence, the sigmoid losses and the weighted and signed log-sum-exp: the general path\'s values and gradients bit for bit at every size', async () => {
    const arb = fc.tuple(logitsArb, kindArb, kindArb, fc.constantFrom<'mean' | 'sum' | 'none'>('mean', 'sum', 'none'), fc.constantFrom(undefined, 2, 0.5),
      fc.constantFrom('none', 'f32', 'f64'), fc.boolean(), fc.nat(9), fc.constantFrom(0.25, 2, -1, Number.NaN));
    try {
      for (const backend of supported()) {
        await init({ backend });
        fc.assert(fc.property(arb, ([logits, k, k2, reduction, base, gradType, negative, nan, target]) => {
          const v = nan ? logits.map((e) => (Number.isNaN(e) ? 1 : e)) : logits; // (a NaN a tenth of the time: it makes every value NaN)
          const n = v.length, x = build(k, v);
          const u = build(k2, v.map((e, i) => (Number.isFinite(e) ? Math.sin(e + i) * 3 : e)));
          const w = build(k2, v.map((e, i) => (negative && i === n - 1 ? -0.5 : (i % 3) / 2)));
          // (a gradient of either float type, whatever the input's)
          const g = () => (gradType === 'none' ? undefined : gradType === 'f32' ? new Float32Array(n) : new Float64Array(n));
          const g1 = g(), g2 = g(), g3 = g(), g4 = g();
          // (from: the entries from which the plan runs its kernel, plan.ts's weights)
          const same = (got: unknown, want: () => unknown, grads: [unknown, unknown][] = [], from = 8) => {
            // (the plans run as the general path runs them, small.ts passed over; undefined: left to it)
            // (a NaN loss is left to the general path, which looks for a bad target first)
            if (n >= from && got === undefined && !negative && !v.some(Number.isNaN)) expect.fail('small.ts left a call it takes');
            if (got === undefined) return;
            expect(got).toEqual(want());
            for (const [a, b] of grads) expect(a).toEqual(b);
          };
          same(softmaxEntropySmall(x, { base, grad: g1 }), () => execute(softmaxEntropyPlan(x, { base, grad: g2 })), [[g1, g2]], 16 * expWeight(k === 'f32'));
          const gq1 = g(), gq2 = g();
          same(softmaxKlDivergenceSmall(x, u, { base, gradP: g3, gradQ: gq1 }), () => execute(softmaxKlDivergencePlan(x, u, { base, gradP: g4, gradQ: gq2 })), [[g3, g4], [gq1, gq2]]);
          // targets in [0, 1], or with a bad one (2, −1, NaN): the general path's RangeError, never a NaN loss here
          const t = build(k2, v.map((e, i) => (i === n - 1 ? target : i % 2 ? 1 : 0.25)));
          const [s1, s2, f1, f2] = [g(), g(), g(), g()];
          if (target === 0.25) {
            same(sigmoidCrossEntropySmall(x, t, { reduction, base, grad: s1 }), () => execute(sigmoidCrossEntropyPlan(x, t, { reduction, base, grad: s2 })), [[s1, s2]], s1 ? 8 : 16 * expWeight(k === 'f32' && k2 === 'f32'));
            same(sigmoidFocalLossSmall(x, t, { reduction, base, grad: f1, gamma: 1.5 }), () => execute(sigmoidFocalLossPlan(x, t, { reduction, base, grad: f2, gamma: 1.5 })), [[f1, f2]]);
          } else {
            expect(sigmoidCrossEntropySmall(x, t, { reduction, base, grad: s1 })).toBeUndefined();
            expect(sigmoidFocalLossSmall(x, t, { reduction, base, grad: f1 })).toBeUndefined();
            expect(() => sigmoidCrossEntropy(x, t, { reduction, base })).toThrow(RangeError);
          }
          same(signedLogSumExpSmall(x, { weights: w }), () => execute(signedLogSumExpPlan(x, { weights: w })));
          same(signedLogSumExpSmall(x, undefined), () => execute(signedLogSumExpPlan(x)));
          // (a negative weight: the general path's RangeError)
          const lse = logSumExpSmall(x, { weights: w });
          if (negative) expect(lse).toBeUndefined();
          else same(lse, () => execute(logSumExpWeightedPlan(x, { weights: w })));
        }));
      }
    } finally {
      await init({ backend: 'js' });
    }
  });

  it('on a wasm backend, log-sum-exp, the maps and the loss: the general path\'s values bit for bit at every size (its kernels from plan.ts\'s weights: 16 float32 or 24 float64 entries, the loss with a gradient 8 or 16), masked, NaN and ±Infinity rows included', async () => {
    const arb = fc.tuple(logitsArb, kindArb, fc.nat(), fc.constantFrom<'mean' | 'sum' | 'none'>('mean', 'sum', 'none'), fc.constantFrom(undefined, 2, 0.5),
      fc.constantFrom('none', 'f32', 'f64'), fc.boolean(), fc.nat(9), fc.constantFrom('array', 'i32', 'f64'));
    try {
      for (const backend of supported()) {
        await init({ backend });
        fc.assert(fc.property(arb, ([logits, k, label, reduction, base, gradType, inf, nan, labelType]) => {
          const v = nan ? logits.map((e) => (Number.isNaN(e) ? 1 : e)) : logits; // (a NaN a tenth of the time: it makes every value NaN)
          if (inf) v[label % v.length] = label % 2 ? Infinity : -Infinity;
          const x = build(k, v), n = v.length, from = 16 * expWeight(k === 'f32');
          // (the plans run as the general path runs them, small.ts passed over)
          const lse = logSumExpSmall(x, undefined);
          if (n >= from) expect(lse, 'small.ts took the call').toBeDefined();
          if (lse !== undefined) expect(Object.is(lse, execute(logSumExpPlan(x)))).toBe(true);
          for (const kernel of ['softmaxRows', 'logSoftmaxRows'] as const) {
            const small = kernel === 'softmaxRows' ? softmaxSmall : logSoftmaxSmall;
            const got = small(x, undefined), want = execute(mapPlan('softmax', kernel, x, undefined));
            if (n >= from) expect(got, 'small.ts took the call').toBeDefined();
            if (got) expect(got).toEqual(want);
          }
          const y = labelType === 'array' ? [label % n] : labelType === 'i32' ? Int32Array.of(label % n) : Float64Array.of(label % n);
          const g = () => (gradType === 'none' ? undefined : gradType === 'f32' ? new Float32Array(n) : new Float64Array(n));
          const gs = g(), gw = g();
          const loss = softmaxCrossEntropySmall(x, y, { cols: n, reduction, base, grad: gs });
          if (n >= (gs ? 16 * laneWeight(k === 'f32') : from)) expect(loss, 'small.ts took the call').toBeDefined();
          if (loss !== undefined) {
            expect(loss).toEqual(execute(softmaxCrossEntropyPlan(x, y, { cols: n, reduction, base, grad: gw })));
            expect(gs).toEqual(gw);
          }
        }));
      }
    } finally {
      await init({ backend: 'js' });
    }
  });

  it('on a wasm backend, entropy, cross-entropy and the divergences from their kernels\' cut-offs (plan.ts\'s weights: 8 to 32 entries): the general path\'s values bit for bit, and what it rejects left to it', async () => {
    // faults: a negative entry (the sum kept), a sum 1e-3 off, a NaN, and a sum just inside
    // and just outside its type's tolerance (1e-6 float64, 1e-5 float32)
    const fault = fc.constantFrom('none', 'negative', 'sum', 'NaN', 'inside', 'outside');
    try {
      for (const backend of supported()) {
        await init({ backend });
        fc.assert(fc.property(pqArb, fc.constantFrom(undefined, { base: 2 }, { base: 0.5 }), fault, fc.boolean(), ([p, q, kp, kq], o, f, inQ) => {
          const n = p.length, bad = (inQ ? q : p).slice(), tol = (inQ ? kq : kp) === 'f32' ? 1e-5 : 1e-6;
          if (f === 'negative') {
            const d = bad[0] + 1e-3;
            bad[0] -= d;
            bad[1 % n] += d;
          }
          if (f === 'sum') bad[0] += 1e-3;
          if (f === 'NaN') bad[n - 1] = Number.NaN;
          if (f === 'inside' || f === 'outside') for (let i = 0; i < n; i++) bad[i] *= 1 + (f === 'inside' ? 0.5 : 1.5) * tol;
          const P = build(kp, inQ ? p : bad), Q = build(kq, inQ ? bad : q);
          // (the entries from which each runs its kernel: plan.ts's weights)
          const both = kp === 'f32' && kq === 'f32';
          const cases = [
            [entropySmall(P, o), () => execute(entropyPlan(P, o)), 16 * entropyWeight(kp === 'f32')],
            [crossEntropySmall(P, Q, o), () => execute(crossEntropyPlan(P, Q, o)), 16 * crossEntropyWeight(both)],
            [klDivergenceSmall(P, Q, o), () => execute(klDivergencePlan(P, Q, o)), 16 * klWeight(both)],
            [jsDivergenceSmall(P, Q, o), () => jsDivergencePlans(P, Q, o).map((plan) => execute(plan)).at(-1), 16 * jsWeight(both)],
          ] as const;
          for (const [got, general, from] of cases) {
            // what the general path rejects is left to it; what it takes from the kernel's
            // cut-off, taken here with its value (below it, the loops: the JS backend's test above)
            let want: unknown, thrown = false;
            try { want = general(); } catch { thrown = true; }
            if (thrown) expect(got).toBeUndefined();
            else if (n >= from) {
              expect(got, 'small.ts took the call').toBeDefined();
              expect(Object.is(got, want)).toBe(true);
            }
          }
        }));
      }
    } finally {
      await init({ backend: 'js' });
    }
  });

  it('on a wasm backend, an input that is a stale view over the room (a freed WasmArray\'s) is read as it is, not overwritten by the other input', async () => {
    try {
      await init({ backend: 'wasm-simd' });
      const engine = currentEngine() as WasmEngine;
      allocate(Float64Array, 2 ** 18).free(); // (memory grown first: nothing below grows it and detaches the view)
      const pin = allocate(Float64Array, 2); // (after the first window)
      logSumExp(new Float64Array(10_000)); // (a larger window, past the pin)
      const a = allocate(Float64Array, 16); // (first fit: where the window was)
      const stale = a.array;
      a.free();
      pin.free();
      logSumExp(new Float64Array(20_000)); // (a larger window still: back at the start, over `stale`)
      expect(engine.room()?.at).toBeLessThanOrEqual(stale.byteOffset);
      const p = new Float64Array(16).fill(1 / 16), q = Float64Array.from({ length: 16 }, (_, i) => (i < 8 ? 0.12 : 0.005));
      const want = -p.reduce((sum, pi, i) => sum + pi * Math.log(q[i]), 0);
      // (float64 cross-entropy takes its kernel from 32 entries: plan.ts, crossEntropyWeight)
      const p32 = new Float64Array(32).fill(1 / 32), q32 = Float64Array.from({ length: 32 }, (_, i) => q[i >> 1] / 2);
      const s32 = new Float64Array(stale.buffer, stale.byteOffset, 32); // (the freed array's bytes and the next 16 entries', all under the window)
      s32.set(q32);
      expect(crossEntropy(p32, s32)).toBeCloseTo(want + Math.log(2), 13);
      stale.set(q);
      expect(klDivergence(p, stale)).toBeCloseTo(want - Math.log(16), 13);
      // (a first input is copied into the room before anything is written there; float64
      // entropy takes its kernel from 20 entries)
      s32.set(q32);
      expect(entropy(s32)).toBeCloseTo(-q32.reduce((sum, v) => sum + v * Math.log(v), 0), 13);
      stale.set(q);
      expect(klDivergence(stale, p)).toBeCloseTo(q.reduce((sum, v) => sum + v * Math.log(16 * v), 0), 13);
    } finally {
      await init({ backend: 'js' });
    }
  });

  it('on a wasm backend, after memory grows and the window moves, a small call still stages into live memory', async () => {
    try {
      await init({ backend: 'wasm-simd' });
      const x = Float64Array.from({ length: 16 }, (_, i) => i / 4), want = Math.log(x.reduce((s, v) => s + Math.exp(v), 0));
      expect(logSumExp(x)).toBeCloseTo(want, 13);
      const big = allocate(Float64Array, 2 ** 23); // (64 MiB: memory grows, every view of it before is detached)
      expect(logSumExp(x)).toBeCloseTo(want, 13);
      expect(softmax(x)[15]).toBeCloseTo(Math.exp(x[15] - want), 13);
      big.free();
      logSumExp(new Float64Array(2 ** 21)); // (a window larger than the first: it moves)
      expect(logSumExp(x)).toBeCloseTo(want, 13);
      expect(softmaxCrossEntropy(x, [15], { cols: 16 })).toBeCloseTo(want - x[15], 13);
    } finally {
      await init({ backend: 'js' });
    }
  });

  it('keeps no large buffer alive through the arrays it remembers', async () => {
    // a 4-entry out and input over 64 MiB buffers, called a few times: once the caller lets
    // go, the buffers are collected (small.ts remembers only views of small buffers)
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const refs = ((): WeakRef<ArrayBuffer>[] => {
      // (not whole 64 KiB pages: a buffer that is could be a module's memory, which small.ts declines)
      const big = new ArrayBuffer((64 << 20) + 8), other = new ArrayBuffer((64 << 20) + 8);
      const out = new Float64Array(big, 8, 4), x = new Float64Array(other, 64, 4).fill(1);
      for (let i = 0; i < 3; i++) expect(softmaxSmall(x, { out })).toBe(out);
      for (let i = 0; i < 3; i++) expect(sigmoidCrossEntropy([0, 0, 0, 0], x, { grad: out })).toBeCloseTo(Math.LN2, 12);
      return [new WeakRef(big), new WeakRef(other)];
    })();
    for (let i = 0; i < 3 && refs.some((r) => r.deref()); i++) {
      await new Promise((r) => setTimeout(r, 0));
      gc();
    }
    expect(refs.map((r) => r.deref() === undefined)).toEqual([true, true]);
  });

  it('leaves every other call to the general path, which computes it or throws as before', () => {
    const p = [0.25, 0.75], x = new Float32Array([1, 2, 3, 4]);
    // `cols: undefined` (as generic code passes it) is a vector's call
    expect(logSumExpSmall(x, { cols: undefined })).toBe(logSumExp(x));
    expect(softmaxSmall(x, { cols: undefined, out: new Float32Array(4) })).toEqual(softmax(x));
    // not small: other options, a matrix, too long, empty, another array type
    expect(entropySmall(p, { normalize: true })).toBeUndefined();
    expect(entropySmall(p, { cols: 1 })).toBeUndefined();
    expect(entropySmall(new Float64Array(33).fill(1 / 33), undefined)).toBeUndefined();
    expect(entropySmall([], undefined)).toBeUndefined();
    expect(entropySmall(new Uint8Array([1]), undefined)).toBeUndefined();
    expect(logSumExpSmall(x, { weights: [1, 1, 1] })).toBeUndefined();
    expect(logSumExpSmall(x, { weights: [1, 1, 1, 1], cols: 2 })).toBeUndefined();
    expect(softmaxKlDivergenceSmall(x, x, { gradQ: x })).toBeUndefined(); // (gradQ over an input: the general path's error)
    expect(softmaxKlDivergenceSmall(x, [1, 2, 3, 4], { cols: 2 })).toBeUndefined();
    expect(sigmoidFocalLossSmall(x, [1, 0, 0, 1], { cols: 2 })).toBeUndefined();
    expect(softmaxSmall(x, { temperature: 2 })).toBeUndefined();
    expect(softmaxEntropySmall(x, { temperature: 2 })).toBeUndefined();
    expect(softmaxEntropySmall(x, { grad: x })).toBeUndefined(); // (grad over its input: the general path's error)
    expect(softmaxCrossEntropySmall(x, [1], { cols: 2 })).toBeUndefined();
    expect(softmaxCrossEntropySmall(x, [1], { cols: 4, labelSmoothing: 0.1 })).toBeUndefined();
    expect(softmaxCrossEntropySmall(x, [1, 2], { cols: 4 })).toBeUndefined();
    expect(sigmoidCrossEntropySmall(x, [1, 0, 0, 1], { weights: [1, 1, 1, 1] })).toBeUndefined();
    expect(sigmoidCrossEntropySmall(x, x, { grad: new Float32Array(4) })).toBeUndefined(); // (targets out of [0, 1])
    expect(byteEntropySmall(new Uint8ClampedArray([1, 2]), undefined)).toBeUndefined();
    expect(byteEntropySmall(new Uint8Array(33), undefined)).toBeUndefined();
    // null weights: the general path's TypeError at every length (not b = 1)
    expect(() => logSumExp([1, 2], { weights: null as never })).toThrow(/weights must be an array/);
    expect(() => signedLogSumExp([1, 2], { weights: null as never })).toThrow(/weights must be an array/);
    // null temperature, normalize or validate: the general path's TypeError too (found by fuzz/run.js)
    expect(() => softmaxKlDivergence([1, 2], [2, 1], { temperature: null as never })).toThrow(/temperature must be a number, got null/);
    expect(() => mutualInformation([0.25, 0.25, 0.25, 0.25], { cols: 2, normalize: null as never })).toThrow(/normalize must be a boolean, got null/);
    expect(() => conditionalEntropy([0.25, 0.25, 0.25, 0.25], { cols: 2, validate: null as never })).toThrow(/validate must be a boolean, got null/);
    // null options: the general path's (no options), never an error of ours
    expect(logSumExpSmall([1, 2], null)).toBeUndefined();
    expect(logSumExp([1, 2], null as never)).toBe(logSumExp([1, 2]));
    expect(signedLogSumExp([1, 2], null as never)).toEqual(signedLogSumExp([1, 2]));
    expect(softmaxKlDivergence([1, 2], [2, 1], null as never)).toBe(softmaxKlDivergence([1, 2], [2, 1]));
    expect(sigmoidFocalLoss([1, 2], [0, 1], null as never)).toBe(sigmoidFocalLoss([1, 2], [0, 1]));
    // values the general path rejects: it throws, small.ts declines
    const bad: [() => unknown, () => unknown, RegExp][] = [
      [() => entropySmall([0.5, -0.5, 1], undefined), () => entropy([0.5, -0.5, 1]), /negative/],
      [() => entropySmall([0.5, 0.6], undefined), () => entropy([0.5, 0.6]), /normalize: true/],
      [() => entropySmall([0.5, '0.5'], undefined), () => entropy([0.5, '0.5'] as unknown as number[]), /p\[1\] must be a number/],
      [() => entropySmall(p, { base: 1 }), () => entropy(p, { base: 1 }), /base/],
      [() => entropySmall(p, { bse: 2 }), () => entropy(p, { bse: 2 } as object), /did you mean 'base'/],
      [() => crossEntropySmall(p, [0.5, 0.5, 0], undefined), () => crossEntropy(p, [0.5, 0.5, 0]), /length/],
      [() => klDivergenceSmall(p, [NaN, 1], undefined), () => klDivergence(p, [NaN, 1]), /NaN/],
      [() => jsDivergenceSmall(p, [0.5, 0.4], undefined), () => jsDivergence(p, [0.5, 0.4]), /q.*sum/],
      [() => softmaxSmall(x, { out: new Float32Array(3) }), () => softmax(x, { out: new Float32Array(3) }), /length 4/],
      [() => softmaxCrossEntropySmall(x, [4], { cols: 4 }), () => softmaxCrossEntropy(x, [4], { cols: 4 }), /outside \[0, 4\)/],
      [() => sigmoidCrossEntropySmall([0, 1], [0.5, 2], undefined), () => sigmoidCrossEntropy([0, 1], [0.5, 2]), /targets must be in \[0, 1\]/],
      [() => byteEntropySmall(new Uint8Array([1]), { base: -1 }), () => byteEntropy(new Uint8Array([1]), { base: -1 }), /base/],
      [() => logSumExpSmall([1, 2], { weights: [1, -1] }), () => logSumExp([1, 2], { weights: [1, -1] }), /signedLogSumExp/],
      [() => signedLogSumExpSmall([1, 2], { weights: [1, '1'] }), () => signedLogSumExp([1, 2], { weights: [1, '1'] as unknown as number[] }), /must be a number/],
      [() => softmaxKlDivergenceSmall([1, 2], [1, 2], { temperature: 0 }), () => softmaxKlDivergence([1, 2], [1, 2], { temperature: 0 }), /temperature/],
      [() => softmaxKlDivergenceSmall([1, 2], [1, 2, 3], undefined), () => softmaxKlDivergence([1, 2], [1, 2, 3]), /length/],
      [() => sigmoidFocalLossSmall([0, 1], [0.5, 2], undefined), () => sigmoidFocalLoss([0, 1], [0.5, 2]), /targets must be in \[0, 1\]/],
      [() => sigmoidFocalLossSmall([0, 1], [0, 1], { gamma: -1 }), () => sigmoidFocalLoss([0, 1], [0, 1], { gamma: -1 }), /gamma/],
      [() => jointSmall([0.5, 0.6], { cols: 1 }, true), () => mutualInformation([0.5, 0.6], { cols: 1 }), /sums to 1\.1/],
      [() => jointSmall([0.5, -0.5, 1], { cols: 3 }, false), () => conditionalEntropy([0.5, -0.5, 1], { cols: 3 }), /non-negative/],
      [() => jointSmall([0.5, 0.5], { cols: 3 }, true), () => mutualInformation([0.5, 0.5], { cols: 3 }), /multiple of cols/],
      [() => jointSmall([0.5, 0.5], { base: 2 } as never, true), () => mutualInformation([0.5, 0.5], { base: 2 } as never), /cols is required/],
      [() => jointSmall([0, 0], { cols: 2, normalize: true }, true), () => mutualInformation([0, 0], { cols: 2, normalize: true }), /positive, finite sum/],
      [() => sigmoidFocalLossSmall([0, 1], [0, 1], { alpha: 2 }), () => sigmoidFocalLoss([0, 1], [0, 1], { alpha: 2 }), /alpha/],
      [() => softmaxCrossEntropySmall(x, [1], { cols: 4, reduction: 'avg' }), () => softmaxCrossEntropy(x, [1], { cols: 4, reduction: 'avg' as 'mean' }), /reduction/],
    ];
    for (const [small, general, message] of bad) {
      expect(small()).toBeUndefined();
      expect(general).toThrow(message);
    }
    // a sum off 1 by the tolerance or more in exact arithmetic is rejected, whatever a plain sum says
    expect(() => entropy([0.104, 0.086, 0.809999])).toThrow(/sums to 0\.999999, not 1/);
    // int32 labels sharing grad's buffer: read before grad is written (the loss of each row as with a copy)
    const shared = new ArrayBuffer(32), g = new Float64Array(shared, 0, 4), lab = new Int32Array(shared, 0, 2);
    lab.set([1, 0]);
    const want = softmaxCrossEntropy([1, 2, 3, 4], Int32Array.of(1, 0), { cols: 2, reduction: 'none' });
    expect(softmaxCrossEntropy([1, 2, 3, 4], lab, { cols: 2, reduction: 'none', grad: g })).toEqual(want);
    // an out sharing the input's buffer: in place is the general path's, a partial overlap its error
    const buf = new Float64Array(6).fill(1);
    expect(softmaxSmall(buf.subarray(0, 4), { out: buf.subarray(2, 6) })).toBeUndefined();
    expect(() => softmax(buf.subarray(0, 4), { out: buf.subarray(2, 6) })).toThrow(/overlaps x partially/);
    // an out whose buffer small.ts remembers from earlier calls, then given an input in that buffer
    const own = new Float64Array(8), early = new Float64Array(own.buffer, 0, 4), late = new Float64Array(own.buffer, 16, 4);
    for (let i = 0; i < 3; i++) expect(softmax([0, 0, 0, 0], { out: early })).toEqual(new Float64Array(4).fill(0.25));
    expect(softmaxSmall(late, { out: early })).toBeUndefined();
    expect(() => softmax(late, { out: early })).toThrow(/overlaps x partially/);
    expect(() => sigmoidCrossEntropy([0, 0, 0, 0], late, { grad: early })).toThrow(/grad overlaps/);
    // an input and out remembered as apart, the out detached since (its buffer transferred)
    const xs = new Float64Array(4), gone = new Float64Array(4);
    for (let i = 0; i < 3; i++) expect(softmaxSmall(xs, { out: gone })).toBe(gone);
    structuredClone(gone.buffer, { transfer: [gone.buffer] });
    expect(softmaxSmall(xs, { out: gone })).toBeUndefined();
    const inPlace = new Float64Array([0, 0]);
    expect(softmaxSmall(inPlace, { out: inPlace })).toBeUndefined();
    expect(softmax(inPlace, { out: inPlace })).toEqual(new Float64Array([0.5, 0.5]));
    // a maximum that is not finite
    expect(logSumExpSmall([-Infinity, -Infinity], undefined)).toBeUndefined();
    expect(logSumExp([-Infinity, -Infinity])).toBe(-Infinity);
    expect(softmaxSmall([1, Infinity], undefined)).toBeUndefined();
    expect(softmax([1, Infinity])).toEqual(new Float64Array([NaN, NaN]));
  });

  it('an option given as null is the wrong type, never its default: a TypeError on the small and the general path alike', () => {
    // (each of these options once took its default for null, where the others threw: README, "Errors")
    const long = Array.from({ length: 64 }, (_, i) => (i % 7) - 3), labels = Array.from({ length: 32 }, (_, i) => i % 2);
    const cases: [string, (x: number[], y: number[], o: object) => unknown, string[]][] = [
      ['softmaxCrossEntropy', (x, y, o) => softmaxCrossEntropy(x, y, { cols: 2, ...o }), ['reduction', 'labelSmoothing']],
      ['sigmoidCrossEntropy', (x, _, o) => sigmoidCrossEntropy(x, x.map((v) => (v > 0 ? 1 : 0)), o), ['reduction', 'labelSmoothing']],
      ['sigmoidFocalLoss', (x, _, o) => sigmoidFocalLoss(x, x.map((v) => (v > 0 ? 1 : 0)), o), ['reduction', 'alpha', 'gamma']],
      ['byteEntropy', (x, _, o) => byteEntropy(Uint8Array.from(x, (v) => v + 3), o), ['base']],
    ];
    for (const [fn, call, keys] of cases) {
      for (const key of keys) {
        for (const [x, y] of [[[1, -1, 2, 0], [0, 1]], [long, labels]]) {
          expect(() => call(x, y, { [key]: null }), `${fn} ${key} n = ${x.length}`).toThrow(TypeError);
          expect(() => call(x, y, { [key]: null }), `${fn} ${key} n = ${x.length}`).toThrow(new RegExp(`^${fn}: ${key} must be .*got null$`));
        }
      }
    }
  });

  it('results are the caller\'s own: a returned array never changes under a later call', () => {
    const a = softmax([1, 2]), b = logSoftmax([1, 2]), none = softmaxCrossEntropy([1, 2], [0], { cols: 2, reduction: 'none' });
    const [a0, b0, n0] = [a.slice(), b.slice(), none.slice()];
    softmax([5, -5]);
    logSoftmax([5, -5]);
    softmaxCrossEntropy([5, -5], [1], { cols: 2, reduction: 'none' });
    expect([a, b, none]).toEqual([a0, b0, n0]);
  });

  it('exact values: the documented examples and closed forms', () => {
    expect(entropy([0.5, 0.5], { base: 2 })).toBe(1);
    expect(entropy([1, 0, 0])).toBe(0);
    expect(Object.is(entropy([1]), 0)).toBe(true); // not −0
    expect(crossEntropy([0, 0, 1, 0], [0.1, 0.1, 0.75, 0.05])).toBe(-Math.log(0.75));
    expect(crossEntropy([0.5, 0.5], [1, 0])).toBe(Infinity);
    expect(klDivergence([0.5, 0.5], [0.9, 0.1])).toBeCloseTo(0.5108256237659907, 15);
    expect(klDivergence([0.5, 0.5], [1, 0])).toBe(Infinity);
    expect(jsDivergence([1, 0], [0, 1], { base: 2 })).toBe(1);
    expect(logSumExp([1000, 1000])).toBe(1000 + Math.LN2);
    // each call its own: the count of maximal entries is never a previous call's (3 here)
    const ls = Math.log1p(Math.exp(-1));
    expect(logSoftmax([0, -1])).toEqual(Float64Array.of(-ls, -1 - ls));
    expect(logSumExp([0, -40])).toBe(Math.log1p(Math.exp(-40))); // log1p: 4.248e-18, not 0
    expect(softmax([0, -Infinity, 0])).toEqual(new Float64Array([0.5, 0, 0.5]));
    expect(logSoftmax([0, 0])).toEqual(new Float64Array([-Math.LN2, -Math.LN2]));
    expect(softmaxEntropy([0, 0, 0, 0], { base: 2 })).toBe(2);
    expect(softmaxCrossEntropy([0, 0], [1], { cols: 2 })).toBe(Math.LN2);
    expect(sigmoidCrossEntropy([0, 0], [1, 0])).toBe(Math.LN2);
    expect(byteEntropy(new TextEncoder().encode('abab'))).toBe(1);
    expect(byteEntropy(new Uint8Array([7]))).toBe(0);
  });
});

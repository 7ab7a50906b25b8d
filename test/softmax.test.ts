// logSumExp, softmax, logSoftmax, softmaxEntropy, softmaxKlDivergence: every length,
// the SPEC's conventions (masked, fully masked, huge, NaN, ±Infinity), temperature,
// `out`, errors and identities — on every backend.
import { describe, expect, it } from 'vitest';
import { allocate, entropy, klDivergence, logSoftmax, logSumExp, softmax, softmaxEntropy, softmaxKlDivergence } from '../src/index.js';
import { expectAllClose, expectClose, fsum, onEachBackend, randomLogits, rng } from './helpers.js';

const LENGTHS = [...Array.from({ length: 34 }, (_, i) => i), 63, 64, 65, 1000, 4097, 100_003];
const TYPES = [Float32Array, Float64Array] as const;
const dtypeOf = (T: (typeof TYPES)[number]) => (T === Float32Array ? 'f32' : 'f64') as 'f32' | 'f64';

/** float64 references for one row, relative to the maximum. */
function reference(x: ArrayLike<number>, T = 1) {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) m = Math.max(m, x[i]);
  const t = Array.from(x, (v) => (v - m) / T);
  const ls = Math.log(fsum(t.map(Math.exp)));
  const logp = t.map((v) => v - ls);
  const p = logp.map(Math.exp);
  return { lse: x.length ? m / T + ls : -Infinity, p, logp, H: fsum(p.map((v, i) => (v === 0 ? 0 : -v * logp[i]))) };
}

onEachBackend('softmax family', () => {
  describe('every length against a float64 reference', () => {
    for (const Type of TYPES) {
      for (const n of LENGTHS) {
        it(`n = ${n} ${Type.name}`, () => {
          const random = rng(n * 13 + (Type === Float32Array ? 3 : 4));
          const x = randomLogits(n, random, Type);
          const y = randomLogits(n, random, Type);
          const t = dtypeOf(Type);
          const r = reference(x);
          expectClose(logSumExp(x), r.lse, t, undefined, 'lse');
          const p = softmax(x);
          expect(p).toBeInstanceOf(Type);
          expectAllClose(p, r.p, t, undefined, 'softmax');
          expectAllClose(logSoftmax(x), r.logp, t, undefined, 'logSoftmax');
          if (n > 0) {
            expectClose(softmaxEntropy(x), r.H, t, undefined, 'H');
            const q = reference(y);
            const kl = fsum(r.p.map((v, i) => (v === 0 ? 0 : v * (r.logp[i] - q.logp[i]))));
            const mag = fsum(r.p.map((v, i) => Math.abs(v * (r.logp[i] - q.logp[i]))));
            expectClose(softmaxKlDivergence(x, y), kl, t, mag, 'KL');
          }
        });
      }
    }
  });

  describe('conventions', () => {
    it('an empty vector: log-sum-exp −Infinity, empty softmax', () => {
      expect(logSumExp([])).toBe(-Infinity);
      expect(softmax([])).toEqual(new Float64Array(0));
      expect(logSoftmax(new Float32Array(0))).toEqual(new Float32Array(0));
    });

    it('−Infinity logits are masked: softmax exactly 0', () => {
      for (const T of TYPES) {
        const x = new T([1, -Infinity, 2, -Infinity, 0.5, -Infinity]);
        const p = softmax(x);
        expect(p[1]).toBe(0);
        expect(p[3]).toBe(0);
        expect(p[5]).toBe(0);
        expectAllClose([p[0], p[2], p[4]], softmax([1, 2, 0.5]), dtypeOf(T));
        expect(logSoftmax(x)[1]).toBe(-Infinity);
        expectClose(softmaxEntropy(x), entropy(softmax([1, 2, 0.5])), dtypeOf(T));
        expectClose(logSumExp(x), logSumExp([1, 2, 0.5]), dtypeOf(T));
      }
    });

    it('a row of only −Infinity: log-sum-exp −Infinity, softmax 0, logSoftmax −Infinity, entropy 0, no NaN', () => {
      for (const T of TYPES) {
        const x = new T([0, 1, 2, -Infinity, -Infinity, -Infinity, 5, 5, 5]);
        expect(Array.from(logSumExp(x, { cols: 3 }))[1]).toBe(-Infinity);
        expect(Array.from(softmax(x, { cols: 3 }).subarray(3, 6))).toEqual([0, 0, 0]);
        expect(Array.from(logSoftmax(x, { cols: 3 }).subarray(3, 6))).toEqual([-Infinity, -Infinity, -Infinity]);
        expect(softmaxEntropy(x, { cols: 3 })[1]).toBe(0);
        expectClose(softmaxEntropy(x, { cols: 3 })[2], Math.log(3), dtypeOf(T));
      }
    });

    it('huge logits never overflow (±1e300 in float64, ±1e30 in float32)', () => {
      expect(logSumExp([1e300, 1e300])).toBe(1e300);
      expectAllClose(softmax([1e300, 1e300, -1e300]), [0.5, 0.5, 0], 'f64');
      expectAllClose(softmax([-1e300, 1e300 * 0.5]), [0, 1], 'f64');
      expectAllClose(softmax(new Float32Array([1e30, 1e30, -1e30])), [0.5, 0.5, 0], 'f32');
      expectClose(logSumExp(new Float32Array([1e30, -1e30])), Math.fround(1e30), 'f32');
      expectAllClose(logSoftmax([1000, 1000]), [-Math.LN2, -Math.LN2], 'f64');
      expectClose(softmaxEntropy([1e300, 1e300]), Math.LN2, 'f64');
      // logits in [90, 100]: a naive float32 exp overflows
      const x = new Float32Array([90, 95, 100, 99.5]);
      expectAllClose(softmax(x), reference(x).p, 'f32');
    });

    it('NaN logits propagate NaN through the row, and only that row', () => {
      for (const T of TYPES) {
        const x = new T([1, NaN, 2, 1, 2, 3]);
        const p = softmax(x, { cols: 3 });
        expect(Array.from(p.subarray(0, 3)).every(Number.isNaN)).toBe(true);
        expectAllClose(p.subarray(3), reference([1, 2, 3]).p, dtypeOf(T));
        expect(logSumExp(x, { cols: 3 })[0]).toBeNaN();
        expect(logSoftmax(x, { cols: 3 })[2]).toBeNaN();
        expect(softmaxEntropy(x, { cols: 3 })[0]).toBeNaN();
        expect(logSumExp(new T([NaN, -Infinity]))).toBeNaN();
        expect(logSumExp(new T([NaN]))).toBeNaN();
        expect(softmaxKlDivergence(new T([0, 1]), new T([NaN, 1]))).toBeNaN();
      }
    });

    it('+Infinity: log-sum-exp +Infinity (scipy), softmax and logSoftmax NaN (PyTorch)', () => {
      expect(logSumExp([Infinity, 1])).toBe(Infinity);
      expect(logSumExp(new Float32Array([1, Infinity, -Infinity]))).toBe(Infinity);
      expect(Array.from(softmax([Infinity, 1])).every(Number.isNaN)).toBe(true);
      expect(Array.from(logSoftmax(new Float32Array([Infinity, 1]))).every(Number.isNaN)).toBe(true);
    });

    it('log-sum-exp near 0 keeps its relative accuracy (one dominant logit)', () => {
      expectClose(logSumExp([0, -30]), Math.log1p(Math.exp(-30)), 'f64');
      expectClose(logSumExp([0, -40, -50]), Math.log1p(Math.exp(-40) + Math.exp(-50)), 'f64');
      expectClose(logSumExp(new Float32Array([0, -20])), Math.log1p(Math.exp(-20)), 'f32');
      expectClose(logSoftmax([0, -30])[0], -Math.log1p(Math.exp(-30)), 'f64');
      expectClose(softmaxEntropy([0, -30]), Math.exp(-30) * 31, 'f64', undefined);
    });

    it('entries below the normal range are 0 (as XNNPACK), normal ones keep their accuracy', () => {
      // documented choice (SPEC: a result below the smallest normal number may be 0): the
      // exponential flushes what would be subnormal, so masked and far-below logits cost nothing extra
      const x = new Float32Array([0, -100, -103, -87]);
      const p = softmax(x);
      expect(p[1]).toBe(0);
      expect(p[2]).toBe(0);
      expectClose(p[3], Math.exp(-87) / (1 + Math.exp(-87)), 'f32'); // 1.65e-38: normal
      const q = softmax([0, -740, -700]);
      expect(q[1]).toBe(0);
      expectClose(q[2], Math.exp(-700), 'f64'); // 9.86e-305: normal
    });

    it('softmax is shift-invariant and sums to 1; logSoftmax = log softmax', () => {
      const random = rng(21);
      for (const T of TYPES) {
        for (let trial = 0; trial < 30; trial++) {
          const n = 1 + Math.floor(random() * 200);
          // logits on a 2^-10 (float32) or 2^-30 (float64) grid and an integer shift, so x + c is exact
          const grid = T === Float32Array ? 2 ** 10 : 2 ** 30;
          const x = randomLogits(n, random, T, 10).map((v) => Math.round(v * grid) / grid);
          const c = Math.round((random() - 0.5) * (T === Float32Array ? 64 : 2e6));
          const shifted = x.map((v) => v + c);
          const p = softmax(x);
          expectClose(fsum(p), 1, dtypeOf(T), 1, 'Σ softmax');
          expectAllClose(softmax(shifted), p, dtypeOf(T), undefined, 'shift');
          const lp = logSoftmax(x);
          for (let i = 0; i < n; i++) if (p[i] > 1e-30) expectClose(Math.log(p[i]), lp[i], dtypeOf(T), Math.abs(lp[i]) + 1, 'log softmax');
        }
      }
    });

    it('temperature divides the logits', () => {
      const x = [1, 2, 3, 4];
      expectAllClose(softmax(x, { temperature: 2 }), reference([0.5, 1, 1.5, 2]).p, 'f64');
      expectAllClose(logSoftmax(new Float32Array(x), { temperature: 0.5 }), reference([2, 4, 6, 8]).logp, 'f32');
      expectClose(softmaxEntropy(x, { temperature: 1e12 }), Math.log(4), 'f64');
      expectAllClose(softmax(x, { temperature: 1e-3 }), [0, 0, 0, 1], 'f64');
      expectClose(softmaxEntropy(x, { temperature: 3, base: 2 }), reference(x, 3).H / Math.LN2, 'f64');
    });

    it('softmaxEntropy = entropy(softmax); softmaxKlDivergence = klDivergence(softmax, softmax) ≥ 0, 0 for equal rows', () => {
      const random = rng(33);
      for (let trial = 0; trial < 20; trial++) {
        const n = 2 + Math.floor(random() * 100);
        const a = randomLogits(n, random, Float64Array), b = randomLogits(n, random, Float64Array);
        expectClose(softmaxEntropy(a), entropy(softmax(a), { normalize: true }), 'f64');
        const kl = softmaxKlDivergence(a, b);
        expect(kl).toBeGreaterThanOrEqual(0);
        expectClose(kl, klDivergence(softmax(a), softmax(b), { normalize: true }), 'f64', kl, 'KL');
        expect(softmaxKlDivergence(a, a)).toBe(0);
        const shifted = a.map((v) => v + 0.5);
        expect(Math.abs(softmaxKlDivergence(a, shifted))).toBeLessThan(1e-15);
      }
    });

    it('softmaxKlDivergence of close logits keeps its digits (distillation near convergence)', () => {
      const random = rng(44);
      const n = 50;
      const a = randomLogits(n, random, Float64Array);
      const b = a.map((v) => v + 1e-4 * (random() - 0.5));
      // KL ≈ ½·Var_p(a − b) for small differences; compare with the float64 reference
      const pa = reference(a), pb = reference(b);
      const want = fsum(pa.p.map((v, i) => v * (pa.logp[i] - pb.logp[i])));
      const got = softmaxKlDivergence(a, b);
      expect(Math.abs(got - want) / want).toBeLessThan(1e-6);
      const a32 = Float32Array.from(a), b32 = Float32Array.from(b);
      const pa32 = reference(a32), pb32 = reference(b32);
      const want32 = fsum(pa32.p.map((v, i) => v * (pa32.logp[i] - pb32.logp[i])));
      const mag = fsum(pa32.p.map((v, i) => Math.abs(v * (pa32.logp[i] - pb32.logp[i]))));
      expectClose(softmaxKlDivergence(a32, b32), want32, 'f32', mag);
    });

    it('softmaxKlDivergence of masked rows', () => {
      expect(softmaxKlDivergence([-Infinity, -Infinity], [0, 1])).toBe(0);
      expect(softmaxKlDivergence([0, 1], [-Infinity, -Infinity])).toBe(Infinity);
      expect(softmaxKlDivergence([0, 1], [0, -Infinity])).toBe(Infinity);
      expectClose(softmaxKlDivergence([0, -Infinity], [0, 0]), Math.LN2, 'f64');
    });

    it('rows (cols) equal the 1-D calls', () => {
      const random = rng(55);
      for (const T of TYPES) {
        const cols = 17, rows = 6;
        const x = randomLogits(rows * cols, random, T), y = randomLogits(rows * cols, random, T);
        const lse = logSumExp(x, { cols }), p = softmax(x, { cols }), lp = logSoftmax(x, { cols, temperature: 2 });
        const h = softmaxEntropy(x, { cols }), kl = softmaxKlDivergence(x, y, { cols });
        for (let r = 0; r < rows; r++) {
          const row = x.subarray(r * cols, (r + 1) * cols);
          expect(lse[r]).toBe(logSumExp(row));
          expect(p.subarray(r * cols, (r + 1) * cols)).toEqual(softmax(row));
          expect(lp.subarray(r * cols, (r + 1) * cols)).toEqual(logSoftmax(row, { temperature: 2 }));
          expect(h[r]).toBe(softmaxEntropy(row));
          expect(kl[r]).toBe(softmaxKlDivergence(row, y.subarray(r * cols, (r + 1) * cols)));
        }
      }
    });
  });

  describe('out', () => {
    it('writes into out and returns it; any float type; in place', () => {
      const x = new Float32Array([1, 2, 3]);
      const out = new Float64Array(3);
      expect(softmax(x, { out })).toBe(out);
      expectAllClose(out, reference(x).p, 'f32');
      const y = Float64Array.from([1, 2, 3]);
      expect(logSoftmax(y, { out: y })).toBe(y);
      expectAllClose(y, reference([1, 2, 3]).logp, 'f64');
      const z = new Float32Array([0, 0, 0, 0]);
      softmax(z, { out: z, cols: 2 });
      expect(Array.from(z)).toEqual([0.5, 0.5, 0.5, 0.5]);
    });

    it('a WasmArray out is written in place', () => {
      const x = allocate(Float64Array, 4);
      const out = allocate(Float64Array, 4);
      x.array.set([0, 0, 0, 0]);
      const got = softmax(x, { out });
      expect(Array.from(out.array)).toEqual([0.25, 0.25, 0.25, 0.25]);
      expect(got).toBe(out.array);
      x.free();
      out.free();
    });

    it('wrong type or length is a TypeError; a partial overlap a RangeError', () => {
      expect(() => softmax([1, 2], { out: [0, 0] as unknown as Float64Array })).toThrow(TypeError);
      expect(() => softmax([1, 2], { out: new Int32Array(2) as unknown as Float64Array })).toThrow(TypeError);
      expect(() => softmax([1, 2], { out: new Float64Array(3) })).toThrow('out must have length 2, got 3');
      const buf = new Float64Array(5);
      expect(() => softmax(buf.subarray(0, 4), { out: buf.subarray(1, 5) })).toThrow(RangeError);
      expect(() => softmax(buf.subarray(0, 4), { out: buf.subarray(1, 5) })).toThrow(/overlaps x partially/);
      const f = new Float32Array(4);
      expect(() => logSoftmax(f, { out: new Float64Array(f.buffer, 0, 2) })).toThrow(TypeError);
    });
  });

  describe('errors', () => {
    it('temperature ≤ 0, NaN or infinite is a RangeError; not a number a TypeError', () => {
      for (const temperature of [0, -1, NaN, Infinity, 1e-31, 1e31]) {
        expect(() => softmax([1, 2], { temperature })).toThrow(RangeError);
        expect(() => softmaxEntropy([1, 2], { temperature })).toThrow(/temperature/);
      }
      expect(() => logSoftmax([1, 2], { temperature: '2' as unknown as number })).toThrow(TypeError);
    });

    it('shapes and types as for the probability functions', () => {
      expect(() => softmaxKlDivergence([1, 2], [1])).toThrow(TypeError);
      expect(() => logSumExp('12' as unknown as number[])).toThrow(TypeError);
      expect(() => softmax([1, 2, 3], { cols: 2 })).toThrow(RangeError);
      expect(() => softmax([1, 2], { cols: 0.5 })).toThrow(TypeError);
      expect(() => softmaxEntropy([1, 2], { base: 1 })).toThrow(RangeError);
    });
  });

  it('inputs are never mutated', () => {
    const x = randomLogits(77, rng(66), Float32Array);
    const y = randomLogits(77, rng(67), Float64Array);
    const xc = x.slice(), yc = y.slice();
    logSumExp(x); softmax(x); logSoftmax(y, { temperature: 3 }); softmaxEntropy(x, { cols: 7 }); softmaxKlDivergence(x, y);
    expect(x).toEqual(xc);
    expect(y).toEqual(yc);
  });
});

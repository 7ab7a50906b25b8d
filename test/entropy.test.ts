// information, entropy, crossEntropy, klDivergence, jsDivergence: every length (SIMD
// bodies and tails), the SPEC's conventions and errors, identities, and inputs left
// untouched — on every backend.
import { afterAll, describe, expect, it } from 'vitest';
import { setSmallInputCutoff } from '../src/backend.js';
import { crossEntropy, entropy, information, init, jsDivergence, klDivergence } from '../src/index.js';
import * as twins from '../src/js/reduce.js';
import { expectClose, fsum, onEachBackend, randomDistribution, ref, rng } from './helpers.js';

const LENGTHS = [...Array.from({ length: 34 }, (_, i) => i), 63, 64, 65, 1000, 4097, 100_003];
const TYPES = [Float32Array, Float64Array] as const;
const dtypeOf = (T: (typeof TYPES)[number]) => (T === Float32Array ? 'f32' : 'f64') as 'f32' | 'f64';

onEachBackend('entropy family', (b) => {
  describe('every length, float32 and float64, against a float64 reference', () => {
    for (const Type of TYPES) {
      for (const n of LENGTHS) {
        it(`n = ${n} ${Type.name}`, () => {
          const random = rng(n * 7 + (Type === Float32Array ? 1 : 2));
          const p = n ? randomDistribution(n, random, Type) : new Type(0);
          const q = n ? randomDistribution(n, random, Type) : new Type(0);
          if (n > 3) p[1] = 0; // a zero in every body
          const t = dtypeOf(Type);
          const sp = fsum(p), sq = fsum(q);
          const pn = Float64Array.from(p, (v) => v / sp), qn = Float64Array.from(q, (v) => v / sq);
          expectClose(entropy(p, { normalize: true }), ref.entropy(pn), t, undefined, 'H');
          expectClose(crossEntropy(p, q, { normalize: true }), n ? ref.crossEntropy(pn, qn) : 0, t, undefined, 'CE');
          expectClose(klDivergence(p, q, { normalize: true }), n ? ref.klDivergence(pn, qn) : 0, t, undefined, 'KL');
          expectClose(jsDivergence(p, q, { normalize: true }), n ? ref.jsDivergence(pn, qn) : 0, t, undefined, 'JS');
          if (n > 0 && Math.abs(sp - 1) < 1e-6 && Math.abs(sq - 1) < 1e-6) {
            expectClose(entropy(p), ref.entropy(p), t, undefined, 'H raw');
            expectClose(klDivergence(p, q), ref.klDivergence(p, q), t, undefined, 'KL raw');
            expectClose(crossEntropy(p, q), ref.crossEntropy(p, q), t, undefined, 'CE raw');
            expectClose(jsDivergence(p, q), ref.jsDivergence(p, q), t, undefined, 'JS raw');
          }
        });
      }
    }
  });

  // The vector logs take positive normal lanes only: a subnormal entry (dropped, or the row
  // computed again when that matters), a zero or subnormal q under p > 0 (its block summed
  // again by the exact terms), a −0, a negative or NaN entry (the exact path) — at every
  // position of two blocks and an odd last vector (float32: 4 lanes a vector, float64: 2).
  describe('a lane the vector log cannot take, at every position', () => {
    // two blocks of 32, then 14: float32 a pair, an odd vector and 2 scalars; float64 3 pairs and an odd vector
    const n = 78;
    const subnormal = (x: Float32Array | Float64Array) => (x instanceof Float32Array ? 1e-40 : 1e-310);
    const cases: [string, (p: Float32Array | Float64Array, q: Float32Array | Float64Array, i: number) => void][] = [
      ['a subnormal p', (p, _q, i) => { p[i] = subnormal(p); }],
      ['a subnormal q', (_p, q, i) => { q[i] = subnormal(q); }],
      ['q = 0 under p > 0', (_p, q, i) => { q[i] = 0; }],
      ['p = −0', (p, _q, i) => { p[i] = -0; }],
      ['a negative p', (p, _q, i) => { p[i] = -0.01; }],
      ['a NaN q', (_p, q, i) => { q[i] = NaN; }],
    ];
    for (const Type of TYPES) {
      for (const [what, put] of cases) {
        it(`${what}, ${Type.name}`, () => {
          const random = rng(n);
          const p0 = randomDistribution(n, random, Type), q0 = randomDistribution(n, random, Type);
          for (let i = 0; i < n; i++) {
            const p = p0.slice(), q = q0.slice();
            put(p, q, i);
            const o = { validate: false };
            const at = `${what} at ${i}`;
            const t = dtypeOf(Type);
            expectClose(entropy(p, o), ref.entropy(p), t, undefined, `H, ${at}`);
            expectClose(crossEntropy(p, q, o), ref.crossEntropy(p, q), t, undefined, `CE, ${at}`);
            expectClose(klDivergence(p, q, o), ref.klDivergence(p, q), t, undefined, `KL, ${at}`);
            expectClose(jsDivergence(p, q, o), ref.jsDivergence(p, q), t, undefined, `JS, ${at}`);
          }
        });
      }
    }
  });

  describe('conventions', () => {
    it('0·log 0 = 0, and 0·log(0/q) = 0 for any q ≥ 0', () => {
      expect(entropy([1, 0, 0])).toBe(0);
      expect(entropy(new Float32Array([0, 1, 0, 0, 0, 0]))).toBe(0);
      expect(crossEntropy([0, 1], [0, 1])).toBe(0);
      expect(klDivergence([0, 1], [0, 1])).toBe(0);
      expect(klDivergence([0, 1], [0.5, 0.5])).toBeCloseTo(Math.log(2), 15);
      expect(jsDivergence([1, 0], [1, 0])).toBe(0);
    });

    it('p > 0 where q = 0 gives Infinity for cross-entropy and KL; JS stays finite', () => {
      for (const T of TYPES) {
        const p = new T([0.5, 0.5, 0, 0, 0]);
        const q = new T([1, 0, 0, 0, 0]);
        expect(crossEntropy(p, q)).toBe(Infinity);
        expect(klDivergence(p, q)).toBe(Infinity);
        expectClose(jsDivergence(p, q), ref.jsDivergence([0.5, 0.5, 0, 0, 0], [1, 0, 0, 0, 0]), dtypeOf(T));
      }
    });

    it('an empty vector has entropy 0 (scipy), as do its divergences', () => {
      expect(entropy([])).toBe(0);
      expect(crossEntropy([], [])).toBe(0);
      expect(klDivergence(new Float32Array(0), new Float32Array(0))).toBe(0);
      expect(entropy([], { cols: 3 })).toEqual(new Float64Array(0));
    });

    it('D(p‖p) = 0 exactly, and JS(p, p) = 0', () => {
      const p = randomDistribution(37, rng(1), Float64Array);
      expect(klDivergence(p, p)).toBe(0);
      expect(jsDivergence(p, p)).toBe(0);
      const p32 = randomDistribution(37, rng(2), Float32Array);
      expect(klDivergence(p32, p32)).toBe(0);
    });

    // A subnormal entry's term (below 1455·DBL_MIN, 192·FLT_MIN) is dropped by the vector
    // kernels, which is within every bound — unless the result is made of such terms: a
    // row whose result is that small is computed again with every term exact.
    it('a result made of subnormal entries\' terms keeps its digits', () => {
      const tiny = 5e-324;
      expectClose(entropy([1 - 1e-300, 1e-300, tiny], { validate: false }), 1e-300 * 690.7755278982137 + tiny * 744.4400719213812, 'f64');
      const t32 = 1e-40; // subnormal in float32
      const p = new Float32Array([1, t32]);
      const exact = -Math.fround(t32) * Math.log(Math.fround(t32));
      expect(Math.abs(entropy(p) - exact) / exact).toBeLessThan(2e-6);
      // p/q beyond the float range: the log is still finite and exact
      const q32 = new Float32Array([1 - 1e-7, 1e-40, 1 - 1e-7, 1e-40, 0, 0]);
      const p32 = new Float32Array([0.5, 0.5, 0.5, 0.5, 0, 0]);
      const want32 = 2 * (0.5 * Math.log(0.5 / q32[0]) + 0.5 * Math.log(0.5 / q32[1]));
      expectClose(klDivergence(p32, q32, { validate: false }), want32, 'f32');
      expectClose(klDivergence(p32.subarray(0, 2), q32.subarray(0, 2), { validate: false }), want32 / 2, 'f32');
      const want64 = 0.5 * Math.log(0.5) + 0.5 * (Math.log(0.5) + 744.4400719213812);
      expectClose(klDivergence([0.5, 0.5], [1, 5e-324], { validate: false }), want64, 'f64');
      expectClose(klDivergence([0.5, 0.5, 0], [1, 5e-324, 0], { validate: false }), want64, 'f64');
    });

    it('bases: nats by default, bits, bans, any other', () => {
      const p = [0.25, 0.75];
      const nats = ref.entropy(p);
      expectClose(entropy(p, { base: 2 }), nats / Math.LN2, 'f64');
      expectClose(entropy(p, { base: 10 }), nats / Math.LN10, 'f64');
      expectClose(entropy(p, { base: 3 }), nats / Math.log(3), 'f64');
      expectClose(entropy(p, { base: Math.E }), nats, 'f64');
    });

    it('normalize treats p and q as weights or counts (scipy.stats.entropy)', () => {
      const counts = new Int32Array([3, 0, 1, 4]);
      expectClose(entropy(counts, { normalize: true }), ref.entropy([3 / 8, 0, 1 / 8, 4 / 8]), 'f64');
      expectClose(entropy(new Uint8Array([1, 1]), { normalize: true, base: 2 }), 1, 'f64');
      expectClose(klDivergence([1, 2, 3], [3, 2, 1], { normalize: true }), ref.klDivergence([1 / 6, 2 / 6, 3 / 6], [3 / 6, 2 / 6, 1 / 6]), 'f64');
      // k·p normalises back to p
      const p = randomDistribution(29, rng(5), Float64Array);
      const q = randomDistribution(29, rng(6), Float64Array);
      const k = p.map((v) => v * 7.25), kq = q.map((v) => v * 0.003);
      expectClose(entropy(k, { normalize: true }), entropy(p), 'f64');
      expectClose(klDivergence(k, kq, { normalize: true }), klDivergence(p, q), 'f64');
      expectClose(jsDivergence(k, kq, { normalize: true }), jsDivergence(p, q), 'f64');
      expectClose(crossEntropy(k, kq, { normalize: true }), crossEntropy(p, q), 'f64');
    });

    it('normalize keeps full accuracy when one entry holds most of the mass', () => {
      // H of p/Σp, references from mpmath at 40 digits (mp.dps = 40; −Σ (p/W)·log(p/W) with
      // W the exact sum).  log(W/p₀) of a ratio near 1 amplifies the ratio's rounding by
      // 1/log(W/p₀): computed that way, [10¹², 1] was off by 3e-6 relative
      const cases: [number[], number][] = [
        [[0.9999999999810723, 1.892778426867798e-11], 4.862621636014618186e-10],
        [[1e12, 1], 2.863102111590041719e-11],
        [[999999, 1], 1.481551005796410744e-5],
        [[2 ** 40, 3, 5], 1.986919154200652307e-10],
      ];
      // (relative, beyond the float64 bound's 1e-15 absolute floor, which these tiny values are under)
      for (const [p, want] of cases) {
        for (const x of [p, [...p, 0, 0, 0, 0, 0], Float64Array.from(p)]) {
          const got = entropy(x, { normalize: true });
          expect(Math.abs(got - want) / want, `H(${Array.from(x)}) = ${got}`).toBeLessThan(1e-13);
        }
      }
    });

    it('normalize keeps cross-entropy accurate when one entry of q holds most of its mass', () => {
      // H(p/Σp, q/Σq), references from mpmath at 40 digits, as above
      const cases: [number[], number[], number][] = [
        [[0.9999999999810723, 1.892778426867798e-11], [0.9999999999, 1e-10], 5.358283390077584006e-10],
        [[1e12, 1], [1e12, 3], 2.953240882722940611e-11],
        [[999999, 1], [999990, 10], 2.151296546525356392e-5],
        [[2 ** 40, 3, 5], [2 ** 40, 1, 7], 2.001593630050899823e-10],
      ];
      for (const [p, q, want] of cases) {
        for (const [x, y] of [[p, q], [[...p, 0, 0, 0], [...q, 0, 0, 0]], [Float64Array.from(p), Float64Array.from(q)]]) {
          const got = crossEntropy(x, y, { normalize: true });
          expect(Math.abs(got - want) / want, `H(${Array.from(x)}, ${Array.from(y)}) = ${got}`).toBeLessThan(1e-13);
        }
      }
    });

    it('normalize, a long row with a dominant entry: small entries sharing its SIMD lanes keep their bits', () => {
      // [1, 10⁻¹³ × 199] (and p = [1, 0 × 199]); references from mpmath at 50 digits.  The
      // SIMD rows add a block in plain lanes, where 10⁻¹³ beside 1 loses its low bits: their
      // W − p₀ is summed again apart from p₀ (`restMassF64`); before, 1.9e-7 and 5.8e-6 off
      const q = Float64Array.from({ length: 200 }, (_, i) => (i === 0 ? 1 : 1e-13)), p = Float64Array.from({ length: 200 }, (_, i) => (i === 0 ? 1 : 0));
      const h = entropy(q, { normalize: true }), ce = crossEntropy(p, q, { normalize: true });
      const H = 6.155787635455076242e-10, CE = 1.989999999980199560e-11;
      expect(Math.abs(h - H) / H, `H = ${h}`).toBeLessThan(1e-13);
      expect(Math.abs(ce - CE) / CE, `CE = ${ce}`).toBeLessThan(1e-13);
    });

    it('rows (cols) equal the 1-D calls', () => {
      const random = rng(11);
      const cols = 13, rows = 9;
      for (const T of TYPES) {
        const P = new T(rows * cols), Q = new T(rows * cols);
        for (let r = 0; r < rows; r++) {
          P.set(randomDistribution(cols, random, T), r * cols);
          Q.set(randomDistribution(cols, random, T), r * cols);
        }
        for (const fn of [crossEntropy, klDivergence, jsDivergence]) {
          const all = fn(P, Q, { cols });
          expect(all).toBeInstanceOf(Float64Array);
          expect(all.length).toBe(rows);
          for (let r = 0; r < rows; r++) {
            expect(all[r]).toBe(fn(P.subarray(r * cols, (r + 1) * cols), Q.subarray(r * cols, (r + 1) * cols)));
          }
        }
        const h = entropy(P, { cols });
        for (let r = 0; r < rows; r++) expect(h[r]).toBe(entropy(P.subarray(r * cols, (r + 1) * cols)));
      }
    });

    it('views at any byteOffset are read where they are', () => {
      const buf = new Float64Array([9, 9, 0.5, 0.5, 9, 9]);
      expect(entropy(buf.subarray(2, 4), { base: 2 })).toBe(1);
      const f32 = new Float32Array([7, 0.25, 0.75, 7]);
      expectClose(entropy(f32.subarray(1, 3)), ref.entropy([0.25, 0.75]), 'f32');
    });

    it('number[], Float64Array and integer arrays agree', () => {
      const p = [0.125, 0.375, 0.5];
      expect(entropy(p)).toBe(entropy(Float64Array.from(p)));
      expect(entropy([1, 3, 4], { normalize: true })).toBe(entropy(Uint32Array.from([1, 3, 4]), { normalize: true }));
    });

    it('validate: false skips the checks', () => {
      expect(() => entropy([0.5, 0.6], { validate: false })).not.toThrow();
      expect(Number.isNaN(entropy([-0.5, 1.5], { validate: false }))).toBe(true);
    });
  });

  describe('identities', () => {
    it('H(p, q) = H(p) + D(p‖q); D ≥ 0; 0 ≤ H ≤ log n; JS ≤ log 2 and symmetric', () => {
      const random = rng(3);
      for (let trial = 0; trial < 40; trial++) {
        const n = 1 + Math.floor(random() * 300);
        for (const T of TYPES) {
          const p = randomDistribution(n, random, T), q = randomDistribution(n, random, T);
          const t = dtypeOf(T);
          const h = entropy(p), ce = crossEntropy(p, q), kl = klDivergence(p, q), js = jsDivergence(p, q);
          expectClose(h + kl, ce, t, ce, 'H + D = CE');
          expect(kl).toBeGreaterThanOrEqual(0);
          expect(h).toBeGreaterThanOrEqual(0);
          expect(h).toBeLessThanOrEqual(Math.log(n) * (1 + 1e-12));
          expect(js).toBeGreaterThanOrEqual(0);
          expect(js).toBeLessThanOrEqual(Math.LN2);
          expectClose(jsDivergence(q, p), js, t, js, 'JS symmetric');
        }
      }
    });
  });

  describe('errors', () => {
    it('information: p outside [0, 1] or NaN is a RangeError; p = 0 is Infinity', () => {
      expect(information(0)).toBe(Infinity);
      expect(information(1)).toBe(0);
      expect(Object.is(information(1), -0)).toBe(false);
      expect(() => information(1.5)).toThrow(RangeError);
      expect(() => information(-0.1)).toThrow(/\[0, 1\]/);
      expect(() => information(NaN)).toThrow(RangeError);
      expect(() => information('0.5' as unknown as number)).toThrow(TypeError);
    });

    it('a base that is not finite, ≤ 0 or 1 is a RangeError; a non-number base a TypeError', () => {
      for (const base of [0, 1, -2, NaN, Infinity, -Infinity]) {
        expect(() => entropy([1], { base })).toThrow(RangeError);
        expect(() => klDivergence([1], [1], { base })).toThrow(/base/);
        expect(() => information(0.5, { base })).toThrow(RangeError);
      }
      expect(() => entropy([1], { base: '2' as unknown as number })).toThrow(TypeError);
    });

    it('a negative, NaN or infinite probability is a RangeError naming the input, row and entry', () => {
      expect(() => entropy([0.5, -0.25, 0.75])).toThrow(RangeError);
      expect(() => entropy([0.5, -0.25, 0.75])).toThrow('p[1] is -0.25; probabilities must be non-negative');
      expect(() => entropy([0.5, NaN, 0.5])).toThrow('p[1] is NaN');
      expect(() => entropy(new Float32Array([0.5, Infinity]))).toThrow('p[1] is Infinity; probabilities must be finite');
      expect(() => crossEntropy([0.5, 0.5], [0.5, -0.5])).toThrow('q[1] is -0.5');
      expect(() => klDivergence([0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, NaN], { cols: 2 })).toThrow('q[3] (row 1, entry 1) is NaN');
      expect(() => entropy([0.5, 0.5, -1, 2], { cols: 2 })).toThrow('p[2] (row 1, entry 0) is -1');
    });

    it('a sum off 1 is a RangeError that suggests normalize: true', () => {
      expect(() => entropy([0.5, 0.6])).toThrow(RangeError);
      expect(() => entropy([0.5, 0.6])).toThrow(/p sums to 1\.1.*normalize: true/);
      expect(() => klDivergence([0.5, 0.5, 0.2, 0.2], [0.5, 0.5, 0.5, 0.5], { cols: 2 })).toThrow(/p row 1 sums to 0\.4/);
      expect(() => jsDivergence([1, 0], [3, 1])).toThrow(/q sums to 4/);
      // within the float type's tolerance: accepted
      expect(() => entropy([0.1, 0.2, 0.3, 0.4])).not.toThrow();
      expect(() => entropy([1 / 3, 1 / 3, 1 / 3])).not.toThrow();
      expect(() => entropy([0.5, 0.5 + 1e-7])).not.toThrow();
      expect(() => entropy([0.5, 0.5 + 1e-5])).toThrow(RangeError);
      expect(() => entropy(new Float32Array([0.5, 0.5 + 4e-6]))).not.toThrow();
      expect(() => entropy(new Float32Array([0.5, 0.5 + 1e-4]))).toThrow(RangeError);
    });

    it('normalize needs a positive, finite row sum', () => {
      expect(() => entropy([0, 0], { normalize: true })).toThrow(/sums to 0; normalize needs a positive/);
      expect(() => entropy([1, -1, 2], { normalize: true })).toThrow('p[1] is -1');
    });

    it('p and q of different lengths, a non-array, or a non-integer cols is a TypeError', () => {
      expect(() => crossEntropy([1], [0.5, 0.5])).toThrow(TypeError);
      expect(() => klDivergence([1], [0.5, 0.5])).toThrow('p and q must have the same length, got 1 and 2');
      for (const bad of ['0.5', { length: 2 }, null, undefined, 3, new BigInt64Array(2), new DataView(new ArrayBuffer(8)), [0.5, '0.5']]) {
        expect(() => entropy(bad as unknown as number[])).toThrow(TypeError);
      }
      expect(() => entropy([1, , 0] as number[])).toThrow('p[1] must be a number, got undefined');
      for (const cols of [1.5, '2', NaN, Infinity, null]) {
        expect(() => entropy([0.5, 0.5], { cols: cols as number })).toThrow(TypeError);
      }
      expect(() => entropy([0.5, 0.5], { normalize: 'yes' as unknown as boolean })).toThrow(TypeError);
      expect(() => entropy([0.5, 0.5], 'bits' as never)).toThrow(TypeError);
    });

    it('cols < 1, or a length that is not a multiple of cols, is a RangeError', () => {
      expect(() => entropy([0.5, 0.5], { cols: 0 })).toThrow(RangeError);
      expect(() => entropy([0.5, 0.5], { cols: -2 })).toThrow(RangeError);
      expect(() => entropy([0.5, 0.5, 1], { cols: 2 })).toThrow('length 3 is not a multiple of cols = 2');
      expect(() => entropy([0.5, 0.5], { cols: 2 ** 40 })).toThrow(RangeError);
    });

    it('a detached buffer is a TypeError', () => {
      const p = new Float64Array([0.5, 0.5]);
      structuredClone(p.buffer, { transfer: [p.buffer] });
      expect(() => entropy(p)).toThrow(/detached/);
    });

    it('after any error every function still gives correct results', () => {
      const p = [0.25, 0.75], q = [0.5, 0.5];
      const before = [entropy(p), crossEntropy(p, q), klDivergence(p, q), jsDivergence(p, q)];
      for (const bad of [() => entropy([-1, 2]), () => klDivergence([0.5, 0.5], [1]), () => entropy(p, { base: 1 }), () => jsDivergence([NaN, 1], q)]) {
        expect(bad).toThrow();
        expect([entropy(p), crossEntropy(p, q), klDivergence(p, q), jsDivergence(p, q)]).toEqual(before);
      }
    });
  });

  // Long sums are blocked and compensated, and the formulation makes equal entries cancel
  // exactly: the uniform distribution's entropy is log n to the last bits (a running sum
  // is off by ~1e-11 at 4e6).
  describe('uniform inputs of 1e5, 1e6 and 4e6 elements: within 2e-15 of log n', () => {
    for (const n of [1e5, 1e6, 4e6]) {
      it(`n = ${n}`, () => {
        const u = new Float64Array(n).fill(1 / n);
        const ones = new Float64Array(n).fill(1);
        const want = Math.log(n);
        for (const [what, x, o] of [['Float64Array', u, ones], ['number[]', Array.from(u), Array.from(ones)]] as const) {
          const got = [entropy(x), crossEntropy(x, x), entropy(o, { normalize: true }), crossEntropy(x, x, { normalize: true }), crossEntropy(o, o, { normalize: true })];
          got.forEach((h, i) => {
            if (!(Math.abs(h - want) <= 2e-15)) expect.fail(`${what} #${i}: ${h} is ${(h - want).toExponential(2)} from log n`);
          });
          expect(klDivergence(x, x)).toBe(0);
          expect(jsDivergence(x, x)).toBe(0);
        }
      });
    }
  });

  // scipy gh-20710: p/q under- or overflows; the log is taken of the parts.
  it('KL terms whose ratio under- or overflows are computed from the logs (scipy gh-20710)', () => {
    const want1 = 1e-200 * (Math.log(1e-200) - Math.log(1e200)); // −9.210340371976183e-198
    expectClose(klDivergence([1e-200], [1e200], { validate: false }), want1, 'f64');
    expect(Math.abs(klDivergence([1e-200], [1e200], { validate: false }) / want1 - 1)).toBeLessThan(1e-13);
    const want2 = 2.22e-308 * (Math.log(2.22e-308) - Math.log(1e15)); // p subnormal: −1.6493212008074475e-305
    expect(Math.abs(klDivergence([2.22e-308], [1e15], { validate: false }) / want2 - 1)).toBeLessThan(1e-13);
    const want3 = 1e200 * (Math.log(1e200) - Math.log(1e-200));
    expect(Math.abs(klDivergence([1e200], [1e-200], { validate: false }) / want3 - 1)).toBeLessThan(1e-13);
    // the same among ordinary entries, at every position of a vector body
    for (let i = 0; i < 20; i++) {
      const p = new Float64Array(20).fill(0.05), q = new Float64Array(20).fill(0.05);
      p[i] = 1e-200;
      q[i] = 1e200;
      const want = fsum(Array.from(p, (v, j) => v * (Math.log(v) - Math.log(q[j]))));
      expectClose(klDivergence(p, q, { validate: false }), want, 'f64', undefined, `at ${i}`);
      expectClose(crossEntropy(p, q, { validate: false }), ref.crossEntropy(p, q), 'f64', undefined, `CE at ${i}`);
    }
  });

  it('KL ≈ 1e-8 keeps at least 6 digits (each term from the ratio)', () => {
    const n = 1000;
    const p = randomDistribution(n, rng(77), Float64Array);
    const random = rng(78);
    const q = p.map((v) => v * (1 + 2e-4 * (random() - 0.5)));
    const s = fsum(q);
    for (let i = 0; i < n; i++) q[i] /= s;
    // reference from exact differences: log(p/q) = log1p((p − q)/q)
    const want = fsum(Array.from(p, (v, i) => v * Math.log1p((v - q[i]) / q[i])));
    expect(want).toBeGreaterThan(1e-10);
    expect(want).toBeLessThan(1e-7);
    expect(Math.abs(klDivergence(p, q) / want - 1)).toBeLessThan(1e-6);
    expect(Math.abs(jsDivergence(p, q) / ref.jsDivergence(p, q) - 1)).toBeLessThan(1e-6);
  });

  // The inputs of the no-cliff benchmarks (issue 25): many exact zeros, subnormal entries.
  describe('sparse and subnormal probabilities, against a float64 reference', () => {
    const patterns: [string, (x: Float32Array | Float64Array, random: () => number) => void][] = [
      ['sparse (70% zeros)', (x, random) => { for (let i = 0; i < x.length; i++) if (random() < 0.7) x[i] = 0; }],
      ['subnormal (every 7th entry)', (x) => { for (let i = 0; i < x.length; i += 7) x[i] = x instanceof Float32Array ? 3e-40 : 3e-310; }],
      ['subnormal and zeros', (x, random) => { for (let i = 0; i < x.length; i++) { const u = random(); if (u < 0.3) x[i] = 0; else if (u < 0.5) x[i] = x instanceof Float32Array ? 1e-41 : 1e-320; } }],
    ];
    for (const Type of TYPES) {
      for (const [what, put] of patterns) {
        for (const n of [33, 1000, 4099]) {
          it(`${what}, n = ${n}, ${Type.name}`, () => {
            const random = rng(n + what.length);
            const p = randomDistribution(n, random, Type), q = randomDistribution(n, random, Type);
            put(p, random);
            put(q, random);
            q[0] = Math.max(q[0], 0.01); // not all zero
            for (let i = 0; i < n; i++) if (p[i] !== 0 && q[i] === 0) q[i] = 1 / n; // finite KL and CE
            const t = dtypeOf(Type);
            const o = { validate: false };
            const sp = fsum(p), sq = fsum(q);
            const pn = Float64Array.from(p, (v) => v / sp), qn = Float64Array.from(q, (v) => v / sq);
            expectClose(entropy(p, o), ref.entropy(p), t, undefined, 'H');
            expectClose(crossEntropy(p, q, o), ref.crossEntropy(p, q), t, undefined, 'CE');
            expectClose(klDivergence(p, q, o), ref.klDivergence(p, q), t, ref.magnitude(Array.from(p, (v, i) => (v === 0 ? 0 : v * Math.log(v / q[i])))), 'KL');
            expectClose(jsDivergence(p, q, o), ref.jsDivergence(p, q), t, undefined, 'JS');
            expectClose(entropy(p, { normalize: true }), ref.entropy(pn), 'f64', undefined, 'H normalised');
            expectClose(klDivergence(p, q, { normalize: true }), ref.klDivergence(pn, qn), 'f64', ref.magnitude(Array.from(pn, (v, i) => (v === 0 ? 0 : v * Math.log(v / qn[i])))), 'KL normalised');
          });
        }
      }
    }
    it('a subnormal p over q = 0 still makes cross-entropy and KL Infinity', () => {
      for (const Type of TYPES) {
        const p = new Type(40).fill(1 / 39), q = new Type(40).fill(1 / 39);
        p[17] = Type === Float32Array ? 1e-40 : 1e-310;
        p[39] = 0;
        q[17] = 0;
        expect(klDivergence(p, q, { validate: false })).toBe(Infinity);
        expect(crossEntropy(p, q, { validate: false })).toBe(Infinity);
      }
    });
  });

  // A subnormal q under p > 0 is a vector term (issue 25, "no cliffs"): the lane is scaled
  // into the normal range by its bits and its log corrected in the integer exponent, in a
  // second copy of the kernel that takes the row over from its first such block.  Each is
  // checked against the exact scalar path (the JS twins), relative to Σ|terms|.
  describe('a subnormal q under p > 0, in the vector terms', () => {
    const twin = (kernel: 'crossEntropyRows' | 'klDivergenceRows', p: ArrayLike<number>, q: ArrayLike<number>, norm = 0) => {
      const res = new Float64Array(1);
      twins[kernel](p, q, 1, p.length, norm, res, null);
      return res[0];
    };
    const ceTerms = (p: ArrayLike<number>, q: ArrayLike<number>) => Array.from(p, (v, i) => (v === 0 ? 0 : -v * Math.log(q[i])));
    const klTerms = (p: ArrayLike<number>, q: ArrayLike<number>) => Array.from(p, (v, i) => (v === 0 ? 0 : v * (Math.log(v) - Math.log(q[i]))));
    // every size of subnormal: the smallest, the largest, and bits in between
    const subnormals = {
      f32: [2 ** -149, 2 ** -126 - 2 ** -149, 1e-40, 3e-42, 5.8e-39, 2 ** -140],
      f64: [5e-324, 2 ** -1022 - 2 ** -1074, 1e-310, 3e-320, 1.1e-308, 2 ** -1050],
    };
    // the bounds of a row's result (float32: 2e-7 of Σ|terms|; float64: a few ulps a term)
    const tight = { f32: 2.5e-7, f64: 2e-15 };
    const close = (got: number, want: number, mag: number, t: 'f32' | 'f64', what: string) => {
      if (!(Math.abs(got - want) <= tight[t] * mag)) expect.fail(`${what}: got ${got}, want ${want} (error ${(Math.abs(got - want) / mag).toExponential(2)} of Σ|terms|)`);
    };

    for (const Type of TYPES) {
      const t = dtypeOf(Type);
      it(`rows where they dominate the result, at every offset in a block, ${Type.name}`, () => {
        for (const n of [5, 33, 100, 1000]) {
          for (let first = 0; first < Math.min(n, 40); first += 3) {
            const random = rng(n * 100 + first);
            const p = new Type(n).fill(1 / n), q = new Type(n);
            for (let i = 0; i < n; i++) q[i] = i < first ? (0.5 + random()) / n : subnormals[t][i % 6] * (0.5 + random());
            q[(first * 7) % n] = 0.5; // one normal q, anywhere
            const o = { validate: false };
            close(crossEntropy(p, q, o), twin('crossEntropyRows', p, q), ref.magnitude(ceTerms(p, q)), t, `CE n=${n} from ${first}`);
            close(klDivergence(p, q, o), twin('klDivergenceRows', p, q), ref.magnitude(klTerms(p, q)), t, `KL n=${n} from ${first}`);
            expectClose(klDivergence(p, q, { normalize: true }), twin('klDivergenceRows', p, q, 1), t, undefined, `KL normalised n=${n} from ${first}`);
            expectClose(crossEntropy(p, q, { normalize: true }), twin('crossEntropyRows', p, q, 1), t, undefined, `CE normalised n=${n} from ${first}`);
          }
        }
      });

      it(`random rows with subnormal q of every size (and subnormal p, zeros), ${Type.name}`, () => {
        for (const n of [40, 257, 1000, 4099]) {
          const random = rng(n + 17);
          const p = randomDistribution(n, random, Type), q = randomDistribution(n, random, Type);
          for (let i = 0; i < n; i++) {
            const u = random();
            if (u < 0.25) q[i] = subnormals[t][Math.floor(random() * 6)] * (0.5 + random());
            else if (u < 0.3) p[i] = subnormals[t][Math.floor(random() * 6)];
            else if (u < 0.35) { p[i] = 0; q[i] = random() < 0.5 ? 0 : subnormals[t][0]; }
          }
          const o = { validate: false };
          close(crossEntropy(p, q, o), twin('crossEntropyRows', p, q), ref.magnitude(ceTerms(p, q)), t, `CE n=${n}`);
          close(klDivergence(p, q, o), twin('klDivergenceRows', p, q), ref.magnitude(klTerms(p, q)), t, `KL n=${n}`);
          // as rows of a matrix: each row as its own call
          const P = new Type(2 * n), Q = new Type(2 * n);
          P.set(p); P.set(q, n); Q.set(q); Q.set(p.map((v) => v || 1 / n), n);
          const rows = klDivergence(P, Q, { cols: n, validate: false });
          expect(rows[0]).toBe(klDivergence(p, q, o));
          expect(rows[1]).toBe(klDivergence(P.subarray(n), Q.subarray(n), o));
        }
      });

      it(`extreme exponents: a large q₀, a large p over the smallest q, ${Type.name}`, () => {
        const n = 70;
        const big = t === 'f32' ? 3e38 : 1e300, bigP = t === 'f32' ? 1e30 : 1e290;
        // cross-entropy: log q − log q₀ of a subnormal q under a q₀ near the top of the range
        const p = new Type(n).fill(1 / n), q = new Type(n);
        for (let i = 0; i < n; i++) q[i] = subnormals[t][i % 6];
        q[40] = big;
        const o = { validate: false };
        close(crossEntropy(p, q, o), twin('crossEntropyRows', p, q), ref.magnitude(ceTerms(p, q)), t, 'CE, large q₀');
        close(klDivergence(p, q, o), twin('klDivergenceRows', p, q), ref.magnitude(klTerms(p, q)), t, 'KL, large q₀');
        // … and a q₀ that grows past 2^100 after the row was handed over (float32: k − k₀ − 149 < −256)
        for (const at of [33, 40, 69]) {
          const q1 = new Type(n).fill(1 / n);
          for (let i = 0; i < n; i += 5) q1[i] = subnormals[t][i % 6];
          q1[at] = big;
          close(crossEntropy(p, q1, o), twin('crossEntropyRows', p, q1), ref.magnitude(ceTerms(p, q1)), t, `CE, q₀ at ${at}`);
          close(klDivergence(p, q1, o), twin('klDivergenceRows', p, q1), ref.magnitude(klTerms(p, q1)), t, `KL, q₀ at ${at}`);
        }
        // KL: p/q far beyond the float range (log₂(p/q) up to ~200 for float32, ~2000 for float64)
        const p2 = new Type(n).fill(1 / n), q2 = new Type(n).fill(1 / n);
        for (let i = 1; i < n; i += 4) {
          p2[i] = bigP;
          q2[i] = subnormals[t][0];
        }
        close(klDivergence(p2, q2, o), twin('klDivergenceRows', p2, q2), ref.magnitude(klTerms(p2, q2)), t, 'KL, large p over the smallest q');
        close(crossEntropy(p2, q2, o), twin('crossEntropyRows', p2, q2), ref.magnitude(ceTerms(p2, q2)), t, 'CE, large p over the smallest q');
        // terms beyond the float32 range (a result above FLT_MAX is still a float64 number): the row is computed again exactly
        for (const tiny of [1e-30, subnormals[t][0], subnormals[t][2]]) {
          const p3 = new Type([t === 'f32' ? 3e38 : 1e305, 0.5, 0.25]), q3 = new Type([tiny, 0.5, 0.25]);
          const kl = twin('klDivergenceRows', p3, q3), ce = twin('crossEntropyRows', p3, q3);
          expect(Number.isFinite(kl) && Number.isFinite(ce)).toBe(true);
          close(klDivergence(p3, q3, o), kl, ref.magnitude(klTerms(p3, q3)), t, `KL, p = ${p3[0]} over ${tiny}`);
          close(crossEntropy(p3, q3, o), ce, ref.magnitude(ceTerms(p3, q3)), t, `CE, p = ${p3[0]} over ${tiny}`);
        }
      });

      it(`after a subnormal q, q = 0 under p > 0 is still Infinity; −0 and a negative q as the exact path, ${Type.name}`, () => {
        const n = 100;
        for (const at of [1, 31, 32, 50, 99]) {
          for (const bad of [0, -0, -0.25, -subnormals[t][2]]) {
            const p = new Type(n).fill(1 / n), q = new Type(n).fill(1 / n);
            q[0] = subnormals[t][2]; // the row is handed over from its first block
            q[at] = bad;
            const o = { validate: false };
            const what = `q[${at}] = ${Object.is(bad, -0) ? '-0' : bad}`;
            const ce = twin('crossEntropyRows', p, q), kl = twin('klDivergenceRows', p, q);
            if (bad === 0) {
              expect(ce, what).toBe(Infinity);
              expect(kl, what).toBe(Infinity);
            }
            expectClose(crossEntropy(p, q, o), ce, t, undefined, `CE, ${what}`);
            expectClose(klDivergence(p, q, o), kl, t, undefined, `KL, ${what}`);
          }
          // and a subnormal p over a q = 0 later in the row
          const p = new Type(n).fill(1 / n), q = new Type(n).fill(1 / n);
          q[0] = subnormals[t][1];
          p[at] = subnormals[t][3];
          q[at] = 0;
          expect(klDivergence(p, q, { validate: false })).toBe(Infinity);
          expect(crossEntropy(p, q, { validate: false })).toBe(Infinity);
        }
      });
    }
  });

  // A row longer than the wasm engine's window streams through it in segments whose parts
  // (sums, maxima, term sums) are merged: the same values as the JS backend's one pass.
  describe('rows longer than the window', () => {
    afterAll(async () => {
      await init({ backend: b, window: 32 * 2 ** 20 });
      setSmallInputCutoff(0);
    });
    it('a 1e6-element float64 row in a 1 MiB window, and a matrix of two of them', async () => {
      await init({ backend: b, window: 2 ** 20 });
      setSmallInputCutoff(0);
      const n = 1e6;
      const random = rng(2024);
      const p = randomDistribution(n, random, Float64Array), q = randomDistribution(n, random, Float64Array);
      for (let i = 0; i < n; i += 3) p[i] = 0; // zeros, and p's maximum late in the row
      p[n - 5] = 0.01;
      const res = new Float64Array(1);
      const want = (kernel: 'entropyRows' | 'crossEntropyRows' | 'klDivergenceRows', norm: number) => {
        if (kernel === 'entropyRows') twins.entropyRows(p, 1, n, norm, res, null);
        else twins[kernel](p, q, 1, n, norm, res, null);
        return res[0];
      };
      const o = { validate: false };
      expectClose(entropy(p, o), want('entropyRows', 0), 'f64', undefined, 'H');
      expectClose(entropy(p, { normalize: true }), want('entropyRows', 1), 'f64', undefined, 'H normalised');
      expectClose(crossEntropy(p, q, o), want('crossEntropyRows', 0), 'f64', undefined, 'CE');
      expectClose(crossEntropy(p, q, { normalize: true }), want('crossEntropyRows', 1), 'f64', undefined, 'CE normalised');
      expectClose(klDivergence(p, q, o), want('klDivergenceRows', 0), 'f64', undefined, 'KL');
      expectClose(klDivergence(p, q, { normalize: true }), want('klDivergenceRows', 1), 'f64', undefined, 'KL normalised');
      twins.jsDivergenceRows(p, q, 1, n, null, res, null);
      expectClose(jsDivergence(p, q, o), res[0], 'f64', undefined, 'JS');
      twins.jsDivergenceRows(p, q, 1, n, Float64Array.of(fsum(p), fsum(q)), res, null);
      expectClose(jsDivergence(p, q, { normalize: true }), res[0], 'f64', undefined, 'JS normalised');
      // uniform: still log n to the last bits across segments
      const u = new Float64Array(n).fill(1 / n);
      expect(Math.abs(entropy(u) - Math.log(n))).toBeLessThanOrEqual(2e-15);
      expect(Math.abs(crossEntropy(u, u) - Math.log(n))).toBeLessThanOrEqual(2e-15);
      // rows: each row as its own call
      const P = new Float64Array(2 * n);
      P.set(p);
      P.set(u, n);
      const h = entropy(P, { cols: n, validate: false });
      expect(h[0]).toBe(entropy(p, o));
      expect(h[1]).toBe(entropy(u));
      // validation from the merged parts: a negative entry deep in the row is named
      const bad = u.slice();
      bad[777777] = -1e-9;
      expect(() => entropy(bad)).toThrow('p[777777] is -1e-9');
      expect(() => klDivergence(u, bad)).toThrow('q[777777] is -1e-9');
      bad[777777] = NaN;
      expect(() => crossEntropy(bad, u)).toThrow('p[777777] is NaN');
      // and an Infinity from q = 0 in one segment
      const q0 = u.slice();
      q0[900001] = 0;
      expect(klDivergence(u, q0, o)).toBe(Infinity);
      expect(crossEntropy(u, q0, o)).toBe(Infinity);
    });
  });

  it('inputs are never mutated', () => {
    const p = randomDistribution(101, rng(9), Float32Array);
    const q = randomDistribution(101, rng(10), Float64Array);
    const pc = p.slice(), qc = q.slice();
    entropy(p); crossEntropy(p, q); klDivergence(p, q, { normalize: true }); jsDivergence(p, q, { cols: 101 });
    expect(p).toEqual(pc);
    expect(q).toEqual(qc);
  });
});

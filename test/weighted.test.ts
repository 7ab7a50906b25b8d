// logSumExp(x, { weights }) and signedLogSumExp: every length against a float64
// reference, scipy's values, the identities between them, the special rows (masked,
// zero weights, NaN, ±Infinity, cancellation), errors, zero-copy, and rows longer than
// the window — on every backend.
import { describe, expect, it } from 'vitest';
import { allocate, init, logSumExp, signedLogSumExp } from '../src/index.js';
import { expectClose, fsum, onEachBackend, randomLogits, rng, withSmallWindow } from './helpers.js';

const LENGTHS = [...Array.from({ length: 34 }, (_, i) => i), 63, 64, 65, 127, 128, 129, 1000, 4097, 100_003];
const TYPES = [Float32Array, Float64Array] as const;
const dtypeOf = (T: (typeof TYPES)[number]) => (T === Float32Array ? 'f32' : 'f64') as 'f32' | 'f64';
type Weights = ArrayLike<number>;
const lse = logSumExp as unknown as (x: ArrayLike<number>, o: { cols?: number; weights?: Weights }) => number & Float64Array;

/**
 * float64 reference of one row: value, sign, and the magnitude its error scales with
 * (|m| + |log|S|| + the sum's condition number Σ|bᵢ|e^(xᵢ−m) / |S|).
 */
function reference(x: ArrayLike<number>, w: ArrayLike<number>, off = 0, woff = 0, n = x.length) {
  let m = -Infinity;
  for (let i = 0; i < n; i++) if (w[woff + i] !== 0 && x[off + i] > m) m = x[off + i];
  if (m === -Infinity) return { value: -Infinity, sign: 0, mag: 0 };
  const terms: number[] = [];
  for (let i = 0; i < n; i++) if (w[woff + i] !== 0) terms.push(w[woff + i] * Math.exp(x[off + i] - m));
  const S = fsum(terms);
  if (S === 0) return { value: -Infinity, sign: 0, mag: 0 };
  const ls = Math.log(Math.abs(S));
  return { value: m + ls, sign: Math.sign(S), mag: Math.abs(m) + Math.abs(ls) + fsum(terms.map(Math.abs)) / Math.abs(S) };
}

function randomWeights(n: number, random: () => number, Type: Float32ArrayConstructor | Float64ArrayConstructor, lo: number, hi: number) {
  const w = new Type(n);
  for (let i = 0; i < n; i++) w[i] = lo + (hi - lo) * random();
  return w;
}

onEachBackend('weighted log-sum-exp', () => {
  describe('every length against a float64 reference', () => {
    for (const Type of TYPES) {
      for (const n of LENGTHS) {
        it(`n = ${n} ${Type.name}`, () => {
          const random = rng(n * 31 + (Type === Float32Array ? 1 : 2));
          const t = dtypeOf(Type);
          const x = randomLogits(n, random, Type);
          // signed: weights in [−1, 2), some exactly 0
          const w = randomWeights(n, random, Type, -1, 2);
          for (let i = 0; i < n; i += 7) w[i] = 0;
          const r = reference(x, w);
          const got = signedLogSumExp(x, { weights: w });
          expectClose(got.value, r.value, t, r.mag, 'signed value');
          expect(got.sign, 'sign').toBe(r.sign);
          // non-negative weights: logSumExp and signedLogSumExp agree
          const p = randomWeights(n, random, Type, 0, 3);
          const rp = reference(x, p);
          expectClose(lse(x, { weights: p }), rp.value, t, rp.mag, 'weighted value');
          const sp = signedLogSumExp(x, { weights: p });
          expectClose(sp.value, rp.value, t, rp.mag, 'signed, positive weights');
          expect(sp.sign).toBe(rp.sign);
        });
      }
    }
  });

  describe('rows (cols), weights per element and per column', () => {
    for (const Type of TYPES) {
      for (const cols of [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 64, 65, 257]) {
        it(`cols = ${cols} ${Type.name}`, () => {
          const random = rng(cols * 7 + (Type === Float32Array ? 5 : 6));
          const t = dtypeOf(Type);
          const rows = 5;
          const x = randomLogits(rows * cols, random, Type, 10);
          const we = randomWeights(rows * cols, random, Type, -2, 3);
          const wc = randomWeights(cols, random, Type, -2, 3);
          const e = signedLogSumExp(x, { cols, weights: we });
          const c = signedLogSumExp(x, { cols, weights: wc });
          expect(e.value).toBeInstanceOf(Float64Array);
          expect(e.value.length).toBe(rows);
          for (let r = 0; r < rows; r++) {
            const re = reference(x, we, r * cols, r * cols, cols);
            expectClose(e.value[r], re.value, t, re.mag, `per element row ${r}`);
            expect(e.sign[r]).toBe(re.sign);
            const rc = reference(x, wc, r * cols, 0, cols);
            expectClose(c.value[r], rc.value, t, rc.mag, `per column row ${r}`);
            expect(c.sign[r]).toBe(rc.sign);
          }
          const pos = Float64Array.from(wc, Math.abs);
          const v = lse(x, { cols, weights: pos });
          for (let r = 0; r < rows; r++) {
            const rr = reference(x, pos, r * cols, 0, cols);
            expectClose(v[r], rr.value, t, rr.mag, `logSumExp per column row ${r}`);
          }
        });
      }
    }
  });

  it("scipy's values (test/fixtures/make-information.py)", () => {
    // [a, b, scipy.special.logsumexp(a, b=b, return_sign=True) value and sign, exact value and sign]; scipy 1.17.1
    const cases: [number[], number[], number, number, number, number][] = [
      [[1.0, 2.0], [1.0, -1.0], 1.5413248546129181, -1.0, 1.5413248546129181, -1],
      [[0.5, 1.5, -3.0, 2.25], [0.5, 2.0, 3.0, 0.25], 2.510333459474216, 1.0, 2.5103334594742166, 1],
      [[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], [10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0], 9.917017853303467, 1.0, 9.917017853303467, 1],
      [[1000.0, 999.0, 998.0], [1.0, -2.0, 0.5], 998.8971048307044, 1.0, 998.8971048307044, 1],
      [[-1000.0, -1001.0, -1030.0], [-1.0, 3.0, -7.0], -1002.2668480994739, 1.0, -1002.2668480994739, 1],
      [[0.0, -40.0], [1.0, -1.0], -4.248354255291589e-18, 1.0, -4.248354255291589e-18, 1],
      [[1.0, 2.0, 3.0], [0.5, 0.0, 2.0], 3.726421228845397, 1.0, 3.726421228845397, 1],
    ];
    for (const [a, b, sv, ss, ev, es] of cases) {
      const got = signedLogSumExp(a, { weights: b });
      expectClose(got.value, ev, 'f64', undefined, `exact ${a}`);
      expectClose(got.value, sv, 'f64', undefined, `scipy ${a}`);
      expect(got.sign).toBe(es);
      expect(got.sign).toBe(ss);
      const f = signedLogSumExp(new Float32Array(a), { weights: new Float32Array(b) });
      expect(f.sign).toBe(es);
      if (b.every((v) => v >= 0)) expectClose(lse(a, { weights: b }), ev, 'f64', undefined, `logSumExp ${a}`);
    }
  });

  describe('identities', () => {
    for (const Type of TYPES) {
      it(`positive weights: signed = weighted = logSumExp(x + log b) ${Type.name}`, () => {
        const random = rng(Type === Float32Array ? 77 : 78);
        const t = dtypeOf(Type);
        for (const n of [1, 5, 64, 1000]) {
          const x = randomLogits(n, random, Float64Array);
          const b = randomWeights(n, random, Float64Array, 0.01, 5);
          const shifted = Float64Array.from(x, (v, i) => v + Math.log(b[i]));
          const X = new Type(x), B = new Type(b);
          const want = logSumExp(t === 'f32' ? new Float32Array(shifted) : shifted);
          const mag = reference(X, B).mag;
          expectClose(lse(X, { weights: B }), want, t, mag, `weighted n=${n}`);
          const s = signedLogSumExp(X, { weights: B });
          expectClose(s.value, want, t, mag, `signed n=${n}`);
          expect(s.sign).toBe(1);
        }
      });

      it(`weights of ones = logSumExp; no weights = logSumExp with sign 1 ${Type.name}`, () => {
        const x = randomLogits(100, rng(3), Type);
        const want = logSumExp(x);
        expectClose(lse(x, { weights: new Type(100).fill(1) }), want, dtypeOf(Type));
        const s = signedLogSumExp(x);
        expectClose(s.value, want, dtypeOf(Type));
        expect(s.sign).toBe(1);
        const m = signedLogSumExp(x, { cols: 10 });
        const l = logSumExp(x, { cols: 10 });
        for (let r = 0; r < 10; r++) expectClose(m.value[r], l[r], dtypeOf(Type));
        expect(Array.from(m.sign)).toEqual(Array(10).fill(1));
      });
    }

    it('negating every weight negates the sign and keeps the value', () => {
      const random = rng(11);
      const x = randomLogits(50, random, Float64Array), w = randomWeights(50, random, Float64Array, -1, 1);
      const a = signedLogSumExp(x, { weights: w }), b = signedLogSumExp(x, { weights: w.map((v) => -v) });
      expect(b.value).toBe(a.value);
      expect(b.sign).toBe(-a.sign);
    });
  });

  describe('conventions', () => {
    it('an exact cancellation: value −Infinity, sign 0', () => {
      for (const T of TYPES) {
        expect(signedLogSumExp(new T([1, 1]), { weights: new T([1, -1]) })).toEqual({ value: -Infinity, sign: 0 });
        expect(signedLogSumExp(new T([3, 3, 3, 3]), { weights: new T([0.5, 0.25, -0.5, -0.25]) })).toEqual({ value: -Infinity, sign: 0 });
        // the largest entries cancel, the rest decides (scipy: NaN here)
        const s = signedLogSumExp(new T([1000, 1000, 999]), { weights: new T([1, -1, 1]) });
        expectClose(s.value, 999, dtypeOf(T));
        expect(s.sign).toBe(1);
      }
    });

    it('all weights 0, all −Infinity, or empty: −Infinity, sign 0', () => {
      for (const T of TYPES) {
        expect(signedLogSumExp(new T([1, 2]), { weights: new T([0, 0]) })).toEqual({ value: -Infinity, sign: 0 });
        expect(signedLogSumExp(new T([-Infinity, -Infinity]), { weights: new T([1, -1]) })).toEqual({ value: -Infinity, sign: 0 });
        expect(signedLogSumExp(new T(0), { weights: new T(0) })).toEqual({ value: -Infinity, sign: 0 });
        expect(lse(new T([1, 2]), { weights: new T([0, 0]) })).toBe(-Infinity);
        expect(lse(new T(0), { weights: [] })).toBe(-Infinity);
        // an empty matrix: no rows, its weights per column or per element
        expect(signedLogSumExp(new T(0), { cols: 3, weights: [1, 2, 3] }).value).toEqual(new Float64Array(0));
        expect(lse(new T(0), { cols: 3, weights: [] })).toEqual(new Float64Array(0));
      }
    });

    it('weight 0 leaves an entry out, whatever its x (scipy ≥ 1.15)', () => {
      for (const T of TYPES) {
        for (const bad of [NaN, Infinity, -Infinity, 1e30]) {
          const s = signedLogSumExp(new T([bad, 1, 2]), { weights: new T([0, 1, -0.5]) });
          const r = reference([1, 2], [1, -0.5]);
          expectClose(s.value, r.value, dtypeOf(T), r.mag);
          expect(s.sign).toBe(r.sign);
        }
      }
    });

    it('masked (−Infinity) logits contribute 0', () => {
      for (const T of TYPES) {
        const s = signedLogSumExp(new T([1, -Infinity, 2, -Infinity]), { weights: new T([2, -5, -1, 7]) });
        const r = reference([1, 2], [2, -1]);
        expectClose(s.value, r.value, dtypeOf(T), r.mag);
        expect(s.sign).toBe(r.sign);
      }
    });

    it('NaN, +Infinity and infinite weights, as scipy', () => {
      const cases: [number[], number[], number, number][] = [
        [[NaN, 1], [1, 1], NaN, NaN],
        [[1, 2], [NaN, 1], NaN, NaN],
        [[Infinity, 1], [1, 1], Infinity, 1],
        [[Infinity, 1], [-1, 1], Infinity, -1],
        [[Infinity, Infinity], [1, -1], NaN, NaN],
        [[Infinity, Infinity], [2, -1], NaN, NaN],
        [[1, 2], [Infinity, 1], Infinity, 1],
        [[1, 2], [-Infinity, 1], Infinity, -1],
        [[-Infinity, 2], [Infinity, 1], NaN, NaN], // ∞·e^−∞
        [[Infinity, 2], [1, Infinity], Infinity, 1],
        [[Infinity, 2], [1, -Infinity], NaN, NaN],
      ];
      for (const T of TYPES) {
        for (const [a, b, v, s] of cases) {
          const got = signedLogSumExp(new T(a), { weights: new T(b) });
          expect(got.value, `${a} ${b}`).toBe(v);
          expect(got.sign, `${a} ${b}`).toBe(s);
        }
      }
      expect(lse([Infinity, 1], { weights: [1, 1] })).toBe(Infinity);
      expect(lse([NaN, 1], { weights: [1, 1] })).toBeNaN();
    });

    it('huge logits never overflow; a result near 0 keeps its relative accuracy', () => {
      expectClose(signedLogSumExp([1e300, 1e300], { weights: [1, 2] }).value, 1e300, 'f64');
      expectClose(signedLogSumExp(new Float32Array([1e30, 1e30]), { weights: [1, 2] }).value, 1e30, 'f32');
      expectClose(signedLogSumExp([-1e300, -1e300], { weights: [3, -1] }).value, -1e300, 'f64');
      // log(1 + e^−30) and log(1 − e^−30) ≈ ±9.4e-14
      const e = Math.exp(-30);
      expectClose(signedLogSumExp([0, -30], { weights: [1, 1] }).value, Math.log1p(e), 'f64');
      expectClose(signedLogSumExp([0, -30], { weights: [1, -1] }).value, Math.log1p(-e), 'f64');
      expectClose(lse([0, -30], { weights: [1, 1] }), Math.log1p(e), 'f64');
      expectClose(signedLogSumExp(new Float32Array([0, -30]), { weights: new Float32Array([1, 1]) }).value, Math.log1p(e), 'f32');
      // a weight > 1 at the maximum: log(2 + tiny)
      expectClose(signedLogSumExp([5, -30], { weights: [2, 1] }).value, 5 + Math.log(2) + Math.log1p(e / 2), 'f64');
    });

    it('entries just above the underflow cut-off count as themselves', () => {
      // e^−86.5 and e^−707 are normal (barely): with huge weights they decide the value
      const f = signedLogSumExp(new Float32Array([0, -86.5]), { weights: new Float32Array([1, 1e30]) });
      const want32 = Math.log1p(Math.fround(1e30) * Math.exp(-86.5));
      expectClose(f.value, want32, 'f32', undefined, 'float32');
      const d = signedLogSumExp([0, -707], { weights: [1, 1e300] });
      expectClose(d.value, Math.log1p(1e300 * Math.exp(-707)), 'f64', undefined, 'float64');
      // far below it: exactly, or 0 (below the smallest normal float32 the SIMD build returns 0)
      const far = signedLogSumExp(new Float32Array([0, -200]), { weights: new Float32Array([1, 1e30]) }).value;
      expect(far === 0 || Math.abs(far - 1e30 * Math.exp(-200)) <= 1e-6 * far).toBe(true);
    });

    it('float32 logits with float64 weights, number[] logits with float32 weights', () => {
      const x = [0.25, -1, 3.5, 2], w = [0.5, -2, 1.25, 3];
      const r = reference(x, w);
      expectClose(signedLogSumExp(new Float32Array(x), { weights: new Float64Array(w) }).value, r.value, 'f32', r.mag);
      expectClose(signedLogSumExp(x, { weights: new Float32Array(w) }).value, r.value, 'f64', r.mag);
      expectClose(signedLogSumExp(new Float64Array(x), { weights: Int32Array.from([1, -2, 1, 3]) }).value, reference(x, [1, -2, 1, 3]).value, 'f64');
    });

    it('WasmArray logits and weights (zero-copy)', () => {
      for (const T of TYPES) {
        const n = 1000, random = rng(9);
        const x = allocate(T as Float64ArrayConstructor, n), w = allocate(T as Float64ArrayConstructor, n);
        x.array.set(randomLogits(n, random, Float64Array));
        w.array.set(randomWeights(n, random, Float64Array, -1, 2));
        const r = reference(x.array, w.array);
        const got = signedLogSumExp(x, { weights: w });
        expectClose(got.value, r.value, dtypeOf(T), r.mag);
        expect(got.sign).toBe(r.sign);
        // weights of the other float type: converted
        const w2 = allocate((T === Float32Array ? Float64Array : Float32Array) as unknown as Float64ArrayConstructor, n);
        w2.array.set(w.array);
        expectClose(signedLogSumExp(x, { weights: w2 }).value, signedLogSumExp(x.array, { weights: Array.from(w2.array) }).value, dtypeOf(T), r.mag);
        x.free();
        w.free();
        w2.free();
      }
    });
  });

  describe('errors', () => {
    it('a negative weight in logSumExp is a RangeError that points at signedLogSumExp', () => {
      expect(() => lse([1, 2, 3], { weights: [1, -0.5, 1] })).toThrow(RangeError);
      expect(() => lse([1, 2, 3], { weights: [1, -0.5, 1] })).toThrow(/weights\[1\] is -0\.5.*signedLogSumExp/);
      expect(() => lse([1, 2, 3, 4], { cols: 2, weights: [1, -2] })).toThrow(/weights\[1\] is -2.*signedLogSumExp/);
      expect(() => lse(new Float32Array(100), { cols: 10, weights: Float32Array.from({ length: 100 }, (_, i) => (i === 57 ? -1 : 1)) })).toThrow(/weights\[57\]/);
      // a negative weight of a masked logit is still an error
      expect(() => lse([1, -Infinity], { weights: [1, -1] })).toThrow(RangeError);
    });

    it('a NaN weight does not hide a negative one: a RangeError naming it, whatever their lanes', () => {
      // (found by the fuzzer: the kernels' smallest weight took NaN from a NaN lane and lost
      // the weights reduced with it; a NaN weight alone makes the value NaN)
      for (const Type of TYPES) {
        for (const n of [8, 16, 17, 40]) {
          for (let nanAt = 0; nanAt < Math.min(n, 16); nanAt++) {
            for (const negAt of [0, 1, 2, 3, 5, 9, n - 1]) {
              if (negAt === nanAt || negAt >= n) continue;
              const w = new Type(n).fill(0.5);
              w[nanAt] = Number.NaN;
              w[negAt] = -0.25;
              expect(() => lse(new Type(n).fill(1), { weights: w }), `n ${n}, NaN at ${nanAt}, −0.25 at ${negAt}`).toThrow(new RegExp(`weights\\[${negAt}\\] is -0\\.25`));
            }
          }
        }
        const w = new Type(8).fill(0.5);
        w[3] = Number.NaN;
        expect(lse(new Type(8).fill(1), { weights: w })).toBeNaN();
      }
    });

    it('weights of the wrong length or type are TypeErrors; unknown options name the nearest', () => {
      expect(() => signedLogSumExp([1, 2, 3], { weights: [1, 2] })).toThrow(TypeError);
      expect(() => signedLogSumExp([1, 2, 3], { weights: [1, 2] })).toThrow(/weights must have length 3 \(one per element\), got 2/);
      expect(() => signedLogSumExp([1, 2, 3, 4, 5, 6], { cols: 3, weights: [1, 2] })).toThrow(/length 6 \(one per element\) or 3 \(one per column\), got 2/);
      expect(() => lse([1, 2], { weights: 'ab' as never })).toThrow(TypeError);
      expect(() => signedLogSumExp([1, 2], { weights: [1, 'x'] as never })).toThrow(/weights\[1\] must be a number/);
      expect(() => signedLogSumExp([1, 2], { wieghts: [1, 1] } as never)).toThrow(/unknown option 'wieghts' \(did you mean 'weights'\?\)/);
      expect(() => signedLogSumExp([1, 2, 3], { cols: 2 })).toThrow(RangeError);
      expect(() => signedLogSumExp([1, 2, 3], { cols: 1.5 })).toThrow(TypeError);
      expect(() => signedLogSumExp('abc' as never)).toThrow(TypeError);
    });

    it('nothing corrupts a later call', () => {
      expect(() => lse([1, 2, 3], { weights: [1, -0.5, 1] })).toThrow();
      expect(() => signedLogSumExp([1, 2, 3], { weights: [1, 2] })).toThrow();
      expectClose(signedLogSumExp([1, 2], { weights: [1, -1] }).value, 1.5413248546129181, 'f64');
    });
  });

  describe('rows longer than the window (stream.ts), against the JS backend', () => {
    const n = 300_001; // 2.4 MB of float64, 1.2 MB of float32: longer than a 1 MiB window
    withSmallWindow();
    for (const Type of TYPES) {
      it(`one long row and long rows with per-column weights ${Type.name}`, async () => {
        const random = rng(Type === Float32Array ? 21 : 22);
        const t = dtypeOf(Type);
        const x = randomLogits(2 * n, random, Type, 20);
        const w = randomWeights(2 * n, random, Type, -1, 1.5);
        const wc = randomWeights(n, random, Type, 0, 1);
        // specials in the second row's segments: a NaN x at weight 0 (left out) and a masked logit
        x[n + 5] = NaN;
        w[n + 5] = 0;
        x[2 * n - 3] = -Infinity;
        const got = signedLogSumExp(x, { cols: n, weights: w });
        const gotc = lse(x, { cols: n, weights: wc });
        const one = signedLogSumExp(x.subarray(0, n), { weights: w.subarray(0, n) });
        const { backend } = await import('../src/index.js');
        const here = backend();
        await init({ backend: 'js' });
        const js = signedLogSumExp(x, { cols: n, weights: w });
        const jsc = lse(x, { cols: n, weights: wc });
        await init({ backend: here as never });
        for (let r = 0; r < 2; r++) {
          const ref = reference(x, w, r * n, r * n, n);
          expectClose(got.value[r], ref.value, t, ref.mag, `row ${r}`);
          expectClose(got.value[r], js.value[r], t, ref.mag, `row ${r} against js`);
          expect(got.sign[r]).toBe(js.sign[r]);
          expectClose(gotc[r], jsc[r], t, reference(x, wc, r * n, 0, n).mag, `per column row ${r}`);
        }
        expectClose(one.value, got.value[0], t, reference(x, w, 0, 0, n).mag, 'vector');
        // a NaN of nonzero weight, and +Infinity, in a long row
        const y = new Type(n).fill(0.5);
        y[n - 2] = Infinity;
        expect(signedLogSumExp(y, { weights: new Type(n).fill(-1) })).toEqual({ value: Infinity, sign: -1 });
        y[3] = NaN;
        expect(signedLogSumExp(y, { weights: new Type(n).fill(-1) }).value).toBeNaN();
        expect(signedLogSumExp(new Type(n).fill(-Infinity), { weights: new Type(n).fill(1) })).toEqual({ value: -Infinity, sign: 0 });
      });
    }
  });
});

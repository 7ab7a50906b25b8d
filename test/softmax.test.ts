// logSumExp, softmax, logSoftmax, softmaxEntropy, softmaxKlDivergence: every length,
// the SPEC's conventions (masked, fully masked, huge, NaN, ±Infinity), temperature,
// `out`, errors and identities — on every backend.
import { describe, expect, it } from 'vitest';
import { allocate, backend, entropy, klDivergence, logSoftmax, logSumExp, softmax, softmaxCrossEntropy, softmaxEntropy, softmaxKlDivergence } from '../src/index.js';
import { belowNormal, expectAllClose, expectClose, fsum, MIN_NORMAL, onEachBackend, randomLogits, rng } from './helpers.js';

const LENGTHS = [...Array.from({ length: 34 }, (_, i) => i), 63, 64, 65, 1000, 4097, 100_003];
const TYPES = [Float32Array, Float64Array] as const;
const dtypeOf = (T: (typeof TYPES)[number]) => (T === Float32Array ? 'f32' : 'f64') as 'f32' | 'f64';

/** float64 references for one row, relative to the maximum. */
function reference(x: ArrayLike<number>, T = 1) {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) m = Math.max(m, x[i]);
  const t = Array.from(x, (v) => (v - m) / T);
  // log(ones + rest) as log1p: for a confident row (rest ~1e-17) log(1 + rest) would round to 0
  const ones = t.filter((v) => v === 0).length;
  const ls = Math.log1p(ones - 1 + fsum(t.filter((v) => v !== 0).map(Math.exp)));
  const logp = t.map((v) => v - ls);
  const p = logp.map(Math.exp);
  return { lse: x.length ? m / T + ls : -Infinity, logS: ls, p, logp, H: fsum(p.map((v, i) => (v === 0 ? 0 : -v * logp[i]))) };
}

/** D(softmax(a/T) ‖ softmax(b/T)), the sum of its terms' magnitudes, and |log(SA/SB)| (S = Σ e^((x − m)/T)). */
function refKl(a: ArrayLike<number>, b: ArrayLike<number>, T: number) {
  const pa = reference(a, T), pb = reference(b, T);
  const terms = pa.p.map((v, i) => (v === 0 ? 0 : v * (pa.logp[i] - pb.logp[i])));
  return { kl: fsum(terms), mag: fsum(terms.map(Math.abs)), logRatio: Math.abs(pa.logS - pb.logS) };
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
            const { kl, mag } = refKl(x, y, 1);
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

    it('fully masked rows among others: entropy 0 and a gradient of 0, at every width and temperature', () => {
      for (const T of TYPES) {
        for (const cols of [2, 3, 4, 5, 8, 70]) {
          // eight rows (two groups of four, four of two): the first ordinary, the rest masked
          const x = new T(8 * cols).fill(-Infinity);
          for (let j = 0; j < cols; j++) x[j] = j % 3;
          for (const temperature of [1, 0.5]) {
            const grad = new T(x.length).fill(NaN);
            const h = softmaxEntropy(x, { cols, temperature, grad });
            expect(Array.from(h.subarray(1)), `cols ${cols}`).toEqual(new Array(7).fill(0));
            expect(Array.from(grad.subarray(cols)), `cols ${cols}, T = ${temperature}`).toEqual(new Array(7 * cols).fill(0));
            expect(grad.subarray(0, cols).every(Number.isFinite)).toBe(true);
          }
        }
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

    it('a result beyond its type\'s range may be ±Infinity (README): float32 logSoftmax of 1e30 apart at T = 1e-30', () => {
      expect(Array.from(logSoftmax(new Float32Array([1e30, 0]), { temperature: 1e-30 }))).toEqual([0, -Infinity]);
      // into a float64 out: −Infinity from the float32 kernels, the value from the JS twin
      // (float64 arithmetic on the float32 input)
      const into = logSoftmax(new Float32Array([1e30, 0]), { temperature: 1e-30, out: new Float64Array(2) });
      expect(into[0]).toBe(0);
      if (into[1] !== -Infinity) expectClose(into[1], -Math.fround(1e30) * 1e30, 'f32');
      const got = logSoftmax(new Float64Array([1e30, 0]), { temperature: 1e-30 });
      expect(got[0]).toBe(0);
      expectClose(got[1], -1e60, 'f64');
      expectAllClose(softmax(new Float32Array([1e30, 0]), { temperature: 1e-30 }), [1, 0], 'f32');
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

    it('softmaxEntropy gives the same H with a gradient and without, bit for bit, rows shorter and longer than 1024', () => {
      for (const Type of [Float32Array, Float64Array]) {
        for (const cols of [3, 100, 1024, 1025, 3000]) {
          const x = new Type(8 * cols).map((_, i) => (i % 5 === 3 ? -Infinity : Math.sin(i * 0.7) * 5));
          const plain = softmaxEntropy(x, { cols }), withGrad = softmaxEntropy(x, { cols, grad: new Type(x.length) });
          for (let r = 0; r < 8; r++) expect(Object.is(withGrad[r], plain[r]), `${Type.name} ${cols} row ${r}`).toBe(true);
        }
      }
    });

    it('softmaxEntropy of rows in a base: H / ln base each, one-hot rows 0 (not −0) below base 1, narrow and wide rows', () => {
      for (const Type of [Float32Array, Float64Array]) {
        for (const cols of [2, 4, 7, 1000]) {
          // row 0 one-hot (a masked rest), row 1 random, and so on for 12 rows
          const x = new Type(12 * cols).map((_, i) => (i % cols === 0 ? 0 : Math.floor(i / cols) % 2 ? Math.sin(i) : -Infinity));
          const nats = softmaxEntropy(x, { cols });
          for (const base of [2, 0.5, 10]) {
            const h = softmaxEntropy(x, { cols, base });
            for (let r = 0; r < 12; r++) {
              if (nats[r] === 0) expect(Object.is(h[r], 0), `${Type.name} ${cols} base ${base} row ${r}`).toBe(true);
              else expectClose(h[r], nats[r] / Math.log(base), 'f64');
            }
          }
        }
      }
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

    it('softmaxEntropy\'s gradient of narrow rows (four rows a step) against a float64 reference: random, wide, tied, masked and special rows', () => {
      const random = rng(66);
      for (const Type of TYPES) {
        for (const cols of [2, 3, 4, 5, 8, 33]) {
          for (const [T, base] of [[1, undefined], [1, 2], [0.5, undefined]] as const) {
            const rows = 13;
            const x = new Type(rows * cols);
            for (let r = 0; r < rows; r++) {
              const kind = r % 6;
              for (let j = 0; j < cols; j++) {
                x[r * cols + j] = kind === 0 ? 3 // tied: a gradient of 0
                  : kind === 1 && j === 0 ? -Infinity // one masked entry
                    : kind === 2 ? 60 * (random() - 0.5) // wide
                      : kind === 3 && r > 8 ? -Infinity // a fully masked row after the groups: 0
                        : 8 * (random() - 0.5);
              }
            }
            const grad = new Type(rows * cols);
            softmaxEntropy(x, { cols, temperature: T, base, grad });
            const scale = base ? 1 / Math.log(base) : 1;
            for (let r = 0; r < rows; r++) {
              const row = x.subarray(r * cols, (r + 1) * cols), g = grad.subarray(r * cols, (r + 1) * cols);
              if (row.every((v) => v === -Infinity)) {
                expect(Array.from(g)).toEqual(new Array(cols).fill(0));
                continue;
              }
              const { p, logp, H } = reference(row, T);
              const want = p.map((v, j) => (v === 0 ? 0 : (-v * (logp[j] + H) / T) * scale));
              const mag = p.map((v, j) => (v === 0 ? 0 : (v * (Math.abs(logp[j]) + H) / T) * scale));
              const dt = dtypeOf(Type);
              for (let j = 0; j < cols; j++) {
                // (a probability below the normal range may be 0, and its entry of the gradient with it)
                if (p[j] < MIN_NORMAL[dt]) expect(Math.abs(g[j])).toBeLessThanOrEqual(Math.abs(want[j]) * 1.001 + MIN_NORMAL[dt]);
                else if (!belowNormal(g[j], want[j], dt)) expectClose(g[j], want[j], dt, mag[j], `${Type.name}, cols ${cols}, T ${T}, base ${base}, row ${r}[${j}]`);
              }
            }
          }
        }
      }
    });

    it('softmaxKlDivergence of narrow float32 rows (four rows a step) is each row\'s: random, close, equal, masked and special rows', () => {
      const random = rng(55);
      for (const cols of [2, 3, 4, 5, 8, 13, 33, 63]) {
        for (const T of [1, 0.5]) {
          const rows = 13; // three groups of four and a row after them
          const a = new Float32Array(rows * cols), b = new Float32Array(rows * cols);
          for (let r = 0; r < rows; r++) {
            const x = randomLogits(cols, random, Float64Array), kind = r % 7;
            for (let j = 0; j < cols; j++) {
              const i = r * cols + j;
              a[i] = x[j];
              b[i] = kind === 0 ? x[j] // equal: 0
                : kind === 1 ? x[j] + 1e-3 * (random() - 0.5) // close: the row is taken again, centred
                  : kind === 2 ? x[j] + 40 // shifted: 0
                    : kind === 3 ? (j === 0 ? -Infinity : 4 * (random() - 0.5)) // b masked where a has mass: Infinity
                      : 8 * (random() - 0.5);
              if (kind === 4 && j === cols - 1 && cols > 2) a[i] = -Infinity; // a masked: no term
            }
          }
          const got = softmaxKlDivergence(a, b, { cols, temperature: T });
          for (let r = 0; r < rows; r++) {
            const ar = a.subarray(r * cols, (r + 1) * cols), br = b.subarray(r * cols, (r + 1) * cols);
            const { kl, mag } = refKl(ar, br, T);
            if (r % 7 === 3) expect(got[r]).toBe(Infinity);
            else expectClose(got[r], kl, 'f32', mag, `cols ${cols}, T ${T}, row ${r}`);
            if (r % 7 === 0) expect(got[r]).toBe(0);
          }
          // a group holding a special row (NaN, +Infinity, fully masked) is taken row by row: each row's one-row value
          const special = a.slice(0, 4 * cols), other = b.slice(0, 4 * cols);
          special[cols] = NaN;
          special[2 * cols] = Infinity;
          special.fill(-Infinity, 3 * cols, 4 * cols);
          const rowsGot = softmaxKlDivergence(special, other, { cols, temperature: T });
          for (let r = 0; r < 4; r++) {
            const one = softmaxKlDivergence(special.subarray(r * cols, (r + 1) * cols), other.subarray(r * cols, (r + 1) * cols), { temperature: T });
            expect(Object.is(rowsGot[r], one), `row ${r}: ${rowsGot[r]} vs ${one}`).toBe(true);
          }
          expect([Number.isNaN(rowsGot[1]), Number.isNaN(rowsGot[2]), rowsGot[3]]).toEqual([true, true, 0]);
        }
      }
    });

    it('softmaxKlDivergence of narrow float32 rows whose parts cancel by up to 64 times D is within the float32 bound', () => {
      // D = Σ p·u + log(SB/SA): the kernels take a row again, centred, where |log(SA/SB)| > 64·D.
      // With Δ's terms as differences of two float32 exponentials, these rows came out 5.8e-6·M
      // (|log(SA/SB)| = 3.68·D, not centred) and 2.35e-6·M (7.6·D, centred) off, M = Σ p·|log p/q|:
      // D and M by mpmath at 60 digits, of these float32 logits at T = 0.5 and 1
      const a6 = [0.5944896936416626, 0.7177049517631531, 0.6463848352432251, 0.5981659889221191, 0.8430294394493103, -12.976622581481934];
      const b6 = [0.14177089929580688, 0.26482102274894714, 0.1935746669769287, 0.14528535306453705, 0.26504409313201904, -0.36431998014450073];
      const a4 = [-1.678582787513733, 0.28073301911354065, 0.8422464728355408, -0.2922138571739197];
      const b4 = [-1.2671650648117065, 0.15670518577098846, 0.9685252904891968, 0.0988483801484108];
      // a group of four rows, and a fifth taken alone
      const five = (x: number[]) => Float32Array.from({ length: 5 * x.length }, (_, i) => x[i % x.length]);
      for (const d of softmaxKlDivergence(five(a6), five(b6), { cols: 6, temperature: 0.5 })) expectClose(d, 0.068039328359529151, 'f32', 0.068185079053800, 'mpmath row of 6');
      for (const d of softmaxKlDivergence(five(a4), five(b4), { cols: 4 })) expectClose(d, 0.016429329536126463535, 'f32', 0.12766562620138993674, 'mpmath row of 4');
      const random = rng(56);
      let between = 0;
      for (const cols of [3, 4, 6]) {
        for (const T of [1, 0.7]) {
          const rows = 400, a = new Float32Array(rows * cols), b = new Float32Array(rows * cols);
          for (let i = 0; i < a.length; i++) {
            a[i] = 8 * (random() - 0.5);
            // independent rows, and rows shifted by a constant but for one entry
            b[i] = (i / cols) % 2 < 1 ? 8 * (random() - 0.5) : a[i] + 3 + (i % cols === 0 ? 2 * random() : 0);
          }
          const got = softmaxKlDivergence(a, b, { cols, temperature: T });
          for (let r = 0; r < rows; r++) {
            const { kl, mag, logRatio } = refKl(a.subarray(r * cols, (r + 1) * cols), b.subarray(r * cols, (r + 1) * cols), T);
            if (logRatio > kl && logRatio <= 64 * kl) between++;
            expectClose(got[r], kl, 'f32', mag, `cols ${cols}, T ${T}, row ${r}`);
          }
        }
      }
      expect(between).toBeGreaterThan(100);
    });

    it('softmaxKlDivergence is never below 0 where terms under FLT_MIN are dropped (within the documented n·88·FLT_MIN)', () => {
      // rows whose P has entries below the float32 normal range (dropped, as documented) came
      // out −3.7e-39 on the scalar and JS paths; D by mpmath at 80 digits of these float32 logits
      const rows: [number[], number[], number, number][] = [
        [[-2.0413193888515236e-28, -3.905586352726827e-28, -1.9086358157103676e-28, -2.3408703471992506e-28, -3.745845871279461e-28, 2.6633302422354638e-28],
          [-6.178715003027173e-28, -5.936361756615317e-28, -5.946160406689873e-28, -6.293279427251534e-28, -5.936453719770161e-28, -1.330564572525136e-28],
          5.27145506075449e-30, 3.1477084786748338e-38],
        [[73.68592834472656, -19.549888610839844, -13.184948921203613, -90.25601959228516, -49.034461975097656, -Infinity, -21.222888946533203, -Infinity],
          [269.7247009277344, 57.26813888549805, 182.04922485351562, 174.52862548828125, 49.02473831176758, 133.71176147460938, -21.19174575805664, -Infinity],
          1, 9.7102761448143325e-39],
      ];
      for (const [a, b, T, want] of rows) {
        const cols = a.length, many = 257; // one call alone, and a batch (groups of four and a row alone)
        const A = Float32Array.from({ length: many * cols }, (_, i) => a[i % cols]), B = Float32Array.from({ length: many * cols }, (_, i) => b[i % cols]);
        const got = [softmaxKlDivergence(Float32Array.from(a), Float32Array.from(b), { temperature: T }), ...softmaxKlDivergence(A, B, { cols, temperature: T })];
        for (const d of got) {
          expect(d).toBeGreaterThanOrEqual(0);
          expect(Math.abs(d - want)).toBeLessThanOrEqual(cols * 88 * MIN_NORMAL.f32);
        }
      }
    });

    it('softmaxKlDivergence of float32 rows of two (closed form) to 1e-12, each row\'s value its own wherever it sits', () => {
      // D(softmax(a/T) ‖ softmax(b/T)) by mpmath at 80 digits (the exact value of these float32 logits):
      // la = log(e^a₀ + e^a₁), lb alike, D = Σ e^(aᵢ − la)·((aᵢ − la) − (bᵢ − lb)), aᵢ and bᵢ divided by T
      const a = [0.5, -1.25, 1, 1.0009765625, 3, -3, -60, 0, 0, 0, 7, 7.5, 1e4, -1e4, 0.125, 0.125, 1, 2];
      const b = [2, 0.75, 1, 1.001953125, -3, 3, -50, 0, 0, 0, 7.25, 7.5, -1e4, 1e4, 0.125, 0.375, 2, 1];
      const want: Record<number, number[]> = {
        1: [0.017681331891440927, 1.1920923744433113e-7, 5.9703285221203827, 1.9277866317800212e-22, 0, 0.0074772684992005225,
          20000, 0.0077922393188982528, 0.46211715726000976],
        0.37: [0.012917521519722038, 8.7077362260553167e-7, 16.21621327608805, 2.0490686061876567e-59, 0, 0.042140023006860977,
          54054.054054054054, 0.056013582954314775, 2.3631672216310415],
      };
      for (const T of [1, 0.37]) {
        const got = softmaxKlDivergence(Float32Array.from(a), Float32Array.from(b), { cols: 2, temperature: T });
        for (let r = 0; r < 8; r++) {
          // (a result below float32's normal range may be 0)
          if (want[T][r] < MIN_NORMAL.f32) expect(got[r] === 0 || Math.abs(got[r] - want[T][r]) <= 1e-12 * want[T][r]).toBe(true);
          else expect(Math.abs(got[r] - want[T][r]), `T ${T}, row ${r}: ${got[r]}`).toBeLessThanOrEqual(1e-12 * want[T][r]);
        }
        expect(got[4]).toBe(0); // equal rows
        // the row after the groups takes the closed form too
        expect(Math.abs(got[8] - want[T][8])).toBeLessThanOrEqual(1e-12 * want[T][8]);
      }
      // a row's value is its own, wherever it sits: each call shifted by one to three rows
      // (rows in the call's last, partial group), beside masked, NaN and +Infinity rows
      const random = rng(31);
      const x = new Float32Array(2 * 23).map(() => 8 * (random() - 0.5)), y = x.map((v, i) => (i % 5 === 0 ? v + 1e-3 : 8 * (random() - 0.5)));
      x.fill(-Infinity, 4, 6); // P masked at row 2: 0
      y.fill(-Infinity, 0, 2); // Q masked at row 0: Infinity
      x[13] = NaN; // row 6: NaN
      y[18] = Infinity; // row 9: NaN
      const whole = softmaxKlDivergence(x, y, { cols: 2 });
      expect([whole[0], whole[2], whole[6], whole[9]]).toEqual([Infinity, 0, NaN, NaN]);
      for (const shift of [1, 2, 3]) {
        const part = softmaxKlDivergence(x.subarray(2 * shift), y.subarray(2 * shift), { cols: 2 });
        for (let r = 0; r < part.length; r++) expect(Object.is(part[r], whole[r + shift]), `shift ${shift}, row ${r + shift}`).toBe(true);
      }
    });

    it('softmaxKlDivergence of close logits keeps its digits (distillation near convergence)', () => {
      const random = rng(44);
      const n = 50;
      const a = randomLogits(n, random, Float64Array);
      const b = a.map((v) => v + 1e-4 * (random() - 0.5));
      // KL ≈ ½·Var_p(a − b) for small differences; compare with the float64 reference
      const want = refKl(a, b, 1).kl;
      const got = softmaxKlDivergence(a, b);
      expect(Math.abs(got - want) / want).toBeLessThan(1e-6);
      const a32 = Float32Array.from(a), b32 = Float32Array.from(b);
      const { kl: want32, mag } = refKl(a32, b32, 1);
      expectClose(softmaxKlDivergence(a32, b32), want32, 'f32', mag);
    });

    it('softmaxKlDivergence of masked rows', () => {
      expect(softmaxKlDivergence([-Infinity, -Infinity], [0, 1])).toBe(0);
      expect(softmaxKlDivergence([0, 1], [-Infinity, -Infinity])).toBe(Infinity);
      expect(softmaxKlDivergence([0, 1], [0, -Infinity])).toBe(Infinity);
      expectClose(softmaxKlDivergence([0, -Infinity], [0, 0]), Math.LN2, 'f64');
    });

    it('a row of a matrix (cols) does not depend on the other rows, and agrees with the 1-D call', () => {
      const random = rng(55);
      for (const T of TYPES) {
        const dt = dtypeOf(T);
        const cols = 17, rows = 6;
        const x = randomLogits(rows * cols, random, T), y = randomLogits(rows * cols, random, T);
        const all = (x: Float32Array | Float64Array, y: Float32Array | Float64Array) => ({
          lse: logSumExp(x, { cols }), p: softmax(x, { cols }), lp: logSoftmax(x, { cols, temperature: 2 }),
          h: softmaxEntropy(x, { cols }), kl: softmaxKlDivergence(x, y, { cols }),
        });
        const a = all(x, y);
        for (let r = 0; r < rows; r++) {
          // the same row among other neighbours: the same bits (narrow rows share vectors)
          const x2 = randomLogits(rows * cols, random, T), y2 = randomLogits(rows * cols, random, T);
          x2.set(x.subarray(r * cols, (r + 1) * cols), r * cols);
          y2.set(y.subarray(r * cols, (r + 1) * cols), r * cols);
          const b = all(x2, y2);
          const at = (v: Float32Array | Float64Array) => v.subarray(r * cols, (r + 1) * cols);
          expect(b.lse[r]).toBe(a.lse[r]);
          expect(at(b.p)).toEqual(at(a.p));
          expect(at(b.lp)).toEqual(at(a.lp));
          expect(b.h[r]).toBe(a.h[r]);
          expect(b.kl[r]).toBe(a.kl[r]);
          // alone: a row outside a tile of rows (see assembly/rows.ts), within the bounds
          const row = at(x), yr = at(y);
          expectClose(a.lse[r], logSumExp(row), dt);
          const p1 = softmax(row), lp1 = logSoftmax(row, { temperature: 2 });
          for (let j = 0; j < cols; j++) {
            expectClose(at(a.p)[j], p1[j], dt);
            expectClose(at(a.lp)[j], lp1[j], dt);
          }
          expectClose(a.h[r], softmaxEntropy(row), dt);
          expectClose(a.kl[r], softmaxKlDivergence(row, yr), dt, 1);
        }
      }
    });
  });

  // The logits of the no-cliff benchmark (issue 25), which take other paths than random
  // ones: rows with −Infinity or a spread past the exponential's range (the scalar build's
  // branch-free row loops), one entry far above the rest, all equal; narrow rows in tiles.
  describe('masked, wide, outlier and constant logits, against a float64 reference', () => {
    const patterns: [string, (x: Float32Array | Float64Array, cols: number, random: () => number) => void][] = [
      ['masked (half −Infinity)', (x, cols, random) => { for (let i = 0; i < x.length; i++) if (i % cols !== 0 && random() < 0.5) x[i] = -Infinity; }],
      ['wide (±200)', (x, _, random) => { for (let i = 0; i < x.length; i++) x[i] = (random() - 0.5) * 400; }],
      ['wider (±600)', (x, _, random) => { for (let i = 0; i < x.length; i++) x[i] = (random() - 0.5) * 1200; }],
      ['outlier (+1e4)', (x, cols) => { for (let r = 0; r < x.length / cols; r++) x[r * cols + (r % cols)] = 1e4; }],
      ['constant (0)', (x) => x.fill(0)],
      ['masked, a NaN in row 3', (x, cols, random) => {
        for (let i = 0; i < x.length; i++) if (i % cols !== 0 && random() < 0.5) x[i] = -Infinity;
        x[3 * cols + cols - 1] = NaN;
      }],
    ];
    for (const Type of TYPES) {
      for (const [what, put] of patterns) {
        for (const cols of [2, 4, 10, 70, 1000]) {
          it(`${what}, rows of ${cols}, ${Type.name}`, () => {
            const rows = 9, dt = dtypeOf(Type), random = rng(cols + what.length);
            const x = randomLogits(rows * cols, random, Type);
            put(x, cols, random);
            const labels = new Int32Array(rows); // entry 0: never masked
            const temperature = 0.5;
            const lse = logSumExp(x, { cols }), p = softmax(x, { cols }), lp = logSoftmax(x, { cols, temperature }), lp1 = logSoftmax(x, { cols });
            const h = softmaxEntropy(x, { cols }), loss = softmaxCrossEntropy(x, labels, { cols, reduction: 'none' }) as Float64Array;
            for (let r = 0; r < rows; r++) {
              const row = Array.from(x.subarray(r * cols, (r + 1) * cols));
              const at = (v: Float32Array | Float64Array) => v.subarray(r * cols, (r + 1) * cols);
              const ref = reference(row), hot = reference(row, temperature);
              const tag = `row ${r}`;
              if (row.some(Number.isNaN)) {
                for (const v of [lse[r], h[r], loss[r], ...at(p), ...at(lp), ...at(lp1)]) expect(v, tag).toBeNaN();
                continue;
              }
              expectClose(lse[r], ref.lse, dt, undefined, `${tag} logSumExp`);
              // (an entry below the normal range may be 0: SPEC, Accuracy)
              for (let j = 0; j < cols; j++) if (!belowNormal(at(p)[j], ref.p[j], dt)) expectClose(at(p)[j], ref.p[j], dt, undefined, `${tag} softmax[${j}]`);
              expectAllClose(at(lp), hot.logp, dt, hot.logp.map((v, i) => Math.abs(v) + Math.abs(row[i] / temperature)), `${tag} logSoftmax`);
              expectAllClose(at(lp1), ref.logp, dt, ref.logp.map((v, i) => Math.abs(v) + Math.abs(row[i])), `${tag} logSoftmax, T = 1`);
              // (float32: exponentials below FLT_MIN are 0, so an entropy made of them is off by
              // up to cols·88·FLT_MIN absolute, the documented bound)
              const flushed = dt === 'f32' ? cols * 88 * 2 ** -126 : 0;
              if (Math.abs(h[r] - ref.H) > flushed) expectClose(h[r], ref.H, dt, undefined, `${tag} softmaxEntropy`);
              expectClose(loss[r], ref.lse - row[0], dt, Math.abs(ref.lse) + Math.abs(row[0]), `${tag} loss`);
              for (let j = 0; j < cols; j++) {
                if (row[j] !== -Infinity) continue;
                expect(at(p)[j], `${tag} softmax[${j}] masked`).toBe(0);
                expect(at(lp)[j], `${tag} logSoftmax[${j}] masked`).toBe(-Infinity);
                expect(at(lp1)[j], `${tag} logSoftmax[${j}] masked, T = 1`).toBe(-Infinity);
              }
            }
          });
        }
      }
    }
  });

  // Rows of two take their own kernels (assembly/softmax.ts, assembly/loss.ts): log1p of
  // exp(a − m), a − m taken exactly.  The loss of the favoured class is that log1p alone,
  // as small as e^(a − m): a rounded a − m would cost up to 87 float32 ulps of it.
  it('rows of two among others: a fully masked row, a +Infinity row and a NaN row keep their conventions', () => {
    for (const Type of TYPES) {
      // rows: fully masked, +Infinity, NaN, ordinary (twice: two groups of four rows)
      const x = new Type([-Infinity, -Infinity, Infinity, 0, NaN, 1, 0, 1, -Infinity, -Infinity, 2, Infinity, 1, NaN, 3, -Infinity]);
      const cols = 2, lse = logSumExp(x, { cols }), p = softmax(x, { cols }), lp = logSoftmax(x, { cols }), h = softmaxEntropy(x, { cols });
      const loss = softmaxCrossEntropy(x, new Int32Array(8), { cols, reduction: 'none' }) as Float64Array;
      for (const r of [0, 4]) {
        expect(lse[r]).toBe(-Infinity);
        expect([p[2 * r], p[2 * r + 1], lp[2 * r], lp[2 * r + 1], h[r]]).toEqual([0, 0, -Infinity, -Infinity, 0]);
        expect(loss[r]).toBeNaN(); // no defined softmax (PyTorch)
      }
      for (const r of [1, 5]) {
        expect(lse[r]).toBe(Infinity);
        for (const v of [p[2 * r], p[2 * r + 1], lp[2 * r], lp[2 * r + 1], h[r], loss[r]]) expect(v).toBeNaN();
      }
      for (const r of [2, 6]) for (const v of [lse[r], p[2 * r], p[2 * r + 1], lp[2 * r], lp[2 * r + 1], h[r], loss[r]]) expect(v).toBeNaN();
      for (const r of [3, 7]) {
        const ref = reference([x[2 * r], x[2 * r + 1]]);
        expectClose(lse[r], ref.lse, dtypeOf(Type));
        expectAllClose([lp[2 * r], lp[2 * r + 1]], ref.logp, dtypeOf(Type));
      }
    }
  });

  it('rows of two: log-sum-exp and the loss of either class keep the float32 bound for any gap and offset', () => {
    const random = rng(2026);
    for (const Type of TYPES) {
      const rows = 64, x = new Type(2 * rows);
      for (let r = 0; r < rows; r++) {
        const m = (random() - 0.5) * 2 * 10 ** Math.floor(random() * 5), gap = random() * 90;
        const hi = random() < 0.5 ? 0 : 1;
        x[2 * r + hi] = m;
        x[2 * r + 1 - hi] = m - gap;
      }
      const lse = logSumExp(x, { cols: 2 });
      for (const pick of [0, 1]) {
        const labels = Int32Array.from({ length: rows }, (_, r) => ((x[2 * r] >= x[2 * r + 1]) === (pick === 0) ? 0 : 1));
        const loss = softmaxCrossEntropy(x, labels, { cols: 2, reduction: 'none' }) as Float64Array;
        for (let r = 0; r < rows; r++) {
          const a = x[2 * r], b = x[2 * r + 1], m = Math.max(a, b), d = Math.min(a, b) - m; // exact in float64
          const l1p = Math.log1p(Math.exp(d));
          if (pick === 0) expectClose(lse[r], m + l1p, dtypeOf(Type), Math.abs(m) + l1p, `row ${r} logSumExp`);
          const want = labels[r] === (a >= b ? 0 : 1) ? l1p : l1p - d;
          if (!belowNormal(loss[r], want, dtypeOf(Type))) expectClose(loss[r], want, dtypeOf(Type), undefined, `row ${r} loss (label ${labels[r]})`);
        }
      }
    }
  });

  // Float64 rows of four take two rows a step in the lanes (assembly/rows.ts, fourRowsF64):
  // each special row beside an ordinary one in the same step, and the ordinary rows, the
  // gradients and the ignored labels against the float64 reference, at three temperatures.
  it('float64 rows of four: special rows beside ordinary ones, temperatures, the loss with ignored labels and gradients', () => {
    const random = rng(404);
    const specials = [[-Infinity, -Infinity, -Infinity, -Infinity], [1, Infinity, 0, -Infinity], [NaN, 1, 2, 3], [-Infinity, 2, NaN, -Infinity], [5, 5, 5, 5], [1e4, 0, -1e4, 3]];
    const rows: number[][] = [];
    for (const s of specials) rows.push(s, Array.from({ length: 4 }, () => (random() - 0.5) * 16), Array.from({ length: 4 }, () => (random() - 0.5) * 16), s);
    for (let r = 0; r < 10; r++) rows.push(Array.from({ length: 4 }, (_, j) => (j === (r % 2 ? r % 4 : (r + 1) % 4) ? -Infinity : (random() - 0.5) * 1400)));
    const x = Float64Array.from(rows.flat()), cols = 4, n = rows.length;
    const labels = Int32Array.from({ length: n }, (_, r) => (r % 5 === 4 ? -100 : r % 4));
    const isNaNRow = (row: number[]) => row.some(Number.isNaN) || row.includes(Infinity);
    for (const T of [1, 0.5, 3]) {
      const p = softmax(x, { cols, temperature: T }), lp = logSoftmax(x, { cols, temperature: T });
      const gH = new Float64Array(x.length), h = softmaxEntropy(x, { cols, temperature: T, grad: gH });
      for (let r = 0; r < n; r++) {
        const row = rows[r], at = (v: Float64Array) => Array.from(v.subarray(4 * r, 4 * r + 4)), tag = `T ${T}, row ${r} [${row}]`;
        if (row.every((v) => v === -Infinity)) {
          expect([...at(p), h[r], ...at(gH)], tag).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0]);
          expect(at(lp), tag).toEqual([-Infinity, -Infinity, -Infinity, -Infinity]);
          continue;
        }
        if (isNaNRow(row)) {
          for (const v of [...at(p), ...at(lp), h[r], ...at(gH)]) expect(v, tag).toBeNaN();
          continue;
        }
        const ref = reference(row, T);
        for (let j = 0; j < 4; j++) if (!belowNormal(at(p)[j], ref.p[j], 'f64')) expectClose(at(p)[j], ref.p[j], 'f64', undefined, `${tag} softmax[${j}]`);
        expectAllClose(at(lp), ref.logp, 'f64', ref.logp.map((v, i) => Math.abs(v) + Math.abs(row[i] / T)), `${tag} logSoftmax`);
        expectClose(h[r], ref.H, 'f64', undefined, `${tag} softmaxEntropy`);
        const want = ref.p.map((v, j) => (v === 0 ? 0 : -v * (ref.logp[j] + ref.H) / T));
        const mag = ref.p.map((v, j) => (v === 0 ? 0 : v * (Math.abs(ref.logp[j]) + ref.H) / T));
        for (let j = 0; j < 4; j++) if (!belowNormal(at(gH)[j], want[j], 'f64')) expectClose(at(gH)[j], want[j], 'f64', mag[j], `${tag} entropy gradient[${j}]`);
      }
    }
    const lse = logSumExp(x, { cols }), loss = softmaxCrossEntropy(x, labels, { cols, reduction: 'none', ignoreIndex: -100 }) as Float64Array;
    const gL = new Float64Array(x.length);
    const mean = softmaxCrossEntropy(x, labels, { cols, ignoreIndex: -100, grad: gL }) as number;
    expect(mean).toBeNaN(); // (rows without a defined softmax among the labelled ones)
    const kept = Array.from(labels).filter((y) => y >= 0).length;
    for (let r = 0; r < n; r++) {
      const row = rows[r], y = labels[r], g = Array.from(gL.subarray(4 * r, 4 * r + 4)), tag = `row ${r} [${row}], label ${y}`;
      if (row.every((v) => v === -Infinity)) expect(lse[r], tag).toBe(-Infinity);
      else if (row.some(Number.isNaN)) expect(lse[r], tag).toBeNaN();
      else if (row.includes(Infinity)) expect(lse[r], tag).toBe(Infinity);
      else expectClose(lse[r], reference(row).lse, 'f64', undefined, `${tag} logSumExp`);
      if (y < 0) {
        expect([loss[r], ...g], tag).toEqual([0, 0, 0, 0, 0]);
        continue;
      }
      if (isNaNRow(row) || row.every((v) => v === -Infinity)) {
        for (const v of [loss[r], ...g]) expect(v, tag).toBeNaN();
        continue;
      }
      const ref = reference(row);
      if (row[y] === -Infinity) expect(loss[r], tag).toBe(Infinity);
      else expectClose(loss[r], ref.lse - row[y], 'f64', Math.abs(ref.lse) + Math.abs(row[y]), `${tag} loss`);
      for (let j = 0; j < 4; j++) {
        const want = (ref.p[j] - (j === y ? 1 : 0)) / kept;
        if (!belowNormal(g[j], want, 'f64')) expectClose(g[j], want, 'f64', 1 / kept, `${tag} loss gradient[${j}]`);
      }
    }
  });

  // Float64 rows of two take closed forms of their own too (log1p(exp(a − m)), p' = e/(1 + e)):
  // each value against the same closed form in JavaScript, within the SPEC's bound, on
  // rows from near ties (gaps below 1e-12) to gaps of 40.
  it('float64 rows of two: softmax and the gradients of the entropy and the loss match the closed form, ties included', () => {
    const random = rng(4242);
    const rows = 64, x = new Float64Array(2 * rows);
    for (let r = 0; r < rows; r++) {
      const m = (random() - 0.5) * 20, gap = r % 4 === 0 ? random() * 1e-12 : r % 4 === 1 ? random() * 1e-3 : random() * 40;
      const hi = random() < 0.5 ? 0 : 1;
      x[2 * r + hi] = m;
      x[2 * r + 1 - hi] = m - gap;
    }
    const labels = Int32Array.from({ length: rows }, (_, r) => r % 2);
    const p = softmax(x, { cols: 2 }), gH = new Float64Array(x.length), gL = new Float64Array(x.length);
    softmaxEntropy(x, { cols: 2, grad: gH });
    softmaxCrossEntropy(x, labels, { cols: 2, reduction: 'sum', grad: gL });
    for (let r = 0; r < rows; r++) {
      const a = x[2 * r], b = x[2 * r + 1], m = Math.max(a, b), d = Math.min(a, b) - m; // exact in float64
      const e = Math.exp(d), pm = 1 / (1 + e), po = e / (1 + e), top = a >= b ? 0 : 1;
      const want = top === 0 ? [pm, po] : [po, pm];
      expectAllClose([p[2 * r], p[2 * r + 1]], want, 'f64', undefined, `row ${r} softmax`);
      // −p·(log p + H): p_m·p_o·d at the maximum, its negative at the other entry
      const w = pm * po * d, wantH = top === 0 ? [w, -w] : [-w, w];
      expectAllClose([gH[2 * r], gH[2 * r + 1]], wantH, 'f64', [Math.abs(w), Math.abs(w)], `row ${r} entropy gradient`);
      // p − onehot(y): ±p' with p' the other class's probability
      const y = labels[r], pOther = y === top ? po : pm, wantL = y === 0 ? [-pOther, pOther] : [pOther, -pOther];
      expectAllClose([gL[2 * r], gL[2 * r + 1]], wantL, 'f64', [pOther, pOther], `row ${r} loss gradient`);
    }
  });

  // A far entry's a − m rounds (|a − m| near 700: up to 2^-44 absolute), and e = exp(a − m)
  // would take that error relatively; the SIMD builds' float64 rows of two carry it
  // (e·(1 + lo), lo the TwoSum's low part), as the float32 rows carry theirs.  The scalar
  // build and the JS twin take the tiles' way: within the SPEC's bound (5.7e-14 here).
  it('float64 rows of two: a far entry\'s probability keeps its relative accuracy (a − m\'s rounding carried)', () => {
    const carried = backend() === 'wasm-simd' || backend() === 'wasm-relaxed';
    const rows = 64, x = new Float64Array(2 * rows);
    for (let r = 0; r < rows; r++) {
      x[2 * r] = 0.3;
      x[2 * r + 1] = -700.1 - r * 1.37e-3 - 1e-13 * (r % 7);
    }
    const p = softmax(x, { cols: 2 }), lse = logSumExp(x, { cols: 2 });
    for (let r = 0; r < rows; r++) {
      const a = x[2 * r], b = x[2 * r + 1], d = b - a, bb = d - b, lo = (b - (d - bb)) + (-a - bb); // b − a = d + lo exactly
      const e = Math.exp(d) * (1 + lo);
      expectClose(p[2 * r + 1], e / (1 + e), 'f64', undefined, `row ${r} far entry`);
      if (carried) expect(Math.abs(p[2 * r + 1] - e / (1 + e)), `row ${r} far entry, 5 ulps`).toBeLessThanOrEqual(5 * 2 ** -52 * e);
      expectClose(lse[r], a + Math.log1p(e), 'f64', undefined, `row ${r} logSumExp`);
    }
  });

  describe('the exponential at the edges of its range, and temperatures', () => {
    const FLT_MIN = 2 ** -126, DBL_MIN = 2 ** -1022;

    /** The exact softmax quantities of one row (x − m exact in float64 for float32 and grid inputs). */
    function exact(x: ArrayLike<number>, T = 1) {
      let m = -Infinity, at = 0;
      for (let i = 0; i < x.length; i++) if (x[i] > m) { m = x[i]; at = i; }
      const t = Array.from(x, (v) => (v - m) / T);
      const e = t.map(Math.exp);
      const ls = Math.log1p(fsum(e.filter((_, i) => i !== at)));
      const p = e.map((v) => v / (1 + Math.expm1(ls)));
      const H = fsum(p.map((v, i) => (v === 0 ? 0 : -v * (t[i] - ls))));
      return { t, ls, p, H, grad: p.map((v, i) => (-v * (t[i] - ls + H)) / T) };
    }

    // Bug: the per-row shift k = ⌈m·log₂e⌉ left E(m) = exp(m − k·ln 2) in (½, 1], and the cut-off
    // was on E, not on the result p = E/(S·E(m)): normal entries up to twice FLT_MIN were flushed
    // (softmax([69.375, −17.375])[1] = 2.1133e-38 came out 0 on wasm-simd).
    it('a softmax entry that is a normal number is never flushed, whatever the row maximum', () => {
      expectClose(softmax(new Float32Array([69.375, -17.375]))[1], Math.exp(-86.75) / (1 + Math.exp(-86.75)), 'f32', undefined, '[69.375, −17.375]');
      for (const m of [-200, -170, -69.375, -1, 0, 0.3, 1, 17.5, 69.375, 100, 127.9, 175, 200, 1e4, 1e20]) {
        for (const gap of [86, 86.9, 87.1, 87.25, 87.33]) {
          const x = new Float32Array([m, m - gap, m - gap / 2]);
          const r = exact(x);
          const p = softmax(x), lp = logSoftmax(x);
          for (let i = 0; i < 3; i++) {
            if (r.p[i] >= FLT_MIN) expectClose(p[i], r.p[i], 'f32', undefined, `softmax([${m}, ${m} − ${gap}, …])[${i}]`);
            else expect(p[i] < FLT_MIN, `softmax[${i}] = ${p[i]}: below FLT_MIN`).toBe(true);
            expectClose(lp[i], r.t[i] - r.ls, 'f32', Math.abs(r.t[i]) + r.ls + 3 * FLT_MIN / 2e-6, `logSoftmax([${m}, ${m} − ${gap}, …])[${i}]`);
          }
        }
        for (const gap of [707, 708, 708.3, 708.39]) {
          const x = [m, m - gap];
          const r = exact(x);
          const p = softmax(Float64Array.from(x));
          if (r.p[1] >= DBL_MIN) expectClose(p[1], r.p[1], 'f64', undefined, `softmax([${m}, ${m} − ${gap}])[1]`);
          else expect(p[1] < DBL_MIN).toBe(true);
        }
      }
    });

    // Bug: the float32 kernels rounded the temperature to float32, so every argument x/T moved
    // by up to |x/T|·2^-24: softmax([0, −80·T], {temperature: T})[1] was off by 4.3e-6.
    it('float32 with any temperature: softmax, logSoftmax, softmaxEntropy (and its gradient) within the bounds for |x/T| up to 87', () => {
      const random = rng(91);
      const temperatures = [4.068860273774272, 0.1, 0.37, 1 / 3, 1.3, 3, 7.77, 19.5, 1e-3, 1000];
      for (let i = 0; i < 12; i++) temperatures.push(0.05 + 20 * random());
      for (const T of temperatures) {
        for (const n of [2, 5, 70]) {
          for (const gap of [1, 10, 40, 80, 86, 87.3]) {
            const m = [0, 3, -50, 120, 170, -300][Math.floor(random() * 6)] * T;
            const x = new Float32Array(n);
            for (let i = 0; i < n; i++) x[i] = i === 0 ? m : m - gap * T * (i === 1 ? 1 : random());
            const r = exact(x, T);
            const what = `T = ${T}, n = ${n}, gap ${gap}`;
            const p = softmax(x, { temperature: T }), lp = logSoftmax(x, { temperature: T });
            for (let i = 0; i < n; i++) {
              if (r.p[i] >= FLT_MIN) expectClose(p[i], r.p[i], 'f32', undefined, `softmax ${what} [${i}]`);
              expectClose(lp[i], r.t[i] - r.ls, 'f32', Math.abs(r.t[i]) + r.ls + n * FLT_MIN / 2e-6, `logSoftmax ${what} [${i}]`);
            }
            // terms whose exponential is below the normal range are dropped: n·89·FLT_MIN absolutely (math.ts)
            const grad = new Float32Array(n);
            expectClose(softmaxEntropy(x, { temperature: T, grad }), r.H, 'f32', r.H + (n * 89 * FLT_MIN) / 2e-6, `softmaxEntropy ${what}`);
            for (let i = 0; i < n; i++) {
              const mag = (r.p[i] * (Math.abs(r.t[i] - r.ls) + r.H)) / T + (n * 89 * FLT_MIN) / T / 2e-6;
              if (Math.abs(r.grad[i]) >= FLT_MIN) expectClose(grad[i], r.grad[i], 'f32', mag, `softmaxEntropy gradient ${what} [${i}]`);
            }
          }
        }
      }
    });

    it('softmax([0, −80·T], {temperature: T}) in float32 (T = 4.068860273774272) is within 2e-6 of e^-80/(1 + e^-80)', () => {
      const T = 4.068860273774272;
      const x = new Float32Array([0, -80 * T]);
      const r = exact(x, T);
      expectClose(softmax(x, { temperature: T })[1], r.p[1], 'f32');
    });

    // Bug: the float64 SIMD entropy took t of logits lifted to 100·T below the maximum, where
    // float64's exp is still far from underflow: the entropy of [0, −200] was 1.4e-85, not 2.8e-85.
    it('float64: a logit within the normal range of exp counts in full in softmaxEntropy (relative 1e-13, tiny results too)', () => {
      const rel = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);
      const e = Math.exp(-200);
      expect(rel(softmaxEntropy([0, -200]), Math.log1p(e) + (200 * e) / (1 + e))).toBeLessThan(1e-13); // 2.78e-85
      for (const n of [2, 3, 70]) {
        const x = new Float64Array(n).fill(-450);
        x[0] = 0;
        x[1] = -600;
        const grad = new Float64Array(n);
        const r = exact(x, 2);
        expect(rel(softmaxEntropy(x, { grad, temperature: 2 }), r.H), `H, n = ${n}`).toBeLessThan(1e-13);
        for (let i = 0; i < n; i++) expect(rel(grad[i], r.grad[i]), `gradient[${i}], n = ${n}`).toBeLessThan(1e-13);
      }
    });

    // Bug: the SIMD kernels lifted every logit more than 100·T below its row's maximum, not only
    // the masked ones (−Infinity): softmaxKlDivergence([0, 0], [0, −200]) was 49.3069.
    it('softmaxKlDivergence lifts only masked logits: D([0, 0] ‖ [0, −200]) = 100 − ln 2', () => {
      const want = 99.30685281944005; // ½·log(½·(1 + e^-200)) + ½·log(½·(1 + e^-200)/e^-200)
      for (const Type of TYPES) {
        expectClose(softmaxKlDivergence(new Type([0, 0]), new Type([0, -200])), want, dtypeOf(Type));
        expectClose(softmaxKlDivergence(new Type([0, 0]), new Type([0, -600]), { temperature: 3 }), 100 - Math.LN2, dtypeOf(Type));
        // P's side too: D(P‖Q) with a P logit 150 below its maximum
        const a = [0, -150, 1], b = [0, 0, 0];
        const ra = exact(a), rb = exact(b);
        const want2 = fsum(ra.p.map((v, i) => v * (ra.t[i] - ra.ls - (rb.t[i] - rb.ls))));
        expectClose(softmaxKlDivergence(new Type(a), new Type(b)), want2, dtypeOf(Type));
      }
      // masked entries still give Infinity (Q masked where P has mass) and 0 terms (P masked)
      expect(softmaxKlDivergence(new Float32Array([0, 0]), new Float32Array([0, -Infinity]))).toBe(Infinity);
      expectClose(softmaxKlDivergence(new Float32Array([0, -Infinity]), new Float32Array([0, -300])), 0, 'f32');
    });

    // Bug: a spread (x − m)/T beyond DBL_MAX (1e308 − (−1e308), or 1e300 at T = 1e-30) made the
    // float64 gradient entries of softmaxEntropy and softmaxKlDivergence's P 0·−Infinity = NaN on
    // the JS twins, the scalar build and the small path; the exact entries are 0 (p is one-hot).
    it('gradients of rows whose spread overflows are 0, not NaN (float64)', () => {
      for (const n of [2, 10, 40]) {
        for (const [big, T] of [[1e300, 1e-30], [1e308, 1]] as const) {
          const x = new Float64Array(n);
          x[0] = big;
          x[1] = -big;
          const g = new Float64Array(n).fill(NaN);
          expect(softmaxEntropy(x, { temperature: T, grad: g })).toBe(0);
          for (let i = 0; i < n; i++) expect(Math.abs(g[i]), `softmaxEntropy grad[${i}], n = ${n}, T = ${T}`).toBe(0); // (±0)
          const gp = new Float64Array(n).fill(NaN), gq = new Float64Array(n);
          // P one-hot at x[0], Q uniform: D = log n, ∂D/∂a = 0, ∂D/∂b = (q − p)/T
          expectClose(softmaxKlDivergence(x, new Float64Array(n), { temperature: T, gradP: gp, gradQ: gq }), Math.log(n), 'f64');
          for (let i = 0; i < n; i++) {
            expect(Math.abs(gp[i]), `softmaxKlDivergence gradP[${i}], n = ${n}, T = ${T}`).toBe(0);
            expectClose(gq[i], (1 / n - (i === 0 ? 1 : 0)) / T, 'f64', undefined, `gradQ[${i}]`);
          }
        }
      }
    });

    // Bug: a masked Q entry is lifted 100·T below Q's maximum, which rounding undid where |mb| ≫
    // 100·T (mb = 1e19 has an ulp of 2048): the entry then counted as equal to its P entry, and SB
    // and ∂D/∂Q were wrong (D = Infinity is right either way).
    it('softmaxKlDivergence: ∂D/∂Q = q − p where Q has a masked entry and a huge maximum', () => {
      for (const [Type, big] of [[Float64Array, 1e18], [Float64Array, 1e19], [Float64Array, 1e300], [Float32Array, 1e30]] as const) {
        const gq = new Type(2);
        expect(softmaxKlDivergence(new Type(2), new Type([big, -Infinity]), { gradQ: gq })).toBe(Infinity);
        expectClose(gq[0], 0.5, dtypeOf(Type), undefined, `big = ${big}`);
        expectClose(gq[1], -0.5, dtypeOf(Type), undefined, `big = ${big}`);
      }
      for (const n of [20, 64]) {
        const a = Float64Array.from({ length: n }, (_, i) => Math.sin(i)), b = Float64Array.from({ length: n }, (_, i) => (i === 6 ? 1e19 : i === 3 ? -Infinity : Math.cos(i)));
        const p = exact(a).p, gq = new Float64Array(n);
        expect(softmaxKlDivergence(a, b, { gradQ: gq })).toBe(Infinity);
        for (let i = 0; i < n; i++) expectClose(gq[i], (i === 6 ? 1 : 0) - p[i], 'f64', 1, `n = ${n}, gradQ[${i}]`);
      }
    });

    // Bug: the SIMD kernels' expm1 series for Δ's near terms stopped at t¹⁰ (2.4e-14 at |t| = ¼),
    // and D ≈ Σ p·u²/2 cancels about 2/|u| of it: float64 D was off by up to 3e-13 relative.
    it('softmaxKlDivergence of float64 rows whose u sit near the edge of the expm1 series (|u| ≈ ¼) keeps 1e-13', () => {
      // [P, Q, T, D]: D from mpmath at 50 digits
      const cases = [
        [[0.6948620379289965, -0.39827568581825096], [2.1597426212404423, 0.0774240713670612], 4, 0.0074019024625910054473],
        [[0.6948620379289965, -0.39827568581825096], [2.1597426212404423, 1.3065426212404423], 1, 0.0056233714993905755948],
        [[0.5, -0.3, 0.1], [0.2, -0.55, 0.3], 1, 0.026864295586324774798],
      ] as const;
      for (const [P, Q, T, D] of cases) {
        const cols = P.length, rows = 20, a = new Float64Array(rows * cols), b = new Float64Array(rows * cols);
        for (let r = 0; r < rows; r++) {
          a.set(P, r * cols);
          b.set(Q, r * cols);
        }
        const got = softmaxKlDivergence(a, b, { cols, temperature: T });
        for (let r = 0; r < rows; r++) expect(Math.abs(got[r] - D) / D, `row ${r} of [${P}] ‖ [${Q}], T = ${T}`).toBeLessThan(1e-13);
      }
    });

    // Bug: ∂D/∂a at a confident teacher's dominant entry, p_k·(u_k − c) with u_k ≈ c = Σ p·u,
    // kept u_k's rounding (ε·|u_k|): P = [12, 0, 0] against Q = [−20, 0, 0] came out 1e-11 off.
    it('softmaxKlDivergence ∂D/∂P of a confident float64 teacher keeps 1e-13 at its dominant entry', () => {
      for (const [top, low, n] of [[12, -20, 3], [14, -60, 3], [12, -20, 40], [30, 0, 5]]) {
        const a = new Float64Array(n), b = new Float64Array(n), gradP = new Float64Array(n);
        a[0] = top;
        b[0] = low;
        softmaxKlDivergence(a, b, { gradP });
        // p_0 = 1/(1 + s), the others e^−top·p_0, s = (n − 1)·e^−top; u_0 − u_j = top − low, so
        // ∂D/∂a_0 = p_0·Σ p_j·(top − low) = p_0·(s/(1 + s))·(top − low), ∂D/∂a_j = −p_j·p_0·(top − low)
        const e = Math.exp(-top), s = (n - 1) * e, p0 = 1 / (1 + s), gap = top - low;
        const want0 = p0 * (s / (1 + s)) * gap, wantJ = -e * p0 * p0 * gap;
        expect(Math.abs(gradP[0] - want0) / want0, `[${top}, 0…] ‖ [${low}, 0…], n = ${n}: ∂D/∂a₀`).toBeLessThan(1e-13);
        for (let j = 1; j < n; j++) expect(Math.abs(gradP[j] - wantJ) / -wantJ, `∂D/∂a${j}`).toBeLessThan(1e-13);
      }
    });

    // Bug: Q masked where P has mass made D = Infinity before a NaN elsewhere in the rows was seen.
    it('softmaxKlDivergence: a NaN wins over a masked Q entry under P mass (NaN, not Infinity)', () => {
      for (const kind of ['f32', 'f64', 'array'] as const) {
        const make = (v: number[]) => (kind === 'array' ? v : kind === 'f32' ? Float32Array.from(v) : Float64Array.from(v));
        expect(softmaxKlDivergence(make([1, 2, 3]), make([NaN, -Infinity, 1]))).toBeNaN();
        expect(softmaxKlDivergence(make([NaN, 2, 3]), make([0, -Infinity, 1]))).toBeNaN();
        expect(softmaxKlDivergence(make([1, 2, 3]), make([0, -Infinity, 1]))).toBe(Infinity);
        const rows = softmaxKlDivergence(make([1, 2, 3, 1, 2, 3]), make([NaN, -Infinity, 1, 0, -Infinity, 1]), { cols: 3 });
        expect(rows[0]).toBeNaN();
        expect(rows[1]).toBe(Infinity);
      }
    });
  });

  describe('gradients against central differences of an independent float64 reference (as gradcheck)', () => {
    // H and D from their definitions, row by row, summed (rows' values are independent, so
    // ∂(Σ rows)/∂z is each row's gradient); differences of the reference, not of the kernels
    const refH = (z: ArrayLike<number>, cols: number, T: number) => {
      let s = 0;
      for (let o = 0; o < z.length; o += cols) s += reference(Array.from(z).slice(o, o + cols), T).H;
      return s;
    };
    const refD = (a: ArrayLike<number>, b: ArrayLike<number>, cols: number, T: number) => {
      let s = 0;
      for (let o = 0; o < a.length; o += cols) {
        const p = reference(Array.from(a).slice(o, o + cols), T), q = reference(Array.from(b).slice(o, o + cols), T);
        s += fsum(p.p.map((v, i) => (v === 0 ? 0 : v * (p.logp[i] - q.logp[i]))));
      }
      return s;
    };
    const central = (f: (z: Float64Array) => number, z: Float64Array) => {
      const h = 1e-6, g = new Float64Array(z.length);
      for (let i = 0; i < z.length; i++) {
        const up = z.slice(), down = z.slice();
        up[i] += h;
        down[i] -= h;
        g[i] = (f(up) - f(down)) / (2 * h);
      }
      return g;
    };
    const closeTo = (got: ArrayLike<number>, want: Float64Array, f32: boolean, what: string) => {
      const gmax = Math.max(...want.map(Math.abs));
      for (let i = 0; i < want.length; i++) {
        expect(Math.abs(got[i] - want[i]), `${what}[${i}]`).toBeLessThan((f32 ? 2e-6 : 1e-7) * gmax);
      }
    };
    for (const Type of TYPES) {
      for (const [cols, T, base] of [[7, 1, undefined], [33, 2.5, 2], [5, 0.5, undefined]] as const) {
        it(`softmaxEntropy grad, softmaxKlDivergence gradQ and gradP: rows of ${cols}, T = ${T}, base ${base ?? 'e'}, ${Type.name}`, () => {
          const random = rng(cols * 7 + T * 10 + (Type === Float32Array ? 1 : 2));
          const a = randomLogits(3 * cols, random, Type), b = randomLogits(3 * cols, random, Type);
          const a64 = Float64Array.from(a), b64 = Float64Array.from(b), f32 = Type === Float32Array;
          const scale = base ? 1 / Math.log(base) : 1;
          const o = { cols, temperature: T, ...(base ? { base } : {}) };
          const grad = new Type(a.length);
          softmaxEntropy(a, { ...o, grad });
          closeTo(grad, central((z) => refH(z, cols, T) * scale, a64), f32, 'softmaxEntropy grad');
          const gradQ = new Type(a.length), gradP = new Type(a.length);
          softmaxKlDivergence(a, b, { ...o, gradQ, gradP });
          closeTo(gradQ, central((z) => refD(a64, z, cols, T) * scale, b64), f32, 'gradQ');
          closeTo(gradP, central((z) => refD(z, b64, cols, T) * scale, a64), f32, 'gradP');
          // either alone is the same as both together
          const onlyQ = new Type(a.length);
          softmaxKlDivergence(a, b, { ...o, gradQ: onlyQ });
          expect(Array.from(onlyQ)).toEqual(Array.from(gradQ));
        });
      }
    }
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

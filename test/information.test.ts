// mutualInformation, conditionalEntropy, byteEntropy: sklearn's and scipy's values,
// float64 references at shapes around the vector widths, the identities with the
// entropies of the margins, independent tables, validation, zero-copy, and inputs longer
// than the window — on every backend.
import { describe, expect, it } from 'vitest';
import { allocate, backend, byteEntropy, conditionalEntropy, init, mutualInformation } from '../src/index.js';
import { expectClose, fsum, onEachBackend, rng, withSmallWindow } from './helpers.js';
import { currentEngine } from '../src/backend.js';
import type { Engine } from '../src/engine.js';

const TYPES = [Float32Array, Float64Array] as const;
const dtypeOf = (T: (typeof TYPES)[number]) => (T === Float32Array ? 'f32' : 'f64') as 'f32' | 'f64';

/** H of the entries of a non-negative array, normalised by their total (float64, compensated). */
function H(c: ArrayLike<number>): number {
  const n = fsum(Array.from(c));
  return fsum(Array.from(c, (v) => (v === 0 ? 0 : -(v / n) * Math.log(v / n))));
}

/** float64 references of a table (normalised by its total): MI, H(Y|X), and the magnitude of their terms. */
function reference(t: ArrayLike<number>, cols: number) {
  const rows = t.length / cols;
  const px = Array.from({ length: rows }, (_, i) => fsum(Array.from({ length: cols }, (_, j) => t[i * cols + j])));
  const py = Array.from({ length: cols }, (_, j) => fsum(Array.from({ length: rows }, (_, i) => t[i * cols + j])));
  const n = fsum(px);
  const mi: number[] = [], ce: number[] = [];
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const c = t[i * cols + j];
      if (c === 0) continue;
      mi.push((c / n) * Math.log((c * n) / (px[i] * py[j])));
      ce.push(-(c / n) * Math.log(c / px[i]));
    }
  }
  return { mi: fsum(mi), ce: fsum(ce), miMag: fsum(mi.map(Math.abs)), ceMag: fsum(ce.map(Math.abs)), px, py };
}

function randomTable(rows: number, cols: number, random: () => number, Type: Float32ArrayConstructor | Float64ArrayConstructor, zeros = 0.2) {
  const t = new Type(rows * cols);
  for (let i = 0; i < t.length; i++) t[i] = random() < zeros ? 0 : Math.floor(random() * 1000);
  return t;
}

/** The outer product of two random distributions: X and Y independent. */
function independent(rows: number, cols: number, random: () => number, Type: Float32ArrayConstructor | Float64ArrayConstructor) {
  const a = Array.from({ length: rows }, () => random() + 0.01), b = Array.from({ length: cols }, () => random() + 0.01);
  const sa = fsum(a), sb = fsum(b);
  const t = new Type(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[i * cols + j] = (a[i] / sa) * (b[j] / sb);
  return t;
}

/** The skewed bytes of test/fixtures/make-information.py (a 31-bit LCG). */
function lcgBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  let s = 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff;
    const r = s >>> 15;
    b[i] = (r * r) / 2 ** 24;
  }
  return b;
}

/** scipy.stats.entropy(np.bincount(b, minlength=256), base=2), in float64. */
function byteReference(b: Uint8Array): number {
  const c = new Float64Array(256);
  for (const v of b) c[v]++;
  return b.length === 0 ? 0 : H(c) / Math.LN2;
}

onEachBackend('joint tables', () => {
  it("sklearn's mutual_info_score and scipy's entropies (test/fixtures/make-information.py)", () => {
    // [counts, cols, sklearn mutual_info_score(contingency=…), exact MI, scipy H(X,Y) − H(X), exact H(Y|X)]
    // scipy 1.17.1, numpy 2.4.6, mpmath 1.3.0; sklearn's formula as in sklearn/metrics/cluster/_supervised.py
    const cases: [number[], number, number, number, number, number][] = [
      [[10, 2, 3, 15], 2, 0.23367055626399577, 0.23367055626399566, 0.4505612088663047, 0.4505612088663047],
      [[5, 0, 1, 0, 7, 2, 4, 4, 0, 1, 0, 9], 3, 0.602922441730441, 0.6029224417304409, 0.4929312188821444, 0.49293121888214436],
      [[1, 2, 3, 6], 2, 0.0, 0.0, 0.636514168294813, 0.6365141682948128],
      [[15, 17, 22, 43, 42, 9, 40, 10, 5, 17, 0, 41, 31, 43, 31, 24, 39, 49, 44, 2, 7, 24, 39, 34, 38, 15, 38, 24, 26, 45, 0, 13, 28, 48, 48], 7, 0.17513872504564748, 0.17513872504564743, 1.757455366274481, 1.7574553662744812],
      [[18, 807, 937, 53, 699, 276, 596, 512, 947, 515, 629, 304, 702, 400, 958, 269, 78, 137, 515, 29, 76, 290, 796, 706, 436, 124, 154, 282, 932, 946, 634, 319, 615], 11, 0.15846027022113168, 0.158460270221132, 2.1858897469258456, 2.1858897469258456],
    ];
    for (const [t, cols, sk, mi, sc, ce] of cases) {
      for (const T of [Float64Array, Float32Array, Int32Array, Array] as const) {
        const table: ArrayLike<number> = T === Array ? t : new (T as Float64ArrayConstructor)(t);
        const what = `${T.name} ${t.length / cols}×${cols}`;
        const got = mutualInformation(table, { cols, normalize: true });
        expectClose(got, mi, 'f64', undefined, `MI ${what}`);
        expectClose(got, sk, 'f64', undefined, `sklearn ${what}`);
        expectClose(conditionalEntropy(table, { cols, normalize: true }), ce, 'f64', undefined, `H(Y|X) ${what}`);
        expectClose(conditionalEntropy(table, { cols, normalize: true }), sc, 'f64', undefined, `scipy H(Y|X) ${what}`);
      }
      // the same table as probabilities, and in bits
      const p = Float64Array.from(t, (v) => v / fsum(t));
      expectClose(mutualInformation(p, { cols }), mi, 'f64');
      expectClose(mutualInformation(p, { cols, base: 2 }), mi / Math.LN2, 'f64');
      expectClose(conditionalEntropy(p, { cols, base: 10 }), ce / Math.LN10, 'f64');
    }
  });

  it('the examples', () => {
    expect(mutualInformation([0.5, 0, 0, 0.5], { cols: 2, base: 2 })).toBe(1);
    expect(mutualInformation([1, 2, 3, 6], { cols: 2, normalize: true })).toBe(0);
    expectClose(conditionalEntropy([0.25, 0.25, 0.5, 0], { cols: 2, base: 2 }), 0.5, 'f64');
  });

  it('a base below 1 gives the negative of the value in 1/base (log_b x = −log_(1/b) x), small tables and large', () => {
    expect(mutualInformation([0.5, 0, 0, 0.5], { cols: 2, base: 0.5 })).toBe(-1);
    expectClose(conditionalEntropy([0.25, 0.25, 0.5, 0], { cols: 2, base: 0.5 }), -0.5, 'f64');
    const big = new Float64Array(200).fill(1 / 200), diag = new Float64Array(100 * 100);
    for (let i = 0; i < 100; i++) diag[i * 101] = 0.01;
    expectClose(conditionalEntropy(big, { cols: 2, base: 0.5 }), -1, 'f64');
    expectClose(mutualInformation(diag, { cols: 100, base: 0.1 }), -2, 'f64');
    expect(mutualInformation(big, { cols: 2, base: 0.5 })).toBe(0); // (independent: 0, not −0)
  });

  // A row whose one entry holds most of its mass has a term c·log(c/c(x)) near log 1:
  // c − c(x) must come from the row's sum with its low part (assembly/info.ts, `dominated`).
  // Values: mpmath 1.3.0 at 50 digits, −Σ c·log(c/c(x))/N over the exact float64 (E: float32)
  // inputs. Before the low parts, A was 2e-6 (SIMD) to 4e-6 (scalar) off relative.
  it('a row dominated by one entry: H(Y|X) within 1e-13 relative (mpmath)', () => {
    const cases: [string, ArrayLike<number>, number, number][] = [
      ['A', [1, ...Array(199).fill(1e-13)], 200, 6.1557876354550762e-10],
      ['B', [1, 1e-13, 1e-13, 1], 2, 3.0933606208919551e-12],
      ['C', [0.5, 1e-9, 2e-9, 0, 3e-10, 1e-12, 0.25, 0, 0, 0, 0.1, 0.1, 0.05, 0, 0], 5, 0.26373010952749674],
      ['D', [1e12, 1, 1, 3], 4, 1.3985926871295162e-10],
      ['E (float32)', Float32Array.from([1, ...Array(63).fill(1e-7)]), 64, 0.00010784334421957279],
    ];
    for (const [name, t, cols, want] of cases) {
      const table = t instanceof Float32Array ? t : Float64Array.from(t);
      const got = conditionalEntropy(table, { cols, normalize: true });
      expect(Math.abs(got - want), `${name}: ${got}`).toBeLessThanOrEqual(1e-13 * want);
    }
  });

  describe('shapes around the vector widths, against a float64 reference', () => {
    for (const Type of TYPES) {
      for (const cols of [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 200]) {
        it(`cols = ${cols} ${Type.name}`, () => {
          const random = rng(cols * 5 + (Type === Float32Array ? 1 : 2));
          const t = dtypeOf(Type);
          for (const rows of [1, 2, 3, 4, 5, 17]) {
            const table = randomTable(rows, cols, random, Type);
            if (fsum(Array.from(table)) === 0) table[0] = 1;
            const r = reference(table, cols);
            expectClose(mutualInformation(table, { cols, normalize: true }), r.mi, t, r.miMag, `MI ${rows}×${cols}`);
            expectClose(conditionalEntropy(table, { cols, normalize: true }), r.ce, t, r.ceMag, `H(Y|X) ${rows}×${cols}`);
          }
        });
      }
    }
  });

  describe('identities', () => {
    // Found by fuzz/run.js: a column of 71 weights near 1e29 (one of them 5e-324), unvalidated,
    // gave 1.6e-17: each term is log 1 rounded, and the terms need not cancel.
    it('one row or one column: X or Y takes one value, I = 0 exactly (+0), and H(Y|X) of one column is 0', () => {
      const random = rng(0x1c01);
      for (const n of [1, 2, 5, 40, 71, 300]) {
        const big = Array.from({ length: n }, (_, i) => (i === 0 ? 5e-324 : (0.05 + random()) * 1e30));
        const w = Array.from({ length: n }, () => 0.05 + random()), total = fsum(w), p = w.map((v) => v / total);
        for (const [table, o] of [[big, { validate: false }], [p, {}], [w, { normalize: true }]] as const) {
          for (const cols of [1, n]) {
            const got = mutualInformation(table, { cols, ...o });
            expect(Object.is(got, 0), `n ${n}, cols ${cols}: ${got}`).toBe(true);
            if (cols === 1) expect(Object.is(conditionalEntropy(table, { cols, ...o }), 0), `H(Y|X), n ${n}`).toBe(true);
          }
        }
      }
    });
    for (const Type of TYPES) {
      it(`I(X;Y) = H(X) + H(Y) − H(X,Y) ≥ 0 and H(Y|X) = H(X,Y) − H(X) ${Type.name}`, () => {
        const random = rng(Type === Float32Array ? 41 : 42);
        for (const [rows, cols] of [[2, 2], [3, 5], [10, 10], [7, 100], [100, 7]]) {
          const table = randomTable(rows, cols, random, Type, 0.3);
          const r = reference(table, cols);
          const hxy = H(table), hx = H(r.px), hy = H(r.py);
          const mi = mutualInformation(table, { cols, normalize: true });
          const ce = conditionalEntropy(table, { cols, normalize: true });
          expect(mi).toBeGreaterThanOrEqual(0);
          // the identities lose the digits of their cancellation: judged against the entropies' size
          expectClose(mi, hx + hy - hxy, 'f64', hx + hy + hxy, `MI ${rows}×${cols}`);
          expectClose(ce, hxy - hx, 'f64', hxy + hx, `H(Y|X) ${rows}×${cols}`);
          // symmetric: the transposed table has the same MI
          const tr = new Type(table.length);
          for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) tr[j * rows + i] = table[i * cols + j];
          expectClose(mutualInformation(tr, { cols: rows, normalize: true }), mi, 'f64', r.miMag);
          // and H(X|Y) = H(X,Y) − H(Y)
          expectClose(conditionalEntropy(tr, { cols: rows, normalize: true }), hxy - hy, 'f64', hxy + hy);
        }
      });

      it(`independent tables (outer products of random margins) have MI 0 up to rounding ${Type.name}`, () => {
        const random = rng(Type === Float32Array ? 51 : 52);
        for (const [rows, cols] of [[2, 2], [3, 7], [16, 16], [33, 65], [300, 200], [5, 4001]]) {
          const table = independent(rows, cols, random, Type);
          const r = reference(table, cols);
          const mi = mutualInformation(table, { cols, normalize: Type === Float32Array });
          // exactly independent in float64 up to the table's own rounding: ≤ 1e-15 absolute
          if (Type === Float64Array) expect(mi, `${rows}×${cols}`).toBeLessThanOrEqual(1e-15);
          else expectClose(mi, r.mi, 'f32', r.miMag, `${rows}×${cols}`);
          expect(mi).toBeGreaterThanOrEqual(0);
          // H(Y|X) = H(Y) for independent X, Y
          expectClose(conditionalEntropy(table, { cols, normalize: true }), H(r.py), 'f64', undefined, `H(Y|X) ${rows}×${cols}`);
        }
      });
    }

    it('X determines Y: I = H(Y), H(Y|X) = 0', () => {
      const t = [0.2, 0, 0, 0, 0, 0.3, 0, 0, 0, 0, 0.1, 0, 0, 0, 0, 0.4];
      expectClose(mutualInformation(t, { cols: 4 }), H([0.2, 0.3, 0.1, 0.4]), 'f64');
      expect(conditionalEntropy(t, { cols: 4 })).toBe(0);
    });

    it('rows and columns of zeros contribute nothing (0·log 0 = 0)', () => {
      const t = [0, 0, 0, 0, 3, 0, 1, 0, 0, 0, 0, 0, 2, 0, 5, 0];
      const r = reference(t, 4);
      expectClose(mutualInformation(t, { cols: 4, normalize: true }), r.mi, 'f64');
      expectClose(conditionalEntropy(t, { cols: 4, normalize: true }), r.ce, 'f64');
    });

    it('an empty table: 0', () => {
      expect(mutualInformation([], { cols: 3 })).toBe(0);
      expect(conditionalEntropy(new Float32Array(0), { cols: 1 })).toBe(0);
    });

    it('a single row or column: MI 0', () => {
      expect(mutualInformation([1, 2, 3], { cols: 3, normalize: true })).toBe(0);
      expect(mutualInformation([1, 2, 3], { cols: 1, normalize: true })).toBe(0);
      expectClose(conditionalEntropy([1, 2, 3], { cols: 3, normalize: true }), H([1, 2, 3]), 'f64');
      expect(conditionalEntropy([1, 2, 3], { cols: 1, normalize: true })).toBe(0);
    });
  });

  describe('validation and errors', () => {
    it('probabilities: negative, non-finite, or not summing to 1 are RangeErrors', () => {
      expect(() => mutualInformation([0.5, -0.1, 0.3, 0.3], { cols: 2 })).toThrow(/joint\[1\] \(row 0, column 1\) is -0\.1; probabilities must be non-negative/);
      expect(() => mutualInformation([0.5, NaN, 0.3, 0.3], { cols: 2 })).toThrow(/joint\[1\] \(row 0, column 1\) is NaN; probabilities must be finite/);
      expect(() => conditionalEntropy([0.5, 0.1, Infinity, 0.3], { cols: 2 })).toThrow(/joint\[2\] \(row 1, column 0\) is Infinity/);
      expect(() => mutualInformation([0.5, 0.1, 0.3, 0.3], { cols: 2 })).toThrow(/joint sums to 1\.2, not 1 .*normalize: true/);
      expect(() => mutualInformation([1, 2, 3, 4], { cols: 2 })).toThrow(RangeError);
      expect(() => mutualInformation([0, 0, 0, 0], { cols: 2, normalize: true })).toThrow(/sums to 0; normalize needs a positive, finite sum/);
      expect(() => mutualInformation([1, -1, 3, 4], { cols: 2, normalize: true })).toThrow(/joint\[1\] \(row 0, column 1\) is -1/);
      // float32 tolerance 1e-5, float64 1e-6
      expect(mutualInformation(new Float32Array([0.25, 0.25, 0.25, 0.250004]), { cols: 2 })).toBeGreaterThanOrEqual(0);
      expect(() => mutualInformation(new Float64Array([0.25, 0.25, 0.25, 0.250004]), { cols: 2 })).toThrow(RangeError);
    });

    it('validate: false skips the checks', () => {
      expectClose(mutualInformation([1, 2, 3, 4], { cols: 2, validate: false }), reference([1, 2, 3, 4], 2).mi, 'f64');
    });

    it('shapes, types and options: TypeErrors (RangeError for a length that cols does not divide)', () => {
      expect(() => mutualInformation([0.25, 0.25, 0.25, 0.25], {} as never)).toThrow(/cols is required/);
      expect(() => conditionalEntropy([0.25, 0.25, 0.25, 0.25], undefined as never)).toThrow(TypeError);
      expect(() => mutualInformation([0.25, 0.25, 0.25, 0.25], { cols: 1.5 })).toThrow(TypeError);
      expect(() => mutualInformation([0.25, 0.25, 0.25, 0.25], { cols: 3 })).toThrow(RangeError);
      expect(() => mutualInformation('abcd' as never, { cols: 2 })).toThrow(TypeError);
      expect(() => mutualInformation([0.5, 0.5], { cols: 2, normalise: true } as never)).toThrow(/unknown option 'normalise' \(did you mean 'normalize'\?\)/);
      expect(() => mutualInformation([0.5, 0.5], { cols: 2, base: 1 })).toThrow(RangeError);
      expect(() => mutualInformation([0.5, 0.5], { cols: 2, normalize: 1 as never })).toThrow(TypeError);
    });

    it('nothing corrupts a later call', () => {
      expect(() => mutualInformation([0.5, -0.1, 0.3, 0.3], { cols: 2 })).toThrow();
      expectClose(mutualInformation([10, 2, 3, 15], { cols: 2, normalize: true }), 0.23367055626399566, 'f64');
    });
  });

  it('WasmArray tables (zero-copy)', () => {
    for (const T of TYPES) {
      const t = allocate(T as Float64ArrayConstructor, 12);
      t.array.set([5, 0, 1, 0, 7, 2, 4, 4, 0, 1, 0, 9]);
      expectClose(mutualInformation(t, { cols: 3, normalize: true }), 0.6029224417304409, 'f64');
      expectClose(conditionalEntropy(t, { cols: 3, normalize: true }), 0.49293121888214436, 'f64');
      t.free();
    }
  });

  describe('tables larger than the window, against the JS backend', () => {
    withSmallWindow();
    for (const Type of TYPES) {
      it(`rows longer than the window, and a tall table in blocks ${Type.name}`, async () => {
        const random = rng(Type === Float32Array ? 61 : 62);
        const t = dtypeOf(Type);
        const wide = randomTable(3, 150_001, random, Type); // rows of 0.6 / 1.2 MB
        const tall = randomTable(40_000, 10, random, Type); // 1.6 / 3.2 MB in blocks of rows
        const ind = independent(2, 200_001, random, Type);
        const got = [mutualInformation(wide, { cols: 150_001, normalize: true }), conditionalEntropy(wide, { cols: 150_001, normalize: true }),
          mutualInformation(tall, { cols: 10, normalize: true }), conditionalEntropy(tall, { cols: 10, normalize: true }),
          mutualInformation(ind, { cols: 200_001, normalize: true })];
        const here = backend();
        await init({ backend: 'js' });
        const js = [mutualInformation(wide, { cols: 150_001, normalize: true }), conditionalEntropy(wide, { cols: 150_001, normalize: true }),
          mutualInformation(tall, { cols: 10, normalize: true }), conditionalEntropy(tall, { cols: 10, normalize: true })];
        await init({ backend: here as never });
        const rw = reference(wide, 150_001), rt = reference(tall, 10);
        const refs = [[rw.mi, rw.miMag], [rw.ce, rw.ceMag], [rt.mi, rt.miMag], [rt.ce, rt.ceMag]];
        for (let k = 0; k < 4; k++) {
          expectClose(got[k], refs[k][0], t, refs[k][1], `case ${k}`);
          expectClose(got[k], js[k], t, refs[k][1], `case ${k} against js`);
        }
        if (Type === Float64Array) expect(got[4]).toBeLessThanOrEqual(1e-15);
        else expect(got[4]).toBeLessThanOrEqual(1e-12);
      });
    }
  });
  it('a WasmArray table, memory grown during the first pass: the second reads its view anew', () => {
    const cols = 1000, random = rng(71);
    const plain = randomTable(3, cols, random, Float64Array);
    const want = [mutualInformation(plain, { cols, normalize: true }), conditionalEntropy(plain, { cols, normalize: true })];
    const t = allocate(Float64Array, 3 * cols);
    t.array.set(plain);
    // grow the memory right after the margins' pass (as a window growing there would): views of it detach
    const e = currentEngine() as Engine & { heap?: { memory: WebAssembly.Memory } };
    const run = e.run;
    e.run = function (this: Engine, name, f32, args) {
      run.call(this, name, f32, args);
      if (name === 'marginRows') e.heap?.memory.grow(1);
    };
    try {
      expectClose(mutualInformation(t, { cols, normalize: true }), want[0], 'f64');
      expectClose(conditionalEntropy(t, { cols, normalize: true }), want[1], 'f64');
    } finally {
      e.run = run;
      t.free();
    }
  });
});

onEachBackend('byteEntropy', () => {
  it("scipy's values (test/fixtures/make-information.py)", () => {
    // scipy.stats.entropy(np.bincount(b, minlength=256), base=2) and the exact value; scipy 1.17.1
    const gen = lcgBytes(100_003);
    expectClose(byteEntropy(gen), 7.589185974858243, 'f64', undefined, 'generated exact');
    expectClose(byteEntropy(gen), 7.5891859748582435, 'f64', undefined, 'generated scipy');
    const text = new TextEncoder().encode('Information is the resolution of uncertainty. — Claude Shannon');
    expectClose(byteEntropy(text), 4.177668898701708, 'f64', undefined, 'text');
    expectClose(byteEntropy(text, { base: Math.E }), 4.177668898701708 * Math.LN2, 'f64');
    expectClose(byteEntropy(text, { base: 256 }), 4.177668898701708 / 8, 'f64');
    expectClose(byteEntropy(text, { base: 0.5 }), -4.177668898701708, 'f64');
    expect(byteEntropy(new Uint8Array([1, 2]), { base: 0.5 })).toBe(-1);
    expect(byteEntropy(new Uint8Array(1000).fill(42), { base: 0.5 })).toBe(0);
  });

  it('the bounds: one value 0, every value equally often 8', () => {
    expect(byteEntropy(new Uint8Array(1000).fill(42))).toBe(0);
    expect(byteEntropy(new Uint8Array(1))).toBe(0);
    expect(byteEntropy(Uint8Array.from({ length: 256 }, (_, i) => i))).toBe(8);
    expect(byteEntropy(Uint8Array.from({ length: 256 * 1000 + 0 }, (_, i) => i & 255))).toBe(8);
    expect(byteEntropy(new TextEncoder().encode('abab'))).toBe(1);
  });

  it('empty input: 0', () => {
    expect(byteEntropy(new Uint8Array(0))).toBe(0);
  });

  it('every length to 300, and around the 64 KiB rows', () => {
    const all = lcgBytes(70_000);
    for (let n = 0; n <= 300; n++) {
      const b = all.subarray(7, 7 + n);
      expectClose(byteEntropy(b), byteReference(b), 'f64', undefined, `n = ${n}`);
    }
    for (const n of [65_535, 65_536, 65_537, 69_999]) {
      const b = all.subarray(70_000 - n);
      expectClose(byteEntropy(b), byteReference(b), 'f64', undefined, `n = ${n}`);
    }
  });

  it('a view with a byteOffset, a Buffer, a Uint8ClampedArray', () => {
    const b = lcgBytes(5000);
    const want = byteReference(b.subarray(3, 4003));
    expectClose(byteEntropy(new Uint8Array(b.buffer, 3, 4000)), want, 'f64');
    expectClose(byteEntropy(Buffer.from(b.buffer, 3, 4000)), want, 'f64');
    expectClose(byteEntropy(new Uint8ClampedArray(b.buffer, 3, 4000)), want, 'f64');
  });

  it('a view into a WasmArray is read in place', () => {
    const w = allocate(Float64Array, 20_000);
    const bytes = new Uint8Array(w.array.buffer, w.array.byteOffset, 160_000);
    bytes.set(lcgBytes(160_000));
    expectClose(byteEntropy(bytes), byteReference(bytes), 'f64');
    w.free();
  });

  it('bad input', () => {
    expect(() => byteEntropy([1, 2, 3] as never)).toThrow(/bytes must be a Uint8Array, got an Array\(3\)/);
    expect(() => byteEntropy(new Float32Array(3) as never)).toThrow(/wrap it/);
    expect(() => byteEntropy(new ArrayBuffer(3) as never)).toThrow(TypeError);
    expect(() => byteEntropy(new Uint8Array(3), { base: 0 })).toThrow(RangeError);
    expect(() => byteEntropy(new Uint8Array(3), { bsae: 2 } as never)).toThrow(/did you mean 'base'/);
    expect(byteEntropy(new TextEncoder().encode('abab'))).toBe(1);
  });

  describe('input larger than the window', () => {
    withSmallWindow();
    it('3 MiB + 5 bytes', async () => {
      const bytes = lcgBytes(3 * 2 ** 20 + 5);
      const got = byteEntropy(bytes);
      const here = backend();
      await init({ backend: 'js' });
      const js = byteEntropy(bytes);
      await init({ backend: here as never });
      expectClose(got, byteReference(bytes), 'f64');
      expectClose(got, js, 'f64');
    });
  });
});

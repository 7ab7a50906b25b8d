// surprisal/pool in Node (worker_threads): every row-wise function gives exactly the
// single-thread result, bit for bit, in every mode (shared memory computed in place,
// shared memory staged through each thread's own memory, transfers), at row counts around
// the chunk and vector cut-offs, call after call, with 2 and with 16 threads; errors are
// the single call's.  Nothing here measures time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as S from '../dist/index.js';
import { createPool, type Pool } from '../dist/pool/node.js';
import { randomDistribution, randomLogits, rng, sameBits } from './helpers.js';

type Arr = Float32Array | Float64Array;
type Result = number | Arr | Arr[];

/** Whether two results are the same bits (numbers by Object.is, arrays byte for byte). */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number') return Object.is(a, b);
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  return sameBits(a as Arr, b as Arr);
}

/** One case: a call made on one thread and on the pool, the outputs it writes included. */
interface Case {
  name: string;
  single(): Result;
  pooled(pool: Pool): Promise<Result>;
}

function cases(rows: number, cols: number, Type: Float32ArrayConstructor | Float64ArrayConstructor, seed: number): Case[] {
  const random = rng(seed);
  const n = rows * cols;
  const x = randomLogits(n, random, Type, 4);
  const y = randomLogits(n, random, Type, 4);
  // masked entries and a constant row mixed in: the special paths run in the pool too
  for (let r = 0; r < rows; r += 5) x[r * cols + (r % cols)] = -Infinity;
  if (rows > 3) x.fill(0, 3 * cols, 4 * cols);
  const P = new Type(n), Q = new Type(n);
  for (let r = 0; r < rows; r++) {
    P.set(randomDistribution(cols, random, Type), r * cols);
    Q.set(randomDistribution(cols, random, Type), r * cols);
  }
  const labels = Int32Array.from({ length: rows }, (_, i) => (i * 31) % cols);
  const ignored = Int32Array.from(labels, (v, i) => (i % 7 === 3 ? -100 : v));
  const weights = Float64Array.from({ length: cols }, (_, i) => 0.5 + (i % 3));
  const signed = Float64Array.from({ length: cols }, (_, i) => (i % 4) - 1.5);
  const counts = Float64Array.from({ length: n }, () => Math.floor(random() * 5));
  const targets = new Type(n).map(() => (random() < 0.3 ? 1 : random() < 0.5 ? 0 : random()));
  const o = { cols };
  const withOut = (name: string, call: (s: typeof S | Pool, out: Arr, out2: Arr) => Result | Promise<Result>): Case => ({
    name,
    single: () => { const a = new Type(n), b = new Type(n); const r = call(S, a, b) as Result; return [r as Arr, a, b]; },
    pooled: async (pool) => { const a = new Type(n), b = new Type(n); const r = await call(pool, a, b); return [r as Arr, a, b]; },
  });
  const plain = (name: string, call: (s: typeof S | Pool) => Result | Promise<Result>): Case => ({
    name, single: () => call(S) as Result, pooled: async (pool) => call(pool),
  });
  return [
    plain('logSumExp', (s) => s.logSumExp(x, o)),
    plain('softmax (new result)', (s) => s.softmax(x, o)),
    withOut('softmax into out', (s, out) => s.softmax(x, { cols, out, temperature: 0.7 })),
    withOut('logSoftmax into out', (s, out) => s.logSoftmax(x, { cols, out })),
    withOut('softmaxEntropy with grad, base 2', (s, grad) => s.softmaxEntropy(x, { cols, grad, base: 2 })),
    withOut('softmaxKlDivergence with both gradients', (s, gradP, gradQ) => s.softmaxKlDivergence(x, y, { cols, gradP, gradQ, temperature: 2 })),
    withOut('softmaxCrossEntropy mean, grad', (s, grad) => s.softmaxCrossEntropy(x, labels, { cols, grad })),
    withOut('softmaxCrossEntropy sum, smoothing, weights, ignoreIndex, grad', (s, grad) =>
      s.softmaxCrossEntropy(x, ignored, { cols, grad, reduction: 'sum', labelSmoothing: 0.1, weights, ignoreIndex: -100 })),
    plain('softmaxCrossEntropy none', (s) => s.softmaxCrossEntropy(x, labels, { cols, reduction: 'none' })),
    withOut('softmaxCrossEntropy probability targets, grad', (s, grad) => s.softmaxCrossEntropy(x, P, { cols, grad })),
    plain('entropy', (s) => s.entropy(P, o)),
    plain('entropy of counts (normalize), base 2', (s) => s.entropy(counts, { cols, normalize: true, base: 2 })),
    plain('crossEntropy', (s) => s.crossEntropy(P, Q, o)),
    plain('klDivergence', (s) => s.klDivergence(P, Q, o)),
    plain('jsDivergence, normalize', (s) => s.jsDivergence(P, Q, { cols, normalize: true })),
    withOut('sigmoidCrossEntropy, weights, posWeight, grad', (s, grad) =>
      s.sigmoidCrossEntropy(x, targets, { cols, grad, weights, posWeight: weights })),
    plain('sigmoidCrossEntropy none', (s) => s.sigmoidCrossEntropy(x, targets, { cols, reduction: 'none' })),
    withOut('sigmoidFocalLoss, grad', (s, grad) => s.sigmoidFocalLoss(x, targets, { cols, grad })),
    plain('logSumExp with weights', (s) => s.logSumExp(x, { cols, weights })),
    plain('signedLogSumExp', (s) => {
      const r = s.signedLogSumExp(x, { cols, weights: signed });
      return r instanceof Promise ? r.then((v) => [v.value, v.sign]) : [r.value as Float64Array, r.sign as Float64Array];
    }),
  ];
}

const MODES = [
  { shared: true, size: 2, inMemory: true },
  { shared: true, size: 16, inMemory: true },
  { shared: true, size: 2, inMemory: false },
  { shared: false, size: 2, inMemory: false },
  { shared: false, size: 16, inMemory: false },
] as const;
const SHAPES: [number, number][] = [[1, 1000], [7, 1000], [63, 10], [64, 10], [65, 1000], [128, 10], [300, 1000], [2048, 10]];

for (const mode of MODES) {
  describe(`pool: ${mode.shared ? (mode.inMemory ? 'shared memory, in place' : 'shared memory, staged') : 'transfers'}, ${mode.size} threads`, () => {
    let pool: Pool;
    beforeAll(async () => {
      await S.init();
      // minElements 0: every call goes through the workers, however small
      pool = await createPool({ size: mode.size, shared: mode.shared, inMemory: mode.inMemory, minElements: 0 });
      expect(pool.shared).toBe(mode.shared);
      expect(pool.inMemory).toBe(mode.inMemory);
      expect(pool.backend).toBe(S.backend());
    });
    afterAll(() => pool.close());

    for (const [rows, cols] of SHAPES) {
      for (const Type of [Float32Array, Float64Array]) {
        it(`${rows} × ${cols} ${Type.name}: every function equals the single call bit for bit, call after call`, async () => {
          for (const c of cases(rows, cols, Type, rows * 7 + cols)) {
            const want = c.single();
            for (let call = 0; call < 2; call++) {
              const got = await c.pooled(pool);
              expect(same(want, got), `${c.name}, call ${call + 1}`).toBe(true);
            }
          }
        });
      }
    }

    it('rows in pool.array (and out there) are computed where they are', async () => {
      const rows = 500, cols = 200, n = rows * cols;
      const x = pool.array(Float32Array, n), out = pool.array(Float32Array, n), grad = pool.array(Float32Array, n);
      x.set(randomLogits(n, rng(5), Float32Array, 4));
      const labels = Int32Array.from({ length: rows }, (_, i) => i % cols);
      const want = S.softmax(x, { cols }), wantGrad = new Float32Array(n);
      const loss = S.softmaxCrossEntropy(x, labels, { cols, grad: wantGrad });
      expect(await pool.softmax(x, { cols, out })).toBe(out);
      expect(sameBits(out, want)).toBe(true);
      expect(await pool.softmaxCrossEntropy(x, labels, { cols, grad })).toBe(loss);
      expect(sameBits(grad, wantGrad)).toBe(true);
    });

    it('errors are the single call\'s: the same class and message, and the pool goes on', async () => {
      const x = new Float32Array(6000);
      await expect(pool.softmax(x, { cols: 7 })).rejects.toThrow(RangeError);
      await expect(pool.softmax(x, { cols: 7 })).rejects.toThrow('softmax: length 6000 is not a multiple of cols = 7');
      await expect(pool.softmaxCrossEntropy(x, new Int32Array(6).fill(2000), { cols: 1000 })).rejects.toThrow(/label at row 0 is 2000/);
      await expect(pool.softmax(x, { cols: 1000, temprature: 2 } as never)).rejects.toThrow(TypeError);
      expect(sameBits(await pool.softmax(x, { cols: 1000 }) as Float32Array, S.softmax(x, { cols: 1000 }))).toBe(true);
    });

    it('calls made together queue up, each with its own answer', async () => {
      const xs = Array.from({ length: 6 }, (_, i) => randomLogits(300 * 100, rng(i), Float32Array));
      const got = await Promise.all(xs.map((x) => pool.logSumExp(x, { cols: 100 })));
      got.forEach((g, i) => expect(sameBits(g, S.logSumExp(xs[i], { cols: 100 }))).toBe(true));
    });
  });
}

describe('pool: small calls and close', () => {
  it('calls under minElements run on the calling thread with the same result; a closed pool rejects', async () => {
    await S.init();
    const pool = await createPool({ size: 2 });
    const x = randomLogits(1000, rng(9), Float64Array);
    expect(sameBits(await pool.softmax(x, { cols: 10 }) as Float64Array, S.softmax(x, { cols: 10 }))).toBe(true);
    await pool.close();
    await expect(pool.softmax(x, { cols: 10 })).rejects.toThrow(/closed/);
  });

  it('unknown options of createPool are TypeErrors naming the nearest', async () => {
    await expect(createPool({ sise: 2 } as never)).rejects.toThrow("createPool: unknown option 'sise' (did you mean 'size'?)");
  });
});

// surprisal/pool in Node (worker_threads): every row-wise function gives exactly the
// single-thread result, bit for bit, in both modes (shared memory, transfers), at row counts around
// the chunk and vector cut-offs, call after call, with 2 and with 16 threads; errors are
// the single call's.  Nothing here measures time.  The cases are test/pool-cases.js's,
// which test/browser.test.ts runs in Chromium too.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as S from '../dist/index.js';
import { Worker } from 'node:worker_threads';
import { createPool, type Pool } from '../dist/pool/node.js';
import * as internals from '../dist/pool/pool.js';
import * as nodeInternals from '../dist/pool/node.js';
import { randomLogits, rng, sameBits } from './helpers.js';
import { bigShape, cases, checkShape, NODE_SHAPES } from './pool-cases.js';

const MODES = [
  { shared: true, size: 2 },
  { shared: true, size: 16 },
  { shared: false, size: 2 },
  { shared: false, size: 16 },
  { shared: false, size: 2, backend: 'js' }, // the JS twins in the workers
] as const;
/** The pool's worker factory hook (internal: its declaration is stripped from dist/), typed by its source. */
const { startPool } = internals as unknown as typeof import('../src/pool/pool.js');
/** createPool's transport over a Worker of the test's choosing (internal too). */
const { workerTransport: transport } = nodeInternals as unknown as typeof import('../src/pool/node.js');
/** Cases of a shape: every row-wise function and its options (test/pool-cases.js). */
const CASES = cases(S, 1, 10, Float64Array).length;

/**
 * The pool reads the process's CPU time through process.cpuUsage(): this replaces it with a
 * clock that gives the process `cores()` cores, so each window's reading is exact whatever
 * the machine (undone by `mockRestore`).
 */
const fakeCpuClock = (cores: () => number) =>
  vi.spyOn(process, 'cpuUsage').mockImplementation(() => ({ user: Math.round(cores() * performance.now() * 1000), system: 0 }));

for (const mode of MODES) {
  const backend = 'backend' in mode ? mode.backend : undefined;
  describe(`pool: ${mode.shared ? 'shared memory' : 'transfers'}, ${mode.size} threads${backend ? `, backend ${backend}` : ''}`, () => {
    let pool: Pool;
    beforeAll(async () => {
      await S.init({ backend });
      // minElements 0 and yieldWhenBusy false: every call goes through the workers, however
      // small, and however busy the machine running the suite
      pool = await createPool({ size: mode.size, shared: mode.shared, minElements: 0, yieldWhenBusy: false });
      expect(pool.shared).toBe(mode.shared);
      expect(pool.backend).toBe(S.backend());
    });
    afterAll(() => pool.close());

    for (const [rows, cols] of NODE_SHAPES) {
      if (bigShape(rows, cols) && backend === 'js') continue;
      for (const Type of bigShape(rows, cols) ? [Float32Array] : [Float32Array, Float64Array]) {
        it(`${rows} × ${cols} ${Type.name}: every function equals the single call bit for bit, call after call`, async () => {
          const { checked, mismatches } = await checkShape(S, pool, rows, cols, Type, 2);
          expect(mismatches).toEqual([]);
          expect(checked).toBe(2 * CASES);
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

    // A float32 call writing its gradient into a Float64Array: the rows past FLT_MAX are
    // formed again in float64 by the plan's finish (plan.ts, `wideGradRows`), with the
    // arrays of the call's own options though the caller changes the options object while
    // the call is queued; ordinary values are the single call's on every backend.
    it('a float32 call\'s Float64Array gradient: the single call\'s bits, past FLT_MAX too, options object reused', async () => {
      const rows = 300, cols = 8, n = rows * cols;
      const x1 = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1e-30), x2 = Float32Array.from({ length: n }, (_, i) => Math.cos(i) * 1e-30);
      const huge = { cols, base: 1.0000000000000002, temperature: 1e-30 };
      const want1 = new Float64Array(n), want2 = new Float64Array(n);
      S.softmaxEntropy(x1, { ...huge, grad: want1 });
      S.softmaxEntropy(x2, { ...huge, grad: want2 });
      expect(want1.some((v) => Math.abs(v) > 3.5e38) && want1.every(Number.isFinite)).toBe(true);
      const g1 = new Float64Array(n), g2 = new Float64Array(n);
      const opts: { cols: number; base: number; temperature: number; grad?: Float64Array } = { ...huge, grad: g1 };
      const p1 = pool.softmaxEntropy(x1, opts);
      opts.grad = g2;
      const p2 = pool.softmaxEntropy(x2, opts);
      await Promise.all([p1, p2]);
      expect(sameBits(g1, want1)).toBe(true);
      expect(sameBits(g2, want2)).toBe(true);
      const z = randomLogits(n, rng(9), Float32Array), labels = Int32Array.from({ length: rows }, (_, i) => i % cols);
      const wantGrad = new Float64Array(n), grad = new Float64Array(n);
      const loss = S.softmaxCrossEntropy(z, labels, { cols, grad: wantGrad });
      expect(await pool.softmaxCrossEntropy(z, labels, { cols, grad })).toBe(loss);
      expect(sameBits(grad, wantGrad)).toBe(true);
    });

    // (the output is staged over its input only where nothing else reads that input: here the
    // logits are the targets too, read after the gradient's first pass on wide rows)
    it('one array as logits and targets, with a gradient: the single call\'s bits', async () => {
      for (const Type of [Float32Array, Float64Array]) {
        for (const cols of [10, 1000]) {
          const p = new Type(300 * cols).fill(1 / cols), want = new Type(p.length), grad = new Type(p.length);
          const loss = S.softmaxCrossEntropy(p, p, { cols, grad: want });
          expect(await pool.softmaxCrossEntropy(p, p, { cols, grad })).toBe(loss);
          expect(sameBits(grad, want), `${Type.name}, ${cols} columns`).toBe(true);
        }
      }
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

  it('rows too long to stage a chunk of (over 64 MiB a row) are computed once, on the calling thread: a base is applied once', async () => {
    await S.init();
    const pool = await createPool({ size: 2 });
    const n = 2 ** 24 + 16; // 64 MiB of float32, and a little more
    const counts = new Float32Array(n).fill(1);
    const want = S.entropy(counts, { cols: n, base: 2, normalize: true });
    expect(want[0]).toBeCloseTo(Math.log2(n), 9); // n equal counts: log₂ n bits
    expect(await pool.entropy(counts, { cols: n, base: 2, normalize: true })).toEqual(want);
    // two rows under 64 MiB, with an out as long (which the slot would hold staged over
    // them): a call the calling thread computes alone, as a single call does (streamed: its
    // window takes no whole row), which is no measure of the cores the pool's threads get
    // (see 'beside busy processes')
    const x = new Float32Array(2 * 9e6).fill(1), out = new Float32Array(x.length);
    const spy = fakeCpuClock(() => 1);
    try {
      for (const t0 = performance.now(); performance.now() - t0 < 500;) await pool.softmax(x, { cols: 9e6, out });
      expect(sameBits(out, S.softmax(x, { cols: 9e6 }) as Float32Array)).toBe(true);
      expect(pool.contended).toBe(false);
    } finally {
      spy.mockRestore();
      await pool.close();
    }
  });

  it('rows the single call streams (past its 32 MiB window, under a 64 MiB slot) are its bits: the calling thread computes them', async () => {
    await S.init();
    const pool = await createPool({ size: 2, minElements: 0, yieldWhenBusy: false });
    try {
      const cols = 5e6, x = randomLogits(2 * cols, rng(11), Float32Array), out = new Float32Array(x.length);
      await pool.softmax(x, { cols, out });
      expect(sameBits(out, S.softmax(x, { cols }) as Float32Array)).toBe(true);
      const labels = Int32Array.of(3, 7), grad = new Float32Array(x.length), want = new Float32Array(x.length);
      expect(await pool.softmaxCrossEntropy(x, labels, { cols, grad })).toBe(S.softmaxCrossEntropy(x, labels, { cols, grad: want }));
      expect(sameBits(grad, want)).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('the JS backend: shared: true is an error, and calls run in the workers', async () => {
    await S.init({ backend: 'js' });
    await expect(createPool({ size: 2, shared: true })).rejects.toThrow("createPool: shared: true needs a WebAssembly backend, not 'js'; leave shared out to get transfers");
    // each chunk is a message to a worker: count them
    let posts = 0;
    const pool = await startPool(() => {
      const t = transport(new Worker(new URL('../dist/pool/worker-node.js', import.meta.url)));
      return { ...t, post: (m, transfer) => (posts++, t.post(m, transfer)) };
    }, { size: 2, minElements: 0, yieldWhenBusy: false }, 2);
    try {
      expect([pool.backend, pool.shared]).toEqual(['js', false]);
      const setup = posts, x = randomLogits(64 * 10, rng(14), Float64Array);
      expect(sameBits(await pool.softmax(x, { cols: 10 }) as Float64Array, S.softmax(x, { cols: 10 }) as Float64Array)).toBe(true);
      expect(posts).toBeGreaterThan(setup);
    } finally {
      await pool.close();
      await S.init();
    }
  });

  it('a worker that dies fails the pool: every later call rejects, none hangs', async () => {
    await S.init();
    const x = randomLogits(400_000, rng(12), Float32Array);
    for (const shared of [true, false]) {
      const workers: Worker[] = [];
      const pool = await startPool(() => transport(workers[workers.push(new Worker(new URL('../dist/pool/worker-node.js', import.meta.url))) - 1]),
        { size: 3, shared, minElements: 0, yieldWhenBusy: false }, 3);
      expect(sameBits(await pool.softmax(x, { cols: 1000 }) as Float32Array, S.softmax(x, { cols: 1000 }) as Float32Array)).toBe(true);
      const call = pool.softmax(x, { cols: 1000 });
      await workers[0].terminate();
      // (a call that had all its chunks back before the exit was seen may still resolve)
      await call.catch(() => {});
      await expect(pool.softmax(x, { cols: 1000 })).rejects.toThrow(/^surprisal pool: a worker failed: surprisal pool worker exited \(code 1\)$/);
      await pool.close();
    }
  });

  it('a worker whose chunk throws fails the pool: the call waiting on that chunk and every later one reject', async () => {
    await S.init();
    const x = randomLogits(400_000, rng(13), Float32Array);
    const want = S.softmax(x, { cols: 1000 }) as Float32Array;
    for (const shared of [true, false]) {
      const pool = await startPool(() => transport(new Worker(new URL('./workers/faulty-pool-worker.mjs', import.meta.url))),
        { size: 2, shared, minElements: 0, yieldWhenBusy: false }, 2);
      // calls until the worker's third chunk (the calling thread may take every chunk of some calls)
      let error: unknown;
      for (let i = 0; i < 200 && error === undefined; i++) {
        const got = await pool.softmax(x, { cols: 1000 }).catch((e: unknown) => ((error = e), null));
        if (got) expect(sameBits(got as Float32Array, want)).toBe(true);
      }
      expect(String(error)).toMatch(/^Error: surprisal pool: a worker failed: RangeError: injected fault$/);
      await expect(pool.softmax(x, { cols: 1000 })).rejects.toThrow(/a worker failed: RangeError: injected fault$/);
      await pool.close();
    }
  });

  it('a worker that cannot start rejects createPool, and the workers already started are ended', async () => {
    await S.init();
    for (const shared of [true, false]) {
      let made = 0;
      const ended: number[] = [];
      const attempt = startPool(() => {
        const i = made++;
        if (i === 1) {
          // answers its setup with an error, as a worker whose module or memory fails does
          let answer: (m: unknown) => void = () => {};
          return { post: () => setTimeout(() => answer({ error: 'no memory' }), 5), listen: (on) => (answer = on), terminate: () => void ended.push(i) };
        }
        const t = transport(new Worker(new URL('../dist/pool/worker-node.js', import.meta.url)));
        return { ...t, terminate: () => (ended.push(i), t.terminate()) };
      }, { size: 3, shared, minElements: 0, yieldWhenBusy: false }, 3);
      await expect(attempt).rejects.toThrow('surprisal pool: a worker could not start: no memory');
      expect(ended.sort()).toEqual(Array.from({ length: made }, (_, i) => i));
    }
  });

  it('close() lets the calls already made finish, then rejects later ones', async () => {
    await S.init();
    const x = randomLogits(400_000, rng(14), Float32Array);
    for (const shared of [true, false]) {
      const pool = await createPool({ size: 2, shared, minElements: 0, yieldWhenBusy: false });
      const calls = [pool.softmax(x, { cols: 1000 }), pool.logSumExp(x, { cols: 1000 })];
      const closed = pool.close();
      await expect(pool.softmax(x, { cols: 1000 })).rejects.toThrow('surprisal pool: the pool is closed');
      const [p, l] = await Promise.all(calls);
      expect(sameBits(p as Float32Array, S.softmax(x, { cols: 1000 }) as Float32Array)).toBe(true);
      expect(sameBits(l, S.logSumExp(x, { cols: 1000 }) as Float64Array)).toBe(true);
      await closed;
      expect(pool.close()).toBe(closed);
    }
  });

  it('unknown options of createPool are TypeErrors naming the nearest', async () => {
    await expect(createPool({ sise: 2 } as never)).rejects.toThrow("createPool: unknown option 'sise' (did you mean 'size'?)");
  });
});

describe('pool: beside busy processes', () => {
  let cores = 1;
  const clock = () => fakeCpuClock(() => cores);
  afterEach(() => vi.restoreAllMocks());
  const rows = 200, cols = 100, x = randomLogits(rows * cols, rng(11), Float32Array);
  let want: Float32Array;
  beforeAll(async () => {
    await S.init();
    want = S.softmax(x, { cols });
  });
  /** Calls for `ms` of wall time (or until `stop`), each checked against the single call. */
  const callFor = async (pool: Pool, ms: number, stop = () => false) => {
    for (const t0 = performance.now(); performance.now() - t0 < ms && !stop();) {
      expect(sameBits(await pool.softmax(x, { cols }) as Float32Array, want)).toBe(true);
    }
  };

  it('threads given less than 1.2 cores in all: calls move to the calling thread, the same values; a second later they go back', async () => {
    const spy = clock();
    const pool = await createPool({ size: 2, minElements: 0 });
    try {
      cores = 2;
      await callFor(pool, 300);
      expect(pool.contended).toBe(false);
      cores = 1;
      await callFor(pool, 60_000, () => pool.contended); // two 100 ms windows of calls
      expect(pool.contended).toBe(true);
      // the calls run on this thread: the pool reads its clock only around calls its threads run
      const reads = spy.mock.calls.length;
      await callFor(pool, 100);
      expect(spy.mock.calls.length).toBe(reads);
      cores = 2;
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect(pool.contended).toBe(false);
      await callFor(pool, 300);
      expect(pool.contended).toBe(false);
    } finally {
      await pool.close();
    }
  });

  it('two windows under 1.2 cores with more than two seconds between them are not in a row', async () => {
    clock();
    const pool = await createPool({ size: 2, minElements: 0 });
    try {
      cores = 1;
      // 150 ms of calls: one 100 ms window of the pool's own time in them, never two
      await callFor(pool, 150);
      expect(pool.contended).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 2100));
      await callFor(pool, 150); // one window again: the first of a new row
      expect(pool.contended).toBe(false);
      await callFor(pool, 60_000, () => pool.contended); // the second in a row
      expect(pool.contended).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('yieldWhenBusy: false keeps every call on the pool; a value that is not a boolean is a TypeError', async () => {
    clock();
    cores = 1;
    const pool = await createPool({ size: 2, minElements: 0, yieldWhenBusy: false });
    try {
      await callFor(pool, 300);
      expect(pool.contended).toBe(false);
    } finally {
      await pool.close();
    }
    await expect(createPool({ yieldWhenBusy: 1 } as never)).rejects.toThrow('createPool: yieldWhenBusy must be a boolean, got number 1');
  });

  it('a pool of another build than this thread\'s keeps its calls, whose values are its build\'s; so do transfers', async () => {
    clock();
    cores = 1;
    const other = S.supported().find((b) => b !== S.backend());
    const pools = [await createPool({ size: 2, minElements: 0, shared: false })];
    if (other) pools.push(await createPool({ size: 2, minElements: 0, backend: other }));
    try {
      for (const pool of pools) {
        for (const t0 = performance.now(); performance.now() - t0 < 300;) await pool.softmax(x, { cols });
        expect(pool.contended).toBe(false);
      }
    } finally {
      for (const pool of pools) await pool.close();
    }
  });
});

// surprisal/pool in Node (worker_threads): every row-wise function gives exactly the
// single-thread result — workers computing in WebAssembly memories shared with the
// calling thread, through SharedArrayBuffers, and through transfers; errors arrive as the
// same TypeError/RangeError; small calls stay on the calling thread.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as S from '../dist/index.js';
import { createPool, type Pool } from '../dist/pool/node.js';
import { rebalance, startPool, type Transport } from '../dist/pool/pool.js';
import { randomDistribution, randomLogits, rng, sameBits } from './helpers.js';

const random = rng(2024);
const rows = 600, cols = 250, n = rows * cols;
const logits = randomLogits(n, random, Float32Array, 4);
const logits64 = randomLogits(n, random, Float64Array, 4);
const P = new Float64Array(n), Q = new Float64Array(n);
for (let r = 0; r < rows; r++) {
  P.set(randomDistribution(cols, random, Float64Array), r * cols);
  Q.set(randomDistribution(cols, random, Float64Array), r * cols);
}
const labels = Int32Array.from({ length: rows }, (_, i) => (i * 31) % cols);

// shared: the calling thread computes a block and size − 1 workers the others; spin: the
// workers poll for the next call (and take it through their doorbells), or sleep
for (const [shared, size, inMemory, spin] of [[true, 2, true, 5], [true, 3, true, 5], [true, 2, true, 0], [true, 2, false, 5], [false, 2, false, 5]] as const) {
  describe(`createPool (size ${size}, ${inMemory ? 'shared WebAssembly memory' : shared ? 'SharedArrayBuffer' : 'transfers'}, spin ${spin})`, () => {
    let pool: Pool;
    beforeAll(async () => {
      await S.init();
      pool = await createPool({ size, shared, inMemory, spin });
      expect(pool.shared).toBe(shared);
      expect(pool.inMemory).toBe(inMemory);
      expect(pool.backend).toBe('wasm-simd');
    });
    afterAll(() => pool.close());

    it('maps and reductions equal the single-thread calls, bit for bit', async () => {
      const c = { cols };
      expect(await pool.softmax(logits, c)).toEqual(S.softmax(logits, c));
      expect(await pool.logSoftmax(logits64, { cols, temperature: 3 })).toEqual(S.logSoftmax(logits64, { cols, temperature: 3 }));
      expect(await pool.logSumExp(logits, c)).toEqual(S.logSumExp(logits, c));
      expect(await pool.softmaxEntropy(logits64, { cols, base: 2 })).toEqual(S.softmaxEntropy(logits64, { cols, base: 2 }));
      expect(await pool.softmaxKlDivergence(logits, logits64, c)).toEqual(S.softmaxKlDivergence(logits, logits64, c));
      expect(await pool.entropy(P, c)).toEqual(S.entropy(P, c));
      expect(await pool.crossEntropy(P, Q, c)).toEqual(S.crossEntropy(P, Q, c));
      expect(await pool.klDivergence(P, Q, { cols, normalize: true })).toEqual(S.klDivergence(P, Q, { cols, normalize: true }));
      expect(await pool.jsDivergence(Float32Array.from(P), Float32Array.from(Q), c)).toEqual(S.jsDivergence(Float32Array.from(P), Float32Array.from(Q), c));
    });

    it('softmaxCrossEntropy: loss and gradient equal the single-thread call, every reduction', async () => {
      for (const extra of [{}, { reduction: 'sum' as const }, { reduction: 'none' as const }, { labelSmoothing: 0.1, weights: Float64Array.from({ length: cols }, (_, i) => 1 + (i % 3)) }, { ignoreIndex: 7 }]) {
        const g1 = new Float32Array(n), g2 = new Float32Array(n);
        const want = S.softmaxCrossEntropy(logits, labels, { cols, grad: g1, ...extra });
        const got = await pool.softmaxCrossEntropy(logits, labels, { cols, grad: g2, ...extra });
        expect(got).toEqual(want);
        expect(g2).toEqual(g1);
      }
      // labels of any type (int32 go to the workers as they are, others as float64)
      const want = S.softmaxCrossEntropy(logits, labels, { cols, reduction: 'none' });
      for (const y of [Array.from(labels), Uint32Array.from(labels), Float32Array.from(labels)]) {
        expect(await pool.softmaxCrossEntropy(logits, y, { cols, reduction: 'none' })).toEqual(want);
      }
      const probs = Float32Array.from(P);
      expect(await pool.softmaxCrossEntropy(logits, probs, { cols })).toBe(S.softmaxCrossEntropy(logits, probs, { cols }));
    });

    it('writes into out when given', async () => {
      const out = new Float32Array(n);
      const r = await pool.softmax(logits, { cols, out });
      expect(r).toBe(out);
      expect(out).toEqual(S.softmax(logits, { cols }));
    });

    it('errors arrive as the same TypeError / RangeError, with the whole call\'s row numbers', async () => {
      const bad = P.slice();
      bad[5 * cols + 3] = -0.5;
      await expect(pool.entropy(bad, { cols })).rejects.toThrow(new RangeError(`entropy: p[${5 * cols + 3}] (row 5, entry 3) is -0.5; probabilities must be non-negative`));
      // a fault in the last rows: in a worker's last piece of input
      const late = P.slice();
      late[n - 2] = Number.NaN;
      await expect(pool.crossEntropy(Q, late, { cols })).rejects.toThrow(new RangeError(`crossEntropy: q[${n - 2}] (row ${rows - 1}, entry ${cols - 2}) is NaN; probabilities must be finite`));
      await expect(pool.softmaxCrossEntropy(logits, labels.map(() => cols), { cols })).rejects.toThrow(RangeError);
      await expect(pool.softmax(logits, { cols: 7 })).rejects.toThrow(RangeError);
      await expect(pool.softmax('x' as unknown as number[], { cols })).rejects.toThrow(TypeError);
      // and the pool still works
      expect(await pool.logSumExp(logits, { cols })).toEqual(S.logSumExp(logits, { cols }));
    });

    it('concurrent calls queue up and each gets its own answer', async () => {
      const a = pool.softmax(logits, { cols });
      const b = pool.logSumExp(logits64, { cols });
      const c = pool.softmaxCrossEntropy(logits, labels, { cols });
      expect(await a).toEqual(S.softmax(logits, { cols }));
      expect(await b).toEqual(S.logSumExp(logits64, { cols }));
      expect(await c).toBe(S.softmaxCrossEntropy(logits, labels, { cols }));
    });

    it('a new map result is an ordinary array of its own, and stays exact while the split between threads moves', async () => {
      const want = S.softmax(logits, { cols });
      // two label sets in turn: a call that went on before a worker had really finished
      // (it reads the workers' "done" flags) would return the other set's rows
      const labels2 = labels.map((y) => (y * 7 + 3) % cols);
      const wantLoss = [labels, labels2].map((y) => S.softmaxCrossEntropy(logits, y, { cols, reduction: 'none' }));
      for (let call = 0; call < 12; call++) {
        const r = await pool.softmax(logits, { cols });
        // nothing of the call is still held, waiting for a reply (a loop of awaited calls
        // handles messages only now and then: the waits held every result until then)
        expect((pool as unknown as { pending: Map<number, unknown> }).pending.size).toBe(0);
        expect(r.buffer instanceof SharedArrayBuffer).toBe(false);
        expect(r.buffer.byteLength).toBe(n * 4);
        expect(r).toEqual(want);
        expect(await pool.softmaxCrossEntropy(logits, call % 2 ? labels2 : labels, { cols, reduction: 'none' })).toEqual(wantLoss[call % 2]);
        expect(await pool.logSumExp(call % 2 ? logits64 : logits, { cols })).toEqual(S.logSumExp(call % 2 ? logits64 : logits, { cols }));
      }
    });

    it('calls growing from 300 to 2400 rows (each worker\'s window, and memory, grows) stay exact, computed by the workers', async () => {
      for (const r of [300, 1200, 2400, 600]) {
        const x = randomLogits(r * cols, random, Float32Array, 4);
        const y = Int32Array.from({ length: r }, (_, i) => (i * 13) % cols);
        const g1 = new Float32Array(r * cols), g2 = new Float32Array(r * cols);
        expect(sameBits(await pool.softmax(x, { cols }), S.softmax(x, { cols }))).toBe(true);
        expect(pool.lastSplit.length).toBe(shared ? size : size + 1); // the calling thread (none in transfer mode) and each worker
        expect(pool.lastSplit.slice(1).every((rows) => rows > 0)).toBe(true);
        expect(await pool.softmaxCrossEntropy(x, y, { cols, grad: g2 })).toBe(S.softmaxCrossEntropy(x, y, { cols, grad: g1 }));
        expect(sameBits(g2, g1)).toBe(true);
        expect(pool.lastSplit.reduce((a, b) => a + b)).toBe(r);
      }
    });

    it('back-to-back calls, each rung the moment the last is done, stay exact', async () => {
      // small calls (minElements 1) follow each other within ~30 µs: a worker polling its
      // doorbell gets the next request while it is still posting the last reply
      const quick = await createPool({ size, shared, inMemory, spin, minElements: 1 });
      try {
        const x = logits.subarray(0, 8 * cols), y = labels.subarray(0, 8);
        const want = S.softmaxCrossEntropy(x, y, { cols, reduction: 'none' }), wantMap = S.softmax(x, { cols });
        for (let call = 0; call < 400; call++) {
          expect(await quick.softmaxCrossEntropy(x, y, { cols, reduction: 'none' })).toEqual(want);
          if (call % 40 === 0) expect(await quick.softmax(x, { cols })).toEqual(wantMap);
        }
        // the doorbell is used exactly where the workers poll (the rows in their memories, or
        // in scratch buffers they hold)
        if (shared && spin > 0) expect(quick.rung).toBeGreaterThan(300);
        else expect(quick.rung).toBe(0);
      } finally {
        await quick.close();
      }
    }, 30_000);

    it('a call that cannot be rung (rows in a SharedArrayBuffer new to the workers) reaches a worker polling its doorbell at once', async () => {
      // the worker polls for 1 s after each call: a message posted to it meanwhile would
      // wait out the second, unless the worker is first rung back to its event loop
      const patient = await createPool({ size, shared, inMemory, spin: 1000 });
      try {
        const want = S.softmaxCrossEntropy(logits, labels, { cols });
        await patient.softmaxCrossEntropy(logits, labels, { cols }); // now polling
        const t0 = performance.now();
        for (let call = 0; call < 4; call++) {
          const x = new Float32Array(new SharedArrayBuffer(4 * n));
          x.set(logits);
          expect(await patient.softmaxCrossEntropy(x, labels, { cols })).toBe(want);
          expect(await patient.softmaxCrossEntropy(logits, labels, { cols })).toBe(want);
        }
        expect(performance.now() - t0).toBeLessThan(2000); // (4 s or more, if the posts waited)
      } finally {
        await patient.close();
      }
    }, 30_000);

    it('rows and results in SharedArrayBuffers are read and written where they are, exactly, and rung once the workers hold the buffers', async () => {
      const x = pool.array(Float32Array, n), out = pool.array(Float32Array, n), grad = pool.array(Float32Array, n);
      x.set(logits);
      expect([x, out, grad].every((a) => a.buffer instanceof SharedArrayBuffer)).toBe(shared); // else ordinary arrays
      const wantMap = S.softmax(logits, { cols }), g1 = new Float32Array(n);
      const wantLoss = S.softmaxCrossEntropy(logits, labels, { cols, grad: g1 });
      for (let call = 0; call < 6; call++) {
        out.fill(0);
        grad.fill(0);
        expect(await pool.softmax(x, { cols, out })).toBe(out);
        expect(sameBits(out, wantMap)).toBe(true);
        expect(await pool.softmaxCrossEntropy(x, labels, { cols, grad })).toBe(wantLoss);
        expect(sameBits(grad, g1)).toBe(true);
      }
      // more buffers than a worker holds (BUFFERS = 8), two new ones to a call: each call
      // names its own, whichever places the others had
      const many = Array.from({ length: 11 }, (_, i) => {
        const a = pool.array(Float64Array, n);
        a.set(P.map((p) => p * (1 + i / 16)));
        return a;
      });
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < many.length; i++) {
          const q = many[(i * 5 + round) % many.length];
          expect(await pool.crossEntropy(many[i], q, { cols, normalize: true })).toEqual(S.crossEntropy(many[i], q, { cols, normalize: true }));
        }
      }
      const rung = pool.rung;
      for (let call = 0; call < 20; call++) await pool.softmax(x, { cols, out });
      if (shared && spin > 0) expect(pool.rung - rung).toBeGreaterThan(10);
      else expect(pool.rung).toBe(rung);
    });

    it('pool.array: zeroed float arrays of the length asked, wrong arguments refused', () => {
      const a = pool.array(Float64Array, 5);
      expect(a).toBeInstanceOf(Float64Array);
      expect(Array.from(a)).toEqual([0, 0, 0, 0, 0]);
      expect(pool.array(Float32Array, 0).length).toBe(0);
      expect(() => pool.array(Float32Array, 2.5)).toThrow(new RangeError('pool.array: length must be a non-negative integer, got 2.5'));
      expect(() => pool.array(Float32Array, -1)).toThrow(RangeError);
      expect(() => pool.array(Int32Array as unknown as Float32ArrayConstructor, 4)).toThrow(new TypeError('pool.array: Type must be Float32Array or Float64Array'));
    });

    it('small calls run on the calling thread with the same result', async () => {
      const x = logits.subarray(0, 10 * cols);
      expect(await pool.softmax(x, { cols })).toEqual(S.softmax(x, { cols }));
    });
  });
}

describe('the shared-memory mode needs the SIMD build', () => {
  it('a pool on the scalar build moves rows through SharedArrayBuffers, with the same results', async () => {
    const pool = await createPool({ size: 2, backend: 'wasm' });
    try {
      expect(pool.backend).toBe('wasm');
      expect(pool.shared).toBe(true);
      expect(pool.inMemory).toBe(false);
      await S.init({ backend: 'wasm' });
      expect(await pool.softmax(logits, { cols })).toEqual(S.softmax(logits, { cols }));
    } finally {
      await S.init();
      await pool.close();
    }
  });
});

describe('a pool whose worker lags far behind', () => {
  it('neither waits for it nor is corrupted by it: the calling thread computes the pieces it has not claimed', async () => {
    // a real worker (shared WebAssembly memory), but each call's request reaches it only
    // when the next call's is sent, as if its thread had lost its core: the calling thread
    // finishes each call alone, and the late request, arriving in the middle of the next
    // call, must leave that call alone
    const { Worker } = await import('node:worker_threads');
    const make = (backend: string, memory: boolean): Transport => {
      const w = new Worker(new URL('../dist/pool/worker-node.js', import.meta.url), { workerData: { backend, memory } });
      let late: Parameters<Transport['post']> | null = null;
      return {
        post: (m, transfer) => {
          if (!m.signal) return w.postMessage(m, transfer);
          if (late) w.postMessage(...late);
          late = [m, transfer];
        },
        listen: (onReply, onError) => {
          w.on('message', onReply);
          w.on('error', onError);
        },
        terminate: () => w.terminate(),
      };
    };
    const pool = await startPool(make, { size: 2, spin: 0, minElements: 1 }, 2);
    try {
      expect(pool.inMemory).toBe(true);
      const labels2 = labels.map((y) => (y * 7 + 3) % cols);
      const want = S.softmax(logits, { cols }), g1 = new Float32Array(n), g2 = new Float32Array(n);
      const wantLoss = [labels, labels2].map((y) => S.softmaxCrossEntropy(logits, y, { cols, reduction: 'none' }));
      const wantGrad = S.softmaxCrossEntropy(logits, labels, { cols, grad: g1 });
      const t0 = performance.now();
      for (let call = 0; call < 12; call++) {
        expect(sameBits(await pool.softmax(logits, { cols }), want)).toBe(true);
        expect(await pool.softmaxCrossEntropy(logits, call % 2 ? labels2 : labels, { cols, reduction: 'none' })).toEqual(wantLoss[call % 2]);
        g2.fill(0);
        expect(await pool.softmaxCrossEntropy(logits, labels, { cols, grad: g2 })).toBe(wantGrad);
        expect(sameBits(g2, g1)).toBe(true);
      }
      // (36 calls that each waited for the worker would never end)
      expect(performance.now() - t0).toBeLessThan(2000);
    } finally {
      await pool.close();
    }
  }, 20_000);
});

describe('a pool whose worker fails', () => {
  it('the call it was part of is finished on the calling thread; every later call rejects at once, with what went wrong', async () => {
    // a stand-in worker: loads, then fails (an uncaught error, or its thread gone) on its
    // first call, and is silent after, as a dead thread is
    const errors: ((e: Error) => void)[] = [];
    let dead = false;
    const make = (): Transport => ({
      post: (m) => {
        if (m.doorbell || dead) return;
        dead = true;
        setTimeout(() => errors.forEach((e) => e(new Error('worker gone'))), 5);
      },
      listen: (onReply, onError) => {
        errors.push(onError);
        queueMicrotask(() => onReply({ id: 0, ready: 'wasm-simd' }));
      },
      terminate: () => undefined,
    });
    const pool = await startPool(make, { size: 2, minElements: 1 }, 2);
    // (shared memory: the worker never claims a piece of its block, so the calling thread
    // computes them all, 1 ms into the call; the failure is reported 5 ms after the request)
    expect(sameBits(await pool.softmax(logits, { cols }), S.softmax(logits, { cols }))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const t0 = performance.now();
    await expect(pool.softmax(logits, { cols })).rejects.toThrow('surprisal pool: a worker failed (worker gone); close this pool and create another');
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(await S.softmax(logits, { cols })).toBeInstanceOf(Float32Array); // the single-thread functions are untouched
    await pool.close();
  });

  it('a Node worker that exits is a failed worker', async () => {
    const pool = await createPool({ size: 2 });
    await (pool as unknown as { workers: Transport[] }).workers[0].terminate(); // as if its thread had gone
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(pool.softmax(logits, { cols })).rejects.toThrow(/surprisal pool: a worker failed \(surprisal pool worker exited \(code \d+\)\)/);
    await pool.close();
  });
});

describe('a pool left open', () => {
  it('does not keep the process alive once its calls are answered (a worker polling or not)', () => {
    for (const spin of [0, 1000]) {
      const script = `
        import { createPool } from ${JSON.stringify(new URL('../dist/pool/node.js', import.meta.url).href)};
        const pool = await createPool({ size: 2, spin: ${spin} });
        const x = new Float32Array(300 * 1000).map((_, i) => Math.sin(i));
        const r = await pool.softmax(x, { cols: 1000 });
        console.log('answered', r.length);`;
      const file = join(mkdtempSync(join(tmpdir(), 'surprisal-')), 'open-pool.mjs');
      writeFileSync(file, script);
      const child = spawnSync(process.execPath, [file], { timeout: 20_000, encoding: 'utf8' });
      rmSync(dirname(file), { recursive: true });
      expect(child.stdout.trim(), child.stderr).toBe('answered 300000');
      expect(child.status, `spin ${spin}: ${child.error?.message ?? child.stderr}`).toBe(0); // (killed by the timeout: null)
    }
  }, 60_000);
});

describe('close', () => {
  it('rejects later calls', async () => {
    const pool = await createPool({ size: 1 });
    await pool.close();
    await expect(pool.softmax(logits, { cols })).rejects.toThrow(/closed/);
    await expect(createPool({ size: 0 })).rejects.toThrow(RangeError);
    await expect(createPool({ spin: -1 })).rejects.toThrow(/spin must be a number of ms in \[0, 1000\], got -1/);
    await expect(createPool({ spin: NaN })).rejects.toThrow(RangeError);
  });
});

describe('rebalance (the calling thread\'s share of the rows)', () => {
  const block = (rows: number, t0: number, t1: number) => ({ rows, busy: [t0, t1] as [number, number] });
  it('stays put when both finish together', () => {
    expect(rebalance(0.5, 1000, block(500, 0, 10), [block(500, 0, 10)])).toBe(0.5);
  });
  it('moves half the way to the balanced split', () => {
    // caller 0.02 ms/row finishing at 12, worker 0.02 ms/row finishing at 10: 50 rows would balance, 25 are moved
    expect(rebalance(0.6, 1000, block(600, 0, 12), [block(400, 2, 10)])).toBeCloseTo(0.575, 12);
    // the other way, with two workers (0.01 ms/row everywhere): the caller taking x rows from
    // them finishes x·0.01 later, each worker x·0.01/2 sooner — x = 2/0.015 balances
    expect(rebalance(0.2, 1000, block(200, 0, 2), [block(400, 0, 4), block(400, 0, 4)])).toBeCloseTo(0.2 + (0.5 * 2) / 0.015 / 1000, 12);
  });
  it('stays within [0.1, 0.9], and ignores a timing it cannot use', () => {
    expect(rebalance(0.15, 1000, block(500, 0, 1000), [block(500, 0, 1)])).toBe(0.1);
    expect(rebalance(0.85, 1000, block(500, 0, 1), [block(500, 0, 1000)])).toBe(0.9);
    expect(rebalance(0.4, 1000, block(400, 0, NaN), [block(600, 0, 1)])).toBe(0.4);
  });
  it('moves at most `step` of the rows in one call (one slow call, a GC pause say, moves it little)', () => {
    // the worker took 5 ms for what takes about 1: the unbounded step hands the caller 0.45 → 0.63
    expect(rebalance(0.45, 1000, block(450, 0, 1), [block(550, 0, 5)])).toBeCloseTo(0.45 + (0.5 * 4) / (1 / 450 + 5 / 550) / 1000, 12);
    expect(rebalance(0.45, 1000, block(450, 0, 1), [block(550, 0, 5)], 0, 0.03)).toBeCloseTo(0.48, 12);
    expect(rebalance(0.45, 1000, block(450, 0, 5), [block(550, 0, 1)], 0, 0.03)).toBeCloseTo(0.42, 12);
    // a small move is taken whole
    expect(rebalance(0.6, 1000, block(600, 0, 12), [block(400, 2, 10)], 0, 0.03)).toBeCloseTo(0.575, 12);
  });
  it('with a margin, aims for the workers to finish that much earlier', () => {
    // both finish at 10, 0.02 ms/row each, margin 1 ms: 25 rows would do it, half of them move
    expect(rebalance(0.5, 1000, block(500, 0, 10), [block(500, 0, 10)], 1)).toBeCloseTo(0.5 + 12.5 / 1000, 12);
  });
});

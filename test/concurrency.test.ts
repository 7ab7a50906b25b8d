// Concurrency: init() raced from many places resolves to one backend (the fastest build
// this engine runs) and compiles each binary once (and when calls ask for different
// backends, the latest call wins); calls made while init() is pending run on JS with the
// same answers; many worker_threads using the built package at once, on every backend this
// engine supports (each with its own module and memory, reading one shared input, writing
// disjoint rows of one shared output) give the main thread's answers bit for bit; and what
// can and cannot cross a thread boundary.
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it, vi } from 'vitest';
import * as src from '../src/index.js';
import * as dist from '../dist/index.js';
import { supported } from '../src/backend.js';
import { expectClose, ref } from './helpers.js';
// @ts-expect-error: plain ESM helpers shared with the workers (no types)
import { battery, makeInputs } from './workers/battery.mjs';

type Results = Record<string, number[]>;

/** The build init() picks here: wasm-relaxed where relaxed SIMD validates (Node ≥ 22), else wasm-simd. */
const BEST = supported()[0];

function sameBits(a: Results, b: Results): string | null {
  for (const k of Object.keys(a)) {
    if (!b[k]) return `${k} missing`;
    if (a[k].length !== b[k].length) return `${k}: length ${a[k].length} vs ${b[k].length}`;
    for (let i = 0; i < a[k].length; i++) if (!Object.is(a[k][i], b[k][i])) return `${k}[${i}]: ${a[k][i]} vs ${b[k][i]}`;
  }
  return Object.keys(b).length === Object.keys(a).length ? null : 'different keys';
}

describe('init() raced from many places (src, a fresh module)', () => {
  const compile = vi.spyOn(WebAssembly, 'compile');
  afterAll(() => compile.mockRestore());
  /** Compilations of surprisal binaries (Node compiles its own wasm too, e.g. undici's llhttp). */
  const compiled = async () => {
    const modules = await Promise.all(compile.mock.results.map((r) => Promise.resolve(r.value).catch(() => null)));
    return modules.filter((m) => m && WebAssembly.Module.exports(m).some((e) => e.name === 'entropyRowsF32')).length;
  };

  it('many concurrent init() calls resolve once, to one backend, compiling its binary once; calls before resolution run on JS, right', async () => {
    expect(src.backend()).toBe('js');
    const p = [0.9, 0.05, 0.025, 0.025];
    const pending: Promise<string>[] = [];
    const during: number[] = [];
    for (let i = 0; i < 50; i++) {
      pending.push(src.init());
      // synchronous calls while init() is pending: the JS path, same answers
      during.push(src.entropy(p, { base: 2 }));
      expect(src.backend()).toBe('js');
    }
    // and from other places: microtasks, timers, a promise chain
    pending.push(Promise.resolve().then(() => src.init()));
    pending.push(new Promise((resolve) => setTimeout(() => resolve(src.init()), 0)));
    pending.push(Promise.all([src.init(), src.init()]).then(([a]) => a));
    const softmaxDuring = src.softmax(new Float64Array([1, 2, 3]));
    const resolved = await Promise.all(pending);
    expect(new Set(resolved)).toEqual(new Set([BEST]));
    expect(src.backend()).toBe(BEST);
    expect(await compiled()).toBe(1);
    const want = ref.entropy(p) / Math.LN2;
    for (const h of during) expect(Math.abs(h - want)).toBeLessThan(1e-15);
    const e = [1, 2, 3].map((v) => Math.exp(v - 3));
    const s = e[0] + e[1] + e[2];
    expect(Array.from(softmaxDuring).map((v, i) => Math.abs(v - e[i] / s) < 1e-15)).toEqual([true, true, true]);
    // after resolution: the same answers on the wasm backend (within the SPEC)
    expect(Math.abs(src.entropy(p, { base: 2 }) - want)).toBeLessThan(1e-15);
    // again, later: idempotent, nothing compiled
    expect(await src.init()).toBe(BEST);
    expect(await compiled()).toBe(1);
  });

  it("racing calls for different backends: each binary compiled once, the latest call's backend wins", async () => {
    const scalar = Array.from({ length: 20 }, () => src.init({ backend: 'wasm' }));
    const last = src.init({ backend: BEST }); // called last: it wins
    expect(await Promise.all(scalar)).toEqual(Array(20).fill('wasm'));
    expect(await last).toBe(BEST);
    expect(src.backend()).toBe(BEST);
    expect(await compiled()).toBe(2); // + the scalar build, once

    // js is immediate, wasm is not: whichever was called last wins, not whichever resolved last
    const slow = src.init({ backend: 'wasm' });
    const fast = src.init({ backend: 'js' });
    await Promise.all([slow, fast]);
    expect(src.backend()).toBe('js');
    const a = src.init({ backend: 'js' });
    const b = src.init({ backend: 'wasm' });
    await Promise.all([a, b]);
    expect(src.backend()).toBe('wasm');
    const order = await Promise.all([src.init({ backend: 'wasm' }), src.init({ backend: 'js' }), src.init()]);
    expect(order).toEqual(['wasm', 'js', BEST]);
    expect(src.backend()).toBe(BEST);
    expect(await compiled()).toBe(2);
  });

  it('a rejected init() (bad backend) does not disturb concurrent good ones', async () => {
    const results = await Promise.allSettled([src.init(), src.init({ backend: 'gpu' as never }), src.init()]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: BEST });
    expect(results[1].status).toBe('rejected');
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(RangeError);
    expect(results[2]).toEqual({ status: 'fulfilled', value: BEST });
    expect(src.backend()).toBe(BEST);
  });
});

describe('worker_threads using the built package at once', () => {
  /** Every backend this engine runs (the workers' engine is the main thread's). */
  const BACKENDS = [...supported(), 'js'] as const;
  const WORKERS = 8;
  const cols = 100;

  function startAll() {
    const gate = new Int32Array(new SharedArrayBuffer(8));
    // one input every worker reads, one output whose rows the workers split between them
    const x = new Float32Array(new SharedArrayBuffer(4 * WORKERS * 8 * cols));
    const inputs = makeInputs(4242, x.length / cols, cols);
    x.set(inputs.x32);
    const out = new Float32Array(new SharedArrayBuffer(4 * x.length)).fill(NaN);
    const replies = Array.from({ length: WORKERS }, (_, index) => new Promise<Record<string, unknown>>((resolve, reject) => {
      const w = new Worker(new URL('./workers/concurrent.mjs', import.meta.url), {
        workerData: { backend: BACKENDS[index % BACKENDS.length], seed: 1000 + index, rounds: 10, gate, workers: WORKERS, shared: { x, out, cols, index } },
      });
      w.once('message', (m) => {
        resolve(m);
        void w.terminate();
      });
      w.once('error', reject);
      w.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`worker ${index} exited with ${code}`))));
    }));
    return { gate, x, out, replies };
  }

  it(`${WORKERS} workers (every backend) racing init() and computing at the same moment give the main thread's answers bit for bit`, async () => {
    const { gate, x, out, replies } = startAll();
    // open the gate once every worker has loaded and initialised
    const t0 = Date.now();
    while (Atomics.load(gate, 0) < WORKERS) {
      if (Date.now() - t0 > 30_000) throw new Error(`only ${Atomics.load(gate, 0)} workers reached the gate`);
      await new Promise((r) => setTimeout(r, 5));
    }
    Atomics.store(gate, 1, 1);
    Atomics.notify(gate, 1);
    const got = await Promise.all(replies);

    const rowsEach = x.length / cols / WORKERS;
    for (const backend of BACKENDS) {
      await dist.init({ backend });
      const wholeSoftmax = dist.softmax(x, { cols });
      const wholeLse = Array.from(dist.logSumExp(x, { cols }));
      for (let i = 0; i < WORKERS; i++) {
        if (BACKENDS[i % BACKENDS.length] !== backend) continue;
        const r = got[i] as { backend: string; inits: string[]; results: Results; mismatches: number; sharedLse: number[] };
        expect(r.backend, `worker ${i}`).toBe(backend);
        expect(r.inits, `worker ${i}`).toEqual(Array(4).fill(backend));
        expect(r.mismatches, `worker ${i}: rounds that differed from its first`).toBe(0);
        const mine = battery(dist, makeInputs(1000 + i)) as Results;
        expect(sameBits(r.results, mine), `worker ${i} (${backend}) vs the main thread`).toBeNull();
        expect(sameBits({ lse: r.sharedLse }, { lse: wholeLse }), `worker ${i}: logSumExp of the shared input`).toBeNull();
        const lo = i * rowsEach * cols, hi = (i + 1) * rowsEach * cols;
        expect(sameBits({ rows: Array.from(out.subarray(lo, hi)) }, { rows: Array.from(wholeSoftmax.subarray(lo, hi)) }), `worker ${i}: its rows of the shared output`).toBeNull();
      }
    }
    await dist.init();
  });

  it('what crosses a thread boundary: a WasmArray does not (DataCloneError); its view is copied with all of the module memory; the memory is never detached', async () => {
    await dist.init();
    const w = dist.allocate(Float32Array, 16);
    w.array.fill(2);
    expect(() => structuredClone(w)).toThrow(/could not be cloned/);
    const copy = structuredClone(w.array);
    expect(Array.from(copy)).toEqual(Array(16).fill(2));
    expect(copy.buffer.byteLength).toBe(w.array.buffer.byteLength); // the whole memory, not 64 bytes
    // "transferring" the memory's buffer never detaches it (a WebAssembly.Memory buffer cannot
    // be detached): Node 20 copies it, Node 22+ refuses with a DataCloneError
    let moved: Float32Array | null = null;
    try {
      moved = structuredClone(w.array, { transfer: [w.array.buffer] });
    } catch (e) {
      expect((e as Error).name).toBe('DataCloneError');
    }
    if (moved) expect(moved[0]).toBe(2);
    expect(w.live).toBe(true);
    expect(w.array.length).toBe(16);
    expectClose(dist.logSumExp(w), 2 + Math.log(16), 'f32', undefined, 'logSumExp of the WasmArray'); // float32: the float32 bound
    // .slice() is the cheap way to send the values
    expect(structuredClone(w.array.slice()).buffer.byteLength).toBe(64);
    w.free();
  });
});

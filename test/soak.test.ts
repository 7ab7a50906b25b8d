// Soak: a long run of calls of random sizes, dtypes and options (with WasmArrays as
// inputs and outputs) on the fastest wasm backend, through a staging window of 1 MiB
// (init({ window })): inputs up to 800 kB a array, so the larger calls stream through the
// window in blocks and segments.  The module's memory stays bounded — by what the largest
// calls need, and never past the window plus the WasmArrays live at once; zero-copy buffers
// are released (by free(), and when garbage-collected); and every answer along the way is
// right.  SOAK_CALLS sets the number of calls (CI: 20 000; the full soak of issue 5 is
// SOAK_CALLS=1000000, a few minutes).
//
// The memory bugs found on the way (fixed in fed0267) come first, as regression tests: they
// need a module whose memory has not grown yet.
import v8 from 'node:v8';
import vm from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  allocate, entropy, information, init, klDivergence, logSoftmax, logSumExp, softmax,
  softmaxCrossEntropy, softmaxEntropy, type WasmArray,
} from '../src/index.js';
import * as lib from '../src/index.js';
import { currentEngine, inlined, setSmallInputCutoff, supported } from '../src/backend.js';
import type { WasmEngine } from '../src/engine.js';
import { align } from '../src/memory.js';
import { expectClose, fsum, randomDistribution, randomLogits, rng } from './helpers.js';

const CALLS = Number(process.env.SOAK_CALLS ?? 20_000);
/** The functions, typed loosely: the random calls pass `cols: number | undefined`, which neither overload takes. */
const F = lib as unknown as Record<string, (...args: unknown[]) => number | Float64Array | Float32Array>;
const alloc = (kind: 'f32' | 'f64' | 'array', n: number): WasmArray => (kind === 'f32' ? allocate(Float32Array, n) : allocate(Float64Array, n));
const NMAX = 100_000; // the largest input of the run
const heap = () => (currentEngine() as WasmEngine).heap;
const memoryBytes = () => heap().memory.buffer.byteLength;
/** The fastest build this engine runs (what init() picks). */
const BACKEND = supported()[0];
const WINDOW = 1 << 20;

beforeAll(async () => {
  await init({ backend: BACKEND });
  setSmallInputCutoff(0); // the kernels (and the window) at every length
});

describe('regressions: calls that grow memory, and views into it (run while memory is small)', () => {
  // BUG-5: a view into the module's memory outside any live WasmArray (here: of a freed one)
  // is promised to be "copied first, never trusted", but each input was read only when its
  // turn came in Staging.commit(): the arena could take the freed block, and the first
  // input's copy overwrote the second input before it was read (KL was 0).
  it('BUG-5: klDivergence(p, view of a freed WasmArray) reads the view as it was at the call', () => {
    const n = 1000;
    const w = allocate(Float64Array, 4 * n);
    const q = w.array.subarray(0, n);
    q.fill(1 / n); // uniform
    w.free();
    const p = new Float64Array(n);
    p[0] = 1; // one-hot
    expect(klDivergence(p, q)).toBeCloseTo(Math.log(n), 12); // was 0: q was overwritten with p
  });

  // BUG-15 (what remained of BUG-4): an `out` that is a view into the module's memory outside
  // any live WasmArray (here: of a freed one) was written over memory the allocator hands
  // out again, and when the call grew memory, Staging.finish() hit the detached view (a raw
  // TypeError).  Such views are now refused, whether or not the call grows memory.
  it('BUG-15: softmax(x, { out: view of a freed WasmArray }) is a TypeError naming out, before anything is written', () => {
    const n = Math.ceil(memoryBytes() / 8) + 1024;
    const w = allocate(Float64Array, n);
    const out = w.array;
    w.free();
    expect(() => softmax(new Float64Array(n), { out })).toThrow(/^softmax: out is a view into surprisal's WebAssembly memory outside any live WasmArray/);
    const small = allocate(Float32Array, 8);
    const view = small.array;
    small.free();
    expect(() => softmax(new Float32Array(8), { out: view })).toThrow(TypeError);
  });

  // BUG-16 (found by fuzz/run.js): an output inside a live WasmArray of the other float type
  // (a Float32Array gradient for a float64 call) is staged through the arena; when that grew
  // memory, copying back hit the detached view (a raw TypeError).  Now it goes through a fresh view.
  it('BUG-16: softmaxCrossEntropy(float64 logits, { grad: float32 WasmArray }) that grows memory fills the gradient', () => {
    const cols = 4, rows = Math.ceil(memoryBytes() / (8 * cols)) + 256;
    const grad = allocate(Float32Array, rows * cols);
    const z = new Float64Array(rows * cols).fill(0);
    const loss = softmaxCrossEntropy(z, new Int32Array(rows), { cols, grad, reduction: 'sum' });
    const g = grad.array;
    const ok = g[0] === Math.fround(-0.75) && g[1] === 0.25 && g[rows * cols - 1] === 0.25;
    grad.free();
    expect(loss).toBeCloseTo(rows * Math.log(4), 6);
    expect(ok).toBe(true);
  });

  // BUG-20 (found by fuzz/run.js): `out` given as a WasmArray's raw `.array` view, in a call
  // that grows memory: the result was written, but the call returned the caller's view, which
  // the growth had detached (length 0).  It returns a live view of the result now.
  it('BUG-20: softmax / logSoftmax with out = a WasmArray\'s .array, growing memory, return a live view holding the result', () => {
    const n = Math.ceil(memoryBytes() / 8) + 4096;
    const same = allocate(Float32Array, n);
    const r1 = softmax(new Float32Array(n), { out: same.array }); // float32 into float32: in place
    expect(r1.length).toBe(n);
    expect(r1[0]).toBe(Math.fround(1 / n));
    const other = allocate(Float32Array, n);
    const r2 = logSoftmax(new Float64Array(n), { out: other.array }); // float64 computed, float32 out
    expect(r2.length).toBe(n);
    expect(r2[n - 1]).toBe(Math.fround(-Math.log(n)));
    expect(other.array[0]).toBe(Math.fround(-Math.log(n)));
    same.free();
    other.free();
  });

  // BUG-8: a live WasmArray given as input to a call that must grow memory (because another
  // part of the call is copied into a larger arena) was overwritten with NaN, and the result
  // was NaN: Staging kept the WasmArray's view from before memory.grow, detached (length 0),
  // no longer recognised it, and "copied" it element by element (undefined → NaN) onto its
  // own place in memory.
  it('BUG-8: softmax(wasmArray) that grows memory leaves the WasmArray intact and is right (README hot-loop example)', () => {
    const n = Math.ceil(memoryBytes() / 4) + 1024; // the window for the output cannot fit in memory as it is
    const logits = allocate(Float32Array, n);
    const probs = allocate(Float32Array, n);
    logits.array.fill(0.5);
    softmax(logits, { out: probs }); // zero-copy: fine
    // a constant row: every entry 1/n (within the float32 bound: the SIMD exp need not give exactly 1 at the maximum)
    expectClose(probs.array[0], 1 / n, 'f32', undefined, 'zero-copy softmax');
    const r = softmax(logits); // the output goes to the window, which must grow
    const intact = logits.array[0];
    logits.free();
    probs.free();
    expect(intact).toBe(0.5); // was NaN
    expectClose(r[0], 1 / n, 'f32', undefined, 'staged softmax'); // was NaN
  });

  it('BUG-8: klDivergence(p, wasmArray q) that grows memory is 0 for p = q, and q survives', () => {
    const n = Math.ceil(memoryBytes() / 8) + 1024;
    const q = allocate(Float64Array, n);
    q.array.fill(1 / n);
    const p = new Float64Array(n).fill(1 / n);
    const d = klDivergence(p, q, { validate: false });
    const survived = q.array[0];
    q.free();
    expect(survived).toBe(1 / n); // was NaN
    expect(d).toBe(0); // was NaN
  });

  // BUG-4: an `out` (or `grad`) WasmArray when the call grows memory: the kernel wrote the
  // result in place, then Staging.finish() did not recognise the (now detached) view and
  // called TypedArray.prototype.set on it: a raw TypeError, not a result.
  it('BUG-4: softmax(plain x, {out: wasmArray}) that grows memory returns the result', () => {
    const n = Math.ceil(memoryBytes() / 8) + 1024;
    const out = allocate(Float64Array, n);
    const x = new Float64Array(n);
    try {
      const r = softmax(x, { out }); // was: TypeError: Cannot perform %TypedArray%.prototype.set on a detached ArrayBuffer
      expect(r).toBe(out.array);
      expect(r[0]).toBe(1 / n);
    } finally {
      out.free();
    }
  });

});

/** Inputs the calls take views of: distributions and logits, float64 and float32. */
function pools() {
  const random = rng(2024);
  const d64 = randomDistribution(NMAX, random, Float64Array), e64 = randomDistribution(NMAX, random, Float64Array);
  const x64 = randomLogits(NMAX, random, Float64Array), y64 = randomLogits(NMAX, random, Float64Array);
  return { d64, e64, x64, y64, d32: new Float32Array(d64), e32: new Float32Array(e64), x32: new Float32Array(x64), y32: new Float32Array(y64) };
}

type Pools = ReturnType<typeof pools>;
type Kind = 'f32' | 'f64' | 'array';

describe(`soak: ${CALLS} calls on ${BACKEND}, window 1 MiB`, () => {
  let P: Pools;
  let largest = 0; // pages after the largest calls
  beforeAll(async () => {
    P = pools();
    // a module of its own (a binary given to init() is instantiated anew): its memory has not grown yet
    expect(await init({ wasm: await inlined(BACKEND), window: WINDOW })).toBe(BACKEND);
    expect(heap().windowLimit).toBe(WINDOW);
  });

  /** A view (or copy) of n pool values at `at`, as `kind`; or a WasmArray holding them. */
  function input(pool: 'd' | 'e' | 'x' | 'y', kind: Kind, n: number, at: number, live: WasmArray[] | null) {
    const src = (kind === 'f32' ? P[`${pool}32`] : P[`${pool}64`]).subarray(at, at + n);
    if (live) {
      const w = alloc(kind, n);
      w.array.set(src);
      live.push(w);
      return { arg: w as WasmArray, values: src };
    }
    return { arg: kind === 'array' ? Array.from(src) : src, values: src };
  }

  /** Runs one random call; returns a number to check (a cheap reference is computed for some). */
  function call(i: number, random: () => number, live: WasmArray[]): void {
    const u = random();
    const n = u < 0.7 ? Math.floor(random() * 257) : u < 0.95 ? Math.floor(random() * 10_001) : Math.floor(random() * (NMAX + 1));
    const at = Math.floor(random() * (NMAX - n + 1));
    const kind: Kind = (['f32', 'f64', 'array'] as const)[Math.floor(random() * 3)];
    const zeroCopy = kind !== 'array' && random() < 0.3 ? live : null;
    const fn = i % 11;
    const cols = n > 0 && random() < 0.3 ? [1, 2, 3, 5, 7, 10, 64, 100].filter((c) => n % c === 0).pop() : undefined;
    const check = i % 25 === 0;
    switch (fn) {
      case 0: {
        const p = input('d', kind, n, at, zeroCopy);
        const h = F.entropy(p.arg, { normalize: true, cols });
        if (check && cols === undefined && n > 0) {
          const s = fsum(Array.from(p.values));
          const want = fsum(Array.from(p.values, (v) => (v === 0 ? 0 : -(v / s) * Math.log(v / s))));
          expect(Math.abs((h as number) - want)).toBeLessThanOrEqual(1e-9 * Math.abs(want) + 1e-12);
        }
        break;
      }
      case 1: F.crossEntropy(input('d', kind, n, at, zeroCopy).arg, input('e', kind, n, at, null).arg, { normalize: true, cols }); break;
      case 2: F.klDivergence(input('d', kind, n, at, null).arg, input('e', kind, n, at, zeroCopy).arg, { normalize: true, cols, base: 2 }); break;
      case 3: F.jsDivergence(input('d', kind, n, at, zeroCopy).arg, input('e', kind, n, at, zeroCopy).arg, { validate: false, cols }); break;
      case 4: {
        const x = input('x', kind, n, at, zeroCopy);
        const l = F.logSumExp(x.arg, { cols });
        if (check && cols === undefined) {
          let m = -Infinity;
          for (const v of x.values) m = Math.max(m, v);
          if (n === 0) expect(l).toBe(-Infinity);
          else {
            const want = m + Math.log(fsum(Array.from(x.values, (v) => Math.exp(v - m))));
            expect(Math.abs((l as number) - want)).toBeLessThanOrEqual(1e-5 * Math.abs(want) + 1e-5);
          }
        }
        break;
      }
      case 5: {
        const x = input('x', kind, n, at, zeroCopy);
        const out = zeroCopy && random() < 0.5 ? alloc(kind, n) : undefined;
        if (out) live.push(out);
        const p = <Float64Array>F.softmax(x.arg, { cols, temperature: 0.5 + random(), out });
        if (check && n > 0) {
          const total = fsum(Array.from(p.subarray(0, cols ?? n)));
          expect(Math.abs(total - 1)).toBeLessThan(1e-5);
        }
        break;
      }
      case 6: F.logSoftmax(input('x', kind, n, at, zeroCopy).arg, { cols }); break;
      case 7: F.softmaxEntropy(input('x', kind, n, at, zeroCopy).arg, { cols, base: 2 }); break;
      case 8: F.softmaxKlDivergence(input('x', kind, n, at, zeroCopy).arg, input('y', kind, n, at, null).arg, { cols, temperature: 2 }); break;
      case 9: {
        const c = cols ?? (n > 0 ? n : 1);
        const rows = n / c;
        const z = input('x', kind, n, at, zeroCopy);
        const labels = Int32Array.from({ length: rows }, (_, r) => (r * 7) % c);
        const grad = random() < 0.5 ? (kind === 'f32' ? new Float32Array(n) : new Float64Array(n)) : undefined;
        F.softmaxCrossEntropy(z.arg, labels, { cols: c, grad, labelSmoothing: 0.1 });
        break;
      }
      default: {
        const c = cols ?? n;
        if (c < 2) { // one class: targets of length rows would be labels
          F.softmaxEntropy(input('x', kind, n, at, zeroCopy).arg);
          break;
        }
        const z = input('x', kind, n, at, zeroCopy);
        const t = input('d', kind, n, at, null);
        F.softmaxCrossEntropy(z.arg, t.arg, { cols: c, reduction: 'sum', grad: kind === 'f32' ? new Float32Array(n) : new Float64Array(n) });
      }
    }
  }

  /** Fixed calls whose results must stay bit-identical through the soak. */
  function canaries(): number[] {
    const q = P.e64.subarray(0, 1000);
    const r = [
      entropy(P.d32.subarray(5, 105), { normalize: true }), klDivergence(P.d64.subarray(0, 1000), q, { normalize: true }),
      logSumExp(P.x32.subarray(0, 3001)), softmaxEntropy(P.x64.subarray(7, 807), { cols: 100 }), information(0.25),
      softmaxCrossEntropy(P.x32.subarray(0, 640), Int32Array.from({ length: 64 }, (_, i) => i % 10), { cols: 10 }),
    ];
    return [...r.flatMap((v) => (typeof v === 'number' ? [v] : Array.from(v))), ...softmax(P.y64.subarray(0, 333))];
  }

  it('the largest calls set the memory: every function at NMAX with the options that stage the most', () => {
    const pagesAtStart = heap().pages;
    const n = NMAX;
    // the window holds the inputs and one float64 (or three, with normalize) per row: the
    // largest call of each function has NMAX elements in NMAX rows of one column
    for (const cols of [undefined, 1]) {
      F.entropy(P.d64, { normalize: true, cols, validate: false });
      F.crossEntropy(P.d32, P.e64, { normalize: true, cols, validate: false });
      F.klDivergence(P.d64, P.e64, { normalize: true, cols, validate: false });
      F.jsDivergence(P.d32, P.e32, { normalize: true, cols, validate: false });
      F.logSumExp(P.x64, { cols });
      F.softmax(P.x64, { out: new Float64Array(n), cols });
      F.logSoftmax(P.x32, { out: new Float64Array(n), cols });
      F.softmaxEntropy(P.x64, { cols });
      F.softmaxKlDivergence(P.x64, P.y64, { cols });
    }
    F.softmaxCrossEntropy(P.x64, Int32Array.from({ length: n / 10 }, (_, r) => r % 10), { cols: 10, grad: new Float64Array(n), labelSmoothing: 0.1 });
    F.softmaxCrossEntropy(P.x64, new Int32Array(n), { cols: 1, grad: new Float64Array(n) });
    F.softmaxCrossEntropy(P.x64, P.d64, { cols: 10, grad: new Float64Array(n) });
    F.softmaxCrossEntropy(P.x64, P.d64, { cols: 2, grad: new Float64Array(n) });
    // and the most WasmArrays live at once in the loop: three of NMAX float64
    const held = [0, 1, 2].map(() => allocate(Float64Array, n));
    held.forEach((w) => w.free());
    largest = heap().pages;
    console.log(`soak: memory ${pagesAtStart} → ${largest} pages for the largest calls (+3 WasmArrays of ${n} float64)`);
    expect(largest).toBeGreaterThan(0);
    // never past the window plus those three WasmArrays
    const bound = Math.ceil((align((currentEngine() as WasmEngine).exports.heapBase()) + WINDOW + 3 * align(8 * n) + 16) / 65536);
    expect(largest).toBeLessThanOrEqual(bound);
  });

  it(`${CALLS} calls of random sizes (0…${NMAX}), dtypes, options, WasmArrays in and out: memory stays at what the largest call needed, answers stay right`, () => {
    const before = heap().pages;
    const want = canaries();
    const random = rng(31337);
    let maxPages = before;
    const t0 = performance.now();
    for (let i = 0; i < CALLS; i++) {
      const live: WasmArray[] = [];
      call(i, random, live);
      // free in a random order
      while (live.length) live.splice(Math.floor(random() * live.length), 1)[0].free();
      if (i % 500 === 0) {
        maxPages = Math.max(maxPages, heap().pages);
        expect(heap().pages, `memory grew at call ${i}`).toBe(largest);
      }
    }
    const after = heap().pages;
    const ms = performance.now() - t0;
    console.log(`soak: ${CALLS} calls in ${(ms / 1000).toFixed(1)} s; memory ${before} → ${after} pages (the largest calls needed ${largest}; ${(memoryBytes() / 2 ** 20).toFixed(1)} MiB)`);
    expect(after).toBe(largest);
    expect(maxPages).toBe(largest);
    // nothing along the way changed a later answer
    const again = canaries();
    expect(again.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) expect(Object.is(again[i], want[i]), `canary ${i}`).toBe(true);
  }, Math.max(60_000, CALLS * 0.4)); // ≈ 0.2 ms a call: 1e6 calls ≈ 200 s

  it('WasmArrays kept across calls and freed in any order: memory stops growing (no creep)', () => {
    const random = rng(99);
    const held: WasmArray[] = [];
    const rounds = Math.max(2000, Math.floor(CALLS / 10));
    let half = 0;
    for (let i = 0; i < rounds; i++) {
      if (i === rounds / 2) half = heap().pages;
      // at most 8 live, up to 20 000 elements each
      if (held.length < 8 && random() < 0.6) {
        const w = alloc(random() < 0.5 ? 'f32' : 'f64', Math.floor(random() * 20_000));
        w.array.fill(1);
        held.push(w);
      } else if (held.length) {
        held.splice(Math.floor(random() * held.length), 1)[0].free();
      }
      if (held.length && i % 3 === 0) logSumExp(held[Math.floor(random() * held.length)]);
    }
    const end = heap().pages;
    held.forEach((w) => w.free());
    console.log(`soak: ${rounds} allocate/free rounds with up to 8 live WasmArrays: ${half} pages at half-time, ${end} at the end`);
    expect(end).toBe(half);
  }, Math.max(60_000, CALLS * 0.1));

  it('a freed WasmArray is refused and its memory is handed out again', () => {
    const w = allocate(Float64Array, 50_000);
    const at = w.array.byteOffset;
    w.free();
    expect(w.live).toBe(false);
    expect(() => entropy(w)).toThrow(TypeError);
    const again = allocate(Float64Array, 50_000);
    expect(again.array.byteOffset).toBe(at); // first fit: the same block
    again.free();
  });

  it('WasmArrays that are never freed are released when garbage-collected', async () => {
    let gc: (() => void) | undefined;
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as () => void;
    } catch {
      gc = undefined;
    }
    if (typeof gc !== 'function') {
      console.log('soak: gc() is not available here; skipping the FinalizationRegistry check');
      return;
    }
    const drop = () => {
      // 32 MiB of WasmArrays, not freed, not referenced after this returns
      for (let i = 0; i < 32; i++) allocate(Float64Array, 131_072).array.fill(i);
    };
    const settle = async () => {
      for (let k = 0; k < 5; k++) {
        gc!();
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    drop();
    await settle();
    const afterOne = heap().pages;
    for (let round = 0; round < 6; round++) {
      drop();
      await settle();
    }
    const afterSeven = heap().pages;
    console.log(`soak: 7 × 32 MiB of unreferenced WasmArrays: ${afterOne} pages after the first, ${afterSeven} after all seven`);
    // without release, each round would add 512 pages
    expect(afterSeven).toBeLessThanOrEqual(afterOne + 512);
  });
});

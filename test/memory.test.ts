// The module's memory (src/memory.ts): the staging window and the WasmArrays.
//   - The window: a call stages its arrays through one block of at most `init({ window })`
//     bytes, reused by every call; larger inputs stream through it (src/stream.ts).  So
//     WebAssembly memory, which never shrinks, never grows past the window's size plus the
//     live WasmArrays, whatever the calls — and the answers are the JS backend's.
//   - WasmArrays are used in place by any call, their views are re-derived after
//     memory.grow, freed ones are refused and their memory reused.
//   - The kernels never allocate: no build contains the runtime's allocator.
//   - copy(): the pool's copies into and out of shared memory, bit for bit.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  allocate, byteEntropy, conditionalEntropy, createLogSumExp, crossEntropy, entropy, init, jsDivergence, klDivergence, logSoftmax, logSumExp,
  mutualInformation, sigmoidCrossEntropy, sigmoidFocalLoss, signedLogSumExp, softmax, softmaxCrossEntropy, softmaxEntropy, softmaxKlDivergence,
  WasmArray,
} from '../src/index.js';
import { currentEngine, setSmallInputCutoff, supported } from '../src/backend.js';
import { DEFAULT_WINDOW, align, copy } from '../src/memory.js';
import type { WasmEngine } from '../src/engine.js';
import { expectClose, randomDistribution, randomLogits, rng, sameBits } from './helpers.js';

const PAGE = 65536;
const WASM = supported();
const engine = () => currentEngine() as WasmEngine;
const heap = () => engine().heap;

// ---------------------------------------------------------------------------------
// The window
// ---------------------------------------------------------------------------------

const WINDOW = 1 << 20;
/** Elements of the inputs: 4 × the window's bytes in float32 (2 × in float64: the float64 inputs are half as long). */
const N = WINDOW; // float32: 4 MiB an array
const N64 = WINDOW / 2; // float64: 4 MiB an array

function inputs() {
  const random = rng(20240);
  const P32 = randomDistribution(N, random, Float32Array), Q32 = randomDistribution(N, random, Float32Array);
  const P64 = randomDistribution(N64, random, Float64Array), Q64 = randomDistribution(N64, random, Float64Array);
  const X32 = randomLogits(N, random, Float32Array), Y32 = randomLogits(N, random, Float32Array);
  const X64 = randomLogits(N64, random, Float64Array), Y64 = randomLogits(N64, random, Float64Array);
  const T32 = Float32Array.from({ length: N }, () => random());
  const C64 = Float64Array.from({ length: N64 }, () => Math.floor(random() * 20));
  const W64 = Float64Array.from({ length: N64 }, () => (random() < 0.5 ? -1 : 1) * random());
  const bytes = Uint8Array.from({ length: 4 * WINDOW }, () => Math.floor(random() * random() * 256));
  const labels = Int32Array.from({ length: N / 1024 }, () => Math.floor(random() * 1024));
  // rows of 1024 and of 2^18 (float64: 2 MiB a row, longer than the window)
  const rows = (x: Float32Array | Float64Array, cols: number) => {
    const out = x.slice();
    for (let r = 0; r < x.length / cols; r++) {
      let s = 0;
      for (let j = 0; j < cols; j++) s += out[r * cols + j];
      for (let j = 0; j < cols; j++) out[r * cols + j] /= s;
    }
    return out;
  };
  return { P32, Q32, P64, Q64, X32, Y32, X64, Y64, T32, C64, W64, bytes, labels, R32: rows(P32, 1024), S32: rows(Q32, 1024), R64: rows(P64, 2 ** 18), S64: rows(Q64, 2 ** 18) };
}

type Inputs = ReturnType<typeof inputs>;
type Result = number | ArrayLike<number>;

/**
 * Every public function on inputs 4 × the window's size: one row longer than the window
 * (streamed in segments), matrices of narrow rows (staged in blocks) and of rows longer than
 * the window; with and without outputs and gradients.  Returns name → [result, dtype].
 */
function battery(d: Inputs, w?: { x: WasmArray<Float32Array>; out: WasmArray<Float32Array> }): Record<string, [Result, 'f32' | 'f64']> {
  const r: Record<string, [Result, 'f32' | 'f64']> = {};
  r.entropy32 = [entropy(d.P32), 'f32'];
  r.entropyRows32 = [entropy(d.R32, { cols: 1024 }), 'f32'];
  r.entropyRows64 = [entropy(d.R64, { cols: 2 ** 18 }), 'f64'];
  r.entropyCounts = [entropy(d.C64, { normalize: true }), 'f64'];
  r.crossEntropy64 = [crossEntropy(d.P64, d.Q64), 'f64'];
  r.klDivergence32 = [klDivergence(d.R32, d.S32, { cols: 1024 }), 'f32'];
  r.klNormalize = [klDivergence(d.P32.subarray(0, N64), d.Q64, { normalize: true }), 'f64'];
  r.jsDivergence64 = [jsDivergence(d.R64, d.S64, { cols: 2 ** 18 }), 'f64'];
  r.jsNormalize = [jsDivergence(d.C64, d.P64, { normalize: true }), 'f64'];
  r.logSumExp32 = [logSumExp(d.X32), 'f32'];
  r.logSumExpRows64 = [logSumExp(d.X64, { cols: 2 ** 18 }), 'f64'];
  // (logSumExp's overloads type their options as RowsOption, without `weights`: cast)
  r.logSumExpWeights = [(logSumExp as (x: Float64Array, o: object) => number)(d.X64, { weights: d.C64 }), 'f64'];
  const signed = signedLogSumExp(d.X64, { weights: d.W64, cols: 1024 });
  r.signedValue = [signed.value, 'f64'];
  r.signedSign = [signed.sign, 'f64'];
  r.softmax32 = [softmax(d.X32), 'f32'];
  r.softmaxRows64 = [softmax(d.X64, { cols: 1024, temperature: 0.5 }), 'f64'];
  r.logSoftmax64 = [logSoftmax(d.X64), 'f64'];
  r.logSoftmaxOut = [logSoftmax(d.X32, { cols: 2 ** 19, out: new Float64Array(N) }), 'f32'];
  const hGrad = new Float32Array(N);
  r.softmaxEntropy32 = [softmaxEntropy(d.X32, { grad: hGrad }), 'f32'];
  r.softmaxEntropyRows64 = [softmaxEntropy(d.X64, { cols: 1024 }), 'f64'];
  r.softmaxKl64 = [softmaxKlDivergence(d.X64, d.Y64), 'f64'];
  r.softmaxKlRows32 = [softmaxKlDivergence(d.X32, d.Y32, { cols: 1024, temperature: 2 }), 'f32'];
  const lossGrad = new Float32Array(N);
  r.loss32 = [softmaxCrossEntropy(d.X32, d.labels, { cols: 1024, grad: lossGrad, labelSmoothing: 0.1 }), 'f32'];
  r.lossGrad32 = [lossGrad, 'f32'];
  r.lossLongRow = [softmaxCrossEntropy(d.X64, [7], { cols: N64 }), 'f64'];
  r.lossProbs = [softmaxCrossEntropy(d.X32, d.R32, { cols: 1024, reduction: 'none' }), 'f32'];
  r.sigmoid32 = [sigmoidCrossEntropy(d.X32, d.T32, { grad: new Float32Array(N) }), 'f32'];
  r.focal32 = [sigmoidFocalLoss(d.X32, d.T32, { cols: 1024, reduction: 'sum' }), 'f32'];
  r.mutualInformation = [mutualInformation(d.C64, { cols: 1024, normalize: true }), 'f64'];
  r.conditionalEntropy = [conditionalEntropy(d.C64, { cols: 512, normalize: true }), 'f64'];
  r.byteEntropy = [byteEntropy(d.bytes), 'f64'];
  const acc = createLogSumExp();
  for (let i = 0; i < 4; i++) acc.add(d.X32.subarray(i * (N / 4), (i + 1) * (N / 4)));
  r.accumulator = [acc.value, 'f32'];
  if (w) {
    r.zeroCopySoftmax = [softmax(w.x, { out: w.out }).slice(), 'f32'];
    r.zeroCopyLse = [logSumExp(w.x, { cols: 2 ** 18 }), 'f32'];
    r.zeroCopyStaged = [softmax(w.x, { cols: 1024 }), 'f32'];
  }
  return r;
}

/** The SPEC bound between two batteries' results (a gradient entry is judged against its row's largest: a difference of such terms). */
function expectSameAnswers(got: ReturnType<typeof battery>, want: ReturnType<typeof battery>, what: string): void {
  for (const [name, [g]] of Object.entries(got)) {
    expect(want[name], `${what}: ${name}`).toBeDefined();
    const [w, dtype] = want[name];
    if (typeof w === 'number') {
      expectClose(g as number, w, dtype, undefined, `${what}: ${name}`);
      continue;
    }
    const ga = g as ArrayLike<number>;
    expect(ga.length, `${what}: ${name} length`).toBe(w.length);
    const grad = name === 'lossGrad32';
    for (let i = 0; i < w.length; i++) {
      if (ga[i] === w[i]) continue;
      // ∂loss/∂z = (p − t)/rows: its terms are of the size of p + t ≤ 2 over the rows
      expectClose(ga[i], w[i], dtype, grad ? 2 / (N / 1024) : undefined, `${what}: ${name}[${i}]`);
    }
  }
}

for (const b of WASM) {
  // first in the file: the module's memory has not grown yet
  describe(`the window [${b}]: init({ window: 1 MiB }), then calls of 4 × its size`, () => {
    let d: Inputs;
    beforeAll(async () => {
      d = inputs();
      expect(await init({ backend: b, window: WINDOW })).toBe(b);
      setSmallInputCutoff(0);
      expect(heap().windowLimit).toBe(WINDOW);
    });

    /** Pages memory may hold: the module's static data, the window, the live WasmArrays (16-byte aligned), 16 bytes to spare. */
    const bound = (liveBytes: number) => Math.ceil((align(engine().exports.heapBase()) + WINDOW + liveBytes + 16) / PAGE);

    it('memory never grows past the window plus the live WasmArrays, and the answers are the JS backend\'s', async () => {
      const pagesBefore = heap().pages;
      const staged = battery(d);
      const pages = heap().pages;
      expect(pages, `${pagesBefore} pages before the first call`).toBeLessThanOrEqual(Math.max(pagesBefore, bound(0)));
      // again, and calls of every size up to 4 × the window in between: nothing grows
      const again = battery(d);
      const random = rng(7);
      for (let i = 0; i < 200; i++) {
        const n = Math.floor(random() * N);
        const at = Math.floor(random() * (N - n));
        if (i % 3 === 0) softmax(d.X32.subarray(at, at + n));
        else if (i % 3 === 1) entropy(d.C64.subarray(0, n >> 1), { normalize: true, validate: false });
        else logSumExp(d.X64.subarray(0, n >> 1), { cols: Math.max(1, n >> 1) });
        expect(heap().pages, `call ${i}`).toBe(pages);
      }
      expectSameAnswers(again, staged, 'the same calls again');
      // WasmArrays: used in place; memory holds them and the window, nothing more
      const x = allocate(Float32Array, N), out = allocate(Float32Array, N);
      x.array.set(d.X32);
      const live = align(4 * N) * 2;
      const withArrays = battery(d, { x, out });
      expect(heap().pages).toBeLessThanOrEqual(Math.max(pages, bound(live)));
      const pagesWith = heap().pages;
      battery(d, { x, out });
      expect(heap().pages).toBe(pagesWith);
      // the JS backend's answers
      await init({ backend: 'js' });
      const js = battery(d, { x, out });
      await init({ backend: b });
      x.free();
      out.free();
      expectSameAnswers(staged, js, `${b} vs js`);
      expectSameAnswers(withArrays, js, `${b} with WasmArrays vs js`);
    });
  });
}

// ---------------------------------------------------------------------------------
// WasmArrays
// ---------------------------------------------------------------------------------

for (const b of WASM) {
  describe(`WasmArrays [${b}]`, () => {
    beforeAll(async () => {
      await init({ backend: b, window: DEFAULT_WINDOW });
      setSmallInputCutoff(0);
    });

    it('a WasmArray is used in place: a zero-copy call stages nothing and gives the copied call\'s values', () => {
      const n = 1 << 18;
      const x = allocate(Float32Array, n);
      const out = allocate(Float32Array, n);
      x.array.set(randomLogits(n, rng(2), Float32Array));
      const want = softmax(x.array.slice()); // a copied call, before memory is measured
      const pages = heap().pages;
      const r = softmax(x, { out });
      expect(r).toBe(out.array);
      expect(heap().pages).toBe(pages);
      expect(sameBits(out.array, want)).toBe(true);
      // its view works too, and in place
      softmax(x.array, { out: x.array });
      expect(sameBits(x.array, out.array)).toBe(true);
      expect(heap().pages).toBe(pages);
      x.free();
      out.free();
    });

    it('views handed out are re-derived after memory.grow', () => {
      const a = allocate(Float64Array, 3);
      a.array.set([0.25, 0.25, 0.5]);
      const stale = a.array;
      const big = allocate(Float64Array, heap().memory.buffer.byteLength / 8); // grows memory
      expect(stale.length).toBe(0); // detached by grow
      expect(Array.from(a.array)).toEqual([0.25, 0.25, 0.5]);
      expectClose(entropy(a, { base: 2 }), 1.5, 'f64');
      expect(() => entropy(stale)).toThrow(/detached/);
      big.free();
      a.free();
    });

    it('a freed WasmArray is refused; its memory is reused', () => {
      const a = allocate(Float32Array, 1000);
      const at = a.array.byteOffset;
      a.free();
      expect(a.live).toBe(false);
      expect(() => a.array).toThrow(TypeError);
      expect(() => entropy(a)).toThrow(/freed/);
      expect(() => softmax([1, 2], { out: a as unknown as Float64Array })).toThrow(TypeError);
      a.free(); // twice is harmless
      const again = allocate(Float32Array, 1000);
      expect(again.array.byteOffset).toBe(at); // first fit: the same block
      again.free();
    });

    it('a view into the module memory outside any live WasmArray is copied as an input, refused as an output', () => {
      const a = allocate(Float64Array, 4);
      const view = a.array;
      view.set([1, 2, 3, 4]);
      a.free();
      // the block is free now: the window may take it, so the call must copy the view first
      const want = softmax([1, 2, 3, 4]);
      expect(Array.from(softmax(view))).toEqual(Array.from(want));
      expect(() => softmax([1, 2, 3, 4], { out: view })).toThrow(/outside any live WasmArray/);
    });

    // found by fuzz/run.js: the joint tables read their input in two passes, and the first
    // pass's staging went over the freed block the view still showed
    it('such a view read by a call of several passes: every pass sees the entries it had at the call', () => {
      const n = 1 << 17;
      // a view by hand over the window itself: the first pass stages its rows there
      const at = heap().window(4 * n);
      const view = new Float32Array(heap().memory.buffer, at, n);
      view.set(randomDistribution(n, rng(9), Float32Array));
      const copy = view.slice();
      const opts = { cols: 2, validate: false };
      expect(conditionalEntropy(view, opts)).toBe(conditionalEntropy(copy, opts));
      view.set(copy);
      expect(mutualInformation(view, opts)).toBe(mutualInformation(copy, opts));
      const q = copy.slice().reverse();
      view.set(copy);
      expect(jsDivergence(view, q, { normalize: true, cols: 2 })).toEqual(jsDivergence(copy, q, { normalize: true, cols: 2 }));
    });

    it('many WasmArrays of all sizes, freed in any order, keep memory bounded', () => {
      const random = rng(3);
      let pages = 0;
      for (let round = 0; round < 50; round++) {
        if (round === 1) pages = heap().pages; // after the first round has placed its arrays
        const live: WasmArray[] = [];
        for (let i = 0; i < 20; i++) {
          const k = Math.floor(random() * 10_000);
          live.push(random() < 0.5 ? allocate(Float32Array, k) : allocate(Float64Array, k));
        }
        while (live.length) live.splice(Math.floor(random() * live.length), 1)[0].free();
      }
      // 20 arrays of up to 80 kB at a time: later rounds fit in what the first one had
      expect(heap().pages).toBeLessThanOrEqual(pages + 25);
    });

    it('allocate validates its arguments', () => {
      expect(() => allocate(Int32Array as unknown as Float32ArrayConstructor, 4)).toThrow(TypeError);
      expect(() => allocate(Float32Array, -1)).toThrow(RangeError);
      expect(() => allocate(Float32Array, 1.5)).toThrow(TypeError);
    });
  });
}

describe('allocate on the JS backend', () => {
  it('gives an ordinary array behind the same interface', async () => {
    await init({ backend: 'js' });
    const x = allocate(Float64Array, 2);
    x.array.set([0, 0]);
    expect(Array.from(softmax(x))).toEqual([0.5, 0.5]);
    x.free();
    expect(x.live).toBe(false);
  });
});

// The TypeScript side owns all memory above heapBase(): a kernel that allocated (an
// object, an array) would bump the stub runtime's pointer into it.
it('the kernels never allocate: no build contains the runtime\'s allocator', () => {
  for (const build of ['relaxed', 'simd', 'scalar']) {
    const wat = readFileSync(new URL(`../build/surprisal.${build}.wat`, import.meta.url), 'utf8');
    expect(wat, build).toContain('(func $assembly/reduce/entropyRowsF32');
    expect(wat.match(/\$~lib\/rt\/[\w/]*__(new|alloc|renew)\b/g), build).toBeNull();
    expect(wat.match(/\b__(new|alloc|renew)\b/g), build).toBeNull();
  }
});

// The pool's copies into and out of shared memory: Buffer#fill (a native memcpy) in Node
// from 64 KB up, TypedArray#set below and elsewhere — either way every bit, NaN payloads
// and −0 included.
describe('copy', () => {
  // (toEqual on megabytes takes a minute: compare them as Buffers)
  const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;
  const cases = [[Float32Array, 4], [Float64Array, 8], [Int32Array, 4]] as const;
  for (const [Type, size] of cases) {
    it(`${Type.name}: bit for bit between ordinary and shared buffers, at offsets, either side of 64 KB`, () => {
      for (const length of [0, 1, 1000, 65536 / size - 1, 65536 / size, 100_003]) {
        const bytes = new Uint8Array((length + 3) * size);
        const random = rng(length + size);
        for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
        const src = new Type(bytes.buffer, 3 * size, length);
        for (const dstBuffer of [new SharedArrayBuffer((length + 5) * size), new ArrayBuffer((length + 5) * size)]) {
          const dst = new Type(dstBuffer as ArrayBuffer, 2 * size, length);
          copy(dst, src);
          expect(same(new Uint8Array(dstBuffer, 2 * size, length * size), new Uint8Array(bytes.buffer, 3 * size, length * size))).toBe(true);
          // and back out of the shared buffer, leaving the bytes around it alone
          const back = new Type(new ArrayBuffer((length + 2) * size), size, length);
          copy(back, dst);
          expect(same(new Uint8Array(back.buffer, size, length * size), new Uint8Array(bytes.buffer, 3 * size, length * size))).toBe(true);
          expect(new Uint8Array(back.buffer, 0, size).every((b) => b === 0)).toBe(true);
          expect(new Uint8Array(back.buffer, (length + 1) * size, size).every((b) => b === 0)).toBe(true);
        }
      }
    });
  }
});

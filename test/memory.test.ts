// The module's memory: the scratch arena is reused and grown only when a call needs
// more; WasmArrays are read and written in place, survive memory.grow, and are freed.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { allocate, entropy, init, logSumExp, softmax, WasmArray } from '../src/index.js';
import { engineFor, setSmallInputCutoff } from '../src/backend.js';
import { copy } from '../src/memory.js';
import type { WasmEngine } from '../src/engine.js';
import { expectClose, randomLogits, rng } from './helpers.js';

const heap = () => (engineFor(Infinity) as WasmEngine).heap;

describe('memory (wasm-simd)', () => {
  beforeAll(async () => {
    await init({ backend: 'wasm-simd' });
    setSmallInputCutoff(0);
  });

  // The TypeScript side owns all memory above heapBase(): a kernel that allocated (an
  // object, an array) would bump the stub runtime's pointer into it.
  it('the kernels never allocate: neither binary contains the runtime\'s allocator', () => {
    for (const build of ['simd', 'scalar']) {
      const wat = readFileSync(new URL(`../build/surprisal.${build}.wat`, import.meta.url), 'utf8');
      expect(wat, build).toContain('(func $assembly/reduce/entropyRowsF32');
      expect(wat.match(/\$~lib\/rt\/[\w/]*__(new|alloc|renew)\b/g), build).toBeNull();
    }
  });

  it('the arena is reused: calls of varying sizes never grow memory past the largest', () => {
    const random = rng(1);
    const big = randomLogits(200_000, random, Float64Array);
    softmax(big); // largest call: 2 × 1.6 MB
    const pages = heap().pages;
    for (let i = 0; i < 2000; i++) {
      const n = Math.floor(random() * 200_000);
      const x = big.subarray(0, n);
      if (i % 2) softmax(x);
      else logSumExp(new Float32Array(x));
    }
    expect(heap().pages).toBe(pages);
  });

  it('a WasmArray is used in place: a zero-copy call needs no arena', () => {
    const n = 1 << 20;
    const x = allocate(Float32Array, n);
    const out = allocate(Float32Array, n);
    x.array.set(randomLogits(n, rng(2), Float32Array));
    const want = softmax(x.array.slice()); // a copied call, before the arena is measured
    const pages = heap().pages;
    const r = softmax(x, { out });
    expect(r).toBe(out.array);
    expect(heap().pages).toBe(pages);
    expect(out.array).toEqual(want);
    // its view works too, and in place
    softmax(x.array, { out: x.array });
    expect(x.array).toEqual(out.array);
    x.free();
    out.free();
  });

  it('views handed out are re-derived after memory.grow', () => {
    const a = allocate(Float64Array, 3);
    a.array.set([0.25, 0.25, 0.5]);
    const stale = a.array;
    softmax(new Float64Array(3_000_000)); // grows memory
    expect(stale.length).toBe(0); // detached by grow
    expect(Array.from(a.array)).toEqual([0.25, 0.25, 0.5]);
    expectClose(entropy(a, { base: 2 }), 1.5, 'f64');
    expect(() => entropy(stale)).toThrow(/detached/);
    a.free();
  });

  it('a freed WasmArray is refused; its memory is reused', () => {
    const a = allocate(Float32Array, 1000);
    a.free();
    expect(a.live).toBe(false);
    expect(() => a.array).toThrow(TypeError);
    expect(() => entropy(a)).toThrow(/freed/);
    expect(() => softmax([1, 2], { out: a as unknown as Float64Array })).toThrow(TypeError);
    a.free(); // twice is harmless
    const b = allocate(Float32Array, 1000);
    expect(b.array.byteOffset).toBeGreaterThan(0);
    b.free();
  });

  it('a view into the module memory outside any live WasmArray is copied, not trusted', () => {
    const a = allocate(Float64Array, 4);
    const view = a.array;
    view.set([1, 2, 3, 4]);
    a.free();
    // the block is free now: the arena may take it, so the call must copy the view first
    const want = softmax([1, 2, 3, 4]);
    expect(softmax(view)).toEqual(want);
  });

  it('many WasmArrays of all sizes, freed in any order, keep memory bounded', () => {
    const random = rng(3);
    let pages = 0;
    for (let round = 0; round < 50; round++) {
      if (round === 1) pages = heap().pages; // after the first round has placed its arrays
      const live: WasmArray[] = [];
      for (let i = 0; i < 20; i++) { const k = Math.floor(random() * 10_000); live.push(random() < 0.5 ? allocate(Float32Array, k) : allocate(Float64Array, k)); }
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

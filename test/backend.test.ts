// Loading: the JS path before init, auto-selection, forced backends, injected feature
// detection, caller-supplied binaries, and concurrent init.  (Runs first in its own
// module instance, so the first test sees the library as a fresh import does.)
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { backend, entropy, init, logSumExp, softmax } from '../src/index.js';
import { detect } from '../src/backend.js';

const simdBytes = readFileSync(new URL('../build/surprisal.simd.wasm', import.meta.url));
const scalarBytes = readFileSync(new URL('../build/surprisal.scalar.wasm', import.meta.url));
const original = { ...detect };

afterEach(() => {
  Object.assign(detect, original);
  vi.restoreAllMocks();
});

describe('init and backend', () => {
  it('every function works, synchronously, on JS before init() resolves; concurrent inits compile once', async () => {
    const compile = vi.spyOn(WebAssembly, 'compile');
    // (Node compiles its own wasm, undici's HTTP parser, lazily: count only ours)
    const ours = () => compile.mock.calls.filter(([b]) => (b as ArrayBufferView).byteLength === simdBytes.length).length;
    expect(backend()).toBe('js');
    const before = entropy([0.99, 0.01], { base: 2 });
    const pending = [init(), init(), init({ backend: 'auto' }), init()];
    expect(backend()).toBe('js');
    expect(entropy([0.99, 0.01], { base: 2 })).toBe(before);
    const results = await Promise.all(pending);
    expect(results).toEqual(['wasm-simd', 'wasm-simd', 'wasm-simd', 'wasm-simd']);
    expect(ours()).toBe(1);
    expect(backend()).toBe('wasm-simd');
    expect(Math.abs(entropy([0.99, 0.01], { base: 2 }) - before)).toBeLessThan(1e-16);
    // idempotent: nothing is compiled again
    expect(await init()).toBe('wasm-simd');
    expect(ours()).toBe(1);
  });

  it('forces each backend, and switches back and forth', async () => {
    for (const b of ['js', 'wasm', 'wasm-simd', 'js', 'wasm-simd'] as const) {
      expect(await init({ backend: b })).toBe(b);
      expect(backend()).toBe(b);
      expect(logSumExp([1000, 1000])).toBeCloseTo(1000 + Math.LN2, 12);
    }
  });

  it('falls back to the scalar build where SIMD does not validate, and to JS without WebAssembly', async () => {
    detect.simd = () => false;
    expect(await init()).toBe('wasm');
    await expect(init({ backend: 'wasm-simd' })).rejects.toThrow(/does not support WebAssembly SIMD/);
    expect(backend()).toBe('wasm');
    detect.wasm = () => false;
    expect(await init()).toBe('js');
    await expect(init({ backend: 'wasm' })).rejects.toThrow(/needs WebAssembly/);
    expect(Array.from(softmax([0, 0]))).toEqual([0.5, 0.5]);
  });

  it('the SIMD probe is the real one: this engine validates SIMD', () => {
    expect(detect.simd()).toBe(true);
  });

  it('takes a binary as bytes, a Module, a file URL or a Response, and names its backend', async () => {
    expect(await init({ wasm: scalarBytes })).toBe('wasm');
    expect(await init({ wasm: new WebAssembly.Module(simdBytes) })).toBe('wasm-simd');
    expect(await init({ wasm: new URL('../build/surprisal.scalar.wasm', import.meta.url) })).toBe('wasm');
    expect(await init({ wasm: new Response(simdBytes, { headers: { 'content-type': 'application/wasm' } }) })).toBe('wasm-simd');
    expect(entropy([0.5, 0.5], { base: 2 })).toBe(1);
    await expect(init({ backend: 'wasm', wasm: simdBytes })).rejects.toThrow(/wasm-simd build, not wasm/);
    const notOurs = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
    await expect(init({ wasm: notOurs })).rejects.toThrow(/not a surprisal build/);
    expect(backend()).toBe('wasm-simd');
  });

  it('bad options are rejected with the documented classes', async () => {
    await expect(init({ backend: 'gpu' as 'js' })).rejects.toThrow(RangeError);
    await expect(init('fast' as never)).rejects.toThrow(TypeError);
  });

  it('the latest init wins when calls race', async () => {
    const a = init({ backend: 'wasm' });
    const b = init({ backend: 'js' });
    await Promise.all([a, b]);
    expect(backend()).toBe('js');
    await init();
    expect(backend()).toBe('wasm-simd');
  });
});

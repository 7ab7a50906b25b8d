// Loading: the JS path before init, auto-selection of the fastest build this engine
// validates (wasm-relaxed, wasm-simd, wasm, else js), forced backends, feature detection
// (the replaceable `detect` object: relaxed SIMD, SIMD, WebAssembly at all), init's
// options (backend names, the staging window, misspelt option names), caller-supplied
// binaries, and concurrent init.  (Runs first in its own module instance, so the first
// test sees the library as a fresh import does.)
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { backend, entropy, init, logSumExp, softmax } from '../src/index.js';
import { currentEngine, detect, supported } from '../src/backend.js';
import type { WasmEngine } from '../src/engine.js';
import { DEFAULT_WINDOW, MIN_WINDOW } from '../src/memory.js';

const bytesOf = (build: string) => readFileSync(new URL(`../build/surprisal.${build}.wasm`, import.meta.url));
const relaxedBytes = bytesOf('relaxed');
const simdBytes = bytesOf('simd');
const scalarBytes = bytesOf('scalar');
const original = { ...detect };
/** Whether this engine runs relaxed SIMD (Node ≥ 22, Chrome ≥ 114; not Node 20). */
const RELAXED = WebAssembly.validate(relaxedBytes);
/** The build init() picks here. */
const BEST = RELAXED ? 'wasm-relaxed' : 'wasm-simd';
const bestBytes = RELAXED ? relaxedBytes : simdBytes;

afterEach(() => {
  Object.assign(detect, original);
  vi.restoreAllMocks();
});

describe('init and backend', () => {
  it('every function works, synchronously, on JS before init() resolves; concurrent inits compile once', async () => {
    const compile = vi.spyOn(WebAssembly, 'compile');
    // (Node compiles its own wasm, undici's HTTP parser, lazily: count only ours)
    const ours = () => compile.mock.calls.filter(([b]) => (b as ArrayBufferView).byteLength === bestBytes.length).length;
    expect(backend()).toBe('js');
    const before = entropy([0.99, 0.01], { base: 2 });
    const pending = [init(), init(), init({ backend: 'auto' }), init()];
    expect(backend()).toBe('js');
    expect(entropy([0.99, 0.01], { base: 2 })).toBe(before);
    const results = await Promise.all(pending);
    expect(results).toEqual([BEST, BEST, BEST, BEST]);
    expect(ours()).toBe(1);
    expect(backend()).toBe(BEST);
    expect(Math.abs(entropy([0.99, 0.01], { base: 2 }) - before)).toBeLessThan(1e-16);
    // idempotent: nothing is compiled again
    expect(await init()).toBe(BEST);
    expect(ours()).toBe(1);
  });

  it('forces each backend this engine runs, and switches back and forth', async () => {
    const all = [...supported(), 'js'] as const;
    for (const b of [...all, 'js', ...all.slice().reverse()] as const) {
      expect(await init({ backend: b })).toBe(b);
      expect(backend()).toBe(b);
      expect(logSumExp([1000, 1000])).toBeCloseTo(1000 + Math.LN2, 12);
    }
  });

  it('wasm-relaxed is a backend name: where relaxed SIMD does not validate (Node 20), init({ backend: \'wasm-relaxed\' }) rejects with an Error saying why', async () => {
    await init({ backend: 'wasm-simd' });
    if (RELAXED) {
      expect(await init({ backend: 'wasm-relaxed' })).toBe('wasm-relaxed');
      expect(backend()).toBe('wasm-relaxed');
      return;
    }
    const e = await init({ backend: 'wasm-relaxed' }).then(() => null, (err: unknown) => err);
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).constructor).toBe(Error); // not a TypeError or RangeError: the name is valid, the engine lacks the feature
    expect((e as Error).message).toBe('init: this engine cannot run the wasm-relaxed build (no relaxed SIMD)');
    expect(backend()).toBe('wasm-simd'); // unchanged
  });

  it('detection: the probes are the real ones here — they agree with whether the builds validate', () => {
    expect(detect.wasm()).toBe(true);
    expect(detect.simd()).toBe(WebAssembly.validate(simdBytes));
    expect(detect.simd()).toBe(true);
    expect(detect.relaxed()).toBe(RELAXED);
    const major = Number(process.versions.node.split('.')[0]);
    if (major === 20) expect(detect.relaxed()).toBe(false);
    if (major >= 22) expect(detect.relaxed()).toBe(true);
  });

  it('detection decides the builds, fastest first: relaxed SIMD, SIMD, none', () => {
    detect.relaxed = () => true;
    expect(supported()).toEqual(['wasm-relaxed', 'wasm-simd', 'wasm']);
    detect.relaxed = () => false;
    expect(supported()).toEqual(['wasm-simd', 'wasm']);
    detect.simd = () => false;
    expect(supported()).toEqual(['wasm']);
    detect.relaxed = () => true; // relaxed SIMD without SIMD is no SIMD
    expect(supported()).toEqual(['wasm']);
    detect.wasm = () => false;
    expect(supported()).toEqual([]);
  });

  it('auto falls back past a build that fails to load: relaxed detected but not compiling gives wasm-simd', async () => {
    if (RELAXED) return; // (here relaxed SIMD compiles)
    detect.relaxed = () => true;
    expect(await init()).toBe('wasm-simd');
    expect(backend()).toBe('wasm-simd');
  });

  it('falls back to the scalar build where SIMD does not validate, and to JS without WebAssembly', async () => {
    detect.relaxed = () => false;
    detect.simd = () => false;
    expect(await init()).toBe('wasm');
    await expect(init({ backend: 'wasm-simd' })).rejects.toThrow('init: this engine cannot run the wasm-simd build (no WebAssembly SIMD)');
    await expect(init({ backend: 'wasm-relaxed' })).rejects.toThrow('init: this engine cannot run the wasm-relaxed build (no WebAssembly SIMD)');
    expect(backend()).toBe('wasm');
    detect.wasm = () => false;
    expect(await init()).toBe('js');
    await expect(init({ backend: 'wasm' })).rejects.toThrow('init: this engine cannot run the wasm build (no WebAssembly)');
    expect(backend()).toBe('js');
    expect(Array.from(softmax([0, 0]))).toEqual([0.5, 0.5]);
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
    // the relaxed build: its backend where relaxed SIMD validates; elsewhere it does not compile
    if (RELAXED) expect(await init({ wasm: relaxedBytes })).toBe('wasm-relaxed');
    else {
      await expect(init({ wasm: relaxedBytes })).rejects.toThrow(WebAssembly.CompileError);
      expect(backend()).toBe('wasm-simd');
    }
  });

  it('window: the most bytes a call stages (default 32 MiB, at least 1 MiB), set on every loaded engine', async () => {
    await init({ backend: 'wasm-simd' });
    const heap = () => (currentEngine() as WasmEngine).heap;
    expect(DEFAULT_WINDOW).toBe(32 * 2 ** 20);
    expect(MIN_WINDOW).toBe(2 ** 20);
    expect(heap().windowLimit).toBe(DEFAULT_WINDOW);
    expect(await init({ backend: 'wasm', window: 3 * 2 ** 20 })).toBe('wasm');
    expect(heap().windowLimit).toBe(3 * 2 ** 20);
    expect(await init({ backend: 'wasm-simd' })).toBe('wasm-simd'); // loaded before: the new window too
    expect(heap().windowLimit).toBe(3 * 2 ** 20);
    await init({ window: MIN_WINDOW });
    expect(heap().windowLimit).toBe(MIN_WINDOW);
    await expect(init({ window: MIN_WINDOW - 1 })).rejects.toThrow(RangeError);
    await expect(init({ window: 2 ** 31 + 1 })).rejects.toThrow(RangeError);
    await expect(init({ window: 2 ** 20 + 0.5 })).rejects.toThrow(TypeError);
    await expect(init({ window: '1MB' as unknown as number })).rejects.toThrow(TypeError);
    expect(heap().windowLimit).toBe(MIN_WINDOW); // a rejected window changes nothing
    await init({ window: DEFAULT_WINDOW });
    expect(heap().windowLimit).toBe(DEFAULT_WINDOW);
  });

  it('bad options are rejected with the documented classes; a misspelt option name names the nearest', async () => {
    await expect(init({ backend: 'gpu' as 'js' })).rejects.toThrow(RangeError);
    await expect(init({ backend: 'gpu' as 'js' })).rejects.toThrow(/backend must be 'auto', 'wasm-relaxed', 'wasm-simd', 'wasm' or 'js'/);
    await expect(init('fast' as never)).rejects.toThrow(TypeError);
    await expect(init({ backend: null as never })).rejects.toThrow(new TypeError("init: backend must be 'auto', 'wasm-relaxed', 'wasm-simd', 'wasm' or 'js', got null"));
    await expect(init({ bakend: 'js' } as never)).rejects.toThrow(new TypeError("init: unknown option 'bakend' (did you mean 'backend'?)"));
    await expect(init({ windw: 2 ** 20 } as never)).rejects.toThrow("init: unknown option 'windw' (did you mean 'window'?)");
    await expect(init({ wsam: simdBytes } as never)).rejects.toThrow("init: unknown option 'wsam' (did you mean 'wasm'?)");
    await expect(init({ threads: 4 } as never)).rejects.toThrow("init: unknown option 'threads' (its options: backend, wasm, window)");
    expect(backend()).not.toBe('js'); // nothing changed
  });

  it('the latest init wins when calls race', async () => {
    const a = init({ backend: 'wasm' });
    const b = init({ backend: 'js' });
    await Promise.all([a, b]);
    expect(backend()).toBe('js');
    await init();
    expect(backend()).toBe(BEST);
  });
});

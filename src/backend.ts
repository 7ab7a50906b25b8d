// Choosing and loading a backend.  This is the one module that instantiates
// WebAssembly, and the only user of @assemblyscript/loader: the loader supplies the
// import object AssemblyScript modules expect and instantiates from bytes, a Module or
// a Response; the kernels are then called through the raw exports (the loader's
// demangled wrappers add an arguments-length shim per call that kernels do not need).
//
// A third binary, the SIMD build with its memory imported and shared (`asc --target
// shared`), is loaded only by the worker pool's workers (`initShared`): the calling
// thread writes a worker's rows straight into that worker's memory and reads its
// results from there, so the worker computes in place.
//
// The binaries are inlined as base64 modules (src/wasm/*.generated.ts, written by
// scripts/inline-wasm.js) and imported lazily, so Node, browsers, workers and bundlers
// find them without any path configuration, and only the chosen one is decoded.

import { instantiate } from '@assemblyscript/loader';
import { type Engine, jsEngine, WasmEngine, type Kernels } from './engine.js';
import { WasmArray } from './memory.js';
import type { Backend } from './types.js';

export interface InitOptions {
  /** `'auto'` (default): SIMD WebAssembly where the engine validates it, else scalar WebAssembly, else JS. */
  backend?: 'auto' | Backend;
  /** A binary to use instead of the inlined one: bytes, a compiled Module, a URL, or a fetch Response. */
  wasm?: BufferSource | WebAssembly.Module | URL | string | Response;
}

// A 30-byte module whose one function uses a v128 instruction (as wasm-feature-detect).
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/** Feature detection, replaceable by tests (Node 20 has no switch to turn SIMD off). */
export const detect = {
  wasm: (): boolean => typeof WebAssembly === 'object' && typeof WebAssembly.instantiate === 'function',
  simd: (): boolean => {
    try {
      return WebAssembly.validate(SIMD_PROBE);
    } catch {
      return false;
    }
  },
};

let current: Engine = jsEngine;
let generation = 0;
const loaded = new Map<Backend, Promise<WasmEngine>>();

/**
 * Inputs shorter than `smallInput × weight` elements run on the JS twin even on a wasm
 * backend: below it, copying in and calling out (≈ 100–150 ns) and the kernel's row
 * set-up cost more than the JS loop saves.  The weight is 1 for the exp family and the
 * float32 logs, and larger where a float64 kernel gains less per element over
 * Math.log: 2 for the float64 loss, 4 for the float64 entropies.  Measured at n = 4 …
 * 64 on both engines, every op, float32 and float64.
 */
let smallInput = 16;

/** The engine for an input of `n` elements (`weight`: see smallInput). */
export function engineFor(n: number, weight = 1): Engine {
  return n < smallInput * weight ? jsEngine : current;
}

/**
 * A float array inside the current backend's WebAssembly memory, for zero-copy calls
 * (on the JS backend, an ordinary array behind the same interface).  Free it with
 * `free()` when done; it is also freed when garbage-collected.
 *
 * @example
 * ```ts
 * import { allocate, init, logSumExp } from 'surprisal';
 * await init();
 * const x = allocate(Float64Array, 3);
 * x.array.set([1, 2, 3]);
 * logSumExp(x); // 3.40760596444438
 * x.free();
 * ```
 */
export function allocate(type: Float32ArrayConstructor, length: number): WasmArray<Float32Array>;
export function allocate(type: Float64ArrayConstructor, length: number): WasmArray<Float64Array>;
export function allocate(type: Float32ArrayConstructor | Float64ArrayConstructor, length: number): WasmArray {
  if (type !== Float32Array && type !== Float64Array) {
    throw new TypeError(`allocate: type must be Float32Array or Float64Array, got ${String((type as { name?: string })?.name ?? type)}`);
  }
  if (typeof length !== 'number' || !Number.isInteger(length)) throw new TypeError(`allocate: length must be an integer, got ${String(length)}`);
  if (length < 0 || length > 2 ** 29) throw new RangeError(`allocate: length must be in [0, 2^29], got ${length}`);
  const heap = current instanceof WasmEngine ? current.heap : null;
  return new WasmArray(type as Float64ArrayConstructor, length, heap) as WasmArray;
}

/** @internal tests run the wasm kernels at every length by setting this to 0. */
export function setSmallInputCutoff(n: number): void {
  smallInput = n;
}

/**
 * The backend the functions run on now: `'wasm-simd'`, `'wasm'` or `'js'`.
 *
 * @example
 * ```ts
 * import { backend, init } from 'surprisal';
 * backend(); // 'js' until init() resolves
 * await init();
 * backend(); // 'wasm-simd' on any engine with WebAssembly SIMD
 * ```
 */
export function backend(): Backend {
  return current.name;
}

function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

async function inlined(name: 'wasm-simd' | 'wasm' | 'shared'): Promise<Uint8Array> {
  const mod = name === 'wasm-simd' ? await import('./wasm/simd.generated.js')
    : name === 'wasm' ? await import('./wasm/scalar.generated.js') : await import('./wasm/shared.generated.js');
  return decodeBase64(mod.default);
}

/** Pages the shared build's memory may grow to (declared by the binary: asconfig.json's `maximumMemory`). */
const SHARED_MAXIMUM = 65536;

/**
 * @internal For the pool's workers: switches this thread to the SIMD build over a new
 * shared WebAssembly.Memory and returns that memory (which can be posted to another
 * thread), or null where shared WebAssembly memory is unavailable (no SIMD, no
 * SharedArrayBuffer, a page that is not cross-origin isolated, no address space for it),
 * leaving the backend as it was.
 */
export async function initShared(): Promise<WebAssembly.Memory | null> {
  if (!detect.wasm() || !detect.simd() || typeof SharedArrayBuffer !== 'function') return null;
  let engine: WasmEngine;
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: 1, maximum: SHARED_MAXIMUM, shared: true } as WebAssembly.MemoryDescriptor);
    engine = await load(await inlined('shared'), { env: { memory } });
  } catch {
    return null;
  }
  generation++;
  current = engine;
  return memory;
}

async function bytesOf(source: NonNullable<InitOptions['wasm']>): Promise<BufferSource | WebAssembly.Module> {
  if (source instanceof WebAssembly.Module || source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return source;
  if (typeof Response !== 'undefined' && source instanceof Response) return source.arrayBuffer();
  const url = source instanceof URL ? source : new URL(String(source), (globalThis as { location?: { href: string } }).location?.href);
  if (url.protocol === 'file:') {
    // Node: read the file without a static `node:` import, so bundles for browsers never see one.
    const fs = (globalThis as { process?: { getBuiltinModule?: (id: string) => { readFileSync(u: URL): Uint8Array } } }).process?.getBuiltinModule?.('node:fs');
    if (fs) return fs.readFileSync(url);
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`surprisal: fetching ${url} failed with HTTP ${response.status}`);
  return response.arrayBuffer();
}

/** Instantiates a surprisal build (`imports`: the shared build's memory). */
async function load(source: BufferSource | WebAssembly.Module, imports: Record<string, Record<string, unknown>> = {}): Promise<WasmEngine> {
  const { instance } = await instantiate(source as BufferSource, imports as never);
  const k = instance.exports as unknown as Kernels & { simd(): number };
  if (typeof k.entropyRowsF32 !== 'function' || !(k.memory instanceof WebAssembly.Memory)) {
    throw new TypeError('surprisal: the WebAssembly binary is not a surprisal build');
  }
  return new WasmEngine(k.simd() ? 'wasm-simd' : 'wasm', k);
}

function engine(name: 'wasm-simd' | 'wasm'): Promise<WasmEngine> {
  let p = loaded.get(name);
  if (!p) {
    p = inlined(name).then(load);
    loaded.set(name, p);
    p.catch(() => loaded.delete(name));
  }
  return p;
}

/**
 * Loads the fastest backend this engine supports (or the one asked for) and switches
 * every function to it.  Idempotent and safe to call concurrently: each binary is
 * compiled once.  Until it resolves every function works on the JS backend, with the
 * same results.
 *
 * @example
 * ```ts
 * import { init } from 'surprisal';
 * await init();                    // 'wasm-simd'
 * await init({ backend: 'js' });   // 'js': force the pure-JS path
 * ```
 */
export async function init(options: InitOptions = {}): Promise<Backend> {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`init: options must be an object, got ${String(options)}`);
  }
  const wanted = options.backend ?? 'auto';
  if (!['auto', 'wasm-simd', 'wasm', 'js'].includes(wanted as string)) {
    throw new RangeError(`init: backend must be 'auto', 'wasm-simd', 'wasm' or 'js', got ${String(wanted)}`);
  }
  const mine = ++generation;
  let chosen: Engine;
  if (wanted === 'js' || (wanted === 'auto' && !detect.wasm())) {
    chosen = jsEngine;
  } else if (options.wasm !== undefined) {
    chosen = await bytesOf(options.wasm).then(load);
    if (wanted !== 'auto' && chosen.name !== wanted) {
      throw new Error(`init: the binary given is the ${chosen.name} build, not ${wanted}`);
    }
  } else if (wanted === 'auto') {
    chosen = jsEngine;
    for (const name of detect.simd() ? (['wasm-simd', 'wasm'] as const) : (['wasm'] as const)) {
      try {
        chosen = await engine(name);
        break;
      } catch {
        // try the next build; JS is always there
      }
    }
  } else {
    if (!detect.wasm()) throw new Error(`init: ${wanted} needs WebAssembly, which this engine lacks`);
    if (wanted === 'wasm-simd' && !detect.simd()) throw new Error('init: this engine does not support WebAssembly SIMD');
    chosen = await engine(wanted);
  }
  if (mine === generation) current = chosen;
  return chosen.name;
}

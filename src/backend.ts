// Choosing and loading a backend: the one module that instantiates WebAssembly.
//
// Three builds of the same kernels (asconfig.json): relaxed SIMD (fused multiply-add),
// SIMD, scalar.  Each imports its memory, so the same binary also runs on a shared
// memory, one instance per thread, in the pool (`instantiateShared`).  The binaries are
// inlined as base64 modules of gzipped bytes (src/wasm/*.generated.ts, written by
// scripts/inline-wasm.js; the relaxed build as a delta against the SIMD build) and
// imported lazily, so Node, Deno, Bun, browsers, workers and bundlers find them with no
// path configuration, and only the chosen one is decoded.  They need no imports but
// their memory: no loader library is involved.

import { type Engine, type Exports, jsEngine, ROOM_BYTES, WasmEngine } from './engine.js';
import { DEFAULT_WINDOW, MIN_WINDOW, WasmArray } from './memory.js';
import type { Backend } from './types.js';
import { checkOptions, describe } from './args.js';

// The platform's WebAssembly.Module and fetch Response where its types declare them (the
// DOM, webworker or Node's), so that the declarations compile in any project.
type WasmModule = typeof globalThis extends { WebAssembly: { Module: new (...a: never[]) => infer M } } ? M : never;
type FetchResponse = typeof globalThis extends { Response: new (...a: never[]) => infer R } ? R : never;

export interface InitOptions {
  /** `'auto'` (default): the fastest build this engine validates, else JS. */
  backend?: 'auto' | Backend;
  /** A binary to use instead of the inlined one: bytes, a compiled Module, a URL, or a fetch Response. */
  wasm?: ArrayBuffer | ArrayBufferView | WasmModule | URL | string | FetchResponse;
  /**
   * The most bytes of WebAssembly memory a call may stage through (default 32 MiB, at
   * least 1 MiB): larger inputs stream through it, so the module's memory never grows
   * past it plus your WasmArrays.
   */
  window?: number;
}

type WasmBackend = Exclude<Backend, 'js'>;

// Two 30-odd-byte modules whose one function uses a v128 instruction (as wasm-feature-detect),
// and a relaxed one (f32x4.relaxed_madd).
const SIMD_PROBE: Uint8Array<ArrayBuffer> = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
const RELAXED_PROBE: Uint8Array<ArrayBuffer> = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 19, 1, 17, 0, 65, 1, 253, 15, 65, 2, 253, 15, 65, 3, 253, 15, 253, 133, 2, 11]);

function validates(bytes: Uint8Array<ArrayBuffer>): boolean {
  try {
    return WebAssembly.validate(bytes);
  } catch {
    return false;
  }
}

/** Feature detection, replaceable by tests (Node 20 has no switch to turn SIMD off). @internal */
export const detect = {
  wasm: (): boolean => typeof WebAssembly === 'object' && typeof WebAssembly.instantiate === 'function',
  simd: (): boolean => validates(SIMD_PROBE),
  relaxed: (): boolean => validates(RELAXED_PROBE),
};

let current: Engine = jsEngine;
let generation = 0;
let windowBytes = DEFAULT_WINDOW;
const loaded = new Map<WasmBackend, Promise<WasmEngine>>();

/**
 * Inputs shorter than this (times a plan's `weight`) run on the JS twin even on a wasm
 * backend: below it, staging, the call into wasm and a kernel's row set-up cost more
 * than the twin's loop.  The weights put each family at its crossover (plan.ts states
 * each; measured: docs/performance.md, "Small calls"); the tables' margins and
 * histograms, whose kernels are passes over columns, take 6 and 3.
 */
let smallInput = 16;

/** The engine for an input of `n` elements (`weight`: see smallInput). @internal */
export function engineFor(n: number, weight = 1): Engine {
  return n < smallInput * weight ? jsEngine : current;
}

/** Whether vectors of a few entries take src/small.ts's loops (not while tests run the kernels at every length). @internal */
export function smallCalls(): boolean {
  return smallInput > 0;
}

/** The latest `init()` call's promise (null before any): a pool waits for it, or initialises the calling thread itself (see `startPool`). @internal */
export function lastInit(): Promise<Backend> | null {
  return latest;
}
let latest: Promise<Backend> | null = null;

/** The current engine, whatever the input's size. @internal */
export function currentEngine(): Engine {
  return current;
}

/** Tests run the wasm kernels at every length by setting this to 0. @internal */
export function setSmallInputCutoff(n: number): void {
  smallInput = n;
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
    throw new TypeError(`allocate: type must be Float32Array or Float64Array, got ${describe(type)}`);
  }
  if (typeof length !== 'number' || !Number.isInteger(length)) throw new TypeError(`allocate: length must be an integer, got ${describe(length)}`);
  const most = 2 ** 32 / type.BYTES_PER_ELEMENT - 2 ** 20;
  if (length < 0 || length > most) {
    throw new RangeError(`allocate: length must be in [0, ${most}] (WebAssembly memory holds at most 4 GiB), got ${length}`);
  }
  const heap = current instanceof WasmEngine ? current.heap : null;
  return new WasmArray(type as Float64ArrayConstructor, length, heap) as WasmArray;
}

/**
 * The backend the functions run on now: `'wasm-relaxed'`, `'wasm-simd'`, `'wasm'` or `'js'`.
 *
 * @example
 * ```ts
 * import { backend, init } from 'surprisal';
 * backend(); // 'js' until init() resolves
 * await init();
 * backend(); // 'wasm-relaxed' where relaxed SIMD is on (Node ≥ 22, Chrome ≥ 114), else 'wasm-simd'
 * ```
 */
export function backend(): Backend {
  return current.name;
}

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/** Inflates gzip data (every engine with WebAssembly SIMD has DecompressionStream). */
async function gunzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * The relaxed build from the SIMD build and its delta (scripts/inline-wasm.js): varints,
 * 2·n then n literal bytes, or 2·n + 1 then an offset: n bytes of the base from there.
 */
function applyDelta(base: Uint8Array, delta: Uint8Array): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  let i = 0, size = 0;
  const varint = (): number => {
    let v = 0, scale = 1, b: number;
    do {
      b = delta[i++];
      v += (b & 127) * scale;
      scale *= 128;
    } while (b & 128);
    return v;
  };
  while (i < delta.length) {
    const op = varint(), n = Math.floor(op / 2);
    if (op % 2 === 0) {
      parts.push(delta.subarray(i, i + n));
      i += n;
    } else {
      const at = varint();
      parts.push(base.subarray(at, at + n));
    }
    size += n;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The inlined binary of a build. @internal */
export async function inlined(name: WasmBackend): Promise<Uint8Array<ArrayBuffer>> {
  if (name === 'wasm') return gunzip(decodeBase64((await import('./wasm/scalar.generated.js')).default));
  const simd = await gunzip(decodeBase64((await import('./wasm/simd.generated.js')).default));
  if (name === 'wasm-simd') return simd;
  return applyDelta(simd, await gunzip(decodeBase64((await import('./wasm/relaxed.generated.js')).default)));
}

/**
 * A build compiled to import a shared memory (the worker pool's): in the import entry
 * `env.memory` (a memory, kind 2) the limits flag 1 (minimum and maximum) becomes 3
 * (shared, minimum and maximum).  The import section comes before any code or data, so
 * the first such entry is the import. @internal
 */
export async function sharedModule(name: WasmBackend): Promise<WebAssembly.Module> {
  const bytes = await inlined(name);
  const entry = new TextEncoder().encode('\x03env\x06memory\x02');
  for (let p = 8; p + entry.length < bytes.length; p++) {
    if (!entry.every((b, j) => bytes[p + j] === b)) continue;
    if (bytes[p + entry.length] !== 1) break;
    bytes[p + entry.length] = 3;
    return WebAssembly.compile(bytes);
  }
  throw new Error('surprisal pool: the build imports no memory with a maximum');
}

const BUILDS: WasmBackend[] = ['wasm', 'wasm-simd', 'wasm-relaxed'];
/** The largest memory a build may have (asconfig.json's maximumMemory): 4 GiB. @internal */
export const MAX_PAGES = 65536;

/** Instantiates a surprisal build on `memory` (a new one, not shared, when absent). @internal */
export async function instantiate(source: BufferSource | WebAssembly.Module, memory?: WebAssembly.Memory): Promise<{ exports: Exports; name: WasmBackend }> {
  memory ??= new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES });
  const module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source);
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const exports = instance.exports as unknown as Exports & { build?: () => number };
  if (typeof exports.build !== 'function' || typeof exports.heapBase !== 'function') {
    throw new TypeError('surprisal: the WebAssembly binary is not a surprisal build');
  }
  // (a spread keeps the object's properties fast, where Object.assign onto Object.create(null)
  // makes a dictionary: a kernel read by name is then a field load, not a hash probe)
  return { exports: Object.setPrototypeOf({ ...exports, memory }, null) as Exports, name: BUILDS[exports.build()] };
}

async function load(source: BufferSource | WebAssembly.Module): Promise<WasmEngine> {
  const { exports, name } = await instantiate(source);
  const engine = new WasmEngine(name, exports);
  engine.heap.windowLimit = windowBytes;
  // the window from the start: small calls stage into it (engine.ts, `room`) and never grow memory
  engine.heap.window(ROOM_BYTES);
  return engine;
}

async function bytesOf(source: NonNullable<InitOptions['wasm']>): Promise<BufferSource | WebAssembly.Module> {
  if (source instanceof WebAssembly.Module || source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return source;
  if (typeof Response !== 'undefined' && source instanceof Response) return source.arrayBuffer();
  const url = source instanceof URL ? source : new URL(String(source), (globalThis as { location?: { href: string } }).location?.href);
  if (url.protocol === 'file:') {
    // Node, Deno, Bun: read the file without a static `node:` import, so bundles for browsers never see one
    const fs = (globalThis as { process?: { getBuiltinModule?: (id: string) => { readFileSync(u: URL): Uint8Array } } }).process?.getBuiltinModule?.('node:fs');
    if (fs) return fs.readFileSync(url);
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`surprisal: fetching ${url} failed with HTTP ${response.status}`);
  return response.arrayBuffer();
}

function engine(name: WasmBackend): Promise<WasmEngine> {
  let p = loaded.get(name);
  if (!p) {
    p = inlined(name).then(load);
    loaded.set(name, p);
    p.catch(() => loaded.delete(name));
  }
  return p;
}

/** The builds this engine can run, fastest first. */
export function supported(): WasmBackend[] {
  if (!detect.wasm()) return [];
  if (!detect.simd()) return ['wasm'];
  return detect.relaxed() ? ['wasm-relaxed', 'wasm-simd', 'wasm'] : ['wasm-simd', 'wasm'];
}

const INIT_OPTIONS = ['backend', 'wasm', 'window'] as const;
/** The names `init({ backend })` and `createPool({ backend })` take. */
const BACKENDS = ['auto', 'wasm-relaxed', 'wasm-simd', 'wasm', 'js'];

/** A `backend` option (absent: 'auto'); a string that is none of them is a RangeError, anything else a TypeError. @internal */
export function backendOption(fn: string, v: unknown): 'auto' | Backend {
  if (v === undefined) return 'auto';
  if (BACKENDS.includes(v as string)) return v as 'auto' | Backend;
  throw new (typeof v === 'string' ? RangeError : TypeError)(`${fn}: backend must be 'auto', 'wasm-relaxed', 'wasm-simd', 'wasm' or 'js', got ${describe(v)}`);
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
 * await init();                    // 'wasm-relaxed', 'wasm-simd' or 'wasm': the fastest this engine runs
 * await init({ backend: 'js' });   // 'js': force the pure-JS path
 * ```
 */
export function init(options: InitOptions = {}): Promise<Backend> {
  const p = switchTo(options);
  latest = p;
  return p;
}

/** init()'s work: validate, load, switch (a later call wins: see `generation`). */
async function switchTo(options: InitOptions): Promise<Backend> {
  if (options === null || typeof options !== 'object') throw new TypeError(`init: options must be an object, got ${describe(options)}`);
  checkOptions('init', options, INIT_OPTIONS);
  const wanted = backendOption('init', options.backend);
  if (options.window !== undefined) {
    const w = options.window;
    if (typeof w !== 'number' || !Number.isInteger(w)) throw new TypeError(`init: window must be an integer number of bytes, got ${describe(w)}`);
    if (w < MIN_WINDOW || w > 2 ** 31) throw new RangeError(`init: window must be between ${MIN_WINDOW} (1 MiB) and 2^31 bytes, got ${w}`);
    windowBytes = w;
    for (const p of loaded.values()) p.then((e) => (e.heap.windowLimit = w), () => {});
  }
  const mine = ++generation;
  let chosen: Engine;
  if (wanted === 'js' || (wanted === 'auto' && !detect.wasm())) {
    chosen = jsEngine;
  } else if (options.wasm !== undefined) {
    chosen = await bytesOf(options.wasm).then(load);
    if (wanted !== 'auto' && chosen.name !== wanted) throw new Error(`init: the binary given is the ${chosen.name} build, not ${wanted}`);
  } else if (wanted === 'auto') {
    chosen = jsEngine;
    for (const name of supported()) {
      try {
        chosen = await engine(name);
        break;
      } catch {
        // try the next build; JS is always there
      }
    }
  } else {
    if (!supported().includes(wanted)) {
      throw new Error(`init: this engine cannot run the ${wanted} build (${!detect.wasm() ? 'no WebAssembly' : !detect.simd() ? 'no WebAssembly SIMD' : 'no relaxed SIMD'})`);
    }
    chosen = await engine(wanted);
  }
  if (mine === generation) current = chosen;
  return chosen.name;
}

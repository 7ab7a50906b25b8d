// What the calling thread and the pool's workers share: how a call is described to the
// workers, how a chunk of its rows is computed (the same code on every thread), and the
// worker's side of both modes.
//
// Shared mode: one shared WebAssembly memory M holds everything a call touches — your
// `pool.array`s, the staging slots through which ordinary arrays pass, every thread's
// small window — and each thread runs an instance of the same build on it.  A call is a
// descriptor (JSON in shared memory) and a control block of counters: every thread,
// the calling one included, takes the next chunk from NEXT until none is left (OpenMP's
// dynamic schedule).  Transfer mode (no SharedArrayBuffer, or `shared: false`): each
// chunk's rows go to a worker in buffers of their own and come back.

import { detect, inlined, init, instantiate, supported } from '../backend.js';
import { jsEngine, WasmEngine, type Engine } from '../engine.js';
import { KERNELS, type KernelName } from '../kernels.js';
import type { Backend } from '../types.js';
import type { Elem } from '../memory.js';

export type { Elem };

// control block (Int32Array over a SharedArrayBuffer)
export const SEQ = 0; // the call's number, twice: odd while a call is being written (a seqlock)
export const NEXT = 1; // the next chunk to take, tagged with the call: (tag << 20) | k
export const TOTAL = 2; // chunks in the call
export const STAGED = 3; // chunks whose inputs are in place
export const DONE = 4; // chunks computed
export const FAILED = 5; // 1 once a chunk threw (its message in the descriptor area)
export const CLOSE = 6; // 1: workers leave
export const LENGTH = 7; // the descriptor's length in bytes
export const JOINED = 8; // workers that took part in the call (they leave once NEXT is past TOTAL)
/** Per staging slot: k + 1 once chunk k (the slot's current one) is computed. */
export const SLOT_DONE = 16;
export const CONTROL_WORDS = 16 + 1024;
/** Bytes of the descriptor area (JSON; a failed chunk's message is written after it). */
export const DESCRIPTOR_BYTES = 1 << 16;

const TYPES = { f32: Float32Array, f64: Float64Array, i32: Int32Array, u8: Uint8Array } as const;

/** Where one array of a call is, for every thread: row-wise (split by chunk) or whole (per column, scalars per call). */
export interface ArrayRef {
  elem: Elem;
  /** Row-wise: its elements per row; whole: its length. */
  per: number;
  rowwise: boolean;
  /** In M (your pool.array): its byte offset; staged: −1. */
  at: number;
  /** Staged: its byte offset within a slot (row-wise) or in the call's fixed area (whole). */
  offset: number;
}

/** An argument of a stage: an array (by index into `arrays`), a number, or absent. */
export type ArgRef = { a: number } | number | null;

export interface Descriptor {
  /** The call's tag in NEXT: a worker late for a call can never take a chunk of the next one. */
  tag: number;
  total: number;
  stages: { kernel: KernelName; f32: boolean; args: ArgRef[] }[];
  arrays: ArrayRef[];
  rows: number;
  cols: number;
  chunkRows: number;
  /** Staging: slots in the ring, bytes a slot, and where they start in M; the fixed area's start. */
  slots: number;
  slotBytes: number;
  slotBase: number;
  fixedBase: number;
}

/** Rows [r0, r1) of chunk k. */
export function chunkRange(d: Descriptor, k: number): [number, number] {
  const r0 = k * d.chunkRows;
  return [r0, Math.min(d.rows, r0 + d.chunkRows)];
}

/**
 * Computes chunk k of a call on `engine`, over memory `buffer` (M): each row-wise array
 * as a view of the chunk's rows (in place in M, or in the chunk's slot), the others
 * whole; `rows` is the chunk's row count.
 */
export function computeChunk(d: Descriptor, k: number, engine: Engine, buffer: ArrayBufferLike): void {
  const [r0, r1] = chunkRange(d, k);
  const n = r1 - r0;
  const slot = d.slotBase + (k % d.slots) * d.slotBytes;
  const views = d.arrays.map((a) => {
    const Type = TYPES[a.elem];
    if (!a.rowwise) return new Type(buffer as ArrayBuffer, a.at >= 0 ? a.at : d.fixedBase + a.offset, a.per);
    const at = a.at >= 0 ? a.at + r0 * a.per * Type.BYTES_PER_ELEMENT : slot + a.offset;
    return new Type(buffer as ArrayBuffer, at, n * a.per);
  });
  for (const s of d.stages) {
    const params = KERNELS[s.kernel].params;
    const args = s.args.map((v, i) => (params[i].kind === 'rows' ? n : v !== null && typeof v === 'object' ? views[v.a] : v));
    engine.run(s.kernel, s.f32, args);
  }
}

/** Where to reach a descriptor: its bytes, written by the calling thread. */
export function readDescriptor(bytes: Uint8Array, length: number): Descriptor {
  return JSON.parse(new TextDecoder().decode(bytes.slice(0, length))) as Descriptor;
}

export function writeDescriptor(bytes: Uint8Array, d: Descriptor): number {
  const encoded = new TextEncoder().encode(JSON.stringify(d));
  if (encoded.length > DESCRIPTOR_BYTES / 2) throw new Error('surprisal pool: call descriptor too large');
  bytes.set(encoded);
  return encoded.length;
}

// ---------------------------------------------------------------------------------
// Shared mode
// ---------------------------------------------------------------------------------

/** What a worker gets once, to join a shared-mode pool. */
export interface SharedSetup {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  control: SharedArrayBuffer;
  descriptor: SharedArrayBuffer;
  /** The worker's window in M, and its limit on rows streamed through it. */
  window: number;
  windowBytes: number;
  /** Milliseconds to keep polling for the next call before sleeping. */
  spin: number;
  /** False: compute each chunk in a memory of the worker's own (the engine stages it). */
  inMemory: boolean;
}

/** An engine over the pool's shared memory M, with its window at `window` (see `Heap.trust`). */
export async function sharedEngine(module: WebAssembly.Module, memory: WebAssembly.Memory, window: number, windowBytes: number, name: Backend): Promise<WasmEngine> {
  const { exports } = await instantiate(module, memory);
  const engine = new WasmEngine(name, exports);
  engine.heap.trust(window, windowBytes);
  return engine;
}

/** The clock, read rarely: Node 20's performance.now() allocates. */
const now = (): number => performance.now();

/**
 * Takes chunks of the current call until none is left (waiting for each to be staged),
 * computing each on `engine`; a chunk that throws marks the call failed with its message.
 */
export function takeChunks(control: Int32Array, d: Descriptor, engine: Engine, memory: WebAssembly.Memory, message: Uint8Array): void {
  for (;;) {
    const k = claim(control, d);
    if (k < 0) return;
    // the calling thread stages chunks in order: wait for this one's inputs
    while (Atomics.load(control, STAGED) <= k) {
      if (Atomics.load(control, FAILED)) return;
      Atomics.wait(control, STAGED, Atomics.load(control, STAGED), 1);
    }
    if (Atomics.load(control, FAILED)) return;
    try {
      computeChunk(d, k, engine, memory.buffer);
    } catch (e) {
      if (Atomics.compareExchange(control, FAILED, 0, 1) === 0) {
        const text = new TextEncoder().encode(String((e as Error)?.stack ?? e).slice(0, 2000));
        message.set(text.subarray(0, message.length - 4), 4);
        new DataView(message.buffer, message.byteOffset).setInt32(0, Math.min(text.length, message.length - 4), true);
      }
    }
    finished(control, d, k);
  }
}

/** The next chunk of call `d` (−1: none left, or the call is over). */
export function claim(control: Int32Array, d: Descriptor): number {
  for (;;) {
    const w = Atomics.load(control, NEXT);
    const k = w & 0xfffff;
    if (w >>> 20 !== d.tag || k >= d.total) return -1;
    if (Atomics.compareExchange(control, NEXT, w, w + 1) === w) return k;
  }
}

/** Marks chunk k of call `d` computed (its slot's flag, the count) and wakes whoever waits for it. */
export function finished(control: Int32Array, d: Descriptor, k: number): void {
  Atomics.store(control, SLOT_DONE + (k % d.slots), k + 1);
  Atomics.add(control, DONE, 1);
  Atomics.notify(control, DONE);
}

/** A shared-mode worker's life: wait for a call, take its chunks, again, until CLOSE. */
export async function sharedWorker(setup: SharedSetup, name: Backend): Promise<void> {
  const engine = setup.inMemory ? await sharedEngine(setup.module, setup.memory, setup.window, setup.windowBytes, name)
    : (await init({ backend: name }), (await import('../backend.js')).currentEngine());
  const control = new Int32Array(setup.control);
  const bytes = new Uint8Array(setup.descriptor);
  const message = bytes.subarray(DESCRIPTOR_BYTES / 2);
  let seq = Atomics.load(control, SEQ);
  for (;;) {
    // poll for the next call for `spin` ms (waking a sleeping thread costs ~0.1 ms), then sleep
    const until = now() + setup.spin;
    let polls = 0;
    while (Atomics.load(control, SEQ) === seq && (++polls & 255 || now() < until)) { /* poll */ }
    while (Atomics.load(control, SEQ) === seq) Atomics.wait(control, SEQ, seq);
    seq = Atomics.load(control, SEQ);
    if (Atomics.load(control, CLOSE)) return;
    if (seq & 1) continue; // being written: wait for the next change
    const d = readDescriptor(bytes, Atomics.load(control, LENGTH));
    if (Atomics.load(control, SEQ) !== seq) continue; // rewritten meanwhile
    Atomics.add(control, JOINED, 1);
    takeChunks(control, d, engine, setup.memory, message);
  }
}

// ---------------------------------------------------------------------------------
// Transfer mode: a chunk's arrays travel with its message
// ---------------------------------------------------------------------------------

export interface ChunkRequest {
  id: number;
  stages: { kernel: KernelName; f32: boolean; args: unknown[] }[];
}

export interface ChunkReply {
  id: number;
  /** The stages' arguments as computed (outputs filled), or the error's message. */
  stages?: { args: unknown[] }[];
  error?: string;
}

/** Computes a transferred chunk on this worker's engine; returns the reply and the buffers to transfer back. */
export function serveChunk(req: ChunkRequest): { reply: ChunkReply; transfer: ArrayBuffer[] } {
  try {
    const engine = current();
    for (const s of req.stages) engine.run(s.kernel, s.f32, s.args);
    const transfer = new Set<ArrayBuffer>();
    for (const s of req.stages) for (const a of s.args) if (ArrayBuffer.isView(a) && a.buffer instanceof ArrayBuffer) transfer.add(a.buffer);
    return { reply: { id: req.id, stages: req.stages.map((s) => ({ args: s.args })) }, transfer: [...transfer] };
  } catch (e) {
    return { reply: { id: req.id, error: String((e as Error)?.message ?? e) }, transfer: [] };
  }
}

let engineNow: Engine = jsEngine;
const current = (): Engine => engineNow;

/** A transfer-mode worker's backend: the one asked for, as `init` loads it. */
export async function transferWorker(backend: 'auto' | Backend, window: number): Promise<Backend> {
  const name = await init({ backend, window });
  const { currentEngine } = await import('../backend.js');
  engineNow = currentEngine();
  return name;
}

/** The backend a pool's shared memory runs: the build `init` would pick, as asked. */
export function sharedBackend(backend: 'auto' | Backend): Exclude<Backend, 'js'> | null {
  const builds = supported();
  if (backend === 'js' || !detect.wasm()) return null;
  if (backend === 'auto') return builds[0] ?? null;
  return builds.includes(backend) ? backend : null;
}

/** The binary of a build with its memory import made shared (a flag in the import section). */
export async function sharedModule(name: Exclude<Backend, 'js'>): Promise<WebAssembly.Module> {
  const bytes = new Uint8Array(await inlined(name));
  let p = 8;
  const leb = (): number => {
    let v = 0, shift = 0, b: number;
    do {
      b = bytes[p++];
      v |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    return v >>> 0;
  };
  while (p < bytes.length) {
    const id = bytes[p++];
    const size = leb();
    const end = p + size;
    if (id === 2) {
      for (let count = leb(); count > 0; count--) {
        for (let names = 0; names < 2; names++) {
          const length = leb(); // the module's name, then the field's (read p after leb moves it)
          p += length;
        }
        const kind = bytes[p++];
        if (kind === 2) {
          if (bytes[p] !== 1) throw new Error('surprisal pool: the build\'s memory import has no maximum');
          bytes[p] = 3; // limits: shared, with minimum and maximum
          return WebAssembly.compile(bytes);
        }
        if (kind === 0) leb();
        else if (kind === 1) { p++; const f = bytes[p++]; leb(); if (f & 1) leb(); }
        else if (kind === 3) p += 2;
      }
    }
    p = end;
  }
  throw new Error('surprisal pool: the build imports no memory');
}

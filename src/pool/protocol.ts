// What the calling thread and the workers share: the control block and descriptor through
// which a shared-mode call is published and its chunks taken, transfer mode's messages,
// how a chunk is computed (the same code on every thread), and a worker's life.
// See docs/pool.md.

import { currentEngine, init, instantiate } from '../backend.js';
import { type Engine, WasmEngine } from '../engine.js';
import { KERNELS, type KernelName } from '../kernels.js';
import type { Elem } from '../memory.js';
import type { Backend } from '../types.js';

// the control block's words (an Int32Array over a SharedArrayBuffer)
export const SEQ = 0; // the call's number, twice: odd while a call is being written (a seqlock)
export const NEXT = 1; // the next chunk to take, tagged with the call: (tag << 20) | k
export const STAGED = 2; // chunks whose inputs are in place
export const DONE = 3; // chunks computed
export const CLOSE = 4; // 1: workers leave (the pool is closed, or has failed)
export const LENGTH = 5; // the descriptor's length in bytes
export const SLOT_DONE = 6; // per staging slot: k + 1 once its chunk k is computed
export const CONTROL_WORDS = SLOT_DONE + 1024;
/** Bytes of the descriptor area (the call as JSON). */
export const DESCRIPTOR_BYTES = 1 << 15;
/** A worker's window in M, for its kernels' scratch and row parts (chunks are computed in place). */
export const WINDOW = 256 * 1024;

export type Build = Exclude<Backend, 'js'>;
export const TYPES = { f32: Float32Array, f64: Float64Array, i32: Int32Array, u8: Uint8Array } as const;

/**
 * One array of a call: row-wise (`per`: elements a row) or whole (`per`: its length); in M
 * (a `pool.array`) at byte offset `at`, or staged (`at` −1) at `offset` in a slot (row-wise)
 * or in the fixed area (whole).
 */
export type ArrayRef = { elem: Elem; per: number; rowwise: boolean; at: number; offset: number };

/** A kernel call of a call, its arrays `{ a: index }` into the call's arrays. */
export type StageRef = { kernel: KernelName; f32: boolean; args: ({ a: number } | number | null)[] };

/**
 * A shared-mode call: `tag` marks its chunks in NEXT (a worker late for one call never takes
 * a chunk of the next); `total` chunks of `chunkRows` rows; a ring of `slots` staging slots
 * of `slotBytes` from `slotBase` in M, and the fixed area at `fixedBase`.
 */
export type Descriptor = {
  tag: number; rows: number; chunkRows: number; total: number; slots: number; slotBytes: number; slotBase: number; fixedBase: number;
  arrays: ArrayRef[]; stages: StageRef[];
};

/**
 * A worker's first message.  Shared mode: the memory M, the build's module made for it, the
 * control block and descriptor area, and the worker's window in M.
 */
export type Setup = SharedSetup | { mode: 'transfer'; backend: 'auto' | Backend };
export type SharedSetup = {
  mode: 'shared'; backend: Build; memory: WebAssembly.Memory; module: WebAssembly.Module;
  control: SharedArrayBuffer; descriptor: SharedArrayBuffer; window: number;
};

/** Transfer mode: a chunk of `rows` rows, its row-wise arrays cut to the chunk. */
export type ChunkRequest = { id: number; stages: StageRef[]; arrays: ArrayLike<number>[]; rows: number };
/** The chunk's arrays with the outputs filled, or an error (id 0: a shared-mode worker failed). */
export type ChunkReply = { id: number; arrays: ArrayLike<number>[] } | { id: number; error: string };

function runStages(stages: StageRef[], arrays: ArrayLike<number>[], rows: number, engine: Engine): void {
  for (const { kernel, f32, args } of stages) {
    const params = KERNELS[kernel].params;
    engine.run(kernel, f32, args.map((v, i) => (params[i].kind === 'rows' ? rows : v !== null && typeof v === 'object' ? arrays[v.a] : v)));
  }
}

/** Computes chunk k over M's `buffer`: row-wise arrays as views of the chunk's rows (in place, or in its slot). */
export function computeChunk(d: Descriptor, k: number, engine: Engine, buffer: ArrayBufferLike): void {
  const r0 = k * d.chunkRows, rows = Math.min(d.chunkRows, d.rows - r0);
  const slot = d.slotBase + (k % d.slots) * d.slotBytes;
  const views = d.arrays.map(({ elem, per, rowwise, at, offset }) => {
    const Type = TYPES[elem];
    if (!rowwise) return new Type(buffer as ArrayBuffer, at >= 0 ? at : d.fixedBase + offset, per);
    return new Type(buffer as ArrayBuffer, at >= 0 ? at + r0 * per * Type.BYTES_PER_ELEMENT : slot + offset, rows * per);
  });
  runStages(d.stages, views, rows, engine);
}

/** The next chunk of call `d` (−1: none left, or the call is over). */
export function claim(control: Int32Array, d: Descriptor): number {
  for (;;) {
    const w = Atomics.load(control, NEXT), k = w & 0xfffff;
    if (w >>> 20 !== d.tag || k >= d.total) return -1;
    if (Atomics.compareExchange(control, NEXT, w, w + 1) === w) return k;
  }
}

/** Marks chunk k computed and wakes whoever waits for it. */
export function finished(control: Int32Array, d: Descriptor, k: number): void {
  Atomics.store(control, SLOT_DONE + (k % d.slots), k + 1);
  Atomics.add(control, DONE, 1);
  Atomics.notify(control, DONE);
}

type Post = (message: unknown, transfer?: Transferable[]) => void;

/**
 * A worker's message handler.  The first message is its setup, answered `{ ready }` once
 * the worker can compute (or `{ error }`); then shared mode takes chunks call after call
 * until the pool closes (a throw ends it, posted as `{ id: 0, error }`), and transfer mode
 * answers each chunk's message with the chunk's arrays.
 */
export function worker(post: Post): (message: unknown) => void {
  let ready: Promise<unknown> | null = null;
  const refuse = (e: Error) => post({ error: String(e?.message ?? e) });
  return (message) => {
    if (ready) {
      void ready.then(() => serve(message as ChunkRequest, post));
      return;
    }
    const setup = message as Setup;
    if (setup.mode === 'transfer') {
      ready = init({ backend: setup.backend }).then((name) => post({ ready: name }), refuse);
      return;
    }
    ready = Promise.resolve();
    joinShared(setup).then((engine) => {
      post({ ready: setup.backend });
      // once the ready message is on its way: from here on this thread waits in Atomics.wait
      setTimeout(() => {
        try {
          serveShared(setup, engine);
        } catch (e) {
          post({ id: 0, error: String(e) });
        }
      }, 0);
    }, refuse);
  };
}

function serve({ id, stages, arrays, rows }: ChunkRequest, post: Post): void {
  try {
    runStages(stages, arrays, rows, currentEngine());
    post({ id, arrays }, arrays.flatMap((a) => (ArrayBuffer.isView(a) ? [a.buffer as ArrayBuffer] : [])));
  } catch (e) {
    post({ id, error: String(e) });
  }
}

/** A shared-mode worker's engine: the build over M, its window there. */
async function joinShared(setup: SharedSetup): Promise<Engine> {
  const shared = new WasmEngine(setup.backend, (await instantiate(setup.module, setup.memory)).exports);
  shared.heap.trust(setup.window, WINDOW);
  return shared;
}

function serveShared(setup: SharedSetup, engine: Engine): void {
  const control = new Int32Array(setup.control), words = new Int32Array(setup.descriptor);
  let seq = Atomics.load(control, SEQ);
  for (;;) {
    while (Atomics.load(control, SEQ) === seq) Atomics.wait(control, SEQ, seq);
    seq = Atomics.load(control, SEQ);
    if (Atomics.load(control, CLOSE)) return;
    if (seq & 1) continue; // being written: wait for the next change
    // copied with atomic loads (which no CPU moves past the second read of SEQ, unlike plain
    // ones on ARM) and parsed only if SEQ has not moved: read during a write, it is torn
    const length = Atomics.load(control, LENGTH), copy = new Int32Array((length + 3) >> 2);
    for (let i = 0; i < copy.length; i++) copy[i] = Atomics.load(words, i);
    if (Atomics.load(control, SEQ) !== seq) continue;
    const d = JSON.parse(new TextDecoder().decode(new Uint8Array(copy.buffer, 0, length))) as Descriptor;
    for (let k = 0; !Atomics.load(control, CLOSE) && (k = claim(control, d)) >= 0;) {
      // chunks are staged in order: wait for this one's inputs
      while (Atomics.load(control, STAGED) <= k) {
        if (Atomics.load(control, CLOSE)) return;
        Atomics.wait(control, STAGED, Atomics.load(control, STAGED), 1);
      }
      computeChunk(d, k, engine, setup.memory.buffer);
      finished(control, d, k);
    }
  }
}

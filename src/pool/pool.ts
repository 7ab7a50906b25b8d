// A pool of workers that runs the row-wise (`cols`) functions across threads.  A call is
// the plan of the single-thread function (plan.ts: the same validation, the same kernel
// calls); its rows are cut into chunks of a fixed amount of work, and every thread — the
// calling one too — takes the next chunk from one shared counter until none is left
// (OpenMP's dynamic schedule), so a thread that is slow, or has lost its core to another
// process, simply takes fewer chunks.  Each row's result is the kernel's on that row
// alone and the plan's `finish` (a reduction, say) runs on the calling thread, so every
// value is the single call's bit for bit.
//
// Shared mode (Node; pages that are cross-origin isolated): one shared WebAssembly
// memory holds the rows — your `pool.array`s in place, ordinary arrays copied through a
// ring of staging slots chunk by chunk, so that workers start on the first chunk while
// the calling thread copies the next, and results are copied back as chunks finish.
// Transfer mode (`shared: false`, pages without isolation): each chunk's rows travel to a
// worker in buffers of their own and back.  See docs/pool.md.

import { execute, type Plan } from '../plan.js';
import { BACKENDS, currentEngine, engineFor, init, instantiate, lastInit, MAX_PAGES } from '../backend.js';
import { copy, align, DEFAULT_WINDOW } from '../memory.js';
import { KERNELS, type Kind, ROW_GROUP } from '../kernels.js';
import { elemOf, type Engine, jsEngine, WasmEngine } from '../engine.js';
import { logSumExpPlan, mapPlan, softmaxEntropyPlan, softmaxKlDivergencePlan } from '../softmax.js';
import { softmaxCrossEntropyPlan } from '../loss.js';
import { crossEntropyPlan, entropyPlan, jsDivergencePlans, klDivergencePlan } from '../entropy.js';
import { sigmoidCrossEntropyPlan, sigmoidFocalLossPlan } from '../sigmoid.js';
import { signedLogSumExpPlan } from '../weighted.js';
import {
  type ArgRef, type ArrayRef, type ChunkReply, type ChunkRequest, claim, computeChunk, CONTROL_WORDS, DESCRIPTOR_BYTES, type Descriptor,
  DONE, type Elem, FAILED, finished, LENGTH, NEXT, SEQ, CLOSE, SLOT_DONE, STAGED, JOINED, type SharedSetup, writeDescriptor,
} from './protocol.js';
import type {
  Backend, CrossEntropyLossOptions, FloatArray, Labels, LogSumExpOptions, MapOptions, ProbabilityOptions, SignedLogSumExpOptions, SignedValue,
  SigmoidCrossEntropyOptions, SigmoidFocalLossOptions, SoftmaxEntropyOptions, SoftmaxKlOptions, Vector,
} from '../types.js';
import { checkOptions, describe } from '../args.js';

/** One worker, whatever the platform. @internal */
export interface Transport {
  post(message: unknown, transfer?: ArrayBuffer[]): void;
  listen(onMessage: (message: unknown) => void, onError: (error: Error) => void): void;
  terminate(): void | Promise<unknown>;
  /** Node: whether the worker keeps the process alive (only while a call waits on it). */
  keepAlive?(on: boolean): void;
}

export interface PoolOptions {
  /** Threads that compute a call (default: the machine's cores): with shared memory the calling thread and size − 1 workers, else size workers. */
  size?: number;
  /** Backend the workers run (default `'auto'`: the build `init()` picks). */
  backend?: 'auto' | Backend;
  /** Calls with fewer elements run on the calling thread (default 50 000). */
  minElements?: number;
  /** Move data through shared memory (default: wherever SharedArrayBuffer and shared WebAssembly memory are usable). */
  shared?: boolean;
  /**
   * Shared mode: let every thread compute in place in the pool's shared WebAssembly
   * memory (default true).  Off, each thread copies its chunks into its own memory and
   * back (the engine's staging), as a single call does.
   */
  inMemory?: boolean;
  /** Milliseconds a worker keeps polling for the next call before it sleeps (default 1; 0: sleep at once). */
  spin?: number;
}

const POOL_OPTIONS = ['size', 'backend', 'minElements', 'shared', 'inMemory', 'spin'] as const;

/** Chunk sizes are whole groups of rows (kernels.ts, ROW_GROUP), so every row is computed as the single call computes it. */
const inGroups = (rows: number): number => Math.ceil(rows / ROW_GROUP) * ROW_GROUP;

/** Bytes of input a chunk carries: small enough to balance 16 threads at 1024 rows, large enough that claiming one costs nothing. */
const CHUNK_BYTES = 128 * 1024;
/** A thread's window in the shared memory: chunks are computed in place, so it holds only a kernel's scratch and row parts. */
const WINDOW = 256 * 1024;
/** Transfer mode: bytes of input a chunk's message carries. */
const TRANSFER_CHUNK_BYTES = 1024 * 1024;

/** The elements per row of a row-wise parameter (0: not row-wise). */
function perRow(kind: Kind, k: number | undefined, cols: number, perElement: unknown): number {
  switch (kind) {
    case 'x': case 'out': case 'out64': case 'bytes': return cols;
    case 'w': return perElement ? cols : 0;
    case 'labels': case 'res': case 'resOpt': return 1;
    case 'rowIn': case 'aux': return k!;
    default: return 0;
  }
}

const TYPE_OF = { f32: Float32Array, f64: Float64Array, i32: Int32Array, u8: Uint8Array } as const;
const OUTPUTS: Kind[] = ['out', 'out64', 'res', 'resOpt', 'aux'];

/** One array of a call, as the calling thread moves it. */
interface Moved {
  data: ArrayLike<number>;
  ref: ArrayRef;
  output: boolean;
  input: boolean;
}

const registry: FinalizationRegistry<{ pool: Pool; ptr: number }> | null =
  typeof FinalizationRegistry === 'function' ? new FinalizationRegistry(({ pool, ptr }) => pool.release(ptr)) : null;

/**
 * A pool of threads for the row-wise functions (see `createPool`); each method takes the
 * single-thread function's arguments (`cols` required) and resolves to its value.
 *
 * @example
 * ```ts
 * import { createPool } from 'surprisal/pool';
 * const pool = await createPool({ size: 2 });
 * await pool.softmaxCrossEntropy([0, 0, 0, 0], [0, 1], { cols: 2 }); // 0.6931471805599453
 * await pool.close();
 * ```
 */
export class Pool {
  /** The backend the pool computes with. */
  readonly backend: Backend;
  /** True when data move through shared memory rather than transfers. */
  readonly shared: boolean;
  /** True when the threads compute in place in the pool's shared memory. */
  readonly inMemory: boolean;
  /** Threads that compute a call. */
  readonly size: number;
  private readonly workers: Transport[];
  private readonly minElements: number;
  private closed = false;
  /** A worker's error: it is gone, or in an unknown state, and later calls reject. */
  private failure: Error | null = null;
  /** Calls run one at a time (each already uses every thread). */
  private queue: Promise<unknown> = Promise.resolve();
  // shared mode
  /** Shared mode: the engine over the shared memory (it lays it out), and the one this thread computes chunks with. */
  private readonly engine: WasmEngine | null;
  private readonly computeEngine: Engine | null;
  private readonly control: Int32Array | null;
  private readonly descriptor: Uint8Array | null;
  private seq = 0;
  private staging = { ptr: 0, bytes: 0 };
  // transfer mode
  private nextId = 1;
  private readonly pending = new Map<number, (reply: ChunkReply) => void>();

  /** Use `createPool`. @internal */
  constructor(workers: Transport[], backend: Backend, size: number, minElements: number,
    shared: { engine: WasmEngine; compute: Engine; control: Int32Array; descriptor: Uint8Array } | null) {
    this.workers = workers;
    this.backend = backend;
    this.size = size;
    this.minElements = minElements;
    this.shared = shared !== null;
    this.inMemory = shared !== null && shared.compute === shared.engine;
    this.engine = shared?.engine ?? null;
    this.computeEngine = shared?.compute ?? null;
    this.control = shared?.control ?? null;
    this.descriptor = shared?.descriptor ?? null;
    for (const w of workers) {
      w.listen((m) => {
        const reply = m as ChunkReply;
        const resolve = this.pending.get(reply.id);
        if (resolve) {
          this.pending.delete(reply.id);
          resolve(reply);
        }
      }, (error) => this.fail(error));
      w.keepAlive?.(false);
    }
  }

  private fail(error: Error): void {
    if (this.failure || this.closed) return;
    this.failure = error;
    for (const resolve of this.pending.values()) resolve({ id: 0, error: error.message });
    this.pending.clear();
  }

  /** Stops the workers; later calls reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.control) {
      Atomics.store(this.control, CLOSE, 1);
      Atomics.add(this.control, SEQ, 2);
      Atomics.notify(this.control, SEQ);
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /**
   * A float array every thread reads and writes where it is: rows in it are never
   * copied (in shared mode, it lives in the pool's shared memory).  For many cores, put
   * your rows in these.  Elsewhere an ordinary array.  Freed when garbage-collected.
   */
  array(Type: Float32ArrayConstructor, length: number): Float32Array;
  array(Type: Float64ArrayConstructor, length: number): Float64Array;
  array(Type: Float32ArrayConstructor | Float64ArrayConstructor, length: number): FloatArray {
    if (Type !== Float32Array && Type !== Float64Array) throw new TypeError(`pool.array: type must be Float32Array or Float64Array, got ${describe(Type)}`);
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) throw new TypeError(`pool.array: length must be a non-negative integer, got ${describe(length)}`);
    if (!this.engine) return new Type(length);
    const heap = this.engine.heap;
    const ptr = heap.alloc(length * Type.BYTES_PER_ELEMENT);
    const view = new Type(heap.buffer as ArrayBuffer, ptr, length);
    registry?.register(view, { pool: this, ptr });
    return view;
  }

  /** @internal frees a collected `array`'s memory. */
  release(ptr: number): void {
    this.engine?.heap.free(ptr);
  }

  /**
   * `entropy(p, options)` row by row across threads (`cols` required).
   * @example `await pool.entropy([0.5, 0.5, 1, 0], { cols: 2 }); // Float64Array [0.6931471805599453, 0]`
   */
  entropy(p: Vector, options: ProbabilityOptions & { cols: number }): Promise<Float64Array> {
    return this.run(() => entropyPlan(p, options)) as Promise<Float64Array>;
  }
  /**
   * `crossEntropy(p, q, options)` row by row across threads.
   * @example `await pool.crossEntropy([1, 0], [0.5, 0.5], { cols: 2 }); // Float64Array [0.6931471805599453]`
   */
  crossEntropy(p: Vector, q: Vector, options: ProbabilityOptions & { cols: number }): Promise<Float64Array> {
    return this.run(() => crossEntropyPlan(p, q, options)) as Promise<Float64Array>;
  }
  /**
   * `klDivergence(p, q, options)` row by row across threads.
   * @example `await pool.klDivergence([1, 0], [0.5, 0.5], { cols: 2 }); // Float64Array [0.6931471805599453]`
   */
  klDivergence(p: Vector, q: Vector, options: ProbabilityOptions & { cols: number }): Promise<Float64Array> {
    return this.run(() => klDivergencePlan(p, q, options)) as Promise<Float64Array>;
  }
  /**
   * `jsDivergence(p, q, options)` row by row across threads.
   * @example `await pool.jsDivergence([1, 0], [0, 1], { cols: 2 }); // Float64Array [0.6931471805599453]`
   */
  jsDivergence(p: Vector, q: Vector, options: ProbabilityOptions & { cols: number }): Promise<Float64Array> {
    return this.run(() => {
      const { totals, terms } = jsDivergencePlans(p, q, options);
      return totals ? [totals, terms] : terms;
    }) as Promise<Float64Array>;
  }
  /**
   * `logSumExp(x, options)` row by row across threads.
   * @example `await pool.logSumExp([0, 0, 1000, 1000], { cols: 2 }); // Float64Array [0.6931471805599453, 1000.6931471805599]`
   */
  logSumExp(x: Vector, options: LogSumExpOptions & { cols: number }): Promise<Float64Array> {
    return this.run(() => logSumExpPlan(x, options)) as Promise<Float64Array>;
  }
  /**
   * `signedLogSumExp(x, options)` row by row across threads.
   * @example `await pool.signedLogSumExp([0, 0], { cols: 2, weights: [1, -0.5] }); // { value: Float64Array [-0.6931471805599453], sign: Float64Array [1] }`
   */
  signedLogSumExp(x: Vector, options: SignedLogSumExpOptions & { cols: number }): Promise<SignedValue<Float64Array>> {
    return this.run(() => signedLogSumExpPlan(x, options)) as Promise<SignedValue<Float64Array>>;
  }
  /**
   * `softmax(x, options)` row by row across threads (into `out` when given).
   * @example `await pool.softmax(new Float32Array([0, 0, 0, 0]), { cols: 2 }); // Float32Array [0.5, 0.5, 0.5, 0.5]`
   */
  softmax<T extends FloatArray = FloatArray>(x: Vector, options: MapOptions & { cols: number }): Promise<T> {
    return this.run(() => mapPlan('softmax', 'softmaxRows', x, options)) as Promise<T>;
  }
  /**
   * `logSoftmax(x, options)` row by row across threads.
   * @example `await pool.logSoftmax([0, 0], { cols: 2 }); // Float64Array [-0.6931471805599453, -0.6931471805599453]`
   */
  logSoftmax<T extends FloatArray = FloatArray>(x: Vector, options: MapOptions & { cols: number }): Promise<T> {
    return this.run(() => mapPlan('logSoftmax', 'logSoftmaxRows', x, options)) as Promise<T>;
  }
  /**
   * `softmaxEntropy(logits, options)` row by row across threads (with `grad`).
   * @example `await pool.softmaxEntropy([0, 0, 0, 0], { cols: 4, base: 2 }); // Float64Array [2]`
   */
  softmaxEntropy(x: Vector, options: SoftmaxEntropyOptions & { cols: number }): Promise<Float64Array> {
    return this.run(() => softmaxEntropyPlan(x, options)) as Promise<Float64Array>;
  }
  /**
   * `softmaxKlDivergence(p, q, options)` row by row across threads (with `gradP`/`gradQ`).
   * @example `await pool.softmaxKlDivergence([0, 0], [0, 0], { cols: 2 }); // Float64Array [0]`
   */
  softmaxKlDivergence(p: Vector, q: Vector, options: SoftmaxKlOptions & { cols: number }): Promise<Float64Array> {
    return this.run(() => softmaxKlDivergencePlan(p, q, options)) as Promise<Float64Array>;
  }
  /**
   * `softmaxCrossEntropy(logits, targets, options)` across threads: the rows' losses, then the reduction on this thread.
   * @example `await pool.softmaxCrossEntropy([0, 0, 0, 0], [0, 1], { cols: 2 }); // 0.6931471805599453`
   */
  softmaxCrossEntropy(logits: Vector, targets: Labels | Vector, options: CrossEntropyLossOptions): Promise<number | Float64Array> {
    return this.run(() => softmaxCrossEntropyPlan(logits, targets, options)) as Promise<number | Float64Array>;
  }
  /**
   * `sigmoidCrossEntropy(logits, targets, options)` row by row across threads.
   * @example `await pool.sigmoidCrossEntropy([0, 0], [1, 0], { cols: 2 }); // 0.6931471805599453`
   */
  sigmoidCrossEntropy(logits: Vector, targets: Vector, options: SigmoidCrossEntropyOptions & { cols: number }): Promise<number | Float64Array> {
    return this.run(() => sigmoidCrossEntropyPlan(logits, targets, options)) as Promise<number | Float64Array>;
  }
  /**
   * `sigmoidFocalLoss(logits, targets, options)` row by row across threads.
   * @example `await pool.sigmoidFocalLoss([0, 0], [1, 0], { cols: 2, gamma: 0, alpha: -1 }); // 0.6931471805599453`
   */
  sigmoidFocalLoss(logits: Vector, targets: Vector, options: SigmoidFocalLossOptions & { cols: number }): Promise<number | Float64Array> {
    return this.run(() => sigmoidFocalLossPlan(logits, targets, options)) as Promise<number | Float64Array>;
  }

  /**
   * One call: its plan made now (a bad argument rejects with the single-thread function's
   * own error), computed when the calls before it are done.
   */
  private run(make: () => Plan | Plan[]): Promise<unknown> {
    let plans: Plan[];
    try {
      if (this.closed) throw new Error('surprisal pool: the pool is closed');
      if (this.failure) throw new Error(`surprisal pool: a worker failed: ${this.failure.message}`);
      const made = make();
      plans = Array.isArray(made) ? made : [made];
    } catch (e) {
      return Promise.reject(e);
    }
    // (a call of several plans — the totals, then the terms — runs them in turn: each needs the last)
    const result = this.queue.then(async () => {
      let value: unknown;
      for (const plan of plans) value = await this.compute(plan);
      return value;
    });
    this.queue = result.catch(() => {});
    return result;
  }

  private async compute(plan: Plan): Promise<unknown> {
    if (this.failure) throw new Error(`surprisal pool: a worker failed: ${this.failure.message}`);
    const splittable = plan.stages.every((s) => KERNELS[s.kernel].params.every((p) => p.kind !== 'colAcc' && p.kind !== 'acc'));
    // (a call the single-thread function computes with the JS twins stays here: the twins' last bits are theirs)
    const small = engineFor(plan.size, plan.weight) === jsEngine;
    if (plan.size < this.minElements || plan.rows < 2 || this.size < 2 || !splittable || small) return execute(plan);
    for (const w of this.workers) w.keepAlive?.(true);
    try {
      if (this.engine) await this.computeShared(plan);
      else await this.computeTransferred(plan);
    } finally {
      for (const w of this.workers) w.keepAlive?.(false);
    }
    return plan.finish();
  }

  // -------------------------------------------------------------------------------
  // shared mode
  // -------------------------------------------------------------------------------

  /** The call's arrays, each in place in the shared memory or staged, and their layout in a slot. */
  private layout(plan: Plan): { moved: Moved[]; args: ArgRef[][]; inRowBytes: number; rowBytes: number; fixed: Moved[] } {
    const heap = this.engine!.heap;
    const moved: Moved[] = [];
    const index = new Map<unknown, number>();
    let inRowBytes = 0, rowBytes = 0, fixedBytes = 0;
    const args = plan.stages.map((s) => s.args.map((a, i): ArgRef => {
      const param = KERNELS[s.kernel].params[i];
      if (a === null || typeof a !== 'object') return (a ?? null) as ArgRef;
      const known = index.get(a);
      if (known !== undefined) {
        if (OUTPUTS.includes(param.kind)) moved[known].output = true;
        return { a: known };
      }
      const data = a as ArrayLike<number>;
      const per = perRow(param.kind, param.k, plan.cols, s.args[i + 1]);
      const elem = elemOf(param.kind, s.f32);
      const Type = TYPE_OF[elem];
      const output = OUTPUTS.includes(param.kind);
      const view = ArrayBuffer.isView(data) ? data as unknown as FloatArray : null;
      const inPlace = view !== null && heap.holds(view) && view.constructor === Type;
      const ref: ArrayRef = { elem, per: per || data.length, rowwise: per > 0, at: inPlace ? view.byteOffset : -1, offset: 0 };
      if (!inPlace) {
        const bytes = align(ref.per * Type.BYTES_PER_ELEMENT);
        if (ref.rowwise) rowBytes += ref.per * Type.BYTES_PER_ELEMENT;
        else {
          ref.offset = fixedBytes;
          fixedBytes += bytes;
        }
      }
      if (ref.rowwise && !output && param.kind !== 'labels') inRowBytes += ref.per * Type.BYTES_PER_ELEMENT;
      index.set(a, moved.length);
      moved.push({ data, ref, output, input: !output });
      return { a: moved.length - 1 };
    }));
    return { moved, args, inRowBytes: Math.max(inRowBytes, 1), rowBytes, fixed: moved.filter((m) => !m.ref.rowwise && m.ref.at < 0) };
  }

  private async computeShared(plan: Plan): Promise<void> {
    const heap = this.engine!.heap;
    const control = this.control!;
    const { moved, args, inRowBytes, rowBytes, fixed } = this.layout(plan);
    const threads = this.size;
    const chunkRows = inGroups(Math.max(1, Math.min(Math.floor(CHUNK_BYTES / inRowBytes), Math.ceil(plan.rows / (4 * threads)))));
    const total = Math.ceil(plan.rows / chunkRows);
    // a slot: each staged row-wise array's rows of one chunk, 16-byte aligned
    let slotBytes = 0;
    for (const m of moved) {
      if (!m.ref.rowwise || m.ref.at >= 0) continue;
      m.ref.offset = slotBytes;
      slotBytes += align(chunkRows * m.ref.per * TYPE_OF[m.ref.elem].BYTES_PER_ELEMENT);
    }
    if (slotBytes > 64 * 2 ** 20) {
      execute(plan); // rows too long to stage a chunk at a time: the calling thread computes the call
      return;
    }
    const slots = slotBytes === 0 ? 1 : Math.min(total, 2 * threads + 2);
    const fixedBytes = fixed.reduce((n, m) => n + align(m.ref.per * TYPE_OF[m.ref.elem].BYTES_PER_ELEMENT), 0);
    const need = slots * slotBytes + fixedBytes + 16;
    if (this.staging.bytes < need) {
      if (this.staging.bytes) heap.free(this.staging.ptr);
      this.staging = { ptr: heap.alloc(Math.max(need, 2 * this.staging.bytes)), bytes: Math.max(need, 2 * this.staging.bytes) };
    }
    const slotBase = this.staging.ptr, fixedBase = slotBase + slots * slotBytes;
    for (const m of fixed) this.copyIn(m, fixedBase + m.ref.offset, 0, m.ref.per);
    this.seq += 2;
    const tag = (this.seq >>> 1) & 0x7ff;
    const d: Descriptor = {
      tag, total, rows: plan.rows, cols: plan.cols, chunkRows, slots, slotBytes, slotBase, fixedBase,
      arrays: moved.map((m) => m.ref),
      stages: plan.stages.map((s, j) => ({ kernel: s.kernel, f32: s.f32, args: args[j] })),
    };
    // publish: the seqlock odd while the descriptor and counters are rewritten
    const staged = slotBytes === 0 ? total : 0;
    Atomics.store(control, SEQ, this.seq - 1);
    Atomics.store(control, LENGTH, writeDescriptor(this.descriptor!, d));
    Atomics.store(control, STAGED, staged);
    Atomics.store(control, DONE, 0);
    Atomics.store(control, FAILED, 0);
    Atomics.store(control, JOINED, 0);
    for (let s = 0; s < slots; s++) Atomics.store(control, SLOT_DONE + s, 0);
    Atomics.store(control, NEXT, tag << 20);
    Atomics.store(control, SEQ, this.seq);
    Atomics.notify(control, SEQ, Math.min(total - 1, threads - 1));

    const staging = slotBytes > 0;
    const rowwiseStaged = moved.filter((m) => m.ref.rowwise && m.ref.at < 0);
    const copied = new Uint8Array(total);
    let nextStage = staged, firstUncopied = 0, copiedCount = staging ? 0 : total;
    const stage = (k: number) => {
      const [r0, r1] = [k * chunkRows, Math.min(plan.rows, (k + 1) * chunkRows)];
      const slot = slotBase + (k % slots) * slotBytes;
      for (const m of rowwiseStaged) if (m.input) this.copyIn(m, slot + m.ref.offset, r0 * m.ref.per, (r1 - r0) * m.ref.per);
    };
    const copyBack = (k: number) => {
      const [r0, r1] = [k * chunkRows, Math.min(plan.rows, (k + 1) * chunkRows)];
      const slot = slotBase + (k % slots) * slotBytes;
      for (const m of rowwiseStaged) if (m.output) this.copyOut(m, slot + m.ref.offset, r0 * m.ref.per, (r1 - r0) * m.ref.per);
      copied[k] = 1;
      copiedCount++;
      while (firstUncopied < total && copied[firstUncopied]) firstUncopied++;
    };
    for (;;) {
      let progress = false;
      // stage what the ring has room for (a slot is free once its last chunk is copied back)
      while (nextStage < total && (nextStage < slots || copied[nextStage - slots])) {
        stage(nextStage++);
        Atomics.store(control, STAGED, nextStage);
        Atomics.notify(control, STAGED);
        progress = true;
      }
      // copy back what is computed
      if (staging) {
        for (let k = firstUncopied; k < nextStage; k++) {
          if (!copied[k] && Atomics.load(control, SLOT_DONE + (k % slots)) === k + 1) {
            copyBack(k);
            progress = true;
          }
        }
      }
      if (Atomics.load(control, DONE) === total && copiedCount === total) break;
      if (progress) continue;
      // nothing to move: compute a chunk, if one is staged and free
      const w = Atomics.load(control, NEXT);
      if ((w & 0xfffff) < Math.min(total, nextStage)) {
        const k = claim(control, d);
        if (k >= 0) {
          if (k >= nextStage) {
            // (claimed past the staged ones: stage up to it first)
            while (nextStage <= k) {
              while (nextStage >= slots && !copied[nextStage - slots]) await this.waitFor(control, SLOT_DONE + ((nextStage - slots) % slots), nextStage - slots + 1, () => copyBack(nextStage - slots));
              stage(nextStage++);
              Atomics.store(control, STAGED, nextStage);
              Atomics.notify(control, STAGED);
            }
          }
          try {
            computeChunk(d, k, this.computeEngine!, heap.buffer);
          } catch (e) {
            Atomics.store(control, FAILED, 1);
            finished(control, d, k);
            throw e;
          }
          finished(control, d, k);
          continue;
        }
      }
      if (Atomics.load(control, FAILED)) break;
      // wait for a worker's chunk
      await this.waitChange(control, DONE, Atomics.load(control, DONE));
      if (this.failure) throw new Error(`surprisal pool: a worker failed: ${this.failure.message}`);
    }
    // (workers still inside the call only find no chunk left: NEXT is tagged)
    if (Atomics.load(control, FAILED)) {
      const msg = this.descriptor!.subarray(DESCRIPTOR_BYTES / 2);
      const n = new DataView(msg.buffer, msg.byteOffset).getInt32(0, true);
      throw new Error(`surprisal pool: a worker failed: ${new TextDecoder().decode(msg.slice(4, 4 + n))}`);
    }
  }

  /** Waits until control[i] is v (copying back with `then` once it is). */
  private async waitFor(control: Int32Array, i: number, v: number, then: () => void): Promise<void> {
    while (Atomics.load(control, i) !== v) {
      await this.waitChange(control, i, Atomics.load(control, i));
      if (this.failure) throw new Error(`surprisal pool: a worker failed: ${this.failure.message}`);
    }
    then();
  }

  /** Waits until control[i] is no longer v: a short spin, then without holding the thread (Atomics.waitAsync), up to 10 ms at a time. */
  private async waitChange(control: Int32Array, i: number, v: number): Promise<void> {
    for (let spins = 0; spins < 2000; spins++) if (Atomics.load(control, i) !== v) return;
    const waitAsync = (Atomics as { waitAsync?: (a: Int32Array, i: number, v: number, t: number) => { async: boolean; value: Promise<string> | string } }).waitAsync;
    if (waitAsync) {
      const r = waitAsync(control, i, v, 10);
      if (r.async) await r.value;
    } else await new Promise((resolve) => setTimeout(resolve, 0));
  }

  private copyIn(m: Moved, p: number, from: number, n: number): void {
    this.engine!.heap.put(m.data, m.ref.elem, p, from, n);
  }

  private copyOut(m: Moved, p: number, from: number, n: number): void {
    this.engine!.heap.get(m.data, m.ref.elem, p, from, n);
  }

  // -------------------------------------------------------------------------------
  // transfer mode
  // -------------------------------------------------------------------------------

  private async computeTransferred(plan: Plan): Promise<void> {
    const cols = plan.cols;
    // bytes of input per row, for the chunk size
    let inRowBytes = 0;
    for (const s of plan.stages) {
      const params = KERNELS[s.kernel].params;
      s.args.forEach((a, i) => {
        const kind = params[i].kind;
        if (a !== null && typeof a === 'object' && (kind === 'x' || kind === 'bytes')) inRowBytes += cols * (s.f32 ? 4 : 8);
      });
    }
    const chunkRows = inGroups(Math.max(1, Math.min(Math.floor(TRANSFER_CHUNK_BYTES / Math.max(1, inRowBytes)), Math.ceil(plan.rows / (2 * this.workers.length)))));
    const total = Math.ceil(plan.rows / chunkRows);
    let next = 0;
    const send = async (w: number): Promise<void> => {
      while (next < total) {
        const k = next++;
        const r0 = k * chunkRows, r1 = Math.min(plan.rows, r0 + chunkRows);
        const transfer: ArrayBuffer[] = [];
        const req: ChunkRequest = { id: this.nextId++, stages: plan.stages.map((s) => ({ kernel: s.kernel, f32: s.f32, args: this.chunkArgs(s, r0, r1, cols, transfer) })) };
        const reply = await new Promise<ChunkReply>((resolve) => {
          this.pending.set(req.id, resolve);
          this.workers[w].post(req, transfer);
        });
        if (reply.error !== undefined) throw new Error(`surprisal pool: a worker failed: ${reply.error}`);
        // the outputs come back in the chunk's own arrays: into the caller's
        plan.stages.forEach((s, j) => {
          const params = KERNELS[s.kernel].params;
          s.args.forEach((a, i) => {
            if (a === null || typeof a !== 'object' || !OUTPUTS.includes(params[i].kind)) return;
            const per = perRow(params[i].kind, params[i].k, cols, s.args[i + 1]);
            (a as FloatArray).set(reply.stages![j].args[i] as FloatArray, r0 * per);
          });
        });
      }
    };
    await Promise.all(this.workers.map((_, w) => send(w)));
  }

  /** A stage's arguments for rows [r0, r1): row-wise arrays as copies of those rows (outputs fresh), others as they are. */
  private chunkArgs(s: { kernel: keyof typeof KERNELS; f32: boolean; args: unknown[] }, r0: number, r1: number, cols: number, transfer: ArrayBuffer[]): unknown[] {
    const params = KERNELS[s.kernel].params;
    return s.args.map((a, i) => {
      const kind = params[i].kind;
      if (kind === 'rows') return r1 - r0;
      if (a === null || typeof a !== 'object') return a;
      const per = perRow(kind, params[i].k, cols, s.args[i + 1]);
      if (per === 0) return ArrayBuffer.isView(a) ? (a as FloatArray).slice() : Array.from(a as ArrayLike<number>);
      const Type = TYPE_OF[elemOf(kind, s.f32)];
      let part: FloatArray | Int32Array | Uint8Array;
      if (OUTPUTS.includes(kind)) part = new Type((r1 - r0) * per);
      else if (ArrayBuffer.isView(a) && a.constructor === Type) part = (a as FloatArray).slice(r0 * per, r1 * per);
      else part = Type.from(Array.prototype.slice.call(a, r0 * per, r1 * per) as number[]);
      transfer.push(part.buffer as ArrayBuffer);
      return part;
    });
  }
}

/** True where shared memory is usable: SharedArrayBuffer, and (in a page) cross-origin isolation. @internal */
export function canShare(): boolean {
  if (typeof SharedArrayBuffer !== 'function') return false;
  const g = globalThis as { crossOriginIsolated?: boolean };
  return g.crossOriginIsolated !== false;
}

/** Starts a pool: `make` creates a worker (told its setup in its first message). @internal */
export async function startPool(make: () => Transport, options: PoolOptions, cores: number): Promise<Pool> {
  if (options === null || typeof options !== 'object') throw new TypeError(`createPool: options must be an object, got ${describe(options)}`);
  checkOptions('createPool', options, POOL_OPTIONS);
  const size = options.size ?? Math.max(2, cores);
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) throw new RangeError(`createPool: size must be a positive integer, got ${describe(size)}`);
  const minElements = options.minElements ?? 50_000;
  if (typeof minElements !== 'number' || !(minElements >= 0)) throw new RangeError(`createPool: minElements must be a non-negative number, got ${describe(minElements)}`);
  const spin = options.spin ?? 1;
  if (typeof spin !== 'number' || !(spin >= 0)) throw new RangeError(`createPool: spin must be a non-negative number of ms, got ${describe(spin)}`);
  const backend = options.backend ?? 'auto';
  // The pool's values are the one-thread functions' bit for bit, and calls the calling
  // thread's engine would give to the JS twins stay on it (`compute`): without init() that
  // engine is the twins' for every size, and no call would ever reach a worker.  So a pool
  // created before init() initialises this thread with its own backend.
  if (!BACKENDS.includes(backend as string)) {
    throw new RangeError(`createPool: backend must be 'auto', 'wasm-relaxed', 'wasm-simd', 'wasm' or 'js', got ${describe(backend)}`);
  }
  // (an init() already called — a pool's own, or the caller's, even unawaited — is waited
  // for: the engine this thread computes with is read after it)
  const pending = lastInit();
  if (pending) await pending.catch(() => {});
  else await init({ backend });
  const { sharedBackend, sharedModule } = await import('./protocol.js');
  const build = sharedBackend(backend);
  const wantShared = options.shared ?? true;
  const inMemory = options.inMemory ?? true;
  if (typeof inMemory !== 'boolean') throw new TypeError(`createPool: inMemory must be a boolean, got ${describe(inMemory)}`);
  if (wantShared && build && canShare()) {
    try {
      return await startShared(make, build, size, minElements, spin, inMemory);
    } catch (e) {
      if (options.shared === true) throw e;
      // no shared WebAssembly memory here: transfers
    }
  }
  const workers = Array.from({ length: size }, make);
  const ready = await Promise.all(workers.map((w) => handshake(w, { mode: 'transfer', backend, window: DEFAULT_WINDOW })));
  return new Pool(workers, ready[0] as Backend, size, minElements, null);

  async function startShared(makeWorker: () => Transport, name: Exclude<Backend, 'js'>, threads: number, min: number, spinMs: number, inPlace: boolean): Promise<Pool> {
    const module = await sharedModule(name);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true } as WebAssembly.MemoryDescriptor);
    const control = new SharedArrayBuffer(4 * CONTROL_WORDS);
    const descriptor = new SharedArrayBuffer(DESCRIPTOR_BYTES);
    // the calling thread's engine: an ordinary heap over M, which lays everything out (the workers' windows included)
    const engine = new WasmEngine(name, (await instantiate(module, memory)).exports);
    // inMemory: false: this thread computes its chunks with its own engine, staging them through its memory
    const compute = inPlace ? engine : currentEngine();
    const workers = Array.from({ length: threads - 1 }, makeWorker);
    await Promise.all(workers.map((w) => {
      const window = engine.heap.alloc(WINDOW);
      const setup: SharedSetup = { memory, module, control, descriptor, window, windowBytes: WINDOW, spin: spinMs, inMemory: inPlace };
      return handshake(w, { mode: 'shared', backend: name, setup });
    }));
    return new Pool(workers, name, threads, min, { engine, compute, control: new Int32Array(control), descriptor: new Uint8Array(descriptor) });
  }
}

/** Sends a worker its setup and waits for its ready message (or its failure). */
function handshake(w: Transport, setup: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let done = false;
    w.listen((m) => {
      const r = m as { ready?: Backend; error?: string };
      if (done) return;
      if (r.ready) {
        done = true;
        resolve(r.ready);
      } else if (r.error) {
        done = true;
        reject(new Error(`surprisal pool: a worker could not start: ${r.error}`));
      }
    }, (e) => {
      if (!done) {
        done = true;
        reject(e);
      }
    });
    w.post(setup);
  });
}


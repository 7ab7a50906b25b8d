// A pool of workers for the row-wise (`cols`) functions.  A call is the single-thread
// function's plan (plan.ts), its rows cut into chunks of a fixed amount of work that every
// thread, the calling one too, takes from one shared counter (OpenMP's dynamic schedule);
// each row is the kernel's on that row alone and `finish` runs here, so every value is the
// single call's bit for bit.  See docs/pool.md.

import { execute, type Plan } from '../plan.js';
import { backendOption, currentEngine, engineFor, init, instantiate, lastInit, MAX_PAGES, sharedModule, supported } from '../backend.js';
import { align, type Heap, rowOf, type Typed } from '../memory.js';
import { inGroups, type KernelSpec, KERNELS, ROW_GROUP, rowCode, rowElements, summed, writes } from '../kernels.js';
import { elemOf, jsEngine, WasmEngine } from '../engine.js';
import { logSumExpPlan, mapPlan, softmaxEntropyPlan, softmaxKlDivergencePlan } from '../softmax.js';
import { softmaxCrossEntropyPlan } from '../loss.js';
import { crossEntropyPlan, entropyPlan, jsDivergencePlans, klDivergencePlan } from '../entropy.js';
import { sigmoidCrossEntropyPlan, sigmoidFocalLossPlan } from '../sigmoid.js';
import { signedLogSumExpPlan } from '../weighted.js';
import {
  type ArrayRef, type Build, type ChunkReply, type ChunkRequest, claim, CLOSE, computeChunk, CONTROL_WORDS, type Descriptor, DESCRIPTOR_BYTES,
  DONE, finished, LENGTH, NEXT, SEQ, type Setup, SLOT_DONE, STAGED, type StageRef, TYPES, WINDOW,
} from './protocol.js';
import type {
  Backend, CrossEntropyLossOptions, FloatArray, Labels, LogSumExpOptions, MapOptions, ProbabilityOptions, SignedLogSumExpOptions, SignedValue,
  SigmoidCrossEntropyOptions, SigmoidFocalLossOptions, SoftmaxEntropyOptions, SoftmaxKlOptions, Vector,
} from '../types.js';
import { describe, flag, options as options_ } from '../args.js';

/** One worker, whatever the platform; in Node it keeps the process alive only while a call waits on it (`keepAlive`). @internal */
export interface Transport {
  post(message: unknown, transfer?: ArrayBuffer[]): void;
  listen(onMessage: (message: unknown) => void, onError: (error: Error) => void): void;
  terminate(): void | Promise<unknown>;
  keepAlive?(on: boolean): void;
}

export interface PoolOptions {
  /** Threads that compute a call (default: the machine's cores): with shared memory the calling thread and size − 1 workers, else size workers. */
  size?: number;
  /** Backend the workers run (default `'auto'`: the calling thread's, as `init()` set it, so that values are its one-thread calls' bit for bit). */
  backend?: 'auto' | Backend;
  /** Calls with fewer elements run on the calling thread (default 50 000). */
  minElements?: number;
  /** Move data through shared memory (default: wherever SharedArrayBuffer and shared WebAssembly memory are usable; true: an error where they are not, or with the JS backend). */
  shared?: boolean;
  /** Node, shared mode: while busy processes leave the threads under 1.2 cores, run calls on the calling thread, faster then (default true). */
  yieldWhenBusy?: boolean;
}

const POOL_OPTIONS = ['size', 'backend', 'minElements', 'shared', 'yieldWhenBusy'] as const;

/** Input bytes a chunk carries: in shared mode few enough to balance 16 threads at 1024 rows, enough that a claim costs nothing; a transfer-mode message more. */
const CHUNK_BYTES = 128 * 1024, TRANSFER_CHUNK_BYTES = 1024 * 1024;
/** Rows too long to stage a chunk at a time: a slot over this. */
const MAX_SLOT_BYTES = 64 * 2 ** 20;
/** `measure`: under 1.2 cores the pool is slower than one thread; windows of 100 ms of calls (CPU clocks tick in ms); 1 s of calls alone after. */
const CONTENDED_CORES = 1.2, CONTENDED_WINDOW_MS = 100, CONTENDED_ALONE_MS = 1000;

/** Rows a chunk: about `bytes` of input, at least `chunks` chunks; narrow rows in whole groups (kernels.ts, ROW_GROUP), as the single call computes them. */
function chunkRows(rows: number, cols: number, inRowBytes: number, bytes: number, chunks: number): number {
  const n = Math.max(1, Math.min(Math.floor(bytes / inRowBytes), Math.ceil(rows / chunks)));
  return inGroups(cols, n, true);
}

function nonNegative(name: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !(v >= 0)) throw new (typeof v === 'number' ? RangeError : TypeError)(`createPool: ${name} must be a non-negative number, got ${describe(v)}`);
  return v;
}

const workerFailed = (why: string): Error => new Error(`surprisal pool: a worker failed: ${why}`);

/** One array of a call: the caller's, and where the threads find it; `sums`: group sums (kernels.ts), a chunk's ⌈rows/ROW_GROUP⌉ results from its first entry. */
/** `over`: the array this output is staged over (see `layout`), or -1. */
type Moved = { data: ArrayLike<number>; ref: ArrayRef; input: boolean; output: boolean; sums: boolean; over: number };

/** Shared mode: this thread's engine over M (it lays M out and computes there), the control block and descriptor area. */
type SharedMemory = { engine: WasmEngine; control: Int32Array; descriptor: Uint8Array };

const registry = typeof FinalizationRegistry === 'function' ? new FinalizationRegistry<{ heap: Heap; ptr: number }>(({ heap, ptr }) => heap.free(ptr)) : null;

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
  /** Threads that compute a call. */
  readonly size: number;
  private closing: Promise<void> | null = null; // set by close()
  private failure: Error | null = null; // a worker's error: later calls reject
  private queue: Promise<unknown> = Promise.resolve(); // calls run one at a time, each on every thread
  private seq = 0; // shared mode: the last call's SEQ
  private staging = { ptr: 0, bytes: 0 }; // shared mode: the staging area in M
  private alone = 0; // `measure`: calls run on this thread until then
  private readonly window = { cpu: 0, wall: 0, strikes: 0, at: 0 }; // `measure`: the calls since the last window
  private nextId = 1; // transfer mode: the chunks sent, waiting for their replies
  private readonly pending = new Map<number, (reply: ChunkReply) => void>();

  /** True while calls run on the calling thread: busy processes left the threads under 1.2 cores (`yieldWhenBusy`). */
  get contended(): boolean {
    return performance.now() < this.alone;
  }

  /** Use `createPool`. @internal */
  constructor(private readonly workers: Transport[], backend: Backend, size: number, private readonly minElements: number, private readonly memory: SharedMemory | null, private readonly cpuTime?: () => number) {
    this.backend = backend;
    this.size = size;
    this.shared = memory !== null;
    for (const w of workers) {
      w.listen((m) => {
        const reply = m as ChunkReply;
        if ('error' in reply) this.fail(new Error(reply.error));
        this.pending.get(reply.id)?.(reply);
        this.pending.delete(reply.id);
      }, (error) => this.fail(error));
      w.keepAlive?.(false);
    }
  }

  /** A worker died or a chunk threw (an engine's fault: kernels trust their inputs): this call and every later one reject, and shared-mode workers leave. */
  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const resolve of this.pending.values()) resolve({ id: 0, error: error.message });
    this.pending.clear();
    this.leave();
  }

  private leave(): void {
    if (!this.memory) return;
    const { control } = this.memory;
    Atomics.store(control, CLOSE, 1);
    Atomics.add(control, SEQ, 2);
    Atomics.notify(control, SEQ);
  }

  /** Stops the workers once the calls already made are done; later calls reject. */
  close(): Promise<void> {
    this.closing ??= this.queue.then(async () => {
      this.leave();
      await Promise.all(this.workers.map((w) => w.terminate()));
    });
    return this.closing;
  }

  /** A float array every thread reads and writes where it is, never copied (in shared mode it lives in the pool's shared memory, elsewhere it is an ordinary array): for many cores, put your rows in these.  Freed when garbage-collected. */
  array(Type: Float32ArrayConstructor, length: number): Float32Array;
  array(Type: Float64ArrayConstructor, length: number): Float64Array;
  array(Type: Float32ArrayConstructor | Float64ArrayConstructor, length: number): FloatArray {
    if (Type !== Float32Array && Type !== Float64Array) throw new TypeError(`pool.array: type must be Float32Array or Float64Array, got ${describe(Type)}`);
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) throw new TypeError(`pool.array: length must be a non-negative integer, got ${describe(length)}`);
    if (!this.memory) return new Type(length);
    const heap = this.memory.engine.heap;
    const ptr = heap.alloc(length * Type.BYTES_PER_ELEMENT); // (before reading the buffer: it may grow)
    const view = new Type(heap.buffer as ArrayBuffer, ptr, length);
    registry?.register(view, { heap, ptr });
    return view;
  }

  /** `entropy(p, options)` row by row across threads (`cols` required). @example `await pool.entropy([0.5, 0.5, 1, 0], { cols: 2 }); // Float64Array [0.6931471805599453, 0]` */
  entropy(p: Vector, options: ProbabilityOptions & { cols: number }): Promise<Float64Array> { return this.run(() => entropyPlan(p, options)); }
  /** `crossEntropy(p, q, options)` row by row across threads. @example `await pool.crossEntropy([1, 0], [0.5, 0.5], { cols: 2 }); // Float64Array [0.6931471805599453]` */
  crossEntropy(p: Vector, q: Vector, options: ProbabilityOptions & { cols: number }): Promise<Float64Array> { return this.run(() => crossEntropyPlan(p, q, options)); }
  /** `klDivergence(p, q, options)` row by row across threads. @example `await pool.klDivergence([1, 0], [0.5, 0.5], { cols: 2 }); // Float64Array [0.6931471805599453]` */
  klDivergence(p: Vector, q: Vector, options: ProbabilityOptions & { cols: number }): Promise<Float64Array> { return this.run(() => klDivergencePlan(p, q, options)); }
  /** `jsDivergence(p, q, options)` row by row across threads. @example `await pool.jsDivergence([1, 0], [0, 1], { cols: 2 }); // Float64Array [0.6931471805599453]` */
  jsDivergence(p: Vector, q: Vector, options: ProbabilityOptions & { cols: number }): Promise<Float64Array> { return this.run(() => jsDivergencePlans(p, q, options)); }
  /** `logSumExp(x, options)` row by row across threads. @example `await pool.logSumExp([0, 0, 1000, 1000], { cols: 2 }); // Float64Array [0.6931471805599453, 1000.6931471805599]` */
  logSumExp(x: Vector, options: LogSumExpOptions & { cols: number }): Promise<Float64Array> { return this.run(() => logSumExpPlan(x, options)); }
  /** `signedLogSumExp(x, options)` row by row across threads. @example `await pool.signedLogSumExp([0, 0], { cols: 2, weights: [1, -0.5] }); // { value: Float64Array [-0.6931471805599453], sign: Float64Array [1] }` */
  signedLogSumExp(x: Vector, options: SignedLogSumExpOptions & { cols: number }): Promise<SignedValue<Float64Array>> { return this.run(() => signedLogSumExpPlan(x, options)); }
  /** `softmax(x, options)` row by row across threads (into `out` when given). @example `await pool.softmax(new Float32Array([0, 0, 0, 0]), { cols: 2 }); // Float32Array [0.5, 0.5, 0.5, 0.5]` */
  softmax<T extends FloatArray = FloatArray>(x: Vector, options: MapOptions & { cols: number }): Promise<T> { return this.run(() => mapPlan('softmax', 'softmaxRows', x, options)); }
  /** `logSoftmax(x, options)` row by row across threads. @example `await pool.logSoftmax([0, 0], { cols: 2 }); // Float64Array [-0.6931471805599453, -0.6931471805599453]` */
  logSoftmax<T extends FloatArray = FloatArray>(x: Vector, options: MapOptions & { cols: number }): Promise<T> { return this.run(() => mapPlan('logSoftmax', 'logSoftmaxRows', x, options)); }
  /** `softmaxEntropy(logits, options)` row by row across threads (with `grad`). @example `await pool.softmaxEntropy([0, 0, 0, 0], { cols: 4, base: 2 }); // Float64Array [2]` */
  softmaxEntropy(x: Vector, options: SoftmaxEntropyOptions & { cols: number }): Promise<Float64Array> { return this.run(() => softmaxEntropyPlan(x, options)); }
  /** `softmaxKlDivergence(p, q, options)` row by row across threads (with `gradP`/`gradQ`). @example `await pool.softmaxKlDivergence([0, 0], [0, 0], { cols: 2 }); // Float64Array [0]` */
  softmaxKlDivergence(p: Vector, q: Vector, options: SoftmaxKlOptions & { cols: number }): Promise<Float64Array> { return this.run(() => softmaxKlDivergencePlan(p, q, options)); }
  /** `softmaxCrossEntropy(logits, targets, options)` across threads: the rows' losses, then the reduction on this thread. @example `await pool.softmaxCrossEntropy([0, 0, 0, 0], [0, 1], { cols: 2 }); // 0.6931471805599453` */
  softmaxCrossEntropy(logits: Vector, targets: Labels | Vector, options: CrossEntropyLossOptions): Promise<number | Float64Array> { return this.run(() => softmaxCrossEntropyPlan(logits, targets, options, true)); }
  /** `sigmoidCrossEntropy(logits, targets, options)` row by row across threads. @example `await pool.sigmoidCrossEntropy([0, 0], [1, 0], { cols: 2 }); // 0.6931471805599453` */
  sigmoidCrossEntropy(logits: Vector, targets: Vector, options: SigmoidCrossEntropyOptions & { cols: number }): Promise<number | Float64Array> { return this.run(() => sigmoidCrossEntropyPlan(logits, targets, options)); }
  /** `sigmoidFocalLoss(logits, targets, options)` row by row across threads. @example `await pool.sigmoidFocalLoss([0, 0], [1, 0], { cols: 2, gamma: 0, alpha: -1 }); // 0.6931471805599453` */
  sigmoidFocalLoss(logits: Vector, targets: Vector, options: SigmoidFocalLossOptions & { cols: number }): Promise<number | Float64Array> { return this.run(() => sigmoidFocalLossPlan(logits, targets, options)); }

  /** One call: its plan made now (a bad argument rejects with the one-thread function's error), computed after the calls before it; several plans (totals, then terms) in turn. */
  private async run<T>(make: () => Plan | Plan[]): Promise<T> {
    if (this.closing) throw new Error('surprisal pool: the pool is closed');
    if (this.failure) throw workerFailed(this.failure.message);
    const plans = [make()].flat();
    const result = this.queue.then(async () => {
      let value: unknown;
      for (const plan of plans) value = await this.compute(plan);
      return value as T;
    });
    this.queue = result.catch(() => {});
    return result;
  }

  private async compute(plan: Plan): Promise<unknown> {
    if (this.failure) throw workerFailed(this.failure.message);
    const splittable = plan.stages.every((s) => KERNELS[s.kernel].params.every((p) => p.kind !== 'colAcc' && p.kind !== 'acc'));
    // calls the one-thread function gives the JS twins stay here (their last bits are the twins'), but
    // in a pool of the twins; the busy rule (`measure`) applies in shared mode, while this thread's
    // engine is of the pool's build
    const small = this.backend !== 'js' && engineFor(plan.size, plan.weight) === jsEngine;
    const clock = this.memory && currentEngine().name === this.backend ? this.cpuTime : undefined;
    if (plan.size < this.minElements || plan.rows < 2 || this.size < 2 || !splittable || small || (clock && performance.now() < this.alone)) return execute(plan);
    if (this.backend === 'js' && widened(plan)) return execute(plan);
    for (const w of this.workers) w.keepAlive?.(true);
    const wall = performance.now(), cpu = clock?.() ?? 0;
    let threads = true;
    try {
      if (this.memory) threads = await this.computeShared(plan, this.memory);
      else await this.computeTransferred(plan);
    } finally {
      for (const w of this.workers) w.keepAlive?.(false);
    }
    if (!threads) return execute(plan);
    if (clock) this.measure(clock() - cpu, performance.now() - wall);
    return plan.finish();
  }

  /**
   * Beside busy processes the threads may get one core between them, and the pool is then
   * slower than one thread: after two windows in a row under CONTENDED_CORES cores, calls
   * run on this thread for CONTENDED_ALONE_MS; then one such window sends them back.
   */
  private measure(cpu: number, wall: number): void {
    const w = this.window, now = performance.now();
    if (now - w.at > 2 * CONTENDED_ALONE_MS) [w.cpu, w.wall, w.strikes] = [0, 0, 0];
    w.at = now;
    w.cpu += cpu;
    w.wall += wall;
    if (w.wall < CONTENDED_WINDOW_MS) return;
    w.strikes = w.cpu < CONTENDED_CORES * w.wall ? w.strikes + 1 : 0;
    if (w.strikes >= 2) [this.alone, w.strikes] = [now + CONTENDED_ALONE_MS, 1];
    w.cpu = w.wall = 0;
  }

  /** The call's arrays, each once (an `out` may be an input too), typed and cut as the kernels take them; in shared mode those in M in place. */
  private layout(plan: Plan): { arrays: Moved[]; stages: StageRef[]; inRowBytes: number } {
    const heap = this.memory?.engine.heap;
    const arrays: Moved[] = [];
    const index = new Map<unknown, number>();
    let inRowBytes = 0;
    const stages = plan.stages.map(({ kernel, f32, args }) => ({
      kernel, f32, args: args.map((a, i) => {
        if (a === null || typeof a !== 'object') return (a ?? null) as number | null;
        const param = KERNELS[kernel].params[i], kind = param.kind, output = writes(kind);
        let n = index.get(a);
        if (n === undefined) {
          const data = a as ArrayLike<number>, elem = elemOf(kind, f32), per = rowElements(rowCode(param), plan.cols, args[i + 1]);
          const sums = summed(kind, args[i + 1]), inPlace = heap !== undefined && data instanceof TYPES[elem] && heap.holds(data) && !sums;
          if (per > 0 && !output && kind !== 'labels') inRowBytes += per * TYPES[elem].BYTES_PER_ELEMENT;
          n = arrays.push({ data, input: !output, output, sums, over: -1, ref: { elem, per: per || data.length, rowwise: per > 0, at: inPlace ? data.byteOffset : -1, offset: 0 } }) - 1;
          index.set(a, n);
        }
        if (output) arrays[n].output = true;
        return { a: n };
      }),
    }));
    // A one-stage call whose kernel may write its output over its input, both staged (the
    // caller's arrays, neither in M), the input read through no other argument (logits
    // passed as the targets too): the output is staged over the input, the input's copy
    // being read only there.  Half the slot, and the lines a worker writes are those it
    // has just read: copies across cores, not the arithmetic, bound such calls
    // (docs/pool.md).
    const [stage] = stages;
    if (stages.length === 1 && (KERNELS[stage.kernel] as KernelSpec).inPlace) {
      const x = stage.args[0], out = stage.args[KERNELS[stage.kernel].params.findIndex((p) => p.kind === 'out')];
      if (x && typeof x === 'object' && out && typeof out === 'object' && stage.args.filter((v) => v && typeof v === 'object' && v.a === x.a).length === 1) {
        const a = arrays[x.a], b = arrays[out.a];
        if (a !== b && a.input && !a.output && b.output && a.ref.rowwise && b.ref.rowwise && a.ref.at < 0 && b.ref.at < 0 && a.ref.elem === b.ref.elem && a.ref.per === b.ref.per) b.over = x.a;
      }
    }
    return { arrays, stages, inRowBytes: Math.max(inRowBytes, 1) };
  }

  /** Shared mode: publishes the call, then stages, computes and copies back until every chunk is done (false, doing nothing: the calling thread is to compute it). */
  private async computeShared(plan: Plan, { engine, control, descriptor }: SharedMemory): Promise<boolean> {
    const { arrays, stages, inRowBytes } = this.layout(plan);
    if (streamed(plan, arrays)) return false;
    const heap = engine.heap, threads = this.size;
    const chunk = chunkRows(plan.rows, plan.cols, inRowBytes, CHUNK_BYTES, 4 * threads);
    const total = Math.ceil(plan.rows / chunk);
    // a slot holds one chunk's rows of each staged row-wise array, the fixed area the others
    let slotBytes = 0, fixedBytes = 0;
    for (const { ref, over } of arrays) {
      if (ref.at >= 0 || over >= 0) continue;
      const bytes = align((ref.rowwise ? chunk * ref.per : ref.per) * TYPES[ref.elem].BYTES_PER_ELEMENT);
      ref.offset = ref.rowwise ? slotBytes : fixedBytes;
      if (ref.rowwise) slotBytes += bytes;
      else fixedBytes += bytes;
    }
    for (const { ref, over } of arrays) if (over >= 0) ref.offset = arrays[over].ref.offset;
    if (slotBytes > MAX_SLOT_BYTES) return false; // rows too long to stage a chunk at a time
    const slots = slotBytes === 0 ? 1 : Math.min(total, 2 * threads + 2);
    const need = slots * slotBytes + fixedBytes + 16;
    if (this.staging.bytes < need) {
      if (this.staging.bytes) heap.free(this.staging.ptr);
      const bytes = Math.max(need, 2 * this.staging.bytes);
      this.staging = { ptr: heap.alloc(bytes), bytes };
    }
    const slotBase = this.staging.ptr, fixedBase = slotBase + slots * slotBytes;
    for (const { data, ref } of arrays) if (!ref.rowwise && ref.at < 0) heap.put(data, ref.elem, fixedBase + ref.offset, 0, ref.per);

    // publish (SEQ odd meanwhile), then wake no more threads than there is work
    this.seq += 2;
    const tag = (this.seq >>> 1) & 0x7ff;
    const d: Descriptor = { tag, rows: plan.rows, chunkRows: chunk, total, slots, slotBytes, slotBase, fixedBase, arrays: arrays.map((m) => m.ref), stages };
    const json = new TextEncoder().encode(JSON.stringify(d));
    if (json.length > DESCRIPTOR_BYTES) throw new Error('surprisal pool: call descriptor too large');
    Atomics.store(control, SEQ, this.seq - 1);
    descriptor.set(json);
    Atomics.store(control, LENGTH, json.length);
    Atomics.store(control, STAGED, slotBytes === 0 ? total : 0);
    Atomics.store(control, DONE, 0);
    for (let s = 0; s < slots; s++) Atomics.store(control, SLOT_DONE + s, 0);
    Atomics.store(control, NEXT, tag << 20);
    Atomics.store(control, SEQ, this.seq);
    Atomics.notify(control, SEQ, Math.min(total - 1, threads - 1));

    const ring = arrays.filter((m) => m.ref.rowwise && m.ref.at < 0);
    const move = (k: number, back: boolean) => {
      const r0 = k * chunk, n = Math.min(chunk, plan.rows - r0), slot = slotBase + (k % slots) * slotBytes;
      for (const { data, ref, input, output, sums } of ring) {
        if (!back && input) heap.put(data, ref.elem, slot + ref.offset, r0 * ref.per, n * ref.per);
        if (back && output && sums) heap.get(data, ref.elem, slot + ref.offset, r0 / ROW_GROUP, Math.ceil(n / ROW_GROUP));
        else if (back && output) heap.get(data, ref.elem, slot + ref.offset, r0 * ref.per, n * ref.per);
      }
    };
    // chunks before `copied` are copied back, before `staged` staged, in order: a slot is
    // free once the chunk `slots` before is copied back
    let staged = slotBytes === 0 ? total : 0, copied = staged, mine = -1;
    while (copied < total || Atomics.load(control, DONE) < total) {
      const done = Atomics.load(control, DONE), progress = copied + staged;
      while (copied < staged && Atomics.load(control, SLOT_DONE + (copied % slots)) === copied + 1) move(copied++, true);
      const from = staged;
      while (staged < total && staged < copied + slots) {
        move(staged++, false);
        Atomics.store(control, STAGED, staged);
        if (staged < threads) Atomics.notify(control, STAGED);
      }
      // each worker's first chunk wakes it at once, later ones a burst at a time
      if (staged > from && staged >= threads) Atomics.notify(control, STAGED);
      if (copied + staged > progress) continue;
      // nothing to copy: compute a staged chunk (or keep the one claimed, `mine`, until it is)
      if (mine < 0 && (Atomics.load(control, NEXT) & 0xfffff) < staged) mine = claim(control, d);
      if (mine >= 0 && mine < staged) {
        try {
          computeChunk(d, mine, engine, heap.buffer);
        } catch (e) {
          this.fail(e instanceof Error ? e : new Error(String(e)));
          throw e;
        }
        finished(control, d, mine);
        mine = -1;
        continue;
      }
      await changed(control, DONE, done);
      if (this.failure) throw workerFailed(this.failure.message);
    }
    return true;
  }

  /** Transfer mode: each worker takes the next chunk (about 1 MiB of input) as soon as it has answered the last. */
  private async computeTransferred(plan: Plan): Promise<void> {
    const { arrays, stages, inRowBytes } = this.layout(plan);
    const chunk = chunkRows(plan.rows, plan.cols, inRowBytes, TRANSFER_CHUNK_BYTES, 2 * this.workers.length);
    let next = 0; // the first row not yet sent
    await Promise.all(this.workers.map(async (w) => {
      while (next < plan.rows) {
        const r0 = next, rows = Math.min(chunk, plan.rows - r0);
        next += rows;
        // the chunk's rows in buffers of their own, the other arrays whole (a view copied: a clone carries its buffer)
        const parts = arrays.map(({ data, ref, input }) => {
          if (!ref.rowwise) return ArrayBuffer.isView(data) ? (data as FloatArray).slice() : data;
          const part = new TYPES[ref.elem](rows * ref.per), from = r0 * ref.per, to = from + part.length;
          if (input) part.set(rowOf(data, from, part.length));
          return part;
        });
        const request: ChunkRequest = { id: this.nextId++, stages, arrays: parts, rows };
        const reply = await new Promise<ChunkReply>((resolve) => {
          if (this.failure) return resolve({ id: 0, error: this.failure.message });
          this.pending.set(request.id, resolve);
          w.post(request, parts.flatMap((p) => (ArrayBuffer.isView(p) ? [p.buffer as ArrayBuffer] : [])));
        });
        if ('error' in reply) throw workerFailed(reply.error);
        for (const [i, { data, ref, output, sums }] of arrays.entries()) {
          if (output && sums) (data as Typed).set((reply.arrays[i] as Typed).subarray(0, Math.ceil(rows / ROW_GROUP)), r0 / ROW_GROUP);
          else if (output) (data as Typed).set(reply.arrays[i], r0 * ref.per);
        }
      }
    }));
  }
}

/** Waits until control[i] is no longer v, or ~10 ms: a short spin, then without blocking (a page's main thread must not). */
async function changed(control: Int32Array, i: number, v: number): Promise<void> {
  for (let spins = 0; spins < 2000; spins++) if (Atomics.load(control, i) !== v) return;
  const { waitAsync } = Atomics as { waitAsync?: (a: Int32Array, i: number, v: number, ms: number) => { async: boolean; value: Promise<string> | string } };
  if (!waitAsync) return new Promise((resolve) => setTimeout(resolve, 0));
  const r = waitAsync(control, i, v, 10);
  if (r.async) await r.value;
}

/** Starts a pool: `make` creates a worker (told its setup in its first message). @internal */
export async function startPool(make: () => Transport, options: PoolOptions, cores: number, cpuTime?: () => number): Promise<Pool> {
  const o = options_<PoolOptions>('createPool', options, POOL_OPTIONS);
  const size = o.size === undefined ? Math.max(2, cores) : o.size;
  if (!Number.isInteger(size) || size < 1) throw new (typeof size === 'number' ? RangeError : TypeError)(`createPool: size must be a positive integer, got ${describe(size)}`);
  const minElements = nonNegative('minElements', o.minElements, 50_000);
  const backend = backendOption('createPool', o.backend);
  if (!flag('createPool', 'yieldWhenBusy', o.yieldWhenBusy, true)) cpuTime = undefined;
  // before init() this thread's engine is the JS twins', which keep every call here: so a
  // pool initialises it with its backend, unless an init() was called (even unawaited)
  const pending = lastInit();
  if (pending) await pending.catch(() => {});
  else await init({ backend });
  // 'auto': the calling thread's backend, so that the workers compute what its calls would
  const want = backend === 'auto' ? currentEngine().name : backend;
  // shared memory: SharedArrayBuffer (in a page, cross-origin isolation) and a wasm build
  const canShare = typeof SharedArrayBuffer === 'function' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;
  const build = supported().find((b) => b === want);
  const shared = flag('createPool', 'shared', o.shared, true);
  if (shared && build && canShare) {
    try {
      return await startShared(make, build, size, minElements, cpuTime);
    } catch (e) {
      if (o.shared === true) throw e;
      // no shared WebAssembly memory here: transfers
    }
  } else if (o.shared === true && (want === 'js' || !canShare)) {
    // (a wasm build this engine lacks fails below, with init()'s error)
    throw new Error(`createPool: shared: true needs ${want === 'js' ? "a WebAssembly backend, not 'js'" : 'SharedArrayBuffer (in a page, cross-origin isolation)'}; leave shared out to get transfers`);
  }
  const workers = Array.from({ length: size }, make);
  return new Pool(workers, await started(workers, () => ({ mode: 'transfer', backend: want })), size, minElements, null, cpuTime);
}

async function startShared(make: () => Transport, build: Build, size: number, minElements: number, cpuTime?: () => number): Promise<Pool> {
  const module = await sharedModule(build);
  const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true } as WebAssembly.MemoryDescriptor);
  const control = new SharedArrayBuffer(4 * CONTROL_WORDS), descriptor = new SharedArrayBuffer(DESCRIPTOR_BYTES);
  // this thread's engine over M lays everything out, the workers' windows included
  const engine = new WasmEngine(build, (await instantiate(module, memory)).exports);
  const windows = Array.from({ length: size - 1 }, () => engine.heap.alloc(WINDOW)), workers = windows.map(() => make());
  await started(workers, (i) => ({ mode: 'shared', backend: build, memory, module, control, descriptor, window: windows[i] }));
  return new Pool(workers, build, size, minElements, { engine, control: new Int32Array(control), descriptor: new Uint8Array(descriptor) }, cpuTime);
}

/** Sends each worker its setup and waits for every ready message (the first one's backend); if one fails, ends them all. */
async function started(workers: Transport[], setup: (i: number) => Setup): Promise<Backend> {
  try {
    return (await Promise.all(workers.map((w, i) => new Promise<Backend>((resolve, reject) => {
      w.listen((m) => {
        const r = m as { ready?: Backend; error?: string };
        if (r.ready) resolve(r.ready);
        else if (r.error) reject(new Error(`surprisal pool: a worker could not start: ${r.error}`));
      }, reject);
      w.post(setup(i));
    }))))[0];
  } catch (e) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  }
}

/**
 * Whether a plan writes an output of a wider type than its kernel's (a Float64Array from a
 * float32 call).  The pool stages outputs in the kernel's type; on the JS backend the
 * one-thread call's twin writes such an output in float64, so the pool leaves it to the
 * calling thread.
 */
function widened(plan: Plan): boolean {
  return plan.stages.some(({ kernel, f32, args }) => f32 && args.some((a, i) => {
    const kind = KERNELS[kernel].params[i]?.kind;
    return a instanceof Float64Array && kind !== undefined && writes(kind) && elemOf(kind, f32) === 'f32';
  }));
}

/**
 * Whether the single call may stream the plan's rows (src/stream.ts): a row of its arrays
 * staged, with the fixed ones, passes its engine's window.  The pool's threads compute a
 * row whole in M, so such a call is the calling thread's, whose engine streams it as the
 * single call does: the same bits.  Every array counts as staged here (the single call
 * stages fewer: a WasmArray of its own memory is read in place), so no call its engine
 * streams goes to the threads.
 */
function streamed(plan: Plan, arrays: Moved[]): boolean {
  const e = currentEngine();
  if (!(e instanceof WasmEngine)) return false;
  let bytes = 16;
  for (const { ref } of arrays) bytes += align(ref.per * TYPES[ref.elem].BYTES_PER_ELEMENT);
  for (const { kernel } of plan.stages) for (const p of KERNELS[kernel].params) if (p.kind === 'tmp') bytes += align((p as { k?: number }).k ?? 0);
  return bytes > e.heap.windowLimit;
}

// A pool of workers that runs the row-wise (`cols`) functions across threads: the rows
// are split into one contiguous block per thread, each thread runs the same kernel on
// its block, and the results are put back together — so every value is the one the
// single-thread call computes (each row is independent; a loss's rows are reduced on
// the calling thread exactly as `softmaxCrossEntropy` reduces them).
//
// With shared memory (Node; pages that are cross-origin isolated) the calling thread
// computes one block itself, straight from the caller's arrays, while the workers compute
// the others, each in place in a WebAssembly memory of its own that the calling thread
// shares: it copies a worker's rows straight into the worker's window there and reads
// the results back from it, so a worker's rows are copied once.  Where the workers cannot
// load the shared-memory build (the scalar backend), the rows go through SharedArrayBuffer
// scratch, reused across calls so that its pages stay mapped (a new 4 MB buffer costs
// 0.15–0.3 ms of zeroing and page faults), which each worker copies into its own memory.
// Without shared memory each block is copied into its own buffer, transferred to its
// worker and back.
//
// Small calls (and calls that are not row-wise, or whose arguments are wrong) run on
// the calling thread: below ~50 000 elements the messages cost more than a second
// core saves, and a wrong argument throws the very error the single-thread function
// throws.  Any error in a worker is likewise replayed on the calling thread.

import { output } from '../args.js';
import * as entropyFns from '../entropy.js';
import * as softmaxFns from '../softmax.js';
import { type LossCall, prepare, reduce, softmaxCrossEntropy } from '../loss.js';
import { align as span, copy, uninitialized, WasmArray } from '../memory.js';
import type { Backend, CrossEntropyLossOptions, Labels, MapOptions, ProbabilityOptions, SoftmaxReductionOptions, Vector } from '../types.js';
import { ALL_PIECES, BELL, BUFFERS, claim, CLAIM, CLAIMED, claimTag, COUNT, cut, type Doorbell, epochNow, type FloatName, handle, HANDLED, leave, MAPS, PIECE_ENDS, pieceRows, piecesDone, POLLING, pollWhile, type PoolFunction, READY, type Reply, type Request, ring, rowsOf, SENT, type Slab, slab, STATE, unclaimed, view, WORDS } from './protocol.js';

/** One worker, whatever the platform. */
export interface Transport {
  post(message: Request, transfer: ArrayBuffer[]): void;
  listen(onReply: (reply: Reply & { ready?: Backend; memory?: WebAssembly.Memory }) => void, onError: (error: Error) => void): void;
  terminate(): void | Promise<unknown>;
  /** Whether the worker keeps the process alive (Node: only while a call waits on it). */
  keepAlive?(on: boolean): void;
}

export interface PoolOptions {
  /**
   * Threads that compute a call (default: the machine's cores, at least 2): with shared
   * memory the calling thread and size − 1 workers, else size workers.
   */
  size?: number;
  /** Backend each worker loads (default `'auto'`). */
  backend?: 'auto' | Backend;
  /** Calls with fewer elements run on the calling thread (default 50 000). */
  minElements?: number;
  /** Move data through shared memory (default: wherever SharedArrayBuffer is usable). */
  shared?: boolean;
  /**
   * With shared memory, let each worker compute in a WebAssembly memory shared with the
   * calling thread, which writes the worker's rows straight into it (default true; needs
   * the SIMD backend).  Off, the rows go through SharedArrayBuffers that each worker
   * copies into and out of its own memory.
   */
  inMemory?: boolean;
  /**
   * With shared memory, how long (ms) a worker keeps polling for the next call after each
   * one, and the calling thread for a worker still computing, before sleeping (default 5
   * where the machine has a core for every thread, else 0): a sleeping thread takes
   * 80–130 µs to wake on a small VM, several percent of a millisecond call.  Polling
   * keeps the core busy meanwhile.
   */
  spin?: number;
}

type FloatArray = Float32Array | Float64Array;
/** A call's rows: floats, or a loss's int32 labels. */
type RowArray = FloatArray | Int32Array;
type Single = () => number | FloatArray;

const SINGLE: Record<PoolFunction, (...a: never[]) => number | FloatArray> = {
  entropy: entropyFns.entropy, crossEntropy: entropyFns.crossEntropy, klDivergence: entropyFns.klDivergence,
  jsDivergence: entropyFns.jsDivergence, logSumExp: softmaxFns.logSumExp, softmax: softmaxFns.softmax,
  logSoftmax: softmaxFns.logSoftmax, softmaxEntropy: softmaxFns.softmaxEntropy,
  softmaxKlDivergence: softmaxFns.softmaxKlDivergence, softmaxCrossEntropy,
};

type FloatType = { new (length: number): FloatArray; new (b: ArrayBuffer, o: number, n: number): FloatArray; BYTES_PER_ELEMENT: number };

/**
 * The split's target (ms): the workers finish this much before the calling thread, which
 * then finds them done (on their flags) rather than waiting — a wait on a flag wakes in
 * ~10–20 µs.  And the most the calling thread's share moves in one call (see `rebalance`).
 */
const MARGIN = 0.02, STEP = 0.03;

/**
 * How far into a call (ms) the calling thread waits for a worker that has not started its
 * block before computing the block itself (see `steal`): a worker wakes in ~0.1 ms, and a
 * thread that has lost its core to another process is off it for a time slice, several ms.
 */
const GRACE = 1;

/** Pieces this thread computes its own block in, copying workers' results out between them (shared mode). */
const PIECES = 4;

/**
 * The calling thread copies a worker's rows into its window at most this many bytes at a
 * time.  Node's Buffer#fill is glibc's memcpy, which on AMD copies blocks up to the L2's
 * size with `rep movsb` and larger ones with a vector loop; into lines the worker has only
 * read (a reduction's or the loss's inputs, last call) the vector loop is the slow one: 10 MB
 * took 1.34 ms in one piece and 0.64 ms in 512 KB pieces, in a two-thread test on the AMD
 * EPYC VM this was measured on (0.68 and 0.64 ms into lines the worker had written).
 */
const COPY_BYTES = 512 * 1024;

/** A doorbell's space for a rung request's options as JSON (see `ring`); longer ones are posted. */
const DOORBELL_BYTES = 4096;

/** A call, once its arguments are read (see `Pool.plan`): what every mode stages from. */
interface Plan {
  fn: PoolFunction;
  rows: number;
  cols: number;
  /** The inputs, as typed arrays of the type the single-thread call computes in. */
  inputs: RowArray[];
  /** Each input's row width: cols, or 1 for a loss's labels. */
  width: number[];
  /** The options a worker gets: no `out` or `grad` arrays, weights as float64. */
  options: Record<string, unknown>;
  /** softmaxCrossEntropy: the prepared loss, reduced on this thread at the end. */
  call: LossCall | null;
  map: boolean;
  outType: FloatType;
  /** Your `out`, and the loss's `grad` array. */
  dst: FloatArray | null;
  grad: FloatArray | null;
  gradType: FloatType | null;
  /** Where the call's results go: a map's (your `out` or a new array), else one float64 per row. */
  target: FloatArray | null;
  result: Float64Array | null;
  /** The workers' rows, and (shared mode) the calling thread's, `lead` rows from row 0. */
  blocks: [number, number][];
  mine: [number, number] | null;
  lead: number;
  /** The kind of call, for the calling thread's share (see `rebalance`). */
  kind: string;
}

/** A call's requests, staged: one per worker, with the input copies still to make and where its results are read from. */
interface Staged {
  requests: Request[];
  /** Per worker: source, destination, row width, and the destination's first row. */
  copies: [RowArray, RowArray, number, number][][];
  /** Shared modes, per worker: its results' rows as this thread sees them. */
  results: { out: FloatArray | null; perRow: Float64Array | null }[];
  /** Shared modes, per worker: how many rows of its map results or gradient are copied out already. */
  copied: number[];
}

const newStaged = (plan: Plan): Staged => ({ requests: [], copies: plan.blocks.map(() => []), results: [], copied: plan.blocks.map(() => 0) });

const isShared = (a: RowArray | null): boolean => a !== null && a.buffer instanceof SharedArrayBuffer;

/** Rows [r0, r1) of a row-major array of rows `w` wide. */
const part = <T extends RowArray>(a: T, r0: number, r1: number, w: number): T => a.subarray(r0 * w, r1 * w) as T;

/**
 * In-memory mode: where a worker's block of `m` rows puts its arrays in its window, as byte
 * offsets from the window's start — its inputs, its per-row results (not for a map), and a
 * map's results or a loss's gradient rows — null for an array of yours in shared memory,
 * used where it is; and the bytes they take (the window must hold them).  A map's results
 * go over its input rows (a map may work in place, and the calling thread copies a row's
 * results out only once it is computed): the window is half as large, and the worker writes
 * lines it has just read rather than lines the calling thread read last (paired, softmax
 * into `out` at 1024×1000 and 4096×1000: 0.94–0.98 of the time).  (A loss's gradient over its
 * logits was slower: 1.15 of the time.)
 */
interface WindowLayout {
  inputs: (number | null)[];
  perRow: number | null;
  out: number | null;
  bytes: number;
}

function windowLayout(plan: Plan, m: number): WindowLayout {
  let bytes = 0;
  const take = (inPlace: boolean, size: number): number | null => {
    if (inPlace) return null;
    const at = bytes;
    bytes += span(size);
    return at;
  };
  const inputs = plan.inputs.map((a, j) => take(isShared(a), m * plan.width[j] * a.BYTES_PER_ELEMENT));
  const perRow = plan.map ? null : take(false, 8 * m);
  const out = plan.map ? (isShared(plan.dst) ? null : inputs[0] ?? take(false, m * plan.cols * plan.outType.BYTES_PER_ELEMENT))
    : plan.grad ? take(isShared(plan.grad), m * plan.cols * plan.grad.BYTES_PER_ELEMENT) : null;
  return { inputs, perRow, out, bytes };
}

/** Shared modes: whether worker w's map results or gradient rows are to be copied into the caller's array (not written there). */
function copiesOut(plan: Plan, staged: Staged, w: number): boolean {
  const into = plan.target ?? plan.grad, out = staged.results[w].out;
  return into !== null && out !== null && out.buffer !== into.buffer;
}

/** Shared modes: copies worker w's finished result rows, up to row `upTo` of its block, into the caller's array. */
function copyOut(plan: Plan, staged: Staged, w: number, upTo: number): void {
  const done = staged.copied[w];
  if (!copiesOut(plan, staged, w) || upTo <= done) return;
  const r0 = plan.blocks[w][0], cols = plan.cols;
  copy((plan.target ?? plan.grad)!.subarray((r0 + done) * cols, (r0 + upTo) * cols), staged.results[w].out!.subarray(done * cols, upTo * cols));
  staged.copied[w] = upTo;
}

export class Pool {
  /** The backend the workers run on. */
  readonly backend: Backend;
  /** True when data move through shared memory rather than transfers. */
  readonly shared: boolean;
  /** True when the workers compute in place, in WebAssembly memories shared with this thread. */
  readonly inMemory: boolean;
  readonly size: number;
  private readonly workers: Transport[];
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closed = false;
  /** The error a worker failed with (it is gone, or in an unknown state): later calls reject. */
  private failed: Error | null = null;
  private readonly minElements: number;
  /** Calls run one at a time (each already uses every worker), so the scratch below is theirs alone. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Shared scratch reused across calls: fresh multi-megabyte buffers cost page faults and GC pressure. */
  private readonly scratch: SharedArrayBuffer[] = [];
  /** The calling thread's share of the rows, per kind of call (shared mode). */
  private readonly shares = new Map<string, number>();
  /** Shared mode: each worker's "done" flag and block timing (see `Request.signal`), and the call count. */
  private readonly flags: Int32Array | null;
  private readonly times: Float64Array | null;
  /** Shared mode: per worker, the call's seq, how many rows of its inputs are in place, and the claim word (see `Request.signal`). */
  private readonly ready: Int32Array | null;
  /** Shared mode: the pieces of each worker's block this thread computed in the last call (bits: see `steal`). */
  private readonly taken: number[];
  /** Shared mode: which pieces of each worker's block have their results in place (bits: see `Request.signal`). */
  private readonly finished: Int32Array | null;
  private seq = 0;
  /**
   * In-memory mode: each worker's shared WebAssembly memory, and its window there (see
   * `Request.window`); null when the workers could not load the shared build.
   */
  private memories: WebAssembly.Memory[] | null;
  private readonly windows: { ptr: number; bytes: number }[];
  /** @internal The rows each thread computed in the last call, the calling thread's first (for tests). */
  lastSplit: number[] = [];
  /** @internal How many requests went through a doorbell rather than a message (for tests). */
  rung = 0;
  /** False once Atomics.wait has refused to block this thread (a page's main thread). */
  private canBlock = true;
  /** Whether the workers keep the process alive (see `alive`); a new Worker does. */
  private kept = true;
  /** The SharedArrayBuffers each worker holds, by place (see `Slab.held`), and where the next goes. */
  private readonly held: (ArrayBufferLike | null)[][];
  private readonly nextHeld: number[];
  /** Shared mode with `spin`: each worker's doorbell (see `Doorbell`). */
  private readonly doorbells: Doorbell[] | null;
  /** Shared mode with `spin`: how many requests each worker has been sent (see `Doorbell`: control[HANDLED]). */
  private readonly sent: number[];
  private readonly spin: number;

  /** @internal use `createPool`. */
  constructor(workers: Transport[], size: number, backend: Backend, shared: boolean, minElements: number, memories: WebAssembly.Memory[] | null = null, spin = 0) {
    this.workers = workers;
    this.memories = shared ? memories : null;
    this.inMemory = this.memories !== null;
    this.windows = workers.map(() => ({ ptr: 0, bytes: 0 }));
    this.held = workers.map(() => new Array<ArrayBufferLike | null>(BUFFERS).fill(null));
    this.nextHeld = workers.map(() => 0);
    this.size = size;
    this.backend = backend;
    this.shared = shared;
    this.minElements = minElements;
    this.flags = shared ? new Int32Array(new SharedArrayBuffer(4 * workers.length)) : null;
    this.times = shared ? new Float64Array(new SharedArrayBuffer(16 * workers.length)) : null;
    this.ready = shared ? new Int32Array(new SharedArrayBuffer(4 * READY * workers.length)) : null;
    this.finished = shared ? new Int32Array(new SharedArrayBuffer(4 * workers.length)) : null;
    this.spin = shared ? spin : 0;
    this.doorbells = this.spin > 0 ? workers.map(() => ({
      control: new Int32Array(new SharedArrayBuffer(20)), words: new Float64Array(new SharedArrayBuffer(8 * WORDS)),
      bytes: new Uint8Array(new SharedArrayBuffer(DOORBELL_BYTES)), spin: this.spin,
      flags: this.flags!, times: this.times!, ready: this.ready!, finished: this.finished!,
    })) : null;
    for (const w of workers) {
      w.listen(
        (reply) => {
          const p = this.pending.get(reply.id);
          if (p) {
            this.pending.delete(reply.id);
            this.alive();
            p.resolve(reply);
          }
        },
        (error) => this.fail(error),
      );
    }
    this.taken = workers.map(() => 0);
    this.sent = workers.map(() => (this.doorbells ? 1 : 0)); // the doorbell itself, below
    this.doorbells?.forEach((doorbell, w) => {
      Atomics.store(doorbell.control, SENT, 1);
      workers[w].post({ id: 0, fn: 'entropy', rows: 0, cols: 0, inputs: [], options: {}, doorbell }, []);
    });
    this.alive();
  }

  /**
   * Node: the workers keep the process alive only while a reply is awaited, so a pool
   * left open does not hold the process (a pending call does).
   */
  private alive(): void {
    const on = this.pending.size > 0;
    if (on === this.kept) return;
    this.kept = on;
    for (const w of this.workers) w.keepAlive?.(on);
  }

  private fail(error: Error): void {
    this.failed ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    this.alive();
  }

  /** Stops the workers; calls still waiting are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.memories = null; // the workers' memories go with them
    for (const places of this.held) places.fill(null); // and the shared buffers they held
    this.fail(new Error('surprisal pool: closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /**
   * A zeroed array of `length` for this pool's calls: over a SharedArrayBuffer where the
   * pool shares memory, so that its workers read their rows from it, and write their
   * results into it as `out` or `grad`, where they are — nothing for the calling thread to
   * copy (the loss at 1024 × 1000 here: 1.85× one thread on ordinary arrays, against 1.78× from
   * them); else an ordinary array.
   *
   * @example
   * ```ts
   * const logits = pool.array(Float32Array, 1024 * 1000); // fill it in place
   * const probs = pool.array(Float32Array, 1024 * 1000);
   * await pool.softmax(logits, { cols: 1000, out: probs });
   * ```
   */
  array(Type: Float32ArrayConstructor, length: number): Float32Array;
  array(Type: Float64ArrayConstructor, length: number): Float64Array;
  array(Type: Float32ArrayConstructor | Float64ArrayConstructor, length: number): FloatArray {
    if ((Type as unknown) !== Float32Array && (Type as unknown) !== Float64Array) throw new TypeError('pool.array: Type must be Float32Array or Float64Array');
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`pool.array: length must be a non-negative integer, got ${String(length)}`);
    const T = Type as { new (b: ArrayBufferLike): FloatArray; new (n: number): FloatArray; BYTES_PER_ELEMENT: number };
    return this.shared ? new T(new SharedArrayBuffer(length * T.BYTES_PER_ELEMENT)) : new T(length);
  }

  entropy(p: Vector, options: ProbabilityOptions & { cols: number }): Promise<Float64Array> {
    return this.run('entropy', [p], options) as Promise<Float64Array>;
  }
  crossEntropy(p: Vector, q: Vector, options: ProbabilityOptions & { cols: number }): Promise<Float64Array> {
    return this.run('crossEntropy', [p, q], options) as Promise<Float64Array>;
  }
  klDivergence(p: Vector, q: Vector, options: ProbabilityOptions & { cols: number }): Promise<Float64Array> {
    return this.run('klDivergence', [p, q], options) as Promise<Float64Array>;
  }
  jsDivergence(p: Vector, q: Vector, options: ProbabilityOptions & { cols: number }): Promise<Float64Array> {
    return this.run('jsDivergence', [p, q], options) as Promise<Float64Array>;
  }
  logSumExp(x: Vector, options: { cols: number }): Promise<Float64Array> {
    return this.run('logSumExp', [x], options) as Promise<Float64Array>;
  }
  softmax<T extends FloatArray = FloatArray>(x: Vector, options: MapOptions & { cols: number }): Promise<T> {
    return this.run('softmax', [x], options) as Promise<T>;
  }
  logSoftmax<T extends FloatArray = FloatArray>(x: Vector, options: MapOptions & { cols: number }): Promise<T> {
    return this.run('logSoftmax', [x], options) as Promise<T>;
  }
  softmaxEntropy(x: Vector, options: SoftmaxReductionOptions & { cols: number }): Promise<Float64Array> {
    return this.run('softmaxEntropy', [x], options) as Promise<Float64Array>;
  }
  softmaxKlDivergence(a: Vector, b: Vector, options: SoftmaxReductionOptions & { cols: number }): Promise<Float64Array> {
    return this.run('softmaxKlDivergence', [a, b], options) as Promise<Float64Array>;
  }
  softmaxCrossEntropy(logits: Vector, targets: Labels | Vector, options: CrossEntropyLossOptions): Promise<number | Float64Array> {
    return this.run('softmaxCrossEntropy', [logits, targets], options) as Promise<number | Float64Array>;
  }

  private run(fn: PoolFunction, args: unknown[], options: Record<string, unknown> | CrossEntropyLossOptions): Promise<number | FloatArray> {
    const next = this.queue.then(() => this.runNow(fn, args, options));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** A float array of `length` over the k-th shared scratch buffer, grown when too small. */
  private scratchArray<T extends FloatArray>(k: number, Type: { new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number }, length: number): T {
    const bytes = length * Type.BYTES_PER_ELEMENT;
    if (!this.scratch[k] || this.scratch[k].byteLength < bytes) this.scratch[k] = new SharedArrayBuffer(bytes);
    return new Type(this.scratch[k] as unknown as ArrayBuffer, 0, length);
  }

  private async runNow(fn: PoolFunction, args: unknown[], options: Record<string, unknown> | CrossEntropyLossOptions): Promise<number | FloatArray> {
    if (this.closed) throw new Error('surprisal pool: closed');
    // (a call would wait for a dead worker's reply forever)
    if (this.failed) throw new Error(`surprisal pool: a worker failed (${this.failed.message}); close this pool and create another`, { cause: this.failed });
    const o = (options ?? {}) as Record<string, unknown>;
    const first = args[0] instanceof WasmArray ? args[0].array : args[0];
    const n = (first as ArrayLike<number> | undefined)?.length;
    const single: Single = () => {
      this.lastSplit = [typeof o.cols === 'number' && typeof n === 'number' ? n / o.cols : 0];
      return (SINGLE[fn] as (...a: unknown[]) => number | FloatArray)(...args, options);
    };
    const plan = this.plan(fn, args, o, n);
    if (!plan) return single();
    let staged: Staged;
    if (this.memories) {
      // (awaited only when a window must grow: an await costs the call a turn of the microtask queue)
      const layouts = plan.blocks.map(([r0, r1]) => windowLayout(plan, r1 - r0));
      if (layouts.some(({ bytes }, w) => this.windows[w].bytes < bytes)) {
        const grown = await Promise.all(layouts.map(({ bytes }, w) => this.windows[w].bytes >= bytes ? true : this.resize(w, bytes)));
        if (!grown.every(Boolean)) return single();
      }
      staged = this.stageInMemory(plan, layouts);
    } else staged = this.shared ? this.stageScratch(plan) : this.stageTransfer(plan);

    const { jobs, seq } = this.dispatch(plan, staged);
    const t0 = epochNow();
    let own = plan.mine ? this.computeOwn(plan, staged) : null;
    // The pieces no worker has claimed are computed here (see `steal`): at once those of a
    // worker that has started, those of one that has not only from GRACE ms into the call.
    // Blocks whose pieces are all done need not be waited for: their results are in place,
    // and their workers' replies (which still come, in order, before any later request's)
    // only settle promises nobody waits on.  A piece still being computed is waited for on
    // its bit — a message takes 50–100 µs more to arrive — where this thread may block (not
    // a page's main thread), for up to twice the time this thread's block took.
    let stolen = 0, early = false;
    const ownMs = epochNow() - t0;
    for (let pass = 0; this.shared && !own?.error && pass < 2 && !early; pass++) {
      const late = epochNow() >= t0 + GRACE;
      const s = this.steal(plan, staged, seq, late);
      stolen += s.rows;
      own = s.error ?? own;
      if (own?.error) break;
      early = this.waitDone(seq, plan.blocks.length, late ? Math.max(2 * ownMs, 1) : t0 + GRACE - epochNow());
      if (late) break;
    }
    const replies: Reply[] = early ? [] : await Promise.all(jobs);
    if (early) this.forget(staged.requests);
    if (own?.error || replies.some((r) => r.error)) return single(); // replays the error here, with the whole call's row numbers
    const share = plan.lead / plan.rows;
    if (stolen) {
      // the workers were behind (their cores taken): give this thread more
      this.shares.set(plan.kind, Math.min(0.9, share + Math.min(STEP, (0.5 * stolen) / plan.rows)));
    } else if (plan.lead && own?.busy && plan.blocks.every((_, w) => Atomics.load(this.flags!, w) === seq)) {
      // the workers' timings are in shared memory (`Request.signal`); aim for them to finish a
      // little first, so that the call need not wait for them
      const times = this.times!;
      this.shares.set(plan.kind, rebalance(share, plan.rows, { rows: plan.lead, busy: own.busy },
        plan.blocks.map(([r0, r1], w) => ({ rows: r1 - r0, busy: [times[2 * w], times[2 * w + 1]] })), MARGIN, STEP));
    }
    return this.gather(plan, staged, replies);
  }

  /**
   * Reads a call's arguments into a `Plan`, or null when it is to run on the calling thread:
   * not row-wise, too small, or arguments the single-thread function rejects (it then throws
   * its own error).
   */
  private plan(fn: PoolFunction, args: unknown[], o: Record<string, unknown>, n: number | undefined): Plan | null {
    const cols = o.cols;
    if (typeof cols !== 'number' || !Number.isInteger(cols) || cols < 1 || typeof n !== 'number' || n % cols !== 0 ||
      n < this.minElements || n / cols < 2 || !args.every((a) => ArrayBuffer.isView(a) || Array.isArray(a) || a instanceof WasmArray)) {
      return null;
    }
    const rows = n / cols;
    const call = fn === 'softmaxCrossEntropy' ? prepare(fn, args[0] as Vector, args[1] as Labels, o as unknown as CrossEntropyLossOptions) : null;
    const map = MAPS.has(fn);
    const dst = map && o.out !== undefined ? output(fn, 'out', o.out, n, [], []) : null;
    const grad = call?.grad ?? null;
    const perRowInput = (j: number, a: ArrayLike<number>) => fn === 'softmaxCrossEntropy' && j === 1 && a.length === rows;

    // Inputs as typed arrays of the type the single-thread call computes in (labels: int32
    // as given, else float64, which holds any label exactly).
    const inputs = args.map((a, j): RowArray => {
      const v = (a instanceof WasmArray ? a.array : a) as ArrayLike<number>;
      if (v instanceof Float32Array && !perRowInput(j, v)) return v;
      if (v instanceof Float64Array || (v instanceof Int32Array && perRowInput(j, v))) return v;
      return new Float64Array(v);
    });
    if (inputs.some((a, j) => a.length !== n && !perRowInput(j, a))) return null;
    const outType = map ? (inputs[0] instanceof Float32Array ? Float32Array : Float64Array) : Float64Array;

    // Shared mode: the calling thread computes the first block itself, reading the caller's
    // arrays and writing its results in place, while the workers compute the others — so
    // only the workers' rows are copied.  (Transfer mode: workers only.)
    // `size` threads compute: in shared mode the caller and size − 1 workers (a thread more
    // than the cores only time-slices with the others), else `size` workers.
    // The caller's share of the rows is learnt per kind of call (`rebalance`): its block and a
    // worker's do not cost the same per row (the caller copies the workers' rows in and out,
    // and its map results land in new pages).
    const k = Math.min(this.size, rows);
    const kind = `${fn}:${inputs[0].constructor.name}:${dst ? 'out' : ''}:${grad ? 'grad' : ''}`;
    const blocks: [number, number][] = [];
    const lead = this.shared && k > 1 ? Math.min(rows - (k - 1), Math.max(1, Math.round(rows * (this.shares.get(kind) ?? 1 / k)))) : 0;
    if (lead) blocks.push([0, lead]);
    for (let w = 0, m = lead ? k - 1 : k; w < m; w++) blocks.push([cut(lead, rows, m, w), cut(lead, rows, m, w + 1)]);
    const mine = this.shared ? blocks.shift()! : null;

    const { out: _out, grad: _grad, weights, ...rest } = o;
    const plain: Record<string, unknown> = { ...rest };
    if (weights !== undefined) plain.weights = Float64Array.from(weights as ArrayLike<number>);
    if (grad) plain.grad = true;
    return {
      fn, rows, cols, inputs, width: inputs.map((a, j) => (perRowInput(j, a) ? 1 : cols)), options: plain, call, map, outType, dst, grad,
      gradType: grad ? (grad.constructor as FloatType) : null,
      target: !map ? null : dst ?? uninitialized(outType, n), result: map ? null : new Float64Array(rows),
      blocks, mine, lead, kind,
    };
  }

  /** A request for rows [r0, r1) of the call, its slabs still to fill. */
  private request(plan: Plan, r0: number, r1: number): Request {
    return { id: this.nextId++, fn: plan.fn, rows: r1 - r0, cols: plan.cols, options: plan.options, denominator: plan.call?.denominator, inputs: [] };
  }

  /**
   * In-memory mode: each worker's rows go into its window, a block of its own (shared)
   * WebAssembly memory, where its kernels read them and write their results in place, as
   * `layouts` (see `windowLayout`) places them; inputs the caller already has in shared
   * memory are left there (the worker copies them in itself, in parallel), and result
   * arrays of yours in shared memory are written by the workers themselves.
   */
  private stageInMemory(plan: Plan, layouts: WindowLayout[]): Staged {
    const { inputs, width, map, dst, grad, outType, gradType, cols } = plan;
    const staged = newStaged(plan);
    plan.blocks.forEach(([r0, r1], w) => {
      const m = r1 - r0, layout = layouts[w], buffer = this.memories![w].buffer, base = this.windows[w].ptr;
      const place = <T extends FloatArray>(Type: FloatType, at: number, length: number): [Slab, T] => {
        const s: Slab = { type: Type.name as FloatName, buffer: null, byteOffset: base + at, length };
        return [s, view({ ...s, buffer }) as T];
      };
      const req = this.request(plan, r0, r1);
      req.inputs = inputs.map((a, j) => {
        const at = layout.inputs[j];
        if (at === null) return slab(part(a, r0, r1, width[j]));
        const [s, v] = place(a.constructor as FloatType, at, m * width[j]);
        staged.copies[w].push([a, v, width[j], r0]);
        return s;
      });
      let out: FloatArray | null = null, perRow: Float64Array | null = null;
      if (layout.perRow !== null) [req.perRow, perRow] = place<Float64Array>(Float64Array as FloatType, layout.perRow, m);
      if (map || grad) {
        if (layout.out !== null) [req.out, out] = place(map ? outType : gradType!, layout.out, m * cols);
        else req.out = slab((out = part((map ? dst : grad)!, r0, r1, cols)));
      }
      staged.requests.push(req);
      staged.results.push({ out, perRow });
    });
    return staged;
  }

  /**
   * Shared scratch: the workers' rows of inputs that are not already shared are copied into
   * SharedArrayBuffers reused across calls, and each worker reads its rows and writes its
   * results there.
   */
  private stageScratch(plan: Plan): Staged {
    const { inputs, width, map, dst, grad, outType, gradType, cols, rows } = plan;
    const staged = newStaged(plan);
    const scratch = inputs.map((a, j) => {
      if (isShared(a)) return a;
      const s = this.scratchArray(j, a.constructor as never, a.length) as FloatArray;
      plan.blocks.forEach((_, w) => staged.copies[w].push([a, s, width[j], 0]));
      return s;
    });
    const out = map ? (dst && isShared(dst) ? dst : this.scratchArray(3, outType as never, rows * cols) as FloatArray)
      : grad ? (isShared(grad) ? grad : this.scratchArray(3, gradType as never, grad.length) as FloatArray) : null;
    const perRow = map ? null : this.scratchArray(4, Float64Array as never, rows) as Float64Array;
    for (const [r0, r1] of plan.blocks) {
      const req = this.request(plan, r0, r1);
      req.inputs = scratch.map((a, j) => slab(part(a, r0, r1, width[j])));
      if (out) req.out = slab(part(out, r0, r1, cols));
      if (perRow) req.perRow = slab(perRow.subarray(r0, r1));
      staged.requests.push(req);
      staged.results.push({ out: out && out.subarray(r0 * cols, r1 * cols), perRow: perRow && perRow.subarray(r0, r1) });
    }
    return staged;
  }

  /** Transfer mode: each block in a buffer of its own, there and back. */
  private stageTransfer(plan: Plan): Staged {
    const staged = newStaged(plan);
    for (const [r0, r1] of plan.blocks) {
      const req = this.request(plan, r0, r1);
      req.inputs = plan.inputs.map((a, j) => slab(part(a, r0, r1, plan.width[j]).slice()));
      staged.requests.push(req);
    }
    return staged;
  }

  /**
   * Sends each worker its request, then (shared modes) makes the input copies piece by
   * piece, each piece published in `ready` (see `Request.signal`), so that the workers
   * compute while the copy goes on.
   */
  private dispatch(plan: Plan, staged: Staged): { jobs: Promise<Reply>[]; seq: number } {
    const { blocks } = plan;
    const { requests, copies } = staged;
    const seq = (this.seq = (this.seq % 0x7fffffff) + 1);
    const ready = this.ready, finished = this.finished;
    const copying = copies.some((c) => c.length > 0);
    if (ready) {
      for (let w = 0; w < blocks.length; w++) {
        Atomics.store(ready, READY * w + COUNT, copying ? 0 : blocks[w][1] - blocks[w][0]);
        Atomics.store(ready, READY * w + CLAIM, claimTag(seq));
        Atomics.store(finished!, w, 0);
        this.taken[w] = 0;
        Atomics.store(ready, READY * w, seq);
      }
    }
    const jobs = requests.map((req, w) => {
      if (this.shared) req.signal = { flags: this.flags!, times: this.times!, slot: w, seq, ready: ready!, finished: finished! };
      const transfer = this.shared ? [] : req.inputs.map((sl) => sl.buffer as ArrayBuffer);
      return this.ask(w, req, transfer);
    });
    if (ready && copying) {
      // piece by piece, interleaved across workers so that each starts early
      PIECE_ENDS.forEach((_, piece) => {
        blocks.forEach(([r0, r1], w) => {
          const [lo, hi] = pieceRows(r1 - r0, piece).map((r) => r0 + r);
          for (const [a, s, wd, base] of copies[w]) {
            // at most COPY_BYTES at a time (see there)
            const step = Math.max(1, Math.floor(COPY_BYTES / (wd * a.BYTES_PER_ELEMENT)));
            for (let r = lo; r < hi; r += step) {
              const e = Math.min(hi, r + step);
              copy(s.subarray((r - base) * wd, (e - base) * wd), a.subarray(r * wd, e * wd));
            }
          }
          Atomics.store(ready, READY * w + COUNT, hi - r0);
          Atomics.notify(ready, READY * w + COUNT);
        });
      });
    }
    return { jobs, seq };
  }

  /**
   * Shared mode: computes the calling thread's own block, straight from the caller's arrays
   * into the call's results — in PIECES when workers' results are to be copied out, which
   * it copies as they are finished (`finished`) between its pieces, so that little is left
   * to copy once the workers are done.  The reply's `busy` spans the whole block.
   */
  private computeOwn(plan: Plan, staged: Staged): Reply | null {
    const { inputs, width, target, grad, result, cols } = plan;
    const [m0, m1] = plan.mine!;
    const ownRequest = (r0: number, r1: number): Request => ({
      ...this.request(plan, r0, r1), inputs: inputs.map((a, j) => slab(part(a, r0, r1, width[j]))),
      out: target ? slab(target.subarray(r0 * cols, r1 * cols)) : grad ? slab(grad.subarray(r0 * cols, r1 * cols)) : undefined,
      perRow: result ? slab(result.subarray(r0, r1)) : undefined,
    });
    const pieces = plan.blocks.some((_, w) => copiesOut(plan, staged, w)) ? PIECES : 1;
    let own: Reply | null = null, start = 0;
    for (let piece = 0; piece < pieces && !own?.error; piece++) {
      const a = cut(m0, m1, pieces, piece), b = cut(m0, m1, pieces, piece + 1);
      if (b <= a) continue;
      own = handle(ownRequest(a, b)).reply;
      start ||= own.busy![0];
      if (piece < pieces - 1) plan.blocks.forEach(([r0, r1], w) => copyOut(plan, staged, w, piecesDone(Atomics.load(this.finished!, w), r1 - r0)));
    }
    if (own?.busy) own.busy = [start, own.busy[1]];
    return own;
  }

  /**
   * Shared mode, once this thread's own block is done: computes the pieces of the workers'
   * blocks that no worker has claimed yet (see `claim`), reading their inputs where the
   * worker would and writing the results where it would.  A worker whose core another
   * process has taken for a time slice (several ms) held the whole call up before: beside
   * a busy process on this 2-vCPU VM, the loss at 1024×1000 ran at 0.25× one thread through
   * the pool, now 0.82–0.89× (the benchmark's second pool table).  Unless `late`, only from
   * workers that have started (claimed a piece): one that has not may still be waking
   * (~0.1 ms), and a worker left a request behind handles it late, while the next is posted
   * rather than rung.  Returns the rows computed, and the reply of a piece that failed.
   */
  private steal(plan: Plan, staged: Staged, seq: number, late: boolean): { rows: number; error: Reply | null } {
    let rows = 0;
    for (let w = 0; w < plan.blocks.length; w++) {
      if (!late && unclaimed(this.ready!, w, seq)) continue;
      const req = staged.requests[w];
      const here = (s: Slab | undefined): Slab | undefined => s && { type: s.type, buffer: s.buffer ?? this.memories![w].buffer, byteOffset: s.byteOffset, length: s.length };
      for (let k; (k = claim(this.ready!, w, seq)) >= 0;) {
        const [lo, hi] = pieceRows(req.rows, k);
        if (hi > lo) {
          const piece = rowsOf(req, lo, hi);
          const reply = handle({ ...piece, inputs: piece.inputs.map((s) => here(s)!), out: here(piece.out), perRow: here(piece.perRow) }).reply;
          if (reply.error) return { rows, error: reply };
          rows += hi - lo;
        }
        Atomics.or(this.finished!, w, 1 << k);
        this.taken[w] |= 1 << k;
      }
    }
    return { rows, error: null };
  }

  /** Puts the workers' results into the call's result and returns it (reduced, for the loss). */
  private gather(plan: Plan, staged: Staged, replies: Reply[]): number | FloatArray {
    const { target, result, grad, cols } = plan;
    plan.blocks.forEach(([r0, r1], w) => {
      if (!this.shared) {
        const r = replies[w];
        (target ?? result)!.set(view(r.result!) as FloatArray, target ? r0 * cols : r0);
        if (r.grad && grad) grad.set(view(r.grad) as FloatArray, r0 * cols);
        return;
      }
      copyOut(plan, staged, w, r1 - r0);
      const perRow = staged.results[w].perRow;
      if (perRow) result!.subarray(r0, r1).set(perRow);
    });
    this.lastSplit = [plan.mine ? plan.mine[1] - plan.mine[0] : 0, ...plan.blocks.map(([r0, r1]) => r1 - r0)];
    if (plan.call) return reduce(plan.call, result!);
    return target ?? result!;
  }

  /**
   * Drops the waits for replies nobody awaits (the workers said "done" in shared memory).
   * Each pending wait holds, through its promise's reactions, this call's closures and so
   * its result array until the reply's message is handled — and a loop that awaits call
   * after call runs on microtasks, handling messages only now and then: it held ~40 results
   * (160 MB at 1024×1000 softmax), and every new result landed in fresh pages (~550 page
   * faults a call, 5.8 ms against 2.8 ms into a reused array).  A reply that comes for a
   * dropped wait is ignored.
   */
  private forget(requests: Request[]): void {
    for (const req of requests) this.pending.delete(req.id);
    this.alive();
  }

  /** Sends a request to worker `w` — rung where it polls its doorbell, else posted; resolves with its reply. */
  private ask(w: number, req: Request, transfer: ArrayBuffer[] = []): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(req.id, { resolve, reject });
      this.alive();
      const held = this.shared && this.hold(w, req); // (without shared memory there is no SharedArrayBuffer)
      const doorbell = this.doorbells?.[w], sent = this.sent[w]++;
      if (doorbell) Atomics.store(doorbell.control, SENT, sent + 1);
      if (doorbell && Atomics.compareExchange(doorbell.control, STATE, POLLING, CLAIMED) === POLLING) {
        // (rung only where the worker has handled every request before it: see `Doorbell`)
        const rung = held && Atomics.load(doorbell.control, HANDLED) === (sent | 0) ? ring(doorbell, req) : leave(doorbell); // false: `leave` is rung
        Atomics.add(doorbell.control, BELL, 1);
        if (rung) {
          this.rung++;
          return;
        }
      }
      this.workers[w].post(req, transfer);
    });
  }

  /**
   * Names each SharedArrayBuffer among `req`'s slabs by its place among the BUFFERS worker
   * `w` holds (see `Slab.held`), giving a new one the next place not named by `req`; true
   * when the worker holds them all already, so that the request may be rung rather than
   * posted (a post costs a wake-up: 80–130 µs here).  A pool holds on to the last BUFFERS
   * shared buffers it was given, per worker, until it is closed.
   */
  private hold(w: number, req: Request): boolean {
    const slabs = [...req.inputs, req.out, req.perRow].filter((sl): sl is Slab => sl?.buffer instanceof SharedArrayBuffer);
    const places = this.held[w];
    const named = slabs.map((sl) => places.indexOf(sl.buffer));
    const known = named.every((k) => k >= 0);
    slabs.forEach((sl, j) => {
      if (named[j] < 0) {
        let k = this.nextHeld[w];
        while (named.includes(k)) k = (k + 1) % BUFFERS;
        this.nextHeld[w] = (k + 1) % BUFFERS;
        places[k] = sl.buffer;
        named[j] = k;
      }
      sl.held = named[j];
    });
    return known;
  }

  /** In-memory mode: grows worker w's window to at least `bytes`; false if it cannot grow. */
  private async resize(w: number, bytes: number): Promise<boolean> {
    const reply = await this.ask(w, { id: this.nextId++, fn: 'entropy', rows: 0, cols: 0, inputs: [], options: {}, window: Math.ceil(bytes * 1.25) });
    if (reply.error || !reply.window) return false;
    this.windows[w] = reply.window;
    return true;
  }

  /**
   * True once every piece of call `seq`'s blocks is done (see `claim`), waiting on the
   * blocks' `finished` bits for up to `ms`; false (wait for the replies) on a worker's error,
   * on a timeout, or where this thread may not block.
   */
  private waitDone(seq: number, workers: number, ms: number): boolean {
    const flags = this.flags!, finished = this.finished!;
    const t = epochNow(), deadline = t + ms, polled = Math.min(t + this.spin, deadline);
    // true once ok(a[w]); false on worker w's error, at the deadline, or where this thread may not block
    const wait = (a: Int32Array, w: number, ok: (v: number) => boolean): boolean => {
      for (let v = Atomics.load(a, w); !ok(v); v = Atomics.load(a, w)) {
        if (Atomics.load(flags, w) === -seq) return false;
        if (pollWhile(a, w, v, polled) !== v) continue; // polling: see `PoolOptions.spin`
        const left = deadline - epochNow();
        if (left <= 0 || !this.canBlock) return false;
        try {
          Atomics.wait(a, w, v, Math.min(left, 1)); // (an error is flagged, not a bit)
        } catch {
          this.canBlock = false; // a page's main thread
          return false;
        }
      }
      return true;
    };
    for (let w = 0; w < workers; w++) {
      if (!wait(finished, w, (v) => v === ALL_PIECES)) return false;
      // a worker that computed a piece says "done" a few µs after it: waited for, it is then
      // polling for the next call, which can be rung (see `Doorbell`)
      if (this.taken[w] !== ALL_PIECES && !wait(flags, w, (v) => v === seq)) return false;
    }
    return true;
  }
}

/** A block's size and when it computed (ms since the epoch). */
export interface BlockTiming {
  rows: number;
  busy: [number, number];
}

/**
 * The calling thread's share of the rows for the next call of the same kind, moved toward
 * the split at which it and the last worker finish together.  Moving x rows from the
 * caller to the w workers moves the caller's finish by −x·kc and a worker's by +x·kw/w
 * (kc, kw: time per row, as measured), so x = (caller's finish − last worker's) /
 * (kc + kw/w).  Half of x is taken, and at most `step` of the rows: one call's timing can
 * hold a GC pause or a burst of page faults (seen: a worker's 1 ms block taking 5 ms, once
 * in ~50 calls, which moved the share from 0.45 to 0.9, and the calls after it were slow
 * for ten calls while it came back).  The share stays in [0.1, 0.9].  With a `margin` (ms)
 * the target is the workers finishing that much before the caller.
 */
export function rebalance(share: number, rows: number, own: BlockTiming, workers: BlockTiming[], margin = 0, step = 1): number {
  const perRow = (b: BlockTiming) => Math.max(b.busy[1] - b.busy[0], 1e-6) / b.rows;
  const kc = perRow(own);
  const kw = workers.reduce((a, b) => a + perRow(b), 0) / workers.length;
  const late = own.busy[1] - (Math.max(...workers.map((b) => b.busy[1])) + margin);
  const x = late / (kc + kw / workers.length);
  const next = share - Math.max(-step, Math.min(step, (0.5 * x) / rows));
  return Math.min(0.9, Math.max(0.1, Number.isFinite(next) ? next : share));
}

/** Shared memory is usable: always in Node, in a browser only when cross-origin isolated. */
export function canShare(): boolean {
  const g = globalThis as { crossOriginIsolated?: boolean; process?: unknown };
  return typeof SharedArrayBuffer === 'function' && (g.crossOriginIsolated === true || (g.process !== undefined && g.crossOriginIsolated === undefined));
}

/** Starts the workers and waits until each has loaded its backend. */
export async function startPool(make: (backend: 'auto' | Backend, memory: boolean) => Transport, options: PoolOptions, cores: number): Promise<Pool> {
  const size = options.size ?? Math.max(2, cores);
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`createPool: size must be a positive integer, got ${String(options.size)}`);
  // polling pays only where each thread has a core: else it takes the core from the thread it waits for
  const spin = options.spin ?? (cores >= size ? 5 : 0);
  if (!(spin >= 0 && spin <= 1000)) throw new RangeError(`createPool: spin must be a number of ms in [0, 1000], got ${String(options.spin)}`);
  const backend = options.backend ?? 'auto';
  const shared = (options.shared ?? true) && canShare();
  // shared mode: the calling thread computes one block, so size − 1 workers (at least one)
  const inMemory = shared && (options.inMemory ?? true);
  const workers = Array.from({ length: shared ? Math.max(1, size - 1) : size }, () => make(backend, inMemory));
  const ready = await Promise.all(workers.map((w) => new Promise<{ ready: Backend; memory?: WebAssembly.Memory }>((resolve, reject) => {
    w.listen((reply) => { if (reply.ready) resolve({ ready: reply.ready, memory: reply.memory }); }, reject);
  })));
  // in-memory mode only if every worker has its shared memory (they all load alike; a
  // backend other than SIMD wasm, or an engine without shared WebAssembly memory, has none)
  const memories = ready.every((r) => r.memory) ? ready.map((r) => r.memory!) : null;
  return new Pool(workers, size, ready[0].ready, shared, options.minElements ?? 50_000, memories, spin);
}

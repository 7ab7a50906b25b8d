// A pool of workers that runs the row-wise (`cols`) functions across threads: the rows
// are split into one contiguous block per thread, each thread runs the same kernel on
// its block, and the results are put back together — so every value is the one the
// single-thread call computes (each row is independent; a loss's rows are reduced on
// the calling thread exactly as `softmaxCrossEntropy` reduces them).
//
// Data go through SharedArrayBuffers where they can (Node; pages that are
// cross-origin isolated): the calling thread computes one block itself, straight from
// the caller's arrays; the workers' rows are copied once into shared scratch (not at all
// if they are already shared), each worker reads its rows and writes its results there,
// and the caller copies them into the result.  The scratch is reused across calls, so its
// pages stay mapped (a new 4 MB buffer costs 0.15–0.3 ms of zeroing and page faults).
// Elsewhere each block is copied into its own buffer, transferred to its worker and back.
//
// Small calls (and calls that are not row-wise, or whose arguments are wrong) run on
// the calling thread: below ~50 000 elements the messages cost more than a second
// core saves, and a wrong argument throws the very error the single-thread function
// throws.  Any error in a worker is likewise replayed on the calling thread.

import { output } from '../args.js';
import * as entropyFns from '../entropy.js';
import * as softmaxFns from '../softmax.js';
import { prepare, reduce, softmaxCrossEntropy } from '../loss.js';
import { WasmArray } from '../memory.js';
import type { Backend, CrossEntropyLossOptions, Labels, MapOptions, ProbabilityOptions, SoftmaxReductionOptions, Vector } from '../types.js';
import { handle, MAPS, type PoolFunction, type Reply, type Request, type Slab, slab, view } from './protocol.js';

/** One worker, whatever the platform. */
export interface Transport {
  post(message: Request, transfer: ArrayBuffer[]): void;
  listen(onReply: (reply: Reply & { ready?: Backend }) => void, onError: (error: Error) => void): void;
  terminate(): void | Promise<unknown>;
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
  /** Move data through SharedArrayBuffers (default: wherever they are usable). */
  shared?: boolean;
}

type FloatArray = Float32Array | Float64Array;
type Single = () => number | FloatArray;

const SINGLE: Record<PoolFunction, (...a: never[]) => number | FloatArray> = {
  entropy: entropyFns.entropy, crossEntropy: entropyFns.crossEntropy, klDivergence: entropyFns.klDivergence,
  jsDivergence: entropyFns.jsDivergence, logSumExp: softmaxFns.logSumExp, softmax: softmaxFns.softmax,
  logSoftmax: softmaxFns.logSoftmax, softmaxEntropy: softmaxFns.softmaxEntropy,
  softmaxKlDivergence: softmaxFns.softmaxKlDivergence, softmaxCrossEntropy,
};

type FloatType = { new (length: number): FloatArray; new (b: ArrayBuffer, o: number, n: number): FloatArray; BYTES_PER_ELEMENT: number };
const allocUnsafeSlow = (globalThis as { Buffer?: { allocUnsafeSlow?: (bytes: number) => Uint8Array } }).Buffer?.allocUnsafeSlow;

/**
 * A new array for a map's result, every element of which the blocks overwrite: in Node,
 * its memory is not zeroed first (Buffer.allocUnsafeSlow: its own ArrayBuffer, never a
 * slice of Node's pool) — zeroing costs 0.14 ms per 4 MB on the calling thread, where
 * the split cannot hide it.  (The single-thread map's result needs no such help: V8's
 * copy constructor skips the zeroing.)
 */
function uninitialized(Type: FloatType, n: number): FloatArray {
  const bytes = n * Type.BYTES_PER_ELEMENT;
  const b = allocUnsafeSlow?.(bytes);
  return b && b.byteOffset === 0 && b.buffer.byteLength === bytes ? new Type(b.buffer as ArrayBuffer, 0, n) : new Type(n);
}

/** Pieces each worker's input rows are copied in (shared mode). */
const PIECES = 4;

const isFloat = (a: unknown): a is FloatArray => a instanceof Float32Array || a instanceof Float64Array;

export class Pool {
  /** The backend the workers run on. */
  readonly backend: Backend;
  /** True when data move through SharedArrayBuffers rather than transfers. */
  readonly shared: boolean;
  readonly size: number;
  private readonly workers: Transport[];
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closed = false;
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
  /** Shared mode: how many rows of each worker's inputs are in place (see `Request.signal`). */
  private readonly ready: Int32Array | null;
  private seq = 0;

  /** @internal use `createPool`. */
  constructor(workers: Transport[], size: number, backend: Backend, shared: boolean, minElements: number) {
    this.workers = workers;
    this.size = size;
    this.backend = backend;
    this.shared = shared;
    this.minElements = minElements;
    this.flags = shared ? new Int32Array(new SharedArrayBuffer(4 * workers.length)) : null;
    this.times = shared ? new Float64Array(new SharedArrayBuffer(16 * workers.length)) : null;
    this.ready = shared ? new Int32Array(new SharedArrayBuffer(8 * workers.length)) : null;
    for (const w of workers) {
      w.listen(
        (reply) => {
          const p = this.pending.get(reply.id);
          if (p) {
            this.pending.delete(reply.id);
            p.resolve(reply);
          }
        },
        (error) => this.fail(error),
      );
    }
  }

  private fail(error: Error): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  /** Stops the workers; calls still waiting are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(new Error('surprisal pool: closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
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
    const o = (options ?? {}) as Record<string, unknown>;
    const single: Single = () => (SINGLE[fn] as (...a: unknown[]) => number | FloatArray)(...args, options);
    const cols = o.cols;
    const first = args[0] instanceof WasmArray ? args[0].array : args[0];
    const n = (first as ArrayLike<number> | undefined)?.length;
    if (typeof cols !== 'number' || !Number.isInteger(cols) || cols < 1 || typeof n !== 'number' || n % cols !== 0 ||
      n < this.minElements || n / cols < 2 || !args.every((a) => ArrayBuffer.isView(a) || Array.isArray(a) || a instanceof WasmArray)) {
      return single();
    }
    const rows = n / cols;
    const call = fn === 'softmaxCrossEntropy' ? prepare(fn, args[0] as Vector, args[1] as Labels, options as CrossEntropyLossOptions) : null;
    let dst: FloatArray | null = null;
    if (MAPS.has(fn) && o.out !== undefined) dst = output(fn, 'out', o.out, n, [], []);
    const grad = call?.grad ?? null;

    // Inputs as typed arrays of the type the single-thread call computes in.
    const inputs = args.map((a, k) => {
      const v = a instanceof WasmArray ? a.array : a;
      const isLabels = fn === 'softmaxCrossEntropy' && k === 1 && (v as ArrayLike<number>).length === rows;
      if (v instanceof Float32Array && !isLabels) return v;
      if (v instanceof Float64Array) return v;
      return Float64Array.from(v as ArrayLike<number>);
    });
    if (inputs.some((a, k) => a.length !== n && !(fn === 'softmaxCrossEntropy' && k === 1 && a.length === rows))) return single();
    const outType = MAPS.has(fn) ? (inputs[0] instanceof Float32Array ? Float32Array : Float64Array) : Float64Array;
    const gradType = grad ? (grad.constructor as typeof Float32Array | typeof Float64Array) : null;

    const shared = this.shared;
    // Shared mode: the calling thread computes the first block itself, reading the caller's
    // arrays and writing its results in place, while the workers compute the others — so
    // only the workers' rows are copied into shared memory.  (Transfer mode: workers only.)
    // `size` threads compute: in shared mode the caller and size − 1 workers (a thread more
    // than the cores only time-slices with the others), else `size` workers.
    // The caller's share of the rows is learnt per kind of call (`rebalance`): its block and a
    // worker's do not cost the same per row (the caller copies the workers' rows in and out,
    // and its map results land in new pages).
    const k = Math.min(this.size, rows);
    const kind = `${fn}:${inputs[0].constructor.name}:${dst ? 'out' : ''}:${grad ? 'grad' : ''}`;
    const blocks: [number, number][] = [];
    const lead = shared && k > 1 ? Math.min(rows - (k - 1), Math.max(1, Math.round(rows * (this.shares.get(kind) ?? 1 / k)))) : 0;
    if (lead) blocks.push([0, lead]);
    for (let w = 0, m = lead ? k - 1 : k; w < m; w++) blocks.push([lead + Math.floor(((rows - lead) * w) / m), lead + Math.floor(((rows - lead) * (w + 1)) / m)]);
    const mine = shared ? blocks.shift()! : null;
    const from = mine ? mine[1] : 0; // the first row a worker computes
    const perRowInput = (a: FloatArray | Int32Array, j: number) => fn === 'softmaxCrossEntropy' && j === 1 && a.length === rows;
    // Shared mode: the workers' rows of inputs that are not already shared are copied into
    // shared scratch — after the requests are posted, piece by piece, each piece published
    // in `ready` (see `Request.signal`), so the workers compute while the copy goes on.
    const copies: [FloatArray, FloatArray, number][] = [];
    const share = <T extends FloatArray>(a: T, j: number): T => {
      if (a.buffer instanceof SharedArrayBuffer) return a;
      const s = this.scratchArray(j, a.constructor as never, a.length) as T;
      copies.push([a, s, perRowInput(a, j) ? 1 : cols]);
      return s;
    };
    const sharedInputs = shared ? inputs.map(share) : inputs;
    const isShared = (a: FloatArray | null) => a !== null && a.buffer instanceof SharedArrayBuffer;
    // Where results go: a map's into the caller's `out`, or into a new array; a gradient into
    // `grad`; workers write through shared scratch when those are not shared, and the caller
    // copies their rows in.  (Results are ordinary arrays: a fresh SharedArrayBuffer per call
    // would be fresh pages every call.)  The caller's own block writes straight into the
    // result.  Measured against having the first worker allocate the new result and transfer
    // it back (so that its page faults ran on the worker): this is 5–8 % faster at 1024 and
    // 4096 rows of 1000 — a worker that allocates 16 MB per call and gives it away collects
    // often — and lets the call return on the workers' shared "done" flags, without a message.
    const workerOut = shared && MAPS.has(fn) ? (dst && isShared(dst) ? dst : this.scratchArray(3, outType as never, n) as FloatArray) : null;
    const target: FloatArray | null = !MAPS.has(fn) ? null : dst ?? uninitialized(outType, n);
    const workerRows = shared && !MAPS.has(fn) ? this.scratchArray(4, Float64Array as never, rows) as Float64Array : null;
    const workerGrad = shared && grad && gradType ? (isShared(grad) ? grad : this.scratchArray(3, gradType as never, grad.length) as FloatArray) : null;

    const { out: _out, grad: _grad, weights, ...rest } = o as Record<string, unknown>;
    const plain: Record<string, unknown> = { ...rest };
    if (weights !== undefined) plain.weights = Float64Array.from(weights as ArrayLike<number>);
    if (grad) plain.grad = true;

    const request = (r0: number, r1: number, ins: (FloatArray | Int32Array)[], mapOut: FloatArray | null, gradOut: FloatArray | null,
      perRow: Float64Array | null, copy: boolean): Request => {
      const part = (a: FloatArray | Int32Array, perRow: boolean): Slab => {
        const sub = perRow ? a.subarray(r0, r1) : a.subarray(r0 * cols, r1 * cols);
        return slab(copy ? sub.slice() : sub);
      };
      const req: Request = {
        id: this.nextId++, fn, rows: r1 - r0, cols, options: plain, denominator: call?.denominator,
        inputs: ins.map((a, j) => part(a, perRowInput(a, j))),
      };
      if (copy) return req;
      if (mapOut) req.out = part(mapOut, false);
      else if (!MAPS.has(fn)) req.perRow = part(perRow!, true);
      if (gradOut) req.out = part(gradOut, false);
      return req;
    };
    const seq = (this.seq = (this.seq % 0x7fffffff) + 1);
    const ready = this.ready;
    if (ready) {
      for (let w = 0; w < blocks.length; w++) {
        Atomics.store(ready, 2 * w + 1, copies.length ? 0 : blocks[w][1] - blocks[w][0]);
        Atomics.store(ready, 2 * w, seq);
      }
    }
    const jobs: Promise<Reply>[] = blocks.map(([r0, r1], w) => {
      const req = request(r0, r1, sharedInputs, workerOut, workerGrad, workerRows, !shared);
      if (shared) req.signal = { flags: this.flags!, times: this.times!, slot: w, seq, ready: ready! };
      const transfer = shared ? [] : req.inputs.map((sl) => sl.buffer as ArrayBuffer);
      return new Promise<Reply>((resolve, reject) => {
        this.pending.set(req.id, { resolve, reject });
        this.workers[w].post(req, transfer);
      });
    });
    if (ready && copies.length) {
      // four pieces per worker, interleaved across workers so that each starts early
      for (let piece = 1; piece <= PIECES; piece++) {
        blocks.forEach(([r0, r1], w) => {
          const lo = r0 + Math.floor(((r1 - r0) * (piece - 1)) / PIECES), hi = r0 + Math.floor(((r1 - r0) * piece) / PIECES);
          for (const [a, s, width] of copies) s.subarray(lo * width, hi * width).set(a.subarray(lo * width, hi * width) as never);
          Atomics.store(ready, 2 * w + 1, hi - r0);
          Atomics.notify(ready, 2 * w + 1);
        });
      }
    }
    const result = MAPS.has(fn) ? null : new Float64Array(rows);
    const own = mine ? handle(request(mine[0], mine[1], inputs, target, grad, result, false)).reply : null;
    // Workers that said "done" in shared memory before this thread finished its block need
    // not be waited for: their results are in place, and their replies (which still come,
    // in order, before any later request's) only settle promises nobody waits on.
    const early = shared && !own?.error && blocks.every((_, w) => Atomics.load(this.flags!, w) === seq);
    const replies: Reply[] = early ? [] : await Promise.all(jobs);
    if (early) for (const job of jobs) job.catch(() => undefined); // a pool closed meanwhile rejects them
    if (own?.error || replies.some((r) => r.error)) return single(); // replays the error here, with the whole call's row numbers
    if (lead && own?.busy) {
      // the workers' timings are in shared memory (`Request.signal`); aim for them to finish a
      // little first (50 µs), so that the call need not wait for their messages
      const times = this.times!;
      this.shares.set(kind, rebalance(lead / rows, rows, { rows: lead, busy: own.busy },
        blocks.map(([r0, r1], w) => ({ rows: r1 - r0, busy: [times[2 * w], times[2 * w + 1]] })), 0.05));
    }

    if (!shared) {
      replies.forEach((r, w) => {
        const [r0] = blocks[w];
        (target ?? result)!.set(view(r.result!) as FloatArray, target ? r0 * cols : r0);
        if (r.grad && grad) grad.set(view(r.grad) as FloatArray, r0 * cols);
      });
    } else {
      if (target && workerOut !== target) target.subarray(from * cols).set(workerOut!.subarray(from * cols) as never);
      if (grad && workerGrad !== grad) grad.subarray(from * cols).set(workerGrad!.subarray(from * cols) as never);
      if (workerRows) result!.subarray(from).set(workerRows.subarray(from, rows));
    }
    if (call) return reduce(call, result!);
    return target ?? result!;
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
 * (kc + kw/w).  Half of x is taken — one call's timing can hold a GC pause or a burst of
 * page faults — and the share stays in [0.1, 0.9].  With a `margin` (ms) the target is the
 * workers finishing that much before the caller.
 */
export function rebalance(share: number, rows: number, own: BlockTiming, workers: BlockTiming[], margin = 0): number {
  const perRow = (b: BlockTiming) => Math.max(b.busy[1] - b.busy[0], 1e-6) / b.rows;
  const kc = perRow(own);
  const kw = workers.reduce((a, b) => a + perRow(b), 0) / workers.length;
  const late = own.busy[1] - (Math.max(...workers.map((b) => b.busy[1])) + margin);
  const x = late / (kc + kw / workers.length);
  const next = share - (0.5 * x) / rows;
  return Math.min(0.9, Math.max(0.1, Number.isFinite(next) ? next : share));
}

/** Shared memory is usable: always in Node, in a browser only when cross-origin isolated. */
export function canShare(): boolean {
  const g = globalThis as { crossOriginIsolated?: boolean; process?: unknown };
  return typeof SharedArrayBuffer === 'function' && (g.crossOriginIsolated === true || (g.process !== undefined && g.crossOriginIsolated === undefined));
}

/** Starts the workers and waits until each has loaded its backend. */
export async function startPool(make: (backend: 'auto' | Backend) => Transport, options: PoolOptions, cores: number): Promise<Pool> {
  const size = options.size ?? Math.max(2, cores);
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`createPool: size must be a positive integer, got ${String(options.size)}`);
  const backend = options.backend ?? 'auto';
  const shared = (options.shared ?? true) && canShare();
  // shared mode: the calling thread computes one block, so size − 1 workers (at least one)
  const workers = Array.from({ length: shared ? Math.max(1, size - 1) : size }, () => make(backend));
  const ready = await Promise.all(workers.map((w) => new Promise<Backend>((resolve, reject) => {
    w.listen((reply) => { if (reply.ready) resolve(reply.ready); }, reject);
  })));
  return new Pool(workers, size, ready[0], shared, options.minElements ?? 50_000);
}

// A pool of workers that runs the row-wise (`cols`) functions across threads: the rows
// are split into one contiguous block per worker, each worker runs the same kernel on
// its block, and the results are put back together — so every value is the one the
// single-thread call computes (each row is independent; a loss's rows are reduced on
// the calling thread exactly as `softmaxCrossEntropy` reduces them).
//
// Data go through SharedArrayBuffers where they can (Node; pages that are
// cross-origin isolated): the inputs are copied once into shared memory (not at all if
// they are already there), every worker reads its rows and writes its results in
// place, and a map's result is returned as a view of shared memory.  Elsewhere each
// block is copied into its own buffer, transferred to its worker and back.
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
import { MAPS, type PoolFunction, type Reply, type Request, type Slab, slab, view } from './protocol.js';

/** One worker, whatever the platform. */
export interface Transport {
  post(message: Request, transfer: ArrayBuffer[]): void;
  listen(onReply: (reply: Reply & { ready?: Backend }) => void, onError: (error: Error) => void): void;
  terminate(): void | Promise<unknown>;
}

export interface PoolOptions {
  /** Number of workers (default: the machine's cores, at least 2). */
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

  /** @internal use `createPool`. */
  constructor(workers: Transport[], backend: Backend, shared: boolean, minElements: number) {
    this.workers = workers;
    this.size = workers.length;
    this.backend = backend;
    this.shared = shared;
    this.minElements = minElements;
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
    const share = <T extends FloatArray>(a: T, k: number): T => {
      if (a.buffer instanceof SharedArrayBuffer) return a;
      const s = this.scratchArray(k, a.constructor as never, a.length) as T;
      s.set(a as never);
      return s;
    };
    const sharedInputs = shared ? inputs.map(share) : inputs;
    const isShared = (a: FloatArray | null) => a !== null && a.buffer instanceof SharedArrayBuffer;
    const result = !shared
      ? new outType(MAPS.has(fn) ? n : rows)
      : MAPS.has(fn)
        ? (isShared(dst) ? dst! : dst ? this.scratchArray(3, outType as never, n) as FloatArray : new outType(new SharedArrayBuffer(n * outType.BYTES_PER_ELEMENT) as unknown as ArrayBuffer))
        : new outType(new SharedArrayBuffer(rows * 8) as unknown as ArrayBuffer);
    const sharedGrad = shared && grad && gradType ? (isShared(grad) ? grad : this.scratchArray(3, gradType as never, grad.length) as FloatArray) : null;

    const { out: _out, grad: _grad, weights, ...rest } = o as Record<string, unknown>;
    const plain: Record<string, unknown> = { ...rest };
    if (weights !== undefined) plain.weights = Float64Array.from(weights as ArrayLike<number>);
    if (grad) plain.grad = true;

    const k = Math.min(this.size, rows);
    const jobs: Promise<Reply>[] = [];
    const blocks: [number, number][] = [];
    for (let w = 0; w < k; w++) {
      const r0 = Math.floor((rows * w) / k), r1 = Math.floor((rows * (w + 1)) / k);
      blocks.push([r0, r1]);
      const part = (a: FloatArray, perRow: boolean): Slab => {
        const [lo, hi] = perRow ? [r0, r1] : [r0 * cols, r1 * cols];
        const s = a.subarray(lo, hi);
        return shared ? slab(s) : slab(s.slice());
      };
      const req: Request = {
        id: this.nextId++, fn, rows: r1 - r0, cols, options: plain, denominator: call?.denominator,
        inputs: sharedInputs.map((a, j) => part(a, fn === 'softmaxCrossEntropy' && j === 1 && a.length === rows)),
      };
      if (shared) {
        if (MAPS.has(fn)) req.out = part(result, false);
        else req.perRow = part(result, true);
        if (sharedGrad) req.out = part(sharedGrad, false);
      }
      const transfer = shared ? [] : req.inputs.map((s) => s.buffer as ArrayBuffer);
      jobs.push(new Promise<Reply>((resolve, reject) => {
        this.pending.set(req.id, { resolve, reject });
        this.workers[w].post(req, transfer);
      }));
    }
    const replies = await Promise.all(jobs);
    if (replies.some((r) => r.error)) return single(); // replays the worker's error here, with the whole call's row numbers

    if (!shared) {
      replies.forEach((r, w) => {
        const [r0] = blocks[w];
        result.set(view(r.result!) as FloatArray, MAPS.has(fn) ? r0 * cols : r0);
        if (r.grad && grad) grad.set(view(r.grad) as FloatArray, r0 * cols);
      });
    } else if (sharedGrad && grad && sharedGrad !== grad) {
      grad.set(sharedGrad);
    }
    if (call) return reduce(call, result as Float64Array);
    if (MAPS.has(fn) && dst) {
      if (dst !== result) dst.set(result);
      return dst;
    }
    return result;
  }
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
  const workers = Array.from({ length: size }, () => make(backend));
  const ready = await Promise.all(workers.map((w) => new Promise<Backend>((resolve, reject) => {
    w.listen((reply) => { if (reply.ready) resolve(reply.ready); }, reject);
  })));
  return new Pool(workers, ready[0], (options.shared ?? true) && canShare(), options.minElements ?? 50_000);
}

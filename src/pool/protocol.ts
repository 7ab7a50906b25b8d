// The worker pool's messages, and the worker side of it (shared by the Node and the
// browser worker entries).  A request names a row-wise function, a range of rows, and
// where the rows' data are: in the worker's own WebAssembly memory, which is shared with
// the calling thread (the worker computes in place); views into SharedArrayBuffers the
// threads read and write directly; or arrays transferred to the worker and back.  The
// first two need shared memory (Node, and cross-origin-isolated pages).

import { allocate, init, initShared } from '../backend.js';
import type { WasmArray } from '../memory.js';
import * as entropyFns from '../entropy.js';
import * as softmaxFns from '../softmax.js';
import { prepare, rowLosses } from '../loss.js';
import type { Backend } from '../types.js';

export type FloatName = 'Float32Array' | 'Float64Array' | 'Int32Array';

/** An array in a message: a slice of a shared buffer, or a buffer of its own (transferred). */
export interface Slab {
  type: FloatName;
  /** null: the worker's own WebAssembly memory (inside its window: see `Request.window`). */
  buffer: ArrayBufferLike | null;
  byteOffset: number;
  length: number;
}

export interface Request {
  id: number;
  fn: PoolFunction;
  rows: number;
  cols: number;
  /** The row-major inputs of these rows (labels: one per row). */
  inputs: Slab[];
  /** Where to write: a map's result, or a loss's gradient; absent in transfer mode. */
  out?: Slab;
  /** Where to write the per-row results (shared mode). */
  perRow?: Slab;
  options: Record<string, unknown>;
  /**
   * Shared mode: where to say "done" before the reply is posted — `busy` into
   * times[2·slot], times[2·slot + 1], then `seq` (−seq on an error) into flags[slot] — so
   * a caller that finishes its own block later can go on without waiting for the message.
   * With `ready`, the inputs are still being copied in when the request arrives: once
   * ready[2·slot] is `seq`, ready[2·slot + 1] counts the block's rows whose inputs are in
   * place, and the block is computed piece by piece as they arrive (a quarter of the block
   * at most at a time), finished[slot] counting the rows whose results are in place (the
   * caller zeroes it before posting), so that the caller can copy results out while the
   * worker computes the rest.
   */
  signal?: { flags: Int32Array; times: Float64Array; slot: number; seq: number; ready?: Int32Array; finished?: Int32Array };
  /** softmaxCrossEntropy: the whole batch's 'mean' denominator. */
  denominator?: number;
  /**
   * Instead of a call: make the worker's window — the block of its shared WebAssembly
   * memory the calling thread lays calls out in — at least this many bytes; the reply
   * says where it is.  (Growing it may grow the memory: the caller reads `buffer` anew.)
   */
  window?: number;
}

export interface Reply {
  id: number;
  /** Transfer mode: the result (a map's array, or the per-row values). */
  result?: Slab;
  grad?: Slab;
  error?: { name: string; message: string };
  /** When the block started and finished computing (ms since the epoch: comparable across threads). */
  busy?: [number, number];
  /** The reply to a `window` request: the window's byte offset and size in the worker's memory. */
  window?: { ptr: number; bytes: number };
}

export type PoolFunction =
  | 'entropy' | 'crossEntropy' | 'klDivergence' | 'jsDivergence'
  | 'logSumExp' | 'softmax' | 'logSoftmax' | 'softmaxEntropy' | 'softmaxKlDivergence'
  | 'softmaxCrossEntropy';

export const MAPS = new Set<PoolFunction>(['softmax', 'logSoftmax']);

const CTORS = { Float32Array, Float64Array, Int32Array };

/** This worker's window in its shared WebAssembly memory (see `Request.window`). */
let window: WasmArray<Float64Array> | null = null;

export function view(s: Slab): Float32Array | Float64Array | Int32Array {
  // (the window's view is re-derived after growth: its buffer is the memory's current one,
  // the one the heap recognises as its own, so the kernels read and write it in place)
  return new CTORS[s.type]((s.buffer ?? window!.array.buffer) as ArrayBuffer, s.byteOffset, s.length);
}

export function slab(a: Float32Array | Float64Array | Int32Array): Slab {
  return { type: a.constructor.name as FloatName, buffer: a.buffer, byteOffset: a.byteOffset, length: a.length };
}

const reductions: Record<string, (...a: never[]) => number | Float64Array> = {
  entropy: entropyFns.entropy, crossEntropy: entropyFns.crossEntropy, klDivergence: entropyFns.klDivergence,
  jsDivergence: entropyFns.jsDivergence, logSumExp: softmaxFns.logSumExp, softmaxEntropy: softmaxFns.softmaxEntropy,
  softmaxKlDivergence: softmaxFns.softmaxKlDivergence,
};

/** A clock every thread of the process reads alike (performance.now() counts from each thread's own start). */
export const epochNow = (): number => performance.timeOrigin + performance.now();

/** Runs one request in a worker; the caller posts the reply (transferring its buffers). */
export function handle(req: Request): { reply: Reply; transfer: ArrayBuffer[] } {
  if (req.window !== undefined) return { reply: resize(req), transfer: [] };
  const t0 = epochNow();
  const sig = req.signal;
  const done = sig?.ready ? computeAsReady(req, sig.ready, sig.slot, sig.seq, sig.finished) : compute(req);
  const t1 = epochNow();
  done.reply.busy = [t0, t1];
  if (sig) {
    sig.times[2 * sig.slot] = t0;
    sig.times[2 * sig.slot + 1] = t1;
    Atomics.store(sig.flags, sig.slot, done.reply.error ? -sig.seq : sig.seq);
    Atomics.notify(sig.flags, sig.slot);
  }
  return done;
}

function resize(req: Request): Reply {
  try {
    if (!window || window.length * 8 < req.window!) {
      window?.free();
      window = null;
      window = allocate(Float64Array, Math.ceil(req.window! / 8));
    }
    return { id: req.id, window: { ptr: window.array.byteOffset, bytes: window.length * 8 } };
  } catch (e) {
    const err = e as Error;
    return { id: req.id, error: { name: err.name, message: err.message } };
  }
}

const BYTES = { Float32Array: 4, Float64Array: 8, Int32Array: 4 };

/** Rows [a, b) of a request's block: its slabs narrowed to them. */
function rowsOf(req: Request, a: number, b: number): Request {
  const cut = (s: Slab, perRow: boolean): Slab => {
    const w = perRow ? 1 : req.cols;
    return { ...s, byteOffset: s.byteOffset + a * w * BYTES[s.type], length: (b - a) * w };
  };
  const labels = (s: Slab, j: number) => req.fn === 'softmaxCrossEntropy' && j === 1 && s.length === req.rows;
  return {
    ...req, rows: b - a, signal: undefined,
    inputs: req.inputs.map((s, j) => cut(s, labels(s, j))),
    out: req.out && cut(req.out, false),
    perRow: req.perRow && cut(req.perRow, true),
  };
}

/**
 * Shared mode with `signal.ready`: computes the block in pieces, each as soon as the
 * caller has copied its rows in, so the worker starts while the copy goes on.  Rows are
 * independent, so the pieces' results are the whole block's.  (The results all go to
 * shared memory in this mode: the reply carries none.)
 */
function computeAsReady(req: Request, ready: Int32Array, slot: number, seq: number, finished?: Int32Array): { reply: Reply; transfer: ArrayBuffer[] } {
  const most = Math.ceil(req.rows / 4);
  for (let done = 0; done < req.rows;) {
    // seq before the count: a count read after this call's seq is this call's (the caller
    // resets it before publishing seq)
    const current = Atomics.load(ready, 2 * slot) === seq;
    const have = current ? Math.min(Atomics.load(ready, 2 * slot + 1), done + most) : done;
    if (have <= done) {
      Atomics.wait(ready, 2 * slot + 1, have, current ? 1000 : 1);
      continue;
    }
    const piece = compute(rowsOf(req, done, have));
    if (piece.reply.error) return { reply: { ...piece.reply, id: req.id }, transfer: [] };
    done = have;
    if (finished) Atomics.store(finished, slot, done);
  }
  return { reply: { id: req.id }, transfer: [] };
}

function compute(req: Request): { reply: Reply; transfer: ArrayBuffer[] } {
  try {
    const inputs = req.inputs.map(view);
    const options = { ...req.options, cols: req.cols };
    let result: Float32Array | Float64Array;
    let grad: Float32Array | Float64Array | null = null;
    if (MAPS.has(req.fn)) {
      const fn = req.fn === 'softmax' ? softmaxFns.softmax : softmaxFns.logSoftmax;
      const out = req.out ? (view(req.out) as Float32Array | Float64Array) : undefined;
      result = fn(inputs[0] as Float64Array, { ...options, out });
    } else if (req.fn === 'softmaxCrossEntropy') {
      const [z, targets] = inputs;
      grad = req.out ? (view(req.out) as Float32Array | Float64Array) : req.options.grad ? new (z.constructor as Float64ArrayConstructor)(z.length) : null;
      const call = prepare('softmaxCrossEntropy', z, targets, { ...(options as { cols: number }), grad: grad ?? undefined });
      result = rowLosses(call, req.denominator ?? call.denominator);
    } else {
      result = reductions[req.fn](...(inputs as never[]), options as never) as Float64Array;
    }
    if (req.perRow) {
      (view(req.perRow) as Float64Array).set(result);
      return { reply: { id: req.id }, transfer: [] };
    }
    if (MAPS.has(req.fn) && req.out) return { reply: { id: req.id }, transfer: [] };
    const reply: Reply = { id: req.id, result: slab(result) };
    const transfer = [result.buffer as ArrayBuffer];
    if (grad && !req.out) {
      reply.grad = slab(grad);
      transfer.push(grad.buffer as ArrayBuffer);
    }
    return { reply, transfer };
  } catch (e) {
    const err = e as Error;
    return { reply: { id: req.id, error: { name: err.name, message: err.message } }, transfer: [] };
  }
}

/**
 * A worker's start: loads `backend`; with `memory`, the SIMD build over a shared memory
 * of its own where the engine allows (returned, for the calling thread), else as asked.
 */
export async function start(backend: 'auto' | Backend, memory: boolean): Promise<{ ready: Backend; memory?: WebAssembly.Memory }> {
  if (memory && (backend === 'auto' || backend === 'wasm-simd')) {
    const shared = await initShared();
    if (shared) return { ready: 'wasm-simd', memory: shared };
  }
  return { ready: await init({ backend }) };
}

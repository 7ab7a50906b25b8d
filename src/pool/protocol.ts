// The worker pool's messages, and the worker side of it (shared by the Node and the
// browser worker entries).  A request names a row-wise function, a range of rows, and
// where the rows' data are: views into SharedArrayBuffers every worker reads and writes
// directly (Node, and cross-origin-isolated pages), or arrays transferred to the worker
// and back.

import { init } from '../backend.js';
import * as entropyFns from '../entropy.js';
import * as softmaxFns from '../softmax.js';
import { prepare, rowLosses } from '../loss.js';
import type { Backend } from '../types.js';

export type FloatName = 'Float32Array' | 'Float64Array' | 'Int32Array';

/** An array in a message: a slice of a shared buffer, or a buffer of its own (transferred). */
export interface Slab {
  type: FloatName;
  buffer: ArrayBufferLike;
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
  /** softmaxCrossEntropy: the whole batch's 'mean' denominator. */
  denominator?: number;
}

export interface Reply {
  id: number;
  /** Transfer mode: the result (a map's array, or the per-row values). */
  result?: Slab;
  grad?: Slab;
  error?: { name: string; message: string };
}

export type PoolFunction =
  | 'entropy' | 'crossEntropy' | 'klDivergence' | 'jsDivergence'
  | 'logSumExp' | 'softmax' | 'logSoftmax' | 'softmaxEntropy' | 'softmaxKlDivergence'
  | 'softmaxCrossEntropy';

export const MAPS = new Set<PoolFunction>(['softmax', 'logSoftmax']);

const CTORS = { Float32Array, Float64Array, Int32Array };

export function view(s: Slab): Float32Array | Float64Array | Int32Array {
  return new CTORS[s.type](s.buffer as ArrayBuffer, s.byteOffset, s.length);
}

export function slab(a: Float32Array | Float64Array | Int32Array): Slab {
  return { type: a.constructor.name as FloatName, buffer: a.buffer, byteOffset: a.byteOffset, length: a.length };
}

const reductions: Record<string, (...a: never[]) => number | Float64Array> = {
  entropy: entropyFns.entropy, crossEntropy: entropyFns.crossEntropy, klDivergence: entropyFns.klDivergence,
  jsDivergence: entropyFns.jsDivergence, logSumExp: softmaxFns.logSumExp, softmaxEntropy: softmaxFns.softmaxEntropy,
  softmaxKlDivergence: softmaxFns.softmaxKlDivergence,
};

/** Runs one request in a worker; the caller posts the reply (transferring its buffers). */
export function handle(req: Request): { reply: Reply; transfer: ArrayBuffer[] } {
  try {
    const inputs = req.inputs.map(view);
    const options = { ...req.options, cols: req.cols };
    let result: Float32Array | Float64Array;
    let grad: Float32Array | Float64Array | null = null;
    if (MAPS.has(req.fn)) {
      const out = req.out ? (view(req.out) as Float32Array | Float64Array) : undefined;
      result = (req.fn === 'softmax' ? softmaxFns.softmax : softmaxFns.logSoftmax)(inputs[0] as Float64Array, { ...options, out });
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

/** The first message a worker gets: which backend to load. */
export async function start(backend: 'auto' | Backend): Promise<Backend> {
  return init({ backend });
}

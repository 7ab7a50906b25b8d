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
  /**
   * A SharedArrayBuffer's place among the BUFFERS the worker keeps: a posted request puts
   * `buffer` there, and a rung one names it by this alone (see `Doorbell`).
   */
  held?: number;
}

/** How many SharedArrayBuffers of the caller's a worker keeps for rung requests to name. */
export const BUFFERS = 8;

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
   * With `ready` and `finished`, the block is computed in pieces (see `PIECE_ENDS`) as its
   * inputs arrive: once ready[READY·slot] is `seq`, ready[READY·slot + COUNT] counts the
   * block's rows whose inputs are in place; ready[READY·slot + CLAIM] is the claim word (see `claim`),
   * and bit k of finished[slot] says piece k's results are in place (the caller resets both
   * before publishing seq), so that the caller can copy results out while the worker
   * computes the rest, and compute the pieces the worker has not claimed once it is done
   * with its own block.
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
  /** Instead of a call: the worker's doorbell (see `Doorbell`), kept for the pool's life. */
  doorbell?: Doorbell;
}

/**
 * A worker's second way in, beside messages.  A worker that has just answered a call keeps
 * polling its doorbell for `spin` ms instead of returning to its event loop, so that the
 * calling thread's next call can reach it through shared memory: waking a sleeping thread
 * — a message, or an `Atomics.notify` — costs 80–130 µs on the 2-vCPU VM this was measured
 * on (a halted vCPU must be woken), against ~4 µs for a thread that polls, and posting the
 * message costs the calling thread 15–50 µs more.  (Thread pools do the same: XNNPACK's
 * pthreadpool spins before it sleeps, OpenMP runtimes for KMP_BLOCKTIME.)
 *
 * control[STATE] says where the worker is: IDLE (its event loop: post a message), POLLING
 * (ring the bell), CLAIMED (the caller is writing a request).  The caller may ring only
 * after it has moved POLLING → CLAIMED; the worker leaves only by moving POLLING → IDLE, so
 * a request is never rung to a worker that has left nor posted to one that polls.  A
 * request is rung as numbers in `words` (see `ring`: a JSON encoding cost the two threads
 * ~60 µs a call between them, its serializer's code cold after a kernel has streamed
 * megabytes through the caches), its options other than `cols`, if any, as
 * control[LENGTH] bytes of JSON in `bytes`; then control[BELL] + 1.  The call's `signal`
 * arrays are these, sent once: a rung request carries only its slot and seq.  A request
 * that cannot be rung (see `ring`) is posted after ringing `leave` (LENGTH −1), which
 * sends the worker back to its event loop, where the message waits.  Replies are posted
 * as messages either way.  control[HANDLED] counts the requests the worker has handled,
 * control[SENT] those the caller has sent: a request is rung only when the worker has
 * handled every one sent before it, since one still queued as a message may name the
 * SharedArrayBuffers a rung one refers to by place (see `Slab.held`) — the caller may
 * finish a call, and send the next, before the worker has even seen the last (see
 * `claim`) — and a polling worker that sees requests queued goes back to its event loop
 * for them.
 */
export interface Doorbell {
  control: Int32Array;
  /** A rung request's numbers (`WORDS` of them: see `ring`). */
  words: Float64Array;
  bytes: Uint8Array;
  /** ms a worker polls for the next call after each one (0: never). */
  spin: number;
  flags: Int32Array;
  times: Float64Array;
  ready: Int32Array;
  finished: Int32Array;
}

export const STATE = 0, BELL = 1, LENGTH = 2, HANDLED = 3, SENT = 4, IDLE = 0, POLLING = 1, CLAIMED = 2;

/**
 * A rung request's numbers: id, fn (index in FNS), rows, cols, whether it has a
 * denominator, the denominator, its signal's slot (−1: none) and seq, its input count,
 * then four slabs — two inputs, out, perRow — of four: type (index in TYPES, −1: none),
 * byteOffset, length, and where the data are (−1: the window, else `Slab.held`).
 */
export const WORDS = 25;
const SLABS = 9;

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
const TYPES: FloatName[] = ['Float32Array', 'Float64Array', 'Int32Array'];
const FNS: PoolFunction[] = ['entropy', 'crossEntropy', 'klDivergence', 'jsDivergence', 'logSumExp', 'softmax', 'logSoftmax', 'softmaxEntropy', 'softmaxKlDivergence', 'softmaxCrossEntropy'];
const encoder = new TextEncoder(), decoder = new TextDecoder();

/** This worker's window in its shared WebAssembly memory (see `Request.window`). */
let window: WasmArray<Float64Array> | null = null;
/** This worker's doorbell (see `Request.doorbell`). */
let doorbell: Doorbell | null = null;
/** The SharedArrayBuffers rung requests name (see `Slab.held`). */
const held: (ArrayBufferLike | null)[] = new Array<ArrayBufferLike | null>(BUFFERS).fill(null);

/**
 * A request is handled: counted in control[HANDLED], and from here on the caller may ring
 * this worker's next call (see `Doorbell`).
 */
function handled(): void {
  if (!doorbell) return;
  Atomics.add(doorbell.control, HANDLED, 1);
  if (doorbell.spin) Atomics.store(doorbell.control, STATE, POLLING);
}

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

/**
 * Polls `a[i]` until it is no longer `v` or the clock passes `until` (ms since the epoch);
 * returns the last value read.  The clock is read once every 256 polls (~1 µs): Node 20's
 * performance.now() allocates (process.hrtime's array), and a loop that read it every poll
 * filled the young generation in ~2.5 ms — a worker polling between calls was scavenged
 * 41 times per 1000 softmax calls at 1024×1000 (now 9), often while it computed.
 */
export function pollWhile(a: Int32Array, i: number, v: number, until: number): number {
  for (;;) {
    for (let k = 0; k < 256; k++) {
      const now = Atomics.load(a, i);
      if (now !== v) return now;
    }
    if (epochNow() > until) return v;
  }
}

/**
 * A worker's answer to a message: runs the request, posts the reply, then polls its
 * doorbell (see `Doorbell`) for the calls that follow, answering each alike, until `spin`
 * ms pass without one.
 */
export function serve(req: Request, post: (reply: Reply, transfer: ArrayBuffer[]) => void): void {
  // the bell's count before the request: once handled, the caller may ring the next one at
  // any time, even before its reply is posted
  let rung = doorbell ? Atomics.load(doorbell.control, BELL) : 0;
  const first = handle(req);
  post(first.reply, first.transfer);
  if (!doorbell?.spin) return;
  const { control, spin } = doorbell;
  for (let until = epochNow() + spin; ;) {
    // (every 0.1 ms: are requests queued as messages, sent while this worker was busy?)
    const bell = pollWhile(control, BELL, rung, Math.min(until, epochNow() + 0.1));
    if (bell !== rung) {
      rung = bell;
      const req = rungRequest(doorbell);
      if (!req) {
        Atomics.store(control, STATE, IDLE);
        return;
      }
      const { reply, transfer } = handle(req);
      post(reply, transfer);
      until = epochNow() + spin;
    } else if ((epochNow() > until || Atomics.load(control, SENT) !== Atomics.load(control, HANDLED)) &&
      Atomics.compareExchange(control, STATE, POLLING, IDLE) === POLLING) {
      return; // else the caller has claimed the bell: its request is on the way
    }
  }
}

/** The request rung on `doorbell` (see `ring`), or null for `leave`. */
function rungRequest(doorbell: Doorbell): Request | null {
  const { control, words: v } = doorbell;
  const length = Atomics.load(control, LENGTH);
  if (length < 0) return null;
  const slabAt = (k: number): Slab | undefined => {
    const at = SLABS + 4 * k;
    return v[at] < 0 ? undefined : { type: TYPES[v[at]], buffer: v[at + 3] < 0 ? null : held[v[at + 3]], byteOffset: v[at + 1], length: v[at + 2] };
  };
  const req: Request = {
    id: v[0], fn: FNS[v[1]], rows: v[2], cols: v[3], inputs: [],
    options: length === 0 ? {} : (JSON.parse(decoder.decode(doorbell.bytes.slice(0, length))) as Record<string, unknown>),
  };
  for (let k = 0; k < v[8]; k++) req.inputs.push(slabAt(k)!);
  req.out = slabAt(2);
  req.perRow = slabAt(3);
  if (v[4] === 1) req.denominator = v[5];
  if (v[6] >= 0) {
    const { flags, times, ready, finished } = doorbell;
    req.signal = { flags, times, ready, finished, slot: v[6], seq: v[7] };
  }
  return req;
}

/**
 * Rings `req` on `doorbell` (claimed: see `Doorbell`); false, ringing `leave` instead, when
 * it must be posted: arrays the worker does not hold (transferred ones, a SharedArrayBuffer
 * it has not been sent: see `Slab.held`), a window or doorbell request, or options JSON
 * would change (NaN, ±Infinity, typed arrays) or that do not fit `bytes`.
 */
export function ring(doorbell: Doorbell, req: Request): boolean {
  const { control, words: v } = doorbell;
  const slabs = [req.inputs[0], req.inputs[1], req.out, req.perRow];
  // (options but cols, which the request carries: most calls have none)
  const { cols: _cols, ...options } = req.options;
  const extra = Object.keys(options).length > 0;
  const plain = !extra || plainJson(options);
  const json = plain && extra ? encoder.encode(JSON.stringify(options)) : null;
  const ok = plain && (json?.length ?? 0) <= doorbell.bytes.length && req.inputs.length <= 2 && req.window === undefined &&
    !req.doorbell && slabs.every((sl) => !sl || sl.buffer === null || sl.held !== undefined);
  if (!ok) return leave(doorbell);
  v[0] = req.id;
  v[1] = FNS.indexOf(req.fn);
  v[2] = req.rows;
  v[3] = req.cols;
  v[4] = req.denominator === undefined ? 0 : 1;
  v[5] = req.denominator ?? 0;
  v[6] = req.signal ? req.signal.slot : -1;
  v[7] = req.signal ? req.signal.seq : 0;
  v[8] = req.inputs.length;
  slabs.forEach((sl, k) => {
    const at = SLABS + 4 * k;
    v[at] = sl ? TYPES.indexOf(sl.type) : -1;
    v[at + 1] = sl ? sl.byteOffset : 0;
    v[at + 2] = sl ? sl.length : 0;
    v[at + 3] = sl?.buffer ? sl.held! : -1;
  });
  if (json) doorbell.bytes.set(json);
  Atomics.store(control, LENGTH, json ? json.length : 0);
  return true;
}

/** Rings `leave` on `doorbell` (claimed): the worker goes back to its event loop, where a posted request waits.  False. */
export function leave(doorbell: Doorbell): false {
  Atomics.store(doorbell.control, LENGTH, -1);
  return false;
}

function plainJson(v: unknown): boolean {
  if (v === null || v === undefined || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(plainJson);
  return typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype && Object.values(v as object).every(plainJson);
}

/** Runs one request in a worker; the caller posts the reply (transferring its buffers). */
export function handle(req: Request): { reply: Reply; transfer: ArrayBuffer[] } {
  if (req.doorbell) doorbell = req.doorbell;
  for (const sl of [...req.inputs, req.out, req.perRow]) if (sl?.held !== undefined) held[sl.held] = sl.buffer;
  if (req.window !== undefined || req.doorbell) {
    const reply = req.doorbell ? { id: req.id } : resize(req);
    handled();
    return { reply, transfer: [] };
  }
  const t0 = epochNow();
  const sig = req.signal;
  const done = sig?.ready && sig.finished ? computeAsReady(req, sig.ready, sig.slot, sig.seq, sig.finished) : compute(req);
  const t1 = epochNow();
  done.reply.busy = [t0, t1];
  handled(); // before "done": a caller that sees it done may ring its next call at once
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
export function rowsOf(req: Request, a: number, b: number): Request {
  const narrow = (s: Slab, perRow: boolean): Slab => {
    const w = perRow ? 1 : req.cols;
    return { ...s, byteOffset: s.byteOffset + a * w * BYTES[s.type], length: (b - a) * w };
  };
  const labels = (s: Slab, j: number) => req.fn === 'softmaxCrossEntropy' && j === 1 && s.length === req.rows;
  return {
    ...req, rows: b - a, signal: undefined,
    inputs: req.inputs.map((s, j) => narrow(s, labels(s, j))),
    out: req.out && narrow(req.out, false),
    perRow: req.perRow && narrow(req.perRow, true),
  };
}

/**
 * A worker's block is computed in these pieces, ending at these sixteenths of it: the
 * caller copies the inputs in by the same pieces, and the first is small so that the
 * worker starts ~0.1 ms sooner than on a quarter of the block at 1024×1000.  Pieces are
 * claimed one at a time (see `claim`) by the worker and, once its own block is done, by
 * the calling thread, so that a worker that has lost its core does not hold the call up.
 */
export const PIECE_ENDS = [1, 4, 8, 12, 16];

/** The first row of the i-th of k even parts of rows [r0, r1) (the k-th: r1). */
export const cut = (r0: number, r1: number, k: number, i: number): number => r0 + Math.floor(((r1 - r0) * i) / k);

/** Rows [lo, hi) of piece k of a block of `rows` rows. */
export const pieceRows = (rows: number, k: number): [number, number] => [cut(0, rows, 16, k ? PIECE_ENDS[k - 1] : 0), cut(0, rows, 16, PIECE_ENDS[k])];

/** All pieces done: the `finished` word's value (bit k: piece k's results are in place). */
export const ALL_PIECES = (1 << PIECE_ENDS.length) - 1;

/** Rows of a block whose results are in place, counted from its first, given its `finished` bits. */
export function piecesDone(bits: number, rows: number): number {
  let k = 0;
  while (k < PIECE_ENDS.length && bits & (1 << k)) k++;
  return k ? pieceRows(rows, k - 1)[1] : 0;
}

/**
 * Int32s per worker in `Request.signal.ready`: the call's seq (at READY·slot), the rows
 * copied in (at + COUNT), and the claim word (at + CLAIM: see `claim`).
 */
export const READY = 4, COUNT = 1, CLAIM = 2;

/** Call `seq`'s claim word before any piece is claimed: the low 5 bits count the claims, the rest tag the call. */
export const claimTag = (seq: number): number => (seq & 0xffffff) << 5;

/** True while no piece of block `slot` of call `seq` has been claimed: its worker has not started. */
export const unclaimed = (ready: Int32Array, slot: number, seq: number): boolean => Atomics.load(ready, READY * slot + CLAIM) === claimTag(seq);

/**
 * Claims the next piece of block `slot` of call `seq`: its number, or −1 when all are
 * claimed or the call is over (a request that reaches a worker only after the caller has
 * computed all of its pieces and gone on to the next call, whose claim word is tagged
 * with that call's seq).
 */
export function claim(ready: Int32Array, slot: number, seq: number): number {
  const at = READY * slot + CLAIM, tag = claimTag(seq);
  for (;;) {
    const c = Atomics.load(ready, at);
    if ((c & ~31) !== tag || (c & 31) >= PIECE_ENDS.length) return -1;
    if (Atomics.compareExchange(ready, at, c, c + 1) === c) return c & 31;
  }
}

/**
 * Shared mode (`signal.ready`): computes the pieces of the block it claims, each as soon
 * as the caller has copied its rows in, so the worker starts while the copy goes on, and
 * marks each done in `finished`.  Rows are independent, so the pieces' results are the
 * whole block's, whoever computes them.  (The results all go to shared memory in this
 * mode: the reply carries none.)
 */
function computeAsReady(req: Request, ready: Int32Array, slot: number, seq: number, finished: Int32Array): { reply: Reply; transfer: ArrayBuffer[] } {
  const polled = epochNow(), at = READY * slot;
  for (let k; (k = claim(ready, slot, seq)) >= 0;) {
    const [lo, hi] = pieceRows(req.rows, k);
    // seq before the count: a count read after this call's seq is this call's (the caller
    // resets it before publishing seq)
    while (!(Atomics.load(ready, at) === seq && Atomics.load(ready, at + COUNT) >= hi)) {
      // the caller is copying the piece in (~50 µs): poll for it where this worker polls
      // for calls, rather than sleep and be woken (see `Doorbell`)
      const count = Atomics.load(ready, at + COUNT);
      if (pollWhile(ready, at + COUNT, count, polled + (doorbell?.spin ?? 0)) === count) Atomics.wait(ready, at + COUNT, count, 1);
    }
    if (hi > lo) {
      const piece = compute(rowsOf(req, lo, hi));
      if (piece.reply.error) return { reply: { ...piece.reply, id: req.id }, transfer: [] };
    }
    Atomics.or(finished, slot, 1 << k);
    Atomics.notify(finished, slot);
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

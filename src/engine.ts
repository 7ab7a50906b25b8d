// The two ways to run a kernel behind one interface.  The public functions parse and
// validate their arguments, then call an `Engine` method named after the kernel it
// runs; the JS engine calls the twin in src/js/ on the caller's arrays, the wasm
// engine stages them in the module's memory (or finds them already there) and calls
// the export of the same name.
//
// Conventions: `rows` × `cols` row-major inputs; reductions fill `out` (one float64
// per row) and, for probability inputs, `sums` (p's row sums, then q's) and return the
// smallest entry read; map kernels write `dst`, a float array of the input's length.
// Float32 methods read float32 data, Float64 methods float64 data: the wasm engine
// converts while copying when the caller's array is of another type.

import * as jsReduce from './js/reduce.js';
import * as jsSoftmax from './js/softmax.js';
import * as jsLoss from './js/loss.js';
import { align as span, copy, Heap, OutOfMemory, uninitialized } from './memory.js'; // span: the bytes a part takes in the arena (16-byte aligned)
import type { Backend } from './types.js';

export type Vec = ArrayLike<number>;
export type FloatArray = Float32Array | Float64Array;

export interface Engine {
  readonly name: Backend;
  entropyRowsF32(p: Vec, rows: number, cols: number, out: Float64Array, sums: Float64Array): number;
  /** `normalize`: divide each row by its sum (computed first, into `sums`). */
  entropyRowsF64(p: Vec, rows: number, cols: number, normalize: boolean, out: Float64Array, sums: Float64Array): number;
  crossEntropyRowsF32(p: Vec, q: Vec, rows: number, cols: number, out: Float64Array, sums: Float64Array): number;
  crossEntropyRowsF64(p: Vec, q: Vec, rows: number, cols: number, normalize: boolean, out: Float64Array, sums: Float64Array): number;
  klDivergenceRowsF32(p: Vec, q: Vec, rows: number, cols: number, out: Float64Array, sums: Float64Array): number;
  klDivergenceRowsF64(p: Vec, q: Vec, rows: number, cols: number, normalize: boolean, out: Float64Array, sums: Float64Array): number;
  jsDivergenceRowsF32(p: Vec, q: Vec, rows: number, cols: number, out: Float64Array, sums: Float64Array): number;
  jsDivergenceRowsF64(p: Vec, q: Vec, rows: number, cols: number, normalize: boolean, out: Float64Array, sums: Float64Array): number;
  logSumExpRowsF32(x: Vec, rows: number, cols: number, out: Float64Array): void;
  logSumExpRowsF64(x: Vec, rows: number, cols: number, out: Float64Array): void;
  /** Row-wise maps write to `dst`, or to a new array of the input's type when dst is null; they return it. */
  softmaxRowsF32(x: Vec, rows: number, cols: number, T: number, dst: FloatArray | null): FloatArray;
  softmaxRowsF64(x: Vec, rows: number, cols: number, T: number, dst: FloatArray | null): FloatArray;
  logSoftmaxRowsF32(x: Vec, rows: number, cols: number, T: number, dst: FloatArray | null): FloatArray;
  logSoftmaxRowsF64(x: Vec, rows: number, cols: number, T: number, dst: FloatArray | null): FloatArray;
  softmaxEntropyRowsF32(x: Vec, rows: number, cols: number, T: number, out: Float64Array): void;
  softmaxEntropyRowsF64(x: Vec, rows: number, cols: number, T: number, out: Float64Array): void;
  softmaxKlDivergenceRowsF32(a: Vec, b: Vec, rows: number, cols: number, T: number, out: Float64Array): void;
  softmaxKlDivergenceRowsF64(a: Vec, b: Vec, rows: number, cols: number, T: number, out: Float64Array): void;
  softmaxCrossEntropyLabelsF32(z: Vec, labels: Int32Array, rows: number, cols: number, weights: Float64Array | null, wsum: number,
    eps: number, gradScale: number, grad: FloatArray | null, out: Float64Array): void;
  softmaxCrossEntropyLabelsF64(z: Vec, labels: Int32Array, rows: number, cols: number, weights: Float64Array | null, wsum: number,
    eps: number, gradScale: number, grad: FloatArray | null, out: Float64Array): void;
  softmaxCrossEntropyProbsF32(z: Vec, targets: Vec, rows: number, cols: number, weights: Float64Array | null,
    eps: number, gradScale: number, grad: FloatArray | null, out: Float64Array): void;
  softmaxCrossEntropyProbsF64(z: Vec, targets: Vec, rows: number, cols: number, weights: Float64Array | null,
    eps: number, gradScale: number, grad: FloatArray | null, out: Float64Array): void;
}

// ---------------------------------------------------------------------------------
// JS engine: the twins, on the caller's arrays.
// ---------------------------------------------------------------------------------

function normalized(x: Vec, y: Vec | null, rows: number, cols: number, normalize: boolean, sums: Float64Array): Float64Array | null {
  if (!normalize) return null;
  jsReduce.sumRows(x, rows, cols, sums, 0);
  if (y) jsReduce.sumRows(y, rows, cols, sums, rows);
  return sums.slice();
}

function fill(twin: (x: Vec, rows: number, cols: number, T: number, dst: FloatArray) => void,
  x: Vec, rows: number, cols: number, T: number, dst: FloatArray): FloatArray {
  twin(x, rows, cols, T, dst);
  return dst;
}

export const jsEngine: Engine = {
  name: 'js',
  entropyRowsF32: (p, rows, cols, out, sums) => jsReduce.entropyRows(p, rows, cols, null, out, sums),
  entropyRowsF64: (p, rows, cols, normalize, out, sums) =>
    jsReduce.entropyRows(p, rows, cols, normalized(p, null, rows, cols, normalize, sums), out, sums),
  crossEntropyRowsF32: (p, q, rows, cols, out, sums) => jsReduce.crossEntropyRows(p, q, rows, cols, null, out, sums),
  crossEntropyRowsF64: (p, q, rows, cols, normalize, out, sums) =>
    jsReduce.crossEntropyRows(p, q, rows, cols, normalized(p, q, rows, cols, normalize, sums), out, sums),
  klDivergenceRowsF32: (p, q, rows, cols, out, sums) => jsReduce.klDivergenceRows(p, q, rows, cols, null, out, sums),
  klDivergenceRowsF64: (p, q, rows, cols, normalize, out, sums) =>
    jsReduce.klDivergenceRows(p, q, rows, cols, normalized(p, q, rows, cols, normalize, sums), out, sums),
  jsDivergenceRowsF32: (p, q, rows, cols, out, sums) => jsReduce.jsDivergenceRows(p, q, rows, cols, null, out, sums),
  jsDivergenceRowsF64: (p, q, rows, cols, normalize, out, sums) =>
    jsReduce.jsDivergenceRows(p, q, rows, cols, normalized(p, q, rows, cols, normalize, sums), out, sums),
  logSumExpRowsF32: jsSoftmax.logSumExpRows,
  logSumExpRowsF64: jsSoftmax.logSumExpRows,
  softmaxRowsF32: (x, rows, cols, T, dst) => fill(jsSoftmax.softmaxRows, x, rows, cols, T, dst ?? new Float32Array(rows * cols)),
  softmaxRowsF64: (x, rows, cols, T, dst) => fill(jsSoftmax.softmaxRows, x, rows, cols, T, dst ?? new Float64Array(rows * cols)),
  logSoftmaxRowsF32: (x, rows, cols, T, dst) => fill(jsSoftmax.logSoftmaxRows, x, rows, cols, T, dst ?? new Float32Array(rows * cols)),
  logSoftmaxRowsF64: (x, rows, cols, T, dst) => fill(jsSoftmax.logSoftmaxRows, x, rows, cols, T, dst ?? new Float64Array(rows * cols)),
  softmaxEntropyRowsF32: jsSoftmax.softmaxEntropyRows,
  softmaxEntropyRowsF64: jsSoftmax.softmaxEntropyRows,
  softmaxKlDivergenceRowsF32: jsSoftmax.softmaxKlDivergenceRows,
  softmaxKlDivergenceRowsF64: jsSoftmax.softmaxKlDivergenceRows,
  softmaxCrossEntropyLabelsF32: jsLoss.softmaxCrossEntropyLabels,
  softmaxCrossEntropyLabelsF64: jsLoss.softmaxCrossEntropyLabels,
  softmaxCrossEntropyProbsF32: jsLoss.softmaxCrossEntropyProbs,
  softmaxCrossEntropyProbsF64: jsLoss.softmaxCrossEntropyProbs,
};

// ---------------------------------------------------------------------------------
// wasm engine
// ---------------------------------------------------------------------------------

/** The raw exports of assembly/index.ts (pointers are byte offsets). */
export interface Kernels {
  memory: WebAssembly.Memory;
  heapBase(): number;
  sumRowsF64(x: number, rows: number, cols: number, sums: number): number;
  entropyRowsF32(p: number, rows: number, cols: number, out: number, sums: number): number;
  entropyRowsF64(p: number, rows: number, cols: number, totals: number, out: number, sums: number): number;
  crossEntropyRowsF32(p: number, q: number, rows: number, cols: number, out: number, sums: number): number;
  crossEntropyRowsF64(p: number, q: number, rows: number, cols: number, totals: number, out: number, sums: number): number;
  klDivergenceRowsF32(p: number, q: number, rows: number, cols: number, out: number, sums: number): number;
  klDivergenceRowsF64(p: number, q: number, rows: number, cols: number, totals: number, out: number, sums: number): number;
  jsDivergenceRowsF32(p: number, q: number, rows: number, cols: number, out: number, sums: number): number;
  jsDivergenceRowsF64(p: number, q: number, rows: number, cols: number, totals: number, out: number, sums: number): number;
  logSumExpRowsF32(x: number, rows: number, cols: number, out: number): void;
  logSumExpRowsF64(x: number, rows: number, cols: number, out: number): void;
  softmaxRowsF32(x: number, rows: number, cols: number, T: number, out: number): void;
  softmaxRowsF64(x: number, rows: number, cols: number, T: number, out: number): void;
  logSoftmaxRowsF32(x: number, rows: number, cols: number, T: number, out: number): void;
  logSoftmaxRowsF64(x: number, rows: number, cols: number, T: number, out: number): void;
  softmaxEntropyRowsF32(x: number, rows: number, cols: number, T: number, out: number): void;
  softmaxEntropyRowsF64(x: number, rows: number, cols: number, T: number, out: number): void;
  softmaxKlDivergenceRowsF32(a: number, b: number, rows: number, cols: number, T: number, out: number): void;
  softmaxKlDivergenceRowsF64(a: number, b: number, rows: number, cols: number, T: number, out: number): void;
  softmaxCrossEntropyLabelsF32(z: number, labels: number, rows: number, cols: number, weights: number, wsum: number,
    eps: number, gradScale: number, grad: number, out: number): void;
  softmaxCrossEntropyLabelsF64(z: number, labels: number, rows: number, cols: number, weights: number, wsum: number,
    eps: number, gradScale: number, grad: number, out: number): void;
  softmaxCrossEntropyProbsF32(z: number, targets: number, rows: number, cols: number, weights: number,
    eps: number, gradScale: number, grad: number, out: number): void;
  softmaxCrossEntropyProbsF64(z: number, targets: number, rows: number, cols: number, weights: number,
    eps: number, gradScale: number, grad: number, out: number): void;
}

type Kind = 4 | 8; // bytes per element: float32 or float64

/**
 * A call staged in the arena is staged, and computed, this many bytes of rows at a time
 * (inputs and outputs together; one row at least).  A kernel reads what was just copied
 * in: staged whole, a 4 MB batch has left the L2 cache before the kernel reads its first
 * rows back, and a map's result before it is copied out (measured, softmaxCrossEntropy
 * 1024×1000 float32: 2.73 ms whole, 1.92 ms in blocks of 256 rows — as fast as reading
 * the batch in place, with no copy at all, 1.95 ms).  256 KB fits the L2 of every core
 * this runs on.  Every row's result is the kernel's on that row alone, so the blocks give
 * the whole call's values bit for bit.
 */
const BLOCK_BYTES = 256 * 1024;

/** Rows per block for a staged call of `rows` rows of `rowBytes` (see BLOCK_BYTES). */
const blockRows = (rows: number, rowBytes: number): number => rows * rowBytes <= BLOCK_BYTES ? rows : Math.max(1, Math.floor(BLOCK_BYTES / rowBytes));

/** Calls `block(r0, k, e0, e1)` for each block of `per` rows (k rows from row r0: elements [e0, e1)). */
function inBlocks(rows: number, per: number, cols: number, block: (r0: number, k: number, e0: number, e1: number) => void): void {
  for (let r0 = 0; r0 < rows; r0 += per) {
    const k = Math.min(per, rows - r0);
    block(r0, k, r0 * cols, (r0 + k) * cols);
  }
}

/** Elements [a, b) of `x`: a view of a typed array, a copy of anything else. */
const slice = <T extends Vec>(x: T, a: number, b: number): T =>
  (ArrayBuffer.isView(x) ? (x as unknown as FloatArray).subarray(a, b) : Array.prototype.slice.call(x, a, b)) as unknown as T;


/**
 * One call's staging.  Each input or output is either in place — a view inside a live
 * WasmArray of this heap, with the right element type: its pointer is taken at once,
 * and the view is never touched again (reserving the arena may grow memory and detach
 * it) — or a region of the scratch arena: inputs are copied in after the arena is
 * reserved, outputs copied back by `finish()`.  A view into this memory that is not
 * inside a live WasmArray (a freed one, say) is snapshotted when staged, before the
 * arena, which may take its place, is reserved.
 *
 * One Staging per engine serves every call (`begin` resets it; calls are synchronous
 * and kernels never call back), and its part records are reused: at 16 elements a
 * call's records and views used to cost more than its kernel.
 */
interface Part {
  src: ArrayLike<number> | null;
  dst: FloatArray | null;
  kind: Kind | 'i32';
  length: number;
  /** In place: its byte offset in memory.  Otherwise: its offset in the arena. */
  at: number;
  inPlace: boolean;
  /** An output of another float type inside a live WasmArray: its byte offset there. */
  home: number;
}

class Staging {
  private readonly parts: Part[] = [];
  private readonly ptrs: number[] = [];
  private count = 0;
  private size = 0;

  constructor(private readonly heap: Heap) {}

  /** Starts a call's staging. */
  begin(): this {
    this.count = 0;
    this.size = 0;
    return this;
  }

  private add(src: ArrayLike<number> | null, dst: FloatArray | null, kind: Kind | 'i32', length: number): number {
    const heap = this.heap;
    const view = (src ?? dst) as ArrayBufferView | null;
    let at = -1;
    let home = -1;
    if (view && ArrayBuffer.isView(view) && heap.holds(view)) {
      const bpe = (view as FloatArray).BYTES_PER_ELEMENT;
      const typeOk = kind === 'i32' ? view instanceof Int32Array : (view instanceof Float32Array || view instanceof Float64Array) && bpe === kind;
      if (typeOk) at = heap.locate(view);
      if (at < 0 && src) src = (src as FloatArray).slice();
      // an output in module memory that is not written in place (its float type differs
      // from the kernel's) is copied back through a fresh view: growing the arena detaches it
      if (at < 0 && dst) home = dst.byteOffset;
    }
    const inPlace = at >= 0;
    if (!inPlace) {
      at = this.size;
      this.size += span((kind === 'i32' ? 4 : kind) * length);
    }
    const index = this.count++;
    const part = this.parts[index];
    if (part) {
      part.src = src; part.dst = dst; part.kind = kind; part.length = length; part.at = at; part.inPlace = inPlace; part.home = home;
    } else {
      this.parts.push({ src, dst, kind, length, at, inPlace, home });
    }
    return index;
  }

  /** Stage an input of `length` elements as float32 (4), float64 (8) or int32. */
  input(src: ArrayLike<number>, kind: Kind | 'i32', length = src.length): number {
    return this.add(src, null, kind, length);
  }

  /** Stage an output; `dst` null means the arena only (read back by the caller). */
  output(dst: FloatArray | null, kind: Kind, length: number): number {
    return this.add(null, dst, kind, length);
  }

  /** Reserve the arena, copy the inputs in, and return every part's pointer (by index; valid until the next call). */
  commit(): number[] {
    const heap = this.heap;
    const base = this.size > 0 ? heap.scratch(this.size) : 0;
    const ptrs = this.ptrs;
    for (let index = 0; index < this.count; index++) {
      const part = this.parts[index];
      if (!part.inPlace) part.at += base;
      ptrs[index] = part.at;
      const src = part.src;
      part.src = null; // not kept alive by the reused record
      if (!src || part.inPlace || part.length === 0) continue;
      const view = part.kind === 4 ? heap.f32 : part.kind === 8 ? heap.f64 : heap.i32;
      const at = part.at >>> (part.kind === 8 ? 3 : 2);
      if (src.length === part.length) copy(view, src as FloatArray, at);
      else for (let i = 0; i < part.length; i++) view[at + i] = src[i];
    }
    return ptrs;
  }

  /** Copy arena outputs back into their destinations. */
  finish(): void {
    const heap = this.heap;
    for (let index = 0; index < this.count; index++) {
      const part = this.parts[index];
      if (part.dst && !part.inPlace && part.length > 0) {
        const dst = this.destination(index);
        const view = part.kind === 4 ? heap.f32 : heap.f64;
        const at = part.at >>> (part.kind === 8 ? 3 : 2);
        copy(dst, view.subarray(at, at + part.length));
      }
    }
  }

  /**
   * The destination of output `index` as it is after the call: a view into module memory
   * that the call's growth detached is re-derived at the same place (the caller's old
   * view is dead; this one holds the result).
   */
  destination(index: number): FloatArray {
    const part = this.parts[index];
    const dst = part.dst!;
    const heap = this.heap;
    const at = part.inPlace ? part.at : part.home;
    if (at < 0 || dst.buffer === heap.buffer) return dst;
    return new (dst.constructor as { new (b: ArrayBufferLike, o: number, n: number): FloatArray })(heap.buffer, at, part.length);
  }
}

/**
 * Staging for the usual call, where no argument is a view into module memory: parts go
 * one after another into the scratch arena, inputs copied as they are placed, with no
 * per-part records (`begin` is given the sum of the parts' spans, so the arena is
 * reserved, and memory grown, before anything is copied).
 */
class Arena {
  private top = 0;

  constructor(private readonly heap: Heap) {}

  begin(bytes: number): this {
    this.top = this.heap.scratch(bytes);
    return this;
  }

  /** Copies `length` elements of `src` in as float32 (4), float64 (8) or int32; returns the pointer. */
  input(src: ArrayLike<number>, kind: Kind | 'i32', length: number): number {
    const at = this.top;
    const heap = this.heap;
    const view = kind === 4 ? heap.f32 : kind === 8 ? heap.f64 : heap.i32;
    const i = at >>> (kind === 8 ? 3 : 2);
    if (length === 0) return at; // (an empty view may be detached: set would throw)
    if (src.length === length) copy(view, src as FloatArray, i);
    else for (let j = 0; j < length; j++) view[i + j] = src[j];
    this.top = at + span((kind === 'i32' ? 4 : kind) * length);
    return at;
  }

  /** Places an output of `length` elements of `kind` bytes; returns the pointer. */
  output(kind: Kind, length: number): number {
    const at = this.top;
    this.top = at + span(kind * length);
    return at;
  }
}

export class WasmEngine implements Engine {
  readonly heap: Heap;

  private readonly staging: Staging;
  private readonly arena: Arena;

  constructor(readonly name: Backend, private readonly k: Kernels) {
    this.heap = new Heap(k.memory, k.heapBase());
    this.staging = new Staging(this.heap);
    this.arena = new Arena(this.heap);
  }

  /** True unless `x` is a view into this module's memory (a WasmArray's, or a stray one): such calls are staged part by part. */
  private outside(x: Vec | null): boolean {
    return !(x && ArrayBuffer.isView(x) && this.heap.holds(x));
  }

  /** Copies `dst.length` results of `kind` at byte `ptr` into `dst` (converting to its float type). */
  private copyOut(ptr: number, kind: Kind, dst: FloatArray): void {
    const n = dst.length; // (0 for a detached view, which set would refuse)
    const view = kind === 4 ? this.heap.f32 : this.heap.f64, at = ptr / kind;
    // a loop for a few values: subarray makes a view object per call
    if (n <= 64) for (let i = 0; i < n; i++) dst[i] = view[at + i];
    else copy(dst, view.subarray(at, at + n));
  }

  /** Runs `body`; on an allocation failure the same call runs on the JS engine. */
  private guard<T>(body: () => T, fallback: () => T): T {
    try {
      return body();
    } catch (e) {
      if (e instanceof OutOfMemory) return fallback();
      throw e;
    }
  }

  private pq(kind: Kind, kernel: (...a: number[]) => number,
    p: Vec, q: Vec | null, rows: number, cols: number, normalize: boolean, out: Float64Array, sums: Float64Array): number {
    const n = rows * cols, m = q ? 2 * rows : rows;
    let ip: number, iq = 0, io: number, is: number, it = 0;
    const lean = this.outside(p) && this.outside(q);
    const per = lean ? blockRows(rows, kind * cols * (q ? 2 : 1)) : rows;
    if (per < rows) {
      // in blocks (see BLOCK_BYTES): p's row sums, then q's, are gathered into `sums`
      let min = Infinity;
      const part = new Float64Array(q ? 2 * per : per);
      inBlocks(rows, per, cols, (r0, k, e0, e1) => {
        const s = part.subarray(0, q ? 2 * k : k);
        min = Math.min(min, this.pq(kind, kernel, slice(p, e0, e1), q && slice(q, e0, e1), k, cols, normalize, out.subarray(r0, r0 + k), s));
        sums.set(s.subarray(0, k), r0);
        if (q) sums.set(s.subarray(k), rows + r0);
      });
      return min;
    }
    if (lean) {
      const a = this.arena.begin((q ? 2 : 1) * span(kind * n) + span(8 * rows) + (normalize ? 2 : 1) * span(8 * m));
      ip = a.input(p, kind, n);
      if (q) iq = a.input(q, kind, n);
      io = a.output(8, rows);
      is = a.output(8, m);
      if (normalize) it = a.output(8, m);
    } else {
      const s = this.staging.begin();
      const jp = s.input(p, kind, n);
      const jq = q ? s.input(q, kind, n) : -1;
      const jo = s.output(null, 8, rows);
      const js = s.output(null, 8, m);
      const jt = normalize ? s.output(null, 8, m) : -1;
      const ptr = s.commit();
      ip = ptr[jp]; iq = q ? ptr[jq] : 0; io = ptr[jo]; is = ptr[js]; it = normalize ? ptr[jt] : 0;
    }
    const k = this.k;
    if (normalize) {
      k.sumRowsF64(ip, rows, cols, it);
      if (q) k.sumRowsF64(iq, rows, cols, it + 8 * rows);
    }
    // the float64 kernels take the row totals after the shape (0: none)
    const min = kind === 4
      ? (q ? kernel(ip, iq, rows, cols, io, is) : kernel(ip, rows, cols, io, is))
      : (q ? kernel(ip, iq, rows, cols, it, io, is) : kernel(ip, rows, cols, it, io, is));
    this.copyOut(io, 8, out);
    this.copyOut(normalize ? it : is, 8, sums);
    return min;
  }

  entropyRowsF32(p: Vec, rows: number, cols: number, out: Float64Array, sums: Float64Array): number {
    return this.guard(() => this.pq(4, this.k.entropyRowsF32, p, null, rows, cols, false, out, sums), () => jsEngine.entropyRowsF32(p, rows, cols, out, sums));
  }
  entropyRowsF64(p: Vec, rows: number, cols: number, normalize: boolean, out: Float64Array, sums: Float64Array): number {
    return this.guard(() => this.pq(8, this.k.entropyRowsF64, p, null, rows, cols, normalize, out, sums), () => jsEngine.entropyRowsF64(p, rows, cols, normalize, out, sums));
  }
  crossEntropyRowsF32(p: Vec, q: Vec, rows: number, cols: number, out: Float64Array, sums: Float64Array): number {
    return this.guard(() => this.pq(4, this.k.crossEntropyRowsF32, p, q, rows, cols, false, out, sums), () => jsEngine.crossEntropyRowsF32(p, q, rows, cols, out, sums));
  }
  crossEntropyRowsF64(p: Vec, q: Vec, rows: number, cols: number, normalize: boolean, out: Float64Array, sums: Float64Array): number {
    return this.guard(() => this.pq(8, this.k.crossEntropyRowsF64, p, q, rows, cols, normalize, out, sums), () => jsEngine.crossEntropyRowsF64(p, q, rows, cols, normalize, out, sums));
  }
  klDivergenceRowsF32(p: Vec, q: Vec, rows: number, cols: number, out: Float64Array, sums: Float64Array): number {
    return this.guard(() => this.pq(4, this.k.klDivergenceRowsF32, p, q, rows, cols, false, out, sums), () => jsEngine.klDivergenceRowsF32(p, q, rows, cols, out, sums));
  }
  klDivergenceRowsF64(p: Vec, q: Vec, rows: number, cols: number, normalize: boolean, out: Float64Array, sums: Float64Array): number {
    return this.guard(() => this.pq(8, this.k.klDivergenceRowsF64, p, q, rows, cols, normalize, out, sums), () => jsEngine.klDivergenceRowsF64(p, q, rows, cols, normalize, out, sums));
  }
  jsDivergenceRowsF32(p: Vec, q: Vec, rows: number, cols: number, out: Float64Array, sums: Float64Array): number {
    return this.guard(() => this.pq(4, this.k.jsDivergenceRowsF32, p, q, rows, cols, false, out, sums), () => jsEngine.jsDivergenceRowsF32(p, q, rows, cols, out, sums));
  }
  jsDivergenceRowsF64(p: Vec, q: Vec, rows: number, cols: number, normalize: boolean, out: Float64Array, sums: Float64Array): number {
    return this.guard(() => this.pq(8, this.k.jsDivergenceRowsF64, p, q, rows, cols, normalize, out, sums), () => jsEngine.jsDivergenceRowsF64(p, q, rows, cols, normalize, out, sums));
  }

  /** Row reductions from one or two logit matrices to one float64 per row. */
  private rowsOut(kind: Kind, fn: (...a: number[]) => void, a: Vec, b: Vec | null, rows: number, cols: number, T: number | null, out: Float64Array): void {
    const n = rows * cols;
    let ia: number, ib = 0, io: number;
    const lean = this.outside(a) && this.outside(b);
    const per = lean ? blockRows(rows, kind * cols * (b ? 2 : 1)) : rows;
    if (per < rows) {
      inBlocks(rows, per, cols, (r0, k, e0, e1) =>
        this.rowsOut(kind, fn, slice(a, e0, e1), b && slice(b, e0, e1), k, cols, T, out.subarray(r0, r0 + k)));
      return;
    }
    if (lean) {
      const arena = this.arena.begin((b ? 2 : 1) * span(kind * n) + span(8 * rows));
      ia = arena.input(a, kind, n);
      if (b) ib = arena.input(b, kind, n);
      io = arena.output(8, rows);
    } else {
      const s = this.staging.begin();
      const ja = s.input(a, kind, n);
      const jb = b ? s.input(b, kind, n) : -1;
      const jo = s.output(null, 8, rows);
      const ptr = s.commit();
      ia = ptr[ja]; ib = b ? ptr[jb] : 0; io = ptr[jo];
    }
    if (T === null) fn(ia, rows, cols, io);
    else if (b) fn(ia, ib, rows, cols, T, io);
    else fn(ia, rows, cols, T, io);
    this.copyOut(io, 8, out);
  }

  logSumExpRowsF32(x: Vec, rows: number, cols: number, out: Float64Array): void {
    this.guard(() => this.rowsOut(4, this.k.logSumExpRowsF32, x, null, rows, cols, null, out), () => jsEngine.logSumExpRowsF32(x, rows, cols, out));
  }
  logSumExpRowsF64(x: Vec, rows: number, cols: number, out: Float64Array): void {
    this.guard(() => this.rowsOut(8, this.k.logSumExpRowsF64, x, null, rows, cols, null, out), () => jsEngine.logSumExpRowsF64(x, rows, cols, out));
  }
  softmaxEntropyRowsF32(x: Vec, rows: number, cols: number, T: number, out: Float64Array): void {
    this.guard(() => this.rowsOut(4, this.k.softmaxEntropyRowsF32, x, null, rows, cols, T, out), () => jsEngine.softmaxEntropyRowsF32(x, rows, cols, T, out));
  }
  softmaxEntropyRowsF64(x: Vec, rows: number, cols: number, T: number, out: Float64Array): void {
    this.guard(() => this.rowsOut(8, this.k.softmaxEntropyRowsF64, x, null, rows, cols, T, out), () => jsEngine.softmaxEntropyRowsF64(x, rows, cols, T, out));
  }
  softmaxKlDivergenceRowsF32(a: Vec, b: Vec, rows: number, cols: number, T: number, out: Float64Array): void {
    this.guard(() => this.rowsOut(4, this.k.softmaxKlDivergenceRowsF32, a, b, rows, cols, T, out), () => jsEngine.softmaxKlDivergenceRowsF32(a, b, rows, cols, T, out));
  }
  softmaxKlDivergenceRowsF64(a: Vec, b: Vec, rows: number, cols: number, T: number, out: Float64Array): void {
    this.guard(() => this.rowsOut(8, this.k.softmaxKlDivergenceRowsF64, a, b, rows, cols, T, out), () => jsEngine.softmaxKlDivergenceRowsF64(a, b, rows, cols, T, out));
  }

  /**
   * Row-wise maps: x → dst of the same shape.  Without dst the result is copied out of the
   * arena by the typed-array constructor, which allocates without zero-filling first
   * (about half the cost of `new Float32Array(n)` + `set` at 10⁶ elements).
   */
  private map(kind: Kind, fn: (x: number, rows: number, cols: number, T: number, out: number) => void,
    x: Vec, rows: number, cols: number, T: number, dst: FloatArray | null): FloatArray {
    const n = rows * cols;
    const lean = this.outside(x) && this.outside(dst);
    const per = lean ? blockRows(rows, 2 * kind * cols) : rows;
    if (per < rows) {
      const out = dst ?? uninitialized(kind === 4 ? Float32Array : Float64Array, n);
      inBlocks(rows, per, cols, (_, k, e0, e1) => this.map(kind, fn, slice(x, e0, e1), k, cols, T, out.subarray(e0, e1)));
      return out;
    }
    let ix: number, io: number, jo = -1;
    if (lean) {
      const arena = this.arena.begin(2 * span(kind * n));
      ix = arena.input(x, kind, n);
      io = arena.output(kind, n);
    } else {
      const s = this.staging.begin();
      const jx = s.input(x, kind, n);
      jo = s.output(dst, kind, n);
      const ptr = s.commit();
      ix = ptr[jx]; io = ptr[jo];
    }
    fn(ix, rows, cols, T, io);
    if (!dst) {
      const at = io / kind;
      return kind === 4 ? new Float32Array(this.heap.f32.subarray(at, at + n)) : new Float64Array(this.heap.f64.subarray(at, at + n));
    }
    if (lean) {
      this.copyOut(io, kind, dst);
      return dst;
    }
    this.staging.finish();
    return this.staging.destination(jo);
  }

  softmaxRowsF32(x: Vec, rows: number, cols: number, T: number, dst: FloatArray | null): FloatArray {
    return this.guard(() => this.map(4, this.k.softmaxRowsF32, x, rows, cols, T, dst), () => jsEngine.softmaxRowsF32(x, rows, cols, T, dst));
  }
  softmaxRowsF64(x: Vec, rows: number, cols: number, T: number, dst: FloatArray | null): FloatArray {
    return this.guard(() => this.map(8, this.k.softmaxRowsF64, x, rows, cols, T, dst), () => jsEngine.softmaxRowsF64(x, rows, cols, T, dst));
  }
  logSoftmaxRowsF32(x: Vec, rows: number, cols: number, T: number, dst: FloatArray | null): FloatArray {
    return this.guard(() => this.map(4, this.k.logSoftmaxRowsF32, x, rows, cols, T, dst), () => jsEngine.logSoftmaxRowsF32(x, rows, cols, T, dst));
  }
  logSoftmaxRowsF64(x: Vec, rows: number, cols: number, T: number, dst: FloatArray | null): FloatArray {
    return this.guard(() => this.map(8, this.k.logSoftmaxRowsF64, x, rows, cols, T, dst), () => jsEngine.logSoftmaxRowsF64(x, rows, cols, T, dst));
  }

  private loss(kind: Kind, labels: Int32Array | null, z: Vec, targets: Vec | null, rows: number, cols: number,
    weights: Float64Array | null, wsum: number, eps: number, gradScale: number, grad: FloatArray | null, out: Float64Array): void {
    const n = rows * cols;
    let iz: number, it: number, w = 0, g = 0, io: number;
    // (labels are never in module memory: the API layer always makes them, as int32)
    const lean = this.outside(z) && this.outside(targets) && this.outside(grad);
    const per = lean ? blockRows(rows, kind * cols * (1 + (targets ? 1 : 0) + (grad ? 1 : 0))) : rows;
    if (per < rows) {
      inBlocks(rows, per, cols, (r0, k, e0, e1) => this.loss(kind, labels && labels.subarray(r0, r0 + k), slice(z, e0, e1),
        targets && slice(targets, e0, e1), k, cols, weights, wsum, eps, gradScale, grad && grad.subarray(e0, e1), out.subarray(r0, r0 + k)));
      return;
    }
    if (lean) {
      const a = this.arena.begin(span(kind * n) + (labels ? span(4 * rows) : span(kind * n)) + (weights ? span(kind * cols) : 0)
        + (grad ? span(kind * n) : 0) + span(8 * rows));
      iz = a.input(z, kind, n);
      it = labels ? a.input(labels, 'i32', rows) : a.input(targets!, kind, n);
      if (weights) w = a.input(weights, kind, cols);
      if (grad) g = a.output(kind, n);
      io = a.output(8, rows);
    } else {
      const s = this.staging.begin();
      const jz = s.input(z, kind, n);
      const jt = labels ? s.input(labels, 'i32', rows) : s.input(targets!, kind, n);
      const jw = weights ? s.input(weights, kind, cols) : -1;
      const jg = grad ? s.output(grad, kind, n) : -1;
      const jo = s.output(null, 8, rows);
      const ptr = s.commit();
      iz = ptr[jz]; it = ptr[jt]; io = ptr[jo];
      if (weights) w = ptr[jw];
      if (grad) g = ptr[jg];
    }
    const k = this.k;
    if (labels) {
      (kind === 4 ? k.softmaxCrossEntropyLabelsF32 : k.softmaxCrossEntropyLabelsF64)(iz, it, rows, cols, w, wsum, eps, gradScale, g, io);
    } else {
      (kind === 4 ? k.softmaxCrossEntropyProbsF32 : k.softmaxCrossEntropyProbsF64)(iz, it, rows, cols, w, eps, gradScale, g, io);
    }
    this.copyOut(io, 8, out);
    if (!lean) this.staging.finish();
    else if (grad) this.copyOut(g, kind, grad);
  }

  softmaxCrossEntropyLabelsF32(z: Vec, labels: Int32Array, rows: number, cols: number, weights: Float64Array | null, wsum: number,
    eps: number, gradScale: number, grad: FloatArray | null, out: Float64Array): void {
    this.guard(() => this.loss(4, labels, z, null, rows, cols, weights, wsum, eps, gradScale, grad, out),
      () => jsEngine.softmaxCrossEntropyLabelsF32(z, labels, rows, cols, weights, wsum, eps, gradScale, grad, out));
  }
  softmaxCrossEntropyLabelsF64(z: Vec, labels: Int32Array, rows: number, cols: number, weights: Float64Array | null, wsum: number,
    eps: number, gradScale: number, grad: FloatArray | null, out: Float64Array): void {
    this.guard(() => this.loss(8, labels, z, null, rows, cols, weights, wsum, eps, gradScale, grad, out),
      () => jsEngine.softmaxCrossEntropyLabelsF64(z, labels, rows, cols, weights, wsum, eps, gradScale, grad, out));
  }
  softmaxCrossEntropyProbsF32(z: Vec, targets: Vec, rows: number, cols: number, weights: Float64Array | null,
    eps: number, gradScale: number, grad: FloatArray | null, out: Float64Array): void {
    this.guard(() => this.loss(4, null, z, targets, rows, cols, weights, 0, eps, gradScale, grad, out),
      () => jsEngine.softmaxCrossEntropyProbsF32(z, targets, rows, cols, weights, eps, gradScale, grad, out));
  }
  softmaxCrossEntropyProbsF64(z: Vec, targets: Vec, rows: number, cols: number, weights: Float64Array | null,
    eps: number, gradScale: number, grad: FloatArray | null, out: Float64Array): void {
    this.guard(() => this.loss(8, null, z, targets, rows, cols, weights, 0, eps, gradScale, grad, out),
      () => jsEngine.softmaxCrossEntropyProbsF64(z, targets, rows, cols, weights, eps, gradScale, grad, out));
  }
}

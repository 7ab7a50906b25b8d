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
import { Heap, OutOfMemory } from './memory.js';
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
 * One call's staging.  Each input or output is either in place — a view inside a live
 * WasmArray of this heap, with the right element type: its pointer is taken at once,
 * and the view is never touched again (reserving the arena may grow memory and detach
 * it) — or a region of the scratch arena: inputs are copied in after the arena is
 * reserved, outputs copied back by `finish()`.  A view into this memory that is not
 * inside a live WasmArray (a freed one, say) is snapshotted when staged, before the
 * arena, which may take its place, is reserved.
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
  private size = 0;

  constructor(private readonly heap: Heap) {}

  private add(src: ArrayLike<number> | null, dst: FloatArray | null, kind: Kind | 'i32', length: number): number {
    const view = (src ?? dst) as ArrayBufferView | null;
    let at = -1;
    if (view && ArrayBuffer.isView(view)) {
      const bpe = (view as FloatArray).BYTES_PER_ELEMENT;
      const typeOk = kind === 'i32' ? view instanceof Int32Array : (view instanceof Float32Array || view instanceof Float64Array) && bpe === kind;
      if (typeOk) at = this.heap.locate(view);
      if (at < 0 && src && this.heap.holds(view)) src = (src as FloatArray).slice();
    }
    const inPlace = at >= 0;
    // an output in module memory that is not written in place (its float type differs
    // from the kernel's) is copied back through a fresh view: growing the arena detaches it
    const home = !inPlace && dst && this.heap.holds(dst) ? dst.byteOffset : -1;
    if (!inPlace) {
      at = this.size;
      this.size += ((kind === 'i32' ? 4 : kind) * length + 15) & ~15;
    }
    this.parts.push({ src, dst, kind, length, at, inPlace, home });
    return this.parts.length - 1;
  }

  /** Stage an input of `length` elements as float32 (4), float64 (8) or int32. */
  input(src: ArrayLike<number>, kind: Kind | 'i32', length = src.length): number {
    return this.add(src, null, kind, length);
  }

  /** Stage an output; `dst` null means the arena only (read back by the caller). */
  output(dst: FloatArray | null, kind: Kind, length: number): number {
    return this.add(null, dst, kind, length);
  }

  /** Reserve the arena, copy the inputs in, and return every part's pointer. */
  commit(): number[] {
    const heap = this.heap;
    const base = this.size > 0 ? heap.scratch(this.size) : 0;
    const ptrs: number[] = [];
    for (const part of this.parts) {
      if (!part.inPlace) part.at += base;
      ptrs.push(part.at);
      const src = part.src;
      if (!src || part.inPlace || part.length === 0) continue;
      const view = part.kind === 4 ? heap.f32 : part.kind === 8 ? heap.f64 : heap.i32;
      const at = part.at >>> (part.kind === 8 ? 3 : 2);
      if (src.length === part.length) view.set(src, at);
      else for (let i = 0; i < part.length; i++) view[at + i] = src[i];
    }
    return ptrs;
  }

  /** Copy arena outputs back into their destinations. */
  finish(): void {
    const heap = this.heap;
    this.parts.forEach((part, index) => {
      if (!part.dst || part.inPlace || part.length === 0) return;
      const dst = this.destination(index);
      const view = part.kind === 4 ? heap.f32 : heap.f64;
      const at = part.at >>> (part.kind === 8 ? 3 : 2);
      dst.set(view.subarray(at, at + part.length));
    });
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
    if (at < 0 || dst.buffer === heap.memory.buffer) return dst;
    return new (dst.constructor as { new (b: ArrayBufferLike, o: number, n: number): FloatArray })(heap.memory.buffer, at, part.length);
  }

  /** A float64 result read back from the arena. */
  readF64(index: number, into: Float64Array): void {
    const at = this.parts[index].at >>> 3;
    into.set(this.heap.f64.subarray(at, at + into.length));
  }
}

export class WasmEngine implements Engine {
  readonly heap: Heap;

  constructor(readonly name: Backend, private readonly k: Kernels) {
    this.heap = new Heap(k.memory, k.heapBase());
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

  private pq(kind: Kind, name: 'entropyRows' | 'crossEntropyRows' | 'klDivergenceRows' | 'jsDivergenceRows',
    p: Vec, q: Vec | null, rows: number, cols: number, normalize: boolean, out: Float64Array, sums: Float64Array): number {
    const s = new Staging(this.heap);
    const n = rows * cols;
    const ip = s.input(p, kind, n);
    const iq = q ? s.input(q, kind, n) : -1;
    const io = s.output(null, 8, rows);
    const is = s.output(null, 8, q ? 2 * rows : rows);
    const it = normalize ? s.output(null, 8, q ? 2 * rows : rows) : -1;
    const ptr = s.commit();
    const k = this.k;
    let totals = 0;
    if (normalize) {
      totals = ptr[it];
      k.sumRowsF64(ptr[ip], rows, cols, totals);
      if (q) k.sumRowsF64(ptr[iq], rows, cols, totals + 8 * rows);
    }
    let min: number;
    if (kind === 4) {
      const fn = k[`${name}F32` as const] as (...a: number[]) => number;
      min = q ? fn(ptr[ip], ptr[iq], rows, cols, ptr[io], ptr[is]) : fn(ptr[ip], rows, cols, ptr[io], ptr[is]);
    } else {
      const fn = k[`${name}F64` as const] as (...a: number[]) => number;
      min = q ? fn(ptr[ip], ptr[iq], rows, cols, totals, ptr[io], ptr[is]) : fn(ptr[ip], rows, cols, totals, ptr[io], ptr[is]);
    }
    s.readF64(io, out);
    s.readF64(normalize ? it : is, sums);
    return min;
  }

  entropyRowsF32(p: Vec, rows: number, cols: number, out: Float64Array, sums: Float64Array): number {
    return this.guard(() => this.pq(4, 'entropyRows', p, null, rows, cols, false, out, sums), () => jsEngine.entropyRowsF32(p, rows, cols, out, sums));
  }
  entropyRowsF64(p: Vec, rows: number, cols: number, normalize: boolean, out: Float64Array, sums: Float64Array): number {
    return this.guard(() => this.pq(8, 'entropyRows', p, null, rows, cols, normalize, out, sums), () => jsEngine.entropyRowsF64(p, rows, cols, normalize, out, sums));
  }
  crossEntropyRowsF32(p: Vec, q: Vec, rows: number, cols: number, out: Float64Array, sums: Float64Array): number {
    return this.guard(() => this.pq(4, 'crossEntropyRows', p, q, rows, cols, false, out, sums), () => jsEngine.crossEntropyRowsF32(p, q, rows, cols, out, sums));
  }
  crossEntropyRowsF64(p: Vec, q: Vec, rows: number, cols: number, normalize: boolean, out: Float64Array, sums: Float64Array): number {
    return this.guard(() => this.pq(8, 'crossEntropyRows', p, q, rows, cols, normalize, out, sums), () => jsEngine.crossEntropyRowsF64(p, q, rows, cols, normalize, out, sums));
  }
  klDivergenceRowsF32(p: Vec, q: Vec, rows: number, cols: number, out: Float64Array, sums: Float64Array): number {
    return this.guard(() => this.pq(4, 'klDivergenceRows', p, q, rows, cols, false, out, sums), () => jsEngine.klDivergenceRowsF32(p, q, rows, cols, out, sums));
  }
  klDivergenceRowsF64(p: Vec, q: Vec, rows: number, cols: number, normalize: boolean, out: Float64Array, sums: Float64Array): number {
    return this.guard(() => this.pq(8, 'klDivergenceRows', p, q, rows, cols, normalize, out, sums), () => jsEngine.klDivergenceRowsF64(p, q, rows, cols, normalize, out, sums));
  }
  jsDivergenceRowsF32(p: Vec, q: Vec, rows: number, cols: number, out: Float64Array, sums: Float64Array): number {
    return this.guard(() => this.pq(4, 'jsDivergenceRows', p, q, rows, cols, false, out, sums), () => jsEngine.jsDivergenceRowsF32(p, q, rows, cols, out, sums));
  }
  jsDivergenceRowsF64(p: Vec, q: Vec, rows: number, cols: number, normalize: boolean, out: Float64Array, sums: Float64Array): number {
    return this.guard(() => this.pq(8, 'jsDivergenceRows', p, q, rows, cols, normalize, out, sums), () => jsEngine.jsDivergenceRowsF64(p, q, rows, cols, normalize, out, sums));
  }

  /** Row reductions from one or two logit matrices to one float64 per row. */
  private rowsOut(kind: Kind, fn: (...a: number[]) => void, a: Vec, b: Vec | null, rows: number, cols: number, T: number | null, out: Float64Array): void {
    const s = new Staging(this.heap);
    const ia = s.input(a, kind, rows * cols);
    const ib = b ? s.input(b, kind, rows * cols) : -1;
    const io = s.output(null, 8, rows);
    const ptr = s.commit();
    const args = [ptr[ia]];
    if (b) args.push(ptr[ib]);
    args.push(rows, cols);
    if (T !== null) args.push(T);
    args.push(ptr[io]);
    fn(...args);
    s.readF64(io, out);
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
    const s = new Staging(this.heap);
    const ix = s.input(x, kind, rows * cols);
    const io = s.output(dst, kind, rows * cols);
    const ptr = s.commit();
    fn(ptr[ix], rows, cols, T, ptr[io]);
    if (dst) {
      s.finish();
      return s.destination(io);
    }
    const at = ptr[io] / kind;
    return kind === 4 ? new Float32Array(this.heap.f32.subarray(at, at + rows * cols)) : new Float64Array(this.heap.f64.subarray(at, at + rows * cols));
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
    const s = new Staging(this.heap);
    const n = rows * cols;
    const iz = s.input(z, kind, n);
    const it = labels ? s.input(labels, 'i32', rows) : s.input(targets!, kind, n);
    const iw = weights ? s.input(weights, kind, cols) : -1;
    const ig = grad ? s.output(grad, kind, n) : -1;
    const io = s.output(null, 8, rows);
    const ptr = s.commit();
    const w = weights ? ptr[iw] : 0;
    const g = grad ? ptr[ig] : 0;
    const k = this.k;
    if (labels) {
      (kind === 4 ? k.softmaxCrossEntropyLabelsF32 : k.softmaxCrossEntropyLabelsF64)(ptr[iz], ptr[it], rows, cols, w, wsum, eps, gradScale, g, ptr[io]);
    } else {
      (kind === 4 ? k.softmaxCrossEntropyProbsF32 : k.softmaxCrossEntropyProbsF64)(ptr[iz], ptr[it], rows, cols, w, eps, gradScale, g, ptr[io]);
    }
    s.readF64(io, out);
    s.finish();
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

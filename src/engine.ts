// The two ways to run a kernel of the table (kernels.ts) behind one interface.  The API
// modules parse and validate their arguments, then call `engine.run(name, f32, args)`
// with the kernel's arguments in table order: arrays where the table says an array.
//
// The JS engine calls the twin of that name (src/js/) on the caller's arrays.  The wasm
// engine runs the export of that name on the module's memory: arrays that live there
// already (a WasmArray, with the right element type) are used in place; the others are
// staged through the window (memory.ts) a block of rows at a time — copied in, computed,
// results copied out — so that memory stays at the window's size whatever the call's,
// and a block, small enough for the L2 cache, is still cached when the kernel reads it
// back.  A row too long for the window goes to stream.ts.  Every row's result is the
// kernel's on that row alone, so the blocks give the whole call's values bit for bit.

import { KERNELS, type KernelName, type Param, inGroups, ROW_GROUP, rowCode, rowElements, summed, writes } from './kernels.js';
import { align, type Elem, Heap, OutOfMemory, type Typed } from './memory.js';
import { longRow } from './stream.js';
import type { Backend, FloatArray } from './types.js';
import { TWINS } from './js/index.js';
import { stage } from './js/softmax.js';

export interface Engine {
  readonly name: Backend;
  /** Runs kernel `name` (its float32 variant when f32) on `args`, in the table's order. */
  run(name: KernelName, f32: boolean, args: unknown[]): void;
}

// ---------------------------------------------------------------------------------
// JS engine: the twins, on the caller's arrays.
// ---------------------------------------------------------------------------------

// the last twin called (a lookup by name costs as much as a 4-entry twin's loop)
let lastName = '';
let lastTwin: (...a: unknown[]) => void = () => {};

export const jsEngine: Engine = {
  name: 'js',
  run(name, f32, args) {
    stage.f32 = f32;
    if (name !== lastName) {
      lastTwin = TWINS[name] as (...a: unknown[]) => void;
      lastName = name;
    }
    call(lastTwin, args);
  },
};

// ---------------------------------------------------------------------------------
// wasm engine
// ---------------------------------------------------------------------------------

/** The raw exports of assembly/index.ts (pointers are byte offsets). */
export type Exports = Record<string, (...a: number[]) => number> & { memory: WebAssembly.Memory; heapBase(): number };

/**
 * A call is staged, and computed, at most this many bytes of rows at a time (all its
 * row-major and per-row arrays together; one row at least).  A kernel reads what was just
 * copied in: staged whole, a 4 MB batch has left the L2 cache before the kernel reads its
 * first rows back, and a map's results before they are copied out (softmax cross-entropy
 * at 1024×1000 float32: 2.73 ms staged whole, 1.92 ms in blocks of 256 rows, as fast as
 * reading the batch in place).  256 KiB fits the L2 of every core this runs on.
 */
const BLOCK_BYTES = 256 * 1024;

/** A call whose arrays (and scratch: a softmax kernel takes 4 KiB) take at most this many bytes in all takes `runSmall`'s path. */
const SMALL_BYTES = 8192;

/** `room()`: the entries a slot holds (float64: 256 bytes), the scratch's offset (after eight slots), and the bytes in all (the largest scratch a kernel takes: kernels.ts). */
export const ROOM_ENTRIES = 32, ROOM_TMP = 2048;
export const ROOM_BYTES = ROOM_TMP + 6144;

/**
 * The room (`WasmEngine#room`): its address, the kernels, and views over its bytes, so that
 * slot k's entries are f32[64k + i], f64[32k + i] or i32[64k + i].
 */
export interface Room {
  readonly at: number;
  readonly x: Exports;
  readonly f32: Float32Array;
  readonly f64: Float64Array;
  readonly i32: Int32Array;
  /** The window block the views were made over. */
  readonly block: object | null;
  /** A view of slot k's first n entries (of float32 or float64), made once. */
  view(k: number, n: number, f32: boolean): FloatArray;
}

/**
 * `engine` for a scan that validates a call's arguments (a loss's labels), with a window
 * for it reserved now, before the call takes its arguments' views: the scan then allocates
 * nothing, and growing memory would detach those views.  The twins where memory is full.
 */
export function scanEngine(engine: Engine): Engine {
  if (!(engine instanceof WasmEngine)) return engine;
  try {
    engine.heap.window(BLOCK_BYTES + 64);
    return engine;
  } catch (e) {
    if (e instanceof OutOfMemory) return jsEngine;
    throw e;
  }
}

/** How memory holds a parameter's elements for the kernel. */
export function elemOf(kind: Param['kind'], f32: boolean): Elem {
  if (kind === 'labels') return 'i32';
  if (kind === 'bytes') return 'u8';
  if (kind === 'x' || kind === 'out' || kind === 'col' || kind === 'w') return f32 ? 'f32' : 'f64';
  return 'f64';
}

/** Bytes per element of a parameter's staged copy. */
function width(kind: Param['kind'], f32: boolean): number {
  switch (kind) {
    case 'x': case 'out': case 'col': case 'w': return f32 ? 4 : 8;
    case 'labels': return 4;
    case 'bytes': return 1;
    default: return 8;
  }
}

// What a parameter is to the engine (fixed per kernel: see `layout`).
const SCALAR = 0, TMP_ = 1, ARRAY = 2;

/**
 * A kernel variant's parameters, classified once (the per-call work is then loops over
 * small typed arrays), and the scratch its calls fill: the slots of one call.  A call
 * never starts another on the same engine before it has used its slots, except through
 * stream.ts, after which the outer call uses none of them.
 */
interface Layout {
  fn: (...a: number[]) => void;
  n: number;
  rowsAt: number;
  colsAt: number;
  code: Uint8Array;
  kinds: Param['kind'][];
  /** Elements per row, as `rowCode` (kernels.ts) gives them (0: per-column / fixed arrays). */
  perRow: Int32Array;
  /** acc: its length; tmp: its bytes. */
  k: Int32Array;
  bpe: Uint8Array;
  /** How memory holds it. */
  elem: Elem[];
  input: Uint8Array;
  output: Uint8Array;
  // one call's slots
  data: (ArrayLike<number> | null)[];
  at: Float64Array;
  per: Float64Array;
  offset: Float64Array;
  /** An output staged in an input's place (index), or −1. */
  alias: Int8Array;
  rowwise: Uint8Array;
  /** A staged array that is a view of this memory: its byte offset (−1: not one), to re-make it after growth. */
  moduleAt: Float64Array;
  ptrs: number[];
  /** runSmall's: each parameter's byte offset and elements. */
  small: Int32Array;
}

export class WasmEngine implements Engine {
  readonly heap: Heap;
  private readonly layouts: Record<string, [Layout | null, Layout | null]> = Object.create(null);

  constructor(readonly name: Backend, readonly exports: Exports) {
    this.heap = new Heap(exports.memory, exports.heapBase());
  }

  /** The last layout used (a lookup by name costs as much as a small call's copies). */
  private last: Layout | null = null;
  private lastName = '';
  private lastF32 = false;

  private layout(name: KernelName, f32: boolean): Layout {
    if (name === this.lastName && f32 === this.lastF32 && this.last) return this.last;
    const pair = (this.layouts[name] ??= [null, null]);
    const have = pair[f32 ? 1 : 0];
    if (have) {
      this.last = have;
      this.lastName = name;
      this.lastF32 = f32;
      return have;
    }
    const key = f32 ? `${name}F32` : `${name}F64`;
    const fn = this.exports[key];
    if (typeof fn !== 'function') throw new Error(`surprisal: the WebAssembly build has no kernel ${key}`);
    const params = KERNELS[name].params;
    const n = params.length;
    const L: Layout = {
      fn, n, rowsAt: -1, colsAt: -1, code: new Uint8Array(n), kinds: params.map((q) => q.kind), perRow: new Int32Array(n), k: new Int32Array(n),
      bpe: new Uint8Array(n), elem: new Array<Elem>(n).fill('f64'), input: new Uint8Array(n), output: new Uint8Array(n),
      data: new Array<null>(n).fill(null), at: new Float64Array(n), per: new Float64Array(n), offset: new Float64Array(n),
      alias: new Int8Array(n), rowwise: new Uint8Array(n), moduleAt: new Float64Array(n), ptrs: new Array<number>(n).fill(0), small: new Int32Array(2 * n),
    };
    params.forEach((q, i) => {
      const kind = q.kind;
      if (kind === 'rows') L.rowsAt = i;
      if (kind === 'cols') L.colsAt = i;
      if (kind === 'rows' || kind === 'cols' || kind === 'num') return;
      if (kind === 'tmp') {
        L.code[i] = TMP_;
        L.k[i] = q.k!;
        return;
      }
      L.code[i] = ARRAY;
      L.bpe[i] = width(kind, f32);
      L.elem[i] = elemOf(kind, f32);
      L.perRow[i] = rowCode(q);
      L.k[i] = kind === 'acc' ? q.k! : 0;
      const output = writes(kind);
      L.output[i] = output ? 1 : 0;
      L.input[i] = !output || kind === 'colAcc' || kind === 'acc' ? 1 : 0;
    });
    pair[f32 ? 1 : 0] = L;
    return L;
  }

  run(name: KernelName, f32: boolean, args: unknown[]): void {
    try {
      if (!this.runSmall(name, f32, args)) this.runBlocks(name, f32, args);
    } catch (e) {
      // memory could not grow: the JS twin computes the call on the caller's arrays
      if (e instanceof OutOfMemory) jsEngine.run(name, f32, args);
      else throw e;
    }
  }

  /**
   * A call whose arrays take at most SMALL_BYTES in all, staged whole into the window by
   * plain loops (false, doing nothing, when the call is larger or the window not yet that
   * large).  Its fixed cost is what decides small calls, so it looks for no view of this
   * memory to use in place (a typed array's `.buffer` costs as much as copying a dozen
   * elements): a copy of such a view is as good, and nothing here grows memory, so no
   * view is detached before it is read.
   */
  private runSmall(name: KernelName, f32: boolean, args: unknown[]): boolean {
    const L = this.layout(name, f32);
    const n = L.n, code = L.code, at = L.small, ptrs = L.ptrs;
    const rows = args[L.rowsAt] as number, cols = L.colsAt < 0 ? 0 : (args[L.colsAt] as number);
    if (rows * cols > SMALL_BYTES) return false;
    // at[2i]: the byte offset in the block, at[2i + 1]: the elements (−1: a null array)
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const c = code[i];
      if (c === SCALAR) continue;
      at[2 * i] = bytes;
      if (c === TMP_) {
        bytes += (L.k[i] + 15) & ~15;
        continue;
      }
      const d = args[i] as ArrayLike<number> | null;
      if (d === null) {
        at[2 * i + 1] = -1;
        continue;
      }
      const perRow = rowElements(L.perRow[i], cols, args[i + 1]);
      const count = perRow > 0 ? perRow * rows : fixedElems(L, i, d);
      at[2 * i + 1] = count;
      bytes += (count * L.bpe[i] + 15) & ~15;
    }
    if (bytes > SMALL_BYTES) return false;
    const base = this.heap.windowOf(bytes);
    if (base < 0) return false;
    if (rows === 0) return true;
    const heap = this.heap;
    for (let i = 0; i < n; i++) {
      const c = code[i];
      if (c === SCALAR) {
        ptrs[i] = args[i] as number;
        continue;
      }
      const count = at[2 * i + 1];
      ptrs[i] = c === TMP_ ? base + at[2 * i] : count < 0 ? 0 : base + at[2 * i];
      if (c === ARRAY && count > 0 && L.input[i]) heap.put(args[i] as ArrayLike<number>, L.elem[i], ptrs[i], 0, count);
    }
    call(L.fn, ptrs);
    for (let i = 0; i < n; i++) {
      const count = at[2 * i + 1];
      if (code[i] === ARRAY && count > 0 && L.output[i]) heap.get(args[i] as ArrayLike<number>, L.elem[i], ptrs[i], 0, summed(L.kinds[i], args[i + 1]) ? Math.ceil(count / ROW_GROUP) : count);
    }
    return true;
  }

  /**
   * Room for one row of at most ROOM_ENTRIES entries, for src/small.ts's calls, which stage
   * by hand what `runSmall` stages by the layout (whose loops over a kernel's parameters
   * cost more than a 32-entry kernel): at the window's start, eight slots of 256 bytes
   * (slot k at `at` + 256·k) and a kernel's scratch after them (`ROOM_TMP`), with views
   * over them made once.  The window is reserved when the engine is loaded (backend.ts), so
   * this is null only where memory could not grow to replace it; nothing here grows memory,
   * so no caller's view is detached.
   */
  room(): Room | null {
    const r = this.roomViews;
    // (memory that has grown detaches the views' buffer, and a replaced window is a new block)
    return r !== null && r.f64.length !== 0 && r.block === this.heap.windowId ? r : this.newRoom();
  }
  private roomViews: Room | null = null;

  private newRoom(): Room | null {
    const at = this.heap.windowOf(ROOM_BYTES), buffer = this.heap.buffer;
    if (at < 0) return (this.roomViews = null);
    const f32 = new Float32Array(buffer, at, ROOM_BYTES >> 2), f64 = new Float64Array(buffer, at, ROOM_BYTES >> 3);
    const views: (FloatArray | undefined)[] = new Array(2 * 8 * (ROOM_ENTRIES + 1)).fill(undefined);
    return (this.roomViews = {
      at, x: this.exports, block: this.heap.windowId, f32, f64, i32: new Int32Array(buffer, at, ROOM_BYTES >> 2),
      view: (k, n, single) => (views[(2 * k + (single ? 0 : 1)) * (ROOM_ENTRIES + 1) + n] ??= single ? f32.subarray(64 * k, 64 * k + n) : f64.subarray(32 * k, 32 * k + n)),
    });
  }

  private runBlocks(name: KernelName, f32: boolean, args: unknown[]): void {
    const L = this.layout(name, f32);
    const heap = this.heap;
    const n = L.n, code = L.code, data = L.data, at = L.at, per = L.per, offset = L.offset, alias = L.alias, rowwise = L.rowwise;
    const rows = args[L.rowsAt] as number, cols = L.colsAt < 0 ? 0 : (args[L.colsAt] as number);
    // the arrays: in place, or staged (bytes per row, or fixed)
    let rowBytes = 0, fixedBytes = 0;
    for (let i = 0; i < n; i++) {
      const c = code[i];
      if (c === SCALAR) continue;
      if (c === TMP_) {
        data[i] = null;
        at[i] = -1;
        rowwise[i] = 0;
        alias[i] = -1;
        offset[i] = fixedBytes;
        fixedBytes += align(L.k[i]);
        continue;
      }
      let d = args[i] as ArrayLike<number> | null;
      if (d === null) {
        data[i] = null;
        continue;
      }
      const perRow = rowElements(L.perRow[i], cols, args[i + 1]);
      rowwise[i] = perRow > 0 ? 1 : 0;
      per[i] = perRow > 0 ? perRow : fixedElems(L, i, d);
      let p = -1;
      L.moduleAt[i] = -1;
      if (ArrayBuffer.isView(d) && heap.holds(d)) {
        const v = d as Typed;
        // (group sums are staged: a block's land at its first entries, not its rows')
        if (v.BYTES_PER_ELEMENT === L.bpe[i] && isKind(v, L.kinds[i], f32) && !summed(L.kinds[i], args[i + 1])) p = heap.locate(v);
        // a view of this memory that cannot be used in place: an input is snapshotted now
        // (reserving the window may grow memory and detach it, or overwrite it)
        if (p < 0 && L.input[i] && !L.output[i]) d = Array.prototype.slice.call(v) as number[];
        // an output staged through the window is copied back into it: re-made after the window is reserved
        else if (p < 0) L.moduleAt[i] = v.byteOffset;
      }
      data[i] = d;
      at[i] = p;
      alias[i] = -1;
      if (p >= 0) continue;
      // an output over an input (in place): staged once, in the input's place
      if (L.kinds[i] === 'out') {
        for (let j = 0; j < i; j++) if (L.kinds[j] === 'x' && data[j] === d && at[j] < 0) alias[i] = j;
        if (alias[i] >= 0) continue;
      }
      const bytes = per[i] * L.bpe[i];
      if (perRow > 0) rowBytes += align(bytes);
      else {
        offset[i] = fixedBytes;
        fixedBytes += align(bytes);
      }
    }
    if (rows === 0) return release(data);
    const limit = heap.windowLimit;
    if (rowBytes + fixedBytes + 16 > limit) {
      release(data);
      longRow(this, name, f32, args, rows, cols);
      return;
    }
    const perBlock = rowBytes === 0 ? rows : inGroups(cols, Math.max(1, Math.min(rows, Math.floor(Math.max(BLOCK_BYTES - fixedBytes, rowBytes) / rowBytes), Math.floor((limit - fixedBytes - 16) / rowBytes))));
    // the window: fixed arrays first, then each row-wise array's block, 16-byte aligned
    let blockOffset = fixedBytes;
    for (let i = 0; i < n; i++) {
      if (code[i] === ARRAY && data[i] !== null && rowwise[i] && at[i] < 0 && alias[i] < 0) {
        offset[i] = blockOffset;
        blockOffset += align(per[i] * L.bpe[i] * perBlock);
      }
    }
    const base = heap.window(blockOffset + 16);
    for (let i = 0; i < n; i++) {
      if (code[i] === ARRAY && data[i] !== null && L.moduleAt[i] >= 0) data[i] = heap.revive(data[i] as Typed, L.moduleAt[i], per[i] * (rowwise[i] ? rows : 1));
    }
    const ptrs = L.ptrs;
    // scalars; fixed inputs (per column, accumulators) are copied in once
    for (let i = 0; i < n; i++) {
      const c = code[i];
      if (c === SCALAR) ptrs[i] = args[i] as number;
      else if (c === TMP_) ptrs[i] = base + offset[i];
      else if (data[i] === null) ptrs[i] = 0;
      else if (!rowwise[i]) {
        if (at[i] >= 0) ptrs[i] = at[i];
        else {
          ptrs[i] = base + offset[i];
          if (L.input[i]) this.copyIn(i, L, ptrs[i], 0, per[i]);
        }
      }
    }
    for (let r0 = 0; r0 < rows; r0 += perBlock) {
      const k = Math.min(perBlock, rows - r0);
      ptrs[L.rowsAt] = k;
      for (let i = 0; i < n; i++) {
        if (code[i] !== ARRAY || data[i] === null || !rowwise[i]) continue;
        if (at[i] >= 0) ptrs[i] = at[i] + r0 * per[i] * L.bpe[i];
        else {
          const home = alias[i] >= 0 ? alias[i] : i;
          ptrs[i] = base + offset[home];
          if (L.input[i] && alias[i] < 0) this.copyIn(i, L, ptrs[i], r0 * per[i], k * per[i]);
        }
      }
      call(L.fn, ptrs);
      for (let i = 0; i < n; i++) {
        if (!(code[i] === ARRAY && data[i] !== null && rowwise[i] && L.output[i] && at[i] < 0)) continue;
        if (summed(L.kinds[i], args[i + 1])) this.copyOut(i, L, ptrs[i], r0 / ROW_GROUP, Math.ceil(k / ROW_GROUP));
        else this.copyOut(i, L, ptrs[i], r0 * per[i], k * per[i]);
      }
    }
    for (let i = 0; i < n; i++) {
      if (code[i] === ARRAY && data[i] !== null && !rowwise[i] && L.output[i] && at[i] < 0) this.copyOut(i, L, ptrs[i], 0, per[i]);
    }
    release(data);
  }

  private copyIn(i: number, L: Layout, p: number, from: number, n: number): void {
    this.heap.put(L.data[i]!, L.elem[i], p, from, n);
  }

  private copyOut(i: number, L: Layout, p: number, from: number, n: number): void {
    if (L.data[i]) this.heap.get(L.data[i]!, L.elem[i], p, from, n);
  }
}

/** Elements of array parameter i when it is not row-wise: an accumulator's length, or the array's. */
function fixedElems(L: Layout, i: number, d: ArrayLike<number>): number {
  return L.k[i] > 0 ? L.k[i] : d.length;
}

/** Drops a call's references to the caller's arrays. */
function release(data: unknown[]): void {
  for (let i = 0; i < data.length; i++) data[i] = null;
}

/** Calls a kernel with its arguments spread by count (a spread call would not take V8's fast path into wasm). */
function call<A>(fn: (...a: A[]) => void, a: A[]): void {
  switch (a.length) {
    case 4: fn(a[0], a[1], a[2], a[3]); break;
    case 5: fn(a[0], a[1], a[2], a[3], a[4]); break;
    case 6: fn(a[0], a[1], a[2], a[3], a[4], a[5]); break;
    case 7: fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6]); break;
    case 8: fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]); break;
    case 9: fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]); break;
    case 10: fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]); break;
    case 11: fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]); break;
    case 12: fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11]); break;
    default: fn(...a);
  }
}

/** Whether a typed array is of the element type the kernel reads or writes for `kind`. */
function isKind(v: ArrayBufferView, kind: string, f32: boolean): boolean {
  if (kind === 'labels') return v instanceof Int32Array;
  if (kind === 'bytes') return v instanceof Uint8Array;
  if (kind === 'x' || kind === 'out' || kind === 'col' || kind === 'w') return f32 ? v instanceof Float32Array : v instanceof Float64Array;
  return v instanceof Float64Array;
}


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

import { KERNELS, type KernelName, type Param } from './kernels.js';
import { align, copy, Heap, OutOfMemory } from './memory.js';
import { longRow } from './stream.js';
import type { Backend, FloatArray } from './types.js';
import { TWINS } from './js/index.js';

export interface Engine {
  readonly name: Backend;
  /** Runs kernel `name` (its float32 variant when f32) on `args`, in the table's order. */
  run(name: KernelName, f32: boolean, args: unknown[]): void;
}

// ---------------------------------------------------------------------------------
// JS engine: the twins, on the caller's arrays.
// ---------------------------------------------------------------------------------

export const jsEngine: Engine = {
  name: 'js',
  run(name, _f32, args) {
    (TWINS[name] as (...a: unknown[]) => void)(...args);
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

type Typed = ArrayBufferView & ArrayLike<number> & { subarray(a: number, b: number): Typed; set(s: ArrayLike<number>, o?: number): void; BYTES_PER_ELEMENT: number };

/** Bytes per element of a parameter's staged copy. */
function width(param: Param, f32: boolean): number {
  switch (param.kind) {
    case 'x': case 'out': case 'col': case 'w': return f32 ? 4 : 8;
    case 'labels': return 4;
    case 'bytes': return 1;
    default: return 8;
  }
}

/** One array argument of a call: where it is, and how it is moved. */
interface Slot {
  index: number;
  param: Param;
  /** The caller's array (a snapshot, for a stray view into module memory). */
  data: ArrayLike<number> | null;
  /** Byte offset in memory when in place; −1 when staged. */
  at: number;
  /** Bytes per element where the kernel reads or writes it. */
  bpe: number;
  /** Bytes per row (row-major and per-row arrays) or in all (per-column and fixed arrays). */
  bytes: number;
  /** Elements per row (row-major and per-row) or in all. */
  per: number;
  /** Staged: its offset within the window's per-block (or fixed) region. */
  offset: number;
  /** An output written over an input: that input's slot. */
  alias: Slot | null;
  input: boolean;
  output: boolean;
  rowwise: boolean;
}

export class WasmEngine implements Engine {
  readonly heap: Heap;
  private readonly fns = new Map<string, (...a: number[]) => void>();

  constructor(readonly name: Backend, readonly exports: Exports) {
    this.heap = new Heap(exports.memory, exports.heapBase());
  }

  private fn(name: KernelName, f32: boolean): (...a: number[]) => void {
    const key = f32 ? `${name}F32` : `${name}F64`;
    let f = this.fns.get(key);
    if (!f) {
      f = this.exports[key];
      if (typeof f !== 'function') throw new Error(`surprisal: the WebAssembly build has no kernel ${key}`);
      this.fns.set(key, f);
    }
    return f;
  }

  run(name: KernelName, f32: boolean, args: unknown[]): void {
    try {
      this.runBlocks(name, f32, args);
    } catch (e) {
      // memory could not grow: the JS twin computes the call on the caller's arrays
      if (e instanceof OutOfMemory) jsEngine.run(name, f32, args);
      else throw e;
    }
  }

  private runBlocks(name: KernelName, f32: boolean, args: unknown[]): void {
    const params = KERNELS[name].params;
    const heap = this.heap;
    let rows = 0, cols = 0, rowsAt = -1;
    for (let i = 0; i < params.length; i++) {
      if (params[i].kind === 'rows') {
        rows = args[i] as number;
        rowsAt = i;
      } else if (params[i].kind === 'cols') cols = args[i] as number;
    }
    // the arrays: in place, or staged (sizes per row, or fixed)
    const slots: Slot[] = [];
    let rowBytes = 0, fixedBytes = 0;
    for (let i = 0; i < params.length; i++) {
      const param = params[i];
      const kind = param.kind;
      if (kind === 'rows' || kind === 'cols' || kind === 'num') continue;
      if (kind === 'tmp') {
        slots.push({ index: i, param, data: null, at: -1, bpe: 1, bytes: param.k!, per: 0, offset: fixedBytes, alias: null, input: false, output: false, rowwise: false });
        fixedBytes += align(param.k!);
        continue;
      }
      let data = args[i] as ArrayLike<number> | null;
      if (data === null) continue;
      const bpe = width(param, f32);
      const perRow = kind === 'x' || kind === 'out' || kind === 'out64' || kind === 'bytes' ? cols
        : kind === 'w' ? (args[i + 1] ? cols : 0)
          : kind === 'labels' || kind === 'res' || kind === 'resOpt' ? 1
            : kind === 'rowIn' || kind === 'aux' ? param.k! : 0;
      const rowwise = perRow > 0;
      const per = rowwise ? perRow : kind === 'acc' ? param.k! : data.length;
      const output = kind === 'out' || kind === 'out64' || kind === 'res' || kind === 'resOpt' || kind === 'aux' || kind === 'colAcc' || kind === 'acc';
      const input = !output || kind === 'colAcc' || kind === 'acc';
      let at = -1;
      if (ArrayBuffer.isView(data) && heap.holds(data)) {
        const v = data as Typed;
        if (v.BYTES_PER_ELEMENT === bpe && isKind(v, kind, f32)) at = heap.locate(v);
        // a view of this memory that cannot be used in place: an input is snapshotted now
        // (reserving the window may grow memory and detach it, or overwrite it)
        if (at < 0 && input && !output) data = Array.prototype.slice.call(v) as number[];
      }
      const slot: Slot = { index: i, param, data, at, bpe, bytes: per * bpe, per, offset: 0, alias: null, input, output, rowwise };
      if (at < 0) {
        // an output over an input (in place): staged once, in the input's place
        if (kind === 'out') slot.alias = slots.find((s) => s.param.kind === 'x' && s.data === data && s.at < 0) ?? null;
        if (!slot.alias) {
          if (rowwise) rowBytes += align(slot.bytes);
          else {
            slot.offset = fixedBytes;
            fixedBytes += align(slot.bytes);
          }
        }
      }
      slots.push(slot);
    }
    if (rows === 0) return;
    const limit = heap.windowLimit;
    if (rowBytes + fixedBytes + 16 > limit) {
      longRow(this, name, f32, args, rows, cols);
      return;
    }
    const perBlock = rowBytes === 0 ? rows : Math.max(1, Math.min(rows, Math.floor(Math.max(BLOCK_BYTES - fixedBytes, rowBytes) / rowBytes), Math.floor((limit - fixedBytes - 16) / rowBytes)));
    // the window: fixed arrays first, then each row-wise array's block, 16-byte aligned
    let blockOffset = fixedBytes;
    for (const s of slots) {
      if (s.at < 0 && s.rowwise && !s.alias) {
        s.offset = blockOffset;
        blockOffset += align(s.bytes * perBlock);
      }
    }
    const base = heap.window(blockOffset + 16);
    const fn = this.fn(name, f32);
    const ptrs: number[] = args.map((a) => (typeof a === 'number' ? a : 0));
    // fixed inputs (per column, accumulators) are copied in once
    for (const s of slots) {
      if (s.rowwise) continue;
      if (s.at >= 0) {
        ptrs[s.index] = s.at;
        continue;
      }
      const p = base + s.offset;
      ptrs[s.index] = p;
      if (s.param.kind !== 'tmp') this.copyIn(s, p, 0, s.per);
    }
    for (let r0 = 0; r0 < rows; r0 += perBlock) {
      const k = Math.min(perBlock, rows - r0);
      ptrs[rowsAt] = k;
      for (const s of slots) {
        if (!s.rowwise) continue;
        if (s.at >= 0) ptrs[s.index] = s.at + r0 * s.bytes;
        else {
          const home = s.alias ?? s;
          const p = base + home.offset;
          ptrs[s.index] = p;
          if (s.input && !s.alias) this.copyIn(s, p, r0 * s.per, k * s.per);
        }
      }
      fn(...ptrs);
      for (const s of slots) {
        if (s.rowwise && s.output && s.at < 0) this.copyOut(s, ptrs[s.index], r0 * s.per, k * s.per);
      }
    }
    for (const s of slots) {
      if (!s.rowwise && s.output && s.at < 0 && s.param.kind !== 'tmp') this.copyOut(s, ptrs[s.index], 0, s.per);
    }
  }

  /** Copies n elements of the slot's array from element `from` to byte `p`, converting to its staged type. */
  private copyIn(s: Slot, p: number, from: number, n: number): void {
    if (n === 0) return;
    const heap = this.heap;
    const kind = s.param.kind;
    const view: Typed = (kind === 'labels' ? heap.i32 : kind === 'bytes' ? heap.u8 : s.bpe === 4 ? heap.f32 : heap.f64) as unknown as Typed;
    const at = p / view.BYTES_PER_ELEMENT;
    const src = s.data!;
    if (ArrayBuffer.isView(src)) {
      const part = (src as Typed).subarray(from, from + n);
      if (part.constructor === view.constructor) copy(view as unknown as FloatArray, part as unknown as FloatArray, at);
      else view.set(part, at);
    } else {
      for (let i = 0; i < n; i++) (view as unknown as number[])[at + i] = src[from + i];
    }
  }

  /** Copies n results from byte `p` to element `from` of the slot's array (converting to its type). */
  private copyOut(s: Slot, p: number, from: number, n: number): void {
    if (n === 0 || !s.data) return;
    const heap = this.heap;
    const dst = s.data as Typed;
    const view = (s.bpe === 4 ? heap.f32 : heap.f64) as unknown as Typed;
    const at = p / view.BYTES_PER_ELEMENT;
    const src = view.subarray(at, at + n);
    if (n <= 32) for (let i = 0; i < n; i++) (dst as unknown as number[])[from + i] = src[i];
    else if (src.constructor === dst.constructor) copy(dst as unknown as FloatArray, src as unknown as FloatArray, from);
    else dst.set(src, from);
  }
}

/** Whether a typed array is of the element type the kernel reads or writes for `kind`. */
function isKind(v: ArrayBufferView, kind: string, f32: boolean): boolean {
  if (kind === 'labels') return v instanceof Int32Array;
  if (kind === 'bytes') return v instanceof Uint8Array;
  if (kind === 'x' || kind === 'out' || kind === 'col' || kind === 'w') return f32 ? v instanceof Float32Array : v instanceof Float64Array;
  return v instanceof Float64Array;
}


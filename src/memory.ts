// The module's linear memory, owned by this side.  The kernels never allocate: every
// byte above the module's static data is handed out here, either as the staging window
// (a call's rows copied in, results copied out, a block at a time) or as a `WasmArray`
// the user keeps for zero-copy calls.
//
// WebAssembly memory never shrinks, so the window has a fixed limit (`windowBytes`,
// 32 MiB unless `init({ window })` says otherwise) and calls larger than it stream
// through it: memory stays at the window's size plus the live WasmArrays whatever the
// inputs' sizes.  One first-fit allocator over [heapBase, memory end) serves both;
// blocks are 16-byte aligned, so a kernel's full-vector loads stay in bounds.
//
// `memory.grow` detaches every typed-array view over the old buffer; the views here,
// and `WasmArray.array`, are re-derived whenever the buffer has changed.

import type { FloatArray, FloatArrayConstructor } from './types.js';

/** @internal */
export const PAGE = 65536;
const ALIGN = 16;

/** `n` bytes rounded up to the heap's 16-byte alignment. @internal */
export const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/** The default limit of the staging window (bytes): see `Heap.window`. @internal */
export const DEFAULT_WINDOW = 32 * 2 ** 20;
/** The smallest window allowed: a few blocks of rows (see `engine.ts`, BLOCK_BYTES). @internal */
export const MIN_WINDOW = 2 ** 20;

interface Block {
  ptr: number;
  size: number;
}

/** Thrown when memory cannot grow; the engine then computes the call on the JS twins. @internal */
export class OutOfMemory extends Error {}

const host = globalThis as {
  Buffer?: { allocUnsafeSlow(bytes: number): Uint8Array; from(b: ArrayBufferLike, o: number, n: number): { fill(value: Uint8Array, offset: number, end: number): unknown } };
  process?: { versions?: { node?: string } };
};
const allocUnsafeSlow = host.Buffer?.allocUnsafeSlow;
/** Node's own Buffer, not a bundler's polyfill (whose fill is a JS loop). */
const NodeBuffer = host.process?.versions?.node ? host.Buffer : undefined;

/**
 * `dst.set(src, at)` for arrays of one type.  Where either is over a SharedArrayBuffer,
 * TypedArray#set copies word by word with relaxed atomics (V8's Relaxed_Memcpy), two to
 * three times slower than a memcpy; Node's Buffer#fill with a value as long as the range
 * is one native memcpy, so in Node such copies of 64 KiB and more go through it.  The
 * memory model is unchanged: threads that share these bytes order their accesses with
 * Atomics.
 * @internal
 */
export function copy<T extends FloatArray | Int32Array>(dst: T, src: T, at = 0): void {
  const bytes = src.byteLength;
  if (NodeBuffer && bytes >= 65536 && (src.buffer instanceof SharedArrayBuffer || dst.buffer instanceof SharedArrayBuffer) &&
    src.constructor === dst.constructor && src.buffer !== dst.buffer && at + src.length <= dst.length) {
    NodeBuffer.from(dst.buffer, dst.byteOffset + at * src.BYTES_PER_ELEMENT, bytes).fill(new Uint8Array(src.buffer, src.byteOffset, bytes), 0, bytes);
  } else dst.set(src as never, at);
}

/**
 * A new float array every element of which the caller overwrites (a map's result): in
 * Node its memory is not zeroed first (Buffer.allocUnsafeSlow: an ArrayBuffer of its
 * own, never a slice of Node's pool).  Elsewhere an ordinary, zeroed, array.
 * @internal
 */
export function uninitialized<T extends FloatArray>(Type: FloatArrayConstructor<T>, n: number): T {
  const bytes = n * Type.BYTES_PER_ELEMENT;
  const b = n >= 1024 ? allocUnsafeSlow?.(bytes) : undefined;
  return b && b.byteOffset === 0 && b.buffer.byteLength === bytes ? new Type(b.buffer as ArrayBuffer, 0, n) : new Type(n);
}

/** Every module's heap, to recognise views into any of their memories. */
const heaps = new Set<Heap>();

/**
 * True when `view` lies in some module's memory but outside every live WasmArray: a view
 * of a freed WasmArray, of the window, or made by hand over `memory.buffer`.  Such a view
 * as `out` would be written over memory the allocator hands out again, so it is refused.
 * @internal
 */
export function isStrayModuleView(view: ArrayBufferView): boolean {
  if (view.buffer.byteLength % PAGE !== 0) return false; // not a WebAssembly memory: whole 64 KiB pages
  for (const h of heaps) if (h.holds(view) && h.locate(view) < 0) return true;
  return false;
}

/** True when `view` lies in some module's memory (a WasmArray's, the window, or by hand). @internal */
export function inModuleMemory(view: ArrayBufferView): boolean {
  if (view.buffer.byteLength % PAGE !== 0) return false;
  for (const h of heaps) if (h.holds(view)) return true;
  return false;
}

/** The heap whose memory grew last: the one a call that detached a caller's view grew. */
let lastGrown: Heap | null = null;

/**
 * A view of `n` elements at byte `offset` of a module's memory, detached by the call
 * that just grew it, re-made over the memory's current buffer.
 * @internal
 */
export function revive<T extends FloatArray>(view: T, offset: number, n: number): T {
  return lastGrown ? lastGrown.revive(view, offset, n) : view;
}

/** The element types memory holds for the kernels. @internal */
export type Elem = 'f32' | 'f64' | 'i32' | 'u8';
/** A typed array of any element type. @internal */
export type Typed = ArrayBufferView & ArrayLike<number> & { subarray(a: number, b: number): Typed; set(s: ArrayLike<number>, o?: number): void; BYTES_PER_ELEMENT: number };

/** The module's memory: its blocks (the window, WasmArrays) and the views over it. @internal */
export class Heap {
  readonly memory: WebAssembly.Memory;
  private readonly base: number;
  /** Allocated blocks, sorted by address: the window and live WasmArrays. */
  private readonly blocks: Block[] = [];
  private windowBlock: Block | null = null;
  /** The most bytes the window may take (see DEFAULT_WINDOW). */
  windowLimit = DEFAULT_WINDOW;
  private cached: ArrayBufferLike | null = null;
  /** A pool thread's heap over the pool's shared memory (see `trust`). */
  private trusted = false;
  private views!: { u8: Uint8Array; f32: Float32Array; f64: Float64Array; i32: Int32Array };

  constructor(memory: WebAssembly.Memory, heapBase: number) {
    this.memory = memory;
    this.base = align(heapBase);
    heaps.add(this);
  }

  /** Pages of linear memory in use. */
  get pages(): number {
    return this.memory.buffer.byteLength / PAGE;
  }

  /**
   * Views over the memory's current buffer.  Reading `memory.buffer` is a call into the
   * engine (tens of ns, several times per call), so they are cached: growth detaches the
   * old buffer, and a detached buffer has byteLength 0 while a live one never does (the
   * module's static data sits in its first page).  A shared memory's old buffer is not
   * detached by growth, only shorter: it grows only through `alloc` here, which drops the
   * cache.
   */
  private current(): { u8: Uint8Array; f32: Float32Array; f64: Float64Array; i32: Int32Array } {
    const cached = this.cached;
    if (!cached || cached.byteLength === 0 || (this.trusted && cached !== this.memory.buffer)) {
      const buffer = this.memory.buffer;
      this.cached = buffer;
      this.views = { u8: new Uint8Array(buffer), f32: new Float32Array(buffer), f64: new Float64Array(buffer), i32: new Int32Array(buffer) };
    }
    return this.views;
  }

  get buffer(): ArrayBufferLike {
    this.current();
    return this.cached!;
  }

  get u8(): Uint8Array {
    return this.current().u8;
  }

  get f32(): Float32Array {
    return this.current().f32;
  }

  get f64(): Float64Array {
    return this.current().f64;
  }

  get i32(): Int32Array {
    return this.current().i32;
  }

  /** A 16-byte-aligned block of at least `bytes`, growing memory if no gap fits. */
  alloc(bytes: number): number {
    const size = align(Math.max(bytes, ALIGN));
    let at = this.base;
    let index = 0;
    for (; index < this.blocks.length; index++) {
      const b = this.blocks[index];
      if (b.ptr - at >= size) break;
      at = b.ptr + b.size;
    }
    const end = at + size;
    const have = this.memory.buffer.byteLength;
    // 16 bytes to spare past the last block: a kernel's last, partial vector may read them
    if (end + 16 > have) {
      const old = this.memory.buffer;
      try {
        this.memory.grow(Math.ceil((end + 16 - have) / PAGE));
      } catch {
        throw new OutOfMemory(`surprisal: cannot grow WebAssembly memory to ${end} bytes`);
      }
      if (old.byteLength > 0) {
        this.earlier.add(old);
        this.anyEarlier = true;
      }
      this.cached = null;
      lastGrown = this;
    }
    this.blocks.splice(index, 0, { ptr: at, size });
    return at;
  }

  free(ptr: number): void {
    const index = this.blocks.findIndex((b) => b.ptr === ptr);
    if (index >= 0) this.blocks.splice(index, 1);
  }

  /**
   * The staging window: a block of at least `bytes` (at most `windowLimit`), valid until
   * the next call.  Reused as is when large enough; otherwise released and replaced by
   * one twice as large (up to the limit), which takes the old one's place if it fits.
   */
  window(bytes: number): number {
    const current = this.windowBlock;
    if (current && current.size >= bytes) return current.ptr;
    if (this.trusted) throw new OutOfMemory(`surprisal: a pool thread's window holds ${current!.size} bytes, not ${bytes}`);
    const size = Math.min(this.windowLimit, Math.max(bytes, 2 * (current?.size ?? 0), 64 * 1024));
    if (current) this.free(current.ptr);
    this.windowBlock = null;
    const ptr = this.alloc(size);
    this.windowBlock = this.blocks.find((b) => b.ptr === ptr) ?? null;
    return ptr;
  }

  /** The window's block: another object once the window is replaced. */
  get windowId(): object | null {
    return this.windowBlock;
  }

  /** The window's address if it holds `bytes` already (nothing is allocated), else −1. */
  windowOf(bytes: number): number {
    const w = this.windowBlock;
    return w && w.size >= bytes ? w.ptr : -1;
  }

  /**
   * Makes this the heap of a pool thread over the pool's shared memory: its window is the
   * fixed block at `window` (the pool lays memory out; nothing is allocated here), and any
   * other view over the memory is the pool's and used in place.  The memory grows on the
   * calling thread: its buffer is read anew when it has.
   */
  trust(window: number, bytes: number): void {
    this.trusted = true;
    this.windowBlock = { ptr: window, size: bytes };
    this.windowLimit = bytes;
  }

  /**
   * Byte offset of `view` if it lies inside a live block other than the window (a
   * WasmArray of this heap), so a kernel may read or write it in place; −1 otherwise.
   */
  locate(view: ArrayBufferView): number {
    if (!this.holds(view)) return -1;
    if (this.trusted) {
      const w = this.windowBlock!;
      return view.byteOffset + view.byteLength <= w.ptr || view.byteOffset >= w.ptr + w.size ? view.byteOffset : -1;
    }
    const start = view.byteOffset;
    const end = start + view.byteLength;
    for (const b of this.blocks) {
      if (b === this.windowBlock) continue;
      if (start >= b.ptr && end <= b.ptr + b.size) return start;
    }
    return -1;
  }

  /** The view of this memory that holds elements of `elem`. */
  private viewOf(elem: Elem): Typed {
    const v = this.current();
    return (elem === 'f32' ? v.f32 : elem === 'f64' ? v.f64 : elem === 'i32' ? v.i32 : v.u8) as unknown as Typed;
  }

  /** Copies n elements of `src` from element `from` to byte p, stored as `elem` (converting). */
  put(src: ArrayLike<number>, elem: Elem, p: number, from: number, n: number): void {
    if (n === 0) return;
    const view = this.viewOf(elem);
    const at = p / view.BYTES_PER_ELEMENT;
    if (Array.isArray(src)) {
      // a loop of its own: one shared with typed arrays reads an Array's elements slowly
      for (let j = 0; j < n; j++) (view as unknown as number[])[at + j] = (src as number[])[from + j];
      return;
    }
    if (n <= 16 || !ArrayBuffer.isView(src)) {
      for (let j = 0; j < n; j++) (view as unknown as number[])[at + j] = src[from + j];
      return;
    }
    // the whole array when it can (a subarray is an allocation); set() is a memcpy
    const part = from === 0 && n === src.length ? (src as Typed) : (src as Typed).subarray(from, from + n);
    if (part.constructor === view.constructor) copy(view as unknown as FloatArray, part as unknown as FloatArray, at);
    else view.set(part, at);
  }

  /** Copies n elements stored as `elem` at byte p into `dst` from element `from` (converting). */
  get(dst: ArrayLike<number>, elem: Elem, p: number, from: number, n: number): void {
    if (n === 0) return;
    const view = this.viewOf(elem);
    const at = p / view.BYTES_PER_ELEMENT;
    if (n <= 16 || !ArrayBuffer.isView(dst)) {
      for (let j = 0; j < n; j++) (dst as unknown as number[])[from + j] = view[at + j];
      return;
    }
    const src = view.subarray(at, at + n);
    if (src.constructor === dst.constructor) copy(dst as unknown as FloatArray, src as unknown as FloatArray, from);
    else (dst as unknown as Typed).set(src, from);
  }

  /**
   * `view` (n elements at byte `offset` of this memory) if it is still attached, else the
   * same elements over the memory's current buffer: growing a non-shared memory detaches
   * every view made before, a caller's `out` or `grad` among them.
   */
  revive<T extends ArrayBufferView & { length: number }>(view: T, offset: number, n: number): T {
    if (view.length === n || n === 0) return view;
    const C = view.constructor as new (b: ArrayBufferLike, o: number, n: number) => T;
    return new C(this.buffer, offset, n);
  }

  /** True when `view` is over this module's memory (live block or not). */
  holds(view: ArrayBufferView): boolean {
    const b = view.buffer;
    return b === this.buffer || (this.anyEarlier && this.earlier.has(b));
  }

  /**
   * A shared memory's buffers from before it last grew: still views of the same memory
   * (a shared buffer is never detached, only shorter), so arrays made on them then — a
   * pool's `array`s — are still in it.
   */
  private readonly earlier = new WeakSet<ArrayBufferLike>();
  private anyEarlier = false;
}

const registry: FinalizationRegistry<{ heap: Heap; ptr: number }> | null =
  typeof FinalizationRegistry === 'function' ? new FinalizationRegistry(({ heap, ptr }) => heap.free(ptr)) : null;

/**
 * A float array that lives inside the module's memory, for zero-copy hot loops: pass
 * the WasmArray itself (or its `array`) to any function as input, `out` or `grad`, and
 * nothing is copied.  `array` is re-derived if the memory has grown since it was last
 * read, so read it again after each call rather than keeping the view.
 *
 * @example
 * ```ts
 * import { init, allocate, softmax } from 'surprisal';
 * await init();
 * const logits = allocate(Float32Array, 1000);
 * const probs = allocate(Float32Array, 1000);
 * logits.array.fill(0);
 * softmax(logits, { out: probs });
 * probs.array[0]; // 0.001
 * logits.free(); probs.free();
 * ```
 */
export class WasmArray<T extends FloatArray = FloatArray> {
  readonly length: number;
  readonly type: FloatArrayConstructor<T>;
  #heap: Heap | null;
  #ptr: number;
  #view: T;

  /** Use `allocate`. @internal */
  constructor(type: FloatArrayConstructor<T>, length: number, heap: Heap | null) {
    this.type = type;
    this.length = length;
    this.#heap = heap;
    if (heap) {
      this.#ptr = heap.alloc(length * type.BYTES_PER_ELEMENT);
      this.#view = new type(heap.buffer, this.#ptr, length);
      registry?.register(this, { heap, ptr: this.#ptr }, this);
    } else {
      this.#ptr = -1;
      this.#view = new type(length);
    }
  }

  /** The elements, as a view over the module's memory (re-derived after `memory.grow`). */
  get array(): T {
    if (this.#ptr === -2) throw new TypeError('surprisal: this WasmArray has been freed');
    const heap = this.#heap;
    if (heap && this.#view.buffer !== heap.buffer) this.#view = new this.type(heap.buffer, this.#ptr, this.length);
    return this.#view;
  }

  /** True until `free()`. */
  get live(): boolean {
    return this.#ptr !== -2;
  }

  /** Returns the memory to the module; the WasmArray and its views must not be used afterwards. */
  free(): void {
    if (this.#ptr === -2) return;
    if (this.#heap) {
      this.#heap.free(this.#ptr);
      registry?.unregister(this);
    }
    this.#ptr = -2;
    this.#heap = null;
  }
}

/** Entries off … off + n − 1 of a (a typed array's view of them, an array's copy). @internal */
export const rowOf = (a: ArrayLike<number>, off: number, n: number): ArrayLike<number> =>
  ArrayBuffer.isView(a) ? (a as Float64Array).subarray(off, off + n) : Array.prototype.slice.call(a, off, off + n);

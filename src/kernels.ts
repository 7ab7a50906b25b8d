// The kernel table: every kernel named once, with the kinds of its parameters in order.
// Both engines implement this table — the JS engine with the twins in src/js/ (which
// take arrays where the wasm exports take pointers), the wasm engine with the exports of
// the same name plus an `F32`/`F64` suffix — and the API modules call kernels through it
// (`Engine.run`), so the float32/float64 choice is made once, there.
//
// Parameter kinds, and what a kernel receives for each (wasm: a byte offset, 0 for an
// absent optional array; JS: the array, or null):
//   x      a row-major input, rows × cols, in the kernel's float type
//   labels per-row int32 input (class labels; negative = ignored)
//   rowIn  per-row float64 input, `k` values a row (row parts computed before)
//   col    per-column input in the kernel's float type (class weights), or absent
//   col64  per-column float64 input
//   w      weights, one per element (rows × cols) or one per column, followed by a num
//          parameter: 1 per element, 0 per column; absent: 0, 0
//   bytes  a row-major Uint8Array input
//   rows, cols, num   integers and float64 scalars
//   out    a row-major output, rows × cols, in the kernel's float type (may be an x:
//          in place), or absent; out64: float64, or absent
//   res    per-row float64 results; resOpt: or absent
//   sums   per-row float64 results, followed by a num parameter: when it is nonzero the
//          kernel sums each group of ROW_GROUP rows (counted from its first) into one
//          entry, group g's at entry g, and only those ⌈rows/ROW_GROUP⌉ are results (the
//          rest is the kernel's scratch): a reduction's terms, a sixteenth as many to copy
//          (narrow rows only, which blocks and chunks split at whole groups)
//   aux    per-row float64 parts, `k` a row, or absent (see the long-row merges)
//   colAcc per-column float64 sums the kernel adds to (kept across blocks of rows)
//   acc    a fixed float64 array the kernel adds to (kept across blocks)
//   tmp    scratch the kernel may use (bytes; wasm only; JS: null)

/**
 * Calls of narrow rows are split at multiples of this many rows, counted from the call's
 * first: the kernels take such rows four (float32) or two (float64) at a time (lanes =
 * rows; the last, partial group row by row: see assembly/rows.ts), and a `sums` result
 * adds each group of this many rows' values (assembly/loss.ts, `sumGroupsF64`).  A call
 * split into pieces whose sizes are multiples of it — the engine's blocks, the pool's
 * chunks — computes every row, and every group's sum, as the whole call does.
 */
export const ROW_GROUP = 16;

/** Rows narrower than this many entries are the ones taken in groups (assembly/rows.ts, NARROW). */
export const NARROW_COLS = 64;

/**
 * A block or chunk of `rows` rows of `cols` entries as the kernels group them: narrow rows
 * in whole groups, rounded down (up with `up`; down only when there is a whole group),
 * wider rows as they are.
 */
export function inGroups(cols: number, rows: number, up = false): number {
  if (cols >= NARROW_COLS) return rows;
  if (up) return Math.ceil(rows / ROW_GROUP) * ROW_GROUP;
  return rows >= ROW_GROUP ? rows - (rows % ROW_GROUP) : rows;
}

export type Kind =
  | 'x' | 'labels' | 'rowIn' | 'col' | 'col64' | 'w' | 'bytes'
  | 'rows' | 'cols' | 'num'
  | 'out' | 'out64' | 'res' | 'resOpt' | 'sums' | 'aux' | 'colAcc' | 'acc' | 'tmp';

export interface Param {
  kind: Kind;
  /** rowIn and aux: values per row; acc: its length; tmp: bytes. */
  k?: number;
}

/**
 * How a row too long for the wasm engine's window is computed: `additive` — in segments,
 * their per-row results added and their outputs elementwise; `merge` — in segments whose
 * aux parts are merged (see stream.ts); otherwise by the JS twin on the caller's arrays.
 */
export type LongRows = 'additive' | 'merge' | 'twin';

export interface KernelSpec {
  params: readonly Param[];
  long: LongRows;
  /** Its `out` may lie over its first `x`: each row is read before that row is written (the pool stages them in one place). */
  inPlace?: true;
}

/** How many elements a row of an array parameter holds: `cols` (BY_COLS); for weights `w`, `cols` when they are per element, the argument after them (BY_W); a constant; or 0: not row-wise (per-column and fixed arrays). */
const BY_COLS = -1, BY_W = -2;
export function rowCode({ kind, k }: Param): number {
  if (kind === 'x' || kind === 'out' || kind === 'out64' || kind === 'bytes') return BY_COLS;
  if (kind === 'w') return BY_W;
  if (kind === 'labels' || kind === 'res' || kind === 'resOpt' || kind === 'sums') return 1;
  return kind === 'rowIn' || kind === 'aux' ? k! : 0;
}

/** The elements a row of a parameter holds in a call (0: not row-wise), from its `rowCode`. */
export const rowElements = (code: number, cols: number, perElement: unknown): number => (code === BY_COLS ? cols : code === BY_W ? (perElement ? cols : 0) : code);

/** Whether a kernel writes a parameter (the accumulators are read too). */
export const writes = (kind: Kind): boolean => kind === 'out' || kind === 'out64' || kind === 'res' || kind === 'resOpt' || kind === 'sums' || kind === 'aux' || kind === 'colAcc' || kind === 'acc';

/** Whether a parameter holds group sums (`sums` with the argument after it nonzero): a block of k rows from row r0 then has results at ⌈k/ROW_GROUP⌉ entries from r0/ROW_GROUP. */
export const summed = (kind: Kind, next: unknown): boolean => kind === 'sums' && !!next;

const p = (kind: Kind, k?: number): Param => (k === undefined ? { kind } : { kind, k });
const X = p('x'), ROWS = p('rows'), COLS = p('cols'), NUM = p('num'), OUT = p('out'), RES = p('res');
/** Scratch for a tile of narrow rows (see assembly/softmax.ts): NARROW vectors, twice. */
const TMP = p('tmp', 4096);

export const KERNELS = {
  // probability reductions (assembly/reduce.ts)
  sumRows: { params: [X, ROWS, COLS, RES, p('aux', 2)], long: 'additive' },
  entropyRows: { params: [X, ROWS, COLS, NUM, RES, p('aux', 5)], long: 'merge' },
  crossEntropyRows: { params: [X, X, ROWS, COLS, NUM, RES, p('aux', 6)], long: 'merge' },
  klDivergenceRows: { params: [X, X, ROWS, COLS, NUM, RES, p('aux', 4)], long: 'merge' },
  jsDivergenceRows: { params: [X, X, ROWS, COLS, p('rowIn', 2), RES, p('aux', 4)], long: 'merge' },
  // the softmax family (assembly/softmax.ts)
  logSumExpRows: { params: [X, ROWS, COLS, RES, p('aux', 3), TMP], long: 'merge' },
  weightedLogSumExpRows: { params: [X, p('w'), NUM, ROWS, COLS, RES, p('resOpt'), p('aux', 4)], long: 'merge' },
  softmaxRows: { params: [X, ROWS, COLS, NUM, OUT, p('aux', 3), TMP], long: 'merge', inPlace: true },
  logSoftmaxRows: { params: [X, ROWS, COLS, NUM, OUT, p('aux', 3), TMP], long: 'merge', inPlace: true },
  softmaxEntropyRows: { params: [X, ROWS, COLS, NUM, NUM, OUT, RES, p('aux', 4), TMP], long: 'merge' },
  softmaxKlDivergenceRows: { params: [X, X, ROWS, COLS, NUM, NUM, OUT, OUT, RES, TMP], long: 'twin' },
  // out = x·a + c (a long row's second pass: stream.ts)
  affineRows: { params: [X, ROWS, COLS, NUM, NUM, OUT], long: 'additive' },
  // out[r, j] = x[r, j]·a[r] − c[j] (the class-sharded loss's gradient: accumulate.ts)
  scaleRows: { params: [X, ROWS, COLS, p('rowIn', 1), p('col'), OUT], long: 'additive' },
  // losses (assembly/loss.ts)
  softmaxCrossEntropyLabels: { params: [X, p('labels'), ROWS, COLS, p('col'), NUM, NUM, NUM, OUT, p('sums'), NUM, TMP], long: 'twin', inPlace: true },
  softmaxCrossEntropyProbs: { params: [X, X, ROWS, COLS, p('col'), NUM, NUM, OUT, p('sums'), NUM, TMP], long: 'twin', inPlace: true },
  // the labels' range, for the loss's validation
  labelMax: { params: [p('labels'), ROWS, p('acc', 1)], long: 'additive' },
  sigmoidCrossEntropyRows: { params: [X, X, ROWS, COLS, p('w'), NUM, p('col'), NUM, NUM, NUM, OUT, RES, p('out64'), p('tmp', 6144)], long: 'additive' },
  sigmoidFocalLossRows: { params: [X, X, ROWS, COLS, NUM, NUM, NUM, NUM, OUT, RES, p('out64'), p('tmp', 6144)], long: 'additive' },
  // joint tables and bytes (assembly/info.ts)
  marginRows: { params: [X, ROWS, COLS, RES, p('resOpt'), p('colAcc'), p('colAcc'), p('acc', 3)], long: 'additive' },
  mutualInformationRows: { params: [X, ROWS, COLS, p('rowIn', 1), p('rowIn', 1), p('col64'), p('col64'), NUM, p('acc', 2)], long: 'additive' },
  byteHistogram: { params: [p('bytes'), ROWS, COLS, p('acc', 256), p('tmp', 4096)], long: 'additive' },
} as const satisfies Record<string, KernelSpec>;

export type KernelName = keyof typeof KERNELS;

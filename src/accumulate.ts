// Mergeable accumulators: results over data that never sits in one array — a stream, a
// file read in chunks, shards computed in other workers, processes or machines.  Each
// keeps the parts its kernel reports for a row (the same parts that merge the segments
// of a row too long for the window, stream.ts) and merges them as the kernel would have
// accumulated them, so any chunking and any merge order give the one-shot result within
// the accuracy bounds.  Their state is plain JSON: finite numbers (null for "nothing
// yet"; ±Infinity and NaN, which JSON has no numbers for, as codes: see each state), so
// shards merge anywhere and a state survives JSON.stringify and JSON.parse exactly.

import { type Arg, baseScale, checkOptions, classWeights, describe, labelSmoothingOption, options, reductionOption, vector } from './args.js';
import { engineFor } from './backend.js';
import { entropyValue, mergeEntropy } from './js/reduce.js';
import { logOnesPlus } from './js/softmax.js';
import { Sum } from './js/sum.js';
import type { BaseOption, FloatArray, Labels, Reduction, Vector } from './types.js';

/** The state of a log-sum-exp accumulator: log Σ eˣ = max + log(ones + rest); `special` 1 once a NaN was added, 2 once +Infinity. */
export interface LogSumExpState {
  max: number | null;
  ones: number;
  rest: number;
  special: number;
}

const LSE_KEYS = ['max', 'ones', 'rest', 'special'];

function checkState(fn: string, state: unknown, keys: string[], what: string): Record<string, unknown> {
  if (state === null || typeof state !== 'object' || Array.isArray(state)) throw new TypeError(`${fn}: state must be an object, got ${describe(state)}`);
  const s = state as Record<string, unknown>;
  const got = Object.keys(s).sort().join(', ');
  if (got !== [...keys].sort().join(', ')) throw new TypeError(`${fn}: state is not ${what}'s (its keys are ${got || 'none'}; expected ${keys.join(', ')})`);
  for (const k of keys) {
    const v = s[k];
    if (!(v === null || (typeof v === 'number' && Number.isFinite(v)))) throw new TypeError(`${fn}: state.${k} must be a finite number or null, got ${describe(v)}`);
  }
  return s;
}

/**
 * log Σ exp xᵢ over everything added, chunk by chunk, and over other accumulators
 * merged in.  See `createLogSumExp`.
 */
export class LogSumExpAccumulator {
  #max = -Infinity;
  #ones = 0;
  #rest = 0;
  #special = 0;

  /** @param state a `toJSON()` of another accumulator, to resume. */
  constructor(state?: LogSumExpState) {
    if (state !== undefined) {
      const s = checkState('createLogSumExp', state, LSE_KEYS, 'a log-sum-exp accumulator');
      this.#max = s.max === null ? -Infinity : (s.max as number);
      this.#ones = s.ones as number;
      this.#rest = s.rest as number;
      this.#special = s.special as number;
    }
  }

  /** Adds a chunk of numbers (any Vector; float32 chunks are computed in float32 lanes). */
  add(chunk: Vector): this {
    const X = vector('LogSumExpAccumulator.add', 'chunk', chunk);
    if (X.length === 0) return this;
    const res = new Float64Array(1), aux = new Float64Array(3);
    engineFor(X.length).run('logSumExpRows', X.dtype === 'f32', [X.data, 1, X.length, res, aux, null]);
    if (res[0] !== res[0]) this.#special = 1;
    else if (res[0] === Infinity) this.#special = Math.max(this.#special, 2);
    else this.#absorb(aux[0], aux[1], aux[2]);
    return this;
  }

  /** Merges another accumulator's (or a state's) additions into this one; returns this. */
  merge(other: LogSumExpAccumulator | LogSumExpState): this {
    const o = other instanceof LogSumExpAccumulator ? other.toJSON() : new LogSumExpAccumulator(other).toJSON();
    this.#special = o.special === 1 || this.#special === 1 ? 1 : Math.max(this.#special, o.special);
    if (o.max !== null) this.#absorb(o.max, o.ones, o.rest);
    return this;
  }

  /** (m, ones, rest) of some entries into this: rescaled to the larger maximum. */
  #absorb(m: number, ones: number, rest: number): void {
    if (m === -Infinity) return;
    const M = Math.max(this.#max, m);
    const mine = this.#max === M ? [this.#ones, this.#rest] : [0, (this.#ones + this.#rest) * Math.exp(this.#max - M)];
    const theirs = m === M ? [ones, rest] : [0, (ones + rest) * Math.exp(m - M)];
    this.#max = M;
    this.#ones = mine[0] + theirs[0];
    this.#rest = mine[1] + theirs[1];
  }

  /** log Σ eˣ of everything added: −Infinity when nothing (or only −Infinity) was. */
  get value(): number {
    if (this.#special === 1) return NaN;
    if (this.#special === 2) return Infinity;
    return this.#max === -Infinity ? -Infinity : this.#max + logOnesPlus(this.#ones, this.#rest);
  }

  /** The state: plain JSON, to merge elsewhere or resume with `createLogSumExp(state)`. */
  toJSON(): LogSumExpState {
    return { max: this.#max === -Infinity ? null : this.#max, ones: this.#ones, rest: this.#rest, special: this.#special };
  }
}

/**
 * A mergeable log-sum-exp: `.add(chunk)`, `.merge(other)`, `.value`, `.toJSON()`; any
 * chunking and any merge order give `logSumExp` of everything within the accuracy
 * bounds.  `createLogSumExp(state)` resumes a state (from `toJSON()`, anywhere).
 *
 * @example
 * ```ts
 * import { createLogSumExp, logSumExp } from 'surprisal';
 * const a = createLogSumExp().add([1, 2]), b = createLogSumExp().add([3]);
 * a.merge(JSON.parse(JSON.stringify(b))).value; // 3.40760596444438 = logSumExp([1, 2, 3])
 * ```
 */
export function createLogSumExp(state?: LogSumExpState): LogSumExpAccumulator {
  return new LogSumExpAccumulator(state);
}

// ---------------------------------------------------------------------------------
// Entropy of streamed weights or counts
// ---------------------------------------------------------------------------------

/**
 * The state of an entropy accumulator, as its kernel's parts: the total weight
 * `weight + weightLo` (a double-double, so counts far past 2⁵³ stay exact), the
 * reference weight `ref` (the largest seen) and `terms` = Σ w·log(w/ref), each term ≤ 0.
 * H = log(W/ref) − terms/W: measuring every log from the largest weight keeps a uniform
 * stream exactly log n.
 */
export interface EntropyState {
  weight: number;
  weightLo: number;
  ref: number;
  terms: number;
}

const ENTROPY_KEYS = ['weight', 'weightLo', 'ref', 'terms'];

/**
 * The Shannon entropy of the distribution proportional to every weight (or count)
 * added, chunk by chunk, and merged in from other accumulators.  See `createEntropy`.
 */
export class EntropyAccumulator {
  // [Whi, Wlo, ref, terms, smallest entry]: the entropy kernel's parts for a row
  #parts = new Float64Array(5);
  readonly #scale: number;

  /** @param state a `toJSON()` of another accumulator, to resume; `base` of the logarithm (default e). */
  constructor(state?: EntropyState, options_?: BaseOption) {
    const fn = 'createEntropy';
    const o = options<BaseOption>(fn, options_, ['base']);
    this.#scale = baseScale(fn, o.base);
    if (state !== undefined) {
      const s = checkState(fn, state, ENTROPY_KEYS, 'an entropy accumulator');
      const [w, lo, ref, t] = ENTROPY_KEYS.map((k) => s[k] as number);
      // (weight + weightLo is a normalised pair, as toJSON gives it: |weightLo| ≤ half an ulp of weight)
      if (!(w >= 0 && Math.abs(lo) <= w * 2 ** -53 && ref >= 0 && t <= 0)) {
        throw new RangeError(`${fn}: state is not an entropy accumulator's (weight and ref must be ≥ 0, terms ≤ 0, and |weightLo| at most half an ulp of weight)`);
      }
      this.#parts.set([w, lo, ref, t, 0]);
    }
  }

  /** Adds a chunk of non-negative, finite weights or counts (any Vector). */
  add(chunk: Vector): this {
    const fn = 'EntropyAccumulator.add';
    const X = vector(fn, 'chunk', chunk);
    if (X.length === 0) return this;
    const res = new Float64Array(1), aux = new Float64Array(5);
    engineFor(X.length).run('entropyRows', false, [X.data, 1, X.length, 1, res, aux]);
    if (!(aux[4] >= 0) || !Number.isFinite(aux[0])) {
      const d = X.data;
      for (let i = 0; i < X.length; i++) {
        const v = d[i];
        if (!(v >= 0 && v < Infinity)) throw new RangeError(`${fn}: chunk[${i}] is ${v}; weights must be non-negative and finite`);
      }
      throw new RangeError(`${fn}: the chunk's weights sum to ${aux[0]}, past the largest float64`);
    }
    this.#absorb(aux);
    return this;
  }

  /** Merges another accumulator's (or a state's) additions into this one; returns this. */
  merge(other: EntropyAccumulator | EntropyState): this {
    const o = other instanceof EntropyAccumulator ? other.toJSON() : new EntropyAccumulator(other).toJSON();
    this.#absorb(new Float64Array([o.weight, o.weightLo, o.ref, o.terms, 0]));
    return this;
  }

  #absorb(theirs: Float64Array): void {
    if (theirs[0] + theirs[1] === 0) return;
    mergeEntropy([this.#parts, theirs], true, this.#parts);
    if (!Number.isFinite(this.#parts[0])) throw new RangeError('EntropyAccumulator: the total weight is past the largest float64');
  }

  /** The entropy of everything added, normalised by its total weight (0 while no weight has been added). */
  get value(): number {
    const [whi, wlo, ref, a] = this.#parts;
    if (whi + wlo === 0) return 0;
    return entropyValue(whi, wlo, ref, a, 0, true) * this.#scale + 0; // (−0 as 0 below base 1)
  }

  /** The total weight added. */
  get weight(): number {
    return this.#parts[0] + this.#parts[1];
  }

  /** The state: plain JSON, to merge elsewhere or resume with `createEntropy(state)`. */
  toJSON(): EntropyState {
    const [weight, weightLo, ref, terms] = this.#parts;
    return { weight, weightLo, ref, terms };
  }
}

/**
 * A mergeable entropy of streamed weights or counts: `.add(chunk)`, `.merge(other)`,
 * `.value` (`entropy(everything, { normalize: true })`), `.toJSON()`; any chunking and
 * any merge order agree with the one-shot result within the accuracy bounds.  A
 * weight of 0 adds nothing; no weight at all gives 0.
 *
 * @example
 * ```ts
 * import { createEntropy } from 'surprisal';
 * const a = createEntropy(undefined, { base: 2 }).add([1, 1]), b = createEntropy().add([2]);
 * a.merge(b.toJSON()).value; // 1.5 bits = entropy([1, 1, 2], { normalize: true, base: 2 })
 * ```
 */
export function createEntropy(state?: EntropyState, options?: BaseOption): EntropyAccumulator {
  return new EntropyAccumulator(state, options);
}

// ---------------------------------------------------------------------------------
// The class-sharded softmax cross-entropy
// ---------------------------------------------------------------------------------

export interface ShardedLossOptions {
  /** Number of classes in all (the whole row's length). */
  cols: number;
  /** Integer labels, one per row (their count is the number of rows). */
  labels: Labels;
  reduction?: Reduction;
  labelSmoothing?: number;
  ignoreIndex?: number;
  /** Per-class weights, length `cols`. */
  weights?: ArrayLike<number>;
  base?: number;
}

/**
 * The state of a sharded loss: per row the parts of its log-sum-exp, its label's logit,
 * the label-smoothing sum relative to the row's maximum, and what the non-finite logits
 * did.  Every number is finite (JSON has none for ±Infinity and NaN): those are in
 * `special` instead, so the state survives JSON.stringify and JSON.parse exactly.  No
 * number carries the logits' magnitude except `max` and `target`, which are only ever
 * subtracted from each other: logits near ±1e300 neither overflow nor cancel.
 */
export interface ShardedLossState {
  cols: number;
  /** log Σ eᶻ = max + log(ones + rest); null while only −Infinity (masked) logits have been added. */
  max: (number | null)[];
  ones: number[];
  rest: number[];
  /** The label's logit; null until its class is added, and where it is masked (see `special`) or the row is ignored. */
  target: (number | null)[];
  /**
   * Σ w·(max − z) over the classes seen of non-zero weight (with label smoothing; else 0):
   * non-negative, relative to this state's `max` of the row (so Σ w·z itself, which
   * cancels against the maximum where the logits are huge, is never formed).  0 once
   * `special` is set: the loss no longer depends on it.
   */
  smoothing: number[];
  /**
   * 0; 1 once a masked (−Infinity) logit makes the row's loss +Infinity (the label's, or
   * with label smoothing any class of non-zero weight); 2 once a NaN or +Infinity logit
   * makes it NaN.  A merge keeps the larger.
   */
  special: number[];
  /** Classes seen so far (each exactly once). */
  seen: number;
  /** Σ w over the classes seen (the same for every row): what moves `smoothing` when the row's `max` rises. */
  weightSeen: number;
}

const SHARDED_KEYS = ['cols', 'max', 'ones', 'rest', 'target', 'smoothing', 'special', 'seen', 'weightSeen'];

/** A state over `rows` rows and `cols` classes, or a TypeError saying what it is not. */
function checkShardedState(fn: string, state: unknown, rows: number, cols: number): ShardedLossState {
  const bad = (why: string) => new TypeError(`${fn}: other is not a sharded loss over the same ${rows} rows and ${cols} classes (${why})`);
  if (state === null || typeof state !== 'object' || Array.isArray(state)) throw bad(`got ${describe(state)}`);
  const s = state as Record<string, unknown>;
  const got = Object.keys(s).sort().join(', ');
  if (got !== [...SHARDED_KEYS].sort().join(', ')) throw bad(`its keys are ${got || 'none'}; expected ${SHARDED_KEYS.join(', ')}`);
  if (s.cols !== cols) throw bad(`cols is ${describe(s.cols)}`);
  if (!(Number.isInteger(s.seen) && (s.seen as number) >= 0 && (s.seen as number) <= cols)) throw bad(`seen is ${describe(s.seen)}`);
  if (!(typeof s.weightSeen === 'number' && s.weightSeen >= 0 && s.weightSeen < Infinity)) throw bad(`weightSeen is ${describe(s.weightSeen)}`);
  for (const k of ['max', 'ones', 'rest', 'target', 'smoothing', 'special']) {
    const a = s[k];
    if (!Array.isArray(a) || a.length !== rows) throw bad(`${k} is not an array of ${rows}`);
    const nullable = k === 'max' || k === 'target';
    for (let r = 0; r < rows; r++) {
      const v: unknown = a[r];
      const ok = k === 'special' ? v === 0 || v === 1 || v === 2
        : k === 'smoothing' ? typeof v === 'number' && v >= 0 && v < Infinity
          : (nullable && v === null) || (typeof v === 'number' && Number.isFinite(v));
      if (!ok) throw bad(`${k}[${r}] is ${describe(v)}`);
    }
  }
  return s as unknown as ShardedLossState;
}

/**
 * What a smoothing sum Σ w·(from − z) over classes of total weight W gains when its
 * reference rises from `from` to `to` (≥ from): W·(to − from) ≥ 0.  Nothing yet (from =
 * −Infinity) has W = 0 where it matters — a row not special whose classes were all masked
 * has only classes of weight 0 — so it adds 0, as does no rise.
 */
function rebase(W: number, from: number, to: number): number {
  return W === 0 || from === to || from === -Infinity ? 0 : W * (to - from);
}

const SHARDED_OPTIONS = ['cols', 'labels', 'reduction', 'labelSmoothing', 'ignoreIndex', 'weights', 'base'] as const;

/**
 * PyTorch's softmax cross-entropy over a vocabulary split into blocks of classes: the
 * logits of one block at a time (all rows), their parts kept per row and merged across
 * blocks or shards, the loss once every class has been seen, and each block's gradient
 * in a second pass.  See `createSoftmaxCrossEntropy`.
 */
export class ShardedSoftmaxCrossEntropy {
  readonly rows: number;
  readonly cols: number;
  #labels: Int32Array;
  #reduction: Reduction;
  #eps: number;
  #weights: Float64Array | null;
  #wsum: number;
  #scale: number;
  #denominator: number;
  #max: Float64Array;
  #ones: Float64Array;
  #rest: Float64Array;
  // (max: finite, or −Infinity for nothing yet; target: finite, or NaN for not seen;
  // smoothing: finite, ≥ 0, relative to max — see ShardedLossState)
  #target: Float64Array;
  #smoothing: Float64Array;
  #special: Uint8Array;
  #seen = 0;
  #weightSeen = 0;

  constructor(options: ShardedLossOptions) {
    const fn = 'createSoftmaxCrossEntropy';
    if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: options must be an object, got ${describe(options)}`);
    checkOptions(fn, options, SHARDED_OPTIONS);
    const { cols } = options;
    if (typeof cols !== 'number' || !Number.isInteger(cols)) throw new TypeError(`${fn}: cols (the number of classes in all) must be an integer, got ${describe(cols)}`);
    if (cols < 1) throw new RangeError(`${fn}: cols must be at least 1, got ${cols}`);
    const L = vector(fn, 'labels', options.labels);
    this.rows = L.length;
    this.cols = cols;
    this.#reduction = reductionOption(fn, options.reduction);
    this.#eps = labelSmoothingOption(fn, options.labelSmoothing);
    this.#weights = null;
    this.#wsum = cols;
    if (options.weights !== undefined) {
      this.#weights = classWeights(fn, options.weights, cols);
      const s = new Sum();
      for (const w of this.#weights) s.add(w);
      this.#wsum = s.value();
    }
    this.#scale = baseScale(fn, options.base);
    const ignore = options.ignoreIndex;
    if (ignore !== undefined && !(typeof ignore === 'number' && Number.isInteger(ignore))) throw new TypeError(`${fn}: ignoreIndex must be an integer, got ${describe(ignore)}`);
    this.#labels = new Int32Array(this.rows);
    let denominator = 0;
    for (let r = 0; r < this.rows; r++) {
      const y = L.data[r];
      if (y === ignore) {
        this.#labels[r] = -1;
        continue;
      }
      if (!Number.isInteger(y) || y < 0 || y >= cols) {
        throw new RangeError(`${fn}: label at row ${r} is ${y}, ${Number.isInteger(y) ? `outside [0, ${cols})${ignore === undefined ? '' : ` and not ignoreIndex (${ignore})`}` : 'not an integer class index'}`);
      }
      this.#labels[r] = y;
      denominator += this.#weights ? this.#weights[y] : 1;
    }
    this.#denominator = denominator;
    this.#max = new Float64Array(this.rows).fill(-Infinity);
    this.#ones = new Float64Array(this.rows);
    this.#rest = new Float64Array(this.rows);
    this.#target = new Float64Array(this.rows).fill(NaN);
    this.#smoothing = new Float64Array(this.rows);
    this.#special = new Uint8Array(this.rows);
  }

  /** The block's logits (rows × width, row-major) and where its classes start. */
  #block(fn: string, logits: Vector, offset: unknown): { Z: Arg; width: number; offset: number } {
    const Z = vector(fn, 'logits', logits);
    if (typeof offset !== 'number' || !Number.isInteger(offset)) throw new TypeError(`${fn}: offset (the block's first class) must be an integer, got ${describe(offset)}`);
    if (this.rows === 0 || Z.length % this.rows !== 0) throw new RangeError(`${fn}: logits length ${Z.length} is not a multiple of the ${this.rows} rows`);
    const width = Z.length / this.rows;
    if (offset < 0 || offset + width > this.cols) throw new RangeError(`${fn}: classes [${offset}, ${offset + width}) are not within [0, ${this.cols})`);
    return { Z, width, offset };
  }

  /**
   * Adds a block of classes [offset, offset + width) for every row: logits of rows ×
   * width, row-major.  Each class must be added once, by one accumulator or another.
   */
  add(logits: Vector, offset: number): this {
    const fn = 'ShardedSoftmaxCrossEntropy.add';
    const { Z, width } = this.#block(fn, logits, offset);
    const rows = this.rows;
    const res = new Float64Array(rows), aux = new Float64Array(3 * rows);
    engineFor(Z.length).run('logSumExpRows', Z.dtype === 'f32', [Z.data, rows, width, res, aux, null]);
    const w = this.#weights, eps = this.#eps, d = Z.data;
    for (let r = 0; r < rows; r++) {
      // (a NaN or +Infinity logit makes the one-shot row NaN, loss and gradient; a kernel may
      // keep a finite max beside a NaN, so the log-sum-exp tells)
      const v = res[r], old = this.#max[r];
      if (v !== v || v === Infinity) this.#special[r] = 2;
      else this.#absorb(r, aux[3 * r], aux[3 * r + 1], aux[3 * r + 2]);
      const y = this.#labels[r];
      if (y >= offset && y < offset + width) {
        const z = d[r * width + y - offset];
        if (Number.isFinite(z)) this.#target[r] = z;
        // a masked label of weight 0 counts nothing (its term is skipped, as the kernel's)
        else if (z === -Infinity && (w ? w[y] : 1) !== 0) this.#special[r] = Math.max(this.#special[r], 1);
      }
      if (eps > 0 && this.#special[r] === 0) {
        // every term w·(M − z) ≥ 0 against the row's maximum M (NaN and +Infinity made the row
        // special above; M is finite unless every logit so far is masked)
        const M = this.#max[r];
        let s = 0, masked = false;
        for (let j = 0; j < width; j++) {
          const wc = w ? w[offset + j] : 1;
          if (wc === 0) continue;
          const z = d[r * width + j];
          if (z === -Infinity) masked = true;
          else s += wc * (M - z);
        }
        if (masked) this.#special[r] = 1;
        else this.#setSmoothing(r, this.#smoothing[r] + rebase(this.#weightSeen, old, M) + s);
      }
      if (this.#special[r] !== 0) this.#smoothing[r] = 0;
    }
    let ws = width;
    if (w) {
      ws = 0;
      for (let j = 0; j < width; j++) ws += w[offset + j];
    }
    this.#weightSeen += ws;
    this.#seen += width;
    return this;
  }

  /**
   * Row r's smoothing sum, once moved to its current maximum: past the largest double
   * (Σ w·(M − z) overflows, as the one-shot Σ w·(z − M) does) the loss is +Infinity.
   */
  #setSmoothing(r: number, v: number): void {
    if (v < Infinity) this.#smoothing[r] = v;
    else this.#special[r] = Math.max(this.#special[r], v === Infinity ? 1 : 2);
  }

  /** A finite (m, ones, rest) into row r's log-sum-exp parts (m = −Infinity: nothing). */
  #absorb(r: number, m: number, ones: number, rest: number): void {
    if (m === -Infinity) return;
    const mine = this.#max[r];
    const M = Math.max(mine, m);
    const a = mine === M ? [this.#ones[r], this.#rest[r]] : [0, (this.#ones[r] + this.#rest[r]) * Math.exp(mine - M)];
    const b = m === M ? [ones, rest] : [0, (ones + rest) * Math.exp(m - M)];
    this.#max[r] = M;
    this.#ones[r] = a[0] + b[0];
    this.#rest[r] = a[1] + b[1];
  }

  /** Merges another shard's blocks (an accumulator over the same rows and labels, or its state); returns this. */
  merge(other: ShardedSoftmaxCrossEntropy | ShardedLossState): this {
    const fn = 'ShardedSoftmaxCrossEntropy.merge';
    const s = checkShardedState(fn, other instanceof ShardedSoftmaxCrossEntropy ? other.toJSON() : other, this.rows, this.cols);
    for (let r = 0; r < this.rows; r++) {
      this.#special[r] = Math.max(this.#special[r], s.special[r]);
      const m = s.max[r], t = s.target[r], old = this.#max[r];
      if (m !== null) this.#absorb(r, m, s.ones[r], s.rest[r]);
      if (t !== null) this.#target[r] = t;
      if (this.#eps > 0 && this.#special[r] === 0) {
        // both sums moved to the merged maximum: non-negative terms, nothing cancels
        const M = this.#max[r];
        this.#setSmoothing(r, this.#smoothing[r] + rebase(this.#weightSeen, old, M) + s.smoothing[r] + rebase(s.weightSeen, m ?? -Infinity, M));
      }
      if (this.#special[r] !== 0) this.#smoothing[r] = 0;
    }
    this.#weightSeen += s.weightSeen;
    this.#seen += s.seen;
    return this;
  }

  /** The per-row losses in nats, or a row's log-sum-exp when `lse` (every class must have been seen). */
  #rowLosses(fn: string): { loss: Float64Array; lse: Float64Array } {
    if (this.#seen !== this.cols) throw new RangeError(`${fn}: ${this.#seen} of the ${this.cols} classes have been added; every class is needed, once`);
    const rows = this.rows, C = this.cols, eps = this.#eps, wsum = this.#wsum, w = this.#weights;
    const loss = new Float64Array(rows), lse = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const m = this.#max[r], y = this.#labels[r], special = this.#special[r];
      // a row with no finite maximum (only masked logits, or a NaN or +Infinity one) is NaN, as the kernel's
      const defined = special !== 2 && m !== -Infinity;
      lse[r] = defined ? m + logOnesPlus(this.#ones[r], this.#rest[r]) : NaN;
      if (y < 0) continue;
      if (!defined || special === 1) {
        loss[r] = defined ? Infinity : NaN;
        continue;
      }
      const wy = w ? w[y] : 1;
      // lse − z = (m − z) + log S: the difference of the maximum and the label's logit first
      const ls = logOnesPlus(this.#ones[r], this.#rest[r]);
      let v = wy !== 0 ? (1 - eps) * wy * (m - this.#target[r] + ls) : 0;
      // (ε/C)·Σ w·(lse − z) = (ε/C)·(wsum·log S + Σ w·(M − z)): M cancels exactly, in the algebra
      if (eps > 0) v += (eps / C) * (wsum * ls + this.#smoothing[r]);
      loss[r] = v;
    }
    return { loss, lse };
  }

  /** The loss (in the chosen base) as `softmaxCrossEntropy` on the whole matrix gives it: a number, or one per row for 'none'. */
  get loss(): number | Float64Array {
    const { loss } = this.#rowLosses('ShardedSoftmaxCrossEntropy.loss');
    for (let r = 0; r < loss.length; r++) loss[r] = loss[r] * this.#scale + 0; // (−0 as 0 below base 1)
    if (this.#reduction === 'none') return loss;
    const s = new Sum();
    for (const v of loss) s.add(v);
    if (this.#reduction === 'sum') return s.value();
    return this.#denominator !== 0 ? s.value() / this.#denominator : 0;
  }

  /**
   * ∂loss/∂logits for one block (the same logits and offset as added) into `grad` (a
   * float array of the block's length): the second pass, once every class is in.
   */
  gradient(logits: Vector, offset: number, grad: FloatArray): FloatArray {
    const fn = 'ShardedSoftmaxCrossEntropy.gradient';
    const { Z, width } = this.#block(fn, logits, offset);
    if (!(grad instanceof Float32Array || grad instanceof Float64Array) || grad.length !== Z.length) {
      throw new TypeError(`${fn}: grad must be a Float32Array or Float64Array of the block's length ${Z.length}, got ${describe(grad)}`);
    }
    const { lse } = this.#rowLosses(fn);
    const rows = this.rows, C = this.cols, eps = this.#eps, w = this.#weights, f32 = Z.dtype === 'f32';
    const gs = (this.#reduction === 'mean' ? (this.#denominator !== 0 ? 1 / this.#denominator : 0) : 1) * this.#scale;
    // p = exp(z − lse): the block's softmax times S_block·exp(m_block − lse), per row
    const aux = new Float64Array(3 * rows), p = f32 ? new Float32Array(Z.length) : new Float64Array(Z.length);
    engineFor(Z.length).run('softmaxRows', f32, [Z.data, rows, width, 1, p, aux, null]);
    const a = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const y = this.#labels[r];
      if (y < 0) continue; // ignored rows: 0
      const wy = w ? w[y] : 1;
      const coef = ((1 - eps) * wy + (eps * this.#wsum) / C) * gs;
      // a block masked whole in this row has softmax 0 there (p = 0, a = 0): only the row's lse being undefined makes it NaN
      // (exp((m − M) − log S), not exp(m − lse): lse = M + log S rounds to M where |M| ≫ 1, as 1e300)
      const m = aux[3 * r];
      a[r] = lse[r] !== lse[r] ? NaN : m === -Infinity ? 0 : aux[3 * r + 2] * Math.exp(m - this.#max[r] - logOnesPlus(this.#ones[r], this.#rest[r])) * coef;
    }
    // grad = p·a − (ε/C)·w_c·g, then − (1 − ε)·w_y·g at the label
    const c = eps > 0 ? Float64Array.from({ length: width }, (_, j) => (eps / C) * (w ? w[offset + j] : 1) * gs) : null;
    engineFor(Z.length).run('scaleRows', f32, [p, rows, width, a, c, grad]);
    for (let r = 0; r < rows; r++) {
      const y = this.#labels[r];
      if (y < 0) {
        grad.fill(0, r * width, (r + 1) * width);
        continue;
      }
      if (y >= offset && y < offset + width) grad[r * width + y - offset] -= (1 - eps) * (w ? w[y] : 1) * gs;
    }
    return grad;
  }

  /** The state: plain JSON (finite numbers, null for "nothing yet", codes for the rest: see `ShardedLossState`), to merge elsewhere. */
  toJSON(): ShardedLossState {
    const fin = (v: number) => (Number.isFinite(v) ? v : null);
    return {
      cols: this.cols,
      max: Array.from(this.#max, fin),
      ones: Array.from(this.#ones),
      rest: Array.from(this.#rest),
      target: Array.from(this.#target, fin),
      smoothing: Array.from(this.#smoothing),
      special: Array.from(this.#special),
      seen: this.#seen,
      weightSeen: this.#weightSeen,
    };
  }
}

/**
 * The vocabulary-parallel softmax cross-entropy of large-vocabulary models (Megatron-LM's):
 * the logits arrive one block of classes at a time — `add(block, offset)`, rows × width,
 * from any shard — and `loss` equals `softmaxCrossEntropy` on the whole rows × cols matrix
 * (PyTorch's semantics: reduction, labelSmoothing, ignoreIndex, weights, base); shards
 * `merge`; `gradient(block, offset, grad)` gives each block's ∂loss/∂logits in a second pass.
 *
 * @example
 * ```ts
 * import { createSoftmaxCrossEntropy } from 'surprisal';
 * const ce = createSoftmaxCrossEntropy({ cols: 4, labels: [3] });
 * ce.add([0, 1], 0).add([2, 3], 2);
 * ce.loss; // 0.44018969856119533 = softmaxCrossEntropy([0, 1, 2, 3], [3], { cols: 4 })
 * ```
 */
export function createSoftmaxCrossEntropy(options: ShardedLossOptions): ShardedSoftmaxCrossEntropy {
  return new ShardedSoftmaxCrossEntropy(options);
}

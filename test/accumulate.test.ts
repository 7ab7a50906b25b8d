// The mergeable accumulators (src/accumulate.ts): any chunking of the input and any tree
// of merges (through JSON, as shards in other workers would send them) give the one-shot
// function's result within its accuracy bound — fast-check properties over random
// splits and merge orders — plus exact values, special entries, state checks and errors.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import {
  createEntropy, createLogSumExp, createSoftmaxCrossEntropy, entropy, logSumExp, softmaxCrossEntropy,
  type EntropyAccumulator, type LogSumExpAccumulator, type ShardedLossOptions, type ShardedSoftmaxCrossEntropy,
} from '../src/index.js';
import { expectClose, fsum, onEachBackend, randomLogits, rng } from './helpers.js';

const RUNS = Number(process.env.FC_RUNS ?? 60);

/** Cuts [0, n) at the given points (sorted, deduplicated) into consecutive pieces. */
function pieces(n: number, cuts: number[]): [number, number][] {
  const at = [...new Set(cuts.map((c) => c % (n + 1)))].sort((a, b) => a - b);
  const out: [number, number][] = [];
  let from = 0;
  for (const c of [...at, n]) {
    out.push([from, c]);
    from = c;
  }
  return out;
}

/** Merges accumulators pairwise in the order `order` picks (indices into what is left), each through JSON. */
function mergeTree<A extends { merge(o: never): A; toJSON(): unknown }>(accs: A[], order: number[]): A {
  const left = [...accs];
  let k = 0;
  while (left.length > 1) {
    const i = order[k++ % order.length] % (left.length - 1);
    const [a, b] = left.splice(i, 2);
    left.splice(i, 0, a.merge(JSON.parse(JSON.stringify(b)) as never));
  }
  return left[0];
}

const splits = fc.record({ cuts: fc.array(fc.nat(), { maxLength: 12 }), order: fc.array(fc.nat(), { minLength: 1, maxLength: 12 }), seed: fc.nat() });

onEachBackend('createLogSumExp', () => {
  it('any chunking and merge tree gives logSumExp of everything (float64 and float32)', () => {
    fc.assert(
      fc.property(splits, fc.integer({ min: 1, max: 3000 }), fc.boolean(), ({ cuts, order, seed }, n, f32) => {
        const x = randomLogits(n, rng(seed), f32 ? Float32Array : Float64Array, 20);
        const accs = pieces(n, cuts).map(([a, b]) => createLogSumExp().add(x.subarray(a, b)));
        const got = mergeTree<LogSumExpAccumulator>(accs, order).value;
        // float32 chunks are computed in float32 lanes: the float32 bound on the whole
        expectClose(got, logSumExp(x), f32 ? 'f32' : 'f64');
      }),
      { numRuns: RUNS },
    );
  });

  it('exact values, the empty accumulator, −Infinity, +Infinity and NaN', () => {
    expect(createLogSumExp().value).toBe(-Infinity);
    expect(createLogSumExp().add([]).toJSON()).toEqual({ max: null, ones: 0, rest: 0, special: 0 });
    // log(e⁰ + e⁰) = ln 2 exactly rounded
    expect(createLogSumExp().add([0]).merge(createLogSumExp().add([0])).value).toBe(Math.LN2);
    expect(createLogSumExp().add([-Infinity]).add([-Infinity]).value).toBe(-Infinity);
    expect(createLogSumExp().add([1, Infinity]).add([2]).value).toBe(Infinity);
    expect(createLogSumExp().add([1, NaN]).merge(createLogSumExp().add([Infinity])).value).toBeNaN();
    // log(e^1000 + e^1000) without overflow
    expect(createLogSumExp().add([1000]).add(new Float32Array([1000])).value).toBe(1000 + Math.LN2);
  });

  it('resumes a state and rejects what is not one', () => {
    const a = createLogSumExp().add([1, 2, 3]);
    expect(createLogSumExp(JSON.parse(JSON.stringify(a))).add([4]).value).toBeCloseTo(logSumExp([1, 2, 3, 4]), 14);
    expect(() => createLogSumExp({ max: 1 } as never)).toThrow(/createLogSumExp: state is not a log-sum-exp accumulator's/);
    expect(() => createLogSumExp({ max: 'x', ones: 1, rest: 0, special: 0 } as never)).toThrow(TypeError);
    expect(() => createLogSumExp().add('abc' as never)).toThrow(TypeError);
  });
});

onEachBackend('createEntropy', () => {
  it('any chunking and merge tree gives entropy(everything, { normalize: true })', () => {
    fc.assert(
      fc.property(splits, fc.integer({ min: 1, max: 3000 }), fc.boolean(), ({ cuts, order, seed }, n, counts) => {
        const random = rng(seed);
        const w = Float64Array.from({ length: n }, () => (counts ? Math.floor(random() * 50) : random() * 1e-3));
        if (fsum(w) === 0) w[0] = 1;
        const accs = pieces(n, cuts).map(([a, b]) => createEntropy().add(w.subarray(a, b)));
        const got = mergeTree<EntropyAccumulator>(accs, order).value;
        expectClose(got, entropy(w, { normalize: true }), 'f64');
      }),
      { numRuns: RUNS },
    );
  });

  it('a uniform stream of 10⁶ counts in 1000 chunks is log n to the last bits', () => {
    const acc = createEntropy();
    const chunk = new Float32Array(1000).fill(7);
    for (let i = 0; i < 1000; i++) acc.add(chunk);
    expect(Math.abs(acc.value - Math.log(1e6))).toBeLessThanOrEqual(2e-15);
    expect(acc.weight).toBe(7e6);
  });

  it('exact values: bits, zeros, the empty accumulator', () => {
    // H(¼, ¼, ½) = 1.5 bits (ln 2 · 1.5 / ln 2: within an ulp)
    const a = createEntropy(undefined, { base: 2 }).add([1, 1]).merge(createEntropy().add([0, 2, 0]));
    expect(Math.abs(a.value - 1.5)).toBeLessThanOrEqual(2 ** -51);
    expect(createEntropy().value).toBe(0);
    expect(createEntropy().add([0, 0]).value).toBe(0);
    expect(createEntropy().add([5]).value).toBe(0);
  });

  it('bad weights and states are errors naming them', () => {
    expect(() => createEntropy().add([1, -2])).toThrow(/EntropyAccumulator.add: chunk\[1\] is -2; weights must be non-negative and finite/);
    expect(() => createEntropy().add([1, NaN])).toThrow(RangeError);
    expect(() => createEntropy().add([Infinity])).toThrow(RangeError);
    expect(() => createEntropy(undefined, { bsae: 2 } as never)).toThrow(/unknown option 'bsae' \(did you mean 'base'\?\)/);
    expect(() => createEntropy({ weight: 1 } as never)).toThrow(TypeError);
    expect(() => createEntropy({ weight: -1, weightLo: 0, ref: 1, terms: 0 })).toThrow(RangeError);
    // weightLo is the low half of a normalised pair: at most half an ulp of weight (2⁻⁵³·weight here, 2⁵³ + 2 being a double)
    expect(createEntropy({ weight: 2 ** 53 + 2, weightLo: 1, ref: 1, terms: 0 }).toJSON().weightLo).toBe(1);
    for (const weightLo of [1.5, -1.5, 1e300]) {
      expect(() => createEntropy({ weight: 2 ** 53 + 2, weightLo, ref: 1, terms: 0 })).toThrow(/state is not an entropy accumulator's .*weightLo/);
    }
    expect(() => createEntropy({ weight: 0, weightLo: 1e-300, ref: 0, terms: 0 })).toThrow(RangeError);
    // a state from toJSON after many merges passes (its pair is normalised)
    const big = createEntropy();
    for (let i = 0; i < 50; i++) big.merge(createEntropy().add([2 ** 52 + i, 1, 0.1 * i]));
    expect(createEntropy(big.toJSON()).toJSON()).toEqual(big.toJSON());
    // a failed add leaves the accumulator as it was
    const acc = createEntropy().add([1, 3]);
    const before = acc.toJSON();
    expect(() => acc.add([2, -1])).toThrow(RangeError);
    expect(acc.toJSON()).toEqual(before);
  });
});

onEachBackend('createSoftmaxCrossEntropy', () => {
  const modes = [
    { reduction: 'mean' as const },
    { reduction: 'none' as const, labelSmoothing: 0.1 },
    { reduction: 'sum' as const, ignoreIndex: 2 },
  ];

  it('blocks of classes in any order and any merge tree give the one-shot loss and gradient', () => {
    fc.assert(
      fc.property(splits, fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 300 }), fc.constantFrom(...modes),
        ({ cuts, order, seed }, rows, cols, mode) => {
          const random = rng(seed);
          const z = randomLogits(rows * cols, random, Float64Array, 5);
          const labels = Int32Array.from({ length: rows }, () => Math.floor(random() * cols));
          const want = softmaxCrossEntropy(z, labels, { cols, ...mode }) as number | Float64Array;
          const blocks = pieces(cols, cuts).filter(([a, b]) => b > a);
          const block = (a: number, b: number) => {
            const out = new Float64Array(rows * (b - a));
            for (let r = 0; r < rows; r++) out.set(z.subarray(r * cols + a, r * cols + b), r * (b - a));
            return out;
          };
          const accs = blocks.map(([a, b]) => createSoftmaxCrossEntropy({ cols, labels, ...mode }).add(block(a, b), a));
          const acc = mergeTree(accs, order);
          const got = acc.loss;
          if (typeof want === 'number') expectClose(got as number, want, 'f64');
          else for (let r = 0; r < rows; r++) expectClose((got as Float64Array)[r], want[r], 'f64');
          // the gradient of each block, beside the one-shot gradient's columns
          const full = new Float64Array(rows * cols);
          softmaxCrossEntropy(z, labels, { cols, ...mode, grad: full });
          for (const [a, b] of blocks) {
            const g = acc.gradient(block(a, b), a, new Float64Array(rows * (b - a)));
            for (let r = 0; r < rows; r++) {
              for (let j = a; j < b; j++) expect(Math.abs(g[r * (b - a) + j - a] - full[r * cols + j])).toBeLessThanOrEqual(4e-15);
            }
          }
        }),
      { numRuns: RUNS },
    );
  });

  it('a block whose logits in a row are all −Infinity (masked) has a 0 gradient there, as the one-shot call', () => {
    const ce = createSoftmaxCrossEntropy({ cols: 4, labels: [3] }).add([-Infinity, -Infinity], 0).add([1, 2], 2);
    expect(Array.from(ce.gradient([-Infinity, -Infinity], 0, new Float64Array(2)))).toEqual([0, 0]);
    expect(Array.from(ce.gradient(new Float32Array([-Infinity, -Infinity]), 0, new Float32Array(2)))).toEqual([0, 0]);
    agreesWithOneShot(Float64Array.from([-Infinity, -Infinity, 1, 2]), 4, { cols: 4, labels: [3] }, [[0, 2], [2, 4]]);
    // 64 rows, blocks of 100 classes and one of a single class: a block masked whole in
    // some rows, the one-class block masked in others, masked entries scattered, and (with
    // 'none') masked labels and a row masked whole (NaN, as the one-shot call)
    const rows = 64, cols = 201, blocks: [number, number][] = [[0, 100], [100, 101], [101, 201]];
    const weights = Float64Array.from({ length: cols }, (_, c) => (c % 13 === 0 ? 0 : 1 + (c % 3)));
    for (const mode of [...modes, { reduction: 'mean' as const, labelSmoothing: 0.2, weights }]) {
      for (const Type of [Float64Array, Float32Array]) {
        const random = rng(7);
        const z = randomLogits(rows * cols, random, Type, 5);
        const labels = Int32Array.from({ length: rows }, () => Math.floor(random() * cols));
        for (let r = 0; r < rows; r++) {
          for (let j = 0; j < cols; j++) {
            const masked = (r % 4 === 0 && j >= 101) || (r % 5 === 1 && j === 100) || random() < 0.1;
            if (masked && (j !== labels[r] || mode.reduction === 'none')) z[r * cols + j] = -Infinity;
          }
        }
        if (mode.reduction === 'none') z.fill(-Infinity, (rows - 1) * cols);
        agreesWithOneShot(z, cols, { cols, labels, ...mode }, blocks);
      }
    }
  });

  it('the state survives JSON exactly: masked, NaN and +Infinity logits merge from a state as from the accumulator', () => {
    const opts = { cols: 4, labels: [3], labelSmoothing: 0.1 };
    const a = createSoftmaxCrossEntropy(opts).add([-Infinity, 1], 0), b = createSoftmaxCrossEntropy(opts).add([2, 3], 2);
    expect(softmaxCrossEntropy([-Infinity, 1, 2, 3], [3], { cols: 4, labelSmoothing: 0.1 })).toBe(Infinity);
    expect(createSoftmaxCrossEntropy(opts).merge(JSON.parse(JSON.stringify(a.toJSON()))).merge(b).loss).toBe(Infinity);
    for (const row of [[-Infinity, 1, 2, 3], [NaN, 1, 2, 3], [Infinity, 1, 2, 3], [1, 2, -Infinity, -Infinity], [-Infinity, -Infinity, -Infinity, -Infinity]]) {
      for (const mode of [{}, { labelSmoothing: 0.1 }, { labelSmoothing: 0.1, weights: [0, 1, 2, 1] }, { labels: [0] }, { labels: [2], reduction: 'sum' as const }]) {
        agreesWithOneShot(Float64Array.from(row), 4, { cols: 4, labels: [3], ...mode }, [[0, 2], [2, 4]]);
        agreesWithOneShot(Float64Array.from(row), 4, { cols: 4, labels: [3], ...mode }, [[0, 1], [1, 3], [3, 4]]);
      }
    }
  });

  it('a masked label gives Infinity in any merge order (its logit is not "not seen yet")', () => {
    const opts = { cols: 4, labels: [0] };
    expect(softmaxCrossEntropy([-Infinity, 1, 2, 3], [0], { cols: 4 })).toBe(Infinity);
    const mk = () => [createSoftmaxCrossEntropy(opts).add([-Infinity, 1], 0), createSoftmaxCrossEntropy(opts).add([2, 3], 2)];
    const [a, b] = mk(), [c, d] = mk();
    expect(a.merge(b).loss).toBe(Infinity);
    expect(d.merge(c).loss).toBe(Infinity);
    everyMerge(opts, mk, (acc, how) => expect(acc.loss, how).toBe(Infinity));
    agreesWithOneShot(Float64Array.from([-Infinity, 1, 2, 3]), 4, opts, [[0, 2], [2, 4]]);
    // a masked label of weight 0 counts nothing: a finite loss
    agreesWithOneShot(Float64Array.from([-Infinity, 1, 2, 3, 0, -Infinity, 1, 2]), 4, { cols: 4, labels: [0, 1], weights: [0, 1, 1, 1], reduction: 'sum' }, [[0, 1], [1, 2], [2, 4]]);
  });

  // Bug: a block's gradient scaled its softmax by exp(m_block − lse), and lse = M + log 2 rounds
  // to M at 1e300: the two blocks of [1e300, 1e300] got 0 and 1 instead of −½ and ½.
  it('gradients of logits near ±1e300 are the one-shot call\'s (relative to the row maximum, not to its log-sum-exp)', () => {
    for (const big of [1e300, -1e300, 1e15]) {
      const acc = createSoftmaxCrossEntropy({ cols: 2, labels: [0] }).add([big], 0).add([big], 1);
      const g0 = acc.gradient([big], 0, new Float64Array(1)), g1 = acc.gradient([big], 1, new Float64Array(1));
      expect([g0[0], g1[0]], `[${big}, ${big}]`).toEqual([-0.5, 0.5]);
      expect(acc.loss).toBe(Math.LN2);
    }
  });

  // Bug: the label-smoothing term was (ε/C)·(wsum·(M + log S) − Σ w·z), and at 1e300 (or
  // 1e15 with small differences) the two products cancel: [1e300, 1e300] gave 0.6238… for ln 2.
  it('label smoothing with logits near ±1e300 and 1e15 gives the one-shot loss (relative to the row maximum, not Σ w·z)', () => {
    expect(createSoftmaxCrossEntropy({ cols: 2, labels: [0], labelSmoothing: 0.1 }).add([1e300], 0).add([1e300], 1).loss).toBe(Math.LN2);
    const u = 2 ** 945; // the spacing of the doubles at 1e300: differences of a few of them are huge
    const z = Float64Array.from([
      1e300, 1e300, 1e300, 1e300,
      -1e300, -1e300, -1e300, -1e300,
      1e15, 1e15 + 1, 1e15 - 2, 1e15 + 3,
      -1e15 - 0.5, -1e15, -1e15 + 2.5, -1e15 + 1,
      1e300, 1e300 + u, 1e300 - u, 1e300,
      1e300, -1e300, 5e299, 1e300,
      1e300, 1, -1e300, 0,
      1e15, -Infinity, 1e15 + 1, 1e15,
    ]);
    const labels = [0, 3, 1, 2, 2, 3, 1, 2];
    const blockings: [number, number][][] = [[[0, 1], [1, 3], [3, 4]], [[0, 2], [2, 4]], [[0, 3], [3, 4]]];
    for (const mode of [
      { labelSmoothing: 0.1, reduction: 'none' as const },
      { labelSmoothing: 0.3, reduction: 'none' as const, weights: [1, 3, 0.25, 2] },
      { labelSmoothing: 0.2, reduction: 'none' as const, weights: [0, 1, 2, 0.5] },
      { labelSmoothing: 0.1, weights: [2, 0.5, 1, 1], base: 2 },
      { labelSmoothing: 0.05, reduction: 'sum' as const, ignoreIndex: 3 },
    ]) {
      for (const blocks of blockings) agreesWithOneShot(z, 4, { cols: 4, labels, ...mode }, blocks);
    }
  });

  it('label smoothing: any chunking and merge tree of logits offset by ±1e15 or ±1e300 gives the one-shot loss', () => {
    fc.assert(
      fc.property(splits, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 200 }), fc.constantFrom(1e15, -1e15, 1e300, -1e300, 1e200),
        fc.boolean(), ({ cuts, order, seed }, rows, cols, shift, weighted) => {
          const random = rng(seed);
          const z = randomLogits(rows * cols, random, Float64Array, 5);
          // half the rows around the offset, the others around 0: a row's maximum rises by it when a block arrives
          for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) if (r % 2 === 0 || random() < 0.2) z[r * cols + j] += shift;
          const labels = Int32Array.from({ length: rows }, () => Math.floor(random() * cols));
          const weights = weighted ? Float64Array.from({ length: cols }, () => (random() < 0.2 ? 0 : 4 * random())) : undefined;
          const mode = { cols, labelSmoothing: 0.25, reduction: 'none' as const, weights };
          const want = softmaxCrossEntropy(z, labels, mode) as Float64Array;
          const accs = pieces(cols, cuts).filter(([a, b]) => b > a)
            .map(([a, b]) => createSoftmaxCrossEntropy({ ...mode, labels }).add(columns(z, rows, cols, a, b), a));
          const got = mergeTree(accs, order).loss as Float64Array;
          for (let r = 0; r < rows; r++) expectClose(got[r], want[r], 'f64', Math.abs(want[r]), `row ${r}`);
        }),
      { numRuns: RUNS },
    );
  });

  it('the loss before every class is in, twice the same class, and a block outside the row are errors', () => {
    const acc = createSoftmaxCrossEntropy({ cols: 4, labels: [1] });
    acc.add([0, 1], 0);
    expect(() => acc.loss).toThrow(/2 of the 4 classes have been added/);
    expect(() => acc.add([1, 2, 3], 2)).toThrow(/classes \[2, 5\) are not within \[0, 4\)/);
    expect(() => createSoftmaxCrossEntropy({ cols: 4, labels: [4] })).toThrow(/label at row 0 is 4, outside \[0, 4\)/);
    expect(() => createSoftmaxCrossEntropy({ cols: 2, labels: [1], weights: [1, -0.5] })).toThrow(new RangeError('createSoftmaxCrossEntropy: weights[1] is -0.5; weights must be finite and non-negative'));
    // null is the wrong type, not the default (as every function's options)
    expect(() => createSoftmaxCrossEntropy({ cols: 4, labels: [1], reduction: null as never })).toThrow(new TypeError("createSoftmaxCrossEntropy: reduction must be 'mean', 'sum' or 'none', got null"));
    expect(() => createSoftmaxCrossEntropy({ cols: 4, labels: [1], labelSmoothing: null as never })).toThrow(new TypeError('createSoftmaxCrossEntropy: labelSmoothing must be a number, got null'));
    expect(() => createSoftmaxCrossEntropy({ cols: 4, labels: [1], reduction: 'avg' as never })).toThrow(RangeError);
    // a state is checked whole: a state of before `special` (its ±Infinity lost as null) is not one
    const state = createSoftmaxCrossEntropy({ cols: 4, labels: [1] }).add([0, 1], 0).toJSON();
    const merge = (s: unknown) => () => createSoftmaxCrossEntropy({ cols: 4, labels: [1] }).merge(s as never);
    const { special: _, ...before } = state;
    expect(merge(before)).toThrow(/other is not a sharded loss over the same 1 rows and 4 classes \(its keys are/);
    expect(merge({ ...state, smoothing: [null] })).toThrow(/\(smoothing\[0\] is null\)/);
    expect(merge({ ...state, smoothing: [-1] })).toThrow(/\(smoothing\[0\] is number -1\)/);
    expect(merge({ ...state, weightSeen: Infinity })).toThrow(/\(weightSeen is /);
    // a state of before the smoothing sum was kept relative to the row maximum (Σ w·z, which cancels at 1e300) is not one
    const { smoothing: _s, weightSeen: _w, ...sums } = state;
    expect(merge({ ...sums, weighted: [0] })).toThrow(/its keys are cols, max, ones, rest, seen, special, target, weighted; expected/);
    expect(merge({ ...state, rest: [Infinity] })).toThrow(TypeError);
    expect(merge({ ...state, special: [3] })).toThrow(TypeError);
    expect(merge({ ...state, max: [1, 2] })).toThrow(/max is not an array of 1/);
    expect(merge({ ...state, cols: 5 })).toThrow(/\(cols is number 5\)/);
    expect(merge(null)).toThrow(TypeError);
  });
});

/** Columns [a, b) of a rows × cols matrix, row-major, in its own array of z's type. */
function columns(z: Float32Array | Float64Array, rows: number, cols: number, a: number, b: number): Float32Array | Float64Array {
  const out = new (z.constructor as Float64ArrayConstructor)(rows * (b - a));
  for (let r = 0; r < rows; r++) out.set(z.subarray(r * cols + a, r * cols + b), r * (b - a));
  return out;
}

/** Every order of n shards (all permutations). */
function orders(n: number): number[][] {
  if (n === 1) return [[0]];
  return orders(n - 1).flatMap((o) => Array.from({ length: n }, (_, i) => [...o.slice(0, i), n - 1, ...o.slice(i)]));
}

/**
 * The shards `make()` gives merged in every order, each way: into a fresh accumulator,
 * into the first shard, and through JSON (each state stringified and parsed, and the
 * merged state once more) — `check` sees each result.  Every state survives JSON exactly.
 */
function everyMerge(opts: ShardedLossOptions, make: () => ShardedSoftmaxCrossEntropy[], check: (acc: ShardedSoftmaxCrossEntropy, how: string) => void): void {
  const json = <T>(s: T): T => JSON.parse(JSON.stringify(s)) as T;
  const fresh = () => createSoftmaxCrossEntropy(opts);
  for (const order of orders(make().length)) {
    for (const via of ['live', 'state', 'json'] as const) {
      const shards = make();
      for (const s of shards) expect(json(s.toJSON())).toEqual(s.toJSON());
      const pick = (i: number) => (via === 'live' ? shards[i] : via === 'state' ? shards[i].toJSON() : json(shards[i].toJSON()));
      const into = fresh();
      for (const i of order) into.merge(pick(i));
      check(into, `fresh ← [${order}] (${via})`);
      const again = fresh().merge(json(into.toJSON()));
      expect(again.toJSON()).toEqual(into.toJSON());
      check(again, `fresh ← json(fresh ← [${order}]) (${via})`);
      const [head, ...tail] = order;
      const first = make()[head];
      for (const i of tail) first.merge(pick(i));
      check(first, `${head} ← [${tail}] (${via})`);
    }
  }
}

/**
 * The shards of z's column blocks (one accumulator each), merged every way (`everyMerge`),
 * give the one-shot loss and, block by block, its gradient: NaN where it is NaN, else
 * within `tol` of it (float32: relative to the largest entry of the one-shot gradient).
 */
function agreesWithOneShot(z: Float32Array | Float64Array, cols: number, opts: ShardedLossOptions, blocks: [number, number][]): void {
  const { labels, ...rest } = opts;
  const rows = labels.length, f32 = z instanceof Float32Array;
  const want = softmaxCrossEntropy(z, labels, { ...rest, cols }) as number | Float64Array;
  const full = new (z.constructor as Float64ArrayConstructor)(z.length);
  softmaxCrossEntropy(z, labels, { ...rest, cols, grad: full });
  const tol = f32 ? 2e-6 * full.reduce((m, v) => (v === v ? Math.max(m, Math.abs(v)) : m), 0) : 4e-15;
  const parts = blocks.map(([a, b]) => columns(z, rows, cols, a, b));
  everyMerge(opts, () => blocks.map(([a], i) => createSoftmaxCrossEntropy(opts).add(parts[i], a)), (acc, how) => {
    const got = acc.loss;
    if (typeof want === 'number') expectClose(got as number, want, f32 ? 'f32' : 'f64', Math.abs(want), how);
    else for (let r = 0; r < rows; r++) expectClose((got as Float64Array)[r], want[r], f32 ? 'f32' : 'f64', Math.abs(want[r]), `${how} row ${r}`);
    blocks.forEach(([a, b], i) => {
      const g = acc.gradient(parts[i], a, new (z.constructor as Float64ArrayConstructor)(parts[i].length));
      for (let r = 0; r < rows; r++) {
        for (let j = a; j < b; j++) {
          const v = g[r * (b - a) + j - a], w = full[r * cols + j];
          if (w !== w ? v !== v : Math.abs(v - w) <= tol) continue;
          expect.fail(`${how}: gradient at row ${r}, class ${j} is ${v}, want ${w}`);
        }
      }
    });
  });
}

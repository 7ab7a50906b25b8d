// The mergeable accumulators (src/accumulate.ts): any chunking of the input and any tree
// of merges (through JSON, as shards in other workers would send them) give the one-shot
// function's result within its accuracy bound — fast-check properties over random
// splits and merge orders — plus exact values, special entries, state checks and errors.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import {
  createEntropy, createLogSumExp, createSoftmaxCrossEntropy, entropy, logSumExp, softmaxCrossEntropy,
  type EntropyAccumulator, type LogSumExpAccumulator,
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
  });
});

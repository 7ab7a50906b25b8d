// softmaxCrossEntropy: PyTorch's semantics (mpmath values are in reference.test.ts),
// the gradient against central finite differences, ignored rows, the special cases
// of the SPEC and its errors — on every backend.
import { describe, expect, it } from 'vitest';
import { allocate, logSoftmax, softmax, softmaxCrossEntropy, type CrossEntropyLossOptions } from '../src/index.js';
import { fsum as librarySum } from '../src/js/sum.js';
import { expectAllClose, expectClose, fsum, onEachBackend, randomDistribution, randomLogits, rng } from './helpers.js';

/** An independent float64 reference: PyTorch's formulas, term by term. */
function referenceLoss(z: ArrayLike<number>, targets: ArrayLike<number>, o: CrossEntropyLossOptions): number | number[] {
  const C = o.cols, rows = z.length / C, eps = o.labelSmoothing ?? 0;
  const w = o.weights ? Array.from(o.weights) : Array(C).fill(1);
  const labels = targets.length === rows;
  const losses: number[] = [];
  let denom = 0;
  for (let r = 0; r < rows; r++) {
    const row = Array.from(z).slice(r * C, (r + 1) * C);
    const m = Math.max(...row);
    const ls = Math.log(fsum(row.map((v) => Math.exp(v - m))));
    const logp = row.map((v) => v - m - ls);
    if (labels) {
      const y = targets[r];
      if (y === o.ignoreIndex) { losses.push(0); continue; }
      denom += w[y];
      losses.push((1 - eps) * w[y] * -logp[y] + (eps / C) * fsum(logp.map((l, c) => -w[c] * l)));
    } else {
      denom += 1;
      losses.push(fsum(logp.map((l, c) => { const t = (1 - eps) * targets[r * C + c] + eps / C; return t * w[c] === 0 ? 0 : -w[c] * t * l; })));
    }
  }
  const red = o.reduction ?? 'mean';
  if (red === 'none') return losses;
  const total = fsum(losses);
  return red === 'sum' ? total : denom === 0 ? 0 : total / denom;
}

const scalar = (v: number | Float64Array | number[]) => (typeof v === 'number' ? v : fsum(v as ArrayLike<number> as number[]));

onEachBackend('softmaxCrossEntropy', () => {
  const random = rng(77);
  const rows = 6, cols = 9;
  const z64 = randomLogits(rows * cols, random, Float64Array, 2);
  const labels = [3, 0, 8, 5, 5, 1];
  const probs = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) probs.set(randomDistribution(cols, random, Float64Array), r * cols);
  const weights = Array.from({ length: cols }, () => 0.25 + random() * 2);

  const variants: [string, Partial<CrossEntropyLossOptions>][] = [
    ['mean', {}], ['sum', { reduction: 'sum' }], ['none', { reduction: 'none' }],
    ['smoothing', { labelSmoothing: 0.2 }], ['weights', { weights }],
    ['weights + smoothing + sum', { weights, labelSmoothing: 0.05, reduction: 'sum' }],
    ['ignoreIndex', { ignoreIndex: 5 }], ['ignoreIndex + weights', { ignoreIndex: 0, weights, labelSmoothing: 0.1 }],
    ['base 2', { base: 2 }],
  ];

  describe('against an independent float64 reference, and the gradient against finite differences', () => {
    for (const [name, extra] of variants) {
      for (const kind of ['labels', 'probabilities'] as const) {
        if (kind === 'probabilities' && 'ignoreIndex' in extra) continue;
        for (const Type of [Float64Array, Float32Array]) {
          it(`${name}, ${kind}, ${Type.name}`, () => {
            const o = { cols, ...extra } as CrossEntropyLossOptions;
            const z = Type.from(z64);
            const t = kind === 'labels' ? labels : Type.from(probs);
            const grad = new Type(z.length);
            const got = softmaxCrossEntropy(z, t, { ...o, grad });
            const scale = o.base ? 1 / Math.log(o.base) : 1;
            const want = referenceLoss(z, t, o);
            const dtype = Type === Float32Array ? 'f32' : 'f64';
            if (typeof want === 'number') expectClose(got as number, want * scale, dtype);
            else expectAllClose(got as Float64Array, want.map((v) => v * scale), dtype);
            // ∂(loss, or Σ losses for 'none')/∂z by central differences of the float64 reference
            const h = 1e-6;
            const zz = Float64Array.from(z);
            const grad64 = new Float64Array(z.length);
            for (let i = 0; i < z.length; i++) {
              const up = zz.slice(), down = zz.slice();
              up[i] += h; down[i] -= h;
              grad64[i] = ((scalar(referenceLoss(up, t, o)) - scalar(referenceLoss(down, t, o))) / (2 * h)) * scale;
            }
            const gmax = Math.max(...grad64.map(Math.abs));
            for (let i = 0; i < z.length; i++) {
              expect(Math.abs(grad[i] - grad64[i]), `grad[${i}]`).toBeLessThan(1e-7 * gmax + (dtype === 'f32' ? 1e-6 * gmax : 0));
            }
          });
        }
      }
    }
  });

  it('labels: the loss is −log softmax at the label; the gradient (softmax − onehot)/rows', () => {
    const z = Float64Array.from(z64);
    const lp = logSoftmax(z, { cols });
    const p = softmax(z, { cols });
    const grad = new Float64Array(z.length);
    const loss = softmaxCrossEntropy(z, Int32Array.from(labels), { cols, grad });
    expectClose(loss, -fsum(labels.map((y, r) => lp[r * cols + y])) / rows, 'f64');
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        expectClose(grad[r * cols + c], (p[r * cols + c] - (c === labels[r] ? 1 : 0)) / rows, 'f64', 1 / rows);
      }
    }
    expect(softmaxCrossEntropy(z, Uint32Array.from(labels), { cols })).toBe(loss);
    expect(softmaxCrossEntropy(z, Float64Array.from(labels), { cols })).toBe(loss);
  });

  it('a small loss keeps its digits (a confident, correct prediction)', () => {
    expectClose(softmaxCrossEntropy([30, 0, 0], [0], { cols: 3 }), Math.log1p(2 * Math.exp(-30)), 'f64');
    expectClose(softmaxCrossEntropy(new Float32Array([20, 0]), [0], { cols: 2 }), Math.log1p(Math.exp(-20)), 'f32');
  });

  it('ignored rows contribute 0 loss and 0 gradient; mean is over the others', () => {
    const z = Float64Array.from(z64);
    const grad = new Float64Array(z.length).fill(7);
    const ignored = labels.map((y, r) => (r % 2 ? -100 : y));
    const loss = softmaxCrossEntropy(z, ignored, { cols, ignoreIndex: -100, grad });
    const none = softmaxCrossEntropy(z, ignored, { cols, ignoreIndex: -100, reduction: 'none' });
    for (let r = 1; r < rows; r += 2) {
      expect(none[r]).toBe(0);
      expect(Array.from(grad.subarray(r * cols, (r + 1) * cols))).toEqual(Array(cols).fill(0));
    }
    expectClose(loss, fsum(Array.from(none)) / 3, 'f64');
  });

  it("'mean' with every row ignored, or no rows, is 0 with a zero gradient (not NaN)", () => {
    const grad = new Float32Array(6).fill(1);
    expect(softmaxCrossEntropy(new Float32Array([1, 2, 3, 4, 5, 6]), [-1, -1], { cols: 3, ignoreIndex: -1, grad })).toBe(0);
    expect(Array.from(grad)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(softmaxCrossEntropy([], [], { cols: 4 })).toBe(0);
    expect(softmaxCrossEntropy([], [], { cols: 4, reduction: 'sum' })).toBe(0);
    expect(softmaxCrossEntropy([], [], { cols: 4, reduction: 'none' })).toEqual(new Float64Array(0));
  });

  it('labels win when cols = 1 (targets.length equals both rows and logits.length)', () => {
    // one class: the loss is 0 whatever the logit, as a label; as a probability it would be the same
    expect(softmaxCrossEntropy([3, -2], [0, 0], { cols: 1 })).toBe(0);
    expect(() => softmaxCrossEntropy([3, -2], [0.5, 0.5], { cols: 1 })).toThrow(/row 0 is 0.5, not an integer/);
  });

  it("'none' with grad gives the gradient of the sum", () => {
    const z = Float64Array.from(z64);
    const g1 = new Float64Array(z.length), g2 = new Float64Array(z.length);
    softmaxCrossEntropy(z, labels, { cols, reduction: 'none', grad: g1 });
    softmaxCrossEntropy(z, labels, { cols, reduction: 'sum', grad: g2 });
    expect(g1).toEqual(g2);
  });

  it('grad may be the logits array itself (in place)', () => {
    const z = Float64Array.from(z64);
    const g = new Float64Array(z.length);
    const loss = softmaxCrossEntropy(z, labels, { cols, grad: g });
    const inPlace = z.slice();
    expect(softmaxCrossEntropy(inPlace, labels, { cols, grad: inPlace })).toBe(loss);
    expectAllClose(inPlace, g, 'f64');
    const zp = Float32Array.from(z64);
    const gp = new Float32Array(z.length);
    const lossP = softmaxCrossEntropy(zp, Float32Array.from(probs), { cols, grad: gp });
    expect(softmaxCrossEntropy(zp, Float32Array.from(probs), { cols, grad: zp })).toBe(lossP);
    expectAllClose(zp, gp, 'f32');
  });

  // Bug: float32 rows narrower than 64 classes formed the loss in float32 lanes: z − m, the
  // weights times it and targets times it can pass float32's range (the loss is a float64);
  // softmaxCrossEntropy(z, z, {cols: 2, reduction: 'sum'}) with z = ±1e30 was NaN on wasm-simd.
  it('float32 logits, targets and weights whose products pass float32\'s range: the loss is formed in float64 (narrow and wide rows)', () => {
    const cases: [string, number[], number[], Partial<CrossEntropyLossOptions>][] = [
      ['targets ±1e30 (BUG-18)', [7.871846427714206e29, 4.3143963311533944e29, -1.0777012286936936e30, -8.195175149327414e29],
        [7.871846427714206e29, 4.3143963311533944e29, -1.0777012286936936e30, -8.195175149327414e29], {}],
      ['labels, logits ±3e38', [3e38, -3e38, 0, 1], [1, 0], {}],
      ['labels, smoothing, logits ±3e38', [3e38, -3e38, -3e38, 3e38], [0, 0], { labelSmoothing: 0.1 }],
      ['labels, weight 1e30', [1e10, -1e10, 2, 1], [1, 1], { weights: [1, 1e30] }],
      ['labels, weights 1e30, smoothing', [1e10, -1e10, 2, 1], [0, 1], { weights: [1e30, 1e30], labelSmoothing: 0.2 }],
      ['targets, weights 1e30', [1e10, -1e10, 2, 1], [0.5, 0.5, 0.25, 0.75], { weights: [1e30, 1e30] }],
      ['targets, logits ±3e38', [3e38, -3e38, 1, 0], [0.5, 0.5, 1, 0], {}],
    ];
    for (const [name, z, t, extra] of cases) {
      for (const wide of [false, true]) {
        // wide: the same two classes padded with zero logits to 70 columns (their targets 0)
        const cols = wide ? 70 : 2;
        const pad = (v: number[], fill: number) => v.flatMap((_, i) => (i % 2 ? [] : [v[i], v[i + 1], ...Array(cols - 2).fill(fill)]));
        const isLabels = t.length === z.length / 2;
        const zz = wide ? pad(z, 0) : z, tt = wide && !isLabels ? pad(t, 0) : t;
        const w = extra.weights ? (wide ? [...Array.from(extra.weights), ...Array(cols - 2).fill(1)] : extra.weights) : undefined;
        const o = { ...extra, weights: w, cols, reduction: 'none' as const };
        const want = softmaxCrossEntropy(Float64Array.from(Float32Array.from(zz)), isLabels ? tt : Float64Array.from(Float32Array.from(tt)), o) as Float64Array;
        const got = softmaxCrossEntropy(Float32Array.from(zz), isLabels ? tt : Float32Array.from(tt), o) as Float64Array;
        for (let r = 0; r < want.length; r++) {
          expect(Number.isFinite(want[r]), `${name}: the float64 loss is finite`).toBe(true);
          expect(Math.abs(got[r] - want[r]) / Math.abs(want[r]), `${name}${wide ? ' (wide)' : ''}, row ${r}: got ${got[r]}, want ${want[r]}`).toBeLessThan(1e-6);
        }
      }
    }
  });

  // The exponential's cut-off was on E = exp(x − k·ln 2), not on p: a normal softmax entry
  // below 2·FLT_MIN could be flushed, depending on the row maximum (see softmax.test.ts).
  it('float32: a gradient entry p that is a normal number is never flushed, whatever the row maximum', () => {
    for (const m of [-150, -69.375, 0, 1, 69.375, 127.9, 175, 1e4]) {
      for (const cols of [2, 70]) {
        const z = new Float32Array(cols).fill(-Infinity);
        z[0] = m;
        z[1] = m - 86.75;
        const d = z[0] - z[1];
        const p1 = Math.exp(-d) / (1 + Math.exp(-d)); // 2.1e-38 ≥ FLT_MIN
        const grad = new Float32Array(cols);
        softmaxCrossEntropy(z, [0], { cols, grad, reduction: 'sum' });
        expectClose(grad[1], p1, 'f32', undefined, `m = ${m}, cols = ${cols}`);
      }
    }
  });

  // A narrow row's loss never depends on the rows it is computed with (the pool splits calls
  // into blocks of rows): a row whose float32 sums overflow is redone in float64 alone.
  it('float32 narrow rows: a row beyond float32\'s range does not change its neighbours\' bits, nor they its', () => {
    const random = rng(88);
    const rows = 9, cols = 3;
    const z = Float32Array.from({ length: rows * cols }, () => 4 * (random() - 0.5));
    z.set([3e38, -3e38, 1], 2 * cols); // row 2: z − m beyond float32
    z.set([1, 0, -Infinity], 5 * cols); // row 5: a masked logit
    const labels = Array.from({ length: rows }, (_, r) => r % cols);
    const t = Float32Array.from({ length: rows * cols }, () => random());
    t.set([1e30, -1e30, 0.5], 6 * cols); // row 6: targets × logits beyond float32
    for (const extra of [{}, { labelSmoothing: 0.1 }, { weights: [1, 2, 0.5] }]) {
      for (const targets of [labels, t] as const) {
        const o = { ...extra, cols, reduction: 'none' as const };
        const all = softmaxCrossEntropy(z, targets, o) as Float64Array;
        for (let r = 0; r < rows; r++) {
          // row r among ordinary neighbours: its own bits (narrow rows share vectors)
          const z2 = Float32Array.from({ length: rows * cols }, () => 4 * (random() - 0.5));
          z2.set(z.subarray(r * cols, (r + 1) * cols), r * cols);
          let t2: number[] | Float32Array = labels;
          if (targets !== labels) {
            t2 = Float32Array.from({ length: rows * cols }, () => random());
            t2.set(t.subarray(r * cols, (r + 1) * cols), r * cols);
          }
          const other = softmaxCrossEntropy(z2, t2, o) as Float64Array;
          expect(Object.is(all[r], other[r]), `row ${r} (${JSON.stringify(extra)}, ${targets === labels ? 'labels' : 'targets'}): ${all[r]} among others ${other[r]}`).toBe(true);
        }
      }
    }
  });

  it('masked logits: fine unless the label or the smoothing needs them', () => {
    expectClose(softmaxCrossEntropy([0, -Infinity, 0], [0], { cols: 3 }), Math.LN2, 'f64');
    expect(softmaxCrossEntropy([0, -Infinity, 0], [1], { cols: 3 })).toBe(Infinity);
    expect(softmaxCrossEntropy([0, -Infinity, 0], [0], { cols: 3, labelSmoothing: 0.1 })).toBe(Infinity);
    const grad = new Float64Array(3);
    softmaxCrossEntropy([0, -Infinity, 0], [0], { cols: 3, grad });
    expect(Array.from(grad)).toEqual([-0.5, 0, 0.5]);
  });

  // Bug: a label of weight 0 skipped its term, NaN and all: a row holding a NaN logit had loss 0
  // (and a NaN gradient) on the scalar paths, NaN on the SIMD narrow rows. NaN logits propagate.
  it('a label of weight 0: 0 against a masked logit, NaN in a row holding a NaN (every path)', () => {
    for (const [Type, cols, rows] of [[Float64Array, 2, 1], [Float64Array, 2, 8], [Float32Array, 2, 8], [Float32Array, 10, 8], [Float32Array, 70, 4], [Float64Array, 70, 4]] as const) {
      const z = new Type(cols * rows);
      for (let i = 0; i < z.length; i++) z[i] = (i % 7) - 3;
      z[0] = NaN; // row 0: a NaN at class 0
      z[cols + 1] = -Infinity; // row 1: its label's logit masked
      const weights = Float64Array.from({ length: cols }, (_, c) => (c === 1 ? 0 : 1));
      const loss = softmaxCrossEntropy(z, new Int32Array(rows).fill(1), { cols, weights, reduction: 'none' }) as Float64Array;
      expect(loss[0], `${Type.name}, ${rows} × ${cols}: the NaN row`).toBeNaN();
      if (rows > 1) expect(loss[1], `${Type.name}, ${rows} × ${cols}: the masked label`).toBe(0);
    }
  });

  describe('errors', () => {
    it('cols is required (TypeError)', () => {
      expect(() => softmaxCrossEntropy([1, 2], [0], {} as CrossEntropyLossOptions)).toThrow('cols (the number of classes) is required');
      expect(() => softmaxCrossEntropy([1, 2], [0], undefined as unknown as CrossEntropyLossOptions)).toThrow(TypeError);
    });
    it('targets of any other length is a TypeError', () => {
      expect(() => softmaxCrossEntropy([1, 2, 3, 4], [0, 1, 0], { cols: 2 })).toThrow(TypeError);
      expect(() => softmaxCrossEntropy([1, 2, 3, 4], [0, 1, 0], { cols: 2 })).toThrow('targets must be 2 labels or 4 probabilities');
    });
    it('a label out of range or not an integer is a RangeError naming the row', () => {
      expect(() => softmaxCrossEntropy([1, 2, 3, 4], [0, 2], { cols: 2 })).toThrow(RangeError);
      expect(() => softmaxCrossEntropy([1, 2, 3, 4], [0, 2], { cols: 2 })).toThrow('label at row 1 is 2, outside [0, 2)');
      expect(() => softmaxCrossEntropy([1, 2, 3, 4], [-1, 0], { cols: 2 })).toThrow(/row 0 is -1/);
      expect(() => softmaxCrossEntropy([1, 2, 3, 4], [0, 1.5], { cols: 2 })).toThrow('label at row 1 is 1.5, not an integer class index');
      expect(() => softmaxCrossEntropy([1, 2, 3, 4], [0, NaN], { cols: 2 })).toThrow(RangeError);
      expect(() => softmaxCrossEntropy([1, 2, 3, 4], [0, 7], { cols: 2, ignoreIndex: 5 })).toThrow(/not ignoreIndex \(5\)/);
    });
    it('bad options', () => {
      expect(() => softmaxCrossEntropy([1, 2], [0], { cols: 2, reduction: 'avg' as 'mean' })).toThrow(RangeError);
      expect(() => softmaxCrossEntropy([1, 2], [0], { cols: 2, reduction: 1 as unknown as 'mean' })).toThrow(TypeError);
      for (const labelSmoothing of [-0.1, 1, 1.5, NaN]) {
        expect(() => softmaxCrossEntropy([1, 2], [0], { cols: 2, labelSmoothing })).toThrow(RangeError);
      }
      expect(() => softmaxCrossEntropy([1, 2], [0], { cols: 2, labelSmoothing: '0.1' as unknown as number })).toThrow(TypeError);
      expect(() => softmaxCrossEntropy([1, 2], [0], { cols: 2, weights: [1] })).toThrow('weights must have one entry per class (2), got length 1');
      // a weight that is negative, NaN or infinite (PyTorch takes them; 'mean' would divide by no total)
      for (const w of [-1, NaN, Infinity, -Infinity]) {
        expect(() => softmaxCrossEntropy([1, 2], [0], { cols: 2, weights: [1, w] })).toThrow(new RangeError(`softmaxCrossEntropy: weights[1] is ${w}; weights must be finite and non-negative`));
        expect(() => softmaxCrossEntropy(new Float32Array(8), new Int32Array(4), { cols: 2, weights: new Float64Array([w, 1]), reduction: 'none' })).toThrow(/weights\[0\] is .*; weights must be finite and non-negative/);
      }
      expect(softmaxCrossEntropy([1, 2], [0], { cols: 2, weights: [0, 0] })).toBe(0); // (zero weights are weights: PyTorch's 0/0 'mean' is NaN, ours 0 as documented)
      expect(() => softmaxCrossEntropy([1, 2], [0], { cols: 2, ignoreIndex: 0.5 })).toThrow(TypeError);
      expect(() => softmaxCrossEntropy([1, 2], [0], { cols: 2, grad: new Float64Array(3) })).toThrow(TypeError);
      expect(() => softmaxCrossEntropy([1, 2], [0], { cols: 2, grad: [0, 0] as unknown as Float64Array })).toThrow(TypeError);
      const shared = new Float64Array(4);
      shared.set([0.5, 0.5], 2);
      expect(() => softmaxCrossEntropy([1, 2], shared.subarray(2, 4), { cols: 2, grad: shared.subarray(1, 3) })).toThrow(RangeError);
    });
    it('int32 labels: a negative label, one past the classes and the int32 extremes are RangeErrors naming the row', () => {
      // (the labels' scan, labelMax, at 300 labels and at 70 003: in blocks, with a tail)
      for (const rows of [300, 70_003]) {
        const z = new Float32Array(4 * rows);
        for (const [row, y] of [[0, -1], [rows - 1, 4], [150, -(2 ** 31)], [3, 2 ** 31 - 1], [rows - 9, 5]]) {
          const l = new Int32Array(rows);
          l[row] = y;
          expect(() => softmaxCrossEntropy(z, l, { cols: 4 })).toThrow(`label at row ${row} is ${y}, outside [0, 4)`);
        }
      }
      const l = new Int32Array(300).fill(3);
      l[7] = -100;
      expectClose(softmaxCrossEntropy(new Float32Array(4 * 300), l, { cols: 4, ignoreIndex: -100 }), Math.log(4), 'f32');
    });
    it('after an error, the next call is right', () => {
      const z = Float64Array.from(z64);
      const before = softmaxCrossEntropy(z, labels, { cols });
      expect(() => softmaxCrossEntropy(z, labels.map(() => 99), { cols })).toThrow(RangeError);
      expect(softmaxCrossEntropy(z, labels, { cols })).toBe(before);
    });
  });

  it("'mean' and 'sum' of one call are the same whatever calls came before (larger, smaller, 'none'), and 'none' returns the caller's own array", () => {
    const big = randomLogits(4 * 5000, rng(5), Float32Array, 3), bigLabels = Int32Array.from({ length: 5000 }, (_, i) => (i * 7) % 4);
    const z = Float32Array.from(z64), l = Int32Array.from(labels);
    const first = [softmaxCrossEntropy(z, l, { cols }), softmaxCrossEntropy(z, l, { cols, reduction: 'sum' })];
    const none = softmaxCrossEntropy(z, l, { cols, reduction: 'none' });
    const kept = Float64Array.from(none);
    softmaxCrossEntropy(big, bigLabels, { cols: 4 });
    expect([softmaxCrossEntropy(z, l, { cols }), softmaxCrossEntropy(z, l, { cols, reduction: 'sum' })]).toEqual(first);
    expect(softmaxCrossEntropy(big, bigLabels, { cols: 4, reduction: 'sum' })).toBeCloseTo(fsum(softmaxCrossEntropy(big, bigLabels, { cols: 4, reduction: 'none' })), 9);
    expect(none).toEqual(kept);
    expect(softmaxCrossEntropy(z, l, { cols, reduction: 'none' })).not.toBe(none);
    expectClose(first[1] as number, fsum(none), 'f64');
  });

  // 'mean' and 'sum' of rows narrower than 64 classes add each group of sixteen rows'
  // losses first, four additions deep (assembly/loss.ts, sumGroupsF64: 2ε·Σ|loss|), then the
  // groups, compensated (the sum's and the reference's rounding: ε·Σ|loss|).
  it("narrow rows: 'sum' is the exact sum of the 'none' losses within 3ε·Σ|loss|, 'mean' it over the counted rows", () => {
    const r = rng(91);
    for (const cols of [1, 2, 3, 4, 10, 33, 64]) {
      for (const Type of [Float32Array, Float64Array]) {
        const rows = 16 * 15 + 3; // and a last, partial group
        const z = randomLogits(rows * cols, r, Type, 6);
        const y = Int32Array.from({ length: rows }, (_, i) => (i % 7 === 5 ? -100 : Math.floor(r() * cols)));
        const t = Type.from(Array.from({ length: rows * cols }, () => r()));
        for (const [targets, extra] of [[y, { ignoreIndex: -100 }], [y, { ignoreIndex: -100, labelSmoothing: 0.2, weights: Array.from({ length: cols }, () => 0.5 + r()) }], [t, {}]] as const) {
          if (targets === t && cols === 1) continue; // (one column: labels win)
          const o = { cols, ...extra };
          const none = softmaxCrossEntropy(z, targets, { ...o, reduction: 'none' });
          const sum = softmaxCrossEntropy(z, targets, { ...o, reduction: 'sum' });
          const what = `${cols} columns, ${Type.name}, ${targets === t ? 'probabilities' : Object.keys(extra).join(' ')}`;
          expect(Math.abs(sum - fsum(none)), what).toBeLessThanOrEqual(3 * Number.EPSILON * fsum(Array.from(none, Math.abs)));
          const counted = targets === t ? rows : fsum(Array.from(y, (v) => (v < 0 ? 0 : 'weights' in extra ? extra.weights[v] : 1)));
          expect(softmaxCrossEntropy(z, targets, o), what).toBe(sum / counted);
        }
      }
    }
  });

  // the grouping itself: each group of sixteen rows as two trees of eight, the even rows'
  // and the odd rows' (rows past the last 0), their sum, then the groups in the library's
  // compensated sum — on each backend, at and around every group boundary
  it("narrow rows: 'sum' is the sixteen-row groups' sums of the 'none' losses, bit for bit", () => {
    const r = rng(93);
    const half = (l: Float64Array, at: number, j: number): number => {
      const v = (i: number): number => (at + i < l.length ? l[at + i] : 0);
      return ((v(j) + v(j + 2)) + (v(j + 4) + v(j + 6))) + ((v(j + 8) + v(j + 10)) + (v(j + 12) + v(j + 14)));
    };
    for (const cols of [2, 4, 10]) {
      for (const Type of [Float32Array, Float64Array]) {
        for (const rows of [1, 15, 16, 17, 33, 250]) {
          const z = randomLogits(rows * cols, r, Type, 6);
          const y = Int32Array.from({ length: rows }, () => Math.floor(r() * cols));
          const none = softmaxCrossEntropy(z, y, { cols, reduction: 'none' });
          const groups = new Float64Array(Math.ceil(rows / 16));
          for (let g = 0; g < groups.length; g++) groups[g] = half(none, 16 * g, 0) + half(none, 16 * g, 1);
          const sum = softmaxCrossEntropy(z, y, { cols, reduction: 'sum' });
          expect(Object.is(sum, librarySum(groups)), `${cols} columns, ${Type.name}, ${rows} rows: ${sum} against ${librarySum(groups)}`).toBe(true);
        }
      }
    }
  });

  it("narrow rows: 'sum' and 'mean' are the same bits however the engine cuts the rows into blocks (logits staged, or in module memory)", () => {
    const r = rng(92);
    for (const cols of [2, 4, 10]) {
      const rows = 90_003;
      const z = randomLogits(rows * cols, r, Float32Array, 6);
      const y = Int32Array.from({ length: rows }, () => Math.floor(r() * cols));
      const inModule = allocate(Float32Array, z.length);
      try {
        inModule.array.set(z);
        for (const o of [{ cols, reduction: 'sum' as const }, { cols, labelSmoothing: 0.1 }]) {
          expect(Object.is(softmaxCrossEntropy(inModule, y, o), softmaxCrossEntropy(z, y, o)), `${cols} columns, ${JSON.stringify(o)}`).toBe(true);
        }
      } finally {
        inModule.free();
      }
    }
  });

  // found by fuzz/run.js: an empty input has 0 columns in its shape, but its classes are still `cols`
  it('empty logits with class weights: the weights are checked against cols, not against the empty shape', () => {
    expect(softmaxCrossEntropy(new Float32Array(0), [], { cols: 3, weights: [1, 2, 3] })).toBe(0);
    expect(() => softmaxCrossEntropy(new Float32Array(0), [], { cols: 3, weights: [1, 2] })).toThrow(new TypeError('softmaxCrossEntropy: weights must have one entry per class (3), got length 2'));
  });

  it('inputs are never mutated', () => {
    const z = Float32Array.from(z64), t = Float32Array.from(probs), l = Int32Array.from(labels), w = Float64Array.from(weights);
    const copies = [z.slice(), t.slice(), l.slice(), w.slice()];
    softmaxCrossEntropy(z, t, { cols, weights: w, labelSmoothing: 0.1, grad: new Float32Array(z.length) });
    softmaxCrossEntropy(z, l, { cols, weights: w, ignoreIndex: 3 });
    expect([z, t, l, w]).toEqual(copies);
  });
});

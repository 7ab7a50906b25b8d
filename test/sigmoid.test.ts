// sigmoidCrossEntropy and sigmoidFocalLoss on every backend: values against float64
// references from the definitions and written-in values from PyTorch's and
// torchvision's formulas, every gradient against central differences of the loss,
// infinite and huge logits, every length around the vector widths, narrow and wide rows,
// row independence, long rows, and the errors.
import { afterAll, describe, expect, it } from 'vitest';
import { init, sigmoidCrossEntropy, sigmoidFocalLoss, type Backend } from '../src/index.js';
import { currentEngine } from '../src/backend.js';
import { DEFAULT_WINDOW, MIN_WINDOW } from '../src/memory.js';
import { expectClose, fsum, onEachBackend, randomLogits, rng } from './helpers.js';

const TYPES = [Float32Array, Float64Array] as const;
type FT = (typeof TYPES)[number];
const dtypeOf = (T: FT) => (T === Float32Array ? 'f32' : 'f64') as 'f32' | 'f64';
const LENGTHS = [...Array.from({ length: 34 }, (_, i) => i), 63, 64, 65, 1000];
const FLT_MIN = 2 ** -126;

// ---------------------------------------------------------------------------------
// float64 references, from the definitions
// ---------------------------------------------------------------------------------

const softplus = (v: number) => (v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v)));
const sigma = (v: number) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
/** c·v with 0·∞ = 0 (as 0·log 0 = 0). */
const times = (c: number, v: number) => (c === 0 ? 0 : c * v);

interface Ref {
  /** Each element's loss, and the sum of its terms' magnitudes. */
  loss: number[];
  /** ∂(Σ loss)/∂x, and the magnitude of its terms. */
  grad: number[];
  gmag: number[];
}

interface BceOpts {
  cols?: number;
  weights?: ArrayLike<number>;
  posWeight?: number | ArrayLike<number>;
  labelSmoothing?: number;
}

function refBce(x: ArrayLike<number>, y: ArrayLike<number>, o: BceOpts = {}): Ref {
  const n = x.length, cols = o.cols ?? n, eps = o.labelSmoothing ?? 0;
  const r: Ref = { loss: [], grad: [], gmag: [] };
  for (let i = 0; i < n; i++) {
    const c = i % cols;
    const w = o.weights ? (o.weights.length === n ? o.weights[i] : o.weights[c]) : 1;
    const pw = o.posWeight === undefined ? 1 : typeof o.posWeight === 'number' ? o.posWeight : o.posWeight.length === 1 ? o.posWeight[0] : o.posWeight[c];
    const yy = y[i] * (1 - eps) + eps / 2;
    const cP = pw * yy, cN = 1 - yy, xv = x[i];
    const l = xv !== xv ? NaN : times(cP, softplus(-xv)) + times(cN, softplus(xv));
    r.loss.push(times(w, l));
    r.grad.push(w * (cN * sigma(xv) - cP * sigma(-xv)));
    r.gmag.push(w * (cN * sigma(xv) + cP * sigma(-xv)));
  }
  return r;
}

function refFocal(x: ArrayLike<number>, y: ArrayLike<number>, alpha = 0.25, gamma = 2): Ref {
  const r: Ref = { loss: [], grad: [], gmag: [] };
  for (let i = 0; i < x.length; i++) {
    const xv = x[i], yv = y[i];
    const s = sigma(xv), sm = sigma(-xv);
    const ce = xv !== xv ? NaN : times(yv, softplus(-xv)) + times(1 - yv, softplus(xv));
    const q = (1 - yv) * s + yv * sm;
    const qg = gamma === 0 ? 1 : q ** gamma;
    const at = alpha < 0 ? 1 : alpha * yv + (1 - alpha) * (1 - yv);
    r.loss.push(at === 0 || qg === 0 ? (xv !== xv ? NaN : 0) : at * ce * qg);
    // γ(1 − 2y)·ce·q^(γ−1)·σσ' with 0 where σσ' = 0 (infinite logits) or q = 0
    const ss = s * sm;
    const t2 = gamma === 0 || ss === 0 || q === 0 ? 0 : gamma * (1 - 2 * yv) * ce * q ** (gamma - 1) * ss;
    r.grad.push(at * (((1 - yv) * s - yv * sm) * qg + t2)); // σ(x) − y without the cancellation of s − 1
    r.gmag.push(Math.abs(at) * (((1 - yv) * s + yv * sm) * qg + Math.abs(t2)));
  }
  return r;
}

/** Random targets: a third 0, a third 1, a third soft. */
function randomTargets(n: number, random: () => number, Type: FT): Float32Array | Float64Array {
  const y = new Type(n);
  for (let i = 0; i < n; i++) {
    const u = random();
    y[i] = u < 1 / 3 ? 0 : u < 2 / 3 ? 1 : random();
  }
  return y;
}

function expectLosses(got: ArrayLike<number>, want: number[], dtype: 'f32' | 'f64', what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    // below the normal range of the kernel's type a loss may be 0
    if (dtype === 'f32' && Math.abs(want[i]) < FLT_MIN && Math.abs(got[i]) <= FLT_MIN) continue;
    expectClose(got[i], want[i], dtype, Math.abs(want[i]), `${what}[${i}]`);
  }
}

/** Gradients: relative to the magnitude of their terms, below the normal range possibly 0. */
function expectGrad(got: ArrayLike<number>, want: number[], mag: number[], scale: number, dtype: 'f32' | 'f64', what: string): void {
  expect(got.length, what).toBe(want.length);
  const rel = dtype === 'f32' ? 4e-6 : 1e-13;
  const floor = dtype === 'f32' ? FLT_MIN : 1e-300;
  for (let i = 0; i < want.length; i++) {
    const w = want[i] * scale;
    if (Number.isNaN(w)) {
      expect(got[i], `${what}[${i}]`).toBeNaN();
      continue;
    }
    const tol = rel * Math.abs(mag[i] * scale) + floor;
    if (!(Math.abs(got[i] - w) <= tol)) expect.fail(`${what}[${i}]: got ${got[i]}, want ${w} (tolerance ${tol})`);
  }
}

// ---------------------------------------------------------------------------------

onEachBackend('sigmoidCrossEntropy', (b) => {
  describe('every length against a float64 reference', () => {
    for (const Type of TYPES) {
      for (const n of LENGTHS) {
        it(`n = ${n} ${Type.name}`, () => {
          const random = rng(n * 7 + (Type === Float32Array ? 1 : 2));
          const x = randomLogits(n, random, Type);
          const y = randomTargets(n, random, Type);
          const t = dtypeOf(Type);
          const r = refBce(x, y);
          const grad = new Type(n);
          const mean = sigmoidCrossEntropy(x, y, { grad });
          expectClose(mean, n ? fsum(r.loss) / n : 0, t, undefined, 'mean');
          expectGrad(grad, r.grad, r.gmag, n ? 1 / n : 0, t, 'grad');
          expectClose(sigmoidCrossEntropy(x, y, { reduction: 'sum' }), fsum(r.loss), t, undefined, 'sum');
          const none = sigmoidCrossEntropy(x, y, { reduction: 'none' });
          expect(none).toBeInstanceOf(Float64Array);
          expectLosses(none, r.loss, t, 'none');
        });
      }
    }
  });

  describe('rows of every width (narrow rows are computed flat)', () => {
    for (const Type of TYPES) {
      for (const cols of [1, 2, 3, 4, 5, 7, 8, 13, 63, 64, 65, 100]) {
        it(`cols = ${cols} ${Type.name}, per-class posWeight and weights, smoothing`, () => {
          const random = rng(cols * 31 + (Type === Float32Array ? 5 : 6));
          const rows = 1 + Math.floor(random() * 40);
          const n = rows * cols;
          const x = randomLogits(n, random, Type, 4);
          const y = randomTargets(n, random, Type);
          const pw = Array.from({ length: cols }, () => 3 * random());
          const wc = Array.from({ length: cols }, () => 2 * random());
          const we = Array.from({ length: n }, () => 2 * random());
          const t = dtypeOf(Type);
          for (const o of [{}, { posWeight: pw }, { weights: wc }, { weights: we, posWeight: pw, labelSmoothing: 0.1 }, { weights: new Type(wc), posWeight: 0.5 }] as BceOpts[]) {
            const r = refBce(x, y, { cols, ...o });
            const grad = new Type(n);
            const none = sigmoidCrossEntropy(x, y, { cols, ...o, reduction: 'none', grad });
            expectLosses(none, r.loss, t, `none ${JSON.stringify(Object.keys(o))}`);
            expectGrad(grad, r.grad, r.gmag, 1, t, `grad ${JSON.stringify(Object.keys(o))}`);
            const g2 = new Type(n);
            expectClose(sigmoidCrossEntropy(x, y, { cols, ...o, grad: g2 }), fsum(r.loss) / n, t, undefined, 'mean');
            expectGrad(g2, r.grad, r.gmag, 1 / n, t, 'mean grad');
          }
        });
      }
    }
  });

  it('narrow rows: grouped into wider kernel rows (36 rows) or computed flat (37, prime), per-class arrays tiled', () => {
    for (const Type of TYPES) {
      for (const rows of [36, 37]) {
        const cols = 3, n = rows * cols;
        const random = rng(rows);
        const x = randomLogits(n, random, Type), y = randomTargets(n, random, Type);
        const o = { cols, posWeight: [0.5, 2, 3], weights: [1, 0.25, 2] };
        const r = refBce(x, y, o);
        const grad = new Type(n);
        expectClose(sigmoidCrossEntropy(x, y, { ...o, grad, reduction: 'sum' }), fsum(r.loss), dtypeOf(Type), undefined, `${rows} rows`);
        expectGrad(grad, r.grad, r.gmag, 1, dtypeOf(Type), `${rows} rows grad`);
        const f = refFocal(x, y, 0.25, 3);
        expectClose(sigmoidFocalLoss(x, y, { cols, gamma: 3, reduction: 'sum' }), fsum(f.loss), dtypeOf(Type), undefined, `${rows} rows focal`);
      }
    }
  });

  it('written-in values: PyTorch binary_cross_entropy_with_logits (its formula in numpy float64; torch is not installable here)', () => {
    // x, y and the values printed by PyTorch's aten formula (1 − y)·x − log_weight·log_sigmoid(x), in numpy
    const x = [-2.5, 0, 1.5, 3, -0.75, 4.25], y = [0, 1, 0.3, 1, 0, 0.9];
    const none = [0.07888973429254964, 0.6931471805599453, 1.2514132779827523, 0.04858735157374206, 0.3868710061148999, 0.43916345693150494];
    expectLosses(sigmoidCrossEntropy(x, y, { reduction: 'none' }), none, 'f64', 'none');
    expectClose(sigmoidCrossEntropy(x, y), 0.48301200124256566, 'f64', undefined, 'mean');
    expectClose(sigmoidCrossEntropy(x, y, { reduction: 'sum' }), 2.898072007455394, 'f64', undefined, 'sum');
    // cols 3, pos_weight [2, 0.5, 3], weight [1, 2, 0.5]: values and torch's gradient of the sum
    const o = { cols: 3, posWeight: [2, 0.5, 3], weights: [1, 2, 0.5] };
    expectClose(sigmoidCrossEntropy(x, y, o), 0.4269021820533479, 'f64', undefined, 'weighted mean');
    const grad = new Float64Array(6);
    const wn = sigmoidCrossEntropy(x, y, { ...o, reduction: 'none', grad });
    expectLosses(wn, [0.07888973429254964, 0.6931471805599453, 0.6861306223862018, 0.09717470314748412, 0.7737420122297998, 0.23232883970410692], 'f64', 'weighted none');
    const g = [0.07585818002124356, -0.5, 0.2040595809549149, -0.09485174635513327, 0.641642601649214, 0.030310922139456156];
    for (let i = 0; i < 6; i++) expectClose(grad[i], g[i], 'f64', 1, `grad[${i}]`);
    // float32: the same within float32's bound
    expectClose(sigmoidCrossEntropy(new Float32Array(x), new Float32Array(y)), 0.48301200124256566, 'f32', undefined, 'f32 mean');
  });

  it('written-in values: TF.js sigmoidCrossEntropy label smoothing, y → (1 − ε)·y + ε/2 (TF.js 4.22, cpu backend, float32)', () => {
    const x = new Float32Array([-2.5, 0, 1.5, 3, -0.75, 4.25]), y = new Float32Array([0, 1, 0.3, 1, 0, 0.9]);
    expectClose(sigmoidCrossEntropy(x, y, { labelSmoothing: 0.1 }), 0.5584287047386169, 'f32', undefined, 'ε = 0.1');
    const none = sigmoidCrossEntropy(x, y, { labelSmoothing: 0.2, reduction: 'none' });
    const tf = [0.32888972759246826, 0.6931471824645996, 1.1914132833480835, 0.348587304353714, 0.46187102794647217, 0.7791635394096375];
    for (let i = 0; i < 6; i++) expectClose(none[i], tf[i], 'f32', undefined, `none[${i}]`);
  });

  it('every gradient against central differences of the loss (float64, as gradcheck)', () => {
    const random = rng(99);
    const n = 14, cols = 7;
    const x = randomLogits(n, random, Float64Array, 2);
    const y = randomTargets(n, random, Float64Array);
    const opts = [
      { reduction: 'sum' },
      { reduction: 'mean' },
      { reduction: 'none' },
      { cols, posWeight: Array.from({ length: cols }, () => 0.5 + random()), weights: Array.from({ length: n }, () => random()), reduction: 'sum' },
      { cols, labelSmoothing: 0.2, base: 2, reduction: 'mean' },
    ] as const;
    for (const o of opts) {
      const grad = new Float64Array(n);
      sigmoidCrossEntropy(x, y, { ...o, grad });
      const f = (z: Float64Array) => {
        const v = sigmoidCrossEntropy(z, y, o as never) as number | Float64Array;
        return typeof v === 'number' ? v : fsum(v);
      };
      for (let i = 0; i < n; i++) {
        const h = 1e-6 * Math.max(1, Math.abs(x[i]));
        const a = Float64Array.from(x), c = Float64Array.from(x);
        a[i] += h;
        c[i] -= h;
        const num = (f(a) - f(c)) / (a[i] - c[i]);
        if (!(Math.abs(num - grad[i]) <= 1e-7 * (1 + Math.abs(grad[i])))) expect.fail(`${JSON.stringify(o)} grad[${i}] = ${grad[i]}, central difference ${num}`);
      }
    }
  });

  describe('huge and infinite logits', () => {
    for (const Type of TYPES) {
      const t = dtypeOf(Type);
      it(`±80 and ±1e4 exactly right, no overflow, no NaN ${Type.name}`, () => {
        const x = new Type([80, 80, -80, -80, 1e4, 1e4, -1e4, -1e4, 30, -30]);
        const y = new Type([1, 0, 1, 0, 1, 0, 1, 0, 0.5, 0.5]);
        const grad = new Type(10);
        const none = sigmoidCrossEntropy(x, y, { reduction: 'none', grad });
        const e80 = Math.exp(-80);
        expectLosses(none, [e80, 80 + e80, 80 + e80, e80, 0, 1e4, 1e4, 0, 15 + Math.log1p(Math.exp(-30)), 15 + Math.log1p(Math.exp(-30))], t, 'losses');
        expect(none[4]).toBe(0);
        expect(none[7]).toBe(0);
        expect(none[1]).toBe(80);
        expectGrad(grad, [-e80 / (1 + e80), 1 / (1 + e80), -1 / (1 + e80), e80 / (1 + e80), -0, 1, -1, 0, 0.5 - sigma(-30), -(0.5 - sigma(-30))],
          [e80, 1, 1, e80, 0, 1, 1, 0, 1, 1], 1, t, 'grad');
        expect(Array.from(none).some(Number.isNaN)).toBe(false);
      });

      it(`±Infinity: a zero coefficient's term is 0 (no NaN), else Infinity; NaN logits give NaN ${Type.name}`, () => {
        const x = new Type([-Infinity, Infinity, -Infinity, Infinity, Infinity, 0.5]);
        const y = new Type([0, 1, 1, 0, 0.5, 0]);
        const grad = new Type(6);
        const none = sigmoidCrossEntropy(x, y, { reduction: 'none', grad });
        expect(Array.from(none)).toEqual([0, 0, Infinity, Infinity, Infinity, none[5]]);
        expect(Array.from(grad).slice(0, 5)).toEqual([0, 0, -1, 1, 0.5]);
        expect(sigmoidCrossEntropy(new Type([-Infinity, 1, 2]), new Type([0, 1, 0]))).toBeCloseTo((softplus(-1) + softplus(2)) / 3, 5);
        expect(sigmoidCrossEntropy(new Type([1, NaN, 2]), new Type([0, 1, 0]))).toBeNaN();
        const n2 = sigmoidCrossEntropy(new Type([1, NaN, 2]), new Type([0, 1, 0]), { reduction: 'none' });
        expect(n2[1]).toBeNaN();
        expect(n2[0]).toBeCloseTo(softplus(1), 6);
        // a zero weight on an infinite loss is 0, not NaN; NaN logits stay NaN under a zero weight
        const zw = sigmoidCrossEntropy(new Type([-Infinity, 1]), new Type([1, 0]), { weights: [0, 1], reduction: 'none' });
        expect(zw[0]).toBe(0);
        expectClose(zw[1], softplus(1), t);
        expect(sigmoidCrossEntropy(new Type([NaN, 1]), new Type([1, 0]), { weights: [0, 1], reduction: 'none' })[0]).toBeNaN();
      });
    }
  });

  it('empty input: mean 0 (PyTorch: NaN), sum 0, none empty', () => {
    for (const Type of TYPES) {
      expect(sigmoidCrossEntropy(new Type(0), new Type(0))).toBe(0);
      expect(sigmoidCrossEntropy(new Type(0), new Type(0), { reduction: 'sum' })).toBe(0);
      expect(sigmoidCrossEntropy(new Type(0), new Type(0), { reduction: 'none', cols: 3 })).toEqual(new Float64Array(0));
      expect(sigmoidCrossEntropy([], [], { grad: new Type(0) })).toBe(0);
    }
  });

  it('base: bits are nats / ln 2, the gradient too', () => {
    const x = [0.3, -1.2, 2], y = [1, 0, 0.25];
    const g1 = new Float64Array(3), g2 = new Float64Array(3);
    const nats = sigmoidCrossEntropy(x, y, { grad: g1 });
    expectClose(sigmoidCrossEntropy(x, y, { base: 2, grad: g2 }), nats / Math.LN2, 'f64');
    for (let i = 0; i < 3; i++) expectClose(g2[i], g1[i] / Math.LN2, 'f64');
  });

  it('mixed inputs: number[] targets with Float32Array logits compute in float64; a Float64Array grad of float32 logits', () => {
    const x = new Float32Array([0.5, -2, 3]), y = [1, 0, 0.5];
    const r = refBce(x, y);
    expectClose(sigmoidCrossEntropy(x, y), fsum(r.loss) / 3, 'f64');
    const g = new Float64Array(3);
    sigmoidCrossEntropy(x, new Float32Array(y), { grad: g });
    expectGrad(g, r.grad, r.gmag, 1 / 3, 'f32', 'grad');
    expectClose(sigmoidCrossEntropy(x, new Uint8Array([1, 0, 1])), fsum(refBce(x, [1, 0, 1]).loss) / 3, 'f64');
  });

  it('subnormal targets are 0 to within the bound', () => {
    const x = new Float32Array([1, -2, 3, 0.5, 4, -1]), y = new Float32Array([1e-40, 0.5, 3e-39, 1, 1e-45, 0]);
    expectClose(sigmoidCrossEntropy(x, y), fsum(refBce(x, y).loss) / 6, 'f32');
  });

  it('rows are computed on their own: any split of the rows gives the same bits (the pool)', () => {
    for (const Type of TYPES) {
      for (const cols of [3, 5, 64, 130]) {
        const random = rng(cols);
        const rows = 23, n = rows * cols;
        const x = randomLogits(n, random, Type), y = randomTargets(n, random, Type);
        const pw = new Type(cols).map(() => 2 * random());
        const f32 = Type === Float32Array;
        const run = (r0: number, r1: number) => {
          const res = new Float64Array(r1 - r0), grad = new Type((r1 - r0) * cols), losses = new Float64Array((r1 - r0) * cols);
          currentEngine().run('sigmoidCrossEntropyRows', f32, [x.subarray(r0 * cols, r1 * cols), y.subarray(r0 * cols, r1 * cols), r1 - r0, cols, null, 0, pw, 0.05, 1, 0.01, grad, res, losses, null]);
          const fres = new Float64Array(r1 - r0);
          currentEngine().run('sigmoidFocalLossRows', f32, [x.subarray(r0 * cols, r1 * cols), y.subarray(r0 * cols, r1 * cols), r1 - r0, cols, 0.25, 1.5, 1, 0.01, null, fres, null, null]);
          return { res, grad, losses, fres };
        };
        const all = run(0, rows), a = run(0, 9), c = run(9, rows);
        expect(Array.from(all.res)).toEqual([...a.res, ...c.res]);
        expect(Array.from(all.fres)).toEqual([...a.fres, ...c.fres]);
        expect(Array.from(all.grad)).toEqual([...a.grad, ...c.grad]);
        expect(Array.from(all.losses)).toEqual([...a.losses, ...c.losses]);
      }
    }
  });

  if (b !== 'js') {
    describe('rows longer than the window stream in segments', () => {
      afterAll(async () => {
        await init({ backend: b, window: DEFAULT_WINDOW });
      });
      it('a 300 000-element row with a 1 MiB window', async () => {
        await init({ backend: b as Backend, window: MIN_WINDOW });
        const random = rng(3);
        const n = 300_000;
        const x = randomLogits(n, random, Float64Array), y = randomTargets(n, random, Float64Array);
        const w = new Float64Array(n).map(() => random());
        const r = refBce(x, y, { weights: w, posWeight: [1.5] });
        const grad = new Float64Array(n);
        expectClose(sigmoidCrossEntropy(x, y, { weights: w, posWeight: 1.5, reduction: 'sum', grad }), fsum(r.loss), 'f64', undefined, 'sum');
        expectGrad(grad, r.grad, r.gmag, 1, 'f64', 'grad');
        const f = refFocal(x, y, 0.3, 2);
        expectClose(sigmoidFocalLoss(x, y, { alpha: 0.3, reduction: 'sum' }), fsum(f.loss), 'f64', undefined, 'focal sum');
        const x32 = new Float32Array(x), y32 = new Float32Array(y);
        expectClose(sigmoidCrossEntropy(x32, y32, { cols: n }), fsum(refBce(x32, y32).loss) / n, 'f32', undefined, 'f32 mean');
      });
    });
  }

  describe('errors', () => {
    it('shapes and types: TypeError', () => {
      expect(() => sigmoidCrossEntropy([1, 2], [1])).toThrow(TypeError);
      expect(() => sigmoidCrossEntropy([1, 2], [1])).toThrow(/logits and targets must have the same length, got 2 and 1/);
      expect(() => sigmoidCrossEntropy('x' as never, [1])).toThrow(/logits must be an array/);
      expect(() => sigmoidCrossEntropy([1, 2, 3, 4], [1, 0, 1, 0], { cols: 2.5 })).toThrow(TypeError);
      expect(() => sigmoidCrossEntropy([1, 2, 3, 4], [1, 0, 1, 0], { cols: 2, weights: [1, 2, 3] })).toThrow(/weights must have one entry per element \(4\) or per class \(2\), got length 3/);
      expect(() => sigmoidCrossEntropy([1, 2, 3, 4], [1, 0, 1, 0], { cols: 2, posWeight: [1, 2, 3] })).toThrow(/posWeight must have one entry per class \(2\) or be one number, got length 3/);
      expect(() => sigmoidCrossEntropy([1, 2], [1, 0], { grad: new Float32Array(3) })).toThrow(/grad must have length 2, got 3/);
      expect(() => sigmoidCrossEntropy([1, 2], [1, 0], { grad: [0, 0] as never })).toThrow(TypeError);
      expect(() => sigmoidCrossEntropy([1, 2], [1, 0], { reduction: 3 as never })).toThrow(TypeError);
      expect(() => sigmoidCrossEntropy([1, 2], [1, 0], { labelSmoothing: '0.1' as never })).toThrow(TypeError);
    });

    it('unknown options: TypeError naming the nearest one', () => {
      expect(() => sigmoidCrossEntropy([1], [1], { posweight: 2 } as never)).toThrow(/unknown option 'posweight' \(did you mean 'posWeight'\?\)/);
      expect(() => sigmoidCrossEntropy([1], [1], { gamma: 2 } as never)).toThrow(TypeError);
      expect(() => sigmoidFocalLoss([1], [1], { alhpa: 2 } as never)).toThrow(/did you mean 'alpha'/);
      expect(() => sigmoidFocalLoss([1], [1], { posWeight: 2 } as never)).toThrow(/unknown option 'posWeight'/);
    });

    it('values out of their domains: RangeError naming the entry', () => {
      expect(() => sigmoidCrossEntropy([1, 2, 3], [1, 0, 2])).toThrow(RangeError);
      expect(() => sigmoidCrossEntropy([1, 2, 3], [1, 0, 2])).toThrow(/targets\[2\] is 2; targets must be in \[0, 1\]/);
      expect(() => sigmoidCrossEntropy([1, 2, 3, 4], [1, 0, 0, -0.5], { cols: 2 })).toThrow(/targets\[3\] \(row 1, entry 1\) is -0.5/);
      expect(() => sigmoidCrossEntropy(new Float32Array(100), new Float32Array(100).fill(NaN), { cols: 10 })).toThrow(/targets\[0\] \(row 0, entry 0\) is NaN/);
      expect(() => sigmoidCrossEntropy([1, 2, 3], [1, 0, 0], { cols: 2 })).toThrow(/length 3 is not a multiple of cols = 2/);
      expect(() => sigmoidCrossEntropy([1, 2, 3], [1, 0, 0], { cols: 2 })).toThrow(RangeError);
      expect(() => sigmoidCrossEntropy([1, 2], [1, 0], { weights: [1, -1] })).toThrow(/weights\[1\] is -1; weights must be finite and non-negative/);
      expect(() => sigmoidCrossEntropy([1, 2], [1, 0], { weights: [1, Infinity] })).toThrow(RangeError);
      expect(() => sigmoidCrossEntropy([1, 2, 3, 4], [1, 0, 1, 0], { cols: 2, weights: [1, -2] })).toThrow(/weights\[1\] is -2/);
      expect(() => sigmoidCrossEntropy([1, 2], [1, 0], { posWeight: -1 })).toThrow(/posWeight is -1; posWeight must be finite and non-negative/);
      expect(() => sigmoidCrossEntropy([1, 2], [1, 0], { posWeight: [1, NaN] })).toThrow(/posWeight\[1\] is NaN/);
      expect(() => sigmoidCrossEntropy([1, 2], [1, 0], { labelSmoothing: 1 })).toThrow(/labelSmoothing must be in \[0, 1\), got 1/);
      expect(() => sigmoidCrossEntropy([1, 2], [1, 0], { reduction: 'avg' as never })).toThrow(RangeError);
      expect(() => sigmoidCrossEntropy([1, 2], [1, 0], { base: 1 })).toThrow(RangeError);
      const x = new Float64Array(4);
      expect(() => sigmoidCrossEntropy(x, [1, 0, 1, 0], { grad: x })).toThrow(/grad overlaps logits/);
      // a target checked by the kernel in a wide row, the float32 path, the per-element weight
      const big = new Float32Array(1000), yb = new Float32Array(1000);
      yb[777] = 1.5;
      expect(() => sigmoidCrossEntropy(big, yb, { cols: 500 })).toThrow(/targets\[777\] \(row 1, entry 277\) is 1.5/);
      const wb = new Float32Array(1000).fill(1);
      wb[3] = -0.25;
      expect(() => sigmoidCrossEntropy(big, new Float32Array(1000), { weights: wb })).toThrow(/weights\[3\] is -0.25/);
      // a NaN target: the SIMD kernels' max(0, ·) terms hid it, in float64 and in a float32
      // row's last, partial vector (found by fuzz/run.js)
      for (const Type of [Float64Array, Float32Array]) {
        for (const [n, cols] of [[100, undefined], [1001, undefined], [103, undefined], [100, 4], [30, 10], [1000, 100], [128, 64]] as const) {
          for (const at of [0, 5, n - 2, n - 1]) {
            const x = new Type(n).map((_, i) => Math.sin(i)), y = new Type(n).fill(0.5), w = new Type(n).fill(1);
            y[at] = NaN;
            expect(() => sigmoidCrossEntropy(x, y, { cols }), `${Type.name} ${n} ${cols} ${at}`).toThrow(/is NaN; targets must be in \[0, 1\]/);
            expect(() => sigmoidCrossEntropy(x, y, { cols, weights: w, grad: new Type(n) }), `${Type.name} ${n} ${cols} ${at} weighted`).toThrow(RangeError);
          }
        }
      }
      // nothing is left behind: the next call is right
      expect(sigmoidCrossEntropy([0], [1])).toBeCloseTo(Math.LN2, 14);
    });
  });
});

onEachBackend('sigmoidFocalLoss', () => {
  describe('every length against a float64 reference', () => {
    for (const Type of TYPES) {
      for (const n of LENGTHS) {
        it(`n = ${n} ${Type.name}`, () => {
          const random = rng(n * 11 + (Type === Float32Array ? 3 : 4));
          const x = randomLogits(n, random, Type);
          const y = randomTargets(n, random, Type);
          const t = dtypeOf(Type);
          for (const [alpha, gamma] of [[0.25, 2], [-1, 0], [0.6, 1], [0.25, 1.5], [0.9, 3]]) {
            const r = refFocal(x, y, alpha, gamma);
            const grad = new Type(n);
            const mean = sigmoidFocalLoss(x, y, { alpha, gamma, grad });
            const what = `α ${alpha} γ ${gamma}`;
            expectClose(mean, n ? fsum(r.loss) / n : 0, t, n ? fsum(r.loss.map(Math.abs)) / n : 0, `${what} mean`);
            expectGrad(grad, r.grad, r.gmag, n ? 1 / n : 0, t, `${what} grad`);
            expectLosses(sigmoidFocalLoss(x, y, { alpha, gamma, reduction: 'none' }), r.loss, t, `${what} none`);
          }
        });
      }
    }
  });

  describe('rows of every width', () => {
    for (const Type of TYPES) {
      for (const cols of [1, 3, 4, 7, 63, 64, 65, 100]) {
        it(`cols = ${cols} ${Type.name}`, () => {
          const random = rng(cols * 17 + 1);
          const rows = 1 + Math.floor(random() * 30), n = rows * cols;
          const x = randomLogits(n, random, Type, 4), y = randomTargets(n, random, Type);
          const t = dtypeOf(Type);
          for (const gamma of [2, 0.5]) {
            const r = refFocal(x, y, 0.25, gamma);
            const grad = new Type(n);
            expectLosses(sigmoidFocalLoss(x, y, { cols, gamma, reduction: 'none', grad }), r.loss, t, `γ ${gamma} none`);
            expectGrad(grad, r.grad, r.gmag, 1, t, `γ ${gamma} grad`);
            expectClose(sigmoidFocalLoss(x, y, { cols, gamma, reduction: 'sum' }), fsum(r.loss), t, undefined, `γ ${gamma} sum`);
          }
        });
      }
    }
  });

  it('written-in values: torchvision.ops.sigmoid_focal_loss (its formula in numpy float64)', () => {
    const x = [-2.5, 0, 1.5, 3, -0.75, 4.25], y = [0, 1, 0.3, 1, 0, 0.9];
    const none = [0.0003404760709713772, 0.04332169878499658, 0.2952081606241693, 2.7320831124249216e-05, 0.029864402976805392, 0.0016306266224972497];
    expectLosses(sigmoidFocalLoss(x, y, { reduction: 'none' }), none, 'f64', 'none');
    expectClose(sigmoidFocalLoss(x, y), 0.06173211431842735, 'f64', undefined, 'mean');
    expectClose(sigmoidFocalLoss(x, y, { alpha: -1, gamma: 1.5, reduction: 'sum' }), 0.9551568457262419, 'f64', undefined, 'α −1 γ 1.5');
    expectClose(sigmoidFocalLoss(x, y, { alpha: 0.6, gamma: 0, reduction: 'sum' }), 1.461709928335531, 'f64', undefined, 'α 0.6 γ 0');
    expectClose(sigmoidFocalLoss(new Float32Array(x), new Float32Array(y)), 0.06173211431842735, 'f32', undefined, 'f32 mean');
  });

  it('γ = 0 is the cross-entropy times α_t, its gradient too; α < 0 and γ = 0 is the cross-entropy', () => {
    const random = rng(5);
    const x = randomLogits(40, random, Float64Array), y = randomTargets(40, random, Float64Array);
    const g1 = new Float64Array(40), g2 = new Float64Array(40);
    expectClose(sigmoidFocalLoss(x, y, { alpha: -1, gamma: 0, grad: g1 }), sigmoidCrossEntropy(x, y, { grad: g2 }), 'f64');
    for (let i = 0; i < 40; i++) expectClose(g1[i], g2[i], 'f64', Math.abs(g2[i]) + 1e-3);
    const yb = y.map((v) => (v > 0.5 ? 1 : 0));
    const g3 = new Float64Array(40);
    const fl = sigmoidFocalLoss(x, yb, { alpha: 0.3, gamma: 0, reduction: 'none', grad: g3 });
    const ce = sigmoidCrossEntropy(x, yb, { reduction: 'none', grad: g2 });
    for (let i = 0; i < 40; i++) {
      const at = yb[i] ? 0.3 : 0.7;
      expectClose(fl[i], at * ce[i], 'f64');
      expectClose(g3[i], at * g2[i], 'f64', Math.abs(g2[i]) + 1e-3);
    }
  });

  it('every gradient against central differences of the loss (float64)', () => {
    const random = rng(77);
    const n = 12;
    const x = randomLogits(n, random, Float64Array, 2), y = randomTargets(n, random, Float64Array);
    for (const [alpha, gamma, reduction] of [[0.25, 2, 'sum'], [-1, 0.5, 'mean'], [0.7, 1, 'sum'], [0.4, 3.5, 'none'], [0.5, 0, 'sum']] as const) {
      const grad = new Float64Array(n);
      sigmoidFocalLoss(x, y, { alpha, gamma, reduction, grad });
      const f = (z: Float64Array) => {
        const v = sigmoidFocalLoss(z, y, { alpha, gamma, reduction }) as number | Float64Array;
        return typeof v === 'number' ? v : fsum(v);
      };
      for (let i = 0; i < n; i++) {
        const h = 1e-6 * Math.max(1, Math.abs(x[i]));
        const a = Float64Array.from(x), c = Float64Array.from(x);
        a[i] += h;
        c[i] -= h;
        const num = (f(a) - f(c)) / (a[i] - c[i]);
        if (!(Math.abs(num - grad[i]) <= 1e-7 * (1 + Math.abs(grad[i])))) expect.fail(`α ${alpha} γ ${gamma} grad[${i}] = ${grad[i]}, central difference ${num}`);
      }
    }
  });

  it('edges: targets exactly 0 and 1 at huge and infinite logits, 0⁰ = 1, NaN', () => {
    for (const Type of TYPES) {
      const t = dtypeOf(Type);
      const x = new Type([80, -80, 1e4, -1e4, Infinity, -Infinity, Infinity, -Infinity]);
      const y = new Type([1, 0, 0, 1, 1, 0, 0, 1]);
      for (const gamma of [0, 1, 2, 0.5]) {
        const grad = new Type(8);
        const none = sigmoidFocalLoss(x, y, { gamma, alpha: 0.25, reduction: 'none', grad });
        const r = refFocal(x, y, 0.25, gamma);
        expectLosses(none, r.loss, t, `γ ${gamma}`);
        expect(Array.from(none).some(Number.isNaN), `γ ${gamma} NaN`).toBe(false);
        expect(Array.from(grad).some(Number.isNaN), `γ ${gamma} grad NaN`).toBe(false);
        expectGrad(grad, r.grad, r.gmag, 1, t, `γ ${gamma} grad`);
      }
      // α = 1 with target 0 zeroes the infinite loss of +∞: 0, not NaN
      expect(sigmoidFocalLoss(new Type([Infinity]), new Type([0]), { alpha: 1, reduction: 'sum' })).toBe(0);
      expect(sigmoidFocalLoss(new Type([NaN, 0]), new Type([0, 1]), { reduction: 'none' })[0]).toBeNaN();
      expect(sigmoidFocalLoss(new Type(0), new Type(0))).toBe(0);
    }
  });

  it('errors', () => {
    expect(() => sigmoidFocalLoss([1], [1], { alpha: 1.5 })).toThrow(/alpha must be at most 1 \(a negative alpha turns the weighting off\), got 1.5/);
    expect(() => sigmoidFocalLoss([1], [1], { alpha: 1.5 })).toThrow(RangeError);
    expect(() => sigmoidFocalLoss([1], [1], { alpha: NaN })).toThrow(RangeError);
    expect(() => sigmoidFocalLoss([1], [1], { gamma: -1 })).toThrow(/gamma must be finite and non-negative, got -1/);
    expect(() => sigmoidFocalLoss([1], [1], { gamma: Infinity })).toThrow(RangeError);
    expect(() => sigmoidFocalLoss([1], [1], { gamma: '2' as never })).toThrow(TypeError);
    expect(() => sigmoidFocalLoss([1, 2], [0.5, 1.25], { cols: 2 })).toThrow(/targets\[1\] \(row 0, entry 1\) is 1.25/);
    expect(() => sigmoidFocalLoss([1, 2], [1])).toThrow(TypeError);
    // a NaN target with α off: nothing else made the loss NaN, in float64 and in a float32
    // row's last, partial vector (found by fuzz/run.js)
    for (const Type of [Float64Array, Float32Array]) {
      for (const [n, cols] of [[9, undefined], [100, undefined], [1001, 13], [1000, 100], [103, undefined], [30, 10]] as const) {
        for (const gamma of [0, 2, 7.3]) {
          const x = new Type(n).map((_, i) => Math.sin(i)), y = new Type(n).fill(0.5);
          y[n - 1] = NaN;
          expect(() => sigmoidFocalLoss(x, y, { cols, alpha: -1, gamma }), `${Type.name} ${n} ${cols} ${gamma}`).toThrow(/is NaN; targets must be in \[0, 1\]/);
        }
      }
    }
    expect(sigmoidFocalLoss([0, 0], [1, 0], { alpha: -1 })).toBeCloseTo(Math.LN2 / 4, 15);
  });
});

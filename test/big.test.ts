// Inputs past every size the module's memory could hold: 2^30 + 16 float32 and 2^29 + 16
// float64 elements (4 GiB each; the wasm memory is 32-bit), and the 2 GiB sizes just past
// 2^31 bytes, every function, rows longer than the window and matrices of short rows,
// on the best wasm backend and the JS one.  The inputs are zeros with one entry of 5 (and
// ones for probabilities), so every exact value is a closed form in n.  Then: memory.
//
// They need ~13 GB of free memory and minutes: run with SURPRISAL_BIG=1 (CI sets it: its
// machines have 24 GB), skipped otherwise with the reason printed.
import { freemem } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as S from '../src/index.js';
import { init, supported } from '../src/backend.js';

const WANTED = process.env.SURPRISAL_BIG === '1';
const ROOM = freemem() > 13 * 2 ** 30;
const RUN = WANTED && ROOM;
if (!RUN) console.log(`big.test: skipped (${!WANTED ? 'set SURPRISAL_BIG=1 to run it' : `needs 13 GB free, has ${(freemem() / 2 ** 30).toFixed(1)} GB`})`);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const TIMEOUT = 1_200_000;

/** Relative error of got against want (want ≠ 0). */
const rel = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);

type Float = Float32Array | Float64Array;

/** The functions of a size: every one (`all`), or the map, the reductions and the loss (`core`). */
function suite(Type: Float32ArrayConstructor | Float64ArrayConstructor, n: number, backend: 'best' | 'js', set: 'all' | 'core') {
  const more = set === 'all' ? it : it.skip;
  const f32 = Type === Float32Array;
  const tol = f32 ? 2e-6 : 1e-13;
  let x: Float, out: Float, ones: Float;
  // x: n − 1 zeros and a 5 at the end; S = Σ exp(x − 5) = 1 + (n − 1)e⁻⁵
  const e5 = Math.exp(-5);
  const S5 = 1 + (n - 1) * e5;
  const lse = 5 + Math.log(S5);

  beforeAll(async () => {
    await init({ backend: backend === 'best' ? supported()[0] : 'js' });
    x = new Type(n);
    x[n - 1] = 5;
    out = new Type(n);
    ones = new Type(n).fill(1);
  }, TIMEOUT);

  afterAll(() => {
    x = out = ones = null as never;
    gc();
  });

  it('logSumExp, a row and rows of 16; signed and weighted; the accumulator', () => {
    expect(rel(S.logSumExp(x), lse)).toBeLessThanOrEqual(tol);
    const rows = S.logSumExp(x, { cols: 16 });
    expect(rows.length).toBe(n / 16);
    expect(rows[0]).toBeCloseTo(Math.log(16), f32 ? 5 : 13);
    expect(rows[n / 16 - 2]).toBeCloseTo(Math.log(16), f32 ? 5 : 13);
    expect(rel(rows[n / 16 - 1], 5 + Math.log(1 + 15 * e5))).toBeLessThanOrEqual(tol);
    expect(rel(S.logSumExp(x, { weights: ones }), lse)).toBeLessThanOrEqual(tol);
    const signed = S.signedLogSumExp(x, { weights: ones });
    expect(signed.sign).toBe(1);
    expect(rel(signed.value, lse)).toBeLessThanOrEqual(tol);
    expect(rel(S.createLogSumExp().add(x).value, lse)).toBeLessThanOrEqual(tol);
  }, TIMEOUT);

  it('softmax and logSoftmax into out, a row longer than the window', () => {
    S.softmax(x, { out });
    expect(rel(out[0], e5 / S5)).toBeLessThanOrEqual(tol);
    expect(rel(out[n >> 1], e5 / S5)).toBeLessThanOrEqual(tol);
    expect(rel(out[n - 1], 1 / S5)).toBeLessThanOrEqual(tol);
    S.logSoftmax(x, { out });
    expect(rel(out[0], -5 - Math.log(S5))).toBeLessThanOrEqual(tol);
    expect(rel(out[n - 1], -Math.log(S5))).toBeLessThanOrEqual(tol);
  }, TIMEOUT);

  more('softmaxEntropy and softmaxKlDivergence from the logits', () => {
    // H = log S − (1/S)·Σ e·t, t = x − 5: (n − 1) terms e⁻⁵·(−5)
    const H = Math.log(S5) + (5 * (n - 1) * e5) / S5;
    expect(rel(S.softmaxEntropy(x), H)).toBeLessThanOrEqual(tol);
    out.fill(0);
    // D(softmax(x) ‖ uniform) = Σ p·log(n·p) = 5/S − log1p(c), c = (1 − e⁻⁵)/(n·e⁻⁵), without
    // the cancellation of log n − H
    const kl = 5 / S5 - Math.log1p(-Math.expm1(-5) / (n * e5));
    expect(rel(S.softmaxKlDivergence(x, out), kl)).toBeLessThanOrEqual(tol);
  }, TIMEOUT);

  it('softmaxCrossEntropy of one row of n classes, with its gradient, and of rows of 16', () => {
    const loss = S.softmaxCrossEntropy(x, [n - 1], { cols: n, grad: out }) as number;
    expect(rel(loss, Math.log(S5))).toBeLessThanOrEqual(tol);
    expect(rel(out[0], e5 / S5)).toBeLessThanOrEqual(tol);
    expect(rel(out[n - 1], 1 / S5 - 1)).toBeLessThanOrEqual(tol);
    const labels = new Int32Array(n / 16); // class 0 of each row of 16
    const mean = S.softmaxCrossEntropy(x, labels, { cols: 16 }) as number;
    const last = 5 + Math.log(1 + 15 * e5); // the last row's loss, lse − 0
    const want = ((n / 16 - 1) * Math.log(16) + last) / (n / 16);
    expect(rel(mean, want)).toBeLessThanOrEqual(tol);
  }, TIMEOUT);

  more('the sigmoid losses', () => {
    // softplus(−x) with target 1: n − 1 entries log 2, one log1p(e⁻⁵)
    const want = ((n - 1) * Math.LN2 + Math.log1p(e5)) / n;
    expect(rel(S.sigmoidCrossEntropy(x, ones) as number, want)).toBeLessThanOrEqual(tol);
    expect(Number.isFinite(S.sigmoidFocalLoss(x, ones) as number)).toBe(true);
  }, TIMEOUT);

  it('entropy of n equal counts; cross-entropy, KL and JS of them', () => {
    const logn = Math.log(n);
    expect(rel(S.entropy(ones, { normalize: true }), logn)).toBeLessThanOrEqual(1e-13);
    if (set === 'core') return;
    expect(rel(S.crossEntropy(ones, ones, { normalize: true }), logn)).toBeLessThanOrEqual(1e-13);
    expect(Math.abs(S.klDivergence(ones, ones, { normalize: true }))).toBeLessThanOrEqual(1e-15);
    expect(Math.abs(S.jsDivergence(ones, ones, { normalize: true }))).toBeLessThanOrEqual(1e-15);
    const rows = S.entropy(ones, { normalize: true, cols: 16 });
    expect(rows[n / 16 - 1]).toBeCloseTo(Math.log(16), 14);
    expect(rel(S.createEntropy().add(ones).value, logn)).toBeLessThanOrEqual(1e-13);
  }, TIMEOUT);

  more('mutual information of an independent table and its conditional entropy', () => {
    const mi = S.mutualInformation(ones, { cols: 16, normalize: true });
    expect(Math.abs(mi)).toBeLessThanOrEqual(1e-12);
    expect(rel(S.conditionalEntropy(ones, { cols: 16, normalize: true }), Math.log(16))).toBeLessThanOrEqual(1e-12);
  }, TIMEOUT);
}

describe.runIf(RUN)('big inputs', () => {
  let rss0 = 0;
  beforeAll(() => {
    gc();
    rss0 = process.memoryUsage().rss;
  });

  describe('float32, 2^30 + 16 elements (4 GiB), best wasm backend', () => suite(Float32Array, 2 ** 30 + 16, 'best', 'all'));
  describe('float64, 2^29 + 16 elements (4 GiB), best wasm backend', () => suite(Float64Array, 2 ** 29 + 16, 'best', 'all'));
  describe('float32, 2^29 + 16 elements (2 GiB), JS backend', () => suite(Float32Array, 2 ** 29 + 16, 'js', 'core'));
  describe('float64, 2^28 + 16 elements (2 GiB), best wasm backend', () => suite(Float64Array, 2 ** 28 + 16, 'best', 'core'));

  it('the module memory stayed at its window, and the process within 100 MB of where it started', async () => {
    gc();
    await new Promise((r) => setTimeout(r, 100));
    gc();
    const grew = process.memoryUsage().rss - rss0;
    expect(grew).toBeLessThanOrEqual(100 * 2 ** 20);
  });

  it('a WasmArray past the 4 GiB memory is a RangeError saying so', async () => {
    await init({ backend: supported()[0] });
    expect(() => S.allocate(Float32Array, 2 ** 30)).toThrow(/WebAssembly memory holds at most 4 GiB/);
  });
});

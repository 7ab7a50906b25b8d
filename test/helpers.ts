// Shared by the suites: run a block once per backend, and compare against references
// with the SPEC's accuracy bounds.
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { init, backend, type Backend } from '../src/index.js';
import { setSmallInputCutoff, supported } from '../src/backend.js';

/**
 * Inside a `describe`: its tests run with a staging window of `bytes` (default 1 MiB, the
 * smallest) on the backend in use, so that modest inputs stream through it in segments;
 * the default window (32 MiB) is restored after.
 */
export function withSmallWindow(bytes = 1 << 20): void {
  let b: Backend = 'js';
  beforeAll(async () => {
    b = backend();
    await init({ backend: b, window: bytes });
  });
  afterAll(async () => {
    await init({ backend: b, window: 32 * 2 ** 20 });
  });
}

/** Every backend this engine runs: wasm-relaxed where relaxed SIMD is on (Node ≥ 22), then wasm-simd, wasm, js. */
export const BACKENDS: readonly Backend[] = [...supported(), 'js'];

/**
 * `describe` the same block on every backend.  The small-input cutoff is 0 so that
 * the wasm kernels themselves (tails included) run at every length.
 */
export function onEachBackend(title: string, body: (b: Backend) => void): void {
  describe.each(BACKENDS)(`${title} [%s]`, (b) => {
    beforeAll(async () => {
      await init({ backend: b });
      setSmallInputCutoff(0);
      expect(backend()).toBe(b);
    });
    body(b);
  });
}

/** SPEC accuracy: float64 1e-13 relative (1e-15 absolute near 0); float32 2e-6 relative. */
export const REL = { f64: 1e-13, f32: 2e-6 } as const;
export const ABS = { f64: 1e-15, f32: 1e-44 } as const;

/**
 * The smallest normal number of each float type.  SPEC: "a result below the smallest normal
 * number of its type (a softmax entry under 1.2e-38 in float32, 2.2e-308 in float64) may be
 * returned exactly or as 0: the bounds above apply to normal results" (0.2 returns such
 * exponentials as 0).
 */
export const MIN_NORMAL = { f32: 2 ** -126, f64: 2 ** -1022 } as const;

/**
 * True when a result whose exact value `want` is below the normal range of `dtype` (and not
 * 0) is itself below it: the SPEC's bounds do not apply to it (see MIN_NORMAL).
 */
export function belowNormal(got: number, want: number, dtype: 'f32' | 'f64'): boolean {
  const min = MIN_NORMAL[dtype];
  return want !== 0 && Math.abs(want) < min && Math.abs(got) < min && (got === 0 || Math.sign(got) === Math.sign(want));
}

/**
 * |got − want| within the bound for `dtype`, relative to `mag` (the sum of the
 * magnitudes of the result's terms; |want| when not given).
 */
export function expectClose(got: number, want: number, dtype: 'f32' | 'f64', mag = Math.abs(want), what = ''): void {
  if (Number.isNaN(want)) {
    expect(got, what).toBeNaN();
    return;
  }
  if (!Number.isFinite(want)) {
    expect(got, what).toBe(want);
    return;
  }
  const tol = REL[dtype] * Math.max(mag, Math.abs(want)) + ABS[dtype];
  const err = Math.abs(got - want);
  if (!(err <= tol)) {
    expect.fail(`${what}: got ${got}, want ${want} (error ${err.toExponential(3)} > tolerance ${tol.toExponential(3)})`);
  }
}

/** Elementwise `expectClose`. */
export function expectAllClose(got: ArrayLike<number>, want: ArrayLike<number>, dtype: 'f32' | 'f64', mag?: ArrayLike<number>, what = ''): void {
  expect(got.length, `${what} length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) expectClose(got[i], want[i], dtype, mag ? mag[i] : Math.abs(want[i]), `${what}[${i}]`);
}

// The seeded generator (mulberry32, so failures reproduce) and the random inputs: one
// definition, in the plain-JavaScript module the browser pages and the fuzzer load too.
export { randomDistribution, randomLogits, rng } from './pool-cases.js';

/** Σ xᵢ with Neumaier's compensation: the references below are exact to a few ulps. */
export function fsum(terms: Iterable<number>): number {
  let s = 0, c = 0;
  for (const v of terms) {
    const t = s + v;
    c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    s = t;
  }
  return Number.isFinite(s) ? s + c : s; // the compensation of an infinite sum is NaN
}

/** Plain float64 references, term by term (for inputs that are not close to each other). */
export const ref = {
  entropy: (p: ArrayLike<number>) => fsum(Array.from(p, (v) => (v === 0 ? 0 : -v * Math.log(v)))),
  crossEntropy: (p: ArrayLike<number>, q: ArrayLike<number>) => fsum(Array.from(p, (v, i) => (v === 0 ? 0 : -v * Math.log(q[i])))),
  // p/q overflows only for a subnormal q: then the logs are taken apart
  klDivergence: (p: ArrayLike<number>, q: ArrayLike<number>) => fsum(Array.from(p, (v, i) => {
    if (v === 0) return 0;
    const r = v / q[i];
    return v * (r === Infinity && q[i] > 0 ? Math.log(v) - Math.log(q[i]) : Math.log(r));
  })),
  jsDivergence: (p: ArrayLike<number>, q: ArrayLike<number>) =>
    fsum(Array.from(p, (v, i) => {
      const m = (v + q[i]) / 2;
      return (v === 0 ? 0 : 0.5 * v * Math.log(v / m)) + (q[i] === 0 ? 0 : 0.5 * q[i] * Math.log(q[i] / m));
    })),
  /** Magnitude of the terms of each, for results near 0. */
  magnitude: (terms: number[]) => fsum(terms.map(Math.abs)),
};

/** True when two float arrays hold the same bits (NaNs included): a fast exact comparison for large arrays. */
export function sameBits(a: Float32Array | Float64Array, b: Float32Array | Float64Array): boolean {
  return a.constructor === b.constructor && a.length === b.length &&
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

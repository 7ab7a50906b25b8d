// src/js/math.ts: the twins' exponential of arguments at most 0, against mpmath's values
// (40 digits, rounded to the nearest double) and against Math.exp, with its special values
// and the arguments it hands to Math.exp.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expNonPos } from '../../src/js/math.js';
import { weightedLogSumExpRows } from '../../src/js/weighted.js';

/** The spacing of doubles at |y| (the subnormal spacing below DBL_MIN). */
function ulp(y: number): number {
  const a = Math.abs(y);
  if (a < 2.2250738585072014e-308) return 2 ** -1074;
  const e = Math.floor(Math.log2(a));
  return 2 ** ((2 ** e > a ? e - 1 : e) - 52);
}

describe('expNonPos', () => {
  it('is within 1.3 ulps of mpmath\'s exp(u) from −708.4 to 0', () => {
    // mpmath 1.3, mp.dps = 40: float(mp.exp(mp.mpf(u))) for the double u
    const table: [number, number][] = [
      [-1e-10, 0.9999999999],
      [-0.0054152123481245725, 0.9945994234836332], // (ln 2/128: the edge of the reduced range)
      [-0.5, 0.6065306597126334],
      [-1, 0.36787944117144233],
      [-2.5, 0.0820849986238988],
      [-10, 4.5399929762484854e-5],
      [-87.3, 1.2192470959520051e-38],
      [-100, 3.720075976020836e-44],
      [-700, 9.85967654375977e-305],
      [-708.39, 2.2394014988804677e-308],
    ];
    for (const [u, want] of table) expect(Math.abs(expNonPos(u) - want), `exp(${u})`).toBeLessThanOrEqual(1.3 * ulp(want));
  });

  it('is exact at 0; below −708.5, at ±Infinity, NaN and above 0 it is Math.exp', () => {
    expect(expNonPos(0)).toBe(1);
    expect(expNonPos(-0)).toBe(1);
    expect(expNonPos(-Infinity)).toBe(0);
    expect(expNonPos(-1e300)).toBe(0);
    expect(expNonPos(Number.NaN)).toBeNaN();
    // mpmath: exp(−708.6) = 1.8152235753944647e-308, exp(−720) = 2.0322308024e-313 (subnormal)
    expect(expNonPos(-708.6)).toBe(Math.exp(-708.6));
    expect(Math.abs(expNonPos(-708.6) - 1.8152235753944647e-308)).toBeLessThanOrEqual(2 ** -1074);
    expect(Math.abs(expNonPos(-720) - 2.0322308024e-313)).toBeLessThanOrEqual(2 ** -1074);
    expect(expNonPos(0.5)).toBe(Math.exp(0.5));
    expect(expNonPos(800)).toBe(Infinity);
    expect(expNonPos(Infinity)).toBe(Infinity);
  });

  it('keeps a far-below term that a large weight brings back (the weighted log-sum-exp twin)', () => {
    // mpmath: log(1e-300·e^0 + 1e308·e^-720) = -10.80379135783393; with e^-708.45, 0.7462086421660252
    const res = new Float64Array(1), sign = new Float64Array(1);
    for (const [u, want] of [[-720, -10.80379135783393], [-708.45, 0.7462086421660252]]) {
      weightedLogSumExpRows(Float64Array.of(0, u), Float64Array.of(1e-300, 1e308), 1, 1, 2, res, sign, null);
      // (e^-720 is subnormal, 42 significant bits: the value within 1e-11, not the float64 bound)
      expect(res[0], `e^${u}`).toBeCloseTo(want, 10);
      expect(sign[0]).toBe(1);
    }
  });

  it('rounds a result below DBL_MIN once, as a subnormal (−708.4 lies between the two types\' cut-offs and DBL_MIN)', () => {
    // mpmath: exp(−708.4) = 2.217119081664265e-308, a subnormal: within one subnormal spacing
    expect(Math.abs(expNonPos(-708.4) - 2.217119081664265e-308)).toBeLessThanOrEqual(2 ** -1074);
  });

  it('agrees with Math.exp within 2.25 ulps on random arguments', () => {
    fc.assert(fc.property(fc.double({ min: -708.39, max: 0, noNaN: true }), (u) => {
      const want = Math.exp(u);
      return Math.abs(expNonPos(u) - want) <= 2.25 * ulp(want);
    }), { numRuns: 20_000 });
  });
});

// src/js/math.ts: the twins' exponential of arguments at most 0, against mpmath's values
// (40 digits, rounded to the nearest double) and against Math.exp, with its special values.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expNonPos } from '../../src/js/math.js';

/** The spacing of doubles at |y| (the subnormal spacing below DBL_MIN). */
function ulp(y: number): number {
  const a = Math.abs(y);
  if (a < 2.2250738585072014e-308) return 2 ** -1074;
  const e = Math.floor(Math.log2(a));
  return 2 ** ((2 ** e > a ? e - 1 : e) - 52);
}

describe('expNonPos', () => {
  it('is within 1.25 ulps of mpmath\'s exp(u) from −708.4 to 0', () => {
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
    for (const [u, want] of table) expect(Math.abs(expNonPos(u) - want), `exp(${u})`).toBeLessThanOrEqual(1.25 * ulp(want));
  });

  it('is exact at 0 and gives 0 for −Infinity and below −708.5, NaN for NaN', () => {
    expect(expNonPos(0)).toBe(1);
    expect(expNonPos(-0)).toBe(1);
    expect(expNonPos(-Infinity)).toBe(0);
    expect(expNonPos(-708.6)).toBe(0);
    expect(expNonPos(-1e300)).toBe(0);
    expect(expNonPos(Number.NaN)).toBeNaN();
  });

  it('rounds a result below DBL_MIN once, as a subnormal (−708.4 lies between the two types\' cut-offs and DBL_MIN)', () => {
    // mpmath: exp(−708.4) = 2.217119081664265e-308, a subnormal: within one subnormal spacing
    expect(Math.abs(expNonPos(-708.4) - 2.217119081664265e-308)).toBeLessThanOrEqual(2 ** -1074);
  });

  it('agrees with Math.exp within 2.25 ulps (its 1.25 and Math.exp\'s 1) on random arguments', () => {
    fc.assert(fc.property(fc.double({ min: -708.39, max: 0, noNaN: true }), (u) => {
      const want = Math.exp(u);
      return Math.abs(expNonPos(u) - want) <= 2.25 * ulp(want);
    }), { numRuns: 20_000 });
  });
});

// What every JS twin shares: compensated sums, the row maximum, the NaN scan.

type Vec = ArrayLike<number>;

/**
 * A compensated running sum (Neumaier's form of Kahan's: order-free, exact error of each
 * addition kept apart): within 2 ulps of the exact sum of what was added, however many
 * terms.  The twins add blocks of 32 terms to it, as the kernels add blocks of lanes.
 */
export class Sum {
  private s = 0;
  private c = 0;

  reset(): this {
    this.s = 0;
    this.c = 0;
    return this;
  }

  add(v: number): void {
    const s = this.s, t = s + v;
    this.c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    this.s = t;
  }

  value(): number {
    const s = this.s;
    return Number.isFinite(s) ? s + this.c : s; // an infinite or NaN sum's compensation is NaN
  }
}

/** Σ xᵢ, compensated (see `Sum`). */
export function fsum(x: ArrayLike<number>): number {
  if (x instanceof Float64Array) return fsum64(x);
  const sum = new Sum();
  for (let i = 0; i < x.length; i++) sum.add(x[i]);
  return sum.value();
}

/**
 * `fsum` of a Float64Array (per-row results: a loss's reduction), the same additions in
 * locals: a loop of its own sees one array type, where the general one's element access,
 * fed every input type, costs ~3 ns an element.
 */
function fsum64(x: Float64Array): number {
  let s = 0, c = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i], t = s + v;
    c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    s = t;
  }
  return Number.isFinite(s) ? s + c : s;
}

/** Largest entry of x[off, off + n), ignoring NaN; −Infinity when empty. */
export function maxRow(x: Vec, off: number, n: number): number {
  let m = -Infinity;
  for (let i = off, end = off + n; i < end; i++) {
    const v = x[i];
    if (v > m) m = v;
  }
  return m;
}

export function hasNaN(x: Vec, off: number, n: number): boolean {
  for (let i = off, end = off + n; i < end; i++) if (x[i] !== x[i]) return true;
  return false;
}

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
 * `fsum` of a Float64Array (per-row results: a loss's reduction) in a loop of its own,
 * which sees one array type (the general one's element access, fed every input type,
 * costs ~3 ns an element): the even and the odd entries in two compensated sums, then
 * their total, so that two chains of dependent additions run side by side.
 */
function fsum64(x: Float64Array): number {
  let s0 = 0, c0 = 0, s1 = 0, c1 = 0, i = 0;
  for (const n = x.length - 1; i < n; i += 2) {
    const a = x[i], b = x[i + 1], t0 = s0 + a, t1 = s1 + b;
    c0 += Math.abs(s0) >= Math.abs(a) ? s0 - t0 + a : a - t0 + s0;
    c1 += Math.abs(s1) >= Math.abs(b) ? s1 - t1 + b : b - t1 + s1;
    s0 = t0;
    s1 = t1;
  }
  if (i < x.length) {
    const a = x[i], t0 = s0 + a;
    c0 += Math.abs(s0) >= Math.abs(a) ? s0 - t0 + a : a - t0 + s0;
    s0 = t0;
  }
  const s = s0 + s1;
  if (!Number.isFinite(s)) return s; // (an infinite or NaN sum's compensation is NaN)
  return s + ((Math.abs(s0) >= Math.abs(s1) ? s0 - s + s1 : s1 - s + s0) + (c0 + c1));
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

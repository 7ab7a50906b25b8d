// Inputs: seeded, so every run times the same numbers.  Logits are uniform on [−4, 4)
// unless a pattern says otherwise; probabilities are rows of exponential variates divided by
// their row sum (in float64, then stored in the array's type).

let state = 0x2545f491;
/** xorshift32: uniform on [0, 1). */
export function random() {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 4294967296;
}
export const reseed = (s) => {
  state = s >>> 0 || 1;
};

export function uniform(n, Type, lo = -4, hi = 4) {
  const x = new Type(n);
  for (let i = 0; i < n; i++) x[i] = lo + (hi - lo) * random();
  return x;
}

export const logits = (n, Type) => uniform(n, Type);

export const labels = (rows, cols) => {
  const y = new Int32Array(rows);
  for (let r = 0; r < rows; r++) y[r] = Math.floor(random() * cols);
  return y;
};

/** Targets in {0, 1} for the sigmoid losses (about a quarter positive). */
export const binaryTargets = (n, Type) => {
  const y = new Type(n);
  for (let i = 0; i < n; i++) y[i] = random() < 0.25 ? 1 : 0;
  return y;
};

/**
 * Rows of probabilities: each entry from `entry(i)` (a non-negative value), each row then
 * divided by its sum in float64.
 */
function rowsOf(n, cols, Type, entry) {
  const p = new Type(n);
  const tmp = new Float64Array(cols);
  for (let o = 0; o < n; o += cols) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += tmp[c] = entry(c);
    if (!(s > 0)) s += tmp[0] = 1;
    for (let c = 0; c < cols; c++) p[o + c] = tmp[c] / s;
  }
  return p;
}

const exponential = () => -Math.log(1 - random()) + 1e-3;

/** Random probability rows (every entry positive). */
export const probabilities = (n, cols, Type) => rowsOf(n, cols ?? n, Type, exponential);

/** The smallest normal number of a float type. */
export const minNormal = (Type) => (Type === Float32Array ? 1.1754943508222875e-38 : 2.2250738585072014e-308);

/** Probability patterns (issue 25): random, sparse (90 % zeros), subnormal (half the entries below the normal range). */
export const probabilityPatterns = {
  random: (n, cols, Type) => probabilities(n, cols, Type),
  sparse: (n, cols, Type) => rowsOf(n, cols, Type, () => (random() < 0.9 ? 0 : exponential())),
  // entries of ~1e-39 (float32) / ~1e-310 (float64) before the division by the row sum
  // (~cols/2): subnormal in the stored array
  subnormal: (n, cols, Type) => {
    const tiny = Type === Float32Array ? 1e-39 : 1e-310;
    return rowsOf(n, cols, Type, () => (random() < 0.5 ? tiny * (0.1 + random()) : exponential()));
  },
};

/**
 * Logit patterns (issue 25), rows of `cols`; `y` (labels, or null) is kept on a finite
 * entry of every masked row.
 */
export const logitPatterns = {
  random: (n, cols, Type) => logits(n, Type),
  masked: (n, cols, Type, y) => {
    const x = logits(n, Type);
    for (let i = 0; i < n; i++) if (random() < 0.5) x[i] = -Infinity;
    for (let o = 0, r = 0; o < n; o += cols, r++) {
      const keep = y ? y[r] : Math.floor(random() * cols);
      if (x[o + keep] === -Infinity) x[o + keep] = -4 + 8 * random();
    }
    return x;
  },
  wide: (n, cols, Type) => uniform(n, Type, -200, 200),
  outlier: (n, cols, Type) => {
    const x = logits(n, Type);
    for (let o = 0; o < n; o += cols) x[o + Math.floor(random() * cols)] = 1e4;
    return x;
  },
  constant: (n, cols, Type) => new Type(n),
};

/** A fast fill for the size-scaling inputs (10⁸ elements and more): uniform on [lo, hi). */
export function fillUniform(x, lo, hi) {
  let s = state;
  const scale = (hi - lo) / 4294967296;
  for (let i = 0; i < x.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    x[i] = lo + (s >>> 0) * scale;
  }
  state = s;
  return x;
}

export const bytes = (n) => {
  // a skewed byte distribution (text-like): small values more likely
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(256 * random() ** 3);
  return b;
};

/** The smallest divisor of n that is at least √n (a near-square table's column count). */
export function squareCols(n) {
  for (let c = Math.ceil(Math.sqrt(n)); c <= n; c++) if (n % c === 0) return c;
  return n;
}

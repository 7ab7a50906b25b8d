// The naive-JS peer: the loop one writes without thinking about speed, on the same arrays
// surprisal gets — Math.exp / Math.log per element, one float64 accumulator, one pass per
// step, no temporaries.  Maps write into the `out` they are given (like surprisal's `out`
// option); reductions over rows (`cols`) return a new Float64Array, one value per row, as
// surprisal does; without `cols` they return a number.

/** row(a, b, c, offset, length) over one vector (a number) or per row of `cols` (into `res`, or a new Float64Array). */
function perRow(row, n, cols, a, b, c, res) {
  if (cols === undefined) return row(a, b, c, 0, n);
  res ??= new Float64Array(n / cols);
  for (let r = 0; r < res.length; r++) res[r] = row(a, b, c, r * cols, cols);
  return res;
}

function maxOf(x, o, len) {
  let m = -Infinity;
  for (let i = o; i < o + len; i++) if (x[i] > m) m = x[i];
  return m;
}

/** log Σ e^x over x[o, o + len). */
function lseRow(x, o, len) {
  const m = maxOf(x, o, len);
  if (m === -Infinity || m === Infinity) return m;
  let s = 0;
  for (let i = o; i < o + len; i++) s += Math.exp(x[i] - m);
  return m + Math.log(s);
}

function entropyRow(p, _, __, o, len) {
  let h = 0;
  for (let i = o; i < o + len; i++) if (p[i] > 0) h -= p[i] * Math.log(p[i]);
  return h;
}
export function entropy(p, cols) {
  return perRow(entropyRow, p.length, cols, p);
}

function crossEntropyRow(p, q, __, o, len) {
  let h = 0;
  for (let i = o; i < o + len; i++) if (p[i] > 0) h -= p[i] * Math.log(q[i]);
  return h;
}
export function crossEntropy(p, q, cols) {
  return perRow(crossEntropyRow, p.length, cols, p, q);
}

function klDivergenceRow(p, q, __, o, len) {
  let d = 0;
  for (let i = o; i < o + len; i++) if (p[i] > 0) d += p[i] * Math.log(p[i] / q[i]);
  return d;
}
export function klDivergence(p, q, cols) {
  return perRow(klDivergenceRow, p.length, cols, p, q);
}

function jsDivergenceRow(p, q, __, o, len) {
  let d = 0;
  for (let i = o; i < o + len; i++) {
    const m = (p[i] + q[i]) / 2;
    if (p[i] > 0) d += p[i] * Math.log(p[i] / m);
    if (q[i] > 0) d += q[i] * Math.log(q[i] / m);
  }
  return d / 2;
}
export function jsDivergence(p, q, cols) {
  return perRow(jsDivergenceRow, p.length, cols, p, q);
}

const logSumExpRow = (x, _, __, o, len) => lseRow(x, o, len);
export function logSumExp(x, cols, res) {
  return perRow(logSumExpRow, x.length, cols, x, undefined, undefined, res);
}

/** A new result of the input's type (Float64Array for number[]), as surprisal's allocating call. */
const like = (x) => (x instanceof Float32Array ? new Float32Array(x.length) : new Float64Array(x.length));

export function softmax(x, cols = x.length, out = like(x)) {
  for (let o = 0; o < x.length; o += cols) {
    const m = maxOf(x, o, cols);
    let s = 0;
    for (let i = o; i < o + cols; i++) s += out[i] = Math.exp(x[i] - m);
    for (let i = o; i < o + cols; i++) out[i] /= s;
  }
  return out;
}

export function logSoftmax(x, cols = x.length, out = like(x)) {
  for (let o = 0; o < x.length; o += cols) {
    const lse = lseRow(x, o, cols);
    for (let i = o; i < o + cols; i++) out[i] = x[i] - lse;
  }
  return out;
}

/** H = −Σ p log p of softmax(x) per row; grad: ∂H/∂x = −p (log p + H). */
function softmaxEntropyRow(x, grad, __, o, len) {
  const lse = lseRow(x, o, len);
  let h = 0;
  for (let i = o; i < o + len; i++) {
    const lp = x[i] - lse, p = Math.exp(lp);
    if (p > 0) h -= p * lp;
  }
  if (grad) {
    for (let i = o; i < o + len; i++) {
      const lp = x[i] - lse, p = Math.exp(lp);
      grad[i] = p > 0 ? -p * (lp + h) : 0;
    }
  }
  return h;
}
export function softmaxEntropy(x, cols, grad, res) {
  return perRow(softmaxEntropyRow, x.length, cols, x, grad, undefined, res);
}

/** D(softmax(a) ‖ softmax(b)) per row; gradQ: ∂D/∂b = q − p. */
function softmaxKlDivergenceRow(a, b, gradQ, o, len) {
  const la = lseRow(a, o, len), lb = lseRow(b, o, len);
  let d = 0;
  for (let i = o; i < o + len; i++) {
    const lp = a[i] - la, p = Math.exp(lp);
    if (p > 0) d += p * (lp - (b[i] - lb));
  }
  if (gradQ) for (let i = o; i < o + len; i++) gradQ[i] = Math.exp(b[i] - lb) - Math.exp(a[i] - la);
  return d;
}
export function softmaxKlDivergence(a, b, cols, gradQ, res) {
  return perRow(softmaxKlDivergenceRow, a.length, cols, a, b, gradQ, res);
}

/** Mean softmax cross-entropy over rows with integer labels; fills grad when given. */
export function softmaxCrossEntropy(z, labels, cols, grad) {
  const rows = labels.length;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const lse = lseRow(z, o, cols);
    total += lse - z[o + labels[r]];
    if (grad) {
      for (let c = 0; c < cols; c++) grad[o + c] = Math.exp(z[o + c] - lse) / rows;
      grad[o + labels[r]] -= 1 / rows;
    }
  }
  return total / rows;
}

/** Mean over elements of max(x, 0) − x·y + log(1 + e^−|x|); grad (σ(x) − y)/n. */
export function sigmoidCrossEntropy(x, y, grad) {
  const n = x.length;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    total += Math.max(v, 0) - v * y[i] + Math.log1p(Math.exp(-Math.abs(v)));
    if (grad) grad[i] = (1 / (1 + Math.exp(-v)) - y[i]) / n;
  }
  return total / n;
}

/** torchvision.ops.sigmoid_focal_loss, mean over elements; grad by the chain rule. */
export function sigmoidFocalLoss(x, y, alpha = 0.25, gamma = 2, grad) {
  const n = x.length;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i], t = y[i];
    const p = 1 / (1 + Math.exp(-v));
    const ce = Math.max(v, 0) - v * t + Math.log1p(Math.exp(-Math.abs(v)));
    const pt = p * t + (1 - p) * (1 - t);
    const at = alpha >= 0 ? alpha * t + (1 - alpha) * (1 - t) : 1;
    const mod = Math.pow(1 - pt, gamma);
    total += at * ce * mod;
    if (grad) {
      const dpt = p * (1 - p) * (2 * t - 1);
      grad[i] = (at * ((p - t) * mod - ce * gamma * Math.pow(1 - pt, gamma - 1) * dpt)) / n;
    }
  }
  return total / n;
}

/** log Σ wᵢ e^xᵢ (weights ≥ 0, one per element). */
function logSumExpWeightedRow(x, w, __, o, len) {
  const m = maxOf(x, o, len);
  let s = 0;
  for (let i = o; i < o + len; i++) s += w[i] * Math.exp(x[i] - m);
  return m + Math.log(s);
}
export function logSumExpWeighted(x, w, cols) {
  return perRow(logSumExpWeightedRow, x.length, cols, x, w);
}

/** log|Σ wᵢ e^xᵢ| and its sign (weights of any sign), of a vector. */
export function signedLogSumExp(x, w) {
  const m = maxOf(x, 0, x.length);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += w[i] * Math.exp(x[i] - m);
  return { value: m + Math.log(Math.abs(s)), sign: Math.sign(s) };
}

/** Σ p(x,y) log(p(x,y) / (p(x) p(y))) of a probability table, rows X, columns Y. */
export function mutualInformation(joint, cols) {
  const rows = joint.length / cols;
  const px = new Float64Array(rows), py = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      px[r] += joint[r * cols + c];
      py[c] += joint[r * cols + c];
    }
  }
  let mi = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const p = joint[r * cols + c];
      if (p > 0) mi += p * Math.log(p / (px[r] * py[c]));
    }
  }
  return mi;
}

/** H(Y | X) = −Σ p(x,y) log(p(x,y) / p(x)) of a probability table. */
export function conditionalEntropy(joint, cols) {
  const rows = joint.length / cols;
  let h = 0;
  for (let r = 0; r < rows; r++) {
    let px = 0;
    for (let c = 0; c < cols; c++) px += joint[r * cols + c];
    for (let c = 0; c < cols; c++) {
      const p = joint[r * cols + c];
      if (p > 0) h -= p * Math.log(p / px);
    }
  }
  return h;
}

/** Shannon entropy in bits of a byte stream's histogram. */
export function byteEntropy(bytes) {
  const counts = new Float64Array(256);
  for (let i = 0; i < bytes.length; i++) counts[bytes[i]]++;
  let h = 0;
  for (let b = 0; b < 256; b++) {
    if (counts[b] > 0) {
      const p = counts[b] / bytes.length;
      h -= p * Math.log2(p);
    }
  }
  return h;
}

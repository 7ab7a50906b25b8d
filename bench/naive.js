// The naive-JS baseline: what one writes without thinking about speed — one pass per
// step, Math.exp / Math.log per element, a single float64 accumulator.  Float32Array
// in gives Float32Array out, like surprisal.

const like = (x) => (x instanceof Float32Array ? new Float32Array(x.length) : new Float64Array(x.length));

export function entropy(p, cols = p.length) {
  const out = new Float64Array(p.length / cols);
  for (let r = 0; r < out.length; r++) {
    let h = 0;
    for (let i = r * cols; i < (r + 1) * cols; i++) if (p[i] > 0) h -= p[i] * Math.log(p[i]);
    out[r] = h;
  }
  return out;
}

export function crossEntropy(p, q) {
  let h = 0;
  for (let i = 0; i < p.length; i++) if (p[i] > 0) h -= p[i] * Math.log(q[i]);
  return h;
}

export function klDivergence(p, q) {
  let d = 0;
  for (let i = 0; i < p.length; i++) if (p[i] > 0) d += p[i] * Math.log(p[i] / q[i]);
  return d;
}

export function jsDivergence(p, q) {
  let d = 0;
  for (let i = 0; i < p.length; i++) {
    const m = (p[i] + q[i]) / 2;
    if (p[i] > 0) d += 0.5 * p[i] * Math.log(p[i] / m);
    if (q[i] > 0) d += 0.5 * q[i] * Math.log(q[i] / m);
  }
  return d;
}

export function logSumExp(x, cols = x.length) {
  const out = new Float64Array(x.length / cols);
  for (let r = 0; r < out.length; r++) {
    let m = -Infinity;
    for (let i = r * cols; i < (r + 1) * cols; i++) if (x[i] > m) m = x[i];
    let s = 0;
    for (let i = r * cols; i < (r + 1) * cols; i++) s += Math.exp(x[i] - m);
    out[r] = m + Math.log(s);
  }
  return out;
}

export function softmax(x, cols = x.length) {
  const out = like(x);
  for (let r = 0; r < x.length / cols; r++) {
    let m = -Infinity;
    for (let i = r * cols; i < (r + 1) * cols; i++) if (x[i] > m) m = x[i];
    let s = 0;
    for (let i = r * cols; i < (r + 1) * cols; i++) s += out[i] = Math.exp(x[i] - m);
    for (let i = r * cols; i < (r + 1) * cols; i++) out[i] /= s;
  }
  return out;
}

export function logSoftmax(x, cols = x.length) {
  const out = like(x);
  const lse = logSumExp(x, cols);
  for (let i = 0; i < x.length; i++) out[i] = x[i] - lse[Math.floor(i / cols)];
  return out;
}

export function softmaxEntropy(x, cols = x.length) {
  const p = softmax(x, cols);
  const lp = logSoftmax(x, cols);
  const out = new Float64Array(x.length / cols);
  for (let i = 0; i < x.length; i++) if (p[i] > 0) out[Math.floor(i / cols)] -= p[i] * lp[i];
  return out;
}

export function softmaxKlDivergence(a, b) {
  const p = softmax(a), lp = logSoftmax(a), lq = logSoftmax(b);
  let d = 0;
  for (let i = 0; i < a.length; i++) if (p[i] > 0) d += p[i] * (lp[i] - lq[i]);
  return d;
}

/** Mean softmax cross-entropy over rows with integer labels; fills grad when given. */
export function softmaxCrossEntropy(z, labels, cols, grad) {
  const rows = labels.length;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let m = -Infinity;
    for (let c = 0; c < cols; c++) if (z[o + c] > m) m = z[o + c];
    let s = 0;
    for (let c = 0; c < cols; c++) s += Math.exp(z[o + c] - m);
    total += m + Math.log(s) - z[o + labels[r]];
    if (grad) {
      for (let c = 0; c < cols; c++) grad[o + c] = Math.exp(z[o + c] - m) / s / rows;
      grad[o + labels[r]] -= 1 / rows;
    }
  }
  return total / rows;
}

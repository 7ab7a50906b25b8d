// The demo's compute side: every number on the page is computed here, by surprisal,
// in a module Web Worker.  The main thread posts { id, type, args } and gets back
// { id, result } or { id, error }; the benchmark also posts { id, progress } as it goes.
import * as S from '../src/index.ts';

let ready = S.init();

/** The article's numbers (../shared/seed): the RL policies and the MNIST softmax output. */
const MNIST_Q = [0.01, 0.02, 0.75, 0.05, 0.02, 0.1, 0.001, 0.02, 0.009, 0.02];
const MNIST_TRUE = 2;

const baseOf = (unit) => (unit === 'bits' ? 2 : Math.E);
const normalised = (w) => {
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / s);
};

const handlers = {
  async init({ backend = 'auto' } = {}) {
    ready = S.init({ backend });
    try {
      await ready;
    } finally {
      ready = ready.catch(() => {}); // a failed init leaves the previous backend in place
    }
    return { backend: S.backend(), simd: typeof WebAssembly === 'object' };
  },

  /** §1–2: the information of each side of a coin, its entropy, and the binary-entropy curve. */
  coin({ heads }) {
    const tails = 1 - heads;
    // The curve H(p) for p on a grid, as one call: a 2-column matrix, one coin per row.
    const N = 200;
    const grid = new Float64Array(2 * (N + 1));
    for (let i = 0; i <= N; i++) {
      grid[2 * i] = i / N;
      grid[2 * i + 1] = 1 - i / N;
    }
    const curve = S.entropy(grid, { cols: 2, base: 2, normalize: true });
    return {
      heads,
      tails,
      infoHeads: S.information(heads, { base: 2 }),
      infoTails: S.information(tails, { base: 2 }),
      entropy: S.entropy([heads, tails], { base: 2, normalize: true }),
      fair: S.entropy([0.5, 0.5], { base: 2 }),
      curve: Array.from(curve),
    };
  },

  /** §3: the entropy bonus −H of two policies (weights, normalised here), in bits. */
  rl({ policies }) {
    return policies.map((w) => {
      const h = S.entropy(w, { base: 2, normalize: true });
      const p = normalised(w);
      // the same from the policy's logits, without materialising the softmax
      const fromLogits = S.softmaxEntropy(p.map(Math.log), { base: 2 });
      return { p, bonus: -h, entropy: h, bonusFromLogits: -fromLogits, maxEntropy: Math.log2(w.length) };
    });
  },

  /** §4–5: P and Q (weights), everything between them, and the per-outcome KL terms. */
  pq({ p, q, unit }) {
    const base = baseOf(unit);
    const o = { base, normalize: true };
    const P = normalised(p);
    const Q = normalised(q);
    const HP = S.entropy(p, o);
    const KL = S.klDivergence(p, q, o);
    return {
      P,
      Q,
      HP,
      HQ: S.entropy(q, o),
      CE: S.crossEntropy(p, q, o),
      CEQP: S.crossEntropy(q, p, o),
      KLPQ: KL,
      KLQP: S.klDivergence(q, p, o),
      JS: S.jsDivergence(p, q, o),
      HPplusKL: HP + KL,
      // one row per outcome: pᵢ log(pᵢ/qᵢ), the terms KL sums (they need not be ≥ 0)
      terms: Array.from(S.klDivergence(P, Q, { base, cols: 1, validate: false })),
      maxJS: base === 2 ? 1 : Math.LN2,
    };
  },

  /**
   * §6: a one-hot target against the network's softmax output.  Changing q₂ is a shift of
   * class 2's logit, so the other classes are rescaled through softmax (§7: softmax
   * couples the outputs).
   */
  mnist({ label = MNIST_TRUE, q2 = 0.75 }) {
    const logit = (x) => Math.log(x / (1 - x));
    const z = new Float64Array(MNIST_Q.map(Math.log));
    const delta = logit(q2) - logit(MNIST_Q[MNIST_TRUE]);
    z[MNIST_TRUE] += delta;
    const q = S.softmax(z);
    const onehot = MNIST_Q.map((_, i) => (i === label ? 1 : 0));
    return {
      q: Array.from(q),
      delta,
      label,
      loss: S.crossEntropy(onehot, q),
      lossBits: S.crossEntropy(onehot, q, { base: 2 }),
      lossFromLogits: S.softmaxCrossEntropy(z, [label], { cols: 10 }),
      entropyQ: S.entropy(q),
    };
  },

  /** §7: logits and a temperature feeding softmax. */
  softmax({ logits, temperature }) {
    const x = new Float64Array(logits);
    const o = { temperature };
    return {
      probs: Array.from(S.softmax(x, o)),
      entropy: S.softmaxEntropy(x, o),
      entropyBits: S.softmaxEntropy(x, { ...o, base: 2 }),
      lse: S.logSumExp(x.map((v) => v / temperature)),
      maxEntropy: Math.log(x.length),
    };
  },

  bench: runBenchmark,
};

self.onmessage = async (e) => {
  const { id, type, args } = e.data;
  try {
    if (type !== 'init') await ready;
    const result = await handlers[type](args ?? {}, (progress) => self.postMessage({ id, progress }));
    self.postMessage({ id, result, backend: S.backend() });
  } catch (err) {
    self.postMessage({ id, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
};

// ---------------------------------------------------------------------------------------
// "Run the benchmark in this browser": softmax, logSumExp and entropy at n = 1e3 … 1e6,
// surprisal (plain API, and zero-copy on WasmArrays) against a naive JS loop, same inputs.
// ---------------------------------------------------------------------------------------

const naive = {
  softmax(x) {
    const out = x instanceof Float32Array ? new Float32Array(x.length) : new Float64Array(x.length);
    let m = -Infinity;
    for (let i = 0; i < x.length; i++) if (x[i] > m) m = x[i];
    let s = 0;
    for (let i = 0; i < x.length; i++) s += out[i] = Math.exp(x[i] - m);
    for (let i = 0; i < x.length; i++) out[i] /= s;
    return out;
  },
  logSumExp(x) {
    let m = -Infinity;
    for (let i = 0; i < x.length; i++) if (x[i] > m) m = x[i];
    let s = 0;
    for (let i = 0; i < x.length; i++) s += Math.exp(x[i] - m);
    return m + Math.log(s);
  },
  entropy(p) {
    let h = 0;
    for (let i = 0; i < p.length; i++) if (p[i] > 0) h -= p[i] * Math.log(p[i]);
    return h;
  },
};

let seed = 12345;
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

function inputFor(op, n, Type) {
  const x = new Type(n);
  if (op === 'entropy') {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i] = -Math.log(1 - random()) + 1e-3;
    for (let i = 0; i < n; i++) x[i] /= s;
  } else {
    for (let i = 0; i < n; i++) x[i] = 3 * gauss();
  }
  return x;
}

let sink = 0;
const consume = (r) => {
  sink += typeof r === 'number' ? r : r[0];
};

/** Median time per call (ms) of fn, in batches of ≥ 4 ms, over about budget ms. */
function timeIt(fn, budget) {
  consume(fn());
  consume(fn());
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) consume(fn());
    const dt = performance.now() - t0;
    if (dt >= 4 || reps >= 1 << 22) break;
    reps *= dt > 0.5 ? Math.ceil(4 / dt) : 8;
  }
  const samples = [];
  const start = performance.now();
  while (samples.length < 3 || (performance.now() - start < budget && samples.length < 50)) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) consume(fn());
    samples.push((performance.now() - t0) / reps);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

function relDiff(a, b) {
  if (typeof a === 'number') return Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-30);
    if (d > worst) worst = d;
  }
  return worst;
}

async function runBenchmark({ dtype = 'float32', sizes = [1e3, 1e4, 1e5, 1e6], ops = ['softmax', 'logSumExp', 'entropy'], budget = 90 } = {}, progress) {
  const Type = dtype === 'float64' ? Float64Array : Float32Array;
  const total = ops.length * sizes.length;
  const rows = [];
  const t0 = performance.now();
  for (const op of ops) {
    for (const n of sizes) {
      const x = inputFor(op, n, Type);
      const fn = S[op];
      // zero-copy: the input (and softmax's output) live in the module's memory
      const xw = S.allocate(Type, n);
      xw.array.set(x);
      const ow = op === 'softmax' ? S.allocate(Type, n) : null;
      const impls = {
        naive: () => naive[op](x),
        surprisal: () => fn(x),
        zeroCopy: ow ? () => fn(xw, { out: ow }) : () => fn(xw),
      };
      const row = { op, n, dtype, ms: {}, elPerNs: {} };
      for (const [name, f] of Object.entries(impls)) {
        const ms = timeIt(f, budget);
        row.ms[name] = ms;
        row.elPerNs[name] = n / (ms * 1e6);
      }
      row.relDiff = relDiff(fn(x), naive[op](x));
      xw.free();
      ow?.free();
      rows.push(row);
      progress({ done: rows.length, total, row });
      // let the worker breathe between cells
      await new Promise((r) => setTimeout(r, 0));
    }
  }
  return { rows, backend: S.backend(), dtype, seconds: (performance.now() - t0) / 1000, userAgent: navigator.userAgent, sink };
}

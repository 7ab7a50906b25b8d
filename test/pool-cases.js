// The worker pool's agreement matrix, one definition for every place it runs: Node's
// worker_threads (test/pool.test.ts) and headless Chromium's Web Workers
// (test/browser.test.ts, through test/browser/pages/pool-matrix.html).  Every row-wise
// function, called on one thread and on the pool, must give the same bits — results and
// the outputs a call writes (out, grad) — call after call.
//
// Plain JavaScript with no imports, so that a page loads it as it is: the library's
// module namespace (`S`) and the pool come in as parameters (Node passes dist/index.js
// and a pool of dist/pool/node.js, a page dist/index.js and a pool of
// dist/pool/browser.js), plain data (counts and mismatch descriptions) goes out.
// Inputs come from the seeded generator defined here (test/helpers.ts re-exports it), so a
// mismatch reported anywhere reproduces with `cases(S, rows, cols, Type, seed)`.

/** A deterministic generator (mulberry32): the one test/helpers.ts and fuzz/ use too. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n normal logits (Box–Muller) times `scale`. */
export function randomLogits(n, random, Type, scale = 3) {
  const x = new Type(n);
  for (let i = 0; i < n; i++) x[i] = scale * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return x;
}

/** A random probability vector of length n (exponential draws over their sum). */
export function randomDistribution(n, random, Type) {
  const p = new Type(n);
  let s = 0;
  for (let i = 0; i < n; i++) s += p[i] = -Math.log(1 - random());
  for (let i = 0; i < n; i++) p[i] /= s;
  return p;
}

/**
 * Rows × cols of the matrix: every row count around a cut-off (1, 7, 63, 64, 65, 128, 300,
 * 2048: one row, the small-input cutoff, a chunk's rows, a vector's rows) at 10 columns and
 * at 1000.  Each shape runs in float32 and float64, but for 2048 × 1000 (2·10⁶ entries a
 * case, ~40 s more for the suite on a 2-core machine in float64 and Chromium too), which
 * runs in Node, in float32, on the wasm pools (`bigShape`); 2048 rows run everywhere at 10
 * columns.
 */
export const SHAPES = [1, 7, 63, 64, 65, 128, 300, 2048].flatMap((rows) => [[rows, 10], [rows, 1000]]);
/** The one shape of more than 10⁶ entries (see above). */
export const bigShape = (rows, cols) => rows * cols > 1e6;
/** The Node matrix (test/pool.test.ts). */
export const NODE_SHAPES = SHAPES;
/** The Chromium matrix (test/browser.test.ts): 5 pages, 16 Web Workers in two of them, ~35 s on a 2-core machine. */
export const BROWSER_SHAPES = SHAPES.filter(([rows, cols]) => !bigShape(rows, cols));

/** The seed of a shape's inputs. */
export const seedOf = (rows, cols) => rows * 7 + cols;

const isFloatArray = (a) => a instanceof Float32Array || a instanceof Float64Array;

/** Whether two float arrays hold the same bits (NaNs included). */
export function sameBits(a, b) {
  if (!isFloatArray(a) || !isFloatArray(b) || a.constructor !== b.constructor || a.length !== b.length) return false;
  // both types are 4-byte multiples and aligned: compare 32-bit words
  const u = new Uint32Array(a.buffer, a.byteOffset, a.byteLength / 4), v = new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  for (let i = 0; i < u.length; i++) if (u[i] !== v[i]) return false;
  return true;
}

/** Whether two results are the same bits: numbers by Object.is, float arrays word for word, lists entry by entry. */
export function same(a, b) {
  if (typeof a === 'number') return Object.is(a, b);
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  return sameBits(a, b);
}

const show = (v) => (Object.is(v, -0) ? '-0' : String(v));

/** Where `got` differs from `want` (null when it does not): the first differing entry, and how many differ. */
export function difference(want, got, at = '') {
  if (typeof want === 'number') return Object.is(want, got) ? null : `${at || 'value'}: ${typeof got === 'number' ? show(got) : describeValue(got)}, want ${show(want)}`;
  if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) return `${at || 'result'}: ${describeValue(got)}, want a list of ${want.length}`;
    for (let i = 0; i < want.length; i++) {
      const d = difference(want[i], got[i], `${at}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (sameBits(want, got)) return null;
  if (!isFloatArray(got) || got.constructor !== want.constructor || got.length !== want.length) {
    return `${at || 'result'}: ${describeValue(got)}, want ${describeValue(want)}`;
  }
  let first = -1, count = 0;
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(want[i], got[i])) {
      if (first < 0) first = i;
      count++;
    }
  }
  return `${at || 'result'}: ${count} of ${want.length} entries differ, the first at ${first}: ${show(got[first])}, want ${show(want[first])}`;
}

function describeValue(v) {
  if (v === null || typeof v !== 'object') return String(v);
  if (isFloatArray(v)) return `${v.constructor.name}(${v.length})`;
  if (Array.isArray(v)) return `list(${v.length})`;
  return Object.prototype.toString.call(v);
}

/** A deep copy of a result: what it held when it was returned, whatever later calls do to it. */
const snapshot = (r) => (Array.isArray(r) ? r.map(snapshot) : isFloatArray(r) ? r.slice() : r);

/**
 * The cases of one shape: each a call made on one thread (`single()`, with the module
 * `S`) and on a pool (`pooled(pool)`), the outputs it writes included in its result.
 */
export function cases(S, rows, cols, Type, seed = seedOf(rows, cols)) {
  const random = rng(seed);
  const n = rows * cols;
  const x = randomLogits(n, random, Type, 4);
  const y = randomLogits(n, random, Type, 4);
  // masked entries and a constant row mixed in: the special paths run in the pool too
  for (let r = 0; r < rows; r += 5) x[r * cols + (r % cols)] = -Infinity;
  if (rows > 3) x.fill(0, 3 * cols, 4 * cols);
  const P = new Type(n), Q = new Type(n);
  for (let r = 0; r < rows; r++) {
    P.set(randomDistribution(cols, random, Type), r * cols);
    Q.set(randomDistribution(cols, random, Type), r * cols);
  }
  const labels = Int32Array.from({ length: rows }, (_, i) => (i * 31) % cols);
  const ignored = Int32Array.from(labels, (v, i) => (i % 7 === 3 ? -100 : v));
  const weights = Float64Array.from({ length: cols }, (_, i) => 0.5 + (i % 3));
  const signed = Float64Array.from({ length: cols }, (_, i) => (i % 4) - 1.5);
  const counts = Float64Array.from({ length: n }, () => Math.floor(random() * 5));
  const targets = new Type(n).map(() => (random() < 0.3 ? 1 : random() < 0.5 ? 0 : random()));
  const o = { cols };
  // a call that writes outputs: its result and the outputs, fresh ones each call
  const withOut = (name, call) => ({
    name,
    single: () => { const a = new Type(n), b = new Type(n); const r = call(S, a, b); return [r, a, b]; },
    pooled: async (pool) => { const a = new Type(n), b = new Type(n); const r = await call(pool, a, b); return [r, a, b]; },
  });
  const plain = (name, call) => ({ name, single: () => call(S), pooled: async (pool) => call(pool) });
  return [
    plain('logSumExp', (s) => s.logSumExp(x, o)),
    plain('softmax (new result)', (s) => s.softmax(x, o)),
    withOut('softmax into out', (s, out) => s.softmax(x, { cols, out, temperature: 0.7 })),
    withOut('logSoftmax into out', (s, out) => s.logSoftmax(x, { cols, out })),
    withOut('softmaxEntropy with grad, base 2', (s, grad) => s.softmaxEntropy(x, { cols, grad, base: 2 })),
    withOut('softmaxKlDivergence with both gradients', (s, gradP, gradQ) => s.softmaxKlDivergence(x, y, { cols, gradP, gradQ, temperature: 2 })),
    withOut('softmaxCrossEntropy mean, grad', (s, grad) => s.softmaxCrossEntropy(x, labels, { cols, grad })),
    withOut('softmaxCrossEntropy sum, smoothing, weights, ignoreIndex, grad', (s, grad) =>
      s.softmaxCrossEntropy(x, ignored, { cols, grad, reduction: 'sum', labelSmoothing: 0.1, weights, ignoreIndex: -100 })),
    plain('softmaxCrossEntropy none', (s) => s.softmaxCrossEntropy(x, labels, { cols, reduction: 'none' })),
    withOut('softmaxCrossEntropy probability targets, grad', (s, grad) => s.softmaxCrossEntropy(x, P, { cols, grad })),
    plain('entropy', (s) => s.entropy(P, o)),
    plain('entropy of counts (normalize), base 2', (s) => s.entropy(counts, { cols, normalize: true, base: 2 })),
    plain('crossEntropy', (s) => s.crossEntropy(P, Q, o)),
    plain('klDivergence', (s) => s.klDivergence(P, Q, o)),
    plain('jsDivergence, normalize', (s) => s.jsDivergence(P, Q, { cols, normalize: true })),
    withOut('sigmoidCrossEntropy, weights, posWeight, grad', (s, grad) =>
      s.sigmoidCrossEntropy(x, targets, { cols, grad, weights, posWeight: weights })),
    plain('sigmoidCrossEntropy none', (s) => s.sigmoidCrossEntropy(x, targets, { cols, reduction: 'none' })),
    withOut('sigmoidFocalLoss, grad', (s, grad) => s.sigmoidFocalLoss(x, targets, { cols, grad })),
    plain('logSumExp with weights', (s) => s.logSumExp(x, { cols, weights })),
    plain('signedLogSumExp', (s) => {
      const r = s.signedLogSumExp(x, { cols, weights: signed });
      return r instanceof Promise ? r.then((v) => [v.value, v.sign]) : [r.value, r.sign];
    }),
  ];
}

/**
 * One shape: every case's single call, then `calls` pool calls one after another, each
 * compared bit for bit with the single call.  At the end, every right pool result of the
 * shape is looked at again: nothing a call returns may change under later calls (of the
 * same function or another).  Returns how many pool results were compared and what
 * differed (none: []).
 */
export async function checkShape(S, pool, rows, cols, Type, calls = 2) {
  const seed = seedOf(rows, cols);
  const where = `${rows} × ${cols} ${Type.name} (seed ${seed})`;
  const mismatches = [];
  const kept = [];
  let checked = 0;
  for (const c of cases(S, rows, cols, Type, seed)) {
    let want;
    try {
      want = snapshot(c.single());
    } catch (e) {
      mismatches.push(`${where}, ${c.name}: the single call threw ${e && e.name}: ${e && e.message}`);
      continue;
    }
    for (let call = 1; call <= calls; call++) {
      try {
        const r = await c.pooled(pool);
        checked++;
        const d = difference(want, r);
        if (d) mismatches.push(`${where}, ${c.name}, call ${call}: ${d}`);
        else kept.push({ name: c.name, call, want, r });
      } catch (e) {
        mismatches.push(`${where}, ${c.name}, call ${call}: the pool threw ${e && e.name}: ${e && e.message}`);
      }
    }
  }
  for (const { name, call, want, r } of kept) {
    const d = difference(want, r);
    if (d) mismatches.push(`${where}, ${name}, call ${call}: right when returned, changed by later calls: ${d}`);
  }
  return { checked, mismatches };
}

/** Every shape, in float32 and float64: `checkShape` on each; the counts summed, the mismatches listed. */
export async function checkMatrix(S, pool, shapes, calls = 2) {
  let checked = 0;
  const mismatches = [];
  for (const [rows, cols] of shapes) {
    for (const Type of [Float32Array, Float64Array]) {
      const r = await checkShape(S, pool, rows, cols, Type, calls);
      checked += r.checked;
      mismatches.push(...r.mismatches);
    }
  }
  return { checked, mismatches };
}

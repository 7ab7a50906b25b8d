// One computation for every place these tests run surprisal as its users do — Node's main
// thread and worker threads from the packed tarball (test/package.test.ts, Node 20 and 24),
// Chromium's main thread and a dedicated Web Worker over the built dist/
// (test/browser.test.ts) — and the check of its results against exact values.
//
// Plain JavaScript with no imports: the pages load it as it is, and package.test.ts
// copies it into the consumer project.  The module namespace of surprisal comes in,
// JSON-able results go out; `problems(result)` lists what is wrong with them (none: []).

/** The backends `init({ backend })` accepts, besides 'auto', slowest first. */
export const BACKENDS = ['js', 'wasm', 'wasm-simd', 'wasm-relaxed'];

// This engine's WebAssembly features, probed here independently of the library's own
// detection (a different instruction each): a function returning a v128.const (SIMD),
// and one applying i8x16.relaxed_swizzle to two of them (relaxed SIMD).
const SIMD_PROBE = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11];
const RELAXED_PROBE = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 43, 1, 41, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 128, 2, 11];

function validates(bytes) {
  try {
    return WebAssembly.validate(new Uint8Array(bytes));
  } catch {
    return false;
  }
}

/** What this engine runs, by the probes above. */
export function features() {
  const wasm = typeof WebAssembly === 'object' && typeof WebAssembly.validate === 'function';
  const simd = wasm && validates(SIMD_PROBE);
  return { wasm, simd, relaxed: simd && validates(RELAXED_PROBE) };
}

/** The backends an engine with these features runs, fastest first: `init()` must pick the first. */
export function runnable(f) {
  return [...(f.relaxed ? ['wasm-relaxed'] : []), ...(f.simd ? ['wasm-simd'] : []), ...(f.wasm ? ['wasm'] : []), 'js'];
}

/** Rows of the tiled inputs: every call on them is well above the small-input cutoff, so the backend's kernels compute them. */
export const ROWS = 256;

/**
 * Exact values: the float64 results correctly rounded (mpmath at 50 digits, equal to
 * scipy's where scipy has the function); the float32 ones of the float32 inputs.
 */
export const KNOWN = {
  information: 6.643856189774724, // −log2 0.01
  entropy: 0.08079313589591118, // H([0.99, 0.01]) in bits (scipy.stats.entropy)
  entropyF32: 0.0807931211130276, // the same of Float32Array([0.99, 0.01])
  crossEntropy: 0.2876820724517809, // −ln 0.75
  klDivergence: 0.804307087095602, // D([0.9, 0.05, 0.025, 0.025] ‖ [0.3, 0.2, 0.25, 0.25])
  logSumExp: 3.40760596444438, // ln(e + e² + e³)
  ln2: 0.6931471805599453, // softmax cross-entropy of [0, 0] (either label)
};

/** How far results may be from KNOWN: float64, in units in the last place; float32 inputs, relative (SPEC.md's float32 bound). */
export const MAX_ULPS = 4;
export const F32_RELATIVE = 2e-6;

const tile = (row, n = ROWS) => {
  const a = new Float64Array(row.length * n);
  for (let i = 0; i < n; i++) a.set(row, i * row.length);
  return a;
};
const distinct = (a) => [...new Set(Array.from(a))];

/** Every function of the check on the current backend. */
function values(S) {
  const x = S.allocate(Float64Array, 3 * ROWS);
  x.array.set(tile([1, 2, 3]));
  const p32 = S.softmax(new Float32Array(tile([0, 0, 0, 0])), { cols: 4 });
  const v = {
    // one short vector each: below the small-input cutoff, the JS twin on every backend
    small: {
      information: S.information(0.01, { base: 2 }),
      entropy: S.entropy([0.99, 0.01], { base: 2 }),
      crossEntropy: S.crossEntropy([0, 0, 1], [0.1, 0.15, 0.75]),
      klDivergence: S.klDivergence([0.9, 0.05, 0.025, 0.025], [0.3, 0.2, 0.25, 0.25]),
      logSumExp: S.logSumExp([1, 2, 3]),
      softmax: Array.from(S.softmax([0, 0])),
    },
    // ROWS rows of the same: the backend's kernels; every row must give the one value
    rows: {
      entropy: distinct(S.entropy(tile([0.99, 0.01]), { cols: 2, base: 2 })),
      entropyF32: distinct(S.entropy(new Float32Array(tile([0.99, 0.01])), { cols: 2, base: 2 })),
      crossEntropy: distinct(S.crossEntropy(tile([0, 0, 1]), tile([0.1, 0.15, 0.75]), { cols: 3 })),
      klDivergence: distinct(S.klDivergence(tile([0.9, 0.05, 0.025, 0.025]), tile([0.3, 0.2, 0.25, 0.25]), { cols: 4 })),
      logSumExp: distinct(S.logSumExp(tile([1, 2, 3]), { cols: 3 })),
      logSumExpF32: distinct(S.logSumExp(new Float32Array(tile([1, 2, 3])), { cols: 3 })),
      logSumExpZeroCopy: distinct(S.logSumExp(x, { cols: 3 })),
      softmax: distinct(S.softmax(tile([0, 0]), { cols: 2 })),
      softmaxF32: distinct(p32),
      softmaxF32Type: p32.constructor.name,
      softmaxCrossEntropy: S.softmaxCrossEntropy(tile([0, 0]), new Int32Array(ROWS), { cols: 2 }),
      softmaxCrossEntropyF32: S.softmaxCrossEntropy(new Float32Array(tile([0, 0])), Int32Array.from({ length: ROWS }, (_, i) => i % 2), { cols: 2 }),
    },
  };
  x.free();
  return v;
}

/**
 * `init({ backend })` for every backend and 'auto', and the values on each: what init
 * resolved to (or the error it threw), what `backend()` says after it, and the values.
 */
export async function onEveryBackend(S) {
  const result = { features: features(), backends: {} };
  for (const b of [...BACKENDS, 'auto']) {
    try {
      const loaded = await S.init({ backend: b });
      result.backends[b] = { loaded, current: S.backend(), values: values(S) };
    } catch (e) {
      result.backends[b] = { error: `${e && e.name}: ${e && e.message}` };
    }
  }
  return result;
}

/** Distance in units in the last place between two finite doubles. */
export function ulps(a, b) {
  const bits = (x) => {
    const v = new DataView(new ArrayBuffer(8));
    v.setFloat64(0, x);
    const i = v.getBigInt64(0);
    return i < 0n ? -(i & 0x7fffffffffffffffn) : i; // monotone in x
  };
  const d = bits(a) - bits(b);
  return Number(d < 0n ? -d : d);
}

/** What is wrong with a result of onEveryBackend (none: an empty list). */
export function problems(result) {
  const out = [];
  const f = result.features;
  const can = runnable(f);
  const f64 = (where, got, want) => {
    if (typeof got !== 'number' || !Number.isFinite(got) || ulps(got, want) > MAX_ULPS) out.push(`${where}: ${got}, want ${want} (within ${MAX_ULPS} ulp)`);
  };
  const f32 = (where, got, want) => {
    if (typeof got !== 'number' || !(Math.abs(got - want) <= F32_RELATIVE * Math.abs(want))) out.push(`${where}: ${got}, want ${want} (within ${F32_RELATIVE} relative)`);
  };
  const one = (where, got, check, want) => {
    if (!Array.isArray(got) || got.length !== 1) out.push(`${where}: the rows differ (${JSON.stringify(got)})`);
    else check(where, got[0], want);
  };
  const exact = (where, got, want) => {
    if (JSON.stringify(got) !== JSON.stringify(want)) out.push(`${where}: ${JSON.stringify(got)}, want exactly ${JSON.stringify(want)}`);
  };
  for (const b of [...BACKENDS, 'auto']) {
    const r = result.backends[b];
    const want = b === 'auto' ? can[0] : b;
    if (b !== 'auto' && !can.includes(b)) {
      // an engine without the build's features: init must say so, not load something else
      if (!r || !r.error || !/cannot run/.test(r.error)) out.push(`${b}: the probes say this engine cannot run it, but init gave ${JSON.stringify(r)}`);
      continue;
    }
    if (!r || r.error) {
      out.push(`${b}: init failed: ${r && r.error}`);
      continue;
    }
    if (r.loaded !== want || r.current !== want) out.push(`${b}: init() resolved to ${r.loaded}, backend() is ${r.current}; want ${want}`);
    const { small, rows } = r.values;
    const at = (k) => `${b} ${k}`;
    f64(at('information'), small.information, KNOWN.information);
    f64(at('entropy'), small.entropy, KNOWN.entropy);
    f64(at('crossEntropy'), small.crossEntropy, KNOWN.crossEntropy);
    f64(at('klDivergence'), small.klDivergence, KNOWN.klDivergence);
    f64(at('logSumExp'), small.logSumExp, KNOWN.logSumExp);
    exact(at('softmax'), small.softmax, [0.5, 0.5]);
    one(at('rows entropy'), rows.entropy, f64, KNOWN.entropy);
    one(at('rows entropy f32'), rows.entropyF32, f32, KNOWN.entropyF32);
    one(at('rows crossEntropy'), rows.crossEntropy, f64, KNOWN.crossEntropy);
    one(at('rows klDivergence'), rows.klDivergence, f64, KNOWN.klDivergence);
    one(at('rows logSumExp'), rows.logSumExp, f64, KNOWN.logSumExp);
    one(at('rows logSumExp f32'), rows.logSumExpF32, f32, KNOWN.logSumExp);
    one(at('rows logSumExp zero-copy'), rows.logSumExpZeroCopy, f64, KNOWN.logSumExp);
    exact(at('rows softmax'), rows.softmax, [0.5]);
    exact(at('rows softmax f32'), rows.softmaxF32, [0.25]);
    exact(at('rows softmax f32 type'), rows.softmaxF32Type, 'Float32Array');
    f64(at('rows softmaxCrossEntropy'), rows.softmaxCrossEntropy, KNOWN.ln2);
    f32(at('rows softmaxCrossEntropy f32'), rows.softmaxCrossEntropyF32, KNOWN.ln2);
  }
  return out;
}

/**
 * The worker pool against the single-thread functions on the same rows (above the pool's
 * default minElements, so the rows are split across threads): each entry is true when
 * the two agree bit for bit; `badLabel` and `badLabelSingle` are a bad label's error from each.
 */
export async function poolAgreement(S, createPool, options) {
  const loaded = await S.init();
  const rows = 1024, cols = 100; // 102 400 elements: above the default minElements (50 000)
  const z = new Float32Array(rows * cols).map((_, i) => Math.sin(i * 0.37) * 8);
  const z64 = Float64Array.from(z);
  const y = Int32Array.from({ length: rows }, (_, r) => (r * 7) % cols);
  const bad = y.map((v) => v + cols);
  const same = (a, b) => a.constructor === b.constructor && a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
  const caught = async (f) => {
    try {
      await f();
      return null;
    } catch (e) {
      return [e.constructor.name, e.message];
    }
  };
  const pool = await createPool(options);
  const inPool = pool.array(Float32Array, z.length);
  inPool.set(z);
  const g1 = new Float32Array(z.length), g2 = new Float32Array(z.length);
  const loss1 = S.softmaxCrossEntropy(z, y, { cols, grad: g1 });
  const loss2 = await pool.softmaxCrossEntropy(z, y, { cols, grad: g2 });
  const r = {
    loaded, shared: pool.shared, backend: pool.backend, size: pool.size,
    isolated: typeof crossOriginIsolated === 'boolean' ? crossOriginIsolated : null,
    softmax: same(await pool.softmax(z, { cols }), S.softmax(z, { cols })),
    softmax64: same(await pool.softmax(z64, { cols }), S.softmax(z64, { cols })),
    softmaxInPool: same(await pool.softmax(inPool, { cols }), S.softmax(z, { cols })),
    logSoftmax: same(await pool.logSoftmax(z, { cols, temperature: 2 }), S.logSoftmax(z, { cols, temperature: 2 })),
    loss: Object.is(loss1, loss2),
    grad: same(g1, g2),
    lossNone: same(await pool.softmaxCrossEntropy(z64, y, { cols, reduction: 'none' }), S.softmaxCrossEntropy(z64, y, { cols, reduction: 'none' })),
    badLabel: await caught(() => pool.softmaxCrossEntropy(z, bad, { cols })),
    badLabelSingle: await caught(() => S.softmaxCrossEntropy(z, bad, { cols })),
  };
  r.after = Object.is(await pool.softmaxCrossEntropy(z, y, { cols }), loss1); // a good call after a bad one
  await pool.close();
  r.afterClose = await caught(() => pool.softmax(z, { cols })); // rejects
  return r;
}

/** What is wrong with a result of poolAgreement (none: an empty list). */
export function poolProblems(r, shared) {
  const out = [];
  for (const k of ['softmax', 'softmax64', 'softmaxInPool', 'logSoftmax', 'loss', 'grad', 'lossNone', 'after']) {
    if (r[k] !== true) out.push(`${k}: not the single-thread call's result bit for bit`);
  }
  if (r.shared !== shared) out.push(`shared is ${r.shared}, want ${shared}`);
  if (r.backend !== r.loaded) out.push(`the pool runs ${r.backend}, init() loaded ${r.loaded}`);
  if (r.size !== 2) out.push(`size ${r.size}, want 2`);
  if (!r.badLabel || r.badLabel[0] !== 'RangeError' || JSON.stringify(r.badLabel) !== JSON.stringify(r.badLabelSingle)) {
    out.push(`a bad label: the pool threw ${JSON.stringify(r.badLabel)}, the single call ${JSON.stringify(r.badLabelSingle)}`);
  }
  if (r.afterClose === null) out.push('a call after close() resolved');
  return out;
}

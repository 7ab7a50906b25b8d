// npm run bench [-- --quick] [-- --ops softmax,entropy] [-- --sizes 1000,1000000] [-- --pool]
//
// Every op of the SPEC at n = 16 … 1e6, float32 and float64, and a 1024 × 1000 batch,
// side by side: surprisal (wasm-simd through the plain API, wasm-simd zero-copy, scalar
// wasm, js), a naive JS loop, and TensorFlow.js's wasm backend (float32; on resident
// tensors, and from a Float32Array).  tinybench, median of the samples; each sample runs
// the op on several input sets in turn (rotated, so no engine sees one array twice in a
// row) and every result is consumed.  Prints a markdown table, writes
// bench/results.json, bench/results.md and bench/results.svg.  The worker pool's table
// (one thread against the pool, computing in shared WebAssembly memory and through
// SharedArrayBuffer scratch) also goes to bench/pool.{json,md}; `--pool` runs only it.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Bench } from 'tinybench';
import * as S from '../dist/index.js';
import { createPool } from '../dist/pool/node.js';
import * as naive from './naive.js';
import * as tfjs from './tfjs.js';
import { chart } from './svg.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    ops: { type: 'string' },
    sizes: { type: 'string' },
    out: { type: 'string' },
    pool: { type: 'boolean', default: false },
  },
});

const QUICK = args.quick;
const SIZES = args.sizes ? args.sizes.split(',').map(Number) : [16, 100, 1000, 10_000, 100_000, 1_000_000];
const BATCH = { rows: 1024, cols: 1000 };
const ROTATE = 4;
// Large calls warm up for longer: a task's first calls pay for the garbage the task before
// it left (the naive loop's new 4 MB arrays, collected on the next task's clock — seen:
// plain softmax at 10⁶ 5.6 ms right after the naive loop with 60 ms of warm-up, 2.2 ms with
// 300 ms, as in a fresh process).  Every implementation gets the same warm-up.
const warmLarge = QUICK ? {} : { warmupTime: 300 };
const timing = QUICK ? { time: 4, warmupTime: 1, iterations: 2, warmupIterations: 1 } : { time: 250, warmupTime: 60, iterations: 10, warmupIterations: 3 };

// ---------------------------------------------------------------------------------
// inputs
// ---------------------------------------------------------------------------------

let seed = 12345;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

function distributionRows(n, cols, Type) {
  const p = new Type(n);
  for (let r = 0; r < n / cols; r++) {
    let s = 0;
    for (let i = r * cols; i < (r + 1) * cols; i++) s += p[i] = -Math.log(1 - random()) + 1e-3;
    for (let i = r * cols; i < (r + 1) * cols; i++) p[i] /= s;
  }
  return p;
}
const logits = (n, Type) => Type.from({ length: n }, () => 3 * gauss());
const labels = (rows, cols) => Int32Array.from({ length: rows }, () => Math.floor(random() * cols));

/** One input set of an op: the arrays its call takes, and the options. */
function inputsFor(op, n, Type, batch) {
  const cols = batch ? BATCH.cols : op === 'softmaxCrossEntropy' ? Math.min(n, 1000) : n;
  switch (op) {
    case 'entropy': return { args: [distributionRows(n, cols, Type)], cols };
    case 'crossEntropy': case 'klDivergence': case 'jsDivergence':
      return { args: [distributionRows(n, cols, Type), distributionRows(n, cols, Type)], cols };
    case 'softmaxKlDivergence': return { args: [logits(n, Type), logits(n, Type)], cols };
    case 'softmaxCrossEntropy': case 'softmaxCrossEntropy+grad': return { args: [logits(n, Type), labels(n / cols, cols)], cols };
    default: return { args: [logits(n, Type)], cols };
  }
}

// ---------------------------------------------------------------------------------
// implementations: each makes a timed function for one input set
// ---------------------------------------------------------------------------------

const api = (op) => op.replace('+grad', '');

/** surprisal through its plain API (arrays copied in, results out). */
function surprisalCall(op, set, batch) {
  const [a, b] = set.args;
  const o = batch || op.startsWith('softmaxCrossEntropy') ? { cols: set.cols } : undefined;
  const fn = S[api(op)];
  if (op === 'softmaxCrossEntropy+grad') {
    const grad = new a.constructor(a.length);
    return () => S.softmaxCrossEntropy(a, b, { cols: set.cols, grad });
  }
  return b ? () => fn(a, b, o) : () => fn(a, o);
}

/** surprisal with inputs and outputs in WasmArrays (no copies). */
function zeroCopyCall(op, set, batch, held) {
  const wrap = (x) => {
    if (x instanceof Int32Array) return x;
    const w = S.allocate(x.constructor, x.length);
    w.array.set(x);
    held.push(w);
    return w;
  };
  const [a, b] = set.args.map(wrap);
  const o = batch || op.startsWith('softmaxCrossEntropy') ? { cols: set.cols } : {};
  if (op === 'softmax' || op === 'logSoftmax') {
    const out = S.allocate(set.args[0].constructor, set.args[0].length);
    held.push(out);
    return () => S[op](a, { ...o, out });
  }
  if (op === 'softmaxCrossEntropy+grad') {
    const grad = wrap(new set.args[0].constructor(set.args[0].length));
    return () => S.softmaxCrossEntropy(a, b, { cols: set.cols, grad });
  }
  const fn = S[api(op)];
  return b ? () => fn(a, b, o) : () => fn(a, o);
}

function naiveCall(op, set, batch) {
  const [a, b] = set.args;
  switch (op) {
    case 'softmaxCrossEntropy': return () => naive.softmaxCrossEntropy(a, b, set.cols);
    case 'softmaxCrossEntropy+grad': { const g = new a.constructor(a.length); return () => naive.softmaxCrossEntropy(a, b, set.cols, g); }
    default: return b ? () => naive[op](a, b) : () => naive[op](a, batch ? set.cols : a.length);
  }
}

const IMPLS = [
  { id: 'naive', label: 'naive JS', setup: async () => {}, make: naiveCall },
  { id: 'simd', label: 'surprisal wasm-simd', setup: () => S.init({ backend: 'wasm-simd' }), make: surprisalCall },
  { id: 'zerocopy', label: 'surprisal wasm-simd zero-copy', setup: () => S.init({ backend: 'wasm-simd' }), make: zeroCopyCall },
  { id: 'wasm', label: 'surprisal wasm (scalar)', setup: () => S.init({ backend: 'wasm' }), make: surprisalCall },
  { id: 'js', label: 'surprisal js', setup: () => S.init({ backend: 'js' }), make: surprisalCall },
  { id: 'tf', label: 'tf.js wasm (resident)', f32only: true, setup: async () => {}, tf: { resident: true } },
  { id: 'tfarray', label: 'tf.js wasm (from Float32Array)', f32only: true, setup: async () => {}, tf: { resident: false } },
];

function tfCall(impl, op, set, batch, held) {
  if (op === 'softmaxCrossEntropy+grad') return null; // TF.js's loss without grad is the comparison
  const inputs = set.args.map((x) => (x instanceof Int32Array ? { onehotOf: x } : x));
  const cols = batch || op === 'softmaxCrossEntropy' ? set.cols : undefined;
  const t = tfjs.make(api(op), inputs, cols, impl.tf);
  held.push(t);
  return () => t.run();
}

// ---------------------------------------------------------------------------------
// accuracy: each result against the float64 reference (surprisal's JS twin on the
// same values in float64), as a relative error over the result's scale
// ---------------------------------------------------------------------------------

function relError(got, want) {
  const g = typeof got === 'number' ? [got] : got, w = typeof want === 'number' ? [want] : want;
  let err = 0, scale = 0;
  for (let i = 0; i < w.length; i++) {
    err = Math.max(err, Math.abs(g[i] - w[i]));
    scale = Math.max(scale, Math.abs(w[i]));
  }
  return scale ? err / scale : err;
}

async function reference(op, set, batch) {
  await S.init({ backend: 'js' });
  const promoted = { ...set, args: set.args.map((x) => (x instanceof Int32Array ? x : Float64Array.from(x))) };
  return surprisalCall(op, promoted, batch)();
}

// ---------------------------------------------------------------------------------
// the run
// ---------------------------------------------------------------------------------

const OPS = ['entropy', 'crossEntropy', 'klDivergence', 'jsDivergence', 'logSumExp', 'softmax', 'logSoftmax',
  'softmaxEntropy', 'softmaxKlDivergence', 'softmaxCrossEntropy', 'softmaxCrossEntropy+grad'];
const BATCH_OPS = ['entropy', 'logSumExp', 'softmax', 'logSoftmax', 'softmaxEntropy', 'softmaxCrossEntropy', 'softmaxCrossEntropy+grad'];
const only = args.ops ? new Set(args.ops.split(',')) : null;

let sink = 0;
const consume = (r) => {
  sink += typeof r === 'number' ? r : r[r.length >> 1];
};

async function measure(op, n, Type, batch) {
  const sets = Array.from({ length: ROTATE }, () => inputsFor(op, n, Type, batch));
  const want = await reference(op, sets[0], batch);
  const reps = Math.max(1, Math.round((QUICK ? 2000 : 20_000) / n));
  const bench = new Bench({ ...timing, ...(n >= 100_000 ? warmLarge : {}), name: `${op} ${n}` });
  const rows = [];
  const held = [];
  for (const impl of IMPLS) {
    if (impl.f32only && Type !== Float32Array) continue;
    let calls = null;
    let error = NaN;
    const prepare = async () => {
      await impl.setup();
      calls = sets.map((set) => (impl.tf ? tfCall(impl, op, set, batch, held) : impl.make(op, set, batch, held)));
      if (calls.some((c) => c === null)) calls = null;
      else error = relError(calls[0](), want);
    };
    await prepare();
    if (!calls) continue;
    const k = calls.length;
    bench.add(impl.id, () => {
      for (let i = 0; i < reps; i++) consume(calls[i % k]());
    }, { beforeAll: impl.setup });
    rows.push({ impl, error });
  }
  await bench.run();
  for (const t of held) (t.free ?? t.dispose).call(t);
  return rows.map(({ impl, error }) => {
    const task = bench.tasks.find((t) => t.name === impl.id);
    const r = task.result;
    if (r.state !== 'completed') throw new Error(`${op} ${n} ${impl.id}: ${r.state} ${r.error ?? ''}`);
    const median = r.latency.p50 / reps;
    return {
      op, dtype: Type === Float32Array ? 'float32' : 'float64', n, batch: batch ? `${BATCH.rows}x${BATCH.cols}` : null,
      impl: impl.id, label: impl.label, medianMs: median, meanMs: r.latency.mean / reps, samples: r.latency.samplesCount ?? r.totalTime,
      elementsPerNs: n / (median * 1e6), relError: error,
    };
  });
}

const started = Date.now();
const tfInfo = await tfjs.ready();
const results = [];
const log = (s) => process.stderr.write(s);
for (const Type of args.pool ? [] : [Float32Array, Float64Array]) {
  for (const op of OPS) {
    if (only && !only.has(op)) continue;
    for (const n of SIZES) {
      log(`${op} ${Type.name} ${n} … `);
      results.push(...(await measure(op, n, Type, false)));
      log('done\n');
    }
  }
}
for (const op of args.pool ? [] : BATCH_OPS) {
  if (only && !only.has(op)) continue;
  log(`${op} batch … `);
  results.push(...(await measure(op, BATCH.rows * BATCH.cols, Float32Array, true)));
  log('done\n');
}

// ---------------------------------------------------------------------------------
// the worker pool: the same batch split over 2 threads, against one thread — the pool
// as created by default (its workers compute in WebAssembly memories shared with the
// calling thread), and with inMemory: false (rows through SharedArrayBuffer scratch)
// ---------------------------------------------------------------------------------

const poolRows = [], busyRows = [];
const POOL_ROUNDS = QUICK ? 1 : 15;
const poolTiming = QUICK ? timing : { ...timing, time: 80 };
const median = (m) => m.slice().sort((x, y) => x - y)[m.length >> 1];

/**
 * tinybench runs its tasks one after another, and this VM's speed drifts by 20–40 % over
 * seconds: so the tasks run in turn, in POOL_ROUNDS short benches (~0.3 s each), and each
 * gets the median of its per-round medians; a speed-up (`ratio(base, k)`) is the median of
 * the rounds' ratios, each taken within one round.
 */
async function inRounds(name, tasks) {
  const medians = tasks.map(() => []);
  for (let round = 0; round < POOL_ROUNDS; round++) {
    const bench = new Bench({ ...poolTiming, ...(round === 0 ? warmLarge : {}), name });
    // (each round starts from the next task, so that none always runs in the wake of the
    // same one — of one making new 4 MB results, say, whose garbage it may collect)
    for (let j = 0; j < tasks.length; j++) bench.add(...tasks[(round + j) % tasks.length]);
    await bench.run();
    for (const t of bench.tasks) medians[tasks.findIndex(([task]) => task === t.name)].push(t.result.latency.p50);
  }
  return { times: medians.map(median), ratio: (base, k) => median(medians[base].map((single, round) => single / medians[k][round])) };
}

if (!only || ['softmax', 'softmaxCrossEntropy', 'softmaxCrossEntropy+grad'].some((op) => only.has(op))) {
  await S.init({ backend: 'wasm-simd' });
  const pool = await createPool({ size: 2 });
  const scratchPool = await createPool({ size: 2, inMemory: false });
  for (const batchRows of [1024, 4096]) {
    const cols = 1000, n = batchRows * cols;
    // the same rows as your arrays, and as arrays in SharedArrayBuffers (pool.array: the
    // workers read and write them where they are, nothing for the calling thread to copy)
    const plain = { z: logits(n, Float32Array), grad: new Float32Array(n), out: new Float32Array(n) }; // out: reused
    const inShared = { z: pool.array(Float32Array, n), grad: pool.array(Float32Array, n), out: pool.array(Float32Array, n) };
    inShared.z.set(plain.z);
    const y = labels(batchRows, cols);
    for (const op of ['softmax', 'softmax+out', 'softmaxCrossEntropy', 'softmaxCrossEntropy+grad']) {
      if (only && !only.has(op.replace('+out', ''))) continue;
      log(`${op} pool ${batchRows}x${cols} … `);
      const call = (f, { z, out, grad }) => (op === 'softmax' ? f.softmax(z, { cols }) : op === 'softmax+out' ? f.softmax(z, { cols, out })
        : op === 'softmaxCrossEntropy' ? f.softmaxCrossEntropy(z, y, { cols }) : f.softmaxCrossEntropy(z, y, { cols, grad }));
      const { times: [a, b, c, d, e], ratio } = await inRounds(`pool ${op}`, [
        ['single', () => consume(call(S, plain))],
        ['pool', async () => consume(await call(pool, plain))],
        ['scratch', async () => consume(await call(scratchPool, plain))],
        ['single, shared rows', () => consume(call(S, inShared))],
        ['pool, shared rows', async () => consume(await call(pool, inShared))],
      ]);
      poolRows.push({ op, shape: `${batchRows}x${cols}`, singleMs: a, poolMs: b, speedup: ratio(0, 1), scratchMs: c, scratchSpeedup: ratio(0, 2),
        sharedSingleMs: d, sharedPoolMs: e, sharedSpeedup: ratio(3, 4), sharedOverPlain: ratio(0, 4), workers: pool.size, shared: pool.shared, inMemory: pool.inMemory });
      log('done\n');
    }
  }
  // The same pool while another process keeps a core busy (a `node -e "for (;;) {}"`): the
  // worker shares its core with it, and loses it for a time slice now and then, when the
  // calling thread computes the pieces of the worker's block it has not claimed.
  const busy = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  try {
    const cols = 1000, batchRows = 1024, n = batchRows * cols;
    const z = logits(n, Float32Array), out = new Float32Array(n), y = labels(batchRows, cols);
    for (const op of ['softmax+out', 'softmaxCrossEntropy']) {
      if (only && !only.has(op.replace('+out', ''))) continue;
      log(`${op} pool ${batchRows}x${cols}, a busy process beside … `);
      const call = (f) => (op === 'softmax+out' ? f.softmax(z, { cols, out }) : f.softmaxCrossEntropy(z, y, { cols }));
      const { times: [a, b], ratio } = await inRounds(`pool ${op}, busy`, [['single', () => consume(call(S))], ['pool', async () => consume(await call(pool))]]);
      busyRows.push({ op, shape: `${batchRows}x${cols}`, singleMs: a, poolMs: b, speedup: ratio(0, 1) });
      log('done\n');
    }
  } finally {
    busy.kill();
  }
  await pool.close();
  await scratchPool.close();
}

// ---------------------------------------------------------------------------------
// report
// ---------------------------------------------------------------------------------

const machine = {
  date: new Date().toISOString().slice(0, 10),
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  node: process.version,
  tfjs: `${tfjs.version} wasm (SIMD ${tfInfo.simd ? 'on' : 'off'}, threads ${tfInfo.threads ? 'on' : 'off'})`,
  quick: QUICK,
  seconds: Math.round((Date.now() - started) / 1000),
};

const fmtTime = (ms) => (ms >= 1 ? `${ms.toFixed(2)} ms` : ms >= 1e-3 ? `${(ms * 1e3).toFixed(1)} µs` : `${(ms * 1e6).toFixed(0)} ns`);
const fmtX = (x) => (Number.isFinite(x) ? `${x >= 10 ? x.toFixed(0) : x.toFixed(1)}×` : '—');
// (the pool's speed-ups to two places: 1.66 is not 1.7)
const fmtX2 = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '—');
const COLS = ['naive', 'simd', 'zerocopy', 'wasm', 'js', 'tf', 'tfarray'];

function table(rows) {
  const groups = new Map();
  for (const r of rows) {
    const key = `${r.op}|${r.dtype}|${r.batch ?? r.n}`;
    if (!groups.has(key)) groups.set(key, {});
    groups.get(key)[r.impl] = r;
  }
  const head = ['op', 'dtype', 'n', 'naive JS', 'wasm-simd', 'zero-copy', 'wasm', 'js', 'TF.js', 'TF.js from array', 'simd el/ns', 'zero-copy el/ns', 'simd ÷ naive', 'simd ÷ TF.js', 'TF.js rel. error'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 3 ? '---' : '---:')).join('|')}|`];
  for (const g of groups.values()) {
    const any = Object.values(g)[0];
    const cell = (id) => (g[id] ? fmtTime(g[id].medianMs) : '—');
    const simd = g.simd?.medianMs;
    const tfBase = g.tf ?? (any.op === 'softmaxCrossEntropy+grad' ? groups.get(`softmaxCrossEntropy|${any.dtype}|${any.batch ?? any.n}`)?.tf : undefined);
    lines.push(`| ${[any.op, any.dtype, any.batch ?? any.n, ...COLS.map(cell),
      g.simd ? g.simd.elementsPerNs.toFixed(2) : '—', g.zerocopy ? g.zerocopy.elementsPerNs.toFixed(2) : '—',
      fmtX(g.naive?.medianMs / simd), tfBase ? fmtX(tfBase.medianMs / simd) : '—',
      g.tf && Number.isFinite(g.tf.relError) ? g.tf.relError.toExponential(1) : '—'].join(' | ')} |`);
  }
  return lines.join('\n');
}

const header = `surprisal benchmark — ${machine.date}, ${machine.cpu} (${machine.cores} cores), Node ${machine.node}, TF.js ${machine.tfjs}; ` +
  `median per call (tinybench)${QUICK ? ', --quick (not a measurement)' : ''}. ` +
  `"simd ÷ TF.js" for softmaxCrossEntropy+grad compares with TF.js's loss without grad.`;
const poolTable = poolRows.length ? [
  '', `Worker pool (surprisal/pool, size ${poolRows[0].workers}: ${poolRows[0].shared ? `the calling thread and ${poolRows[0].workers - 1} worker${poolRows[0].workers > 2 ? 's' : ''}` : `${poolRows[0].workers} workers, transfers`}) against one thread, float32, median per call over ${POOL_ROUNDS} rounds, speed-up the median of the rounds' ratios; ` +
    `"pool": workers ${poolRows[0].inMemory ? 'computing in WebAssembly memory shared with the calling thread' : 'without shared WebAssembly memory'}, "scratch": inMemory: false, rows through SharedArrayBuffer scratch; ` +
    `"rows in SharedArrayBuffers": the same rows (and out, grad) in arrays over SharedArrayBuffers, one thread and the pool, ` +
    `and that pool against the first column, one thread on ordinary arrays (what moving your rows into pool.array()s and the pool gains):`, '',
  '| op | shape | one thread | pool | speed-up | scratch | speed-up | rows in SharedArrayBuffers: one thread | pool | speed-up | ÷ one thread, ordinary arrays |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...poolRows.map((r) => `| ${r.op} | ${r.shape} | ${fmtTime(r.singleMs)} | ${fmtTime(r.poolMs)} | ${fmtX2(r.speedup)} | ${fmtTime(r.scratchMs)} | ${fmtX2(r.scratchSpeedup)} | ` +
    `${fmtTime(r.sharedSingleMs)} | ${fmtTime(r.sharedPoolMs)} | ${fmtX2(r.sharedSpeedup)} | ${fmtX2(r.sharedOverPlain)} |`),
].join('\n') : '';
const busyTable = busyRows.length ? [
  '', `The same pool while another process keeps one core busy (\`node -e "for (;;) {}"\`), float32, ${POOL_ROUNDS} rounds as above:`, '',
  '| op | shape, beside a busy process | one thread | pool | speed-up |', '|---|---|---:|---:|---:|',
  ...busyRows.map((r) => `| ${r.op} | ${r.shape} | ${fmtTime(r.singleMs)} | ${fmtTime(r.poolMs)} | ${fmtX2(r.speedup)} |`),
].join('\n') : '';
const md = `${header}\n\n${table(results)}\n${poolTable}\n${busyTable}\n`;
process.stdout.write(`\n${md}\nchecksum ${sink}\n`);
// --quick (CI) writes to the temporary directory: the committed bench/results.* are a measurement
const outDir = args.out ?? (QUICK ? os.tmpdir() : new URL('.', import.meta.url).pathname);
const out = outDir.endsWith('/') ? outDir : `${outDir}/`;
if (poolRows.length) {
  writeFileSync(`${out}pool.json`, JSON.stringify({ machine, pool: poolRows, busy: busyRows }, null, 1));
  writeFileSync(`${out}pool.md`, `surprisal pool benchmark — ${machine.date}, ${machine.cpu} (${machine.cores} cores), Node ${machine.node}\n${poolTable}\n${busyTable}\n`);
}
if (args.pool) {
  process.stderr.write(`wrote ${out}pool.json, pool.md\n`);
} else {
  process.stderr.write(`wrote ${out}results.json, results.md, results.svg${poolRows.length ? ', pool.json, pool.md' : ''}\n`);
  writeFileSync(`${out}results.json`, JSON.stringify({ machine, results, pool: poolRows, busy: busyRows }, null, 1));
  writeFileSync(`${out}results.md`, md);
  writeFileSync(`${out}results.svg`, chart(results.filter((r) => !r.batch && r.dtype === 'float32'), machine, COLS, IMPLS));
}

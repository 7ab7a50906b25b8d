#!/usr/bin/env node
// The fuzz harness: `npm run fuzz -- --seconds N` throws hostile inputs at every public
// function of the BUILT package (../dist/index.js; run `npm run build` first) on every
// backend, and checks each call either returns the right answer or throws the
// documented TypeError/RangeError (whose message starts with the function's name).
// Anything else is a failure: another exception, a wrong or malformed answer, an input
// modified, a crash, a hang, or a later call's answer changed — after every call a fixed
// set of canary calls must give bit-identical results to the ones computed at start.
//
// Inputs come from fast-check arbitraries (fc.check with interruptAfterTimeLimit, cycling
// through 'wasm-simd', 'wasm' and 'js' and two small-input cutoffs), as small JSON
// descriptors that are materialised into the hostile values: wrong types (strings,
// objects, {length: n}, sparse arrays, BigInt64Array, DataView, integer typed arrays as
// counts), detached buffers, SharedArrayBuffer views, views at odd offsets, views into
// the library's own memory (live WasmArrays and sub-views, freed WasmArrays and views of
// their memory, views left stale by memory.grow, raw views anywhere in the module's
// memory, WasmArrays of another backend's module), NaN/±Infinity/−0/subnormals/huge
// values, lengths 0…2e5, bad options, bad `out`/`grad` (wrong type or length, aliasing
// the input fully or partially), bad labels.  Once per run one call on ≥ 3e7 float32
// elements.  The fuzzing runs in a worker thread watched by the main thread, so a hang
// (no progress for --hang seconds) or a crash of the worker is reported with the case
// that caused it.  A failure that matches a known library bug (KNOWN below, each pinned
// as an it.fails test) is counted in the summary, not failed, unless --strict.
// FUZZ_SELFTEST=hang|crash|corrupt checks that the watchdog, the crash report and the
// canaries work.
//
// Options:  --seconds N   how long to fuzz (default 10)
//           --seed S      fast-check seed (default: random; printed)
//           --hang S      seconds without progress that count as a hang (default 60)
//           --big / --no-big   the one very large call (default on)
//           --strict      count known library bugs (listed in KNOWN below) as failures
//           --replay T    run one case (a token printed with a failure) in this process
//           --dump FILE   with --replay: write the case's arguments to FILE as JSON
//           --only F,G    fuzz only these functions
//           --verbose     print every failure as it happens
//
// Exit status: 0 no failures; 1 failures (each printed with a minimal reproduction);
// 2 the harness could not run (e.g. dist/ missing).

import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';

const DIST = new URL('../dist/index.js', import.meta.url);
const DIST_BACKEND = new URL('../dist/backend.js', import.meta.url);
const BACKENDS = ['wasm-simd', 'wasm', 'js'];

// ---------------------------------------------------------------------------------
// Known library bugs: a failing call that matches one of these is counted, not failed
// (unless --strict).  Each is reproduced minimally in test/properties.test.ts.  (BUG-1…11 and
// 13…16, found by this harness and the property tests, are fixed; their checks are now
// ordinary failures here.)
// ---------------------------------------------------------------------------------

const KNOWN = {
};

// ---------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------

const OWNER = Symbol('owner');
/** Marks a view as part of a WasmArray, so that a check can read it after memory.grow. */
function owned(view, wa, offset) {
  view[OWNER] = { wa, offset, length: view.length };
  return view;
}
/** A view as it is now: one that memory growth detached is read again through its WasmArray. */
function current(view) {
  const o = view?.[OWNER];
  return o && isDetached(view) && o.wa.live ? o.wa.array.subarray(o.offset, o.offset + o.length) : view;
}

/** A deterministic generator (mulberry32). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Σ with Neumaier's compensation. */
function fsum(xs) {
  let s = 0, c = 0;
  for (const v of xs) {
    const t = s + v;
    c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    s = t;
  }
  return Number.isFinite(s) ? s + c : s;
}

const fmt = (v) => (Object.is(v, -0) ? '-0' : typeof v === 'number' ? String(v) : typeof v === 'bigint' ? `${v}n` : JSON.stringify(v));

function isDetached(view) {
  const b = view.buffer;
  if (typeof b.detached === 'boolean') return b.detached;
  if (typeof SharedArrayBuffer !== 'undefined' && b instanceof SharedArrayBuffer) return false;
  try { new Uint8Array(b); return false; } catch { return true; }
}

/** Case tokens: JSON with NaN, ±Infinity and −0 kept, base64url. */
function encode(value) {
  const json = JSON.stringify(value, (_, v) => (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)) ? { $n: Object.is(v, -0) ? '-0' : String(v) } : v));
  return Buffer.from(json).toString('base64url');
}
function decode(token) {
  return JSON.parse(Buffer.from(token, 'base64url').toString(), (_, v) => (v && typeof v === 'object' && '$n' in v ? (v.$n === '-0' ? -0 : Number(v.$n)) : v));
}

// ---------------------------------------------------------------------------------
// Arbitraries: case descriptors
// ---------------------------------------------------------------------------------

const SPECIALS = [NaN, Infinity, -Infinity, -0, 0, 5e-324, 1e-310, 2.2250738585072014e-308, 1.401298464324817e-45, 1.1754943508222875e-38,
  1e-300, 1e300, Number.MAX_VALUE, -Number.MAX_VALUE, 3.4028234663852886e38, -3.4028234663852886e38, 1e30, -1e30, 1, -1, 0.5, 2, 1e-7,
  1 + 2 ** -52, 1 - 2 ** -53, -1e-300, 0.1, 1e-45, 1e-40];

const specialsArb = fc.array(fc.tuple(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.constantFrom(...SPECIALS)), { maxLength: 3 });

/** Lengths 0…2e5, mostly small. */
const lengthArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 8 }) },
  { weight: 4, arbitrary: fc.integer({ min: 9, max: 70 }) },
  { weight: 2, arbitrary: fc.integer({ min: 71, max: 1000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1001, max: 20000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 20001, max: 200000 }) },
);

const WASM_MODES = ['live', 'view', 'sub', 'freed', 'freedView', 'stale', 'raw', 'foreign'];
const BAD_KINDS = ['string', 'object', 'lengthObj', 'arrayLike', 'sparse', 'junkEntry', 'bigint64', 'biguint64', 'dataview', 'null', 'undefined',
  'number', 'detached32', 'detached64', 'boolean', 'function', 'arrayBuffer', 'nestedArray'];

function fillArb(kinds) {
  return fc.record({
    kind: fc.constantFrom(...kinds),
    seed: fc.integer(),
    scale: fc.constantFrom(1, 1, 1, 1e-3, 30, 1e4, 1e30, 1e300, 1e-300),
    specials: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: specialsArb }),
  });
}

/** A vector argument: container × fill. */
function vectorArb(kinds) {
  return fc.record({
    shape: fc.oneof(
      { weight: 5, arbitrary: fc.constant('f64') },
      { weight: 5, arbitrary: fc.constant('f32') },
      { weight: 4, arbitrary: fc.constant('array') },
      { weight: 2, arbitrary: fc.constantFrom('int8', 'uint8', 'int16', 'int32', 'uint32', 'u8c') },
      { weight: 2, arbitrary: fc.constantFrom('shared32', 'shared64') },
      { weight: 4, arbitrary: fc.constant('wasm') },
      { weight: 2, arbitrary: fc.constant('bad') },
    ),
    type: fc.constantFrom('f32', 'f64'),
    mode: fc.constantFrom(...WASM_MODES),
    bad: fc.constantFrom(...BAD_KINDS),
    offset: fc.integer({ min: 0, max: 7 }),
    fill: fillArb(kinds),
  });
}

/** `out` / `grad`. */
const outArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ t: 'none' }) },
  { weight: 2, arbitrary: fc.constantFrom({ t: 'fresh', type: 'f32' }, { t: 'fresh', type: 'f64' }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('wrongLength'), type: fc.constantFrom('f32', 'f64'), delta: fc.constantFrom(-1, 1, 7) }) },
  { weight: 2, arbitrary: fc.constant({ t: 'alias' }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('aliasShift'), shift: fc.constantFrom(-1, 1, 3) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'aliasOtherType' }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('wasm'), type: fc.constantFrom('f32', 'f64'), mode: fc.constantFrom('live', 'view', 'freed', 'freedView', 'stale', 'raw') }) },
  { weight: 1, arbitrary: fc.constantFrom({ t: 'shared', type: 'f32' }, { t: 'shared', type: 'f64' }) },
  { weight: 1, arbitrary: fc.constantFrom({ t: 'array' }, { t: 'int32' }, { t: 'string' }, { t: 'lengthObj' }, { t: 'detached' }) },
);

/** cols: absent, a divisor of the length, or bad. */
const colsModeArb = fc.oneof(
  { weight: 5, arbitrary: fc.constant('none') },
  { weight: 6, arbitrary: fc.constant('good') },
  { weight: 2, arbitrary: fc.constantFrom(0, -1, -0, 1.5, NaN, Infinity, 2 ** 53, 1e300, '2', 'plus1', null, true) },
);

const baseArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.constantFrom(2, 10, Math.E, 0.5, 7, 1e-300, 1 + 2 ** -52) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, -2, NaN, Infinity, -Infinity, '2', null) },
);
const temperatureArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.constantFrom(1, 0.5, 3, 1e-30, 1e30, 1e-300, 1e300, 5e-324, 0.01) },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, -1, NaN, Infinity, '1', null) },
);
const flagArb = fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 4, arbitrary: fc.boolean() }, { weight: 1, arbitrary: fc.constantFrom('yes', 1, 0, null) });
const optionsModeArb = fc.oneof({ weight: 12, arbitrary: fc.constant('object') }, { weight: 1, arbitrary: fc.constantFrom('undefined', 'null', 'string', 'number', 'array') });

const shapeArb = fc.record({ n: lengthArb, cols: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 12 }) }, { weight: 2, arbitrary: fc.integer({ min: 13, max: 1200 }) }) });

const PROB_FILLS = ['dist', 'dist', 'dist', 'dist', 'weights', 'weights', 'counts', 'logits', 'const'];
const LOGIT_FILLS = ['logits', 'logits', 'logits', 'logits', 'masked', 'dist', 'counts', 'const'];

const probCase = (fn, two) => fc.record({
  fn: fc.constant(fn), shape: shapeArb, colsMode: colsModeArb,
  a: vectorArb(PROB_FILLS), b: two ? vectorArb(PROB_FILLS) : fc.constant(null), lengthDelta: fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(-1, 1) }),
  base: baseArb, normalize: flagArb, validate: flagArb, optionsMode: optionsModeArb,
});
const logitCase = (fn, two, map) => fc.record({
  fn: fc.constant(fn), shape: shapeArb, colsMode: colsModeArb,
  a: vectorArb(LOGIT_FILLS), b: two ? vectorArb(LOGIT_FILLS) : fc.constant(null), lengthDelta: fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(-1, 1) }),
  base: map ? fc.constant(undefined) : baseArb, temperature: fn === 'logSumExp' ? fc.constant(undefined) : temperatureArb,
  out: map ? outArb : fc.constant({ t: 'none' }), optionsMode: optionsModeArb,
});
const lossCase = fc.record({
  fn: fc.constant('softmaxCrossEntropy'),
  shape: shapeArb,
  colsMode: fc.oneof({ weight: 12, arbitrary: fc.constant('good') }, { weight: 2, arbitrary: colsModeArb }),
  a: vectorArb(LOGIT_FILLS),
  targets: fc.record({
    t: fc.oneof({ weight: 6, arbitrary: fc.constant('labels') }, { weight: 3, arbitrary: fc.constant('probs') }, { weight: 1, arbitrary: fc.constant('wrongLength') }),
    as: fc.constantFrom('array', 'int32', 'uint32', 'int8', 'f64', 'f32', 'bigint64', 'sparse'),
    seed: fc.integer(),
    bad: fc.array(fc.tuple(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.constantFrom(-1, 'cols', 1.5, NaN, 'ignore', 2 ** 31, -0, Infinity, -100, 1e300)), { maxLength: 2 }),
    prob: vectorArb(['dist', 'dist', 'dist', 'weights', 'logits']),
  }),
  reduction: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(undefined, 'mean', 'sum', 'none') }, { weight: 1, arbitrary: fc.constantFrom('avg', 0, null, 'MEAN') }),
  labelSmoothing: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(undefined, 0, 0.1, 0.999, -0) }, { weight: 1, arbitrary: fc.constantFrom(1, -0.1, NaN, '0.1', Infinity) }),
  ignoreIndex: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(undefined, -100, 0, 1, -1) }, { weight: 1, arbitrary: fc.constantFrom(1.5, '0', NaN) }),
  weights: fc.oneof({ weight: 6, arbitrary: fc.constant({ t: 'none' }) }, { weight: 3, arbitrary: fc.constant({ t: 'good' }) }, { weight: 1, arbitrary: fc.constantFrom({ t: 'short' }, { t: 'string' }, { t: 'nan' }, { t: 'negative' }, { t: 'zeros' }, { t: 'f32' }) }),
  grad: outArb,
  base: baseArb,
  optionsMode: optionsModeArb,
});
const informationCase = fc.record({
  fn: fc.constant('information'),
  p: fc.oneof(
    { weight: 6, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
    { weight: 3, arbitrary: fc.constantFrom(...SPECIALS) },
    { weight: 1, arbitrary: fc.constantFrom('0.5', null, undefined, true, 'bigint', 'array', 'object') },
  ),
  base: baseArb,
  optionsMode: optionsModeArb,
});

const CASES = [
  { weight: 1, arbitrary: informationCase },
  { weight: 3, arbitrary: probCase('entropy', false) },
  { weight: 2, arbitrary: probCase('crossEntropy', true) },
  { weight: 3, arbitrary: probCase('klDivergence', true) },
  { weight: 2, arbitrary: probCase('jsDivergence', true) },
  { weight: 3, arbitrary: logitCase('logSumExp', false, false) },
  { weight: 3, arbitrary: logitCase('softmax', false, true) },
  { weight: 3, arbitrary: logitCase('logSoftmax', false, true) },
  { weight: 2, arbitrary: logitCase('softmaxEntropy', false, false) },
  { weight: 2, arbitrary: logitCase('softmaxKlDivergence', true, false) },
  { weight: 4, arbitrary: lossCase },
];
const FNS = ['information', 'entropy', 'crossEntropy', 'klDivergence', 'jsDivergence', 'logSumExp', 'softmax', 'logSoftmax', 'softmaxEntropy', 'softmaxKlDivergence', 'softmaxCrossEntropy'];
/** Every function, or (--only a,b) some of them. */
const casesOf = (only) => fc.oneof(...CASES.filter((_, i) => !only || only.includes(FNS[i])));
let caseArb = casesOf(null);

// ---------------------------------------------------------------------------------
// The library, and the per-process state the materialiser needs
// ---------------------------------------------------------------------------------

let S; // the package
let B; // dist/backend.js (engineFor, setSmallInputCutoff: the same module instance the package uses)

const persistent = {}; // per backend: canary WasmArray, foreign arrays, the lowest byte raw views may use
const stalePool = []; // views detached by memory.grow

async function loadLibrary() {
  if (!existsSync(fileURLToPath(DIST))) {
    console.error('fuzz: dist/index.js is missing; run `npm run build` first');
    process.exit(2);
  }
  S = await import(DIST.href);
  B = await import(DIST_BACKEND.href);
}

const heapOf = () => (S.backend() === 'js' ? null : B.engineFor(Infinity).heap);

// ---------------------------------------------------------------------------------
// Materialising descriptors into values
// ---------------------------------------------------------------------------------

/** n numbers from a fill descriptor; `rowLen` rows are normalised for 'dist'. */
function fillValues(fill, n, rowLen) {
  const random = rng(fill.seed);
  const v = new Array(n);
  switch (fill.kind) {
    case 'dist':
    case 'weights': {
      for (let i = 0; i < n; i++) v[i] = random() < 0.15 ? 0 : -Math.log(1 - random()) * (fill.kind === 'weights' ? fill.scale : 1);
      if (fill.kind === 'dist') {
        const L = rowLen > 0 ? rowLen : n;
        for (let r = 0; r * L < n; r++) {
          let s = 0;
          for (let i = r * L; i < Math.min(n, (r + 1) * L); i++) s += v[i];
          if (!(s > 0)) { v[r * L] = 1; s = 1; }
          for (let i = r * L; i < Math.min(n, (r + 1) * L); i++) v[i] /= s;
        }
      }
      break;
    }
    case 'counts':
      for (let i = 0; i < n; i++) v[i] = Math.floor(random() * 10);
      break;
    case 'masked':
    case 'logits':
      for (let i = 0; i < n; i++) {
        v[i] = fill.scale * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
        if (fill.kind === 'masked' && random() < 0.3) v[i] = -Infinity;
      }
      break;
    default: // const
      v.fill(fill.scale);
  }
  for (const [at, value] of fill.specials) if (n > 0) v[Math.floor(at * n)] = value;
  return v;
}

const TYPED = { f32: Float32Array, f64: Float64Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array, int32: Int32Array, uint32: Uint32Array, u8c: Uint8ClampedArray };

function detachedView(Type, n) {
  const a = new Type(Math.max(n, 1));
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
}

/** A view detached by memory.grow (from a pool, so memory grows at most once for them). */
function staleView(type) {
  const heap = heapOf();
  const Type = TYPED[type];
  if (!heap) return detachedView(Type, 4);
  let v = stalePool.find((x) => x instanceof Type && x.length === 0 && isDetached(x));
  if (!v) {
    const wa = S.allocate(Type, 4);
    v = wa.array;
    wa.free();
    heap.memory.grow(1);
    stalePool.push(v);
  }
  return v;
}

/**
 * A vector argument.  `ctx.allocs` collects WasmArrays to free after the call; `ctx.notes`
 * what the value is (for the known-bug predicates and the reproduction).
 */
function materializeVector(d, n, rowLen, ctx, role) {
  const values = () => fillValues(d.fill, n, rowLen);
  const note = (s) => ctx.notes.push(`${role}: ${s}`);
  switch (d.shape) {
    case 'array':
      note('number[]');
      return values();
    case 'f32': case 'f64': case 'int8': case 'uint8': case 'int16': case 'int32': case 'uint32': case 'u8c': {
      const Type = TYPED[d.shape];
      const buffer = new Type(n + d.offset + 2);
      if (Type === Float32Array || Type === Float64Array) buffer.fill(NaN); // a read outside the view shows
      const x = buffer.subarray(d.offset, d.offset + n);
      x.set(values());
      note(`${Type.name} at byteOffset ${x.byteOffset}`);
      return x;
    }
    case 'shared32': case 'shared64': {
      const Type = d.shape === 'shared32' ? Float32Array : Float64Array;
      const x = new Type(new SharedArrayBuffer((n + d.offset + 1) * Type.BYTES_PER_ELEMENT), d.offset * Type.BYTES_PER_ELEMENT, n);
      x.set(values());
      note(`${Type.name} on a SharedArrayBuffer at byteOffset ${x.byteOffset}`);
      return x;
    }
    case 'wasm':
      return wasmVector(d.type, d.mode, n, values, ctx, role, d.offset);
    default:
      return badValue(d.bad, n, values, ctx, role);
  }
}

function wasmVector(type, mode, n, values, ctx, role, offset = 1) {
  const Type = TYPED[type];
  const heap = heapOf();
  const note = (s) => ctx.notes.push(`${role}: ${s}`);
  const alloc = (len) => {
    const wa = S.allocate(Type, len);
    ctx.allocs.push(wa);
    return wa;
  };
  switch (mode) {
    case 'live': { const wa = alloc(n); wa.array.set(values()); note('WasmArray (live)'); ctx.flags.wasmIn = true; return wa; }
    case 'view': { const wa = alloc(n); wa.array.set(values()); note('WasmArray .array'); ctx.flags.wasmIn = true; return owned(wa.array, wa, 0); }
    case 'sub': {
      const wa = alloc(n + offset + 3);
      const v = wa.array.subarray(offset, offset + n);
      v.set(values());
      note(`subarray(${offset}, ${offset + n}) of a WasmArray`);
      ctx.flags.wasmIn = true;
      return owned(v, wa, offset);
    }
    case 'freed': { const wa = S.allocate(Type, n); wa.array.set(values()); wa.free(); note('freed WasmArray'); return wa; }
    case 'freedView': {
      const wa = S.allocate(Type, n);
      const v = wa.array;
      v.set(values());
      wa.free();
      note('view of a freed WasmArray');
      if (heap) ctx.loose.add(role);
      return v;
    }
    case 'stale': note('view detached by memory.grow'); return staleView(type);
    case 'raw': {
      if (!heap) { const v = new Type(n); v.set(values()); note('plain array (js backend: raw)'); return v; }
      const low = persistent[S.backend()].low;
      const room = Math.floor((heap.memory.buffer.byteLength - low) / Type.BYTES_PER_ELEMENT) - n;
      if (room < 0) return wasmVector(type, 'view', n, values, ctx, role, offset);
      const at = low + Type.BYTES_PER_ELEMENT * Math.floor(rng(n * 7 + offset)() * (room + 1));
      const v = new Type(heap.memory.buffer, at, n);
      v.set(values());
      note(`raw view into the module memory at byte ${at}`);
      ctx.loose.add(role);
      return v;
    }
    default: { // foreign: a WasmArray of another backend's module
      const other = persistent[S.backend() === 'wasm-simd' ? 'wasm' : 'wasm-simd'];
      const wa = other?.foreign?.[type];
      if (!wa || n > wa.length) return wasmVector(type, 'view', n, values, ctx, role, offset);
      const v = wa.array.subarray(0, n);
      v.set(values());
      note(`view of a WasmArray of the other wasm module (${n} of its values)`);
      return v;
    }
  }
}

function badValue(kind, n, values, ctx, role) {
  ctx.notes.push(`${role}: bad (${kind})`);
  switch (kind) {
    case 'string': return '0.5,0.5';
    case 'object': return { p: values() };
    case 'lengthObj': return { length: n };
    case 'arrayLike': { const o = { length: n }; values().forEach((v, i) => { o[i] = v; }); return o; }
    case 'sparse': { const a = values(); const s = new Array(Math.max(n, 1)); for (let i = 0; i < a.length; i += 2) s[i] = a[i]; return s; }
    case 'junkEntry': { const a = values(); a[Math.floor(n / 2)] = '0.5'; if (n === 0) a.push(null); return a; }
    case 'bigint64': return new BigInt64Array(n);
    case 'biguint64': return new BigUint64Array(n);
    case 'dataview': return new DataView(new ArrayBuffer(8 * n));
    case 'null': return null;
    case 'undefined': return undefined;
    case 'number': return 0.5;
    case 'detached32': return detachedView(Float32Array, n);
    case 'detached64': return detachedView(Float64Array, n);
    case 'boolean': return true;
    case 'function': return () => 0.5;
    case 'arrayBuffer': return new Float64Array(values()).buffer;
    default: return [values()]; // nestedArray
  }
}

/** `out`/`grad` for an input `x` (materialised) of length n. */
function materializeOut(d, x, n, defaultType, ctx, role) {
  const note = (s) => ctx.notes.push(`${role}: ${s}`);
  const T = (t) => (t === 'f32' ? Float32Array : Float64Array);
  const isFloatView = x instanceof Float32Array || x instanceof Float64Array;
  switch (d.t) {
    case 'none': return undefined;
    case 'fresh': note(`new ${T(d.type).name}(${n})`); return new (T(d.type))(n).fill(NaN);
    case 'wrongLength': note(`new ${T(d.type).name}(${Math.max(0, n + d.delta)})`); return new (T(d.type))(Math.max(0, n + d.delta));
    case 'alias':
      if (x instanceof S.WasmArray || isFloatView) { note('the input itself (in place)'); ctx.flags.inPlace = true; return x; }
      return materializeOut({ t: 'fresh', type: defaultType }, x, n, defaultType, ctx, role);
    case 'aliasShift': {
      const v = x instanceof S.WasmArray && x.live ? x.array : x;
      if (!(v instanceof Float32Array || v instanceof Float64Array) || v.length === 0) return materializeOut({ t: 'fresh', type: defaultType }, x, n, defaultType, ctx, role);
      const bpe = v.BYTES_PER_ELEMENT;
      const start = v.byteOffset + d.shift * bpe;
      if (start < 0 || start + n * bpe > v.buffer.byteLength) return materializeOut({ t: 'fresh', type: defaultType }, x, n, defaultType, ctx, role);
      note(`a view of the input's buffer shifted by ${d.shift} elements (partial overlap)`);
      return new v.constructor(v.buffer, start, n);
    }
    case 'aliasOtherType': {
      const v = x instanceof S.WasmArray && x.live ? x.array : x;
      if (!(v instanceof Float64Array) || v.length === 0) return materializeOut({ t: 'fresh', type: defaultType }, x, n, defaultType, ctx, role);
      note('a Float32Array over the first half of the input\'s bytes');
      return new Float32Array(v.buffer, v.byteOffset, n);
    }
    case 'wasm': {
      if (d.mode === 'freedView' || d.mode === 'raw') ctx.flags.wasmOut = !!heapOf();
      if (d.mode === 'live' || d.mode === 'view') ctx.flags.wasmOut = !!heapOf();
      return wasmVector(d.type, d.mode, n, () => new Array(n).fill(NaN), ctx, role);
    }
    case 'shared': {
      note(`${T(d.type).name} on a SharedArrayBuffer`);
      return new (T(d.type))(new SharedArrayBuffer(n * (d.type === 'f32' ? 4 : 8)));
    }
    case 'array': note('number[]'); return new Array(n).fill(0);
    case 'int32': note('Int32Array'); return new Int32Array(n);
    case 'string': note('a string'); return 'out';
    case 'lengthObj': note('{length}'); return { length: n };
    default: note('a detached Float64Array'); return detachedView(Float64Array, n);
  }
}

function colsOption(mode, cols, n) {
  if (mode === 'none') return undefined;
  if (mode === 'good') return cols;
  if (mode === 'plus1') return n + 1;
  return mode;
}

function wrapOptions(mode, o) {
  switch (mode) {
    case 'object': return o;
    case 'undefined': return undefined;
    case 'null': return null;
    case 'string': return 'options';
    case 'number': return 2;
    default: return [o];
  }
}

const dropUndefined = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** Materialises a case: { call: () => result, args, options }. */
function materialize(c) {
  const ctx = { allocs: [], notes: [], flags: {}, loose: new Set() };
  if (c.fn === 'information') {
    const p = c.p === 'bigint' ? 1n : c.p === 'array' ? [0.5] : c.p === 'object' ? { p: 0.5 } : c.p;
    const options = wrapOptions(c.optionsMode, dropUndefined({ base: c.base }));
    return { ctx, args: [p], options };
  }
  const { n: rawN, cols: colsN } = c.shape;
  const good = c.colsMode === 'good';
  const n = good ? Math.floor(rawN / colsN) * colsN : rawN;
  const cols = colsOption(c.colsMode, colsN, n);
  const rowLen = typeof cols === 'number' && Number.isInteger(cols) && cols > 0 ? cols : n;
  const a = materializeVector(c.a, n, rowLen, ctx, c.fn === 'softmaxCrossEntropy' ? 'logits' : 'arg0');
  if (c.fn === 'softmaxCrossEntropy') {
    // the class count the targets and weights are made for (a bad `cols` falls back to colsN)
    const C = Number.isInteger(cols) && cols > 0 && cols <= 1e6 ? cols : colsN;
    const rows = Math.floor(n / C);
    const targets = materializeTargets(c.targets, rows, C, n, c.ignoreIndex, ctx);
    const weights = materializeWeights(c.weights, C, ctx);
    const grad = materializeOut(c.grad, a, n, a instanceof Float32Array ? 'f32' : 'f64', ctx, 'grad');
    const o = dropUndefined({ cols, reduction: c.reduction, labelSmoothing: c.labelSmoothing, ignoreIndex: c.ignoreIndex, weights, grad, base: c.base });
    return { ctx, args: [a, targets], options: wrapOptions(c.optionsMode, o) };
  }
  const args = [a];
  if (c.b) args.push(materializeVector(c.b, Math.max(0, n + c.lengthDelta), rowLen, ctx, 'arg1'));
  const o = { cols, base: c.base, normalize: c.normalize, validate: c.validate, temperature: c.temperature };
  if (c.out && c.out.t !== 'none') o.out = materializeOut(c.out, a, n, a instanceof Float32Array || (a instanceof S.WasmArray && a.type === Float32Array) ? 'f32' : 'f64', ctx, 'out');
  return { ctx, args, options: wrapOptions(c.optionsMode, dropUndefined(o)) };
}

function materializeTargets(t, rows, cols, n, ignoreIndex, ctx) {
  if (t.t === 'probs') return materializeVector(t.prob, n, cols, ctx, 'targets');
  const len = t.t === 'wrongLength' ? rows + 1 + (n === rows + 1 ? 1 : 0) : rows;
  const random = rng(t.seed);
  const v = Array.from({ length: len }, () => Math.floor(random() * cols));
  for (const [at, bad] of t.bad) {
    if (len === 0) break;
    v[Math.floor(at * len)] = bad === 'cols' ? cols : bad === 'ignore' ? (typeof ignoreIndex === 'number' ? ignoreIndex : -100) : bad;
  }
  ctx.notes.push(`targets: labels as ${t.as}`);
  switch (t.as) {
    case 'array': return v;
    case 'int32': return Int32Array.from(v, (x) => (Number.isFinite(x) ? x : 0));
    case 'uint32': return Uint32Array.from(v, (x) => (Number.isFinite(x) ? x : 0));
    case 'int8': return Int8Array.from(v, (x) => (Number.isFinite(x) ? x : 0));
    case 'f64': return Float64Array.from(v);
    case 'f32': return Float32Array.from(v);
    case 'bigint64': return new BigInt64Array(len);
    default: { const s = new Array(len); for (let i = 0; i < len; i += 2) s[i] = v[i]; return s; }
  }
}

function materializeWeights(w, cols, ctx) {
  if (w.t === 'none') return undefined;
  ctx.notes.push(`weights: ${w.t}`);
  const good = Array.from({ length: cols }, (_, i) => 0.25 + ((i * 7) % 5) / 2);
  switch (w.t) {
    case 'good': return good;
    case 'short': return good.slice(1);
    case 'string': return 'weights';
    case 'nan': return good.map((v, i) => (i === 0 ? NaN : v));
    case 'negative': return good.map((v, i) => (i === 0 ? -1 : v));
    case 'zeros': return new Float64Array(cols);
    default: return Float32Array.from(good);
  }
}

// ---------------------------------------------------------------------------------
// The oracle: what the SPEC/README say a call must do, from the materialised values
// ---------------------------------------------------------------------------------

/** As the README's vector rules: {ok, data (snapshot), dtype, view} or {type: reason}. */
function inspectVector(x) {
  if (x instanceof S.WasmArray) {
    if (!x.live) return { type: 'freed WasmArray' };
    const v = x.array;
    return { ok: true, data: Array.from(v), dtype: v instanceof Float32Array ? 'f32' : 'f64', view: v, length: v.length };
  }
  if (ArrayBuffer.isView(x)) {
    if (x instanceof DataView || x instanceof BigInt64Array || x instanceof BigUint64Array) return { type: 'not numbers' };
    if (x.length === 0 && isDetached(x)) return { type: 'detached' };
    return { ok: true, data: Array.from(x), dtype: x instanceof Float32Array ? 'f32' : 'f64', view: x, length: x.length };
  }
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) if (typeof x[i] !== 'number') return { type: `entry ${i} not a number` };
    return { ok: true, data: x.slice(), dtype: 'f64', view: null, length: x.length };
  }
  return { type: 'not an array' };
}

/** An expectation: `errors` (classes the call may throw; empty: it must return), `maybe` (borderline). */
class Expect {
  constructor() { this.errors = new Set(); this.maybe = new Set(); this.check = null; this.shapeOnly = false; }
  error(cls) { this.errors.add(cls); return this; }
}

function optionChecks(fn, options, e) {
  if (options !== undefined && options !== null && typeof options !== 'object') { e.error('TypeError'); return null; }
  return options ?? {};
}

function checkCols(cols, n, e) {
  if (cols === undefined) return { rows: 1, cols: n, matrix: false };
  if (typeof cols !== 'number' || !Number.isInteger(cols)) { e.error('TypeError'); return null; }
  if (cols < 1) { e.error('RangeError'); return null; }
  if (n % cols !== 0) { e.error('RangeError'); return null; }
  return { rows: n / cols, cols: n === 0 ? 0 : cols, matrix: true };
}

function checkBase(base, e) {
  if (base === undefined) return 1;
  if (typeof base !== 'number') { e.error('TypeError'); return null; }
  if (!Number.isFinite(base) || base <= 0 || base === 1) { e.error('RangeError'); return null; }
  return 1 / Math.log(base);
}

/** Temperatures: a number in [1e-30, 1e30] (src/args.ts since fed0267; was: finite and > 0). */
function checkTemperature(t, e) {
  if (t === undefined) return 1;
  if (typeof t !== 'number') { e.error('TypeError'); return null; }
  if (!(t >= 1e-30 && t <= 1e30)) { e.error('RangeError'); return null; }
  return t;
}

function checkFlag(v, fallback, e) {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') { e.error('TypeError'); return null; }
  return v;
}

/** `out`/`grad`: type, length, detached, overlap with inputs (in place allowed for `inPlaceOk`). */
function checkOut(o, n, inputs, inPlaceOk, e) {
  const view = o instanceof S.WasmArray ? (o.live ? o.array : null) : o;
  if (!(view instanceof Float32Array || view instanceof Float64Array)) { e.error('TypeError'); return null; }
  if (view.length !== n) { e.error('TypeError'); return null; }
  if (n > 0 && isDetached(view)) { e.error('TypeError'); return null; }
  // a view into a module's memory outside every live WasmArray (freed, raw) is refused
  if (n > 0 && Object.values(persistent).some((p) => p.heap && view.buffer === p.heap.memory.buffer && p.heap.locate(view) < 0)) { e.error('TypeError'); return null; }
  for (const arg of inputs) {
    const d = arg.view;
    if (!d || d.buffer !== view.buffer || n === 0) continue;
    const a0 = d.byteOffset, a1 = a0 + d.byteLength, b0 = view.byteOffset, b1 = b0 + view.byteLength;
    if (a1 <= b0 || b1 <= a0) continue;
    const same = a0 === b0 && a1 === b1 && d.constructor === view.constructor;
    if (!(same && inPlaceOk.includes(arg))) { e.error('RangeError'); return null; }
  }
  return view;
}

const SUM_TOL = { f32: 1e-5, f64: 1e-6 };

/** Probability checks (with `validate`): entries, then row sums (borderline sums: either). */
function checkProbabilities(arg, s, normalize, e) {
  for (const v of arg.data) if (!(v >= 0) || !Number.isFinite(v)) { e.error('RangeError'); return false; }
  if (s.cols === 0) return true;
  const tol = SUM_TOL[arg.dtype];
  for (let r = 0; r < s.rows; r++) {
    const sum = fsum(arg.data.slice(r * s.cols, (r + 1) * s.cols));
    if (normalize) {
      if (!(sum > 0) || !Number.isFinite(sum)) { e.error('RangeError'); return false; }
      if (sum > 1e307) e.maybe.add('RangeError'); // the library's own summation may overflow
    } else {
      const off = Math.abs(sum - 1);
      if (off > 2 * tol) { e.error('RangeError'); return false; }
      if (off > 0.5 * tol) e.maybe.add('RangeError');
    }
  }
  return true;
}

/** log(a/b) for a, b ≥ 0, accurate when a ≈ b, exact for subnormal/overflowing ratios. */
function logRatio(a, b) {
  if (b === 0) return a === 0 ? NaN : Infinity;
  const r = a / b;
  if (r > 0.5 && r < 2) return Math.log1p((a - b) / b);
  // a ratio that overflows, or underflows (to a subnormal or to 0), from the two logs
  if ((r === Infinity || r < 2.2250738585072014e-308) && a > 0 && b > 0) return Math.log(a) - Math.log(b);
  return Math.log(r);
}

/** log(2a/(a + b)), from the exact difference a − b when a ≈ b. */
function logMix(a, b) {
  const s = a + b, r = (2 * a) / s;
  return r > 0.5 && r < 2 ? Math.log1p((a - b) / s) : logRatio(2 * a, s);
}

/** Reference reductions over probability rows (float64; `normalize`: divide each row by its sum). */
function probabilityReference(fn, P, Q, s, normalize) {
  const values = [], mags = [], slack = [];
  for (let r = 0; r < s.rows; r++) {
    const p = P.data.slice(r * s.cols, (r + 1) * s.cols);
    const q = Q ? Q.data.slice(r * s.cols, (r + 1) * s.cols) : null;
    const Sp = normalize ? fsum(p) : 1, Sq = normalize && q ? fsum(q) : 1;
    const terms = [];
    for (let i = 0; i < p.length; i++) {
      const a = p[i], b = q ? q[i] : 0;
      if (fn === 'entropy') { if (a !== 0) terms.push(-(a / Sp) * logRatio(a, Sp)); }
      // p > 0 = q is Infinity, however small p is next to its total (p/Σp may underflow)
      else if (fn === 'crossEntropy') { if (a !== 0) terms.push(b === 0 ? Infinity : -(a / Sp) * logRatio(b, Sq)); }
      else if (fn === 'klDivergence') {
        if (a === 0) continue;
        if (b === 0) { terms.push(Infinity); continue; }
        // log((a/Sp)/(b/Sq)): from the products when they are normal numbers, else from two logs
        // (a ≠ 0 here: a product of 0 is an underflow, except b·Sp with b = 0)
        const x = a * Sq, y = b * Sp, normal = (v) => Math.abs(v) >= 2.2250738585072014e-308 && Number.isFinite(v);
        terms.push((a / Sp) * (!normalize ? logRatio(a, b) : normal(x) && (b === 0 || normal(y)) ? logRatio(x, y) : logRatio(a, b) + logRatio(Sq, Sp)));
      }
      else {
        const an = a / Sp, bn = b / Sq;
        if (an !== 0) terms.push(0.5 * an * logMix(an, bn));
        if (bn !== 0) terms.push(0.5 * bn * logMix(bn, an));
      }
    }
    values.push(fsum(terms));
    mags.push(fsum(terms.map(Math.abs)));
    // the reference's own rounding when normalising (a few ulps of each normalised term)
    slack.push(normalize ? 8e-16 * fsum(p.map((v) => Math.abs(v / Sp))) + 8e-16 * fsum(terms.map(Math.abs)) : 0);
  }
  return { values, mags, slack };
}

/** One row of softmax quantities relative to the maximum (float64, conventions of the README). */
function softmaxRow(x, T) {
  let m = -Infinity, nan = false;
  for (const v of x) { if (v !== v) nan = true; else if (v > m) m = v; }
  if (nan || m === Infinity) return { special: 'nan', m, nan, x };
  if (m === -Infinity) return { special: 'masked', m, nan, x };
  const t = x.map((v) => (v - m) / T);
  const e = t.map(Math.exp);
  const ones = e.filter((v) => v === 1).length;
  const rest = fsum(e.filter((v) => v !== 1));
  const S = ones + rest;
  const ls = ones === 1 ? Math.log1p(rest) : Math.log(S);
  const logp = t.map((v) => v - ls);
  const p = e.map((v) => v / S);
  return { m, t, p, logp, ls, S, x };
}

/** The expectation of one call (errors it may throw, or a checker of its result). */
function expectation(c, args, options) {
  const e = new Expect();
  const fn = c.fn;
  if (fn === 'information') {
    const o = optionChecks(fn, options, e);
    const p = args[0];
    if (typeof p !== 'number') e.error('TypeError');
    else if (!(p >= 0 && p <= 1)) e.error('RangeError');
    const scale = o ? checkBase(o.base, e) : null;
    if (e.errors.size || scale === null) return e;
    const want = o.base === 2 ? -Math.log2(p) : o.base === 10 ? -Math.log10(p) : -Math.log(p) * scale;
    e.check = (got) => compareNumber(got, want, Math.abs(want), 'f64');
    return e;
  }
  const o = optionChecks(fn, options, e) ?? {};
  if (fn === 'softmaxCrossEntropy') return lossExpectation(args, o, e);
  const A = inspectVector(args[0]);
  if (!A.ok) e.error('TypeError');
  const two = args.length > 1;
  const Bv = two ? inspectVector(args[1]) : null;
  if (two && !Bv.ok) e.error('TypeError');
  if (A.ok && two && Bv.ok && A.length !== Bv.length) e.error('TypeError');
  const s = A.ok ? checkCols(o.cols, A.length, e) : null;
  const isProb = ['entropy', 'crossEntropy', 'klDivergence', 'jsDivergence'].includes(fn);
  // logSumExp, softmax and logSoftmax take no `base` (an unknown option is ignored)
  const scale = isProb || fn === 'softmaxEntropy' || fn === 'softmaxKlDivergence' ? checkBase(o.base, e) : 1;
  e.scale = scale;
  let normalize = false, validate = true, T = 1, out;
  if (isProb) {
    normalize = checkFlag(o.normalize, false, e);
    validate = checkFlag(o.validate, true, e);
  } else if (fn !== 'logSumExp') {
    T = checkTemperature(o.temperature, e);
  }
  const isMap = fn === 'softmax' || fn === 'logSoftmax';
  if (isMap && o.out !== undefined && A.ok) out = checkOut(o.out, A.length, [A], [A], e);
  if (e.errors.size || !s) return e;

  if (isProb) {
    let sane = true;
    if (validate) {
      if (!checkProbabilities(A, s, normalize, e)) return e;
      if (two && !checkProbabilities(Bv, s, normalize, e)) return e;
    } else {
      sane = [A, Bv].filter(Boolean).every((X) => X.data.every((v) => v >= 0 && Number.isFinite(v)));
      if (normalize) sane &&= rowSumsPositive(A, s) && (!two || rowSumsPositive(Bv, s));
      else sane &&= rowSumsNear1(A, s) && (!two || rowSumsNear1(Bv, s));
    }
    const dtype = A.dtype === 'f32' && (!two || Bv.dtype === 'f32') && !normalize ? 'f32' : 'f64';
    const ref = probabilityReference(fn, A, Bv, s, normalize);
    e.shapeOnly = !sane;
    e.check = (got) => compareReduction(got, ref, scale, s, dtype, !sane);
    return e;
  }
  const dtype = A.dtype === 'f32' && (!two || Bv.dtype === 'f32') ? 'f32' : 'f64';
  const rows = [];
  for (let r = 0; r < s.rows; r++) {
    rows.push({
      a: softmaxRow(A.data.slice(r * s.cols, (r + 1) * s.cols), fn === 'logSumExp' ? 1 : T),
      b: two ? softmaxRow(Bv.data.slice(r * s.cols, (r + 1) * s.cols), T) : null,
    });
  }
  if (isMap) {
    e.check = (got) => compareMap(fn, got, rows, s, A, out, dtype, o.out);
    return e;
  }
  e.check = (got) => compareSoftmaxReduction(fn, got, rows, scale, s, dtype);
  return e;
}

function rowSumsPositive(X, s) {
  for (let r = 0; r < s.rows; r++) { const sum = fsum(X.data.slice(r * s.cols, (r + 1) * s.cols)); if (!(sum > 0 && sum < 1e300)) return false; }
  return true;
}
function rowSumsNear1(X, s) {
  for (let r = 0; r < s.rows; r++) if (s.cols > 0 && Math.abs(fsum(X.data.slice(r * s.cols, (r + 1) * s.cols)) - 1) > 1e-5) return false;
  return true;
}


function lossExpectation(args, o, e) {
  if (o.cols === undefined) e.error('TypeError');
  const Z = inspectVector(args[0]);
  if (!Z.ok) e.error('TypeError');
  const s = o.cols === undefined ? null : checkCols(o.cols, Z.ok ? Z.length : 0, e);
  const Tg = inspectVector(args[1]);
  if (!Tg.ok) e.error('TypeError');
  let isLabels = false;
  if (s && Z.ok && Tg.ok) {
    isLabels = Tg.length === s.rows;
    if (!isLabels && Tg.length !== Z.length) e.error('TypeError');
  }
  const reduction = o.reduction ?? 'mean';
  if (!['mean', 'sum', 'none'].includes(reduction)) e.error(typeof reduction === 'string' ? 'RangeError' : 'TypeError');
  const eps = o.labelSmoothing ?? 0;
  if (typeof eps !== 'number') e.error('TypeError');
  else if (!(eps >= 0 && eps < 1)) e.error('RangeError');
  const ignore = o.ignoreIndex;
  if (ignore !== undefined && !(typeof ignore === 'number' && Number.isInteger(ignore))) e.error('TypeError');
  let W = null;
  if (o.weights !== undefined) {
    W = inspectVector(o.weights);
    if (!W.ok) e.error('TypeError');
    else if (W.length !== o.cols) e.error('TypeError');
  }
  const scale = checkBase(o.base, e);
  e.scale = scale;
  let grad;
  if (o.grad !== undefined && Z.ok) grad = checkOut(o.grad, Z.length, isLabels ? [Z] : [Z, Tg].filter((x) => x.ok), [Z], e);
  if (e.errors.size || !s || !Z.ok || !Tg.ok) return e;
  const { rows, cols } = s;
  if (isLabels) {
    for (let r = 0; r < rows; r++) {
      const y = Tg.data[r];
      if (y === ignore) continue;
      if (!Number.isInteger(y) || y < 0 || y >= cols) { e.error('RangeError'); return e; }
    }
  }
  // the reference: PyTorch's formulas, row by row
  const w = W ? W.data : null;
  const sane = (!w || w.every(Number.isFinite)) && (isLabels || Tg.data.every(Number.isFinite));
  const losses = [], mags = [], grads = [], tws = [];
  let denominator = 0;
  for (let r = 0; r < rows; r++) {
    const z = Z.data.slice(r * cols, (r + 1) * cols);
    const t = [];
    if (isLabels) {
      const y = Tg.data[r];
      if (y === ignore) { losses.push(0); mags.push(0); grads.push(new Array(cols).fill(0)); continue; }
      denominator += w ? w[y] : 1;
      for (let c = 0; c < cols; c++) t.push((1 - eps) * (c === y ? 1 : 0) + eps / cols);
    } else {
      denominator += 1;
      for (let c = 0; c < cols; c++) t.push((1 - eps) * Tg.data[r * cols + c] + eps / cols);
    }
    const row = softmaxRow(z, 1);
    if (row.special) { losses.push(NaN); mags.push(0); grads.push(new Array(cols).fill(NaN)); continue; }
    const terms = row.logp.map((l, c) => { const wc = w ? w[c] : 1; return t[c] * wc === 0 ? 0 : -wc * t[c] * l; });
    losses.push(fsum(terms));
    mags.push(fsum(terms.map(Math.abs)) + fsum(row.logp.map((l, c) => { const wt = Math.abs((w ? w[c] : 1) * t[c]); return wt === 0 ? 0 : wt * (Math.abs(row.t[c]) + Math.abs(row.ls)); })));
    const tw = fsum(t.map((v, c) => v * (w ? w[c] : 1)));
    tws[r] = tw;
    // (the magnitude of Σ w·t̃ is Σ |w·t̃|: targets are not validated, and a row summing to ~0
    // makes Σ w·t̃ a cancellation that any summation order rounds differently)
    const twMag = fsum(t.map((v, c) => Math.abs(v * (w ? w[c] : 1))));
    grads.push(row.p.map((p, c) => [tw * p - (w ? w[c] : 1) * t[c], twMag * p + Math.abs((w ? w[c] : 1) * t[c])]));
  }
  const dtype = Z.dtype === 'f32' && (isLabels || Tg.dtype === 'f32') ? 'f32' : 'f64';
  const gradScale = (reduction === 'mean' ? (denominator !== 0 ? 1 / denominator : 0) : 1) * scale;
  e.shapeOnly = !sane;
  e.check = (got) => {
    const total = fsum(losses), mag = fsum(mags);
    let err;
    if (reduction === 'none') err = compareArray(got, losses.map((v) => v * scale), mags.map((m) => m * Math.abs(scale)), dtype, Float64Array, !sane);
    else if (reduction === 'sum') err = sane ? compareNumber(got, total * scale, mag * Math.abs(scale), dtype) : typeCheck(got, 'number');
    else err = sane ? compareNumber(got, denominator !== 0 ? (total * scale) / denominator : 0, denominator !== 0 ? (mag * Math.abs(scale)) / Math.abs(denominator) : 0, dtype) : typeCheck(got, 'number');
    if (err || !grad) return err;
    const g = o.grad instanceof S.WasmArray ? o.grad.array : current(grad);
    if (!sane) return null;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const ref = grads[r][c];
        const want = Array.isArray(ref) ? ref[0] * gradScale : ref * gradScale;
        const m = Array.isArray(ref) ? ref[1] * Math.abs(gradScale) : 0;
        // a Float32Array gradient is float32-rounded (out of range: ±Infinity); written over
        // its own logits, its exponentials are float32 before the row's weight Σ w·t̃ scales
        // them, so an entry keeps their resolution, 2^-149 (README, accuracy)
        const sub = g instanceof Float32Array ? 2 * 2 ** -149 * Math.abs((tws[r] ?? 0) * gradScale) : 0;
        const msg = g instanceof Float32Array ? compareNumber(g[r * cols + c], Math.fround(want), m, 'f32', sub) : compareNumber(g[r * cols + c], want, m, dtype);
        if (msg) return `grad[${r * cols + c}]: ${msg}`;
      }
    }
    return null;
  };
  return e;
}

// --- comparisons (loose: the property tests hold the SPEC's bounds; here, categories
// and gross errors).  Float32 results below FLT_MIN are allowed 1e-36 (a gradient written
// over its own logits keeps float32's subnormal resolution there; README, accuracy).

const LOOSE = { f32: { rel: 1e-4, abs: 1e-36 }, f64: { rel: 1e-9, abs: 1e-290 } };
let overflowOk = false; // set per call: some input is beyond the documented range
let floorScale = 1; // set per call: the base's 1/ln b scales the absolute floors too

function compareNumber(got, want, mag, dtype, extra = 0) {
  if (typeof got !== 'number') return `returned ${typeof got}, want a number`;
  if (Number.isNaN(want)) return Number.isNaN(got) ? null : `got ${fmt(got)}, want NaN`;
  // beyond the documented range (±1e30 float32, ±1e300 float64), partial sums may overflow
  // with both signs, ∞ − ∞, where the exact result is huge or infinite
  if (overflowOk && Number.isNaN(got) && !(Math.abs(want) < 1e300)) return null;
  if (!Number.isFinite(want)) return got === want ? null : `got ${fmt(got)}, want ${fmt(want)}`;
  // a finite result at the top of the range may overflow on the way (logits near ±1.8e308),
  // and so may any result from inputs beyond the documented range
  if ((Math.abs(want) > 1e305 || overflowOk) && (got === Infinity || got === -Infinity)) return null;
  if (!Number.isFinite(got)) return `got ${fmt(got)}, want ${fmt(want)}`;
  const { rel, abs } = LOOSE[dtype];
  const tol = rel * Math.max(Number.isFinite(mag) ? mag : 0, Math.abs(want)) + abs * floorScale + extra;
  return Math.abs(got - want) <= tol ? null : `got ${fmt(got)}, want ${fmt(want)} (error ${Math.abs(got - want).toExponential(2)} > ${tol.toExponential(2)})`;
}

function typeCheck(got, type) {
  return typeof got === type ? null : `returned ${typeof got}, want a ${type}`;
}

function compareArray(got, want, mags, dtype, Type, shapeOnly, extras = null) {
  if (!(got instanceof Type)) return `returned ${got?.constructor?.name ?? typeof got}, want a ${Type.name}`;
  if (got.length !== want.length) return `returned length ${got.length}, want ${want.length}`;
  if (shapeOnly) return null;
  for (let i = 0; i < want.length; i++) {
    const msg = compareNumber(got[i], want[i], mags[i], dtype, extras ? extras[i] : 0);
    if (msg) return `[${i}]: ${msg}`;
  }
  return null;
}

function compareReduction(got, ref, scale, s, dtype, shapeOnly) {
  const want = ref.values.map((v) => v * scale), mags = ref.mags.map((m) => m * Math.abs(scale));
  // the reference's own rounding, and 6 digits for close distributions (the SPEC's KL/JS clause)
  const extras = ref.slack.map((x, i) => x * Math.abs(scale) + 1e-6 * Math.abs(want[i]));
  if (s.matrix) return compareArray(got, want, mags, dtype, Float64Array, shapeOnly, extras);
  if (typeof got !== 'number') return `returned ${typeof got}, want a number`;
  return shapeOnly ? null : compareNumber(got, want[0], mags[0], dtype, extras[0]);
}

function compareSoftmaxReduction(fn, got, rows, scale, s, dtype) {
  const want = [], mags = [], extras = [];
  for (const { a, b } of rows) {
    extras.push(0);
    if (fn === 'logSumExp') {
      if (a.special) { want.push(a.nan ? NaN : a.m); mags.push(0); continue; }
      want.push(a.m + a.ls); mags.push(Math.abs(a.m) + Math.abs(a.ls));
    } else if (fn === 'softmaxEntropy') {
      if (a.special) { want.push(a.special === 'masked' ? 0 : NaN); mags.push(0); continue; }
      const terms = a.p.map((p, i) => (p === 0 ? 0 : -p * a.logp[i]));
      want.push(fsum(terms) * scale); mags.push(fsum(terms.map(Math.abs)) * Math.abs(scale));
    } else {
      if (a.nan || b.nan) { want.push(NaN); mags.push(0); continue; }
      if (a.special === 'masked') { want.push(0); mags.push(0); continue; }
      if (a.m === Infinity || b.m === Infinity) { want.push(NaN); mags.push(0); continue; }
      if (b.special === 'masked') { want.push(Infinity * scale); mags.push(0); continue; }
      // Q masked where P has mass, however little (its probability may underflow): Infinity
      // (masked: the logit itself is −Infinity, not a (b − max)/T that overflowed)
      if (a.x.some((v, i) => v !== -Infinity && b.x[i] === -Infinity)) { want.push(Infinity * scale); mags.push(0); continue; }
      const terms = a.p.map((p, i) => (p === 0 ? 0 : p * (a.logp[i] - b.logp[i])));
      want.push(fsum(terms) * scale);
      mags.push((fsum(terms.map(Math.abs)) + fsum(a.p.map((p, i) => (p === 0 ? 0 : p * (Math.abs(a.logp[i]) + Math.abs(b.logp[i]))))) * 1e-6) * Math.abs(scale));
      // close distributions: the SPEC promises 6 digits (KL ≈ 1e-8 keeps ≥ 6 correct digits)
      extras[extras.length - 1] = 1e-6 * Math.abs(fsum(terms) * scale);
    }
  }
  const compare = () => {
    if (s.matrix) return compareArray(got, want, mags, dtype, Float64Array, false, extras);
    if (typeof got !== 'number') return `returned ${typeof got}, want a number`;
    return compareNumber(got, want[0], mags[0], dtype, extras[0]);
  };
  return compare();
}

function compareMap(fn, got, rows, s, A, out, dtype, outOption) {
  const Type = out ? out.constructor : A.dtype === 'f32' ? Float32Array : Float64Array;
  if (out) {
    const expected = outOption instanceof S.WasmArray ? outOption.array : out;
    // a view into module memory that the call's growth detached comes back re-derived: a
    // live view of the same type and length over the memory as it is now (a detached view
    // no longer tells its byte offset)
    const rederived = isDetached(out) && got && got.constructor === out.constructor && !isDetached(got) &&
      got.length === rows.length * s.cols && got.buffer.byteLength % 65536 === 0;
    if (got !== expected && got !== out && !rederived) return 'did not return `out`';
  }
  const want = [], mags = [];
  for (const { a } of rows) {
    for (let i = 0; i < s.cols; i++) {
      if (a.special) { want.push(a.special === 'masked' ? (fn === 'softmax' ? 0 : -Infinity) : NaN); mags.push(0); continue; }
      if (fn === 'softmax') { want.push(a.p[i]); mags.push(a.p[i]); }
      else { want.push(a.logp[i]); mags.push(Math.abs(a.t[i]) + Math.abs(a.ls)); }
    }
  }
  const view = outOption instanceof S.WasmArray ? outOption.array : got;
  // a Float32Array result is float32-rounded (out of range: ±Infinity)
  const cmpType = Type === Float32Array ? 'f32' : dtype;
  const rounded = Type === Float32Array ? want.map(Math.fround) : want;
  return compareArray(view, rounded, mags, cmpType, Type, false);
}

// ---------------------------------------------------------------------------------
// Canaries: fixed calls whose results must never change
// ---------------------------------------------------------------------------------

function canaryInputs() {
  const random = rng(12345);
  const dist = (n, T) => { const a = new T(n); let s = 0; for (let i = 0; i < n; i++) s += a[i] = -Math.log(1 - random()); for (let i = 0; i < n; i++) a[i] /= s; return a; };
  const logits = (n, T) => T.from({ length: n }, () => 3 * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
  const rowsDist = (rows, cols, T) => { const a = new T(rows * cols); for (let r = 0; r < rows; r++) a.set(dist(cols, T), r * cols); return a; };
  return {
    p64: dist(37, Float64Array), p32: dist(100, Float32Array), q32: dist(100, Float32Array),
    arr: Array.from(dist(5, Float64Array)), arrQ: Array.from(dist(5, Float64Array)),
    m64: rowsDist(3, 7, Float64Array), n64: rowsDist(3, 7, Float64Array),
    x32: logits(1000, Float32Array), x64: logits(65, Float64Array), y32: logits(33, Float32Array), z64: logits(200, Float64Array),
    a32: logits(17, Float32Array), b32: logits(17, Float32Array), l32: logits(80, Float32Array), labels: Int32Array.from({ length: 8 }, (_, i) => (i * 3) % 10),
    w: Array.from({ length: 10 }, (_, i) => 0.5 + i / 10),
  };
}

/** Every canary's result, as arrays of numbers (and the canary WasmArray's contents). */
function runCanaries(I, wa) {
  const out = [];
  const push = (v) => out.push(typeof v === 'number' ? [v] : Array.from(v));
  push(S.information(0.3, { base: 2 }));
  push(S.entropy(I.p64));
  push(S.klDivergence(I.p32, I.q32));
  push(S.jsDivergence(I.arr, I.arrQ));
  push(S.crossEntropy(I.m64, I.n64, { cols: 7 }));
  push(S.entropy(I.arr.map((v) => v * 3), { normalize: true, base: 10 }));
  push(S.logSumExp(I.x32));
  push(S.softmax(I.x64));
  push(S.logSoftmax(I.y32, { temperature: 0.7 }));
  push(S.softmaxEntropy(I.z64, { cols: 50 }));
  push(S.softmaxKlDivergence(I.a32, I.b32));
  const grad = new Float32Array(80);
  push(S.softmaxCrossEntropy(I.l32, I.labels, { cols: 10, grad, labelSmoothing: 0.1, weights: I.w }));
  push(grad);
  if (wa) {
    push(wa.array);
    push(S.softmax(wa));
    push(S.logSumExp(wa.array));
  }
  return out;
}

function sameBits(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].length !== b[i].length) return false;
    for (let j = 0; j < a[i].length; j++) if (!Object.is(a[i][j], b[i][j])) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------
// Running a case
// ---------------------------------------------------------------------------------

const CUTOFFS = [0, 64];

function snapshot(x) {
  if (x instanceof S.WasmArray) return x.live ? Array.from(x.array) : null;
  if (ArrayBuffer.isView(x) && !(x instanceof DataView) && !isDetached(x)) return Array.from(x, (v) => (typeof v === 'bigint' ? Number(v) : v));
  if (Array.isArray(x)) return x.slice();
  return null;
}

/** Runs one case on the current backend; returns { outcome, failure?, known? }. */
function runCase(c, state) {
  const { ctx, args, options } = materialize(c);
  const e = expectation(c, args, options);
  const before = args.map(snapshot);
  const heap = heapOf();
  const pagesBefore = heap ? heap.pages : 0;
  const call = () => (c.fn === 'information' ? S.information(args[0], options) : S[c.fn](...args, options));
  let result, thrown = null;
  const t0 = performance.now();
  try {
    result = call();
  } catch (err) {
    thrown = err;
    if (process.env.FUZZ_STACK) console.error(err.stack);
  }
  const ms = performance.now() - t0;
  const grew = heap ? heap.pages > pagesBefore : false;
  let failure = null, outcome;
  const expectThrow = e.errors.size > 0;
  if (thrown) {
    const cls = thrown?.constructor?.name;
    const documented = (cls === 'TypeError' || cls === 'RangeError') && typeof thrown.message === 'string' && thrown.message.startsWith(`${c.fn}: `);
    outcome = documented ? cls : 'other';
    if (!documented) failure = `threw ${cls}: ${thrown?.message} (not a documented "${c.fn}: …" TypeError/RangeError)`;
    else if (!e.errors.has(cls) && !e.maybe.has(cls)) failure = expectThrow ? `threw ${cls} (${thrown.message}); want ${[...e.errors].join(' or ')}` : `threw ${cls} (${thrown.message}); want a result`;
  } else {
    outcome = expectThrow ? 'returned' : e.shapeOnly ? 'ok (shape checked)' : 'ok (value checked)';
    if (expectThrow) failure = `returned ${describeResult(result)}; want ${[...e.errors].join(' or ')}`;
    else if (e.check) {
      // from the inputs as they were (an in-place call has overwritten them since)
      overflowOk = args.some((x, i) => {
        const v = inspectVector(x);
        return v.ok && before[i] !== null && Array.from(before[i]).some((y) => Number.isFinite(y) && Math.abs(y) > (v.dtype === 'f32' ? 1e30 : 1e300));
      });
      floorScale = Math.max(1, Math.abs(e.scale ?? 1)) || 1;
      const msg = e.check(result);
      if (msg && msg.startsWith('known:')) e.known = msg.slice(6);
      if (msg) failure = `wrong result: ${msg}`;
    }
  }
  // inputs not written (except out/grad targets and memory the library owns)
  if (!failure) {
    const target = options && typeof options === 'object' ? (options.out ?? options.grad) : undefined;
    const targetView = target instanceof S.WasmArray ? (target.live ? target.array : null) : target;
    args.forEach((x, i) => {
      if (failure || before[i] === null || x === target || (targetView && ArrayBuffer.isView(x) && x.buffer === targetView.buffer)) return;
      if (ctx.loose.size || (x instanceof S.WasmArray && targetView && x.array.buffer === targetView.buffer)) return;
      const now = snapshot(x);
      if (now && (now.length !== before[i].length || now.some((v, j) => !Object.is(v, before[i][j])))) failure = `input ${i} was modified by the call`;
    });
  }
  let known = null;
  if (failure) known = knownBug(c, e, thrown, ctx, grew, args, options, before);
  for (const wa of ctx.allocs) wa.free();
  // canaries: bit-identical to the start
  const canary = runCanaries(state.inputs, persistent[S.backend()]?.canary);
  const want = state.canaries[`${S.backend()}/${state.cutoff}`];
  let corrupted = null;
  if (!sameBits(canary, want)) corrupted = 'a canary call gave a different result after this call';
  if (S.backend() !== state.backend) corrupted = `backend() changed to ${S.backend()}`;
  return { outcome, failure, known, corrupted, ms, notes: ctx.notes, grew };
}

function describeResult(r) {
  if (typeof r === 'number') return fmt(r);
  if (ArrayBuffer.isView(r)) return `${r.constructor.name}(${r.length})`;
  return typeof r;
}

/**
 * Which known bug a failing call matches.  `e.known` is set by the expectation (from the
 * arguments as they were before the call); the other arguments are there for predicates of
 * bugs to come (memory growth: `grew`; WasmArray arguments: `ctx.flags`, `ctx.loose`).
 */
// eslint-disable-next-line no-unused-vars
function knownBug(c, e, thrown, ctx, grew, args, options, before) {
  if (e.known) return e.known;
  return null;
}

// ---------------------------------------------------------------------------------
// Reproduction: a fast-check description and JavaScript that rebuilds the call
// ---------------------------------------------------------------------------------

function code(v, depth = 0) {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'function') return '() => 0.5';
  const list = (xs) => (xs.length <= 24 ? xs.map((x) => code(x, depth + 1)).join(', ') : `${Array.from(xs).slice(0, 12).map((x) => code(x, depth + 1)).join(', ')}, /* … ${xs.length} values in all */`);
  if (v instanceof S.WasmArray) return v.live ? `allocate(${v.type.name}, ${v.length}) /* holding [${list(Array.from(v.array))}] */` : `/* a freed WasmArray */ (() => { const w = allocate(${v.type.name}, ${v.length}); w.free(); return w; })()`;
  if (ArrayBuffer.isView(v)) {
    const name = v.constructor.name;
    if (v instanceof DataView) return `new DataView(new ArrayBuffer(${v.byteLength}))`;
    if (isDetached(v)) return `/* detached */ (() => { const a = new ${name}(4); structuredClone(a.buffer, { transfer: [a.buffer] }); return a; })()`;
    const shared = typeof SharedArrayBuffer !== 'undefined' && v.buffer instanceof SharedArrayBuffer;
    const where = v.byteOffset ? ` /* at byteOffset ${v.byteOffset}${shared ? ' of a SharedArrayBuffer' : ''} */` : shared ? ' /* on a SharedArrayBuffer */' : '';
    return `${name}.from([${list(Array.from(v))}])${where}`;
  }
  if (Array.isArray(v)) {
    let holes = false;
    for (let i = 0; i < v.length; i++) if (!(i in v)) holes = true;
    return holes ? `/* sparse */ [${Array.from({ length: v.length }, (_, i) => (i in v ? code(v[i]) : '')).join(', ')}]` : `[${list(v)}]`;
  }
  if (v instanceof ArrayBuffer) return `new ArrayBuffer(${v.byteLength})`;
  if (typeof v === 'object') return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${code(x, depth + 1)}`).join(', ')} }`;
  return String(v);
}

function reproduction(c, backend, cutoff) {
  const { ctx, args, options } = materialize(c);
  const lines = [
    `import { init, allocate, ${c.fn} } from 'surprisal';`,
    `await init({ backend: '${backend}' });${cutoff === 0 ? ' // and setSmallInputCutoff(0) from dist/backend.js: the wasm kernels at every length' : ''}`,
    ...args.map((a, i) => `const arg${i} = ${code(a)};`),
    `${c.fn}(${args.map((_, i) => `arg${i}`).join(', ')}${options === undefined ? '' : `, ${code(options)}`});`,
  ];
  if (ctx.notes.length) lines.push(`// ${ctx.notes.join('; ')}`);
  for (const wa of ctx.allocs) wa.free();
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------
// Setup shared by the worker and --replay
// ---------------------------------------------------------------------------------

async function setup() {
  await loadLibrary();
  const inputs = canaryInputs();
  const canaries = {};
  for (const b of BACKENDS) {
    await S.init({ backend: b });
    if (b !== 'js') {
      const canary = S.allocate(Float32Array, 96);
      canary.array.set(Float32Array.from({ length: 96 }, (_, i) => Math.sin(i) * 5));
      const foreign = { f32: S.allocate(Float32Array, 64), f64: S.allocate(Float64Array, 64) };
      foreign.f32.array.set(Float32Array.from({ length: 64 }, (_, i) => Math.cos(i)));
      foreign.f64.array.set(Float64Array.from({ length: 64 }, () => 1 / 64));
      // raw views go above these (they may overwrite anything else: the arena, freed memory)
      const low = Math.max(...[canary, foreign.f32, foreign.f64].map((w) => w.array.byteOffset + w.array.byteLength));
      persistent[b] = { canary, foreign, low: (low + 15) & ~15, heap: B.engineFor(Infinity).heap };
    } else {
      persistent[b] = {};
    }
    for (const cutoff of CUTOFFS) {
      B.setSmallInputCutoff(cutoff);
      canaries[`${b}/${cutoff}`] = runCanaries(inputs, persistent[b].canary);
      const again = runCanaries(inputs, persistent[b].canary);
      if (!sameBits(again, canaries[`${b}/${cutoff}`])) throw new Error(`canaries are not deterministic on ${b}`);
    }
  }
  return { inputs, canaries };
}

// ---------------------------------------------------------------------------------
// The one very large call
// ---------------------------------------------------------------------------------

function bigCall(state) {
  const n = 30_000_019; // ≥ 3e7, odd: the kernels' tails too
  const x = new Float32Array(n);
  const random = rng(7);
  for (let i = 0; i < n; i++) x[i] = 4 * (random() - 0.5);
  x[n - 1] = 9; // the maximum in the tail
  const heap = heapOf();
  const pages0 = heap ? heap.pages : 0;
  const t0 = performance.now();
  const lse = S.logSumExp(x);
  const out = new Float32Array(n);
  S.softmax(x, { out });
  const ms = performance.now() - t0;
  // references
  let m = -Infinity;
  for (let i = 0; i < n; i++) if (x[i] > m) m = x[i];
  let s = 0, comp = 0;
  for (let i = 0; i < n; i++) { const v = Math.exp(x[i] - m), t = s + v; comp += s - t + v; s = t; }
  s += comp;
  const want = m + Math.log(s);
  const problems = [];
  if (!(Math.abs(lse - want) <= 1e-5 * Math.abs(want))) problems.push(`logSumExp = ${lse}, want ${want}`);
  let total = 0;
  for (let i = 0; i < n; i++) total += out[i];
  if (!(Math.abs(total - 1) < 1e-3)) problems.push(`Σ softmax = ${total}`);
  for (const i of [0, 1, n >> 1, n - 2, n - 1]) {
    const w = Math.exp(x[i] - m) / s;
    if (!(Math.abs(out[i] - w) <= 1e-5 * w)) problems.push(`softmax[${i}] = ${out[i]}, want ${w}`);
  }
  const canary = runCanaries(state.inputs, persistent[S.backend()]?.canary);
  if (!sameBits(canary, state.canaries[`${S.backend()}/${state.cutoff}`])) problems.push('canaries changed after the large call');
  return { n, backend: S.backend(), ms: Math.round(ms), pagesBefore: pages0, pagesAfter: heap ? heap.pages : 0, problems };
}

// ---------------------------------------------------------------------------------
// Worker: the fuzzing loop
// ---------------------------------------------------------------------------------

async function fuzzWorker({ seconds, seed, big, strict, shared, only }) {
  if (only) caseArb = casesOf(only);
  const beat = new Int32Array(shared, 0, 4);
  const text = new Uint16Array(shared, 16);
  const writeCurrent = (s) => {
    const len = Math.min(s.length, text.length);
    for (let i = 0; i < len; i++) text[i] = s.charCodeAt(i);
    beat[1] = len;
    Atomics.add(beat, 0, 1);
  };
  writeCurrent(encode({ phase: 'setup' }));
  const base = await setup();
  // FUZZ_SELFTEST=hang|crash checks the supervisor's watchdog and crash report
  if (process.env.FUZZ_SELFTEST === 'hang') { writeCurrent(encode({ phase: 'selftest: a busy loop' })); for (;;); }
  if (process.env.FUZZ_SELFTEST === 'crash') throw new Error('selftest crash');
  if (process.env.FUZZ_SELFTEST === 'corrupt') persistent['wasm-simd'].canary.array[3] += 1; // as if a call had written there
  const deadline = Date.now() + seconds * 1000;
  const stats = { calls: 0, byFn: {}, outcomes: {}, known: {}, failures: [], slowest: { ms: 0 }, pages: {}, big: null, slices: 0 };
  for (const b of BACKENDS) {
    if (b === 'js') continue;
    await S.init({ backend: b });
    stats.pages[b] = { before: heapOf().pages };
  }
  let slice = 0, stop = false;
  const distinct = new Set();
  while (!stop && Date.now() < deadline) {
    const backend = BACKENDS[slice % 3];
    const cutoff = slice % 4 === 3 ? 64 : 0;
    await S.init({ backend });
    B.setSmallInputCutoff(cutoff);
    const state = { ...base, backend, cutoff };
    if (big && !stats.big && backend === 'wasm-simd' && slice > 0) {
      writeCurrent(encode({ phase: 'big', backend }));
      stats.big = bigCall(state);
      if (stats.big.problems.length) {
        stats.failures.push({ fn: 'logSumExp/softmax', message: `the large call (${stats.big.n} float32): ${stats.big.problems.join('; ')}`, backend, cutoff, repro: '// see bigCall() in fuzz/run.js' });
      }
    }
    const sliceSeed = (seed + slice * 7919) | 0;
    let firstFailure = null, index = 0;
    const property = fc.property(caseArb, (c) => {
      writeCurrent(encode({ c, backend, cutoff }));
      const r = runCase(c, state);
      index++;
      stats.calls++;
      stats.byFn[c.fn] = (stats.byFn[c.fn] ?? 0) + 1;
      stats.outcomes[r.outcome] = (stats.outcomes[r.outcome] ?? 0) + 1;
      if (r.ms > stats.slowest.ms) stats.slowest = { ms: Math.round(r.ms), fn: c.fn, notes: r.notes.join('; '), backend };
      if (r.corrupted) {
        // the process state is broken from here on: report the case as it was, and stop
        firstFailure ??= { c, message: r.corrupted, fatal: true, index };
        throw new Error(r.corrupted);
      }
      if (r.failure && r.known && !strict) {
        stats.known[r.known] = (stats.known[r.known] ?? 0) + 1;
        return true;
      }
      if (r.failure) {
        firstFailure ??= { c, message: r.failure, known: r.known, index };
        throw new Error(r.failure);
      }
      return true;
    });
    const remaining = deadline - Date.now();
    const details = fc.check(property, { seed: sliceSeed, numRuns: 1e9, interruptAfterTimeLimit: Math.max(200, Math.min(2500, remaining)), markInterruptAsFailure: false });
    stats.slices++;
    if (details.failed && firstFailure) {
      let shrunk = details.counterexample?.[0] ?? firstFailure.c;
      let shrunkError = details.errorInstance?.message;
      if (!firstFailure.fatal && details.interrupted !== false) {
        // shrinking was cut by the slice's time limit: go on from where it stopped (≤ 10 s)
        const more = fc.check(property, { seed: sliceSeed, path: details.counterexamplePath, interruptAfterTimeLimit: 10000, markInterruptAsFailure: false });
        if (more.failed && more.counterexample) {
          shrunk = more.counterexample[0];
          shrunkError = more.errorInstance?.message;
          details.counterexamplePath = more.counterexamplePath;
        }
      }
      // the shrunk case's own message (run again: the fast-check error is of the last shrink step)
      const key = `${firstFailure.c.fn}/${firstFailure.message.replace(/[-\d.e+]+/g, '#').slice(0, 60)}`;
      if (!distinct.has(key)) {
        distinct.add(key);
        const failure = {
          fn: firstFailure.c.fn, backend, cutoff,
          message: firstFailure.message,
          shrunkMessage: String(shrunkError ?? ''),
          known: firstFailure.known,
          case: fc.stringify(firstFailure.fatal ? firstFailure.c : shrunk),
          token: encode({ c: shrunk, backend, cutoff }),
          firstToken: encode({ c: firstFailure.c, backend, cutoff }),
          seed: sliceSeed, path: details.counterexamplePath,
          repro: firstFailure.fatal ? reproduction(firstFailure.c, backend, cutoff) : reproduction(shrunk, backend, cutoff),
          fatal: !!firstFailure.fatal,
          // the first slice starts from the setup state: its runs up to the failure replay exactly
          sequence: slice === 0 ? encode({ sequence: { seed: sliceSeed, count: firstFailure.index }, backend, cutoff }) : null,
        };
        stats.failures.push(failure);
        parentPort.postMessage({ type: 'failure', failure });
      }
      if (firstFailure.fatal || stats.failures.length >= 8) stop = true;
    }
    slice++;
  }
  for (const b of Object.keys(stats.pages)) {
    await S.init({ backend: b });
    stats.pages[b].after = heapOf().pages;
  }
  writeCurrent(encode({ phase: 'done' }));
  parentPort.postMessage({ type: 'done', stats });
}

// ---------------------------------------------------------------------------------
// Supervisor (main thread)
// ---------------------------------------------------------------------------------

function printFailure(f, i) {
  console.log(`\nFAILURE ${i + 1}${f.known ? ` (matches ${f.known} but --strict)` : ''}: ${f.fn} on ${f.backend} (small-input cutoff ${f.cutoff})${f.fatal ? ' — corrupted later calls' : ''}`);
  console.log(`  ${f.message}`);
  if (f.shrunkMessage && f.shrunkMessage !== f.message) console.log(`  after shrinking: ${f.shrunkMessage.split('\n')[0]}`);
  if (f.case) console.log(`  case (fast-check${f.fatal ? ', as it ran: state is broken after it, so not shrunk' : `, shrunk; seed ${f.seed}, path ${f.path}`}):\n    ${f.case}`);
  console.log(`  reproduction:\n    ${f.repro.split('\n').join('\n    ')}`);
  if (f.token) console.log(`  replay in a fresh process: node fuzz/run.js --replay ${f.token}`);
  if (f.firstToken && f.firstToken !== f.token) console.log(`  (the unshrunk case: node fuzz/run.js --replay ${f.firstToken})`);
  if (f.sequence) console.log(`  (the calls before it too, if it depends on them: node fuzz/run.js --replay ${f.sequence})`);
}

function printSummary(stats, seconds, seed) {
  console.log(`\nfuzz: ${stats.calls} calls in ${seconds} s (seed ${seed}, ${stats.slices} slices over ${BACKENDS.join(', ')})`);
  console.log(`  by function: ${Object.entries(stats.byFn).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`  outcomes:    ${Object.entries(stats.outcomes).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const known = Object.entries(stats.known);
  console.log(`  known bugs:  ${known.length ? known.map(([k, v]) => `${k} ×${v} (${KNOWN[k]})`).join('; ') : 'none hit'}`);
  console.log(`  slowest call: ${stats.slowest.ms} ms (${stats.slowest.fn ?? '-'} on ${stats.slowest.backend ?? '-'}${stats.slowest.notes ? `; ${stats.slowest.notes}` : ''})`);
  for (const [b, p] of Object.entries(stats.pages)) console.log(`  memory ${b}: ${p.before} → ${p.after} pages of 64 KiB`);
  if (stats.big) console.log(`  large call: ${stats.big.n} float32 on ${stats.big.backend}, logSumExp + softmax in ${stats.big.ms} ms, pages ${stats.big.pagesBefore} → ${stats.big.pagesAfter}${stats.big.problems.length ? `; PROBLEMS: ${stats.big.problems.join('; ')}` : ', correct'}`);
  console.log(`  failures:    ${stats.failures.length}`);
}

async function supervise(opts) {
  if (!existsSync(fileURLToPath(DIST))) {
    console.error('fuzz: dist/index.js is missing; run `npm run build` first');
    process.exit(2);
  }
  const seed = opts.seed;
  console.log(`fuzz: ${opts.seconds} s, seed ${seed}${opts.big ? ', with one ≥ 3e7-element call' : ''}${opts.strict ? ', strict' : ''}`);
  const shared = new SharedArrayBuffer(16 + 2 * 65536);
  const beat = new Int32Array(shared, 0, 4);
  const text = new Uint16Array(shared, 16);
  const current = () => String.fromCharCode(...text.subarray(0, beat[1]));
  const worker = new Worker(new URL(import.meta.url), { workerData: { seconds: opts.seconds, seed, big: opts.big, strict: opts.strict, shared, only: opts.only } });
  let lastBeat = -1, lastChange = Date.now(), done = false;
  const failures = [];
  const finish = (code) => { done = true; clearInterval(timer); process.exitCode = code; };
  const timer = setInterval(() => {
    const b = Atomics.load(beat, 0);
    if (b !== lastBeat) { lastBeat = b; lastChange = Date.now(); return; }
    if (Date.now() - lastChange > opts.hang * 1000) {
      const token = current();
      console.log(`\nFAILURE: HANG — no progress for ${opts.hang} s in this case:`);
      try { const d = decode(token); console.log(`  ${fc.stringify(d)}`); } catch { /* partial */ }
      console.log(`  replay: node fuzz/run.js --replay ${token}`);
      void worker.terminate();
      finish(1);
    }
  }, 1000);
  worker.on('message', (m) => {
    if (m.type === 'failure') {
      failures.push(m.failure);
      if (opts.verbose) printFailure(m.failure, failures.length - 1);
    } else if (m.type === 'done') {
      m.stats.failures.forEach(printFailure);
      printSummary(m.stats, opts.seconds, seed);
      finish(m.stats.failures.length ? 1 : 0);
      void worker.terminate();
    }
  });
  worker.on('error', (err) => {
    if (done) return;
    const token = current();
    console.log(`\nFAILURE: the fuzzing worker crashed: ${err?.stack ?? err}`);
    console.log(`  during: node fuzz/run.js --replay ${token}`);
    finish(1);
  });
  worker.on('exit', (code) => {
    if (done) return;
    console.log(`\nFAILURE: the fuzzing worker exited (code ${code}) during: node fuzz/run.js --replay ${current()}`);
    finish(1);
  });
}

async function replay(token, dump) {
  const { c, backend, cutoff, sequence } = decode(token);
  if (sequence) {
    // the first `count` cases of a slice, in order, from the setup state
    const base = await setup();
    await S.init({ backend });
    B.setSmallInputCutoff(cutoff);
    const state = { ...base, backend, cutoff };
    let i = 0, bad = 0;
    fc.check(fc.property(caseArb, (cs) => {
      i++;
      const r = runCase(cs, state);
      if (r.failure || r.corrupted || i === sequence.count) {
        console.log(`call ${i}: ${cs.fn}: ${r.outcome}${r.failure ? ` — FAILURE: ${r.failure}${r.known ? ` (${r.known})` : ''}` : ''}${r.corrupted ? ` — CORRUPTED: ${r.corrupted}` : ''}; ${r.notes.join('; ')}${r.grew ? '; memory grew' : ''}`);
        if (r.failure || r.corrupted) bad++;
      }
      return true;
    }), { seed: sequence.seed, numRuns: sequence.count });
    process.exitCode = bad ? 1 : 0;
    return;
  }
  if (!c) {
    console.log(`nothing to replay (${JSON.stringify(decode(token))})`);
    return;
  }
  const base = await setup();
  await S.init({ backend });
  B.setSmallInputCutoff(cutoff);
  console.log(`replay: ${c.fn} on ${backend} (small-input cutoff ${cutoff})\n  ${fc.stringify(c)}`);
  console.log(`reproduction:\n  ${reproduction(c, backend, cutoff).split('\n').join('\n  ')}`);
  if (dump) {
    const { ctx, args, options } = materialize(c);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(dump, JSON.stringify({ args: args.map((a) => snapshot(a) ?? String(a)), options: Object.fromEntries(Object.entries(options ?? {}).map(([k, v]) => [k, snapshot(v) ?? v])) }, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)));
    for (const wa of ctx.allocs) wa.free();
    console.log(`arguments written to ${dump}`);
  }
  const r = runCase(c, { ...base, backend, cutoff });
  console.log(`outcome: ${r.failure ? 'FAILED' : r.outcome} in ${r.ms.toFixed(2)} ms${r.failure ? `\nFAILURE: ${r.failure}${r.known ? ` (${r.known}: ${KNOWN[r.known]})` : ''}` : ''}${r.corrupted ? `\nCORRUPTED: ${r.corrupted}` : ''}`);
  process.exitCode = r.failure || r.corrupted ? 1 : 0;
}

// ---------------------------------------------------------------------------------

if (isMainThread) {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      seed: { type: 'string' },
      hang: { type: 'string', default: '60' },
      big: { type: 'boolean', default: true },
      'no-big': { type: 'boolean', default: false },
      strict: { type: 'boolean', default: false },
      replay: { type: 'string' },
      dump: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      only: { type: 'string' },
    },
    strict: true,
  });
  if (values.replay) {
    await replay(values.replay, values.dump);
  } else {
    const seconds = Number(values.seconds);
    const hang = Number(values.hang);
    if (!(seconds > 0) || !(hang > 0)) {
      console.error('fuzz: --seconds and --hang must be positive numbers');
      process.exit(2);
    }
    const seed = values.seed === undefined ? (Date.now() ^ (Math.random() * 2 ** 31)) | 0 : Number(values.seed) | 0;
    const only = values.only ? values.only.split(',') : null;
    if (only && only.some((f) => !FNS.includes(f))) {
      console.error(`fuzz: --only takes function names (${FNS.join(', ')})`);
      process.exit(2);
    }
    await supervise({ seconds, seed, hang, big: values.big && !values['no-big'], strict: values.strict, verbose: values.verbose, only });
  }
} else {
  await fuzzWorker(workerData);
}

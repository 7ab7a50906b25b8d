// The generators: fast-check arbitraries of small JSON case descriptors (one per public
// function, CASES/casesOf), their materialisation into the hostile values a call gets
// (materialize), the random draws both use, and the JavaScript that rebuilds a
// materialised call for a failure's reproduction (reproduction).

import fc from 'fast-check';
import { S, persistent, heapOf, isDetached, owned } from './common.js';
import { rng } from '../test/pool-cases.js';

// ---------------------------------------------------------------------------------
// Random draws (the canaries and the large call use them too)
// ---------------------------------------------------------------------------------

/** The deterministic generator (mulberry32) of the tests: one definition, in test/pool-cases.js. */
export { rng };

/** An exponential draw (mean 1) from a generator. */
export const exponential = (random) => -Math.log(1 - random());

/** A normal draw of standard deviation `scale` (Box–Muller) from a generator. */
export const normal = (random, scale) => scale * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

// ---------------------------------------------------------------------------------
// Arbitraries: case descriptors
// ---------------------------------------------------------------------------------

const SPECIALS = [NaN, Infinity, -Infinity, -0, 0, 5e-324, 1e-310, 2.2250738585072014e-308, 1.401298464324817e-45, 1.1754943508222875e-38,
  1e-300, 1e300, Number.MAX_VALUE, -Number.MAX_VALUE, 3.4028234663852886e38, -3.4028234663852886e38, 1e30, -1e30, 1, -1, 0.5, 2, 1e-7,
  1 + 2 ** -52, 1 - 2 ** -53, -1e-300, 0.1, 1e-45, 1e-40];

/** Up to `maxLength` [position in [0, 1), value] pairs: values to put over a vector's entries. */
const placedArb = (values, maxLength) => fc.array(fc.tuple(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.constantFrom(...values)), { maxLength });

const specialsArb = placedArb(SPECIALS, 3);

/** Lengths 0…2e5, mostly small. */
const lengthArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 8 }) },
  { weight: 4, arbitrary: fc.integer({ min: 9, max: 70 }) },
  { weight: 2, arbitrary: fc.integer({ min: 71, max: 1000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1001, max: 20000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 20001, max: 200000 }) },
);

const floatTypeArb = fc.constantFrom('f32', 'f64');

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
    type: floatTypeArb,
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
  { weight: 1, arbitrary: fc.record({ t: fc.constant('wrongLength'), type: floatTypeArb, delta: fc.constantFrom(-1, 1, 7) }) },
  { weight: 2, arbitrary: fc.constant({ t: 'alias' }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('aliasShift'), shift: fc.constantFrom(-1, 1, 3) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'aliasOtherType' }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('wasm'), type: floatTypeArb, mode: fc.constantFrom('live', 'view', 'freed', 'freedView', 'stale', 'raw') }) },
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

/** Every vector case's first fields: the function, the shape and `cols`, one or two vectors (b: `lengthDelta` longer). */
const vectorCaseFields = (fn, two, fills) => ({
  fn: fc.constant(fn), shape: shapeArb, colsMode: colsModeArb,
  a: vectorArb(fills), b: two ? vectorArb(fills) : fc.constant(null), lengthDelta: fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(-1, 1) }),
});
const probCase = (fn, two) => fc.record({
  ...vectorCaseFields(fn, two, PROB_FILLS),
  base: baseArb, normalize: flagArb, validate: flagArb, optionsMode: optionsModeArb,
});
const logitCase = (fn, two, map) => fc.record({
  ...vectorCaseFields(fn, two, LOGIT_FILLS),
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
    bad: placedArb([-1, 'cols', 1.5, NaN, 'ignore', 2 ** 31, -0, Infinity, -100, 1e300], 2),
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
/** A joint table (mutualInformation, conditionalEntropy): `cols` required, the whole table a distribution ('dist'). */
const jointCase = (fn) => fc.record({
  fn: fc.constant(fn), shape: shapeArb,
  colsMode: fc.oneof({ weight: 12, arbitrary: fc.constant('good') }, { weight: 2, arbitrary: colsModeArb }),
  a: vectorArb(PROB_FILLS), b: fc.constant(null), lengthDelta: fc.constant(0),
  base: baseArb, normalize: flagArb, validate: flagArb, optionsMode: optionsModeArb,
});
/** logSumExp with weights, signedLogSumExp: weights per element or per column, of any sign for the signed one. */
const weightedCase = (fn) => fc.record({
  ...vectorCaseFields(fn, false, LOGIT_FILLS), weighted: fc.constant(true),
  weights: fc.record({
    t: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('perElement', 'perElement', 'perColumn') },
      { weight: 2, arbitrary: fc.constantFrom('zeros', 'negative', 'nan', fn === 'signedLogSumExp' ? 'absent' : 'perElement') },
      { weight: 1, arbitrary: fc.constantFrom('short', 'string', 'null') },
    ),
    as: fc.constantFrom('array', 'f64', 'f32'), seed: fc.integer(), signed: fc.boolean(),
  }),
  optionsMode: optionsModeArb,
});

/** sigmoidCrossEntropy: logits and targets in [0, 1] (soft or hard), weights and posWeight per element or class. */
const sigmoidCase = fc.record({
  ...vectorCaseFields('sigmoidCrossEntropy', false, LOGIT_FILLS), sigmoid: fc.constant(true),
  targets: fc.record({ hard: fc.boolean(), as: fc.constantFrom('array', 'f64', 'f32', 'same'), seed: fc.integer(), bad: placedArb([-0.5, 1.5, NaN, Infinity, 'ok'], 1) }),
  weights: fc.oneof({ weight: 5, arbitrary: fc.constant('none') }, { weight: 2, arbitrary: fc.constantFrom('perElement', 'perClass') }, { weight: 1, arbitrary: fc.constantFrom('negative', 'short', 'string', 'inf') }),
  posWeight: fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: fc.constantFrom(2, 0, 0.5, 'perClass', 'one') }, { weight: 1, arbitrary: fc.constantFrom(-1, NaN, 'short', 'string') }),
  reduction: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(undefined, 'mean', 'sum', 'none') }, { weight: 1, arbitrary: fc.constantFrom('avg', 0, null) }),
  labelSmoothing: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(undefined, 0, 0.1, 0.9) }, { weight: 1, arbitrary: fc.constantFrom(1, -0.1, NaN, '0.1', null) }),
  base: baseArb, grad: outArb, optionsMode: optionsModeArb,
});

/** sigmoidFocalLoss: the targets of sigmoidCrossEntropy, alpha and gamma. */
const focalCase = fc.record({
  ...vectorCaseFields('sigmoidFocalLoss', false, LOGIT_FILLS), sigmoid: fc.constant(true),
  targets: fc.record({ hard: fc.boolean(), as: fc.constantFrom('array', 'f64', 'f32', 'same'), seed: fc.integer(), bad: placedArb([-0.5, 1.5, NaN, Infinity, 'ok'], 1) }),
  alpha: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(undefined, 0.25, 0.5, 1, 0, -1) }, { weight: 1, arbitrary: fc.constantFrom(1.5, NaN, '0.25', null) }),
  gamma: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(undefined, 0, 1, 2, 3, 1.5, 0.5, 4, 7.3) }, { weight: 1, arbitrary: fc.constantFrom(-1, Infinity, NaN, '2', null) }),
  reduction: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(undefined, 'mean', 'sum', 'none') }, { weight: 1, arbitrary: fc.constantFrom('avg', 0, null) }),
  base: baseArb, grad: outArb, optionsMode: optionsModeArb,
});

/** byteEntropy: bytes of `distinct` values in a Uint8Array, a Buffer, a Uint8ClampedArray, a view of a WasmArray's memory, or not bytes. */
const bytesCase = fc.record({
  fn: fc.constant('byteEntropy'), n: lengthArb, seed: fc.integer(), distinct: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 5, max: 256 })),
  as: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('uint8', 'buffer', 'u8c', 'wasmView') },
    { weight: 1, arbitrary: fc.constantFrom('int8', 'f32', 'array', 'string', 'arrayBuffer', 'dataview', 'detached', 'freedView') },
  ),
  offset: fc.integer({ min: 0, max: 7 }), base: baseArb, optionsMode: optionsModeArb,
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
  { weight: 2, arbitrary: jointCase('mutualInformation') },
  { weight: 2, arbitrary: jointCase('conditionalEntropy') },
  { weight: 2, arbitrary: bytesCase },
  { weight: 2, arbitrary: weightedCase('logSumExp') },
  { weight: 2, arbitrary: weightedCase('signedLogSumExp') },
  { weight: 3, arbitrary: sigmoidCase },
  { weight: 2, arbitrary: focalCase },
];
export const FNS = ['information', 'entropy', 'crossEntropy', 'klDivergence', 'jsDivergence', 'logSumExp', 'softmax', 'logSoftmax', 'softmaxEntropy', 'softmaxKlDivergence', 'softmaxCrossEntropy',
  'mutualInformation', 'conditionalEntropy', 'byteEntropy', 'logSumExp', 'signedLogSumExp', 'sigmoidCrossEntropy', 'sigmoidFocalLoss'];
/** Every function, or (--only a,b) some of them. */
export const casesOf = (only) => fc.oneof(...CASES.filter((_, i) => !only || only.includes(FNS[i])));

// ---------------------------------------------------------------------------------
// Materialising descriptors into values
// ---------------------------------------------------------------------------------

const stalePool = []; // views detached by memory.grow

/** n numbers from a fill descriptor; `rowLen` rows are normalised for 'dist'. */
function fillValues(fill, n, rowLen) {
  const random = rng(fill.seed);
  const v = new Array(n);
  switch (fill.kind) {
    case 'dist':
    case 'weights': {
      for (let i = 0; i < n; i++) v[i] = random() < 0.15 ? 0 : exponential(random) * (fill.kind === 'weights' ? fill.scale : 1);
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
        v[i] = normal(random, fill.scale);
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

/** An array of `length` with every other entry of `values` (from the first) and holes between. */
function sparse(values, length) {
  const s = new Array(length);
  for (let i = 0; i < values.length; i += 2) s[i] = values[i];
  return s;
}

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
    case 'sparse': return sparse(values(), Math.max(n, 1));
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
      // (a shift of n or more is no overlap: the call rightly writes there, which may be
      // another array's memory, e.g. the canary WasmArray just below a foreign one)
      if (Math.abs(d.shift) >= n || start < 0 || start + n * bpe > v.buffer.byteLength) return materializeOut({ t: 'fresh', type: defaultType }, x, n, defaultType, ctx, role);
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

/** Materialises a case: { ctx, args, options }. */
export function materialize(c) {
  const ctx = { allocs: [], notes: [], flags: {}, loose: new Set() };
  if (c.fn === 'information') {
    const p = c.p === 'bigint' ? 1n : c.p === 'array' ? [0.5] : c.p === 'object' ? { p: 0.5 } : c.p;
    const options = wrapOptions(c.optionsMode, dropUndefined({ base: c.base }));
    return { ctx, args: [p], options };
  }
  if (c.fn === 'byteEntropy') return { ctx, args: [materializeBytes(c, ctx)], options: wrapOptions(c.optionsMode, dropUndefined({ base: c.base })) };
  const { n: rawN, cols: colsN } = c.shape;
  const good = c.colsMode === 'good';
  const n = good ? Math.floor(rawN / colsN) * colsN : rawN;
  const cols = colsOption(c.colsMode, colsN, n);
  // (a joint table is one distribution: its rows are not normalised each)
  const joint = c.fn === 'mutualInformation' || c.fn === 'conditionalEntropy';
  const rowLen = !joint && typeof cols === 'number' && Number.isInteger(cols) && cols > 0 ? cols : n;
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
  if (c.sigmoid) {
    const t = materializeSigmoidTargets(c.targets, a, n, ctx);
    const C = Number.isInteger(cols) && cols > 0 ? cols : n;
    const first = (v) => goodWeights(n).map((x, i) => (i === 0 ? v : x));
    const w = c.weights === 'none' ? undefined : c.weights === 'perElement' ? goodWeights(n) : c.weights === 'perClass' ? goodWeights(C)
      : c.weights === 'negative' ? first(-1) : c.weights === 'inf' ? first(Infinity) : c.weights === 'short' ? goodWeights(Math.max(0, n - 1)) : 'w';
    const pw = c.posWeight === 'perClass' ? goodWeights(C).map((v) => v * 2) : c.posWeight === 'one' ? [3] : c.posWeight === 'short' ? goodWeights(C + 1) : c.posWeight === 'string' ? 'pw' : c.posWeight;
    const grad = materializeOut(c.grad, a, n, a instanceof Float32Array || (a instanceof S.WasmArray && a.type === Float32Array) ? 'f32' : 'f64', ctx, 'grad');
    const o = c.fn === 'sigmoidFocalLoss' ? dropUndefined({ cols, alpha: c.alpha, gamma: c.gamma, reduction: c.reduction, base: c.base, grad })
      : dropUndefined({ cols, weights: w, posWeight: pw, reduction: c.reduction, labelSmoothing: c.labelSmoothing, base: c.base, grad });
    return { ctx, args: [a, t], options: wrapOptions(c.optionsMode, o) };
  }
  if (c.weighted) {
    const w = materializeLseWeights(c.weights, n, cols, ctx);
    return { ctx, args: [a], options: wrapOptions(c.optionsMode, dropUndefined({ cols, weights: w })) };
  }
  const args = [a];
  if (c.b) args.push(materializeVector(c.b, Math.max(0, n + c.lengthDelta), rowLen, ctx, 'arg1'));
  const o = { cols, base: c.base, normalize: c.normalize, validate: c.validate, temperature: c.temperature };
  if (c.out && c.out.t !== 'none') o.out = materializeOut(c.out, a, n, a instanceof Float32Array || (a instanceof S.WasmArray && a.type === Float32Array) ? 'f32' : 'f64', ctx, 'out');
  return { ctx, args, options: wrapOptions(c.optionsMode, dropUndefined(o)) };
}

function materializeSigmoidTargets(t, a, n, ctx) {
  const random = rng(t.seed);
  const v = Array.from({ length: n }, () => (t.hard ? (random() < 0.5 ? 0 : 1) : random()));
  for (const [at, bad] of t.bad) if (n > 0 && bad !== 'ok') v[Math.floor(at * n)] = bad;
  const as = t.as === 'same' ? (a instanceof Float32Array ? 'f32' : 'f64') : t.as;
  ctx.notes.push(`targets: ${t.hard ? 'hard' : 'soft'} as ${as}`);
  return as === 'array' ? v : as === 'f64' ? Float64Array.from(v) : Float32Array.from(v);
}

function materializeLseWeights(w, n, cols, ctx) {
  ctx.notes.push(`weights: ${w.t} as ${w.as}`);
  const random = rng(w.seed);
  const perColumn = w.t === 'perColumn' && typeof cols === 'number' && Number.isInteger(cols) && cols > 0;
  const len = perColumn ? cols : w.t === 'short' ? Math.max(0, n - 1) : n;
  const v = Array.from({ length: len }, () => (w.signed && random() < 0.4 ? -1 : 1) * (random() < 0.1 ? 0 : exponential(random)));
  if (w.t === 'zeros') v.fill(0);
  if (w.t === 'negative' && len > 0) v[Math.floor(random() * len)] = -0.5;
  if (w.t === 'nan' && len > 0) v[Math.floor(random() * len)] = NaN;
  if (w.t === 'absent') return undefined;
  if (w.t === 'string') return 'weights';
  if (w.t === 'null') return null;
  return w.as === 'array' ? v : w.as === 'f64' ? Float64Array.from(v) : Float32Array.from(v);
}

function materializeBytes(c, ctx) {
  const random = rng(c.seed), n = c.n;
  const v = Array.from({ length: n }, () => (Math.floor(random() * c.distinct) * 97 + 13) % 256);
  ctx.notes.push(`bytes: ${c.as}`);
  switch (c.as) {
    case 'uint8': { const b = new Uint8Array(n + c.offset + 1).fill(255); const x = b.subarray(c.offset, c.offset + n); x.set(v); return x; }
    case 'buffer': return Buffer.from(v);
    case 'u8c': return Uint8ClampedArray.from(v);
    case 'wasmView': {
      const wa = S.allocate(Float64Array, Math.ceil((n + c.offset) / 8) + 1);
      ctx.allocs.push(wa);
      const x = new Uint8Array(wa.array.buffer, wa.array.byteOffset + c.offset, n);
      x.set(v);
      return x;
    }
    case 'freedView': {
      const wa = S.allocate(Float64Array, Math.ceil(n / 8) + 1);
      const x = new Uint8Array(wa.array.buffer, wa.array.byteOffset, n);
      x.set(v);
      wa.free();
      return x;
    }
    case 'int8': return Int8Array.from(v);
    case 'f32': return Float32Array.from(v);
    case 'array': return v;
    case 'string': return 'bytes';
    case 'arrayBuffer': return Uint8Array.from(v).buffer;
    case 'dataview': return new DataView(new ArrayBuffer(n));
    default: return detachedView(Uint8Array, n);
  }
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
    default: return sparse(v, len);
  }
}

/** Valid weights: positive, unequal, the same for every case of a length. */
const goodWeights = (len) => Array.from({ length: len }, (_, i) => 0.25 + ((i * 7) % 5) / 2);

function materializeWeights(w, cols, ctx) {
  if (w.t === 'none') return undefined;
  ctx.notes.push(`weights: ${w.t}`);
  const good = goodWeights(cols);
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
// Reproduction: JavaScript that rebuilds a case's call
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

export function reproduction(c, backend, cutoff) {
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

// The catalogue: every op the bench times, and how each side calls it on one input set.
//
//   needs           the surprisal exports it calls (the op is left out when the built
//                   package lacks one, or when a probe call throws: see available())
//   make(n, cols, Type)            one input set: { x, out, grad, y, p, q, … }
//   surprisal(S, a, cols)          a call through surprisal's API on that set (`a` may hold
//                                  WasmArrays instead of arrays: the zero-copy row)
//   alloc(S, a, cols)              maps only: the allocating call (no `out`)
//   perRow                         a reduction over rows: with `a.res` (a Float64Array of one
//                                  entry per row) both sides write their results there
//   naive(a, cols, P?)             the naive JS loop on the same arrays (P: a copy of
//                                  peers/naive.js to call instead of the shared one)
//   check(a, r)                    what is compared for accuracy (default: the result; for
//                                  gradient rows, the gradient)
//   tf: { name, grad?, inputs(a) } TF.js's equivalent (peers/tfjs.js exprs / gradOf)
//   onnx: { name, inputs(a) }      onnxruntime-web's graph (peers/onnx.js ops)
//   cols(n)                        the row length for a size without a batch shape
//                                  (undefined: one vector)
//
// Maps write into a preallocated `out` (surprisal's `out` option, the naive loop's out
// argument); gradients into a preallocated `grad`.
import * as N from './peers/naive.js';
import { binaryTargets, bytes, labels, logits, probabilities, squareCols, uniform } from './inputs.js';

// a reduction over rows writes into `a.res` when the set has one (table 3's "into out" rows)
const rowOpt = (cols, a) => (cols === undefined ? undefined : a?.res ? { cols, out: a.res } : { cols });
const like = (Type, n) => new Type(n);
const oneHot = (y, cols) => ({ onehot: y, cols });
const lossCols = (n) => Math.min(n, 1000);

const probs = (n, cols, Type) => ({ p: probabilities(n, cols ?? n, Type), q: probabilities(n, cols ?? n, Type) });

export const OPS = {
  entropy: {
    needs: ['entropy'],
    make: (n, cols, T) => ({ p: probabilities(n, cols ?? n, T) }),
    surprisal: (S, a, cols) => { const o = rowOpt(cols); return () => S.entropy(a.p, o); },
    naive: (a, cols, P = N) => () => P.entropy(a.p, cols),
    tf: { name: 'entropy', inputs: (a) => [a.p] },
    onnx: { name: 'entropy', inputs: (a) => [a.p] },
  },
  crossEntropy: {
    needs: ['crossEntropy'],
    make: probs,
    surprisal: (S, a, cols) => { const o = rowOpt(cols); return () => S.crossEntropy(a.p, a.q, o); },
    naive: (a, cols, P = N) => () => P.crossEntropy(a.p, a.q, cols),
    tf: { name: 'crossEntropy', inputs: (a) => [a.p, a.q] },
    onnx: { name: 'crossEntropy', inputs: (a) => [a.p, a.q] },
  },
  klDivergence: {
    needs: ['klDivergence'],
    make: probs,
    surprisal: (S, a, cols) => { const o = rowOpt(cols); return () => S.klDivergence(a.p, a.q, o); },
    naive: (a, cols, P = N) => () => P.klDivergence(a.p, a.q, cols),
    tf: { name: 'klDivergence', inputs: (a) => [a.p, a.q] },
    onnx: { name: 'klDivergence', inputs: (a) => [a.p, a.q] },
  },
  jsDivergence: {
    needs: ['jsDivergence'],
    make: probs,
    surprisal: (S, a, cols) => { const o = rowOpt(cols); return () => S.jsDivergence(a.p, a.q, o); },
    naive: (a, cols, P = N) => () => P.jsDivergence(a.p, a.q, cols),
    tf: { name: 'jsDivergence', inputs: (a) => [a.p, a.q] },
    onnx: { name: 'jsDivergence', inputs: (a) => [a.p, a.q] },
  },
  logSumExp: {
    needs: ['logSumExp'],
    make: (n, cols, T) => ({ x: logits(n, T) }),
    perRow: true,
    surprisal: (S, a, cols) => { const o = rowOpt(cols, a); return () => S.logSumExp(a.x, o); },
    naive: (a, cols, P = N) => () => P.logSumExp(a.x, cols, a.res),
    tf: { name: 'logSumExp', inputs: (a) => [a.x] },
    onnx: { name: 'logSumExp', inputs: (a) => [a.x] },
  },
  softmax: {
    needs: ['softmax'],
    map: true,
    make: (n, cols, T) => ({ x: logits(n, T), out: like(T, n) }),
    surprisal: (S, a, cols) => { const o = { cols, out: a.out }; return () => S.softmax(a.x, o); },
    alloc: (S, a, cols) => { const o = rowOpt(cols); return () => S.softmax(a.x, o); },
    naive: (a, cols, P = N) => () => P.softmax(a.x, cols, a.out),
    tf: { name: 'softmax', inputs: (a) => [a.x] },
    onnx: { name: 'softmax', inputs: (a) => [a.x] },
  },
  logSoftmax: {
    needs: ['logSoftmax'],
    map: true,
    make: (n, cols, T) => ({ x: logits(n, T), out: like(T, n) }),
    surprisal: (S, a, cols) => { const o = { cols, out: a.out }; return () => S.logSoftmax(a.x, o); },
    alloc: (S, a, cols) => { const o = rowOpt(cols); return () => S.logSoftmax(a.x, o); },
    naive: (a, cols, P = N) => () => P.logSoftmax(a.x, cols, a.out),
    tf: { name: 'logSoftmax', inputs: (a) => [a.x] },
    onnx: { name: 'logSoftmax', inputs: (a) => [a.x] },
  },
  'softmax, allocating': {
    needs: ['softmax'],
    make: (n, cols, T) => ({ x: logits(n, T) }),
    surprisal: (S, a, cols) => { const o = rowOpt(cols); return () => S.softmax(a.x, o); },
    naive: (a, cols, P = N) => () => P.softmax(a.x, cols),
  },
  'logSoftmax, allocating': {
    needs: ['logSoftmax'],
    make: (n, cols, T) => ({ x: logits(n, T) }),
    surprisal: (S, a, cols) => { const o = rowOpt(cols); return () => S.logSoftmax(a.x, o); },
    naive: (a, cols, P = N) => () => P.logSoftmax(a.x, cols),
  },
  softmaxEntropy: {
    needs: ['softmaxEntropy'],
    make: (n, cols, T) => ({ x: logits(n, T) }),
    perRow: true,
    surprisal: (S, a, cols) => { const o = rowOpt(cols, a); return () => S.softmaxEntropy(a.x, o); },
    naive: (a, cols, P = N) => () => P.softmaxEntropy(a.x, cols, undefined, a.res),
    tf: { name: 'softmaxEntropy', inputs: (a) => [a.x] },
    onnx: { name: 'softmaxEntropy', inputs: (a) => [a.x] },
  },
  'softmaxEntropy+grad': {
    needs: ['softmaxEntropy'],
    grad: true,
    make: (n, cols, T) => ({ x: logits(n, T), grad: like(T, n) }),
    perRow: true,
    surprisal: (S, a, cols) => { const o = { ...rowOpt(cols, a), grad: a.grad }; return () => S.softmaxEntropy(a.x, o); },
    naive: (a, cols, P = N) => () => P.softmaxEntropy(a.x, cols, a.grad, a.res),
    check: (a) => a.grad,
    tf: { name: 'softmaxEntropy', grad: true, inputs: (a) => [a.x] },
  },
  softmaxKlDivergence: {
    needs: ['softmaxKlDivergence'],
    make: (n, cols, T) => ({ x: logits(n, T), z: logits(n, T) }),
    perRow: true,
    surprisal: (S, a, cols) => { const o = rowOpt(cols, a); return () => S.softmaxKlDivergence(a.x, a.z, o); },
    naive: (a, cols, P = N) => () => P.softmaxKlDivergence(a.x, a.z, cols, undefined, a.res),
    tf: { name: 'softmaxKlDivergence', inputs: (a) => [a.x, a.z] },
    onnx: { name: 'softmaxKlDivergence', inputs: (a) => [a.x, a.z] },
  },
  'softmaxKlDivergence+gradQ': {
    needs: ['softmaxKlDivergence'],
    grad: true,
    make: (n, cols, T) => ({ x: logits(n, T), z: logits(n, T), grad: like(T, n) }),
    surprisal: (S, a, cols) => { const o = { cols, gradQ: a.grad }; return () => S.softmaxKlDivergence(a.x, a.z, o); },
    naive: (a, cols, P = N) => () => P.softmaxKlDivergence(a.x, a.z, cols, a.grad),
    check: (a) => a.grad,
    tf: { name: 'softmaxKlDivergence', grad: true, inputs: (a) => [a.x, a.z] },
  },
  softmaxCrossEntropy: {
    needs: ['softmaxCrossEntropy'],
    cols: lossCols,
    make: (n, cols, T) => ({ x: logits(n, T), y: labels(n / cols, cols) }),
    surprisal: (S, a, cols) => { const o = { cols }; return () => S.softmaxCrossEntropy(a.x, a.y, o); },
    naive: (a, cols, P = N) => () => P.softmaxCrossEntropy(a.x, a.y, cols),
    tf: { name: 'softmaxCrossEntropy', inputs: (a, cols) => [a.x, oneHot(a.y, cols)] },
    onnx: { name: 'softmaxCrossEntropy', inputs: (a) => [a.x, { onehot: a.y }] },
  },
  'softmaxCrossEntropy+grad': {
    needs: ['softmaxCrossEntropy'],
    grad: true,
    cols: lossCols,
    make: (n, cols, T) => ({ x: logits(n, T), y: labels(n / cols, cols), grad: like(T, n) }),
    surprisal: (S, a, cols) => { const o = { cols, grad: a.grad }; return () => S.softmaxCrossEntropy(a.x, a.y, o); },
    naive: (a, cols, P = N) => () => P.softmaxCrossEntropy(a.x, a.y, cols, a.grad),
    check: (a) => a.grad,
    tf: { name: 'softmaxCrossEntropy', grad: true, inputs: (a, cols) => [a.x, oneHot(a.y, cols)] },
  },
  sigmoidCrossEntropy: {
    needs: ['sigmoidCrossEntropy'],
    elementwise: true,
    make: (n, cols, T) => ({ x: uniform(n, T, -6, 6), t: binaryTargets(n, T) }),
    surprisal: (S, a) => () => S.sigmoidCrossEntropy(a.x, a.t),
    naive: (a, cols, P = N) => () => P.sigmoidCrossEntropy(a.x, a.t),
    tf: { name: 'sigmoidCrossEntropy', inputs: (a) => [a.x, a.t] },
    onnx: { name: 'sigmoidCrossEntropy', inputs: (a) => [a.x, a.t] },
  },
  'sigmoidCrossEntropy+grad': {
    needs: ['sigmoidCrossEntropy'],
    elementwise: true,
    grad: true,
    make: (n, cols, T) => ({ x: uniform(n, T, -6, 6), t: binaryTargets(n, T), grad: like(T, n) }),
    surprisal: (S, a) => { const o = { grad: a.grad }; return () => S.sigmoidCrossEntropy(a.x, a.t, o); },
    naive: (a, cols, P = N) => () => P.sigmoidCrossEntropy(a.x, a.t, a.grad),
    check: (a) => a.grad,
    tf: { name: 'sigmoidCrossEntropy', grad: true, inputs: (a) => [a.x, a.t] },
  },
  sigmoidFocalLoss: {
    needs: ['sigmoidFocalLoss'],
    elementwise: true,
    make: (n, cols, T) => ({ x: uniform(n, T, -6, 6), t: binaryTargets(n, T) }),
    surprisal: (S, a) => () => S.sigmoidFocalLoss(a.x, a.t),
    naive: (a, cols, P = N) => () => P.sigmoidFocalLoss(a.x, a.t),
    tf: { name: 'sigmoidFocalLoss', inputs: (a) => [a.x, a.t] },
    onnx: { name: 'sigmoidFocalLoss', inputs: (a) => [a.x, a.t] },
  },
  'sigmoidFocalLoss+grad': {
    needs: ['sigmoidFocalLoss'],
    elementwise: true,
    grad: true,
    make: (n, cols, T) => ({ x: uniform(n, T, -6, 6), t: binaryTargets(n, T), grad: like(T, n) }),
    surprisal: (S, a) => { const o = { grad: a.grad }; return () => S.sigmoidFocalLoss(a.x, a.t, o); },
    naive: (a, cols, P = N) => () => P.sigmoidFocalLoss(a.x, a.t, 0.25, 2, a.grad),
    check: (a) => a.grad,
    tf: { name: 'sigmoidFocalLoss', grad: true, inputs: (a) => [a.x, a.t] },
  },
  'logSumExp weighted': {
    needs: ['logSumExp'],
    make: (n, cols, T) => ({ x: logits(n, T), w: uniform(n, T, 0, 1) }),
    surprisal: (S, a, cols) => { const o = { cols, weights: a.w }; return () => S.logSumExp(a.x, o); },
    naive: (a, cols, P = N) => () => P.logSumExpWeighted(a.x, a.w, cols),
    tf: { name: 'logSumExpWeighted', inputs: (a) => [a.x, a.w] },
  },
  signedLogSumExp: {
    needs: ['signedLogSumExp'],
    make: (n, cols, T) => ({ x: logits(n, T), w: uniform(n, T, -1, 1) }),
    surprisal: (S, a, cols) => { const o = { cols, weights: a.w }; return () => S.signedLogSumExp(a.x, o); },
    naive: (a, cols, P = N) => () => P.signedLogSumExp(a.x, a.w),
    check: (a, r) => r.value,
  },
  mutualInformation: {
    needs: ['mutualInformation'],
    cols: squareCols,
    make: (n, cols, T) => ({ p: probabilities(n, n, T) }),
    surprisal: (S, a, cols) => { const o = { cols }; return () => S.mutualInformation(a.p, o); },
    naive: (a, cols, P = N) => () => P.mutualInformation(a.p, cols),
    tf: { name: 'mutualInformation', inputs: (a) => [a.p] },
  },
  conditionalEntropy: {
    needs: ['conditionalEntropy'],
    cols: squareCols,
    make: (n, cols, T) => ({ p: probabilities(n, n, T) }),
    surprisal: (S, a, cols) => { const o = { cols }; return () => S.conditionalEntropy(a.p, o); },
    naive: (a, cols, P = N) => () => P.conditionalEntropy(a.p, cols),
  },
  byteEntropy: {
    needs: ['byteEntropy'],
    bytes: true,
    make: (n) => ({ b: bytes(n) }),
    surprisal: (S, a) => () => S.byteEntropy(a.b),
    naive: (a, cols, P = N) => () => P.byteEntropy(a.b),
  },
};

export const check = (op, a, r) => (op.check ? op.check(a, r) : r);

/** Whether the built package runs op: its exports exist and a call on a small input does not throw. */
export function available(S, name) {
  const op = OPS[name];
  if (!op.needs.every((k) => typeof S[k] === 'function')) return { ok: false, why: `not exported (${op.needs.join(', ')})` };
  try {
    const n = op.bytes ? 64 : 64;
    const cols = op.cols ? op.cols(n) : undefined;
    const a = op.make(n, cols, Float64Array);
    op.surprisal(S, a, cols)();
    return { ok: true };
  } catch (e) {
    return { ok: false, why: `throws: ${e.message}`, error: e };
  }
}

/** The float arrays of a set as WasmArrays (the zero-copy row); labels and bytes stay. */
export function toWasm(S, a, held) {
  const w = {};
  for (const [k, v] of Object.entries(a)) {
    if (v instanceof Float32Array || v instanceof Float64Array) {
      const arr = S.allocate(v.constructor, v.length);
      arr.array.set(v);
      held.push(arr);
      w[k] = arr;
    } else w[k] = v;
  }
  return w;
}

/** The set in float64 copies (the reference's input: the same values, computed in float64). */
export function toFloat64(a) {
  const w = {};
  for (const [k, v] of Object.entries(a)) w[k] = v instanceof Float32Array || v instanceof Float64Array ? Float64Array.from(v) : v;
  return w;
}

/** The set with its float inputs as number[] (the small-call rows on plain arrays); outputs stay Float64Array. */
export function toNumbers(a) {
  const w = {};
  for (const [k, v] of Object.entries(a)) {
    w[k] = k === 'out' || k === 'grad' ? new Float64Array(v.length) : v instanceof Float32Array || v instanceof Float64Array ? Array.from(v) : v;
  }
  return w;
}

/** A copy of a result (the reference's out/grad are reused buffers). */
export const snapshot = (v) => (typeof v === 'number' ? v : v?.array ? v.array.slice() : v?.slice ? v.slice() : v?.value !== undefined ? v.value : v);

// The canaries: a fixed set of calls (canaryInputs, runCanaries) whose results must stay
// bit-identical after every fuzzed call, and setup, which loads the library, allocates
// the per-backend WasmArrays the cases use and records the canaries' results per backend
// and small-input cutoff.

import { S, B, BACKENDS, persistent, loadLibrary } from './common.js';
import { rng, exponential, normal } from './generators.js';

// ---------------------------------------------------------------------------------
// Canaries: fixed calls whose results must never change
// ---------------------------------------------------------------------------------

function canaryInputs() {
  const random = rng(12345);
  const dist = (n, T) => { const a = new T(n); let s = 0; for (let i = 0; i < n; i++) s += a[i] = exponential(random); for (let i = 0; i < n; i++) a[i] /= s; return a; };
  const logits = (n, T) => T.from({ length: n }, () => normal(random, 3));
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
export function runCanaries(I, wa) {
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

export function sameBits(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].length !== b[i].length) return false;
    for (let j = 0; j < a[i].length; j++) if (!Object.is(a[i][j], b[i][j])) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------
// Setup shared by the worker and --replay
// ---------------------------------------------------------------------------------

const CUTOFFS = [0, 64]; // the small-input cutoffs the canaries are recorded for (run.js uses both)

export async function setup() {
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

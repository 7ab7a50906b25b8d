// TensorFlow.js's wasm backend (XNNPACK kernels, one thread), float32 only.  TF.js has no
// entropy or divergence ops: those are the obvious compositions of its kernels (p·log p
// through a `where`, so that p = 0 gives 0 and not NaN); gradients are `tf.valueAndGrad`
// of the same expression.  Two ways to time it:
//   op only   — resident input tensors, the op, the result disposed: no read-back.  The wasm
//               backend runs each kernel when it is called, so this is the computation.
//   read-back — the same, then dataSync() of every output: what a caller who needs the
//               numbers in JS pays.
// Neither can write into a preallocated array: the op's time includes allocating its output.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { build } from 'esbuild';

export const version = tf.version_core;

// tfjs-core's Node bundle registers no gradients (the union package @tensorflow/tfjs does,
// from tfjs-core's ES modules, which Node cannot import as they are: their imports have no
// extensions).  esbuild bundles that module once into the temp directory; its gradients go
// into the registry every copy of tfjs-core shares (a global), and run on the same engine.
const gradients = `${os.tmpdir()}/surprisal-bench-tfjs-${version}-gradients.mjs`;
if (!existsSync(gradients)) {
  const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-core').replace(/tf-core\.node\.js$/, 'register_all_gradients.js');
  await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', outfile: gradients, logLevel: 'error' });
}
await import(gradients);

export async function ready() {
  await tf.setBackend('wasm');
  await tf.ready();
  return {
    version,
    simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
    threads: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
  };
}

/** p·log p with 0 where p = 0 (and p·log q for log q given). */
const xlogy = (p, logq) => tf.mul(p, tf.where(tf.greater(p, 0), logq, tf.zerosLike(p)));
const sumLast = (t) => tf.sum(t, -1);
/** Each row's BCE with logits, per element: max(x, 0) − x·y + log(1 + e^−|x|). */
const bce = (x, y) => tf.add(tf.sub(tf.relu(x), tf.mul(x, y)), tf.softplus(tf.neg(tf.abs(x))));

/** Expressions: exprs[name](...tensors) → tensor (or [value, grad] for the gradient ones). */
export const exprs = {
  entropy: (p) => tf.neg(sumLast(xlogy(p, tf.log(p)))),
  crossEntropy: (p, q) => tf.neg(sumLast(tf.mul(p, tf.log(q)))),
  klDivergence: (p, q) => sumLast(xlogy(p, tf.sub(tf.log(p), tf.log(q)))),
  jsDivergence: (p, q) => {
    const logm = tf.log(tf.mul(tf.add(p, q), 0.5));
    return tf.mul(tf.add(sumLast(xlogy(p, tf.sub(tf.log(p), logm))), sumLast(xlogy(q, tf.sub(tf.log(q), logm)))), 0.5);
  },
  logSumExp: (x) => tf.logSumExp(x, -1),
  softmax: (x) => tf.softmax(x),
  logSoftmax: (x) => tf.logSoftmax(x),
  softmaxEntropy: (x) => tf.neg(sumLast(tf.mul(tf.softmax(x), tf.logSoftmax(x)))),
  softmaxKlDivergence: (a, b) => sumLast(tf.mul(tf.softmax(a), tf.sub(tf.logSoftmax(a), tf.logSoftmax(b)))),
  softmaxCrossEntropy: (z, onehot) => tf.losses.softmaxCrossEntropy(onehot, z),
  sigmoidCrossEntropy: (x, y) => tf.losses.sigmoidCrossEntropy(y, x),
  // torchvision.ops.sigmoid_focal_loss with alpha 0.25, gamma 2, mean over elements
  sigmoidFocalLoss: (x, y) => {
    const p = tf.sigmoid(x), notY = tf.sub(1, y);
    const pt = tf.add(tf.mul(p, y), tf.mul(tf.sub(1, p), notY));
    const alphaT = tf.add(tf.mul(0.25, y), tf.mul(0.75, notY));
    return tf.mean(tf.mul(tf.mul(alphaT, bce(x, y)), tf.square(tf.sub(1, pt))));
  },
  logSumExpWeighted: (x, w) => tf.logSumExp(tf.add(x, tf.log(w)), -1),
  mutualInformation: (joint) => {
    const px = tf.sum(joint, 1, true), py = tf.sum(joint, 0, true);
    return tf.sum(xlogy(joint, tf.sub(tf.log(joint), tf.log(tf.mul(px, py)))));
  },
};

/** The gradient expressions: the value and ∂(Σ value)/∂(the input `wrt`). */
export const gradOf = {
  softmaxEntropy: { wrt: 0, expr: exprs.softmaxEntropy },
  softmaxKlDivergence: { wrt: 1, expr: exprs.softmaxKlDivergence },
  softmaxCrossEntropy: { wrt: 0, expr: exprs.softmaxCrossEntropy },
  sigmoidCrossEntropy: { wrt: 0, expr: exprs.sigmoidCrossEntropy },
  sigmoidFocalLoss: { wrt: 0, expr: exprs.sigmoidFocalLoss },
};

/**
 * Timed functions for one op on several input sets.  `sets[k]` is the list of its inputs:
 * Float32Arrays, or `{ onehot: Int32Array, cols }` for class labels; `shape` the tensors'
 * shape ([rows, cols], or [n] for a vector, or [rows, cols] for a table).
 * Returns { op: [fn per set], readBack: [fn per set], read(k) → Float32Array[], dispose }.
 */
export function prepare(name, sets, shape, { grad = false } = {}) {
  const held = sets.map((inputs) => inputs.map((a) => (a.onehot
    ? tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(a.onehot, 'int32'), a.cols), 'float32'))
    : tf.tensor(a, shape, 'float32'))));
  let fns;
  if (grad) {
    const { wrt, expr } = gradOf[name];
    fns = held.map((ts) => {
      const vg = tf.valueAndGrad((t) => tf.sum(expr(...ts.map((u, i) => (i === wrt ? t : u)))));
      return () => {
        const { value, grad: g } = vg(ts[wrt]);
        return [value, g];
      };
    });
  } else fns = held.map((ts) => () => exprs[name](...ts));
  const run = (k) => tf.tidy(fns[k]);
  const outputs = (y) => (Array.isArray(y) ? y : [y]);
  return {
    op: held.map((_, k) => () => {
      const y = outputs(run(k));
      for (const t of y) t.dispose();
      return y[0].size;
    }),
    readBack: held.map((_, k) => () => {
      const y = outputs(run(k));
      const data = y.map((t) => t.dataSync());
      for (const t of y) t.dispose();
      return data[data.length - 1];
    }),
    read(k) {
      const y = outputs(run(k));
      const data = y.map((t) => t.dataSync());
      for (const t of y) t.dispose();
      return data;
    },
    dispose() {
      for (const ts of held) for (const t of ts) t.dispose();
    },
  };
}

export const memory = () => tf.memory();

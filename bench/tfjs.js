// TensorFlow.js's wasm backend (XNNPACK), float32 only.  TF.js has no entropy or
// divergence ops: those are the obvious compositions of its kernels.  "resident": the
// inputs are tensors made once, the timed call is the op and its read-back;
// "from array": the timed call also makes the tensors from the Float32Arrays.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';

export async function ready() {
  await tf.setBackend('wasm');
  await tf.ready();
  return { simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'), threads: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT') };
}

export const version = tf.version_core;

const rowsOf = (t, cols) => (cols ? t.reshape([-1, cols]) : t);

/** Builders: ops[name](cols) → (tensors...) => tensor, all under tf.tidy by the caller. */
export const ops = {
  entropy: (cols) => (p) => tf.neg(tf.sum(tf.mul(p, tf.log(p)), -1)),
  crossEntropy: () => (p, q) => tf.neg(tf.sum(tf.mul(p, tf.log(q)))),
  klDivergence: () => (p, q) => tf.sum(tf.mul(p, tf.log(tf.div(p, q)))),
  jsDivergence: () => (p, q) => {
    const m = tf.mul(tf.add(p, q), 0.5);
    return tf.mul(tf.add(tf.sum(tf.mul(p, tf.log(tf.div(p, m)))), tf.sum(tf.mul(q, tf.log(tf.div(q, m))))), 0.5);
  },
  logSumExp: () => (x) => tf.logSumExp(x, -1),
  softmax: () => (x) => tf.softmax(x),
  logSoftmax: () => (x) => tf.logSoftmax(x),
  softmaxEntropy: () => (x) => tf.neg(tf.sum(tf.mul(tf.softmax(x), tf.logSoftmax(x)), -1)),
  softmaxKlDivergence: () => (a, b) => tf.sum(tf.mul(tf.softmax(a), tf.sub(tf.logSoftmax(a), tf.logSoftmax(b))), -1),
  softmaxCrossEntropy: (cols) => (z, onehot) => tf.losses.softmaxCrossEntropy(onehot, z),
};

/** A timed function for one op: resident tensors or made per call; reads the result back. */
export function make(name, inputs, cols, { resident }) {
  const fn = ops[name](cols);
  const shape = (a) => (cols ? [a.length / cols, cols] : [a.length]);
  const toTensors = () => inputs.map((a) => (a.onehotOf ? tf.oneHot(tf.tensor1d(a.onehotOf, 'int32'), cols) : tf.tensor(a, shape(a), 'float32')));
  let held = resident ? toTensors() : null;
  return {
    run() {
      const ts = held ?? toTensors();
      const y = tf.tidy(() => fn(...ts));
      const data = y.dataSync();
      y.dispose();
      if (!held) for (const t of ts) t.dispose();
      return data;
    },
    dispose() {
      if (held) for (const t of held) t.dispose();
      held = null;
    },
  };
}

export { rowsOf };

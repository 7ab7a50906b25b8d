// A worker_threads worker: loads the built package, computes on the backend it is
// told, and posts the results back.
import { parentPort, workerData } from 'node:worker_threads';
import { init, backend, entropy, klDivergence, logSumExp, softmax, softmaxCrossEntropy } from '../../dist/index.js';

const { which, p, q, logits, labels, cols } = workerData;
await init({ backend: which });
const grad = new Float32Array(logits.length);
parentPort.postMessage({
  backend: backend(),
  entropy: entropy(p, { base: 2 }),
  kl: klDivergence(p, q),
  lse: logSumExp(logits, { cols }),
  softmax: softmax(logits, { cols }),
  loss: softmaxCrossEntropy(logits, labels, { cols, grad }),
  grad,
});

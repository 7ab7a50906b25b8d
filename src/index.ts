// surprisal: entropy, cross-entropy, KL divergence, log-sum-exp and softmax, with SIMD
// WebAssembly kernels and a pure-JS twin that gives the same answers.

export { init, backend, allocate, type InitOptions } from './backend.js';
export { WasmArray } from './memory.js';
export { logSumExp, softmax, logSoftmax, softmaxEntropy, softmaxKlDivergence } from './softmax.js';
export { softmaxCrossEntropy } from './loss.js';
export { SUM_TOLERANCE } from './args.js';
export type * from './types.js';

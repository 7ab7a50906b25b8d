// surprisal: entropy, cross-entropy, KL divergence, log-sum-exp and softmax, with SIMD
// WebAssembly kernels and a pure-JS twin that gives the same answers.

export { init, backend, allocate, supported, type InitOptions } from './backend.js';
export { WasmArray } from './memory.js';
export { information, entropy, crossEntropy, klDivergence, jsDivergence } from './entropy.js';
export { logSumExp, softmax, logSoftmax, softmaxEntropy, softmaxKlDivergence } from './softmax.js';
export { softmaxCrossEntropy } from './loss.js';
export { sigmoidCrossEntropy, sigmoidFocalLoss } from './sigmoid.js';
export { signedLogSumExp } from './weighted.js';
export { mutualInformation, conditionalEntropy, byteEntropy, type JointOptions, type ByteEntropyOptions } from './information.js';
export { createEntropy, createLogSumExp, createSoftmaxCrossEntropy, EntropyAccumulator, LogSumExpAccumulator, type EntropyState, ShardedSoftmaxCrossEntropy, type LogSumExpState, type ShardedLossOptions, type ShardedLossState } from './accumulate.js';
export { SUM_TOLERANCE } from './args.js';
export type * from './types.js';

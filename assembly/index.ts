// The one entry point of every build.  `asc --target relaxed` compiles it with SIMD and
// relaxed SIMD (ASC_FEATURE_RELAXED_SIMD: multiply-adds may fuse), `--target simd` with
// SIMD, `--target scalar` without, where each kernel is its scalar loop.  Every build
// imports its memory (env.memory), so the same binary runs on a shared memory in the
// pool's threads.  Kernels never allocate: the TypeScript side owns all memory above
// `heapBase()`.

export {
  sumRowsF32, sumRowsF64,
  entropyRowsF32, entropyRowsF64,
  crossEntropyRowsF32, crossEntropyRowsF64,
  klDivergenceRowsF32, klDivergenceRowsF64,
  jsDivergenceRowsF32, jsDivergenceRowsF64,
} from "./reduce";

export {
  logSumExpRowsF32, logSumExpRowsF64,
  softmaxRowsF32, softmaxRowsF64,
  logSoftmaxRowsF32, logSoftmaxRowsF64,
  affineRowsF32, affineRowsF64,
  scaleRowsF32, scaleRowsF64,
  softmaxEntropyRowsF32, softmaxEntropyRowsF64,
  softmaxKlDivergenceRowsF32, softmaxKlDivergenceRowsF64,
} from "./softmax";
export { weightedLogSumExpRowsF32, weightedLogSumExpRowsF64 } from "./weighted";
export { marginRowsF32, marginRowsF64, mutualInformationRowsF32, mutualInformationRowsF64, byteHistogramF32, byteHistogramF64 } from "./info";
export { sigmoidCrossEntropyRowsF32, sigmoidCrossEntropyRowsF64, sigmoidFocalLossRowsF32, sigmoidFocalLossRowsF64 } from "./sigmoid";

export {
  softmaxCrossEntropyLabelsF32, softmaxCrossEntropyLabelsF64,
  softmaxCrossEntropyProbsF32, softmaxCrossEntropyProbsF64,
  labelMaxF32, labelMaxF64,
} from "./loss";

/** First free byte above the module's static data (the constant tables of math.ts). */
export function heapBase(): usize {
  return __heap_base;
}

/** The build: 2 relaxed SIMD, 1 SIMD, 0 scalar (lets a caller-supplied binary name its backend). */
export function build(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 2 : ASC_FEATURE_SIMD ? 1 : 0;
}

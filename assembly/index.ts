// The one entry point of both builds.  `asc --target simd` compiles it with SIMD on
// (ASC_FEATURE_SIMD = true: every kernel runs its v128 body, then a scalar tail);
// `asc --target scalar` with SIMD off, where the same kernels are their scalar loop.
// Kernels never allocate: the TypeScript side owns all memory above `heapBase()`.

export {
  sumRowsF64,
  entropyRowsF32, entropyRowsF64,
  crossEntropyRowsF32, crossEntropyRowsF64,
  klDivergenceRowsF32, klDivergenceRowsF64,
  jsDivergenceRowsF32, jsDivergenceRowsF64,
} from "./reduce";

export {
  logSumExpRowsF32, logSumExpRowsF64,
  softmaxRowsF32, softmaxRowsF64,
  logSoftmaxRowsF32, logSoftmaxRowsF64,
  softmaxEntropyRowsF32, softmaxEntropyRowsF64,
  softmaxKlDivergenceRowsF32, softmaxKlDivergenceRowsF64,
} from "./softmax";

export {
  softmaxCrossEntropyLabelsF32, softmaxCrossEntropyLabelsF64,
  softmaxCrossEntropyProbsF32, softmaxCrossEntropyProbsF64,
} from "./loss";

/** First free byte above the module's static data (lookup tables of the scalar math). */
export function heapBase(): usize {
  return __heap_base;
}

/** 1 in the SIMD build, 0 in the scalar one: lets a caller-supplied binary name its backend. */
export function simd(): bool {
  return ASC_FEATURE_SIMD;
}

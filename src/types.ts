// The types of the public API, and the few shared by the modules behind it, defined once.
import type { WasmArray } from './memory.js';

/** A vector of numbers: `number[]`, `Float32Array`, `Float64Array` (any view), or a `WasmArray`. */
export type Vector = ArrayLike<number> | WasmArray;

/** Integer class indices: `number[]`, `Int32Array`, `Uint32Array`, … */
export type Labels = ArrayLike<number>;

/** Where the kernels run: SIMD WebAssembly with relaxed SIMD (fused multiply-add), SIMD WebAssembly, scalar WebAssembly, or plain JavaScript. */
export type Backend = 'wasm-relaxed' | 'wasm-simd' | 'wasm' | 'js';

/** The float arrays the kernels compute in. */
export type FloatArray = Float32Array | Float64Array;

/** A float array type: `Float32Array` or `Float64Array`. */
export interface FloatArrayConstructor<T extends FloatArray = FloatArray> {
  new (length: number): T;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

/** A float array a function may write into (its length must match the input's). */
export type FloatOut = Float32Array | Float64Array | WasmArray;

export interface BaseOption {
  /** Logarithm base: `Math.E` (nats, the default), `2` (bits), `10` (bans). */
  base?: number;
}

export interface RowsOption {
  /** Row length: the input is a row-major matrix, processed row by row (one result per row). */
  cols?: number;
}

export interface RowResultsOption {
  /**
   * With `cols`: a `Float64Array` of one entry per row to write the results into, and
   * return (a loop over batches of one shape then allocates nothing).  Not a view into
   * surprisal's WebAssembly memory.  A call that throws on a row's values (validation
   * runs beside the kernel) may have written into it.
   */
  out?: Float64Array;
}

export interface ProbabilityOptions extends BaseOption, RowsOption, RowResultsOption {
  /** Treat the inputs as non-negative weights or counts and divide each row by its sum (scipy's `entropy`). */
  normalize?: boolean;
  /** Check that inputs are finite, non-negative and (without `normalize`) sum to 1. Default `true`. */
  validate?: boolean;
}

export interface TemperatureOption {
  /** Softmax temperature T > 0: the logits are divided by T. Default 1. */
  temperature?: number;
}

export interface MapOptions<O extends FloatOut = FloatOut> extends RowsOption, TemperatureOption {
  /** Write the result here instead of a new array (may be the input itself). */
  out?: O;
}

export interface LogSumExpOptions extends RowsOption, RowResultsOption {
  /**
   * Non-negative weights b (scipy's `b`): log Σ bᵢ·e^xᵢ.  One per element, or one per
   * column (`cols` of them) for every row.  Negative weights: `signedLogSumExp`.
   */
  weights?: ArrayLike<number> | WasmArray;
}

export interface SignedLogSumExpOptions extends RowsOption {
  /** Weights b of any sign: one per element, or one per column. */
  weights?: ArrayLike<number> | WasmArray;
}

/** log|Σ bᵢ·e^xᵢ| and the sign of the sum (−1, 0 or 1): numbers, or one per row with `cols`. */
export interface SignedValue<T extends number | Float64Array = number | Float64Array> {
  value: T;
  sign: T;
}

export interface SoftmaxEntropyOptions extends RowsOption, BaseOption, TemperatureOption, RowResultsOption {
  /** Filled with ∂H/∂logits (same length as the logits) in the same pass. */
  grad?: FloatOut;
}

export interface SoftmaxKlOptions extends RowsOption, BaseOption, TemperatureOption, RowResultsOption {
  /** Filled with ∂D/∂logitsQ = (q − p)/T: the student's gradient in distillation. */
  gradQ?: FloatOut;
  /** Filled with ∂D/∂logitsP = p ⊙ (log p − log q − D)/T. */
  gradP?: FloatOut;
}

export type Reduction = 'mean' | 'sum' | 'none';

export interface CrossEntropyLossOptions extends BaseOption {
  /** Number of classes (row length). Required. */
  cols: number;
  /** `'mean'` (default; over non-ignored rows, weighted as PyTorch), `'sum'`, or `'none'` (one loss per row). */
  reduction?: Reduction;
  /** ε ∈ [0, 1): the target becomes (1−ε)·target + ε/cols. */
  labelSmoothing?: number;
  /** Rows whose label equals this contribute 0 loss and 0 gradient (labels only). No default. */
  ignoreIndex?: number;
  /** Per-class weights, length `cols`. */
  weights?: ArrayLike<number>;
  /** Filled with ∂loss/∂logits (same length as the logits) in the same pass. */
  grad?: FloatOut;
}

export interface SigmoidCrossEntropyOptions extends BaseOption, RowsOption {
  /** Non-negative weights: one per element (the logits' length), or one per class (`cols` of them). */
  weights?: Vector;
  /**
   * Weight of the positive term (PyTorch's `pos_weight`), non-negative: one per class
   * (`cols` of them; without `cols`, one per element), or one number (or a length-1
   * array) for every class.
   */
  posWeight?: number | Vector;
  /** `'mean'` over elements (default), `'sum'`, or `'none'` (one loss per element). */
  reduction?: Reduction;
  /** ε ∈ [0, 1): targets become (1−ε)·y + ε/2, as TF.js's `sigmoidCrossEntropy`. */
  labelSmoothing?: number;
  /** Filled with ∂loss/∂logits in the same pass. */
  grad?: FloatOut;
}

export interface SigmoidFocalLossOptions extends BaseOption, RowsOption {
  /** Weight of the positive class, in [0, 1]; a negative α turns the weighting off.  Default 0.25. */
  alpha?: number;
  /** Focusing exponent γ ≥ 0.  Default 2. */
  gamma?: number;
  /** `'mean'` over elements (default; torchvision's default is `'none'`), `'sum'`, or `'none'`. */
  reduction?: Reduction;
  /** Filled with ∂loss/∂logits in the same pass. */
  grad?: FloatOut;
}

/** Options of a reduction called on one vector: the result is a number. */
export type VectorOptions<O> = O & { cols?: undefined; out?: undefined };
/** Options of a reduction called on a matrix (`cols` given): the result has one value per row. */
export type MatrixOptions<O> = O & { cols: number };

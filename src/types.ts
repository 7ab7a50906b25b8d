import type { WasmArray } from './memory.js';

/** A vector of numbers: `number[]`, `Float32Array`, `Float64Array` (any view), or a `WasmArray`. */
export type Vector = ArrayLike<number> | WasmArray;

/** Integer class indices: `number[]`, `Int32Array`, `Uint32Array`, … */
export type Labels = ArrayLike<number>;

/** Where the kernels run: SIMD WebAssembly, scalar WebAssembly, or plain JavaScript. */
export type Backend = 'wasm-simd' | 'wasm' | 'js';

/** A float array a map function may write into (its own length must match the input's). */
export type FloatOut = Float32Array | Float64Array | WasmArray;

export interface BaseOption {
  /** Logarithm base: `Math.E` (nats, the default), `2` (bits), `10` (bans). */
  base?: number;
}

export interface ProbabilityOptions extends BaseOption {
  /** Treat the inputs as non-negative weights or counts and divide each row by its sum (scipy's `entropy`). */
  normalize?: boolean;
  /** Check that inputs are finite, non-negative and (without `normalize`) sum to 1. Default `true`. */
  validate?: boolean;
  /** Row length: the input is a row-major matrix and the result has one value per row. */
  cols?: number;
}

export interface RowsOption {
  /** Row length: the input is a row-major matrix, processed row by row. */
  cols?: number;
}

export interface TemperatureOption {
  /** Softmax temperature T > 0: the logits are divided by T. Default 1. */
  temperature?: number;
}

export interface MapOptions<O extends FloatOut = FloatOut> extends RowsOption, TemperatureOption {
  /** Write the result here instead of a new array (may be the input itself). */
  out?: O;
}

export interface SoftmaxReductionOptions extends RowsOption, BaseOption, TemperatureOption {}

export type Reduction = 'mean' | 'sum' | 'none';

export interface CrossEntropyLossOptions {
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
  /** Logarithm base of the loss (default `Math.E`). */
  base?: number;
}

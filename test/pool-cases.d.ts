// Types of pool-cases.js (plain JavaScript, so that the pages load it as it is).
export type Arr = Float32Array | Float64Array;
export type FloatType = Float32ArrayConstructor | Float64ArrayConstructor;
/** A call's result: a number, an array, or a list of them (a result and the outputs it wrote). */
export type Result = number | Arr | Arr[] | (number | Arr)[];
/** One case: a call made on one thread and on the pool, the outputs it writes included. */
export interface Case {
  name: string;
  single(): Result;
  pooled(pool: unknown): Promise<Result>;
}
export interface Checked {
  /** Pool results compared with the single call's. */
  checked: number;
  /** What differed, one line each (none: []). */
  mismatches: string[];
}
export function rng(seed: number): () => number;
export function randomLogits<T extends FloatType>(n: number, random: () => number, Type: T, scale?: number): InstanceType<T>;
export function randomDistribution<T extends FloatType>(n: number, random: () => number, Type: T): InstanceType<T>;
export const SHAPES: [number, number][];
export const NODE_SHAPES: [number, number][];
export const BROWSER_SHAPES: [number, number][];
export function bigShape(rows: number, cols: number): boolean;
export function seedOf(rows: number, cols: number): number;
export function sameBits(a: unknown, b: unknown): boolean;
export function same(a: unknown, b: unknown): boolean;
export function difference(want: unknown, got: unknown, at?: string): string | null;
/** `S`: the library's module namespace (dist/index.js or src/index.ts). */
export function cases(S: unknown, rows: number, cols: number, Type: FloatType, seed?: number): Case[];
export function checkShape(S: unknown, pool: unknown, rows: number, cols: number, Type: FloatType, calls?: number): Promise<Checked>;
export function checkMatrix(S: unknown, pool: unknown, shapes: [number, number][], calls?: number): Promise<Checked>;

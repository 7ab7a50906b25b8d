// Types of values.js (plain JavaScript, so that the pages load it as it is).
export interface Features {
  wasm: boolean;
  simd: boolean;
  relaxed: boolean;
}
export interface BackendResult {
  loaded?: string;
  current?: string;
  values?: Record<string, Record<string, unknown>>;
  error?: string;
}
export interface Result {
  features: Features;
  backends: Record<string, BackendResult>;
}
export const BACKENDS: string[];
export const ROWS: number;
export const KNOWN: Record<string, number>;
export const MAX_ULPS: number;
export const F32_RELATIVE: number;
export function features(): Features;
export function runnable(f: Features): string[];
export function onEveryBackend(S: unknown): Promise<Result>;
export function ulps(a: number, b: number): number;
export function problems(result: Result): string[];
export interface PoolResult {
  loaded: string;
  shared: boolean;
  backend: string;
  size: number;
  isolated: boolean | null;
  badLabel: [string, string] | null;
  badLabelSingle: [string, string] | null;
  afterClose: [string, string] | null;
  [check: string]: unknown;
}
export function poolAgreement(S: unknown, createPool: unknown, options: object): Promise<PoolResult>;
export function poolProblems(r: PoolResult, shared: boolean): string[];

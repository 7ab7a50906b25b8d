// Array-mapping wrappers around the vector exp/log of assembly/math.ts, compiled only
// for the error measurement (scripts/ulp-error.mjs) and the math tests: the library's
// own builds never include this file.
import {
  expShiftedF32x4, logF32x4, logRatioF32x4, expShiftedF64x2, logF64x2, logRatioF64x2,
  expSplitHiF32, expSplitLoF32, expSplitHiF64, expSplitLoF64,
} from "../../assembly/math";

const LOG2E: f64 = 1.4426950408889634;

/** dst = exp((src − m)/T), with the per-call constants the kernels use. */
export function expShiftedF32Map(src: usize, dst: usize, n: i32, m: f32, T: f64): void {
  const vm = f32x4.splat(m), ns = f32x4.splat(-<f32>min(104.0 * T, 1e38)), k = f32x4.splat(<f32>(LOG2E / T));
  const c1 = f32x4.splat(expSplitHiF32(T)), c2 = f32x4.splat(expSplitLoF32(T)), it = f32x4.splat(<f32>(1.0 / T));
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, expShiftedF32x4(v128.load(src + o), vm, ns, k, c1, c2, it));
  }
}

export function logF32Map(src: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, logF32x4(v128.load(src + o)));
  }
}

/** log(a/b) through the ratio path: r = a·(1/b), fNear = (a − b)·(1/b). */
export function logRatioF32Map(a: usize, b: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    const va = v128.load(a + o);
    const vb = v128.load(b + o);
    const rb = f32x4.div(f32x4.splat(1.0), vb);
    v128.store(dst + o, logRatioF32x4(f32x4.mul(va, rb), f32x4.mul(f32x4.sub(va, vb), rb)));
  }
}

export function expShiftedF64Map(src: usize, dst: usize, n: i32, m: f64, T: f64): void {
  const vm = f64x2.splat(m), ns = f64x2.splat(-min(746.0 * T, 1e308)), k = f64x2.splat(LOG2E / T);
  const c1 = f64x2.splat(expSplitHiF64(T)), c2 = f64x2.splat(expSplitLoF64(T)), it = f64x2.splat(1.0 / T);
  for (let i = 0; i < n; i += 2) {
    const o = <usize>i << 3;
    v128.store(dst + o, expShiftedF64x2(v128.load(src + o), vm, ns, k, c1, c2, it));
  }
}

export function logF64Map(src: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i += 2) {
    const o = <usize>i << 3;
    v128.store(dst + o, logF64x2(v128.load(src + o)));
  }
}

export function logRatioF64Map(a: usize, b: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i += 2) {
    const o = <usize>i << 3;
    const va = v128.load(a + o);
    const vb = v128.load(b + o);
    v128.store(dst + o, logRatioF64x2(f64x2.div(va, vb), f64x2.sub(va, vb), f64x2.add(va, vb)));
  }
}

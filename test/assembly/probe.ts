// Array-mapping wrappers around the vector exp/log of assembly/math.ts, compiled only
// for the error measurement (scripts/ulp-error.mjs) and the math tests: the library's
// own builds never include this file.
import {
  expShiftedF32x4, logF32x4, logRatioF32x4, expShiftedF64x2, logF64x2, logRatioF64x2,
  setExpF32, setExpF64,
} from "../../assembly/math";

/** dst = exp((src − m)/T), with the per-call constants the kernels use. */
export function expShiftedF32Map(src: usize, dst: usize, n: i32, m: f32, T: f64): void {
  setExpF32(T);
  const vm = f32x4.splat(m);
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, expShiftedF32x4(v128.load(src + o), vm));
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
  setExpF64(T);
  const vm = f64x2.splat(m);
  for (let i = 0; i < n; i += 2) {
    const o = <usize>i << 3;
    v128.store(dst + o, expShiftedF64x2(v128.load(src + o), vm));
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

// Array-mapping wrappers around the vector exp and log of assembly/math.ts, compiled only
// for the error measurement (scripts/ulp-error.mjs): the library's own builds never
// include this file.  Each takes its constants as the kernels do (the tables, and the
// per-row scalars of `expRowF32`/`expRowF64`).
import {
  D_G1, D_LN2_HI, D_LN2_LO, D_ONE, D_P0, F_HALF, F_LN2_HI, F_LN2_LO, F_ONE, F_P1, F_Q0,
  I_127, I_LOG_SHIFT, I_MANT, I_SQRT_HALF, L_1023, L_LOG_SHIFT, L_MANT, L_SQRT_HALF,
  dexpBase, dexpC1, dexpC2, dexpCut, dexpInvT, dexpK, dexpLift, dexpMagic,
  expBase, expC1, expC2, expCut, expF32x4, expF64x2, expInvT, expK, expLift, expMagic, expRowF32, expRowF64,
  i32k, i64k, k32, k64, logF32x4, logF64x2,
} from "../../assembly/math";

/**
 * dst = exp(src) for src ≤ 0: a row of maximum 0 at T = 1, whose E(x) is exp(x)·2 (k = −1:
 * see math.ts), halved exactly.
 */
export function expF32Map(src: usize, dst: usize, n: i32): void {
  expRowF32(0, 1);
  const b = f32x4.splat(expBase), k = f32x4.splat(expK), magic = f32x4.splat(expMagic), c1 = f32x4.splat(expC1), c2 = f32x4.splat(expC2);
  const invT = f32x4.splat(expInvT), cut = f32x4.splat(expCut), lift = f32x4.splat(expLift), half = f32x4.splat(0.5);
  const p1 = k32(F_P1), p2 = k32(F_P1 + 1), p3 = k32(F_P1 + 2), p4 = k32(F_P1 + 3), p5 = k32(F_P1 + 4), one = k32(F_ONE);
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    const e = expF32x4(v128.load(src + o), b, k, magic, c1, c2, invT, cut, lift, p1, p2, p3, p4, p5, one);
    v128.store(dst + o, f32x4.mul(e, half));
  }
}

/** log(a/b) with the ratio's x − 1 as (a − b)·(1/b) (a = b·x, b = 1: log x). */
function logF32(a: v128, b: v128): v128 {
  const rb = f32x4.div(f32x4.splat(1.0), b);
  return logF32x4(f32x4.mul(a, rb), f32x4.mul(f32x4.sub(a, b), rb), i32k(I_LOG_SHIFT), i32k(I_MANT), i32k(I_SQRT_HALF), i32k(I_127),
    k32(F_ONE), k32(F_HALF), k32(F_LN2_HI), k32(F_LN2_LO),
    k32(F_Q0), k32(F_Q0 + 1), k32(F_Q0 + 2), k32(F_Q0 + 3), k32(F_Q0 + 4), k32(F_Q0 + 5), k32(F_Q0 + 6), k32(F_Q0 + 7));
}

export function logF32Map(src: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, logF32(v128.load(src + o), f32x4.splat(1.0)));
  }
}

export function logRatioF32Map(a: usize, b: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, logF32(v128.load(a + o), v128.load(b + o)));
  }
}

/** dst = exp(src) for src ≤ 0, as `expF32Map`. */
export function expF64Map(src: usize, dst: usize, n: i32): void {
  expRowF64(0, 1);
  const b = f64x2.splat(dexpBase), k = f64x2.splat(dexpK), magic = f64x2.splat(dexpMagic), c1 = f64x2.splat(dexpC1), c2 = f64x2.splat(dexpC2);
  const invT = f64x2.splat(dexpInvT), cut = f64x2.splat(dexpCut), lift = f64x2.splat(dexpLift), half = f64x2.splat(0.5), one = k64(D_ONE);
  const p0 = k64(D_P0), p1 = k64(D_P0 + 1), p2 = k64(D_P0 + 2), p3 = k64(D_P0 + 3), p4 = k64(D_P0 + 4);
  const p5 = k64(D_P0 + 5), p6 = k64(D_P0 + 6), p7 = k64(D_P0 + 7), p8 = k64(D_P0 + 8), p9 = k64(D_P0 + 9);
  for (let i = 0; i < n; i += 2) {
    const o = <usize>i << 3;
    const e = expF64x2(v128.load(src + o), b, k, magic, c1, c2, invT, cut, lift, one, p0, p1, p2, p3, p4, p5, p6, p7, p8, p9);
    v128.store(dst + o, f64x2.mul(e, half));
  }
}

/** log(a/b) with the series argument's numerator and denominator a − b and a + b (b = 1: log x). */
function logF64(a: v128, b: v128): v128 {
  return logF64x2(f64x2.div(a, b), f64x2.sub(a, b), f64x2.add(a, b), i64k(L_LOG_SHIFT), i64k(L_MANT), i64k(L_SQRT_HALF), i64k(L_1023),
    k64(D_ONE), k64(D_LN2_HI), k64(D_LN2_LO), k64(D_G1), k64(D_G1 + 1), k64(D_G1 + 2), k64(D_G1 + 3), k64(D_G1 + 4), k64(D_G1 + 5), k64(D_G1 + 6));
}

export function logF64Map(src: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i += 2) {
    const o = <usize>i << 3;
    v128.store(dst + o, logF64(v128.load(src + o), f64x2.splat(1.0)));
  }
}

export function logRatioF64Map(a: usize, b: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i += 2) {
    const o = <usize>i << 3;
    v128.store(dst + o, logF64(v128.load(a + o), v128.load(b + o)));
  }
}

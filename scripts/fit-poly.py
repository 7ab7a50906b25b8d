#!/usr/bin/env python3
"""Near-minimax coefficients for the polynomial cores of assembly/math.ts.

Lawson's algorithm (iteratively re-weighted least squares, which converges to the
minimax fit on a discrete set) in 60-digit mpmath arithmetic, on 600 Chebyshev
points of the reduced interval.  Each fit minimises the *relative* error of the
final function value, not of the inner polynomial:

  exp(t) ~ 1 + t + t^2 P(t),        t in [-ln2/2, ln2/2]
  expm1(t) ~ t + t^2 P(t),          t in [-ln2/2, ln2/2]
  log(1+f) ~ f - f^2/2 + f^3 P(f),  f in [sqrt(1/2)-1, sqrt(2)-1]

Run `python3 scripts/fit-poly.py` to reprint the constants in math.ts.  The
printed error is the polynomial's alone; the rounding of the evaluation in
float32/float64 comes on top and is what `scripts/ulp-error.mjs` measures.
"""
import mpmath as mp

mp.mp.dps = 60


def lawson(target, basis, weight, a, b, npts=600, iters=60):
    xs = [(a + b) / 2 + (b - a) / 2 * mp.cos(mp.pi * (k + mp.mpf(1) / 2) / npts) for k in range(npts)]
    w = [mp.mpf(1) / npts] * npts
    n = len(basis(xs[0]))
    coef = None
    for _ in range(iters):
        # weighted normal equations
        A = mp.matrix(n, n)
        r = mp.matrix(n, 1)
        rows = [basis(x) for x in xs]
        for k, x in enumerate(xs):
            wk = w[k] * weight(x) ** 2
            for i in range(n):
                r[i] += wk * rows[k][i] * target(x)
                for j in range(n):
                    A[i, j] += wk * rows[k][i] * rows[k][j]
        coef = mp.lu_solve(A, r)
        err = [abs((sum(coef[i] * rows[k][i] for i in range(n)) - target(x)) * weight(x)) for k, x in enumerate(xs)]
        tot = sum(w[k] * err[k] for k in range(npts))
        w = [w[k] * err[k] / tot for k in range(npts)]
    return [coef[i] for i in range(n)], max(err)


def fit_exp(deg):
    a = mp.log(2) / 2
    # exp(t) = 1 + t + t^2 P(t): fit P to g(t) = (e^t - 1 - t)/t^2, weight t^2/e^t (relative error of exp)
    g = lambda t: (mp.exp(t) - 1 - t) / t ** 2 if t != 0 else mp.mpf(1) / 2
    return lawson(g, lambda t: [t ** i for i in range(deg + 1)], lambda t: t ** 2 / mp.exp(t), -a, a)


def fit_log(deg):
    lo, hi = mp.sqrt(mp.mpf(1) / 2) - 1, mp.sqrt(2) - 1
    # log(1+f) = f - f^2/2 + f^3 P(f): fit P to (log1p(f) - f + f^2/2)/f^3, weight f^3/log1p(f)
    g = lambda f: (mp.log1p(f) - f + f ** 2 / 2) / f ** 3 if f != 0 else mp.mpf(1) / 3
    wt = lambda f: f ** 3 / mp.log1p(f) if f != 0 else mp.mpf(0)
    return lawson(g, lambda f: [f ** i for i in range(deg + 1)], wt, lo, hi)


def fit_expm1(deg):
    a = mp.log(2) / 2
    # expm1(t) = t + t^2 P(t): fit P to (expm1(t) - t)/t^2, weight t^2/expm1(t) (relative error of expm1)
    g = lambda t: (mp.expm1(t) - t) / t ** 2 if t != 0 else mp.mpf(1) / 2
    wt = lambda t: t ** 2 / mp.expm1(t) if t != 0 else mp.mpf(0)
    return lawson(g, lambda t: [t ** i for i in range(deg + 1)], wt, -a, a)


def show(name, coef, err):
    print(f"{name}: max relative error of the polynomial {mp.nstr(err, 3)}")
    for i, c in enumerate(coef):
        print(f"  c{i} = {mp.nstr(c, 21)}")


if __name__ == "__main__":
    import sys
    for deg in (3, 4, 5):
        show(f"exp f32, 1 + t + t^2 P{deg}(t)", *fit_exp(deg))
    for deg in (9, 10):
        show(f"exp f64, 1 + t + t^2 P{deg}(t)", *fit_exp(deg))
    show("expm1 f64 (float32 needs), t + t^2 P5(t)", *fit_expm1(5))
    for deg in (5, 6, 7):
        show(f"log f32, f - f^2/2 + f^3 P{deg}(f)", *fit_log(deg))

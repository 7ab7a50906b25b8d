// The twins' exponential of an argument at most 0 (x − max, −|x|: every exponential of
// their loops and src/small.ts's), where V8's Math.exp is a call into C that costs 3–4
// times this inlined one (docs/performance.md, "Small calls").  A per-row factor of
// either sign keeps Math.exp.
//
// exp(u) = 2^e · 2^(j/64) · exp(r): k = round(u·64/ln 2) (the 1.5·2⁵² bias rounds it
// to nearest), e = ⌊k/64⌋, j = k mod 64, r = u − k·ln2/64 with ln 2/64 in two parts
// (fdlibm's ln2_hi, of 32 bits, so k·hi is exact for |k| < 2²¹, and ln2_lo), |r| ≤
// ln 2/128 + 2⁻⁴³.  exp(r) − 1 by its Taylor polynomial of degree 5, whose truncation
// is at most r⁶/720 < 3.5e-17 relative; the result is f + f·(exp(r) − 1), f = 2^(j/64)
// correctly rounded, so that the roundings of the small part count at its size: within
// 1.3 ulps of every normal result (1.28 measured over 10⁶ mpmath arguments;
// `scripts/ulp-error.mjs js`), against 1e-13 in the SPEC's float64 bound.  The power of
// two comes last, so no intermediate is subnormal.  Below u = −708.5 (results under
// 2^-1022·e^-0.1, subnormal or 0) it is Math.exp's value: the softmax twins flush it at
// their type's cut-off (js/softmax.ts, CUT64), but a weighted sum's term b·e^u with a
// large b still counts it, as it did before this function.

const SHIFT = 6755399441056768; // 1.5·2⁵²: x + SHIFT − SHIFT rounds x to an integer
const INV_LN2_64 = 64 / Math.LN2;
const LN2_64_HI = 6.93147180369123816490e-1 / 64;
const LN2_64_LO = 1.90821492927058770002e-10 / 64;
/** Below this exp(u) is under 2^-1022·e^-0.1: Math.exp's subnormal (or 0). */
const LOWEST = -708.5;

/** 2^(j/64), j = 0 … 63, correctly rounded (mpmath; `2 ** (j / 64)` is off by an ulp in 9 of them). */
const FRACTION = Float64Array.of(
  1.0, 1.0108892860517005, 1.0218971486541166, 1.0330248790212284, 1.0442737824274138,
  1.0556451783605572, 1.0671404006768237, 1.0787607977571199, 1.0905077326652577,
  1.102382583307841, 1.1143867425958924, 1.1265216186082418, 1.1387886347566916,
  1.1511892299529827, 1.1637248587775775, 1.1763969916502812, 1.189207115002721, 1.202156731452703,
  1.215247359980469, 1.22848053610687, 1.241857812073484, 1.255380757024691, 1.2690509571917332,
  1.2828700160787783, 1.2968395546510096, 1.3109612115247644, 1.3252366431597413,
  1.339667524053303, 1.3542555469368927, 1.3690024229745905, 1.383909881963832, 1.3989796725383112,
  1.4142135623730951, 1.42961333839197, 1.4451808069770467, 1.460917794180647, 1.4768261459394993,
  1.4929077282912648, 1.5091644275934228, 1.5255981507445384, 1.5422108254079407,
  1.559004400237837, 1.5759808451078865, 1.593142151342267, 1.6104903319492543, 1.6280274218573478,
  1.645755478153965, 1.6636765803267364, 1.681792830507429, 1.7001063537185235, 1.718619298122478,
  1.7373338352737062, 1.7562521603732995, 1.7753764925265212, 1.7947090750031072,
  1.8142521755003989, 1.8340080864093424, 1.8539791250833855, 1.8741676341103, 1.8945759815869656,
  1.9152065613971474, 1.9360617934922943, 1.9571441241754002, 1.978456026387951,
);
/** 2^e for e = −1023 … 0 (index e + 1023): 2^−1023 is subnormal, exact. */
const POWER = Float64Array.from({ length: 1024 }, (_, i) => 2 ** (i - 1023));

/**
 * exp(u) for u ≤ 0 within 1.3 ulps; Math.exp(u) elsewhere (below −708.5, where the
 * result is not normal; −Infinity, NaN, and u > 0, which no caller passes).
 */
export function expNonPos(u: number): number {
  if (!(u >= LOWEST && u <= 0)) return Math.exp(u);
  const k = u * INV_LN2_64 + SHIFT - SHIFT;
  const r = u - k * LN2_64_HI - k * LN2_64_LO;
  const r2 = r * r;
  const q = r + r2 * (0.5 + r * (1 / 6)) + r2 * r2 * (1 / 24 + r * (1 / 120)); // exp(r) − 1
  const i = k | 0, f = FRACTION[i & 63];
  return (f + f * q) * POWER[(i >> 6) + 1023];
}

// Measures the worst error, in units in the last place, of the vector exp and log of
// assembly/math.ts.  float32: every float in the range, against Math.exp/Math.log in
// float64 (whose own error, 2^-29 float32 ulp, is negligible).  float64: random
// arguments against a double-double reference computed by mpmath
// (scripts/ulp-reference.py), because Math.exp/Math.log are themselves ~1 ulp.
//
//   npx asc test/assembly/probe.ts --enable simd --runtime stub -O3 --noAssert \
//       --initialMemory 400 -o build/probe.wasm
//   node scripts/ulp-error.mjs [f32|f64|js|all] [--step k]
//
// (`--step k` samples every k-th float32 for a quick run; the bounds in math.ts are from
// the full sweep.)  `js` checks the JS twins' expNonPos (src/js/math.ts, from dist: run
// `npm run build:ts` first) against the same kind of reference.
import { readFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const args = process.argv.slice(2);
const which = args.find((a) => !a.startsWith('--')) ?? 'all';
const step = Number(args[args.indexOf('--step') + 1] ?? 1) || 1;

// (the probe only where a kernel's function is measured; asconfig.json's options, which
// asc applies to it too, import its memory)
const memory = new WebAssembly.Memory({ initial: 400, maximum: 65536 });
const wasm = which === 'js' ? null : (await WebAssembly.instantiate(readFileSync(new URL('../build/probe.wasm', import.meta.url)), { env: { memory, abort() { throw new Error('abort'); } } })).instance.exports;
const mem = wasm ? (wasm.memory ?? memory) : null;

const CHUNK = 1 << 20;
// above the module's static data (its constant tables), which sits below heapBase()
const A = 1 << 20, B = A + CHUNK * 8, OUT = A + CHUNK * 16;
if (mem && mem.buffer.byteLength < OUT + CHUNK * 8) mem.grow(Math.ceil((OUT + CHUNK * 8 - mem.buffer.byteLength) / 65536));

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** ulp of the float32 nearest to y (normal range; the subnormal ulp below it). */
function ulp32(y) {
  f32[0] = Math.abs(y);
  const e = (u32[0] >>> 23) & 0xff;
  return Math.pow(2, Math.max(e, 1) - 127 - 23);
}
function ulp64(y) {
  const a = Math.abs(y);
  if (a < 2.2250738585072014e-308) return 4.9e-324;
  return Math.pow(2, Math.floor(Math.log2(a)) - 52) * (Math.pow(2, Math.floor(Math.log2(a))) > a ? 0.5 : 1);
}

function sweep32(name, fn, lo, hi, ref, skip = () => false) {
  const view = new Uint32Array(mem.buffer, A, CHUNK);
  const xs = new Float32Array(mem.buffer, A, CHUNK);
  const ys = new Float32Array(mem.buffer, OUT, CHUNK);
  let worst = 0, at = NaN, count = 0;
  // Walk the bit patterns of [lo, hi] in order (negative and positive halves separately).
  const ranges = [];
  const bitsOf = (x) => { f32[0] = x; return u32[0]; };
  if (lo < 0) ranges.push([bitsOf(-0) , bitsOf(lo)]);
  if (hi > 0) ranges.push([bitsOf(Math.max(lo, 0)), bitsOf(hi)]);
  for (const [b0, b1] of ranges) {
    for (let b = b0; b <= b1; b += CHUNK * step) {
      const n = Math.min(CHUNK, Math.floor((b1 - b) / step) + 1);
      for (let i = 0; i < n; i++) view[i] = b + i * step;
      fn(A, OUT, (n + 3) & ~3);
      for (let i = 0; i < n; i++) {
        const x = xs[i];
        if (skip(x)) continue;
        const exact = ref(x);
        const err = Math.abs(ys[i] - exact) / ulp32(exact);
        count++;
        if (err > worst) { worst = err; at = x; }
      }
    }
  }
  console.log(`${name}: ${count} arguments, worst ${worst.toFixed(3)} ulp at x = ${at}`);
  return worst;
}

function check64(name, kind) {
  const file = new URL(`../build/ulp-${kind}.bin`, import.meta.url);
  if (!existsSync(file)) {
    execFileSync('python3', [new URL('./ulp-reference.py', import.meta.url).pathname, kind, file.pathname], { stdio: 'inherit' });
  }
  const raw = readFileSync(file);
  const all = new Float64Array(raw.buffer, raw.byteOffset, raw.byteLength / 8);
  const total = all.length / 5; // x, y, T, ref_hi, ref_lo
  let worst = 0, at = NaN;
  for (let s = 0; s < total; s += CHUNK) {
    const n = Math.min(CHUNK, total - s);
    const xa = new Float64Array(mem.buffer, A, CHUNK);
    const xb = new Float64Array(mem.buffer, B, CHUNK);
    const ys = new Float64Array(mem.buffer, OUT, CHUNK);
    for (let i = 0; i < n; i++) { xa[i] = all[5 * (s + i)]; xb[i] = all[5 * (s + i) + 1]; }
    const m = (n + 1) & ~1;
    if (kind === 'expu') wasm.expF64Map(A, OUT, m);
    else if (kind === 'log') wasm.logF64Map(A, OUT, m);
    else wasm.logRatioF64Map(A, B, OUT, m);
    for (let i = 0; i < n; i++) {
      const hi = all[5 * (s + i) + 3], lo = all[5 * (s + i) + 4];
      const err = Math.abs((ys[i] - hi) - lo) / ulp64(hi);
      if (err > worst) { worst = err; at = kind === 'ratio' ? `${xa[i]}/${xb[i]}` : xa[i]; }
    }
  }
  console.log(`${name}: ${total} arguments, worst ${worst.toFixed(3)} ulp at ${at}`);
}

if (which === 'f32' || which === 'all') {
  // a row of maximum 0 at T = 1 (the probe halves E = 2·exp(x) exactly)
  sweep32('expF32x4, m = 0, T = 1, on [-87.3, 0] (normal results)', (a, o, n) => wasm.expF32Map(a, o, n), -87.33, 0, Math.exp);
  sweep32('logF32x4 on positive normal floats', wasm.logF32Map, 1.1754943508222875e-38, 3.4028234663852886e38, Math.log,
    (x) => x === 1);
  // log(a/b) with a = b·(1 + d): the case the ratio path exists for.
  const n = CHUNK, a = new Float32Array(mem.buffer, A, n), b = new Float32Array(mem.buffer, B, n), ys = new Float32Array(mem.buffer, OUT, n);
  let worst = 0, at = '';
  for (let round = 0; round < 16; round++) {
    for (let i = 0; i < n; i++) {
      b[i] = Math.exp((Math.random() - 0.5) * 40);
      a[i] = b[i] * (1 + (Math.random() - 0.5) * Math.pow(2, -Math.random() * 24));
    }
    wasm.logRatioF32Map(A, B, OUT, n);
    for (let i = 0; i < n; i++) {
      const d = (a[i] - b[i]) / b[i]; // exact in float64
      const exact = Math.log1p(d);
      if (exact === 0) continue;
      const err = Math.abs(ys[i] - exact) / ulp32(exact);
      if (err > worst) { worst = err; at = `${a[i]}/${b[i]}`; }
    }
  }
  console.log(`logRatioF32x4 (a ≈ b, 2^24 pairs): worst ${worst.toFixed(3)} ulp at ${at}`);
}
if (which === 'js' || which === 'all') {
  const { expNonPos } = await import('../dist/js/math.js');
  const file = new URL('../build/ulp-expu.bin', import.meta.url);
  if (!existsSync(file)) execFileSync('python3', [new URL('./ulp-reference.py', import.meta.url).pathname, 'expu', file.pathname], { stdio: 'inherit' });
  const raw = readFileSync(file);
  const all = new Float64Array(raw.buffer, raw.byteOffset, raw.byteLength / 8);
  let worst = 0, at = NaN;
  for (let i = 0; i < all.length; i += 5) {
    const hi = all[i + 3], lo = all[i + 4];
    const err = Math.abs((expNonPos(all[i]) - hi) - lo) / ulp64(hi);
    if (err > worst) { worst = err; at = all[i]; }
  }
  console.log(`expNonPos (JS), ${all.length / 5} arguments on [-708.39, 0]: worst ${worst.toFixed(3)} ulp at ${at}`);
}
if (which === 'f64' || which === 'all') {
  check64('expF64x2, m = 0, T = 1, on [-708.39, 0]', 'expu');
  check64('logF64x2', 'log');
  check64('logRatioF64x2 (a ≈ b)', 'ratio');
}

// What every part of the fuzz harness shares: the built package as loaded (S, B), the
// per-process state kept beside it (`persistent`: per backend, the canary WasmArray, the
// other module's arrays, the lowest byte raw views may use), and small helpers (Σ,
// number formatting, detached views, case tokens, snapshots of arguments).

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DIST = new URL('../dist/index.js', import.meta.url);
const DIST_BACKEND = new URL('../dist/backend.js', import.meta.url);
export const BACKENDS = ['wasm-simd', 'wasm', 'js'];

// ---------------------------------------------------------------------------------
// The library, and the per-process state the materialiser and the checks need
// ---------------------------------------------------------------------------------

export let S; // the package
export let B; // dist/backend.js (engineFor, setSmallInputCutoff: the same module instance the package uses)

export const persistent = {}; // per backend: canary WasmArray, foreign arrays, the lowest byte raw views may use

export async function loadLibrary() {
  if (!existsSync(fileURLToPath(DIST))) {
    console.error('fuzz: dist/index.js is missing; run `npm run build` first');
    process.exit(2);
  }
  S = await import(DIST.href);
  B = await import(DIST_BACKEND.href);
}

export const heapOf = () => (S.backend() === 'js' ? null : B.engineFor(Infinity).heap);

// ---------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------

const OWNER = Symbol('owner');
/** Marks a view as part of a WasmArray, so that a check can read it after memory.grow. */
export function owned(view, wa, offset) {
  view[OWNER] = { wa, offset, length: view.length };
  return view;
}
/** A view as it is now: one that memory growth detached is read again through its WasmArray. */
export function current(view) {
  const o = view?.[OWNER];
  return o && isDetached(view) && o.wa.live ? o.wa.array.subarray(o.offset, o.offset + o.length) : view;
}

/** Σ with Neumaier's compensation. */
export function fsum(xs) {
  let s = 0, c = 0;
  for (const v of xs) {
    const t = s + v;
    c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    s = t;
  }
  return Number.isFinite(s) ? s + c : s;
}

export const fmt = (v) => (Object.is(v, -0) ? '-0' : typeof v === 'number' ? String(v) : typeof v === 'bigint' ? `${v}n` : JSON.stringify(v));

export function isDetached(view) {
  const b = view.buffer;
  if (typeof b.detached === 'boolean') return b.detached;
  if (typeof SharedArrayBuffer !== 'undefined' && b instanceof SharedArrayBuffer) return false;
  try { new Uint8Array(b); return false; } catch { return true; }
}

/** Case tokens: JSON with NaN, ±Infinity and −0 kept, base64url. */
export function encode(value) {
  const json = JSON.stringify(value, (_, v) => (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)) ? { $n: Object.is(v, -0) ? '-0' : String(v) } : v));
  return Buffer.from(json).toString('base64url');
}
export function decode(token) {
  return JSON.parse(Buffer.from(token, 'base64url').toString(), (_, v) => (v && typeof v === 'object' && '$n' in v ? (v.$n === '-0' ? -0 : Number(v.$n)) : v));
}

/** An argument's values as they are now (numbers), or null for what is not an array. */
export function snapshot(x) {
  if (x instanceof S.WasmArray) return x.live ? Array.from(x.array) : null;
  if (ArrayBuffer.isView(x) && !(x instanceof DataView) && !isDetached(x)) return Array.from(x, (v) => (typeof v === 'bigint' ? Number(v) : v));
  if (Array.isArray(x)) return x.slice();
  return null;
}

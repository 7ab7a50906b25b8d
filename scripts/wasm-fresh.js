// Exits 0 when src/wasm/*.generated.ts are newer than everything they are built from (the
// kernels in assembly/, asconfig.json, the inlining script, package-lock.json's versions),
// 1 otherwise: `npm test` then rebuilds them (`npm run build:wasm`, ~35 s) only when needed.
import { readdirSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const mtime = (path) => {
  try {
    return statSync(new URL(path, root)).mtimeMs;
  } catch {
    return NaN; // missing: never fresh
  }
};
const inputs = [
  ...readdirSync(new URL('assembly/', root)).map((f) => `assembly/${f}`),
  'asconfig.json', 'scripts/inline-wasm.js', 'package-lock.json',
].map(mtime);
const outputs = ['simd', 'relaxed', 'scalar'].map((b) => mtime(`src/wasm/${b}.generated.ts`));
process.exit(Math.min(...outputs) > Math.max(...inputs) ? 0 : 1);

// `npm run build:wasm`: compiles the three targets of asconfig.json at once (each asc run
// is mostly one thread, so on several cores this takes the time of the longest), then
// inlines the binaries (inline-wasm.js).  One failing compile stops the others.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = createRequire(import.meta.url).resolve('assemblyscript/package.json');
const asc = join(dirname(pkg), 'bin', 'asc.js');
const children = new Set();
const run = (name, args) => new Promise((resolve, reject) => {
  const child = spawn(process.execPath, args, { stdio: 'inherit' });
  children.add(child);
  child.on('error', reject);
  child.on('exit', (code, signal) => {
    children.delete(child);
    if (code === 0) resolve();
    else reject(new Error(`${name} failed (${signal ?? `exit code ${code}`})`));
  });
});
try {
  await Promise.all(['relaxed', 'simd', 'scalar'].map((target) => run(`asc --target ${target}`, [asc, '--target', target])));
  await run('inline-wasm.js', [fileURLToPath(new URL('inline-wasm.js', import.meta.url))]);
} catch (e) {
  for (const child of children) child.kill();
  console.error(`build:wasm: ${e.message}`);
  process.exit(1);
}

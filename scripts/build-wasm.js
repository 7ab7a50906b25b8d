// `npm run build:wasm`: compiles the three targets of asconfig.json at once (each asc run
// is mostly one thread, so on several cores this takes the time of the longest), then
// inlines the binaries (inline-wasm.js).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const asc = fileURLToPath(new URL('../node_modules/assemblyscript/bin/asc.js', import.meta.url));
const run = (args) => new Promise((resolve, reject) => {
  spawn(process.execPath, args, { stdio: 'inherit' }).on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited with ${code}`))));
});
await Promise.all(['relaxed', 'simd', 'scalar'].map((target) => run([asc, '--target', target])));
await run([fileURLToPath(new URL('inline-wasm.js', import.meta.url))]);

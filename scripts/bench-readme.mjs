#!/usr/bin/env node
// Rewrites the README's "## Benchmarks" tables from bench/results.md (the last full
// `npm run bench`) and bench/pool.md (the last pool run), so the README quotes exactly the
// committed runs.  The prose around
// the tables is kept; only the lines between the markers are replaced.
import { readFileSync, writeFileSync } from 'node:fs';

const md = readFileSync(new URL('../bench/results.md', import.meta.url), 'utf8').split('\n');
const cells = (l) => l.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim());
const data = md.filter((l) => l.startsWith('| ') && !l.startsWith('| op ')).map(cells).filter((c) => c.length === 15);
const header = md.find((l) => l.startsWith('surprisal benchmark'));
const machine = header.replace('surprisal benchmark — ', '').split('; median')[0];
const pick = (dtype, n) => data.filter((c) => c[1] === dtype && c[2] === n);

const main = ['| op (float32, n = 10⁶) | naive JS | surprisal | zero-copy | zero-copy el/ns | TF.js wasm | ÷ naive | ÷ TF.js | TF.js rel. error |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|'];
for (const c of [...pick('float32', '1000000'), ...pick('float32', '1024x1000').filter((c) => ['softmax', 'softmaxCrossEntropy', 'softmaxCrossEntropy+grad'].includes(c[0]))]) {
  main.push(`| ${c[2] === '1000000' ? c[0] : `${c[0]} 1024×1000`} | ${c[3]} | ${c[4]} | ${c[5]} | ${c[11]} | ${c[8]} | ${c[12]} | ${c[13]} | ${c[14]} |`);
}
const small = ['| op (n = 16) | naive JS | surprisal | ÷ naive |', '|---|---:|---:|---:|'];
for (const c of pick('float32', '16')) small.push(`| ${c[0]} | ${c[3]} | ${c[4]} | ${c[12]} |`);
const f32 = Object.fromEntries(pick('float32', '1000000').map((c) => [c[0], Number(c[11])]));
const f64 = ['| op (n = 10⁶, zero-copy) | float32 el/ns | float64 el/ns | float64 ÷ float32 |', '|---|---:|---:|---:|'];
for (const c of pick('float64', '1000000')) f64.push(`| ${c[0]} | ${f32[c[0]].toFixed(2)} | ${Number(c[11]).toFixed(2)} | ${(Number(c[11]) / f32[c[0]]).toFixed(2)} |`);
// the pool's table: from bench/pool.md (the last `npm run bench` or `npm run bench -- --pool`)
const poolMd = readFileSync(new URL('../bench/pool.md', import.meta.url), 'utf8').split('\n');
const tableAt = (head) => {
  const lines = [];
  for (let i = poolMd.findIndex((l) => l.startsWith(head)); i >= 0 && poolMd[i]?.startsWith('|'); i++) lines.push(poolMd[i]);
  return lines;
};
const pool = tableAt('| op | shape |');
const busy = tableAt('| op | shape, beside a busy process |');

const blocks = { machine: [`${machine}.`], main, small, f64, pool, busy };
const readme = new URL('../README.md', import.meta.url);
let text = readFileSync(readme, 'utf8');
for (const [name, lines] of Object.entries(blocks)) {
  const re = new RegExp(`(<!-- bench:${name} -->\\n)[\\s\\S]*?(\\n<!-- /bench:${name} -->)`);
  if (!re.test(text)) throw new Error(`README: no <!-- bench:${name} --> block`);
  text = text.replace(re, `$1${lines.join('\n')}$2`);
}
writeFileSync(readme, text);
console.log('README benchmark tables rewritten from bench/results.md');

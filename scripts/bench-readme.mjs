#!/usr/bin/env node
// Rewrites the benchmark tables of README.md (the main one) and docs/performance.md (small
// calls, float64, the pool) from bench/results.json (the last full `npm run bench`), so
// both quote exactly the committed run.  The prose around the tables is kept; only the
// lines between the <!-- bench:NAME --> markers are replaced.
import { readFileSync, writeFileSync } from 'node:fs';
import { fmtErr, fmtNs, fmtRate, fmtTime, fmtX } from '../bench/report.js';

const results = JSON.parse(readFileSync(new URL('../bench/results.json', import.meta.url), 'utf8'));
const { machine: m, tables } = results;
const need = (id) => {
  if (!tables[id]) throw new Error(`bench/results.json has no "${id}" table: run npm run bench`);
  return tables[id].records;
};
const num = (v) => (typeof v === 'string' ? Number(v) : v);

const main = need('main');
const pick = (op, dtype, key) => Object.fromEntries(main.filter((r) => r.op === op && r.dtype === dtype && (key === 'batch' ? r.shape : !r.shape && r.n === key)).map((r) => [r.impl, r]));
const cell = (r) => (r ? fmtTime(num(r.ms)) : '—');

const mainBlock = ['| op (float32, n = 10⁶) | naive JS | surprisal | zero-copy | zero-copy el/ns | TF.js op only | onnxruntime-web | × naive | × TF.js op | TF.js rel. error |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|'];
const ops = [...new Set(main.map((r) => r.op))];
for (const key of [1_000_000, 'batch']) {
  for (const op of ops) {
    const g = pick(op, 'float32', key);
    if (!g.surprisal) continue;
    if (key === 'batch' && !['softmax', 'softmaxCrossEntropy', 'softmaxCrossEntropy+grad'].includes(op)) continue;
    const name = key === 'batch' ? `${op} ${g.surprisal.shape}` : op;
    mainBlock.push(`| ${name} | ${cell(g.naive)} | ${cell(g.surprisal)} | ${cell(g.zerocopy)} | ${g.zerocopy ? fmtRate(num(g.zerocopy.elPerNs)) : '—'} | ` +
      `${cell(g.tf)} | ${cell(g.ort)} | ${fmtX(num(g.surprisal.xNaive))} | ${g.surprisal.xTf == null ? '—' : fmtX(num(g.surprisal.xTf))} | ${g.tf ? fmtErr(num(g.tf.relError)) : '—'} |`);
  }
}

const small = need('small').filter((r) => r.n === 16 && (r.input === 'Float32Array' || r.input === 'Uint8Array'));
const smallBlock = ['| op (n = 16, Float32Array) | naive JS | surprisal | × naive |', '|---|---:|---:|---:|',
  ...small.map((r) => `| ${r.op} | ${fmtNs(num(r.naiveMs))} ns | ${fmtNs(num(r.ms))} ns | ${fmtX(num(r.xNaive))} |`)];

const f64Block = ['| op (n = 10⁶, zero-copy) | float32 el/ns | float64 el/ns | float64 ÷ float32 |', '|---|---:|---:|---:|'];
for (const op of ops) {
  const a = pick(op, 'float32', 1_000_000).zerocopy, b = pick(op, 'float64', 1_000_000).zerocopy;
  if (a && b) f64Block.push(`| ${op} | ${fmtRate(num(a.elPerNs))} | ${fmtRate(num(b.elPerNs))} | ${(num(b.elPerNs) / num(a.elPerNs)).toFixed(2)} |`);
}

const pool = tables.pool ? need('pool') : [];
const poolRow = (r) => `| ${r.op} | ${r.shape} | ${fmtTime(num(r.singleMs))} | ${fmtTime(num(r.poolMs))} | ${fmtX(num(r.speedup))} | ${fmtTime(num(r.sharedSingleMs))} | ${fmtTime(num(r.sharedPoolMs))} | ${fmtX(num(r.sharedSpeedup))} | ${fmtX(num(r.sharedOverPlain))} | ${r.alone === undefined ? '—' : `${Math.round(100 * r.alone)} %`} |`;
const poolHead = ['| op | shape | one thread | pool | speed-up | pool.array rows: one thread | pool | speed-up | ÷ one thread, ordinary arrays | pool calls on the calling thread |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|'];
const poolBlock = [...poolHead, ...pool.filter((r) => !r.busy).map(poolRow)];
const busyBlock = [...poolHead, ...pool.filter((r) => r.busy).map(poolRow)];

const run = tables.main.run;
const machine = [`${run.date}, ${m.cpu} (${m.cores} cores), Node ${m.node}, surprisal backend ${m.defaultBackend}, TF.js ${m.tfjs}, onnxruntime-web ${m.onnx}.`];
// the README has one table; docs/performance.md the others
const files = {
  'README.md': { machine, main: mainBlock },
  'docs/performance.md': { machine, small: smallBlock, f64: f64Block, pool: poolBlock, busy: busyBlock },
};
for (const [file, blocks] of Object.entries(files)) {
  const url = new URL(`../${file}`, import.meta.url);
  let text = readFileSync(url, 'utf8');
  for (const [name, lines] of Object.entries(blocks)) {
    const re = new RegExp(`(<!-- bench:${name} -->\\n)[\\s\\S]*?(\\n<!-- /bench:${name} -->)`);
    if (!re.test(text)) throw new Error(`${file}: no <!-- bench:${name} --> block`);
    text = text.replace(re, `$1${lines.join('\n')}$2`);
  }
  writeFileSync(url, text);
}
console.log('README and docs/performance.md benchmark tables rewritten from bench/results.json');

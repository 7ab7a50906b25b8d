// npm run bench [-- options]: surprisal against a naive JS loop, TF.js (wasm) and
// onnxruntime-web (wasm), on the same inputs, in one process.  See bench/README.md.
import os from 'node:os';
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as S from '../dist/index.js';
import { checksum, settings } from './harness.js';
import { write } from './report.js';

const SUITES = ['main', 'patterns', 'narrow', 'small', 'new', 'pool', 'scaling'];
const HELP = `npm run bench [-- options]

  (no options)       every table, the size scaling last (the slow part); writes bench/results.{json,md,svg}
  --quick            CI: tiny times and sizes, every code path once (< 60 s); writes to the temp directory
  --suites a,b       only these tables (${SUITES.join(', ')}); their tables replace those in the existing results
  --skip a,b         every table but these
  --scaling          only the size scaling (= --suites scaling)
  --pool             only the pool (= --suites pool)
  --ops a,b          only these ops (e.g. softmax,softmaxCrossEntropy+grad) in the op tables
  --pool-sizes a,b   the pool table at these pool sizes (default: one pool, of the machine's cores)
  --pool-rows a,b    the pool table at these row counts of 1000 columns (default: 1024,4096)
  --out DIR          write the results here (default: bench/, or the temp directory with --quick)
  --name NAME        base name of the result files (default: results)
  --no-peers         without TF.js and onnxruntime-web
  -h, --help         this text
`;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    suites: { type: 'string' },
    skip: { type: 'string' },
    scaling: { type: 'boolean', default: false },
    pool: { type: 'boolean', default: false },
    ops: { type: 'string' },
    'pool-sizes': { type: 'string' },
    'pool-rows': { type: 'string' },
    out: { type: 'string' },
    name: { type: 'string', default: 'results' },
    'no-peers': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const list = (s) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : null);
let suites = list(args.suites) ?? [...(args.scaling ? ['scaling'] : []), ...(args.pool ? ['pool'] : [])];
if (!suites.length) suites = SUITES;
const skip = new Set(list(args.skip) ?? []);
suites = suites.filter((s) => !skip.has(s));
for (const s of suites) if (!SUITES.includes(s)) throw new Error(`--suites: no table "${s}" (tables: ${SUITES.join(', ')})`);
const partial = suites.length < SUITES.length;
const opsWanted = list(args.ops);

const quick = args.quick;
const started = Date.now();
const loadStart = os.loadavg()[0];
const log = (s) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);

// ---------------------------------------------------------------------------------------
// the backends this engine loads, and the peers
// ---------------------------------------------------------------------------------------

const defaultBackend = await S.init();
const backends = [], unavailable = [];
for (const b of ['wasm-relaxed', 'wasm-simd', 'wasm', 'js']) {
  try {
    await S.init({ backend: b });
    backends.push(b);
  } catch (e) {
    unavailable.push(`${b} (${e.message.replace(/^init: /, '')})`);
  }
}
await S.init({ backend: defaultBackend });

async function peer(path) {
  if (args['no-peers']) return null;
  try {
    const m = await import(path);
    return { module: m, info: await m.ready() };
  } catch (e) {
    log(`${path}: not available (${e.message})`);
    return null;
  }
}
const needsPeers = suites.some((s) => ['main', 'patterns', 'new'].includes(s));
const tf = needsPeers ? await peer('./peers/tfjs.js') : null;
const onnx = needsPeers ? await peer('./peers/onnx.js') : null;

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const versionOf = (name) => {
  try {
    return JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version;
  } catch {
    return null;
  }
};
let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { cwd: new URL('..', import.meta.url), stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  const dirty = execSync('git status --porcelain -- src assembly', { cwd: new URL('..', import.meta.url), stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  if (dirty) commit += ' + uncommitted changes in src/ or assembly/';
} catch {
  // not a git checkout
}

const machine = {
  cpu: os.cpus()[0]?.model?.trim() ?? 'unknown',
  cores: os.availableParallelism?.() ?? os.cpus().length,
  memory: os.totalmem(),
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  node: process.version,
  v8: process.versions.v8,
  surprisal: pkg.version,
  commit,
  defaultBackend,
  backends,
  unavailable,
  tfjs: tf ? `${tf.info.version} wasm (SIMD ${tf.info.simd ? 'on' : 'off'}, threads ${tf.info.threads ? 'on' : 'off'})` : null,
  onnx: onnx ? `${onnx.info.version} wasm EP (SIMD, 1 thread)` : null,
  tinybench: versionOf('tinybench'),
};

const ctx = {
  S,
  quick,
  timing: settings(quick),
  log,
  backends: { default: defaultBackend, all: backends },
  tf: tf?.module ?? null,
  onnx: onnx?.module ?? null,
  wants: (op) => !opsWanted || opsWanted.includes(op),
  sizes: quick ? [10, 10_000] : [10, 100, 1000, 10_000, 100_000, 1_000_000],
  batch: quick ? { rows: 16, cols: 1000 } : { rows: 1024, cols: 1000 },
  poolSizes: list(args['pool-sizes'])?.map(Number) ?? null,
  poolRows: list(args['pool-rows'])?.map(Number) ?? null,
};
for (const v of [...(ctx.poolSizes ?? []), ...(ctx.poolRows ?? [])]) if (!(Number.isInteger(v) && v > 0)) throw new Error('--pool-sizes, --pool-rows: positive integers');

log(`${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; surprisal backends ${backends.join(', ')} (default ${defaultBackend}); ` +
  `TF.js ${machine.tfjs ?? '—'}; ORT ${machine.onnx ?? '—'}; tables: ${suites.join(', ')}${quick ? ' (--quick)' : ''}`);

const tables = [];
for (const id of suites) {
  const t0 = Date.now(), load0 = os.loadavg()[0];
  let table;
  try {
    const suite = await import(`./suites/${id}.js`);
    table = await suite.run(ctx);
  } catch (e) {
    // one table failing does not lose the others: it says why instead
    log(`${id}: ${e.stack}`);
    table = { id, title: `${id} (failed)`, notes: [`**This table failed** (the bench went on): ${e.constructor.name}: ${e.message}`], sections: [], records: [] };
  }
  table.run = {
    date: new Date().toISOString().slice(0, 10), cpu: machine.cpu, cores: machine.cores, node: process.version, quick,
    seconds: Math.round((Date.now() - t0) / 1000), load: { start: load0, end: os.loadavg()[0] },
  };
  tables.push(table);
  log(`${id}: ${table.run.seconds} s`);
}

const outDir = args.out ?? (quick ? os.tmpdir() : new URL('.', import.meta.url).pathname);
const { files, md } = write(outDir, args.name, { ...machine, seconds: Math.round((Date.now() - started) / 1000), load: { start: loadStart, end: os.loadavg()[0] } },
  tables, { merge: partial && !quick });
process.stdout.write(`${md}\nchecksum ${checksum()}\n`);
log(`wrote ${files.join(', ')} in ${Math.round((Date.now() - started) / 1000)} s`);
process.exit(0);

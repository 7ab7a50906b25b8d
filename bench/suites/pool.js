// Table 7 (issue 24): the worker pool against one thread — softmax into out and the loss with
// its gradient at 1024 × 1000 and 4096 × 1000 float32, from ordinary arrays and from rows in
// pool.array (SharedArrayBuffers every thread reads in place), and the same while another
// process keeps a core busy (`node -e "for(;;){}"`, spawned here).  Many short interleaved
// rounds (this VM's speed drifts); a speed-up is the median of the per-round ratios.  Each row
// also checks that the pool's result equals the single-thread call's, bit for bit.  On a
// many-core machine: `npm run bench -- --pool --pool-sizes 2,4,8,16 --pool-rows
// 1024,4096,16384` (docs/pool.md); the copy bound is measured on every run.
import { spawn } from 'node:child_process';
import { compare } from '../harness.js';
import { labels, logits } from '../inputs.js';
import { fmtTime, fmtX } from '../report.js';

const COLS = 1000;
const ROTATE = 2;

const OPS = {
  'softmax (into out)': {
    call: (f, a) => { const o = { cols: COLS, out: a.out }; return () => f.softmax(a.x, o); },
    result: (a, r) => [r],
  },
  'softmaxCrossEntropy+grad': {
    call: (f, a) => { const o = { cols: COLS, grad: a.grad }; return () => f.softmaxCrossEntropy(a.x, a.y, o); },
    result: (a, r) => [[r], a.grad],
  },
};

/** Whether two results are equal bit for bit (NaNs equal). */
function same(a, b) {
  for (let k = 0; k < a.length; k++) {
    const x = a[k], y = b[k];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
  }
  return true;
}
const copyOf = (parts) => parts.map((p) => Float64Array.from(p));

/**
 * One thread's copy bandwidth in GB/s (`TypedArray#set` of `mb` MB, past the caches,
 * through the harness as every row): with ordinary arrays only the calling thread can read
 * them, so it copies every chunk in and every result back (8 bytes an element for these
 * ops), which bounds the pool's rate at bandwidth / 8 elements per ns whatever its size
 * (docs/pool.md).
 */
async function copyBandwidth(mb, timing) {
  const n = (mb << 20) / 4, a = new Float32Array(n).fill(1), b = new Float32Array(n);
  const cmp = await compare([{ id: 'copy', calls: [() => (b.set(a), b)] }], { ...timing, large: true });
  return (4 * n) / (cmp.ms('copy') * 1e6);
}

export async function run(ctx) {
  const { S } = ctx;
  const { createPool } = await import('../../dist/pool/node.js');
  const def = ctx.backends.default;
  await S.init({ backend: def });
  const timing = ctx.quick ? ctx.timing : { ...ctx.timing, rounds: 12, time: 60 };
  const shapes = ctx.poolRows ?? (ctx.quick ? [64, 256] : [1024, 4096]);
  const sizes = ctx.poolSizes ?? [undefined]; // undefined: createPool's default, the machine's cores
  const mb = ctx.quick ? 4 : 64, gbs = await copyBandwidth(mb, timing);
  const rows = [], records = [];
  let pool, described = '';
  const setsFor = (n, rowsN, shared) => Array.from({ length: ROTATE }, () => {
    const mk = (Type) => (shared ? pool.array(Type, n) : new Type(n));
    const a = { x: mk(Float32Array), out: mk(Float32Array), grad: mk(Float32Array), y: labels(rowsN, COLS) };
    a.x.set(logits(n, Float32Array));
    return a;
  });
  const runAll = async (data, busy) => {
    for (const { rows: r, plain, shared } of data) {
      for (const [name, op] of Object.entries(OPS)) {
        if (!ctx.wants(name.split(' ')[0])) continue;
        ctx.log(`pool: ${name} ${r}×${COLS}, size ${pool.size}${busy ? ', beside a busy process' : ''}`);
        // bit-for-bit check on the first set of each kind
        let equal = true;
        for (const sets of [plain, shared]) {
          const one = copyOf(op.result(sets[0], op.call(S, sets[0])()));
          const many = copyOf(op.result(sets[0], await op.call(pool, sets[0])()));
          equal &&= same(one, many);
        }
        // the pool's calls, counting those it ran on the calling thread (`pool.contended`)
        let calls = 0, alone = 0;
        const counted = (f) => () => {
          calls++;
          if (pool.contended) alone++;
          return f();
        };
        const cmp = await compare([
          { id: 'single', calls: plain.map((a) => op.call(S, a)) },
          { id: 'pool', calls: plain.map((a) => counted(op.call(pool, a))), async: true },
          { id: 'single, shared', calls: shared.map((a) => op.call(S, a)) },
          { id: 'pool, shared', calls: shared.map((a) => counted(op.call(pool, a))), async: true },
        ], { ...timing, large: true });
        // the copy bound: 8 bytes an element through the calling thread at its bandwidth
        const boundMs = (8 * r * COLS) / (gbs * 1e6);
        const rec = {
          op: name, shape: `${r}×${COLS}`, busy, size: pool.size, equal,
          singleMs: cmp.ms('single'), poolMs: cmp.ms('pool'), speedup: cmp.ratio('single', 'pool'), copyBoundMs: boundMs, ofBound: boundMs / cmp.ms('pool'),
          sharedSingleMs: cmp.ms('single, shared'), sharedPoolMs: cmp.ms('pool, shared'), sharedSpeedup: cmp.ratio('single, shared', 'pool, shared'),
          sharedOverPlain: cmp.ratio('single', 'pool, shared'), alone: alone / calls,
        };
        records.push(rec);
        rows.push([name, rec.shape, String(pool.size), busy ? 'busy' : 'idle', fmtTime(rec.singleMs), fmtTime(rec.poolMs), fmtX(rec.speedup), `${Math.round(100 * rec.ofBound)} %`,
          fmtTime(rec.sharedSingleMs), fmtTime(rec.sharedPoolMs), fmtX(rec.sharedSpeedup), fmtX(rec.sharedOverPlain), `${Math.round(100 * rec.alone)} %`, equal ? 'yes' : '**no**']);
      }
    }
  };
  for (const [i, size] of sizes.entries()) {
    pool = await createPool(size === undefined ? {} : { size });
    described ||= `${pool.shared ? 'the calling thread and size − 1 workers, shared memory, computing in place' : 'size workers, transfers'}; backend ${pool.backend}`;
    try {
      const data = shapes.map((r) => ({ rows: r, plain: setsFor(r * COLS, r, false), shared: setsFor(r * COLS, r, true) }));
      await runAll(data, false);
      if (i < sizes.length - 1) continue;
      // beside a busy process: the last size only
      const busy = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
      try {
        await new Promise((resolve) => setTimeout(resolve, 200));
        await runAll(data, true);
      } finally {
        busy.kill();
      }
    } finally {
      await pool.close();
    }
  }
  return {
    id: 'pool',
    title: 'Worker pool',
    notes: [
      `surprisal/pool (${described}; size: its threads, by default the machine's cores) against the same call on one thread, float32, ${timing.rounds} interleaved rounds; speed-up = the median of the per-round ratios. "ordinary arrays": your Float32Arrays (the pool copies rows in and results out); "pool.array rows": the same rows, out and grad in pool.array()s. "of the copy bound": with ordinary arrays the calling thread alone copies 8 bytes an element (rows in, results back); at its copy bandwidth, measured here at ${gbs.toFixed(1)} GB/s (\`TypedArray#set\` of ${mb} MB), no pool call can take less than n·8 bytes ÷ that, and this is that time ÷ the pool's. The last speed-up: the pool on pool.array rows against one thread on ordinary arrays (what moving your rows into pool.array gains). "busy": while \`node -e "for(;;){}"\` keeps a core busy. "Pool calls on the calling thread": the share of the pool's timed calls it ran on the calling thread alone, having measured that its threads got less than 1.2 cores between them (\`pool.contended\`; \`yieldWhenBusy\`). Issue 24's targets on 2 cores: ≥ 1.6× for the loss with grad at 4096 × 1000, ≥ 0.9× beside a busy process. "= one thread": the pool's result is the single call's bit for bit (out, loss, grad).`,
    ],
    sections: [{
      columns: ['op', 'shape', 'size', 'machine', 'one thread', 'pool', 'speed-up', 'of the copy bound', 'pool.array rows: one thread', 'pool', 'speed-up', '÷ one thread, ordinary arrays', 'pool calls on the calling thread', '= one thread'],
      align: ['l', 'l', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
      rows,
    }],
    records,
  };
}

// Table 6 (issue 27): size scaling — the slow part.  softmax into out, logSumExp, entropy
// (normalize: true) of one long vector, and softmaxCrossEntropy in rows of 1000, at 10⁶ … 3·10⁸
// float32 and 1.5·10⁸ float64: el/ns, and that ÷ el/ns at 10⁶ (issue 27's target: ≥ 0.8),
// each big size interleaved with the 10⁶ call; the result's error against a float64 naive
// loop; and the process's resident memory before, with the inputs, after the calls, and after
// the inputs are dropped and collected (issue 27: within 100 MB of before).
import { compare, gc, median } from '../harness.js';
import { fillUniform, labels } from '../inputs.js';
import { fmtErr, fmtMB, fmtN, fmtRate, fmtTime } from '../report.js';

const COLS = 1000;
const signedMB = (bytes) => {
  const mb = Math.round(bytes / 2 ** 20);
  return `${mb > 0 ? '+' : mb < 0 ? '−' : '±'}${Math.abs(mb)} MB`;
};

/** The ops of the table: the call, and its float64 naive check (the result's relative error). */
const OPS = {
  'softmax (into out)': {
    needs: 'softmax',
    call: (S, d) => () => S.softmax(d.x, { out: d.out }),
    check: (d) => {
      // a few thousand outputs against exp(x − lse) with lse in float64
      const lse = lseOf(d.x);
      let err = 0;
      for (let k = 0; k < 4096; k++) {
        const i = Math.floor(((k + 0.5) / 4096) * d.x.length);
        const want = Math.exp(d.x[i] - lse);
        err = Math.max(err, Math.abs(d.out[i] - want) / want);
      }
      return err;
    },
  },
  logSumExp: {
    needs: 'logSumExp',
    call: (S, d) => () => S.logSumExp(d.x),
    check: (d, r) => Math.abs(r - lseOf(d.x)) / Math.abs(lseOf(d.x)),
  },
  'softmaxCrossEntropy (rows of 1000)': {
    needs: 'softmaxCrossEntropy',
    call: (S, d) => { const o = { cols: COLS }; return () => S.softmaxCrossEntropy(d.x, d.y, o); },
    check: (d, r) => {
      let total = 0;
      for (let row = 0, o = 0; row < d.y.length; row++, o += COLS) {
        let m = -Infinity, s = 0;
        for (let i = o; i < o + COLS; i++) if (d.x[i] > m) m = d.x[i];
        for (let i = o; i < o + COLS; i++) s += Math.exp(d.x[i] - m);
        total += m + Math.log(s) - d.x[o + d.y[row]];
      }
      const want = total / d.y.length;
      return Math.abs(r - want) / want;
    },
  },
  'entropy (normalize: true)': {
    needs: 'entropy',
    positive: true,
    call: (S, d) => { const o = { normalize: true }; return () => S.entropy(d.x, o); },
    check: (d, r) => {
      let s = 0, t = 0;
      for (let i = 0; i < d.x.length; i++) s += d.x[i];
      for (let i = 0; i < d.x.length; i++) t += d.x[i] * Math.log(d.x[i]);
      const want = Math.log(s) - t / s;
      return Math.abs(r - want) / want;
    },
  },
};

const lseCache = new WeakMap();
function lseOf(x) {
  if (!lseCache.has(x)) {
    let m = -Infinity, s = 0;
    for (let i = 0; i < x.length; i++) if (x[i] > m) m = x[i];
    for (let i = 0; i < x.length; i++) s += Math.exp(x[i] - m);
    lseCache.set(x, m + Math.log(s));
  }
  return lseCache.get(x);
}

/** Resident memory after a collection; V8 frees array buffers' memory on a background thread, so twice, with pauses. */
async function rss() {
  for (let k = 0; k < 2; k++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  return process.memoryUsage().rss;
}

/** The inputs of one size, every page touched (an untouched new array is not yet resident). */
function inputs(n, Type) {
  const x = fillUniform(new Type(n), -4, 4);
  return { x, out: new Type(n).fill(1), y: labels(n / COLS, COLS) };
}

/** Every op at one size: the records, or null when the inputs cannot be allocated.  Fills mem.withInputs, mem.afterCalls. */
async function oneSize(ctx, ops, small, Type, n, timing, mem) {
  const { S } = ctx;
  const def = ctx.backends.default;
  const dtype = Type === Float32Array ? 'float32' : 'float64';
  let d;
  try {
    d = inputs(n, Type);
  } catch (e) {
    mem.error = e.message;
    return null;
  }
  mem.withInputs = await rss();
  const records = [];
  for (const [name, op] of ops) {
    // entropy: the same values moved onto [0.5, 8.5)
    if (op.positive) for (const t of [d.x, small.x]) for (let i = 0; i < t.length; i++) t[i] += 4.5;
    ctx.log(`scaling: ${dtype} ${fmtN(n)}: ${name}`);
    const rec = { op: name, dtype, n, base: small.x.length };
    try {
      const cmp = await compare([
        { id: 'base', calls: [op.call(S, small)], setup: () => S.init({ backend: def }) },
        { id: 'big', calls: [op.call(S, d)], setup: () => S.init({ backend: def }) },
      ], timing);
      rec.ms = cmp.ms('big');
      rec.elPerNs = n / (rec.ms * 1e6);
      rec.baseElPerNs = rec.base / (cmp.ms('base') * 1e6);
      rec.vsBase = cmp.ratio('base', 'big') * (n / rec.base);
      rec.relError = op.check(d, op.call(S, d)());
    } catch (e) {
      rec.error = `${e.constructor.name}: ${e.message}`;
    }
    if (op.positive) for (let i = 0; i < small.x.length; i++) small.x[i] -= 4.5;
    records.push(rec);
  }
  mem.afterCalls = await rss();
  // (used after the measurement, so that V8's liveness analysis cannot free the inputs before it)
  mem.touched = d.x[0] + d.out[n - 1] + d.y[0];
  return records;
}

export async function run(ctx) {
  const { S } = ctx;
  const def = ctx.backends.default;
  await S.init({ backend: def });
  const plan = ctx.quick
    ? [[Float32Array, [1e5, 1e6]], [Float64Array, [1e5, 1e6]]]
    : [[Float32Array, [1e6, 1e7, 1e8, 3e8]], [Float64Array, [1e6, 1.5e8]]];
  const timing = { ...ctx.timing, iterations: 1, time: 0, rounds: ctx.quick ? 1 : 3, large: true, warmupLarge: { time: 0, iterations: 1 } };
  const rows = [], memRows = [], records = [], memory = [], skipped = [];
  const ops = Object.entries(OPS).filter(([name, op]) => {
    if (typeof S[op.needs] === 'function') return ctx.wants(op.needs);
    skipped.push(`${name}: not exported`);
    return false;
  });
  for (const [Type, sizes] of plan) {
    const dtype = Type === Float32Array ? 'float32' : 'float64';
    const [base, ...big] = sizes;
    const small = inputs(base, Type);
    for (const n of big) {
      ctx.log(`scaling: ${dtype} ${fmtN(n)}: inputs`);
      const mem = { dtype, n, before: await rss() };
      // (in a function of its own: an async function's suspended frame can keep a dead
      // local alive, and the inputs must be collectable when it returns)
      const recs = await oneSize(ctx, ops, small, Type, n, timing, mem);
      mem.freed = await rss();
      memory.push(mem);
      if (!recs) {
        memRows.push([dtype, fmtN(n), fmtMB(mem.before), `the inputs could not be allocated: ${mem.error}`, '', '', '', '']);
        continue;
      }
      records.push(...recs);
      for (const rec of recs) {
        rows.push(rec.error
          ? [rec.op, dtype, fmtN(n), rec.error, '', '', '']
          : [rec.op, dtype, fmtN(n), fmtTime(rec.ms), fmtRate(rec.elPerNs), rec.vsBase.toFixed(2), fmtErr(rec.relError)]);
      }
      memRows.push([dtype, fmtN(n), fmtMB(mem.before), fmtMB(mem.withInputs), fmtMB(mem.afterCalls), fmtMB(mem.freed),
        signedMB(mem.afterCalls - mem.withInputs), signedMB(mem.freed - mem.before)]);
    }
  }
  return {
    id: 'scaling',
    title: 'Size scaling (the slow part)',
    notes: [
      `surprisal ${def} through the API on ordinary arrays: one input set per size (no rotation: the arrays are up to 2.4 GB), each big call interleaved in rounds with the same call at ${fmtN(plan[0][1][0])}; "÷ el/ns at ${fmtN(plan[0][1][0])}" = this size's el/ns ÷ that (issue 27's target: ≥ 0.8). Rel. error: against a float64 naive loop over the same array (softmax: 4096 outputs spread over it).`,
      `Resident memory (process RSS after a collection) before the size's inputs exist, with them (every page touched), after the calls, and after the inputs are dropped. "The calls added": after the calls − with inputs (the library's memory while the inputs live); "left behind": inputs dropped − before (issue 27: within 100 MB).`,
      ...(skipped.length ? [`Not timed: ${skipped.join('; ')}.`] : []),
    ],
    sections: [
      { heading: 'Speed per element', columns: ['op', 'dtype', 'n', 'median', 'el/ns', `÷ el/ns at ${fmtN(plan[0][1][0])}`, 'rel. error'], align: ['l', 'l', 'r', 'r', 'r', 'r', 'r'], rows },
      { heading: 'Memory', columns: ['dtype', 'n', 'RSS before', 'with inputs', 'after the calls', 'inputs dropped', 'the calls added', 'left behind'], align: ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'], rows: memRows },
    ],
    records: { speed: records, memory },
  };
}

// Table 2 (issue 25): the same ops on the inputs real models produce — masked rows (half
// −Infinity), wide logits (±200), one outlier a row (+1e4), constant rows (all 0) — and
// probabilities with 90 % zeros or subnormal entries, against random inputs of the same size:
// time and ratio to random per backend, TF.js (op only) beside.
import { compare, relError } from '../harness.js';
import { labels, logitPatterns, minNormal, probabilityPatterns } from '../inputs.js';
import { available, check, OPS, snapshot, toFloat64 } from '../ops.js';
import { fmtErr, fmtN, fmtTime, fmtX } from '../report.js';

const LOGIT_OPS = ['softmax', 'logSoftmax', 'logSumExp', 'softmaxEntropy', 'softmaxCrossEntropy'];
const PROB_OPS = ['entropy', 'klDivergence'];
const ROTATE = 2;

/** An input set of `op` on a pattern: the op's own set, its logits or probabilities replaced. */
function patternSet(name, pattern, n, cols, Type) {
  const op = OPS[name];
  const a = op.make(n, cols, Type);
  if (PROB_OPS.includes(name)) {
    a.p = probabilityPatterns[pattern](n, cols, Type);
    if (a.q && pattern === 'subnormal') a.q = probabilityPatterns.subnormal(n, cols, Type);
  } else {
    if (a.y === undefined && name === 'softmaxCrossEntropy') a.y = labels(n / cols, cols);
    a.x = logitPatterns[pattern](n, cols, Type, a.y ?? null);
  }
  return a;
}

export async function run(ctx) {
  const { S } = ctx;
  const n = ctx.quick ? 10_000 : 1_000_000, cols = 1000, Type = Float32Array;
  const floor = minNormal(Type);
  const backends = ['wasm-simd', 'wasm-relaxed', 'wasm'].filter((b) => ctx.backends.all.includes(b));
  const sections = [];
  const records = [];
  const skipped = [], failures = [];
  for (const [ops, patterns] of [[LOGIT_OPS, Object.keys(logitPatterns)], [PROB_OPS, Object.keys(probabilityPatterns)]]) {
    const rows = [];
    for (const name of ops) {
      if (!ctx.wants(name)) continue;
      const av = available(S, name);
      if (!av.ok) {
        skipped.push(`${name}: ${av.why}`);
        continue;
      }
      try {
        ctx.log(`patterns: ${name}`);
        const op = OPS[name];
        const tasks = [];
        const errors = {};
        const tfs = [];
        for (const pattern of patterns) {
          const sets = Array.from({ length: ROTATE }, () => patternSet(name, pattern, n, cols, Type));
          await S.init({ backend: 'js' });
          const a64 = toFloat64(sets[0]);
          const want = snapshot(check(op, a64, op.surprisal(S, a64, cols)()));
          for (const b of backends) {
            await S.init({ backend: b });
            const calls = sets.map((a) => op.surprisal(S, a, cols));
            const err = relError(snapshot(check(op, sets[0], calls[0]())), want, floor);
            errors[pattern] = Number.isNaN(err) || Number.isNaN(errors[pattern]) ? NaN : Math.max(errors[pattern] ?? 0, err);
            tasks.push({ id: `${b}|${pattern}`, calls, setup: () => S.init({ backend: b }) });
          }
          if (ctx.tf && op.tf) {
            const tfp = ctx.tf.prepare(op.tf.name, sets.map((a) => op.tf.inputs(a, cols)), [n / cols, cols]);
            tfs.push(tfp);
            errors[`tf|${pattern}`] = relError(tfp.read(0)[0], want, floor);
            tasks.push({ id: `tf|${pattern}`, calls: tfp.op });
          }
        }
        let cmp;
        try {
          cmp = await compare(tasks, { ...ctx.timing, large: true });
        } finally {
          for (const t of tfs) t.dispose();
          await S.init({ backend: ctx.backends.default });
        }
        for (const pattern of patterns) {
          const rec = { op: name, pattern, n, cols, dtype: 'float32', relError: errors[pattern], tfRelError: errors[`tf|${pattern}`] ?? null };
          const cells = [name + (op.map ? ' (into out)' : ''), pattern];
          for (const b of [...backends, ...(ctx.tf && op.tf ? ['tf'] : [])]) {
            const id = `${b}|${pattern}`;
            rec[b] = { ms: cmp.ms(id), xRandom: cmp.ratio(id, `${b}|random`) };
            cells.push(fmtTime(rec[b].ms), pattern === 'random' ? '1' : fmtX(rec[b].xRandom));
          }
          if (!(ctx.tf && op.tf)) cells.push('—', '—');
          cells.push(fmtErr(rec.relError), fmtErr(rec.tfRelError));
          rows.push(cells);
          records.push(rec);
        }
      } catch (e) {
        ctx.log(`patterns: ${name}: ${e.stack}`);
        failures.push(`${name}: ${e.constructor.name}: ${e.message}`);
      }
    }
    if (!rows.length) continue;
    const columns = ['op', ops === PROB_OPS ? 'probabilities' : 'logits'];
    for (const b of [...backends, 'tf']) columns.push(b === 'tf' ? 'TF.js op only' : b, '÷ random');
    columns.push('surprisal max rel. error', 'TF.js max rel. error');
    sections.push({
      heading: ops === PROB_OPS ? 'Probabilities' : 'Logits',
      columns,
      align: ['l', 'l', ...columns.slice(2).map(() => 'r')],
      rows,
    });
  }
  return {
    id: 'patterns',
    title: 'Input patterns',
    notes: [
      `${fmtN(n)} float32 elements in rows of ${cols}; each op's time on a pattern and that time ÷ its time on random input of the same size (the median of the per-round ratios), per backend; TF.js's op (no read-back) beside. Issue 25's target: ≤ 1.3× on wasm-simd and wasm-relaxed, ≤ 1.5× on wasm.`,
      `Logits: random uniform on [−4, 4); masked: random with each entry −Infinity with probability ½ (the label, or one entry a row, kept finite); wide: uniform on ±200; outlier: random with one entry a row at +1e4; constant: all 0. Probabilities (rows over their sum): random (exponential variates); sparse: 90 % zeros; subnormal: half the entries ~1e-39 before normalising (subnormal in float32; for klDivergence in p and q).`,
      `Max rel. error per output against the float64 reference (surprisal: the worst of its backends; NaN: a NaN result where the reference is a number). TF.js's softmaxEntropy and softmaxCrossEntropy are NaN on masked rows (0 × −∞ in their products: its composition, not a kernel of its own).`,
      ...(failures.length ? [`**Failed** (the bench went on): ${failures.join('; ')}.`] : []),
      ...(skipped.length ? [`Not timed (not in the built package): ${skipped.join('; ')}.`] : []),
    ],
    sections,
    records,
  };
}

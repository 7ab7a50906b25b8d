// Table 3 (issue 25): rows narrower than a vector.  The same 10⁶ float32 elements in rows of
// 2, 4, 10, 32 and 1000: elements per ns, and that ÷ the same function's at 1000 columns
// (target ≥ 0.5); the naive loop beside.
import { compare } from '../harness.js';
import { available, OPS } from '../ops.js';
import { fmtN, fmtRate, fmtTime, fmtX } from '../report.js';

const NARROW_OPS = ['softmax', 'logSoftmax', 'logSumExp', 'softmaxEntropy', 'softmaxEntropy+grad', 'softmaxKlDivergence',
  'softmaxCrossEntropy', 'softmaxCrossEntropy+grad'];
const F64_OPS = ['softmax', 'logSoftmax', 'logSumExp', 'softmaxEntropy', 'softmaxCrossEntropy'];
const WIDTHS = [2, 4, 10, 32, 1000];
const ROTATE = 2;

export async function run(ctx) {
  const { S } = ctx;
  // divisible by every width (lcm(32, 1000) = 4000)
  const n = ctx.quick ? 8000 : 1_000_000;
  const def = ctx.backends.default;
  const rows = [], records = [], skipped = [], failures = [];
  // a reduction over rows twice: allocating its results, and into a preallocated out; then
  // float64 rows (a number[] batch is one), the reductions into out only
  const runs = [
    ...NARROW_OPS.flatMap((name) => (OPS[name].perRow ? [[name, false, Float32Array], [name, true, Float32Array]] : [[name, false, Float32Array]])),
    ...F64_OPS.map((name) => [name, !!OPS[name].perRow, Float64Array]),
  ];
  for (const [name, into, Type] of runs) {
    if (!ctx.wants(name)) continue;
    const av = available(S, name);
    if (!av.ok) {
      if (!into) skipped.push(`${name}: ${av.why}`);
      continue;
    }
    try {
      const f64 = Type === Float64Array;
      ctx.log(`narrow: ${name}${into ? ' (into out)' : ''}${f64 ? ', float64' : ''}`);
      const op = OPS[name];
      const tasks = [];
      await S.init({ backend: def });
      for (const cols of WIDTHS) {
        const sets = Array.from({ length: ROTATE }, () => ({ ...op.make(n, cols, Type), ...(into ? { res: new Float64Array(n / cols) } : {}) }));
        tasks.push({ id: `s|${cols}`, calls: sets.map((a) => op.surprisal(S, a, cols)), setup: () => S.init({ backend: def }) });
        tasks.push({ id: `n|${cols}`, calls: sets.map((a) => op.naive(a, cols)) });
      }
      const cmp = await compare(tasks, { ...ctx.timing, large: true });
      for (const cols of WIDTHS) {
        const rec = {
          op: name, into, cols, n, dtype: f64 ? 'float64' : 'float32', backend: def,
          ms: cmp.ms(`s|${cols}`), elPerNs: n / (cmp.ms(`s|${cols}`) * 1e6), vsWide: cmp.ratio('s|1000', `s|${cols}`),
          naiveMs: cmp.ms(`n|${cols}`), naiveElPerNs: n / (cmp.ms(`n|${cols}`) * 1e6), xNaive: cmp.ratio(`n|${cols}`, `s|${cols}`),
        };
        records.push(rec);
        rows.push([name + (op.map || into ? ' (into out)' : '') + (f64 ? ', float64' : ''), String(cols), fmtTime(rec.ms), fmtRate(rec.elPerNs), cols === 1000 ? '1' : rec.vsWide.toFixed(2),
          fmtRate(rec.naiveElPerNs), fmtX(rec.xNaive)]);
      }
    } catch (e) {
      ctx.log(`narrow: ${name}: ${e.stack}`);
      failures.push(`${name}: ${e.constructor.name}: ${e.message}`);
    }
  }
  return {
    id: 'narrow',
    title: 'Narrow rows',
    notes: [
      `${fmtN(n)} float32 elements in rows of \`cols\`, surprisal ${def} through the API (maps into out, gradients into grad; a reduction's per-row results allocated, and again into a preallocated \`out\` on both sides); then float64 rows (a \`number[]\` batch is one), reductions into \`out\`. "÷ cols = 1000": this width's el/ns ÷ the same function's at 1000 columns (issue 25's target: ≥ 0.5). "× naive": the naive loop's time ÷ surprisal's at the same width.`,
      ...(failures.length ? [`**Failed** (the bench went on): ${failures.join('; ')}.`] : []),
      ...(skipped.length ? [`Not timed: ${skipped.join('; ')}.`] : []),
    ],
    sections: [{
      columns: ['op', 'cols', 'median', 'el/ns', '÷ cols = 1000', 'naive el/ns', '× naive'],
      align: ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
      rows,
    }],
    records,
  };
}

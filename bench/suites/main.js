// Table 1: every op at n = 10 … 10⁶ and a 1024 × 1000 batch, float32 and float64, one row
// per implementation: the naive JS loop, surprisal through its API on ordinary arrays (the
// default backend), its allocating call (maps), zero-copy (WasmArrays in and out), one row
// per other backend, TF.js op only and with read-back, onnxruntime-web.
import { compare, relError } from '../harness.js';
import { minNormal } from '../inputs.js';
import { available, check, OPS, snapshot, toFloat64, toWasm } from '../ops.js';
import { fmtErr, fmtN, fmtRate, fmtTime, fmtX } from '../report.js';

export const MAIN_OPS = ['entropy', 'crossEntropy', 'klDivergence', 'jsDivergence', 'logSumExp', 'softmax', 'logSoftmax',
  'softmaxEntropy', 'softmaxEntropy+grad', 'softmaxKlDivergence', 'softmaxKlDivergence+gradQ', 'softmaxCrossEntropy', 'softmaxCrossEntropy+grad'];

const ROTATE = 3;
const dtypeOf = (Type) => (Type === Float32Array ? 'float32' : 'float64');

/**
 * Times one op on one shape on every side.  spec: { n, cols, Type, shape (label or null) }.
 * Returns the records, one per implementation.
 */
export async function measureGroup(ctx, name, { n, cols, Type, shape, rotate = ROTATE }) {
  const { S } = ctx;
  const op = OPS[name];
  const f32 = Type === Float32Array;
  const floor = minNormal(Type);
  const sets = Array.from({ length: rotate }, () => op.make(n, cols, Type));
  // the reference: surprisal's js backend on float64 copies of the first set
  await S.init({ backend: 'js' });
  const a64 = toFloat64(sets[0]);
  const want = snapshot(check(op, a64, op.surprisal(S, a64, cols)()));

  const tasks = [];
  const meta = [];
  // (a side whose first call throws gets a row saying so, and is not timed)
  const add = async (id, label, calls, { setup, async: isAsync, error } = {}) => {
    await setup?.();
    let err;
    try {
      err = error ? await error() : relError(snapshot(check(op, sets[0], calls[0]())), want, floor, op.grad);
    } catch (e) {
      ctx.log(`${name} ${shape ?? n} ${label}: ${e.stack}`);
      meta.push({ id, label, failed: `${e.constructor.name}: ${e.message}` });
      return;
    }
    tasks.push({ id, calls, setup, async: isAsync });
    meta.push({ id, label, relError: err });
  };
  const def = ctx.backends.default;
  const use = (b) => () => S.init({ backend: b });
  const held = [];
  let tfp = null, ortp = null;
  try {
    await add('naive', 'naive JS', sets.map((a) => op.naive(a, cols)));
    await add('surprisal', `surprisal ${def} (default)`, sets.map((a) => op.surprisal(S, a, cols)), { setup: use(def) });
    if (op.alloc) {
      await add('alloc', `surprisal ${def}, allocating (no out)`, sets.map((a) => op.alloc(S, a, cols)), { setup: use(def) });
    }
    await S.init({ backend: def });
    const wsets = sets.map((a) => toWasm(S, a, held));
    await add('zerocopy', `surprisal ${def} zero-copy`, wsets.map((a) => op.surprisal(S, a, cols)), {
      setup: use(def),
      error: () => relError(snapshot(check(op, wsets[0], op.surprisal(S, wsets[0], cols)())), want, floor, op.grad),
    });
    for (const b of ctx.backends.all) {
      if (b === def) continue;
      await add(b, `surprisal ${b}`, sets.map((a) => op.surprisal(S, a, cols)), { setup: use(b) });
    }
    const tensorShape = cols === undefined ? [n] : [n / cols, cols];
    if (f32 && op.tf && ctx.tf) {
      tfp = ctx.tf.prepare(op.tf.name, sets.map((a) => op.tf.inputs(a, cols)), tensorShape, { grad: !!op.tf.grad });
      const tfError = () => {
        const out = tfp.read(0);
        return relError(op.grad ? out[out.length - 1] : out[0], want, floor, op.grad);
      };
      await add('tf', 'TF.js wasm, op only', tfp.op, { error: tfError });
      await add('tf-read', 'TF.js wasm, with read-back', tfp.readBack, { error: tfError });
    }
    if (f32 && op.onnx && ctx.onnx) {
      ortp = await ctx.onnx.prepare(op.onnx.name, sets.map((a) => op.onnx.inputs(a, cols)), tensorShape);
      await add('ort', 'onnxruntime-web wasm', ortp.op, { async: true, error: async () => relError(await ortp.read(0), want, floor, op.grad) });
    }
    const cmp = await compare(tasks, { ...ctx.timing, large: n >= 1e5 });
    return meta.map(({ id, label, relError: err, failed }) => (failed
      ? { op: name, dtype: dtypeOf(Type), n, cols: cols ?? null, shape: shape ?? null, impl: id, label, failed }
      : {
        op: name, dtype: dtypeOf(Type), n, cols: cols ?? null, shape: shape ?? null, impl: id, label,
        ms: cmp.ms(id), elPerNs: n / (cmp.ms(id) * 1e6),
        xNaive: cmp.has('naive') ? cmp.ratio('naive', id) : null, xTf: cmp.has('tf') ? cmp.ratio('tf', id) : null, relError: err,
      }));
  } finally {
    for (const w of held) w.free();
    tfp?.dispose();
    await ortp?.dispose();
    await S.init({ backend: def });
  }
}

/** measureGroup, or (when even the reference call throws) one row saying so: the run goes on. */
export async function measureGroupOrFailure(ctx, name, spec) {
  try {
    return await measureGroup(ctx, name, spec);
  } catch (e) {
    ctx.log(`${name} ${spec.shape ?? spec.n}: ${e.stack}`);
    return [{ op: name, dtype: dtypeOf(spec.Type), n: spec.n, shape: spec.shape ?? null, impl: 'surprisal', label: 'every side', failed: `${e.constructor.name}: ${e.message}` }];
  }
}

/** The shapes of the main table: one vector of each size, and the batch. */
export function shapes(ctx, name) {
  const op = OPS[name];
  const list = ctx.sizes.map((n) => ({ n, cols: op.cols?.(n), shape: null }));
  const { rows, cols } = ctx.batch;
  if (!op.elementwise) list.push({ n: rows * cols, cols, shape: `${rows}×${cols}` });
  return list;
}

export async function run(ctx) {
  const records = [];
  const skipped = [];
  for (const Type of [Float32Array, Float64Array]) {
    for (const name of MAIN_OPS) {
      if (!ctx.wants(name)) continue;
      const av = available(ctx.S, name);
      if (!av.ok) {
        if (Type === Float32Array) skipped.push(`${name}: ${av.why}`);
        continue;
      }
      for (const spec of shapes(ctx, name)) {
        ctx.log(`main: ${name} ${dtypeOf(Type)} ${spec.shape ?? spec.n}`);
        records.push(...(await measureGroupOrFailure(ctx, name, { ...spec, Type })));
      }
    }
  }
  return table(ctx, records, skipped);
}

/** The summary sections: per op, the largest vector and the batch side by side (float32), and float64 against naive. */
function summary(records) {
  const sections = [];
  const biggest = Math.max(...records.filter((r) => !r.shape).map((r) => r.n));
  const at = (dtype, pick) => {
    const groups = new Map();
    for (const r of records) {
      if (r.dtype !== dtype || !pick(r)) continue;
      const key = `${r.op}|${r.shape ?? r.n}`;
      if (!groups.has(key)) groups.set(key, {});
      groups.get(key)[r.impl] = r;
    }
    return [...groups.values()];
  };
  const t = (g, id) => (g[id] ? (g[id].failed ? 'fails' : fmtTime(g[id].ms)) : '—');
  const label = (s) => `${s.op}${OPS[s.op]?.map ? ' (into out)' : ''}${s.shape ? ` ${s.shape}` : ''}`;
  for (const [title, pick] of [[`n = ${fmtN(biggest)}`, (r) => !r.shape && r.n === biggest], ['the batch', (r) => !!r.shape]]) {
    const groups = at('float32', pick);
    if (!groups.length) continue;
    sections.push({
      heading: `Summary: ${title}, float32`,
      columns: ['op', 'naive JS', 'surprisal', 'zero-copy', 'TF.js op only', 'TF.js read-back', 'onnxruntime-web', 'surprisal × naive', 'surprisal × TF.js op', 'zero-copy el/ns', 'surprisal error', 'TF.js error'],
      align: ['l', ...Array(11).fill('r')],
      rows: groups.filter((g) => g.surprisal && !g.surprisal.failed).map((g) => {
        const s = g.surprisal;
        return [label(s), t(g, 'naive'), t(g, 'surprisal'), t(g, 'zerocopy'), t(g, 'tf'), t(g, 'tf-read'), t(g, 'ort'), fmtX(s.xNaive), s.xTf == null ? '—' : fmtX(s.xTf),
          g.zerocopy ? fmtRate(g.zerocopy.elPerNs) : '—', fmtErr(s.relError), g.tf ? fmtErr(g.tf.relError) : '—'];
      }),
    });
  }
  const f64 = at('float64', (r) => !r.shape && r.n === biggest);
  if (f64.length) {
    sections.push({
      heading: `Summary: n = ${fmtN(biggest)}, float64`,
      columns: ['op', 'naive JS', 'surprisal', 'zero-copy', 'surprisal × naive', 'zero-copy el/ns', 'surprisal error'],
      align: ['l', ...Array(6).fill('r')],
      rows: f64.filter((g) => g.surprisal && !g.surprisal.failed).map((g) => [label(g.surprisal), t(g, 'naive'), t(g, 'surprisal'), t(g, 'zerocopy'), fmtX(g.surprisal.xNaive), g.zerocopy ? fmtRate(g.zerocopy.elPerNs) : '—', fmtErr(g.surprisal.relError)]),
    });
  }
  return sections;
}

export function table(ctx, records, skipped = [], { withSummary = true } = {}) {
  const columns = ['n', 'implementation', 'median', 'el/ns', '× naive', '× TF.js op', 'max rel. error'];
  const sections = withSummary && records.length ? summary(records) : [];
  const groups = new Map();
  for (const r of records) {
    const key = `${r.op}|${r.dtype}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  for (const [key, rs] of groups) {
    const [op, dtype] = key.split('|');
    sections.push({
      heading: `${op}${OPS[op]?.map ? ' (into out)' : ''}, ${dtype}: every size and implementation`,
      columns,
      align: ['r', 'l', 'r', 'r', 'r', 'r', 'r'],
      rows: rs.map((r) => (r.failed
        ? [r.shape ?? String(r.n), r.label, `**fails**: ${r.failed}`, '', '', '', '']
        : [r.shape ?? String(r.n), r.label, fmtTime(r.ms), fmtRate(r.elPerNs), fmtX(r.xNaive), r.xTf == null ? '—' : fmtX(r.xTf), fmtErr(r.relError)])),
    });
  }
  return {
    id: 'main',
    title: 'Main comparison',
    notes: [
      `Median time per call; el/ns = elements (of one input) per nanosecond; "× naive" and "× TF.js op" = that peer's time ÷ this row's (above 1: this row is faster), the median of the per-round ratios.`,
      `Maps (softmax, logSoftmax) write into a preallocated \`out\` on the naive and surprisal rows; **TF.js and onnxruntime-web cannot: their time includes allocating their output**. The "allocating" row is surprisal's call without \`out\`. Gradient rows (+grad, +gradQ) fill a preallocated \`grad\` in the same pass; TF.js's gradient is \`tf.valueAndGrad\` of its expression.`,
      `"TF.js wasm, op only": resident input tensors, the op, the result disposed (no read-back; the wasm backend computes when called). "with read-back": plus \`dataSync()\`. onnxruntime-web (wasm EP, one thread): resident ort.Tensors, but every run copies its inputs into its heap and its output out.`,
      `Max rel. error: the largest |result − reference| ÷ max(|reference|, smallest normal) over the outputs (outputs below the normal range in both not counted); for gradient rows normwise over the gradient (the largest |error| ÷ the largest |reference| entry); the reference is surprisal's js backend on float64 copies of the same inputs.`,
      `Vectors are one row (softmaxCrossEntropy: rows of min(n, 1000)); the batch is ${ctx.batch.rows} rows of ${ctx.batch.cols}. Inputs: logits uniform on [−4, 4); probabilities rows of exponential variates over their sum. surprisal's entropy/crossEntropy/… validate their input (the default).`,
      ...(skipped.length ? [`Not in the built package (or failing a probe call), so not timed: ${skipped.join('; ')}.`] : []),
    ],
    sections,
    records,
  };
}

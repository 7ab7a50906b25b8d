// Table 5 (issues 21 and 22): the 0.2 functions, each where the built package exports it —
// the sigmoid losses (and their gradients) at 1024 × 1000 against the naive loop, TF.js
// (tf.losses.sigmoidCrossEntropy; the focal loss composed; gradients by tf.valueAndGrad)
// and onnxruntime-web; byteEntropy of 1 MiB; weighted and signed log-sum-exp, mutual
// information and conditional entropy at 10⁶.  Rows as in the main table.
import { available } from '../ops.js';
import { measureGroupOrFailure, table } from './main.js';

export async function run(ctx) {
  const { rows, cols } = ctx.quick ? { rows: 16, cols: 1000 } : { rows: 1024, cols: 1000 };
  const batch = { n: rows * cols, cols: undefined, shape: `${rows}×${cols}` };
  const million = ctx.quick ? 10_000 : 1_000_000;
  const mib = ctx.quick ? 16 * 1024 : 2 ** 20;
  const squareCols = ctx.quick ? 100 : 1000;
  const plan = [
    ['sigmoidCrossEntropy', [Float32Array], batch],
    ['sigmoidCrossEntropy+grad', [Float32Array], batch],
    ['sigmoidFocalLoss', [Float32Array], batch],
    ['sigmoidFocalLoss+grad', [Float32Array], batch],
    ['byteEntropy', [Uint8Array], { n: mib, cols: undefined, shape: ctx.quick ? '16 KiB' : '1 MiB' }],
    ['logSumExp weighted', [Float32Array, Float64Array], { n: million, cols: undefined, shape: null }],
    ['signedLogSumExp', [Float32Array, Float64Array], { n: million, cols: undefined, shape: null }],
    ['mutualInformation', [Float32Array, Float64Array], { n: million, cols: squareCols, shape: `${million / squareCols}×${squareCols}` }],
    ['conditionalEntropy', [Float32Array, Float64Array], { n: million, cols: squareCols, shape: `${million / squareCols}×${squareCols}` }],
  ];
  const records = [], skipped = [];
  for (const [name, types, spec] of plan) {
    if (!ctx.wants(name)) continue;
    const av = available(ctx.S, name);
    if (!av.ok) {
      skipped.push(`${name}: ${av.why}`);
      continue;
    }
    for (const Type of types) {
      ctx.log(`new: ${name} ${Type.name} ${spec.shape ?? spec.n}`);
      // byteEntropy: its input is bytes whatever Type says (a float type keeps measureGroup's float paths quiet)
      const rs = await measureGroupOrFailure(ctx, name, { ...spec, Type: Type === Uint8Array ? Float64Array : Type });
      if (Type === Uint8Array) for (const r of rs) r.dtype = 'uint8';
      records.push(...rs);
    }
  }
  const t = table(ctx, records, skipped, { withSummary: false });
  return {
    ...t,
    id: 'new',
    title: 'New functions (0.2)',
    notes: [
      `As the main table. The sigmoid losses: ${rows} × ${cols} float32 logits, targets in {0, 1} (a quarter 1), mean over elements; the focal loss with α = 0.25, γ = 2 (torchvision's), TF.js's composed from its ops; gradients into a preallocated grad, TF.js's by tf.valueAndGrad. byteEntropy: el/ns = bytes/ns (issue 22's target: ≥ 1), bits per byte of a skewed byte stream. Weighted log-sum-exp: weights uniform on [0, 1) per element (TF.js: logSumExp(x + log w)); signed: weights on [−1, 1). mutualInformation/conditionalEntropy: a ${million / squareCols} × ${squareCols} probability table.`,
      ...t.notes.filter((n) => n.startsWith('Max rel. error') || n.startsWith('Not in')),
    ],
  };
}

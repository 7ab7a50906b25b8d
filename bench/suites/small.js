// Table 4 (issue 25): small calls.  Every function at n = 4, 10, 16, 32 on number[],
// Float32Array and Float64Array against the naive loop on the same input: nanoseconds per
// call.  Maps write into out (a Float64Array for number[] input) unless the row says
// "allocating" (then both sides allocate their result).
//
// Each naive task calls a copy of peers/naive.js of its own (a module imported under its
// own URL): the loop one writes is compiled for the one call it makes, as a user's is.
// Shared, its helpers (a row function taken as an argument, the maximum's loop) gathered
// V8 feedback from every op, size and array type before them, and the same cell of two
// runs differed by up to 2.5×.
import { compare } from '../harness.js';
import { available, OPS, toNumbers } from '../ops.js';
import { fmtNs, fmtX } from '../report.js';

const SIZES = [4, 10, 16, 32];
const ROTATE = 3;
let copies = 0;
const TYPES = [['number[]', Float64Array, toNumbers], ['Float32Array', Float32Array, null], ['Float64Array', Float64Array, null]];

export async function run(ctx) {
  const { S } = ctx;
  const def = ctx.backends.default;
  await S.init({ backend: def });
  const rows = [], records = [], skipped = [], failures = [];
  for (const name of Object.keys(OPS)) {
    if (!ctx.wants(name)) continue;
    const av = available(S, name);
    if (!av.ok) {
      skipped.push(`${name}: ${av.why}`);
      continue;
    }
    const op = OPS[name];
    ctx.log(`small: ${name}`);
    const types = op.bytes ? [['Uint8Array', null, null]] : TYPES;
    try {
      for (const n of SIZES) {
        const cols = op.cols?.(n);
        const tasks = [];
        for (const [label, Type, convert] of types) {
          const sets = Array.from({ length: ROTATE }, () => {
            const a = op.make(n, cols, Type);
            return convert ? convert(a) : a;
          });
          tasks.push({ id: `s|${label}`, calls: sets.map((a) => op.surprisal(S, a, cols)), setup: () => S.init({ backend: def }) });
          const P = await import(`../peers/naive.js?task=${++copies}`);
          tasks.push({ id: `n|${label}`, calls: sets.map((a) => op.naive(a, cols, P)) });
        }
        const cmp = await compare(tasks, ctx.timing);
        const cells = [name, String(n)];
        for (const [label] of TYPES) {
          const key = op.bytes ? (label === 'number[]' ? 'Uint8Array' : null) : label;
          if (!key) {
            cells.push('—', '—', '—');
            continue;
          }
          const rec = { op: name, n, input: key, ms: cmp.ms(`s|${key}`), naiveMs: cmp.ms(`n|${key}`), xNaive: cmp.ratio(`n|${key}`, `s|${key}`) };
          records.push(rec);
          cells.push(fmtNs(rec.ms), fmtNs(rec.naiveMs), fmtX(rec.xNaive));
        }
        rows.push(cells);
      }
    } catch (e) {
      ctx.log(`small: ${name}: ${e.stack}`);
      failures.push(`${name}: ${e.constructor.name}: ${e.message}`);
    }
  }
  return {
    id: 'small',
    title: 'Small calls',
    notes: [
      `Nanoseconds per call (median), surprisal ${def} through the API and the naive loop on the same input; "× naive" = the naive loop's time ÷ surprisal's (issue 25's target: ≥ 1, no slower than the loop). Maps into out (number[] input: a Float64Array out) unless "allocating". byteEntropy takes a Uint8Array (in the first columns). Vectors are one row; softmaxCrossEntropy one row of n classes; mutualInformation/conditionalEntropy a near-square table.`,
      ...(failures.length ? [`**Failed** (the bench went on): ${failures.join('; ')}.`] : []),
      ...(skipped.length ? [`Not timed: ${skipped.join('; ')}.`] : []),
    ],
    sections: [{
      columns: ['function', 'n', 'number[]: surprisal ns', 'naive ns', '× naive', 'Float32Array: surprisal ns', 'naive ns', '× naive', 'Float64Array: surprisal ns', 'naive ns', '× naive'],
      align: ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      rows,
    }],
    records,
  };
}

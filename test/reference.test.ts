// Every function against values computed independently in 50-digit mpmath by
// test/fixtures/make-fixtures.py (inputs are exact binary values; float32 inputs are
// judged against the exact result of their float32 values).  Results whose exact value is
// below the normal range of their type (float32 softmax entries under 1.2e-38) need only
// stay below it: the SPEC's bounds apply to normal results (helpers.ts, MIN_NORMAL).
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import * as surprisal from '../src/index.js';
import { belowNormal, expectAllClose, expectClose, onEachBackend } from './helpers.js';

interface Fixture {
  vectors: Record<string, { dtype: 'f32' | 'f64' | 'i32'; values: (number | string)[] }>;
  cases: { fn: string; args: string[]; options?: Record<string, unknown>; expected: number | string | (number | string)[]; mag: number | string | (number | string)[]; grad?: (number | string)[] }[];
}

const fixture: Fixture = JSON.parse(readFileSync(new URL('./fixtures/reference.json', import.meta.url), 'utf8'));
const value = (v: number | string): number => (typeof v === 'number' ? v : Number(v));
const numbers = (v: unknown): number[] => (Array.isArray(v) ? v.map(value) : [value(v as number | string)]);

function materialise(name: string, plain: boolean): ArrayLike<number> {
  const v = fixture.vectors[name];
  const values = v.values.map(value);
  if (v.dtype === 'f32') return Float32Array.from(values);
  if (v.dtype === 'i32') return plain ? values : Int32Array.from(values);
  return plain ? values : Float64Array.from(values);
}

onEachBackend('reference values (mpmath)', () => {
  for (const plain of [false, true]) {
    for (const [index, c] of fixture.cases.entries()) {
      const dtype = c.args.some((a) => fixture.vectors[a].dtype === 'f32') ? 'f32' : 'f64';
      if (plain && dtype === 'f32') continue;
      const title = `#${index} ${c.fn}(${c.args.join(', ')}${c.options ? `, ${JSON.stringify(c.options)}` : ''})${plain ? ' as number[]' : ''}`;
      it(title, () => {
        const args = c.args.map((a) => materialise(a, plain));
        const options: Record<string, unknown> = { ...c.options };
        if (typeof options.weights === 'string') options.weights = materialise(options.weights, plain);
        const n = args[0].length;
        let grad: Float32Array | Float64Array | undefined;
        if (c.grad) options.grad = grad = dtype === 'f32' ? new Float32Array(n) : new Float64Array(n);
        const fn = (surprisal as unknown as Record<string, (...a: unknown[]) => number | ArrayLike<number>>)[c.fn];
        const got = fn(...args, ...(c.fn === 'softmaxCrossEntropy' || c.options ? [options] : []));
        const want = numbers(c.expected);
        const mag = numbers(c.mag);
        if (typeof got === 'number') {
          if (!belowNormal(got, want[0], dtype)) expectClose(got, want[0], dtype, mag[0], title);
        } else {
          expect(got.length, `${title} length`).toBe(want.length);
          const normal = want.map((w, i) => !belowNormal(got[i], w, dtype));
          expectAllClose(Array.from(got).filter((_, i) => normal[i]), want.filter((_, i) => normal[i]), dtype, mag.filter((_, i) => normal[i]), title);
        }
        if (grad) {
          const g = c.grad!.map(value);
          const scale = Math.max(...g.map(Math.abs));
          expectAllClose(grad, g, dtype, g.map(() => scale), `${title} grad`);
        }
      });
    }
  }
});

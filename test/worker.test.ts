// The built package inside Node worker_threads: every backend loads there, and many
// workers at once give the main thread's answers.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import * as surprisal from '../dist/index.js';
import { randomDistribution, randomLogits, rng } from './helpers.js';

const random = rng(99);
const p = randomDistribution(1000, random, Float64Array);
const q = randomDistribution(1000, random, Float64Array);
const cols = 100;
const logits = randomLogits(64 * cols, random, Float32Array);
const labels = Int32Array.from({ length: 64 }, (_, i) => (i * 7) % cols);

function run(which: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./workers/compute.mjs', import.meta.url), { workerData: { which, p, q, logits, labels, cols } });
    w.once('message', (m) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

describe('worker_threads', () => {
  for (const which of ['wasm-simd', 'wasm', 'js'] as const) {
    it(`${which}: same results as the main thread`, async () => {
      await surprisal.init({ backend: which });
      const grad = new Float32Array(logits.length);
      const want = {
        backend: which,
        entropy: surprisal.entropy(p, { base: 2 }),
        kl: surprisal.klDivergence(p, q),
        lse: surprisal.logSumExp(logits, { cols }),
        softmax: surprisal.softmax(logits, { cols }),
        loss: surprisal.softmaxCrossEntropy(logits, labels, { cols, grad }),
        grad,
      };
      expect(await run(which)).toEqual(want);
    });
  }

  it('eight workers at once', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => run(['wasm-simd', 'wasm', 'js'][i % 3])));
    for (const r of results) expect(Math.abs((r.entropy as number) - (results[0].entropy as number))).toBeLessThan(1e-13);
  });
});

// The built package inside Node worker_threads: every backend this engine supports loads
// there, and workers — one at a time, and many at once — give the main thread's answers
// bit for bit.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import * as surprisal from '../dist/index.js';
import { supported } from '../dist/backend.js';
import { randomDistribution, randomLogits, rng } from './helpers.js';

const BACKENDS = [...supported(), 'js'] as const;

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

/** The main thread's results on backend `which` (what compute.mjs computes). */
async function mainThread(which: string): Promise<Record<string, unknown>> {
  await surprisal.init({ backend: which as (typeof BACKENDS)[number] });
  const grad = new Float32Array(logits.length);
  return {
    backend: which,
    entropy: surprisal.entropy(p, { base: 2 }),
    kl: surprisal.klDivergence(p, q),
    lse: surprisal.logSumExp(logits, { cols }),
    softmax: surprisal.softmax(logits, { cols }),
    loss: surprisal.softmaxCrossEntropy(logits, labels, { cols, grad }),
    grad,
  };
}

describe('worker_threads', () => {
  for (const which of BACKENDS) {
    it(`${which}: same results as the main thread`, async () => {
      const want = await mainThread(which);
      expect(await run(which)).toEqual(want);
    });
  }

  it('eight workers at once, every backend: each gives the main thread\'s results', async () => {
    const want: Record<string, Record<string, unknown>> = {};
    for (const b of BACKENDS) want[b] = await mainThread(b);
    const which = Array.from({ length: 8 }, (_, i) => BACKENDS[i % BACKENDS.length]);
    const results = await Promise.all(which.map(run));
    results.forEach((r, i) => expect(r, `worker ${i} (${which[i]})`).toEqual(want[which[i]]));
    for (const r of results) expect(Math.abs((r.entropy as number) - (results[0].entropy as number))).toBeLessThan(1e-13);
  });
});

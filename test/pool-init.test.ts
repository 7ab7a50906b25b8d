// A pool created before init(): it initialises the calling thread with its own backend, so
// its calls reach the workers (the calling thread's JS twins would otherwise keep every call,
// to stay bit for bit with the one-thread functions), and its values are those functions'.
// Its own file: the module state must be one on which init() has never run.
import { afterAll, expect, it } from 'vitest';
import * as S from '../dist/index.js';
import { createPool, type Pool } from '../dist/pool/node.js';
import { randomLogits, rng, sameBits } from './helpers.js';

const pools: Pool[] = [];
afterAll(async () => {
  for (const p of pools) await p.close();
});

it('createPool() without init(), twice at once: this thread gets the pool backend, and each pool equals the single call bit for bit', async () => {
  expect(S.backend()).toBe('js');
  // the second waits for the first's init() rather than seeing it begun and not done
  pools.push(...(await Promise.all([createPool({ size: 2 }), createPool({ size: 2, shared: false })])));
  expect(S.backend()).toBe(S.supported()[0]);
  const cols = 1000, x = randomLogits(300 * cols, rng(7), Float32Array);
  const theirs = new Float32Array(x.length);
  S.softmax(x, { cols, out: theirs });
  for (const pool of pools) {
    expect(pool.backend).toBe(S.backend());
    const mine = new Float32Array(x.length);
    await pool.softmax(x, { cols, out: mine });
    expect(sameBits(mine, theirs)).toBe(true);
    expect(await pool.logSumExp(x, { cols })).toEqual(S.logSumExp(x, { cols }));
  }
});

it('createPool with an unknown backend is a RangeError that names it; null for an option is a TypeError, not its default', async () => {
  await expect(createPool({ backend: 'nope' as never })).rejects.toThrow(RangeError);
  await expect(createPool({ backend: 'nope' as never })).rejects.toThrow(/^createPool: backend must be .*"nope"/);
  for (const key of ['size', 'backend', 'minElements', 'shared', 'yieldWhenBusy']) {
    await expect(createPool({ [key]: null } as never)).rejects.toThrow(new RegExp(`^createPool: ${key} must be .*got null$`));
    await expect(createPool({ [key]: null } as never)).rejects.toThrow(TypeError);
  }
  await expect(createPool({ size: 0 })).rejects.toThrow(RangeError);
});

it("createPool() after init() with a backend that is not the best: the workers run that backend, and the values are its single calls' bit for bit", async () => {
  const builds = S.supported();
  if (builds.length < 2) return; // one build only: nothing to tell apart
  await S.init({ backend: builds[1] });
  const pool = await createPool({ size: 2 });
  pools.push(pool);
  expect(pool.backend).toBe(builds[1]);
  const cols = 1000, x = randomLogits(300 * cols, rng(8), Float32Array), y = randomLogits(300 * cols, rng(9), Float32Array);
  const theirs = new Float32Array(x.length), mine = new Float32Array(x.length);
  S.softmax(x, { cols, out: theirs });
  await pool.softmax(x, { cols, out: mine });
  expect(sameBits(mine, theirs)).toBe(true);
  expect(await pool.softmaxKlDivergence(x, y, { cols })).toEqual(S.softmaxKlDivergence(x, y, { cols }));
});

it("createPool({ backend }) other than this thread's, in each mode: every row of a call is that backend's, this thread's chunks included", async () => {
  const builds = S.supported().filter((b) => b !== 'wasm-relaxed'); // (the two this engine surely runs: wasm-simd and wasm)
  if (builds.length < 2) return;
  const [mine, theirs] = builds; // this thread on the first, the pool on the second
  await S.init({ backend: theirs });
  const cols = 1000, x = randomLogits(2000 * cols, rng(10), Float32Array);
  const want = S.softmax(x, { cols }) as Float32Array;
  await S.init({ backend: mine });
  expect(sameBits(S.softmax(x, { cols }) as Float32Array, want)).toBe(false); // (the two builds differ here)
  for (const shared of [true, false]) {
    const pool = await createPool({ size: 2, backend: theirs, shared, minElements: 0, yieldWhenBusy: false });
    pools.push(pool);
    for (let call = 0; call < 3; call++) expect(sameBits(await pool.softmax(x, { cols }) as Float32Array, want), `shared ${shared}, call ${call}`).toBe(true);
  }
});

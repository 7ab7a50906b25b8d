// A pool created before init(): it initialises the calling thread with its own backend, so
// its calls reach the workers (the calling thread's JS twins would otherwise keep every call,
// to stay bit for bit with the one-thread functions), and its values are those functions'.
// Its own file: the module state must be one on which init() has never run.
import { afterAll, expect, it } from 'vitest';
import * as S from '../dist/index.js';
import { createPool, type Pool } from '../dist/pool/node.js';
import { randomLogits, rng, sameBits } from './helpers.js';

let pool: Pool | undefined;
afterAll(async () => pool?.close());

it('createPool() without init(): this thread gets the pool backend, and the pool equals the single call bit for bit', async () => {
  expect(S.backend()).toBe('js');
  pool = await createPool({ size: 2 });
  expect(S.backend()).toBe(S.supported()[0]);
  expect(pool.backend).toBe(S.backend());
  const cols = 1000, x = randomLogits(300 * cols, rng(7), Float32Array);
  const mine = new Float32Array(x.length), theirs = new Float32Array(x.length);
  await pool.softmax(x, { cols, out: mine });
  S.softmax(x, { cols, out: theirs });
  expect(sameBits(mine, theirs)).toBe(true);
  expect(await pool.logSumExp(x, { cols })).toEqual(S.logSumExp(x, { cols }));
});

it('createPool with an unknown backend is a RangeError that names it', async () => {
  await expect(createPool({ backend: 'nope' as never })).rejects.toThrow(RangeError);
  await expect(createPool({ backend: 'nope' as never })).rejects.toThrow(/^createPool: backend must be .*"nope"/);
});

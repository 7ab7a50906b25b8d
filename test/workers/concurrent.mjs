// A worker of test/concurrency.test.ts: loads the built package, races init() from
// several places, waits at a gate so that every worker computes at the same moment,
// runs the battery `rounds` times (each round must repeat the first bit for bit), reads
// a SharedArrayBuffer input that every worker reads, writes its rows of a shared output,
// and posts the first round's results.
import { parentPort, workerData } from 'node:worker_threads';
import * as S from '../../dist/index.js';
import { battery, makeInputs } from './battery.mjs';

const { backend, seed, rounds, gate, workers, shared } = workerData;

// init() from many places at once: directly, from microtasks and from a timer
const inits = await Promise.all([
  S.init({ backend }),
  S.init({ backend }),
  Promise.resolve().then(() => S.init({ backend })),
  new Promise((resolve) => setTimeout(() => resolve(S.init({ backend })), 0)),
]);

const inputs = makeInputs(seed);

// the gate: count in, then wait for the main thread to open it
Atomics.add(gate, 0, 1);
Atomics.notify(gate, 0);
Atomics.wait(gate, 1, 0);

const first = battery(S, inputs);
let mismatches = 0;
for (let r = 1; r < rounds; r++) {
  const again = battery(S, inputs);
  for (const k of Object.keys(first)) {
    const a = first[k], b = again[k];
    if (a.length !== b.length || a.some((v, i) => !Object.is(v, b[i]))) mismatches++;
  }
}

// the shared arrays: everyone reads all of `x`; this worker writes its rows of `out`
const { x, out, cols, index } = shared;
const rowsEach = x.length / cols / workers;
const lo = index * rowsEach * cols, hi = (index + 1) * rowsEach * cols;
S.softmax(x.subarray(lo, hi), { cols, out: out.subarray(lo, hi) });
const sharedLse = Array.from(S.logSumExp(x, { cols }));

parentPort.postMessage({ backend: S.backend(), inits, results: first, mismatches, sharedLse });

// Timing: tinybench, in interleaved rounds.
//
// This VM's speed drifts by 20–40 % over seconds, so a comparison never times one task for
// long and then the next: `compare()` runs every task of a comparison for a short while,
// in turn, `rounds` times (each round starting from the next task, so that none always runs
// in the wake of the same one), and reports each task's median over the rounds of its
// per-round median; a ratio between two tasks is the median over the rounds of the ratio
// within each round.  Before each task's turn: its setup (the backend it runs on), then a
// garbage collection (with large inputs), so that no task pays for the garbage of the one
// before it.
//
// A task is a list of calls, one per input set: each sample runs `reps` calls (enough for
// ~50 µs, so small calls are not timer-bound), taking the sets in turn — no engine sees the
// same array twice in a row — and adds every result into a sink that the run reports, so
// nothing is computed for nothing.  Each task's loop is compiled from its own source
// (`new Function`), so V8's feedback for one task's call site is not shared with another's.
import { Bench } from 'tinybench';
import v8 from 'node:v8';
import vm from 'node:vm';

if (typeof globalThis.gc !== 'function') {
  v8.setFlagsFromString('--expose-gc');
  globalThis.gc = vm.runInNewContext('gc');
}
export const gc = () => globalThis.gc();

let sink = 0;
/** The sum of every result of every timed call (printed at the end: it keeps them alive). */
export const checksum = () => sink;

/** A number standing for a call's result: the value, the middle element, or `.value`. */
export function numberOf(r) {
  if (typeof r === 'number') return r;
  if (r == null) return 0;
  if (r.length !== undefined) return r[r.length >> 1];
  if (r.array) return r.array[r.array.length >> 1];
  return r.value ?? 0;
}

const TAKE = `typeof r === 'number' ? r : r.length !== undefined ? r[r.length >> 1] : r.value`;

/** The timed function of a task: `reps` calls over the sets in turn, each result consumed. */
function loopOf(calls, reps, isAsync) {
  const body = `
    const k = calls.length;
    let j = 0, acc = 0;
    return ${isAsync ? 'async ' : ''}function sample() {
      for (let i = 0; i < reps; i++) {
        const r = ${isAsync ? 'await ' : ''}calls[j]();
        j = j + 1 === k ? 0 : j + 1;
        acc += ${TAKE};
      }
      done(acc);
      acc = 0;
    };`;
  // eslint-disable-next-line no-new-func
  return new Function('calls', 'reps', 'done', body)(calls, reps, (a) => {
    sink += Number.isFinite(a) ? a * 1e-300 : 0;
  });
}

/**
 * How many calls make a sample of about `target` ms, once the calls have run untimed for
 * `warm` ms (inputs under 10⁵; a larger call is a sample alone).  Cold, a small call runs
 * in the interpreter at 20–40 times its optimised time (and the very first one,
 * compiling, can take `target` alone): counted then, a sample would be a few calls, and
 * the timer's own cost, ~0.1 µs a sample, would be charged to each of them.
 */
async function calibrate(calls, isAsync, target, warm) {
  const run = async (reps) => {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) {
      const r = isAsync ? await calls[i % calls.length]() : calls[i % calls.length]();
      sink += numberOf(r) * 1e-300 || 0;
    }
    return performance.now() - t0;
  };
  for (let spent = 0, reps = 1; spent < warm; reps *= 2) spent += await run(reps);
  for (let reps = 1; ; reps *= 4) {
    const dt = await run(reps);
    if (dt >= target || reps >= 1 << 22) return Math.max(1, Math.ceil((reps * target) / Math.max(dt, 1e-9)));
  }
}

export const median = (xs) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Timing settings: full, or --quick (CI: every code path once, not a measurement). */
export function settings(quick) {
  return quick
    ? { rounds: 1, time: 1, iterations: 1, warmup: { time: 0, iterations: 1 }, warmupLarge: { time: 0, iterations: 1 }, target: 0.02, collect: false }
    : { rounds: 3, time: 40, iterations: 3, warmup: { time: 25, iterations: 5 }, warmupLarge: { time: 100, iterations: 3 }, target: 0.05, collect: true };
}

/**
 * Times tasks against each other in interleaved rounds.
 * tasks: [{ id, calls: [() => result, …], async?, setup?: () => Promise|void }]
 * options: settings() plus { large: true to warm up longer and (with `collect`) collect garbage between tasks }
 * Returns { ms(id), perRound(id), ratio(a, b) } — ms: per call; ratio: a's time ÷ b's.
 */
export async function compare(tasks, options) {
  const o = { ...options };
  const timed = [];
  for (const t of tasks) {
    await t.setup?.();
    const isAsync = !!t.async;
    const reps = await calibrate(t.calls, isAsync, o.target, o.large ? 0 : o.warmup.time);
    timed.push({ ...t, reps, fn: loopOf(t.calls, reps, isAsync) });
  }
  const rounds = timed.map(() => []);
  for (let round = 0; round < o.rounds; round++) {
    const warm = round === 0 ? (o.large ? o.warmupLarge : o.warmup) : { time: 0, iterations: 1 };
    const bench = new Bench({ time: o.time, iterations: o.iterations, warmupTime: warm.time, warmupIterations: warm.iterations, throws: true });
    for (let j = 0; j < timed.length; j++) {
      const t = timed[(round + j) % timed.length];
      bench.add(t.id, t.fn, {
        async: !!t.async,
        beforeAll: async (mode) => {
          await t.setup?.();
          if (o.large && o.collect && mode === 'run') gc();
        },
      });
    }
    await bench.run();
    for (const task of bench.tasks) {
      const k = timed.findIndex((t) => t.id === task.name);
      const r = task.result;
      if (r.state !== 'completed') throw new Error(`${task.name}: ${r.state} ${r.error?.stack ?? ''}`);
      rounds[k].push(r.latency.p50 / timed[k].reps);
    }
  }
  const index = (id) => {
    const k = timed.findIndex((t) => t.id === id);
    if (k < 0) throw new Error(`compare: no task ${id}`);
    return k;
  };
  return {
    has: (id) => timed.some((t) => t.id === id),
    ms: (id) => median(rounds[index(id)]),
    perRound: (id) => rounds[index(id)],
    reps: (id) => timed[index(id)].reps,
    ratio: (a, b) => {
      const ra = rounds[index(a)], rb = rounds[index(b)];
      return median(ra.map((x, i) => x / rb[i]));
    },
  };
}

// ---------------------------------------------------------------------------------------
// accuracy
// ---------------------------------------------------------------------------------------

const valuesOf = (v) => (typeof v === 'number' ? [v] : v?.array ? v.array : v?.value !== undefined && v.length === undefined ? [v.value] : v);

/**
 * The error of `got` against the float64 reference `want`.  Per output (the default): the
 * largest |got − want| / max(|want|, floor), floor the smallest normal number of the
 * result's type; an output below the normal range on both sides is not counted (accuracy
 * bounds apply to normal results: flushing a subnormal result to 0 is allowed).  Normwise (`norm`, for gradients, whose entries cancel to near 0 where
 * log p ≈ −H): max |got − want| / max |want|.
 */
export function relError(got, want, floor, norm = false) {
  const g = valuesOf(got), w = valuesOf(want);
  if (!g || !w || g.length !== w.length) return NaN;
  let err = 0, scale = floor;
  if (norm) for (let i = 0; i < w.length; i++) scale = Math.max(scale, Math.abs(w[i]));
  for (let i = 0; i < w.length; i++) {
    if (g[i] === w[i] || (Math.abs(g[i]) < floor && Math.abs(w[i]) < floor)) continue;
    const e = Math.abs(g[i] - w[i]) / (norm ? scale : Math.max(Math.abs(w[i]), floor));
    if (!(e <= err)) err = e; // NaN sticks
  }
  return err;
}

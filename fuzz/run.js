#!/usr/bin/env node
// The fuzz harness: `npm run fuzz -- --seconds N` throws hostile inputs at the public
// functions of the BUILT package (../dist/index.js; run `npm run build` first) on every
// backend — those in FNS (generators.js); the accumulators have no oracle here yet — and
// checks each call either returns the right answer or throws the
// documented TypeError/RangeError (whose message starts with the function's name).
// Anything else is a failure: another exception, a wrong or malformed answer, an input
// modified, a crash, a hang, or a later call's answer changed — after every call a fixed
// set of canary calls must give bit-identical results to the ones computed at start.
//
// Inputs come from fast-check arbitraries (fc.check with interruptAfterTimeLimit, cycling
// through 'wasm-simd', 'wasm' and 'js' and two small-input cutoffs), as small JSON
// descriptors that are materialised into the hostile values: wrong types (strings,
// objects, {length: n}, sparse arrays, BigInt64Array, DataView, integer typed arrays as
// counts), detached buffers, SharedArrayBuffer views, views at odd offsets, views into
// the library's own memory (live WasmArrays and sub-views, freed WasmArrays and views of
// their memory, views left stale by memory.grow, raw views anywhere in the module's
// memory, WasmArrays of another backend's module), NaN/±Infinity/−0/subnormals/huge
// values, lengths 0…2e5, bad options, bad `out`/`grad` (wrong type or length, aliasing
// the input fully or partially), bad labels.  Once per run one call on ≥ 3e7 float32
// elements.  The fuzzing runs in a worker thread watched by the main thread, so a hang
// (no progress for --hang seconds) or a crash of the worker is reported with the case
// that caused it.  A failure that matches a known library bug (KNOWN in known.js, each
// pinned as an it.fails test) is counted in the summary, not failed, unless --strict.
// FUZZ_SELFTEST=hang|crash|corrupt checks that the watchdog, the crash report and the
// canaries work.
//
// The parts (fuzz/):
//   run.js         this file: the options, the worker's fuzzing loop, the one very large
//                  call, the supervisor (watchdog, crash report), --replay, the summary
//   generators.js  the fast-check arbitraries of case descriptors, their materialisation
//                  into hostile values, the random draws, the JavaScript of a reproduction
//   oracles.js     what each call must do (errors or float64 references), the comparisons,
//                  and runCase: one call made and judged
//   canaries.js    the fixed canary calls, and the setup shared by the worker and --replay
//   known.js       the known library bugs (KNOWN) and which one a failure matches
//   common.js      the loaded package and per-process state, small helpers, case tokens
//
// Options:  --seconds N   how long to fuzz (default 10)
//           --seed S      fast-check seed (default: random; printed)
//           --hang S      seconds without progress that count as a hang (default 60)
//           --big / --no-big   the one very large call (default on)
//           --strict      count known library bugs (listed in KNOWN, known.js) as failures
//           --replay T    run one case (a token printed with a failure) in this process
//           --dump FILE   with --replay: write the case's arguments to FILE as JSON
//           --only F,G    fuzz only these functions
//           --verbose     print every failure as it happens
//           --help, -h    print these options
//
// Exit status: 0 no failures; 1 failures (each printed with a minimal reproduction);
// 2 the harness could not run (e.g. dist/ missing).

import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { DIST, BACKENDS, S, B, persistent, heapOf, encode, decode, snapshot } from './common.js';
import { rng, casesOf, FNS, materialize, reproduction } from './generators.js';
import { runCase } from './oracles.js';
import { setup, runCanaries, sameBits } from './canaries.js';
import { KNOWN } from './known.js';

let caseArb = casesOf(null); // every function, or (--only, in the worker) some of them

// ---------------------------------------------------------------------------------
// The one very large call
// ---------------------------------------------------------------------------------

function bigCall(state) {
  const n = 30_000_019; // ≥ 3e7, odd: the kernels' tails too
  const x = new Float32Array(n);
  const random = rng(7);
  for (let i = 0; i < n; i++) x[i] = 4 * (random() - 0.5);
  x[n - 1] = 9; // the maximum in the tail
  const heap = heapOf();
  const pages0 = heap ? heap.pages : 0;
  const t0 = performance.now();
  const lse = S.logSumExp(x);
  const out = new Float32Array(n);
  S.softmax(x, { out });
  const ms = performance.now() - t0;
  // references
  let m = -Infinity;
  for (let i = 0; i < n; i++) if (x[i] > m) m = x[i];
  let s = 0, comp = 0;
  for (let i = 0; i < n; i++) { const v = Math.exp(x[i] - m), t = s + v; comp += s - t + v; s = t; }
  s += comp;
  const want = m + Math.log(s);
  const problems = [];
  if (!(Math.abs(lse - want) <= 1e-5 * Math.abs(want))) problems.push(`logSumExp = ${lse}, want ${want}`);
  let total = 0;
  for (let i = 0; i < n; i++) total += out[i];
  if (!(Math.abs(total - 1) < 1e-3)) problems.push(`Σ softmax = ${total}`);
  for (const i of [0, 1, n >> 1, n - 2, n - 1]) {
    const w = Math.exp(x[i] - m) / s;
    if (!(Math.abs(out[i] - w) <= 1e-5 * w)) problems.push(`softmax[${i}] = ${out[i]}, want ${w}`);
  }
  const canary = runCanaries(state.inputs, persistent[S.backend()]?.canary);
  if (!sameBits(canary, state.canaries[`${S.backend()}/${state.cutoff}`])) problems.push('canaries changed after the large call');
  return { n, backend: S.backend(), ms: Math.round(ms), pagesBefore: pages0, pagesAfter: heap ? heap.pages : 0, problems };
}

// ---------------------------------------------------------------------------------
// Worker: the fuzzing loop
// ---------------------------------------------------------------------------------

async function fuzzWorker({ seconds, seed, big, strict, shared, only }) {
  if (only) caseArb = casesOf(only);
  const beat = new Int32Array(shared, 0, 4);
  const text = new Uint16Array(shared, 16);
  const writeCurrent = (s) => {
    const len = Math.min(s.length, text.length);
    for (let i = 0; i < len; i++) text[i] = s.charCodeAt(i);
    beat[1] = len;
    Atomics.add(beat, 0, 1);
  };
  writeCurrent(encode({ phase: 'setup' }));
  const base = await setup();
  // FUZZ_SELFTEST=hang|crash checks the supervisor's watchdog and crash report
  if (process.env.FUZZ_SELFTEST === 'hang') { writeCurrent(encode({ phase: 'selftest: a busy loop' })); for (;;); }
  if (process.env.FUZZ_SELFTEST === 'crash') throw new Error('selftest crash');
  if (process.env.FUZZ_SELFTEST === 'corrupt') persistent['wasm-simd'].canary.array[3] += 1; // as if a call had written there
  const deadline = Date.now() + seconds * 1000;
  const stats = { calls: 0, byFn: {}, outcomes: {}, known: {}, failures: [], slowest: { ms: 0 }, pages: {}, big: null, slices: 0 };
  for (const b of BACKENDS) {
    if (b === 'js') continue;
    await S.init({ backend: b });
    stats.pages[b] = { before: heapOf().pages };
  }
  let slice = 0, stop = false;
  const distinct = new Set();
  while (!stop && Date.now() < deadline) {
    const backend = BACKENDS[slice % 3];
    const cutoff = slice % 4 === 3 ? 64 : 0;
    await S.init({ backend });
    B.setSmallInputCutoff(cutoff);
    const state = { ...base, backend, cutoff };
    if (big && !stats.big && backend === 'wasm-simd' && slice > 0) {
      writeCurrent(encode({ phase: 'big', backend }));
      stats.big = bigCall(state);
      if (stats.big.problems.length) {
        stats.failures.push({ fn: 'logSumExp/softmax', message: `the large call (${stats.big.n} float32): ${stats.big.problems.join('; ')}`, backend, cutoff, repro: '// see bigCall() in fuzz/run.js' });
      }
    }
    const sliceSeed = (seed + slice * 7919) | 0;
    let firstFailure = null, index = 0;
    const property = fc.property(caseArb, (c) => {
      writeCurrent(encode({ c, backend, cutoff }));
      const r = runCase(c, state);
      index++;
      stats.calls++;
      stats.byFn[c.fn] = (stats.byFn[c.fn] ?? 0) + 1;
      stats.outcomes[r.outcome] = (stats.outcomes[r.outcome] ?? 0) + 1;
      if (r.ms > stats.slowest.ms) stats.slowest = { ms: Math.round(r.ms), fn: c.fn, notes: r.notes.join('; '), backend };
      if (r.corrupted) {
        // the process state is broken from here on: report the case as it was, and stop
        firstFailure ??= { c, message: r.corrupted, fatal: true, index };
        throw new Error(r.corrupted);
      }
      if (r.failure && r.known && !strict) {
        stats.known[r.known] = (stats.known[r.known] ?? 0) + 1;
        return true;
      }
      if (r.failure) {
        firstFailure ??= { c, message: r.failure, known: r.known, index };
        throw new Error(r.failure);
      }
      return true;
    });
    const remaining = deadline - Date.now();
    const details = fc.check(property, { seed: sliceSeed, numRuns: 1e9, interruptAfterTimeLimit: Math.max(200, Math.min(2500, remaining)), markInterruptAsFailure: false });
    stats.slices++;
    if (details.failed && firstFailure) {
      let shrunk = details.counterexample?.[0] ?? firstFailure.c;
      let shrunkError = details.errorInstance?.message;
      if (!firstFailure.fatal && details.interrupted !== false) {
        // shrinking was cut by the slice's time limit: go on from where it stopped (≤ 10 s)
        const more = fc.check(property, { seed: sliceSeed, path: details.counterexamplePath, interruptAfterTimeLimit: 10000, markInterruptAsFailure: false });
        if (more.failed && more.counterexample) {
          shrunk = more.counterexample[0];
          shrunkError = more.errorInstance?.message;
          details.counterexamplePath = more.counterexamplePath;
        }
      }
      // the shrunk case's own message (run again: the fast-check error is of the last shrink step)
      const key = `${firstFailure.c.fn}/${firstFailure.message.replace(/[-\d.e+]+/g, '#').slice(0, 60)}`;
      if (!distinct.has(key)) {
        distinct.add(key);
        const failure = {
          fn: firstFailure.c.fn, backend, cutoff,
          message: firstFailure.message,
          shrunkMessage: String(shrunkError ?? ''),
          known: firstFailure.known,
          case: fc.stringify(firstFailure.fatal ? firstFailure.c : shrunk),
          token: encode({ c: shrunk, backend, cutoff }),
          firstToken: encode({ c: firstFailure.c, backend, cutoff }),
          seed: sliceSeed, path: details.counterexamplePath,
          repro: firstFailure.fatal ? reproduction(firstFailure.c, backend, cutoff) : reproduction(shrunk, backend, cutoff),
          fatal: !!firstFailure.fatal,
          // the first slice starts from the setup state: its runs up to the failure replay exactly
          sequence: slice === 0 ? encode({ sequence: { seed: sliceSeed, count: firstFailure.index }, backend, cutoff }) : null,
        };
        stats.failures.push(failure);
        parentPort.postMessage({ type: 'failure', failure });
      }
      if (firstFailure.fatal || stats.failures.length >= 8) stop = true;
    }
    slice++;
  }
  for (const b of Object.keys(stats.pages)) {
    await S.init({ backend: b });
    stats.pages[b].after = heapOf().pages;
  }
  writeCurrent(encode({ phase: 'done' }));
  parentPort.postMessage({ type: 'done', stats });
}

// ---------------------------------------------------------------------------------
// Supervisor (main thread)
// ---------------------------------------------------------------------------------

function printFailure(f, i) {
  console.log(`\nFAILURE ${i + 1}${f.known ? ` (matches ${f.known} but --strict)` : ''}: ${f.fn} on ${f.backend} (small-input cutoff ${f.cutoff})${f.fatal ? ' — corrupted later calls' : ''}`);
  console.log(`  ${f.message}`);
  if (f.shrunkMessage && f.shrunkMessage !== f.message) console.log(`  after shrinking: ${f.shrunkMessage.split('\n')[0]}`);
  if (f.case) console.log(`  case (fast-check${f.fatal ? ', as it ran: state is broken after it, so not shrunk' : `, shrunk; seed ${f.seed}, path ${f.path}`}):\n    ${f.case}`);
  console.log(`  reproduction:\n    ${f.repro.split('\n').join('\n    ')}`);
  if (f.token) console.log(`  replay in a fresh process: node fuzz/run.js --replay ${f.token}`);
  if (f.firstToken && f.firstToken !== f.token) console.log(`  (the unshrunk case: node fuzz/run.js --replay ${f.firstToken})`);
  if (f.sequence) console.log(`  (the calls before it too, if it depends on them: node fuzz/run.js --replay ${f.sequence})`);
}

function printSummary(stats, seconds, seed) {
  console.log(`\nfuzz: ${stats.calls} calls in ${seconds} s (seed ${seed}, ${stats.slices} slices over ${BACKENDS.join(', ')})`);
  console.log(`  by function: ${Object.entries(stats.byFn).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`  outcomes:    ${Object.entries(stats.outcomes).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const known = Object.entries(stats.known);
  console.log(`  known bugs:  ${known.length ? known.map(([k, v]) => `${k} ×${v} (${KNOWN[k]})`).join('; ') : 'none hit'}`);
  console.log(`  slowest call: ${stats.slowest.ms} ms (${stats.slowest.fn ?? '-'} on ${stats.slowest.backend ?? '-'}${stats.slowest.notes ? `; ${stats.slowest.notes}` : ''})`);
  for (const [b, p] of Object.entries(stats.pages)) console.log(`  memory ${b}: ${p.before} → ${p.after} pages of 64 KiB`);
  if (stats.big) console.log(`  large call: ${stats.big.n} float32 on ${stats.big.backend}, logSumExp + softmax in ${stats.big.ms} ms, pages ${stats.big.pagesBefore} → ${stats.big.pagesAfter}${stats.big.problems.length ? `; PROBLEMS: ${stats.big.problems.join('; ')}` : ', correct'}`);
  console.log(`  failures:    ${stats.failures.length}`);
}

async function supervise(opts) {
  if (!existsSync(fileURLToPath(DIST))) {
    console.error('fuzz: dist/index.js is missing; run `npm run build` first');
    process.exit(2);
  }
  const seed = opts.seed;
  console.log(`fuzz: ${opts.seconds} s, seed ${seed}${opts.big ? ', with one ≥ 3e7-element call' : ''}${opts.strict ? ', strict' : ''}`);
  const shared = new SharedArrayBuffer(16 + 2 * 65536);
  const beat = new Int32Array(shared, 0, 4);
  const text = new Uint16Array(shared, 16);
  const current = () => String.fromCharCode(...text.subarray(0, beat[1]));
  const worker = new Worker(new URL(import.meta.url), { workerData: { seconds: opts.seconds, seed, big: opts.big, strict: opts.strict, shared, only: opts.only } });
  let lastBeat = -1, lastChange = Date.now(), done = false;
  const failures = [];
  const finish = (code) => { done = true; clearInterval(timer); process.exitCode = code; };
  const timer = setInterval(() => {
    const b = Atomics.load(beat, 0);
    if (b !== lastBeat) { lastBeat = b; lastChange = Date.now(); return; }
    if (Date.now() - lastChange > opts.hang * 1000) {
      const token = current();
      console.log(`\nFAILURE: HANG — no progress for ${opts.hang} s in this case:`);
      try { const d = decode(token); console.log(`  ${fc.stringify(d)}`); } catch { /* partial */ }
      console.log(`  replay: node fuzz/run.js --replay ${token}`);
      void worker.terminate();
      finish(1);
    }
  }, 1000);
  worker.on('message', (m) => {
    if (m.type === 'failure') {
      failures.push(m.failure);
      if (opts.verbose) printFailure(m.failure, failures.length - 1);
    } else if (m.type === 'done') {
      m.stats.failures.forEach(printFailure);
      printSummary(m.stats, opts.seconds, seed);
      finish(m.stats.failures.length ? 1 : 0);
      void worker.terminate();
    }
  });
  worker.on('error', (err) => {
    if (done) return;
    const token = current();
    console.log(`\nFAILURE: the fuzzing worker crashed: ${err?.stack ?? err}`);
    console.log(`  during: node fuzz/run.js --replay ${token}`);
    finish(1);
  });
  worker.on('exit', (code) => {
    if (done) return;
    console.log(`\nFAILURE: the fuzzing worker exited (code ${code}) during: node fuzz/run.js --replay ${current()}`);
    finish(1);
  });
}

async function replay(token, dump) {
  const { c, backend, cutoff, sequence } = decode(token);
  if (sequence) {
    // the first `count` cases of a slice, in order, from the setup state
    const base = await setup();
    await S.init({ backend });
    B.setSmallInputCutoff(cutoff);
    const state = { ...base, backend, cutoff };
    let i = 0, bad = 0;
    fc.check(fc.property(caseArb, (cs) => {
      i++;
      const r = runCase(cs, state);
      if (r.failure || r.corrupted || i === sequence.count) {
        console.log(`call ${i}: ${cs.fn}: ${r.outcome}${r.failure ? ` — FAILURE: ${r.failure}${r.known ? ` (${r.known})` : ''}` : ''}${r.corrupted ? ` — CORRUPTED: ${r.corrupted}` : ''}; ${r.notes.join('; ')}${r.grew ? '; memory grew' : ''}`);
        if (r.failure || r.corrupted) bad++;
      }
      return true;
    }), { seed: sequence.seed, numRuns: sequence.count });
    process.exitCode = bad ? 1 : 0;
    return;
  }
  if (!c) {
    console.log(`nothing to replay (${JSON.stringify(decode(token))})`);
    return;
  }
  const base = await setup();
  await S.init({ backend });
  B.setSmallInputCutoff(cutoff);
  console.log(`replay: ${c.fn} on ${backend} (small-input cutoff ${cutoff})\n  ${fc.stringify(c)}`);
  console.log(`reproduction:\n  ${reproduction(c, backend, cutoff).split('\n').join('\n  ')}`);
  if (dump) {
    const { ctx, args, options } = materialize(c);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(dump, JSON.stringify({ args: args.map((a) => snapshot(a) ?? String(a)), options: Object.fromEntries(Object.entries(options ?? {}).map(([k, v]) => [k, snapshot(v) ?? v])) }, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)));
    for (const wa of ctx.allocs) wa.free();
    console.log(`arguments written to ${dump}`);
  }
  const r = runCase(c, { ...base, backend, cutoff });
  console.log(`outcome: ${r.failure ? 'FAILED' : r.outcome} in ${r.ms.toFixed(2)} ms${r.failure ? `\nFAILURE: ${r.failure}${r.known ? ` (${r.known}: ${KNOWN[r.known]})` : ''}` : ''}${r.corrupted ? `\nCORRUPTED: ${r.corrupted}` : ''}`);
  process.exitCode = r.failure || r.corrupted ? 1 : 0;
}

// ---------------------------------------------------------------------------------

if (isMainThread) {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      seed: { type: 'string' },
      hang: { type: 'string', default: '60' },
      big: { type: 'boolean', default: true },
      'no-big': { type: 'boolean', default: false },
      strict: { type: 'boolean', default: false },
      replay: { type: 'string' },
      dump: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    // the options and exit status, as this file's header states them
    const header = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
    const from = header.findIndex((l) => l.startsWith('// Options:'));
    const to = header.findIndex((l, i) => i > from && !l.startsWith('//'));
    console.log(['usage: npm run fuzz -- [options]', '', ...header.slice(from, to).map((l) => l.slice(3))].join('\n'));
  } else if (values.replay) {
    await replay(values.replay, values.dump);
  } else {
    const seconds = Number(values.seconds);
    const hang = Number(values.hang);
    if (!(seconds > 0) || !(hang > 0)) {
      console.error('fuzz: --seconds and --hang must be positive numbers');
      process.exit(2);
    }
    const seed = values.seed === undefined ? (Date.now() ^ (Math.random() * 2 ** 31)) | 0 : Number(values.seed) | 0;
    const only = values.only ? values.only.split(',') : null;
    if (only && only.some((f) => !FNS.includes(f))) {
      console.error(`fuzz: --only takes function names (${FNS.join(', ')})`);
      process.exit(2);
    }
    await supervise({ seconds, seed, hang, big: values.big && !values['no-big'], strict: values.strict, verbose: values.verbose, only });
  }
} else {
  await fuzzWorker(workerData);
}

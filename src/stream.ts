// Rows too long for the wasm engine's window: computed in segments that fit it, so that
// memory stays at the window's size whatever the input's.  How a segment's results are
// put together is the kernel's `long` strategy (kernels.ts):
//   additive — a row's result is the sum of its segments' (compensated), its outputs
//     elementwise;
//   merge — each segment reports its parts (aux), merged here as the kernel would have
//     accumulated them, then finished; maps make a second pass to put the merged row
//     statistics into their outputs;
//   twin — the JS twin computes the row on the caller's arrays.

import type { Engine } from './engine.js';
import { jsEngine } from './engine.js';
import { KERNELS, type KernelName } from './kernels.js';
import { Sum } from './js/sum.js';
import { logOnesPlus } from './js/softmax.js';
import { mergeCrossEntropy, mergeDivergence, mergeEntropy } from './js/reduce.js';
import { finish as finishSigned, mergeParts } from './js/weighted.js';
import { rowOf } from './memory.js';

type Args = unknown[];

/** args of kernel `name` narrowed to row r, columns [c0, c1); per-row results into fresh arrays. */
function segment(name: KernelName, args: Args, r: number, cols: number, c0: number, c1: number): Args {
  const params = KERNELS[name].params;
  const out: Args = args.slice();
  const sub = (a: unknown, from: number, to: number): unknown => (a === null ? null : rowOf(a as ArrayLike<number>, from, to - from));
  for (let i = 0; i < params.length; i++) {
    const kind = params[i].kind;
    const a = args[i];
    switch (kind) {
      case 'x': case 'out': case 'out64': case 'bytes':
        out[i] = sub(a, r * cols + c0, r * cols + c1);
        break;
      case 'w':
        out[i] = args[i + 1] ? sub(a, r * cols + c0, r * cols + c1) : sub(a, c0, c1);
        break;
      case 'col': case 'col64': case 'colAcc':
        out[i] = sub(a, c0, c1);
        break;
      case 'labels':
        out[i] = sub(a, r, r + 1);
        break;
      case 'rowIn':
        out[i] = sub(a, r * params[i].k!, (r + 1) * params[i].k!);
        break;
      case 'res': case 'resOpt': case 'sums': // (rows this long are never grouped: kernels.ts, NARROW_COLS)
        out[i] = a === null ? null : new Float64Array(1);
        break;
      case 'aux':
        out[i] = new Float64Array(params[i].k!);
        break;
      case 'rows':
        out[i] = 1;
        break;
      case 'cols':
        out[i] = c1 - c0;
        break;
    }
  }
  return out;
}

/**
 * Bytes of a segment's arrays: far below the window (a kernel's passes over a segment
 * then run from the outer caches, not memory), and large enough that a segment's fixed
 * cost (a call, its parts' merge, a map's second pass) stays a small part of its time.
 */
const SEGMENT_BYTES = 1 << 22;

/** Columns per segment: SEGMENT_BYTES (at most half the window) over the bytes a column takes in the kernel's arrays. */
function segmentCols(engine: Engine & { heap: { windowLimit: number } }, name: KernelName, f32: boolean, args: Args): number {
  let bytes = 0;
  const params = KERNELS[name].params;
  for (let i = 0; i < params.length; i++) {
    const kind = params[i].kind;
    if (args[i] === null) continue;
    if (kind === 'x' || kind === 'out' || kind === 'w' || kind === 'col') bytes += f32 ? 4 : 8;
    else if (kind === 'out64' || kind === 'col64' || kind === 'colAcc') bytes += 8;
    else if (kind === 'bytes') bytes += 1;
  }
  return Math.max(16, Math.floor(Math.min(SEGMENT_BYTES, engine.heap.windowLimit / 2) / Math.max(1, bytes) / 16) * 16);
}

/** Copies a one-row call's per-row results (res, resOpt, aux) into row r of the call's. */
function putRow(name: KernelName, args: Args, one: Args, r: number): void {
  KERNELS[name].params.forEach((p, i) => {
    const dst = args[i] as Float64Array | null;
    if (!dst) return;
    if (p.kind === 'res' || p.kind === 'resOpt' || p.kind === 'sums') dst[r] = (one[i] as Float64Array)[0];
    else if (p.kind === 'aux') dst.set(one[i] as Float64Array, r * p.k!);
  });
}

/** Indices of the params of `kind` in kernel `name`. */
const where = (name: KernelName, kind: string): number[] =>
  KERNELS[name].params.flatMap((p, i) => (p.kind === kind ? [i] : []));

/** Computes each of `rows` rows of a call too long for the window (see the top). */
export function longRow(engine: Engine & { heap: { windowLimit: number } }, name: KernelName, f32: boolean, args: Args, rows: number, cols: number): void {
  const strategy = KERNELS[name].long;
  const seg = segmentCols(engine, name, f32, args);
  for (let r = 0; r < rows; r++) {
    if (strategy === 'twin') {
      const a = segment(name, args, r, cols, 0, cols);
      jsEngine.run(name, f32, a);
      putRow(name, args, a, r);
      continue;
    }
    const merge = MERGES[name];
    if (strategy === 'merge' && merge) {
      merge(engine, name, f32, args, r, cols, seg);
      continue;
    }
    // additive: per-row results summed over the segments
    const res = where(name, 'res').concat(where(name, 'resOpt')).filter((i) => args[i] !== null);
    const sums = res.map(() => new Sum());
    for (let c0 = 0; c0 < cols; c0 += seg) {
      const a = segment(name, args, r, cols, c0, Math.min(cols, c0 + seg));
      engine.run(name, f32, a);
      res.forEach((i, j) => sums[j].add((a[i] as Float64Array)[0]));
    }
    res.forEach((i, j) => ((args[i] as Float64Array)[r] = sums[j].value()));
  }
}

type Merge = (engine: Engine, name: KernelName, f32: boolean, args: Args, r: number, cols: number, seg: number) => void;

/** Runs each segment of row r, returning the segments' aux parts and column starts. */
function parts(engine: Engine, name: KernelName, f32: boolean, args: Args, r: number, cols: number, seg: number): { aux: Float64Array[]; starts: number[]; seg: Args[] } {
  const auxAt = where(name, 'aux')[0];
  const aux: Float64Array[] = [], starts: number[] = [], segs: Args[] = [];
  for (let c0 = 0; c0 < cols; c0 += seg) {
    const a = segment(name, args, r, cols, c0, Math.min(cols, c0 + seg));
    engine.run(name, f32, a);
    aux.push(a[auxAt] as Float64Array);
    starts.push(c0);
    segs.push(a);
  }
  return { aux, starts, seg: segs };
}

/**
 * The merged (m, ones, rest) of segments' log-sum-exp parts at temperature T: m the
 * largest maximum, each segment's S = ones + rest rescaled by exp((mₛ − m)/T) into rest,
 * its ones kept where mₛ = m.  NaN when a segment is NaN.
 */
function mergeLse(aux: Float64Array[], T: number): { m: number; ones: number; rest: number } {
  let m = -Infinity;
  for (const a of aux) {
    if (a[0] !== a[0]) return { m: NaN, ones: 0, rest: 0 };
    if (a[0] > m) m = a[0];
  }
  let ones = 0;
  const rest = new Sum();
  if (Number.isFinite(m)) {
    for (const a of aux) {
      if (a[0] === m) {
        ones += a[1];
        rest.add(a[2]);
      } else if (a[0] > -Infinity) rest.add((a[1] + a[2]) * Math.exp((a[0] - m) / T));
    }
  }
  return { m, ones, rest: rest.value() };
}

/** Runs row r's segments, merges their k parts with `merge` (which returns the row's result), writes res and aux. */
function mergeReduction(engine: Engine, name: KernelName, f32: boolean, args: Args, r: number, cols: number, seg: number, k: number,
  merge: (aux: Float64Array[], out: Float64Array) => number): void {
  const { aux } = parts(engine, name, f32, args, r, cols, seg);
  const out = new Float64Array(k);
  (args[where(name, 'res')[0]] as Float64Array)[r] = merge(aux, out);
  const dst = args[where(name, 'aux')[0]] as Float64Array | null;
  if (dst) dst.set(out, k * r);
}

const MERGES: Partial<Record<KernelName, Merge>> = {
  // probability reductions (assembly/reduce.ts): the segments' parts merged as the kernel
  // accumulates them (js/reduce.ts), then finished by the kernel's formulas
  entropyRows(engine, name, f32, args, r, cols, seg) {
    mergeReduction(engine, name, f32, args, r, cols, seg, 5, (aux, out) => mergeEntropy(aux, args[3] !== 0, out));
  },
  crossEntropyRows(engine, name, f32, args, r, cols, seg) {
    mergeReduction(engine, name, f32, args, r, cols, seg, 6, (aux, out) => mergeCrossEntropy(aux, args[4] !== 0, out));
  },
  klDivergenceRows(engine, name, f32, args, r, cols, seg) {
    mergeReduction(engine, name, f32, args, r, cols, seg, 4, (aux, out) => mergeDivergence(aux, true, args[4] !== 0, out));
  },
  jsDivergenceRows(engine, name, f32, args, r, cols, seg) {
    mergeReduction(engine, name, f32, args, r, cols, seg, 4, (aux, out) => mergeDivergence(aux, false, false, out));
  },

  // weighted / signed log-sum-exp: the segments' (m, A, R, smallest weight) merged, then finished as the kernel does
  weightedLogSumExpRows(engine, name, f32, args, r, cols, seg) {
    const { aux } = parts(engine, name, f32, args, r, cols, seg);
    const merged = mergeParts(aux);
    finishSigned(merged[0], merged[1], merged[2], args[where(name, 'res')[0]] as Float64Array, args[where(name, 'resOpt')[0]] as Float64Array | null, r);
    const out = args[where(name, 'aux')[0]] as Float64Array | null;
    if (out) out.set(merged, 4 * r);
  },

  // softmax entropy: parts (m, ones, rest, A = Σ e·t) rescaled to the largest maximum; with
  // a gradient (a second pass that needs the row's H) the JS twin computes the row
  softmaxEntropyRows(engine, name, f32, args, r, cols, seg) {
    if (args[5] !== null) {
      const one = segment(name, args, r, cols, 0, cols);
      jsEngine.run(name, f32, one);
      putRow(name, args, one, r);
      return;
    }
    const T = args[3] as number;
    const { aux } = parts(engine, name, f32, args, r, cols, seg);
    let m = -Infinity;
    for (const a of aux) m = a[0] !== a[0] || a[0] > m ? a[0] : m;
    let h: number;
    if (m !== m) h = NaN;
    else if (m === -Infinity) h = 0;
    else {
      let ones = 0;
      const rest = new Sum(), A = new Sum();
      for (const a of aux) {
        if (a[0] === -Infinity) continue;
        const d = (a[0] - m) / T, f = Math.exp(d);
        if (a[0] === m) {
          ones += a[1];
          rest.add(a[2]);
        } else rest.add((a[1] + a[2]) * f);
        A.add(f * (a[3] + (a[1] + a[2]) * d));
      }
      const s = ones + rest.value();
      h = logOnesPlus(ones, rest.value()) - A.value() / s;
    }
    (args[where(name, 'res')[0]] as Float64Array)[r] = h * (args[4] as number) + 0; // (in the base's scale, as the kernel's)
  },

  logSumExpRows(engine, name, f32, args, r, cols, seg) {
    const { aux } = parts(engine, name, f32, args, r, cols, seg);
    const { m, ones, rest } = mergeLse(aux, 1);
    (args[where(name, 'res')[0]] as Float64Array)[r] = Number.isFinite(m) ? m + logOnesPlus(ones, rest) : m;
    const auxAt = where(name, 'aux')[0];
    const out = args[auxAt] as Float64Array | null;
    if (out) out.set([m, ones, rest], 3 * r);
  },

  // softmax: each segment's own softmax, then rescaled by S(segment)·exp((mₛ − m)/T)/S
  softmaxRows(engine, name, f32, args, r, cols, seg) {
    const T = args[3] as number;
    const { aux, seg: segs } = parts(engine, name, f32, args, r, cols, seg);
    const { m, ones, rest } = mergeLse(aux, T);
    const s = ones + rest;
    const outAt = where(name, 'out')[0];
    for (let j = 0; j < segs.length; j++) {
      const o = segs[j][outAt] as Float32Array | Float64Array;
      const a = aux[j];
      const c = !Number.isFinite(m) ? (m === -Infinity ? 0 : NaN) : a[0] > -Infinity ? (a[2] * Math.exp((a[0] - m) / T)) / s : 0;
      engine.run('affineRows', f32, [o, 1, o.length, c, 0, o]);
    }
    const out = args[where(name, 'aux')[0]] as Float64Array | null;
    if (out) out.set([m, 0, s], 3 * r);
  },

  // log-softmax: each segment's own, then shifted by its log S and max to the row's
  logSoftmaxRows(engine, name, f32, args, r, cols, seg) {
    const T = args[3] as number;
    const { aux, seg: segs } = parts(engine, name, f32, args, r, cols, seg);
    const { m, ones, rest } = mergeLse(aux, T);
    const ls = Number.isFinite(m) ? logOnesPlus(ones, rest) : 0;
    const outAt = where(name, 'out')[0];
    for (let j = 0; j < segs.length; j++) {
      const o = segs[j][outAt] as Float32Array | Float64Array;
      const a = aux[j];
      const c = !Number.isFinite(m) ? (m === -Infinity ? -Infinity : NaN)
        : a[0] > -Infinity ? (a[0] - m) / T + logOnesPlus(a[1], a[2]) - ls : -Infinity;
      engine.run('affineRows', f32, [o, 1, o.length, 1, c, o]);
    }
    const out = args[where(name, 'aux')[0]] as Float64Array | null;
    if (out) out.set([m, ones, rest], 3 * r);
  },
};

#!/usr/bin/env node
// The log-partition L = log Σ eˣ and the entropy H of softmax(x) over every value of a
// file of float32 logits too large to hold in memory — a vocabulary's scores for a long
// run of tokens, say — read as a stream, one chunk of rows at a time, each chunk's rows
// computed across the pool's workers, the rows' results merged on this thread.
//
//   node examples/stream-file.mjs FILE [--cols 4096] [--chunk-mb 16] [--threads N]
//   node examples/stream-file.mjs --make FILE --mb 1024      (writes a file of random logits)
//
// Memory: one chunk and its rows' results, whatever the file's size.
//
// The merge.  Row r of the file gives Lᵣ = logSumExp(row) and Hᵣ = softmaxEntropy(row).
// With wᵣ = e^(Lᵣ − L) (the row's share of the whole softmax, Σ wᵣ = 1):
//   L = log Σᵣ e^Lᵣ                 (createLogSumExp over the Lᵣ)
//   H = Σᵣ wᵣ·(Hᵣ + L − Lᵣ)         (every term ≥ 0: nothing cancels)
// kept as running sums over the rows seen, rescaled to the largest Lᵣ as it grows:
//   S = Σ e^(Lᵣ − m),  A = Σ e^(Lᵣ − m)·Hᵣ,  B = Σ e^(Lᵣ − m)·(m − Lᵣ)
// so that L = m + log S and H = A/S + (L − m) + B/S = A/S + log S + B/S.
import { open } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createLogSumExp } from 'surprisal';
import { createPool } from 'surprisal/pool';

/** Running (m, S, A, B) of the merge above. */
export class SoftmaxMerge {
  m = -Infinity;
  S = 0;
  A = 0;
  B = 0;
  lse = createLogSumExp();

  add(L, H) {
    this.lse.add(L);
    for (let r = 0; r < L.length; r++) {
      const l = L[r];
      if (l === -Infinity) continue; // a fully masked row: no share
      if (l > this.m) {
        // rescale what is there to the new maximum: e^(old m − new m), and B's (m − Lᵣ) grow by the shift
        const f = this.m === -Infinity ? 0 : Math.exp(this.m - l), shift = l - this.m;
        this.B = f * (this.B + (this.m === -Infinity ? 0 : shift * this.S));
        this.S *= f;
        this.A *= f;
        this.m = l;
      }
      const e = Math.exp(l - this.m);
      this.S += e;
      this.A += e * H[r];
      this.B += e * (this.m - l);
    }
  }

  get value() {
    return { logPartition: this.lse.value, entropy: this.A / this.S + Math.log(this.S) + this.B / this.S };
  }
}

/** Streams `file` (float32, little-endian) in chunks of whole rows through `pool`; returns L, H and what it cost. */
export async function streamFile(file, { cols = 4096, chunkBytes = 16 * 2 ** 20, pool }) {
  const handle = await open(file, 'r');
  const rowsPerChunk = Math.max(1, Math.floor(chunkBytes / (4 * cols)));
  const chunk = pool.array(Float32Array, rowsPerChunk * cols); // read into the pool's memory: no copies
  const merge = new SoftmaxMerge();
  let bytes = 0, peak = process.memoryUsage().rss;
  const start = performance.now();
  try {
    for (;;) {
      const { bytesRead } = await handle.read(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength), 0, chunk.byteLength, bytes);
      if (bytesRead === 0) break;
      if (bytesRead % (4 * cols) !== 0) throw new Error(`${file}: ${bytes + bytesRead} bytes is not a whole number of rows of ${cols} float32`);
      const x = chunk.subarray(0, bytesRead / 4);
      const [L, H] = await Promise.all([pool.logSumExp(x, { cols }), pool.softmaxEntropy(x, { cols })]);
      merge.add(L, H);
      bytes += bytesRead;
      peak = Math.max(peak, process.memoryUsage().rss);
    }
  } finally {
    await handle.close();
  }
  const ms = performance.now() - start;
  return { ...merge.value, bytes, ms, bytesPerNs: bytes / (ms * 1e6), peakRss: peak };
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { cols: { type: 'string', default: '4096' }, 'chunk-mb': { type: 'string', default: '16' }, threads: { type: 'string' }, make: { type: 'boolean' }, mb: { type: 'string', default: '256' } },
  });
  const [file] = positionals;
  if (!file) throw new Error('usage: node examples/stream-file.mjs FILE [--cols 4096] [--chunk-mb 16] [--threads N] | --make FILE --mb 256');
  if (values.make) {
    // random logits in [−8, 8), written 16 MB at a time
    const handle = await open(file, 'w');
    const block = new Float32Array(4 * 2 ** 20);
    for (let mb = 0; mb < Number(values.mb); mb += 16) {
      for (let i = 0; i < block.length; i++) block[i] = Math.random() * 16 - 8;
      await handle.write(new Uint8Array(block.buffer));
    }
    await handle.close();
    return;
  }
  const pool = await createPool(values.threads ? { size: Number(values.threads) } : {});
  try {
    const r = await streamFile(file, { cols: Number(values.cols), chunkBytes: Number(values['chunk-mb']) * 2 ** 20, pool });
    console.log(`${file}: ${(r.bytes / 2 ** 20).toFixed(0)} MB in ${r.ms.toFixed(0)} ms (${r.bytesPerNs.toFixed(2)} bytes/ns, ${pool.size} threads, ${pool.shared ? 'shared memory' : 'transfers'})`);
    console.log(`log Σ eˣ = ${r.logPartition}`);
    console.log(`H(softmax) = ${r.entropy} nats`);
    console.log(`peak resident memory ${(r.peakRss / 2 ** 20).toFixed(0)} MB`);
  } finally {
    await pool.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();

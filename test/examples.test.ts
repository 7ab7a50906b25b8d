// examples/: the streamed log-partition and softmax entropy of a file, against the one-shot
// functions on the whole array (the float32 bound), and through the command line.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { logSumExp, softmaxEntropy } from '../src/index.js';
import { rng } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'surprisal-example-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('examples/stream-file.mjs', () => {
  const cols = 1000, rows = 1500;
  const random = rng(20261204);
  const x = Float32Array.from({ length: rows * cols }, () => random() * 16 - 8);
  for (let i = 0; i < rows * cols; i += 997) x[i] = -Infinity; // masked entries
  x.fill(-Infinity, 7 * cols, 8 * cols); // and a fully masked row
  const file = join(dir, 'logits.f32');
  writeFileSync(file, new Uint8Array(x.buffer));
  const L = logSumExp(x), H = softmaxEntropy(x);

  it('merges the rows of chunks computed in the pool into the whole file\'s values', async () => {
    type Stream = (file: string, o: { cols: number; chunkBytes: number; pool: unknown }) => Promise<{ bytes: number; logPartition: number; entropy: number }>;
    const example = '../examples/stream-file.mjs';
    const { streamFile } = (await import(example)) as { streamFile: Stream };
    const { createPool } = await import('../dist/pool/node.js');
    const pool = await createPool({ size: 2, minElements: 0 });
    try {
      // chunks of 256 KB: 65 rows each, 24 chunks
      const r = await streamFile(file, { cols, chunkBytes: 2 ** 18, pool });
      expect(r.bytes).toBe(4 * rows * cols);
      expect(Math.abs(r.logPartition - L) / Math.abs(L)).toBeLessThanOrEqual(2e-6);
      expect(Math.abs(r.entropy - H) / H).toBeLessThanOrEqual(2e-6);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('runs from the command line', () => {
    const out = execFileSync(process.execPath, ['examples/stream-file.mjs', file, '--cols', String(cols), '--chunk-mb', '1', '--threads', '2'], { encoding: 'utf8' });
    const lse = Number(/log Σ eˣ = (\S+)/.exec(out)![1]), h = Number(/H\(softmax\) = (\S+)/.exec(out)![1]);
    expect(Math.abs(lse - L) / Math.abs(L)).toBeLessThanOrEqual(2e-6);
    expect(Math.abs(h - H) / H).toBeLessThanOrEqual(2e-6);
    expect(out).toMatch(/bytes\/ns/);
    expect(out).toMatch(/peak resident memory \d+ MB/);
  }, 60_000);
});

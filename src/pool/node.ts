// surprisal/pool for Node: the workers are worker_threads.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type Pool, type PoolOptions, startPool, type Transport } from './pool.js';

export { Pool, type PoolOptions } from './pool.js';

/**
 * A pool of worker threads running the row-wise functions on blocks of rows.
 *
 * @example
 * ```ts
 * import { createPool } from 'surprisal/pool';
 * const pool = await createPool({ size: 2 });
 * const loss = await pool.softmaxCrossEntropy(logits, labels, { cols: 1000, grad }); // same value as the single-thread call
 * await pool.close();
 * ```
 */
export function createPool(options: PoolOptions = {}): Promise<Pool> {
  return startPool((backend, memory): Transport => {
    const w = new Worker(new URL('./worker-node.js', import.meta.url), { workerData: { backend, memory } });
    return {
      post: (m, transfer) => w.postMessage(m, transfer),
      listen: (onReply, onError) => {
        w.on('message', onReply);
        w.on('error', onError);
        // (a worker that exits without an error event: process.exit, or its isolate torn down)
        w.on('exit', (code) => onError(new Error(`surprisal pool worker exited (code ${code})`)));
      },
      keepAlive: (on) => (on ? w.ref() : w.unref()),
      terminate: () => w.terminate(),
    };
  }, options, availableParallelism());
}

// surprisal/pool for Node: the workers are worker_threads.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type Pool, type PoolOptions, startPool, type Transport } from './pool.js';

export { Pool, type PoolOptions } from './pool.js';

/**
 * A pool of worker threads running the row-wise functions on chunks of rows; its values
 * are the single-thread functions' bit for bit.
 *
 * @example
 * ```ts
 * import { createPool } from 'surprisal/pool';
 * const pool = await createPool();
 * const logits = pool.array(Float32Array, 4096 * 1000); // rows every thread reads in place
 * const loss = await pool.softmaxCrossEntropy(logits, new Int32Array(4096), { cols: 1000 });
 * await pool.close();
 * ```
 */
export function createPool(options: PoolOptions = {}): Promise<Pool> {
  // the process's CPU time in ms (every thread's: during a call, the pool's threads')
  const cpuTime = () => { const { user, system } = process.cpuUsage(); return (user + system) / 1000; };
  return startPool(() => workerTransport(new Worker(new URL('./worker-node.js', import.meta.url))), options, availableParallelism(), typeof process.cpuUsage === 'function' ? cpuTime : undefined);
}

/** The pool's messages over a worker_threads Worker. @internal */
export function workerTransport(w: Worker): Transport {
  return {
    post: (m, transfer) => w.postMessage(m, transfer as never),
    listen: (onMessage, onError) => {
      w.on('message', onMessage);
      w.on('error', onError);
      // (a worker that exits without an error event: process.exit, or its isolate torn down)
      w.on('exit', (code) => onError(new Error(`surprisal pool worker exited (code ${code})`)));
    },
    keepAlive: (on) => (on ? w.ref() : w.unref()),
    terminate: () => w.terminate(),
  };
}

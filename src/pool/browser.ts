// surprisal/pool for browsers: the workers are module Web Workers.
import { type Pool, type PoolOptions, startPool, type Transport } from './pool.js';

export { Pool, type PoolOptions } from './pool.js';

/**
 * A pool of module Web Workers running the row-wise functions on blocks of rows;
 * SharedArrayBuffer when the page is cross-origin isolated, transfers otherwise.
 *
 * @example
 * ```ts
 * import { createPool } from 'surprisal/pool';
 * const pool = await createPool({ size: navigator.hardwareConcurrency });
 * const probs = await pool.softmax(logits, { cols: 1000 });
 * await pool.close();
 * ```
 */
export function createPool(options: PoolOptions = {}): Promise<Pool> {
  return startPool((backend, memory): Transport => {
    const w = new Worker(new URL('./worker-browser.js', import.meta.url), { type: 'module', name: memory ? `${backend}+memory` : backend });
    return {
      post: (m, transfer) => w.postMessage(m, transfer),
      listen: (onReply, onError) => {
        w.addEventListener('message', (e: MessageEvent) => onReply(e.data));
        w.addEventListener('error', (e: ErrorEvent) => onError(new Error(`surprisal pool worker: ${e.message}`)));
      },
      terminate: () => w.terminate(),
    };
  }, options, (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 2);
}

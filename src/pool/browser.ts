// surprisal/pool for browsers: the workers are module Web Workers.
import { type Pool, type PoolOptions, startPool } from './pool.js';

export { Pool, type PoolOptions } from './pool.js';

/**
 * A pool of module Web Workers running the row-wise functions on chunks of rows: through
 * shared memory where the page is cross-origin isolated, by transferring buffers elsewhere.
 *
 * @example
 * ```ts
 * import { createPool } from 'surprisal/pool';
 * const pool = await createPool({ size: navigator.hardwareConcurrency });
 * const probs = await pool.softmax(new Float32Array(1024 * 1000), { cols: 1000 });
 * await pool.close();
 * ```
 */
export function createPool(options: PoolOptions = {}): Promise<Pool> {
  return startPool(() => {
    const w = new Worker(new URL('./worker-browser.js', import.meta.url), { type: 'module' });
    return {
      post: (m, transfer) => w.postMessage(m, transfer ?? []),
      listen: (onMessage, onError) => {
        w.addEventListener('message', (e: MessageEvent) => onMessage(e.data));
        w.addEventListener('error', (e: ErrorEvent) => onError(new Error(`surprisal pool worker: ${e.message}`)));
      },
      terminate: () => w.terminate(),
    };
  }, options, (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 2);
}

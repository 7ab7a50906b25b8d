// A pool worker's life, whatever the platform: its first message says how it computes
// (shared mode: join the pool's shared memory and take chunks until closed; transfer
// mode: load a backend and answer each chunk's message).
import type { Backend } from '../types.js';
import { type ChunkRequest, serveChunk, sharedWorker, type SharedSetup, transferWorker } from './protocol.js';

type Post = (message: unknown, transfer?: Transferable[]) => void;
type Setup = { mode: 'shared'; backend: Exclude<Backend, 'js'>; setup: SharedSetup } | { mode: 'transfer'; backend: 'auto' | Backend; window: number };

/** Handles the worker's messages: the first is its setup, the others chunks (transfer mode). */
export function worker(post: Post): (message: unknown) => void {
  let started = false;
  let ready: Promise<unknown> = Promise.resolve();
  return (message) => {
    if (!started) {
      started = true;
      const m = message as Setup;
      if (m.mode === 'shared') {
        post({ ready: m.backend });
        // after the ready message is on its way: from here on this thread waits in Atomics.wait
        setTimeout(() => sharedWorker(m.setup, m.backend).catch((e) => post({ error: String(e?.stack ?? e) })), 0);
      } else {
        ready = transferWorker(m.backend, m.window).then((name) => post({ ready: name }), (e) => post({ error: String(e?.message ?? e) }));
      }
      return;
    }
    ready.then(() => {
      const { reply, transfer } = serveChunk(message as ChunkRequest);
      post(reply, transfer);
    });
  };
}

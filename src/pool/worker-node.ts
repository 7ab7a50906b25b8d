// A pool worker under Node's worker_threads.
import { parentPort } from 'node:worker_threads';
import { worker } from './worker.js';

const port = parentPort!;
port.on('message', worker((m, transfer) => port.postMessage(m, transfer as never)));

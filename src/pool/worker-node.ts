// A pool worker under Node's worker_threads.
import { parentPort } from 'node:worker_threads';
import { worker } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('surprisal pool: worker-node.js runs only as a worker thread');
port.on('message', worker((m, transfer) => port.postMessage(m, transfer as never)));

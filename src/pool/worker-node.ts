// A pool worker under Node's worker_threads.
import { parentPort, workerData } from 'node:worker_threads';
import { serve, start, type Request } from './protocol.js';

const ready = start(workerData?.backend ?? 'auto', workerData?.memory === true);
parentPort!.on('message', async (req: Request) => {
  await ready;
  serve(req, (reply, transfer) => parentPort!.postMessage(reply, transfer));
});
ready.then((r) => parentPort!.postMessage({ id: 0, ...r }));

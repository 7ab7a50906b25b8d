// A pool worker whose third softmax kernel call throws, as an engine fault would: what the
// pool does when a worker fails inside a call (test/pool.test.ts).
import { parentPort } from 'node:worker_threads';
import { WasmEngine } from '../../dist/engine.js';
import { worker } from '../../dist/pool/protocol.js';

let calls = 0;
const run = WasmEngine.prototype.run;
WasmEngine.prototype.run = function (name, ...rest) {
  if (name === 'softmaxRows' && ++calls === 3) throw new RangeError('injected fault');
  return run.call(this, name, ...rest);
};
parentPort.on('message', worker((m, transfer) => parentPort.postMessage(m, transfer)));

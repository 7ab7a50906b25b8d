// A pool worker in a browser (a module Web Worker).  Its name carries the backend, and
// "+memory" when the pool asks for a shared WebAssembly memory.
import { serve, start, type Request } from './protocol.js';

const scope = self as unknown as { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown, t?: Transferable[]): void; name: string };
const [backend, memory] = (scope.name || 'auto').split('+');
const ready = start(backend as 'auto', memory === 'memory');
scope.onmessage = async (e: MessageEvent<Request>) => {
  await ready;
  serve(e.data, (reply, transfer) => scope.postMessage(reply, transfer));
};
ready.then((r) => scope.postMessage({ id: 0, ...r }));

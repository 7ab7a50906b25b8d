// A pool worker in a browser (a module Web Worker).
import { handle, start, type Request } from './protocol.js';

const scope = self as unknown as { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown, t?: Transferable[]): void; name: string };
const ready = start((scope.name || 'auto') as 'auto');
scope.onmessage = async (e: MessageEvent<Request>) => {
  await ready;
  const { reply, transfer } = handle(e.data);
  scope.postMessage(reply, transfer);
};
ready.then((backend) => scope.postMessage({ id: 0, ready: backend }));

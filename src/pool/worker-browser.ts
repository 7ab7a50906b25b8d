// A pool worker in a browser (a module Web Worker).
import { worker } from './protocol.js';

const scope = self as unknown as { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown, t?: Transferable[]): void };
const handle = worker((m, transfer) => scope.postMessage(m, transfer));
scope.onmessage = (e: MessageEvent) => handle(e.data);

// A dedicated module Web Worker importing the package by relative path (no import maps in workers).
import * as S from './dist/index.js';
import { onEveryBackend } from './values.js';

(async () => {
  const first = await S.init(); // a fresh worker: what init() picks by itself
  return { first, isolated: self.crossOriginIsolated, ...(await onEveryBackend(S)) };
})().then((r) => postMessage(r), (e) => postMessage({ error: String((e && e.stack) || e) }));

// Vite config for the demo (`npm run demo`, `npm run demo:build`).  The root is demo/;
// the page imports the library from ../src (TypeScript, compiled by Vite), and the
// worker uses dynamic imports (the inlined wasm), so it is built as an ES module.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './', // the static build works from any path
  worker: { format: 'es' },
  build: {
    outDir: '../dist-demo', // `npm run demo:build` passes --outDir dist-demo, which wins (demo/dist-demo)
    emptyOutDir: true,
    target: 'es2022',
  },
  server: { fs: { allow: ['..'] } },
});

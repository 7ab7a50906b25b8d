import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Vitest's default is one file at a time less than the cores, which on a 2-core
    // machine runs the files one by one. The suite is deterministic beside other load
    // (no test asserts timing), so take every core there; elsewhere keep the default.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});

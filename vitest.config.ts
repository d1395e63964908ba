import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Each file has its own database; two workers match the 2-core machines CI runs on.
    maxWorkers: 2,
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each target's test sets its own timeout from FUZZ_SECONDS.
    testTimeout: 600_000,
    hookTimeout: 60_000,
  },
});

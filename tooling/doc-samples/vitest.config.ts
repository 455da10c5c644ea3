import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every sample has its own timeout (the runner's); these bound a whole document.
    testTimeout: 90_000,
    hookTimeout: 30_000,
  },
});

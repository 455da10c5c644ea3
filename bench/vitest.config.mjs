import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.mjs'],
    // The section tests start gateways, a redis-server and a nats-server of their own.
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
});

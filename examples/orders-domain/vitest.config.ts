import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'example-orders-domain',
    include: ['src/**/*.test.ts'],
    // The store and migration tests run on a real PostgreSQL; a busy machine makes each step slower.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

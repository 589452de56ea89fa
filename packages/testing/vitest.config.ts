import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'testing',
    include: ['src/**/*.test.ts'],
    // Starts a real PostgreSQL and a real Unleash server (first start migrates the database).
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});

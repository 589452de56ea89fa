import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'migrations',
    include: ['src/**/*.test.ts'],
    // The real-database tests start a real PostgreSQL (about a second, more on a busy machine).
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

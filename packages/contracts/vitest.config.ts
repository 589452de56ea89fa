import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'contracts',
    include: ['src/**/*.test.ts'],
    // Pact's native library crashes worker threads; child processes are safe.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'example-orders-express',
    include: ['src/**/*.test.ts'],
    // Pact's native library (the contract test) crashes worker threads: one process per test file.
    pool: 'forks',
    // Each test of the service contract starts the built service as a child process (on PostgreSQL, on a
    // fresh database it migrates first): about a second on a quiet machine, several beside stress-ng.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'example-orders-express',
    include: ['src/**/*.test.ts'],
    // Pact's native library (the contract test) crashes worker threads: one process per test file.
    pool: 'forks',
  },
});

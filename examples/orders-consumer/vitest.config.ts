import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'example-orders-consumer',
    include: ['src/**/*.test.ts'],
    // Pact's native library crashes worker threads (TOOLCHAIN.md): one process per test file.
    pool: 'forks',
  },
});

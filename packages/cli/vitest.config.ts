import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'cli',
    include: ['src/**/*.test.ts'],
    // The CLI runs as a real child process driving real routers and instances.
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});

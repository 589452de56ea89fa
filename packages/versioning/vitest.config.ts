import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'versioning',
    include: ['src/**/*.test.ts'],
    // The changelog CLI tests start the CLI as a child process, some twice: about
    // half a second each on a quiet machine, 2-3 s beside stress-ng (5 s timed out).
    testTimeout: 60_000,
  },
});

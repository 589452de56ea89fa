import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'lifecycle',
    include: ['src/**/*.test.ts'],
    // Tests spawn real Node processes and wait on facts with their own bounds;
    // on a busy machine (stress-ng --cpu 2 beside the suite) a child process
    // alone can take more than vitest's default 5 s to start and drain.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});

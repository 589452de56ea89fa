import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'deploy',
    include: ['src/**/*.test.ts'],
    // Real routers, real child processes and real load: give them room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

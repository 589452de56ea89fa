import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'platform-docker',
    include: ['src/**/*.test.ts'],
    // Real engines, real containers: a container start and an engine start take seconds on a busy machine.
    testTimeout: 90_000,
    hookTimeout: 120_000,
  },
});

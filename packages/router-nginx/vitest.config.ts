import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'router-nginx',
    include: ['src/**/*.test.ts'],
    // Real processes, real sockets and real load: give them room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

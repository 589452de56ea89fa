import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'toggles',
    include: ['src/**/*.test.ts'],
    // Some tests start a real PostgreSQL and a real Unleash server.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});

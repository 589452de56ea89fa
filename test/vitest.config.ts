import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'e2e',
    include: ['src/**/*.test.ts'],
    // Each file starts its own HAProxy and processes; they share two cores.
    fileParallelism: false,
    // Generous: a rolling-restart run takes ~1 min on a quiet 2-core machine and
    // twice that beside stress-ng; the tests wait on facts, so a bound this
    // long only decides how soon a hung test is reported.
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});

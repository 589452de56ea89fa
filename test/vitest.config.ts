import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'e2e',
    include: ['src/**/*.test.ts'],
    // Each file starts its own HAProxy, engines and processes under unique names and ports, so
    // these files run beside the others (two at a time, see the root config) rather than alone
    // after them: with one at a time they were half the suite's wall time.
    // Generous: a rolling-restart run takes ~1 min on a quiet 2-core machine and
    // twice that beside stress-ng; the tests wait on facts, so a bound this
    // long only decides how soon a hung test is reported.
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});

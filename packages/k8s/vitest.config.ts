import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'k8s',
    include: ['src/**/*.test.ts'],
    // The equivalence test starts real instances and sends them real requests.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'versioning',
    include: ['src/**/*.test.ts'],
  },
});

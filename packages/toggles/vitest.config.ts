import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'toggles',
    include: ['src/**/*.test.ts'],
  },
});

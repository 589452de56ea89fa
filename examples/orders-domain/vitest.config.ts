import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'example-orders-domain',
    include: ['src/**/*.test.ts'],
  },
});

import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'example-orders-express',
    include: ['src/**/*.test.ts'],
  },
});

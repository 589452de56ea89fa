import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'example-orders-fastify',
    include: ['src/**/*.test.ts'],
  },
});

import { defineConfig } from 'vitest/config';

// One run over every workspace project, so `pnpm test` prints a single summary.
// Tests import the built packages (dist/), which `pnpm test` builds first.
export default defineConfig({
  test: {
    projects: ['packages/*', 'examples/*', 'test'],
    reporters: ['default', './scripts/plain-summary-reporter.ts'],
  },
});

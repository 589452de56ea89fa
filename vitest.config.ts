import { defineConfig } from 'vitest/config';

// One run over every workspace project, so `pnpm test` prints a single summary.
// Tests import the built packages (dist/), which `pnpm test` builds first.
export default defineConfig({
  test: {
    projects: ['packages/*', 'examples/*', 'test'],
    // Two test files at a time, whatever the core count (vitest's default is one fewer than the
    // cores: one, here). The files mostly wait on the processes, engines and routers they start,
    // and each is written to pass beside \`stress-ng --cpu 2\`: the suite's wall time nearly halves.
    maxWorkers: 2,
    reporters: ['default', './scripts/plain-summary-reporter.ts'],
  },
});

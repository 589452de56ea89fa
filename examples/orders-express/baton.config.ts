import { defineDeployConfig } from '@baton/deploy';

// The orders service's pipeline: a build enters at staging (baton deploy --env staging) and
// reaches production only by promotion (baton promote <version> --to production), as the very
// artifact that passed staging, through gates checked before any traffic moves.
export default defineDeployConfig({
  service: 'orders',
  release: {
    version: process.env['RELEASE'] ?? 'dev',
    command: 'node',
    args: ['dist/main.js'],
    // A standalone production install (`pnpm --filter @baton/example-orders-express deploy --prod
    // build`), copied whole into the release store: what a promotion or a rollback runs.
    bundle: { root: 'build', include: ['dist', 'package.json', 'node_modules'] },
    env: { BATON_PROPAGATION_DELAY_MS: '1000' },
  },
  timeouts: { readyMs: 15_000, drainMs: 10_000 },
  // Every environment checks these (each may add its own below).
  gates: {
    // The record `node dist/verify-contracts.js <version>` writes after verifying the consumers' pacts.
    contracts: { provider: 'orders-service', results: 'pacts/verification/{version}.json' },
    // The migrations the release ships (read from its bundle), against what runs in the environment.
    migrations: { dir: 'node_modules/@baton/example-orders-domain/migrations' },
  },
  environments: {
    staging: {
      instances: 1,
      // Judged on the canary's numbers before it takes everything.
      strategy: { type: 'canary', steps: [{ setWeight: 50 }, { analysis: { durationMs: 30_000 } }] },
      analysis: { minRequests: 20, onInconclusive: 'continue' },
    },
    production: {
      instances: 3,
      strategy: { type: 'canary', steps: [{ setWeight: 10 }, { analysis: { durationMs: 60_000 } }, { setWeight: 50 }, { analysis: { durationMs: 60_000 } }] },
      gates: { soak: { durationMs: 30 * 60_000 }, approval: true },
    },
  },
});

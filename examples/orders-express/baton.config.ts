import { defineDeployConfig } from '@baton/deploy';

// How long the service keeps serving after readiness fails: its runner reads it from the release's
// environment, and the cluster's timing (baton k8s render) is computed from the same number.
const propagationDelayMs = 1000;

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
    env: { BATON_PROPAGATION_DELAY_MS: String(propagationDelayMs) },
  },
  timeouts: { readyMs: 15_000, drainMs: 10_000 },
  // On a cluster (baton k8s render --env production): the service's own shutdown phases (the lifecycle's
  // defaults but the propagation delay), and the Prometheus Argo Rollouts asks for the canary's analysis.
  kubernetes: {
    namespace: 'orders',
    shutdown: { propagationDelayMs },
    prometheus: { address: 'http://prometheus.monitoring.svc:9090' },
    resources: { requests: { cpu: '250m', memory: '128Mi' }, limits: { memory: '256Mi' } },
  },
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

// One real deploy end to end behind nginx: the orders example, three
// instances, v1 → v2 rolling, then v2 → v3 as a canary, under a steady
// keep-alive load that must lose no request.
import { mkdtemp, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { readStatus, resolveDeployConfig, runDeployCommand, stopService, type DeployConfig, type DeployEvent, type ReleaseSpec, type ResolvedDeployConfig } from '@baton/deploy';
import { startLoad } from '@baton/e2e/harness';
import { afterEach, describe, expect, it } from 'vitest';
import { nginx } from './nginx.test.fixtures.js';
import { routerProvider } from './router-provider.js';

const SERVICE_MAIN = fileURLToPath(new URL('../../../examples/orders-express/dist/main.js', import.meta.url));
// So deploy finds @baton/router-nginx (and the local platform) from here.
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

function release(version: string): ReleaseSpec {
  return { version, command: process.execPath, args: [SERVICE_MAIN], env: { BATON_PROPAGATION_DELAY_MS: '200' } };
}

let stateDir: string | undefined;
let lastConfig: ResolvedDeployConfig | undefined;
afterEach(async () => {
  if (lastConfig) await stopService(lastConfig).catch(() => undefined);
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
  stateDir = undefined;
  lastConfig = undefined;
});

describe.skipIf(!nginx)('baton deploy with router: { kind: nginx }', () => {
  it('rolling v1 → v2, then canary v2 → v3, under load with zero failed requests', async () => {
    stateDir = await mkdtemp('/tmp/bd-');
    const events: DeployEvent[] = [];
    const config = (spec: ReleaseSpec, overrides: Partial<DeployConfig>): ResolvedDeployConfig =>
      (lastConfig = resolveDeployConfig(
        {
          service: 'orders',
          instances: 3,
          stateDir,
          router: { kind: 'nginx' },
          timeouts: { readyMs: 15_000, drainMs: 10_000, stopMs: 10_000 },
          // About lost requests, not the judgement: latency noise of a busy machine must not fail it.
          analysis: { minRequests: 20, onInconclusive: 'continue', minLatencyIncreaseMs: 500 },
          ...overrides,
          release: spec,
        },
        { cwd: stateDir as string, lookupFrom: [PACKAGE_DIR] },
      ));
    const deploy = (spec: ReleaseSpec, overrides: Partial<DeployConfig>) => runDeployCommand(config(spec, overrides), 'deploy', { onEvent: (event) => events.push(event) });
    const serving = async (): Promise<string[]> => {
      const status = await readStatus(config(release('any'), {}));
      if (status.router === undefined || 'error' in status.router) return [];
      return [...new Set(status.router.backends.filter((backend) => backend.state === 'ready' && backend.weight > 0).map((backend) => backend.release))].sort();
    };

    const first = await deploy(release('v1'), { strategy: { type: 'rolling', maxSurge: 1, maxUnavailable: 0 } });
    expect(first.phase, first.reason).toBe('succeeded');
    const status = await readStatus(config(release('any'), {}));
    if (status.router === undefined || 'error' in status.router) throw new Error(`no router: ${JSON.stringify(status.router)}`);
    expect(status.router.kind).toBe('nginx');

    const load = startLoad({
      url: status.router.url,
      connections: 12,
      ratePerSecond: 150,
      maxDurationMs: 150_000,
      maxRequests: 60_000,
      timeoutMs: 5000,
      requests: [{ path: '/orders?limit=5' }, { method: 'POST', path: '/orders', body: JSON.stringify({ customer: 'ada', items: [{ sku: 'nginx-1', quantity: 1 }] }) }],
    });
    await load.waitForResponses(100, 20_000);
    const rolling = await deploy(release('v2'), { strategy: { type: 'rolling', maxSurge: 1, maxUnavailable: 0 } });
    expect(rolling.phase, rolling.reason).toBe('succeeded');
    expect(await serving()).toEqual(['v2']);
    await load.waitForResponses(load.responses() + 50, 30_000);
    const canary = await deploy(release('v3'), { strategy: { type: 'canary', steps: [{ setWeight: 25 }, { analysis: { durationMs: 2500 } }, { setWeight: 60 }, { pause: { durationMs: 1000 } }] } });
    await load.waitForResponses(load.responses() + 50, 30_000);
    const report = await load.stop();

    const summary = `${report.sent} sent, ${report.ok} ok, ${report.failed} failed (${JSON.stringify(report.statuses)}, resets ${report.resets}, lost ${report.lost}, timeouts ${report.timeouts}); first ${JSON.stringify(report.failures.slice(0, 5))}\n${events.map((event) => `  ${event.type}: ${event.message}`).join('\n')}`;
    console.log(`deploy behind nginx: rolling + canary, ${report.sent} sent, ${report.failed} failed, ${report.requestsPerSecond} req/s`);
    expect(canary.phase, canary.reason).toBe('succeeded');
    expect(report.failed, summary).toBe(0);
    expect(report.ok).toBeGreaterThan(300);
    expect(await serving()).toEqual(['v3']);
    // Drain by fact: every instance that left was drained before it was stopped.
    const stopped = events.filter((event) => event.type === 'instance-stopped');
    expect(stopped).toHaveLength(6);
    expect(stopped.every((event) => event.data?.['drained'] === true)).toBe(true);

    // baton down: the instances and both nginx masters go.
    const routerDir = `${stateDir}/r`;
    expect(await routerProvider.isRunning(routerDir)).toBe(true);
    await stopService(config(release('any'), {}));
    expect(await routerProvider.isRunning(routerDir)).toBe(false);
    await expect(fetch(`${status.router.url}/orders?limit=1`)).rejects.toThrow();
  }, 240_000);
});

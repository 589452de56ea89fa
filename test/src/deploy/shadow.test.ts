// Shadow steps in real deploys: the canary-service fixture under a bounded
// keep-alive load through the built-in router; the candidate gets copies of
// live requests, its answers compared with the stable release's, before it
// serves a single user.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeployConfig, DeployEvent, ReleaseSpec, ShadowStatus } from '@baton/deploy';
import { haproxyInstalled } from '@baton/router-haproxy';
import { startLoad, type RunningLoad } from '../harness/index.js';
import { createService, type DeployedService } from './deploy-fixture.js';

const CANARY_SERVICE = fileURLToPath(new URL('../../dist/fixtures/canary-service.js', import.meta.url));

function release(version: string, env: Record<string, string> = {}): ReleaseSpec {
  return { version, command: process.execPath, args: [CANARY_SERVICE], env: { BATON_PROPAGATION_DELAY_MS: '200', ...env } };
}

/** A shadow step of 3 s, then the canary takes half, then all. The release's own field legitimately differs. */
const CONFIG: Partial<DeployConfig> = {
  router: { kind: 'builtin' },
  instances: 2,
  strategy: {
    type: 'canary',
    baseline: false,
    steps: [{ shadow: { durationMs: 3000, timeoutMs: 1000, compare: { ignore: { '*': ['release'] } }, thresholds: { minCompared: 50 } } }, { setWeight: 50 }],
  },
  analysis: { onInconclusive: 'fail' },
};

const explain = (events: readonly DeployEvent[]): string => events.map((event) => `${event.type}: ${event.message}`).join('\n');
const shadowOf = (events: readonly DeployEvent[]): ShadowStatus | undefined => events.find((event) => event.type === 'shadow')?.data?.['shadow'] as ShadowStatus | undefined;

let service: DeployedService | undefined;
let load: RunningLoad | undefined;
afterEach(async () => {
  await load?.stop();
  load = undefined;
  await service?.close();
  service = undefined;
});

/** v1 serving under a keep-alive load of its three routes (bounded in count and time). */
async function serving(): Promise<DeployedService> {
  service = await createService(CONFIG);
  const first = await service.deploy(release('v1'));
  expect(first.phase, first.reason).toBe('succeeded');
  load = startLoad({
    url: await service.routerUrl(),
    connections: 16,
    ratePerSecond: 200,
    maxDurationMs: 120_000,
    maxRequests: 30_000,
    timeoutMs: 5000,
    requests: [{ path: '/fast' }, { path: '/items/1' }, { path: '/fast' }, { path: '/items/2' }, { path: '/slow' }],
  });
  await load.waitForResponses(100, 60_000);
  return service;
}

describe('shadow steps in real deploys', () => {
  it('passes a candidate identical but for the ignored release field, then deploys it; no request fails', async () => {
    const deployed = await serving();
    const outcome = await deployed.deploy(release('v2'));
    expect(outcome.phase, explain(deployed.events)).toBe('succeeded');
    const shadow = shadowOf(deployed.events);
    expect(shadow?.outcome, explain(deployed.events)).toBe('pass');
    expect(shadow?.compared).toBeGreaterThanOrEqual(50);
    expect(shadow?.routes.map((route) => route.route).sort()).toEqual(['GET /fast', 'GET /items/:id', 'GET /slow']);
    const report = await (load as RunningLoad).stop();
    expect(report.failed, JSON.stringify(report)).toBe(0);
  });

  it('rolls back a candidate that changed the answers of one route, naming the route and the field, before it served anyone', async () => {
    const deployed = await serving();
    const outcome = await deployed.deploy(release('v2', { CANARY_FAULTS: JSON.stringify({ '/items/:id': { addField: 'price' } }) }));
    expect(outcome.phase, explain(deployed.events)).toBe('rolled-back');
    expect(outcome.reason).toContain('GET /items/:id');
    expect(outcome.reason).toContain('field $.price (missing against string');
    const shadow = shadowOf(deployed.events);
    expect(shadow?.routes.filter((route) => route.different > 0).map((route) => route.route)).toEqual(['GET /items/:id']);
    // v2 never had a share of the traffic.
    expect(deployed.events.filter((event) => event.type === 'weights').map((event) => (event.data?.['shares'] as Record<string, number>)['v2'] ?? 0).filter((share) => share > 0)).toEqual([]);
    expect(await deployed.servingReleases()).toEqual(['v1']);
    // The report shows the step: copies, differences by route, where, and the candidate's latency.
    const html = await readFile(outcome.report?.html ?? '', 'utf8');
    expect(html).toContain('<h2>Shadow</h2>');
    expect(html).toMatch(/<tr class="fail"><td>GET \/items\/:id<\/td><td>\d+<\/td><td>\d+<\/td><td>[1-9]\d*<\/td><td>0<\/td><td>[\d.]+ ms against [\d.]+ ms<\/td><td>\$\.price: missing → string \(22 chars\) \(×[1-9]\d*\)<\/td><\/tr>/);
    const report = await (load as RunningLoad).stop();
    expect(report.failed, JSON.stringify(report)).toBe(0);
  });

  it('a candidate that hangs during shadowing costs clients nothing: its copies time out, it is rolled back, 0 requests failed', async () => {
    const deployed = await serving();
    const outcome = await deployed.deploy(release('v2', { CANARY_FAULTS: JSON.stringify({ '*': { latencyFactor: 1000 } }), BATON_DRAIN_TIMEOUT_MS: '1000', BATON_GRACE_PERIOD_MS: '10000' }));
    expect(outcome.phase, explain(deployed.events)).toBe('rolled-back');
    const shadow = shadowOf(deployed.events);
    expect(shadow?.outcome).toBe('fail');
    // Its copies of /fast (4 ms × 1000, spread) may now and then come in under the 1 s timeout; nearly all time out.
    const routes = shadow?.routes ?? [];
    expect(routes.reduce((sum, route) => sum + route.candidateErrors, 0), JSON.stringify(routes)).toBeGreaterThanOrEqual(0.9 * routes.reduce((sum, route) => sum + route.mirrored, 0));
    expect(shadow?.reasons.join('\n')).toMatch(/the candidate failed \d+ of \d+ mirrored requests/);
    const report = await (load as RunningLoad).stop();
    expect(report.failed, JSON.stringify(report)).toBe(0);
  });

  it.skipIf(!haproxyInstalled())('is refused before anything starts behind a router that cannot copy requests (HAProxy)', async () => {
    service = await createService({ ...CONFIG, router: { kind: 'haproxy' } });
    const first = await service.deploy(release('v1'));
    expect(first.phase, first.reason).toBe('succeeded');
    const refused = service.deploy(release('v2'));
    await expect(refused).rejects.toThrow(/shadow step, which needs a router that copies requests and compares answers: the built-in one \(router.kind: 'builtin'\)\. The haproxy router cannot; nothing was started/);
    expect(service.events.some((event) => event.type === 'instance-started' && JSON.stringify(event.data ?? {}).includes('v2'))).toBe(false);
    expect(await service.servingReleases()).toEqual(['v1']);
  });
});

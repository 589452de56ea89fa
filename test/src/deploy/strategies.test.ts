// Baton's promise, end to end: every strategy behind every router takes the
// real orders service from v1 to v2 under a steady keep-alive load with zero
// failed requests — no reset, no 502/503, no timeout, no request lost on a
// closing connection (counted per request, not by autocannon).
import { afterEach, describe, expect, it } from 'vitest';
import type { Strategy } from '@baton/deploy';
import { haproxyInstalled } from '@baton/router-haproxy';
import { nginxInstalled } from '@baton/router-nginx';
import { createService, failuresOf, release, steadyLoad, type DeployedService } from './deploy-fixture.js';

const strategies: Record<string, Strategy> = {
  rolling: { type: 'rolling', maxSurge: 1, maxUnavailable: 0 },
  canary: { type: 'canary', steps: [{ setWeight: 25 }, { analysis: { durationMs: 2500 } }, { setWeight: 60 }, { pause: { durationMs: 1000 } }] },
  'blue-green': { type: 'blue-green', rollbackWindowMs: 1500 },
};

const routers = ['builtin' as const, ...(haproxyInstalled() ? (['haproxy'] as const) : []), ...(nginxInstalled() ? (['nginx'] as const) : [])];
if (!haproxyInstalled()) console.log('deploy e2e: haproxy is not installed (apt-get install haproxy; .ci/run does) — the HAProxy deploys are skipped');
if (!nginxInstalled()) console.log('deploy e2e: nginx is not installed (apt-get install nginx; .ci/run does) — the nginx deploys are skipped');

let service: DeployedService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

for (const router of routers) {
  describe(`deploys behind the ${router} router`, () => {
    for (const [name, strategy] of Object.entries(strategies)) {
      it(`${name}: v1 → v2 under load with zero failed requests, then only v2 serves`, async () => {
        // This suite is about lost requests, not the judgement: latency noise of a busy 2-CPU machine must not fail it.
        service = await createService({ router: { kind: router }, strategy, analysis: { minRequests: 20, onInconclusive: 'continue', minLatencyIncreaseMs: 500 } });
        const first = await service.deploy(release('v1'));
        expect(first.phase).toBe('succeeded');
        expect(await service.servingReleases()).toEqual(['v1']);

        const load = steadyLoad(await service.routerUrl());
        await load.waitForResponses(100, 20_000);
        const outcome = await service.deploy(release('v2'));
        // Keep the load on a moment after the last instance left.
        await load.waitForResponses(load.responses() + 50, 30_000);
        const report = await load.stop();

        expect(outcome.phase, outcome.reason).toBe('succeeded');
        expect(report.failed, failuresOf(report, service)).toBe(0);
        expect(report.ok).toBeGreaterThan(300);
        expect(await service.servingReleases()).toEqual(['v2']);
        // Drain by fact: every v1 instance left the router and reported its drain before it was stopped.
        const stopped = service.events.filter((event) => event.type === 'instance-stopped' && event.data?.['release'] === 'v1');
        // The three stable instances, and the canary's fresh baseline (instances of v1 too) retired with it.
        const baseline = service.events.filter((event) => event.type === 'instance-started' && event.data?.['role'] === 'baseline').length;
        expect(baseline).toBe(name === 'canary' ? 1 : 0);
        expect(stopped).toHaveLength(3 + baseline);
        expect(stopped.every((event) => event.data?.['drained'] === true)).toBe(true);
        // And the report of the deploy was written.
        expect(outcome.report?.html).toMatch(/report\.html$/);
      });
    }
  });
}

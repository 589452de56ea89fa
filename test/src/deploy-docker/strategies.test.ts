// Baton's promise on containers: every strategy, behind the built-in router
// and behind HAProxy, takes the real orders service from v1 to v2 as
// containers spread over two Docker engines, under a steady keep-alive load,
// with zero failed requests (counted per request by the load, not by the
// router). Afterwards each engine runs v2 and no container of v1 is left on
// either — asked of the engines themselves, not of Baton.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Strategy } from '@baton/deploy';
import { haproxyInstalled } from '@baton/router-haproxy';
import { failuresOf } from '../deploy/deploy-fixture.js';
import { createDockerService, logFigures, dockerLoad, dockerSkipReason, runningByEngine, startDockerRig, type DockerRig, type DockerService } from './docker-fixture.js';

const strategies: Record<string, Strategy> = {
  rolling: { type: 'rolling', maxSurge: 1, maxUnavailable: 0 },
  canary: { type: 'canary', steps: [{ setWeight: 34 }, { analysis: { durationMs: 2500 } }, { setWeight: 67 }, { pause: { durationMs: 1000 } }] },
  'blue-green': { type: 'blue-green', rollbackWindowMs: 1500 },
};

const skip = dockerSkipReason('deploys on Docker');
const routers = ['builtin' as const, ...(haproxyInstalled() ? (['haproxy'] as const) : [])];
if (!haproxyInstalled()) console.log('deploys on Docker: haproxy is not installed (apt-get install haproxy; .ci/run does) — the HAProxy deploys are skipped');

let rig: DockerRig | undefined;
let service: DockerService | undefined;
beforeAll(async () => {
  if (skip === undefined) rig = await startDockerRig();
}, 180_000);
afterEach(async () => {
  await service?.close();
  service = undefined;
});
afterAll(async () => {
  await rig?.close();
});

for (const router of routers) {
  describe.skipIf(skip !== undefined)(`deploys on two Docker engines behind the ${router} router`, () => {
    for (const [name, strategy] of Object.entries(strategies)) {
      it(`${name}: v1 → v2 under load with zero failed requests; both engines run v2, no v1 container is left`, async () => {
        // About lost requests, not the judgement: latency noise of a busy machine must not fail it.
        service = await createDockerService(rig as DockerRig, { router: { kind: router }, strategy, analysis: { minRequests: 20, onInconclusive: 'continue', minLatencyIncreaseMs: 500 } });
        const first = await service.deploy(service.release('v1'));
        expect(first.phase, first.reason).toBe('succeeded');
        expect(await service.servingReleases()).toEqual(['v1']);

        const load = dockerLoad(await service.routerUrl());
        await load.waitForResponses(100, 20_000);
        const outcome = await service.deploy(service.release('v2'));
        // Keep the load on a moment after the last v1 container left.
        await load.waitForResponses(load.responses() + 50, 30_000);
        const report = await load.stop();
        logFigures(`${router} ${name}`, report, `deploy ${outcome.phase}`);

        expect(outcome.phase, outcome.reason).toBe('succeeded');
        expect(report.failed, failuresOf(report, service)).toBe(0);
        expect(report.ok).toBeGreaterThan(300);
        expect(await service.servingReleases()).toEqual(['v2']);
        // Drain by fact: every v1 instance left the router and reported its drain before its container was stopped.
        const stopped = service.events.filter((event) => event.type === 'instance-stopped' && event.data?.['release'] === 'v1');
        // The three stable instances, and the canary's fresh baseline (instances of v1 too: as many as its 34% needs, 2) retired with it.
        const baseline = service.events.filter((event) => event.type === 'instance-started' && event.data?.['role'] === 'baseline').length;
        expect(baseline).toBe(name === 'canary' ? 2 : 0);
        expect(stopped).toHaveLength(3 + baseline);
        expect(stopped.every((event) => event.data?.['drained'] === true)).toBe(true);

        // The engines' own word: each runs v2, three in all, and neither keeps a v1 container (running or exited).
        const after = await runningByEngine(service);
        for (const [engine, releases] of Object.entries(after)) expect(releases, `engine ${engine}: ${JSON.stringify(after)}`).toContain('v2');
        expect(Object.values(after).flat()).toEqual(['v2', 'v2', 'v2']);
        const leftovers = (await service.containers()).filter((container) => container.release !== 'v2');
        expect(leftovers, JSON.stringify(leftovers)).toEqual([]);
        expect(outcome.report?.html).toMatch(/report\.html$/);
      });
    }
  });
}

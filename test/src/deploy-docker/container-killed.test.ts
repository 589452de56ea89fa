// A candidate container killed mid-deploy (`docker kill`, straight through
// the engine's API, while the canary serves its share in a pause): the
// orchestrator hears it from the engine's events, names the instance, rolls
// back, and v1 serves on both engines as before. The load (reads) loses
// nothing: the reads in flight on the killed container are sent again.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DeployEvent } from '@baton/deploy';
import { haproxyInstalled } from '@baton/router-haproxy';
import { failuresOf } from '../deploy/deploy-fixture.js';
import { createDockerService, logFigures, dockerLoad, READS, dockerSkipReason, runningByEngine, startDockerRig, type DockerRig, type DockerService } from './docker-fixture.js';
import { killContainer } from './engine-api.js';

const skip = dockerSkipReason('containers killed on Docker');
const routers = ['builtin' as const, ...(haproxyInstalled() ? (['haproxy'] as const) : [])];

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
  describe.skipIf(skip !== undefined)(`a candidate container killed mid-deploy, behind the ${router} router`, () => {
    it('is named, the deploy rolls back, v1 serves on both engines; no read fails', async () => {
      service = await createDockerService(rig as DockerRig, {
        router: { kind: router },
        strategy: { type: 'canary', steps: [{ setWeight: 34 }, { pause: { durationMs: 60_000 } }, { setWeight: 67 }] },
        analysis: { minRequests: 20, onInconclusive: 'continue' },
      });
      const svc = service;
      expect((await svc.deploy(svc.release('v1'))).phase).toBe('succeeded');
      const v1 = await runningByEngine(svc);
      const load = dockerLoad(await svc.routerUrl(), READS);
      await load.waitForResponses(100, 20_000);

      // The pause began: the candidate is ready and serves a third of the traffic. Kill its container.
      let killed: Promise<{ id: string; engine: string }> | undefined;
      let pausedAt = 0;
      let rollbackAt = 0;
      const onEvent = (event: DeployEvent): void => {
        const step = event.data?.['step'] as { kind?: string } | undefined;
        if (event.type === 'rollback') rollbackAt = Date.now();
        if (killed !== undefined || event.type !== 'step' || step?.kind !== 'pause') return;
        pausedAt = Date.now();
        killed = (async () => {
          const candidate = (await svc.containers()).find((container) => container.release === 'v2' && container.state === 'running');
          if (candidate?.instance === undefined) throw new Error(`no running v2 container at the pause: ${JSON.stringify(await svc.containers())}`);
          const engine = svc.rig.engines.find((each) => each.name === candidate.engine);
          await killContainer(engine!, candidate.id);
          return { id: candidate.instance, engine: candidate.engine };
        })();
      };
      const outcome = await svc.deploy(svc.release('v2'), {}, onEvent);
      await load.waitForResponses(load.responses() + 50, 30_000);
      const report = await load.stop();
      logFigures(`${router}: candidate killed`, report, `${outcome.phase}: ${outcome.reason}`);
      expect(killed, 'the deploy reached its pause').toBeDefined();
      const victim = await (killed as Promise<{ id: string; engine: string }>);

      expect(outcome.phase, outcome.reason).toBe('rolled-back');
      // Named, with how it ended (the engine reports SIGKILL as exit code 137).
      expect(outcome.reason).toMatch(new RegExp(`instance ${victim.id} exited with signal SIGKILL`));
      // Inside the 60 s pause: the engine's event ended it, not the next step's check.
      expect(rollbackAt, 'a rollback event').toBeGreaterThan(0);
      expect(rollbackAt - pausedAt).toBeLessThan(60_000);
      expect(await svc.servingReleases()).toEqual(['v1']);
      // The engines' word: v1 runs as it did, and no v2 container runs anywhere.
      expect(await runningByEngine(svc)).toEqual(v1);
      const v2 = (await svc.containers()).filter((container) => container.release === 'v2' && container.state === 'running');
      expect(v2).toEqual([]);
      // The load is reads: both routers send a read its server took and died on again, to another server.
      expect(report.failed, failuresOf(report, svc)).toBe(0);
      expect(report.ok).toBeGreaterThan(200);
    });
  });
}

// Releases whose image is wrong, under load on two engines: an image no engine
// has is refused before anything moves (no container, no traffic change, v1
// serving throughout), and an image whose container exits at once is rolled
// back with the container's own last words in the reason. Neither costs a
// request.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Strategy } from '@baton/deploy';
import { failuresOf } from '../deploy/deploy-fixture.js';
import { createDockerService, logFigures, dockerLoad, dockerSkipReason, runningByEngine, runningScript, startDockerRig, type DockerRig, type DockerService } from './docker-fixture.js';

const skip = dockerSkipReason('bad images on Docker');

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

const canary: Strategy = { type: 'canary', steps: [{ setWeight: 34 }, { pause: { durationMs: 1000 } }] };

/** A service serving v1 on both engines behind the built-in router, under load. */
async function serveV1() {
  service = await createDockerService(rig as DockerRig, { router: { kind: 'builtin' }, strategy: canary, analysis: { minRequests: 20, onInconclusive: 'continue' } });
  const first = await service.deploy(service.release('v1'));
  expect(first.phase, first.reason).toBe('succeeded');
  const load = dockerLoad(await service.routerUrl());
  await load.waitForResponses(100, 20_000);
  return { svc: service, load, v1: await runningByEngine(service) };
}

describe.skipIf(skip !== undefined)('bad images on Docker', () => {
  it('an image no engine has: refused before traffic moves, naming the image and the engines; v1 serves on, nothing failed', async () => {
    const { svc, load, v1 } = await serveV1();
    const missing = `baton-e2e-missing:${randomBytes(4).toString('hex')}`;
    const seen = svc.events.length;
    const error = await svc.deploy(svc.release('v3', {}, { image: missing })).then(
      (outcome) => new Error(`the deploy of a missing image ended ${outcome.phase}: ${outcome.reason}`),
      (thrown: unknown) => thrown,
    );
    await load.waitForResponses(load.responses() + 50, 30_000);
    const report = await load.stop();
    logFigures('image missing', report, (error as Error).message);

    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect((error as { code?: string }).code, message).toBe('BATON_ERR_PLATFORM');
    expect(message).toContain(missing);
    for (const engine of svc.rig.engines) expect(message, `names engine ${engine.name}`).toContain(engine.name);
    // Nothing moved: no instance started, no weight changed, no container of v3 exists anywhere.
    const during = svc.events.slice(seen).map((event) => event.type);
    expect(during).not.toContain('instance-started');
    expect(during).not.toContain('weights');
    expect((await svc.containers()).filter((container) => container.release === 'v3')).toEqual([]);
    expect(await runningByEngine(svc)).toEqual(v1);
    expect(await svc.servingReleases()).toEqual(['v1']);
    expect(report.failed, failuresOf(report, svc)).toBe(0);
  });

  it('an image whose container exits at start: rolled back with the container\'s last output in the reason; nothing failed', async () => {
    const { svc, load, v1 } = await serveV1();
    // The same image, told to run something that dies at once (as a release missing its database would).
    const dies = svc.release('v3', {}, runningScript("console.error('fatal: no database at db:5432'); process.exit(3)"));
    const outcome = await svc.deploy(dies);
    await load.waitForResponses(load.responses() + 50, 30_000);
    const report = await load.stop();
    logFigures('image exits at start', report, `${outcome.phase}: ${outcome.reason}`);

    expect(outcome.phase, outcome.reason).toBe('rolled-back');
    expect(outcome.reason).toMatch(/v3-\d+/);
    // The container's own words, from the engine's log of it.
    expect(outcome.reason).toContain('fatal: no database at db:5432');
    // It never got a share of the traffic.
    const shares = svc.events.filter((event) => event.type === 'weights').map((event) => (event.data?.['shares'] ?? {}) as Record<string, number>);
    expect(shares.filter((share) => (share['v3'] ?? 0) > 0)).toEqual([]);
    expect(await svc.servingReleases()).toEqual(['v1']);
    expect(await runningByEngine(svc)).toEqual(v1);
    expect(report.failed, failuresOf(report, svc)).toBe(0);
  });
});

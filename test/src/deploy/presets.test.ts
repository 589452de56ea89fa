// The platform presets, end to end: each takes the real orders service from
// v1 to v2 behind the built-in router under a steady keep-alive load with
// zero failed requests, ends with only v2 serving, and shows, in its events,
// the trait a user of that platform's policy would look for.
import { afterEach, describe, expect, it } from 'vitest';
import type { DeployConfig, DeployEvent } from '@baton/deploy';
import { createService, failuresOf, release, steadyLoad, type DeployedService } from './deploy-fixture.js';

let service: DeployedService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

/** Deploys v1, then v2 by `strategy` under load; returns the events of the v2 deploy. */
async function deployUnderLoad(instances: number, strategy: NonNullable<DeployConfig['strategy']>): Promise<DeployEvent[]> {
  // This suite is about lost requests and the shape of each deploy, not the judgement: latency noise of a
  // busy 2-CPU machine must not fail it.
  service = await createService({ router: { kind: 'builtin' }, instances, strategy, analysis: { minRequests: 20, onInconclusive: 'continue', minLatencyIncreaseMs: 500 } });
  const first = await service.deploy(release('v1'));
  expect(first.phase, first.reason).toBe('succeeded');
  expect(await service.servingReleases()).toEqual(['v1']);

  const load = steadyLoad(await service.routerUrl());
  await load.waitForResponses(100, 20_000);
  const since = service.events.length;
  const outcome = await service.deploy(release('v2'));
  // Keep the load on a moment after the last instance left.
  await load.waitForResponses(load.responses() + 50, 30_000);
  const report = await load.stop();

  expect(outcome.phase, outcome.reason).toBe('succeeded');
  expect(report.failed, failuresOf(report, service)).toBe(0);
  expect(report.ok).toBeGreaterThan(200);
  expect(await service.servingReleases()).toEqual(['v2']);
  // Drain by fact: every v1 instance left the router and had nothing in flight before it was stopped.
  const stopped = service.events.filter((event) => event.type === 'instance-stopped' && event.data?.['release'] === 'v1');
  expect(stopped).toHaveLength(instances);
  expect(stopped.every((event) => event.data?.['drained'] === true)).toBe(true);
  return service.events.slice(since);
}

/** Instances in the router with traffic to share, after each event: in once ready, out once draining. */
function inRouter(events: readonly DeployEvent[], instances: number): number[] {
  let count = instances;
  return events.map((event) => {
    if (event.type === 'instance-ready') count += 1;
    if (event.type === 'instance-draining') count -= 1;
    return count;
  });
}

const sharesOf = (event: DeployEvent): Record<string, number> => (event.data?.['shares'] ?? {}) as Record<string, number>;
const indexOf = (events: readonly DeployEvent[], predicate: (event: DeployEvent) => boolean): number => events.findIndex(predicate);

describe('platform presets deploy under load with zero failed requests', () => {
  it('eb:all-at-once: v2 takes every request in one switch, once its full set is ready; never both at once', async () => {
    const events = await deployUnderLoad(2, { preset: 'eb:all-at-once' });
    const weights = events.filter((event) => event.type === 'weights');
    // No outage and no mix: v1 alone, then v2 alone.
    expect(weights.every((event) => !((sharesOf(event)['v1'] ?? 0) > 0 && (sharesOf(event)['v2'] ?? 0) > 0))).toBe(true);
    const switched = indexOf(events, (event) => event.type === 'weights' && sharesOf(event)['v2'] === 100);
    expect(switched).toBeGreaterThan(0);
    expect(events.slice(0, switched).filter((event) => event.type === 'instance-ready' && event.data?.['release'] === 'v2')).toHaveLength(2);
  });

  it('eb:rolling, batchSize 2 of 3: a batch of two v1 instances drains out first, never fewer than instances − batch serving, no extra instance', async () => {
    const events = await deployUnderLoad(3, { preset: 'eb:rolling', batchSize: 2 });
    const counts = inRouter(events, 3);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(3 - 2);
    expect(Math.max(...counts)).toBeLessThanOrEqual(3);
    // EB's shape: two v1 instances leave (drained) before the first v2 instance starts.
    const firstStart = events.find((event) => event.type === 'instance-started' && event.data?.['release'] === 'v2');
    const before = events.slice(0, firstStart === undefined ? events.length : events.indexOf(firstStart));
    expect(before.filter((event) => event.type === 'instance-draining' && event.data?.['release'] === 'v1')).toHaveLength(2);
  });

  it('eb:rolling-with-additional-batch, batchSize 2 of 3: full capacity throughout (never fewer than 3 serving)', async () => {
    const events = await deployUnderLoad(3, { preset: 'eb:rolling-with-additional-batch', batchSize: 2 });
    const counts = inRouter(events, 3);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(3);
    expect(Math.max(...counts)).toBeLessThanOrEqual(3 + 2);
  });

  it('eb:immutable: the full v2 set serves beside v1 before any v1 instance leaves', async () => {
    const events = await deployUnderLoad(2, { preset: 'eb:immutable' });
    expect(Math.max(...inRouter(events, 2))).toBe(4);
    const firstDrain = indexOf(events, (event) => event.type === 'instance-draining' && event.data?.['release'] === 'v1');
    expect(events.slice(0, firstDrain).filter((event) => event.type === 'instance-ready' && event.data?.['release'] === 'v2')).toHaveLength(2);
    // Both releases shared the traffic for a moment, as EB's two Auto Scaling groups do behind one load balancer.
    expect(events.some((event) => event.type === 'weights' && (sharesOf(event)['v1'] ?? 0) > 0 && (sharesOf(event)['v2'] ?? 0) > 0)).toBe(true);
  });

  it('eb:traffic-splitting, percent 25: v2 is judged while it has 25% of requests, then takes them all', async () => {
    const events = await deployUnderLoad(3, { preset: 'eb:traffic-splitting', percent: 25, evaluationMs: 2000 });
    const analysis = indexOf(events, (event) => event.type === 'analysis');
    expect(analysis).toBeGreaterThan(0);
    const during = events.slice(0, analysis).findLast((event) => event.type === 'weights');
    expect(during, 'a traffic split before the analysis').toBeDefined();
    expect(Math.abs((sharesOf(during as DeployEvent)['v2'] ?? 0) - 25)).toBeLessThanOrEqual(1);
    // Only after the evaluation did v2 get everything.
    const all = indexOf(events, (event) => event.type === 'weights' && sharesOf(event)['v2'] === 100);
    expect(all).toBeGreaterThan(analysis);
  });

  it('heroku:preboot: traffic switches once every v2 instance is ready; v1 is drained after the switch, not before', async () => {
    const events = await deployUnderLoad(2, { preset: 'heroku:preboot' });
    const firstV2Traffic = indexOf(events, (event) => event.type === 'weights' && (sharesOf(event)['v2'] ?? 0) > 0);
    expect(firstV2Traffic).toBeGreaterThan(0);
    expect(events.slice(0, firstV2Traffic).filter((event) => event.type === 'instance-ready' && event.data?.['release'] === 'v2')).toHaveLength(2);
    expect(events.slice(0, firstV2Traffic).some((event) => event.type === 'instance-draining')).toBe(false);
  });
});

// Bad releases, caught and rolled back under load: one that never becomes
// ready, one that crashes on start, one that crashes later, one that answers
// a share of requests with 500, one that is slow. Every one ends with all
// traffic on v1, the candidate stopped, a reason, and failures no worse than
// what the candidate's share of traffic saw.
import { afterEach, describe, expect, it } from 'vitest';
import type { DeployConfig, DeployEvent, Strategy } from '@baton/deploy';
import { createService, failuresOf, release, steadyLoad, type DeployedService } from './deploy-fixture.js';

let service: DeployedService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

const canary: Strategy = { type: 'canary', steps: [{ setWeight: 20 }, { analysis: { durationMs: 3000 } }, { setWeight: 50 }, { pause: { durationMs: 4000 } }] };

/**
 * `overrides` apply to both deploys; `candidate` only to v3's (a short
 * readiness deadline must not fail v1 on a busy machine); `onEvent` sees v3's
 * deploy events as they happen.
 */
async function deployBad(env: Record<string, string>, overrides: Partial<DeployConfig> = {}, candidate: Partial<DeployConfig> = {}, onEvent?: (event: DeployEvent) => void) {
  service = await createService({ router: { kind: 'builtin' }, strategy: canary, analysis: { minRequests: 20, maxLatencyRatio: 2, minLatencyIncreaseMs: 60, onInconclusive: 'fail' }, ...overrides });
  const first = await service.deploy(release('v1'));
  expect(first.phase, first.reason).toBe('succeeded');
  const load = steadyLoad(await service.routerUrl());
  await load.waitForResponses(100, 20_000);
  const outcome = await service.deploy(release('v3', env), candidate, onEvent);
  await load.waitForResponses(load.responses() + 50, 30_000);
  const report = await load.stop();
  expect(outcome.phase, outcome.reason).toBe('rolled-back');
  expect(await service.servingReleases()).toEqual(['v1']);
  const v3Stopped = service.events.filter((event) => event.type === 'instance-stopped' && event.data?.['release'] === 'v3');
  return { outcome, report, v3Stopped };
}

describe('bad releases are rolled back under load', () => {
  it('never ready: rolled back at the readiness deadline, nothing failed', async () => {
    // The deadline also bounds how long the process may take to listen: 2.5 s was too short for a start beside stress-ng.
    const { outcome, report } = await deployBad({ BATON_STARTUP_DELAY_MS: '600000' }, {}, { timeouts: { readyMs: 20_000, drainMs: 10_000, stopMs: 10_000 } });
    expect(outcome.reason).toMatch(/v3-\d+ was not ready within 20000 ms/);
    expect(report.failed, failuresOf(report, service)).toBe(0);
  });

  it('crashes on start: rolled back with its own error message, nothing failed', async () => {
    const { outcome, report } = await deployBad({ BATON_PROPAGATION_DELAY_MS: 'soon' });
    expect(outcome.reason).toMatch(/v3-\d+ did not start/);
    // The instance's own words, from its log.
    expect(outcome.reason).toContain('BATON_PROPAGATION_DELAY_MS must be an integer');
    expect(report.failed, failuresOf(report, service)).toBe(0);
  });

  it('crashes later, while serving its canary share: rolled back at once; only requests in flight on it can fail', async () => {
    const { outcome, report } = await deployBad({ ORDERS_CRASH_AFTER_MS: '1500' }, { strategy: { type: 'canary', steps: [{ setWeight: 20 }, { pause: { durationMs: 8000 } }] } });
    expect(outcome.reason).toMatch(/v3-\d+ exited with code 70/);
    // A process that dies takes its in-flight requests with it; with 12 connections, 20% on it,
    // that is a handful at most. Everything else went on.
    expect(report.failed, failuresOf(report, service)).toBeLessThanOrEqual(12);
    expect(report.ok).toBeGreaterThan(300);
  });

  it('answers 30% of requests with 500: analysis fails it at 20% of traffic; the only failures are its own 500s', async () => {
    const { outcome, report, v3Stopped } = await deployBad({ ORDERS_FAULT_ERROR_RATE: '0.3' });
    expect(outcome.reason).toMatch(/analysis failed/);
    expect(outcome.verdicts.at(-1)?.outcome).toBe('fail');
    const injected = report.statuses['500'] ?? 0;
    expect(injected).toBeGreaterThan(0);
    expect(report.failed, failuresOf(report, service)).toBe(injected);
    // 30% of a 20% share over the ~3 s window (and its rollback) at 150 req/s: well under 100.
    expect(injected).toBeLessThan(100);
    expect(v3Stopped.length).toBeGreaterThan(0);
  });

  it('is slow: analysis fails it on latency; nothing failed', async () => {
    const { outcome, report } = await deployBad({ ORDERS_FAULT_DELAY_MS: '120' });
    expect(outcome.reason).toMatch(/analysis failed/);
    expect(outcome.reason).toMatch(/latenc|p99/i);
    expect(report.failed, failuresOf(report, service)).toBe(0);
  });

  it('crashes in the middle of a rolling deploy: the stable instances already retired are started again before traffic moves back', async () => {
    // The candidate dies once the deploy has retired a v1 instance (a fact from its events), not
    // after a fixed time a busy machine can reach before any retirement.
    const candidates: number[] = [];
    let crashed = false;
    const { outcome, report } = await deployBad(
      {},
      { strategy: { type: 'rolling', maxSurge: 1, maxUnavailable: 0, analysisMs: 1500 }, analysis: { minRequests: 20, onInconclusive: 'continue', minLatencyIncreaseMs: 500 } },
      {},
      (event) => {
        if (event.type === 'instance-started' && event.data?.['release'] === 'v3' && typeof event.data['pid'] === 'number') candidates.push(event.data['pid']);
        if (!crashed && event.type === 'instance-drained' && event.data?.['release'] === 'v1' && candidates[0] !== undefined) {
          crashed = true;
          process.kill(candidates[0], 'SIGKILL');
        }
      },
    );
    expect(outcome.reason).toMatch(/v3-\d+ exited with signal SIGKILL/);
    const events = service?.events ?? [];
    const rollbackAt = events.findIndex((event) => event.type === 'rollback');
    // v1 had lost at least one instance to the deploy, and got it back during the rollback.
    const retiredBefore = events.slice(0, rollbackAt).filter((event) => event.type === 'instance-drained' && event.data?.['release'] === 'v1').length;
    const startedAfter = events.slice(rollbackAt).filter((event) => event.type === 'instance-ready' && event.data?.['release'] === 'v1').length;
    expect(retiredBefore).toBeGreaterThan(0);
    expect(startedAfter).toBe(retiredBefore);
    const status = await import('@baton/deploy').then(({ readStatus }) => readStatus((service as DeployedService).config(release('v1'))));
    expect(status.instances.filter((instance) => instance.release === 'v1' && instance.status === 'ready')).toHaveLength(3);
    expect(report.failed, failuresOf(report, service)).toBeLessThanOrEqual(12);
  });
});

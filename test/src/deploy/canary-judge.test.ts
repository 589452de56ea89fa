// The canary judge in real deploys: `baton deploy` runs a canary of the
// canary-service fixture (real processes behind the built-in router, a fresh
// baseline of the stable release beside the canary) under a steady load of
// three routes, and its analysis must roll back a release slower on one route
// or with one point more errors, naming what failed, and pass a release whose
// only difference is a cold start that settles — against a fresh baseline.
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeployConfig, DeployEvent, ReleaseSpec, Verdict } from '@baton/deploy';
import { startLoad, type RunningLoad } from '../harness/index.js';
import { createService, type DeployedService } from './deploy-fixture.js';

const CANARY_SERVICE = fileURLToPath(new URL('../../dist/fixtures/canary-service.js', import.meta.url));

function canaryRelease(version: string, env: Record<string, string> = {}): ReleaseSpec {
  return { version, command: process.execPath, args: [CANARY_SERVICE], env: { BATON_PROPAGATION_DELAY_MS: '200', ...env } };
}

/** Three routes, the slow one rarer, as a user's service sees them; bounded in count and time. */
function mixedLoad(url: string, ratePerSecond = 300): RunningLoad {
  return startLoad({
    url,
    connections: 24,
    ratePerSecond,
    maxDurationMs: 150_000,
    maxRequests: 60_000,
    timeoutMs: 5000,
    requests: [{ path: '/fast' }, { path: '/items/1' }, { path: '/fast' }, { path: '/items/2' }, { path: '/slow' }],
  });
}

/** A canary judged once at `weight`%; a window with fewer than `minRequests` to the candidate is tried again (bounded). */
function canaryConfig(minRequests: number, weight = 30, durationMs = 4000, baseline = true): Partial<DeployConfig> {
  return {
    router: { kind: 'builtin' },
    instances: 2,
    strategy: { type: 'canary', steps: [{ setWeight: weight }, { analysis: { durationMs } }], baseline },
    analysis: { minRequests, inconclusiveRetries: 8, onInconclusive: 'fail' },
  };
}

function verdicts(events: readonly DeployEvent[]): Verdict[] {
  return events.filter((event) => event.type === 'analysis').map((event) => event.data?.['verdict'] as Verdict);
}

const explain = (events: readonly DeployEvent[]): string => events.map((event) => `${event.type}: ${event.message}`).join('\n');

/** A fresh process's first requests up to 6× slower, settling over its first 600: cold caches, the JIT catching up. */
const COLD = { CANARY_COLD_START: JSON.stringify({ factor: 6, settleRequests: 600 }) };

let service: DeployedService | undefined;
let load: RunningLoad | undefined;
afterEach(async () => {
  await load?.stop();
  load = undefined;
  await service?.close();
  service = undefined;
});

/** v1 deployed and serving under the mixed load, warmed by `warmRequests` responses. */
async function serving(config: Partial<DeployConfig>, v1: ReleaseSpec, warmRequests = 300): Promise<DeployedService> {
  service = await createService(config);
  const first = await service.deploy(v1);
  expect(first.phase, first.reason).toBe('succeeded');
  load = mixedLoad(await service.routerUrl());
  await load.waitForResponses(warmRequests, 60_000);
  return service;
}

describe('the canary judge in real deploys', () => {
  it('rolls back a canary slower on one route only, and names the route', async () => {
    const deployed = await serving(canaryConfig(300), canaryRelease('v1'));
    const outcome = await deployed.deploy(canaryRelease('v2', { CANARY_FAULTS: JSON.stringify({ '/items/:id': { latencyFactor: 4 } }) }));
    expect(outcome.phase, explain(deployed.events)).toBe('rolled-back');
    const failed = verdicts(deployed.events).find((verdict) => verdict.outcome === 'fail');
    expect(failed?.comparedWith?.kind, explain(deployed.events)).toBe('fresh');
    const routes = failed?.routes ?? [];
    expect(routes.filter((route) => route.outcome === 'fail').map((route) => route.route)).toEqual(['GET /items/:id']);
    expect(routes.find((route) => route.route === 'GET /fast')?.outcome).toBe('pass');
    expect(outcome.reason).toContain('v2 fails GET /items/:id');
    expect(await deployed.servingReleases()).toEqual(['v1']);
  });

  it('rolls back a canary with one point more errors over 1,000 requests', async () => {
    // Half the traffic to the canary (and half to its baseline) over 10 s windows: 1,000 requests at 100/s.
    const deployed = await serving(canaryConfig(1000, 50, 10_000), canaryRelease('v1'));
    const outcome = await deployed.deploy(canaryRelease('v2', { CANARY_FAULTS: JSON.stringify({ '*': { errorRate: 0.01 } }) }));
    expect(outcome.phase, explain(deployed.events)).toBe('rolled-back');
    const failed = verdicts(deployed.events).find((verdict) => verdict.outcome === 'fail');
    expect(failed?.releases['v2']?.requests).toBeGreaterThanOrEqual(1000);
    expect(failed?.releases['v2']?.errorRate).toBeCloseTo(0.01, 2);
    // The errors are spread over the three routes: the test over all of them together catches them.
    expect(failed?.routes?.some((route) => route.outcome === 'fail' && route.errors?.failed === true), explain(deployed.events)).toBe(true);
    expect(outcome.reason).toMatch(/more errors/);
  });

  it('judges a canary whose only difference is a cold start that settles: failed against warm instances, passed against a fresh baseline', async () => {
    // Every release starts cold: its first requests up to 6× slower, settling over 600 requests.
    const deployed = await serving(canaryConfig(150), canaryRelease('v1', COLD), 2000);
    // Without a fresh baseline, v2's cold start is held against v1's warm instances, and the verdict says so.
    const againstWarm = await deployed.deploy(canaryRelease('v2', COLD), canaryConfig(150, 30, 4000, false));
    const warm = verdicts(deployed.events).at(-1);
    expect(warm?.comparedWith?.kind).toBe('warm');
    expect(warm?.reasons.join(' ')).toContain('the warm instances of v1');
    expect(againstWarm.phase, explain(deployed.events)).toBe('rolled-back');

    // The same release with a fresh baseline (the default): both start cold, at the same pace.
    deployed.events.length = 0;
    const againstFresh = await deployed.deploy(canaryRelease('v2', COLD));
    expect(againstFresh.phase, explain(deployed.events)).toBe('succeeded');
    const fresh = verdicts(deployed.events).at(-1);
    expect(fresh?.outcome).toBe('pass');
    expect(fresh?.comparedWith?.kind).toBe('fresh');
    expect(await deployed.servingReleases()).toEqual(['v2']);
  });

  it("verifies blue/green's green against what blue served before the switch", async () => {
    const config: Partial<DeployConfig> = {
      router: { kind: 'builtin' },
      instances: 2,
      strategy: { type: 'blue-green', analysisMs: 4000, rollbackWindowMs: 500 },
      analysis: { minRequests: 150, inconclusiveRetries: 8, onInconclusive: 'fail' },
    };
    const deployed = await serving(config, canaryRelease('v1'));
    const healthy = await deployed.deploy(canaryRelease('v2'));
    expect(healthy.phase, explain(deployed.events)).toBe('succeeded');
    const passed = verdicts(deployed.events).at(-1);
    expect(passed?.comparedWith?.kind, explain(deployed.events)).toBe('before');
    expect(passed?.routes?.find((route) => route.route === 'GET /items/:id')?.outcome).toBe('pass');

    deployed.events.length = 0;
    const slow = await deployed.deploy(canaryRelease('v3', { CANARY_FAULTS: JSON.stringify({ '/items/:id': { latencyFactor: 4 } }) }));
    expect(slow.phase, explain(deployed.events)).toBe('rolled-back');
    const failed = verdicts(deployed.events).find((verdict) => verdict.outcome === 'fail');
    expect(failed?.comparedWith).toMatchObject({ kind: 'before', release: 'v2' });
    expect(failed?.routes?.filter((route) => route.outcome === 'fail').map((route) => route.route)).toEqual(['GET /items/:id']);
    expect(await deployed.servingReleases()).toEqual(['v2']);
  });
});

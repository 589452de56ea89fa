// Services whose /metrics wants a bearer token (BATON_METRICS_TOKEN): the
// orchestrator scrapes them with the config's metricsToken, so the canary is
// judged; without it, analysis cannot read the candidate and says so.
import { afterEach, describe, expect, it } from 'vitest';
import { createService, failuresOf, release, steadyLoad, type DeployedService } from './deploy-fixture.js';

let service: DeployedService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

const TOKEN = 'e2e-metrics-secret';
const withToken = (version: string) => release(version, { BATON_METRICS_TOKEN: TOKEN });

describe('metrics behind a token', () => {
  for (const given of [true, false]) {
    it(given ? 'with metricsToken, the canary is analysed and promoted' : 'without it, analysis cannot read the candidate: inconclusive, then rolled back as configured', async () => {
      service = await createService({
        router: { kind: 'builtin' },
        instances: 2,
        strategy: { type: 'canary', steps: [{ setWeight: 50 }, { analysis: { durationMs: 2000 } }] },
        analysis: { minRequests: 20, inconclusiveRetries: 0, onInconclusive: 'fail', minLatencyIncreaseMs: 500 },
        ...(given ? { metricsToken: TOKEN } : {}),
      });
      expect((await service.deploy(withToken('v1'))).phase).toBe('succeeded');
      const load = steadyLoad(await service.routerUrl());
      await load.waitForResponses(100, 20_000);
      const outcome = await service.deploy(withToken('v2'));
      const report = await load.stop();
      expect(report.failed, failuresOf(report, service)).toBe(0);
      if (given) {
        expect(outcome.phase, outcome.reason).toBe('succeeded');
        expect(outcome.verdicts.map((verdict) => verdict.outcome)).toEqual(['pass']);
      } else {
        expect(outcome.phase).toBe('rolled-back');
        expect(outcome.reason).toMatch(/analysis stayed inconclusive/);
        expect(outcome.reason).toMatch(/token|401/);
      }
    });
  }
});

import { describe, expect, it } from 'vitest';
import { resolveDeployConfig } from '../deploy-config.js';
import { planDeploy } from '../strategies/plan.js';
import { describeStep } from '../strategies/step.js';

const resolve = (steps: unknown[]) => resolveDeployConfig({ service: 'orders', release: { version: 'v2', command: 'node' }, instances: 4, strategy: { type: 'canary', steps } }, { cwd: '/srv' });

describe('a shadow step in a canary', () => {
  it('is planned with one candidate instance ready at no share of the traffic, before any weight', () => {
    const config = resolve([{ shadow: { durationMs: 30_000, share: 0.5, methods: ['get', 'post'], compare: { ignore: { '*': ['**.release'] } } } }, { setWeight: 25 }]);
    const steps = planDeploy(config.strategy, config.instances, { hasStable: true });
    expect(steps.slice(0, 3)).toEqual([
      { kind: 'scale', release: 'candidate', instances: 1 },
      { kind: 'shadow', durationMs: 30_000, shadow: { share: 0.5, methods: ['GET', 'POST'], compare: { ignore: { '*': ['**.release'] } } } },
      { kind: 'traffic', candidatePercent: 25 },
    ]);
    expect(describeStep(steps[1] as (typeof steps)[number], { candidate: 'v2', stable: 'v1' })).toBe('shadow v2 for 30 s: a copy of 50% of the GET/POST requests, its answers compared with v1\'s');
  });

  it('refuses bad settings, each named with what is accepted, and nothing else', () => {
    let message = '';
    try {
      resolve([{ shadow: { durationMs: 10, share: 0, methods: ['GET /x'], compare: { ignore: ['release'], other: 1 }, thresholds: { maxDifferenceRate: -1, nope: 1 }, extra: true } }]);
    } catch (error) {
      message = (error as Error).message;
    }
    for (const expected of [
      'strategy.steps[0].shadow.extra',
      'strategy.steps[0].shadow.durationMs',
      'strategy.steps[0].shadow.share: the share of requests copied, above 0 and at most 1',
      'strategy.steps[0].shadow.methods: HTTP methods',
      'strategy.steps[0].shadow.compare.other',
      "strategy.steps[0].shadow.compare.ignore: JSON paths to leave out, by route ('*' for every route)",
      'strategy.steps[0].shadow.thresholds.nope',
      'strategy.steps[0].shadow.thresholds.maxDifferenceRate: a number, 0 or more',
    ]) {
      expect(message).toContain(expected);
    }
  });
});

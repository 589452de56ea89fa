// The plans are pure: these tests check the promises each strategy makes
// about capacity and traffic, over every small instance count and setting.
import { describe, expect, it } from 'vitest';
import { planBlueGreen, planCanary, planDeploy, planRolling, type Step } from '../index.js';

/** Replays a plan and returns the instance counts after each step. */
function replay(steps: Step[], instances: number): { stable: number; candidate: number }[] {
  const counts = { stable: instances, candidate: 0 };
  const history = [];
  for (const step of steps) {
    if (step.kind === 'scale') counts[step.release] = step.instances;
    history.push({ ...counts });
  }
  return history;
}

describe('planRolling', () => {
  it('replaces every instance one by one with the defaults (surge 1, none unavailable)', () => {
    const steps = planRolling({ type: 'rolling' }, 3);
    expect(steps.filter((step) => step.kind === 'scale')).toEqual([
      { kind: 'scale', release: 'candidate', instances: 1 },
      { kind: 'scale', release: 'stable', instances: 2 },
      { kind: 'scale', release: 'candidate', instances: 2 },
      { kind: 'scale', release: 'stable', instances: 1 },
      { kind: 'scale', release: 'candidate', instances: 3 },
      { kind: 'scale', release: 'stable', instances: 0 },
    ]);
    expect(steps[0]).toEqual({ kind: 'traffic', candidatePercent: 'even' });
  });

  it('never has fewer than instances - maxUnavailable serving, nor more than instances + maxSurge running', () => {
    for (let instances = 1; instances <= 6; instances += 1) {
      for (let maxSurge = 0; maxSurge <= 3; maxSurge += 1) {
        for (let maxUnavailable = 0; maxUnavailable <= 3; maxUnavailable += 1) {
          if (maxSurge === 0 && maxUnavailable === 0) continue;
          const steps = planRolling({ type: 'rolling', maxSurge, maxUnavailable }, instances);
          const history = replay(steps, instances);
          for (const { stable, candidate } of history) {
            expect(stable + candidate).toBeGreaterThanOrEqual(Math.max(instances - maxUnavailable, 0));
            expect(stable + candidate).toBeLessThanOrEqual(instances + maxSurge);
          }
          expect(history.at(-1)).toEqual({ stable: 0, candidate: instances });
        }
      }
    }
  });

  it('judges the candidate after every batch when analysis is asked for', () => {
    const steps = planRolling({ type: 'rolling', maxSurge: 1, analysisMs: 5000 }, 2);
    const kinds = steps.map((step) => (step.kind === 'scale' ? `${step.release}:${step.instances}` : step.kind));
    expect(kinds).toEqual(['traffic', 'candidate:1', 'analysis', 'stable:1', 'candidate:2', 'analysis', 'stable:0']);
  });

  it('refuses settings that can never make progress', () => {
    expect(() => planRolling({ type: 'rolling', maxSurge: 0, maxUnavailable: 0 }, 3)).toThrow(/both 0/);
  });
});

describe('planCanary', () => {
  it('starts enough candidates for each weight, analyses between steps, then promotes and retires the stable release', () => {
    const steps = planCanary({ type: 'canary', steps: [{ setWeight: 10 }, { pause: { durationMs: 1000 } }, { setWeight: 50 }, { pause: {} }], analysisMs: 2000 }, 3);
    expect(steps).toEqual([
      { kind: 'scale', release: 'candidate', instances: 1 },
      { kind: 'traffic', candidatePercent: 10 },
      { kind: 'analysis', durationMs: 2000 },
      { kind: 'pause', durationMs: 1000 },
      { kind: 'scale', release: 'candidate', instances: 2 },
      { kind: 'traffic', candidatePercent: 50 },
      { kind: 'analysis', durationMs: 2000 },
      { kind: 'pause' },
      { kind: 'scale', release: 'candidate', instances: 3 },
      { kind: 'traffic', candidatePercent: 100 },
      { kind: 'scale', release: 'stable', instances: 0 },
    ]);
  });

  it('keeps the stable release at full strength until the candidate takes all traffic', () => {
    const steps = planCanary({ type: 'canary', steps: [{ setWeight: 25 }, { setWeight: 75 }] }, 4);
    const history = replay(steps, 4);
    const trafficAt100 = steps.findIndex((step) => step.kind === 'traffic' && step.candidatePercent === 100);
    for (const [index, counts] of history.entries()) {
      if (index < trafficAt100) expect(counts.stable).toBe(4);
    }
    expect(history.at(-1)).toEqual({ stable: 0, candidate: 4 });
  });
});

describe('planBlueGreen', () => {
  it('starts the whole candidate set before any traffic moves, switches at once, holds, then retires', () => {
    expect(planBlueGreen({ type: 'blue-green', analysisMs: 3000, rollbackWindowMs: 10_000 }, 3)).toEqual([
      { kind: 'traffic', candidatePercent: 0 },
      { kind: 'scale', release: 'candidate', instances: 3 },
      { kind: 'traffic', candidatePercent: 100 },
      { kind: 'analysis', durationMs: 3000 },
      { kind: 'hold', durationMs: 10_000 },
      { kind: 'scale', release: 'stable', instances: 0 },
    ]);
  });
});

describe('planDeploy', () => {
  it('brings a service up with all traffic on its first release, whatever the strategy', () => {
    for (const strategy of [{ type: 'rolling' as const }, { type: 'canary' as const, steps: [{ setWeight: 20 }] }, { type: 'blue-green' as const }]) {
      expect(planDeploy(strategy, 2, { hasStable: false })).toEqual([
        { kind: 'scale', release: 'candidate', instances: 2 },
        { kind: 'traffic', candidatePercent: 100 },
      ]);
    }
  });
});

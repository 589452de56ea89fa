// The plans are pure: these tests check the promises each strategy makes
// about capacity and traffic, over every small instance count and setting.
import { describe, expect, it } from 'vitest';
import { describeStep, planBlueGreen, planCanary, planDeploy, planRolling, type Step } from '../index.js';

/** Replays a plan and returns the instance counts after each step (the baseline's apart: it is never the stable release's own). */
function replay(steps: Step[], instances: number): { stable: number; candidate: number; baseline: number }[] {
  const counts = { stable: instances, candidate: 0, baseline: 0 };
  const history = [];
  for (const step of steps) {
    if (step.kind === 'scale') counts[step.release] = step.instances;
    if (step.kind === 'scale' && step.baseline !== undefined) counts.baseline = step.baseline;
    history.push({ ...counts });
  }
  return history;
}

const hasBaseline = (steps: Step[]): boolean => steps.some((step) => step.kind === 'scale' && (step.release === 'baseline' || step.baseline !== undefined));

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
          expect(history.at(-1)).toEqual({ stable: 0, candidate: instances, baseline: 0 });
        }
      }
    }
  });

  it('judges the candidate after every batch when analysis is asked for', () => {
    const steps = planRolling({ type: 'rolling', maxSurge: 1, analysisMs: 5000 }, 2);
    const kinds = steps.map((step) => (step.kind === 'scale' ? `${step.release}:${step.instances}` : step.kind));
    expect(kinds).toEqual(['traffic', 'candidate:1', 'analysis', 'stable:1', 'candidate:2', 'analysis', 'stable:0']);
    // A rolling deploy mixes both releases evenly: no fresh baseline (it is the canary's).
    expect(hasBaseline(steps)).toBe(false);
  });

  it('refuses settings that can never make progress', () => {
    expect(() => planRolling({ type: 'rolling', maxSurge: 0, maxUnavailable: 0 }, 3)).toThrow(/both 0/);
  });
});

describe('planCanary', () => {
  it('starts enough candidates for each weight, analyses between steps, then promotes and retires the stable release', () => {
    const steps = planCanary({ type: 'canary', steps: [{ setWeight: 10 }, { pause: { durationMs: 1000 } }, { setWeight: 50 }, { pause: {} }], analysisMs: 2000, baseline: false }, 3);
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
    expect(history.at(-1)).toEqual({ stable: 0, candidate: 4, baseline: 0 });
  });

  describe('with a fresh baseline (the default when there is an analysis)', () => {
    it('scales the baseline to the candidate\'s count in the same step, and retires it after the promotion, before the stable release', () => {
      const steps = planCanary({ type: 'canary', steps: [{ setWeight: 10 }, { pause: { durationMs: 1000 } }, { setWeight: 50 }, { pause: {} }], analysisMs: 2000 }, 3);
      expect(steps).toEqual([
        { kind: 'scale', release: 'candidate', instances: 1, baseline: 1 },
        { kind: 'traffic', candidatePercent: 10 },
        { kind: 'analysis', durationMs: 2000 },
        { kind: 'pause', durationMs: 1000 },
        { kind: 'scale', release: 'candidate', instances: 2, baseline: 2 },
        { kind: 'traffic', candidatePercent: 50 },
        { kind: 'analysis', durationMs: 2000 },
        { kind: 'pause' },
        // After the last analysis nothing judges the baseline: it grows no more.
        { kind: 'scale', release: 'candidate', instances: 3 },
        { kind: 'traffic', candidatePercent: 100 },
        { kind: 'scale', release: 'baseline', instances: 0 },
        { kind: 'scale', release: 'stable', instances: 0 },
      ]);
    });

    it('follows the candidate only up to the last analysis step', () => {
      const steps = planCanary({ type: 'canary', steps: [{ setWeight: 25 }, { analysis: { durationMs: 2500 } }, { setWeight: 60 }, { pause: { durationMs: 1000 } }] }, 3);
      expect(steps.filter((step) => step.kind === 'scale')).toEqual([
        { kind: 'scale', release: 'candidate', instances: 1, baseline: 1 },
        { kind: 'scale', release: 'candidate', instances: 2 },
        { kind: 'scale', release: 'candidate', instances: 3 },
        { kind: 'scale', release: 'baseline', instances: 0 },
        { kind: 'scale', release: 'stable', instances: 0 },
      ]);
    });

    it('never runs more baseline than candidate instances, keeps the stable release whole meanwhile, and ends with none', () => {
      for (let instances = 1; instances <= 6; instances += 1) {
        for (const weights of [[5], [20, 50], [10, 30, 60, 90], [50, 100]]) {
          const steps = planCanary({ type: 'canary', steps: weights.flatMap((setWeight) => [{ setWeight }, { analysis: { durationMs: 1000 } }]) }, instances);
          const history = replay(steps, instances);
          const retired = steps.findIndex((step) => step.kind === 'scale' && step.release === 'baseline');
          const stableGone = steps.findIndex((step) => step.kind === 'scale' && step.release === 'stable');
          expect(retired, `${weights.join(',')} × ${instances}`).toBeGreaterThan(-1);
          expect(retired).toBeLessThan(stableGone);
          for (const [index, counts] of history.entries()) {
            expect(counts.baseline).toBeLessThanOrEqual(counts.candidate);
            if (index < stableGone) expect(counts.stable).toBe(instances);
          }
          expect(history.at(-1)).toEqual({ stable: 0, candidate: instances, baseline: 0 });
        }
      }
    });

    it('starts none without an analysis to judge it, when turned off, or before an analysis with no candidate yet', () => {
      expect(hasBaseline(planCanary({ type: 'canary', steps: [{ setWeight: 25 }, { pause: {} }, { setWeight: 75 }] }, 3))).toBe(false);
      expect(hasBaseline(planCanary({ type: 'canary', steps: [{ setWeight: 25 }, { analysis: { durationMs: 1000 } }], baseline: false }, 3))).toBe(false);
      expect(hasBaseline(planCanary({ type: 'canary', steps: [{ analysis: { durationMs: 1000 } }, { setWeight: 25 }] }, 3))).toBe(false);
    });

    it('is said in words: started with the canary, retired with it', () => {
      const names = { candidate: 'v2', stable: 'v1' };
      expect(describeStep({ kind: 'scale', release: 'candidate', instances: 2, baseline: 2 }, names)).toBe('v2 to 2 instances; v1 baseline to 2 instances, started with the canary');
      expect(describeStep({ kind: 'scale', release: 'baseline', instances: 0 }, names)).toBe('v1 baseline to 0 instances, retired with the canary');
      expect(describeStep({ kind: 'scale', release: 'candidate', instances: 1, baseline: 1 })).toBe('candidate release to 1 instance; stable release baseline to 1 instance, started with the canary');
      expect(describeStep({ kind: 'scale', release: 'candidate', instances: 3 }, names)).toBe('v2 to 3 instances');
    });
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
    // A first deploy has no stable release to start a baseline of.
    expect(planDeploy({ type: 'canary', steps: [{ setWeight: 20 }, { analysis: { durationMs: 1000 } }] }, 2, { hasStable: false })).toEqual([
      { kind: 'scale', release: 'candidate', instances: 2 },
      { kind: 'traffic', candidatePercent: 100 },
    ]);
  });

  it('starts a baseline for a canary only: not for blue/green or rolling, whatever their analysis', () => {
    expect(hasBaseline(planDeploy({ type: 'blue-green', analysisMs: 1000 }, 3, { hasStable: true }))).toBe(false);
    expect(hasBaseline(planDeploy({ type: 'rolling', analysisMs: 1000 }, 3, { hasStable: true }))).toBe(false);
    expect(hasBaseline(planDeploy({ type: 'canary', steps: [{ setWeight: 20 }, { analysis: { durationMs: 1000 } }] }, 3, { hasStable: true }))).toBe(true);
  });
});

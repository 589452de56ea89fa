import { describe, expect, it } from 'vitest';
import { backendSettings, type BackendSetting, type ServingInstance } from './index.js';

const stable = (n: number): ServingInstance[] => Array.from({ length: n }, (_, i) => ({ id: `v1-${i + 1}`, role: 'stable' as const }));
const candidate = (n: number): ServingInstance[] => Array.from({ length: n }, (_, i) => ({ id: `v2-${i + 1}`, role: 'candidate' as const }));

/** The candidate's share of requests the router will actually give, in percent. */
function candidateShare(settings: BackendSetting[]): number {
  const total = settings.reduce((sum, setting) => sum + (setting.state === 'ready' ? setting.weight : 0), 0);
  const toCandidate = settings.filter((setting) => setting.id.startsWith('v2') && setting.state === 'ready').reduce((sum, setting) => sum + setting.weight, 0);
  return (100 * toCandidate) / total;
}

describe('backendSettings', () => {
  // Weights are integers up to 256 (HAProxy's range), so a tiny share spread over many instances
  // cannot be exact: 1% over 6 candidate instances against 1 stable is at best 6 / 262.
  it('gives the candidate its percentage of requests within a tenth of a point, for shares of 5% to 95% on up to 6 instances a side', () => {
    for (const percent of [5, 10, 20, 33, 50, 75, 90, 95]) {
      for (let s = 1; s <= 6; s += 1) {
        for (let c = 1; c <= 6; c += 1) {
          const settings = backendSettings(percent, [...stable(s), ...candidate(c)]);
          expect(Math.abs(candidateShare(settings) - percent)).toBeLessThan(0.1);
          for (const setting of settings) expect(setting.weight).toBeLessThanOrEqual(256);
        }
      }
    }
  });

  it('drains a side whose share is zero instead of removing it', () => {
    const settings = backendSettings(0, [...stable(2), ...candidate(1)]);
    expect(settings.find((setting) => setting.id === 'v2-1')).toEqual({ id: 'v2-1', state: 'drain', weight: 0 });
    expect(settings.filter((setting) => setting.state === 'ready')).toHaveLength(2);
  });

  it('never leaves requests with nowhere to go: a side with no instance gives its share to the other', () => {
    expect(candidateShare(backendSettings(30, candidate(2)))).toBe(100);
    expect(backendSettings(100, stable(2)).every((setting) => setting.state === 'ready' && setting.weight > 0)).toBe(true);
  });

  it('spreads traffic evenly over every instance in a rolling mix', () => {
    const weights = new Set(backendSettings('even', [...stable(2), ...candidate(3)]).map((setting) => setting.weight));
    expect(weights.size).toBe(1);
  });
});

import { describe, expect, it } from 'vitest';
import { backendSettings, type BackendSetting, type ServingInstance } from './index.js';

const stable = (n: number): ServingInstance[] => Array.from({ length: n }, (_, i) => ({ id: `v1-${i + 1}`, role: 'stable' as const }));
const candidate = (n: number): ServingInstance[] => Array.from({ length: n }, (_, i) => ({ id: `v2-${i + 1}`, role: 'candidate' as const }));
const baseline = (n: number): ServingInstance[] => Array.from({ length: n }, (_, i) => ({ id: `v1-b${i + 1}`, role: 'baseline' as const }));

/** The share of requests the router will actually give to the backends whose id starts with `prefix`, in percent. */
function shareOf(settings: BackendSetting[], prefix: string): number {
  const total = settings.reduce((sum, setting) => sum + (setting.state === 'ready' ? setting.weight : 0), 0);
  const to = settings.filter((setting) => setting.id.startsWith(prefix) && setting.state === 'ready').reduce((sum, setting) => sum + setting.weight, 0);
  return (100 * to) / total;
}

const candidateShare = (settings: BackendSetting[]): number => shareOf(settings, 'v2');
const baselineShare = (settings: BackendSetting[]): number => shareOf(settings, 'v1-b');
const warmShare = (settings: BackendSetting[]): number => 100 - candidateShare(settings) - baselineShare(settings);

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

  describe('with a fresh baseline beside the canary', () => {
    it('gives the baseline the same share as a candidate of the same size, and the warm stable instances the rest, up to 50%', () => {
      for (const percent of [5, 10, 20, 25, 33, 50]) {
        for (let s = 1; s <= 6; s += 1) {
          for (let c = 1; c <= 4; c += 1) {
            const settings = backendSettings(percent, [...stable(s), ...candidate(c), ...baseline(c)]);
            expect(Math.abs(candidateShare(settings) - percent), `${percent}% over ${s}+${c}+${c}`).toBeLessThan(0.2);
            expect(Math.abs(baselineShare(settings) - percent), `${percent}% over ${s}+${c}+${c}`).toBeLessThan(0.2);
            for (const setting of settings) expect(setting.weight).toBeLessThanOrEqual(256);
          }
        }
      }
      const settings = backendSettings(20, [...stable(3), ...candidate(1), ...baseline(1)]);
      expect(warmShare(settings)).toBeCloseTo(60, 0);
    });

    it('above 50%, gives the baseline what is left and the warm stable instances nothing (drained, still running)', () => {
      for (const percent of [60, 75, 90]) {
        const settings = backendSettings(percent, [...stable(3), ...candidate(2), ...baseline(2)]);
        expect(candidateShare(settings)).toBeCloseTo(percent, 0);
        expect(baselineShare(settings)).toBeCloseTo(100 - percent, 0);
        expect(settings.filter((setting) => setting.id.startsWith('v1-') && !setting.id.startsWith('v1-b'))).toEqual(stable(3).map(({ id }) => ({ id, state: 'drain', weight: 0 })));
      }
    });

    it('gives each baseline instance what one candidate instance gets when the baseline is smaller', () => {
      // After the last analysis the candidate grows on and the baseline does not: 60% over 2 candidates is 30% each.
      const settings = backendSettings(60, [...stable(3), ...candidate(2), ...baseline(1)]);
      expect(candidateShare(settings)).toBeCloseTo(60, 0);
      expect(baselineShare(settings)).toBeCloseTo(30, 0);
      expect(warmShare(settings)).toBeCloseTo(10, 0);
    });

    it('takes the baseline out of traffic with the candidate: at 0% (a rollback) and at 100% (the promotion)', () => {
      const back = backendSettings(0, [...stable(3), ...candidate(2), ...baseline(2)]);
      expect(back.filter((setting) => setting.state === 'drain').map((setting) => setting.id)).toEqual(['v2-1', 'v2-2', 'v1-b1', 'v1-b2']);
      expect(warmShare(back)).toBe(100);
      const promoted = backendSettings(100, [...stable(3), ...candidate(3), ...baseline(2)]);
      expect(candidateShare(promoted)).toBe(100);
      expect(promoted.filter((setting) => setting.id.startsWith('v1')).every((setting) => setting.state === 'drain')).toBe(true);
    });

    it('gives the stable share to the baseline when no warm instance is left (the same release), never to nobody', () => {
      const settings = backendSettings(20, [...candidate(1), ...baseline(1)]);
      expect(candidateShare(settings)).toBeCloseTo(20, 0);
      expect(baselineShare(settings)).toBeCloseTo(80, 0);
      // A rollback whose warm instances all died: the baseline carries everything until new ones are ready.
      expect(baselineShare(backendSettings(0, [...candidate(1), ...baseline(2)]))).toBe(100);
      expect(baselineShare(backendSettings(0, baseline(2)))).toBe(100);
    });
  });
});

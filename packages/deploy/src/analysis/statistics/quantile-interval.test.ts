import { histogramQuantile } from '@baton/metrics';
import { describe, expect, it } from 'vitest';
import { BOUNDS, histogram, prng } from './histograms.test.fixtures.js';
import { quantileInterval } from './quantile-interval.js';

const INF = Number.POSITIVE_INFINITY;

describe('quantileInterval', () => {
  it('computes the ranks n·q ∓ z·√(n·q·(1−q)) and interpolates them by hand', () => {
    // n = 400, median rank 200 in (1, 2] holding ranks 100..300: 1 + 100/200 = 1.5;
    // ranks 200 ∓ 1.959964·√100 = 180.40036, 219.59964 → 1 + 80.40036/200, 1 + 119.59964/200.
    const interval = quantileInterval(0.5, [{ le: 1, count: 100 }, { le: 2, count: 300 }, { le: 4, count: 400 }, { le: INF, count: 400 }]);
    expect(interval?.estimate).toBe(1.5);
    expect(interval?.lower).toBeCloseTo(1.4020018007729973, 12);
    expect(interval?.upper).toBeCloseTo(1.5979981992270027, 12);
  });

  it('matches an independent implementation (Python: the Prometheus interpolation, scipy.stats.norm.isf for z)', () => {
    const latencies = histogram([0, 50, 250, 400, 250, 50]);
    const cases: ReadonlyArray<readonly [number, number, number, number, number]> = [
      [0.5, 0.95, 0.0375, 0.03556314052404824, 0.039436859475951755],
      [0.9, 0.95, 0.09, 0.08628122980617264, 0.09371877019382738],
      [0.99, 0.95, 0.22, 0.20149935187827622, 0.23850064812172378],
      [0.9, 0.99, 0.09, 0.08511270752218814, 0.09488729247781187],
    ];
    for (const [q, confidence, estimate, lower, upper] of cases) {
      const interval = quantileInterval(q, latencies, confidence);
      expect(interval?.estimate).toBeCloseTo(estimate, 14);
      expect(interval?.lower).toBeCloseTo(lower, 14);
      expect(interval?.upper).toBeCloseTo(upper, 14);
    }
  });

  it("gives Prometheus' histogram_quantile as the estimate", () => {
    const buckets = histogram([3, 8, 40, 22, 9, 4, 1, 0, 2, 0, 0, 1]);
    for (const q of [0, 0.1, 0.5, 0.75, 0.95, 0.999, 1]) expect(quantileInterval(q, buckets)?.estimate).toBe(histogramQuantile(q, buckets));
  });

  it('answers with the highest finite bound in the +Inf bucket (an under-statement)', () => {
    const slowTail = histogram([0, 0, 0, 0, 0, 0, 0, 0, 0, 900, 60, 40]);
    expect(quantileInterval(0.99, slowTail)).toEqual({ estimate: 10, lower: 10, upper: 10 });
    const p95 = quantileInterval(0.95, slowTail);
    expect(p95?.estimate).toBeCloseTo(9.166666666666668, 12);
    expect(p95?.lower).toBeCloseTo(8.04099003686495, 12);
    expect(p95?.upper).toBe(10); // rank 963 is in +Inf: the truth is somewhere above 10
  });

  it('covers the true quantile about as often as it claims', () => {
    // 400 samples of 1500 exponential latencies (mean 0.2 s) in fine buckets (5% apart); the true p90 is 0.2·ln 10.
    const random = prng(7);
    const bounds = [...Array.from({ length: 160 }, (_, k) => 0.001 * 1.05 ** k), INF];
    const truth = 0.2 * Math.log(10);
    let covered = 0;
    const trials = 400;
    for (let trial = 0; trial < trials; trial += 1) {
      const perBucket = new Array<number>(bounds.length).fill(0);
      for (let i = 0; i < 1500; i += 1) {
        const value = -0.2 * Math.log(1 - random());
        const index = bounds.findIndex((le) => value <= le);
        perBucket[index] = (perBucket[index] ?? 0) + 1;
      }
      const interval = quantileInterval(0.9, histogram(perBucket, bounds));
      if (interval !== undefined && interval.lower <= truth && truth <= interval.upper) covered += 1;
    }
    expect(covered / trials).toBeGreaterThan(0.91);
    expect(covered / trials).toBeLessThan(0.99);
  });

  it('widens with confidence and observations narrow it', () => {
    const few = histogram([0, 5, 25, 40, 25, 5]);
    const many = histogram([0, 500, 2500, 4000, 2500, 500]);
    const width = (interval: { lower: number; upper: number } | undefined): number => (interval ? interval.upper - interval.lower : Number.NaN);
    expect(width(quantileInterval(0.5, few, 0.99))).toBeGreaterThan(width(quantileInterval(0.5, few, 0.8)));
    expect(width(quantileInterval(0.5, many))).toBeLessThan(width(quantileInterval(0.5, few)) / 5);
  });

  it('is a single point at q = 0 and q = 1', () => {
    const buckets = histogram([0, 5, 25, 40, 25, 5]);
    for (const q of [0, 1]) {
      const interval = quantileInterval(q, buckets);
      expect(interval?.lower).toBe(interval?.estimate);
      expect(interval?.upper).toBe(interval?.estimate);
    }
  });

  it('is undefined without observations', () => {
    expect(quantileInterval(0.5, [])).toBeUndefined();
    expect(quantileInterval(0.5, histogram([]))).toBeUndefined();
    expect(quantileInterval(0.5, [{ le: INF, count: 12 }])).toBeUndefined(); // no finite bucket: nothing to interpolate in
  });

  it('takes messy buckets like the rank test (unsorted, duplicates, counter arithmetic)', () => {
    const messy = [{ le: INF, count: 399.9999 }, { le: 2, count: 200 }, { le: 4, count: 400.0001 }, { le: 1, count: 100 }, { le: 2, count: 100 }];
    expect(quantileInterval(0.5, messy)).toEqual(quantileInterval(0.5, [{ le: 1, count: 100 }, { le: 2, count: 300 }, { le: 4, count: 400 }, { le: INF, count: 400 }]));
  });

  it('rejects a bad q, confidence or histogram', () => {
    const buckets = histogram([1, 2, 3]);
    const invalid = (message: RegExp) => expect.objectContaining({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringMatching(message) });
    for (const q of [-0.1, 1.5, Number.NaN]) expect(() => quantileInterval(q, buckets)).toThrow(invalid(/^quantileInterval: q must be between 0 and 1, e\.g\. 0\.99, got /));
    for (const confidence of [0, 1, 95]) expect(() => quantileInterval(0.5, buckets, confidence)).toThrow(invalid(/^quantileInterval: confidence must be between 0 and 1 \(exclusive\)/));
    expect(() => quantileInterval(0.5, [{ le: 1, count: 4 }])).toThrow(invalid(/^quantileInterval buckets: no \+Inf bucket/));
    expect(() => quantileInterval(0.5, [{ le: INF, count: -1 }])).toThrow(invalid(/^quantileInterval buckets: the count at le=Infinity/));
  });
});

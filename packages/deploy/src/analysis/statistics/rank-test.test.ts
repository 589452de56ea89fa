import type { HistogramBucket } from '@baton/metrics';
import { describe, expect, it } from 'vitest';
import { BOUNDS, histogram, prng } from './histograms.test.fixtures.js';
import { latencyShift, normalizeBuckets } from './rank-test.js';


/** The textbook test over raw observations: mid-ranks for ties, U from the candidate's rank sum. */
function bruteForce(candidate: readonly number[], baseline: readonly number[]): { u: number; z: number } {
  const all = [...candidate.map((value) => ({ value, mine: true })), ...baseline.map((value) => ({ value, mine: false }))].sort((x, y) => x.value - y.value);
  let rankSum = 0;
  let ties = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]?.value === all[i]?.value) j += 1;
    const midRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k += 1) if (all[k]?.mine) rankSum += midRank;
    const t = j - i + 1;
    ties += t ** 3 - t;
    i = j + 1;
  }
  const n1 = candidate.length;
  const n2 = baseline.length;
  const n = n1 + n2;
  const u = rankSum - (n1 * (n1 + 1)) / 2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1))));
  return { u, z: (u - (n1 * n2) / 2 - 0.5) / sigma };
}

describe('latencyShift', () => {
  it('agrees with the brute-force test over the expanded observations, on random histograms', () => {
    const random = prng(20240917);
    let compared = 0;
    for (let round = 0; round < 40; round += 1) {
      const fine = BOUNDS.slice(-(2 + Math.floor(random() * 7))); // 2 to 8 buckets, +Inf last
      const finite = fine.slice(0, -1);
      // Half the rounds: each side drops some bounds, so only the common ones can be compared.
      const keep = (): number[] => [...finite.filter(() => round % 2 === 0 || random() < 0.6), Number.POSITIVE_INFINITY];
      const [keptC, keptB] = [keep(), keep()];
      const common = keptC.filter((le) => keptB.includes(le));
      const perBucket = (): number[] => fine.map(() => (random() < 0.25 ? 0 : Math.floor(random() * 12)));
      const [fineC, fineB] = [perBucket(), perBucket()];
      const cumulativeAt = (counts: number[], kept: number[]): HistogramBucket[] =>
        kept.map((le) => ({ le, count: counts.reduce((sum, count, i) => ((fine[i] as number) <= le ? sum + count : sum), 0) }));
      // Each observation becomes the index of the common bucket it falls in.
      const expand = (counts: number[]): number[] => counts.flatMap((count, i) => Array<number>(count).fill(common.findIndex((le) => le >= (fine[i] as number))));
      const [x, y] = [expand(fineC), expand(fineB)];
      const test = latencyShift(cumulativeAt(fineC, keptC), cumulativeAt(fineB, keptB));
      expect(test.candidateObservations).toBe(x.length);
      expect(test.baselineObservations).toBe(y.length);
      if (x.length === 0 || y.length === 0 || new Set([...x, ...y]).size < 2) {
        expect(test.pValue).toBe(1);
        continue;
      }
      const expected = bruteForce(x, y);
      expect(test.probabilitySlower * x.length * y.length).toBeCloseTo(expected.u, 9);
      expect(test.z).toBeCloseTo(expected.z, 12);
      compared += 1;
    }
    expect(compared).toBeGreaterThan(30);
  });

  it('matches scipy.stats.mannwhitneyu', () => {
    // scipy 1.17.1: mannwhitneyu(x, y, alternative='greater', use_continuity=True, method='asymptotic')
    // over the expanded observations (each = its bucket index); z = norm.isf(p).
    const cases: ReadonlyArray<readonly [number[], number[], number, number, number]> = [
      [[3, 10, 20, 5, 2], [8, 15, 12, 3, 1], 0.6451923076923077, 0.009685099751774014, 2.3383287731987537],
      [[1, 0, 0, 2], [0, 3, 1, 0], 0.6666666666666666, 0.289201506748058, 0.5557189302262113],
      [[0, 200, 600, 200], [200, 600, 200], 0.84, 1.3121499833231457e-175, 28.2283618895472],
      [[0, 40, 300, 500, 150, 10], [0, 60, 320, 480, 130, 10], 0.5259, 0.014783389475057808, 2.1758459839472493],
    ];
    for (const [c, b, probabilitySlower, pValue, z] of cases) {
      const test = latencyShift(histogram(c), histogram(b));
      expect(test.method).toBe('mann-whitney u');
      expect(test.probabilitySlower).toBeCloseTo(probabilitySlower, 14);
      expect(Math.abs(test.pValue - pValue) / pValue).toBeLessThan(1e-9);
      expect(test.z).toBeCloseTo(z, 9);
    }
  });

  it('sees no shift between identical histograms', () => {
    for (const counts of [[5, 30, 200, 400, 250, 100, 15], [0, 0, 1, 1], [0, 0, 0, 0, 0, 0, 0, 500_000, 500_000, 1]]) {
      const test = latencyShift(histogram(counts), histogram(counts));
      expect(test.probabilitySlower).toBe(0.5);
      expect(test.pValue).toBeGreaterThanOrEqual(0.5);
    }
  });

  it('finds a candidate one bucket slower on 1000 observations, and not one that is faster', () => {
    const baseline = [0, 50, 250, 400, 250, 50];
    const slower = [0, 0, 50, 250, 400, 250, 50];
    const faster = [50, 250, 400, 250, 50];
    const up = latencyShift(histogram(slower), histogram(baseline));
    expect(up.pValue).toBeLessThan(1e-6);
    expect(up.probabilitySlower).toBeGreaterThan(0.7);
    const down = latencyShift(histogram(faster), histogram(baseline));
    expect(down.pValue).toBeGreaterThan(1 - 1e-6);
    expect(down.probabilitySlower).toBeLessThan(0.3);
  });

  it('compares on the common bounds when the sides bucket differently', () => {
    // The candidate has every bound; the baseline only 0.1 and 1. On those, the two are the same histogram.
    const candidate = histogram([10, 10, 10, 10, 10, 25, 25, 50, 10]);
    const baseline = [{ le: 0.1, count: 50 }, { le: 1, count: 150 }, { le: Number.POSITIVE_INFINITY, count: 160 }];
    const test = latencyShift(candidate, baseline);
    expect(test.probabilitySlower).toBe(0.5);
    expect([test.candidateObservations, test.baselineObservations]).toEqual([160, 160]);
    const onlyInf = latencyShift(histogram([1, 2, 3]), [{ le: 0.3, count: 1 }, { le: Number.POSITIVE_INFINITY, count: 6 }]);
    expect(onlyInf.pValue).toBe(1); // no common finite bound: one block of ties, nothing to rank
  });

  it('answers p = 1 when there is nothing to rank', () => {
    const some = histogram([0, 4, 9, 2]);
    for (const [c, b] of [
      [[], some],
      [some, []],
      [histogram([]), some],
      [histogram([0, 0, 7]), histogram([0, 0, 3])], // all in one bucket on both sides
    ] as const) {
      const test = latencyShift(c, b);
      expect(test).toMatchObject({ pValue: 1, z: 0, probabilitySlower: 0.5 });
    }
  });

  it('takes buckets unsorted, with duplicate bounds, and with counter-arithmetic counts', () => {
    const baseline = histogram([8, 15, 12, 3, 1]);
    const clean = latencyShift(histogram([3, 10, 20, 5, 0, 2]), baseline); // cumulative 3, 13, 33, 38, 38, 40, …
    const messy: HistogramBucket[] = [
      ...BOUNDS.slice(5).reverse().map((le) => ({ le, count: 40.0000003 })),
      { le: 0.01, count: 12.9999999 },
      { le: 0.005, count: 3 },
      { le: 0.025, count: 20 }, // 0.025 twice (`0.025` and `2.5e-2` in two scrapes): 20 + 13 = 33
      { le: 0.025, count: 13 },
      { le: 0.05, count: 38 },
      { le: 0.1, count: 37.6 }, // lost counts to a reset: raised to its predecessor's 38, as Prometheus does
    ];
    const test = latencyShift(messy, baseline);
    expect(test.candidateObservations).toBe(40);
    expect(test.probabilitySlower).toBe(clean.probabilitySlower);
    expect(test.pValue).toBe(clean.pValue);
  });

  it('rejects malformed buckets, saying which side', () => {
    const ok = histogram([1, 2]);
    const invalid = (message: RegExp) => expect.objectContaining({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringMatching(message) });
    expect(() => latencyShift([{ le: 1, count: 3 }], ok)).toThrow(invalid(/^latencyShift: candidate buckets: no \+Inf bucket/));
    expect(() => latencyShift(ok, [{ le: Number.NaN, count: 1 }, { le: Number.POSITIVE_INFINITY, count: 1 }])).toThrow(invalid(/^latencyShift: baseline buckets: a bound \(le\) is NaN/));
    expect(() => latencyShift(ok, [{ le: Number.POSITIVE_INFINITY, count: -2 }])).toThrow(invalid(/^latencyShift: baseline buckets: the count at le=Infinity must be a finite number of at least 0, got -2$/));
    expect(() => latencyShift([{ le: 0.1, count: Number.NaN }, { le: Number.POSITIVE_INFINITY, count: 1 }], ok)).toThrow(invalid(/candidate buckets: the count at le=0.1/));
  });
});

describe('normalizeBuckets', () => {
  it('sorts, sums equal bounds, rounds, and keeps counts from decreasing', () => {
    expect(
      normalizeBuckets('test', [
        { le: Number.POSITIVE_INFINITY, count: 9.4 },
        { le: 0.5, count: 6.6 },
        { le: 0.1, count: 1 },
        { le: 0.1, count: 1.2 },
        { le: 1, count: 5 },
      ]),
    ).toEqual([
      { le: 0.1, count: 2 },
      { le: 0.5, count: 7 },
      { le: 1, count: 7 },
      { le: Number.POSITIVE_INFINITY, count: 9 },
    ]);
    expect(normalizeBuckets('test', [])).toEqual([]);
  });
});

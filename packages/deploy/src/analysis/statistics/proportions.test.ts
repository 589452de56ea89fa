import { describe, expect, it } from 'vitest';
import { errorRateIncrease } from './proportions.js';

function expectRelative(actual: number, expected: number, tolerance: number): void {
  expect(Math.abs(actual - expected) / Math.abs(expected)).toBeLessThan(tolerance);
}

const side = (errors: number, requests: number) => ({ errors, requests });

describe('errorRateIncrease: Fisher exact test', () => {
  it("gives Fisher's tea-tasting p-value (3 of 4 cups right: 17/70)", () => {
    const test = errorRateIncrease(side(3, 4), side(1, 4));
    expect(test.method).toBe('fisher exact');
    expect(test.pValue).toBeCloseTo(17 / 70, 14);
  });

  it('matches scipy on small and large tables', () => {
    // scipy 1.17.1: stats.fisher_exact([[ce, cn - ce], [be, bn - be]], alternative='greater').pvalue
    const cases: ReadonlyArray<readonly [number, number, number, number, number]> = [
      [9, 1000, 0, 1000, 0.0019181357942457892],
      [2, 5, 0, 7, 0.15151515151515152],
      [1, 1, 0, 1, 0.5],
      [8, 100_000, 1, 100_000, 0.01952914065169037],
      [6, 1000, 20, 100_000, 1.8042848487756037e-7],
      [3, 100_000, 0, 100_000, 0.12499812499244199],
      [30, 1000, 0, 100_000, 4.802039886855939e-61],
      [5, 100_000, 1, 3, 0.9999999910006899],
      // 300 baseline errors, ~3 expected on the candidate: both sides of the mode.
      [2, 1000, 300, 100_000, 0.8013004973153601],
      [3, 1000, 300, 100_000, 0.5782597992278112],
      [12, 1000, 300, 100_000, 8.006435953495397e-5],
    ];
    for (const [ce, cn, be, bn, expected] of cases) {
      const test = errorRateIncrease(side(ce, cn), side(be, bn));
      expect(test.method).toBe('fisher exact');
      expectRelative(test.pValue, expected, 1e-8); // log-factorials of ~2e5 leave ~1e-9
    }
  });

  it('calls 0/1000 vs 10/1000 errors a clear increase', () => {
    // Expected errors are exactly 5 per side here, so the z-test answers; one error fewer and Fisher does. Both are clear.
    expect(errorRateIncrease(side(10, 1000), side(0, 1000)).pValue).toBeLessThan(0.01);
    const fisher = errorRateIncrease(side(9, 1000), side(0, 1000));
    expect(fisher.method).toBe('fisher exact');
    expect(fisher.pValue).toBeLessThan(0.01);
  });

  it('answers 1 when neither side has errors, or a side has no requests', () => {
    for (const [c, b] of [
      [side(0, 1000), side(0, 1000)],
      [side(0, 0), side(0, 0)],
      [side(0, 0), side(3, 10)],
      [side(3, 10), side(0, 0)],
    ] as const) {
      const test = errorRateIncrease(c, b);
      expect(test.method).toBe('fisher exact');
      expect(test.pValue).toBe(1);
    }
    expect(errorRateIncrease(side(50, 50), side(50, 50)).pValue).toBe(1); // only errors: nothing to compare either
  });

  it('is near 1 when the candidate is clearly better', () => {
    expect(errorRateIncrease(side(0, 1000), side(10, 1000)).pValue).toBeGreaterThan(0.99);
  });
});

describe('errorRateIncrease: two-proportion z-test', () => {
  it('matches the pooled z-test computed independently', () => {
    // p̂ = (x₁ + x₂)/(n₁ + n₂), z = (p₁ − p₂)/√(p̂(1 − p̂)(1/n₁ + 1/n₂)), p = scipy.stats.norm.sf(z) (scipy 1.17.1)
    const cases: ReadonlyArray<readonly [number, number, number, number, number]> = [
      [10, 1000, 0, 1000, 0.0007616358238233979],
      [30, 1000, 15, 1000, 0.011859321316095729],
      [120, 10_000, 90, 10_000, 0.01871001804045307],
      [500, 100_000, 400, 100_000, 0.0004175985226843293],
      [15, 200, 8, 150, 0.20909659805638536],
    ];
    for (const [ce, cn, be, bn, expected] of cases) {
      const test = errorRateIncrease(side(ce, cn), side(be, bn));
      expect(test.method).toBe('two-proportion z');
      expectRelative(test.pValue, expected, 1e-12);
    }
  });

  it('does not call equal error rates an increase', () => {
    const test = errorRateIncrease(side(10, 1000), side(10, 1000));
    expect(test.method).toBe('two-proportion z');
    expect(test.pValue).toBeGreaterThanOrEqual(0.4);
    expect(test.difference).toBe(0);
  });
});

describe('errorRateIncrease: difference and its upper bound', () => {
  it("reproduces Newcombe's 95% intervals (1998, method 10)", () => {
    // Newcombe, Statistics in Medicine 17:873-890, Table II (two-sided 95% = each end one-sided at 97.5%);
    // the lower end is minus the upper bound of the swapped comparison. Also checked with an independent Python implementation.
    const published: ReadonlyArray<readonly [number, number, number, number, number, number]> = [
      [56, 70, 48, 80, 0.0524, 0.3339],
      [9, 10, 3, 10, 0.1705, 0.809],
      [5, 56, 0, 29, -0.0381, 0.1926],
      [0, 10, 0, 20, -0.1611, 0.2775],
      [10, 10, 0, 20, 0.6791, 1],
    ];
    for (const [x1, n1, x2, n2, lower, upper] of published) {
      expect(errorRateIncrease(side(x1, n1), side(x2, n2), 0.975).upper).toBeCloseTo(upper, 4);
      expect(-errorRateIncrease(side(x2, n2), side(x1, n1), 0.975).upper).toBeCloseTo(lower, 4);
    }
  });

  it('gives the one-sided bound at the confidence asked for', () => {
    // Independent Python implementation of Newcombe's method 10 (Wilson with z = scipy.stats.norm.ppf(confidence)).
    const test = errorRateIncrease(side(10, 1000), side(0, 1000));
    expect(test.difference).toBeCloseTo(0.01, 15);
    expect(test.upper).toBeCloseTo(0.016656992522365112, 12);
    expect(errorRateIncrease(side(0, 1000), side(10, 1000)).upper).toBeCloseTo(-0.005164465757575914, 12);
    expect(errorRateIncrease(side(500, 100_000), side(400, 100_000), 0.99).upper).toBeCloseTo(0.0017004062205379935, 12);
  });

  it('widens with confidence and stays within [difference, 1]', () => {
    const at90 = errorRateIncrease(side(3, 200), side(1, 300), 0.9);
    const at99 = errorRateIncrease(side(3, 200), side(1, 300), 0.99);
    expect(at99.upper).toBeGreaterThan(at90.upper);
    expect(at90.upper).toBeGreaterThan(at90.difference);
    expect(errorRateIncrease(side(0, 0), side(0, 10)).upper).toBeLessThanOrEqual(1);
  });

  it('rounds counter arithmetic to whole requests', () => {
    expect(errorRateIncrease(side(2.9999999, 4.0000001), side(1.0000002, 3.9999998))).toEqual(errorRateIncrease(side(3, 4), side(1, 4)));
    expect(() => errorRateIncrease(side(10.0000001, 10), side(0, 10))).not.toThrow();
  });
});

describe('errorRateIncrease: bad input', () => {
  const invalid = (message: string | RegExp) => expect.objectContaining({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringMatching(message) });

  it('rejects negative, non-finite and impossible counts, naming the side', () => {
    expect(() => errorRateIncrease(side(-1, 10), side(0, 10))).toThrow(invalid(/^errorRateIncrease: candidate\.errors must be a finite count of at least 0, got -1$/));
    expect(() => errorRateIncrease(side(0, 10), side(0, Number.NaN))).toThrow(invalid(/^errorRateIncrease: baseline\.requests must be .*, got NaN$/));
    expect(() => errorRateIncrease(side(0, Number.POSITIVE_INFINITY), side(0, 10))).toThrow(invalid(/candidate\.requests/));
    expect(() => errorRateIncrease(side(0, 10), side(11, 10))).toThrow(invalid(/^errorRateIncrease: baseline\.errors \(11\) cannot exceed baseline\.requests \(10\)$/));
  });

  it('rejects a confidence outside (0, 1)', () => {
    for (const confidence of [0, 1, 95, -0.5, Number.NaN]) {
      expect(() => errorRateIncrease(side(1, 10), side(1, 10), confidence)).toThrow(invalid(/^errorRateIncrease: confidence must be between 0 and 1 \(exclusive\), e\.g\. 0\.95, got /));
    }
  });
});

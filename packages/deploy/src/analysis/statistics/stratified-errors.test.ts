import { describe, expect, it } from 'vitest';
import { errorRateIncrease } from './proportions.js';
import { stratifiedErrorRateIncrease } from './stratified-errors.js';

describe('stratifiedErrorRateIncrease', () => {
  it('on one stratum, is the continuity-corrected Mantel-Haenszel z of that table', () => {
    // E = 1000·10/2000 = 5; V = 1000·1000·10·1990 / (2000²·1999) = 2.48874…; z = (10 − 5 − 0.5)/√V = 2.85247…
    const test = stratifiedErrorRateIncrease([{ candidate: { errors: 10, requests: 1000 }, baseline: { errors: 0, requests: 1000 } }]);
    expect(test.method).toBe('cochran-mantel-haenszel');
    expect(test.pValue).toBeCloseTo(0.002169, 5);
    expect(test.difference).toBeCloseTo(0.01, 12);
    // Sato: W = 500, P = Q = 2.5, var = (0.01·2.5 + 2.5)/500² → upper = 0.01 + 1.6449·0.0031780 = 0.015227.
    expect(test.upper).toBeCloseTo(0.015227, 5);
  });

  it('adds up an increase spread over routes, each too small to show alone', () => {
    const strata = [
      { candidate: { errors: 4, requests: 400 }, baseline: { errors: 0, requests: 380 } },
      { candidate: { errors: 3, requests: 300 }, baseline: { errors: 0, requests: 310 } },
      { candidate: { errors: 3, requests: 300 }, baseline: { errors: 0, requests: 290 } },
    ];
    for (const { candidate, baseline } of strata) expect(errorRateIncrease(candidate, baseline).pValue).toBeGreaterThan(0.05);
    const test = stratifiedErrorRateIncrease(strata);
    expect(test.pValue).toBeLessThan(0.01);
    expect(test.difference).toBeCloseTo(0.01, 3);
    expect(test.upper).toBeGreaterThan(0.01);
  });

  it('is not fooled by a different mix of routes (Simpson): same rates per route, more requests to the error-prone one', () => {
    const strata = [
      // A flaky route failing one request in ten on both sides; the canary got far more of it.
      { candidate: { errors: 40, requests: 400 }, baseline: { errors: 5, requests: 50 } },
      { candidate: { errors: 1, requests: 100 }, baseline: { errors: 5, requests: 500 } },
    ];
    const pooled = errorRateIncrease({ errors: 41, requests: 500 }, { errors: 10, requests: 550 });
    expect(pooled.pValue).toBeLessThan(0.0001);
    const test = stratifiedErrorRateIncrease(strata);
    expect(test.pValue).toBeGreaterThan(0.4);
    expect(Math.abs(test.difference)).toBeLessThan(1e-12);
  });

  it('says nothing without errors or without a side, and sees fewer errors as no increase', () => {
    expect(stratifiedErrorRateIncrease([{ candidate: { errors: 0, requests: 500 }, baseline: { errors: 0, requests: 500 } }])).toEqual({
      method: 'cochran-mantel-haenszel',
      pValue: 1,
      difference: 0,
      upper: 0,
    });
    expect(stratifiedErrorRateIncrease([{ candidate: { errors: 5, requests: 500 }, baseline: { errors: 0, requests: 0 } }])).toMatchObject({ pValue: 1, difference: 0 });
    const better = stratifiedErrorRateIncrease([{ candidate: { errors: 0, requests: 1000 }, baseline: { errors: 10, requests: 1000 } }]);
    expect(better.pValue).toBeGreaterThan(0.99);
    expect(better.difference).toBeCloseTo(-0.01, 12);
  });

  it('refuses counts that cannot be, naming them', () => {
    expect(() => stratifiedErrorRateIncrease([{ candidate: { errors: 3, requests: 2 }, baseline: { errors: 0, requests: 5 } }])).toThrow(
      /stratifiedErrorRateIncrease: strata\[0\]\.candidate\.errors \(3\) cannot exceed strata\[0\]\.candidate\.requests \(2\)/,
    );
    expect(() => stratifiedErrorRateIncrease([{ candidate: { errors: 0, requests: 5 }, baseline: { errors: -1, requests: 5 } }])).toThrow(/strata\[0\]\.baseline\.errors must be a finite count/);
    expect(() => stratifiedErrorRateIncrease([], 1)).toThrow(expect.objectContaining({ code: 'BATON_ERR_INVALID_OPTION' }));
  });
});

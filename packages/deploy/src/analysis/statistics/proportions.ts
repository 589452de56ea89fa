// Why hand-written: the hypergeometric tail and log-factorials on npm are
// @stdlib's (stats-base-dists-hypergeometric-cdf, math-base-special-gammaln),
// each pulling ~250 packages (20 MB) into @baton/deploy; simple-statistics
// has neither a hypergeometric distribution nor Fisher's test. Fisher's tail
// below is a log-factorial and a short recurrence; Newcombe's interval has no
// maintained JavaScript implementation.

import { BatonError } from '@baton/lifecycle';
import { normalQuantile, normalUpperTail } from './normal.js';

/** Errors among requests for one side of a comparison, e.g. over a judging window. */
export interface Counts {
  errors: number;
  requests: number;
}

/** The answer of {@link errorRateIncrease}. */
export interface ProportionTest {
  method: 'fisher exact' | 'two-proportion z';
  /** One-sided p-value of H0 "candidate's error rate <= baseline's" against H1 "candidate's is higher". 1 when neither side has errors. */
  pValue: number;
  /** candidate rate − baseline rate (0.01 = one point). */
  difference: number;
  /** One-sided upper confidence bound of the difference at `confidence` (Newcombe's hybrid score interval, built from Wilson intervals; valid with zero counts). */
  upper: number;
}

/**
 * Whether the candidate's error rate is higher than the baseline's: Fisher's
 * exact test (one-sided, the hypergeometric upper tail) when any expected
 * cell of the 2×2 table is below 5, else the pooled two-proportion z-test;
 * with Newcombe's upper bound of the difference (method 10 of Newcombe 1998).
 *
 * Counts are rounded to integers (counter arithmetic yields 999.9999). A side
 * with no requests says nothing: its rate counts as 0 in `difference`, its
 * Wilson interval is [0, 1], and the p-value is 1. Throws on negative or
 * non-finite counts, errors above requests, and `confidence` outside (0, 1).
 *
 * @example
 * const test = errorRateIncrease({ errors: 10, requests: 1000 }, { errors: 0, requests: 1000 });
 * // { method: 'two-proportion z', pValue: 0.00076, difference: 0.01, upper: 0.0167 }
 */
export function errorRateIncrease(candidate: Counts, baseline: Counts, confidence = 0.95): ProportionTest {
  const c = checkedCounts('errorRateIncrease', 'candidate', candidate);
  const b = checkedCounts('errorRateIncrease', 'baseline', baseline);
  if (!(confidence > 0 && confidence < 1)) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `errorRateIncrease: confidence must be between 0 and 1 (exclusive), e.g. 0.95, got ${confidence}`);
  }
  const candidateRate = c.requests === 0 ? 0 : c.errors / c.requests;
  const baselineRate = b.requests === 0 ? 0 : b.errors / b.requests;
  const difference = candidateRate - baselineRate;
  const upper = newcombeUpper(c, b, normalQuantile(1 - confidence));

  const total = c.requests + b.requests;
  const errors = c.errors + b.errors;
  const expected = [c.requests, b.requests].flatMap((n) => [(n * errors) / total, (n * (total - errors)) / total]);
  // Also reached by every degenerate table (an empty side, no errors, only errors): its expected cells are 0.
  if (total === 0 || expected.some((cell) => cell < 5)) {
    return { method: 'fisher exact', pValue: fisherUpperTail(c.errors, c.requests, b.requests, errors), difference, upper };
  }
  const pooled = errors / total;
  const z = difference / Math.sqrt(pooled * (1 - pooled) * (1 / c.requests + 1 / b.requests));
  return { method: 'two-proportion z', pValue: normalUpperTail(z), difference, upper };
}

/** `counts` rounded to integers (counter arithmetic yields 999.9999); throws, naming `fn` and `side`, on counts that cannot be. */
export function checkedCounts(fn: string, side: string, counts: Counts): Counts {
  for (const field of ['errors', 'requests'] as const) {
    const value = counts[field];
    if (!(Number.isFinite(value) && value >= 0)) {
      throw new BatonError('BATON_ERR_INVALID_OPTION', `${fn}: ${side}.${field} must be a finite count of at least 0, got ${value}`);
    }
  }
  const errors = Math.round(counts.errors);
  const requests = Math.round(counts.requests);
  if (errors > requests) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `${fn}: ${side}.errors (${counts.errors}) cannot exceed ${side}.requests (${counts.requests})`);
  }
  return { errors, requests };
}

/** The Wilson score interval of errors/requests at critical value z; [0, 1] without requests. */
function wilson({ errors, requests }: Counts, z: number): { lower: number; upper: number } {
  if (requests === 0) return { lower: 0, upper: 1 };
  const p = errors / requests;
  const zz = z * z;
  const scale = 1 + zz / requests;
  const centre = (p + zz / (2 * requests)) / scale;
  const half = (z / scale) * Math.sqrt((p * (1 - p)) / requests + zz / (4 * requests * requests));
  // The exact ends at 0 and n errors, where centre ∓ half only cancels to rounding noise.
  return {
    lower: errors === 0 ? 0 : Math.max(0, centre - half),
    upper: errors === requests ? 1 : Math.min(1, centre + half),
  };
}

/** Newcombe's hybrid score upper bound of p₁ − p₂: the Wilson ends of each side combined in quadrature. */
function newcombeUpper(candidate: Counts, baseline: Counts, z: number): number {
  const p1 = candidate.requests === 0 ? 0 : candidate.errors / candidate.requests;
  const p2 = baseline.requests === 0 ? 0 : baseline.errors / baseline.requests;
  const w1 = wilson(candidate, z);
  const w2 = wilson(baseline, z);
  return Math.min(1, p1 - p2 + Math.hypot(w1.upper - p1, p2 - w2.lower));
}

/**
 * ln(n!) for an integer n ≥ 0: the exact product while it is exact in a
 * double, then Stirling's series (its next term, 1/(1188 n⁹), is below 1e-15
 * from n = 20). With N = 200 000 the terms of a hypergeometric log-probability
 * are ~2e6, so the probability itself is good to ~1e-9 relative.
 */
function logFactorial(n: number): number {
  if (n < 20) {
    let product = 1;
    for (let k = 2; k <= n; k += 1) product *= k;
    return Math.log(product);
  }
  const inverse = 1 / n;
  const inverseSquare = inverse * inverse;
  const series = inverse * (1 / 12 - inverseSquare * (1 / 360 - inverseSquare * (1 / 1260 - inverseSquare / 1680)));
  return n * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI * n) + series;
}

function logChoose(n: number, k: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

/**
 * P(X ≥ x) for X hypergeometric: the candidate's errors when `errors` errors
 * fall at random among n₁ candidate and n₂ baseline requests. The sum runs over
 * the tail on the far side of the mode (from x up when x is above the mode,
 * else from x − 1 down, for the complement), from its term nearest the mode
 * outwards by the ratio of neighbouring terms: the terms only shrink, so no
 * overflow, tiny p-values keep their digits, and the sum stops once they no longer count.
 */
function fisherUpperTail(x: number, n1: number, n2: number, errors: number): number {
  const low = Math.max(0, errors - n2);
  const high = Math.min(errors, n1);
  if (x <= low) return 1;
  const total = n1 + n2;
  const logPmf = (k: number): number => logChoose(n1, k) + logChoose(n2, errors - k) - logChoose(total, errors);
  const mode = Math.floor(((n1 + 1) * (errors + 1)) / (total + 2));
  if (x > mode) {
    let term = Math.exp(logPmf(x));
    let sum = term;
    for (let k = x; k < high && term > sum * 1e-17; k += 1) {
      term *= ((errors - k) * (n1 - k)) / ((k + 1) * (n2 - errors + k + 1));
      sum += term;
    }
    return Math.min(1, sum);
  }
  // x ≤ mode: the lower tail P(X ≤ x − 1) is the small one.
  let term = Math.exp(logPmf(x - 1));
  let sum = term;
  for (let k = x - 1; k > low && term > sum * 1e-17; k -= 1) {
    term *= (k * (n2 - errors + k)) / ((errors - k + 1) * (n1 - k + 1));
    sum += term;
  }
  return Math.min(1, Math.max(0, 1 - sum));
}

// Why hand-written: no maintained npm package does the Cochran-Mantel-Haenszel
// test or the Mantel-Haenszel risk difference (simple-statistics and @stdlib
// have neither); both are a sum over the strata.

import { BatonError } from '@baton/lifecycle';
import { normalQuantile, normalUpperTail } from './normal.js';
import { checkedCounts, type Counts } from './proportions.js';

/** One stratum (a route) of a stratified comparison: each side's errors among its requests. */
export interface Stratum {
  candidate: Counts;
  baseline: Counts;
}

/** The answer of {@link stratifiedErrorRateIncrease}. */
export interface StratifiedTest {
  method: 'cochran-mantel-haenszel';
  /** One-sided p-value of H0 "within every stratum, the candidate's error rate is no higher" against a common increase. 1 with no errors at all. */
  pValue: number;
  /** The Mantel-Haenszel risk difference: the candidate's increase in error rate, the strata weighted alike on both sides (0.01 = one point). */
  difference: number;
  /** One-sided upper confidence bound of `difference` at `confidence` (Sato's variance, good for sparse and large strata alike). */
  upper: number;
}

/**
 * Whether the candidate has more errors than the baseline across strata
 * (routes), adjusted for how the requests are spread over them: the
 * Cochran-Mantel-Haenszel test (one-sided, continuity-corrected) with the
 * Mantel-Haenszel risk difference. Errors spread evenly over many routes, too
 * few on each for a test of its own, add up here; a canary that got more
 * requests of an error-prone route does not look worse for it, as it does
 * when the whole release's rates are compared.
 *
 * Counts are rounded to integers. Strata with no requests on a side say
 * nothing and are left out. Throws on negative or non-finite counts, errors
 * above requests, and `confidence` outside (0, 1).
 *
 * @example
 * stratifiedErrorRateIncrease([
 *   { candidate: { errors: 4, requests: 400 }, baseline: { errors: 0, requests: 380 } },
 *   { candidate: { errors: 3, requests: 300 }, baseline: { errors: 0, requests: 310 } },
 *   { candidate: { errors: 3, requests: 300 }, baseline: { errors: 0, requests: 290 } },
 * ]); // pValue ≈ 0.002, difference ≈ 0.01
 */
export function stratifiedErrorRateIncrease(strata: readonly Stratum[], confidence = 0.95): StratifiedTest {
  if (!(confidence > 0 && confidence < 1)) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `stratifiedErrorRateIncrease: confidence must be between 0 and 1 (exclusive), e.g. 0.95, got ${confidence}`);
  }
  let observed = 0;
  let expected = 0;
  let variance = 0;
  let weights = 0;
  let differences = 0;
  const tables: { a: number; c: number; n1: number; n2: number; n: number }[] = [];
  strata.forEach((stratum, index) => {
    const { errors: a, requests: n1 } = checkedCounts('stratifiedErrorRateIncrease', `strata[${index}].candidate`, stratum.candidate);
    const { errors: c, requests: n2 } = checkedCounts('stratifiedErrorRateIncrease', `strata[${index}].baseline`, stratum.baseline);
    if (n1 === 0 || n2 === 0) return;
    const n = n1 + n2;
    const errors = a + c;
    observed += a;
    expected += (n1 * errors) / n;
    if (n > 1) variance += (n1 * n2 * errors * (n - errors)) / (n * n * (n - 1));
    weights += (n1 * n2) / n;
    differences += (a * n2 - c * n1) / n;
    tables.push({ a, c, n1, n2, n });
  });
  if (weights === 0) return { method: 'cochran-mantel-haenszel', pValue: 1, difference: 0, upper: 0 };
  const difference = differences / weights;
  // Sato (1989): var = (RD·ΣP + ΣQ) / W².
  let p = 0;
  let q = 0;
  for (const { a, c, n1, n2, n } of tables) {
    p += (n2 * n2 * a - n1 * n1 * c + (n1 * n2 * (n1 - n2)) / 2) / (n * n);
    q += (a * (n2 - c) + c * (n1 - a)) / (2 * n);
  }
  const spread = Math.sqrt(Math.max(0, difference * p + q)) / weights;
  const upper = Math.min(1, difference + normalQuantile(1 - confidence) * spread);
  // Continuity-corrected; no variance (no errors, or only errors) leaves nothing to test.
  const pValue = variance === 0 ? 1 : normalUpperTail((observed - expected - 0.5) / Math.sqrt(variance));
  return { method: 'cochran-mantel-haenszel', pValue: Math.min(1, pValue), difference, upper };
}

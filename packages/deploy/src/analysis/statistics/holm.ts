import { BatonError } from '@baton/lifecycle';

/**
 * Holm-Bonferroni step-down adjusted p-values, in the order given: compare each
 * with the family's significance level to keep the chance of any false alarm
 * across all the tests (e.g. one per route) below it, with more power than
 * plain Bonferroni. Monotone in the raw p-values, capped at 1 (as R's
 * `p.adjust(p, 'holm')`). Throws unless every p-value is between 0 and 1.
 *
 * @example
 * holm([0.01, 0.04, 0.03, 0.005]); // [0.03, 0.06, 0.06, 0.02]
 */
export function holm(pValues: readonly number[]): number[] {
  pValues.forEach((p, i) => {
    if (!(p >= 0 && p <= 1)) {
      throw new BatonError('BATON_ERR_INVALID_OPTION', `holm: every p-value must be between 0 and 1, got ${p} at index ${i}`);
    }
  });
  const m = pValues.length;
  // Stable sort: equal p-values keep their order, so the result does not depend on the sort.
  const order = pValues.map((p, index) => ({ p, index })).sort((x, y) => x.p - y.p);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach(({ p, index }, rank) => {
    // The k-th smallest is tested at α/(m − k + 1); the running maximum keeps the step-down order monotone.
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adjusted[index] = running;
  });
  return adjusted;
}

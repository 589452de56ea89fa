// Why hand-written: the Mann-Whitney tests on npm (mann-whitney-utest and its
// forks) rank arrays of raw observations, and @stdlib has only the signed-rank
// test. A histogram is already the sorted sample, every bucket one block of
// ties: ranking it bucket by bucket takes a few lines and O(buckets) instead of
// expanding millions of observations.

import { BatonError } from '@baton/lifecycle';
import type { HistogramBucket } from '@baton/metrics';
import { normalUpperTail } from './normal.js';

/** The answer of {@link latencyShift}. */
export interface RankTest {
  method: 'mann-whitney u';
  /** One-sided p-value, H1: candidate's latencies stochastically larger. Normal approximation with tie correction (every observation in one bucket is a tie) and continuity correction. 1 when either side has no observations or all observations are in one bucket on both sides (nothing to rank). */
  pValue: number;
  /** P(candidate > baseline) + 0.5 P(tie): the common-language effect size U/(n1 n2); 0.5 = no shift. */
  probabilitySlower: number;
  z: number;
  candidateObservations: number;
  baselineObservations: number;
}

/**
 * Cumulative histogram buckets made fit to count with: sorted by bound, equal
 * bounds summed (`1` and `1.0` from two scrapes), counts rounded to integers
 * (counter arithmetic gives 41.99999) and made non-decreasing as Prometheus
 * does (a bucket that lost counts to a reset in between). Empty for no buckets.
 * Internal to the statistics: `what` prefixes the error, e.g. `latencyShift: candidate`.
 * Throws on a NaN bound, a negative or non-finite count, or no `+Inf` bucket
 * (it holds the total: without it the observations above the last bound are lost).
 */
export function normalizeBuckets(what: string, buckets: readonly HistogramBucket[]): HistogramBucket[] {
  for (const { le, count } of buckets) {
    if (Number.isNaN(le)) throw new BatonError('BATON_ERR_INVALID_OPTION', `${what} buckets: a bound (le) is NaN; bounds must be numbers, the last +Inf`);
    if (!(Number.isFinite(count) && count >= 0)) {
      throw new BatonError('BATON_ERR_INVALID_OPTION', `${what} buckets: the count at le=${le} must be a finite number of at least 0, got ${count}`);
    }
  }
  if (buckets.length === 0) return [];
  const sorted = [...buckets].sort((x, y) => x.le - y.le);
  const merged: HistogramBucket[] = [];
  for (const { le, count } of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.le === le) last.count += count;
    else merged.push({ le, count });
  }
  if (merged[merged.length - 1]?.le !== Number.POSITIVE_INFINITY) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `${what} buckets: no +Inf bucket (le=Infinity), which holds the total count; Prometheus histograms always have one`);
  }
  let max = 0;
  for (const bucket of merged) {
    max = Math.max(max, Math.round(bucket.count));
    bucket.count = max;
  }
  return merged;
}

/**
 * Whether the candidate's latencies are stochastically larger than the
 * baseline's: the one-sided Mann-Whitney U test over two cumulative histograms
 * (per route, per release), every bucket a block of tied observations.
 *
 * When the two sides have different bucket bounds, only the bounds both have
 * are used (+Inf is always common): the cumulative count at a shared bound is
 * exact for both sides, while splitting a bucket would be a guess.
 * Throws on malformed buckets (see the errors of `normalizeBuckets`).
 *
 * @example
 * const shift = latencyShift(canary.buckets, baseline.buckets);
 * // Significant, and large enough to matter: 55% of canary/baseline pairs have the canary slower.
 * const slower = shift.pValue < 0.01 && shift.probabilitySlower > 0.55;
 */
export function latencyShift(candidate: readonly HistogramBucket[], baseline: readonly HistogramBucket[]): RankTest {
  const c = normalizeBuckets('latencyShift: candidate', candidate);
  const b = normalizeBuckets('latencyShift: baseline', baseline);
  const n1 = c[c.length - 1]?.count ?? 0;
  const n2 = b[b.length - 1]?.count ?? 0;
  const nothing: RankTest = { method: 'mann-whitney u', pValue: 1, probabilitySlower: 0.5, z: 0, candidateObservations: n1, baselineObservations: n2 };
  if (n1 === 0 || n2 === 0) return nothing;

  const baselineAt = new Map(b.map((bucket) => [bucket.le, bucket.count]));
  let u = 0; // Σ over candidate observations of (baseline observations below it + half of those tied with it)
  let ties = 0; // Σ (t³ − t) over the blocks of tied observations
  let candidateBelow = 0;
  let baselineBelow = 0;
  let blocks = 0; // buckets with observations: with one, every pair is a tie and there is nothing to rank
  for (const { le, count } of c) {
    const baselineCumulative = baselineAt.get(le);
    if (baselineCumulative === undefined) continue; // a bound the baseline lacks: merged into the next common one
    const inCandidate = count - candidateBelow;
    const inBaseline = baselineCumulative - baselineBelow;
    u += inCandidate * (baselineBelow + inBaseline / 2);
    const tied = inCandidate + inBaseline;
    ties += tied * tied * tied - tied;
    if (tied > 0) blocks += 1;
    candidateBelow = count;
    baselineBelow = baselineCumulative;
  }

  if (blocks < 2) return nothing;
  const pairs = n1 * n2;
  const total = n1 + n2;
  const variance = (pairs / 12) * (total + 1 - ties / (total * (total - 1)));
  // Continuity correction towards the null, as scipy.stats.mannwhitneyu(alternative='greater').
  const z = (u - pairs / 2 - 0.5) / Math.sqrt(variance);
  return { ...nothing, pValue: normalUpperTail(z), probabilitySlower: u / pairs, z };
}

// Why hand-written: a confidence interval of a quantile from order statistics
// is two ranks and the interpolation Prometheus already uses
// (histogramQuantile from @baton/metrics); the libraries on npm compute
// quantiles of raw samples, not of cumulative histogram buckets.

import { BatonError } from '@baton/lifecycle';
import { histogramQuantile, type HistogramBucket } from '@baton/metrics';
import { normalQuantile } from './normal.js';
import { normalizeBuckets } from './rank-test.js';

/** The answer of {@link quantileInterval}, in the unit of the bucket bounds (seconds for Baton's histograms). */
export interface QuantileInterval {
  estimate: number;
  lower: number;
  upper: number;
}

/**
 * The `q`-quantile of a cumulative histogram, with a distribution-free
 * two-sided `confidence` interval: the estimate is Prometheus'
 * `histogram_quantile` (linear interpolation inside the bucket); the bounds are
 * the values at ranks n·q ∓ z·√(n·q·(1−q)) (the normal approximation to the
 * binomial law of the order statistics, clamped to [0, n]), read off the
 * histogram by the same interpolation. Undefined with no observations (or no
 * finite bucket, where Prometheus has no answer either).
 *
 * Whatever lands in the `+Inf` bucket is answered, as by Prometheus, with the
 * highest finite bound: an estimate or an upper bound equal to that bound
 * under-states the truth, which can be anything above it. The interval
 * covers the sampling error only, not the interpolation's guess that
 * observations spread evenly inside a bucket: when both ends fall in one
 * bucket, the truth may still be anywhere in it.
 *
 * Buckets are normalized as for the rank test: sorted, equal bounds summed,
 * counts rounded to integers and made non-decreasing. Throws on `q` outside
 * [0, 1], `confidence` outside (0, 1), and malformed buckets (no `+Inf` bucket,
 * a NaN bound, a negative count).
 *
 * @example
 * const p99 = quantileInterval(0.99, canary.buckets); // { estimate: 0.41, lower: 0.33, upper: 0.5 }
 */
export function quantileInterval(q: number, buckets: readonly HistogramBucket[], confidence = 0.95): QuantileInterval | undefined {
  if (!(q >= 0 && q <= 1)) throw new BatonError('BATON_ERR_INVALID_OPTION', `quantileInterval: q must be between 0 and 1, e.g. 0.99, got ${q}`);
  if (!(confidence > 0 && confidence < 1)) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `quantileInterval: confidence must be between 0 and 1 (exclusive), e.g. 0.95, got ${confidence}`);
  }
  const normalized = normalizeBuckets('quantileInterval', buckets);
  const n = normalized[normalized.length - 1]?.count ?? 0;
  if (n === 0) return undefined;
  const estimate = histogramQuantile(q, normalized);
  if (estimate === undefined) return undefined;
  const half = normalQuantile((1 - confidence) / 2) * Math.sqrt(n * q * (1 - q));
  const at = (rank: number): number => histogramQuantile(Math.min(n, Math.max(0, rank)) / n, normalized) as number;
  // Clamped so that float noise in the ranks can never put a bound on the wrong side of the estimate.
  return { estimate, lower: Math.min(estimate, at(n * q - half)), upper: Math.max(estimate, at(n * q + half)) };
}

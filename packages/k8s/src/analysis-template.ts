import { AnalysisTemplate } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/AnalysisTemplate';
import type { AnalysisThresholds, InconclusivePolicy } from '@baton/deploy';
import {
  candidateRequestsQuery,
  errorRateIncreaseAcrossRoutesQuery,
  errorRateIncreaseByRouteQuery,
  errorRateIncreaseQuery,
  errorRateQuery,
  latencyOverLimitQuery,
  type QuerySides,
  type QueryWindow,
} from './analysis-queries.js';
import { objectMeta } from './workloads.js';

/** One question the analysis asks Prometheus, and what answer passes. */
export interface AnalysisMetric {
  name: string;
  query: string;
  /** Argo Rollouts' expression over `result` (the query's values). */
  successCondition: string;
  failureCondition?: string;
  /** What of Baton's judge it stands for, and how it differs. */
  why: string;
}

/** What the judge settings say, for the queries. */
export interface JudgeSettings {
  method: 'statistics' | 'thresholds';
  thresholds: AnalysisThresholds;
  onInconclusive: InconclusivePolicy;
  /** Latencies under it count as it (the judge's `latencyFloorSeconds`, 0.01). */
  floorSeconds: number;
}

/** Every value of the answer at most `limit` (none: nothing to judge, which passes, as the judge leaves such routes out). */
const atMost = (limit: number): string => `all(result, {# <= ${limit}})`;

/**
 * The metrics of the analysis: the candidate's traffic (too little is
 * inconclusive, as Baton's judge says), its error rate against the absolute
 * limit, and — by `method` — per route and across routes against the
 * baseline (`statistics`), or the whole release against the baseline (`thresholds`).
 */
export function analysisMetrics(sides: QuerySides, window: QueryWindow, judge: JudgeSettings): AnalysisMetric[] {
  const t = judge.thresholds;
  const metrics: AnalysisMetric[] = [];
  if (judge.onInconclusive !== 'continue') {
    const enough = `len(result) > 0 && result[0] >= ${t.minRequests}`;
    metrics.push({
      name: 'candidate-requests',
      query: candidateRequestsQuery(sides, window),
      successCondition: enough,
      // Neither condition holding is Argo's Inconclusive, which pauses the rollout: analysis.onInconclusive 'pause'.
      failureCondition: judge.onInconclusive === 'fail' ? `!(${enough})` : 'false',
      why: `Fewer than analysis.minRequests (${t.minRequests}) requests to the candidate: inconclusive (analysis.onInconclusive: ${judge.onInconclusive}).`,
    });
  }
  metrics.push({ name: 'error-rate', query: errorRateQuery(sides, window, t), successCondition: atMost(t.maxErrorRate), why: `The candidate's error rate, at most analysis.maxErrorRate (${t.maxErrorRate}).` });
  if (judge.method === 'thresholds') {
    metrics.push({
      name: 'error-rate-increase',
      query: errorRateIncreaseQuery(sides, window, t),
      successCondition: atMost(t.maxErrorRateIncrease),
      why: `The candidate's error rate above the baseline's, at most analysis.maxErrorRateIncrease (${t.maxErrorRateIncrease}), the whole release (analysis.method: thresholds).`,
    });
    metrics.push({
      name: `latency-p${quantileName(t.latencyQuantile)}`,
      query: latencyOverLimitQuery(sides, window, t, { quantile: t.latencyQuantile, byRoute: false, floorSeconds: judge.floorSeconds }),
      successCondition: atMost(1),
      why: `The candidate's p${quantileName(t.latencyQuantile)} latency over its limit (${t.maxLatencyRatio}× the baseline's and +${t.minLatencyIncreaseMs} ms): at most 1.`,
    });
    return metrics;
  }
  const closest = 'PromQL has no significance test: the threshold alone decides, where Baton also asks that the difference be beyond chance.';
  metrics.push({
    name: 'error-rate-increase-by-route',
    query: errorRateIncreaseByRouteQuery(sides, window, t),
    successCondition: atMost(t.maxErrorRateIncrease),
    why: `Each route's error rate above the baseline's, routes with analysis.minRouteRequests (${t.minRouteRequests}) on both sides, at most ${t.maxErrorRateIncrease}. ${closest} Routes with fewer requests are not pooled as Baton pools them; the next metric counts them.`,
  });
  metrics.push({
    name: 'error-rate-increase-across-routes',
    query: errorRateIncreaseAcrossRoutesQuery(sides, window, t),
    successCondition: atMost(t.maxErrorRateIncrease),
    why: `Every judged route's increase together, weighted as Baton's Cochran–Mantel–Haenszel test weighs them (the Mantel–Haenszel risk difference), at most ${t.maxErrorRateIncrease}. ${closest}`,
  });
  for (const quantile of [...new Set([0.5, Math.min(0.9, t.latencyQuantile)])].sort()) {
    metrics.push({
      name: `latency-p${quantileName(quantile)}-by-route`,
      query: latencyOverLimitQuery(sides, window, t, { quantile, byRoute: true, floorSeconds: judge.floorSeconds }),
      successCondition: atMost(1),
      why: `Each route's p${quantileName(quantile)} latency over its limit (${t.maxLatencyRatio}× the baseline's, at least ${judge.floorSeconds * 1000} ms, and +${t.minLatencyIncreaseMs} ms): at most 1. Baton checks the margin at the median and p90 after a Mann–Whitney test; ${closest}`,
    });
  }
  return metrics;
}

/** `0.99` → `99`, `0.5` → `50`, `0.995` → `99.5`. */
function quantileName(quantile: number): string {
  return String(Math.round(quantile * 1000) / 10);
}

/**
 * An AnalysisTemplate asking Prometheus each metric once, after the window
 * (`initialDelay`): the window's requests are then all in, as Baton's
 * analysis reads them at the window's end.
 */
export function analysisTemplate(options: { service: string; name: string; namespace: string | undefined; prometheus: string; window: string; metrics: readonly AnalysisMetric[] }): AnalysisTemplate {
  return new AnalysisTemplate({
    metadata: objectMeta(options.service, options.name, options.namespace),
    spec: {
      metrics: options.metrics.map((metric) => ({
        name: metric.name,
        initialDelay: options.window,
        count: 1,
        successCondition: metric.successCondition,
        ...(metric.failureCondition === undefined ? {} : { failureCondition: metric.failureCondition }),
        provider: { prometheus: { address: options.prometheus, query: metric.query } },
      })),
    },
  });
}

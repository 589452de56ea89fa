import type { AnalysisThresholds } from '@baton/deploy';

/**
 * Baton's canary analysis written as PromQL over Baton's own metric names
 * and labels (`http_requests_total`, `http_request_duration_seconds`, by
 * `method` and `route` template, 5xx `status_code` as errors), for Argo
 * Rollouts' analysis to ask a Prometheus that scrapes the pods.
 *
 * PromQL has no test of two proportions nor a rank test, so the statistical
 * judge's tests become their thresholds: where Baton fails a route when an
 * increase is beyond chance *and* may reach the margin, these queries fail it
 * when the measured increase is over the margin. On lots of traffic the two
 * agree; on little, these react to noise the tests would have discounted.
 */

/** Which series are whose: label matchers of each side, and where the baseline's window lies. */
export interface QuerySides {
  /** Matchers of the candidate's series, e.g. `release="v2"`. */
  candidate: string;
  /** Matchers of the baseline's series, e.g. `release!="v2",baton_role="baseline"`. */
  baseline: string;
  /** The baseline's window ends this long before the candidate's (blue/green: before the switch), e.g. `60s`. */
  baselineOffset?: string;
  /** Matchers every series must have (the service, its namespace), e.g. `app_kubernetes_io_name="orders"`. */
  scope: string;
}

/** What the queries count and over how long. */
export interface QueryWindow {
  /** A PromQL duration, e.g. `60s`. */
  range: string;
  /** Routes left out (probes, the metrics path), as the judge's `excludeRoutes`. */
  excludeRoutes: readonly string[];
}

/** The labels a route is told by, as the judge groups requests. */
export const ROUTE_LABELS = ['method', 'route'] as const;
const BY_ROUTE = `by (${ROUTE_LABELS.join(', ')})`;
const ON_ROUTE = `on (${ROUTE_LABELS.join(', ')})`;

type Side = 'candidate' | 'baseline';

/** A PromQL double-quoted string. */
export function promqlString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** An RE2 alternation matching exactly these strings. */
function exactly(values: readonly string[]): string {
  return values.map((value) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
}

function selector(metric: string, sides: QuerySides, window: QueryWindow, side: Side, extra = ''): string {
  const matchers = [sides.scope, sides[side], window.excludeRoutes.length > 0 ? `route!~${promqlString(exactly(window.excludeRoutes))}` : '', extra].filter((part) => part !== '');
  const offset = side === 'baseline' && sides.baselineOffset !== undefined ? ` offset ${sides.baselineOffset}` : '';
  return `${metric}{${matchers.join(',')}}[${window.range}]${offset}`;
}

/** Requests of a side in the window, per route or (`by` empty) in all. */
export function requests(sides: QuerySides, window: QueryWindow, side: Side, byRoute: boolean): string {
  return `sum ${byRoute ? `${BY_ROUTE} ` : ''}(increase(${selector('http_requests_total', sides, window, side)}))`;
}

/** 5xx answers of a side in the window. */
function errors(sides: QuerySides, window: QueryWindow, side: Side, byRoute: boolean): string {
  return `sum ${byRoute ? `${BY_ROUTE} ` : ''}(increase(${selector('http_requests_total', sides, window, side, 'status_code=~"5.*"')}))`;
}

/** A side's error rate; a route without a single error counts as 0, not as missing. */
export function errorRate(sides: QuerySides, window: QueryWindow, side: Side, byRoute: boolean): string {
  const all = requests(sides, window, side, byRoute);
  return `((${errors(sides, window, side, byRoute)} or 0 * ${all}) / ${all})`;
}

/** A side's latency quantile from the histogram's window. */
export function latency(sides: QuerySides, window: QueryWindow, side: Side, quantile: number, byRoute: boolean): string {
  return `histogram_quantile(${quantile}, sum by (${byRoute ? `${ROUTE_LABELS.join(', ')}, ` : ''}le) (increase(${selector('http_request_duration_seconds_bucket', sides, window, side)})))`;
}

/** Timed requests of a side. */
function timed(sides: QuerySides, window: QueryWindow, side: Side, byRoute: boolean): string {
  return `sum ${byRoute ? `${BY_ROUTE} ` : ''}(increase(${selector('http_request_duration_seconds_count', sides, window, side)}))`;
}

/** Keeps the routes (or the whole) with at least `min` requests on both sides: the judge compares no fewer. */
function onlyWithEnough(expression: string, sides: QuerySides, window: QueryWindow, min: number, byRoute: boolean, count = requests): string {
  const on = byRoute ? ON_ROUTE : 'on ()';
  return `${expression} and ${on} (${count(sides, window, 'candidate', byRoute)} >= ${min}) and ${on} (${count(sides, window, 'baseline', byRoute)} >= ${min})`;
}

/** The candidate's requests in the window: below `minRequests` the analysis cannot judge it. */
export function candidateRequestsQuery(sides: QuerySides, window: QueryWindow): string {
  return requests(sides, window, 'candidate', false);
}

/** The candidate's whole error rate, once it has `minRequests` requests: held to `maxErrorRate`. */
export function errorRateQuery(sides: QuerySides, window: QueryWindow, t: AnalysisThresholds): string {
  return `${errorRate(sides, window, 'candidate', false)} and on () (${requests(sides, window, 'candidate', false)} >= ${t.minRequests})`;
}

/** The candidate's error rate minus the baseline's, each route with `minRouteRequests` on both sides: each held to `maxErrorRateIncrease`. */
export function errorRateIncreaseByRouteQuery(sides: QuerySides, window: QueryWindow, t: AnalysisThresholds): string {
  return onlyWithEnough(`(${errorRate(sides, window, 'candidate', true)} - ${errorRate(sides, window, 'baseline', true)})`, sides, window, t.minRouteRequests, true);
}

/**
 * The errors of every judged route together, as the judge's Cochran–Mantel–
 * Haenszel test weighs them: the Mantel–Haenszel risk difference, each
 * route's increase weighted by `n₁n₀ / (n₁ + n₀)`. A different mix of routes
 * on the two sides does not read as an increase; +1 point spread thinly over
 * every route does. Held to `maxErrorRateIncrease`.
 */
export function errorRateIncreaseAcrossRoutesQuery(sides: QuerySides, window: QueryWindow, t: AnalysisThresholds): string {
  const c = requests(sides, window, 'candidate', true);
  const b = requests(sides, window, 'baseline', true);
  const weight = onlyWithEnough(`((${c} * ${b}) / (${c} + ${b}))`, sides, window, t.minRouteRequests, true);
  const increase = `(${errorRate(sides, window, 'candidate', true)} - ${errorRate(sides, window, 'baseline', true)})`;
  return `sum(${increase} * ${weight}) / sum(${weight})`;
}

/**
 * The candidate's whole error rate minus the baseline's, both with
 * `minRequests`: the threshold judge's (`analysis.method: 'thresholds'`) increase.
 */
export function errorRateIncreaseQuery(sides: QuerySides, window: QueryWindow, t: AnalysisThresholds): string {
  return onlyWithEnough(`(${errorRate(sides, window, 'candidate', false)} - ${errorRate(sides, window, 'baseline', false)})`, sides, window, t.minRequests, false);
}

/**
 * The candidate's latency quantile over its limit — `maxLatencyRatio` × the
 * baseline's (at least `floorSeconds`) and `minLatencyIncreaseMs` above it,
 * whichever is higher — per route with `minRouteRequests` timed requests on
 * both sides (or the whole release, `byRoute` false, with `minRequests`).
 * Over 1 fails.
 */
export function latencyOverLimitQuery(sides: QuerySides, window: QueryWindow, t: AnalysisThresholds, options: { quantile: number; byRoute: boolean; floorSeconds: number }): string {
  const base = latency(sides, window, 'baseline', options.quantile, options.byRoute);
  const ratio = `(${t.maxLatencyRatio} * clamp_min(${base}, ${options.floorSeconds}))`;
  const increase = `(${base} + ${t.minLatencyIncreaseMs / 1000})`;
  // The higher of the two limits, series by series: the first where it is higher, else the second.
  const limit = `((${ratio} >= ${increase}) or ${increase})`;
  const over = `(${latency(sides, window, 'candidate', options.quantile, options.byRoute)} / ${limit})`;
  return onlyWithEnough(over, sides, window, options.byRoute ? t.minRouteRequests : t.minRequests, options.byRoute, timed);
}

import { BatonError } from '@baton/lifecycle';
import { DEFAULT_THRESHOLDS } from '../deploy-config.js';
import { DEFAULT_INSTANCE_PATHS, type AnalysisThresholds } from '../model.js';

/** Options of `createMetricsAnalysis`. */
export interface MetricsAnalysisOptions {
  /**
   * How the candidate is judged. `statistics` (default): route by route,
   * against the baseline, errors by a test of two proportions (Fisher's exact
   * test for small counts) and latency by a Mann-Whitney U test over the
   * histogram buckets, corrected for testing many routes (Holm), with the
   * thresholds as practical-significance margins. `thresholds`: the whole
   * release against fixed limits, as Argo Rollouts and Flagger do.
   */
  method?: 'statistics' | 'thresholds';
  /** Any subset; the rest are the defaults of {@link AnalysisThresholds}. Keys that are not thresholds are ignored. */
  thresholds?: Partial<AnalysisThresholds>;
  /** Path of the instances' metrics endpoint; default `/metrics`. */
  metricsPath?: string;
  /** Bearer token of the metrics endpoints (`BATON_METRICS_TOKEN` of Baton's services). */
  token?: string;
  /** Limit of one scrape; default 5000 ms. */
  scrapeTimeoutMs?: number;
  /**
   * Keeps a request series (its labels: `route`, `method`, `status_code`,
   * `release`...) when true, on top of {@link excludeRoutes}.
   *
   * @example
   * { filter: (labels) => labels.route !== '/orders/export' }
   */
  filter?: (labels: Readonly<Record<string, string>>) => boolean;
  /**
   * Routes never counted: probes and scrapes say nothing about how a release
   * serves users, and a draining instance's 503 readiness answers would read
   * as errors. Baton's adapters already leave them out of the metrics; this
   * covers services that do not. Default `/livez`, `/readyz`, `/startupz`,
   * `/healthz` and the metrics path.
   */
  excludeRoutes?: readonly string[];
  /**
   * Latencies under this many seconds count as this much in the latency
   * check: a p99 of 2 ms against 4 ms is a 2× ratio, but noise on a busy
   * machine, and finer than the default histogram buckets can tell. Default
   * 0.01 (10 ms); 0 compares raw values.
   */
  latencyFloorSeconds?: number;
  /** The clock; default `Date.now`. */
  now?: () => number;
}

/** Every option, checked, with its default. */
export interface ResolvedOptions {
  method: 'statistics' | 'thresholds';
  thresholds: AnalysisThresholds;
  metricsPath: string;
  token: string | undefined;
  scrapeTimeoutMs: number;
  filter: ((labels: Readonly<Record<string, string>>) => boolean) | undefined;
  excludeRoutes: readonly string[];
  latencyFloorSeconds: number;
  now: () => number;
}

const PROBE_ROUTES = ['/livez', '/readyz', '/startupz', '/healthz'];

/**
 * The routes analysis leaves out unless told otherwise (see
 * {@link MetricsAnalysisOptions.excludeRoutes}): the probes and the metrics
 * path itself. Shared with the soak gate, which counts a release's traffic
 * the same way.
 */
export function defaultExcludeRoutes(metricsPath: string): string[] {
  return [...PROBE_ROUTES, metricsPath];
}

/** Checks every option at once; throws one `BATON_ERR_INVALID_OPTION` listing every problem. */
export function resolveOptions(options: MetricsAnalysisOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw invalid('options must be an object.');
  const problems: string[] = [];
  const method = options.method ?? 'statistics';
  if (method !== 'statistics' && method !== 'thresholds') problems.push(`\`method\` must be "statistics" or "thresholds"; got ${JSON.stringify(method)}.`);
  const given = options.thresholds ?? {};
  if (given === null || typeof given !== 'object') problems.push('`thresholds` must be an object.');
  const t = { ...DEFAULT_THRESHOLDS };
  const pick = (key: keyof AnalysisThresholds, ok: (value: number) => boolean, accepted: string): void => {
    const value = (given as Partial<AnalysisThresholds>)[key];
    if (value === undefined) return;
    if (typeof value !== 'number' || !ok(value)) problems.push(`thresholds.${key} must be ${accepted}; got ${JSON.stringify(value)}.`);
    else t[key] = value;
  };
  const fraction = (value: number): boolean => value >= 0 && value <= 1;
  const count = (value: number): boolean => Number.isSafeInteger(value) && value >= 1;
  pick('maxErrorRateIncrease', fraction, 'a fraction from 0 to 1 (0.01 = one point)');
  pick('maxErrorRate', fraction, 'a fraction from 0 to 1 (0.05 = 5%)');
  pick('maxLatencyRatio', (value) => Number.isFinite(value) && value > 0, 'a positive number (1.5 = 50% slower at most)');
  pick('minLatencyIncreaseMs', (value) => Number.isFinite(value) && value >= 0, 'a number of milliseconds ≥ 0');
  pick('latencyQuantile', fraction, 'a quantile from 0 to 1 (0.99 = p99)');
  pick('minRequests', count, 'a whole number of requests ≥ 1');
  pick('confidence', (value) => value >= 0.5 && value < 1, 'a probability from 0.5 to below 1 (0.95 = 95%)');
  pick('minRouteRequests', count, 'a whole number of requests ≥ 1');

  const metricsPath = options.metricsPath ?? DEFAULT_INSTANCE_PATHS.metrics;
  if (typeof metricsPath !== 'string' || !metricsPath.startsWith('/') || /[?#\s]/.test(metricsPath)) {
    problems.push(`\`metricsPath\` must start with "/" and hold no query or spaces; got ${JSON.stringify(metricsPath)}.`);
  }
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token === '' || /\s/.test(options.token))) {
    problems.push('`token` must be a non-empty string without spaces.');
  }
  const scrapeTimeoutMs = options.scrapeTimeoutMs ?? 5000;
  if (typeof scrapeTimeoutMs !== 'number' || !Number.isFinite(scrapeTimeoutMs) || scrapeTimeoutMs <= 0) {
    problems.push(`\`scrapeTimeoutMs\` must be a positive number of milliseconds; got ${JSON.stringify(scrapeTimeoutMs)}.`);
  }
  if (options.filter !== undefined && typeof options.filter !== 'function') problems.push('`filter` must be a function of the series labels.');
  const excludeRoutes = options.excludeRoutes ?? defaultExcludeRoutes(metricsPath);
  if (!Array.isArray(excludeRoutes) || excludeRoutes.some((route) => typeof route !== 'string')) problems.push('`excludeRoutes` must be an array of route templates.');
  const latencyFloorSeconds = options.latencyFloorSeconds ?? 0.01;
  if (typeof latencyFloorSeconds !== 'number' || !Number.isFinite(latencyFloorSeconds) || latencyFloorSeconds < 0) {
    problems.push(`\`latencyFloorSeconds\` must be a number of seconds ≥ 0; got ${JSON.stringify(latencyFloorSeconds)}.`);
  }
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') problems.push('`now` must be a function returning milliseconds.');
  if (problems.length > 0) throw invalid(problems.join(' '));
  return { method, thresholds: t, metricsPath, token: options.token, scrapeTimeoutMs, filter: options.filter, excludeRoutes, latencyFloorSeconds, now };
}

/** A `BATON_ERR_INVALID_OPTION` of the metrics analysis. */
export function invalid(message: string): BatonError {
  return new BatonError('BATON_ERR_INVALID_OPTION', `metrics analysis: ${message}`);
}

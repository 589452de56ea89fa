import { histogramQuantile } from '@baton/metrics';
import type { RouteTest, RouteVerdict, Verdict } from '../model.js';
import type { ResolvedOptions } from './analysis-options.js';
import { judgeable, type JudgeInput } from './judge-input.js';
import { ACROSS_ROUTES, figuresOf, merge, splitRoutes, type RouteSplit, type RouteWindows, type SideWindow } from './route-groups.js';
import { stratifiedErrorRateIncrease } from './statistics/stratified-errors.js';
import { errorRateIncrease, holm, latencyShift, quantileInterval } from './statistics/index.js';
import { describeRoute, describeComparison, describeWhole } from './verdict-words.js';
import { formatCount, formatPercent } from './verdict-format.js';

/** The tests of one judged route, before Holm's correction is known. */
interface PendingRoute {
  windows: RouteWindows;
  errors?: Omit<RouteTest, 'adjustedPValue' | 'failed'>;
  latency?: Omit<RouteTest, 'adjustedPValue' | 'failed'> & { limitSeconds: number };
}

/**
 * The statistical judge: the candidate against its baseline, route by route.
 *
 * - Each route (method and template) with `minRouteRequests` requests on both
 *   sides is judged alone; the rest are pooled and judged together. So a
 *   canary that got a different mix of fast and slow routes is compared like
 *   with like.
 * - Errors: a one-sided test of two proportions (Fisher's exact test when a
 *   count is small). Latency: a one-sided Mann-Whitney U test over the
 *   histogram buckets (ties within a bucket), which sees a shift of the whole
 *   distribution, not one quantile's noise.
 * - Every p-value is corrected for the number of tests (Holm), so a healthy
 *   canary fails at most `1 − confidence` of its windows however many routes
 *   the service has.
 * - The thresholds are practical-significance margins. A route fails on
 *   errors when the increase is real and may reach `maxErrorRateIncrease`
 *   (the margin lies within or below its confidence interval); on latency
 *   when the shift is real and the compared quantile is over both
 *   `maxLatencyRatio` × and `minLatencyIncreaseMs` above the baseline's at the
 *   median or p90. A quantile's interval from buckets spans whole buckets, so
 *   latency is held to its estimate; an error count's interval is tight, so
 *   errors are held to what they may be.
 * - `maxErrorRate` stays an absolute limit on the candidate's whole release.
 */
export function statisticalVerdict(input: JudgeInput, config: ResolvedOptions): Verdict {
  const t = config.thresholds;
  const { sides } = input;
  const { candidate, baseline } = sides;
  const split = splitRoutes(input, t.minRouteRequests);
  const candidateWhole = split.candidateWhole;
  const { missing, reasons } = judgeable(input, config, candidateWhole.requests);
  const fails: string[] = [];
  const routes: RouteVerdict[] = [];

  if (candidateWhole.requests >= t.minRequests) {
    const candidateErrors = `${formatPercent(rate(candidateWhole))} errors (${formatCount(candidateWhole.errors)} of ${formatCount(candidateWhole.requests)})`;
    if (rate(candidateWhole) > t.maxErrorRate) fails.push(`${candidate}: ${candidateErrors} over the whole release; the limit is ${formatPercent(t.maxErrorRate)}.`);

    const judged = judgeRoutes(split, config, { candidate, baseline });
    routes.push(...judged.routes);
    fails.push(...judged.routes.filter((route) => route.outcome === 'fail').map((route) => route.summary));
    if (sides.kind !== 'none') {
      reasons.push(describeComparison(sides, { judged: split.judged.length, tests: judged.tests, alpha: 1 - t.confidence }));
      if (split.judged.length === 0 && sides.baselineInstances.length > 0) {
        reasons.push(`${baseline} got too few requests (${formatCount(split.baselineWhole.requests)}) to compare ${candidate} with route by route: ${candidate} is held to the absolute limit only.`);
      }
    }
    reasons.push(...routes.filter((route) => route.outcome !== 'fail').map((route) => route.summary));
  } else if (sides.kind !== 'none') {
    // Not judged yet, but what it would be compared with is worth knowing (a warm baseline above all).
    reasons.push(describeComparison(sides));
  }
  reasons.push(describeWhole(sides, candidateWhole, split.baselineWhole, t.latencyQuantile));

  const outcome: Verdict['outcome'] = fails.length > 0 ? 'fail' : missing.length > 0 ? 'inconclusive' : 'pass';
  return {
    outcome,
    // The deciding findings first: what failed, else what was missing, then the rest.
    reasons: [...fails, ...missing, ...reasons],
    releases: {
      [baseline]: releaseFigures(split.baselineWhole, input, t.latencyQuantile),
      [candidate]: releaseFigures(candidateWhole, input, t.latencyQuantile),
    },
    atMs: input.atMs,
    latencyQuantile: t.latencyQuantile,
    method: 'statistics',
    comparedWith: { kind: sides.kind, release: baseline, instances: sides.baselineInstances.map((instance) => instance.id) },
    routes,
  };
}

/**
 * Every route's tests, corrected together (Holm), and each route's finding:
 * the judged ones pass or fail, the rest are listed as not judged.
 */
function judgeRoutes(split: RouteSplit, config: ResolvedOptions, names: { candidate: string; baseline: string }): { routes: RouteVerdict[]; tests: number } {
  const t = config.thresholds;
  const alpha = 1 - t.confidence;
  const pending = split.judged.map((windows) => testRoute(windows, config));
  // Errors spread thinly over the routes, too few on each to show, add up here (adjusted for the mix of routes).
  const across = pending.length >= 2 ? testAcrossRoutes(split.judged, config) : undefined;
  if (across !== undefined) pending.push(across);
  const pValues = pending.flatMap((route) => [route.errors?.pValue, route.latency?.pValue].filter((p): p is number => p !== undefined));
  const adjusted = holm(pValues);
  const tests = pValues.length;
  const context = { ...names, tests, config };
  const routes: RouteVerdict[] = [];
  let next = 0;
  for (const route of pending) {
    let errors: RouteTest | undefined;
    if (route.errors !== undefined) {
      const adjustedPValue = adjusted[next++] as number;
      // Real, and possibly as large as the margin: the margin lies within the increase's interval or below it.
      errors = { ...route.errors, adjustedPValue, failed: adjustedPValue < alpha && route.errors.effectUpper >= route.errors.margin };
    }
    let latency: RouteTest | undefined;
    if (route.latency !== undefined) {
      const { limitSeconds, ...test } = route.latency;
      const adjustedPValue = adjusted[next++] as number;
      latency = { ...test, adjustedPValue, failed: adjustedPValue < alpha && (test.candidateSeconds ?? 0) > limitSeconds };
    }
    routes.push(
      findingOf(route.windows, errors?.failed === true || latency?.failed === true ? 'fail' : 'pass', t.latencyQuantile, (verdict) => describeRoute(verdict, context), {
        ...(errors === undefined ? {} : { errors }),
        ...(latency === undefined ? {} : { latency }),
      }),
    );
  }
  for (const windows of split.notJudged) routes.push(findingOf(windows, 'not-judged', t.latencyQuantile, (verdict) => describeRoute(verdict, { ...context, why: windows.why })));
  return { routes, tests };
}

/** A route's finding with its figures, tests and the sentence that says it. */
function findingOf(
  windows: RouteWindows,
  outcome: RouteVerdict['outcome'],
  quantile: number,
  describe: (verdict: RouteVerdict) => string,
  tests: Pick<RouteVerdict, 'errors' | 'latency'> = {},
): RouteVerdict {
  const verdict: RouteVerdict = {
    route: windows.route,
    ...(windows.pooled === undefined ? {} : { pooled: windows.pooled }),
    outcome,
    candidate: figuresOf(windows.candidate, quantile),
    baseline: figuresOf(windows.baseline, quantile),
    ...tests,
    summary: '',
  };
  verdict.summary = describe(verdict);
  return verdict;
}

/** The tests one route gets: errors when either side has some, latency when both have enough timed requests. */
function testRoute(windows: RouteWindows, config: ResolvedOptions): PendingRoute {
  const t = config.thresholds;
  const route: PendingRoute = { windows };
  const { candidate: c, baseline: b } = windows;
  if (c.errors + b.errors > 0) {
    const test = errorRateIncrease({ errors: c.errors, requests: c.requests }, { errors: b.errors, requests: b.requests }, t.confidence);
    route.errors = { method: test.method, pValue: test.pValue, effect: test.difference, effectUpper: test.upper, margin: t.maxErrorRateIncrease };
  }
  if (c.latencyObservations >= t.minRouteRequests && b.latencyObservations >= t.minRouteRequests) {
    const test = latencyShift(c.buckets, b.buckets);
    const floor = config.latencyFloorSeconds;
    // The rank test says whether the candidate is slower; the margin, at the median or p90 (whichever is
    // further over its limit), whether by enough to matter. Not at p99: a process stalled for 100 ms on a
    // busy machine delays a burst of its requests at once — not independent draws, so the rank test calls
    // it real — and that burst is a fast route's whole p99 (measured: bench/, the judge's A/A runs).
    // A slower release shifts the centre of the distribution, where one stall does not reach.
    let worst: { quantile: number; candidate: number; baseline: number; limit: number } | undefined;
    for (const quantile of [...new Set([0.5, Math.min(0.9, t.latencyQuantile)])].sort()) {
      const candidate = histogramQuantile(quantile, c.buckets) ?? 0;
      const baseline = histogramQuantile(quantile, b.buckets) ?? 0;
      // Over the ratio AND by a difference people notice, as the threshold analysis holds it.
      const limit = Math.max(t.maxLatencyRatio * Math.max(baseline, floor), baseline + t.minLatencyIncreaseMs / 1000);
      if (worst === undefined || candidate / limit > worst.candidate / worst.limit) worst = { quantile, candidate, baseline, limit };
    }
    const at = worst as NonNullable<typeof worst>;
    const ci = quantileInterval(at.quantile, c.buckets, t.confidence);
    const bi = quantileInterval(at.quantile, b.buckets, t.confidence);
    route.latency = {
      method: test.method,
      pValue: test.pValue,
      // Both sides at the floor at least: 2 ms against 4 ms is noise, not half the latency.
      effect: Math.max(at.candidate, floor) / Math.max(at.baseline, floor, Number.MIN_VALUE),
      effectUpper: Math.max(ci?.upper ?? at.candidate, floor) / Math.max(bi?.lower ?? at.baseline, floor, Number.MIN_VALUE),
      margin: t.maxLatencyRatio,
      quantile: at.quantile,
      candidateSeconds: at.candidate,
      baselineSeconds: at.baseline,
      limitSeconds: at.limit,
    };
  }
  return route;
}

/**
 * The errors of every judged route together, adjusted for how each side's
 * requests spread over them (Cochran-Mantel-Haenszel): +1 point on each of
 * five routes is clear over all of them, and not on any one alone.
 */
function testAcrossRoutes(judged: readonly RouteWindows[], config: ResolvedOptions): PendingRoute | undefined {
  const t = config.thresholds;
  const strata = judged.map((windows) => ({
    candidate: { errors: windows.candidate.errors, requests: windows.candidate.requests },
    baseline: { errors: windows.baseline.errors, requests: windows.baseline.requests },
  }));
  const windows: RouteWindows = { route: ACROSS_ROUTES, candidate: merge(judged.map((w) => w.candidate)), baseline: merge(judged.map((w) => w.baseline)) };
  if (windows.candidate.errors + windows.baseline.errors === 0) return undefined;
  const test = stratifiedErrorRateIncrease(strata, t.confidence);
  return { windows, errors: { method: test.method, pValue: test.pValue, effect: test.difference, effectUpper: test.upper, margin: t.maxErrorRateIncrease } };
}

function rate(window: SideWindow): number {
  return window.requests > 0 ? window.errors / window.requests : 0;
}

function releaseFigures(window: SideWindow, input: JudgeInput, quantile: number): Verdict['releases'][string] {
  const seconds = Math.max(0, (input.atMs - input.startedAtMs) / 1000);
  return {
    requests: window.requests,
    errors: window.errors,
    errorRate: rate(window),
    requestRate: window.requestRate > 0 || seconds === 0 ? window.requestRate : window.requests / seconds,
    latency: window.latencyObservations > 0 ? histogramQuantile(quantile, window.buckets) : undefined,
  };
}

import type { RouteFigures, RouteTest, RouteVerdict } from '../model.js';
import type { ResolvedOptions } from './analysis-options.js';
import type { SideWindow } from './route-groups.js';
import type { Sides } from './sides.js';
import { histogramQuantile } from '@baton/metrics';
import { formatCount, formatMs, formatP, formatPercent, formatPoints, formatQuantile, formatRatio } from './verdict-format.js';

// The statistical judge's findings in words a person reads in a deploy log:
// what was compared, the figures, how sure, and what the margin was.

interface Context {
  candidate: string;
  baseline: string;
  /** How many tests Holm's correction covered. */
  tests: number;
  config: ResolvedOptions;
  why?: 'too-few' | 'candidate-only';
}

/** One sentence for a route: its finding, with the figures and p-values. */
export function describeRoute(route: RouteVerdict, context: Context): string {
  const { candidate, baseline, config } = context;
  const name = route.pooled === undefined ? route.route : `${route.route} (${route.pooled.join(', ')})`;
  if (route.outcome === 'not-judged') {
    if (context.why === 'candidate-only') return `${name}: not compared, only ${candidate} served it (${errorsOf(route.candidate)}).`;
    const needed = config.thresholds.minRouteRequests;
    return `${name}: not judged, too few requests (${formatCount(route.candidate.requests)} to ${candidate}, ${formatCount(route.baseline.requests)} to ${baseline}; ${needed} each are needed).`;
  }
  const parts = [errorsPart(route, context), latencyPart(route, context)];
  const verdict = route.outcome === 'fail' ? `${candidate} fails ${name}` : name;
  return `${verdict}: ${parts.join('; ')}.`;
}

function errorsPart(route: RouteVerdict, context: Context): string {
  const { candidate, baseline } = context;
  const c = route.candidate;
  const b = route.baseline;
  const test = route.errors;
  if (test === undefined) return `no errors (${formatCount(c.requests)} requests to ${candidate}, ${formatCount(b.requests)} to ${baseline})`;
  const figures = `${errorsOf(c)} against ${baseline}'s ${errorsOf(b)}`;
  const sure = `${test.method} ${pOf(test, context.tests)}`;
  const upTo = `up to +${formatPoints(Math.max(0, test.effectUpper))} at ${formatPercent(context.config.thresholds.confidence).replace('.0%', '%')} confidence`;
  const margin = `the margin is +${formatPoints(test.margin)}`;
  if (test.failed) return `more errors: ${figures}, +${formatPoints(test.effect)} points (${upTo}; ${margin}), beyond chance (${sure})`;
  if (test.adjustedPValue < 1 - context.config.thresholds.confidence) return `errors ${figures}: more than chance gives (${sure}) but within the margin (${upTo}; ${margin})`;
  return `errors ${figures}, no more than chance gives (${sure})`;
}

function latencyPart(route: RouteVerdict, context: Context): string {
  const { baseline, config } = context;
  const t = config.thresholds;
  const q = `p${formatQuantile(t.latencyQuantile)}`;
  const c = route.candidate;
  const b = route.baseline;
  const test = route.latency;
  if (test === undefined) {
    return `latency not compared (${formatCount(c.latencyObservations)} and ${formatCount(b.latencyObservations)} timed requests; ${t.minRouteRequests} each are needed)`;
  }
  const figures = `${q} ${formatMs(c.latency ?? 0)} against ${baseline}'s ${formatMs(b.latency ?? 0)} (${formatRatio(test.effect)}`;
  const margin = `the margin is ${t.maxLatencyRatio}× and +${t.minLatencyIncreaseMs} ms`;
  const sure = `${test.method} ${pOf(test, context.tests)}`;
  if (test.failed) return `slower: ${figures}, up to ${formatRatio(test.effectUpper)}; ${margin}), beyond chance (${sure})`;
  if (test.adjustedPValue < 1 - t.confidence) return `slower beyond chance (${sure}) but within the margin: ${figures}; ${margin})`;
  return `${figures}), no slower than chance gives (${sure})`;
}

function pOf(test: RouteTest, tests: number): string {
  if (tests <= 1) return formatP(test.pValue);
  return `${formatP(test.pValue)}, ${formatP(test.adjustedPValue).replace(/^p/, 'p')} after correcting for ${tests} tests`;
}

function errorsOf(figures: RouteFigures): string {
  return `${formatPercent(figures.errorRate)} errors (${formatCount(figures.errors)} of ${formatCount(figures.requests)})`;
}

/** What the candidate was compared with, and by which rule. */
export function describeComparison(sides: Sides, summary: { judged: number; tests: number; alpha: number }): string {
  const ids = sides.baselineInstances.map((instance) => instance.id).join(', ');
  const against =
    sides.kind === 'fresh'
      ? `a fresh baseline of ${sides.baseline} (${ids}), started beside it`
      : `the warm instances of ${sides.baseline} (${ids}), which have served for longer: a slow start of ${sides.candidate}'s fresh processes counts against it (a canary with a fresh baseline compares like with like)`;
  const rule = summary.tests === 0 ? 'no test was needed' : `a difference counts when p < ${summary.alpha} after Holm's correction for ${summary.tests} test${summary.tests === 1 ? '' : 's'}`;
  return `${sides.candidate} was compared with ${against}, route by route (${summary.judged} judged; ${rule}).`;
}

/** The whole release, both sides: what the route comparison rests on. */
export function describeWhole(sides: Sides, candidate: SideWindow, baseline: SideWindow, quantile: number): string {
  const q = `p${formatQuantile(quantile)}`;
  const side = (release: string, window: SideWindow): string => {
    const latency = window.latencyObservations > 0 ? histogramQuantile(quantile, window.buckets) : undefined;
    const errorRate = window.requests > 0 ? window.errors / window.requests : 0;
    return `${release} ${formatPercent(errorRate)} errors (${formatCount(window.errors)} of ${formatCount(window.requests)})${latency === undefined ? '' : `, ${q} ${formatMs(latency)}`}`;
  };
  if (sides.kind === 'none') return `Whole release: ${side(sides.candidate, candidate)}.`;
  return `Whole release (every route together, so a different mix of routes moves these): ${side(sides.candidate, candidate)}; ${side(sides.baseline, baseline)}.`;
}

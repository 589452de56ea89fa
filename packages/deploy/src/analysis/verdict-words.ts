import type { RouteFigures, RouteTest, RouteVerdict } from '../model.js';
import type { ResolvedOptions } from './analysis-options.js';
import { ACROSS_ROUTES, type SideWindow } from './route-groups.js';
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
    if (context.why === 'candidate-only') return `${name}: not compared, only ${candidate} served it (${formatCount(route.candidate.errors)} errors in ${formatCount(route.candidate.requests)} requests).`;
    const needed = config.thresholds.minRouteRequests;
    return `${name}: not judged, too few requests (${formatCount(route.candidate.requests)} to ${candidate}, ${formatCount(route.baseline.requests)} to ${baseline}; ${needed} each are needed).`;
  }
  // The errors of every route together: latency has no such test (each route's is its own).
  const across = route.route === ACROSS_ROUTES;
  const parts = across ? [errorsPart(route, context)] : [errorsPart(route, context), latencyPart(route, context)];
  const label = across ? 'all routes together, each weighted alike on both sides' : name;
  const verdict = route.outcome === 'fail' ? `${candidate} fails ${label}` : across ? `All ${label.slice('all '.length)}` : label;
  return `${verdict}: ${parts.join('; ')}.`;
}

function errorsPart(route: RouteVerdict, context: Context): string {
  const { candidate, baseline } = context;
  const c = route.candidate;
  const b = route.baseline;
  const test = route.errors;
  if (test === undefined) return `no errors (${formatCount(c.requests)} requests to ${candidate}, ${formatCount(b.requests)} to ${baseline})`;
  // Across routes the raw rates mislead (the mix of routes moves them): the adjusted difference is the figure.
  const figures =
    route.route === ACROSS_ROUTES
      ? `${formatCount(c.errors)} of ${formatCount(c.requests)} against ${baseline}'s ${formatCount(b.errors)} of ${formatCount(b.requests)}, ${signed(test.effect)} points once the mix of routes is accounted for`
      : `${ratioOf(c)} against ${baseline}'s ${ratioOf(b)}, ${signed(test.effect)} points`;
  const sure = `${test.method} ${pOf(test, context.tests)}`;
  const upTo = `up to ${signed(Math.max(0, test.effectUpper))} at ${confidenceOf(context)} confidence`;
  const margin = `the margin is +${formatPoints(test.margin)}`;
  if (test.failed) return `more errors: ${figures} (${upTo}; ${margin}), beyond chance (${sure})`;
  if (test.adjustedPValue < 1 - context.config.thresholds.confidence) return `errors ${figures}: more than chance gives (${sure}) but within the margin (${upTo}; ${margin})`;
  return `errors ${figures}, no more than chance gives (${sure})`;
}

function signed(rate: number): string {
  return `${rate < 0 ? '−' : '+'}${formatPoints(Math.abs(rate))}`;
}

function confidenceOf(context: Context): string {
  return `${Number((context.config.thresholds.confidence * 100).toFixed(4))}%`;
}

/** `1.0% (10 of 1000)` */
function ratioOf(figures: RouteFigures): string {
  return `${formatPercent(figures.errorRate)} (${formatCount(figures.errors)} of ${formatCount(figures.requests)})`;
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
  const at = `p${formatQuantile(test.quantile ?? t.latencyQuantile)}`;
  const figures = `${at} ${formatMs(test.candidateSeconds ?? c.latency ?? 0)} against ${baseline}'s ${formatMs(test.baselineSeconds ?? b.latency ?? 0)} (${formatRatio(test.effect)}`;
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

/** What the candidate was compared with, and by which rule. */
export function describeComparison(sides: Sides, summary?: { judged: number; tests: number; alpha: number }): string {
  const ids = sides.baselineInstances.map((instance) => instance.id).join(', ');
  const against =
    sides.kind === 'fresh'
      ? `a fresh baseline of ${sides.baseline} (${ids}), started beside it`
      : sides.kind === 'before'
        ? `what ${sides.baseline} (${ids}) served before the switch, while ${sides.candidate} started`
        : `the warm instances of ${sides.baseline} (${ids}), which have served for longer: a slow start of ${sides.candidate}'s fresh processes counts against it (a canary with a fresh baseline compares like with like)`;
  if (summary === undefined) return `${sides.candidate} is compared with ${against}.`;
  const rule = summary.tests === 0 ? 'no test was needed' : `a difference counts when p < ${Number(summary.alpha.toFixed(6))} after Holm's correction for ${summary.tests} test${summary.tests === 1 ? '' : 's'}`;
  return `${sides.candidate} was compared with ${against}, route by route (${summary.judged} route${summary.judged === 1 ? '' : 's'} judged; ${rule}).`;
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

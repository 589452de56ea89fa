import { compareSnapshots, histogramQuantile, type GroupWindow, type HistogramBucket } from '@baton/metrics';
import type { InstanceRecord, RouteFigures } from '../model.js';
import type { JudgeInput } from './judge-input.js';
import { memberOf } from './sides.js';
import { snapshotsOf } from './window-scrapes.js';

/** One side's window of one route (or of several routes merged). */
export interface SideWindow {
  requests: number;
  errors: number;
  requestRate: number;
  /** Cumulative buckets, ascending, the last `le` Infinity. */
  buckets: HistogramBucket[];
  latencyObservations: number;
}

/** A route as both sides served it. */
export interface RouteWindows {
  /** `GET /orders/:id`; `(other routes)` for the pool. */
  route: string;
  pooled?: string[];
  candidate: SideWindow;
  baseline: SideWindow;
}

/** The routes of a window, sorted into what can be judged alone, the pool, and what cannot be compared. */
export interface RouteSplit {
  /** Routes with `minRouteRequests` requests on each side, then the pool if it has as many. */
  judged: RouteWindows[];
  /** The pool when it has too few requests, and routes only the candidate served. */
  notJudged: (RouteWindows & { why: 'too-few' | 'candidate-only' })[];
  /** Every route together, per side. */
  candidateWhole: SideWindow;
  baselineWhole: SideWindow;
}

export const POOL = '(other routes)';
/** The name of the errors of every judged route taken together. */
export const ACROSS_ROUTES = '(all routes)';

/**
 * Sorts a window's requests by route (method and route template) for each
 * side. A route with at least `minRouteRequests` requests on both sides is
 * judged alone; routes with fewer on either side are pooled and judged
 * together, so a rarely-called route still counts without deciding alone on
 * a handful of requests. A route only the candidate served (a new one) has
 * nothing to be compared with.
 */
export function splitRoutes(input: JudgeInput, minRouteRequests: number): RouteSplit {
  const { sides } = input;
  const candidate = routesOf(input, sides.candidateInstances, sides.candidate);
  const baseline = sides.kind === 'none' ? new Map<string, SideWindow>() : routesOf(input, sides.baselineInstances, sides.baseline);
  const judged: RouteWindows[] = [];
  const notJudged: RouteSplit['notJudged'] = [];
  const pool: RouteWindows[] = [];
  for (const route of [...new Set([...candidate.keys(), ...baseline.keys()])].sort()) {
    const c = candidate.get(route) ?? EMPTY;
    const b = baseline.get(route) ?? EMPTY;
    // A route the candidate never served says nothing about it.
    if (c.requests === 0) continue;
    if (b.requests === 0) {
      if (sides.kind !== 'none') notJudged.push({ route, candidate: c, baseline: b, why: 'candidate-only' });
      continue;
    }
    const windows = { route, candidate: c, baseline: b };
    if (c.requests >= minRouteRequests && b.requests >= minRouteRequests) judged.push(windows);
    else pool.push(windows);
  }
  if (pool.length === 1) {
    const only = pool[0] as RouteWindows;
    if (only.candidate.requests >= minRouteRequests && only.baseline.requests >= minRouteRequests) judged.push(only);
    else notJudged.push({ ...only, why: 'too-few' });
  } else if (pool.length > 1) {
    const merged: RouteWindows = {
      route: POOL,
      pooled: pool.map((windows) => windows.route),
      candidate: merge(pool.map((windows) => windows.candidate)),
      baseline: merge(pool.map((windows) => windows.baseline)),
    };
    if (merged.candidate.requests >= minRouteRequests && merged.baseline.requests >= minRouteRequests) judged.push(merged);
    else notJudged.push({ ...merged, why: 'too-few' });
  }
  return { judged, notJudged, candidateWhole: merge([...candidate.values()]), baselineWhole: merge([...baseline.values()]) };
}

/** A side's figures for a verdict: counts, error rate and the quantile compared. */
export function figuresOf(window: SideWindow, quantile: number): RouteFigures {
  return {
    requests: window.requests,
    errors: window.errors,
    errorRate: window.requests > 0 ? window.errors / window.requests : 0,
    latency: window.latencyObservations > 0 ? histogramQuantile(quantile, window.buckets) : undefined,
    latencyObservations: window.latencyObservations,
  };
}

const EMPTY: SideWindow = { requests: 0, errors: 0, requestRate: 0, buckets: [], latencyObservations: 0 };

/**
 * One side's routes. Its series are those of its own instances; a series
 * labelled with another release is left out (a process that serves metrics
 * for more than one release), one without a release label is kept (the side
 * is known from the instance).
 */
function routesOf(input: JudgeInput, members: readonly InstanceRecord[], release: string): Map<string, SideWindow> {
  if (members.length === 0) return new Map();
  const { befores, afters } = snapshotsOf(input.scrapes, memberOf(members));
  const filter = (labels: Readonly<Record<string, string>>): boolean => (labels.release === undefined || labels.release === release) && input.keep(labels);
  const groups = compareSnapshots(befores, afters, { groupBy: ['method', 'route'], quantiles: [], filter });
  const routes = new Map<string, SideWindow>();
  for (const [name, group] of groups) routes.set(name.trim() === '' ? '(no route)' : name.trim(), sideOf(group));
  return routes;
}

function sideOf(group: GroupWindow): SideWindow {
  return { requests: group.requests, errors: group.errors, requestRate: group.requestRate, buckets: group.buckets, latencyObservations: group.latencyObservations };
}

/** Several windows as one: counts added, histograms added bucket by bucket. */
export function merge(windows: readonly SideWindow[]): SideWindow {
  const buckets = new Map<number, number>();
  let requests = 0;
  let errors = 0;
  let requestRate = 0;
  let latencyObservations = 0;
  for (const window of windows) {
    requests += window.requests;
    errors += window.errors;
    requestRate += window.requestRate;
    latencyObservations += window.latencyObservations;
    for (const { le, count } of window.buckets) buckets.set(le, (buckets.get(le) ?? 0) + count);
  }
  return { requests, errors, requestRate, latencyObservations, buckets: [...buckets].map(([le, count]) => ({ le, count })).sort((x, y) => x.le - y.le) };
}

import { BatonError } from '@baton/lifecycle';
import type { Snapshot } from './snapshot.js';

/** What {@link compareSnapshots} reads and how it groups it. */
export interface WindowOptions {
  /**
   * Label to group by; default `'release'`. Samples without it go under group
   * `''`. Several labels group by their combination, named by the values
   * joined with a space (`['method', 'route']` gives `GET /orders/:id`).
   */
  groupBy?: string | readonly string[];
  /** Counter of requests (sample name); default `'http_requests_total'`. */
  requests?: string;
  /** Histogram of request durations in seconds (family name); default `'http_request_duration_seconds'`. */
  duration?: string;
  /** Label of the requests counter holding the status; default `'status_code'`. */
  statusLabel?: string;
  /** Which status values are errors; default: those starting with `5` (`'503'`, `'5xx'`). */
  isError?: (status: string) => boolean;
  /** Latency quantiles to estimate, each in [0, 1]; default `[0.5, 0.9, 0.99]`. */
  quantiles?: readonly number[];
  /**
   * Keeps a series when true; called with the labels of each requests series
   * and of each duration histogram (without `le`).
   *
   * @example
   * { filter: (labels) => labels.route !== '/healthz' }
   */
  filter?: (labels: Readonly<Record<string, string>>) => boolean;
}

/** Requests, errors and latency of one group (one release) between two scrapes. */
export interface GroupWindow {
  group: string;
  /** The longest instance window, in seconds. */
  seconds: number;
  requests: number;
  errors: number;
  /** Requests per second: the sum of each instance's increase over its own window. */
  requestRate: number;
  /** `errors / requests`, 0 when there were no requests. */
  errorRate: number;
  /** Estimated latency quantiles in seconds, keyed `p50`, `p99.9`...; undefined with no observations. */
  latency: Record<string, number | undefined>;
  latencyObservations: number;
  /** Seconds; undefined with no observations. */
  meanLatency: number | undefined;
  /**
   * The window's latency histogram: cumulative buckets (observations ≤ `le`
   * seconds) ascending, the last `le` Infinity; empty with no histogram. What
   * a rank test or another quantile is computed from.
   */
  buckets: HistogramBucket[];
}

/** One bucket of a cumulative histogram: observations less than or equal to `le`. */
export interface HistogramBucket {
  le: number;
  count: number;
}

/**
 * Requests, error rate and latency per group (by default per `release`) in the
 * window between two scrapes, or two sets of scrapes (one per instance, paired
 * by `source`). Counter resets (a restarted instance) count the value after as
 * the increase, as Prometheus' `increase()` does, without its extrapolation.
 *
 * Rates: each instance's increase is divided by that instance's own window and
 * the rates are summed, so instances scraped at slightly different moments add
 * up correctly. An instance seen only in `after` counts fully, over the longest
 * window; one seen only in `before` is gone and cannot be counted.
 *
 * @example
 * const window = compareSnapshots(before, after);
 * const canary = window.get('v2');
 * if (canary && canary.errorRate > 2 * (window.get('v1')?.errorRate ?? 0)) rollback();
 */
export function compareSnapshots(
  before: Snapshot | readonly Snapshot[],
  after: Snapshot | readonly Snapshot[],
  options: WindowOptions = {},
): Map<string, GroupWindow> {
  const resolved = resolveWindowOptions(options);
  const befores = bySource(asArray(before), 'before');
  const afters = [...bySource(asArray(after), 'after').values()];

  const windows = afters.map((a) => {
    const b = befores.get(a.source);
    if (b === undefined) return undefined;
    const seconds = (a.atMs - b.atMs) / 1000;
    if (!(seconds > 0)) {
      throw new BatonError(
        'BATON_ERR_INVALID_OPTION',
        `compareSnapshots: the after snapshot of ${a.source} (atMs ${a.atMs}) is not later than its before snapshot (atMs ${b.atMs})`,
      );
    }
    return seconds;
  });
  const longest = Math.max(0, ...windows.map((w) => w ?? 0));

  const groups = new Map<string, Accumulator>();
  const groupOf = (labels: Readonly<Record<string, string>>): Accumulator => {
    const name = resolved.groupBy.map((label) => labels[label] ?? '').join(' ');
    let acc = groups.get(name);
    if (acc === undefined) {
      acc = { requests: 0, errors: 0, requestRate: 0, buckets: new Map(), observations: 0, sum: 0 };
      groups.set(name, acc);
    }
    return acc;
  };

  afters.forEach((a, index) => {
    const b = befores.get(a.source);
    const seconds = windows[index] ?? longest;
    const previous = b === undefined ? new Map<string, number>() : counterValues(b, resolved.requests);
    for (const series of counterSeries(a, resolved.requests)) {
      if (!resolved.filter(series.labels)) continue;
      const delta = increase(series.value, previous.get(series.key));
      // A NaN counter says nothing about requests; leaving it out keeps the sums numbers.
      if (Number.isNaN(delta)) continue;
      const acc = groupOf(series.labels);
      acc.requests += delta;
      if (seconds > 0) acc.requestRate += delta / seconds;
      if (resolved.isError(series.labels[resolved.statusLabel] ?? '')) acc.errors += delta;
    }

    const previousHistograms = b === undefined ? new Map<string, Histogram>() : histograms(b, resolved.duration);
    for (const [key, h] of histograms(a, resolved.duration)) {
      if (!resolved.filter(h.labels)) continue;
      const p = previousHistograms.get(key);
      // A restart resets every bucket at once: judge the histogram as a whole so the buckets stay consistent.
      const reset = p !== undefined && (h.count < p.count || [...h.buckets].some(([le, v]) => v < (p.buckets.get(le) ?? 0)));
      const base = p === undefined || reset ? undefined : p;
      const acc = groupOf(h.labels);
      for (const [le, v] of h.buckets) acc.buckets.set(le, (acc.buckets.get(le) ?? 0) + v - (base?.buckets.get(le) ?? 0));
      acc.observations += h.count - (base?.count ?? 0);
      acc.sum += h.sum - (base?.sum ?? 0);
    }
  });

  const result = new Map<string, GroupWindow>();
  for (const name of [...groups.keys()].sort()) {
    const acc = groups.get(name);
    if (acc === undefined) continue;
    const buckets = [...acc.buckets].map(([le, count]) => ({ le, count })).sort((x, y) => x.le - y.le);
    const latency: Record<string, number | undefined> = {};
    for (const q of resolved.quantiles) latency[quantileKey(q)] = histogramQuantile(q, buckets);
    result.set(name, {
      group: name,
      seconds: longest,
      requests: acc.requests,
      errors: acc.errors,
      requestRate: acc.requestRate,
      errorRate: acc.requests > 0 ? acc.errors / acc.requests : 0,
      latency,
      latencyObservations: acc.observations,
      meanLatency: acc.observations > 0 ? acc.sum / acc.observations : undefined,
      buckets,
    });
  }
  return result;
}

/**
 * The `q`-quantile (0 ≤ q ≤ 1) of cumulative histogram buckets, as Prometheus'
 * `histogram_quantile` computes it: linear interpolation inside the bucket, the
 * lowest bucket interpolated from 0, the `+Inf` bucket answering with the highest
 * finite bound. Undefined where Prometheus gives NaN (no observations, no `+Inf` bucket).
 *
 * @example
 * histogramQuantile(0.5, [{ le: 0.1, count: 2 }, { le: 0.5, count: 6 }, { le: Infinity, count: 8 }]); // 0.3
 */
export function histogramQuantile(q: number, buckets: readonly HistogramBucket[]): number | undefined {
  if (!(q >= 0 && q <= 1)) throw new BatonError('BATON_ERR_INVALID_OPTION', `histogramQuantile: q must be between 0 and 1, got ${q}`);
  if (buckets.length === 0) return undefined;
  const sorted = buckets.map((b) => ({ le: b.le, count: b.count })).sort((x, y) => x.le - y.le);
  if (sorted[sorted.length - 1]?.le !== Number.POSITIVE_INFINITY) return undefined;

  // Equal bounds (from `1` and `1.0`) are one bucket.
  const merged: HistogramBucket[] = [];
  for (const b of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.le === b.le) last.count += b.count;
    else merged.push(b);
  }
  // As Prometheus: float noise and inconsistent data must not break the search below, which needs counts that never decrease.
  let previous = merged[0]?.count ?? 0;
  for (let i = 1; i < merged.length; i += 1) {
    const b = merged[i] as HistogramBucket;
    const delta = Math.abs(b.count - previous);
    if (delta !== 0 && delta / b.count <= 1e-12) b.count = previous;
    else previous = b.count;
  }
  let max = merged[0]?.count ?? 0;
  for (const b of merged) {
    if (b.count < max) b.count = max;
    else max = b.count;
  }

  if (merged.length < 2) return undefined;
  const observations = (merged[merged.length - 1] as HistogramBucket).count;
  if (!(observations > 0)) return undefined;
  let rank = q * observations;
  let index = merged.findIndex((b) => b.count >= rank);
  if (index === -1 || index === merged.length - 1) return (merged[merged.length - 2] as HistogramBucket).le;
  const bucket = merged[index] as HistogramBucket;
  if (index === 0 && bucket.le <= 0) return bucket.le;
  let start = 0;
  let count = bucket.count;
  if (index > 0) {
    const below = merged[index - 1] as HistogramBucket;
    start = below.le;
    count -= below.count;
    rank -= below.count;
  }
  // Only q = 0 over empty lowest buckets gets here with count 0; Prometheus would answer NaN.
  if (count === 0) return start;
  return start + (bucket.le - start) * (rank / count);
}

interface ResolvedWindowOptions {
  groupBy: readonly string[];
  requests: string;
  duration: string;
  statusLabel: string;
  isError: (status: string) => boolean;
  quantiles: readonly number[];
  filter: (labels: Readonly<Record<string, string>>) => boolean;
}

interface Accumulator {
  requests: number;
  errors: number;
  requestRate: number;
  buckets: Map<number, number>;
  observations: number;
  sum: number;
}

interface Histogram {
  labels: Readonly<Record<string, string>>;
  buckets: Map<number, number>;
  count: number;
  sum: number;
}

function resolveWindowOptions(options: WindowOptions): ResolvedWindowOptions {
  const groupBy = options.groupBy ?? 'release';
  const resolved: ResolvedWindowOptions = {
    groupBy: typeof groupBy === 'string' ? [groupBy] : groupBy,
    requests: options.requests ?? 'http_requests_total',
    duration: options.duration ?? 'http_request_duration_seconds',
    statusLabel: options.statusLabel ?? 'status_code',
    isError: options.isError ?? ((status) => status.startsWith('5')),
    quantiles: options.quantiles ?? [0.5, 0.9, 0.99],
    filter: options.filter ?? (() => true),
  };
  if (!Array.isArray(resolved.groupBy) || resolved.groupBy.length === 0 || resolved.groupBy.some((label) => typeof label !== 'string' || label === '')) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'compareSnapshots: groupBy must be a label name or a non-empty array of label names');
  }
  for (const key of ['requests', 'duration', 'statusLabel'] as const) {
    if (typeof resolved[key] !== 'string' || resolved[key] === '') {
      throw new BatonError('BATON_ERR_INVALID_OPTION', `compareSnapshots: ${key} must be a non-empty string`);
    }
  }
  for (const q of resolved.quantiles) {
    if (typeof q !== 'number' || !(q >= 0 && q <= 1)) {
      throw new BatonError('BATON_ERR_INVALID_OPTION', `compareSnapshots: quantiles must be numbers between 0 and 1, got ${String(q)}`);
    }
  }
  if (typeof resolved.isError !== 'function' || typeof resolved.filter !== 'function') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'compareSnapshots: isError and filter must be functions');
  }
  return resolved;
}

function asArray(snapshots: Snapshot | readonly Snapshot[]): readonly Snapshot[] {
  return isSnapshotList(snapshots) ? snapshots : [snapshots];
}

function isSnapshotList(snapshots: Snapshot | readonly Snapshot[]): snapshots is readonly Snapshot[] {
  return Array.isArray(snapshots);
}

function bySource(snapshots: readonly Snapshot[], side: string): Map<string, Snapshot> {
  const map = new Map<string, Snapshot>();
  for (const s of snapshots) {
    // Two snapshots of one source on one side would be counted twice.
    if (map.has(s.source)) throw new BatonError('BATON_ERR_INVALID_OPTION', `compareSnapshots: two ${side} snapshots from ${s.source}`);
    map.set(s.source, s);
  }
  return map;
}

/** Prometheus' counter increase between two values: a drop means the counter restarted from 0. */
function increase(after: number, before: number | undefined): number {
  if (before === undefined || after < before) return after;
  return after - before;
}

function* counterSeries(snapshot: Snapshot, name: string): Generator<{ key: string; labels: Readonly<Record<string, string>>; value: number }> {
  for (const family of snapshot.families) {
    for (const sample of family.samples) {
      if (sample.name === name) yield { key: seriesKey(sample.labels), labels: sample.labels, value: sample.value };
    }
  }
}

function counterValues(snapshot: Snapshot, name: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const series of counterSeries(snapshot, name)) values.set(series.key, series.value);
  return values;
}

function histograms(snapshot: Snapshot, name: string): Map<string, Histogram> {
  const bucketName = `${name}_bucket`;
  const sumName = `${name}_sum`;
  const countName = `${name}_count`;
  const found = new Map<string, Histogram>();
  const counted = new Set<Histogram>();
  const histogramOf = (labels: Readonly<Record<string, string>>): Histogram => {
    const key = seriesKey(labels, 'le');
    let h = found.get(key);
    if (h === undefined) {
      h = { labels: withoutLe(labels), buckets: new Map(), count: 0, sum: 0 };
      found.set(key, h);
    }
    return h;
  };
  for (const family of snapshot.families) {
    for (const sample of family.samples) {
      if (sample.name === bucketName) {
        const le = parseLe(sample.labels.le);
        if (le === undefined) continue;
        const h = histogramOf(sample.labels);
        h.buckets.set(le, (h.buckets.get(le) ?? 0) + sample.value);
      } else if (sample.name === sumName) {
        histogramOf(sample.labels).sum = sample.value;
      } else if (sample.name === countName) {
        const h = histogramOf(sample.labels);
        h.count = sample.value;
        counted.add(h);
      }
    }
  }
  // Without a _count series the +Inf bucket holds the same number.
  for (const h of found.values()) if (!counted.has(h)) h.count = h.buckets.get(Number.POSITIVE_INFINITY) ?? 0;
  return found;
}

function withoutLe(labels: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  const own = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(labels)) if (k !== 'le') own[k] = v;
  return own;
}

function parseLe(le: string | undefined): number | undefined {
  if (le === undefined || le.trim() === '') return undefined;
  const lower = le.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Number.POSITIVE_INFINITY;
  const value = Number(le);
  return Number.isNaN(value) ? undefined : value;
}

// Label order may change between scrapes (a restart), so the key sorts the names.
function seriesKey(labels: Readonly<Record<string, string>>, skip?: string): string {
  const names = Object.keys(labels).sort();
  let key = '';
  for (const name of names) if (name !== skip) key += `${name}\u0000${labels[name] ?? ''}\u0001`;
  return key;
}

function quantileKey(q: number): string {
  return `p${Number((q * 100).toPrecision(12))}`;
}

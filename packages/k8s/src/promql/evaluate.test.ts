import { describe, expect, it } from 'vitest';
import { compareSnapshots, histogramQuantile, snapshotFromText, type Snapshot } from '@baton/metrics';
import { evaluatePromql, type SeriesValue, type Value, type Window } from './evaluate.test.fixtures.js';
import { bucketQuantile } from './evaluate-functions.test.fixtures.js';

// Bounds of the duration histogram, as prom-client prints them.
const LE = ['0.05', '0.1', '0.25', '0.5', '1', '+Inf'];

interface Counts {
  /** Requests by status code. */
  requests: Record<string, number>;
  /** Cumulative bucket counts, one per LE. */
  buckets: number[];
  sum: number;
}

/** The exposition text one instance of `release` would serve. */
function exposition(release: string, counts: Counts): string {
  const route = 'method="GET",route="/orders/:id"';
  const lines = ['# HELP http_requests_total Requests.', '# TYPE http_requests_total counter'];
  for (const [status, value] of Object.entries(counts.requests)) {
    lines.push(`http_requests_total{${route},status_code="${status}",release="${release}"} ${value}`);
  }
  lines.push('# HELP http_request_duration_seconds Request duration.', '# TYPE http_request_duration_seconds histogram');
  LE.forEach((le, i) => lines.push(`http_request_duration_seconds_bucket{le="${le}",${route},release="${release}"} ${counts.buckets[i] ?? 0}`));
  lines.push(`http_request_duration_seconds_sum{${route},release="${release}"} ${counts.sum}`);
  lines.push(`http_request_duration_seconds_count{${route},release="${release}"} ${counts.buckets[LE.length - 1] ?? 0}`);
  return `${lines.join('\n')}\n`;
}

const T0 = 1_700_000_000_000;

function scrapes(at: number, pods: Record<string, [release: string, counts: Counts]>): Snapshot[] {
  return Object.entries(pods).map(([source, [release, counts]]) => snapshotFromText(exposition(release, counts), source, at));
}

/*
 * One stable pod and two canary pods over 60 s. canary-0 starts serving 503s
 * during the window (a series missing at the start); canary-1 restarted, so
 * every one of its counters went down.
 *
 * Increases: stable v1  200: 1000, 500: 10           buckets [500, 800, 950, 1000, 1008, 1010]
 *            canary-0   200: 100, 500: 10, 503: 5    buckets [30, 60, 80, 100, 110, 115]
 *            canary-1   200: 80,  500: 20 (reset)    buckets [20, 40, 60, 80, 95, 100]
 */
const start = scrapes(T0, {
  'stable-0': ['v1', { requests: { 200: 100, 500: 2 }, buckets: [50, 80, 95, 100, 102, 102], sum: 10 }],
  'canary-0': ['v2', { requests: { 200: 300, 500: 20 }, buckets: [100, 200, 260, 300, 315, 320], sum: 40 }],
  'canary-1': ['v2', { requests: { 200: 500, 500: 50 }, buckets: [200, 300, 400, 500, 540, 550], sum: 60 }],
});
const end = scrapes(T0 + 60_000, {
  'stable-0': ['v1', { requests: { 200: 1100, 500: 12 }, buckets: [550, 880, 1045, 1100, 1110, 1112], sum: 150 }],
  'canary-0': ['v2', { requests: { 200: 400, 500: 30, 503: 5 }, buckets: [130, 260, 340, 400, 425, 435], sum: 55 }],
  'canary-1': ['v2', { requests: { 200: 80, 500: 20 }, buckets: [20, 40, 60, 80, 95, 100], sum: 15 }],
});
const window: Window = {
  start,
  end,
  seconds: 60,
  targetLabels: {
    'stable-0': { baton_role: 'stable', pod: 'stable-0' },
    'canary-0': { baton_role: 'canary', pod: 'canary-0' },
    'canary-1': { baton_role: 'canary', pod: 'canary-1' },
  },
};
// What Baton's own canary analysis computes from the same scrapes.
const baton = compareSnapshots(start, end);

function vector(query: string, w: Window = window): SeriesValue[] {
  const value = evaluatePromql(query, w);
  if (value.kind !== 'vector') throw new Error(`expected a vector from ${query}, got a scalar`);
  return value.series;
}

/** The value of the one series carrying `labels` (among others). */
function valueOf(series: readonly SeriesValue[], labels: Record<string, string>): number | undefined {
  const found = series.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} series match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

function byRelease(series: readonly SeriesValue[]): Record<string, number> {
  return Object.fromEntries(series.map((s) => [s.labels.release ?? '', s.value]));
}

describe('evaluatePromql', () => {
  it('gives the end scrape for a bare selector, with target labels merged in and the metric name', () => {
    const series = vector('http_requests_total{pod="canary-0"}');
    expect(series).toContainEqual({
      labels: {
        __name__: 'http_requests_total',
        method: 'GET',
        route: '/orders/:id',
        status_code: '503',
        release: 'v2',
        baton_role: 'canary',
        pod: 'canary-0',
      },
      value: 5,
    });
    expect(series).toHaveLength(3);
  });

  it('lets target labels win over scraped ones, as honor_labels: false does', () => {
    const relabelled = { ...window, targetLabels: { 'stable-0': { release: 'from-target' } } };
    expect(vector('http_requests_total{status_code="200", release="from-target"}', relabelled)).toEqual([
      { labels: expect.objectContaining({ release: 'from-target' }) as Record<string, string>, value: 1100 },
    ]);
    expect(vector('http_requests_total{release="v1"}', relabelled)).toEqual([]);
  });

  it('computes increase() and rate() between the two scrapes and drops the metric name', () => {
    const increase = vector('increase(http_requests_total{release="v1", status_code="200"}[5m])');
    expect(increase).toEqual([
      { labels: { method: 'GET', route: '/orders/:id', status_code: '200', release: 'v1', baton_role: 'stable', pod: 'stable-0' }, value: 1000 },
    ]);
    // Whatever the range says, it means the window: rate() divides by the window's 60 s.
    expect(vector('rate(http_requests_total{release="v1", status_code="200"}[1h])')[0]?.value).toBeCloseTo(1000 / 60, 12);
  });

  it('counts a counter that went down from 0, and a series missing at the start from 0', () => {
    const restarted = vector('increase(http_requests_total{pod="canary-1"}[5m])');
    expect(valueOf(restarted, { status_code: '200' })).toBe(80);
    expect(valueOf(restarted, { status_code: '500' })).toBe(20);
    expect(vector('increase(http_requests_total{status_code="503"}[5m])').map((s) => s.value)).toEqual([5]);
  });

  it('matches labels with =, !=, =~ and !~, regexes anchored at both ends', () => {
    const count = (selector: string): number => vector(`increase(${selector}[5m])`).length;
    expect(count('http_requests_total{status_code=~"5.."}')).toBe(4);
    expect(count('http_requests_total{status_code=~"5"}')).toBe(0);
    expect(count('http_requests_total{status_code!~"5..", baton_role!="stable"}')).toBe(2);
    expect(count('{__name__=~"http_requests_.*", status_code="200"}')).toBe(3);
  });

  it('aggregates with by and without, and agrees with compareSnapshots on requests', () => {
    const requests = byRelease(vector('sum by (release) (increase(http_requests_total[5m]))'));
    expect(requests).toEqual({ v1: 1010, v2: 215 });
    expect(requests).toEqual({ v1: baton.get('v1')?.requests, v2: baton.get('v2')?.requests });

    const rates = byRelease(vector('sum by (release) (rate(http_requests_total[5m]))'));
    expect(rates.v2).toBeCloseTo(baton.get('v2')?.requestRate ?? Number.NaN, 12);

    const perPod = vector('sum without (method, route, status_code) (increase(http_requests_total[5m]))');
    expect(perPod).toContainEqual({ labels: { release: 'v2', baton_role: 'canary', pod: 'canary-0' }, value: 115 });
    expect(vector('count by (baton_role) (http_requests_total)')).toContainEqual({ labels: { baton_role: 'canary' }, value: 5 });
    expect(vector('max(increase(http_requests_total[5m]))')).toEqual([{ labels: {}, value: 1000 }]);
    expect(vector('min by (pod) (increase(http_requests_total[5m]))')).toContainEqual({ labels: { pod: 'canary-0' }, value: 5 });
  });

  it('computes the canary error rate with on() and ignoring() as compareSnapshots does', () => {
    const errorRate = vector(
      'sum(rate(http_requests_total{baton_role="canary", status_code=~"5.."}[5m])) / on() sum(rate(http_requests_total{baton_role="canary"}[5m]))',
    );
    expect(errorRate).toHaveLength(1);
    expect(errorRate[0]?.labels).toEqual({});
    expect(errorRate[0]?.value).toBeCloseTo(35 / 215, 12);
    expect(errorRate[0]?.value).toBeCloseTo(baton.get('v2')?.errorRate ?? Number.NaN, 12);

    // ignoring(baton_role) matches {release, baton_role} with {release}; the result keeps the left labels but the ignored one.
    const byReleaseRate = vector(
      'sum by (release, baton_role) (increase(http_requests_total{status_code=~"5.."}[5m])) / ignoring(baton_role) sum by (release) (increase(http_requests_total[5m]))',
    );
    expect(byRelease(byReleaseRate)).toEqual({ v1: baton.get('v1')?.errorRate, v2: baton.get('v2')?.errorRate });
    expect(byReleaseRate.map((s) => s.labels)).toEqual([{ release: 'v1' }, { release: 'v2' }]);
  });

  it('keeps the one-to-one rule: many-to-one needs group_left, which copies nothing it is not told to', () => {
    const query = (modifier: string): string =>
      `sum by (release, status_code) (increase(http_requests_total{status_code=~"5.."}[5m])) / ${modifier} sum by (release) (increase(http_requests_total[5m]))`;
    expect(() => evaluatePromql(query('ignoring(status_code)'), window)).toThrow(/many-to-one matching must be explicit/);
    const perStatus = vector(query('ignoring(status_code) group_left'));
    expect(valueOf(perStatus, { release: 'v2', status_code: '503' })).toBeCloseTo(5 / 215, 12);
    expect(valueOf(perStatus, { release: 'v2', status_code: '500' })).toBeCloseTo(30 / 215, 12);
    expect(perStatus).toHaveLength(3);
  });

  describe('histogram_quantile', () => {
    const p = (q: number): Record<string, number> =>
      byRelease(vector(`histogram_quantile(${q}, sum by (le, release) (rate(http_request_duration_seconds_bucket[5m])))`));

    it('interpolates inside the bucket as Prometheus does (hand-computed)', () => {
      const p90 = p(0.9);
      // v1: rank 909 of 1010 falls in (0.1, 0.25], which holds 800 → 950.
      expect(p90.v1).toBeCloseTo(0.1 + 0.15 * ((909 - 800) / 150), 12);
      // v2 (both canaries, one reset): rank 193.5 of 215 falls in (0.5, 1], 180 → 205.
      expect(p90.v2).toBeCloseTo(0.5 + 0.5 * ((193.5 - 180) / 25), 12);
      // v1 p50: rank 505 in (0.05, 0.1], 500 → 800.
      expect(p(0.5).v1).toBeCloseTo(0.05 + 0.05 * (5 / 300), 12);
      // v2 p99: rank 212.85 is past the highest finite bucket's 205: the answer is that bucket's bound.
      expect(p(0.99).v2).toBe(1);
    });

    it('agrees with the latency compareSnapshots reports', () => {
      for (const [q, key] of [
        [0.5, 'p50'],
        [0.9, 'p90'],
        [0.99, 'p99'],
      ] as const) {
        const promql = p(q);
        for (const release of ['v1', 'v2']) expect(promql[release]).toBeCloseTo(baton.get(release)?.latency[key] ?? Number.NaN, 12);
      }
    });

    it('keeps the labels but le and the name, and answers NaN with no observations', () => {
      const quiet: Window = { start: end, end: end.map((s) => ({ ...s, atMs: s.atMs + 60_000 })), seconds: 60 };
      expect(vector('histogram_quantile(0.5, increase(http_request_duration_seconds_bucket{release="v1"}[5m]))', quiet)).toEqual([
        { labels: { method: 'GET', route: '/orders/:id', release: 'v1' }, value: Number.NaN },
      ]);
    });

    it('uses the rule of @baton/metrics histogramQuantile, except where that one answers a number for NaN', () => {
      const buckets = [
        { le: 0.05, count: 50 },
        { le: 0.1, count: 100 },
        { le: 0.25, count: 140 },
        { le: 0.5, count: 180 },
        { le: 1, count: 205 },
        { le: Infinity, count: 215 },
      ];
      for (let q = 0; q <= 1; q += 0.01) expect(bucketQuantile(q, buckets)).toBeCloseTo(histogramQuantile(q, buckets) ?? Number.NaN, 12);

      // Where they differ: q = 0 over an empty lowest bucket is 0/0 in Prometheus (NaN); histogramQuantile answers the
      // bucket's lower edge. No observations or no +Inf bucket: NaN here, undefined there. q outside [0, 1]: ±Inf
      // here, a thrown error there. Its tolerance for float noise between buckets is |Δ|/count ≤ 1e-12 where
      // Prometheus uses |Δ|/(|a|+|b|) < 1e-12 — half as tight, unnoticeable on counts.
      const emptyLowest = [
        { le: 0.05, count: 0 },
        { le: 0.1, count: 5 },
        { le: Infinity, count: 5 },
      ];
      expect(bucketQuantile(0, emptyLowest)).toBeNaN();
      expect(histogramQuantile(0, emptyLowest)).toBe(0);
      expect(bucketQuantile(0.5, [{ le: Infinity, count: 0 }, { le: 1, count: 0 }])).toBeNaN();
      expect(bucketQuantile(1.5, buckets)).toBe(Infinity);
      expect(bucketQuantile(-1, buckets)).toBe(-Infinity);
    });
  });

  it('filters with comparisons and answers 0/1 with bool', () => {
    const errorRates = 'sum by (release) (increase(http_requests_total{status_code=~"5.."}[5m])) / sum by (release) (increase(http_requests_total[5m]))';
    expect(vector(`${errorRates} > 0.05`)).toEqual([{ labels: { release: 'v2' }, value: 35 / 215 }]);
    expect(byRelease(vector(`${errorRates} > bool 0.05`))).toEqual({ v1: 0, v2: 1 });
    // The vector's value survives even when the scalar is written first.
    expect(vector(`0.05 < ${errorRates}`)).toEqual([{ labels: { release: 'v2' }, value: 35 / 215 }]);

    // Vector against vector keeps the left side's series, name included, and value; as in Prometheus, a one-to-one
    // match drops the ignored labels (and with on() keeps only the on() ones).
    const canary = { method: 'GET', route: '/orders/:id', status_code: '200', release: 'v2', baton_role: 'canary' };
    expect(vector('http_requests_total{pod="canary-0", status_code="200"} > ignoring(pod) http_requests_total{pod="canary-1", status_code="200"}')).toEqual([
      { labels: { __name__: 'http_requests_total', ...canary }, value: 400 },
    ]);
    expect(vector('http_requests_total{pod="canary-0", status_code="200"} > on(release) http_requests_total{pod="canary-1", status_code="200"}')).toEqual([
      { labels: { release: 'v2' }, value: 400 },
    ]);
    expect(vector('http_requests_total{pod="canary-0", status_code="200"} < bool ignoring(pod) http_requests_total{pod="canary-1", status_code="200"}')).toEqual([
      { labels: canary, value: 0 },
    ]);

    expect(evaluatePromql('2 > bool 1', window)).toEqual({ kind: 'scalar', value: 1 });
    expect(() => evaluatePromql('2 > 1', window)).toThrow(/comparisons between scalars must use BOOL/);
  });

  it('combines with and, or and unless on the matching labels', () => {
    const requests = 'sum by (release) (increase(http_requests_total[5m]))';
    const failing = 'sum by (release, baton_role) (increase(http_requests_total{status_code=~"5.."}[5m])) > 12';
    expect(vector(`${requests} and on(release) (${failing})`)).toEqual([{ labels: { release: 'v2' }, value: 215 }]);
    expect(vector(`${requests} unless on(release) (${failing})`)).toEqual([{ labels: { release: 'v1' }, value: 1010 }]);
    // Without on(), baton_role makes the label sets differ and nothing matches.
    expect(vector(`${requests} and (${failing})`)).toEqual([]);
    expect(vector(`${requests} or on(release) (${failing})`)).toHaveLength(2);
    // The usual guard for a query that may find no series.
    expect(vector('sum(rate(http_requests_total{release="v3"}[5m])) or on() vector(0)')).toEqual([{ labels: {}, value: 0 }]);
  });

  it('does arithmetic, unary minus, clamp and division by zero as IEEE floats', () => {
    expect(evaluatePromql('-(1 + 2) * 3 ^ 2 % 5', window)).toEqual({ kind: 'scalar', value: -(3 * 9) % 5 });
    expect(vector('clamp_min(sum(increase(http_requests_total{release="v3"}[5m])) or vector(0), 1)')).toEqual([{ labels: {}, value: 1 }]);
    expect(vector('clamp_max(sum by (release) (increase(http_requests_total[5m])), 500)').map((s) => s.value)).toEqual([500, 215]);
    expect(vector('vector(1) / vector(0)')).toEqual([{ labels: {}, value: Infinity }]);
    expect(vector('vector(0) / vector(0)')[0]?.value).toBeNaN();
    expect(vector('-http_requests_total{pod="canary-0", status_code="503"}')[0]).toEqual({
      labels: expect.not.objectContaining({ __name__: expect.anything() as unknown }) as Record<string, string>,
      value: -5,
    });
    expect(evaluatePromql('scalar(sum(http_requests_total{status_code="503"})) * 2', window)).toEqual({ kind: 'scalar', value: 10 });
  });

  it('reads templated ranges as the window', () => {
    const templated = 'sum(increase(http_requests_total{release="v2"}[{{args.interval}}]))';
    expect(vector(templated)).toEqual(vector('sum(increase(http_requests_total{release="v2"}[5m]))'));
    expect(vector('sum(rate(http_requests_total[$__rate_interval]))')[0]?.value).toBeCloseTo(1225 / 60, 12);
  });

  it('refuses what it does not support by name, and syntax errors with their position', () => {
    const fails = (query: string): (() => Value) => () => evaluatePromql(query, window);
    expect(fails('irate(http_requests_total[5m])')).toThrow(/function irate\(\) is not supported/);
    expect(fails('topk(1, http_requests_total)')).toThrow(/aggregation topk\(\) is not supported/);
    expect(fails('http_requests_total offset 5m')).toThrow(/no window for offset 5m/);
    expect(fails('rate(http_requests_total[5m:1m])')).toThrow(/subquery/);
    expect(fails('http_requests_total[5m]')).toThrow(/range vector/);
    expect(fails('rate(http_requests_total)')).toThrow(/argument 1 of rate\(\) must be a range vector, got an instant vector/);
    expect(fails('sum(rate(http_requests_total[5m])')).toThrow(/PromQL syntax error at character 34: unexpected end of query/);
    expect(fails('sum by (release) (http_requests_total) }')).toThrow(/PromQL syntax error at character 40: unexpected "}"/);
    expect(fails('rates(http_requests_total[5m])')).toThrow(/unknown function rates\(\)/);
    expect(fails('{status_code=~".*"}')).toThrow(/at least one non-empty matcher/);
  });
});

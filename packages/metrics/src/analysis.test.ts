import { describe, expect, it } from 'vitest';
import { Counter, Histogram, Registry, type OpenMetricsContentType } from 'prom-client';
import { compareSnapshots, histogramQuantile, type GroupWindow } from './analysis.js';
import { snapshotFromText, type Snapshot } from './snapshot.js';

const BUCKETS = [0.1, 0.25, 0.5, 1];

/** One instance of a service with the usual RED metrics, fed by hand. */
function instance(options: { openMetrics?: boolean } = {}) {
  const registry = new Registry<OpenMetricsContentType>();
  if (options.openMetrics === true) registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const labelNames = ['release', 'route', 'status_code'] as const;
  const requests = new Counter({ name: 'http_requests_total', help: 'Requests', labelNames, registers: [registry] });
  const duration = new Histogram({ name: 'http_request_duration_seconds', help: 'Duration', labelNames, buckets: BUCKETS, registers: [registry] });
  return {
    serve(release: string, route: string, status: string, seconds: number, times = 1): void {
      for (let i = 0; i < times; i += 1) {
        requests.inc({ release, route, status_code: status });
        duration.observe({ release, route, status_code: status }, seconds);
      }
    },
    async snapshot(source: string, atMs: number): Promise<Snapshot> {
      return snapshotFromText(await registry.metrics(), source, atMs);
    },
  };
}

function get(window: Map<string, GroupWindow>, group: string): GroupWindow {
  const found = window.get(group);
  if (found === undefined) throw new Error(`no group ${JSON.stringify(group)} in ${JSON.stringify([...window.keys()])}`);
  return found;
}

describe('compareSnapshots', () => {
  it('gives requests, error rates and Prometheus-interpolated latency per release', async () => {
    const pod = instance();
    pod.serve('v1', '/orders', '200', 0.05, 100); // before the window: must not count
    const before = await pod.snapshot('pod-a', 0);

    // v1: 1,000 requests, 60% at 50 ms, 20% at 200 ms, 10% at 400 ms, 10% at 800 ms; 1% are 500s.
    for (let i = 0; i < 1000; i += 1) {
      const seconds = [0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.2, 0.2, 0.4, 0.8][i % 10] as number;
      pod.serve('v1', i % 2 === 0 ? '/orders' : '/orders/:id', i % 100 === 0 ? '500' : '200', seconds);
    }
    // v2: 500 requests, 30% at 50 ms, 40% at 200 ms, 20% at 400 ms, 10% at 3 s; 10% are 5xx, 4% are 404s.
    for (let i = 0; i < 500; i += 1) {
      const seconds = [0.05, 0.05, 0.05, 0.2, 0.2, 0.2, 0.2, 0.4, 0.4, 3][i % 10] as number;
      const status = i % 10 === 0 ? (i % 20 === 0 ? '503' : '502') : i % 25 === 1 ? '404' : '200';
      pod.serve('v2', i % 2 === 0 ? '/orders' : '/orders/:id', status, seconds);
    }
    pod.serve('v1', '/healthz', '500', 5, 50); // left out by the filter
    const after = await pod.snapshot('pod-a', 60_000);

    const window = compareSnapshots(before, after, { filter: (labels) => labels.route !== '/healthz' });

    expect([...window.keys()]).toEqual(['v1', 'v2']);
    const v1 = get(window, 'v1');
    expect(v1).toMatchObject({ group: 'v1', seconds: 60, requests: 1000, errors: 10, errorRate: 0.01, latencyObservations: 1000 });
    expect(v1.requestRate).toBeCloseTo(1000 / 60, 12);
    // Cumulative window buckets: le 0.1 → 600, 0.25 → 800, 0.5 → 900, 1 → 1000, +Inf → 1000.
    // p50: rank 500 in the lowest bucket, from 0: 0.1 × 500/600. p90: rank 900 ends the 0.5 bucket.
    // p99: rank 990 is 90 of the 100 in (0.5, 1]: 0.5 + 0.5 × 0.9.
    expect(v1.latency.p50).toBeCloseTo((0.1 * 500) / 600, 12);
    expect(v1.latency.p90).toBeCloseTo(0.5, 12);
    expect(v1.latency.p99).toBeCloseTo(0.95, 12);
    expect(v1.meanLatency).toBeCloseTo((600 * 0.05 + 200 * 0.2 + 100 * 0.4 + 100 * 0.8) / 1000, 12);
    // The window's own histogram, for a rank test or another quantile.
    expect(v1.buckets).toEqual([
      { le: 0.1, count: 600 },
      { le: 0.25, count: 800 },
      { le: 0.5, count: 900 },
      { le: 1, count: 1000 },
      { le: Infinity, count: 1000 },
    ]);

    const v2 = get(window, 'v2');
    expect(v2).toMatchObject({ requests: 500, errors: 50, errorRate: 0.1, latencyObservations: 500 });
    // Buckets: 150, 350, 450, 450, 500. p50: rank 250 is 100 of the 200 in (0.1, 0.25].
    // p90: rank 450 ends the 0.5 bucket. p99: rank 495 is in +Inf: the highest finite bound.
    expect(v2.latency.p50).toBeCloseTo(0.1 + 0.15 * 0.5, 12);
    expect(v2.latency.p90).toBeCloseTo(0.5, 12);
    expect(v2.latency.p99).toBe(1);
    expect(v2.meanLatency).toBeCloseTo((150 * 0.05 + 200 * 0.2 + 100 * 0.4 + 50 * 3) / 500, 12);
    expect(v2.latency.p50).toBeGreaterThan(0.1);
    expect(v2.latency.p50).toBeLessThanOrEqual(0.25);
  });

  it('treats a lower value after as a restart: the after value is the increase', async () => {
    const old = instance();
    old.serve('v1', '/orders', '200', 0.05, 100);
    old.serve('v1', '/orders', '500', 0.05, 10);
    old.serve('v1', '/orders/:id', '200', 0.05, 5);
    const before = await old.snapshot('pod-a', 0);
    const restarted = instance();
    restarted.serve('v1', '/orders', '200', 0.3, 30); // 30 < 100: a reset
    restarted.serve('v1', '/orders', '500', 0.05, 12); // 12 > 10: looks like 2 more, as it would to Prometheus
    // 8 > 5 for the counter (3 more), but the histogram's 0.1 bucket fell from 5 to 0: the histogram shows the reset.
    restarted.serve('v1', '/orders/:id', '200', 0.9, 8);
    const after = await restarted.snapshot('pod-a', 30_000);

    const v1 = get(compareSnapshots(before, after), 'v1');
    expect(v1).toMatchObject({ requests: 30 + 2 + 3, errors: 2, latencyObservations: 30 + 2 + 8 });
    // Window buckets: le 0.1 → 2, 0.25 → 2, 0.5 → 32, 1 → 40, +Inf → 40.
    // p50: rank 20 is 18 of the 30 in (0.25, 0.5]. p90: rank 36 is 4 of the 8 in (0.5, 1].
    expect(v1.latency.p50).toBeCloseTo(0.25 + 0.25 * (18 / 30), 12);
    expect(v1.latency.p90).toBeCloseTo(0.5 + 0.5 * (4 / 8), 12);
    expect(v1.meanLatency).toBeCloseTo((30 * 0.3 + 2 * 0.05 + 8 * 0.9) / 40, 12);
  });

  it('counts a series that appears only after in full', async () => {
    const pod = instance();
    pod.serve('v2', '/orders', '200', 0.05, 10);
    const before = await pod.snapshot('pod-a', 0);
    pod.serve('v2', '/orders', '200', 0.05, 5);
    pod.serve('v2', '/orders', '503', 0.05, 5); // a new series
    pod.serve('v3', '/orders', '200', 0.05, 4); // a new release
    const after = await pod.snapshot('pod-a', 10_000);

    const window = compareSnapshots(before, after);
    expect(get(window, 'v2')).toMatchObject({ requests: 10, errors: 5, errorRate: 0.5, requestRate: 1, latencyObservations: 10 });
    expect(get(window, 'v3')).toMatchObject({ requests: 4, errors: 0, errorRate: 0 });
  });

  it('sums instances paired by source, each rate over its own window', async () => {
    const a = instance();
    const b = instance();
    const gone = instance();
    a.serve('v1', '/orders', '200', 0.05, 7);
    gone.serve('v1', '/orders', '200', 0.05, 1000);
    const before = [await b.snapshot('pod-b', 30_000), await a.snapshot('pod-a', 0), await gone.snapshot('pod-gone', 0)];
    a.serve('v1', '/orders', '200', 0.05, 120); // 2/s over 60 s
    b.serve('v1', '/orders', '500', 0.4, 60); // 2/s over 30 s
    const c = instance(); // started during the window
    c.serve('v1', '/orders', '200', 0.05, 30);
    const after = [await a.snapshot('pod-a', 60_000), await b.snapshot('pod-b', 60_000), await c.snapshot('pod-c', 60_000)];

    const v1 = get(compareSnapshots(before, after), 'v1');
    expect(v1).toMatchObject({ seconds: 60, requests: 210, errors: 60, latencyObservations: 210 });
    expect(v1.errorRate).toBeCloseTo(60 / 210, 12);
    // pod-a 2/s + pod-b 2/s + pod-c 30 over the longest window (0.5/s); pod-gone cannot be counted.
    expect(v1.requestRate).toBeCloseTo(4.5, 12);
    // Buckets summed over the instances: le 0.1 → 150, 0.25 → 150, 0.5 → 210. p90: rank 189 is 39 of the 60 in (0.25, 0.5].
    expect(v1.latency.p90).toBeCloseTo(0.25 + 0.25 * (39 / 60), 12);
  });

  it('reports an empty window as zero requests and no latency', async () => {
    const pod = instance();
    pod.serve('v1', '/orders', '200', 0.05, 10);
    const text = await pod.snapshot('pod-a', 0);
    const window = compareSnapshots(text, { ...text, atMs: 15_000 });
    expect(get(window, 'v1')).toEqual({
      group: 'v1',
      seconds: 15,
      requests: 0,
      errors: 0,
      requestRate: 0,
      errorRate: 0,
      latency: { p50: undefined, p90: undefined, p99: undefined },
      latencyObservations: 0,
      meanLatency: undefined,
      buckets: [0.1, 0.25, 0.5, 1, Infinity].map((le) => ({ le, count: 0 })),
    });
    expect(compareSnapshots([], [])).toEqual(new Map());
  });

  it('groups by another label, puts unlabelled samples under "", and takes status classes and custom quantiles', async () => {
    const text = [
      '# TYPE requests_total counter',
      'requests_total{zone="a",code="5xx"} 3',
      'requests_total{zone="a",code="2xx"} 7',
      'requests_total{code="4xx"} 2',
      '# TYPE rpc_seconds histogram',
      'rpc_seconds_bucket{zone="a",le="1"} 9',
      'rpc_seconds_bucket{zone="a",le="+Inf"} 10',
      'rpc_seconds_sum{zone="a"} 5',
      'rpc_seconds_count{zone="a"} 10',
    ].join('\n');
    const window = compareSnapshots(snapshotFromText('', 'x', 0), snapshotFromText(text, 'x', 1000), {
      groupBy: 'zone',
      requests: 'requests_total',
      duration: 'rpc_seconds',
      statusLabel: 'code',
      quantiles: [0.5, 0.999],
    });
    expect(get(window, 'a')).toMatchObject({ requests: 10, errors: 3, errorRate: 0.3, requestRate: 10, meanLatency: 0.5 });
    expect(get(window, 'a').latency).toEqual({ p50: 5 / 9, 'p99.9': 1 }); // rank 5 of the 9 in (0, 1]
    expect(get(window, '')).toMatchObject({ requests: 2, errors: 0 });
  });

  it('groups by a combination of labels, named by their values joined with a space', async () => {
    const pod = instance();
    const before = await pod.snapshot('pod-a', 0);
    pod.serve('v1', '/orders', '200', 0.05, 6);
    pod.serve('v1', '/orders', '500', 0.05, 2);
    pod.serve('v2', '/orders', '200', 0.3, 4);
    pod.serve('v2', '/health', '200', 0.05, 1);
    const window = compareSnapshots(before, await pod.snapshot('pod-a', 1_000), { groupBy: ['release', 'route'] });
    expect([...window.keys()]).toEqual(['v1 /orders', 'v2 /health', 'v2 /orders']);
    expect(get(window, 'v1 /orders')).toMatchObject({ requests: 8, errors: 2, latencyObservations: 8 });
    expect(get(window, 'v2 /orders')).toMatchObject({ requests: 4, errors: 0, latencyObservations: 4 });
  });

  it('reads OpenMetrics scrapes, whose counter family is announced without _total', async () => {
    const pod = instance({ openMetrics: true });
    const before = await pod.snapshot('pod-a', 0);
    pod.serve('v2', '/orders', '503', 0.2, 4);
    const after = await pod.snapshot('pod-a', 1_000);
    expect(after.families.map((f) => f.name)).toContain('http_requests');
    expect(get(compareSnapshots(before, after), 'v2')).toMatchObject({ requests: 4, errors: 4, latencyObservations: 4 });
  });

  it('rejects windows that go backwards, duplicate sources and bad options', async () => {
    const s = await instance().snapshot('pod-a', 1_000);
    const later = { ...s, atMs: 2_000 };
    const cases: [() => unknown, RegExp][] = [
      [() => compareSnapshots(s, { ...s, atMs: 0 }), /after snapshot of pod-a \(atMs 0\) is not later than its before snapshot \(atMs 1000\)/],
      [() => compareSnapshots(s, s), /is not later than its before snapshot/],
      [() => compareSnapshots([s, s], later), /two before snapshots from pod-a/],
      [() => compareSnapshots(s, later, { quantiles: [1.5] }), /quantiles must be numbers between 0 and 1, got 1.5/],
      [() => compareSnapshots(s, later, { quantiles: [Number.NaN] }), /quantiles must be numbers between 0 and 1/],
      [() => compareSnapshots(s, later, { groupBy: '' }), /groupBy must be a label name or a non-empty array of label names/],
      [() => compareSnapshots(s, later, { groupBy: [] }), /groupBy must be a label name or a non-empty array/],
      [() => compareSnapshots(s, later, { groupBy: ['route', ''] }), /groupBy must be a label name or a non-empty array/],
    ];
    for (const [call, message] of cases) {
      expect(call).toThrow(message);
      expect(call).toThrow(expect.objectContaining({ code: 'BATON_ERR_INVALID_OPTION' }));
    }
  });
});

describe('histogramQuantile', () => {
  const buckets = [
    { le: 0.1, count: 2 },
    { le: 0.5, count: 6 },
    { le: 1, count: 8 },
    { le: Infinity, count: 10 },
  ];

  it('interpolates linearly inside the bucket, from 0 in the lowest one', () => {
    expect(histogramQuantile(0.1, buckets)).toBeCloseTo(0.1 * (1 / 2), 12); // rank 1 of 2 in (0, 0.1]
    expect(histogramQuantile(0.2, buckets)).toBeCloseTo(0.1, 12); // rank 2 ends the lowest bucket
    expect(histogramQuantile(0.4, buckets)).toBeCloseTo(0.1 + 0.4 * (2 / 4), 12); // rank 4: 2 of 4 in (0.1, 0.5]
    expect(histogramQuantile(0.7, buckets)).toBeCloseTo(0.5 + 0.5 * (1 / 2), 12); // rank 7: 1 of 2 in (0.5, 1]
  });

  it('answers the highest finite bound when the rank falls in +Inf', () => {
    expect(histogramQuantile(0.81, buckets)).toBe(1);
    expect(histogramQuantile(1, buckets)).toBe(1);
  });

  it('sorts, merges equal bounds and forces monotonic counts as Prometheus does', () => {
    const shuffled = [buckets[3], buckets[1], { le: 0.5, count: 0 }, buckets[0], buckets[2]].filter((b) => b !== undefined);
    expect(histogramQuantile(0.4, shuffled)).toBeCloseTo(0.3, 12);
    // 0.5 → 1 is lower than 0.1 → 2: taken as 2, so rank 3 of 4 falls in (0.5, 1].
    const broken = [
      { le: 0.1, count: 2 },
      { le: 0.5, count: 1 },
      { le: 1, count: 4 },
      { le: Infinity, count: 4 },
    ];
    expect(histogramQuantile(0.75, broken)).toBeCloseTo(0.5 + 0.5 * (1 / 2), 12);
  });

  it('returns the bound of a lowest bucket at or below zero', () => {
    const negative = [
      { le: -1, count: 5 },
      { le: 0, count: 6 },
      { le: Infinity, count: 10 },
    ];
    expect(histogramQuantile(0.2, negative)).toBe(-1);
  });

  it('is undefined where Prometheus answers NaN, and never NaN', () => {
    expect(histogramQuantile(0.5, [])).toBeUndefined();
    expect(histogramQuantile(0.5, [{ le: Infinity, count: 3 }])).toBeUndefined(); // fewer than 2 buckets
    expect(histogramQuantile(0.5, [{ le: 1, count: 3 }, { le: 2, count: 3 }])).toBeUndefined(); // no +Inf
    expect(histogramQuantile(0.5, [{ le: 1, count: 0 }, { le: Infinity, count: 0 }])).toBeUndefined(); // no observations
    expect(histogramQuantile(0, [{ le: 1, count: 0 }, { le: 2, count: 3 }, { le: Infinity, count: 3 }])).toBe(0);
  });

  it('rejects a q outside [0, 1]', () => {
    for (const q of [-0.1, 1.1, Number.NaN]) {
      expect(() => histogramQuantile(q, buckets)).toThrow(/q must be between 0 and 1/);
    }
  });
});

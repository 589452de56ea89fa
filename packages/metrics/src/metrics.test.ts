import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Counter, Histogram, Registry } from 'prom-client';
import { createLifecycle, isBatonError } from '@baton/lifecycle';
import { delay, fetchText, waitFor } from '@baton/testing';
import { createMetrics, observeResponse, DEFAULT_BUCKETS, type Metrics } from './metrics.js';
import { CLOSED_BEFORE_RESPONSE_STATUS, OTHER_METHOD, UNMATCHED_ROUTE } from './labels.js';

/** A request/response pair good enough for `observe` (what the adapters pass). */
function fakePair(method: string, headers: Record<string, string> = {}): [IncomingMessage, ServerResponse] {
  return [{ method, headers } as unknown as IncomingMessage, {} as ServerResponse];
}

type JsonMetric = Awaited<ReturnType<Registry['getMetricsAsJSON']>>[number];

/** A metric's values as sorted lines, so two registries can be compared regardless of label order. */
function lines(metric: JsonMetric | undefined): string[] {
  return (metric?.values ?? [])
    .map((v) => {
      const labels = Object.entries(v.labels)
        .map(([k, value]) => `${k}=${String(value)}`)
        .sort()
        .join(',');
      return `${(v as { metricName?: string }).metricName ?? metric?.name} {${labels}} ${v.value}`;
    })
    .sort();
}

async function metricJson(registry: Registry, name: string): Promise<JsonMetric | undefined> {
  return (await registry.getMetricsAsJSON()).find((m) => m.name === name);
}

describe('createMetrics', () => {
  it('exports exactly what prom-client’s own Histogram and Counter export for the same requests', async () => {
    const metrics = createMetrics({ service: 'orders', release: 'v2' });
    const reference = new Registry();
    const labelNames = ['service', 'release', 'method', 'route', 'status_code'];
    const counter = new Counter({ name: 'http_requests_total', help: 'x', labelNames, registers: [reference] });
    const histogram = new Histogram({ name: 'http_request_duration_seconds', help: 'x', labelNames, buckets: [...DEFAULT_BUCKETS], registers: [reference] });
    const sent: [string, string | undefined, number, number][] = [
      ['GET', '/orders/:id', 200, 0.004],
      ['GET', '/orders/:id', 200, 0.005], // exactly on a bound: counted in that bucket (le is ≤)
      ['GET', '/orders/:id', 500, 0.3],
      ['POST', '/orders', 201, 0.02],
      ['GET', undefined, 404, 0.001],
      ['GET', '/slow', 200, 12], // past the last bound: +Inf only
    ];
    for (const [method, route, status, seconds] of sent) {
      const [request, response] = fakePair(method);
      metrics.observe(request, response, route, status, seconds);
      const labels = { service: 'orders', release: 'v2', method, route: route ?? UNMATCHED_ROUTE, status_code: String(status) };
      counter.inc(labels);
      histogram.observe(labels, seconds);
    }
    for (const name of ['http_requests_total', 'http_request_duration_seconds']) {
      const ours = lines(await metricJson(metrics.registry, name));
      expect(ours.length).toBeGreaterThan(0);
      expect(ours).toEqual(lines(await metricJson(reference, name)));
    }
    const text = await metrics.text();
    expect(text).toContain('# TYPE http_requests_total counter');
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(text).toMatch(/http_request_duration_seconds_bucket\{service="orders",release="v2",method="GET",route="\/slow",status_code="200",le="\+Inf"\} 1/);
    expect(text).toMatch(/http_requests_in_flight\{service="orders",release="v2"\} 0/);
  });

  it('uses its own registry, never prom-client’s global one, and refuses a second metric of the same name', async () => {
    const a = createMetrics();
    const b = createMetrics();
    expect(a.registry).not.toBe(b.registry);
    const { register } = await import('prom-client');
    expect(register.getSingleMetric('http_requests_total')).toBeUndefined();
    const shared = new Registry();
    createMetrics({ registry: shared, lifecycle: createLifecycle() });
    const before = shared.getMetricsAsArray().length;
    expect(() => createMetrics({ registry: shared })).toThrow(/already has http_requests_total, http_request_duration_seconds, http_requests_in_flight; give each createMetrics\(\) its own registry, or a `prefix`/);
    // With a prefix, two sets fit in one registry; a second lifecycle's metrics do not.
    const admin = createMetrics({ registry: shared, prefix: 'admin_' });
    expect(shared.getSingleMetric('admin_http_requests_total')).toBeDefined();
    expect(() => admin.bindLifecycle(createLifecycle())).toThrow(/already has baton_lifecycle_state/);
    // Nothing half-registered by the refused calls.
    expect(shared.getMetricsAsArray().length).toBe(before + 3);
  });

  it('keeps label cardinality bounded: odd methods, unmatched routes, and a cap on series', async () => {
    const metrics = createMetrics({ maxSeries: 5 });
    for (const method of ['GET', 'PROPFIND', 'BREW', 'get']) {
      const [request, response] = fakePair(method);
      metrics.observe(request, response, undefined, 404, 0.001);
    }
    let text = await metrics.text();
    expect(text).toContain(`method="${OTHER_METHOD}",route="${UNMATCHED_ROUTE}",status_code="404"} 3`);
    for (let i = 0; i < 20; i += 1) {
      const [request, response] = fakePair('GET');
      metrics.observe(request, response, `/route-${i}`, 200, 0.001);
    }
    text = await metrics.text();
    const series = text.split('\n').filter((line) => line.startsWith('http_requests_total{'));
    // 2 before + 3 more up to the cap, then one overflow series holding the other 17.
    expect(series).toHaveLength(6);
    expect(text).toContain('http_requests_total{method="(overflow)",route="(overflow)",status_code="(overflow)"} 17');
    expect(metrics.overflowed).toBe(17);
    const total = series.reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    expect(total).toBe(24); // nothing lost
  });

  it('labels the status class when asked, and extra labels from the request', async () => {
    const metrics = createMetrics({
      status: 'class',
      labels: {
        api_version: (request) => request.headers['x-api-version'] as string | undefined,
        broken: () => {
          throw new Error('label function bug');
        },
      },
    });
    for (const [version, status] of [['2024-01-01', 503], ['2024-01-01', 502], [undefined, 200]] as const) {
      const [request, response] = fakePair('GET', version ? { 'x-api-version': version } : {});
      metrics.observe(request, response, '/x', status, 0.01);
    }
    const text = await metrics.text();
    expect(text).toContain('http_requests_total{method="GET",route="/x",status_code="5xx",api_version="2024-01-01",broken=""} 2');
    expect(text).toContain('http_requests_total{method="GET",route="/x",status_code="2xx",api_version="",broken=""} 1');
  });

  it('leaves out the requests `skip` names, and records them when it throws', async () => {
    let broken = false;
    const metrics = createMetrics({
      skip: (_request, route) => {
        if (broken) throw new Error('skip bug');
        return route === '/orders/events';
      },
    });
    const [request, response] = fakePair('GET');
    metrics.observe(request, response, '/orders/events', 200, 600);
    metrics.observe(request, response, '/orders/:id', 200, 0.01);
    let text = await metrics.text();
    expect(text).not.toContain('route="/orders/events"');
    expect(text).toContain('http_requests_total{method="GET",route="/orders/:id",status_code="200"} 1');
    broken = true;
    metrics.observe(request, response, '/orders/events', 200, 600);
    text = await metrics.text();
    expect(text).toContain('http_requests_total{method="GET",route="/orders/events",status_code="200"} 1');
  });

  it('rejects bad options with a clear error at construction', () => {
    const bad: [unknown, RegExp][] = [
      [{ buckets: [0.1, 0.05] }, /strictly ascending/],
      [{ buckets: [] }, /buckets/],
      [{ buckets: [0.1, Infinity] }, /finite/],
      [{ status: 'family' }, /'code' or 'class'/],
      [{ release: '' }, /release/],
      [{ prefix: '1x' }, /prefix/],
      [{ maxSeries: 0 }, /maxSeries/],
      [{ labels: { route: () => 'x' } }, /not allowed/],
      [{ labels: { 'api-version': () => 'x' } }, /not allowed/],
      [{ labels: { api_version: 'v1' } }, /must be a function/],
      [{ registry: {} }, /prom-client Registry/],
      [{ processMetrics: 'yes' }, /boolean/],
      [{ skip: '/orders/events' }, /`skip` must be a function/],
    ];
    for (const [options, message] of bad) {
      let error: unknown;
      try {
        createMetrics(options as never);
      } catch (caught) {
        error = caught;
      }
      expect(isBatonError(error, 'BATON_ERR_INVALID_OPTION'), `${JSON.stringify(options)}`).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
  });

  it('collects process metrics only when asked, with the release label', async () => {
    expect(await createMetrics().text()).not.toContain('process_cpu_user_seconds_total');
    const text = await createMetrics({ processMetrics: true, release: 'v9' }).text();
    expect(text).toMatch(/process_cpu_user_seconds_total\{release="v9"\} \d/);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    // The release can come from a lifecycle bound later, as the adapters do.
    const late = createMetrics({ processMetrics: true });
    late.bindLifecycle(createLifecycle({ service: 'orders', release: 'v10' }));
    expect(await late.registry.metrics()).toMatch(/process_cpu_user_seconds_total\{service="orders",release="v10"\} \d/);
  });
});

describe('addCollector', () => {
  it('exports a counter and a gauge read at scrape time, with the constant labels', async () => {
    const metrics = createMetrics({ service: 'orders', release: 'v2' });
    let evaluations = 3;
    metrics.addCollector({ name: 'jobs_done_total', help: 'Jobs done.', type: 'counter', read: () => [{ labels: { queue: 'mail' }, value: evaluations }] });
    metrics.addCollector({ name: 'jobs_waiting', help: 'Jobs waiting.', type: 'gauge', read: () => [] });
    expect(await metrics.text()).toContain('jobs_done_total{service="orders",release="v2",queue="mail"} 3');
    evaluations = 5;
    const text = await metrics.text();
    expect(text).toContain('jobs_done_total{service="orders",release="v2",queue="mail"} 5');
    expect(text).toContain('# TYPE jobs_done_total counter');
    expect(text).toContain('# TYPE jobs_waiting gauge');
  });

  it('refuses a taken name, a bad name and a bad type, registering nothing', async () => {
    const metrics = createMetrics();
    const read = () => [];
    expect(() => metrics.addCollector({ name: 'http_requests_total', help: 'x', type: 'counter', read })).toThrow(/already has http_requests_total/);
    expect(() => metrics.addCollector({ name: 'bad-name', help: 'x', type: 'counter', read })).toThrow(/not a valid metric name/);
    expect(() => metrics.addCollector({ name: 'fine', help: 'x', type: 'histogram' as never, read })).toThrow(/type: "counter" \| "gauge"/);
    expect(await metrics.text()).not.toContain('fine');
  });
});

describe('observeResponse on a real node:http server', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    server = undefined;
  });

  async function start(metrics: Metrics, handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
    server = createServer((req, res) => {
      observeResponse(metrics, req, res, () => (req.url?.startsWith('/orders/') ? '/orders/:id' : undefined));
      handle(req, res);
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('counts in-flight requests, durations, and a client that hangs up as 499', async () => {
    const metrics = createMetrics({ release: 'v1' });
    const url = await start(metrics, (req, res) => {
      if (req.url === '/orders/slow') setTimeout(() => res.end('late'), 300);
      else if (req.url === '/orders/hang') return; // never answers; the client gives up
      else res.end('ok');
    });
    await fetchText(`${url}/orders/1`);
    const slow = fetchText(`${url}/orders/slow`);
    await waitFor(() => metrics.inFlight === 1);
    expect(await metrics.text()).toContain('http_requests_in_flight{release="v1"} 1');
    await slow;
    const controller = new AbortController();
    const hung = fetch(`${url}/orders/hang`, { signal: controller.signal }).catch(() => 'aborted');
    await waitFor(() => metrics.inFlight === 1);
    controller.abort();
    expect(await hung).toBe('aborted');
    await waitFor(() => metrics.inFlight === 0);
    const text = await metrics.text();
    expect(text).toContain(`http_requests_total{release="v1",method="GET",route="/orders/:id",status_code="${CLOSED_BEFORE_RESPONSE_STATUS}"} 1`);
    expect(text).toContain('http_requests_total{release="v1",method="GET",route="/orders/:id",status_code="200"} 2');
    // The slow request (≥ 300 ms) is never in the 0.25 s bucket; how far above it lands depends on how busy the machine is.
    const bucket = (le: string): number => Number(new RegExp(`http_request_duration_seconds_bucket\\{release="v1",method="GET",route="/orders/:id",status_code="200",le="${le.replace('+', '\\+')}"\\} (\\d+)`).exec(text)?.[1]);
    expect(bucket('0.25')).toBeLessThanOrEqual(1);
    expect(bucket('+Inf')).toBe(2);
    const sum = Number(/http_request_duration_seconds_sum\{release="v1",method="GET",route="\/orders\/:id",status_code="200"\} (\S+)/.exec(text)?.[1]);
    expect(sum).toBeGreaterThanOrEqual(0.3);
    await delay(1);
  });
});

describe('lifecycle metrics', () => {
  it('follow the lifecycle from starting through a drain to stopped', async () => {
    // A propagation delay far longer than the test: the requests below must land inside it however busy
    // the machine is; force() ends it once they have been counted (nothing is open, so nothing is cut).
    const lifecycle = createLifecycle({ service: 'orders', release: 'v3', shutdown: { propagationDelayMs: 20_000, drainTimeoutMs: 1000, hooksTimeoutMs: 500 } });
    const metrics = createMetrics({ lifecycle });
    const server = createServer((_req, res) => res.end('ok'));
    lifecycle.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      let text = await metrics.text();
      expect(text).toContain('baton_lifecycle_state{service="orders",release="v3",state="starting"} 1');
      expect(text).not.toContain('baton_shutdown_phase{');
      await lifecycle.start();
      text = await metrics.text();
      expect(text).toContain('baton_lifecycle_state{service="orders",release="v3",state="ready"} 1');
      expect(text).toContain('baton_lifecycle_state{service="orders",release="v3",state="starting"} 0');

      const stopped = lifecycle.shutdown('test');
      // During the propagation delay the app still serves; those requests are counted.
      await fetchText(`${url}/late`);
      await fetchText(`${url}/late`);
      text = await metrics.text();
      expect(text).toContain('baton_lifecycle_state{service="orders",release="v3",state="draining"} 1');
      expect(text).toContain('baton_shutdown_phase{service="orders",release="v3",phase="propagation"} 1');
      expect(text).toContain('baton_requests_after_not_ready{service="orders",release="v3"} 2');
      expect(text).toMatch(/baton_not_ready_seconds\{service="orders",release="v3"\} \d+(\.\d+)?(e-\d+)?\n/);
      void lifecycle.force('test');
      await stopped;
      text = await metrics.text();
      expect(text).toContain('baton_lifecycle_state{service="orders",release="v3",state="stopped"} 1');
      expect(text).toContain('baton_shutdown_phase{service="orders",release="v3",phase="done"} 1');
      expect(text).toContain('baton_requests_after_not_ready{service="orders",release="v3"} 2');
      expect(text).toContain('baton_forced_closes{service="orders",release="v3"} 0');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('takes service and release from the lifecycle, and refuses a second lifecycle', () => {
    const metrics = createMetrics();
    metrics.bindLifecycle(createLifecycle({ service: 's', release: 'r' }));
    expect(metrics.constantLabels).toEqual({ service: 's', release: 'r' });
    expect(() => metrics.bindLifecycle(createLifecycle())).toThrow(/another lifecycle/);
    // Explicit options win over the lifecycle's.
    expect(createMetrics({ release: 'mine', lifecycle: createLifecycle({ release: 'theirs' }) }).constantLabels).toEqual({ release: 'mine' });
  });
});

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { BatonError, type Lifecycle } from '@baton/lifecycle';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { SeriesStore } from './internal/series-store.js';
import { readMetric, storeCounter, storeHistogram, type ReadSeries } from './internal/store-metrics.js';
import { CLOSED_BEFORE_RESPONSE_STATUS, UNMATCHED_ROUTE, methodLabel, statusClass } from './labels.js';
import { LIFECYCLE_METRIC_NAMES, registerLifecycleMetrics } from './lifecycle-metrics.js';
import { createMetricsHandler, createMetricsServer, type MetricsEndpointServerOptions, type MetricsHandler } from './metrics-endpoint.js';

/** Default histogram buckets, in seconds: 5 ms to 10 s, as most HTTP services need. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Computes an extra label from the request (e.g. the API version); `undefined` gives an empty value. */
export type ExtraLabel = (request: IncomingMessage, response: ServerResponse) => string | undefined;

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /**
   * Where the metrics are registered. Default: a new prom-client `Registry`
   * of Baton's own (never prom-client's global `register` unless passed here).
   */
  registry?: Registry;
  /** `service` label on every Baton metric. Default: the lifecycle's `service`, if bound. */
  service?: string;
  /** `release` label on every Baton metric, so an orchestrator can tell releases apart. Default: the lifecycle's `release`. */
  release?: string;
  /**
   * `instance` label. Off unless given: Prometheus sets its own `instance`
   * label on scrape (and renames this one to `exported_instance`).
   */
  instance?: string;
  /** Histogram upper bounds in seconds, ascending. Default {@link DEFAULT_BUCKETS}. */
  buckets?: readonly number[];
  /** Label the status as the code (`'503'`, default) or its class (`'5xx'`, fewer series). */
  status?: 'code' | 'class';
  /** Prefix of the request metric names, e.g. `'orders_'`. Default none. */
  prefix?: string;
  /**
   * Extra labels computed per request, by name; declared up front because a
   * metric's label names are fixed. Keep their values few: each combination
   * is a series.
   *
   * @example
   * createMetrics({ labels: { api_version: (req) => req.headers['x-api-version'] as string | undefined } })
   */
  labels?: Readonly<Record<string, ExtraLabel>>;
  /**
   * Leaves a request out of the request metrics when true (it still counts as
   * in flight while it runs): e.g. an SSE or long-polling route, whose
   * minutes-long durations would swamp the latency quantiles.
   *
   * @example
   * createMetrics({ skip: (_req, route) => route === '/orders/events' })
   */
  skip?: (request: IncomingMessage, route: string | undefined) => boolean;
  /**
   * At most this many request series (label combinations); requests past it
   * are counted under one series whose labels read `(overflow)`. Default 2000.
   */
  maxSeries?: number;
  /**
   * Also collect prom-client's default process metrics (CPU, memory, event
   * loop lag, GC), with the same service/release/instance labels. Default false.
   */
  processMetrics?: boolean;
  /** Export the lifecycle's state, shutdown phase and drain figures. Adapters bind theirs automatically. */
  lifecycle?: Lifecycle;
}

/** How an adapter names the route of a request: the template, or a function that reads it once the response closed. */
export type RouteOf = string | undefined | ((request: IncomingMessage) => string | undefined);

const STARTED_AT = Symbol('baton.metrics.startedAt');
const ROUTE = Symbol('baton.metrics.route');

/** What {@link Metrics.track} keeps on the request (not a closure: nothing allocated per request). */
interface TrackedRequest extends IncomingMessage {
  [STARTED_AT]?: number | undefined;
  [ROUTE]?: RouteOf;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RESERVED_LABELS = new Set(['method', 'route', 'status_code', 'le', 'service', 'release', 'instance']);

/**
 * RED metrics of one service instance: request rate, errors and duration by
 * method, route template and status, labelled with the service, release and
 * instance, plus in-flight requests and (when bound) the lifecycle's state
 * and drain figures. Framework-free: the Express and Fastify adapters record
 * into it; {@link observeResponse} does for bare node:http.
 *
 * @example
 * const metrics = createMetrics({ service: 'orders', release: process.env.RELEASE });
 * const b = baton(app, { metrics });      // @baton/express: records and serves /metrics
 */
export class Metrics {
  /** The registry holding every metric; serve `await registry.metrics()` or use {@link createMetricsHandler}. */
  readonly registry: Registry;
  readonly #store: SeriesStore;
  readonly #extra: readonly ExtraLabel[];
  readonly #status: 'code' | 'class';
  readonly #skip: ((request: IncomingMessage, route: string | undefined) => boolean) | undefined;
  readonly #options: MetricsOptions;
  #constant: Readonly<Record<string, string>> | undefined;
  #lifecycle: Lifecycle | undefined;
  #inFlight = 0;
  #processMetricsPending: boolean;
  /** One 'close' listener for every response: node calls it with the response as `this`. */
  readonly #onClose: (this: ServerResponse) => void;

  constructor(options: MetricsOptions = {}) {
    const resolved = resolveOptions(options);
    this.#options = options;
    this.registry = options.registry ?? new Registry();
    this.#status = resolved.status;
    this.#skip = options.skip;
    const extraNames = Object.keys(options.labels ?? {});
    this.#extra = Object.values(options.labels ?? {});
    const statusLabel = 'status_code';
    this.#store = new SeriesStore({
      bounds: resolved.buckets,
      statusLabel,
      statusValue: resolved.status === 'class' ? statusClass : String,
      extraNames,
      maxSeries: resolved.maxSeries,
    });
    const constant = (): Readonly<Record<string, string>> => this.constantLabels;
    const prefix = options.prefix ?? '';
    // Checked before registering anything, so a clash leaves the registry as it was.
    assertFree(this.registry, [`${prefix}http_requests_total`, `${prefix}http_request_duration_seconds`, `${prefix}http_requests_in_flight`], 'give each createMetrics() its own registry, or a `prefix`');
    this.registry.registerMetric(storeCounter(this.#store, `${prefix}http_requests_total`, 'HTTP requests handled, by method, route template and status.', constant));
    this.registry.registerMetric(
      storeHistogram(this.#store, `${prefix}http_request_duration_seconds`, 'HTTP request duration in seconds, from arrival to the end of the response.', constant),
    );
    const metrics = this;
    this.#onClose = function (this: ServerResponse) {
      const request = this.req as TrackedRequest;
      const startedAt = request[STARTED_AT];
      // 'close' can be emitted twice; a request is recorded once.
      if (startedAt === undefined) return;
      request[STARTED_AT] = undefined;
      const route = request[ROUTE];
      metrics.requestEnded(startedAt, request, this, typeof route === 'function' ? route(request) : route);
    };
    new Gauge({
      name: `${prefix}http_requests_in_flight`,
      help: 'HTTP requests being handled now.',
      registers: [this.registry],
      labelNames: ['service', 'release', 'instance'],
      collect() {
        this.reset();
        this.set(metrics.constantLabels, metrics.#inFlight);
      },
    });
    // Process metrics carry the constant labels too, which may come from a
    // lifecycle an adapter binds later: registered once those are known.
    this.#processMetricsPending = options.processMetrics === true;
    if (options.lifecycle) this.bindLifecycle(options.lifecycle);
    else if (options.service !== undefined || options.release !== undefined) this.#registerProcessMetrics();
  }

  /**
   * The labels every Baton metric carries (`service`, `release`, `instance`
   * when known). Fixed the first time they are read: a series never changes
   * its labels.
   */
  get constantLabels(): Readonly<Record<string, string>> {
    if (this.#constant === undefined) {
      const labels: Record<string, string> = {};
      const service = this.#options.service ?? this.#lifecycle?.service;
      const release = this.#options.release ?? this.#lifecycle?.release;
      if (service !== undefined) labels.service = service;
      if (release !== undefined) labels.release = release;
      if (this.#options.instance !== undefined) labels.instance = this.#options.instance;
      this.#constant = Object.freeze(labels);
    }
    return this.#constant;
  }

  /** Requests being handled now (started, not yet ended). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Requests counted under the `(overflow)` series because `maxSeries` was reached. */
  get overflowed(): number {
    return this.#store.overflowed;
  }

  /** The prom-client content type of {@link text}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric of the registry in the text exposition format. */
  text(): Promise<string> {
    this.#registerProcessMetrics();
    return this.registry.metrics();
  }

  /**
   * Exports the lifecycle's state, shutdown phase and drain figures, and uses
   * its `service` / `release` as labels when none were given. Adapters call
   * it; once is enough (a second lifecycle is refused).
   */
  bindLifecycle(lifecycle: Lifecycle): this {
    if (this.#lifecycle === lifecycle) return this;
    if (this.#lifecycle !== undefined) {
      throw new BatonError('BATON_ERR_INVALID_STATE', 'metrics: already bound to another lifecycle; create one Metrics per service instance.');
    }
    assertFree(this.registry, LIFECYCLE_METRIC_NAMES, 'one registry holds the lifecycle metrics of one lifecycle');
    this.#lifecycle = lifecycle;
    registerLifecycleMetrics(this.registry, lifecycle, () => this.constantLabels);
    this.#registerProcessMetrics();
    return this;
  }

  /**
   * Registers a counter or gauge read at scrape time: `read` returns its
   * series now (labels beyond the constant `service` / `release` /
   * `instance`). How other Baton packages (toggle evaluations, for one) export
   * what they count without a per-call prom-client call. A name already in
   * the registry is refused.
   *
   * @example
   * metrics.addCollector({ name: 'jobs_queued', help: 'Jobs waiting.', type: 'gauge', read: () => [{ labels: {}, value: queue.length }] });
   */
  addCollector(collector: Collector): this {
    if (collector === null || typeof collector !== 'object' || typeof collector.read !== 'function' || (collector.type !== 'counter' && collector.type !== 'gauge')) {
      throw new BatonError('BATON_ERR_INVALID_OPTION', 'metrics: addCollector takes { name, help, type: "counter" | "gauge", read() }.');
    }
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(collector.name)) {
      throw new BatonError('BATON_ERR_INVALID_OPTION', `metrics: ${JSON.stringify(collector.name)} is not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*).`);
    }
    assertFree(this.registry, [collector.name], 'each collector needs a name of its own');
    this.registry.registerMetric(readMetric(collector.name, collector.help, collector.type, collector.read, () => this.constantLabels));
    return this;
  }

  #isSkipped(request: IncomingMessage, route: string | undefined): boolean {
    try {
      return this.#skip?.(request, route) === true;
    } catch {
      // A throwing skip function must not lose the request: record it.
      return false;
    }
  }

  #registerProcessMetrics(): void {
    if (!this.#processMetricsPending) return;
    this.#processMetricsPending = false;
    collectDefaultMetrics({ register: this.registry, labels: { ...this.constantLabels } });
  }

  /**
   * Times a request and records it once its response closes: after it was
   * sent, or when the connection closed first (status 499). What adapters
   * call first thing for each app request. `route` is the route template, or
   * a function that reads it from the request at the end (Express knows it
   * only once routing is done).
   */
  track(request: IncomingMessage, response: ServerResponse, route: RouteOf): void {
    const tracked = request as TrackedRequest;
    tracked[STARTED_AT] = this.requestStarted();
    tracked[ROUTE] = route;
    // `on`, not `once`: `once` wraps the listener in a new closure per request.
    response.on('close', this.#onClose);
  }

  /** Marks a request as started (in-flight + 1) and returns its start time for {@link requestEnded}. */
  requestStarted(): number {
    this.#inFlight += 1;
    return performance.now();
  }

  /**
   * Records a request started with {@link requestStarted}, once its response
   * finished or closed: in-flight − 1 and one observation, with the response's
   * status, or 499 when it closed before completing. `route` is the route
   * template (`/orders/:id`), undefined when no route matched; never the raw URL.
   */
  requestEnded(startedAt: number, request: IncomingMessage, response: ServerResponse, route: string | undefined): void {
    this.#inFlight -= 1;
    this.observe(request, response, route, statusOf(response), (performance.now() - startedAt) / 1000);
  }

  /** Records one finished request that took `seconds` (for adapters that time requests themselves). */
  observe(request: IncomingMessage, response: ServerResponse, route: string | undefined, status: number, seconds: number): void {
    if (this.#skip !== undefined && this.#isSkipped(request, route)) return;
    const extra = this.#extra;
    let values: string[] | undefined;
    if (extra.length > 0) {
      values = [];
      for (const label of extra) values.push(extraValue(label, request, response));
    }
    // In class mode 502 and 503 are one series: key the store by the class.
    const statusKey = this.#status === 'class' ? status - (status % 100) : status;
    this.#store.observe(methodLabel(request.method), route ?? UNMATCHED_ROUTE, statusKey, values, seconds);
  }

  /**
   * The `/metrics` endpoint as a node:http handler (true when it answered);
   * validates the options now. Adapters use this, so they need no import of
   * this package at run time.
   */
  endpoint(options: MetricsEndpointServerOptions = {}): MetricsHandler {
    return createMetricsHandler(this, options);
  }

  /** A metrics-only server (for a separate metrics port); see {@link createMetricsServer}. */
  endpointServer(options: MetricsEndpointServerOptions = {}): Server {
    return createMetricsServer(this, options);
  }
}

/** A metric read at scrape time; see {@link Metrics.addCollector}. */
export interface Collector {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  read: () => Iterable<ReadSeries>;
}

/** Creates the metrics of one service instance; see {@link Metrics}. */

export function createMetrics(options: MetricsOptions = {}): Metrics {
  return new Metrics(options);
}

/**
 * Records a bare node:http request (the same as `metrics.track`): call first
 * thing in the request listener. The request is recorded once its response
 * closes; one that closes before the response completed is recorded with
 * status 499.
 *
 * @example
 * createServer((req, res) => {
 *   observeResponse(metrics, req, res, (request) => routeOf(request));
 *   handle(req, res);
 * });
 */
export function observeResponse(metrics: Metrics, request: IncomingMessage, response: ServerResponse, route: RouteOf): void {
  metrics.track(request, response, route);
}

/** The status to record for a closed response: its code, or 499 when it never completed. */
export function statusOf(response: ServerResponse): number {
  return response.writableFinished ? response.statusCode : CLOSED_BEFORE_RESPONSE_STATUS;
}

function assertFree(registry: Registry, names: readonly string[], hint: string): void {
  const taken = names.filter((name) => registry.getSingleMetric(name) !== undefined);
  if (taken.length > 0) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `metrics: the registry already has ${taken.join(', ')}; ${hint}.`);
  }
}

function extraValue(label: ExtraLabel, request: IncomingMessage, response: ServerResponse): string {
  try {
    return label(request, response) ?? '';
  } catch {
    // A throwing label function must not fail or drop the request's record.
    return '';
  }
}

function resolveOptions(options: MetricsOptions): { buckets: readonly number[]; status: 'code' | 'class'; maxSeries: number } {
  if (options === null || typeof options !== 'object') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'metrics: options must be an object.');
  }
  if (options.registry !== undefined && !(options.registry instanceof Registry)) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'metrics: `registry` must be a prom-client Registry (from the same prom-client the app uses).');
  }
  for (const key of ['service', 'release', 'instance', 'prefix'] as const) {
    const value = options[key];
    if (value !== undefined && (typeof value !== 'string' || (key !== 'prefix' && value === ''))) {
      throw new BatonError('BATON_ERR_INVALID_OPTION', `metrics: \`${key}\` must be a non-empty string; got ${JSON.stringify(value)}.`);
    }
  }
  if (options.prefix !== undefined && options.prefix !== '' && !LABEL_NAME.test(options.prefix)) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `metrics: \`prefix\` must be a valid metric name start ([a-zA-Z_][a-zA-Z0-9_]*); got ${JSON.stringify(options.prefix)}.`);
  }
  const buckets = options.buckets ?? DEFAULT_BUCKETS;
  if (
    !Array.isArray(buckets) ||
    buckets.length === 0 ||
    buckets.some((bound, index) => typeof bound !== 'number' || !Number.isFinite(bound) || bound <= 0 || (index > 0 && bound <= (buckets[index - 1] as number)))
  ) {
    throw new BatonError(
      'BATON_ERR_INVALID_OPTION',
      `metrics: \`buckets\` must be positive, finite, strictly ascending seconds (the +Inf bucket is added); got ${JSON.stringify(buckets)}.`,
    );
  }
  const status = options.status ?? 'code';
  if (status !== 'code' && status !== 'class') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `metrics: \`status\` must be 'code' or 'class'; got ${JSON.stringify(status)}.`);
  }
  const maxSeries = options.maxSeries ?? 2000;
  if (!Number.isInteger(maxSeries) || maxSeries < 1) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `metrics: \`maxSeries\` must be a positive integer; got ${JSON.stringify(maxSeries)}.`);
  }
  if (options.labels !== undefined) {
    if (options.labels === null || typeof options.labels !== 'object') {
      throw new BatonError('BATON_ERR_INVALID_OPTION', 'metrics: `labels` must be an object of label name → function(request, response).');
    }
    for (const [name, fn] of Object.entries(options.labels)) {
      if (!LABEL_NAME.test(name) || name.startsWith('__') || RESERVED_LABELS.has(name)) {
        throw new BatonError(
          'BATON_ERR_INVALID_OPTION',
          `metrics: extra label ${JSON.stringify(name)} is not allowed: use [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__", and none of ${[...RESERVED_LABELS].join(', ')}.`,
        );
      }
      if (typeof fn !== 'function') {
        throw new BatonError('BATON_ERR_INVALID_OPTION', `metrics: extra label "${name}" must be a function(request, response) returning a string.`);
      }
    }
  }
  if (options.skip !== undefined && typeof options.skip !== 'function') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'metrics: `skip` must be a function(request, route) returning a boolean.');
  }
  if (options.processMetrics !== undefined && typeof options.processMetrics !== 'boolean') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'metrics: `processMetrics` must be a boolean.');
  }
  return { buckets: [...buckets], status, maxSeries };
}

// @baton/express and @baton/fastify take this package as an optional peer:
// they read its types from here (see OptionalPeerTypes in @baton/lifecycle)
// rather than importing them, so a user without it compiles with skipLibCheck off.
declare module '@baton/lifecycle' {
  interface OptionalPeerTypes {
    metrics: { metrics: Metrics; endpointOptions: MetricsEndpointServerOptions };
  }
}

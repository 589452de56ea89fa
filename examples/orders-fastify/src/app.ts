import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { batonPlugin } from '@baton/fastify';
import type { Lifecycle, LifecycleOptions } from '@baton/lifecycle';
import { createMetrics, type Metrics, type MetricsEndpointServerOptions, type MetricsOptions } from '@baton/metrics';
import { createToggles, type ToggleSource, type Toggles } from '@baton/toggles';
import type { Versioning } from '@baton/versioning';
import {
  SSE_HEADERS,
  cancellationsPaused,
  createOrdersVersioning,
  orderEventData,
  ordersToggles,
  withSummary,
  SSE_HEARTBEAT_MS,
  createMemoryOrderStore,
  createFaultInjector,
  formatSseEvent,
  INJECTED_FAULT_BODY,
  isFaultableRoute,
  ordersChecks,
  parseNewOrder,
  parsePagination,
  parseSlowMs,
  toErrorResponse,
  type Faults,
  type OrderStore,
  type OrdersApiVersion,
} from '@baton/example-orders-domain';

/** Options of {@link createApp}. */
export interface CreateAppOptions {
  /** Reported as `releaseId` by the probes. Default `dev`. */
  release?: string;
  /** Lifecycle options (budget, logger...). The service's checks and release are added here. */
  lifecycle?: Omit<LifecycleOptions, 'checks' | 'release'>;
  /** The store to serve (open it before serving: `startupWorkFrom` does); default a fresh in-memory one. */
  store?: OrderStore;
  /** Metrics options (instance label, process metrics...); service and release are the app's. */
  metrics?: Omit<MetricsOptions, 'service' | 'release' | 'lifecycle'>;
  /** Where /metrics is served (token, own port). Default `/metrics` on the app, no token. */
  metricsEndpoint?: MetricsEndpointServerOptions;
  /** Where toggle values come from. Default the registry's defaults. */
  toggles?: ToggleSource;
  /** Toggles a request may override with the `x-baton-toggles` header (tests); none by default. */
  toggleOverrides?: readonly string[];
  /** Fastify's own options. Default: logger off (the lifecycle logs for itself). */
  fastify?: FastifyServerOptions;
  /** The API's versioning; default the service's own (`createOrdersVersioning()`). Tests pass another to prove what a change would break. */
  versioning?: Versioning<OrdersApiVersion>;
  /** Deliberate faults for a bad release on purpose (the demo, the deploy tests); none by default. */
  faults?: Faults;
}

/** The app with Baton wired in, not listening yet. */
export interface OrdersApp {
  app: FastifyInstance;
  lifecycle: Lifecycle;
  metrics: Metrics;
  toggles: Toggles<typeof ordersToggles.definitions>;
  /** The API's versions: requests per version are on /metrics (`baton_api_version_requests_total`). */
  versioning: Versioning<OrdersApiVersion>;
  store: OrderStore;
}

type IdParams = { Params: { id: string } };
type Query = { Querystring: Record<string, string | string[] | undefined> };

/**
 * Builds the orders API on Fastify with the Baton plugin registered. Run it
 * with `serveFastify(app)` (see main.ts), or `app.inject()` / `app.listen()`
 * in tests.
 */
export async function createApp(options: CreateAppOptions = {}): Promise<OrdersApp> {
  const store = options.store ?? createMemoryOrderStore();
  const app = Fastify(options.fastify ?? {});
  // The SSE stream lasts minutes: it would swamp the latency quantiles.
  const metrics = createMetrics({ skip: (_request, route) => route === '/orders/events', ...options.metrics });
  const toggles = createToggles(ordersToggles, {
    source: options.toggles ?? { type: 'defaults' },
    appName: 'orders',
    // The instance label of the metrics, also in every toggle context (a toggle can target one instance).
    ...(options.metrics?.instance === undefined ? {} : { instance: options.metrics.instance }),
  });
  const versioning = options.versioning ?? createOrdersVersioning();
  await app.register(batonPlugin, {
    lifecycle: { service: 'orders', ...options.lifecycle, release: options.release ?? 'dev', checks: ordersChecks(store) },
    // Requests by route template and status, labelled with the release (taken from the lifecycle).
    metrics,
    metricsEndpoint: options.metricsEndpoint ?? {},
    // request.toggles: rollouts hash the customer; the release is added by Baton, so a toggle can target the canary.
    toggles,
    togglesContext: {
      userId: (request) => request.headers['x-customer'] as string | undefined,
      ...(options.toggleOverrides === undefined ? {} : { overrides: { allow: options.toggleOverrides as readonly (keyof typeof ordersToggles.definitions)[] } }),
    },
    // Api-Version (or ?api_version=) per request; the handlers below speak the newest version only,
    // and Baton moves bodies to and from older ones (see orders-domain/src/api-versions.ts).
    versioning,
  });
  // Registered after the plugin's "fastify close" hook, so it runs before it (hooks run in reverse).
  app.lifecycle.onShutdown(() => store.close(), { name: 'orders store' });

  if (options.faults !== undefined) {
    const decide = createFaultInjector(options.faults);
    app.addHook('onRequest', async (request, reply) => {
      if (!isFaultableRoute(request.url.split('?')[0] ?? '')) return;
      const { fail, delayMs } = decide();
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (fail) return reply.code(500).send(INJECTED_FAULT_BODY);
    });
  }

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: 'not_found', message: `No route for ${request.method} ${request.url.split('?')[0]}.` });
  });

  app.get<Query>('/orders', async (request) => store.list(parsePagination(request.query)));

  app.post('/orders', async (request, reply) => {
    const order = await store.create(parseNewOrder(request.body));
    return reply.code(201).header('location', `/orders/${order.id}`).send(order);
  });

  // A static segment wins over /orders/:id in Fastify's router, whatever the order.
  app.get('/orders/events', (request, reply) => streamOrders(store, versioning, request, reply));

  app.get<IdParams>('/orders/:id', async (request) => {
    const order = await store.get(request.params.id);
    return request.toggles.isEnabled('orderSummary') ? withSummary(order) : order;
  });

  app.post<IdParams>('/orders/:id/cancel', async (request) => {
    if (!request.toggles.isEnabled('cancellations')) throw cancellationsPaused();
    return store.cancel(request.params.id);
  });

  app.get<Query>('/slow', async (request, reply) => {
    const ms = parseSlowMs(request.query);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      // A client that gives up should not keep a timer waiting (the response closes early only then).
      reply.raw.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return { sleptMs: ms };
  });

  return { app, lifecycle: app.lifecycle, metrics, toggles, versioning, store };
}

/**
 * New and cancelled orders as Server-Sent Events, until the client leaves or
 * the drain ends the stream. Each event is in the subscriber's API version
 * (negotiated when the stream opened): a stream is not a payload Baton could
 * bring down, so it goes down event by event.
 */
function streamOrders(store: OrderStore, versioning: Versioning<OrdersApiVersion>, request: FastifyRequest, reply: FastifyReply): void {
  // The stream is written on the raw response, so Fastify must not answer it too.
  reply.hijack();
  const res = reply.raw;
  // A hijacked reply sends none of the headers set on it: carry over Baton's (Api-Version, Vary, Deprecation).
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) res.setHeader(name, value);
  // setHeader, not writeHead(status, headers): Baton reads the content type back to know the stream is long-lived.
  for (const [name, value] of Object.entries(SSE_HEADERS)) res.setHeader(name, value);
  res.writeHead(200);
  res.write('retry: 2000\n\n');
  const version = request.apiVersion;
  const unsubscribe = store.subscribe((event) => res.write(formatSseEvent(event.type, orderEventData(versioning, event, version), event.order.id)));
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), SSE_HEARTBEAT_MS);
  heartbeat.unref();
  request.raw.socket.setTimeout(0);
  res.on('close', () => {
    clearInterval(heartbeat);
    unsubscribe();
  });
}

/** Domain errors and malformed requests become 4xx JSON; anything else a bare 500, never a stack trace. */
function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const known = toErrorResponse(error);
  if (known) {
    void reply.code(known.statusCode).send(known.body);
    return;
  }
  // Fastify's own 4xx errors (bad JSON, empty body, unsupported media type) carry safe messages.
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const invalidJson = error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError;
    void reply.code(status).send({
      error: invalidJson ? 'invalid_json' : 'bad_request',
      message: invalidJson ? 'The request body is not valid JSON.' : error.message,
    });
    return;
  }
  process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'unhandled error', method: request.method, url: request.url, error: String(error) })}\n`);
  void reply.code(500).send({ error: 'internal', message: 'Something went wrong on our side.' });
}

import express, { type ErrorRequestHandler, type Express, type Request, type Response } from 'express';
import { baton, type BatonExpress } from '@baton/express';
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
  /** The API's versioning; default the service's own (`createOrdersVersioning()`). Tests pass another to prove what a change would break. */
  versioning?: Versioning<OrdersApiVersion>;
  /** Deliberate faults for a bad release on purpose (the demo, the deploy tests); none by default. */
  faults?: Faults;
}

/** The app with Baton wired in, not listening yet. */
export interface OrdersApp {
  app: Express;
  baton: BatonExpress;
  lifecycle: Lifecycle;
  metrics: Metrics;
  toggles: Toggles<typeof ordersToggles.definitions>;
  /** The API's versions: requests per version are on /metrics (`baton_api_version_requests_total`). */
  versioning: Versioning<OrdersApiVersion>;
  store: OrderStore;
}

/**
 * Builds the orders API on Express: probes first (before anything that could
 * refuse them), then the routes. Run it with `baton.serve()` (see main.ts)
 * or `baton.listen()` in tests.
 */
export function createApp(options: CreateAppOptions = {}): OrdersApp {
  const store = options.store ?? createMemoryOrderStore();
  const app = express();
  app.disable('x-powered-by');
  // The SSE stream lasts minutes: it would swamp the latency quantiles.
  const metrics = createMetrics({ skip: (_request, route) => route === '/orders/events', ...options.metrics });
  const toggles = createToggles(ordersToggles, {
    source: options.toggles ?? { type: 'defaults' },
    appName: 'orders',
    // The instance label of the metrics, also in every toggle context (a toggle can target one instance).
    ...(options.metrics?.instance === undefined ? {} : { instance: options.metrics.instance }),
  });
  const versioning = options.versioning ?? createOrdersVersioning();
  const b = baton(app, {
    lifecycle: { service: 'orders', ...options.lifecycle, release: options.release ?? 'dev', checks: ordersChecks(store) },
    // Requests by route template and status, labelled with the release (taken from the lifecycle).
    metrics,
    metricsEndpoint: options.metricsEndpoint ?? {},
    // req.toggles: rollouts hash the customer; the release is added by Baton, so a toggle can target the canary.
    toggles,
    togglesContext: {
      userId: (req) => req.get('x-customer'),
      ...(options.toggleOverrides === undefined ? {} : { overrides: { allow: options.toggleOverrides as readonly (keyof typeof ordersToggles.definitions)[] } }),
    },
    // Api-Version (or ?api_version=) per request; the handlers below speak the newest version only,
    // and Baton moves bodies to and from older ones (see orders-domain/src/api-versions.ts).
    versioning,
  });
  // Runs after the drain, when no request can need the store any more.
  b.lifecycle.onShutdown(() => store.close(), { name: 'orders store' });

  if (options.faults !== undefined) {
    const decide = createFaultInjector(options.faults);
    app.use((req, res, next) => {
      if (!isFaultableRoute(req.path)) return next();
      const { fail, delayMs } = decide();
      const act = (): void => void (fail ? res.status(500).json(INJECTED_FAULT_BODY) : next());
      if (delayMs > 0) setTimeout(act, delayMs);
      else act();
    });
  }

  app.use(express.json({ limit: '64kb' }));

  // Express 5 passes a rejected handler's error to the error handler below.
  app.get('/orders', async (req, res) => {
    res.json(await store.list(parsePagination(req.query)));
  });

  app.post('/orders', async (req, res) => {
    const order = await store.create(parseNewOrder(req.body));
    res.status(201).location(`/orders/${order.id}`).json(order);
  });

  // Before /orders/:id, which would otherwise take "events" for an id.
  app.get('/orders/events', (req, res) => streamOrders(store, versioning, req, res));

  app.get('/orders/:id', async (req, res) => {
    const order = await store.get(req.params.id);
    res.json(req.toggles.isEnabled('orderSummary') ? withSummary(order) : order);
  });

  app.post('/orders/:id/cancel', async (req, res) => {
    if (!req.toggles.isEnabled('cancellations')) throw cancellationsPaused();
    res.json(await store.cancel(req.params.id));
  });

  app.get('/slow', (req, res) => {
    const ms = parseSlowMs(req.query);
    const timer = setTimeout(() => res.json({ sleptMs: ms }), ms);
    // A client that gives up should not keep a timer (and the drain) waiting.
    res.on('close', () => clearTimeout(timer));
  });

  app.use((req, res) => {
    res.status(404).json({ error: 'not_found', message: `No route for ${req.method} ${req.path}.` });
  });
  app.use(errorHandler);

  return { app, baton: b, lifecycle: b.lifecycle, metrics, toggles, versioning, store };
}

/**
 * New and cancelled orders as Server-Sent Events, until the client leaves or
 * the drain ends the stream. Each event is in the subscriber's API version
 * (negotiated when the stream opened): a stream is not a `res.json` body
 * Baton could bring down, so it goes down event by event.
 */
function streamOrders(store: OrderStore, versioning: Versioning<OrdersApiVersion>, req: Request, res: Response): void {
  // setHeader (via res.set), not writeHead: Baton reads the content type back to know the stream is long-lived.
  res.status(200).set(SSE_HEADERS);
  res.flushHeaders();
  res.write('retry: 2000\n\n');
  const version = req.apiVersion;
  const unsubscribe = store.subscribe((event) => res.write(formatSseEvent(event.type, orderEventData(versioning, event, version), event.order.id)));
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), SSE_HEARTBEAT_MS);
  heartbeat.unref();
  req.socket.setTimeout(0);
  res.on('close', () => {
    clearInterval(heartbeat);
    unsubscribe();
  });
}

/** Domain errors and malformed requests become 4xx JSON; anything else a bare 500, never a stack trace. */
const errorHandler: ErrorRequestHandler = (error: unknown, req, res, next) => {
  if (res.headersSent) return next(error);
  const known = toErrorResponse(error);
  if (known) {
    res.status(known.statusCode).json(known.body);
    return;
  }
  // body-parser's errors (bad JSON, too large, bad charset) carry a 4xx status and a safe message.
  const status = typeof (error as { status?: unknown })?.status === 'number' ? (error as { status: number }).status : 500;
  if (status >= 400 && status < 500) {
    const type = (error as { type?: unknown }).type;
    res.status(status).json({
      error: type === 'entity.parse.failed' ? 'invalid_json' : 'bad_request',
      message: type === 'entity.parse.failed' ? 'The request body is not valid JSON.' : (error as Error).message,
    });
    return;
  }
  process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'unhandled error', method: req.method, path: req.path, error: String(error) })}\n`);
  res.status(500).json({ error: 'internal', message: 'Something went wrong on our side.' });
};

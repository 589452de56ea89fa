import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Application, Request, RequestHandler } from 'express';
// Types only, and only in code that is not exported: the public types read them through ./internal/peer-types.js.
import type { Metrics } from '@baton/metrics';
import type { RequestToggles, ToggleDefinitions, Toggles } from '@baton/toggles';
import type { Versioning } from '@baton/versioning';
import {
  BatonError,
  EXIT_CODES,
  createLifecycle,
  holdSignals,
  isLifecycle,
  resolveProbeRoutes,
  serve,
  silentLogger,
  startShutdownFor,
  type Lifecycle,
  type LifecycleOptions,
  type ProbeRouteOptions,
  type Served,
  type ServeOptions,
  type ShutdownReport,
  platformHost,
} from '@baton/lifecycle';
import { captureRouteTemplates, prepareRouteCapture, routeTemplate } from './internal/route-template.js';
import { installRequestToggles, requestScopes } from './internal/request-toggles.js';
import { installVersioning } from './internal/versioning.js';
import { installShadow } from './internal/shadow.js';
import type { MetricsTypes, TogglesTypes, VersioningTypes } from './internal/peer-types.js';
import { createProbeMiddleware } from './probe-middleware.js';

declare global {
  // Express's own way to extend its request type (declaration merging into the global namespace).
  namespace Express {
    interface Request {
      /**
       * This request's feature toggles, when `baton(app, { toggles })` was
       * given: `req.toggles.isEnabled('newCheckout')`. Built on first read
       * (user, session, address, overrides) and kept for the request. Names
       * are checked once `Register` of `@baton/toggles` is augmented.
       */
      toggles: TogglesTypes['requestToggles'];
      /**
       * The API version this request was negotiated to, when `baton(app, {
       * versioning })` was given. The handlers always see and write the
       * newest shapes; Baton moves bodies to and from this version.
       */
      apiVersion: string;
      /**
       * True when this request is a shadow copy (`Baton-Shadow: 1`): a live
       * request mirrored to this release during a shadow step, whose answer
       * is only compared with the stable release's. It must change no data:
       * route its writes to a dry run (`if (req.shadow) return
       * res.json(preview)`). Baton's routers drop the header from clients'
       * requests.
       */
      shadow: boolean;
    }
  }
}

/** Probe route options, plus an optional separate port for the probes. */
export type ExpressProbeOptions = ProbeRouteOptions & {
  /**
   * Answer the probes on a server of their own on this port (0 = ephemeral)
   * instead of on the app. They then keep answering through the whole drain.
   */
  port?: number;
  /** Host of the probe server. Default: the app's host. */
  host?: string;
};

/** Options of {@link baton}. */
export interface BatonExpressOptions {
  /**
   * A lifecycle to use, or options to create one. Without a `logger` it is
   * silent until {@link BatonExpress.serve} switches it to JSON lines on
   * stderr (as the core `serve()` does); `listen()` keeps it silent. The
   * `release` defaults to the `RELEASE` environment variable.
   */
  lifecycle?: Lifecycle | LifecycleOptions;
  /** Probe routes; `false` mounts none. Default: `/livez`, `/readyz`, `/startupz`, `/healthz` on the app. */
  probes?: ExpressProbeOptions | false;
  /**
   * RED metrics (`createMetrics()` from `@baton/metrics`) to record every app
   * request into, by route template; probe and metrics requests are left out.
   * The lifecycle is bound to it, so its state and drain figures are exported too.
   */
  metrics?: MetricsTypes['metrics'];
  /**
   * Where the metrics are served: `path` (default `/metrics`), an optional
   * bearer `token`, and `port` for a server of their own (which keeps
   * answering through the whole drain). `false` serves none. Needs `metrics`.
   */
  metricsEndpoint?: MetricsTypes['endpointOptions'] | false;
  /**
   * Feature toggles (`createToggles()` from `@baton/toggles`) to serve as
   * `req.toggles`. They are bound to the lifecycle (the `toggles` readiness
   * check, the release injected into every context, closed on shutdown) and,
   * with `metrics`, export their evaluations and state.
   */
  toggles?: BatonToggles;
  /**
   * How a request becomes a toggle context: `userId`, `sessionId`,
   * `remoteAddress` (default `req.ip`, which follows `trust proxy`) and
   * `properties` extractors of the Express request, and `overrides`
   * (`{ allow: [...], header? }`) to let a request force the allowed toggles
   * through a header (off unless given). Needs `toggles`.
   */
  togglesContext?: (TogglesTypes & { request: Request })['contextOptions'];
  /**
   * API versions (`createVersioning()` from `@baton/versioning`): each
   * request's version is negotiated before Express sees it (400 / 406 / 410
   * problems otherwise) and echoed with `Vary` and deprecation headers; a
   * route outside the version answers 404; an old client's body is upgraded
   * to the newest shape on its first read in the route, and `res.json`
   * bodies go back down to the client's version. `req.apiVersion` holds it.
   * With `metrics`, requests per version are exported.
   */
  versioning?: VersioningTypes['versioning'];
}

/** What `toggles` accepts (see `TogglesOption` of `@baton/toggles`). */
export type BatonToggles = TogglesTypes['option'];

/** Options of {@link BatonExpress.serve}: the core runner's, minus what `baton()` already knows. */
export type BatonServeOptions = Pick<ServeOptions, 'port' | 'host' | 'startup' | 'signals' | 'onSecondSignal' | 'exit' | 'https'>;

/** Options of {@link BatonExpress.listen}. */
export type BatonListenOptions = Pick<ServeOptions, 'port' | 'host' | 'startup' | 'https'>;

/** A listening app started by {@link BatonExpress.listen}. */
export interface BatonListening {
  server: Server;
  port: number;
  /** `http://host:port` (`https://` with the `https` option), with 127.0.0.1 for a wildcard host. */
  url: string;
  /** Port of the probe server, when `probes.port` was given. */
  probePort?: number;
  /** Port of the metrics server, when `metricsEndpoint.port` was given. */
  metricsPort?: number;
  /** Shuts down gracefully (the whole budget, as on SIGTERM) and resolves once stopped. */
  close(reason?: string): Promise<ShutdownReport>;
}

/** What {@link baton} returns. */
export interface BatonExpress {
  /** The lifecycle behind the probes and the drain: add checks and shutdown hooks here. */
  readonly lifecycle: Lifecycle;
  /**
   * The probe routes as Express middleware, for a server you run yourself
   * (`app.use(b.probes)` before auth). Not needed with `serve()` / `listen()`:
   * there the probes are answered before the request reaches Express.
   */
  readonly probes: RequestHandler;
  /**
   * For a server you run yourself: records each request into `metrics` and
   * answers the metrics path (unless it has a port of its own). Mount it
   * first, after `probes`. A pass-through without `metrics`. Not needed with
   * `serve()` / `listen()`.
   */
  readonly metricsMiddleware: RequestHandler;
  /**
   * Runs the app as a service through the core `serve()`: listens, runs
   * startup, shuts down gracefully on SIGTERM/SIGINT and exits with a code
   * from `EXIT_CODES` once stopped.
   */
  serve(options?: BatonServeOptions): Promise<Served>;
  /**
   * Listens and starts, with no signal handlers and no exit: for tests and
   * custom runners. Resolves once the app is ready; rejects when startup fails.
   */
  listen(options?: BatonListenOptions): Promise<BatonListening>;
}

/**
 * Wires Baton into an Express app and returns the lifecycle plus the ways to
 * run it. `serve()` listens on `PORT` (else 3000) and logs one startup line,
 * `listening on <url>` with `event: 'listening'` and `port` fields, which is
 * what `baton deploy` waits for. Under `serve()` / `listen()` the probe routes are answered before a
 * request reaches Express: no auth or rate-limit middleware can refuse them,
 * and app requests pay no extra middleware layer.
 *
 * @example
 * const app = express();
 * const b = baton(app);
 * b.lifecycle.checks.add({ name: 'db', check: () => pool.ping() });
 * app.get('/orders', listOrders);
 * await b.serve(); // PORT, RELEASE from the environment
 */
export function baton(app: Application, options: BatonExpressOptions = {}): BatonExpress {
  if (typeof app !== 'function' || typeof (app as { use?: unknown }).use !== 'function') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'baton: the first argument must be an Express app (the result of `express()`).');
  }
  if (options === null || typeof options !== 'object') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'baton: options must be an object.');
  }
  const lifecycle = resolveLifecycle(options.lifecycle);
  const probeOptions = resolveProbes(options.probes);
  const probes = createProbeMiddleware(lifecycle, probeOptions ?? {});
  // Checked before anything is bound, so a bad toggle option leaves the lifecycle and metrics untouched.
  const toggles = resolveToggles(options);
  const versioning = resolveVersioning(options);
  const metrics = resolveMetrics(app, lifecycle, options);
  if (versioning !== undefined) {
    // Probes and metrics served inside the app (b.probes, metricsMiddleware) are not versioned.
    const unversioned = new Set<string>(probeOptions === undefined ? [] : resolveProbeRoutes(probeOptions).routes.keys());
    if (options.metrics !== undefined && options.metricsEndpoint !== false && options.metricsEndpoint?.port === undefined) {
      unversioned.add(options.metricsEndpoint?.path ?? '/metrics');
    }
    installVersioning(app, versioning, unversioned);
    if (options.metrics !== undefined) versioning.bindMetrics(options.metrics);
  }
  if (toggles !== undefined) {
    toggles.toggles.bindLifecycle(lifecycle);
    if (options.metrics !== undefined) toggles.toggles.bindMetrics(options.metrics);
    installRequestToggles(app, toggles.scopeOf);
  }
  // `req.shadow` and the `Baton-Route` answer of requests a shadow step marks; unmarked ones pay two header lookups.
  installShadow(app);

  let started = false;
  const run = (extra: ServeOptions): Promise<Served> => {
    if (started) {
      throw new BatonError('BATON_ERR_INVALID_STATE', 'baton: serve() or listen() was already called; a lifecycle runs once. Create a new app and baton() for another run.');
    }
    started = true;
    return serveWithMetrics(metrics, lifecycle, extra, (metricsPort) =>
      serve({
        // Express apps are node:http request listeners; the core creates and tracks the server.
        handler: metrics?.handler ?? app,
        lifecycle,
        // The core answers the probes in front of the app (or on their own port).
        probes: probeOptions ?? false,
        ...extra,
      }).then((served) => {
        if (metricsPort !== undefined && metrics?.server) {
          served.metricsServer = metrics.server;
          served.metricsPort = metricsPort;
        }
        return served;
      }),
    );
  };

  return {
    lifecycle,
    probes,
    metricsMiddleware: metrics?.middleware ?? ((_request, _response, next) => next()),
    async serve(serveOptions = {}) {
      // Quiet as a library (listen, tests); the core serve() gives a lifecycle without a logger JSON lines on stderr.
      return run(pickDefined(serveOptions, ['port', 'host', 'startup', 'signals', 'onSecondSignal', 'exit', 'https']));
    },
    async listen(listenOptions = {}) {
      // Said explicitly, so the core serve() behind listen() keeps it quiet: listen() is for tests and custom runners.
      if (lifecycle.hasLogger === false) lifecycle.logger = silentLogger;
      const served = await run({ ...pickDefined(listenOptions, ['port', 'host', 'startup', 'https']), signals: false, exit: false });
      try {
        await served.ready;
      } catch (error) {
        await served.stopped;
        throw error;
      }
      const listening: BatonListening = {
        server: served.server,
        port: served.port,
        url: served.url,
        async close(reason = 'close requested') {
          const report = await served.shutdown(reason);
          await served.stopped; // the probe server, if any, is closed by then
          return report;
        },
      };
      if (served.probePort !== undefined) listening.probePort = served.probePort;
      if (served.metricsPort !== undefined) listening.metricsPort = served.metricsPort;
      return listening;
    },
  };
}

interface ExpressMetrics {
  /** The app behind the metrics endpoint and request recording, for `serve()`. */
  handler: RequestListener;
  /** The same for a server the user runs. */
  middleware: RequestHandler;
  /** The metrics-only server, when the endpoint has a port of its own. */
  server: Server | undefined;
  port: number | undefined;
  host: string | undefined;
}

function resolveMetrics(app: Application, lifecycle: Lifecycle, options: BatonExpressOptions): ExpressMetrics | undefined {
  const { metrics, metricsEndpoint } = options;
  if (metrics === undefined) {
    if (metricsEndpoint !== undefined && metricsEndpoint !== false) {
      throw new BatonError('BATON_ERR_INVALID_OPTION', 'baton: `metricsEndpoint` needs `metrics` (createMetrics() from @baton/metrics).');
    }
    return undefined;
  }
  if (metrics === null || typeof metrics !== 'object' || typeof (metrics as Partial<Metrics>).requestStarted !== 'function') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'baton: `metrics` must come from createMetrics() of @baton/metrics.');
  }
  metrics.bindLifecycle(lifecycle);
  captureRouteTemplates(app);
  const endpoint = metricsEndpoint === false ? undefined : (metricsEndpoint ?? {});
  // Validates path, token and port now, not at the first scrape.
  const answer = endpoint === undefined ? undefined : metrics.endpoint(endpoint);
  const onApp = endpoint !== undefined && endpoint.port === undefined ? answer : undefined;

  const record = (request: IncomingMessage, response: ServerResponse): void => {
    prepareRouteCapture(request);
    // The route is known only once Express routed the request: read at the end.
    metrics.track(request, response, routeTemplate as (request: IncomingMessage) => string | undefined);
  };
  return {
    handler: onApp
      ? (request, response) => {
          if (onApp(request, response)) return;
          record(request, response);
          app(request, response);
        }
      : (request, response) => {
          record(request, response);
          app(request, response);
        },
    middleware: (request, response, next) => {
      if (onApp?.(request, response)) return;
      record(request, response);
      next();
    },
    server: endpoint?.port === undefined ? undefined : metrics.endpointServer(endpoint),
    port: endpoint?.port,
    host: endpoint?.host,
  };
}

function resolveToggles(options: BatonExpressOptions): { toggles: Toggles<ToggleDefinitions>; scopeOf: (request: Request) => RequestToggles } | undefined {
  const { toggles, togglesContext } = options;
  if (toggles === undefined) {
    if (togglesContext !== undefined) {
      throw new BatonError('BATON_ERR_INVALID_OPTION', 'baton: `togglesContext` needs `toggles` (createToggles() from @baton/toggles).');
    }
    return undefined;
  }
  const candidate = toggles as unknown as Partial<Toggles<ToggleDefinitions>> | null;
  if (candidate === null || typeof candidate !== 'object' || typeof candidate.bindLifecycle !== 'function' || typeof candidate.context !== 'function' || typeof candidate.requestScopes !== 'function') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'baton: `toggles` must come from createToggles() of @baton/toggles.');
  }
  if (togglesContext !== undefined && (togglesContext === null || typeof togglesContext !== 'object')) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'baton: `togglesContext` must be an object: { userId?, sessionId?, remoteAddress?, properties?, overrides? }.');
  }
  // The type of `toggles` is the user's registered one; at run time it is a Toggles over some registry.
  const bound = toggles as unknown as Toggles<ToggleDefinitions>;
  return { toggles: bound, scopeOf: requestScopes(bound, togglesContext) };
}

function resolveVersioning(options: BatonExpressOptions): Versioning<string> | undefined {
  const { versioning } = options;
  if (versioning === undefined) return undefined;
  const candidate = versioning as Partial<Versioning<string>> | null;
  if (candidate === null || typeof candidate !== 'object' || typeof candidate.decide !== 'function' || typeof candidate.routeProblem !== 'function' || candidate.chain === undefined) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'baton: `versioning` must come from createVersioning() of @baton/versioning.');
  }
  return versioning;
}

/**
 * Opens the separate metrics server (if any) before the app, so startup can
 * be watched, and closes it once the lifecycle stopped, so scrapes see the
 * whole drain.
 */
async function serveWithMetrics(
  metrics: ExpressMetrics | undefined,
  lifecycle: Lifecycle,
  extra: ServeOptions,
  run: (metricsPort: number | undefined) => Promise<Served>,
): Promise<Served> {
  const server = metrics?.server;
  if (server === undefined || metrics === undefined) return run(undefined);
  // A signal while the metrics port opens (before serve() has its handlers)
  // is held, then starts the shutdown, instead of killing the process undrained.
  const release = extra.signals === false ? () => [] : holdSignals(extra.signals ?? ['SIGTERM', 'SIGINT']);
  try {
    // Under a deploy platform, the interface it gives (see platformHost), like the app's own port.
    await listenOn(server, metrics.port ?? 0, metrics.host ?? extra.host ?? platformHost());
  } catch (error) {
    release();
    // A startup failure like a port of the app's own in use (see serve()):
    // the shutdown hooks still run and the process ends with code 1, even
    // when the caller catches this rejection.
    const exit = extra.exit === undefined ? (code: number) => process.exit(code) : extra.exit;
    void lifecycle.shutdown(`listen failed: ${error instanceof Error ? error.message : String(error)}`).then(() => {
      if (typeof exit !== 'function') return;
      try {
        exit(EXIT_CODES.startupFailed);
      } catch (exitError) {
        lifecycle.logger.error('the exit callback threw', { error: exitError instanceof Error ? exitError.message : String(exitError) });
      }
    });
    throw error;
  }
  const replay = startShutdownFor(lifecycle, release());
  const close = (): void => {
    server.close();
    server.closeIdleConnections();
  };
  lifecycle.once('stopped', close);
  if (lifecycle.state === 'stopped') close();
  try {
    const serving = run((server.address() as AddressInfo).port);
    replay(); // repeated signals held meanwhile go to serve()'s handlers, now installed
    return await serving;
  } catch (error) {
    lifecycle.off('stopped', close);
    close();
    throw error;
  }
}

function listenOn(server: Server, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(new BatonError('BATON_ERR_LISTEN_FAILED', `Could not listen for metrics on ${host ?? '*'}:${port}: ${error.message}`, { cause: error }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function resolveLifecycle(option: BatonExpressOptions['lifecycle']): Lifecycle {
  // A brand check: the lifecycle may come from another copy of @baton/lifecycle.
  if (isLifecycle(option)) return option;
  if (option !== undefined && (option === null || typeof option !== 'object')) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'baton: `lifecycle` must be a Lifecycle (from createLifecycle) or lifecycle options.');
  }
  return createLifecycle(option);
}

function resolveProbes(option: BatonExpressOptions['probes']): ExpressProbeOptions | undefined {
  if (option === false) return undefined;
  if (option !== undefined && (option === null || typeof option !== 'object')) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'baton: `probes` must be probe options or false.');
  }
  const probes = option ?? {};
  // Validate paths and `details` now, not at the first request.
  resolveProbeRoutes(probes);
  if (probes.port !== undefined && (!Number.isInteger(probes.port) || probes.port < 0 || probes.port > 65535)) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `baton: \`probes.port\` must be an integer from 0 to 65535; got ${JSON.stringify(probes.port)}.`);
  }
  if (probes.host !== undefined && typeof probes.host !== 'string') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'baton: `probes.host` must be a string.');
  }
  return probes;
}

/** Copies only the keys that are set, so `exactOptionalPropertyTypes` holds and nothing unexpected reaches the core. */
function pickDefined<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Pick<T, K> {
  const picked = {} as Pick<T, K>;
  for (const key of keys) {
    if (source[key] !== undefined) picked[key] = source[key];
  }
  return picked;
}

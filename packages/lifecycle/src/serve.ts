import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import { Server as NetServer, type AddressInfo } from 'node:net';
import { BatonError } from './errors.js';
import { attachInline } from './internal/attach-inline.js';
import type { TrackableServer, TrackRequest } from './internal/connection-tracker.js';
import { logListening, pathsByKind, type AnnouncedProbes } from './internal/listening-line.js';
import { createLifecycle, isLifecycle, type Lifecycle, type LifecycleOptions, type ShutdownReport, type StartOptions } from './lifecycle.js';
import { jsonLogger } from './logger.js';
import { createProbeHandler, resolveProbeRoutes, type ProbeRouteOptions } from './probe-routes.js';
import { createProbeServer } from './probe-server.js';
import { platformHost } from './platform-environment.js';
import { installSignalHandlers, resolveSecondSignalPolicy, type SecondSignalOption } from './signals.js';
import { Server as TlsServer } from 'node:tls';

/**
 * Exit codes chosen by `serve()`. Documented and stable, so a platform or a
 * deploy tool can tell a clean drain from a cut one.
 */
export const EXIT_CODES = {
  /** Drained cleanly; every hook finished. */
  ok: 0,
  /** Startup failed (task threw, startup checks never passed, or listen failed). */
  startupFailed: 1,
  /** The shutdown was cut: drain or hook deadline passed, or a second signal forced it. */
  forced: 3,
} as const;

/** Options of {@link serve}. */
export interface ServeOptions {
  /** The app as a node:http request listener (Express apps are). Probes are answered before it. */
  handler?: RequestListener;
  /**
   * Or an existing server, not yet listening (`http.createServer`,
   * `https.createServer`, `http2.createSecureServer`, or a framework's).
   * Mount probes yourself or give `probes.port`.
   */
  server?: TrackableServer;
  /**
   * With `handler`: serve over HTTPS with these TLS options (`key`, `cert`,
   * ...), as `https.createServer(https, handler)` would. Connections are
   * tracked once their TLS handshake is done.
   */
  https?: HttpsServerOptions;
  /**
   * A lifecycle, or options to create one. Either way, one without a logger
   * logs JSON lines on stderr ({@link jsonLogger}) under `serve()`; pass
   * `logger: silentLogger` for none.
   */
  lifecycle?: Lifecycle | LifecycleOptions;
  /**
   * Default: the `PORT` environment variable (as platforms and `baton deploy`
   * set it), else 3000. Use 0 for an ephemeral port.
   */
  port?: number;
  /**
   * Default: under a deploy platform (`BATON_INSTANCE` set, as `baton
   * deploy` does), the `HOST` it gives (`127.0.0.1`: only the router reaches
   * the instance); otherwise Node's (all interfaces, so a container's port
   * mapping reaches it). `HOST` alone is not read: shells set it to the
   * machine's name.
   */
  host?: string;
  /**
   * How to listen, for frameworks that own it (Fastify's `app.listen`).
   * Default `server.listen(port, host)`.
   */
  listen?: (port: number, host: string | undefined) => Promise<unknown>;
  /**
   * Probe routes. With `port`, they get a server of their own (probes keep
   * answering through the whole drain). `false`: no probe routes.
   */
  probes?: (ProbeRouteOptions & { port?: number; host?: string }) | false;
  /**
   * For the startup line only, when `probes` is false because the framework
   * answers them (as `@baton/fastify`'s plugin does): their paths, and their
   * port when they have a server of their own.
   */
  announcedProbes?: AnnouncedProbes;
  /** Work before the instance is ready; see {@link StartOptions.task}. */
  startup?: StartOptions['task'];
  /** Signals that start a shutdown; `false` installs none. Default `['SIGTERM', 'SIGINT']`. */
  signals?: readonly NodeJS.Signals[] | false;
  /**
   * What a signal does once a shutdown is running: per signal
   * (`{ SIGTERM: 'ignore', SIGINT: 'force' }`, the default) or one policy for
   * all. See the signal policy table in the README.
   */
  onSecondSignal?: SecondSignalOption;
  /** Called with the exit code once stopped. Default `process.exit`; `false` to only resolve `stopped`. */
  exit?: ((code: number) => void) | false;
}

/** A running service. */
export interface Served {
  /** The app's server (typed as node:http's; an HTTP/2 server given as `server` is returned as is). */
  server: Server;
  lifecycle: Lifecycle;
  port: number;
  /** `http://host:port`, with 127.0.0.1 for a wildcard host. */
  url: string;
  probeServer?: Server;
  probePort?: number;
  /** The metrics-only server, when an adapter opened one (`metricsEndpoint.port`). */
  metricsServer?: Server;
  metricsPort?: number;
  /** Settles when startup finishes: `ready`, or a shutdown state if one began first. */
  ready: Promise<void>;
  /** Settles once stopped, with the exit code `serve()` chose and the shutdown report. */
  stopped: Promise<{ code: number; report: ShutdownReport | undefined }>;
  /** Starts a graceful shutdown (as SIGTERM would). */
  shutdown(reason?: string): Promise<ShutdownReport>;
}

/**
 * The runner: creates or takes a server, attaches the lifecycle, installs
 * signal handlers, listens, runs startup, and, once stopped, exits with a code
 * from {@link EXIT_CODES}. This is the one place Baton ends a process, and
 * only because you called it.
 *
 * Once listening it logs one line, `listening on <url>`, with the fields
 * `event: 'listening'`, `port`, `url`, `release` and `probes`: deploy
 * platforms (`baton deploy`) learn the port from it.
 *
 * @example
 * await serve({ handler: app, port: 3000, lifecycle: { shutdown: { propagationDelayMs: 5000 } } });
 */
export async function serve(options: ServeOptions): Promise<Served> {
  if (!options || (options.handler === undefined) === (options.server === undefined)) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'serve: give exactly one of `handler` (a request listener) or `server`.');
  }
  if (options.https !== undefined && (options.https === null || typeof options.https !== 'object' || options.server !== undefined)) {
    throw new BatonError(
      'BATON_ERR_INVALID_OPTION',
      'serve: `https` takes TLS options (`{ key, cert }`) and goes with `handler`; with `server`, pass an `https.createServer(...)` server instead.',
    );
  }
  if (options.server?.listening) {
    // Connections it accepted before attach could not be tracked, so the drain could not wait for them.
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'serve: `server` is already listening; pass it before calling listen(), serve() listens itself.');
  }
  const lifecycle = isLifecycle(options.lifecycle) ? options.lifecycle : createLifecycle({ logger: jsonLogger(), ...options.lifecycle });
  // The runner logs: a lifecycle made without a logger (silent as a library) gets JSON lines on stderr.
  if (lifecycle.hasLogger === false) lifecycle.logger = jsonLogger();
  const port = resolvePort(options.port);
  const host = options.host ?? platformHost();
  if (options.onSecondSignal !== undefined) resolveSecondSignalPolicy('serve', options.onSecondSignal);
  if (options.exit !== undefined && options.exit !== false && typeof options.exit !== 'function') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'serve: `exit` must be a function (called with the exit code) or false.');
  }
  const probes = options.probes === false ? undefined : (options.probes ?? {});
  const separateProbes = probes?.port !== undefined;
  const server = options.server ?? createAppServer(options.handler as RequestListener, lifecycle, separateProbes ? undefined : probes, options.https);
  if (options.server) lifecycle.attach(server);
  const exit = options.exit === undefined ? (code: number) => process.exit(code) : options.exit;

  // Subscribed before any signal handler exists: a signal may arrive at any
  // moment from here on, even while listen is still binding, and its shutdown
  // must still reach the exit below.
  let startupFailed = false;
  const report = stoppedReport(lifecycle);
  let probeServer: Server | undefined;
  const uninstall = options.signals === false ? () => {} : installSignalHandlers(lifecycle, {
    ...(options.signals ? { signals: options.signals } : {}),
    ...(options.onSecondSignal === undefined ? {} : { onSecondSignal: options.onSecondSignal }),
  });
  const stopped = (async () => {
    try {
      let final: ShutdownReport | undefined;
      try {
        final = await report;
      } finally {
        await closeQuietly(probeServer);
      }
      const code = startupFailed ? EXIT_CODES.startupFailed : final.forced ? EXIT_CODES.forced : EXIT_CODES.ok;
      lifecycle.logger.info('stopped', { code });
      if (exit) {
        try {
          exit(code);
        } catch (error) {
          lifecycle.logger.error('the exit callback threw', { code, error: error instanceof Error ? error.message : String(error) });
        }
      }
      return { code, report: final };
    } finally {
      // Last, after exit(): a signal between the end of the drain and the exit
      // meets our handler (a no-op on a stopped lifecycle), not Node's default,
      // which would kill the process without the exit code chosen above.
      uninstall();
    }
  })();

  try {
    // A lifecycle already shutting down (a signal during a framework's own
    // startup, before serve() was called) is not listened for at all.
    if (!lifecycle.isShuttingDown) {
      if (options.listen) await listenWith(options.listen, port, host);
      else await listen(server, port, host);
    }
    if (separateProbes && probes && !lifecycle.isShuttingDown) {
      probeServer = createProbeServer(lifecycle, probes);
      await listen(probeServer, resolvePort(probes.port), probes.host ?? host);
    }
  } catch (error) {
    // Listen failed (port in use...): a startup failure like any other, so the
    // shutdown still runs (hooks close what was opened before serve()) and the
    // process ends with code 1, also when the caller catches this rejection or
    // a signal already started the shutdown (which would otherwise exit 0).
    startupFailed = true;
    void lifecycle.shutdown(`listen failed: ${error instanceof Error ? error.message : String(error)}`);
    closeListener(server);
    throw error;
  }
  if (lifecycle.isShuttingDown) {
    // The shutdown began while listen was binding: its stop-accepting phase
    // found nothing listening yet, so the listener opened since is closed here.
    closeListener(server);
    closeListener(probeServer);
  }

  const ready = lifecycle.isShuttingDown
    ? Promise.resolve()
    : lifecycle.start(options.startup ? { task: options.startup } : {}).then(
        () => undefined,
        (error: unknown) => {
          startupFailed = true;
          void lifecycle.shutdown(`startup failed: ${error instanceof Error ? error.message : String(error)}`);
          throw error;
        },
      );
  ready.catch(() => {}); // reported through the logger and the exit code

  const address = server.address() as AddressInfo | null;
  const boundPort = address?.port ?? port;
  const scheme = options.https !== undefined || server instanceof TlsServer ? 'https' : 'http';
  const served: Served = {
    server: server as Server,
    lifecycle,
    port: boundPort,
    url: `${scheme}://${address ? urlHost(address) : (host ?? '127.0.0.1')}:${boundPort}`,
    ready,
    stopped,
    shutdown: (reason = 'shutdown requested') => lifecycle.shutdown(reason),
  };
  if (probeServer?.listening) {
    served.probeServer = probeServer;
    served.probePort = (probeServer.address() as AddressInfo).port;
  }
  if (!lifecycle.isShuttingDown) {
    const announced = probes === undefined ? options.announcedProbes : { paths: pathsByKind(resolveProbeRoutes(probes).routes), ...(served.probePort === undefined ? {} : { port: served.probePort }) };
    logListening(lifecycle, { url: served.url, port: boundPort, probes: announced });
  }
  return served;
}

/** The report of the lifecycle's shutdown, whenever it happens (or already happened). */
function stoppedReport(lifecycle: Lifecycle): Promise<ShutdownReport> {
  if (lifecycle.isShuttingDown) return lifecycle.shutdown();
  return new Promise((resolve) => lifecycle.once('stopped', resolve));
}

function closeListener(server: TrackableServer | undefined): void {
  if (server?.listening) NetServer.prototype.close.call(server, () => {});
}

function createAppServer(
  handler: RequestListener,
  lifecycle: Lifecycle,
  probes: ProbeRouteOptions | undefined,
  tls: HttpsServerOptions | undefined,
): Server {
  if (typeof handler !== 'function') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'serve: `handler` must be a request listener function.');
  }
  const answerProbe = probes ? createProbeHandler(lifecycle, probes) : () => false;
  // One request listener that tracks, answers probes, then hands over to the app.
  let track: TrackRequest = () => {};
  const listener: RequestListener = (request, response) => {
    track(request, response);
    if (!answerProbe(request, response)) handler(request, response);
  };
  // An https.Server is an http.Server that speaks TLS first; the tracker tells them apart.
  const server: Server = tls ? createHttpsServer(tls, listener) : createServer(listener);
  // A lifecycle from a copy of this package without the inline method is attached the ordinary way.
  if (typeof lifecycle[attachInline] === 'function') track = lifecycle[attachInline](server);
  else lifecycle.attach(server);
  // Longer than common load balancers' idle timeouts (60 s), so the balancer,
  // not the app, closes idle keep-alive connections: otherwise a request can
  // race the app's close and fail. The drain closes idle sockets itself.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}

function resolvePort(port: number | undefined): number {
  if (port === undefined) return portFromEnvironment();
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `serve: port must be an integer from 0 to 65535; got ${JSON.stringify(port)}.`);
  }
  return port;
}

/** `PORT` (digits only, 0–65535), else 3000; an empty `PORT` counts as unset. */
function portFromEnvironment(): number {
  const text = process.env.PORT?.trim();
  if (text === undefined || text === '') return 3000;
  const value = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value <= 65535)) {
    throw new BatonError(
      'BATON_ERR_INVALID_OPTION',
      `serve: the PORT environment variable must be a port number from 0 to 65535; got ${JSON.stringify(process.env.PORT)}. Unset it for 3000, or pass \`port\`.`,
    );
  }
  return value;
}

function listen(server: TrackableServer, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(new BatonError('BATON_ERR_LISTEN_FAILED', `Could not listen on ${host ?? '*'}:${port}: ${error.message}`, { cause: error }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

async function listenWith(
  listenFn: (port: number, host: string | undefined) => Promise<unknown>,
  port: number,
  host: string | undefined,
): Promise<void> {
  try {
    await listenFn(port, host);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new BatonError('BATON_ERR_LISTEN_FAILED', `Could not listen on ${host ?? '*'}:${port}: ${message}`, { cause: error });
  }
}

function closeQuietly(server: Server | undefined): Promise<void> {
  if (!server?.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function urlHost(address: AddressInfo): string {
  if (address.address === '::' || address.address === '0.0.0.0') return '127.0.0.1';
  return address.family === 'IPv6' ? `[${address.address}]` : address.address;
}

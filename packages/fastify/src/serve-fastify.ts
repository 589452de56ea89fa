import type { AddressInfo } from 'node:net';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyTypeProvider,
  FastifyTypeProviderDefault,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerBase,
  RawServerDefault,
} from 'fastify';
import {
  BatonError,
  EXIT_CODES,
  holdSignals,
  isLifecycle,
  resolveSecondSignalPolicy,
  serve,
  startShutdownFor,
  wantsOut,
  type AnnouncedProbes,
  type Served,
  type ServeOptions,
  platformHost,
} from '@baton/lifecycle';
import { PROBE_PATHS } from './internal/probe-paths.js';

/** Options of {@link serveFastify}: the core runner's, minus what the plugin already knows. */
export type FastifyServeOptions = Pick<ServeOptions, 'port' | 'host' | 'startup' | 'signals' | 'onSecondSignal' | 'exit'>;

/**
 * Runs a Fastify app that has `batonPlugin` registered as a service through
 * the core `serve()`: listens with `app.listen`, runs startup, shuts down
 * gracefully on SIGTERM/SIGINT (the app is closed as the last step) and exits
 * with a code from `EXIT_CODES` once stopped.
 *
 * Works with Fastify's `https` and `http2` options too (HTTP/2 sessions are
 * drained with GOAWAY).
 *
 * `port` defaults to the `PORT` environment variable, else 3000. `host`
 * defaults, under a deploy platform (`BATON_INSTANCE` set), to the `HOST` it
 * gives, else to `0.0.0.0` (all IPv4 interfaces) rather than Fastify's
 * `localhost`, which would open a second, untracked server for `::1`.
 *
 * Once listening it logs one startup line, `listening on <url>` with
 * `event: 'listening'`, `port`, `release` and `probes` fields (what `baton
 * deploy` waits for), through the app's logger, or as a JSON line on stderr
 * when the app has none.
 *
 * @example
 * await app.register(batonPlugin);
 * await serveFastify(app); // PORT, RELEASE from the environment
 */
export async function serveFastify<
  Server extends RawServerBase = RawServerDefault,
  Logger extends FastifyBaseLogger = FastifyBaseLogger,
  TypeProvider extends FastifyTypeProvider = FastifyTypeProviderDefault,
>(
  app: FastifyInstance<Server, RawRequestDefaultExpression<Server>, RawReplyDefaultExpression<Server>, Logger, TypeProvider>,
  options: FastifyServeOptions = {},
): Promise<Served> {
  if (!app || typeof app.listen !== 'function' || typeof app.ready !== 'function') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'serveFastify: the first argument must be a Fastify instance.');
  }
  // Plugins may take a while to load (a database plugin connecting): a
  // signal meanwhile must not kill the process with no drain, so it is held
  // until serve()'s own handlers exist.
  if (options.onSecondSignal !== undefined) resolveSecondSignalPolicy('serveFastify', options.onSecondSignal);
  // A second forcing signal meanwhile (Ctrl-C twice while a plugin hangs)
  // exits at once: nothing is served yet, so there is nothing to drain.
  const exitNow = options.exit === false ? () => {} : (options.exit ?? ((code: number) => process.exit(code)));
  const release =
    options.signals === false
      ? () => []
      : holdSignals(options.signals ?? ['SIGTERM', 'SIGINT'], process, (held) => {
          if (wantsOut(held, options.onSecondSignal)) exitNow(EXIT_CODES.forced);
        });
  try {
    // Loads the plugins (registration may not have been awaited) and opens a separate probe server, if any.
    await app.ready();
  } catch (error) {
    release();
    // A plugin that cannot load is a startup failure: as under serve(), the
    // shutdown hooks still run (closing what earlier plugins opened) and the
    // process ends with code 1, even when the caller catches this rejection
    // (it would otherwise exit 0, or hang on a pool an earlier plugin opened).
    if (app.hasDecorator('lifecycle') && isLifecycle(app.lifecycle)) {
      const lifecycle = app.lifecycle;
      const message = error instanceof Error ? error.message : String(error);
      lifecycle.logger.error('startup failed', { error: message });
      void lifecycle.shutdown(`startup failed: ${message}`).then(() => {
        try {
          exitNow(EXIT_CODES.startupFailed);
        } catch (exitError) {
          lifecycle.logger.error('the exit callback threw', { error: exitError instanceof Error ? exitError.message : String(exitError) });
        }
      });
    }
    throw error;
  }
  if (!app.hasDecorator('lifecycle')) {
    release();
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'serveFastify: register batonPlugin first (`await app.register(batonPlugin)`).');
  }
  // Under a deploy platform, the interface it gives (127.0.0.1 under `baton deploy`): only its router reaches the instance.
  const host = options.host ?? platformHost() ?? '0.0.0.0';
  const announcedProbes = announced(app);
  // A signal held during ready starts the shutdown now: serve() then does not listen at all.
  const replay = startShutdownFor(app.lifecycle, release());
  const serving = serve({
    server: app.server,
    listen: (port, listenHost) => app.listen({ port, host: listenHost ?? host }),
    lifecycle: app.lifecycle,
    // The plugin answers probes (as routes, or on its own probe server).
    probes: false,
    ...(announcedProbes === undefined ? {} : { announcedProbes }),
    ...withDefined(options),
    host,
  });
  replay(); // repeated signals held meanwhile go to serve()'s handlers, now installed
  const served = await serving;
  const probeServer = app.batonProbeServer;
  if (probeServer?.listening) {
    served.probeServer = probeServer;
    served.probePort = (probeServer.address() as AddressInfo).port;
  }
  const metricsServer = app.batonMetricsServer;
  if (metricsServer?.listening) {
    served.metricsServer = metricsServer;
    served.metricsPort = (metricsServer.address() as AddressInfo).port;
  }
  return served;
}

/** The probes the plugin serves, for the startup line: its paths, and the probe server's port once it listens. */
function announced(app: object): AnnouncedProbes | undefined {
  const paths = (app as Record<symbol, unknown>)[PROBE_PATHS] as AnnouncedProbes['paths'] | null | undefined;
  if (paths === null || paths === undefined) return undefined;
  const server = (app as { batonProbeServer?: { listening: boolean; address(): unknown } | null }).batonProbeServer;
  return server?.listening ? { paths, port: (server.address() as AddressInfo).port } : { paths };
}

function withDefined(options: FastifyServeOptions): FastifyServeOptions {
  const picked: FastifyServeOptions = {};
  if (options.port !== undefined) picked.port = options.port;
  if (options.startup !== undefined) picked.startup = options.startup;
  if (options.signals !== undefined) picked.signals = options.signals;
  if (options.onSecondSignal !== undefined) picked.onSecondSignal = options.onSecondSignal;
  if (options.exit !== undefined) picked.exit = options.exit;
  return picked;
}

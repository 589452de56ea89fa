import type { Server } from 'node:http';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  BatonError,
  createLifecycle,
  createProbeServer,
  isLifecycle,
  resolveProbeRoutes,
  type Lifecycle,
  type LifecycleOptions,
  type ProbeRouteOptions,
  platformHost,
} from '@baton/lifecycle';
// Types only, and only in code that is not exported: the public types read them through ./internal/peer-types.js.
import type { Metrics, MetricsEndpointServerOptions } from '@baton/metrics';
import type { RequestToggles, ToggleDefinitions, Toggles } from '@baton/toggles';
import type { Versioning } from '@baton/versioning';
import { fromFastifyLogger, hasFastifyLogger } from './internal/fastify-logger.js';
import { PROBE_PATHS } from './internal/probe-paths.js';
import { registerMetrics } from './metrics-hooks.js';
import { registerProbeRoutes } from './probe-routes.js';
import { decorateRequestToggles, requestScopes } from './internal/request-toggles.js';
import { registerVersioning } from './versioning-hooks.js';
import { decorateShadow, reportShadowRoutes } from './shadow-hooks.js';
import type { MetricsTypes, TogglesTypes, VersioningTypes } from './internal/peer-types.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Baton's lifecycle for this app: add checks and shutdown hooks here. Set by `batonPlugin`. */
    lifecycle: Lifecycle;
    /** The separate probe server when `probes.port` was given (listening once the app is ready), else null. */
    batonProbeServer: Server | null;
    /** The separate metrics server when `metricsEndpoint.port` was given (listening once the app is ready), else null. */
    batonMetricsServer: Server | null;
  }
  interface FastifyContextConfig {
    /**
     * True on Baton's probe routes. Fastify runs app-wide hooks on every
     * route, so an auth or rate-limit hook should let these through:
     * `if (request.routeOptions.config.batonProbe) return;`
     */
    batonProbe?: boolean;
    /** True on Baton's metrics route, which checks its own bearer token: let it through an auth hook too. */
    batonMetrics?: boolean;
  }
  interface FastifyRequest {
    /**
     * The API version this request was negotiated to, when the plugin was
     * given `versioning` (`''` otherwise). The handler always sees the newest
     * shapes; Baton moves bodies to and from this version.
     */
    apiVersion: string;
    /**
     * This request's feature toggles, when the plugin was given `toggles`:
     * `request.toggles.isEnabled('newCheckout')`. Built on first read (user,
     * session, address, overrides) and kept for the request. Names are
     * checked once `Register` of `@baton/toggles` is augmented.
     */
    toggles: TogglesTypes['requestToggles'];
    /**
     * True when this request is a shadow copy (`Baton-Shadow: 1`): a live
     * request mirrored to this release during a shadow step, whose answer is
     * only compared with the stable release's. It must change no data: route
     * its writes to a dry run (`if (request.shadow) return preview`). Baton's
     * routers drop the header from clients' requests.
     */
    shadow: boolean;
  }
}

/** Probe route options, plus an optional separate port for the probes. */
export type FastifyProbeOptions = ProbeRouteOptions & {
  /**
   * Answer the probes on a server of their own on this port (0 = ephemeral),
   * opened when the app is ready, instead of as routes of the app.
   */
  port?: number;
  /** Host of the probe server. Default: Node's (all interfaces). */
  host?: string;
};

/** Options of {@link batonPlugin}. */
export interface BatonPluginOptions {
  /**
   * A lifecycle to use, or options to create one. When created here without a
   * `logger`, it logs through the app's logger (`app.log`); when the app has
   * none (Fastify's default) it is silent until `serveFastify()` gives it JSON
   * lines on stderr. The `release` defaults to the `RELEASE` environment variable.
   */
  lifecycle?: Lifecycle | LifecycleOptions;
  /** Probe routes; `false` registers none. Default: GET/HEAD `/livez`, `/readyz`, `/startupz`, `/healthz`. */
  probes?: FastifyProbeOptions | false;
  /**
   * RED metrics (`createMetrics()` from `@baton/metrics`) to record every app
   * request into, by route template; probe and metrics requests are left out.
   * The lifecycle is bound to it, so its state and drain figures are exported too.
   */
  metrics?: MetricsTypes['metrics'];
  /**
   * Where the metrics are served: `path` (default `/metrics`), an optional
   * bearer `token`, and `port` for a server of their own, opened when the app
   * is ready and answering through the whole drain. `false` serves none. Needs `metrics`.
   */
  metricsEndpoint?: MetricsTypes['endpointOptions'] | false;
  /**
   * Feature toggles (`createToggles()` from `@baton/toggles`) to serve as
   * `request.toggles`. They are bound to the lifecycle (the `toggles`
   * readiness check, the release injected into every context, closed on
   * shutdown) and, with `metrics`, export their evaluations and state.
   */
  toggles?: BatonToggles;
  /**
   * How a request becomes a toggle context: `userId`, `sessionId`,
   * `remoteAddress` (default `request.ip`, which follows `trustProxy`) and
   * `properties` extractors of the Fastify request, and `overrides`
   * (`{ allow: [...], header? }`) to let a request force the allowed toggles
   * through a header (off unless given). Needs `toggles`.
   */
  togglesContext?: (TogglesTypes & { request: FastifyRequest })['contextOptions'];
  /**
   * API versions (`createVersioning()` from `@baton/versioning`): each
   * request's version is negotiated (400 / 406 / 410 problems otherwise),
   * echoed with `Vary` and deprecation headers, and bodies are moved between
   * it and the newest shape the handlers are written for. With `metrics`,
   * requests per version are exported.
   */
  versioning?: VersioningTypes['versioning'];
}

/** What `toggles` accepts (see `TogglesOption` of `@baton/toggles`). */
export type BatonToggles = TogglesTypes['option'];

const plugin: FastifyPluginAsync<BatonPluginOptions> = async (app, options) => {
  const lifecycle = resolveLifecycle(app, options.lifecycle);
  const probes = resolveProbes(options.probes);
  // Checked before anything is bound or decorated, so a bad toggle option leaves the lifecycle untouched.
  const toggles = await resolveToggles(options);
  const candidate = options.versioning as Partial<Versioning<string>> | null | undefined;
  if (candidate !== undefined && (candidate === null || typeof candidate.decide !== 'function' || typeof candidate.chain !== 'object')) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', '@baton/fastify: `versioning` must come from createVersioning() of @baton/versioning.');
  }
  app.decorate('lifecycle', lifecycle);
  app.decorate('batonProbeServer', null);
  app.decorate('batonMetricsServer', null);
  // Before listen, so no connection is missed.
  lifecycle.attach(app.server);

  const metrics = resolveMetrics(options);
  decorateShadow(app);
  if (metrics) {
    metrics.metrics.bindLifecycle(lifecycle);
    const server = registerMetrics(app, metrics.metrics, metrics.endpoint);
    if (server) {
      const { port, host } = metrics.endpoint ?? {};
      app.addHook('onReady', async () => {
        // Under a deploy platform, the interface it gives (see platformHost), like the app's own port.
        await listen(server, port ?? 0, host ?? platformHost(), 'metrics');
        app.batonMetricsServer = server;
      });
    }
  } else {
    // `Baton-Route` on the answers of requests a shadow step marks: the metrics hook reports it, else the handlers do.
    reportShadowRoutes(app);
  }

  if (options.versioning !== undefined) {
    if (metrics) options.versioning.bindMetrics(metrics.metrics);
    registerVersioning(app, options.versioning);
  }

  if (toggles) {
    toggles.toggles.bindLifecycle(lifecycle);
    if (metrics) toggles.toggles.bindMetrics(metrics.metrics);
    decorateRequestToggles(app, toggles.scopeOf);
  }

  // For serveFastify's startup line.
  app.decorate(PROBE_PATHS, probes === undefined ? null : probePaths(probes.resolved.routes));
  if (probes && probes.options.port === undefined) registerProbeRoutes(app, lifecycle, probes.resolved);
  if (probes && probes.options.port !== undefined) {
    const probeOptions = probes.options;
    const port = probes.options.port;
    app.addHook('onReady', async () => {
      const server = createProbeServer(lifecycle, probeOptions);
      await listen(server, port, probeOptions.host ?? platformHost(), 'probes');
      app.batonProbeServer = server;
    });
  }

  let fastifyClosing = false;
  app.addHook('preClose', (done) => {
    fastifyClosing = true;
    done();
  });

  // Fastify's close, as the first registered shutdown hook, so it runs last
  // (hooks run in reverse): until then Fastify is not "closing", so its
  // return503OnClosing never refuses a request during the propagation delay,
  // and the drain, not Fastify's 72 s keep-alive timeout, ends the sockets.
  lifecycle.onShutdown({
    name: 'fastify close',
    run: async () => {
      if (!fastifyClosing) await app.close();
    },
  });

  app.addHook('onClose', async () => {
    // Someone called app.close() directly: run the lifecycle to its end too,
    // so its state, probes and background checks do not outlive the app.
    // (When the lifecycle started the close, it is already shutting down and
    // waits for this hook: awaiting it here would deadlock.) Fastify is
    // closing its server anyway, so no load balancer is waited for.
    if (!lifecycle.isShuttingDown) await lifecycle.shutdown('fastify close', { skipPropagation: true });
    for (const server of [app.batonProbeServer, app.batonMetricsServer]) {
      if (server?.listening) {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      }
    }
  });
};

/**
 * The Baton plugin for Fastify 5: decorates `app.lifecycle`, attaches it to
 * `app.server`, registers the probe routes (or a separate probe server) and
 * makes `app.close()` the last step of a graceful shutdown.
 *
 * @example
 * const app = Fastify();
 * await app.register(batonPlugin, { lifecycle: { release: process.env.RELEASE } });
 * app.lifecycle.checks.add({ name: 'db', check: () => pool.ping() });
 * await serveFastify(app, { port: 3000 });
 */
export const batonPlugin = fp(plugin, { fastify: '5.x', name: '@baton/fastify' });

function resolveLifecycle(app: FastifyInstance, option: BatonPluginOptions['lifecycle']): Lifecycle {
  // A brand check: the lifecycle may come from another copy of @baton/lifecycle.
  if (isLifecycle(option)) return option;
  if (option !== undefined && (option === null || typeof option !== 'object')) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', '@baton/fastify: `lifecycle` must be a Lifecycle (from createLifecycle) or lifecycle options.');
  }
  // An app without a logger leaves the lifecycle without one: silent as a library, JSON lines under serveFastify().
  if (option?.logger !== undefined || !hasFastifyLogger(app.log)) return createLifecycle(option);
  return createLifecycle({ logger: fromFastifyLogger(app.log), ...option });
}

function probePaths(routes: ReadonlyMap<string, string>): Record<string, string> {
  const paths: Record<string, string> = {};
  for (const [path, kind] of routes) paths[kind] = path;
  return paths;
}

function resolveProbes(option: BatonPluginOptions['probes']) {
  if (option === false) return undefined;
  if (option !== undefined && (option === null || typeof option !== 'object')) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', '@baton/fastify: `probes` must be probe options or false.');
  }
  const options = option ?? {};
  const resolved = resolveProbeRoutes(options);
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `@baton/fastify: \`probes.port\` must be an integer from 0 to 65535; got ${JSON.stringify(options.port)}.`);
  }
  if (options.host !== undefined && typeof options.host !== 'string') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', '@baton/fastify: `probes.host` must be a string.');
  }
  return { options, resolved };
}

function resolveMetrics(options: BatonPluginOptions): { metrics: Metrics; endpoint: MetricsEndpointServerOptions | undefined } | undefined {
  const { metrics, metricsEndpoint } = options;
  if (metrics === undefined) {
    if (metricsEndpoint !== undefined && metricsEndpoint !== false) {
      throw new BatonError('BATON_ERR_INVALID_OPTION', '@baton/fastify: `metricsEndpoint` needs `metrics` (createMetrics() from @baton/metrics).');
    }
    return undefined;
  }
  if (metrics === null || typeof metrics !== 'object' || typeof (metrics as Partial<Metrics>).requestStarted !== 'function') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', '@baton/fastify: `metrics` must come from createMetrics() of @baton/metrics.');
  }
  return { metrics, endpoint: metricsEndpoint === false ? undefined : (metricsEndpoint ?? {}) };
}

async function resolveToggles(options: BatonPluginOptions): Promise<{ toggles: Toggles<ToggleDefinitions>; scopeOf: (request: FastifyRequest) => RequestToggles } | undefined> {
  const { toggles, togglesContext } = options;
  if (toggles === undefined) {
    if (togglesContext !== undefined) {
      throw new BatonError('BATON_ERR_INVALID_OPTION', '@baton/fastify: `togglesContext` needs `toggles` (createToggles() from @baton/toggles).');
    }
    return undefined;
  }
  const candidate = toggles as unknown as Partial<Toggles<ToggleDefinitions>> | null;
  if (candidate === null || typeof candidate !== 'object' || typeof candidate.bindLifecycle !== 'function' || typeof candidate.context !== 'function' || typeof candidate.requestScopes !== 'function') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', '@baton/fastify: `toggles` must come from createToggles() of @baton/toggles.');
  }
  if (togglesContext !== undefined && (togglesContext === null || typeof togglesContext !== 'object')) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', '@baton/fastify: `togglesContext` must be an object: { userId?, sessionId?, remoteAddress?, properties?, overrides? }.');
  }
  // The type of `toggles` is the user's registered one; at run time it is a Toggles over some registry.
  const bound = toggles as unknown as Toggles<ToggleDefinitions>;
  return { toggles: bound, scopeOf: requestScopes(bound, togglesContext) };
}

function listen(server: Server, port: number, host: string | undefined, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(new BatonError('BATON_ERR_LISTEN_FAILED', `Could not listen for ${what} on ${host ?? '*'}:${port}: ${error.message}`, { cause: error }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

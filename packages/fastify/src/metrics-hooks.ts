import type { Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Metrics, MetricsEndpointServerOptions } from '@baton/metrics';
import { reportShadowRoute } from './shadow-hooks.js';

/**
 * Records every app request into `metrics` with Fastify's route template
 * (`request.routeOptions.url`, prefixes included; none for 404s), and serves
 * the metrics endpoint as a route of the app unless it has a port of its own
 * (then the metrics-only server is returned for the plugin to open on ready).
 *
 * One `onRequest` hook starts the clock and notes the route (and adds the
 * `Baton-Route` header to requests a shadow step marked); the raw
 * response's `close` records the request, after any error handler ran (a
 * throwing handler counts as its 500), and also when the client hung up
 * before the response was complete (status 499), which `onResponse` never
 * sees. (Measured: `onResponse` plus `onRequestAbort` cost more per request.)
 */
export function registerMetrics(app: FastifyInstance, metrics: Metrics, endpoint: MetricsEndpointServerOptions | undefined): Server | undefined {
  const answer = endpoint === undefined ? undefined : metrics.endpoint(endpoint);
  app.addHook('onRequest', (request, reply, done) => {
    // routeOptions builds a new object on every read: read it once.
    const route = request.routeOptions;
    // Probes and scrapes are not app traffic: a 503 readiness answer while draining is not an error.
    if (route.config.batonProbe !== true && route.config.batonMetrics !== true) {
      metrics.track(request.raw, reply.raw, route.url);
      // Here rather than in a hook of its own: a second hook would cost every request more than this check.
      reportShadowRoute(request, reply);
    }
    done();
  });

  if (answer === undefined) return undefined;
  if (endpoint?.port !== undefined) return metrics.endpointServer(endpoint);
  app.route({
    method: 'GET',
    url: endpoint?.path ?? '/metrics',
    exposeHeadRoute: true,
    logLevel: 'warn',
    // Lets an app-wide auth hook let scrapes through (the endpoint has its own bearer token).
    config: { batonMetrics: true },
    handler: (request, reply) => {
      // The core handler answers exactly as on a bare server (token, 405, 500 text).
      reply.hijack();
      answer(request.raw, reply.raw);
    },
  });
  return undefined;
}

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Metrics, MetricsEndpointServerOptions } from '@baton/metrics';

const STARTED_AT = Symbol('baton.startedAt');
const ROUTE = Symbol('baton.route');

interface TimedRequest extends IncomingMessage {
  [STARTED_AT]?: number;
  [ROUTE]?: string | undefined;
}

/**
 * Records every app request into `metrics` with Fastify's route template
 * (`request.routeOptions.url`, prefixes included; none for 404s), and serves
 * the metrics endpoint as a route of the app unless it has a port of its own
 * (then the metrics-only server is returned for the plugin to open on ready).
 *
 * One `onRequest` hook starts the clock and notes the route; the raw
 * response's `close` records the request, after any error handler ran (a
 * throwing handler counts as its 500), and also when the client hung up
 * before the response was complete (status 499), which `onResponse` never
 * sees.
 */
export function registerMetrics(app: FastifyInstance, metrics: Metrics, endpoint: MetricsEndpointServerOptions | undefined): Server | undefined {
  const answer = endpoint === undefined ? undefined : metrics.endpoint(endpoint);
  // One listener function for every response: node calls it with the response as `this`.
  const onClose = function (this: ServerResponse): void {
    const request = this.req as TimedRequest;
    metrics.requestEnded(request[STARTED_AT] as number, request, this, request[ROUTE]);
  };
  app.addHook('onRequest', (request, reply, done) => {
    const config = request.routeOptions.config;
    // Probes and scrapes are not app traffic: a 503 readiness answer while draining is not an error.
    if (config.batonProbe !== true && config.batonMetrics !== true) {
      const raw = request.raw as TimedRequest;
      raw[STARTED_AT] = metrics.requestStarted();
      raw[ROUTE] = request.routeOptions.url;
      reply.raw.once('close', onClose);
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

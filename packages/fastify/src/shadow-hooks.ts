import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { COMPARE_HEADER, ROUTE_HEADER, SHADOW_HEADER } from '@baton/lifecycle';

/**
 * Decorates `request.shadow` with a getter: true when the request carries
 * `Baton-Shadow: 1`, read from the header on each read. A request that never
 * reads it pays nothing (a value decoration would be one more store in every
 * request's constructor, and would read `false` in the hooks that run before
 * the one that set it).
 */
export function decorateShadow(app: FastifyInstance): void {
  app.decorateRequest('shadow', {
    getter(this: FastifyRequest) {
      // The client's (the router's) headers, not ones a hook put in place.
      return this.raw.headers[SHADOW_HEADER] === '1';
    },
    // A hook or a test may force it; the value then stays for the request.
    setter(this: FastifyRequest, value: boolean) {
      Object.defineProperty(this, 'shadow', { configurable: true, enumerable: true, writable: true, value });
    },
  });
}

/**
 * Adds `Baton-Route: GET /orders/:id` to the answer of a request a shadow
 * step marked (`Baton-Shadow: 1` or `Baton-Compare: 1`), with the route
 * template metrics are labelled with (`routeOptions.url`: Fastify routed the
 * request before any hook ran, prefixes included). An unmarked request
 * costs two header lookups. A request no route matched (the 404 handler) and
 * Baton's own probe and metrics routes get no header.
 *
 * Called by the metrics `onRequest` hook when the plugin has `metrics` (so
 * the header is on every answer of the route: a hook's, a validation
 * error's, the error handler's), else by {@link reportShadowRoutes}' handler
 * wrappers.
 */
export function reportShadowRoute(request: FastifyRequest, reply: FastifyReply): void {
  const headers = request.raw.headers;
  if (headers[SHADOW_HEADER] !== '1' && headers[COMPARE_HEADER] !== '1') return;
  // routeOptions builds a new object on every read: only marked requests read it.
  const route = request.routeOptions;
  if (route.url === undefined || route.config.batonProbe === true || route.config.batonMetrics === true) return;
  void reply.header(ROUTE_HEADER, `${request.method} ${route.url}`);
}

/**
 * Reports the route of marked requests on an app without metrics, where
 * Baton has no `onRequest` hook to do it in: each route's handler (those
 * declared after the plugin; probe and metrics routes left out) is wrapped
 * as it is declared. An app-wide hook would cover the answers hooks give
 * before the handler too, but Fastify's hook runner costs every request far
 * more than two header lookups (see versioning-hooks.ts); a wrapper costs one
 * call. The header is set before the handler runs, so a handler that throws
 * answers with it through the error handler.
 */
export function reportShadowRoutes(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const config = route.config as { batonProbe?: boolean; batonMetrics?: boolean } | undefined;
    if (config?.batonProbe === true || config?.batonMetrics === true) return;
    const handler = route.handler as RouteHandlerMethod;
    route.handler = function reportingHandler(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
      reportShadowRoute(request, reply);
      return handler.call(this, request, reply);
    } as typeof route.handler;
  });
}

// How each metrics variant is wired, in one place: the separate-process
// servers (`express-baton-metrics.ts`, `express-prom-bundle.ts`,
// `fastify-baton-metrics.ts`, `fastify-metrics.ts`) and the twins in one
// process (`paired.ts`) use the same setup. Every variant gets a prom-client
// Registry of its own, so several live side by side in one process, and none
// collects prom-client's default process metrics (timers and GC observers
// that would cost every twin of a process alike and are no per-request cost).
import type { Express, Request } from 'express';
import promBundle from 'express-prom-bundle';
import type { FastifyInstance } from 'fastify';
import fastifyMetrics from 'fastify-metrics';
import { Registry } from 'prom-client';
import { createMetrics, type Metrics } from '@baton/metrics';

/** Baton's recorder as its README sets it up (its own Registry, no process metrics by default). */
export function createBatonMetrics(): Metrics {
  return createMetrics({ release: 'v1' });
}

/**
 * express-prom-bundle with its default histogram (`http_request_duration_seconds`,
 * its default buckets) labelled by method, path and status, on a Registry of
 * its own, serving `/metrics` on the app (its default). Its `path` label is
 * by default the raw URL with id-looking segments replaced (`/orders/#val`);
 * its `normalizePath` option takes a function, given here the Express route
 * template, as its README's "return express route definition" example does.
 */
export function mountPromBundle(app: Express): void {
  app.use(
    promBundle({
      includeMethod: true,
      includePath: true,
      includeStatusCode: true,
      promRegistry: new Registry(),
      normalizePath: expressRouteTemplate,
    }),
  );
}

/** `/orders/:id` for a request that matched a route (mount path included); `(unmatched)` for the rest. */
function expressRouteTemplate(request: Request): string {
  const route = request.route as { path?: unknown } | undefined;
  return route ? `${request.baseUrl}${String(route.path)}` : '(unmatched)';
}

/**
 * fastify-metrics with its route metrics as they come (a histogram and a
 * summary per route, labelled method / route / status_code, the route being
 * Fastify's route template by default), both on a Registry of its own through
 * its `registers` overrides, `/metrics` on the app (its default). Its
 * `defaultMetrics` (prom-client's process metrics, on by default) are off, as
 * they are in Baton's recorder.
 */
export async function registerFastifyMetrics(app: FastifyInstance): Promise<void> {
  const registry = new Registry();
  // A CommonJS module whose plugin is its `default` export: from ESM, that is a property of the module.
  await app.register(fastifyMetrics.default, {
    endpoint: '/metrics',
    defaultMetrics: { enabled: false },
    routeMetrics: { overrides: { histogram: { registers: [registry] }, summary: { registers: [registry] } } },
  });
}

import type { FastifyInstance } from 'fastify';
import {
  PROBE_HEADERS,
  safeDetails,
  splitUrl,
  wantsVerbose,
  type Lifecycle,
  type ResolvedProbeRoutes,
} from '@baton/lifecycle';

/**
 * Registers the probes as ordinary Fastify routes (GET, plus HEAD), each
 * answering from `lifecycle.probe()` exactly as the core's node:http handler
 * does: same status codes, same `application/health+json` body, same headers.
 */
export function registerProbeRoutes(app: FastifyInstance, lifecycle: Lifecycle, resolved: ResolvedProbeRoutes): void {
  for (const [url, kind] of resolved.routes) {
    app.route({
      method: 'GET',
      url,
      // HEAD even when the app turned exposeHeadRoutes off: load balancers use it.
      exposeHeadRoute: true,
      // Probes arrive every few seconds from every balancer; only problems are worth a log line.
      logLevel: 'warn',
      // Lets an app-wide auth or rate-limit hook (which Fastify applies to every route) let probes through.
      config: { batonProbe: true },
      handler: async (request, reply) => {
        const report = await lifecycle.probe(kind, {
          verbose: wantsVerbose(splitUrl(request.url).search),
          details: safeDetails(resolved, request.raw),
          request: request.raw,
        });
        // A Buffer is sent untouched: an object would become application/json, and a
        // string would get "; charset=utf-8" appended, unlike the core's answers.
        return reply.code(report.statusCode).headers(PROBE_HEADERS).send(Buffer.from(JSON.stringify(report.body)));
      },
    });
  }
}

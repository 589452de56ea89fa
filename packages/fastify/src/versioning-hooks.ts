import type { FastifyInstance } from 'fastify';
// Types only: @baton/versioning is an optional peer, and the core's problems come from the versioning object.
import type { Versioning } from '@baton/versioning';

const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * Serves an API's versions on a Fastify app with three hooks over the
 * framework-free core:
 *
 * - `onRequest` decides the version (or answers its 400 / 406 / 410
 *   problem) and sets the response headers (resolved version, `Vary`,
 *   deprecation);
 * - `preValidation`, once the body is parsed and the route known, answers 404
 *   for a route the version does not have and brings an old client's body up
 *   to the newest shape;
 * - `preSerialization` brings the handler's (newest) payload down to the
 *   client's version, error bodies included.
 *
 * Requests on the latest version do no transform work. Probe and metrics
 * routes are left alone.
 */
export function registerVersioning(app: FastifyInstance, versioning: Versioning<string>): void {
  const latest = versioning.versions.latest;
  const { chain } = versioning;
  app.decorateRequest('apiVersion', '');

  app.addHook('onRequest', (request, reply, done) => {
    const config = request.routeOptions.config as { batonProbe?: boolean; batonMetrics?: boolean };
    if (config.batonProbe === true || config.batonMetrics === true) return done();
    const decision = versioning.decide(request.raw);
    for (const [name, value] of decision.headers) void reply.header(name, value);
    if (!decision.ok) {
      void reply.code(decision.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(decision.problem));
      return;
    }
    request.apiVersion = decision.version;
    done();
  });

  app.addHook('preValidation', (request, reply, done) => {
    const version = request.apiVersion;
    const template = request.routeOptions.url;
    if (version === '' || template === undefined) return done();
    const route = routeKey(request.method, template);
    const missing = versioning.routeProblem(route, version);
    if (missing !== undefined) {
      void reply.code(404).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(missing));
      return;
    }
    if (version !== latest && request.body !== undefined) request.body = chain.upgradeRequest(route, version, request.body);
    done();
  });

  app.addHook('preSerialization', (request, reply, payload, done) => {
    const version = request.apiVersion;
    const template = request.routeOptions.url;
    if (version === '' || version === latest || template === undefined) return done(null, payload);
    try {
      done(null, chain.downgradeResponse(routeKey(request.method, template), version, reply.statusCode, payload));
    } catch (error) {
      // A transform that throws is a bug in a version change: a 500 through the app's error handler.
      done(error as Error);
    }
  });
}

/** The chain's key of a route: a HEAD request is its GET route's (same headers, so the same body length). */
function routeKey(method: string, template: string): string {
  return `${method === 'HEAD' ? 'GET' : method} ${template}`;
}

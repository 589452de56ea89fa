import type { FastifyInstance, onRequestHookHandler, preSerializationHookHandler, preValidationHookHandler } from 'fastify';
// Types only: @baton/versioning is an optional peer, and the core's problems come from the versioning object.
import type { Versioning } from '@baton/versioning';

const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * Serves an API's versions on a Fastify app with up to three route hooks
 * over the framework-free core, added to each route as it is declared (so
 * the route's key is known once, not looked up per request):
 *
 * - `onRequest` (every route) decides the version (or answers its 400 / 406 / 410
 *   problem) and sets the response headers (resolved version, `Vary`,
 *   deprecation);
 * - `preValidation` (routes a change touches or adds or removes), once the body is parsed and the route known, answers 404
 *   for a route the version does not have and brings an old client's body up
 *   to the newest shape;
 * - `preSerialization` (routes a change touches) brings the handler's (newest) payload down to the
 *   client's version, error bodies included.
 *
 * Requests on the latest version do no transform work. Probe and metrics
 * routes are left alone, and so are requests no route matched (a plain 404
 * whatever version they name). Routes declared before the plugin is
 * registered are not versioned.
 */
export function registerVersioning(app: FastifyInstance, versioning: Versioning<string>): void {
  const latest = versioning.versions.latest;
  const oldest = versioning.versions.oldest;
  const { chain } = versioning;
  app.decorateRequest('apiVersion', '');

  const negotiate: onRequestHookHandler = (request, reply, done) => {
    const decision = versioning.decide(request.raw);
    for (const [name, value] of decision.headers) void reply.header(name, value);
    if (!decision.ok) {
      void reply.code(decision.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(decision.problem));
      return;
    }
    request.apiVersion = decision.version;
    done();
  };

  // Each route gets the hooks it needs, knowing its own key: nothing is looked up per request, a route
  // no change touches pays for the negotiation only, and probe and metrics routes get none.
  app.addHook('onRoute', (route) => {
    const config = route.config as { batonProbe?: boolean; batonMetrics?: boolean } | undefined;
    if (config?.batonProbe === true || config?.batonMetrics === true) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const keys = new Map(methods.map((method) => [method, routeKey(method, route.url)]));
    const keyOf = (method: string): string => keys.get(method) ?? routeKey(method, route.url);
    const transformed = [...keys.values()].some((key) => chain.touches(key, oldest));
    const versioned = [...keys.values()].some((key) => versioning.versions.list.some((version) => versioning.routeProblem(key, version) !== undefined));
    route.onRequest = [...hookList(route.onRequest), negotiate];
    if (transformed || versioned) {
      const prepare: preValidationHookHandler = (request, reply, done) => {
        const version = request.apiVersion;
        const key = keyOf(request.method);
        const missing = versioned ? versioning.routeProblem(key, version) : undefined;
        if (missing !== undefined) {
          void reply.code(404).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(missing));
          return;
        }
        if (version !== latest && request.body !== undefined) request.body = chain.upgradeRequest(key, version, request.body);
        done();
      };
      route.preValidation = [...hookList(route.preValidation), prepare];
    }
    if (transformed) {
      const downgrade: preSerializationHookHandler<unknown> = (request, reply, payload, done) => {
        const version = request.apiVersion;
        if (version === latest) return done(null, payload);
        try {
          done(null, chain.downgradeResponse(keyOf(request.method), version, reply.statusCode, payload));
        } catch (error) {
          // A transform that throws is a bug in a version change: a 500 through the app's error handler.
          done(error as Error);
        }
      };
      route.preSerialization = [...hookList(route.preSerialization), downgrade] as NonNullable<typeof route.preSerialization>;
    }
  });
}

/** A route's own hooks of one kind as a list (Fastify takes one function or an array). */
function hookList<T>(hooks: T | T[] | undefined): T[] {
  if (hooks === undefined) return [];
  return Array.isArray(hooks) ? hooks : [hooks];
}

/** The chain's key of a route: a HEAD request is its GET route's (same headers, so the same body length). */
function routeKey(method: string, template: string): string {
  return `${method === 'HEAD' ? 'GET' : method} ${template}`;
}

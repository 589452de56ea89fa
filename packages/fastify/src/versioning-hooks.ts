import type { FastifyInstance, FastifyReply, onRequestHookHandler, preValidationHookHandler } from 'fastify';
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
 * - for an old client on a route a change touches, a reply serializer brings
 *   the handler's (newest) payload down to the client's version, error bodies
 *   included, after the route's response schema (if any) filtered it.
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

  // Each route gets what it needs, knowing its own key: nothing is looked up per request, and probe
  // and metrics routes get nothing. Fastify's preValidation / preSerialization hooks are avoided where
  // they can be (measured with callgrind: two no-op ones cost ~20% of a bare request's instructions).
  app.addHook('onRoute', (route) => {
    const config = route.config as { batonProbe?: boolean; batonMetrics?: boolean } | undefined;
    if (config?.batonProbe === true || config?.batonMetrics === true) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const keys = new Map(methods.map((method) => [method, routeKey(method, route.url)]));
    const keyOf = (method: string): string => keys.get(method) ?? routeKey(method, route.url);
    const transformed = [...keys.values()].some((key) => chain.touches(key, oldest));
    const versioned = [...keys.values()].some((key) => versioning.versions.list.some((version) => versioning.routeProblem(key, version) !== undefined));
    // Only methods that carry a body have one to upgrade.
    const upgraded = [...keys.entries()].some(([method, key]) => method !== 'GET' && method !== 'HEAD' && chain.changes.some((change) => change.request !== undefined && (change.routes.includes('*') || change.routes.includes(key))));

    const negotiate: onRequestHookHandler = (request, reply, done) => {
      const decision = versioning.decide(request.raw);
      for (const [name, value] of decision.headers) void reply.header(name, value);
      if (!decision.ok) {
        void reply.code(decision.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(decision.problem));
        return;
      }
      const version = decision.version;
      request.apiVersion = version;
      // An old client's answer is serialised through its version's shape: no hook on the latest's path.
      if (transformed && version !== latest) void reply.serializer(downgradingSerializer(reply, keyOf(request.method), version));
      done();
    };
    route.onRequest = [...hookList(route.onRequest), negotiate];

    if (upgraded || versioned) {
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
  });

  /**
   * Serialises a payload for an old client: first through the route's
   * response schema for the status, if it has one (so the schema still
   * filters what leaves, in the newest shape it is written for), then down
   * the chain to the client's version as plain JSON. A transform that throws
   * is a serialisation error: a 500 through the app's error handler.
   */
  function downgradingSerializer(reply: FastifyReply, key: string, version: string): (payload: unknown) => string {
    return (payload) => {
      // Fastify hands a custom serializer strings too: they are sent as they are (already serialised, like Baton's problems).
      if (typeof payload === 'string') return payload;
      const status = reply.statusCode;
      const schema = schemaSerializer(reply, status);
      const newest: unknown = schema === undefined ? payload : JSON.parse(schema(payload));
      if (!reply.hasHeader('content-type')) void reply.header('content-type', 'application/json; charset=utf-8');
      return JSON.stringify(chain.downgradeResponse(key, version, status, newest));
    };
  }
}

/** The route's compiled response-schema serializer for `status` (exact, `4xx`-style, or `default`), if it has one. */
function schemaSerializer(reply: FastifyReply, status: number): ((payload: unknown) => string) | undefined {
  // Typed by Fastify for schema objects; a status code or its class looks up the route's own response schemas.
  const lookup = reply.getSerializationFunction as unknown as (status: string) => ((payload: unknown) => string) | undefined;
  return lookup.call(reply, String(status)) ?? lookup.call(reply, `${Math.floor(status / 100)}xx`) ?? lookup.call(reply, 'default');
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

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RequestContextOptions, RequestToggles, ToggleDefinitions, Toggles } from '@baton/toggles';

const SCOPE = Symbol('baton.toggles');

interface Scoped {
  [SCOPE]?: RequestToggles;
}

/**
 * Builds the function that gives a request its toggle scope, checking the
 * context options now (a bad extractor or an allow-list naming an unknown
 * toggle rejects the plugin's registration, never a request). Without a
 * `remoteAddress` extractor the address is Fastify's `request.ip`, which
 * follows the app's `trustProxy` setting. Everything goes through the
 * `Toggles` instance: an app without toggles needs neither @baton/toggles
 * nor unleash-client.
 */
export function requestScopes(toggles: Toggles<ToggleDefinitions>, context: RequestContextOptions<FastifyRequest> = {}): (request: FastifyRequest) => RequestToggles {
  const scopeOf = toggles.requestScopes<FastifyRequest>({
    ...context,
    remoteAddress: context.remoteAddress ?? ((request) => request.ip),
  });
  // The registered definitions are the user's claim about these toggles (declaration merging); the runtime scope is the same object.
  return (request) => scopeOf(request, request.raw) as unknown as RequestToggles;
}

/**
 * Decorates `request.toggles` with a getter: the scope is built on first
 * read and kept on the request, so a request that never reads it pays
 * nothing (no extractor runs, no header is parsed).
 */
export function decorateRequestToggles(app: FastifyInstance, scopeOf: (request: FastifyRequest) => RequestToggles): void {
  app.decorateRequest('toggles', {
    getter(this: FastifyRequest & Scoped) {
      let scope = this[SCOPE];
      if (scope === undefined) {
        scope = scopeOf(this);
        this[SCOPE] = scope;
      }
      return scope;
    },
    // A test or a hook may put a scope of its own in place.
    setter(this: FastifyRequest & Scoped, value: RequestToggles) {
      this[SCOPE] = value;
    },
  });
}

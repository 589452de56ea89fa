import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RequestContextOptions, RequestToggles, ToggleDefinitions, Toggles } from '@baton/toggles';
import { BatonError } from '@baton/lifecycle';

const SCOPE = Symbol('baton.toggles');

interface Scoped {
  [SCOPE]?: RequestToggles;
}

/**
 * Builds the function that gives a request its toggle scope, checking the
 * context options now (a bad extractor or an allow-list naming an unknown
 * toggle rejects the plugin's registration, never a request). Without a
 * `remoteAddress` extractor the address is Fastify's `request.ip`, which
 * follows the app's `trustProxy` setting.
 *
 * `@baton/toggles` is an optional peer, imported only when `toggles` is
 * given: an app without toggles needs neither it nor unleash-client.
 */
export async function requestScopes(toggles: Toggles<ToggleDefinitions>, context: RequestContextOptions<FastifyRequest> = {}): Promise<(request: FastifyRequest) => RequestToggles> {
  let loaded: typeof import('@baton/toggles');
  try {
    loaded = await import('@baton/toggles');
  } catch (error) {
    throw new BatonError(
      'BATON_ERR_INVALID_OPTION',
      `@baton/fastify: \`toggles\` needs @baton/toggles installed next to @baton/fastify (${error instanceof Error ? error.message : String(error)}).`,
      { cause: error },
    );
  }
  const scopeOf = loaded.requestScopeFactory<FastifyRequest, ToggleDefinitions>(toggles, {
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

import { createRequire } from 'node:module';
import type { Application, Request } from 'express';
import type * as TogglesModule from '@baton/toggles';
import type { RequestContextOptions, RequestToggles, ToggleDefinitions, Toggles } from '@baton/toggles';
import { BatonError } from '@baton/lifecycle';

const SCOPE = Symbol('baton.toggles');

interface Scoped {
  [SCOPE]?: RequestToggles;
}

/**
 * Builds the function that gives a request its toggle scope, checking the
 * context options now (a bad extractor or an allow-list naming an unknown
 * toggle throws here, at `baton()`, never at a request). Without a
 * `remoteAddress` extractor the address is Express's `req.ip`, which follows
 * the app's `trust proxy` setting.
 */
export function requestScopes(toggles: Toggles<ToggleDefinitions>, context: RequestContextOptions<Request> = {}): (request: Request) => RequestToggles {
  const { requestScopeFactory } = loadToggles();
  const scopeOf = requestScopeFactory<Request, ToggleDefinitions>(toggles, {
    ...context,
    remoteAddress: context.remoteAddress ?? ((request) => request.ip),
  });
  // The registered definitions are the user's claim about these toggles (declaration merging); the runtime scope is the same object.
  return (request) => scopeOf(request, request) as unknown as RequestToggles;
}

/**
 * Makes `req.toggles` an accessor on the app's request prototype (Express's
 * own extension point, `app.request`; a mounted sub-app's request prototype
 * inherits from it). The scope is built on first read and kept on the
 * request, so a request that never reads it pays nothing: no extractor runs,
 * no header is parsed, the request object keeps its shape. Not enumerable,
 * so a logger walking the request does not build it either.
 */
export function installRequestToggles(app: Application, scopeOf: (request: Request) => RequestToggles): void {
  // Express exposes the prototype of its requests as `app.request` (untyped in @types/express).
  const proto = (app as unknown as { request: object }).request;
  Object.defineProperty(proto, 'toggles', {
    configurable: true,
    enumerable: false,
    get(this: Request & Scoped) {
      let scope = this[SCOPE];
      if (scope === undefined) {
        scope = scopeOf(this);
        this[SCOPE] = scope;
      }
      return scope;
    },
    // A test or a middleware may put a scope of its own in place.
    set(this: Scoped, value: RequestToggles) {
      this[SCOPE] = value;
    },
  });
}

/**
 * `@baton/toggles` is an optional peer: loaded only when `toggles` is given,
 * so an app without toggles needs neither it nor unleash-client. Loaded
 * synchronously because `baton()` is synchronous and checks its options at
 * the call; `require()` of an ES module works from Node 20.19 (this
 * package's minimum) and returns the instance an `import` already loaded.
 */
function loadToggles(): typeof TogglesModule {
  try {
    return createRequire(import.meta.url)('@baton/toggles') as typeof TogglesModule;
  } catch (error) {
    throw new BatonError(
      'BATON_ERR_INVALID_OPTION',
      `baton: \`toggles\` needs @baton/toggles installed next to @baton/express (${error instanceof Error ? error.message : String(error)}).`,
      { cause: error },
    );
  }
}

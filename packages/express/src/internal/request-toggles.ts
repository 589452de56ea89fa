import type { Application, Request } from 'express';
import type { RequestContextOptions, RequestToggles, ToggleDefinitions, Toggles } from '@baton/toggles';

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
  const scopeOf = toggles.requestScopes<Request>({
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

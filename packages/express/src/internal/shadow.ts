import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Application, Request } from 'express';
import { COMPARE_HEADER, ROUTE_HEADER, SHADOW_HEADER } from '@baton/lifecycle';
import { captureRouteOf, routeTemplate } from './route-template.js';

const INSTALLED = Symbol('baton.shadow');
const REPORTING = Symbol('baton.shadow.route');

type RawHandle = (request: IncomingMessage, response: ServerResponse, next?: (error?: unknown) => void) => void;

/**
 * The service's side of a shadow step, at two points:
 *
 * - `req.shadow`, an accessor on the app's request prototype (Express's own
 *   extension point, inherited by mounted sub-apps): true when the request
 *   carries `Baton-Shadow: 1`, read from the header on each read, so a
 *   request that never reads it pays nothing;
 * - a request marked `Baton-Shadow: 1` or `Baton-Compare: 1` answers with
 *   `Baton-Route: <METHOD> <template>`. The app's `handle` (run before any
 *   middleware, whatever the order of `app.use` calls, and for servers the
 *   user runs too) looks the two headers up; only a marked request then gets
 *   its own route capture and a `writeHead` that adds the header, from the
 *   route matched by then (none for a 404). An unmarked request costs the two
 *   header lookups and nothing else: no capture slots, no wrapper, its
 *   objects keep their shape.
 */
export function installShadow(app: Application): void {
  const holder = app as unknown as { handle: RawHandle; request: Record<PropertyKey, unknown> };
  if (holder.request[INSTALLED] === true) return;
  holder.request[INSTALLED] = true;
  Object.defineProperty(holder.request, 'shadow', {
    configurable: true,
    // Like `toggles`: a logger walking the request does not see it.
    enumerable: false,
    get(this: IncomingMessage) {
      return this.headers[SHADOW_HEADER] === '1';
    },
    // A middleware or a test may force it; the value then stays for the request.
    set(this: object, value: boolean) {
      Object.defineProperty(this, 'shadow', { configurable: true, enumerable: false, writable: true, value });
    },
  });

  const handle = holder.handle;
  holder.handle = function shadowHandle(this: unknown, request, response, next) {
    const headers = request.headers;
    if (headers[SHADOW_HEADER] === '1' || headers[COMPARE_HEADER] === '1') reportRoute(request, response);
    return handle.call(this, request, response, next);
  };
}

/**
 * Adds `Baton-Route` to the answer of a marked request, when it is written:
 * Express knows the route only once it routed the request, and `writeHead`
 * is where every answer passes (`res.write`/`res.end` call it too). Read
 * there, the template is the one metrics record, mount path included even
 * when an error left the router (see `captureRouteTemplates`).
 */
function reportRoute(request: IncomingMessage, response: ServerResponse): void {
  const reporting = response as ServerResponse & { [REPORTING]?: true };
  // An app mounted in another app that runs Baton too: one wrapper is enough.
  if (reporting[REPORTING] === true) return;
  reporting[REPORTING] = true;
  captureRouteOf(request);
  const writeHead = response.writeHead;
  response.writeHead = function reportingWriteHead(this: ServerResponse) {
    if (!this.headersSent) {
      const template = routeTemplate(request as Request);
      if (template !== undefined) this.setHeader(ROUTE_HEADER, `${request.method ?? 'GET'} ${template}`);
    }
    return writeHead.apply(this, arguments as unknown as Parameters<typeof writeHead>);
  } as typeof writeHead;
}

import type { Application, Request } from 'express';

const ROUTE = Symbol('baton.route');
const BASE = Symbol('baton.routeBase');
const INSTALLED = Symbol('baton.routeCapture');
const ON_ROUTE = Symbol('baton.onRoute');

interface Captured {
  [ROUTE]?: { path?: unknown } | undefined;
  [BASE]?: string | undefined;
  route?: { path?: unknown };
  baseUrl?: string;
}

/**
 * Makes an app's requests remember the mount path of the router a route
 * matched in, at the moment it matched.
 *
 * Express sets `req.route` when a route matches, but restores `req.baseUrl`
 * when a router passes an error out, so reading both at the end of a failed
 * request under `app.use('/orders', router)` gives `/:id` instead of
 * `/orders/:id`. An accessor for `route` on the app's request prototype
 * (Express's own extension point: `app.request`) records `baseUrl` when the
 * route is set; reading `req.route` is unchanged.
 *
 * `onRoute`, when given, runs each time a route matched, right before its
 * handlers (versioning prepares the body there). It must not throw: Express
 * sets `req.route` outside its own error handling.
 */
export function captureRouteTemplates(app: Application, onRoute?: (request: Request) => void): void {
  // Express exposes the prototype of its requests as `app.request` (untyped in @types/express).
  const proto = (app as unknown as { request: Record<symbol, unknown> }).request;
  if (onRoute !== undefined) proto[ON_ROUTE] = onRoute;
  if (proto[INSTALLED]) return;
  proto[INSTALLED] = true;
  Object.defineProperty(proto, 'route', ROUTE_ACCESSOR);
}

/**
 * The same capture on one request only (its own `route` accessor, which
 * Express's re-prototyping keeps), for a request that needs its template on
 * an app that captures none: one marked for a shadow comparison. It runs
 * the `onRoute` hook of the app the same way, so it may sit on top of the
 * app-wide capture.
 */
export function captureRouteOf(request: object): void {
  Object.defineProperty(request, 'route', ROUTE_ACCESSOR);
}

const ROUTE_ACCESSOR: PropertyDescriptor = {
  configurable: true,
  enumerable: true,
  get(this: Captured) {
    return this[ROUTE];
  },
  set(this: Captured & Record<symbol, unknown>, value: { path?: unknown }) {
    this[ROUTE] = value;
    this[BASE] = this.baseUrl;
    const hook = this[ON_ROUTE] as ((request: Request) => void) | undefined;
    if (hook !== undefined) hook(this as unknown as Request);
  },
};

/**
 * Gives the request the two slots the `route` accessor fills, before Express
 * sees it. Express re-prototypes every request (`Object.setPrototypeOf(req,
 * app.request)`), and V8 gives an object that gains properties after that a
 * hidden class of its own: measured, adding them later cost ~5 µs a request;
 * declared first, nothing.
 */
export function prepareRouteCapture(request: object): void {
  const captured = request as Captured;
  captured[ROUTE] = undefined;
  captured[BASE] = undefined;
}

/**
 * The route template of a request (`/orders/:id`), or undefined when no route
 * matched (404s and requests answered by plain middleware): never the raw URL.
 */
export function routeTemplate(request: Request): string | undefined {
  const captured = request as unknown as Captured;
  const route = captured.route;
  if (route === undefined || route === null) return undefined;
  // A sub-app has its own request prototype, so `route` may be a plain property there.
  const base = captured[ROUTE] === route ? captured[BASE] : captured.baseUrl;
  const path = route.path;
  return (base ?? '') + (typeof path === 'string' ? path : String(path));
}

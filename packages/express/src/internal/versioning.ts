import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Application, Request, Response } from 'express';
import { match } from 'path-to-regexp';
import { BatonError, splitUrl } from '@baton/lifecycle';
// Types only: @baton/versioning is an optional peer; everything it does comes through the versioning object.
import type { ProblemDetails, Versioning } from '@baton/versioning';
import { captureRouteTemplates, prepareRouteCapture, routeTemplate } from './route-template.js';

const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const INSTALLED = Symbol('baton.versioning');
const DEFERRED = Symbol('baton.versioning.body');

type RawHandle = (request: IncomingMessage, response: ServerResponse, next?: (error?: unknown) => void) => void;

interface Versioned {
  apiVersion?: string;
  [DEFERRED]?: true;
}

/**
 * Serves an API's versions on an Express app, over the framework-free core,
 * at three points:
 *
 * - **before Express** (the app's `handle`, so the order of `app.use` calls,
 *   sub-app mounting and user-run servers do not matter): negotiates the
 *   version or answers its 400 / 406 / 410 problem, sets the response headers
 *   (resolved version, `Vary`, deprecation) and answers 404 for a route the
 *   version does not have, before any middleware or body parser runs;
 * - **when a route matched** (the `req.route` accessor): an old client's body
 *   is brought up to the newest shape on its first read, once the body parser
 *   has run, so a transform that throws reaches the app's error handlers;
 * - **in `res.json`** (and `res.send` of an object, which calls it): the
 *   handler's newest-shape body goes down to the client's version, error
 *   bodies (status ≥ 400) through the changes' error transforms.
 *
 * Requests on the latest version do no transform work. `skip` paths (the
 * probes and the metrics endpoint, when served inside the app) are left alone.
 */
export function installVersioning(app: Application, versioning: Versioning<string>, skip: ReadonlySet<string>): void {
  const holder = app as unknown as { handle: RawHandle; request: Record<symbol, unknown>; response: { json: (this: Response, body?: unknown) => Response } };
  if (holder.request[INSTALLED] === true) {
    throw new BatonError('BATON_ERR_INVALID_STATE', 'baton: this app already serves versioning; call baton() once per app.');
  }
  holder.request[INSTALLED] = true;
  const latest = versioning.versions.latest;
  const { chain } = versioning;
  const missingRoutes = missingRoutesByVersion(app, versioning);

  const handle = holder.handle;
  holder.handle = function versionedHandle(this: unknown, request, response, next) {
    const versioned = request as IncomingMessage & Versioned;
    // Already decided by an app this one is mounted in.
    if (versioned.apiVersion !== undefined || skip.has(splitUrl(request.url).path)) return handle.call(this, request, response, next);
    prepareRouteCapture(request);
    const decision = versioning.decide(request);
    for (const [name, value] of decision.headers) response.setHeader(name, value);
    if (!decision.ok) return sendProblem(request, response, decision.problem);
    const version = decision.version;
    versioned.apiVersion = version;
    const missing = missingRoutes.get(version);
    if (missing !== undefined) {
      const route = missing(request);
      if (route !== undefined) return sendProblem(request, response, versioning.routeProblem(route, version) as ProblemDetails);
    }
    return handle.call(this, request, response, next);
  };

  captureRouteTemplates(app, (request) => {
    const version = (request as Request & Versioned).apiVersion;
    if (version === undefined || version === latest || (request as Versioned)[DEFERRED] === true || !hasBody(request)) return;
    const template = routeTemplate(request);
    if (template === undefined) return;
    const route = routeKey(request.method, template);
    if (chain.touches(route, version)) deferUpgrade(request, (body) => chain.upgradeRequest(route, version, body));
  });

  const json = holder.response.json;
  holder.response.json = function versionedJson(this: Response, body?: unknown): Response {
    // Express 4's deprecated `res.json(status, body)` passes through as it is.
    if (arguments.length !== 1) return json.apply(this, arguments as unknown as [unknown]);
    const request = this.req as Request & Versioned;
    const version = request.apiVersion;
    if (version === undefined || version === latest) return json.call(this, body);
    const template = routeTemplate(request);
    if (template === undefined) return json.call(this, body);
    // A transform that throws raises BATON_ERR_VERSION_TRANSFORM in the handler: a 500 through the app's error handlers.
    return json.call(this, chain.downgradeResponse(routeKey(request.method, template), version, this.statusCode, body));
  };
}

/**
 * Makes `req.body` upgrade itself on its first read that finds a body. The
 * route matched before the handlers ran, but a route-level body parser may
 * still be to run: reading lazily covers both, and a transform that throws
 * throws in the handler, where Express catches it. Later assignments are kept
 * as they are (never upgraded twice).
 */
function deferUpgrade(request: Request, upgrade: (body: unknown) => unknown): void {
  const versioned = request as Request & Versioned;
  versioned[DEFERRED] = true;
  let body: unknown = versioned.body;
  let upgraded = false;
  Object.defineProperty(request, 'body', {
    configurable: true,
    enumerable: true,
    get() {
      if (!upgraded && body !== undefined) {
        upgraded = true;
        body = upgrade(body);
      }
      return body;
    },
    set(value: unknown) {
      body = value;
    },
  });
}

/** Whether the request carries a body (as body parsers decide it): GETs with none are never upgraded. */
function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** The chain's key of a route: a HEAD request is its GET route's (same headers, so the same body length). */
function routeKey(method: string, template: string): string {
  return `${method === 'HEAD' ? 'GET' : method} ${template}`;
}

function sendProblem(request: IncomingMessage, response: ServerResponse, problem: ProblemDetails): void {
  const body = JSON.stringify(problem);
  response.statusCode = problem.status;
  response.setHeader('Content-Type', PROBLEM_CONTENT_TYPE);
  response.setHeader('Content-Length', Buffer.byteLength(body));
  response.end(request.method === 'HEAD' ? undefined : body);
}

/**
 * For each version that lacks some routes (added by a later change, or
 * removed by an earlier one), a matcher of the request against those routes.
 * Matched before Express routes the request, with Express 5's own path
 * syntax (path-to-regexp) and the app's `case sensitive routing` and
 * `strict routing` settings, so the 404 comes before any middleware runs.
 * Versions that have every route have no entry: nothing is matched for them.
 */
function missingRoutesByVersion(app: Application, versioning: Versioning<string>): Map<string, (request: IncomingMessage) => string | undefined> {
  const versioned = new Set(versioning.chain.changes.flatMap((change) => [...(change.routesAdded ?? []), ...(change.routesRemoved ?? [])]));
  const matchers = [...versioned]
    .filter((route) => !route.startsWith('EVENT '))
    .map((route) => {
      const space = route.indexOf(' ');
      const method = route.slice(0, space);
      const template = route.slice(space + 1);
      try {
        const matches = match(template, { decode: false, sensitive: app.get('case sensitive routing') === true, trailing: app.get('strict routing') !== true });
        return { route, method, matches };
      } catch (error) {
        throw new BatonError('BATON_ERR_INVALID_OPTION', `baton: versioning route ${JSON.stringify(route)} is not an Express path: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    });
  const byVersion = new Map<string, (request: IncomingMessage) => string | undefined>();
  for (const version of versioning.versions.list) {
    const missing = matchers.filter(({ route }) => versioning.routeProblem(route, version) !== undefined);
    if (missing.length === 0) continue;
    byVersion.set(version, (request) => {
      const method = request.method === 'HEAD' ? 'GET' : request.method;
      const { path } = splitUrl(request.url);
      for (const candidate of missing) {
        if (candidate.method === method && candidate.matches(path) !== false) return candidate.route;
      }
      return undefined;
    });
  }
  return byVersion;
}

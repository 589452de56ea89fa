import type { IncomingMessage, ServerResponse } from 'node:http';
import { BatonError } from './errors.js';
import type { ReportKind } from './health-report.js';
import type { Lifecycle } from './lifecycle.js';

/** URL paths of the probes; `false` turns one off. */
export interface ProbePaths {
  liveness: string | false;
  readiness: string | false;
  startup: string | false;
  /** Readiness semantics with every check listed (for load balancers that know one path). */
  health: string | false;
}

/** Options of the probe routes, shared by every adapter. */
export interface ProbeRouteOptions {
  /** Defaults: /livez, /readyz, /startupz, /healthz. */
  paths?: Partial<ProbePaths>;
  /**
   * Whether a caller sees checks' `output` and `observedValue` (error
   * messages, hostnames...). Default false: anonymous callers see only each
   * check's status. Pass true, or a function that authorizes the request.
   */
  details?: boolean | ((request: IncomingMessage) => boolean);
}

/** Resolved probe route options. */
export interface ResolvedProbeRoutes {
  /** Enabled routes: path → report kind. */
  routes: Map<string, ReportKind>;
  details: (request: IncomingMessage) => boolean;
}

/** The media type of draft-inadarei-api-health-check. */
export const HEALTH_MEDIA_TYPE = 'application/health+json';

const DEFAULT_PATHS: ProbePaths = { liveness: '/livez', readiness: '/readyz', startup: '/startupz', health: '/healthz' };

/** Validates probe route options and resolves their defaults. */
export function resolveProbeRoutes(options: ProbeRouteOptions = {}): ResolvedProbeRoutes {
  const paths = { ...DEFAULT_PATHS, ...options.paths };
  const routes = new Map<string, ReportKind>();
  for (const kind of Object.keys(DEFAULT_PATHS) as (keyof ProbePaths)[]) {
    const path = paths[kind];
    if (path === false) continue;
    if (typeof path !== 'string' || !path.startsWith('/') || /[?#\s]/.test(path)) {
      throw new BatonError('BATON_ERR_INVALID_OPTION', `probes: \`paths.${kind}\` must be a path starting with "/" (no query, no spaces) or false; got ${JSON.stringify(path)}.`);
    }
    if (routes.has(path)) {
      throw new BatonError('BATON_ERR_INVALID_OPTION', `probes: path "${path}" is used by two probes.`);
    }
    routes.set(path, kind);
  }
  const details = options.details ?? false;
  if (typeof details !== 'boolean' && typeof details !== 'function') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'probes: `details` must be a boolean or a function of the request.');
  }
  return { routes, details: typeof details === 'function' ? details : () => details };
}

/** True when the query string asks for a verbose report (`?verbose`, `?verbose=1`; not `?verbose=0|false`). */
export function wantsVerbose(search: string): boolean {
  const value = new URLSearchParams(search).get('verbose');
  return value !== null && value !== '0' && value.toLowerCase() !== 'false';
}

/** Splits a request URL into path and query without throwing on odd input. */
export function splitUrl(url: string | undefined): { path: string; search: string } {
  const raw = url ?? '/';
  const at = raw.indexOf('?');
  return at === -1 ? { path: raw, search: '' } : { path: raw.slice(0, at), search: raw.slice(at + 1) };
}

/** Response headers of every probe answer. */
export const PROBE_HEADERS = {
  'content-type': HEALTH_MEDIA_TYPE,
  'cache-control': 'no-store',
} as const;

/**
 * A node:http handler for the probes: answers and returns true when the
 * request is for a probe path, returns false otherwise. GET and HEAD are
 * answered; other methods get 405.
 *
 * @example
 * const probes = createProbeHandler(lifecycle);
 * http.createServer((req, res) => probes(req, res) || app(req, res));
 */
export function createProbeHandler(
  lifecycle: Lifecycle,
  options: ProbeRouteOptions = {},
): (request: IncomingMessage, response: ServerResponse) => boolean {
  const resolved = resolveProbeRoutes(options);
  return (request, response) => {
    const { path, search } = splitUrl(request.url);
    const kind = resolved.routes.get(path);
    if (kind === undefined) return false;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('Method Not Allowed\n');
      return true;
    }
    void lifecycle
      .probe(kind, { verbose: wantsVerbose(search), details: safeDetails(resolved, request), request })
      .then((report) => {
        const body = JSON.stringify(report.body);
        response.writeHead(report.statusCode, { ...PROBE_HEADERS, 'content-length': Buffer.byteLength(body) });
        response.end(request.method === 'HEAD' ? undefined : body);
      })
      .catch((error: unknown) => {
        // probe() does not throw; this guards against a broken socket mid-answer.
        lifecycle.logger.error('probe answer failed', { error: String(error) });
        if (!response.headersSent) response.writeHead(503, PROBE_HEADERS).end('{"status":"fail"}');
      });
    return true;
  };
}

/** Asks the `details` option, treating a throwing authorizer as "no". */
export function safeDetails(resolved: ResolvedProbeRoutes, request: IncomingMessage): boolean {
  try {
    return resolved.details(request) === true;
  } catch {
    return false;
  }
}

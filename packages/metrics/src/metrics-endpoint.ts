import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import { BatonError, splitUrl } from '@baton/lifecycle';
import type { Metrics } from './metrics.js';

/** Options of {@link createMetricsHandler} and {@link createMetricsServer}. */
export interface MetricsEndpointOptions {
  /** Path of the endpoint. Default `/metrics`. */
  path?: string;
  /**
   * When set, a scrape must send `Authorization: Bearer <token>`; others get
   * 401. Prometheus: `authorization: { credentials: <token> }` in the scrape config.
   */
  token?: string;
}

/** Options of the adapters' `metricsEndpoint`: the endpoint, optionally on a port of its own. */
export interface MetricsEndpointServerOptions extends MetricsEndpointOptions {
  /**
   * Serve the endpoint on a server of its own on this port (0 = ephemeral)
   * instead of on the app's port. It then answers through the whole drain.
   */
  port?: number;
  /** Host of that server. Default: the app's. */
  host?: string;
}

/** A node:http handler that answers the metrics path and returns true, or returns false for any other request. */
export type MetricsHandler = (request: IncomingMessage, response: ServerResponse) => boolean;

/** Checks endpoint options and fills the defaults; throws `BATON_ERR_INVALID_OPTION` with what is accepted. */
export function resolveMetricsEndpoint(options: MetricsEndpointServerOptions = {}): { path: string; token: string | undefined } {
  if (options === null || typeof options !== 'object') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'metrics endpoint: options must be an object.');
  }
  const path = options.path ?? '/metrics';
  if (typeof path !== 'string' || !path.startsWith('/') || path.includes('?') || path.includes('#')) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `metrics endpoint: \`path\` must start with "/" and hold no query; got ${JSON.stringify(path)}.`);
  }
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token.trim() === '' || /\s/.test(options.token))) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'metrics endpoint: `token` must be a non-empty string without spaces.');
  }
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `metrics endpoint: \`port\` must be an integer from 0 to 65535; got ${JSON.stringify(options.port)}.`);
  }
  if (options.host !== undefined && typeof options.host !== 'string') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'metrics endpoint: `host` must be a string.');
  }
  return { path, token: options.token };
}

/**
 * Answers `GET|HEAD /metrics` with the registry's text exposition (405 for
 * other methods, 401 without the right bearer token, 500 with a one-line
 * reason when a collector throws) and lets every other request through.
 *
 * @example
 * const answerMetrics = createMetricsHandler(metrics, { token: process.env.METRICS_TOKEN });
 * createServer((req, res) => { if (!answerMetrics(req, res)) app(req, res); });
 */
export function createMetricsHandler(metrics: Metrics, options: MetricsEndpointServerOptions = {}): MetricsHandler {
  const { path, token } = resolveMetricsEndpoint(options);
  // Compare digests: equal lengths for timingSafeEqual, and no early exit that leaks the token's length.
  const expected = token === undefined ? undefined : digest(`Bearer ${token}`);
  return (request, response) => {
    if (splitUrl(request.url).path !== path) return false;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('Method Not Allowed\n');
      return true;
    }
    if (expected !== undefined) {
      const given = request.headers.authorization;
      if (given === undefined || !timingSafeEqual(digest(given), expected)) {
        response
          .writeHead(401, { 'www-authenticate': 'Bearer realm="metrics"', 'content-type': 'text/plain', 'cache-control': 'no-store' })
          .end(given === undefined ? 'Unauthorized: send Authorization: Bearer <token>\n' : 'Unauthorized: the bearer token is not accepted\n');
        return true;
      }
    }
    metrics.text().then(
      (text) => {
        response.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        // A collector threw: say which in one line, never a stack trace.
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
        response.end(`metrics collection failed: ${error instanceof Error ? error.message : String(error)}\n`);
      },
    );
    return true;
  };
}

/**
 * A second, metrics-only HTTP server (for a separate metrics port). It is not
 * attached to the lifecycle's drain, so scrapes keep working until the runner
 * closes it; everything else gets 404.
 */
export function createMetricsServer(metrics: Metrics, options: MetricsEndpointServerOptions = {}): Server {
  const handle = createMetricsHandler(metrics, options);
  const server = createServer((request, response) => {
    if (!handle(request, response)) response.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found\n');
  });
  // Scrapes are seconds apart; never let an idle scrape connection hold the process.
  server.keepAliveTimeout = 1000;
  return server;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

// Helpers for Baton's own tests (a private workspace package, never published).
import { request as httpRequest, type Agent, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
export { startNamed, namedUnavailable, type StartNamedOptions, type NamedRecord, type NamedKey, type RunningNamed } from './dns/named.js';

/** A whole HTTP response. */
export interface TestResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Options of {@link fetchText}. */
export interface FetchTextOptions {
  method?: string;
  /** `false` (default): a fresh connection per request. */
  agent?: Agent | false;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * One HTTP request over node:http (not fetch: tests need to choose the agent
 * and see `Connection` headers); resolves with the whole response, rejects on
 * any socket error with its `code` (ECONNRESET, ECONNREFUSED...) and the
 * method and URL in the message (a socket error's own stack names no caller).
 */
export function fetchText(url: string, options: FetchTextOptions = {}): Promise<TestResponse> {
  const method = options.method ?? 'GET';
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, agent: options.agent ?? false, headers: options.headers ?? {} }, (res) => readWholeResponse(res).then(resolve, reject));
    req.on('error', (error: NodeJS.ErrnoException) => {
      reject(Object.assign(new Error(`${method} ${url}: ${error.message}`, { cause: error }), { code: error.code }));
    });
    req.end(options.body);
  });
}

/** The status, headers and whole body (UTF-8) of a response. */
export function readWholeResponse(res: IncomingMessage): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (body += chunk));
    res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    res.on('error', reject);
  });
}

/**
 * Closes every server in `servers` at once, open keep-alive and hanging
 * connections included, and empties the list: the `afterEach` of suites that
 * start local HTTP servers.
 */
export async function closeServers(servers: Server[]): Promise<void> {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
}

/** Resolves after `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 10 ms until it is true, or rejects after `timeoutMs` naming `what`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

/**
 * The `http_requests_total` series of a metrics text as
 * `"METHOD route status" → count`, for asserting exactly what was recorded.
 */
export function requestCounts(metricsText: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of metricsText.split('\n')) {
    const match = /^http_requests_total\{(.*)\} (\S+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...(match[1] as string).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    counts[`${labels.method} ${labels.route} ${labels.status_code}`] = Number(match[2]);
  }
  return counts;
}

import { isIP } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { BatonError } from '@baton/lifecycle';
import { socketPathProblem } from '@baton/deploy/kit';
import { nginxRouterPaths, type NginxExposeSettings, type NginxLimits } from './nginx-state.js';

/** Options every nginx router function takes. */
export interface NginxRouterOptions {
  /**
   * The router's directory: both configurations, pid files, the unix socket
   * between them, the backend table, logs and temp files. Created (mode 700)
   * when missing. Keep it short: the socket path must fit in 107 bytes.
   */
  dir: string;
  /** How long a change waits for another connection's change to this router; default 30000 ms. */
  lockTimeoutMs?: number;
  /** How long a reload may take to take effect; default 15000 ms. */
  reloadTimeoutMs?: number;
}

/** Options of `startNginxRouter`. */
export interface StartNginxRouterOptions extends NginxRouterOptions {
  /**
   * The traffic port. Absent or 0: the port this directory's router had
   * before (a restart keeps its URL) when it is still free, else a free
   * one — probed, then bound by nginx without `reuseport`, so a port taken in
   * between fails that start and another is tried (nginx cannot bind port 0
   * and say which it got). An explicit port is used as is.
   */
  port?: number;
  /** The IP address to listen on; default `127.0.0.1`. */
  host?: string;
  /** The nginx executable; default `nginx` on PATH (or in /usr/sbin, /usr/local/sbin). */
  binary?: string;
  /** The instances' readiness path (recorded; nginx open source does not health-check); default `/readyz`. */
  readinessPath?: string;
  /** Where instances answer Baton's metrics: their in-flight count and whether they can be reached are read there; default `/metrics`. */
  metricsPath?: string;
  /** Client connections served at once (`worker_connections`); past it nginx stops accepting and new ones wait in the backlog. Default 2048. */
  maxConnections?: number;
  /** Time to receive a request's headers (`client_header_timeout`); default 10000 ms. */
  headersTimeoutMs?: number;
  /** Time between two reads of a request's body (`client_body_timeout`); default 30000 ms. */
  bodyTimeoutMs?: number;
  /** How long an idle client connection is kept (`keepalive_timeout`); default 30000 ms. */
  keepAliveTimeoutMs?: number;
  /** Keep the client's `X-Forwarded-Proto`/`-Host`, `Forwarded`, `X-Real-IP`...; default false: replaced or dropped. */
  trustForwarded?: boolean;
  /** What public clients may reach besides the service: by default metrics paths, and probe paths with a query, get 404. */
  expose?: { metrics?: boolean; probeDetails?: boolean; metricsPaths?: string[]; probePaths?: string[] };
  /** How long old workers may finish their requests after a reload before nginx closes them (`worker_shutdown_timeout`); default 120000 ms. */
  shutdownTimeoutMs?: number;
  /** How long nginx may take to start; default 10000 ms. */
  startTimeoutMs?: number;
}

/** Options of `stopNginxRouter`. */
export interface StopNginxRouterOptions {
  dir: string;
  /** How long requests in flight get to finish (SIGQUIT) before nginx is stopped hard; default 10000 ms, 0 stops it at once. */
  graceMs?: number;
}

export function invalid(message: string): BatonError {
  return new BatonError('BATON_ERR_INVALID_OPTION', `nginx router: ${message}`);
}

/**
 * The router directory, absolute. `forStart` also checks what nginx's
 * configuration needs of it; finding, connecting to and stopping a router
 * never refuse a path (`baton down` asks every router kind about a directory).
 */
export function resolveDir(options: { dir?: unknown } | undefined, forStart = false): string {
  if (!options || typeof options.dir !== 'string' || options.dir === '') throw invalid('`dir` (a directory path) is required.');
  const dir = resolvePath(options.dir);
  if (!forStart) return dir;
  const socket = nginxRouterPaths(dir).balancerSocket;
  const problem = socketPathProblem(socket, 'socket', 'dir');
  if (problem !== undefined) throw invalid(problem);
  // nginx reads paths in its configuration up to a space, ';' or a quote.
  if (/[\s;'"{}#$\\]/.test(dir)) throw invalid(`\`dir\` must not hold spaces, quotes, ";", "{", "}", "#", "$" or "\\" (nginx's configuration names it unquoted); got ${JSON.stringify(dir)}.`);
  return dir;
}

export function integer(key: string, value: unknown, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`\`${key}\` must be an integer ${min}-${max === Number.MAX_SAFE_INTEGER ? '...' : max}; got ${JSON.stringify(value)}.`);
  }
  return value;
}

const SAFE_PATH = /^\/[A-Za-z0-9\-._~!&()*+,=:@%/]*$/;

function path(key: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !SAFE_PATH.test(value)) throw invalid(`\`${key}\` must be a path starting with "/" without a query, spaces, quotes, ";", "#", "$" or "\\"; got ${JSON.stringify(value)}.`);
  return value;
}

function flag(key: string, value: unknown): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw invalid(`\`${key}\` must be true or false; got ${JSON.stringify(value)}.`);
  return value ?? false;
}

function resolveExpose(input: StartNginxRouterOptions['expose']): NginxExposeSettings {
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input))) {
    throw invalid(`\`expose\` must be an object { metrics?, probeDetails?, metricsPaths?, probePaths? }; got ${JSON.stringify(input)}.`);
  }
  const paths = (key: 'metricsPaths' | 'probePaths', fallback: string[]): string[] => {
    const value = input?.[key];
    if (value === undefined) return fallback;
    if (!Array.isArray(value) || value.length === 0 || !value.every((entry) => typeof entry === 'string' && SAFE_PATH.test(entry))) {
      throw invalid(`\`expose.${key}\` must be a non-empty array of paths starting with "/" without a query, spaces, quotes, ";", "#", "$" or "\\"; got ${JSON.stringify(value)}.`);
    }
    return [...value];
  };
  return {
    metrics: flag('expose.metrics', input?.metrics),
    probeDetails: flag('expose.probeDetails', input?.probeDetails),
    metricsPaths: paths('metricsPaths', ['/metrics']),
    probePaths: paths('probePaths', ['/livez', '/readyz', '/startupz', '/healthz']),
  };
}

/** Every start option checked and defaulted in one place; a bad one throws BATON_ERR_INVALID_OPTION before anything starts. */
export interface ResolvedStart {
  dir: string;
  host: string;
  port: number | undefined;
  binary: string | undefined;
  readinessPath: string;
  metricsPath: string;
  limits: NginxLimits;
  trustForwarded: boolean;
  expose: NginxExposeSettings;
  shutdownTimeoutMs: number;
  startTimeoutMs: number;
}

export function resolveStartOptions(options: StartNginxRouterOptions): ResolvedStart {
  const dir = resolveDir(options, true);
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || isIP(host) === 0) throw invalid(`\`host\` must be an IP address to listen on (127.0.0.1, 0.0.0.0, ::1); got ${JSON.stringify(host)}.`);
  if (options.binary !== undefined && (typeof options.binary !== 'string' || options.binary === '')) throw invalid('`binary` must be the path of the nginx executable.');
  return {
    dir,
    host,
    port: options.port === undefined || options.port === 0 ? undefined : integer('port', options.port, 0, 1, 65535),
    binary: options.binary,
    readinessPath: path('readinessPath', options.readinessPath, '/readyz'),
    metricsPath: path('metricsPath', options.metricsPath, '/metrics'),
    limits: {
      maxConnections: integer('maxConnections', options.maxConnections, 2048, 1, 1_000_000),
      headersTimeoutMs: integer('headersTimeoutMs', options.headersTimeoutMs, 10_000),
      bodyTimeoutMs: integer('bodyTimeoutMs', options.bodyTimeoutMs, 30_000),
      keepAliveTimeoutMs: integer('keepAliveTimeoutMs', options.keepAliveTimeoutMs, 30_000),
    },
    trustForwarded: flag('trustForwarded', options.trustForwarded),
    expose: resolveExpose(options.expose),
    shutdownTimeoutMs: integer('shutdownTimeoutMs', options.shutdownTimeoutMs, 120_000),
    startTimeoutMs: integer('startTimeoutMs', options.startTimeoutMs, 10_000),
  };
}

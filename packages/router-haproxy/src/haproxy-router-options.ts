/**
 * The HAProxy router's options, checked and defaulted in one place: a bad one throws
 * BATON_ERR_INVALID_OPTION before anything starts.
 */
import { isIP } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { socketPathProblem } from '@baton/deploy/kit';
import { invalid } from './internal/haproxy-errors.js';
import {
  haproxyRouterPaths,
  type HaproxyCheckSettings,
  type HaproxyExposeSettings,
  type HaproxyRouterRecord,
  type HaproxyTimeoutSettings,
} from './internal/haproxy-state.js';

/** Options every HAProxy router function takes. */
export interface HaproxyRouterOptions {
  /**
   * The router's directory: generated config, pid file, admin socket, backend
   * table, log. Created (mode 700) when missing. Keep it short: the socket path
   * must fit in 107 bytes.
   */
  stateDir: string;
  /** How long one Runtime API call may take; default 5000 ms. */
  commandTimeoutMs?: number;
}

/** Options of {@link startHaproxyRouter}. */
export interface StartHaproxyRouterOptions extends HaproxyRouterOptions {
  /**
   * The frontend port. Absent or 0: the port this state directory's router
   * had before (so a restarted router keeps its URL) when it is still free,
   * else a free port — probed, then bound by HAProxy with `noreuseport`, so a
   * port taken in between fails that start loudly and another is tried
   * (HAProxy 2.6 cannot bind port 0 and report it). An explicit port is used
   * as is: taken means BATON_ERR_ROUTER.
   */
  port?: number;
  /** The frontend's IP address; default `127.0.0.1`. */
  host?: string;
  /** Path of the instances' readiness probe, checked by HAProxy; default `/readyz`. */
  readinessPath?: string;
  /** Server slots, the most backends the router holds at once (old and new releases together); default 16. */
  slots?: number;
  /** The haproxy executable; default `haproxy` on PATH (or in /usr/sbin, /usr/local/sbin). */
  binary?: string;
  /** Health checks on the readiness path; default every 1000 ms, DOWN after 3 failures, UP after 1 pass, 3000 ms timeout. */
  healthCheck?: Partial<HaproxyCheckSettings>;
  /** HAProxy timeouts, in ms; defaults: connect 5000, client 30000, server 60000, httpRequest 10000, keepAlive 30000, queue 10000, hardStopAfter 120000, tunnel 3600000 (a WebSocket's silence). */
  timeouts?: Partial<HaproxyTimeoutSettings>;
  /** Connection attempts retried (on another server: `option redispatch`); default 3. */
  retries?: number;
  /** How long HAProxy may take to start listening; default 10000 ms. */
  startTimeoutMs?: number;
  /** Client connections accepted at once (`maxconn`); more wait in the kernel's backlog until one closes. Default 2048. */
  maxConnections?: number;
  /** Keep the client's `X-Forwarded-Proto`/`-Host`, `Forwarded`, `X-Real-IP`... (a TLS terminator in front sets them); default false: replaced or dropped. */
  trustForwarded?: boolean;
  /**
   * What public clients may reach besides the service: by default the
   * instances' metrics (`metricsPaths`, default `/metrics`) and probes with a
   * query (`?verbose` details; `probePaths`, default `/livez`, `/readyz`,
   * `/startupz`, `/healthz`) are answered 404 by HAProxy. The orchestrator
   * reads instances directly and needs neither.
   */
  expose?: { metrics?: boolean; probeDetails?: boolean; metricsPaths?: string[]; probePaths?: string[] };
}

/** Options of {@link reloadHaproxyRouter}. */
export interface ReloadHaproxyRouterOptions extends HaproxyRouterOptions {
  /** How long the new worker may take to answer; default 15000 ms. */
  timeoutMs?: number;
}

/** Options of {@link stopHaproxyRouter}. */
export interface StopHaproxyRouterOptions extends HaproxyRouterOptions {
  /** How long requests in flight get to finish (soft stop) before HAProxy is stopped hard; default 10000 ms, 0 stops it hard at once. */
  graceMs?: number;
}

const DEFAULT_SLOTS = 16;
const MAX_SLOTS = 1000;
// Three misses of 3 s, not two of 2 s: on a loaded host (a fleet starting, a neighbour's build) checks
// answer late for every server at once, and HAProxy marking them all DOWN turns slowness into 503s for
// everyone. A dead instance still goes DOWN within ~3 s (a refused connect fails the check at once), and
// Baton takes the instances it retires out of traffic itself, without waiting for a check.
const DEFAULT_CHECK: HaproxyCheckSettings = { intervalMs: 1000, fall: 3, rise: 1, timeoutMs: 3000 };
const DEFAULT_TIMEOUTS: HaproxyTimeoutSettings = {
  connectMs: 5000,
  clientMs: 30_000,
  serverMs: 60_000,
  httpRequestMs: 10_000,
  keepAliveMs: 30_000,
  queueMs: 10_000,
  hardStopAfterMs: 120_000,
  tunnelMs: 3_600_000,
};

export function resolveStateDir(options: HaproxyRouterOptions | undefined): string {
  if (!options || typeof options.stateDir !== 'string' || options.stateDir === '') throw invalid('`stateDir` (a directory path) is required.');
  const stateDir = resolvePath(options.stateDir);
  const socket = haproxyRouterPaths(stateDir).adminSocket;
  const problem = socketPathProblem(socket, 'admin socket', 'stateDir');
  if (problem !== undefined) throw invalid(problem);
  return stateDir;
}

export function positiveInteger(key: string, value: unknown, fallback: number, max = Number.MAX_SAFE_INTEGER, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`\`${key}\` must be an integer ${min}-${max === Number.MAX_SAFE_INTEGER ? '...' : max}; got ${JSON.stringify(value)}.`);
  }
  return value;
}

export function commandTimeout(options: HaproxyRouterOptions): number {
  return positiveInteger('commandTimeoutMs', options.commandTimeoutMs, 5000);
}

// Characters a path may hold in HAProxy's config without quoting (no spaces, quotes, '#', '$' or '\').
const CONFIG_SAFE_PATH = /^\/[A-Za-z0-9\-._~!&()*+,;=:@%/?]*$/;

export interface ResolvedStart {
  stateDir: string;
  host: string;
  port: number | undefined;
  slots: number;
  readinessPath: string;
  binary: string | undefined;
  check: HaproxyCheckSettings;
  timeouts: HaproxyTimeoutSettings;
  retries: number;
  startTimeoutMs: number;
  commandTimeoutMs: number;
  maxConnections: number;
  trustForwarded: boolean;
  expose: HaproxyExposeSettings;
}

function resolveExpose(input: StartHaproxyRouterOptions['expose']): HaproxyExposeSettings {
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input))) {
    throw invalid(`\`expose\` must be an object { metrics?, probeDetails?, metricsPaths?, probePaths? }; got ${JSON.stringify(input)}.`);
  }
  const flag = (key: 'metrics' | 'probeDetails'): boolean => {
    const value = input?.[key];
    if (value !== undefined && typeof value !== 'boolean') throw invalid(`\`expose.${key}\` must be true or false; got ${JSON.stringify(value)}.`);
    return value ?? false;
  };
  const paths = (key: 'metricsPaths' | 'probePaths', fallback: string[]): string[] => {
    const value = input?.[key];
    if (value === undefined) return fallback;
    if (!Array.isArray(value) || value.length === 0 || !value.every((path) => typeof path === 'string' && CONFIG_SAFE_PATH.test(path) && !path.includes('?'))) {
      throw invalid(`\`expose.${key}\` must be a non-empty array of paths starting with "/" without a query, spaces, quotes, "#", "$" or "\\"; got ${JSON.stringify(value)}.`);
    }
    return [...value];
  };
  return { metrics: flag('metrics'), probeDetails: flag('probeDetails'), metricsPaths: paths('metricsPaths', ['/metrics']), probePaths: paths('probePaths', ['/livez', '/readyz', '/startupz', '/healthz']) };
}

/** Every option checked and defaulted in one place; bad ones throw BATON_ERR_INVALID_OPTION before anything starts. */
export function resolveStartOptions(options: StartHaproxyRouterOptions): ResolvedStart {
  const stateDir = resolveStateDir(options);
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || isIP(host) === 0) throw invalid(`\`host\` must be an IP address to bind (127.0.0.1, 0.0.0.0, ::1); got ${JSON.stringify(host)}.`);
  const port = options.port === undefined || options.port === 0 ? undefined : positiveInteger('port', options.port, 0, 65535, 0);
  const readinessPath = options.readinessPath ?? '/readyz';
  if (typeof readinessPath !== 'string' || !CONFIG_SAFE_PATH.test(readinessPath)) {
    throw invalid(`\`readinessPath\` must be a path starting with "/" without spaces, quotes, "#", "$" or "\\"; got ${JSON.stringify(readinessPath)}.`);
  }
  if (options.binary !== undefined && (typeof options.binary !== 'string' || options.binary === '')) throw invalid('`binary` must be the path of the haproxy executable.');
  const healthCheck = options.healthCheck ?? {};
  const timeouts = options.timeouts ?? {};
  const ms = (key: keyof HaproxyTimeoutSettings): number => positiveInteger(`timeouts.${key}`, timeouts[key], DEFAULT_TIMEOUTS[key] as number);
  return {
    stateDir,
    host,
    port,
    slots: positiveInteger('slots', options.slots, DEFAULT_SLOTS, MAX_SLOTS),
    readinessPath,
    binary: options.binary,
    check: {
      intervalMs: positiveInteger('healthCheck.intervalMs', healthCheck.intervalMs, DEFAULT_CHECK.intervalMs),
      fall: positiveInteger('healthCheck.fall', healthCheck.fall, DEFAULT_CHECK.fall, 100),
      rise: positiveInteger('healthCheck.rise', healthCheck.rise, DEFAULT_CHECK.rise, 100),
      timeoutMs: positiveInteger('healthCheck.timeoutMs', healthCheck.timeoutMs, DEFAULT_CHECK.timeoutMs),
    },
    timeouts: {
      connectMs: ms('connectMs'),
      clientMs: ms('clientMs'),
      serverMs: ms('serverMs'),
      httpRequestMs: ms('httpRequestMs'),
      keepAliveMs: ms('keepAliveMs'),
      queueMs: ms('queueMs'),
      hardStopAfterMs: ms('hardStopAfterMs'),
      tunnelMs: ms('tunnelMs'),
    },
    retries: positiveInteger('retries', options.retries, 3, 100, 0),
    startTimeoutMs: positiveInteger('startTimeoutMs', options.startTimeoutMs, 10_000),
    commandTimeoutMs: commandTimeout(options),
    maxConnections: positiveInteger('maxConnections', options.maxConnections, 2048, 1_000_000),
    trustForwarded: (() => {
      if (options.trustForwarded !== undefined && typeof options.trustForwarded !== 'boolean') throw invalid(`\`trustForwarded\` must be true or false; got ${JSON.stringify(options.trustForwarded)}.`);
      return options.trustForwarded ?? false;
    })(),
    expose: resolveExpose(options.expose),
  };
}

function urlOf(host: string, port: number): string {
  // A wildcard bind is reached on the loopback.
  const reach = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${isIP(reach) === 6 ? `[${reach}]` : reach}:${port}`;
}

/** The router's record (router.json) for a start on `port`: every config is generated from it. */
export function routerRecordOf(resolved: ResolvedStart, binary: string, port: number): HaproxyRouterRecord {
  return {
    format: 'baton-haproxy-router/1',
    binary,
    host: resolved.host,
    port,
    url: urlOf(resolved.host, port),
    slots: resolved.slots,
    readinessPath: resolved.readinessPath,
    check: resolved.check,
    timeouts: resolved.timeouts,
    retries: resolved.retries,
    startedAtMs: Date.now(),
    maxConnections: resolved.maxConnections,
    trustForwarded: resolved.trustForwarded,
    expose: resolved.expose,
  };
}

/** A reload's `timeoutMs`: how long the new worker may take to answer. */
export function reloadTimeout(timeoutMs: unknown): number {
  return positiveInteger('timeoutMs', timeoutMs, 15_000);
}

/** A stop's `graceMs`: how long requests in flight get before HAProxy is stopped hard. */
export function stopGrace(options: StopHaproxyRouterOptions): number {
  const graceMs = options.graceMs ?? 10_000;
  if (typeof graceMs !== 'number' || !Number.isFinite(graceMs) || graceMs < 0) throw invalid(`\`graceMs\` must be zero or a positive number of milliseconds; got ${JSON.stringify(graceMs)}.`);
  return graceMs;
}

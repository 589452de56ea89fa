/**
 * The built-in proxy's options, checked and defaulted in one place so a bad one fails at
 * construction, before the router serves anything.
 */
import { BatonError, type Logger } from '@baton/lifecycle';
import { DEFAULT_METRICS_PATHS, DEFAULT_PROBE_PATHS, type ExposeSettings } from './internal/builtin-expose.js';
import type { PersistedBackend, PersistedSettings } from './internal/builtin-state.js';

export interface BuiltinProxyOptions {
  logger?: Logger;
  /** Keep incoming `X-Forwarded-Proto`/`-Host` (a TLS terminator in front sets them); default false. */
  trustForwarded?: boolean;
  /** Most connections the router opens to one backend; more requests queue in its pool. Default 256. */
  connectionsPerBackend?: number;
  /** Default 5000. A connect that times out sent nothing: retried on another backend. */
  connectTimeoutMs?: number;
  /** Longest wait for a backend's response headers once the request is sent; then 504. Default 300000. */
  headersTimeoutMs?: number;
  /** Longest silence between two chunks of a backend's response body. Default 300000. */
  bodyTimeoutMs?: number;
  /** How long a backend that refused a connection is skipped while others are ready (doubles per failure, up to 10 s). Default 1000. */
  ejectMs?: number;
  /** Request body bytes kept so a sent idempotent request can be sent again. Default 256 KiB. */
  replayBodyBytes?: number;
  /**
   * Request bodies up to this size are read whole before a backend
   * connection is taken, so a client slow to send its body never holds one
   * of the backend pool's connections; a larger body is read this far, then
   * streamed. 0 streams every body at once. Default 64 KiB.
   */
  requestBufferBytes?: number;
  /**
   * Requests whose body is larger than `requestBufferBytes` (so streamed to a
   * backend as the client sends it) in flight at once; more wait, unread,
   * for a turn. A slow client can hold a backend connection only while it
   * streams such a body, so this keeps the rest of every backend's pool for
   * the others. Default half of `connectionsPerBackend`.
   */
  maxStreamingBodies?: number;
  /**
   * Longest silence of a client while the router waits for its request body;
   * then 408 Request Timeout (connection closed), and the backend connection
   * the request held, if any, is let go. Default 30000.
   */
  clientBodyTimeoutMs?: number;
  /**
   * Least rate a client must send its request body at while the router
   * reads it, measured over each `clientBodyRateWindowMs` of reading; slower
   * gets 408 (connection closed) and lets go of the backend connection and
   * the streaming turn it held. The idle timeout alone lets a client that
   * sends one byte just inside it hold a turn for ever. Only the router's
   * reading time counts (a backend slow to take the body does not make the
   * client slow). 0: no minimum. Default 1024 bytes/s.
   */
  clientMinBodyBytesPerSecond?: number;
  /** The stretch of reading time the minimum body rate is measured over. Default 10000. */
  clientBodyRateWindowMs?: number;
  /**
   * What public clients may reach besides the service: the instances'
   * metrics and probe details are answered 404 by the router unless set
   * true here. Paths default to `/metrics` and `/livez`, `/readyz`,
   * `/startupz`, `/healthz`.
   */
  expose?: Partial<ExposeSettings>;
  /** Called after every change of the backend table or of the keep-alive setting, with both as they are now; the router persists them. */
  onChange?: (backends: PersistedBackend[], settings: PersistedSettings) => Promise<void>;
}

/** {@link BuiltinProxyOptions} with every default filled in. */
export interface ResolvedProxyOptions {
  trustForwarded: boolean;
  connectionsPerBackend: number;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  ejectMs: number;
  replayBodyBytes: number;
  requestBufferBytes: number;
  maxStreamingBodies: number;
  clientBodyTimeoutMs: number;
  clientMinBodyBytesPerSecond: number;
  clientBodyRateWindowMs: number;
  expose: ExposeSettings;
}

const MAX_BUFFER_BYTES = 64 * 1024 * 1024;

function optionInteger(options: BuiltinProxyOptions, key: keyof BuiltinProxyOptions, fallback: number, min: number, max: number): number {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `built-in router: \`${key}\` must be an integer ${min}-${max}; got ${JSON.stringify(value)}.`);
  }
  return value;
}

function pathList(value: unknown, key: string, fallback: readonly string[]): readonly string[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || value.length === 0 || !value.every((path) => typeof path === 'string' && path.startsWith('/') && !/[?#\s]/.test(path))) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `built-in router: \`expose.${key}\` must be a non-empty array of paths starting with "/" (no query, no spaces); got ${JSON.stringify(value)}.`);
  }
  return value as string[];
}

/** Every option checked and defaulted in one place: a bad one throws BATON_ERR_INVALID_OPTION at construction. */
export function resolveProxyOptions(options: BuiltinProxyOptions): ResolvedProxyOptions {
  const expose = options.expose ?? {};
  if (typeof expose !== 'object' || expose === null || Array.isArray(expose)) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `built-in router: \`expose\` must be an object { metrics?, probeDetails? }; got ${JSON.stringify(expose)}.`);
  }
  for (const key of ['metrics', 'probeDetails'] as const) {
    if (expose[key] !== undefined && typeof expose[key] !== 'boolean') {
      throw new BatonError('BATON_ERR_INVALID_OPTION', `built-in router: \`expose.${key}\` must be true or false; got ${JSON.stringify(expose[key])}.`);
    }
  }
  if (options.trustForwarded !== undefined && typeof options.trustForwarded !== 'boolean') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `built-in router: \`trustForwarded\` must be true or false; got ${JSON.stringify(options.trustForwarded)}.`);
  }
  const replayBodyBytes = optionInteger(options, 'replayBodyBytes', 256 * 1024, 0, MAX_BUFFER_BYTES);
  const requestBufferBytes = optionInteger(options, 'requestBufferBytes', 64 * 1024, 0, MAX_BUFFER_BYTES);
  const connectionsPerBackend = optionInteger(options, 'connectionsPerBackend', 256, 1, 65_536);
  return {
    trustForwarded: options.trustForwarded ?? false,
    connectionsPerBackend,
    maxStreamingBodies: optionInteger(options, 'maxStreamingBodies', Math.max(1, Math.floor(connectionsPerBackend / 2)), 1, 65_536),
    connectTimeoutMs: optionInteger(options, 'connectTimeoutMs', 5000, 1, 3_600_000),
    headersTimeoutMs: optionInteger(options, 'headersTimeoutMs', 300_000, 1, 3_600_000),
    bodyTimeoutMs: optionInteger(options, 'bodyTimeoutMs', 300_000, 1, 3_600_000),
    ejectMs: optionInteger(options, 'ejectMs', 1000, 0, 3_600_000),
    replayBodyBytes,
    requestBufferBytes,
    clientBodyTimeoutMs: optionInteger(options, 'clientBodyTimeoutMs', 30_000, 1, 3_600_000),
    clientMinBodyBytesPerSecond: optionInteger(options, 'clientMinBodyBytesPerSecond', 1024, 0, 1_000_000_000),
    clientBodyRateWindowMs: optionInteger(options, 'clientBodyRateWindowMs', 10_000, 100, 3_600_000),
    expose: {
      metrics: expose.metrics ?? false,
      probeDetails: expose.probeDetails ?? false,
      metricsPaths: pathList(expose.metricsPaths, 'metricsPaths', DEFAULT_METRICS_PATHS),
      probePaths: pathList(expose.probePaths, 'probePaths', DEFAULT_PROBE_PATHS),
    },
  };
}

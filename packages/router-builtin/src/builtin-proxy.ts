/**
 * The built-in router's proxy core: a backend table with smooth weighted
 * round-robin over `ready` backends, and an HTTP reverse proxy that loses no
 * request when a backend leaves. In-process and framework-free: the router's
 * process (`builtin-router-main.ts`) wraps it in a server, an admin API and
 * persistence; tests drive it directly.
 *
 * Built on undici (pinned 7.30.2 in package.json), Node's own HTTP/1.1 client,
 * one `Pool` per backend. Why undici rather than http-proxy-3 (or node:http's
 * Agent underneath it):
 *  - Retrying safely needs to know exactly how far an attempt got. undici's
 *    dispatch API says it: `onRequestStart` fires only when the request is
 *    about to be written on a connected socket, `onResponseStart` at the first
 *    response byte. So "failed before any byte was sent" and "sent, but the
 *    connection closed before any response byte" are two flags, not guesses
 *    from error strings. http-proxy-3 pipes the client's body into the
 *    upstream request at once and reports one `error` event: a retry would
 *    need a second proxy layer around it.
 *  - undici (7.30) yields to the event loop before reusing an idle pooled
 *    socket, so a FIN or RST the backend already sent is seen first and the
 *    socket is dropped instead of used: the classic keep-alive race is
 *    narrowed at the source; the retry below covers what is left (a FIN
 *    still on the wire).
 *  - It honours the backend's `Keep-Alive: timeout=N` hint (closing pooled
 *    sockets a second before the backend would), has per-request backpressure
 *    (`pause`/`resume`), raw header lists (duplicates and order kept), and is
 *    the fastest Node HTTP client (no `http.Agent`, no `ClientRequest`).
 *  - Maintained by the Node.js project, with a 7.x line still patched for
 *    Node 20 (our engines field). undici 8 needs Node >= 22.19: move when
 *    the engines do. http-proxy-3 2.x also needs Node 22.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { BatonError, silentLogger, type Logger } from '@baton/lifecycle';
import type { BackendState, BackendStatus } from '@baton/deploy';
import { pickSmoothWeighted } from './internal/builtin-balancer.js';
import { ReplayableBody } from './internal/builtin-body.js';
import { DEFAULT_METRICS_PATHS, DEFAULT_PROBE_PATHS, createExposeFilter, type ExposeSettings } from './internal/builtin-expose.js';
import { forwardRequestHeaders, forwardResponseHeaders, trailersOf } from './internal/builtin-headers.js';
import type { PersistedBackend } from './internal/builtin-state.js';

/** A command the router refused: `status` is the admin API's HTTP status, the code is always `BATON_ERR_ROUTER`. */
export class RouterCommandError extends BatonError {
  readonly status: number;

  constructor(status: number, message: string) {
    super('BATON_ERR_ROUTER', message);
    this.status = status;
  }
}

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
  /** Called after every change of the backend table, with the new table; the router persists it. */
  onChange?: (backends: PersistedBackend[]) => Promise<void>;
}

/** The `add` command's input. */
export interface BackendAddress {
  id: string;
  release: string;
  host: string;
  port: number;
}

/** One change of the `set` command. */
export interface BackendChange {
  id: string;
  state?: BackendState;
  weight?: number;
}

/** A backend as the admin API lists it: the model's status plus the router's own view of its health. */
export interface BuiltinBackendStatus extends BackendStatus {
  /** Connections refused in a row (0 after a success). */
  connectFailures: number;
  /** While in the future, the balancer skips this backend if another is ready. */
  ejectedUntilMs: number;
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

interface Backend extends BackendAddress {
  state: BackendState;
  weight: number;
  currentWeight: number;
  inFlight: number;
  requestsTotal: number;
  pool: Pool | undefined;
  connectFailures: number;
  ejectedUntilMs: number;
}

const STATES: readonly BackendState[] = ['maint', 'ready', 'drain'];
const MAX_WEIGHT = 256;
const DEFAULT_WEIGHT = 1;
const MAX_ATTEMPTS = 4;
const MAX_EJECT_MS = 10_000;

/**
 * Methods whose requests may be sent again after the backend may have seen
 * them (RFC 9110 §9.2.2: idempotent). A request of another method (POST,
 * PATCH) is sent again only when it failed before any byte left the router,
 * or when the client marked it safe with an `Idempotency-Key` header.
 */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Errors that mean "the connection closed or reset": after the request was
 * sent and before any response byte, this is the keep-alive race (the backend
 * closed an idle pooled connection as the router wrote to it) or a backend
 * that died. Timeouts are not in here: a slow backend may be working on it.
 */
const CONNECTION_DROPPED = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/** Errors of connecting: the backend is not there (or not reachable); it is skipped for a while. */
const CONNECT_FAILED = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
}

function statusOf(backend: Backend): BuiltinBackendStatus {
  return {
    id: backend.id,
    release: backend.release,
    host: backend.host,
    port: backend.port,
    state: backend.state,
    weight: backend.weight,
    inFlight: backend.inFlight,
    requestsTotal: backend.requestsTotal,
    // Passive: the built-in router learns of a dead backend when a connection to it fails.
    health: backend.connectFailures > 0 ? 'down' : backend.requestsTotal > 0 ? 'up' : 'unknown',
    connectFailures: backend.connectFailures,
    ejectedUntilMs: backend.ejectedUntilMs,
  };
}

function persisted(backend: Backend): PersistedBackend {
  return { id: backend.id, release: backend.release, host: backend.host, port: backend.port, state: backend.state, weight: backend.weight };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(message: string): RouterCommandError {
  return new RouterCommandError(400, message);
}

/** Checks an `add` command's input; throws a 400 {@link RouterCommandError} saying which field is wrong. */
export function parseBackendAddress(value: unknown): BackendAddress {
  if (!isRecord(value)) throw bad('add: give a JSON object { id, release, host, port }.');
  const { id, release, host, port } = value;
  if (typeof id !== 'string' || id === '' || id.length > 200) throw bad(`add: id must be a non-empty string of at most 200 characters, got ${JSON.stringify(id)}.`);
  if (typeof release !== 'string') throw bad(`add: release must be a string, got ${JSON.stringify(release)}.`);
  if (typeof host !== 'string' || host === '' || /[\s/]/.test(host)) throw bad(`add: host must be a host name or IP address, got ${JSON.stringify(host)}.`);
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw bad(`add: port must be an integer 1-65535, got ${JSON.stringify(port)}.`);
  return { id, release, host, port };
}

/** Checks a `set` command's input; throws a 400 {@link RouterCommandError} naming the change that is wrong. */
export function parseBackendChanges(value: unknown): BackendChange[] {
  if (!Array.isArray(value)) throw bad('set: give an array of changes [{ id, state?, weight? }].');
  return value.map((change: unknown, index) => {
    const where = `set: change ${index}`;
    if (!isRecord(change)) throw bad(`${where} must be an object { id, state?, weight? }.`);
    const { id, state, weight } = change;
    if (typeof id !== 'string' || id === '') throw bad(`${where}: id must be a non-empty string, got ${JSON.stringify(id)}.`);
    const out: BackendChange = { id };
    if (state !== undefined) {
      if (!STATES.includes(state as BackendState)) throw bad(`${where} (${id}): state must be one of ${STATES.join(', ')}, got ${JSON.stringify(state)}.`);
      out.state = state as BackendState;
    }
    if (weight !== undefined) {
      if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) {
        throw bad(`${where} (${id}): weight must be an integer 0-${MAX_WEIGHT}, got ${JSON.stringify(weight)}.`);
      }
      out.weight = weight;
    }
    return out;
  });
}

export class BuiltinProxy {
  readonly #backends = new Map<string, Backend>();
  readonly #logger: Logger;
  readonly #options: ResolvedProxyOptions;
  readonly #hidden: (target: string) => boolean;
  readonly #onChange: ((backends: PersistedBackend[]) => Promise<void>) | undefined;
  #persisting: Promise<void> = Promise.resolve();
  #closed = false;
  #inFlight = 0;
  #idleWaiters: (() => void)[] = [];
  #streaming = 0;
  #streamWaiters: (() => void)[] = [];

  constructor(options: BuiltinProxyOptions = {}) {
    this.#options = resolveProxyOptions(options);
    this.#logger = options.logger ?? silentLogger;
    this.#onChange = options.onChange;
    this.#hidden = createExposeFilter(this.#options.expose);
  }

  // ---------------------------------------------------------------- the table

  /** Puts back a persisted table (a restarted router): states and weights as they were, counts at 0. */
  restore(backends: readonly PersistedBackend[]): void {
    for (const entry of backends) {
      const address = parseBackendAddress(entry);
      const [change] = parseBackendChanges([{ id: entry.id, state: entry.state, weight: entry.weight }]);
      this.#backends.set(address.id, this.#newBackend(address, change?.state ?? 'maint', change?.weight ?? DEFAULT_WEIGHT));
    }
  }

  /**
   * Adds a backend in `maint` with weight 1. The same id with the same
   * address is a no-op (returns false); with another address it is refused
   * (409): remove the old one first.
   */
  async add(input: unknown): Promise<boolean> {
    const address = parseBackendAddress(input);
    const existing = this.#backends.get(address.id);
    if (existing) {
      if (existing.host === address.host && existing.port === address.port) return false;
      throw new RouterCommandError(
        409,
        `add: backend ${address.id} already exists at ${existing.host}:${existing.port}, not ${address.host}:${address.port}; remove it first.`,
      );
    }
    this.#backends.set(address.id, this.#newBackend(address, 'maint', DEFAULT_WEIGHT));
    this.#logger.info('backend added', { backend: address.id, release: address.release, address: `${address.host}:${address.port}` });
    await this.#changed();
    return true;
  }

  /** Applies every change or none: all are checked (ids known, states and weights valid) before any is applied. */
  async set(input: unknown): Promise<void> {
    const changes = parseBackendChanges(input);
    const unknown = changes.filter((change) => !this.#backends.has(change.id)).map((change) => change.id);
    if (unknown.length > 0) throw new RouterCommandError(404, `set: unknown backend id${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; nothing was changed.`);
    for (const change of changes) {
      const backend = this.#backends.get(change.id) as Backend;
      if (change.state !== undefined) backend.state = change.state;
      if (change.weight !== undefined) backend.weight = change.weight;
      this.#retirePoolIfIdle(backend);
    }
    // A new set of weights starts a new round: no backend carries credit from the old one.
    for (const backend of this.#backends.values()) backend.currentWeight = 0;
    if (changes.length > 0) this.#logger.info('backends set', { changes });
    await this.#changed();
  }

  /**
   * Removes a backend that is in `maint` or `drain` with nothing in flight;
   * refuses (409) otherwise, so a request is never cut by a removal. An
   * unknown id is a no-op (returns false).
   */
  async remove(id: unknown): Promise<boolean> {
    if (typeof id !== 'string' || id === '') throw bad(`remove: id must be a non-empty string, got ${JSON.stringify(id)}.`);
    const backend = this.#backends.get(id);
    if (!backend) return false;
    if (backend.state === 'ready') throw new RouterCommandError(409, `remove: backend ${id} is ready; set it to drain (or maint) first.`);
    if (backend.inFlight > 0) {
      throw new RouterCommandError(409, `remove: backend ${id} still has ${backend.inFlight} request(s) in flight; wait until its drain finishes.`);
    }
    this.#backends.delete(id);
    const pool = backend.pool;
    backend.pool = undefined;
    if (pool) void pool.destroy().catch(() => {});
    this.#logger.info('backend removed', { backend: id, requestsTotal: backend.requestsTotal });
    await this.#changed();
    return true;
  }

  /** Every backend, in the order they were added. */
  list(): BuiltinBackendStatus[] {
    return [...this.#backends.values()].map(statusOf);
  }

  /** Requests in flight on all backends. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Resolves once nothing is in flight, or after `timeoutMs`. */
  async idle(timeoutMs: number): Promise<void> {
    if (this.#inFlight === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Closes every backend pool (in-flight requests are cut); the proxy answers 503 from then on. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#backends.values()].map((backend) => backend.pool?.destroy().catch(() => {})));
    for (const backend of this.#backends.values()) backend.pool = undefined;
    await this.#persisting;
  }

  #newBackend(address: BackendAddress, state: BackendState, weight: number): Backend {
    return { ...address, state, weight, currentWeight: 0, inFlight: 0, requestsTotal: 0, pool: undefined, connectFailures: 0, ejectedUntilMs: 0 };
  }

  async #changed(): Promise<void> {
    const onChange = this.#onChange;
    if (!onChange) return;
    const snapshot = [...this.#backends.values()].map(persisted);
    // One write at a time, in order: the last one on disk is the last change.
    const write = this.#persisting.then(() => onChange(snapshot));
    this.#persisting = write.catch(() => {});
    await write;
  }

  #poolOf(backend: Backend): Pool {
    if (backend.pool) return backend.pool;
    const host = backend.host.includes(':') ? `[${backend.host}]` : backend.host;
    backend.pool = new Pool(`http://${host}:${backend.port}`, {
      connections: this.#options.connectionsPerBackend,
      pipelining: 1,
      // Pooled connections idle for 4 s are closed by the router, unless the
      // backend's `Keep-Alive: timeout=N` says sooner (then N - 1 s).
      keepAliveTimeout: 4000,
      keepAliveMaxTimeout: 60_000,
      keepAliveTimeoutThreshold: 1000,
      connectTimeout: this.#options.connectTimeoutMs,
      headersTimeout: this.#options.headersTimeoutMs,
      bodyTimeout: this.#options.bodyTimeoutMs,
      strictContentLength: true,
    });
    return backend.pool;
  }

  /**
   * A backend out of rotation with nothing in flight does not need its pooled
   * connections: closing them from the router's side means the instance never
   * closes one under a request. Set back to ready, it gets a new pool.
   */
  #retirePoolIfIdle(backend: Backend): void {
    if (backend.state === 'ready' || backend.inFlight > 0 || !backend.pool) return;
    const pool = backend.pool;
    backend.pool = undefined;
    void pool.close().catch(() => {});
  }

  /**
   * The next backend for a request: smooth weighted round-robin over the
   * `ready` backends with weight > 0, skipping `exclude` (refused this
   * request's connection) and, while another is available, `avoid` (dropped
   * this request's connection) and backends ejected after refusing
   * connections.
   */
  #pick(exclude: ReadonlySet<Backend>, avoid: ReadonlySet<Backend>): Backend | undefined {
    const now = Date.now();
    const ready = [...this.#backends.values()].filter((backend) => backend.state === 'ready' && backend.weight > 0 && !exclude.has(backend));
    const fresh = ready.filter((backend) => !avoid.has(backend));
    const pool = fresh.length > 0 ? fresh : ready;
    const healthy = pool.filter((backend) => backend.ejectedUntilMs <= now);
    return pickSmoothWeighted(healthy.length > 0 ? healthy : pool);
  }

  #started(backend: Backend): void {
    backend.inFlight++;
    backend.requestsTotal++;
    this.#inFlight++;
  }

  #finished(backend: Backend): void {
    backend.inFlight--;
    this.#inFlight--;
    this.#retirePoolIfIdle(backend);
    if (this.#inFlight === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  /** A turn to stream a body (see `maxStreamingBodies`): resolves with its release once one is free, in arrival order. */
  #streamTurn(): Promise<() => void> {
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      const next = this.#streamWaiters.shift();
      if (next) next();
      else this.#streaming--;
    };
    if (this.#streaming < this.#options.maxStreamingBodies) {
      this.#streaming++;
      return Promise.resolve(release);
    }
    // The turn passes from a releasing exchange straight to the next waiter: the count stays.
    return new Promise((resolve) => this.#streamWaiters.push(() => resolve(release)));
  }

  #connectFailed(backend: Backend, code: string): void {
    backend.connectFailures++;
    const ms = Math.min(this.#options.ejectMs * 2 ** (backend.connectFailures - 1), MAX_EJECT_MS);
    backend.ejectedUntilMs = Date.now() + ms;
    this.#logger.warn('backend refused a connection; skipped while others are ready', { backend: backend.id, code, ejectedForMs: ms });
  }

  #connectSucceeded(backend: Backend): void {
    if (backend.connectFailures === 0) return;
    backend.connectFailures = 0;
    backend.ejectedUntilMs = 0;
  }

  // ---------------------------------------------------------------- traffic

  /** The traffic server's `request` listener. */
  readonly handleRequest = (req: IncomingMessage, res: ServerResponse): void => {
    new Exchange(this.#exchangeHost(), req, res).start();
  };

  /** The traffic server's `upgrade` listener (WebSocket and other `Upgrade` requests), counted in flight while the tunnel is open. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    upgrade(this.#exchangeHost(), req, socket, head);
  };

  #exchangeHost(): ExchangeHost {
    return {
      closed: this.#closed,
      logger: this.#logger,
      options: this.#options,
      hidden: this.#hidden,
      streamTurn: () => this.#streamTurn(),
      pick: (exclude, avoid) => this.#pick(exclude, avoid),
      poolOf: (backend) => this.#poolOf(backend),
      started: (backend) => this.#started(backend),
      finished: (backend) => this.#finished(backend),
      connectFailed: (backend, code) => this.#connectFailed(backend, code),
      connectSucceeded: (backend) => this.#connectSucceeded(backend),
    };
  }
}

/** What one exchange needs from the proxy (kept narrow so the exchange cannot touch the table). */
interface ExchangeHost {
  closed: boolean;
  logger: Logger;
  options: ResolvedProxyOptions;
  /** True for a request target public clients must not reach (metrics, probe details): answered 404. */
  hidden(target: string): boolean;
  /** Waits for a turn to stream a body larger than the buffer; call the release once the exchange is over. */
  streamTurn(): Promise<() => void>;
  pick(exclude: ReadonlySet<Backend>, avoid: ReadonlySet<Backend>): Backend | undefined;
  poolOf(backend: Backend): Pool;
  started(backend: Backend): void;
  finished(backend: Backend): void;
  connectFailed(backend: Backend, code: string): void;
  connectSucceeded(backend: Backend): void;
}

function sendError(res: ServerResponse, status: number, message: string, closeConnection: boolean): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${message}\n`;
  const headers: Record<string, string | number> = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  };
  if (status === 503) headers['retry-after'] = '1';
  if (closeConnection) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

const NO_BACKEND_MESSAGE = 'Service Unavailable: no backend is ready in the Baton router (every backend is in maint or drain, or none was added).';

/** A request's path for undici: origin-form as is; absolute-form (`GET http://h/p`) reduced to its path. */
function originForm(url: string | undefined): string {
  if (url === undefined || url === '') return '/';
  if (url.startsWith('/')) return url;
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return url;
  }
}

/**
 * One client request through the router: picks a backend, streams the
 * request and the response with backpressure, and retries on another backend
 * when that is safe:
 *  - failed before any byte was sent (connect refused or timed out, pool
 *    closed): any method, since the backend saw nothing and the body was not
 *    read; the backend is skipped for a while (ejected).
 *  - sent, then the connection closed or reset before any response byte
 *    (the keep-alive race, or a backend that died): only idempotent methods
 *    (GET, HEAD, OPTIONS, TRACE, PUT, DELETE) or requests with an
 *    `Idempotency-Key`, and only when the body read so far was kept (at most
 *    `replayBodyBytes`). A POST might have been processed: answering 502 is
 *    honest, sending it twice is not.
 *  - a response byte arrived: never retried (the response is the backend's);
 *    a failure mid-body cuts the client's response so it sees the truncation.
 *  - a timeout waiting for headers: 504, not retried (the backend may still
 *    be working on it).
 * At most four attempts, each on a backend not tried yet when one is left.
 */
class Exchange {
  readonly #host: ExchangeHost;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #method: string;
  readonly #path: string;
  readonly #headers: string[];
  readonly #body: ReplayableBody | undefined;
  readonly #retryableAfterSend: boolean;
  readonly #exclude = new Set<Backend>();
  readonly #avoid = new Set<Backend>();
  #attempts = 0;
  #clientGone = false;
  #controller: Dispatcher.DispatchController | undefined;
  /** True from an attempt's dispatch until it finished: a body timeout then surfaces as that attempt's failure. */
  #attemptActive = false;
  #done = false;
  #releaseStreamTurn: (() => void) | undefined;

  constructor(host: ExchangeHost, req: IncomingMessage, res: ServerResponse) {
    this.#host = host;
    this.#req = req;
    this.#res = res;
    this.#method = req.method ?? 'GET';
    this.#path = originForm(req.url);
    this.#headers = forwardRequestHeaders(req, { trustForwarded: host.options.trustForwarded });
    this.#retryableAfterSend = IDEMPOTENT_METHODS.has(this.#method) || req.headers['idempotency-key'] !== undefined;
    const contentLength = req.headers['content-length'];
    const hasBody = req.headers['transfer-encoding'] !== undefined || (contentLength !== undefined && contentLength !== '0');
    const keepBytes = Math.max(this.#retryableAfterSend ? host.options.replayBodyBytes : 0, host.options.requestBufferBytes);
    this.#body = hasBody
      ? new ReplayableBody(req, {
          keepBytes,
          idleTimeoutMs: host.options.clientBodyTimeoutMs,
          minBytesPerSecond: host.options.clientMinBodyBytesPerSecond,
          rateWindowMs: host.options.clientBodyRateWindowMs,
          onTimeout: () => this.#bodyTimedOut(),
        })
      : undefined;
  }

  start(): void {
    this.#res.on('close', () => {
      if (this.#res.writableFinished) return;
      this.#clientGone = true;
      this.#controller?.abort(new Error('the client closed the connection'));
    });
    if (this.#host.closed) {
      this.#fail(503, 'Service Unavailable: the Baton router is shutting down.');
      return;
    }
    if (this.#req.httpVersionMajor < 1) {
      // Node's parser takes a request line without a version as HTTP/0.9; no
      // client of a service speaks it, and nothing proxied should be that lax
      // (HAProxy refuses it too).
      this.#fail(400, 'Bad Request: the request line has no HTTP version (HTTP/0.9 is not supported); send HTTP/1.0 or HTTP/1.1.', true);
      return;
    }
    if (this.#host.hidden(this.#req.url ?? '/')) {
      this.#fail(404, 'Not Found');
      return;
    }
    const body = this.#body;
    const bufferBytes = this.#host.options.requestBufferBytes;
    if (body === undefined || bufferBytes === 0) {
      this.#attempt(undefined);
      return;
    }
    // The body (up to bufferBytes) is read before any backend connection is
    // taken: a client trickling its body holds its own connection, never one
    // of the backend pool's.
    void body.prefetch(bufferBytes).then(async () => {
      if (this.#done) return;
      if (this.#clientGone || body.failed) {
        this.#complete();
        this.#res.destroy();
        return;
      }
      if (!body.ended) {
        // Larger than the buffer: streamed, so it may hold a backend connection as long as the client is slow. Only a few at once.
        const release = await this.#host.streamTurn();
        if (this.#done) {
          release();
          return;
        }
        this.#releaseStreamTurn = release;
        if (this.#clientGone || body.failed) {
          this.#complete();
          this.#res.destroy();
          return;
        }
      }
      this.#attempt(undefined);
    });
  }

  /** The client went silent mid-body for longer than `clientBodyTimeoutMs`, or sent slower than `clientMinBodyBytesPerSecond`. */
  #bodyTimedOut(): void {
    // An attempt is sending the body: undici fails it, and #attemptFailed answers.
    if (this.#attemptActive) return;
    if (this.#done) {
      // Reading the rest of a body nobody needs: nothing to answer, just let go of the connection.
      this.#req.socket.destroy();
      return;
    }
    this.#timeout();
  }

  #timeout(): void {
    const why = this.#body?.failure ?? `the client sent nothing of its request body for ${this.#host.options.clientBodyTimeoutMs} ms`;
    this.#host.logger.info('client too slow sending its request body', { method: this.#method, path: this.#path, why });
    this.#fail(408, `Request Timeout: ${why}.`);
  }

  #attempt(previous: { status: number; message: string } | undefined): void {
    const backend = this.#attempts < MAX_ATTEMPTS ? this.#host.pick(this.#exclude, this.#avoid) : undefined;
    if (!backend) {
      if (previous) this.#fail(previous.status, previous.message);
      else this.#fail(503, NO_BACKEND_MESSAGE);
      return;
    }
    this.#attempts++;
    this.#host.started(backend);
    let sent = false;
    let responded = false;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      this.#controller = undefined;
      this.#attemptActive = false;
      this.#host.finished(backend);
    };
    const res = this.#res;
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart: (controller) => {
        sent = true;
        this.#controller = controller;
        this.#host.connectSucceeded(backend);
        if (this.#clientGone) controller.abort(new Error('the client closed the connection'));
      },
      onResponseStart: (controller, statusCode, _headers, statusMessage) => {
        responded = true;
        // 1xx (100 Continue, 103 Early Hints): informational; Node already
        // answered the client's Expect itself. The final response follows.
        if (statusCode < 200) return;
        try {
          res.writeHead(statusCode, statusMessage || undefined, forwardResponseHeaders(controller.rawHeaders as Buffer[] | null));
        } catch (error) {
          // A header Node refuses to send (invalid characters): the response cannot be relayed.
          this.#host.logger.warn('backend response headers could not be relayed', { backend: backend.id, error: (error as Error).message });
          controller.abort(error as Error);
        }
      },
      onResponseData: (controller, chunk) => {
        if (!res.write(chunk)) {
          controller.pause();
          res.once('drain', () => controller.resume());
        }
      },
      onResponseEnd: (controller) => {
        finish();
        const trailers = trailersOf(controller.rawTrailers as Buffer[] | null);
        if (trailers) res.addTrailers(trailers);
        this.#complete();
        res.end();
      },
      onResponseError: (_controller, error) => {
        finish();
        this.#attemptFailed(backend, error, sent, responded);
      },
    };
    let body: Readable | null = null;
    try {
      body = this.#body ? this.#body.open() : null;
    } catch (error) {
      finish();
      this.#fail(502, `Bad Gateway: the request body could not be resent (${(error as Error).message}).`);
      return;
    }
    this.#attemptActive = true;
    this.#host.poolOf(backend).dispatch({ method: this.#method, path: this.#path, headers: this.#headers, body, blocking: true, upgrade: null }, handler);
  }

  #attemptFailed(backend: Backend, error: Error, sent: boolean, responded: boolean): void {
    const code = errorCode(error);
    if (!this.#clientGone && this.#body?.timedOut && !this.#done) {
      this.#timeout();
      return;
    }
    if (this.#clientGone || this.#body?.failed) {
      this.#complete();
      this.#res.destroy();
      return;
    }
    if (responded) {
      this.#host.logger.warn('backend failed while answering', { backend: backend.id, code, method: this.#method, path: this.#path, headersSent: this.#res.headersSent });
      this.#fail(502, `Bad Gateway: the backend failed while answering (${code}).`);
      return;
    }
    if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') {
      this.#fail(400, 'Bad Request: the request body does not match its Content-Length.');
      return;
    }
    if (code === 'UND_ERR_HEADERS_TIMEOUT') {
      this.#host.logger.warn('backend did not answer in time', { backend: backend.id, method: this.#method, path: this.#path });
      this.#fail(504, 'Gateway Timeout: the backend did not answer in time.');
      return;
    }
    const bodyReplayable = this.#body === undefined || this.#body.replayable;
    let retry: boolean;
    if (!sent) {
      if (CONNECT_FAILED.has(code)) this.#host.connectFailed(backend, code);
      this.#exclude.add(backend);
      retry = bodyReplayable;
    } else {
      this.#avoid.add(backend);
      retry = CONNECTION_DROPPED.has(code) && this.#retryableAfterSend && bodyReplayable;
    }
    const status = sent ? 502 : 503;
    const message = sent
      ? `Bad Gateway: the backend closed the connection before answering (${code}).`
      : `Service Unavailable: no backend could be reached (${code}).`;
    if (retry) {
      this.#host.logger.info('retrying on another backend', { backend: backend.id, code, sent, method: this.#method, path: this.#path, attempt: this.#attempts });
      this.#attempt({ status, message });
      return;
    }
    this.#host.logger.warn('request failed', { backend: backend.id, code, sent, method: this.#method, path: this.#path, attempts: this.#attempts });
    this.#fail(status, message);
  }

  /** The exchange is over: the rest of the client's body (if the backend answered without it) is read and dropped. */
  #complete(): void {
    if (this.#done) return;
    this.#done = true;
    this.#releaseStreamTurn?.();
    this.#body?.discard();
  }

  #fail(status: number, message: string, close = false): void {
    const bodyLeft = this.#body !== undefined && !this.#body.ended;
    this.#complete();
    // A request body not read to its end: close the connection after the answer rather than read an upload nobody wants.
    sendError(this.#res, status, message, close || bodyLeft);
  }
}

const SWITCHING_PROTOCOLS = 'HTTP/1.1 101 Switching Protocols\r\n';
const TUNNEL_HALF_OPEN_MS = 5000;
const REASONS: Record<number, string> = { 404: 'Not Found', 502: 'Bad Gateway', 503: 'Service Unavailable' };

/**
 * An `Upgrade` request (WebSocket): sent to one ready backend; on 101 the
 * two sockets are joined until either side closes. Retried like a GET when
 * the connect fails; a backend that answers without upgrading has its answer
 * relayed as is. A client that hangs up before the backend's answer aborts
 * the upstream request (and a 101 that still arrives is closed at once), so
 * the backend's in-flight count always returns to 0.
 */
function upgrade(host: ExchangeHost, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const exclude = new Set<Backend>();
  socket.on('error', () => {});
  const refuse = (status: number, message: string): void => {
    const body = `${message}\n`;
    const headers = `content-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\n${status === 503 ? 'retry-after: 1\r\n' : ''}connection: close\r\n\r\n`;
    socket.end(`HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n${headers}${body}`);
  };
  if (host.hidden(req.url ?? '/')) {
    refuse(404, 'Not Found');
    return;
  }
  const rawUpgrade = req.headers.upgrade ?? 'websocket';
  const headers = forwardRequestHeaders(req, { trustForwarded: host.options.trustForwarded });
  // The client may hang up at any time before the tunnel exists: the attempt under way is aborted.
  let clientGone = false;
  let abortAttempt: (() => void) | undefined;
  socket.once('close', () => {
    clientGone = true;
    abortAttempt?.();
  });
  const attempt = (tries: number): void => {
    if (clientGone) return;
    const backend = host.closed || tries >= MAX_ATTEMPTS ? undefined : host.pick(exclude, new Set());
    if (!backend) {
      refuse(503, NO_BACKEND_MESSAGE);
      return;
    }
    host.started(backend);
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      abortAttempt = undefined;
      host.finished(backend);
    };
    let sent = false;
    let responseStarted = false;
    let controllerOf: Dispatcher.DispatchController | undefined;
    // Before onRequestStart there is no controller yet: the abort waits for it.
    abortAttempt = () => controllerOf?.abort(new Error('the client closed the connection before the upgrade'));
    host.poolOf(backend).dispatch(
      { method: (req.method ?? 'GET') as Dispatcher.HttpMethod, path: originForm(req.url), headers, body: null, upgrade: rawUpgrade },
      {
        onRequestStart: (controller) => {
          sent = true;
          controllerOf = controller;
          host.connectSucceeded(backend);
          if (clientGone) controller.abort(new Error('the client closed the connection before the upgrade'));
        },
        onRequestUpgrade: (controller, statusCode, _headers, upstream) => {
          upstream.on('error', () => {});
          const close = (): void => {
            finish();
            socket.destroy();
            upstream.destroy();
          };
          if (clientGone || socket.destroyed) {
            // The client left while the backend was answering: nobody to join it to.
            close();
            return;
          }
          const lines = forwardResponseHeaders(controller.rawHeaders as Buffer[] | null);
          let text = statusCode === 101 ? SWITCHING_PROTOCOLS : `HTTP/1.1 ${statusCode} \r\n`;
          for (let i = 0; i + 1 < lines.length; i += 2) text += `${lines[i]}: ${lines[i + 1]}\r\n`;
          text += `connection: upgrade\r\nupgrade: ${rawUpgrade}\r\n\r\n`;
          socket.write(text);
          if (head.length > 0) upstream.write(head);
          // Either side's FIN is passed on (pipe ends the other side); once
          // both sides ended, or 5 s after the first did, the tunnel is
          // closed (server sockets allow half-open, so nothing else would).
          let ends = 0;
          let halfOpen: NodeJS.Timeout | undefined;
          const ended = (): void => {
            ends++;
            if (ends >= 2) close();
            else halfOpen = setTimeout(close, TUNNEL_HALF_OPEN_MS).unref();
          };
          upstream.on('end', ended);
          socket.on('end', ended);
          upstream.on('close', close);
          socket.on('close', () => {
            clearTimeout(halfOpen);
            close();
          });
          upstream.pipe(socket);
          socket.pipe(upstream);
        },
        onResponseStart: (controller, statusCode, _headers, statusMessage) => {
          // The backend answered without upgrading: relay its answer and close.
          responseStarted = true;
          const lines = forwardResponseHeaders(controller.rawHeaders as Buffer[] | null);
          let text = `HTTP/1.1 ${statusCode} ${statusMessage ?? ''}\r\n`;
          for (let i = 0; i + 1 < lines.length; i += 2) text += `${lines[i]}: ${lines[i + 1]}\r\n`;
          socket.write(`${text}connection: close\r\n\r\n`);
        },
        onResponseData: (controller, chunk) => {
          // With backpressure, as the other exchanges: a client reading slowly must not make the router buffer the backend's whole answer.
          if (!socket.write(chunk)) {
            controller.pause();
            socket.once('drain', () => controller.resume());
          }
        },
        onResponseEnd: () => {
          finish();
          socket.end();
        },
        onResponseError: (_controller, error) => {
          finish();
          const code = errorCode(error);
          if (clientGone) {
            socket.destroy();
          } else if (responseStarted) {
            socket.destroy();
          } else if (!sent) {
            if (CONNECT_FAILED.has(code)) host.connectFailed(backend, code);
            exclude.add(backend);
            attempt(tries + 1);
          } else {
            host.logger.warn('upgrade failed', { backend: backend.id, code });
            refuse(502, `Bad Gateway: the backend failed the upgrade (${code}).`);
          }
        },
      },
    );
  };
  attempt(0);
}

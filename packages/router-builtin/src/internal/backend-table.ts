/**
 * The backends the proxy balances over: smooth weighted round-robin across `ready` ones, their
 * in-flight counts (so a removal never cuts a request), and a short ejection of one that refuses
 * connections. Each backend's undici Pool is closed once it is out of rotation and idle.
 */
import { Pool } from 'undici';
import type { Logger } from '@baton/lifecycle';
import type { BackendState, BackendStatus } from '@baton/deploy';
import type { ResolvedProxyOptions } from '../builtin-proxy-options.js';
import { RouterCommandError, parseBackendAddress, parseBackendChanges, type BackendAddress, type BackendChange } from './admin-input.js';
import { pickSmoothWeighted } from './builtin-balancer.js';
import type { PersistedBackend } from './builtin-state.js';

/** A backend as the admin API lists it: the model's status plus the router's own view of its health. */
export interface BuiltinBackendStatus extends BackendStatus {
  /** Connections refused in a row (0 after a success). */
  connectFailures: number;
  /** While in the future, the balancer skips this backend if another is ready. */
  ejectedUntilMs: number;
}

export interface Backend extends BackendAddress {
  state: BackendState;
  weight: number;
  currentWeight: number;
  inFlight: number;
  requestsTotal: number;
  pool: Pool | undefined;
  connectFailures: number;
  ejectedUntilMs: number;
}

const DEFAULT_WEIGHT = 1;
const MAX_EJECT_MS = 10_000;

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

function newBackend(address: BackendAddress, state: BackendState, weight: number): Backend {
  return { ...address, state, weight, currentWeight: 0, inFlight: 0, requestsTotal: 0, pool: undefined, connectFailures: 0, ejectedUntilMs: 0 };
}

export class BackendTable {
  readonly #backends = new Map<string, Backend>();
  readonly #options: ResolvedProxyOptions;
  readonly #logger: Logger;
  #inFlight = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(options: ResolvedProxyOptions, logger: Logger) {
    this.#options = options;
    this.#logger = logger;
  }

  /** Puts back a persisted table (a restarted router): states and weights as they were, counts at 0. */
  restore(backends: readonly PersistedBackend[]): void {
    for (const entry of backends) {
      const address = parseBackendAddress(entry);
      const [change] = parseBackendChanges([{ id: entry.id, state: entry.state, weight: entry.weight }]);
      this.#backends.set(address.id, newBackend(address, change?.state ?? 'maint', change?.weight ?? DEFAULT_WEIGHT));
    }
  }

  /** Adds a backend in `maint` with weight 1; false when it is already there at that address, 409 at another. */
  add(address: BackendAddress): boolean {
    const existing = this.#backends.get(address.id);
    if (existing) {
      if (existing.host === address.host && existing.port === address.port) return false;
      throw new RouterCommandError(
        409,
        `add: backend ${address.id} already exists at ${existing.host}:${existing.port}, not ${address.host}:${address.port}; remove it first.`,
      );
    }
    this.#backends.set(address.id, newBackend(address, 'maint', DEFAULT_WEIGHT));
    this.#logger.info('backend added', { backend: address.id, release: address.release, address: `${address.host}:${address.port}` });
    return true;
  }

  /** Applies every change or none (404 when an id is unknown). */
  set(changes: readonly BackendChange[]): void {
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
  }

  /** Removes a backend out of rotation with nothing in flight (409 otherwise); false for an unknown id. */
  remove(id: string): boolean {
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
    return true;
  }

  /** Every backend, in the order they were added. */
  list(): BuiltinBackendStatus[] {
    return [...this.#backends.values()].map(statusOf);
  }

  /** The table as it is persisted: addresses, states and weights. */
  snapshot(): PersistedBackend[] {
    return [...this.#backends.values()].map(persisted);
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

  /** Destroys every backend's pool (in-flight requests are cut). */
  async closePools(): Promise<void> {
    await Promise.all([...this.#backends.values()].map((backend) => backend.pool?.destroy().catch(() => {})));
    for (const backend of this.#backends.values()) backend.pool = undefined;
  }

  poolOf(backend: Backend): Pool {
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
   * The next backend for a request, among the `ready` ones with weight > 0: never one in
   * `exclude` (refused this request's connection); while another is available, none in `avoid`
   * (dropped this request's connection) nor one ejected after refusing connections.
   */
  pick(exclude: ReadonlySet<Backend>, avoid: ReadonlySet<Backend>): Backend | undefined {
    const now = Date.now();
    const ready = [...this.#backends.values()].filter((backend) => backend.state === 'ready' && backend.weight > 0 && !exclude.has(backend));
    const fresh = ready.filter((backend) => !avoid.has(backend));
    const pool = fresh.length > 0 ? fresh : ready;
    const healthy = pool.filter((backend) => backend.ejectedUntilMs <= now);
    return pickSmoothWeighted(healthy.length > 0 ? healthy : pool);
  }

  /**
   * The backends of a release that are up, whatever their share: `ready`, or
   * `drain` — a shadow step's candidate has no share of the traffic, which the
   * orchestrator writes as drain at weight 0.
   */
  upOf(release: string): Backend[] {
    return [...this.#backends.values()].filter((backend) => (backend.state === 'ready' || backend.state === 'drain') && backend.release === release);
  }

  started(backend: Backend): void {
    backend.inFlight++;
    backend.requestsTotal++;
    this.#inFlight++;
  }

  finished(backend: Backend): void {
    backend.inFlight--;
    this.#inFlight--;
    this.#retirePoolIfIdle(backend);
    if (this.#inFlight === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  connectFailed(backend: Backend, code: string): void {
    backend.connectFailures++;
    const ms = Math.min(this.#options.ejectMs * 2 ** (backend.connectFailures - 1), MAX_EJECT_MS);
    backend.ejectedUntilMs = Date.now() + ms;
    this.#logger.warn('backend refused a connection; skipped while others are ready', { backend: backend.id, code, ejectedForMs: ms });
  }

  connectSucceeded(backend: Backend): void {
    if (backend.connectFailures === 0) return;
    backend.connectFailures = 0;
    backend.ejectedUntilMs = 0;
  }
}

/**
 * The built-in router's proxy: the backend table, its persistence and the traffic listeners in
 * one in-process, framework-free object. The router's process (`builtin-router-main.ts`) wraps
 * it in servers and an admin API; tests drive it directly.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { silentLogger, type Logger } from '@baton/lifecycle';
import { resolveProxyOptions, type BuiltinProxyOptions, type ResolvedProxyOptions } from './builtin-proxy-options.js';
import { parseBackendAddress, parseBackendChanges, parseKeepAlive, parseRemoveId } from './internal/admin-input.js';
import { BackendTable, type BuiltinBackendStatus } from './internal/backend-table.js';
import { createExposeFilter } from './internal/builtin-expose.js';
import type { PersistedBackend, PersistedSettings } from './internal/builtin-state.js';
import { Exchange } from './internal/exchange.js';
import type { ExchangeHost } from './internal/exchange-host.js';
import { ShadowMirror, parseShadowSettings, type MirrorStatus } from './internal/shadow-mirror.js';
import { StreamTurns } from './internal/stream-turns.js';
import { tunnelUpgrade } from './internal/websocket-tunnel.js';

export { resolveProxyOptions, type BuiltinProxyOptions, type ResolvedProxyOptions } from './builtin-proxy-options.js';
export { RouterCommandError, parseBackendAddress, parseBackendChanges, type BackendAddress, type BackendChange } from './internal/admin-input.js';
export type { BuiltinBackendStatus } from './internal/backend-table.js';
export type { MirrorStatus, ShadowSettings } from './internal/shadow-mirror.js';

export class BuiltinProxy {
  readonly #table: BackendTable;
  readonly #logger: Logger;
  readonly #options: ResolvedProxyOptions;
  readonly #hidden: (target: string) => boolean;
  readonly #streamTurns: StreamTurns;
  readonly #onChange: ((backends: PersistedBackend[], settings: PersistedSettings) => Promise<void>) | undefined;
  #persisting: Promise<void> = Promise.resolve();
  #closed = false;
  #shadow: ShadowMirror | undefined;
  /** Off: every answer closes its connection (see {@link setKeepAlive}). */
  #keepAlive = true;

  constructor(options: BuiltinProxyOptions = {}) {
    this.#options = resolveProxyOptions(options);
    this.#logger = options.logger ?? silentLogger;
    this.#onChange = options.onChange;
    this.#hidden = createExposeFilter(this.#options.expose);
    this.#table = new BackendTable(this.#options, this.#logger);
    this.#streamTurns = new StreamTurns(this.#options.maxStreamingBodies);
  }

  /** Puts back a persisted table (a restarted router): states and weights as they were, counts at 0; and the keep-alive setting. */
  restore(backends: readonly PersistedBackend[], settings: Partial<PersistedSettings> = {}): void {
    this.#table.restore(backends);
    if (settings.keepAlive !== undefined) this.#keepAlive = settings.keepAlive;
  }

  /**
   * Adds a backend in `maint` with weight 1. The same id with the same
   * address is a no-op (returns false); with another address it is refused
   * (409): remove the old one first.
   */
  async add(input: unknown): Promise<boolean> {
    if (!this.#table.add(parseBackendAddress(input))) return false;
    await this.#changed();
    return true;
  }

  /** Applies every change or none: all are checked (ids known, states and weights valid) before any is applied. */
  async set(input: unknown): Promise<void> {
    this.#table.set(parseBackendChanges(input));
    await this.#changed();
  }

  /**
   * Removes a backend that is in `maint` or `drain` with nothing in flight;
   * refuses (409) otherwise, so a request is never cut by a removal. An
   * unknown id is a no-op (returns false).
   */
  async remove(id: unknown): Promise<boolean> {
    if (!this.#table.remove(parseRemoveId(id))) return false;
    await this.#changed();
    return true;
  }

  /** Every backend, in the order they were added. */
  list(): BuiltinBackendStatus[] {
    return this.#table.list();
  }

  /**
   * Starts a shadow step (replacing one that runs): a copy of a share of live
   * requests goes to the `candidate` release's ready backends, whatever their
   * weight, and its answers are compared with the stable release's.
   */
  startShadow(input: unknown): MirrorStatus {
    const settings = parseShadowSettings(input);
    const table = this.#table;
    this.#shadow = new ShadowMirror(settings, { candidates: (release) => table.upOf(release), poolOf: (backend) => table.poolOf(backend), logger: this.#logger });
    this.#logger.info('shadow step started', { candidate: settings.candidate, share: settings.share, methods: settings.methods });
    return this.#shadow.status();
  }

  /** The running shadow step's figures so far; undefined when none runs. */
  shadowStatus(): MirrorStatus | undefined {
    return this.#shadow?.status();
  }

  /** Ends the shadow step: no new copies; the ones in flight get up to `timeoutMs`. Its final figures; undefined when none ran. */
  async stopShadow(timeoutMs = 10_000): Promise<MirrorStatus | undefined> {
    const shadow = this.#shadow;
    if (shadow === undefined) return undefined;
    this.#shadow = undefined;
    await shadow.idle(timeoutMs);
    const status = shadow.status();
    this.#logger.info('shadow step ended', { candidate: status.candidate, outcome: status.outcome, mirrored: status.mirrored, compared: status.compared });
    return status;
  }

  /**
   * Keep-alive with clients, on by default. Off, every answer carries
   * `Connection: close` and its connection closes after it, so a client's
   * next request opens a new connection (and resolves the service's name
   * again: how a DNS switch moves clients to the other stack). Idle
   * connections are not closed under their clients, who may be sending on
   * them: each closes after its next answer. Persisted with the table.
   */
  async setKeepAlive(input: unknown): Promise<boolean> {
    const enabled = parseKeepAlive(input);
    if (enabled === this.#keepAlive) return enabled;
    this.#keepAlive = enabled;
    this.#logger.info(enabled ? 'keep-alive with clients on' : 'keep-alive with clients off: every answer closes its connection');
    await this.#changed();
    return enabled;
  }

  /** See {@link setKeepAlive}. */
  get keepAlive(): boolean {
    return this.#keepAlive;
  }

  /** Requests in flight on all backends. */
  get inFlight(): number {
    return this.#table.inFlight;
  }

  /** Resolves once nothing is in flight, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void> {
    return this.#table.idle(timeoutMs);
  }

  /** Closes every backend pool (in-flight requests are cut); the proxy answers 503 from then on. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#table.closePools();
    await this.#persisting;
  }

  async #changed(): Promise<void> {
    const onChange = this.#onChange;
    if (!onChange) return;
    const snapshot = this.#table.snapshot();
    const settings: PersistedSettings = { keepAlive: this.#keepAlive };
    // One write at a time, in order: the last one on disk is the last change.
    const write = this.#persisting.then(() => onChange(snapshot, settings));
    this.#persisting = write.catch(() => {});
    await write;
  }

  /** The traffic server's `request` listener. */
  readonly handleRequest = (req: IncomingMessage, res: ServerResponse): void => {
    // node:http then writes `Connection: close` and closes the connection once the answer is sent.
    if (!this.#keepAlive) res.shouldKeepAlive = false;
    new Exchange(this.#exchangeHost(), req, res).start();
  };

  /** The traffic server's `upgrade` listener (WebSocket and other `Upgrade` requests), counted in flight while the tunnel is open. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    tunnelUpgrade(this.#exchangeHost(), req, socket, head);
  };

  #exchangeHost(): ExchangeHost {
    const table = this.#table;
    return {
      closed: this.#closed,
      logger: this.#logger,
      options: this.#options,
      hidden: this.#hidden,
      streamTurn: () => this.#streamTurns.take(),
      pick: (exclude, avoid) => table.pick(exclude, avoid),
      poolOf: (backend) => table.poolOf(backend),
      started: (backend) => table.started(backend),
      finished: (backend) => table.finished(backend),
      connectFailed: (backend, code) => table.connectFailed(backend, code),
      connectSucceeded: (backend) => table.connectSucceeded(backend),
      shadow: this.#shadow,
    };
  }
}

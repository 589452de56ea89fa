import { EventEmitter } from 'node:events';
import { Server as NetServer } from 'node:net';
import type { IncomingMessage, Server } from 'node:http';
import { CheckRegistry, type ProbeKind } from './check-registry.js';
import { BatonError, isBatonError } from './errors.js';
import { buildReport, worstOf, type ProbeReport, type ReportKind } from './health-report.js';
import { attachInline } from './internal/attach-inline.js';
import { brandPrototype, hasBrand, LIFECYCLE_BRAND } from './internal/brand.js';
import { ConnectionTracker, type ConnectionCounts, type TrackableServer, type TrackRequest } from './internal/connection-tracker.js';
import { raceDeadline, runHook, sleep } from './internal/deadlines.js';
import { assertPositiveMs } from './internal/validate.js';
import { silentLogger, type Logger } from './logger.js';
import { defaultCloseLongLived, type CloseLongLived } from './long-lived.js';
import { resolveShutdownBudget, type ShutdownBudget } from './shutdown-budget.js';
import { canTransition, type LifecycleState } from './states.js';

export type { LifecycleOptions, ShutdownOptions, ShutdownHook, ShutdownPhase, PhaseReport, ShutdownReport, ShutdownProgress, LifecycleEvents, StartOptions, ProbeOptions, ShutdownRequest } from './lifecycle-options.js';
import type { LifecycleOptions, ShutdownHook, ShutdownPhase, PhaseReport, ShutdownReport, ShutdownProgress, LifecycleEvents, StartOptions, ProbeOptions, ShutdownRequest } from './lifecycle-options.js';

const DRAIN_POLL_MS = 25;

/**
 * The lifecycle of one service instance: its state, its checks, its probes and
 * its graceful shutdown. Framework-free: attach any node:http server.
 *
 * @example
 * const lifecycle = createLifecycle({ shutdown: { propagationDelayMs: 5000 } });
 * lifecycle.attach(server);
 * await lifecycle.start();
 * process.once('SIGTERM', () => lifecycle.shutdown('SIGTERM'));
 *
 * `value instanceof Lifecycle` (like {@link isLifecycle}) is also true for a
 * lifecycle made by another copy of `@baton/lifecycle` in the same process:
 * it checks a `Symbol.for('baton.Lifecycle')` brand, not the class.
 */
export class Lifecycle extends EventEmitter<LifecycleEvents> {
  static override [Symbol.hasInstance](value: unknown): boolean {
    // A subclass on the right of instanceof asks the prototype chain as usual.
    if (this !== Lifecycle) return Function.prototype[Symbol.hasInstance].call(this, value);
    return hasBrand(value, LIFECYCLE_BRAND);
  }

  static {
    brandPrototype(this, LIFECYCLE_BRAND);
  }

  /** The checks behind the probes. */
  readonly checks: CheckRegistry;
  readonly budget: ShutdownBudget;
  readonly service: string | undefined;
  readonly release: string | undefined;
  #state: LifecycleState = 'starting';
  readonly #now: () => number;
  readonly #startupTimeoutMs: number;
  readonly #startupRetryMs: number;
  readonly #closeLongLived: CloseLongLived;
  readonly #tracker: ConnectionTracker;
  readonly #servers = new Set<TrackableServer>();
  readonly #hooks: ShutdownHook[] = [];
  readonly #startupAbort = new AbortController();
  readonly #forceAbort = new AbortController();
  /** A second force(): nothing more is waited for. */
  readonly #abandonAbort = new AbortController();
  readonly #forcedHookTimeoutMs: number;
  #userLogger: Logger = silentLogger;
  #hasLogger = false;
  /** The logger everyone is handed: a throwing user logger never breaks the caller. */
  readonly #safeLogger: Logger = {
    info: (message, fields) => this.#log('info', message, fields),
    warn: (message, fields) => this.#log('warn', message, fields),
    error: (message, fields) => this.#log('error', message, fields),
  };
  #shutdown: Promise<ShutdownReport> | undefined;
  /** A request ended or a socket closed since the last drain-progress event. */
  #drainChanged = false;
  #notReadyAt: number | undefined;
  #progress: { reason: string; phase: ShutdownPhase | 'done'; forcedCloses: number; requestsAfterNotReady?: number } | undefined;
  /** Requests that arrived after readiness failed, with their arrival time (only during a shutdown). */
  readonly #lateRequests = new Map<IncomingMessage, number>();
  readonly #probeRequests = new WeakSet<IncomingMessage>();

  constructor(options: LifecycleOptions = {}) {
    super();
    this.#now = options.now ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    this.#hasLogger = options.logger !== undefined;
    this.#forcedHookTimeoutMs = options.shutdown?.forcedHookTimeoutMs ?? 1500;
    assertPositiveMs('shutdown', 'forcedHookTimeoutMs', this.#forcedHookTimeoutMs);
    this.service = options.service;
    this.release = options.release ?? releaseFromEnvironment();
    this.budget = resolveShutdownBudget(options.shutdown);
    this.#startupTimeoutMs = options.startupTimeoutMs ?? 60_000;
    assertPositiveMs('lifecycle', 'startupTimeoutMs', this.#startupTimeoutMs);
    this.#startupRetryMs = options.startupRetryMs ?? 250;
    assertPositiveMs('lifecycle', 'startupRetryMs', this.#startupRetryMs);
    const close = options.shutdown?.closeLongLived ?? defaultCloseLongLived;
    if (typeof close !== 'function') {
      throw new BatonError('BATON_ERR_INVALID_OPTION', 'shutdown: `closeLongLived` must be a function.');
    }
    this.#closeLongLived = close;
    this.checks = new CheckRegistry({ now: this.#now });
    for (const check of options.checks ?? []) this.checks.add(check);
    this.#tracker = new ConnectionTracker(this.#now);
    this.#tracker.onRequest = (request) => this.#noteLateRequest(request);
    this.#tracker.onChange = () => {
      this.#drainChanged = true;
    };
  }

  /**
   * Where the lifecycle logs; may be replaced, e.g. by a runner that starts
   * later. Reading it gives a guarded view: a logger that throws is reported
   * on stderr instead of breaking a probe or a shutdown.
   */
  get logger(): Logger {
    return this.#safeLogger;
  }

  set logger(logger: Logger) {
    if (logger === null || typeof logger !== 'object' || (['info', 'warn', 'error'] as const).some((level) => typeof logger[level] !== 'function')) {
      throw new BatonError('BATON_ERR_INVALID_OPTION', 'lifecycle: `logger` must be an object with info, warn and error functions (pino, a console wrapper...).');
    }
    // Handed our own guarded view back (`a.logger = b.logger`): keep the logger behind it.
    if (logger !== this.#safeLogger) this.#userLogger = logger;
    this.#hasLogger = true;
  }

  /**
   * False while the lifecycle logs nowhere because no logger was given (the
   * library's default); true once one was, `silentLogger` included. Runners
   * (`serve()`, the adapters' `serve`) give a lifecycle without one JSON lines
   * on stderr; an explicit `silentLogger` keeps it quiet.
   */
  get hasLogger(): boolean {
    return this.#hasLogger;
  }

  /**
   * Emits to every listener even when one throws or rejects: a listener's
   * failure is logged and never aborts a shutdown (which emits as it goes).
   */
  override emit<K extends keyof LifecycleEvents>(eventName: K, ...args: LifecycleEvents[K]): boolean {
    const listeners = this.rawListeners(eventName) as ((...values: unknown[]) => unknown)[];
    for (const listener of listeners) {
      try {
        const result = Reflect.apply(listener, this, args);
        if (isThenable(result)) result.then(undefined, (error: unknown) => this.#listenerFailed(eventName, error));
      } catch (error) {
        this.#listenerFailed(eventName, error);
      }
    }
    return listeners.length > 0;
  }

  /** The current state. */
  get state(): LifecycleState {
    return this.#state;
  }

  /** True once a shutdown has begun (readiness already fails). */
  get isShuttingDown(): boolean {
    return this.#shutdown !== undefined;
  }

  /**
   * How the shutdown is going (phase, requests that still arrived after
   * readiness failed), or undefined before one began. Cheap enough to read on
   * every metrics scrape.
   */
  shutdownProgress(): ShutdownProgress | undefined {
    const progress = this.#progress;
    if (!progress || this.#notReadyAt === undefined) return undefined;
    return {
      reason: progress.reason,
      phase: progress.phase,
      sinceNotReadyMs: this.#now() - this.#notReadyAt,
      requestsAfterNotReady: progress.requestsAfterNotReady ?? this.#countLateAppRequests(),
      forcedCloses: progress.forcedCloses,
    };
  }

  /** Live counts of in-flight requests, open sockets and long-lived connections. */
  counts(): ConnectionCounts {
    return this.#tracker.counts();
  }

  /**
   * Tracks a server's connections and requests, so its drain ends by fact;
   * its listener is closed at the stop-accepting phase. Call before `listen`
   * so no connection is missed. A node:http or node:https server (each TLS
   * connection counted once, from its handshake), or a node:http2 one (each
   * session a connection, each stream a request; drained with GOAWAY).
   */
  attach(server: TrackableServer): this {
    if (this.#servers.has(server)) return this;
    if (server.listening) {
      // Its connections accepted so far are seen only once they send a request.
      this.logger.warn('lifecycle attached to a server already listening: attach before listen so no connection is missed');
    }
    this.#servers.add(server);
    this.#tracker.attach(server);
    return this;
  }

  /** Like {@link attach}, for a server whose request listener calls the returned function first. */
  [attachInline](server: Server): TrackRequest {
    this.#servers.add(server);
    return this.#tracker.attach(server, { inline: true });
  }

  /** Registers a shutdown hook. Hooks run after the drain, last registered first. */
  onShutdown(hook: ShutdownHook | ShutdownHook['run'], options: { name?: string; timeoutMs?: number } = {}): this {
    const resolved: ShutdownHook =
      typeof hook === 'function'
        ? { name: options.name ?? (hook.name || `hook ${this.#hooks.length + 1}`), run: hook, ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) }
        : hook;
    if (typeof resolved.run !== 'function') {
      throw new BatonError('BATON_ERR_INVALID_OPTION', `shutdown hook "${String(resolved.name)}": \`run\` must be a function.`);
    }
    if (resolved.timeoutMs !== undefined) assertPositiveMs(`shutdown hook "${resolved.name}"`, 'timeoutMs', resolved.timeoutMs);
    this.#hooks.push(resolved);
    return this;
  }

  /**
   * Runs the startup task, then retries the startup checks until they pass,
   * then moves to `ready`. Resolves with the state reached: `ready`, or a
   * shutdown state when a shutdown began during startup. Throws (and moves to
   * `failed`) when the task throws or the deadline passes.
   */
  async start(options: StartOptions = {}): Promise<LifecycleState> {
    // A shutdown that began before startup (a signal while listen was binding) is not an error.
    if (this.#shutdown) return this.#state;
    if (this.#state !== 'starting') {
      throw new BatonError('BATON_ERR_INVALID_STATE', `start() needs state "starting"; the state is "${this.#state}".`);
    }
    this.checks.start();
    const signal = this.#startupAbort.signal;
    const deadline = this.#now() + this.#startupTimeoutMs;
    try {
      if (options.task) {
        await raceDeadline(Promise.resolve().then(() => options.task?.({ signal })), deadline - this.#now(), signal, 'startup task', 'BATON_ERR_STARTUP_TIMEOUT');
      }
      while (!signal.aborted) {
        const results = await this.checks.run('startup');
        if (worstOf(results) !== 'fail') break;
        if (this.#now() + this.#startupRetryMs > deadline) {
          const failing = results.filter((r) => r.status === 'fail' && r.critical).map((r) => `${r.name}${r.output ? ` (${r.output})` : ''}`);
          throw new BatonError('BATON_ERR_STARTUP_TIMEOUT', `Startup checks still failing after ${this.#startupTimeoutMs} ms: ${failing.join(', ')}.`);
        }
        await sleep(this.#startupRetryMs, signal);
      }
    } catch (error) {
      if (signal.aborted) return this.#state; // a shutdown interrupted startup: not a failure
      const failure = isBatonError(error) ? error : new BatonError('BATON_ERR_STARTUP_FAILED', `Startup task failed: ${messageOf(error)}`, { cause: error });
      this.logger.error('startup failed', { error: failure.message });
      this.#transition('failed', failure.message);
      throw failure;
    }
    if (signal.aborted) return this.#state;
    this.#transition('ready');
    return this.#state;
  }

  /** Answers a probe. Never throws: a throwing check is a failed check. */
  async probe(kind: ReportKind, options: ProbeOptions = {}): Promise<ProbeReport> {
    if (options.request) this.#probeRequests.add(options.request);
    const state = this.#state;
    // Readiness while not ready answers at once: there is nothing a check could change.
    const skipChecks = (kind === 'readiness' || kind === 'health') && state !== 'ready' && !options.verbose;
    const results = skipChecks ? [] : kind === 'health' ? await this.#allResults() : await this.checks.run(kind);
    return buildReport({
      kind,
      state: this.#state,
      results,
      verbose: options.verbose ?? false,
      details: options.details ?? false,
      now: this.#now(),
      serviceId: this.service,
      releaseId: this.release,
    });
  }

  /**
   * Shuts down gracefully: readiness fails, the propagation delay passes while
   * serving, listeners close, in-flight work drains, hooks run, `stopped`.
   * Idempotent: every call returns the same report.
   */
  shutdown(reason = 'shutdown', options: ShutdownRequest = {}): Promise<ShutdownReport> {
    const skipReason = options.skipPropagationReason ?? (options.skipPropagation === true ? 'requested by the caller' : undefined);
    this.#shutdown ??= this.#runShutdown(reason, skipReason);
    return this.#shutdown;
  }

  /**
   * Cuts what is left of a shutdown (for a repeated SIGINT): the propagation
   * delay ends and open connections are destroyed; each shutdown hook still
   * gets up to `forcedHookTimeoutMs`, so pools close and buffers flush.
   * Called again, it skips everything left and stops at once. Starts a
   * shutdown when none is running.
   */
  force(reason = 'forced'): Promise<ShutdownReport> {
    const report = this.shutdown(reason);
    if (!this.#forceAbort.signal.aborted) {
      this.logger.warn('shutdown forced: hooks get a short chance each', { reason, forcedHookTimeoutMs: this.#forcedHookTimeoutMs });
      this.#forceAbort.abort();
    } else if (!this.#abandonAbort.signal.aborted) {
      this.logger.warn('shutdown forced again: stopping now', { reason });
      this.#abandonAbort.abort();
    }
    return report;
  }

  async #runShutdown(reason: string, skipPropagation: string | undefined): Promise<ShutdownReport> {
    const started = this.#now();
    const wasReady = this.#state === 'ready';
    const atStart = this.#tracker.counts();
    this.#notReadyAt = started;
    this.#progress = { reason, phase: 'propagation', forcedCloses: 0 };
    this.#startupAbort.abort();
    this.#tracker.startDraining();
    this.#transition('draining', reason);
    // An instance that never became ready had no traffic routed to it: no delay, and nothing to say about it.
    const skipped = wasReady ? skipPropagation : undefined;
    this.logger.info('shutdown started', {
      reason,
      ...atStart,
      propagationDelayMs: wasReady && skipped === undefined ? this.budget.propagationDelayMs : 0,
      ...(skipped === undefined ? {} : { propagationSkipped: skipped }),
    });
    const phases: PhaseReport[] = [];
    const hookFailures: ShutdownReport['hookFailures'] = [];
    let forcedBy: ShutdownReport['forcedBy'];
    let forcedCloses = 0;
    const force = this.#forceAbort.signal;

    // 1-2. Readiness already fails; keep serving while load balancers notice.
    // An instance that never became ready never had traffic routed to it.
    const delay = wasReady && skipped === undefined ? this.budget.propagationDelayMs : 0;
    const propagation = await this.#phase('propagation', delay, async () => !(await sleep(delay, force)));
    if (skipped !== undefined) propagation.skipped = skipped;
    phases.push(propagation);

    // 3. Stop accepting. net.Server#close, not http.Server#close: the latter
    // also destroys sockets accepted a moment ago whose first request is still
    // on the wire; those are given a short grace by the drain instead.
    phases.push(
      await this.#phase('stop-accepting', 0, async () => {
        for (const server of this.#servers) {
          if (server.listening) NetServer.prototype.close.call(server, () => {});
        }
        this.#tracker.startClosing();
        return false;
      }),
    );

    // 4. Drain: ask long-lived connections to close, wait until no socket is left.
    phases.push(
      await this.#phase('drain', this.budget.drainTimeoutMs, async () => {
        for (const connection of this.#tracker.longLived()) {
          Promise.resolve()
            .then(() => this.#closeLongLived(connection))
            .catch((error: unknown) => this.logger.warn('closing a long-lived connection failed', { error: messageOf(error) }));
        }
        const deadline = this.#now() + this.budget.drainTimeoutMs;
        while (!this.#tracker.isEmpty() && !force.aborted && this.#now() < deadline) {
          this.#tracker.sweep();
          await sleep(DRAIN_POLL_MS, force);
          // At most one event per poll: counting walks every connection.
          if (this.#drainChanged) {
            this.#drainChanged = false;
            this.emit('drain-progress', this.#tracker.counts());
          }
        }
        this.emit('drain-progress', this.#tracker.counts());
        if (this.#tracker.isEmpty()) return false;
        forcedCloses = this.#tracker.destroyAll();
        if (this.#progress) this.#progress.forcedCloses = forcedCloses;
        forcedBy ??= force.aborted ? 'force' : 'drain-timeout';
        return forcedCloses > 0 || force.aborted;
      }),
    );

    // 5. Hooks, last registered first, within one phase deadline. A forced
    // shutdown still gives each a short chance; only a second force skips them.
    const abandon = this.#abandonAbort.signal;
    phases.push(
      await this.#phase('hooks', this.budget.hooksTimeoutMs, async () => {
        const deadline = this.#now() + this.budget.hooksTimeoutMs;
        let cut = false;
        for (const hook of [...this.#hooks].reverse()) {
          if (abandon.aborted) {
            hookFailures.push({ name: hook.name, error: 'skipped: shutdown forced twice', timedOut: false });
            cut = true;
            continue;
          }
          const remaining = Math.max(0, deadline - this.#now());
          const limit = Math.min(hook.timeoutMs ?? remaining, remaining);
          const controller = new AbortController();
          try {
            await runHook(hook, controller.signal, limit, this.#forcedHookTimeoutMs, force, abandon);
          } catch (error) {
            const timedOut = isBatonError(error, 'BATON_ERR_HOOK_TIMEOUT');
            controller.abort(error);
            if (timedOut || abandon.aborted) cut = true;
            hookFailures.push({ name: hook.name, error: messageOf(error), timedOut });
            this.emit('hook-error', { name: hook.name, error, timedOut });
            this.logger.error('shutdown hook failed', { hook: hook.name, error: messageOf(error), timedOut });
          }
        }
        if (cut) forcedBy ??= force.aborted ? 'force' : 'hook-timeout';
        return cut;
      }),
    );

    this.checks.stop();
    if (force.aborted) forcedBy ??= 'force';
    const late = [...this.#lateRequests].filter(([request]) => !this.#probeRequests.has(request)).map(([, at]) => at - started);
    this.#lateRequests.clear();
    if (this.#progress) {
      this.#progress.phase = 'done';
      this.#progress.requestsAfterNotReady = late.length;
    }
    const report: ShutdownReport = {
      reason,
      forced: forcedBy !== undefined,
      durationMs: this.#now() - started,
      phases,
      atStart,
      requestsAfterNotReady: late.length,
      forcedCloses,
      hookFailures,
    };
    if (forcedBy) report.forcedBy = forcedBy;
    if (late.length > 0) report.lastRequestAfterNotReadyMs = late.reduce((a, b) => Math.max(a, b));
    this.#transition('stopped', reason);
    this.logger.info('shutdown finished', { ...report, phases: undefined, atStart: undefined });
    this.emit('stopped', report);
    return report;
  }

  async #phase(phase: ShutdownPhase, budgetMs: number, run: () => Promise<boolean>): Promise<PhaseReport> {
    const started = this.#now();
    if (this.#progress) this.#progress.phase = phase;
    this.emit('phase', { phase, budgetMs });
    this.logger.info(`shutdown phase: ${phase}`, { budgetMs, ...this.#tracker.counts() });
    let cut: boolean;
    try {
      cut = await run();
    } catch (error) {
      // Never expected (user code is guarded inside each phase), but a phase
      // that throws must not leave the lifecycle draining forever.
      this.logger.error(`shutdown phase ${phase} failed`, { error: messageOf(error) });
      cut = true;
    }
    return { phase, durationMs: this.#now() - started, cut };
  }

  async #allResults() {
    const kinds: ProbeKind[] = ['startup', 'liveness', 'readiness'];
    const seen = new Set<string>();
    const all = (await Promise.all(kinds.map((k) => this.checks.run(k)))).flat();
    return all.filter((r) => (seen.has(r.name) ? false : (seen.add(r.name), true)));
  }

  #countLateAppRequests(): number {
    let count = 0;
    for (const request of this.#lateRequests.keys()) if (!this.#probeRequests.has(request)) count += 1;
    return count;
  }

  #noteLateRequest(request: IncomingMessage): void {
    if (this.#notReadyAt !== undefined) this.#lateRequests.set(request, this.#now());
  }

  #log(level: keyof Logger, message: string, fields?: Record<string, unknown>): void {
    try {
      this.#userLogger[level](message, fields);
    } catch (error) {
      // The logger itself is broken: stderr is the last place left to say so.
      try {
        process.stderr.write(
          `${JSON.stringify({ time: new Date().toISOString(), level, name: 'baton', msg: message, loggerError: messageOf(error), ...safeFields(fields) })}\n`,
        );
      } catch {
        // Nothing left to report to.
      }
    }
  }

  #listenerFailed(eventName: string | symbol, error: unknown): void {
    this.logger.error('a lifecycle event listener threw', { event: String(eventName), error: messageOf(error) });
  }

  #transition(to: LifecycleState, reason?: string): void {
    const from = this.#state;
    if (from === to) return;
    if (!canTransition(from, to)) {
      throw new BatonError('BATON_ERR_INVALID_STATE', `Cannot move from "${from}" to "${to}".`);
    }
    this.#state = to;
    this.emit('state', reason === undefined ? { from, to } : { from, to, reason });
  }
}

/**
 * True when `value` is a {@link Lifecycle}, also one made by another copy of
 * `@baton/lifecycle` (npm may install two in one app): adapters use it to
 * tell a lifecycle from lifecycle options.
 */
export function isLifecycle(value: unknown): value is Lifecycle {
  return hasBrand(value, LIFECYCLE_BRAND);
}

/** Creates a {@link Lifecycle}; options are validated here, so a bad one throws at startup. */
export function createLifecycle(options: LifecycleOptions = {}): Lifecycle {
  return new Lifecycle(options);
}

/** `RELEASE` when set and not empty: what deploy platforms set for the instance's version. */
function releaseFromEnvironment(): string | undefined {
  const release = process.env.RELEASE;
  return release === undefined || release === '' ? undefined : release;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** Log fields that survive JSON.stringify (a circular one is replaced by a note). */
function safeFields(fields: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!fields) return {};
  try {
    JSON.stringify(fields);
    return fields;
  } catch {
    return { fields: 'not serialisable' };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

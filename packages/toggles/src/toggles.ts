import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BatonError, silentLogger, type CheckDefinition, type CheckOutcome, type Lifecycle, type Logger } from '@baton/lifecycle';
import { Unleash } from 'unleash-client';
import { FeatureRepository } from './internal/feature-repository.js';
import { watchFile } from './internal/file-watcher.js';
import { SnapshotStore } from './internal/snapshot-store.js';
import { UnleashPoller } from './internal/unleash-poller.js';
import type { PayloadOf, ToggleDefinitions, ToggleRegistry } from './registry.js';
import { parseToggleFile, type ClientFeature, type ClientSegment } from './toggle-file.js';
import { environmentOfToken, type ToggleSource, type UnleashSource } from './toggle-source.js';
import { ToggleEntry, type ToggleVariant } from './internal/toggle-entry.js';
import { registerToggleMetrics, type CollectorHost } from './toggle-metrics.js';
import type { EvaluationCount, LoadedFrom, ToggleContext, ToggleState, ToggleStatus, TogglesOptions } from './toggle-types.js';
import { requestScopeFactory, type RequestContextOptions, type RequestScopeFactory } from './request-toggles.js';

export type { EvaluationCount, LoadedFrom, ReadinessOptions, ToggleContext, ToggleState, ToggleStatus, TogglesOptions } from './toggle-types.js';

interface TogglesEvents {
  /** New values were loaded (sync, file reload). */
  change: [status: ToggleStatus];
  /** The state changed (e.g. `bootstrapped` → `synced`). */
  state: [status: ToggleStatus];
  /** A fault that was absorbed: the request path never sees it. */
  error: [error: BatonError];
}

const DEFAULT_DEADLINE_MS = 10_000;
const DEFAULT_REFRESH_MS = 15_000;
const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_ANSWER_BYTES = 32 * 1024 * 1024;
const EMPTY_CONTEXT: ToggleContext = Object.freeze({});
const MAX_NOTICED = 100;

/**
 * A service's toggles: typed evaluation over unleash-client, fed by a file,
 * the registry's defaults or an Unleash server, with states, a readiness
 * check, a last-known-good snapshot and per-kind fallbacks. No fault of the
 * source ever fails an evaluation.
 *
 * @example
 * const flags = createToggles(toggles, { source: toggleSourceFromEnv(), lifecycle });
 * if (flags.isEnabled('newCheckout', { userId })) { ... }
 */
export class Toggles<D extends ToggleDefinitions> extends EventEmitter<TogglesEvents> {
  readonly registry: ToggleRegistry<D>;
  readonly source: ToggleSource;
  readonly #entries = new Map<string, ToggleEntry>();
  readonly #repository = new FeatureRepository();
  #logger: Logger;
  readonly #now: () => number;
  readonly #options: TogglesOptions;
  readonly #startedAt: number;
  readonly #deadlineMs: number;
  readonly #afterDeadline: 'warn' | 'fail';
  readonly #staleAfterMs: number;
  #engine: Unleash | undefined;
  /** The engine once something is loaded: evaluations before that serve fallbacks without asking it. */
  #live: Unleash | undefined;
  #state: ToggleState = 'never-synced';
  #loadedFrom: LoadedFrom = 'fallbacks';
  #location: string | undefined;
  #lastSyncAt: number | undefined;
  #snapshotSavedAt: number | undefined;
  #lastError: ToggleStatus['lastError'];
  #missing: string[];
  #unknown: string[] = [];
  #poller: UnleashPoller | undefined;
  #snapshots: SnapshotStore | undefined;
  /** The snapshot writes, one after another (an older one never lands last); close() waits for them. */
  #snapshotWrites: Promise<void> = Promise.resolve();
  #stopWatching: (() => void) | undefined;
  #lifecycle: Lifecycle | undefined;
  #defaultContext: ToggleContext = EMPTY_CONTEXT;
  #started = false;
  #constructed = false;
  #closed = false;
  readonly #unknownNames = new Set<string>();
  /** Request-side faults already logged (each distinct message once). */
  readonly #noticed = new Set<string>();
  #faultCount = 0;
  /** Made once, so an evaluation never allocates a callback. */
  readonly #onEvaluationFault = (error: BatonError): void => this.#evaluationFault(error);
  #metricsBound = false;
  #knownWaiters: (() => void)[] = [];

  constructor(registry: ToggleRegistry<D>, options: TogglesOptions = {}) {
    super();
    this.registry = registry;
    this.#options = options;
    this.source = options.source ?? { type: 'defaults' };
    checkSource(this.source);
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
    this.#startedAt = this.#now();
    const readiness = options.readiness ?? {};
    this.#deadlineMs = nonNegative('readiness.deadlineMs', readiness.deadlineMs ?? DEFAULT_DEADLINE_MS);
    this.#afterDeadline = readiness.afterDeadline ?? 'warn';
    if (this.#afterDeadline !== 'warn' && this.#afterDeadline !== 'fail') {
      throw new BatonError('BATON_ERR_INVALID_OPTION', `toggles: readiness.afterDeadline must be "warn" or "fail"; got ${JSON.stringify(readiness.afterDeadline)}.`);
    }
    const refresh = this.source.type === 'unleash' ? (this.source.refreshIntervalMs ?? DEFAULT_REFRESH_MS) : DEFAULT_REFRESH_MS;
    this.#staleAfterMs = nonNegative('readiness.staleAfterMs', readiness.staleAfterMs ?? Math.max(4 * refresh, 60_000));
    for (const name of registry.names) this.#entries.set(name, new ToggleEntry(registry.get(name)));
    this.#missing = [...registry.names];
    // An unhandled 'error' event would throw; faults are logged and never thrown.
    this.on('error', () => {});
    if (options.lifecycle !== undefined) this.bindLifecycle(options.lifecycle);
    this.#start();
    this.#constructed = true;
  }

  /** True when `name` is enabled for `context`; a toggle's fallback when nothing is loaded or the engine throws. */
  isEnabled<N extends keyof D & string>(name: N, context: ToggleContext = this.#defaultContext): boolean {
    const entry = this.#entries.get(name);
    if (entry === undefined) return this.#unknownName(name);
    let enabled: boolean;
    const engine = this.#live;
    if (engine === undefined) {
      enabled = entry.fallback;
    } else {
      try {
        enabled = engine.isEnabled(name, context, entry.fallbackFunction);
      } catch (error) {
        enabled = entry.fallback;
        this.#evaluationFailed(name, error);
      }
    }
    if (enabled) entry.enabledCount += 1;
    else entry.disabledCount += 1;
    return enabled;
  }

  /**
   * The variant of `name` for `context`, with its payload parsed to the
   * registry's `payload` type. The same result object is returned while the
   * variant and its payload are unchanged (no allocation by Baton).
   */
  getVariant<N extends keyof D & string>(name: N, context: ToggleContext = this.#defaultContext): ToggleVariant<PayloadOf<D, N>> {
    const entry = this.#entries.get(name);
    if (entry === undefined) {
      this.#unknownName(name);
      return ToggleEntry.unknownVariant as ToggleVariant<PayloadOf<D, N>>;
    }
    let variant: ToggleVariant<unknown>;
    const engine = this.#live;
    if (engine === undefined) {
      variant = entry.fallbackVariant;
    } else {
      try {
        variant = entry.variantOf(engine.getVariant(name, context), this.#onEvaluationFault);
      } catch (error) {
        variant = entry.fallbackVariant;
        this.#evaluationFailed(name, error);
      }
    }
    entry.countVariant(variant.name);
    return variant as ToggleVariant<PayloadOf<D, N>>;
  }

  /**
   * The variant named `variant` of `name` as loaded, with its payload parsed;
   * `false` gives the toggle switched off, `undefined` switched on without a
   * variant. What an override header asks for; not counted as an evaluation.
   */
  variantNamed<N extends keyof D & string>(name: N, variant: string | false | undefined): ToggleVariant<PayloadOf<D, N>> {
    const entry = this.#entries.get(name);
    if (entry === undefined || variant === false) return ToggleEntry.unknownVariant as ToggleVariant<PayloadOf<D, N>>;
    if (variant === undefined) return Object.freeze({ name: 'disabled', enabled: false, featureEnabled: true, payload: undefined });
    const feature = this.#repository.getToggle(name);
    const definitions = [...(feature?.variants ?? []), ...(feature?.strategies ?? []).flatMap((strategy) => (Array.isArray(strategy.variants) ? (strategy.variants as ClientFeature['variants'] & object) : []))];
    const definition = definitions.find((candidate) => candidate.name === variant);
    const engineVariant = { name: variant, enabled: true, featureEnabled: true, ...(definition?.payload === undefined ? {} : { payload: definition.payload }) };
    return entry.variantOf(engineVariant, this.#onEvaluationFault) as ToggleVariant<PayloadOf<D, N>>;
  }

  /**
   * A context with the service's release and instance in `properties`, so an
   * Unleash constraint on `release` can turn a toggle on for the canary only.
   * Adapters build every request's context with it.
   */
  context(fields: Omit<ToggleContext, 'properties'> & { properties?: Record<string, string> } = {}): ToggleContext {
    const base = this.#defaultContext.properties;
    if (fields.properties === undefined && base !== undefined) return { ...fields, properties: base };
    return { ...fields, properties: { ...base, ...fields.properties } };
  }

  /** The toggles' health now. */
  status(): ToggleStatus {
    const status: ToggleStatus = {
      state: this.#state,
      source: this.source.type,
      loadedFrom: this.#loadedFrom,
      missing: [...this.#missing],
      unknown: [...this.#unknown],
      deadlinePassed: this.#now() - this.#startedAt >= this.#deadlineMs,
    };
    if (this.#location !== undefined) status.location = this.#location;
    if (this.#lastSyncAt !== undefined) {
      status.lastSyncAt = this.#lastSyncAt;
      status.lastSyncAgeMs = Math.max(0, this.#now() - this.#lastSyncAt);
    }
    if (this.#snapshotSavedAt !== undefined && this.#loadedFrom === 'snapshot') status.snapshotSavedAt = this.#snapshotSavedAt;
    if (this.#lastError !== undefined) status.lastError = { ...this.#lastError };
    return status;
  }

  /** Resolves once values are loaded from anywhere, or the deadline passed (then with state `never-synced` or `auth-failed`). */
  ready(): Promise<ToggleStatus> {
    if (this.#repository.loaded || this.#state === 'auth-failed' || this.#closed) return Promise.resolve(this.status());
    return new Promise((resolveReady) => {
      // Not unref'd: a main that awaits ready() before listening must not exit meanwhile.
      const timer = setTimeout(() => done(), Math.max(0, this.#startedAt + this.#deadlineMs - this.#now()));
      const done = () => {
        clearTimeout(timer);
        this.#knownWaiters = this.#knownWaiters.filter((waiter) => waiter !== done);
        resolveReady(this.status());
      };
      this.#knownWaiters.push(done);
    });
  }

  /**
   * The readiness check: passes once values are known, fails on a refused
   * token, and follows {@link ReadinessOptions} while nothing is loaded.
   */
  check(name = 'toggles'): CheckDefinition {
    return { name, probes: ['readiness'], critical: true, timeoutMs: 1000, check: () => this.#checkOutcome() };
  }

  /**
   * Takes the lifecycle's release (injected into contexts) and logger (unless
   * one was given), adds the readiness check and stops polling on shutdown. The lifecycle's service
   * becomes Unleash's app name only when given at creation
   * (`createToggles(registry, { lifecycle })`), before the first sync.
   */
  bindLifecycle(lifecycle: Lifecycle): this {
    if (this.#lifecycle === lifecycle) return this;
    if (this.#lifecycle !== undefined) throw new BatonError('BATON_ERR_INVALID_STATE', 'toggles: already bound to another lifecycle; create one Toggles per service instance.');
    this.#lifecycle = lifecycle;
    // Faults go to the service's log unless a logger of its own was given.
    if (this.#options.logger === undefined) this.#logger = lifecycle.logger;
    // Bound after start (an adapter doing it): contexts built from now on carry the lifecycle's release.
    if (this.#started) this.#defaultContext = this.#makeDefaultContext();
    lifecycle.checks.add(this.check());
    lifecycle.onShutdown(() => this.close(), { name: 'toggles' });
    return this;
  }

  /**
   * The function that turns a request into its {@link ToggleScope} (what the
   * adapters put on `req.toggles`). Options are checked now. Extractor faults
   * and rejected override entries are emitted as `error` events on every
   * occurrence and logged once per distinct message.
   */
  requestScopes<R>(options: RequestContextOptions<R, keyof D & string> = {}): RequestScopeFactory<R, D> {
    return requestScopeFactory(this, options, (error) => this.#notice(error));
  }

  /** Faults absorbed since start: failed syncs, garbage answers, throwing evaluations. */
  get faultCount(): number {
    return this.#faultCount;
  }

  /**
   * Exports evaluation counts per toggle and result, the state, the age of
   * the last sync and the faults through `@baton/metrics` (see
   * {@link registerToggleMetrics}). Adapters call it when given both.
   */
  bindMetrics(metrics: CollectorHost): this {
    if (this.#metricsBound) return this;
    registerToggleMetrics(metrics, this);
    this.#metricsBound = true;
    return this;
  }

  /** Evaluation counts since start, per toggle and result. */
  evaluations(): EvaluationCount[] {
    const counts: EvaluationCount[] = [];
    for (const entry of this.#entries.values()) counts.push(...entry.counts());
    return counts;
  }

  /** Stops polling and watching; evaluations go on with the last values. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#poller?.stop();
    this.#stopWatching?.();
    for (const waiter of this.#knownWaiters) waiter();
    // The engine stays: a request in flight during shutdown still evaluates. Only the
    // server-backed one has a timer (usage reporting) to stop; destroy() would also
    // clear unleash-client's process-wide singleton, so offline engines are left alone.
    if (this.source.type === 'unleash') this.#engine?.destroy();
    // A process that exits once close() resolved must not leave a half-written temporary file.
    await this.#snapshotWrites;
  }

  #start(): void {
    this.#started = true;
    this.#defaultContext = this.#makeDefaultContext();
    const sourceAppName = this.source.type === 'unleash' ? this.source.appName : undefined;
    // Deployment configuration (the source, e.g. UNLEASH_APP_NAME) beats the code's default; it also names the snapshot.
    const appName = sourceAppName ?? this.#options.appName ?? this.#lifecycle?.service ?? 'baton-service';
    switch (this.source.type) {
      case 'defaults':
        this.#engine = this.#offlineEngine(appName);
        this.#load(this.registry.names.map((name) => defaultFeature(name, this.registry.get(name).default)), [], 'defaults');
        return;
      case 'file':
        this.#engine = this.#offlineEngine(appName);
        this.#startFile(this.source.path, this.source.watch ?? true);
        return;
      case 'unleash':
        this.#startUnleash(this.source, appName);
    }
  }

  #makeDefaultContext(): ToggleContext {
    const release = this.#options.release ?? this.#lifecycle?.release;
    const properties: Record<string, string> = {};
    if (release !== undefined) properties.release = release;
    if (this.#options.instance !== undefined) properties.instance = this.#options.instance;
    return Object.keys(properties).length === 0 ? EMPTY_CONTEXT : Object.freeze({ properties: Object.freeze(properties) });
  }

  #offlineEngine(appName: string): Unleash {
    // Evaluation only: the repository is Baton's, usage reporting is off, nothing touches the network.
    return new Unleash({
      appName,
      url: 'http://127.0.0.1/baton-offline/',
      repository: this.#repository as never,
      disableMetrics: true,
      skipInstanceCountWarning: true,
      strategies: this.#options.strategies ?? [],
    });
  }

  #startFile(path: string, watch: boolean): void {
    const absolute = resolve(path);
    this.#location = absolute;
    // Read now: a missing or malformed file is a configuration error, thrown at construction.
    this.#loadFile(absolute, true);
    if (watch) {
      this.#stopWatching = watchFile(absolute, () => this.#loadFile(absolute, false), (error) =>
        this.#fault(new BatonError('BATON_ERR_TOGGLE_FILE', `toggles: cannot watch ${absolute}: ${error.message}; changes will not be seen.`, { cause: error })),
      );
    }
  }

  #loadFile(path: string, atStart: boolean): void {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      const failure = new BatonError('BATON_ERR_TOGGLE_FILE', `toggles: cannot read ${path}: ${(error as Error).message}${atStart ? '' : '; keeping the values held'}.`, { cause: error });
      if (atStart) throw failure;
      return this.#fault(failure);
    }
    try {
      const file = parseToggleFile(text, this.registry, path);
      const features = [...file.features, ...file.missing.map((name) => defaultFeature(name, this.registry.get(name).default))];
      this.#load(features, file.segments, 'file');
    } catch (error) {
      if (atStart) throw error;
      const message = error instanceof Error ? error.message : String(error);
      this.#fault(new BatonError('BATON_ERR_TOGGLE_FILE', `${message} The values held are kept.`, { cause: error }));
    }
  }

  #startUnleash(source: UnleashSource, appName: string): void {
    const environment = source.environment ?? environmentOfToken(source.token) ?? 'default';
    const instanceId = this.#options.instance ?? `${hostname()}-${process.pid}`;
    const refreshIntervalMs = source.refreshIntervalMs ?? DEFAULT_REFRESH_MS;
    this.#engine = new Unleash({
      appName,
      environment,
      instanceId,
      url: source.url,
      repository: this.#repository as never,
      customHeaders: { Authorization: source.token },
      disableMetrics: source.sendUsage === false,
      skipInstanceCountWarning: true,
      strategies: this.#options.strategies ?? [],
    });
    this.#engine.on('error', (error: Error) => this.#fault(new BatonError('BATON_ERR_TOGGLE_SYNC', `toggles: ${error.message}`, { cause: error })));
    if (source.snapshotDir !== false) this.#snapshots = new SnapshotStore(source.snapshotDir ?? join(tmpdir(), 'baton-toggles'), appName, environment);
    // Until the first sync: the bootstrap file, else the last snapshot, else the fallbacks.
    if (source.bootstrap !== undefined) {
      const path = resolve(source.bootstrap);
      const file = parseToggleFile(readBootstrap(path), this.registry, path);
      this.#load(file.features, file.segments, 'bootstrap');
    } else if (this.#snapshots !== undefined) {
      try {
        const snapshot = this.#snapshots.read();
        if (snapshot !== undefined) {
          this.#snapshotSavedAt = snapshot.savedAt;
          this.#load(snapshot.features, snapshot.segments, 'snapshot');
        }
      } catch (error) {
        this.#fault(new BatonError('BATON_ERR_TOGGLE_SNAPSHOT', `toggles: ignoring the snapshot ${this.#snapshots.path}: ${(error as Error).message}`, { cause: error }));
      }
    }
    this.#poller = new UnleashPoller(
      { url: source.url, token: source.token, appName, instanceId, refreshIntervalMs, timeoutMs: source.timeoutMs ?? DEFAULT_TIMEOUT_MS, projectName: source.projectName, maxBytes: MAX_ANSWER_BYTES, userAgent: 'baton-toggles' },
      {
        features: (features, segments) => {
          this.#load(features, segments, 'server');
          this.#saveSnapshot(features, segments);
        },
        unchanged: () => this.#synced(),
        authFailed: (error) => {
          this.#faultCount += 1;
          this.#lastError = { code: error.code, message: error.message, at: this.#now() };
          this.#logger.error(error.message, { code: error.code });
          this.#emit('error', error);
          this.#setState('auth-failed');
          for (const waiter of this.#knownWaiters) waiter();
        },
        fault: (error) => this.#fault(error),
      },
    );
    this.#location = this.#poller.endpoint;
    this.#poller.start();
  }

  #load(features: ClientFeature[], segments: ClientSegment[], from: LoadedFrom): void {
    this.#repository.replace(features, segments);
    this.#live = this.#engine;
    for (const entry of this.#entries.values()) entry.invalidate();
    const names = new Set(features.map((feature) => feature.name));
    this.#missing = this.registry.names.filter((name) => !names.has(name));
    this.#unknown = [...names].filter((name) => !this.registry.has(name));
    this.#loadedFrom = from;
    if (from === 'server' || from === 'file' || from === 'defaults') {
      this.#synced();
    } else {
      this.#setState('bootstrapped');
    }
    for (const waiter of this.#knownWaiters) waiter();
    this.#emit('change', this.status());
  }

  #synced(): void {
    this.#lastSyncAt = this.#now();
    this.#lastError = undefined;
    if (this.#loadedFrom !== 'server' && this.source.type === 'unleash') this.#loadedFrom = 'server';
    this.#setState('synced');
  }

  #setState(state: ToggleState): void {
    if (this.#state === state) return;
    const from = this.#state;
    this.#state = state;
    this.#logger.info(`toggles: ${from} → ${state}`, { source: this.source.type, loadedFrom: this.#loadedFrom });
    this.#emit('state', this.status());
  }

  #saveSnapshot(features: ClientFeature[], segments: ClientSegment[]): void {
    const store = this.#snapshots;
    if (store === undefined) return;
    const snapshot = { savedAt: this.#now(), features, segments };
    this.#snapshotWrites = this.#snapshotWrites.then(() => store.write(snapshot)).catch((error: unknown) => {
      this.#fault(new BatonError('BATON_ERR_TOGGLE_SNAPSHOT', `toggles: cannot write the snapshot ${store.path}: ${(error as Error).message}; the previous one is kept.`, { cause: error }));
    });
  }

  /** Events raised while the constructor runs (a bootstrap or snapshot loaded, a corrupt snapshot) wait a tick: nobody could listen yet. */
  #emit<E extends keyof TogglesEvents>(event: E, ...args: TogglesEvents[E]): void {
    if (this.#constructed) {
      this.emit(event as keyof TogglesEvents, ...(args as [never]));
      return;
    }
    process.nextTick(() => this.emit(event as keyof TogglesEvents, ...(args as [never])));
  }

  #fault(error: BatonError): void {
    this.#faultCount += 1;
    this.#lastError = { code: error.code, message: error.message, at: this.#now() };
    this.#logger.warn(error.message, { code: error.code });
    this.#emit('error', error);
  }

  /**
   * A fault on the evaluation path (a throwing strategy, a payload that does
   * not parse): counted and emitted every time, logged once per message (it
   * may repeat on every request), and kept out of `lastError`, which is about
   * the source.
   */
  #evaluationFault(error: BatonError): void {
    this.#faultCount += 1;
    this.#notice(error);
  }

  /** Emits `error`; logs each distinct message once (bounded), so a fault repeated per request cannot flood the log. */
  #notice(error: BatonError): void {
    if (!this.#noticed.has(error.message) && this.#noticed.size < MAX_NOTICED) {
      this.#noticed.add(error.message);
      this.#logger.warn(error.message, { code: error.code });
    }
    this.#emit('error', error);
  }

  #evaluationFailed(name: string, error: unknown): void {
    this.#evaluationFault(new BatonError('BATON_ERR_TOGGLE_EVALUATION', `toggles: evaluating "${name}" threw (${error instanceof Error ? error.message : String(error)}); served its fallback.`, { cause: error }));
  }

  #unknownName(name: string): false {
    // Only JavaScript callers and casts get here: TypeScript refuses the name.
    if (!this.#unknownNames.has(name)) {
      this.#unknownNames.add(name);
      this.#evaluationFault(new BatonError('BATON_ERR_INVALID_OPTION', `toggles: "${name}" is not in the registry; it is always off. Known: ${this.registry.names.join(', ')}.`));
    }
    return false;
  }

  #checkOutcome(): CheckOutcome {
    const status = this.status();
    const outcome: CheckOutcome = { componentType: 'toggles', observedValue: status.state };
    if (status.location !== undefined) outcome.componentId = status.location;
    const age = status.lastSyncAgeMs === undefined ? '' : ` (last sync ${(status.lastSyncAgeMs / 1000).toFixed(1)} s ago)`;
    const fallbacks = status.missing.length === 0 ? '' : `; ${status.missing.join(', ')} on fallback`;
    switch (status.state) {
      case 'synced': {
        const stale = status.lastSyncAgeMs !== undefined && status.lastSyncAgeMs > this.#staleAfterMs && this.source.type === 'unleash';
        return { ...outcome, status: stale ? 'warn' : 'pass', output: `synced from ${status.loadedFrom}${age}${stale ? '; the server has not answered since, keeping those values' : ''}${fallbacks}` };
      }
      case 'bootstrapped':
        return { ...outcome, status: status.deadlinePassed ? 'warn' : 'pass', output: `serving the ${status.loadedFrom}; the server has not answered yet${fallbacks}` };
      case 'never-synced':
        if (!status.deadlinePassed || this.#afterDeadline === 'fail') {
          return { ...outcome, status: 'fail', output: `no toggles loaded yet${status.deadlinePassed ? ' and the deadline passed' : ''}: ${status.lastError?.message ?? 'waiting for the first sync'}` };
        }
        return { ...outcome, status: 'warn', output: `nothing loaded within ${this.#deadlineMs} ms; every toggle serves its fallback: ${status.lastError?.message ?? ''}` };
      case 'auth-failed':
        return { ...outcome, status: 'fail', output: status.lastError?.message ?? 'the server refused the token' };
    }
  }
}

/**
 * Creates a service's toggles over `registry`.
 *
 * @example
 * const flags = createToggles(toggles, { source: toggleSourceFromEnv(), lifecycle });
 */
export function createToggles<D extends ToggleDefinitions>(registry: ToggleRegistry<D>, options: TogglesOptions = {}): Toggles<D> {
  return new Toggles(registry, options);
}

function defaultFeature(name: string, enabled: boolean): ClientFeature {
  return { name, enabled, strategies: [{ name: 'default', parameters: {}, constraints: [] }] };
}

function readBootstrap(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new BatonError('BATON_ERR_TOGGLE_FILE', `toggles: cannot read the bootstrap ${path}: ${(error as Error).message}.`, { cause: error });
  }
}

function nonNegative(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `toggles: ${name} must be a number of ms, 0 or more; got ${JSON.stringify(value)}.`);
  }
  return value;
}

function checkSource(source: ToggleSource): void {
  const fail = (what: string): never => {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `toggles: source: ${what}`);
  };
  if (source === null || typeof source !== 'object') fail('give { type: "defaults" }, { type: "file", path } or { type: "unleash", url, token }.');
  switch (source.type) {
    case 'defaults':
      return;
    case 'file':
      if (typeof source.path !== 'string' || source.path === '') fail('a file source needs a `path`.');
      return;
    case 'unleash': {
      if (typeof source.url !== 'string' || !/^https?:\/\//.test(source.url)) fail(`\`url\` must be the Unleash API's http(s) URL, e.g. https://unleash.example.com/api; got ${JSON.stringify(source.url)}.`);
      if (typeof source.token !== 'string' || source.token.trim() === '') fail('`token` must be a backend token, e.g. "*:production.<secret>".');
      if (source.refreshIntervalMs !== undefined && (!Number.isInteger(source.refreshIntervalMs) || source.refreshIntervalMs < 100)) fail(`\`refreshIntervalMs\` must be a whole number of ms, at least 100; got ${JSON.stringify(source.refreshIntervalMs)}.`);
      if (source.timeoutMs !== undefined && (!Number.isInteger(source.timeoutMs) || source.timeoutMs < 1)) fail(`\`timeoutMs\` must be a whole number of ms, at least 1; got ${JSON.stringify(source.timeoutMs)}.`);
      return;
    }
    default:
      fail(`unknown type ${JSON.stringify((source as { type?: unknown }).type)}; known: defaults, file, unleash.`);
  }
}

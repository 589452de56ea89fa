import { BatonError } from './errors.js';
import { assertNonNegativeMs, assertPositiveMs } from './internal/validate.js';

/** The three questions a platform asks an instance. */
export type ProbeKind = 'startup' | 'liveness' | 'readiness';

/** Outcome of one check, as in draft-inadarei-api-health-check. */
export type CheckStatus = 'pass' | 'warn' | 'fail';

/** What a check function receives: a signal that aborts when the check times out. */
export interface CheckContext {
  readonly signal: AbortSignal;
}

/** What a check may say about itself beyond pass / fail. */
export interface CheckOutcome {
  status?: CheckStatus;
  observedValue?: unknown;
  observedUnit?: string;
  output?: string;
  componentType?: string;
  componentId?: string;
}

/**
 * A check: return nothing or `true` to pass, `false` to fail, or a
 * {@link CheckOutcome}. A throw is a failure whose message becomes `output`.
 */
export type CheckFunction = (
  context: CheckContext,
) => CheckOutcome | boolean | void | Promise<CheckOutcome | boolean | void>;

/** A named check and the probes it answers for. */
export interface CheckDefinition {
  /** Key in the health report, e.g. `postgres` or `postgres:connections`. */
  name: string;
  check: CheckFunction;
  /** Probes that run this check. Default `['readiness']`. */
  probes?: readonly ProbeKind[];
  /** A failing critical check fails the probe (503); a non-critical one only warns (200). Default true. */
  critical?: boolean;
  /** A check that has not answered by then reports `fail`, so the probe answers on time. Default 1000 ms. */
  timeoutMs?: number;
  /** Reuse a result this long instead of running the check on every probe. Default 0. */
  cacheTtlMs?: number;
  /** Run the check in the background at this interval; probes read the latest result. */
  intervalMs?: number;
}

/** One check's latest answer. */
export interface CheckResult {
  name: string;
  status: CheckStatus;
  critical: boolean;
  /** When the check finished, ISO 8601. */
  time: string;
  durationMs: number;
  observedValue?: unknown;
  observedUnit?: string;
  output?: string;
  componentType?: string;
  componentId?: string;
}

const PROBE_KINDS: readonly ProbeKind[] = ['startup', 'liveness', 'readiness'];
const DEFAULT_TIMEOUT_MS = 1000;

interface Entry {
  readonly name: string;
  readonly check: CheckFunction;
  readonly probes: readonly ProbeKind[];
  readonly critical: boolean;
  readonly timeoutMs: number;
  readonly cacheTtlMs: number;
  readonly intervalMs: number | undefined;
  /** The run that probes currently share (settles at the latest at the timeout). */
  shared: Promise<CheckResult> | undefined;
  /** Set while the user's function itself has not settled, even after a timeout. */
  pendingSince: number | undefined;
  last: CheckResult | undefined;
  lastAt: number;
  timer: NodeJS.Timeout | undefined;
}

/** Options of {@link CheckRegistry}. */
export interface CheckRegistryOptions {
  /** Milliseconds clock; injected so tests control time. Default `Date.now`. */
  now?: () => number;
}

/**
 * Named checks for the startup, liveness and readiness probes. Concurrent
 * probes share one run of each check; a hanging check is reported as failed
 * when its timeout passes and is not started again until it settles.
 */
export class CheckRegistry {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  #running = false;

  constructor(options: CheckRegistryOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Registers a check; returns a function that removes it. Throws on a bad or duplicate definition. */
  add(definition: CheckDefinition): () => void {
    const entry = toEntry(definition);
    if (this.#entries.has(entry.name)) {
      throw new BatonError('BATON_ERR_DUPLICATE_CHECK', `A check named "${entry.name}" is already registered.`);
    }
    this.#entries.set(entry.name, entry);
    if (this.#running) this.#startInterval(entry);
    return () => {
      this.#stopInterval(entry);
      this.#entries.delete(entry.name);
    };
  }

  /** Names of the checks, optionally only those that answer for `probe`. */
  names(probe?: ProbeKind): string[] {
    return [...this.#entries.values()].filter((e) => !probe || e.probes.includes(probe)).map((e) => e.name);
  }

  /** Runs (or reads, when cached or in the background) every check of `probe`, concurrently. */
  async run(probe: ProbeKind): Promise<CheckResult[]> {
    const entries = [...this.#entries.values()].filter((e) => e.probes.includes(probe));
    return Promise.all(entries.map((e) => this.#resultOf(e)));
  }

  /** Starts the background checks (those with `intervalMs`). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    for (const entry of this.#entries.values()) this.#startInterval(entry);
  }

  /** Stops the background checks. */
  stop(): void {
    this.#running = false;
    for (const entry of this.#entries.values()) this.#stopInterval(entry);
  }

  #resultOf(entry: Entry): Promise<CheckResult> {
    const fresh = entry.last && (entry.intervalMs !== undefined || this.#now() - entry.lastAt < entry.cacheTtlMs);
    if (fresh && entry.last) return Promise.resolve(entry.last);
    return this.#runShared(entry);
  }

  #runShared(entry: Entry): Promise<CheckResult> {
    if (entry.shared) return entry.shared;
    if (entry.pendingSince !== undefined) {
      // The previous run timed out and still has not settled: do not pile up another.
      const waited = this.#now() - entry.pendingSince;
      return Promise.resolve(
        this.#result(entry, { status: 'fail', output: `still running after ${waited} ms (timeout ${entry.timeoutMs} ms)` }, 0),
      );
    }
    const shared = this.#runOnce(entry).finally(() => {
      entry.shared = undefined;
    });
    entry.shared = shared;
    return shared;
  }

  async #runOnce(entry: Entry): Promise<CheckResult> {
    const started = this.#now();
    const controller = new AbortController();
    entry.pendingSince = started;
    const underlying = Promise.resolve()
      .then(() => entry.check({ signal: controller.signal }))
      .finally(() => {
        entry.pendingSince = undefined;
      });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), entry.timeoutMs);
      timer.unref?.();
    });
    let outcome: CheckOutcome;
    try {
      const answer = await Promise.race([underlying, timeout]);
      outcome = answer === 'timeout' ? { status: 'fail', output: `timed out after ${entry.timeoutMs} ms` } : toOutcome(answer);
      if (answer === 'timeout') {
        controller.abort(new BatonError('BATON_ERR_CHECK_TIMEOUT', `Check "${entry.name}" timed out.`));
        underlying.catch(() => {}); // its late rejection must not become unhandled
      }
    } catch (error) {
      outcome = { status: 'fail', output: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
    const result = this.#result(entry, outcome, this.#now() - started);
    entry.last = result;
    entry.lastAt = this.#now();
    return result;
  }

  #result(entry: Entry, outcome: CheckOutcome, durationMs: number): CheckResult {
    const result: CheckResult = {
      name: entry.name,
      status: outcome.status ?? 'pass',
      critical: entry.critical,
      time: new Date(this.#now()).toISOString(),
      durationMs,
    };
    if (outcome.observedValue !== undefined) result.observedValue = outcome.observedValue;
    if (outcome.observedUnit !== undefined) result.observedUnit = outcome.observedUnit;
    if (outcome.output !== undefined) result.output = outcome.output;
    if (outcome.componentType !== undefined) result.componentType = outcome.componentType;
    if (outcome.componentId !== undefined) result.componentId = outcome.componentId;
    return result;
  }

  #startInterval(entry: Entry): void {
    if (entry.intervalMs === undefined || entry.timer) return;
    const tick = (): void => {
      void this.#runShared(entry);
    };
    tick();
    entry.timer = setInterval(tick, entry.intervalMs);
    entry.timer.unref?.();
  }

  #stopInterval(entry: Entry): void {
    if (entry.timer) clearInterval(entry.timer);
    entry.timer = undefined;
  }
}

function toOutcome(answer: CheckOutcome | boolean | void): CheckOutcome {
  if (answer === undefined || answer === true) return { status: 'pass' };
  if (answer === false) return { status: 'fail' };
  if (typeof answer === 'object' && answer !== null) return answer;
  return { status: 'fail', output: `check returned ${typeof answer}; expected nothing, a boolean or an object` };
}

function toEntry(definition: CheckDefinition): Entry {
  const where = `check "${String(definition?.name)}"`;
  if (!definition || typeof definition.name !== 'string' || definition.name.trim() === '') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'A check needs a non-empty string `name`.');
  }
  if (typeof definition.check !== 'function') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `${where}: \`check\` must be a function.`);
  }
  const probes = definition.probes ?? ['readiness'];
  if (!Array.isArray(probes) || probes.length === 0 || probes.some((p) => !PROBE_KINDS.includes(p))) {
    throw new BatonError(
      'BATON_ERR_INVALID_OPTION',
      `${where}: \`probes\` must be a non-empty list of ${PROBE_KINDS.join(', ')}; got ${JSON.stringify(probes)}.`,
    );
  }
  const timeoutMs = definition.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  assertPositiveMs(where, 'timeoutMs', timeoutMs);
  const cacheTtlMs = definition.cacheTtlMs ?? 0;
  assertNonNegativeMs(where, 'cacheTtlMs', cacheTtlMs);
  if (definition.intervalMs !== undefined) assertPositiveMs(where, 'intervalMs', definition.intervalMs);
  return {
    name: definition.name,
    check: definition.check,
    probes: [...new Set(probes)],
    critical: definition.critical ?? true,
    timeoutMs,
    cacheTtlMs,
    intervalMs: definition.intervalMs,
    shared: undefined,
    pendingSince: undefined,
    last: undefined,
    lastAt: 0,
    timer: undefined,
  };
}

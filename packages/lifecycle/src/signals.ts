import { BatonError } from './errors.js';
import { describe } from './internal/validate.js';
import type { Lifecycle } from './lifecycle.js';
import { ROUTER_DRAINS_FIRST_REASON, routerDrainsFirst } from './platform-environment.js';

/**
 * What a signal received while a shutdown is already running does:
 * `ignore` logs it and lets the drain and every hook finish; `force` cuts the
 * drain (hooks still get a short chance each), and a second forcing signal
 * stops at once.
 */
export type SecondSignalPolicy = 'force' | 'ignore';

/** One policy for every signal, or one per signal name (signals not named get the default). */
export type SecondSignalOption = SecondSignalPolicy | Partial<Record<NodeJS.Signals, SecondSignalPolicy>>;

/**
 * The default: platforms send SIGTERM once and SIGKILL at their deadline, so a
 * repeated SIGTERM (a supervisor retrying, a script sending it twice) must not
 * cut requests and skip the hooks that close pools and flush buffers; a
 * repeated SIGINT is a person at a terminal who wants out.
 */
export const DEFAULT_SECOND_SIGNAL_POLICY: Readonly<Partial<Record<NodeJS.Signals, SecondSignalPolicy>>> = Object.freeze({
  SIGTERM: 'ignore',
  SIGINT: 'force',
});

/** Options of {@link installSignalHandlers}. */
export interface SignalOptions {
  /** Default `['SIGTERM', 'SIGINT']`. */
  signals?: readonly NodeJS.Signals[];
  /**
   * What a signal does once a shutdown is running. Default
   * `{ SIGTERM: 'ignore', SIGINT: 'force' }` (other signals: `force`).
   * A single string applies to every signal (the form of earlier releases).
   */
  onSecondSignal?: SecondSignalOption;
  /**
   * The platform's router takes this instance out of traffic and waits for
   * its in-flight requests before sending SIGTERM, so a shutdown started by
   * SIGTERM skips the propagation delay (readiness still fails first; the
   * log line and the report say why). Default: `BATON_ROUTER_DRAINS_FIRST=1`
   * in the environment, as `baton deploy`'s platform sets it. Other signals
   * (a person's Ctrl-C or kill) keep the delay: no router drained for them.
   */
  routerDrainsFirst?: boolean;
  /** The process to listen on; injected in tests. Default `process`. */
  target?: Pick<NodeJS.Process, 'on' | 'off'>;
}

const POLICIES: readonly SecondSignalPolicy[] = ['force', 'ignore'];

/**
 * Validates a second-signal option and returns it as a per-signal table.
 * Throws BATON_ERR_INVALID_OPTION naming what is accepted.
 */
export function resolveSecondSignalPolicy(where: string, option: unknown): Readonly<Record<string, SecondSignalPolicy>> {
  // '*' stands for every signal the table does not name.
  if (typeof option === 'string') {
    if (!POLICIES.includes(option as SecondSignalPolicy)) throw invalidPolicy(where, option);
    return { '*': option as SecondSignalPolicy };
  }
  if (option === null || typeof option !== 'object' || Array.isArray(option)) throw invalidPolicy(where, option);
  const table: Record<string, SecondSignalPolicy> = { ...DEFAULT_SECOND_SIGNAL_POLICY, '*': 'force' };
  for (const [signal, policy] of Object.entries(option)) {
    if (!signal.startsWith('SIG')) {
      throw new BatonError('BATON_ERR_INVALID_OPTION', `${where}: \`onSecondSignal\` keys must be signal names like "SIGTERM"; got ${JSON.stringify(signal)}.`);
    }
    if (!POLICIES.includes(policy as SecondSignalPolicy)) {
      throw new BatonError(
        'BATON_ERR_INVALID_OPTION',
        `${where}: \`onSecondSignal.${signal}\` must be one of "force", "ignore"; got ${describe(policy)}.`,
      );
    }
    table[signal] = policy as SecondSignalPolicy;
  }
  return table;
}

function invalidPolicy(where: string, option: unknown): BatonError {
  return new BatonError(
    'BATON_ERR_INVALID_OPTION',
    `${where}: \`onSecondSignal\` must be one of "force", "ignore", or a table like { SIGTERM: "ignore", SIGINT: "force" }; got ${describe(option)}.`,
  );
}

function policyOf(table: Partial<Record<string, SecondSignalPolicy>>, signal: NodeJS.Signals): SecondSignalPolicy {
  return table[signal] ?? table['*'] ?? 'force';
}

/**
 * Starts a graceful shutdown on the first signal and applies the second-signal
 * policy to the next ones (see the README's signal table): by default a
 * repeated SIGTERM is logged and ignored, a repeated SIGINT forces (hooks
 * still get a short chance), and one more forcing signal stops at once. The
 * library never does this by itself: the runner (`serve()`, or your own code)
 * opts in. Returns a function that uninstalls.
 */
export function installSignalHandlers(lifecycle: Lifecycle, options: SignalOptions = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  if (!Array.isArray(signals) || signals.some((s) => typeof s !== 'string' || !s.startsWith('SIG'))) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `signals: expected a list of signal names like "SIGTERM"; got ${JSON.stringify(signals)}.`);
  }
  const table = resolveSecondSignalPolicy('signals', options.onSecondSignal ?? DEFAULT_SECOND_SIGNAL_POLICY);
  const target = options.target ?? process;
  // Read once: the platform sets it at spawn, for every stop of this instance.
  const drainedFirst = options.routerDrainsFirst ?? routerDrainsFirst();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!lifecycle.isShuttingDown) {
      lifecycle.logger.info('signal received: shutting down', { signal });
      void lifecycle.shutdown(signal, drainedFirst && signal === 'SIGTERM' ? { skipPropagationReason: ROUTER_DRAINS_FIRST_REASON } : {});
    } else if (policyOf(table, signal) === 'force') {
      void lifecycle.force(`repeated ${signal}`);
    } else {
      lifecycle.logger.warn('signal ignored: a shutdown is already running', { signal, state: lifecycle.state });
    }
  };
  for (const signal of signals) target.on(signal, onSignal);
  return () => {
    for (const signal of signals) target.off(signal, onSignal);
  };
}

/**
 * Catches `signals` until the returned function is called, which stops
 * catching and returns the ones received meanwhile, in order. For runners
 * whose framework starts up (loads plugins, opens a metrics port) before
 * `serve()` can install its handlers: without this, a SIGTERM in that window
 * kills the process with no drain and no exit code of Baton's. See
 * {@link startShutdownFor} for what to do with them. `onHeld` sees the list
 * after each one, e.g. to exit when a person presses Ctrl-C twice while a
 * plugin hangs (see {@link wantsOut}).
 */
export function holdSignals(
  signals: readonly NodeJS.Signals[],
  target: Pick<NodeJS.Process, 'on' | 'off'> = process,
  onHeld?: (held: readonly NodeJS.Signals[]) => void,
): () => NodeJS.Signals[] {
  const received: NodeJS.Signals[] = [];
  const hold = (signal: NodeJS.Signals): void => {
    received.push(signal);
    onHeld?.(received);
  };
  for (const signal of signals) target.on(signal, hold);
  return () => {
    for (const signal of signals) target.off(signal, hold);
    return received.splice(0);
  };
}

/**
 * Acts on signals caught by {@link holdSignals} before the runner's handlers
 * existed: the first starts the shutdown (so `serve()` does not listen at
 * all), the next ones are handed, in order, to the handlers installed since
 * (call it right after `serve()` was called, before awaiting it).
 */
export function startShutdownFor(
  lifecycle: Lifecycle,
  held: readonly NodeJS.Signals[],
): (target?: Pick<NodeJS.Process, 'emit'>) => void {
  const [first, ...rest] = held;
  if (first !== undefined && !lifecycle.isShuttingDown) {
    lifecycle.logger.info('signal received during startup: shutting down', { signal: first });
    void lifecycle.shutdown(first);
  }
  return (target = process) => {
    for (const signal of rest) (target.emit as (event: string, ...args: unknown[]) => boolean)(signal, signal);
  };
}

/**
 * True when the signals held so far say "stop now": a signal received while
 * another was already pending, whose policy (see {@link resolveSecondSignalPolicy})
 * is `force` — by default a second Ctrl-C. For runners holding signals during
 * a startup that may hang: nothing is served yet, so there is nothing to drain.
 */
export function wantsOut(held: readonly NodeJS.Signals[], onSecondSignal: SecondSignalOption = DEFAULT_SECOND_SIGNAL_POLICY): boolean {
  const last = held[held.length - 1];
  return held.length > 1 && last !== undefined && policyOf(resolveSecondSignalPolicy('signals', onSecondSignal), last) === 'force';
}

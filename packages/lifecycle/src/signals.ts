import { assertOneOf } from './internal/validate.js';
import { BatonError } from './errors.js';
import type { Lifecycle } from './lifecycle.js';

/** What a second SIGTERM/SIGINT during a shutdown does. */
export type SecondSignalPolicy = 'force' | 'ignore';

/** Options of {@link installSignalHandlers}. */
export interface SignalOptions {
  /** Default `['SIGTERM', 'SIGINT']`. */
  signals?: readonly NodeJS.Signals[];
  /** `force` (default) cuts the remaining phases, as an impatient Ctrl-C expects; `ignore` lets the drain finish. */
  onSecondSignal?: SecondSignalPolicy;
  /** The process to listen on; injected in tests. Default `process`. */
  target?: Pick<NodeJS.Process, 'on' | 'off'>;
}

/**
 * Starts a graceful shutdown on the first signal and applies the second-signal
 * policy to the next ones. The library never does this by itself: the runner
 * (`serve()`, or your own code) opts in. Returns a function that uninstalls.
 */
export function installSignalHandlers(lifecycle: Lifecycle, options: SignalOptions = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  if (!Array.isArray(signals) || signals.some((s) => typeof s !== 'string' || !s.startsWith('SIG'))) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `signals: expected a list of signal names like "SIGTERM"; got ${JSON.stringify(signals)}.`);
  }
  const policy = options.onSecondSignal ?? 'force';
  assertOneOf('signals', 'onSecondSignal', policy, ['force', 'ignore'] as const);
  const target = options.target ?? process;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!lifecycle.isShuttingDown) {
      lifecycle.logger.info('signal received: shutting down', { signal });
      void lifecycle.shutdown(signal);
    } else if (policy === 'force') {
      void lifecycle.force(`second ${signal}`);
    } else {
      lifecycle.logger.warn('signal ignored: a shutdown is already running', { signal, state: lifecycle.state });
    }
  };
  for (const signal of signals) target.on(signal, onSignal);
  return () => {
    for (const signal of signals) target.off(signal, onSignal);
  };
}

import type { Logger } from '@baton/lifecycle';

/** A logger whose destination can be chosen after the lifecycle that holds it was created. */
export interface SwitchableLogger extends Logger {
  /** Sends every later entry to `target`. */
  switchTo(target: Logger): void;
}

/**
 * `baton(app)` must create its lifecycle at once (so checks and hooks can be
 * added before serving), but whether it logs depends on how the app is run
 * later: quiet as a library (`listen`, tests), JSON lines on stderr under the
 * runner (`serve`), as the core `serve()` does. A lifecycle's logger cannot be
 * replaced, so it gets this forwarder instead.
 */
export function createSwitchableLogger(initial: Logger): SwitchableLogger {
  let target = initial;
  return {
    info: (message, fields) => target.info(message, fields),
    warn: (message, fields) => target.warn(message, fields),
    error: (message, fields) => target.error(message, fields),
    switchTo(next) {
      target = next;
    },
  };
}

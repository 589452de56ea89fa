// Time limits of a lifecycle: a pause a shutdown can cut short, a deadline
// over startup work, and a shutdown hook's budget that a force shortens.
import { BatonError } from '../errors.js';
import type { ShutdownHook } from '../lifecycle-options.js';

/** Resolves true after `ms`, or false at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Rejects with a timeout error after `ms`, or at once when `signal` aborts. */
export async function raceDeadline<T>(
  work: Promise<T>,
  ms: number,
  signal: AbortSignal,
  what: string,
  code: 'BATON_ERR_STARTUP_TIMEOUT' | 'BATON_ERR_HOOK_TIMEOUT',
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BatonError(code, `${what} did not finish within ${ms} ms.`)), Math.max(0, ms));
    onAbort = () => reject(new BatonError('BATON_ERR_INVALID_STATE', `${what} abandoned: shutdown began.`));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  work.catch(() => {}); // a late rejection after the deadline must not become unhandled
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Runs one shutdown hook within `limit`. Once the shutdown is forced (even
 * while the hook runs) it has at most `forcedLimit` left; a second force
 * abandons it at once.
 */
export function runHook(
  hook: ShutdownHook,
  signal: AbortSignal,
  limit: number,
  forcedLimit: number,
  force: AbortSignal,
  abandon: AbortSignal,
): Promise<void> {
  const work = Promise.resolve().then(() => hook.run({ signal }));
  work.catch(() => {}); // a late rejection after the deadline must not become unhandled
  return new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const started = Date.now();
    const arm = (ms: number): void => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(new BatonError('BATON_ERR_HOOK_TIMEOUT', `shutdown hook "${hook.name}" did not finish within ${ms} ms.`)), Math.max(0, ms));
    };
    const onForce = (): void => {
      const left = limit - (Date.now() - started);
      if (left > forcedLimit) arm(forcedLimit);
    };
    const onAbandon = (): void => finish(new BatonError('BATON_ERR_INVALID_STATE', `shutdown hook "${hook.name}" abandoned: shutdown forced twice.`));
    const finish = (error?: unknown): void => {
      clearTimeout(timer);
      force.removeEventListener('abort', onForce);
      abandon.removeEventListener('abort', onAbandon);
      if (error === undefined) resolve();
      else reject(error);
    };
    arm(force.aborted ? Math.min(limit, forcedLimit) : limit);
    if (!force.aborted) force.addEventListener('abort', onForce, { once: true });
    abandon.addEventListener('abort', onAbandon, { once: true });
    work.then(() => finish(), (error: unknown) => finish(error ?? new Error('rejected')));
  });
}

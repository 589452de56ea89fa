/**
 * Resolves after `ms`, or rejects with the signal's own reason as soon as it
 * aborts (not a generic AbortError, as `timers/promises` gives: callers tell
 * their reasons apart). Not unref'd: the caller is awaiting it.
 *
 * @example
 * await abortableDelay(200, deploy.signal); // throws whatever deploy was aborted with
 */
export function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

import { defaultCloseLongLived, type CloseLongLived } from '@baton/lifecycle';

/**
 * Works around the core treating any response whose request says
 * `Accept: text/event-stream` as an SSE stream: at the drain it would end an
 * ordinary request still being computed, and the client would get an empty
 * 200. A real stream has sent its headers already; a response that has not is
 * left to finish (or to the drain deadline) instead.
 */
export function guardCloseLongLived(close: CloseLongLived | undefined): CloseLongLived {
  // Anything but a function is left for the core to reject with a clear message.
  if (close !== undefined && typeof close !== 'function') return close as CloseLongLived;
  const next = close ?? defaultCloseLongLived;
  return (connection) => {
    if (connection.kind === 'event-stream' && !connection.response.headersSent) return;
    return next(connection);
  };
}

/** The `route` label of requests that matched no route (404s, bad paths): one value for all of them. */
export const UNMATCHED_ROUTE = '(unmatched)';

/** The `method` label of any method outside {@link KNOWN_METHODS} (as OpenTelemetry does), so odd methods cannot add series. */
export const OTHER_METHOD = '_OTHER';

/**
 * The status code recorded when the connection closed before the response
 * was complete (the client went away, or the socket was destroyed): nginx's
 * "client closed request".
 */
export const CLOSED_BEFORE_RESPONSE_STATUS = 499;

/** The methods that keep their own `method` label value. */
export const KNOWN_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

/** The `method` label for a request method. */
export function methodLabel(method: string | undefined): string {
  return method !== undefined && KNOWN_METHODS.has(method) ? method : OTHER_METHOD;
}

/** `503` → `'5xx'`. */
export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

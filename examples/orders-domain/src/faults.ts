/**
 * Deliberate faults, to make a bad release on purpose: the demo deploys a
 * release that answers a share of its API requests with 500, and the tests
 * deploy slow ones and ones that crash. Probes and /metrics are never
 * touched — a bad release must look healthy to its probes, as real ones do,
 * so only the metrics can catch it.
 */
export interface Faults {
  /** Share of API requests answered with 500 `injected_fault`, 0–1 (ORDERS_FAULT_ERROR_RATE). */
  errorRate: number;
  /** Added to every API request, in ms (ORDERS_FAULT_DELAY_MS). */
  delayMs: number;
  /** The process dies this long after it is ready, without draining (ORDERS_CRASH_AFTER_MS). */
  crashAfterMs?: number;
}

export const NO_FAULTS: Faults = { errorRate: 0, delayMs: 0 };

/** What to do to one request. */
export interface FaultDecision {
  fail: boolean;
  delayMs: number;
}

/** The routes faults apply to: the API, never probes or metrics. */
export function isFaultableRoute(path: string): boolean {
  return path === '/orders' || path.startsWith('/orders/') || path === '/slow';
}

/**
 * Decides request by request. Failures are spread evenly rather than drawn at
 * random, so a 20% error rate fails exactly one request in five and a test or
 * the demo can count on it.
 */
export function createFaultInjector(faults: Faults): () => FaultDecision {
  let seen = 0;
  return () => {
    seen += 1;
    const fail = faults.errorRate > 0 && Math.floor(seen * faults.errorRate) > Math.floor((seen - 1) * faults.errorRate);
    return { fail, delayMs: faults.delayMs };
  };
}

/** The body of an injected 500. */
export const INJECTED_FAULT_BODY = { error: 'injected_fault', message: 'This release answers a share of requests with 500 on purpose (ORDERS_FAULT_ERROR_RATE).' } as const;

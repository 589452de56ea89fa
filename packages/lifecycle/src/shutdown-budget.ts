import { BatonError } from './errors.js';
import { assertNonNegativeMs, assertPositiveMs } from './internal/validate.js';

/** How long each shutdown phase may take. Their sum must fit in `gracePeriodMs`. */
export interface ShutdownBudgetOptions {
  /**
   * After readiness fails, keep accepting and serving this long (with
   * `Connection: close`) so load balancers notice before the listener closes.
   * Default 5000 ms: Kubernetes endpoint removal reaches kube-proxy and
   * ingress controllers within a few seconds. Set it above your load
   * balancer's detection time (HAProxy: `inter` x `fall`). Use 0 in tests.
   */
  propagationDelayMs?: number;
  /** In-flight requests and long-lived connections get this long after the listener closes. Default 15000 ms. */
  drainTimeoutMs?: number;
  /** All shutdown hooks together get this long. Default 5000 ms. */
  hooksTimeoutMs?: number;
  /**
   * What the platform allows between SIGTERM and SIGKILL (Kubernetes
   * `terminationGracePeriodSeconds`, default 30 s). Default 30000 ms.
   */
  gracePeriodMs?: number;
  /** Left free inside the grace period for exit and scheduling jitter. Default 1000 ms. */
  safetyMarginMs?: number;
}

/** A validated budget. */
export type ShutdownBudget = Required<ShutdownBudgetOptions>;

const DEFAULTS: ShutdownBudget = {
  propagationDelayMs: 5000,
  drainTimeoutMs: 15000,
  hooksTimeoutMs: 5000,
  gracePeriodMs: 30000,
  safetyMarginMs: 1000,
};

/**
 * Validates a shutdown budget and resolves its defaults. Throws
 * BATON_ERR_BUDGET_EXCEEDS_GRACE when the phases cannot finish before the
 * platform kills the process, so the mistake shows at startup, not in production.
 */
export function resolveShutdownBudget(options: ShutdownBudgetOptions = {}): ShutdownBudget {
  const budget: ShutdownBudget = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as (keyof ShutdownBudget)[]) {
    const value = options[key];
    if (value !== undefined) budget[key] = value;
  }
  const where = 'shutdown';
  assertNonNegativeMs(where, 'propagationDelayMs', budget.propagationDelayMs);
  assertPositiveMs(where, 'drainTimeoutMs', budget.drainTimeoutMs);
  assertPositiveMs(where, 'hooksTimeoutMs', budget.hooksTimeoutMs);
  assertPositiveMs(where, 'gracePeriodMs', budget.gracePeriodMs);
  assertNonNegativeMs(where, 'safetyMarginMs', budget.safetyMarginMs);
  const total = totalMs(budget);
  if (total + budget.safetyMarginMs > budget.gracePeriodMs) {
    throw new BatonError(
      'BATON_ERR_BUDGET_EXCEEDS_GRACE',
      `The shutdown phases need ${total} ms (propagation ${budget.propagationDelayMs} + drain ${budget.drainTimeoutMs} + hooks ${budget.hooksTimeoutMs})` +
        ` plus a ${budget.safetyMarginMs} ms safety margin, but the grace period is ${budget.gracePeriodMs} ms. ` +
        `Shorten a phase or raise gracePeriodMs (and your platform's grace period, e.g. Kubernetes terminationGracePeriodSeconds, to match).`,
    );
  }
  return budget;
}

/** The longest a shutdown can take with this budget. */
export function totalMs(budget: ShutdownBudget): number {
  return budget.propagationDelayMs + budget.drainTimeoutMs + budget.hooksTimeoutMs;
}

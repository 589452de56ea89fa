import { ConfigError, type ServiceConfig } from './config.js';
import type { OrderStore } from './order-store.js';

/** The shutdown budget the environment asked for, in the shape Baton's lifecycle options take. */
export function shutdownBudgetFrom(config: ServiceConfig): { propagationDelayMs: number; drainTimeoutMs?: number; gracePeriodMs?: number } {
  const budget: { propagationDelayMs: number; drainTimeoutMs?: number; gracePeriodMs?: number } = { propagationDelayMs: config.propagationDelayMs };
  if (config.drainTimeoutMs !== undefined) budget.drainTimeoutMs = config.drainTimeoutMs;
  if (config.gracePeriodMs !== undefined) budget.gracePeriodMs = config.gracePeriodMs;
  return budget;
}

/** The metrics endpoint the environment asked for (token, own port), in the shape the adapters' `metricsEndpoint` takes. */
export function metricsEndpointFrom(config: ServiceConfig): { token?: string; port?: number; host?: string } {
  const endpoint: { token?: string; port?: number; host?: string } = {};
  if (config.metricsToken !== undefined) endpoint.token = config.metricsToken;
  if (config.metricsPort !== undefined) {
    endpoint.port = config.metricsPort;
    endpoint.host = config.host;
  }
  return endpoint;
}

/**
 * The service's startup work, which readiness waits for: opening the store
 * (with PostgreSQL: the migrations, then listening for events), then the
 * artificial delay (BATON_STARTUP_DELAY_MS, cut short by a shutdown during
 * startup). A store that cannot open fails the startup: the process exits 1
 * without ever taking traffic.
 */
export function startupWorkFrom(config: ServiceConfig, store: OrderStore): { startup: (context: { signal: AbortSignal }) => Promise<void> } {
  return {
    startup: async ({ signal }) => {
      await store.open();
      if (config.startupDelayMs <= 0 || signal.aborted) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, config.startupDelayMs);
        signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    },
  };
}

/**
 * Says why the service cannot start and exits 1. Configuration and Baton's
 * own errors (which carry a `BATON_ERR_*` code) are clear already: their
 * message alone; anything else gets its stack.
 */
export function failStartup(service: string, error: unknown): never {
  const clear = error instanceof ConfigError || (error instanceof Error && String((error as { code?: unknown }).code).startsWith('BATON_ERR_'));
  const message = clear ? (error as Error).message : error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`${service}: cannot start: ${message}\n`);
  process.exit(1);
}

/**
 * A release that crashes on purpose (ORDERS_CRASH_AFTER_MS): the process dies
 * that long after it listens, abruptly — no drain, exit code 70 — as a release
 * with a fatal bug would.
 */
export function scheduleCrash(service: string, config: ServiceConfig): void {
  const after = config.faults?.crashAfterMs;
  if (after === undefined) return;
  setTimeout(() => {
    process.stderr.write(`${JSON.stringify({ level: 'fatal', name: service, msg: `crashing on purpose (ORDERS_CRASH_AFTER_MS=${after})` })}\n`);
    process.exit(70);
  }, after);
}

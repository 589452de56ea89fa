import type { Faults } from './faults.js';
import { toggleSourceFromEnv, type ToggleSource } from '@baton/toggles';
import { ordersToggles } from './toggles.js';

/** The service's configuration, read from the environment once at startup. */
export interface ServiceConfig {
  port: number;
  host: string;
  release: string;
  propagationDelayMs: number;
  drainTimeoutMs?: number;
  gracePeriodMs?: number;
  /** Artificial startup work, to make the startup probe and readiness gating visible. */
  startupDelayMs: number;
  /** `instance` label of the metrics (BATON_INSTANCE); none by default. */
  instance?: string;
  /** Bearer token the metrics endpoint asks for (BATON_METRICS_TOKEN); none by default. */
  metricsToken?: string;
  /** Serve /metrics on a port of its own (BATON_METRICS_PORT); default on the app's port. */
  metricsPort?: number;
  /** Where toggle values come from: UNLEASH_URL + UNLEASH_API_TOKEN, else BATON_TOGGLES_FILE, else the registry defaults. */
  toggles: ToggleSource;
  /** Toggles a request may override with the x-baton-toggles header (BATON_TOGGLE_OVERRIDES, comma-separated); none by default. */
  toggleOverrides?: string[];
  /** Deliberate faults (ORDERS_FAULT_ERROR_RATE, ORDERS_FAULT_DELAY_MS, ORDERS_CRASH_AFTER_MS); none by default. */
  faults?: Faults;
  /** PostgreSQL to keep the orders in (DATABASE_URL); none by default: the orders stay in this process's memory. */
  databaseUrl?: string;
}

/** The environment is wrong; `problems` lists every bad variable. */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Reads PORT (default 3000; 0 = ephemeral), HOST (default 127.0.0.1),
 * RELEASE (default `dev`), BATON_PROPAGATION_DELAY_MS (default 5000),
 * BATON_DRAIN_TIMEOUT_MS, BATON_GRACE_PERIOD_MS, BATON_STARTUP_DELAY_MS
 * (default 0), and for the metrics BATON_INSTANCE, BATON_METRICS_TOKEN and
 * BATON_METRICS_PORT (all optional), the toggle source (see
 * `toggleSourceFromEnv`), BATON_TOGGLE_OVERRIDES and DATABASE_URL (a
 * `postgres://` URL; without it the orders are kept in memory). Throws a ConfigError
 * naming every bad variable.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): ServiceConfig {
  const problems: string[] = [];
  const integer = (name: string, fallback: number | undefined, min: number, max: number): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const value = /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}; got ${JSON.stringify(raw)}.`);
      return fallback;
    }
    return value;
  };
  const port = integer('PORT', 3000, 0, 65535) ?? 3000;
  const propagationDelayMs = integer('BATON_PROPAGATION_DELAY_MS', 5000, 0, 3_600_000) ?? 5000;
  const drainTimeoutMs = integer('BATON_DRAIN_TIMEOUT_MS', undefined, 1, 3_600_000);
  const gracePeriodMs = integer('BATON_GRACE_PERIOD_MS', undefined, 1, 3_600_000);
  const startupDelayMs = integer('BATON_STARTUP_DELAY_MS', 0, 0, 3_600_000) ?? 0;
  const host = env.HOST?.trim() || '127.0.0.1';
  const release = env.RELEASE?.trim() || 'dev';
  if (/\s/.test(release)) problems.push(`RELEASE must not contain spaces; got ${JSON.stringify(env.RELEASE)}.`);
  const metricsPort = integer('BATON_METRICS_PORT', undefined, 0, 65535);
  const instance = env.BATON_INSTANCE?.trim() || undefined;
  const metricsToken = env.BATON_METRICS_TOKEN?.trim() || undefined;
  if (metricsToken !== undefined && /\s/.test(metricsToken)) problems.push('BATON_METRICS_TOKEN must not contain spaces.');
  let toggles: ToggleSource = { type: 'defaults' };
  try {
    toggles = toggleSourceFromEnv(env);
  } catch (error) {
    problems.push((error as Error).message.replace(/^toggles: /, ''));
  }
  const overrides = env.BATON_TOGGLE_OVERRIDES?.split(',').map((name) => name.trim()).filter((name) => name !== '');
  const unknownOverrides = (overrides ?? []).filter((name) => !ordersToggles.has(name));
  if (unknownOverrides.length > 0) problems.push(`BATON_TOGGLE_OVERRIDES names toggles this service does not have: ${unknownOverrides.join(', ')}; known: ${ordersToggles.names.join(', ')}.`);
  const faults = faultsFrom(env, problems, integer);
  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\/./.test(databaseUrl)) problems.push('DATABASE_URL must be a postgres:// (or postgresql://) URL.');
  if (problems.length > 0) throw new ConfigError(problems);
  const config: ServiceConfig = { port, host, release, propagationDelayMs, startupDelayMs, toggles };
  if (overrides !== undefined && overrides.length > 0) config.toggleOverrides = overrides;
  if (instance !== undefined) config.instance = instance;
  if (metricsToken !== undefined) config.metricsToken = metricsToken;
  if (metricsPort !== undefined) config.metricsPort = metricsPort;
  if (drainTimeoutMs !== undefined) config.drainTimeoutMs = drainTimeoutMs;
  if (gracePeriodMs !== undefined) config.gracePeriodMs = gracePeriodMs;
  if (faults !== undefined) config.faults = faults;
  if (databaseUrl !== undefined) config.databaseUrl = databaseUrl;
  return config;
}

/**
 * The one line `main.ts` prints on stdout once listening. Tests, the demo and
 * the benchmarks read it to find the ephemeral port: its shape is a contract.
 */
export function formatListeningLine(info: { port: number; release: string; framework: 'express' | 'fastify' }): string {
  return `${JSON.stringify({ event: 'listening', port: info.port, url: `http://127.0.0.1:${info.port}`, release: info.release, framework: info.framework })}\n`;
}

function faultsFrom(
  env: Record<string, string | undefined>,
  problems: string[],
  integer: (name: string, fallback: number | undefined, min: number, max: number) => number | undefined,
): Faults | undefined {
  const rateText = env.ORDERS_FAULT_ERROR_RATE?.trim();
  let errorRate = 0;
  if (rateText !== undefined && rateText !== '') {
    errorRate = Number(rateText);
    if (!Number.isFinite(errorRate) || errorRate < 0 || errorRate > 1) {
      problems.push(`ORDERS_FAULT_ERROR_RATE must be a fraction from 0 to 1 (0.2 = one request in five); got ${JSON.stringify(env.ORDERS_FAULT_ERROR_RATE)}.`);
      errorRate = 0;
    }
  }
  const delayMs = integer('ORDERS_FAULT_DELAY_MS', 0, 0, 60_000) ?? 0;
  const crashAfterMs = integer('ORDERS_CRASH_AFTER_MS', undefined, 0, 86_400_000);
  if (errorRate === 0 && delayMs === 0 && crashAfterMs === undefined) return undefined;
  return crashAfterMs === undefined ? { errorRate, delayMs } : { errorRate, delayMs, crashAfterMs };
}

// Shared set-up of the deploy end-to-end tests: a service's state directory,
// releases of the real orders service, and a steady load with honest counting.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readStatus, resolveDeployConfig, runDeployCommand, stopService, type DeployCommandOutcome, type DeployConfig, type DeployEvent, type ReleaseSpec, type ResolvedDeployConfig } from '@baton/deploy';
import { startLoad, type LoadReport, type RunningLoad } from '../harness/index.js';

export const SERVICE_MAIN = fileURLToPath(new URL('../../../examples/orders-express/dist/main.js', import.meta.url));

/** A release of the orders service; `env` makes it a bad one on purpose (ORDERS_FAULT_ERROR_RATE...). */
export function release(version: string, env: Record<string, string> = {}): ReleaseSpec {
  return { version, command: process.execPath, args: [SERVICE_MAIN], env: { BATON_PROPAGATION_DELAY_MS: '200', ...env } };
}

/** The load every deploy test runs: reads and writes on keep-alive connections, bounded in count and time. */
export function steadyLoad(url: string, ratePerSecond = 150): RunningLoad {
  return startLoad({
    url,
    connections: 12,
    ratePerSecond,
    maxDurationMs: 90_000,
    maxRequests: 40_000,
    timeoutMs: 5000,
    requests: [{ path: '/orders?limit=5' }, { method: 'POST', path: '/orders', body: JSON.stringify({ customer: 'ada', items: [{ sku: 'e2e-1', quantity: 1 }] }) }],
  });
}

/** A service under test: its config, its events, and helpers to deploy and to tear everything down. */
export interface DeployedService {
  stateDir: string;
  events: DeployEvent[];
  config(release: ReleaseSpec, overrides?: Partial<DeployConfig>): ResolvedDeployConfig;
  /** Runs a deploy here; `onEvent` sees each event as it happens (after it is recorded in `events`). */
  deploy(release: ReleaseSpec, overrides?: Partial<DeployConfig>, onEvent?: (event: DeployEvent) => void): Promise<DeployCommandOutcome>;
  routerUrl(): Promise<string>;
  /** Release versions of the router's backends that get traffic now. */
  servingReleases(): Promise<string[]>;
  /** The deploy events (ms after `since`, epoch ms) and the tail of HAProxy's log, for a failure message. */
  timeline(since: number): string;
  close(): Promise<void>;
}

export async function createService(base: Partial<DeployConfig>): Promise<DeployedService> {
  // Short: the routers' unix sockets live under it (107 bytes at most).
  const stateDir = await mkdtemp('/tmp/bd-');
  const events: DeployEvent[] = [];
  const eventTimes: number[] = [];
  const config = (spec: ReleaseSpec, overrides: Partial<DeployConfig> = {}): ResolvedDeployConfig =>
    resolveDeployConfig(
      {
        service: 'orders',
        instances: 3,
        stateDir,
        timeouts: { readyMs: 15_000, drainMs: 10_000, stopMs: 10_000 },
        ...base,
        ...overrides,
        release: spec,
      },
      { cwd: stateDir },
    );
  return {
    stateDir,
    events,
    config,
    deploy: (spec, overrides, onEvent) =>
      runDeployCommand(config(spec, overrides), 'deploy', {
        onEvent: (event) => {
          events.push(event);
          eventTimes.push(Date.now());
          onEvent?.(event);
        },
      }),
    async routerUrl() {
      const status = await readStatus(config(release('any')));
      if (status.router === undefined || 'error' in status.router) throw new Error(`no router: ${JSON.stringify(status.router)}`);
      return status.router.url;
    },
    async servingReleases() {
      const status = await readStatus(config(release('any')));
      if (status.router === undefined || 'error' in status.router) return [];
      return [...new Set(status.router.backends.filter((backend) => backend.state === 'ready' && backend.weight > 0).map((backend) => backend.release))].sort();
    },
    timeline(since) {
      const lines = events.map((event, index) => `  +${(eventTimes[index] ?? since) - since} ms ${event.type}: ${event.message}`);
      // The HAProxy router logs only abnormal sessions (a 503 says which server, or none, it had).
      const logPath = join(stateDir, 'r', 'haproxy.log');
      const log = existsSync(logPath) ? readFileSync(logPath, 'utf8').trim().split('\n').slice(-30) : [];
      return [`deploy events (ms after the load started):`, ...lines, ...(log.length > 0 ? ['HAProxy log (tail):', ...log.map((line) => `  ${line}`)] : [])].join('\n');
    },
    async close() {
      await stopService(config(release('any'))).catch(() => undefined);
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * Every failed request of a load, for an assertion message; with the service,
 * also its deploy events and its router's log, on the load's clock, so a
 * failure can be placed in the deploy.
 */
export function failuresOf(report: LoadReport, service?: DeployedService): string {
  const summary = `${report.failed} failed of ${report.sent} sent (statuses ${JSON.stringify(report.statuses)}, resets ${report.resets}, errors ${report.errors}, timeouts ${report.timeouts}, lost ${report.lost}); first: ${JSON.stringify(report.failures.slice(0, 5))}`;
  return service && report.failed > 0 ? `${summary}\n${service.timeline(report.startedAt)}` : summary;
}

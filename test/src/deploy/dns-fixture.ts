// Shared set-up of the DNS blue/green tests: a real BIND server, a port free
// on both stacks' loopback addresses, the switch's config, and clients that
// know the service only by name.
import { createServer } from 'node:net';
import { dnsRecord, findFreePort, type DeployConfig, type DeployEvent, type DnsRecord } from '@baton/deploy';
import { startNamed, type RunningNamed } from '@baton/testing';
import { startDnsLoad, type DnsLoadReport, type RunningDnsLoad } from '../harness/dns-load.js';
import type { DeployedService } from './deploy-fixture.js';

export const BLUE = '127.0.0.2';
export const GREEN = '127.0.0.3';
export const NAME = 'orders.baton.test';

/** A port free on both stacks' addresses: a record carries an address, so both routers listen on the same port. */
export async function portFreeOnBoth(): Promise<number> {
  for (let attempt = 0; ; attempt += 1) {
    const port = await findFreePort(BLUE);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, GREEN, () => server.close(() => resolve(true)));
    });
    if (free || attempt > 20) return port;
  }
}

/** A DNS server of the test's own, with the key's secret in `secretEnv` (put back as it was by `close`). */
export interface DnsRig {
  named: RunningNamed;
  port: number;
  secretEnv: string;
  /** The blue/green strategy switching by DNS through this server; `overrides` go on the strategy, `switchOverrides` on its switch. */
  strategy(overrides?: Record<string, unknown>, switchOverrides?: Record<string, unknown>): NonNullable<DeployConfig['strategy']>;
  /** The service's A record, read and written with the right key. */
  record(): DnsRecord;
  /** Keep-alive clients, clients opening a connection per request (each looks the name up, from its cache within the TTL), and sticky ones. */
  load(options?: { clients?: number; freshConnectionClients?: number; stickyClients?: number }): RunningDnsLoad;
  close(): Promise<void>;
}

export async function startDnsRig(secretEnv: string): Promise<DnsRig> {
  const named = await startNamed({ zone: 'baton.test' });
  const saved = process.env[secretEnv];
  process.env[secretEnv] = named.key.secret;
  const port = await portFreeOnBoth();
  return {
    named,
    port,
    secretEnv,
    strategy: (overrides = {}, switchOverrides = {}) =>
      ({
        type: 'blue-green',
        rollbackWindowMs: 2000,
        ...overrides,
        switch: {
          kind: 'dns',
          server: `${named.host}:${named.port}`,
          zone: named.zone,
          name: NAME,
          key: { name: named.key.name, algorithm: named.key.algorithm, secretEnv },
          ttl: 4,
          lowerTtlTo: 2,
          marginMs: 1000,
          deadlineMs: 30_000,
          stacks: { blue: { address: BLUE }, green: { address: GREEN } },
          ...switchOverrides,
        },
      }) as NonNullable<DeployConfig['strategy']>,
    record: () => dnsRecord({ server: { host: named.host, port: named.port }, zone: named.zone, name: NAME, type: 'A', key: named.key }),
    load: (options = {}) =>
      startDnsLoad({
        name: NAME,
        port,
        resolver: { host: named.host, port: named.port },
        paths: ['/orders?limit=5'],
        clients: options.clients ?? 3,
        freshConnectionClients: options.freshConnectionClients ?? 2,
        stickyClients: options.stickyClients ?? 0,
        maxDurationMs: 120_000,
        maxRequests: 40_000,
      }),
    async close() {
      await named.close();
      if (saved === undefined) delete process.env[secretEnv];
      else process.env[secretEnv] = saved;
    },
  };
}

/** The clients' failures for an assertion message, with the deploy's events on the load's clock. */
export function summary(report: DnsLoadReport, service?: DeployedService): string {
  const t0 = report.results[0]?.atMs ?? 0;
  const failedAt = report.failed.slice(0, 3).map((result) => `+${result.atMs - t0} ms`);
  return `${service === undefined ? '' : `${service.timeline(t0)}\nfailures at ${failedAt.join(', ')} (load clock)\n`}${report.failed.length} failed of ${report.results.length} (by address ${JSON.stringify(report.byAddress)}); first failures: ${JSON.stringify(report.failed.slice(0, 5))}`;
}

export function eventsOf(events: readonly DeployEvent[], type: string, since = 0): DeployEvent[] {
  return events.filter((event) => event.type === type && event.atMs >= since);
}

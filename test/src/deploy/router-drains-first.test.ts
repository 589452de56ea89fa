// `baton deploy` drains an instance at the router before it sends SIGTERM, and
// tells the instance so (BATON_ROUTER_DRAINS_FIRST=1): a service served through
// Baton with every default (a 5 s propagation delay) then skips the delay, which
// would wait for nothing, and still loses no request. Also `baton down`, which
// takes the instances out of the router first too. And the instances listen on
// the interface the platform gives (127.0.0.1), not on every interface.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { stopService, type DeployEvent, type ReleaseSpec } from '@baton/deploy';
import { haproxyInstalled } from '@baton/router-haproxy';
import { startLoad } from '../harness/index.js';
import { createService, failuresOf, type DeployedService } from './deploy-fixture.js';

// The READMEs' apps, with nothing of Baton's configured: the default shutdown budget.
const apps = {
  express: fileURLToPath(new URL('../../../packages/express/fixtures/plain-app.mjs', import.meta.url)),
  fastify: fileURLToPath(new URL('../../../packages/fastify/fixtures/plain-app.mjs', import.meta.url)),
};

const routers = haproxyInstalled() ? (['builtin', 'haproxy'] as const) : (['builtin'] as const);
if (!haproxyInstalled()) console.log('router drains first: haproxy is not installed (apt-get install haproxy; .ci/run does) — only the built-in router is tested');

let service: DeployedService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

interface LogLine {
  msg?: string;
  [field: string]: unknown;
}

/** The JSON lines of an instance's log (the platform keeps it at <stateDir>/instances/logs/<id>.log). */
function instanceLog(stateDir: string, id: string): LogLine[] {
  const path = join(stateDir, 'instances', 'logs', `${id}.log`);
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

/** How the instance's shutdown began, from its own log: what it says of the propagation delay. */
function shutdownOf(stateDir: string, id: string): { started: LogLine | undefined; propagation: LogLine | undefined } {
  const lines = instanceLog(stateDir, id);
  return { started: lines.find((line) => line.msg === 'shutdown started'), propagation: lines.find((line) => line.msg === 'shutdown phase: propagation') };
}

/** The local addresses (hex, as /proc/net/tcp writes them) of the sockets listening on `port`. */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      // local_address is field 1 (ADDRESS:PORT), st is field 3 (0A: LISTEN).
      .filter((fields) => fields[3] === '0A' && fields[1]?.endsWith(`:${hexPort}`))
      .map((fields) => (fields[1] as string).split(':')[0] as string),
  );
}

const LOOPBACK_HEX = '0100007F';

function releaseOf(app: string, version: string): ReleaseSpec {
  return { version, command: process.execPath, args: [app] };
}

const ids = (events: DeployEvent[], type: string, version: string): string[] =>
  events.filter((event) => event.type === type && event.data?.['release'] === version).map((event) => String(event.data?.['id']));

for (const router of routers) {
  describe(`behind the ${router} router`, () => {
    for (const [name, app] of Object.entries(apps)) {
      it(`a rolling deploy of the README's ${name} app loses no request, and the old instances skip their 5 s propagation delay; so does baton down`, async () => {
        service = await createService({ router: { kind: router }, instances: 2, strategy: { type: 'rolling', maxSurge: 1, maxUnavailable: 0 } });
        const first = await service.deploy(releaseOf(app, 'v1'));
        expect(first.phase, first.reason).toBe('succeeded');

        // Only the router reaches an instance: it listens on the platform's HOST, 127.0.0.1.
        if (process.platform === 'linux') {
          for (const event of service.events.filter((candidate) => candidate.type === 'instance-started')) {
            expect(listeningAddresses(Number(event.data?.['port'])), `instance ${String(event.data?.['id'])}`).toEqual([LOOPBACK_HEX]);
          }
        }

        const load = startLoad({ url: await service.routerUrl(), connections: 8, ratePerSecond: 150, maxDurationMs: 90_000, maxRequests: 40_000, timeoutMs: 5000, requests: [{ path: '/hello' }] });
        await load.waitForResponses(100, 20_000);
        const outcome = await service.deploy(releaseOf(app, 'v2'));
        // Keep the load on a moment after the last v1 instance left.
        await load.waitForResponses(load.responses() + 50, 30_000);
        const report = await load.stop();
        expect(outcome.phase, outcome.reason).toBe('succeeded');
        expect(report.failed, failuresOf(report, service)).toBe(0);
        expect(report.ok).toBeGreaterThan(100);

        // Each v1 instance was drained at the router, then stopped: its own shutdown skipped the delay, and said why.
        const stopped = ids(service.events, 'instance-stopped', 'v1');
        expect(stopped).toHaveLength(2);
        expect(service.events.filter((event) => event.type === 'instance-stopped').every((event) => event.data?.['drained'] === true)).toBe(true);
        for (const id of stopped) {
          const { started, propagation } = shutdownOf(service.stateDir, id);
          expect(started, `the log of ${id}`).toMatchObject({ reason: 'SIGTERM', propagationDelayMs: 0, propagationSkipped: expect.stringContaining('BATON_ROUTER_DRAINS_FIRST=1') });
          expect(propagation, `the log of ${id}`).toMatchObject({ budgetMs: 0 });
        }

        // baton down drains the router first too, so v2's instances skip the delay as well.
        const downEvents: DeployEvent[] = [];
        await stopService(service.config(releaseOf(app, 'v2')), { onEvent: (event) => downEvents.push(event) });
        expect(downEvents.find((event) => event.type === 'drained')?.data).toMatchObject({ drained: true });
        for (const id of ids(service.events, 'instance-ready', 'v2')) {
          const { started, propagation } = shutdownOf(service.stateDir, id);
          expect(started, `the log of ${id}`).toMatchObject({ reason: 'SIGTERM', propagationDelayMs: 0, propagationSkipped: expect.stringContaining('BATON_ROUTER_DRAINS_FIRST=1') });
          expect(propagation, `the log of ${id}`).toMatchObject({ budgetMs: 0 });
        }
      });
    }
  });
}

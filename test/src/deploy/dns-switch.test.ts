// Blue/green by DNS with a real BIND server: each color a stack with its own
// built-in router on its own loopback address (127.0.0.2, 127.0.0.3), the
// service's A record switched by a signed dynamic update (nsupdate, TSIG).
// Clients know the service only by name and resolve it through that server,
// caching each answer for its TTL (cacheable-lookup) on keep-alive
// connections; a sticky client resolves once and keeps the address. The
// tests assert what those clients see (every request answered, by which
// stack), when the old stack retires against when its last request came,
// the straggler curve in the report, a rollback, and the faults: a wrong
// key, a zone the server does not have, the server down.
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatStatus, readStatus, sendControl, stopService, type DnsRecord } from '@baton/deploy';
import { namedUnavailable, waitFor, type RunningNamed } from '@baton/testing';
import { createService, release, type DeployedService } from './deploy-fixture.js';
import { BLUE, eventsOf, GREEN, NAME, startDnsRig, summary, type DnsRig } from './dns-fixture.js';

const SECRET_ENV = 'BATON_E2E_DNS_KEY';
const unavailable = namedUnavailable();
if (unavailable !== undefined) console.log(`blue/green by DNS: skipped (${unavailable})`);

describe.skipIf(unavailable !== undefined)('blue/green by DNS (a real BIND server, clients resolving by name)', () => {
  let rig: DnsRig;
  let named: RunningNamed;
  let service: DeployedService;
  let port: number;
  const strategy: DnsRig['strategy'] = (overrides, switchOverrides) => rig.strategy(overrides, switchOverrides);
  const record = (): DnsRecord => rig.record();
  const load: DnsRig['load'] = (options) => rig.load(options);

  beforeAll(async () => {
    rig = await startDnsRig(SECRET_ENV);
    ({ named, port } = rig);
    service = await createService({ instances: 2, router: { kind: 'builtin', port }, strategy: strategy() });
  }, 60_000);

  afterAll(async () => {
    await service?.close();
    await rig?.close();
  });

  it('a first deploy creates the record for the blue stack, with the configured TTL; clients reach it by name', async () => {
    const outcome = await service.deploy(release('v1'));
    expect(outcome.phase, service.timeline(0)).toBe('succeeded');
    expect(await record().read()).toEqual({ values: [BLUE], ttl: 4 });
    const clients = load({ clients: 2 });
    await waitFor(() => clients.snapshot().ok >= 20, 20_000, '20 answers by name');
    const seen = await clients.stop();
    expect(seen.failed, summary(seen, service)).toEqual([]);
    expect(Object.keys(seen.byAddress)).toEqual([BLUE]);
    const status = await readStatus(service.config(release('v1')));
    expect(status.router !== undefined && !('error' in status.router) ? status.router.url : status.router).toBe(`http://${NAME}:${port}`);
    expect(status.stacks).toEqual({ live: 'blue', colors: { blue: { url: `http://${BLUE}:${port}`, release: 'v1' }, green: { url: `http://${GREEN}:${port}` } } });
    expect(formatStatus(status)).toContain(`DNS: the record points at blue at http://${BLUE}:${port} (v1); green at http://${GREEN}:${port} (no release)`);
  }, 120_000);

  it('switches to green under keep-alive load with 0 failed requests, and retires blue only after its traffic stopped', async () => {
    const clients = load();
    await waitFor(() => clients.snapshot().ok >= 40, 20_000, 'the clients on blue');
    const since = Date.now();
    const outcome = await service.deploy(release('v2'));
    const seen = await clients.stop();
    expect(outcome.phase, service.timeline(since)).toBe('succeeded');
    expect(seen.failed, summary(seen, service)).toEqual([]);
    // Every client moved: green answered, and blue's last answer came before blue's first instance left.
    expect(seen.byAddress[GREEN]?.ok ?? 0).toBeGreaterThan(20);
    const draining = eventsOf(service.events, 'instance-draining', since).filter((event) => event.data?.['release'] === 'v1');
    expect(draining.length).toBe(2);
    const lastOnBlue = Math.max(...seen.results.filter((result) => result.address === BLUE).map((result) => result.atMs));
    expect(lastOnBlue).toBeLessThan(Math.min(...draining.map((event) => event.atMs)));
    // The TTL was lowered, waited out, and put back; the record is green's.
    const ttlEvents = eventsOf(service.events, 'dns-ttl', since).map((event) => event.data);
    expect(ttlEvents).toEqual([{ from: 4, to: 2 }, { from: 2, to: 4 }]);
    expect(await record().read()).toEqual({ values: [GREEN], ttl: 4 });
    const switched = eventsOf(service.events, 'dns-switched', since);
    expect(switched.map((event) => [event.data?.['to'], event.data?.['ttl']])).toEqual([['green', 2]]);
    // The old TTL (4 s) had passed since it was lowered when the record moved.
    expect((switched[0]?.atMs ?? 0) - (ttlEvents.length > 0 ? (eventsOf(service.events, 'dns-ttl', since)[0]?.atMs ?? 0) : 0)).toBeGreaterThanOrEqual(4000);
    // The report has the straggler curve: blue's requests after the switch, dying down within TTL + margin.
    const stragglers = eventsOf(service.events, 'stragglers', since)[0]?.data?.['stragglers'] as { ended: string; requests: number; lastRequestMs: number; curve: { second: number; requests: number }[] };
    expect(stragglers.ended).toBe('quiet');
    expect(stragglers.curve.reduce((sum, point) => sum + point.requests, 0)).toBe(stragglers.requests);
    // Clients that looked the name up just before the switch kept blue's address for its TTL (2 s), and no longer.
    expect(stragglers.requests).toBeGreaterThan(0);
    expect(stragglers.lastRequestMs).toBeLessThan(2000 + 2000);
    if (outcome.report === undefined) throw new Error('no report');
    const report = JSON.parse(await readFile(outcome.report.json, 'utf8')) as { stragglers?: unknown[] };
    expect(report.stragglers).toHaveLength(1);
    expect(await readFile(outcome.report.html, 'utf8')).toContain('Requests per second to blue after the switch');
    console.log(`straggler curve after the switch (s: requests): ${stragglers.curve.map((point) => `${point.second}:${point.requests}`).join(' ')}; last request ${stragglers.lastRequestMs} ms after the switch`);
  }, 180_000);

  it('a rollback after the switch points the record back; the stack it leaves stays up until its own traffic stops', async () => {
    const clients = load();
    await waitFor(() => clients.snapshot().ok >= 40, 20_000, 'the clients on green');
    const since = Date.now();
    let aborted = false;
    const outcome = await service.deploy(release('v3'), { strategy: strategy({ rollbackWindowMs: 60_000 }) }, (event) => {
      // Once the clients have moved to v3 (on blue), abort: the rollback must bring them back without a failure.
      if (event.type === 'dns-switched' && event.data?.['to'] === 'blue' && !aborted) {
        aborted = true;
        void waitFor(() => (clients.snapshot().byAddress[BLUE]?.ok ?? 0) >= 20, 30_000, 'clients on v3').then(() => sendControl(service.config(release('v3')), 'abort'));
      }
    });
    const seen = await clients.stop();
    expect(outcome.phase, service.timeline(since)).toBe('rolled-back');
    expect(seen.failed, summary(seen, service)).toEqual([]);
    expect(eventsOf(service.events, 'dns-switched', since).map((event) => event.data?.['to'])).toEqual(['blue', 'green']);
    const stragglers = eventsOf(service.events, 'stragglers', since).map((event) => event.data?.['stragglers'] as { release: string; ended: string });
    expect(stragglers).toEqual([expect.objectContaining({ release: 'v3', ended: 'quiet' })]);
    const lastOnBlue = Math.max(...seen.results.filter((result) => result.address === BLUE).map((result) => result.atMs));
    const v3Draining = eventsOf(service.events, 'instance-draining', since).filter((event) => event.data?.['release'] === 'v3');
    expect(lastOnBlue).toBeLessThan(Math.min(...v3Draining.map((event) => event.atMs)));
    expect(await record().read()).toEqual({ values: [GREEN], ttl: 4 });
  }, 180_000);

  it('a client that ignores the TTL gets answers until the deadline retires the old stack, and the report shows it as a straggler', async () => {
    const clients = load({ clients: 2, stickyClients: 1 });
    await waitFor(() => clients.snapshot().ok >= 40, 20_000, 'the clients on green');
    const since = Date.now();
    const outcome = await service.deploy(release('v4'), { strategy: strategy({ rollbackWindowMs: 0 }, { deadlineMs: 8000 }) });
    const seen = await clients.stop();
    expect(outcome.phase, service.timeline(since)).toBe('succeeded');
    const done = eventsOf(service.events, 'stragglers', since)[0];
    const stragglers = done?.data?.['stragglers'] as { ended: string; waitedMs: number; curve: { second: number; requests: number }[] };
    expect(stragglers.ended, `${JSON.stringify(stragglers)}\n${summary(seen, service)}`).toBe('deadline');
    expect(stragglers.waitedMs).toBeGreaterThanOrEqual(8000);
    // Still getting requests in the last seconds before the deadline: the sticky client.
    expect(stragglers.curve.filter((point) => point.second >= 6).some((point) => point.requests > 0)).toBe(true);
    // Clients that follow the TTL lost nothing; the sticky one was answered by green until green's instances left.
    const retireStart = Math.min(...eventsOf(service.events, 'instance-draining', since).filter((event) => event.data?.['release'] === 'v2').map((event) => event.atMs));
    expect(seen.failed.filter((result) => !result.sticky), summary(seen)).toEqual([]);
    const sticky = seen.results.filter((result) => result.sticky);
    expect(sticky.filter((result) => result.atMs < retireStart && result.status !== 200), summary(seen)).toEqual([]);
    expect(sticky.filter((result) => result.atMs > (done?.atMs ?? 0) - 2000 && result.atMs < retireStart && result.address === GREEN).length).toBeGreaterThan(0);
    expect(await record().read()).toEqual({ values: [BLUE], ttl: 4 });
    if (outcome.report === undefined) throw new Error('no report');
    expect(await readFile(outcome.report.html, 'utf8')).toContain('<b>deadline</b>');
  }, 180_000);

  it('a key secret missing from the environment: refused before anything starts, naming the variable', async () => {
    delete process.env[SECRET_ENV];
    try {
      await expect(service.deploy(release('v5'))).rejects.toMatchObject({ code: 'BATON_ERR_DEPLOY_CONFIG', message: expect.stringContaining(SECRET_ENV) });
    } finally {
      process.env[SECRET_ENV] = named.key.secret;
    }
    expect(await service.servingReleases()).toEqual(['v4']);
  }, 60_000);

  it('a key the server refuses: a clear error, the record unchanged, and the stable stack still serves', async () => {
    const clients = load({ clients: 2 });
    await waitFor(() => clients.snapshot().ok >= 20, 20_000, 'the clients on blue');
    process.env[SECRET_ENV] = Buffer.alloc(32, 7).toString('base64');
    let outcome;
    try {
      outcome = await service.deploy(release('v5'));
    } finally {
      process.env[SECRET_ENV] = named.key.secret;
    }
    const seen = await clients.stop();
    expect(outcome.phase).toBe('rolled-back');
    expect(outcome.reason).toMatch(/NOTAUTH|refused|key/i);
    expect(outcome.reason).not.toContain(Buffer.alloc(32, 7).toString('base64'));
    expect(seen.failed, summary(seen, service)).toEqual([]);
    expect(await record().read()).toEqual({ values: [BLUE], ttl: 4 });
    expect(await service.servingReleases()).toEqual(['v4']);
  }, 180_000);

  it('a zone the server does not have: a clear error, nothing moved', async () => {
    const outcome = await service.deploy(release('v5'), { strategy: strategy({}, { zone: 'missing.test', name: 'orders.missing.test' }) });
    expect(outcome.phase).toBe('rolled-back');
    expect(outcome.reason).toMatch(/missing\.test/);
    expect(outcome.reason).toMatch(/NOTZONE|zone|REFUSED|not authoritative/i);
    expect(await record().read()).toEqual({ values: [BLUE], ttl: 4 });
    expect(await service.servingReleases()).toEqual(['v4']);
  }, 180_000);

  it('the DNS server down: a clear error naming it, nothing moved, and the next deploy goes through once it is back', async () => {
    await named.stop();
    let outcome;
    try {
      outcome = await service.deploy(release('v5'));
    } finally {
      await named.start();
    }
    expect(outcome.phase).toBe('rolled-back');
    expect(outcome.reason).toContain(`${named.host}`);
    expect(await record().read()).toEqual({ values: [BLUE], ttl: 4 });
    expect(await service.servingReleases()).toEqual(['v4']);
    const again = await service.deploy(release('v5'));
    expect(again.phase, service.timeline(0)).toBe('succeeded');
    expect(await record().read()).toEqual({ values: [GREEN], ttl: 4 });
  }, 180_000);

  it('baton down stops both stacks: their ports are free, their logs kept', async () => {
    await stopService(service.config(release('v5')));
    const free = (host: string) =>
      new Promise<boolean>((resolve) => {
        const server = createServer();
        server.once('error', () => resolve(false));
        server.listen(port, host, () => server.close(() => resolve(true)));
      });
    expect([await free(BLUE), await free(GREEN)]).toEqual([true, true]);
    expect(existsSync(join(service.stateDir, 'stacks'))).toBe(false);
    expect(readdirSync(join(service.stateDir, 'logs')).sort()).toEqual(['blue-builtin-router.log', 'green-builtin-router.log']);
    const status = await readStatus(service.config(release('v5')));
    expect(status.router).toBeUndefined();
  }, 60_000);
});

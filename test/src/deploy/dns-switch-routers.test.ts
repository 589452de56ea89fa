// Blue/green by DNS is a switch above routers, not a router of its own: the
// same switch with HAProxy as each color's router (0 failed requests for
// clients resolving by name, blue retired once quiet), and nginx refused
// before anything starts, because it cannot close keep-alive connections on
// demand: its clients would stay on blue until the deadline cut them off.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haproxyInstalled } from '@baton/router-haproxy';
import { nginxInstalled } from '@baton/router-nginx';
import { namedUnavailable, waitFor } from '@baton/testing';
import { createService, release, type DeployedService } from './deploy-fixture.js';
import { BLUE, eventsOf, GREEN, startDnsRig, summary, type DnsRig } from './dns-fixture.js';

const SECRET_ENV = 'BATON_E2E_DNS_ROUTERS_KEY';
const unavailable = namedUnavailable() ?? (haproxyInstalled() && nginxInstalled() ? undefined : 'haproxy or nginx is not installed (.ci/run installs both)');
if (unavailable !== undefined) console.log(`blue/green by DNS over HAProxy and nginx: skipped (${unavailable})`);

describe.skipIf(unavailable !== undefined)('blue/green by DNS over other routers', () => {
  let rig: DnsRig;
  const services: DeployedService[] = [];

  beforeAll(async () => {
    rig = await startDnsRig(SECRET_ENV);
  }, 60_000);

  afterAll(async () => {
    for (const service of services) await service.close();
    await rig?.close();
  });

  it('HAProxy stacks: clients resolving by name move to green with 0 failed requests, and blue retires once quiet', async () => {
    const service = await createService({ instances: 2, router: { kind: 'haproxy', port: rig.port }, strategy: rig.strategy() });
    services.push(service);
    expect((await service.deploy(release('v1'))).phase, service.timeline(0)).toBe('succeeded');
    const clients = rig.load();
    await waitFor(() => clients.snapshot().ok >= 40, 20_000, 'the clients on blue');
    const since = Date.now();
    const outcome = await service.deploy(release('v2'));
    const seen = await clients.stop();
    expect(outcome.phase, service.timeline(since)).toBe('succeeded');
    expect(seen.failed, summary(seen, service)).toEqual([]);
    expect(seen.byAddress[GREEN]?.ok ?? 0).toBeGreaterThan(20);
    const stragglers = eventsOf(service.events, 'stragglers', since)[0]?.data?.['stragglers'] as { ended: string };
    expect(stragglers.ended).toBe('quiet');
    const lastOnBlue = Math.max(...seen.results.filter((result) => result.address === BLUE).map((result) => result.atMs));
    const draining = eventsOf(service.events, 'instance-draining', since).filter((event) => event.data?.['release'] === 'v1');
    expect(lastOnBlue).toBeLessThan(Math.min(...draining.map((event) => event.atMs)));
    expect(await rig.record().read()).toEqual({ values: [GREEN], ttl: 4 });
    await service.close();
    services.pop();
  }, 180_000);

  it('nginx stacks: refused before anything starts, saying which routers can', async () => {
    const service = await createService({ instances: 2, router: { kind: 'nginx', port: rig.port }, strategy: rig.strategy() });
    services.push(service);
    await expect(service.deploy(release('v1'))).rejects.toMatchObject({ code: 'BATON_ERR_DEPLOY_CONFIG', message: expect.stringContaining('the built-in one or HAProxy') });
    expect(eventsOf(service.events, 'instance-started')).toEqual([]);
  }, 60_000);
});

// The deploy tells a Pact Broker what now runs in an environment. A real
// Pact Broker (a Ruby app over a database) cannot run on this machine: a
// small node:http server on 127.0.0.1 port 0 answers the two requests of
// record-deployment as the broker shapes them (see @baton/contracts'
// record-deployment.test.ts for the shapes, taken from pact_broker's source).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveDeployConfig } from '../index.js';
import { recordBrokerDeployment } from './broker-deployment.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

async function startBroker(): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      res.setHeader('content-type', 'application/hal+json');
      if (req.method === 'GET' && req.url === '/pacticipants/orders-service/versions/v2') {
        res.end(JSON.stringify({ number: 'v2', _links: { self: { href: `${base}${req.url}` }, 'pb:record-deployment': [{ name: 'production', title: 'Record deployment to Production', href: `${base}/pacticipants/orders-service/versions/v2/deployed-versions/environment/e-prod` }] } }));
      } else if (req.method === 'POST' && req.url === '/pacticipants/orders-service/versions/v2/deployed-versions/environment/e-prod') {
        res.statusCode = 201;
        res.end(JSON.stringify({ uuid: 'd-1', currentlyDeployed: true, createdAt: '2026-12-07T20:00:00+00:00', _links: { self: { href: `${base}/deployed-versions/d-1` } } }));
      } else {
        res.statusCode = 404;
        res.end(JSON.stringify({ error: 'The requested document was not found on this server.' }));
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function production(gates: Record<string, unknown>) {
  return resolveDeployConfig(
    { service: 'orders', release: { version: 'v2', command: 'node' }, gates, environments: { staging: {}, production: {} } },
    { cwd: '/srv/orders', environment: 'production' },
  );
}

describe('recordBrokerDeployment', () => {
  it('tells the broker the provider version now deployed in the environment, with the token from PACT_BROKER_TOKEN', async () => {
    const broker = await startBroker();
    const event = await recordBrokerDeployment(production({ contracts: { provider: 'orders-service', broker: { url: broker.url } } }), 'v2', { env: { PACT_BROKER_TOKEN: 'tok-93' } });
    expect(event).toMatchObject({ type: 'broker-deployment-recorded', message: `Recorded in the Pact Broker at ${broker.url}: orders-service v2 deployed to production.` });
    expect(broker.seen.map((request) => `${request.method} ${request.url}`)).toEqual(['GET /pacticipants/orders-service/versions/v2', 'POST /pacticipants/orders-service/versions/v2/deployed-versions/environment/e-prod']);
    expect(broker.seen.every((request) => request.authorization === 'Bearer tok-93')).toBe(true);
  });

  it('a broker that does not know the version is a warning naming the command to run by hand; the token never appears', async () => {
    const broker = await startBroker();
    const event = await recordBrokerDeployment(production({ contracts: { broker: { url: broker.url } } }), 'v2', { env: { PACT_BROKER_TOKEN: 'tok-93' } });
    expect(event?.type).toBe('broker-record-failed');
    expect(event?.message).toContain('The Pact Broker was not told that orders v2 deployed to production');
    expect(event?.message).toContain('pact-broker record-deployment --pacticipant orders --version v2 --environment production');
    expect(JSON.stringify(event)).not.toContain('tok-93');
  });

  it('a broker that is down is a warning, not an error', async () => {
    const broker = await startBroker();
    await new Promise((resolve) => (servers.pop() as Server).close(resolve));
    const event = await recordBrokerDeployment(production({ contracts: { provider: 'orders-service', broker: { url: broker.url, timeoutMs: 2000 } } }), 'v2', { env: {} });
    expect(event?.type).toBe('broker-record-failed');
  });

  it('nothing to tell without a broker: the local verification record, or no contracts gate', async () => {
    expect(await recordBrokerDeployment(production({ contracts: true }), 'v2', { env: {} })).toBeUndefined();
    expect(await recordBrokerDeployment(production({}), 'v2', { env: {} })).toBeUndefined();
  });
});

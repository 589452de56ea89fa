import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '@baton/metrics';
import { fetchText } from '@baton/testing';
import { createVersioning, defineVersions, versionChange } from '@baton/versioning';
import { batonPlugin } from './index.js';

interface OrderV1 { id: string; customer: string }
interface OrderV2 { id: string; customerId: string; customerName: string }

const versions = defineVersions({ versions: ['2024-01-10', '2024-09-01', '2025-03-01'] });
const splitCustomer = versionChange<OrderV1, OrderV2, { customer: string }, { customerId: string; customerName: string }>({
  version: '2024-09-01',
  description: '`customer` is split into `customerId` and `customerName`.',
  routes: ['GET /orders/:id', 'POST /orders'],
  request: { upgrade: ({ customer, ...rest }) => ({ ...rest, customerId: customer.split(':')[0] ?? '', customerName: customer.split(':')[1] ?? '' }) },
  response: { downgrade: ({ customerId, customerName, ...rest }) => ({ ...rest, customer: `${customerId}:${customerName}` }) },
  error: { downgrade: (body) => ({ ...(body as object), legacyError: true }) },
});
const refunds = versionChange({ version: '2025-03-01', description: 'Refunds are new.', routes: ['POST /orders/:id/refund'], routesAdded: ['POST /orders/:id/refund'] });

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function start(): Promise<{ url: string; seen: unknown[]; metrics: ReturnType<typeof createMetrics> }> {
  const app = Fastify();
  apps.push(app);
  const metrics = createMetrics();
  const versioning = createVersioning({
    versions,
    changes: [splitCustomer, refunds],
    negotiation: { vendor: 'orders' },
    retirements: { '2024-01-10': { deprecatedAt: '2025-03-01', sunsetAt: '2030-01-01' } },
  });
  await app.register(batonPlugin, { lifecycle: { service: 'orders' }, metrics, versioning });
  const seen: unknown[] = [];
  // Written for the newest version only.
  app.get<{ Params: { id: string } }>('/orders/:id', async (request, reply) => {
    if (request.params.id === 'missing') return reply.code(404).send({ error: 'not_found' });
    return { id: request.params.id, customerId: 'c7', customerName: 'Ada' } satisfies OrderV2;
  });
  app.post('/orders', async (request) => {
    seen.push({ version: request.apiVersion, body: request.body });
    return request.body;
  });
  app.post('/orders/:id/refund', async () => ({ refunded: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, seen, metrics };
}

describe('versioning on Fastify', () => {
  it('serves each client its version’s shapes while the handlers see only the newest', async () => {
    const { url, seen } = await start();
    const latest = await fetchText(`${url}/orders/o1`, { headers: { 'api-version': '2025-03-01' } });
    expect(JSON.parse(latest.body)).toEqual({ id: 'o1', customerId: 'c7', customerName: 'Ada' });
    expect(latest.headers['api-version']).toBe('2025-03-01');
    expect(latest.headers.vary).toBe('Api-Version');
    const old = await fetchText(`${url}/orders/o1`);
    expect(JSON.parse(old.body)).toEqual({ id: 'o1', customer: 'c7:Ada' });
    expect(old.headers).toMatchObject({ 'api-version': '2024-01-10', vary: 'Api-Version, Accept', deprecation: expect.stringMatching(/^@\d+$/), sunset: 'Tue, 01 Jan 2030 00:00:00 GMT' });
    const posted = await fetchText(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/vnd.orders+json; version=2024-01-10' }, body: JSON.stringify({ customer: 'c9:Bo', items: 1 }) });
    expect(JSON.parse(posted.body)).toEqual({ customer: 'c9:Bo', items: 1 });
    expect(seen).toEqual([{ version: '2024-01-10', body: { customerId: 'c9', customerName: 'Bo', items: 1 } }]);
    const error = await fetchText(`${url}/orders/missing`, { headers: { 'api-version': '2024-01-10' } });
    expect(error.status).toBe(404);
    expect(JSON.parse(error.body)).toEqual({ error: 'not_found', legacyError: true });
  });

  it('refuses bad versions with problems, and routes the version does not have with 404', async () => {
    const { url } = await start();
    const bad = await fetchText(`${url}/orders/o1`, { headers: { 'api-version': 'v2' } });
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(bad.body)).toMatchObject({ type: 'urn:baton:problem:malformed-api-version', status: 400, supported: versions.list });
    const viaAccept = await fetchText(`${url}/orders/o1`, { headers: { accept: 'application/vnd.orders+json; version=1999-01-01' } });
    expect(viaAccept.status).toBe(406);
    const refundOld = await fetchText(`${url}/orders/o1/refund`, { method: 'POST', headers: { 'api-version': '2024-09-01' } });
    expect(refundOld.status).toBe(404);
    expect(JSON.parse(refundOld.body)).toMatchObject({ type: 'urn:baton:problem:route-not-in-version', detail: 'POST /orders/:id/refund does not exist in version 2024-09-01.' });
    expect((await fetchText(`${url}/orders/o1/refund`, { method: 'POST', headers: { 'api-version': '2025-03-01' } })).status).toBe(200);
    // Probes are not versioned.
    expect((await fetchText(`${url}/livez`, { headers: { 'api-version': 'garbage' } })).status).toBe(200);
  });

  it('keeps the response schema filtering for old clients, and turns a throwing transform into a 500', async () => {
    const app = Fastify();
    apps.push(app);
    const boom = versionChange({ version: '2025-03-01', description: 'Boom.', routes: ['GET /boom'], response: { downgrade: () => { throw new Error('boom'); } } });
    await app.register(batonPlugin, { versioning: createVersioning({ versions, changes: [splitCustomer, refunds, boom] }) });
    app.get('/boom', async () => ({ ok: true }));
    const order = { type: 'object', properties: { id: { type: 'string' }, customerId: { type: 'string' }, customerName: { type: 'string' } } };
    // The handler leaks a field the schema does not list: no client of any version may see it.
    app.get<{ Params: { id: string } }>('/orders/:id', { schema: { response: { 200: order } } }, async (request) => {
      return { id: request.params.id, customerId: 'c7', customerName: 'Ada', passwordHash: 'x' };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const latest = await fetchText(`${url}/orders/o1`, { headers: { 'api-version': '2025-03-01' } });
    expect(JSON.parse(latest.body)).toEqual({ id: 'o1', customerId: 'c7', customerName: 'Ada' });
    const old = await fetchText(`${url}/orders/o1`, { headers: { 'api-version': '2024-01-10' } });
    expect(old.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(old.body)).toEqual({ id: 'o1', customer: 'c7:Ada' });
    const broken = await fetchText(`${url}/boom`, { headers: { 'api-version': '2024-09-01' } });
    expect(broken.status).toBe(500);
    expect(JSON.parse(broken.body)).toMatchObject({ statusCode: 500, code: 'BATON_ERR_VERSION_TRANSFORM' });
    expect(JSON.parse((await fetchText(`${url}/boom`, { headers: { 'api-version': '2025-03-01' } })).body)).toEqual({ ok: true });
    expect((await fetchText(`${url}/orders/o1`)).status).toBe(200); // still serving
  });

  it('counts requests per version in the metrics', async () => {
    const { url, metrics } = await start();
    await fetchText(`${url}/orders/o1`, { headers: { 'api-version': '2025-03-01' } });
    await fetchText(`${url}/orders/o1`);
    await fetchText(`${url}/orders/o1`, { headers: { 'api-version': 'bad' } });
    const text = await metrics.text();
    expect(text).toContain('baton_api_version_requests_total{service="orders",version="2025-03-01",source="header"} 1');
    expect(text).toContain('baton_api_version_requests_total{service="orders",version="2024-01-10",source="default"} 1');
    expect(text).toContain('baton_api_version_requests_total{service="orders",version="(refused)",source="400"} 1');
  });

  it('refuses a versioning option that is not one', async () => {
    const app = Fastify();
    apps.push(app);
    await expect(app.register(batonPlugin, { versioning: {} as never })).rejects.toThrow(/`versioning` must come from createVersioning\(\)/);
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import express, { type Application, type ErrorRequestHandler } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '@baton/metrics';
import { fetchText } from '@baton/testing';
import { createVersioning, defineVersions, versionChange } from '@baton/versioning';
import { baton, type BatonListening } from './index.js';

// Express 4 is a dev dependency under an alias; it ships no types of its own.
const express4 = createRequire(import.meta.url)('express4') as typeof express;

interface OrderV1 { id: string; customer: string }
interface OrderV2 { id: string; customerId: string; customerName: string }
interface OrderV3 { id: string; customer: { id: string; name: string } }

const versions = defineVersions({ versions: ['2024-01-10', '2024-09-01', '2025-03-01', '2025-06-01'] });
const splitCustomer = versionChange<OrderV1, OrderV2, { customer: string }, { customerId: string; customerName: string }>({
  version: '2024-09-01',
  description: '`customer` is split into `customerId` and `customerName`.',
  routes: ['GET /orders/:id', 'POST /orders', 'GET /api/orders/:id'],
  request: {
    upgrade: ({ customer, ...rest }) => {
      if (typeof customer !== 'string') throw new TypeError('customer must be a string');
      const [id = '', name = ''] = customer.split(':');
      return { ...rest, customerId: id, customerName: name };
    },
  },
  response: { downgrade: ({ customerId, customerName, ...rest }) => ({ ...rest, customer: `${customerId}:${customerName}` }) },
  error: { downgrade: (body) => ({ ...(body as object), legacyError: true }) },
});
const nestCustomer = versionChange<OrderV2, OrderV3, { customerId: string; customerName: string }, { customer: { id: string; name: string } }>({
  version: '2025-03-01',
  description: '`customerId` and `customerName` move into a `customer` object.',
  routes: ['GET /orders/:id', 'POST /orders', 'GET /api/orders/:id'],
  request: { upgrade: ({ customerId, customerName, ...rest }) => ({ ...rest, customer: { id: customerId, name: customerName } }) },
  response: { downgrade: ({ customer, ...rest }) => ({ ...rest, customerId: customer.id, customerName: customer.name }) },
});
const refunds = versionChange({ version: '2025-06-01', description: 'Refunds are new.', routes: ['POST /orders/:id/refund'], routesAdded: ['POST /orders/:id/refund'] });
const noExport = versionChange({ version: '2025-06-01', description: 'The CSV export is gone.', routes: ['GET /orders/export'], routesRemoved: ['GET /orders/export'] });

function newVersioning() {
  return createVersioning({
    versions,
    changes: [nestCustomer, splitCustomer, refunds, noExport],
    negotiation: { vendor: 'orders' },
    retirements: { '2024-01-10': { deprecatedAt: '2025-03-01', sunsetAt: '2030-01-01' } },
  });
}

const running: (BatonListening | Server)[] = [];
afterEach(async () => {
  for (const item of running.splice(0)) {
    if ('close' in item && 'port' in item) await item.close();
    else await new Promise((resolve) => (item as Server).close(resolve));
  }
});

const errorHandler: ErrorRequestHandler = (error: Error & { code?: string }, _request, response, _next) => {
  response.status(500).json({ error: 'internal', code: error.code });
};

/** The orders API written for the newest version only, as a user would write it. */
function ordersApp(make: typeof express = express) {
  const app = make() as Application;
  const metrics = createMetrics({ service: 'orders' });
  const b = baton(app, { lifecycle: { shutdown: { propagationDelayMs: 0 } }, metrics, versioning: newVersioning() });
  const seen: { version: string; body: unknown }[] = [];
  let parsed = 0;
  app.use((request, _response, next) => {
    if (request.method === 'POST') parsed += 1;
    next();
  }, make.json());
  app.get('/orders/export', (_request, response) => {
    response.type('text/csv').send('id\no1\n');
  });
  app.get('/orders/:id', (request, response) => {
    if (request.params.id === 'missing') return void response.status(404).json({ error: 'not_found' });
    if (request.params.id === 'broken') return void response.json({ id: 'broken' }); // not an OrderV3: the downgrade throws
    response.json({ id: request.params.id, customer: { id: 'c7', name: 'Ada' } } satisfies OrderV3);
  });
  app.post('/orders', (request, response) => {
    seen.push({ version: request.apiVersion, body: request.body });
    response.status(201).json(request.body);
  });
  app.post('/orders/:id/refund', (_request, response) => {
    response.json({ refunded: true });
  });
  const router = make.Router();
  router.get('/orders/:id', (request, response) => {
    response.send({ id: request.params.id, customer: { id: 'c8', name: 'Bo' } });
  });
  app.use('/api', router);
  app.use(errorHandler);
  return { app, b, metrics, seen, parsedCount: () => parsed };
}

async function start(make: typeof express = express) {
  const built = ordersApp(make);
  const listening = await built.b.listen({ port: 0, host: '127.0.0.1' });
  running.push(listening);
  return { ...built, url: listening.url };
}

const json = (body: unknown): Record<string, string> => ({ 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(JSON.stringify(body))) });

describe('versioning on Express', () => {
  it('serves each client its version’s shapes while the handlers see only the newest', async () => {
    const { url, seen } = await start();
    const latest = await fetchText(`${url}/orders/o1`, { headers: { 'api-version': '2025-06-01' } });
    expect(JSON.parse(latest.body)).toEqual({ id: 'o1', customer: { id: 'c7', name: 'Ada' } });
    expect(latest.headers).toMatchObject({ 'api-version': '2025-06-01', vary: 'Api-Version' });
    expect(latest.headers.deprecation).toBeUndefined();

    // Two changes back, newest first; no header: the default (oldest), with its deprecation headers.
    const old = await fetchText(`${url}/orders/o1`);
    expect(JSON.parse(old.body)).toEqual({ id: 'o1', customer: 'c7:Ada' });
    expect(old.headers).toMatchObject({ 'api-version': '2024-01-10', vary: 'Api-Version, Accept', deprecation: expect.stringMatching(/^@\d+$/), sunset: 'Tue, 01 Jan 2030 00:00:00 GMT' });
    expect(old.headers['content-length']).toBe(String(Buffer.byteLength(old.body)));
    const middle = await fetchText(`${url}/orders/o1`, { headers: { 'api-version': '2024-10-15' } });
    expect(middle.headers['api-version']).toBe('2024-09-01');
    expect(JSON.parse(middle.body)).toEqual({ id: 'o1', customerId: 'c7', customerName: 'Ada' });

    // Requests go up oldest change first; the handler's echo comes back down in the client's shape.
    const oldBody = { customer: 'c9:Bo', items: 1 };
    const posted = await fetchText(`${url}/orders`, { method: 'POST', headers: { ...json(oldBody), accept: 'application/vnd.orders+json; version=2024-01-10' }, body: JSON.stringify(oldBody) });
    expect(posted.status).toBe(201);
    expect(JSON.parse(posted.body)).toEqual(oldBody);
    const newBody = { customer: { id: 'c1', name: 'Cy' } };
    await fetchText(`${url}/orders`, { method: 'POST', headers: { ...json(newBody), 'api-version': '2025-06-01' }, body: JSON.stringify(newBody) });
    expect(seen).toEqual([
      { version: '2024-01-10', body: { items: 1, customer: { id: 'c9', name: 'Bo' } } },
      { version: '2025-06-01', body: newBody },
    ]);

    // Error bodies go through the error transforms; routers under a mount path use the full template.
    const error = await fetchText(`${url}/orders/missing`, { headers: { 'api-version': '2024-01-10' } });
    expect(error.status).toBe(404);
    expect(JSON.parse(error.body)).toEqual({ error: 'not_found', legacyError: true });
    const mounted = await fetchText(`${url}/api/orders/o2`, { headers: { 'api-version': '2024-01-10' } });
    expect(JSON.parse(mounted.body)).toEqual({ id: 'o2', customer: 'c8:Bo' });
    // HEAD is its GET route: same length as the old client's GET.
    const head = await fetchText(`${url}/orders/o1`, { method: 'HEAD', headers: { 'api-version': '2024-01-10' } });
    expect(head.headers['content-length']).toBe(old.headers['content-length']);
  });

  it('refuses bad versions with problems before any middleware runs, and routes outside the version with 404', async () => {
    const { url, parsedCount } = await start();
    const bad = await fetchText(`${url}/orders`, { method: 'POST', headers: { ...json({}), 'api-version': 'v2' }, body: '{}' });
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(bad.body)).toMatchObject({ type: 'urn:baton:problem:malformed-api-version', status: 400, supported: versions.list });
    const viaAccept = await fetchText(`${url}/orders/o1`, { headers: { accept: 'application/vnd.orders+json; version=1999-01-01' } });
    expect(viaAccept.status).toBe(406);
    expect(JSON.parse(viaAccept.body)).toMatchObject({ type: 'urn:baton:problem:unsupported-api-version', requested: '1999-01-01' });

    const refundOld = await fetchText(`${url}/orders/o1/refund`, { method: 'POST', headers: { ...json({}), 'api-version': '2025-03-01' }, body: '{}' });
    expect(refundOld.status).toBe(404);
    expect(JSON.parse(refundOld.body)).toMatchObject({ type: 'urn:baton:problem:route-not-in-version', detail: 'POST /orders/:id/refund does not exist in version 2025-03-01.' });
    expect(parsedCount()).toBe(0); // neither refusal reached the body parser
    expect((await fetchText(`${url}/orders/o1/refund/`, { method: 'POST', headers: { 'api-version': '2024-09-01' } })).status).toBe(404);
    expect((await fetchText(`${url}/orders/o1/refund`, { method: 'POST', headers: { 'api-version': '2025-06-01' } })).status).toBe(200);
    // Removed in the latest version, still served to older clients by the same handler.
    expect((await fetchText(`${url}/orders/export`, { headers: { 'api-version': '2025-06-01' } })).status).toBe(404);
    const exported = await fetchText(`${url}/orders/export`, { headers: { 'api-version': '2025-03-01' } });
    expect(exported).toMatchObject({ status: 200, body: 'id\no1\n' });
    // Probes are not versioned.
    expect((await fetchText(`${url}/readyz`, { headers: { 'api-version': 'garbage' } })).status).toBe(200);
  });

  it('turns a throwing transform into a 500 through the app’s error handler, never a crash', async () => {
    const { url } = await start();
    const broken = await fetchText(`${url}/orders/broken`, { headers: { 'api-version': '2024-01-10' } });
    expect(broken.status).toBe(500);
    // The error body itself went through the old version's error transform.
    expect(JSON.parse(broken.body)).toEqual({ error: 'internal', code: 'BATON_ERR_VERSION_TRANSFORM', legacyError: true });
    const badBody = { customer: 42 };
    const rejected = await fetchText(`${url}/orders`, { method: 'POST', headers: { ...json(badBody), 'api-version': '2024-01-10' }, body: JSON.stringify(badBody) });
    expect(rejected.status).toBe(500);
    expect(JSON.parse(rejected.body)).toMatchObject({ code: 'BATON_ERR_VERSION_TRANSFORM' });
    expect((await fetchText(`${url}/orders/o1`)).status).toBe(200); // still serving
  });

  it('upgrades bodies parsed by a route-level parser too', async () => {
    const app = express();
    const b = baton(app, { lifecycle: { shutdown: { propagationDelayMs: 0 } }, versioning: newVersioning() });
    const seen: unknown[] = [];
    app.post('/orders', express.json(), (request, response) => {
      seen.push(request.body);
      response.status(202).end();
    });
    const listening = await b.listen({ port: 0, host: '127.0.0.1' });
    running.push(listening);
    const body = { customer: 'c3:Di' };
    const answer = await fetchText(`${listening.url}/orders`, { method: 'POST', headers: { ...json(body), 'api-version': '2024-01-10' }, body: JSON.stringify(body) });
    expect(answer.status).toBe(202);
    expect(seen).toEqual([{ customer: { id: 'c3', name: 'Di' } }]); // up two changes on the way in
  });

  it('works on Express 4 and on a server the user runs', async () => {
    const { url, seen } = await start(express4);
    expect(JSON.parse((await fetchText(`${url}/orders/o1`)).body)).toEqual({ id: 'o1', customer: 'c7:Ada' });
    const body = { customer: 'c4:Ed' };
    await fetchText(`${url}/orders`, { method: 'POST', headers: json(body), body: JSON.stringify(body) });
    expect(seen).toEqual([{ version: '2024-01-10', body: { customer: { id: 'c4', name: 'Ed' } } }]);
    // A GET with no body is never upgraded (Express 4's parser leaves `{}` there).
    expect((await fetchText(`${url}/orders/o1`, { headers: { 'api-version': '2024-09-01' } })).status).toBe(200);

    const own = ordersApp();
    own.app.use(own.b.probes);
    const server = createServer(own.app);
    running.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const ownUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const answer = await fetchText(`${ownUrl}/orders/o1`, { headers: { 'api-version': '2024-09-01' } });
    expect(JSON.parse(answer.body)).toEqual({ id: 'o1', customerId: 'c7', customerName: 'Ada' });
    expect((await fetchText(`${ownUrl}/orders/o1`, { headers: { 'api-version': 'nope' } })).status).toBe(400);
  });

  it('counts requests per version in the metrics', async () => {
    const { url, metrics } = await start();
    await fetchText(`${url}/orders/o1`, { headers: { 'api-version': '2025-06-01' } });
    await fetchText(`${url}/orders/o1`);
    await fetchText(`${url}/orders/o1`, { headers: { 'api-version': 'bad' } });
    await fetchText(`${url}/metrics`, { headers: { 'api-version': 'bad' } }); // the metrics endpoint is not versioned
    const text = await metrics.text();
    expect(text).toContain('baton_api_version_requests_total{service="orders",version="2025-06-01",source="header"} 1');
    expect(text).toContain('baton_api_version_requests_total{service="orders",version="2024-01-10",source="default"} 1');
    expect(text).toContain('baton_api_version_requests_total{service="orders",version="(refused)",source="400"} 1');
  });

  it('refuses a versioning option that is not one, and a second install on one app', () => {
    expect(() => baton(express(), { versioning: {} as never })).toThrow(/`versioning` must come from createVersioning\(\)/);
    const app = express();
    baton(app, { versioning: newVersioning() });
    expect(() => baton(app, { versioning: newVersioning() })).toThrow(/already serves versioning/);
    const badRoute = createVersioning({ versions, changes: [versionChange({ version: '2025-06-01', description: 'x', routes: ['GET /a'], routesAdded: ['GET /a/:'] })] });
    expect(() => baton(express(), { versioning: badRoute })).toThrow(/versioning route "GET \/a\/:" is not an Express path/);
  });
});

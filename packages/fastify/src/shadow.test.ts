import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '@baton/metrics';
import { COMPARE_HEADER, ROUTE_HEADER, SHADOW_HEADER, silentLogger } from '@baton/lifecycle';
import { fetchText, requestCounts } from '@baton/testing';
import { batonPlugin, serveFastify, type BatonPluginOptions } from './index.js';

/** An app with a parameterised route, a write, a prefixed plugin, a throwing handler and an auth hook that answers before the handler. */
async function serveOrders(options: BatonPluginOptions) {
  const app = Fastify();
  await app.register(batonPlugin, { lifecycle: { logger: silentLogger, shutdown: { propagationDelayMs: 0 } }, ...options });
  app.addHook('onRequest', async (request, reply) => {
    if (request.url.startsWith('/private')) return reply.code(401).send({ error: 'unauthorized' });
  });
  app.get<{ Params: { id: string } }>('/orders/:id', async (request) => ({ id: request.params.id, shadow: request.shadow }));
  app.post('/orders', async (request, reply) => {
    // A shadow copy must change no data: it gets the dry run's answer.
    if (request.shadow) return { preview: true };
    return reply.code(201).send({ created: true });
  });
  app.get('/private/thing', async () => ({ secret: true }));
  await app.register(
    async (items) => {
      items.get<{ Params: { id: string } }>('/items/:id', async (request) => {
        if (request.params.id === 'bad') throw new Error('bad item');
        return { item: request.params.id, shadow: request.shadow };
      });
    },
    { prefix: '/api' },
  );
  const served = await serveFastify(app, { port: 0, host: '127.0.0.1', signals: false, exit: false });
  cleanups.push(async () => {
    app.lifecycle.force('test cleanup');
    await served.stopped;
  });
  await served.ready;
  return served.url;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

const shadow = { [SHADOW_HEADER]: '1' };
const compare = { [COMPARE_HEADER]: '1' };

async function get(url: string, headers: Record<string, string> = {}, method = 'GET') {
  const answer = await fetchText(url, { method, headers });
  const json = answer.headers['content-type']?.startsWith('application/json') === true && answer.body !== '';
  return { status: answer.status, route: answer.headers[ROUTE_HEADER], body: json ? (JSON.parse(answer.body) as unknown) : undefined };
}

/** The answers every variant of the app must give, asserted from the outside. */
async function answersMarkedRequests(url: string): Promise<void> {
  expect(await get(`${url}/orders/7`, shadow)).toEqual({ status: 200, route: 'GET /orders/:id', body: { id: '7', shadow: true } });
  expect(await get(`${url}/api/items/3`, shadow)).toEqual({ status: 200, route: 'GET /api/items/:id', body: { item: '3', shadow: true } });
  expect(await get(`${url}/orders/7`, compare)).toEqual({ status: 200, route: 'GET /orders/:id', body: { id: '7', shadow: false } });
  // A throwing handler answers through the error handler, still with its route.
  expect(await get(`${url}/api/items/bad`, compare)).toMatchObject({ status: 500, route: 'GET /api/items/:id' });
  expect(await get(`${url}/orders`, shadow, 'POST')).toEqual({ status: 200, route: 'POST /orders', body: { preview: true } });
  expect(await get(`${url}/orders`, compare, 'POST')).toEqual({ status: 201, route: 'POST /orders', body: { created: true } });
  // HEAD answers through the GET route's HEAD twin, reported as the request's method.
  expect(await get(`${url}/orders/7`, compare, 'HEAD')).toEqual({ status: 200, route: 'HEAD /orders/:id', body: undefined });

  // Unmarked requests, and marks that are not exactly `1`: no shadow, no route header.
  expect(await get(`${url}/orders/7`)).toEqual({ status: 200, route: undefined, body: { id: '7', shadow: false } });
  expect(await get(`${url}/api/items/3`)).toEqual({ status: 200, route: undefined, body: { item: '3', shadow: false } });
  expect(await get(`${url}/orders/7`, { [SHADOW_HEADER]: 'yes' })).toEqual({ status: 200, route: undefined, body: { id: '7', shadow: false } });
  expect(await get(`${url}/orders/7`, { [COMPARE_HEADER]: 'true' })).toEqual({ status: 200, route: undefined, body: { id: '7', shadow: false } });
  expect(await get(`${url}/orders`, {}, 'POST')).toEqual({ status: 201, route: undefined, body: { created: true } });

  // No route matched: nothing to report. Nor on Baton's probe routes.
  expect(await get(`${url}/nope`, shadow)).toMatchObject({ status: 404, route: undefined });
  expect(await get(`${url}/orders`, compare)).toMatchObject({ status: 404, route: undefined });
  const ready = await fetchText(`${url}/readyz`, { headers: compare });
  expect(ready.status).toBe(200);
  expect(ready.headers[ROUTE_HEADER]).toBeUndefined();
}

describe('@baton/fastify shadow requests', () => {
  it('exposes request.shadow and reports the route template of marked requests, without metrics', async () => {
    const url = await serveOrders({});
    await answersMarkedRequests(url);
    // Without metrics Baton has no hook: an answer a hook gives before the handler carries no route (the router falls back to the path).
    expect(await get(`${url}/private/thing`, compare)).toMatchObject({ status: 401, route: undefined });
  });

  it('does the same with metrics, whose hook also reports the route of answers given before the handler', async () => {
    const metrics = createMetrics();
    const url = await serveOrders({ metrics });
    await answersMarkedRequests(url);
    expect(await get(`${url}/private/thing`, compare)).toMatchObject({ status: 401, route: 'GET /private/thing' });
    expect(await get(`${url}/private/thing`)).toMatchObject({ status: 401, route: undefined });
    const metricsAnswer = await fetchText(`${url}/metrics`, { headers: compare });
    expect(metricsAnswer.headers[ROUTE_HEADER]).toBeUndefined();
    expect(requestCounts(await metrics.text())).toEqual({
      'GET /orders/:id 200': 5,
      'GET /api/items/:id 200': 2,
      'GET /api/items/:id 500': 1,
      'POST /orders 200': 1,
      'POST /orders 201': 2,
      'HEAD /orders/:id 200': 1,
      'GET /private/thing 401': 2,
      'GET (unmatched) 404': 2,
    });
  });
});

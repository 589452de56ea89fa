import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import express, { Router, type Application, type NextFunction, type Request, type Response } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics, type Metrics } from '@baton/metrics';
import { COMPARE_HEADER, ROUTE_HEADER, SHADOW_HEADER } from '@baton/lifecycle';
import { fetchText, requestCounts } from '@baton/testing';
import { baton } from './index.js';

// Express 4 is a dev dependency under an alias; it ships no types of its own.
const express4 = createRequire(import.meta.url)('express4') as () => Application;

/** An app with a parameterised route, a write, and a mounted router whose error leaves it for the app's error handler. */
function ordersApp(app: Application): Application {
  app.get('/orders/:id', (req, res) => {
    res.json({ id: req.params.id, shadow: req.shadow });
  });
  app.post('/orders', (req, res) => {
    // A shadow copy must change no data: it gets the dry run's answer.
    if (req.shadow) return res.json({ preview: true });
    res.status(201).json({ created: true });
  });
  const items = Router();
  items.get('/items/:id', (req, res) => {
    if (req.params.id === 'bad') throw new Error('bad item');
    res.json({ item: req.params.id, shadow: req.shadow });
  });
  app.use('/api', items);
  app.use((_error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ error: 'internal' });
  });
  return app;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

const quick = { shutdown: { propagationDelayMs: 0 } };
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
  // Express restores the mount path when an error leaves the router: the template keeps it.
  expect(await get(`${url}/api/items/bad`, compare)).toEqual({ status: 500, route: 'GET /api/items/:id', body: { error: 'internal' } });
  expect(await get(`${url}/orders`, shadow, 'POST')).toEqual({ status: 200, route: 'POST /orders', body: { preview: true } });
  expect(await get(`${url}/orders`, compare, 'POST')).toEqual({ status: 201, route: 'POST /orders', body: { created: true } });
  // HEAD answers through the GET route, reported as the request's method.
  expect(await get(`${url}/orders/7`, compare, 'HEAD')).toEqual({ status: 200, route: 'HEAD /orders/:id', body: undefined });

  // Unmarked requests, and marks that are not exactly `1`: no shadow, no route header.
  expect(await get(`${url}/orders/7`)).toEqual({ status: 200, route: undefined, body: { id: '7', shadow: false } });
  expect(await get(`${url}/api/items/3`)).toEqual({ status: 200, route: undefined, body: { item: '3', shadow: false } });
  expect(await get(`${url}/orders/7`, { [SHADOW_HEADER]: 'yes' })).toEqual({ status: 200, route: undefined, body: { id: '7', shadow: false } });
  expect(await get(`${url}/orders/7`, { [COMPARE_HEADER]: 'true' })).toEqual({ status: 200, route: undefined, body: { id: '7', shadow: false } });
  expect(await get(`${url}/orders`, {}, 'POST')).toEqual({ status: 201, route: undefined, body: { created: true } });

  // No route matched: nothing to report. Probes are answered before the app.
  expect((await get(`${url}/nope`, shadow)).route).toBeUndefined();
  expect((await get(`${url}/orders`, compare)).status).toBe(404);
  expect((await get(`${url}/orders`, compare)).route).toBeUndefined();
  const ready = await fetchText(`${url}/readyz`, { headers: compare });
  expect(ready.headers['content-type']).toBe('application/health+json');
  expect(ready.headers[ROUTE_HEADER]).toBeUndefined();
}

async function listen(app: Application, metrics?: Metrics) {
  const b = baton(ordersApp(app), { lifecycle: quick, ...(metrics === undefined ? {} : { metrics }) });
  const listening = await b.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(async () => {
    b.lifecycle.force('test cleanup');
    await listening.close();
  });
  return listening;
}

describe('@baton/express shadow requests', () => {
  it('exposes req.shadow and reports the route template of marked requests, without metrics', async () => {
    const { url } = await listen(express());
    await answersMarkedRequests(url);
  });

  it('does the same with metrics, whose route labels stay those of every request', async () => {
    const metrics = createMetrics();
    const { url } = await listen(express(), metrics);
    await answersMarkedRequests(url);
    expect(requestCounts(await metrics.text())).toEqual({
      'GET /orders/:id 200': 5,
      'GET /api/items/:id 200': 2,
      'GET /api/items/:id 500': 1,
      'POST /orders 200': 1,
      'POST /orders 201': 2,
      'HEAD /orders/:id 200': 1,
      'GET (unmatched) 404': 3,
    });
  });

  it('works on Express 4', async () => {
    const { url } = await listen(express4());
    await answersMarkedRequests(url);
  });

  it('works on a server you run yourself', async () => {
    const app = express();
    const b = baton(app, { lifecycle: quick });
    app.use(b.probes);
    ordersApp(app);
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await answersMarkedRequests(url);
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { Router, type Application } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics, type Metrics } from '@baton/metrics';
import { isBatonError, silentLogger } from '@baton/lifecycle';
import { fetchText, requestCounts, waitFor } from '@baton/testing';
import { hangUpIsRecorded, scrapesDuringPropagation, separatePortThroughDrain } from '@baton/testing/metrics-scenarios';
import { baton, type BatonExpressOptions } from './index.js';

/** An app with the shapes that make route labels hard: params, a mounted router, throwing and rejecting handlers. */
function ordersApp(options: BatonExpressOptions) {
  const app: Application = express();
  const b = baton(app, options);
  app.get('/orders/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  app.get('/boom', () => {
    throw new Error('handler bug');
  });
  const items = Router();
  items.get('/items/:itemId', (req, res) => {
    if (req.params.itemId === 'bad') throw new Error('bad item');
    res.json({ item: req.params.itemId });
  });
  items.get('/reject/:x', async () => {
    await Promise.resolve();
    throw new Error('async bug');
  });
  items.get('/hang', () => {
    // never answers: the client gives up
  });
  items.get('/slow', (_req, res) => {
    setTimeout(() => res.json({ slow: true }), 400);
  });
  app.use('/api', items);
  // Keep Express's default error page out of the test output.
  app.use((_error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ error: 'internal' });
  });
  return { app, b };
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function listen(options: BatonExpressOptions) {
  const { b } = ordersApp(options);
  const listening = await b.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(async () => {
    b.lifecycle.force('test cleanup');
    await listening.close();
  });
  return { b, listening };
}

const quick = { shutdown: { propagationDelayMs: 0 } };

describe('@baton/express with metrics', () => {
  it('records every app request by route template, including throwing and rejecting handlers, and leaves probes and scrapes out', async () => {
    const metrics = createMetrics({ release: 'v2' });
    const { listening } = await listen({ lifecycle: quick, metrics });
    const url = listening.url;
    for (const path of ['/orders/1', '/orders/2', '/orders/3', '/api/items/7', '/api/items/bad', '/boom', '/api/reject/1', '/api/reject/2']) {
      await fetchText(`${url}${path}`);
    }
    // 404s and garbage paths share one route label.
    for (const path of ['/nope', '/orders', '/%2e%2e/etc/passwd', `/random/${'x'.repeat(200)}`, '/api/items']) {
      expect((await fetchText(`${url}${path}`)).status).toBe(404);
    }
    for (const path of ['/livez', '/readyz', '/metrics']) expect((await fetchText(`${url}${path}`)).status).toBe(200);

    expect(requestCounts(await metrics.text())).toEqual({
      'GET /orders/:id 200': 3,
      'GET /api/items/:itemId 200': 1,
      'GET /api/items/:itemId 500': 1,
      'GET /boom 500': 1,
      'GET /api/reject/:x 500': 2,
      'GET (unmatched) 404': 5,
    });
    const scraped = await fetchText(`${url}/metrics`);
    expect(scraped.body).toContain('http_requests_total{release="v2",method="GET",route="/orders/:id",status_code="200"} 3');
    expect(scraped.body).toContain('baton_lifecycle_state{release="v2",state="ready"} 1');
  });

  it('records a client that hangs up as 499, and counts in-flight requests', async () => {
    const metrics = createMetrics();
    const { listening } = await listen({ lifecycle: quick, metrics });
    await hangUpIsRecorded(listening, metrics);
  });

  it('keeps answering scrapes while draining, on the app port during the propagation delay', async () => {
    const metrics = createMetrics();
    const { listening } = await listen({ lifecycle: { shutdown: { propagationDelayMs: 400 } }, metrics });
    await scrapesDuringPropagation(listening, metrics);
  });

  it('serves metrics on a port of their own through the whole drain, with a bearer token', async () => {
    const metrics = createMetrics();
    const { listening } = await listen({
      lifecycle: { shutdown: { propagationDelayMs: 0, drainTimeoutMs: 3000 } },
      metrics,
      metricsEndpoint: { port: 0, token: 'scrape-me' },
    });
    await separatePortThroughDrain(listening, metrics, 'scrape-me');
  });

  it('records requests on a server you run yourself through metricsMiddleware', async () => {
    const metrics = createMetrics();
    const app = express();
    const b = baton(app, { metrics, lifecycle: quick });
    app.use(b.probes, b.metricsMiddleware);
    app.get('/orders/:id', (_req, res) => {
      res.send('ok');
    });
    const server: Server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await fetchText(`${url}/orders/9`);
    await fetchText(`${url}/readyz`);
    expect((await fetchText(`${url}/metrics`)).body).toContain('route="/orders/:id"');
    expect(requestCounts(await metrics.text())).toEqual({ 'GET /orders/:id 200': 1 });
  });

  it('refuses metrics options that cannot work, at construction', () => {
    const bad: [BatonExpressOptions, RegExp][] = [
      [{ metricsEndpoint: { path: '/m' } }, /needs `metrics`/],
      [{ metrics: {} as Metrics }, /createMetrics/],
      [{ metrics: createMetrics(), metricsEndpoint: { path: 'm' } }, /start with/],
      [{ metrics: createMetrics(), metricsEndpoint: { port: 70000 } }, /port/],
    ];
    for (const [options, message] of bad) {
      let error: unknown;
      try {
        baton(express(), options);
      } catch (caught) {
        error = caught;
      }
      expect(isBatonError(error, 'BATON_ERR_INVALID_OPTION'), String(message)).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
  });
});

describe('b.serve(): a metrics port that cannot be bound', () => {
  it('is a startup failure: BATON_ERR_LISTEN_FAILED, the shutdown hooks run, exit code 1', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const codes: number[] = [];
      const b = baton(express(), {
        metrics: createMetrics(),
        metricsEndpoint: { port: (taken.address() as AddressInfo).port },
        lifecycle: { logger: silentLogger, shutdown: { propagationDelayMs: 0 } },
      });
      let flushed = false;
      b.lifecycle.onShutdown({ name: 'flush', run: () => void (flushed = true) });
      await expect(b.serve({ port: 0, host: '127.0.0.1', signals: false, exit: (code) => void codes.push(code) })).rejects.toMatchObject({
        code: 'BATON_ERR_LISTEN_FAILED',
      });
      await waitFor(() => codes.length > 0, 10_000, 'exit called');
      expect(b.lifecycle.state).toBe('stopped');
      expect(codes).toEqual([1]);
      expect(flushed).toBe(true);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

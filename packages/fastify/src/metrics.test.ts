import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics, type Metrics } from '@baton/metrics';
import { isBatonError, type Served } from '@baton/lifecycle';
import { fetchText, requestCounts } from '@baton/testing';
import { hangUpIsRecorded, scrapesDuringPropagation, separatePortThroughDrain } from '@baton/testing/metrics-scenarios';
import { batonPlugin, serveFastify, type BatonPluginOptions } from './index.js';

/** An app with the shapes that make route labels hard, and an auth hook that lets Baton's routes through. */
async function ordersApp(options: BatonPluginOptions): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(batonPlugin, options);
  app.addHook('onRequest', async (request, reply) => {
    const config = request.routeOptions.config;
    if (config.batonProbe || config.batonMetrics) return;
    if (request.url.startsWith('/private')) return reply.code(401).send({ error: 'unauthorized' });
  });
  app.get<{ Params: { id: string } }>('/orders/:id', async (request) => ({ id: request.params.id }));
  app.get('/boom', async () => {
    throw new Error('handler bug');
  });
  app.get('/private/thing', async () => ({ secret: true }));
  await app.register(
    async (items) => {
      items.get<{ Params: { itemId: string } }>('/items/:itemId', async (request) => {
        if (request.params.itemId === 'bad') throw new Error('bad item');
        return { item: request.params.itemId };
      });
      items.get('/hang', () => new Promise(() => {})); // never answers: the client gives up
      items.get('/slow', async () => {
        await new Promise((resolve) => setTimeout(resolve, 400));
        return { slow: true };
      });
    },
    { prefix: '/api' },
  );
  return app;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function serveApp(options: BatonPluginOptions) {
  const app = await ordersApp(options);
  const served = await serveFastify(app, { port: 0, host: '127.0.0.1', signals: false, exit: false });
  cleanups.push(async () => {
    app.lifecycle.force('test cleanup');
    await served.stopped;
  });
  await served.ready;
  return { app, served };
}

const quick = { shutdown: { propagationDelayMs: 0 } };

/** The served app as the shared scenarios see it: closing is a graceful shutdown until stopped. */
function running(served: Served) {
  return {
    url: served.url,
    metricsPort: served.metricsPort,
    close: async (reason: string) => {
      await served.shutdown(reason);
      await served.stopped;
    },
  };
}

describe('@baton/fastify with metrics', () => {
  it('records every app request by route template (prefixes included), throwing handlers and hooks’ answers too, and leaves probes and scrapes out', async () => {
    const metrics = createMetrics({ release: 'v2' });
    const { served } = await serveApp({ lifecycle: quick, metrics });
    const url = served.url;
    for (const path of ['/orders/1', '/orders/2', '/orders/3', '/api/items/7', '/api/items/bad', '/boom', '/private/thing']) {
      await fetchText(`${url}${path}`);
    }
    for (const path of ['/nope', '/orders', '/%2e%2e/etc/passwd', `/random/${'x'.repeat(200)}`, '/api/items']) {
      expect((await fetchText(`${url}${path}`)).status).toBe(404);
    }
    for (const path of ['/livez', '/readyz', '/metrics']) expect((await fetchText(`${url}${path}`)).status).toBe(200);
    expect((await fetchText(`${url}/metrics`, { method: 'HEAD' })).status).toBe(200);

    expect(requestCounts(await metrics.text())).toEqual({
      'GET /orders/:id 200': 3,
      'GET /api/items/:itemId 200': 1,
      'GET /api/items/:itemId 500': 1,
      'GET /boom 500': 1,
      'GET /private/thing 401': 1,
      'GET (unmatched) 404': 5,
    });
    const scraped = await fetchText(`${url}/metrics`);
    expect(scraped.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(scraped.body).toContain('http_requests_total{release="v2",method="GET",route="/orders/:id",status_code="200"} 3');
    expect(scraped.body).toContain('baton_lifecycle_state{release="v2",state="ready"} 1');
  });

  it('records a client that hangs up as 499, and counts in-flight requests', async () => {
    const metrics = createMetrics();
    const { served } = await serveApp({ lifecycle: quick, metrics });
    await hangUpIsRecorded(running(served), metrics);
  });

  it('keeps answering scrapes while draining, on the app port during the propagation delay', async () => {
    const metrics = createMetrics();
    const { served } = await serveApp({ lifecycle: { shutdown: { propagationDelayMs: 400 } }, metrics });
    await scrapesDuringPropagation(running(served), metrics);
  });

  it('serves metrics on a port of their own through the whole drain, with a bearer token', async () => {
    const metrics = createMetrics();
    const { app, served } = await serveApp({
      lifecycle: { shutdown: { propagationDelayMs: 0, drainTimeoutMs: 3000 } },
      metrics,
      metricsEndpoint: { port: 0, host: '127.0.0.1', token: 'scrape-me' },
    });
    expect(app.batonMetricsServer?.listening).toBe(true);
    await separatePortThroughDrain(running(served), metrics, 'scrape-me');
  });

  it('refuses metrics options that cannot work, when the plugin loads', async () => {
    const bad: [BatonPluginOptions, RegExp][] = [
      [{ metricsEndpoint: { path: '/m' } }, /needs `metrics`/],
      [{ metrics: {} as Metrics }, /createMetrics/],
      [{ metrics: createMetrics(), metricsEndpoint: { token: '' } }, /token/],
      [{ metrics: createMetrics(), metricsEndpoint: { port: -1 } }, /port/],
    ];
    for (const [options, message] of bad) {
      const app = Fastify();
      let error: unknown;
      try {
        await app.register(batonPlugin, options);
        await app.ready();
      } catch (caught) {
        error = caught;
      }
      expect(isBatonError(error, 'BATON_ERR_INVALID_OPTION'), String(message)).toBe(true);
      expect((error as Error).message).toMatch(message);
      await app.close().catch(() => {});
    }
  });
});

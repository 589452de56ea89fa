import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Gauge } from 'prom-client';
import { isBatonError } from '@baton/lifecycle';
import { fetchText } from '@baton/testing';
import { createMetrics } from './metrics.js';
import { createMetricsHandler, createMetricsServer, type MetricsEndpointServerOptions } from './metrics-endpoint.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('createMetricsHandler', () => {
  it('answers the metrics path in front of the app and passes everything else on', async () => {
    const metrics = createMetrics({ release: 'v1' });
    const answer = createMetricsHandler(metrics);
    const url = await listen(createServer((req, res) => (answer(req, res) ? undefined : res.end('app'))));
    const scraped = await fetchText(`${url}/metrics`);
    expect(scraped.status).toBe(200);
    expect(scraped.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(scraped.body).toContain('# TYPE http_requests_total counter');
    expect((await fetchText(`${url}/metrics?x=1`)).status).toBe(200);
    expect((await fetchText(`${url}/metricsx`)).body).toBe('app');
    expect((await fetchText(`${url}/orders`)).body).toBe('app');
    const head = await fetchText(`${url}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    const post = await fetchText(`${url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('asks for the bearer token when one is set, and says which part was wrong', async () => {
    const metrics = createMetrics();
    const answer = createMetricsHandler(metrics, { token: 's3cret', path: '/internal/metrics' });
    const url = await listen(createServer((req, res) => (answer(req, res) ? undefined : res.end('app'))));
    const none = await fetchText(`${url}/internal/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    expect(none.body).toContain('send Authorization: Bearer');
    const wrong = await fetchText(`${url}/internal/metrics`, { headers: { authorization: 'Bearer s3cre' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain('not accepted');
    expect(wrong.body).not.toContain('s3cret');
    const basic = await fetchText(`${url}/internal/metrics`, { headers: { authorization: 'Basic czNjcmV0' } });
    expect(basic.status).toBe(401);
    const right = await fetchText(`${url}/internal/metrics`, { headers: { authorization: 'Bearer s3cret' } });
    expect(right.status).toBe(200);
    expect(right.body).toContain('http_requests_total');
    // The default path is now the app's.
    expect((await fetchText(`${url}/metrics`)).body).toBe('app');
  });

  it('answers 500 with one line, not a stack trace, when a collector throws', async () => {
    const metrics = createMetrics();
    new Gauge({
      name: 'app_queue_depth',
      help: 'x',
      registers: [metrics.registry],
      collect() {
        throw new Error('queue unreachable');
      },
    });
    const url = await listen(createMetricsServer(metrics));
    const scraped = await fetchText(`${url}/metrics`);
    expect(scraped.status).toBe(500);
    expect(scraped.body).toBe('metrics collection failed: queue unreachable\n');
    expect((await fetchText(`${url}/other`)).status).toBe(404);
  });

  it('rejects bad endpoint options at once', () => {
    const metrics = createMetrics();
    const bad: [MetricsEndpointServerOptions, RegExp][] = [
      [{ path: 'metrics' }, /start with "\/"/],
      [{ path: '/metrics?x' }, /no query/],
      [{ token: '' }, /token/],
      [{ token: 'a b' }, /without spaces/],
      [{ token: 42 as never }, /token/],
    ];
    for (const [options, message] of bad) {
      let error: unknown;
      try {
        createMetricsHandler(metrics, options);
      } catch (caught) {
        error = caught;
      }
      expect(isBatonError(error, 'BATON_ERR_INVALID_OPTION'), JSON.stringify(options)).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Registry } from 'prom-client';
import { BatonError, isBatonError } from '@baton/lifecycle';
import { closeServers } from '@baton/testing';
import { scrape, snapshotFromText } from './snapshot.js';

const servers: Server[] = [];

afterEach(() => closeServers(servers));

async function listen(handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

async function scrapeError(promise: Promise<unknown>): Promise<BatonError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isBatonError(error, 'BATON_ERR_SCRAPE_FAILED'), String(error)).toBe(true);
  return error as BatonError;
}

function ordersRegistry(): Registry {
  const registry = new Registry();
  const requests = new Counter({ name: 'http_requests_total', help: 'Requests', labelNames: ['release', 'status_code'], registers: [registry] });
  requests.inc({ release: 'v2', status_code: '200' }, 41);
  requests.inc({ release: 'v2', status_code: '503' });
  return registry;
}

describe('scrape', () => {
  it('fetches and parses a prom-client registry, asking for the 0.0.4 text format', async () => {
    const registry = ordersRegistry();
    let seen: IncomingHttpHeaders = {};
    const url = await listen(async (req, res) => {
      seen = req.headers;
      res.setHeader('content-type', registry.contentType);
      res.end(await registry.metrics());
    });

    const snapshot = await scrape(url, { now: () => 1_000 });

    expect(seen.accept).toBe('text/plain;version=0.0.4');
    expect(seen.authorization).toBeUndefined();
    expect(snapshot.source).toBe(url);
    expect(snapshot.atMs).toBe(1_000);
    expect(snapshot.families).toEqual([
      {
        name: 'http_requests_total',
        help: 'Requests',
        type: 'counter',
        samples: [
          { name: 'http_requests_total', labels: { release: 'v2', status_code: '200' }, value: 41 },
          { name: 'http_requests_total', labels: { release: 'v2', status_code: '503' }, value: 1 },
        ],
      },
    ]);
  });

  describe('with a bearer token', () => {
    async function guarded(): Promise<string> {
      const registry = ordersRegistry();
      return listen(async (req, res) => {
        if (req.headers.authorization !== 'Bearer s3cret') {
          res.statusCode = 401;
          res.setHeader('www-authenticate', 'Bearer');
          res.end('unauthorized');
          return;
        }
        res.end(await registry.metrics());
      });
    }

    it('sends it', async () => {
      const snapshot = await scrape(await guarded(), { token: 's3cret' });
      expect(snapshot.families[0]?.samples).toHaveLength(2);
    });

    it('says the token was refused on 401', async () => {
      const url = await guarded();
      const error = await scrapeError(scrape(url, { token: 'wrong' }));
      expect(error.message).toBe(`scraping ${url} failed: HTTP 401: the token was refused`);
    });

    it('says a token is wanted when none was given', async () => {
      const url = await guarded();
      const error = await scrapeError(scrape(url));
      expect(error.message).toBe(`scraping ${url} failed: HTTP 401: the endpoint wants a token and none was given`);
    });
  });

  it('fails on a 500 with the status and the start of the body', async () => {
    const url = await listen((_req, res) => {
      res.statusCode = 500;
      res.end('collector\n  exploded');
    });
    const error = await scrapeError(scrape(url));
    expect(error.message).toBe(`scraping ${url} failed: HTTP 500: expected status 200; body: collector exploded`);
  });

  it('times out on a server that never answers', async () => {
    const url = await listen(() => {
      // never answers
    });
    const started = Date.now();
    const error = await scrapeError(scrape(url, { timeoutMs: 200 }));
    expect(error.message).toBe(`scraping ${url} failed: no complete answer within 200 ms`);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('times out on a server that sends headers and then stalls in the body', async () => {
    const url = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('# TYPE up gauge\n');
    });
    const error = await scrapeError(scrape(url, { timeoutMs: 200 }));
    expect(error.message).toBe(`scraping ${url} failed: no complete answer within 200 ms`);
  });

  it('fails with the network error when nothing listens', async () => {
    const url = await listen(() => undefined);
    const server = servers.pop() as Server;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const error = await scrapeError(scrape(url));
    expect(error.message).toContain(`scraping ${url} failed: fetch failed`);
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('fails on an answer larger than maxBytes, declared or streamed, and reads one that fits', async () => {
    const body = `${'# a comment line to pad the answer\n'.repeat(100)}up 1\n`;
    const declared = await listen((_req, res) => res.end(body));
    const streamed = await listen((_req, res) => {
      res.write(body.slice(0, 1000));
      setTimeout(() => res.end(body.slice(1000)), 20);
    });
    expect((await scrapeError(scrape(declared, { maxBytes: 1000 }))).message).toContain('larger than 1000 bytes');
    expect((await scrapeError(scrape(streamed, { maxBytes: 1000 }))).message).toContain('larger than 1000 bytes');
    const fits = await scrape(streamed, { maxBytes: body.length });
    expect(fits.families.map((family) => family.name)).toEqual(['up']);
  });

  it('fails with the parse error when the answer is not Prometheus text', async () => {
    const url = await listen((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end('<!doctype html>\n<html>login</html>');
    });
    const error = await scrapeError(scrape(url));
    expect(error.message).toBe(`scraping ${url} failed: the answer is not Prometheus text: line 1: expected a metric name, got "<!doctype"`);
    expect(isBatonError(error.cause, 'BATON_ERR_METRICS_PARSE')).toBe(true);
  });

  it('rejects with the reason of the caller’s abort, not as a scrape failure', async () => {
    const url = await listen(() => undefined);
    const controller = new AbortController();
    const reason = new Error('deploy cancelled');
    setTimeout(() => controller.abort(reason), 50);
    await expect(scrape(url, { signal: controller.signal })).rejects.toBe(reason);
  });

  it('rejects bad options before any request', async () => {
    for (const [url, options] of [
      ['not a url', {}],
      ['file:///etc/passwd', {}],
      ['http://127.0.0.1:9/metrics', { timeoutMs: 0 }],
      ['http://127.0.0.1:9/metrics', { token: '' }],
      ['http://127.0.0.1:9/metrics', { token: 'a\r\nX-Evil: 1' }],
    ] as const) {
      await expect(scrape(url, options)).rejects.toSatisfy((e: unknown) => isBatonError(e, 'BATON_ERR_INVALID_OPTION'));
    }
  });
});

describe('snapshotFromText', () => {
  it('wraps parsed text with its source and time', async () => {
    const snapshot = snapshotFromText(await ordersRegistry().metrics(), 'pod-a', 42);
    expect(snapshot).toMatchObject({ source: 'pod-a', atMs: 42, families: [{ name: 'http_requests_total', type: 'counter' }] });
  });

  it('lets the parse error through', () => {
    expect(() => snapshotFromText('m{', 'pod-a', 0)).toThrow(/line 1: the labels of m are not closed/);
  });
});

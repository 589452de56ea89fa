import { Agent } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fetchText, waitFor, type TestResponse } from '@baton/testing';
import { BatonError, createLifecycle, type Lifecycle, type Served } from '@baton/lifecycle';
import { batonPlugin, serveFastify, type BatonPluginOptions } from './index.js';


const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

/** An app as users write it: Baton first, then an auth hook that lets only probe routes through. */
async function createTestApp(options: BatonPluginOptions = {}, setup?: (app: FastifyInstance) => void): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(batonPlugin, options);
  setup?.(app);
  app.addHook('onRequest', async (request, reply) => {
    const url = request.routeOptions.url;
    const open = url === undefined || url === '/hello' || url === '/slow' || request.routeOptions.config.batonProbe === true;
    if (!open && request.headers.authorization !== 'Bearer ok') {
      return reply.code(401).send({ error: 'unauthorized' });
    }
  });
  app.get('/hello', async () => ({ hello: 'world' }));
  app.get('/private', async () => ({ secret: true }));
  app.get<{ Querystring: { ms?: string } }>('/slow', async (request) => {
    const ms = Number(request.query.ms ?? 200);
    await new Promise((resolve) => setTimeout(resolve, ms));
    return { slept: ms };
  });
  return app;
}

async function serveTestApp(options: BatonPluginOptions = {}, setup?: (app: FastifyInstance) => void) {
  const app = await createTestApp(options, setup);
  const exit = vi.fn();
  const served = await serveFastify(app, { port: 0, host: '127.0.0.1', signals: false, exit });
  cleanups.push(async () => {
    app.lifecycle.force('test cleanup');
    await served.stopped;
  });
  await served.ready;
  return { app, served, exit };
}

const noDelay = { shutdown: { propagationDelayMs: 0 } };
const longDelay = { shutdown: { propagationDelayMs: 20_000, gracePeriodMs: 60_000 } };

describe('probe routes', () => {
  it('answers every probe with application/health+json', async () => {
    const { served } = await serveTestApp({ lifecycle: noDelay });
    for (const path of ['/livez', '/readyz', '/startupz', '/healthz']) {
      const response = await fetchText(`${served.url}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers['content-type']).toBe('application/health+json');
      expect(response.headers['cache-control']).toBe('no-store');
      expect(JSON.parse(response.body)).toMatchObject({ status: 'pass' });
    }
  });

  it('answers HEAD without a body, and ignores query strings when routing', async () => {
    const { served } = await serveTestApp({ lifecycle: noDelay });
    const head = await fetchText(`${served.url}/readyz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe('application/health+json');
    expect(head.body).toBe('');
    expect((await fetchText(`${served.url}/livez?probe=kubelet&t=1`)).status).toBe(200);
  });

  it('answers HEAD even when the app turned exposeHeadRoutes off', async () => {
    const app = Fastify({ exposeHeadRoutes: false });
    await app.register(batonPlugin, { lifecycle: noDelay });
    cleanups.push(() => app.close());
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    expect((await fetchText(`http://127.0.0.1:${port}/livez`, { method: 'HEAD' })).status).toBe(200);
  });

  it('answers readiness 503 before startup is over', async () => {
    const app = await createTestApp({ lifecycle: noDelay });
    cleanups.push(() => app.close());
    const response = await app.inject({ url: '/readyz' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ status: 'fail', output: 'starting' });
  });

  it('shows checks with ?verbose and hides their output unless details are allowed', async () => {
    const checks = [{ name: 'db', check: () => ({ status: 'warn' as const, output: 'db.internal:5432 slow' }), critical: false }];
    const { served } = await serveTestApp({ lifecycle: { ...noDelay, checks } });
    expect(JSON.parse((await fetchText(`${served.url}/readyz`)).body).checks).toBeUndefined();
    const verbose = JSON.parse((await fetchText(`${served.url}/readyz?verbose=1`)).body);
    expect(verbose.status).toBe('warn');
    expect(verbose.checks.db[0]).toMatchObject({ status: 'warn' });
    expect(verbose.checks.db[0].output).toBeUndefined();

    const { served: trusted } = await serveTestApp({
      lifecycle: { ...noDelay, checks },
      probes: { details: (req) => req.url?.includes('trusted') === true },
    });
    const detailed = JSON.parse((await fetchText(`${trusted.url}/readyz?verbose&trusted`)).body);
    expect(detailed.checks.db[0].output).toBe('db.internal:5432 slow');
  });

  it('uses custom paths, and registers none with probes: false', async () => {
    const { served } = await serveTestApp({ lifecycle: noDelay, probes: { paths: { readiness: '/ready', health: false } } });
    expect((await fetchText(`${served.url}/ready`)).status).toBe(200);
    expect((await fetchText(`${served.url}/healthz`)).status).toBe(404);
    expect((await fetchText(`${served.url}/private`)).status).toBe(401); // the app's auth hook still guards its routes
    const { served: none } = await serveTestApp({ lifecycle: noDelay, probes: false });
    expect((await fetchText(`${none.url}/readyz`)).status).toBe(404);
  });

  it('answers probes on a separate port, and not on the app', async () => {
    const { app, served } = await serveTestApp({ lifecycle: noDelay, probes: { port: 0, host: '127.0.0.1' } });
    expect(served.probePort).toBeTypeOf('number');
    expect((await fetchText(`http://127.0.0.1:${served.probePort}/readyz`)).status).toBe(200);
    expect((await fetchText(`${served.url}/readyz`)).status).toBe(404);
    await served.shutdown('test');
    await served.stopped;
    expect(app.batonProbeServer?.listening).toBe(false);
    await expect(fetchText(`http://127.0.0.1:${served.probePort}/livez`)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('graceful shutdown with Fastify', () => {
  it('fails readiness but refuses nothing during the propagation delay; responses say Connection: close', async () => {
    const { app, served } = await serveTestApp({ lifecycle: longDelay });
    const keepAlive = new Agent({ keepAlive: true });
    cleanups.push(async () => keepAlive.destroy());
    expect((await fetchText(`${served.url}/hello`, { agent: keepAlive })).headers.connection).toBe('keep-alive');

    const shutdown = served.shutdown('test');
    expect(app.lifecycle.state).toBe('draining');
    const ready = await fetchText(`${served.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.headers['content-type']).toBe('application/health+json');
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'fail', output: 'draining' });

    // Fastify is not "closing" yet, so its return503OnClosing refuses nothing: old and new connections alike.
    const answers: TestResponse[] = [];
    answers.push(await fetchText(`${served.url}/hello`, { agent: keepAlive }));
    for (let i = 0; i < 5; i++) answers.push(await fetchText(`${served.url}/hello`, { agent: keepAlive }));
    answers.push(await fetchText(`${served.url}/hello`));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.headers.connection).toBe('close');
      expect(JSON.parse(answer.body)).toEqual({ hello: 'world' });
    }

    app.lifecycle.force('test done');
    await shutdown;
  });

  it('lets an in-flight slow request finish, closes the app last, and stops without waiting out the keep-alive timeout', async () => {
    const order: string[] = [];
    const { app, served, exit } = await serveTestApp({ lifecycle: noDelay }, (app) => {
      app.lifecycle.onShutdown(() => void order.push('user hook'), { name: 'user hook' });
      app.addHook('onClose', async () => void order.push('fastify onClose'));
    });
    // An idle keep-alive connection: with Fastify's own close it would hold the server for 72 s.
    const idle = new Agent({ keepAlive: true });
    cleanups.push(async () => idle.destroy());
    await fetchText(`${served.url}/hello`, { agent: idle });

    const slow = fetchText(`${served.url}/slow?ms=300`);
    await waitFor(() => app.lifecycle.counts().inFlight === 1, 5000, 'the slow request to arrive');
    const started = Date.now();
    const report = await served.shutdown('test');
    const { code } = await served.stopped;

    const response = await slow;
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ slept: 300 });
    expect(report.forced).toBe(false);
    expect(report.hookFailures).toEqual([]);
    expect(order).toEqual(['user hook', 'fastify onClose']);
    expect(code).toBe(0);
    expect(exit).toHaveBeenCalledWith(0);
    expect(app.server.listening).toBe(false);
    // The point of the bound: Fastify's keep-alive timeout is 72 s.
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('does not cut an ordinary request whose client accepts text/event-stream', async () => {
    const { app, served } = await serveTestApp({ lifecycle: noDelay });
    const slow = fetchText(`${served.url}/slow?ms=300`, { headers: { accept: 'text/event-stream, */*' } });
    await waitFor(() => app.lifecycle.counts().inFlight + app.lifecycle.counts().longLived === 1, 5000, 'the slow request to arrive');
    await served.shutdown('test');
    const response = await slow;
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ slept: 300 });
  });

  it('ends the lifecycle cleanly, without the propagation delay, when the app is closed directly', async () => {
    // A 20 s delay: a close that waited for it would time this test out.
    const app = await createTestApp({ lifecycle: { shutdown: { propagationDelayMs: 20_000, gracePeriodMs: 60_000 } } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    await app.lifecycle.start();
    const stopped = new Promise((resolve) => app.lifecycle.once('stopped', resolve));
    await expect(app.close()).resolves.toBeUndefined();
    const report = (await stopped) as { forced: boolean };
    expect(app.lifecycle.state).toBe('stopped');
    expect(report.forced).toBe(false);
    expect(app.server.listening).toBe(false);
  });

  it('closes without an error when the lifecycle already closed the listener', async () => {
    const { app, served } = await serveTestApp({ lifecycle: noDelay });
    const report = await served.shutdown('test');
    expect(report.hookFailures).toEqual([]);
    await expect(app.close()).resolves.toBeUndefined();
  });

  it('uses a lifecycle given by the caller', async () => {
    const lifecycle: Lifecycle = createLifecycle({ release: 'r42', shutdown: { propagationDelayMs: 0 } });
    const { app, served } = await serveTestApp({ lifecycle });
    expect(app.lifecycle).toBe(lifecycle);
    expect(JSON.parse((await fetchText(`${served.url}/readyz`)).body)).toMatchObject({ releaseId: 'r42' });
  });
});

describe('bad options', () => {
  const cases: [string, BatonPluginOptions, RegExp][] = [
    ['a bad probe path', { probes: { paths: { readiness: 'readyz' } } }, /paths\.readiness/],
    ['a bad probe port', { probes: { port: 1.5 } }, /probes\.port/],
    ['probes that are not options', { probes: 'yes' as unknown as false }, /probes/],
    ['a negative delay', { lifecycle: { shutdown: { propagationDelayMs: -1 } } }, /propagationDelayMs/],
  ];
  it.each(cases)('rejects registration with a BatonError for %s', async (_name, options, message) => {
    const app = Fastify();
    cleanups.push(() => app.close());
    const error = await app.register(batonPlugin, options).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BatonError);
    expect((error as BatonError).code).toBe('BATON_ERR_INVALID_OPTION');
    expect((error as Error).message).toMatch(message);
  });

  it('serveFastify says to register the plugin first', async () => {
    const app = Fastify();
    cleanups.push(() => app.close());
    await expect(serveFastify(app, { port: 0, signals: false, exit: false })).rejects.toThrow(/register batonPlugin first/);
  });
});

export type { Served };

import { Agent, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Application } from 'express';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fetchText, waitFor } from '@baton/testing';
import { BatonError, createLifecycle, isBatonError, type Lifecycle } from '@baton/lifecycle';
import { baton, type BatonListening } from './index.js';


/** An app as users write it: probes first, then an auth wall, then routes. */
function createTestApp(options: Parameters<typeof baton>[1] = {}) {
  const app: Application = express();
  const b = baton(app, options);
  app.use((req, res, next) => {
    if (req.headers.authorization === 'Bearer ok' || req.path === '/hello' || req.path === '/slow' || req.path === '/events') next();
    else res.status(401).json({ error: 'unauthorized' });
  });
  app.get('/hello', (_req, res) => {
    res.json({ hello: 'world' });
  });
  app.get('/slow', (req, res) => {
    const ms = Number(req.query.ms ?? 200);
    setTimeout(() => res.json({ slept: ms }), ms);
  });
  return { app, b };
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function listen(options: Parameters<typeof baton>[1] = {}) {
  const { app, b } = createTestApp(options);
  const listening = await b.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(async () => {
    b.lifecycle.force('test cleanup');
    await listening.close();
  });
  return { app, b, listening };
}

const noDelay = { shutdown: { propagationDelayMs: 0 } };

describe('probe routes', () => {
  it('answers every probe with application/health+json before any auth middleware', async () => {
    const { listening } = await listen({ lifecycle: noDelay });
    for (const path of ['/livez', '/readyz', '/startupz', '/healthz']) {
      const response = await fetchText(`${listening.url}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers['content-type']).toBe('application/health+json');
      expect(response.headers['cache-control']).toBe('no-store');
      expect(JSON.parse(response.body)).toMatchObject({ status: 'pass' });
    }
    // The app's own routes sit behind the auth wall.
    expect((await fetchText(`${listening.url}/private`)).status).toBe(401);
  });

  it('answers HEAD without a body, and ignores unrelated query strings', async () => {
    const { listening } = await listen({ lifecycle: noDelay });
    const head = await fetchText(`${listening.url}/readyz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe('application/health+json');
    expect(head.body).toBe('');
    const withQuery = await fetchText(`${listening.url}/livez?probe=kubelet&t=1`);
    expect(withQuery.status).toBe(200);
  });

  it('shows checks with ?verbose and hides their output unless details are allowed', async () => {
    const checks = [{ name: 'db', check: () => ({ status: 'warn' as const, output: 'db.internal:5432 slow' }), critical: false }];
    const { listening } = await listen({ lifecycle: { ...noDelay, checks } });
    const plain = JSON.parse((await fetchText(`${listening.url}/readyz`)).body);
    expect(plain.checks).toBeUndefined();
    const verbose = JSON.parse((await fetchText(`${listening.url}/readyz?verbose`)).body);
    expect(verbose.status).toBe('warn');
    expect(verbose.checks.db[0].status).toBe('warn');
    expect(verbose.checks.db[0].output).toBeUndefined();

    const { listening: trusted } = await listen({
      lifecycle: { ...noDelay, checks },
      probes: { details: (req) => req.headers['x-internal'] === 'yes' || req.url?.includes('trusted') === true },
    });
    const detailed = JSON.parse((await fetchText(`${trusted.url}/readyz?verbose&trusted`)).body);
    expect(detailed.checks.db[0].output).toBe('db.internal:5432 slow');
  });

  it('uses custom paths and leaves a disabled probe to the app', async () => {
    const { listening } = await listen({ lifecycle: noDelay, probes: { paths: { readiness: '/ready', health: false } } });
    expect((await fetchText(`${listening.url}/ready`)).status).toBe(200);
    expect((await fetchText(`${listening.url}/healthz`)).status).toBe(401); // reached the app's auth wall
  });

  it('mounts no probes with probes: false', async () => {
    const { listening } = await listen({ lifecycle: noDelay, probes: false });
    expect((await fetchText(`${listening.url}/readyz`)).status).toBe(401);
  });

  it('answers probes on a separate port, and not on the app', async () => {
    const { listening } = await listen({ lifecycle: noDelay, probes: { port: 0, host: '127.0.0.1' } });
    expect(listening.probePort).toBeTypeOf('number');
    expect((await fetchText(`http://127.0.0.1:${listening.probePort}/readyz`)).status).toBe(200);
    expect((await fetchText(`${listening.url}/readyz`)).status).toBe(401);
    await listening.close();
    await expect(fetchText(`http://127.0.0.1:${listening.probePort}/livez`)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('a server you run yourself', () => {
  it('answers the probes through the `probes` middleware, and drains through lifecycle.attach', async () => {
    const app = express();
    const b = baton(app, { lifecycle: noDelay });
    app.use(b.probes);
    app.get('/hello', (_req, res) => void res.json({ hello: 'world' }));
    const server = createServer(app);
    b.lifecycle.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => b.lifecycle.force('test cleanup'));
    await b.lifecycle.start();
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect((await fetchText(`${url}/readyz`)).headers['content-type']).toBe('application/health+json');
    expect((await fetchText(`${url}/hello`)).body).toBe('{"hello":"world"}');
    const report = await b.lifecycle.shutdown('test');
    expect(report.forced).toBe(false);
    expect(server.listening).toBe(false);
  });
});

describe('graceful shutdown', () => {
  it('fails readiness at once but keeps serving the app with Connection: close during the propagation delay', async () => {
    // A long delay, cut by force() at the end: the test acts inside it without racing a timer.
    const { b, listening } = await listen({ lifecycle: { shutdown: { propagationDelayMs: 20_000, gracePeriodMs: 60_000 } } });
    const keepAlive = new Agent({ keepAlive: true });
    cleanups.push(async () => keepAlive.destroy());
    const before = await fetchText(`${listening.url}/hello`, { agent: keepAlive });
    expect(before.headers.connection).toBe('keep-alive');

    const shutdown = listening.close('test');
    expect(b.lifecycle.state).toBe('draining');

    const ready = await fetchText(`${listening.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'fail', output: 'draining' });
    expect((await fetchText(`${listening.url}/livez`)).status).toBe(200);

    // On the keep-alive connection opened before the shutdown: answered, and told to go elsewhere next time.
    const during = await fetchText(`${listening.url}/hello`, { agent: keepAlive });
    expect(during.status).toBe(200);
    expect(during.headers.connection).toBe('close');
    expect(JSON.parse(during.body)).toEqual({ hello: 'world' });

    b.lifecycle.force('test done');
    const report = await shutdown;
    // The app request only: the two probe answers are not app traffic.
    expect(report.requestsAfterNotReady).toBe(1);
  });

  it('lets an in-flight slow request finish, then stops listening', async () => {
    const { b, listening } = await listen({ lifecycle: noDelay });
    const slow = fetchText(`${listening.url}/slow?ms=300`);
    await waitFor(() => b.lifecycle.counts().inFlight === 1, 5000, 'the slow request to arrive');

    const report = await listening.close('test');
    const response = await slow;
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ slept: 300 });
    expect(report.forced).toBe(false);
    expect(report.forcedCloses).toBe(0);
    expect(b.lifecycle.state).toBe('stopped');
    expect(listening.server.listening).toBe(false);
    await expect(fetchText(`${listening.url}/hello`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('does not cut an ordinary request whose client accepts text/event-stream', async () => {
    const { b, listening } = await listen({ lifecycle: noDelay });
    const slow = fetchText(`${listening.url}/slow?ms=300`, { headers: { accept: 'text/event-stream, */*' } });
    await waitFor(() => b.lifecycle.counts().inFlight + b.lifecycle.counts().longLived === 1, 5000, 'the slow request to arrive');
    await listening.close('test');
    const response = await slow;
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ slept: 300 });
  });

  it('ends a Server-Sent Events stream when the drain begins', async () => {
    const { app, b } = createTestApp({ lifecycle: noDelay });
    app.get('/events', (_req, res) => {
      res.set('content-type', 'text/event-stream').flushHeaders();
      res.write('data: hello\n\n');
    });
    const listening = await b.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => listening.close());
    const stream = fetchText(`${listening.url}/events`);
    await waitFor(() => b.lifecycle.counts().longLived === 1, 5000, 'the stream to open');
    const report = await listening.close('test');
    expect((await stream).body).toBe('data: hello\n\n');
    expect(report.forced).toBe(false);
  });

  it('serve() runs the core runner: exit code 0 after a clean drain', async () => {
    const { b } = createTestApp({ lifecycle: noDelay });
    const exit = vi.fn();
    const served = await b.serve({ port: 0, host: '127.0.0.1', signals: false, exit });
    cleanups.push(() => served.shutdown());
    await served.ready;
    expect((await fetchText(`${served.url}/readyz`)).status).toBe(200);
    await served.shutdown('test');
    const { code } = await served.stopped;
    expect(code).toBe(0);
    expect(exit).toHaveBeenCalledWith(0);
  });

  it('runs once: a second listen() is refused clearly', async () => {
    const { b } = await listen({ lifecycle: noDelay });
    await expect(b.listen({ port: 0 })).rejects.toMatchObject({ code: 'BATON_ERR_INVALID_STATE' });
  });

  it('rejects listen() when startup fails, and leaves nothing listening', async () => {
    const { b } = createTestApp({ lifecycle: noDelay });
    const error = await b
      .listen({ port: 0, host: '127.0.0.1', startup: () => Promise.reject(new Error('no database')) })
      .catch((e: unknown) => e);
    expect(isBatonError(error, 'BATON_ERR_STARTUP_FAILED')).toBe(true);
    expect((error as Error).message).toMatch(/no database/);
    expect(b.lifecycle.state).toBe('stopped');
  });

  it('uses a lifecycle given by the caller', async () => {
    const lifecycle: Lifecycle = createLifecycle({ release: 'r42', shutdown: { propagationDelayMs: 0 } });
    const { b, listening } = await listen({ lifecycle });
    expect(b.lifecycle).toBe(lifecycle);
    expect(JSON.parse((await fetchText(`${listening.url}/readyz`)).body)).toMatchObject({ releaseId: 'r42' });
  });
});

describe('bad options', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['not an app', () => baton({} as Application), /Express app/],
    ['a bad probe path', () => baton(express(), { probes: { paths: { readiness: 'readyz' } } }), /paths\.readiness/],
    ['two probes on one path', () => baton(express(), { probes: { paths: { readiness: '/x', liveness: '/x' } } }), /used by two probes/],
    ['a bad probe port', () => baton(express(), { probes: { port: 70_000 } }), /probes\.port/],
    ['a bad details option', () => baton(express(), { probes: { details: 'yes' as unknown as boolean } }), /details/],
    ['a negative delay', () => baton(express(), { lifecycle: { shutdown: { propagationDelayMs: -1 } } }), /propagationDelayMs/],
    ['a lifecycle that is not one', () => baton(express(), { lifecycle: 'fast' as unknown as Lifecycle }), /lifecycle/],
  ];
  it.each(cases)('throws BatonError at once for %s', (_name, make, message) => {
    let error: unknown;
    try {
      make();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BatonError);
    expect((error as BatonError).code).toBe('BATON_ERR_INVALID_OPTION');
    expect((error as Error).message).toMatch(message);
  });

  it('refuses a bad port at serve()', async () => {
    const { b } = createTestApp();
    await expect(b.serve({ port: -5, signals: false, exit: false })).rejects.toMatchObject({ code: 'BATON_ERR_INVALID_OPTION' });
  });
});

export type { BatonListening };

import { connect as connectH2, type ClientHttp2Session } from 'node:http2';
import { Agent } from 'node:https';
import Fastify from 'fastify';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { waitFor } from '@baton/testing';
import { batonPlugin, serveFastify } from './index.js';
import { fetchTls, makeTestCertificate, type TestCertificate } from '@baton/testing/tls';

let tls: TestCertificate;
beforeAll(() => {
  tls = makeTestCertificate();
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function serveHttps(drainTimeoutMs = 15_000) {
  const app = Fastify({ https: { key: tls.key, cert: tls.cert } });
  await app.register(batonPlugin, { lifecycle: { shutdown: { propagationDelayMs: 0, drainTimeoutMs } } });
  app.get<{ Querystring: { ms?: string } }>('/slow', async (request) => {
    const ms = Number(request.query.ms ?? 200);
    await new Promise((resolve) => setTimeout(resolve, ms));
    return { slept: ms };
  });
  const exit = vi.fn();
  const served = await serveFastify(app, { port: 0, host: '127.0.0.1', signals: false, exit });
  cleanups.push(async () => {
    void app.lifecycle.force('test cleanup');
    await served.stopped;
  });
  await served.ready;
  return { app, served, exit };
}

describe("Fastify's https option", () => {
  it('a slow request in flight survives the shutdown; nothing is reported forced', async () => {
    const { app, served, exit } = await serveHttps();
    expect(served.url).toMatch(/^https:/);
    // Longer than the 1 s a fresh connection gets: the TCP socket under the TLS one used to be cut then.
    const slow = fetchTls(`${served.url}/slow?ms=1500`, tls.cert).then(
      (res) => res.body,
      (error: NodeJS.ErrnoException) => error.code ?? 'error',
    );
    await waitFor(() => app.lifecycle.counts().inFlight === 1, 5000, 'slow request in flight');
    const sockets = app.lifecycle.counts().openSockets;
    const report = await served.shutdown('test');
    expect(await slow).toBe('{"slept":1500}');
    expect(sockets).toBe(1);
    expect(report).toMatchObject({ forced: false, forcedCloses: 0 });
    expect((await served.stopped).code).toBe(0);
    expect(exit).toHaveBeenCalledWith(0);
  });

  it('a request past the drain deadline is cut and counted', async () => {
    const { app, served } = await serveHttps(300);
    const slow = fetchTls(`${served.url}/slow?ms=60000`, tls.cert).then(
      () => 'answered',
      (error: NodeJS.ErrnoException) => error.code ?? 'error',
    );
    await waitFor(() => app.lifecycle.counts().inFlight === 1, 5000, 'slow request in flight');
    const report = await served.shutdown('test');
    expect(report).toMatchObject({ forced: true, forcedBy: 'drain-timeout', forcedCloses: 1 });
    expect(await slow).toBe('ECONNRESET');
  });

  it('idle keep-alive TLS connections do not hold the drain (Fastify keeps them 72 s)', async () => {
    const { app, served } = await serveHttps();
    const agent = new Agent({ keepAlive: true, ca: tls.cert });
    cleanups.push(async () => agent.destroy());
    await fetchTls(`${served.url}/slow?ms=1`, tls.cert, { agent });
    expect(app.lifecycle.counts().openSockets).toBe(1);
    const report = await served.shutdown('test');
    expect(report.forced).toBe(false);
    expect(report.phases.find((p) => p.phase === 'drain')?.durationMs).toBeLessThan(4000);
  });
});

// Typed as one kind of instance below: the test body is the same for both.
const secureH2 = () => Fastify({ http2: true, https: { key: '', cert: '' } });

/** One HTTP/2 request on `session`; resolves with the body, or the error's code. */
function h2Get(session: ClientHttp2Session, path: string): Promise<string> {
  return new Promise((resolve) => {
    const stream = session.request({ ':path': path });
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => resolve(body));
    stream.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

describe.each(['http2 + https', 'http2 (cleartext)'])("Fastify's http2 option (%s)", (variant) => {
  async function serveH2(shutdown: { propagationDelayMs?: number; drainTimeoutMs?: number } = {}) {
    const app = variant === 'http2 + https' ? Fastify({ http2: true, https: { key: tls.key, cert: tls.cert } }) : (Fastify({ http2: true }) as never as ReturnType<typeof secureH2>);
    await app.register(batonPlugin, { lifecycle: { shutdown: { propagationDelayMs: 0, ...shutdown } } });
    app.get<{ Querystring: { ms?: string } }>('/slow', async (request) => {
      const ms = Number(request.query.ms ?? 200);
      await new Promise((resolve) => setTimeout(resolve, ms));
      return { slept: ms };
    });
    const served = await serveFastify(app, { port: 0, host: '127.0.0.1', signals: false, exit: false });
    cleanups.push(async () => {
      void app.lifecycle.force('test cleanup');
      await served.stopped;
    });
    await served.ready;
    const session = connectH2(served.url, { ca: tls.cert });
    session.on('error', () => {});
    cleanups.push(async () => session.destroy());
    return { app, served, session };
  }

  it('probes answer, and a slow stream in flight survives the shutdown with nothing forced', async () => {
    const { app, served, session } = await serveH2();
    expect(await h2Get(session, '/readyz')).toContain('"status":"pass"');
    const slow = h2Get(session, '/slow?ms=1500');
    await waitFor(() => app.lifecycle.counts().inFlight === 1, 5000, 'slow stream in flight');
    expect(app.lifecycle.counts().openSockets).toBe(1);
    const report = await served.shutdown('test');
    expect(await slow).toBe('{"slept":1500}');
    expect(report).toMatchObject({ forced: false, forcedCloses: 0 });
    expect((await served.stopped).code).toBe(0);
  });

  it('during the propagation delay the busy session is sent GOAWAY and its stream finishes', async () => {
    const { app, served, session } = await serveH2({ propagationDelayMs: 1500 });
    let goaway = false;
    session.on('goaway', () => (goaway = true));
    const slow = h2Get(session, '/slow?ms=400');
    await waitFor(() => app.lifecycle.counts().inFlight === 1, 5000, 'slow stream in flight');
    const report = served.shutdown('test');
    await waitFor(() => goaway, 5000, 'GOAWAY');
    expect(await slow).toBe('{"slept":400}');
    expect((await report).forced).toBe(false);
  });

  it('a stream past the drain deadline is cut and counted', async () => {
    const { app, served, session } = await serveH2({ drainTimeoutMs: 300 });
    const slow = h2Get(session, '/slow?ms=60000');
    await waitFor(() => app.lifecycle.counts().inFlight === 1, 5000, 'slow stream in flight');
    const report = await served.shutdown('test');
    expect(report).toMatchObject({ forced: true, forcedBy: 'drain-timeout', forcedCloses: 1 });
    expect(await slow).not.toBe('{"slept":60000}');
  });
});

import { Agent, createServer as createHttpsServer } from 'node:https';
import { connect as connectH2, createSecureServer, createServer as createH2Server, type ClientHttp2Session } from 'node:http2';
import type { RequestListener } from 'node:http';
import { connect } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@baton/testing';
import { silentLogger } from './logger.js';
import { serve, type Served } from './serve.js';
import { fetchTls, makeTestCertificate, type TestCertificate } from '@baton/testing/tls';

const app: RequestListener = (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/slow') {
    const ms = Number(url.searchParams.get('ms') ?? 300);
    const timer = setTimeout(() => res.end(`slept ${ms}`), ms);
    res.on('close', () => clearTimeout(timer));
    return;
  }
  res.end('fast');
};

let tls: TestCertificate;
beforeAll(() => {
  tls = makeTestCertificate();
});

let running: Served[] = [];
const agents: Agent[] = [];
afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  await Promise.all(running.splice(0).map((s) => s.lifecycle.force('test cleanup')));
});

type Transport = 'https.createServer via serve({ server })' | 'serve({ handler, https })';
const transports: Transport[] = ['https.createServer via serve({ server })', 'serve({ handler, https })'];

async function start(transport: Transport, drainTimeoutMs = 15_000): Promise<Served> {
  const common = {
    port: 0,
    host: '127.0.0.1',
    signals: false as const,
    exit: false as const,
    lifecycle: { logger: silentLogger, shutdown: { propagationDelayMs: 0, drainTimeoutMs } },
  };
  const served =
    transport === 'serve({ handler, https })'
      ? await serve({ ...common, handler: app, https: { key: tls.key, cert: tls.cert } })
      : await serve({ ...common, server: createHttpsServer({ key: tls.key, cert: tls.cert }, app) });
  running.push(served);
  await served.ready;
  return served;
}

describe.each(transports)('drain over HTTPS (%s)', (transport) => {
  it('a slow request in flight survives the shutdown, and nothing is reported forced', async () => {
    const served = await start(transport);
    expect(served.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    // Longer than the 1 s grace a fresh, unused connection gets: the TCP socket
    // under the TLS one used to be destroyed as "never used" once it ran out.
    const slow = fetchTls(`${served.url}/slow?ms=1500`, tls.cert).then(
      (res) => res.body,
      (error: NodeJS.ErrnoException) => error.code ?? 'error',
    );
    await waitFor(() => served.lifecycle.counts().inFlight === 1, 5000, 'slow request in flight');
    const sockets = served.lifecycle.counts().openSockets;
    const report = await served.shutdown('test');
    expect(await slow).toBe('slept 1500');
    // One connection is one socket, not two (TCP + TLS).
    expect(sockets).toBe(1);
    expect(report).toMatchObject({ forced: false, forcedCloses: 0 });
    expect(report.atStart).toEqual({ inFlight: 1, openSockets: 1, longLived: 0 });
    expect((await served.stopped).code).toBe(0);
  });

  it('a request longer than the drain deadline is cut and counted as forced', async () => {
    const served = await start(transport, 300);
    const slow = fetchTls(`${served.url}/slow?ms=60000`, tls.cert).then(
      () => 'answered',
      (error: NodeJS.ErrnoException) => error.code ?? 'error',
    );
    await waitFor(() => served.lifecycle.counts().inFlight === 1, 5000, 'slow request in flight');
    const report = await served.shutdown('test');
    expect(report).toMatchObject({ forced: true, forcedBy: 'drain-timeout', forcedCloses: 1 });
    expect(await slow).toBe('ECONNRESET');
    expect((await served.stopped).code).toBe(3);
  });

  it('a connection still in its TLS handshake gets the short fresh-socket grace, then goes, not counted as forced', async () => {
    const served = await start(transport);
    // A TCP connection that never starts its handshake (a port scanner, a client that hung).
    const raw = connect(served.port, '127.0.0.1');
    raw.on('error', () => {});
    await new Promise((resolve) => raw.once('connect', resolve));
    await waitFor(() => served.lifecycle.counts().openSockets === 1, 5000, 'handshake socket tracked');
    const closed = new Promise((resolve) => raw.once('close', resolve));
    const report = await served.shutdown('test');
    await closed;
    expect(report).toMatchObject({ forced: false, forcedCloses: 0 });
    // Not held to the 15 s drain deadline: the 1 s grace of a fresh socket, then closed.
    expect(report.phases.find((p) => p.phase === 'drain')?.durationMs).toBeLessThan(10_000);
  });

  it('closes idle keep-alive TLS connections at once, and tells busy ones to close', async () => {
    const served = await start(transport);
    const agent = new Agent({ keepAlive: true, maxSockets: 2, ca: tls.cert });
    agents.push(agent);
    await Promise.all([fetchTls(`${served.url}/`, tls.cert, { agent }), fetchTls(`${served.url}/`, tls.cert, { agent })]);
    expect(served.lifecycle.counts().openSockets).toBe(2);
    const slow = fetchTls(`${served.url}/slow?ms=300`, tls.cert, { agent });
    await waitFor(() => served.lifecycle.counts().inFlight === 1, 5000, 'slow request in flight');
    const report = await served.shutdown('test');
    const answer = await slow;
    expect(answer.body).toBe('slept 300');
    expect(answer.headers.connection).toBe('close');
    expect(report.forced).toBe(false);
    // The server's keep-alive timeout is 65 s (Node's default 5 s): the drain waited for neither.
    expect(report.phases.find((p) => p.phase === 'drain')?.durationMs).toBeLessThan(4000);
  });
});

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

type H2Transport = 'http2.createSecureServer' | 'http2.createServer (cleartext)';

describe.each<H2Transport>(['http2.createSecureServer', 'http2.createServer (cleartext)'])('drain over HTTP/2 (%s)', (transport) => {
  const sessions: ClientHttp2Session[] = [];
  afterEach(() => {
    for (const session of sessions.splice(0)) session.destroy();
  });

  async function startH2(shutdown: { propagationDelayMs?: number; drainTimeoutMs?: number } = {}): Promise<Served> {
    const server =
      transport === 'http2.createSecureServer' ? createSecureServer({ key: tls.key, cert: tls.cert }, app as never) : createH2Server(app as never);
    const served = await serve({
      server,
      port: 0,
      host: '127.0.0.1',
      signals: false,
      exit: false,
      lifecycle: { logger: silentLogger, shutdown: { propagationDelayMs: 0, ...shutdown } },
    });
    running.push(served);
    await served.ready;
    return served;
  }

  function connectTo(served: Served): ClientHttp2Session {
    const session = connectH2(served.url, { ca: tls.cert });
    session.on('error', () => {}); // a session cut by a forced drain
    sessions.push(session);
    return session;
  }

  it('a slow stream in flight survives the shutdown; one session is one connection; nothing forced', async () => {
    const served = await startH2();
    expect(served.url.startsWith(transport === 'http2.createSecureServer' ? 'https://' : 'http://')).toBe(true);
    const session = connectTo(served);
    const slow = h2Get(session, '/slow?ms=1500');
    await waitFor(() => served.lifecycle.counts().inFlight === 1, 5000, 'slow stream in flight');
    const counts = served.lifecycle.counts();
    const report = await served.shutdown('test');
    expect(await slow).toBe('slept 1500');
    expect(counts).toEqual({ inFlight: 1, openSockets: 1, longLived: 0 });
    expect(report).toMatchObject({ forced: false, forcedCloses: 0 });
    expect((await served.stopped).code).toBe(0);
  });

  it('during the propagation delay a busy session gets GOAWAY, finishes its stream, and new sessions are still served', async () => {
    const served = await startH2({ propagationDelayMs: 2000 });
    const session = connectTo(served);
    let goaway = false;
    session.on('goaway', () => (goaway = true));
    const slow = h2Get(session, '/slow?ms=400');
    await waitFor(() => served.lifecycle.counts().inFlight === 1, 5000, 'slow stream in flight');
    const stopping = served.shutdown('test');
    await waitFor(() => goaway, 5000, 'GOAWAY on the busy session');
    expect(await slow).toBe('slept 400');
    // A client told to go away connects again (in production, to another instance): still served.
    const late = await h2Get(connectTo(served), '/');
    expect(late).toBe('fast');
    const report = await stopping;
    expect(report).toMatchObject({ forced: false, forcedCloses: 0, requestsAfterNotReady: 1 });
  });

  it('a stream past the drain deadline is cut and counted as forced', async () => {
    const served = await startH2({ drainTimeoutMs: 300 });
    const slow = h2Get(connectTo(served), '/slow?ms=60000');
    await waitFor(() => served.lifecycle.counts().inFlight === 1, 5000, 'slow stream in flight');
    const report = await served.shutdown('test');
    expect(report).toMatchObject({ forced: true, forcedBy: 'drain-timeout', forcedCloses: 1 });
    expect(await slow).not.toBe('slept 60000');
    expect((await served.stopped).code).toBe(3);
  });
});

describe('HTTP/2 server with allowHTTP1', () => {
  it('an HTTP/1.1 client on it is tracked as an HTTP/1.1 connection: its slow request survives, nothing forced', async () => {
    const served = await serve({
      server: createSecureServer({ key: tls.key, cert: tls.cert, allowHTTP1: true }, app as never),
      port: 0,
      host: '127.0.0.1',
      signals: false,
      exit: false,
      lifecycle: { logger: silentLogger, shutdown: { propagationDelayMs: 0 } },
    });
    running.push(served);
    await served.ready;
    const slow = fetchTls(`${served.url}/slow?ms=1500`, tls.cert).then(
      (res) => res.body,
      (error: NodeJS.ErrnoException) => error.code ?? 'error',
    );
    await waitFor(() => served.lifecycle.counts().inFlight === 1, 5000, 'slow request in flight');
    const sockets = served.lifecycle.counts().openSockets;
    const report = await served.shutdown('test');
    expect(await slow).toBe('slept 1500');
    expect(sockets).toBe(1);
    expect(report).toMatchObject({ forced: false, forcedCloses: 0 });
  });
});

describe('linking a TLS connection to the TCP socket under it', () => {
  it("Node still links a server-side TLSSocket to its TCP socket as `_parent` (the tracker's first choice)", async () => {
    // Undocumented but long-standing: if Node drops it, this fails and the
    // tracker falls back to the connection's address pair (next test).
    const server = createHttpsServer({ key: tls.key, cert: tls.cert }, app);
    let raw: unknown;
    const linked = new Promise<boolean>((resolve) => {
      server.on('connection', (socket) => (raw = socket));
      server.on('secureConnection', (socket) => resolve((socket as { _parent?: unknown })._parent === raw));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const answer = fetchTls(`https://127.0.0.1:${(server.address() as { port: number }).port}/`, tls.cert);
      expect(await linked).toBe(true);
      expect((await answer).body).toBe('fast');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('without `_parent`, the connection is still one socket (found by its address pair) and its slow request survives', async () => {
    const server = createHttpsServer({ key: tls.key, cert: tls.cert }, app);
    const served = await serve({
      server,
      port: 0,
      host: '127.0.0.1',
      signals: false,
      exit: false,
      lifecycle: { logger: silentLogger, shutdown: { propagationDelayMs: 0 } },
    });
    running.push(served);
    await served.ready;
    // Prepended after the tracker's listener, so it runs just before it: the
    // tracker's read of `_parent` (the next one) sees none, as on a Node
    // without the link; Node's own reads later get it back (it needs it).
    server.prependListener('secureConnection', (socket) => {
      let parent: unknown = (socket as { _parent?: unknown })._parent;
      let hidden = false;
      Object.defineProperty(socket, '_parent', {
        configurable: true,
        get: () => (hidden ? parent : ((hidden = true), undefined)),
        set: (value: unknown) => void (parent = value),
      });
    });
    const slow = fetchTls(`${served.url}/slow?ms=1500`, tls.cert).then(
      (res) => res.body,
      (error: NodeJS.ErrnoException) => error.code ?? 'error',
    );
    await waitFor(() => served.lifecycle.counts().inFlight === 1, 5000, 'slow request in flight');
    expect(served.lifecycle.counts().openSockets).toBe(1);
    const report = await served.shutdown('test');
    expect(await slow).toBe('slept 1500');
    expect(report).toMatchObject({ forced: false, forcedCloses: 0, atStart: { inFlight: 1, openSockets: 1, longLived: 0 } });
  });
});

import { createHash } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@baton/testing';
import { createLifecycle, type Lifecycle, type LifecycleOptions } from './lifecycle.js';
import { silentLogger } from './logger.js';

let cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server with an SSE route and a hand-rolled WebSocket handshake (no ws library needed for a close frame). */
async function startServer(options: LifecycleOptions = {}): Promise<{ lifecycle: Lifecycle; server: Server; port: number }> {
  const lifecycle = createLifecycle({ logger: silentLogger, ...options, shutdown: { propagationDelayMs: 0, ...options.shutdown } });
  const server = createServer((req, res) => {
    if (req.url === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.write('data: hello\n\n');
      return;
    }
    if (req.url === '/slow') {
      const timer = setTimeout(() => res.end('computed'), 300);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    res.end('ok');
  });
  lifecycle.attach(server);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    const key = String(req.headers['sec-websocket-key']);
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await lifecycle.start();
  cleanups.push(() => lifecycle.force('test cleanup'));
  const port = (server.address() as { port: number }).port;
  return { lifecycle, server, port };
}

/** Opens a raw WebSocket and resolves once the 101 is read; collects every byte after it. */
async function openWebSocket(port: number): Promise<{ socket: Socket; frames: () => Buffer; closed: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  cleanups.push(() => void socket.destroy());
  let buffer = Buffer.alloc(0);
  let upgraded = false;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!upgraded) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end === -1) return;
        if (!buffer.subarray(0, end).toString().startsWith('HTTP/1.1 101')) reject(new Error('no 101'));
        buffer = buffer.subarray(end + 4);
        upgraded = true;
        resolve();
      }
    });
    socket.once('error', reject);
    socket.write(
      'GET /socket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
  });
  return { socket, frames: () => buffer, closed };
}

describe('long-lived connections', () => {
  it('sends a WebSocket a 1001 "going away" close frame when the drain starts, without waiting for the deadline', async () => {
    const { lifecycle, port } = await startServer({ shutdown: { drainTimeoutMs: 10_000 } });
    const ws = await openWebSocket(port);
    await waitFor(() => lifecycle.counts().longLived === 1, 5000, 'upgrade tracked');
    const report = await lifecycle.shutdown('test');
    await ws.closed;
    expect([...ws.frames()]).toEqual([0x88, 0x02, 0x03, 0xe9]);
    expect(report.forced).toBe(false);
    expect(report.atStart.longLived).toBe(1);
  });

  it('ends an SSE stream gracefully when the drain starts', async () => {
    const { lifecycle, port } = await startServer({ shutdown: { drainTimeoutMs: 10_000 } });
    const received: string[] = [];
    const ended = new Promise<string>((resolve, reject) => {
      // EventSource always sends this Accept header.
      const req = request({ port, host: '127.0.0.1', path: '/events', headers: { accept: 'text/event-stream' } }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => received.push(chunk));
        res.on('end', () => resolve('end'));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
      cleanups.push(() => void req.destroy());
    });
    ended.catch(() => {}); // awaited below; a failure before that must not go unhandled
    await waitFor(() => received.length > 0, 5000, 'first event');
    expect(lifecycle.counts()).toMatchObject({ longLived: 1, inFlight: 0 });
    const report = await lifecycle.shutdown('test');
    expect(await ended).toBe('end'); // a clean end of stream, not a reset: EventSource reconnects elsewhere
    expect(report.forced).toBe(false);
  });

  it('lets an ordinary request from an SSE-capable client finish instead of ending it empty', async () => {
    const { lifecycle, port } = await startServer();
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ port, host: '127.0.0.1', path: '/slow', headers: { accept: 'text/event-stream, */*' } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject).end();
    });
    await waitFor(() => lifecycle.counts().inFlight === 1, 5000, 'request in flight');
    expect(lifecycle.counts().longLived).toBe(0);
    const report = await lifecycle.shutdown('test');
    expect(await answer).toEqual({ status: 200, body: 'computed' });
    expect(report.forced).toBe(false);
  });

  it('destroys a long-lived connection that ignores the close request at the drain deadline', async () => {
    const asked: string[] = [];
    const { lifecycle, port } = await startServer({
      shutdown: { drainTimeoutMs: 200, closeLongLived: (connection) => void asked.push(connection.kind) },
    });
    const ws = await openWebSocket(port);
    await waitFor(() => lifecycle.counts().longLived === 1, 5000, 'upgrade tracked');
    const report = await lifecycle.shutdown('test');
    await ws.closed;
    expect(asked).toEqual(['upgrade']);
    expect(report).toMatchObject({ forced: true, forcedBy: 'drain-timeout', forcedCloses: 1 });
  });

  it('a CONNECT tunnel is long-lived like an upgrade: asked to close, not destroyed as idle, counted if cut', async () => {
    const asked: string[] = [];
    const lifecycle = createLifecycle({
      logger: silentLogger,
      shutdown: { propagationDelayMs: 0, drainTimeoutMs: 300, closeLongLived: (connection) => void asked.push(`${connection.kind} ${connection.kind === 'upgrade' ? connection.request.method : ''}`) },
    });
    const server = createServer((_req, res) => res.end('ok'));
    lifecycle.attach(server);
    // An echoing tunnel, as a forward proxy would open to its upstream.
    server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => lifecycle.force('test cleanup'));
    const socket = connect((server.address() as { port: number }).port, '127.0.0.1');
    cleanups.push(() => void socket.destroy());
    socket.on('error', () => {});
    let raw = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (raw += chunk));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('CONNECT upstream:443 HTTP/1.1\r\nHost: upstream:443\r\n\r\n');
    await waitFor(() => raw.includes('200 Connection Established'), 5000, 'tunnel open');
    socket.write('ping');
    await waitFor(() => raw.endsWith('ping'), 5000, 'echo through the tunnel');
    expect(lifecycle.counts()).toEqual({ inFlight: 0, openSockets: 1, longLived: 1 });
    const report = await lifecycle.shutdown('test');
    await closed;
    expect(asked).toEqual(['upgrade CONNECT']);
    expect(report).toMatchObject({ forced: true, forcedBy: 'drain-timeout', forcedCloses: 1 });
  });

  it("leaves Node's default for servers without an upgrade listener: a plain HTTP answer", async () => {
    const lifecycle = createLifecycle({ logger: silentLogger, shutdown: { propagationDelayMs: 0 } });
    const server = createServer((_req, res) => res.end('ok'));
    lifecycle.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => lifecycle.force());
    const socket = connect((server.address() as { port: number }).port, '127.0.0.1');
    cleanups.push(() => void socket.destroy());
    let raw = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (raw += chunk));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    await waitFor(() => raw.endsWith('ok'), 5000, 'plain answer');
    expect(raw).toMatch(/^HTTP\/1.1 200 OK/);
    expect(lifecycle.counts().longLived).toBe(0);
  });
});

describe('long-lived connections over HTTP/2', () => {
  /** A cleartext HTTP/2 server with an SSE route, by the compat API (`request`) or the stream API (`stream`). */
  async function startH2(api: 'compat' | 'stream', options: LifecycleOptions = {}) {
    const { createServer: createH2Server } = await import('node:http2');
    const lifecycle = createLifecycle({ logger: silentLogger, ...options, shutdown: { propagationDelayMs: 0, ...options.shutdown } });
    const server =
      api === 'compat'
        ? createH2Server((req, res) => {
            res.writeHead(200, { 'content-type': 'text/event-stream' });
            res.write('data: hello\n\n');
          })
        : createH2Server().on('stream', (stream) => {
            stream.respond({ ':status': 200, 'content-type': 'text/event-stream' });
            stream.write('data: hello\n\n');
          });
    lifecycle.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    await lifecycle.start();
    cleanups.push(() => lifecycle.force('test cleanup'));
    const port = (server.address() as { port: number }).port;
    const session = (await import('node:http2')).connect(`http://127.0.0.1:${port}`);
    session.on('error', () => {});
    cleanups.push(() => void session.destroy());
    return { lifecycle, session };
  }

  for (const api of ['compat', 'stream'] as const) {
    it(`an SSE stream (${api} API) is long-lived, not in flight, and is ended gracefully when the drain starts`, async () => {
      const { lifecycle, session } = await startH2(api, { shutdown: { drainTimeoutMs: 10_000 } });
      const stream = session.request({ ':path': '/events', accept: 'text/event-stream' });
      let body = '';
      stream.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      const ended = new Promise<void>((resolve) => stream.once('end', () => resolve()));
      await waitFor(() => body.includes('hello'), 5000, 'first event');
      expect(lifecycle.counts()).toEqual({ inFlight: 0, openSockets: 1, longLived: 1 });
      const report = await lifecycle.shutdown('test');
      await ended; // ended by the server, not cut at the deadline
      expect(report).toMatchObject({ forced: false, forcedCloses: 0, atStart: { inFlight: 0, longLived: 1 } });
      // Ended at the start of the drain, not held to the 10 s deadline.
      expect(report.phases.find((p) => p.phase === 'drain')?.cut).toBe(false);
    });
  }
});

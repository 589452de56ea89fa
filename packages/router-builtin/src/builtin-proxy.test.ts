import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isBatonError } from '@baton/lifecycle';
import { BuiltinProxy, type BuiltinProxyOptions } from './builtin-proxy.js';
import { createTrafficServer, resolveTrafficLimits, type TrafficLimits, type TrafficServer } from './internal/builtin-traffic-server.js';
import { deadPort, delay, nameHandler, send, startBackend, waitFor, type Backend, type BackendHandler } from './internal/builtin-fixtures.test.util.js';

// The proxy core in this process, in front of real node:http backends on 127.0.0.1.

const backends: Backend[] = [];
const traffics: TrafficServer[] = [];
const proxies: BuiltinProxy[] = [];
const clients: Socket[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  for (const traffic of traffics.splice(0)) {
    traffic.stopAccepting();
    traffic.closeAll();
  }
  await Promise.all(backends.splice(0).map((backend) => backend.close()));
});

async function backend(name: string, handler?: BackendHandler): Promise<Backend> {
  const started = await startBackend(name, handler);
  backends.push(started);
  return started;
}

/** The proxy behind the router's own traffic server (connection gate, Node's parser and timeouts), on 127.0.0.1 port 0. */
async function proxyServer(
  options: BuiltinProxyOptions = {},
  limits: Partial<TrafficLimits> = {},
): Promise<{ proxy: BuiltinProxy; url: string; port: number; traffic: TrafficServer }> {
  const proxy = new BuiltinProxy(options);
  proxies.push(proxy);
  const traffic = createTrafficServer(proxy, resolveTrafficLimits(limits));
  traffics.push(traffic);
  await new Promise<void>((resolve) => traffic.server.listen(0, '127.0.0.1', resolve));
  const { port } = traffic.server.address() as AddressInfo;
  return { proxy, url: `http://127.0.0.1:${port}`, port, traffic };
}

/** A raw TCP client of the proxy (cleaned up after the test); `text` collects what it receives, `closed` resolves when the connection closes. */
function rawClient(port: number): { socket: Socket; text: () => string; closed: Promise<void> } {
  const socket = connect(port, '127.0.0.1');
  clients.push(socket);
  let text = '';
  socket.on('data', (data: Buffer) => (text += data.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, text: () => text, closed };
}

async function ready(proxy: BuiltinProxy, ...entries: [Backend, number][]): Promise<void> {
  for (const [b] of entries) await proxy.add({ id: b.name, release: 'v1', host: '127.0.0.1', port: b.port });
  await proxy.set(entries.map(([b, weight]) => ({ id: b.name, state: 'ready', weight })));
}

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** Echoes what it got: method, headers, body length and hash. */
const echoHandler: BackendHandler = (req, res, b) => {
  const hash = createHash('sha256');
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    hash.update(chunk);
  });
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ backend: b.name, method: req.method, url: req.url, headers: req.headers, bytes, sha256: hash.digest('hex') }));
  });
};

/**
 * Destroys a connection that already served a request when `drop` is set,
 * without answering: what the router sees when a backend closed an idle
 * pooled connection as the router wrote a request on it (the keep-alive
 * race). `afterBody`: read the whole request body first.
 */
function racyBackend(state: { drop: boolean; afterBody?: boolean }): BackendHandler {
  const served = new WeakMap<Socket, number>();
  return (req, res, b) => {
    const count = served.get(req.socket) ?? 0;
    served.set(req.socket, count + 1);
    if (state.drop && count > 0) {
      if (state.afterBody) {
        req.resume();
        req.on('end', () => req.socket.destroy());
      } else {
        req.socket.destroy();
      }
      return;
    }
    echoHandler(req, res, b);
  };
}

describe('proxying', () => {
  it('forwards a POST body and answers, with X-Forwarded-* set and hop-by-hop headers gone both ways', async () => {
    const b = await backend('b', (req, res, self) => {
      if (req.url === '/hop') {
        res.setHeader('x-backend-hop', '1');
        res.setHeader('connection', 'x-backend-hop');
        res.end('ok');
        return;
      }
      echoHandler(req, res, self);
    });
    const { proxy, url } = await proxyServer();
    await ready(proxy, [b, 1]);
    const answer = await send(`${url}/orders?x=1`, {
      method: 'POST',
      body: '{"item":42}',
      headers: {
        'content-type': 'application/json',
        connection: 'keep-alive, x-client-hop',
        'x-client-hop': 'secret',
        'keep-alive': 'timeout=9',
        'proxy-authorization': 'Basic eA==',
        'x-forwarded-for': '203.0.113.7',
        'x-forwarded-proto': 'https',
        forwarded: 'for=203.0.113.7;proto=https;host=bank.example',
        'x-real-ip': '203.0.113.7',
      },
    });
    expect(answer.status).toBe(200);
    const echoed = JSON.parse(answer.body) as { method: string; url: string; headers: Record<string, string>; bytes: number; sha256: string };
    expect(echoed.method).toBe('POST');
    expect(echoed.url).toBe('/orders?x=1');
    expect(echoed.bytes).toBe(11);
    expect(echoed.sha256).toBe(sha256('{"item":42}'));
    expect(echoed.headers['content-type']).toBe('application/json');
    expect(echoed.headers['x-client-hop']).toBeUndefined();
    expect(echoed.headers['proxy-authorization']).toBeUndefined();
    expect(echoed.headers['keep-alive']).toBeUndefined();
    expect(echoed.headers['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    expect(echoed.headers['x-forwarded-proto']).toBe('http');
    expect(echoed.headers['x-forwarded-host']).toBe(new URL(url).host);
    expect(echoed.headers['host']).toBe(new URL(url).host);
    // The client's own Forwarded claims are replaced, as X-Forwarded-Proto/-Host are.
    expect(echoed.headers['forwarded']).toBe(`for=127.0.0.1;proto=http;host="${new URL(url).host}"`);
    expect(echoed.headers['x-real-ip']).toBeUndefined();

    const hop = await send(`${url}/hop`);
    expect(hop.body).toBe('ok');
    expect(hop.headers['x-backend-hop']).toBeUndefined();
  });

  it('streams a response: the client gets the first chunk while the backend has not finished', async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const b = await backend('b', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first;');
      void released.then(() => res.end('second'));
    });
    const { proxy, url } = await proxyServer();
    await ready(proxy, [b, 1]);
    const body = await new Promise<string>((resolve, reject) => {
      httpRequest(`${url}/stream`, { agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          if (text === 'first;') release();
        });
        res.on('end', () => resolve(text));
        res.on('error', reject);
      })
        .on('error', reject)
        .end();
    });
    expect(body).toBe('first;second');
  });

  it('carries large bodies both ways intact (16 MiB up, 16 MiB down)', async () => {
    const download = randomBytes(16 * 1024 * 1024);
    const b = await backend('b', (req, res, self) => {
      if (req.url === '/download') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(download);
        return;
      }
      echoHandler(req, res, self);
    });
    const { proxy, url } = await proxyServer();
    await ready(proxy, [b, 1]);
    const upload = randomBytes(16 * 1024 * 1024);
    const up = await send(`${url}/upload`, { method: 'PUT', body: upload, headers: { 'content-type': 'application/octet-stream' } });
    expect(JSON.parse(up.body)).toMatchObject({ bytes: upload.length, sha256: sha256(upload) });
    const down = await new Promise<Buffer>((resolve, reject) => {
      httpRequest(`${url}/download`, { agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.on('error', reject);
      })
        .on('error', reject)
        .end();
    });
    expect(down.length).toBe(download.length);
    expect(sha256(down)).toBe(sha256(download));
    // A chunked upload (no Content-Length) too.
    const chunked = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${url}/chunked`, { method: 'POST', agent: false }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.write(upload.subarray(0, 1000));
      req.end(upload.subarray(1000, 5000));
    });
    expect(JSON.parse(chunked)).toMatchObject({ bytes: 5000, sha256: sha256(upload.subarray(0, 5000)) });
  });

  it('answers 503 with a clear body at once when no backend is ready, and after the last one leaves', async () => {
    const b = await backend('b');
    const { proxy, url } = await proxyServer();
    const none = await send(url);
    expect(none.status).toBe(503);
    expect(none.body).toMatch(/no backend is ready/);
    expect(none.headers['retry-after']).toBe('1');
    await proxy.add({ id: 'b', release: 'v1', host: '127.0.0.1', port: b.port });
    expect((await send(url, { method: 'POST', body: 'x'.repeat(100_000) })).status).toBe(503);
    await proxy.set([{ id: 'b', state: 'ready' }]);
    expect((await send(url)).body).toBe('b');
    await proxy.set([{ id: 'b', state: 'drain' }]);
    expect((await send(url)).status).toBe(503);
    // Nothing reached the backend outside of its one ready moment.
    expect(b.received).toBe(1);
  });

  it('proxies a WebSocket-style upgrade and joins the two sockets', async () => {
    const b = await backend('b');
    b.server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      socket.on('data', (data) => socket.write(`echo:${data.toString()}`));
      socket.on('end', () => socket.end());
    });
    const { proxy, url } = await proxyServer();
    await ready(proxy, [b, 1]);
    const { port } = new URL(url);
    const socket = connect(Number(port), '127.0.0.1');
    let text = '';
    socket.on('data', (data) => (text += data.toString()));
    socket.write(`GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n`);
    await waitFor(() => text.includes('\r\n\r\n'), 10_000, 'the 101');
    expect(text).toMatch(/^HTTP\/1\.1 101/);
    expect(proxy.list()[0]?.inFlight).toBe(1);
    socket.write('hello');
    await waitFor(() => text.endsWith('echo:hello'), 10_000, 'the echo');
    socket.destroy();
    await waitFor(() => proxy.list()[0]?.inFlight === 0, 10_000, 'the tunnel to close');
  });
});

describe('balancing and states', () => {
  it('splits by weight, counts per backend, and sends nothing to maint or drain', async () => {
    const a = await backend('a');
    const b = await backend('b');
    const c = await backend('c');
    const { proxy, url } = await proxyServer();
    await ready(proxy, [a, 3], [b, 1]);
    await proxy.add({ id: 'c', release: 'v1', host: '127.0.0.1', port: c.port });
    for (let i = 0; i < 40; i++) await send(url);
    expect(a.received).toBe(30);
    expect(b.received).toBe(10);
    expect(c.received).toBe(0);
    expect(proxy.list().map((s) => [s.id, s.requestsTotal, s.inFlight])).toEqual([
      ['a', 30, 0],
      ['b', 10, 0],
      ['c', 0, 0],
    ]);
    await proxy.set([{ id: 'a', state: 'drain' }, { id: 'c', state: 'ready', weight: 0 }]);
    for (let i = 0; i < 10; i++) expect((await send(url)).body).toBe('b');
  });

  it('drain: the in-flight request finishes, new ones go elsewhere, removal waits for it', async () => {
    const a = await backend('a');
    const b = await backend('b');
    const { proxy, url } = await proxyServer();
    await ready(proxy, [a, 1]);
    const slow = send(`${url}/slow?hold`);
    await waitFor(() => proxy.list()[0]?.inFlight === 1, 10_000, 'the slow request on a');
    await proxy.add({ id: 'b', release: 'v2', host: '127.0.0.1', port: b.port });
    await proxy.set([{ id: 'b', state: 'ready' }, { id: 'a', state: 'drain' }]);
    for (let i = 0; i < 5; i++) expect((await send(url)).body).toBe('b');
    await expect(proxy.remove('a')).rejects.toThrow(/in flight/);
    a.release();
    expect((await slow).body).toBe('a');
    await waitFor(() => proxy.list()[0]?.inFlight === 0, 10_000, 'a to be idle');
    expect(await proxy.remove('a')).toBe(true);
    expect(await proxy.remove('a')).toBe(false);
    expect(proxy.list().map((s) => s.id)).toEqual(['b']);
  });

  it('refuses bad commands with BATON_ERR_ROUTER and a status: unknown id, weight 300, ready removal, address conflict', async () => {
    const { proxy } = await proxyServer();
    // Addresses in a backend record that stays in maintenance: nothing ever connects to them.
    await proxy.add({ id: 'a', release: 'v1', host: '127.0.0.1', port: 1000 });
    expect(await proxy.add({ id: 'a', release: 'v1', host: '127.0.0.1', port: 1000 })).toBe(false);
    const refusals = [
      [proxy.set([{ id: 'nope', state: 'ready' }]), 404, /unknown backend id nope/],
      [proxy.set([{ id: 'a', weight: 300 }]), 400, /weight must be an integer 0-256, got 300/],
      [proxy.set([{ id: 'a', state: 'up' }]), 400, /state must be one of maint, ready, drain/],
      [proxy.set({ id: 'a' }), 400, /array of changes/],
      [proxy.add({ id: 'a', release: 'v1', host: '127.0.0.1', port: 1001 }), 409, /already exists/],
      [proxy.add({ id: 'b', release: 'v1', host: '127.0.0.1', port: 70000 }), 400, /port must be an integer/],
    ] as const;
    for (const [promise, status, message] of refusals) {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isBatonError(error, 'BATON_ERR_ROUTER')).toBe(true);
      expect((error as { status: number }).status).toBe(status);
      expect((error as Error).message).toMatch(message);
    }
    // All or nothing: a batch with one unknown id changes nothing.
    await expect(proxy.set([{ id: 'a', state: 'ready', weight: 7 }, { id: 'ghost', state: 'drain' }])).rejects.toThrow(/ghost/);
    expect(proxy.list()[0]).toMatchObject({ state: 'maint', weight: 1 });
    await proxy.set([{ id: 'a', state: 'ready' }]);
    await expect(proxy.remove('a')).rejects.toThrow(/is ready; set it to drain/);
  });
});

describe('retries', () => {
  it('a refused connection (nothing sent) is retried on another backend for any method, and the dead backend is skipped for a while', async () => {
    const b = await backend('b', echoHandler);
    const { proxy, url } = await proxyServer();
    await proxy.add({ id: 'dead', release: 'v1', host: '127.0.0.1', port: await deadPort() });
    await proxy.add({ id: 'b', release: 'v1', host: '127.0.0.1', port: b.port });
    await proxy.set([{ id: 'dead', state: 'ready' }, { id: 'b', state: 'ready' }]);
    const body = randomBytes(600_000);
    const post = await send(`${url}/orders`, { method: 'POST', body });
    expect(post.status).toBe(200);
    expect(JSON.parse(post.body)).toMatchObject({ backend: 'b', bytes: body.length, sha256: sha256(body) });
    for (let i = 0; i < 6; i++) expect((await send(url)).status).toBe(200);
    const dead = proxy.list().find((s) => s.id === 'dead');
    expect(dead?.requestsTotal).toBe(1);
    expect(dead?.connectFailures).toBe(1);
  });

  it('the keep-alive race: a GET on a pooled connection closed before any response byte is retried on another backend', async () => {
    const racy = { drop: false };
    const a = await backend('a', racyBackend(racy));
    const b = await backend('b', echoHandler);
    const { proxy, url } = await proxyServer();
    await ready(proxy, [a, 1]);
    expect(JSON.parse((await send(url)).body)).toMatchObject({ backend: 'a' }); // a pooled connection to a
    await proxy.add({ id: 'b', release: 'v1', host: '127.0.0.1', port: b.port });
    racy.drop = true;
    await proxy.set([{ id: 'a', state: 'ready' }, { id: 'b', state: 'ready' }]); // next pick: a
    const answer = await send(`${url}/again`);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ backend: 'b', url: '/again' });
    expect(a.received).toBe(2);
    expect(proxy.list().map((s) => s.requestsTotal)).toEqual([2, 1]);
  });

  it('the keep-alive race: a POST is not resent (it may have been processed: 502), unless it carries an Idempotency-Key', async () => {
    const racy = { drop: false };
    const a = await backend('a', racyBackend(racy));
    const b = await backend('b', echoHandler);
    const { proxy, url } = await proxyServer();
    await ready(proxy, [a, 1]);
    await send(url);
    await proxy.add({ id: 'b', release: 'v1', host: '127.0.0.1', port: b.port });
    racy.drop = true;
    await proxy.set([{ id: 'a', state: 'ready' }, { id: 'b', state: 'ready' }]);
    const post = await send(`${url}/pay`, { method: 'POST', body: 'amount=10' });
    expect(post.status).toBe(502);
    expect(post.body).toMatch(/closed the connection before answering/);
    expect(b.received).toBe(0);

    racy.drop = false;
    await proxy.set([{ id: 'a', state: 'ready', weight: 1 }, { id: 'b', state: 'maint' }]);
    await send(url); // a fresh pooled connection to a
    racy.drop = true;
    await proxy.set([{ id: 'a', state: 'ready' }, { id: 'b', state: 'ready' }]);
    const keyed = await send(`${url}/pay`, { method: 'POST', body: 'amount=10', headers: { 'idempotency-key': 'k-1' } });
    expect(keyed.status).toBe(200);
    expect(JSON.parse(keyed.body)).toMatchObject({ backend: 'b', bytes: 9, sha256: sha256('amount=10') });
  });

  it('a PUT whose body was sent is replayed whole; past the kept bytes (256 KiB) it is not', async () => {
    const racy = { drop: false, afterBody: true };
    const a = await backend('a', racyBackend(racy));
    const b = await backend('b', echoHandler);
    const { proxy, url } = await proxyServer();
    const prime = async (): Promise<void> => {
      racy.drop = false;
      await proxy.set([{ id: 'a', state: 'ready' }, { id: 'b', state: 'maint' }]);
      await send(url);
      racy.drop = true;
      await proxy.set([{ id: 'a', state: 'ready' }, { id: 'b', state: 'ready' }]);
    };
    await proxy.add({ id: 'a', release: 'v1', host: '127.0.0.1', port: a.port });
    await proxy.add({ id: 'b', release: 'v1', host: '127.0.0.1', port: b.port });
    await prime();
    const small = randomBytes(100_000);
    const put = await send(`${url}/doc`, { method: 'PUT', body: small });
    expect(put.status).toBe(200);
    expect(JSON.parse(put.body)).toMatchObject({ backend: 'b', bytes: small.length, sha256: sha256(small) });

    await prime();
    const big = randomBytes(1024 * 1024);
    const bigPut = await send(`${url}/doc`, { method: 'PUT', body: big });
    expect(bigPut.status).toBe(502);
  });

  it('a client that goes away mid-response: the backend sees its answer cut, the slot is freed, the backend can be removed, the next client is served', async () => {
    let cut = 0;
    const b = await backend('b', (req, res) => {
      if (req.url === '/whole') {
        res.end('whole');
        return;
      }
      res.writeHead(200);
      res.write('partial');
      // Never ended by the backend: only the router letting go of it closes it.
      res.on('close', () => {
        if (!res.writableFinished) cut++;
      });
    });
    const { proxy, url } = await proxyServer();
    await ready(proxy, [b, 1]);
    await new Promise<void>((resolve) => {
      const req = httpRequest(url, { agent: false }, (res) =>
        res.once('data', () => {
          req.destroy();
          resolve();
        }),
      );
      req.on('error', () => {});
      req.end();
    });
    await waitFor(() => proxy.inFlight === 0 && proxy.list()[0]?.inFlight === 0, 10_000, 'in-flight to drop to 0');
    await waitFor(() => cut === 1, 10_000, 'the backend to see its answer cut');
    expect((await send(`${url}/whole`)).body).toBe('whole');
    await proxy.set([{ id: 'b', state: 'drain' }]);
    expect(await proxy.remove('b')).toBe(true);
  });
});

describe('hostile clients', () => {
  it('an upgrade whose client hangs up before the backend\'s 101 lets go of the upstream: in flight back to 0, the backend can be removed', async () => {
    let answerUpgrade: () => void = () => {};
    let upstreamClosed = false;
    const b = await backend('b');
    b.server.on('upgrade', (_req: IncomingMessage, socket: Socket) => {
      // The backend's server socket allows half-open: the router's FIN shows as
      // 'end'. It keeps its own side open (as a server busy with a session
      // may): only the router letting go ends this connection.
      socket.on('end', () => (upstreamClosed = true));
      // The 101 comes only when the test says: after the client is gone.
      answerUpgrade = () => socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    });
    const { proxy, port } = await proxyServer();
    await ready(proxy, [b, 1]);
    const client = rawClient(port);
    client.socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    await waitFor(() => proxy.list()[0]?.inFlight === 1, 10_000, 'the upgrade to reach the backend');
    client.socket.destroy();
    await client.closed;
    answerUpgrade();
    await waitFor(() => proxy.list()[0]?.inFlight === 0, 10_000, 'the upgrade to leave the in-flight count');
    await waitFor(() => upstreamClosed, 10_000, 'the upstream connection to close');
    await proxy.set([{ id: 'b', state: 'drain' }]);
    expect(await proxy.remove('b')).toBe(true);
  });

  it('an upgrade whose client hangs up while the backend never answers: aborted at once, not after the backend headers timeout', async () => {
    let upstreamClosed = false;
    const b = await backend('b');
    b.server.on('upgrade', (_req: IncomingMessage, socket: Socket) =>
      socket.on('end', () => {
        upstreamClosed = true;
        socket.end();
      }),
    );
    const { proxy, port } = await proxyServer();
    await ready(proxy, [b, 1]);
    const client = rawClient(port);
    client.socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    await waitFor(() => proxy.list()[0]?.inFlight === 1, 10_000, 'the upgrade to reach the backend');
    client.socket.destroy();
    // The backend headers timeout is 300 s: only the hang-up can end this within the wait.
    await waitFor(() => proxy.list()[0]?.inFlight === 0 && upstreamClosed, 10_000, 'the upstream to be aborted');
  });

  it('an upgrade the backend answers without 101 is relayed with backpressure: a client that does not read does not make the router buffer the answer', async () => {
    const total = 64 * 1024 * 1024;
    const state = { written: 0, blocked: false, finished: false };
    const b = await backend('b');
    b.server.on('upgrade', (_req: IncomingMessage, socket: Socket) => {
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${total}\r\n\r\n`);
      const chunk = Buffer.alloc(64 * 1024, 97);
      const more = (): void => {
        state.blocked = false;
        while (state.written < total) {
          state.written += chunk.length;
          if (!socket.write(chunk)) {
            state.blocked = true;
            socket.once('drain', more);
            return;
          }
        }
        state.finished = true;
        socket.end();
      };
      more();
    });
    const { proxy, port, traffic } = await proxyServer();
    await ready(proxy, [b, 1]);
    let routerSide: Socket | undefined;
    traffic.http.on('upgrade', (_req: IncomingMessage, socket: Socket) => (routerSide = socket));
    const client = rawClient(port);
    client.socket.pause();
    client.socket.write('GET /feed HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    // The backend stops, blocked, with the client not reading (its progress unchanged over a few polls), or it finishes (the router swallowed it all).
    let last = -1;
    let stable = 0;
    await waitFor(
      () => {
        stable = state.blocked && state.written === last ? stable + 1 : 0;
        last = state.written;
        return state.finished || stable >= 5;
      },
      30_000,
      'the backend to be held back or to finish',
    );
    expect(state.finished).toBe(false);
    expect(routerSide?.writableLength ?? 0).toBeLessThan(4 * 1024 * 1024);
    // Once the client reads, the whole answer arrives.
    let received = 0;
    client.socket.removeAllListeners('data');
    client.socket.on('data', (data: Buffer) => (received += data.length));
    client.socket.resume();
    await waitFor(() => state.finished && received >= total, 30_000, 'the whole answer');
    await waitFor(() => proxy.inFlight === 0, 10_000, 'the exchange to end');
  });

  it('a client too slow to send its headers gets 408 and a closed connection; the backend never sees it', async () => {
    const b = await backend('b');
    const { proxy, port } = await proxyServer({}, { headersTimeoutMs: 500 });
    await ready(proxy, [b, 1]);
    const client = rawClient(port);
    client.socket.write('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    await client.closed;
    expect(client.text()).toMatch(/^HTTP\/1\.1 408 /);
    expect(b.received).toBe(0);
  });

  it('a client still sending when it is refused gets its answer, not a reset: a bad request followed by more bytes (400), a slowloris that keeps trickling (408)', async () => {
    const b = await backend('b');
    const { proxy, port } = await proxyServer({}, { headersTimeoutMs: 500 });
    await ready(proxy, [b, 1]);
    const bad = Array.from({ length: 10 }, () => rawClient(port));
    // The rest of the bytes sit unread when the parser gives up on the first line: closing on them at once resets the connection.
    for (const client of bad) client.socket.write(`GETT /bad HTTP/1.1\r\nHost: x\r\n\r\n${'j'.repeat(256 * 1024)}`);
    await Promise.all(bad.map((client) => client.closed));
    for (const client of bad) expect(client.text()).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    const slow = Array.from({ length: 10 }, () => rawClient(port));
    const trickles = slow.map((client) => {
      client.socket.write('GET /slowloris HTTP/1.1\r\nHost: x\r\n');
      return setInterval(() => client.socket.writable && client.socket.write('X-A: b\r\n'), 1);
    });
    try {
      await Promise.all(slow.map((client) => client.closed));
    } finally {
      for (const trickle of trickles) clearInterval(trickle);
    }
    for (const client of slow) expect(client.text()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(b.received).toBe(0);
  });

  it('a slow request body: 408 after the body timeout, and no backend connection is held while it trickles (buffered first)', async () => {
    const b = await backend('b', echoHandler);
    const { proxy, port, url } = await proxyServer({ clientBodyTimeoutMs: 500 });
    await ready(proxy, [b, 1]);
    const client = rawClient(port);
    client.socket.write('POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789');
    await client.closed;
    expect(client.text()).toMatch(/^HTTP\/1\.1 408 Request Timeout/);
    expect(client.text()).toMatch(/request body for 500 ms/);
    expect(b.received).toBe(0);
    expect(proxy.inFlight).toBe(0);
    // The router still serves everyone else.
    expect(JSON.parse((await send(url, { method: 'POST', body: 'ok' })).body)).toMatchObject({ bytes: 2 });
  });

  it('a slow body larger than the buffer: streamed, then 408 after the body timeout, and the backend connection is let go', async () => {
    let backendSawAbort = 0;
    const b = await backend('b', (req, res) => {
      req.resume();
      req.on('aborted', () => backendSawAbort++);
      req.on('end', () => res.end('done'));
    });
    const { proxy, port } = await proxyServer({ clientBodyTimeoutMs: 500, requestBufferBytes: 1024 });
    await ready(proxy, [b, 1]);
    const client = rawClient(port);
    client.socket.write(`PUT /doc HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(4096)}`);
    await client.closed;
    expect(client.text()).toMatch(/^HTTP\/1\.1 408 /);
    expect(b.received).toBe(1);
    await waitFor(() => backendSawAbort === 1, 10_000, 'the backend to see the request cut');
    expect(proxy.list()[0]?.inFlight).toBe(0);
  });

  it('slow bodies cannot exhaust the backend pool: with 2 connections per backend and 6 clients trickling bodies, others are served', async () => {
    const b = await backend('b', echoHandler);
    const { proxy, port, url } = await proxyServer({ connectionsPerBackend: 2, clientBodyTimeoutMs: 60_000 });
    await ready(proxy, [b, 1]);
    const slow = Array.from({ length: 6 }, () => rawClient(port));
    for (const client of slow) client.socket.write('POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc');
    // Each slow client is still sending (the router is waiting for its body) while 20 others go through.
    for (let i = 0; i < 20; i++) expect((await send(url, { method: 'POST', body: `n=${i}` })).status).toBe(200);
    expect(b.received).toBe(20);
    expect(slow.every((client) => client.text() === '')).toBe(true);
    // Once their bodies are whole, the slow ones are sent too.
    for (const client of slow) client.socket.write('x'.repeat(997));
    await waitFor(() => slow.every((client) => /"bytes":1000/.test(client.text())), 10_000, 'the slow clients to be answered');
    expect(proxy.inFlight).toBe(0);
  });

  it('slow bodies larger than the buffer cannot exhaust the backend pool either: only maxStreamingBodies stream at once, the others wait unread', async () => {
    const b = await backend('b', echoHandler);
    // No minimum body rate here: the stalled clients must stay until the test sends the rest (the rate has its own test).
    const { proxy, port, url } = await proxyServer({ connectionsPerBackend: 4, requestBufferBytes: 1024, clientBodyTimeoutMs: 60_000, clientMinBodyBytesPerSecond: 0 });
    await ready(proxy, [b, 1]);
    // Half the pool (2) may stream; 6 clients start 10 KB bodies and stall after 2 KB.
    const slow = Array.from({ length: 6 }, () => rawClient(port));
    for (const client of slow) client.socket.write(`PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n${'s'.repeat(2000)}`);
    await waitFor(() => b.received === 2, 10_000, 'two streaming bodies at the backend');
    for (let i = 0; i < 20; i++) expect((await send(url, { method: 'POST', body: `n=${i}` })).status).toBe(200);
    expect(b.received).toBe(22);
    // Once the slow clients send the rest, every one of them is answered in turn, whole.
    for (const client of slow) client.socket.write('s'.repeat(8000));
    await waitFor(() => slow.every((client) => /"bytes":10000/.test(client.text())), 20_000, 'the slow clients to be answered');
    expect(proxy.inFlight).toBe(0);
  });

  it('a client trickling a streamed body (a byte at a time, each inside the idle timeout) gets 408 below the minimum rate; its streaming turn and backend connection go to the next client', async () => {
    let backendSawAbort = 0;
    const b = await backend('b', (req, res, self) => {
      if (req.url === '/trickle') req.on('aborted', () => backendSawAbort++);
      echoHandler(req, res, self);
    });
    const { proxy, port, url } = await proxyServer({
      requestBufferBytes: 1024,
      maxStreamingBodies: 1,
      clientBodyTimeoutMs: 60_000,
      clientMinBodyBytesPerSecond: 1000,
      clientBodyRateWindowMs: 500,
    });
    await ready(proxy, [b, 1]);
    const trickler = rawClient(port);
    trickler.socket.write(`PUT /trickle HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n${'t'.repeat(2000)}`);
    // A byte every 100 ms: 10 bytes/s, never 60 s of silence.
    const trickle = setInterval(() => trickler.socket.write('t'), 100);
    try {
      await waitFor(() => b.received === 1, 10_000, 'the trickled body streaming to the backend');
      await trickler.closed;
    } finally {
      clearInterval(trickle);
    }
    expect(trickler.text()).toMatch(/^HTTP\/1\.1 408 Request Timeout/);
    expect(trickler.text()).toMatch(/below the minimum of 1000 bytes\/s/);
    await waitFor(() => backendSawAbort === 1, 10_000, 'the backend to see the trickled request cut');
    // The only streaming turn is free again: a large upload sent at full speed goes through whole.
    const upload = randomBytes(512 * 1024);
    const answer = await send(`${url}/upload`, { method: 'PUT', body: upload });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ bytes: upload.length, sha256: sha256(upload) });
    await waitFor(() => proxy.inFlight === 0, 10_000, 'nothing in flight');
  });

  it('the minimum body rate counts only the router\'s reading time: a backend slow to take a large body does not make its client "slow"', async () => {
    const b = await backend('b', (req, res, self) => {
      // Takes nothing of the body until the test says so.
      req.pause();
      self.held++;
      holds.push(() => {
        self.held--;
        echoHandler(req, res, self);
        req.resume();
      });
    });
    const holds: (() => void)[] = [];
    const { proxy, url } = await proxyServer({ requestBufferBytes: 1024, clientMinBodyBytesPerSecond: 100_000, clientBodyRateWindowMs: 200 });
    await ready(proxy, [b, 1]);
    const upload = randomBytes(16 * 1024 * 1024);
    const answering = send(`${url}/upload`, { method: 'PUT', body: upload });
    await waitFor(() => b.held === 1, 10_000, 'the backend holding the upload unread');
    // Several windows pass with the router unable to pass anything on (the backend's and the router's buffers are full).
    await delay(1000);
    for (const hold of holds.splice(0)) hold();
    const answer = await answering;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ bytes: upload.length, sha256: sha256(upload) });
  });

  it('past maxConnections a new client gets 503 with Retry-After and a closed connection; once one leaves, a new one is served', async () => {
    const b = await backend('b');
    const { proxy, port, url, traffic } = await proxyServer({}, { maxConnections: 3 });
    await ready(proxy, [b, 1]);
    const held = Array.from({ length: 3 }, () => rawClient(port));
    await waitFor(() => traffic.connections === 3, 10_000, 'three client connections');
    const over = await send(url);
    expect(over.status).toBe(503);
    expect(over.headers['retry-after']).toBe('1');
    expect(over.headers['connection']).toBe('close');
    expect(over.body).toMatch(/connection limit/);
    expect(traffic.refused).toBe(1);
    expect(b.received).toBe(0);
    held[0]?.socket.destroy();
    await waitFor(() => traffic.connections === 2, 10_000, 'one client to leave');
    expect((await send(url)).body).toBe('b');
  });

  it('public clients get 404 for /metrics (however spelled) and probe details; plain probes and the service pass; expose lets them through', async () => {
    const b = await backend('b', (req, res) => res.end(`backend ${req.url}`));
    const hidden = await proxyServer();
    await ready(hidden.proxy, [b, 1]);
    for (const path of ['/metrics', '/metrics/', '/METRICS', '//metrics', '/%6Detrics', '/%256Detrics', '/metrics;x=1', '/metrics?name=x', '/healthz?verbose', '/healthz?verbose=1', '/readyz?verbose', '/livez?x']) {
      const answer = await send(`${hidden.url}${path}`);
      expect(answer.status, path).toBe(404);
    }
    // Absolute-form request targets are checked the same way.
    const absolute = rawClient(hidden.port);
    absolute.socket.write(`GET http://x/metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    await absolute.closed;
    expect(absolute.text()).toMatch(/^HTTP\/1\.1 404 /);
    // Dot segments (a backend that resolves them, as `new URL(req.url, base)` does, routes these to /metrics), and HTTP/1.0; raw, since node:http's client would resolve them first.
    for (const target of ['/./metrics', '/x/../metrics', '/%2e/metrics', '/x/%2E%2E/metrics', '/x;a/../metrics', '/x\\..\\metrics', '/metrics/.', '/./healthz?verbose']) {
      for (const version of ['1.1', '1.0']) {
        const client = rawClient(hidden.port);
        client.socket.write(`GET ${target} HTTP/${version}\r\nHost: x\r\nConnection: close\r\n\r\n`);
        await client.closed;
        expect(client.text(), `${target} HTTP/${version}`).toMatch(/^HTTP\/1\.1 404 /);
      }
    }
    for (const path of ['/healthz', '/readyz', '/orders?verbose', '/metricsx', '/api/metrics']) {
      const answer = await send(`${hidden.url}${path}`);
      expect(answer.status, path).toBe(200);
      expect(answer.body).toBe(`backend ${path}`);
    }
    const exposed = await proxyServer({ expose: { metrics: true, probeDetails: true } });
    await ready(exposed.proxy, [b, 1]);
    expect((await send(`${exposed.url}/metrics`)).body).toBe('backend /metrics');
    expect((await send(`${exposed.url}/healthz?verbose`)).body).toBe('backend /healthz?verbose');
    const custom = await proxyServer({ expose: { metricsPaths: ['/internal/prom'] } });
    await ready(custom.proxy, [b, 1]);
    expect((await send(`${custom.url}/internal/prom`)).status).toBe(404);
  });

  it('refuses bad options at construction with BATON_ERR_INVALID_OPTION saying what is accepted', () => {
    const bad: [BuiltinProxyOptions, RegExp][] = [
      [{ clientBodyTimeoutMs: 0 }, /clientBodyTimeoutMs` must be an integer 1-3600000; got 0/],
      [{ requestBufferBytes: -1 }, /requestBufferBytes` must be an integer 0-/],
      [{ expose: { metrics: 'no' as unknown as boolean } }, /expose.metrics` must be true or false/],
      [{ expose: { metricsPaths: ['metrics'] } }, /expose.metricsPaths` must be a non-empty array of paths starting with "\/"/],
    ];
    for (const [options, message] of bad) {
      let error: unknown;
      try {
        new BuiltinProxy(options);
      } catch (caught) {
        error = caught;
      }
      expect(isBatonError(error, 'BATON_ERR_INVALID_OPTION')).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
    expect(() => resolveTrafficLimits({ maxConnections: 0 })).toThrow(/limits.maxConnections` must be an integer 1-1000000; got 0/);
    expect(() => resolveTrafficLimits({ maxConection: 5 } as Partial<TrafficLimits>)).toThrow(/unknown `limits` key maxConection/);
  });
});

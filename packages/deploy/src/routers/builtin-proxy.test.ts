import { createHash, randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isBatonError } from '@baton/lifecycle';
import { BuiltinProxy } from './builtin-proxy.js';
import { deadPort, delay, nameHandler, send, startBackend, waitFor, type Backend, type BackendHandler } from './internal/builtin-fixtures.test.util.js';

// The proxy core in this process, in front of real node:http backends on 127.0.0.1.

const backends: Backend[] = [];
const servers: Server[] = [];
const proxies: BuiltinProxy[] = [];

afterEach(async () => {
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
  await Promise.all(backends.splice(0).map((backend) => backend.close()));
});

async function backend(name: string, handler?: BackendHandler): Promise<Backend> {
  const started = await startBackend(name, handler);
  backends.push(started);
  return started;
}

async function proxyServer(): Promise<{ proxy: BuiltinProxy; url: string }> {
  const proxy = new BuiltinProxy();
  proxies.push(proxy);
  const server = createServer(proxy.handleRequest);
  server.on('upgrade', proxy.handleUpgrade);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { proxy, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
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
    const started = Date.now();
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
    expect(Date.now() - started).toBeLessThan(2000);
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
    await waitFor(() => text.includes('\r\n\r\n'), 3000, 'the 101');
    expect(text).toMatch(/^HTTP\/1\.1 101/);
    expect(proxy.list()[0]?.inFlight).toBe(1);
    socket.write('hello');
    await waitFor(() => text.endsWith('echo:hello'), 3000, 'the echo');
    socket.destroy();
    await waitFor(() => proxy.list()[0]?.inFlight === 0, 3000, 'the tunnel to close');
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
    const slow = send(`${url}/slow?ms=600`);
    await waitFor(() => proxy.list()[0]?.inFlight === 1, 2000, 'the slow request on a');
    await proxy.add({ id: 'b', release: 'v2', host: '127.0.0.1', port: b.port });
    await proxy.set([{ id: 'b', state: 'ready' }, { id: 'a', state: 'drain' }]);
    for (let i = 0; i < 5; i++) expect((await send(url)).body).toBe('b');
    await expect(proxy.remove('a')).rejects.toThrow(/in flight/);
    expect((await slow).body).toBe('a');
    await waitFor(() => proxy.list()[0]?.inFlight === 0, 2000, 'a to be idle');
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

  it('a client that goes away mid-response frees the backend slot', async () => {
    const b = await backend('b', (_req, res) => {
      res.writeHead(200);
      res.write('partial');
    });
    const { proxy, url } = await proxyServer();
    await ready(proxy, [b, 1]);
    await new Promise<void>((resolve) => {
      const req = httpRequest(url, { agent: false }, (res) => res.once('data', () => {
        req.destroy();
        resolve();
      }));
      req.on('error', () => {});
      req.end();
    });
    await waitFor(() => proxy.inFlight === 0 && proxy.list()[0]?.inFlight === 0, 3000, 'in-flight to drop to 0');
    await delay(10);
  });
});

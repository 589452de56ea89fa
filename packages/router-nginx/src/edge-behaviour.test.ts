// What clients see of the edge: the 404 guards, the forwarded headers, the
// header timeout and WebSocket upgrades, through both nginx tiers.
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startNginxRouter, type NginxRouter, type StartNginxRouterOptions } from './nginx-router.js';
import { cleanUp, nginx, routerDir } from './nginx.test.fixtures.js';

const dirs: string[] = [];
const servers: Server[] = [];
afterEach(() => cleanUp(dirs, servers));

/** A backend that answers the path and headers it got, and echoes on a WebSocket-style upgrade. */
async function routedTo(options: Partial<StartNginxRouterOptions> = {}): Promise<NginxRouter> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: req.url, headers: req.headers }));
  });
  server.on('upgrade', (req, socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (chunk: Buffer) => socket.write(chunk));
    // The server's sockets are half-open: end ours when the router ends its side.
    socket.on('end', () => socket.end());
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const dir = await routerDir();
  dirs.push(dir);
  const router = await startNginxRouter({ dir, ...options });
  await router.add({ id: 'a', release: 'v1', host: '127.0.0.1', port: typeof address === 'object' && address ? address.port : 0 });
  await router.set([{ id: 'a', state: 'ready', weight: 1 }]);
  return router;
}

/** A GET with the path exactly as written (fetch would normalize it). */
function rawGet(url: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/`, { path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(!nginx)('the nginx edge', () => {
  it('answers 404 for metrics and probe details however the path is spelled, and passes the rest', async () => {
    const router = await routedTo({ expose: { metricsPaths: ['/metrics'], probePaths: ['/readyz', '/livez'] } });
    for (const path of ['/metrics', '/METRICS', '/metrics/', '//metrics', '/x/../metrics', '/%6detrics', '/metrics;x', '/\\metrics', '/readyz?verbose', '/LIVEZ?x=1']) {
      expect((await rawGet(router.url, path)).status, path).toBe(404);
    }
    for (const path of ['/readyz', '/livez', '/orders/metrics', '/metricsx', '/orders?limit=5']) {
      const answer = await rawGet(router.url, path);
      expect(answer.status, path).toBe(200);
      expect(JSON.parse(answer.body).url).toBe(path);
    }
    const open = await routedTo({ expose: { metrics: true, probeDetails: true } });
    expect((await rawGet(open.url, '/metrics')).status).toBe(200);
    expect((await rawGet(open.url, '/readyz?verbose')).status).toBe(200);
  });

  it('replaces what a client claims in forwarded headers, unless trusted', async () => {
    const claims = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example', 'x-real-ip': '6.6.6.6', forwarded: 'for=6.6.6.6', 'x-forwarded-for': '6.6.6.6', host: 'shop.example', 'baton-shadow': '1', 'baton-compare': '1' };
    const router = await routedTo();
    const seen = JSON.parse((await rawGet(router.url, '/', claims)).body).headers as Record<string, string>;
    expect(seen).toMatchObject({ host: 'shop.example', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'shop.example', forwarded: 'for=127.0.0.1;proto=http', 'x-forwarded-for': '6.6.6.6, 127.0.0.1' });
    expect(seen['x-real-ip']).toBeUndefined();
    // A forged shadow mark would send a real write to the service's dry run; trusted or not, it never passes.
    expect(seen['baton-shadow']).toBeUndefined();
    expect(seen['baton-compare']).toBeUndefined();

    const trusting = await routedTo({ trustForwarded: true });
    const kept = JSON.parse((await rawGet(trusting.url, '/', claims)).body).headers as Record<string, string>;
    expect(kept).toMatchObject({ 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example', 'x-real-ip': '6.6.6.6', forwarded: 'for=6.6.6.6' });
    expect(kept['baton-shadow']).toBeUndefined();
  });

  it('closes a connection whose headers do not arrive within headersTimeoutMs', async () => {
    const router = await routedTo({ headersTimeoutMs: 500 });
    const socket = connect(Number(new URL(router.url).port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
    const started = Date.now();
    socket.resume();
    await once(socket, 'close');
    // Well before the default 10 s: the setting is what closed it.
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('passes a WebSocket-style upgrade through both tiers', async () => {
    const router = await routedTo();
    const socket = connect(Number(new URL(router.url).port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /socket HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      if (received.includes('\r\n\r\n') && !received.includes('ping')) socket.write('ping');
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no echo: ${JSON.stringify(received)}`)), 10_000);
      socket.on('data', () => {
        if (received.endsWith('ping')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    expect(received).toMatch(/^HTTP\/1\.1 101 /);
    socket.destroy();
  });
});

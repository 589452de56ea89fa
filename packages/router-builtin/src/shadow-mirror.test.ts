// A shadow step in the built-in router, with real backends behind its real
// traffic server: clients only ever get the stable release's answer; a copy
// of their request goes to the candidate afterwards, marked; both answers are
// compared by the route template the service reports.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BuiltinProxy } from './builtin-proxy.js';
import { createTrafficServer, resolveTrafficLimits, type TrafficServer } from './internal/builtin-traffic-server.js';
import { runLoad, send, startBackend, waitFor, type Backend } from './internal/builtin-fixtures.test.util.js';

const backends: Backend[] = [];
const traffics: TrafficServer[] = [];
const proxies: BuiltinProxy[] = [];

afterEach(async () => {
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  for (const traffic of traffics.splice(0)) {
    traffic.stopAccepting();
    traffic.closeAll();
  }
  await Promise.all(backends.splice(0).map((backend) => backend.close()));
});

interface Seen {
  method: string;
  url: string;
  shadow: string | undefined;
  compare: string | undefined;
}

/**
 * An orders service as Baton's adapters serve it: `/orders/:id` answers JSON
 * with its release, and a marked request (Baton-Shadow or Baton-Compare) gets
 * its route template in Baton-Route. `change` alters the answer (a candidate's bug);
 * `hang` never answers.
 */
async function service(release: string, options: { change?: (order: Record<string, unknown>) => void; hang?: boolean; seen?: Seen[] } = {}): Promise<Backend> {
  const backend = await startBackend(release, (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      options.seen?.push({ method: req.method ?? '', url: req.url ?? '', shadow: req.headers['baton-shadow'] as string | undefined, compare: req.headers['baton-compare'] as string | undefined });
      if (options.hang) return;
      const marked = req.headers['baton-shadow'] === '1' || req.headers['baton-compare'] === '1';
      const id = /^\/orders\/(\d+)/.exec(req.url ?? '')?.[1];
      const route = req.method === 'POST' ? 'POST /orders' : id === undefined ? 'GET /health' : 'GET /orders/:id';
      const order: Record<string, unknown> = id === undefined ? { ok: true, release } : { id: Number(id), total: 10 * Number(id), release, items: [{ sku: 'A', qty: 1 }] };
      options.change?.(order);
      const body = JSON.stringify(order);
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(marked ? { 'baton-route': route } : {}) });
      res.end(body);
    });
  });
  backends.push(backend);
  return backend;
}

async function router(stable: Backend, candidate: Backend): Promise<{ proxy: BuiltinProxy; url: string }> {
  const proxy = new BuiltinProxy();
  proxies.push(proxy);
  const traffic = createTrafficServer(proxy, resolveTrafficLimits({}));
  traffics.push(traffic);
  await new Promise<void>((resolve) => traffic.server.listen(0, '127.0.0.1', resolve));
  await proxy.add({ id: 'v1-1', release: 'v1', host: '127.0.0.1', port: stable.port });
  await proxy.add({ id: 'v2-1', release: 'v2', host: '127.0.0.1', port: candidate.port });
  // The candidate has no share of the traffic (drain at weight 0, as the orchestrator sets it): it sees only copies.
  await proxy.set([
    { id: 'v1-1', state: 'ready', weight: 100 },
    { id: 'v2-1', state: 'drain', weight: 0 },
  ]);
  return { proxy, url: `http://127.0.0.1:${(traffic.server.address() as AddressInfo).port}` };
}

const IGNORE = { ignore: { '*': ['release'] } };

describe('a shadow step in the built-in router', () => {
  it('passes a candidate identical but for ignored fields: every client answer is the stable release\'s, every copy compared by route', async () => {
    const stable = await service('v1');
    const seen: Seen[] = [];
    const candidate = await service('v2', { seen });
    const { proxy, url } = await router(stable, candidate);
    proxy.startShadow({ candidate: 'v2', compare: IGNORE });
    const load = await runLoad({ url: `${url}/orders/7`, total: 200, concurrency: 8 });
    expect(load).toMatchObject({ sent: 200, answered: 200, failed: 0, statuses: { 200: 200 } });
    await waitFor(() => proxy.shadowStatus()?.mirrored === 200, 30_000, 'every copy answered');
    const status = await proxy.stopShadow();
    expect(status).toMatchObject({ outcome: 'pass', candidate: 'v2', mirrored: 200, compared: 200, inFlight: 0 });
    expect(status?.routes).toEqual([expect.objectContaining({ route: 'GET /orders/:id', compared: 200, equal: 200, different: 0, candidateErrors: 0 })]);
    // The candidate saw only copies, each marked as one.
    expect(seen).toHaveLength(200);
    expect(seen.every((request) => request.shadow === '1' && request.compare === undefined)).toBe(true);
    // Clients never see the route header, nor the candidate's answer.
    const answer = await send(`${url}/orders/7`);
    expect(answer.headers['baton-route']).toBeUndefined();
    expect(JSON.parse(answer.body)).toMatchObject({ release: 'v1' });
  });

  it('fails a candidate that changed a field, naming the route and the field', async () => {
    const stable = await service('v1');
    const candidate = await service('v2', { change: (order) => order['total'] !== undefined && (order['total'] = String(order['total'])) });
    const { proxy, url } = await router(stable, candidate);
    proxy.startShadow({ candidate: 'v2', compare: IGNORE });
    await runLoad({ url: `${url}/orders/3`, total: 30, concurrency: 4 });
    await runLoad({ url: `${url}/health`, total: 30, concurrency: 4 });
    await waitFor(() => proxy.shadowStatus()?.mirrored === 60, 30_000, 'every copy answered');
    const status = await proxy.stopShadow();
    expect(status?.outcome).toBe('fail');
    expect(status?.reasons[0]).toBe('GET /orders/:id: 30 of 30 answers differ: field $.total (number against string (2 chars)).');
    expect(status?.routes.find((route) => route.route === 'GET /health')).toMatchObject({ compared: 30, equal: 30 });
  });

  it('costs clients nothing when the candidate hangs or is gone: every answer the stable release\'s, the copies counted as the candidate\'s failures', async () => {
    const stable = await service('v1');
    const candidate = await service('v2', { hang: true });
    const { proxy, url } = await router(stable, candidate);
    proxy.startShadow({ candidate: 'v2', compare: IGNORE, timeoutMs: 500 });
    const load = await runLoad({ url: `${url}/orders/1`, total: 100, concurrency: 8 });
    expect(load).toMatchObject({ sent: 100, answered: 100, failed: 0, statuses: { 200: 100 } });
    await waitFor(() => proxy.shadowStatus()?.mirrored === 100, 30_000, 'every copy timed out');
    await candidate.close();
    const more = await runLoad({ url: `${url}/orders/2`, total: 50, concurrency: 4 });
    expect(more).toMatchObject({ answered: 50, failed: 0 });
    await waitFor(() => proxy.shadowStatus()?.mirrored === 150, 30_000, 'every copy failed');
    const status = await proxy.stopShadow();
    expect(status?.outcome).toBe('fail');
    expect(status?.routes[0]).toMatchObject({ mirrored: 150, candidateErrors: 150 });
    expect(status?.reasons).toContain('GET /orders/:id: the candidate failed 150 of 150 mirrored requests.');
  });

  it('mirrors POST only when its method is listed, then with its body and the shadow mark; a client cannot forge the mark', async () => {
    const stableSeen: Seen[] = [];
    const stable = await service('v1', { seen: stableSeen });
    const seen: Seen[] = [];
    const candidate = await service('v2', { seen });
    const { proxy, url } = await router(stable, candidate);
    proxy.startShadow({ candidate: 'v2', compare: IGNORE });
    await send(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sku":"A"}' });
    expect(proxy.shadowStatus()).toMatchObject({ mirrored: 0, skipped: { method: 1 } });
    await proxy.stopShadow();
    // A client's own marks never reach a backend.
    await send(`${url}/health`, { headers: { 'baton-shadow': '1', 'baton-compare': '1' } });
    proxy.startShadow({ candidate: 'v2', compare: IGNORE, methods: ['GET', 'POST'], share: 0.5 });
    for (let i = 0; i < 4; i += 1) await send(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sku":"A"}' });
    await waitFor(() => proxy.shadowStatus()?.mirrored === 2, 30_000, 'two copies (half of four)');
    const status = await proxy.stopShadow();
    expect(status).toMatchObject({ outcome: 'inconclusive', mirrored: 2, notInShare: 2 });
    expect(seen.map((request) => [request.method, request.shadow])).toEqual([
      ['POST', '1'],
      ['POST', '1'],
    ]);
    expect(stableSeen.find((request) => request.url === '/health')).toMatchObject({ shadow: undefined, compare: undefined });
  });

  it('refuses bad settings with a 400 naming the field, and keeps serving', async () => {
    const stable = await service('v1');
    const candidate = await service('v2');
    const { proxy, url } = await router(stable, candidate);
    expect(() => proxy.startShadow({ candidate: 'v2', share: 2 })).toThrow(/shadow: share must be a number above 0 and at most 1; got 2/);
    expect(() => proxy.startShadow({ share: 1 })).toThrow(/shadow: candidate must be the candidate's release label/);
    expect(proxy.shadowStatus()).toBeUndefined();
    expect((await send(`${url}/health`)).status).toBe(200);
  });
});

// The behaviour both example services promise, as one vitest suite run by each
// of them against its built `dist/main.js` in a real child process. Not part
// of the domain's main entry: import it from `@baton/example-orders-domain/service-contract`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js';

/** The service's `http_requests_in_flight`, summed over its series, from its /metrics. */
async function requestsInFlight(url: string): Promise<number> {
  const text = (await call(`${url}/metrics`)).body;
  return [...text.matchAll(/^http_requests_in_flight(?:\{[^}]*\})? (\S+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
}

/** A started service. */
export interface RunningService {
  child: ChildProcess;
  url: string;
  listening: Record<string, unknown>;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<number | string>;
}

interface TestResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json: () => any;
}

/** One request on a fresh connection. */
export function call(url: string, options: { method?: string; body?: unknown; rawBody?: string; headers?: Record<string, string>; agent?: Agent } = {}): Promise<TestResponse> {
  const payload = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const headers: Record<string, string> = { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers };
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', agent: options.agent ?? false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Starts `node <mainPath>` with PORT=0 and resolves once it printed its listening line. */
export async function startService(mainPath: string, env: Record<string, string> = {}): Promise<RunningService> {
  const child = spawn(process.execPath, [mainPath], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', BATON_PROPAGATION_DELAY_MS: '200', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  const line = await Promise.race([
    new Promise<string>((resolve) => {
      const check = (): void => {
        const at = out.indexOf('\n');
        if (at !== -1) {
          child.stdout?.off('data', check);
          resolve(out.slice(0, at));
        }
      };
      child.stdout?.on('data', check);
    }),
    exited.then((code) => {
      throw new Error(`the service exited (${code}) before listening: ${err}`);
    }),
  ]);
  const listening = JSON.parse(line) as Record<string, unknown>;
  return { child, url: String(listening.url), listening, stdout: () => out, stderr: () => err, exited };
}

/** Polls readiness until it passes (the service listens before its startup work is done). */
export async function waitUntilReady(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await call(`${url}/readyz`).catch(() => undefined);
    if (response?.status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url} did not become ready within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Options of {@link describeOrdersService}. */
export interface OrdersServiceSuiteOptions {
  /**
   * Where the service keeps its orders: `memory` (default; DATABASE_URL is
   * cleared for it) or `postgres`: every test gets a fresh database on a
   * real PostgreSQL (one started for the suite, or the server at the test
   * run's DATABASE_URL, whose role needs CREATEDB), which the service
   * migrates at startup.
   */
  store?: 'memory' | 'postgres';
}

/** Runs the shared suite against a built service entry point. */
export function describeOrdersService(framework: 'express' | 'fastify', mainPath: string, options: OrdersServiceSuiteOptions = {}): void {
  const store = options.store ?? 'memory';
  const database = store === 'postgres' ? postgresPerTest() : undefined;
  const started: RunningService[] = [];
  const start = async (env: Record<string, string> = {}): Promise<RunningService> => {
    const service = await startService(mainPath, { DATABASE_URL: database?.url() ?? '', ...env });
    started.push(service);
    return service;
  };
  afterEach(async () => {
    for (const service of started.splice(0)) {
      if (service.child.exitCode === null && service.child.signalCode === null) {
        service.child.kill('SIGKILL');
        await service.exited;
      }
    }
  });

  describe(`orders service on ${framework}${store === 'postgres' ? ' with PostgreSQL' : ''} (node dist/main.js)`, () => {
    if (store === 'postgres') {
      it('shares orders and order events between instances (and releases) on one database', async () => {
        const [a, b] = await Promise.all([start({ RELEASE: 'v1' }), start({ RELEASE: 'v1' })]);
        await Promise.all([waitUntilReady(a.url), waitUntilReady(b.url)]);
        // Readiness reports the store it depends on.
        expect((await call(`${a.url}/readyz?verbose`)).json().checks['orders:store']).toEqual([expect.objectContaining({ status: 'pass', componentType: 'datastore' })]);
        const eventsOnB = openEventStream(`${b.url}/orders/events`, { 'api-version': '2026-11-16' });
        try {
          await eventsOnB.opened;
          const created = (await call(`${a.url}/orders`, { method: 'POST', headers: { 'api-version': '2026-11-16' }, body: { buyer: 'c-a', recipient: 'c-b', items: [{ sku: 'TEA-1', quantity: 1 }] } })).json();
          expect((await call(`${b.url}/orders/${created.id}`, { headers: { 'api-version': '2026-11-16' } })).json()).toEqual(created);
          expect((await call(`${b.url}/orders`)).json().total).toBe(1);
          expect((await call(`${b.url}/orders/${created.id}/cancel`, { method: 'POST' })).status).toBe(200);
          expect((await call(`${a.url}/orders/${created.id}/cancel`, { method: 'POST' })).status).toBe(409);
          const deadline = Date.now() + 10_000;
          while (!/event: order\.cancelled/.test(eventsOnB.received()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
          // Written through A, heard on B's stream: the events travel through the database.
          expect(eventsOnB.received()).toContain(`event: order.created\ndata: ${JSON.stringify(created)}`);
          expect(eventsOnB.received()).toMatch(/event: order\.cancelled\ndata: .*"status":"cancelled"/);
        } finally {
          eventsOnB.close();
        }
      });

      it('fails startup, exit code 1, when the database cannot be reached', async () => {
        // It may print its listening line before the startup work fails, or exit before: either way, exit code 1 and why.
        const outcome = await start({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/orders' }).then(
          async (service) => `exited (${String(await service.exited)}): ${service.stderr()}`,
          (error: Error) => error.message,
        );
        expect(outcome).toMatch(/exited \(1\)/);
        expect(outcome).toMatch(/ECONNREFUSED/);
      });
    }

    it('prints exactly one listening line on stdout, and becomes ready', async () => {
      const service = await start({ RELEASE: 'r-test-1' });
      expect(service.listening).toEqual({
        event: 'listening',
        port: expect.any(Number),
        url: `http://127.0.0.1:${String(service.listening.port)}`,
        release: 'r-test-1',
        framework,
      });
      await waitUntilReady(service.url);
      const ready = await call(`${service.url}/readyz`);
      expect(ready.headers['content-type']).toBe('application/health+json');
      expect(ready.json()).toMatchObject({ status: 'pass', serviceId: 'orders', releaseId: 'r-test-1' });
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
      expect(service.stdout().trim().split('\n')).toHaveLength(1);
    });

    it('fails readiness until the startup work is done', async () => {
      const service = await start({ BATON_STARTUP_DELAY_MS: '60000' });
      expect((await call(`${service.url}/livez`)).status).toBe(200);
      expect((await call(`${service.url}/startupz`)).status).toBe(503);
      expect((await call(`${service.url}/readyz`)).status).toBe(503);
      // A shutdown during startup cuts the startup work short and still exits cleanly.
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
    });

    it('creates, reads, lists and cancels orders', async () => {
      const service = await start();
      await waitUntilReady(service.url);
      const created = await call(`${service.url}/orders`, { method: 'POST', body: { customer: 'c-1', items: [{ sku: 'TEA-1', quantity: 2 }] } });
      expect(created.status).toBe(201);
      const order = created.json();
      expect(order).toMatchObject({ customer: 'c-1', items: [{ sku: 'TEA-1', quantity: 2 }], status: 'open' });
      expect(created.headers.location).toBe(`/orders/${order.id}`);
      await call(`${service.url}/orders`, { method: 'POST', body: { customer: 'c-2', items: [{ sku: 'MUG', quantity: 1 }] } });

      expect((await call(`${service.url}/orders/${order.id}`)).json()).toEqual(order);
      const page = (await call(`${service.url}/orders?limit=1`)).json();
      expect(page).toMatchObject({ total: 2, limit: 1, offset: 0, nextOffset: 1 });
      expect(page.orders[0].customer).toBe('c-2');

      const cancelled = await call(`${service.url}/orders/${order.id}/cancel`, { method: 'POST' });
      expect(cancelled.status).toBe(200);
      expect(cancelled.json()).toMatchObject({ id: order.id, status: 'cancelled' });
      const again = await call(`${service.url}/orders/${order.id}/cancel`, { method: 'POST' });
      expect(again.status).toBe(409);
      expect(again.json().error).toBe('already_cancelled');
      expect((await call(`${service.url}/orders/ord_missing`)).status).toBe(404);
    });

    it('answers bad input with a 400 that says what is wrong, never a 500', async () => {
      const service = await start();
      await waitUntilReady(service.url);
      const invalid = await call(`${service.url}/orders`, { method: 'POST', body: { customer: '', items: [{ sku: 'TEA 1', quantity: 0 }] } });
      expect(invalid.status).toBe(400);
      expect(invalid.json()).toMatchObject({ error: 'invalid_input' });
      expect(invalid.json().issues.map((i: { path: string }) => i.path)).toEqual(['customer', 'items[0].sku', 'items[0].quantity']);

      const requests = [
        call(`${service.url}/orders`, { method: 'POST', rawBody: '{"customer":', headers: { 'content-type': 'application/json' } }),
        call(`${service.url}/orders`, { method: 'POST', body: [1, 2] }),
        call(`${service.url}/orders`, { method: 'POST' }),
        call(`${service.url}/orders?limit=zero`),
        call(`${service.url}/orders?offset=-3`),
        call(`${service.url}/slow?ms=later`),
      ];
      for (const response of await Promise.all(requests)) {
        expect(response.status, response.body).toBe(400);
        expect(response.headers['content-type']).toMatch(/^application\/json/);
        expect(response.body).not.toMatch(/\bat .+:\d+:\d+/); // no stack trace
      }
    });

    it('serves old and new API clients side by side: `customer` by default, `buyer` and `recipient` from 2026-11-16', async () => {
      const service = await start();
      await waitUntilReady(service.url);
      const latest = { 'api-version': '2026-11-16' };
      const items = [{ sku: 'TEA-1', quantity: 2 }];

      // A client from before versions (no header) gets the first version, as it always had, told it is deprecated.
      const created = await call(`${service.url}/orders`, { method: 'POST', body: { customer: 'c-old', items } });
      expect(created.status).toBe(201);
      expect(created.headers['api-version']).toBe('2025-01-15');
      expect(created.headers.vary).toMatch(/\bApi-Version\b/i);
      expect(created.headers.deprecation).toBe(`@${Date.parse('2026-11-16') / 1000}`);
      const old = created.json();
      expect(Object.keys(old)).toEqual(['id', 'customer', 'items', 'status', 'createdAt']);
      expect(old).toMatchObject({ customer: 'c-old', items, status: 'open' });

      // A new client reads the same order split: the old customer both bought it and receives it.
      const asNew = await call(`${service.url}/orders/${old.id}`, { headers: latest });
      expect(asNew.headers['api-version']).toBe('2026-11-16');
      expect(asNew.headers.deprecation).toBeUndefined();
      expect(asNew.json()).toEqual({ id: old.id, buyer: 'c-old', recipient: 'c-old', items, status: 'open', createdAt: old.createdAt });

      // A new client's gift; old clients see its buyer as the customer.
      const giftResponse = await call(`${service.url}/orders`, { method: 'POST', headers: latest, body: { buyer: 'c-buyer', recipient: 'c-friend', items } });
      expect(giftResponse.status).toBe(201);
      const gift = giftResponse.json();
      expect(gift).toMatchObject({ buyer: 'c-buyer', recipient: 'c-friend' });
      const oldGift = { id: gift.id, customer: 'c-buyer', items, status: 'open', createdAt: gift.createdAt };
      expect((await call(`${service.url}/orders/${gift.id}`)).json()).toEqual(oldGift);
      // Naming the old version, or any day before the split, is the same.
      for (const version of ['2025-01-15', '2026-11-15']) {
        const response = await call(`${service.url}/orders/${gift.id}`, { headers: { 'api-version': version } });
        expect(response.headers['api-version']).toBe('2025-01-15');
        expect(response.json()).toEqual(oldGift);
      }
      // ?api_version= for clients that cannot set a header.
      expect((await call(`${service.url}/orders/${gift.id}?api_version=2026-11-16`)).json()).toEqual(gift);

      // Lists and cancellations, in each client's shape.
      expect((await call(`${service.url}/orders`)).json().orders).toEqual([oldGift, old]);
      const page = (await call(`${service.url}/orders`, { headers: latest })).json();
      expect(page.orders.map((order: Record<string, unknown>) => [order.buyer, order.recipient, order.customer])).toEqual([['c-buyer', 'c-friend', undefined], ['c-old', 'c-old', undefined]]);
      const cancelled = await call(`${service.url}/orders/${gift.id}/cancel`, { method: 'POST' });
      expect(cancelled.json()).toEqual({ ...oldGift, status: 'cancelled', cancelledAt: expect.any(String) });

      // Validation speaks each client's version: `customer` to old ones, the new fields to new ones.
      const oldInvalid = await call(`${service.url}/orders`, { method: 'POST', body: { customer: ' ', items } });
      expect(oldInvalid.json()).toEqual({ error: 'invalid_input', message: 'Invalid input: customer: required: a non-empty string', issues: [{ path: 'customer', message: 'required: a non-empty string' }] });
      const oldNotAnObject = await call(`${service.url}/orders`, { method: 'POST', body: [1, 2] });
      expect(oldNotAnObject.json().issues).toEqual([{ path: 'body', message: 'expected a JSON object like {"customer":"c-1","items":[{"sku":"TEA-1","quantity":2}]}' }]);
      const staleShape = await call(`${service.url}/orders`, { method: 'POST', headers: latest, body: { customer: 'c-1', items } });
      expect(staleShape.status).toBe(400);
      expect(staleShape.json().issues.map((issue: { path: string }) => issue.path)).toEqual(['buyer', 'recipient']);
    });

    it('refuses a malformed or unsupported API version with a 400 problem, and counts requests per version on /metrics', async () => {
      const service = await start();
      await waitUntilReady(service.url);
      const refusals = [
        await call(`${service.url}/orders`, { headers: { 'api-version': '2019-01-01' } }),
        await call(`${service.url}/orders`, { method: 'POST', headers: { 'api-version': 'latest' }, body: { customer: 'c-1', items: [{ sku: 'TEA-1', quantity: 1 }] } }),
        await call(`${service.url}/orders/events?api_version=soon`),
      ];
      for (const refused of refusals) {
        expect(refused.status, refused.body).toBe(400);
        expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(refused.json()).toMatchObject({ status: 400, supported: ['2025-01-15', '2026-11-16'] });
      }
      expect(refusals[0]?.json()).toMatchObject({ type: 'urn:baton:problem:unsupported-api-version', requested: '2019-01-01' });
      expect(refusals[0]?.headers.vary).toMatch(/\bApi-Version\b/i);
      expect(refusals[1]?.json()).toMatchObject({ type: 'urn:baton:problem:malformed-api-version', detail: expect.stringContaining('2025-01-15, 2026-11-16') });
      // Nothing was created by the refused POST.
      expect((await call(`${service.url}/orders`)).json().total).toBe(0);

      await call(`${service.url}/orders`, { headers: { 'api-version': '2026-11-16' } });
      const metrics = (await call(`${service.url}/metrics`)).body;
      expect(metrics).toMatch(/^baton_api_version_requests_total\{[^}]*version="2026-11-16",source="header"\} 1$/m);
      expect(metrics).toMatch(/^baton_api_version_requests_total\{[^}]*version="2025-01-15",source="default"\} 1$/m);
      expect(metrics).toMatch(/^baton_api_version_requests_total\{[^}]*version="\(refused\)",source="400"\} 3$/m);
      // Probes are not versioned (a load balancer names no version) and are not counted.
      const probe = await call(`${service.url}/readyz`);
      expect(probe.headers['api-version']).toBeUndefined();
    });

    it('streams order events in each subscriber’s API version', async () => {
      const service = await start();
      await waitUntilReady(service.url);
      const streams = {
        old: openEventStream(`${service.url}/orders/events`),
        header: openEventStream(`${service.url}/orders/events`, { 'api-version': '2026-11-16' }),
        query: openEventStream(`${service.url}/orders/events?api_version=2026-11-16`),
      };
      try {
        expect((await streams.old.opened)['api-version']).toBe('2025-01-15');
        expect((await streams.header.opened)['api-version']).toBe('2026-11-16');
        expect((await streams.query.opened)['api-version']).toBe('2026-11-16');
        const gift = (await call(`${service.url}/orders`, { method: 'POST', headers: { 'api-version': '2026-11-16' }, body: { buyer: 'c-buyer', recipient: 'c-friend', items: [{ sku: 'MUG', quantity: 1 }] } })).json();
        await call(`${service.url}/orders/${gift.id}/cancel`, { method: 'POST' });
        const data = async (stream: EventStream, type: string): Promise<Record<string, unknown>> => {
          const deadline = Date.now() + 10_000;
          for (;;) {
            const found = new RegExp(`^event: ${type.replace('.', '\\.')}\ndata: (.*)$`, 'm').exec(stream.received());
            if (found !== null) return JSON.parse(found[1] as string) as Record<string, unknown>;
            if (Date.now() > deadline) throw new Error(`no ${type} event within 10 s; received: ${stream.received()}`);
            await new Promise((resolve) => setTimeout(resolve, 25));
          }
        };
        expect(await data(streams.old, 'order.created')).toEqual({ id: gift.id, customer: 'c-buyer', items: gift.items, status: 'open', createdAt: gift.createdAt });
        expect(await data(streams.old, 'order.cancelled')).toMatchObject({ id: gift.id, customer: 'c-buyer', status: 'cancelled' });
        for (const stream of [streams.header, streams.query]) {
          expect(await data(stream, 'order.created')).toEqual(gift);
          expect(await data(stream, 'order.cancelled')).toMatchObject({ id: gift.id, buyer: 'c-buyer', recipient: 'c-friend', status: 'cancelled' });
        }
      } finally {
        for (const stream of Object.values(streams)) stream.close();
      }
    });

    it('on SIGTERM finishes an in-flight slow request, ends the event stream, and exits 0', async () => {
      // A propagation delay long enough that the slow request surely reaches the server before the listener closes.
      const service = await start({ BATON_PROPAGATION_DELAY_MS: '1000' });
      await waitUntilReady(service.url);
      const events = openEventStream(`${service.url}/orders/events`);
      await events.opened;
      // An idle keep-alive connection, as a load balancer keeps: it must not hold the exit
      // (Fastify's own keep-alive timeout is 72 s, longer than this test may run).
      const keepAlive = new Agent({ keepAlive: true });
      const created = await call(`${service.url}/orders`, { method: 'POST', agent: keepAlive, body: { customer: 'c-sse', items: [{ sku: 'SSE', quantity: 1 }] } });
      expect(created.headers.connection).toBe('keep-alive');

      const inFlightBefore = await requestsInFlight(service.url);
      const slow = call(`${service.url}/slow?ms=1500`);
      // The signal lands once the server counts the slow request in flight (a fact, not a pause a busy machine could outrun).
      const deadline = Date.now() + 10_000;
      while ((await requestsInFlight(service.url)) <= inFlightBefore) {
        if (Date.now() > deadline) throw new Error('the slow request never showed in http_requests_in_flight');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      service.child.kill('SIGTERM');

      const response = await slow;
      expect(response.status).toBe(200);
      expect(response.json()).toEqual({ sleptMs: 1500 });
      expect(response.headers.connection).toBe('close');
      const stream = await events.ended;
      expect(stream).toContain('event: order.created');
      expect(stream).toContain('"customer":"c-sse"');
      expect(await service.exited).toBe(0);
      keepAlive.destroy();
      expect(service.stderr()).toMatch(/"msg":"shutdown finished"/);
      expect(service.stderr()).toMatch(/"forced":false/);
    });

    it('reads its toggles from BATON_TOGGLES_FILE, sees an edit while running, and honours only allowed overrides', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'orders-toggles-'));
      try {
        const file = join(dir, 'toggles.json');
        writeFileSync(file, JSON.stringify({ orderSummary: true, cancellations: true }));
        const service = await start({ BATON_TOGGLES_FILE: file, BATON_TOGGLE_OVERRIDES: 'orderSummary' });
        await waitUntilReady(service.url);
        const ready = (await call(`${service.url}/readyz?verbose`)).json();
        expect(ready.checks.toggles).toEqual([expect.objectContaining({ status: 'pass', componentType: 'toggles' })]);
        const order = (await call(`${service.url}/orders`, { method: 'POST', body: { customer: 'c-t', items: [{ sku: 'TEA-1', quantity: 2 }, { sku: 'MUG', quantity: 1 }] } })).json();
        expect((await call(`${service.url}/orders/${order.id}`)).json().summary).toEqual({ lines: 2, units: 3 });
        // The allowed override turns the release off for this request only; the kill switch cannot be overridden.
        expect((await call(`${service.url}/orders/${order.id}`, { headers: { 'x-baton-toggles': 'orderSummary=off' } })).json().summary).toBeUndefined();
        // The kill switch, flipped in the file while the service runs: cancellations pause, nothing restarts.
        writeFileSync(file, JSON.stringify({ orderSummary: true, cancellations: false }));
        const deadline = Date.now() + 10_000;
        let paused = await call(`${service.url}/orders/${order.id}/cancel`, { method: 'POST', headers: { 'x-baton-toggles': 'cancellations=on' } });
        while (paused.status !== 503 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          paused = await call(`${service.url}/orders/${order.id}/cancel`, { method: 'POST', headers: { 'x-baton-toggles': 'cancellations=on' } });
        }
        // (A 200 here would mean the first attempt cancelled before the file change was seen; it must end at 503.)
        expect(paused.status).toBe(503);
        expect(paused.json()).toEqual({ error: 'cancellations_paused', message: 'Cancellations are paused for now; try again later.' });
        const metrics = (await call(`${service.url}/metrics`)).body;
        expect(metrics).toMatch(/baton_toggle_evaluations_total\{service="orders",release="dev",toggle="cancellations",result="false"\} [1-9]/);
        service.child.kill('SIGTERM');
        expect(await service.exited).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('plays a bad release on purpose: a share of API requests fail with 500 while probes and /metrics stay healthy, and it can crash later', async () => {
      // The fault rate and the crash on two processes: on one, every check below
      // would have to finish inside the 1.5 s before the crash, which a busy machine does not promise.
      const service = await start({ RELEASE: 'bad', ORDERS_FAULT_ERROR_RATE: '0.25' });
      await waitUntilReady(service.url);
      const statuses: number[] = [];
      for (let i = 0; i < 8; i += 1) statuses.push((await call(`${service.url}/orders`)).status);
      // Exactly one request in four, evenly spread.
      expect(statuses).toEqual([200, 200, 200, 500, 200, 200, 200, 500]);
      expect((await call(`${service.url}/orders`)).json()).toBeDefined();
      expect((await call(`${service.url}/readyz`)).status).toBe(200);
      const metrics = await call(`${service.url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.body).toMatch(/http_requests_total\{[^}]*status_code="500"[^}]*\} 2/);
      // The crash: abrupt, exit code 70, no drain.
      const crashing = await start({ RELEASE: 'bad', ORDERS_FAULT_ERROR_RATE: '0.25', ORDERS_CRASH_AFTER_MS: '1500' });
      expect(await crashing.exited).toBe(70);
      expect(crashing.stderr()).toContain('crashing on purpose (ORDERS_CRASH_AFTER_MS=1500)');
      expect(crashing.stderr()).not.toContain('shutdown finished');

      const refused = startService(mainPath, { ORDERS_FAULT_ERROR_RATE: '20%' });
      await expect(refused).rejects.toThrow(/ORDERS_FAULT_ERROR_RATE must be a fraction from 0 to 1 \(0.2 = one request in five\); got "20%"/);
    });

    it('refuses invalid configuration with a clear message and exit code 1', async () => {
      const bad = startService(mainPath, { PORT: 'eighty', BATON_PROPAGATION_DELAY_MS: 'soon' });
      await expect(bad).rejects.toThrow(/exited \(1\)/);
      await expect(bad).rejects.toThrow(/PORT must be an integer from 0 to 65535; got "eighty"/);
      await expect(bad).rejects.toThrow(/BATON_PROPAGATION_DELAY_MS/);

      const toggles = startService(mainPath, { UNLEASH_URL: 'http://127.0.0.1:4242/api', BATON_TOGGLE_OVERRIDES: 'newCheckout', BATON_TOGGLES_FILE: '/nonexistent/toggles.json' });
      await expect(toggles).rejects.toThrow(/UNLEASH_URL is http:\/\/127.0.0.1:4242\/api but UNLEASH_API_TOKEN is not set/);
      await expect(toggles).rejects.toThrow(/BATON_TOGGLE_OVERRIDES names toggles this service does not have: newCheckout; known: cancellations, orderSummary/);
      const missingFile = startService(mainPath, { BATON_TOGGLES_FILE: '/nonexistent/toggles.json' });
      await expect(missingFile).rejects.toThrow(/exited \(1\).*cannot read \/nonexistent\/toggles.json/s);

      const overBudget = startService(mainPath, { BATON_DRAIN_TIMEOUT_MS: '60000', BATON_GRACE_PERIOD_MS: '30000' });
      await expect(overBudget).rejects.toThrow(/exited \(1\).*grace period is 30000 ms/s);
    });
  });
}

/** A fresh database for each test of the suite, on a PostgreSQL started for the suite (or at DATABASE_URL), all removed at the end. */
function postgresPerTest(): { url: () => string } {
  let server: EmbeddedPostgres | undefined;
  let current: string | undefined;
  let count = 0;
  const given = process.env.DATABASE_URL;
  beforeAll(async () => {
    if (!given) server = await startEmbeddedPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });
  beforeEach(async () => {
    count += 1;
    const name = `orders_service_${process.pid}_${count}`;
    if (server) {
      current = await server.createDatabase(name);
      return;
    }
    const admin = new pg.Client({ connectionString: given });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    } finally {
      await admin.end();
    }
    const url = new URL(given as string);
    url.pathname = `/${name}`;
    current = url.toString();
  });
  return {
    url: () => {
      if (current === undefined) throw new Error('no database yet: start services inside a test');
      return current;
    },
  };
}

/** An SSE client: `opened` resolves with the response headers, `received()` is what came so far, `ended` everything once the server ends it. */
interface EventStream {
  opened: Promise<IncomingHttpHeaders>;
  ended: Promise<string>;
  received: () => string;
  /** Leaves the stream (the client goes away). */
  close: () => void;
}

function openEventStream(url: string, headers: Record<string, string> = {}): EventStream {
  let resolveOpened!: (headers: IncomingHttpHeaders) => void;
  let text = '';
  const opened = new Promise<IncomingHttpHeaders>((resolve) => (resolveOpened = resolve));
  let req!: ReturnType<typeof httpRequest>;
  const ended = new Promise<string>((resolve, reject) => {
    req = httpRequest(url, { agent: false, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve(text));
      res.on('error', reject);
      resolveOpened(res.headers);
    });
    req.on('error', reject);
    req.end();
  });
  // A stream closed by the client ends without an 'end'; nobody waits for it then.
  ended.catch(() => undefined);
  return { opened, ended, received: () => text, close: () => req.destroy() };
}

// Real components throughout: pacts written by Pact's own consumer DSL (PactV4
// against its mock server), real Express and Fastify servers served through
// Baton, and the real Pact verifier.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PactV4, MatchersV3 } from '@pact-foundation/pact';
import express from 'express';
import Fastify from 'fastify';
import { isBatonError } from '@baton/lifecycle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineStates, readVerificationRecord, verifyProvider } from './index.js';
import { loadPact } from './internal/load-pact.js';

process.env['PACT_DO_NOT_TRACK'] ??= 'true';

const PROVIDER = 'orders-provider';
let dir: string;
let pactFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-contracts-'));
  const pact = new PactV4({ consumer: 'orders-web', provider: PROVIDER, dir, logLevel: 'error' });
  await pact
    .addInteraction()
    .given('order exists', { id: 'o1' })
    .uponReceiving('a request for an order')
    .withRequest('GET', '/orders/o1')
    .willRespondWith(200, (response) => response.jsonBody({ id: MatchersV3.string('o1'), total: MatchersV3.integer(42) }))
    .executeTest(async (server) => {
      const response = await fetch(`${server.url}/orders/o1`);
      expect(response.status).toBe(200);
    });
  await pact
    .addInteraction()
    .uponReceiving('a health-free listing')
    .withRequest('GET', '/orders')
    .willRespondWith(200, (response) => response.jsonBody(MatchersV3.eachLike({ id: MatchersV3.string('o1') })))
    .executeTest(async (server) => {
      expect((await fetch(`${server.url}/orders`)).status).toBe(200);
    });
  pactFile = join(dir, `orders-web-${PROVIDER}.json`);
  await readFile(pactFile, 'utf8'); // the pact was written
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

type Orders = Map<string, { id: string; total: number }>;

function states(orders: Orders) {
  return defineStates<{ 'order exists': { id: string } }>()({
    'order exists': { setup: ({ id }) => void orders.set(id, { id, total: 42 }), teardown: () => orders.clear() },
  });
}

function expressApp(orders: Orders, { breaking = false } = {}) {
  const app = express();
  app.get('/orders', (_req, res) => res.json([...orders.values()].length ? [...orders.values()] : [{ id: 'o0' }]));
  app.get('/orders/:id', (req, res) => {
    const order = orders.get(req.params.id);
    if (!order) return void res.status(404).json({ error: 'not found' });
    // The breaking change renames `total`, which the consumer reads.
    res.json(breaking ? { id: order.id, amount: order.total } : order);
  });
  return app;
}

function fastifyApp(orders: Orders) {
  const app = Fastify();
  app.get('/orders', async () => ([...orders.values()].length ? [...orders.values()] : [{ id: 'o0' }]));
  app.get<{ Params: { id: string } }>('/orders/:id', async (request, reply) => {
    const order = orders.get(request.params.id);
    if (!order) return reply.code(404).send({ error: 'not found' });
    return order;
  });
  return app;
}

describe('verifyProvider', () => {
  it('passes for a conforming Express provider, with an outcome per interaction and a JUnit file', async () => {
    const orders: Orders = new Map();
    const junitFile = join(dir, 'junit-express.xml');
    const result = await verifyProvider({ app: expressApp(orders), provider: PROVIDER, pacts: { files: [pactFile] }, states: states(orders), junitFile });
    expect(result.summary).toBe('');
    expect(result.passed).toBe(true);
    expect(result.interactions.map((o) => [o.description, o.status]).sort()).toEqual([
      ['a health-free listing', 'passed'],
      ['a request for an order', 'passed'],
    ]);
    const xml = await readFile(junitFile, 'utf8');
    expect(xml).toContain('tests="2" failures="0"');
  });

  it('passes for a conforming Fastify provider (pacts from a directory)', async () => {
    const orders: Orders = new Map();
    const app = fastifyApp(orders);
    const result = await verifyProvider({ app, provider: PROVIDER, pacts: { dir }, states: states(orders) });
    expect(result.summary).toBe('');
    expect(result.passed).toBe(true);
    // Drained and closed afterwards.
    expect(app.server.listening).toBe(false);
  });

  it('fails with a readable message when a provider change breaks the consumer, and closes the server', async () => {
    const orders: Orders = new Map();
    let url = '';
    let closed = false;
    const { baton } = await import('@baton/express');
    const result = await verifyProvider({
      start: async () => {
        const listening = await baton(expressApp(orders, { breaking: true }), { lifecycle: { shutdown: { propagationDelayMs: 0 } } }).listen({ port: 0, host: '127.0.0.1' });
        url = listening.url;
        return { url: listening.url, close: async () => { await listening.close(); closed = true; } };
      },
      provider: PROVIDER,
      pacts: { files: [pactFile] },
      states: states(orders),
      junitFile: join(dir, 'junit-broken.xml'),
    });
    expect(result.passed).toBe(false);
    const failed = result.interactions.filter((o) => o.status === 'failed');
    expect(failed.map((o) => o.description)).toEqual(['a request for an order']);
    expect(result.summary).toContain('1 of 2 interaction(s) failed');
    expect(result.summary).toContain('a request for an order');
    expect(result.summary).toMatch(/total/);
    expect(closed).toBe(true);
    await expect(fetch(url)).rejects.toThrow();
    expect(await readFile(join(dir, 'junit-broken.xml'), 'utf8')).toContain('<failure');
  });

  it('writes a verification record for the release version, naming the pact files it verified by hash', async () => {
    const orders: Orders = new Map();
    const resultsFile = join(dir, 'verification', 'v2.json');
    const result = await verifyProvider({
      app: expressApp(orders, { breaking: true }),
      provider: PROVIDER,
      pacts: { files: [pactFile] },
      states: states(orders),
      providerVersion: 'v2',
      providerBranch: 'main',
      resultsFile,
    });
    expect(result.passed).toBe(false);
    const record = await readVerificationRecord(resultsFile);
    expect(record).toMatchObject({ formatVersion: 1, provider: PROVIDER, providerVersion: 'v2', providerBranch: 'main', passed: false, summary: result.summary });
    expect(record.counts).toEqual({ interactions: 2, passed: 1, failed: 1, pendingFailed: 0 });
    expect(record.interactions.find((i) => i.status === 'failed')).toMatchObject({ consumer: 'orders-web', description: 'a request for an order', pending: false });
    expect(record.interactions.find((i) => i.status === 'failed')?.failures.join('\n')).toMatch(/total/);
    const sha256 = createHash('sha256').update(await readFile(pactFile)).digest('hex');
    expect(record.pacts).toEqual([{ file: pactFile, sha256, consumer: 'orders-web' }]);
    expect(Date.parse(record.verifiedAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('verifies a server started by the core serve() and waits for its readiness', async () => {
    const orders: Orders = new Map();
    const { serve, createLifecycle } = await import('@baton/lifecycle');
    const lifecycle = createLifecycle({ shutdown: { propagationDelayMs: 0 } });
    let startupDone = false;
    const result = await verifyProvider({
      start: () =>
        serve({
          handler: expressApp(orders),
          lifecycle,
          port: 0,
          host: '127.0.0.1',
          signals: false,
          exit: false,
          startup: async () => {
            await new Promise((resolve) => setTimeout(resolve, 100));
            startupDone = true;
          },
        }),
      provider: PROVIDER,
      pacts: { files: [pactFile] },
      states: states(orders),
    });
    expect(startupDone).toBe(true);
    expect(result.passed, result.summary).toBe(true);
    expect(lifecycle.state).toBe('stopped');
  });

  it('fails an interaction whose provider state has no handler', async () => {
    const orders: Orders = new Map([['o1', { id: 'o1', total: 42 }]]);
    const result = await verifyProvider({ app: expressApp(orders), provider: PROVIDER, pacts: { files: [pactFile] }, states: defineStates<{}>()({}) });
    expect(result.passed).toBe(false);
    expect(result.summary).toContain('provider state "order exists": no handler');
  });

  it('fails an interaction whose provider state throws, even though the response matches', async () => {
    const orders: Orders = new Map([['o1', { id: 'o1', total: 42 }]]);
    const throwing = defineStates<{ 'order exists': { id: string } }>()({
      'order exists': () => {
        throw new Error('database is down');
      },
    });
    const result = await verifyProvider({ app: expressApp(orders), provider: PROVIDER, pacts: { files: [pactFile] }, states: throwing, throwOnFailure: false });
    expect(result.passed).toBe(false);
    expect(result.summary).toContain('setup threw: database is down');
    await expect(
      verifyProvider({ app: expressApp(orders), provider: PROVIDER, pacts: { files: [pactFile] }, states: throwing, throwOnFailure: true }),
    ).rejects.toThrow(/database is down/);
  });

  it('fails an interaction whose provider state teardown throws', async () => {
    const orders: Orders = new Map();
    const failingTeardown = defineStates<{ 'order exists': { id: string } }>()({
      'order exists': {
        setup: ({ id }) => void orders.set(id, { id, total: 42 }),
        teardown: () => {
          throw new Error('could not clean up');
        },
      },
    });
    const result = await verifyProvider({ app: expressApp(orders), provider: PROVIDER, pacts: { files: [pactFile] }, states: failingTeardown });
    expect(result.passed).toBe(false);
    expect(result.interactions.find((o) => o.description === 'a request for an order')?.failures).toEqual(['provider state "order exists": teardown threw: could not clean up']);
  });

  it('uses a Fastify app that already has batonPlugin, and closes it after a failed verification', async () => {
    const { batonPlugin } = await import('@baton/fastify');
    const orders: Orders = new Map();
    const app = fastifyApp(orders);
    await app.register(batonPlugin, { lifecycle: { shutdown: { propagationDelayMs: 0 } } });
    const result = await verifyProvider({ app, provider: PROVIDER, pacts: { files: [pactFile] } });
    expect(result.passed).toBe(false);
    expect(result.summary).toContain('no handler for this state');
    expect(app.server.listening).toBe(false);
    expect(app.lifecycle.state).toBe('stopped');
  });

  it('rejects bad options with a clear error before serving anything', async () => {
    const orders: Orders = new Map();
    const bad = [
      () => verifyProvider({ provider: PROVIDER, pacts: { files: [pactFile] } } as never),
      () => verifyProvider({ app: {}, provider: PROVIDER, pacts: { files: [pactFile] } }),
      () => verifyProvider({ app: expressApp(orders), provider: '', pacts: { files: [pactFile] } }),
      () => verifyProvider({ app: expressApp(orders), provider: PROVIDER, pacts: { files: [] } }),
      () => verifyProvider({ app: expressApp(orders), provider: PROVIDER, pacts: { files: [join(dir, 'nope.json')] } }),
      () => verifyProvider({ app: expressApp(orders), provider: PROVIDER, pacts: { brokerUrl: 'ftp://x' } }),
      () => verifyProvider({ app: expressApp(orders), provider: PROVIDER, pacts: { files: [pactFile] }, publishResults: true, providerVersion: undefined as never }),
      // A record is of one release: without a version there is nothing to name it by.
      () => verifyProvider({ app: expressApp(orders), provider: PROVIDER, pacts: { files: [pactFile] }, resultsFile: join(dir, 'never.json') }),
    ];
    const saved = { a: process.env['GIT_COMMIT'], b: process.env['GITHUB_SHA'], c: process.env['CI_COMMIT_SHA'], d: process.env['PACT_PROVIDER_VERSION'] };
    for (const name of ['GIT_COMMIT', 'GITHUB_SHA', 'CI_COMMIT_SHA', 'PACT_PROVIDER_VERSION']) delete process.env[name];
    try {
      for (const call of bad) {
        const error = await call().then(() => undefined, (e: unknown) => e);
        expect(isBatonError(error, 'BATON_ERR_INVALID_OPTION'), String(error)).toBe(true);
      }
    } finally {
      for (const [name, value] of Object.entries({ GIT_COMMIT: saved.a, GITHUB_SHA: saved.b, CI_COMMIT_SHA: saved.c, PACT_PROVIDER_VERSION: saved.d })) {
        if (value !== undefined) process.env[name] = value;
      }
    }
  });

  it('names the package and the likely cause when Pact cannot be loaded', async () => {
    const error = await loadPact(() => Promise.reject(new Error("Cannot find module '@pact-foundation/pact'"))).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/@pact-foundation\/pact could not be loaded.*optional dependencies/s);
    const native = await loadPact(() => Promise.reject(new Error('Failed to load libpact_ffi.so from @pact-foundation/pact-core'))).catch((e: unknown) => e);
    expect((native as Error).message).toMatch(/native Pact library.*--omit=optional/s);
  });
});

// The consumers' side of the contract tests: two clients of the orders API
// run against Pact's mock server (real HTTP, the real Pact core), and what
// they expect is written as pact files into ../pacts, one per consumer. The
// providers (examples/orders-express, examples/orders-fastify) verify those
// files through @baton/contracts, so a provider change that would break one of
// these clients fails before it is deployed.
//
// The mobile app is pinned to the oldest API version (its `Api-Version`
// header is in its pact), so its pact keeps being verified against the version
// it uses, not the newest.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinApiVersion } from '@baton/contracts';
import { PactV4, MatchersV3 } from '@pact-foundation/pact';
import { afterAll, describe, expect, it } from 'vitest';
import { createOrdersClient, OrdersApiError } from './orders-client.js';

const { like, eachLike, integer, string, regex, iso8601DateTimeWithMillis, fromProviderState } = MatchersV3;
// The committed pacts (what the providers verify) are compared with what this run writes into a fresh
// directory: a client change without its pacts fails here. UPDATE_PACTS=1 writes them instead.
const COMMITTED = fileURLToPath(new URL('../pacts', import.meta.url));
const PACTS = mkdtempSync(join(tmpdir(), 'orders-pacts-'));
const PROVIDER = 'orders-service';
const ORDER_ID = /^ord_[0-9a-z]+$/;

process.env.PACT_DO_NOT_TRACK ??= 'true';

function pactFor(consumer: string): PactV4 {
  return new PactV4({ consumer, provider: PROVIDER, dir: PACTS, logLevel: 'error' });
}

// Pact's own version in the metadata changes with upgrades, not with the contract.
function contractOf(file: string): unknown {
  const pact = JSON.parse(readFileSync(file, 'utf8')) as { metadata?: unknown };
  delete pact.metadata;
  return pact;
}

afterAll(() => {
  try {
    for (const file of readdirSync(PACTS)) {
      if (process.env['UPDATE_PACTS'] === '1') writeFileSync(join(COMMITTED, file), readFileSync(join(PACTS, file)));
      else {
        expect(contractOf(join(COMMITTED, file)), `pacts/${file} is stale: run UPDATE_PACTS=1 pnpm exec vitest run --project example-orders-consumer and commit it`).toEqual(contractOf(join(PACTS, file)));
      }
    }
  } finally {
    rmSync(PACTS, { recursive: true, force: true });
  }
});

const item = { sku: string('sku-1'), quantity: integer(2) };

describe('the web shop (API version 2026-11-16)', () => {
  const pact = pactFor('orders-web-shop');
  const pinned = pinApiVersion('2026-11-16');
  const version = pinned.version;

  it('reads an order with its buyer and recipient', async () => {
    await pact
      .addInteraction()
      .given('an order exists', { buyer: 'ada', recipient: 'grace' })
      .uponReceiving('a request for an existing order (2026-11-16)')
      .withRequest('GET', fromProviderState('/orders/${id}', '/orders/ord_000001'), pinned.request())
      .willRespondWith(200, pinned.response((response) =>
        response.jsonBody({
          id: fromProviderState('${id}', 'ord_000001'),
          buyer: 'ada',
          recipient: 'grace',
          items: eachLike(item),
          status: regex(/^(open|cancelled)$/, 'open'),
          createdAt: iso8601DateTimeWithMillis('2026-11-26T12:00:00.000Z'),
        }),
      ))
      .executeTest(async (server) => {
        const order = await createOrdersClient({ baseUrl: server.url, apiVersion: version }).getOrder('ord_000001');
        expect(order).toMatchObject({ id: 'ord_000001', buyer: 'ada', recipient: 'grace', status: 'open' });
      });
  });

  it('places a gift order', async () => {
    const draft = { buyer: 'ada', recipient: 'grace', items: [{ sku: 'sku-1', quantity: 2 }] };
    await pact
      .addInteraction()
      .uponReceiving('an order placed for someone else (2026-11-16)')
      .withRequest('POST', '/orders', pinned.request((request) => request.headers({ 'content-type': 'application/json' }).jsonBody(draft)))
      .willRespondWith(201, pinned.response((response) =>
        response.jsonBody({
          id: regex(ORDER_ID, 'ord_000002'),
          buyer: 'ada',
          recipient: 'grace',
          items: [{ sku: 'sku-1', quantity: 2 }],
          status: 'open',
          createdAt: iso8601DateTimeWithMillis('2026-11-26T12:00:00.000Z'),
        }),
      ))
      .executeTest(async (server) => {
        const order = await createOrdersClient({ baseUrl: server.url, apiVersion: version }).createOrder(draft);
        expect(order).toMatchObject({ buyer: 'ada', recipient: 'grace', status: 'open' });
      });
  });

  it('is told plainly when an order does not exist', async () => {
    await pact
      .addInteraction()
      .given('no order exists')
      .uponReceiving('a request for a missing order (2026-11-16)')
      .withRequest('GET', '/orders/ord_missing', pinned.request())
      .willRespondWith(404, (response) => response.jsonBody({ error: 'not_found', message: like('No order with id "ord_missing".') }))
      .executeTest(async (server) => {
        const failure = await createOrdersClient({ baseUrl: server.url, apiVersion: version })
          .getOrder('ord_missing')
          .catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(OrdersApiError);
        expect((failure as OrdersApiError).status).toBe(404);
        expect((failure as OrdersApiError).message).toContain('not_found');
      });
  });
});

describe('the mobile app (pinned to API version 2025-01-15)', () => {
  const pact = pactFor('orders-mobile-app');
  const pinned = pinApiVersion('2025-01-15');
  const version = pinned.version;

  it('still reads an order with one customer', async () => {
    await pact
      .addInteraction()
      .given('an order exists', { buyer: 'ada', recipient: 'ada' })
      .uponReceiving('a request for an existing order (2025-01-15)')
      .withRequest('GET', fromProviderState('/orders/${id}', '/orders/ord_000001'), pinned.request())
      .willRespondWith(200, pinned.response((response) =>
        response.jsonBody({
          id: fromProviderState('${id}', 'ord_000001'),
          customer: 'ada',
          items: eachLike(item),
          status: regex(/^(open|cancelled)$/, 'open'),
          createdAt: iso8601DateTimeWithMillis('2026-11-26T12:00:00.000Z'),
        }),
      ))
      .executeTest(async (server) => {
        const order = await createOrdersClient({ baseUrl: server.url, apiVersion: version }).getOrder('ord_000001');
        expect(order).toMatchObject({ id: 'ord_000001', customer: 'ada' });
        expect(order).not.toHaveProperty('buyer');
      });
  });

  it('still places an order with one customer', async () => {
    const draft = { customer: 'ada', items: [{ sku: 'sku-1', quantity: 1 }] };
    await pact
      .addInteraction()
      .uponReceiving('an order placed by its customer (2025-01-15)')
      .withRequest('POST', '/orders', pinned.request((request) => request.headers({ 'content-type': 'application/json' }).jsonBody(draft)))
      .willRespondWith(201, pinned.response((response) =>
        response.jsonBody({
          id: regex(ORDER_ID, 'ord_000002'),
          customer: 'ada',
          items: [{ sku: 'sku-1', quantity: 1 }],
          status: 'open',
          createdAt: iso8601DateTimeWithMillis('2026-11-26T12:00:00.000Z'),
        }),
      ))
      .executeTest(async (server) => {
        const order = await createOrdersClient({ baseUrl: server.url, apiVersion: version }).createOrder(draft);
        expect(order).toMatchObject({ customer: 'ada', status: 'open' });
      });
  });
});

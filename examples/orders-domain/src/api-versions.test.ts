import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createMemoryOrderStore, createOrdersVersioning, orderEventData, parseNewOrder, toErrorResponse, type OrderEvent } from './index.js';

const OLD = '2025-01-15';
const NEW = '2026-11-16';

/** What an old client's POST /orders does end to end, without a framework: upgrade, validate, create, downgrade. */
async function postAsOld(body: unknown, store = createMemoryOrderStore({ now: () => Date.parse('2026-11-20T10:00:00Z') })) {
  const { chain } = createOrdersVersioning();
  try {
    const order = await store.create(parseNewOrder(chain.upgradeRequest('POST /orders', OLD, body)));
    return { status: 201, body: chain.downgradeResponse('POST /orders', OLD, 201, order), order, store };
  } catch (error) {
    const answer = toErrorResponse(error);
    if (answer === undefined) throw error;
    return { status: answer.statusCode, body: chain.downgradeResponse('POST /orders', OLD, answer.statusCode, answer.body), order: undefined, store };
  }
}

describe('the orders API versions', () => {
  it('takes an old client’s customer as both buyer and recipient, and gives it back exactly as sent', async () => {
    const { status, body, order } = await postAsOld({ customer: 'c-1', items: [{ sku: 'TEA-1', quantity: 2 }] });
    expect(status).toBe(201);
    expect(order).toMatchObject({ buyer: 'c-1', recipient: 'c-1' });
    // The old shape, keys in their old order: nothing an old client knew is lost or moved.
    expect(JSON.stringify(body)).toBe(`{"id":"${order?.id}","customer":"c-1","items":[{"sku":"TEA-1","quantity":2}],"status":"open","createdAt":"2026-11-20T10:00:00.000Z"}`);
  });

  it('shows a gift order (buyer ≠ recipient) to old clients with the buyer as customer, on every route that returns orders', async () => {
    const store = createMemoryOrderStore();
    const { chain } = createOrdersVersioning();
    const gift = await store.create({ buyer: 'c-buyer', recipient: 'c-friend', items: [{ sku: 'MUG', quantity: 1 }] });
    const old = { id: gift.id, customer: 'c-buyer', items: gift.items, status: 'open', createdAt: gift.createdAt };
    expect(chain.downgradeResponse('GET /orders/:id', OLD, 200, gift)).toEqual(old);
    expect(chain.downgradeResponse('GET /orders/:id', OLD, 200, { ...gift, summary: { lines: 1, units: 1 } })).toEqual({ ...old, summary: { lines: 1, units: 1 } });
    expect(chain.downgradeResponse('GET /orders', OLD, 200, await store.list({ limit: 5, offset: 0 }))).toEqual({ orders: [old], total: 1, limit: 5, offset: 0, nextOffset: null });
    const cancelled = await store.cancel(gift.id);
    expect(chain.downgradeResponse('POST /orders/:id/cancel', OLD, 200, cancelled)).toEqual({ ...old, status: 'cancelled', cancelledAt: cancelled.cancelledAt });
    // The newest version is served as it is.
    expect(chain.downgradeResponse('GET /orders/:id', NEW, 200, gift)).toBe(gift);
    expect(chain.upgradeRequest('POST /orders', NEW, { customer: 'c-1' })).toEqual({ customer: 'c-1' });
  });

  it('upgrades any old body without throwing: non-objects pass, and the buyer or recipient an old client could not send stay ignored', () => {
    const { chain } = createOrdersVersioning();
    for (const body of [null, [1, 2], 'order', 42]) expect(chain.upgradeRequest('POST /orders', OLD, body)).toEqual(body);
    expect(chain.upgradeRequest('POST /orders', OLD, { buyer: 'x', customer: 'c-1', recipient: 'y', note: 'n' })).toEqual({ buyer: 'c-1', recipient: 'c-1', note: 'n' });
    expect(chain.upgradeRequest('POST /orders', OLD, { recipient: 'y', items: [] })).toEqual({ items: [] });
  });

  it('names `customer` in an old client’s validation errors, once, with the old example of a body', async () => {
    const missing = await postAsOld({ items: [{ sku: 'TEA-1', quantity: 0 }] });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({
      error: 'invalid_input',
      message: 'Invalid input: customer: required: a non-empty string; items[0].quantity: required: an integer from 1 to 1000',
      issues: [
        { path: 'customer', message: 'required: a non-empty string' },
        { path: 'items[0].quantity', message: 'required: an integer from 1 to 1000' },
      ],
    });
    expect((await postAsOld({ customer: 'x'.repeat(101), items: [{ sku: 'TEA-1', quantity: 1 }] })).body).toMatchObject({ issues: [{ path: 'customer', message: 'at most 100 characters' }] });
    expect((await postAsOld([1, 2])).body).toMatchObject({ issues: [{ path: 'body', message: 'expected a JSON object like {"customer":"c-1","items":[{"sku":"TEA-1","quantity":2}]}' }] });
    // Errors without issues are the same in every version.
    const { chain } = createOrdersVersioning();
    const notFound = { error: 'not_found', message: 'No order with id "ord_x".' };
    expect(chain.downgradeResponse('GET /orders/:id', OLD, 404, notFound)).toEqual(notFound);
  });

  it('gives each event subscriber the order in its own version', async () => {
    const versioning = createOrdersVersioning();
    const order = await createMemoryOrderStore().create({ buyer: 'c-buyer', recipient: 'c-friend', items: [{ sku: 'MUG', quantity: 1 }] });
    const event: OrderEvent = { type: 'order.created', order };
    expect(orderEventData(versioning, event, OLD)).toEqual({ id: order.id, customer: 'c-buyer', items: order.items, status: 'open', createdAt: order.createdAt });
    expect(orderEventData(versioning, { type: 'order.cancelled', order }, OLD)).toMatchObject({ customer: 'c-buyer' });
    expect(orderEventData(versioning, event, NEW)).toBe(order);
    expect(orderEventData(versioning, event, '')).toBe(order);
  });

  it('serves the oldest version to requests that name none, deprecated since the split, and the newest on request', () => {
    const versioning = createOrdersVersioning();
    expect(versioning.decide({ headers: {} })).toEqual({
      ok: true,
      version: OLD,
      source: 'default',
      headers: [['Api-Version', OLD], ['Vary', 'Api-Version'], ['Deprecation', `@${Date.parse('2026-11-16') / 1000}`]],
    });
    expect(versioning.decide({ headers: {}, url: `/orders/events?api_version=${NEW}` })).toMatchObject({ ok: true, version: NEW, source: 'query' });
    expect(versioning.decide({ headers: { 'api-version': NEW } })).toEqual({ ok: true, version: NEW, source: 'header', headers: [['Api-Version', NEW], ['Vary', 'Api-Version']] });
    expect(versioning.decide({ headers: { 'api-version': '2026-06-30' } })).toMatchObject({ ok: true, version: OLD });
    expect(versioning.decide({ headers: { 'api-version': '2024-12-31' } })).toMatchObject({ ok: false, status: 400, problem: { supported: [OLD, NEW] } });
  });
});

describe('API-CHANGELOG.md', () => {
  it('is what baton-api-changelog makes of dist/api-versions.js (run `pnpm changelog` in examples/orders-domain after changing the versions)', async () => {
    // The bin as @baton/versioning declares it, run by node as the package script runs it.
    const require = createRequire(import.meta.url);
    const manifestPath = require.resolve('@baton/versioning/package.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin: Record<string, string> };
    const bin = join(dirname(manifestPath), manifest.bin['baton-api-changelog'] as string);
    const root = fileURLToPath(new URL('..', import.meta.url));
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, 'dist/api-versions.js', '--export', 'ordersVersioningOptions', '--title', 'Orders API', '--check', 'API-CHANGELOG.md'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stderr }));
    });
    expect(result.code, result.stderr).toBe(0);
  });
});

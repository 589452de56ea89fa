import { describe, expect, it } from 'vitest';
import { createMemoryOrderStore } from './memory-order-store.js';
import { describeOrderStore } from './order-store-contract.js';

describeOrderStore('memory', async () => ({ store: createMemoryOrderStore() }));

describe('the in-memory order store', () => {
  it('drops the oldest orders past its bound', async () => {
    const store = createMemoryOrderStore({ maxOrders: 2 });
    const first = await store.create({ buyer: 'a', recipient: 'a', items: [{ sku: 'A', quantity: 1 }] });
    await store.create({ buyer: 'b', recipient: 'b', items: [{ sku: 'B', quantity: 1 }] });
    await store.create({ buyer: 'c', recipient: 'c', items: [{ sku: 'C', quantity: 1 }] });
    expect((await store.list({ limit: 10, offset: 0 })).total).toBe(2);
    await expect(store.get(first.id)).rejects.toMatchObject({ statusCode: 404 });
  });

  it('takes the time from its clock', async () => {
    const store = createMemoryOrderStore({ now: () => Date.parse('2026-11-20T10:00:00Z') });
    expect((await store.create({ buyer: 'a', recipient: 'a', items: [{ sku: 'A', quantity: 1 }] })).createdAt).toBe('2026-11-20T10:00:00.000Z');
  });
});

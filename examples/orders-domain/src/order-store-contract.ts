// What every OrderStore promises, as one vitest suite run against each implementation
// (memory-order-store.test.ts, postgres-order-store.test.ts). Not part of the package's entry.
import { afterEach, describe, expect, it } from 'vitest';
import { OrdersError } from './errors.js';
import type { OrderEvent, OrderStore } from './order-store.js';

/** Makes a fresh, empty, opened store; `cleanup` removes whatever it used. */
export type OrderStoreFactory = () => Promise<{ store: OrderStore; cleanup?: () => Promise<void> }>;

async function errorOf(promise: Promise<unknown>): Promise<OrdersError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OrdersError) return error;
    throw error;
  }
  throw new Error('expected an OrdersError');
}

/** Waits until `events` holds `count` entries (a database delivers them asynchronously). */
async function until(events: unknown[], count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (events.length < count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} events within 10 s, got ${JSON.stringify(events)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Runs the store contract against stores made by `factory`. */
export function describeOrderStore(name: string, factory: OrderStoreFactory): void {
  const cleanups: (() => Promise<void>)[] = [];
  const fresh = async (): Promise<OrderStore> => {
    const { store, cleanup } = await factory();
    cleanups.push(async () => {
      await store.close();
      await cleanup?.();
    });
    return store;
  };
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  describe(`the order store contract (${name})`, () => {
    it('creates, lists newest first, gets, and cancels once, telling subscribers in order', async () => {
      const store = await fresh();
      expect(store.isOpen()).toBe(true);
      const events: string[] = [];
      store.subscribe((event) => events.push(`${event.type} ${event.order.id} ${event.order.status}`));
      expect(store.subscriberCount()).toBe(1);
      const first = await store.create({ buyer: 'a', recipient: 'a', items: [{ sku: 'A', quantity: 1 }] });
      const second = await store.create({ buyer: 'b', recipient: 'b-friend', items: [{ sku: 'B', quantity: 2 }, { sku: 'C', quantity: 3 }] });
      expect(first).toEqual({ id: expect.stringMatching(/^ord_[0-9a-z]{6,}$/), buyer: 'a', recipient: 'a', items: [{ sku: 'A', quantity: 1 }], status: 'open', createdAt: expect.any(String) });
      expect(Date.parse(first.createdAt)).not.toBeNaN();
      expect(second.id).not.toBe(first.id);
      expect(await store.get(second.id)).toEqual(second);
      expect(await store.list({ limit: 1, offset: 0 })).toEqual({ orders: [second], total: 2, limit: 1, offset: 0, nextOffset: 1 });
      expect(await store.list({ limit: 1, offset: 1 })).toEqual({ orders: [first], total: 2, limit: 1, offset: 1, nextOffset: null });
      expect(await store.list({ limit: 5, offset: 7 })).toEqual({ orders: [], total: 2, limit: 5, offset: 7, nextOffset: null });

      const cancelled = await store.cancel(first.id);
      expect(cancelled).toEqual({ ...first, status: 'cancelled', cancelledAt: expect.any(String) });
      expect(await store.get(first.id)).toEqual(cancelled);
      const again = await errorOf(store.cancel(first.id));
      expect([again.statusCode, again.code]).toEqual([409, 'already_cancelled']);
      expect(again.message).toContain(cancelled.cancelledAt);
      await until(events, 3);
      expect(events).toEqual([`order.created ${first.id} open`, `order.created ${second.id} open`, `order.cancelled ${first.id} cancelled`]);
    });

    it('answers 404 for any id it did not hand out, well-formed or not', async () => {
      const store = await fresh();
      for (const id of ['ord_zzzzzz', 'ord_nope', 'x', 'ord_', `ord_${'z'.repeat(11)}`, "ord_1'; drop table orders; --"]) {
        expect((await errorOf(store.get(id))).statusCode, id).toBe(404);
        expect((await errorOf(store.cancel(id))).statusCode, id).toBe(404);
      }
    });

    it('gives subscribers the whole order, stops telling one that left, and survives one that throws', async () => {
      const store = await fresh();
      const heard: OrderEvent[] = [];
      store.subscribe(() => {
        throw new Error('a broken subscriber');
      });
      const leave = store.subscribe((event) => heard.push(event));
      const order = await store.create({ buyer: 'c', recipient: 'd', items: [{ sku: 'TEA-1', quantity: 2 }] });
      await until(heard, 1);
      expect(heard[0]).toEqual({ type: 'order.created', order });
      leave();
      expect(store.subscriberCount()).toBe(1);
      await store.cancel(order.id);
      // Give a database time to deliver the event nobody should hear.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(heard).toHaveLength(1);
    });

    it('refuses writes once closed, and says so to the readiness check', async () => {
      const store = await fresh();
      await store.close();
      expect(store.isOpen()).toBe(false);
      await expect(store.create({ buyer: 'a', recipient: 'a', items: [{ sku: 'A', quantity: 1 }] })).rejects.toThrow(/closed/);
    });
  });
}

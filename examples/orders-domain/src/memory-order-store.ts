import { OrdersError } from './errors.js';
import { formatOrderId, type Order } from './order.js';
import { publishTo, type OrderEvent, type OrderStore } from './order-store.js';

/** Options of {@link createMemoryOrderStore}. */
export interface MemoryOrderStoreOptions {
  /** The oldest orders are dropped past this many, so a long load test cannot exhaust memory. Default 100000. */
  maxOrders?: number;
  /** Clock, injected so tests control time. Default `Date.now`. */
  now?: () => number;
}

/**
 * An in-memory {@link OrderStore}: the default when no database is
 * configured (unit tests, the deploy demo and benchmarks, which start many
 * instances and need no database). Each process has its own orders: two
 * instances behind one router do not see each other's.
 */
export function createMemoryOrderStore(options: MemoryOrderStoreOptions = {}): OrderStore {
  const maxOrders = options.maxOrders ?? 100_000;
  const now = options.now ?? Date.now;
  if (!Number.isSafeInteger(maxOrders) || maxOrders < 1) throw new TypeError(`maxOrders must be a positive whole number; got ${String(options.maxOrders)}.`);
  // Insertion order is creation order: a Map gives O(1) lookup and cheap eviction of the oldest.
  const orders = new Map<string, Order>();
  const listeners = new Set<(event: OrderEvent) => void>();
  let sequence = 0;
  let open = true;

  const find = (id: string): Order => {
    const order = orders.get(id);
    if (!order) throw new OrdersError(404, 'not_found', `No order with id ${JSON.stringify(id)}.`);
    return order;
  };
  const assertOpen = (): void => {
    if (!open) throw new Error('order store is closed');
  };

  // Methods are async so a synchronous throw (a 404) becomes a rejection, as with the database.
  return {
    kind: 'memory',
    async open() {},
    async create(input) {
      assertOpen();
      sequence += 1;
      const order: Order = {
        id: formatOrderId(sequence),
        buyer: input.buyer,
        recipient: input.recipient,
        items: input.items.map((item) => ({ ...item })),
        status: 'open',
        createdAt: new Date(now()).toISOString(),
      };
      orders.set(order.id, order);
      if (orders.size > maxOrders) {
        const oldest = orders.keys().next().value;
        if (oldest !== undefined) orders.delete(oldest);
      }
      publishTo(listeners, { type: 'order.created', order });
      return order;
    },
    async list({ limit, offset }) {
      const all = [...orders.values()].reverse();
      const page = all.slice(offset, offset + limit);
      const next = offset + page.length;
      return { orders: page, total: all.length, limit, offset, nextOffset: next < all.length ? next : null };
    },
    async get(id) {
      return find(id);
    },
    async cancel(id) {
      assertOpen();
      const order = find(id);
      if (order.status === 'cancelled') {
        throw new OrdersError(409, 'already_cancelled', `Order ${id} was already cancelled at ${order.cancelledAt}.`);
      }
      order.status = 'cancelled';
      order.cancelledAt = new Date(now()).toISOString();
      publishTo(listeners, { type: 'order.cancelled', order });
      return order;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    isOpen: () => open,
    subscriberCount: () => listeners.size,
    async close() {
      open = false;
      listeners.clear();
    },
  };
}

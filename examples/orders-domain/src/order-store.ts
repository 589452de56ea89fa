import { OrdersError } from './errors.js';
import type { NewOrder, Order } from './order.js';
import type { Pagination } from './validate.js';

/** What subscribers of the store hear. */
export interface OrderEvent {
  type: 'order.created' | 'order.cancelled';
  order: Order;
}

/** A page of orders, newest first. */
export interface OrderPage {
  orders: Order[];
  total: number;
  limit: number;
  offset: number;
  /** The offset of the next page, or null on the last one. */
  nextOffset: number | null;
}

/** Options of {@link createOrderStore}. */
export interface OrderStoreOptions {
  /** The oldest orders are dropped past this many, so a long load test cannot exhaust memory. Default 100000. */
  maxOrders?: number;
  /** Clock, injected so tests control time. Default `Date.now`. */
  now?: () => number;
}

/** An in-memory order store, standing in for the database of a real service. */
export interface OrderStore {
  create(order: NewOrder): Order;
  list(page: Pagination): OrderPage;
  /** Throws a 404 OrdersError when there is no such order. */
  get(id: string): Order;
  /** Throws 404 when unknown, 409 when already cancelled. */
  cancel(id: string): Order;
  /** Calls `listener` for every new or cancelled order; returns the unsubscribe function. */
  subscribe(listener: (event: OrderEvent) => void): () => void;
  /** For the readiness check: false once closed. */
  isOpen(): boolean;
  /** How many event subscribers (SSE clients) are connected. */
  subscriberCount(): number;
  /** Closes the store (the shutdown hook); later writes fail. */
  close(): void;
}

/** Creates an empty {@link OrderStore}. */
export function createOrderStore(options: OrderStoreOptions = {}): OrderStore {
  const maxOrders = options.maxOrders ?? 100_000;
  const now = options.now ?? Date.now;
  // Insertion order is creation order: a Map gives O(1) lookup and cheap eviction of the oldest.
  const orders = new Map<string, Order>();
  const listeners = new Set<(event: OrderEvent) => void>();
  let sequence = 0;
  let open = true;

  const publish = (event: OrderEvent): void => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        // One broken subscriber must not fail the request that changed the order.
      }
    }
  };
  const find = (id: string): Order => {
    const order = orders.get(id);
    if (!order) throw new OrdersError(404, 'not_found', `No order with id ${JSON.stringify(id)}.`);
    return order;
  };
  const assertOpen = (): void => {
    if (!open) throw new Error('order store is closed');
  };

  return {
    create(input) {
      assertOpen();
      sequence += 1;
      const order: Order = {
        id: `ord_${sequence.toString(36).padStart(6, '0')}`,
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
      publish({ type: 'order.created', order });
      return order;
    },
    list({ limit, offset }) {
      const all = [...orders.values()].reverse();
      const page = all.slice(offset, offset + limit);
      const next = offset + page.length;
      return { orders: page, total: all.length, limit, offset, nextOffset: next < all.length ? next : null };
    },
    get: find,
    cancel(id) {
      assertOpen();
      const order = find(id);
      if (order.status === 'cancelled') {
        throw new OrdersError(409, 'already_cancelled', `Order ${id} was already cancelled at ${order.cancelledAt}.`);
      }
      order.status = 'cancelled';
      order.cancelledAt = new Date(now()).toISOString();
      publish({ type: 'order.cancelled', order });
      return order;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    isOpen: () => open,
    subscriberCount: () => listeners.size,
    close() {
      open = false;
      listeners.clear();
    },
  };
}

import type { Order, NewOrder } from './order.js';
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

/**
 * Where the service keeps its orders. Two implementations: in memory
 * ({@link createMemoryOrderStore}, one process, the default) and PostgreSQL
 * ({@link createPostgresOrderStore}, shared by every instance of every
 * release, when `DATABASE_URL` is set). Asynchronous throughout, because the
 * real one is a database: the in-memory one answers in the same shape so the
 * apps and the tests do not care which they get.
 */
export interface OrderStore {
  /** `memory` or `postgres`, for logs and the readiness report. */
  readonly kind: 'memory' | 'postgres';
  /**
   * Gets the store ready to serve: for PostgreSQL, applies the migrations
   * and starts listening for other instances' events. The service's startup
   * work: readiness fails until it is done.
   */
  open(): Promise<void>;
  create(order: NewOrder): Promise<Order>;
  list(page: Pagination): Promise<OrderPage>;
  /** Rejects with a 404 OrdersError when there is no such order. */
  get(id: string): Promise<Order>;
  /** Rejects with 404 when unknown, 409 when already cancelled. */
  cancel(id: string): Promise<Order>;
  /**
   * Calls `listener` for every new or cancelled order — with PostgreSQL, made
   * by any instance sharing the database — and returns the unsubscribe function.
   */
  subscribe(listener: (event: OrderEvent) => void): () => void;
  /** For the readiness check: true once open and until closed. */
  isOpen(): boolean;
  /** How many event subscribers (SSE clients) are connected. */
  subscriberCount(): number;
  /** Closes the store (the shutdown hook, after the drain); later writes fail. */
  close(): Promise<void>;
}

/** Calls every listener; one that throws must not fail the request that changed the order, nor the other listeners. */
export function publishTo(listeners: Iterable<(event: OrderEvent) => void>, event: OrderEvent): void {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch {
      // Ignored on purpose: see above.
    }
  }
}

/** One line of an order. */
export interface OrderItem {
  sku: string;
  quantity: number;
}

/** `open` until cancelled; a cancelled order stays listed so clients can see what happened. */
export type OrderStatus = 'open' | 'cancelled';

/**
 * An order as the API returns it, in the newest API version. (Clients of
 * older versions see it through `api-versions.ts`; nothing else knows their
 * shape.)
 */
export interface Order {
  id: string;
  /** The customer who placed the order and pays for it: whose account it is on. */
  buyer: string;
  /** The customer who receives it: the buyer, or someone else for a gift. */
  recipient: string;
  items: OrderItem[];
  status: OrderStatus;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601, once cancelled. */
  cancelledAt?: string;
}

/** What a client sends to create an order, once validated. */
export interface NewOrder {
  buyer: string;
  recipient: string;
  items: OrderItem[];
}

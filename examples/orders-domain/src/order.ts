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

/** Order ids are `ord_` and a sequence number in base 36, padded to six digits: short, and sortable within one length. */
export function formatOrderId(sequence: number): string {
  return `ord_${sequence.toString(36).padStart(6, '0')}`;
}

/** The sequence number of an order id, or undefined when `id` is not one (any such id is simply unknown: a 404). */
export function parseOrderId(id: string): number | undefined {
  // Ten base-36 digits stay below 2^53: the number is exact.
  if (!/^ord_[0-9a-z]{1,10}$/.test(id)) return undefined;
  return Number.parseInt(id.slice(4), 36);
}

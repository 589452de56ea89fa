/** One line of an order. */
export interface OrderItem {
  sku: string;
  quantity: number;
}

/** `open` until cancelled; a cancelled order stays listed so clients can see what happened. */
export type OrderStatus = 'open' | 'cancelled';

/** An order as the API returns it. */
export interface Order {
  id: string;
  customer: string;
  items: OrderItem[];
  status: OrderStatus;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601, once cancelled. */
  cancelledAt?: string;
}

/** What a client sends to create an order, once validated. */
export interface NewOrder {
  customer: string;
  items: OrderItem[];
}

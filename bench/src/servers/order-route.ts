/** The one route every variant serves, so only the surroundings differ. */
export const ORDER_ROUTE = '/orders/:id';

/** The path the load generator requests. */
export const ORDER_PATH = '/orders/42';

/** A small JSON body, the size of a typical API answer. */
export interface OrderBody {
  id: string;
  status: 'paid';
  currency: 'EUR';
  total: number;
  items: number;
}

/** Builds the body for an order id; same work in every variant. */
export function orderBody(id: string): OrderBody {
  return { id, status: 'paid', currency: 'EUR', total: 42.5, items: 3 };
}

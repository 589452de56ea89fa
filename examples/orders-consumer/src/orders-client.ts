/**
 * A client of the example orders API, as a consumer team would write it:
 * it pins the API version it was written against (so the service can ship
 * breaking changes without breaking it) and reads the service's problem
 * answers into errors that say what went wrong.
 *
 * Two consumers use it in the contract tests: the web shop on the newest
 * version (`buyer` and `recipient`) and a mobile app still pinned to the
 * oldest (`customer`).
 */

/** An order in the version a client pins: the newest splits `customer` into `buyer` and `recipient`. */
export interface OrderV2026 {
  id: string;
  buyer: string;
  recipient: string;
  items: { sku: string; quantity: number }[];
  status: 'open' | 'cancelled';
  createdAt: string;
}

/** An order as clients pinned to 2025-01-15 see it. */
export interface OrderV2025 {
  id: string;
  customer: string;
  items: { sku: string; quantity: number }[];
  status: 'open' | 'cancelled';
  createdAt: string;
}

/** The versions a client can pin, and the order shape each one gets. */
export interface OrdersApiShapes {
  '2025-01-15': { order: OrderV2025; draft: Pick<OrderV2025, 'customer' | 'items'> };
  '2026-11-16': { order: OrderV2026; draft: Pick<OrderV2026, 'buyer' | 'recipient' | 'items'> };
}

export interface OrdersClientOptions<V extends keyof OrdersApiShapes> {
  /** Where the service is, e.g. `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** The API version this client is written against, sent as `Api-Version` on every request. */
  apiVersion: V;
}

export interface OrdersClient<V extends keyof OrdersApiShapes> {
  getOrder(id: string): Promise<OrdersApiShapes[V]['order']>;
  createOrder(draft: OrdersApiShapes[V]['draft']): Promise<OrdersApiShapes[V]['order']>;
}

/** What a request the service refused came to: its status and the problem's title and detail. */
export class OrdersApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`orders API answered ${status}: ${describe(body)}`);
    this.name = 'OrdersApiError';
  }
}

/** A client of the orders API pinned to one version. */
export function createOrdersClient<V extends keyof OrdersApiShapes>(options: OrdersClientOptions<V>): OrdersClient<V> {
  const base = new URL(options.baseUrl);
  const headers = { accept: 'application/json', 'api-version': options.apiVersion };

  const call = async <T>(path: string, init: { method: string; body?: unknown }): Promise<T> => {
    const response = await fetch(new URL(path, base), {
      method: init.method,
      headers: init.body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    const text = await response.text();
    const body: unknown = text === '' ? undefined : JSON.parse(text);
    if (!response.ok) throw new OrdersApiError(response.status, body);
    return body as T;
  };

  return {
    getOrder: (id) => call(`/orders/${encodeURIComponent(id)}`, { method: 'GET' }),
    createOrder: (draft) => call('/orders', { method: 'POST', body: draft }),
  };
}

function describe(body: unknown): string {
  if (body !== null && typeof body === 'object') {
    // Baton's problems (RFC 9457: title, detail) and the service's own errors (error, message).
    const { title, detail, error, message } = body as Record<string, unknown>;
    const parts = [title, detail, error, message].filter((part): part is string => typeof part === 'string');
    if (parts.length > 0) return parts.join(': ');
  }
  return JSON.stringify(body) ?? 'no body';
}

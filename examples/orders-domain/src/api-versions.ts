// The orders API's versions, and the one place that still knows the shapes of
// older ones. The store, the validation and both apps speak the newest
// version only; the changes below move old clients' requests up to it and
// its responses, errors and events down to theirs.
import {
  createVersioning,
  defineVersions,
  migratePayload,
  versionChange,
  type Versioning,
  type VersioningOptions,
  type VersionRetirement,
} from '@baton/versioning';
import { invalidInputMessage, type ErrorBody, type Issue } from './errors.js';
import type { Order } from './order.js';
import type { OrderEvent, OrderPage } from './order-store.js';

/** The versions of the orders API, oldest first. */
export type OrdersApiVersion = '2025-01-15' | '2026-11-16';

/**
 * `2025-01-15`: the first version, an order has one `customer`.
 * `2026-11-16`: `customer` is split into `buyer` and `recipient` (gift orders).
 *
 * A request that names no version gets the oldest: a client written before
 * versions existed keeps the API it was written against.
 */
export const ordersApiVersions = defineVersions<OrdersApiVersion>({ versions: ['2025-01-15', '2026-11-16'], default: 'oldest' });

/** An order as clients of 2025-01-15 see it: one `customer` where the newest version has `buyer` and `recipient`. */
export type OrderBefore2026 = Omit<Order, 'buyer' | 'recipient'> & { customer: string };

/** A page of orders as clients of 2025-01-15 see it. */
export type OrderPageBefore2026 = Omit<OrderPage, 'orders'> & { orders: OrderBefore2026[] };

const OLD_BODY_EXAMPLE = 'expected a JSON object like {"customer":"c-1","items":[{"sku":"TEA-1","quantity":2}]}';

/**
 * An old client's create-order body in the newest shape: its `customer` both
 * places and receives the order, as it did before gifts existed. The body is
 * client input, not validated yet (validation runs on the result), so any
 * JSON is taken: what is not an object passes as it is and fails validation
 * as before. A `buyer` or `recipient` an old client sends was ignored in its
 * version, and still is.
 */
function upgradeNewOrder(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const upgraded: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (key === 'customer') {
      upgraded.buyer = value;
      upgraded.recipient = value;
    } else if (key !== 'buyer' && key !== 'recipient') {
      upgraded[key] = value;
    }
  }
  return upgraded;
}

/**
 * An order in the old shape: the buyer is the customer (the account the order
 * is on, what `customer` always meant). Keys stay in their place, and fields
 * the change does not touch (a `summary`, say) pass through.
 */
function downgradeOrder<T extends Pick<Order, 'buyer' | 'recipient'>>(order: T): Omit<T, 'buyer' | 'recipient'> & { customer: string } {
  const old: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(order)) {
    if (key === 'buyer') old.customer = value;
    else if (key !== 'recipient') old[key] = value;
  }
  return old as Omit<T, 'buyer' | 'recipient'> & { customer: string };
}

/**
 * A validation error in the old client's terms: issues on `buyer` or
 * `recipient` name `customer` (once: an upgraded request has the same value
 * in both), the example of a valid body is the old one, and the message is
 * rebuilt from the issues. Other errors have nothing of the change in them.
 */
function downgradeError(body: unknown): unknown {
  if (!isInvalidInput(body)) return body;
  const seen = new Set<string>();
  const issues: Issue[] = [];
  for (const issue of body.issues) {
    const path = issue.path === 'buyer' || issue.path === 'recipient' ? 'customer' : issue.path;
    const message = issue.path === 'body' ? OLD_BODY_EXAMPLE : issue.message;
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ path, message });
  }
  return { ...body, message: invalidInputMessage(issues), issues } satisfies ErrorBody;
}

function isInvalidInput(body: unknown): body is ErrorBody & { issues: Issue[] } {
  return typeof body === 'object' && body !== null && (body as ErrorBody).error === 'invalid_input' && Array.isArray((body as ErrorBody).issues);
}

/** `customer` split into `buyer` and `recipient`, on every route and event that carries one order. */
const splitCustomer = versionChange<OrderBefore2026, Order>({
  version: '2026-11-16',
  description:
    '`customer` is split into `buyer` (who places and pays for the order) and `recipient` (who receives it), so an order can be a gift. ' +
    'Older versions send `customer` for both and read `buyer` as `customer`; their validation errors name `customer`.',
  routes: ['POST /orders', 'GET /orders/:id', 'POST /orders/:id/cancel', 'EVENT order.created', 'EVENT order.cancelled'],
  request: { upgrade: upgradeNewOrder },
  response: { downgrade: downgradeOrder },
  error: { downgrade: downgradeError },
});

/** The same split in lists of orders. */
const splitCustomerInLists = versionChange<OrderPageBefore2026, OrderPage>({
  version: '2026-11-16',
  description: 'Orders in lists have `buyer` and `recipient` in place of `customer` too.',
  routes: ['GET /orders'],
  response: { downgrade: (page) => ({ ...page, orders: page.orders.map(downgradeOrder) }) },
});

/** Versions on their way out. The first is deprecated since the split; no sunset is set, so it is served until one is. */
export const ordersApiRetirements: Partial<Record<OrdersApiVersion, VersionRetirement>> = {
  '2025-01-15': { deprecatedAt: '2026-11-16' },
};

/**
 * Everything the orders API's versioning is made of: what
 * {@link createOrdersVersioning} builds, and what `baton-api-changelog`
 * reads for `API-CHANGELOG.md` (with the retirements, so deprecations show).
 * The version comes from the `Api-Version` header, or `?api_version=` for
 * clients that cannot set headers (a browser's `EventSource`).
 */
export const ordersVersioningOptions = {
  versions: ordersApiVersions,
  changes: [splitCustomer, splitCustomerInLists],
  retirements: ordersApiRetirements,
  negotiation: { query: 'api_version' },
} satisfies VersioningOptions<OrdersApiVersion, never>;

/**
 * The orders API's versioning, for the adapters' `versioning` option: one per
 * app (it counts requests per version for the metrics).
 */
export function createOrdersVersioning(): Versioning<OrdersApiVersion> {
  return createVersioning<OrdersApiVersion>(ordersVersioningOptions);
}

/**
 * The data of an order event (SSE) in a subscriber's version: the event
 * stream is not a JSON response the adapters downgrade, so each event goes
 * down through the same changes (`EVENT order.created`, ...). An unknown or
 * empty version (no versioning) leaves the event as it is.
 */
export function orderEventData(versioning: Versioning<OrdersApiVersion>, event: OrderEvent, version: string): unknown {
  if (!versioning.versions.has(version)) return event.order;
  return migratePayload(versioning.chain, event.order, { route: `EVENT ${event.type}`, from: versioning.versions.latest, to: version });
}

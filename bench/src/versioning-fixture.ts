// The API-versioning benchmark's API: six date versions of an orders API and
// the five version changes between them, each touching both benchmarked
// routes (`GET /orders/:id`, `POST /orders`) with the kind of transform real
// APIs need (a field dropped by older versions, a rename inside an array, a
// string split into parts, a change of unit, values nested into objects).
// The handlers are written for the newest version only and are the same code
// in every app, versioned or not (versioning-apps.ts); only Baton moves
// bodies between versions.
//
// The expected bodies of the oldest version are written out by hand, not
// computed through the changes: the benchmark checks every app against them
// before it times anything, so it cannot time a broken path.
import { createVersioning, defineVersions, versionChange, type Versioning } from '@baton/versioning';

/** Oldest first; a client five versions behind sends the first. */
export const VERSION_LIST = ['2023-01-15', '2023-06-01', '2023-11-01', '2024-04-01', '2024-09-01', '2025-03-01'] as const;
export type ApiVersion = (typeof VERSION_LIST)[number];
export const OLDEST: ApiVersion = VERSION_LIST[0];
export const LATEST: ApiVersion = VERSION_LIST[VERSION_LIST.length - 1] as ApiVersion;

export const GET_ROUTE = '/orders/:id';
export const POST_ROUTE = '/orders';
export const ORDER_ID = 'ord_42';
/** The id the POST handler gives the order it creates (a database would pick one). */
export const CREATED_ID = 'ord_1001';

// ---- Shapes, newest first ---------------------------------------------------

interface Money {
  /** Minor units (cents). */
  amount: number;
  currency: string;
}
interface Address {
  line1: string;
  line2: string;
  city: string;
  postalCode: string;
  country: string;
}
interface Shipping {
  method: 'standard' | 'express';
  address: Address;
}

// 2025-03-01 (latest): amounts are money objects.
interface Item6 { sku: string; name: string; quantity: number; unitPrice: Money; taxRate: number }
interface Customer6 { id: string; name: { given: string; family: string }; email: string }
interface Order6 {
  id: string;
  object: 'order';
  status: 'paid';
  createdAt: string;
  customer: Customer6;
  shipping: Shipping;
  items: Item6[];
  totals: { subtotal: Money; tax: Money; shipping: Money; total: Money };
  metadata: Record<string, string>;
}
interface Draft6 { customer: Customer6; shipping: Shipping; items: Item6[]; metadata: Record<string, string> }

// 2024-09-01: amounts are integers in minor units, the currency is the order's.
interface Item5 { sku: string; name: string; quantity: number; unitPrice: number; taxRate: number }
type Totals5 = { subtotal: number; tax: number; shipping: number; total: number };
type Order5 = Omit<Order6, 'items' | 'totals'> & { currency: string; items: Item5[]; totals: Totals5 };
type Draft5 = Omit<Draft6, 'items'> & { currency: string; items: Item5[] };

// 2024-04-01: amounts are decimals in the currency's main unit (12.99).
type Order4 = Order5;
type Draft4 = Draft5;

// 2023-11-01: the customer's name is one string.
interface Customer3 { id: string; name: string; email: string }
type Order3 = Omit<Order4, 'customer'> & { customer: Customer3 };
type Draft3 = Omit<Draft4, 'customer'> & { customer: Customer3 };

// 2023-06-01: the items are `lineItems`, their quantity `qty`.
interface Item2 { sku: string; name: string; qty: number; unitPrice: number; taxRate: number }
type Order2 = Omit<Order3, 'items'> & { lineItems: Item2[] };
type Draft2 = Omit<Draft3, 'items'> & { lineItems: Item2[] };

// 2023-01-15 (oldest): no metadata.
type Order1 = Omit<Order2, 'metadata'>;
type Draft1 = Omit<Draft2, 'metadata'>;

// ---- The five changes, oldest first -----------------------------------------

const ROUTES = [`GET ${GET_ROUTE}`, `POST ${POST_ROUTE}`];

const metadataAdded = versionChange<Order1, Order2, Draft1, Draft2>({
  version: '2023-06-01',
  description: 'Orders carry `metadata` (string pairs the client chooses).',
  routes: ROUTES,
  request: { upgrade: (draft) => ({ ...draft, metadata: {} }) },
  response: { downgrade: ({ metadata: _dropped, ...order }) => order },
});

const itemsRenamed = versionChange<Order2, Order3, Draft2, Draft3>({
  version: '2023-11-01',
  description: '`lineItems` is renamed `items`, and each item\'s `qty` is `quantity`.',
  routes: ROUTES,
  request: { upgrade: ({ lineItems, ...draft }) => ({ ...draft, items: lineItems.map(({ qty, ...item }) => ({ ...item, quantity: qty })) }) },
  response: { downgrade: ({ items, ...order }) => ({ ...order, lineItems: items.map(({ quantity, ...item }) => ({ ...item, qty: quantity })) }) },
});

const nameSplit = versionChange<Order3, Order4, Draft3, Draft4>({
  version: '2024-04-01',
  description: '`customer.name` is split into `given` and `family`.',
  routes: ROUTES,
  request: { upgrade: (draft) => ({ ...draft, customer: { ...draft.customer, name: splitName(draft.customer.name) } }) },
  response: { downgrade: (order) => ({ ...order, customer: { ...order.customer, name: `${order.customer.name.given} ${order.customer.name.family}` } }) },
});

const minorUnits = versionChange<Order4, Order5, Draft4, Draft5>({
  version: '2024-09-01',
  description: 'Amounts are integers in minor units (1299, not 12.99).',
  routes: ROUTES,
  request: { upgrade: (draft) => ({ ...draft, items: draft.items.map((item) => ({ ...item, unitPrice: Math.round(item.unitPrice * 100) })) }) },
  response: {
    downgrade: (order) => ({
      ...order,
      items: order.items.map((item) => ({ ...item, unitPrice: item.unitPrice / 100 })),
      totals: { subtotal: order.totals.subtotal / 100, tax: order.totals.tax / 100, shipping: order.totals.shipping / 100, total: order.totals.total / 100 },
    }),
  },
});

const moneyObjects = versionChange<Order5, Order6, Draft5, Draft6>({
  version: '2025-03-01',
  description: 'Amounts are money objects `{ amount, currency }`; the order-level `currency` is gone.',
  routes: ROUTES,
  request: {
    upgrade: ({ currency, ...draft }) => ({ ...draft, items: draft.items.map((item) => ({ ...item, unitPrice: { amount: item.unitPrice, currency } })) }),
  },
  response: {
    downgrade: (order) => ({
      ...order,
      currency: order.totals.total.currency,
      items: order.items.map((item) => ({ ...item, unitPrice: item.unitPrice.amount })),
      totals: { subtotal: order.totals.subtotal.amount, tax: order.totals.tax.amount, shipping: order.totals.shipping.amount, total: order.totals.total.amount },
    }),
  },
});

/** The five changes (the chain orders them by version itself). */
export const CHANGES = [metadataAdded, itemsRenamed, nameSplit, minorUnits, moneyObjects] as const;

function splitName(name: string): { given: string; family: string } {
  const space = name.lastIndexOf(' ');
  return space < 0 ? { given: name, family: '' } : { given: name.slice(0, space), family: name.slice(space + 1) };
}

/**
 * The benchmark's versioning, as a service would set it up: the six
 * versions, the five changes, the `Api-Version` header, and the oldest
 * version deprecated with a sunset far ahead (so a five-behind client also
 * gets its `Deprecation`, `Sunset` and `Link` headers, as it would in life).
 * A fresh one per app: each keeps its own usage counts.
 */
export function createBenchVersioning(): Versioning<ApiVersion> {
  return createVersioning({
    versions: defineVersions({ versions: VERSION_LIST }),
    changes: CHANGES,
    retirements: { '2023-01-15': { deprecatedAt: '2024-09-01', sunsetAt: '2030-01-01', link: 'https://example.com/api/upgrade' } },
  });
}

// ---- The handlers (newest shapes only; same code in every app) -------------

/** The stored order the GET route reads (a database row, so to speak). */
const STORED: Draft6 = {
  customer: { id: 'cus_7Hq2', name: { given: 'Ada', family: 'Lovelace' }, email: 'ada.lovelace@example.com' },
  shipping: { method: 'express', address: { line1: '12 St James\'s Square', line2: 'Flat 3', city: 'London', postalCode: 'SW1Y 4JH', country: 'GB' } },
  items: [
    { sku: 'BK-1042', name: 'The Analytical Engine: A History', quantity: 1, unitPrice: { amount: 2450, currency: 'EUR' }, taxRate: 0.1 },
    { sku: 'PN-2210', name: 'Fountain pen, fine nib, midnight blue', quantity: 2, unitPrice: { amount: 1899, currency: 'EUR' }, taxRate: 0.2 },
    { sku: 'NB-0007', name: 'Dotted notebook A5, 192 pages', quantity: 3, unitPrice: { amount: 1250, currency: 'EUR' }, taxRate: 0.2 },
    { sku: 'IN-5531', name: 'Ink cartridges, pack of 12', quantity: 1, unitPrice: { amount: 699, currency: 'EUR' }, taxRate: 0.2 },
    { sku: 'BM-0302', name: 'Brass bookmark, engraved', quantity: 2, unitPrice: { amount: 875, currency: 'EUR' }, taxRate: 0.2 },
  ],
  metadata: { channel: 'web', campaign: 'spring-stationery', referrer: 'newsletter-2025-03' },
};

const SHIPPING_FEES: Record<Shipping['method'], number> = { standard: 490, express: 990 };

/** Builds an order (newest shape) from a draft: copies it into a fresh object and computes the totals. */
function buildOrder(id: string, draft: Draft6): Order6 {
  const currency = draft.items[0]?.unitPrice.currency ?? 'EUR';
  let subtotal = 0;
  let tax = 0;
  const items = draft.items.map((item) => {
    const line = item.quantity * item.unitPrice.amount;
    subtotal += line;
    tax += Math.round(line * item.taxRate);
    return { sku: item.sku, name: item.name, quantity: item.quantity, unitPrice: { amount: item.unitPrice.amount, currency: item.unitPrice.currency }, taxRate: item.taxRate };
  });
  const shipping = SHIPPING_FEES[draft.shipping.method];
  const money = (amount: number): Money => ({ amount, currency });
  return {
    id,
    object: 'order',
    status: 'paid',
    createdAt: '2025-03-14T09:26:53.000Z',
    customer: { id: draft.customer.id, name: { given: draft.customer.name.given, family: draft.customer.name.family }, email: draft.customer.email },
    shipping: { method: draft.shipping.method, address: { ...draft.shipping.address } },
    items,
    totals: { subtotal: money(subtotal), tax: money(tax), shipping: money(shipping), total: money(subtotal + tax + shipping) },
    metadata: { ...draft.metadata },
  };
}

/** `GET /orders/:id`: the stored order under the requested id. */
export function getOrder(id: string): Order6 {
  return buildOrder(id, STORED);
}

/**
 * `POST /orders`: a draft of the newest shape becomes an order, or the
 * handler answers 400. The check is what a handler does with input anyway,
 * and here it also proves an old client's body reached it upgraded.
 */
export function createOrder(body: unknown): { status: 201; body: Order6 } | { status: 400; body: { error: string; detail: string } } {
  const problem = draftProblem(body);
  if (problem !== undefined) return { status: 400, body: { error: 'invalid_order', detail: problem } };
  return { status: 201, body: buildOrder(CREATED_ID, body as Draft6) };
}

function draftProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return 'the body must be a JSON object';
  const draft = body as Partial<Record<keyof Draft6, unknown>> & { currency?: unknown };
  if ('currency' in draft) return '`currency` is not a field of an order; amounts carry their currency';
  const customer = draft.customer as Partial<Customer6> | undefined;
  if (typeof customer?.id !== 'string' || typeof customer.email !== 'string') return '`customer` needs `id` and `email`';
  if (typeof customer.name !== 'object' || typeof customer.name?.given !== 'string' || typeof customer.name.family !== 'string') return '`customer.name` needs `given` and `family`';
  const shipping = draft.shipping as Partial<Shipping> | undefined;
  if (shipping?.method === undefined || !(shipping.method in SHIPPING_FEES) || typeof shipping.address !== 'object') return '`shipping` needs `method` (standard or express) and `address`';
  if (!Array.isArray(draft.items) || draft.items.length === 0) return '`items` must be a non-empty list';
  for (const [at, item] of (draft.items as Partial<Item6>[]).entries()) {
    if (typeof item.sku !== 'string' || !Number.isInteger(item.quantity) || (item.quantity as number) < 1) return `items[${at}] needs \`sku\` and a positive integer \`quantity\``;
    if (typeof item.unitPrice !== 'object' || !Number.isInteger(item.unitPrice?.amount) || typeof item.unitPrice?.currency !== 'string') return `items[${at}].unitPrice must be { amount (minor units), currency }`;
    if (typeof item.taxRate !== 'number') return `items[${at}].taxRate must be a number`;
  }
  if (typeof draft.metadata !== 'object' || draft.metadata === null) return '`metadata` must be an object';
  return undefined;
}

// ---- What the clients send and must get back -------------------------------

/** The POST body a client on the latest version sends (the stored order's contents). */
export const DRAFT_LATEST: Draft6 = structuredClone(STORED);

/** The same order as a client on the oldest version (2023-01-15) writes it, by hand. */
export const DRAFT_OLDEST: Draft1 = {
  currency: 'EUR',
  customer: { id: 'cus_7Hq2', name: 'Ada Lovelace', email: 'ada.lovelace@example.com' },
  shipping: { method: 'express', address: { line1: '12 St James\'s Square', line2: 'Flat 3', city: 'London', postalCode: 'SW1Y 4JH', country: 'GB' } },
  lineItems: [
    { sku: 'BK-1042', name: 'The Analytical Engine: A History', qty: 1, unitPrice: 24.5, taxRate: 0.1 },
    { sku: 'PN-2210', name: 'Fountain pen, fine nib, midnight blue', qty: 2, unitPrice: 18.99, taxRate: 0.2 },
    { sku: 'NB-0007', name: 'Dotted notebook A5, 192 pages', qty: 3, unitPrice: 12.5, taxRate: 0.2 },
    { sku: 'IN-5531', name: 'Ink cartridges, pack of 12', qty: 1, unitPrice: 6.99, taxRate: 0.2 },
    { sku: 'BM-0302', name: 'Brass bookmark, engraved', qty: 2, unitPrice: 8.75, taxRate: 0.2 },
  ],
};

/**
 * `GET /orders/ord_42` in the newest shape, written out: subtotal 124.47
 * (24.50 + 2 × 18.99 + 3 × 12.50 + 6.99 + 2 × 8.75), tax 22.45 (2.45 + 7.60
 * + 7.50 + 1.40 + 3.50), express shipping 9.90, total 156.82.
 */
export const EXPECTED_LATEST: Order6 = {
  id: ORDER_ID,
  object: 'order',
  status: 'paid',
  createdAt: '2025-03-14T09:26:53.000Z',
  customer: { id: 'cus_7Hq2', name: { given: 'Ada', family: 'Lovelace' }, email: 'ada.lovelace@example.com' },
  shipping: { method: 'express', address: { line1: '12 St James\'s Square', line2: 'Flat 3', city: 'London', postalCode: 'SW1Y 4JH', country: 'GB' } },
  items: [
    { sku: 'BK-1042', name: 'The Analytical Engine: A History', quantity: 1, unitPrice: { amount: 2450, currency: 'EUR' }, taxRate: 0.1 },
    { sku: 'PN-2210', name: 'Fountain pen, fine nib, midnight blue', quantity: 2, unitPrice: { amount: 1899, currency: 'EUR' }, taxRate: 0.2 },
    { sku: 'NB-0007', name: 'Dotted notebook A5, 192 pages', quantity: 3, unitPrice: { amount: 1250, currency: 'EUR' }, taxRate: 0.2 },
    { sku: 'IN-5531', name: 'Ink cartridges, pack of 12', quantity: 1, unitPrice: { amount: 699, currency: 'EUR' }, taxRate: 0.2 },
    { sku: 'BM-0302', name: 'Brass bookmark, engraved', quantity: 2, unitPrice: { amount: 875, currency: 'EUR' }, taxRate: 0.2 },
  ],
  totals: { subtotal: { amount: 12447, currency: 'EUR' }, tax: { amount: 2245, currency: 'EUR' }, shipping: { amount: 990, currency: 'EUR' }, total: { amount: 15682, currency: 'EUR' } },
  metadata: { channel: 'web', campaign: 'spring-stationery', referrer: 'newsletter-2025-03' },
};

/** The same order as the oldest version (2023-01-15) shows it, written out. */
export const EXPECTED_OLDEST: Order1 = {
  id: ORDER_ID,
  object: 'order',
  status: 'paid',
  createdAt: '2025-03-14T09:26:53.000Z',
  currency: 'EUR',
  customer: { id: 'cus_7Hq2', name: 'Ada Lovelace', email: 'ada.lovelace@example.com' },
  shipping: { method: 'express', address: { line1: '12 St James\'s Square', line2: 'Flat 3', city: 'London', postalCode: 'SW1Y 4JH', country: 'GB' } },
  lineItems: [
    { sku: 'BK-1042', name: 'The Analytical Engine: A History', qty: 1, unitPrice: 24.5, taxRate: 0.1 },
    { sku: 'PN-2210', name: 'Fountain pen, fine nib, midnight blue', qty: 2, unitPrice: 18.99, taxRate: 0.2 },
    { sku: 'NB-0007', name: 'Dotted notebook A5, 192 pages', qty: 3, unitPrice: 12.5, taxRate: 0.2 },
    { sku: 'IN-5531', name: 'Ink cartridges, pack of 12', qty: 1, unitPrice: 6.99, taxRate: 0.2 },
    { sku: 'BM-0302', name: 'Brass bookmark, engraved', qty: 2, unitPrice: 8.75, taxRate: 0.2 },
  ],
  totals: { subtotal: 124.47, tax: 22.45, shipping: 9.9, total: 156.82 },
};

/** Who sends the request: a client that names no version to a bare app, or one on the latest or the oldest version. */
export type Client = 'none' | 'latest' | 'oldest';

/** One benchmarked request as the load generator sends it, and what must come back. */
export interface BenchRequest {
  route: 'GET' | 'POST';
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
  status: number;
  expected: unknown;
  /** The version the response must echo in `Api-Version` (none from a bare app). */
  echoes?: ApiVersion;
}

/** The request `client` sends on `route`, with the response it must get. */
export function benchRequest(route: 'GET' | 'POST', client: Client): BenchRequest {
  const version = client === 'latest' ? LATEST : client === 'oldest' ? OLDEST : undefined;
  const headers: Record<string, string> = version === undefined ? {} : { 'api-version': version };
  const echoes = version === undefined ? {} : { echoes: version };
  if (route === 'GET') {
    return { route, method: 'GET', path: `/orders/${ORDER_ID}`, headers, status: 200, expected: client === 'oldest' ? EXPECTED_OLDEST : EXPECTED_LATEST, ...echoes };
  }
  const draft = client === 'oldest' ? DRAFT_OLDEST : DRAFT_LATEST;
  const expected = client === 'oldest' ? { ...EXPECTED_OLDEST, id: CREATED_ID } : { ...EXPECTED_LATEST, id: CREATED_ID };
  return {
    route,
    method: 'POST',
    path: POST_ROUTE,
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(draft),
    status: 201,
    expected,
    ...echoes,
  };
}

/** Sizes in bytes of the JSON bodies, for the report. */
export function bodySizes(): { responseLatest: number; responseOldest: number; requestLatest: number; requestOldest: number } {
  const size = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));
  return { responseLatest: size(EXPECTED_LATEST), responseOldest: size(EXPECTED_OLDEST), requestLatest: size(DRAFT_LATEST), requestOldest: size(DRAFT_OLDEST) };
}

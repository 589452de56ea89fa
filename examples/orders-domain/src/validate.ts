import { invalidInput, type Issue } from './errors.js';
import type { NewOrder, OrderItem } from './order.js';

/** Limits of the API, stated once so error messages and validation agree. */
export const LIMITS = {
  maxItems: 50,
  maxQuantity: 1000,
  /** Of a customer id (`buyer`, `recipient`). */
  maxCustomerLength: 100,
  skuPattern: /^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/,
  defaultPageSize: 20,
  maxPageSize: 100,
  defaultSlowMs: 1000,
  maxSlowMs: 10_000,
} as const;

/**
 * Validates a create-order body. Throws a 400 OrdersError listing every
 * problem at once (not only the first), so a client fixes its request in one go.
 *
 * @example
 * parseNewOrder({ buyer: 'c-1', recipient: 'c-2', items: [{ sku: 'TEA-1', quantity: 2 }] });
 */
export function parseNewOrder(body: unknown): NewOrder {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidInput([{ path: 'body', message: 'expected a JSON object like {"buyer":"c-1","recipient":"c-1","items":[{"sku":"TEA-1","quantity":2}]}' }]);
  }
  const input = body as Record<string, unknown>;
  const issues: Issue[] = [];
  const buyer = parseCustomerId(input.buyer, 'buyer', issues);
  const recipient = parseCustomerId(input.recipient, 'recipient', issues);
  const items: OrderItem[] = [];
  if (!Array.isArray(input.items) || input.items.length === 0) {
    issues.push({ path: 'items', message: 'required: a non-empty array of {sku, quantity}' });
  } else if (input.items.length > LIMITS.maxItems) {
    issues.push({ path: 'items', message: `at most ${LIMITS.maxItems} items` });
  } else {
    input.items.forEach((raw: unknown, index) => {
      const item = parseItem(raw, `items[${index}]`, issues);
      if (item) items.push(item);
    });
  }
  if (issues.length > 0) throw invalidInput(issues);
  return { buyer: buyer as string, recipient: recipient as string, items };
}

function parseCustomerId(raw: unknown, path: string, issues: Issue[]): string | undefined {
  if (typeof raw !== 'string' || raw.trim() === '') {
    issues.push({ path, message: 'required: a non-empty string' });
    return undefined;
  }
  if (raw.length > LIMITS.maxCustomerLength) {
    issues.push({ path, message: `at most ${LIMITS.maxCustomerLength} characters` });
    return undefined;
  }
  return raw.trim();
}

function parseItem(raw: unknown, path: string, issues: Issue[]): OrderItem | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    issues.push({ path, message: 'expected an object {sku, quantity}' });
    return undefined;
  }
  const { sku, quantity } = raw as Record<string, unknown>;
  let ok = true;
  if (typeof sku !== 'string' || !LIMITS.skuPattern.test(sku)) {
    issues.push({ path: `${path}.sku`, message: 'required: 1-32 letters, digits or dashes, e.g. "TEA-1"' });
    ok = false;
  }
  if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1 || quantity > LIMITS.maxQuantity) {
    issues.push({ path: `${path}.quantity`, message: `required: an integer from 1 to ${LIMITS.maxQuantity}` });
    ok = false;
  }
  return ok ? { sku: sku as string, quantity: quantity as number } : undefined;
}

/** A page of a list. */
export interface Pagination {
  limit: number;
  offset: number;
}

/** Reads `?limit=&offset=` (strings or string arrays, as frameworks parse them). Throws a 400 on bad values. */
export function parsePagination(query: Record<string, unknown>): Pagination {
  const issues: Issue[] = [];
  const limit = readInteger(query.limit, 'limit', LIMITS.defaultPageSize, 1, LIMITS.maxPageSize, issues);
  const offset = readInteger(query.offset, 'offset', 0, 0, Number.MAX_SAFE_INTEGER, issues);
  if (issues.length > 0) throw invalidInput(issues);
  return { limit, offset };
}

/** Reads `?ms=` of the slow endpoint: default 1 s, capped so a request can never outlive a drain. */
export function parseSlowMs(query: Record<string, unknown>): number {
  const issues: Issue[] = [];
  const ms = readInteger(query.ms, 'ms', LIMITS.defaultSlowMs, 0, Number.MAX_SAFE_INTEGER, issues);
  if (issues.length > 0) throw invalidInput(issues);
  return Math.min(ms, LIMITS.maxSlowMs);
}

function readInteger(raw: unknown, name: string, fallback: number, min: number, max: number, issues: Issue[]): number {
  if (raw === undefined || raw === '') return fallback;
  const text = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  const value = typeof text === 'string' && /^\d+$/.test(text) ? Number(text) : typeof text === 'number' ? text : Number.NaN;
  if (!Number.isInteger(value) || value < min || value > max) {
    issues.push({ path: name, message: `expected an integer from ${min} to ${max}; got ${JSON.stringify(text)}` });
    return fallback;
  }
  return value;
}

import { describe, expect, it } from 'vitest';
import { ConfigError, OrdersError, loadConfig, parseNewOrder, parsePagination, parseSlowMs, toErrorResponse } from './index.js';

function errorOf(fn: () => unknown): OrdersError {
  try {
    fn();
  } catch (error) {
    if (error instanceof OrdersError) return error;
    throw error;
  }
  throw new Error('expected an OrdersError');
}

describe('validation', () => {
  it('accepts a well-formed order', () => {
    expect(parseNewOrder({ buyer: ' c-1 ', recipient: 'c-2', items: [{ sku: 'TEA-1', quantity: 2 }] })).toEqual({ buyer: 'c-1', recipient: 'c-2', items: [{ sku: 'TEA-1', quantity: 2 }] });
  });

  it('lists every problem of a bad order as a 400', () => {
    const error = errorOf(() => parseNewOrder({ recipient: 'x'.repeat(101), items: [{ sku: '', quantity: 0 }, 'x'] }));
    expect(toErrorResponse(error)?.statusCode).toBe(400);
    expect(error.issues.map((i) => i.path)).toEqual(['buyer', 'recipient', 'items[0].sku', 'items[0].quantity', 'items[1]']);
    expect(error.message).toMatch(/^Invalid input: buyer: required: a non-empty string; recipient: at most 100 characters; items\[0\]\.sku: /);
  });

  it.each([null, [], 'order', 42])('rejects a body that is not an object (%j)', (body) => {
    expect(errorOf(() => parseNewOrder(body)).issues[0]?.path).toBe('body');
  });

  it('reads pagination and caps the slow endpoint', () => {
    expect(parsePagination({})).toEqual({ limit: 20, offset: 0 });
    expect(parsePagination({ limit: '5', offset: '10' })).toEqual({ limit: 5, offset: 10 });
    expect(errorOf(() => parsePagination({ limit: '1000' })).statusCode).toBe(400);
    expect(errorOf(() => parsePagination({ offset: '-1' })).statusCode).toBe(400);
    expect(parseSlowMs({})).toBe(1000);
    expect(parseSlowMs({ ms: '999999' })).toBe(10_000);
    expect(errorOf(() => parseSlowMs({ ms: 'soon' })).statusCode).toBe(400);
  });
});

describe('config', () => {
  it('has defaults', () => {
    expect(loadConfig({})).toEqual({ port: 3000, host: '127.0.0.1', release: 'dev', propagationDelayMs: 5000, startupDelayMs: 0, toggles: { type: 'defaults' } });
  });

  it('takes the toggle source and the allowed overrides from the environment', () => {
    expect(loadConfig({ BATON_TOGGLES_FILE: 'toggles.json', BATON_TOGGLE_OVERRIDES: 'orderSummary, cancellations' })).toMatchObject({
      toggles: { type: 'file', path: 'toggles.json' },
      toggleOverrides: ['orderSummary', 'cancellations'],
    });
    expect(loadConfig({ UNLEASH_URL: 'https://unleash.example.com/api', UNLEASH_API_TOKEN: '*:production.x', BATON_TOGGLES_FILE: 'toggles.json' }).toggles).toEqual({
      type: 'unleash',
      url: 'https://unleash.example.com/api',
      token: '*:production.x',
      bootstrap: 'toggles.json',
    });
  });

  it('names every bad variable', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', BATON_DRAIN_TIMEOUT_MS: '0', BATON_PROPAGATION_DELAY_MS: '-5', BATON_METRICS_PORT: '99999', BATON_METRICS_TOKEN: 'a b' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toHaveLength(5);
    expect((error as Error).message).toMatch(/PORT must be an integer from 0 to 65535; got "eighty"/);
    expect((error as Error).message).toMatch(/BATON_METRICS_TOKEN must not contain spaces/);
  });

  it('takes the database from DATABASE_URL, and refuses one that is not a postgres:// URL', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://orders@db.internal:5432/orders' }).databaseUrl).toBe('postgres://orders@db.internal:5432/orders');
    expect(loadConfig({ DATABASE_URL: ' ' }).databaseUrl).toBeUndefined();
    expect(() => loadConfig({ DATABASE_URL: 'mysql://db/orders' })).toThrow(/DATABASE_URL must be a postgres:\/\/ \(or postgresql:\/\/\) URL/);
  });

  it('reads the metrics settings', () => {
    expect(loadConfig({ BATON_INSTANCE: 'orders-1', BATON_METRICS_TOKEN: 't0ken', BATON_METRICS_PORT: '0' })).toMatchObject({
      instance: 'orders-1',
      metricsToken: 't0ken',
      metricsPort: 0,
    });
  });
});

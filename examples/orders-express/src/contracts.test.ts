// Provider verification of the orders service on Express against the pacts
// its consumers wrote (examples/orders-consumer/pacts): the service is served
// through Baton exactly as in production and checked by Pact's real verifier.
// The mobile app's pact is pinned to API version 2025-01-15, so this also
// proves old clients still get the shape they were written for.
import { fileURLToPath } from 'node:url';
import { defineStates, verifyProvider } from '@baton/contracts';
import { ordersProviderStates, ordersVersioningOptions, type OrdersApiVersion, type OrdersProviderStates } from '@baton/example-orders-domain';
import { createVersioning } from '@baton/versioning';
import { describe, expect, it } from 'vitest';
import { createApp } from './app.js';

const PACTS = fileURLToPath(new URL('../../orders-consumer/pacts', import.meta.url));

function provider(options: Parameters<typeof createApp>[0] = {}) {
  const orders = createApp({ lifecycle: { shutdown: { propagationDelayMs: 0 } }, ...options });
  return { orders, start: () => orders.baton.serve({ port: 0, host: '127.0.0.1', signals: false, exit: false }) };
}

describe('the orders service on Express against its consumers\' pacts', () => {
  it('keeps every consumer\'s contract, the web shop on the newest version and the mobile app pinned to the oldest', async () => {
    const { orders, start } = provider();
    const result = await verifyProvider({ start, provider: 'orders-service', pacts: { dir: PACTS }, states: defineStates<OrdersProviderStates>()(ordersProviderStates(orders.store)) });
    expect(result.summary).toBe('');
    expect(result.passed).toBe(true);
    expect(new Set(result.interactions.map((interaction) => interaction.consumer))).toEqual(new Set(['orders-web-shop', 'orders-mobile-app']));
    expect(result.interactions).toHaveLength(5);
    expect(result.interactions.every((interaction) => interaction.status === 'passed')).toBe(true);
  });

  it('fails, naming the interaction, when the provider lacks a state the pacts need', async () => {
    const { orders, start } = provider();
    const { 'no order exists': noOrder } = ordersProviderStates(orders.store);
    const result = await verifyProvider({ start, provider: 'orders-service', pacts: { dir: PACTS }, states: defineStates<Pick<OrdersProviderStates, 'no order exists'>>()({ 'no order exists': noOrder }) });
    expect(result.passed).toBe(false);
    expect(result.summary).toContain('an order exists');
    const failed = result.interactions.filter((interaction) => interaction.status === 'failed').map((interaction) => interaction.description);
    expect(failed.sort()).toEqual(['a request for an existing order (2025-01-15)', 'a request for an existing order (2026-11-16)']);
  });

  it('fails the pinned mobile app\'s pact, and only it, when the customer split ships without its version change', async () => {
    // The breaking change a provider developer could make: `buyer` / `recipient` served to every
    // version, with the change that translates them for 2025-01-15 clients left out.
    const withoutTheChange = createVersioning<OrdersApiVersion>({ ...ordersVersioningOptions, changes: [] });
    const { orders, start } = provider({ versioning: withoutTheChange });
    const result = await verifyProvider({ start, provider: 'orders-service', pacts: { dir: PACTS }, states: defineStates<OrdersProviderStates>()(ordersProviderStates(orders.store)) });
    expect(result.passed).toBe(false);
    const failed = result.interactions.filter((interaction) => interaction.status === 'failed');
    expect(failed.map((interaction) => `${interaction.consumer}: ${interaction.description}`).sort()).toEqual([
      'orders-mobile-app: a request for an existing order (2025-01-15)',
      'orders-mobile-app: an order placed by its customer (2025-01-15)',
    ]);
    // The summary says what the old client would have seen break.
    expect(result.summary).toContain('customer');
  });
});

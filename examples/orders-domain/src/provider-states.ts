import type { OrderStore } from './order-store.js';

/** The params of each provider state the consumers' pacts use (examples/orders-consumer). A type, not an interface, so it fits `defineStates<...>()`. */
export type OrdersProviderStates = {
  'an order exists': { buyer: string; recipient: string };
  'no order exists': Record<string, never>;
};

/**
 * Sets up each provider state in the store a provider under verification
 * serves. What a state returns is injected into the interaction (the order's
 * id into its path), so the pacts need not guess the ids the store hands out.
 * Framework-free: the Express and the Fastify example verify with the same
 * states.
 */
export function ordersProviderStates(store: OrderStore): { [S in keyof OrdersProviderStates]: (params: OrdersProviderStates[S]) => Promise<Record<string, string>> } {
  return {
    'an order exists': async ({ buyer, recipient }) => {
      const order = await store.create({ buyer, recipient, items: [{ sku: 'sku-1', quantity: 2 }] });
      return { id: order.id };
    },
    // Every id the store has not handed out is missing: nothing to set up.
    'no order exists': async () => ({}),
  };
}

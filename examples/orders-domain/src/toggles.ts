import { defineToggles, type Toggles } from '@baton/toggles';
import { OrdersError } from './errors.js';
import type { Order } from './order.js';

/**
 * The orders service's toggles: one kill switch and one release toggle, the
 * two kinds a deploy meets most. The same registry serves both frameworks.
 */
export const ordersToggles = defineToggles({
  cancellations: {
    kind: 'kill-switch',
    default: true,
    description: 'Customers can cancel orders; turn off to pause cancellations (a warehouse outage, say).',
    owner: 'orders',
  },
  orderSummary: {
    kind: 'release',
    default: false,
    description: 'Order responses carry a summary: how many lines and units.',
    owner: 'orders',
    expires: '2027-06-30',
  },
});

// Types `req.toggles` / `request.toggles` in both apps: a misspelt toggle does not compile.
declare module '@baton/toggles' {
  interface Register {
    toggles: Toggles<typeof ordersToggles.definitions>;
  }
}

/** What an order looks like with `orderSummary` on. */
export interface OrderWithSummary extends Order {
  summary: { lines: number; units: number };
}

/** The order with its summary (the `orderSummary` release). */
export function withSummary(order: Order): OrderWithSummary {
  return { ...order, summary: { lines: order.items.length, units: order.items.reduce((sum, item) => sum + item.quantity, 0) } };
}

/** The answer while the `cancellations` kill switch is off. */
export function cancellationsPaused(): OrdersError {
  return new OrdersError(503, 'cancellations_paused', 'Cancellations are paused for now; try again later.');
}

import type { OrderStore } from './order-store.js';

/** Shaped like a Baton check definition, without depending on Baton: the domain stays framework-free. */
export interface OrdersCheck {
  name: string;
  check: () => { status: 'pass' | 'warn' | 'fail'; observedValue?: unknown; observedUnit?: string; output?: string; componentType?: string };
  probes: readonly 'readiness'[];
  critical: boolean;
}

/** Heap above this makes the non-critical memory check warn. */
const HEAP_WARN_BYTES = 512 * 1024 * 1024;

/**
 * The service's checks: the store (critical: without it no request can be
 * served, so stop sending traffic) and heap use (non-critical: worth a look,
 * not worth taking the instance out of rotation).
 */
export function ordersChecks(store: OrderStore): OrdersCheck[] {
  return [
    {
      name: 'orders:store',
      probes: ['readiness'],
      critical: true,
      check: () =>
        store.isOpen()
          ? { status: 'pass', componentType: 'datastore' }
          : { status: 'fail', componentType: 'datastore', output: `the ${store.kind} order store is not open` },
    },
    {
      name: 'memory:heapUsed',
      probes: ['readiness'],
      critical: false,
      check: () => {
        const used = process.memoryUsage().heapUsed;
        return {
          status: used > HEAP_WARN_BYTES ? 'warn' : 'pass',
          observedValue: Math.round(used / 1024 / 1024),
          observedUnit: 'MiB',
          componentType: 'system',
        };
      },
    },
  ];
}

import type { ServiceConfig } from './config.js';
import { createMemoryOrderStore } from './memory-order-store.js';
import type { OrderStore } from './order-store.js';
import { createPostgresOrderStore } from './postgres-order-store.js';

/**
 * The store the environment asks for: PostgreSQL at DATABASE_URL (migrated
 * and listening once `open()`ed, which the startup work does), else a fresh
 * in-memory store. `onError` hears the PostgreSQL store's trouble that fails
 * no request (a lost event connection); the runners log it.
 *
 * Memory stays the default so every test, the deploy demo and the benchmarks,
 * which start several instances, need no database; `pnpm example` starts a
 * PostgreSQL and sets DATABASE_URL (see run-on-postgres.ts).
 */
export function orderStoreFrom(config: ServiceConfig, onError?: (error: Error) => void): OrderStore {
  if (config.databaseUrl === undefined) return createMemoryOrderStore();
  return createPostgresOrderStore({ connectionString: config.databaseUrl, ...(onError === undefined ? {} : { onError }) });
}

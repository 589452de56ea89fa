export { formatOrderId, parseOrderId, type NewOrder, type Order, type OrderItem, type OrderStatus } from './order.js';
export { OrdersError, invalidInput, invalidInputMessage, toErrorResponse, type ErrorBody, type Issue } from './errors.js';
export { LIMITS, parseNewOrder, parsePagination, parseSlowMs, type Pagination } from './validate.js';
export type { OrderEvent, OrderPage, OrderStore } from './order-store.js';
export { createMemoryOrderStore, type MemoryOrderStoreOptions } from './memory-order-store.js';
export { createPostgresOrderStore, ORDERS_MIGRATIONS_DIR, type PostgresOrderStoreOptions } from './postgres-order-store.js';
export { applyMigrations, type ApplyMigrationsOptions, type MigrationRun } from './migrate.js';
export { orderStoreFrom } from './store-from-config.js';
export { formatSseEvent, SSE_HEADERS, SSE_HEARTBEAT_MS } from './sse.js';
export { ConfigError, loadConfig, formatListeningLine, type ServiceConfig } from './config.js';
export { ordersChecks, type OrdersCheck } from './checks.js';
export { failStartup, metricsEndpointFrom, scheduleCrash, shutdownBudgetFrom, startupWorkFrom } from './runner.js';
export { ordersToggles, withSummary, cancellationsPaused, type OrderWithSummary } from './toggles.js';
export {
  createOrdersVersioning,
  orderEventData,
  ordersApiRetirements,
  ordersApiVersions,
  ordersVersioningOptions,
  type OrderBefore2026,
  type OrderPageBefore2026,
  type OrdersApiVersion,
} from './api-versions.js';
export { ordersProviderStates, type OrdersProviderStates } from './provider-states.js';
export { createFaultInjector, isFaultableRoute, INJECTED_FAULT_BODY, NO_FAULTS, type FaultDecision, type Faults } from './faults.js';

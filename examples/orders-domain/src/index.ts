export type { NewOrder, Order, OrderItem, OrderStatus } from './order.js';
export { OrdersError, invalidInput, invalidInputMessage, toErrorResponse, type ErrorBody, type Issue } from './errors.js';
export { LIMITS, parseNewOrder, parsePagination, parseSlowMs, type Pagination } from './validate.js';
export { createOrderStore, type OrderEvent, type OrderPage, type OrderStore, type OrderStoreOptions } from './order-store.js';
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

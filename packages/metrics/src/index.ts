export { Metrics, createMetrics, observeResponse, statusOf, DEFAULT_BUCKETS, type MetricsOptions, type ExtraLabel } from './metrics.js';
export { UNMATCHED_ROUTE, OTHER_METHOD, CLOSED_BEFORE_RESPONSE_STATUS, KNOWN_METHODS, methodLabel, statusClass } from './labels.js';
export { registerLifecycleMetrics } from './lifecycle-metrics.js';
export {
  createMetricsHandler,
  createMetricsServer,
  resolveMetricsEndpoint,
  type MetricsEndpointOptions,
  type MetricsEndpointServerOptions,
  type MetricsHandler,
} from './metrics-endpoint.js';

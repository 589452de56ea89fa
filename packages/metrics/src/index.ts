export { Metrics, createMetrics, observeResponse, statusOf, DEFAULT_BUCKETS, type MetricsOptions, type ExtraLabel, type RouteOf, type Collector } from './metrics.js';
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
export { parsePrometheusText, type MetricFamily, type MetricType, type Sample } from './exposition-parser.js';
export { scrape, snapshotFromText, type Snapshot, type ScrapeOptions } from './snapshot.js';
export { compareSnapshots, histogramQuantile, type WindowOptions, type GroupWindow, type HistogramBucket } from './analysis.js';
export type { ReadSeries } from './internal/store-metrics.js';
export { METRICS_ERROR_CODES, type MetricsErrorCode } from './errors.js';

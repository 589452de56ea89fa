export { ERROR_CODES, BatonError, isBatonError, defineErrorCodes, type BatonErrorCode, type ErrorCodeOf, type LifecycleErrorCode } from './errors.js';
export { canTransition, type LifecycleState } from './states.js';
export {
  CheckRegistry,
  type CheckDefinition,
  type CheckFunction,
  type CheckContext,
  type CheckOutcome,
  type CheckResult,
  type CheckStatus,
  type CheckRegistryOptions,
  type ProbeKind,
} from './check-registry.js';
export { buildReport, worstOf, type HealthBody, type HealthCheckEntry, type ProbeReport, type ReportKind, type ReportInput } from './health-report.js';
export {
  Lifecycle,
  createLifecycle,
  isLifecycle,
  type LifecycleOptions,
  type LifecycleEvents,
  type ShutdownOptions,
  type ShutdownHook,
  type ShutdownPhase,
  type ShutdownReport,
  type PhaseReport,
  type StartOptions,
  type ProbeOptions,
  type ShutdownRequest,
  type ShutdownProgress,
} from './lifecycle.js';
export type { ConnectionCounts } from './internal/connection-tracker.js';
export { resolveShutdownBudget, totalMs, type ShutdownBudget, type ShutdownBudgetOptions } from './shutdown-budget.js';
export { defaultCloseLongLived, type LongLivedConnection, type CloseLongLived } from './long-lived.js';
export {
  createProbeHandler,
  resolveProbeRoutes,
  wantsVerbose,
  splitUrl,
  safeDetails,
  HEALTH_MEDIA_TYPE,
  PROBE_HEADERS,
  type ProbePaths,
  type ProbeRouteOptions,
  type ResolvedProbeRoutes,
} from './probe-routes.js';
export { createProbeServer } from './probe-server.js';
export {
  installSignalHandlers,
  holdSignals,
  startShutdownFor,
  wantsOut,
  resolveSecondSignalPolicy,
  DEFAULT_SECOND_SIGNAL_POLICY,
  type SignalOptions,
  type SecondSignalPolicy,
  type SecondSignalOption,
} from './signals.js';
export { ROUTER_DRAINS_FIRST_ENV, ROUTER_DRAINS_FIRST_REASON, routerDrainsFirst, platformHost } from './platform-environment.js';
export { serve, EXIT_CODES, type ServeOptions, type Served } from './serve.js';
export type { AnnouncedProbes } from './internal/listening-line.js';
export { silentLogger, jsonLogger, type Logger } from './logger.js';
export type { CollectorHost, CollectedSeries } from './collector-host.js';
export type { OptionalPeerTypes, PeerType } from './optional-peer-types.js';
export { readLimitedText } from './read-limited-text.js';
export { SHADOW_HEADER, COMPARE_HEADER, ROUTE_HEADER } from './shadow-headers.js';
export { abortableDelay } from './abortable-delay.js';

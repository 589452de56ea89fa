export * from './model.js';
export * from './deploy-config.js';
export * from './control.js';
export * from './service-state.js';
export * from './weights.js';
export * from './orchestrator.js';
export * from './strategies/step.js';
export * from './strategies/plan.js';
export * from './strategies/rolling.js';
export * from './strategies/canary.js';
export * from './strategies/blue-green.js';
export * from './monitor.js';
export * from './report.js';
export * from './secrets.js';
export { createLocalProcessPlatform, type LocalProcessPlatform, type LocalProcessPlatformOptions, type LocalInstanceRecord } from './platforms/local-process-platform.js';
export { createFileJournal, JOURNAL_FILES, type FileJournalOptions } from './journal/file-journal.js';
export { createMetricsAnalysis, type MetricsAnalysisOptions } from './analysis/metrics-analysis.js';
export {
  startBuiltinRouter,
  connectBuiltinRouter,
  stopBuiltinRouter,
  type BuiltinRouterOptions,
  type StartBuiltinRouterOptions,
  type StopBuiltinRouterOptions,
  type ConnectBuiltinRouterOptions,
  type BuiltinRouterLimits,
  type RouterExposeSettings,
} from './routers/builtin-router.js';
export {
  startHaproxyRouter,
  connectHaproxyRouter,
  reloadHaproxyRouter,
  stopHaproxyRouter,
  type HaproxyRouter,
  type HaproxyRouterOptions,
  type StartHaproxyRouterOptions,
  type ReloadHaproxyRouterOptions,
  type StopHaproxyRouterOptions,
  type HaproxyCheckSettings,
  type HaproxyTimeoutSettings,
} from './routers/haproxy-router.js';
export {
  HaproxyRuntimeApi,
  serverStateOf,
  parseInfo,
  parseStat,
  parseServersState,
  SERVER_ADMIN_FLAGS,
  type HaproxyRuntimeApiOptions,
  type ServerState,
  type ServerStateRow,
  type StatRow,
} from './routers/haproxy-runtime-api.js';
export { haproxyRouterConfig, type HaproxyConfigOptions, type HaproxyConfigSlot } from './routers/haproxy-config.js';
export { findHaproxy, haproxyVersion, MIN_HAPROXY_VERSION } from './routers/haproxy-process.js';
export * from './deployment.js';
export { statePaths, haproxyInstalled, connectOrStartRouter, type RouterKind } from './service-router.js';
export * from './service-status.js';
export * from './service-down.js';
export { parseListeningPort, LISTENING_LINE_EXAMPLE } from './platforms/listening-line.js';
export { findFreePort } from './internal/free-port.js';

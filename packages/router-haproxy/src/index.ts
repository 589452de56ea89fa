export { routerProvider, haproxyInstalled } from './router-provider.js';
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
} from './haproxy-router.js';
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
} from './haproxy-runtime-api.js';
export { haproxyRouterConfig, type HaproxyConfigOptions, type HaproxyConfigSlot } from './haproxy-config.js';
export { findHaproxy, haproxyVersion, MIN_HAPROXY_VERSION } from './haproxy-process.js';

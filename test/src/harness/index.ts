export { findFreePort } from './free-port.js';
export { RuntimeApi, type ServerState, type ServerStateRow, type StatRow } from './runtime-api.js';
export { detectionBoundMs, findHaproxy, haproxyConfig, startHaproxy, type Haproxy, type HaproxyOptions } from './haproxy.js';
export { startInstance, type Instance, type InstanceExit, type InstanceOptions, type ListeningLine } from './instance.js';
export { startLoad, type LoadFailure, type LoadOptions, type LoadReport, type LoadRequest, type RunningLoad } from './load.js';
export { probeStatus, waitForReady } from './readiness.js';
export { exampleScript, fixtureScript, type FixtureMode } from './fixtures.js';
export {
  defaultRequestMixes,
  runRollingRestart,
  type RestartRecord,
  type RollingRestartOptions,
  type RollingRestartResult,
} from './rolling-restart.js';

export { routerProvider } from './router-provider.js';
export {
  startNginxRouter,
  connectNginxRouter,
  stopNginxRouter,
  nginxRouterRunning,
  type NginxRouter,
  type NginxRouterOptions,
  type StartNginxRouterOptions,
  type StopNginxRouterOptions,
} from './nginx-router.js';
export { findNginx, nginxInstalled, MIN_NGINX_VERSION } from './nginx-binary.js';
export { edgeConfig, balancerConfig, type EdgeConfigOptions, type BalancerConfigOptions } from './nginx-config.js';
export { NGINX_ROUTER_ERROR_CODES, type NginxRouterErrorCode } from './errors.js';

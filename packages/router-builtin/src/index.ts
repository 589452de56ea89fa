export { routerProvider } from './router-provider.js';
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
} from './builtin-router.js';

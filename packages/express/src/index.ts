export {
  baton,
  type BatonExpress,
  type BatonExpressOptions,
  type BatonListenOptions,
  type BatonListening,
  type BatonServeOptions,
  type BatonToggles,
  type ExpressProbeOptions,
} from './baton.js';

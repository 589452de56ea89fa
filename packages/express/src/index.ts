export {
  baton,
  type BatonExpress,
  type BatonExpressOptions,
  type BatonListenOptions,
  type BatonListening,
  type BatonServeOptions,
  type ExpressProbeOptions,
} from './baton.js';

// Conformance suites every Baton router and platform package runs in its own tests.
export { routerConformance, type RouterConformanceOptions } from './router-conformance.js';
export { platformConformance, type PlatformConformanceOptions, type PlatformUnderTest } from './platform-conformance.js';
export { routerFromProvider, DEFAULT_ROUTER_SETTINGS, type MakeRouter } from './router-fixture.js';
export { startKeepAliveLoad, type KeepAliveLoad, type KeepAliveLoadOptions, type KeepAliveLoadReport } from './keep-alive-load.js';
export { startTestBackend, type TestBackend } from './test-backend.js';
export type * from './shapes.js';

// Fastify + Baton with metrics: as `fastify-baton.ts` (plugin, probes,
// `serveFastify()`), plus `createMetrics()` recording every request by route
// template and serving `/metrics` as a route.
import { batonPlugin, serveFastify } from '@baton/fastify';
import { addOrderRoute, createFastifyApp } from './fastify-app.js';
import { createBatonMetrics } from './metrics-setup.js';
import { reportListening } from './report-listening.js';

const app = createFastifyApp();
await app.register(batonPlugin, { lifecycle: { shutdown: { propagationDelayMs: 0 } }, metrics: createBatonMetrics() });
addOrderRoute(app);
const served = await serveFastify(app, { port: 0, host: '127.0.0.1' });
await served.ready;
reportListening(served.server.address());

// Fastify + fastify-metrics (see metrics-setup.ts for its options).
import { addOrderRoute, createFastifyApp } from './fastify-app.js';
import { registerFastifyMetrics } from './metrics-setup.js';
import { reportListening } from './report-listening.js';

const app = createFastifyApp();
await registerFastifyMetrics(app);
addOrderRoute(app);
await app.listen({ port: 0, host: '127.0.0.1' });
reportListening(app.server.address());

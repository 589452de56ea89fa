// Bare Fastify: the baseline of the Fastify variants.
import { addOrderRoute, createFastifyApp } from './fastify-app.js';
import { reportListening } from './report-listening.js';

const app = createFastifyApp();
addOrderRoute(app);
await app.listen({ port: 0, host: '127.0.0.1' });
reportListening(app.server.address());

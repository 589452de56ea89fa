// Fastify + Baton as its README sets it up: the plugin (lifecycle attached to
// Fastify's server, probe routes as Fastify routes), then `serveFastify()`,
// the runner a service uses.
import { batonPlugin, serveFastify } from '@baton/fastify';
import { addOrderRoute, createFastifyApp } from './fastify-app.js';
import { reportListening } from './report-listening.js';

const app = createFastifyApp();
await app.register(batonPlugin, { lifecycle: { shutdown: { propagationDelayMs: 0 } } });
addOrderRoute(app);
const served = await serveFastify(app, { port: 0, host: '127.0.0.1' });
await served.ready;
reportListening(served.server.address());

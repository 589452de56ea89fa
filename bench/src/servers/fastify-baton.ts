// Fastify + Baton: the lifecycle attached to Fastify's server and the probe
// routes registered as Fastify routes.
// TODO(adapter): switch to `batonPlugin` / `serveFastify` from @baton/fastify once it lands.
import { createLifecycle, PROBE_HEADERS, silentLogger, type ReportKind } from '@baton/lifecycle';
import { addOrderRoute, createFastifyApp } from './fastify-app.js';
import { reportListening } from './report-listening.js';

const lifecycle = createLifecycle({ logger: silentLogger, shutdown: { propagationDelayMs: 0 } });
const app = createFastifyApp();
lifecycle.attach(app.server);
const probes: [string, ReportKind][] = [
  ['/livez', 'liveness'],
  ['/readyz', 'readiness'],
  ['/startupz', 'startup'],
  ['/healthz', 'health'],
];
for (const [path, kind] of probes) {
  app.get(path, async (_request, reply) => {
    const report = await lifecycle.probe(kind);
    return reply.code(report.statusCode).headers(PROBE_HEADERS).send(JSON.stringify(report.body));
  });
}
addOrderRoute(app);
await app.listen({ port: 0, host: '127.0.0.1' });
await lifecycle.start();
reportListening(app.server.address());

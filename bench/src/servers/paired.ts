// One process serving twins of the same app, each on its own port: bare, a
// second bare (the A/A control), with Baton, with Baton and its metrics, and
// with the framework's metrics peer (express-prom-bundle, fastify-metrics).
// The parent loads them in turn and asks for this process's CPU time around
// each burst, so every twin is measured in the same process, with the same
// JIT, heap and CPU: what differs between their costs per request is what
// Baton (or the peer) adds.
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { baton, type BatonExpressOptions } from '@baton/express';
import { batonPlugin, serveFastify, type BatonPluginOptions } from '@baton/fastify';
import { createExpressApp } from './express-app.js';
import { addOrderRoute, createFastifyApp } from './fastify-app.js';
import { createBatonMetrics, mountPromBundle, registerFastifyMetrics } from './metrics-setup.js';

const framework = process.argv[2];
const quiet = { shutdown: { propagationDelayMs: 0 } };

async function listenBare(listener: Parameters<typeof createServer>[1]): Promise<number> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function expressBaton(options: BatonExpressOptions): Promise<number> {
  let wired: ReturnType<typeof baton> | undefined;
  createExpressApp((app) => {
    wired = baton(app, options);
  });
  if (!wired) throw new Error('baton() was not called');
  const served = await wired.serve({ port: 0, host: '127.0.0.1', signals: false, exit: false });
  return served.port;
}

async function expressTwins(): Promise<Record<string, number>> {
  return {
    bare: await listenBare(createExpressApp()),
    bareTwin: await listenBare(createExpressApp()),
    baton: await expressBaton({ lifecycle: quiet }),
    batonMetrics: await expressBaton({ lifecycle: quiet, metrics: createBatonMetrics() }),
    peer: await listenBare(createExpressApp(mountPromBundle)),
  };
}

async function fastifyBare(setUp?: (app: ReturnType<typeof createFastifyApp>) => Promise<void>): Promise<number> {
  const app = createFastifyApp();
  await setUp?.(app);
  addOrderRoute(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as AddressInfo).port;
}

async function fastifyBaton(options: BatonPluginOptions): Promise<number> {
  const app = createFastifyApp();
  await app.register(batonPlugin, options);
  addOrderRoute(app);
  const served = await serveFastify(app, { port: 0, host: '127.0.0.1', signals: false, exit: false });
  return served.port;
}

async function fastifyTwins(): Promise<Record<string, number>> {
  return {
    bare: await fastifyBare(),
    bareTwin: await fastifyBare(),
    baton: await fastifyBaton({ lifecycle: quiet }),
    batonMetrics: await fastifyBaton({ lifecycle: quiet, metrics: createBatonMetrics() }),
    peer: await fastifyBare(registerFastifyMetrics),
  };
}

const ports = framework === 'express' ? await expressTwins() : framework === 'fastify' ? await fastifyTwins() : undefined;
if (!ports) throw new Error(`usage: paired.js express|fastify (got ${String(framework)})`);
process.on('message', () => {
  const { user, system } = process.cpuUsage();
  process.send?.({ cpuMicros: user + system });
});
// The parent going away ends this process, so a killed benchmark leaves nothing behind.
process.on('disconnect', () => process.exit(0));
process.send?.({ ports });

// One process serving three twins of the same app on three ports: bare, a
// second bare (the A/A control), and with Baton. The parent loads them in
// turn and asks for this process's CPU time around each burst, so every twin
// is measured in the same process, with the same JIT, heap and CPU: what
// differs between their costs per request is what Baton adds.
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { baton } from '@baton/express';
import { batonPlugin, serveFastify } from '@baton/fastify';
import { createExpressApp } from './express-app.js';
import { addOrderRoute, createFastifyApp } from './fastify-app.js';

const framework = process.argv[2];
const quiet = { shutdown: { propagationDelayMs: 0 } };

async function listenBare(listener: Parameters<typeof createServer>[1]): Promise<number> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function expressTwins(): Promise<Record<string, number>> {
  const bare = await listenBare(createExpressApp());
  const bareTwin = await listenBare(createExpressApp());
  let wired: ReturnType<typeof baton> | undefined;
  createExpressApp((app) => {
    wired = baton(app, { lifecycle: quiet });
  });
  if (!wired) throw new Error('baton() was not called');
  const served = await wired.serve({ port: 0, host: '127.0.0.1', signals: false, exit: false });
  return { bare, bareTwin, baton: served.port };
}

async function fastifyTwins(): Promise<Record<string, number>> {
  const ports: Record<string, number> = {};
  for (const name of ['bare', 'bareTwin']) {
    const app = createFastifyApp();
    addOrderRoute(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    ports[name] = (app.server.address() as AddressInfo).port;
  }
  const app = createFastifyApp();
  await app.register(batonPlugin, { lifecycle: quiet });
  addOrderRoute(app);
  const served = await serveFastify(app, { port: 0, host: '127.0.0.1', signals: false, exit: false });
  ports.baton = served.port;
  return ports;
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

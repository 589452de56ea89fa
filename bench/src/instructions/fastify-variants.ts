// The Fastify 5 apps of the instruction counts, built as the time-based
// benchmarks build them (servers/fastify-app.ts, servers/metrics-setup.ts,
// versioning-apps.ts), each listening on 127.0.0.1, port 0. Baton's apps run
// through `serveFastify()` as a service does, without signal handlers or exit.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { batonPlugin, serveFastify, type BatonPluginOptions } from '@baton/fastify';
import { ORDER_ROUTE } from '../servers/order-route.js';
import { addOrderRoute, createFastifyApp } from '../servers/fastify-app.js';
import { createBatonMetrics } from '../servers/metrics-setup.js';
import { serveVersioningApp } from '../versioning-apps.js';
import type { ToggleScope } from '@baton/toggles';
import type { BenchDefinitions } from '../toggles-fixture.js';
import { batonToggles, EXPERIMENT, FLAG, rawToggles, togglesBody, USER_HEADER } from './toggles-route.js';
import type { VariantId } from './variants.js';

const quiet = { shutdown: { propagationDelayMs: 0 } };

async function listenBare(): Promise<number> {
  const app = createFastifyApp();
  addOrderRoute(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as AddressInfo).port;
}

/** `batonPlugin` with `options`, the routes `addRoutes` adds (the order route by default), then `serveFastify()`. */
async function serveWithBaton(options: BatonPluginOptions, addRoutes: (app: FastifyInstance) => void = addOrderRoute): Promise<number> {
  const app = createFastifyApp();
  await app.register(batonPlugin, options);
  addRoutes(app);
  const served = await serveFastify(app, { port: 0, host: '127.0.0.1', signals: false, exit: false });
  return served.port;
}

function userOf(request: FastifyRequest): string | undefined {
  const user = request.headers[USER_HEADER];
  return typeof user === 'string' ? user : undefined;
}

/** Serves `variant`; resolves with its port. */
export async function serveFastifyVariant(variant: VariantId): Promise<number> {
  switch (variant) {
    case 'bare':
    case 'bareAgain':
      return listenBare();
    case 'baton':
      return serveWithBaton({ lifecycle: quiet });
    case 'batonMetrics':
      return serveWithBaton({ lifecycle: quiet, metrics: createBatonMetrics() });
    case 'batonToggles': {
      const flags = await batonToggles();
      const options = { lifecycle: quiet, toggles: flags, togglesContext: { userId: userOf } } as unknown as BatonPluginOptions;
      return serveWithBaton(options, (app) => {
        app.get<{ Params: { id: string } }>(ORDER_ROUTE, async (request) => {
          // The bench's toggles, not the registry another workspace package registers for `req.toggles`.
          const toggles = request.toggles as unknown as ToggleScope<BenchDefinitions>;
          return togglesBody(request.params.id, toggles.isEnabled(FLAG), toggles.getVariant(EXPERIMENT).name);
        });
      });
    }
    case 'batonRawToggles': {
      const unleash = await rawToggles();
      return serveWithBaton({ lifecycle: quiet }, (app) => {
        app.get<{ Params: { id: string } }>(ORDER_ROUTE, async (request) => {
          const context = { userId: userOf(request) ?? '', remoteAddress: request.ip };
          return togglesBody(request.params.id, unleash.isEnabled(FLAG, context), unleash.getVariant(EXPERIMENT, context).name);
        });
      });
    }
    case 'vBare':
      return serveVersioningApp('fastify', 'bare');
    case 'vBaton':
      return serveVersioningApp('fastify', 'baton');
    case 'vLatest':
      return serveVersioningApp('fastify', 'latest');
    case 'vOldest':
      return serveVersioningApp('fastify', 'oldest');
  }
}

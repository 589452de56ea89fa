// The API-versioning benchmark's apps, one per name, each listening on its
// own port (127.0.0.1, port 0), with the same two routes and the same
// handlers (versioning-fixture.ts):
//
//   bare, bareTwin   the framework alone (bareTwin is the A/A control)
//   baton            Baton as a user wires it (lifecycle, probes), no versioning
//   latest, oldest   the same with `versioning: createBenchVersioning()`; the
//                    load generator sends them the latest and the oldest version
//
// Served by versioning-server.ts (the time-based measurements) and by the
// per-request instruction counts (instructions/app-process.ts).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import type { FastifyInstance } from 'fastify';
import { baton, type BatonExpressOptions } from '@baton/express';
import { batonPlugin, serveFastify, type BatonPluginOptions } from '@baton/fastify';
import { createFastifyApp } from './servers/fastify-app.js';
import { createBenchVersioning, createOrder, getOrder, GET_ROUTE, POST_ROUTE } from './versioning-fixture.js';

/** The apps a versioning server can serve. */
export const VERSIONING_APPS = ['bare', 'bareTwin', 'baton', 'latest', 'oldest'] as const;
export type VersioningApp = (typeof VERSIONING_APPS)[number];

const quiet = { shutdown: { propagationDelayMs: 0 } };

// ---- Express ---------------------------------------------------------------

/** The routes, written for the newest version; `setUp` runs first (where Baton goes). */
function expressApp(setUp?: (app: Express) => void): Express {
  const app = express();
  setUp?.(app);
  app.get(GET_ROUTE, (request, response) => {
    response.json(getOrder(request.params.id ?? ''));
  });
  app.post(POST_ROUTE, express.json(), (request, response) => {
    const result = createOrder(request.body);
    response.status(result.status).json(result.body);
  });
  return app;
}

async function listenExpress(app: Express): Promise<number> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function expressBaton(options: BatonExpressOptions): Promise<number> {
  let wired: ReturnType<typeof baton> | undefined;
  expressApp((app) => {
    wired = baton(app, options);
  });
  if (!wired) throw new Error('baton() was not called');
  const served = await wired.serve({ port: 0, host: '127.0.0.1', signals: false, exit: false });
  return served.port;
}

/** Serves the Express app `app` on 127.0.0.1, port 0; resolves with its port. */
export async function expressServe(app: VersioningApp): Promise<number> {
  switch (app) {
    case 'bare':
    case 'bareTwin':
      return listenExpress(expressApp());
    case 'baton':
      return expressBaton({ lifecycle: quiet });
    case 'latest':
    case 'oldest':
      return expressBaton({ lifecycle: quiet, ...expressVersioning() });
  }
}

/** The Express adapter's versioning option. */
function expressVersioning(): Partial<BatonExpressOptions> {
  return { versioning: createBenchVersioning() } as Partial<BatonExpressOptions>;
}

// ---- Fastify ---------------------------------------------------------------

function fastifyRoutes(app: FastifyInstance): void {
  app.get<{ Params: { id: string } }>(GET_ROUTE, async (request) => getOrder(request.params.id));
  app.post(POST_ROUTE, async (request, reply) => {
    const result = createOrder(request.body);
    void reply.code(result.status);
    return result.body;
  });
}

async function fastifyBare(): Promise<number> {
  const app = createFastifyApp();
  fastifyRoutes(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as AddressInfo).port;
}

async function fastifyBaton(options: BatonPluginOptions): Promise<number> {
  const app = createFastifyApp();
  await app.register(batonPlugin, options);
  fastifyRoutes(app);
  const served = await serveFastify(app, { port: 0, host: '127.0.0.1', signals: false, exit: false });
  return served.port;
}

/** Serves the Fastify app `app` on 127.0.0.1, port 0; resolves with its port. */
export async function fastifyServe(app: VersioningApp): Promise<number> {
  switch (app) {
    case 'bare':
    case 'bareTwin':
      return fastifyBare();
    case 'baton':
      return fastifyBaton({ lifecycle: quiet });
    case 'latest':
    case 'oldest':
      return fastifyBaton({ lifecycle: quiet, versioning: createBenchVersioning() });
  }
}

/** Serves `app` of `framework`; resolves with its port. */
export function serveVersioningApp(framework: 'express' | 'fastify', app: VersioningApp): Promise<number> {
  return framework === 'express' ? expressServe(app) : fastifyServe(app);
}

import Fastify, { type FastifyInstance } from 'fastify';
import { ORDER_ROUTE, orderBody } from './order-route.js';

/** Registers the route every Fastify variant serves. */
export function addOrderRoute(app: FastifyInstance): void {
  app.get<{ Params: { id: string } }>(ORDER_ROUTE, async (request) => orderBody(request.params.id));
}

/** A Fastify instance with Fastify's defaults (no logger, as in most benchmarks). */
export function createFastifyApp(): FastifyInstance {
  return Fastify({ logger: false });
}

import type { RequestHandler } from 'express';
import { createProbeHandler, type Lifecycle, type ProbeRouteOptions } from '@baton/lifecycle';

/**
 * An Express middleware that answers the probe routes (`/livez`, `/readyz`,
 * `/startupz`, `/healthz` by default) and passes every other request on.
 * It delegates to the core's node:http probe handler: Express requests and
 * responses are node's, so the answers are byte-for-byte those of the core.
 *
 * @example
 * app.use(createProbeMiddleware(lifecycle, { details: (req) => req.headers['x-internal'] === '1' }));
 */
export function createProbeMiddleware(lifecycle: Lifecycle, options: ProbeRouteOptions = {}): RequestHandler {
  const answer = createProbeHandler(lifecycle, options);
  return (request, response, next) => {
    if (!answer(request, response)) next();
  };
}

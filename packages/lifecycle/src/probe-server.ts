import { createServer, type Server } from 'node:http';
import type { Lifecycle } from './lifecycle.js';
import { createProbeHandler, type ProbeRouteOptions } from './probe-routes.js';

/**
 * A second, probes-only HTTP server (for a separate probe port). It is not
 * attached to the lifecycle's drain: it keeps answering, readiness with 503,
 * until the runner closes it after `stopped`.
 */
export function createProbeServer(lifecycle: Lifecycle, options: ProbeRouteOptions = {}): Server {
  const handle = createProbeHandler(lifecycle, options);
  const server = createServer((request, response) => {
    if (!handle(request, response)) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found\n');
    }
  });
  // Probes are short; never let a keep-alive probe connection hold the process.
  server.keepAliveTimeout = 1000;
  return server;
}

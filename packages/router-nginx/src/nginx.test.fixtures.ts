// Shared by the nginx router's tests (not published: *.test.* is left out of the package).
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { closeServers } from '@baton/testing';
import { findNginx } from './nginx-binary.js';
import { stopNginxRouter } from './nginx-router.js';

export const nginx = findNginx();
if (!nginx) console.log('router-nginx: nginx not found, skipping the nginx router suites (apt-get install -y nginx; .ci/run installs it)');

/** A real node:http backend on 127.0.0.1 port 0, as a Baton instance looks to the router. */
export interface TestBackend {
  name: string;
  port: number;
  /** Requests it got, metrics scrapes aside. */
  hits(): number;
  inFlight(): number;
  /** Answers every `/hold` request waiting here. */
  release(): void;
  /** Stops it as a dead instance: listener closed, every connection dropped. */
  kill(): Promise<void>;
}

/**
 * Answers its name; `/hold` waits for release(); `/metrics` exposes Baton's
 * `http_requests_in_flight` gauge, as @baton/metrics does, for the router's
 * in-flight count.
 */
export async function startBackend(name: string, servers: Server[]): Promise<TestBackend> {
  let hits = 0;
  let inFlight = 0;
  const held: (() => void)[] = [];
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(`# HELP http_requests_in_flight HTTP requests being handled now.\n# TYPE http_requests_in_flight gauge\nhttp_requests_in_flight{release="${name}"} ${inFlight}\n`);
      return;
    }
    hits += 1;
    inFlight += 1;
    res.on('close', () => (inFlight -= 1));
    if (req.url === '/hold') held.push(() => res.end(name));
    else req.resume().on('end', () => res.end(name));
  });
  // Longer than any test: nginx's pooled connections are never closed under it by the backend.
  server.keepAliveTimeout = 60_000;
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    name,
    port: typeof address === 'object' && address ? address.port : 0,
    hits: () => hits,
    inFlight: () => inFlight,
    release: () => {
      for (const answer of held.splice(0)) answer();
    },
    kill: async () => {
      servers.splice(servers.indexOf(server), 1);
      server.closeAllConnections();
      await closeServers([server]);
    },
  };
}

/** A short router directory (its unix socket path must fit in 107 bytes). */
export function routerDir(): Promise<string> {
  return mkdtemp('/tmp/bn-');
}

/** Stops whatever router runs in `dirs` and removes them; for afterEach. */
export async function cleanUp(dirs: string[], servers: Server[]): Promise<void> {
  for (const dir of dirs.splice(0)) {
    await stopNginxRouter({ dir, graceMs: 2000 }).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
  await closeServers(servers.splice(0));
}

/** How many of `count` sequential GETs each backend answered (keyed by the body: its name). */
export async function spread(url: string, count: number, path = '/'): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < count; i += 1) {
    const response = await fetch(`${url}${path}`);
    const body = await response.text();
    const key = response.status === 200 ? body : `status ${response.status}`;
    seen[key] = (seen[key] ?? 0) + 1;
  }
  return seen;
}

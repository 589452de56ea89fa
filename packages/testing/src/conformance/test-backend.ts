import { createServer, type ServerResponse } from 'node:http';

/** A real node:http backend on 127.0.0.1 (port 0) that the router conformance suite routes to. */
export interface TestBackend {
  /** Its backend id; every answer's body is this id. */
  id: string;
  port: number;
  /** Requests it got, probes and scrapes aside. */
  hits(): number;
  /** Requests it is answering now, probes and scrapes aside. */
  inFlight(): number;
  /** Answers every `/hold` request waiting here. */
  releaseHeld(): void;
  /** Stops as a drained instance stops: no new connections, idle ones closed, requests in flight finish. */
  close(): Promise<void>;
  /** Dies as a crashed process does: the listener and every connection closed at once. */
  kill(): Promise<void>;
}

/**
 * Starts a backend answering its id. `/slow?ms=N` answers after N ms, `/hold`
 * when {@link TestBackend.releaseHeld} is called; `/readyz` answers 200 for
 * routers that health-check, and `/metrics` shows `http_requests_in_flight`
 * as Baton's metrics do, for routers that read in-flight counts from the instances.
 */
export async function startTestBackend(id: string): Promise<TestBackend> {
  let hits = 0;
  let inFlight = 0;
  const held: ServerResponse[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let closing = false;
  // While closing, a response ends its connection: node:http's close() only closes the connections idle at that instant.
  const answer = (res: ServerResponse): void => {
    if (closing && !res.headersSent) res.setHeader('connection', 'close');
    res.end(id);
  };
  const server = createServer((req, res) => {
    req.resume();
    if (req.url === '/readyz') {
      res.end('ready');
      return;
    }
    if (req.url === '/metrics') {
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(`# TYPE http_requests_in_flight gauge\nhttp_requests_in_flight ${inFlight}\n`);
      return;
    }
    hits += 1;
    inFlight += 1;
    res.on('close', () => (inFlight -= 1));
    const slow = /^\/slow\?ms=(\d+)/.exec(req.url ?? '');
    if (req.url === '/hold') held.push(res);
    else if (slow) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer(res);
      }, Number(slow[1]));
      timers.add(timer);
    } else answer(res);
  });
  // Longer than any case: a router's pooled connections are never closed under it by the backend.
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  return {
    id,
    port,
    hits: () => hits,
    inFlight: () => inFlight,
    releaseHeld: () => {
      for (const res of held.splice(0)) answer(res);
    },
    async close() {
      closing = true;
      if (server.listening) server.close();
      server.closeIdleConnections();
      await closed;
    },
    async kill() {
      closing = true;
      for (const timer of timers) clearTimeout(timer);
      if (server.listening) server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

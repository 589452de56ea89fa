// Test fixtures of the built-in router's suites (not published: `*.test.*` is excluded from the package).
import { createServer, request as httpRequest, Agent, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

// The shared polling helpers of Baton's tests.
import { delay, waitFor } from '@baton/testing';

export { delay, waitFor };

export interface Backend {
  name: string;
  server: Server;
  port: number;
  /** Requests this backend received (counted at arrival). */
  received: number;
  /** Requests held by `?hold` (see {@link nameHandler}) and not released yet. */
  held: number;
  /** Answers every request held by `?hold`. */
  release(): void;
  close(): Promise<void>;
}

export type BackendHandler = (req: IncomingMessage, res: ServerResponse, backend: Backend) => void;

/**
 * Answers `name` to everything, after reading the body; `?ms=N` waits N ms
 * first; `?hold` waits until the test calls `backend.release()` (a slow
 * request whose end the test decides, instead of racing a timer).
 */
export const nameHandler: BackendHandler = (req, res, backend) => {
  req.resume();
  req.on('end', () => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const answer = (): void => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(backend.name);
    };
    if (query.has('hold')) {
      backend.held++;
      holds.get(backend)?.push(answer);
      return;
    }
    setTimeout(answer, Number(query.get('ms') ?? '0'));
  });
};

const holds = new WeakMap<Backend, (() => void)[]>();

/** A real node:http backend on 127.0.0.1, port 0. */
export async function startBackend(name: string, handler: BackendHandler = nameHandler): Promise<Backend> {
  const server = createServer();
  // Every socket, upgraded ones included (closeAllConnections no longer sees those).
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const backend: Backend = {
    name,
    server,
    port: 0,
    received: 0,
    held: 0,
    release: () => {
      for (const answer of holds.get(backend)?.splice(0) ?? []) {
        backend.held--;
        answer();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
  holds.set(backend, []);
  server.on('request', (req, res) => {
    backend.received++;
    handler(req, res, backend);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend.port = (server.address() as AddressInfo).port;
  return backend;
}

/** A port where nothing listens (bound, then closed). */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request over node:http; resolves with the whole answer, rejects on any socket error (a connection closed without an answer). */
export function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: Agent | false } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers ?? {}, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('response aborted')));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface LoadResult {
  sent: number;
  answered: number;
  failed: number;
  /** Answers by status code. */
  statuses: Record<string, number>;
  /** Answers (status 200) by body, i.e. by backend name. */
  byBody: Record<string, number>;
  errors: string[];
  /** The slowest request, in ms (for the record, never asserted tightly). */
  slowestMs: number;
}

/**
 * A bounded keep-alive load: `total` GETs (or `method`) over `concurrency`
 * pooled connections, each worker pausing `spacingMs` between requests.
 * Every request is counted: sent = answered + failed.
 */
export async function runLoad(options: {
  url: string;
  total: number;
  concurrency: number;
  spacingMs?: number;
  method?: string;
  body?: string;
  /** Stops sending new requests once this returns true (the load still stops at `total`). */
  stopWhen?: () => boolean;
}): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const result: LoadResult = { sent: 0, answered: 0, failed: 0, statuses: {}, byBody: {}, errors: [], slowestMs: 0 };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < options.total && !(options.stopWhen?.() ?? false)) {
      next++;
      result.sent++;
      const startedMs = Date.now();
      try {
        const init: { method?: string; agent: Agent; body?: string; headers?: Record<string, string> } = { agent };
        if (options.method !== undefined) init.method = options.method;
        if (options.body !== undefined) {
          init.body = options.body;
          init.headers = { 'content-type': 'text/plain' };
        }
        const answer = await send(options.url, init);
        result.slowestMs = Math.max(result.slowestMs, Date.now() - startedMs);
        result.answered++;
        result.statuses[answer.status] = (result.statuses[answer.status] ?? 0) + 1;
        if (answer.status === 200) result.byBody[answer.body] = (result.byBody[answer.body] ?? 0) + 1;
        else if (result.errors.length < 20) result.errors.push(`${answer.status} ${answer.body.trim()}`);
      } catch (error) {
        result.failed++;
        if (result.errors.length < 20) result.errors.push(`${(error as NodeJS.ErrnoException).code ?? ''} ${(error as Error).message}`);
      }
      if (options.spacingMs) await delay(options.spacingMs);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  agent.destroy();
  return result;
}

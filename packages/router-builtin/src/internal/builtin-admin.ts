import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '@baton/lifecycle';
import type { BuiltinProxy } from '../builtin-proxy.js';
import { RouterCommandError } from './admin-input.js';

/**
 * The built-in router's admin API: JSON over HTTP on a unix socket (mode 600,
 * so only the router's user can shift traffic). Every answer is JSON; a
 * refusal is `{ "error": { "code": "BATON_ERR_ROUTER", "message": ... } }`
 * with a 4xx status saying why (400 bad input, 404 unknown id, 409 not now).
 *
 *   GET    /v1/status             the process: pid, url, in-flight count
 *   GET    /v1/backends           { backends: [BackendStatus + health] }
 *   POST   /v1/backends           { id, release, host, port } → added in maint
 *   PATCH  /v1/backends           { changes: [{ id, state?, weight? }] }, all or none
 *   DELETE /v1/backends/{id}      removes one (maint or drain, nothing in flight)
 *   PUT    /v1/shadow             { candidate, share?, methods?, ... } → a shadow step starts
 *   GET    /v1/shadow             { shadow: its figures so far, or null }
 *   DELETE /v1/shadow             ends it (copies in flight get their time) → { shadow: final figures, or null }
 *   PUT    /v1/keep-alive         { enabled } → { keepAlive }: off, every answer closes its connection (persisted)
 *   GET    /v1/keep-alive         { keepAlive }
 *   POST   /v1/shutdown           stops the router (finishes in-flight requests first)
 */
export interface AdminContext {
  proxy: BuiltinProxy;
  logger: Logger;
  status(): Record<string, unknown>;
  shutdown(reason: string): void;
}

const MAX_BODY_BYTES = 64 * 1024;

function sendJson(res: ServerResponse, status: number, value: unknown, close = false): void {
  const body = `${JSON.stringify(value)}\n`;
  const headers: Record<string, string | number> = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' };
  if (close) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        // Answered 413 (connection closed after it); destroying the request here would cut the answer too.
        req.removeAllListeners('data');
        req.pause();
        reject(new RouterCommandError(413, `the command is larger than ${MAX_BODY_BYTES} bytes; send at most that much JSON.`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') {
        reject(new RouterCommandError(400, 'the command has no body; send JSON.'));
        return;
      }
      try {
        resolve(JSON.parse(text) as unknown);
      } catch (error) {
        reject(new RouterCommandError(400, `the command's body is not valid JSON (${(error as Error).message}).`));
      }
    });
  });
}

async function route(context: AdminContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://router');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  const { proxy } = context;
  if (path === '/v1/status') {
    if (method !== 'GET') throw new RouterCommandError(405, `${method} ${path}: use GET.`);
    sendJson(res, 200, context.status());
    return;
  }
  if (path === '/v1/backends') {
    if (method === 'GET') {
      sendJson(res, 200, { backends: proxy.list() });
    } else if (method === 'POST') {
      const added = await proxy.add(await readJson(req));
      sendJson(res, added ? 201 : 200, { added });
    } else if (method === 'PATCH') {
      const body = await readJson(req);
      const changes = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as { changes?: unknown }).changes : body;
      await proxy.set(changes);
      sendJson(res, 200, { backends: proxy.list() });
    } else {
      throw new RouterCommandError(405, `${method} ${path}: use GET, POST or PATCH.`);
    }
    return;
  }
  if (path.startsWith('/v1/backends/')) {
    if (method !== 'DELETE') throw new RouterCommandError(405, `${method} ${path}: use DELETE.`);
    let id: string;
    try {
      id = decodeURIComponent(path.slice('/v1/backends/'.length));
    } catch {
      throw new RouterCommandError(400, `${path}: the backend id is not valid percent-encoding.`);
    }
    const removed = await proxy.remove(id);
    sendJson(res, 200, { removed });
    return;
  }
  if (path === '/v1/shadow') {
    if (method === 'PUT') sendJson(res, 200, { shadow: proxy.startShadow(await readJson(req)) });
    else if (method === 'GET') sendJson(res, 200, { shadow: proxy.shadowStatus() ?? null });
    else if (method === 'DELETE') sendJson(res, 200, { shadow: (await proxy.stopShadow()) ?? null });
    else throw new RouterCommandError(405, `${method} ${path}: use PUT, GET or DELETE.`);
    return;
  }
  if (path === '/v1/keep-alive') {
    if (method === 'PUT') sendJson(res, 200, { keepAlive: await proxy.setKeepAlive(await readJson(req)) });
    else if (method === 'GET') sendJson(res, 200, { keepAlive: proxy.keepAlive });
    else throw new RouterCommandError(405, `${method} ${path}: use PUT or GET.`);
    return;
  }
  if (path === '/v1/shutdown') {
    if (method !== 'POST') throw new RouterCommandError(405, `${method} ${path}: use POST.`);
    sendJson(res, 202, { stopping: true });
    context.shutdown('admin shutdown');
    return;
  }
  throw new RouterCommandError(404, `${method} ${path}: no such admin endpoint (see /v1/status, /v1/backends, /v1/shadow, /v1/keep-alive, /v1/shutdown).`);
}

export function createAdminServer(context: AdminContext): Server {
  return createServer((req, res) => {
    route(context, req, res).catch((error: unknown) => {
      if (error instanceof RouterCommandError) {
        context.logger.warn('admin command refused', { method: req.method, path: req.url, status: error.status, message: error.message });
        if (!res.headersSent) sendJson(res, error.status, { error: { code: error.code, message: error.message } }, error.status === 413);
        return;
      }
      context.logger.error('admin command failed', { method: req.method, path: req.url, error: (error as Error).message });
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'BATON_ERR_ROUTER', message: `the router failed the command: ${(error as Error).message}` } });
    });
  });
}

/**
 * The built-in router's admin API from the orchestrator's side: JSON over the router's unix
 * socket, a refusal turned into a BATON_ERR_ROUTER carrying the router's own message.
 */
import { request } from 'node:http';
import type { BackendState, BackendStatus, Router, RouterShadow, ShadowStatus } from '@baton/deploy';
import type { RouterProcessRecord } from './builtin-state.js';
import { routerError } from './router-errors.js';

interface AdminAnswer {
  status: number;
  body: unknown;
}

/** One admin command over the unix socket; rejects with BATON_ERR_ROUTER when the socket cannot be used. */
function adminCall(socketPath: string, method: string, path: string, body: unknown, timeoutMs: number): Promise<AdminAnswer> {
  return new Promise((resolvePromise, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath,
        method,
        path,
        agent: false,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('error', (error) => reject(routerError(`the admin answer to ${method} ${path} was cut (${(error as NodeJS.ErrnoException).code ?? error.message}).`, error)));
        res.on('end', () => {
          clearTimeout(timer);
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch (error) {
            reject(routerError(`the admin answer to ${method} ${path} is not JSON (status ${res.statusCode}).`, error));
            return;
          }
          resolvePromise({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error('timeout'));
    }, timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = error.message === 'timeout' ? `no answer within ${timeoutMs} ms` : (error.code ?? error.message);
      reject(routerError(`its admin socket ${socketPath} cannot be used (${why}); is the router running? Start it with startBuiltinRouter().`, error));
    });
    req.end(payload);
  });
}

/** The admin answer's body when 2xx; a BATON_ERR_ROUTER with the router's own message otherwise. */
export async function adminCommand(socketPath: string, method: string, path: string, body: unknown, timeoutMs: number): Promise<unknown> {
  const answer = await adminCall(socketPath, method, path, body, timeoutMs);
  if (answer.status >= 200 && answer.status < 300) return answer.body;
  const message = (answer.body as { error?: { message?: unknown } } | undefined)?.error?.message;
  throw routerError(`refused ${method} ${path} (${answer.status}): ${typeof message === 'string' ? message : 'no reason given'}`);
}

export interface StatusBody {
  pid: number;
  url: string;
}

export async function liveStatus(record: RouterProcessRecord, timeoutMs: number): Promise<StatusBody> {
  const body = (await adminCommand(record.adminSocket, 'GET', '/v1/status', undefined, timeoutMs)) as Partial<StatusBody> | undefined;
  if (typeof body?.pid !== 'number' || typeof body.url !== 'string') throw routerError(`the admin socket ${record.adminSocket} does not answer like a Baton router.`);
  return body as StatusBody;
}

/** The orchestrator's `Router` over the built-in router's admin socket. */
export class BuiltinRouterClient implements Router {
  readonly kind = 'builtin' as const;
  readonly url: string;
  readonly #socket: string;
  readonly #timeoutMs: number;
  #closed = false;

  constructor(url: string, socket: string, timeoutMs: number) {
    this.url = url;
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
  }

  async #command(method: string, path: string, body?: unknown): Promise<unknown> {
    if (this.#closed) throw routerError(`this connection to the router is closed (${method} ${path} not sent).`);
    return adminCommand(this.#socket, method, path, body, this.#timeoutMs);
  }

  async add(backend: { id: string; release: string; host: string; port: number }): Promise<void> {
    await this.#command('POST', '/v1/backends', { id: backend.id, release: backend.release, host: backend.host, port: backend.port });
  }

  async set(changes: readonly { id: string; state?: BackendState; weight?: number }[]): Promise<void> {
    await this.#command('PATCH', '/v1/backends', { changes });
  }

  async remove(id: string): Promise<void> {
    if (typeof id !== 'string' || id === '') throw routerError(`remove: id must be a non-empty string, got ${JSON.stringify(id)}.`);
    await this.#command('DELETE', `/v1/backends/${encodeURIComponent(id)}`);
  }

  async backends(): Promise<BackendStatus[]> {
    const body = (await this.#command('GET', '/v1/backends')) as { backends?: BackendStatus[] } | undefined;
    if (!Array.isArray(body?.backends)) throw routerError('the backend list is missing from the admin answer.');
    return body.backends.map((b) => ({
      id: b.id,
      release: b.release,
      host: b.host,
      port: b.port,
      state: b.state,
      weight: b.weight,
      inFlight: b.inFlight,
      requestsTotal: b.requestsTotal,
      health: b.health,
    }));
  }

  /** Shadow steps: the router copies requests to the candidate and compares its answers (admin `/v1/shadow`). */
  readonly shadow: RouterShadow = {
    start: async (settings) => {
      await this.#command('PUT', '/v1/shadow', settings);
    },
    status: async () => ((await this.#command('GET', '/v1/shadow')) as { shadow?: ShadowStatus | null } | undefined)?.shadow ?? undefined,
    // Copies in flight get up to their own timeout before the router answers: give the command as long.
    stop: async () => {
      if (this.#closed) throw routerError('this connection to the router is closed (DELETE /v1/shadow not sent).');
      return ((await adminCommand(this.#socket, 'DELETE', '/v1/shadow', undefined, this.#timeoutMs + 15_000)) as { shadow?: ShadowStatus | null } | undefined)?.shadow ?? undefined;
    },
  };

  /** Keep-alive with clients (admin `/v1/keep-alive`): off, every answer carries `Connection: close`. Persisted by the router. */
  async setKeepAlive(enabled: boolean): Promise<void> {
    if (typeof enabled !== 'boolean') throw routerError(`setKeepAlive: enabled must be true or false, got ${JSON.stringify(enabled)}.`);
    await this.#command('PUT', '/v1/keep-alive', { enabled });
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

// The Docker Engine API over a unix socket, with node:http only: the rig needs
// a handful of calls, and streaming bodies (image import, save, load) matter more
// than a client library's conveniences.
import { request, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

/** One call to an engine. */
export interface EngineCall {
  method: 'GET' | 'POST' | 'DELETE' | 'HEAD';
  /** Path and query, unversioned: the engine answers with its newest API version. */
  path: string;
  body?: Readable | string;
  headers?: Record<string, string>;
  /** Gives up when no answer (status line) came in this time. */
  timeoutMs?: number;
}

/** Sends a call and resolves with the response as soon as its status line arrives (the body is left to read). */
export function engineResponse(socketPath: string, call: EngineCall): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...call.headers };
    if (typeof call.body === 'string') {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = String(Buffer.byteLength(call.body));
    }
    const req = request({ socketPath, method: call.method, path: call.path, headers, agent: false }, (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    const timer = call.timeoutMs === undefined ? undefined : setTimeout(() => req.destroy(new Error(`no answer in ${call.timeoutMs} ms`)), call.timeoutMs);
    timer?.unref();
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`docker engine at ${socketPath}: ${call.method} ${call.path}: ${error.message}`, { cause: error }));
    });
    if (call.body === undefined || typeof call.body === 'string') req.end(call.body);
    else {
      call.body.on('error', (error) => req.destroy(error));
      call.body.pipe(req);
    }
  });
}

/** Reads a whole response body as text. */
export async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A failed call, with the engine's own message (`{"message": ...}`). */
export class EngineCallError extends Error {
  constructor(
    readonly status: number,
    call: EngineCall,
    engineMessage: string,
  ) {
    super(`docker engine: ${call.method} ${call.path} answered ${status}: ${engineMessage}`);
    this.name = 'EngineCallError';
  }
}

/** Sends a call and returns its parsed JSON body (undefined for an empty body); a 4xx/5xx throws {@link EngineCallError}. */
export async function engineJson<T>(socketPath: string, call: EngineCall): Promise<T> {
  const res = await engineResponse(socketPath, { timeoutMs: 30_000, ...call });
  const text = await readBody(res);
  const status = res.statusCode ?? 0;
  if (status >= 400) throw new EngineCallError(status, call, messageOf(text));
  return (text.trim() === '' ? undefined : JSON.parse(text)) as T;
}

/**
 * Reads a progress stream (image create / load answer JSON objects one after
 * another) to its end; an `error` in it throws. Returns the objects.
 */
export async function readProgress(res: IncomingMessage, call: EngineCall): Promise<Array<Record<string, unknown>>> {
  const text = await readBody(res);
  const status = res.statusCode ?? 0;
  if (status >= 400) throw new EngineCallError(status, call, messageOf(text));
  const messages: Array<Record<string, unknown>> = [];
  // The engine writes one JSON object per line (sometimes \r\n separated).
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const message = JSON.parse(line) as Record<string, unknown>;
    if (typeof message.error === 'string') throw new EngineCallError(status, call, message.error);
    messages.push(message);
  }
  return messages;
}

/** Whether the engine answers `/_ping` with OK within the time (a paused or dead engine does not). */
export async function pingEngine(socketPath: string, timeoutMs = 2_000): Promise<boolean> {
  try {
    const res = await engineResponse(socketPath, { method: 'GET', path: '/_ping', timeoutMs });
    const body = await readBody(res);
    return res.statusCode === 200 && body.trim() === 'OK';
  } catch {
    return false;
  }
}

function messageOf(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON: the text itself is the message
  }
  return text.trim();
}

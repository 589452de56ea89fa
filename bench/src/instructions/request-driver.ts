// The load of the instruction counts: real HTTP/1.1 requests over one
// keep-alive TCP connection on the loopback, one at a time, from this (the
// parent) process, which callgrind does not watch.
//
// Why real sockets and not an in-process injector (light-my-request,
// Fastify's `inject`): Baton's lifecycle and probes work at the node:http
// server — the core's `serve()` creates the server, answers the probes in
// front of the app and tracks every connection and request through the
// server's events. An injector calls the app's handler with fake
// request/response objects and skips all of that, so it would leave out the
// very work being measured; it would also leave out Node's HTTP parsing and
// socket writes, which every real request pays and which the ratios to bare
// must include to mean "share of throughput kept".
//
// Why one request at a time: with one request in flight each request is one
// read and one write on the server, whatever the timing; with several, how
// many the server finds per read depends on scheduling, and so would the
// count. The requests are prepared once as bytes, so every app of a family is
// sent exactly the same bytes.
import { connect, type Socket } from 'node:net';

/** A request as sent: its bytes, and what its answer must be. */
export interface PreparedRequest {
  /** What the report calls it (e.g. `GET /orders/:id`). */
  label: string;
  bytes: Buffer;
  /** The status the answer must have. */
  status: number;
}

/** An answer as received. */
export interface DriverAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** Prepares a request: method, path, headers (Host and a keep-alive connection are added), optional body. */
export function prepareRequest(label: string, method: string, path: string, headers: Record<string, string>, body: string | undefined, status: number): PreparedRequest {
  const lines = [`${method} ${path} HTTP/1.1`, 'host: 127.0.0.1', 'connection: keep-alive', ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
  if (body !== undefined) lines.push(`content-length: ${payload.length}`);
  return { label, bytes: Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), payload]), status };
}

/** One keep-alive connection sending requests one at a time. */
export class RequestDriver {
  readonly #socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #waiting: { resolve: (answer: DriverAnswer) => void; reject: (error: Error) => void } | undefined;
  #failed: Error | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      this.#deliver();
    });
    const fail = (error: Error): void => {
      this.#failed ??= error;
      this.#waiting?.reject(error);
      this.#waiting = undefined;
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('the server closed the connection')));
  }

  /** Connects to 127.0.0.1:`port`. */
  static connect(port: number, timeoutMs = 60_000): Promise<RequestDriver> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no connection to 127.0.0.1:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new RequestDriver(socket));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** Sends one request and resolves with its answer (bounded: a server under callgrind answers in milliseconds, not minutes). */
  send(request: PreparedRequest, timeoutMs = 120_000): Promise<DriverAnswer> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#waiting) return Promise.reject(new Error('a request is already in flight'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined;
        reject(new Error(`${request.label}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting = {
        resolve: (answer) => {
          clearTimeout(timer);
          resolve(answer);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#socket.write(request.bytes);
    });
  }

  /**
   * Sends `count` requests of `sequence` in turn, starting at `offset`, each
   * after the answer to the one before; every answer must have its request's
   * status and, when `bodies` is given, exactly the body recorded for it.
   */
  async run(sequence: readonly PreparedRequest[], count: number, offset = 0, bodies?: readonly Buffer[]): Promise<void> {
    for (let i = 0; i < count; i += 1) {
      const at = (offset + i) % sequence.length;
      const request = sequence[at] as PreparedRequest;
      const answer = await this.send(request);
      if (answer.status !== request.status) throw new Error(`${request.label}: answered ${answer.status}, expected ${request.status}: ${answer.body.toString('utf8').slice(0, 300)}`);
      const expected = bodies?.[at];
      if (expected !== undefined && !expected.equals(answer.body)) {
        throw new Error(`${request.label}: the body changed from the one checked: ${answer.body.toString('utf8').slice(0, 300)}`);
      }
    }
  }

  close(): void {
    this.#socket.destroy();
  }

  #deliver(): void {
    const end = this.#buffer.indexOf(HEADER_END);
    if (end < 0 || this.#waiting === undefined) return;
    const head = this.#buffer.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0] ?? '')?.[1]);
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length']);
    if (!Number.isInteger(length)) {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting.reject(new Error(`an answer without Content-Length (${head[0] ?? ''}); the driver reads only those`));
      return;
    }
    const start = end + HEADER_END.length;
    if (this.#buffer.length < start + length) return;
    const body = Buffer.from(this.#buffer.subarray(start, start + length));
    this.#buffer = this.#buffer.subarray(start + length);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting.resolve({ status, headers, body });
  }
}

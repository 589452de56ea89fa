/**
 * One client request through the router, on undici's dispatch API (pinned 7.x; 8 needs Node 22):
 * its hooks say exactly how far an attempt got, which a safe retry needs. Retried on another
 * backend when nothing was sent (any method), or when the connection dropped before any response
 * byte and the request is idempotent (or has an `Idempotency-Key`) with its body kept; never once
 * a response byte arrived, nor after a headers timeout (504). At most four attempts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Backend } from './backend-table.js';
import { ReplayableBody } from './builtin-body.js';
import { forwardRequestHeaders, forwardResponseHeaders, trailersOf } from './builtin-headers.js';
import { CONNECT_FAILED, MAX_ATTEMPTS, NO_BACKEND_MESSAGE, errorCode, originForm, type ExchangeHost } from './exchange-host.js';
import { COMPARE_HEADER, ROUTE_HEADER, collector, lowerCased, type ShadowMirror } from './shadow-mirror.js';

/**
 * Methods whose requests may be sent again after the backend may have seen
 * them (RFC 9110 §9.2.2: idempotent). A request of another method (POST,
 * PATCH) is sent again only when it failed before any byte left the router,
 * or when the client marked it safe with an `Idempotency-Key` header.
 */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Errors that mean "the connection closed or reset": after the request was
 * sent and before any response byte, this is the keep-alive race (the backend
 * closed an idle pooled connection as the router wrote to it) or a backend
 * that died. Timeouts are not in here: a slow backend may be working on it.
 */
const CONNECTION_DROPPED = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);

function sendError(res: ServerResponse, status: number, message: string, closeConnection: boolean): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${message}\n`;
  const headers: Record<string, string | number> = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  };
  if (status === 503) headers['retry-after'] = '1';
  if (closeConnection) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** One client request, from its headers to the last byte of its answer (when it is retried: above). */
export class Exchange {
  readonly #host: ExchangeHost;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #method: string;
  readonly #path: string;
  readonly #headers: string[];
  readonly #body: ReplayableBody | undefined;
  readonly #retryableAfterSend: boolean;
  readonly #exclude = new Set<Backend>();
  readonly #avoid = new Set<Backend>();
  #attempts = 0;
  #clientGone = false;
  #controller: Dispatcher.DispatchController | undefined;
  /** True from an attempt's dispatch until it finished: a body timeout then surfaces as that attempt's failure. */
  #attemptActive = false;
  #done = false;
  #releaseStreamTurn: (() => void) | undefined;
  /** The shadow step's mirror, when this request gets a copy. */
  readonly #mirror: ShadowMirror | undefined;

  constructor(host: ExchangeHost, req: IncomingMessage, res: ServerResponse) {
    this.#host = host;
    this.#req = req;
    this.#res = res;
    this.#method = req.method ?? 'GET';
    this.#path = originForm(req.url);
    this.#headers = forwardRequestHeaders(req, { trustForwarded: host.options.trustForwarded });
    this.#retryableAfterSend = IDEMPOTENT_METHODS.has(this.#method) || req.headers['idempotency-key'] !== undefined;
    const contentLength = req.headers['content-length'];
    const hasBody = req.headers['transfer-encoding'] !== undefined || (contentLength !== undefined && contentLength !== '0');
    const shadow = host.shadow;
    this.#mirror = shadow !== undefined && shadow.wants(this.#method, req.headers) ? shadow : undefined;
    // The stable release's request of a mirrored pair asks the service for its route template (Baton-Route).
    if (this.#mirror !== undefined) this.#headers.push(COMPARE_HEADER, '1');
    const keepBytes = Math.max(this.#retryableAfterSend ? host.options.replayBodyBytes : 0, host.options.requestBufferBytes, this.#mirror?.settings.maxBodyBytes ?? 0);
    this.#body = hasBody
      ? new ReplayableBody(req, {
          keepBytes,
          idleTimeoutMs: host.options.clientBodyTimeoutMs,
          minBytesPerSecond: host.options.clientMinBodyBytesPerSecond,
          rateWindowMs: host.options.clientBodyRateWindowMs,
          onTimeout: () => this.#bodyTimedOut(),
        })
      : undefined;
  }

  start(): void {
    this.#res.on('close', () => {
      if (this.#res.writableFinished) return;
      this.#clientGone = true;
      this.#controller?.abort(new Error('the client closed the connection'));
    });
    if (this.#host.closed) {
      this.#fail(503, 'Service Unavailable: the Baton router is shutting down.');
      return;
    }
    if (this.#req.httpVersionMajor < 1) {
      // Node's parser takes a request line without a version as HTTP/0.9; no
      // client of a service speaks it, and nothing proxied should be that lax
      // (HAProxy refuses it too).
      this.#fail(400, 'Bad Request: the request line has no HTTP version (HTTP/0.9 is not supported); send HTTP/1.0 or HTTP/1.1.', true);
      return;
    }
    if (this.#host.hidden(this.#req.url ?? '/')) {
      this.#fail(404, 'Not Found');
      return;
    }
    const body = this.#body;
    const bufferBytes = this.#host.options.requestBufferBytes;
    if (body === undefined || bufferBytes === 0) {
      this.#attempt(undefined);
      return;
    }
    // The body (up to bufferBytes) is read before any backend connection is
    // taken: a client trickling its body holds its own connection, never one
    // of the backend pool's.
    void body.prefetch(bufferBytes).then(async () => {
      if (this.#done) return;
      if (this.#clientGone || body.failed) {
        this.#complete();
        this.#res.destroy();
        return;
      }
      if (!body.ended) {
        // Larger than the buffer: streamed, so it may hold a backend connection as long as the client is slow. Only a few at once.
        const release = await this.#host.streamTurn();
        if (this.#done) {
          release();
          return;
        }
        this.#releaseStreamTurn = release;
        if (this.#clientGone || body.failed) {
          this.#complete();
          this.#res.destroy();
          return;
        }
      }
      this.#attempt(undefined);
    });
  }

  /** The client went silent mid-body for longer than `clientBodyTimeoutMs`, or sent slower than `clientMinBodyBytesPerSecond`. */
  #bodyTimedOut(): void {
    // An attempt is sending the body: undici fails it, and #attemptFailed answers.
    if (this.#attemptActive) return;
    if (this.#done) {
      // Reading the rest of a body nobody needs: nothing to answer, just let go of the connection.
      this.#req.socket.destroy();
      return;
    }
    this.#timeout();
  }

  #timeout(): void {
    const why = this.#body?.failure ?? `the client sent nothing of its request body for ${this.#host.options.clientBodyTimeoutMs} ms`;
    this.#host.logger.info('client too slow sending its request body', { method: this.#method, path: this.#path, why });
    this.#fail(408, `Request Timeout: ${why}.`);
  }

  #attempt(previous: { status: number; message: string } | undefined): void {
    const backend = this.#attempts < MAX_ATTEMPTS ? this.#host.pick(this.#exclude, this.#avoid) : undefined;
    if (!backend) {
      if (previous) this.#fail(previous.status, previous.message);
      else this.#fail(503, NO_BACKEND_MESSAGE);
      return;
    }
    this.#attempts++;
    this.#host.started(backend);
    let sent = false;
    let responded = false;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      this.#controller = undefined;
      this.#attemptActive = false;
      this.#host.finished(backend);
    };
    const res = this.#res;
    const mirror = this.#mirror;
    // What the client gets, kept for the comparison: only for a mirrored request.
    const stable = mirror === undefined ? undefined : { started: performance.now(), status: 0, headers: {} as Record<string, string>, body: collector(mirror.settings.maxBodyBytes) };
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart: (controller) => {
        sent = true;
        this.#controller = controller;
        this.#host.connectSucceeded(backend);
        if (this.#clientGone) controller.abort(new Error('the client closed the connection'));
      },
      onResponseStart: (controller, statusCode, _headers, statusMessage) => {
        responded = true;
        // 1xx (100 Continue, 103 Early Hints): informational; Node already
        // answered the client's Expect itself. The final response follows.
        if (statusCode < 200) return;
        let headers = forwardResponseHeaders(controller.rawHeaders as Buffer[] | null);
        if (stable !== undefined) {
          stable.status = statusCode;
          stable.headers = lowerCased(headers);
          headers = withoutHeader(headers, ROUTE_HEADER);
        }
        try {
          res.writeHead(statusCode, statusMessage || undefined, headers);
        } catch (error) {
          // A header Node refuses to send (invalid characters): the response cannot be relayed.
          this.#host.logger.warn('backend response headers could not be relayed', { backend: backend.id, error: (error as Error).message });
          controller.abort(error as Error);
        }
      },
      onResponseData: (controller, chunk) => {
        stable?.body.add(chunk);
        if (!res.write(chunk)) {
          controller.pause();
          res.once('drain', () => controller.resume());
        }
      },
      onResponseEnd: (controller) => {
        finish();
        const trailers = trailersOf(controller.rawTrailers as Buffer[] | null);
        if (trailers) res.addTrailers(trailers);
        const requestBody = stable === undefined ? undefined : this.#body?.whole();
        this.#complete();
        res.end();
        // The client has its answer: only now does the candidate get its copy.
        if (mirror !== undefined && stable !== undefined && (this.#body === undefined || requestBody !== undefined)) {
          const answer = { status: stable.status, headers: stable.headers, ...stable.body.result(), latencyMs: performance.now() - stable.started };
          mirror.copy({ method: this.#method, path: this.#path, headers: this.#headers.slice(0, -2), body: requestBody }, answer, stable.headers[ROUTE_HEADER]);
        }
      },
      onResponseError: (_controller, error) => {
        finish();
        this.#attemptFailed(backend, error, sent, responded);
      },
    };
    let body: Readable | null = null;
    try {
      body = this.#body ? this.#body.open() : null;
    } catch (error) {
      finish();
      this.#fail(502, `Bad Gateway: the request body could not be resent (${(error as Error).message}).`);
      return;
    }
    this.#attemptActive = true;
    this.#host.poolOf(backend).dispatch({ method: this.#method, path: this.#path, headers: this.#headers, body, blocking: true, upgrade: null }, handler);
  }

  #attemptFailed(backend: Backend, error: Error, sent: boolean, responded: boolean): void {
    const code = errorCode(error);
    if (!this.#clientGone && this.#body?.timedOut && !this.#done) {
      this.#timeout();
      return;
    }
    if (this.#clientGone || this.#body?.failed) {
      this.#complete();
      this.#res.destroy();
      return;
    }
    if (responded) {
      this.#host.logger.warn('backend failed while answering', { backend: backend.id, code, method: this.#method, path: this.#path, headersSent: this.#res.headersSent });
      this.#fail(502, `Bad Gateway: the backend failed while answering (${code}).`);
      return;
    }
    if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') {
      this.#fail(400, 'Bad Request: the request body does not match its Content-Length.');
      return;
    }
    if (code === 'UND_ERR_HEADERS_TIMEOUT') {
      this.#host.logger.warn('backend did not answer in time', { backend: backend.id, method: this.#method, path: this.#path });
      this.#fail(504, 'Gateway Timeout: the backend did not answer in time.');
      return;
    }
    const bodyReplayable = this.#body === undefined || this.#body.replayable;
    let retry: boolean;
    if (!sent) {
      if (CONNECT_FAILED.has(code)) this.#host.connectFailed(backend, code);
      this.#exclude.add(backend);
      retry = bodyReplayable;
    } else {
      this.#avoid.add(backend);
      retry = CONNECTION_DROPPED.has(code) && this.#retryableAfterSend && bodyReplayable;
    }
    const status = sent ? 502 : 503;
    const message = sent
      ? `Bad Gateway: the backend closed the connection before answering (${code}).`
      : `Service Unavailable: no backend could be reached (${code}).`;
    if (retry) {
      this.#host.logger.info('retrying on another backend', { backend: backend.id, code, sent, method: this.#method, path: this.#path, attempt: this.#attempts });
      this.#attempt({ status, message });
      return;
    }
    this.#host.logger.warn('request failed', { backend: backend.id, code, sent, method: this.#method, path: this.#path, attempts: this.#attempts });
    this.#fail(status, message);
  }

  /** The exchange is over: the rest of the client's body (if the backend answered without it) is read and dropped. */
  #complete(): void {
    if (this.#done) return;
    this.#done = true;
    this.#releaseStreamTurn?.();
    this.#body?.discard();
  }

  #fail(status: number, message: string, close = false): void {
    const bodyLeft = this.#body !== undefined && !this.#body.ended;
    this.#complete();
    // A request body not read to its end: close the connection after the answer rather than read an upload nobody wants.
    sendError(this.#res, status, message, close || bodyLeft);
  }
}

/** A flat header list without one header (lower-case name). */
function withoutHeader(headers: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) if ((headers[i] as string).toLowerCase() !== name) out.push(headers[i] as string, headers[i + 1] as string);
  return out;
}

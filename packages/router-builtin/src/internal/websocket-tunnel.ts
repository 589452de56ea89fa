/**
 * An `Upgrade` request (WebSocket) through the router: sent to one ready backend and, on 101, the
 * two sockets are joined until either side closes. Retried like a GET when the connect fails; a
 * non-101 answer is relayed as is. A client gone before the answer aborts the upstream request (a
 * late 101 is closed at once), so the backend's in-flight count always returns to 0.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Backend } from './backend-table.js';
import { forwardRequestHeaders, forwardResponseHeaders } from './builtin-headers.js';
import { CONNECT_FAILED, MAX_ATTEMPTS, NO_BACKEND_MESSAGE, errorCode, originForm, type ExchangeHost } from './exchange-host.js';

const SWITCHING_PROTOCOLS = 'HTTP/1.1 101 Switching Protocols\r\n';
const TUNNEL_HALF_OPEN_MS = 5000;
const REASONS: Record<number, string> = { 404: 'Not Found', 502: 'Bad Gateway', 503: 'Service Unavailable' };

/** Tunnels one `Upgrade` request (the traffic server's `upgrade` listener), counted in flight while open. */
export function tunnelUpgrade(host: ExchangeHost, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const exclude = new Set<Backend>();
  socket.on('error', () => {});
  const refuse = (status: number, message: string): void => {
    const body = `${message}\n`;
    const headers = `content-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\n${status === 503 ? 'retry-after: 1\r\n' : ''}connection: close\r\n\r\n`;
    socket.end(`HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n${headers}${body}`);
  };
  if (host.hidden(req.url ?? '/')) {
    refuse(404, 'Not Found');
    return;
  }
  const rawUpgrade = req.headers.upgrade ?? 'websocket';
  const headers = forwardRequestHeaders(req, { trustForwarded: host.options.trustForwarded });
  // The client may hang up at any time before the tunnel exists: the attempt under way is aborted.
  let clientGone = false;
  let abortAttempt: (() => void) | undefined;
  socket.once('close', () => {
    clientGone = true;
    abortAttempt?.();
  });
  const attempt = (tries: number): void => {
    if (clientGone) return;
    const backend = host.closed || tries >= MAX_ATTEMPTS ? undefined : host.pick(exclude, new Set());
    if (!backend) {
      refuse(503, NO_BACKEND_MESSAGE);
      return;
    }
    host.started(backend);
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      abortAttempt = undefined;
      host.finished(backend);
    };
    let sent = false;
    let responseStarted = false;
    let controllerOf: Dispatcher.DispatchController | undefined;
    // Before onRequestStart there is no controller yet: the abort waits for it.
    abortAttempt = () => controllerOf?.abort(new Error('the client closed the connection before the upgrade'));
    host.poolOf(backend).dispatch(
      { method: (req.method ?? 'GET') as Dispatcher.HttpMethod, path: originForm(req.url), headers, body: null, upgrade: rawUpgrade },
      {
        onRequestStart: (controller) => {
          sent = true;
          controllerOf = controller;
          host.connectSucceeded(backend);
          if (clientGone) controller.abort(new Error('the client closed the connection before the upgrade'));
        },
        onRequestUpgrade: (controller, statusCode, _headers, upstream) => {
          upstream.on('error', () => {});
          const close = (): void => {
            finish();
            socket.destroy();
            upstream.destroy();
          };
          if (clientGone || socket.destroyed) {
            // The client left while the backend was answering: nobody to join it to.
            close();
            return;
          }
          const lines = forwardResponseHeaders(controller.rawHeaders as Buffer[] | null);
          let text = statusCode === 101 ? SWITCHING_PROTOCOLS : `HTTP/1.1 ${statusCode} \r\n`;
          for (let i = 0; i + 1 < lines.length; i += 2) text += `${lines[i]}: ${lines[i + 1]}\r\n`;
          text += `connection: upgrade\r\nupgrade: ${rawUpgrade}\r\n\r\n`;
          socket.write(text);
          if (head.length > 0) upstream.write(head);
          // Either side's FIN is passed on (pipe ends the other side); once
          // both sides ended, or 5 s after the first did, the tunnel is
          // closed (server sockets allow half-open, so nothing else would).
          let ends = 0;
          let halfOpen: NodeJS.Timeout | undefined;
          const ended = (): void => {
            ends++;
            if (ends >= 2) close();
            else halfOpen = setTimeout(close, TUNNEL_HALF_OPEN_MS).unref();
          };
          upstream.on('end', ended);
          socket.on('end', ended);
          upstream.on('close', close);
          socket.on('close', () => {
            clearTimeout(halfOpen);
            close();
          });
          upstream.pipe(socket);
          socket.pipe(upstream);
        },
        onResponseStart: (controller, statusCode, _headers, statusMessage) => {
          // The backend answered without upgrading: relay its answer and close.
          responseStarted = true;
          const lines = forwardResponseHeaders(controller.rawHeaders as Buffer[] | null);
          let text = `HTTP/1.1 ${statusCode} ${statusMessage ?? ''}\r\n`;
          for (let i = 0; i + 1 < lines.length; i += 2) text += `${lines[i]}: ${lines[i + 1]}\r\n`;
          socket.write(`${text}connection: close\r\n\r\n`);
        },
        onResponseData: (controller, chunk) => {
          // With backpressure, as the other exchanges: a client reading slowly must not make the router buffer the backend's whole answer.
          if (!socket.write(chunk)) {
            controller.pause();
            socket.once('drain', () => controller.resume());
          }
        },
        onResponseEnd: () => {
          finish();
          socket.end();
        },
        onResponseError: (_controller, error) => {
          finish();
          const code = errorCode(error);
          if (clientGone) {
            socket.destroy();
          } else if (responseStarted) {
            socket.destroy();
          } else if (!sent) {
            if (CONNECT_FAILED.has(code)) host.connectFailed(backend, code);
            exclude.add(backend);
            attempt(tries + 1);
          } else {
            host.logger.warn('upgrade failed', { backend: backend.id, code });
            refuse(502, `Bad Gateway: the backend failed the upgrade (${code}).`);
          }
        },
      },
    );
  };
  attempt(0);
}

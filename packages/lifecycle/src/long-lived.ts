import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse, ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';

/**
 * A connection that does not end by itself: a WebSocket (or other upgraded)
 * socket, or a Server-Sent Events response. Baton asks it to close when the
 * drain begins and destroys it at the drain deadline.
 *
 * Over HTTP/2 an SSE response is one stream of a session (`http2-event-stream`):
 * `request` and `response` are there when the server uses the compatibility
 * API (a `request` listener, as Fastify and Express do), `stream` always.
 */
export type LongLivedConnection =
  | { kind: 'upgrade'; request: IncomingMessage; socket: Duplex }
  | { kind: 'event-stream'; request: IncomingMessage; response: ServerResponse }
  | {
      kind: 'http2-event-stream';
      stream: ServerHttp2Stream;
      /** The request headers of the stream. */
      headers: IncomingHttpHeaders;
      request?: Http2ServerRequest;
      response?: Http2ServerResponse;
    };

/** Asks one long-lived connection to close gracefully. */
export type CloseLongLived = (connection: LongLivedConnection) => void | Promise<void>;

// RFC 6455 close frame, unmasked (server to client): FIN + opcode 8, length 2, code 1001 "going away".
const WEBSOCKET_GOING_AWAY = Buffer.from([0x88, 0x02, 0x03, 0xe9]);

/**
 * The default close: an SSE response is ended (EventSource clients reconnect,
 * to another instance), over HTTP/1.1 or HTTP/2; a WebSocket gets a 1001 "going away" close frame and
 * its socket is ended; any other upgrade is ended. Pass your own
 * `closeLongLived` when a library (e.g. `ws`) owns the socket.
 */
export function defaultCloseLongLived(connection: LongLivedConnection): void {
  if (connection.kind === 'event-stream') {
    connection.response.end();
    return;
  }
  if (connection.kind === 'http2-event-stream') {
    // Ends the stream only: its session (other streams) is closed by the drain with GOAWAY.
    if (connection.response) connection.response.end();
    else connection.stream.end();
    return;
  }
  const protocol = String(connection.request.headers.upgrade ?? '').toLowerCase();
  if (protocol === 'websocket' && connection.socket.writable) connection.socket.write(WEBSOCKET_GOING_AWAY);
  connection.socket.end();
}

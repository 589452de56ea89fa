import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { BatonError, silentLogger, type Logger } from '@baton/lifecycle';

/** The client-facing limits of the built-in router's traffic server. */
export interface TrafficLimits {
  /**
   * Client connections open at once (keep-alive and WebSocket ones count).
   * One more is answered `503 Service Unavailable` with `Retry-After: 1` and
   * closed, never queued: a flood of idle or slow clients cannot take the
   * router's memory and file descriptors. Default 2048.
   */
  maxConnections: number;
  /** Longest time a client may take to send a request's headers; then 408 and the connection closes. Default 10000 (HAProxy's `timeout http-request` in Baton's config). */
  headersTimeoutMs: number;
  /** How long an idle keep-alive client connection stays open between requests. Default 30000. */
  keepAliveTimeoutMs: number;
  /** Largest request head (request line and headers); more is answered 431. Default 16384 (Node's). */
  maxHeaderBytes: number;
  /**
   * Longest silence of a client while the router waits for its request body;
   * then 408 and the connection closes (the proxy's `clientBodyTimeoutMs`).
   * Default 30000.
   */
  bodyTimeoutMs: number;
  /**
   * Least rate, in bytes per second, a client must send its request body at
   * while the router reads it, measured over each `bodyRateWindowMs` of
   * reading; slower gets 408 and the connection closes (the proxy's
   * `clientMinBodyBytesPerSecond`). Without it a client sending one byte
   * just inside `bodyTimeoutMs` holds a backend connection for as long as it
   * likes. 0: no minimum. Default 1024 (a large upload on a slow link sends
   * far more; Kestrel's MinRequestBodyDataRate is 240).
   */
  minBodyBytesPerSecond: number;
  /** The stretch of reading time the minimum body rate is measured over. Default 10000. */
  bodyRateWindowMs: number;
  /**
   * Request bodies up to this size are read whole before a backend
   * connection is taken (the proxy's `requestBufferBytes`). Default 65536.
   */
  bufferBytes: number;
}

export const DEFAULT_TRAFFIC_LIMITS: TrafficLimits = {
  maxConnections: 2048,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 30_000,
  maxHeaderBytes: 16 * 1024,
  bodyTimeoutMs: 30_000,
  minBodyBytesPerSecond: 1024,
  bodyRateWindowMs: 10_000,
  bufferBytes: 64 * 1024,
};

const LIMITS: Record<keyof TrafficLimits, [number, number]> = {
  maxConnections: [1, 1_000_000],
  headersTimeoutMs: [100, 3_600_000],
  keepAliveTimeoutMs: [1, 3_600_000],
  maxHeaderBytes: [1024, 1024 * 1024],
  bodyTimeoutMs: [100, 3_600_000],
  minBodyBytesPerSecond: [0, 1_000_000_000],
  bodyRateWindowMs: [100, 3_600_000],
  bufferBytes: [0, 64 * 1024 * 1024],
};

/** Checks limits and fills in the defaults; throws BATON_ERR_INVALID_OPTION naming the bad one. */
export function resolveTrafficLimits(input: Partial<TrafficLimits> | undefined): TrafficLimits {
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input))) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `built-in router: \`limits\` must be an object { ${Object.keys(LIMITS).join(', ')} }; got ${JSON.stringify(input)}.`);
  }
  const out = { ...DEFAULT_TRAFFIC_LIMITS };
  const unknown = Object.keys(input ?? {}).filter((key) => !(key in LIMITS));
  if (unknown.length > 0) throw new BatonError('BATON_ERR_INVALID_OPTION', `built-in router: unknown \`limits\` key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; known: ${Object.keys(LIMITS).join(', ')}.`);
  for (const [key, [min, max]] of Object.entries(LIMITS) as [keyof TrafficLimits, [number, number]][]) {
    const value = input?.[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new BatonError('BATON_ERR_INVALID_OPTION', `built-in router: \`limits.${key}\` must be an integer ${min}-${max}; got ${JSON.stringify(value)}.`);
    }
    out[key] = value;
  }
  return out;
}

/** The request handlers of the proxy. */
export interface TrafficHandlers {
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/** The built-in router's traffic server: a connection gate in front of a node:http server. */
export interface TrafficServer {
  /** The listening server (listen on it, read its address). */
  readonly server: NetServer;
  /** The HTTP server the admitted connections are handed to. */
  readonly http: HttpServer;
  /** Client connections open now. */
  readonly connections: number;
  /** Client connections refused with 503 because {@link TrafficLimits.maxConnections} were open. */
  readonly refused: number;
  /** Stops accepting; idle keep-alive connections close at once, busy ones after their answer. */
  stopAccepting(): void;
  /** Closes every connection, busy or not. */
  closeAll(): void;
}

const OVER_LIMIT_BODY = 'Service Unavailable: the Baton router is at its connection limit; retry shortly.\n';
const OVER_LIMIT_ANSWER =
  'HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\ncache-control: no-store\r\nretry-after: 1\r\nconnection: close\r\n' +
  `content-length: ${Buffer.byteLength(OVER_LIMIT_BODY)}\r\n\r\n${OVER_LIMIT_BODY}`;
/** How long a refused connection is read (and dropped) after its 503, so the client's unread request does not turn our close into a reset that loses the 503. */
const LINGER_MS = 1000;

const CLIENT_ERROR_ANSWERS: Record<string, string> = {
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
};

/**
 * Node's own answer to a client error (400, 408, 431) writes it and destroys
 * the socket at once: with the client still sending (a slowloris trickling
 * headers, the rest of a bad request), closing a socket with unread input
 * makes the kernel send a reset, and the client loses the answer — seen for
 * a few of 60 slowloris clients on a busy machine. As nginx's lingering
 * close: the answer is sent, our side ends, what the client still sends is
 * read and dropped for up to a second, then the socket is destroyed.
 */
function clientErrorAnswerer(): (error: NodeJS.ErrnoException, socket: Duplex) => void {
  // Node's parser may report more than one error for one socket: answered once.
  const answered = new WeakSet<Duplex>();
  return (error, socket) => {
    if (answered.has(socket)) return;
    answered.add(socket);
    socket.on('error', () => {});
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent === true) {
      socket.destroy();
      return;
    }
    const status = CLIENT_ERROR_ANSWERS[error.code ?? ''] ?? '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    socket.resume();
    socket.once('end', () => socket.destroy());
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
}

/**
 * The built-in router's traffic server. Node's http server does the HTTP/1.1
 * parsing and its protections: 400 and a closed connection for smuggling
 * attempts (Transfer-Encoding with Content-Length, two different
 * Content-Lengths, a Transfer-Encoding that is not `chunked` last), 431 for
 * a head past `maxHeaderBytes`, 408 for headers slower than
 * `headersTimeoutMs`. In front of it a plain TCP server counts connections:
 * past `maxConnections` the new one gets a 503 with `Retry-After` and is
 * closed before the HTTP server sees it (Node's own `maxConnections` would
 * drop it without a word, which a client cannot tell from a crash).
 */
export function createTrafficServer(handlers: TrafficHandlers, limits: TrafficLimits, logger: Logger = silentLogger): TrafficServer {
  const http = createHttpServer({
    // The body's own timeout (the proxy's clientBodyTimeoutMs) is per chunk; a whole-request cap would cut long uploads.
    requestTimeout: 0,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    maxHeaderSize: limits.maxHeaderBytes,
    // Node checks the headers timeout on this interval (30 s by default): a 10 s limit would be up to 40 s.
    connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.floor(limits.headersTimeoutMs / 4))),
  });
  http.on('request', handlers.handleRequest);
  http.on('upgrade', handlers.handleUpgrade);
  http.on('clientError', clientErrorAnswerer());
  // The http server never listens itself (the gate hands it connections);
  // its timeout bookkeeping starts on 'listening', so it is told.
  http.emit('listening');

  let connections = 0;
  let refused = 0;
  let lastWarnMs = 0;
  const sockets = new Set<Socket>();
  const server = createNetServer({ pauseOnConnect: false }, (socket) => {
    if (connections >= limits.maxConnections) {
      refused++;
      const now = Date.now();
      if (now - lastWarnMs > 10_000) {
        lastWarnMs = now;
        logger.warn('connection limit reached: new connections answered 503', { maxConnections: limits.maxConnections, refused });
      }
      socket.on('error', () => {});
      socket.end(OVER_LIMIT_ANSWER);
      socket.resume();
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
      return;
    }
    connections++;
    sockets.add(socket);
    socket.once('close', () => {
      connections--;
      sockets.delete(socket);
    });
    http.emit('connection', socket);
  });

  return {
    server,
    http,
    get connections() {
      return connections;
    },
    get refused() {
      return refused;
    },
    stopAccepting() {
      server.close();
      http.close();
      http.closeIdleConnections();
    },
    closeAll() {
      http.closeAllConnections();
      // Upgraded sockets are no longer the http server's.
      for (const socket of sockets) socket.destroy();
    },
  };
}

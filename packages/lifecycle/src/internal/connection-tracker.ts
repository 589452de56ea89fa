import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Http2SecureServer, Http2Server, Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { Server as TlsServer, type TLSSocket } from 'node:tls';
import { Http2SessionTracker } from './http2-session-tracker.js';
import type { LongLivedConnection } from '../long-lived.js';

/** Per-socket bookkeeping, kept on the socket itself (one property read per request, no map lookup). */
interface SocketState {
  acceptedAt: number;
  /**
   * Responses of this socket, oldest first, that were not done when last
   * looked at (usually one; more only with pipelining). Whether they are
   * done is read from the response itself when needed, so serving a request
   * costs no event listener until a drain begins.
   */
  pending: ServerResponse[];
  served: number;
  upgrade: LongLivedConnection | undefined;
  /**
   * A TCP socket of a TLS server whose handshake has not finished: it never
   * carries a request itself (the TLS socket wrapping it does), so it is
   * never counted as work and leaves the set once the handshake is done.
   */
  handshake: boolean;
  /** A TLS server's TCP socket: its address pair, the key it is found by if `_parent` is missing. */
  tuple: string | undefined;
}

const STATE = Symbol('baton.socketState');
type TrackedSocket = Duplex & { [STATE]?: SocketState };

/** A live view of a server's connections, for drain events. */
export interface ConnectionCounts {
  inFlight: number;
  openSockets: number;
  longLived: number;
}

/** What the tracker can attach to: a node:http or node:https server, or a node:http2 one. */
export type TrackableServer = Server | Http2Server | Http2SecureServer;

/** True for node:http2 servers (plain or secure), whose connections are sessions of streams. */
export function isHttp2Server(server: TrackableServer): server is Http2Server | Http2SecureServer {
  // No public class to test against: http2 servers are the ones with updateSettings().
  return typeof (server as { updateSettings?: unknown }).updateSettings === 'function';
}

/** Records one request; what a server created by Baton calls from its own request listener. */
export type TrackRequest = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * Knows every socket and every in-flight request of the servers it is attached
 * to, so a drain can end by fact (nothing in flight) instead of by timer.
 * It hooks node:http events only, so it works under Express, Fastify or bare
 * node:http alike.
 *
 * This runs on every request, so outside a drain the request path is a
 * property read and an array push: no listener, no allocation. Only once a
 * drain begins do responses get a (shared) close listener, to end sockets and
 * report progress as soon as they finish.
 */
export class ConnectionTracker {
  readonly #sockets = new Set<TrackedSocket>();
  readonly #now: () => number;
  readonly #onResponseClose: (this: ServerResponse) => void;
  #closing = false;
  #draining = false;
  #tlsLinkMissing = false;
  /** TCP sockets of TLS servers in their handshake, by address pair (see #secured). */
  readonly #handshakes = new Map<string, TrackedSocket>();
  /** HTTP/2 sessions and streams, once an HTTP/2 server is attached. */
  #http2: Http2SessionTracker | undefined;
  #onRequest: ((request: IncomingMessage) => void) | undefined;
  #onChange: (() => void) | undefined;

  constructor(now: () => number) {
    this.#now = now;
    const tracker = this;
    // Node calls listeners with the emitter as `this`: one function serves every response.
    this.#onResponseClose = function (this: ServerResponse) {
      tracker.#responseClosed(this);
    };
  }

  /** Called on every request that arrives while draining (for "requests after readiness failed" figures). */
  set onRequest(listener: ((request: IncomingMessage) => void) | undefined) {
    this.#onRequest = listener;
  }

  /** Called whenever a request ends or a socket closes while draining. */
  set onChange(listener: (() => void) | undefined) {
    this.#onChange = listener;
  }

  /**
   * Tracks `server`. With `inline`, the caller owns the server's only request
   * listener and calls the returned function first thing in it (saving an
   * event listener per request); otherwise a 'request' listener is prepended.
   */
  attach(server: TrackableServer, options: { inline?: boolean } = {}): TrackRequest {
    const track: TrackRequest = (request, response) => this.#request(request, response);
    const http2 = isHttp2Server(server);
    if (http2) {
      this.#http2 ??= new Http2SessionTracker(this.#now, () => this.#changed());
      this.#http2.attach(server);
    }
    if (server instanceof TlsServer) {
      // On a TLS server 'connection' hands over the TCP socket, but requests
      // arrive on the TLSSocket that wraps it: tracking both counted one
      // connection twice, and the TCP one (never seen serving a request) was
      // destroyed as idle at stop-accepting, resetting the request in flight.
      // The TCP socket is tracked only while its handshake runs.
      server.prependListener('connection', (socket: Socket) => {
        const state = this.#track(socket);
        state.handshake = true;
        state.tuple = addressPair(socket);
        if (state.tuple !== undefined) this.#handshakes.set(state.tuple, socket);
      });
      server.prependListener('secureConnection', (socket: TLSSocket) => this.#secured(socket, http2));
    } else if (!http2) {
      // (A cleartext HTTP/2 connection becomes a session at once: the session is tracked instead.)
      server.prependListener('connection', (socket: Socket) => this.#track(socket));
    }
    if (http2) {
      (server as Http2Server).prependListener('request', track as never);
      return track;
    }
    if (!options.inline) server.prependListener('request', track);
    // An upgraded socket (WebSocket) and a CONNECT tunnel (a forward proxy)
    // leave HTTP: long-lived, each is tracked as an upgrade. A request Node
    // hands to a checkContinue / checkExpectation listener instead of
    // 'request' is tracked as a request. With no listener for one of these
    // events Node acts by itself (refuses the upgrade, answers 100 Continue
    // and emits 'request', answers 417); adding ours unconditionally would
    // change that, so each goes in with the user's first listener.
    const onUpgrade = (request: IncomingMessage, socket: Duplex): void => this.#upgrade(request, socket);
    // (Typed loosely, internal only: node:http types each event's listener apart.)
    const ours = new Map<string, (...args: any[]) => void>([
      ['upgrade', onUpgrade],
      ['connect', onUpgrade],
      ['checkContinue', track],
      ['checkExpectation', track],
    ]);
    for (const [event, listener] of ours) {
      if (server.listenerCount(event) === 0) continue;
      server.prependListener(event, listener);
      ours.delete(event);
    }
    if (ours.size === 0) return track;
    const follow = (event: string | symbol): void => {
      if (typeof event !== 'string') return;
      const listener = ours.get(event);
      if (!listener) return;
      ours.delete(event);
      if (ours.size === 0) server.off('newListener', follow);
      // 'newListener' fires before the user's listener is added; ours goes first anyway.
      server.prependListener(event, listener);
    };
    server.on('newListener', follow);
    return track;
  }

  counts(): ConnectionCounts {
    let inFlight = 0;
    let longLived = 0;
    for (const socket of this.#sockets) {
      const state = socket[STATE];
      if (!state) continue;
      if (state.upgrade) longLived += 1;
      for (const response of state.pending) {
        if (isDone(response)) continue;
        if (isEventStream(response)) longLived += 1;
        else inFlight += 1;
      }
    }
    const http2 = this.#http2?.counts();
    if (http2) return { inFlight: inFlight + http2.inFlight, openSockets: this.#sockets.size + http2.sessions, longLived: longLived + http2.longLived };
    return { inFlight, openSockets: this.#sockets.size, longLived };
  }

  /** From now on every response says `Connection: close`, so keep-alive clients move elsewhere. */
  startDraining(): void {
    this.#draining = true;
    this.#http2?.startDraining();
    for (const socket of this.#sockets) {
      for (const response of socket[STATE]?.pending ?? []) {
        if (isDone(response)) continue;
        markClose(response);
        response.on('close', this.#onResponseClose);
      }
    }
  }

  /** The listeners are closed: idle sockets go now, busy ones as soon as their last response ends. */
  startClosing(): void {
    this.#closing = true;
    this.#http2?.startClosing();
    this.sweep();
  }

  /**
   * Closes every socket that has nothing in flight. A socket accepted but not
   * yet used gets `freshGraceMs` to send its first request, since the client
   * (often a load balancer) opened it to send one.
   */
  sweep(freshGraceMs = 1000): void {
    this.#http2?.sweep(freshGraceMs);
    const now = this.#now();
    for (const socket of this.#sockets) {
      const state = socket[STATE];
      if (!state || state.upgrade || active(state) > 0) continue;
      if (state.served === 0 && now - state.acceptedAt < freshGraceMs) continue;
      // Without Node's link from a TLS socket to its TCP socket, a TCP socket
      // still listed may carry a live TLS connection: it goes with it (or at the deadline).
      if (state.handshake && this.#tlsLinkMissing) continue;
      socket.destroy();
    }
  }

  /** The long-lived connections open now. */
  longLived(): LongLivedConnection[] {
    const found: LongLivedConnection[] = [];
    for (const socket of this.#sockets) {
      const state = socket[STATE];
      if (!state) continue;
      if (state.upgrade) found.push(state.upgrade);
      for (const response of state.pending) {
        if (!isDone(response) && isEventStream(response)) found.push({ kind: 'event-stream', request: response.req, response });
      }
    }
    if (this.#http2) found.push(...this.#http2.longLived());
    return found;
  }

  /** True when no socket is left open. */
  isEmpty(): boolean {
    return this.#sockets.size === 0 && (this.#http2?.isEmpty() ?? true);
  }

  /** Destroys every socket left; returns how many had work in flight (forced closes). */
  destroyAll(): number {
    let forced = this.#http2?.destroyAll() ?? 0;
    for (const socket of this.#sockets) {
      const state = socket[STATE];
      if (state && !state.handshake && (state.upgrade || active(state) > 0)) forced += 1;
      socket.destroy();
    }
    return forced;
  }

  #track(socket: TrackedSocket): SocketState {
    const existing = socket[STATE];
    if (existing) return existing;
    const state: SocketState = { acceptedAt: this.#now(), pending: [], served: 0, upgrade: undefined, handshake: false, tuple: undefined };
    socket[STATE] = state;
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.#forgetHandshake(socket, state);
      this.#changed();
    });
    return state;
  }

  /** The TLS handshake finished: the TLS socket is the connection from now on, the TCP socket under it is not. */
  #secured(socket: TLSSocket & TrackedSocket, http2: boolean): void {
    // `_parent` is Node's (undocumented, long-standing, and used by Node
    // itself) link from a server-side TLSSocket to the TCP socket it wraps; no
    // public API gives it. Without it, the documented address pair (remote and
    // local address and port, which the TLS socket reports from the TCP one)
    // finds it; only a connection with neither (a pipe) leaves the TCP socket
    // listed, to go with its TLS socket.
    const linked = (socket as { _parent?: unknown })._parent as TrackedSocket | undefined;
    const pair = linked?.[STATE] ? undefined : addressPair(socket);
    const parent = linked?.[STATE] ? linked : pair === undefined ? undefined : this.#handshakes.get(pair);
    const raw = parent?.[STATE];
    if (parent && raw) {
      this.#sockets.delete(parent);
      this.#forgetHandshake(parent, raw);
    } else if (!linked) {
      this.#tlsLinkMissing = true;
    }
    // An HTTP/2 connection is tracked as its session; one that chose HTTP/1.1 (allowHTTP1) as a socket.
    if (http2 && socket.alpnProtocol === 'h2') return;
    const state = this.#track(socket);
    if (raw) state.acceptedAt = raw.acceptedAt;
  }

  #forgetHandshake(socket: TrackedSocket, state: SocketState): void {
    if (state.tuple !== undefined && this.#handshakes.get(state.tuple) === socket) this.#handshakes.delete(state.tuple);
  }

  #request(request: IncomingMessage, response: ServerResponse): void {
    if (request.httpVersionMajor === 2) {
      // Its stream is tracked by the HTTP/2 half; a Connection header is forbidden in HTTP/2.
      // (On an HTTP/2 server a 'request' hands over the compat Http2ServerRequest/Response.)
      this.#http2?.noteRequest(request as unknown as Http2ServerRequest, response as unknown as Http2ServerResponse);
      if (this.#draining) this.#onRequest?.(request);
      return;
    }
    const socket: TrackedSocket = request.socket;
    const state = socket[STATE] ?? this.#track(socket);
    state.served += 1;
    const pending = state.pending;
    // Usually the one entry is the previous, finished response: forget it in place.
    if (pending.length > 0) dropDone(pending);
    pending.push(response);
    if (this.#draining) {
      markClose(response);
      response.on('close', this.#onResponseClose);
      this.#onRequest?.(request);
    }
  }

  #responseClosed(response: ServerResponse): void {
    const socket = response.req.socket as Socket & { [STATE]?: SocketState };
    const state = socket[STATE];
    // A response whose headers went out before the drain carried keep-alive;
    // once it is done the socket has no reason to stay.
    if (state && this.#closing && !state.upgrade && active(state) === 0) socket.destroySoon();
    this.#changed();
  }

  #upgrade(request: IncomingMessage, socket: Duplex): void {
    this.#track(socket).upgrade = { kind: 'upgrade', request, socket };
  }

  #changed(): void {
    if (this.#draining) this.#onChange?.();
  }
}

/** Remote and local address and port: one TCP connection's key while it is open (undefined on a pipe). */
function addressPair(socket: Socket): string | undefined {
  if (socket.remotePort === undefined || socket.localPort === undefined) return undefined;
  return `${socket.remoteAddress} ${socket.remotePort} ${socket.localAddress} ${socket.localPort}`;
}

/** A response is done once fully handed to the OS, or when it can never be (its socket died). */
function isDone(response: ServerResponse): boolean {
  return response.writableFinished || response.destroyed;
}

/** Responses of the socket still being worked on. */
function active(state: SocketState): number {
  let count = 0;
  for (const response of state.pending) if (!isDone(response)) count += 1;
  return count;
}

/** Removes done responses in place (no new array on the request path). */
function dropDone(pending: ServerResponse[]): void {
  let kept = 0;
  for (const response of pending) if (!isDone(response)) pending[kept++] = response;
  pending.length = kept;
}

function markClose(response: ServerResponse): void {
  if (!response.headersSent) response.setHeader('Connection', 'close');
}

/**
 * An SSE stream: its headers are out (before that it is an ordinary request
 * still being computed, which the drain must let finish) and either the client
 * asked for a stream (EventSource always sends `Accept: text/event-stream`) or
 * the app set that content type with setHeader. (Headers given to writeHead
 * directly cannot be read back, hence both.)
 */
function isEventStream(response: ServerResponse): boolean {
  if (!response.headersSent) return false;
  const type = response.getHeader('content-type');
  if (typeof type === 'string' && type.toLowerCase().startsWith('text/event-stream')) return true;
  const accept = response.req.headers.accept;
  return typeof accept === 'string' && accept.toLowerCase().includes('text/event-stream');
}

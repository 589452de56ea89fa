import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { LongLivedConnection } from '../long-lived.js';

interface SocketState {
  acceptedAt: number;
  /** Requests on this socket whose response has not closed yet. */
  active: Set<ServerResponse>;
  served: number;
  upgrade: LongLivedConnection | undefined;
}

/** A live view of a server's connections, for drain events. */
export interface ConnectionCounts {
  inFlight: number;
  openSockets: number;
  longLived: number;
}

/**
 * Knows every socket and every in-flight request of the servers it is attached
 * to, so a drain can end by fact (nothing in flight) instead of by timer.
 * It hooks node:http events only, so it works under Express, Fastify or bare
 * node:http alike.
 */
export class ConnectionTracker {
  readonly #sockets = new Map<Duplex, SocketState>();
  readonly #now: () => number;
  #closing = false;
  #draining = false;
  #onRequest: ((request: IncomingMessage) => void) | undefined;
  #onChange: (() => void) | undefined;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Called on every request (for "requests after readiness failed" figures). */
  set onRequest(listener: ((request: IncomingMessage) => void) | undefined) {
    this.#onRequest = listener;
  }

  /** Called whenever a request ends or a socket closes while draining. */
  set onChange(listener: (() => void) | undefined) {
    this.#onChange = listener;
  }

  attach(server: Server): void {
    server.prependListener('connection', (socket: Socket) => this.#track(socket));
    server.prependListener('request', (request: IncomingMessage, response: ServerResponse) =>
      this.#request(request, response),
    );
    // With no 'upgrade' listener Node does not switch protocols; adding ours
    // unconditionally would change that, so install it with the user's first one.
    const onUpgrade = (request: IncomingMessage, socket: Duplex): void => this.#upgrade(request, socket);
    if (server.listenerCount('upgrade') > 0) {
      server.prependListener('upgrade', onUpgrade);
      return;
    }
    const follow = (event: string | symbol): void => {
      if (event !== 'upgrade') return;
      server.off('newListener', follow);
      // 'newListener' fires before the user's listener is added; ours goes first anyway.
      server.prependListener('upgrade', onUpgrade);
    };
    server.on('newListener', follow);
  }

  counts(): ConnectionCounts {
    let inFlight = 0;
    let longLived = 0;
    for (const state of this.#sockets.values()) {
      if (state.upgrade) longLived += 1;
      for (const response of state.active) {
        if (isEventStream(response)) longLived += 1;
        else inFlight += 1;
      }
    }
    return { inFlight, openSockets: this.#sockets.size, longLived };
  }

  /** From now on every response says `Connection: close`, so keep-alive clients move elsewhere. */
  startDraining(): void {
    this.#draining = true;
    for (const state of this.#sockets.values()) {
      for (const response of state.active) markClose(response);
    }
  }

  /** The listeners are closed: idle sockets go now, busy ones as soon as their last response ends. */
  startClosing(): void {
    this.#closing = true;
    this.sweep();
  }

  /**
   * Closes every socket that has nothing in flight. A socket accepted but not
   * yet used gets `freshGraceMs` to send its first request, since the client
   * (often a load balancer) opened it to send one.
   */
  sweep(freshGraceMs = 1000): void {
    const now = this.#now();
    for (const [socket, state] of this.#sockets) {
      if (state.upgrade || state.active.size > 0) continue;
      if (state.served === 0 && now - state.acceptedAt < freshGraceMs) continue;
      socket.destroy();
    }
  }

  /** The long-lived connections open now. */
  longLived(): LongLivedConnection[] {
    const found: LongLivedConnection[] = [];
    for (const state of this.#sockets.values()) {
      if (state.upgrade) found.push(state.upgrade);
      for (const response of state.active) {
        if (isEventStream(response)) found.push({ kind: 'event-stream', request: response.req, response });
      }
    }
    return found;
  }

  /** True when no socket is left open. */
  isEmpty(): boolean {
    return this.#sockets.size === 0;
  }

  /** Destroys every socket left; returns how many had work in flight (forced closes). */
  destroyAll(): number {
    let forced = 0;
    for (const [socket, state] of this.#sockets) {
      if (state.upgrade || state.active.size > 0) forced += 1;
      socket.destroy();
    }
    return forced;
  }

  #track(socket: Duplex): void {
    if (this.#sockets.has(socket)) return;
    this.#sockets.set(socket, { acceptedAt: this.#now(), active: new Set(), served: 0, upgrade: undefined });
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.#changed();
    });
  }

  #request(request: IncomingMessage, response: ServerResponse): void {
    const socket = request.socket;
    this.#track(socket);
    const state = this.#sockets.get(socket);
    if (!state) return;
    state.active.add(response);
    state.served += 1;
    if (this.#draining) markClose(response);
    this.#onRequest?.(request);
    response.once('close', () => {
      state.active.delete(response);
      // A response whose headers went out before the drain carried keep-alive;
      // once it is done the socket has no reason to stay.
      if (this.#closing && state.active.size === 0 && !state.upgrade) socket.destroySoon();
      this.#changed();
    });
  }

  #upgrade(request: IncomingMessage, socket: Duplex): void {
    this.#track(socket);
    const state = this.#sockets.get(socket);
    if (state) state.upgrade = { kind: 'upgrade', request, socket };
  }

  #changed(): void {
    if (this.#draining) this.#onChange?.();
  }
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

import type { Http2SecureServer, Http2Server, Http2Session, ServerHttp2Stream } from 'node:http2';

interface SessionState {
  acceptedAt: number;
  /** Streams (requests) opened and not yet closed. */
  streams: Set<ServerHttp2Stream>;
  served: number;
  /** GOAWAY sent (through `session.close()`): no new stream, gone once the open ones end. */
  closing: boolean;
}

/** Server-side counts of HTTP/2 sessions and streams. */
export interface Http2Counts {
  inFlight: number;
  sessions: number;
}

/**
 * The HTTP/2 half of the connection tracker: one session is one connection,
 * each stream one request in flight. Where HTTP/1.1 answers `Connection:
 * close`, HTTP/2 sends GOAWAY: `session.close()` tells the client to open a
 * new connection (to another instance) for its next request, lets the streams
 * under way finish, then closes the connection.
 */
export class Http2SessionTracker {
  readonly #sessions = new Map<Http2Session, SessionState>();
  readonly #now: () => number;
  readonly #onChange: () => void;
  #draining = false;
  #closing = false;

  constructor(now: () => number, onChange: () => void) {
    this.#now = now;
    this.#onChange = onChange;
  }

  attach(server: Http2Server | Http2SecureServer): void {
    server.prependListener('session', (session: Http2Session) => this.#session(session));
    server.prependListener('stream', (stream: ServerHttp2Stream) => this.#stream(stream));
  }

  counts(): Http2Counts {
    let inFlight = 0;
    for (const state of this.#sessions.values()) inFlight += state.streams.size;
    return { inFlight, sessions: this.#sessions.size };
  }

  /** From now on every session that serves a stream is sent GOAWAY, the HTTP/2 `Connection: close`. */
  startDraining(): void {
    this.#draining = true;
    for (const [session, state] of this.#sessions) if (state.streams.size > 0) this.#goaway(session, state);
  }

  /** The listeners are closed: idle sessions go now, busy ones once their last stream ends. */
  startClosing(): void {
    this.#closing = true;
    this.sweep();
  }

  /** Closes every session with no stream open, except one opened a moment ago that has not sent its first request yet. */
  sweep(freshGraceMs = 1000): void {
    const now = this.#now();
    for (const [session, state] of this.#sessions) {
      if (state.streams.size > 0) continue;
      if (state.served === 0 && now - state.acceptedAt < freshGraceMs) continue;
      this.#goaway(session, state);
    }
  }

  isEmpty(): boolean {
    return this.#sessions.size === 0;
  }

  /** Destroys every session left; returns how many had streams in flight (forced closes). */
  destroyAll(): number {
    let forced = 0;
    for (const [session, state] of this.#sessions) {
      if (state.streams.size > 0) forced += 1;
      session.destroy();
    }
    return forced;
  }

  #session(session: Http2Session): void {
    const state: SessionState = { acceptedAt: this.#now(), streams: new Set(), served: 0, closing: false };
    this.#sessions.set(session, state);
    session.once('close', () => {
      this.#sessions.delete(session);
      this.#changed();
    });
  }

  #stream(stream: ServerHttp2Stream): void {
    const session = stream.session;
    const state = session ? this.#sessions.get(session) : undefined;
    if (!session || !state) return;
    state.served += 1;
    state.streams.add(stream);
    stream.once('close', () => {
      state.streams.delete(stream);
      this.#changed();
      if (this.#closing && state.streams.size === 0) this.#goaway(session, state);
    });
    // The stream that just arrived is still served: GOAWAY names it as the last one processed.
    if (this.#draining) this.#goaway(session, state);
  }

  #goaway(session: Http2Session, state: SessionState): void {
    if (state.closing || session.closed || session.destroyed) return;
    state.closing = true;
    session.close();
  }

  #changed(): void {
    if (this.#draining) this.#onChange();
  }
}

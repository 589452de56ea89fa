import type { IncomingHttpHeaders } from 'node:http';
import type { Http2SecureServer, Http2Server, Http2ServerRequest, Http2ServerResponse, Http2Session, ServerHttp2Stream } from 'node:http2';
import type { LongLivedConnection } from '../long-lived.js';

/** A stream open on a session: its request headers, and the compat request/response once seen. */
interface StreamState {
  headers: IncomingHttpHeaders;
  request?: Http2ServerRequest;
  response?: Http2ServerResponse;
}

interface SessionState {
  acceptedAt: number;
  /** Streams (requests) opened and not yet closed. */
  streams: Map<ServerHttp2Stream, StreamState>;
  served: number;
  /** GOAWAY sent (through `session.close()`): no new stream, gone once the open ones end. */
  closing: boolean;
}

/** Server-side counts of HTTP/2 sessions and streams. */
export interface Http2Counts {
  inFlight: number;
  sessions: number;
  /** SSE streams: they do not end by themselves, so they are asked to (see long-lived.ts). */
  longLived: number;
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
    server.prependListener('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => this.#stream(stream, headers));
  }

  /** Links a compat-API request/response to its stream, so a long-lived close can end the response. */
  noteRequest(request: Http2ServerRequest, response: Http2ServerResponse): void {
    const stream = request.stream;
    const state = stream.session ? this.#sessions.get(stream.session)?.streams.get(stream) : undefined;
    if (!state) return;
    state.request = request;
    state.response = response;
  }

  counts(): Http2Counts {
    let inFlight = 0;
    let longLived = 0;
    for (const state of this.#sessions.values()) {
      for (const [stream, info] of state.streams) {
        if (isEventStream(stream, info)) longLived += 1;
        else inFlight += 1;
      }
    }
    return { inFlight, sessions: this.#sessions.size, longLived };
  }

  /** The SSE streams open now. */
  longLived(): LongLivedConnection[] {
    const found: LongLivedConnection[] = [];
    for (const state of this.#sessions.values()) {
      for (const [stream, info] of state.streams) {
        if (!isEventStream(stream, info)) continue;
        found.push({ kind: 'http2-event-stream', stream, headers: info.headers, ...(info.request && info.response ? { request: info.request, response: info.response } : {}) });
      }
    }
    return found;
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
    const state: SessionState = { acceptedAt: this.#now(), streams: new Map(), served: 0, closing: false };
    this.#sessions.set(session, state);
    session.once('close', () => {
      this.#sessions.delete(session);
      this.#changed();
    });
  }

  #stream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const session = stream.session;
    const state = session ? this.#sessions.get(session) : undefined;
    if (!session || !state) return;
    state.served += 1;
    state.streams.set(stream, { headers });
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

/**
 * An SSE stream: its headers are out and either they say text/event-stream or
 * the client asked for a stream (as isEventStream of the HTTP/1.1 tracker).
 * `sentHeaders` holds what was sent by `respond()` and by the compat API alike.
 */
function isEventStream(stream: ServerHttp2Stream, info: StreamState): boolean {
  if (!stream.headersSent) return false;
  const type = stream.sentHeaders['content-type'];
  if (typeof type === 'string' && type.toLowerCase().startsWith('text/event-stream')) return true;
  const accept = info.headers.accept;
  return typeof accept === 'string' && accept.toLowerCase().includes('text/event-stream');
}

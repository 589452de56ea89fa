import autocannon from 'autocannon';

/** One request of the load's mix; every connection cycles through the mix in order. */
export interface LoadRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

/** Options of {@link startLoad}. */
export interface LoadOptions {
  /** Base URL, e.g. HAProxy's frontend. */
  url: string;
  /** Keep-alive connections. Default 32. */
  connections?: number;
  /** The request mix. Default `GET /`. */
  requests?: LoadRequest[];
  /**
   * Per-connection mixes instead of one: connection i cycles through
   * `mixes[i % mixes.length]`. Lets a few connections carry slow requests
   * without throttling the rest.
   */
  mixes?: LoadRequest[][];
  /** Count bound: the load stops by itself after this many requests. Default 500000. */
  maxRequests?: number;
  /** Time bound: the load stops by itself after this long. Default 60000 ms. */
  maxDurationMs?: number;
  /** Cap on requests per second over all connections; unlimited when absent. */
  ratePerSecond?: number;
  /** A request unanswered this long is a timeout. Default 10000 ms. */
  timeoutMs?: number;
}

/** A failed request, with when it happened (ms since the load started). */
export interface LoadFailure {
  atMs: number;
  kind: 'non2xx' | 'reset' | 'error' | 'timeout' | 'lost';
  detail: string;
}

/** What the load saw, counted per request by this harness (not by autocannon). */
export interface LoadReport {
  /** Requests written to a connection. */
  sent: number;
  /** Complete responses received, any status. */
  responses: number;
  ok: number;
  /** Responses outside 2xx. */
  non2xx: number;
  /** Responses by status code. */
  statuses: Record<string, number>;
  /** Connections reset (ECONNRESET / EPIPE) with a request in flight. */
  resets: number;
  /** Other connection errors with a request in flight (ECONNREFUSED, ...). */
  errors: number;
  timeouts: number;
  /** Sent and never answered, without any error: the connection just closed. autocannon does not count these. */
  lost: number;
  /** Still awaiting an answer when the load stopped (not failures). */
  inFlightAtStop: number;
  /** non2xx + resets + errors + timeouts + lost. */
  failed: number;
  /** When the load started (epoch ms), to line failures (`atMs`) up with other logs. */
  startedAt: number;
  durationMs: number;
  requestsPerSecond: number;
  /** The first failures, for diagnostics. */
  failures: LoadFailure[];
  /** What autocannon itself counted, to show how far it under-counts. */
  autocannon: { errors: number; timeouts: number; non2xx: number; sent: number; completed: number };
}

/** A load that is running; it also stops by itself at its bounds. */
export interface RunningLoad {
  /** Complete responses so far. */
  responses(): number;
  /** Resolves once at least `count` responses arrived (rejects after `timeoutMs`). */
  waitForResponses(count: number, timeoutMs?: number): Promise<void>;
  /** Stops the load (if still running) and resolves with the report. */
  stop(): Promise<LoadReport>;
  /** Settles with the report when the load ends, by stop() or by a bound. */
  done: Promise<LoadReport>;
}

interface ClientTally {
  sent: number;
  lost: number;
  responses: number;
  resets: number;
  errors: number;
  timeouts: number;
}

const MAX_FAILURES_KEPT = 200;

/**
 * Steady load on keep-alive connections through autocannon, with failures
 * counted per request by hooking every client (`setupClient`).
 *
 * Why not autocannon's own figures: when a connection closes with a request in
 * flight and no error (HAProxy 2.6 does that when the server behind it dies on
 * a reused connection), autocannon reconnects and sends the next request; the
 * lost one is counted nowhere. Here each client's `request` events are set
 * against its responses, errors and timeouts: with pipelining 1 a client has
 * at most one request in flight, so at the end anything else unanswered was lost.
 */
export function startLoad(options: LoadOptions): RunningLoad {
  const connections = options.connections ?? 32;
  const maxRequests = Math.max(options.maxRequests ?? 500_000, connections);
  const maxDurationMs = options.maxDurationMs ?? 60_000;
  const toAutocannon = (mix: LoadRequest[]): autocannon.Request[] =>
    mix.map((request) => ({
      method: request.method ?? 'GET',
      path: request.path,
      ...(request.body === undefined ? {} : { body: request.body }),
      headers: { ...(request.body === undefined ? {} : { 'content-type': 'application/json' }), ...request.headers },
    }));
  const mixes = (options.mixes ?? [options.requests ?? [{ path: '/' }]]).map(toAutocannon);
  if (mixes.length === 0 || mixes.some((mix) => mix.length === 0)) throw new Error('load: every request mix needs at least one request');
  const requests = mixes[0] as autocannon.Request[];
  const tallies: ClientTally[] = [];
  const failures: LoadFailure[] = [];
  const statuses: Record<string, number> = {};
  const started = Date.now();
  let responses = 0;
  const waiters = new Set<{ count: number; resolve: () => void }>();
  const fail = (kind: LoadFailure['kind'], detail: string): void => {
    if (failures.length < MAX_FAILURES_KEPT) failures.push({ atMs: Date.now() - started, kind, detail });
  };
  const outstanding = (t: ClientTally): number => t.sent - t.responses - t.resets - t.errors - t.timeouts - t.lost;

  const setupClient = (typed: autocannon.Client): void => {
    // Plain EventEmitter view: 'request', 'connError' and 'timeout' are emitted
    // by autocannon's client (lib/httpClient.js) but missing from its typings.
    const client: NodeJS.EventEmitter = typed;
    const tally: ClientTally = { sent: 0, lost: 0, responses: 0, resets: 0, errors: 0, timeouts: 0 };
    const mix = mixes[tallies.length % mixes.length];
    // Called from the client's constructor, before its first request.
    if (mix && mix !== requests) typed.setRequests(mix);
    tallies.push(tally);
    client.on('request', () => {
      tally.sent += 1;
      // A new request while an older one is unanswered means the older one's
      // connection closed silently. Checked a tick later: on a timeout the
      // client emits 'request' (reconnect) before 'timeout'.
      queueMicrotask(() => {
        const unanswered = outstanding(tally);
        if (unanswered > 1) {
          tally.lost += unanswered - 1;
          for (let i = 1; i < unanswered; i += 1) fail('lost', 'connection closed without a response');
        }
      });
    });
    client.on('response', (statusCode: number) => {
      tally.responses += 1;
      responses += 1;
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
      if (statusCode < 200 || statusCode > 299) fail('non2xx', String(statusCode));
      for (const waiter of waiters) if (responses >= waiter.count) waiter.resolve();
    });
    client.on('connError', (error: NodeJS.ErrnoException) => {
      // An error on a connection with nothing in flight failed no request.
      if (outstanding(tally) <= 0) return;
      const isReset = error.code === 'ECONNRESET' || error.code === 'EPIPE';
      if (isReset) tally.resets += 1;
      else tally.errors += 1;
      fail(isReset ? 'reset' : 'error', error.code ?? error.message);
    });
    client.on('done', () => {
      // A client that reached its share of maxRequests stops without sending
      // again, so whatever it still awaits was lost, not in flight; after
      // stop() it is in flight (the load ended under it).
      const unanswered = outstanding(tally);
      if (!stopping && unanswered > 0) {
        tally.lost += unanswered;
        for (let i = 0; i < unanswered; i += 1) fail('lost', 'connection closed without a response');
      }
    });
    client.on('timeout', () => {
      tally.timeouts += 1;
      fail('timeout', `no answer within ${options.timeoutMs ?? 10_000} ms`);
    });
  };

  let instance: autocannon.Instance | undefined;
  let stopping = false;
  const stopLoad = (): void => {
    stopping = true;
    instance?.stop();
  };
  const done = new Promise<LoadReport>((resolve, reject) => {
    instance = autocannon(
      {
        url: options.url,
        connections,
        pipelining: 1,
        amount: maxRequests,
        timeout: Math.ceil((options.timeoutMs ?? 10_000) / 1000),
        requests,
        setupClient,
        ...(options.ratePerSecond === undefined ? {} : { overallRate: options.ratePerSecond }),
      },
      (error, result) => {
        clearTimeout(timer);
        if (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        resolve(report(result));
      },
    );
  });
  // autocannon ignores `duration` when `amount` is set, so the time bound is ours.
  const timer = setTimeout(stopLoad, maxDurationMs);
  timer.unref();

  const report = (result: autocannon.Result): LoadReport => {
    const durationMs = Date.now() - started;
    let sent = 0;
    let resets = 0;
    let errors = 0;
    let timeouts = 0;
    let lost = 0;
    let inFlightAtStop = 0;
    for (const tally of tallies) {
      sent += tally.sent;
      lost += tally.lost;
      resets += tally.resets;
      errors += tally.errors;
      timeouts += tally.timeouts;
      const unanswered = outstanding(tally);
      // Pipelining 1: at most one request per connection can legitimately be in flight.
      const inFlight = Math.min(Math.max(unanswered, 0), 1);
      inFlightAtStop += inFlight;
      lost += Math.max(unanswered - inFlight, 0);
    }
    const non2xx = Object.entries(statuses).reduce((sum, [code, count]) => (Number(code) >= 200 && Number(code) <= 299 ? sum : sum + count), 0);
    return {
      sent,
      responses,
      ok: responses - non2xx,
      non2xx,
      statuses,
      resets,
      errors,
      timeouts,
      lost,
      inFlightAtStop,
      failed: non2xx + resets + errors + timeouts + lost,
      startedAt: started,
      durationMs,
      requestsPerSecond: Math.round((responses / durationMs) * 1000),
      failures,
      autocannon: {
        errors: result.errors,
        timeouts: result.timeouts,
        non2xx: result.non2xx,
        sent: result.requests.sent,
        completed: result.requests.total,
      },
    };
  };

  return {
    responses: () => responses,
    waitForResponses(count, timeoutMs = 10_000) {
      if (responses >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const waiter = {
          count,
          resolve: () => {
            clearTimeout(timeout);
            waiters.delete(waiter);
            resolve();
          },
        };
        const timeout = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`load: only ${responses} of ${count} responses within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
        void done.then(() => waiter.resolve(), () => waiter.resolve());
      });
    },
    stop() {
      stopLoad();
      return done;
    },
    done,
  };
}

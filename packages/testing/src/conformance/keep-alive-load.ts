import { Agent, request } from 'node:http';

/** Options of {@link startKeepAliveLoad}. */
export interface KeepAliveLoadOptions {
  /** Base URL, e.g. the router's. */
  url: string;
  /** Keep-alive connections, each sending one request after the other. Default 8. */
  connections?: number;
  /**
   * Paths per connection: connection i cycles through `mixes[i % mixes.length]`,
   * so a few connections can carry slow requests without throttling the rest. Default `[['/']]`.
   */
  mixes?: readonly (readonly string[])[];
  /** Count bound: no request is sent past this many. Default 200 000. */
  maxRequests?: number;
  /** Time bound: no request is sent after this long. Default 60 000 ms. */
  maxDurationMs?: number;
  /** A request unanswered this long is a failure. Default 10 000 ms. */
  timeoutMs?: number;
}

/** What the load saw. Every request sent is counted once: `sent === ok + failed`. */
export interface KeepAliveLoadReport {
  sent: number;
  /** Complete 2xx responses. */
  ok: number;
  /** Everything else: a non-2xx answer, a reset, a connection closed without an answer, a timeout. */
  failed: number;
  /** The first failures, `at <ms since start>: <what>`. */
  failures: string[];
  /** 2xx responses per body (the test backends answer their id). */
  bodies: Record<string, number>;
  durationMs: number;
}

/** A running load; it also stops by itself at its bounds. */
export interface KeepAliveLoad {
  /** Complete 2xx responses so far, per body. */
  bodies(): Readonly<Record<string, number>>;
  /** Requests answered or failed so far. */
  finished(): number;
  /** Resolves once `condition` holds (checked after every request), rejects after `timeoutMs` or when the load ends first. */
  waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void>;
  /** Sends no more requests, waits for those in flight, resolves with the report. */
  stop(): Promise<KeepAliveLoadReport>;
  /** Resolves with the report once the load ended, by `stop()` or by a bound. */
  done: Promise<KeepAliveLoadReport>;
}

const FAILURES_KEPT = 50;

/**
 * Bounded keep-alive load over node:http, counted per request: each request is
 * its own object that ends either in a complete 2xx response or in a failure,
 * so nothing goes uncounted. (Load generators that reconnect by themselves,
 * autocannon among them, do not count a request whose connection closed
 * without an answer; see TOOLCHAIN.md.) A request never is retried, as a
 * Node.js client does not retry: what a proxy drops, a user sees.
 */
export function startKeepAliveLoad(options: KeepAliveLoadOptions): KeepAliveLoad {
  const connections = options.connections ?? 8;
  const mixes = options.mixes ?? [['/']];
  if (mixes.length === 0 || mixes.some((mix) => mix.length === 0)) throw new Error('load: every mix needs at least one path');
  const maxRequests = options.maxRequests ?? 200_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const started = Date.now();
  const deadline = started + (options.maxDurationMs ?? 60_000);
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const report: KeepAliveLoadReport = { sent: 0, ok: 0, failed: 0, failures: [], bodies: {}, durationMs: 0 };
  const waiters = new Set<() => void>();
  let stopping = false;

  const fail = (what: string): void => {
    report.failed += 1;
    if (report.failures.length < FAILURES_KEPT) report.failures.push(`at ${Date.now() - started} ms: ${what}`);
  };

  const once = (path: string): Promise<void> =>
    new Promise((resolve) => {
      const req = request(new URL(path, options.url), { agent, timeout: timeoutMs }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            report.ok += 1;
            report.bodies[body] = (report.bodies[body] ?? 0) + 1;
          } else fail(`${path}: status ${status} ${body.slice(0, 120)}`);
          resolve();
        });
        res.on('error', (error: NodeJS.ErrnoException) => {
          fail(`${path}: response broke off (${error.code ?? error.message})`);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'TIMEOUT' })));
      req.on('error', (error: NodeJS.ErrnoException) => {
        fail(`${path}: ${error.code ?? ''} ${error.message}`);
        resolve();
      });
      req.end();
    });

  const worker = async (index: number): Promise<void> => {
    const mix = mixes[index % mixes.length] as readonly string[];
    for (let i = 0; !stopping && report.sent < maxRequests && Date.now() < deadline; i += 1) {
      report.sent += 1;
      await once(mix[i % mix.length] as string);
      for (const waiter of waiters) waiter();
    }
  };

  let ended = false;
  const done = Promise.all(Array.from({ length: connections }, (_, index) => worker(index))).then(() => {
    ended = true;
    agent.destroy();
    report.durationMs = Date.now() - started;
    for (const waiter of waiters) waiter();
    return report;
  });

  return {
    bodies: () => report.bodies,
    finished: () => report.ok + report.failed,
    waitUntil(condition, waitMs, what) {
      if (condition()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (condition()) settle(resolve);
          else if (ended || stopping) settle(() => reject(new Error(`load ended before ${what} (${JSON.stringify(report.bodies)}, ${report.failed} failed)`)));
        };
        const settle = (then: () => void): void => {
          clearTimeout(timer);
          waiters.delete(check);
          then();
        };
        const timer = setTimeout(() => settle(() => reject(new Error(`timed out after ${waitMs} ms waiting for ${what} (${JSON.stringify(report.bodies)}, ${report.failed} failed)`))), waitMs);
        waiters.add(check);
      });
    },
    stop() {
      stopping = true;
      return done;
    },
    done,
  };
}

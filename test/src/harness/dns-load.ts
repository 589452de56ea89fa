import { promises as dnsPromises } from 'node:dns';
import { Agent, request } from 'node:http';
import CacheableLookup from 'cacheable-lookup';

/** Options of {@link startDnsLoad}. */
export interface DnsLoadOptions {
  /** The service's name and port: `http://<name>:<port>`. */
  name: string;
  port: number;
  /** The DNS server the clients ask (the test's own authoritative server; nothing else resolves the name). */
  resolver: { host: string; port: number };
  /** Request paths, cycled through. */
  paths: readonly string[];
  /** Clients that resolve the name as its TTL says (cacheable-lookup), each on its own keep-alive agent. Default 4. */
  clients?: number;
  /**
   * Clients that open a new connection for every request (no keep-alive),
   * so they look the name up for each one — answered from their cache until
   * the TTL runs out. Default 0.
   */
  freshConnectionClients?: number;
  /**
   * Clients that resolve the name once, at the start, and keep that address
   * for good (a JVM's default DNS cache, a pinned connection pool): the
   * stragglers a DNS switch has to wait for. Default 0.
   */
  stickyClients?: number;
  /** Pause between one client's requests. Default 20 ms. */
  intervalMs?: number;
  /** Bounds: the load stops by itself after this many requests or this long. */
  maxRequests?: number;
  maxDurationMs?: number;
  /** A request unanswered this long fails. Default 5000 ms. */
  timeoutMs?: number;
}

/** One request's end: which address answered (the stack), and how. */
export interface DnsLoadResult {
  /** Epoch ms when the request ended. */
  atMs: number;
  sticky: boolean;
  address: string;
  /** The status, or undefined when the request failed without one. */
  status?: number;
  error?: string;
}

/** What the clients saw, per request. */
export interface DnsLoadReport {
  results: DnsLoadResult[];
  ok: number;
  failed: DnsLoadResult[];
  /** Per answering address: answered requests, and the last one's time (epoch ms). */
  byAddress: Record<string, { ok: number; failed: number; lastAtMs: number }>;
}

export interface RunningDnsLoad {
  /** The results so far. */
  snapshot(): DnsLoadReport;
  /** Stops the clients (each finishes its request under way) and reports. */
  stop(): Promise<DnsLoadReport>;
}

/**
 * Clients of a service known by name, the way real ones behave: each
 * resolves the name through the DNS server it is given, caches the answer
 * for its TTL (cacheable-lookup), and keeps its connection open between
 * requests, opening a new one — and so resolving again — only when the
 * server closes it. Sticky clients resolve once and never again. Every
 * request's end is recorded with the address that answered it, so a test
 * can say which stack served whom, and when.
 */
export function startDnsLoad(options: DnsLoadOptions): RunningDnsLoad {
  const resolver = new dnsPromises.Resolver({ timeout: 1000, tries: 2 });
  resolver.setServers([`${options.resolver.host}:${options.resolver.port}`]);
  // No fallback to the system's resolver (it does not know the name), and the TTL the server gives.
  const cache = new CacheableLookup({ resolver, fallbackDuration: 0, errorTtl: 0 });
  const results: DnsLoadResult[] = [];
  const started = Date.now();
  const intervalMs = options.intervalMs ?? 20;
  const maxRequests = options.maxRequests ?? 20_000;
  const maxDurationMs = options.maxDurationMs ?? 120_000;
  let sent = 0;
  let stopped = false;
  const more = (): boolean => !stopped && sent < maxRequests && Date.now() - started < maxDurationMs;

  const client = async (index: number, sticky: boolean, keepAlive = true): Promise<void> => {
    const agent = new Agent({ keepAlive, maxSockets: 1 });
    let pinned: string | undefined;
    if (sticky) pinned = (await resolver.resolve4(options.name))[0];
    // Node asks for every address (`all`) when it may race IPv4 and IPv6 (autoSelectFamily).
    const lookup = sticky
      ? (_host: string, lookupOptions: { all?: boolean }, callback: (error: Error | null, address: string | { address: string; family: number }[], family?: number) => void) =>
          lookupOptions.all === true ? callback(null, [{ address: pinned ?? '0.0.0.0', family: 4 }]) : callback(null, pinned ?? '0.0.0.0', 4)
      : cache.lookup;
    try {
      for (let n = 0; more(); n += 1) {
        sent += 1;
        const path = options.paths[(index + n) % options.paths.length] ?? '/';
        results.push(await once(agent, lookup as never, options, path, sticky));
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    } finally {
      agent.destroy();
    }
  };
  const running = [
    ...Array.from({ length: options.clients ?? 4 }, (_, index) => client(index, false)),
    ...Array.from({ length: options.freshConnectionClients ?? 0 }, (_, index) => client(index, false, false)),
    ...Array.from({ length: options.stickyClients ?? 0 }, (_, index) => client(index, true)),
  ];
  const snapshot = (): DnsLoadReport => {
    const byAddress: DnsLoadReport['byAddress'] = {};
    for (const result of results) {
      const entry = (byAddress[result.address] ??= { ok: 0, failed: 0, lastAtMs: 0 });
      if (isOk(result)) entry.ok += 1;
      else entry.failed += 1;
      entry.lastAtMs = Math.max(entry.lastAtMs, result.atMs);
    }
    const failed = results.filter((result) => !isOk(result));
    return { results: [...results], ok: results.length - failed.length, failed, byAddress };
  };
  return {
    snapshot,
    async stop() {
      stopped = true;
      await Promise.all(running);
      return snapshot();
    },
  };
}

function isOk(result: DnsLoadResult): boolean {
  return result.status !== undefined && result.status >= 200 && result.status < 300;
}

function once(agent: Agent, lookup: never, options: DnsLoadOptions, path: string, sticky: boolean): Promise<DnsLoadResult> {
  return new Promise((resolve) => {
    let address = '?';
    const req = request({ host: options.name, port: options.port, path, agent, lookup, timeout: options.timeoutMs ?? 5000 }, (res) => {
      address = res.socket.remoteAddress ?? address;
      res.resume();
      res.on('end', () => resolve({ atMs: Date.now(), sticky, address, status: res.statusCode ?? 0 }));
      res.on('error', (error) => resolve({ atMs: Date.now(), sticky, address, error: error.message }));
    });
    req.on('socket', (socket) => {
      // A kept-alive socket is connected already (and must not gather a listener per request).
      if (socket.remoteAddress !== undefined) address = socket.remoteAddress;
      else socket.once('connect', () => (address = socket.remoteAddress ?? address));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ atMs: Date.now(), sticky, address, error: `${error.code ?? ''} ${error.message}`.trim() }));
    req.end();
  });
}

import { BatonError, isBatonError, readLimitedText } from '@baton/lifecycle';
import { parsePrometheusText, type MetricFamily } from './exposition-parser.js';
import type { MetricsErrorCode } from './errors.js';

/** The metric families of one target at one moment: what {@link compareSnapshots} compares. */
export interface Snapshot {
  /** Where the text came from (the scraped URL); snapshots of one instance share it. */
  source: string;
  /** When the scrape started, in milliseconds since the epoch. */
  atMs: number;
  families: MetricFamily[];
}

/** Options of {@link scrape}. */
export interface ScrapeOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Limit for the whole scrape, headers and body; default 5000. */
  timeoutMs?: number;
  /** Aborting it rejects the scrape with the signal's reason (not a scrape failure: the caller asked for it). */
  signal?: AbortSignal;
  /** The clock for {@link Snapshot.atMs}; default `Date.now`. */
  now?: () => number;
  /**
   * Largest body accepted, in bytes; a bigger one fails the scrape instead of
   * filling the orchestrator's memory. Default 16 MiB.
   */
  maxBytes?: number;
}

const ACCEPT = 'text/plain;version=0.0.4';

/**
 * Fetches a Prometheus metrics endpoint and parses it into a {@link Snapshot}.
 * Rejects with a `BatonError` `BATON_ERR_SCRAPE_FAILED` naming the URL and the cause
 * (refused, timed out, non-200, token refused, not Prometheus text).
 *
 * @example
 * const before = await scrape('http://10.0.0.7:9464/metrics', { token });
 */
export async function scrape(url: string, options: ScrapeOptions = {}): Promise<Snapshot> {
  const { token, timeoutMs, signal, now, maxBytes } = resolveScrapeOptions(url, options);
  signal?.throwIfAborted();
  // One deadline for headers and body: a server that sends headers and then stalls is caught too.
  const deadline = AbortSignal.timeout(timeoutMs);
  const headers: Record<string, string> = { accept: ACCEPT };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  // Prometheus stamps a scrape with its start; so do we.
  const atMs = now();

  let text: string;
  try {
    const response = await fetch(url, { headers, signal: signal ? AbortSignal.any([signal, deadline]) : deadline });
    if (response.status !== 200) {
      const refused = response.status === 401 || response.status === 403;
      const body = refused ? '' : excerpt(await response.text());
      if (refused) await response.body?.cancel();
      const why = refused
        ? token === undefined
          ? 'the endpoint wants a token and none was given'
          : 'the token was refused'
        : `expected status 200${body === '' ? '' : `; body: ${body}`}`;
      throw failed(url, `HTTP ${response.status}: ${why}`);
    }
    text = await readLimitedText(response, maxBytes, () => failed(url, `the answer is larger than ${maxBytes} bytes (maxBytes)`));
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (deadline.aborted) throw failed(url, `no complete answer within ${timeoutMs} ms`, error);
    if (isBatonError(error)) throw error;
    throw failed(url, describe(error), error);
  }

  try {
    return snapshotFromText(text, url, atMs);
  } catch (error) {
    throw failed(url, `the answer is not Prometheus text: ${describe(error)}`, error);
  }
}

/**
 * Parses exposition text into a {@link Snapshot}, for text that did not come
 * over HTTP (a file, a test's `registry.metrics()`). Throws `BATON_ERR_METRICS_PARSE` on bad text.
 *
 * @example
 * const before = snapshotFromText(await registry.metrics(), 'pod-a', Date.now());
 */
export function snapshotFromText(text: string, source: string, atMs: number): Snapshot {
  return { source, atMs, families: parsePrometheusText(text) };
}

type ResolvedScrapeOptions = Required<Omit<ScrapeOptions, 'token' | 'signal'>> & Pick<ScrapeOptions, 'token' | 'signal'>;

function resolveScrapeOptions(url: string, options: ScrapeOptions): ResolvedScrapeOptions {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `scrape: ${JSON.stringify(url)} is not a URL`);
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `scrape: ${url} must be an http: or https: URL`);
  }
  const { token, timeoutMs = 5000, signal, now = Date.now, maxBytes = 16 * 1024 * 1024 } = options;
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `scrape: maxBytes must be a positive integer, got ${String(maxBytes)}`);
  }
  if (token !== undefined && (typeof token !== 'string' || token === '' || /[\r\n]/.test(token))) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'scrape: token must be a non-empty string without line breaks');
  }
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `scrape: timeoutMs must be a positive number of milliseconds, got ${String(timeoutMs)}`);
  }
  if (typeof now !== 'function') throw new BatonError('BATON_ERR_INVALID_OPTION', 'scrape: now must be a function');
  return { timeoutMs, now, maxBytes, ...(token === undefined ? {} : { token }), ...(signal === undefined ? {} : { signal }) };
}

function failed(url: string, why: string, cause?: unknown): BatonError {
  return new BatonError('BATON_ERR_SCRAPE_FAILED' satisfies MetricsErrorCode, `scraping ${url} failed: ${why}`, cause === undefined ? undefined : { cause });
}

// fetch says only "fetch failed"; the useful part (ECONNREFUSED ...) is in its cause.
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause: unknown = error.cause;
  return cause instanceof Error && cause.message !== '' ? `${error.message} (${cause.message})` : error.message;
}

function excerpt(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

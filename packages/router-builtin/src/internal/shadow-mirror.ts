/**
 * A shadow step's mirror: a copy of a share of live requests goes to the
 * candidate release's backends once the client has the stable release's
 * answer, and both answers are compared (`createShadowTally` of @baton/deploy).
 * The copy never touches the client's exchange: it starts after the client's
 * answer ended, on the candidate's own pool, with its own deadline, and a
 * failure or a timeout of it is counted, never surfaced.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher, Pool } from 'undici';
import { createShadowTally, type ShadowAnswer, type ShadowCompareConfig, type ShadowStatus, type ShadowThresholds } from '@baton/deploy';
import { COMPARE_HEADER, ROUTE_HEADER, SHADOW_HEADER, type Logger } from '@baton/lifecycle';
import { RouterCommandError } from './admin-input.js';
import type { Backend } from './backend-table.js';
import { errorCode } from './exchange-host.js';

export { COMPARE_HEADER, ROUTE_HEADER, SHADOW_HEADER };

/** What the orchestrator asks the router to mirror. */
export interface ShadowSettings {
  /** The release label of the backends copies go to. */
  candidate: string;
  /** Share of eligible requests mirrored, above 0 and at most 1. */
  share: number;
  /** Methods mirrored (upper-case); default GET and HEAD. */
  methods: string[];
  /** Requests with a larger body are not mirrored; answers are compared up to this size. Default 64 KiB. */
  maxBodyBytes: number;
  /** A copy gets this long to be answered; default 10 s. */
  timeoutMs: number;
  compare: ShadowCompareConfig;
  thresholds: Partial<ShadowThresholds>;
}

/** One client request that gets a copy, and the stable release's answer to it. */
export interface MirroredRequest {
  method: string;
  path: string;
  /** The headers sent to the stable release (flat), without the compare mark. */
  headers: readonly string[];
  body: Buffer | undefined;
}

/** The candidate's backends, and their pools, as the proxy has them. */
export interface MirrorHost {
  candidates(release: string): Backend[];
  poolOf(backend: Backend): Pool;
  logger: Logger;
}

/** The summary and what was not mirrored: the `ShadowStatus` of @baton/deploy's Router. */
export type MirrorStatus = ShadowStatus;

export class ShadowMirror {
  readonly settings: ShadowSettings;
  readonly #host: MirrorHost;
  readonly #tally;
  #eligible = 0;
  #notInShare = 0;
  readonly #skipped = { method: 0, body: 0, noCandidate: 0 };
  #inFlight = 0;
  #next = 0;
  #idle: (() => void)[] = [];

  constructor(settings: ShadowSettings, host: MirrorHost) {
    this.settings = settings;
    this.#host = host;
    this.#tally = createShadowTally({ compare: settings.compare, thresholds: settings.thresholds });
  }

  /**
   * Whether this request gets a copy, decided before it is forwarded: its
   * method is mirrored, its body is known to fit, and it falls in the share
   * (every n-th of the eligible ones, not at random: the same traffic gives the same copies).
   */
  wants(method: string, headers: IncomingHttpHeaders): boolean {
    if (!this.settings.methods.includes(method)) {
      this.#skipped.method += 1;
      return false;
    }
    // A body of unknown length (chunked) or over the limit is not copied: the copy must not hold more than a kept buffer.
    const length = headers['content-length'];
    if (headers['transfer-encoding'] !== undefined || (length !== undefined && !(Number(length) <= this.settings.maxBodyBytes))) {
      this.#skipped.body += 1;
      return false;
    }
    const n = this.#eligible++;
    const inShare = Math.floor((n + 1) * this.settings.share) > Math.floor(n * this.settings.share);
    if (!inShare) this.#notInShare += 1;
    return inShare;
  }

  /** Sends the copy, now that the client has the stable answer; records both once the candidate answered (or did not). */
  copy(request: MirroredRequest, stable: ShadowAnswer, route: string | undefined): void {
    const candidates = this.#host.candidates(this.settings.candidate);
    const backend = candidates.length === 0 ? undefined : candidates[this.#next++ % candidates.length];
    if (backend === undefined) {
      this.#skipped.noCandidate += 1;
      return;
    }
    this.#inFlight += 1;
    const started = performance.now();
    const done = (candidate: ShadowAnswer, candidateRoute: string | undefined): void => {
      const reported = route ?? candidateRoute;
      // Baton's adapters report `GET /orders/:id`; the tally names routes by method and template itself.
      const template = reported === undefined ? fallbackRoute(request.path) : reported.startsWith(`${request.method} `) ? reported.slice(request.method.length + 1) : reported;
      this.#tally.record({ method: request.method, route: template, stable, candidate });
      this.#inFlight -= 1;
      if (this.#inFlight === 0) for (const wake of this.#idle.splice(0)) wake();
    };
    const collected = collector(this.settings.maxBodyBytes);
    let status = 0;
    let headers: Record<string, string> = {};
    let settled = false;
    const settle = (answer: ShadowAnswer, candidateRoute?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      done(answer, candidateRoute);
    };
    let controller: Dispatcher.DispatchController | undefined;
    const timer = setTimeout(() => {
      controller?.abort(new Error('shadow copy timed out'));
      settle({ status: 0, headers: {}, latencyMs: performance.now() - started, failure: `timeout (${this.settings.timeoutMs} ms)` });
    }, this.settings.timeoutMs);
    timer.unref();
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart: (c) => {
        controller = c;
        if (settled) c.abort(new Error('shadow copy timed out'));
      },
      onResponseStart: (_c, statusCode, responseHeaders) => {
        if (statusCode < 200) return;
        status = statusCode;
        headers = lowerCased(responseHeaders);
      },
      onResponseData: (_c, chunk) => collected.add(chunk),
      onResponseEnd: () => {
        settle({ status, headers, ...collected.result(), latencyMs: performance.now() - started }, headers[ROUTE_HEADER]);
      },
      onResponseError: (_c, error) => {
        settle({ status: 0, headers: {}, latencyMs: performance.now() - started, failure: describeFailure(errorCode(error)) });
      },
    };
    const copyHeaders = [...request.headers, SHADOW_HEADER, '1'];
    try {
      this.#host.poolOf(backend).dispatch({ method: request.method, path: request.path, headers: copyHeaders, body: request.body ?? null, blocking: false, upgrade: null }, handler);
    } catch (error) {
      settle({ status: 0, headers: {}, latencyMs: 0, failure: describeFailure(errorCode(error)) });
    }
  }

  status(): MirrorStatus {
    return { ...this.#tally.summary(), candidate: this.settings.candidate, notInShare: this.#notInShare, skipped: { ...this.#skipped }, inFlight: this.#inFlight };
  }

  /** Resolves once no copy is in flight, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.#idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** An answer's body kept up to `limit` bytes, and whether it was longer. */
export function collector(limit: number): { add(chunk: Buffer): void; result(): { body: Buffer; bodyTruncated?: true } } {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  return {
    add(chunk) {
      if (truncated) return;
      if (size + chunk.length > limit) {
        truncated = true;
        return;
      }
      chunks.push(chunk);
      size += chunk.length;
    },
    result: () => ({ body: Buffer.concat(chunks), ...(truncated ? { bodyTruncated: true as const } : {}) }),
  };
}

/** Response headers by lower-case name, from undici's object or a raw list. */
export function lowerCased(headers: Record<string, string | string[] | undefined> | readonly (Buffer | string)[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === null || headers === undefined) return out;
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = String(headers[i]).toLowerCase();
      const value = String(headers[i + 1]);
      out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
    }
    return out;
  }
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

/** A service not on Baton's adapters reports no route: its path, with numbers and ids collapsed (`/orders/:n`). */
export function fallbackRoute(path: string): string {
  const pathname = path.split('?')[0] ?? '/';
  return pathname
    .split('/')
    .map((segment) => (/^\d+$/.test(segment) ? ':n' : /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(segment) ? ':uuid' : segment))
    .join('/');
}

function describeFailure(code: string): string {
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') return 'connection reset';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'timeout';
  return `failed (${code})`;
}

/** Checks the `shadow` admin command's input; a 400 naming the field otherwise. */
export function parseShadowSettings(input: unknown): ShadowSettings {
  const bad = (field: string, accepted: string, value: unknown): never => {
    throw new RouterCommandError(400, `shadow: ${field} must be ${accepted}; got ${JSON.stringify(value)}.`);
  };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return bad('the command', 'an object { candidate, share?, methods?, maxBodyBytes?, timeoutMs?, compare?, thresholds? }', input);
  const value = input as Record<string, unknown>;
  const candidate = value['candidate'];
  if (typeof candidate !== 'string' || candidate === '') bad('candidate', "the candidate's release label", candidate);
  const share = value['share'] ?? 1;
  if (typeof share !== 'number' || !(share > 0 && share <= 1)) bad('share', 'a number above 0 and at most 1', share);
  const methods = value['methods'] ?? ['GET', 'HEAD'];
  if (!Array.isArray(methods) || methods.length === 0 || !methods.every((method) => typeof method === 'string' && /^[A-Za-z]+$/.test(method))) bad('methods', 'a non-empty array of HTTP methods', methods);
  const maxBodyBytes = value['maxBodyBytes'] ?? 65_536;
  if (typeof maxBodyBytes !== 'number' || !Number.isInteger(maxBodyBytes) || maxBodyBytes < 0 || maxBodyBytes > 16 * 1024 * 1024) bad('maxBodyBytes', 'an integer from 0 to 16 MiB', maxBodyBytes);
  const timeoutMs = value['timeoutMs'] ?? 10_000;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000) bad('timeoutMs', 'an integer from 1 to 600000', timeoutMs);
  const compare = value['compare'] ?? {};
  if (typeof compare !== 'object' || compare === null || Array.isArray(compare)) bad('compare', 'an object { headers?, ignore? }', compare);
  const thresholds = value['thresholds'] ?? {};
  if (typeof thresholds !== 'object' || thresholds === null || Array.isArray(thresholds)) bad('thresholds', 'an object', thresholds);
  return {
    candidate: candidate as string,
    share: share as number,
    methods: (methods as string[]).map((method) => method.toUpperCase()),
    maxBodyBytes: maxBodyBytes as number,
    timeoutMs: timeoutMs as number,
    compare: compare as ShadowCompareConfig,
    thresholds: thresholds as Partial<ShadowThresholds>,
  };
}

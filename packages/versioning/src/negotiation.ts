import type { IncomingHttpHeaders } from 'node:http';
import { BatonError } from '@baton/lifecycle';
import { problemType, type ProblemDetails } from './problem.js';
import type { Versions } from './versions.js';

/** Where a request's version can come from, in the order they are asked. */
export type VersionSource = 'header' | 'accept' | 'query' | 'pin';

/** Options of {@link createNegotiator}. */
export interface NegotiationOptions<R> {
  /** The request header naming the version. Default `Api-Version`; `false` to ignore headers. */
  header?: string | false;
  /**
   * The vendor name of an `Accept` media type carrying the version:
   * `vendor: 'orders'` reads `Accept: application/vnd.orders+json; version=2025-03-01`.
   * Off unless given.
   */
  vendor?: string;
  /** A query parameter naming the version (e.g. `api_version`). Off unless given. */
  query?: string;
  /**
   * A per-client pin, e.g. the version stored with the caller's API key;
   * `undefined` when the client has none. `varyOn` names the header it reads
   * (e.g. `Authorization`), for `Vary`.
   */
  pin?: { version: (request: R) => string | undefined; varyOn?: string };
  /** The order the sources are asked in; the first present decides. Default `['header', 'accept', 'query', 'pin']`. */
  order?: readonly VersionSource[];
}

/** What a request needs to offer for negotiation: its headers and URL (node's IncomingMessage has both). */
export interface NegotiableRequest {
  headers: IncomingHttpHeaders;
  url?: string | undefined;
}

/** The outcome of negotiating one request. */
export type Negotiated<V extends string> =
  | {
      ok: true;
      version: V;
      /** What chose it (`default` when the request named none). */
      source: VersionSource | 'default';
      /** What the client asked for, when it asked (a date may resolve to an earlier version). */
      requested?: string;
      /** Headers consulted up to the deciding one, for `Vary` (a frozen array shared by every request it decided alike). */
      vary: readonly string[];
    }
  | { ok: false; status: 400 | 406; problem: ProblemDetails; vary: readonly string[] };

// Bounds on client input the negotiator parses.
const MAX_ACCEPT_LENGTH = 4096;
const MAX_MEDIA_RANGES = 32;

/**
 * Builds the negotiation of one API: asks the sources in order, the first
 * one present decides (a present but bad version is an error, never skipped
 * for the next source or the latest version), and a request naming none gets
 * the default. Options are checked now.
 */
export function createNegotiator<V extends string, R extends NegotiableRequest = NegotiableRequest>(versions: Versions<V>, options: NegotiationOptions<R> = {}): (request: R) => Negotiated<V> {
  const header = options.header === false ? undefined : (options.header ?? 'Api-Version');
  if (header !== undefined && !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(header)) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `versioning: \`header\` must be a header name; got ${JSON.stringify(header)}.`);
  }
  if (options.vendor !== undefined && !/^[a-z0-9][a-z0-9.-]*$/i.test(options.vendor)) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `versioning: \`vendor\` must be a media-type name like "orders" (for application/vnd.orders+json); got ${JSON.stringify(options.vendor)}.`);
  }
  if (options.query !== undefined && (typeof options.query !== 'string' || options.query === '')) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'versioning: `query` must be a parameter name.');
  }
  if (options.pin !== undefined && typeof options.pin.version !== 'function') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'versioning: `pin.version` must be a function of the request.');
  }
  const order = options.order ?? ['header', 'accept', 'query', 'pin'];
  const known: readonly VersionSource[] = ['header', 'accept', 'query', 'pin'];
  const unknown = order.filter((source) => !known.includes(source));
  if (unknown.length > 0 || new Set(order).size !== order.length) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `versioning: \`order\` lists sources among ${known.join(', ')}, each once; got ${JSON.stringify(order)}.`);
  }
  const headerKey = header?.toLowerCase();
  const mediaType = options.vendor === undefined ? undefined : `application/vnd.${options.vendor.toLowerCase()}+json`;
  // Only configured sources are asked.
  const chain = order.filter((source) => (source === 'header' ? headerKey !== undefined : source === 'accept' ? mediaType !== undefined : source === 'query' ? options.query !== undefined : options.pin !== undefined));

  // `Vary` after each source is asked: fixed by the configuration, so built once and shared (frozen).
  const varyAfter: (readonly string[])[] = [];
  const names: string[] = [];
  for (const source of chain) {
    if (source === 'header') names.push(header as string);
    else if (source === 'accept') names.push('Accept');
    else if (source === 'pin' && options.pin?.varyOn !== undefined) names.push(options.pin.varyOn);
    varyAfter.push(Object.freeze([...names]));
  }
  const varyAll: readonly string[] = varyAfter[varyAfter.length - 1] ?? Object.freeze([]);

  return (request) => {
    for (let step = 0; step < chain.length; step += 1) {
      const source = chain[step] as VersionSource;
      const vary = varyAfter[step] as readonly string[];
      let requested: string | undefined;
      switch (source) {
        case 'header': {
          const value = request.headers[headerKey as string];
          requested = Array.isArray(value) ? value.join(',') : value;
          break;
        }
        case 'accept': {
          const accept = request.headers.accept;
          if (accept === undefined) break;
          const found = versionFromAccept(accept, mediaType as string);
          if (found === 'malformed') return refuse(versions, 406, 'malformed', `The Accept header is not a list of media types the server can read (${mediaType}; version=…).`, undefined, vary);
          requested = found;
          break;
        }
        case 'query':
          requested = queryParameter(request.url, options.query as string);
          break;
        case 'pin': {
          requested = options.pin?.version(request);
          break;
        }
      }
      if (requested === undefined) continue;
      const resolution = versions.resolve(requested.trim());
      const status = source === 'accept' ? 406 : 400;
      if (!resolution.ok) return refuse(versions, status, resolution.problem, resolution.message, requested, vary);
      return { ok: true, version: resolution.version, source, requested, vary };
    }
    return { ok: true, version: versions.default, source: 'default', vary: varyAll };
  };
}

function refuse<V extends string>(versions: Versions<V>, status: 400 | 406, kind: 'malformed' | 'unsupported', detail: string, requested: string | undefined, vary: readonly string[]): Negotiated<V> {
  const problem: ProblemDetails = {
    type: problemType(kind === 'malformed' ? 'malformed-api-version' : 'unsupported-api-version'),
    title: kind === 'malformed' ? 'Malformed API version' : 'Unsupported API version',
    status,
    detail,
    supported: [...versions.list],
  };
  if (requested !== undefined) problem.requested = requested.length > 64 ? `${requested.slice(0, 64)}…` : requested;
  return { ok: false, status, problem, vary };
}

/**
 * The `version` parameter of the highest-weighted `mediaType` range in an
 * Accept header; `undefined` when no range of that type names a version;
 * `malformed` when the header cannot be read.
 */
export function versionFromAccept(accept: string, mediaType: string): string | undefined | 'malformed' {
  if (accept.length > MAX_ACCEPT_LENGTH) return 'malformed';
  // Most requests do not name the vendor type at all (`*/*`, `application/json`): no parsing for them.
  if (!accept.toLowerCase().includes(mediaType)) return rangeCount(accept) > MAX_MEDIA_RANGES ? 'malformed' : undefined;
  const ranges = accept.split(',');
  if (ranges.length > MAX_MEDIA_RANGES) return 'malformed';
  let best: { version: string; q: number } | undefined;
  for (const range of ranges) {
    const [type, ...parameters] = range.split(';').map((part) => part.trim());
    if (type === undefined || type.toLowerCase() !== mediaType) continue;
    let version: string | undefined;
    let q = 1;
    for (const parameter of parameters) {
      const at = parameter.indexOf('=');
      if (at <= 0) return 'malformed';
      const name = parameter.slice(0, at).trim().toLowerCase();
      let value = parameter.slice(at + 1).trim();
      if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
      if (name === 'version') version = value;
      else if (name === 'q') {
        q = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value) ? Number(value) : Number.NaN;
        if (Number.isNaN(q)) return 'malformed';
      }
    }
    if (version !== undefined && q > 0 && (best === undefined || q > best.q)) best = { version, q };
  }
  return best?.version;
}

function rangeCount(accept: string): number {
  let count = 1;
  for (let at = accept.indexOf(','); at !== -1; at = accept.indexOf(',', at + 1)) count += 1;
  return count;
}

function queryParameter(url: string | undefined, name: string): string | undefined {
  if (url === undefined) return undefined;
  const at = url.indexOf('?');
  if (at === -1) return undefined;
  return new URLSearchParams(url.slice(at + 1)).get(name) ?? undefined;
}

import type { IncomingMessage } from 'node:http';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1, plus the legacy ones RFC 2616 §13.5.1
 * and proxies still see): they describe one connection, so a proxy consumes
 * them and never forwards them. `Connection` may name more (handled below).
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
  // RFC 9113 §3.2 (h2c upgrade): describes the client's connection, like Upgrade.
  'http2-settings',
]);

/**
 * Request-only: the router answers `Expect: 100-continue` itself (Node does),
 * and request trailers cannot be forwarded, so `Trailer` would promise what
 * never comes. `x-forwarded-*` are rebuilt by {@link forwardRequestHeaders};
 * the shadow marks are set by the router only.
 */
const REQUEST_ONLY_DROP = new Set([
  'expect',
  'trailer',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'forwarded',
  // A shadow step's marks are the router's alone: a client's forged `Baton-Shadow: 1` would send its real write to the service's dry run.
  'baton-shadow',
  'baton-compare',
]);

/**
 * Claims about the client that only a proxy should make, which backends
 * (and frameworks: Spring's `X-Forwarded-Prefix`, nginx habits' `X-Real-IP`)
 * believe. A public client could set them to pass for another address, port
 * or path prefix; unless `trustForwarded` says a proxy in front sets them,
 * they are dropped.
 */
const UNTRUSTED_DROP = new Set(['x-real-ip', 'x-forwarded-port', 'x-forwarded-prefix', 'x-forwarded-server']);

/** The header names listed in the `Connection` header(s) of a raw header list, lower-cased. */
function connectionTokens(raw: readonly string[]): Set<string> {
  const tokens = new Set<string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() !== 'connection') continue;
    for (const token of (raw[i + 1] as string).split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '') tokens.add(name);
    }
  }
  return tokens;
}

/** The client's address as backends expect it in `X-Forwarded-For` (no `::ffff:` prefix on IPv4). */
export function clientAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export interface ForwardOptions {
  /**
   * Keep `X-Forwarded-Proto`, `X-Forwarded-Host`, the `Forwarded` elements
   * and `X-Real-IP`/`X-Forwarded-Port`/`-Prefix`/`-Server` as they come (a TLS
   * terminator in front sets them); default false: the router sets its own
   * (or drops them), so a client cannot claim `https`, another host or
   * another address.
   */
  trustForwarded: boolean;
}

/** A `Forwarded` node (RFC 7239 §6): an IPv6 address is bracketed and quoted. */
function forwardedNode(address: string): string {
  return address.includes(':') ? `"[${address}]"` : address;
}

/** A `Forwarded` value as a quoted-string when it is not a token (a host with a port has a ':'). */
function forwardedValue(value: string): string {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * The headers sent to a backend, as a flat `[name, value, ...]` list in the
 * client's order: hop-by-hop ones and those named in `Connection` removed,
 * `Host` kept (backends build URLs from it), `X-Forwarded-For` appended with
 * the client's address, `X-Forwarded-Proto` and `X-Forwarded-Host` set, and
 * `Forwarded` (RFC 7239) carrying the same facts: untrusted, the client's
 * own `Forwarded` is replaced by the router's element (its `proto=`/`host=`
 * claims cannot be told apart from its `for=` chain, so none of it is kept);
 * trusted, the router's element is appended to the client's.
 */
export function forwardRequestHeaders(req: IncomingMessage, options: ForwardOptions): string[] {
  const raw = req.rawHeaders;
  const listed = connectionTokens(raw);
  const out: string[] = [];
  const forwardedFor: string[] = [];
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  const forwarded: string[] = [];
  let host: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (lower === 'x-forwarded-for') forwardedFor.push(value);
    else if (lower === 'x-forwarded-proto') forwardedProto ??= value;
    else if (lower === 'x-forwarded-host') forwardedHost ??= value;
    else if (lower === 'forwarded') forwarded.push(value);
    else if (lower === 'host') host ??= value;
    if (HOP_BY_HOP.has(lower) || REQUEST_ONLY_DROP.has(lower) || listed.has(lower)) continue;
    if (!options.trustForwarded && UNTRUSTED_DROP.has(lower)) continue;
    out.push(name, value);
  }
  const client = clientAddress(req);
  forwardedFor.push(client);
  out.push('x-forwarded-for', forwardedFor.join(', '));
  const proto = 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
  out.push('x-forwarded-proto', options.trustForwarded && forwardedProto !== undefined ? forwardedProto : proto);
  const forwardHost = options.trustForwarded && forwardedHost !== undefined ? forwardedHost : host;
  if (forwardHost !== undefined) out.push('x-forwarded-host', forwardHost);
  let element = `for=${forwardedNode(client)};proto=${proto}`;
  if (host !== undefined) element += `;host=${forwardedValue(host)}`;
  out.push('forwarded', options.trustForwarded && forwarded.length > 0 ? `${forwarded.join(', ')}, ${element}` : element);
  return out;
}

/**
 * A backend's response headers for the client, as a flat list: hop-by-hop
 * ones and those named in `Connection` removed (the router keeps its own
 * connection with the client: a draining backend's `Connection: close` ends
 * the backend connection, not the client's). `Content-Length` is kept, so
 * Node frames the response the same way; without it Node uses chunked.
 */
export function forwardResponseHeaders(raw: readonly (Buffer | string)[] | null | undefined): string[] {
  if (!raw) return [];
  const strings = raw.map((part) => (typeof part === 'string' ? part : part.toString('latin1')));
  const listed = connectionTokens(strings);
  const out: string[] = [];
  for (let i = 0; i + 1 < strings.length; i += 2) {
    const name = strings[i] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed.has(lower)) continue;
    out.push(name, strings[i + 1] as string);
  }
  return out;
}

/** Response trailers (flat raw list) as an object for `res.addTrailers`, or undefined when there are none. */
export function trailersOf(raw: readonly (Buffer | string)[] | null | undefined): [string, string][] | undefined {
  if (!raw || raw.length === 0) return undefined;
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as Buffer | string;
    const value = raw[i + 1] as Buffer | string;
    out.push([typeof name === 'string' ? name : name.toString('latin1'), typeof value === 'string' ? value : value.toString('latin1')]);
  }
  return out;
}

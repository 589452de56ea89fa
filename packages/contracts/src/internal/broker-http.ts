import { BatonError } from '@baton/lifecycle';
import type { BrokerAuth } from '../can-i-deploy.js';
import { BROKER_ERROR } from './codes.js';
import { isNonEmpty, isRecord, show } from './values.js';

// What the Pact Broker clients (canIDeploy, recordDeployment) share: the same
// option checks and messages, the same redaction, the same reading of a
// broker's error answers. `where` is the client's name, the prefix of its messages.

function invalid(where: string, message: string): BatonError {
  return new BatonError('BATON_ERR_INVALID_OPTION', `${where}: ${message}`);
}

/**
 * The broker's base URL from `brokerUrl`, checked and ending in a slash.
 * Credentials, a query or a fragment in it are refused: credentials go in `auth`.
 */
export function parseBrokerUrl(where: string, brokerUrl: unknown): URL {
  if (!isNonEmpty(brokerUrl)) throw invalid(where, `\`brokerUrl\` is required: the Pact Broker's base URL, e.g. "https://pact-broker.example.com"; got ${show(brokerUrl)}.`);
  let url: URL;
  try {
    url = new URL(brokerUrl);
  } catch {
    // Not echoed: a malformed URL may still carry a password.
    throw invalid(where, '`brokerUrl` is not a valid URL; give the broker\'s base URL, e.g. "https://pact-broker.example.com".');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(where, `\`brokerUrl\` must be an http: or https: URL; got a ${url.protocol} URL.`);
  if (url.username !== '' || url.password !== '') throw invalid(where, '`brokerUrl` must not carry credentials; give them as `auth: { username, password }` or `auth: { token }`.');
  if (url.search !== '' || url.hash !== '') throw invalid(where, '`brokerUrl` must be the broker\'s base URL, without a query or fragment.');
  // A path resolved against the base (new URL('matrix', base)) replaces its last segment unless it ends in a slash.
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** The headers of every request to the broker, and the strings that must never appear in a message. */
export interface BrokerCredentials {
  headers: Record<string, string>;
  /** The token, or the password and the Basic credential. */
  secrets: string[];
}

/** Checks `auth` and turns it into an `authorization` header (Bearer for a token, Basic for a user name and password). */
export function brokerCredentials(where: string, auth: BrokerAuth | undefined): BrokerCredentials {
  const headers: Record<string, string> = { accept: 'application/hal+json, application/json' };
  const secrets: string[] = [];
  if (auth !== undefined) {
    if (typeof auth !== 'object' || auth === null) throw invalid(where, '`auth` must be `{ token }` or `{ username, password }`.');
    if ('token' in auth) {
      if (!isNonEmpty(auth.token) || /[\r\n]/.test(auth.token)) throw invalid(where, '`auth.token` must be a non-empty string without line breaks.');
      headers.authorization = `Bearer ${auth.token}`;
      secrets.push(auth.token);
    } else if ('username' in auth && 'password' in auth) {
      const { username, password } = auth;
      // RFC 7617: the user-id of Basic cannot contain a colon.
      if (!isNonEmpty(username) || username.includes(':')) throw invalid(where, '`auth.username` must be a non-empty string without ":".');
      if (typeof password !== 'string') throw invalid(where, '`auth.password` must be a string.');
      const basic = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
      headers.authorization = `Basic ${basic}`;
      secrets.push(basic);
      if (password !== '') secrets.push(password);
    } else {
      throw invalid(where, '`auth` must be `{ token }` or `{ username, password }`.');
    }
  }
  return { headers, secrets };
}

/** A `BATON_ERR_BROKER` error, `where: message`, with every secret redacted. */
export function redactedBrokerError(where: string, secrets: readonly string[], message: string, cause?: unknown): BatonError {
  return new BatonError(BROKER_ERROR, redact(`${where}: ${message}`, secrets), cause === undefined ? undefined : { cause });
}

// A broker (or a proxy in front of it) may echo the request; its text must not carry our credentials into logs.
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('[redacted]');
  return out;
}

/** What the broker says went wrong: its `errors` (array or per-field object), a problem+json `detail`/`title`, or the text. */
export function brokerMessage(body: string): string {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return excerpt(body);
  }
  if (isRecord(json)) {
    const { errors, error, detail, title, message } = json;
    if (Array.isArray(errors)) return excerpt(errors.map(String).join('; '));
    if (isRecord(errors)) {
      return excerpt(
        Object.entries(errors)
          .map(([key, value]) => `${key}: ${Array.isArray(value) ? value.map(String).join(', ') : String(value)}`)
          .join('; '),
      );
    }
    if (isRecord(error) && typeof error.message === 'string') return excerpt(error.message);
    if (typeof error === 'string') return excerpt(error);
    if (typeof detail === 'string') return excerpt(detail);
    if (typeof title === 'string') return excerpt(title);
    if (typeof message === 'string') return excerpt(message);
  }
  return excerpt(body);
}

// fetch says only "fetch failed"; the useful part (ECONNREFUSED ...) is in its cause.
export function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause: unknown = error.cause;
  if (cause instanceof Error) {
    // An AggregateError (several addresses tried) has an empty message but a code.
    const code = (cause as { code?: unknown }).code;
    if (typeof code !== 'string' || cause.message.includes(code)) return cause.message || error.message;
    return cause.message === '' ? code : `${cause.message} (${code})`;
  }
  return error.message;
}

/** A body for a message: on one line, cut at 200 characters. Redact before cutting, so no half of a secret survives. */
export function excerpt(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

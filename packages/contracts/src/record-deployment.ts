import { BatonError, isBatonError, readLimitedText } from '@baton/lifecycle';
import type { BrokerAuth } from './can-i-deploy.js';
import { brokerCredentials, brokerMessage, describeFetchError, excerpt, parseBrokerUrl, redact, redactedBrokerError } from './internal/broker-http.js';
import { isNonEmpty, isRecord, show } from './internal/values.js';

/** Options of {@link recordDeployment}. */
export interface RecordDeploymentOptions {
  /** The broker's base URL, e.g. `https://pact-broker.example.com` (a path prefix is kept). Credentials go in `auth`, not here. */
  brokerUrl: string;
  /** The application that was deployed, as the broker names it. */
  pacticipant: string;
  /** The version of `pacticipant` that was deployed (the one its pacts or verification results were published with). */
  version: string;
  /** The environment it was deployed to, as created in the broker (e.g. `production`). */
  environment: string;
  /**
   * Which of several instances of the application in that environment (e.g. `eu-west`), when
   * there is more than one. A deployment replaces the one before it on the same instance.
   */
  applicationInstance?: string;
  auth?: BrokerAuth;
  /** Limit for each of the two requests, headers and body; default 10000 ms. */
  timeoutMs?: number;
  /** Aborting it rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** What the broker recorded. */
export interface RecordedDeployment {
  pacticipant: string;
  version: string;
  environment: string;
  applicationInstance: string | undefined;
  /** The broker's deployed-version resource (`<broker>/deployed-versions/<uuid>`), when it gave one. */
  deployedVersionUrl: string | undefined;
  /** When the broker recorded it (ISO 8601, as the broker wrote it), when it said. */
  createdAt: string | undefined;
}

const WHERE = 'recordDeployment';
const DEFAULT_TIMEOUT_MS = 10_000;
// A version resource lists a link per pact and environment; this is far past any real one.
const MAX_BODY_BYTES = 4 * 1024 * 1024;
const RELATION = 'pb:record-deployment';
// After a POST that failed without a clear refusal the deployment may or may not be in the broker.
const UNSURE = ' The deployment may have been recorded; recording it again is safe.';

/**
 * Tells a Pact Broker that a version of an application now runs in an
 * environment, as `pact-broker record-deployment` does, so that its
 * `canIDeploy({ toEnvironment })` answers for what is really deployed there.
 * The version before it in that environment (on the same `applicationInstance`)
 * is marked undeployed by the broker. Needs Pact Broker 2.80.0 or later.
 *
 * Two requests, each within `timeoutMs`: the version's resource, then a POST to
 * its `pb:record-deployment` link for the environment. Recording the same
 * deployment twice is harmless (the broker keeps the one it has), so a step
 * that failed can simply run again. Rejects with a `BatonError`:
 * `BATON_ERR_BROKER` when the broker does not know the version or the
 * environment, is too old for environments, refuses the credentials, or cannot
 * be reached or read; `BATON_ERR_INVALID_OPTION` before any request.
 *
 * @example
 * await recordDeployment({
 *   brokerUrl: 'https://pact-broker.example.com',
 *   pacticipant: 'orders', version: process.env.GIT_SHA!,
 *   environment: 'production',
 *   auth: { token: process.env.PACT_BROKER_TOKEN! },
 * });
 */
export async function recordDeployment(options: RecordDeploymentOptions): Promise<RecordedDeployment> {
  const resolved = resolveOptions(options);
  resolved.signal?.throwIfAborted();
  const { pacticipant, version, environment, applicationInstance } = resolved;
  const versionUrl = new URL(resolved.versionUrl);

  const got = await send(resolved, 'GET', versionUrl, undefined);
  if (!isSuccess(got.status)) {
    if (got.status === 404) {
      throw brokerError(
        resolved,
        `${pacticipant} ${version} is not known to the broker: publish its verification results or pacts first — ${answered(resolved, versionUrl, got)}. If they are published, check \`brokerUrl\`, \`pacticipant\` and \`version\`.`,
      );
    }
    throw statusError(resolved, versionUrl, got, '');
  }
  const links = recordDeploymentLinks(resolved, versionUrl, parseJson(resolved, versionUrl, got, ''));

  if (links.length === 0) {
    throw brokerError(
      resolved,
      `the Pact Broker at ${resolved.shownBase} has no environments to record a deployment of ${pacticipant} in (its "${RELATION}" links for ${version} are empty): create "${environment}" first, e.g. \`pact-broker create-environment --name ${environment}\`.`,
    );
  }
  const link = links.find((candidate) => candidate.name === environment);
  if (link === undefined) {
    const shownNames = links.slice(0, 20).map((candidate) => `"${candidate.name}"`);
    const names = links.length > shownNames.length ? `${shownNames.join(', ')} and ${links.length - shownNames.length} more` : shownNames.join(', ');
    const near = links.find((candidate) => candidate.name.toLowerCase() === environment.toLowerCase());
    const hint = near === undefined ? `create it (\`pact-broker create-environment --name ${environment}\`) or give one of those` : `did you mean "${near.name}"?`;
    throw brokerError(
      resolved,
      `the Pact Broker at ${resolved.shownBase} knows no environment "${environment}" to record a deployment of ${pacticipant} in; it offers ${names}: ${hint}.`,
    );
  }

  const target = followLink(resolved, got.url, link.href);
  // `target` is what brokers 2.80 to 2.88 read; later ones read `applicationInstance` (pact_broker-client sends both).
  const body = applicationInstance === undefined ? {} : { applicationInstance, target: applicationInstance };
  const posted = await send(resolved, 'POST', target, JSON.stringify(body));
  if (!isSuccess(posted.status)) throw statusError(resolved, target, posted, posted.status >= 500 ? UNSURE : '');
  const deployed = parseJson(resolved, target, posted, UNSURE);
  if (!isRecord(deployed)) throw brokerError(resolved, `the Pact Broker at ${shown(target)} answered JSON this client does not understand: expected the deployed version, an object; got ${show(deployed)}.${UNSURE}`);

  const said = deployed.applicationInstance ?? deployed.target;
  return {
    pacticipant,
    version,
    environment: link.name,
    applicationInstance: typeof said === 'string' && said !== '' ? said : applicationInstance,
    deployedVersionUrl: absolute(selfHref(deployed) ?? posted.location, target),
    createdAt: typeof deployed.createdAt === 'string' ? deployed.createdAt : undefined,
  };
}

interface ResolvedOptions {
  pacticipant: string;
  version: string;
  environment: string;
  applicationInstance: string | undefined;
  versionUrl: string;
  /** The base URL, for messages. */
  shownBase: string;
  origin: string;
  headers: Record<string, string>;
  /** Strings that must never appear in a message (token, password, the Basic credential). */
  secrets: string[];
  timeoutMs: number;
  signal: AbortSignal | undefined;
}

function invalid(message: string): BatonError {
  return new BatonError('BATON_ERR_INVALID_OPTION', `${WHERE}: ${message}`);
}

function resolveOptions(options: RecordDeploymentOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object with `brokerUrl`, `pacticipant`, `version` and `environment`.');
  const base = parseBrokerUrl(WHERE, options.brokerUrl);
  const pacticipant = pathSegment(options.pacticipant, '`pacticipant` (the application deployed, as the broker names it)');
  const version = pathSegment(options.version, `\`version\` of "${pacticipant}" (e.g. the git SHA it was published with)`);
  const { environment, applicationInstance } = options;
  if (!isNonEmpty(environment)) throw invalid(`\`environment\` must be a non-empty string (e.g. "production"); got ${show(environment)}.`);
  // The broker stores an absent instance as an empty string, so an empty one would mean "none" without saying so.
  if (applicationInstance !== undefined && !isNonEmpty(applicationInstance)) throw invalid(`\`applicationInstance\` must be a non-empty string when given; got ${show(applicationInstance)}.`);

  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw invalid(`\`timeoutMs\` must be a positive number of milliseconds; got ${show(timeoutMs)}.`);
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw invalid('`signal` must be an AbortSignal.');

  const { headers, secrets } = brokerCredentials(WHERE, options.auth);

  // Each segment encoded on its own: a version such as "feat/x+1" stays one segment.
  const versionUrl = new URL(`pacticipants/${encodeURIComponent(pacticipant)}/versions/${encodeURIComponent(version)}`, base);
  return {
    pacticipant,
    version,
    environment,
    applicationInstance,
    versionUrl: versionUrl.href,
    shownBase: base.href.replace(/\/$/, ''),
    origin: base.origin,
    headers,
    secrets,
    timeoutMs,
    signal: options.signal,
  };
}

function pathSegment(value: unknown, what: string): string {
  if (!isNonEmpty(value)) throw invalid(`${what} must be a non-empty string; got ${show(value)}.`);
  // URL resolution drops "." and ".." segments even when percent-encoded; the broker could never be asked about them.
  if (value === '.' || value === '..') throw invalid(`${what} cannot be "${value}".`);
  return value;
}

interface Link {
  name: string;
  href: string;
}

/** The version's `pb:record-deployment` links, one per environment the broker offers. */
function recordDeploymentLinks(options: ResolvedOptions, versionUrl: URL, json: unknown): Link[] {
  const links = isRecord(json) ? json._links : undefined;
  if (!isRecord(json) || (links !== undefined && !isRecord(links))) {
    const what = isRecord(json) ? `"_links" must be an object; got ${show(links)}` : `expected the version resource, an object with "_links"; got ${show(json)}`;
    throw brokerError(options, `the Pact Broker at ${shown(versionUrl)} answered JSON this client does not understand: ${what}.`);
  }
  const relation = links?.[RELATION];
  if (relation === undefined || relation === null) {
    throw brokerError(
      options,
      `the Pact Broker at ${options.shownBase} does not offer to record deployments (no "${RELATION}" link on ${options.pacticipant} ${options.version}): it needs Pact Broker 2.80.0 or later, which has environments (on PactFlow, credentials that may read environments).`,
    );
  }
  // HAL allows a single link object where one would expect an array of them.
  const entries: unknown[] = Array.isArray(relation) ? relation : [relation];
  return entries.map((entry, i) => {
    if (!isRecord(entry) || typeof entry.name !== 'string' || typeof entry.href !== 'string') {
      throw brokerError(options, `the Pact Broker at ${shown(versionUrl)} answered JSON this client does not understand: "_links.${RELATION}[${i}]" must have a string "name" and "href".`);
    }
    return { name: entry.name, href: entry.href };
  });
}

function followLink(options: ResolvedOptions, versionUrl: URL, href: string): URL {
  let url: URL;
  try {
    url = new URL(href, versionUrl);
  } catch {
    throw brokerError(options, `the Pact Broker at ${shown(versionUrl)} gave a "${RELATION}" link that is not a URL: ${show(href)}.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw brokerError(options, `the Pact Broker at ${shown(versionUrl)} gave a "${RELATION}" link that is not http(s): a ${url.protocol} URL.`);
  // Credentials go to the broker that was configured, never to another host a link names
  // (fetch drops them on a cross-origin redirect for the same reason).
  if (url.origin !== options.origin && options.headers.authorization !== undefined) {
    throw brokerError(
      options,
      `the Pact Broker at ${options.shownBase} links to another origin (${url.origin}) to record the deployment, and the credentials in \`auth\` are only sent to \`brokerUrl\`: set \`brokerUrl\` to the base URL the broker announces, or its PACT_BROKER_BASE_URL to the one you use.`,
    );
  }
  return url;
}

function selfHref(resource: Record<string, unknown>): string | undefined {
  const links = resource._links;
  if (isRecord(links) && isRecord(links.self) && typeof links.self.href === 'string') return links.self.href;
  return undefined;
}

function absolute(location: string | null, base: URL): string | undefined {
  if (location === null || location === '') return undefined;
  try {
    return new URL(location, base).href;
  } catch {
    return undefined;
  }
}

interface Reply {
  method: 'GET' | 'POST';
  /** Where the answer came from, after any redirect of a GET: the base of the links in it. */
  url: URL;
  status: number;
  statusText: string;
  body: string;
  location: string | null;
}

async function send(options: ResolvedOptions, method: 'GET' | 'POST', url: URL, body: string | undefined): Promise<Reply> {
  const { signal, timeoutMs } = options;
  // One deadline for headers and body: a broker that sends headers and then stalls is caught too.
  const deadline = AbortSignal.timeout(timeoutMs);
  const headers = body === undefined ? options.headers : { ...options.headers, 'content-type': 'application/json' };
  // A GET changes nothing; a POST that got no answer may still have been recorded.
  const unsure = method === 'POST' ? UNSURE : '';
  try {
    // A POST is not followed through a redirect: a 301/302 would turn it into a GET of the
    // deployed-versions list, whose 200 would read as a recorded deployment.
    const redirect = method === 'POST' ? 'manual' : 'follow';
    const response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }), redirect, signal: signal ? AbortSignal.any([signal, deadline]) : deadline });
    // Bounded, so a broker (or whatever answers at its URL) cannot fill the orchestrator's memory.
    const text = await readLimitedText(response, MAX_BODY_BYTES, () => brokerError(options, `the Pact Broker's answer to ${method} ${shown(url)} is larger than ${MAX_BODY_BYTES} bytes.${unsure}`));
    return { method, url: response.url === '' ? url : new URL(response.url), status: response.status, statusText: response.statusText, body: text, location: response.headers.get('location') };
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (deadline.aborted) throw brokerError(options, `the Pact Broker at ${shown(url)} did not answer ${method} within ${timeoutMs} ms.${unsure}`, error);
    if (isBatonError(error)) throw error;
    throw brokerError(options, `could not reach the Pact Broker at ${shown(url)}: ${describeFetchError(error)}.${unsure}`, error);
  }
}

function isSuccess(status: number): boolean {
  return status >= 200 && status <= 299;
}

/** "the Pact Broker at <url> answered GET with 404 Not Found: <what it said>" (redacted before it is cut to an excerpt, so no half of a secret survives). */
function answered(options: ResolvedOptions, url: URL, reply: Reply): string {
  const said = brokerMessage(redact(reply.body, options.secrets)).replace(/\.$/, '');
  return `the Pact Broker at ${shown(url)} answered ${reply.method} with ${reply.status}${reply.statusText === '' ? '' : ` ${reply.statusText}`}${said === '' ? '' : `: ${said}`}`;
}

function statusError(options: ResolvedOptions, url: URL, reply: Reply, unsure: string): BatonError {
  const head = answered(options, url, reply);
  if (reply.status === 401 || reply.status === 403) {
    const hint =
      options.headers.authorization === undefined
        ? 'it wants credentials and none were given (set `auth`)'
        : reply.method === 'POST'
          ? 'the credentials in `auth` were refused, or may not record deployments'
          : 'the credentials in `auth` were refused';
    return brokerError(options, `${head} — ${hint}.`);
  }
  if (reply.status >= 300 && reply.status <= 399) {
    const to = absolute(reply.location, url);
    const where = to === undefined ? '' : ` to ${shown(new URL(to))}`;
    return brokerError(options, `${head}, a redirect${where}: set \`brokerUrl\` to the broker's own base URL (a POST is not sent on through a redirect).`);
  }
  return brokerError(options, `${head}.${unsure}`);
}

function parseJson(options: ResolvedOptions, url: URL, reply: Reply, unsure: string): unknown {
  try {
    return JSON.parse(reply.body);
  } catch {
    throw brokerError(
      options,
      `the Pact Broker at ${shown(url)} answered ${reply.method} with ${reply.status} and a body that is not JSON: ${excerpt(redact(reply.body, options.secrets)) || '(empty)'}.${unsure}`,
    );
  }
}

function brokerError(options: ResolvedOptions, message: string, cause?: unknown): BatonError {
  return redactedBrokerError(WHERE, options.secrets, message, cause);
}

/** A URL for a message: no query (the broker's links carry none that matter, and a query could carry anything). */
function shown(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

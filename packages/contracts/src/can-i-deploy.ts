import { abortableDelay, BatonError, isBatonError, readLimitedText } from '@baton/lifecycle';
import { brokerCredentials, brokerMessage, describeFetchError, excerpt, parseBrokerUrl, redact, redactedBrokerError } from './internal/broker-http.js';
import { BROKER_ERROR } from './internal/codes.js';
import { isNonEmpty, isRecord, show } from './internal/values.js';

/**
 * One application version to ask about: an exact version, or the latest
 * version (optionally the latest with a tag, or the latest of a branch).
 */
export type PacticipantSelector =
  | { name: string; version: string }
  | { name: string; latest: true; tag?: string; branch?: string };

/** Credentials for the broker: a token (sent as Bearer) or a user name and password (sent as Basic). */
export type BrokerAuth = { token: string } | { username: string; password: string };

/** Options of {@link canIDeploy}. */
export interface CanIDeployOptions {
  /** The broker's base URL, e.g. `https://pact-broker.example.com` (a path prefix is kept). Credentials go in `auth`, not here. */
  brokerUrl: string;
  /** The application to deploy (shorthand for one selector; give `version` with it). */
  pacticipant?: string;
  /** The version of `pacticipant` to deploy. */
  version?: string;
  /** Several versions deployed together (instead of `pacticipant` + `version`). */
  pacticipants?: readonly PacticipantSelector[];
  /** The environment to deploy to (`environment=`, from recorded deployments and releases). */
  toEnvironment?: string;
  /** The tag of the versions already there (`latest=true&tag=`), for brokers used with tags instead of environments. */
  toTag?: string;
  auth?: BrokerAuth;
  /** Limit for one request, headers and body; default 10000 ms. */
  timeoutMs?: number;
  /** How many more times to ask while verification results are pending (like `--retry-while-unknown`); default 0. */
  retries?: number;
  /** Wait between two requests while results are pending (like `--retry-interval`); default 10000 ms. */
  intervalMs?: number;
  /** Aborting it rejects with the signal's reason, also during the wait between requests. */
  signal?: AbortSignal;
}

/** How one consumer/provider pair stands: verified, failed verification, or no verification result yet. */
export type PairOutcome = 'success' | 'failed' | 'unknown';

/** One row of the broker's matrix: a consumer version's pact and a provider version's verification of it. */
export interface MatrixPair {
  consumer: { name: string; version: string };
  /** `version` is undefined when no provider version has verified this pact yet. */
  provider: { name: string; version: string | undefined };
  outcome: PairOutcome;
  /** When the verification ran (ISO 8601, as the broker wrote it). */
  verifiedAt: string | undefined;
  /** The broker's link to the verification result. */
  verificationUrl: string | undefined;
  /** The broker listed the row but left it out of the decision (an ignore selector). */
  ignored: boolean;
}

/** What the broker answered, after any retries. */
export interface CanIDeployResult {
  /** `undefined` when the broker still could not tell (verification results pending) after the last attempt. */
  deployable: boolean | undefined;
  /** The broker's own explanation (several reasons are joined with newlines). */
  reason: string;
  counts: { success: number; failed: number; unknown: number; ignored: number };
  rows: MatrixPair[];
  /** Messages the broker adds for people (newer brokers), e.g. `{ type: 'warning', text }`. */
  notices: { type: string; text: string }[];
  /** Requests made, 1 + the retries used. */
  attempts: number;
}

const WHERE = 'canIDeploy';
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_INTERVAL_MS = 10_000;
// The matrix of a large organisation can run to megabytes; anything past this is not a matrix.
const MAX_BODY_BYTES = 32 * 1024 * 1024;

/**
 * Asks a Pact Broker whether the given versions can be deployed (its
 * `GET /matrix`, as `pact-broker can-i-deploy` does). While verification
 * results are pending it asks again, `retries` more times, `intervalMs`
 * apart, so it takes at most `(retries + 1) × timeoutMs + retries × intervalMs`.
 *
 * A "no" or a "still unknown" is a result, not an error; it rejects with a
 * `BatonError` only when the broker could not be asked (`BATON_ERR_BROKER`:
 * unreachable, timed out, 401, 404, 500, not JSON, unexpected shape) or an
 * option is wrong (`BATON_ERR_INVALID_OPTION`, thrown before any request).
 *
 * @example
 * const result = await canIDeploy({
 *   brokerUrl: 'https://pact-broker.example.com',
 *   pacticipant: 'orders', version: process.env.GIT_SHA!,
 *   toEnvironment: 'production',
 *   auth: { token: process.env.PACT_BROKER_TOKEN! },
 *   retries: 10, intervalMs: 10_000,
 * });
 * if (result.deployable !== true) throw new Error(describeCanIDeploy(result));
 */
export async function canIDeploy(options: CanIDeployOptions): Promise<CanIDeployResult> {
  const resolved = resolveOptions(options);
  const { signal } = resolved;
  signal?.throwIfAborted();

  let attempts = 0;
  for (;;) {
    attempts += 1;
    const answer = await askBroker(resolved, attempts);
    const pending = answer.deployable === undefined || answer.counts.unknown > 0;
    if (!pending || attempts > resolved.retries) return { ...answer, attempts };
    await abortableDelay(resolved.intervalMs, signal);
  }
}

/**
 * One paragraph for a person (a deploy log, a chat message): the verdict, the
 * counts, the pairs that failed or are pending, and the broker's reason.
 */
export function describeCanIDeploy(result: CanIDeployResult): string {
  const { counts, rows } = result;
  const considered = rows.filter((row) => !row.ignored);
  const verdict =
    result.deployable === true
      ? 'Can I deploy? Yes.'
      : result.deployable === false
        ? 'Can I deploy? No.'
        : `Can I deploy? Unknown: verification results are still pending${result.attempts > 1 ? ` after ${result.attempts} attempts` : ''}.`;
  const parts = [verdict];
  const pairs = considered.length === 1 ? '1 pair' : `${considered.length} pairs`;
  parts.push(
    `${pairs} checked: ${counts.success} verified, ${counts.failed} failed, ${counts.unknown} pending${counts.ignored > 0 ? `, ${counts.ignored} ignored` : ''}.`,
  );
  const failed = considered.filter((row) => row.outcome === 'failed');
  if (failed.length > 0) parts.push(`Failed: ${listPairs(failed)}.`);
  const pending = considered.filter((row) => row.outcome === 'unknown');
  if (pending.length > 0) parts.push(`Pending: ${listPairs(pending)}.`);
  const reason = result.reason.replace(/\s*\n\s*/g, '; ').trim();
  if (reason !== '') parts.push(`Broker: ${reason.endsWith('.') ? reason : `${reason}.`}`);
  return parts.join(' ');
}

function listPairs(rows: readonly MatrixPair[]): string {
  const shown = rows.slice(0, 5).map((row) => {
    const consumer = `${row.consumer.name} ${row.consumer.version}`;
    const provider = row.provider.version === undefined ? row.provider.name : `${row.provider.name} ${row.provider.version}`;
    if (row.outcome === 'unknown') return `${consumer} (consumer) not yet verified by ${provider} (provider)`;
    return `${consumer} (consumer) by ${provider} (provider)${row.verifiedAt === undefined ? '' : `, verified at ${row.verifiedAt}`}`;
  });
  return rows.length > shown.length ? `${shown.join('; ')}; and ${rows.length - shown.length} more` : shown.join('; ');
}

interface ResolvedOptions {
  matrixUrl: string;
  /** The URL without its query, for messages. */
  shownUrl: string;
  headers: Record<string, string>;
  /** Strings that must never appear in a message (token, password, the Basic credential). */
  secrets: string[];
  timeoutMs: number;
  retries: number;
  intervalMs: number;
  signal: AbortSignal | undefined;
}

function invalid(message: string): BatonError {
  return new BatonError('BATON_ERR_INVALID_OPTION', `${WHERE}: ${message}`);
}

function resolveOptions(options: CanIDeployOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object with at least `brokerUrl`.');
  const base = parseBrokerUrl(WHERE, options.brokerUrl);
  const selectors = resolveSelectors(options);

  const { toEnvironment, toTag } = options;
  if (toEnvironment !== undefined && !isNonEmpty(toEnvironment)) throw invalid(`\`toEnvironment\` must be a non-empty string; got ${show(toEnvironment)}.`);
  if (toTag !== undefined && !isNonEmpty(toTag)) throw invalid(`\`toTag\` must be a non-empty string; got ${show(toTag)}.`);
  if (toEnvironment !== undefined && toTag !== undefined) throw invalid('give `toEnvironment` or `toTag`, not both.');

  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw invalid(`\`timeoutMs\` must be a positive number of milliseconds; got ${show(timeoutMs)}.`);
  }
  const retries = options.retries ?? 0;
  if (typeof retries !== 'number' || !Number.isSafeInteger(retries) || retries < 0) {
    throw invalid(`\`retries\` must be a whole number, 0 or more; got ${show(retries)}.`);
  }
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  if (typeof intervalMs !== 'number' || !Number.isFinite(intervalMs) || intervalMs < 0) {
    throw invalid(`\`intervalMs\` must be zero or a positive number of milliseconds; got ${show(intervalMs)}.`);
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw invalid('`signal` must be an AbortSignal.');

  const { headers, secrets } = brokerCredentials(WHERE, options.auth);

  const matrix = new URL('matrix', base);
  matrix.search = matrixQuery(selectors, toEnvironment, toTag);
  return {
    matrixUrl: matrix.href,
    shownUrl: `${matrix.origin}${matrix.pathname}`,
    headers,
    secrets,
    timeoutMs,
    retries,
    intervalMs,
    signal: options.signal,
  };
}

function resolveSelectors(options: CanIDeployOptions): PacticipantSelector[] {
  const { pacticipant, version, pacticipants } = options;
  if (pacticipants !== undefined) {
    if (pacticipant !== undefined || version !== undefined) throw invalid('give `pacticipant` + `version` or `pacticipants`, not both.');
    if (!Array.isArray(pacticipants) || pacticipants.length === 0) throw invalid('`pacticipants` must be a non-empty array of `{ name, version }` or `{ name, latest: true, tag?, branch? }`.');
    return pacticipants.map((selector, i) => checkSelector(selector, `pacticipants[${i}]`));
  }
  if (pacticipant === undefined) throw invalid('give the application to deploy: `pacticipant` and `version`, or `pacticipants`.');
  if (!isNonEmpty(pacticipant)) throw invalid(`\`pacticipant\` must be a non-empty string; got ${show(pacticipant)}.`);
  if (!isNonEmpty(version)) throw invalid(`\`version\` of "${pacticipant}" must be a non-empty string (e.g. the git SHA); got ${show(version)}.`);
  return [{ name: pacticipant, version }];
}

function checkSelector(selector: unknown, where: string): PacticipantSelector {
  if (typeof selector !== 'object' || selector === null) throw invalid(`\`${where}\` must be an object; got ${show(selector)}.`);
  const s = selector as Record<string, unknown>;
  if (!isNonEmpty(s.name)) throw invalid(`\`${where}.name\` must be a non-empty string; got ${show(s.name)}.`);
  if (s.version !== undefined) {
    if (!isNonEmpty(s.version)) throw invalid(`\`${where}.version\` must be a non-empty string; got ${show(s.version)}.`);
    if (s.latest !== undefined || s.tag !== undefined || s.branch !== undefined) throw invalid(`\`${where}\`: give \`version\` or \`latest: true\` (with \`tag\` or \`branch\`), not both.`);
    return { name: s.name, version: s.version };
  }
  if (s.latest !== true) throw invalid(`\`${where}\` ("${s.name}") needs \`version\` or \`latest: true\`.`);
  if (s.tag !== undefined && !isNonEmpty(s.tag)) throw invalid(`\`${where}.tag\` must be a non-empty string; got ${show(s.tag)}.`);
  if (s.branch !== undefined && !isNonEmpty(s.branch)) throw invalid(`\`${where}.branch\` must be a non-empty string; got ${show(s.branch)}.`);
  if (s.tag !== undefined && s.branch !== undefined) throw invalid(`\`${where}\`: give \`tag\` or \`branch\`, not both.`);
  return {
    name: s.name,
    latest: true,
    ...(s.tag === undefined ? {} : { tag: s.tag as string }),
    ...(s.branch === undefined ? {} : { branch: s.branch as string }),
  };
}

/**
 * The broker's matrix query. Each selector starts with `q[][pacticipant]`,
 * which is how the broker's (Rack) parser knows a new selector begins.
 */
function matrixQuery(selectors: readonly PacticipantSelector[], toEnvironment: string | undefined, toTag: string | undefined): string {
  const query = new URLSearchParams();
  for (const selector of selectors) {
    query.append('q[][pacticipant]', selector.name);
    if ('version' in selector) {
      query.append('q[][version]', selector.version);
    } else {
      query.append('q[][latest]', 'true');
      if (selector.tag !== undefined) query.append('q[][tag]', selector.tag);
      if (selector.branch !== undefined) query.append('q[][branch]', selector.branch);
    }
  }
  // cvp: the latest row per consumer version and provider; with several
  // selectors the broker wants every provider version (cvpv).
  query.append('latestby', selectors.length === 1 ? 'cvp' : 'cvpv');
  if (toEnvironment !== undefined) {
    query.append('environment', toEnvironment);
  } else if (toTag !== undefined) {
    query.append('latest', 'true');
    query.append('tag', toTag);
  } else if (selectors.length === 1) {
    // One application and no target: against the latest version of everything it integrates with.
    query.append('latest', 'true');
  }
  return query.toString();
}

type Answer = Omit<CanIDeployResult, 'attempts'>;

async function askBroker(options: ResolvedOptions, attempt: number): Promise<Answer> {
  const { signal, timeoutMs, shownUrl } = options;
  const of = options.retries > 0 ? ` (attempt ${attempt} of ${options.retries + 1})` : '';
  // One deadline for headers and body: a broker that sends headers and then stalls is caught too.
  const deadline = AbortSignal.timeout(timeoutMs);
  let status: number;
  let statusText: string;
  let body: string;
  try {
    const response = await fetch(options.matrixUrl, { headers: options.headers, signal: signal ? AbortSignal.any([signal, deadline]) : deadline });
    status = response.status;
    statusText = response.statusText;
    // Bounded, so a broker (or whatever answers at its URL) cannot fill the orchestrator's memory.
    body = await readLimitedText(response, MAX_BODY_BYTES, () => new BatonError(BROKER_ERROR, `${WHERE}: the Pact Broker's answer is larger than ${MAX_BODY_BYTES} bytes; not a matrix.`));
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (deadline.aborted) throw brokerError(options, `the Pact Broker at ${shownUrl} did not answer within ${timeoutMs} ms${of}.`, error);
    if (isBatonError(error)) throw error;
    throw brokerError(options, `could not reach the Pact Broker at ${shownUrl}${of}: ${describeFetchError(error)}.`, error);
  }

  if (status < 200 || status > 299) {
    // Redacted before it is cut to an excerpt, so no half of a secret survives.
    const said = brokerMessage(redact(body, options.secrets));
    const detail = said === '' ? '' : `: ${said}`;
    const head = `the Pact Broker at ${shownUrl} answered ${status}${statusText === '' ? '' : ` ${statusText}`}${of}${detail}`;
    if (status === 401 || status === 403) {
      const hint = options.headers.authorization === undefined ? 'it wants credentials and none were given (set `auth`)' : 'the credentials in `auth` were refused';
      throw brokerError(options, `${head} — ${hint}.`);
    }
    if (status === 404) throw brokerError(options, `${head} — check that \`brokerUrl\` is the broker's base URL (the client asks for <brokerUrl>/matrix).`);
    throw brokerError(options, `${head}.`);
  }

  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw brokerError(options, `the Pact Broker at ${shownUrl} answered ${status} with a body that is not JSON${of}: ${excerpt(redact(body, options.secrets)) || '(empty)'}.`);
  }
  try {
    return parseMatrix(json);
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error;
    throw brokerError(options, `the Pact Broker at ${shownUrl} answered JSON this client does not understand${of}: ${error.message}.`);
  }
}

function brokerError(options: ResolvedOptions, message: string, cause?: unknown): BatonError {
  return redactedBrokerError(WHERE, options.secrets, message, cause);
}

class ShapeError extends Error {}

function parseMatrix(json: unknown): Answer {
  if (!isRecord(json)) throw new ShapeError(`expected an object with "summary" and "matrix"; got ${show(json)}`);
  const { summary, matrix, notices } = json;
  if (!isRecord(summary)) throw new ShapeError(`"summary" must be an object; got ${show(summary)}`);
  const { deployable, reason } = summary;
  if (deployable !== true && deployable !== false && deployable !== null) throw new ShapeError(`"summary.deployable" must be true, false or null; got ${show(deployable)}`);
  if (reason !== undefined && reason !== null && typeof reason !== 'string') throw new ShapeError(`"summary.reason" must be a string; got ${show(reason)}`);
  if (!Array.isArray(matrix)) throw new ShapeError(`"matrix" must be an array; got ${show(matrix)}`);
  const counts = {
    success: count(summary, 'success', true),
    failed: count(summary, 'failed', true),
    // Brokers before 2.23.4 send no `unknown`; `ignored` only when something was ignored.
    unknown: count(summary, 'unknown', false),
    ignored: count(summary, 'ignored', false),
  };
  return {
    deployable: deployable === null ? undefined : deployable,
    reason: typeof reason === 'string' ? reason : '',
    counts,
    rows: matrix.map((row, i) => parseRow(row, `matrix[${i}]`)),
    notices: parseNotices(notices),
  };
}

function count(summary: Record<string, unknown>, key: string, required: boolean): number {
  const value = summary[key];
  if (value === undefined || value === null) {
    if (required) throw new ShapeError(`"summary.${key}" must be a count; it is missing`);
    return 0;
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new ShapeError(`"summary.${key}" must be a count; got ${show(value)}`);
  return value;
}

function parseRow(row: unknown, where: string): MatrixPair {
  if (!isRecord(row)) throw new ShapeError(`"${where}" must be an object; got ${show(row)}`);
  const { consumer, provider, verificationResult, ignored } = row;
  if (!isRecord(consumer) || typeof consumer.name !== 'string') throw new ShapeError(`"${where}.consumer.name" must be a string`);
  if (!isRecord(consumer.version) || typeof consumer.version.number !== 'string') throw new ShapeError(`"${where}.consumer.version.number" must be a string`);
  if (!isRecord(provider) || typeof provider.name !== 'string') throw new ShapeError(`"${where}.provider.name" must be a string`);
  let providerVersion: string | undefined;
  if (provider.version !== null && provider.version !== undefined) {
    if (!isRecord(provider.version) || typeof provider.version.number !== 'string') throw new ShapeError(`"${where}.provider.version" must be null or have a string "number"`);
    providerVersion = provider.version.number;
  }
  let outcome: PairOutcome = 'unknown';
  let verifiedAt: string | undefined;
  let verificationUrl: string | undefined;
  if (verificationResult !== null && verificationResult !== undefined) {
    if (!isRecord(verificationResult)) throw new ShapeError(`"${where}.verificationResult" must be null or an object; got ${show(verificationResult)}`);
    const { success } = verificationResult;
    // A result object without a decided `success` is still a pending verification.
    if (success === true) outcome = 'success';
    else if (success === false) outcome = 'failed';
    else if (success !== null && success !== undefined) throw new ShapeError(`"${where}.verificationResult.success" must be true, false or null; got ${show(success)}`);
    if (typeof verificationResult.verifiedAt === 'string') verifiedAt = verificationResult.verifiedAt;
    const links = verificationResult._links;
    if (isRecord(links) && isRecord(links.self) && typeof links.self.href === 'string') verificationUrl = links.self.href;
  }
  return {
    consumer: { name: consumer.name, version: consumer.version.number },
    provider: { name: provider.name, version: providerVersion },
    outcome,
    verifiedAt,
    verificationUrl,
    ignored: ignored === true,
  };
}

function parseNotices(notices: unknown): { type: string; text: string }[] {
  if (!Array.isArray(notices)) return [];
  return notices.filter(isRecord).flatMap((notice) => (typeof notice.text === 'string' ? [{ type: typeof notice.type === 'string' ? notice.type : 'info', text: notice.text }] : []));
}

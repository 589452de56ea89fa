import { isAbsolute, relative, resolve } from 'node:path';
import { redactSecretPatterns } from '../secrets.js';
import { gateError, type GateContext, type GateResult } from './gate.js';
import { describe, isObject } from '../internal/config-values.js';

// Types only: erased at build time, so @baton/deploy runs without @baton/contracts until this gate is used.
type Contracts = typeof import('@baton/contracts');
type CanIDeployResult = import('@baton/contracts').CanIDeployResult;
type MatrixPair = import('@baton/contracts').MatrixPair;
type VerificationRecord = import('@baton/contracts').VerificationRecord;
type BrokerAuth = import('@baton/contracts').BrokerAuth;

const GATE = 'contracts';

/** Where the local verification record is looked for unless `results` says otherwise. */
export const DEFAULT_CONTRACTS_RESULTS = 'pacts/verification/{version}.json';

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_INTERVAL_MS = 10_000;
/** Failing interactions or pairs listed one per line; the rest are counted. */
const MAX_LISTED = 10;
const MAX_REASON = 300;

/**
 * Asking a Pact Broker (`can-i-deploy`) instead of reading the local record.
 * Credentials are never in the config: the gate reads `PACT_BROKER_TOKEN`,
 * or `PACT_BROKER_USERNAME` and `PACT_BROKER_PASSWORD`, from the
 * environment, as Pact's own CLI does.
 */
export interface ContractsBrokerSettings {
  /** The broker's base URL, without credentials; default `PACT_BROKER_BASE_URL` from the environment. */
  url?: string;
  /** The application asked about; default the gate's `provider`. */
  pacticipant?: string;
  /** The broker's environment to deploy to; default the name of the environment being deployed to. */
  environment?: string;
  /** How many more times to ask while verification results are pending; default 0 (pending fails at once). */
  retries?: number;
  /** Wait between two asks while pending; default 10000 ms. */
  intervalMs?: number;
  /** Limit for one request to the broker; default 10000 ms. */
  timeoutMs?: number;
}

/**
 * `gates.contracts`: the release's provider verification. With `broker` the
 * gate asks a Pact Broker whether the release can be deployed to the
 * environment; otherwise it reads the verification record that
 * `@baton/contracts`' `verifyProvider({ resultsFile })` wrote for the release.
 *
 * @example
 * gates: { contracts: true } // the record at pacts/verification/{version}.json
 * gates: { contracts: { broker: { url: 'https://pact-broker.example.com', retries: 6, intervalMs: 10_000 } } }
 */
export interface ContractsGateSettings {
  /**
   * The local verification record: a path relative to the config's
   * directory, `{version}` standing for the release version; default
   * `pacts/verification/{version}.json`. Not read when `broker` is set.
   */
  results?: string;
  /** The provider's name as in the pacts (and the broker); default the service's name. */
  provider?: string;
  /** Ask a Pact Broker instead of reading the local record. */
  broker?: ContractsBrokerSettings;
}

/**
 * Checks the config value of `gates.contracts`: `true` for the defaults, or
 * an object of {@link ContractsGateSettings}. Each problem found is pushed
 * onto `problems`, naming its field (`${field}.results: ...`); then it
 * returns `undefined`. `undefined` and `false` (the gate off) also return
 * `undefined`, with no problem.
 */
export function resolveContractsGate(input: unknown, field: string, problems: string[]): ContractsGateSettings | undefined {
  if (input === undefined || input === false) return undefined;
  if (input === true) return { results: DEFAULT_CONTRACTS_RESULTS };
  if (!isObject(input)) {
    problems.push(`${field}: true (the defaults), false, or an object { results?, provider?, broker? }; got ${describe(input)}`);
    return undefined;
  }
  const before = problems.length;
  unknownKeys(input, ['results', 'provider', 'broker'], `${field}.`, problems);
  const settings: ContractsGateSettings = { results: DEFAULT_CONTRACTS_RESULTS };

  const { results } = input;
  if (results !== undefined) {
    const unknownPlaceholder = typeof results === 'string' ? /\{(?!version\})[^}]*\}/.exec(results) : null;
    if (typeof results !== 'string' || results.trim() === '' || /[\r\n\0]/.test(results)) {
      problems.push(`${field}.results: the path of the verification record, relative to the config's directory, {version} standing for the release version (default "${DEFAULT_CONTRACTS_RESULTS}"); got ${describe(results)}`);
    } else if (unknownPlaceholder !== null) {
      problems.push(`${field}.results: only {version} (the release version) is replaced in the path; got ${unknownPlaceholder[0]} in ${describe(results)}`);
    } else settings.results = results;
  }

  const provider = name(input.provider, `${field}.provider`, 'the provider name as the pacts write it (default the service name)', problems);
  if (provider !== undefined) settings.provider = provider;

  if (input.broker !== undefined) {
    const broker = resolveBroker(input.broker, `${field}.broker`, problems);
    if (broker !== undefined) settings.broker = broker;
  }
  return problems.length > before ? undefined : settings;
}

function resolveBroker(input: unknown, field: string, problems: string[]): ContractsBrokerSettings | undefined {
  if (!isObject(input)) {
    problems.push(`${field}: an object { url?, pacticipant?, environment?, retries?, intervalMs?, timeoutMs? } (credentials come from PACT_BROKER_TOKEN, or PACT_BROKER_USERNAME and PACT_BROKER_PASSWORD); got ${describe(input)}`);
    return undefined;
  }
  const known = ['url', 'pacticipant', 'environment', 'retries', 'intervalMs', 'timeoutMs'];
  for (const key of Object.keys(input)) {
    if (known.includes(key)) continue;
    // Named apart, and its value never echoed: a token in a config file ends up in a repository.
    if (['token', 'username', 'password', 'auth', 'credentials'].includes(key)) {
      problems.push(`${field}.${key}: credentials are not read from the config; set PACT_BROKER_TOKEN, or PACT_BROKER_USERNAME and PACT_BROKER_PASSWORD, in the environment`);
    } else problems.push(`${field}.${key}: not a setting; known: ${known.join(', ')}`);
  }
  const broker: ContractsBrokerSettings = {};
  if (input.url !== undefined) {
    const url = brokerUrl(input.url);
    if (typeof url === 'string') broker.url = url;
    else problems.push(`${field}.url: ${url.problem}`);
  }
  const pacticipant = name(input.pacticipant, `${field}.pacticipant`, 'the application\'s name in the broker (default the provider)', problems);
  if (pacticipant !== undefined) broker.pacticipant = pacticipant;
  const environment = name(input.environment, `${field}.environment`, 'the broker\'s environment name (default the environment deployed to)', problems);
  if (environment !== undefined) broker.environment = environment;
  broker.retries = integer(input.retries, `${field}.retries`, 0, 0, 1000, 'times to ask again while verification results are pending', problems);
  broker.intervalMs = integer(input.intervalMs, `${field}.intervalMs`, DEFAULT_INTERVAL_MS, 0, 600_000, 'ms between two asks while pending', problems);
  broker.timeoutMs = integer(input.timeoutMs, `${field}.timeoutMs`, DEFAULT_TIMEOUT_MS, 100, 600_000, 'ms for one request to the broker', problems);
  return broker;
}

/** How the gate reaches `@baton/contracts`; a test may pass its own. */
export interface ContractsGateOptions {
  /** Default `import('@baton/contracts')`. */
  importContracts?: () => Promise<unknown>;
}

/**
 * The `contracts` gate for `ctx.release` on its way into `ctx.environment`.
 * With `settings.broker`, a Pact Broker's can-i-deploy: pass when it says
 * yes, fail when it says no or still cannot tell, and fail when it cannot be
 * asked (an unchecked release does not pass). Otherwise the local
 * verification record: pass when it is of this provider and release version
 * and passed; fail when it is missing, of another version or provider, or
 * failed. Failures of pending pacts are noted and do not fail it, as in Pact.
 * It never rejects; credentials never appear in the result.
 *
 * @example
 * const result = await checkContractsGate({ results: 'pacts/verification/{version}.json' }, ctx);
 * if (result.status === 'fail') console.error(result.summary, result.evidence);
 */
export async function checkContractsGate(settings: ContractsGateSettings, ctx: GateContext, options: ContractsGateOptions = {}): Promise<GateResult> {
  let contracts: Contracts;
  try {
    contracts = (await (options.importContracts ?? (() => import('@baton/contracts')))()) as Contracts;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const missing = (error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND' || /cannot find (package|module)/i.test(message);
    return gateError(
      GATE,
      missing
        ? 'The contracts gate needs @baton/contracts, which is not installed: install it next to @baton/deploy (npm install --save-dev @baton/contracts).'
        : `The contracts gate could not load @baton/contracts: ${firstLine(message)}`,
      [message],
    );
  }
  const provider = settings.provider ?? ctx.service;
  try {
    return settings.broker === undefined ? await checkRecord(contracts, settings, provider, ctx) : await checkBroker(contracts, settings.broker, provider, ctx);
  } catch (error) {
    // A bug here must not pass a release, nor break the promotion's report.
    return gateError(GATE, `The contracts gate could not run: ${firstLine(error instanceof Error ? error.message : String(error))}`);
  }
}

// ---------------------------------------------------------------- the local record

async function checkRecord(contracts: Contracts, settings: ContractsGateSettings, provider: string, ctx: GateContext): Promise<GateResult> {
  const { version } = ctx.release;
  const template = settings.results ?? DEFAULT_CONTRACTS_RESULTS;
  if (template.includes('{version}') && (/[/\\]/.test(version) || version === '.' || version === '..')) {
    return gateError(GATE, `The release version "${version}" cannot name a file in gates.contracts.results ("${template}").`);
  }
  const file = resolve(ctx.cwd, template.replaceAll('{version}', version));
  const shown = relativeToConfig(ctx.cwd, file);
  let record: VerificationRecord;
  try {
    record = await contracts.readVerificationRecord(file);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (((error as { cause?: { code?: unknown } }).cause?.code) === 'ENOENT') {
      return gateError(GATE, `No verification record for ${provider} ${version}: ${file} does not exist.`, [
        `Looked for ${file} (gates.contracts.results: "${template}", relative to ${ctx.cwd}).`,
        `Write it where the provider is verified: verifyProvider({ ..., provider: '${provider}', providerVersion: '${version}', resultsFile: '${shown}' }) from @baton/contracts.`,
        'Or ask a Pact Broker instead: gates.contracts.broker.',
      ]);
    }
    return gateError(GATE, `The verification record for ${provider} ${version} cannot be used: ${firstLine(message)}`, [message]);
  }

  const data: Record<string, unknown> = {
    source: 'record',
    file,
    provider: record.provider,
    providerVersion: record.providerVersion,
    verifiedAt: record.verifiedAt,
    passed: record.passed,
    counts: record.counts,
    pacts: record.pacts,
  };
  if (record.provider !== provider) {
    return {
      ...gateError(GATE, `The verification record ${shown} is of provider "${record.provider}", not "${provider}".`, [
        `The gate checks provider "${provider}" (gates.contracts.provider, default the service name); set it to the name the pacts use, or write the record for "${provider}".`,
      ]),
      data,
    };
  }
  if (record.providerVersion !== version) {
    return {
      ...gateError(GATE, `The verification record ${shown} is of ${provider} ${record.providerVersion}, not of the release being deployed (${version}).`, [
        `${record.providerVersion} was verified at ${record.verifiedAt}; verify ${version} with verifyProvider({ ..., providerVersion: '${version}', resultsFile: '${shown}' }).`,
      ]),
      data,
    };
  }
  if (record.interactions.length === 0 && record.passed) {
    return { ...gateError(GATE, `The verification record ${shown} verifies no interaction: nothing was checked, and an unchecked release does not pass.`), data };
  }

  const pendingFailed = record.interactions.filter((i) => i.status === 'failed' && i.pending);
  const pendingLines = pendingFailed.length === 0 ? [] : [
    `${pendingFailed.length} interaction(s) of pending pacts failed; as in Pact, they do not fail the gate:`,
    ...bounded(pendingFailed.map((i) => `  (pending) ${interactionLine(i)}`), 'failed pending interaction(s)'),
  ];
  if (record.passed) {
    const consumers = byConsumer(record);
    return {
      gate: GATE,
      status: 'pass',
      summary: `${provider} ${version} passed provider verification: ${record.counts.passed} interaction(s) with ${plural(consumers.length, 'consumer')} verified at ${record.verifiedAt} (${shown}).`,
      evidence: [...consumers.map((c) => c.line), ...pendingLines],
      data,
    };
  }
  const failed = record.interactions.filter((i) => i.status === 'failed' && !i.pending);
  const summary =
    failed.length > 0
      ? `${failed.length} of ${record.interactions.length} interaction(s) of ${provider} ${version} failed provider verification at ${record.verifiedAt} (${shown}).`
      : `Provider verification of ${provider} ${version} failed at ${record.verifiedAt} (${shown}): ${firstLine(record.summary) || 'no reason recorded'}.`;
  const evidence =
    failed.length > 0
      ? bounded(failed.map((i) => `✗ ${interactionLine(i)}`), 'failed interaction(s)')
      : bounded(record.summary.split('\n').filter((line) => line.trim() !== ''), 'line(s) of the summary');
  return { gate: GATE, status: 'fail', summary, evidence: [...evidence, ...pendingLines], data };
}

function byConsumer(record: VerificationRecord): { line: string }[] {
  const names = [...new Set(record.interactions.map((i) => i.consumer))];
  return names.map((consumer) => {
    const of = record.interactions.filter((i) => i.consumer === consumer);
    const verified = of.filter((i) => i.status === 'passed').length;
    const pacts = record.pacts.flatMap((p) => ('file' in p && p.consumer === consumer ? [`${p.file} (sha256 ${p.sha256.slice(0, 12)})`] : []));
    const counted = verified === of.length ? `${plural(verified, 'interaction')} verified` : `${verified} of ${plural(of.length, 'interaction')} verified (the rest of pending pacts)`;
    return { line: `${consumer ?? '(consumer not named)'}: ${counted} at ${record.verifiedAt}${pacts.length > 0 ? `, pact ${pacts.join(', ')}` : ''}` };
  });
}

function interactionLine(interaction: VerificationRecord['interactions'][number]): string {
  const reasons = interaction.failures.map((reason) => cut(reason.replace(/\s+/g, ' ').trim()));
  return `${interaction.consumer ?? '(consumer not named)'}: ${interaction.description}${reasons.length > 0 ? ` — ${reasons.join('; ')}` : ''}`;
}

// ---------------------------------------------------------------- the broker

async function checkBroker(contracts: Contracts, broker: ContractsBrokerSettings, provider: string, ctx: GateContext): Promise<GateResult> {
  const { version } = ctx.release;
  const pacticipant = broker.pacticipant ?? provider;
  const environment = broker.environment ?? ctx.environment;
  const fromEnv = present(ctx.env['PACT_BROKER_BASE_URL']);
  const url = broker.url ?? fromEnv;
  if (url === undefined) {
    return gateError(GATE, `Cannot ask the Pact Broker whether ${pacticipant} ${version} can be deployed to ${environment}: no broker URL.`, [
      'Set gates.contracts.broker.url, or PACT_BROKER_BASE_URL in the environment.',
    ]);
  }
  const credentials = brokerAuth(ctx.env);
  const secure = (result: GateResult) => redactAll(result, credentials.secrets);
  if (credentials.problem !== undefined) return gateError(GATE, `Cannot ask the Pact Broker whether ${pacticipant} ${version} can be deployed to ${environment}: ${credentials.problem}`);
  const shownUrl = safeUrl(url);
  const data: Record<string, unknown> = { source: 'broker', broker: shownUrl, pacticipant, version, environment };

  let result: CanIDeployResult;
  try {
    result = await contracts.canIDeploy({
      brokerUrl: url,
      pacticipant,
      version,
      toEnvironment: environment,
      ...(credentials.auth === undefined ? {} : { auth: credentials.auth }),
      retries: broker.retries ?? 0,
      intervalMs: broker.intervalMs ?? DEFAULT_INTERVAL_MS,
      timeoutMs: broker.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const cancelled = ctx.signal?.aborted === true;
    return secure({
      ...gateError(
        GATE,
        cancelled
          ? `The Pact Broker check of ${pacticipant} ${version} for ${environment} was cancelled before it answered.`
          : `Could not ask the Pact Broker whether ${pacticipant} ${version} can be deployed to ${environment}; an unchecked release does not pass.`,
        [message, ...(broker.url === undefined ? [`The broker URL came from PACT_BROKER_BASE_URL (${shownUrl}).`] : [])],
      ),
      data,
    });
  }

  const considered = result.rows.filter((row) => !row.ignored);
  const failed = considered.filter((row) => row.outcome === 'failed');
  const pending = considered.filter((row) => row.outcome === 'unknown');
  const verified = considered.filter((row) => row.outcome === 'success');
  Object.assign(data, { deployable: result.deployable ?? null, counts: result.counts, attempts: result.attempts });
  const reasonLines = result.reason
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => `Broker: ${line}`);
  const asked = `the Pact Broker at ${shownUrl}`;

  if (result.deployable === true) {
    return secure({
      gate: GATE,
      status: 'pass',
      summary: `${pacticipant} ${version} can be deployed to ${environment}: ${asked} says yes (${plural(verified.length, 'pair')} verified).`,
      evidence: [...bounded(verified.map((row) => `✓ ${pairLine(row)}`), 'verified pair(s)'), ...reasonLines],
      data,
    });
  }
  const summary =
    result.deployable === false
      ? `${pacticipant} ${version} cannot be deployed to ${environment}: ${asked} says no (${failed.length} failed, ${pending.length} pending).`
      : `${asked} cannot tell yet whether ${pacticipant} ${version} can be deployed to ${environment}: ${plural(pending.length, 'pair')} not verified yet` +
        `${result.attempts > 1 ? ` after ${result.attempts} attempts` : ''}; an unchecked release does not pass (gates.contracts.broker.retries waits for them).`;
  return secure({
    gate: GATE,
    status: 'fail',
    summary,
    evidence: [...bounded([...failed, ...pending].map((row) => `${row.outcome === 'failed' ? '✗' : '…'} ${pairLine(row)}`), 'pair(s)'), ...reasonLines],
    data,
  });
}

function pairLine(row: MatrixPair): string {
  const consumer = `${row.consumer.name} ${row.consumer.version} (consumer)`;
  const provider = row.provider.version === undefined ? `${row.provider.name} (provider)` : `${row.provider.name} ${row.provider.version} (provider)`;
  const link = row.verificationUrl === undefined ? '' : ` — ${row.verificationUrl}`;
  if (row.outcome === 'unknown') return `${consumer} not yet verified by ${provider}`;
  const at = row.verifiedAt === undefined ? '' : ` at ${row.verifiedAt}`;
  return `${consumer} ${row.outcome === 'success' ? 'verified' : 'failed verification'} by ${provider}${at}${link}`;
}

/** Credentials as Pact's CLI reads them: a token first, else a user name and password. */
export function brokerAuth(env: GateContext['env']): { auth?: BrokerAuth; secrets: string[]; problem?: string } {
  const token = present(env['PACT_BROKER_TOKEN']);
  if (token !== undefined) return { auth: { token }, secrets: [token] };
  const username = present(env['PACT_BROKER_USERNAME']);
  const password = env['PACT_BROKER_PASSWORD'];
  if (username === undefined) return { secrets: present(password) === undefined ? [] : [password as string] };
  if (password === undefined) return { secrets: [], problem: 'PACT_BROKER_USERNAME is set but PACT_BROKER_PASSWORD is not.' };
  const basic = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
  return { auth: { username, password }, secrets: password === '' ? [basic] : [password, basic] };
}

/** The gate's words pass through here before they leave: no credential survives, whatever a broker echoed. */
function redactAll(result: GateResult, secrets: readonly string[]): GateResult {
  const scrub = (text: string) => {
    let out = text;
    for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join('[redacted]');
    return redactSecretPatterns(out);
  };
  return {
    ...result,
    summary: scrub(result.summary),
    evidence: result.evidence.map(scrub),
    ...(result.data === undefined ? {} : { data: JSON.parse(scrub(JSON.stringify(result.data))) as Record<string, unknown> }),
  };
}

// ---------------------------------------------------------------- helpers

function brokerUrl(value: unknown): string | { problem: string } {
  const accepted = 'the Pact Broker\'s base URL, http: or https:, e.g. "https://pact-broker.example.com"';
  if (typeof value !== 'string' || value.trim() === '') return { problem: `${accepted}; got ${describe(value)}` };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { problem: `${accepted}; got a string that is not a URL` };
  }
  // Not echoed: the point is that it should not be in the config.
  if (url.username !== '' || url.password !== '') return { problem: `${accepted}, without credentials (they come from PACT_BROKER_TOKEN, or PACT_BROKER_USERNAME and PACT_BROKER_PASSWORD); got a URL with a user name or password` };
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: `${accepted}; got a ${url.protocol} URL` };
  if (url.search !== '' || url.hash !== '') return { problem: `${accepted}, without a query or fragment; got ${describe(`${url.origin}${url.pathname}${url.search === '' ? '' : '?…'}${url.hash === '' ? '' : '#…'}`)}` };
  return value;
}

export function safeUrl(value: string): string {
  try {
    const url = new URL(value);
    return `${url.origin}${url.pathname.replace(/\/$/, '')}`;
  } catch {
    return '(an invalid URL)';
  }
}

function name(value: unknown, field: string, accepted: string, problems: string[]): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '' || /[\r\n\0]/.test(value)) {
    problems.push(`${field}: ${accepted}, a non-empty string; got ${describe(value)}`);
    return undefined;
  }
  return value;
}

function integer(value: unknown, field: string, fallback: number, min: number, max: number, what: string, problems: string[]): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problems.push(`${field}: an integer from ${min} to ${max} (${what}); got ${describe(value)}`);
    return fallback;
  }
  return value;
}

function unknownKeys(input: Record<string, unknown>, known: readonly string[], prefix: string, problems: string[]): void {
  for (const key of Object.keys(input)) {
    if (!known.includes(key)) problems.push(`${prefix}${key}: not a setting; known: ${known.join(', ')}`);
  }
}

function bounded(lines: readonly string[], what: string): string[] {
  if (lines.length <= MAX_LISTED) return [...lines];
  return [...lines.slice(0, MAX_LISTED), `and ${lines.length - MAX_LISTED} more ${what}`];
}

function relativeToConfig(cwd: string, file: string): string {
  const path = relative(cwd, file);
  return path === '' || path.startsWith('..') || isAbsolute(path) ? file : path;
}

function present(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function firstLine(text: string): string {
  return cut(text.split('\n')[0]?.trim() ?? '');
}

function cut(text: string): string {
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON)}…` : text;
}


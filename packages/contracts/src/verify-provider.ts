import { BatonError } from '@baton/lifecycle';
import { ciDefaults } from './ci-defaults.js';
import type { ProviderStates } from './define-states.js';
import { VERIFICATION_ERROR } from './internal/codes.js';
import { loadPact } from './internal/load-pact.js';
import { recordStates } from './internal/state-recorder.js';
import { waitReady } from './internal/wait-ready.js';
import { writeJUnitReport } from './junit-report.js';
import { resolvePactSource, type PactSource } from './pact-source.js';
import { serveTarget, type StartedServer } from './serve-target.js';
import { buildResult, parseVerifierReport, type VerificationResult } from './verification-result.js';
import { describePactSource, writeVerificationRecord } from './verification-record.js';

interface CommonOptions {
  /** The provider's name, as in the pacts. */
  provider: string;
  pacts: PactSource;
  states?: ProviderStates;
  /** Version of the provider (default: GIT_COMMIT / GITHUB_SHA / CI_COMMIT_SHA). */
  providerVersion?: string;
  /** Branch of the provider (default: GIT_BRANCH / GITHUB_HEAD_REF / GITHUB_REF_NAME). */
  providerBranch?: string;
  /** Publish results to the broker; off unless set (needs `providerVersion` or CI variables). */
  publishResults?: boolean;
  /** Write a JUnit XML report to this path. */
  junitFile?: string;
  /**
   * Write a verification record (JSON, see `writeVerificationRecord`) to this
   * path after the run, for a deploy tool to check later. Needs
   * `providerVersion` (or the CI variables it defaults to): the record is
   * for one release of the provider.
   */
  resultsFile?: string;
  /** Wait for readiness at most this long; default 10000 ms. */
  readyTimeoutMs?: number;
  /** Pact's log level; default `warn`. */
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /** Send Pact's telemetry; default false (sets PACT_DO_NOT_TRACK=true unless already set). */
  telemetry?: boolean;
  /** Further options for pact-js's `Verifier`, applied last. */
  verifierOptions?: Record<string, unknown>;
  /** Throw a BatonError with the summary when verification fails; default false (inspect the result). */
  throwOnFailure?: boolean;
}

/** Options of {@link verifyProvider}: an Express app or Fastify instance (`app`), or a `start` function. */
export type VerifyProviderOptions = CommonOptions & ({ app: unknown; start?: never } | { start: () => Promise<StartedServer> | StartedServer; app?: never });

/**
 * Serves the provider through Baton on 127.0.0.1 (port 0), waits for it to be
 * ready, verifies it against the pacts with Pact's Verifier, and always drains
 * and closes it. Unknown or throwing provider states fail their interactions.
 *
 * @example
 * const result = await verifyProvider({ app, provider: 'orders', pacts: { dir: './pacts' }, states });
 * if (!result.passed) throw new Error(result.summary);
 */
export async function verifyProvider(options: VerifyProviderOptions): Promise<VerificationResult> {
  const resolved = resolveOptions(options);
  const source = await resolvePactSource(options.pacts);
  // Hashed before the run: the record names the bytes that were verified, not what a file holds afterwards.
  const recordedPacts = resolved.resultsFile === undefined ? undefined : await describePactSource(options.pacts, source);
  // Before the import: Pact reads it when it first reports.
  if (options.telemetry !== true && process.env['PACT_DO_NOT_TRACK'] === undefined) process.env['PACT_DO_NOT_TRACK'] = 'true';
  const pact = await loadPact();

  const running = await serveTarget(options.start ? { start: options.start } : { app: options.app });
  let result: VerificationResult;
  try {
    await waitReady(running.lifecycle, resolved.readyTimeoutMs);
    const { stateHandlers, failures } = recordStates(options.states);
    const verifierOptions: Record<string, unknown> = {
      provider: options.provider,
      providerBaseUrl: running.url,
      ...source.options,
      stateHandlers,
      logLevel: options.logLevel ?? 'warn',
      // pact-js validates publishing options whenever the key is present, even when false.
      ...(resolved.publish ? { publishVerificationResult: true } : {}),
      ...(resolved.version !== undefined ? { providerVersion: resolved.version } : {}),
      ...(resolved.branch !== undefined ? { providerVersionBranch: resolved.branch } : {}),
      ...options.verifierOptions,
    };
    let reportText = '';
    let crashed: string | undefined;
    try {
      reportText = await new pact.Verifier(verifierOptions).verifyProvider();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // A failed verification rejects with the JSON report as the message; anything else means it did not run.
      if (message.trimStart().startsWith('{')) reportText = message;
      else crashed = message;
    }
    result = buildResult({ report: parseVerifierReport(reportText), interactions: source.interactions, stateFailures: failures, crashed });
  } finally {
    await running.close();
  }
  if (options.junitFile) await writeJUnitReport(options.junitFile, result, options.provider);
  if (resolved.resultsFile !== undefined && resolved.version !== undefined) {
    await writeVerificationRecord(result, resolved.resultsFile, { provider: options.provider, providerVersion: resolved.version, providerBranch: resolved.branch, pacts: recordedPacts });
  }
  if (!result.passed && options.throwOnFailure) {
    throw new BatonError(VERIFICATION_ERROR, `Pact verification of ${options.provider} failed:\n${result.summary}`);
  }
  return result;
}

function resolveOptions(options: VerifyProviderOptions) {
  if (!options || typeof options !== 'object') throw new BatonError('BATON_ERR_INVALID_OPTION', 'verifyProvider: give an options object.');
  const hasApp = options.app !== undefined;
  const hasStart = options.start !== undefined;
  if (hasApp === hasStart) throw new BatonError('BATON_ERR_INVALID_OPTION', 'verifyProvider: give exactly one of `app` (Express or Fastify) or `start` (a function returning a served server).');
  if (hasStart && typeof options.start !== 'function') throw new BatonError('BATON_ERR_INVALID_OPTION', 'verifyProvider: `start` must be a function.');
  if (typeof options.provider !== 'string' || options.provider === '') throw new BatonError('BATON_ERR_INVALID_OPTION', 'verifyProvider: `provider` (the provider name in the pacts) is required.');
  if (options.states !== undefined && (typeof options.states !== 'object' || typeof options.states.handlers !== 'object')) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'verifyProvider: `states` must come from defineStates<...>()({...}).');
  }
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  if (!Number.isFinite(readyTimeoutMs) || readyTimeoutMs < 0) throw new BatonError('BATON_ERR_INVALID_OPTION', 'verifyProvider: `readyTimeoutMs` must be a non-negative number.');
  const ci = ciDefaults();
  const version = options.providerVersion ?? ci.version;
  const branch = options.providerBranch ?? ci.branch;
  const publish = options.publishResults === true;
  if (publish && version === undefined) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'verifyProvider: publishResults needs `providerVersion` (or GIT_COMMIT / GITHUB_SHA in the environment).');
  }
  const { resultsFile } = options;
  if (resultsFile !== undefined) {
    if (typeof resultsFile !== 'string' || resultsFile.trim() === '') throw new BatonError('BATON_ERR_INVALID_OPTION', 'verifyProvider: `resultsFile` must be a file path.');
    if (version === undefined) {
      throw new BatonError(
        'BATON_ERR_INVALID_OPTION',
        'verifyProvider: `resultsFile` needs `providerVersion`, the release version this verification is for (e.g. "v2"), or one of PACT_PROVIDER_VERSION, GIT_COMMIT, GITHUB_SHA, CI_COMMIT_SHA in the environment.',
      );
    }
  }
  return { readyTimeoutMs, version, branch, publish, resultsFile };
}

import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BatonError } from '@baton/lifecycle';
import type { ContractsErrorCode } from './errors.js';
import { isNonEmpty, isRecord, show } from './internal/values.js';
import { resolvePactSource, type PactSource } from './pact-source.js';
import type { VerificationResult } from './verification-result.js';

// A record could not be written, or a file is not a record this package can read.
const RECORD_ERROR = 'BATON_ERR_VERIFICATION_RECORD' satisfies ContractsErrorCode;

/** The record format this package writes and reads; a reader refuses a higher one rather than guess. */
const FORMAT_VERSION = 1;

/** One interaction as the record keeps it. */
export interface RecordedInteraction {
  /** The consumer, `null` when the verifier did not name it. */
  consumer: string | null;
  description: string;
  status: 'passed' | 'failed';
  /** Its pact was pending (the broker's `enablePending`): a failure is reported but does not fail the verification. */
  pending: boolean;
  /** Readable reasons, empty when passed. */
  failures: string[];
}

/** What was verified: a local pact file with the SHA-256 of its bytes, or a Pact Broker (its URL without credentials). */
export type VerifiedPactSource = { file: string; sha256: string; consumer: string | null } | { brokerUrl: string };

/**
 * A durable record of one provider verification, written as JSON by
 * {@link writeVerificationRecord} (or `verifyProvider({ resultsFile })`) and
 * read back by {@link readVerificationRecord}: what a deploy tool checks
 * before it lets this provider version out. The format is documented in the
 * package README ("The verification record").
 */
export interface VerificationRecord {
  /** The record format: 1. A reader refuses a format it does not know. */
  formatVersion: 1;
  /** The provider's name, as in the pacts. */
  provider: string;
  /** The provider version verified: the release version it is deployed as (`v2`, `1.4.0`). */
  providerVersion: string;
  /** The provider's branch, when known. */
  providerBranch?: string;
  /** When the verification finished (ISO 8601, UTC). */
  verifiedAt: string;
  /** Whether the verification passed: no interaction failed except those of pending pacts. */
  passed: boolean;
  counts: { interactions: number; passed: number; failed: number; pendingFailed: number };
  interactions: RecordedInteraction[];
  /** The pacts verified. */
  pacts: VerifiedPactSource[];
  /** The readable summary of what failed, empty when everything passed. */
  summary: string;
}

/** What a record says besides the result: whose verification it was, and of what. */
export interface VerificationRecordMeta {
  provider: string;
  /** The release version of the provider that was verified. */
  providerVersion: string;
  providerBranch?: string | undefined;
  /**
   * The pacts verified: the `pacts` given to `verifyProvider` (local files are
   * read and hashed now), or sources already described.
   */
  pacts?: PactSource | readonly VerifiedPactSource[] | undefined;
  /** When the verification finished; default now. */
  verifiedAt?: Date | undefined;
}

/**
 * Writes a verification result as a {@link VerificationRecord} (JSON) to
 * `file`, creating its directory. The write is atomic — a temporary file
 * beside it, renamed over it — so a reader sees the old record or the new
 * one, never half of one. Resolves with the record written.
 *
 * @example
 * const result = await verifyProvider({ app, provider: 'orders', pacts: { dir: 'pacts' } });
 * await writeVerificationRecord(result, 'pacts/verification/v2.json', { provider: 'orders', providerVersion: 'v2', pacts: { dir: 'pacts' } });
 */
export async function writeVerificationRecord(result: VerificationResult, file: string, meta: VerificationRecordMeta): Promise<VerificationRecord> {
  const where = 'writeVerificationRecord';
  if (typeof file !== 'string' || file.trim() === '') throw new BatonError('BATON_ERR_INVALID_OPTION', `${where}: \`file\` must be a file path; got ${show(file)}.`);
  if (!result || typeof result !== 'object' || typeof result.passed !== 'boolean' || !Array.isArray(result.interactions)) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `${where}: \`result\` must be what verifyProvider() returned.`);
  }
  if (!meta || typeof meta !== 'object') throw new BatonError('BATON_ERR_INVALID_OPTION', `${where}: give \`{ provider, providerVersion }\` as the third argument.`);
  if (!isNonEmpty(meta.provider)) throw new BatonError('BATON_ERR_INVALID_OPTION', `${where}: \`provider\` must be the provider's name; got ${show(meta.provider)}.`);
  if (!isNonEmpty(meta.providerVersion)) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `${where}: \`providerVersion\` must be the release version verified (e.g. "v2"); got ${show(meta.providerVersion)}.`);
  }
  if (meta.providerBranch !== undefined && !isNonEmpty(meta.providerBranch)) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `${where}: \`providerBranch\` must be a non-empty string; got ${show(meta.providerBranch)}.`);
  }
  const verifiedAt = meta.verifiedAt ?? new Date();
  if (!(verifiedAt instanceof Date) || Number.isNaN(verifiedAt.getTime())) throw new BatonError('BATON_ERR_INVALID_OPTION', `${where}: \`verifiedAt\` must be a valid Date.`);
  const pacts = meta.pacts === undefined ? [] : Array.isArray(meta.pacts) ? [...(meta.pacts as readonly VerifiedPactSource[])] : await describePactSource(meta.pacts as PactSource);

  const interactions: RecordedInteraction[] = result.interactions.map((o) => ({
    consumer: o.consumer ?? null,
    description: o.description,
    status: o.status,
    pending: o.pending === true,
    failures: [...o.failures],
  }));
  const record: VerificationRecord = {
    formatVersion: FORMAT_VERSION,
    provider: meta.provider,
    providerVersion: meta.providerVersion,
    ...(meta.providerBranch === undefined ? {} : { providerBranch: meta.providerBranch }),
    verifiedAt: verifiedAt.toISOString(),
    passed: result.passed,
    counts: countInteractions(interactions),
    interactions,
    pacts,
    summary: result.summary,
  };
  try {
    await writeAtomic(file, `${JSON.stringify(record, null, 2)}\n`);
  } catch (error) {
    throw new BatonError(RECORD_ERROR, `${where}: cannot write the verification record ${file}: ${(error as Error).message}`, { cause: error });
  }
  return record;
}

/**
 * Reads and checks a record written by {@link writeVerificationRecord}. It
 * rejects with a `BatonError` (`BATON_ERR_VERIFICATION_RECORD`) that names
 * the file and the field at fault when the file cannot be read (the file
 * system's error is its `cause`: `ENOENT` when there is none), is not JSON,
 * is not a record, is of a newer format, or contradicts itself (`passed`
 * while an interaction of a non-pending pact failed).
 *
 * @example
 * const record = await readVerificationRecord('pacts/verification/v2.json');
 * if (!record.passed) console.error(record.summary);
 */
export async function readVerificationRecord(file: string): Promise<VerificationRecord> {
  const where = 'readVerificationRecord';
  if (typeof file !== 'string' || file.trim() === '') throw new BatonError('BATON_ERR_INVALID_OPTION', `${where}: \`file\` must be a file path; got ${show(file)}.`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const said = code === 'ENOENT' ? 'it does not exist' : (error as Error).message;
    throw new BatonError(RECORD_ERROR, `${where}: cannot read the verification record ${file}: ${said}.`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new BatonError(RECORD_ERROR, `${where}: ${file} is not a verification record: not JSON (${(error as Error).message}).`, { cause: error });
  }
  try {
    return parseRecord(json);
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error;
    throw new BatonError(RECORD_ERROR, `${where}: ${file} is not a verification record this version of @baton/contracts can read: ${error.message}.`);
  }
}

/**
 * The pacts of a source, as a record lists them: each local file with the
 * SHA-256 of its bytes and its consumer; a broker as its URL without
 * credentials or query. Not exported from the package: `verifyProvider`
 * calls it before the run, so the hashes are of the files it verified.
 */
export async function describePactSource(source: PactSource, resolved?: { options: Record<string, unknown> }): Promise<VerifiedPactSource[]> {
  if (source && typeof source === 'object' && 'brokerUrl' in source) {
    return [{ brokerUrl: safeUrl(String(source.brokerUrl)) }];
  }
  const { options } = resolved ?? (await resolvePactSource(source));
  const files = Array.isArray(options['pactUrls']) ? (options['pactUrls'] as unknown[]).map(String) : [];
  const described: VerifiedPactSource[] = [];
  for (const file of files) {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      throw new BatonError('BATON_ERR_INVALID_OPTION', `verifyProvider: cannot read the pact file ${file}: ${(error as Error).message}`, { cause: error });
    }
    let consumer: string | null = null;
    try {
      const name = (JSON.parse(bytes.toString('utf8')) as { consumer?: { name?: unknown } }).consumer?.name;
      if (typeof name === 'string') consumer = name;
    } catch {
      // resolvePactSource has already refused a file that is not a pact; only a change since could land here.
    }
    described.push({ file, sha256: createHash('sha256').update(bytes).digest('hex'), consumer });
  }
  return described;
}

function countInteractions(interactions: readonly RecordedInteraction[]): VerificationRecord['counts'] {
  const failed = interactions.filter((i) => i.status === 'failed');
  return {
    interactions: interactions.length,
    passed: interactions.length - failed.length,
    failed: failed.filter((i) => !i.pending).length,
    pendingFailed: failed.filter((i) => i.pending).length,
  };
}

// The same steps as the deploy state's writes: a name no one can guess, created exclusively, synced, renamed.
async function writeAtomic(file: string, content: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${randomUUID()}.tmp`;
  const handle = await open(temporary, 'wx', 0o644);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temporary).catch(() => {});
    throw error;
  }
  await handle.close();
  try {
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
}

class ShapeError extends Error {}

function parseRecord(json: unknown): VerificationRecord {
  if (!isRecord(json)) throw new ShapeError(`expected a JSON object; got ${show(json)}`);
  const { formatVersion } = json;
  if (formatVersion !== FORMAT_VERSION) {
    if (typeof formatVersion === 'number' && Number.isInteger(formatVersion) && formatVersion > FORMAT_VERSION) {
      throw new ShapeError(`"formatVersion" is ${formatVersion}, written by a newer @baton/contracts (this one reads ${FORMAT_VERSION}); upgrade the reader`);
    }
    throw new ShapeError(`"formatVersion" must be ${FORMAT_VERSION}; got ${show(formatVersion)}`);
  }
  const provider = text(json, 'provider', 'the provider name');
  const providerVersion = text(json, 'providerVersion', 'the provider version verified');
  const providerBranch = json['providerBranch'] === undefined ? undefined : text(json, 'providerBranch', 'the provider branch');
  const verifiedAt = text(json, 'verifiedAt', 'an ISO 8601 time');
  if (Number.isNaN(Date.parse(verifiedAt))) throw new ShapeError(`"verifiedAt" must be an ISO 8601 time; got ${show(verifiedAt)}`);
  const { passed, summary } = json;
  if (typeof passed !== 'boolean') throw new ShapeError(`"passed" must be true or false; got ${show(passed)}`);
  if (typeof summary !== 'string') throw new ShapeError(`"summary" must be a string; got ${show(summary)}`);
  if (!Array.isArray(json['interactions'])) throw new ShapeError(`"interactions" must be an array; got ${show(json['interactions'])}`);
  const interactions = (json['interactions'] as unknown[]).map((entry, i) => parseInteraction(entry, `interactions[${i}]`));
  if (!Array.isArray(json['pacts'])) throw new ShapeError(`"pacts" must be an array; got ${show(json['pacts'])}`);
  const pacts = (json['pacts'] as unknown[]).map((entry, i) => parsePact(entry, `pacts[${i}]`));
  if (passed) {
    const failed = interactions.findIndex((i) => i.status === 'failed' && !i.pending);
    if (failed >= 0) throw new ShapeError(`"passed" is true but "interactions[${failed}]" failed and is not pending`);
  }
  // Counts are derived: recomputed rather than trusted, so a hand-edited file cannot say "0 failed" beside a failure.
  return {
    formatVersion: FORMAT_VERSION,
    provider,
    providerVersion,
    ...(providerBranch === undefined ? {} : { providerBranch }),
    verifiedAt,
    passed,
    counts: countInteractions(interactions),
    interactions,
    pacts,
    summary,
  };
}

function parseInteraction(entry: unknown, where: string): RecordedInteraction {
  if (!isRecord(entry)) throw new ShapeError(`"${where}" must be an object; got ${show(entry)}`);
  const { consumer, description, status, pending, failures } = entry;
  if (consumer !== null && typeof consumer !== 'string') throw new ShapeError(`"${where}.consumer" must be a string or null; got ${show(consumer)}`);
  if (typeof description !== 'string') throw new ShapeError(`"${where}.description" must be a string; got ${show(description)}`);
  if (status !== 'passed' && status !== 'failed') throw new ShapeError(`"${where}.status" must be "passed" or "failed"; got ${show(status)}`);
  if (pending !== undefined && typeof pending !== 'boolean') throw new ShapeError(`"${where}.pending" must be true or false; got ${show(pending)}`);
  if (!Array.isArray(failures) || failures.some((f) => typeof f !== 'string')) throw new ShapeError(`"${where}.failures" must be an array of strings; got ${show(failures)}`);
  return { consumer, description, status, pending: pending === true, failures: [...(failures as string[])] };
}

function parsePact(entry: unknown, where: string): VerifiedPactSource {
  if (!isRecord(entry)) throw new ShapeError(`"${where}" must be an object; got ${show(entry)}`);
  if (entry['brokerUrl'] !== undefined) {
    if (typeof entry['brokerUrl'] !== 'string') throw new ShapeError(`"${where}.brokerUrl" must be a string; got ${show(entry['brokerUrl'])}`);
    return { brokerUrl: entry['brokerUrl'] };
  }
  const { file, sha256, consumer } = entry;
  if (typeof file !== 'string' || file === '') throw new ShapeError(`"${where}.file" must be a file path (or give "brokerUrl"); got ${show(file)}`);
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) throw new ShapeError(`"${where}.sha256" must be 64 lower-case hex digits; got ${show(sha256)}`);
  if (consumer !== undefined && consumer !== null && typeof consumer !== 'string') throw new ShapeError(`"${where}.consumer" must be a string or null; got ${show(consumer)}`);
  return { file, sha256, consumer: consumer ?? null };
}

function text(json: Record<string, unknown>, key: string, what: string): string {
  const value = json[key];
  if (typeof value !== 'string' || value.trim() === '') throw new ShapeError(`"${key}" must be ${what} (a non-empty string); got ${show(value)}`);
  return value;
}

// A broker URL may carry a user and password, or a token in its query; a record is an artifact people share.
function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    parsed.hash = '';
    return parsed.href;
  } catch {
    return '(not a valid URL)';
  }
}

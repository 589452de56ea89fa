import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BatonError } from '@baton/lifecycle';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './internal/private-dir.js';
import type { ReleaseSpec } from './model.js';
import { secretValuesOf } from './secrets.js';
import type { JournaledRelease, ServiceState } from './service-state.js';

/** The key of the journal's fingerprints, in the journal's directory: 32 random bytes as hex, 0600. */
export const SEAL_KEY_FILE = '.seal-key';

/**
 * The journal's key (`<journalDir>/.seal-key`), made on first use. Two
 * orchestrators making it at once agree on one: each writes its own key to
 * a temporary file and links it into place, and the one that loses reads
 * the winner's.
 */
export async function loadSealKey(journalDir: string): Promise<Buffer> {
  const file = join(journalDir, SEAL_KEY_FILE);
  const existing = await readKey(file);
  if (existing !== undefined) return existing;
  await mkdir(journalDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const temp = join(journalDir, `${SEAL_KEY_FILE}.${randomUUID().slice(0, 8)}.tmp`);
  await writeFile(temp, `${randomBytes(32).toString('hex')}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  try {
    await link(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw journalError(`cannot write the journal's key ${file}: ${describe(error)}`, error);
  } finally {
    await unlink(temp).catch(() => {});
  }
  const made = await readKey(file);
  if (made === undefined) throw journalError(`the journal's key ${file} vanished while it was made; run the command again.`);
  return made;
}

async function readKey(file: string): Promise<Buffer | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw journalError(`cannot read the journal's key ${file}: ${describe(error)}`, error);
  }
  const hex = text.trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw journalError(`the journal's key ${file} is not 64 hex digits; remove it (the next deploy makes a new one, and reports every journaled secret as changed once).`);
  }
  return Buffer.from(hex, 'hex');
}

/**
 * A keyed fingerprint of one secret variable: it tells whether a value
 * found later is the one the release was deployed with, and nothing else —
 * a plain hash of a short password would be found by hashing guesses, while
 * this one needs the key, which never leaves the state directory.
 */
export function secretFingerprint(key: Buffer, name: string, value: string): string {
  // The name is part of the message: the same value under another name is another fingerprint.
  return `hmac-sha256:${createHmac('sha256', key).update(`${name}\0${value}`).digest('hex')}`;
}

/**
 * True when the journal must not keep `value` of `name` in clear: what
 * Baton scrubs as a secret everywhere else — a secret name
 * (`isSecretEnvName`) or one the release lists in `secretEnv`, or a value
 * that holds a password or token under any name (`DATABASE_URL` with a
 * password in it). Flags and short numbers under secret-sounding names
 * (`TOKEN_TTL_SECONDS=3600`) stay, as they do in events.
 */
function mustSeal(name: string, value: string, secretEnv: readonly string[] | undefined): boolean {
  return secretValuesOf({ env: { [name]: value }, ...(secretEnv === undefined ? {} : { secretEnv }) }).length > 0;
}

/** `release` as the journal keeps it: its secret variables moved out of `env` into `sealedEnv` as fingerprints. */
export function sealRelease(release: JournaledRelease, key: Buffer): JournaledRelease {
  const env = release.env ?? {};
  const sealed: Record<string, string> = { ...release.sealedEnv };
  const clear: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    // A fingerprint the release already has stays: it is the value the release was deployed with
    // (a rotated value filled in later is reported as changed, at every start, until redeployed).
    if (typeof value === 'string' && mustSeal(name, value, release.secretEnv)) sealed[name] = release.sealedEnv?.[name] ?? secretFingerprint(key, name, value);
    else clear[name] = value;
  }
  if (Object.keys(sealed).length === 0) return release;
  const copy: JournaledRelease = { ...release, sealedEnv: sealed };
  if (release.env !== undefined) copy.env = clear;
  return copy;
}

/** A copy of `state` for the journal's file: every release in it sealed ({@link sealRelease}); `state` is left as it is. */
export function sealState(state: ServiceState, key: Buffer): ServiceState {
  const copy: ServiceState = { ...state };
  if (state.stable !== undefined) copy.stable = sealRelease(state.stable, key);
  if (state.previous !== undefined) copy.previous = sealRelease(state.previous, key);
  if (state.deploy !== undefined) copy.deploy = { ...state.deploy, candidate: sealRelease(state.deploy.candidate, key) };
  return copy;
}

/** Where the values of a journaled release's secrets are looked for when it starts again. */
export interface UnsealSources {
  /** The release of the config this command runs with: its `env` first, when it names the variable. */
  config: ReleaseSpec | undefined;
  /** Then the orchestrator's environment (`process.env`). */
  environment: Readonly<Record<string, string | undefined>>;
  key: Buffer;
  /** The command a user runs again once the secret is there, for the error (`baton rollback`). */
  command: string;
}

/** A release ready to start, and the secrets whose values differ from the ones it was deployed with. */
export interface Unsealed {
  release: ReleaseSpec;
  changed: { name: string; from: 'config' | 'environment' }[];
}

/**
 * A journaled release with its sealed secrets filled in again: each from
 * the config's release `env` when it names the variable, else from the
 * orchestrator's environment. A value that does not match the fingerprint
 * (the secret was rotated) is used all the same, and listed in `changed`.
 * Rejects with `BATON_ERR_DEPLOY_FAILED` naming the variable and the
 * release when neither has it.
 */
export function unsealRelease(release: JournaledRelease, sources: UnsealSources): Unsealed {
  const sealed = release.sealedEnv;
  if (sealed === undefined || Object.keys(sealed).length === 0) return { release, changed: [] };
  const env: Record<string, string> = { ...release.env };
  const changed: Unsealed['changed'] = [];
  for (const [name, fingerprint] of Object.entries(sealed)) {
    // Filled in already (withSecretsFrom): the config's value, checked like any other.
    const own = env[name];
    const fromConfig = typeof own === 'string' ? own : sources.config?.env?.[name];
    const fromEnvironment = sources.environment[name];
    const value = typeof fromConfig === 'string' ? fromConfig : fromEnvironment;
    if (typeof value !== 'string') {
      throw new BatonError(
        'BATON_ERR_DEPLOY_FAILED',
        `The secret ${name} of release ${release.version} is not in the config or the environment: the journal keeps only a fingerprint of it. Export it (or set it in the release's env) and run ${sources.command} again.`,
      );
    }
    env[name] = value;
    if (secretFingerprint(sources.key, name, value) !== fingerprint) changed.push({ name, from: typeof fromConfig === 'string' ? 'config' : 'environment' });
  }
  const { sealedEnv: _sealed, ...rest } = release;
  return { release: { ...rest, env }, changed };
}

/**
 * `journaled` (a release read back from the journal) run as the config's
 * release — `baton rollback` after a finished deploy, `baton promote` or
 * `baton abort` with no orchestrator running — with the values of its
 * sealed secrets that the config's own release (`config`) names filled in,
 * so they are found although the config's release is replaced by it. The
 * fingerprints stay: a value that differs is still reported as changed.
 *
 * @example
 * const back = await Orchestrator.open({ ...options, config: { ...config, release: withSecretsFrom(previous, config.release) } });
 */
export function withSecretsFrom(journaled: JournaledRelease, config: ReleaseSpec): JournaledRelease {
  const sealed = journaled.sealedEnv;
  if (sealed === undefined) return journaled;
  const found = Object.keys(sealed).filter((name) => typeof config.env?.[name] === 'string' && journaled.env?.[name] === undefined);
  if (found.length === 0) return journaled;
  return { ...journaled, env: { ...journaled.env, ...Object.fromEntries(found.map((name) => [name, config.env?.[name] as string])) } };
}

function journalError(message: string, cause?: unknown): BatonError {
  return new BatonError('BATON_ERR_JOURNAL', message, cause === undefined ? undefined : { cause });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

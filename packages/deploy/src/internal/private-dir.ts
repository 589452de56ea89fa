import { chmodSync, mkdirSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';

/**
 * Mode of every directory Baton keeps state in: the release environments
 * (database URLs, tokens) in the journal and the instances' logs are for the
 * user running Baton alone.
 */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of every file Baton writes there (state, events, logs, reports, control and pid files). */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Creates `dir` (and missing parents) with mode 0700, and tightens it to 0700
 * when it exists already: a state directory made by an older Baton, or by
 * hand with the default umask, would otherwise stay readable by every user.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await chmod(dir, PRIVATE_DIR_MODE);
}

/** {@link ensurePrivateDir}, synchronously. */
export function ensurePrivateDirSync(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(dir, PRIVATE_DIR_MODE);
}

import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { chmod, mkdir, readdir, stat } from 'node:fs/promises';

/**
 * Mode of every directory Baton keeps state in: the release environments
 * (database URLs, tokens) in the journal and the instances' logs are for the
 * user running Baton alone.
 */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of every file Baton writes there (state, events, logs, reports, control and pid files). */
export const PRIVATE_FILE_MODE = 0o600;

/** Which names in a directory are Baton's own (`() => true` for a directory only Baton uses, e.g. `<stateDir>/journal`). */
export type OwnEntries = (name: string) => boolean;

/**
 * Creates `dir` (and missing parents) with mode 0700, and tightens it to 0700
 * when it exists already with a wider mode — a state directory made by an
 * older Baton, or by hand with the default umask, would otherwise stay
 * readable by every user — but only when it is Baton's own: every entry in
 * it is one `ours` accepts, and it is not sticky. A directory a user pointed
 * Baton at that holds other things (`stateDir: '.'`, a shared directory,
 * `/tmp`) keeps its mode: 0700 would lock everyone else out of it (and take
 * /tmp's sticky bit off); Baton's files and subdirectories in it are private
 * all the same (0600 and 0700, made so when created).
 */
export async function ensurePrivateDir(dir: string, ours: OwnEntries): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const { mode } = await stat(dir);
  if (!needsTightening(mode)) return;
  if ((await readdir(dir)).every(ours)) await chmod(dir, PRIVATE_DIR_MODE);
}

/** {@link ensurePrivateDir}, synchronously. */
export function ensurePrivateDirSync(dir: string, ours: OwnEntries): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const { mode } = statSync(dir);
  if (!needsTightening(mode)) return;
  if (readdirSync(dir).every(ours)) chmodSync(dir, PRIVATE_DIR_MODE);
}

function needsTightening(mode: number): boolean {
  // Sticky (/tmp and the like): shared by design, never Baton's to close.
  return (mode & 0o1000) === 0 && (mode & 0o7777) !== PRIVATE_DIR_MODE;
}

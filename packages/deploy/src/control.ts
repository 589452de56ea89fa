import { randomUUID } from 'node:crypto';
import { chown, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BatonError } from '@baton/lifecycle';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from './internal/private-dir.js';

/** What a person can ask of a running deploy from another terminal. */
export type ControlCommand = 'promote' | 'abort';

const FILE = 'control.json';

/**
 * Leaves a command for the deploy running in `stateDir` (`baton promote`,
 * `baton abort`): the orchestrator reads it within a fraction of a second and
 * removes it once acted on. Written atomically, so it is read whole or not at all.
 */
export async function requestControl(stateDir: string, command: ControlCommand, deployId: string): Promise<void> {
  // The deploy's own run tightens the state directory (it knows what else may be in it); made here only when missing.
  await ensurePrivateDir(stateDir, () => false);
  const temp = join(stateDir, `.${FILE}.${randomUUID()}`);
  await writeFile(temp, `${JSON.stringify({ command, deployId, atMs: Date.now() })}\n`, { mode: PRIVATE_FILE_MODE });
  // `sudo baton abort` beside a deploy run by the state directory's owner: a root-owned 0600 file
  // would be one the deploy cannot read. Given to that owner before it appears under its name.
  if (process.getuid?.() === 0) {
    const owner = await stat(stateDir);
    if (owner.uid !== 0) await chown(temp, owner.uid, owner.gid);
  }
  await rename(temp, join(stateDir, FILE));
}

/**
 * The command waiting for deploy `deployId`, if any; a command for another
 * deploy is stale and ignored. A control file that is there but cannot be
 * read (another user's, a directory) is a `BATON_ERR_JOURNAL` naming it, not
 * "no command": a `baton abort` someone was told about must not vanish.
 */
export async function readControl(stateDir: string, deployId: string): Promise<ControlCommand | undefined> {
  const path = join(stateDir, FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new BatonError('BATON_ERR_JOURNAL', `cannot read the control file ${path} (left by baton promote or abort): ${error instanceof Error ? error.message : String(error)}; remove it and send the command again.`, { cause: error });
  }
  try {
    const parsed = JSON.parse(text) as { command?: unknown; deployId?: unknown };
    if (parsed.deployId !== deployId) return undefined;
    return parsed.command === 'promote' || parsed.command === 'abort' ? parsed.command : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the command once acted on. */
export async function clearControl(stateDir: string): Promise<void> {
  await rm(join(stateDir, FILE), { force: true });
}

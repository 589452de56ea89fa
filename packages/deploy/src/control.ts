import { randomUUID } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
  await ensurePrivateDir(stateDir);
  const temp = join(stateDir, `.${FILE}.${randomUUID()}`);
  await writeFile(temp, `${JSON.stringify({ command, deployId, atMs: Date.now() })}\n`, { mode: PRIVATE_FILE_MODE });
  await rename(temp, join(stateDir, FILE));
}

/** The command waiting for deploy `deployId`, if any; a command for another deploy is stale and ignored. */
export async function readControl(stateDir: string, deployId: string): Promise<ControlCommand | undefined> {
  let text: string;
  try {
    text = await readFile(join(stateDir, FILE), 'utf8');
  } catch {
    return undefined;
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

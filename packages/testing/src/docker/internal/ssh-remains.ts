import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNumber } from './engine-cleanup.js';
import { isProcessAlive, signal, waitForExit } from './processes.js';

/** The file naming the test process that owns an sshd's or agent's directory, and the one holding the daemon's pid. */
const OWNER = 'owner';
export const DAEMON_PID = 'daemon.pid';

/** Marks `dir` as this process's, so a later start can end what it leaves behind if it dies. */
export function claimDir(dir: string, daemonPid?: number): void {
  writeFileSync(join(dir, OWNER), String(process.pid));
  if (daemonPid !== undefined) writeFileSync(join(dir, DAEMON_PID), String(daemonPid));
}

/**
 * Ends the sshd and ssh-agent processes of test processes that died without
 * stop() (directories /tmp/bs-* whose owner is gone) and removes their
 * directories. Best effort: it never blocks a new start.
 */
export async function reapAbandonedSshd(): Promise<void> {
  let names: string[];
  try {
    names = readdirSync('/tmp').filter((name) => name.startsWith('bs-'));
  } catch {
    return;
  }
  for (const name of names) {
    const dir = join('/tmp', name);
    const owner = readNumber(join(dir, OWNER));
    if (owner === undefined || isProcessAlive(owner)) continue;
    const daemon = readNumber(join(dir, DAEMON_PID));
    try {
      if (daemon !== undefined && isProcessAlive(daemon)) {
        signal(daemon, 'SIGTERM');
        await waitForExit(daemon, 5_000);
      }
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // The next start tries again.
    }
  }
}

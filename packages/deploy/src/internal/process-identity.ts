import { readFileSync } from 'node:fs';

// A pid alone does not name a process for long: once it exits, the kernel
// hands the number to the next process. The journal's lock and the local
// platform outlive the processes they point at, so they also keep the
// process's start time (and the boot it belongs to) and compare it before
// they trust or signal a pid. On systems without /proc both fall back to the
// pid alone.

/**
 * An identity of the process `pid` that no other process shares: the boot id
 * and the start time in clock ticks since boot, from /proc. Undefined when the
 * process is gone or /proc cannot tell (not Linux).
 */
export function processStartIdentity(pid: number): string | undefined {
  const stat = readStat(pid);
  return stat === undefined ? undefined : identityOf(stat);
}

function identityOf(stat: Stat): string {
  const boot = bootId();
  return boot === undefined ? stat.startTicks : `${boot}:${stat.startTicks}`;
}

/**
 * True while `pid` runs. A zombie (exited, not yet reaped by its parent: in a
 * container without an init, nobody may ever reap it) counts as gone. With
 * `identity` from {@link processStartIdentity}, a different process that got
 * the same pid counts as gone too.
 */
export function isProcessAlive(pid: number, identity?: string): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  const stat = readStat(pid);
  if (stat !== undefined) {
    if (stat.state === 'Z' || stat.state === 'X' || stat.state === 'x') return false;
    if (identity === undefined) return true;
    // From the same read of /proc: a platform checks every instance many times a second.
    return identity === identityOf(stat);
  }
  if (procAvailable()) return false;
  // No /proc: the pid is all there is.
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The initial environment of `pid` (/proc/<pid>/environ), or undefined when it cannot be read. */
export function processEnvironment(pid: number): Map<string, string> | undefined {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return undefined;
  }
  const env = new Map<string, string>();
  for (const entry of raw.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

interface Stat {
  state: string;
  startTicks: string;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces and parentheses: count fields after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = rest[0];
  // Field 22 (starttime) is the 20th after the name.
  const startTicks = rest[19];
  if (state === undefined || startTicks === undefined) return undefined;
  return { state, startTicks };
}

/** The boot id cannot change while this process runs: read once. */
let cachedBootId: { value: string | undefined } | undefined;

function bootId(): string | undefined {
  cachedBootId ??= { value: readBootId() };
  return cachedBootId.value;
}

function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function procAvailable(): boolean {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
}

// The CPU time a router's processes use, from /proc: the router's own process
// (the built-in router's pid in router.json; HAProxy's and nginx's master from
// their pid files) and every descendant (HAProxy's and nginx's workers, old
// and new across reloads). A worker that exits and is reaped moves its time
// into its parent's cutime/cstime, so the tree's total keeps counting it.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

let ticksPerSecond: number | undefined;

/** Clock ticks per second of /proc's times (`getconf CLK_TCK`). */
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const read = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    ticksPerSecond = Number.isInteger(read) && read > 0 ? read : 100;
  }
  return ticksPerSecond;
}

/** The router's root processes, from the files in its directory: `*.pid` and router.json's `pid`. */
export function routerRootPids(dir: string, depth = 3): number[] {
  const pids = new Set<number>();
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && depth > 0) for (const pid of routerRootPids(path, depth - 1)) pids.add(pid);
    if (!entry.isFile()) continue;
    try {
      if (entry.name.endsWith('.pid')) pids.add(Number(readFileSync(path, 'utf8').trim()));
      if (entry.name === 'router.json') {
        const pid = (JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown }).pid;
        if (typeof pid === 'number') pids.add(pid);
      }
    } catch {
      // Being rewritten, or not ours to read: the other files say enough.
    }
  }
  return [...pids].filter((pid) => Number.isInteger(pid) && pid > 0);
}

interface ProcStat {
  ppid: number;
  /** utime + stime + cutime + cstime, in ticks. */
  ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid ...: comm may hold spaces and parentheses; the fields follow the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const number = (index: number): number => Number(fields[index] ?? 0);
    return { ppid: number(1), ticks: number(11) + number(12) + number(13) + number(14) };
  } catch {
    return undefined;
  }
}

/** CPU seconds used so far by `roots` and all their descendants (0 where /proc cannot say), and how many processes that is. */
export function processTreeCpu(roots: readonly number[]): { seconds: number; processes: number } {
  const children = new Map<number, number[]>();
  const stats = new Map<number, ProcStat>();
  let pids: number[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
  } catch {
    return { seconds: 0, processes: 0 };
  }
  for (const pid of pids) {
    const stat = readStat(pid);
    if (stat === undefined) continue;
    stats.set(pid, stat);
    children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  }
  const seen = new Set<number>();
  const queue = [...roots];
  let ticks = 0;
  while (queue.length > 0) {
    const pid = queue.pop() as number;
    if (seen.has(pid)) continue;
    seen.add(pid);
    ticks += stats.get(pid)?.ticks ?? 0;
    queue.push(...(children.get(pid) ?? []));
  }
  return { seconds: ticks / clockTicks(), processes: [...seen].filter((pid) => stats.has(pid)).length };
}

/** Starts a measurement of the router in `dir`; `stop()` gives the CPU seconds its processes used since. */
export function measureRouterCpu(dir: string): { stop(): number; pids: number[]; processes: number } {
  const pids = routerRootPids(dir);
  const before = processTreeCpu(pids);
  return { pids, processes: before.processes, stop: () => processTreeCpu(pids).seconds - before.seconds };
}

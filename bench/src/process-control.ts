// Child-process and CPU-affinity helpers shared by the benchmark parts.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';

/** True when processes can be pinned to CPUs here (Linux, `taskset`, two CPUs or more). */
export function canPin(): boolean {
  if (process.platform !== 'linux' || availableParallelism() < 2) return false;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Sets this process's CPU affinity (every thread), e.g. "0" or "0-1". */
export function pinSelf(cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
}

/**
 * Ends a forked server the way that lets `--cpu-prof` write its profile: the
 * IPC channel closes and it exits by itself; SIGKILL if it has not after 5 s.
 */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.disconnect();
  else child.kill();
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

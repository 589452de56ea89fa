/**
 * The HAProxy process: found on PATH, its configuration checked, started
 * detached in master-worker mode, reloaded (SIGUSR2 to the master) and
 * stopped — always by the pid in its pid file, checked to be that HAProxy.
 */
import { spawn } from 'node:child_process';
import { closeSync, fchmodSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { BatonError } from '@baton/lifecycle';
import { childrenOf, findExecutable, readPidFile, runExecutable, SBIN_DIRS, waitForExit } from '@baton/deploy/kit';
import { isHaproxyOf } from './internal/haproxy-state.js';

/** The oldest HAProxy whose configuration and reload Baton relies on (`idle-close-on-response`, socket transfer in master-worker mode). */
export const MIN_HAPROXY_VERSION = '2.6';

function routerError(message: string, cause?: unknown): BatonError {
  return new BatonError('BATON_ERR_ROUTER', `HAProxy router: ${message}`, cause === undefined ? undefined : { cause });
}

/**
 * Where `haproxy` is: the PATH first, then the sbin directories Debian and
 * source builds install it in (often missing from a non-root PATH); undefined
 * when this machine has none.
 */
export function findHaproxy(path: string = process.env.PATH ?? '', extraDirs: readonly string[] = SBIN_DIRS): string | undefined {
  return findExecutable('haproxy', path, extraDirs);
}

/**
 * HAProxy's version (`2.6.12`); rejects with BATON_ERR_ROUTER when `binary`
 * cannot be run or is older than {@link MIN_HAPROXY_VERSION}.
 */
export async function haproxyVersion(binary: string): Promise<string> {
  const result = await runExecutable(binary, ['-v'], 10_000);
  if (result.error) throw routerError(`cannot run ${binary} (${result.error.code ?? result.error.message}); install HAProxy ${MIN_HAPROXY_VERSION} or later (apt-get install haproxy).`, result.error);
  const match = /HA-?Proxy version (\d+)\.(\d+)(\S*)/i.exec(result.output);
  if (!match) throw routerError(`${binary} -v does not print a HAProxy version: ${result.output.slice(0, 200)}`);
  const [major, minor] = [Number(match[1]), Number(match[2])];
  const [minMajor, minMinor] = MIN_HAPROXY_VERSION.split('.').map(Number) as [number, number];
  if (major < minMajor || (major === minMajor && minor < minMinor)) {
    throw routerError(`${binary} is HAProxy ${major}.${minor}; Baton needs ${MIN_HAPROXY_VERSION} or later.`);
  }
  return `${major}.${minor}${match[3] ?? ''}`;
}

/** Runs `haproxy -c` on `configFile`; rejects with BATON_ERR_ROUTER and HAProxy's alerts when it is not valid. */
export async function checkHaproxyConfig(binary: string, configFile: string): Promise<void> {
  const result = await runExecutable(binary, ['-c', '-f', configFile], 20_000);
  if (result.error) throw routerError(`cannot run ${binary} -c (${result.error.code ?? result.error.message}).`, result.error);
  if (result.code !== 0) throw routerError(`HAProxy rejects the configuration ${configFile}:\n${result.output}`);
}

/** A HAProxy master just spawned. */
export interface LaunchedHaproxy {
  pid: number;
  /** How it ended (`code 1`, `signal SIGKILL`), once it has; undefined while it runs. */
  exited(): string | undefined;
}

/**
 * Spawns HAProxy's master as a detached process: its own session (neither a
 * Ctrl-C to the orchestrator's terminal nor the orchestrator's death reaches
 * it), output appended to `logFile`, not waited for by this process. It runs
 * in the foreground of that session (`-db`), so its pid is the master's and
 * its startup errors land in the log.
 */
export function launchHaproxy(options: { binary: string; configFile: string; pidFile: string; logFile: string; cwd: string }): LaunchedHaproxy {
  const logFd = openSync(options.logFile, 'a', 0o600);
  let child;
  try {
    // Private even when an older Baton created the log.
    fchmodSync(logFd, 0o600);
    child = spawn(options.binary, ['-db', '-f', options.configFile, '-p', options.pidFile], {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      cwd: options.cwd,
    });
  } finally {
    closeSync(logFd);
  }
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = signal ? `signal ${signal}` : `code ${code}`));
  child.once('error', (error) => (exited = `spawn error: ${error.message}`));
  child.unref();
  if (child.pid === undefined) {
    // spawn() failed synchronously (ENOENT...): the 'error' event follows.
    return { pid: 0, exited: () => exited ?? 'not started' };
  }
  return { pid: child.pid, exited: () => exited };
}

export { fileSize, logSince } from '@baton/deploy/kit';

/** The pid of the HAProxy master running `configFile` per its pid file, or undefined when none runs. */
export async function runningMaster(pidFile: string, configFile: string): Promise<number | undefined> {
  const pid = await readPidFile(pidFile);
  return pid !== undefined && isHaproxyOf(pid, configFile) ? pid : undefined;
}

/** SIGUSR2's bit in the signal masks of /proc/<pid>/status (signal 12). */
const SIGUSR2_BIT = 1n << 11n;

/**
 * True once the master `pid` catches SIGUSR2, so a reload asked for now is
 * not lost. Right after it starts, and after it re-executes itself for a
 * reload, HAProxy 2.6's master ignores SIGUSR2 until its signal handlers
 * are set (milliseconds; tens on a busy machine): a SIGUSR2 sent then
 * vanishes, and the reload never happens. Where /proc cannot be read, true.
 */
export async function catchesReload(masterPid: number): Promise<boolean> {
  let status: string;
  try {
    status = await readFile(`/proc/${masterPid}/status`, 'utf8');
  } catch {
    return true;
  }
  const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return caught === undefined || (BigInt(`0x${caught}`) & SIGUSR2_BIT) !== 0n;
}

/** Asks the master to reload: it re-executes itself with the (rewritten) configuration and starts a new worker. */
export function signalReload(masterPid: number): void {
  try {
    process.kill(masterPid, 'SIGUSR2');
  } catch (error) {
    throw routerError(`cannot signal the HAProxy master (pid ${masterPid}) to reload: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`, error);
  }
}

/**
 * Stops the master `pid` and its workers: SIGUSR1 (soft stop: listeners
 * close, requests in flight finish) when `graceMs` > 0, SIGTERM (hard stop)
 * once it is spent, SIGKILL 3 s later. Resolves once the master and the
 * workers it had are gone. After SIGUSR1 or SIGTERM the master waits for its
 * workers itself; after a SIGKILL it cannot, and its worker lives on until it
 * notices (measured 8-15 ms on an idle machine, longer when busy) still
 * holding the listening port: a start right after would find it taken and
 * move the router to another port.
 */
export async function stopHaproxyProcess(pid: number, graceMs: number): Promise<void> {
  const workers = childrenOf(pid);
  await stopMaster(pid, graceMs);
  // Only waited for, never signalled: a worker leaves with its master, and a pid no longer ours must not get a signal.
  for (const worker of workers) await waitForExit(worker, 3000);
}

async function stopMaster(pid: number, graceMs: number): Promise<void> {
  const signal = (name: NodeJS.Signals): boolean => {
    try {
      process.kill(pid, name);
      return true;
    } catch {
      return false;
    }
  };
  if (graceMs > 0) {
    if (!signal('SIGUSR1')) return;
    if (await waitForExit(pid, graceMs)) return;
  }
  if (!signal('SIGTERM')) return;
  if (await waitForExit(pid, 3000)) return;
  signal('SIGKILL');
  if (!(await waitForExit(pid, 3000))) throw routerError(`the HAProxy master (pid ${pid}) did not exit, even after SIGKILL.`);
}

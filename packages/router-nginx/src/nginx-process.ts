/**
 * nginx's processes: a master started daemonized (it outlives the
 * orchestrator), found again by its pid file and checked to be that nginx
 * (its command line names this router's configuration: a recycled pid is
 * not taken for it), reloaded by SIGHUP and stopped by SIGQUIT.
 */
import { readFileSync } from 'node:fs';
import { BatonError } from '@baton/lifecycle';
import { childrenOf, isProcessAlive, logSince, readPidFile, waitForExit } from '@baton/deploy/kit';
import { runNginx } from './nginx-binary.js';

function startError(message: string, cause?: unknown): BatonError {
  return new BatonError('BATON_ERR_NGINX_START', `nginx router: ${message}`, cause === undefined ? undefined : { cause });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The process title and arguments of `pid` (nginx rewrites its title: `nginx: master process /usr/sbin/nginx -p ... -c ...`). */
function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return undefined;
  }
}

/** True when `pid` is a live nginx master running `configFile`. */
export function isMasterOf(pid: number, configFile: string): boolean {
  if (!isProcessAlive(pid)) return false;
  const line = commandLine(pid);
  return line !== undefined && line.startsWith('nginx: master process') && line.includes(configFile);
}

/** The master running `configFile` per its pid file, or undefined when none runs. */
export async function runningMaster(pidFile: string, configFile: string): Promise<number | undefined> {
  const pid = await readPidFile(pidFile);
  return pid !== undefined && isMasterOf(pid, configFile) ? pid : undefined;
}

/** The master's workers that were told to quit (a reload) and still finish what they hold. */
export function quittingWorkers(master: number): number[] {
  return childrenOf(master).filter((worker) => (commandLine(worker) ?? '').includes('shutting down'));
}

/** True once worker `pid` left the pool: exited, or told to quit (nginx retitles it before it closes its listeners). */
function leftThePool(pid: number): boolean {
  const line = commandLine(pid);
  return line === undefined || !isProcessAlive(pid) || line.includes('shutting down');
}

/**
 * Starts an nginx master for `configFile` in `prefix` and resolves with its
 * pid once it and a worker run. Rejects with the error log's lines when it
 * does not start; `addressInUse` is then true when its port was taken.
 */
export async function launchNginx(options: { binary: string; prefix: string; configFile: string; pidFile: string; errorLog: string; timeoutMs: number; logOffset: number }): Promise<number> {
  // `daemon on`: the command returns once the master runs on its own (its own session), or with the reason it could not.
  const result = await runNginx(options.binary, ['-p', `${options.prefix}/`, '-c', options.configFile, '-e', options.errorLog], options.timeoutMs);
  if (result.error || result.code !== 0) {
    const log = await logSince(options.errorLog, options.logOffset);
    const text = [result.output, log].filter((part) => part !== '').join('\n');
    const error = startError(`nginx did not start with ${options.configFile}: ${text || result.error?.message || `exit code ${result.code}`}`, result.error);
    (error as BatonError & { addressInUse?: boolean }).addressInUse = /Address already in use/i.test(text);
    throw error;
  }
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const master = await runningMaster(options.pidFile, options.configFile);
    if (master !== undefined && childrenOf(master).some((worker) => !leftThePool(worker))) return master;
    if (Date.now() > deadline) throw startError(`nginx (${options.configFile}) wrote no live master into ${options.pidFile} within ${options.timeoutMs} ms. Its error log:\n${await logSince(options.errorLog, options.logOffset)}`);
    await delay(10);
  }
}

/**
 * Reloads the master gracefully (SIGHUP: it reads the configuration again,
 * starts new workers and tells the old ones to finish what they hold) and
 * resolves once that took effect: a new worker runs and every old one has
 * left the pool — from then on no request can be routed by the old
 * configuration. Rejects when the master keeps its old workers (it refused
 * the configuration) or dies.
 */
export async function reloadNginx(master: number, configFile: string, errorLog: string, logOffset: number, timeoutMs: number): Promise<void> {
  const before = new Set(childrenOf(master));
  try {
    process.kill(master, 'SIGHUP');
  } catch (error) {
    throw startError(`cannot signal the nginx master (pid ${master}) to reload: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`, error);
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isMasterOf(master, configFile)) throw startError(`the nginx master (pid ${master}) exited during a reload. Its error log:\n${await logSince(errorLog, logOffset)}`);
    const workers = childrenOf(master);
    const fresh = workers.filter((worker) => !before.has(worker) && !leftThePool(worker));
    if (fresh.length > 0 && [...before].every(leftThePool)) return;
    if (Date.now() > deadline) {
      throw startError(`nginx (pid ${master}) did not take its new configuration within ${timeoutMs} ms (the old one keeps serving). Its error log:\n${await logSince(errorLog, logOffset)}`);
    }
    await delay(5);
  }
}

/**
 * Stops a master and its workers: SIGQUIT (graceful: listeners close,
 * requests in flight finish) for up to `graceMs`, then SIGTERM, then
 * SIGKILL — of the workers too, which outlive a killed master and would
 * keep its port.
 */
export async function stopNginxMaster(master: number, configFile: string, graceMs: number): Promise<void> {
  const workers = childrenOf(master);
  const signal = (pid: number, name: NodeJS.Signals): void => {
    try {
      process.kill(pid, name);
    } catch {
      // gone already
    }
  };
  if (graceMs > 0) {
    signal(master, 'SIGQUIT');
    if (await waitForExit(master, graceMs)) return;
  }
  signal(master, 'SIGTERM');
  if (!(await waitForExit(master, 3000))) {
    signal(master, 'SIGKILL');
    if (!(await waitForExit(master, 3000))) throw startError(`the nginx master (pid ${master}, ${configFile}) did not exit, even after SIGKILL.`);
  }
  for (const worker of workers) {
    // Only our own workers: a pid that is not an nginx worker any more is left alone.
    if (!isProcessAlive(worker) || !(commandLine(worker) ?? '').startsWith('nginx: worker process')) continue;
    if (!(await waitForExit(worker, 3000))) signal(worker, 'SIGKILL');
  }
}

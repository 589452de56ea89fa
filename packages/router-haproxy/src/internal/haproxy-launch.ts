import { setTimeout as delay } from 'node:timers/promises';
import { fileSize, launchHaproxy, logSince, stopHaproxyProcess } from '../haproxy-process.js';
import type { HaproxyRuntimeApi } from '../haproxy-runtime-api.js';
import { routerError } from './haproxy-errors.js';
import type { HaproxyRouterPaths, HaproxyRouterRecord } from './haproxy-state.js';
import { frontendOpen } from './live-view.js';

/**
 * Launches HAProxy as `record` says (its config already written) and resolves once its frontend
 * listens. A probed port (`portProbed`) taken in between is a `clash`, so the caller tries another;
 * any other exit, or no listener within `startTimeoutMs`, rejects with HAProxy's log.
 */
export async function launchUntilListening(
  paths: HaproxyRouterPaths,
  record: HaproxyRouterRecord,
  api: HaproxyRuntimeApi,
  startTimeoutMs: number,
  portProbed: boolean,
): Promise<{ listening: true } | { clash: string }> {
  const logOffset = await fileSize(paths.logFile);
  const launched = launchHaproxy({ binary: record.binary, configFile: paths.configFile, pidFile: paths.pidFile, logFile: paths.logFile, cwd: paths.stateDir });
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    const exited = launched.exited();
    if (exited !== undefined) {
      const log = await logSince(paths.logFile, logOffset);
      if (/cannot bind|address already in use/i.test(log) && portProbed) return { clash: log };
      throw routerError(`HAProxy exited at start (${exited}) on ${record.url}. Its log (${paths.logFile}):\n${log}`);
    }
    if ((await frontendOpen(api)) !== undefined) return { listening: true };
    if (Date.now() > deadline) {
      if (launched.pid > 0) await stopHaproxyProcess(launched.pid, 0).catch(() => {});
      throw routerError(`HAProxy did not listen on ${record.url} within ${startTimeoutMs} ms (stopped). Its log (${paths.logFile}):\n${await logSince(paths.logFile, logOffset)}`);
    }
    await delay(25);
  }
}

import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { pingEngine } from './engine-api.js';
import { logTail } from './processes.js';

/** Waits until a dockerd just started answers `/_ping`; throws with its log tail when it exits or the time runs out. */
export async function waitForEngine(options: { socketPath: string; process: ChildProcess; logPath: string; timeoutMs: number; what: string }): Promise<void> {
  const { socketPath, process: dockerd, logPath, timeoutMs, what } = options;
  const deadline = Date.now() + timeoutMs;
  let exit: string | undefined;
  const onExit = (code: number | null, signalName: NodeJS.Signals | null): void => {
    exit = signalName ? `was killed by ${signalName}` : `exited with code ${code}`;
  };
  dockerd.once('exit', onExit);
  try {
    for (;;) {
      if (await pingEngine(socketPath, 1_000)) return;
      if (exit !== undefined) throw new Error(`${what}: dockerd ${exit} before it answered on ${socketPath}; the end of ${logPath}:\n${logTail(logPath)}`);
      if (Date.now() > deadline) {
        throw new Error(`${what}: dockerd (pid ${dockerd.pid}) did not answer on ${socketPath} within ${timeoutMs} ms; the end of ${logPath}:\n${logTail(logPath)}`);
      }
      await sleep(100);
    }
  } finally {
    dockerd.off('exit', onExit);
  }
}

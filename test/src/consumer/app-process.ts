// A consumer's app as a real child process on a chosen Node binary, found by
// the startup line Baton's runner logs: `{"event":"listening","port":N,...}`
// (a JSON log line, on stdout or stderr), which is also what `baton deploy`
// reads to learn an instance's port.
import { spawn } from 'node:child_process';
import { userEnvironment } from './commands.js';

/** How the app ended. */
export interface AppExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running app. */
export interface AppProcess {
  port: number;
  url: string;
  /** The startup line, parsed. */
  listening: Record<string, unknown>;
  exited: Promise<AppExit>;
  /** Resolves once a JSON output line has `event === name`. */
  waitForEvent(name: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal: NodeJS.Signals): void;
  /** Everything it printed, for failure messages. */
  output(): string;
  /** SIGKILL if still running; for cleanup. */
  stop(): Promise<AppExit>;
}

const OUTPUT_LIMIT = 64_000;

/** Starts `node script` in `cwd` with PORT=0 and waits for its startup line (up to 60 s: a busy machine is slow). */
export async function startApp(options: { node: string; cwd: string; script: string; env?: Record<string, string> }): Promise<AppProcess> {
  const child = spawn(options.node, [options.script], {
    cwd: options.cwd,
    env: userEnvironment({ env: { PORT: '0', ...options.env } }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const events: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  // Each stream is cut into whole lines; a JSON line with an `event` field is an event.
  const lineReader = (): ((chunk: string) => void) => {
    let pending = '';
    return (chunk) => {
      output = (output + chunk).slice(-OUTPUT_LIMIT);
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (typeof parsed['event'] === 'string') events.push(parsed);
        } catch {
          // Not JSON: not an event.
        }
      }
      for (const wake of waiters) wake();
    };
  };
  child.stdout.setEncoding('utf8').on('data', lineReader());
  child.stderr.setEncoding('utf8').on('data', lineReader());
  const exited = new Promise<AppExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let gone = false;
  void exited.then(() => {
    gone = true;
    for (const wake of waiters) wake();
  });

  const waitForEvent = (name: string, timeoutMs = 60_000): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = events.find((event) => event['event'] === name);
        if (found !== undefined) finish(() => resolve(found));
        else if (gone) finish(() => reject(new Error(`${options.script} exited before logging {"event":"${name}"}; its output:\n${output}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${options.script}: no {"event":"${name}"} line within ${timeoutMs} ms; its output:\n${output}`))), timeoutMs);
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        waiters.delete(check);
        settle();
      };
      waiters.add(check);
      check();
    });

  const stop = async (): Promise<AppExit> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  };
  try {
    const listening = await waitForEvent('listening');
    const port = listening['port'];
    if (typeof port !== 'number' || !Number.isInteger(port) || port <= 0) throw new Error(`${options.script}: the listening line has no port: ${JSON.stringify(listening)}`);
    return {
      port,
      url: `http://127.0.0.1:${port}`,
      listening,
      exited,
      waitForEvent,
      kill: (signal) => void child.kill(signal),
      output: () => output,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

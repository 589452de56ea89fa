import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** The one stdout line every instance prints once it listens. */
export interface ListeningLine {
  event: 'listening';
  port: number;
  url?: string;
  release?: string;
  framework?: string;
  [key: string]: unknown;
}

/** How an instance ended. */
export interface InstanceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Options of {@link startInstance}. */
export interface InstanceOptions {
  /** The script run with `node`. */
  script: string;
  /** Extra environment on top of PORT=0 HOST=127.0.0.1 (and the parent's). */
  env?: Record<string, string>;
  /** How long to wait for the listening line. Default 60000 ms (a second on a quiet machine; 9 s was seen on a very busy one). */
  startTimeoutMs?: number;
}

/** A service instance running as a real child process. */
export interface Instance {
  pid: number;
  port: number;
  url: string;
  listening: ListeningLine;
  /** Settles when the process has exited. */
  exited: Promise<InstanceExit>;
  /** True while the process runs. */
  readonly running: boolean;
  /** Sends a signal; false when the process is gone. */
  kill(signal?: NodeJS.Signals): boolean;
  /** Everything written to stderr so far (the tail, for diagnostics). */
  stderr(): string;
  /** Stdout lines after the listening line (the contract says there are none). */
  extraStdout(): string[];
  /** SIGKILL if still running, then wait for the exit. For cleanup; idempotent. */
  stop(): Promise<InstanceExit>;
}

const STDERR_LIMIT = 64_000;

/**
 * Spawns `node <script>` with PORT=0 HOST=127.0.0.1 and waits for its
 * `{"event":"listening","port":N}` line. Fails (and kills the child) if the
 * process exits or stays silent first.
 */
export async function startInstance(options: InstanceOptions): Promise<Instance> {
  const child = spawn(process.execPath, [options.script], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_LIMIT);
  });
  const exited = new Promise<InstanceExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const extra: string[] = [];
  const lines = createInterface({ input: child.stdout });
  const stop = async (): Promise<InstanceExit> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  };

  try {
    const listening = await new Promise<ListeningLine>((resolve, reject) => {
      const timeoutMs = options.startTimeoutMs ?? 60_000;
      const timer = setTimeout(() => reject(new Error(`${options.script}: no listening line within ${timeoutMs} ms`)), timeoutMs);
      let seen = false;
      lines.on('line', (line) => {
        if (seen) {
          extra.push(line);
          return;
        }
        seen = true;
        clearTimeout(timer);
        try {
          const parsed = JSON.parse(line) as Partial<ListeningLine>;
          if (parsed.event !== 'listening' || typeof parsed.port !== 'number' || parsed.port <= 0) throw new Error('not a listening line');
          resolve(parsed as ListeningLine);
        } catch {
          reject(new Error(`${options.script}: first stdout line is not {"event":"listening","port":N}: ${line}`));
        }
      });
      void exited.then((exit) => {
        clearTimeout(timer);
        reject(new Error(`${options.script} exited (${exit.code ?? exit.signal}) before listening: ${stderr.trim().slice(-2000)}`));
      });
    });
    return {
      pid: child.pid ?? -1,
      port: listening.port,
      url: `http://127.0.0.1:${listening.port}`,
      listening,
      exited,
      get running() {
        return child.exitCode === null && child.signalCode === null;
      },
      kill: (signal = 'SIGTERM') => child.exitCode === null && child.signalCode === null && child.kill(signal),
      stderr: () => stderr,
      extraStdout: () => [...extra],
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

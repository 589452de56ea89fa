import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A variant's server running in a child process. */
export interface ThroughputServer {
  id: string;
  pid: number;
  url: string;
  /** CPU time (user + system) the server process has used so far, in ms. */
  cpuMs(): number;
  /** Kills the process and waits for it to go. Safe to call twice. */
  stop(): Promise<void>;
}

/** Options of {@link startThroughputServer}. */
export interface StartServerOptions {
  /** Pin the server to this CPU with taskset (so it does not share a core with the load generator). */
  cpu?: number;
  /** Give up waiting for the listening line after this long. Default 15 s. */
  timeoutMs?: number;
}

const CLOCK_TICKS_PER_SECOND = 100;

/**
 * Starts `servers/<id>.js` as a child process and resolves once it prints
 * `{"event":"listening","port":N}`. The child's stdin is a pipe from us: when
 * we die, it sees the end and exits.
 */
export async function startThroughputServer(id: string, options: StartServerOptions = {}): Promise<ThroughputServer> {
  const script = fileURLToPath(new URL(`./servers/${id}.js`, import.meta.url));
  const nodeArgs = [...serverNodeFlags(id), script];
  const child =
    options.cpu === undefined
      ? spawn(process.execPath, nodeArgs, { stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn('taskset', ['-c', String(options.cpu), process.execPath, ...nodeArgs], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const stop = once(() => killAndWait(child));
  try {
    const port = await waitForListening(child, id, options.timeoutMs ?? 15_000, () => stderr);
    const pid = child.pid;
    if (pid === undefined) throw new Error(`${id}: no pid`);
    return { id, pid, url: `http://127.0.0.1:${port}`, cpuMs: () => processCpuMs(pid), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Extra node flags for a server, e.g. `BENCH_CPU_PROF=express-baton` profiles that one. */
export function serverNodeFlags(id: string): string[] {
  const profiled = (process.env.BENCH_CPU_PROF ?? '').split(',').map((s) => s.trim());
  if (!profiled.includes(id)) return [];
  const dir = process.env.BENCH_CPU_PROF_DIR ?? 'bench/profiles';
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${id}.cpuprofile`];
}

function waitForListening(child: ChildProcess, id: string, timeoutMs: number, stderr: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const fail = (why: string): void => {
      cleanup();
      const tail = stderr().trim();
      reject(new Error(`${id}: ${why}${tail ? `\n--- stderr ---\n${tail}` : ''}`));
    };
    const onData = (chunk: string): void => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        const port = listeningPort(line);
        if (port !== undefined) {
          cleanup();
          resolve(port);
          return;
        }
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => fail(`exited before listening (code ${code}, signal ${signal})`);
    const onError = (error: Error): void => fail(`could not start: ${error.message}`);
    const timer = setTimeout(() => fail(`no listening line within ${timeoutMs} ms`), timeoutMs);
    function cleanup(): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
    }
    child.stdout?.setEncoding('utf8').on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

function listeningPort(line: string): number | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(line) as { event?: unknown; port?: unknown };
    return parsed.event === 'listening' && typeof parsed.port === 'number' ? parsed.port : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Closes the child's stdin first: it then exits normally, which lets
 * `--cpu-prof` write its profile. SIGTERM after 2 s, SIGKILL after 4 s.
 */
function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const term = setTimeout(() => child.kill('SIGTERM'), 2000);
    const kill = setTimeout(() => child.kill('SIGKILL'), 4000);
    child.once('exit', () => {
      clearTimeout(term);
      clearTimeout(kill);
      resolve();
    });
    child.stdin?.end();
  });
}

/** utime + stime of a process from /proc, in ms (Linux only; 0 elsewhere). */
function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}

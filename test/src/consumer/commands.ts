// Commands run as a user would in a shell: npm, npx, node, tsc. Their
// environment is the machine's, without what pnpm and vitest add to it, so
// nothing of the monorepo (its npm_config_*, NODE_OPTIONS...) leaks in.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

/** How a command ended, and what it printed. */
export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Options of {@link runCommand}. */
export interface CommandOptions {
  cwd: string;
  /** Added to the clean environment. */
  env?: Record<string, string>;
  /** Directories put first on PATH (another Node's bin). */
  pathFirst?: string[];
  /** Killed (its whole process group) past this. Default 180 000 ms. */
  timeoutMs?: number;
}

/** The machine's environment without pnpm's, npm's and vitest's variables. */
export function userEnvironment(options: Pick<CommandOptions, 'env' | 'pathFirst'> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_|PNPM_|VITEST|TURBO_|NODE_OPTIONS$|NODE_PATH$|INIT_CWD$)/.test(name)) continue;
    env[name] = value;
  }
  // pnpm puts the monorepo's node_modules/.bin first on PATH; a user's shell has none of that.
  const path = (env['PATH'] ?? '').split(':').filter((dir) => dir !== '' && !dir.includes('/node_modules/.bin'));
  env['PATH'] = [...(options.pathFirst ?? []), ...path].join(':');
  return {
    ...env,
    // Quiet, and no reaching out beyond the registry.
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    ...options.env,
  };
}

/** Runs `command args` to its end; never rejects for a non-zero exit (the result says it). */
export function runCommand(command: string, args: string[], options: CommandOptions): Promise<CommandResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: userEnvironment(options), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      stderr += `\n[killed: still running after ${options.timeoutMs ?? 180_000} ms]`;
      killGroup(child.pid, 'SIGKILL');
    }, options.timeoutMs ?? 180_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** `runCommand`, failing with everything it printed unless it exits 0. */
export async function mustRun(command: string, args: string[], options: CommandOptions): Promise<CommandResult> {
  const result = await runCommand(command, args, options);
  if (result.code !== 0) throw new Error(`${describeCommand(command, args, options)} exited with ${result.code ?? result.signal}\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** `command args` in `cwd`, for messages. */
export function describeCommand(command: string, args: string[], options: Pick<CommandOptions, 'cwd'>): string {
  return `\`${[command, ...args].join(' ')}\` in ${options.cwd}`;
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** `du -sk dir`: kilobytes on disk. */
export async function diskKb(dir: string): Promise<number> {
  const { stdout } = await promisify(execFile)('du', ['-sk', dir]);
  return Number(stdout.split('\t')[0]);
}

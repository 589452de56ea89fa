import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './index.js';

/**
 * How a deploy platform reads an instance's log line (@baton/deploy's
 * listening-line.ts, kept apart so the adapters' tests need no orchestrator):
 * a JSON line with a top-level `event: 'listening'` and an integer `port`.
 */
export function announcedPort(line: string): number | undefined {
  if (!line.startsWith('{') || !line.includes('listening')) return undefined;
  const parsed = JSON.parse(line) as { event?: unknown; port?: unknown };
  return parsed.event === 'listening' && typeof parsed.port === 'number' && Number.isInteger(parsed.port) ? parsed.port : undefined;
}

/** A service started the way `baton deploy` starts an instance. */
export interface DeployedService {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr (one log file, as on the platform). */
  log(): string;
  /** The ports its listening lines announced, in order. */
  announced(): number[];
  /** The parsed first listening line. */
  listeningLine(): Record<string, unknown>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/**
 * Starts `node <script>` with `PORT=0` and `RELEASE` (what the deploy
 * platform passes), and waits until it announced a port or exited. Kill it
 * when done (`child.kill('SIGKILL')` in an afterEach).
 */
export async function startUnderDeployEnv(script: string, options: { release: string; timeoutMs?: number }): Promise<DeployedService> {
  const env: Record<string, string | undefined> = { ...process.env, PORT: '0', RELEASE: options.release };
  const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = (): string[] => log.split('\n').filter((line) => announcedPort(line) !== undefined);
  const service: DeployedService = {
    child,
    log: () => log,
    announced: () => lines().map((line) => announcedPort(line) as number),
    listeningLine: () => JSON.parse(lines()[0] ?? '{}') as Record<string, unknown>,
    exited,
  };
  await waitFor(() => service.announced().length > 0 || child.exitCode !== null, options.timeoutMs ?? 20_000, `the listening line of ${script}`);
  return service;
}

import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchText, waitFor } from './index.js';

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

/**
 * The adapters' shared test: the README's app at `fixture`, started as
 * `baton deploy` starts an instance, announces its port in one startup line
 * (with the release and the probe paths), serves, labels its metrics with
 * RELEASE, and exits 0 on SIGTERM.
 */
export function describeDeployDefaults(title: string, fixture: string): void {
  describe(title, () => {
    let service: DeployedService | undefined;
    afterEach(() => {
      service?.child.kill('SIGKILL');
      service = undefined;
    });

    it('announces its port in one startup line, and labels its metrics with the release', async () => {
      service = await startUnderDeployEnv(fixture, { release: 'v7' });
      expect(service.announced(), service.log()).toHaveLength(1);
      const port = service.announced()[0] as number;
      expect(port).toBeGreaterThan(0);
      expect(service.listeningLine()).toMatchObject({ release: 'v7', url: `http://127.0.0.1:${port}`, probes: { readiness: '/readyz' } });

      const url = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetchText(`${url}/readyz`)).status === 200, 20_000, 'readiness');
      expect((await fetchText(`${url}/hello`)).body).toBe('hello');
      const metrics = (await fetchText(`${url}/metrics`)).body;
      expect(metrics).toMatch(/^http_requests_total\{[^}]*route="\/hello"[^}]*release="v7"|^http_requests_total\{[^}]*release="v7"[^}]*route="\/hello"/m);
      expect(metrics).not.toMatch(/release=""/);
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
    });
  });
}

// What the CLI says during and after real deploys (in-process, real instances,
// the built-in router): every line must be true when it is printed — the
// router's address, what a first deploy does, what `status` says after
// `down`, which command rolled a deploy back, and which releases the live
// traffic line names.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReleaseSample } from '@baton/deploy';
import { waitFor } from '@baton/testing';
import { EXIT, runCli, type CliIo } from './index.js';

// A service whose /metrics carries no `release` label (a service instrumented by hand, or a Baton
// service before it knew its release): each scrape counts as 10 requests, so traffic windows exist
// without any load.
const SERVICE = `
import { createServer } from 'node:http';
let scrapes = 0;
const metrics = () => {
  scrapes += 1;
  const n = scrapes * 10;
  return [
    '# HELP http_requests_total Requests.', '# TYPE http_requests_total counter',
    'http_requests_total{method="GET",route="/",status_code="200"} ' + n,
    '# HELP http_request_duration_seconds Latency.', '# TYPE http_request_duration_seconds histogram',
    'http_request_duration_seconds_bucket{method="GET",route="/",le="0.005"} ' + n,
    'http_request_duration_seconds_bucket{method="GET",route="/",le="+Inf"} ' + n,
    'http_request_duration_seconds_sum{method="GET",route="/"} ' + n * 0.002,
    'http_request_duration_seconds_count{method="GET",route="/"} ' + n, '',
  ].join('\\n');
};
const server = createServer((request, response) => {
  if (request.url === '/metrics') {
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    response.end(metrics());
    return;
  }
  response.end('ok ' + process.env.RELEASE);
});
server.listen(Number(process.env.PORT), process.env.HOST, () => console.log(JSON.stringify({ event: 'listening', port: server.address().port })));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
setInterval(() => server.closeIdleConnections(), 100).unref();
`;

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

let dir: string;
let stateDir: string;

beforeEach(async () => {
  // Short: the router's unix socket lives under the state directory (107 bytes at most).
  dir = await mkdtemp('/tmp/bcw-');
  stateDir = join(dir, 's');
  await writeFile(join(dir, 'service.mjs'), SERVICE);
  await writeConfig();
});

afterEach(async () => {
  await cli('down');
  await rm(dir, { recursive: true, force: true });
});

async function writeConfig(strategy?: unknown): Promise<void> {
  const config = {
    service: 'orders',
    instances: 1,
    stateDir,
    router: { kind: 'builtin' },
    timeouts: { readyMs: 15_000, drainMs: 2000, stopMs: 5000 },
    release: { version: 'v1', command: process.execPath, args: [join(dir, 'service.mjs')] },
    ...(strategy === undefined ? {} : { strategy }),
  };
  await writeFile(join(dir, 'baton.config.json'), JSON.stringify(config));
}

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
async function cli(options: Partial<CliIo> & { onOutput?: (text: string) => void }, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
async function cli(...args: unknown[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { onOutput, ...options } = typeof args[0] === 'object' ? (args.shift() as Partial<CliIo> & { onOutput?: (text: string) => void }) : {};
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: {
      write: (text) => {
        stdout += text;
        onOutput?.(text);
      },
    },
    stderr: { write: (text) => void (stderr += text) },
    cwd: dir,
    env: {},
    ...options,
  };
  const code = await runCli(args as string[], io);
  return { code, stdout, stderr };
}

/** `baton status --json`. */
async function status(): Promise<{ stable?: string; previous?: string; down?: { atMs: number; release?: string }; router?: { url?: string }; deploy?: { reason?: string; phase: string } }> {
  const result = await cli('status', '--json');
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout) as never;
}

describe('what baton deploy and baton status say', () => {
  it("a first deploy prints the router's address first, then says it starts the instances before any traffic; status shows the same address", async () => {
    const first = await cli('deploy');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(EXIT.ok);
    const lines = first.stdout.split('\n').filter((line) => line.trim() !== '');
    expect(lines[0]).toMatch(/Router: built-in at http:\/\/127\.0\.0\.1:\d+ \(started now\)\.$/);
    const url = /Router: built-in at (http:\/\/127\.0\.0\.1:\d+)/.exec(lines[0] ?? '')?.[1] as string;
    expect(first.stdout).toContain('Deploying v1, a first deploy (nothing serves yet): starting 1 instance of v1, each taking traffic once it is ready.');
    expect(first.stdout).toContain('Step 1/2: start 1 instance of v1, each taking traffic once it is ready.');
    expect(first.stdout).toContain('Step 2/2: v1 serves all traffic.');
    expect(first.stdout).not.toContain('candidate gets 100% of traffic');
    // In that order: the instance starts before anything about traffic.
    const at = (text: string): number => first.stdout.indexOf(text);
    expect(at('Step 1/2')).toBeLessThan(at('v1-1 started on port'));
    expect(at('v1-1 is ready and in the router')).toBeLessThan(at('Step 2/2'));
    expect((await fetch(url).then((response) => response.text()))).toBe('ok v1');

    const shown = await cli('status');
    expect(shown.stdout).toContain('orders: stable v1  (state in');
    expect(shown.stdout).toContain(`router (built-in) at ${url}:`);
    expect((await status()).router?.url).toBe(url);

    // A deploy onto the running router says so, at the same address.
    await writeConfig({ type: 'rolling' });
    const second = await cli('deploy', '--release', 'v2');
    expect(second.code).toBe(EXIT.ok);
    expect(second.stdout.split('\n')[0]).toContain(`Router: built-in at ${url} (running).`);
    expect(second.stdout).toContain('Deploying v2 over v1 (rolling,');
    expect(second.stdout).toContain('Step 1/');
    expect(second.stdout).toContain('v2 to 1 instance');
  });

  it('after baton down, status says nothing runs, since when, and which release was last — not the one before it', async () => {
    for (const version of ['v1', 'v2', 'v3']) expect((await cli('deploy', '--release', version)).code).toBe(EXIT.ok);
    expect((await status()).previous).toBe('v2');
    const before = Date.now();
    const down = await cli('down');
    expect(down.stderr).toBe('');
    expect(down.code).toBe(EXIT.ok);
    expect(down.stdout).toContain(`Stopped every instance and the router of orders; nothing of it runs. Its history, reports and logs stay in ${stateDir}.`);

    const text = (await cli('status')).stdout;
    expect(text).toMatch(/^orders: down since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(baton down\), nothing running; the last release was v3 {2}\(state in /);
    expect(text).not.toContain('stable (none)');
    expect(text).not.toContain('previous v2');
    expect(text).toContain('router: none running');
    expect(text).toContain('instances: none');
    expect(text).toMatch(/last deploy orders-\S+: v2 → v3, succeeded/);
    const json = await status();
    expect(json.stable).toBeUndefined();
    expect(json.down?.release).toBe('v3');
    expect(json.down?.atMs).toBeGreaterThanOrEqual(before);

    // A second down changes nothing of that record.
    expect((await cli('down')).code).toBe(EXIT.ok);
    expect((await status()).down).toEqual(json.down);

    // baton rollback brings back the release that was taken down.
    const back = await cli('rollback');
    expect(back.code).toBe(EXIT.ok);
    expect(back.stdout).toContain('Deployed v3');
    const after = await status();
    expect(after.down).toBeUndefined();
    expect(after.stable).toBe('v3');
  });

  it('a deploy rolled back by baton abort says abort; by baton rollback, rollback', async () => {
    expect((await cli('deploy', '--release', 'v1')).code).toBe(EXIT.ok);
    await writeConfig({ type: 'canary', steps: [{ setWeight: 50 }, { pause: {} }] });
    for (const [version, command, reason] of [
      ['v2', 'abort', 'aborted on request (baton abort)'],
      ['v3', 'rollback', 'rolled back on request (baton rollback)'],
    ] as const) {
      // Paused, then Ctrl-C: the deploy stays open with no process running it, and the command rolls it back itself.
      const interrupt = new AbortController();
      const paused = await cli({ signal: interrupt.signal, onOutput: (text) => text.includes('Paused:') && interrupt.abort(new Error('Ctrl-C')) }, 'deploy', '--release', version);
      expect(paused.code).toBe(EXIT.interrupted);
      const rolled = await cli(command);
      expect(rolled.stderr).toBe('');
      expect(rolled.code).toBe(EXIT.deployFailed);
      expect(rolled.stdout).toContain(`Rolling back ${version}: ${reason}`);
      const shown = await status();
      expect(shown.deploy).toMatchObject({ phase: 'rolled-back', reason });
      expect((await cli('status')).stdout).toContain(`rolled-back — ${reason}`);
    }
  });

  it('the live traffic line names the releases the instances run, even when their metrics carry no release label', async () => {
    expect((await cli('deploy', '--release', 'v1')).code).toBe(EXIT.ok);
    await writeConfig({ type: 'canary', steps: [{ setWeight: 50 }, { pause: {} }] });
    const samples: Record<string, ReleaseSample>[] = [];
    let samplesWhilePaused = 0;
    let paused = false;
    let promoting: Promise<unknown> | undefined;
    const deployed = await cli(
      {
        onOutput: (text) => {
          for (const line of text.split('\n').filter((l) => l.startsWith('{'))) {
            const event = JSON.parse(line) as { type: string; data?: { releases?: Record<string, ReleaseSample> } };
            if (event.type === 'paused') paused = true;
            if (event.type !== 'sample') continue;
            samples.push(event.data?.releases ?? {});
            // Once both releases showed traffic windows while paused (or enough samples went by to know they never will), go on.
            const bothMeasured = ['v1', 'v2'].every((release) => samples.some((sample) => sample[release]?.p99Ms !== undefined));
            if (paused && (samplesWhilePaused += 1) >= 3 && (bothMeasured || samplesWhilePaused >= 8)) promoting ??= cli('promote');
          }
        },
      },
      'deploy',
      '--release',
      'v2',
      '--json',
    );
    await promoting;
    expect(deployed.code).toBe(EXIT.ok);
    const names = new Set(samples.flatMap((sample) => Object.keys(sample)));
    expect([...names].sort()).toEqual(['v1', 'v2']);
    // Windows were measured, and put on the instances' releases.
    expect(samples.some((sample) => sample['v1']?.p99Ms !== undefined && sample['v2']?.p99Ms !== undefined)).toBe(true);
  });

  it('a deploy whose reader goes away (baton deploy | head -1) carries on to its end instead of dying of EPIPE halfway', async () => {
    await writeConfig();
    const child = spawn(process.execPath, [MAIN, 'deploy'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // `head -1`: the first line read, then the pipe closed.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | string>((resolve) => child.once('exit', (exitCode, signal) => resolve(exitCode ?? signal ?? 'unknown')));
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(EXIT.ok);
    expect((await status()).stable).toBe('v1');
  });

  it('a router that died (a reboot, a kill) is shown as not running, with the address the next deploy restarts it at', async () => {
    const first = await cli('deploy');
    expect(first.code).toBe(EXIT.ok);
    const url = (await status()).router?.url as string;
    const { pid } = JSON.parse(await readFile(join(stateDir, 'r', 'router.json'), 'utf8')) as { pid: number };
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !alive(pid), 10_000, `the router (pid ${pid}) to exit`);
    const shown = await cli('status');
    expect(shown.stdout).toContain(`router (built-in): not running; the next baton deploy starts it again at ${url}`);
    const next = await cli('deploy', '--release', 'v2');
    expect(next.code).toBe(EXIT.ok);
    expect(next.stdout.split('\n')[0]).toContain(`Router: built-in at ${url} (started now).`);
    expect(await fetch(url).then((response) => response.text())).toBe('ok v2');
  });
});

/** Alive and not a zombie (the router was spawned by this process, which may not have reaped it yet). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

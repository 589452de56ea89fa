// Real deploys through the CLI, in-process, behind the built-in router, of a
// tiny service that prints its own secrets: what Baton writes under the state
// directory (modes, and where a secret may appear), what `baton status` and
// the report show, and what a user sees when an old instance cannot be stopped.
import { lstat, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeployEvent, Platform, ServiceState } from '@baton/deploy';
import { createLocalProcessPlatform } from '@baton/platform-local';
import { haproxyInstalled } from '@baton/router-haproxy';
import { EXIT, runCli, type CliIo } from './index.js';

// Planted secrets: each must appear only in a 0600 file that must hold it: an instance's own log, which
// the instance writes itself. The journal's state keeps only their names and keyed fingerprints.
const SECRETS = {
  DATABASE_URL_PASSWORD: 'Pg-planted-8f3a',
  API_TOKEN: 'tok-planted-51c9e0',
  // Its name says nothing: only `release.secretEnv` marks it.
  MY_VAR: 'myvar-planted-77d2',
  // Inside a connection string under a name that says nothing; and MySQL's own variable.
  JDBC_PASSWORD: 'jdbc-planted-3e1f',
  MYSQL_PWD: 'mysql-planted-a07c',
};
const ENV = {
  DATABASE_URL: `postgres://app:${SECRETS.DATABASE_URL_PASSWORD}@127.0.0.1:5432/orders`,
  API_TOKEN: SECRETS.API_TOKEN,
  MY_VAR: SECRETS.MY_VAR,
  JDBC_URL: `jdbc:postgresql://127.0.0.1:5432/orders?user=app&password=${SECRETS.JDBC_PASSWORD}`,
  MYSQL_PWD: SECRETS.MYSQL_PWD,
};
const MAY_HOLD_SECRETS = [/^instances\/logs\/[^/]+\.log$/];

// A service that prints its environment (as too many do) and then listens, or exits when FAIL_START is set.
const SERVICE = `
import { createServer } from 'node:http';
console.log('config: DATABASE_URL=' + process.env.DATABASE_URL + ' API_TOKEN=' + process.env.API_TOKEN + ' MY_VAR=' + process.env.MY_VAR);
if (process.env.FAIL_START === '1') {
  console.error('jdbc: ' + process.env.JDBC_URL + ' mysql: ' + process.env.MYSQL_PWD);
  console.error('fatal: cannot connect with ' + process.env.DATABASE_URL + ' (token ' + process.env.API_TOKEN + ', ' + process.env.MY_VAR + ')');
  process.exit(1);
}
const server = createServer((request, response) => {
  // NOT_READY: up, but never ready.
  response.writeHead(request.url === '/metrics' ? 404 : process.env.NOT_READY === '1' ? 503 : 200, { 'content-type': 'text/plain' });
  response.end('ok');
});
server.listen(Number(process.env.PORT), process.env.HOST, () => console.log(JSON.stringify({ event: 'listening', port: server.address().port })));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
setInterval(() => server.closeIdleConnections(), 100).unref();
`;

let dir: string;
let stateDir: string;

beforeEach(async () => {
  // Short: the router's unix socket lives under the state directory (107 bytes at most).
  dir = await mkdtemp('/tmp/bcs-');
  stateDir = join(dir, 's');
  await writeFile(join(dir, 'service.mjs'), SERVICE);
  await writeConfig({});
});

afterEach(async () => {
  // Everything started (instances, router) is stopped by the real platform, even an instance a test kept running.
  await cli('down');
  await rm(dir, { recursive: true, force: true });
});

async function writeConfig(env: Record<string, string>, router: 'builtin' | 'haproxy' = 'builtin', readyMs = 10_000): Promise<void> {
  const config = {
    service: 'orders',
    instances: 1,
    stateDir,
    router: { kind: router },
    timeouts: { readyMs, drainMs: 2000, stopMs: 5000 },
    release: { version: 'v1', command: process.execPath, args: [join(dir, 'service.mjs')], env: { ...ENV, ...env }, secretEnv: ['MY_VAR'] },
  };
  await writeFile(join(dir, 'baton.config.json'), JSON.stringify(config));
}

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
async function cli(options: Partial<CliIo>, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
async function cli(...args: unknown[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const options = typeof args[0] === 'object' ? (args.shift() as Partial<CliIo>) : {};
  let stdout = '';
  let stderr = '';
  const code = await runCli(args as string[], { stdout: { write: (text) => void (stdout += text) }, stderr: { write: (text) => void (stderr += text) }, cwd: dir, env: {}, ...options });
  return { code, stdout, stderr };
}

/** Every entry under `root`, with its path relative to it. */
async function walk(root: string, base = ''): Promise<{ path: string; full: string; mode: number; kind: 'dir' | 'file' | 'other' }[]> {
  const found = [];
  for (const name of await readdir(join(root, base))) {
    const path = base === '' ? name : `${base}/${name}`;
    const full = join(root, path);
    const stat = await lstat(full);
    const kind = stat.isDirectory() ? 'dir' : stat.isFile() ? 'file' : 'other';
    found.push({ path, full, mode: stat.mode & 0o777, kind } as const);
    if (kind === 'dir') found.push(...(await walk(root, path)));
  }
  return found;
}

function leaks(text: string): string[] {
  return Object.values(SECRETS).filter((secret) => text.includes(secret));
}

describe('baton deploy: the state directory', () => {
  it.each(['builtin', 'haproxy'] as const)('behind the %s router: is private (dirs 0700, files 0600), and secrets appear only in the instances\' own logs, never in the journal', async (router) => {
    if (router === 'haproxy' && !haproxyInstalled()) {
      console.warn('HAProxy is not installed: the haproxy case is skipped (apt-get install haproxy)');
      return;
    }
    await writeConfig({}, router);
    const first = await cli('deploy', '--release', 'v1');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(EXIT.ok);

    // v2 prints its secrets and dies at start: its last lines are quoted in the reason, the events,
    // the report and `baton status` — scrubbed.
    await writeConfig({ FAIL_START: '1' }, router);
    const failed = await cli('deploy', '--release', 'v2');
    expect(failed.code).toBe(EXIT.deployFailed);
    expect(failed.stdout).toContain('Rolled back v2');
    expect(failed.stdout).toContain('fatal: cannot connect with postgres://app:[redacted]@127.0.0.1:5432/orders (token [redacted], [redacted])');
    expect(failed.stdout).toContain('jdbc: jdbc:postgresql://127.0.0.1:5432/orders?user=app&password=[redacted] mysql: [redacted]');
    const json = await cli('deploy', '--release', 'v2', '--json');
    expect(json.code).toBe(EXIT.deployFailed);
    const status = await cli('status');
    const statusJson = await cli('status', '--json');
    expect(status.stdout).toContain('deploy orders-');
    expect(status.stdout).toContain('[redacted]');
    expect((JSON.parse(statusJson.stdout) as { deploy: { reason: string } }).deploy.reason).toContain('token [redacted]');
    for (const output of [first, failed, json, status, statusJson]) {
      expect(leaks(output.stdout + output.stderr)).toEqual([]);
    }

    const entries = await walk(stateDir);
    expect(entries.map((entry) => entry.path)).toEqual(expect.arrayContaining(['journal/state.json', 'journal/events.jsonl', 'instances/logs/v1-1.log', 'instances/logs/v2-2.log']));
    expect(entries.some((entry) => /^reports\/[^/]+\/report\.html$/.test(entry.path))).toBe(true);
    const tooOpen = entries.filter((entry) => (entry.kind === 'dir' ? entry.mode !== 0o700 : (entry.mode & 0o077) !== 0)).map((entry) => `${entry.path} ${entry.mode.toString(8)}`);
    expect(tooOpen).toEqual([]);
    expect((await lstat(stateDir)).mode & 0o777).toBe(0o700);

    const holding: string[] = [];
    for (const entry of entries.filter((e) => e.kind === 'file')) {
      if (leaks(await readFile(entry.full, 'utf8')).length === 0) continue;
      holding.push(entry.path);
      expect(MAY_HOLD_SECRETS.some((allowed) => allowed.test(entry.path)), `${entry.path} holds a secret`).toBe(true);
      expect(entry.mode, entry.path).toBe(0o600);
    }
    // The logs are the service's own words. The state keeps each secret's name and a keyed fingerprint:
    // a rollback takes the values from the config or the environment again.
    expect(holding.sort()).toEqual(['instances/logs/v1-1.log', 'instances/logs/v2-2.log', 'instances/logs/v2-3.log']);
    const state = JSON.parse(await readFile(join(stateDir, 'journal/state.json'), 'utf8')) as ServiceState;
    expect(state.stable?.env).toEqual({});
    expect(Object.keys(state.stable?.sealedEnv ?? {}).sort()).toEqual(['API_TOKEN', 'DATABASE_URL', 'JDBC_URL', 'MYSQL_PWD', 'MY_VAR']);

    // The report says what happened, scrubbed.
    const reportPath = failed.stdout.match(/Report: (.+\.html)/)?.[1] as string;
    const report = JSON.parse(await readFile(reportPath.replace(/\.html$/, '.json'), 'utf8')) as { reason: string; decisions: DeployEvent[] };
    expect(await readFile(reportPath, 'utf8')).toContain('token [redacted]');
    expect(report.reason).toContain('postgres://app:[redacted]@127.0.0.1');
    expect(report.decisions.some((event) => event.type === 'rollback' && event.message.includes('token [redacted]'))).toBe(true);
  });

  it('is made private when it exists already with open modes (a state directory of an older Baton)', async () => {
    const { mkdir, chmod } = await import('node:fs/promises');
    await mkdir(join(stateDir, 'journal'), { recursive: true, mode: 0o755 });
    await writeFile(join(stateDir, 'journal/events.jsonl'), '', { mode: 0o644 });
    await chmod(stateDir, 0o755);
    await chmod(join(stateDir, 'journal/events.jsonl'), 0o644);
    const deployed = await cli('deploy', '--release', 'v1');
    expect(deployed.code).toBe(EXIT.ok);
    expect((await lstat(stateDir)).mode & 0o777).toBe(0o700);
    expect((await lstat(join(stateDir, 'journal'))).mode & 0o777).toBe(0o700);
    expect((await lstat(join(stateDir, 'journal/events.jsonl'))).mode & 0o777).toBe(0o600);
  });
  it('set to a directory that holds other things (stateDir: the project directory) leaves that directory\'s mode alone; what Baton makes in it is private', async () => {
    const { chmod } = await import('node:fs/promises');
    stateDir = dir;
    await chmod(dir, 0o755);
    await writeConfig({});
    const deployed = await cli('deploy', '--release', 'v1');
    expect(deployed.code).toBe(EXIT.ok);
    // 0700 would lock out whoever else reads the project (a web server, a CI user).
    expect((await lstat(dir)).mode & 0o7777).toBe(0o755);
    const made = (await walk(dir)).filter((entry) => !['service.mjs', 'baton.config.json'].includes(entry.path));
    const tooOpen = made.filter((entry) => (entry.kind === 'dir' ? entry.mode !== 0o700 : (entry.mode & 0o077) !== 0)).map((entry) => `${entry.path} ${entry.mode.toString(8)}`);
    expect(tooOpen).toEqual([]);
    expect(made.map((entry) => entry.path)).toEqual(expect.arrayContaining(['journal', 'journal/state.json', 'instances', 'r', 'router-kind']));
  });
});

describe('baton deploy: an instance that cannot be stopped', () => {
  it('is journaled, reported, kept in the state, warned about, and exits 4; baton down stops it later', async () => {
    expect((await cli('deploy', '--release', 'v1')).code).toBe(EXIT.ok);
    const before = JSON.parse(await readFile(join(stateDir, 'journal/state.json'), 'utf8')) as ServiceState;
    const old = before.instances[0]!;

    // A process that survives SIGKILL cannot be made on purpose here: a wrapper around the real
    // platform whose `stop` rejects for v1 stands in for it (the process itself keeps running).
    const real = createLocalProcessPlatform({ stateDir: join(stateDir, 'instances'), listenTimeoutMs: 10_000 });
    const failing: Platform = {
      ...real,
      stop: (instance, options) => (instance.release === 'v1' ? Promise.reject(new Error(`process ${instance.pid} did not exit 10000 ms after SIGKILL (injected)`)) : real.stop(instance, options)),
    };
    const deployed = await cli({ platform: failing }, 'deploy', '--release', 'v2');
    expect(deployed.code).toBe(EXIT.stopFailed);
    expect(deployed.stdout).toContain(`${old.id} (v1) could not be stopped: process ${old.pid} did not exit 10000 ms after SIGKILL (injected)`);
    expect(deployed.stdout).toContain('Deployed v2');
    expect(deployed.stderr).toContain(`baton: warning: ${old.id} (v1) could not be stopped`);

    const events = (await readFile(join(stateDir, 'journal/events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as DeployEvent);
    expect(events.filter((event) => event.type === 'instance-stop-failed').map((event) => event.data?.['id'])).toEqual([old.id]);
    expect(events.some((event) => event.type === 'instance-stopped' && event.data?.['id'] === old.id)).toBe(false);

    const reportPath = deployed.stdout.match(/Report: (.+\.html)/)?.[1] as string;
    const report = JSON.parse(await readFile(reportPath.replace(/\.html$/, '.json'), 'utf8')) as { phase: string; stopFailures: { id: string; error: string }[] };
    expect(report.phase).toBe('succeeded');
    expect(report.stopFailures).toEqual([expect.objectContaining({ id: old.id, error: expect.stringContaining('(injected)') })]);
    expect(await readFile(reportPath, 'utf8')).toContain(`<b>Not stopped:</b> ${old.id} (v1)`);

    // Kept in the state, out of traffic, still running: status shows it.
    const status = await cli('status', '--json');
    const shown = JSON.parse(status.stdout) as { instances: { id: string; status: string }[]; router: { backends: { id: string }[] } };
    expect(shown.instances.find((instance) => instance.id === old.id)?.status).toBe('draining');
    expect(shown.router.backends.map((backend) => backend.id)).not.toContain(old.id);
    expect(real.isRunning(old)).toBe(true);

    // baton down (the real platform) stops it.
    const down = await cli('down');
    expect(down.code).toBe(EXIT.ok);
    expect(real.isRunning(old)).toBe(false);
  });

  it('the next deploy stops an old instance whose stop failed, and exits 0', async () => {
    expect((await cli('deploy', '--release', 'v1')).code).toBe(EXIT.ok);
    const real = createLocalProcessPlatform({ stateDir: join(stateDir, 'instances'), listenTimeoutMs: 10_000 });
    // As above: a stand-in for a process that survives SIGKILL.
    const failing: Platform = { ...real, stop: (instance, options) => (instance.release === 'v1' ? Promise.reject(new Error('did not exit after SIGKILL (injected)')) : real.stop(instance, options)) };
    expect((await cli({ platform: failing }, 'deploy', '--release', 'v2')).code).toBe(EXIT.stopFailed);
    const old = (JSON.parse(await readFile(join(stateDir, 'journal/state.json'), 'utf8')) as ServiceState).instances.find((instance) => instance.release === 'v1')!;
    expect(real.isRunning(old)).toBe(true);

    const next = await cli('deploy', '--release', 'v3');
    expect(next.stderr).toBe('');
    expect(next.code).toBe(EXIT.ok);
    expect(real.isRunning(old)).toBe(false);
    const state = JSON.parse(await readFile(join(stateDir, 'journal/state.json'), 'utf8')) as ServiceState;
    expect(state.instances.map((instance) => instance.release)).toEqual(['v3']);
  });

  it('a candidate that never got ready and could not be stopped is stopped by the next deploy, not left running behind a rollback', async () => {
    expect((await cli('deploy', '--release', 'v1')).code).toBe(EXIT.ok);
    const real = createLocalProcessPlatform({ stateDir: join(stateDir, 'instances'), listenTimeoutMs: 10_000 });
    // As above: a stand-in for a process that survives SIGKILL; v2 listens but never answers its readiness probe.
    const failing: Platform = { ...real, stop: (instance, options) => (instance.release === 'v2' ? Promise.reject(new Error('did not exit after SIGKILL (injected)')) : real.stop(instance, options)) };
    // Long enough for the process to start and announce its port on a busy machine; it only has to never get ready.
    await writeConfig({ NOT_READY: '1' }, 'builtin', 5000);
    const failed = await cli({ platform: failing }, 'deploy', '--release', 'v2');
    expect(failed.code).toBe(EXIT.deployFailed);
    expect(failed.stdout).toContain('could not be stopped: did not exit after SIGKILL (injected)');
    const stuck = (JSON.parse(await readFile(join(stateDir, 'journal/state.json'), 'utf8')) as ServiceState).instances.find((instance) => instance.release === 'v2')!;
    expect(real.isRunning(stuck)).toBe(true);

    await writeConfig({});
    const next = await cli('deploy', '--release', 'v3');
    expect(next.code).toBe(EXIT.ok);
    expect(real.isRunning(stuck)).toBe(false);
    expect(next.stdout).toContain(`${stuck.id} (v2), which an earlier stop left running, is stopped`);
  });

  it('fails baton down with the instance named, keeps it in the state, and a second down stops it', async () => {
    expect((await cli('deploy', '--release', 'v1')).code).toBe(EXIT.ok);
    const real = createLocalProcessPlatform({ stateDir: join(stateDir, 'instances'), listenTimeoutMs: 10_000 });
    // As above: a stand-in for a process that survives SIGKILL.
    const failing: Platform = { ...real, stop: () => Promise.reject(new Error('did not exit after SIGKILL (injected)')) };
    const down = await cli({ platform: failing }, 'down');
    expect(down.code).toBe(EXIT.error);
    expect(down.stderr).toContain('1 instance of orders could not be stopped (they stay in the state; run baton down again): v1-1: did not exit after SIGKILL (injected)');
    const state = JSON.parse(await readFile(join(stateDir, 'journal/state.json'), 'utf8')) as ServiceState;
    expect(state.instances.map((instance) => [instance.id, instance.status])).toEqual([['v1-1', 'draining']]);
    const events = await readFile(join(stateDir, 'journal/events.jsonl'), 'utf8');
    expect(events).toContain('"type":"instance-stop-failed"');
    const kept = state.instances[0]!;
    expect(real.isRunning(kept)).toBe(true);
    expect((await cli('down')).code).toBe(EXIT.ok);
    expect(real.isRunning(kept)).toBe(false);
  });
});

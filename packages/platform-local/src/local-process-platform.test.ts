import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchText, waitFor } from '@baton/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBatonError } from '@baton/lifecycle';
import type { InstanceExit, InstanceRecord, ReleaseSpec } from '@baton/deploy';
import { isProcessAlive } from '@baton/deploy/kit';
import { createLocalProcessPlatform, type LocalInstanceRecord } from './local-process-platform.js';

const BUILT_PLATFORM = fileURLToPath(new URL('../dist/local-process-platform.js', import.meta.url));
const ORDERS_EXPRESS = fileURLToPath(new URL('../../../examples/orders-express/dist/main.js', import.meta.url));

// A service in a few lines: listens on PORT, announces it, answers with its release and id, drains on SIGTERM.
const SERVICE = `
  const http = require('node:http');
  const server = http.createServer((req, res) => res.end(process.env.RELEASE + ' ' + process.env.BATON_INSTANCE + ' ' + (process.env.GREETING || '')));
  server.listen(Number(process.env.PORT), process.env.HOST, () => {
    console.error('starting up on stderr');
    console.log(JSON.stringify({ event: 'listening', port: server.address().port }));
  });
  process.on('SIGTERM', () => { console.error('got SIGTERM'); server.close(() => process.exit(0)); });
`;
const STUBBORN = `
  const http = require('node:http');
  const server = http.createServer((req, res) => res.end('ok'));
  server.listen(Number(process.env.PORT), process.env.HOST, () => console.log(JSON.stringify({ event: 'listening', port: server.address().port })));
  process.on('SIGTERM', () => console.error('ignoring SIGTERM'));
`;
const node = (version: string, script: string, env?: Record<string, string>): ReleaseSpec => ({
  version,
  command: process.execPath,
  args: ['-e', script],
  ...(env ? { env } : {}),
});

let stateDir: string;
const started: InstanceRecord[] = [];
const children: ChildProcess[] = [];

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'baton-platform-'));
});

afterEach(async () => {
  // Whatever a test left running, however it ended.
  for (const child of children.splice(0)) if (child.pid !== undefined && child.exitCode === null) killGroup(child.pid);
  for (const instance of started.splice(0)) if (instance.pid !== undefined && isProcessAlive(instance.pid)) killGroup(instance.pid);
  await rm(stateDir, { recursive: true, force: true });
});

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

async function track(record: Promise<InstanceRecord>): Promise<LocalInstanceRecord> {
  const instance = (await record) as LocalInstanceRecord;
  started.push(instance);
  return instance;
}

async function failure(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

describe('createLocalProcessPlatform', () => {
  it('starts a detached instance, finds its announced port, and stops it with SIGTERM', async () => {
    const platform = createLocalProcessPlatform({ stateDir });
    const instance = await track(platform.start(node('v1', SERVICE, { GREETING: 'hello', PORT: '1' }), { id: 'v1-1' }));
    expect(instance).toMatchObject({ id: 'v1-1', release: 'v1', host: '127.0.0.1', logFile: join(stateDir, 'logs', 'v1-1.log') });
    expect(instance.port).toBeGreaterThan(0);
    expect(instance.url).toBe(`http://127.0.0.1:${instance.port}`);
    expect(platform.isRunning(instance)).toBe(true);
    // RELEASE, BATON_INSTANCE from the platform, GREETING from the release; the platform's PORT won over the release's.
    expect((await fetchText(instance.url)).body).toBe('v1 v1-1 hello');

    const exits: InstanceExit[] = [];
    platform.onExit(instance, (exit) => exits.push(exit));
    const exit = await platform.stop(instance, { deadlineMs: 10_000 });
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(platform.isRunning(instance)).toBe(false);
    await waitFor(() => exits.length === 1);
    expect(exits[0]).toMatchObject({ code: 0 });
    const log = await readFile(instance.logFile, 'utf8');
    expect(log).toContain('starting up on stderr');
    expect(log).toContain('got SIGTERM');
    // An instance already gone resolves at once.
    expect(await platform.stop(instance, { deadlineMs: 10_000 })).toEqual(exit);
  });

  it('rejects with the exit code and the tail of the log when the instance dies before listening', async () => {
    const platform = createLocalProcessPlatform({ stateDir });
    const script = `for (let i = 1; i <= 30; i++) console.error('line ' + i); console.error('fatal: DATABASE_URL is not set'); process.exit(3);`;
    const error = await failure(platform.start(node('v2', script), { id: 'v2-1' }));
    expect(isBatonError(error, 'BATON_ERR_PLATFORM')).toBe(true);
    expect(error.message).toContain('v2-1');
    expect(error.message).toContain('exited with code 3 before it listened');
    expect(error.message).toContain('fatal: DATABASE_URL is not set');
    expect(error.message).toContain('line 12');
    // About twenty lines, not the whole log.
    expect(error.message).not.toContain('line 5\n');
  });

  it('keeps secrets out of a start error (command line and last lines), and the log private (0600 in 0700 dirs)', async () => {
    const platform = createLocalProcessPlatform({ stateDir });
    const env = { API_TOKEN: 'tok-in-the-env-1234', OPAQUE: 'marked-by-config-5678', DATABASE_URL: 'postgres://app:url-password-90@db/orders' };
    const script = `console.error('using ' + process.env.API_TOKEN + ' ' + process.env.OPAQUE + ' ' + process.env.DATABASE_URL); process.exit(3); // tok-in-the-env-1234`;
    const error = await failure(platform.start({ ...node('v2', script, env), secretEnv: ['OPAQUE'] }, { id: 'v2-1' }));
    expect(error.message).toContain('exited with code 3 before it listened');
    expect(error.message).toContain('using [redacted] [redacted] postgres://app:[redacted]@db/orders');
    for (const secret of ['tok-in-the-env-1234', 'marked-by-config-5678', 'url-password-90']) expect(error.message).not.toContain(secret);
    // The log is the service's own words, kept as written, readable by this user alone.
    const log = join(stateDir, 'logs', 'v2-1.log');
    expect(await readFile(log, 'utf8')).toContain('tok-in-the-env-1234');
    expect((await stat(log)).mode & 0o777).toBe(0o600);
    expect((await stat(join(stateDir, 'logs'))).mode & 0o777).toBe(0o700);
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);
  });

  it('kills an instance that does not listen in time, and says how to make its port known', async () => {
    // Long enough for Node to start and print its pid on a busy machine (it is killed at the deadline).
    const platform = createLocalProcessPlatform({ stateDir, listenTimeoutMs: 3000 });
    // A plain service: it listens (on PORT=0, so somewhere) but says nothing.
    const plain = `console.log('pid=' + process.pid); require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), process.env.HOST);`;
    const error = await failure(platform.start(node('v2', plain), { id: 'v2-1' }));
    expect(error).toMatchObject({ code: 'BATON_ERR_PLATFORM' });
    expect(error.message).toContain('did not listen within 3000 ms');
    expect(error.message).toContain('it printed no {"event":"listening","port":N} line');
    expect(error.message).toContain('serveFastify()');
    expect(error.message).toContain("set `platform: { port: 'assign' }` in baton.config");
    expect(error.message).toContain('listen on process.env.PORT');
    const pid = Number(/pid=(\d+)/.exec(error.message)?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(isProcessAlive(pid)).toBe(false);
  });

  it('kills a starting instance when the start is aborted', async () => {
    const platform = createLocalProcessPlatform({ stateDir });
    const controller = new AbortController();
    const starting = platform.start(node('v2', `console.log('pid=' + process.pid); setInterval(() => {}, 1000);`), { id: 'v2-1', signal: controller.signal });
    const log = join(stateDir, 'logs', 'v2-1.log');
    await waitFor(async () => existsSync(log) && /pid=\d+/.test(await readFile(log, 'utf8')), 10_000, 'the pid in the log');
    controller.abort(new Error('candidate failed elsewhere'));
    await expect(starting).rejects.toThrow('candidate failed elsewhere');
    const pid = Number(/pid=(\d+)/.exec(await readFile(log, 'utf8'))?.[1]);
    expect(isProcessAlive(pid)).toBe(false);
  });

  it('rejects a command that does not exist, and a working directory that does not exist', async () => {
    const platform = createLocalProcessPlatform({ stateDir });
    const error = await failure(platform.start({ version: 'v1', command: 'baton-no-such-command' }, { id: 'v1-1' }));
    expect(error).toMatchObject({ code: 'BATON_ERR_PLATFORM' });
    expect(error.message).toContain('ENOENT');
    const noDir = await failure(platform.start({ ...node('v1', SERVICE), cwd: join(stateDir, 'missing') }, { id: 'v1-2' }));
    expect(noDir).toMatchObject({ code: 'BATON_ERR_PLATFORM', message: expect.stringContaining('is not a directory') });
  });

  it('SIGKILLs an instance that ignores SIGTERM at the deadline', async () => {
    const platform = createLocalProcessPlatform({ stateDir });
    const instance = await track(platform.start(node('v1', STUBBORN), { id: 'v1-1' }));
    const exit = await platform.stop(instance, { deadlineMs: 300 });
    expect(exit).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(await readFile(instance.logFile, 'utf8')).toContain('ignoring SIGTERM');
  });

  it('lets a second platform (a restarted orchestrator) watch and stop instances the first started', async () => {
    const first = createLocalProcessPlatform({ stateDir });
    const gentle = await track(first.start(node('v1', SERVICE), { id: 'v1-1' }));
    const stubborn = await track(first.start(node('v1', STUBBORN), { id: 'v1-2' }));
    // What the journal would hand the new orchestrator: the records as JSON.
    const [gentleAgain, stubbornAgain] = JSON.parse(JSON.stringify([gentle, stubborn])) as LocalInstanceRecord[];
    const second = createLocalProcessPlatform({ stateDir });
    expect(second.isRunning(gentleAgain as InstanceRecord)).toBe(true);
    const seen: InstanceExit[] = [];
    second.onExit(gentleAgain as InstanceRecord, (exit) => seen.push(exit));

    expect(await second.stop(gentleAgain as InstanceRecord, { deadlineMs: 10_000 })).toMatchObject({ code: null });
    expect(second.isRunning(gentleAgain as InstanceRecord)).toBe(false);
    await waitFor(() => seen.length === 1, 5000, 'the onExit of an adopted instance');
    expect(await readFile(gentle.logFile, 'utf8')).toContain('got SIGTERM');
    // The first platform sees its child's exit with the real code.
    const firstSaw = await new Promise<InstanceExit>((resolve) => first.onExit(gentle, resolve));
    expect(firstSaw).toMatchObject({ code: 0, signal: null });

    expect(await second.stop(stubbornAgain as InstanceRecord, { deadlineMs: 300 })).toMatchObject({ signal: 'SIGKILL' });
    expect(first.isRunning(stubborn) && isProcessAlive(stubborn.pid)).toBe(false);
  });

  it('tells a restarted orchestrator when an adopted instance dies on its own', async () => {
    const first = createLocalProcessPlatform({ stateDir });
    const instance = await track(first.start(node('v1', SERVICE), { id: 'v1-1' }));
    const second = createLocalProcessPlatform({ stateDir });
    const seen: InstanceExit[] = [];
    const unsubscribe = second.onExit(instance, (exit) => seen.push(exit));
    const ignored: InstanceExit[] = [];
    second.onExit(instance, (exit) => ignored.push(exit))();
    // A crash: nobody asked it to stop.
    process.kill(instance.pid, 'SIGKILL');
    await waitFor(() => seen.length === 1, 10_000, 'the exit of the adopted instance');
    expect(seen[0]).toMatchObject({ code: null, signal: null });
    expect(second.isRunning(instance)).toBe(false);
    expect(ignored).toEqual([]);
    unsubscribe();
  });

  it('does not trust or signal a pid that now belongs to another process', async () => {
    const platform = createLocalProcessPlatform({ stateDir });
    const instance = await track(platform.start(node('v1', SERVICE), { id: 'v1-1' }));
    expect(instance.processStart).toBeDefined();
    // The same pid with another start time: what a record looks like once its process is gone and the pid reused.
    const stale = { ...instance, processStart: 'another-boot:1' };
    const second = createLocalProcessPlatform({ stateDir });
    expect(second.isRunning(stale)).toBe(false);
    expect(await second.stop(stale, { deadlineMs: 100 })).toMatchObject({ code: null, signal: null });
    // Without a start time, the environment decides: this process is not instance v9-9.
    const { processStart: _, ...noStart } = instance;
    expect(second.isRunning({ ...noStart, id: 'v9-9' })).toBe(false);
    expect(second.isRunning(noStart)).toBe(true);
    // The real instance was left alone.
    expect((await fetchText(instance.url)).status).toBe(200);
    await platform.stop(instance, { deadlineMs: 10_000 });
  });

  it('keeps instances running after the orchestrator that started them gets Ctrl-C and exits', async () => {
    expect(existsSync(BUILT_PLATFORM), `${BUILT_PLATFORM} is missing: build first (npx tsc -b packages/deploy)`).toBe(true);
    const starter = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { createLocalProcessPlatform } from ${JSON.stringify(BUILT_PLATFORM)};
         const platform = createLocalProcessPlatform({ stateDir: ${JSON.stringify(stateDir)} });
         const record = await platform.start({ version: 'v1', command: process.execPath, args: ['-e', ${JSON.stringify(SERVICE)}] }, { id: 'v1-1' });
         console.log(JSON.stringify(record));
         setInterval(() => {}, 1000);`,
      ],
      // Its own process group, as an orchestrator in a terminal has: Ctrl-C signals the whole group.
      { detached: true, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(starter);
    let output = '';
    starter.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    await waitFor(() => output.includes('\n'), 30_000, 'the starter to print the record');
    const record = JSON.parse(output) as LocalInstanceRecord;
    started.push(record);

    const starterExited = new Promise((resolve) => starter.once('exit', resolve));
    process.kill(-(starter.pid as number), 'SIGINT');
    expect(await starterExited).toBeNull();
    expect(starter.signalCode).toBe('SIGINT');

    const restarted = createLocalProcessPlatform({ stateDir });
    expect(restarted.isRunning(record)).toBe(true);
    expect((await fetchText(record.url)).body).toBe('v1 v1-1 ');
    expect(await restarted.instances()).toEqual([record]);
    await restarted.stop(record, { deadlineMs: 10_000 });
    expect(restarted.isRunning(record)).toBe(false);
    expect(await restarted.instances()).toEqual([]);
  });

  it('lists an instance whose orchestrator died before start() resolved, so it can be stopped', async () => {
    expect(existsSync(BUILT_PLATFORM), `${BUILT_PLATFORM} is missing: build first (npx tsc -b packages/deploy)`).toBe(true);
    const slow = `console.log('warming' + ' up'); setInterval(() => {}, 1000);`;
    const starter = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { createLocalProcessPlatform } from ${JSON.stringify(BUILT_PLATFORM)};
         const platform = createLocalProcessPlatform({ stateDir: ${JSON.stringify(stateDir)} });
         await platform.start({ version: 'v2', command: process.execPath, args: ['-e', ${JSON.stringify(slow)}] }, { id: 'v2-5' });`,
      ],
      { detached: true, stdio: 'ignore' },
    );
    children.push(starter);
    const log = join(stateDir, 'logs', 'v2-5.log');
    // Its own output, not the log's header (which quotes the script).
    await waitFor(async () => existsSync(log) && (await readFile(log, 'utf8')).includes('warming up'), 30_000, 'the instance to run');
    const starterExited = new Promise((resolve) => starter.once('exit', resolve));
    starter.kill('SIGKILL');
    await starterExited;

    const restarted = createLocalProcessPlatform({ stateDir });
    const [orphan, ...others] = await restarted.instances();
    expect(others).toEqual([]);
    expect(orphan).toMatchObject({ id: 'v2-5', release: 'v2', port: 0, logFile: log });
    started.push(orphan as InstanceRecord);
    expect(restarted.isRunning(orphan as InstanceRecord)).toBe(true);
    await restarted.stop(orphan as InstanceRecord, { deadlineMs: 5000 });
    expect(isProcessAlive((orphan as LocalInstanceRecord).pid)).toBe(false);
    expect(await restarted.instances()).toEqual([]);
  });

  it("finds the port in the startup line of Baton's JSON logger, printed on stderr among other lines", async () => {
    const platform = createLocalProcessPlatform({ stateDir });
    const logged = `
      const server = require('node:http').createServer((req, res) => res.end('logged ' + process.env.RELEASE));
      server.listen(Number(process.env.PORT), process.env.HOST, () => {
        const port = server.address().port;
        console.log('plain text on stdout');
        console.error(JSON.stringify({ time: new Date().toISOString(), level: 'info', name: 'baton', msg: 'listening on http://127.0.0.1:' + port, event: 'listening', port, url: 'http://127.0.0.1:' + port, release: process.env.RELEASE, probes: { liveness: '/livez', readiness: '/readyz' } }));
      });`;
    const instance = await track(platform.start(node('v3', logged), { id: 'v3-1' }));
    expect((await fetchText(instance.url)).body).toBe('logged v3');
    await platform.stop(instance, { deadlineMs: 10_000 });
  });

  it('finds the port of a service that cannot announce it (port: assign)', async () => {
    const platform = createLocalProcessPlatform({ stateDir, port: 'assign' });
    const quiet = `require('node:http').createServer((req, res) => res.end('quiet ' + process.env.PORT)).listen(Number(process.env.PORT), process.env.HOST);`;
    const instance = await track(platform.start(node('v1', quiet), { id: 'v1-1' }));
    expect(instance.port).toBeGreaterThan(0);
    expect((await fetchText(instance.url)).body).toBe(`quiet ${instance.port}`);
    await platform.stop(instance, { deadlineMs: 10_000 });
  });

  it('runs the real example service: listening, ready, metrics by release, graceful stop', async (context) => {
    if (!existsSync(ORDERS_EXPRESS)) {
      console.warn(`skipped: ${ORDERS_EXPRESS} is not built (npx tsc -b examples/orders-express)`);
      context.skip();
    }
    const platform = createLocalProcessPlatform({ stateDir });
    const instance = await track(
      platform.start({ version: 'v7', command: process.execPath, args: [ORDERS_EXPRESS], env: { BATON_PROPAGATION_DELAY_MS: '50' } }, { id: 'v7-1' }),
    );
    await waitFor(async () => (await fetchText(`${instance.url}/readyz`)).status === 200, 20_000, 'readiness');
    const metrics = await fetchText(`${instance.url}/metrics`);
    expect(metrics.body).toContain('release="v7"');
    expect(metrics.body).toContain('instance="v7-1"');
    const exit = await platform.stop(instance, { deadlineMs: 20_000 });
    expect(exit).toMatchObject({ code: 0, signal: null });
  });

  it('rejects bad options and bad arguments with clear errors', async () => {
    expect(() => createLocalProcessPlatform({ stateDir: '' })).toThrow(expect.objectContaining({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringContaining('stateDir') }));
    expect(() => createLocalProcessPlatform({ stateDir, listenTimeoutMs: 0 })).toThrow(expect.objectContaining({ message: expect.stringContaining('listenTimeoutMs') }));
    expect(() => createLocalProcessPlatform({ stateDir, port: 'guess' as never })).toThrow(expect.objectContaining({ message: expect.stringContaining("'announce' or 'assign'") }));
    const platform = createLocalProcessPlatform({ stateDir });
    await expect(platform.start(node('v1', SERVICE), { id: '../escape' })).rejects.toMatchObject({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringContaining('id') });
    await expect(platform.start({ version: 'v 1', command: 'node' }, { id: 'x' })).rejects.toMatchObject({ message: expect.stringContaining('version') });
    await expect(platform.start({ version: 'v1', command: 'node', env: { N: 1 as never } }, { id: 'x' })).rejects.toMatchObject({ message: expect.stringContaining('N') });
    const record: InstanceRecord = { id: 'x', release: 'v1', host: '127.0.0.1', port: 1, url: 'http://127.0.0.1:1', startedAtMs: 0 };
    expect(() => platform.isRunning(record)).toThrow(expect.objectContaining({ message: expect.stringContaining('no pid') }));
    await expect(platform.stop({ ...record, pid: 999_999 }, { deadlineMs: -1 })).rejects.toMatchObject({ message: expect.stringContaining('deadlineMs') });
  });
});

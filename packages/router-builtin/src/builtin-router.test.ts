import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { isBatonError } from '@baton/lifecycle';
import type { Router } from '@baton/deploy';
import { connectBuiltinRouter, startBuiltinRouter, stopBuiltinRouter } from './builtin-router.js';
import { adminCommand } from './internal/admin-client.js';
import { runLoad, send, startBackend, waitFor, type Backend } from './internal/builtin-fixtures.test.util.js';
import { isProcessAlive as processExists } from '@baton/deploy/kit';

// The router as users run it: a real detached child process (the built
// dist/routers/builtin-router-main.js), real node:http backends on 127.0.0.1.

const builtIndex = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;

const stateDirs: string[] = [];
const backends: Backend[] = [];
const routers: Router[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  await Promise.all(routers.splice(0).map((router) => router.close()));
  await Promise.all(stateDirs.map((stateDir) => stopBuiltinRouter({ stateDir, timeoutMs: 3000 }).catch(() => {})));
  for (const stateDir of stateDirs.splice(0)) rmSync(stateDir, { recursive: true, force: true });
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all(backends.splice(0).map((backend) => backend.close()));
});

function newStateDir(): string {
  const stateDir = mkdtempSync(join(tmpdir(), 'baton-router-'));
  stateDirs.push(stateDir);
  return stateDir;
}

async function backend(name: string): Promise<Backend> {
  const started = await startBackend(name);
  backends.push(started);
  return started;
}

async function router(stateDir = newStateDir()): Promise<{ stateDir: string; url: string; router: Router }> {
  const url = await startBuiltinRouter({ stateDir });
  const connected = await connectBuiltinRouter({ stateDir });
  routers.push(connected);
  return { stateDir, url, router: connected };
}

async function add(router: Router, b: Backend | { name: string; port: number }, release = 'v1'): Promise<void> {
  await router.add({ id: b.name, release, host: '127.0.0.1', port: b.port });
}

async function errorOf(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: Error) => error,
  );
}

/** A backend in its own process, so it can be SIGKILLed; resolves once it listens. */
async function processBackend(name: string): Promise<{ child: ChildProcess; port: number }> {
  const source = `
    const http = require('node:http');
    const server = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end(${JSON.stringify(name)})); });
    server.keepAliveTimeout = 60000;
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;
  const child = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (data: Buffer) => resolve(Number(data.toString().trim())));
    child.once('exit', () => reject(new Error(`${name} exited`)));
  });
  return { child, port };
}

describe('startBuiltinRouter / connectBuiltinRouter / stopBuiltinRouter', () => {
  it('spawns a detached router on a free port, records it, and serves 503 until a backend is ready', async () => {
    const { stateDir, url, router: r } = await router();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(r.kind).toBe('builtin');
    expect(r.url).toBe(url);
    const record = JSON.parse(readFileSync(join(stateDir, 'router.json'), 'utf8')) as { pid: number; port: number; adminSocket: string };
    expect(record.port).toBe(Number(new URL(url).port));
    expect(processExists(record.pid)).toBe(true);
    expect(statSync(record.adminSocket).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(stateDir, 'router.log'), 'utf8')).toMatch(/router listening/);

    const answer = await send(url);
    expect(answer.status).toBe(503);
    expect(answer.body).toMatch(/no backend is ready/);
    expect(answer.headers['retry-after']).toBe('1');

    await expect(startBuiltinRouter({ stateDir })).rejects.toThrow(/already runs/);
    await stopBuiltinRouter({ stateDir });
    expect(processExists(record.pid)).toBe(false);
    await stopBuiltinRouter({ stateDir }); // not running: a no-op
  });

  it('refuses bad limits and expose settings with BATON_ERR_INVALID_OPTION before spawning anything', async () => {
    const stateDir = newStateDir();
    const cases: [Parameters<typeof startBuiltinRouter>[0], RegExp][] = [
      [{ stateDir, limits: { maxConnections: 0 } }, /limits.maxConnections` must be an integer 1-1000000; got 0/],
      [{ stateDir, limits: { headersTimeoutMs: 'soon' as unknown as number } }, /limits.headersTimeoutMs` must be an integer/],
      [{ stateDir, expose: { metrics: 'yes' as unknown as boolean } }, /expose.metrics` must be true or false/],
    ];
    for (const [options, message] of cases) {
      const error = await errorOf(startBuiltinRouter(options));
      expect(isBatonError(error, 'BATON_ERR_INVALID_OPTION')).toBe(true);
      expect(error.message).toMatch(message);
    }
    expect(existsSync(join(stateDir, 'router.json'))).toBe(false);
  });

  it('keeps running when the process that started it exits', async () => {
    const stateDir = newStateDir();
    const script = join(stateDir, 'start.mjs');
    writeFileSync(script, `import { startBuiltinRouter } from ${JSON.stringify(builtIndex)};\nconsole.log(await startBuiltinRouter({ stateDir: process.argv[2] }));\n`);
    const url = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [script, stateDir], { timeout: 20_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout.trim()))),
    );
    // The starter has exited (execFile resolved on its exit); the router has not.
    const a = await backend('a');
    const r = await connectBuiltinRouter({ stateDir });
    routers.push(r);
    expect(r.url).toBe(url);
    await add(r, a);
    await r.set([{ id: 'a', state: 'ready' }]);
    expect((await send(url)).body).toBe('a');
  });

  it('connect rejects with BATON_ERR_ROUTER before any traffic moves: never started, killed, admin socket refusing', async () => {
    const empty = newStateDir();
    const never = await errorOf(connectBuiltinRouter({ stateDir: empty }));
    expect(isBatonError(never, 'BATON_ERR_ROUTER')).toBe(true);
    expect(never.message).toMatch(/no router has run/);

    const { stateDir } = await router();
    const record = JSON.parse(readFileSync(join(stateDir, 'router.json'), 'utf8')) as { pid: number; adminSocket: string };
    process.kill(record.pid, 'SIGKILL');
    await waitFor(() => !processExists(record.pid), 10_000, 'the router to die');
    const killed = await errorOf(connectBuiltinRouter({ stateDir }));
    expect(isBatonError(killed, 'BATON_ERR_ROUTER')).toBe(true);
    expect(killed.message).toMatch(/is not running \(pid \d+ is gone\)/);

    // A live router pid whose admin socket refuses (a socket file nobody listens on).
    const refusing = newStateDir();
    const stuck = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'builtin-router-main'], { stdio: 'ignore' });
    children.push(stuck);
    const notASocket = join(refusing, 'admin.sock');
    writeFileSync(notASocket, '');
    writeFileSync(
      join(refusing, 'router.json'),
      JSON.stringify({ format: 'baton-builtin-router/1', pid: stuck.pid, host: '127.0.0.1', port: 1, url: 'http://127.0.0.1:1', adminSocket: notASocket, logFile: '', startedAtMs: 0 }),
    );
    const refused = await errorOf(connectBuiltinRouter({ stateDir: refusing }));
    expect(isBatonError(refused, 'BATON_ERR_ROUTER')).toBe(true);
    expect(refused.message).toMatch(/admin socket .* cannot be used \(ECONNREFUSED\)/);
  });

  it('refuses bad admin input with a clear 4xx (raw socket) and a BatonError (client)', async () => {
    const { stateDir, router: r } = await router();
    const socketPath = join(stateDir, 'admin.sock');
    const raw = (method: string, path: string, body?: string): Promise<{ status: number; json: { error?: { code: string; message: string } } }> =>
      new Promise((resolve, reject) => {
        const req = httpRequest({ socketPath, method, path, agent: false }, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as { error?: { code: string; message: string } } }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const badJson = await raw('POST', '/v1/backends', '{"id": "a",');
    expect(badJson.status).toBe(400);
    expect(badJson.json.error).toMatchObject({ code: 'BATON_ERR_ROUTER', message: expect.stringMatching(/not valid JSON/) as unknown });
    expect((await raw('PATCH', '/v1/backends', '{"changes":[{"id":"ghost","state":"ready"}]}')).status).toBe(404);
    expect((await raw('GET', '/v1/nothing')).status).toBe(404);
    expect((await raw('PUT', '/v1/backends', '{}')).status).toBe(405);
    // Past 64 KiB: a clear 413, not a cut connection.
    const huge = await raw('POST', '/v1/backends', JSON.stringify({ id: 'a', release: 'x'.repeat(100_000), host: '127.0.0.1', port: 1 }));
    expect(huge.status).toBe(413);
    expect(huge.json.error).toMatchObject({ code: 'BATON_ERR_ROUTER', message: expect.stringMatching(/larger than 65536 bytes/) as unknown });
    expect(await r.backends()).toEqual([]);

    await add(r, { name: 'a', port: 1234 });
    const unknown = await errorOf(r.set([{ id: 'ghost', state: 'ready' }]));
    expect(isBatonError(unknown, 'BATON_ERR_ROUTER')).toBe(true);
    expect(unknown.message).toMatch(/404.*unknown backend id ghost/);
    const weight = await errorOf(r.set([{ id: 'a', weight: 300 }]));
    expect(isBatonError(weight, 'BATON_ERR_ROUTER')).toBe(true);
    expect(weight.message).toMatch(/400.*weight must be an integer 0-256, got 300/);
    const conflict = await errorOf(r.add({ id: 'a', release: 'v1', host: '127.0.0.1', port: 4321 }));
    expect(conflict.message).toMatch(/409.*already exists/);
    await r.set([{ id: 'a', state: 'ready' }]);
    expect((await errorOf(r.remove('a'))).message).toMatch(/409.*is ready/);
    await r.remove('never-added'); // a no-op
    await r.close();
    expect(isBatonError(await errorOf(r.backends()), 'BATON_ERR_ROUTER')).toBe(true);
  });

  it('persists the backends: a restarted router comes back on the same port with the same states and weights', async () => {
    const a = await backend('a');
    const b = await backend('b');
    const { stateDir, url, router: r } = await router();
    await add(r, a, 'v1');
    await add(r, b, 'v2');
    await r.set([{ id: 'a', state: 'ready', weight: 3 }, { id: 'b', state: 'drain', weight: 9 }]);
    await r.close();
    await stopBuiltinRouter({ stateDir });
    expect(JSON.parse(readFileSync(join(stateDir, 'backends.json'), 'utf8'))).toMatchObject({
      backends: [
        { id: 'a', release: 'v1', state: 'ready', weight: 3 },
        { id: 'b', release: 'v2', state: 'drain', weight: 9 },
      ],
    });
    expect(await startBuiltinRouter({ stateDir })).toBe(url);
    const again = await connectBuiltinRouter({ stateDir });
    routers.push(again);
    expect((await again.backends()).map(({ id, release, state, weight, inFlight }) => ({ id, release, state, weight, inFlight }))).toEqual([
      { id: 'a', release: 'v1', state: 'ready', weight: 3, inFlight: 0 },
      { id: 'b', release: 'v2', state: 'drain', weight: 9, inFlight: 0 },
    ]);
    expect((await send(url)).body).toBe('a');
  });
});

describe('keep-alive with clients (setKeepAlive)', () => {
  it("off, the router's own answers close too (503 without a backend, 404 of a guarded path); the setting shows in /v1/status and backends.json and survives a restart; a bad command is a 400", async () => {
    const { stateDir, url, router: r } = await router();
    const socket = join(stateDir, 'admin.sock');
    const agent = new Agent({ keepAlive: true });
    try {
      expect((await send(url, { agent })).headers.connection).toBe('keep-alive');
      await r.setKeepAlive?.(false);
      const noBackend = await send(url, { agent });
      expect([noBackend.status, noBackend.headers.connection]).toEqual([503, 'close']);
      const guarded = await send(`${url}/metrics`, { agent });
      expect([guarded.status, guarded.headers.connection]).toEqual([404, 'close']);
    } finally {
      agent.destroy();
    }
    expect(await adminCommand(socket, 'GET', '/v1/keep-alive', undefined, 5000)).toEqual({ keepAlive: false });
    expect(await adminCommand(socket, 'GET', '/v1/status', undefined, 5000)).toMatchObject({ keepAlive: false });
    expect(JSON.parse(readFileSync(join(stateDir, 'backends.json'), 'utf8'))).toMatchObject({ keepAlive: false });

    const bad = await errorOf(adminCommand(socket, 'PUT', '/v1/keep-alive', { enabled: 'no' }, 5000));
    expect(bad.message).toMatch(/\(400\).*"enabled": true \| false/);
    const badClient = await errorOf(r.setKeepAlive?.('no' as unknown as boolean) ?? Promise.resolve());
    expect(isBatonError(badClient, 'BATON_ERR_ROUTER')).toBe(true);
    expect(await adminCommand(socket, 'GET', '/v1/keep-alive', undefined, 5000)).toEqual({ keepAlive: false });

    await r.close();
    await stopBuiltinRouter({ stateDir });
    expect(await startBuiltinRouter({ stateDir })).toBe(url);
    expect(await adminCommand(socket, 'GET', '/v1/keep-alive', undefined, 5000)).toEqual({ keepAlive: false });
    expect(readFileSync(join(stateDir, 'router.log'), 'utf8')).toMatch(/"keepAlive":false/);
  });
});

describe('traffic through the router process', () => {
  it('splits 3:1 by weight and sends nothing to a backend in maint', async () => {
    const a = await backend('a');
    const b = await backend('b');
    const c = await backend('c');
    const { url, router: r } = await router();
    for (const x of [a, b, c]) await add(r, x);
    await r.set([{ id: 'a', state: 'ready', weight: 3 }, { id: 'b', state: 'ready', weight: 1 }]);
    const load = await runLoad({ url, total: 400, concurrency: 8 });
    expect(load.failed).toBe(0);
    expect(load.byBody['a']).toBeGreaterThanOrEqual(270);
    expect(load.byBody['a']).toBeLessThanOrEqual(330);
    expect(load.byBody['b']).toBeGreaterThanOrEqual(70);
    expect(load.byBody['b']).toBeLessThanOrEqual(130);
    expect(c.received).toBe(0);
    const stats = await r.backends();
    expect(stats.map((s) => [s.id, s.state, s.requestsTotal])).toEqual([
      ['a', 'ready', load.byBody['a']],
      ['b', 'ready', load.byBody['b']],
      ['c', 'maint', 0],
    ]);
  });

  it('drain: an in-flight slow request finishes while new requests go to the other backend', async () => {
    const a = await backend('a');
    const b = await backend('b');
    const { url, router: r } = await router();
    await add(r, a, 'v1');
    await add(r, b, 'v2');
    await r.set([{ id: 'a', state: 'ready' }]);
    const slow = send(`${url}/slow?hold`);
    await waitFor(async () => (await r.backends())[0]?.inFlight === 1, 10_000, 'the slow request on a');
    await r.set([{ id: 'b', state: 'ready' }, { id: 'a', state: 'drain' }]);
    for (let i = 0; i < 20; i++) expect((await send(url)).body).toBe('b');
    expect((await r.backends())[0]).toMatchObject({ id: 'a', state: 'drain', inFlight: 1 });
    await expect(r.remove('a')).rejects.toThrow(/in flight/);
    a.release();
    const finished = await slow;
    expect(finished).toMatchObject({ status: 200, body: 'a' });
    await waitFor(async () => (await r.backends())[0]?.inFlight === 0, 10_000, 'a to drain');
    await r.remove('a');
    expect((await r.backends()).map((s) => s.id)).toEqual(['b']);
    expect(a.received).toBe(1);
  });

  it('loses no request when backends are replaced under a keep-alive load (drain, wait, remove, close)', async () => {
    const a = await backend('a');
    const b = await backend('b');
    const c = await backend('c');
    const { url, router: r } = await router();
    await add(r, a, 'v1');
    await r.set([{ id: 'a', state: 'ready' }]);

    const replace = async (from: Backend, to: Backend): Promise<void> => {
      await add(r, to, 'v2');
      await r.set([{ id: to.name, state: 'ready' }, { id: from.name, state: 'drain' }]);
      await waitFor(async () => (await r.backends()).find((s) => s.id === from.name)?.inFlight === 0, 10_000, `${from.name} to drain`);
      await r.remove(from.name);
      await from.close(); // gone for good: its pooled connections from the router are closed under it
    };
    const loadDone = runLoad({ url: `${url}/work?ms=5`, total: 400, concurrency: 8, spacingMs: 25 });
    // Each replacement happens under load: once the old backend has served a share of it (a fact, not a timer).
    await waitFor(() => a.received >= 50, 30_000, 'a to serve 50 requests of the load');
    await replace(a, b);
    await waitFor(() => b.received >= 50, 30_000, 'b to serve 50 requests of the load');
    await replace(b, c);
    const load = await loadDone;
    expect(load.sent).toBe(400);
    expect(load.answered + load.failed).toBe(load.sent);
    expect(load.errors).toEqual([]);
    expect(load.failed).toBe(0);
    expect(load.statuses).toEqual({ 200: 400 });
    expect(load.byBody['a']).toBeGreaterThan(0);
    expect(load.byBody['b']).toBeGreaterThan(0);
    expect(load.byBody['c']).toBeGreaterThan(0);
  });

  it('loses no GET when a ready backend is killed while the router holds idle pooled connections to it', async () => {
    const victim = await processBackend('victim');
    const survivor = await backend('survivor');
    const { url, router: r } = await router();
    await add(r, { name: 'victim', port: victim.port });
    await add(r, survivor);
    await r.set([{ id: 'victim', state: 'ready' }, { id: 'survivor', state: 'ready' }]);
    // Several pooled keep-alive connections to each backend, then idle.
    const warm = await runLoad({ url, total: 80, concurrency: 8 });
    expect(warm.byBody['victim']).toBe(40);
    expect((await r.backends()).every((s) => s.inFlight === 0)).toBe(true);

    victim.child.kill('SIGKILL'); // still `ready` in the router: nobody told it
    const load = await runLoad({ url, total: 300, concurrency: 8 });
    expect(load.answered + load.failed).toBe(load.sent);
    expect(load.errors).toEqual([]);
    expect(load.failed).toBe(0);
    expect(load.statuses).toEqual({ 200: 300 });
    expect(load.byBody['survivor']).toBe(300);
    // Requests did go to the dead backend (and were retried): the router was not told.
    const victimStats = (await r.backends()).find((s) => s.id === 'victim');
    expect(victimStats?.requestsTotal).toBeGreaterThan(40);
    expect(victimStats?.state).toBe('ready');
  });
});

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@baton/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { connectNginxRouter, nginxRouterRunning, startNginxRouter, stopNginxRouter, type NginxRouter } from './nginx-router.js';
import { cleanUp, nginx, routerDir, spread, startBackend } from './nginx.test.fixtures.js';

const dirs: string[] = [];
const servers: Server[] = [];
afterEach(() => cleanUp(dirs, servers));

async function started(options: Partial<Parameters<typeof startNginxRouter>[0]> = {}): Promise<NginxRouter> {
  const dir = await routerDir();
  dirs.push(dir);
  return startNginxRouter({ dir, ...options });
}

async function rejection(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected a rejection');
}

describe.skipIf(!nginx)('nginx router', () => {
  it('starts detached, answers 503 at once without a backend, is found again by connect, and stops', async () => {
    const router = await started();
    expect(router.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${router.url}/`);
    expect(response.status).toBe(503);
    const again = await connectNginxRouter({ dir: router.dir });
    expect(again.url).toBe(router.url);
    expect(await again.backends()).toEqual([]);
    expect(await nginxRouterRunning(router.dir)).toBe(true);
    // The router directory is private, and so is what it holds.
    expect((await import('node:fs')).statSync(router.dir).mode & 0o777).toBe(0o700);

    await stopNginxRouter({ dir: router.dir });
    expect(await nginxRouterRunning(router.dir)).toBe(false);
    await expect(fetch(`${router.url}/`)).rejects.toThrow();
    const gone = await rejection(connectNginxRouter({ dir: router.dir }));
    expect(gone.code).toBe('BATON_ERR_ROUTER');
    expect(gone.message).toMatch(/not running/);
    // Stopping what is not running is a no-op.
    await stopNginxRouter({ dir: router.dir });
  });

  it('splits traffic 3:1 by weight, and a backend added (maint) gets nothing', async () => {
    const router = await started();
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => startBackend(name, servers)));
    for (const backend of [a, b, c]) await router.add({ id: backend!.name, release: 'v1', host: '127.0.0.1', port: backend!.port });
    await router.set([
      { id: 'a', state: 'ready', weight: 3 },
      { id: 'b', state: 'ready', weight: 1 },
    ]);
    const seen = await spread(router.url, 400);
    expect(seen['c']).toBeUndefined();
    expect((seen['a'] ?? 0) + (seen['b'] ?? 0)).toBe(400);
    // nginx's smooth weighted round robin is exact; the tolerance is for a stray retry.
    expect(seen['a']).toBeGreaterThanOrEqual(280);
    expect(seen['a']).toBeLessThanOrEqual(320);
    const status = await router.backends();
    expect(status.map((backend) => [backend.id, backend.state, backend.weight])).toEqual([
      ['a', 'ready', 3],
      ['b', 'ready', 1],
      ['c', 'maint', 1],
    ]);
    // Counted from the balancer's access log.
    expect(status.find((backend) => backend.id === 'a')?.requestsTotal).toBe(seen['a']);
    expect(status.find((backend) => backend.id === 'c')?.requestsTotal).toBe(0);
    expect(c!.hits()).toBe(0);
  });

  it('drain: a slow request in flight finishes while new requests go elsewhere; remove refuses until it is done', async () => {
    const router = await started();
    const [a, b] = await Promise.all(['a', 'b'].map((name) => startBackend(name, servers)));
    await router.add({ id: 'a', release: 'v1', host: '127.0.0.1', port: a!.port });
    await router.add({ id: 'b', release: 'v2', host: '127.0.0.1', port: b!.port });
    await router.set([{ id: 'a', state: 'ready', weight: 1 }]);
    const slow = fetch(`${router.url}/hold`).then(async (response) => ({ status: response.status, body: await response.text() }));
    await waitFor(() => a!.inFlight() === 1, 5000, 'the slow request to reach a');

    await router.set([
      { id: 'b', state: 'ready', weight: 1 },
      { id: 'a', state: 'drain', weight: 0 },
    ]);
    expect(await spread(router.url, 20)).toEqual({ b: 20 });
    const draining = (await router.backends()).find((backend) => backend.id === 'a');
    expect(draining).toMatchObject({ state: 'drain', inFlight: 1, health: 'up' });
    const refused = await rejection(router.remove('a'));
    expect(refused.code).toBe('BATON_ERR_ROUTER');
    expect(refused.message).toMatch(/in flight/);
    // Ready backends cannot be removed either.
    expect((await rejection(router.remove('b'))).message).toMatch(/is ready/);

    a!.release();
    expect(await slow).toEqual({ status: 200, body: 'a' });
    await waitFor(async () => (await router.backends()).find((backend) => backend.id === 'a')?.inFlight === 0, 5000, 'a to have nothing in flight');
    await router.remove('a');
    expect((await router.backends()).map((backend) => backend.id)).toEqual(['b']);
    // Removing what is not there is a no-op.
    await router.remove('a');
  });

  it("counts a drained backend's request held by nginx's old worker even when the instance has no metrics", async () => {
    const router = await started();
    const b = await startBackend('b', servers);
    // Answers /hold only when told; no /metrics at all (404).
    let answer: (() => void) | undefined;
    const bare = createServer((req, res) => {
      if (req.url === '/hold') answer = () => res.end('bare');
      else {
        res.statusCode = 404;
        res.end();
      }
    });
    servers.push(bare);
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    const port = (bare.address() as AddressInfo).port;
    await router.add({ id: 'bare', release: 'v1', host: '127.0.0.1', port });
    await router.add({ id: 'b', release: 'v1', host: '127.0.0.1', port: b.port });
    await router.set([{ id: 'bare', state: 'ready', weight: 1 }]);
    const held = fetch(`${router.url}/hold`).then((response) => response.text());
    await waitFor(() => answer !== undefined, 5000, 'the request to reach the bare backend');
    await router.set([
      { id: 'b', state: 'ready', weight: 1 },
      { id: 'bare', state: 'drain', weight: 0 },
    ]);
    expect((await router.backends()).find((backend) => backend.id === 'bare')?.inFlight).toBe(1);
    expect((await rejection(router.remove('bare'))).message).toMatch(/1 request in flight/);
    answer?.();
    expect(await held).toBe('bare');
    await waitFor(async () => (await router.backends()).find((backend) => backend.id === 'bare')?.inFlight === 0, 5000, 'nothing in flight');
    await router.remove('bare');
  });

  it('reports a dead backend down and routes around it', async () => {
    const router = await started();
    const [a, b] = await Promise.all(['a', 'b'].map((name) => startBackend(name, servers)));
    await router.add({ id: 'a', release: 'v1', host: '127.0.0.1', port: a!.port });
    await router.add({ id: 'b', release: 'v1', host: '127.0.0.1', port: b!.port });
    await router.set([
      { id: 'a', state: 'ready', weight: 1 },
      { id: 'b', state: 'ready', weight: 1 },
    ]);
    await b!.kill();
    expect(await spread(router.url, 30)).toEqual({ a: 30 });
    const health = Object.fromEntries((await router.backends()).map((backend) => [backend.id, backend.health]));
    expect(health).toEqual({ a: 'up', b: 'down' });
  });

  it('a second connection sees and changes the same backends; a restart on the same dir keeps port and backends', async () => {
    const router = await started();
    const [a, b] = await Promise.all(['a', 'b'].map((name) => startBackend(name, servers)));
    const second = await connectNginxRouter({ dir: router.dir });
    await router.add({ id: 'a', release: 'v1', host: '127.0.0.1', port: a!.port });
    await second.add({ id: 'b', release: 'v2', host: '127.0.0.1', port: b!.port });
    await second.set([{ id: 'a', state: 'ready', weight: 2 }]);
    await router.set([{ id: 'b', state: 'drain' }]);
    const seenByFirst = await router.backends();
    const seenBySecond = await second.backends();
    const shape = (list: typeof seenByFirst): unknown[] => list.map(({ id, release, state, weight }) => ({ id, release, state, weight }));
    expect(shape(seenBySecond)).toEqual(shape(seenByFirst));
    expect(shape(seenByFirst)).toEqual([
      { id: 'a', release: 'v1', state: 'ready', weight: 2 },
      { id: 'b', release: 'v2', state: 'drain', weight: 1 },
    ]);
    await second.close();
    await expect(second.backends()).rejects.toThrow(/closed/);

    const url = router.url;
    await stopNginxRouter({ dir: router.dir });
    const restarted = await startNginxRouter({ dir: router.dir });
    expect(restarted.url).toBe(url);
    expect(shape(await restarted.backends())).toEqual(shape(seenByFirst));
    expect(await spread(restarted.url, 10)).toEqual({ a: 10 });
  });

  it('refuses bad input with a clear error and changes nothing', async () => {
    const router = await started();
    const a = await startBackend('a', servers);
    await router.add({ id: 'a', release: 'v1', host: '127.0.0.1', port: a.port });
    await router.set([{ id: 'a', state: 'ready', weight: 5 }]);
    const config = await readFile(`${router.dir}/balancer.conf`, 'utf8');
    const before = await router.backends();

    const unknown = await rejection(router.set([{ id: 'a', weight: 1 }, { id: 'ghost', state: 'ready' }]));
    expect(unknown.code).toBe('BATON_ERR_ROUTER');
    expect(unknown.message).toMatch(/unknown backend ghost .*nothing was changed/);
    expect((await rejection(router.set([{ id: 'a', weight: 300 }]))).message).toMatch(/weight must be an integer 0-256/);
    expect((await rejection(router.set([{ id: 'a', state: 'up' as never }]))).message).toMatch(/state must be "ready", "drain" or "maint"/);
    expect((await rejection(router.add({ id: 'x', release: 'v1', host: '127.0.0.1', port: 0 }))).message).toMatch(/port must be an integer 1-65535/);
    expect((await rejection(router.add({ id: 'a', release: 'v1', host: '127.0.0.1', port: a.port + 1 }))).message).toMatch(/already in the router/);
    expect((await rejection(router.add({ id: 'y', release: 'v1', host: 'no-such-host.invalid', port: 80 }))).message).toMatch(/cannot resolve/);

    expect(await readFile(`${router.dir}/balancer.conf`, 'utf8')).toBe(config);
    expect((await router.backends()).map(({ id, state, weight }) => ({ id, state, weight }))).toEqual(before.map(({ id, state, weight }) => ({ id, state, weight })));
    expect(await spread(router.url, 5)).toEqual({ a: 5 });

    const options = await rejection(startNginxRouter({ dir: '/tmp/has space', maxConnections: 10 }));
    expect(options.code).toBe('BATON_ERR_INVALID_OPTION');
    expect((await rejection(startNginxRouter({ dir: router.dir, headersTimeoutMs: -1 }))).message).toMatch(/headersTimeoutMs/);
    expect((await rejection(startNginxRouter({ dir: router.dir, expose: { metricsPaths: ['/metrics;rm'] } }))).message).toMatch(/expose.metricsPaths/);
    // A second start on a running router is refused, and the running one is untouched.
    expect((await rejection(startNginxRouter({ dir: router.dir }))).message).toMatch(/already runs/);
    expect(await spread(router.url, 5)).toEqual({ a: 5 });
  });

  it('half a router (the balancer killed) is reported by connect, and a start brings both back on the same port with the backends', async () => {
    const router = await started();
    const a = await startBackend('a', servers);
    await router.add({ id: 'a', release: 'v1', host: '127.0.0.1', port: a.port });
    await router.set([{ id: 'a', state: 'ready', weight: 1 }]);
    const master = Number((await readFile(`${router.dir}/balancer.pid`, 'utf8')).trim());
    // pid 0 would be this process's own group: an empty children file lists none.
    const workers = (await readFile(`/proc/${master}/task/${master}/children`, 'utf8')).trim().split(/\s+/).map(Number).filter((pid) => pid > 0);
    for (const pid of [master, ...workers]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch (error) {
        // A worker of the configuration before the last reload may have finished and exited meanwhile.
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    }
    await waitFor(() => [master, ...workers].every((pid) => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z')), 5000, 'the balancer to die');

    const half = await rejection(connectNginxRouter({ dir: router.dir }));
    expect(half.code).toBe('BATON_ERR_ROUTER');
    expect(half.message).toMatch(/balancer .* is not running/);
    expect(await nginxRouterRunning(router.dir)).toBe(true);
    expect((await rejection(router.backends())).message).toMatch(/not running/);

    const again = await startNginxRouter({ dir: router.dir });
    expect(again.url).toBe(router.url);
    expect(await spread(again.url, 5)).toEqual({ a: 5 });
  });

  it('stop and isRunning take any directory, even one nginx could not be started in', async () => {
    const long = `/tmp/${'x'.repeat(120)}`;
    expect(await nginxRouterRunning(long)).toBe(false);
    await stopNginxRouter({ dir: long });
    expect((await rejection(startNginxRouter({ dir: long }))).message).toMatch(/longer than 107 bytes/);
  });

  it('a configuration nginx -t rejects is never swapped in: BATON_ERR_NGINX_CONFIG, and traffic stays as it was', async () => {
    const router = await started();
    const [a, b] = await Promise.all(['a', 'b'].map((name) => startBackend(name, servers)));
    await router.add({ id: 'a', release: 'v1', host: '127.0.0.1', port: a!.port });
    await router.add({ id: 'b', release: 'v1', host: '127.0.0.1', port: b!.port });
    await router.set([{ id: 'a', state: 'ready', weight: 1 }]);
    // A hand edit gone wrong: router.json's limits make an invalid configuration.
    const recordFile = `${router.dir}/router.json`;
    const record = JSON.parse(await readFile(recordFile, 'utf8'));
    record.limits.maxConnections = 'lots';
    await writeFile(recordFile, JSON.stringify(record));
    const broken = await connectNginxRouter({ dir: router.dir });
    const config = await readFile(`${router.dir}/balancer.conf`, 'utf8');

    const rejected = await rejection(broken.set([{ id: 'b', state: 'ready', weight: 1 }]));
    expect(rejected.code).toBe('BATON_ERR_NGINX_CONFIG');
    expect(rejected.message).toMatch(/nginx -t rejects/);
    expect(await readFile(`${router.dir}/balancer.conf`, 'utf8')).toBe(config);
    expect((await broken.backends()).map((backend) => backend.state)).toEqual(['ready', 'maint']);
    expect(await spread(router.url, 5)).toEqual({ a: 5 });
  });

  it('keeps serving after the process that started it exits', async () => {
    const dir = await routerDir();
    dirs.push(dir);
    const a = await startBackend('a', servers);
    const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const script = `
      const { startNginxRouter } = await import(${JSON.stringify(entry)});
      const router = await startNginxRouter({ dir: ${JSON.stringify(dir)} });
      await router.add({ id: 'a', release: 'v1', host: '127.0.0.1', port: ${a.port} });
      await router.set([{ id: 'a', state: 'ready', weight: 1 }]);
      console.log(router.url);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, output).toBe(0);
    const url = output.trim();
    expect(await spread(url, 5)).toEqual({ a: 5 });
    const router = await connectNginxRouter({ dir });
    expect((await router.backends()).map((backend) => backend.state)).toEqual(['ready']);
  });
});

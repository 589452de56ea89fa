import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, createServer, request, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { closeServers, delay, waitFor } from '@baton/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { BackendStatus } from '@baton/deploy';
import { catchesReload, findHaproxy, stopHaproxyProcess } from './haproxy-process.js';
import { connectHaproxyRouter, reloadHaproxyRouter, startHaproxyRouter, stopHaproxyRouter, type HaproxyRouter, type StartHaproxyRouterOptions } from './haproxy-router.js';

const haproxy = findHaproxy();
if (!haproxy) console.log('deploy: haproxy not found, skipping the HAProxy router suite (apt-get install -y haproxy; .ci/run installs it)');

// ------------------------------------------------------------------ test backends and load

interface TestBackend {
  name: string;
  port: number;
  /** Answers every `/hold` request waiting at this backend. */
  release(): void;
  /** Requests it got, probes aside. */
  hits(): number;
  inFlight(): number;
  /** Stops it as a drained instance stops: no new connections, idle ones closed. */
  close(): Promise<void>;
}

/** A real node:http backend on 127.0.0.1 port 0 answering its name; `/slow?ms=N` answers after N ms; `/readyz` is HAProxy's check. */
async function startBackend(name: string, servers: Server[]): Promise<TestBackend> {
  let hits = 0;
  let inFlight = 0;
  const held: (() => void)[] = [];
  const server = createServer((req, res) => {
    if (req.url === '/readyz') {
      res.end('ready');
      return;
    }
    hits += 1;
    inFlight += 1;
    res.on('close', () => (inFlight -= 1));
    const slow = /^\/slow\?ms=(\d+)/.exec(req.url ?? '');
    if (req.url === '/hold') held.push(() => res.end(name));
    else if (slow) setTimeout(() => res.end(name), Number(slow[1]));
    else res.end(name);
  });
  // Longer than any test: HAProxy's pooled connections are never closed under it by the backend.
  server.keepAliveTimeout = 60_000;
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const close = async (): Promise<void> => {
    servers.splice(servers.indexOf(server), 1);
    await closeServers([server]);
  };
  const release = (): void => {
    for (const answer of held.splice(0)) answer();
  };
  return { name, port: typeof address === 'object' && address ? address.port : 0, release, hits: () => hits, inFlight: () => inFlight, close };
}

interface Answer {
  status: number;
  body: string;
}

function get(url: string, agent: Agent | false = false, timeoutMs = 10_000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** `count` requests over `connections` keep-alive connections; resolves with how many each body got. */
async function spread(url: string, count: number, connections = 4): Promise<Record<string, number>> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const bodies: Record<string, number> = {};
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (next < count) {
          next += 1;
          const answer = await get(url, agent);
          const key = answer.status === 200 ? answer.body : `status ${answer.status}`;
          bodies[key] = (bodies[key] ?? 0) + 1;
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return bodies;
}

interface LoadReport {
  sent: number;
  ok: number;
  failed: number;
  failures: string[];
  bodies: Record<string, number>;
}

/**
 * Bounded keep-alive load, counted per request by the test itself: every
 * request sent is either answered 2xx or a failure — a non-2xx answer, a
 * reset, a timeout, or a connection closed without an answer (Node reports
 * it as "socket hang up"; load generators silently retry those).
 */
function startLoad(url: string, options: { connections: number; maxRequests: number; pauseMs: number; maxDurationMs: number }) {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const report: LoadReport = { sent: 0, ok: 0, failed: 0, failures: [], bodies: {} };
  const deadline = Date.now() + options.maxDurationMs;
  const loop = async (): Promise<void> => {
    while (report.sent < options.maxRequests && Date.now() < deadline) {
      report.sent += 1;
      try {
        const answer = await get(url, agent);
        if (answer.status >= 200 && answer.status < 300) {
          report.ok += 1;
          report.bodies[answer.body] = (report.bodies[answer.body] ?? 0) + 1;
        } else {
          report.failed += 1;
          report.failures.push(`status ${answer.status}`);
        }
      } catch (error) {
        report.failed += 1;
        report.failures.push(`${(error as NodeJS.ErrnoException).code ?? ''} ${(error as Error).message}`);
      }
      await delay(options.pauseMs);
    }
  };
  const done = Promise.all(Array.from({ length: options.connections }, loop)).then(() => {
    agent.destroy();
    return report;
  });
  return { done, answered: () => report.ok + report.failed };
}

/** One GET on a keep-alive connection of its own: the status and the answer's `Connection` header. */
async function connectionOf(url: string): Promise<[number, string | undefined]> {
  const agent = new Agent({ keepAlive: true });
  try {
    return await new Promise((resolve, reject) => {
      const req = request(url, { agent, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve([res.statusCode ?? 0, res.headers.connection]));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
  } finally {
    agent.destroy();
  }
}

function byId(backends: readonly BackendStatus[]): Record<string, BackendStatus> {
  return Object.fromEntries(backends.map((backend) => [backend.id, backend]));
}

/** True while `pid` runs and is not a zombie (a HAProxy reparented to a pid 1 that does not reap). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

// ------------------------------------------------------------------ the suite

describe.skipIf(!haproxy)('HAProxy router (real HAProxy, real backends)', () => {
  const servers: Server[] = [];
  const stateDirs: string[] = [];
  const children: ChildProcess[] = [];
  const routers: HaproxyRouter[] = [];

  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const router of routers.splice(0)) await router.close();
    for (const stateDir of stateDirs.splice(0)) {
      await stopHaproxyRouter({ stateDir, graceMs: 0 });
      await rm(stateDir, { recursive: true, force: true });
    }
    await closeServers(servers);
  });

  async function newStateDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'baton-hx-'));
    stateDirs.push(dir);
    return dir;
  }

  async function start(options: Partial<StartHaproxyRouterOptions> = {}): Promise<HaproxyRouter> {
    const router = await startHaproxyRouter({ stateDir: options.stateDir ?? (await newStateDir()), slots: 4, healthCheck: { intervalMs: 200 }, ...options });
    routers.push(router);
    return router;
  }

  async function addReady(router: HaproxyRouter, backend: TestBackend, weight = 1): Promise<void> {
    await router.add({ id: backend.name, release: 'v1', host: '127.0.0.1', port: backend.port });
    await router.set([{ id: backend.name, state: 'ready', weight }]);
  }

  it('starts HAProxy detached, with its config, pid and admin socket (mode 600, level admin) in stateDir, on a port it bound itself', async () => {
    const stateDir = await newStateDir();
    const router = await start({ stateDir, slots: 16 });
    expect(router.kind).toBe('haproxy');
    expect(router.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const config = await readFile(join(stateDir, 'haproxy.cfg'), 'utf8');
    expect(config).toMatch(/^\s+noreuseport$/m);
    expect(config).toContain(`stats socket ${join(stateDir, 'admin.sock')} mode 600 level admin`);
    expect(config).toContain('server-template s 1-16 127.0.0.1:1 check disabled');
    expect(config).toContain(`bind 127.0.0.1:${new URL(router.url).port}`);
    expect(statSync(join(stateDir, 'admin.sock')).mode & 0o777).toBe(0o600);
    const pid = Number((await readFile(join(stateDir, 'haproxy.pid'), 'utf8')).trim());
    expect(pidAlive(pid)).toBe(true);
    expect(await router.api.cliLevel()).toBe('admin');
    // No backend yet: HAProxy itself answers, 503.
    expect((await get(router.url)).status).toBe(503);
    expect(await router.backends()).toEqual([]);
    await expect(startHaproxyRouter({ stateDir })).rejects.toMatchObject({ code: 'BATON_ERR_ROUTER', message: expect.stringMatching(/already runs/) });
  });

  it('guards the backends from hostile clients: slow headers and slow bodies get 408 without reaching a server, smuggling refused or re-framed and closed, spoofed forwarding headers replaced, /metrics and probe details 404', async () => {
    const seen: { url: string; headers: Record<string, unknown> }[] = [];
    const echo = createServer((req, res) => {
      if (req.url === '/readyz') {
        res.end('ready');
        return;
      }
      seen.push({ url: req.url ?? '', headers: req.headers });
      req.resume();
      req.on('end', () => res.end(JSON.stringify(req.headers)));
    });
    servers.push(echo);
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const echoPort = (echo.address() as { port: number }).port;
    const router = await start({ timeouts: { httpRequestMs: 500 } });
    await router.add({ id: 'E', release: 'v1', host: '127.0.0.1', port: echoPort });
    await router.set([{ id: 'E', state: 'ready' }]);
    await waitFor(async () => (await get(`${router.url}/ping`)).status === 200, 20_000, 'HAProxy to route to E');
    const port = Number(new URL(router.url).port);
    const exchange = (bytes: string): Promise<string> =>
      new Promise((resolve) => {
        const socket = connect(port, '127.0.0.1');
        let text = '';
        socket.on('data', (data: Buffer) => (text += data.toString('latin1')));
        socket.on('error', () => {});
        socket.on('close', () => resolve(text));
        socket.write(bytes);
      });

    expect(await exchange('GET /slow-headers HTTP/1.1\r\nHost: x\r\nX-A: ')).toMatch(/^HTTP\/1\.1 408 /);
    expect(await exchange('POST /slow-body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf')).toMatch(/^HTTP\/1\.1 408 /);
    // TE with CL: HAProxy drops the CL, forwards the chunked body re-framed, and closes the connection after the answer
    // (RFC 9112 §6.1), so the request hidden behind it never reaches a server. Two different CLs: 400.
    const teCl = await exchange('POST /smuggle HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(teCl.match(/HTTP\/1\.1 \d+/g)).toEqual(['HTTP/1.1 200']);
    expect(teCl).toMatch(/\r\nconnection: close\r\n/i);
    expect(await exchange('POST /smuggle-2 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await exchange('GET /http09\r\n\r\n')).toMatch(/^HTTP\/1\.[01] 400 /);
    for (const path of ['/metrics', '/METRICS/', '//metrics', '/%6detrics', '/healthz?verbose', '/readyz?verbose=1']) {
      expect((await get(`${router.url}${path}`)).status, path).toBe(404);
    }
    // Raw (node:http's client would resolve dot segments first): dot segments, backslashes, `;params`, a query,
    // absolute-form targets, HTTP/1.0 — every spelling a backend resolving paths as `new URL()` does routes to /metrics.
    for (const target of ['/./metrics', '/x/../metrics', '/%2e/metrics', '/x/%2E%2E/metrics', '/x;a/../metrics', '/x\\..\\metrics', '/metrics/.', '/metrics;x', '/metrics?x', '/%2fmetrics', 'http://x/metrics', 'http://x/./healthz?verbose']) {
      for (const version of ['1.1', '1.0']) {
        expect(await exchange(`GET ${target} HTTP/${version}\r\nHost: x\r\nConnection: close\r\n\r\n`), `${target} HTTP/${version}`).toMatch(/^HTTP\/1\.[01] 404 /);
      }
    }
    expect((await get(`${router.url}/healthz`)).status).toBe(200);
    expect((await get(`${router.url}/metricsx`)).status).toBe(200);
    const spoofed = await new Promise<Record<string, string>>((resolve, reject) => {
      const req = request(
        `${router.url}/spoof`,
        { agent: false, headers: { forwarded: 'for=203.0.113.7;proto=https', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example', 'x-real-ip': '203.0.113.7', 'baton-shadow': '1', 'baton-compare': '1' } },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve(JSON.parse(body) as Record<string, string>));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(spoofed['forwarded']).toBe('for=127.0.0.1;proto=http');
    expect(spoofed['x-forwarded-proto']).toBe('http');
    expect(spoofed['x-forwarded-host']).toBe(new URL(router.url).host);
    expect(spoofed['x-real-ip']).toBeUndefined();
    // A forged shadow mark would send a real write to the service's dry run.
    expect(spoofed['baton-shadow']).toBeUndefined();
    expect(spoofed['baton-compare']).toBeUndefined();
    expect(spoofed['x-forwarded-for']).toBe('127.0.0.1');
    // Nothing refused reached the server.
    expect(seen.map((entry) => entry.url).filter((url) => !['/ping', '/healthz', '/metricsx', '/spoof', '/smuggle'].includes(url))).toEqual([]);
    expect(seen.find((entry) => entry.url === '/smuggle')?.headers['content-length']).toBeUndefined();
  });

  it('a WebSocket quiet for longer than timeout client stays open (timeout tunnel): an echo before and after the silence', async () => {
    const ws = createServer((req, res) => res.end('ready'));
    ws.on('upgrade', (_req, socket) => {
      socket.on('error', () => {});
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      socket.on('data', (data: Buffer) => socket.write(`echo:${data.toString()}`));
      socket.on('end', () => socket.end());
    });
    servers.push(ws);
    await new Promise<void>((resolve) => ws.listen(0, '127.0.0.1', resolve));
    const router = await start({ timeouts: { clientMs: 1000, serverMs: 1000 } });
    await router.add({ id: 'W', release: 'v1', host: '127.0.0.1', port: (ws.address() as { port: number }).port });
    await router.set([{ id: 'W', state: 'ready' }]);
    await waitFor(async () => (await get(`${router.url}/ping`)).status === 200, 20_000, 'HAProxy to route to W');
    const socket = connect(Number(new URL(router.url).port), '127.0.0.1');
    let text = '';
    let closed = false;
    socket.on('data', (data: Buffer) => (text += data.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => (closed = true));
    try {
      socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
      await waitFor(() => text.includes('101 Switching Protocols'), 10_000, 'the upgrade');
      socket.write('one');
      await waitFor(() => text.includes('echo:one'), 10_000, 'the first echo');
      // Quiet for twice timeout client (the time must pass: that is what is tested).
      await delay(2000);
      expect(closed).toBe(false);
      socket.write('two');
      await waitFor(() => text.includes('echo:two'), 10_000, 'the echo after the silence');
    } finally {
      socket.destroy();
    }
  });

  it('splits traffic by weight (3:1) and counts each backend’s requests', async () => {
    const router = await start();
    const a = await startBackend('A', servers);
    const b = await startBackend('B', servers);
    await addReady(router, a, 3);
    await addReady(router, b, 1);
    const bodies = await spread(router.url, 400);
    expect((bodies.A ?? 0) + (bodies.B ?? 0)).toBe(400);
    const share = (bodies.A ?? 0) / 400;
    expect(share).toBeGreaterThan(0.65);
    expect(share).toBeLessThan(0.85);
    const backends = byId(await router.backends());
    expect(backends.A).toMatchObject({ state: 'ready', weight: 3, inFlight: 0, requestsTotal: a.hits(), host: '127.0.0.1', port: a.port, release: 'v1' });
    expect(backends.B).toMatchObject({ state: 'ready', weight: 1, inFlight: 0, requestsTotal: b.hits() });
  });

  it('a server that dies with requests in flight: its GETs are sent again to another server and answered, its POST fails rather than run twice', async () => {
    const router = await start();
    const survivor = await startBackend('survivor', servers);
    // The victim holds every request it gets, then dies under them: its connections closed, nothing answered.
    const got: string[] = [];
    const victimServer = createServer((req, res) => {
      if (req.url === '/readyz') res.end('ready');
      else got.push(`${req.method} ${req.url}`);
    });
    servers.push(victimServer);
    await new Promise<void>((resolve) => victimServer.listen(0, '127.0.0.1', resolve));
    const victimPort = (victimServer.address() as { port: number }).port;
    await router.add({ id: 'victim', release: 'v1', host: '127.0.0.1', port: victimPort });
    await router.add({ id: 'survivor', release: 'v1', host: '127.0.0.1', port: survivor.port });
    await router.set([{ id: 'victim', state: 'ready' }]);

    const send = (method: string, path: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = request(`${router.url}${path}`, { method, agent: false }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end(method === 'POST' ? '{"order":1}' : undefined);
      });
    const reads = [send('GET', '/orders/1'), send('GET', '/orders/2'), send('HEAD', '/orders/3')];
    const write = send('POST', '/orders');
    await waitFor(() => got.length === 4, 10_000, 'the victim holding all four requests');
    await router.set([{ id: 'survivor', state: 'ready' }]);

    // Dies: no new connection accepted, those it holds closed unanswered; HAProxy still has it UP.
    victimServer.close();
    victimServer.closeAllConnections();
    const answered = await Promise.all(reads);
    expect(answered.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(answered.slice(0, 2).map((answer) => answer.body)).toEqual(['survivor', 'survivor']);
    const posted = await write;
    expect(posted.status).toBe(502);
    // The survivor got the reads again, never the POST (which the victim may have acted on).
    expect(survivor.hits()).toBe(3);
  });

  it('sends nothing to a backend in maint, whether just added or taken out', async () => {
    const router = await start();
    const a = await startBackend('A', servers);
    const b = await startBackend('B', servers);
    const c = await startBackend('C', servers);
    await addReady(router, a);
    await router.add({ id: 'B', release: 'v2', host: '127.0.0.1', port: b.port });
    await addReady(router, c);
    await spread(router.url, 20);
    await router.set([{ id: 'C', state: 'maint' }]);
    const cHits = c.hits();
    const bodies = await spread(router.url, 100);
    expect(bodies).toEqual({ A: 100 });
    expect(b.hits()).toBe(0);
    expect(c.hits()).toBe(cHits);
    const backends = byId(await router.backends());
    expect(backends.B).toMatchObject({ state: 'maint', weight: 1, requestsTotal: 0, release: 'v2' });
    expect(backends.C?.state).toBe('maint');
  });

  it('drain: no new requests, the slow one in flight finishes; remove waits for it', async () => {
    const router = await start();
    const a = await startBackend('A', servers);
    const b = await startBackend('B', servers);
    await addReady(router, a);
    await router.add({ id: 'B', release: 'v1', host: '127.0.0.1', port: b.port });
    // Held until the test releases it: the drain is checked while it is surely in flight.
    const slow = get(`${router.url}/hold`, false, 60_000);
    await waitFor(() => a.inFlight() === 1, 20_000, 'the slow request at A');
    expect(byId(await router.backends()).A?.inFlight).toBe(1);

    await router.set([
      { id: 'B', state: 'ready', weight: 1 },
      { id: 'A', state: 'drain' },
    ]);
    await expect(router.remove('A')).rejects.toMatchObject({ code: 'BATON_ERR_ROUTER', message: expect.stringMatching(/1 request in flight/) });
    expect(await spread(router.url, 50)).toEqual({ B: 50 });
    expect(byId(await router.backends()).A).toMatchObject({ state: 'drain', inFlight: 1 });

    a.release();
    expect(await slow).toEqual({ status: 200, body: 'A' });
    await waitFor(async () => byId(await router.backends()).A?.inFlight === 0, 20_000, 'A drained at HAProxy');
    await router.remove('A');
    expect((await router.backends()).map((backend) => backend.id)).toEqual(['B']);
  });

  it('removing a drained backend under keep-alive load loses no request', async () => {
    const router = await start();
    const a = await startBackend('A', servers);
    const b = await startBackend('B', servers);
    await addReady(router, a);
    await addReady(router, b);
    // About 400 requests over 2-3 s on 8 keep-alive connections.
    const load = startLoad(router.url, { connections: 8, maxRequests: 400, pauseMs: 40, maxDurationMs: 15_000 });
    await waitFor(() => load.answered() >= 80, 10_000, '80 answers');
    await router.set([{ id: 'A', state: 'drain', weight: 0 }]);
    await waitFor(async () => byId(await router.backends()).A?.inFlight === 0, 20_000, 'A drained at HAProxy');
    await router.remove('A');
    const aHitsAtRemoval = a.hits();
    // The instance goes away too, as a deploy would stop it.
    await a.close();
    const report = await load.done;

    expect(report.failures).toEqual([]);
    expect(report.failed).toBe(0);
    expect(report.sent).toBe(400);
    expect(report.ok + report.failed).toBe(report.sent);
    expect(aHitsAtRemoval).toBeGreaterThan(0);
    expect(a.hits()).toBe(aHitsAtRemoval);
    expect((report.bodies.A ?? 0) + (report.bodies.B ?? 0)).toBe(400);
    expect((await router.backends()).map((backend) => backend.id)).toEqual(['B']);
  });

  it('reuses a freed slot for the next backend, which starts at zero requests; with every slot taken, add says so', async () => {
    const router = await start({ slots: 2 });
    const a = await startBackend('A', servers);
    const b = await startBackend('B', servers);
    const c = await startBackend('C', servers);
    await addReady(router, a);
    await router.add({ id: 'B', release: 'v1', host: '127.0.0.1', port: b.port });
    await expect(router.add({ id: 'C', release: 'v2', host: '127.0.0.1', port: c.port })).rejects.toMatchObject({
      code: 'BATON_ERR_ROUTER',
      message: expect.stringMatching(/no free slot — all 2 slots are taken \(A \(s1\), B \(s2\)\)/),
    });
    expect(await spread(router.url, 30)).toEqual({ A: 30 });
    await router.set([{ id: 'A', state: 'drain' }]);
    await router.remove('A');

    await router.add({ id: 'C', release: 'v2', host: '127.0.0.1', port: c.port });
    expect(byId(await router.backends()).C).toMatchObject({ state: 'maint', weight: 1, requestsTotal: 0, port: c.port });
    await router.set([{ id: 'C', state: 'ready', weight: 1 }]);
    // The slot's pooled connections to A were closed when it went to maintenance: everything reaches C.
    expect(await spread(router.url, 20)).toEqual({ C: 20 });
    expect(byId(await router.backends()).C?.requestsTotal).toBe(20);
    expect(a.hits()).toBe(30);
  });

  it('a reload keeps backends, states and weights, and loses no request under load', async () => {
    const stateDir = await newStateDir();
    const router = await start({ stateDir });
    const a = await startBackend('A', servers);
    const b = await startBackend('B', servers);
    const c = await startBackend('C', servers);
    const d = await startBackend('D', servers);
    await addReady(router, a, 3);
    await addReady(router, b, 1);
    await addReady(router, c, 5);
    await router.set([{ id: 'C', state: 'drain' }]);
    await router.add({ id: 'D', release: 'v2', host: '127.0.0.1', port: d.port });
    await spread(router.url, 40);
    const before = await router.backends();
    const workerBefore = (await router.api.showInfo()).Pid;

    const load = startLoad(router.url, { connections: 4, maxRequests: 300, pauseMs: 20, maxDurationMs: 15_000 });
    await waitFor(() => load.answered() >= 50, 10_000, '50 answers');
    await router.reload();
    await waitFor(() => load.answered() >= 150, 10_000, '150 answers');
    await reloadHaproxyRouter({ stateDir });
    const report = await load.done;
    expect(report.failures).toEqual([]);
    expect(report.failed).toBe(0);
    expect(report.ok + report.failed).toBe(report.sent);
    expect(report.sent).toBe(300);
    expect((await router.api.showInfo()).Pid).not.toBe(workerBefore);

    const after = await router.backends();
    const shape = (list: BackendStatus[]) => list.map(({ id, release, host, port, state, weight }) => ({ id, release, host, port, state, weight }));
    expect(shape(after)).toEqual(shape(before));
    expect(shape(after).map(({ id, state, weight }) => `${id} ${state} ${weight}`)).toEqual(['A ready 3', 'B ready 1', 'C drain 5', 'D maint 1']);
    const hitsOf = (id: string): number => ({ A: a, B: b, C: c, D: d })[id as 'A' | 'B' | 'C' | 'D'].hits();
    for (const backend of after) {
      // Counted across both reloads, never more than the backend got: only
      // what the old worker served between the snapshot and the switch is missed.
      expect(backend.requestsTotal).toBeGreaterThanOrEqual((byId(before)[backend.id] as BackendStatus).requestsTotal);
      expect(backend.requestsTotal).toBeLessThanOrEqual(hitsOf(backend.id));
    }
    // The split still follows the weights, C (drain) and D (maint) get nothing, and the new worker counts exactly.
    const hitsBefore = Object.fromEntries(after.map((backend) => [backend.id, hitsOf(backend.id)]));
    const bodies = await spread(router.url, 200);
    expect(Object.keys(bodies).sort()).toEqual(['A', 'B']);
    expect((bodies.A ?? 0) / 200).toBeGreaterThan(0.65);
    expect(c.hits()).toBe(hitsBefore.C);
    expect(d.hits()).toBe(0);
    // The public-facing guards were regenerated from router.json: /metrics and probe details still 404, the rest as before.
    const hitsBeforeGuards = a.hits() + b.hits();
    expect((await get(`${router.url}/metrics`)).status).toBe(404);
    expect((await get(`${router.url}/healthz?verbose`)).status).toBe(404);
    expect(a.hits() + b.hits()).toBe(hitsBeforeGuards);
    const counted = byId(await router.backends());
    for (const backend of after) expect((counted[backend.id] as BackendStatus).requestsTotal - backend.requestsTotal).toBe(hitsOf(backend.id) - (hitsBefore[backend.id] ?? 0));
    // The addresses are in the config the new worker was started with.
    const config = await readFile(join(stateDir, 'haproxy.cfg'), 'utf8');
    expect(config).toContain(`server s1 127.0.0.1:${a.port} weight 3 check`);
    expect(config).toContain(`server s4 127.0.0.1:${d.port} weight 1 check disabled`);
  });

  it("keep-alive off: HAProxy's own answers close too; kept in backends.json and the switch's file, through reloads; a HAProxy running without the switch (an older Baton's config) gets it by a reload", async () => {
    const stateDir = await newStateDir();
    const router = await start({ stateDir });
    const switchFile = join(stateDir, 'keepalive-off.acl');
    const config = await readFile(join(stateDir, 'haproxy.cfg'), 'utf8');
    expect(config).toContain(`http-after-response set-header Connection close if { str(off) -m str -f ${switchFile} }`);
    expect(await readFile(switchFile, 'utf8')).toBe('');
    // No backend: HAProxy answers 503 itself.
    expect(await connectionOf(router.url)).toEqual([503, undefined]);

    await router.setKeepAlive(false);
    expect(JSON.parse(await readFile(join(stateDir, 'backends.json'), 'utf8'))).toMatchObject({ keepAlive: false });
    expect(await readFile(switchFile, 'utf8')).toBe('off\n');
    expect(await connectionOf(router.url)).toEqual([503, 'close']);
    await router.reload();
    expect(await connectionOf(router.url)).toEqual([503, 'close']);
    await router.setKeepAlive(true);
    expect(await connectionOf(router.url)).toEqual([503, undefined]);
    await expect(router.setKeepAlive('no' as unknown as boolean)).rejects.toMatchObject({ code: 'BATON_ERR_ROUTER', message: expect.stringMatching(/true or false/) });

    // An older Baton's HAProxy: its config has no switch (written here, loaded by the master's own reload).
    await writeFile(join(stateDir, 'haproxy.cfg'), config.replace(/^.*Keep-alive with clients off.*\n.*http-after-response.*\n/m, ''));
    const worker = (await router.api.showInfo()).Pid;
    const master = Number((await readFile(join(stateDir, 'haproxy.pid'), 'utf8')).trim());
    await waitFor(() => catchesReload(master), 15_000, 'the master to catch SIGUSR2 (it ignores it for a moment after a reload)');
    process.kill(master, 'SIGUSR2');
    await waitFor(async () => (await router.api.showInfo().catch(() => ({ Pid: worker }))).Pid !== worker, 15_000, 'the worker of the config without the switch');
    expect(await router.api.command('show acl')).not.toContain(switchFile);
    await router.setKeepAlive(false);
    expect(await router.api.command('show acl')).toContain(switchFile);
    expect(await connectionOf(router.url)).toEqual([503, 'close']);
  });

  it('a second connection (a restarted orchestrator) sees the same backends and moves traffic', async () => {
    const stateDir = await newStateDir();
    const first = await start({ stateDir });
    const a = await startBackend('A', servers);
    const b = await startBackend('B', servers);
    await addReady(first, a, 2);
    await first.add({ id: 'B', release: 'v2', host: '127.0.0.1', port: b.port });
    await spread(first.url, 10);
    await first.close();
    await expect(first.set([{ id: 'A', weight: 1 }])).rejects.toMatchObject({ code: 'BATON_ERR_ROUTER', message: expect.stringMatching(/closed/) });

    const second = await connectHaproxyRouter({ stateDir });
    routers.push(second);
    expect(second.url).toBe(first.url);
    expect(byId(await second.backends())).toMatchObject({ A: { state: 'ready', weight: 2, requestsTotal: 10 }, B: { state: 'maint', release: 'v2' } });
    await second.set([
      { id: 'B', state: 'ready', weight: 1 },
      { id: 'A', state: 'drain', weight: 0 },
    ]);
    expect(await spread(second.url, 20)).toEqual({ B: 20 });
    // Adding the same backend again is a no-op.
    await second.add({ id: 'B', release: 'v2', host: '127.0.0.1', port: b.port });
    expect((await second.backends()).map((backend) => backend.id)).toEqual(['A', 'B']);
  });

  it('connecting rejects before any traffic moves: nothing ever ran, socket missing, socket refusing, socket not admin', async () => {
    const empty = await newStateDir();
    await expect(connectHaproxyRouter({ stateDir: empty })).rejects.toMatchObject({ code: 'BATON_ERR_ROUTER', message: expect.stringMatching(/no HAProxy router has run/) });

    const stateDir = await newStateDir();
    const router = await start({ stateDir });
    const a = await startBackend('A', servers);
    await addReady(router, a);
    await stopHaproxyRouter({ stateDir, graceMs: 0 });
    await expect(connectHaproxyRouter({ stateDir })).rejects.toMatchObject({ code: 'BATON_ERR_ROUTER', message: expect.stringMatching(/admin socket .* does not exist: HAProxy is not running/) });

    // A socket file nobody listens on (what a killed HAProxy leaves).
    const socket = join(stateDir, 'admin.sock');
    const holder = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    await new Promise((resolve) => holder.once('exit', resolve));
    expect(existsSync(socket)).toBe(true);
    await expect(connectHaproxyRouter({ stateDir })).rejects.toMatchObject({ code: 'BATON_ERR_ROUTER', message: expect.stringMatching(/cannot be used .*nothing listens/) });
    await rm(socket, { force: true });

    // A HAProxy whose socket is only level operator.
    const config = join(stateDir, 'operator.cfg');
    await writeFile(config, `global\n  noreuseport\n  stats socket ${socket} mode 600 level operator\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nbackend be\n  server-template s 1-4 127.0.0.1:1 check disabled\n`);
    const operator = spawn(haproxy as string, ['-db', '-f', config], { stdio: 'ignore' });
    children.push(operator);
    // The socket file appears before HAProxy answers on it: wait for the answer, not a timer.
    await waitFor(
      () => connectHaproxyRouter({ stateDir }).then(
        () => false,
        (error: Error) => /level "operator", not "admin"/.test(error.message),
      ),
      20_000,
      'the operator socket to answer',
    );
    await expect(reloadHaproxyRouter({ stateDir })).rejects.toMatchObject({ code: 'BATON_ERR_ROUTER', message: expect.stringMatching(/not "admin"/) });
  });

  it('keeps serving when the orchestrator that started it is killed (its whole process group)', async () => {
    const built = fileURLToPath(new URL('../dist/haproxy-router.js', import.meta.url));
    if (!existsSync(built)) throw new Error(`${built} is missing: build @baton/router-haproxy first (npx tsc -b packages/router-haproxy)`);
    const stateDir = await newStateDir();
    const a = await startBackend('A', servers);
    const script = `
      const { startHaproxyRouter } = await import(${JSON.stringify(pathToFileURL(built).href)});
      const router = await startHaproxyRouter({ stateDir: process.env.STATE_DIR, slots: 2 });
      await router.add({ id: 'A', release: 'v1', host: '127.0.0.1', port: Number(process.env.BACKEND_PORT) });
      await router.set([{ id: 'A', state: 'ready', weight: 1 }]);
      process.stdout.write(JSON.stringify({ url: router.url }) + '\\n');
      setInterval(() => {}, 1000); // mid-deploy, until killed
    `;
    const orchestrator = spawn(process.execPath, ['--input-type=module', '-e', script], {
      detached: true,
      env: { ...process.env, STATE_DIR: stateDir, BACKEND_PORT: String(a.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(orchestrator);
    let stderr = '';
    orchestrator.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise((resolve) => orchestrator.once('exit', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      orchestrator.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('\n')) resolve((JSON.parse(out.slice(0, out.indexOf('\n'))) as { url: string }).url);
      });
      void exited.then(() => reject(new Error(`the orchestrator exited before starting the router: ${stderr}`)));
    });
    expect(await get(url)).toEqual({ status: 200, body: 'A' });

    process.kill(-(orchestrator.pid as number), 'SIGKILL');
    await exited;
    expect(await spread(url, 20)).toEqual({ A: 20 });
    const router = await connectHaproxyRouter({ stateDir });
    routers.push(router);
    expect(byId(await router.backends()).A).toMatchObject({ state: 'ready', requestsTotal: a.hits() });
  });

  it('stops; a start on the same stateDir brings back its URL and backends', async () => {
    const stateDir = await newStateDir();
    const router = await start({ stateDir });
    const a = await startBackend('A', servers);
    const b = await startBackend('B', servers);
    await addReady(router, a, 2);
    await router.add({ id: 'B', release: 'v1', host: '127.0.0.1', port: b.port });
    await router.set([{ id: 'B', state: 'drain', weight: 7 }]);
    const pid = Number((await readFile(join(stateDir, 'haproxy.pid'), 'utf8')).trim());
    await router.close();
    const watcher = await connectHaproxyRouter({ stateDir });
    routers.push(watcher);

    await stopHaproxyRouter({ stateDir });
    expect(pidAlive(pid)).toBe(false);
    // A connection to a router that is gone says so; it never answers "no backends".
    await expect(watcher.backends()).rejects.toMatchObject({ code: 'BATON_ERR_ROUTER', message: expect.stringMatching(/does not exist \(is HAProxy running\?\)/) });
    await expect(get(router.url, false, 2000)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(existsSync(join(stateDir, 'admin.sock'))).toBe(false);
    await stopHaproxyRouter({ stateDir });

    const again = await start({ stateDir });
    expect(again.url).toBe(router.url);
    expect(byId(await again.backends())).toMatchObject({ A: { state: 'ready', weight: 2 }, B: { state: 'drain', weight: 7 } });
    expect(await spread(again.url, 10)).toEqual({ A: 10 });
  });

  it('a stop that has to SIGKILL a wedged master resolves only once its worker is gone too: a start right after gets the same port back', async () => {
    const stateDir = await newStateDir();
    const router = await start({ stateDir });
    const master = Number((await readFile(join(stateDir, 'haproxy.pid'), 'utf8')).trim());
    const workers = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
    expect(workers.length).toBeGreaterThan(0);
    // A master that does not answer SIGTERM (stopped here) is SIGKILLed 3 s later; its worker, stopped too, is let
    // go only after the master is gone (a worker notices its master's death a moment after it, measured 8-15 ms on
    // an idle machine): meanwhile it still holds the listening port.
    for (const pid of [...workers, master]) process.kill(pid, 'SIGSTOP');
    // Stopped for real before the stop begins (a SIGTERM pending beside the SIGSTOP would be taken first).
    const state = (pid: number): string => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    };
    await waitFor(() => [...workers, master].every((pid) => state(pid) === 'T'), 10_000, 'HAProxy stopped');
    // The worker takes 300 ms to notice (a busy one finishing its event loop; the delay is the worker's, not a wait of the test's).
    let letGo: NodeJS.Timeout | undefined;
    const watcher = setInterval(() => {
      if (pidAlive(master)) return;
      clearInterval(watcher);
      letGo = setTimeout(() => {
        for (const pid of workers) process.kill(pid, 'SIGCONT');
      }, 300);
    }, 5);
    try {
      await stopHaproxyProcess(master, 0);
      expect(pidAlive(master)).toBe(false);
      expect(workers.filter(pidAlive)).toEqual([]);
    } finally {
      clearInterval(watcher);
      clearTimeout(letGo);
      for (const pid of workers) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    const again = await start({ stateDir });
    expect(again.url).toBe(router.url);
  });

  it('on a port already taken: an explicit port is a clear error; the previous port of a restart is replaced by a free one', async () => {
    const stateDir = await newStateDir();
    const router = await start({ stateDir });
    const a = await startBackend('A', servers);
    await addReady(router, a);
    const port = Number(new URL(router.url).port);
    await router.close();
    await stopHaproxyRouter({ stateDir, graceMs: 0 });

    // Someone else takes the port meanwhile (the machine is shared).
    const squatter = createServer((_req, res) => res.end('squatter'));
    servers.push(squatter);
    // EADDRINUSE here means another socket of this busy machine (a parallel suite's outgoing connection) took it first: the port is taken all the same.
    const squatted = await new Promise<boolean>((resolve, reject) => {
      squatter.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(false) : reject(error)));
      squatter.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(true));
    });
    await expect(startHaproxyRouter({ stateDir, port })).rejects.toMatchObject({
      code: 'BATON_ERR_ROUTER',
      message: expect.stringMatching(/HAProxy exited at start[\s\S]*cannot bind socket \(Address already in use\)/),
    });
    const again = await start({ stateDir });
    expect(again.url).not.toBe(router.url);
    expect(await spread(again.url, 10)).toEqual({ A: 10 });
    if (squatted) expect((await get(`http://127.0.0.1:${port}/`)).body).toBe('squatter');
  });

  it('refuses bad input with clear errors and changes nothing', async () => {
    const router = await start();
    const a = await startBackend('A', servers);
    await addReady(router, a, 5);
    const rejects = (promise: Promise<unknown>, message: RegExp) => expect(promise).rejects.toMatchObject({ code: 'BATON_ERR_ROUTER', message: expect.stringMatching(message) });

    await rejects(router.set([{ id: 'A', weight: 9 }, { id: 'nope', state: 'ready' }]), /unknown backend nope \(the router has A\); nothing was changed/);
    await rejects(router.set([{ id: 'A', weight: 300 }]), /weight must be an integer 0-256, got 300/);
    await rejects(router.set([{ id: 'A', weight: -1 }]), /weight must be an integer 0-256/);
    await rejects(router.set([{ id: 'A', weight: 1.5 }]), /weight must be an integer 0-256/);
    await rejects(router.set([{ id: 'A', state: 'up' as 'ready' }]), /state must be "ready", "drain" or "maint", got "up"/);
    await rejects(router.add({ id: 'B', release: 'v1', host: '127.0.0.1', port: 70_000 }), /port must be an integer 1-65535/);
    await rejects(router.add({ id: '', release: 'v1', host: '127.0.0.1', port: 80 }), /id must be a non-empty string/);
    await rejects(router.add({ id: 'A', release: 'v1', host: '127.0.0.1', port: a.port + 1 }), /already in the router at 127\.0\.0\.1:\d+ \(slot s1\); remove it before/);
    await rejects(router.add({ id: 'B', release: 'v1', host: 'no-such-host.invalid', port: 80 }), /cannot resolve the backend host/);
    await rejects(router.remove('A'), /A is ready \(it gets traffic\); set it to drain or maint first/);
    await router.remove('never-added');
    expect(await router.backends()).toMatchObject([{ id: 'A', state: 'ready', weight: 5 }]);

    const stateDir = await newStateDir();
    await expect(startHaproxyRouter({ stateDir, slots: 0 })).rejects.toMatchObject({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringMatching(/`slots` must be an integer 1-1000; got 0/) });
    await expect(startHaproxyRouter({ stateDir, host: 'localhost' })).rejects.toMatchObject({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringMatching(/`host` must be an IP address/) });
    await expect(startHaproxyRouter({ stateDir, readinessPath: '/ready z' })).rejects.toMatchObject({ code: 'BATON_ERR_INVALID_OPTION' });
    await expect(startHaproxyRouter({ stateDir: '' })).rejects.toMatchObject({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringMatching(/stateDir/) });
    await expect(startHaproxyRouter({ stateDir, port: 65_536 })).rejects.toMatchObject({ code: 'BATON_ERR_INVALID_OPTION' });
    await expect(startHaproxyRouter({ stateDir, maxConnections: 0 })).rejects.toMatchObject({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringMatching(/`maxConnections` must be an integer 1-1000000; got 0/) });
    await expect(startHaproxyRouter({ stateDir, expose: { metricsPaths: ['/metrics lol'] } })).rejects.toMatchObject({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringMatching(/`expose.metricsPaths` must be a non-empty array of paths/) });
    await expect(startHaproxyRouter({ stateDir, expose: { probeDetails: 1 as unknown as boolean } })).rejects.toMatchObject({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringMatching(/`expose.probeDetails` must be true or false/) });
  });

  it('starts where the open-files limit is low (1024, hard): the connection limit is the frontend\'s, not a global maxconn HAProxy cannot get file descriptors for', async () => {
    const stateDir = await newStateDir();
    const limited = join(stateDir, 'haproxy-1024');
    await writeFile(limited, `#!/bin/sh\nulimit -Sn 1024 && ulimit -Hn 1024 && exec ${haproxy} "$@"\n`);
    await chmod(limited, 0o755);
    const router = await start({ stateDir, binary: limited });
    const pid = Number((await readFile(join(stateDir, 'haproxy.pid'), 'utf8')).trim());
    expect(readFileSync(`/proc/${pid}/limits`, 'utf8')).toMatch(/Max open files\s+1024\s+1024/);
    const a = await startBackend('A', servers);
    await addReady(router, a);
    expect(await spread(router.url, 10)).toEqual({ A: 10 });
  });

  it('past maxConnections HAProxy stops accepting: the next request waits, unanswered, until a connection closes', async () => {
    const router = await start({ maxConnections: 3 });
    const a = await startBackend('A', servers);
    await addReady(router, a);
    const port = Number(new URL(router.url).port);
    const open = (): { socket: ReturnType<typeof connect>; text: () => string } => {
      const socket = connect(port, '127.0.0.1');
      let text = '';
      socket.on('data', (data: Buffer) => (text += data.toString('latin1')));
      socket.on('error', () => {});
      return { socket, text: () => text };
    };
    const idle = [open(), open(), open()];
    try {
      // The frontend's own count (the admin socket's connection is not the frontend's).
      const frontendSessions = async (): Promise<number> => Number((await router.api.showStat()).find((row) => row['pxname'] === 'fe' && row['svname'] === 'FRONTEND')?.['scur'] ?? -1);
      await waitFor(async () => (await frontendSessions()) === 3, 10_000, 'HAProxy holding the 3 idle connections');
      const waiting = open();
      waiting.socket.write('GET /over HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      // Time must pass to show nothing answers it while the limit is reached.
      await delay(500);
      expect(waiting.text()).toBe('');
      idle[0]?.socket.destroy();
      await waitFor(() => /^HTTP\/1\.1 200 /.test(waiting.text()), 10_000, 'the waiting request to be answered once a connection closed');
      waiting.socket.destroy();
    } finally {
      for (const client of idle) client.socket.destroy();
    }
  });

  it('says clearly when haproxy is missing or too old', async () => {
    expect(findHaproxy('/nonexistent', [])).toBeUndefined();
    const stateDir = await newStateDir();
    await expect(startHaproxyRouter({ stateDir, binary: join(stateDir, 'haproxy') })).rejects.toMatchObject({
      code: 'BATON_ERR_ROUTER',
      message: expect.stringMatching(/cannot run .*haproxy \(ENOENT\); install HAProxy 2\.6 or later/),
    });
    const old = join(stateDir, 'old-haproxy');
    await writeFile(old, '#!/bin/sh\necho "HAProxy version 2.4.22-0ubuntu0.22.04.3 2023/08/14 - https://haproxy.org/"\n');
    await chmod(old, 0o755);
    await expect(startHaproxyRouter({ stateDir, binary: old })).rejects.toMatchObject({ code: 'BATON_ERR_ROUTER', message: expect.stringMatching(/is HAProxy 2\.4; Baton needs 2\.6 or later/) });
  });
});

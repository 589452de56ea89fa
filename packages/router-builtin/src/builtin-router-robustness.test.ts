import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Router } from '@baton/deploy';
import { connectBuiltinRouter, startBuiltinRouter, stopBuiltinRouter } from './builtin-router.js';
import { delay, nameHandler, runLoad, send, startBackend, waitFor, type Backend, type LoadResult } from './internal/builtin-fixtures.test.util.js';

// The built-in router as users run it (a real detached process), real
// node:http backends, and hostile clients speaking raw TCP through node:net,
// all while a well-behaved keep-alive load runs beside them: every request
// of that load is counted and none may be lost.

const HEADERS_TIMEOUT_MS = 1500;
const BODY_TIMEOUT_MS = 1500;

let stateDir: string;
let url: string;
let port: number;
let router: Router;
const backends: Backend[] = [];
/** Every request target a backend received, so a test can say what never reached one. */
const seen: string[] = [];
const clients = new Set<Socket>();
let releaseLateUpgrades: () => void = () => {};
/** Open server-sent-event streams of the backends, for the test to write to. */
const sseStreams: ServerResponse[] = [];
const lateUpgrades: Socket[] = [];

beforeAll(async () => {
  for (const name of ['a', 'b']) {
    const backend = await startBackend(name, (req, res, self) => {
      seen.push(req.url ?? '');
      if (req.url === '/big') {
        // 4 MiB in 64 KiB pieces, with backpressure: a client can leave mid-way.
        let left = 64;
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 64 * 65536 });
        const more = (): void => {
          while (left > 0) {
            left--;
            if (!res.write(Buffer.alloc(65536, 120))) {
              res.once('drain', more);
              return;
            }
          }
          res.end();
        };
        more();
        return;
      }
      if (req.url === '/sse') {
        // Server-sent events: one now, the next when the test says (after longer than every client limit of the router).
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
        res.write('data: first\n\n');
        sseStreams.push(res);
        return;
      }
      if (req.url?.startsWith('/fixed')) {
        // A Content-Length answer: an HTTP/1.0 client can keep its connection (a chunked one cannot be relayed to it without closing).
        req.resume();
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(self.name) });
        res.end(self.name);
        return;
      }
      nameHandler(req, res, self);
    });
    backend.server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
      seen.push(req.url ?? '');
      socket.on('error', () => {});
      if (req.url === '/ws-late') {
        // The 101 waits for the test (the client is gone by then); the
        // backend keeps its side open: only the router can end this.
        lateUpgrades.push(socket);
        return;
      }
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      socket.on('data', (data: Buffer) => socket.write(`echo:${data.toString()}`));
      socket.on('end', () => socket.end());
    });
    backends.push(backend);
  }
  releaseLateUpgrades = () => {
    for (const socket of lateUpgrades.splice(0)) socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
  };
  stateDir = mkdtempSync(join(tmpdir(), 'baton-robust-'));
  url = await startBuiltinRouter({ stateDir, limits: { headersTimeoutMs: HEADERS_TIMEOUT_MS, bodyTimeoutMs: BODY_TIMEOUT_MS } });
  port = Number(new URL(url).port);
  router = await connectBuiltinRouter({ stateDir });
  for (const backend of backends) await router.add({ id: backend.name, release: 'v1', host: '127.0.0.1', port: backend.port });
  await router.set(backends.map((backend) => ({ id: backend.name, state: 'ready' as const })));
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  await router?.close();
  if (stateDir) {
    await stopBuiltinRouter({ stateDir, timeoutMs: 5000 }).catch(() => {});
    rmSync(stateDir, { recursive: true, force: true });
  }
  await Promise.all(backends.map((backend) => backend.close()));
});

interface Raw {
  socket: Socket;
  /** Everything received so far, latin1. */
  text(): string;
  /** Resolves with everything received once the connection closed. */
  closed: Promise<string>;
}

function raw(): Raw {
  const socket = connect(port, '127.0.0.1');
  clients.add(socket);
  let text = '';
  socket.on('data', (data: Buffer) => (text += data.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<string>((resolve) =>
    socket.once('close', () => {
      clients.delete(socket);
      resolve(text);
    }),
  );
  return { socket, text: () => text, closed };
}

/** Sends `bytes` on a fresh connection and resolves with what came back once the router closed it. */
async function exchange(bytes: string): Promise<string> {
  const client = raw();
  client.socket.write(bytes);
  return client.closed;
}

function statusLines(text: string): string[] {
  return text.match(/HTTP\/1\.[01] \d{3}[^\r]*/g) ?? [];
}

async function settled(): Promise<void> {
  await waitFor(async () => (await router.backends()).every((backend) => backend.inFlight === 0), 20_000, 'every backend in-flight count to return to 0');
}

describe('the built-in router process under hostile clients', () => {
  it('keeps serving a keep-alive load with 0 lost while hostile clients do their worst; in-flight counts return to 0', async () => {
    // The load runs until every hostile client is done (at most 20,000 requests).
    let hostileDone = false;
    let load: LoadResult | undefined;
    const loadDone = runLoad({ url: `${url}/load`, total: 20_000, concurrency: 8, spacingMs: 2, stopWhen: () => hostileDone }).then((result) => (load = result));

    const findings: Promise<void>[] = [];
    const check = (what: string, work: () => Promise<void>): void => {
      findings.push(work().catch((error: Error) => Promise.reject(new Error(`${what}: ${error.message}`))));
    };

    // Malformed request lines: 400, connection closed, nothing forwarded.
    for (const [name, bytes] of [
      ['unknown method', 'GETT /malformed-1 HTTP/1.1\r\nHost: x\r\n\r\n'],
      ['not HTTP at all', 'hello /malformed-2 world\r\n\r\n'],
      ['no version', 'GET /malformed-3\r\nHost: x\r\n\r\n'],
      ['NUL in the target', 'GET /malformed-4\x00 HTTP/1.1\r\nHost: x\r\n\r\n'],
      ['bare LF line ends', 'GET /malformed-5 HTTP/1.1\nHost: x\n\n'],
      ['obsolete line folding', 'GET /malformed-6 HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n'],
      ['HTTP/1.1 without Host', 'GET /malformed-7 HTTP/1.1\r\n\r\n'],
    ] as const) {
      check(name, async () => expect(statusLines(await exchange(bytes))).toEqual(['HTTP/1.1 400 Bad Request']));
    }

    // A head past 16 KiB: 431.
    check('oversized headers', async () => {
      const text = await exchange(`GET /oversized HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(20_000)}\r\n\r\n`);
      expect(statusLines(text)).toEqual(['HTTP/1.1 431 Request Header Fields Too Large']);
    });

    // Request smuggling: never forwarded ambiguously; 400 and closed. Each carries a second request that must never reach a backend.
    const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
    for (const [name, head, body] of [
      ['TE and CL', 'Content-Length: 6\r\nTransfer-Encoding: chunked', '0\r\n\r\n'],
      ['CL and TE', 'Transfer-Encoding: chunked\r\nContent-Length: 6', '0\r\n\r\n'],
      ['two different CLs', 'Content-Length: 0\r\nContent-Length: 40', ''],
      ['TE chunked, identity', 'Transfer-Encoding: chunked, identity', '0\r\n\r\n'],
      ['TE chunked then TE identity', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity', '0\r\n\r\n'],
      ['TE xchunked', 'Transfer-Encoding: xchunked', '0\r\n\r\n'],
      ['TE with a space before the colon', 'Transfer-Encoding : chunked', '0\r\n\r\n'],
      ['TE with a vertical tab', 'Transfer-Encoding:\x0bchunked', '0\r\n\r\n'],
      ['CL with a sign', 'Content-Length: +6', '0\r\n\r\n'],
    ] as const) {
      check(`smuggling: ${name}`, async () => {
        const text = await exchange(`POST /smuggle HTTP/1.1\r\nHost: x\r\n${head}\r\n\r\n${body}${smuggled}`);
        expect(statusLines(text)).toEqual(['HTTP/1.1 400 Bad Request']);
      });
    }

    // Slowloris: 60 clients trickle header bytes and never finish; each gets 408 and is closed.
    for (let i = 0; i < 60; i++) {
      check(`slowloris ${i}`, async () => {
        const client = raw();
        client.socket.write(`GET /slowloris-${i} HTTP/1.1\r\nHost: x\r\n`);
        const trickle = setInterval(() => client.socket.writable && client.socket.write('X-A: b\r\n'), 200);
        try {
          const text = await client.closed;
          expect(statusLines(text)).toEqual(['HTTP/1.1 408 Request Timeout']);
        } finally {
          clearInterval(trickle);
        }
      });
    }

    // A body that stops half-way: 408 once the body timeout passes.
    check('slow body', async () => {
      const text = await exchange('POST /slow-body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf');
      expect(statusLines(text)).toEqual(['HTTP/1.1 408 Request Timeout']);
    });

    // Abrupt resets: mid-request (headers and part of a body), mid-response (a big download).
    for (let i = 0; i < 10; i++) {
      check(`reset mid-request ${i}`, async () => {
        const client = raw();
        client.socket.write(`PUT /reset-request-${i} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n${'z'.repeat(70_000)}`);
        await new Promise((resolve) => setImmediate(resolve));
        client.socket.resetAndDestroy();
        await client.closed;
      });
      check(`reset mid-response ${i}`, async () => {
        const client = raw();
        client.socket.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
        await waitFor(() => client.text().length > 100_000, 20_000, 'part of the download');
        client.socket.resetAndDestroy();
        await client.closed;
      });
    }

    // HTTP/1.0: without keep-alive the router closes after the answer; with it, the connection carries a second request.
    check('HTTP/1.0', async () => {
      const text = await exchange('GET /http10 HTTP/1.0\r\n\r\n');
      expect(statusLines(text)).toEqual(['HTTP/1.1 200 OK']);
      expect(text).toMatch(/\r\n\r\n[ab]$/);
    });
    check('HTTP/1.0 keep-alive', async () => {
      const client = raw();
      client.socket.write('GET /fixed-http10-ka-1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
      await waitFor(() => /\r\n\r\n[ab]$/.test(client.text()), 20_000, 'the first answer');
      expect(client.text()).toMatch(/connection: keep-alive/i);
      client.socket.write('GET /fixed-http10-ka-2 HTTP/1.0\r\n\r\n');
      const text = await client.closed;
      expect(statusLines(text)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
    });

    // Pipelining: three requests in one write, three answers in order.
    check('pipelining', async () => {
      const client = raw();
      client.socket.write('GET /pipe-1 HTTP/1.1\r\nHost: x\r\n\r\nGET /pipe-2?ms=30 HTTP/1.1\r\nHost: x\r\n\r\nGET /pipe-3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      const text = await client.closed;
      expect(statusLines(text)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
    });

    // Upgrades: a working tunnel, and clients that hang up before the backend's 101.
    check('upgrade', async () => {
      const client = raw();
      client.socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
      await waitFor(() => client.text().includes('\r\n\r\n'), 20_000, 'the 101');
      expect(client.text()).toMatch(/^HTTP\/1\.1 101 /);
      client.socket.write('ping');
      await waitFor(() => client.text().endsWith('echo:ping'), 20_000, 'the echo');
      client.socket.end();
      await client.closed;
    });
    for (let i = 0; i < 5; i++) {
      check(`upgrade hang-up before 101 ${i}`, async () => {
        const client = raw();
        client.socket.write('GET /ws-late HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
        await waitFor(() => seen.filter((target) => target === '/ws-late').length > i, 20_000, 'the upgrade to reach a backend');
        client.socket.destroy();
        await client.closed;
      });
    }

    try {
      await Promise.all(findings);
      // The late 101s arrive after their clients left.
      releaseLateUpgrades();
      expect(load, 'the load was still running while the hostile clients were').toBeUndefined();
    } finally {
      hostileDone = true;
      await loadDone;
    }

    const sent = load?.sent ?? 0;
    // Every worker of the load was at work while the hostile clients were (how much it got through depends on the machine).
    expect(sent).toBeGreaterThanOrEqual(8);
    expect(load?.errors).toEqual([]);
    expect(load?.failed).toBe(0);
    expect(load?.answered).toBe(sent);
    expect(load?.statuses).toEqual({ 200: sent });
    expect(seen.filter((target) => target === '/load')).toHaveLength(sent);
    // Nothing refused was ever forwarded, and no smuggled request got through.
    for (const refused of ['/smuggle', '/smuggled', '/oversized', '/slow-body']) expect(seen, refused).not.toContain(refused);
    expect(seen.some((target) => /^\/(malformed|slowloris)/.test(target))).toBe(false);
    await settled();
    // The router is still whole: a plain request, and the backends can leave.
    expect((await send(`${url}/after`)).status).toBe(200);
    await router.set(backends.map((backend) => ({ id: backend.name, state: 'drain' as const })));
    for (const backend of backends) await router.remove(backend.name);
    await router.add({ id: 'a', release: 'v1', host: '127.0.0.1', port: backends[0]?.port ?? 0 });
    await router.set([{ id: 'a', state: 'ready' }]);
  });

  it('answers 503 with Retry-After past its connection limit (a router started with maxConnections 20), and serves again once clients leave', async () => {
    const limitedDir = mkdtempSync(join(tmpdir(), 'baton-limit-'));
    try {
      const limitedUrl = await startBuiltinRouter({ stateDir: limitedDir, limits: { maxConnections: 20 } });
      const limited = await connectBuiltinRouter({ stateDir: limitedDir });
      const target = backends[0] as Backend;
      await limited.add({ id: 'a', release: 'v1', host: '127.0.0.1', port: target.port });
      await limited.set([{ id: 'a', state: 'ready' }]);
      const limitedPort = Number(new URL(limitedUrl).port);
      const idle: Socket[] = [];
      for (let i = 0; i < 20; i++) {
        const socket = connect(limitedPort, '127.0.0.1');
        socket.on('error', () => {});
        clients.add(socket);
        idle.push(socket);
      }
      // The 21st and later: a clean 503 each, not a reset.
      await waitFor(async () => (await send(limitedUrl).catch(() => undefined))?.status === 503, 20_000, 'the limit to be reached');
      const over = await send(limitedUrl);
      expect(over.status).toBe(503);
      expect(over.headers['retry-after']).toBe('1');
      expect(over.body).toMatch(/connection limit/);
      for (const socket of idle) socket.destroy();
      await waitFor(async () => (await send(limitedUrl).catch(() => undefined))?.status === 200, 20_000, 'the router to serve again');
      await limited.close();
    } finally {
      await stopBuiltinRouter({ stateDir: limitedDir, timeoutMs: 5000 }).catch(() => {});
      rmSync(limitedDir, { recursive: true, force: true });
    }
  });

  it('long-lived exchanges outlast every client limit: a long poll, a server-sent-event stream and an idle WebSocket, each quiet for longer than the headers and body timeouts', async () => {
    const quietMs = HEADERS_TIMEOUT_MS + BODY_TIMEOUT_MS + 500;
    // A long poll: the backend answers when the test says, the client sends nothing meanwhile.
    const held = backends.reduce((sum, backend) => sum + backend.held, 0);
    const polling = send(`${url}/poll?hold`);
    await waitFor(() => backends.reduce((sum, backend) => sum + backend.held, 0) === held + 1, 10_000, 'the long poll held at a backend');
    // An SSE stream: the first event arrives, then nothing for a while.
    const sse = raw();
    sse.socket.write('GET /sse HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    await waitFor(() => sse.text().includes('data: first'), 10_000, 'the first event');
    // A WebSocket-style tunnel: one echo, then silence.
    const ws = raw();
    ws.socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    await waitFor(() => ws.text().includes('101 Switching Protocols'), 10_000, 'the upgrade');
    ws.socket.write('one');
    await waitFor(() => ws.text().includes('echo:one'), 10_000, 'the first echo');
    // Quiet for longer than the router's headers and body timeouts (the time must pass: that is what is tested).
    await delay(quietMs);
    for (const backend of backends) backend.release();
    const poll = await polling;
    expect(poll.status).toBe(200);
    for (const stream of sseStreams.splice(0)) stream.end('data: second\n\n');
    await waitFor(() => sse.text().includes('data: second'), 10_000, 'the second event');
    expect(sse.text()).toMatch(/^HTTP\/1\.1 200 /);
    expect(sse.text()).toMatch(/content-type: text\/event-stream/i);
    ws.socket.write('two');
    await waitFor(() => ws.text().includes('echo:two'), 10_000, 'the echo after the silence');
    ws.socket.end();
    sse.socket.end();
    await settled();
  });

  it('takes its body limits from its options: a router process started with a minimum body rate answers a trickled upload 408', async () => {
    const rateDir = mkdtempSync(join(tmpdir(), 'baton-rate-'));
    try {
      const rateUrl = await startBuiltinRouter({ stateDir: rateDir, limits: { bufferBytes: 1024, minBodyBytesPerSecond: 1000, bodyRateWindowMs: 500, bodyTimeoutMs: 60_000 } });
      const rated = await connectBuiltinRouter({ stateDir: rateDir });
      const target = backends[0] as Backend;
      await rated.add({ id: 'a', release: 'v1', host: '127.0.0.1', port: target.port });
      await rated.set([{ id: 'a', state: 'ready' }]);
      const socket = connect(Number(new URL(rateUrl).port), '127.0.0.1');
      clients.add(socket);
      let text = '';
      socket.on('data', (data: Buffer) => (text += data.toString('latin1')));
      socket.on('error', () => {});
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.write(`PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n${'u'.repeat(2000)}`);
      const trickle = setInterval(() => socket.write('u'), 100);
      try {
        await closed;
      } finally {
        clearInterval(trickle);
      }
      expect(statusLines(text)).toEqual(['HTTP/1.1 408 Request Timeout']);
      expect(text).toMatch(/below the minimum of 1000 bytes\/s/);
      await waitFor(async () => (await rated.backends()).every((backend) => backend.inFlight === 0), 10_000, 'nothing in flight');
      await rated.close();
    } finally {
      await stopBuiltinRouter({ stateDir: rateDir, timeoutMs: 5000 }).catch(() => {});
      rmSync(rateDir, { recursive: true, force: true });
    }
  });

  it('hides /metrics and probe details from public clients by default', async () => {
    expect((await send(`${url}/metrics`)).status).toBe(404);
    expect((await send(`${url}/healthz?verbose`)).status).toBe(404);
    expect((await send(`${url}/healthz`)).status).toBe(200);
    // An upgrade to a hidden path is refused the same way.
    const text = await exchange('GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    expect(statusLines(text)).toEqual(['HTTP/1.1 404 Not Found']);
  });
});


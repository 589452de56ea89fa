import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Application } from 'express';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@baton/testing';
import { serve, type Lifecycle, type ShutdownReport } from '@baton/lifecycle';
import { baton } from './index.js';
import { fetchTls, makeTestCertificate, type TestCertificate } from '@baton/testing/tls';

let tls: TestCertificate;
beforeAll(() => {
  tls = makeTestCertificate();
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

function createApp(drainTimeoutMs: number) {
  const app: Application = express();
  const b = baton(app, { lifecycle: { shutdown: { propagationDelayMs: 0, drainTimeoutMs } } });
  app.get('/slow', (req, res) => {
    const ms = Number(req.query.ms ?? 200);
    const timer = setTimeout(() => res.json({ slept: ms }), ms);
    res.on('close', () => clearTimeout(timer));
  });
  return { app, b };
}

type Way = 'b.listen({ https })' | 'https.createServer(app) via serve({ server })';

async function start(way: Way, drainTimeoutMs = 15_000): Promise<{ url: string; lifecycle: Lifecycle; shutdown: () => Promise<ShutdownReport> }> {
  const { app, b } = createApp(drainTimeoutMs);
  if (way === 'b.listen({ https })') {
    const listening = await b.listen({ port: 0, host: '127.0.0.1', https: { key: tls.key, cert: tls.cert } });
    cleanups.push(async () => {
      void b.lifecycle.force('test cleanup');
      await listening.close();
    });
    return { url: listening.url, lifecycle: b.lifecycle, shutdown: () => listening.close('test') };
  }
  // A server the user builds: probes mounted as middleware, the core runner drains it.
  const outer: Application = express();
  outer.use(b.probes);
  outer.use(app);
  const served = await serve({ server: createHttpsServer({ key: tls.key, cert: tls.cert }, outer), lifecycle: b.lifecycle, port: 0, host: '127.0.0.1', signals: false, exit: false });
  cleanups.push(async () => {
    void b.lifecycle.force('test cleanup');
    await served.stopped;
  });
  await served.ready;
  return { url: served.url, lifecycle: b.lifecycle, shutdown: () => served.shutdown('test') };
}

describe.each<Way>(['b.listen({ https })', 'https.createServer(app) via serve({ server })'])('Express over HTTPS: %s', (way) => {
  it('a slow request in flight survives the shutdown; nothing is reported forced', async () => {
    const { url, lifecycle, shutdown } = await start(way);
    expect(url).toMatch(/^https:/);
    expect((await fetchTls(`${url}/readyz`, tls.cert)).status).toBe(200);
    // Longer than the 1 s a fresh connection gets: the TCP socket under the TLS one used to be cut then.
    const slow = fetchTls(`${url}/slow?ms=1500`, tls.cert).then(
      (res) => res.body,
      (error: NodeJS.ErrnoException) => error.code ?? 'error',
    );
    await waitFor(() => lifecycle.counts().inFlight === 1, 5000, 'slow request in flight');
    const sockets = lifecycle.counts().openSockets;
    const report = await shutdown();
    expect(await slow).toBe('{"slept":1500}');
    expect(sockets).toBe(1);
    expect(report).toMatchObject({ forced: false, forcedCloses: 0 });
  });

  it('a request past the drain deadline is cut and counted', async () => {
    const { url, lifecycle, shutdown } = await start(way, 300);
    const slow = fetchTls(`${url}/slow?ms=60000`, tls.cert).then(
      () => 'answered',
      (error: NodeJS.ErrnoException) => error.code ?? 'error',
    );
    await waitFor(() => lifecycle.counts().inFlight === 1, 5000, 'slow request in flight');
    const report = await shutdown();
    expect(report).toMatchObject({ forced: true, forcedBy: 'drain-timeout', forcedCloses: 1 });
    expect(await slow).toBe('ECONNRESET');
  });
});

describe('Express over HTTPS under a real SIGTERM', () => {
  it('b.serve({ https }): the slow request in flight is answered, nothing forced, exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-express-tls-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'key.pem'), tls.key);
    writeFileSync(join(dir, 'cert.pem'), tls.cert);
    const fixture = fileURLToPath(new URL('../fixtures/service.mjs', import.meta.url));
    const child = spawn(process.execPath, [fixture], {
      env: { ...process.env, TLS_KEY: join(dir, 'key.pem'), TLS_CERT: join(dir, 'cert.pem') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const events: Array<{ event: string; url?: string; state?: string }> = [];
    let buffered = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) !== -1) {
        events.push(JSON.parse(buffered.slice(0, newline)) as (typeof events)[number]);
        buffered = buffered.slice(newline + 1);
      }
    });
    await waitFor(() => events.some((e) => e.state === 'ready') && events.some((e) => e.event === 'listening'), 15_000, 'ready and listening');
    const url = String(events.find((e) => e.event === 'listening')?.url);
    expect(url).toMatch(/^https:/);
    const answer = fetchTls(`${url}/slow`, tls.cert).then(
      (res) => res.body,
      (error: NodeJS.ErrnoException) => error.code ?? 'error',
    );
    await waitFor(() => events.some((e) => e.event === 'request'), 5000, 'request arrived');
    child.kill('SIGTERM');
    expect(await answer).toBe('slept');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/"msg":"shutdown finished".*"forced":false.*"forcedCloses":0/);
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as connectH2 } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { delay, fetchText, waitFor } from '@baton/testing';
import { fetchTls, makeTestCertificate } from '@baton/testing/tls';

// Real processes, real signals, at every moment of a Fastify service's life.
// The fixture imports the built package (dist/).
const fixture = fileURLToPath(new URL('../fixtures/service.mjs', import.meta.url));

interface Service {
  child: ChildProcess;
  events: Array<{ event: string; [key: string]: unknown }>;
  states: string[];
  stderr: () => string;
  exited: Promise<number | null>;
  waitEvent: (event: string) => Promise<void>;
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function spawnService(env: Record<string, string> = {}): Service {
  const child = spawn(process.execPath, [fixture], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const events: Service['events'] = [];
  const states: string[] = [];
  let buffered = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const line = JSON.parse(buffered.slice(0, newline)) as Service['events'][number];
      buffered = buffered.slice(newline + 1);
      events.push(line);
      if (line.event === 'state') states.push(String(line.state));
    }
  });
  let done = false;
  void exited.then(() => (done = true));
  const waitEvent = (event: string): Promise<void> =>
    waitFor(() => {
      if (events.some((e) => e.event === event)) return true;
      if (done) throw new Error(`exited before "${event}": ${stderr}`);
      return false;
    }, 15_000, `event ${event}`);
  return { child, events, states, stderr: () => stderr, exited, waitEvent };
}

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-fastify-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'flushed');
}

describe('serveFastify(): a slow request survives SIGTERM with the https and http2 options', () => {
  for (const transport of ['https', 'h2'] as const) {
    it(`${transport}: answered, nothing reported forced, exit 0`, async () => {
      const { key, cert } = makeTestCertificate();
      const dir = mkdtempSync(join(tmpdir(), 'baton-fastify-tls-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(join(dir, 'key.pem'), key);
      writeFileSync(join(dir, 'cert.pem'), cert);
      const service = spawnService({ TRANSPORT: transport, TLS_KEY: join(dir, 'key.pem'), TLS_CERT: join(dir, 'cert.pem'), SLOW_MS: '1500' });
      await service.waitEvent('listening');
      await waitFor(() => service.states.includes('ready'), 10_000, 'ready');
      const url = String(service.events.find((e) => e.event === 'listening')?.url);
      const answer = (transport === 'h2' ? h2Body(url, cert, '/slow') : fetchTls(`${url}/slow`, cert).then((r) => r.body)).catch(
        (error: NodeJS.ErrnoException) => error.code ?? 'error',
      );
      await service.waitEvent('request');
      service.child.kill('SIGTERM');
      expect(await answer).toBe('slept');
      expect(await service.exited).toBe(0);
    });
  }
});

/** The body of one HTTP/2 request over TLS. */
function h2Body(url: string, ca: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const session = connectH2(url, { ca });
    session.on('error', reject);
    const stream = session.request({ ':path': path });
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => {
      session.close();
      resolve(body);
    });
    stream.on('error', reject);
  });
}

describe('serveFastify(): a signal at any moment ends in a clean exit', () => {
  it('SIGTERM while a plugin is still loading (before listen): exit 0, hooks run, never listened', async () => {
    const hookFile = tempFile();
    const service = spawnService({ READY_MS: '1500', HOOK_FILE: hookFile });
    await service.waitEvent('plugin-loading');
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    expect(service.states).toEqual(['draining', 'stopped']);
    expect(service.events.some((e) => e.event === 'startup-task')).toBe(false);
    expect(readFileSync(hookFile, 'utf8')).toBe('flushed');
  });

  it('Ctrl-C twice while a plugin hangs: exits at once with the forced code', async () => {
    const service = spawnService({ READY_MS: '60000' });
    await service.waitEvent('plugin-loading');
    // A person pressing Ctrl-C until it stops. (Two signals sent back to back
    // can merge into one before the process sees the first: the kernel does
    // not queue standard signals.)
    let code: number | null | undefined;
    for (let presses = 0; presses < 20 && code === undefined; presses += 1) {
      service.child.kill('SIGINT');
      code = await Promise.race([service.exited, delay(250).then(() => undefined)]);
    }
    // 3, Baton's forced exit: not 1, what Fastify's 10 s plugin timeout ends in (the plugin would hang 60 s).
    expect(code ?? (await service.exited)).toBe(3);
  });

  for (const moment of ['no signal', 'SIGTERM while it loads'] as const) {
    it(`a plugin that fails to load, ${moment}, rejection caught: the shutdown hooks run, exit 1`, async () => {
      const hookFile = tempFile();
      const service = spawnService({ PLUGIN_FAILS: '1', CATCH_SERVE: '1', HOOK_FILE: hookFile, READY_MS: moment === 'no signal' ? '0' : '1000' });
      if (moment !== 'no signal') {
        await service.waitEvent('plugin-loading');
        service.child.kill('SIGTERM');
      }
      expect(await service.exited).toBe(1);
      expect(String(service.events.find((e) => e.event === 'serve-failed')?.message)).toContain('cannot reach the database');
      expect(readFileSync(hookFile, 'utf8')).toBe('flushed');
      expect(service.events.some((e) => e.event === 'startup-task')).toBe(false);
    });
  }

  it('SIGTERM during a slow startup task: exit 0 without ever becoming ready', async () => {
    const service = spawnService({ STARTUP_MS: '30000' });
    await service.waitEvent('startup-task');
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    expect(service.states).toEqual(['draining', 'stopped']);
  });

  it('SIGTERM right after ready: exit 0', async () => {
    const service = spawnService({});
    await waitFor(() => service.states.includes('ready'), 10_000, 'ready');
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
  });

  it('SIGTERM during the drain, twice: the request in flight and the hooks finish, exit 0', async () => {
    const hookFile = tempFile();
    const service = spawnService({ PROPAGATION_MS: '300', SLOW_MS: '800', HOOK_FILE: hookFile });
    await service.waitEvent('listening');
    await waitFor(() => service.states.includes('ready'), 10_000, 'ready');
    const port = Number(service.events.find((e) => e.event === 'listening')?.port);
    const slow = fetchText(`http://127.0.0.1:${port}/slow`);
    await service.waitEvent('request');
    service.child.kill('SIGTERM');
    await waitFor(() => service.states.includes('draining'), 5000, 'draining');
    service.child.kill('SIGTERM');
    expect((await slow).body).toBe('slept');
    expect(await service.exited).toBe(0);
    expect(readFileSync(hookFile, 'utf8')).toBe('flushed');
  });
});

describe('serveFastify(): a port that cannot be bound', () => {
  it('is a startup failure: BATON_ERR_LISTEN_FAILED, the shutdown hooks (and app.close) run, exit code 1', async () => {
    const { createServer } = await import('node:net');
    const { default: Fastify } = await import('fastify');
    const { batonPlugin, serveFastify } = await import('./index.js');
    const { silentLogger } = await import('@baton/lifecycle');
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const app = Fastify();
      await app.register(batonPlugin, { lifecycle: { logger: silentLogger, shutdown: { propagationDelayMs: 0 } } });
      let flushed = false;
      app.lifecycle.onShutdown({ name: 'flush', run: () => void (flushed = true) });
      let closed = false;
      app.addHook('onClose', async () => void (closed = true));
      const codes: number[] = [];
      await expect(
        serveFastify(app, { port: (taken.address() as { port: number }).port, host: '127.0.0.1', signals: false, exit: (code) => void codes.push(code) }),
      ).rejects.toMatchObject({ code: 'BATON_ERR_LISTEN_FAILED' });
      await waitFor(() => codes.length > 0, 10_000, 'exit called');
      expect(codes).toEqual([1]);
      expect(flushed).toBe(true);
      expect(closed).toBe(true);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

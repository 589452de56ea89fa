import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as connectH2 } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { isBatonError } from './errors.js';
import { fetchText, waitFor } from '@baton/testing';
import { createLifecycle } from './lifecycle.js';
import { silentLogger } from './logger.js';
import { serve } from './serve.js';
import { fetchTls, makeTestCertificate } from '@baton/testing/tls';

// Real processes and real signals. The fixture imports the built package (dist/).
const fixture = fileURLToPath(new URL('../fixtures/service.mjs', import.meta.url));

interface Service {
  child: ChildProcess;
  /** Every JSON event the fixture printed, in order. */
  events: Array<{ event: string; [key: string]: unknown }>;
  states: string[];
  stderr: () => string;
  exited: Promise<number | null>;
  /** Resolves once the fixture printed `event` (rejects if it exits first). */
  waitEvent: (event: string, count?: number) => Promise<void>;
  url: () => string;
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function tempFile(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-serve-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, name);
}

function spawnService(env: Record<string, string> = {}): Service {
  const child = spawn(process.execPath, [fixture], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
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
  const waitEvent = async (event: string, count = 1): Promise<void> => {
    await waitFor(() => {
      if (events.filter((e) => e.event === event).length >= count) return true;
      if (done) throw new Error(`exited before "${event}": ${stderr}`);
      return false;
    }, 15_000, `event ${event}`);
  };
  const url = (): string => `http://127.0.0.1:${String(events.find((e) => e.event === 'listening')?.port)}`;
  return { child, events, states, stderr: () => stderr, exited, waitEvent, url };
}

async function startService(env: Record<string, string> = {}): Promise<Service> {
  const service = spawnService(env);
  await service.waitEvent('listening');
  await waitFor(() => service.states.includes('ready'), 10_000, 'ready');
  return service;
}

/** Starts a slow request; resolves (with its answer, to await later) once the service has it in hand. */
async function slowRequest(service: Service, ms: number): Promise<{ answer: Promise<string> }> {
  const before = service.events.filter((e) => e.event === 'request').length;
  const answer = fetchText(`${service.url()}/slow?ms=${ms}`).then(
    (res) => res.body,
    (error: NodeJS.ErrnoException) => error.code ?? 'error',
  );
  await service.waitEvent('request', before + 1);
  return { answer };
}

describe('serve() with real signals', () => {
  it('on SIGTERM finishes the in-flight request and exits 0', async () => {
    const service = await startService({ PROPAGATION_MS: '300' });
    const { answer: slow } = await slowRequest(service, 800);
    service.child.kill('SIGTERM');
    await waitFor(() => service.states.includes('draining'), 5000, 'draining');
    const readiness = await fetchText(`${service.url()}/readyz`);
    expect(readiness.status).toBe(503);
    expect((await fetchText(`${service.url()}/`)).status).toBe(200);
    expect(await slow).toBe('slept 800');
    expect(await service.exited).toBe(0);
    expect(service.stderr()).toContain('"msg":"shutdown finished"');
  });

  it('exits 3 when a request outlives the drain deadline', async () => {
    const service = await startService({ DRAIN_MS: '300' });
    const { answer: slow } = await slowRequest(service, 30_000);
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(3);
    expect(await slow).toBe('ECONNRESET');
    expect(service.stderr()).toContain('"forcedBy":"drain-timeout"');
  });

  it('a second SIGTERM is logged and ignored: the request in flight and the hooks finish, exit 0', async () => {
    const hookFile = tempFile('flushed');
    const service = await startService({ PROPAGATION_MS: '400', HOOK_FILE: hookFile });
    const { answer: slow } = await slowRequest(service, 700);
    service.child.kill('SIGTERM');
    await waitFor(() => service.states.includes('draining'), 5000, 'draining');
    service.child.kill('SIGTERM');
    await waitFor(() => service.stderr().includes('"msg":"signal ignored: a shutdown is already running"'), 5000, 'ignored');
    expect(await slow).toBe('slept 700');
    expect(await service.exited).toBe(0);
    expect(readFileSync(hookFile, 'utf8')).toBe('flushed');
  });

  it('a second SIGINT forces: the drain is cut, every hook still runs, exit 3', async () => {
    const hookFile = tempFile('flushed');
    const service = await startService({ PROPAGATION_MS: '20000', DRAIN_MS: '20000', HOOK_FILE: hookFile, HOOK_RUN_MS: '200' });
    const { answer: slow } = await slowRequest(service, 60_000);
    service.child.kill('SIGINT');
    await waitFor(() => service.states.includes('draining'), 5000, 'draining');
    service.child.kill('SIGINT');
    expect(await service.exited).toBe(3);
    expect(await slow).toBe('ECONNRESET');
    expect(readFileSync(hookFile, 'utf8')).toBe('flushed');
    expect(service.stderr()).toContain('"msg":"shutdown forced: hooks get a short chance each"');
  });

  it('a third SIGINT exits at once, without waiting for the hook', async () => {
    const hookFile = tempFile('flushed');
    // The hook would take 60 s and is allowed to, even when forced: only the third signal ends it.
    const service = await startService({ HOOK_FILE: hookFile, HOOK_RUN_MS: '60000', HOOKS_MS: '90000', FORCED_HOOK_MS: '90000' });
    service.child.kill('SIGINT');
    await waitFor(() => service.stderr().includes('"msg":"shutdown phase: hooks"'), 5000, 'hooks phase');
    service.child.kill('SIGINT');
    await waitFor(() => service.stderr().includes('"msg":"shutdown forced: hooks get a short chance each"'), 5000, 'forced');
    const third = Date.now();
    service.child.kill('SIGINT');
    expect(await service.exited).toBe(3);
    expect(Date.now() - third).toBeLessThan(30_000); // the hook would have held it 60 s
    expect(existsSync(hookFile)).toBe(false);
    expect(service.stderr()).toContain('"msg":"shutdown forced again: stopping now"');
  });

  it('onSecondSignal "force" (the earlier default) still makes a second SIGTERM force', async () => {
    const service = await startService({ PROPAGATION_MS: '20000', DRAIN_MS: '20000', SECOND_SIGNAL: '"force"' });
    service.child.kill('SIGTERM');
    await waitFor(() => service.states.includes('draining'), 5000, 'draining');
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(3);
  });

  it('a per-signal table: { SIGINT: "ignore" } lets a second SIGINT be ignored', async () => {
    const service = await startService({ PROPAGATION_MS: '300', SECOND_SIGNAL: '{"SIGINT":"ignore"}' });
    const { answer: slow } = await slowRequest(service, 600);
    service.child.kill('SIGINT');
    await waitFor(() => service.states.includes('draining'), 5000, 'draining');
    service.child.kill('SIGINT');
    expect(await slow).toBe('slept 600');
    expect(await service.exited).toBe(0);
    expect(service.stderr()).toContain('"msg":"signal ignored: a shutdown is already running"');
  });
});

describe('serve(): a slow request survives SIGTERM on every transport', () => {
  for (const transport of ['http', 'https', 'h2'] as const) {
    it(`${transport}: the request in flight is answered, the report says nothing was forced, exit 0`, async () => {
      const env: Record<string, string> = { TRANSPORT: transport };
      let ca = '';
      if (transport !== 'http') {
        const { key, cert } = makeTestCertificate();
        env.TLS_KEY = tempFile('key.pem');
        env.TLS_CERT = tempFile('cert.pem');
        writeFileSync(env.TLS_KEY, key);
        writeFileSync(env.TLS_CERT, cert);
        ca = cert;
      }
      const service = spawnService(env);
      await service.waitEvent('listening');
      await waitFor(() => service.states.includes('ready'), 10_000, 'ready');
      const url = String(service.events.find((e) => e.event === 'listening')?.url);
      // Longer than the second a fresh connection gets: the TCP socket under a TLS one was cut then.
      const answer = transport === 'h2' ? h2Body(url, ca, '/slow?ms=1500') : transport === 'https' ? fetchTls(`${url}/slow?ms=1500`, ca).then((r) => r.body) : fetchText(`${url}/slow?ms=1500`).then((r) => r.body);
      const settled = answer.catch((error: NodeJS.ErrnoException) => error.code ?? 'error');
      await service.waitEvent('request');
      service.child.kill('SIGTERM');
      expect(await settled).toBe('slept 1500');
      expect(await service.exited).toBe(0);
      expect(service.stderr()).toMatch(/"msg":"shutdown finished".*"forced":false.*"forcedCloses":0/);
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

describe('serve(): a signal at any moment of startup ends in a clean exit', () => {
  it('SIGTERM while listen is still binding: exit 0, never listening afterwards', async () => {
    const service = spawnService({ LISTEN_MS: '1500' });
    await service.waitEvent('binding');
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    expect(service.states).toEqual(['draining', 'stopped']);
    expect(service.events.some((e) => e.event === 'startup-task')).toBe(false);
  });

  it('SIGTERM during a slow startup task: exit 0 without ever becoming ready', async () => {
    const service = spawnService({ STARTUP_MS: '30000', PROPAGATION_MS: '20000' });
    await service.waitEvent('listening');
    await service.waitEvent('startup-task');
    expect((await fetchText(`${service.url()}/startupz`)).status).toBe(503);
    service.child.kill('SIGTERM');
    // Never ready, so no propagation delay: it exits at once, and cleanly.
    expect(await service.exited).toBe(0);
    expect(service.states).toEqual(['draining', 'stopped']);
  });

  it('SIGTERM right after ready: exit 0', async () => {
    const service = spawnService({});
    await waitFor(() => service.states.includes('ready'), 10_000, 'ready');
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    expect(service.states).toEqual(['ready', 'draining', 'stopped']);
  });

  for (const moment of ['no signal', 'SIGTERM while binding'] as const) {
    it(`listen fails (port in use), ${moment}, serve() rejection caught: hooks run, exit 1`, async () => {
      const { createServer } = await import('node:net');
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => taken.close());
      const hookFile = tempFile('flushed');
      const service = spawnService({
        CATCH_SERVE: '1',
        HOOK_FILE: hookFile,
        LISTEN_PORT: String((taken.address() as { port: number }).port),
        LISTEN_MS: moment === 'no signal' ? '0' : '500',
        // The signal's shutdown is still in its hooks when listen fails.
        HOOK_RUN_MS: '3000',
        HOOKS_MS: '10000',
      });
      if (moment !== 'no signal') {
        await service.waitEvent('binding');
        service.child.kill('SIGTERM');
      }
      expect(await service.exited).toBe(1);
      expect(service.events.find((e) => e.event === 'serve-failed')?.code).toBe('BATON_ERR_LISTEN_FAILED');
      expect(readFileSync(hookFile, 'utf8')).toBe('flushed');
    });
  }

  it('exits 1 when startup fails, saying why', async () => {
    const service = spawnService({ STARTUP_FAILS: '1' });
    expect(await service.exited).toBe(1);
    expect(service.states).toEqual(['failed', 'draining', 'stopped']);
    expect(service.stderr()).toContain('Startup task failed: cannot reach the database');
  });
});

describe('serve(): faulty user code never breaks the shutdown', () => {
  for (const event of ['state', 'phase', 'drain-progress', 'stopped']) {
    it(`a "${event}" listener that throws: the drain finishes, hooks run, exit 0`, async () => {
      const hookFile = tempFile('flushed');
      const service = await startService({ FAULTY_LISTENER: event, HOOK_FILE: hookFile, PROPAGATION_MS: '100' });
      const { answer: slow } = await slowRequest(service, 300);
      service.child.kill('SIGTERM');
      expect(await slow).toBe('slept 300');
      expect(await service.exited).toBe(0);
      expect(readFileSync(hookFile, 'utf8')).toBe('flushed');
      expect(service.stderr()).toContain('"msg":"a lifecycle event listener threw"');
      expect(service.stderr()).toContain(`listener of ${event} is broken`);
    });
  }
});

describe('serve() options', () => {
  it('rejects bad options with a clear error before listening', async () => {
    const cases: Array<[Parameters<typeof serve>[0], RegExp]> = [
      [{} as never, /exactly one of `handler`/],
      [{ handler: () => {}, port: 70000 }, /port must be an integer from 0 to 65535; got 70000/],
      [{ handler: () => {}, port: 0, onSecondSignal: 'panic' as never }, /`onSecondSignal` must be one of "force", "ignore", or a table/],
      [{ handler: () => {}, port: 0, onSecondSignal: { SIGTERM: 'later' } as never }, /`onSecondSignal.SIGTERM` must be one of "force", "ignore"; got "later"/],
      [{ handler: () => {}, port: 0, onSecondSignal: { TERM: 'force' } as never }, /keys must be signal names like "SIGTERM"; got "TERM"/],
      [{ handler: () => {}, port: 0, exit: 3 as never }, /`exit` must be a function/],
      [{ handler: () => {}, port: 0, https: 'yes' as never }, /`https` takes TLS options/],
      [{ handler: () => {}, port: 0, lifecycle: { shutdown: { propagationDelayMs: 40_000 } } }, /grace period is 30000 ms/],
      [{ handler: () => {}, port: 0, lifecycle: { shutdown: { forcedHookTimeoutMs: 0 } } }, /`forcedHookTimeoutMs` must be a positive number/],
    ];
    for (const [options, message] of cases) {
      let thrown: unknown;
      try {
        await serve({ signals: false, exit: false, ...options });
      } catch (error) {
        thrown = error;
      }
      expect(isBatonError(thrown)).toBe(true);
      expect((thrown as Error).message).toMatch(message);
    }
  });

  it('refuses a server that is already listening (its earlier connections could not be drained)', async () => {
    const { createServer } = await import('node:http');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await expect(serve({ server, port: 0, signals: false, exit: false })).rejects.toMatchObject({
        code: 'BATON_ERR_INVALID_OPTION',
        message: expect.stringMatching(/`server` is already listening/),
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reports a port in use as BATON_ERR_LISTEN_FAILED', async () => {
    const quiet = { logger: silentLogger, shutdown: { propagationDelayMs: 0 } };
    const first = await serve({ handler: () => {}, port: 0, host: '127.0.0.1', signals: false, exit: false, lifecycle: quiet });
    try {
      await expect(serve({ handler: () => {}, port: first.port, host: '127.0.0.1', signals: false, exit: false, lifecycle: quiet })).rejects.toMatchObject({
        code: 'BATON_ERR_LISTEN_FAILED',
        message: expect.stringContaining('EADDRINUSE'),
      });
    } finally {
      await first.shutdown();
    }
  });

  it('an exit callback that throws still settles `stopped` with the code', async () => {
    const errors: string[] = [];
    const lifecycle = createLifecycle({
      logger: { info() {}, warn() {}, error: (message) => void errors.push(message) },
      shutdown: { propagationDelayMs: 0 },
    });
    const served = await serve({
      handler: (_req, res) => res.end('ok'),
      port: 0,
      host: '127.0.0.1',
      signals: false,
      lifecycle,
      exit: () => {
        throw new Error('exit is broken');
      },
    });
    await served.ready;
    await served.shutdown('test');
    expect((await served.stopped).code).toBe(0);
    expect(errors).toContain('the exit callback threw');
  });
});

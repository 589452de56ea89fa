import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { isBatonError } from './errors.js';
import { delay, fetchText, waitFor } from '@baton/testing';
import { silentLogger } from './logger.js';
import { serve } from './serve.js';

// Real processes and real signals. The fixture imports the built package (dist/).
const fixture = fileURLToPath(new URL('../fixtures/service.mjs', import.meta.url));

interface Service {
  child: ChildProcess;
  port: number;
  url: string;
  states: string[];
  stderr: () => string;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

async function startService(env: Record<string, string> = {}, waitForReady = true): Promise<Service> {
  const child = spawn(process.execPath, [fixture], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const states: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) !== -1) {
        const line = JSON.parse(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        if (line.event === 'listening') resolve(line.port);
        if (line.event === 'state') states.push(line.state);
      }
    });
    void exited.then((code) => reject(new Error(`exited with ${code} before listening: ${stderr}`)));
  });
  const service = { child, port, url: `http://127.0.0.1:${port}`, states, stderr: () => stderr, exited };
  if (waitForReady) await waitFor(() => states.includes('ready'), 10_000, 'ready');
  return service;
}

describe('serve() with real signals', () => {
  it('on SIGTERM finishes the in-flight request and exits 0', async () => {
    const service = await startService({ PROPAGATION_MS: '300' });
    const slow = fetchText(`${service.url}/slow?ms=800`);
    await delay(100);
    service.child.kill('SIGTERM');
    await waitFor(() => service.states.includes('draining'), 5000, 'draining');
    const readiness = await fetchText(`${service.url}/readyz`);
    expect(readiness.status).toBe(503);
    expect((await fetchText(`${service.url}/`)).status).toBe(200);
    expect((await slow).body).toBe('slept 800');
    expect(await service.exited).toBe(0);
    expect(service.stderr()).toContain('"msg":"shutdown finished"');
  });

  it('exits 3 when a request outlives the drain deadline', async () => {
    const service = await startService({ DRAIN_MS: '300' });
    const slow = fetchText(`${service.url}/slow?ms=30000`).catch((error: NodeJS.ErrnoException) => error.code);
    await delay(100);
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(3);
    expect(await slow).toBe('ECONNRESET');
    expect(service.stderr()).toContain('"forcedBy":"drain-timeout"');
  });

  it('a second SIGTERM forces the exit (policy force)', async () => {
    const service = await startService({ PROPAGATION_MS: '20000', DRAIN_MS: '20000' });
    service.child.kill('SIGTERM');
    await waitFor(() => service.states.includes('draining'), 5000, 'draining');
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(3);
    expect(service.stderr()).toContain('"msg":"shutdown forced"');
  });

  it('a second SIGINT is ignored with policy ignore: the drain finishes and the exit is clean', async () => {
    const service = await startService({ PROPAGATION_MS: '400', SECOND_SIGNAL: 'ignore' });
    const slow = fetchText(`${service.url}/slow?ms=700`);
    await delay(50);
    service.child.kill('SIGINT');
    await waitFor(() => service.states.includes('draining'), 5000, 'draining');
    service.child.kill('SIGINT');
    expect((await slow).body).toBe('slept 700');
    expect(await service.exited).toBe(0);
    expect(service.stderr()).toContain('"msg":"signal ignored: a shutdown is already running"');
  });

  it('SIGTERM during startup stops cleanly without ever becoming ready', async () => {
    const service = await startService({ STARTUP_MS: '30000', PROPAGATION_MS: '20000' }, false);
    expect((await fetchText(`${service.url}/startupz`)).status).toBe(503);
    service.child.kill('SIGTERM');
    // Never ready, so no propagation delay: it exits at once, and cleanly.
    expect(await service.exited).toBe(0);
    expect(service.states).toEqual(['draining', 'stopped']);
  });

  it('exits 1 when startup fails, saying why', async () => {
    const service = await startService({ STARTUP_FAILS: '1' }, false);
    expect(await service.exited).toBe(1);
    expect(service.states).toEqual(['failed', 'draining', 'stopped']);
    expect(service.stderr()).toContain('Startup task failed: cannot reach the database');
  });
});

describe('serve() options', () => {
  it('rejects bad options with a clear error before listening', async () => {
    const cases: Array<[Parameters<typeof serve>[0], RegExp]> = [
      [{} as never, /exactly one of `handler`/],
      [{ handler: () => {}, port: 70000 }, /port must be an integer from 0 to 65535; got 70000/],
      [{ handler: () => {}, port: 0, onSecondSignal: 'panic' as never }, /`onSecondSignal` must be one of "force", "ignore"/],
      [{ handler: () => {}, port: 0, lifecycle: { shutdown: { propagationDelayMs: 40_000 } } }, /grace period is 30000 ms/],
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
});

import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fetchText, waitFor } from '@baton/testing';
import { isBatonError } from './errors.js';
import { createLifecycle, type Lifecycle, type LifecycleEvents, type LifecycleOptions } from './lifecycle.js';
import { silentLogger, type Logger } from './logger.js';

// User code (listeners, loggers, hooks, long-lived close hooks) must never be
// able to break a shutdown: each test breaks one kind and checks that the
// shutdown still ends in `stopped`, with the hooks run and the failure told.

const servers: Server[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function startWith(options: LifecycleOptions = {}): Promise<{ lifecycle: Lifecycle; url: string; hookRan: () => boolean }> {
  const lifecycle = createLifecycle({ logger: silentLogger, ...options, shutdown: { propagationDelayMs: 0, ...options.shutdown } });
  const server = createServer((req, res) => {
    if (req.url === '/slow') {
      setTimeout(() => res.end('slept'), 200);
      return;
    }
    if (req.url === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: hello\n\n');
      return;
    }
    res.end('ok');
  });
  servers.push(server);
  lifecycle.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await lifecycle.start();
  let ran = false;
  lifecycle.onShutdown(() => void (ran = true), { name: 'close pool' });
  return { lifecycle, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, hookRan: () => ran };
}

function recordingLogger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  return { info() {}, warn() {}, error: (message, fields) => void errors.push(`${message}: ${String(fields?.error ?? '')}`), errors };
}

const events: (keyof LifecycleEvents)[] = ['state', 'phase', 'drain-progress', 'hook-error', 'stopped'];

describe('faulty user code never breaks the shutdown', () => {
  for (const event of events) {
    it(`a "${event}" listener that throws: the shutdown ends in stopped, hooks run, the failure is logged`, async () => {
      const logger = recordingLogger();
      const { lifecycle, url, hookRan } = await startWith({ logger });
      lifecycle.onShutdown(() => {
        throw new Error('hook fails, so hook-error is emitted');
      });
      let secondListenerCalls = 0;
      lifecycle.on(event, () => {
        throw new Error(`broken ${event} listener`);
      });
      // Listeners after the broken one still hear the event.
      lifecycle.on(event, () => void (secondListenerCalls += 1));
      const slow = fetchText(`${url}/slow`);
      await waitFor(() => lifecycle.counts().inFlight === 1, 5000, 'in flight');
      const report = await lifecycle.shutdown('test');
      expect((await slow).body).toBe('slept');
      expect(lifecycle.state).toBe('stopped');
      expect(hookRan()).toBe(true);
      expect(report.forcedCloses).toBe(0);
      expect(secondListenerCalls).toBeGreaterThan(0);
      expect(logger.errors).toContain(`a lifecycle event listener threw: broken ${event} listener`);
    });
  }

  it('an async listener that rejects is logged, not an unhandled rejection', async () => {
    const logger = recordingLogger();
    const { lifecycle } = await startWith({ logger });
    lifecycle.on('phase', async () => {
      throw new Error('async listener failed');
    });
    await lifecycle.shutdown('test');
    await waitFor(() => logger.errors.includes('a lifecycle event listener threw: async listener failed'), 5000, 'logged');
  });

  it('a logger that throws on every call: the shutdown still ends, and stderr says what the logger could not', async () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const broken: Logger = {
      info: () => {
        throw new Error('log sink closed');
      },
      warn: () => {
        throw new Error('log sink closed');
      },
      error: () => {
        throw new Error('log sink closed');
      },
    };
    const { lifecycle, hookRan } = await startWith({ logger: broken });
    lifecycle.onShutdown(() => {
      throw new Error('a hook failed too');
    });
    const report = await lifecycle.shutdown('test');
    vi.restoreAllMocks();
    expect(lifecycle.state).toBe('stopped');
    expect(hookRan()).toBe(true);
    expect(report.hookFailures.map((f) => f.error)).toEqual(['a hook failed too']);
    const lines = written.join('').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'shutdown hook failed', loggerError: 'log sink closed' }));
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'shutdown finished' }));
  });

  it('a closeLongLived that throws: the stream is cut at the deadline, the shutdown ends', async () => {
    const logger = recordingLogger();
    const { lifecycle, url, hookRan } = await startWith({
      logger,
      shutdown: {
        drainTimeoutMs: 300,
        closeLongLived: () => {
          throw new Error('close hook is broken');
        },
      },
    });
    const stream = fetchText(`${url}/events`, { headers: { accept: 'text/event-stream' } }).catch(() => 'cut');
    await waitFor(() => lifecycle.counts().longLived === 1, 5000, 'stream open');
    const report = await lifecycle.shutdown('test');
    expect(await stream).toBe('cut');
    expect(report).toMatchObject({ forced: true, forcedBy: 'drain-timeout', forcedCloses: 1 });
    expect(hookRan()).toBe(true);
    expect(logger.errors).toEqual([]);
  });

  it('a replaced logger must be a logger', () => {
    const lifecycle = createLifecycle();
    let thrown: unknown;
    try {
      lifecycle.logger = { info() {} } as never;
    } catch (error) {
      thrown = error;
    }
    expect(isBatonError(thrown, 'BATON_ERR_INVALID_OPTION')).toBe(true);
    expect((thrown as Error).message).toMatch(/`logger` must be an object with info, warn and error functions/);
  });
});

describe('force()', () => {
  it('a forced shutdown still gives each hook a short, bounded chance', async () => {
    const { lifecycle, hookRan } = await startWith({ shutdown: { forcedHookTimeoutMs: 150, hooksTimeoutMs: 20_000, gracePeriodMs: 60_000 } });
    let hangingAborted = false;
    lifecycle.onShutdown({
      name: 'hangs',
      run: ({ signal }) =>
        new Promise<void>((resolve) => {
          signal.addEventListener('abort', () => {
            hangingAborted = true;
            resolve();
          });
        }),
    });
    const report = await lifecycle.force('test');
    expect(hookRan()).toBe(true); // registered before the hanging one, so it runs after it
    expect(hangingAborted).toBe(true);
    expect(report).toMatchObject({ forced: true, forcedBy: 'force' });
    expect(report.hookFailures).toEqual([{ name: 'hangs', error: 'shutdown hook "hangs" did not finish within 150 ms.', timedOut: true }]);
  });

  it('forced while a hook runs, the hook gets at most forcedHookTimeoutMs more; forced again, the rest is skipped', async () => {
    const { lifecycle, hookRan } = await startWith({ shutdown: { forcedHookTimeoutMs: 60_000, hooksTimeoutMs: 90_000, gracePeriodMs: 120_000 } });
    let started = false;
    lifecycle.onShutdown({ name: 'slow flush', run: () => new Promise<void>((resolve) => ((started = true), setTimeout(resolve, 60_000).unref())) });
    const stopping = lifecycle.shutdown('SIGINT');
    await waitFor(() => started, 5000, 'hook started');
    void lifecycle.force('repeated SIGINT');
    void lifecycle.force('third SIGINT');
    const report = await stopping;
    expect(report.forcedBy).toBe('force');
    expect(report.hookFailures).toEqual([
      { name: 'slow flush', error: 'shutdown hook "slow flush" abandoned: shutdown forced twice.', timedOut: false },
      { name: 'close pool', error: 'skipped: shutdown forced twice', timedOut: false },
    ]);
    expect(hookRan()).toBe(false);
  });
});

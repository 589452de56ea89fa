import { Agent, createServer, request, type RequestListener } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchText, waitFor } from '@baton/testing';
import type { LifecycleOptions, ShutdownPhase } from './lifecycle.js';
import { createLifecycle } from './lifecycle.js';
import { silentLogger } from './logger.js';
import { serve, type Served } from './serve.js';

/** An app with a fast route and a slow one whose duration the caller picks. */
const app: RequestListener = (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/stream') {
    // Headers and a first chunk go out at once (keep-alive), the rest later.
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first ');
    const timer = setTimeout(() => res.end('last'), 300);
    res.on('close', () => clearTimeout(timer));
    return;
  }
  if (url.pathname === '/slow') {
    const ms = Number(url.searchParams.get('ms') ?? 300);
    const timer = setTimeout(() => res.end(`slept ${ms}`), ms);
    res.on('close', () => clearTimeout(timer));
    return;
  }
  res.end('fast');
};

let running: Served[] = [];
const agents: Agent[] = [];

async function start(lifecycle: LifecycleOptions = {}): Promise<Served> {
  const served = await serve({
    handler: app,
    port: 0,
    host: '127.0.0.1',
    signals: false,
    exit: false,
    lifecycle: { logger: silentLogger, ...lifecycle, shutdown: { propagationDelayMs: 0, ...lifecycle.shutdown } },
  });
  running.push(served);
  await served.ready;
  return served;
}

function keepAliveAgent(): Agent {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  agents.push(agent);
  return agent;
}

afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  await Promise.all(running.map((s) => s.shutdown()));
  running = [];
});

describe('graceful drain', () => {
  it('keeps serving during the propagation delay with Connection: close while readiness answers 503', async () => {
    // Long enough that the requests below all land inside it, even on a busy machine.
    const served = await start({ shutdown: { propagationDelayMs: 2000 } });
    const agent = keepAliveAgent();
    const warm = await fetchText(`${served.url}/`, { agent });
    expect(warm.headers.connection).toBe('keep-alive');
    const slow = fetchText(`${served.url}/slow?ms=400`, { agent });
    await waitFor(() => served.lifecycle.counts().inFlight === 1, 5000, 'slow request in flight');
    const stopping = served.shutdown('test');

    const readiness = await fetchText(`${served.url}/readyz`, { agent });
    expect(readiness.status).toBe(503);
    expect(JSON.parse(readiness.body)).toMatchObject({ status: 'fail', output: 'draining' });
    expect((await fetchText(`${served.url}/livez`, { agent })).status).toBe(200);
    const during = await fetchText(`${served.url}/`, { agent });
    expect(during.status).toBe(200);
    expect(during.body).toBe('fast');
    expect(during.headers.connection).toBe('close');

    const slowAnswer = await slow;
    expect(slowAnswer.body).toBe('slept 400');
    expect(slowAnswer.headers.connection).toBe('close'); // its headers were not sent yet when the drain began

    const report = await stopping;
    expect(report.forced).toBe(false);
    expect(report.atStart.inFlight).toBe(1);
    // Only app traffic counts: the probes answered during the delay are left out.
    expect(report.requestsAfterNotReady).toBe(1);
    expect(report.lastRequestAfterNotReadyMs).toBeGreaterThanOrEqual(0);
    expect(report.phases.map((p) => p.phase)).toEqual(['propagation', 'stop-accepting', 'drain', 'hooks']);
    expect(served.lifecycle.state).toBe('stopped');
    await expect(fetchText(`${served.url}/`)).rejects.toThrow(/ECONNREFUSED/);
    expect((await served.stopped).code).toBe(0);
  });

  it('skips the propagation delay when asked to', async () => {
    const served = await start({ shutdown: { propagationDelayMs: 20_000, gracePeriodMs: 60_000 } });
    const report = await served.lifecycle.shutdown('framework closing', { skipPropagation: true });
    expect(report.phases[0]).toMatchObject({ phase: 'propagation', cut: false });
    expect(report.phases[0]?.durationMs).toBeLessThan(5000);
    expect(report.forced).toBe(false);
  });

  it('completes every request of keep-alive clients that keep sending until their balancer reacts', async () => {
    const served = await start({ shutdown: { propagationDelayMs: 2000 } });
    const agent = keepAliveAgent();
    const outcomes: string[] = [];
    let toldToClose = 0;
    let stop = false;
    // Clients (think: a load balancer's connections) keep sending after readiness
    // fails, and stop within the propagation delay, as a balancer whose health
    // check noticed would. (Connections still arriving when the listener closes
    // can be reset by the kernel from its accept queue: that is what the delay
    // is for, so the test does not send past it.)
    const client = async (): Promise<void> => {
      while (!stop) {
        try {
          const res = await fetchText(`${served.url}/slow?ms=20`, { agent });
          outcomes.push(res.status === 200 && res.body === 'slept 20' ? 'ok' : `bad ${res.status}`);
          if (res.headers.connection === 'close') toldToClose += 1;
        } catch (error) {
          outcomes.push(`error ${(error as NodeJS.ErrnoException).code}`);
        }
      }
    };
    const clients = [client(), client(), client(), client()];
    // Facts, not windows: enough traffic before, and every client told to close during the delay.
    await waitFor(() => outcomes.length >= 20, 10_000, '20 requests served');
    const stopping = served.shutdown('test');
    await waitFor(() => toldToClose >= 4, 10_000, 'four responses with Connection: close');
    stop = true;
    await Promise.all(clients);
    const report = await stopping;
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
    expect(outcomes.length).toBeGreaterThan(20);
    // Served during the delay, each told to reconnect (to another instance, in production).
    expect(toldToClose).toBeGreaterThanOrEqual(4);
    // The late ones are counted; the up-to-4 already in flight were told too, but arrived in time.
    expect(report.requestsAfterNotReady).toBeGreaterThanOrEqual(toldToClose - 4);
    expect(report.requestsAfterNotReady).toBeLessThanOrEqual(toldToClose);
    expect(report.forced).toBe(false);
  });

  it('ends a keep-alive response already streaming when the drain began, then closes its socket at once', async () => {
    const served = await start();
    const agent = keepAliveAgent();
    for (let i = 0; i < 50; i += 1) await fetchText(`${served.url}/`, { agent }); // one socket, many requests
    const streaming = fetchText(`${served.url}/stream`, { agent });
    await waitFor(() => served.lifecycle.counts().inFlight === 1, 5000, 'stream in flight');
    const report = await served.shutdown('test');
    const answer = await streaming;
    expect(answer.body).toBe('first last');
    expect(answer.headers.connection).toBe('keep-alive'); // sent before the drain: it could not say close
    expect(report.forced).toBe(false);
    // The socket went when its response ended, not at the deadline (15 s) nor the keep-alive timeout (65 s).
    expect(report.phases.find((p) => p.phase === 'drain')?.durationMs).toBeLessThan(5000);
  });

  it('closes idle keep-alive sockets at once instead of waiting for their keep-alive timeout', async () => {
    const served = await start();
    const agent = keepAliveAgent();
    await Promise.all([fetchText(`${served.url}/`, { agent }), fetchText(`${served.url}/`, { agent })]);
    expect(served.lifecycle.counts().openSockets).toBe(2);
    const report = await served.shutdown('test');
    // The server's keep-alive timeout is 65 s; the drain must not wait for it.
    expect(report.phases.find((p) => p.phase === 'drain')?.durationMs).toBeLessThan(5000);
    expect(report.forced).toBe(false);
  });

  it('serves a request sent on a connection accepted just before the listener closed', async () => {
    const served = await start();
    const socket = connect(served.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    await waitFor(() => served.lifecycle.counts().openSockets === 1, 5000, 'socket tracked');
    const stopping = served.shutdown('test');
    // The listener is closed once the drain phase runs; the request is still "on the wire".
    await waitFor(() => served.lifecycle.shutdownProgress()?.phase === 'drain', 5000, 'drain phase');
    let raw = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (raw += chunk));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await closed;
    expect(raw).toMatch(/^HTTP\/1.1 200 OK/);
    expect(raw).toMatch(/connection: close/i);
    expect(raw.endsWith('fast')).toBe(true);
    expect((await stopping).forced).toBe(false);
  });

  it('cuts a request longer than the drain deadline and reports the drain as forced', async () => {
    const served = await start({ shutdown: { drainTimeoutMs: 300 } });
    const slow = fetchText(`${served.url}/slow?ms=60000`).then(
      () => 'answered',
      (error: NodeJS.ErrnoException) => error.code ?? 'error',
    );
    await waitFor(() => served.lifecycle.counts().inFlight === 1, 5000, 'slow request in flight');
    const report = await served.shutdown('test');
    expect(report).toMatchObject({ forced: true, forcedBy: 'drain-timeout', forcedCloses: 1 });
    expect(served.lifecycle.shutdownProgress()).toMatchObject({ phase: 'done', forcedCloses: 1 });
    expect(await slow).toBe('ECONNRESET');
    expect((await served.stopped).code).toBe(3);
  });

  it('force() cuts the propagation delay and the drain', async () => {
    const served = await start({ shutdown: { propagationDelayMs: 20_000, drainTimeoutMs: 5_000, gracePeriodMs: 60_000 } });
    const slow = fetchText(`${served.url}/slow?ms=60000`).catch(() => 'cut');
    await waitFor(() => served.lifecycle.counts().inFlight === 1, 5000, 'slow request in flight');
    const stopping = served.shutdown('SIGTERM');
    await waitFor(() => served.lifecycle.shutdownProgress()?.phase === 'propagation', 5000, 'propagation delay');
    const began = Date.now();
    const report = await served.lifecycle.force('second SIGTERM');
    expect(Date.now() - began).toBeLessThan(5000);
    expect(report).toMatchObject({ forced: true, forcedBy: 'force', reason: 'SIGTERM' });
    expect(await stopping).toBe(report);
    expect(await slow).toBe('cut');
    expect((await served.stopped).code).toBe(3);
  });

  it('runs shutdown hooks after the drain, last registered first, each within its deadline', async () => {
    const served = await start({ shutdown: { hooksTimeoutMs: 2000 } });
    const order: string[] = [];
    let inFlightAtHooks = -1;
    served.lifecycle.onShutdown(async () => void order.push('close pool'), { name: 'pool' });
    served.lifecycle.onShutdown({
      name: 'flush',
      timeoutMs: 100,
      run: ({ signal }) =>
        new Promise<void>((resolve) => {
          order.push('flush (hangs)');
          signal.addEventListener('abort', () => resolve());
        }),
    });
    served.lifecycle.onShutdown(() => {
      inFlightAtHooks = served.lifecycle.counts().inFlight;
      order.push('stop consumers');
      throw new Error('consumer already closed');
    }, { name: 'consumers' });
    const slow = fetchText(`${served.url}/slow?ms=200`);
    await waitFor(() => served.lifecycle.counts().inFlight === 1, 5000, 'slow request in flight');
    const report = await served.shutdown('test');
    expect((await slow).body).toBe('slept 200');
    expect(inFlightAtHooks).toBe(0);
    expect(order).toEqual(['stop consumers', 'flush (hangs)', 'close pool']);
    expect(report.hookFailures).toEqual([
      { name: 'consumers', error: 'consumer already closed', timedOut: false },
      { name: 'flush', error: 'shutdown hook "flush" did not finish within 100 ms.', timedOut: true },
    ]);
    expect(report).toMatchObject({ forced: true, forcedBy: 'hook-timeout' });
  });

  it('emits every state change, phase and drain figure', async () => {
    // Long enough that the two requests below land inside it, even on a busy machine.
    const served = await start({ shutdown: { propagationDelayMs: 2000 } });
    const states: string[] = [];
    const phases: ShutdownPhase[] = [];
    const progress: number[] = [];
    served.lifecycle.on('state', ({ from, to }) => states.push(`${from}->${to}`));
    const progressPhases: (string | undefined)[] = [];
    served.lifecycle.on('phase', ({ phase }) => {
      phases.push(phase);
      progressPhases.push(served.lifecycle.shutdownProgress()?.phase);
    });
    served.lifecycle.on('drain-progress', ({ inFlight }) => progress.push(inFlight));
    const stoppedEvent = new Promise((resolve) => served.lifecycle.once('stopped', resolve));
    const slow = fetchText(`${served.url}/slow?ms=150`);
    await waitFor(() => served.lifecycle.counts().inFlight === 1, 5000, 'slow request in flight');
    expect(served.lifecycle.shutdownProgress()).toBeUndefined();
    const shutdown = served.shutdown('test');
    // A request and a probe during the propagation delay: only the request counts as late.
    await fetchText(`${served.url}/fast`);
    await fetchText(`${served.url}/readyz`);
    expect(served.lifecycle.shutdownProgress()).toMatchObject({ reason: 'test', phase: 'propagation', requestsAfterNotReady: 1, forcedCloses: 0 });
    const report = await shutdown;
    await slow;
    expect(progressPhases).toEqual(phases);
    expect(served.lifecycle.shutdownProgress()).toMatchObject({ phase: 'done', requestsAfterNotReady: report.requestsAfterNotReady });
    expect(report.requestsAfterNotReady).toBe(1);
    expect(states).toEqual(['ready->draining', 'draining->stopped']);
    expect(phases).toEqual(['propagation', 'stop-accepting', 'drain', 'hooks']);
    expect(progress).toContain(0);
    expect(await stoppedEvent).toBe(report);
  });
});

describe('requests Node hands to checkContinue / checkExpectation listeners', () => {
  it('are tracked like any other: a slow one survives the drain, nothing forced', async () => {
    const lifecycle = createLifecycle({ logger: silentLogger, shutdown: { propagationDelayMs: 0 } });
    const server = createServer();
    lifecycle.attach(server);
    // With a checkContinue listener Node emits it instead of 'request' for `Expect: 100-continue`.
    server.on('checkContinue', (req, res) => {
      res.writeContinue();
      req.resume();
      req.on('end', () => setTimeout(() => res.end('slept'), 1500));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const answer = new Promise<string>((resolve) => {
        const req = request({ port: (server.address() as { port: number }).port, host: '127.0.0.1', method: 'POST', headers: { expect: '100-continue' } }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve(body));
        });
        req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
        req.on('continue', () => req.end('payload'));
      });
      await waitFor(() => lifecycle.counts().inFlight === 1, 5000, 'request in flight');
      const report = await lifecycle.shutdown('test');
      expect(await answer).toBe('slept');
      expect(report).toMatchObject({ forced: false, forcedCloses: 0, atStart: { inFlight: 1 } });
    } finally {
      await lifecycle.force('test cleanup');
      server.closeAllConnections();
    }
  });
});

import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchText, waitFor } from '@baton/testing';
import { ROUTER_DRAINS_FIRST_REASON } from './platform-environment.js';

// The README's app (serve() with every default: a 5 s propagation delay), run as a deploy platform runs it.
const fixture = fileURLToPath(new URL('../fixtures/plain-service.mjs', import.meta.url));

interface LogLine {
  msg: string;
  [field: string]: unknown;
}

const children: Array<ReturnType<typeof spawn>> = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Starts the app with `env` on top of PORT=0, waits until it is ready; its log lines as they come, and its exit code. */
async function start(env: Record<string, string>): Promise<{ lines: () => LogLine[]; url: string; kill: (signal: NodeJS.Signals) => void; exited: Promise<number | null> }> {
  const base = { ...process.env };
  for (const name of ['BATON_INSTANCE', 'BATON_ROUTER_DRAINS_FIRST', 'HOST']) delete base[name];
  const child = spawn(process.execPath, [fixture], { env: { ...base, PORT: '0', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = (): LogLine[] => log.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogLine);
  await waitFor(() => lines().some((line) => line.event === 'listening') || child.exitCode !== null, 20_000, 'the listening line');
  const url = String(lines().find((line) => line.event === 'listening')?.url);
  await waitFor(async () => (await fetchText(`${url}/readyz`)).status === 200, 20_000, 'readiness');
  return { lines, url, kill: (signal) => child.kill(signal), exited };
}

const line = (lines: LogLine[], msg: string): LogLine | undefined => lines.find((candidate) => candidate.msg === msg);

describe('BATON_ROUTER_DRAINS_FIRST=1 (what baton deploy\'s platform promises)', () => {
  it('a SIGTERM skips the default 5 s propagation delay, and the shutdown says why', async () => {
    const service = await start({ BATON_INSTANCE: 'v1-1', HOST: '127.0.0.1', BATON_ROUTER_DRAINS_FIRST: '1' });
    service.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    const lines = service.lines();
    expect(line(lines, 'shutdown started')).toMatchObject({ reason: 'SIGTERM', propagationDelayMs: 0, propagationSkipped: ROUTER_DRAINS_FIRST_REASON });
    expect(line(lines, 'shutdown phase: propagation')).toMatchObject({ budgetMs: 0 });
  });

  it('without it, the same SIGTERM waits the 5 s propagation delay', async () => {
    const service = await start({ BATON_INSTANCE: 'v1-1', HOST: '127.0.0.1' });
    service.kill('SIGTERM');
    await waitFor(() => line(service.lines(), 'shutdown started') !== undefined, 10_000, 'the shutdown line');
    expect(line(service.lines(), 'shutdown started')).toMatchObject({ reason: 'SIGTERM', propagationDelayMs: 5000 });
    expect(line(service.lines(), 'shutdown started')).not.toHaveProperty('propagationSkipped');
    expect(line(service.lines(), 'shutdown phase: propagation')).toMatchObject({ budgetMs: 5000 });
    // Still serving in the delay: it was kept, not skipped.
    expect((await fetchText(`${service.url}/`)).body).toBe('hello');
    expect(await service.exited).toBe(0);
  });

  it('a signal no router drained for (SIGINT: a person) keeps the delay', async () => {
    const service = await start({ BATON_INSTANCE: 'v1-1', HOST: '127.0.0.1', BATON_ROUTER_DRAINS_FIRST: '1' });
    service.kill('SIGINT');
    await waitFor(() => line(service.lines(), 'shutdown phase: propagation') !== undefined, 10_000, 'the propagation phase');
    expect(line(service.lines(), 'shutdown phase: propagation')).toMatchObject({ budgetMs: 5000 });
    service.kill('SIGINT'); // a second Ctrl-C cuts it
    expect(await service.exited).toBe(3);
  });
});

/** True when something accepts TCP connections at host:port. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('HOST under a deploy platform', () => {
  // 127.0.0.2 is loopback too on Linux, so "bound to it only" shows as 127.0.0.1 refusing.
  it.skipIf(process.platform !== 'linux')('with BATON_INSTANCE set, serve() listens on HOST only', async () => {
    const service = await start({ BATON_INSTANCE: 'v1-1', HOST: '127.0.0.2' });
    const { port, hostname } = new URL(service.url);
    expect(hostname).toBe('127.0.0.2');
    expect(await accepts('127.0.0.2', Number(port))).toBe(true);
    expect(await accepts('127.0.0.1', Number(port))).toBe(false);
  });

  it.skipIf(process.platform !== 'linux')('HOST alone (zsh and tcsh set it to the machine name) is not read', async () => {
    const service = await start({ HOST: '127.0.0.2' });
    const { port } = new URL(service.url);
    expect(await accepts('127.0.0.1', Number(port))).toBe(true);
  });
});

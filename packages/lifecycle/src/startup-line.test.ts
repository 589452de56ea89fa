import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchText, waitFor } from '@baton/testing';
import { fileURLToPath } from 'node:url';
import { isBatonError } from './errors.js';
import { createLifecycle } from './lifecycle.js';
import { jsonLogger, silentLogger } from './logger.js';
import { serve, type Served } from './serve.js';

// The user's service of the README, run as `baton deploy`'s local platform runs it.
const fixture = fileURLToPath(new URL('../fixtures/plain-service.mjs', import.meta.url));

const running: Served[] = [];
const kills: Array<() => void> = [];
afterEach(async () => {
  for (const kill of kills.splice(0)) kill();
  await Promise.all(running.splice(0).map((served) => served.shutdown('test over').then(() => served.stopped)));
});

/** What a deploy platform does with a log line (the rule of @baton/deploy's listening-line.ts): top-level event and port. */
function announcedPort(line: string): number | undefined {
  if (!line.startsWith('{') || !line.includes('listening')) return undefined;
  const parsed = JSON.parse(line) as { event?: unknown; port?: unknown };
  return parsed.event === 'listening' && typeof parsed.port === 'number' && Number.isInteger(parsed.port) ? parsed.port : undefined;
}

function capture(): { lines: string[]; logger: ReturnType<typeof jsonLogger> } {
  const lines: string[] = [];
  return { lines, logger: jsonLogger({ write: (line) => lines.push(line.trimEnd()) }) };
}

describe('the startup line', () => {
  it('is one JSON line once listening, with the url, port, release and probe paths a deploy platform reads', async () => {
    const { lines, logger } = capture();
    const served = await serve({ handler: (_request, response) => response.end('ok'), port: 0, host: '127.0.0.1', lifecycle: { logger, release: 'v2', service: 'orders' }, signals: false, exit: false });
    running.push(served);
    const listening = lines.filter((line) => announcedPort(line) !== undefined);
    expect(listening).toHaveLength(1);
    const line = JSON.parse(listening[0] as string) as Record<string, unknown>;
    expect(line).toMatchObject({
      level: 'info',
      name: 'baton',
      msg: `listening on http://127.0.0.1:${served.port}`,
      event: 'listening',
      port: served.port,
      url: served.url,
      service: 'orders',
      release: 'v2',
      probes: { liveness: '/livez', readiness: '/readyz', startup: '/startupz', health: '/healthz' },
    });
    expect(announcedPort(listening[0] as string)).toBe(served.port);
  });

  it('names the probes port when the probes have a server of their own, and only the app port at the top', async () => {
    const { lines, logger } = capture();
    const served = await serve({
      handler: (_request, response) => response.end('ok'),
      port: 0,
      host: '127.0.0.1',
      probes: { port: 0, paths: { health: false, readiness: '/ready' } },
      lifecycle: { logger },
      signals: false,
      exit: false,
    });
    running.push(served);
    const line = JSON.parse(lines.find((entry) => announcedPort(entry) !== undefined) as string) as Record<string, unknown>;
    expect(line.port).toBe(served.port);
    expect(line.probes).toEqual({ liveness: '/livez', readiness: '/ready', startup: '/startupz', port: served.probePort });
  });

  it('goes through a logger of your own with the same fields, and nowhere with silentLogger given', async () => {
    const entries: Array<{ message: string; fields: Record<string, unknown> | undefined }> = [];
    const mine = { info: (message: string, fields?: Record<string, unknown>) => entries.push({ message, fields }), warn() {}, error() {} };
    const served = await serve({ handler: (_request, response) => response.end('ok'), port: 0, lifecycle: createLifecycle({ logger: mine, release: 'v3' }), signals: false, exit: false });
    running.push(served);
    expect(entries.filter((entry) => entry.fields?.event === 'listening')).toEqual([
      { message: `listening on ${served.url}`, fields: expect.objectContaining({ event: 'listening', port: served.port, url: served.url, release: 'v3' }) },
    ]);

    const quiet = createLifecycle({ logger: silentLogger });
    const silent = await serve({ handler: (_request, response) => response.end('ok'), port: 0, lifecycle: quiet, signals: false, exit: false });
    running.push(silent);
    expect(quiet.hasLogger).toBe(true);
  });

  it('appears on stderr of a plain service started with PORT=0 and RELEASE (as baton deploy starts it), whose port then answers', async () => {
    const child = spawn(process.execPath, [fixture], { env: { ...process.env, PORT: '0', RELEASE: 'v7' }, stdio: ['ignore', 'pipe', 'pipe'] });
    kills.push(() => child.kill('SIGKILL'));
    let stderr = '';
    let stdout = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await waitFor(() => stderr.split('\n').some((line) => announcedPort(line) !== undefined), 20_000, 'the listening line');
    const lines = stderr.split('\n').filter((line) => announcedPort(line) !== undefined);
    expect(lines).toHaveLength(1);
    const port = announcedPort(lines[0] as string) as number;
    expect(port).toBeGreaterThan(0);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ release: 'v7', url: `http://127.0.0.1:${port}` });
    expect(await fetchText(`http://127.0.0.1:${port}/`)).toMatchObject({ status: 200, body: 'hello' });
    await waitFor(async () => (await fetchText(`http://127.0.0.1:${port}/readyz`)).status === 200, 20_000, 'readiness');
    const health = JSON.parse((await fetchText(`http://127.0.0.1:${port}/healthz`)).body) as { releaseId?: string };
    expect(health.releaseId).toBe('v7');
    expect(stdout).toBe(''); // stdout stays the app's
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('PORT', () => {
  const saved = process.env.PORT;
  afterEach(() => {
    if (saved === undefined) delete process.env.PORT;
    else process.env.PORT = saved;
  });

  it('that is not a port number is refused with an error naming PORT', async () => {
    for (const bad of ['abc', '3000x', '-1', '70000', '1e3']) {
      process.env.PORT = bad;
      const error = await serve({ handler: () => {}, lifecycle: { logger: silentLogger }, signals: false, exit: false }).catch((caught: unknown) => caught);
      expect(isBatonError(error, 'BATON_ERR_INVALID_OPTION'), bad).toBe(true);
      expect((error as Error).message).toContain('PORT');
      expect((error as Error).message).toContain(JSON.stringify(bad));
    }
  });
});

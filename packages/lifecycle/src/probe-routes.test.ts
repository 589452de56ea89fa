import type { RequestListener } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { isBatonError } from './errors.js';
import { fetchText } from '@baton/testing';
import type { LifecycleOptions } from './lifecycle.js';
import { silentLogger } from './logger.js';
import { resolveProbeRoutes, type ProbeRouteOptions } from './probe-routes.js';
import { serve, type Served } from './serve.js';

const app: RequestListener = (_req, res) => res.end('app');
let running: Served[] = [];

async function start(lifecycle: LifecycleOptions = {}, probes: ServeProbes = {}): Promise<Served> {
  const served = await serve({
    handler: app,
    port: 0,
    host: '127.0.0.1',
    signals: false,
    exit: false,
    probes,
    lifecycle: { logger: silentLogger, shutdown: { propagationDelayMs: 0 }, ...lifecycle },
  });
  running.push(served);
  await served.ready;
  return served;
}
type ServeProbes = ProbeRouteOptions & { port?: number };

afterEach(async () => {
  await Promise.all(running.map((s) => s.shutdown()));
  running = [];
});

describe('probe routes', () => {
  it('answer 200 with application/health+json and no cache when everything passes', async () => {
    const { url } = await start({ service: 'orders', release: '2.1.0' });
    for (const path of ['/livez', '/readyz', '/startupz', '/healthz']) {
      const res = await fetchText(url + path);
      expect(res.status, path).toBe(200);
      expect(res.headers['content-type']).toBe('application/health+json');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(JSON.parse(res.body)).toEqual({ status: 'pass', serviceId: 'orders', releaseId: '2.1.0' });
    }
    expect((await fetchText(`${url}/orders`)).body).toBe('app');
  });

  it('fail readiness (503) when a critical check fails, and only warn (200) for a non-critical one', async () => {
    let dbUp = true;
    const { url } = await start({
      checks: [
        { name: 'db', check: () => dbUp },
        { name: 'cache', critical: false, check: () => false },
      ],
    });
    const warn = await fetchText(`${url}/readyz`);
    expect(warn.status).toBe(200);
    expect(JSON.parse(warn.body).status).toBe('warn');
    dbUp = false;
    const fail = await fetchText(`${url}/readyz`);
    expect(fail.status).toBe(503);
    expect(JSON.parse(fail.body)).toMatchObject({ status: 'fail', output: 'failing: db' });
    // Readiness checks are not liveness checks: the process is alive, do not restart it.
    expect((await fetchText(`${url}/livez`)).status).toBe(200);
  });

  it('list every check with ?verbose, and hide outputs unless details are allowed', async () => {
    const checks: LifecycleOptions['checks'] = [
      { name: 'db', check: () => ({ status: 'fail', output: 'password authentication failed for user "app"', observedValue: 0 }) },
    ];
    const hidden = await start({ checks });
    const body = JSON.parse((await fetchText(`${hidden.url}/readyz?verbose`)).body);
    expect(body.checks.db).toEqual([{ status: 'fail', time: expect.any(String) }]);
    expect(body.checks['lifecycle:state'][0]).toMatchObject({ status: 'pass', observedValue: 'ready' });
    expect(JSON.stringify(body)).not.toContain('password');

    const shown = await start({ checks }, { details: (req) => req.headers.authorization === 'Bearer ops' });
    const anonymous = JSON.parse((await fetchText(`${shown.url}/readyz?verbose=1`)).body);
    expect(anonymous.checks.db[0].output).toBeUndefined();
    const ops = JSON.parse((await fetchText(`${shown.url}/readyz?verbose`, { headers: { authorization: 'Bearer ops' } })).body);
    expect(ops.checks.db[0]).toMatchObject({ output: 'password authentication failed for user "app"', observedValue: 0 });
    // ?verbose=false is not verbose
    expect(JSON.parse((await fetchText(`${shown.url}/readyz?verbose=false`)).body).checks).toBeUndefined();
  });

  it('answer HEAD with the status and no body, keep routing with odd query strings, and refuse other methods', async () => {
    let up = false;
    const { url } = await start({ checks: [{ name: 'db', check: () => up, probes: ['readiness'] }] });
    const head = await fetchText(`${url}/readyz`, { method: 'HEAD' });
    expect(head.status).toBe(503);
    expect(head.body).toBe('');
    up = true;
    for (const path of ['/readyz?', '/readyz?x=%E0%A4%A', '/readyz?verbose&verbose=0&a=b', '/readyz?%%%']) {
      expect((await fetchText(url + path)).status, path).toBe(200);
    }
    const post = await fetchText(`${url}/readyz`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    // Not a probe path: the app answers.
    expect((await fetchText(`${url}/readyz/extra`)).body).toBe('app');
  });

  it('fail the startup probe until startup checks pass, and gate readiness on it', async () => {
    let migrated = false;
    const served = await serve({
      handler: app,
      port: 0,
      host: '127.0.0.1',
      signals: false,
      exit: false,
      lifecycle: { logger: silentLogger, startupRetryMs: 20, shutdown: { propagationDelayMs: 0 }, checks: [{ name: 'migrations', probes: ['startup'], check: () => migrated }] },
    });
    running.push(served);
    const startup = await fetchText(`${served.url}/startupz`);
    expect(startup.status).toBe(503);
    expect(JSON.parse(startup.body).output).toBe('starting');
    expect((await fetchText(`${served.url}/readyz`)).status).toBe(503);
    expect((await fetchText(`${served.url}/livez`)).status).toBe(200);
    migrated = true;
    await served.ready;
    expect((await fetchText(`${served.url}/startupz`)).status).toBe(200);
    expect((await fetchText(`${served.url}/readyz`)).status).toBe(200);
  });

  it('serve probes on a separate port, and keep answering there through the drain', async () => {
    const served = await start({ shutdown: { propagationDelayMs: 300 } }, { port: 0 });
    const probeUrl = `http://127.0.0.1:${served.probePort}`;
    expect((await fetchText(`${probeUrl}/readyz`)).status).toBe(200);
    expect((await fetchText(`${served.url}/readyz`)).body).toBe('app'); // the app port has no probes
    const stopping = served.shutdown();
    const during = await fetchText(`${probeUrl}/readyz`);
    expect(during.status).toBe(503);
    expect(JSON.parse(during.body).output).toBe('draining');
    expect((await fetchText(`${probeUrl}/livez`)).status).toBe(200);
    await stopping;
  });

  it('use configured paths and turn a probe off with false', async () => {
    const { url } = await start({}, { paths: { readiness: '/-/ready', health: false } });
    expect((await fetchText(`${url}/-/ready`)).status).toBe(200);
    expect((await fetchText(`${url}/healthz`)).body).toBe('app');
  });

  it('reject bad path options with a clear error', () => {
    const cases: Array<[ProbeRouteOptions, RegExp]> = [
      [{ paths: { readiness: 'readyz' } }, /paths.readiness` must be a path starting with "\/"/],
      [{ paths: { readiness: '/x', liveness: '/x' } }, /path "\/x" is used by two probes/],
      [{ details: 'yes' as never }, /`details` must be a boolean or a function/],
    ];
    for (const [options, message] of cases) {
      let thrown: unknown;
      try {
        resolveProbeRoutes(options);
      } catch (error) {
        thrown = error;
      }
      expect(isBatonError(thrown, 'BATON_ERR_INVALID_OPTION')).toBe(true);
      expect((thrown as Error).message).toMatch(message);
    }
  });
});

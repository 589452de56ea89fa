import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { BatonError } from '@baton/lifecycle';
import { createMetrics } from '@baton/metrics';
import { createToggles, defineToggles, type RequestContextOptions } from '@baton/toggles';
import { fetchText, waitFor } from '@baton/testing';
import { batonPlugin, serveFastify, type BatonPluginOptions } from './index.js';

const registry = defineToggles({
  newCheckout: { kind: 'release', default: false, description: 'The one-page checkout' },
  canaryBanner: { kind: 'release', default: false, description: 'A banner shown by the canary release only' },
  darkMode: { kind: 'release', default: false, description: 'Dark theme' },
});
type Name = keyof typeof registry.definitions;

function createFlags(path: string) {
  return createToggles(registry, { source: { type: 'file', path } });
}

// Checked by `tsc -b` (this file is part of the build), not by vitest: with the
// registry registered, `request.toggles` takes its names only (see the route below).
declare module '@baton/toggles' {
  interface Register {
    toggles: ReturnType<typeof createFlags>;
  }
}

/** Unleash's client format, so strategies and constraints are unleash-client's own evaluations. */
function unleashFile(newCheckout: { name: string; parameters?: Record<string, string> }) {
  return JSON.stringify({
    version: 2,
    features: [
      { name: 'newCheckout', enabled: true, strategies: [{ ...newCheckout, constraints: [] }] },
      {
        name: 'canaryBanner',
        enabled: true,
        strategies: [{ name: 'default', parameters: {}, constraints: [{ contextName: 'release', operator: 'IN', values: ['v2'] }] }],
      },
      { name: 'darkMode', enabled: false, strategies: [{ name: 'default', parameters: {}, constraints: [] }] },
    ],
  });
}

const ALICE_ONLY = { name: 'userWithId', parameters: { userIds: 'alice,bob' } };

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch {
      // the next cleanup still runs
    }
  }
});

function togglesFile(content = unleashFile(ALICE_ONLY)): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-fastify-toggles-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'toggles.json');
  writeFileSync(path, content);
  return path;
}

/** Counts how often each extractor ran: the scope must be built lazily, once per request. */
function countingContext(extra: Partial<RequestContextOptions<FastifyRequest, Name>> = {}) {
  const calls = { userId: 0, properties: 0 };
  const context: RequestContextOptions<FastifyRequest, Name> = {
    userId: (request) => {
      calls.userId += 1;
      if (request.headers['x-explode'] === 'yes') throw new Error('the session store is down');
      return header(request, 'x-user');
    },
    properties: (request) => {
      calls.properties += 1;
      return { tenant: header(request, 'x-tenant') ?? 'none' };
    },
    ...extra,
  };
  return { calls, context };
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

interface StartOptions extends Pick<BatonPluginOptions, 'togglesContext' | 'metrics'> {
  release?: string;
  path?: string;
  fastify?: FastifyServerOptions;
  routes?: (app: FastifyInstance) => void;
}

async function start(options: StartOptions = {}) {
  const path = options.path ?? togglesFile();
  const toggles = createFlags(path);
  cleanups.push(() => toggles.close());
  const app = Fastify(options.fastify);
  cleanups.push(() => app.close());
  await app.register(batonPlugin, {
    lifecycle: { service: 'orders', release: options.release ?? 'v1', shutdown: { propagationDelayMs: 0 } },
    probes: { details: true },
    toggles,
    ...(options.togglesContext === undefined ? {} : { togglesContext: options.togglesContext }),
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
  });
  app.get('/flags', async (request) => ({
    newCheckout: request.toggles.isEnabled('newCheckout'),
    canaryBanner: request.toggles.isEnabled('canaryBanner'),
    darkMode: request.toggles.isEnabled('darkMode'),
    // read twice: still one scope, one run of each extractor
    same: request.toggles === request.toggles,
  }));
  app.get('/plain', async () => ({ plain: true }));
  app.get('/typo', async (request) => ({
    // @ts-expect-error -- a misspelt toggle name does not compile once Register is augmented
    typo: request.toggles.isEnabled('newChekout'),
  }));
  options.routes?.(app);
  const served = await serveFastify(app, { port: 0, host: '127.0.0.1', signals: false, exit: false });
  cleanups.push(async () => {
    app.lifecycle.force('test cleanup');
    await served.stopped;
  });
  await served.ready;
  const flags = async (headers: Record<string, string> = {}) => {
    const response = await fetchText(`${served.url}/flags`, { headers });
    expect(response.status).toBe(200);
    return JSON.parse(response.body) as { newCheckout: boolean; canaryBanner: boolean; darkMode: boolean; same: boolean };
  };
  return { app, served, toggles, path, flags };
}

describe('@baton/fastify with toggles', () => {
  it('evaluates request.toggles with the userId extractor through a userWithId strategy', async () => {
    const { flags } = await start({ togglesContext: countingContext().context });
    expect(await flags({ 'x-user': 'alice' })).toMatchObject({ newCheckout: true, same: true });
    expect(await flags({ 'x-user': 'bob' })).toMatchObject({ newCheckout: true });
    expect(await flags({ 'x-user': 'carol' })).toMatchObject({ newCheckout: false });
    expect(await flags()).toMatchObject({ newCheckout: false });
  });

  it("injects the lifecycle's release into every context: a release constraint is on for v2 only", async () => {
    const path = togglesFile();
    const v1 = await start({ release: 'v1', path });
    const v2 = await start({ release: 'v2', path });
    expect((await v1.flags()).canaryBanner).toBe(false);
    expect((await v2.flags()).canaryBanner).toBe(true);
  });

  it('ignores the override header when overrides are not configured', async () => {
    const { flags } = await start({ togglesContext: countingContext().context });
    expect(await flags({ 'x-baton-toggles': 'newCheckout=on' })).toMatchObject({ newCheckout: false });
    expect(await flags({ 'x-user': 'alice', 'x-baton-toggles': 'newCheckout=off' })).toMatchObject({ newCheckout: true });
  });

  it('applies allow-listed overrides from the header and ignores names not allowed', async () => {
    const { flags, toggles } = await start({ togglesContext: countingContext({ overrides: { allow: ['newCheckout'] } }).context });
    const errors: string[] = [];
    toggles.on('error', (error) => errors.push(error.message));
    expect(await flags({ 'x-baton-toggles': 'newCheckout=on' })).toMatchObject({ newCheckout: true, darkMode: false });
    expect(await flags({ 'x-user': 'alice', 'x-baton-toggles': 'newCheckout=off' })).toMatchObject({ newCheckout: false });
    expect(await flags({ 'x-baton-toggles': 'darkMode=on' })).toMatchObject({ newCheckout: false, darkMode: false });
    expect(errors.join('\n')).toMatch(/darkMode: not allowed/);
    expect(await flags({ 'x-baton-toggles': 'newCheckout=on, darkMode=on' })).toMatchObject({ newCheckout: true, darkMode: false });
  });

  it('reads a custom override header', async () => {
    const { flags } = await start({ togglesContext: { overrides: { allow: ['darkMode'], header: 'X-Test-Toggles' } } });
    expect(await flags({ 'x-baton-toggles': 'darkMode=on' })).toMatchObject({ darkMode: false });
    expect(await flags({ 'x-test-toggles': 'darkMode=on' })).toMatchObject({ darkMode: true });
  });

  it('answers 200 on the fallback context when an extractor throws, and reports it once', async () => {
    const { flags, toggles } = await start({ togglesContext: countingContext().context });
    const codes: string[] = [];
    toggles.on('error', (error) => codes.push(error.code));
    expect(await flags({ 'x-user': 'alice', 'x-explode': 'yes' })).toMatchObject({ newCheckout: false });
    expect(await flags({ 'x-user': 'alice', 'x-explode': 'yes' })).toMatchObject({ newCheckout: false });
    expect(await flags({ 'x-user': 'alice' })).toMatchObject({ newCheckout: true });
    expect(codes).toEqual(['BATON_ERR_TOGGLE_EVALUATION']);
  });

  it("shows the 'toggles' readiness check in the probes", async () => {
    const { served, path } = await start();
    const ready = await fetchText(`${served.url}/readyz?verbose`);
    expect(ready.status).toBe(200);
    const check = JSON.parse(ready.body).checks.toggles[0];
    expect(check).toMatchObject({ status: 'pass', componentType: 'toggles', componentId: path, observedValue: 'synced' });
    expect(check.output).toMatch(/^synced from file/);
    expect(JSON.parse((await fetchText(`${served.url}/healthz?verbose`)).body).checks.toggles[0].status).toBe('pass');
  });

  it('sees a change of the toggle file on the next request', async () => {
    const { flags, path } = await start();
    expect(await flags()).toMatchObject({ newCheckout: false });
    writeFileSync(path, unleashFile({ name: 'default', parameters: {} }));
    await waitFor(async () => (await flags()).newCheckout, 5000, 'the reloaded file to turn newCheckout on');
    expect(await flags({ 'x-user': 'carol' })).toMatchObject({ newCheckout: true });
  });

  it('builds the scope lazily: a request that never reads request.toggles runs no extractor', async () => {
    const { calls, context } = countingContext({ remoteAddress: () => '203.0.113.9' });
    const { served, flags } = await start({ togglesContext: context });
    for (let i = 0; i < 3; i++) expect((await fetchText(`${served.url}/plain`)).status).toBe(200);
    expect(await fetchText(`${served.url}/readyz`)).toMatchObject({ status: 200 });
    expect(await fetchText(`${served.url}/nowhere`)).toMatchObject({ status: 404 });
    expect(calls).toEqual({ userId: 0, properties: 0 });
    await flags({ 'x-user': 'alice' });
    expect(calls).toEqual({ userId: 1, properties: 1 });
  });

  it("uses request.ip (which follows trustProxy) as the default remoteAddress", async () => {
    const { served } = await start({
      fastify: { trustProxy: '127.0.0.1' },
      routes: (app) => app.get('/address', async (request) => ({ remoteAddress: request.toggles.context.remoteAddress ?? null })),
    });
    expect(JSON.parse((await fetchText(`${served.url}/address`)).body)).toEqual({ remoteAddress: '127.0.0.1' });
    const proxied = await fetchText(`${served.url}/address`, { headers: { 'x-forwarded-for': '198.51.100.7' } });
    expect(JSON.parse(proxied.body)).toEqual({ remoteAddress: '198.51.100.7' });
  });

  it('serves request.toggles inside an encapsulated plugin too', async () => {
    const { served } = await start({
      togglesContext: { userId: (request) => header(request, 'x-user') },
      routes: (app) => {
        void app.register(
          async (child) => {
            child.get('/flags', async (request) => ({ newCheckout: request.toggles.isEnabled('newCheckout') }));
          },
          { prefix: '/child' },
        );
      },
    });
    const response = await fetchText(`${served.url}/child/flags`, { headers: { 'x-user': 'alice' } });
    expect(response).toMatchObject({ status: 200 });
    expect(JSON.parse(response.body)).toEqual({ newCheckout: true });
  });

  it('exports evaluations and state into the metrics when both are given', async () => {
    const metrics = createMetrics();
    const { served, flags } = await start({ metrics, togglesContext: { userId: (request) => header(request, 'x-user') } });
    await flags({ 'x-user': 'alice' });
    const scraped = (await fetchText(`${served.url}/metrics`)).body;
    expect(scraped).toMatch(/^baton_toggle_evaluations_total\{[^}]*toggle="newCheckout",result="true"[^}]*\} 1$/m);
    expect(scraped).toMatch(/^baton_toggle_state\{[^}]*state="synced"[^}]*\} 1$/m);
  });

  it('closes the toggles on shutdown: the file is no longer watched', async () => {
    const { app, served, toggles, path } = await start();
    expect(toggles.isEnabled('newCheckout')).toBe(false);
    await served.shutdown('test');
    await served.stopped;
    expect(app.lifecycle.state).toBe('stopped');
    const changes: unknown[] = [];
    toggles.on('change', (status) => changes.push(status));
    writeFileSync(path, unleashFile({ name: 'default', parameters: {} }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(changes).toEqual([]);
    // evaluations go on with the last values
    expect(toggles.isEnabled('newCheckout')).toBe(false);
  });
});

describe('@baton/fastify toggles options', () => {
  async function registration(options: BatonPluginOptions): Promise<unknown> {
    const app = Fastify();
    cleanups.push(() => app.close());
    return app.register(batonPlugin, options).then(
      () => undefined,
      (error: unknown) => error,
    );
  }

  function flags() {
    const toggles = createFlags(togglesFile());
    cleanups.push(() => toggles.close());
    return toggles;
  }

  it('rejects togglesContext without toggles', async () => {
    const error = await registration({ togglesContext: { userId: () => 'x' } });
    expect(error).toBeInstanceOf(BatonError);
    expect(error).toMatchObject({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringMatching(/`togglesContext` needs `toggles`/) });
  });

  it('rejects something that is not a Toggles', async () => {
    // @ts-expect-error -- not a Toggles
    const error = await registration({ toggles: { isEnabled: () => true } });
    expect(error).toMatchObject({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringMatching(/createToggles/) });
  });

  it('rejects bad context options at registration, before anything is bound', async () => {
    const toggles = flags();
    const invalid = (togglesContext: unknown) => registration({ toggles, togglesContext: togglesContext as NonNullable<BatonPluginOptions['togglesContext']> });
    expect(await invalid('userId')).toMatchObject({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringMatching(/`togglesContext` must be an object/) });
    expect(await invalid({ userId: 'x-user' })).toMatchObject({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringMatching(/`userId` must be a function/) });
    expect(await invalid({ overrides: { allow: [] } })).toMatchObject({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringMatching(/overrides need `allow`/) });
    expect(await invalid({ overrides: { allow: ['newCheckout'], header: 'not a header' } })).toMatchObject({ code: 'BATON_ERR_INVALID_OPTION' });
    // @ts-expect-error -- only registered names may be allowed
    expect(await registration({ toggles, togglesContext: { overrides: { allow: ['nope'] } } })).toMatchObject({
      code: 'BATON_ERR_INVALID_OPTION',
      message: expect.stringMatching(/not in the registry: nope/),
    });
    // None of the refusals bound the toggles: a lifecycle can still take them.
    expect(await registration({ toggles })).toBeUndefined();
  });

  it('rejects toggles already bound to another lifecycle', async () => {
    const toggles = flags();
    expect(await registration({ toggles })).toBeUndefined();
    expect(await registration({ toggles })).toMatchObject({ code: 'BATON_ERR_INVALID_STATE' });
  });
});

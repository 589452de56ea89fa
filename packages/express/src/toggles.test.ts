import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express, { type Application, type Request } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '@baton/metrics';
import { createToggles, defineToggles, type RequestContextOptions } from '@baton/toggles';
import { fetchText, waitFor } from '@baton/testing';
import { baton, type BatonExpressOptions } from './index.js';

const registry = defineToggles({
  newCheckout: { kind: 'release', default: false, description: 'The one-page checkout' },
  canaryBanner: { kind: 'release', default: false, description: 'A banner shown by the canary release only' },
  darkMode: { kind: 'release', default: false, description: 'Dark theme' },
});

function createFlags(path: string) {
  return createToggles(registry, { source: { type: 'file', path } });
}

// Checked by `tsc -b` (this file is part of the build), not by vitest: with the
// registry registered, `req.toggles` takes its names only (see the route below).
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
  const dir = mkdtempSync(join(tmpdir(), 'baton-express-toggles-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'toggles.json');
  writeFileSync(path, content);
  return path;
}

/** Counts how often each extractor ran: the scope must be built lazily, once per request. */
function countingContext(extra: Partial<RequestContextOptions<Request, 'newCheckout' | 'canaryBanner' | 'darkMode'>> = {}) {
  const calls = { userId: 0, properties: 0 };
  const context: RequestContextOptions<Request, 'newCheckout' | 'canaryBanner' | 'darkMode'> = {
    userId: (req) => {
      calls.userId += 1;
      if (req.headers['x-explode'] === 'yes') throw new Error('the session store is down');
      return req.get('x-user');
    },
    properties: (req) => {
      calls.properties += 1;
      return { tenant: req.get('x-tenant') ?? 'none' };
    },
    ...extra,
  };
  return { calls, context };
}

async function start(options: { release?: string; path?: string; app?: Application } & Pick<BatonExpressOptions, 'togglesContext' | 'metrics'> = {}) {
  const path = options.path ?? togglesFile();
  const toggles = createFlags(path);
  cleanups.push(() => toggles.close());
  const app = options.app ?? express();
  const b = baton(app, {
    lifecycle: { service: 'orders', release: options.release ?? 'v1', shutdown: { propagationDelayMs: 0 } },
    probes: { details: true },
    toggles,
    ...(options.togglesContext === undefined ? {} : { togglesContext: options.togglesContext }),
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
  });
  app.get('/flags', (req, res) => {
    res.json({
      newCheckout: req.toggles.isEnabled('newCheckout'),
      canaryBanner: req.toggles.isEnabled('canaryBanner'),
      darkMode: req.toggles.isEnabled('darkMode'),
      // read twice: still one scope, one run of each extractor
      same: req.toggles === req.toggles,
    });
  });
  app.get('/plain', (_req, res) => {
    res.json({ plain: true });
  });
  app.get('/typo', (req, res) => {
    // @ts-expect-error -- a misspelt toggle name does not compile once Register is augmented
    res.json({ typo: req.toggles.isEnabled('newChekout') });
  });
  const listening = await b.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(async () => {
    b.lifecycle.force('test cleanup');
    await listening.close();
  });
  const flags = async (headers: Record<string, string> = {}) => {
    const response = await fetchText(`${listening.url}/flags`, { headers });
    expect(response.status).toBe(200);
    return JSON.parse(response.body) as { newCheckout: boolean; canaryBanner: boolean; darkMode: boolean; same: boolean };
  };
  return { b, toggles, listening, path, flags };
}

describe('@baton/express with toggles', () => {
  it('evaluates req.toggles with the userId extractor through a userWithId strategy', async () => {
    const { context } = countingContext();
    const { flags } = await start({ togglesContext: context });
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
    const { context } = countingContext();
    const { flags, toggles } = await start({ togglesContext: context });
    const codes: string[] = [];
    toggles.on('error', (error) => codes.push(error.code));
    expect(await flags({ 'x-user': 'alice', 'x-explode': 'yes' })).toMatchObject({ newCheckout: false });
    expect(await flags({ 'x-user': 'alice', 'x-explode': 'yes' })).toMatchObject({ newCheckout: false });
    expect(await flags({ 'x-user': 'alice' })).toMatchObject({ newCheckout: true });
    expect(codes).toEqual(['BATON_ERR_TOGGLE_EVALUATION']);
  });

  it("shows the 'toggles' readiness check in the probes", async () => {
    const { listening, path } = await start();
    const ready = await fetchText(`${listening.url}/readyz?verbose`);
    expect(ready.status).toBe(200);
    const check = JSON.parse(ready.body).checks.toggles[0];
    expect(check).toMatchObject({ status: 'pass', componentType: 'toggles', componentId: path, observedValue: 'synced' });
    expect(check.output).toMatch(/^synced from file/);
    expect(JSON.parse((await fetchText(`${listening.url}/healthz?verbose`)).body).checks.toggles[0].status).toBe('pass');
  });

  it('sees a change of the toggle file on the next request', async () => {
    const { flags, path } = await start();
    expect(await flags()).toMatchObject({ newCheckout: false });
    writeFileSync(path, unleashFile({ name: 'default', parameters: {} }));
    await waitFor(async () => (await flags()).newCheckout, 5000, 'the reloaded file to turn newCheckout on');
    expect(await flags({ 'x-user': 'carol' })).toMatchObject({ newCheckout: true });
  });

  it('builds the scope lazily: a request that never reads req.toggles runs no extractor', async () => {
    const { calls, context } = countingContext({ remoteAddress: () => '203.0.113.9' });
    const { listening, flags } = await start({ togglesContext: context });
    for (let i = 0; i < 3; i++) expect((await fetchText(`${listening.url}/plain`)).status).toBe(200);
    expect(await fetchText(`${listening.url}/readyz`)).toMatchObject({ status: 200 });
    expect(calls).toEqual({ userId: 0, properties: 0 });
    await flags({ 'x-user': 'alice' });
    expect(calls).toEqual({ userId: 1, properties: 1 });
  });

  it("uses req.ip (which follows 'trust proxy') as the default remoteAddress", async () => {
    const app = express();
    app.set('trust proxy', 'loopback');
    const { listening } = await start({ app });
    app.get('/address', (req, res) => {
      res.json({ remoteAddress: req.toggles.context.remoteAddress ?? null });
    });
    const direct = JSON.parse((await fetchText(`${listening.url}/address`)).body);
    expect(direct.remoteAddress).toBe('127.0.0.1');
    const proxied = JSON.parse((await fetchText(`${listening.url}/address`, { headers: { 'x-forwarded-for': '198.51.100.7' } })).body);
    expect(proxied.remoteAddress).toBe('198.51.100.7');
  });

  it('serves req.toggles inside a mounted sub-app too', async () => {
    const app = express();
    const sub = express();
    sub.get('/flags', (req, res) => {
      res.json({ newCheckout: req.toggles.isEnabled('newCheckout') });
    });
    app.use('/sub', sub);
    const { listening } = await start({ app, togglesContext: { userId: (req) => req.get('x-user') } });
    const response = await fetchText(`${listening.url}/sub/flags`, { headers: { 'x-user': 'alice' } });
    expect(response).toMatchObject({ status: 200 });
    expect(JSON.parse(response.body)).toEqual({ newCheckout: true });
  });

  it('works on Express 4', async () => {
    // Express 4 is a dev dependency under an alias; it ships no types of its own.
    const express4 = createRequire(import.meta.url)('express4') as () => Application;
    const { flags } = await start({ app: express4(), togglesContext: { userId: (req) => req.get('x-user') } });
    expect(await flags({ 'x-user': 'alice' })).toMatchObject({ newCheckout: true, same: true });
    expect(await flags({ 'x-user': 'carol' })).toMatchObject({ newCheckout: false });
  });

  it('exports evaluations and state into the metrics when both are given', async () => {
    const metrics = createMetrics();
    const { listening, flags } = await start({ metrics, togglesContext: { userId: (req) => req.get('x-user') } });
    await flags({ 'x-user': 'alice' });
    const scraped = (await fetchText(`${listening.url}/metrics`)).body;
    expect(scraped).toMatch(/^baton_toggle_evaluations_total\{[^}]*toggle="newCheckout",result="true"[^}]*\} 1$/m);
    expect(scraped).toMatch(/^baton_toggle_state\{[^}]*state="synced"[^}]*\} 1$/m);
  });

  it('closes the toggles on shutdown: the file is no longer watched', async () => {
    const { b, listening, toggles, path } = await start();
    expect(toggles.isEnabled('newCheckout')).toBe(false);
    await listening.close();
    expect(b.lifecycle.state).toBe('stopped');
    const changes: unknown[] = [];
    toggles.on('change', (status) => changes.push(status));
    writeFileSync(path, unleashFile({ name: 'default', parameters: {} }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(changes).toEqual([]);
    // evaluations go on with the last values
    expect(toggles.isEnabled('newCheckout')).toBe(false);
  });
});

describe('@baton/express toggles options', () => {
  const app = () => express();

  it('refuses togglesContext without toggles', () => {
    expect(() => baton(app(), { togglesContext: { userId: () => 'x' } })).toThrow(
      expect.objectContaining({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringMatching(/`togglesContext` needs `toggles`/) }),
    );
  });

  it('refuses something that is not a Toggles', () => {
    // @ts-expect-error -- not a Toggles
    expect(() => baton(app(), { toggles: { isEnabled: () => true } })).toThrow(expect.objectContaining({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringMatching(/createToggles/) }));
  });

  it('refuses bad context options at the call, before anything is bound', () => {
    const path = togglesFile();
    const toggles = createFlags(path);
    cleanups.push(() => toggles.close());
    const invalid = (togglesContext: unknown) => () => baton(app(), { toggles, togglesContext: togglesContext as NonNullable<BatonExpressOptions['togglesContext']> });
    expect(invalid('userId')).toThrow(expect.objectContaining({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringMatching(/`togglesContext` must be an object/) }));
    expect(invalid({ userId: 'x-user' })).toThrow(expect.objectContaining({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringMatching(/`userId` must be a function/) }));
    expect(invalid({ overrides: { allow: [] } })).toThrow(expect.objectContaining({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringMatching(/overrides need `allow`/) }));
    expect(invalid({ overrides: { allow: ['newCheckout'], header: 'not a header' } })).toThrow(expect.objectContaining({ code: 'BATON_ERR_INVALID_OPTION' }));
    // @ts-expect-error -- only registered names may be allowed
    expect(() => baton(app(), { toggles, togglesContext: { overrides: { allow: ['nope'] } } })).toThrow(
      expect.objectContaining({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringMatching(/not in the registry: nope/) }),
    );
    // None of the refusals bound the toggles: a lifecycle can still take them.
    expect(() => baton(app(), { toggles })).not.toThrow();
  });

  it('refuses toggles already bound to another lifecycle', () => {
    const path = togglesFile();
    const toggles = createFlags(path);
    cleanups.push(() => toggles.close());
    baton(app(), { toggles });
    expect(() => baton(app(), { toggles })).toThrow(expect.objectContaining({ code: 'BATON_ERR_INVALID_STATE' }));
  });
});

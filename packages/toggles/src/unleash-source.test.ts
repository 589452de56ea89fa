import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { createLifecycle, silentLogger, type BatonError, type Lifecycle } from '@baton/lifecycle';
import { delay, waitFor } from '@baton/testing';
import { startFaultProxy, type FaultMode, type FaultProxy } from '@baton/testing/fault-proxy';
import { useUnleashStack } from '@baton/testing/unleash';
import { defineToggles, type ToggleDefinitions, type ToggleRegistry } from './registry.js';
import type { UnleashSource } from './toggle-source.js';
import { createToggles, type TogglesOptions, type ToggleState } from './toggles.js';

// The Unleash source against a real unleash-server 8 over a real PostgreSQL
// (one stack for the file), with a real HTTP fault proxy where the server
// must misbehave. Every test has its own toggle names, app name and snapshot
// directory, so none sees another's toggles on disk.
const REFRESH_MS = 250;

type SourceOptions = Partial<Omit<UnleashSource, 'type'>> & { appName: string; snapshotDir: string | false };

describe('the Unleash source against a real Unleash server', () => {
  const server = useUnleashStack();
  const cleanups: (() => unknown)[] = [];

  afterEach(async () => {
    // Last opened, first closed; every one runs even when another throws.
    const failures: unknown[] = [];
    while (cleanups.length > 0) {
      try {
        await cleanups.pop()?.();
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw failures[0];
  });

  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'baton-toggles-test-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  /** Toggles over the real server (unless `url` says otherwise), polled every {@link REFRESH_MS}; closed after the test. */
  function startToggles<D extends ToggleDefinitions>(registry: ToggleRegistry<D>, source: SourceOptions, options: Omit<TogglesOptions, 'source'> = {}) {
    const unleashSource: UnleashSource = { type: 'unleash', url: server().apiUrl, token: server().clientToken, refreshIntervalMs: REFRESH_MS, ...source };
    const toggles = createToggles(registry, { ...options, source: unleashSource });
    const errors: BatonError[] = [];
    const states: ToggleState[] = [];
    toggles.on('error', (error) => errors.push(error));
    toggles.on('state', (status) => states.push(status.state));
    cleanups.push(() => toggles.close());
    return { toggles, errors, states };
  }

  async function startProxy(mode: FaultMode = 'pass'): Promise<FaultProxy> {
    const proxy = await startFaultProxy(server().url, { mode });
    cleanups.push(() => proxy.close());
    return proxy;
  }

  /** A lifecycle that is `ready`, so its readiness probe runs the checks. */
  function lifecycleFor(service: string): Lifecycle {
    const lifecycle = createLifecycle({ service, logger: silentLogger, shutdown: { propagationDelayMs: 0 } });
    cleanups.push(() => lifecycle.shutdown('test over'));
    return lifecycle;
  }

  /** The readiness probe as an orchestrator sees it, plus the toggles check's entry. */
  async function readiness(lifecycle: Lifecycle) {
    const report = await lifecycle.probe('readiness', { verbose: true, details: true });
    return { statusCode: report.statusCode, status: report.body.status, toggles: report.body.checks?.toggles?.[0] };
  }

  /** An API URL nothing listens on: a port the system just gave out, closed again. */
  async function deadUrl(): Promise<string> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    return `http://127.0.0.1:${port}/api`;
  }

  /**
   * Waits until the server's client API itself serves these toggles with
   * these values. Unleash 8 serves a cached answer rebuilt about once a
   * second, so a toggle just created may not be served yet; tests wait here
   * rather than read a stale answer as the service's fault.
   */
  async function untilServed(expected: Record<string, boolean>): Promise<void> {
    await waitFor(
      async () => {
        // Asked as the service asks (the client spec picks one of the server's cached answers).
        const response = await fetch(`${server().apiUrl}/client/features`, { headers: { authorization: server().clientToken, 'unleash-client-spec': '5.2.0' } });
        const { features } = (await response.json()) as { features: { name: string; enabled: boolean }[] };
        return Object.entries(expected).every(([name, enabled]) => features.find((candidate) => candidate.name === name)?.enabled === enabled);
      },
      15_000,
      `the server to serve ${JSON.stringify(expected)}`,
    );
  }

  const featuresRequests = (proxy: FaultProxy): number => proxy.count((request) => request.method === 'GET' && request.path.startsWith('/api/client/features'));

  describe('sync', () => {
    it('sees toggles created over the admin API: never-synced → synced, a fresh sync, and the missing ones on their kind’s fallback', async () => {
      await server().createToggle('sync.checkout', { type: 'release', enabled: true });
      await server().createToggle('sync.payments', { type: 'kill-switch', enabled: false });
      await untilServed({ 'sync.checkout': true, 'sync.payments': false });
      const registry = defineToggles({
        'sync.checkout': { kind: 'release', default: false, description: 'The one-page checkout' },
        'sync.payments': { kind: 'kill-switch', default: true, description: 'Card payments' },
        // Not on the server: a release fails closed whatever its default, a kill switch stays on.
        'sync.notOnServer': { kind: 'release', default: true, description: 'A release nobody created in Unleash' },
        'sync.switchNotOnServer': { kind: 'kill-switch', default: false, description: 'A kill switch nobody created in Unleash' },
      });
      const { toggles, states, errors } = startToggles(registry, { appName: 'baton-test-sync', snapshotDir: await tempDir() });

      // Before the first answer: nothing loaded, every toggle on its fallback.
      expect(toggles.status()).toMatchObject({ state: 'never-synced', loadedFrom: 'fallbacks', source: 'unleash' });
      expect(toggles.isEnabled('sync.checkout')).toBe(false);
      expect(toggles.isEnabled('sync.payments')).toBe(true);

      const status = await toggles.ready();
      expect(status).toMatchObject({ state: 'synced', loadedFrom: 'server', location: `${server().apiUrl}/client/features` });
      expect(status.lastError).toBeUndefined();
      expect(status.lastSyncAgeMs).toBeLessThan(5_000);
      expect(states).toEqual(['synced']);
      expect(status.missing).toEqual(['sync.notOnServer', 'sync.switchNotOnServer']);

      expect(toggles.isEnabled('sync.checkout')).toBe(true);
      expect(toggles.isEnabled('sync.payments')).toBe(false);
      expect(toggles.isEnabled('sync.notOnServer')).toBe(false);
      expect(toggles.isEnabled('sync.switchNotOnServer')).toBe(true);

      // Polling goes on (304s): the sync age stays fresh.
      const firstSync = status.lastSyncAt ?? 0;
      await waitFor(() => (toggles.status().lastSyncAt ?? 0) > firstSync, 10_000, 'a later sync');
      expect(toggles.status().lastSyncAgeMs).toBeLessThan(5_000);
      expect(toggles.status().state).toBe('synced');
      expect(errors).toEqual([]);
    });
  });

  describe('flips', () => {
    it('sees flips made over the admin API within a few refresh intervals', async () => {
      await server().createToggle('flip.checkout', { type: 'release', enabled: false });
      await untilServed({ 'flip.checkout': false });
      const registry = defineToggles({ 'flip.checkout': { kind: 'release', default: false, description: 'The one-page checkout' } });
      const { toggles } = startToggles(registry, { appName: 'baton-test-flip', snapshotDir: await tempDir() });
      await toggles.ready();
      expect(toggles.isEnabled('flip.checkout')).toBe(false);

      const timings: number[] = [];
      for (let flip = 1; flip <= 5; flip += 1) {
        const next = flip % 2 === 1;
        // From the operator's click (the admin call) to the service serving the new value.
        const clicked = performance.now();
        await server().setEnabled('flip.checkout', next);
        while (toggles.isEnabled('flip.checkout') !== next) {
          if (performance.now() - clicked > 10_000) throw new Error(`flip ${flip} (→ ${next}) not seen within 10 s`);
          await delay(5);
        }
        timings.push(performance.now() - clicked);
        // Let the flip land at a different point of the poll cycle each time.
        await delay(37 * flip);
      }
      const sorted = [...timings].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
      const max = sorted.at(-1) ?? 0;
      console.log(`toggles: flip → seen by the service: median ${Math.round(median)} ms, max ${Math.round(max)} ms over ${timings.length} flips (refresh ${REFRESH_MS} ms)`);
      for (const timing of timings) expect(timing).toBeLessThan(10_000);
    });

    it('serves the kind’s fallback for a toggle deleted over the admin API', async () => {
      await server().createToggle('deleted.checkout', { type: 'release', enabled: true });
      await server().createToggle('deleted.payments', { type: 'kill-switch', enabled: false });
      await untilServed({ 'deleted.checkout': true, 'deleted.payments': false });
      const registry = defineToggles({
        'deleted.checkout': { kind: 'release', default: true, description: 'The one-page checkout' },
        'deleted.payments': { kind: 'kill-switch', default: false, description: 'Card payments' },
      });
      const { toggles } = startToggles(registry, { appName: 'baton-test-deleted', snapshotDir: await tempDir() });
      await toggles.ready();
      expect(toggles.isEnabled('deleted.checkout')).toBe(true);
      expect(toggles.isEnabled('deleted.payments')).toBe(false);

      await server().deleteToggle('deleted.checkout');
      await server().deleteToggle('deleted.payments');
      await waitFor(() => toggles.status().missing.length === 2, 10_000, 'the deletes to reach the service');
      expect(toggles.status()).toMatchObject({ state: 'synced', missing: ['deleted.checkout', 'deleted.payments'] });
      expect(toggles.isEnabled('deleted.checkout')).toBe(false);
      expect(toggles.isEnabled('deleted.payments')).toBe(true);
    });
  });

  describe('variants', () => {
    it('parses payloads to the registry’s types; a payload that does not parse is served without one, with an error event', async () => {
      const one = (payload: { type: 'json' | 'string' | 'number'; value: string }) => [{ name: 'only', weight: 1000, payload }];
      await server().createToggle('variant.limits', { type: 'experiment', enabled: true, variants: one({ type: 'json', value: '{"maxItems":30,"currencies":["EUR","USD"]}' }) });
      await server().createToggle('variant.discount', { type: 'experiment', enabled: true, variants: one({ type: 'number', value: '12.5' }) });
      await server().createToggle('variant.colour', { type: 'experiment', enabled: true, variants: one({ type: 'string', value: 'teal' }) });
      await server().createToggle('variant.badNumber', { type: 'experiment', enabled: true, variants: one({ type: 'string', value: 'twelve' }) });
      await server().createToggle('variant.badJson', { type: 'experiment', enabled: true, variants: one({ type: 'string', value: '{maxItems: 30}' }) });
      await server().createToggle('variant.none', { type: 'experiment', enabled: true });
      await untilServed({ 'variant.limits': true, 'variant.discount': true, 'variant.colour': true, 'variant.badNumber': true, 'variant.badJson': true, 'variant.none': true });
      const registry = defineToggles({
        'variant.limits': { kind: 'experiment', default: false, description: 'Basket limits', payload: 'json' },
        'variant.discount': { kind: 'experiment', default: false, description: 'Discount percentage', payload: 'number' },
        'variant.colour': { kind: 'experiment', default: false, description: 'Button colour', payload: 'string' },
        'variant.badNumber': { kind: 'experiment', default: false, description: 'A number the server gives as words', payload: 'number' },
        'variant.badJson': { kind: 'experiment', default: false, description: 'JSON the server gives unquoted', payload: 'json' },
        'variant.none': { kind: 'experiment', default: false, description: 'No variants at all' },
      });
      const { toggles, errors } = startToggles(registry, { appName: 'baton-test-variants', snapshotDir: await tempDir() });
      await toggles.ready();
      const context = { userId: 'user-17' };

      const limits = toggles.getVariant('variant.limits', context);
      expect(limits).toEqual({ name: 'only', enabled: true, featureEnabled: true, payload: { maxItems: 30, currencies: ['EUR', 'USD'] } });
      const discount = toggles.getVariant('variant.discount', context);
      expectTypeOf(discount.payload).toEqualTypeOf<number | undefined>();
      expect(discount.payload).toBe(12.5);
      const colour = toggles.getVariant('variant.colour', context);
      expectTypeOf(colour.payload).toEqualTypeOf<string | undefined>();
      expect(colour.payload).toBe('teal');
      const none = toggles.getVariant('variant.none', context);
      expectTypeOf(none.payload).toEqualTypeOf<undefined>();
      expect(none).toMatchObject({ name: 'disabled', enabled: false, featureEnabled: true, payload: undefined });
      expect(errors).toEqual([]);

      // Not thrown on the request path: the variant without its payload, and one error event.
      const bad = toggles.getVariant('variant.badNumber', context);
      expect(bad).toEqual({ name: 'only', enabled: true, featureEnabled: true, payload: undefined });
      expect(toggles.getVariant('variant.badNumber', { userId: 'user-18' }).payload).toBeUndefined();
      expect(errors).toHaveLength(1);
      expect(errors[0]?.code).toBe('BATON_ERR_TOGGLE_EVALUATION');
      expect(errors[0]?.message).toContain('"variant.badNumber"');
      expect(errors[0]?.message).toContain('twelve');
      const badJson = toggles.getVariant('variant.badJson', context);
      expectTypeOf(badJson.payload).toEqualTypeOf<unknown>();
      expect(badJson).toEqual({ name: 'only', enabled: true, featureEnabled: true, payload: undefined });
      expect(errors.map((error) => error.code)).toEqual(['BATON_ERR_TOGGLE_EVALUATION', 'BATON_ERR_TOGGLE_EVALUATION']);
      expect(errors[1]?.message).toContain('"variant.badJson"');
      // The request path carries on: the toggle itself still evaluates.
      expect(toggles.isEnabled('variant.badJson', context)).toBe(true);
    });
  });

  describe('a wrong token', () => {
    it('is auth-failed: one error naming the URL and the token to give, polling stopped, readiness failing', async () => {
      const proxy = await startProxy();
      const lifecycle = lifecycleFor('baton-test-auth');
      const registry = defineToggles({ 'auth.checkout': { kind: 'release', default: false, description: 'The one-page checkout' } });
      const { toggles, errors } = startToggles(registry, { appName: 'baton-test-auth', snapshotDir: await tempDir(), url: `${proxy.url}/api`, token: '*:development.wrong' }, { lifecycle });
      await lifecycle.start();

      await waitFor(() => toggles.status().state === 'auth-failed', 10_000, 'the token to be refused');
      const status = toggles.status();
      expect(status.lastError?.code).toBe('BATON_ERR_TOGGLE_AUTH');
      const auth = errors.filter((error) => error.code === 'BATON_ERR_TOGGLE_AUTH');
      expect(auth).toHaveLength(1);
      expect(auth[0]?.message).toContain(`${proxy.url}/api/client/features`);
      expect(auth[0]?.message).toContain('401');
      expect(auth[0]?.message).toMatch(/backend \(client\) token/);
      expect(toggles.isEnabled('auth.checkout')).toBe(false);

      const ready = await readiness(lifecycle);
      expect(ready.statusCode).toBe(503);
      expect(ready.toggles).toMatchObject({ status: 'fail', observedValue: 'auth-failed' });
      expect(ready.toggles?.output).toContain('token');

      // Polling has stopped: no further request for features in several refresh intervals.
      const asked = featuresRequests(proxy);
      expect(asked).toBe(1);
      await delay(REFRESH_MS * 5);
      expect(featuresRequests(proxy)).toBe(asked);
      expect((await readiness(lifecycle)).statusCode).toBe(503);
    });

    it('is not hidden by a bootstrap: its values are served, but readiness fails', async () => {
      const dir = await tempDir();
      const bootstrap = join(dir, 'bootstrap.json');
      await writeFile(bootstrap, JSON.stringify({ 'authBoot.checkout': true, 'authBoot.payments': false }));
      const lifecycle = lifecycleFor('baton-test-auth-bootstrap');
      const registry = defineToggles({
        'authBoot.checkout': { kind: 'release', default: false, description: 'The one-page checkout' },
        'authBoot.payments': { kind: 'kill-switch', default: true, description: 'Card payments' },
      });
      const { toggles, states } = startToggles(registry, { appName: 'baton-test-auth-bootstrap', snapshotDir: dir, bootstrap, token: '*:development.wrong' }, { lifecycle });
      expect(toggles.status()).toMatchObject({ state: 'bootstrapped', loadedFrom: 'bootstrap' });
      await lifecycle.start();

      await waitFor(() => toggles.status().state === 'auth-failed', 10_000, 'the token to be refused');
      expect(states).toEqual(['bootstrapped', 'auth-failed']);
      expect(toggles.status()).toMatchObject({ loadedFrom: 'bootstrap', lastError: { code: 'BATON_ERR_TOGGLE_AUTH' } });
      expect(toggles.isEnabled('authBoot.checkout')).toBe(true);
      expect(toggles.isEnabled('authBoot.payments')).toBe(false);
      const ready = await readiness(lifecycle);
      expect(ready.statusCode).toBe(503);
      expect(ready.toggles).toMatchObject({ status: 'fail', observedValue: 'auth-failed' });
    });
  });

  describe('garbage and partial answers', () => {
    it('keep the values held, report a sync error, and sync again once the answers are good', async () => {
      const proxy = await startProxy();
      await server().createToggle('garbage.checkout', { type: 'release', enabled: false });
      await server().createToggle('garbage.payments', { type: 'kill-switch', enabled: false });
      await untilServed({ 'garbage.checkout': false, 'garbage.payments': false });
      const registry = defineToggles({
        'garbage.checkout': { kind: 'release', default: false, description: 'The one-page checkout' },
        'garbage.payments': { kind: 'kill-switch', default: true, description: 'Card payments' },
      });
      const { toggles, errors } = startToggles(registry, { appName: 'baton-test-garbage', snapshotDir: await tempDir(), url: `${proxy.url}/api`, timeoutMs: 1_000, sendUsage: false });
      await toggles.ready();
      expect(toggles.status().state).toBe('synced');

      const modes: FaultMode[] = ['html', 'truncated', 'empty-object', 'features-not-array', 'invalid-feature', 'status-500', 'hang'];
      const seen: string[] = [];
      let expected = false;
      for (const mode of modes) {
        proxy.mode = mode;
        // Flipped on the server while the proxy garbles the answers: not seen until they are good again.
        expected = !expected;
        await server().setEnabled('garbage.checkout', expected);
        await untilServed({ 'garbage.checkout': expected });
        const before = errors.length;
        await waitFor(() => errors.length > before, 10_000, `a sync error in mode ${mode}`);
        const error = errors[before];
        expect(error?.code, mode).toBe('BATON_ERR_TOGGLE_SYNC');
        expect(error?.message, mode).toContain(`${proxy.url}/api/client/features`);
        expect(error?.message, mode).toContain('keeping the values held');
        seen.push(`${mode}: ${error?.message ?? ''}`);
        expect(toggles.isEnabled('garbage.checkout'), mode).toBe(!expected);
        // A wiped set would turn the kill switch back on (its fallback).
        expect(toggles.isEnabled('garbage.payments'), mode).toBe(false);
        expect(toggles.status(), mode).toMatchObject({ state: 'synced', loadedFrom: 'server', missing: [], lastError: { code: 'BATON_ERR_TOGGLE_SYNC' } });

        proxy.mode = 'pass';
        await waitFor(() => toggles.isEnabled('garbage.checkout') === expected, 15_000, `the flip made during ${mode} to be seen`);
        expect(toggles.status(), mode).toMatchObject({ state: 'synced', missing: [] });
        expect(toggles.status().lastError, mode).toBeUndefined();
        expect(toggles.isEnabled('garbage.payments'), mode).toBe(false);
      }
      expect(errors.every((error) => error.code === 'BATON_ERR_TOGGLE_SYNC')).toBe(true);
      // What each fault looked like to an operator reading the logs.
      expect(seen.find((line) => line.startsWith('html'))).toMatch(/not JSON/);
      expect(seen.find((line) => line.startsWith('status-500'))).toMatch(/answered 500/);
      expect(seen.find((line) => line.startsWith('hang'))).toMatch(/no answer within 1000 ms/);
      expect(seen.find((line) => line.startsWith('invalid-feature'))).toMatch(/features\[\d+\]/);
    });
  });

  describe('a server down at boot', () => {
    it('serves the bootstrap file: bootstrapped, its values, readiness passing', async () => {
      const dir = await tempDir();
      const bootstrap = join(dir, 'bootstrap.json');
      await writeFile(bootstrap, JSON.stringify({ 'bootFile.checkout': true, 'bootFile.payments': false }));
      const lifecycle = lifecycleFor('baton-test-boot-file');
      const registry = defineToggles({
        'bootFile.checkout': { kind: 'release', default: false, description: 'The one-page checkout' },
        'bootFile.payments': { kind: 'kill-switch', default: true, description: 'Card payments' },
      });
      const { toggles } = startToggles(registry, { appName: 'baton-test-boot-file', snapshotDir: dir, bootstrap, url: await deadUrl() }, { lifecycle });
      await lifecycle.start();
      await waitFor(() => toggles.status().lastError !== undefined, 10_000, 'the first poll to fail');
      expect(toggles.status()).toMatchObject({ state: 'bootstrapped', loadedFrom: 'bootstrap', lastError: { code: 'BATON_ERR_TOGGLE_SYNC' } });
      expect(toggles.status().lastError?.message).toContain('ECONNREFUSED');
      expect(toggles.isEnabled('bootFile.checkout')).toBe(true);
      expect(toggles.isEnabled('bootFile.payments')).toBe(false);
      const ready = await readiness(lifecycle);
      expect(ready.statusCode).toBe(200);
      expect(ready.toggles).toMatchObject({ status: 'pass', observedValue: 'bootstrapped' });
    });

    it('serves the snapshot of an earlier run of the same app and environment, and no other', async () => {
      await server().createToggle('bootSnap.checkout', { type: 'release', enabled: true });
      await server().createToggle('bootSnap.payments', { type: 'kill-switch', enabled: false });
      await untilServed({ 'bootSnap.checkout': true, 'bootSnap.payments': false });
      const registry = defineToggles({
        'bootSnap.checkout': { kind: 'release', default: false, description: 'The one-page checkout' },
        'bootSnap.payments': { kind: 'kill-switch', default: true, description: 'Card payments' },
      });
      const dir = await tempDir();
      const first = startToggles(registry, { appName: 'baton-test-boot-snapshot', snapshotDir: dir });
      await first.toggles.ready();
      const snapshotFile = join(dir, 'baton-toggles-baton-test-boot-snapshot-development.json');
      await waitFor(async () => (await readdir(dir)).includes('baton-toggles-baton-test-boot-snapshot-development.json'), 10_000, 'the snapshot to be written');
      await first.toggles.close();

      const dead = await deadUrl();
      const second = startToggles(registry, { appName: 'baton-test-boot-snapshot', snapshotDir: dir, url: dead });
      expect(second.toggles.status()).toMatchObject({ state: 'bootstrapped', loadedFrom: 'snapshot', missing: [] });
      expect(second.toggles.status().snapshotSavedAt).toBeLessThanOrEqual(Date.now());
      expect(second.toggles.isEnabled('bootSnap.checkout')).toBe(true);
      expect(second.toggles.isEnabled('bootSnap.payments')).toBe(false);
      await waitFor(() => second.toggles.status().lastError !== undefined, 10_000, 'the first poll to fail');
      // Still the snapshot's values while the server is down.
      expect(second.toggles.status()).toMatchObject({ state: 'bootstrapped', loadedFrom: 'snapshot' });
      expect(second.toggles.isEnabled('bootSnap.checkout')).toBe(true);

      // Another app, or the same app in another environment, never reads it.
      for (const other of [
        { appName: 'baton-test-boot-snapshot-other', snapshotDir: dir, url: dead },
        { appName: 'baton-test-boot-snapshot', environment: 'production', snapshotDir: dir, url: dead },
      ]) {
        const { toggles } = startToggles(registry, other);
        expect(toggles.status(), JSON.stringify(other)).toMatchObject({ state: 'never-synced', loadedFrom: 'fallbacks' });
        expect(toggles.isEnabled('bootSnap.checkout')).toBe(false);
        expect(toggles.isEnabled('bootSnap.payments')).toBe(true);
      }
      expect(JSON.parse(await readFile(snapshotFile, 'utf8'))).toMatchObject({ version: 2 });
    });

    it('with nothing at all serves the fallbacks: readiness fails until the deadline, then warns (or keeps failing), and syncs when the server comes up', async () => {
      const proxy = await startProxy('status-503');
      await server().createToggle('bootNone.checkout', { type: 'release', enabled: true });
      await server().createToggle('bootNone.payments', { type: 'kill-switch', enabled: false });
      await untilServed({ 'bootNone.checkout': true, 'bootNone.payments': false });
      const registry = defineToggles({
        'bootNone.checkout': { kind: 'release', default: false, description: 'The one-page checkout' },
        'bootNone.payments': { kind: 'kill-switch', default: true, description: 'Card payments' },
      });
      const deadlineMs = 1_000;
      const warnLifecycle = lifecycleFor('baton-test-boot-none-warn');
      const failLifecycle = lifecycleFor('baton-test-boot-none-fail');
      const source = { snapshotDir: await tempDir(), url: `${proxy.url}/api`, sendUsage: false };
      const warn = startToggles(registry, { ...source, appName: 'baton-test-boot-none-warn' }, { lifecycle: warnLifecycle, readiness: { deadlineMs } });
      const fail = startToggles(registry, { ...source, appName: 'baton-test-boot-none-fail' }, { lifecycle: failLifecycle, readiness: { deadlineMs, afterDeadline: 'fail' } });
      await warnLifecycle.start();
      await failLifecycle.start();

      for (const { toggles } of [warn, fail]) {
        expect(toggles.status()).toMatchObject({ state: 'never-synced', loadedFrom: 'fallbacks' });
        expect(toggles.isEnabled('bootNone.checkout')).toBe(false);
        expect(toggles.isEnabled('bootNone.payments')).toBe(true);
      }
      expect(await readiness(warnLifecycle)).toMatchObject({ statusCode: 503, toggles: { status: 'fail', observedValue: 'never-synced' } });
      expect(await readiness(failLifecycle)).toMatchObject({ statusCode: 503, toggles: { status: 'fail' } });
      await waitFor(() => warn.toggles.status().lastError !== undefined, 10_000, 'the first poll to fail');
      expect(warn.toggles.status().lastError?.message).toContain('answered 503');

      await waitFor(() => warn.toggles.status().deadlinePassed && fail.toggles.status().deadlinePassed, 10_000, 'the readiness deadline');
      const afterWarn = await readiness(warnLifecycle);
      expect(afterWarn).toMatchObject({ statusCode: 200, status: 'warn', toggles: { status: 'warn', observedValue: 'never-synced' } });
      expect(afterWarn.toggles?.output).toContain('fallback');
      expect(await readiness(failLifecycle)).toMatchObject({ statusCode: 503, toggles: { status: 'fail', observedValue: 'never-synced' } });
      expect(warn.toggles.isEnabled('bootNone.payments')).toBe(true);

      // The server comes up.
      proxy.mode = 'pass';
      await waitFor(() => warn.toggles.status().state === 'synced' && fail.toggles.status().state === 'synced', 15_000, 'the first sync');
      for (const [{ toggles }, lifecycle] of [[warn, warnLifecycle], [fail, failLifecycle]] as const) {
        expect(toggles.status()).toMatchObject({ state: 'synced', loadedFrom: 'server', missing: [] });
        expect(toggles.isEnabled('bootNone.checkout')).toBe(true);
        expect(toggles.isEnabled('bootNone.payments')).toBe(false);
        expect(await readiness(lifecycle)).toMatchObject({ statusCode: 200, status: 'pass', toggles: { status: 'pass', observedValue: 'synced' } });
      }
    });
  });

  describe('the snapshot file', () => {
    it('is written after a sync, named per app and environment, parseable, mode 0600', async () => {
      await server().createToggle('snapshot.checkout', { type: 'release', enabled: true });
      await untilServed({ 'snapshot.checkout': true });
      const registry = defineToggles({ 'snapshot.checkout': { kind: 'release', default: false, description: 'The one-page checkout' } });
      const dir = await tempDir();
      const { toggles } = startToggles(registry, { appName: 'baton-test-snapshot', snapshotDir: dir });
      await toggles.ready();
      const name = 'baton-toggles-baton-test-snapshot-development.json';
      await waitFor(async () => (await readdir(dir)).includes(name), 10_000, 'the snapshot to be written');
      // Only the snapshot: no temporary file left behind.
      expect(await readdir(dir)).toEqual([name]);
      const file = join(dir, name);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const snapshot = JSON.parse(await readFile(file, 'utf8')) as { version: number; savedAt: number; features: { name: string; enabled: boolean }[] };
      expect(snapshot.version).toBe(2);
      expect(snapshot.savedAt).toBeLessThanOrEqual(Date.now());
      expect(snapshot.features.find((feature) => feature.name === 'snapshot.checkout')).toMatchObject({ enabled: true });
    });

    it('is ignored when corrupt, with a BATON_ERR_TOGGLE_SNAPSHOT error event, and replaced by the next sync', async () => {
      await server().createToggle('snapshotBad.payments', { type: 'kill-switch', enabled: false });
      await untilServed({ 'snapshotBad.payments': false });
      const registry = defineToggles({ 'snapshotBad.payments': { kind: 'kill-switch', default: true, description: 'Card payments' } });
      const dir = await tempDir();
      const file = join(dir, 'baton-toggles-baton-test-snapshot-bad-development.json');
      for (const corrupt of ['{"version":2,"features":[{"name":"snapshotBad.pay', '{"version":2,"features":"x"}']) {
        await writeFile(file, corrupt);
        const { toggles, errors } = startToggles(registry, { appName: 'baton-test-snapshot-bad', snapshotDir: dir, url: await deadUrl() });
        expect(toggles.status()).toMatchObject({ state: 'never-synced', loadedFrom: 'fallbacks', lastError: { code: 'BATON_ERR_TOGGLE_SNAPSHOT' } });
        expect(toggles.isEnabled('snapshotBad.payments')).toBe(true);
        await waitFor(() => errors.length > 0, 5_000, 'the error event');
        expect(errors[0]?.code).toBe('BATON_ERR_TOGGLE_SNAPSHOT');
        expect(errors[0]?.message).toContain(file);
        await toggles.close();
      }

      const { toggles } = startToggles(registry, { appName: 'baton-test-snapshot-bad', snapshotDir: dir });
      await waitFor(() => toggles.status().state === 'synced', 10_000, 'the first sync');
      expect(toggles.isEnabled('snapshotBad.payments')).toBe(false);
      await waitFor(async () => {
        try {
          return (JSON.parse(await readFile(file, 'utf8')) as { features?: unknown }).features instanceof Array;
        } catch {
          return false;
        }
      }, 10_000, 'a good snapshot over the corrupt one');
    });
  });

  describe('a server killed mid-run', () => {
    it('keeps the last values, reports a sync error, and syncs again after the restart', async () => {
      await server().createToggle('kill.checkout', { type: 'release', enabled: true });
      await server().createToggle('kill.payments', { type: 'kill-switch', enabled: false });
      await untilServed({ 'kill.checkout': true, 'kill.payments': false });
      const registry = defineToggles({
        'kill.checkout': { kind: 'release', default: false, description: 'The one-page checkout' },
        'kill.payments': { kind: 'kill-switch', default: true, description: 'Card payments' },
      });
      const { toggles, errors } = startToggles(registry, { appName: 'baton-test-kill', snapshotDir: await tempDir() });
      await toggles.ready();
      let running = true;
      try {
        await server().kill('SIGKILL');
        running = false;
        // A poll in flight at the kill may see a reset first; then every poll is refused.
        await waitFor(() => toggles.status().lastError?.message.includes('ECONNREFUSED') === true, 10_000, 'a refused poll');
        expect(toggles.status()).toMatchObject({ state: 'synced', loadedFrom: 'server', lastError: { code: 'BATON_ERR_TOGGLE_SYNC' } });
        expect(errors.map((error) => error.code)).toContain('BATON_ERR_TOGGLE_SYNC');
        expect(toggles.isEnabled('kill.checkout')).toBe(true);
        expect(toggles.isEnabled('kill.payments')).toBe(false);
        // Still the last values a while later.
        await delay(REFRESH_MS * 3);
        expect(toggles.isEnabled('kill.checkout')).toBe(true);
        expect(toggles.isEnabled('kill.payments')).toBe(false);

        await server().restart();
        running = true;
        await waitFor(() => toggles.status().lastError === undefined, 20_000, 'a sync after the restart');
        expect(toggles.status()).toMatchObject({ state: 'synced', loadedFrom: 'server' });
        await server().setEnabled('kill.payments', true);
        await waitFor(() => toggles.isEnabled('kill.payments'), 10_000, 'a flip made after the restart');
        expect(toggles.isEnabled('kill.checkout')).toBe(true);
      } finally {
        if (!running) await server().restart();
      }
    });
  });
});

import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Strategy } from 'unleash-client';
import { createLifecycle, isBatonError, type BatonError } from '@baton/lifecycle';
import { delay, waitFor } from '@baton/testing';
import { defineToggles } from './registry.js';
import { createToggles, type Toggles } from './toggles.js';

const registry = defineToggles({
  newCheckout: { kind: 'release', default: false, description: 'The one-page checkout' },
  checkoutColour: { kind: 'experiment', default: false, description: 'Button colour test', payload: 'json' },
  discount: { kind: 'experiment', default: false, description: 'Discount size', payload: 'number' },
  banner: { kind: 'experiment', default: false, description: 'Banner text', payload: 'string' },
  basketLimits: { kind: 'operational', default: true, description: 'Limits per basket' },
  payments: { kind: 'kill-switch', default: true, description: 'Card payments (turn off to stop taking cards)' },
  betaReports: { kind: 'permission', default: true, description: 'Reports for beta customers' },
  pinned: { kind: 'release', default: false, fallback: true, description: 'A release toggle that must stay on' },
});
type Definitions = typeof registry.definitions;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function track<D extends Definitions>(toggles: Toggles<D>): Toggles<D> {
  cleanups.push(() => toggles.close());
  return toggles;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-toggles-test-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function errorsOf(toggles: Toggles<Definitions>): BatonError[] {
  const errors: BatonError[] = [];
  toggles.on('error', (error) => errors.push(error));
  return errors;
}

const on = [{ name: 'default', parameters: {}, constraints: [] }];

describe('the registry defaults source', () => {
  it('serves each toggle’s declared default, synced, and passes readiness', async () => {
    const toggles = track(createToggles(registry));
    expect(toggles.isEnabled('newCheckout')).toBe(false);
    expect(toggles.isEnabled('basketLimits')).toBe(true);
    expect(toggles.isEnabled('betaReports')).toBe(true);
    expect(toggles.status()).toMatchObject({ state: 'synced', source: 'defaults', loadedFrom: 'defaults', missing: [], unknown: [] });
    const outcome = await toggles.check().check({ signal: new AbortController().signal });
    expect(outcome).toMatchObject({ status: 'pass', observedValue: 'synced' });
  });

  it('counts every evaluation per toggle and result', () => {
    const toggles = track(createToggles(registry));
    toggles.isEnabled('newCheckout');
    toggles.isEnabled('newCheckout');
    toggles.isEnabled('payments');
    toggles.getVariant('checkoutColour');
    expect(toggles.evaluations()).toEqual([
      { toggle: 'newCheckout', result: 'false', count: 2 },
      { toggle: 'checkoutColour', result: 'disabled', count: 1 },
      { toggle: 'payments', result: 'true', count: 1 },
    ]);
  });
});

describe('the file source', () => {
  it('serves a plain map, keeps defaults for toggles it leaves out, and lists names it does not know', () => {
    const dir = tempDir();
    const path = join(dir, 'toggles.json');
    writeFileSync(path, JSON.stringify({ newCheckout: true, payments: false, someoneElses: true }));
    const toggles = track(createToggles(registry, { source: { type: 'file', path } }));
    expect(toggles.isEnabled('newCheckout')).toBe(true);
    expect(toggles.isEnabled('payments')).toBe(false);
    expect(toggles.isEnabled('basketLimits')).toBe(true);
    expect(toggles.status()).toMatchObject({ state: 'synced', source: 'file', loadedFrom: 'file', location: path, missing: [], unknown: ['someoneElses'] });
  });

  it('sees an edit, and a new file renamed over the old one, without a restart', async () => {
    const dir = tempDir();
    const path = join(dir, 'toggles.json');
    writeFileSync(path, JSON.stringify({ newCheckout: false }));
    const toggles = track(createToggles(registry, { source: { type: 'file', path } }));
    const changes: string[] = [];
    toggles.on('change', (status) => changes.push(status.loadedFrom));
    writeFileSync(path, JSON.stringify({ newCheckout: true }));
    await waitFor(() => toggles.isEnabled('newCheckout'), 5000, 'the edit to be seen');
    // What editors and Kubernetes ConfigMaps do: write a new file, rename it over.
    writeFileSync(join(dir, 'next.json'), JSON.stringify({ newCheckout: false }));
    renameSync(join(dir, 'next.json'), path);
    await waitFor(() => !toggles.isEnabled('newCheckout'), 5000, 'the renamed file to be seen');
    expect(changes.length).toBeGreaterThanOrEqual(2);
  });

  it('keeps the values it holds when the file turns malformed or disappears, with an error event for each', async () => {
    const dir = tempDir();
    const path = join(dir, 'toggles.json');
    writeFileSync(path, JSON.stringify({ newCheckout: true }));
    const toggles = track(createToggles(registry, { source: { type: 'file', path } }));
    const errors = errorsOf(toggles);
    writeFileSync(path, '{ "newCheckout": tru');
    await waitFor(() => errors.length >= 1, 5000, 'an error event');
    expect(errors[0]?.code).toBe('BATON_ERR_TOGGLE_FILE');
    expect(errors[0]?.message).toMatch(/not valid JSON.*The values held are kept/);
    expect(toggles.isEnabled('newCheckout')).toBe(true);
    writeFileSync(path, JSON.stringify({ newCheckout: 'yes' }));
    await waitFor(() => errors.length >= 2, 5000, 'a second error event');
    expect(errors[1]?.message).toMatch(/"newCheckout" must be true or false/);
    rmSync(path);
    await waitFor(() => errors.some((error) => /cannot read/.test(error.message)), 5000, 'an error for the deleted file');
    expect(toggles.isEnabled('newCheckout')).toBe(true);
    expect(toggles.status().lastError?.code).toBe('BATON_ERR_TOGGLE_FILE');
    // Put right, it is read again.
    writeFileSync(path, JSON.stringify({ newCheckout: false }));
    await waitFor(() => !toggles.isEnabled('newCheckout'), 5000, 'the fixed file to be read');
  });

  it('refuses a missing or malformed file at construction, and reads it once with watch: false', async () => {
    const dir = tempDir();
    const path = join(dir, 'toggles.json');
    expect(() => createToggles(registry, { source: { type: 'file', path } })).toThrow(/cannot read .*toggles\.json/);
    writeFileSync(path, '[1, 2]');
    expect(() => createToggles(registry, { source: { type: 'file', path } })).toThrow(expect.objectContaining({ code: 'BATON_ERR_TOGGLE_FILE' }));
    writeFileSync(path, JSON.stringify({ newCheckout: true }));
    const toggles = track(createToggles(registry, { source: { type: 'file', path, watch: false } }));
    writeFileSync(path, JSON.stringify({ newCheckout: false }));
    await delay(300);
    expect(toggles.isEnabled('newCheckout')).toBe(true);
  });

  it('evaluates Unleash’s own format with unleash-client: rollouts, user lists, constraints on the injected release', () => {
    const dir = tempDir();
    const path = join(dir, 'toggles.json');
    writeFileSync(
      path,
      JSON.stringify({
        version: 2,
        features: [
          { name: 'newCheckout', enabled: true, strategies: [{ name: 'userWithId', parameters: { userIds: 'ada,grace' }, constraints: [] }] },
          {
            name: 'basketLimits',
            enabled: true,
            strategies: [{ name: 'default', parameters: {}, constraints: [{ contextName: 'release', operator: 'IN', values: ['v2'], caseInsensitive: false, inverted: false }] }],
          },
          { name: 'betaReports', enabled: true, strategies: [{ name: 'flexibleRollout', parameters: { rollout: '50', stickiness: 'userId', groupId: 'betaReports' }, constraints: [] }] },
        ],
      }),
    );
    const v2 = track(createToggles(registry, { source: { type: 'file', path }, release: 'v2', instance: 'i-1' }));
    const v1 = track(createToggles(registry, { source: { type: 'file', path }, release: 'v1' }));
    expect(v2.isEnabled('newCheckout', v2.context({ userId: 'ada' }))).toBe(true);
    expect(v2.isEnabled('newCheckout', v2.context({ userId: 'bob' }))).toBe(false);
    expect(v2.context({ userId: 'ada' })).toEqual({ userId: 'ada', properties: { release: 'v2', instance: 'i-1' } });
    expect(v2.isEnabled('basketLimits')).toBe(true);
    expect(v1.isEnabled('basketLimits')).toBe(false);
    let on50 = 0;
    for (let user = 0; user < 2000; user += 1) if (v2.isEnabled('betaReports', v2.context({ userId: `user-${user}` }))) on50 += 1;
    expect(on50).toBeGreaterThan(850);
    expect(on50).toBeLessThan(1150);
    // The same user always gets the same answer.
    expect(v2.isEnabled('betaReports', v2.context({ userId: 'user-7' }))).toBe(v1.isEnabled('betaReports', v1.context({ userId: 'user-7' })));
  });
});

describe('variants', () => {
  function variantsFile(payloads: { colour: string; discount: string; banner: string }): string {
    const dir = tempDir();
    const path = join(dir, 'toggles.json');
    const variant = (name: string, type: string, value: string) => ({ name, weight: 1000, stickiness: 'default', payload: { type, value } });
    writeFileSync(
      path,
      JSON.stringify({
        version: 2,
        features: [
          { name: 'checkoutColour', enabled: true, strategies: on, variants: [variant('teal', 'json', payloads.colour)] },
          { name: 'discount', enabled: true, strategies: on, variants: [variant('ten', 'number', payloads.discount)] },
          { name: 'banner', enabled: true, strategies: on, variants: [variant('winter', 'string', payloads.banner)] },
        ],
      }),
    );
    return path;
  }

  it('parses payloads to the registry’s types and returns the same object while nothing changed', () => {
    const path = variantsFile({ colour: '{"hex":"#008080"}', discount: '10', banner: 'Winter sale' });
    const toggles = track(createToggles(registry, { source: { type: 'file', path } }));
    const colour = toggles.getVariant('checkoutColour');
    expect(colour).toEqual({ name: 'teal', enabled: true, featureEnabled: true, payload: { hex: '#008080' } });
    expect(toggles.getVariant('discount').payload).toBe(10);
    expect(toggles.getVariant('banner').payload).toBe('Winter sale');
    // No allocation by Baton for a repeated evaluation: the parsed result is reused.
    expect(toggles.getVariant('checkoutColour')).toBe(colour);
    const discount: number | undefined = toggles.getVariant('discount').payload;
    expect(discount).toBe(10);
    // A toggle that is off gives the disabled variant.
    expect(toggles.getVariant('newCheckout')).toMatchObject({ name: 'disabled', enabled: false, featureEnabled: false, payload: undefined });
    expect(toggles.evaluations()).toContainEqual({ toggle: 'checkoutColour', result: 'teal', count: 2 });
  });

  it('serves a payload that does not parse as undefined, with one error event, never a throw', () => {
    const path = variantsFile({ colour: '{"hex":', discount: 'ten', banner: 'ok' });
    const toggles = track(createToggles(registry, { source: { type: 'file', path } }));
    const errors = errorsOf(toggles);
    expect(toggles.getVariant('checkoutColour')).toMatchObject({ name: 'teal', enabled: true, payload: undefined });
    expect(toggles.getVariant('checkoutColour').payload).toBeUndefined();
    expect(toggles.getVariant('discount').payload).toBeUndefined();
    expect(errors.map((error) => error.message)).toEqual([
      expect.stringMatching(/payload of variant "teal" of "checkoutColour" is not JSON/),
      expect.stringMatching(/payload of variant "ten" of "discount" is not a number \("ten"\)/),
    ]);
  });
});

describe('faults never fail an evaluation', () => {
  it('serves the toggle’s fallback when a strategy throws, with an error event', () => {
    class Exploding extends Strategy {
      constructor() {
        super('exploding');
      }
      override isEnabled(): boolean {
        throw new Error('boom');
      }
    }
    const dir = tempDir();
    const path = join(dir, 'toggles.json');
    const exploding = [{ name: 'exploding', parameters: {}, constraints: [] }];
    writeFileSync(path, JSON.stringify({ version: 2, features: [{ name: 'payments', enabled: true, strategies: exploding }, { name: 'newCheckout', enabled: true, strategies: exploding }] }));
    const toggles = track(createToggles(registry, { source: { type: 'file', path }, strategies: [new Exploding()] }));
    const errors = errorsOf(toggles);
    expect(toggles.isEnabled('payments')).toBe(true);
    expect(toggles.isEnabled('newCheckout')).toBe(false);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors[0]).toMatchObject({ code: 'BATON_ERR_TOGGLE_EVALUATION' });
  });

  it('answers a name outside the registry (a cast, plain JavaScript) with off and one error event', () => {
    const toggles = track(createToggles(registry));
    const errors = errorsOf(toggles);
    expect(toggles.isEnabled('nope' as 'newCheckout')).toBe(false);
    expect(toggles.isEnabled('nope' as 'newCheckout')).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/"nope" is not in the registry; it is always off/);
  });
});

describe('fallbacks and readiness when nothing was ever loaded', () => {
  async function deadUrl(): Promise<string> {
    // A port that was just free: nothing listens there.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return `http://127.0.0.1:${port}/api`;
  }

  it('serves each kind’s fallback: kill switch on, release, experiment and permission off, operational its default', async () => {
    const toggles = track(createToggles(registry, { source: { type: 'unleash', url: await deadUrl(), token: '*:production.x', snapshotDir: false } }));
    errorsOf(toggles);
    expect(toggles.status()).toMatchObject({ state: 'never-synced', loadedFrom: 'fallbacks' });
    expect(toggles.isEnabled('payments')).toBe(true);
    expect(toggles.isEnabled('newCheckout')).toBe(false);
    expect(toggles.isEnabled('checkoutColour')).toBe(false);
    expect(toggles.isEnabled('betaReports')).toBe(false);
    expect(toggles.isEnabled('basketLimits')).toBe(true);
    expect(toggles.isEnabled('pinned')).toBe(true);
    expect(toggles.getVariant('payments')).toMatchObject({ name: 'disabled', featureEnabled: true });
  });

  it('fails readiness until the deadline, then warns and serves the fallbacks (or keeps failing when asked)', async () => {
    const url = await deadUrl();
    const lifecycle = createLifecycle({ service: 'orders', release: 'v2' });
    const toggles = track(createToggles(registry, { source: { type: 'unleash', url, token: '*:production.x', snapshotDir: false }, lifecycle, readiness: { deadlineMs: 2000 } }));
    errorsOf(toggles);
    const strict = track(createToggles(registry, { source: { type: 'unleash', url, token: '*:production.x', snapshotDir: false }, readiness: { deadlineMs: 2000, afterDeadline: 'fail' } }));
    errorsOf(strict);
    const signal = new AbortController().signal;
    // The deadline leaves a busy machine time for the first failed sync before it: the check fails until then.
    await waitFor(() => toggles.status().lastError !== undefined, 5000, 'the first failed sync');
    const before = await toggles.check().check({ signal });
    expect(before).toMatchObject({ status: 'fail', observedValue: 'never-synced' });
    expect((before as { output: string }).output).toMatch(/no toggles loaded yet: toggles: .*client\/features/);
    const status = await toggles.ready();
    expect(status).toMatchObject({ state: 'never-synced', deadlinePassed: true });
    expect(await toggles.check().check({ signal })).toMatchObject({ status: 'warn', output: expect.stringMatching(/nothing loaded within 2000 ms; every toggle serves its fallback/) });
    await strict.ready();
    expect(await strict.check().check({ signal })).toMatchObject({ status: 'fail', output: expect.stringMatching(/the deadline passed/) });
    // Bound to the lifecycle: its readiness report carries the check.
    expect(lifecycle.checks.names('readiness')).toContain('toggles');
  });
});

describe('options', () => {
  it('are checked at construction with a clear error', () => {
    const bad: [unknown, RegExp][] = [
      [{ source: { type: 'redis' } }, /unknown type "redis"; known: defaults, file, unleash/],
      [{ source: { type: 'file' } }, /a file source needs a `path`/],
      [{ source: { type: 'unleash', url: 'unleash:4242', token: 't' } }, /`url` must be the Unleash API's http\(s\) URL/],
      [{ source: { type: 'unleash', url: 'http://u/api', token: ' ' } }, /`token` must be a backend token/],
      [{ source: { type: 'unleash', url: 'http://u/api', token: 't', refreshIntervalMs: 5 } }, /`refreshIntervalMs` must be a whole number of ms, at least 100; got 5/],
      [{ readiness: { deadlineMs: -1 } }, /readiness.deadlineMs must be a number of ms, 0 or more; got -1/],
      [{ readiness: { afterDeadline: 'retry' } }, /readiness.afterDeadline must be "warn" or "fail"; got "retry"/],
    ];
    for (const [options, message] of bad) {
      let thrown: unknown;
      try {
        createToggles(registry, options as never);
      } catch (error) {
        thrown = error;
      }
      expect(isBatonError(thrown, 'BATON_ERR_INVALID_OPTION'), String(message)).toBe(true);
      expect((thrown as Error).message).toMatch(message);
    }
  });

  it('checks toggle names at compile time', () => {
    const toggles = track(createToggles(registry));
    // @ts-expect-error: not a toggle of this registry
    expect(toggles.isEnabled('newChekout')).toBe(false);
    // @ts-expect-error: checkoutColour's payload is JSON (unknown), not a number
    const wrong: number = toggles.getVariant('checkoutColour').payload;
    expect(wrong).toBeUndefined();
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fetchText, waitFor } from '@baton/testing';
import { useUnleashStack } from '@baton/testing/unleash';
import { exampleScript, startInstance, waitForReady, type Instance } from './harness/index.js';

// Two releases of the real orders service (child processes, one per
// framework) reading their toggles from a real Unleash server over a real
// PostgreSQL: a toggle aimed at the canary's release, a kill switch flipped
// while they run, the server killed under traffic, and a restart while it is
// down. What a team doing a canary with toggles would watch.

const REFRESH_MS = 250;

describe('toggles across a canary, against a real Unleash server', () => {
  const unleash = useUnleashStack();
  let snapshotDir: string;
  const instances: Instance[] = [];

  beforeAll(async () => {
    snapshotDir = await mkdtemp(join(tmpdir(), 'baton-e2e-toggles-'));
  });
  afterEach(async () => {
    for (const instance of instances.splice(0)) await instance.stop();
  });
  afterAll(async () => {
    await rm(snapshotDir, { recursive: true, force: true });
  });

  async function startService(framework: 'express' | 'fastify', release: string): Promise<Instance> {
    const instance = await startInstance({
      script: exampleScript(framework),
      env: {
        RELEASE: release,
        BATON_PROPAGATION_DELAY_MS: '0',
        UNLEASH_URL: unleash().apiUrl,
        UNLEASH_API_TOKEN: unleash().clientToken,
        UNLEASH_APP_NAME: `orders-${framework}`,
        UNLEASH_REFRESH_INTERVAL_MS: String(REFRESH_MS),
        BATON_TOGGLES_SNAPSHOT_DIR: snapshotDir,
      },
    });
    instances.push(instance);
    await waitForReady(instance.url, { timeoutMs: 60_000 });
    return instance;
  }

  async function json(url: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
    const response = await fetchText(url, {
      method: init.method ?? 'GET',
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } }),
    });
    return { status: response.status, body: JSON.parse(response.body) };
  }

  async function createOrder(instance: Instance): Promise<string> {
    const created = await json(`${instance.url}/orders`, { method: 'POST', body: { customer: 'c-1', items: [{ sku: 'TEA-1', quantity: 2 }] } });
    expect(created.status).toBe(201);
    return created.body.id as string;
  }

  it.each(['express', 'fastify'] as const)('%s: the canary gets the release toggle, a flipped kill switch reaches both, and a dead server changes nothing', async (framework) => {
    const server = unleash();
    const summary = `orderSummary`;
    // Names are the service's registry's; one stack per file, so each framework's run resets them.
    await server.deleteToggle(summary).catch(() => {});
    await server.deleteToggle('cancellations').catch(() => {});
    await server.createToggle(summary, {
      type: 'release',
      enabled: true,
      strategies: [{ name: 'default', constraints: [{ contextName: 'release', operator: 'IN', values: ['v2'], caseInsensitive: false, inverted: false }] }],
    });
    await server.createToggle('cancellations', { type: 'kill-switch', enabled: true });

    const stable = await startService(framework, 'v1');
    const canary = await startService(framework, 'v2');
    const stableOrder = await createOrder(stable);
    const canaryOrder = await createOrder(canary);

    // Aimed at release v2 in Unleash: only the canary shows the summary.
    await waitFor(async () => (await json(`${canary.url}/orders/${canaryOrder}`)).body.summary !== undefined, 15_000, 'the canary to get orderSummary');
    expect((await json(`${canary.url}/orders/${canaryOrder}`)).body.summary).toEqual({ lines: 1, units: 2 });
    expect((await json(`${stable.url}/orders/${stableOrder}`)).body.summary).toBeUndefined();

    // The kill switch, flipped over the admin API: both releases pause cancellations.
    const flippedAt = Date.now();
    await server.setEnabled('cancellations', false);
    const seenAfter: number[] = [];
    for (const [instance, order] of [[stable, stableOrder], [canary, canaryOrder]] as const) {
      await waitFor(async () => (await json(`${instance.url}/orders/${order}/cancel`, { method: 'POST' })).status === 503, 15_000, 'cancellations to pause');
      seenAfter.push(Date.now() - flippedAt);
    }
    console.log(`toggles e2e (${framework}): kill switch flipped in Unleash → both releases answering 503 after ${Math.max(...seenAfter)} ms (refresh ${REFRESH_MS} ms)`);

    // The server dies: every request still answers, with the same values, and readiness holds.
    await server.kill('SIGKILL');
    let answered = 0;
    for (let round = 0; round < 100; round += 1) {
      const [canaryRead, stableRead] = await Promise.all([json(`${canary.url}/orders/${canaryOrder}`), json(`${stable.url}/orders/${stableOrder}`)]);
      expect(canaryRead.status).toBe(200);
      expect(canaryRead.body.summary).toEqual({ lines: 1, units: 2 });
      expect(stableRead.status).toBe(200);
      expect(stableRead.body.summary).toBeUndefined();
      answered += 2;
    }
    expect(answered).toBe(200);
    expect((await fetchText(`${canary.url}/readyz`)).status).toBe(200);
    expect((await json(`${canary.url}/orders/${canaryOrder}/cancel`, { method: 'POST' })).status).toBe(503);

    // The canary restarts while the server is down: the last-known-good snapshot of its app and environment carries it.
    await canary.stop();
    const restarted = await startService(framework, 'v2');
    const readiness = await fetchText(`${restarted.url}/readyz?verbose`);
    expect(readiness.status).toBe(200);
    expect(JSON.parse(readiness.body).checks.toggles[0]).toMatchObject({ status: 'pass' });
    const again = await createOrder(restarted);
    expect((await json(`${restarted.url}/orders/${again}`)).body.summary).toEqual({ lines: 1, units: 2 });
    expect((await json(`${restarted.url}/orders/${again}/cancel`, { method: 'POST' })).status).toBe(503);

    // The server is back: the kill switch turned on again reaches the restarted canary.
    await server.restart();
    await server.setEnabled('cancellations', true);
    await waitFor(async () => (await json(`${restarted.url}/orders/${again}/cancel`, { method: 'POST' })).status === 200, 20_000, 'cancellations to resume');
  });
});

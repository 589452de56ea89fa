import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Unleash } from 'unleash-client';
// Through the package's own built entry, as the other packages' tests use it
// (the server process is started from the built .js beside it).
import { startUnleashStack, type UnleashServer, type UnleashStack } from '@baton/testing/unleash';
import { waitFor } from '@baton/testing';

// The harness @baton/toggles' tests stand on: a real unleash-server (npm) over
// a real PostgreSQL, both started here, seen through the real unleash-client.
describe('a real Unleash server over a real PostgreSQL', () => {
  let stack: UnleashStack | undefined;
  let unleash: UnleashServer;
  beforeAll(async () => {
    stack = await startUnleashStack();
    unleash = stack.unleash;
  });
  afterAll(() => stack?.stop());

  function client(): Unleash {
    return new Unleash({
      url: unleash.apiUrl,
      appName: 'baton-harness-test',
      customHeaders: { Authorization: unleash.clientToken },
      refreshInterval: 200,
      disableMetrics: true,
      // Not the process-wide singleton, and no backup file in the working directory.
      storageProvider: { set: async () => {}, get: async () => undefined } as never,
    });
  }

  it('serves toggles created and flipped over the admin API to unleash-client, and refuses a wrong token', async () => {
    await unleash.createToggle('harness.checkout', { type: 'release' });
    const unleashClient = client();
    try {
      await new Promise((resolve) => unleashClient.once('synchronized', resolve));
      expect(unleashClient.isEnabled('harness.checkout')).toBe(false);
      await unleash.setEnabled('harness.checkout', true);
      await waitFor(() => unleashClient.isEnabled('harness.checkout'), 10_000, 'the flip to reach the client');
      await unleash.deleteToggle('harness.checkout');
      await waitFor(() => unleashClient.getFeatureToggleDefinition('harness.checkout') === undefined, 10_000, 'the delete to reach the client');
    } finally {
      unleashClient.destroy();
    }
    const refused = await fetch(`${unleash.apiUrl}/client/features`, { headers: { authorization: '*:development.wrong' } });
    expect(refused.status).toBe(401);
  });

  it('can be killed mid-run and started again on the same port and data', async () => {
    await unleash.createToggle('harness.kill-switch', { type: 'kill-switch', enabled: true });
    await unleash.kill();
    await expect(fetch(`${unleash.url}/health`)).rejects.toThrow();
    await unleash.restart();
    const features = await fetch(`${unleash.apiUrl}/client/features`, { headers: { authorization: unleash.clientToken } });
    const body = (await features.json()) as { features: { name: string; enabled: boolean }[] };
    expect(body.features.find((feature) => feature.name === 'harness.kill-switch')).toMatchObject({ enabled: true });
  });
});

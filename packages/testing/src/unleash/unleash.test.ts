import { describe, expect, it } from 'vitest';
import { Unleash } from 'unleash-client';
// Through the package's own built entry, as the other packages' tests use it
// (the server process is started from the built .js beside it).
import { useUnleashStack } from '@baton/testing/unleash';
import { waitFor } from '@baton/testing';

// The harness @baton/toggles' tests stand on: a real unleash-server (npm) over
// a real PostgreSQL, both started here, seen through the real unleash-client.
describe('a real Unleash server over a real PostgreSQL', () => {
  const server = useUnleashStack();

  function client(): Unleash {
    return new Unleash({
      url: server().apiUrl,
      appName: 'baton-harness-test',
      customHeaders: { Authorization: server().clientToken },
      refreshInterval: 200,
      disableMetrics: true,
      // Not the process-wide singleton, and no backup file in the working directory.
      storageProvider: { set: async () => {}, get: async () => undefined } as never,
    });
  }

  it('serves toggles created and flipped over the admin API to unleash-client, and refuses a wrong token', async () => {
    await server().createToggle('harness.checkout', { type: 'release' });
    const unleashClient = client();
    try {
      await new Promise((resolve) => unleashClient.once('synchronized', resolve));
      expect(unleashClient.isEnabled('harness.checkout')).toBe(false);
      await server().setEnabled('harness.checkout', true);
      await waitFor(() => unleashClient.isEnabled('harness.checkout'), 10_000, 'the flip to reach the client');
      await server().deleteToggle('harness.checkout');
      await waitFor(() => unleashClient.getFeatureToggleDefinition('harness.checkout') === undefined, 10_000, 'the delete to reach the client');
    } finally {
      unleashClient.destroy();
    }
    const refused = await fetch(`${server().apiUrl}/client/features`, { headers: { authorization: '*:development.wrong' } });
    expect(refused.status).toBe(401);
  });

  it('can be killed mid-run and started again on the same port and data', async () => {
    await server().createToggle('harness.kill-switch', { type: 'kill-switch', enabled: true });
    await server().kill();
    await expect(fetch(`${server().url}/health`)).rejects.toThrow();
    await server().restart();
    const features = await fetch(`${server().apiUrl}/client/features`, { headers: { authorization: server().clientToken } });
    const body = (await features.json()) as { features: { name: string; enabled: boolean }[] };
    expect(body.features.find((feature) => feature.name === 'harness.kill-switch')).toMatchObject({ enabled: true });
  });
});

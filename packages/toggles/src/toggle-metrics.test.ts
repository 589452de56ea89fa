import { describe, expect, it } from 'vitest';
import { createMetrics, parsePrometheusText } from '@baton/metrics';
import { defineToggles } from './registry.js';
import { createToggles } from './toggles.js';

const registry = defineToggles({
  newCheckout: { kind: 'release', default: false, description: 'The one-page checkout' },
  payments: { kind: 'kill-switch', default: true, description: 'Card payments' },
  checkoutColour: { kind: 'experiment', default: false, description: 'Button colour test' },
});

describe('toggle metrics in @baton/metrics', () => {
  it('export evaluations per toggle and result, the state, the sync age and the faults', async () => {
    const metrics = createMetrics({ service: 'orders', release: 'v2' });
    const toggles = createToggles(registry).bindMetrics(metrics);
    try {
      toggles.isEnabled('newCheckout');
      toggles.isEnabled('newCheckout');
      toggles.isEnabled('payments');
      toggles.getVariant('checkoutColour');
      toggles.on('error', () => {});
      toggles.isEnabled('typo' as 'newCheckout');
      const families = parsePrometheusText(await metrics.text());
      const samples = (name: string) => families.find((family) => family.name === name)?.samples ?? [];
      expect(samples('baton_toggle_evaluations_total').map((sample) => [sample.labels.toggle, sample.labels.result, sample.value])).toEqual([
        ['newCheckout', 'false', 2],
        ['payments', 'true', 1],
        ['checkoutColour', 'disabled', 1],
      ]);
      expect(samples('baton_toggle_evaluations_total')[0]?.labels).toMatchObject({ service: 'orders', release: 'v2' });
      expect(samples('baton_toggle_state').filter((sample) => sample.value === 1).map((sample) => sample.labels.state)).toEqual(['synced']);
      expect(samples('baton_toggle_last_sync_age_seconds')[0]?.value).toBeGreaterThanOrEqual(0);
      expect(samples('baton_toggle_faults_total')[0]?.value).toBe(1);
      // Binding twice is harmless; a second Toggles on the same registry is refused by name.
      toggles.bindMetrics(metrics);
      expect(() => createToggles(registry).bindMetrics(metrics)).toThrow(/already has baton_toggle_evaluations_total/);
    } finally {
      await toggles.close();
    }
  });
});

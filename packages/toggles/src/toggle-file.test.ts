import { describe, expect, it } from 'vitest';
import { isBatonError } from '@baton/lifecycle';
import { useUnleashStack } from '@baton/testing/unleash';
import { defineToggles } from './registry.js';
import { parseToggleFile } from './toggle-file.js';

const registry = defineToggles({
  newCheckout: { kind: 'release', default: false, description: 'The one-page checkout' },
  checkoutColour: { kind: 'experiment', default: false, description: 'Button colour test', payload: 'string' },
  payments: { kind: 'kill-switch', default: true, description: 'Card payments (turn off to stop taking cards)' },
});

describe('parseToggleFile', () => {
  it('reads a plain map of name → on/off, and says which names are unknown or missing', () => {
    const file = parseToggleFile('{ "newCheckout": true, "payments": false, "otherService.flag": true }', registry, 'toggles.json');
    expect(file.format).toBe('map');
    expect(file.features.map((f) => [f.name, f.enabled])).toEqual([
      ['newCheckout', true],
      ['payments', false],
      ['otherService.flag', true],
    ]);
    // On for everyone when enabled: the `default` strategy.
    expect(file.features[0]?.strategies).toEqual([{ name: 'default', parameters: {}, constraints: [] }]);
    expect(file.unknown).toEqual(['otherService.flag']);
    expect(file.missing).toEqual(['checkoutColour']);
  });

  it('refuses what it cannot read, saying where, and returns nothing half-read', () => {
    const bad: [string, RegExp][] = [
      ['{ "newCheckout": tru }', /toggles\.json: not valid JSON/],
      ['[true]', /expected an object/],
      ['null', /expected an object/],
      ['{ "newCheckout": "on" }', /"newCheckout" must be true or false; got "on"/],
      ['{ "features": {} }', /"features" must be an array/],
      ['{ "features": [{ "name": "a", "enabled": true, "strategies": [] }, { "name": "a", "enabled": false, "strategies": [] }] }', /features\[1\]: "a" appears twice/],
      ['{ "features": [{ "name": "a", "strategies": [] }] }', /features\[0\] \("a"\)\.enabled must be true or false/],
      ['{ "features": [{ "enabled": true, "strategies": [] }] }', /features\[0\]\.name must be a non-empty string/],
      ['{ "features": [{ "name": "a", "enabled": true }] }', /\.strategies must be an array/],
      ['{ "features": [{ "name": "a", "enabled": true, "strategies": [{}] }] }', /strategies\[0\] must be an object with a "name"/],
      ['{ "features": [{ "name": "a", "enabled": true, "strategies": [], "variants": [{ "name": "x" }] }] }', /variants\[0\] must have a string "name" and a number "weight"/],
    ];
    for (const [text, message] of bad) {
      let error: unknown;
      try {
        parseToggleFile(text, registry, 'toggles.json');
      } catch (caught) {
        error = caught;
      }
      expect(isBatonError(error, 'BATON_ERR_TOGGLE_FILE'), text).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
  });
});

// The Unleash format is checked against what a real Unleash server serves.
describe('parseToggleFile with what a real Unleash server serves', () => {
  const server = useUnleashStack();

  it('reads /api/client/features as it is: strategies, constraints and variants included', async () => {
    await server().createToggle('newCheckout', {
      enabled: true,
      strategies: [
        {
          name: 'flexibleRollout',
          parameters: { rollout: '25', stickiness: 'userId', groupId: 'newCheckout' },
          constraints: [{ contextName: 'appName', operator: 'IN', values: ['orders'] }],
        },
      ],
    });
    await server().createToggle('checkoutColour', {
      type: 'experiment',
      enabled: true,
      variants: [
        { name: 'teal', weight: 500, payload: { type: 'string', value: 'teal' } },
        { name: 'plum', weight: 500, payload: { type: 'string', value: 'plum' } },
      ],
    });
    const response = await fetch(`${server().apiUrl}/client/features`, { headers: { authorization: server().clientToken } });
    const file = parseToggleFile(await response.text(), registry, 'client/features');
    expect(file.format).toBe('unleash');
    const checkout = file.features.find((f) => f.name === 'newCheckout');
    expect(checkout).toMatchObject({ enabled: true, strategies: [{ name: 'flexibleRollout', parameters: { rollout: '25' } }] });
    expect(checkout?.strategies[0]?.constraints).toHaveLength(1);
    // Unleash 8 serves variants on the strategy.
    const colour = file.features.find((f) => f.name === 'checkoutColour');
    expect((colour?.strategies[0]?.variants as { name: string }[] | undefined)?.map((v) => v.name).sort()).toEqual(['plum', 'teal']);
    expect(file.missing).toEqual(['payments']);
    expect(file.unknown).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { isBatonError } from '@baton/lifecycle';
import { defineToggles, type PayloadOf } from './registry.js';

const definitions = {
  newCheckout: { kind: 'release', default: false, description: 'The one-page checkout', owner: 'payments', expires: '2027-03-31' },
  checkoutColour: { kind: 'experiment', default: false, description: 'Button colour test', payload: 'string' },
  basketLimits: { kind: 'operational', default: true, description: 'Limits per basket', payload: 'json' },
  payments: { kind: 'kill-switch', default: true, description: 'Card payments (turn off to stop taking cards)' },
} as const;

describe('defineToggles', () => {
  it('keeps the registry as the source of truth: names in order, definitions, membership', () => {
    const registry = defineToggles(definitions);
    expect(registry.names).toEqual(['newCheckout', 'checkoutColour', 'basketLimits', 'payments']);
    expect(registry.get('newCheckout')).toMatchObject({ name: 'newCheckout', kind: 'release', default: false, owner: 'payments' });
    expect(registry.has('payments')).toBe(true);
    expect(registry.has('unknown')).toBe(false);
    expect(Object.isFrozen(registry.get('payments'))).toBe(true);
    // A name that comes from outside (a header, a file) is refused with the known ones listed.
    expect(() => registry.get('unknown' as never)).toThrow(/"unknown" is not in the registry; known: newCheckout, checkoutColour, basketLimits, payments/);
  });

  it('checks names and payload types at compile time', () => {
    const registry = defineToggles(definitions);
    // @ts-expect-error: not a toggle of this registry
    expect(() => registry.get('newChekout')).toThrow(/not in the registry/);
    const colour: PayloadOf<typeof definitions, 'checkoutColour'> = 'teal';
    // @ts-expect-error: checkoutColour's payload is a string
    const wrong: PayloadOf<typeof definitions, 'checkoutColour'> = 42;
    const none: PayloadOf<typeof definitions, 'payments'> = undefined;
    expect([colour, wrong, none]).toEqual(['teal', 42, undefined]);
  });

  it('reports toggles past their expiry date, at the end of that day (UTC)', () => {
    const registry = defineToggles(definitions);
    expect(registry.expired(Date.parse('2027-03-31T23:00:00Z'))).toEqual([]);
    expect(registry.expired(Date.parse('2027-04-01T00:00:01Z')).map((toggle) => toggle.name)).toEqual(['newCheckout']);
  });

  it('refuses bad definitions with an error naming the toggle and what is accepted', () => {
    const bad: [unknown, RegExp][] = [
      [{ 'new checkout': { kind: 'release', default: false, description: 'x' } }, /toggle "new checkout": the name must be/],
      [{ ['x'.repeat(101)]: { kind: 'release', default: false, description: 'x' } }, /the name must be 1 to 100/],
      [{ a: { kind: 'feature', default: false, description: 'x' } }, /`kind` must be one of release, experiment, operational, kill-switch, permission; got "feature"/],
      [{ a: { kind: 'release', default: 'off', description: 'x' } }, /`default` must be true or false; got "off"/],
      [{ a: { kind: 'release', default: false, description: ' ' } }, /`description` must say what the toggle does/],
      [{ a: { kind: 'release', default: false, description: 'x', expires: '31/03/2027' } }, /`expires` must be a date like 2027-03-31; got "31\/03\/2027"/],
      [{ a: { kind: 'release', default: false, description: 'x', expires: '2027-13-01' } }, /`expires` must be a date/],
      [{ a: { kind: 'release', default: false, description: 'x', payload: 'boolean' } }, /`payload` must be one of json, string, number/],
      [{ a: { kind: 'release', default: false, description: 'x', owner: '' } }, /`owner` must be a non-empty string/],
      [{ a: null }, /the definition must be an object/],
      [{}, /at least one toggle/],
      [null, /an object of toggle name/],
    ];
    for (const [input, message] of bad) {
      let error: unknown;
      try {
        defineToggles(input as never);
      } catch (caught) {
        error = caught;
      }
      expect(isBatonError(error, 'BATON_ERR_INVALID_OPTION'), JSON.stringify(input)?.slice(0, 80)).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
  });
});

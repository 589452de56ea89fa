import { describe, expect, it } from 'vitest';
import { parseOverrideHeader, resolveOverridePolicy } from './override-header.js';

const known = (name: string) => ['newCheckout', 'checkoutColour', 'payments'].includes(name);

describe('override header', () => {
  const policy = resolveOverridePolicy({ allow: ['newCheckout', 'checkoutColour'] }, known);

  it('reads on, off and variant names for allowed toggles only, saying why others were skipped', () => {
    const { overrides, rejected } = parseOverrideHeader('newCheckout=on; checkoutColour=teal, payments=off, newCheckout', policy);
    expect(overrides).toEqual(new Map<string, boolean | string>([['newCheckout', true], ['checkoutColour', 'teal']]));
    expect(rejected).toEqual(['payments: not allowed', 'newCheckout: expected on, off or a variant name; got ""']);
    expect(parseOverrideHeader('newCheckout=OFF', policy).overrides?.get('newCheckout')).toBe(false);
    expect(parseOverrideHeader(['newCheckout=1', 'checkoutColour=false'], policy).overrides).toEqual(new Map([['newCheckout', true], ['checkoutColour', false]]));
  });

  it('reads nothing from an absent, empty, oversized or garbage header', () => {
    expect(parseOverrideHeader(undefined, policy)).toEqual({ overrides: undefined, rejected: [] });
    expect(parseOverrideHeader('', policy)).toEqual({ overrides: undefined, rejected: [] });
    expect(parseOverrideHeader('x'.repeat(5000), policy)).toEqual({ overrides: undefined, rejected: ['the header is longer than 2048 characters'] });
    expect(parseOverrideHeader('newCheckout=<script>', policy).overrides).toBeUndefined();
    const many = Array.from({ length: 100 }, () => 'newCheckout=on').join(',');
    expect(parseOverrideHeader(many, policy).rejected).toContain('only the first 64 entries are read');
  });

  it('refuses a policy that allows nothing, unknown names or a bad header name', () => {
    expect(() => resolveOverridePolicy({ allow: [] }, known)).toThrow(/need `allow`/);
    expect(() => resolveOverridePolicy({ allow: ['newChekout'] }, known)).toThrow(/not in the registry: newChekout/);
    expect(() => resolveOverridePolicy({ allow: ['newCheckout'], header: 'x toggles' }, known)).toThrow(/must be a header name/);
    expect(resolveOverridePolicy({ allow: ['newCheckout'], header: 'X-Test-Toggles' }, known).header).toBe('x-test-toggles');
  });
});

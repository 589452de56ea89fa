import { describe, expect, it } from 'vitest';
import { compareReleases } from './releases.js';

describe('compareReleases', () => {
  it('orders version-like names numerically, with or without v, pre-releases first', () => {
    const sorted = ['v10', '1.10.0', 'v9', '1.9.3', '1.10.0-rc.2', '1.10.0-rc.10', 'v2'].sort((a, b) => compareReleases(a, b));
    expect(sorted).toEqual(['1.9.3', '1.10.0-rc.2', '1.10.0-rc.10', '1.10.0', 'v2', 'v9', 'v10']);
    expect(compareReleases('v7', '7.0.0')).toBe(0);
  });

  it('uses the given order for names that are not versions, and refuses names it cannot place', () => {
    expect(compareReleases('blue', 'green', ['blue', 'green'])).toBeLessThan(0);
    expect(() => compareReleases('red', 'green', ['blue', 'green'])).toThrow(/"red" is not in releaseOrder/);
    expect(() => compareReleases('blue', 'v7')).toThrow(/not a version/);
  });
});

import { describe, expect, it } from 'vitest';
import { environmentOfToken, toggleSourceFromEnv } from './toggle-source.js';

describe('toggleSourceFromEnv', () => {
  it('moves a service from defaults to a file to a server by configuration only', () => {
    expect(toggleSourceFromEnv({})).toEqual({ type: 'defaults' });
    expect(toggleSourceFromEnv({ BATON_TOGGLES_FILE: 'toggles.json' })).toEqual({ type: 'file', path: 'toggles.json' });
    expect(toggleSourceFromEnv({ UNLEASH_URL: 'https://unleash.example.com/api', UNLEASH_API_TOKEN: '*:production.abc' })).toEqual({
      type: 'unleash',
      url: 'https://unleash.example.com/api',
      token: '*:production.abc',
    });
  });

  it('keeps the file as the server’s bootstrap when both are set, and reads the optional settings', () => {
    expect(
      toggleSourceFromEnv({
        UNLEASH_URL: 'https://unleash.example.com/api',
        UNLEASH_API_TOKEN: '*:production.abc',
        UNLEASH_APP_NAME: 'orders',
        UNLEASH_ENVIRONMENT: 'staging',
        UNLEASH_PROJECT: 'shop',
        UNLEASH_REFRESH_INTERVAL_MS: '5000',
        BATON_TOGGLES_SNAPSHOT_DIR: 'off',
        BATON_TOGGLES_FILE: 'toggles.json',
      }),
    ).toEqual({
      type: 'unleash',
      url: 'https://unleash.example.com/api',
      token: '*:production.abc',
      appName: 'orders',
      environment: 'staging',
      projectName: 'shop',
      refreshIntervalMs: 5000,
      snapshotDir: false,
      bootstrap: 'toggles.json',
    });
  });

  it('refuses half a configuration with what is missing', () => {
    expect(() => toggleSourceFromEnv({ UNLEASH_URL: 'https://u/api' })).toThrow(/UNLEASH_API_TOKEN is not set/);
    expect(() => toggleSourceFromEnv({ UNLEASH_API_TOKEN: 'x' })).toThrow(/UNLEASH_URL is not/);
    expect(() => toggleSourceFromEnv({ UNLEASH_URL: 'https://u/api', UNLEASH_API_TOKEN: 'x', UNLEASH_REFRESH_INTERVAL_MS: 'soon' })).toThrow(/UNLEASH_REFRESH_INTERVAL_MS must be a whole number of ms, at least 100; got "soon"/);
    // Blank values count as unset.
    expect(toggleSourceFromEnv({ UNLEASH_URL: ' ', BATON_TOGGLES_FILE: '' })).toEqual({ type: 'defaults' });
  });
});

describe('environmentOfToken', () => {
  it('reads the environment of a backend token', () => {
    expect(environmentOfToken('*:production.abc123')).toBe('production');
    expect(environmentOfToken('shop:development.x')).toBe('development');
    expect(environmentOfToken('legacy-token')).toBeUndefined();
  });
});

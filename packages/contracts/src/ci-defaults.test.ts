import { describe, expect, it } from 'vitest';
import { ciDefaults } from './ci-defaults.js';

describe('ciDefaults', () => {
  it('reads the version and branch CI systems set, preferring explicit Pact variables', () => {
    expect(ciDefaults({ GITHUB_SHA: 'abc', GITHUB_REF_NAME: 'main' })).toEqual({ version: 'abc', branch: 'main' });
    expect(ciDefaults({ GIT_COMMIT: 'j1', GIT_BRANCH: 'feature/x', GITHUB_SHA: 'abc' })).toEqual({ version: 'j1', branch: 'feature/x' });
    expect(ciDefaults({ PACT_PROVIDER_VERSION: '1.2.3', GITHUB_SHA: 'abc' }).version).toBe('1.2.3');
  });

  it('leaves both undefined outside CI', () => {
    expect(ciDefaults({ GITHUB_SHA: '' })).toEqual({ version: undefined, branch: undefined });
  });
});

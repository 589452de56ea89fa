import { expect } from 'vitest';
import { isBatonError } from '@baton/lifecycle';
import { resolveDeployConfig } from './index.js';

/** What `resolveDeployConfig` says of a config it refuses (`BATON_ERR_DEPLOY_CONFIG`, every problem in one message). */
export function problemsOf(input: unknown): string {
  try {
    resolveDeployConfig(input, { cwd: '/srv/orders' });
  } catch (error) {
    expect(isBatonError(error, 'BATON_ERR_DEPLOY_CONFIG')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected the config to be refused');
}

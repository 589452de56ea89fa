import { BatonError } from '@baton/lifecycle';
import type { ResolvedDeployConfig } from '../deploy-config.js';
import { createReleaseRegistry } from '../releases/release-registry.js';
import { releaseCreator } from '../releases/source-revision.js';
import { statePaths } from '../service-router.js';
import { recordApproval, type Approval } from './approvals.js';

/**
 * `baton approve v2 --env production`: a person's approval of the release —
 * its recorded artifact — for the environment, for its `approval` gate
 * (`baton approve v2` for a service without environments).
 * Written once: approving again keeps the first approval. Refused
 * (`BATON_ERR_PIPELINE`) for a version never released.
 */
export async function approveRelease(config: ResolvedDeployConfig, version: string, options: { env?: Readonly<Record<string, string | undefined>>; now?: () => number } = {}): Promise<{ approval: Approval; created: boolean; gateOn: boolean }> {
  // Without environments the service is the one place a release goes: its approvals are kept under its name.
  if (config.environment === undefined && config.environments.length > 0) {
    throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `baton approve ${version} approves a release for one environment: say which with --env (${config.environments.join(', ')}).`);
  }
  const environment = config.environment ?? config.service;
  const record = await createReleaseRegistry(statePaths(config.serviceDir).releases).read(version);
  if (record === undefined) throw new BatonError('BATON_ERR_PIPELINE', `${version} was never released, so there is nothing to approve (see baton releases).`);
  const approval: Approval = { version, environment, by: releaseCreator(options.env ?? process.env), atMs: (options.now ?? Date.now)() };
  if (record.artifact !== undefined) approval.digest = record.artifact.digest;
  const written = await recordApproval(config.serviceDir, approval);
  return { ...written, gateOn: config.gates.approval };
}

import { join } from 'node:path';
import { BatonError } from '@baton/lifecycle';
import type { ResolvedDeployConfig } from '../deploy-config.js';
import { runDeployCommand, type DeployCommandOptions, type DeployCommandOutcome } from '../deployment.js';
import type { ReleaseSpec } from '../model.js';
import { createReleaseRegistry } from '../releases/release-registry.js';
import { statePaths } from '../service-router.js';
import { createHistory } from './history.js';

/**
 * `baton promote v2 --to production`: deploys to `config`'s environment the
 * release that passed the environment before it in the pipeline — its
 * recorded artifact (same digest) run as it ran there (command, args, image),
 * with this environment's variables (`release.env`, `secretEnv` of the
 * environment's config). Every gate is checked before anything starts,
 * the previous environment's among them: a release that did not pass there
 * is refused (`BATON_ERR_GATE_REFUSED`, with every gate's result), and the
 * refusal is written in the environment's history.
 */
export async function promoteRelease(config: ResolvedDeployConfig, version: string, options: Omit<DeployCommandOptions, 'origin' | 'rollbackTo'> = {}): Promise<DeployCommandOutcome> {
  const environment = config.environment;
  if (environment === undefined) {
    throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `baton promote ${version} --to <environment> takes a release through a pipeline: declare environments (and a pipeline) in the config.`);
  }
  const previous = config.previousEnvironment;
  if (previous === undefined) {
    const where = config.pipeline.includes(environment) ? `the first environment of the pipeline (${config.pipeline.join(' → ')})` : `not in the pipeline (${config.pipeline.join(' → ')})`;
    throw new BatonError('BATON_ERR_PIPELINE', `${environment} is ${where}: there is nothing to promote from. Deploy to it with baton deploy --env ${environment}.`);
  }
  const record = await createReleaseRegistry(statePaths(config.serviceDir).releases).read(version);
  if (record === undefined) {
    throw new BatonError('BATON_ERR_PIPELINE', `${version} was never released: a release enters the pipeline with baton deploy --env ${config.pipeline[0] ?? previous} (see baton releases).`);
  }
  const { entries } = await createHistory(join(config.serviceDir, 'env', previous)).read();
  // As it ran there; when it never did, the gates say so and nothing is deployed.
  const ran = entries.findLast((entry) => entry.release === version && entry.outcome === 'succeeded' && entry.spec !== undefined)?.spec;
  const base: ReleaseSpec = ran ?? config.release;
  const release: ReleaseSpec = { version };
  if (base.command !== undefined) release.command = base.command;
  if (base.args !== undefined) release.args = [...base.args];
  if (base.image !== undefined) release.image = base.image;
  if (base.cwd !== undefined) release.cwd = base.cwd;
  if (base.bundle !== undefined) release.bundle = base.bundle;
  if (record.artifact !== undefined) release.artifact = record.artifact;
  if (config.release.env !== undefined) release.env = { ...config.release.env };
  if (config.release.secretEnv !== undefined) release.secretEnv = [...config.release.secretEnv];
  return runDeployCommand({ ...config, release }, 'deploy', { ...options, origin: { via: 'promote', promotedFrom: previous } });
}

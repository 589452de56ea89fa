import type { ResolvedDeployConfig } from '../deploy-config.js';
import type { DeployEvent, Platform, ReleaseSpec } from '../model.js';
import { statePaths } from '../service-router.js';
import { isFinished, type ServiceState } from '../service-state.js';
import { pinArtifact, recordRelease, refuseChangedArtifact } from './create-release.js';
import { describeArtifact, formatReleaseTime } from './release-record.js';
import { createReleaseRegistry } from './release-registry.js';

/**
 * The release a deploy runs, pinned before the router starts or anything
 * moves (`runDeployCommand`): the config's release with its recorded
 * artifact, recorded now when the version is new. A deploy of the version
 * that is still open (a resume) keeps its journaled candidate — whatever the
 * config's build is now — but is refused (`BATON_ERR_RELEASE`) when that
 * build is another artifact: the config would say one thing and run another.
 * An open deploy of another version is left to the orchestrator, which
 * refuses it before anything is pinned or recorded.
 */
export async function pinForDeploy(
  config: ResolvedDeployConfig,
  context: { platform: Platform; state: ServiceState | undefined; onEvent?: (event: DeployEvent) => void; env?: Readonly<Record<string, string | undefined>> },
): Promise<ReleaseSpec> {
  const open = context.state?.deploy !== undefined && !isFinished(context.state.deploy.phase) ? context.state.deploy : undefined;
  if (open !== undefined && open.to !== config.release.version) return config.release;
  const registry = createReleaseRegistry(statePaths(config.serviceDir).releases);
  const recorded = await registry.read(config.release.version);
  const artifact = config.release.artifact ?? (await pinArtifact(config, context.platform));
  if (open !== undefined) refuseChangedArtifact({ version: open.to, artifact: open.candidate.artifact, createdAtMs: recorded?.createdAtMs ?? open.startedAtMs }, artifact);
  const pinned = await recordRelease(config, artifact, context.env === undefined ? {} : { env: context.env });
  const { record } = pinned;
  const event = (type: string, message: string, data: Record<string, unknown>): void => context.onEvent?.({ atMs: Date.now(), type, message, data });
  const source = record.source === undefined ? '' : `, source ${record.source.revision.slice(0, 12)}${record.source.dirty === true ? ' (dirty)' : ''}`;
  const data = { version: record.version, kind: record.artifact?.kind, digest: record.artifact?.digest, location: record.artifact?.location, revision: record.source?.revision };
  if (pinned.created) event('release-created', `Release ${record.version} recorded: ${describeArtifact(record.artifact)}${source}.`, data);
  else event('release-pinned', `Release ${record.version} as recorded on ${formatReleaseTime(record.createdAtMs)}: ${describeArtifact(record.artifact)}${source}.`, data);
  // A resume runs the journaled candidate whatever the config says now: only a new deploy runs this config.
  if (open === undefined && pinned.configChanged.length > 0) {
    // Names only: a part's value (an env value, args) may be a secret.
    event('release-config-changed', `${record.version} runs with another config than it was released with: ${pinned.configChanged.join(', ')} changed (the artifact is the recorded one).`, { version: record.version, parts: pinned.configChanged });
  }
  return open !== undefined ? open.candidate : pinned.release;
}

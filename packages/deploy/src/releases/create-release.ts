import { BatonError } from '@baton/lifecycle';
import type { ResolvedDeployConfig } from '../deploy-config.js';
import { servicePlatform } from '../deployment.js';
import type { Artifact, Platform, ReleaseSpec } from '../model.js';
import { statePaths } from '../service-router.js';
import { changedConfigParts, configFingerprintsOf } from './config-digest.js';
import { formatReleaseTime, type ReleaseRecord } from './release-record.js';
import { createReleaseRegistry } from './release-registry.js';
import { releaseCreator, sourceRevisionOf } from './source-revision.js';

/** Options of {@link createRelease}. */
export interface CreateReleaseOptions {
  /** The platform that pins the artifact; default the config's (`platform.kind`), closed again afterwards. */
  platform?: Platform;
  /** Where `BATON_SOURCE_REVISION` is read when the config's directory is no git checkout; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Clock; default `Date.now`. */
  now?: () => number;
}

/** What {@link createRelease} did. */
export interface CreatedRelease {
  /** The registry's record of the version (the one just created, or the one found). */
  record: ReleaseRecord;
  /** True when this call recorded the version; false when it was recorded already, with the same artifact. */
  created: boolean;
  /** The release to deploy: the config's, with its pinned `artifact`. */
  release: ReleaseSpec;
  /** Parts of the run config (`args`, `env.DB_URL`...) that differ from the record's; empty when none or just created. */
  configChanged: string[];
}

/**
 * Pins `config.release` and records it in the service's release registry
 * (`<stateDir>/releases/`): asks the platform for the release's artifact
 * (`Platform.artifact()`: an image resolved to its digest, a bundle copied
 * into the store; none for a release that runs in place), fingerprints its
 * run config, and notes who made it from which source revision.
 *
 * A version is bound to one artifact for good: when the version is recorded
 * already, the same artifact returns the existing record, and another one is
 * refused (`BATON_ERR_RELEASE`) — a new build needs a new version. A run
 * config that changed (another env value, other args) is allowed, and said
 * in `configChanged`.
 *
 * @example
 * const { record, created } = await createRelease(config);
 * console.log(created ? 'recorded' : 'known', record.version, record.artifact?.digest);
 */
export async function createRelease(config: ResolvedDeployConfig, options: CreateReleaseOptions = {}): Promise<CreatedRelease> {
  // A record that cannot be read is refused before anything is pinned: it may be the only trace of what ran.
  await createReleaseRegistry(statePaths(config.serviceDir).releases).read(config.release.version);
  const artifact = config.release.artifact ?? (await pinArtifact(config, options.platform));
  return recordRelease(config, artifact, options);
}

/** {@link createRelease} of a release whose artifact is pinned already (undefined: it runs in place). */
export async function recordRelease(config: ResolvedDeployConfig, artifact: Artifact | undefined, options: Omit<CreateReleaseOptions, 'platform'> = {}): Promise<CreatedRelease> {
  const registry = createReleaseRegistry(statePaths(config.serviceDir).releases);
  const existing = await registry.read(config.release.version);
  const release: ReleaseSpec = { ...config.release };
  if (artifact === undefined) delete release.artifact;
  else release.artifact = artifact;
  const fingerprints = configFingerprintsOf(release, await registry.fingerprintKey());
  if (existing !== undefined) return sameRelease(existing, release, fingerprints.configFingerprints);

  const env = options.env ?? process.env;
  const record: ReleaseRecord = {
    version: release.version,
    ...(artifact === undefined ? {} : { artifact }),
    ...fingerprints,
    createdAtMs: (options.now ?? Date.now)(),
    createdBy: releaseCreator(env),
  };
  const source = await sourceRevisionOf(config.lookupFrom[0] ?? process.cwd(), env, config.serviceDir);
  if (source !== undefined) record.source = source;
  if (await registry.create(record)) return { record, created: true, release, configChanged: [] };
  // Another `baton release create` of the same version got there first: its record holds.
  const winner = await registry.read(release.version);
  if (winner === undefined) throw new BatonError('BATON_ERR_RELEASE', `The release record of ${release.version} in ${registry.dir} vanished while it was being created; try again.`);
  return sameRelease(winner, release, fingerprints.configFingerprints);
}

/** Asks the platform (the given one, else the config's, closed again) for the release's artifact; undefined: it runs in place. */
export async function pinArtifact(config: ResolvedDeployConfig, given: Platform | undefined): Promise<Artifact | undefined> {
  const platform = given ?? (await servicePlatform(config));
  try {
    return platform.artifact === undefined ? undefined : await platform.artifact(config.release);
  } finally {
    if (given === undefined) await platform.close?.();
  }
}

/** The recorded release, when `release` runs the same artifact; a refusal that says what to do otherwise. */
function sameRelease(existing: ReleaseRecord, release: ReleaseSpec, configFingerprints: Record<string, string>): CreatedRelease {
  refuseChangedArtifact(existing, release.artifact);
  const pinned: ReleaseSpec = { ...release };
  // The recorded artifact, down to its location and size: what a rollback runs is what was recorded.
  if (existing.artifact !== undefined) pinned.artifact = existing.artifact;
  return { record: existing, created: false, release: pinned, configChanged: changedConfigParts(existing.configFingerprints, configFingerprints) };
}

/** Refuses (`BATON_ERR_RELEASE`) when `artifact` is not the one `record` was created with. */
export function refuseChangedArtifact(record: { version: string; artifact?: Artifact | undefined; createdAtMs: number }, artifact: Artifact | undefined): void {
  if (record.artifact?.digest === artifact?.digest) return;
  const was = record.artifact === undefined ? 'unpinned (it runs in place)' : `as ${record.artifact.digest} (${record.artifact.source})`;
  const now = artifact === undefined ? 'this config runs it in place, unpinned' : `its artifact is now ${artifact.digest}`;
  throw new BatonError(
    'BATON_ERR_RELEASE',
    `${record.version} was released on ${formatReleaseTime(record.createdAtMs)} ${was}; ${now}. A release is immutable: give this build a new version (baton deploy --release ${nextVersion(record.version)}).`,
  );
}

/** `v2` → `v3`, `1.4.0` → `1.4.1`, `orders` → `orders-2`: a suggestion, nothing checks it. */
function nextVersion(version: string): string {
  const match = /^(.*?)(\d+)$/.exec(version);
  return match === null ? `${version}-2` : `${match[1]}${Number(match[2]) + 1}`;
}

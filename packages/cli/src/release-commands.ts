import type { ResolvedDeployConfig } from '@baton/deploy';
import type { CliIo } from './run-cli.js';

type Deploy = typeof import('@baton/deploy');

/**
 * `baton release create`: pins the config's release (its artifact, from the
 * platform) and records it in the service's release registry; a version
 * already recorded with the same artifact is left as it is. Prints the
 * version, the artifact (kind, digest, what it was made from, where it is
 * kept) and the source revision.
 */
export async function runReleaseCreate(deploy: Deploy, config: ResolvedDeployConfig, io: CliIo, json: boolean): Promise<void> {
  const { record, created, configChanged } = await deploy.createRelease(config, { env: io.env, ...(io.platform ? { platform: io.platform } : {}) });
  if (json) {
    io.stdout.write(`${JSON.stringify({ created, configChanged, release: record }, null, 2)}\n`);
    return;
  }
  const artifact = record.artifact;
  const lines = [
    created ? `Release ${record.version} recorded.` : `Release ${record.version} was recorded on ${new Date(record.createdAtMs).toISOString().slice(0, 16).replace('T', ' ')} UTC with this artifact; nothing changed.`,
    ...(artifact === undefined
      ? ['  artifact: none: it runs in place, unpinned (a local release pins a bundle with release.bundle)']
      : [`  artifact: ${artifact.kind} ${artifact.digest}`, `  source:   ${artifact.source}`, `  location: ${artifact.location}`]),
    `  revision: ${record.source === undefined ? 'unknown (no git checkout here; set BATON_SOURCE_REVISION)' : `${record.source.revision}${record.source.dirty === true ? ' (dirty: uncommitted changes)' : ''}`}`,
  ];
  if (configChanged.length > 0) lines.push(`note: its config changed since it was recorded (${configChanged.join(', ')}); the recorded artifact is what it runs.`);
  io.stdout.write(`${lines.join('\n')}\n`);
}

/** `baton releases`: every recorded release, oldest first, with where it is deployed. */
export async function runReleases(deploy: Deploy, config: ResolvedDeployConfig, io: CliIo, json: boolean): Promise<void> {
  const listing = await deploy.listReleases(config);
  io.stdout.write(json ? `${JSON.stringify(listing, null, 2)}\n` : deploy.formatReleases(listing));
  // A record that cannot be read is worth a line where scripts look, in both modes.
  for (const problem of listing.unreadable) io.stderr.write(`baton releases: warning: ${problem.error}\n`);
}

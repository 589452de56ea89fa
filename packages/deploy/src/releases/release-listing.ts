import { basename, join } from 'node:path';
import type { ResolvedDeployConfig } from '../deploy-config.js';
import { createFileJournal } from '../journal/file-journal.js';
import { statePaths } from '../service-router.js';
import { isDown, isFinished, type ServiceState } from '../service-state.js';
import { changedConfigParts, configFingerprintsOf } from './config-digest.js';
import { describeArtifact, formatReleaseTime, type ReleaseRecord } from './release-record.js';
import { createReleaseRegistry, type UnreadableRelease } from './release-registry.js';

/** Where a release is deployed now, from the journal. */
export interface ReleasePlacement {
  /** `serving` (the stable release), `previous` (where `baton rollback` goes), `deploying` (the open deploy's candidate); absent otherwise. */
  role?: 'serving' | 'previous' | 'deploying';
  /** Its instances the journal has running (starting, ready or draining); in every environment, of a config with environments. */
  running: number;
  /** Of a config with environments: where it is in each environment it is in (`role` and `running` as above). */
  environments?: Record<string, { role?: 'serving' | 'previous' | 'deploying'; running: number }>;
}

/** A recorded release and where it is deployed now. */
export interface ListedRelease extends ReleaseRecord, ReleasePlacement {}

/** A release the journal has deployed but the registry holds no record of. */
export interface UnrecordedRelease extends ReleasePlacement {
  version: string;
}

/** What `baton releases` shows. */
export interface ReleaseListing {
  service: string;
  stateDir: string;
  /** Oldest first. */
  releases: ListedRelease[];
  /**
   * Releases the journal knows (serving, previous, being deployed) that have no record: deployed
   * by a Baton from before the registry. Their artifact is unknown; the next deploy records its own.
   */
  unrecorded: UnrecordedRelease[];
  /** Records that could not be read (the file and why); the others are listed all the same. */
  unreadable: UnreadableRelease[];
  /** The config's release, when it is recorded and its run config has changed since: the parts that differ. */
  configChanged?: { version: string; parts: string[] };
}

/** Reads the release registry and, without its lock, the journal, for where each release is. */
export async function listReleases(config: ResolvedDeployConfig): Promise<ReleaseListing> {
  const registry = createReleaseRegistry(statePaths(config.serviceDir).releases);
  const { releases, unreadable } = await registry.list();
  // Without environments, the service's journal; with them, each environment's.
  const names = config.environments.length === 0 ? [undefined] : config.environments;
  const states = await Promise.all(names.map(async (name) => ({ name, state: await createFileJournal<ServiceState>({ dir: statePaths(name === undefined ? config.stateDir : join(config.serviceDir, 'env', name)).journal }).read() })));
  const recordedVersions = new Set([...releases.map((record) => record.version), ...unreadable.map((problem) => basename(problem.file, '.json'))]);
  const journaled = states.flatMap(({ state }) => [state?.previous?.version, state?.stable?.version, state?.deploy?.to]).filter((version): version is string => version !== undefined);
  const where = <Known extends { version: string }>(record: Known): Known & ReleasePlacement => {
    if (config.environments.length === 0) return placed(record, states[0]?.state);
    const environments: NonNullable<ReleasePlacement['environments']> = {};
    for (const { name, state } of states) {
      const { role, running } = placed(record, state);
      if (role !== undefined || running > 0) environments[name as string] = role === undefined ? { running } : { role, running };
    }
    return { ...record, running: Object.values(environments).reduce((sum, placement) => sum + placement.running, 0), environments };
  };
  const unrecorded = [...new Set(journaled)].filter((version) => !recordedVersions.has(version)).map((version) => where({ version }));
  const listing: ReleaseListing = { service: config.service, stateDir: config.serviceDir, releases: releases.map((record) => where(record)), unrecorded, unreadable };
  const recorded = releases.find((record) => record.version === config.release.version);
  if (recorded !== undefined) {
    const parts = changedConfigParts(recorded.configFingerprints, configFingerprintsOf(config.release, await registry.fingerprintKey()).configFingerprints);
    if (parts.length > 0) listing.configChanged = { version: recorded.version, parts };
  }
  return listing;
}

function placed<Known extends { version: string }>(record: Known, state: ServiceState | undefined): Known & ReleasePlacement {
  const running = (state?.instances ?? []).filter((instance) => instance.release === record.version && (instance.status === 'starting' || instance.status === 'ready' || instance.status === 'draining')).length;
  const listed: Known & ReleasePlacement = { ...record, running };
  const open = state?.deploy !== undefined && !isFinished(state.deploy.phase) ? state.deploy : undefined;
  // Taken down (baton down): the stable release is remembered, but serves nothing.
  if (open?.to === record.version) listed.role = 'deploying';
  else if (state?.stable?.version === record.version && !isDown(state)) listed.role = 'serving';
  else if (state?.previous?.version === record.version) listed.role = 'previous';
  return listed;
}

/** `baton releases` for people: one row per release, oldest first, then what needs a look. */
export function formatReleases(listing: ReleaseListing): string {
  if (listing.releases.length === 0 && listing.unrecorded.length === 0 && listing.unreadable.length === 0) {
    return `${listing.service}: no release recorded yet (baton release create, or the first baton deploy of a version, records one)  (state in ${listing.stateDir})\n`;
  }
  const rows = listing.releases.map((release) => [
    release.version,
    formatReleaseTime(release.createdAtMs),
    describeArtifact(release.artifact),
    release.source === undefined ? 'unknown' : `${release.source.revision.slice(0, 12)}${release.source.dirty === true ? ' (dirty)' : ''}`,
    whereOf(release),
  ]);
  // Deployed before the registry existed: what is known is where they are, not what they are.
  for (const release of listing.unrecorded) rows.push([release.version, 'not recorded', 'unknown (deployed before releases were recorded)', 'unknown', whereOf(release)]);
  const header = ['VERSION', 'CREATED', 'ARTIFACT', 'SOURCE', 'WHERE'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]): string => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ').trimEnd();
  const count = listing.releases.length + listing.unrecorded.length;
  const lines = [`${listing.service}: ${count} release${count === 1 ? '' : 's'}  (state in ${listing.stateDir})`, line(header), ...rows.map(line)];
  if (listing.configChanged !== undefined) {
    lines.push(`note: the config's ${listing.configChanged.version} runs with another config than it was released with (${listing.configChanged.parts.join(', ')} changed); its artifact is what the record says.`);
  }
  for (const problem of listing.unreadable) lines.push(`warning: ${problem.error}`);
  return `${lines.join('\n')}\n`;
}

function whereOf(release: ReleasePlacement): string {
  if (release.environments !== undefined) {
    return Object.entries(release.environments)
      .map(([name, placement]) => `${name}: ${whereOf(placement)}`)
      .join('; ');
  }
  const running = release.running > 0 ? `instances: ${release.running} running` : '';
  if (release.role === undefined) return running;
  return running === '' ? release.role : `${release.role}, ${running}`;
}

import { BatonError } from '@baton/lifecycle';
import type { Artifact } from '../model.js';

/**
 * One release as the registry keeps it: a version label bound, once and for
 * good, to the artifact it runs. Nothing in it is secret: the release's
 * environment is there only as names with keyed fingerprints of their values.
 */
export interface ReleaseRecord {
  /** The version label, e.g. `v2`; the registry's file is `<version>.json`. */
  version: string;
  /** What the release runs, pinned by its platform; undefined: it runs in place, unpinned (a local release without `bundle`). */
  artifact?: Artifact;
  /** `sha256:<64 hex>` over {@link ReleaseRecord.configFingerprints}: the release's run config when it was created. */
  configDigest: string;
  /**
   * One keyed fingerprint (`hmac-sha256:<hex>`) per part of the run config —
   * `command`, `args`, `image`, `cwd`, `bundle`, `env.<NAME>` — so a change
   * can be named ("env.DB_URL changed") without the registry ever holding a
   * value, nor a hash of one that a guess could be checked against.
   */
  configFingerprints: Record<string, string>;
  createdAtMs: number;
  createdBy: { user: string; host: string };
  /** The commit the release was built from, when known (a git checkout, or `BATON_SOURCE_REVISION`); `dirty`: uncommitted changes, when known. */
  source?: { revision: string; dirty?: boolean };
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Checks what was read from `file` is a release record; a clear `BATON_ERR_RELEASE` naming the file and the field otherwise. */
export function parseReleaseRecord(value: unknown, file: string, expectedVersion: string): ReleaseRecord {
  const problem = recordProblem(value, expectedVersion);
  if (problem !== undefined) {
    throw new BatonError('BATON_ERR_RELEASE', `The release record ${file} is not valid: ${problem}. Other releases are not affected; restore the file, or move it away and create the release again.`);
  }
  return value as ReleaseRecord;
}

function recordProblem(value: unknown, expectedVersion: string): string | undefined {
  if (!isObject(value)) return 'it is not a JSON object';
  if (value['version'] !== expectedVersion) return `its version is ${JSON.stringify(value['version'])}, and its file name says ${expectedVersion}`;
  if (typeof value['configDigest'] !== 'string' || !DIGEST.test(value['configDigest'])) return 'configDigest is not sha256:<64 hex>';
  const fingerprints = value['configFingerprints'];
  if (!isObject(fingerprints) || !Object.values(fingerprints).every((fingerprint) => typeof fingerprint === 'string')) return 'configFingerprints is not an object of strings';
  if (typeof value['createdAtMs'] !== 'number' || !Number.isFinite(value['createdAtMs'])) return 'createdAtMs is not a number';
  const by = value['createdBy'];
  if (!isObject(by) || typeof by['user'] !== 'string' || typeof by['host'] !== 'string') return 'createdBy is not { user, host }';
  const artifact = value['artifact'];
  if (artifact !== undefined) {
    if (!isObject(artifact)) return 'artifact is not an object';
    if (typeof artifact['digest'] !== 'string' || !DIGEST.test(artifact['digest'])) return 'artifact.digest is not sha256:<64 hex>';
    for (const field of ['kind', 'source', 'location']) if (typeof artifact[field] !== 'string') return `artifact.${field} is not a string`;
  }
  const source = value['source'];
  if (source !== undefined && (!isObject(source) || typeof source['revision'] !== 'string')) return 'source is not { revision, dirty? }';
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `sha256:0123456789ab` — enough to tell releases apart in a table. */
export function shortDigest(digest: string): string {
  return digest.slice(0, 'sha256:'.length + 12);
}

/** For people: `bundle sha256:0123456789ab (./service)`, or `unpinned (runs in place)`. */
export function describeArtifact(artifact: Artifact | undefined): string {
  return artifact === undefined ? 'unpinned (runs in place)' : `${artifact.kind} ${shortDigest(artifact.digest)} (${artifact.source})`;
}

/** `2026-12-07 13:54 UTC`. */
export function formatReleaseTime(atMs: number): string {
  return `${new Date(atMs).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

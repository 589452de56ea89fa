import { createHash, createHmac } from 'node:crypto';
import type { ReleaseSpec } from '../model.js';

/**
 * What a release runs besides its artifact — command, args, image as
 * written, working directory, bundle spec and environment — as one keyed
 * fingerprint per part, and a digest over them. The environment's values are
 * secrets often enough (`DB_PASSWORD`) that none is kept, nor a plain hash of
 * one (a short password is found by hashing guesses): every fingerprint is an
 * HMAC under the registry's own key, so only the registry that holds the key
 * can tell whether a value changed, and no one can test a guess against it.
 */
export function configFingerprintsOf(release: ReleaseSpec, key: Buffer): { configDigest: string; configFingerprints: Record<string, string> } {
  const parts: Record<string, unknown> = {
    command: release.command,
    args: release.args,
    image: release.image,
    cwd: release.cwd,
    bundle: release.bundle,
  };
  for (const [name, value] of Object.entries(release.env ?? {})) parts[`env.${name}`] = value;
  const configFingerprints: Record<string, string> = {};
  for (const name of Object.keys(parts).sort()) {
    const value = parts[name];
    if (value === undefined) continue;
    // The part's name is in the message: the same value under another name is another fingerprint.
    configFingerprints[name] = `hmac-sha256:${createHmac('sha256', key).update(`${name}\0${canonicalJson(value)}`).digest('hex')}`;
  }
  const configDigest = `sha256:${createHash('sha256').update(canonicalJson(configFingerprints)).digest('hex')}`;
  return { configDigest, configFingerprints };
}

/** The parts whose fingerprints differ between two records (added, removed or changed), sorted: `["args", "env.DB_URL"]`. */
export function changedConfigParts(before: Readonly<Record<string, string>>, after: Readonly<Record<string, string>>): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((name) => before[name] !== after[name]).sort();
}

/** JSON with object keys sorted, so equal values always give equal text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, item]) => item !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

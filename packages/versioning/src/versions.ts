import { BatonError } from '@baton/lifecycle';
import { versionScheme, type VersionScheme, type VersionSchemeName } from './version-scheme.js';

/** Options of {@link defineVersions}. */
export interface VersionsOptions<V extends string> {
  /** `date` (default), `semver` or `integer`. */
  scheme?: VersionSchemeName;
  /** Every supported version, oldest first. */
  versions: readonly V[];
  /**
   * The version of a request that names none: `oldest` (default: a client
   * that never asked for anything keeps the API it was built against),
   * `latest`, or one of `versions`.
   */
  default?: 'oldest' | 'latest' | NoInfer<V>;
}

/** What a requested version resolved to. */
export type Resolution<V extends string> =
  | { ok: true; version: V; exact: boolean }
  | { ok: false; problem: 'malformed' | 'unsupported'; message: string };

/** A service's supported API versions, in order. */
export interface Versions<V extends string> {
  readonly scheme: VersionScheme;
  /** Oldest first. */
  readonly list: readonly V[];
  readonly oldest: V;
  readonly latest: V;
  /** The version of a request that names none. */
  readonly default: V;
  /**
   * Resolves a requested version. Dates resolve to the closest earlier
   * supported version (`2025-04-15` → `2025-03-01`: the API as it was that
   * day); semver and integer names must match exactly. Malformed input and
   * versions outside the supported range are refused, never replaced by the
   * latest.
   */
  resolve(requested: string): Resolution<V>;
  /** True when `text` is exactly one of the supported versions. */
  has(text: string): text is V;
  /** Negative when `a` is older than `b`, 0 when equal, positive when newer. */
  compare(a: V, b: V): number;
}

/**
 * Declares the supported versions of an API, oldest first, and how a
 * request's version is resolved. Every name is checked now: malformed,
 * duplicated or out-of-order versions throw `BATON_ERR_INVALID_OPTION`.
 *
 * @example
 * const versions = defineVersions({ versions: ['2024-01-10', '2024-09-01', '2025-03-01'] });
 * versions.resolve('2024-10-15'); // { ok: true, version: '2024-09-01', exact: false }
 */
export function defineVersions<const V extends string>(options: VersionsOptions<V>): Versions<V> {
  if (options === null || typeof options !== 'object' || !Array.isArray(options.versions) || options.versions.length === 0) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'versioning: give `versions`, the supported versions oldest first, e.g. ["2024-01-10", "2025-03-01"].');
  }
  const scheme = versionScheme(options.scheme ?? 'date');
  const list = Object.freeze([...options.versions]);
  const keys = list.map((version, index) => {
    const key = typeof version === 'string' ? scheme.key(version) : undefined;
    if (key === undefined) {
      throw new BatonError('BATON_ERR_INVALID_OPTION', `versioning: versions[${index}] ${JSON.stringify(version)} is not ${scheme.expected} (scheme "${scheme.name}").`);
    }
    return key;
  });
  keys.forEach((key, index) => {
    const previous = keys[index - 1];
    if (previous !== undefined && key <= previous) {
      const what = key === previous ? 'appears twice' : `is older than ${list[index - 1]}`;
      throw new BatonError('BATON_ERR_INVALID_OPTION', `versioning: ${list[index]} ${what}; list versions oldest first, each once.`);
    }
  });
  const oldest = list[0] as V;
  const latest = list[list.length - 1] as V;
  const byName = new Map<string, number>(list.map((version, index) => [version, index]));
  const defaultVersion = resolveDefault(options.default ?? 'oldest', byName, oldest, latest, list);
  const supported = list.join(', ');
  // A request naming a version exactly (the common case) gets one of these, not a new object.
  const exactly = new Map<string, Resolution<V>>(list.map((version) => [version, Object.freeze({ ok: true as const, version, exact: true })]));

  return Object.freeze({
    scheme,
    list,
    oldest,
    latest,
    default: defaultVersion,
    has(text: string): text is V {
      return byName.has(text);
    },
    compare(a: V, b: V): number {
      return (byName.get(a) ?? Number.NaN) - (byName.get(b) ?? Number.NaN);
    },
    resolve(requested: string): Resolution<V> {
      const exact = exactly.get(requested);
      if (exact !== undefined) return exact;
      const key = typeof requested === 'string' ? scheme.key(requested) : undefined;
      if (key === undefined) {
        return { ok: false, problem: 'malformed', message: `${quote(requested)} is not ${scheme.expected}. Supported versions: ${supported}.` };
      }
      if (scheme.name !== 'date') {
        return { ok: false, problem: 'unsupported', message: `Version ${requested} is not supported. Supported versions: ${supported}.` };
      }
      // The closest earlier version: the API as it was on that date.
      let found = -1;
      for (let at = 0; at < keys.length && (keys[at] as number) <= key; at += 1) found = at;
      if (found === -1) {
        return { ok: false, problem: 'unsupported', message: `Version ${requested} is older than the oldest supported version, ${oldest}. Supported versions: ${supported}.` };
      }
      return { ok: true, version: list[found] as V, exact: false };
    },
  });
}

function resolveDefault<V extends string>(wanted: string, byName: Map<string, number>, oldest: V, latest: V, list: readonly V[]): V {
  if (wanted === 'oldest') return oldest;
  if (wanted === 'latest') return latest;
  if (byName.has(wanted)) return wanted as V;
  throw new BatonError('BATON_ERR_INVALID_OPTION', `versioning: \`default\` must be "oldest", "latest" or one of ${list.join(', ')}; got ${JSON.stringify(wanted)}.`);
}

// What a client sent goes back in a message: bounded and quoted, never raw.
function quote(text: unknown): string {
  const value = typeof text === 'string' ? text : String(text);
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

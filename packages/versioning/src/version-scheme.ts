import { BatonError } from '@baton/lifecycle';

/**
 * How version names look and order: dates like `2025-03-01` (Stripe's way,
 * the default), semver like `2.1.0`, or plain integers like `3`.
 */
export type VersionSchemeName = 'date' | 'semver' | 'integer';

/** Parses and orders the version names of one scheme. */
export interface VersionScheme {
  readonly name: VersionSchemeName;
  /** What a valid name looks like, for error messages: `a date like 2025-03-01`. */
  readonly expected: string;
  /** A number that orders versions (greater is newer), or `undefined` when `text` is not a version of this scheme. */
  key(text: string): number | undefined;
}

// Longer input is refused before any parsing: version names are short.
const MAX_LENGTH = 32;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const SEMVER = /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/;
const INTEGER = /^(0|[1-9]\d{0,14})$/;

const schemes: Readonly<Record<VersionSchemeName, VersionScheme>> = {
  date: {
    name: 'date',
    expected: 'a date like 2025-03-01',
    key(text) {
      const match = text.length <= MAX_LENGTH ? DATE.exec(text) : null;
      if (match === null) return undefined;
      const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
      // A real calendar day: 2025-02-30 is refused, not rolled over to March.
      const date = new Date(Date.UTC(year, month - 1, day));
      if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
      return year * 10_000 + month * 100 + day;
    },
  },
  semver: {
    name: 'semver',
    expected: 'a version like 2.1.0',
    key(text) {
      const match = text.length <= MAX_LENGTH ? SEMVER.exec(text) : null;
      if (match === null) return undefined;
      // Each part below a million, so the key stays an exact integer.
      return Number(match[1]) * 1e12 + Number(match[2]) * 1e6 + Number(match[3]);
    },
  },
  integer: {
    name: 'integer',
    expected: 'a whole number like 3',
    key(text) {
      return text.length <= MAX_LENGTH && INTEGER.test(text) ? Number(text) : undefined;
    },
  },
};

/** The scheme of `name`; throws `BATON_ERR_INVALID_OPTION` naming the known ones. */
export function versionScheme(name: VersionSchemeName): VersionScheme {
  const scheme = Object.hasOwn(schemes, name) ? schemes[name] : undefined;
  if (scheme === undefined) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `versioning: unknown scheme ${JSON.stringify(name)}; known: ${Object.keys(schemes).join(', ')}.`);
  }
  return scheme;
}

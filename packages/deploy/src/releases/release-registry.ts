import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BatonError } from '@baton/lifecycle';
import { createExclusive } from '../internal/exclusive-file.js';
import { ensurePrivateDir } from '../internal/private-dir.js';
import { parseReleaseRecord, type ReleaseRecord } from './release-record.js';

/** A record the registry could not read: the file, and why. */
export interface UnreadableRelease {
  file: string;
  error: string;
}

/**
 * The releases of one service (`<stateDir>/releases/`): one JSON file per
 * version, private (0600 in a 0700 directory) and written once — a record is
 * created whole or not at all, and never replaced, which is what makes a
 * release immutable.
 */
export interface ReleaseRegistry {
  readonly dir: string;
  /** The record of `version`, or undefined when it was never created; rejects with `BATON_ERR_RELEASE` naming a file that is not a valid record. */
  read(version: string): Promise<ReleaseRecord | undefined>;
  /** Every readable record, oldest first; the files that could not be read are listed apart, and hide nothing else. */
  list(): Promise<{ releases: ReleaseRecord[]; unreadable: UnreadableRelease[] }>;
  /** Creates the record of `record.version`; false (and nothing written) when one exists already. */
  create(record: ReleaseRecord): Promise<boolean>;
  /** The key of the registry's config fingerprints, made on first use and kept with the records. */
  fingerprintKey(): Promise<Buffer>;
}

/** A record's file name is its version: the config allows only letters, digits and `._+-` there, starting with a letter or digit. */
const RECORD_FILE = /^([A-Za-z0-9][A-Za-z0-9._+-]*)\.json$/;
const KEY_FILE = 'fingerprint-key';

/** The registry kept in `dir` (`statePaths(stateDir).releases`). Reading an empty or missing directory is no error. */
export function createReleaseRegistry(dir: string): ReleaseRegistry {
  const fileOf = (version: string): string => {
    if (!RECORD_FILE.test(`${version}.json`)) throw new BatonError('BATON_ERR_RELEASE', `A release version is a label of letters, digits, ".", "_", "+" or "-", e.g. "v2"; got ${JSON.stringify(version)}.`);
    return join(dir, `${version}.json`);
  };
  const readRecord = async (version: string): Promise<ReleaseRecord | undefined> => {
    const file = fileOf(version);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new BatonError('BATON_ERR_RELEASE', `The release record ${file} cannot be read: ${(error as Error).message}.`, { cause: error });
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new BatonError('BATON_ERR_RELEASE', `The release record ${file} is not valid JSON (${(error as Error).message}). Other releases are not affected; restore the file, or move it away and create the release again.`, { cause: error });
    }
    return parseReleaseRecord(value, file, version);
  };
  return {
    dir,
    read: readRecord,
    async list() {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { releases: [], unreadable: [] };
        throw error;
      }
      const releases: ReleaseRecord[] = [];
      const unreadable: UnreadableRelease[] = [];
      for (const name of names.sort()) {
        const version = RECORD_FILE.exec(name)?.[1];
        if (version === undefined) continue;
        try {
          const record = await readRecord(version);
          if (record !== undefined) releases.push(record);
        } catch (error) {
          unreadable.push({ file: join(dir, name), error: (error as Error).message });
        }
      }
      releases.sort((a, b) => a.createdAtMs - b.createdAtMs || a.version.localeCompare(b.version));
      return { releases, unreadable };
    },
    async create(record) {
      const file = fileOf(record.version);
      await ensurePrivateDir(dir, () => true);
      return createExclusive(file, `${JSON.stringify(record, null, 2)}\n`);
    },
    async fingerprintKey() {
      const file = join(dir, KEY_FILE);
      await ensurePrivateDir(dir, () => true);
      // Two creators at once: one key wins, and both use it.
      await createExclusive(file, `${randomBytes(32).toString('hex')}\n`);
      const text = (await readFile(file, 'utf8')).trim();
      if (!/^[0-9a-f]{64}$/.test(text)) {
        throw new BatonError('BATON_ERR_RELEASE', `The release registry's fingerprint key ${file} is not 64 hex digits; remove it (the next release makes a new one, and reports every recorded release's config as changed once).`);
      }
      return Buffer.from(text, 'hex');
    },
  };
}

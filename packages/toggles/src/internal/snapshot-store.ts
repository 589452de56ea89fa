import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { checkClientFeatures, type ClientFeature, type ClientSegment } from '../toggle-file.js';

/** The last features a server served, kept on disk for a boot while the server is down. */
export interface Snapshot {
  /** When the server served them (ms since the epoch). */
  savedAt: number;
  features: ClientFeature[];
  segments: ClientSegment[];
}

/**
 * Reads and writes the last-known-good snapshot of one app in one
 * environment, so two services (or one service's staging and production
 * instances) on one machine never read each other's toggles.
 */
export class SnapshotStore {
  readonly path: string;

  constructor(dir: string, appName: string, environment: string) {
    this.path = join(dir, `baton-toggles-${safe(appName)}-${safe(environment)}.json`);
  }

  /**
   * Writes the snapshot atomically: a temporary file in the same directory,
   * flushed to disk, then renamed over the old one. A crash mid-write leaves
   * the previous snapshot whole, never a torn one.
   */
  async write(snapshot: Snapshot): Promise<void> {
    await mkdir(join(this.path, '..'), { recursive: true });
    const temporary = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const file = await open(temporary, 'w', 0o600);
      try {
        await file.writeFile(JSON.stringify({ version: 2, savedAt: snapshot.savedAt, features: snapshot.features, segments: snapshot.segments }));
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temporary, this.path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  /** The snapshot, or `undefined` when there is none. Throws when the file is there but not a snapshot. */
  read(): Snapshot | undefined {
    let text: string;
    try {
      // Read once at construction, synchronously, so the values are known before the first request.
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const data = JSON.parse(text) as { savedAt?: unknown };
    const { features, segments } = checkClientFeatures(data, this.path);
    const savedAt = typeof data.savedAt === 'number' ? data.savedAt : 0;
    return { savedAt, features, segments };
  }
}

// App and environment names come from configuration; keep them to one path segment.
function safe(name: string): string {
  return name.replace(/[^a-zA-Z0-9._-]/g, '_');
}

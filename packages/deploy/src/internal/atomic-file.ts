import { randomUUID } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Replaces `file` atomically: writes a temporary file beside it, fsyncs it and
 * renames it over the old one, so a crash leaves the old content or the new,
 * never a torn file. Mode 600: the state directory is the router's own.
 */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  // A name no one can guess, created exclusively (O_EXCL never follows a link): the directory may be
  // one a user shares with others (a stateDir pointed at the project directory keeps its mode).
  const temporary = `${file}.${process.pid}.${randomUUID()}.tmp`;
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
  // The rename itself survives a power loss only once the directory is synced.
  try {
    const directory = await open(dirname(file), 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  } catch {
    // Some file systems refuse fsync on a directory; the rename still happened.
  }
}

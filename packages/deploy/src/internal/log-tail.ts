import { open, stat } from 'node:fs/promises';

/** The text appended to `logFile` since byte `offset` (at most its last 4 KB). */
export async function logSince(logFile: string, offset: number): Promise<string> {
  try {
    const handle = await open(logFile, 'r');
    try {
      const { size } = await handle.stat();
      const start = Math.max(offset, size - 4000);
      const buffer = Buffer.alloc(Math.max(0, size - start));
      await handle.read(buffer, 0, buffer.length, start);
      return buffer.toString('utf8').trim();
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}

/** The size of `file` now (where a later {@link logSince} starts), 0 when it does not exist. */
export async function fileSize(file: string): Promise<number> {
  return stat(file).then(
    (s) => s.size,
    () => 0,
  );
}

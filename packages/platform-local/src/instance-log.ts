import { open } from 'node:fs/promises';

// Reading an instance's log file, which the instance itself writes (a file, not a pipe: see the platform).

/** Reads the complete lines appended to `path` past `from`, a little more at each call. */
export function createLineReader(path: string, from: number): { lines(): Promise<string[]>; close(): Promise<void> } {
  let position = from;
  let partial = '';
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  const buffer = Buffer.alloc(64 * 1024);
  return {
    async lines() {
      handle ??= await open(path, 'r');
      const found: string[] = [];
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
        if (bytesRead === 0) break;
        position += bytesRead;
        partial += buffer.toString('utf8', 0, bytesRead);
        const parts = partial.split('\n');
        partial = parts.pop() ?? '';
        found.push(...parts);
      }
      return found;
    },
    async close() {
      await handle?.close();
    },
  };
}

/** The last `count` non-empty lines of the log written since `from`, indented for an error message. */
export async function logTail(path: string, from: number, count: number): Promise<string> {
  if (count === 0) return '';
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const start = Math.max(from, size - 64 * 1024);
      const buffer = Buffer.alloc(size - start);
      await handle.read(buffer, 0, buffer.length, start);
      const lines = buffer.toString('utf8').split('\n').filter((line) => line.trim() !== '');
      return lines.slice(-count).map((line) => `  | ${line.length > 500 ? `${line.slice(0, 500)}…` : line}`).join('\n');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}

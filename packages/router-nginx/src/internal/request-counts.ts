/**
 * Requests per backend, from the balancer's access log: one line per
 * request, the backend addresses it tried (`$upstream_addr`: `a:1, b:2`
 * after a retry). Read incrementally; how far it was read and the counts so
 * far are kept together in counts.json (replaced atomically), so any
 * connection can continue where another stopped and none counts a line twice.
 */
import { open, readFile, rename, stat } from 'node:fs/promises';
import { nginxAddress } from '../nginx-config.js';
import { writeJson, type NginxBackendEntry, type NginxRouterPaths } from './nginx-state.js';

interface CountsRecord {
  /** Inode of the access log read so far: a new one means it was rotated. */
  inode: number;
  offset: number;
  counts: Record<string, number>;
}

/** Past this, the access log is moved aside and nginx told to open a new one (SIGUSR1). */
const ROTATE_BYTES = 16 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;

async function readCounts(file: string): Promise<CountsRecord> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Partial<CountsRecord>;
    if (typeof value.inode === 'number' && typeof value.offset === 'number' && typeof value.counts === 'object' && value.counts !== null) return value as CountsRecord;
  } catch {
    // Missing or torn by hand: counting starts again.
  }
  return { inode: 0, offset: 0, counts: {} };
}

/** Adds the lines of `file` from `offset` to `counts`; returns the offset after the last whole line. */
async function tally(file: string, offset: number, byAddress: Map<string, string>, counts: Record<string, number>): Promise<number> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    let position = offset;
    let carry = '';
    while (position < size) {
      const buffer = Buffer.alloc(Math.min(CHUNK_BYTES, size - position));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      const text = carry + buffer.subarray(0, bytesRead).toString('latin1');
      const lines = text.split('\n');
      carry = lines.pop() ?? '';
      for (const line of lines) {
        for (const token of line.split(/[\s,]+/)) {
          const id = byAddress.get(token);
          if (id !== undefined) counts[id] = (counts[id] ?? 0) + 1;
        }
      }
    }
    // A line nginx is still writing is read next time.
    return position - Buffer.byteLength(carry, 'latin1');
  } finally {
    await handle.close();
  }
}

/**
 * Folds what the access log gained since the last fold into counts.json,
 * each address counted for the backend that holds it now, and returns the
 * counts by backend id. Call it before a backend's address can change hands
 * (add, remove), so one instance's requests never go to the next one's count.
 */
export async function foldRequestCounts(paths: NginxRouterPaths, backends: readonly NginxBackendEntry[], balancerMaster: number | undefined, rotateBytes = ROTATE_BYTES): Promise<Record<string, number>> {
  const record = await readCounts(paths.countsFile);
  const byAddress = new Map(backends.map((entry) => [nginxAddress(entry.address, entry.port), entry.id]));
  const counts: Record<string, number> = {};
  for (const entry of backends) counts[entry.id] = record.counts[entry.id] ?? 0;
  const current = await stat(paths.accessLog).catch(() => undefined);
  if (current === undefined) return counts;
  let offset = record.offset;
  if (current.ino !== record.inode) {
    // Rotated since: finish the old file (it may have grown until nginx reopened), then start the new one.
    const rotated = await stat(paths.accessLogRotated).catch(() => undefined);
    if (rotated !== undefined && rotated.ino === record.inode) await tally(paths.accessLogRotated, record.offset, byAddress, counts);
    offset = 0;
  }
  offset = await tally(paths.accessLog, offset, byAddress, counts);
  await writeJson(paths.countsFile, { inode: current.ino, offset, counts } satisfies CountsRecord);
  if (offset > rotateBytes && balancerMaster !== undefined) {
    await rename(paths.accessLog, paths.accessLogRotated);
    // Created here, private; nginx reopens it (it would create it 0644).
    await (await open(paths.accessLog, 'a', 0o600)).close();
    try {
      process.kill(balancerMaster, 'SIGUSR1');
    } catch {
      // Not running: the next start opens a new log anyway.
    }
  }
  return counts;
}

/** Starts a backend's count at 0 (a new backend, or one added again). */
export async function resetRequestCount(paths: NginxRouterPaths, id: string): Promise<void> {
  const record = await readCounts(paths.countsFile);
  if (!(id in record.counts)) return;
  delete record.counts[id];
  await writeJson(paths.countsFile, record);
}

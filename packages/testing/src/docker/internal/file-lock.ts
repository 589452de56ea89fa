// A lock between test processes (vitest runs test files in parallel workers and
// forks): mkdir is atomic, and the owner's pid inside lets a later process take
// over a lock whose owner died without letting go.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isProcessAlive } from './processes.js';

/** Runs `work` while holding the lock at `path` (a directory); waits for it at most `timeoutMs`. */
export async function withFileLock<T>(path: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(path);
      writeFileSync(`${path}/owner`, String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    takeOverIfStale(path);
    if (Date.now() > deadline) throw new Error(`lock ${path} still held by pid ${ownerOf(path) ?? '?'} after ${timeoutMs} ms`);
    await sleep(100);
  }
  try {
    return await work();
  } finally {
    rmSync(path, { recursive: true, force: true });
  }
}

function ownerOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(`${path}/owner`, 'utf8'));
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function takeOverIfStale(path: string): void {
  const owner = ownerOf(path);
  // No owner file yet: its owner is between mkdir and write; give it time.
  if (owner === undefined || isProcessAlive(owner)) return;
  // Rename before removing, so two waiters cannot both remove (one of them a fresh lock).
  const aside = `${path}.stale-${process.pid}-${Date.now()}`;
  try {
    renameSync(path, aside);
    rmSync(aside, { recursive: true, force: true });
  } catch {
    // another waiter took it over first
  }
}

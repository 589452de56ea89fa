import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { link, open, readdir, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { BatonError } from '@baton/lifecycle';
import type { DeployEvent, Journal } from '../model.js';
import { ensurePrivateDirSync, PRIVATE_FILE_MODE } from '../internal/private-dir.js';
import { isProcessAlive, processStartIdentity } from '../internal/process-identity.js';
import { createGroupCommit } from '../internal/group-commit.js';

/** Options of {@link createFileJournal}. */
export interface FileJournalOptions {
  /** The directory holding `state.json`, `events.jsonl` and `journal.lock`; created when missing. */
  dir: string;
}

/** The journal's files, by role. */
export const JOURNAL_FILES = { state: 'state.json', events: 'events.jsonl', lock: 'journal.lock' } as const;

/** What the lock file holds: enough to tell a live holder from a dead one whose pid was reused. */
interface LockContent {
  pid: number;
  /** From /proc: the holder's boot and start time; absent where /proc cannot tell. */
  start?: string;
  acquiredAtMs: number;
  token: string;
}

/**
 * A {@link Journal} in a directory: the state in `state.json`, replaced
 * atomically (temp file, fsync, rename, fsync of the directory), so a crash at
 * any moment leaves the old state or the new one; the events in
 * `events.jsonl`, one JSON line each, fsynced before append() resolves; and an exclusive lock in
 * `journal.lock` holding the owner's pid and start time. The directory is
 * private (0700, tightened when it exists) and every file in it 0600: the
 * state holds release environments.
 *
 * A state file that cannot be parsed is an error (`BATON_ERR_JOURNAL` naming
 * the file), never an empty journal: an orchestrator that believed no deploy
 * was running would start a second one over the first one's instances.
 *
 * @example
 * const journal = createFileJournal<ServiceState>({ dir: '.baton/orders' });
 * const lock = await journal.lock();
 * try { await journal.write(state); } finally { await lock.release(); }
 */
export function createFileJournal<State>(options: FileJournalOptions): Journal<State> {
  const { dir } = resolveOptions(options);
  const statePath = join(dir, JOURNAL_FILES.state);
  const eventsPath = join(dir, JOURNAL_FILES.events);
  const lockPath = join(dir, JOURNAL_FILES.lock);
  let ensured: Promise<void> | undefined;
  /** The events file's mode is tightened once per journal object (one written by an older Baton may be 0644). */
  let eventsPrivate = false;
  const ensureDir = (): Promise<void> => {
    ensured ??= Promise.resolve().then(() => {
      try {
        ensurePrivateDirSync(dir, isJournalEntry);
      } catch (error) {
        ensured = undefined;
        throw journalError(`cannot create the journal directory ${dir}: ${describe(error)}`, error);
      }
    });
    return ensured;
  };
  // Writes and appends of one journal run one at a time, in call order: the
  // last write() called is the state left on disk, and events keep their order.
  // Calls made while one runs are committed together (group commit): of
  // several states only the newest is written, which is what writing them
  // one after the other would leave, and events go in one append and fsync.
  const commitState = createGroupCommit<string>(async (texts) => {
    await ensureDir();
    // The temp file sits beside the state: rename is atomic only within one file system.
    const temp = join(dir, `.${JOURNAL_FILES.state}.${process.pid}.${randomUUID()}.tmp`);
    try {
      await writeDurably(temp, texts[texts.length - 1] as string);
      await rename(temp, statePath);
      await syncDir(dir);
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw journalError(`cannot write the journal state ${statePath}: ${describe(error)}`, error);
    }
  });
  const commitEvents = createGroupCommit<string>(async (lines) => {
    await ensureDir();
    let handle: FileHandle | undefined;
    try {
      handle = await open(eventsPath, 'a+', PRIVATE_FILE_MODE);
      if (!eventsPrivate) {
        await handle.chmod(PRIVATE_FILE_MODE);
        eventsPrivate = true;
      }
      await dropTornTail(handle);
      await handle.write(lines.join(''));
      await handle.sync();
    } catch (error) {
      throw journalError(`cannot append to the journal's events ${eventsPath}: ${describe(error)}`, error);
    } finally {
      await handle?.close();
    }
  });

  return {
    async read() {
      let text: string;
      try {
        text = await readFile(statePath, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw journalError(`cannot read the journal state ${statePath}: ${describe(error)}`, error);
      }
      try {
        return JSON.parse(text) as State;
      } catch (error) {
        throw journalError(
          `the journal state ${statePath} is corrupt (${describe(error)}); it was left as it is. Inspect it, restore it, or move it away to start afresh`,
          error,
        );
      }
    },

    write(state) {
      let text: string;
      try {
        text = `${JSON.stringify(state, undefined, 2)}\n`;
      } catch (error) {
        return Promise.reject(journalError(`the state cannot be journaled: it is not JSON-able (${describe(error)})`, error));
      }
      if (typeof text !== 'string' || text === 'undefined\n') {
        return Promise.reject(journalError('the state cannot be journaled: it is not JSON-able (undefined or a function)'));
      }
      return commitState(text);
    },

    append(event) {
      const problem = eventProblem(event);
      if (problem !== undefined) return Promise.reject(new BatonError('BATON_ERR_INVALID_OPTION', `journal: cannot append the event: ${problem}`));
      let line: string;
      try {
        line = `${JSON.stringify(event)}\n`;
      } catch (error) {
        return Promise.reject(new BatonError('BATON_ERR_INVALID_OPTION', `journal: cannot append the event: its data is not JSON-able (${describe(error)})`));
      }
      return commitEvents(line);
    },

    async events() {
      let text: string;
      try {
        text = await readFile(eventsPath, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw journalError(`cannot read the journal's events ${eventsPath}: ${describe(error)}`, error);
      }
      const lines = text.split('\n');
      // The text after the last newline is an append a crash cut short: it never resolved, so it is no event.
      lines.pop();
      const events: DeployEvent[] = [];
      lines.forEach((line, index) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch (error) {
          throw journalError(`the journal's events ${eventsPath} are corrupt at line ${index + 1}: ${describe(error)}`, error);
        }
        const problem = eventProblem(parsed);
        if (problem !== undefined) throw journalError(`the journal's events ${eventsPath} are corrupt at line ${index + 1}: ${problem}`);
        events.push(parsed as DeployEvent);
      });
      return events;
    },

    async lock() {
      await ensureDir();
      const mine: LockContent = { pid: process.pid, acquiredAtMs: Date.now(), token: randomUUID() };
      const start = processStartIdentity(process.pid);
      if (start !== undefined) mine.start = start;
      // A retry follows each removal of a dead holder's lock.
      for (let attempt = 0; attempt < 3; attempt += 1) {
        if (await createLock(lockPath, mine)) {
          await removeStaleTemps(dir);
          return { release: () => releaseLock(lockPath, mine.token) };
        }
        const holder = await readLock(lockPath);
        if (holder === 'absent') continue;
        if (holder === 'unreadable') {
          // Baton writes a lock whole (see createLock): this one is someone else's, or damaged. A person decides.
          throw journalError(`the journal lock ${lockPath} is not a lock Baton wrote (no pid in it); remove it if no orchestrator is running this service`);
        }
        if (isProcessAlive(holder.pid, holder.start)) {
          const since = new Date(holder.acquiredAtMs).toISOString();
          throw journalError(
            `the journal in ${dir} is locked by process ${holder.pid} (since ${since}): another orchestrator is running this service. Wait for it, or stop process ${holder.pid}`,
          );
        }
        await takeOver(lockPath, holder);
      }
      throw journalError(`could not take the journal lock ${lockPath}: other processes keep taking it at the same moment`);
    },
  };
}

function resolveOptions(options: FileJournalOptions): { dir: string } {
  if (options === null || typeof options !== 'object') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'createFileJournal: options must be an object with a `dir`.');
  }
  if (typeof options.dir !== 'string' || options.dir.trim() === '' || options.dir.includes('\0')) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `createFileJournal: \`dir\` must be a directory path; got ${JSON.stringify(options.dir)}.`);
  }
  // Resolved once: a later process.chdir() must not move the journal.
  return { dir: isAbsolute(options.dir) ? options.dir : resolve(options.dir) };
}

/** What the journal keeps in its directory: its files and their temporary siblings. */
function isJournalEntry(name: string): boolean {
  // `.seal-key`: the key of the state's secret fingerprints (journal-secrets.ts), made beside it.
  return /^(?:state\.json|events\.jsonl|journal\.lock|\.seal-key)$|^\.state\.json\..*\.tmp$|^journal\.lock\.|^\.seal-key\..*\.tmp$/.test(name);
}

async function writeDurably(path: string, text: string): Promise<void> {
  // 0600: the state holds the releases' environments (database URLs, tokens), which an orchestrator
  // needs to start instances again on resume and rollback; nobody else may read them.
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, PRIVATE_FILE_MODE);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

// The rename is durable only once the directory entry is on disk too.
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems refuse fsync on a directory; the rename still happened.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw error;
  } finally {
    await handle.close();
  }
}

/** Cuts an unterminated last line (an append a crash interrupted), so the next line does not glue onto it. */
async function dropTornTail(handle: FileHandle): Promise<void> {
  const { size } = await handle.stat();
  if (size === 0) return;
  const last = Buffer.alloc(1);
  await handle.read(last, 0, 1, size - 1);
  if (last[0] === 0x0a) return;
  // Find the last newline, reading backwards in chunks.
  const chunk = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const from = Math.max(0, end - chunk.length);
    const { bytesRead } = await handle.read(chunk, 0, end - from, from);
    const at = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (at !== -1) {
      await handle.truncate(from + at + 1);
      return;
    }
    end = from;
  }
  await handle.truncate(0);
}

function eventProblem(event: unknown): string | undefined {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return 'an event must be an object { atMs, type, message, data? }';
  const e = event as Record<string, unknown>;
  if (typeof e.atMs !== 'number' || !Number.isFinite(e.atMs)) return `atMs must be a number of milliseconds; got ${JSON.stringify(e.atMs)}`;
  if (typeof e.type !== 'string' || e.type === '') return `type must be a non-empty string; got ${JSON.stringify(e.type)}`;
  if (typeof e.message !== 'string') return `message must be a string; got ${JSON.stringify(e.message)}`;
  if (e.data !== undefined && (e.data === null || typeof e.data !== 'object' || Array.isArray(e.data))) return 'data, when present, must be an object';
  return undefined;
}

/** Creates the lock file with O_EXCL semantics: a complete file appears at once (link of a written temp file), or nothing. */
async function createLock(lockPath: string, content: LockContent): Promise<boolean> {
  // link() rather than open(O_EXCL)+write: a reader never sees an empty lock
  // file from a holder that has not written its pid yet.
  const temp = `${lockPath}.${process.pid}.${content.token}.tmp`;
  await writeDurably(temp, `${JSON.stringify(content)}\n`);
  try {
    await link(temp, lockPath);
    await syncDir(join(lockPath, '..'));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw journalError(`cannot create the journal lock ${lockPath}: ${describe(error)}`, error);
  } finally {
    await unlink(temp).catch(() => {});
  }
}

async function readLock(lockPath: string): Promise<LockContent | 'absent' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw journalError(`cannot read the journal lock ${lockPath}: ${describe(error)}`, error);
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockContent>;
    if (typeof parsed.pid === 'number' && typeof parsed.token === 'string' && typeof parsed.acquiredAtMs === 'number') return parsed as LockContent;
  } catch {
    // Falls through: a lock no Baton wrote whole.
  }
  return 'unreadable';
}

/**
 * Removes a dead holder's lock. Renaming it aside first, then checking it is
 * the lock judged dead, keeps two processes taking over at once from removing
 * the fresh lock the faster one just created.
 */
async function takeOver(lockPath: string, dead: LockContent): Promise<void> {
  const aside = `${lockPath}.${process.pid}.${randomUUID()}.stale`;
  try {
    await rename(lockPath, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw journalError(`cannot take over the stale journal lock ${lockPath}: ${describe(error)}`, error);
  }
  const moved = await readLock(aside);
  const same = moved !== 'absent' && moved !== 'unreadable' && moved.token === dead.token;
  if (!same) {
    // Someone took the lock between our read and our rename: give it back.
    await link(aside, lockPath).catch(() => {});
  }
  await unlink(aside).catch(() => {});
}

async function releaseLock(lockPath: string, token: string): Promise<void> {
  const holder = await readLock(lockPath);
  // Only our own lock: after a takeover by someone else, theirs stays.
  if (holder === 'absent' || holder === 'unreadable' || holder.token !== token) return;
  await unlink(lockPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw journalError(`cannot release the journal lock ${lockPath}: ${describe(error)}`, error);
  });
}

/**
 * Temp files a crash left behind: state writes (`.state.json.<pid>.<uuid>.tmp`)
 * and lock attempts (`journal.lock.<pid>.<uuid>.tmp|.stale`) of processes that
 * are gone. Called with the lock held, so no other orchestrator is writing.
 */
async function removeStaleTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  const prefixes = [`.${JOURNAL_FILES.state}.`, `${JOURNAL_FILES.lock}.`];
  const stale = names.filter((name) => {
    const prefix = prefixes.find((p) => name.startsWith(p));
    if (prefix === undefined || !(name.endsWith('.tmp') || name.endsWith('.stale'))) return false;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    return pid !== process.pid && !isProcessAlive(pid);
  });
  await Promise.all(stale.map((name) => unlink(join(dir, name)).catch(() => {})));
}

function journalError(message: string, cause?: unknown): BatonError {
  return new BatonError('BATON_ERR_JOURNAL', `journal: ${message}`, cause === undefined ? undefined : { cause });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

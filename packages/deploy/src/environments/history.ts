import { open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BatonError } from '@baton/lifecycle';
import type { GateResult } from '../gates/gate.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../internal/private-dir.js';
import type { Artifact } from '../model.js';
import { isStateDirEntry } from '../service-router.js';
import type { DeployRecord, JournaledRelease } from '../service-state.js';

/** How a release came into an environment. */
export type HistoryVia = 'deploy' | 'promote' | 'rollback';

/**
 * One line of an environment's history (`<stateDir>/history.jsonl`): a
 * deploy that ended (succeeded, rolled back, failed) or a release its gates
 * refused before anything moved. Nothing in it is secret: the release's
 * secret variables are sealed fingerprints, as in the journal.
 */
export interface HistoryEntry {
  /** The deploy's id; a refusal's own id (`<service>-<time>-refused-<n>`). */
  id: string;
  environment?: string;
  /** The release deployed (or refused). */
  release: string;
  /** The release that served when it began; absent for a first deploy. */
  from?: string;
  artifact?: Pick<Artifact, 'kind' | 'digest' | 'source'>;
  via: HistoryVia;
  /** For a promotion: the environment it came from. */
  promotedFrom?: string;
  outcome: 'succeeded' | 'rolled-back' | 'failed' | 'refused';
  /** Why it rolled back, failed or was refused. */
  reason?: string;
  startedAtMs: number;
  endedAtMs: number;
  /** Who ran it: the OS user and the machine. */
  by: { user: string; host: string };
  /** The gates it was checked by, with their evidence (none for a rollback, which runs a release that served here before). */
  gates?: GateResult[];
  /** The analysis windows of the deploy, by verdict. */
  analyses?: { pass: number; fail: number; inconclusive: number };
  /** The release as it ran (secrets sealed): what `baton rollback --to` runs again, and what a promotion runs in the next environment. */
  spec?: JournaledRelease;
}

/** An environment's history: every deploy that ended there, and every refusal, oldest first. */
export interface History {
  readonly file: string;
  /** Every entry, oldest first; a line that cannot be read is reported in `unreadable` and hides nothing else. */
  read(): Promise<{ entries: HistoryEntry[]; unreadable: string[] }>;
  /** Appends `entry` (fsynced before it resolves) unless an entry with its id is there already: recording the end of a deploy twice is harmless. */
  append(entry: HistoryEntry): Promise<boolean>;
}

/** The history kept in `stateDir` (an environment's, or a service's without environments). */
export function createHistory(stateDir: string): History {
  const file = join(stateDir, 'history.jsonl');
  const read = async (): Promise<{ entries: HistoryEntry[]; unreadable: string[] }> => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], unreadable: [] };
      throw new BatonError('BATON_ERR_JOURNAL', `The history ${file} cannot be read: ${(error as Error).message}`, { cause: error });
    }
    const entries: HistoryEntry[] = [];
    const unreadable: string[] = [];
    text.split('\n').forEach((line, index) => {
      if (line.trim() === '') return;
      try {
        const entry = JSON.parse(line) as unknown;
        if (isEntry(entry)) entries.push(entry);
        else unreadable.push(`${file}:${index + 1}: not a history entry`);
      } catch {
        // A line cut short by a crash mid-append: the entries around it stand.
        unreadable.push(`${file}:${index + 1}: not valid JSON (cut short?)`);
      }
    });
    return { entries, unreadable };
  };
  return {
    file,
    read,
    async append(entry) {
      const { entries } = await read();
      if (entries.some((known) => known.id === entry.id)) return false;
      // A line cut short by a crash mid-append must not swallow this one: it starts on a line of its own.
      const cutShort = await readFile(file).then((bytes) => bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a, () => false);
      // The state directory may be a project's own (stateDir: '.'): its mode is left to ensurePrivateDir's judgement.
      await ensurePrivateDir(dirname(file), isStateDirEntry);
      const handle = await open(file, 'a', PRIVATE_FILE_MODE);
      try {
        await handle.appendFile(`${cutShort ? '\n' : ''}${JSON.stringify(entry)}\n`, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      return true;
    },
  };
}

/** The history entry of a deploy that ended, from its journaled record (its release sealed as the journal keeps it). */
export function historyEntryOf(record: DeployRecord, environment: string | undefined): HistoryEntry | undefined {
  if (record.phase !== 'succeeded' && record.phase !== 'rolled-back' && record.phase !== 'failed') return undefined;
  const artifact = record.candidate.artifact;
  const entry: HistoryEntry = {
    id: record.id,
    release: record.to,
    via: record.via ?? 'deploy',
    outcome: record.phase,
    startedAtMs: record.startedAtMs,
    endedAtMs: record.endedAtMs ?? record.startedAtMs,
    by: record.by ?? { user: 'unknown', host: 'unknown' },
    spec: record.candidate,
  };
  if (environment !== undefined) entry.environment = environment;
  if (record.from !== undefined) entry.from = record.from;
  if (artifact !== undefined) entry.artifact = { kind: artifact.kind, digest: artifact.digest, source: artifact.source };
  if (record.promotedFrom !== undefined) entry.promotedFrom = record.promotedFrom;
  if (record.reason !== undefined && record.phase !== 'succeeded') entry.reason = record.reason;
  if (record.gates !== undefined) entry.gates = record.gates;
  if (record.analyses !== undefined) entry.analyses = record.analyses;
  return entry;
}

/**
 * When `entries` says `version` served, from its last successful deploy
 * until the next release took over (undefined: it still serves) — the time a
 * soak is counted over. Undefined when it never succeeded there.
 */
export function servedSpan(entries: readonly HistoryEntry[], version: string): { entry: HistoryEntry; sinceMs: number; untilMs?: number; endedBy?: HistoryEntry } | undefined {
  const index = entries.findLastIndex((entry) => entry.release === version && entry.outcome === 'succeeded');
  if (index === -1) return undefined;
  const entry = entries[index] as HistoryEntry;
  const next = entries.slice(index + 1).find((later) => later.outcome === 'succeeded');
  return next === undefined ? { entry, sinceMs: entry.endedAtMs } : { entry, sinceMs: entry.endedAtMs, untilMs: next.endedAtMs, endedBy: next };
}

function isEntry(value: unknown): value is HistoryEntry {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  return typeof entry['id'] === 'string' && typeof entry['release'] === 'string' && typeof entry['outcome'] === 'string' && typeof entry['startedAtMs'] === 'number' && typeof entry['endedAtMs'] === 'number';
}

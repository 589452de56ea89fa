import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendState } from '@baton/deploy';
import { isProcessAlive, readJsonFile, writeFileAtomic } from '@baton/deploy/kit';

// The routers' modules import it from here, with the rest of their state helpers.
export { writeFileAtomic };

/** The files a built-in router keeps in its state directory. */
export interface BuiltinRouterPaths {
  stateDir: string;
  /** The running router's pid, traffic port and admin socket ({@link RouterProcessRecord}). */
  stateFile: string;
  /** The backends and their state and weight, and the keep-alive setting, rewritten on every change ({@link PersistedBackends}). */
  backendsFile: string;
  /** The admin API: HTTP over this unix socket, mode 600. */
  adminSocket: string;
  /** The router process's stdout and stderr (JSON lines). */
  logFile: string;
}

export function builtinRouterPaths(stateDir: string): BuiltinRouterPaths {
  return {
    stateDir,
    stateFile: join(stateDir, 'router.json'),
    backendsFile: join(stateDir, 'backends.json'),
    adminSocket: join(stateDir, 'admin.sock'),
    logFile: join(stateDir, 'router.log'),
  };
}

/** What the router process writes once it listens (and keeps after it exits, so a restart reuses the port). */
export interface RouterProcessRecord {
  format: 'baton-builtin-router/1';
  pid: number;
  host: string;
  port: number;
  /** The traffic URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  adminSocket: string;
  logFile: string;
  startedAtMs: number;
  /** The process's start identity (process-identity.ts), so a reused pid is not taken for the router. */
  identity?: string;
}

/** One backend as persisted: configuration only (counts start again at 0 in a restarted router). */
export interface PersistedBackend {
  id: string;
  release: string;
  host: string;
  port: number;
  state: BackendState;
  weight: number;
}

/** The router's own settings changed at run time, persisted with the backends. */
export interface PersistedSettings {
  /** Keep-alive with clients (`Router.setKeepAlive`); absent in files of older routers: on. */
  keepAlive: boolean;
}

export interface PersistedBackends extends Partial<PersistedSettings> {
  format: 'baton-builtin-router-backends/1';
  backends: PersistedBackend[];
}


/** The router's process record in `stateFile`, or undefined when there is none or it is not one. */
export async function readProcessRecord(stateFile: string): Promise<RouterProcessRecord | undefined> {
  let value: unknown;
  try {
    value = await readJsonFile(stateFile);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Partial<RouterProcessRecord>;
  if (
    record.format !== 'baton-builtin-router/1' ||
    typeof record.pid !== 'number' ||
    typeof record.port !== 'number' ||
    typeof record.url !== 'string' ||
    typeof record.adminSocket !== 'string'
  ) {
    return undefined;
  }
  return record as RouterProcessRecord;
}

/**
 * True when `pid` runs the built-in router's entry: alive (a zombie is not),
 * the same process as recorded (`identity`: its start time, see
 * process-identity.ts) and its command line names builtin-router-main. So a
 * stale record whose pid was reused by another process is never signalled.
 * Where /proc is missing, the pid alone.
 */
export function isRouterProcess(pid: number, identity?: string): boolean {
  if (pid === process.pid || !isProcessAlive(pid, identity)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('builtin-router-main');
  } catch {
    return true;
  }
}

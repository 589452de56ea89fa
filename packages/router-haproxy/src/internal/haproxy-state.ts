import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendState } from '@baton/deploy';
import { isProcessAlive, readJsonFile, writeFileAtomic } from '@baton/deploy/kit';

// The routers' modules import it from here, with the rest of their state helpers.
export { writeFileAtomic };

/** The files a HAProxy router keeps in its state directory. */
export interface HaproxyRouterPaths {
  stateDir: string;
  /** The router's settings (port, slots, checks, timeouts): every config is generated from it ({@link HaproxyRouterRecord}). */
  routerFile: string;
  /** Which slot holds which backend ({@link HaproxyBackendsRecord}), replaced atomically on every change. */
  backendsFile: string;
  /** The generated HAProxy configuration. */
  configFile: string;
  /** The HAProxy master's pid (written by HAProxy, `-p`). */
  pidFile: string;
  /** The Runtime API, `level admin`, mode 600. */
  adminSocket: string;
  /** `show servers state` taken just before a reload; the new worker loads it (`load-server-state-from-file`). */
  serverStateFile: string;
  /** HAProxy's stdout and stderr: its startup notices and the abnormal sessions (`option dontlog-normal`). */
  logFile: string;
  /** The ACL pattern file that switches keep-alive with clients off: `off` in it, every answer says `Connection: close` (see `haproxyRouterConfig`). */
  keepAliveOffFile: string;
}

export function haproxyRouterPaths(stateDir: string): HaproxyRouterPaths {
  return {
    stateDir,
    routerFile: join(stateDir, 'router.json'),
    backendsFile: join(stateDir, 'backends.json'),
    configFile: join(stateDir, 'haproxy.cfg'),
    pidFile: join(stateDir, 'haproxy.pid'),
    adminSocket: join(stateDir, 'admin.sock'),
    serverStateFile: join(stateDir, 'server-state'),
    logFile: join(stateDir, 'haproxy.log'),
    keepAliveOffFile: join(stateDir, 'keepalive-off.acl'),
  };
}

/** Health checks of the backends, on the readiness path. */
export interface HaproxyCheckSettings {
  intervalMs: number;
  /** Failed checks before a backend is DOWN. */
  fall: number;
  /** Passed checks before a DOWN backend is UP again. */
  rise: number;
  timeoutMs: number;
}

/** HAProxy's timeouts, in ms. */
export interface HaproxyTimeoutSettings {
  connectMs: number;
  clientMs: number;
  serverMs: number;
  httpRequestMs: number;
  keepAliveMs: number;
  queueMs: number;
  /** How long a worker replaced by a reload may finish its requests before it is killed. */
  hardStopAfterMs: number;
  /**
   * Longest silence of an upgraded (WebSocket) connection, both ways; absent
   * in records of older routers (then 3600000). Without it HAProxy applies
   * `timeout client` (30 s) to tunnels: a WebSocket quiet for 30 s is cut.
   */
  tunnelMs?: number;
}

/** What router.json holds: everything the configuration is generated from, so a reload or a reconnect needs nothing else. */
export interface HaproxyRouterRecord {
  format: 'baton-haproxy-router/1';
  binary: string;
  host: string;
  port: number;
  /** `http://host:port`. */
  url: string;
  slots: number;
  readinessPath: string;
  check: HaproxyCheckSettings;
  timeouts: HaproxyTimeoutSettings;
  retries: number;
  startedAtMs: number;
  /** Absent in records of older routers: the defaults apply (2048, false, nothing exposed). */
  maxConnections?: number;
  trustForwarded?: boolean;
  expose?: HaproxyExposeSettings;
}

/** What public clients may reach besides the service (see the HAProxy router's `expose` option). */
export interface HaproxyExposeSettings {
  metrics: boolean;
  probeDetails: boolean;
  metricsPaths: string[];
  probePaths: string[];
}

/** One backend in a slot, as persisted. */
export interface HaproxySlotRecord {
  /** The server name in HAProxy, `s1`..`sN`. */
  slot: string;
  id: string;
  release: string;
  /** As the caller gave it (a name or an IP). */
  host: string;
  port: number;
  /** The IP HAProxy was given (`host` resolved). */
  address: string;
  /** The state and weight last set through Baton; HAProxy's own view wins in `backends()`, this is what a fresh start restores. */
  state: BackendState;
  weight: number;
  /**
   * Request counting across slot reuse and reloads: requests = `counted` +
   * the slot's counter in the current worker, minus `base` when that worker
   * is `worker` (the one the counter was read from when the backend was added
   * or a reload began).
   */
  counted: number;
  base: number;
  worker: number;
  addedAtMs: number;
}

export interface HaproxyBackendsRecord {
  format: 'baton-haproxy-backends/1';
  backends: HaproxySlotRecord[];
  /** Keep-alive with clients (`Router.setKeepAlive`), put into effect at every start and reload; absent (tables of older routers): on. */
  keepAlive?: boolean;
}


function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** router.json of `file`: undefined when there is none; throws (with the reason) when it is not a HAProxy router's. */
export async function readRouterRecord(file: string): Promise<HaproxyRouterRecord | undefined> {
  const value = await readJsonFile(file);
  if (value === undefined) return undefined;
  if (!isObject(value) || value.format !== 'baton-haproxy-router/1') {
    throw new Error(`${file} is not a HAProxy router's record (format ${isObject(value) ? JSON.stringify(value.format) : 'missing'})`);
  }
  const record = value as Partial<HaproxyRouterRecord>;
  if (
    typeof record.binary !== 'string' ||
    typeof record.host !== 'string' ||
    typeof record.port !== 'number' ||
    typeof record.url !== 'string' ||
    typeof record.slots !== 'number' ||
    typeof record.readinessPath !== 'string' ||
    !isObject(record.check) ||
    !isObject(record.timeouts) ||
    typeof record.retries !== 'number'
  ) {
    throw new Error(`${file} misses fields of a HAProxy router's record`);
  }
  return record as HaproxyRouterRecord;
}

/** backends.json of `file`; an empty table when there is none. Throws when it cannot be read or is not one. */
export async function readBackendsRecord(file: string): Promise<HaproxyBackendsRecord> {
  const value = await readJsonFile(file);
  if (value === undefined) return { format: 'baton-haproxy-backends/1', backends: [] };
  if (!isObject(value) || value.format !== 'baton-haproxy-backends/1' || !Array.isArray(value.backends)) {
    throw new Error(`${file} is not a HAProxy router's backend table`);
  }
  for (const entry of value.backends as unknown[]) {
    if (
      !isObject(entry) ||
      typeof entry.slot !== 'string' ||
      typeof entry.id !== 'string' ||
      typeof entry.host !== 'string' ||
      typeof entry.port !== 'number' ||
      typeof entry.address !== 'string' ||
      typeof entry.counted !== 'number' ||
      typeof entry.base !== 'number' ||
      typeof entry.worker !== 'number'
    ) {
      throw new Error(`${file} holds an entry that is not a backend: ${JSON.stringify(entry)}`);
    }
  }
  if (value.keepAlive !== undefined && typeof value.keepAlive !== 'boolean') throw new Error(`${file} holds a keepAlive that is not true or false: ${JSON.stringify(value.keepAlive)}`);
  return value as unknown as HaproxyBackendsRecord;
}

export function writeBackendsRecord(file: string, record: HaproxyBackendsRecord): Promise<void> {
  return writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`);
}

/**
 * True when `pid` is a HAProxy running `configFile` — checked before any
 * signal, so a stale pid file whose pid was reused never gets a process
 * killed. Where /proc is missing the check cannot be made and the pid is trusted.
 */
export function isHaproxyOf(pid: number, configFile: string): boolean {
  if (!isProcessAlive(pid)) return false;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return true;
  }
  const args = cmdline.split('\0');
  return args.some((arg) => /haproxy/.test(arg)) && args.includes(configFile);
}

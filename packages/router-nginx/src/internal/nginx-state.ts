/**
 * What an nginx router keeps in its directory. Everything a connection knows
 * is read from here on every call, so a second connection (a restarted
 * orchestrator, `baton status`) sees exactly what the first one does.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackendState } from '@baton/deploy';
import { isProcessAlive, processStartIdentity, readJsonFile, writeFileAtomic } from '@baton/deploy/kit';

export { writeFileAtomic };

/** The files of one router directory. */
export interface NginxRouterPaths {
  dir: string;
  /** The router's settings ({@link NginxRouterRecord}); both configurations are generated from it. */
  routerFile: string;
  /** The backends with their states and weights ({@link NginxBackendsRecord}). */
  backendsFile: string;
  /** Requests per backend counted so far, and how far the access log was read. */
  countsFile: string;
  /** Held while a call changes the backends (two orchestrators must not interleave). */
  lockFile: string;
  /** The client-facing nginx: written once at start, never reloaded. */
  edgeConfig: string;
  edgePid: string;
  /** The nginx holding the backends: rewritten and reloaded on every change of traffic. */
  balancerConfig: string;
  balancerPid: string;
  /** Where the edge sends every request to the balancer. */
  balancerSocket: string;
  /** One line per request the balancer sent: the backend addresses it tried (`$upstream_addr`). */
  accessLog: string;
  /** The access log's previous file, after a rotation. */
  accessLogRotated: string;
  /** Both nginx's error log. */
  errorLog: string;
  /** Temp files of request bodies and responses. */
  tempDir: string;
}

export function nginxRouterPaths(dir: string): NginxRouterPaths {
  return {
    dir,
    routerFile: join(dir, 'router.json'),
    backendsFile: join(dir, 'backends.json'),
    countsFile: join(dir, 'counts.json'),
    lockFile: join(dir, 'change.lock'),
    edgeConfig: join(dir, 'edge.conf'),
    edgePid: join(dir, 'edge.pid'),
    balancerConfig: join(dir, 'balancer.conf'),
    balancerPid: join(dir, 'balancer.pid'),
    balancerSocket: join(dir, 'balancer.sock'),
    accessLog: join(dir, 'access.log'),
    accessLogRotated: join(dir, 'access.log.1'),
    errorLog: join(dir, 'error.log'),
    tempDir: join(dir, 'tmp'),
  };
}

/** What public clients may reach besides the service (see RouterStartSettings.expose). */
export interface NginxExposeSettings {
  metrics: boolean;
  probeDetails: boolean;
  metricsPaths: string[];
  probePaths: string[];
}

/** The client-facing limits, in ms and connections. */
export interface NginxLimits {
  maxConnections: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

/** router.json: the router's settings, written at start. */
export interface NginxRouterRecord {
  format: 'baton-nginx-router/1';
  binary: string;
  host: string;
  port: number;
  url: string;
  /** Where instances answer their metrics: in-flight and health per backend are read there. */
  metricsPath: string;
  readinessPath: string;
  limits: NginxLimits;
  trustForwarded: boolean;
  expose: NginxExposeSettings;
  /** How long old workers may take to finish their requests after a reload (`worker_shutdown_timeout`). */
  shutdownTimeoutMs: number;
  startedAtMs: number;
}

/** One backend as backends.json holds it. */
export interface NginxBackendEntry {
  id: string;
  release: string;
  host: string;
  port: number;
  /** `host` resolved to an IP address: what the configuration and the access log use. */
  address: string;
  state: BackendState;
  weight: number;
  addedAtMs: number;
}

/** backends.json. */
export interface NginxBackendsRecord {
  format: 'baton-nginx-backends/1';
  /** Bumped on every reload; written into the balancer's configuration. */
  generation: number;
  backends: NginxBackendEntry[];
}

/** The kit's readJsonFile, saying which file is not JSON (the nginx router's errors quote it as the reason). */
async function readJson(file: string): Promise<unknown> {
  try {
    return await readJsonFile(file);
  } catch (error) {
    if (error instanceof SyntaxError) throw new Error(`${file} is not valid JSON (${error.message})`);
    throw error;
  }
}

/** router.json, or undefined when no nginx router ever started here; throws when it is another router's. */
export async function readRouterRecord(file: string): Promise<NginxRouterRecord | undefined> {
  const value = (await readJson(file)) as Partial<NginxRouterRecord> | undefined;
  if (value === undefined) return undefined;
  if (value.format !== 'baton-nginx-router/1') throw new Error(`${file} is not an nginx router's record (format ${JSON.stringify(value.format)})`);
  return value as NginxRouterRecord;
}

export async function readBackendsRecord(file: string): Promise<NginxBackendsRecord> {
  const value = (await readJson(file)) as Partial<NginxBackendsRecord> | undefined;
  if (value === undefined) return { format: 'baton-nginx-backends/1', generation: 0, backends: [] };
  if (value.format !== 'baton-nginx-backends/1' || !Array.isArray(value.backends)) throw new Error(`${file} is not an nginx router's backend table`);
  return { format: 'baton-nginx-backends/1', generation: Number(value.generation) || 0, backends: value.backends };
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Runs `work` holding the directory's change lock: a file naming its holder
 * (pid and start identity), created exclusively. A holder that died is
 * recognised and its lock taken over; a live one is waited for.
 */
export async function withChangeLock<T>(lockFile: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const me = JSON.stringify({ pid: process.pid, identity: processStartIdentity(process.pid) ?? null });
  for (;;) {
    try {
      const handle = await open(lockFile, 'wx', 0o600);
      await handle.writeFile(me);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readFile(lockFile, 'utf8').then(
      (text) => {
        try {
          return JSON.parse(text) as { pid?: number; identity?: string | null };
        } catch {
          return undefined;
        }
      },
      () => undefined,
    );
    // Half-written (the holder is between open and write) counts as held.
    if (holder !== undefined && typeof holder.pid === 'number' && !isProcessAlive(holder.pid, holder.identity ?? undefined)) {
      await unlink(lockFile).catch(() => {});
      continue;
    }
    if (Date.now() > deadline) throw new Error(`${lockFile} is held by pid ${holder?.pid ?? '?'} for more than ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
  try {
    return await work();
  } finally {
    await unlink(lockFile).catch(() => {});
  }
}

/**
 * The nginx router: nginx open source (1.22+) started by Baton, steered by
 * rewriting its configuration and reloading it gracefully — it has no
 * runtime API. Two nginx masters share the router directory: the edge
 * (clients, never reloaded) and the balancer (backends, reloaded on every
 * change of traffic); see nginx-config.ts for why.
 *
 *   const router = await startNginxRouter({ dir });   // both running, detached
 *   const again = await connectNginxRouter({ dir });  // what a restarted orchestrator uses
 *   await stopNginxRouter({ dir });
 */
import { readFileSync } from 'node:fs';
import { chmod, mkdir, open, readFile, rename, rm, unlink } from 'node:fs/promises';
import { isIP } from 'node:net';
import { BatonError } from '@baton/lifecycle';
import type { BackendState, BackendStatus, Router } from '@baton/deploy';
import { checkBackendChanges, checkBackendInput, ensurePrivateDir, fileSize, findFreePort, resolveBackendAddress } from '@baton/deploy/kit';
import { findNginx, nginxProblem, testNginxConfig } from './nginx-binary.js';
import { balancerConfig, edgeConfig, workerConnectionsFor } from './nginx-config.js';
import { launchNginx, quittingWorkers, reloadNginx, runningMaster, stopNginxMaster } from './nginx-process.js';
import { readBackend } from './internal/backend-probe.js';
import { integer, invalid, resolveDir, resolveStartOptions, type NginxRouterOptions, type StartNginxRouterOptions, type StopNginxRouterOptions } from './internal/nginx-options.js';
import {
  nginxRouterPaths,
  readBackendsRecord,
  readRouterRecord,
  withChangeLock,
  writeFileAtomic,
  writeJson,
  type NginxBackendEntry,
  type NginxBackendsRecord,
  type NginxRouterPaths,
  type NginxRouterRecord,
} from './internal/nginx-state.js';
import { foldRequestCounts, resetRequestCount } from './internal/request-counts.js';
import { canonicalHost, connectionsOf } from './internal/worker-connections.js';

export type { NginxRouterOptions, StartNginxRouterOptions, StopNginxRouterOptions } from './internal/nginx-options.js';

/** A connection to a running nginx router: the orchestrator's `Router`, plus a reload. */
export interface NginxRouter extends Router {
  readonly kind: 'nginx';
  readonly dir: string;
  /** Regenerates the balancer's configuration from the backend table and reloads it (after an nginx upgrade, a hand edit). */
  reload(): Promise<void>;
}

const DEFAULT_WEIGHT = 1;
const PORT_ATTEMPTS = 5;

function routerError(message: string, cause?: unknown): BatonError {
  return new BatonError('BATON_ERR_ROUTER', `nginx router: ${message}`, cause === undefined ? undefined : { cause });
}

function causeText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function urlOf(host: string, port: number): string {
  const reach = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${isIP(reach) === 6 ? `[${reach}]` : reach}:${port}`;
}

/** Files a router directory holds: everything else means it is not Baton's own (it then keeps its mode). */
const OWN_NAME = /^(router\.json|backends\.json|counts\.json|change\.lock|(edge|balancer)\.(conf|pid)(\.new)?|balancer\.sock|access\.log(\.1)?|error\.log|tmp|.*\.tmp)$/;

/** The open-files limit workers may raise themselves to: what `maxConnections` needs, within the hard limit. */
function maxOpenFilesFor(maxConnections: number): number | undefined {
  const wanted = workerConnectionsFor(maxConnections) + 64;
  if (process.getuid?.() === 0) return wanted;
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((row) => row.startsWith('Max open files'));
    const hard = line?.trim().split(/\s+/)[4];
    if (hard === undefined) return undefined;
    return hard === 'unlimited' ? wanted : Math.min(wanted, Number(hard));
  } catch {
    return undefined;
  }
}

/** Creates `file` 0600 when missing (nginx would create its logs 0644) and tightens it when wider. */
async function privateFile(file: string): Promise<void> {
  const handle = await open(file, 'a', 0o600);
  try {
    await handle.chmod(0o600);
  } finally {
    await handle.close();
  }
}

/** Whether the workers run as root: only when Baton does (see the README: they must reach the private router directory). */
function runAsRoot(): boolean {
  return process.getuid?.() === 0;
}

async function readTable(paths: NginxRouterPaths): Promise<NginxBackendsRecord> {
  try {
    return await readBackendsRecord(paths.backendsFile);
  } catch (error) {
    throw routerError(`the backend table ${paths.backendsFile} cannot be read: ${causeText(error)}`, error);
  }
}

async function loadRecord(paths: NginxRouterPaths): Promise<NginxRouterRecord> {
  let record: NginxRouterRecord | undefined;
  try {
    record = await readRouterRecord(paths.routerFile);
  } catch (error) {
    throw routerError(`${paths.dir} is not an nginx router's directory: ${causeText(error)}.`, error);
  }
  if (!record) throw routerError(`no nginx router has run on ${paths.dir} (no ${paths.routerFile}); start one with startNginxRouter().`);
  return record;
}

/** Writes a configuration beside `target`, has `nginx -t` check it, then renames it over `target`: a bad one never replaces a good one. */
async function writeCheckedConfig(binary: string, paths: NginxRouterPaths, target: string, text: string): Promise<void> {
  const candidate = `${target}.new`;
  await writeFileAtomic(candidate, text);
  try {
    await testNginxConfig(binary, paths.dir, candidate);
  } catch (error) {
    await unlink(candidate).catch(() => {});
    throw error;
  }
  await rename(candidate, target);
}

function balancerText(paths: NginxRouterPaths, record: NginxRouterRecord, table: NginxBackendsRecord): string {
  return balancerConfig({
    paths,
    generation: table.generation,
    backends: table.backends,
    limits: record.limits,
    shutdownTimeoutMs: record.shutdownTimeoutMs,
    runAsRoot: runAsRoot(),
    maxOpenFiles: maxOpenFilesFor(record.limits.maxConnections),
  });
}

/** What decides where traffic goes: the ready backends with a weight, in order. */
function trafficOf(table: NginxBackendsRecord): string {
  return JSON.stringify(table.backends.filter((entry) => entry.state === 'ready' && entry.weight > 0).map((entry) => [entry.address, entry.port, entry.weight]));
}

/**
 * Puts `table` into effect: the balancer's configuration regenerated (next
 * generation), checked, swapped in and reloaded; resolves once the old
 * workers have stopped taking requests. On a failed reload the previous
 * configuration file is put back (nginx keeps running it).
 */
async function applyTable(paths: NginxRouterPaths, record: NginxRouterRecord, table: NginxBackendsRecord, reloadTimeoutMs: number): Promise<void> {
  const master = await runningMaster(paths.balancerPid, paths.balancerConfig);
  if (master === undefined) throw routerError(`nginx's balancer is not running on ${paths.dir} (no live master in ${paths.balancerPid}); stop the router and start it again.`);
  const previous = await readFile(paths.balancerConfig, 'utf8').catch(() => undefined);
  table.generation += 1;
  await writeCheckedConfig(record.binary, paths, paths.balancerConfig, balancerText(paths, record, table));
  const logOffset = await fileSize(paths.errorLog);
  try {
    await reloadNginx(master, paths.balancerConfig, paths.errorLog, logOffset, reloadTimeoutMs);
  } catch (error) {
    if (previous !== undefined) await writeFileAtomic(paths.balancerConfig, previous).catch(() => {});
    throw error;
  }
}

/**
 * What a backend has in flight: the larger of what the instance counts
 * (its metrics) and the connections old balancer workers still hold to it
 * (requests they took before a reload and may still be sending).
 */
function inFlightOf(entry: NginxBackendEntry, metrics: number, oldWorkers: Map<string, number>): number {
  return Math.max(metrics, oldWorkers.get(`${canonicalHost(entry.address)}:${entry.port}`) ?? 0);
}

// ------------------------------------------------------------------ the Router

class NginxRouterConnection implements NginxRouter {
  readonly kind = 'nginx' as const;
  readonly url: string;
  readonly dir: string;
  readonly #paths: NginxRouterPaths;
  readonly #record: NginxRouterRecord;
  readonly #lockTimeoutMs: number;
  readonly #reloadTimeoutMs: number;
  #closed = false;
  /** This connection's calls in call order; the change lock orders them with other connections'. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(paths: NginxRouterPaths, record: NginxRouterRecord, options: NginxRouterOptions) {
    this.url = record.url;
    this.dir = paths.dir;
    this.#paths = paths;
    this.#record = record;
    this.#lockTimeoutMs = integer('lockTimeoutMs', options.lockTimeoutMs, 30_000);
    this.#reloadTimeoutMs = integer('reloadTimeoutMs', options.reloadTimeoutMs, 15_000);
  }

  #open(what: string): void {
    if (this.#closed) throw routerError(`this connection to nginx is closed (${what} not sent).`);
  }

  /** Runs a change in turn here and under the directory's lock, with the table as it is now. */
  #change<T>(work: (table: NginxBackendsRecord) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      try {
        return await withChangeLock(this.#paths.lockFile, this.#lockTimeoutMs, async () => work(await readTable(this.#paths)));
      } catch (error) {
        if (error instanceof BatonError) throw error;
        throw routerError(causeText(error), error);
      }
    };
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => {});
    return next;
  }

  async #writeTable(table: NginxBackendsRecord): Promise<void> {
    try {
      await writeJson(this.#paths.backendsFile, table);
    } catch (error) {
      throw routerError(`the backend table ${this.#paths.backendsFile} cannot be written: ${causeText(error)}`, error);
    }
  }

  async #balancer(): Promise<number> {
    const master = await runningMaster(this.#paths.balancerPid, this.#paths.balancerConfig);
    if (master === undefined) throw routerError(`nginx is not running on ${this.dir} (no live balancer master in ${this.#paths.balancerPid}).`);
    return master;
  }

  async add(backend: { id: string; release: string; host: string; port: number }): Promise<void> {
    this.#open('add');
    const { id, release, host, port } = checkBackendInput(backend, routerError);
    await this.#change(async (table) => {
      const existing = table.backends.find((entry) => entry.id === id);
      if (existing) {
        if (existing.host === host && existing.port === port) return;
        throw routerError(`add: backend ${id} is already in the router at ${existing.host}:${existing.port}; remove it before adding it at ${host}:${port}.`);
      }
      const address = await resolveBackendAddress(host, routerError);
      // The address's past requests go to whoever held it before, not to this backend.
      await foldRequestCounts(this.#paths, table.backends, await this.#balancer());
      await resetRequestCount(this.#paths, id);
      // In maintenance it is not in the balancer's upstream: no reload needed.
      table.backends.push({ id, release, host, port, address, state: 'maint', weight: DEFAULT_WEIGHT, addedAtMs: Date.now() });
      await this.#writeTable(table);
    });
  }

  async set(changes: readonly { id: string; state?: BackendState; weight?: number }[]): Promise<void> {
    this.#open('set');
    checkBackendChanges(changes, routerError);
    if (changes.length === 0) return;
    await this.#change(async (table) => {
      const byId = new Map(table.backends.map((entry) => [entry.id, entry]));
      const unknown = [...new Set(changes.map((change) => change.id).filter((id) => !byId.has(id)))];
      if (unknown.length > 0) {
        throw routerError(`set: unknown backend${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (the router has ${table.backends.map((entry) => entry.id).join(', ') || 'none'}); nothing was changed.`);
      }
      const before = trafficOf(table);
      for (const change of changes) {
        const entry = byId.get(change.id) as NginxBackendEntry;
        if (change.state !== undefined) entry.state = change.state;
        if (change.weight !== undefined) entry.weight = change.weight;
      }
      // Only a change of who gets traffic needs a reload; maint <-> drain, or a weight out of traffic, do not.
      if (trafficOf(table) !== before) await applyTable(this.#paths, this.#record, table, this.#reloadTimeoutMs);
      await this.#writeTable(table);
    });
  }

  async remove(id: string): Promise<void> {
    this.#open('remove');
    if (typeof id !== 'string' || id === '') throw routerError(`remove: id must be a non-empty string, got ${JSON.stringify(id)}.`);
    await this.#change(async (table) => {
      const entry = table.backends.find((candidate) => candidate.id === id);
      if (!entry) return;
      if (entry.state === 'ready') {
        throw routerError(`remove: backend ${id} is ready (it gets traffic); set it to drain or maint first, and remove it once nothing is in flight.`);
      }
      const master = await this.#balancer();
      const reading = await readBackend(entry.address, entry.port, this.#record.metricsPath);
      const inFlight = inFlightOf(entry, reading.inFlight, connectionsOf(quittingWorkers(master)));
      if (inFlight > 0) {
        throw routerError(`remove: backend ${id} still has ${inFlight} request${inFlight > 1 ? 's' : ''} in flight (its ${this.#record.metricsPath}, or nginx's old workers); remove it once backends() shows none.`);
      }
      await foldRequestCounts(this.#paths, table.backends, master);
      await this.#writeTable({ ...table, backends: table.backends.filter((candidate) => candidate !== entry) });
    });
  }

  async backends(): Promise<BackendStatus[]> {
    this.#open('backends');
    const table = await readTable(this.#paths);
    // Asked even with no backend: a router that is gone must say so, not answer "none".
    const master = await this.#balancer();
    if ((await runningMaster(this.#paths.edgePid, this.#paths.edgeConfig)) === undefined) throw routerError(`nginx's edge (the client side) is not running on ${this.dir}: stop the router and start it again.`);
    const oldWorkers = connectionsOf(quittingWorkers(master));
    const [counts, readings] = await Promise.all([
      foldRequestCounts(this.#paths, table.backends, master).catch(() => ({}) as Record<string, number>),
      Promise.all(table.backends.map((entry) => readBackend(entry.address, entry.port, this.#record.metricsPath))),
    ]);
    return table.backends.map((entry, index) => ({
      id: entry.id,
      release: entry.release,
      host: entry.host,
      port: entry.port,
      state: entry.state,
      weight: entry.weight,
      inFlight: inFlightOf(entry, readings[index]?.inFlight ?? 0, oldWorkers),
      requestsTotal: counts[entry.id] ?? 0,
      health: readings[index]?.health ?? 'unknown',
    }));
  }

  reload(): Promise<void> {
    this.#open('reload');
    return this.#change(async (table) => {
      await applyTable(this.#paths, this.#record, table, this.#reloadTimeoutMs);
      await this.#writeTable(table);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
  }
}

// ------------------------------------------------------------------ start, connect, stop

/**
 * Starts nginx for `dir` — the balancer, then the edge on the traffic port —
 * as daemons of their own (they keep serving when the orchestrator exits)
 * and resolves with a connection once both run. Backends a previous router
 * of this directory held (backends.json) come back with their states and
 * weights, on the same port when it is free. Rejects with
 * BATON_ERR_NGINX_START when nginx is missing, older than 1.22 or does not
 * start (its error log in the message), BATON_ERR_ROUTER when a router
 * already runs here, BATON_ERR_INVALID_OPTION on a bad option.
 *
 * @example
 *   const router = await startNginxRouter({ dir: '/var/lib/baton/orders/router' });
 *   await router.add({ id: 'v1-1', release: 'v1', host: '127.0.0.1', port: 41234 });
 *   await router.set([{ id: 'v1-1', state: 'ready', weight: 100 }]);
 */
export async function startNginxRouter(options: StartNginxRouterOptions): Promise<NginxRouter> {
  const resolved = resolveStartOptions(options);
  const binary = resolved.binary ?? findNginx();
  const problem = await nginxProblem(binary);
  if (problem !== undefined || binary === undefined) throw new BatonError('BATON_ERR_NGINX_START', `nginx router: ${problem ?? 'nginx is not installed.'}`);
  const paths = nginxRouterPaths(resolved.dir);
  await ensurePrivateDir(paths.dir, (name) => OWN_NAME.test(name));
  const edge = await runningMaster(paths.edgePid, paths.edgeConfig);
  const balancer = await runningMaster(paths.balancerPid, paths.balancerConfig);
  if (edge !== undefined && balancer !== undefined) {
    throw routerError(`nginx already runs on ${paths.dir} (masters ${edge} and ${balancer}); connect to it with connectNginxRouter(), or stop it with stopNginxRouter() first.`);
  }
  // Half a router (one master died): the survivor goes, both start again.
  for (const [pid, config] of [[edge, paths.edgeConfig], [balancer, paths.balancerConfig]] as const) {
    if (pid !== undefined) await stopNginxMaster(pid, config, 2000);
  }
  let previous: NginxRouterRecord | undefined;
  try {
    previous = await readRouterRecord(paths.routerFile);
  } catch (error) {
    throw routerError(`${paths.dir} holds another router's state (${causeText(error)}); use another dir.`, error);
  }
  const table = await readTable(paths);
  await Promise.all([paths.balancerSocket, paths.edgePid, paths.balancerPid].map((file) => rm(file, { force: true })));
  await mkdir(paths.tempDir, { recursive: true, mode: 0o700 });
  await Promise.all([paths.errorLog, paths.accessLog].map(privateFile));

  const record: NginxRouterRecord = {
    format: 'baton-nginx-router/1',
    binary,
    host: resolved.host,
    port: 0,
    url: '',
    metricsPath: resolved.metricsPath,
    readinessPath: resolved.readinessPath,
    limits: resolved.limits,
    trustForwarded: resolved.trustForwarded,
    expose: resolved.expose,
    shutdownTimeoutMs: resolved.shutdownTimeoutMs,
    startedAtMs: Date.now(),
  };
  const launch = async (configFile: string, pidFile: string): Promise<number> => {
    const pid = await launchNginx({ binary, prefix: paths.dir, configFile, pidFile, errorLog: paths.errorLog, timeoutMs: resolved.startTimeoutMs, logOffset: await fileSize(paths.errorLog) });
    // nginx writes its pid file 0644: private like every file of the directory.
    await chmod(pidFile, 0o600).catch(() => {});
    return pid;
  };
  table.generation += 1;
  await writeCheckedConfig(binary, paths, paths.balancerConfig, balancerText(paths, record, table));
  await writeJson(paths.backendsFile, table);
  const balancerPid = await launch(paths.balancerConfig, paths.balancerPid);

  const explicit = resolved.port;
  let lastClash = '';
  try {
    for (let attempt = 0; attempt < (explicit === undefined ? PORT_ATTEMPTS : 1); attempt += 1) {
      const port = explicit ?? (attempt === 0 && previous?.host === resolved.host && previous.port > 0 ? previous.port : await findFreePort(resolved.host));
      const withPort: NginxRouterRecord = { ...record, port, url: urlOf(resolved.host, port) };
      await writeCheckedConfig(
        binary,
        paths,
        paths.edgeConfig,
        edgeConfig({ paths, host: resolved.host, port, limits: record.limits, trustForwarded: record.trustForwarded, expose: record.expose, runAsRoot: runAsRoot(), maxOpenFiles: maxOpenFilesFor(record.limits.maxConnections) }),
      );
      try {
        await launch(paths.edgeConfig, paths.edgePid);
      } catch (error) {
        if (explicit === undefined && (error as { addressInUse?: boolean }).addressInUse === true) {
          lastClash = causeText(error);
          continue;
        }
        throw error;
      }
      await writeJson(paths.routerFile, withPort);
      return new NginxRouterConnection(paths, withPort, options);
    }
  } catch (error) {
    await stopNginxMaster(balancerPid, paths.balancerConfig, 0).catch(() => {});
    throw error;
  }
  await stopNginxMaster(balancerPid, paths.balancerConfig, 0).catch(() => {});
  throw new BatonError('BATON_ERR_NGINX_START', `nginx router: found no free port on ${resolved.host} after ${PORT_ATTEMPTS} attempts (the machine is busy; pass \`port\`). Last attempt: ${lastClash}`);
}

/**
 * A `Router` for the nginx already running on `dir` — what a restarted
 * orchestrator uses. Rejects with BATON_ERR_ROUTER when no router ever ran
 * there or either nginx is not running.
 */
export async function connectNginxRouter(options: NginxRouterOptions): Promise<NginxRouter> {
  const dir = resolveDir(options);
  const paths = nginxRouterPaths(dir);
  const record = await loadRecord(paths);
  const edge = await runningMaster(paths.edgePid, paths.edgeConfig);
  const balancer = await runningMaster(paths.balancerPid, paths.balancerConfig);
  if (edge === undefined || balancer === undefined) {
    const which = edge === undefined && balancer === undefined ? 'nginx is not running' : edge === undefined ? "nginx's edge (the client side) is not running" : "nginx's balancer (the backends' side) is not running";
    throw routerError(`${which} on ${dir}; start it with startNginxRouter() (it restarts on ${record.url} with its backends).`);
  }
  await readTable(paths);
  return new NginxRouterConnection(paths, record, options);
}

/** True while either nginx master of `dir` runs. */
export async function nginxRouterRunning(dir: string): Promise<boolean> {
  const paths = nginxRouterPaths(resolveDir({ dir }));
  return (await runningMaster(paths.edgePid, paths.edgeConfig)) !== undefined || (await runningMaster(paths.balancerPid, paths.balancerConfig)) !== undefined;
}

/**
 * Stops the nginx of `dir`: the edge first (it stops accepting, finishes
 * what it holds), then the balancer; each gets `graceMs` before SIGTERM and
 * SIGKILL. Resolves at once when none runs. The backend table stays, for the
 * next start.
 */
export async function stopNginxRouter(options: StopNginxRouterOptions): Promise<void> {
  const dir = resolveDir(options);
  const graceMs = options.graceMs ?? 10_000;
  if (typeof graceMs !== 'number' || !Number.isFinite(graceMs) || graceMs < 0) throw invalid(`\`graceMs\` must be zero or a positive number of milliseconds; got ${JSON.stringify(graceMs)}.`);
  const paths = nginxRouterPaths(dir);
  const edge = await runningMaster(paths.edgePid, paths.edgeConfig);
  if (edge !== undefined) await stopNginxMaster(edge, paths.edgeConfig, graceMs);
  const balancer = await runningMaster(paths.balancerPid, paths.balancerConfig);
  if (balancer !== undefined) await stopNginxMaster(balancer, paths.balancerConfig, graceMs);
  await Promise.all([paths.balancerSocket, paths.edgePid, paths.balancerPid].map((file) => rm(file, { force: true })));
}

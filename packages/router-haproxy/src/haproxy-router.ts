/**
 * The HAProxy router: a real HAProxy (2.6+) of its own, driven through its
 * Runtime API. It runs detached, so an orchestrator that dies mid-deploy
 * leaves traffic flowing; a restarted orchestrator connects to it again.
 *
 *   const router = await startHaproxyRouter({ stateDir });   // spawns HAProxy, resolves once it listens
 *   const again = await connectHaproxyRouter({ stateDir });  // a Router for the running HAProxy
 *   await reloadHaproxyRouter({ stateDir });                  // new worker, same backends, no request lost
 *   await stopHaproxyRouter({ stateDir });
 *
 * Backends live in a fixed set of server slots (`server-template`, s1..sN),
 * pointed at instances with `set server be/sN addr A port P` and never
 * deleted (`del server` under load crashes 2.6). Which backend holds which
 * slot is kept in `backends.json` in the state directory, replaced atomically
 * on every change: HAProxy 2.6 has no per-server label to hold an id, and a
 * server's name cannot change at run time.
 */
import { lookup } from 'node:dns/promises';
import { existsSync } from 'node:fs';
import { chmod, mkdir, rename, rm, unlink } from 'node:fs/promises';
import { isIP } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { BatonError } from '@baton/lifecycle';
import { findFreePort } from '@baton/deploy/kit';
import type { BackendHealth, BackendState, BackendStatus, Router } from '@baton/deploy';
import { HAPROXY_BACKEND, HAPROXY_FRONTEND, haproxyRouterConfig, slotName, slotNumber, type HaproxyConfigSlot } from './haproxy-config.js';
import { checkHaproxyConfig, fileSize, findHaproxy, haproxyVersion, launchHaproxy, logSince, runningMaster, signalReload, stopHaproxyProcess } from './haproxy-process.js';
import { HaproxyRuntimeApi, parseInfo, parseServersState, parseStat, serverStateOf, setAddressCommand, setStateCommand, setWeightCommand, type ServerStateRow, type StatRow } from './haproxy-runtime-api.js';
import {
  MAX_SOCKET_PATH_BYTES,
  haproxyRouterPaths,
  processExists,
  readBackendsRecord,
  readRouterRecord,
  writeBackendsRecord,
  writeFileAtomic,
  type HaproxyBackendsRecord,
  type HaproxyCheckSettings,
  type HaproxyRouterPaths,
  type HaproxyRouterRecord,
  type HaproxySlotRecord,
  type HaproxyTimeoutSettings,
  type HaproxyExposeSettings,
} from './internal/haproxy-state.js';

export type { HaproxyCheckSettings, HaproxyTimeoutSettings } from './internal/haproxy-state.js';

/** Options every HAProxy router function takes. */
export interface HaproxyRouterOptions {
  /**
   * The router's directory: generated config, pid file, admin socket, backend
   * table, log. Created (mode 700) when missing. Keep it short: the socket path
   * must fit in 107 bytes.
   */
  stateDir: string;
  /** How long one Runtime API call may take; default 5000 ms. */
  commandTimeoutMs?: number;
}

/** Options of {@link startHaproxyRouter}. */
export interface StartHaproxyRouterOptions extends HaproxyRouterOptions {
  /**
   * The frontend port. Absent or 0: the port this state directory's router
   * had before (so a restarted router keeps its URL) when it is still free,
   * else a free port — probed, then bound by HAProxy with `noreuseport`, so a
   * port taken in between fails that start loudly and another is tried
   * (HAProxy 2.6 cannot bind port 0 and report it). An explicit port is used
   * as is: taken means BATON_ERR_ROUTER.
   */
  port?: number;
  /** The frontend's IP address; default `127.0.0.1`. */
  host?: string;
  /** Path of the instances' readiness probe, checked by HAProxy; default `/readyz`. */
  readinessPath?: string;
  /** Server slots, the most backends the router holds at once (old and new releases together); default 16. */
  slots?: number;
  /** The haproxy executable; default `haproxy` on PATH (or in /usr/sbin, /usr/local/sbin). */
  binary?: string;
  /** Health checks on the readiness path; default every 1000 ms, DOWN after 2 failures, UP after 1 pass, 2000 ms timeout. */
  healthCheck?: Partial<HaproxyCheckSettings>;
  /** HAProxy timeouts, in ms; defaults: connect 5000, client 30000, server 60000, httpRequest 10000, keepAlive 30000, queue 10000, hardStopAfter 120000, tunnel 3600000 (a WebSocket's silence). */
  timeouts?: Partial<HaproxyTimeoutSettings>;
  /** Connection attempts retried (on another server: `option redispatch`); default 3. */
  retries?: number;
  /** How long HAProxy may take to start listening; default 10000 ms. */
  startTimeoutMs?: number;
  /** Client connections accepted at once (`maxconn`); more wait in the kernel's backlog until one closes. Default 2048. */
  maxConnections?: number;
  /** Keep the client's `X-Forwarded-Proto`/`-Host`, `Forwarded`, `X-Real-IP`... (a TLS terminator in front sets them); default false: replaced or dropped. */
  trustForwarded?: boolean;
  /**
   * What public clients may reach besides the service: by default the
   * instances' metrics (`metricsPaths`, default `/metrics`) and probes with a
   * query (`?verbose` details; `probePaths`, default `/livez`, `/readyz`,
   * `/startupz`, `/healthz`) are answered 404 by HAProxy. The orchestrator
   * reads instances directly and needs neither.
   */
  expose?: { metrics?: boolean; probeDetails?: boolean; metricsPaths?: string[]; probePaths?: string[] };
}

/** Options of {@link reloadHaproxyRouter}. */
export interface ReloadHaproxyRouterOptions extends HaproxyRouterOptions {
  /** How long the new worker may take to answer; default 15000 ms. */
  timeoutMs?: number;
}

/** Options of {@link stopHaproxyRouter}. */
export interface StopHaproxyRouterOptions extends HaproxyRouterOptions {
  /** How long requests in flight get to finish (soft stop) before HAProxy is stopped hard; default 10000 ms, 0 stops it hard at once. */
  graceMs?: number;
}

/** A connection to a running HAProxy router: the orchestrator's `Router`, plus a reload. */
export interface HaproxyRouter extends Router {
  readonly kind: 'haproxy';
  readonly stateDir: string;
  /** The Runtime API client this connection uses. */
  readonly api: HaproxyRuntimeApi;
  /** Reloads HAProxy (see {@link reloadHaproxyRouter}), in turn with this connection's other calls. */
  reload(options?: { timeoutMs?: number }): Promise<void>;
}

const WHERE = 'HAProxy router';
const DEFAULT_SLOTS = 16;
const MAX_SLOTS = 1000;
const MAX_WEIGHT = 256;
/** A new backend's weight, as in HAProxy and the built-in router. */
const DEFAULT_WEIGHT = 1;
const PORT_ATTEMPTS = 5;
const DEFAULT_CHECK: HaproxyCheckSettings = { intervalMs: 1000, fall: 2, rise: 1, timeoutMs: 2000 };
const DEFAULT_TIMEOUTS: HaproxyTimeoutSettings = {
  connectMs: 5000,
  clientMs: 30_000,
  serverMs: 60_000,
  httpRequestMs: 10_000,
  keepAliveMs: 30_000,
  queueMs: 10_000,
  hardStopAfterMs: 120_000,
  tunnelMs: 3_600_000,
};

function invalid(message: string): BatonError {
  return new BatonError('BATON_ERR_INVALID_OPTION', `${WHERE}: ${message}`);
}

function routerError(message: string, cause?: unknown): BatonError {
  return new BatonError('BATON_ERR_ROUTER', `${WHERE}: ${message}`, cause === undefined ? undefined : { cause });
}

function causeText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ------------------------------------------------------------------ options

function resolveStateDir(options: HaproxyRouterOptions | undefined): string {
  if (!options || typeof options.stateDir !== 'string' || options.stateDir === '') throw invalid('`stateDir` (a directory path) is required.');
  const stateDir = resolvePath(options.stateDir);
  const socket = haproxyRouterPaths(stateDir).adminSocket;
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH_BYTES) {
    throw invalid(`the admin socket path ${socket} is longer than ${MAX_SOCKET_PATH_BYTES} bytes (a unix socket limit); use a shorter stateDir.`);
  }
  return stateDir;
}

function positiveInteger(key: string, value: unknown, fallback: number, max = Number.MAX_SAFE_INTEGER, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`\`${key}\` must be an integer ${min}-${max === Number.MAX_SAFE_INTEGER ? '...' : max}; got ${JSON.stringify(value)}.`);
  }
  return value;
}

function commandTimeout(options: HaproxyRouterOptions): number {
  return positiveInteger('commandTimeoutMs', options.commandTimeoutMs, 5000);
}

// Characters a path may hold in HAProxy's config without quoting (no spaces, quotes, '#', '$' or '\').
const CONFIG_SAFE_PATH = /^\/[A-Za-z0-9\-._~!&()*+,;=:@%/?]*$/;

interface ResolvedStart {
  stateDir: string;
  host: string;
  port: number | undefined;
  slots: number;
  readinessPath: string;
  binary: string | undefined;
  check: HaproxyCheckSettings;
  timeouts: HaproxyTimeoutSettings;
  retries: number;
  startTimeoutMs: number;
  commandTimeoutMs: number;
  maxConnections: number;
  trustForwarded: boolean;
  expose: HaproxyExposeSettings;
}

function resolveExpose(input: StartHaproxyRouterOptions['expose']): HaproxyExposeSettings {
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input))) {
    throw invalid(`\`expose\` must be an object { metrics?, probeDetails?, metricsPaths?, probePaths? }; got ${JSON.stringify(input)}.`);
  }
  const flag = (key: 'metrics' | 'probeDetails'): boolean => {
    const value = input?.[key];
    if (value !== undefined && typeof value !== 'boolean') throw invalid(`\`expose.${key}\` must be true or false; got ${JSON.stringify(value)}.`);
    return value ?? false;
  };
  const paths = (key: 'metricsPaths' | 'probePaths', fallback: string[]): string[] => {
    const value = input?.[key];
    if (value === undefined) return fallback;
    if (!Array.isArray(value) || value.length === 0 || !value.every((path) => typeof path === 'string' && CONFIG_SAFE_PATH.test(path) && !path.includes('?'))) {
      throw invalid(`\`expose.${key}\` must be a non-empty array of paths starting with "/" without a query, spaces, quotes, "#", "$" or "\\"; got ${JSON.stringify(value)}.`);
    }
    return [...value];
  };
  return { metrics: flag('metrics'), probeDetails: flag('probeDetails'), metricsPaths: paths('metricsPaths', ['/metrics']), probePaths: paths('probePaths', ['/livez', '/readyz', '/startupz', '/healthz']) };
}

/** Every option checked and defaulted in one place; bad ones throw BATON_ERR_INVALID_OPTION before anything starts. */
function resolveStartOptions(options: StartHaproxyRouterOptions): ResolvedStart {
  const stateDir = resolveStateDir(options);
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || isIP(host) === 0) throw invalid(`\`host\` must be an IP address to bind (127.0.0.1, 0.0.0.0, ::1); got ${JSON.stringify(host)}.`);
  const port = options.port === undefined || options.port === 0 ? undefined : positiveInteger('port', options.port, 0, 65535, 0);
  const readinessPath = options.readinessPath ?? '/readyz';
  if (typeof readinessPath !== 'string' || !CONFIG_SAFE_PATH.test(readinessPath)) {
    throw invalid(`\`readinessPath\` must be a path starting with "/" without spaces, quotes, "#", "$" or "\\"; got ${JSON.stringify(readinessPath)}.`);
  }
  if (options.binary !== undefined && (typeof options.binary !== 'string' || options.binary === '')) throw invalid('`binary` must be the path of the haproxy executable.');
  const healthCheck = options.healthCheck ?? {};
  const timeouts = options.timeouts ?? {};
  const ms = (key: keyof HaproxyTimeoutSettings): number => positiveInteger(`timeouts.${key}`, timeouts[key], DEFAULT_TIMEOUTS[key] as number);
  return {
    stateDir,
    host,
    port,
    slots: positiveInteger('slots', options.slots, DEFAULT_SLOTS, MAX_SLOTS),
    readinessPath,
    binary: options.binary,
    check: {
      intervalMs: positiveInteger('healthCheck.intervalMs', healthCheck.intervalMs, DEFAULT_CHECK.intervalMs),
      fall: positiveInteger('healthCheck.fall', healthCheck.fall, DEFAULT_CHECK.fall, 100),
      rise: positiveInteger('healthCheck.rise', healthCheck.rise, DEFAULT_CHECK.rise, 100),
      timeoutMs: positiveInteger('healthCheck.timeoutMs', healthCheck.timeoutMs, DEFAULT_CHECK.timeoutMs),
    },
    timeouts: {
      connectMs: ms('connectMs'),
      clientMs: ms('clientMs'),
      serverMs: ms('serverMs'),
      httpRequestMs: ms('httpRequestMs'),
      keepAliveMs: ms('keepAliveMs'),
      queueMs: ms('queueMs'),
      hardStopAfterMs: ms('hardStopAfterMs'),
      tunnelMs: ms('tunnelMs'),
    },
    retries: positiveInteger('retries', options.retries, 3, 100, 0),
    startTimeoutMs: positiveInteger('startTimeoutMs', options.startTimeoutMs, 10_000),
    commandTimeoutMs: commandTimeout(options),
    maxConnections: positiveInteger('maxConnections', options.maxConnections, 2048, 1_000_000),
    trustForwarded: (() => {
      if (options.trustForwarded !== undefined && typeof options.trustForwarded !== 'boolean') throw invalid(`\`trustForwarded\` must be true or false; got ${JSON.stringify(options.trustForwarded)}.`);
      return options.trustForwarded ?? false;
    })(),
    expose: resolveExpose(options.expose),
  };
}

function urlOf(host: string, port: number): string {
  // A wildcard bind is reached on the loopback.
  const reach = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${isIP(reach) === 6 ? `[${reach}]` : reach}:${port}`;
}

// ------------------------------------------------------------------ shared steps

/** Slots of the backend table, as the configuration writes them. */
function occupiedSlots(table: HaproxyBackendsRecord): HaproxyConfigSlot[] {
  return table.backends.flatMap((entry) => {
    const slot = slotNumber(entry.slot);
    return slot === undefined ? [] : [{ slot, id: entry.id, release: entry.release, address: entry.address, port: entry.port, state: entry.state, weight: entry.weight }];
  });
}

/** Writes haproxy.cfg: generated beside it, checked with `haproxy -c`, then renamed over it, so a bad config never replaces a good one. */
async function writeConfig(paths: HaproxyRouterPaths, record: HaproxyRouterRecord, table: HaproxyBackendsRecord): Promise<void> {
  const config = haproxyRouterConfig({
    host: record.host,
    port: record.port,
    adminSocket: paths.adminSocket,
    serverStateFile: paths.serverStateFile,
    slots: record.slots,
    readinessPath: record.readinessPath,
    check: record.check,
    timeouts: record.timeouts,
    retries: record.retries,
    occupied: occupiedSlots(table),
    ...(record.maxConnections === undefined ? {} : { maxConnections: record.maxConnections }),
    ...(record.trustForwarded === undefined ? {} : { trustForwarded: record.trustForwarded }),
    ...(record.expose === undefined ? {} : { expose: record.expose }),
  });
  const candidate = `${paths.configFile}.new`;
  await writeFileAtomic(candidate, config);
  try {
    await checkHaproxyConfig(record.binary, candidate);
  } catch (error) {
    await unlink(candidate).catch(() => {});
    throw error;
  }
  await rename(candidate, paths.configFile);
}

async function readTable(paths: HaproxyRouterPaths): Promise<HaproxyBackendsRecord> {
  try {
    return await readBackendsRecord(paths.backendsFile);
  } catch (error) {
    throw routerError(`the backend table ${paths.backendsFile} cannot be read: ${causeText(error)}`, error);
  }
}

async function writeTable(paths: HaproxyRouterPaths, table: HaproxyBackendsRecord): Promise<void> {
  try {
    await writeBackendsRecord(paths.backendsFile, table);
  } catch (error) {
    throw routerError(`the backend table ${paths.backendsFile} cannot be written: ${causeText(error)}`, error);
  }
}

/** What the running worker says, read on one connection. */
interface LiveView {
  /** The worker's pid: counters belong to it. */
  worker: number;
  states: Map<string, ServerStateRow>;
  stats: Map<string, StatRow>;
}

async function readLive(api: HaproxyRuntimeApi): Promise<LiveView> {
  const [info, states, stats] = await api.batch(['show info', `show servers state ${HAPROXY_BACKEND}`, `show stat ${HAPROXY_BACKEND} 4 -1`]);
  const worker = Number(parseInfo(info ?? '').Pid);
  if (!Number.isInteger(worker) || worker <= 0) throw routerError(`HAProxy's "show info" has no Pid: ${(info ?? '').slice(0, 200)}`);
  return {
    worker,
    states: new Map(parseServersState(states ?? '').map((row) => [row.srv_name ?? '', row])),
    stats: new Map(parseStat(stats ?? '').filter((row) => row.pxname === HAPROXY_BACKEND).map((row) => [row.svname ?? '', row])),
  };
}

/** Requests HAProxy sent to a server in this worker: HTTP requests (`req_tot`), or sessions (`stot`) where the former is empty. */
function requestCounter(row: StatRow | undefined): number {
  if (!row) return 0;
  const value = row.req_tot !== undefined && row.req_tot !== '' ? row.req_tot : row.stot;
  const count = Number(value ?? 0);
  return Number.isFinite(count) ? count : 0;
}

/**
 * HAProxy's last health check of the server: a failed connect or socket
 * (`L4CON`, `L4TOUT`, `SOCKERR`) is a backend that is not there; any answer
 * at all (`L7OK`, or `L7STS` from a draining instance) is one that is.
 */
function healthOf(row: StatRow | undefined): BackendHealth {
  const check = row?.check_status?.replace(/^\* ?/, '') ?? '';
  if (/^(?:L4CON|L4TOUT|SOCKERR|L6TOUT)/.test(check)) return 'down';
  if (/^(?:L6OK|L7)/.test(check)) return 'up';
  return 'unknown';
}

function inFlightOf(row: StatRow | undefined): number {
  if (!row) return 0;
  return (Number(row.scur) || 0) + (Number(row.qcur) || 0);
}

function requestsOf(entry: HaproxySlotRecord, live: LiveView): number {
  const counter = requestCounter(live.stats.get(entry.slot));
  return entry.counted + Math.max(0, counter - (entry.worker === live.worker ? entry.base : 0));
}

async function resolveAddress(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  try {
    return (await lookup(host)).address;
  } catch (error) {
    throw routerError(`cannot resolve the backend host ${JSON.stringify(host)}: ${(error as NodeJS.ErrnoException).code ?? causeText(error)}.`, error);
  }
}

/** Checks that the admin socket answers at level admin and HAProxy has this router's slots; rejects with BATON_ERR_ROUTER saying what is wrong. */
async function verifyConnection(paths: HaproxyRouterPaths, record: HaproxyRouterRecord, api: HaproxyRuntimeApi): Promise<void> {
  if (!existsSync(paths.adminSocket)) {
    throw routerError(`HAProxy's admin socket ${paths.adminSocket} does not exist: HAProxy is not running on ${paths.stateDir}. Start it with startHaproxyRouter().`);
  }
  let level: string;
  try {
    level = await api.cliLevel();
  } catch (error) {
    throw routerError(`HAProxy's admin socket ${paths.adminSocket} cannot be used (${causeText(error)}). Start HAProxy with startHaproxyRouter().`, error);
  }
  if (level !== 'admin') {
    throw routerError(
      `HAProxy's socket ${paths.adminSocket} answers at level ${JSON.stringify(level.slice(0, 60))}, not "admin": Baton needs "stats socket ${paths.adminSocket} mode 600 level admin" to move traffic.`,
    );
  }
  let rows: ServerStateRow[];
  try {
    rows = await api.showServersState(HAPROXY_BACKEND);
  } catch (error) {
    throw routerError(`HAProxy on ${paths.adminSocket} has no backend "${HAPROXY_BACKEND}" as Baton configures it (${causeText(error)}).`, error);
  }
  const names = new Set(rows.map((row) => row.srv_name));
  const missing = Array.from({ length: record.slots }, (_, index) => slotName(index + 1)).filter((name) => !names.has(name));
  if (missing.length > 0) {
    throw routerError(
      `HAProxy on ${paths.adminSocket} is not set up as this router (${record.slots} slots in backend "${HAPROXY_BACKEND}"): missing ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}.`,
    );
  }
}

/** The frontend is bound and open (`show stat`: FRONTEND OPEN). */
async function frontendOpen(api: HaproxyRuntimeApi): Promise<{ worker: number } | undefined> {
  try {
    const [info, stat] = await api.batch(['show info', `show stat ${HAPROXY_FRONTEND} 1 -1`]);
    const worker = Number(parseInfo(info ?? '').Pid);
    const open = parseStat(stat ?? '').some((row) => row.pxname === HAPROXY_FRONTEND && row.svname === 'FRONTEND' && row.status === 'OPEN');
    return open && Number.isInteger(worker) && worker > 0 ? { worker } : undefined;
  } catch {
    return undefined;
  }
}

async function loadRecord(paths: HaproxyRouterPaths): Promise<HaproxyRouterRecord> {
  let record: HaproxyRouterRecord | undefined;
  try {
    record = await readRouterRecord(paths.routerFile);
  } catch (error) {
    throw routerError(`${paths.stateDir} is not a HAProxy router's state directory: ${causeText(error)}.`, error);
  }
  if (!record) throw routerError(`no HAProxy router has run on ${paths.stateDir} (no ${paths.routerFile}); start one with startHaproxyRouter().`);
  return record;
}

// ------------------------------------------------------------------ the Router

class HaproxyRouterConnection implements HaproxyRouter {
  readonly kind = 'haproxy' as const;
  readonly url: string;
  readonly stateDir: string;
  readonly api: HaproxyRuntimeApi;
  readonly #paths: HaproxyRouterPaths;
  readonly #record: HaproxyRouterRecord;
  #closed = false;
  /** Calls that change the table run one at a time, in call order (two add() calls must not pick the same slot). */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(paths: HaproxyRouterPaths, record: HaproxyRouterRecord, api: HaproxyRuntimeApi) {
    this.url = record.url;
    this.stateDir = paths.stateDir;
    this.api = api;
    this.#paths = paths;
    this.#record = record;
  }

  #open(what: string): void {
    if (this.#closed) throw routerError(`this connection to HAProxy is closed (${what} not sent).`);
  }

  #inTurn<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => {});
    return run;
  }

  async add(backend: { id: string; release: string; host: string; port: number }): Promise<void> {
    this.#open('add');
    if (typeof backend !== 'object' || backend === null) throw routerError('add: give a backend { id, release, host, port }.');
    const { id, release, host, port } = backend;
    if (typeof id !== 'string' || id === '') throw routerError(`add: id must be a non-empty string, got ${JSON.stringify(id)}.`);
    if (typeof release !== 'string') throw routerError(`add (${id}): release must be a string, got ${JSON.stringify(release)}.`);
    if (typeof host !== 'string' || host === '') throw routerError(`add (${id}): host must be a host name or IP address, got ${JSON.stringify(host)}.`);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw routerError(`add (${id}): port must be an integer 1-65535, got ${JSON.stringify(port)}.`);
    await this.#inTurn(async () => {
      const table = await readTable(this.#paths);
      const existing = table.backends.find((entry) => entry.id === id);
      if (existing) {
        if (existing.host !== host || existing.port !== port) {
          throw routerError(`add: backend ${id} is already in the router at ${existing.host}:${existing.port} (slot ${existing.slot}); remove it before adding it at ${host}:${port}.`);
        }
        // The same backend again: a no-op, except that a slot an interrupted
        // add() left pointing elsewhere is pointed at it now.
        const row = (await readLive(this.api)).states.get(existing.slot);
        if (row && (row.srv_addr !== existing.address || row.srv_port !== String(existing.port))) {
          await this.api.execute([setAddressCommand(HAPROXY_BACKEND, existing.slot, existing.address, existing.port)], /changed from|no need to change/i);
        }
        return;
      }
      const address = await resolveAddress(host);
      const live = await readLive(this.api);
      const taken = new Set(table.backends.map((entry) => entry.slot));
      let lingering = 0;
      let slot: string | undefined;
      for (let n = 1; n <= this.#record.slots && slot === undefined; n += 1) {
        const name = slotName(n);
        const row = live.states.get(name);
        if (taken.has(name) || !row) continue;
        // A slot still busy with its last tenant's requests (or moved out of
        // maintenance by hand) is not free.
        if (serverStateOf(row) !== 'maint' || inFlightOf(live.stats.get(name)) > 0) {
          lingering += 1;
          continue;
        }
        slot = name;
      }
      if (slot === undefined) {
        const holders = table.backends.map((entry) => `${entry.id} (${entry.slot})`);
        throw routerError(
          `add (${id}): no free slot — all ${this.#record.slots} slots are taken (${holders.slice(0, 8).join(', ')}${holders.length > 8 ? ', ...' : ''}${lingering > 0 ? `; ${lingering} still finishing requests of a removed backend` : ''}). Remove a backend, or start the router with more \`slots\`.`,
        );
      }
      const entry: HaproxySlotRecord = {
        slot,
        id,
        release,
        host,
        port,
        address,
        state: 'maint',
        weight: DEFAULT_WEIGHT,
        counted: 0,
        // The slot's counter now: what the previous tenant got is not this backend's.
        base: requestCounter(live.stats.get(slot)),
        worker: live.worker,
        addedAtMs: Date.now(),
      };
      // The table first: a crash after it leaves a backend whose slot a second add() re-points;
      // the other way round, a slot pointed at an instance that no table knows.
      await writeTable(this.#paths, { ...table, backends: [...table.backends, entry] });
      try {
        const answers = await this.api.batch([
          setStateCommand(HAPROXY_BACKEND, slot, 'maint'),
          setAddressCommand(HAPROXY_BACKEND, slot, address, port),
          setWeightCommand(HAPROXY_BACKEND, slot, DEFAULT_WEIGHT),
        ]);
        const refused = answers.map((answer) => answer.trim()).find((answer) => answer !== '' && !/changed from|no need to change/i.test(answer));
        if (refused !== undefined) throw routerError(`add (${id}): HAProxy refused to point ${slot} at ${address}:${port}: ${refused}`);
      } catch (error) {
        await writeTable(this.#paths, table).catch(() => {});
        throw error;
      }
    });
  }

  async set(changes: readonly { id: string; state?: BackendState; weight?: number }[]): Promise<void> {
    this.#open('set');
    if (!Array.isArray(changes)) throw routerError('set: give an array of changes [{ id, state?, weight? }].');
    changes.forEach((change, index) => {
      const where = `set: change ${index + 1}`;
      if (typeof change !== 'object' || change === null) throw routerError(`${where} must be an object { id, state?, weight? }.`);
      if (typeof change.id !== 'string' || change.id === '') throw routerError(`${where}: id must be a non-empty string, got ${JSON.stringify(change.id)}.`);
      if (change.state !== undefined && change.state !== 'ready' && change.state !== 'drain' && change.state !== 'maint') {
        throw routerError(`${where} (${change.id}): state must be "ready", "drain" or "maint", got ${JSON.stringify(change.state)}.`);
      }
      if (change.weight !== undefined && (typeof change.weight !== 'number' || !Number.isInteger(change.weight) || change.weight < 0 || change.weight > MAX_WEIGHT)) {
        throw routerError(`${where} (${change.id}): weight must be an integer 0-${MAX_WEIGHT}, got ${JSON.stringify(change.weight)}.`);
      }
    });
    if (changes.length === 0) return;
    await this.#inTurn(async () => {
      const table = await readTable(this.#paths);
      const byId = new Map(table.backends.map((entry) => [entry.id, entry]));
      const unknown = [...new Set(changes.map((change) => change.id).filter((id) => !byId.has(id)))];
      if (unknown.length > 0) {
        throw routerError(`set: unknown backend${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (the router has ${table.backends.map((entry) => entry.id).join(', ') || 'none'}); nothing was changed.`);
      }
      const commands: string[] = [];
      for (const change of changes) {
        const entry = byId.get(change.id) as HaproxySlotRecord;
        const weight = change.weight === undefined ? [] : [setWeightCommand(HAPROXY_BACKEND, entry.slot, change.weight)];
        const state = change.state === undefined ? [] : [setStateCommand(HAPROXY_BACKEND, entry.slot, change.state)];
        // Into traffic: weight first, so it never gets requests at its old weight; out of it, state first.
        commands.push(...(change.state === 'ready' ? [...weight, ...state] : [...state, ...weight]));
        if (change.state !== undefined) entry.state = change.state;
        if (change.weight !== undefined) entry.weight = change.weight;
      }
      if (commands.length === 0) return;
      await this.api.execute(commands);
      await writeTable(this.#paths, table);
    });
  }

  async remove(id: string): Promise<void> {
    this.#open('remove');
    if (typeof id !== 'string' || id === '') throw routerError(`remove: id must be a non-empty string, got ${JSON.stringify(id)}.`);
    await this.#inTurn(async () => {
      const table = await readTable(this.#paths);
      const entry = table.backends.find((candidate) => candidate.id === id);
      if (!entry) return;
      const live = await readLive(this.api);
      const row = live.states.get(entry.slot);
      const state = row ? serverStateOf(row) : 'maint';
      if (state === 'ready') {
        throw routerError(`remove: backend ${id} is ready (it gets traffic); set it to drain or maint first, and remove it once nothing is in flight.`);
      }
      const inFlight = inFlightOf(live.stats.get(entry.slot));
      if (inFlight > 0) {
        throw routerError(`remove: backend ${id} still has ${inFlight} request${inFlight > 1 ? 's' : ''} in flight at HAProxy; remove it once backends() shows none.`);
      }
      // Maintenance also closes the slot's idle pooled connections, so its next tenant never gets this one's.
      await this.api.execute([setStateCommand(HAPROXY_BACKEND, entry.slot, 'maint')]);
      await writeTable(this.#paths, { ...table, backends: table.backends.filter((candidate) => candidate !== entry) });
    });
  }

  async backends(): Promise<BackendStatus[]> {
    this.#open('backends');
    const table = await readTable(this.#paths);
    // HAProxy is asked even with no backend: a router that is gone must say so, not answer "none".
    const live = await readLive(this.api);
    return table.backends.map((entry) => {
      const row = live.states.get(entry.slot);
      return {
        id: entry.id,
        release: entry.release,
        host: entry.host,
        port: entry.port,
        state: row ? serverStateOf(row) : 'maint',
        weight: row ? Number(row.srv_uweight) : entry.weight,
        inFlight: inFlightOf(live.stats.get(entry.slot)),
        requestsTotal: requestsOf(entry, live),
        health: healthOf(live.stats.get(entry.slot)),
      };
    });
  }

  reload(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#open('reload');
    const timeoutMs = positiveInteger('timeoutMs', options.timeoutMs, 15_000);
    return this.#inTurn(() => reloadWith(this.#paths, this.#record, this.api, timeoutMs));
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
  }
}

// ------------------------------------------------------------------ reload

/**
 * The reload itself: counters carried over, `show servers state` saved for
 * the new worker, the config regenerated (checked before it replaces the old
 * one), SIGUSR2 to the master, then the new worker waited for and checked.
 */
async function reloadWith(paths: HaproxyRouterPaths, record: HaproxyRouterRecord, api: HaproxyRuntimeApi, timeoutMs: number): Promise<void> {
  const master = await runningMaster(paths.pidFile, paths.configFile);
  if (master === undefined) throw routerError(`cannot reload: HAProxy is not running on ${paths.stateDir} (no live master in ${paths.pidFile}).`);
  const table = await readTable(paths);
  const before = await readLive(api);
  // The new worker's counters start at 0: what each backend got so far is carried in the table.
  for (const entry of table.backends) {
    const counter = requestCounter(before.stats.get(entry.slot));
    entry.counted += Math.max(0, counter - (entry.worker === before.worker ? entry.base : 0));
    entry.base = counter;
    entry.worker = before.worker;
  }
  await writeTable(paths, table);
  const serverState = await api.command('show servers state');
  if (!serverState.startsWith('1\n')) throw routerError(`cannot reload: "show servers state" answered: ${serverState.slice(0, 200)}`);
  await writeFileAtomic(paths.serverStateFile, serverState);
  await writeConfig(paths, record, table);
  const logOffset = await fileSize(paths.logFile);
  signalReload(master);

  const deadline = Date.now() + timeoutMs;
  let after: LiveView | undefined;
  for (;;) {
    try {
      const live = await readLive(api);
      if (live.worker !== before.worker) {
        after = live;
        break;
      }
    } catch {
      // Between workers: ask again.
    }
    // The master itself, not its pid file: it rewrites that file while it re-executes.
    if (!processExists(master)) {
      throw routerError(`HAProxy's master exited during the reload. Its log (${paths.logFile}):\n${await logSince(paths.logFile, logOffset)}`);
    }
    if (Date.now() > deadline) {
      throw routerError(`no new HAProxy worker answered within ${timeoutMs} ms of the reload (the old one keeps serving). Its log (${paths.logFile}):\n${await logSince(paths.logFile, logOffset)}`);
    }
    await delay(25);
  }
  await privatePidFile(paths.pidFile);

  // The new worker should hold every slot as the old one did; put back what it does not.
  const repairs: string[] = [];
  for (const entry of table.backends) {
    const was = before.states.get(entry.slot);
    const now = after.states.get(entry.slot);
    if (!now) continue;
    if (now.srv_addr !== entry.address || now.srv_port !== String(entry.port)) repairs.push(setAddressCommand(HAPROXY_BACKEND, entry.slot, entry.address, entry.port));
    if (was && now.srv_uweight !== was.srv_uweight) repairs.push(setWeightCommand(HAPROXY_BACKEND, entry.slot, Number(was.srv_uweight)));
    if (was && serverStateOf(now) !== serverStateOf(was)) repairs.push(setStateCommand(HAPROXY_BACKEND, entry.slot, serverStateOf(was)));
  }
  if (repairs.length > 0) await api.execute(repairs, /changed from|no need to change/i);
}

// ------------------------------------------------------------------ start, connect, reload, stop

/**
 * Starts HAProxy for `stateDir` as a detached process of its own (it keeps
 * serving when the orchestrator dies) and resolves with a connection to it
 * once its frontend listens.
 *
 * Writes router.json, haproxy.cfg, haproxy.pid, admin.sock (the Runtime API,
 * level admin, mode 600) and haproxy.log into `stateDir`. Backends a previous
 * HAProxy of this directory held (backends.json) are put back with their
 * last states and weights. Rejects with BATON_ERR_ROUTER when haproxy is not
 * installed (or older than 2.6), a HAProxy already runs on `stateDir`, or it
 * does not start (its log is in the message); with BATON_ERR_INVALID_OPTION on
 * a bad option.
 *
 * @example
 *   const router = await startHaproxyRouter({ stateDir: '/var/lib/baton/router', port: 8080 });
 *   await router.add({ id: 'v1-1', release: 'v1', host: '127.0.0.1', port: 41234 });
 *   await router.set([{ id: 'v1-1', state: 'ready', weight: 100 }]);
 */
export async function startHaproxyRouter(options: StartHaproxyRouterOptions): Promise<HaproxyRouter> {
  const resolved = resolveStartOptions(options);
  const binary = resolved.binary ?? findHaproxy();
  if (binary === undefined) {
    throw routerError('haproxy is not installed (not on PATH, nor in /usr/sbin or /usr/local/sbin). Install HAProxy 2.6 or later (apt-get install haproxy), or pass `binary`.');
  }
  await haproxyVersion(binary);
  const { stateDir } = resolved;
  const paths = haproxyRouterPaths(stateDir);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const api = new HaproxyRuntimeApi(paths.adminSocket, { timeoutMs: resolved.commandTimeoutMs });

  const running = await runningMaster(paths.pidFile, paths.configFile);
  if (running !== undefined || (existsSync(paths.adminSocket) && (await frontendOpen(api)) !== undefined)) {
    throw routerError(`HAProxy already runs on ${stateDir}${running !== undefined ? ` (master pid ${running})` : ''}; connect to it with connectHaproxyRouter(), or stop it with stopHaproxyRouter() first.`);
  }
  let previous: HaproxyRouterRecord | undefined;
  try {
    previous = await readRouterRecord(paths.routerFile);
  } catch (error) {
    throw routerError(`${stateDir} holds another router's state (${causeText(error)}); use another stateDir.`, error);
  }
  const table = await readTable(paths);
  const restored = table.backends.filter((entry) => (slotNumber(entry.slot) ?? Infinity) <= resolved.slots);
  if (restored.length < table.backends.length) {
    const dropped = table.backends.filter((entry) => !restored.includes(entry)).map((entry) => entry.id);
    throw routerError(`backends.json in ${stateDir} holds backends in slots past the ${resolved.slots} asked for (${dropped.join(', ')}); start with more \`slots\` or remove ${paths.backendsFile}.`);
  }
  // What a dead HAProxy left behind must not be taken for the new one's: the
  // backends are restored from the table, not from an old state file (an
  // empty one, just its version line, keeps HAProxy from warning that it is missing).
  await Promise.all([paths.adminSocket, paths.pidFile].map((file) => rm(file, { force: true })));
  await writeFileAtomic(paths.serverStateFile, '1\n');

  const explicitPort = resolved.port;
  let lastClash = '';
  for (let attempt = 0; attempt < (explicitPort === undefined ? PORT_ATTEMPTS : 1); attempt += 1) {
    const port = explicitPort ?? (attempt === 0 && previous?.host === resolved.host && previous.port > 0 ? previous.port : await findFreePort(resolved.host));
    const record: HaproxyRouterRecord = {
      format: 'baton-haproxy-router/1',
      binary,
      host: resolved.host,
      port,
      url: urlOf(resolved.host, port),
      slots: resolved.slots,
      readinessPath: resolved.readinessPath,
      check: resolved.check,
      timeouts: resolved.timeouts,
      retries: resolved.retries,
      startedAtMs: Date.now(),
      maxConnections: resolved.maxConnections,
      trustForwarded: resolved.trustForwarded,
      expose: resolved.expose,
    };
    await writeFileAtomic(paths.routerFile, `${JSON.stringify(record, null, 2)}\n`);
    await writeConfig(paths, record, table);
    const logOffset = await fileSize(paths.logFile);
    const launched = launchHaproxy({ binary, configFile: paths.configFile, pidFile: paths.pidFile, logFile: paths.logFile, cwd: stateDir });
    const deadline = Date.now() + resolved.startTimeoutMs;
    let up: { worker: number } | undefined;
    while (up === undefined) {
      const exited = launched.exited();
      if (exited !== undefined) {
        const log = await logSince(paths.logFile, logOffset);
        if (/cannot bind|address already in use/i.test(log) && explicitPort === undefined) {
          lastClash = log;
          break;
        }
        throw routerError(`HAProxy exited at start (${exited}) on ${record.url}. Its log (${paths.logFile}):\n${log}`);
      }
      up = await frontendOpen(api);
      if (up !== undefined) break;
      if (Date.now() > deadline) {
        if (launched.pid > 0) await stopHaproxyProcess(launched.pid, 0).catch(() => {});
        throw routerError(`HAProxy did not listen on ${record.url} within ${resolved.startTimeoutMs} ms (stopped). Its log (${paths.logFile}):\n${await logSince(paths.logFile, logOffset)}`);
      }
      await delay(25);
    }
    if (up === undefined) continue;
    await privatePidFile(paths.pidFile);

    // Drain cannot be written in a config: restored draining backends start
    // in maintenance (no new requests either way) and are set to drain now.
    const draining = table.backends.filter((entry) => entry.state === 'drain');
    if (draining.length > 0) await api.execute(draining.map((entry) => setStateCommand(HAPROXY_BACKEND, entry.slot, 'drain')));
    return new HaproxyRouterConnection(paths, record, api);
  }
  throw routerError(`HAProxy found no free port on ${resolved.host} after ${PORT_ATTEMPTS} attempts (the machine is busy; pass \`port\`). Last attempt's log:\n${lastClash}`);
}

/**
 * A `Router` for the HAProxy already running on `stateDir` — what a restarted
 * orchestrator uses. Checks before anything can move: rejects with
 * BATON_ERR_ROUTER when no router ever ran there, the admin socket is missing
 * or refuses, is not `level admin`, or HAProxy lacks this router's slots.
 */
export async function connectHaproxyRouter(options: HaproxyRouterOptions): Promise<HaproxyRouter> {
  const stateDir = resolveStateDir(options);
  const paths = haproxyRouterPaths(stateDir);
  const record = await loadRecord(paths);
  const api = new HaproxyRuntimeApi(paths.adminSocket, { timeoutMs: commandTimeout(options) });
  await verifyConnection(paths, record, api);
  await readTable(paths);
  return new HaproxyRouterConnection(paths, record, api);
}

/**
 * Reloads the HAProxy of `stateDir` without losing a backend or a request:
 * `show servers state` is saved to the server state file, the configuration
 * is regenerated (with the slots' addresses) and checked, the master gets
 * SIGUSR2 and starts a new worker that takes the listening sockets over and
 * loads the servers' states and weights; the old worker finishes its requests.
 * Resolves once the new worker answers. Use the router's own `reload()` when
 * a connection is open, so the reload waits for its other calls.
 */
export async function reloadHaproxyRouter(options: ReloadHaproxyRouterOptions): Promise<void> {
  const stateDir = resolveStateDir(options);
  const paths = haproxyRouterPaths(stateDir);
  const record = await loadRecord(paths);
  const api = new HaproxyRuntimeApi(paths.adminSocket, { timeoutMs: commandTimeout(options) });
  await verifyConnection(paths, record, api);
  await reloadWith(paths, record, api, positiveInteger('timeoutMs', options.timeoutMs, 15_000));
}

/**
 * Stops the HAProxy of `stateDir`: a soft stop (requests in flight finish)
 * for up to `graceMs`, then a hard one. Resolves at once when none runs. The
 * backend table stays, for the next start.
 */
export async function stopHaproxyRouter(options: StopHaproxyRouterOptions): Promise<void> {
  const stateDir = resolveStateDir(options);
  const paths = haproxyRouterPaths(stateDir);
  const graceMs = options.graceMs ?? 10_000;
  if (typeof graceMs !== 'number' || !Number.isFinite(graceMs) || graceMs < 0) throw invalid(`\`graceMs\` must be zero or a positive number of milliseconds; got ${JSON.stringify(graceMs)}.`);
  const master = await runningMaster(paths.pidFile, paths.configFile);
  if (master !== undefined) await stopHaproxyProcess(master, graceMs);
  await Promise.all([paths.adminSocket, paths.pidFile].map((file) => rm(file, { force: true })));
}

/**
 * HAProxy unlinks and rewrites its pid file 0644 at start and at every
 * reload: made 0600 like every file of the state directory once it is there.
 */
async function privatePidFile(pidFile: string): Promise<void> {
  await chmod(pidFile, 0o600).catch((error: NodeJS.ErrnoException) => {
    // Not written (yet): nothing to protect; the next start or reload tightens it.
    if (error.code !== 'ENOENT') throw error;
  });
}

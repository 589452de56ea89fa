/**
 * The HAProxy router: a real HAProxy (2.6+) of its own, run detached so an orchestrator that dies
 * mid-deploy leaves traffic flowing, and driven through its Runtime API. Backends live in a fixed
 * set of server slots, re-pointed and never deleted (`del server` under load crashes 2.6).
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { checkBackendChanges, checkBackendInput, findFreePort, resolveBackendAddress } from '@baton/deploy/kit';
import type { BackendState, BackendStatus, Router } from '@baton/deploy';
import { HAPROXY_BACKEND, KEEP_ALIVE_OFF, slotNumber } from './haproxy-config.js';
import { findHaproxy, haproxyVersion, runningMaster, stopHaproxyProcess } from './haproxy-process.js';
import {
  commandTimeout,
  reloadTimeout,
  resolveStartOptions,
  resolveStateDir,
  routerRecordOf,
  stopGrace,
  type HaproxyRouterOptions,
  type ReloadHaproxyRouterOptions,
  type StartHaproxyRouterOptions,
  type StopHaproxyRouterOptions,
} from './haproxy-router-options.js';
import { HaproxyRuntimeApi, serverStateOf, setAddressCommand, setStateCommand, setWeightCommand } from './haproxy-runtime-api.js';
import { causeText, routerError } from './internal/haproxy-errors.js';
import { launchUntilListening } from './internal/haproxy-launch.js';
import { reloadWith } from './internal/haproxy-reload.js';
import { haproxyRouterPaths, readRouterRecord, writeFileAtomic, type HaproxyRouterPaths, type HaproxyRouterRecord, type HaproxySlotRecord } from './internal/haproxy-state.js';
import { frontendOpen, inFlightOf, readLive } from './internal/live-view.js';
import { DEFAULT_WEIGHT, backendStatus, freeSlot, newSlotEntry, readTable, writeTable } from './internal/slot-table.js';
import { loadRecord, privatePidFile, writeConfig, writeKeepAliveFile } from './internal/state-files.js';
import { verifyConnection } from './internal/verify-connection.js';

export type { HaproxyCheckSettings, HaproxyTimeoutSettings } from './internal/haproxy-state.js';
export type { HaproxyRouterOptions, ReloadHaproxyRouterOptions, StartHaproxyRouterOptions, StopHaproxyRouterOptions } from './haproxy-router-options.js';

/** A connection to a running HAProxy router: the orchestrator's `Router`, plus a reload. */
export interface HaproxyRouter extends Router {
  readonly kind: 'haproxy';
  readonly stateDir: string;
  /** The Runtime API client this connection uses. */
  readonly api: HaproxyRuntimeApi;
  /** Reloads HAProxy (see {@link reloadHaproxyRouter}), in turn with this connection's other calls. */
  reload(options?: { timeoutMs?: number }): Promise<void>;
  /** Keep-alive with clients: off, every answer says `Connection: close` and its connection closes after it; kept through reloads and restarts. */
  setKeepAlive(enabled: boolean): Promise<void>;
}

const PORT_ATTEMPTS = 5;

/** One connection to a running HAProxy router; its calls that change the table run in turn. */
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
    const { id, release, host, port } = checkBackendInput(backend, routerError);
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
      const address = await resolveBackendAddress(host, routerError);
      const live = await readLive(this.api);
      const slot = freeSlot(table, live, this.#record.slots, id);
      const entry = newSlotEntry(slot, { id, release, host, port }, address, live);
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
    checkBackendChanges(changes, routerError);
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
    return table.backends.map((entry) => backendStatus(entry, live));
  }

  /**
   * Keep-alive with clients: off, every answer carries `Connection: close`
   * and HAProxy closes the connection after it (idle ones are not closed
   * under their clients). Switched in the running worker through the
   * Runtime API (`clear acl` / `add acl` on the switch's pattern file), kept
   * in backends.json and the pattern file, so reloads and restarts keep it.
   */
  async setKeepAlive(enabled: boolean): Promise<void> {
    this.#open('setKeepAlive');
    if (typeof enabled !== 'boolean') throw routerError(`setKeepAlive: enabled must be true or false, got ${JSON.stringify(enabled)}.`);
    await this.#inTurn(async () => {
      const table = await readTable(this.#paths);
      const before = table.keepAlive ?? true;
      // The table and the file first, as add() does: a reload or start in between already has it.
      await writeTable(this.#paths, { ...table, keepAlive: enabled });
      try {
        await writeKeepAliveFile(this.#paths, enabled);
        const file = this.#paths.keepAliveOffFile;
        try {
          await this.api.execute([`clear acl ${file}`, ...(enabled ? [] : [`add acl ${file} ${KEEP_ALIVE_OFF}`])]);
        } catch (error) {
          // A HAProxy started by an older Baton has no switch in its config: a reload writes it, with the setting.
          if (!/unknown acl/i.test(causeText(error))) throw error;
          await reloadWith(this.#paths, this.#record, this.api, reloadTimeout(undefined));
        }
      } catch (error) {
        await writeTable(this.#paths, table).catch(() => {});
        await writeKeepAliveFile(this.#paths, before).catch(() => {});
        throw error;
      }
    });
  }

  reload(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#open('reload');
    const timeoutMs = reloadTimeout(options.timeoutMs);
    return this.#inTurn(() => reloadWith(this.#paths, this.#record, this.api, timeoutMs));
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
  }
}

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
    const record = routerRecordOf(resolved, binary, port);
    await writeFileAtomic(paths.routerFile, `${JSON.stringify(record, null, 2)}\n`);
    await writeConfig(paths, record, table);
    const launched = await launchUntilListening(paths, record, api, resolved.startTimeoutMs, explicitPort === undefined);
    if ('clash' in launched) {
      lastClash = launched.clash;
      continue;
    }
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
  await reloadWith(paths, record, api, reloadTimeout(options.timeoutMs));
}

/**
 * Stops the HAProxy of `stateDir`: a soft stop (requests in flight finish)
 * for up to `graceMs`, then a hard one. Resolves at once when none runs. The
 * backend table stays, for the next start.
 */
export async function stopHaproxyRouter(options: StopHaproxyRouterOptions): Promise<void> {
  const stateDir = resolveStateDir(options);
  const paths = haproxyRouterPaths(stateDir);
  const graceMs = stopGrace(options);
  const master = await runningMaster(paths.pidFile, paths.configFile);
  if (master !== undefined) await stopHaproxyProcess(master, graceMs);
  await Promise.all([paths.adminSocket, paths.pidFile].map((file) => rm(file, { force: true })));
}

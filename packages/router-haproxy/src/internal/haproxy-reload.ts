/**
 * A reload without losing a backend or a request: counters carried into the table, `show servers
 * state` saved for the new worker, the config regenerated (checked before it replaces the old
 * one), SIGUSR2 to the master, then the new worker waited for and its slots checked.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { isProcessAlive } from '@baton/deploy/kit';
import { HAPROXY_BACKEND } from '../haproxy-config.js';
import { catchesReload, fileSize, logSince, runningMaster, signalReload } from '../haproxy-process.js';
import { serverStateOf, setAddressCommand, setStateCommand, setWeightCommand, type HaproxyRuntimeApi } from '../haproxy-runtime-api.js';
import { routerError } from './haproxy-errors.js';
import { writeFileAtomic, type HaproxyRouterPaths, type HaproxyRouterRecord } from './haproxy-state.js';
import { readLive, type LiveView } from './live-view.js';
import { carryCounters, readTable, writeTable } from './slot-table.js';
import { privatePidFile, writeConfig } from './state-files.js';

/** Reloads the HAProxy of `paths`; resolves once the new worker answers with every slot as before. */
export async function reloadWith(paths: HaproxyRouterPaths, record: HaproxyRouterRecord, api: HaproxyRuntimeApi, timeoutMs: number): Promise<void> {
  const master = await runningMaster(paths.pidFile, paths.configFile);
  if (master === undefined) throw routerError(`cannot reload: HAProxy is not running on ${paths.stateDir} (no live master in ${paths.pidFile}).`);
  const table = await readTable(paths);
  const before = await readLive(api);
  carryCounters(table, before);
  await writeTable(paths, table);
  const serverState = await api.command('show servers state');
  if (!serverState.startsWith('1\n')) throw routerError(`cannot reload: "show servers state" answered: ${serverState.slice(0, 200)}`);
  await writeFileAtomic(paths.serverStateFile, serverState);
  await writeConfig(paths, record, table);
  const logOffset = await fileSize(paths.logFile);
  const deadline = Date.now() + timeoutMs;
  // A master that just started or reloaded ignores SIGUSR2 for a moment: the reload would be lost.
  while (!(await catchesReload(master))) {
    if (!isProcessAlive(master)) throw routerError(`HAProxy's master exited before the reload. Its log (${paths.logFile}):\n${await logSince(paths.logFile, logOffset)}`);
    if (Date.now() > deadline) throw routerError(`HAProxy's master (pid ${master}) did not get ready for a reload within ${timeoutMs} ms (it still ignores SIGUSR2).`);
    await delay(10);
  }
  signalReload(master);

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
    if (!isProcessAlive(master)) {
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

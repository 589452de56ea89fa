/**
 * The backend table over HAProxy's fixed server slots (`backends.json`): HAProxy 2.6 has no
 * per-server label to hold an id and cannot rename a server, so which backend holds which slot,
 * and the requests counted for it across reloads, live here, replaced atomically on every change.
 */
import type { BackendStatus } from '@baton/deploy';
import { slotName, slotNumber, type HaproxyConfigSlot } from '../haproxy-config.js';
import { serverStateOf } from '../haproxy-runtime-api.js';
import { causeText, routerError } from './haproxy-errors.js';
import { readBackendsRecord, writeBackendsRecord, type HaproxyBackendsRecord, type HaproxyRouterPaths, type HaproxySlotRecord } from './haproxy-state.js';
import { healthOf, inFlightOf, requestCounter, type LiveView } from './live-view.js';

/** A new backend's weight, as in HAProxy and the built-in router. */
export const DEFAULT_WEIGHT = 1;

export async function readTable(paths: HaproxyRouterPaths): Promise<HaproxyBackendsRecord> {
  try {
    return await readBackendsRecord(paths.backendsFile);
  } catch (error) {
    throw routerError(`the backend table ${paths.backendsFile} cannot be read: ${causeText(error)}`, error);
  }
}

export async function writeTable(paths: HaproxyRouterPaths, table: HaproxyBackendsRecord): Promise<void> {
  try {
    await writeBackendsRecord(paths.backendsFile, table);
  } catch (error) {
    throw routerError(`the backend table ${paths.backendsFile} cannot be written: ${causeText(error)}`, error);
  }
}

/** Slots of the backend table, as the configuration writes them. */
export function occupiedSlots(table: HaproxyBackendsRecord): HaproxyConfigSlot[] {
  return table.backends.flatMap((entry) => {
    const slot = slotNumber(entry.slot);
    return slot === undefined ? [] : [{ slot, id: entry.id, release: entry.release, address: entry.address, port: entry.port, state: entry.state, weight: entry.weight }];
  });
}

/** Requests a backend got: those carried over from earlier workers plus this worker's since it took the slot. */
export function requestsOf(entry: HaproxySlotRecord, live: LiveView): number {
  const counter = requestCounter(live.stats.get(entry.slot));
  return entry.counted + Math.max(0, counter - (entry.worker === live.worker ? entry.base : 0));
}

/** A backend as `Router.backends()` reports it: who it is from the table, how it is doing from HAProxy. */
export function backendStatus(entry: HaproxySlotRecord, live: LiveView): BackendStatus {
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
}

/** Before a reload: the new worker's counters start at 0, so what each backend got so far is carried in the table. */
export function carryCounters(table: HaproxyBackendsRecord, before: LiveView): void {
  for (const entry of table.backends) {
    const counter = requestCounter(before.stats.get(entry.slot));
    entry.counted += Math.max(0, counter - (entry.worker === before.worker ? entry.base : 0));
    entry.base = counter;
    entry.worker = before.worker;
  }
}

/** The first slot of `slots` that no backend holds and HAProxy has idle in maintenance; throws saying why there is none. */
export function freeSlot(table: HaproxyBackendsRecord, live: LiveView, slots: number, id: string): string {
  const taken = new Set(table.backends.map((entry) => entry.slot));
  let lingering = 0;
  for (let n = 1; n <= slots; n += 1) {
    const name = slotName(n);
    const row = live.states.get(name);
    if (taken.has(name) || !row) continue;
    // A slot still busy with its last tenant's requests (or moved out of
    // maintenance by hand) is not free.
    if (serverStateOf(row) !== 'maint' || inFlightOf(live.stats.get(name)) > 0) {
      lingering += 1;
      continue;
    }
    return name;
  }
  const holders = table.backends.map((entry) => `${entry.id} (${entry.slot})`);
  throw routerError(
    `add (${id}): no free slot — all ${slots} slots are taken (${holders.slice(0, 8).join(', ')}${holders.length > 8 ? ', ...' : ''}${lingering > 0 ? `; ${lingering} still finishing requests of a removed backend` : ''}). Remove a backend, or start the router with more \`slots\`.`,
  );
}

/** A backend's entry in `slot`, in maintenance at the default weight, counted from the slot's counter now. */
export function newSlotEntry(slot: string, backend: { id: string; release: string; host: string; port: number }, address: string, live: LiveView): HaproxySlotRecord {
  return {
    slot,
    id: backend.id,
    release: backend.release,
    host: backend.host,
    port: backend.port,
    address,
    state: 'maint',
    weight: DEFAULT_WEIGHT,
    counted: 0,
    // The slot's counter now: what the previous tenant got is not this backend's.
    base: requestCounter(live.stats.get(slot)),
    worker: live.worker,
    addedAtMs: Date.now(),
  };
}

import { existsSync } from 'node:fs';
import { HAPROXY_BACKEND, slotName } from '../haproxy-config.js';
import type { HaproxyRuntimeApi, ServerStateRow } from '../haproxy-runtime-api.js';
import { causeText, routerError } from './haproxy-errors.js';
import type { HaproxyRouterPaths, HaproxyRouterRecord } from './haproxy-state.js';

/** Checks that the admin socket answers at level admin and HAProxy has this router's slots; rejects with BATON_ERR_ROUTER saying what is wrong. */
export async function verifyConnection(paths: HaproxyRouterPaths, record: HaproxyRouterRecord, api: HaproxyRuntimeApi): Promise<void> {
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

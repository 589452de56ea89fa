/**
 * What the running HAProxy worker says about the router's slots (states, counters, checks), read
 * over the Runtime API; the backend table says who holds each slot.
 */
import type { BackendHealth } from '@baton/deploy';
import { HAPROXY_BACKEND, HAPROXY_FRONTEND } from '../haproxy-config.js';
import { parseInfo, parseServersState, parseStat, type HaproxyRuntimeApi, type ServerStateRow, type StatRow } from '../haproxy-runtime-api.js';
import { routerError } from './haproxy-errors.js';

/** What the running worker says, read on one connection. */
export interface LiveView {
  /** The worker's pid: counters belong to it. */
  worker: number;
  states: Map<string, ServerStateRow>;
  stats: Map<string, StatRow>;
}

export async function readLive(api: HaproxyRuntimeApi): Promise<LiveView> {
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
export function requestCounter(row: StatRow | undefined): number {
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
export function healthOf(row: StatRow | undefined): BackendHealth {
  const check = row?.check_status?.replace(/^\* ?/, '') ?? '';
  if (/^(?:L4CON|L4TOUT|SOCKERR|L6TOUT)/.test(check)) return 'down';
  if (/^(?:L6OK|L7)/.test(check)) return 'up';
  return 'unknown';
}

export function inFlightOf(row: StatRow | undefined): number {
  if (!row) return 0;
  return (Number(row.scur) || 0) + (Number(row.qcur) || 0);
}

/** The frontend is bound and open (`show stat`: FRONTEND OPEN). */
export async function frontendOpen(api: HaproxyRuntimeApi): Promise<{ worker: number } | undefined> {
  try {
    const [info, stat] = await api.batch(['show info', `show stat ${HAPROXY_FRONTEND} 1 -1`]);
    const worker = Number(parseInfo(info ?? '').Pid);
    const open = parseStat(stat ?? '').some((row) => row.pxname === HAPROXY_FRONTEND && row.svname === 'FRONTEND' && row.status === 'OPEN');
    return open && Number.isInteger(worker) && worker > 0 ? { worker } : undefined;
  } catch {
    return undefined;
  }
}

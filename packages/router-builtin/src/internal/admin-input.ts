/**
 * The admin commands' input, checked before it reaches the backend table: a bad field is a 400
 * naming it, and nothing changes.
 */
import { BatonError } from '@baton/lifecycle';
import type { BackendState } from '@baton/deploy';

/** A command the router refused: `status` is the admin API's HTTP status, the code is always `BATON_ERR_ROUTER`. */
export class RouterCommandError extends BatonError {
  readonly status: number;

  constructor(status: number, message: string) {
    super('BATON_ERR_ROUTER', message);
    this.status = status;
  }
}

/** The `add` command's input. */
export interface BackendAddress {
  id: string;
  release: string;
  host: string;
  port: number;
}

/** One change of the `set` command. */
export interface BackendChange {
  id: string;
  state?: BackendState;
  weight?: number;
}

const STATES: readonly BackendState[] = ['maint', 'ready', 'drain'];
const MAX_WEIGHT = 256;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(message: string): RouterCommandError {
  return new RouterCommandError(400, message);
}

/** Checks an `add` command's input; throws a 400 {@link RouterCommandError} saying which field is wrong. */
export function parseBackendAddress(value: unknown): BackendAddress {
  if (!isRecord(value)) throw bad('add: give a JSON object { id, release, host, port }.');
  const { id, release, host, port } = value;
  if (typeof id !== 'string' || id === '' || id.length > 200) throw bad(`add: id must be a non-empty string of at most 200 characters, got ${JSON.stringify(id)}.`);
  if (typeof release !== 'string') throw bad(`add: release must be a string, got ${JSON.stringify(release)}.`);
  if (typeof host !== 'string' || host === '' || /[\s/]/.test(host)) throw bad(`add: host must be a host name or IP address, got ${JSON.stringify(host)}.`);
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw bad(`add: port must be an integer 1-65535, got ${JSON.stringify(port)}.`);
  return { id, release, host, port };
}

/** Checks a `set` command's input; throws a 400 {@link RouterCommandError} naming the change that is wrong. */
export function parseBackendChanges(value: unknown): BackendChange[] {
  if (!Array.isArray(value)) throw bad('set: give an array of changes [{ id, state?, weight? }].');
  return value.map((change: unknown, index) => {
    const where = `set: change ${index}`;
    if (!isRecord(change)) throw bad(`${where} must be an object { id, state?, weight? }.`);
    const { id, state, weight } = change;
    if (typeof id !== 'string' || id === '') throw bad(`${where}: id must be a non-empty string, got ${JSON.stringify(id)}.`);
    const out: BackendChange = { id };
    if (state !== undefined) {
      if (!STATES.includes(state as BackendState)) throw bad(`${where} (${id}): state must be one of ${STATES.join(', ')}, got ${JSON.stringify(state)}.`);
      out.state = state as BackendState;
    }
    if (weight !== undefined) {
      if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) {
        throw bad(`${where} (${id}): weight must be an integer 0-${MAX_WEIGHT}, got ${JSON.stringify(weight)}.`);
      }
      out.weight = weight;
    }
    return out;
  });
}

/** Checks a `remove` command's id; throws a 400 {@link RouterCommandError} when it is not a non-empty string. */
export function parseRemoveId(id: unknown): string {
  if (typeof id !== 'string' || id === '') throw bad(`remove: id must be a non-empty string, got ${JSON.stringify(id)}.`);
  return id;
}

/** Checks a keep-alive command's input (`{ enabled: boolean }`); throws a 400 {@link RouterCommandError} otherwise. */
export function parseKeepAlive(value: unknown): boolean {
  const enabled = isRecord(value) ? value.enabled : undefined;
  if (typeof enabled !== 'boolean') throw bad(`keep-alive: give a JSON object { "enabled": true | false }, got ${JSON.stringify(value)}.`);
  return enabled;
}

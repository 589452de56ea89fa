/**
 * A Router call's input checked before anything moves (a bad field is a BATON_ERR_ROUTER naming
 * it), and a backend's host resolved to the address HAProxy is pointed at.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { BackendState } from '@baton/deploy';
import { causeText, routerError } from './haproxy-errors.js';

const MAX_WEIGHT = 256;

/** An `add`'s backend. */
export interface BackendInput {
  id: string;
  release: string;
  host: string;
  port: number;
}

/** One change of a `set`. */
export interface BackendChangeInput {
  id: string;
  state?: BackendState;
  weight?: number;
}

/** Checks an `add`'s backend; throws naming the field that is wrong. */
export function checkBackend(backend: BackendInput): BackendInput {
  if (typeof backend !== 'object' || backend === null) throw routerError('add: give a backend { id, release, host, port }.');
  const { id, release, host, port } = backend;
  if (typeof id !== 'string' || id === '') throw routerError(`add: id must be a non-empty string, got ${JSON.stringify(id)}.`);
  if (typeof release !== 'string') throw routerError(`add (${id}): release must be a string, got ${JSON.stringify(release)}.`);
  if (typeof host !== 'string' || host === '') throw routerError(`add (${id}): host must be a host name or IP address, got ${JSON.stringify(host)}.`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw routerError(`add (${id}): port must be an integer 1-65535, got ${JSON.stringify(port)}.`);
  return { id, release, host, port };
}

/** Checks a `set`'s changes, all before any is applied; throws naming the change that is wrong. */
export function checkChanges(changes: readonly BackendChangeInput[]): void {
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
}

export async function resolveAddress(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  try {
    return (await lookup(host)).address;
  } catch (error) {
    throw routerError(`cannot resolve the backend host ${JSON.stringify(host)}: ${(error as NodeJS.ErrnoException).code ?? causeText(error)}.`, error);
  }
}

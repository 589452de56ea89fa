import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { BackendState } from '../model.js';

// A Router's `add` and `set` input, checked before anything moves. Routers
// that take it from a caller in this process (HAProxy, nginx) share the rules
// and the messages; `fail` makes the router's own error (its prefix, its code).

/** The largest backend weight (HAProxy's range, kept by every router). */
export const MAX_BACKEND_WEIGHT = 256;

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

/** Checks an `add`'s backend; throws `fail(message)` naming the field that is wrong. */
export function checkBackendInput(backend: BackendInput, fail: (message: string) => Error): BackendInput {
  if (typeof backend !== 'object' || backend === null) throw fail('add: give a backend { id, release, host, port }.');
  const { id, release, host, port } = backend;
  if (typeof id !== 'string' || id === '') throw fail(`add: id must be a non-empty string, got ${JSON.stringify(id)}.`);
  if (typeof release !== 'string') throw fail(`add (${id}): release must be a string, got ${JSON.stringify(release)}.`);
  if (typeof host !== 'string' || host === '') throw fail(`add (${id}): host must be a host name or IP address, got ${JSON.stringify(host)}.`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw fail(`add (${id}): port must be an integer 1-65535, got ${JSON.stringify(port)}.`);
  return { id, release, host, port };
}

/** Checks a `set`'s changes, all before any is applied; throws `fail(message)` naming the change that is wrong. */
export function checkBackendChanges(changes: unknown, fail: (message: string) => Error): asserts changes is readonly BackendChangeInput[] {
  if (!Array.isArray(changes)) throw fail('set: give an array of changes [{ id, state?, weight? }].');
  changes.forEach((change: { id?: unknown; state?: unknown; weight?: unknown } | null, index) => {
    const where = `set: change ${index + 1}`;
    if (typeof change !== 'object' || change === null) throw fail(`${where} must be an object { id, state?, weight? }.`);
    if (typeof change.id !== 'string' || change.id === '') throw fail(`${where}: id must be a non-empty string, got ${JSON.stringify(change.id)}.`);
    if (change.state !== undefined && change.state !== 'ready' && change.state !== 'drain' && change.state !== 'maint') {
      throw fail(`${where} (${change.id}): state must be "ready", "drain" or "maint", got ${JSON.stringify(change.state)}.`);
    }
    if (change.weight !== undefined && (typeof change.weight !== 'number' || !Number.isInteger(change.weight) || change.weight < 0 || change.weight > MAX_BACKEND_WEIGHT)) {
      throw fail(`${where} (${change.id}): weight must be an integer 0-${MAX_BACKEND_WEIGHT}, got ${JSON.stringify(change.weight)}.`);
    }
  });
}

/** `host` as an IP address (resolved when it is a name); throws `fail(message, cause)` when it does not resolve. */
export async function resolveBackendAddress(host: string, fail: (message: string, cause: unknown) => Error): Promise<string> {
  if (isIP(host) !== 0) return host;
  try {
    return (await lookup(host)).address;
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
    throw fail(`cannot resolve the backend host ${JSON.stringify(host)}: ${reason}.`, error);
  }
}

import type { Journal } from '../model.js';
import type { ServiceState } from '../service-state.js';
import { createHistory, historyEntryOf } from './history.js';

/**
 * Adds the journal's last deploy to the history in `stateDir` when it has
 * ended and is not there yet. It reads the deploy back from the journal, so
 * the history holds the release as the journal does (secrets sealed). Run
 * when a deploy ends, and again when an orchestrator opens the journal: a
 * crash between the two writes loses no line. True when a line was added.
 */
export async function recordHistory(journal: Journal<ServiceState>, stateDir: string, environment: string | undefined): Promise<boolean> {
  const record = (await journal.read())?.deploy;
  const entry = record === undefined ? undefined : historyEntryOf(record, environment);
  return entry === undefined ? false : createHistory(stateDir).append(entry);
}

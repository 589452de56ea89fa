import { BatonError } from '@baton/lifecycle';
import type { ResolvedDeployConfig } from '../deploy-config.js';
import type { JournaledRelease, ServiceState } from '../service-state.js';
import { createHistory } from './history.js';

/**
 * The release `baton rollback --to <version>` runs: `version` as it last
 * served here (its artifact and run config, secrets sealed), from the
 * history. Refused (`BATON_ERR_PIPELINE`) when it is the stable release
 * already or never served here — saying which releases did.
 */
export async function rollbackTarget(config: ResolvedDeployConfig, state: ServiceState, version: string): Promise<JournaledRelease> {
  const where = config.environment ?? config.service;
  if (state.stable?.version === version) throw new BatonError('BATON_ERR_PIPELINE', `${version} is already the stable release of ${where}: there is nothing to roll back.`);
  const { entries } = await createHistory(config.stateDir).read();
  const entry = entries.findLast((candidate) => candidate.release === version && candidate.outcome === 'succeeded' && candidate.spec !== undefined);
  if (entry?.spec !== undefined) return entry.spec;
  // A journal older than the history knows its previous release all the same.
  if (state.previous?.version === version) return state.previous;
  const served = [...new Set(entries.filter((candidate) => candidate.outcome === 'succeeded').map((candidate) => candidate.release))].filter((release) => release !== state.stable?.version);
  throw new BatonError(
    'BATON_ERR_PIPELINE',
    `${version} never served ${where}, so there is nothing of it to go back to${served.length === 0 ? '' : `; releases that did: ${served.join(', ')}`}. To run it here, deploy it${config.previousEnvironment === undefined ? '' : ` (baton promote ${version} --to ${where})`}.`,
  );
}

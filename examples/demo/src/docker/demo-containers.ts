import { removeContainersLabelled } from '@baton/testing/docker';
import { RUN_LABEL } from './demo-config.js';

/**
 * Removes every container of one demo run from the engines: after `baton
 * down` there are none, but a demo stopped halfway (Ctrl-C, a crash) may
 * leave some. Returns how many it removed; an engine that is gone is skipped.
 */
export async function removeDemoContainers(engines: readonly { socketPath: string }[], runLabel: string): Promise<number> {
  let removed = 0;
  for (const engine of engines) {
    removed += await removeContainersLabelled(engine, `${RUN_LABEL}=${runLabel}`).catch(() => 0);
  }
  return removed;
}

import { BatonError } from '@baton/lifecycle';
import { clearControl } from './control.js';
import type { ResolvedDeployConfig } from './deploy-config.js';
import { servicePlatform, type DeployCommandOptions } from './deployment.js';
import { createFileJournal } from './journal/file-journal.js';
import type { DeployEvent, Journal } from './model.js';
import { serviceRedactor } from './internal/service-redactor.js';
import { statePaths, takeDownRouter } from './service-router.js';
import { isDown, isFinished, type ServiceState } from './service-state.js';

/**
 * `baton down`: drains and stops every instance, stops the router and
 * removes its state, so nothing of the service runs and the next deploy
 * starts from nothing, on any router. The records stay: the journal's
 * history (`events.jsonl`, the last deploy, the release taken down — `baton
 * status` shows it, `baton rollback` brings it back), the reports and the
 * logs (instances' and routers') — they are the user's, and nothing runs
 * from them. What goes is what describes running things: the router's
 * directory and kind, the instances' records and the state's instances, a
 * pending control command.
 */
export async function stopService(config: ResolvedDeployConfig, options: Omit<DeployCommandOptions, 'signal' | 'reason'> = {}): Promise<void> {
  const paths = statePaths(config.stateDir);
  const journal = createFileJournal<ServiceState>({ dir: paths.journal });
  const lock = await journal.lock();
  try {
    const state = await journal.read();
    const local = servicePlatform(config);
    const platform = options.platform ?? local;
    // The journal's instances, and any the platform knows that the journal does not (an orchestrator
    // that died between starting one and journaling it).
    const journaled = new Set((state?.instances ?? []).map((instance) => instance.id));
    const orphans = (await (platform.instances ?? local.instances)()).filter((instance) => !journaled.has(instance.id));
    const all = [...(state?.instances ?? []), ...orphans];
    // Every stop runs to its end; the ones that fail are kept in the state and reported below, never dropped.
    const results = await Promise.allSettled(
      all.map(async (instance) => {
        if (platform.isRunning(instance)) await platform.stop(instance, { deadlineMs: config.timeouts.stopMs });
      }),
    );
    const redactor = serviceRedactor(config, state);
    const failed = all
      .map((instance, index) => ({ instance, result: results[index] }))
      .flatMap(({ instance, result }) => (result?.status === 'rejected' ? [{ instance, error: redactor.text(result.reason instanceof Error ? result.reason.message : String(result.reason)) }] : []));
    // Records of processes that are gone (the local platform's own, whatever platform ran them) go too.
    await local.instances();
    let routerError: unknown;
    try {
      await takeDownRouter(config.stateDir);
    } catch (error) {
      routerError = error;
    }
    await clearControl(config.stateDir);
    if (state !== undefined || failed.length > 0) {
      const kept = failed.map(({ instance }) => ({ ...instance, status: 'draining' as const }));
      await writeDown(journal, state ?? { service: config.service, instances: [], nextInstance: 1 }, kept);
    }
    if (failed.length > 0) {
      for (const { instance, error } of failed) {
        const event: DeployEvent = { atMs: Date.now(), type: 'instance-stop-failed', message: `${instance.id} (${instance.release}) could not be stopped: ${error}.`, data: { id: instance.id, release: instance.release, error } };
        await journal.append(event);
        options.onEvent?.(event);
      }
      throw new BatonError(
        'BATON_ERR_PLATFORM',
        `${failed.length} instance${failed.length === 1 ? '' : 's'} of ${config.service} could not be stopped (they stay in the state; run baton down again): ${failed.map(({ instance, error }) => `${instance.id}: ${error}`).join('; ')}`,
      );
    }
    if (routerError !== undefined) throw routerError;
    const event: DeployEvent = { atMs: Date.now(), type: 'down', message: `Stopped ${config.service}: no instance and no router left running.` };
    await journal.append(event);
    options.onEvent?.(event);
  } finally {
    await lock.release();
  }
}

/**
 * The state after `baton down`: no stable release, no instance but `kept`
 * (those that would not stop), no open deploy; the release that was serving
 * becomes `previous` and is named in `down`.
 */
async function writeDown(journal: Journal<ServiceState>, state: ServiceState, kept: ServiceState['instances']): Promise<void> {
  const open = state.deploy !== undefined && !isFinished(state.deploy.phase) ? state.deploy : undefined;
  // What served: the stable release, else (a first deploy stopped half-way) the candidate, if any instance of it took traffic.
  const serving = state.stable?.version ?? (open !== undefined && state.instances.some((instance) => instance.release === open.to && instance.status === 'ready') ? open.to : undefined);
  // A second `baton down` keeps the first one's record: by then nothing was serving.
  if (!isDown(state)) state.down = serving === undefined ? { atMs: Date.now() } : { atMs: Date.now(), release: serving };
  if (state.stable !== undefined) state.previous = state.stable;
  else if (serving !== undefined && open !== undefined) state.previous = open.candidate;
  delete state.stable;
  state.instances = kept;
  // A deploy still open ends here: there is nothing left to resume.
  if (open !== undefined) {
    open.phase = 'failed';
    open.reason = `${open.reason ? `${open.reason}; then ` : ''}the service was stopped (baton down)`;
    open.endedAtMs = Date.now();
  }
  await journal.write(state);
}

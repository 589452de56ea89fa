import { BatonError } from '@baton/lifecycle';
import { clearControl } from './control.js';
import type { ResolvedDeployConfig } from './deploy-config.js';
import { recordHistory } from './environments/record-history.js';
import { servicePlatform, type DeployCommandOptions } from './deployment.js';
import { createFileJournal } from './journal/file-journal.js';
import type { DeployEvent, InstanceRecord, Journal } from './model.js';
import { drainRouter } from './internal/drain-router.js';
import { serviceRedactor } from './internal/service-redactor.js';
import { connectRecordedRouter, recordedRouterKind, routerProcessRunning, statePaths, takeDownRouter } from './service-router.js';
import { isDown, isFinished, type ServiceState } from './service-state.js';

/**
 * `baton down`: takes every instance out of the router and waits until
 * nothing is in flight (up to `timeouts.drainMs`), then stops them all, stops the router and
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
    const configured = await servicePlatform(config);
    const platform = options.platform ?? configured;
    // The journal's instances, and any the platform knows that the journal does not (an orchestrator
    // that died between starting one and journaling it).
    const journaled = new Set((state?.instances ?? []).map((instance) => instance.id));
    const orphans = ((await (platform.instances ?? configured.instances)?.call(platform.instances ? platform : configured)) ?? []).filter((instance) => !journaled.has(instance.id));
    const all = [...(state?.instances ?? []), ...orphans];
    const redactor = serviceRedactor(config, state);
    const event = async (type: string, message: string, data?: Record<string, unknown>): Promise<void> => {
      const line: DeployEvent = { atMs: Date.now(), type, message: redactor.text(message), ...(data === undefined ? {} : { data }) };
      await journal.append(line);
      options.onEvent?.(line);
    };
    // The router lets go first, as the orchestrator's retire does: the platform promised the
    // instances (BATON_ROUTER_DRAINS_FIRST) that nothing is sent to them once SIGTERM comes.
    await drainFirst(config, all, (instance) => platform.isRunning(instance), event);
    // Every stop runs to its end; the ones that fail are kept in the state and reported below, never dropped.
    const results = await Promise.allSettled(
      all.map(async (instance) => {
        if (await platform.isRunning(instance)) await platform.stop(instance, { deadlineMs: config.timeouts.stopMs });
      }),
    );
    const failed = all
      .map((instance, index) => ({ instance, result: results[index] }))
      .flatMap(({ instance, result }) => (result?.status === 'rejected' ? [{ instance, error: redactor.text(result.reason instanceof Error ? result.reason.message : String(result.reason)) }] : []));
    // Records of processes that are gone (the configured platform's own, whatever platform ran them) go too.
    await configured.instances?.();
    let routerError: unknown;
    try {
      await takeDownRouter(config.stateDir, config.lookupFrom);
    } catch (error) {
      routerError = error;
    }
    await clearControl(config.stateDir);
    if (state !== undefined || failed.length > 0) {
      const kept = failed.map(({ instance }) => ({ ...instance, status: 'draining' as const }));
      await writeDown(journal, state ?? { service: config.service, instances: [], nextInstance: 1 }, kept);
      // A deploy that was still open ended here: the environment's history says so.
      await recordHistory(journal, config.stateDir, config.environment);
    }
    if (failed.length > 0) {
      for (const { instance, error } of failed) {
        const baseline = instance.role === 'baseline';
        await event('instance-stop-failed', `${instance.id} (${instance.release}${baseline ? ' baseline' : ''}) could not be stopped: ${error}.`, {
          id: instance.id,
          release: instance.release,
          ...(baseline ? { role: 'baseline' } : {}),
          error,
        });
      }
      throw new BatonError(
        'BATON_ERR_PLATFORM',
        `${failed.length} instance${failed.length === 1 ? '' : 's'} of ${config.service} could not be stopped (they stay in the state; run baton down again): ${failed.map(({ instance, error }) => `${instance.id}: ${error}`).join('; ')}`,
      );
    }
    if (routerError !== undefined) throw routerError;
    await event('down', `Stopped ${config.service}: no instance and no router left running.`);
  } finally {
    await lock.release();
  }
}

/**
 * Sets every backend of the service's router to drain and waits for what is
 * in flight. A router that is not running routes nothing: nothing to wait
 * for. One that runs but cannot be reached is said (its instances are
 * stopped anyway: the service is going down, and each one's own drain still
 * finishes the requests it holds).
 */
async function drainFirst(
  config: ResolvedDeployConfig,
  instances: readonly InstanceRecord[],
  isRunning: (instance: InstanceRecord) => boolean | Promise<boolean>,
  event: (type: string, message: string, data?: Record<string, unknown>) => Promise<void>,
): Promise<void> {
  if (!(await Promise.all(instances.map(isRunning))).some(Boolean)) return;
  let router;
  try {
    router = await connectRecordedRouter(config.stateDir, config.lookupFrom);
  } catch (error) {
    const kind = await recordedRouterKind(config.stateDir);
    const running = kind !== undefined && (await routerProcessRunning(kind, statePaths(config.stateDir).router, config.lookupFrom).catch(() => false));
    if (running) await event('router-unreachable', `The router could not be reached to drain the instances first (${error instanceof Error ? error.message : String(error)}); they are stopped anyway.`);
    return;
  }
  if (router === undefined) return;
  try {
    const { drained, drainMs } = await drainRouter(router, instances, {
      drainMs: config.timeouts.drainMs,
      metricsPath: config.paths.metrics,
      ...(config.metricsToken === undefined ? {} : { token: config.metricsToken }),
      isRunning,
    });
    await event(
      'drained',
      drained ? `Every instance is out of traffic with nothing in flight (${drainMs} ms).` : `Every instance is out of traffic; work was still in flight at the ${config.timeouts.drainMs} ms drain deadline.`,
      { drained, drainMs },
    );
  } catch (error) {
    await event('router-drain-failed', `The router did not take the instances out of traffic (${error instanceof Error ? error.message : String(error)}); they are stopped anyway.`);
  } finally {
    await router.close().catch(() => {});
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

import type { DeployRecord } from '../service-state.js';
import type { DeployContext } from './deploy-context.js';
import { stopInstance } from './instance-stop.js';
import { retire } from './retire.js';
import { scale } from './scale.js';

/**
 * A candidate's scale step, with the stable release's fresh baseline scaled
 * to `baseline` at the same time when the step carries it: both start
 * together, so the analysis compares processes of the same age. The step
 * ends when both have; a baseline that fails is only said (see `scale`),
 * while a candidate that fails cuts the baseline's starts short (their
 * processes killed) before the failure goes on to the rollback, so no
 * baseline instance comes up behind it.
 */
export async function scaleCandidate(ctx: DeployContext, record: DeployRecord, instances: number, baseline: number | undefined): Promise<void> {
  const stable = ctx.state.stable;
  // Only beside a canary of the stable release this deploy started from (a plan journaled by a
  // deploy over a release that is no longer stable starts no baseline of another).
  if (baseline === undefined || stable === undefined || stable.version !== record.from) return scale(ctx, record.candidate, instances);
  const candidate = scale(ctx, record.candidate, instances).catch((error: unknown) => {
    if (!ctx.watch.signal.aborted) ctx.watch.abort(error);
    throw error;
  });
  const [ofCandidate, ofBaseline] = await Promise.allSettled([candidate, scale(ctx, stable, baseline, 'baseline')]);
  if (ofCandidate.status === 'rejected') throw ofCandidate.reason;
  if (ofBaseline.status === 'rejected') throw ofBaseline.reason;
}

/**
 * Takes every baseline instance out of traffic and stops it: the ready ones
 * drain first like any instance, the others (starting, crashed but running)
 * are stopped and taken out of the router. The baseline never outlives the
 * canary: the promotion, the rollback and the end of a deploy all call this.
 */
export async function retireBaseline(ctx: DeployContext): Promise<void> {
  await Promise.all(
    ctx.baselineInstances().map(async (instance) => {
      if (instance.status === 'ready' || instance.status === 'draining') return retire(ctx, instance);
      if (instance.status === 'stopped') return;
      // Starting or crashed: nothing to drain, but make sure it is stopped (a platform resolves at once for one already gone) and out of the router.
      await stopInstance(ctx, instance);
      await ctx.router.set([{ id: instance.id, state: 'maint' }]).catch(() => {});
      await ctx.router.remove(instance.id).catch(() => {});
    }),
  );
}

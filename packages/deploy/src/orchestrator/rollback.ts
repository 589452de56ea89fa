import type { DeployRecord } from '../service-state.js';
import { retireBaseline } from './baseline.js';
import { newWatch, type DeployContext } from './deploy-context.js';
import { outcomeOf, recordEnd, type DeployOutcome } from './deploy-outcome.js';
import { dnsSwitchSettings } from '../dns/dns-switch-config.js';
import { awaitStragglers, restoreTtl } from './dns-switch.js';
import { ReleaseFailure } from './failures.js';
import { settleStops, stopInstance } from './instance-stop.js';
import { markDead, stopWatching } from './instance-watcher.js';
import { retire } from './retire.js';
import { scale } from './scale.js';
import { applyWeights } from './traffic.js';

/** Sends all traffic back to the stable release, then stops every candidate instance and the baseline beside them. */
export async function rollBack(ctx: DeployContext, unredacted: string): Promise<DeployOutcome> {
  const record = ctx.state.deploy as DeployRecord;
  // The reason is journaled, reported and shown by `baton status`: a start error quotes the service's last lines.
  const reason = ctx.redactor.text(unredacted);
  stopWatching(ctx);
  // Starts still under way are cut short (their processes killed) and waited for, so no instance
  // of the candidate comes up behind the rollback.
  ctx.watch.abort(new ReleaseFailure('rolling back'));
  await Promise.allSettled([...ctx.starting]);
  ctx.watch = newWatch();
  // The first reason is the one people need; a later abort or rollback request does not replace it.
  if (record.phase !== 'rolling-back' || record.reason === undefined) record.reason = reason;
  record.phase = 'rolling-back';
  await ctx.save();
  await ctx.event('rollback', `Rolling back ${record.to}: ${record.reason}`, { reason: record.reason });
  const stable = record.from === undefined ? undefined : ctx.state.stable;
  try {
    await markDead(ctx);
    // Traffic back first, to whatever stable instances are ready (the split sends everything to the
    // candidate only while no stable instance is ready); then the stable release back to strength.
    record.traffic = 0;
    await ctx.save();
    await applyWeights(ctx);
    // The stable release's own instances (never its baseline) back to strength; then the candidate and
    // the baseline beside it leave together: nothing is judged any more, and the baseline never outlives the canary.
    if (stable !== undefined) await scale(ctx, stable, ctx.config.instances);
    // By DNS, clients come back as their caches expire: the candidate's stack stays up until its traffic stops.
    if (ctx.stacks !== undefined && record.strategy.type === 'blue-green' && record.strategy.switch !== undefined) {
      const dns = dnsSwitchSettings(record.strategy.switch);
      await awaitStragglers(ctx, record.to, { holdMs: 0, marginMs: dns.marginMs, deadlineMs: dns.deadlineMs });
    }
    await Promise.all([
      retireBaseline(ctx),
      ...ctx.instancesOf(record.to).map(async (instance) => {
        if (instance.status === 'ready' || instance.status === 'draining') return retire(ctx, instance);
        if (instance.status === 'stopped') return;
        // Starting or crashed: nothing to drain, but make sure it is stopped and out of the router.
        await stopInstance(ctx, instance);
        await ctx.router.set([{ id: instance.id, state: 'maint' }]).catch(() => {});
        await ctx.router.remove(instance.id).catch(() => {});
      }),
    ]);
    await settleStops(ctx);
    if (record.strategy.type === 'blue-green' && record.strategy.switch !== undefined) await restoreTtl(ctx, record, dnsSwitchSettings(record.strategy.switch).ttl);
  } catch (error) {
    // Left `rolling-back`, not finished: the next `baton deploy` or `baton rollback` tries again.
    let detail = ctx.redactor.text(error instanceof Error ? error.message : String(error));
    try {
      await settleStops(ctx);
    } catch (more) {
      detail += `; then ${ctx.redactor.text(more instanceof Error ? more.message : String(more))}`;
    }
    await ctx.save();
    await ctx.event('rollback-failed', `The rollback of ${record.to} did not finish: ${detail}. Traffic stays where it is; run baton rollback again once the cause is fixed.`, { reason: record.reason, error: detail });
    const outcome = outcomeOf(ctx, record);
    outcome.phase = 'failed';
    outcome.reason = `${record.reason}; and the rollback did not finish: ${detail}`;
    return outcome;
  }
  record.phase = 'rolled-back';
  record.endedAtMs = ctx.now();
  await ctx.save();
  await recordEnd(ctx);
  await ctx.event(
    'rolled-back',
    stable === undefined ? `Rolled back: nothing was serving before ${record.to}, and it is stopped.` : `Rolled back: ${stable.version} serves all traffic; ${record.to} is stopped.`,
    { reason: record.reason },
  );
  return outcomeOf(ctx, record);
}

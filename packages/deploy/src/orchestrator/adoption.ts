import type { DeployRecord, TrackedInstance } from '../service-state.js';
import type { DeployContext } from './deploy-context.js';
import { releaseLabel, roleData } from './instance-role.js';
import { stopFailed, stopInstance } from './instance-stop.js';
import { markDead } from './instance-watcher.js';
import { retire } from './retire.js';

/**
 * Before any step: instances the journal lists are checked against the
 * platform (the dead ones are marked), and backends the router holds that
 * belong to no live instance (left by `baton down`, a crash, a hand edit)
 * are taken out of it, so no request is sent to a port nobody serves.
 * Returns the instances found dead.
 */
export async function adopt(ctx: DeployContext): Promise<TrackedInstance[]> {
  await stopOrphans(ctx);
  // Failed, yet running: a stop that failed for an instance that was never in traffic (a candidate
  // that did not get ready, one cut short by a rollback). Nothing else retries it. (`stopped` is
  // journaled only after a stop succeeded: a live pid there would be another process's.)
  for (const instance of ctx.state.instances) {
    if (instance.status !== 'failed' || !(await ctx.platform.isRunning(instance))) continue;
    const exit = await stopInstance(ctx, instance);
    if (exit !== undefined) {
      await ctx.event('instance-stopped', `${instance.id} (${releaseLabel(instance)}), which an earlier stop left running, is stopped.`, { id: instance.id, release: instance.release, ...roleData(instance), exitCode: exit.code, exitSignal: exit.signal });
    }
  }
  await removeStrayBackends(ctx);
  const lost = await markDead(ctx);
  for (const instance of ctx.state.instances) {
    // An instance left draining by the dead orchestrator finishes its retirement now.
    if (instance.status === 'draining') await retire(ctx, instance);
  }
  await ctx.save();
  return lost;
}

/** Orphans: started by an orchestrator that died before it could journal them. Never in the router. */
async function stopOrphans(ctx: DeployContext): Promise<void> {
  const known = new Set(ctx.state.instances.map((instance) => instance.id));
  for (const orphan of (await ctx.platform.instances?.()) ?? []) {
    if (known.has(orphan.id) || !(await ctx.platform.isRunning(orphan))) continue;
    try {
      await ctx.platform.stop(orphan, { deadlineMs: ctx.config.timeouts.stopMs });
    } catch (error) {
      // Never in the router: it takes no traffic, and the platform still lists it for the next try.
      await stopFailed(ctx, orphan, error);
      continue;
    }
    await ctx.event('instance-orphan-stopped', `${orphan.id} was running but never journaled (its orchestrator died while starting it); stopped.`, { id: orphan.id });
  }
}

async function removeStrayBackends(ctx: DeployContext): Promise<void> {
  const live = new Set(ctx.state.instances.filter((instance) => instance.status === 'ready' || instance.status === 'starting' || instance.status === 'draining').map((instance) => instance.id));
  for (const backend of await ctx.router.backends()) {
    if (live.has(backend.id)) continue;
    await ctx.router.set([{ id: backend.id, state: 'maint' }]);
    // Still finishing a request: out of traffic is what matters; it is removed next time.
    await ctx.router.remove(backend.id).catch(() => {});
    await ctx.event('backend-removed', `${backend.id} (${backend.release}) was in the router but is no instance of this service any more; removed.`, { id: backend.id });
  }
}

/**
 * Instances of neither release of this deploy (left by a deploy that could not finish its rollback)
 * leave first; so does any baseline instance: a new deploy has started none yet, and one left by
 * an earlier canary would be taken for this one's.
 */
export async function retireLeftovers(ctx: DeployContext, record: DeployRecord): Promise<void> {
  const leftovers = ctx.state.instances.filter((instance) => instance.status === 'ready' && (instance.role === 'baseline' || (instance.release !== record.to && instance.release !== record.from)));
  for (const instance of leftovers) {
    const why = instance.role === 'baseline' ? `is a baseline of ${instance.release} left by an earlier canary` : `belongs to neither ${record.from ?? '(no stable release)'} nor ${record.to}`;
    await ctx.event('instance-leftover', `${instance.id} ${why}; it leaves.`, { id: instance.id, release: instance.release, ...roleData(instance) });
    await retire(ctx, instance);
  }
}

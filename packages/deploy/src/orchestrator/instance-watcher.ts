import type { TrackedInstance } from '../service-state.js';
import { newWatch, type DeployContext } from './deploy-context.js';
import { baselineFailedMessage } from './instance-role.js';
import { applyWeights } from './traffic.js';

/** Starts a fresh watch for this run and follows every instance that should serve. */
export function watchInstances(ctx: DeployContext): void {
  ctx.watch = newWatch();
  for (const instance of ctx.state.instances) {
    if (instance.status === 'ready' || instance.status === 'starting') watchInstance(ctx, instance);
  }
}

/**
 * A candidate that exits while it should serve fails the release at once.
 * A stable instance that exits is taken out of traffic (it is not the
 * candidate's fault); the counts before the next step see it gone.
 */
export function watchInstance(ctx: DeployContext, instance: TrackedInstance): void {
  const record = ctx.state.deploy;
  if (record === undefined || ctx.exitSubscriptions.has(instance.id)) return;
  const candidate = instance.release === record.to;
  const unsubscribe = ctx.platform.onExit(instance, (exit) => {
    const before = instance.status;
    if (before !== 'ready' && before !== 'starting') return;
    instance.status = 'failed';
    const how = exit.signal === null ? `code ${exit.code}` : `signal ${exit.signal}`;
    // A platform that lost sight of the instance (its engine stopped answering) says so: "exited" would send people to the service's logs.
    const what =
      exit.lost !== undefined ? `instance ${instance.id} is lost: ${exit.lost}` : `instance ${instance.id} exited with ${how}${instance.logFile ? ` (log: ${instance.logFile})` : ''}`;
    if (instance.role === 'baseline') {
      // The stable release's baseline, not the candidate: said, out of traffic, and the canary goes on (its
      // analysis then compares it with the warm instances). One still starting is said by its start, which sees it gone.
      if (before === 'starting') return;
      void ctx.router
        .set([{ id: instance.id, state: 'maint' }])
        .then(() => applyWeights(ctx))
        .catch(() => {})
        .then(() => ctx.event('baseline-failed', baselineFailedMessage(ctx.state.deploy, instance.release, what), { id: instance.id, release: instance.release, role: 'baseline' }))
        // Only the journal itself failing is left; it fails the next step's save too.
        .catch(() => {});
      return;
    }
    if (candidate) {
      ctx.failRelease(what);
      // Out of traffic now, not once the rollback reaches it: until then every request the router
      // sends it fails (a dead container's published port may still accept and then reset), and
      // a health check takes seconds to notice. The rollback removes it for good.
      void ctx.router.set([{ id: instance.id, state: 'maint' }]).catch(() => {});
      return;
    }
    void ctx.router
      .set([{ id: instance.id, state: 'maint' }])
      .then(() => applyWeights(ctx))
      .then(
        () => ctx.event('instance-lost', `${what}; out of traffic.`, { id: instance.id, release: instance.release }),
        // The router refused: said, not swallowed; the next step's reconciliation takes it out.
        (error: unknown) =>
          ctx.event('instance-lost', `${what}; taking it out of traffic failed (${error instanceof Error ? error.message : String(error)}), retried at the next step.`, {
            id: instance.id,
            release: instance.release,
          }),
      )
      // Only the journal itself failing is left; it fails the next step's save too.
      .catch(() => {});
  });
  ctx.exitSubscriptions.set(instance.id, unsubscribe);
}

/** An instance Baton itself stops: its exit is expected, not a failure. */
export function unwatchInstance(ctx: DeployContext, id: string): void {
  ctx.exitSubscriptions.get(id)?.();
  ctx.exitSubscriptions.delete(id);
}

export function stopWatching(ctx: DeployContext): void {
  for (const unsubscribe of ctx.exitSubscriptions.values()) unsubscribe();
  ctx.exitSubscriptions.clear();
}

/**
 * Instances the journal says run (ready, starting, draining) whose process
 * is gone are marked failed and put out of traffic: the truth before any
 * count of ready instances. Returns them.
 */
export async function markDead(ctx: DeployContext): Promise<TrackedInstance[]> {
  const isLive = (instance: TrackedInstance): boolean => instance.status === 'ready' || instance.status === 'starting' || instance.status === 'draining';
  const live = ctx.state.instances.filter(isLive);
  const running = await Promise.all(live.map((instance) => ctx.platform.isRunning(instance)));
  // Still live after the wait, and marked at once: a candidate's scale and its baseline's run this
  // together, and each loss is said once.
  const lost = live.filter((instance, index) => !running[index] && isLive(instance));
  for (const instance of lost) instance.status = 'failed';
  for (const instance of lost) {
    await ctx.router.set([{ id: instance.id, state: 'maint' }]).catch(() => {});
    if (instance.role === 'baseline') {
      await ctx.event('baseline-failed', baselineFailedMessage(ctx.state.deploy, instance.release, `instance ${instance.id} of ${instance.release} is no longer running`), {
        id: instance.id,
        release: instance.release,
        role: 'baseline',
      });
    } else {
      await ctx.event('instance-lost', `${instance.id} (${instance.release}) is no longer running; out of traffic.`, { id: instance.id, release: instance.release });
    }
  }
  if (lost.length > 0) {
    await ctx.save();
    await applyWeights(ctx);
  }
  return lost;
}

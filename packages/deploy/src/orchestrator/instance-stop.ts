import type { InstanceExit, InstanceRecord } from '../model.js';
import type { TrackedInstance } from '../service-state.js';
import type { DeployContext } from './deploy-context.js';
import { releaseLabel, roleData } from './instance-role.js';
import { unwatchInstance } from './instance-watcher.js';

/**
 * Stops an instance that is out of traffic. A stop that fails is never
 * swallowed: it is journaled (`instance-stop-failed`), the instance stays in
 * the state as `draining` (out of traffic, to be stopped again by the next
 * deploy or `baton down`), and the outcome lists it. Resolves undefined then.
 */
export async function stopInstance(ctx: DeployContext, instance: TrackedInstance): Promise<InstanceExit | undefined> {
  unwatchInstance(ctx, instance.id);
  const before = instance.status;
  if (instance.status !== 'failed') instance.status = 'stopped';
  let exit: InstanceExit;
  try {
    exit = await ctx.platform.stop(instance, { deadlineMs: ctx.config.timeouts.stopMs });
  } catch (error) {
    // Was in the router: `draining` (out of traffic), retired again by the next deploy. Never routed: `failed`.
    instance.status = before === 'ready' || before === 'draining' ? 'draining' : 'failed';
    await ctx.save();
    await stopFailed(ctx, instance, error);
    return undefined;
  }
  await ctx.save();
  return exit;
}

export async function stopFailed(ctx: DeployContext, instance: Pick<InstanceRecord, 'id' | 'release' | 'role'>, error: unknown): Promise<void> {
  const detail = ctx.redactor.text(error instanceof Error ? error.message : String(error));
  ctx.stopFailures.push({ id: instance.id, release: instance.release, error: detail });
  await ctx.event('instance-stop-failed', `${instance.id} (${releaseLabel(instance)}) could not be stopped: ${detail}. It is out of traffic but may still run; the next deploy or baton down tries again.`, {
    id: instance.id,
    release: instance.release,
    ...roleData(instance),
    error: detail,
  });
}

/** Waits for every instance stopped in the background. */
export async function settleStops(ctx: DeployContext): Promise<void> {
  // Every stop settles before anything is decided; a failed stop is journaled by stopInstance, so what
  // can still reject here is the journal itself, and that must not pass unseen.
  let failure: unknown;
  while (ctx.pendingStops.length > 0) {
    for (const result of await Promise.allSettled(ctx.pendingStops.splice(0))) {
      if (result.status === 'rejected') failure ??= result.reason;
    }
  }
  if (failure !== undefined) throw failure;
}

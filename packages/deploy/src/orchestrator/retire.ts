import { instanceInFlight, sleep } from '../internal/instance-probes.js';
import type { InstanceExit } from '../model.js';
import type { TrackedInstance } from '../service-state.js';
import type { DeployContext } from './deploy-context.js';
import { roleData } from './instance-role.js';
import { stopInstance } from './instance-stop.js';
import { applyWeights } from './traffic.js';

/** Drain by fact: out of the router, wait until nothing is in flight there or in the instance, then stop it. */
export async function retire(ctx: DeployContext, instance: TrackedInstance): Promise<void> {
  const { drainMs: deadlineMs } = ctx.config.timeouts;
  instance.status = 'draining';
  await ctx.save();
  // Not in the router any more: an instance whose stop failed after it left (retired again now).
  const routed = (await ctx.router.backends()).some((backend) => backend.id === instance.id);
  // One batch: the others take over its share as it stops getting new requests.
  await applyWeights(ctx, routed ? [{ id: instance.id, state: 'drain', weight: 0 }] : []);
  const who = `${instance.id}${instance.role === 'baseline' ? ' (baseline)' : ''}`;
  await ctx.event('instance-draining', `${who} is out of traffic; waiting for its in-flight requests.`, { id: instance.id, release: instance.release, ...roleData(instance) });
  const started = ctx.now();
  let drained = false;
  while (ctx.now() - started < deadlineMs) {
    const atRouter = (await ctx.router.backends()).find((backend) => backend.id === instance.id)?.inFlight ?? 0;
    // The instance's own count only once the router's is 0: a scrape of its /metrics is the costly half. An
    // instance that is gone (or has no such metric) does not answer it: nothing of its own is then in flight.
    if (atRouter === 0 && ((await instanceInFlight(instance, ctx.config.paths.metrics, ctx.config.metricsToken)) ?? 0) === 0) {
      drained = true;
      break;
    }
    await sleep(ctx.pollMs);
  }
  const drainMs = ctx.now() - started;
  await ctx.event('instance-drained', drained ? `${who} has nothing in flight (${drainMs} ms).` : `${who} reached the ${deadlineMs} ms drain deadline with work in flight.`, {
    id: instance.id,
    release: instance.release,
    ...roleData(instance),
    drainMs,
    drained,
  });
  const stopped = async (exit: InstanceExit | undefined): Promise<void> => {
    // A failed stop was journaled as such: no `instance-stopped` for it.
    if (exit === undefined) return;
    await ctx.event(
      'instance-stopped',
      drained ? `${who} drained in ${drainMs} ms and stopped.` : `${who} still had work in flight at the ${deadlineMs} ms drain deadline; stopped anyway.`,
      { id: instance.id, release: instance.release, ...roleData(instance), drainMs, drained, exitCode: exit.code, exitSignal: exit.signal },
    );
  };
  if (!drained) {
    // Work still in flight: the router must keep the backend until the process is gone.
    const exit = await stopInstance(ctx, instance);
    if (routed) await ctx.router.set([{ id: instance.id, state: 'maint' }]);
    await removeBackend(ctx, instance.id);
    await stopped(exit);
    return;
  }
  // Drained: nothing can reach it any more, so the next batch need not wait for it to exit
  // (its own shutdown — propagation delay, hooks — runs in the background; the deploy ends only
  // once every such exit is in).
  if (routed) await ctx.router.set([{ id: instance.id, state: 'maint' }]);
  await removeBackend(ctx, instance.id);
  ctx.pendingStops.push(stopInstance(ctx, instance).then(stopped));
}

/**
 * Removes a backend out of traffic. A router may still count a session for
 * a moment after the process is gone (HAProxy does): retried briefly, and if
 * it still refuses, the backend stays in maintenance — no traffic — and the
 * next deploy's reconciliation removes it.
 */
async function removeBackend(ctx: DeployContext, id: string): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await ctx.router.remove(id);
      return;
    } catch (error) {
      if (attempt >= 10) {
        await ctx.event('backend-kept', `${id} could not be removed from the router (${error instanceof Error ? error.message : String(error)}); it stays in maintenance, out of traffic.`, { id });
        return;
      }
      await sleep(200);
    }
  }
}

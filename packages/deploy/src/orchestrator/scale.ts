import { probe, sleep } from '../internal/instance-probes.js';
import { unsealRelease } from '../journal-secrets.js';
import type { ReleaseSpec } from '../model.js';
import { secretValuesOf } from '../secrets.js';
import type { JournaledRelease, TrackedInstance } from '../service-state.js';
import type { DeployContext } from './deploy-context.js';
import { startFailure } from './failures.js';
import { stopInstance } from './instance-stop.js';
import { baselineFailedMessage, roleData } from './instance-role.js';
import { markDead, watchInstance } from './instance-watcher.js';
import { retire } from './retire.js';
import { applyWeights } from './traffic.js';

/**
 * Starts or retires instances of `release` until exactly `count` are ready:
 * of its own set, or with `role` `baseline` of its fresh baseline beside a
 * canary. A baseline instance that will not start or get ready fails
 * nothing: it is said (`baseline-failed`) and the scale goes on without it.
 */
export async function scale(ctx: DeployContext, release: ReleaseSpec, count: number, role?: 'baseline'): Promise<void> {
  const members = (): TrackedInstance[] => (role === 'baseline' ? ctx.baselineInstances() : ctx.instancesOf(release.version));
  // A dead instance is not ready, whatever the journal last said.
  await markDead(ctx);
  // Instances a dead orchestrator left starting: ready now, or failed.
  for (const instance of members().filter((candidate) => candidate.status === 'starting')) {
    await guarded(ctx, role, () => becomeReady(ctx, instance));
  }
  const ready = members().filter((instance) => instance.status === 'ready');
  if (ready.length < count) {
    const starts = Array.from({ length: count - ready.length }, () => {
      const start = guarded(ctx, role, () => startInstance(ctx, release, role));
      ctx.starting.add(start);
      void start.catch(() => {}).finally(() => ctx.starting.delete(start));
      return start;
    });
    await Promise.all(starts);
  } else if (ready.length > count) {
    // Retire the newest first: the oldest have the warmest caches and connection pools.
    const leaving = ready.slice(count);
    await Promise.all(leaving.map((instance) => retire(ctx, instance)));
  }
}

/**
 * Runs the start of an instance; for a baseline one, a failure is an event,
 * not an error: it is the stable release, not the candidate, and the
 * analysis then compares the candidate with the warm instances instead.
 */
async function guarded(ctx: DeployContext, role: 'baseline' | undefined, work: () => Promise<void>): Promise<void> {
  if (role !== 'baseline') return work();
  try {
    await work();
  } catch (error) {
    // Cut short by a rollback, an abort or an interruption: the deploy's own business, handled where it was decided.
    if (ctx.waitSignal().aborted) throw error;
    const detail = ctx.redactor.text(error instanceof Error ? error.message : String(error));
    const stable = ctx.state.stable?.version ?? 'the stable release';
    await ctx.event('baseline-failed', baselineFailedMessage(ctx.state.deploy, stable, detail, false), { release: stable, role: 'baseline', error: detail });
  }
}

async function startInstance(ctx: DeployContext, journaled: ReleaseSpec, role?: 'baseline'): Promise<void> {
  // Before an id is taken: a secret that cannot be found starts nothing.
  const release = await unsealed(ctx, journaled);
  // A baseline instance's id says what it is at a glance (v1-b7), in the router, the logs and `baton status`.
  const id = `${release.version}-${role === 'baseline' ? 'b' : ''}${ctx.state.nextInstance}`;
  ctx.state.nextInstance += 1;
  await ctx.save();
  let record;
  try {
    record = await ctx.platform.start(release, { id, signal: ctx.watch.signal });
  } catch (error) {
    throw startFailure(ctx.state.deploy, release, `instance ${id} did not start: ${error instanceof Error ? error.message : String(error)}`);
  }
  const instance: TrackedInstance = { ...record, status: 'starting' };
  if (role === 'baseline') instance.role = 'baseline';
  ctx.state.instances.push(instance);
  await ctx.save();
  // On a fleet, where it runs is what people look for first when it misbehaves.
  const where = instance.container === undefined ? '' : ` of ${instance.host} (container ${instance.container.id.slice(0, 12)} on engine ${instance.container.engine})`;
  const what = role === 'baseline' ? ` (baseline: ${release.version} started fresh beside the canary, to judge it against)` : '';
  await ctx.event('instance-started', `${id} started on port ${instance.port}${where}${what}.`, {
    id,
    release: release.version,
    ...roleData(instance),
    host: instance.host,
    port: instance.port,
    ...(instance.pid === undefined ? {} : { pid: instance.pid }),
    ...(instance.container === undefined ? {} : { container: instance.container.id, engine: instance.container.engine }),
  });
  watchInstance(ctx, instance);
  await becomeReady(ctx, instance);
}

/**
 * `release` with the secrets the journal keeps only as fingerprints filled
 * in again (see `journal-secrets.ts`), once per release and orchestrator;
 * a secret whose value is not the one the release was deployed with is
 * said in an event `secret-changed`, by name.
 */
async function unsealed(ctx: DeployContext, release: ReleaseSpec): Promise<ReleaseSpec> {
  const known = ctx.unsealed.get(release.version);
  if (known !== undefined) return known;
  const { release: runnable, changed } = unsealRelease(release, {
    config: ctx.config.release,
    environment: process.env,
    key: await ctx.sealKey(),
    // The config's own release is being deployed (or resumed); anything else, or a journaled release run as the config's (rollback after a finished deploy), is a rollback.
    command: release.version === ctx.config.release.version && (ctx.config.release as JournaledRelease).sealedEnv === undefined ? 'baton deploy' : 'baton rollback',
  });
  if (runnable !== release) ctx.redactor = ctx.redactor.with(secretValuesOf(runnable));
  ctx.unsealed.set(release.version, runnable);
  for (const { name, from } of changed) {
    await ctx.event(
      'secret-changed',
      `The secret ${name} of ${release.version} is not the value ${release.version} was deployed with; its instances get the one ${from === 'config' ? "in the config's release env" : "in the orchestrator's environment"}.`,
      { release: release.version, variable: name, from },
    );
  }
  return runnable;
}

/** Waits for readiness, then puts the instance in the router with its share of traffic. */
async function becomeReady(ctx: DeployContext, instance: TrackedInstance): Promise<void> {
  // From the spawn: starting the process is part of what a deploy waits for.
  const started = Math.min(instance.startedAtMs, ctx.now());
  const url = `${instance.url}${ctx.config.paths.readiness}`;
  for (;;) {
    ctx.waitSignal().throwIfAborted();
    // An instance that answers runs: the platform is asked only while it does not (on Docker that is an engine call per poll).
    if ((await probe(url)) === 200) break;
    if (!(await ctx.platform.isRunning(instance))) {
      instance.status = 'failed';
      await ctx.save();
      throw startFailure(ctx.state.deploy, instance, `instance ${instance.id} exited before it became ready${instance.logFile ? ` (log: ${instance.logFile})` : ''}`);
    }
    if (ctx.now() - started > ctx.config.timeouts.readyMs) {
      instance.status = 'failed';
      await ctx.save();
      await stopInstance(ctx, instance);
      throw startFailure(ctx.state.deploy, instance, `instance ${instance.id} was not ready within ${ctx.config.timeouts.readyMs} ms (${url} never answered 200)`);
    }
    await sleep(ctx.pollMs, ctx.waitSignal());
  }
  await ctx.router.add({ id: instance.id, release: instance.release, host: instance.host, port: instance.port });
  instance.status = 'ready';
  await ctx.save();
  await applyWeights(ctx);
  await ctx.event('instance-ready', `${instance.id}${instance.role === 'baseline' ? ' (baseline)' : ''} is ready and in the router (${Math.round(ctx.now() - started)} ms after start).`, {
    id: instance.id,
    release: instance.release,
    ...roleData(instance),
    readyMs: ctx.now() - started,
  });
}

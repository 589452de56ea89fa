import { backendSettings, type BackendSetting, type ServingInstance } from '../weights.js';
import { createGroupCommit } from '../internal/group-commit.js';
import type { DeployContext } from './deploy-context.js';
import { noteSwitches } from './dns-switch.js';

/**
 * Sets every serving instance's weight for the current split (plus `extra`
 * settings in the same batch). Calls made while one is setting weights go
 * together in the next (group commit): a fleet's batch of instances becoming
 * ready sets the weights twice, not once per instance, each time from the
 * state as it is then.
 */
export function applyWeights(ctx: DeployContext, extra: readonly BackendSetting[] = []): Promise<void> {
  let commit = committers.get(ctx);
  if (commit === undefined) {
    commit = createGroupCommit<readonly BackendSetting[]>((batch) => setWeights(ctx, batch.flat()));
    committers.set(ctx, commit);
  }
  return commit(extra);
}

const committers = new WeakMap<DeployContext, (extra: readonly BackendSetting[]) => Promise<void>>();

async function setWeights(ctx: DeployContext, extra: readonly BackendSetting[]): Promise<void> {
  const record = ctx.state.deploy;
  if (record === undefined) return;
  const serving: ServingInstance[] = ctx.state.instances
    .filter((instance) => instance.status === 'ready')
    .map((instance) => ({ id: instance.id, role: instance.role === 'baseline' ? 'baseline' : instance.release === record.to ? 'candidate' : 'stable' }));
  const settings = serving.length === 0 ? [] : backendSettings(record.traffic, serving);
  if (settings.length + extra.length === 0) return;
  // By DNS a release's share is the record's, not its routers': an instance with no share keeps serving in its
  // own stack's router, where clients holding the old address still arrive (only a retire drains it).
  const routed = ctx.stacks === undefined ? settings : settings.map((setting) => (setting.state === 'drain' ? { ...setting, state: 'ready' as const } : setting));
  await ctx.router.set([...routed, ...extra]);
  if (ctx.stacks !== undefined) await noteSwitches(ctx, ctx.stacks);
  // Shares per release, the baseline's apart: it is the stable release's code, but counted in the
  // stable release's share it would hide how much the warm instances still carry.
  const byRelease: Record<string, number> = {};
  let toBaseline: number | undefined;
  for (const setting of settings) {
    const instance = ctx.state.instances.find((candidate) => candidate.id === setting.id);
    if (instance?.role === 'baseline') toBaseline = (toBaseline ?? 0) + setting.weight;
    else byRelease[instance?.release ?? '?'] = (byRelease[instance?.release ?? '?'] ?? 0) + setting.weight;
  }
  const total = Object.values(byRelease).reduce((sum, weight) => sum + weight, toBaseline ?? 0);
  const percent = (weight: number): number => (total === 0 ? 0 : Math.round((1000 * weight) / total) / 10);
  const shares = Object.fromEntries(Object.entries(byRelease).map(([release, weight]) => [release, percent(weight)]));
  const split = Object.entries(shares).map(([release, share]) => `${release} ${share}%`);
  const baselineOf = record.from ?? ctx.state.stable?.version ?? '?';
  if (toBaseline !== undefined) split.push(`${baselineOf} (baseline) ${percent(toBaseline)}%`);
  await ctx.event('weights', split.length === 0 ? 'Traffic: no instance is ready to serve.' : `Traffic: ${split.join(', ')}.`, {
    shares,
    ...(toBaseline === undefined ? {} : { baseline: { release: baselineOf, share: percent(toBaseline) } }),
    backends: settings,
  });
}

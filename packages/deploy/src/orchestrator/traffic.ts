import { backendSettings, type BackendSetting, type ServingInstance } from '../weights.js';
import { createGroupCommit } from '../internal/group-commit.js';
import type { DeployContext } from './deploy-context.js';

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
    .map((instance) => ({ id: instance.id, role: instance.release === record.to ? 'candidate' : 'stable' }));
  const settings = serving.length === 0 ? [] : backendSettings(record.traffic, serving);
  if (settings.length + extra.length === 0) return;
  await ctx.router.set([...settings, ...extra]);
  const byRelease: Record<string, number> = {};
  for (const setting of settings) {
    const release = ctx.state.instances.find((instance) => instance.id === setting.id)?.release ?? '?';
    byRelease[release] = (byRelease[release] ?? 0) + setting.weight;
  }
  const total = Object.values(byRelease).reduce((sum, weight) => sum + weight, 0);
  const shares = Object.fromEntries(Object.entries(byRelease).map(([release, weight]) => [release, total === 0 ? 0 : Math.round((1000 * weight) / total) / 10]));
  const split = Object.entries(shares).map(([release, share]) => `${release} ${share}%`);
  await ctx.event('weights', split.length === 0 ? 'Traffic: no instance is ready to serve.' : `Traffic: ${split.join(', ')}.`, { shares, backends: settings });
}

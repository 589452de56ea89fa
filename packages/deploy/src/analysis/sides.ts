import type { InstanceRecord, Verdict } from '../model.js';
import type { WindowScrapes } from './window-scrapes.js';

/** The instances a window compares: the candidate's, and what it is held against. */
export interface Sides {
  candidate: string;
  baseline: string;
  candidateInstances: InstanceRecord[];
  baselineInstances: InstanceRecord[];
  /** `fresh`: the baseline started beside the canary; `warm`: the stable instances already serving; `none`: no baseline. */
  kind: NonNullable<Verdict['comparedWith']>['kind'];
}

/**
 * Picks the sides of a comparison. A fresh baseline (instances of the
 * baseline release with `role: 'baseline'`) is preferred as soon as one of
 * them could be counted: it started with the canary, so what differs is the
 * code, not the age of the process. Otherwise the warm instances of the
 * baseline release stand in, and the verdict says so.
 */
export function chooseSides(instances: readonly InstanceRecord[], scrapes: WindowScrapes, releases: { baseline: string; candidate: string }): Sides {
  const { baseline, candidate } = releases;
  const candidateInstances = instances.filter((instance) => instance.release === candidate && instance.role !== 'baseline');
  if (baseline === candidate) return { candidate, baseline, candidateInstances, baselineInstances: [], kind: 'none' };
  const counted = new Set(scrapes.counted.map(({ instance }) => instance.id));
  const fresh = instances.filter((instance) => instance.release === baseline && instance.role === 'baseline');
  if (fresh.some((instance) => counted.has(instance.id))) return { candidate, baseline, candidateInstances, baselineInstances: fresh, kind: 'fresh' };
  const warm = instances.filter((instance) => instance.release === baseline && instance.role !== 'baseline');
  return { candidate, baseline, candidateInstances, baselineInstances: warm, kind: warm.length === 0 ? 'none' : 'warm' };
}

/** Whether `instance` is on the side `members` lists. */
export function memberOf(members: readonly InstanceRecord[]): (instance: InstanceRecord) => boolean {
  const ids = new Set(members.map((member) => member.id));
  return (instance) => ids.has(instance.id);
}

/**
 * The sides when the baseline is an earlier window (blue before a blue/green
 * switch): the candidate as chosen, the baseline that window's instances of
 * the baseline release.
 */
export function earlierSides(sides: Sides, earlier: readonly InstanceRecord[]): Sides {
  const baselineInstances = earlier.filter((instance) => instance.release === sides.baseline);
  return { ...sides, baselineInstances, kind: baselineInstances.length === 0 ? 'none' : 'before' };
}

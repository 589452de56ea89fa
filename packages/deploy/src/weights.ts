import type { BackendState } from './model.js';

/** An instance that may get traffic, and which side of the deploy it is on. */
export interface ServingInstance {
  id: string;
  role: 'stable' | 'candidate';
}

/** The router settings of one instance. */
export interface BackendSetting {
  id: string;
  state: BackendState;
  weight: number;
}

/** HAProxy's largest weight; the built-in router uses the same range. */
const MAX_WEIGHT = 256;

/**
 * Turns a traffic split between releases into per-instance router weights.
 * `candidatePercent` is the candidate's share of requests, split evenly over
 * its instances (the stable share likewise); `'even'` gives every instance the
 * same weight. An instance whose share is zero is set to `drain` (no new
 * requests, in-flight ones finish) rather than removed.
 *
 * When one side has no instance its share goes to the other, so a split never
 * leaves the service with no backend to send a request to.
 *
 * @example
 * backendSettings(20, [{ id: 'v1-1', role: 'stable' }, { id: 'v1-2', role: 'stable' }, { id: 'v2-1', role: 'candidate' }])
 * // v1-1 and v1-2 weight 256 each (40% of requests each), v2-1 weight 128 (20%)
 */
export function backendSettings(candidatePercent: number | 'even', instances: readonly ServingInstance[]): BackendSetting[] {
  const stable = instances.filter((instance) => instance.role === 'stable');
  const candidate = instances.filter((instance) => instance.role === 'candidate');
  if (candidatePercent === 'even') return instances.map(({ id }) => ({ id, state: 'ready', weight: 100 }));
  let candidateShare = candidatePercent;
  if (candidate.length === 0) candidateShare = 0;
  else if (stable.length === 0) candidateShare = 100;
  // Percent of all requests for one instance of each side.
  const perCandidate = candidate.length === 0 ? 0 : candidateShare / candidate.length;
  const perStable = stable.length === 0 ? 0 : (100 - candidateShare) / stable.length;
  // Integer weights cannot express every split: try each top weight from 256 down to 128 and keep
  // the one whose rounded weights come closest to the asked split (5% over 5 instances against
  // 95% on one is 3 × 5 against 256 at the top, but 2 × 5 against 189 a little lower).
  const largest = Math.max(perCandidate, perStable);
  let best = { top: MAX_WEIGHT, error: Number.POSITIVE_INFINITY };
  for (let top = MAX_WEIGHT; top >= MAX_WEIGHT / 2 && largest > 0; top -= 1) {
    const scale = top / largest;
    const candidateWeight = weightOf(perCandidate, scale) * candidate.length;
    const stableWeight = weightOf(perStable, scale) * stable.length;
    const error = Math.abs((100 * candidateWeight) / (candidateWeight + stableWeight) - candidateShare);
    if (error < best.error - 1e-9) best = { top, error };
  }
  const scale = largest === 0 ? 0 : best.top / largest;
  const setting = (id: string, share: number): BackendSetting => {
    if (share <= 0) return { id, state: 'drain', weight: 0 };
    return { id, state: 'ready', weight: weightOf(share, scale) };
  };
  return instances.map(({ id, role }) => setting(id, role === 'candidate' ? perCandidate : perStable));
}

function weightOf(share: number, scale: number): number {
  return share <= 0 ? 0 : Math.max(1, Math.round(share * scale));
}

import type { BackendState } from './model.js';

/**
 * An instance that may get traffic, and which side of the deploy it is on:
 * the stable release's (warm) instances, the candidate's, or the stable
 * release's fresh baseline started beside a canary.
 */
export interface ServingInstance {
  id: string;
  role: 'stable' | 'candidate' | 'baseline';
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
 * A baseline instance gets what one candidate instance gets, so a baseline as
 * large as the candidate carries the same share and the two are judged on
 * equal traffic; it is taken from the stable release's share, and when that
 * is not enough (a candidate above 50%) the baseline gets what is left and the
 * warm stable instances nothing.
 *
 * When one side has no instance its share goes to the other (the stable
 * release's to its baseline first: the same release), so a split never
 * leaves the service with no backend to send a request to.
 *
 * @example
 * backendSettings(20, [{ id: 'v1-1', role: 'stable' }, { id: 'v1-2', role: 'stable' }, { id: 'v2-1', role: 'candidate' }])
 * // v1-1 and v1-2 weight 256 each (40% of requests each), v2-1 weight 128 (20%)
 * backendSettings(20, [{ id: 'v1-1', role: 'stable' }, { id: 'v2-3', role: 'candidate' }, { id: 'v1-b4', role: 'baseline' }])
 * // v1-1 60%, v2-3 20%, v1-b4 20%
 */
export function backendSettings(candidatePercent: number | 'even', instances: readonly ServingInstance[]): BackendSetting[] {
  if (candidatePercent === 'even') return instances.map(({ id }) => ({ id, state: 'ready', weight: 100 }));
  const count = { stable: 0, candidate: 0, baseline: 0 };
  for (const { role } of instances) count[role] += 1;
  // Percent of all requests for each side.
  const share = { stable: 0, candidate: 0, baseline: 0 };
  share.candidate = count.candidate === 0 ? 0 : Math.min(Math.max(candidatePercent, 0), 100);
  share.baseline = count.candidate === 0 ? 0 : Math.min((share.candidate / count.candidate) * count.baseline, 100 - share.candidate);
  share.stable = 100 - share.candidate - share.baseline;
  if (count.stable === 0) {
    if (count.baseline > 0) share.baseline += share.stable;
    else if (count.candidate > 0) share.candidate += share.stable;
    share.stable = 0;
  }
  // Percent of all requests for one instance of each side.
  const per = {
    stable: count.stable === 0 ? 0 : share.stable / count.stable,
    candidate: count.candidate === 0 ? 0 : share.candidate / count.candidate,
    baseline: count.baseline === 0 ? 0 : share.baseline / count.baseline,
  };
  const roles = ['stable', 'candidate', 'baseline'] as const;
  // Integer weights cannot express every split: try each top weight from 256 down to 128 and keep
  // the one whose rounded weights come closest to the asked split (5% over 5 instances against
  // 95% on one is 3 × 5 against 256 at the top, but 2 × 5 against 189 a little lower).
  const largest = Math.max(per.stable, per.candidate, per.baseline);
  let best = { top: MAX_WEIGHT, error: Number.POSITIVE_INFINITY };
  for (let top = MAX_WEIGHT; top >= MAX_WEIGHT / 2 && largest > 0; top -= 1) {
    const scale = top / largest;
    const weights = roles.map((role) => weightOf(per[role], scale) * count[role]);
    const total = weights.reduce((sum, weight) => sum + weight, 0);
    const error = roles.reduce((sum, role, index) => sum + Math.abs((100 * (weights[index] ?? 0)) / total - share[role]), 0);
    if (error < best.error - 1e-9) best = { top, error };
  }
  const scale = largest === 0 ? 0 : best.top / largest;
  return instances.map(({ id, role }): BackendSetting => {
    if (per[role] <= 0) return { id, state: 'drain', weight: 0 };
    return { id, state: 'ready', weight: weightOf(per[role], scale) };
  });
}

function weightOf(share: number, scale: number): number {
  return share <= 0 ? 0 : Math.max(1, Math.round(share * scale));
}

import type { Step } from './step.js';

/** A rolling deploy: replace instances in batches, both releases serving evenly meanwhile. */
export interface RollingStrategy {
  type: 'rolling';
  /** Extra candidate instances allowed above `instances` during the deploy; default 1. */
  maxSurge?: number;
  /** Instances that may be missing below `instances` during the deploy; default 0. */
  maxUnavailable?: number;
  /** Judge the candidate after each batch over this long (0: no analysis); default 0. */
  analysisMs?: number;
}

/**
 * Plans a rolling deploy of `instances` instances, Kubernetes' way: each batch
 * starts up to `maxSurge` candidates, then retires as many stable instances as
 * keeps at least `instances - maxUnavailable` serving. Traffic is spread evenly
 * over every ready instance, so the candidate's share grows batch by batch.
 *
 * @example
 * planRolling({ type: 'rolling', maxSurge: 1 }, 3)
 * // candidate 1, stable 2, candidate 2, stable 1, candidate 3, stable 0
 */
export function planRolling(strategy: RollingStrategy, instances: number): Step[] {
  const surge = strategy.maxSurge ?? 1;
  const unavailable = strategy.maxUnavailable ?? 0;
  const analysisMs = strategy.analysisMs ?? 0;
  const steps: Step[] = [{ kind: 'traffic', candidatePercent: 'even' }];
  let candidate = 0;
  let stable = instances;
  while (candidate < instances || stable > 0) {
    let progressed = false;
    // Start as many candidates as the surge allows (the total may reach instances + surge).
    const room = instances + surge - (candidate + stable);
    const next = Math.min(instances, candidate + Math.max(room, 0));
    if (next > candidate) {
      candidate = next;
      progressed = true;
      steps.push({ kind: 'scale', release: 'candidate', instances: candidate });
      if (analysisMs > 0) steps.push({ kind: 'analysis', durationMs: analysisMs });
    }
    // Retire stable instances while at least `instances - maxUnavailable` stay serving.
    const target = Math.min(stable, Math.max(instances - unavailable - candidate, 0));
    if (target < stable) {
      stable = target;
      progressed = true;
      steps.push({ kind: 'scale', release: 'stable', instances: stable });
    }
    // maxSurge 0 with maxUnavailable 0 can never move; the config check refuses it first.
    if (!progressed) throw new Error('planRolling: maxSurge and maxUnavailable are both 0, so no instance can ever be replaced.');
  }
  return steps;
}

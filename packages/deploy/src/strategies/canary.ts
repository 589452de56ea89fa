import type { Step } from './step.js';

/** One step of a canary, Argo Rollouts' vocabulary. */
export type CanaryStep =
  /** Send this percentage of requests (0–100) to the candidate. */
  | { setWeight: number }
  /** Wait this long; `{}` waits for `baton promote` (or `baton abort`). */
  | { pause: { durationMs?: number } }
  /** Judge the candidate against the stable release over this long. */
  | { analysis: { durationMs: number } };

/** A canary deploy: a share of traffic to the candidate, step by step, judged between steps. */
export interface CanaryStrategy {
  type: 'canary';
  steps: CanaryStep[];
  /**
   * Analysis after every `setWeight` below 100, over this long (0: only the
   * steps' own `analysis`); default 0.
   */
  analysisMs?: number;
}

/**
 * Plans a canary: before each weight, enough candidate instances to carry it
 * (`ceil(instances × weight / 100)`, at least one), so the candidate is never
 * asked to serve more than its instances' share; after the last step, the
 * candidate takes all traffic and the stable release is retired.
 *
 * @example
 * planCanary({ type: 'canary', steps: [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }] }, 3)
 */
export function planCanary(strategy: CanaryStrategy, instances: number): Step[] {
  const analysisMs = strategy.analysisMs ?? 0;
  const steps: Step[] = [];
  let candidates = 0;
  const scaleFor = (weight: number): void => {
    const needed = weight === 0 ? 0 : Math.min(instances, Math.max(1, Math.ceil((instances * weight) / 100)));
    if (needed > candidates) {
      candidates = needed;
      steps.push({ kind: 'scale', release: 'candidate', instances: candidates });
    }
  };
  for (const step of strategy.steps) {
    if ('setWeight' in step) {
      scaleFor(step.setWeight);
      steps.push({ kind: 'traffic', candidatePercent: step.setWeight });
      if (analysisMs > 0 && step.setWeight > 0 && step.setWeight < 100) steps.push({ kind: 'analysis', durationMs: analysisMs });
    } else if ('pause' in step) {
      steps.push(step.pause.durationMs === undefined ? { kind: 'pause' } : { kind: 'pause', durationMs: step.pause.durationMs });
    } else {
      steps.push({ kind: 'analysis', durationMs: step.analysis.durationMs });
    }
  }
  // Full promotion: every candidate instance up, all traffic on it, then the stable release retired.
  scaleFor(100);
  steps.push({ kind: 'traffic', candidatePercent: 100 });
  steps.push({ kind: 'scale', release: 'stable', instances: 0 });
  return steps;
}

import type { ShadowStepConfig } from '../shadow/shadow-step.js';
import type { Step } from './step.js';

/** One step of a canary, Argo Rollouts' vocabulary. */
export type CanaryStep =
  /** Send this percentage of requests (0–100) to the candidate. */
  | { setWeight: number }
  /** Wait this long; `{}` waits for `baton promote` (or `baton abort`). */
  | { pause: { durationMs?: number } }
  /** Judge the candidate against the stable release over this long. */
  | { analysis: { durationMs: number } }
  /** Copy live requests to the candidate and compare its answers with the stable release's, before it serves anyone (the built-in router only). */
  | { shadow: ShadowStepConfig };

/** A canary deploy: a share of traffic to the candidate, step by step, judged between steps. */
export interface CanaryStrategy {
  type: 'canary';
  steps: CanaryStep[];
  /**
   * Analysis after every `setWeight` below 100, over this long (0: only the
   * steps' own `analysis`); default 0.
   */
  analysisMs?: number;
  /**
   * Start a fresh baseline beside the canary (Kayenta's way): as many new
   * instances of the stable release as the candidate has, started with them
   * and given the same share of traffic each, so the analysis compares new
   * code with old code in equally fresh processes rather than with instances
   * warm from hours of traffic. Only when the plan has an analysis to judge
   * against it; retired when the candidate takes all traffic. Default true
   * (`false` judges against the warm instances and starts nothing extra).
   */
  baseline?: boolean;
}

/**
 * Plans a canary: before each weight, enough candidate instances to carry it
 * (`ceil(instances × weight / 100)`, at least one), so the candidate is never
 * asked to serve more than its instances' share; after the last step, the
 * candidate takes all traffic and the stable release is retired.
 *
 * With an analysis step and `baseline` not `false`, every scale step of the
 * candidate below 100% up to the last analysis also carries the baseline's
 * count (the same as the candidate's): both start together. The baseline is
 * retired right after the candidate takes all traffic, before the stable
 * release. After the last analysis nothing judges the baseline, so it grows
 * no more.
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
    } else if ('shadow' in step) {
      // The candidate runs, ready, with no share of the traffic: at least one instance, started before the copies.
      if (candidates === 0) {
        candidates = 1;
        steps.push({ kind: 'scale', release: 'candidate', instances: 1 });
      }
      const { durationMs, ...shadow } = step.shadow;
      steps.push({ kind: 'shadow', durationMs, shadow });
    } else if ('pause' in step) {
      steps.push(step.pause.durationMs === undefined ? { kind: 'pause' } : { kind: 'pause', durationMs: step.pause.durationMs });
    } else {
      steps.push({ kind: 'analysis', durationMs: step.analysis.durationMs });
    }
  }
  // The baseline is for an analysis to judge the candidate against while both share the traffic: it
  // follows the candidate's scale steps up to the last analysis run at a weight between 0 and 100
  // (at 100 the baseline would get nothing), and no further, since nothing judges it afterwards.
  let weight = 0;
  let lastAnalysis = -1;
  const splitBy: (number | undefined)[] = steps.map((step, index) => {
    if (step.kind === 'traffic' && typeof step.candidatePercent === 'number') weight = step.candidatePercent;
    if (step.kind === 'analysis' && weight > 0 && weight < 100) lastAnalysis = index;
    // The weight a candidate's scale step is for: the traffic step right after it.
    const next = steps[index + 1];
    return step.kind === 'scale' && next?.kind === 'traffic' && typeof next.candidatePercent === 'number' ? next.candidatePercent : undefined;
  });
  let baseline = false;
  if (strategy.baseline !== false) {
    for (const [index, step] of steps.entries()) {
      const forWeight = splitBy[index];
      if (index > lastAnalysis || step.kind !== 'scale' || step.release !== 'candidate' || forWeight === undefined || forWeight >= 100) continue;
      steps[index] = { ...step, baseline: step.instances };
      baseline = true;
    }
  }
  // Full promotion: every candidate instance up, all traffic on it, then the baseline and the stable release retired.
  scaleFor(100);
  steps.push({ kind: 'traffic', candidatePercent: 100 });
  if (baseline) steps.push({ kind: 'scale', release: 'baseline', instances: 0 });
  steps.push({ kind: 'scale', release: 'stable', instances: 0 });
  return steps;
}

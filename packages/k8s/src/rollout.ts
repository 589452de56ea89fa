import { Rollout } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/Rollout';
import type { ICanaryStep } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/CanaryStep';
import type { IRolloutStrategy } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/RolloutStrategy';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { Step } from '@baton/deploy';
import { NAME_LABEL, ROLE_LABEL, objectMeta } from './workloads.js';

/** A Baton step's window as Argo Rollouts and PromQL write durations: `60s`, `1500ms`. */
export function duration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** The AnalysisTemplate judging a window of this length. */
export type TemplateFor = (windowMs: number) => string;

/** Argo's canary steps from Baton's, and what could not be carried over. */
export interface CanarySteps {
  steps: ICanaryStep[];
  notes: string[];
}

/**
 * Baton's canary plan as Argo Rollouts steps. A weight is a `setWeight`
 * (Argo scales the canary to the same `ceil(replicas × weight)` pods Baton
 * starts); a pause is a pause; an analysis is an `experiment` that starts the
 * fresh baseline — as many pods of the stable release as the canary has, from
 * its own ReplicaSet spec, labelled `baton-role: baseline` — and runs the
 * analysis beside it until the analysis completes, or, without a baseline
 * (`strategy.baseline: false`), an inline `analysis` against the stable pods.
 * The last weight, 100%, is Argo's own promotion at the end of the steps.
 */
export function canarySteps(plan: readonly Step[], templateFor: TemplateFor, options: { trafficRouting: boolean }): CanarySteps {
  const steps: ICanaryStep[] = [];
  const notes: string[] = [];
  let baseline = 0;
  let weight = 0;
  for (const step of plan) {
    switch (step.kind) {
      case 'scale':
        // Argo sizes the canary from the weight; only the baseline's count is Baton's to carry.
        if (step.release === 'baseline') baseline = step.instances;
        else if (step.release === 'candidate' && step.baseline !== undefined) baseline = step.baseline;
        break;
      case 'traffic':
        if (step.candidatePercent === 'even' || step.candidatePercent >= 100) break;
        weight = step.candidatePercent;
        steps.push({ setWeight: weight });
        break;
      case 'pause':
        steps.push({ pause: step.durationMs === undefined ? {} : { duration: duration(step.durationMs) } });
        break;
      case 'analysis': {
        const templateName = templateFor(step.durationMs);
        if (baseline > 0) {
          steps.push({
            experiment: {
              templates: [
                {
                  name: 'baseline',
                  specRef: 'stable',
                  replicas: baseline,
                  metadata: { labels: { [ROLE_LABEL]: 'baseline' } },
                  // With traffic routing the baseline's share is set as the canary's; without, it is its share of the pods.
                  ...(options.trafficRouting ? { weight } : {}),
                },
              ],
              // The experiment lasts as long as the analysis: started with the baseline, judged after the window.
              analyses: [{ name: 'judge', templateName, requiredForCompletion: true }],
            },
          });
        } else {
          steps.push({ analysis: { templates: [{ templateName }] } });
        }
        break;
      }
      case 'hold':
        break;
    }
  }
  if (baseline > 0 && !options.trafficRouting) {
    notes.push('Without kubernetes.trafficRouting, weights are shares of pods (the root Service spreads requests over every ready pod): the canary and its baseline each get their pods\' share, which Baton sets exactly.');
  }
  return { steps, notes };
}

/** What every Rollout of the service has: its name, pods and how many. */
interface RolloutOf {
  service: string;
  name: string;
  namespace: string | undefined;
  replicas: number;
  template: IPodTemplateSpec;
}

function rollout(options: RolloutOf, strategy: IRolloutStrategy): Rollout {
  return new Rollout({
    metadata: objectMeta(options.service, options.name, options.namespace),
    spec: { replicas: options.replicas, selector: { matchLabels: { [NAME_LABEL]: options.service } }, template: options.template, strategy },
  });
}

/**
 * A canary Rollout: Baton's steps, the stable and canary Services Argo
 * narrows to each side's pods, and each side's pods labelled with their role
 * for the analysis to tell them apart.
 */
export function canaryRollout(options: RolloutOf & { steps: ICanaryStep[]; stableService: string; canaryService: string; trafficRouting?: Record<string, unknown> }): Rollout {
  return rollout(options, {
    canary: {
      stableService: options.stableService,
      canaryService: options.canaryService,
      canaryMetadata: { labels: { [ROLE_LABEL]: 'canary' } },
      stableMetadata: { labels: { [ROLE_LABEL]: 'stable' } },
      ...(options.trafficRouting === undefined ? {} : { trafficRouting: options.trafficRouting }),
      steps: options.steps,
    },
  });
}

/**
 * A blue/green Rollout: green starts behind the preview Service, the active
 * Service switches once green is ready, blue stays up for the rollback window,
 * and the analysis after the switch compares green with what blue served before it.
 */
export function blueGreenRollout(options: RolloutOf & { activeService: string; previewService: string; rollbackWindowMs: number; postPromotionTemplate?: string }): Rollout {
  return rollout(options, {
    blueGreen: {
      activeService: options.activeService,
      previewService: options.previewService,
      autoPromotionEnabled: true,
      scaleDownDelaySeconds: Math.ceil(options.rollbackWindowMs / 1000),
      ...(options.postPromotionTemplate === undefined ? {} : { postPromotionAnalysis: { templates: [{ templateName: options.postPromotionTemplate }] } }),
    },
  });
}

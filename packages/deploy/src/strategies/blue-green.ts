import type { Step } from './step.js';

/** A blue/green deploy: the whole candidate set up and verified, then all traffic at once. */
export interface BlueGreenStrategy {
  type: 'blue-green';
  /** After the switch, judge the candidate over this long (0: none); default 0. */
  analysisMs?: number;
  /** Keep the stable release running out of traffic this long after the switch, for an instant rollback; default 30 s. */
  rollbackWindowMs?: number;
}

/**
 * Plans a blue/green deploy: start the full candidate set (each gets traffic
 * only once ready), switch every request to it in one step, keep the stable
 * release warm through the rollback window, then retire it.
 */
export function planBlueGreen(strategy: BlueGreenStrategy, instances: number): Step[] {
  const steps: Step[] = [
    { kind: 'traffic', candidatePercent: 0 },
    { kind: 'scale', release: 'candidate', instances },
    { kind: 'traffic', candidatePercent: 100 },
  ];
  const analysisMs = strategy.analysisMs ?? 0;
  if (analysisMs > 0) steps.push({ kind: 'analysis', durationMs: analysisMs });
  const holdMs = strategy.rollbackWindowMs ?? 30_000;
  if (holdMs > 0) steps.push({ kind: 'hold', durationMs: holdMs });
  steps.push({ kind: 'scale', release: 'stable', instances: 0 });
  return steps;
}

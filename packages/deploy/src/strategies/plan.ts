import { planBlueGreen, type BlueGreenStrategy } from './blue-green.js';
import { planCanary, type CanaryStrategy } from './canary.js';
import { planRolling, type RollingStrategy } from './rolling.js';
import type { Step } from './step.js';

/** How a deploy moves traffic from the stable release to the candidate. */
export type Strategy = RollingStrategy | CanaryStrategy | BlueGreenStrategy;

/**
 * The steps of a deploy. With no stable release running (the first deploy of
 * a service) every strategy is the same: start the instances, send them all
 * traffic.
 */
export function planDeploy(strategy: Strategy, instances: number, options: { hasStable: boolean }): Step[] {
  if (!options.hasStable) {
    return [
      { kind: 'traffic', candidatePercent: 100 },
      { kind: 'scale', release: 'candidate', instances },
    ];
  }
  switch (strategy.type) {
    case 'rolling':
      return planRolling(strategy, instances);
    case 'canary':
      return planCanary(strategy, instances);
    case 'blue-green':
      return planBlueGreen(strategy, instances);
  }
}

import { planBlueGreen, type BlueGreenStrategy } from './blue-green.js';
import { planCanary, type CanaryStrategy } from './canary.js';
import { planRolling, type RollingStrategy } from './rolling.js';
import type { Step } from './step.js';

/** How a deploy moves traffic from the stable release to the candidate. */
export type Strategy = RollingStrategy | CanaryStrategy | BlueGreenStrategy;

/**
 * The steps of a deploy. With no stable release running (the first deploy of
 * a service) every strategy is the same: start the instances — each takes
 * all the traffic there is to share once it is ready — and end with all
 * traffic on them.
 */
export function planDeploy(strategy: Strategy, instances: number, options: { hasStable: boolean }): Step[] {
  if (!options.hasStable) {
    return [
      { kind: 'scale', release: 'candidate', instances },
      { kind: 'traffic', candidatePercent: 100 },
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

/** The first line of a deploy, for people: what it moves, by which strategy — or, for a first deploy, what it does. */
export function describeDeploy(deploy: { to: string; from?: string | undefined; strategy: Strategy; instances: number; steps: readonly Step[] }): string {
  if (deploy.from === undefined) {
    return `Deploying ${deploy.to}, a first deploy (nothing serves yet): starting ${deploy.instances} instance${deploy.instances === 1 ? '' : 's'} of ${deploy.to}, each taking traffic once it is ready.`;
  }
  return `Deploying ${deploy.to} over ${deploy.from} (${deploy.strategy.type}, ${deploy.steps.length} steps).`;
}

import type { Strategy } from './plan.js';

/**
 * The deploy policies people know from other platforms (Elastic Beanstalk,
 * Heroku), each a preset over Baton's strategies: `strategy: { preset:
 * 'eb:rolling', batchSize: 2 }`. Resolved with the environment's instance count.
 */
export function resolvePresetStrategy(input: Record<string, unknown>, instances: number, problems: string[]): Strategy | undefined {
  problems.push(`strategy.preset: not supported yet; got ${JSON.stringify(input['preset'])} (for ${instances} instances)`);
  return undefined;
}

/** A preset as a config names it (see {@link resolvePresetStrategy}). */
export interface StrategyPreset {
  preset: string;
  [setting: string]: unknown;
}

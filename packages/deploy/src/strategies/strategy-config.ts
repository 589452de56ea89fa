import { describe, integer, isObject, unknownKeys } from '../internal/config-values.js';
import { resolveShadowStep } from '../shadow/shadow-step.js';
import { resolveDnsSwitch } from '../dns/dns-switch-config.js';
import type { BlueGreenStrategy } from './blue-green.js';
import type { CanaryStep, CanaryStrategy } from './canary.js';
import type { Strategy } from './plan.js';
import { resolvePresetStrategy } from './presets.js';

/** Checks a config's `strategy` (or preset, resolved for `instances`); problems go to `problems`. Default: rolling, one at a time. */
export function resolveStrategy(input: unknown, instances: number, problems: string[]): Strategy | undefined {
  if (input === undefined) return { type: 'rolling', maxSurge: 1, maxUnavailable: 0 };
  // A platform policy people know (Elastic Beanstalk, Heroku), as a preset over the strategies below.
  if (isObject(input) && 'preset' in input) return resolvePresetStrategy(input, instances, problems);
  if (!isObject(input)) {
    problems.push(`strategy: an object with type rolling, canary or blue-green; got ${describe(input)}`);
    return undefined;
  }
  const strategy = input as { type?: unknown } & Record<string, unknown>;
  switch (strategy.type) {
    case 'rolling': {
      unknownKeys(strategy, ['type', 'maxSurge', 'maxUnavailable', 'analysisMs'], 'strategy.', problems);
      const maxSurge = integer(strategy.maxSurge, 'strategy.maxSurge', 1, 0, 64, problems);
      const maxUnavailable = integer(strategy.maxUnavailable, 'strategy.maxUnavailable', 0, 0, 64, problems);
      if (maxSurge === 0 && maxUnavailable === 0) problems.push('strategy: maxSurge and maxUnavailable cannot both be 0 (nothing could ever be replaced)');
      return { type: 'rolling', maxSurge, maxUnavailable, analysisMs: integer(strategy.analysisMs, 'strategy.analysisMs', 0, 0, 3_600_000, problems) };
    }
    case 'canary': {
      unknownKeys(strategy, ['type', 'steps', 'analysisMs', 'baseline'], 'strategy.', problems);
      // A string "false" taken for true would start processes the user turned off: only a boolean is accepted.
      if (strategy.baseline !== undefined && typeof strategy.baseline !== 'boolean') {
        problems.push(`strategy.baseline: true (a fresh baseline of the stable release beside the canary, for its analysis; the default) or false (judge against the warm instances); got ${describe(strategy.baseline)}`);
      }
      const steps = strategy.steps;
      if (!Array.isArray(steps) || steps.length === 0) {
        problems.push('strategy.steps: a non-empty array of { setWeight }, { pause: { durationMs? } }, { analysis: { durationMs } } or { shadow: { durationMs } }');
        return undefined;
      }
      const resolved: CanaryStep[] = [];
      steps.forEach((step: unknown, index) => {
        const where = `strategy.steps[${index}]`;
        const kinds = isObject(step) ? Object.keys(step) : [];
        if (kinds.length > 1) {
          problems.push(`${where}: one kind per step (setWeight, pause, analysis or shadow); got ${kinds.join(' and ')}`);
          return;
        }
        if (isObject(step) && 'setWeight' in step) {
          const weight = step.setWeight;
          if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > 100) problems.push(`${where}.setWeight: a percentage from 0 to 100; got ${describe(weight)}`);
          else resolved.push({ setWeight: weight });
        } else if (isObject(step) && 'pause' in step && isObject(step.pause)) {
          const durationMs = step.pause.durationMs;
          if (durationMs === undefined) resolved.push({ pause: {} });
          else resolved.push({ pause: { durationMs: integer(durationMs, `${where}.pause.durationMs`, 0, 0, 86_400_000, problems) } });
        } else if (isObject(step) && 'shadow' in step) {
          resolved.push({ shadow: resolveShadowStep(step.shadow, `${where}.shadow`, problems) });
        } else if (isObject(step) && 'analysis' in step && isObject(step.analysis)) {
          resolved.push({ analysis: { durationMs: integer(step.analysis.durationMs, `${where}.analysis.durationMs`, 10_000, 100, 3_600_000, problems) } });
        } else {
          problems.push(`${where}: one of { setWeight: 20 }, { pause: {} }, { pause: { durationMs: 30000 } }, { analysis: { durationMs: 30000 } }, { shadow: { durationMs: 60000 } }; got ${describe(step)}`);
        }
      });
      const canary: CanaryStrategy = { type: 'canary', steps: resolved, analysisMs: integer(strategy.analysisMs, 'strategy.analysisMs', 0, 0, 3_600_000, problems) };
      // Left out when not set: the plan's default (true) stands, and a resolved config says only what was written.
      if (typeof strategy.baseline === 'boolean') canary.baseline = strategy.baseline;
      return canary;
    }
    case 'blue-green': {
      unknownKeys(strategy, ['type', 'analysisMs', 'rollbackWindowMs', 'switch'], 'strategy.', problems);
      const blueGreen: BlueGreenStrategy = {
        type: 'blue-green',
        analysisMs: integer(strategy.analysisMs, 'strategy.analysisMs', 0, 0, 3_600_000, problems),
        rollbackWindowMs: integer(strategy.rollbackWindowMs, 'strategy.rollbackWindowMs', 30_000, 0, 86_400_000, problems),
      };
      const dnsSwitch = resolveDnsSwitch(strategy.switch, problems);
      if (dnsSwitch !== undefined) blueGreen.switch = dnsSwitch;
      return blueGreen;
    }
    default:
      problems.push(`strategy.type: one of rolling, canary, blue-green; got ${describe(strategy.type)}`);
      return undefined;
  }
}

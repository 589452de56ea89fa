import type { Strategy } from './plan.js';
import { describe } from '../internal/config-values.js';

/**
 * A batch of instances as Elastic Beanstalk sizes it: a count (its
 * `BatchSizeType: Fixed`) or a percentage of the instances as a string,
 * `'30%'` (`Percentage`), rounded up to whole instances.
 */
export type PresetBatchSize = number | `${number}%`;

/** Settings every preset takes. */
interface PresetCommon {
  /** Judge the new release by its metrics over this long at the strategy's analysis points (0: none); default 0. */
  analysisMs?: number;
}

/**
 * Elastic Beanstalk's *All at once*: every instance gets the new version at
 * the same moment. In Baton: blue/green with no rollback window — a full new
 * set is started beside the old one (no outage), then all traffic moves at once.
 */
export interface EbAllAtOncePreset extends PresetCommon {
  preset: 'eb:all-at-once';
}

/**
 * Elastic Beanstalk's *Rolling*: batches of `batchSize` instances replaced
 * one after the other, capacity lower by a batch meanwhile. In Baton: rolling
 * with `maxSurge: 0`, `maxUnavailable: batchSize` — each batch is drained out
 * of the router before it is stopped, and its replacements start then.
 */
export interface EbRollingPreset extends PresetCommon {
  preset: 'eb:rolling';
  /** Instances per batch, fewer than `instances`; default `'30%'`. */
  batchSize?: PresetBatchSize;
}

/**
 * Elastic Beanstalk's *Rolling with additional batch*: a batch of new
 * instances first, so capacity never drops. In Baton: rolling with
 * `maxSurge: batchSize`, `maxUnavailable: 0`.
 */
export interface EbRollingWithAdditionalBatchPreset extends PresetCommon {
  preset: 'eb:rolling-with-additional-batch';
  /** Instances per batch, at most `instances`; default `'30%'`. */
  batchSize?: PresetBatchSize;
}

/**
 * Elastic Beanstalk's *Immutable*: a full new set beside the old one, then
 * the old one terminated. In Baton: rolling with `maxSurge: instances`, so
 * both sets serve together until the old one is drained.
 */
export interface EbImmutablePreset extends PresetCommon {
  preset: 'eb:immutable';
}

/**
 * Elastic Beanstalk's *Traffic splitting*: `percent` of requests to the new
 * release for `evaluationMs`, then all of them. In Baton: a canary judged by
 * metrics analysis over `evaluationMs`, rolled back automatically when it fails.
 */
export interface EbTrafficSplittingPreset extends PresetCommon {
  preset: 'eb:traffic-splitting';
  /** Share of requests (1–99) the new release gets while it is evaluated (EB's `NewVersionPercent`); default 10. */
  percent?: number;
  /** How long the split is judged, in ms (EB's `EvaluationTime`, in minutes there); default 300000 (5 minutes). */
  evaluationMs?: number;
}

/**
 * Heroku's *preboot*: new dynos started, traffic switched to them once they
 * are up, the old ones then stopped. In Baton: blue/green with no rollback
 * window — the switch happens once every new instance is ready.
 */
export interface HerokuPrebootPreset extends PresetCommon {
  preset: 'heroku:preboot';
}

/**
 * A deploy policy of another platform as a config names it,
 * `strategy: { preset: 'eb:rolling', batchSize: 2 }`; each becomes one of
 * Baton's strategies (see {@link resolvePresetStrategy}).
 */
export type StrategyPreset = EbAllAtOncePreset | EbRollingPreset | EbRollingWithAdditionalBatchPreset | EbImmutablePreset | EbTrafficSplittingPreset | HerokuPrebootPreset;

type PresetName = StrategyPreset['preset'];

/** What a preset's resolver gets: the settings as written, the instance count, where problems go, and `analysisMs` checked. */
interface PresetContext {
  input: Record<string, unknown>;
  instances: number;
  problems: string[];
  analysisMs: number;
}

const DEFAULT_BATCH_SIZE = '30%';
const MAX_ANALYSIS_MS = 3_600_000;

/** Every preset: its settings besides `preset` and `analysisMs`, and the strategy it becomes. */
const PRESETS: Readonly<Record<PresetName, { settings: readonly string[]; resolve(context: PresetContext): Strategy | undefined }>> = {
  // No outage, unlike EB's in-place update: the new set starts beside the old and takes all traffic at once.
  'eb:all-at-once': { settings: [], resolve: ({ analysisMs }) => ({ type: 'blue-green', analysisMs, rollbackWindowMs: 0 }) },
  'eb:rolling': {
    settings: ['batchSize'],
    resolve: (context) => {
      const batch = batchOf(context, 'below-instances');
      // EB's shape: no extra instance; a batch of old instances leaves (drained first), its replacements start.
      return batch === undefined ? undefined : { type: 'rolling', maxSurge: 0, maxUnavailable: batch, analysisMs: context.analysisMs };
    },
  },
  'eb:rolling-with-additional-batch': {
    settings: ['batchSize'],
    resolve: (context) => {
      const batch = batchOf(context, 'up-to-instances');
      return batch === undefined ? undefined : { type: 'rolling', maxSurge: batch, maxUnavailable: 0, analysisMs: context.analysisMs };
    },
  },
  // Both sets serve together (evenly) for a moment, as EB's temporary Auto Scaling group does behind the same load balancer.
  'eb:immutable': { settings: [], resolve: ({ instances, analysisMs }) => ({ type: 'rolling', maxSurge: instances, maxUnavailable: 0, analysisMs }) },
  'eb:traffic-splitting': {
    settings: ['percent', 'evaluationMs'],
    resolve: ({ input, problems, analysisMs }) => {
      const percent = integerSetting(input.percent, 'percent', 10, 1, 99, problems, 'a percentage of requests for the new release while it is evaluated (EB\'s NewVersionPercent; at 100 nothing is left to compare it with: use eb:immutable)');
      const evaluationMs = integerSetting(input.evaluationMs, 'evaluationMs', 300_000, 100, MAX_ANALYSIS_MS, problems, 'how long the split is judged, in ms (EB\'s EvaluationTime, 5 minutes by default)');
      if (percent === undefined || evaluationMs === undefined) return undefined;
      // No final { setWeight: 100 }: every canary ends with the candidate taking all traffic and the stable release retired.
      // No fresh baseline: EB judges the new instances against the ones already serving, and the preset is EB's exact shape.
      return { type: 'canary', steps: [{ setWeight: percent }, { analysis: { durationMs: evaluationMs } }], analysisMs, baseline: false };
    },
  },
  // Heroku switches after the new dynos are up; Baton switches once each is ready by its readiness probe.
  'heroku:preboot': { settings: [], resolve: ({ analysisMs }) => ({ type: 'blue-green', analysisMs, rollbackWindowMs: 0 }) },
};

const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/**
 * The Baton strategy a platform's deploy policy becomes, for `instances`
 * instances: `eb:all-at-once` and `heroku:preboot` → blue/green without a
 * rollback window; `eb:rolling` and `eb:rolling-with-additional-batch` →
 * rolling in batches of `batchSize`; `eb:immutable` → rolling with a full
 * surge; `eb:traffic-splitting` → a canary judged over `evaluationMs`. Every
 * preset takes `analysisMs`. A bad setting, an unknown one or an unknown
 * preset is pushed to `problems` (naming its field and what is accepted) and
 * the result is undefined.
 *
 * @example
 * resolvePresetStrategy({ preset: 'eb:rolling-with-additional-batch', batchSize: 2 }, 5, problems)
 * // { type: 'rolling', maxSurge: 2, maxUnavailable: 0, analysisMs: 0 }
 */
export function resolvePresetStrategy(input: Record<string, unknown>, instances: number, problems: string[]): Strategy | undefined {
  const name = input['preset'];
  if (typeof name !== 'string' || !isPresetName(name)) {
    problems.push(`strategy.preset: one of ${PRESET_NAMES.join(', ')}; got ${describe(name)}`);
    return undefined;
  }
  const preset = PRESETS[name];
  const accepted = ['preset', ...preset.settings, 'analysisMs'];
  const before = problems.length;
  for (const key of Object.keys(input)) {
    if (!accepted.includes(key)) problems.push(`strategy.${key}: not a setting of the ${name} preset; accepted: ${accepted.join(', ')}`);
  }
  const analysisMs = integerSetting(input['analysisMs'], 'analysisMs', 0, 0, MAX_ANALYSIS_MS, problems, 'ms of metrics analysis at the strategy\'s analysis points (0: none)');
  const strategy = analysisMs === undefined ? undefined : preset.resolve({ input, instances, problems, analysisMs });
  return problems.length > before ? undefined : strategy;
}

function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(PRESETS, name);
}

/**
 * `batchSize` in instances: a count, or a percentage rounded up (at least
 * one). `below-instances` (eb:rolling takes a batch out of service): a
 * percentage below 100 is capped at `instances - 1`, and a batch of every
 * instance is refused, since nothing would serve.
 */
function batchOf({ input, instances, problems }: PresetContext, limit: 'below-instances' | 'up-to-instances'): number | undefined {
  const value = input['batchSize'] ?? DEFAULT_BATCH_SIZE;
  const given = input['batchSize'] === undefined ? ` (the default, for ${instances} instance${instances === 1 ? '' : 's'})` : '';
  const percent = typeof value === 'string' ? /^(\d{1,3})%$/.exec(value) : null;
  let batch: number;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1) {
    batch = value;
  } else if (percent !== null && Number(percent[1]) >= 1 && Number(percent[1]) <= 100) {
    const share = Number(percent[1]);
    batch = Math.max(1, Math.ceil((instances * share) / 100));
    // A percentage below 100 never means every instance, whatever the rounding.
    if (limit === 'below-instances' && share < 100) batch = Math.min(batch, instances - 1);
  } else {
    problems.push(`strategy.batchSize: a number of instances (an integer from 1) or a percentage of them from '1%' to '100%' (EB's Fixed or Percentage), like 2 or '30%'; got ${describe(value)}`);
    return undefined;
  }
  if (limit === 'below-instances' && (batch >= instances || batch < 1)) {
    problems.push(
      `strategy.batchSize: fewer than instances (${instances}): eb:rolling takes each batch out of service while it is replaced, and a batch of every instance would leave nothing serving (Elastic Beanstalk's outage, which Baton does not take); for a whole new set at once use eb:immutable or eb:all-at-once, to keep capacity eb:rolling-with-additional-batch; got ${describe(value)}${given}`,
    );
    return undefined;
  }
  if (batch > instances) {
    problems.push(`strategy.batchSize: at most instances (${instances}); got ${describe(value)}`);
    return undefined;
  }
  return batch;
}

function integerSetting(value: unknown, key: string, fallback: number, min: number, max: number, problems: string[], what: string): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problems.push(`strategy.${key}: an integer from ${min} to ${max}, ${what}; got ${describe(value)}`);
    return undefined;
  }
  return value;
}


import { compareSnapshots, type GroupWindow } from '@baton/metrics';
import type { Verdict } from '../model.js';
import type { ResolvedOptions } from './analysis-options.js';
import { judgeable, type JudgeInput } from './judge-input.js';
import { memberOf } from './sides.js';
import { formatCount, formatMs, formatPercent, formatPoints, formatQuantile, quantileKey } from './verdict-format.js';
import { snapshotsOf } from './window-scrapes.js';

/**
 * Today's threshold analysis, kept as `method: 'thresholds'`: the candidate's
 * whole release against the baseline's, as Argo Rollouts and Flagger judge.
 *
 * - `fail` when, with at least `minRequests` requests to the candidate, its
 *   error rate (5xx) is above `maxErrorRate`, or above the baseline's by more
 *   than `maxErrorRateIncrease`, or its latency quantile is above
 *   `maxLatencyRatio` × the baseline's and by `minLatencyIncreaseMs`
 *   (compared only when both have `minRequests` observations).
 * - `inconclusive` when nothing can be judged (see `judgeable`).
 * - `pass` otherwise. With no baseline only the absolute limit applies.
 *
 * Blind to the mix of routes: a canary that got more fast requests looks
 * faster. The statistical judge compares route by route.
 */
export function thresholdVerdict(input: JudgeInput, config: ResolvedOptions): Verdict {
  const t = config.thresholds;
  const { sides } = input;
  const { candidate, baseline } = sides;
  const fails: string[] = [];
  const problems: string[] = [];
  const key = quantileKey(t.latencyQuantile);
  const groupOf = (members: typeof sides.candidateInstances, release: string): GroupWindow | undefined => {
    if (members.length === 0) return undefined;
    const { befores, afters } = snapshotsOf(input.scrapes, memberOf(members));
    try {
      return compareSnapshots(befores, afters, { groupBy: 'release', quantiles: [t.latencyQuantile], filter: input.keep }).get(release);
    } catch (error) {
      problems.push(`The metrics could not be compared: ${error instanceof Error ? error.message : String(error)}.`);
      return undefined;
    }
  };
  const cand = groupOf(sides.candidateInstances, candidate);
  const base = sides.kind === 'none' ? undefined : groupOf(sides.baselineInstances, baseline);
  const figures = (group: GroupWindow | undefined): Verdict['releases'][string] => ({
    requests: group?.requests ?? 0,
    errors: group?.errors ?? 0,
    errorRate: group?.errorRate ?? 0,
    requestRate: group?.requestRate ?? 0,
    latency: group?.latency[key],
  });
  const releases: Verdict['releases'] = { [baseline]: figures(base), [candidate]: figures(cand) };
  const { missing, reasons } = judgeable(input, config, cand?.requests ?? 0);
  missing.push(...problems);

  if (cand !== undefined && cand.requests >= t.minRequests) {
    const candErrors = `${formatPercent(cand.errorRate)} errors (${formatCount(cand.errors)} of ${formatCount(cand.requests)})`;
    if (cand.errorRate > t.maxErrorRate) fails.push(`${candidate}: ${candErrors}; the limit is ${formatPercent(t.maxErrorRate)}.`);
    const baseUsable = base !== undefined && base.requests >= t.minRequests;
    if (baseUsable) {
      const increase = cand.errorRate - base.errorRate;
      const line = `${candidate}: ${candErrors} against ${baseline}'s ${formatPercent(base.errorRate)} (${formatCount(base.errors)} of ${formatCount(base.requests)}); the limit is +${formatPoints(t.maxErrorRateIncrease)} points`;
      if (increase > t.maxErrorRateIncrease + 1e-12) fails.push(`${line}.`);
      else if (cand.errorRate <= t.maxErrorRate) reasons.push(`${line} and ${formatPercent(t.maxErrorRate)} at most: within both.`);
    } else {
      if (sides.kind !== 'none') reasons.push(`${baseline} got ${formatCount(base?.requests ?? 0)} requests, fewer than ${t.minRequests}: ${candidate}'s error rate is held to the absolute limit only.`);
      if (cand.errorRate <= t.maxErrorRate) reasons.push(`${candidate}: ${candErrors}, within the limit of ${formatPercent(t.maxErrorRate)}.`);
    }

    // Latency: both sides need enough observations, or one slow request decides.
    const q = `p${formatQuantile(t.latencyQuantile)}`;
    const candLatency = cand.latency[key];
    const baseLatency = base?.latency[key];
    if (base === undefined || !baseUsable) {
      if (sides.kind !== 'none') reasons.push(`${q} latency was not compared: ${baseline} has too few requests.`);
    } else if (candLatency === undefined || baseLatency === undefined || cand.latencyObservations < t.minRequests || base.latencyObservations < t.minRequests) {
      reasons.push(`${q} latency was not compared: ${candidate} has ${formatCount(cand.latencyObservations)} and ${baseline} ${formatCount(base.latencyObservations)} timed requests, ${t.minRequests} each are needed.`);
    } else {
      // Slower by the ratio AND by a difference people notice: both, or a cold instance's first requests decide.
      const limit = Math.max(t.maxLatencyRatio * Math.max(baseLatency, config.latencyFloorSeconds), baseLatency + t.minLatencyIncreaseMs / 1000);
      const floorNote = baseLatency < config.latencyFloorSeconds ? `, ${baseline}'s latency counted as the ${formatMs(config.latencyFloorSeconds)} floor` : '';
      const line = `${candidate}: ${q} latency ${formatMs(candLatency)} against ${baseline}'s ${formatMs(baseLatency)}; the limit is ${t.maxLatencyRatio}× and +${t.minLatencyIncreaseMs} ms (${formatMs(limit)}${floorNote})`;
      if (candLatency > limit) fails.push(`${line}.`);
      else reasons.push(`${line}: within it.`);
    }
  }

  const outcome: Verdict['outcome'] = fails.length > 0 ? 'fail' : missing.length > 0 ? 'inconclusive' : 'pass';
  // The deciding findings first: what failed, else what was missing, then the rest.
  return {
    outcome,
    reasons: [...fails, ...missing, ...reasons],
    releases,
    atMs: input.atMs,
    latencyQuantile: t.latencyQuantile,
    method: 'thresholds',
    comparedWith: { kind: sides.kind, release: baseline, instances: sides.baselineInstances.map((instance) => instance.id) },
  };
}

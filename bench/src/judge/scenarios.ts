// What the judge bench compares: scenarios (how the candidate differs from
// the baseline, if at all) and judges (which analysis, which margins).
import { createMetricsAnalysis, type Analysis, type MetricsAnalysisOptions } from '@baton/deploy';
import { DEFAULT_MIX, type RouteMix } from './batch.js';
import type { InstanceEnv } from './instances.js';

/** One scenario: the releases' configuration and load, and what a right judge says. */
export interface Scenario {
  /** Short, for BENCH_JUDGE_SCENARIOS and the console. */
  id: string;
  /** The row label in RESULTS.md. */
  label: string;
  /** `healthy`: every fail is a false positive; `regression`: every fail is a detection. */
  kind: 'healthy' | 'regression';
  candidate: InstanceEnv;
  baseline: InstanceEnv;
  /** Route mix of each side's requests; default {@link DEFAULT_MIX}. */
  candidateMix?: RouteMix;
  baselineMix?: RouteMix;
  /**
   * Start these sides' instances afresh for every run (their first requests
   * in the window are then the cold ones); default: once per scenario,
   * warmed up before the first run.
   */
  freshEachRun?: readonly ('baseline' | 'candidate')[];
  /**
   * For a healthy scenario: whether its fail rate counts against the ≤ 5%
   * target. Default true; false where the candidate really does serve worse
   * for a while (a cold start against a warm baseline): that is the set-up's
   * fault, which a fresh baseline fixes, not the judge's.
   */
  inTarget?: boolean;
  /** For a regression: what was injected, to set beside each judge's margin. */
  change?: { errors: number } | { latencyRatio: number };
}

const COLD = { factor: 4, settleRequests: 200 };

export const SCENARIOS: readonly Scenario[] = [
  { id: 'aa', label: 'A/A: identical releases', kind: 'healthy', baseline: {}, candidate: {} },
  {
    id: 'aa-mix',
    label: 'A/A, different route mix (baseline 70/28/2% of /fast, /items/:id, /slow; candidate 45/35/20%)',
    kind: 'healthy',
    baseline: {},
    candidate: {},
    baselineMix: { fast: 0.7, items: 0.28, slow: 0.02 },
    candidateMix: { fast: 0.45, items: 0.35, slow: 0.2 },
  },
  {
    id: 'aa-cold',
    label: `A/A, candidate started fresh each run beside a warm baseline (cold start ${COLD.factor}× decaying over ${COLD.settleRequests} requests)`,
    kind: 'healthy',
    baseline: { coldStart: COLD },
    candidate: { coldStart: COLD },
    freshEachRun: ['candidate'],
    inTarget: false,
  },
  {
    id: 'aa-fresh',
    label: 'A/A, both started fresh each run (a fresh baseline beside the canary, same cold start)',
    kind: 'healthy',
    baseline: { coldStart: COLD },
    candidate: { coldStart: COLD },
    freshEachRun: ['baseline', 'candidate'],
  },
  ...[0.005, 0.01, 0.02].map(
    (rate): Scenario => ({
      id: `errors+${rate * 100}`,
      label: `errors +${rate * 100} point${rate === 0.01 ? '' : 's'} (every route, ${rate * 100}% of requests answered 500)`,
      kind: 'regression',
      baseline: {},
      candidate: { faults: { '*': { errorRate: rate } } },
      change: { errors: rate },
    }),
  ),
  ...[1.1, 1.25, 1.5].map(
    (factor): Scenario => ({
      id: `latency+${Math.round((factor - 1) * 100)}`,
      label: `latency +${Math.round((factor - 1) * 100)}% on /items/:id only`,
      kind: 'regression',
      baseline: {},
      candidate: { faults: { '/items/:id': { latencyFactor: factor } } },
      change: { latencyRatio: factor },
    }),
  ),
];

/** A judge: a name for the table and the analysis options it is made with. */
export interface JudgeSpec {
  id: string;
  label: string;
  /** The `method` the verdicts should report; a verdict reporting another (or none) is noted. */
  method: 'statistics' | 'thresholds';
  options: MetricsAnalysisOptions;
}

/** Low enough that every run is judged: each route gets at least ~150 requests a side (/slow at 15% of 1,000). */
const MIN_REQUESTS = 50;

export const JUDGES: readonly JudgeSpec[] = [
  { id: 'statistics', label: 'statistics (default margins)', method: 'statistics', options: withMethod('statistics', { thresholds: { minRequests: MIN_REQUESTS } }) },
  { id: 'thresholds', label: 'thresholds (today’s analysis)', method: 'thresholds', options: withMethod('thresholds', { thresholds: { minRequests: MIN_REQUESTS } }) },
  {
    id: 'statistics-tight',
    label: 'statistics, tight margins (latency ×1.1 and +5 ms, errors +0.5 points)',
    method: 'statistics',
    options: withMethod('statistics', { thresholds: { minRequests: MIN_REQUESTS, maxLatencyRatio: 1.1, minLatencyIncreaseMs: 5, maxErrorRateIncrease: 0.005 } }),
  },
];

/** The analysis options of a judge: its method and thresholds. */
function withMethod(method: 'statistics' | 'thresholds', options: MetricsAnalysisOptions): MetricsAnalysisOptions {
  return { ...options, method };
}

export function createJudge(spec: JudgeSpec): Analysis {
  return createMetricsAnalysis(spec.options);
}

export function mixOf(scenario: Scenario, side: 'baseline' | 'candidate'): RouteMix {
  return (side === 'baseline' ? scenario.baselineMix : scenario.candidateMix) ?? DEFAULT_MIX;
}

/** The defaults of AnalysisThresholds that the margins column needs (not exported by @baton/deploy). */
const DEFAULT_MARGINS = { maxErrorRateIncrease: 0.01, maxLatencyRatio: 1.5, minLatencyIncreaseMs: 50 };

/**
 * The injected change beside the judge's margin, e.g. `+1 pt vs +1 pt` or
 * `×1.25 vs ×1.5 and +50 ms`: a change below the margin is one the judge is
 * meant to let through, so its fails there are noise, not detection.
 */
export function changeVsMargin(scenario: Scenario, judge: JudgeSpec): string {
  const t = { ...DEFAULT_MARGINS, ...judge.options.thresholds };
  if (scenario.change === undefined) return '';
  if ('errors' in scenario.change) return `+${scenario.change.errors * 100} pt vs +${t.maxErrorRateIncrease * 100} pt`;
  return `×${scenario.change.latencyRatio} vs ×${t.maxLatencyRatio} and +${t.minLatencyIncreaseMs} ms`;
}

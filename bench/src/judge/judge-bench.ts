// The judge bench: per scenario, two instances of v1 (the baseline) and two
// of v2 (the candidate) of the canary-service fixture; per run, every judge's
// begin(), one bounded batch of requests to both releases, and — once every
// request completed — every judge's judge(). All judges see the same requests.
import { Agent } from 'node:http';
import { loadavg } from 'node:os';
import type { Analysis, AnalysisWindow, InstanceRecord, Verdict } from '@baton/deploy';
import { sendBatch, type BatchResult } from './batch.js';
import { InstancePool, type RunningInstance } from './instances.js';
import { createJudge, mixOf, type JudgeSpec, type Scenario } from './scenarios.js';

export interface JudgeBenchOptions {
  scenarios: readonly Scenario[];
  judges: readonly JudgeSpec[];
  /** Runs per scenario. */
  runs: number;
  /** Requests per side per run. */
  requestsPerSide: number;
  /** Requests in flight at once, both sides together. */
  concurrency: number;
  /** A scenario starts no new run after this many seconds (its row then says how many ran). */
  scenarioBudgetSeconds: number;
  log: (line: string) => void;
}

/** What one judge said over a scenario's runs. */
export interface JudgeTally {
  judge: string;
  pass: number;
  fail: number;
  inconclusive: number;
  /** judge() or begin() threw: not a verdict. */
  errors: number;
  /** What failed, counted: `/items/:id latency`, `errors`, ... */
  findings: Record<string, number>;
  /** The `method` the verdicts reported (`none` when absent), counted. */
  methods: Record<string, number>;
  /** First error message, if any. */
  firstError?: string;
  /** Reasons of the first inconclusive verdict, to say why. */
  firstInconclusive?: string;
  /** The deciding reasons of the first few failing verdicts (for false positives: what the judge saw). */
  failExamples: string[];
}

export interface ScenarioResult {
  scenario: Scenario;
  runs: number;
  /** Seconds the scenario took, start-up included. */
  seconds: number;
  tallies: JudgeTally[];
  /** Requests per side over all runs, and those without a 200 or 500 answer. */
  requests: { baseline: number; candidate: number; unanswered: number; otherStatuses: Record<string, number> };
  /** Mean duration of a run's batch, ms. */
  meanBatchMs: number;
  /** Set when the scenario stopped early: why. */
  stopped?: string;
  /** The machine's load average (1 min) when the scenario started and ended: other work on a shared machine shows in the latencies. */
  load: { before: number; after: number };
}

export interface JudgeBenchResult {
  options: Omit<JudgeBenchOptions, 'log' | 'scenarios' | 'judges'>;
  judges: readonly JudgeSpec[];
  scenarios: ScenarioResult[];
}

export const WARMUP_REQUESTS_PER_INSTANCE = 300;

export async function runJudgeBench(options: JudgeBenchOptions): Promise<JudgeBenchResult> {
  const pool = new InstancePool();
  const results: ScenarioResult[] = [];
  try {
    for (const scenario of options.scenarios) {
      results.push(await runScenario(pool, scenario, options));
    }
  } finally {
    await pool.close();
  }
  return {
    options: { runs: options.runs, requestsPerSide: options.requestsPerSide, concurrency: options.concurrency, scenarioBudgetSeconds: options.scenarioBudgetSeconds },
    judges: options.judges,
    scenarios: results,
  };
}

async function runScenario(pool: InstancePool, scenario: Scenario, options: JudgeBenchOptions): Promise<ScenarioResult> {
  const started = performance.now();
  const loadBefore = loadavg()[0] ?? 0;
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const tallies: JudgeTally[] = options.judges.map((judge) => ({ judge: judge.id, pass: 0, fail: 0, inconclusive: 0, errors: 0, findings: {}, methods: {}, failExamples: [] }));
  const requests: ScenarioResult['requests'] = { baseline: 0, candidate: 0, unanswered: 0, otherStatuses: {} };
  const fresh = new Set(scenario.freshEachRun ?? []);
  const sides = { baseline: { release: 'v1', env: scenario.baseline }, candidate: { release: 'v2', env: scenario.candidate } } as const;
  let serial = 0;
  const startSide = async (side: 'baseline' | 'candidate'): Promise<RunningInstance[]> =>
    Promise.all([1, 2].map(() => pool.start(`${sides[side].release}-${(serial += 1)}`, sides[side].release, sides[side].env)));

  const running: Record<'baseline' | 'candidate', RunningInstance[]> = { baseline: [], candidate: [] };
  let runs = 0;
  let batchMs = 0;
  let stopped: string | undefined;
  try {
    for (const side of ['baseline', 'candidate'] as const) if (!fresh.has(side)) running[side] = await startSide(side);
    // Warm the long-lived instances (JIT, connections, a cold start) before the first window.
    const warm = (['baseline', 'candidate'] as const).filter((side) => !fresh.has(side));
    if (warm.length > 0) {
      await sendBatch(
        warm.map((side) => ({ instances: running[side].map((i) => i.record), requests: WARMUP_REQUESTS_PER_INSTANCE * running[side].length, mix: mixOf(scenario, side) })),
        { concurrency: options.concurrency, agent },
      );
    }

    for (let run = 0; run < options.runs; run += 1) {
      if ((performance.now() - started) / 1000 > options.scenarioBudgetSeconds) {
        stopped = `stopped after ${run} runs: the scenario's budget of ${options.scenarioBudgetSeconds} s was spent`;
        options.log(`  ${scenario.id}: ${stopped}`);
        break;
      }
      if (fresh.size > 0) {
        const sidesAnew = [...fresh];
        await Promise.all(sidesAnew.flatMap((side) => running[side].map((instance) => instance.stop())));
        const started = await Promise.all(sidesAnew.map((side) => startSide(side)));
        sidesAnew.forEach((side, i) => (running[side] = started[i] as RunningInstance[]));
      }
      const instances: InstanceRecord[] = [...running.baseline, ...running.candidate].map((instance) => instance.record);
      // A new analysis object per run, as each deploy makes its own; begin() of each scrapes every instance.
      const judges = options.judges.map((spec) => createJudge(spec));
      const windows = await beginAll(judges, instances);
      const batch: BatchResult = await sendBatch(
        (['baseline', 'candidate'] as const).map((side) => ({ instances: running[side].map((i) => i.record), requests: options.requestsPerSide, mix: mixOf(scenario, side) })),
        { concurrency: options.concurrency, agent },
      );
      batchMs += batch.durationMs;
      countRequests(requests, batch);
      for (const [index, judge] of judges.entries()) {
        const tally = tallies[index] as JudgeTally;
        const window = windows[index] as AnalysisWindow | Error;
        let verdict: Verdict;
        try {
          if (window instanceof Error) throw window;
          verdict = await judge.judge(window, instances, { baseline: 'v1', candidate: 'v2' });
        } catch (error) {
          tally.errors += 1;
          tally.firstError ??= error instanceof Error ? error.message : String(error);
          continue;
        }
        record(tally, verdict);
      }
      runs += 1;
      if (runs % 10 === 0 || runs === options.runs) {
        options.log(`  ${scenario.id}: ${runs}/${options.runs} runs, ${tallies.map((t) => `${t.judge} ${t.fail} fail`).join(', ')}`);
      }
    }
  } finally {
    await Promise.all([...running.baseline, ...running.candidate].map((instance) => instance.stop()));
    agent.destroy();
  }
  const result: ScenarioResult = {
    scenario,
    runs,
    seconds: (performance.now() - started) / 1000,
    tallies,
    requests,
    meanBatchMs: runs > 0 ? batchMs / runs : 0,
    load: { before: loadBefore, after: loadavg()[0] ?? 0 },
  };
  if (stopped !== undefined) result.stopped = stopped;
  return result;
}

async function beginAll(judges: readonly Analysis[], instances: readonly InstanceRecord[]): Promise<(AnalysisWindow | Error)[]> {
  const windows: (AnalysisWindow | Error)[] = [];
  for (const judge of judges) {
    try {
      windows.push(await judge.begin(instances));
    } catch (error) {
      windows.push(error instanceof Error ? error : new Error(String(error)));
    }
  }
  return windows;
}

function countRequests(requests: ScenarioResult['requests'], batch: BatchResult): void {
  const [baseline, candidate] = batch.sides;
  requests.baseline += baseline?.sent ?? 0;
  requests.candidate += candidate?.sent ?? 0;
  for (const side of batch.sides) {
    requests.unanswered += side.noResponse;
    for (const [status, count] of Object.entries(side.statuses)) {
      if (status !== '200' && status !== '500') requests.otherStatuses[status] = (requests.otherStatuses[status] ?? 0) + count;
    }
  }
}

/** Counts a verdict: its outcome, the method it reports, and for a fail what failed. */
function record(tally: JudgeTally, verdict: Verdict): void {
  tally[verdict.outcome] += 1;
  const method = verdict.method ?? 'none';
  tally.methods[method] = (tally.methods[method] ?? 0) + 1;
  if (verdict.outcome === 'inconclusive') tally.firstInconclusive ??= verdict.reasons.slice(0, 2).join(' ');
  if (verdict.outcome !== 'fail') return;
  if (tally.failExamples.length < 3) {
    const routes = verdict.routes?.filter((route) => route.outcome === 'fail').map((route) => route.summary) ?? [];
    tally.failExamples.push((routes.length > 0 ? routes : verdict.reasons.slice(0, 1)).join(' '));
  }
  for (const finding of findingsOf(verdict)) tally.findings[finding] = (tally.findings[finding] ?? 0) + 1;
}

/**
 * What failed in a verdict: per route and test for the statistical judge
 * (`/items/:id latency`), else `errors` / `latency` from the deciding
 * reasons of the whole-release analysis.
 */
export function findingsOf(verdict: Verdict): string[] {
  const routes = verdict.routes?.filter((route) => route.outcome === 'fail') ?? [];
  if (routes.length > 0) {
    return routes.flatMap((route) => {
      const tests = [route.errors?.failed ? 'errors' : undefined, route.latency?.failed ? 'latency' : undefined].filter((test) => test !== undefined);
      return (tests.length > 0 ? tests : ['?']).map((test) => `${route.route} ${test}`);
    });
  }
  const found = new Set<string>();
  for (const reason of verdict.reasons) {
    // The deciding reasons come first; a reason that says "within" is not a failure.
    if (/within/.test(reason)) continue;
    if (/\berrors?\b/.test(reason) && /limit/.test(reason)) found.add('errors');
    else if (/latency/.test(reason) && /limit/.test(reason)) found.add('latency');
  }
  return found.size > 0 ? [...found] : ['other'];
}

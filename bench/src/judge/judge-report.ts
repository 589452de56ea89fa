// The Canary judge section of bench/RESULTS.md, its Targets row and the
// console summary, from a judge bench result.
import { changeVsMargin } from './scenarios.js';
import { WARMUP_REQUESTS_PER_INSTANCE, type JudgeBenchResult, type JudgeTally, type ScenarioResult } from './judge-bench.js';

export const JUDGE_HEADING = '## Canary judge';
export const JUDGE_ROW_PREFIX = '| Canary judge: ';
/** The most healthy releases a judge may fail: its false-positive rate over A/A runs. */
export const FALSE_POSITIVE_TARGET = 0.05;

export interface JudgeProvenance {
  date: string;
  command: string;
  commit: string;
  machine: string;
  /** The machine's load average (1 min) when the bench started and ended. */
  load: { before: number; after: number };
}

/** The 95% Wilson score interval of `successes` out of `n`. */
export function wilson(successes: number, n: number, z = 1.96): { low: number; high: number } {
  if (n === 0) return { low: 0, high: 1 };
  const p = successes / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** Runs that got a verdict (the fail rate's denominator: a judge that threw is left out and counted apart). */
function judged(tally: JudgeTally): number {
  return tally.pass + tally.fail + tally.inconclusive;
}

function percent(value: number): string {
  return `${(value * 100).toFixed(value > 0 && value < 0.1 ? 1 : 0)}%`;
}

/** "12% (6–24%)": the fail rate with its 95% Wilson interval. */
export function failRate(tally: JudgeTally): string {
  const n = judged(tally);
  if (n === 0) return 'no verdict';
  const { low, high } = wilson(tally.fail, n);
  return `${percent(tally.fail / n)} (${percent(low)}–${percent(high)})`;
}

function findings(tally: JudgeTally): string {
  const entries = Object.entries(tally.findings).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return '';
  const shown = entries.slice(0, 3).map(([what, count]) => `${what} ${count}`);
  return `${shown.join(', ')}${entries.length > 3 ? ', …' : ''}`;
}

/** "what the verdicts said they were": `statistics 50`, or the absence of the field. */
function methodsNote(result: JudgeBenchResult): string | undefined {
  const off: string[] = [];
  for (const judge of result.judges) {
    const seen = new Map<string, number>();
    for (const scenario of result.scenarios) {
      for (const [method, count] of Object.entries(scenario.tallies.find((t) => t.judge === judge.id)?.methods ?? {})) seen.set(method, (seen.get(method) ?? 0) + count);
    }
    const other = [...seen.entries()].filter(([method]) => method !== judge.method);
    if (other.length > 0) off.push(`"${judge.label}" got verdicts of method ${other.map(([method, count]) => `${method === 'none' ? '(not set)' : method} (${count})`).join(', ')}`);
  }
  if (off.length === 0) return undefined;
  return `**Not the judges named**: ${off.join('; ')}. The analysis built into this run predates its \`method\` option (or ignored it): these columns show the threshold analysis with the options given, not the statistical judge.`;
}

export function judgeMarkdown(result: JudgeBenchResult, provenance: JudgeProvenance): string[] {
  const o = result.options;
  const lines: string[] = [
    JUDGE_HEADING,
    '',
    `How often each canary analysis fails a release, measured on real instances (\`bench/src/judge/\`): per scenario two instances of v1 (the baseline) and two of v2 (the candidate) of the canary-service fixture (\`test/src/fixtures/canary-service.ts\`: \`@baton/express\` with \`@baton/metrics\`; \`GET /fast\` ~4 ms, \`GET /items/:id\` ~30 ms, \`GET /slow\` ~150 ms medians, log-normal σ 0.5, waited on timers), requests sent straight to the instances, no router. ` +
      `Each run: every judge's \`begin(instances)\`, then ${o.requestsPerSide.toLocaleString('en-US')} requests per release (50% /fast, 35% /items/:id, 15% /slow unless the scenario says otherwise; exact counts, random order, the two releases interleaved, ${o.concurrency} in flight), and once every one completed, every judge's \`judge()\`: the judges see the same requests. ` +
      `Long-lived instances get ${WARMUP_REQUESTS_PER_INSTANCE} requests each before the first run. Errors are injected exactly (1% is 10 of 1,000: an accumulator, not a random draw), so a release's error counts vary less than a real one's; latency factors multiply the drawn latency. ` +
      `Judges, all with \`minRequests: 50\`: ${result.judges.map((judge) => `**${judge.label}**`).join(', ')}.`,
    '',
    'A/A rows (a healthy candidate) give the **false-positive rate**: target ≤ 5%. Regression rows give the **detection rate**; "change vs margin" sets the injected change beside each judge’s margin (p99 of /items/:id is ~96 ms, so +50% is about +48 ms there): below its margin a judge is meant to pass, and its fails there are noise, not detection. "fail" is fails ÷ runs judged, with its 95% Wilson interval; pass / inconclusive are counts; "what failed" counts the failing findings (route and test for the statistical judge, `errors` / `latency` of the whole release for the threshold analysis).',
    '',
    `Measured ${provenance.date} at ${provenance.commit} with \`${provenance.command}\` on ${provenance.machine}; load average (1 min) ${provenance.load.before.toFixed(1)} at the start, ${provenance.load.after.toFixed(1)} at the end.`,
    '',
  ];
  const note = methodsNote(result);
  if (note !== undefined) lines.push(note, '');
  lines.push(
    '| Scenario | runs | Judge | change vs margin | fail (95% CI) | pass | inconclusive | what failed |',
    '|---|---:|---|---|---:|---:|---:|---|',
  );
  for (const scenario of result.scenarios) {
    for (const [index, tally] of scenario.tallies.entries()) {
      const judge = result.judges.find((j) => j.id === tally.judge);
      const rate = failRate(tally);
      const marked = scenario.scenario.kind === 'healthy' && scenario.scenario.inTarget !== false && judged(tally) > 0 && tally.fail / judged(tally) > FALSE_POSITIVE_TARGET ? `**${rate}**` : rate;
      const errors = tally.errors > 0 ? ` (${tally.errors} runs threw: ${tally.firstError ?? ''})` : '';
      lines.push(
        `| ${index === 0 ? `${scenario.scenario.label} — ${kindOf(scenario)}` : ''} | ${index === 0 ? scenario.runs : ''} | ${judge?.label ?? tally.judge} | ${judge === undefined ? '' : changeVsMargin(scenario.scenario, judge)} | ${marked} | ${tally.pass} | ${tally.inconclusive} | ${findings(tally)}${errors} |`,
      );
    }
  }
  lines.push('');
  const notes = scenarioNotes(result.scenarios);
  if (notes.length > 0) lines.push(...notes, '');
  return lines;
}

function kindOf(scenario: ScenarioResult): string {
  if (scenario.scenario.kind === 'regression') return 'detection';
  return scenario.scenario.inTarget === false ? 'false positives (not in the target: the fresh candidate is slower)' : 'false positives';
}

function scenarioNotes(scenarios: readonly ScenarioResult[]): string[] {
  const notes: string[] = [];
  for (const s of scenarios) {
    const other = Object.entries(s.requests.otherStatuses).map(([status, count]) => `${count} × ${status}`);
    const parts = [
      s.stopped,
      s.requests.unanswered > 0 ? `${s.requests.unanswered} requests got no answer` : undefined,
      other.length > 0 ? `statuses other than 200/500: ${other.join(', ')}` : undefined,
      ...s.tallies.filter((t) => t.inconclusive > 0 && t.firstInconclusive !== undefined).map((t) => `${t.judge} inconclusive, e.g.: ${t.firstInconclusive}`),
    ].filter((part) => part !== undefined);
    notes.push(
      `- ${s.scenario.id}: ${s.runs} runs in ${s.seconds.toFixed(0)} s (a run's batch ${(s.meanBatchMs / 1000).toFixed(1)} s on average; load average ${s.load.before.toFixed(1)} → ${s.load.after.toFixed(1)})${parts.length > 0 ? `; ${parts.join('; ')}` : ''}.`,
    );
    if (s.scenario.kind === 'healthy' && s.scenario.inTarget !== false) {
      const example = s.tallies.find((t) => t.judge === 'statistics' && t.failExamples.length > 0)?.failExamples[0];
      if (example !== undefined) notes.push(`  - a false positive of the statistical judge: ${example}`);
    }
  }
  return notes;
}

/** The Targets row: the default judge's false-positive rate on every A/A scenario. */
export function judgeTargetRows(result: JudgeBenchResult): string[] {
  const judge = result.judges[0];
  if (judge === undefined) return [];
  const healthy = result.scenarios.filter((s) => s.scenario.kind === 'healthy' && s.scenario.inTarget !== false);
  if (healthy.length === 0) return [];
  const figures = healthy.map((s) => {
    const tally = s.tallies.find((t) => t.judge === judge.id);
    return { id: s.scenario.id, tally, rate: tally && judged(tally) > 0 ? tally.fail / judged(tally) : undefined };
  });
  const measured = figures.map((f) => `${f.id} ${f.tally ? `${failRate(f.tally)}, ${f.tally.fail} of ${judged(f.tally)}` : 'not run'}`).join('; ');
  const met = figures.every((f) => f.rate !== undefined && f.rate <= FALSE_POSITIVE_TARGET);
  const methodOff = methodsNote(result) !== undefined ? ' (the statistical judge was not in this build: see the section)' : '';
  return [`${JUDGE_ROW_PREFIX}${judge.label} fails ≤ ${percent(FALSE_POSITIVE_TARGET)} of healthy (A/A) releases${methodOff} | ${measured} | ${met ? 'yes' : '**no**'} |`];
}

/** A few lines for the console. */
export function judgeConsoleLines(result: JudgeBenchResult): string[] {
  const lines = ['', `Canary judge: fail rate per scenario (${result.options.runs} runs each, ${result.options.requestsPerSide} requests per release per run)`, ''];
  const width = Math.max(...result.judges.map((judge) => judge.id.length), 10);
  lines.push(`${'scenario'.padEnd(14)} ${result.judges.map((judge) => judge.id.padEnd(width + 14)).join(' ')}`);
  for (const s of result.scenarios) {
    const cells = result.judges.map((judge) => {
      const tally = s.tallies.find((t) => t.judge === judge.id);
      return (tally ? `${failRate(tally)}${tally.inconclusive > 0 ? ` ?${tally.inconclusive}` : ''}${tally.errors > 0 ? ` !${tally.errors}` : ''}` : '-').padEnd(width + 14);
    });
    lines.push(`${s.scenario.id.padEnd(14)} ${cells.join(' ')}  ${s.scenario.kind === 'healthy' ? '(false positives)' : '(detection)'}`);
  }
  const note = methodsNote(result);
  if (note !== undefined) lines.push('', note.replaceAll('**', ''));
  return lines;
}

// `pnpm --filter @baton/bench bench:judge`: the canary judges' false-positive
// and detection rates on real instances (judge-bench.ts), then the "Canary
// judge" section of bench/RESULTS.md and its Targets row; nothing else in
// that file changes.
//
// Environment (all optional):
//   BENCH_JUDGE_RUNS=50            runs per scenario
//   BENCH_JUDGE_SCENARIOS=aa,...   only the scenarios whose id starts with one of these (ids: see scenarios.ts)
//   BENCH_JUDGE_REQUESTS=1000      requests per release per run
//   BENCH_JUDGE_CONCURRENCY=96     requests in flight, both releases together
//   BENCH_JUDGE_BUDGET_S=300       a scenario starts no new run after this many seconds
//   BENCH_JUDGE_WRITE=0            print only; leave RESULTS.md as it is
//   BENCH_JSON=path                also write the raw tallies as JSON
//   BENCH_JUDGE_RENDER=path        measure nothing: write the section from such a JSON file
//   BENCH_SKIP=...,judge,...       skip this part
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { commandLine, gitCommit } from '../provenance.js';
import { spliceSection } from '../results-sections.js';
import { runJudgeBench, type JudgeBenchResult } from './judge-bench.js';
import { JUDGE_HEADING, JUDGE_ROW_PREFIX, judgeConsoleLines, judgeMarkdown, judgeTargetRows, type JudgeProvenance } from './judge-report.js';
import { JUDGES, SCENARIOS } from './scenarios.js';

const skip = new Set((process.env.BENCH_SKIP ?? '').split(',').map((part) => part.trim()));
if (skip.has('judge')) {
  console.error('judge bench: skipped (BENCH_SKIP)');
  process.exit(0);
}

const positive = (name: string, fallback: number, max: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`${name} must be a whole number from 1 to ${max}; got ${JSON.stringify(raw)}`);
  return value;
};
const wanted = (process.env.BENCH_JUDGE_SCENARIOS ?? '').split(',').map((part) => part.trim()).filter(Boolean);
const scenarios = wanted.length === 0 ? SCENARIOS : SCENARIOS.filter((scenario) => wanted.some((prefix) => scenario.id.startsWith(prefix)));
if (scenarios.length === 0) throw new Error(`BENCH_JUDGE_SCENARIOS matches no scenario; the ids are ${SCENARIOS.map((s) => s.id).join(', ')}`);

const resultsFile = fileURLToPath(new URL('../../RESULTS.md', import.meta.url));
const startedAt = new Date();
// Read before anything runs: a commit made during the run must not be credited with its figures.
const commit = gitCommit(['packages', 'test/src/fixtures', 'bench/src']);
const loadBefore = loadavg()[0] ?? 0;
const options = {
  scenarios,
  judges: JUDGES,
  runs: positive('BENCH_JUDGE_RUNS', 50, 10_000),
  requestsPerSide: positive('BENCH_JUDGE_REQUESTS', 1000, 100_000),
  concurrency: positive('BENCH_JUDGE_CONCURRENCY', 96, 1000),
  scenarioBudgetSeconds: positive('BENCH_JUDGE_BUDGET_S', 300, 86_400),
  log: (line: string) => console.error(line),
};

// Ctrl-C or a kill: the instances are stopped by the pool's exit hook (and drain by themselves when their stdin closes).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

let result: JudgeBenchResult;
let provenance: JudgeProvenance;
const render = process.env.BENCH_JUDGE_RENDER;
if (render) {
  // Measure nothing: the section from a BENCH_JSON file of an earlier run (after a change to the report).
  ({ provenance, ...result } = JSON.parse(readFileSync(render, 'utf8')) as JudgeBenchResult & { provenance: JudgeProvenance });
  // The figures from the file; what each scenario is (label, kind, in the target) from this code.
  result.scenarios = result.scenarios.map((s) => ({ ...s, scenario: SCENARIOS.find((known) => known.id === s.scenario.id) ?? s.scenario }));
} else {
  console.error(`judge bench: ${scenarios.length} scenarios × ${options.runs} runs, ${options.requestsPerSide} requests per release per run, judges ${JUDGES.map((j) => j.id).join(', ')}`);
  result = await runJudgeBench(options);
  provenance = { date: startedAt.toISOString(), command: commandLine('BENCH_JUDGE', 'bench:judge', 'bench/dist/judge/run.js'), commit, machine: machine(), load: { before: loadBefore, after: loadavg()[0] ?? 0 } };
  if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify({ provenance, ...result }, null, 2));
}
for (const line of judgeConsoleLines(result)) console.log(line);
const section = judgeMarkdown(result, provenance);
if (process.env.BENCH_JUDGE_WRITE === '0') {
  console.log(`\n${section.join('\n')}`);
} else {
  const current = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '';
  writeFileSync(resultsFile, spliceSection(current, JUDGE_HEADING, JUDGE_ROW_PREFIX, section, judgeTargetRows(result)));
  console.log(`\nUpdated the Canary judge section of ${resultsFile}`);
}

function machine(): string {
  return `${cpus().length} CPUs, ${cpus()[0]?.model ?? 'unknown'}, Linux ${release()}, Node ${process.version}`;
}


// `pnpm --filter @baton/bench bench:shadow`: the built-in router's added
// latency and CPU per request with a shadow step on vs off, in one run
// (shadow-bench.ts), then the "Shadow steps" section of bench/RESULTS.md and
// its Targets row; nothing else in that file changes.
//
// Environment (all optional):
//   BENCH_SHADOW_ROUNDS=5          rounds (each runs every scenario once, in a rotated order)
//   BENCH_SHADOW_REQUESTS=20000    requests per scenario per round
//   BENCH_SHADOW_CONNECTIONS=32    keep-alive connections
//   BENCH_SHADOW_WARMUP=5000       requests per scenario before the first round
//   BENCH_SHADOW_LIGHT_REQUESTS=5000  requests per run over one connection (latency without a queue)
//   BENCH_SHADOW_BUDGET_S=300      no round starts after this many seconds
//   BENCH_SHADOW_WRITE=0           print only; leave RESULTS.md as it is
//   BENCH_JSON=path                also write the raw samples as JSON
//   BENCH_SHADOW_RENDER=path       measure nothing: write the section from such a JSON file
//   BENCH_SKIP=...,shadow,...      skip this part
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { commandLine, gitCommit } from '../provenance.js';
import { spliceSection } from '../results-sections.js';
import { runShadowBench, type ShadowBenchResult } from './shadow-bench.js';
import { SHADOW_HEADING, SHADOW_ROW_PREFIX, shadowConsoleLines, shadowMarkdown, shadowTargetRows, type ShadowProvenance } from './shadow-report.js';

const skip = new Set((process.env.BENCH_SKIP ?? '').split(',').map((part) => part.trim()));
if (skip.has('shadow')) {
  console.error('shadow bench: skipped (BENCH_SKIP)');
  process.exit(0);
}

const positive = (name: string, fallback: number, max: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`${name} must be a whole number from 1 to ${max}; got ${JSON.stringify(raw)}`);
  return value;
};

const resultsFile = fileURLToPath(new URL('../../RESULTS.md', import.meta.url));
const startedAt = new Date();
// Read before anything runs: a commit made during the run must not be credited with its figures.
const commit = gitCommit(['packages/*/src', 'bench/src']);
const loadBefore = loadavg()[0] ?? 0;

// Ctrl-C or a kill: the router and the backends are killed by the bench's exit hook.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

let result: ShadowBenchResult;
let provenance: ShadowProvenance;
const render = process.env.BENCH_SHADOW_RENDER;
if (render) {
  ({ provenance, ...result } = JSON.parse(readFileSync(render, 'utf8')) as ShadowBenchResult & { provenance: ShadowProvenance });
} else {
  const options = {
    rounds: positive('BENCH_SHADOW_ROUNDS', 5, 100),
    requests: positive('BENCH_SHADOW_REQUESTS', 20_000, 1_000_000),
    connections: positive('BENCH_SHADOW_CONNECTIONS', 32, 1000),
    warmupRequests: positive('BENCH_SHADOW_WARMUP', 5000, 1_000_000),
    lightRequests: positive('BENCH_SHADOW_LIGHT_REQUESTS', 5000, 1_000_000),
    budgetSeconds: positive('BENCH_SHADOW_BUDGET_S', 300, 86_400),
    runCapSeconds: 60,
    log: (line: string) => console.error(line),
  };
  console.error(
    `shadow bench: ${options.rounds} rounds × 4 scenarios, ${options.requests} requests each over ${options.connections} connections (no round starts after ${options.budgetSeconds} s)`,
  );
  result = await runShadowBench(options);
  provenance = { date: startedAt.toISOString(), command: commandLine('BENCH_SHADOW', 'bench:shadow', 'bench/dist/shadow/run.js'), commit, machine: machine(), load: { before: loadBefore, after: loadavg()[0] ?? 0 } };
  if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify({ provenance, ...result }, null, 2));
}
for (const line of shadowConsoleLines(result)) console.log(line);
const section = shadowMarkdown(result, provenance);
const rows = shadowTargetRows(result);
if (process.env.BENCH_SHADOW_WRITE === '0') {
  console.log(`\n${section.join('\n')}\n${rows.join('\n')}`);
} else {
  const current = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '';
  writeFileSync(resultsFile, spliceSection(current, SHADOW_HEADING, SHADOW_ROW_PREFIX, section, rows));
  console.log(`\n${rows.join('\n')}\nUpdated the Shadow steps section of ${resultsFile}`);
}

function machine(): string {
  return `${cpus().length} CPUs, ${cpus()[0]?.model ?? 'unknown'}, Linux ${release()}, Node ${process.version}`;
}


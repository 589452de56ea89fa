// `pnpm bench`: throughput side by side, then CPU per request of twins in one
// process, the in-process costs of request tracking and of recording metrics,
// then toggle evaluation through Baton against raw unleash-client, then API
// versioning (bare vs latest-version vs five-versions-behind requests), then
// the drain benchmark, then bench/RESULTS.md with the machine, the date, the
// command and the figures (the metrics, toggles and versioning comparisons in
// sections of their own).
//
// Environment (all optional):
//   BENCH_QUICK=1 (or --quick)  short run (~45 s throughput, 3 restarts per drain mode)
//   BENCH_ONLY=a,b              throughput variants to run (ids from throughput-variants.ts; baselines always run)
//   BENCH_ROUNDS=N              throughput rounds
//   BENCH_SKIP=throughput|cpu|toggles|versioning|instructions|drain|deploy|migrations skip parts (comma-separated; cpu also skips the in-process costs).
//                               Skipping throughput, cpu and drain runs only the parts with sections of their own
//                               (toggles, versioning, instructions): RESULTS.md then keeps everything but the sections
//                               and rows of the parts that ran; a run that skips toggles, versioning or instructions keeps theirs.
//   BENCH_TOGGLES_ROUNDS=N      alternating rounds of the toggles timing (default 100, quick 30)
//   BENCH_VERSIONING_ROUNDS=N   rounds of the versioning twins (default 32, quick 12)
//   BENCH_VERSIONING_THROUGHPUT_ROUNDS=N  separate-process rounds of the versioning part (default 4, quick 2; 0 skips them)
//   BENCH_CALLGRIND=0|1         instruction counts of the toggles under valgrind (~3 min; default on, off in quick mode)
//   BENCH_INSTRUCTIONS_ONLY=a,b  the per-request instruction counts of only these frameworks / variants / framework:variant
//                               (e.g. express, vLatest, fastify:vOldest; see instructions/variants.ts); a subset prints its figures
//                               and leaves RESULTS.md's section as it was
//   BENCH_INSTRUCTIONS_PASSES=N / _BATCH=N / _WARMUP=N / _JOBS=N  batches per app (5), requests per batch and route (500;
//                               the orders app twice as many), warm-up requests per route (7,500; twice for orders), processes at a time (2)
//   BENCH_INSTRUCTIONS_KEEP=dir  keep one batch dump per app and route there (apps under --perf-basic-prof), for callgrind_annotate
//   BENCH_CPU_ROUNDS=N          rounds of the CPU-per-request measurement (default 30, quick 8)
//   BENCH_RESTARTS=N            rolling restarts per drain mode (default 10)
//   BENCH_JSON=path             also write the raw figures as JSON
//   BENCH_DEPLOY_ROUTERS=a,b    router kinds of the deploy part (default builtin,haproxy,nginx: those installed)
//   BENCH_DEPLOY_SCENARIOS=a,b  only the deploy scenarios whose "service: name" contains one of these (e.g. plain: restart)
//   BENCH_CPU_PROF=id[,id]      run those throughput servers under --cpu-prof (BENCH_CPU_PROF_DIR, default bench/profiles)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runCpuPerRequest, type CpuPerRequestResult } from './cpu-per-request.js';
import { runMetricsCostIsolated, type MetricsCostResult } from './metrics-cost.js';
import { metricsConsoleLines, metricsMarkdown, metricsTargetRows } from './metrics-report.js';
import { runThroughputBench, type ThroughputResult } from './throughput.js';
import { runTogglesBench, type TogglesBenchResult } from './toggles-compare.js';
import { previousToggles, spliceToggles, togglesConsoleLines, togglesMarkdown, togglesTargetRows, type Provenance } from './toggles-report.js';
import { runVersioningBench, type VersioningBenchResult } from './versioning-compare.js';
import { previousVersioning, spliceVersioning, versioningConsoleLines, versioningMarkdown, versioningTargetRows } from './versioning-report.js';
import { runTrackingCost, type TrackingCostResult } from './tracking-cost.js';
import { runInstructionsBench, type InstructionsBenchResult } from './instructions/instructions-bench.js';
import { instructionsConsoleLines, instructionsMarkdown, instructionsTargetRows, judgeOnInstructions, previousInstructions, spliceInstructions } from './instructions/instructions-report.js';
import { runDeployBench, type DeployBenchResult } from './deploy-bench.js';
import { deployBenchMarkdown, deployConsoleLine, deployTargetRows } from './deploy-report.js';
import { JUDGE_HEADING, JUDGE_ROW_PREFIX } from './judge/judge-report.js';
import { SHADOW_HEADING, SHADOW_ROW_PREFIX } from './shadow/shadow-report.js';
import { migrationsBenchMarkdown, migrationsConsoleLines, migrationsTargetRows, runMigrationsBench, type MigrationsBenchResult } from './migrations-bench.js';
import { previousSection, spliceSection } from './results-sections.js';
import { decidingRatio, isBaton, percent, THROUGHPUT_TARGET, throughputMarkdown, throughputTable } from './throughput-report.js';

/** A row of the drain benchmark (the shape `runDrainBench` of ./drain.ts returns). */
interface DrainRow {
  mode: string;
  restarts: number;
  sent: number;
  failed: number;
  detail: Record<string, number>;
}

const DRAIN_HEADERS = ['Mode', 'restarts', 'sent', 'failed', 'failed / 10 restarts', 'detail'];

const argv = process.argv.slice(2);
const quick = process.env.BENCH_QUICK === '1' || argv.includes('--quick');
const skip = new Set((process.env.BENCH_SKIP ?? '').split(',').map((s) => s.trim()));
const only = listEnv('BENCH_ONLY');
const rounds = numberEnv('BENCH_ROUNDS');
const restarts = numberEnv('BENCH_RESTARTS') ?? (quick ? 3 : 10);
const resultsFile = fileURLToPath(new URL('../RESULTS.md', import.meta.url));
const startedAt = new Date();
// Read before anything runs: a commit made during the run must not be credited with its figures.
const measuredCommit = gitCommit();
// Only parts with sections of their own (toggles, versioning): RESULTS.md keeps the other sections as they are.
const sectionsOnly = ['throughput', 'cpu', 'drain'].every((part) => skip.has(part));
const previousResults = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '';

let throughput: ThroughputResult | undefined;
let throughputError: string | undefined;
if (!skip.has('throughput')) {
  try {
    throughput = await runThroughputBench({ quick, ...(only ? { only } : {}), ...(rounds ? { rounds } : {}) });
    console.log(`\nThroughput (GET /orders/:id, ratios to the bare framework, same rounds)\n\n${throughputTable(throughput)}\n`);
  } catch (error) {
    throughputError = messageOf(error);
    console.error(`throughput benchmark failed: ${throughputError}`);
    process.exitCode = 1;
  }
}

let cpuCost: CpuPerRequestResult[] | undefined;
let cpuCostError: string | undefined;
if (!skip.has('cpu')) {
  try {
    cpuCost = await runCpuPerRequest({ rounds: numberEnv('BENCH_CPU_ROUNDS') ?? (quick ? 8 : 30) });
    for (const r of cpuCost) {
      console.log(`CPU per request (${r.framework}): bare ${r.microsPerRequest.bare.toFixed(1)} µs, Baton ${r.microsPerRequest.baton.toFixed(1)} µs → ${percent(r.batonRatio)} of bare; A/A control ${percent(r.controlRatio)}`);
    }
  } catch (error) {
    cpuCostError = messageOf(error);
    console.error(`CPU-per-request benchmark failed: ${cpuCostError}`);
    process.exitCode = 1;
  }
}

// In-process and quick: what Baton's per-request tracking costs, in nanoseconds.
const tracking: TrackingCostResult | undefined = skip.has('cpu') ? undefined : runTrackingCost({ rounds: quick ? 5 : 15 });
if (tracking) console.log(`Request tracking: ${tracking.addedNs.toFixed(0)} ns added per request (bare emit ${tracking.bareNs.toFixed(0)} ns)`);

// What recording one request into @baton/metrics costs, against prom-client's own calls (a tight loop in a fresh process).
let metricsCost: MetricsCostResult | undefined;
if (!skip.has('cpu')) {
  try {
    metricsCost = await runMetricsCostIsolated({ rounds: quick ? 5 : 15 });
  } catch (error) {
    console.error(`metrics recording cost failed: ${messageOf(error)}`);
    process.exitCode = 1;
  }
}
for (const line of metricsConsoleLines(cpuCost, metricsCost)) console.log(line);

// Toggle evaluation: Baton against raw unleash-client, in fresh processes (timing, allocation, instruction counts).
let toggles: TogglesBenchResult | undefined;
let togglesError: string | undefined;
if (!skip.has('toggles')) {
  try {
    console.error('toggles: Baton against raw unleash-client (timing, allocation, instruction counts)...');
    const togglesRounds = numberEnv('BENCH_TOGGLES_ROUNDS');
    const callgrind = process.env.BENCH_CALLGRIND === undefined || process.env.BENCH_CALLGRIND === '' ? !quick : process.env.BENCH_CALLGRIND !== '0';
    toggles = await runTogglesBench({ quick, instructions: callgrind, ...(togglesRounds ? { rounds: togglesRounds } : {}) });
    for (const line of togglesConsoleLines(toggles)) console.log(line);
  } catch (error) {
    togglesError = messageOf(error);
    console.error(`toggles benchmark failed: ${togglesError}`);
    process.exitCode = 1;
  }
}

// API versioning: bare vs latest-version vs five-versions-behind requests, both frameworks (twins, separate processes, Baton's calls alone).
let versioning: VersioningBenchResult | undefined;
let versioningError: string | undefined;
if (!skip.has('versioning')) {
  try {
    console.error('versioning: bare vs latest-version vs five-behind requests (checks, twins, separate processes)...');
    const versioningRounds = numberEnv('BENCH_VERSIONING_ROUNDS');
    const throughputRounds = countEnv('BENCH_VERSIONING_THROUGHPUT_ROUNDS');
    versioning = await runVersioningBench({ quick, ...(versioningRounds ? { rounds: versioningRounds } : {}), ...(throughputRounds !== undefined ? { throughputRounds } : {}) });
    for (const line of versioningConsoleLines(versioning)) console.log(line);
    if (versioning.skipped.length > 0) process.exitCode = 1;
  } catch (error) {
    versioningError = messageOf(error);
    console.error(`versioning benchmark failed: ${versioningError}`);
    process.exitCode = 1;
  }
}

// Every overhead target per request in instructions: each app in a process of its own under callgrind.
let instructions: InstructionsBenchResult | undefined;
let instructionsError: string | undefined;
if (!skip.has('instructions')) {
  try {
    console.error('instructions: every overhead target, instructions per request under callgrind...');
    const keepDir = process.env.BENCH_INSTRUCTIONS_KEEP;
    const settings = { passes: numberEnv('BENCH_INSTRUCTIONS_PASSES'), batch: numberEnv('BENCH_INSTRUCTIONS_BATCH'), warmup: numberEnv('BENCH_INSTRUCTIONS_WARMUP'), jobs: numberEnv('BENCH_INSTRUCTIONS_JOBS') };
    instructions = await runInstructionsBench({
      quick,
      ...(process.env.BENCH_INSTRUCTIONS_ONLY ? { only: process.env.BENCH_INSTRUCTIONS_ONLY } : {}),
      ...Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined)),
      ...(keepDir ? { keepDir } : {}),
    });
    for (const line of instructionsConsoleLines(instructions)) console.log(line);
    if (instructions.failures.length > 0 || instructions.transformsError !== undefined || instructions.notMeasured !== undefined) process.exitCode = 1;
    if (keepDir) console.log(`instructions: every batch's dump and the apps' perf maps in ${keepDir} (node bench/dist/instructions/annotate.js top <dump> [--base <dump>] --requests <batch size>)`);
  } catch (error) {
    instructionsError = messageOf(error);
    console.error(`instructions benchmark failed: ${instructionsError}`);
    process.exitCode = 1;
  }
}
/** A run of some of the apps only (BENCH_INSTRUCTIONS_ONLY) prints its figures; RESULTS.md keeps the section of a whole run. */
const instructionsWritten = instructions !== undefined && !instructions.subset;
if (instructions?.subset) console.error(`${resultsFile}: the instruction counts of a subset (BENCH_INSTRUCTIONS_ONLY) are not written; the section stays as it was.`);

let drain: DrainRow[] | undefined;
let drainError: string | undefined;
if (!skip.has('drain')) {
  try {
    drain = await runDrain(restarts);
    if (drain) console.log(`\nDrain (failed requests over ${restarts} rolling restarts behind HAProxy)\n\n${drainTable(drain)}\n`);
  } catch (error) {
    drainError = messageOf(error);
    console.error(`drain benchmark failed: ${drainError}`);
    process.exitCode = 1;
  }
}

// Deploys behind every router installed: Baton's strategies beside kill-then-start, switching targets without drain, restart in place (on a plain service).
let deploys: DeployBenchResult | undefined;
if (!skip.has('deploy')) {
  try {
    const deployRouters = listEnv('BENCH_DEPLOY_ROUTERS');
    const deployScenarios = listEnv('BENCH_DEPLOY_SCENARIOS');
    deploys = await runDeployBench({ log: (line) => console.error(line), ...(deployRouters ? { routers: deployRouters } : {}), ...(deployScenarios ? { scenarios: deployScenarios } : {}) });
    for (const row of deploys.rows) console.log(deployConsoleLine(row));
  } catch (error) {
    console.error(`deploy benchmark failed: ${messageOf(error)}`);
    process.exitCode = 1;
  }
}

// Migrations: Baton's checker beside squawk on the same generated files (statements per second after warm-up).
let migrations: MigrationsBenchResult | undefined;
if (!skip.has('migrations')) {
  try {
    migrations = await runMigrationsBench({ rounds: quick ? 10 : 30, log: (line) => console.error(line) });
    for (const line of migrationsConsoleLines(migrations)) console.log(line);
  } catch (error) {
    console.error(`migrations benchmark failed: ${messageOf(error)}`);
    process.exitCode = 1;
  }
}

if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify({ throughput, cpuCost, tracking, metricsCost, toggles, versioning, instructions, drain, deploys }, null, 2));
if (sectionsOnly && previousResults !== '') {
  // Only parts with sections of their own ran: only their sections and rows change; a part that failed leaves its own as they were.
  let text = previousResults;
  const updated: string[] = [];
  if (toggles !== undefined) {
    text = spliceToggles(text, togglesSection(), togglesTargetRows(toggles));
    updated.push('Toggles');
  } else if (!skip.has('toggles')) {
    console.error(`${resultsFile}: Toggles section left as it was: the toggles part did not finish.`);
  }
  if (versioning !== undefined) {
    text = spliceVersioning(text, versioningSection(), versioningTargetRows(versioning));
    updated.push('API versioning');
  } else if (!skip.has('versioning')) {
    console.error(`${resultsFile}: API versioning section left as it was: the versioning part did not finish.`);
  }
  if (instructionsWritten) {
    text = spliceInstructions(text, instructionsSection(), instructionsRows());
    updated.push('Overhead in instructions');
  } else if (!skip.has('instructions') && instructions === undefined) {
    console.error(`${resultsFile}: Overhead in instructions section left as it was: the instructions part did not finish.`);
  }
  if (updated.length > 0) {
    writeFileSync(resultsFile, text);
    console.log(`Updated the ${updated.join(' and ')} section${updated.length > 1 ? 's' : ''} of ${resultsFile}`);
  }
} else {
  writeFileSync(resultsFile, resultsMarkdown());
  console.log(`Wrote ${resultsFile}`);
}
// The deploys' section is spliced in whatever else ran: its own section and Targets rows.
if (deploys !== undefined) {
  const current = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '';
  const section = deployBenchMarkdown(deploys, { date: startedAt.toISOString(), command: commandLine(), commit: measuredCommit, machine: machine() });
  writeFileSync(resultsFile, spliceSection(current, '## Deploys', '| Deploys: ', section, deployTargetRows(deploys)));
  console.log(`Updated the Deploys section of ${resultsFile}`);
}

// The migrations' section likewise; a run without it keeps the one RESULTS.md had (a full rewrite above would drop it).
{
  const current = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '';
  const kept = migrations === undefined ? previousSection(previousResults, '## Migrations', '| Migrations: ') : undefined;
  if (migrations !== undefined) {
    const section = migrationsBenchMarkdown(migrations, { date: startedAt.toISOString(), command: commandLine(), commit: measuredCommit, machine: machine() });
    writeFileSync(resultsFile, spliceSection(current, '## Migrations', '| Migrations: ', section, migrationsTargetRows(migrations)));
    console.log(`Updated the Migrations section of ${resultsFile}`);
  } else if (kept !== undefined && !current.includes('\n## Migrations\n')) {
    writeFileSync(resultsFile, spliceSection(current, '## Migrations', '| Migrations: ', kept.section, kept.rows));
  }
}

// The canary judge's section is written by `pnpm bench:judge` alone (about 25 minutes of its own): a full
// rewrite above drops it, so it is put back as RESULTS.md had it.
{
  const current = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '';
  const kept = previousSection(previousResults, JUDGE_HEADING, JUDGE_ROW_PREFIX);
  if (kept !== undefined && !current.split('\n').includes(JUDGE_HEADING)) {
    writeFileSync(resultsFile, spliceSection(current, JUDGE_HEADING, JUDGE_ROW_PREFIX, kept.section, kept.rows));
  }
}

// The shadow steps' section likewise, written by `pnpm bench:shadow` alone.
{
  const current = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '';
  const kept = previousSection(previousResults, SHADOW_HEADING, SHADOW_ROW_PREFIX);
  if (kept !== undefined && !current.split('\n').includes(SHADOW_HEADING)) {
    writeFileSync(resultsFile, spliceSection(current, SHADOW_HEADING, SHADOW_ROW_PREFIX, kept.section, kept.rows));
  }
}

// Last: every overhead target is judged on its instruction row, placed above the time-based rows of the same
// target, whose verdicts become indicative (whichever part wrote them, in this run or an earlier one).
{
  const current = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '';
  const arranged = judgeOnInstructions(current);
  if (arranged !== current) writeFileSync(resultsFile, arranged);
}

/**
 * The drain benchmark lives in ./drain.ts (another file, another owner). It
 * is loaded by path so this runner still builds and runs without it; it
 * returns undefined when the file is not there.
 */
async function runDrain(count: number): Promise<DrainRow[] | undefined> {
  const url = new URL('./drain.js', import.meta.url);
  if (!existsSync(url)) {
    console.error('drain benchmark: bench/src/drain.ts not present, skipped');
    return undefined;
  }
  const loaded = (await import(url.href)) as { runDrainBench?: (options?: { restarts?: number }) => Promise<DrainRow[]> };
  if (typeof loaded.runDrainBench !== 'function') throw new Error('bench/src/drain.ts does not export runDrainBench');
  console.error(`drain: ${count} rolling restarts per mode behind HAProxy...`);
  return loaded.runDrainBench({ restarts: count });
}

function drainRows(rows: DrainRow[]): string[][] {
  return rows.map((row) => [
    row.mode,
    String(row.restarts),
    row.sent.toLocaleString('en-US'),
    String(row.failed),
    row.restarts > 0 ? ((row.failed * 10) / row.restarts).toFixed(1) : 'n/a',
    Object.entries(row.detail)
      .map(([key, value]) => `${key} ${Number.isInteger(value) ? value : value.toFixed(1)}`)
      .join(', '),
  ]);
}


function drainTable(rows: DrainRow[]): string {
  const all = [DRAIN_HEADERS.slice(0, 5), ...drainRows(rows).map((r) => r.slice(0, 5))];
  const widths = all[0]?.map((_, col) => Math.max(...all.map((row) => (row[col] ?? '').length))) ?? [];
  return all.map((row) => row.map((cell, col) => cell.padEnd(widths[col] ?? 0)).join('  ')).join('\n');
}

function batonDrainRow(rows: DrainRow[] | undefined): DrainRow | undefined {
  return rows?.find((row) => row.mode.toLowerCase().startsWith('baton'));
}

function resultsMarkdown(): string {
  const took = Math.round((Date.now() - startedAt.getTime()) / 1000);
  const lines = [
    '# Benchmark results',
    '',
    'Written by `bench/src/run.ts` on every run (see `bench/README.md` for the method).',
    'The machine is shared: absolute figures move from run to run; the ratios to the bare framework, measured in the same rounds, are what to compare.',
    '',
    `- Date: ${startedAt.toISOString()}`,
    `- Command: \`${commandLine()}\`${quick ? ' (quick mode)' : ''}`,
    `- Code measured: ${measuredCommit}`,
    `- Machine: ${machine()}`,
    `- Node: ${process.version}`,
    `- Took: ${took} s`,
    '',
    '## Targets',
    '',
    '| Target | Measured | Met |',
    '| --- | --- | --- |',
    ...targetRows(),
    '',
    '## Throughput',
    '',
  ];
  if (throughput) {
    const t = throughput;
    lines.push(
      `Same app and route everywhere (\`GET /orders/:id\`, a small JSON body), each variant a server in its own process${t.pinned ? ' pinned to CPU 1' : ''}, ` +
        `autocannon in the parent${t.pinned ? ' on CPU 0' : ''} with ${t.load.connections} keep-alive connections. ` +
        `Warm-up ${t.warmupSeconds} s per variant, then ${t.rounds} interleaved rounds of ${t.load.durationSeconds} s per variant (the order changes every round). ` +
        `Ratios are medians over rounds of variant ÷ bare in the same round; "per server CPU" divides requests by the server process's CPU time instead of wall time, so it holds even when the load generator or a neighbour is the limit. ` +
        `Before each sample the run waits (bounded) for other processes to use under 0.1 core; a sample taken while they used more is run again (${t.reruns} reruns, ${t.quietWaitSeconds.toFixed(0)} s of waiting this time), and ratios use only the rounds where both the variant's and its baseline's samples were quiet ("quiet rounds"; all rounds when fewer than 3 were). ` +
        '"spread" is half the (max − min) ÷ median of req/s over rounds; "server CPU" is the share of a core the server used (below ~90% the load generator or a neighbour was the limit). ' +
        `"head-to-head": ${t.duels} runs per variant of the variant and its baseline under load at the same time, both servers on the same core, each with its own autocannon; the kernel shares the core between them and any slowdown of that core hits both at once, so the ratio of their requests per CPU-second is the cost per request with most of the machine's drift cancelled (see the A/A control below: not all of it).`,
      '',
      throughputMarkdown(t),
      '',
    );
  } else {
    lines.push(throughputError ? `Not measured: the run failed (${throughputError}).` : 'Skipped in this run (`BENCH_SKIP=throughput`).', '');
  }
  lines.push('## CPU time per request (twins in one process)', '');
  if (cpuCost) {
    const first = cpuCost[0];
    lines.push(
      'One server process serves five twins of the same app on five ports: bare, a second bare (the A/A control), with Baton, and (see Metrics below) with Baton + metrics and with the metrics peer (`bench/src/servers/paired.ts`). ' +
        `The parent loads them in turn with bounded bursts (${cpuCost.map((r) => `${r.framework} ${r.requestsPerBurst.toLocaleString('en-US')}`).join(', ')} requests, 10 keep-alive connections), order rotated every round, ${first?.rounds ?? 0} rounds after a warm-up, ` +
        "and reads the process's CPU time around each burst. The twins share the process, its JIT and heap and its CPU, so the drift of a shared machine hits them all alike; the A/A control shows what is left of it. " +
        'Ratio = bare ÷ twin CPU per request (the share of bare throughput per CPU the twin keeps), median over rounds. The throughput target is judged on this figure: its control stays closest to 100%.',
      '',
      '| Framework | bare µs/req | Baton µs/req | Baton vs bare | A/A control | rounds (Baton ratio min–max) | failed |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...cpuCost.map(
        (r) =>
          `| ${r.framework === 'express' ? 'Express' : 'Fastify'} | ${r.microsPerRequest.bare.toFixed(1)} | ${r.microsPerRequest.baton.toFixed(1)} | ${percent(r.batonRatio)} | ${percent(r.controlRatio)} | ${r.rounds} (${percent(Math.min(...r.batonRatios))}–${percent(Math.max(...r.batonRatios))}) | ${r.failed} |`,
      ),
      '',
    );
  } else {
    lines.push(cpuCostError ? `Not measured: the run failed (${cpuCostError}).` : 'Skipped in this run (`BENCH_SKIP=cpu`).', '');
  }
  if (tracking) {
    lines.push(
      '### Baton\'s own work per request',
      '',
      `\`bench/src/tracking-cost.ts\`: a real node:http server handed ${tracking.requestsPerRound.toLocaleString('en-US')} real request/response pairs per round, with and without a lifecycle attached, ${tracking.rounds} alternating rounds in one tight loop. ` +
        `Baton's request tracking adds **${tracking.addedNs.toFixed(0)} ns** per request (median; bare dispatch ${tracking.bareNs.toFixed(0)} ns).` +
        (cpuCost
          ? ' Against the bare CPU cost per request above, that is ' +
            cpuCost.map((r) => `${((tracking.addedNs / 1000 / r.microsPerRequest.bare) * 100).toFixed(2)}% of a ${r.framework === 'express' ? 'Express' : 'Fastify'} request`).join(' and ') +
            ': the part of any gap above that Baton\'s code can explain; the rest is the machine.'
          : ''),
      '',
    );
  }
  lines.push(...metricsMarkdown(throughput, cpuCost, metricsCost, cpuCostError ? `Not measured: the run failed (${cpuCostError}).` : 'Skipped in this run (`BENCH_SKIP=cpu`).'));
  lines.push('## Drain', '');
  if (drain) {
    lines.push(
      `Failed requests over ${drain[0]?.restarts ?? restarts} rolling restarts per mode under load behind a real HAProxy that learns of a drain only through the readiness check (the Kubernetes situation); see \`bench/src/drain.ts\`. Failures are counted per request (sent − answered 2xx), not as autocannon counts them.`,
      '',
      `| ${DRAIN_HEADERS.join(' | ')} |`,
      `| --- | ${DRAIN_HEADERS.slice(1).map(() => '---:').join(' | ')} |`,
      ...drainRows(drain).map((row) => `| ${row.join(' | ')} |`),
      '',
    );
  } else if (drainError) {
    lines.push(`Not measured: the run failed (${drainError}).`, '');
  } else {
    lines.push(skip.has('drain') ? 'Skipped in this run (`BENCH_SKIP=drain`).' : 'Not measured: `bench/src/drain.ts` is not present.', '');
  }
  lines.push(...togglesSection());
  lines.push(...versioningSection());
  lines.push(...instructionsSection());
  return `${lines.join('\n')}\n`;
}

/** The Toggles section: this run's, or (when this run skipped it) the one RESULTS.md had, with its own date and command. */
function togglesSection(): string[] {
  if (toggles === undefined && togglesError === undefined) {
    const previous = previousToggles(previousResults);
    if (previous) return previous.section;
  }
  return togglesMarkdown(toggles, provenance(), togglesError ? `Not measured: the run failed (${togglesError}).` : 'Skipped in this run (`BENCH_SKIP=toggles`).');
}

/** The API versioning section: this run's, or (when this run skipped it) the one RESULTS.md had, with its own date and command. */
function versioningSection(): string[] {
  if (versioning === undefined && versioningError === undefined) {
    const previous = previousVersioning(previousResults);
    if (previous) return previous.section;
  }
  return versioningMarkdown(versioning, provenance(), versioningError ? `Not measured: the run failed (${versioningError}).` : 'Skipped in this run (`BENCH_SKIP=versioning`).');
}

/** The instructions section: this run's, or (when this run skipped it or counted a subset) the one RESULTS.md had. */
function instructionsSection(): string[] {
  if (!instructionsWritten && instructionsError === undefined) {
    const previous = previousInstructions(previousResults);
    if (previous) return previous.section;
  }
  return instructionsMarkdown(instructionsWritten ? instructions : undefined, provenance(), instructionsError ? `Not measured: the run failed (${instructionsError}).` : 'Skipped in this run (`BENCH_SKIP=instructions`).');
}

function instructionsRows(): string[] {
  if (!instructionsWritten && instructionsError === undefined) {
    const previous = previousInstructions(previousResults);
    if (previous) return previous.rows;
  }
  return instructionsTargetRows(instructionsWritten ? instructions : undefined);
}

function versioningRows(): string[] {
  if (versioning === undefined && versioningError === undefined) {
    const previous = previousVersioning(previousResults);
    if (previous) return previous.rows;
  }
  return versioningTargetRows(versioning);
}

function togglesRows(): string[] {
  if (toggles === undefined && togglesError === undefined) {
    const previous = previousToggles(previousResults);
    if (previous) return previous.rows;
  }
  return togglesTargetRows(toggles);
}

function provenance(): Provenance {
  return {
    date: startedAt.toISOString(),
    command: commandLine(),
    quick,
    commit: `code measured: ${measuredCommit}`,
    machine: machine(),
    node: process.version,
  };
}

function machine(): string {
  return `${cpus().length} CPUs (nproc ${nproc()}), ${cpus()[0]?.model ?? 'unknown'}, Linux ${release()}`;
}

function targetRows(): string[] {
  const rows: string[] = [];
  for (const v of throughput?.variants.filter(isBaton) ?? []) {
    const base = v.variant.framework === 'express' ? 'Express' : 'Fastify';
    const measured = v.duel
      ? `${percent(v.duel.cpuRatioToBare)} head-to-head per server CPU; back-to-back ${percent(v.ratioToBare)} req/s`
      : `${percent(v.ratioToBare)} req/s (${percent(v.cpuRatioToBare)} per server CPU)`;
    // Separate processes drift apart on this kind of machine (see the A/A control): indicative only;
    // the target is judged on the twins in one process below.
    const met = cpuCost ? `indicative (${decidingRatio(v) >= THROUGHPUT_TARGET ? 'at or above' : 'below'} target)` : decidingRatio(v) >= THROUGHPUT_TARGET ? 'yes' : '**no**';
    rows.push(`| ${v.variant.label}: throughput ≥ ${percent(THROUGHPUT_TARGET)} of bare ${base}, separate processes | ${measured} | ${met} |`);
  }
  if (!throughput) rows.push('| Throughput ≥ 97% of bare | not measured | — |');
  for (const r of cpuCost ?? []) {
    const base = r.framework === 'express' ? 'Express' : 'Fastify';
    rows.push(
      `| ${base} + Baton: CPU per request ≥ ${percent(THROUGHPUT_TARGET)} of bare's throughput per CPU (twins in one process) | ${percent(r.batonRatio)} (A/A control ${percent(r.controlRatio)}) | ${r.batonRatio >= THROUGHPUT_TARGET ? 'yes' : '**no**'} |`,
    );
  }
  rows.push(...metricsTargetRows(throughput, cpuCost));
  const baton = batonDrainRow(drain);
  rows.push(
    baton
      ? `| Drain: Baton loses 0 requests over ${baton.restarts} restarts | ${baton.failed} failed of ${baton.sent.toLocaleString('en-US')} sent | ${baton.failed === 0 ? 'yes' : '**no**'} |`
      : '| Drain: Baton loses 0 requests | not measured | — |',
  );
  rows.push(...togglesRows());
  rows.push(...versioningRows());
  rows.push(...instructionsRows());
  return rows;
}

/** `nproc` as the shell sees it (run after the benchmark has restored its CPU affinity). */
/** The commit the run measured, marked when the working tree had changes. */
function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    // RESULTS.md itself does not count: the runner writes it (a toggles-only run follows a full one).
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' })
      .split('\n')
      .some((line) => line.trim() !== '' && !line.endsWith('bench/RESULTS.md'));
    return `commit ${head}${dirty ? ' plus uncommitted changes' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

function nproc(): string {
  try {
    return execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    return 'n/a';
  }
}

function commandLine(): string {
  const env = Object.entries(process.env)
    .filter(([key]) => key.startsWith('BENCH_') && key !== 'BENCH_JSON')
    .map(([key, value]) => `${key}=${value}`);
  const event = process.env.npm_lifecycle_event;
  const viaPnpm = event === 'bench' || event?.startsWith('bench:') === true;
  const command = viaPnpm ? `pnpm ${event}` : `node bench/dist/run.js${argv.length ? ` ${argv.join(' ')}` : ''}`;
  return [...env, command].join(' ');
}

function listEnv(name: string): string[] | undefined {
  const list = process.env[name]?.split(',').map((s) => s.trim()).filter(Boolean);
  return list && list.length > 0 ? list : undefined;
}

function numberEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer; got ${JSON.stringify(raw)}`);
  return value;
}

/** A count that may be 0 (e.g. to turn a sub-part off). */
function countEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number ≥ 0; got ${JSON.stringify(raw)}`);
  return value;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// The "Shadow steps" section of bench/RESULTS.md, its Targets row and the
// console summary, from a shadow bench result. Ratios are taken round by round
// against "router, shadow off" of the same round, then the median over rounds.
import { BASELINE, COMPARE, REQUEST_PATH, type RunSample, type ScenarioId, type ScenarioResult, type ShadowBenchResult } from './shadow-bench.js';

export const SHADOW_HEADING = '## Shadow steps';
export const SHADOW_ROW_PREFIX = '| Shadow: ';
/**
 * A copy is one more upstream exchange for the router, so with every GET copied its CPU per client
 * request may grow to twice shadowing off (the copy no dearer than proxying the request itself), and
 * no more; near the router's CPU limit that halves its throughput and queues clients, which is what
 * `share` is for: with a tenth copied, the client's p99 stays within 1.1× shadowing off.
 */
export const CPU_RATIO_TARGET = 2;
export const SAMPLED_P99_RATIO_TARGET = 1.1;
/** The scenarios the targets are about. */
const TARGET_SCENARIO: ScenarioId = 'share-1';
const SAMPLED_SCENARIO: ScenarioId = 'share-0.1';

export interface ShadowProvenance {
  date: string;
  command: string;
  commit: string;
  machine: string;
  /** The machine's load average (1 min) when the bench started and ended. */
  load: { before: number; after: number };
}

type Metric = 'p50Ms' | 'p99Ms' | 'requestsPerSecond' | 'routerCpuMsPer1k' | 'candidateCpuMsPer1k' | 'lightP50Ms' | 'lightP99Ms' | 'lightRequestsPerSecond';

export function median(values: readonly number[]): number {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function scenarioOf(result: ShadowBenchResult, id: ScenarioId): ScenarioResult | undefined {
  return result.scenarios.find((s) => s.scenario.id === id);
}

function value(sample: RunSample, metric: Metric): number {
  if (metric === 'lightP50Ms') return sample.light.p50Ms;
  if (metric === 'lightP99Ms') return sample.light.p99Ms;
  if (metric === 'lightRequestsPerSecond') return sample.light.requestsPerSecond;
  return sample[metric] ?? Number.NaN;
}

/** A metric's median over the rounds. */
function medianOf(scenario: ScenarioResult, metric: Metric): number {
  return median(scenario.samples.map((sample) => value(sample, metric)));
}

/** `of` ÷ `over`, round by round: the median and the range. */
export function pairedRatio(of: ScenarioResult, over: ScenarioResult, metric: Metric): { median: number; low: number; high: number } {
  const ratios: number[] = [];
  for (const sample of of.samples) {
    const base = over.samples.find((s) => s.round === sample.round);
    if (base === undefined) continue;
    const ratio = value(sample, metric) / value(base, metric);
    if (Number.isFinite(ratio)) ratios.push(ratio);
  }
  return { median: median(ratios), low: ratios.length === 0 ? Number.NaN : Math.min(...ratios), high: ratios.length === 0 ? Number.NaN : Math.max(...ratios) };
}

function times(ratio: { median: number; low: number; high: number }, withRange = true): string {
  if (!Number.isFinite(ratio.median)) return 'n/a';
  return `${ratio.median.toFixed(2)}×${withRange ? ` (${ratio.low.toFixed(2)}–${ratio.high.toFixed(2)})` : ''}`;
}

function ms(value: number): string {
  return Number.isFinite(value) ? value.toFixed(value < 10 ? 2 : 1) : 'n/a';
}

function ms3(value: number): string {
  return Number.isFinite(value) ? value.toFixed(3) : 'n/a';
}

function count(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** Failed and sent over every run of a scenario, both loads. */
function failedOf(scenario: ScenarioResult): { failed: number; sent: number } {
  return scenario.samples.reduce((total, s) => ({ failed: total.failed + s.failed + s.light.failed, sent: total.sent + s.sent + s.light.sent }), { failed: 0, sent: 0 });
}

/** The copies the router counted, per run: the median run's, and whether every run's were as expected. */
function copiesCell(scenario: ScenarioResult): string {
  const share = scenario.scenario.share;
  if (share === undefined) return '—';
  const runs = scenario.samples.map((s) => s.copies);
  if (runs.some((c) => c === undefined)) return 'missing in some runs';
  const mirrored = median(runs.map((c) => c?.mirrored ?? 0));
  const compared = median(runs.map((c) => c?.compared ?? 0));
  const equal = median(runs.map((c) => c?.equal ?? 0));
  const expected = median(scenario.samples.map((s) => s.ok * share));
  return `${count(mirrored)} / ${count(compared)} / ${count(equal)} (${((mirrored / median(scenario.samples.map((s) => s.ok))) * 100).toFixed(1)}% of requests; expected ≈ ${count(expected)})`;
}

/** Whether each shadow run copied its share of the requests, and every copy came back equal (the candidate differs only in the ignored field). */
function copiesHeld(scenario: ScenarioResult): { held: boolean; problems: string[] } {
  const share = scenario.scenario.share;
  const problems: string[] = [];
  if (share === undefined) return { held: true, problems };
  for (const s of scenario.samples) {
    const c = s.copies;
    if (c === undefined) {
      problems.push(`round ${s.round + 1}: no shadow status`);
      continue;
    }
    const expected = s.sent * share;
    // The share is taken by a counter: exact but for rounding at the ends.
    if (Math.abs(c.mirrored - expected) > Math.max(2, expected * 0.01)) problems.push(`round ${s.round + 1}: ${c.mirrored} mirrored, expected ≈ ${count(expected)}`);
    if (c.compared !== c.mirrored || c.equal !== c.compared) problems.push(`round ${s.round + 1}: ${c.compared} compared, ${c.equal} equal, ${c.different} different, ${c.candidateErrors} candidate errors of ${c.mirrored} mirrored`);
    const lightExpected = s.light.sent * share;
    if (s.light.mirrored === undefined || Math.abs(s.light.mirrored - lightExpected) > Math.max(2, lightExpected * 0.01) || s.light.equal !== s.light.mirrored) {
      problems.push(`round ${s.round + 1}, one connection: ${s.light.mirrored ?? 'no'} mirrored (${s.light.equal ?? 0} equal), expected ≈ ${count(lightExpected)}`);
    }
  }
  return { held: problems.length === 0, problems };
}

export function shadowMarkdown(result: ShadowBenchResult, provenance: ShadowProvenance): string[] {
  const o = result.options;
  const base = scenarioOf(result, BASELINE);
  const lines: string[] = [
    SHADOW_HEADING,
    '',
    `What a shadow step costs the built-in router (\`bench/src/shadow/\`): the real router process (\`startBuiltinRouter\`, port 0) in front of two backend processes on 127.0.0.1 — the stable release v1 (ready, weight 100) and the candidate v2 (drain, weight 0: copies only) — each answering \`GET /orders/:id\` with a ~340-byte JSON order built per request (its \`release\` field differs; a request marked \`Baton-Shadow\` or \`Baton-Compare\` also gets \`Baton-Route: GET /orders/:id\`, as Baton's adapters answer). ` +
      `Shadowing is started through the router's admin API (\`router.shadow.start({ candidate: 'v2', share, compare: ${JSON.stringify(COMPARE).replaceAll('"', "'")} })\`) before a run and stopped after it; a copy goes to the candidate once the client has the stable answer, both answers are buffered and compared field by field.`,
    '',
    `Four scenarios in one run, interleaved: ${result.rounds} rounds, the order rotated by one each round, each run ${count(o.requests)} requests of \`GET ${REQUEST_PATH}\` from autocannon 8 in this process over ${o.connections} keep-alive connections (closed loop: as fast as the answers come), after a warm-up of ${count(o.warmupRequests)} requests per scenario. ` +
      `Latency is the client's, per request to the microsecond (autocannon's own histogram rounds to whole milliseconds); req/s from the load's start to its last answer; CPU per 1,000 requests from /proc (utime + stime of each process) over the load window. Ratios are taken round by round against "router, shadow off" of the same round; the median over rounds, with the lowest and highest round in brackets.`,
    '',
    `Measured ${provenance.date} at ${provenance.commit} with \`${provenance.command}\` on ${provenance.machine}; load average (1 min) ${provenance.load.before.toFixed(1)} at the start, ${provenance.load.after.toFixed(1)} at the end; ${result.seconds.toFixed(0)} s in all.`,
    '',
  ];
  if (result.stopped !== undefined) lines.push(`**Cut short**: ${result.stopped}.`, '');
  lines.push(
    '| Scenario | req/s | p50 ms | p99 ms | router CPU ms / 1k req | candidate CPU ms / 1k req | copies per run: mirrored / compared / equal | failed |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
  );
  for (const s of result.scenarios) {
    const { failed, sent } = failedOf(s);
    lines.push(
      `| ${s.scenario.label} | ${count(medianOf(s, 'requestsPerSecond'))} | ${ms(medianOf(s, 'p50Ms'))} | ${ms(medianOf(s, 'p99Ms'))} | ${s.scenario.via === 'router' ? ms(medianOf(s, 'routerCpuMsPer1k')) : '—'} | ${ms(medianOf(s, 'candidateCpuMsPer1k'))} | ${copiesCell(s)} | ${failed} of ${count(sent)} |`,
    );
  }
  lines.push('');
  if (base !== undefined) {
    lines.push('Against "router, shadow off" (× the same round\'s figure; median over rounds, lowest–highest round):', '');
    lines.push('| Scenario | p50 | p99 | router CPU per request | req/s |', '| --- | ---: | ---: | ---: | ---: |');
    for (const s of result.scenarios) {
      if (s.scenario.id === BASELINE) continue;
      lines.push(
        `| ${s.scenario.label} | ${times(pairedRatio(s, base, 'p50Ms'))} | ${times(pairedRatio(s, base, 'p99Ms'))} | ${s.scenario.via === 'router' ? times(pairedRatio(s, base, 'routerCpuMsPer1k')) : '—'} | ${times(pairedRatio(s, base, 'requestsPerSecond'))} |`,
      );
    }
    lines.push('');
  }
  lines.push(
    `The same scenarios over **one connection** (${count(o.lightRequests)} requests per run, right after each run above, a shadow step of their own): the latency a request gets with no queue of clients in front of it, where a copy's work in the router can only delay the next request.`,
    '',
    '| Scenario | req/s | p50 ms | p99 ms | p50 vs shadow off | p99 vs shadow off |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const s of result.scenarios) {
    const vs = (metric: Metric): string => (base === undefined || s.scenario.id === BASELINE ? '—' : times(pairedRatio(s, base, metric)));
    lines.push(`| ${s.scenario.label} | ${count(medianOf(s, 'lightRequestsPerSecond'))} | ${ms3(medianOf(s, 'lightP50Ms'))} | ${ms3(medianOf(s, 'lightP99Ms'))} | ${vs('lightP50Ms')} | ${vs('lightP99Ms')} |`);
  }
  lines.push('');
  lines.push(...notes(result), '');
  return lines;
}

function notes(result: ShadowBenchResult): string[] {
  const out: string[] = [];
  const base = scenarioOf(result, BASELINE);
  const bare = scenarioOf(result, 'bare');
  const full = scenarioOf(result, 'share-1');
  const tenth = scenarioOf(result, 'share-0.1');
  if (base !== undefined && full !== undefined) {
    // CPU ms per 1,000 requests is CPU µs per request.
    const off = medianOf(base, 'routerCpuMsPer1k');
    const added = (s: ScenarioResult): string => `${medianOf(s, 'routerCpuMsPer1k') - off >= 0 ? '+' : '−'}${Math.abs(medianOf(s, 'routerCpuMsPer1k') - off).toFixed(0)} µs`;
    out.push(
      `- The router's CPU per request: ${off.toFixed(0)} µs with shadowing off, ${added(full)} with every GET copied (a second upstream exchange, both answers kept and parsed, the comparison)${tenth === undefined ? '' : `, ${added(tenth)} with a tenth copied`} (medians over rounds).`,
    );
  }
  if (bare !== undefined && base !== undefined) {
    out.push(
      `- The router itself, for context: straight to the stable backend, no router, the client's p50 is ${times(pairedRatio(bare, base, 'p50Ms'), false)} the routed one (one connection: ${times(pairedRatio(bare, base, 'lightP50Ms'), false)}) and its req/s ${times(pairedRatio(bare, base, 'requestsPerSecond'), false)}.`,
    );
  }
  out.push(
    `- What the latency figures are: with ${result.options.connections} connections the load is a closed loop at the machine's limit, so a run's latency is mostly waiting in line (p50 ≈ connections ÷ req/s) and its ratio follows the throughput's; over one connection it is the time of a request itself, plus whatever the previous request's copy left the router to do (the copy is made after the answer, so back-to-back requests meet it; requests spaced further apart than a copy's work would not meet it; not measured here). On this shared machine the client, the router and both backends compete for the same cores: the candidate's work answering the copies (its own CPU column) is taken from the router and the client here, where a real candidate runs on instances of its own.`,
  );
  for (const s of result.scenarios) {
    const { problems } = copiesHeld(s);
    if (problems.length > 0) out.push(`- **${s.scenario.label}: the copies were not as expected**: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; …' : ''}.`);
    const failures = s.samples.filter((sample) => sample.failed > 0);
    if (failures.length > 0) {
      out.push(
        `- **${s.scenario.label}: failed requests**: ${failures.map((f) => `round ${f.round + 1}: ${f.failed} (non-2xx ${f.non2xx}, errors ${f.errors}, timeouts ${f.timeouts})`).join('; ')}.`,
      );
    }
  }
  const loads = result.scenarios.flatMap((s) => s.samples.map((sample) => sample.load));
  if (loads.length > 0) out.push(`- Load average (1 min) at the end of each run: ${Math.min(...loads).toFixed(1)} to ${Math.max(...loads).toFixed(1)}.`);
  return out;
}

/** The Targets rows: the router's CPU with every GET copied, the client's p99 with a tenth copied, and no failed request. */
export function shadowTargetRows(result: ShadowBenchResult): string[] {
  const base = scenarioOf(result, BASELINE);
  const full = scenarioOf(result, TARGET_SCENARIO);
  const sampled = scenarioOf(result, SAMPLED_SCENARIO);
  if (base === undefined || full === undefined || full.samples.length === 0) return [];
  const cpu = pairedRatio(full, base, 'routerCpuMsPer1k');
  const p99 = pairedRatio(full, base, 'p99Ms');
  const failed = result.scenarios.reduce((total, s) => total + failedOf(s).failed, 0);
  const sent = result.scenarios.reduce((total, s) => total + failedOf(s).sent, 0);
  const copies = copiesHeld(full).held && (sampled === undefined || copiesHeld(sampled).held);
  const rows = [
    `${SHADOW_ROW_PREFIX}a copy costs the built-in router no more CPU than proxying the request: router CPU per client request with every GET copied (share 1) ≤ ${CPU_RATIO_TARGET}× shadowing off; no failed request | CPU ${times(cpu)} (client p99 at the machine's limit ${times(p99)}); ${failed} failed of ${count(sent)}${copies ? '' : '; copies not as expected'} | ${cpu.median <= CPU_RATIO_TARGET && failed === 0 && copies ? 'yes' : '**no**'} |`,
  ];
  if (sampled !== undefined && sampled.samples.length > 0) {
    const sampledP99 = pairedRatio(sampled, base, 'p99Ms');
    rows.push(
      `${SHADOW_ROW_PREFIX}client p99 with a tenth of GETs copied (share 0.1) ≤ ${SAMPLED_P99_RATIO_TARGET}× shadowing off (${result.options.connections} keep-alive connections at the machine's limit) | p99 ${times(sampledP99)} | ${sampledP99.median <= SAMPLED_P99_RATIO_TARGET ? 'yes' : '**no**'} |`,
    );
  }
  return rows;
}

/** A few lines for the console. */
export function shadowConsoleLines(result: ShadowBenchResult): string[] {
  const base = scenarioOf(result, BASELINE);
  const lines = ['', `Shadow steps: medians over ${result.rounds} rounds of ${count(result.options.requests)} requests, ${result.options.connections} connections`, ''];
  lines.push(`${'scenario'.padEnd(34)} ${'req/s'.padStart(7)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'CPU/1k'.padStart(7)}   p50×   p99×  CPU×  failed`);
  for (const s of result.scenarios) {
    const ratio = (metric: Metric): string => (base === undefined || s.scenario.id === BASELINE ? '   -  ' : pairedRatio(s, base, metric).median.toFixed(2).padStart(6));
    lines.push(
      `${s.scenario.label.padEnd(34)} ${count(medianOf(s, 'requestsPerSecond')).padStart(7)} ${ms(medianOf(s, 'p50Ms')).padStart(7)} ${ms(medianOf(s, 'p99Ms')).padStart(7)} ${(s.scenario.via === 'router' ? ms(medianOf(s, 'routerCpuMsPer1k')) : '-').padStart(7)} ${ratio('p50Ms')} ${ratio('p99Ms')} ${s.scenario.via === 'router' ? ratio('routerCpuMsPer1k') : '   -  '}  ${failedOf(s).failed}`,
    );
  }
  return lines;
}

// The "Overhead in instructions" section of RESULTS.md, its rows in the
// Targets table, and the Targets table's arrangement: every overhead target
// is judged on its instruction row, which stands just above the time-based
// rows of the same target; those are kept, their verdict marked indicative.
import type { Provenance } from '../toggles-report.js';
import { percent } from '../throughput-report.js';
import { previousSection, spliceSection } from '../results-sections.js';
import { LATEST, OLDEST } from '../versioning-fixture.js';
import { median } from './count-variant.js';
import {
  CONTROL_TOLERANCE,
  controlHolds,
  FIVE_BEHIND_TARGET_MICROS,
  frameworkFigures,
  MIN_CLEAN_BATCHES,
  METRICS_TARGET,
  THROUGHPUT_TARGET,
  TOGGLES_TARGET,
  VERSIONING_TARGET,
  type FrameworkFigures,
  type PerRequest,
} from './figures.js';
import type { InstructionsBenchResult } from './instructions-bench.js';
import { RATE_KINDS } from './count-transforms.js';
import { FRAMEWORKS, VARIANT_INFO, VARIANTS, type BatchKind, type Framework } from './variants.js';

export const INSTRUCTIONS_HEADING = '## Overhead in instructions (callgrind)';
export const INSTRUCTIONS_ROW_PREFIX = '| Overhead (instructions):';

const NAMES: Record<Framework, string> = { express: 'Express', fastify: 'Fastify' };
const ROUTE_OF: Record<BatchKind, string> = { GET: 'GET /orders/:id', POST: 'POST /orders' };

function count(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? 'n/a' : Math.round(value).toLocaleString('en-US');
}

function signed(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return 'n/a';
  return `${value >= 0 ? '+' : '−'}${Math.abs(Math.round(value)).toLocaleString('en-US')}`;
}

function pct(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? 'n/a' : percent(value);
}

/** Ratios near 100% need two decimals to show a 1% tolerance. */
function fine(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? 'n/a' : `${(value * 100).toFixed(2)}%`;
}

function times(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? 'n/a' : `${value.toFixed(2)}x`;
}

function micros(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? 'n/a' : `${value.toFixed(2)} µs`;
}

/** "2 Scavenge, 1 MarkCompact". */
function collectionsText(names: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
  return [...counts].map(([name, n]) => `${n} ${name}`).join(', ');
}

function figuresOf(result: InstructionsBenchResult): FrameworkFigures[] {
  return FRAMEWORKS.filter((f) => result.runs.some((r) => r.framework === f)).map((f) => frameworkFigures(f, result.runs, result.transforms));
}

/** "yes" / "**no**", with a note when the framework's A/A control is missing or outside the tolerance. */
function verdict(met: boolean | undefined, control: number | undefined): string {
  if (met === undefined) return '—';
  const base = met ? 'yes' : '**no**';
  if (control === undefined) return `${base} (no A/A control in this run)`;
  return controlHolds(control) ? base : `${base} (A/A control outside ±${percent(CONTROL_TOLERANCE)}: undecided)`;
}

function worst(values: (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  return known.length === values.length && known.length > 0 ? Math.min(...known) : undefined;
}

/** Rows of the Targets table (one per overhead target and framework). */
export function instructionsTargetRows(result: InstructionsBenchResult | undefined): string[] {
  if (result === undefined || result.notMeasured !== undefined || result.runs.length === 0) {
    const why = result?.notMeasured ?? (result ? 'no app was counted' : 'not measured');
    return [`${INSTRUCTIONS_ROW_PREFIX} every overhead target, main-thread instructions per request (callgrind) | ${why} | — |`];
  }
  const rows: string[] = [];
  for (const f of figuresOf(result)) {
    const name = NAMES[f.framework];
    const aa = `A/A control ${fine(f.control)}`;
    const per = (variant: keyof FrameworkFigures['perRequest'], kind: BatchKind = 'GET'): string => count(f.perRequest[variant]?.[kind]?.median);
    if (f.baton !== undefined) {
      rows.push(
        `${INSTRUCTIONS_ROW_PREFIX} ${name} + Baton vs bare ${name}: keeps ≥ ${percent(THROUGHPUT_TARGET)} of bare's throughput per CPU (bare's instructions per request ÷ Baton's, \`GET /orders/:id\`) | ` +
          `${fine(f.baton)} (bare ${per('bare')}, Baton ${per('baton')} instructions/request); ${aa} | ${verdict(f.baton >= THROUGHPUT_TARGET, f.control)} |`,
      );
    }
    if (f.metrics !== undefined) {
      rows.push(
        `${INSTRUCTIONS_ROW_PREFIX} ${name} + Baton + metrics vs bare ${name}: keeps ≥ ${percent(METRICS_TARGET)} (instructions per request) | ` +
          `${fine(f.metrics)} (${per('batonMetrics')} instructions/request; ${fine(f.metricsOfBaton)} of Baton alone); ${aa} | ${verdict(f.metrics >= METRICS_TARGET, f.control)} |`,
      );
    }
    if (f.toggles !== undefined) {
      const t = f.toggles;
      rows.push(
        `${INSTRUCTIONS_ROW_PREFIX} ${name} + toggles: a route's toggles (\`isEnabled\` + \`getVariant\`) through Baton ≤ ${times(TOGGLES_TARGET)} raw unleash-client's in the route (instructions each adds per request over Baton's plain route) | ` +
          `${times(t.ratio)} (Baton ${signed(t.batonAdds)}, raw ${signed(t.rawAdds)} instructions/request); whole requests ${times(t.wholeRatio)}; Baton + toggles keeps ${fine(t.keptOfBaton)} of Baton's throughput per CPU; ${aa} | ${verdict(t.ratio <= TOGGLES_TARGET, f.control)} |`,
      );
    }
    const routes = (['GET', 'POST'] as const).filter((kind) => f.versioning[kind] !== undefined);
    if (routes.length > 0) {
      const latestBare = worst(routes.map((kind) => f.versioning[kind]?.latestVsBare));
      if (latestBare !== undefined) {
        rows.push(
          `${INSTRUCTIONS_ROW_PREFIX} ${name}, latest-version request vs the bare framework: keeps ≥ ${percent(VERSIONING_TARGET)} (instructions per request, both routes) | ` +
            `${routes.map((kind) => `${kind} ${fine(f.versioning[kind]?.latestVsBare)} (${per('vBare', kind)} → ${per('vLatest', kind)})`).join(', ')}; ${aa} | ${verdict(latestBare >= VERSIONING_TARGET, f.control)} |`,
        );
      }
      const latestBaton = worst(routes.map((kind) => f.versioning[kind]?.latestVsBaton));
      if (latestBaton !== undefined) {
        rows.push(
          `${INSTRUCTIONS_ROW_PREFIX} ${name}, latest-version request vs Baton without versioning (versioning's own): keeps ≥ ${percent(VERSIONING_TARGET)} (instructions per request) | ` +
            `${routes.map((kind) => `${kind} ${fine(f.versioning[kind]?.latestVsBaton)} (${signed(f.versioning[kind]?.latestAdds)} instructions)`).join(', ')}; ${aa} | ${verdict(latestBaton >= VERSIONING_TARGET, f.control)} |`,
        );
      }
      const shares = routes.map((kind) => f.versioning[kind]?.fiveBehind?.batonShareMicros);
      const known = shares.filter((v): v is number => v !== undefined && Number.isFinite(v));
      if (known.length === routes.length) {
        rows.push(
          `${INSTRUCTIONS_ROW_PREFIX} ${name}, a client five versions behind (${OLDEST}): Baton's own share (chain + adapter, the user's transforms and the smaller bodies' effect taken out) ≤ ${FIVE_BEHIND_TARGET_MICROS} µs per request | ` +
            `${routes.map((kind) => `${kind} ${micros(f.versioning[kind]?.fiveBehind?.batonShareMicros)} (${signed(f.versioning[kind]?.fiveBehind?.batonShare)} instructions)`).join(', ')} at ${count(result.transforms?.rate.used)} instructions/µs; ${aa} | ${verdict(Math.max(...known) <= FIVE_BEHIND_TARGET_MICROS, f.control)} |`,
        );
      }
    }
  }
  for (const failure of result.failures) rows.push(`${INSTRUCTIONS_ROW_PREFIX} ${NAMES[failure.framework]} ${VARIANT_INFO[failure.variant].label} | not measured: ${oneLine(failure.error)} | — |`);
  return rows;
}

function oneLine(text: string): string {
  return (text.split('\n')[0] ?? '').replaceAll('|', '/').slice(0, 200);
}

/** Console lines. */
export function instructionsConsoleLines(result: InstructionsBenchResult): string[] {
  if (result.notMeasured !== undefined) return ['', `Instructions per request: not measured (${result.notMeasured})`];
  const lines = ['', `Instructions per request (callgrind, main thread; median of ${result.settings.passes} batches; took ${result.seconds} s)`];
  for (const f of figuresOf(result)) {
    const name = NAMES[f.framework];
    for (const variant of VARIANTS) {
      const kinds = f.perRequest[variant];
      if (!kinds) continue;
      const parts = (Object.entries(kinds) as [BatchKind, PerRequest][]).map(([kind, p]) => `${VARIANT_INFO[variant].family === 'versioning' ? `${kind} ` : ''}${count(p.median)} (${p.used < p.batches ? `${p.used} of ${p.batches} ` : ''}batches ±${percent(p.spread / 2)}${p.collections.length > 0 ? `, collections inside: ${collectionsText(p.collections)}` : ''})`);
      lines.push(`  ${name.padEnd(8)} ${VARIANT_INFO[variant].label.padEnd(42)} ${parts.join(', ')}`);
    }
    const bits = [
      f.control !== undefined ? `A/A ${fine(f.control)}` : undefined,
      f.baton !== undefined ? `Baton vs bare ${fine(f.baton)}` : undefined,
      f.metrics !== undefined ? `+metrics vs bare ${fine(f.metrics)} (vs Baton ${fine(f.metricsOfBaton)})` : undefined,
      f.toggles !== undefined ? `toggles through Baton ÷ raw ${times(f.toggles.ratio)} (+toggles keeps ${fine(f.toggles.keptOfBaton)} of Baton)` : undefined,
      ...(['GET', 'POST'] as const).map((kind) => {
        const v = f.versioning[kind];
        if (!v) return undefined;
        const five = v.fiveBehind ? `, five behind: Baton's share ${signed(v.fiveBehind.batonShare)} instructions = ${micros(v.fiveBehind.batonShareMicros)} (chain ${signed(v.fiveBehind.chainOwn)}, adapter and the rest ${signed(v.fiveBehind.adapter)}; transforms ${count(v.fiveBehind.transforms)}, body-size effect ${signed(v.fiveBehind.bodyDelta)})` : '';
        return `${kind} latest vs Baton w/o versioning ${fine(v.latestVsBaton)}, vs bare ${fine(v.latestVsBare)}${five}`;
      }),
    ].filter((x): x is string => x !== undefined);
    lines.push(`  ${name}: ${bits.join('; ')}`);
  }
  if (result.transforms) lines.push(`  instructions per µs (loops counted and timed natively; the lowest used): ${count(result.transforms.rate.used)} (${RATE_KINDS.map((kind) => `${kind} ${count(result.transforms?.rate[kind])}`).join(', ')})`);
  for (const failure of result.failures) lines.push(`  ${NAMES[failure.framework]} ${failure.variant}: failed (${oneLine(failure.error)})`);
  if (result.transformsError) lines.push(`  transforms: failed (${oneLine(result.transformsError)})`);
  return lines;
}

/** The section. */
export function instructionsMarkdown(result: InstructionsBenchResult | undefined, provenance: Provenance, notMeasured: string): string[] {
  const lines = [INSTRUCTIONS_HEADING, ''];
  if (result === undefined || result.notMeasured !== undefined) {
    lines.push(result?.notMeasured ? `Not measured: ${result.notMeasured}.` : notMeasured, '');
    return lines;
  }
  const s = result.settings;
  lines.push(
    '`bench/src/instructions/` (`pnpm --filter @baton/bench bench:instructions`): what each overhead target is judged on. Every app is a server in a process of its own under callgrind ' +
      `(\`${result.tool}\`); this process sends it a fixed sequence of real HTTP/1.1 requests over one keep-alive connection on the loopback, one at a time (\`instructions/request-driver.ts\`; real sockets rather than an injector such as light-my-request, because Baton's lifecycle and probes work at the node:http server, which an injector bypasses, and a request's share of a real request must include Node's parsing and socket writes). ` +
      `After the answers are checked and a warm-up (${s.warmup.orders.toLocaleString('en-US')} requests of the orders app, ${s.warmup.versioning.toLocaleString('en-US')} per route of the versioning API), ${s.passes} passes of batches (${s.batch.orders.toLocaleString('en-US')} requests; ${s.batch.versioning.toLocaleString('en-US')} per route of the versioning API), ` +
      'each batch between two markers (`os.getPriority()`, on which callgrind dumps its counts), a full collection before each and a young generation of ' +
      `${s.semiSpaceMb} MB so that none runs inside a batch (V8's GCProfiler checks: the "collections" column; a batch in which one ran anyway is left out of the median when ${MIN_CLEAN_BATCHES} or more others are left, "batches" then says how many were used). Counted: the main thread's instructions per request, the markers' own cost (an empty batch each pass) subtracted; every counted request's body is compared with the one checked. ` +
      'Ratios are the share of the reference\'s throughput per CPU an app keeps: the reference\'s instructions per request ÷ the app\'s. Instruction counts do not move with the machine\'s speed or its neighbours, so the A/A control (bare in two processes) sits within a fraction of a percent of 100% where the time-based controls read 91–126%; what is left between processes is V8 making slightly different optimisation decisions. ' +
      'The time-based figures of the other sections stay beside these in the Targets table, as indicative.',
    '',
    `- Measured: ${provenance.date}; command \`${provenance.command}\`${provenance.quick ? ' (quick mode)' : ''}; ${provenance.commit}`,
    `- Machine: ${provenance.machine}; Node ${provenance.node}; took ${result.seconds} s (${s.jobs} processes under callgrind at a time)${result.subset ? `; a subset of the apps (\`BENCH_INSTRUCTIONS_ONLY\`)` : ''}`,
    '',
    '| Framework | App | Wiring | Route | instructions / request (median) | batches (spread) | collections in batches | keeps of bare | keeps of the reference |',
    '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |',
  );
  const figures = figuresOf(result);
  for (const f of figures) {
    for (const variant of VARIANTS) {
      const kinds = f.perRequest[variant];
      if (!kinds) continue;
      const info = VARIANT_INFO[variant];
      for (const [kind, p] of Object.entries(kinds) as [BatchKind, PerRequest][]) {
        const bareOf = info.family === 'orders' ? f.perRequest.bare?.GET?.median : f.perRequest.vBare?.[kind]?.median;
        const reference =
          variant === 'bareAgain' ? f.perRequest.bare?.GET?.median
          : variant === 'batonMetrics' || variant === 'batonToggles' || variant === 'batonRawToggles' ? f.perRequest.baton?.GET?.median
          : variant === 'vLatest' || variant === 'vOldest' ? f.perRequest.vBaton?.[kind]?.median
          : undefined;
        const referenceName = variant === 'bareAgain' ? 'bare' : variant === 'vLatest' || variant === 'vOldest' ? 'Baton w/o versioning' : reference !== undefined ? 'Baton' : '';
        const isBare = variant === 'bare' || variant === 'vBare';
        lines.push(
          `| ${NAMES[f.framework]} | ${info.label} | ${info.wiring} | \`${info.family === 'orders' ? ROUTE_OF.GET : ROUTE_OF[kind]}\` | ${count(p.median)} | ${p.used < p.batches ? `${p.used} of ${p.batches}` : p.batches} (±${percent(p.spread / 2)}) | ${p.collections.length === 0 ? 'none' : collectionsText(p.collections)} | ` +
            `${isBare ? '1 (baseline)' : fine(bareOf !== undefined ? bareOf / p.median : undefined)} | ${reference !== undefined ? `${fine(reference / p.median)} (of ${referenceName})` : ''} |`,
        );
      }
    }
  }
  lines.push('');
  for (const f of figures) {
    const name = NAMES[f.framework];
    const parts: string[] = [];
    if (f.control !== undefined) parts.push(`A/A control (bare ÷ bare in a second process) **${fine(f.control)}** (${controlHolds(f.control) ? `within ±${percent(CONTROL_TOLERANCE)}` : `outside ±${percent(CONTROL_TOLERANCE)}`})`);
    if (f.baton !== undefined) parts.push(`Baton keeps **${fine(f.baton)}** of bare (target ≥ ${percent(THROUGHPUT_TARGET)})`);
    if (f.metrics !== undefined) parts.push(`Baton + metrics **${fine(f.metrics)}** of bare (target ≥ ${percent(METRICS_TARGET)}), ${fine(f.metricsOfBaton)} of Baton alone`);
    if (f.toggles !== undefined) {
      parts.push(
        `a route reading two toggles adds ${signed(f.toggles.batonAdds)} instructions per request through \`req.toggles\` and ${signed(f.toggles.rawAdds)} through raw unleash-client: **${times(f.toggles.ratio)}** (target ≤ ${times(TOGGLES_TARGET)}); Baton + toggles keeps ${fine(f.toggles.keptOfBaton)} of Baton's throughput per CPU`,
      );
    }
    for (const kind of ['GET', 'POST'] as const) {
      const v = f.versioning[kind];
      if (!v) continue;
      parts.push(`\`${ROUTE_OF[kind]}\`: latest-version request **${fine(v.latestVsBare)}** of bare and **${fine(v.latestVsBaton)}** of Baton without versioning (${signed(v.latestAdds)} instructions; target ≥ ${percent(VERSIONING_TARGET)}); Baton without versioning ${fine(v.batonVsBare)} of bare`);
    }
    lines.push(`- ${name}: ${parts.join('; ')}.`);
  }
  lines.push('');

  lines.push('### A client five versions behind: Baton\'s share', '');
  const t = result.transforms;
  if (t) {
    lines.push(
      `A five-behind request (\`Api-Version: ${OLDEST}\`) against the same app sent \`Api-Version: ${LATEST}\` and against Baton without versioning. What versioning adds for the old client is split by counting, in a process of its own under callgrind (\`instructions/transforms-process.ts\`), ` +
        `the user's five transforms alone on the same bodies (downgrades newest first; for the POST also the upgrades oldest first) and the framework's work that differs because the old bodies are smaller (\`JSON.stringify\` of the answer, and for the POST \`JSON.parse\` of the draft: oldest minus latest, negative). ` +
        'Baton\'s share = five-behind − Baton without versioning − the transforms − the body-size effect: the chain around the transforms, the adapter\'s hooks, the `Api-Version`, `Vary`, `Deprecation`, `Sunset` and `Link` headers, and the one header more the client sends. ' +
        `Approximate in one way: V8 optimises the transforms in that loop on their own, where in the server Baton calls them. The same process also counts Baton's versioning core alone as an adapter calls it (\`decide\`, \`routeExists\`, \`upgradeRequest\`, \`downgradeResponse\`, the transforms inside): minus the transforms, the chain's own part of Baton's share; the rest is the adapter's (hooks, headers, reading and replacing the bodies). ` +
        `To µs at **${count(t.rate.used)} instructions per µs**, measured here: those loops counted under callgrind and timed natively in the process's CPU time (median of ${t.rounds} rounds; ${RATE_KINDS.map((kind) => `${kind} ${count(t.rate[kind])}`).join(', ')}; the lowest is used, which gives the largest µs). ` +
        'The rate moves with the machine\'s speed (±20% between runs on this kind of machine) and with the kind of code: the instruction figure is the stable one.',
      '',
      '| Framework | Route | five behind − Baton w/o versioning | of which over latest | the user\'s transforms | body-size effect | Baton\'s share (instructions) | of which the chain\'s own | the adapter and the rest | Baton\'s share (µs) | target |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const f of figures) {
      for (const kind of ['GET', 'POST'] as const) {
        const five = f.versioning[kind]?.fiveBehind;
        if (!five) continue;
        lines.push(
          `| ${NAMES[f.framework]} | \`${ROUTE_OF[kind]}\` | ${signed(five.adds)} | ${signed(five.overLatest)} | ${count(five.transforms)} | ${signed(five.bodyDelta)} | **${signed(five.batonShare)}** | ${signed(five.chainOwn)} | ${signed(five.adapter)} | **${micros(five.batonShareMicros)}** | ≤ ${FIVE_BEHIND_TARGET_MICROS} µs: ${five.batonShareMicros <= FIVE_BEHIND_TARGET_MICROS ? 'met' : 'not met'} |`,
        );
      }
    }
    lines.push(
      '',
      `The loops alone (instructions per iteration, median of ${t.passes} batches of ${t.iterations.toLocaleString('en-US')}; natively ns per iteration): ` +
        (Object.keys(t.instructions) as (keyof typeof t.instructions)[]).filter((kind) => kind !== 'loop').map((kind) => `${kind} ${count(t.instructions[kind])} (${Math.round(t.nativeNs[kind]).toLocaleString('en-US')} ns)`).join(', ') +
        '.',
      '',
    );
  } else {
    lines.push(result.transformsError ? `Not measured: ${oneLine(result.transformsError)}.` : 'Not measured in this run (no five-behind app selected).', '');
  }

  const failures = result.failures;
  if (failures.length > 0) {
    lines.push('### Not counted', '');
    for (const failure of failures) lines.push(`- ${NAMES[failure.framework]} ${VARIANT_INFO[failure.variant].label}: ${oneLine(failure.error)}`);
    lines.push('');
  }
  lines.push('### Checks before counting', '');
  for (const run of result.runs.toSorted((a, b) => a.framework.localeCompare(b.framework) || VARIANTS.indexOf(a.variant) - VARIANTS.indexOf(b.variant))) {
    lines.push(...run.checks.map((check) => `- ${check} (${run.seconds} s under callgrind)`));
  }
  lines.push('', `Time per app under callgrind: median ${Math.round(median(result.runs.map((r) => r.seconds)))} s, longest ${Math.max(0, ...result.runs.map((r) => r.seconds))} s.`, '');
  return lines;
}

/** The section of a RESULTS.md text and its Targets rows; undefined when it has none. */
export function previousInstructions(text: string): { section: string[]; rows: string[] } | undefined {
  return previousSection(text, INSTRUCTIONS_HEADING, INSTRUCTIONS_ROW_PREFIX);
}

/** RESULTS.md with only this section and its Targets rows replaced (added at the end when absent). */
export function spliceInstructions(text: string, section: readonly string[], rows: readonly string[]): string {
  return spliceSection(text, INSTRUCTIONS_HEADING, INSTRUCTIONS_ROW_PREFIX, section, rows);
}

// ---- The Targets table: judged on instructions, the time-based rows beside -------------------

interface Group {
  /** How the instruction row starts (after the prefix). */
  row: string;
  /** The time-based rows of the same target: the instruction row goes above the first of them. */
  anchors: string[];
  /** Those of them whose verdict becomes indicative. */
  demote: string[];
}

function groups(): Group[] {
  const list: Group[] = [];
  for (const framework of FRAMEWORKS) {
    const n = NAMES[framework];
    list.push(
      { row: ` ${n} + Baton vs bare`, anchors: [`| ${n} + Baton: throughput`, `| ${n} + Baton: CPU per request`], demote: [`| ${n} + Baton: CPU per request`] },
      { row: ` ${n} + Baton + metrics vs bare`, anchors: [`| ${n} + Baton + metrics: CPU per request`, `| ${n} + Baton + metrics: throughput`], demote: [`| ${n} + Baton + metrics: CPU per request`] },
      { row: ` ${n} + toggles:`, anchors: ['| Toggles: `isEnabled`'], demote: ['| Toggles: `isEnabled`', '| Toggles: `getVariant`'] },
      { row: ` ${n}, latest-version request vs the bare`, anchors: [`| API versioning: ${n}, latest-version request vs the bare`], demote: [`| API versioning: ${n}, latest-version request vs the bare`] },
      { row: ` ${n}, latest-version request vs Baton`, anchors: [`| API versioning: ${n}, latest-version request vs Baton`], demote: [`| API versioning: ${n}, latest-version request vs Baton`] },
      { row: ` ${n}, a client five versions behind`, anchors: [`| API versioning: ${n}, a client five versions behind`], demote: [] },
    );
  }
  return list;
}

function metCell(row: string): string {
  const body = row.replace(/\s*\|\s*$/, '');
  return body.slice(body.lastIndexOf(' | ') + 3).trim();
}

function withMet(row: string, met: string): string {
  const body = row.replace(/\s*\|\s*$/, '');
  return `${body.slice(0, body.lastIndexOf(' | ') + 3)}${met} |`;
}

/** A time-based verdict, marked indicative. */
function indicative(met: string): string {
  if (met.startsWith('indicative') || met === 'reported' || met === '—') return met;
  if (met === 'yes') return 'indicative (met)';
  if (met === '**no**') return 'indicative (not met)';
  if (met.startsWith('yes (')) return `indicative (met ${met.slice(5, -1)})`;
  return `indicative (${met.replaceAll('*', '')})`;
}

/**
 * The Targets table of a RESULTS.md text arranged so that each overhead
 * target is judged on its instruction row: the row stands just above the
 * time-based rows of the same target, whose verdicts become "indicative
 * (...)". Instruction rows without figures change nothing. Idempotent.
 */
export function judgeOnInstructions(text: string): string {
  const lines = text.split('\n');
  const start = lines.indexOf('## Targets');
  if (start < 0) return text;
  let end = lines.findIndex((line, i) => i > start && line.startsWith('## '));
  if (end < 0) end = lines.length;
  const tableAt = lines.findIndex((line, i) => i > start && i < end && line.startsWith('|'));
  if (tableAt < 0) return text;
  let tableEnd = tableAt;
  while (tableEnd < end && (lines[tableEnd] ?? '').startsWith('|')) tableEnd += 1;
  const table = lines.slice(tableAt, tableEnd);
  const ours = table.filter((line) => line.startsWith(INSTRUCTIONS_ROW_PREFIX));
  if (ours.length === 0) return text;
  let rest = table.filter((line) => !line.startsWith(INSTRUCTIONS_ROW_PREFIX));
  const all = groups();
  const placed = new Map<number, string[]>();
  const unplaced: string[] = [];
  for (const row of ours) {
    const group = all.find((g) => row.startsWith(`${INSTRUCTIONS_ROW_PREFIX}${g.row}`));
    const judged = ['yes', '**no**'].some((v) => metCell(row).startsWith(v));
    if (group && judged) rest = rest.map((line) => (group.demote.some((prefix) => line.startsWith(prefix)) ? withMet(line, indicative(metCell(line))) : line));
    const at = group ? rest.findIndex((line) => group.anchors.some((prefix) => line.startsWith(prefix))) : -1;
    if (at < 0) unplaced.push(row);
    else placed.set(at, [...(placed.get(at) ?? []), row]);
  }
  const arranged: string[] = [];
  rest.forEach((line, i) => {
    arranged.push(...(placed.get(i) ?? []), line);
  });
  arranged.push(...unplaced);
  lines.splice(tableAt, tableEnd - tableAt, ...arranged);
  return lines.join('\n');
}

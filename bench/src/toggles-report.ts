// The "Toggles" section of RESULTS.md and its rows in the Targets table, from
// toggles-compare.ts. The section carries its own date, command and commit:
// a run of the toggles part alone (BENCH_SKIP=throughput,cpu,drain) updates
// only this section and these rows, and a run that skips it keeps them.
import { CASES, TOGGLES_TARGET, type TogglesBenchResult } from './toggles-compare.js';
import { TOGGLE_SHAPES } from './toggles-fixture.js';
import { previousSection, spliceSection } from './results-sections.js';

/** Baton's extra bytes per call above which it counts as allocating: half the smallest heap object (16 bytes), so one allocation every other call shows. */
export const ALLOCATION_TOLERANCE_BYTES = 8;

export const TOGGLES_HEADING = '## Toggles';
const ROW_PREFIX = '| Toggles:';

/** Where and how the figures were taken. */
export interface Provenance {
  date: string;
  command: string;
  quick: boolean;
  commit: string;
  machine: string;
  node: string;
}

function times(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : 'n/a';
}

function ns(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

function bytes(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1);
}

function signedBytes(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (Math.abs(value) < 0.05) return '0.0';
  return `${value > 0 ? '+' : '−'}${Math.abs(value).toFixed(1)}`;
}

function info(id: string): (typeof CASES)[number] {
  const found = CASES.find((c) => c.id === id);
  if (found === undefined) throw new Error(`toggles report: unknown case ${id}`);
  return found;
}

function timed(result: TogglesBenchResult, id: string): TogglesBenchResult['timing']['cases'][number] | undefined {
  return result.timing.cases.find((c) => c.id === id);
}

/** The time target's verdict per API: the worst median ratio of the judged cases. */
function worst(result: TogglesBenchResult, api: 'isEnabled' | 'getVariant'): number {
  const ratios = result.timing.cases.filter((c) => info(c.id).judged && info(c.id).api === api).map((c) => c.ratio);
  return ratios.length === 0 ? Number.NaN : Math.max(...ratios);
}

function worstExtraBytes(result: TogglesBenchResult): number {
  const extras = result.allocation.cases.filter((c) => info(c.id).judged).map((c) => c.extraBytes);
  return extras.length === 0 ? Number.NaN : Math.max(...extras);
}

function instructionRatio(result: TogglesBenchResult, id: string): number | undefined {
  return result.instructions?.cases.find((c) => c.id === id)?.ratio;
}

/** Rows of the Targets table. */
export function togglesTargetRows(result: TogglesBenchResult | undefined): string[] {
  if (result === undefined) return [`${ROW_PREFIX} Baton ≤ ${times(TOGGLES_TARGET)} raw unleash-client's time per evaluation, no per-call allocation | not measured | — |`];
  const aa = timed(result, 'aa');
  const control = `A/A control ${times(aa?.ratio ?? Number.NaN)}`;
  const r = (id: string): string => times(timed(result, id)?.ratio ?? Number.NaN);
  const rows: string[] = [];
  const single = result.timing.cases.filter((c) => c.id.startsWith('file:') && info(c.id).api === 'isEnabled' && c.id !== 'file:all').map((c) => c.ratio);
  const instructions = (ids: string[]): string => {
    const ratios = ids.map((id) => instructionRatio(result, id));
    return ratios.every((x) => x !== undefined) ? `; instructions (callgrind) ${ratios.map((x) => times(x as number)).join(', ')}` : '';
  };
  const verdict = (api: 'isEnabled' | 'getVariant', ids: string[]): string => {
    const met = worst(result, api) <= TOGGLES_TARGET;
    const over = ids.map((id) => instructionRatio(result, id)).some((x) => x !== undefined && x > TOGGLES_TARGET);
    return `${met ? 'yes' : '**no**'}${met && over ? ' (on time; not in instructions)' : ''}`;
  };
  rows.push(
    `${ROW_PREFIX} \`isEnabled\` through Baton ≤ ${times(TOGGLES_TARGET)} raw unleash-client ${result.unleashClient}'s time (same toggles and contexts) | ` +
      `file source ${r('file:all')} (each toggle alone ${times(Math.min(...single))}–${times(Math.max(...single))}), request scope ${r('scope:all')}, registry defaults ${r('defaults:all')}; ${control}${instructions(['file:all', 'scope:all'])} | ` +
      `${verdict('isEnabled', ['file:all', 'scope:all'])} |`,
  );
  rows.push(
    `${ROW_PREFIX} \`getVariant\` through Baton ≤ ${times(TOGGLES_TARGET)} raw unleash-client's time | file source ${r('file:variant')}, request scope ${r('scope:variant')}; ${control}${instructions(['file:variant', 'scope:variant'])} | ${verdict('getVariant', ['file:variant', 'scope:variant'])} |`,
  );
  const extra = worstExtraBytes(result);
  const raws = result.allocation.cases.filter((c) => info(c.id).judged).map((c) => c.rawBytes);
  rows.push(
    `${ROW_PREFIX} no per-call allocation by Baton for a reused context | Baton's extra over raw: ${signedBytes(Math.min(...result.allocation.cases.filter((c) => info(c.id).judged).map((c) => c.extraBytes)))} to ${signedBytes(extra)} B/call ` +
      `(raw unleash-client itself allocates ${bytes(Math.min(...raws))}–${bytes(Math.max(...raws))} B/call) | ${extra < ALLOCATION_TOLERANCE_BYTES ? 'yes' : '**no**'} |`,
  );
  return rows;
}

/** Console lines of the toggles figures. */
export function togglesConsoleLines(result: TogglesBenchResult): string[] {
  const lines = ['', `Toggles: Baton ÷ raw unleash-client ${result.unleashClient}, time per call (median of ${result.timing.rounds} alternating rounds; CPU time)`];
  for (const c of result.timing.cases) {
    const i = info(c.id);
    lines.push(`  ${(c.id === 'aa' ? 'A/A (raw vs raw)' : `${i.api} ${c.id}`).padEnd(28)} ${times(c.ratio).padStart(6)}   (${ns(c.batonNs)} vs ${ns(c.rawNs)} ns; rounds ${times(c.ratioQ1)}–${times(c.ratioQ3)})`);
  }
  lines.push(`  allocation, Baton's extra bytes per call: ${result.allocation.cases.filter((c) => info(c.id).judged).map((c) => `${c.id} ${signedBytes(c.extraBytes)}`).join(', ')}`);
  if (result.instructions) {
    lines.push(`  instructions per call (callgrind), Baton ÷ raw: ${result.instructions.cases.map((c) => `${c.id} ${times(c.ratio)}`).join(', ')}; A/A raw ${times(result.instructions.rawAgainRatio)}`);
  } else if (result.instructionsNote) {
    lines.push(`  instructions: ${result.instructionsNote}`);
  }
  if (result.timing.mismatches.length > 0) lines.push(`  MISMATCHES between Baton and raw: ${result.timing.mismatches.join('; ')}`);
  return lines;
}

/** The "Toggles" section. */
export function togglesMarkdown(result: TogglesBenchResult | undefined, provenance: Provenance, notMeasured: string): string[] {
  const lines = [TOGGLES_HEADING, ''];
  if (result === undefined) {
    lines.push(notMeasured, '');
    return lines;
  }
  const t = result.timing;
  const a = result.allocation;
  lines.push(
    `\`bench/src/toggles-compare.ts\` (setup in \`bench/src/toggles-fixture.ts\`): \`isEnabled\` and \`getVariant\` through Baton (\`@baton/toggles\`) against raw unleash-client ${result.unleashClient} on the same toggles, in Unleash's client format, ` +
      `and the same ${result.contexts.toLocaleString('en-US')} contexts (\`{ userId, remoteAddress, properties: { release } }\`, a quarter on release v2), made once and reused. ` +
      "Raw: `new Unleash({ appName, url: 'http://127.0.0.1:9/api', refreshInterval: 0, disableMetrics: true, bootstrap: { data: features }, storageProvider: (in memory), skipInstanceCountWarning: true })`, ready before the rounds. " +
      "Baton: `createToggles(registry, { source: { type: 'file', path, watch: false } })` over the same features as a file, called directly (`flags.isEnabled(name, ctx)`) and through request scopes " +
      "(`requestScopeFactory(flags, { userId, remoteAddress, properties })(req, raw)`, one per context, made once and reused: `scope.isEnabled(name)`, the per-request API), and over the registry's defaults (raw then bootstrapped with the same defaults as features). " +
      `Before the rounds every evaluation of each Baton side was compared with raw's, one by one: ${t.compared.toLocaleString('en-US')} compared, ${t.mismatches.length === 0 ? 'none differed' : `**${t.mismatches.length} differed** (${t.mismatches.join('; ')})`}. ` +
      `Target (the toggles issue): Baton ≤ ${times(TOGGLES_TARGET)} raw unleash-client's time per call; no per-call allocation by Baton for a reused context.`,
    '',
    `- Measured: ${provenance.date}; command \`${provenance.command}\`${provenance.quick ? ' (quick mode)' : ''}; ${provenance.commit}`,
    `- Machine: ${provenance.machine}; Node ${provenance.node}`,
    '',
    '| Toggle | Strategy |',
    '| --- | --- |',
    ...Object.entries(TOGGLE_SHAPES).map(([name, shape]) => `| \`${name}\` | ${shape} |`),
    '',
    '### Time per call (both sides in one process, alternating)',
    '',
    `One fresh process holds both sides; ${t.rounds} rounds, each running every case's two sides back to back (Baton first in even rounds, raw first in odd ones; the cases' order rotates), ` +
      'each side a batch of ~5 ms of calls over the reused contexts. A batch is timed in the process\'s CPU time (not wall time: a batch preempted by a neighbour would carry its work) and starts after a full collection, so the collections it pays for are its own. ' +
      'Ratio = Baton ÷ raw ns per call in the same round; the figure is the median over rounds, with the middle half of the rounds\' ratios beside it. ' +
      'The A/A row is raw against a second raw instance over the same features: the noise floor. Both sides share one process, one JIT and the same unleash-client code (Baton evaluates through it), so type feedback from one side reaches the other; the instruction counts below run each side in a process of its own.',
    '',
    '| Case | Baton | raw | Toggles | Baton ns/call | raw ns/call | Baton ÷ raw | rounds (middle half) | ≤ 1.10x |',
    '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- |',
    ...t.cases.map((c) => {
      const i = info(c.id);
      const met = i.judged ? (c.ratio <= TOGGLES_TARGET ? 'yes' : '**no**') : '(control)';
      return `| ${i.api} | ${i.baton} | ${i.raw} | ${i.toggles} | ${ns(c.batonNs)} | ${ns(c.rawNs)} | **${times(c.ratio)}** | ${times(c.ratioQ1)}–${times(c.ratioQ3)} | ${met} |`;
    }),
    '',
  );

  lines.push('### Instructions per call (callgrind)', '');
  const ins = result.instructions;
  if (ins) {
    lines.push(
      `\`${ins.tool}\`, each side in processes of its own (nothing shared: not the JIT's feedback, not the heap), two processes per side: raw unleash-client (\`isEnabled\` over the four toggles, \`getVariant\`) and Baton (the file source directly and through request scopes). ` +
        `After a warm-up, ${ins.passes} passes of batches of ${ins.callsPerBatch.toLocaleString('en-US')} calls, each batch between two markers on which callgrind dumps its counts (\`os.getPriority()\`, i.e. \`uv_os_getpriority\`), after a full collection and with a young generation large enough (64 MB) that none runs inside a batch; ` +
        'the main thread\'s instructions only (V8\'s compiler and GC helper threads excluded). So this is the cost of running the calls\' code; the collections the garbage costs are in proportion to the bytes allocated, shown next. ' +
        `Instruction counts repeat where time does not (passes of one process agree within a fraction of a percent), but V8's optimisation decisions are not always the same from one process to the next: the A/A rows (a side's second process against its first) show how far they moved. The loop alone costs ${Math.round(ins.loop)} instructions per call. Took ${ins.seconds} s.`,
      '',
      '| Case | Baton instructions/call (process 1, 2) | raw instructions/call (process 1, 2) | Baton ÷ raw |',
      '| --- | ---: | ---: | ---: |',
      ...ins.cases.map((c) => {
        const i = info(c.id);
        return `| ${i.api}: ${i.baton} | ${c.baton.map(ns).join(', ')} | ${c.raw.map(ns).join(', ')} | **${times(c.ratio)}** |`;
      }),
      '',
      `- A/A: raw's second process ${times(ins.rawAgainRatio)} of its first (\`isEnabled\`); Baton's ${times(ins.batonAgainRatio)} (\`isEnabled\`, file source).`,
      '',
    );
  } else {
    lines.push(`Instruction counts ${result.instructionsNote ?? 'not measured'}.`, '');
  }

  lines.push(
    '### Allocation per call (reused context)',
    '',
    `A fresh process (\`--expose-gc\`, young generation ${a.semiSpaceMb} MB): per case and side, after a warm-up, batches of ~60,000 calls between two reads of the heap used, a full collection before each; ` +
      `a batch during which any collection ran is dropped (${a.dropped} dropped this time), and the figure is the median over ${a.batches} batches. ` +
      `The loop alone allocates ${bytes(a.loopBytes)} B per call. Anything Baton allocated per call would show as at least 16 B/call (the smallest heap object); the target counts ≥ ${ALLOCATION_TOLERANCE_BYTES} B/call as allocating. ` +
      "unleash-client allocates on every call itself: `isEnabled` and `getVariant` copy the context (`{ ...staticContext, ...context }`) and make a fallback closure, the strategies iterate constraints through generators and hash strings for rollouts, `getVariant` builds its result.",
    '',
    '| Case | Baton | Toggles | raw B/call | Baton B/call | Baton\'s extra B/call |',
    '| --- | --- | --- | ---: | ---: | ---: |',
    ...a.cases.map((c) => {
      const i = info(c.id);
      return `| ${i.api} | ${i.baton} | ${i.toggles} | ${bytes(c.rawBytes)} | ${bytes(c.batonBytes)} | ${i.judged ? `**${signedBytes(c.extraBytes)}**` : `${signedBytes(c.extraBytes)} (control)`} |`;
    }),
    '',
    `Making a request scope (once per request, as the adapters do: its context and the scope) allocates ${bytes(a.scopeBytes)} B.`,
    '',
  );
  const below = a.cases.filter((c) => info(c.id).judged && c.extraBytes <= -ALLOCATION_TOLERANCE_BYTES);
  if (below.length > 0) {
    lines.push(
      `Below zero (${below.map((c) => `${c.id} ${signedBytes(c.extraBytes)} B`).join(', ')}): Baton's path allocated less than raw's in that process, i.e. V8 optimised an object of unleash-client's away on Baton's side and not on raw's ` +
        "(unleash-client's `getVariant` result is a 56-byte object). Such optimisation decisions can differ from one process to the next.",
      '',
    );
  }
  return lines;
}

/** The lines of the Toggles section of a RESULTS.md text, and its Targets rows; undefined when it has none. */
export function previousToggles(text: string): { section: string[]; rows: string[] } | undefined {
  return previousSection(text, TOGGLES_HEADING, ROW_PREFIX);
}

/**
 * RESULTS.md with only the Toggles section and its Targets rows replaced
 * (added at the end of the file and of the Targets table when absent).
 */
export function spliceToggles(text: string, section: readonly string[], rows: readonly string[]): string {
  return spliceSection(text, TOGGLES_HEADING, ROW_PREFIX, section, rows);
}

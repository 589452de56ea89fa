// The "API versioning" section of RESULTS.md and its rows in the Targets
// table, from versioning-compare.ts. The section carries its own date,
// command and commit: a run of the versioning part alone (`pnpm
// bench:versioning`) updates only this section and these rows, and a run
// that skips it keeps them.
import type { Provenance } from './toggles-report.js';
import { percent } from './throughput-report.js';
import { previousSection, spliceSection } from './results-sections.js';
import { CHANGES, GET_ROUTE, LATEST, OLDEST, POST_ROUTE } from './versioning-fixture.js';
import { ROUTES, SERVERS, VERSIONING_TARGET, type Framework, type FrameworkVersioningResult, type Route, type ServerApp, type Spread, type VersioningBenchResult } from './versioning-compare.js';
import type { VersioningWorkResult, WorkCase } from './versioning-work.js';

export const VERSIONING_HEADING = '## API versioning';
export const VERSIONING_ROW_PREFIX = '| API versioning:';

const NAMES: Record<Framework, string> = { express: 'Express', fastify: 'Fastify' };
const PATHS: Record<Route, string> = { GET: `GET ${GET_ROUTE}`, POST: `POST ${POST_ROUTE}` };
const APP_LABELS: Record<ServerApp, string> = {
  bare: 'bare',
  baton: 'Baton, no versioning',
  latest: `Baton + versioning, latest (${LATEST})`,
  oldest: `Baton + versioning, five behind (${OLDEST})`,
};

function us(value: number): string {
  return Number.isFinite(value) ? value.toFixed(1) : 'n/a';
}

function signedUs(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(1)}`;
}

function middle(s: Spread, format: (value: number) => string): string {
  return `${format(s.q1)} to ${format(s.q3)}`;
}

/** The lowest latest-version share over both routes: what the target is judged on. */
function worstShare(f: FrameworkVersioningResult, step: 'latest' | 'versioningLatest'): number {
  return Math.min(...ROUTES.map((route) => f.twins.routes[route].steps[step].ratio.median));
}

/** Rows of the Targets table. */
export function versioningTargetRows(result: VersioningBenchResult | undefined): string[] {
  const target = `keeps ≥ ${percent(VERSIONING_TARGET)} of bare throughput per CPU`;
  if (result === undefined) return [`${VERSIONING_ROW_PREFIX} latest-version overhead ≤ 3% (${target}) | not measured | — |`];
  const rows: string[] = [];
  for (const f of result.frameworks) {
    const name = NAMES[f.framework];
    const twins = f.twins.routes;
    const control = `A/A control ${ROUTES.map((route) => `${route} ${percent(twins[route].steps.control.ratio.median)}`).join(', ')}`;
    const bare = worstShare(f, 'latest');
    rows.push(
      `${VERSIONING_ROW_PREFIX} ${name}, latest-version request vs the bare framework: overhead ≤ 3% (${target}; twins in one process, both routes) | ` +
        `${ROUTES.map((route) => `${route} ${percent(twins[route].steps.latest.ratio.median)} (${signedUs(twins[route].steps.latest.addedMicros.median)} µs)`).join(', ')}; ${control} | ${bare >= VERSIONING_TARGET ? 'yes' : '**no**'} |`,
    );
    const own = worstShare(f, 'versioningLatest');
    rows.push(
      `${VERSIONING_ROW_PREFIX} ${name}, latest-version request vs Baton without versioning (versioning's own overhead) ≤ 3% (twins) | ` +
        `${ROUTES.map((route) => `${route} ${percent(twins[route].steps.versioningLatest.ratio.median)} (${signedUs(twins[route].steps.versioningLatest.addedMicros.median)} µs)`).join(', ')} | ${own >= VERSIONING_TARGET ? 'yes' : '**no**'} |`,
    );
    rows.push(
      `${VERSIONING_ROW_PREFIX} ${name}, a client five versions behind (${OLDEST}): overhead per request, µs (vs a latest-version request, same rounds) | ` +
        `${ROUTES.map((route) => `${route} **${signedUs(twins[route].steps.fiveBehind.addedMicros.median)} µs** (middle half ${middle(twins[route].steps.fiveBehind.addedMicros, signedUs)})`).join(', ')}${workNote(result)} | reported |`,
    );
  }
  for (const s of result.skipped) rows.push(`${VERSIONING_ROW_PREFIX} ${NAMES[s.framework]}, latest-version overhead ≤ 3% | not measured: ${s.why} | — |`);
  return rows;
}

function workNote(result: VersioningBenchResult): string {
  const w = result.work;
  if (w === undefined) return '';
  return `; of that, Baton's versioning calls with the transforms: GET ${us(w.ns['GET oldest'] / 1000)} µs, POST ${us(w.ns['POST oldest'] / 1000)} µs (no framework)`;
}

/** Console lines. */
export function versioningConsoleLines(result: VersioningBenchResult): string[] {
  const lines = ['', `API versioning (${result.versions.count} versions, ${result.versions.changes} changes; latest ${LATEST}, five behind ${OLDEST}): CPU per request of twins in one process, median of same-round figures`];
  for (const f of result.frameworks) {
    for (const route of ROUTES) {
      const t = f.twins.routes[route];
      lines.push(
        `  ${NAMES[f.framework]} ${PATHS[route].padEnd(18)} bare ${us(t.micros.bare)} µs, Baton ${us(t.micros.baton)}, latest ${us(t.micros.latest)}, five behind ${us(t.micros.oldest)} → ` +
          `latest ${percent(t.steps.latest.ratio.median)} of bare (${percent(t.steps.versioningLatest.ratio.median)} of Baton without versioning), five behind ${signedUs(t.steps.fiveBehind.addedMicros.median)} µs over latest; A/A ${percent(t.steps.control.ratio.median)}`,
      );
    }
    if (f.throughput) {
      for (const route of ROUTES) {
        const t = f.throughput.routes[route];
        lines.push(`  ${NAMES[f.framework]} ${PATHS[route].padEnd(18)} separate processes, per server CPU vs bare: ${SERVERS.filter((a) => a !== 'bare').map((a) => `${a} ${percent(t.cpuRatioToBare[a])}`).join(', ')} (req/s: ${SERVERS.filter((a) => a !== 'bare').map((a) => `${a} ${percent(t.ratioToBare[a])}`).join(', ')})`);
      }
    }
    const verdict = (step: 'latest' | 'versioningLatest'): string => (worstShare(f, step) >= VERSIONING_TARGET ? 'met' : 'NOT met');
    lines.push(`  ${NAMES[f.framework]}: target latest-version overhead ≤ 3% — vs bare ${verdict('latest')}, vs Baton without versioning ${verdict('versioningLatest')}`);
  }
  for (const s of result.skipped) lines.push(`  ${NAMES[s.framework]}: not measured (${s.why})`);
  const w = result.work;
  if (w) lines.push(`  Baton's versioning calls alone (no framework), per request: ${(['GET latest', 'GET oldest', 'GET transforms', 'POST latest', 'POST oldest', 'POST transforms'] as const).map((c) => `${c} ${ns(w.ns[c])} ns`).join(', ')}`);
  else if (result.workError) lines.push(`  Baton's versioning calls alone: failed (${result.workError})`);
  return lines;
}

function ns(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

/** The "API versioning" section. */
export function versioningMarkdown(result: VersioningBenchResult | undefined, provenance: Provenance, notMeasured: string): string[] {
  const lines = [VERSIONING_HEADING, ''];
  if (result === undefined) {
    lines.push(notMeasured, '');
    return lines;
  }
  const sizes = result.sizes;
  const kb = (bytes: number): string => `${bytes.toLocaleString('en-US')} B`;
  lines.push(
    `\`bench/src/versioning-compare.ts\` (the API in \`bench/src/versioning-fixture.ts\`, the apps in \`bench/src/versioning-apps.ts\`): an orders API with ${result.versions.count} date versions and ${result.versions.changes} version changes, each touching both routes, ` +
      `\`${PATHS.GET}\` (the order: ${kb(sizes.responseLatest)} of JSON in the latest shape, ${kb(sizes.responseOldest)} in the oldest) and \`${PATHS.POST}\` (a draft of ${kb(sizes.requestLatest)} latest, ${kb(sizes.requestOldest)} oldest, answered 201 with the created order). ` +
      'The handlers are written for the newest version only and are the same code in every app; the POST handler checks the draft\'s shape (400 otherwise), which also proves an old client\'s body reached it upgraded. ' +
      `Per framework, four apps: **bare** (the framework alone), **Baton** without versioning (lifecycle and probes, as a user wires it), and Baton with \`versioning: createVersioning({ versions, changes, retirements })\` ` +
      `(\`baton(app, { versioning })\`, \`batonPlugin\` with \`versioning\`) sent \`Api-Version: ${LATEST}\` (**latest**) or \`Api-Version: ${OLDEST}\` (**five behind**: every change runs, request upgrades oldest first and response downgrades newest first; that version is deprecated with a sunset in 2030, so its answers also carry \`Deprecation\`, \`Sunset\` and \`Link\`). ` +
      `Before anything is timed, every app's answer to each route is compared with bodies written out by hand in the fixture (not computed through the changes), with its status and its \`Api-Version\` and deprecation headers. ` +
      `Target (the versioning issue): a latest-version request costs ≤ 3% of bare throughput; the five-behind overhead is reported in µs per request.`,
    '',
    `- Measured: ${provenance.date}; command \`${provenance.command}\`${provenance.quick ? ' (quick mode)' : ''}; ${provenance.commit}`,
    `- Machine: ${provenance.machine}; Node ${provenance.node}; took ${result.seconds} s`,
    '',
    '| Version | Change (both routes; the transforms in the fixture) |',
    '| --- | --- |',
    `| ${OLDEST} | the oldest version: what a client five versions behind sends and gets |`,
    ...CHANGES.map((change) => `| ${change.version} | ${change.description} |`),
    '',
  );
  if (result.skipped.length > 0) lines.push(...result.skipped.map((s) => `**${NAMES[s.framework]} not measured**: ${s.why}.`), '');

  lines.push(
    '### Twins in one process (CPU per request)',
    '',
    `One server process per framework (\`node --single-threaded\`${result.pinned ? ', pinned to CPU 1; the load generator on CPU 0' : ''}) serves five apps on five ports: bare, a second bare (the A/A control), Baton without versioning, and two Baton + versioning apps, one loaded as a latest client and one as a five-behind client. ` +
      `The parent loads them in turn with bounded bursts (${result.frameworks.map((f) => `${NAMES[f.framework]} ${f.twins.routes.GET.requestsPerBurst.toLocaleString('en-US')}`).join(', ')} requests, ${result.connections} keep-alive connections), both routes, the order rotated and reversed every round, ` +
      `${result.frameworks[0]?.twins.rounds ?? 0} rounds after three warm-up passes, and reads the process's CPU time around each burst. ` +
      'The apps share the process, its JIT, heap and CPU, so the drift of a shared machine hits them alike; "added" is the median of same-round differences of CPU µs per request, "vs" the median of same-round ratios (reference ÷ app CPU per request: the share of the reference\'s throughput per CPU the app keeps). ' +
      'A caveat of sharing: the apps share the frameworks\' code too, so whatever Baton makes polymorphic slows the bare twins a little as well.',
    '',
    '| Framework | Route | bare µs/req | A/A µs/req | Baton µs/req | latest µs/req | five behind µs/req | latest vs bare | latest vs Baton (versioning\'s own) | five behind: added µs over latest (middle half) | five behind vs bare | A/A control |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const f of result.frameworks) {
    for (const route of ROUTES) {
      const t = f.twins.routes[route];
      const mark = (share: number): string => `${share >= VERSIONING_TARGET ? '' : '**'}${percent(share)}${share >= VERSIONING_TARGET ? '' : '**'}`;
      lines.push(
        `| ${NAMES[f.framework]} | \`${PATHS[route]}\` | ${us(t.micros.bare)} | ${us(t.micros.bareTwin)} | ${us(t.micros.baton)} | ${us(t.micros.latest)} | ${us(t.micros.oldest)} | ` +
          `${mark(t.steps.latest.ratio.median)} | ${mark(t.steps.versioningLatest.ratio.median)} | **${signedUs(t.steps.fiveBehind.addedMicros.median)}** (${middle(t.steps.fiveBehind.addedMicros, signedUs)}) | ${percent(t.steps.oldest.ratio.median)} | ${percent(t.steps.control.ratio.median)} |`,
      );
    }
  }
  lines.push('');
  for (const f of result.frameworks) {
    const failed = ROUTES.reduce((sum, route) => sum + f.twins.routes[route].failed, 0);
    const step = (route: Route, name: 'baton' | 'latest' | 'versioningLatest'): string =>
      `${route} ${percent(f.twins.routes[route].steps[name].ratio.median)} (rounds' middle half ${middle(f.twins.routes[route].steps[name].ratio, percent)})`;
    lines.push(
      `- ${NAMES[f.framework]}: latest vs bare ${ROUTES.map((r) => step(r, 'latest')).join(', ')}; Baton without versioning vs bare ${ROUTES.map((r) => step(r, 'baton')).join(', ')}; ` +
        `target (≤ 3%, i.e. ≥ ${percent(VERSIONING_TARGET)}) against bare: **${worstShare(f, 'latest') >= VERSIONING_TARGET ? 'met' : 'not met'}**, against Baton without versioning: **${worstShare(f, 'versioningLatest') >= VERSIONING_TARGET ? 'met' : 'not met'}**; failed requests ${failed}. ` +
        `A latest-version request adds ${ROUTES.map((r) => `${r} ${signedUs(f.twins.routes[r].steps.versioningLatest.addedMicros.median)} µs`).join(', ')} over Baton without versioning` +
        (result.work ? `, of which Baton's versioning calls themselves take ${ROUTES.map((r) => `${r} ${us((result.work as VersioningWorkResult).ns[`${r} latest`] / 1000)} µs`).join(', ')} (below); the rest is the adapter's hooks and the two more response headers (\`Api-Version\`, \`Vary\`).` : '.'),
    );
  }
  lines.push('');

  lines.push('### Baton\'s versioning calls alone (no framework)', '');
  const w = result.work;
  if (w) {
    const row = (route: Route): string => {
      const c = (kind: WorkCase): string => `${ns(w.ns[kind])} (${ns(w.q1[kind])}–${ns(w.q3[kind])})`;
      const own = w.ns[`${route} oldest`] - w.ns[`${route} transforms`];
      return `| \`${PATHS[route]}\` | ${c(`${route} latest`)} | ${c(`${route} oldest`)} | ${c(`${route} transforms`)} | ${Number.isFinite(own) ? `${own >= 0 ? '' : '−'}${ns(Math.abs(own))}` : 'n/a'} |`;
    };
    lines.push(
      '`bench/src/versioning-work.ts`, in a fresh node process: the calls an adapter makes per request (`versioning.decide(request)`, `chain.routeExists`, `chain.upgradeRequest` for the POST body, `chain.downgradeResponse`) on parsed bodies, in a tight loop, ' +
        `${w.requestsPerRound.toLocaleString('en-US')} requests per case and round, ${w.rounds} rounds in a rotating order after a warm-up, the empty loop (${w.loopNs.toFixed(1)} ns) subtracted in each round; medians, the middle half of the rounds beside them. ` +
        '"The transforms alone" calls the five changes\' own functions one after the other without Baton: what the transforms written for this API cost by themselves. What a load test adds on top of these is the adapter\'s hooks, the headers and serialising a different body.',
      '',
      '| Route | latest: ns/request | five behind: ns/request | the transforms alone: ns/request | the chain\'s own, five behind (ns) |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...ROUTES.map(row),
      '',
    );
  } else {
    lines.push(`Not measured${result.workError ? `: ${result.workError}` : ''}.`, '');
  }

  lines.push('### Separate processes (throughput)', '');
  const measured = result.frameworks.filter((f) => f.throughput !== undefined);
  if (measured.length > 0) {
    const first = measured[0]?.throughput;
    lines.push(
      `Each app a server process of its own (${SERVERS.length} per framework${result.pinned ? ', all pinned to CPU 1, autocannon in the parent on CPU 0' : ''}), ${result.connections} keep-alive connections. ` +
        `A warm-up, then ${first?.rounds ?? 0} interleaved rounds of ${first?.durationSeconds ?? 0} s per app and route (order rotated and reversed every round); ratios are medians of same-round ratios to bare, in req/s and in requests per server CPU second, ` +
        'over the rounds in which no other process used more than 0.1 core (all rounds when fewer than 3 were quiet). Indicative only: on this machine back-to-back rounds of separate processes swing by ±20–35% (see the Throughput section\'s spreads and A/A controls); the twins above decide.',
      '',
      '| Framework | Route | App | req/s (median) | vs bare (req/s) | vs bare (per server CPU) | vs Baton without versioning (per server CPU) | spread | server CPU | quiet rounds | failed |',
      '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const f of measured) {
      for (const route of ROUTES) {
        const t = f.throughput?.routes[route];
        if (!t) continue;
        for (const app of SERVERS) {
          lines.push(
            `| ${NAMES[f.framework]} | \`${PATHS[route]}\` | ${APP_LABELS[app]} | ${Math.round(t.requestsPerSecond[app]).toLocaleString('en-US')} | ${app === 'bare' ? '1 (baseline)' : percent(t.ratioToBare[app])} | ` +
              `${app === 'bare' ? '1 (baseline)' : percent(t.cpuRatioToBare[app])} | ${app === 'baton' ? '1 (reference)' : percent(t.cpuRatioToBaton[app])} | ±${percent(t.spread[app] / 2)} | ${percent(t.serverCpuShare[app])} | ${t.quietRounds}/${t.rounds} | ${app === 'bare' ? t.failed : ''} |`,
          );
        }
      }
    }
    lines.push('');
  } else {
    lines.push('Not measured in this run.', '');
  }

  lines.push('### Checks before timing', '');
  for (const f of result.frameworks) lines.push(...f.checks.map((check) => `- ${check}`));
  lines.push('');
  return lines;
}

/** The lines of the API versioning section of a RESULTS.md text, and its Targets rows; undefined when it has none. */
export function previousVersioning(text: string): { section: string[]; rows: string[] } | undefined {
  return previousSection(text, VERSIONING_HEADING, VERSIONING_ROW_PREFIX);
}

/** RESULTS.md with only the API versioning section and its Targets rows replaced (added at the end when absent). */
export function spliceVersioning(text: string, section: readonly string[], rows: readonly string[]): string {
  return spliceSection(text, VERSIONING_HEADING, VERSIONING_ROW_PREFIX, section, rows);
}

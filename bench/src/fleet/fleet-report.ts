// The fleet bench's figures for people: the "Fleets" section of RESULTS.md
// and its Targets rows.
import { CANARY_ANALYSIS_MS, type FleetOptions, type FleetRow } from './fleet-bench.js';

export interface FleetResult {
  options: Omit<FleetOptions, 'log' | 'onRow'> & { log?: undefined; onRow?: undefined };
  rows: FleetRow[];
  missing: { platform: string; reason: string }[];
  uptime: { before: string; after: string };
}

/** The deploy's time over its limit at which the fleet target is met. */
export const FLEET_RATIO_TARGET = 1.2;
/** Scraping "no worse than linear": the largest fleet's time per instance at most this × the smallest's. */
const LINEAR_SLACK = 1.25;

const ratioOf = (row: FleetRow): number => row.deploySeconds / row.limitSeconds;
const succeeded = (row: FleetRow): boolean => row.outcome === 'succeeded';
/** The outcome's first sentence: a rolled-back deploy's reason names its figures once, in the text below the table. */
const shortOutcome = (outcome: string): string => (outcome.length <= 90 ? outcome : `${outcome.slice(0, outcome.indexOf(';') > 0 && outcome.indexOf(';') < 120 ? outcome.indexOf(';') : 90)}…`);
/** The worst ratio over the deploys that succeeded (a rolled-back deploy's time is not a deploy's). */
const worstRatio = (rows: FleetRow[]): number => Math.max(...rows.filter(succeeded).map(ratioOf));
const s = (seconds: number): string => `${seconds.toFixed(2)} s`;
const PLATFORM_NAMES: Record<string, string> = { local: 'local', docker: 'Docker' };
const platformName = (kind: string): string => PLATFORM_NAMES[kind] ?? kind;

export function fleetMarkdown(result: FleetResult, provenance: { date: string; command: string; commit: string; machine: string }): string[] {
  const { options, rows } = result;
  const platforms = [...new Set(rows.map((row) => row.platform))];
  const lines = [
    '## Fleets',
    '',
    `Baton's rolling and canary deploys of ${options.sizes.join(', ')} instances of the Baton-served orders service (\`examples/orders-express\`) from v1 to v2 on ${platforms.map((kind) => `${platformName(kind)} (${rows.find((row) => row.platform === kind)?.spans ?? ''})`).join(' and ')}, behind the ${options.router === 'builtin' ? 'built-in router' : options.router}, in one run (\`bench/src/fleet/\`). ` +
      `Load as in Deploys: ${options.ratePerSecond} req/s on 32 keep-alive connections, \`GET /orders?limit=5\`, \`POST /orders\`, \`GET /slow?ms=250\` in turn, every request counted (failed = sent − complete 2xx − in flight when the load stopped). ` +
      `Rolling: maxSurge ${options.surge} of the fleet (${options.surge.endsWith('%') ? 'Kubernetes\' default share, ' : ''}rounded up), maxUnavailable 0. Canary: 10% → 50% → 100% with a ${CANARY_ANALYSIS_MS / 1000} s analysis window after 10% and after 50% (\`analysisMs\`, \`minRequests: 20\`), each step starting as many candidates as its weight needs.`,
    '',
    "The deploy runs in a process of its own (`bench/src/fleet/deploy-driver.ts` calls `runDeployCommand`, as `baton deploy` does); \"orchestrator CPU\" is that process's `process.cpuUsage()` over the deploy (user + system), apart from the load generator's. " +
      '"Deploy" runs until every old instance is out of traffic with nothing in flight, as in Deploys; "until exited" until the orchestrator returned (the old processes exited). ' +
      "The limit is the Deploys one, extended to the fleet: for every step, the slowest of its instances' spawn-to-ready plus the slowest of its drains, steps one after the other (rolling: one start and one drain per batch of maxSurge), plus the analysis windows the strategy fixes itself (each window judged: 2 s). Start-to-ready is the `readyMs` of the deploy's own `instance-ready` events, from the instance's start (`startedAtMs`: the local process's spawn; on Docker the request for its container, so the engine's work creating and starting containers — its own queue when a batch asks at once — is in the limit, as `docker run` would time it): it runs until the orchestrator has seen readiness, put the instance in the router and set the weights, so the orchestrator's per-instance work is inside the limit, not in the ratio. The \"own-start limit\" (local platform, whose instances' logs are on this disk) puts each instance's own start — spawn to its \"listening\" log line — in place of \`readyMs\`: the limit without any of the orchestrator's time. " +
      `Scrape: one analysis round — \`createMetricsAnalysis().begin(instances)\`, every instance's \`/metrics\` fetched and parsed, in parallel — over the deployed fleet after the load stopped, median of ${options.scrapeRounds} rounds after 2 warm-up rounds; per instance = round ÷ instances; "scraper CPU" is the scraping process's own CPU time per round (fetch and parse; the instances' rendering is theirs). The orchestrator does such a round every second of a deploy as well (its traffic monitor samples every ready instance's \`/metrics\`), and two per analysis window.`,
    '',
    `Measured ${provenance.date} at ${provenance.commit} with \`${provenance.command}\` on ${provenance.machine}.`,
    '',
    `- uptime before: \`${result.uptime.before}\``,
    `- uptime after: \`${result.uptime.after}\``,
    '',
  ];
  if (result.missing.length > 0) lines.push(`Not run: ${result.missing.map(({ platform, reason }) => `${platformName(platform)} (${reason})`).join('; ')}.`, '');
  lines.push(
    '| Platform | Strategy | instances | deploy | until exited | limit | deploy / limit | own-start limit | deploy / own-start limit | failed | orchestrator CPU | scrape / round | scrape / instance | scraper CPU / round |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (row) =>
        `| ${[
          platformName(row.platform),
          row.strategyText + (row.outcome === 'succeeded' ? '' : ` (**${shortOutcome(row.outcome)}**)`),
          String(row.instances),
          s(row.deploySeconds),
          s(row.totalSeconds),
          s(row.limitSeconds),
          `${ratioOf(row).toFixed(2)}×`,
          row.ownStartLimitSeconds === undefined ? '—' : s(row.ownStartLimitSeconds),
          row.ownStartLimitSeconds === undefined ? '—' : `${(row.deploySeconds / row.ownStartLimitSeconds).toFixed(2)}×`,
          `${row.failed} of ${row.sent.toLocaleString('en-US')}${row.failedBeforeDeploy > 0 ? `, ${row.failedBeforeDeploy} of them sent before the deploy began` : ''}${Object.keys(row.detail).length > 0 ? ` (${Object.entries(row.detail).map(([kind, count]) => `${count} ${kind}`).join(', ')})` : ''}`,
          s(row.orchestratorCpuSeconds),
          row.scrape ? `${row.scrape.medianMs.toFixed(1)} ms` : '—',
          row.scrape ? `${row.scrape.perInstanceMs.toFixed(2)} ms` : '—',
          row.scrape ? `${row.scrape.cpuMsPerRound.toFixed(1)} ms` : '—',
        ].join(' | ')} |`,
    ),
    '',
    'Where the time went, by kind of step (wall time, and in brackets the part the limit accounts for); "spawn delay" is from a step\'s start to each of its new instances\' start (spawn, or container request: the orchestrator\'s work before it starts them), "own start" spawn → the instance\'s own "listening" log line, "ready lag" that line → the orchestrator\'s `instance-ready` event (its readiness poll, router add, journal write and weights), medians with the maximum after the slash (own start and ready lag: local platform only, its logs are on this disk):',
    '',
    '| Platform | Strategy | n | before the first step | start candidates | retire stable | traffic | analysis | after the last step | spawn delay | own start | ready lag |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((row) => {
      const phase = (name: string, withLimit: boolean): string => {
        const found = row.phases.find((entry) => entry.phase === name);
        if (found === undefined) return '—';
        return withLimit ? `${s(found.wallMs / 1000)} (${s(found.limitMs / 1000)})` : s(found.wallMs / 1000);
      };
      return `| ${[
        platformName(row.platform),
        row.strategy,
        String(row.instances),
        phase('before the first step', false),
        phase('start candidates', true),
        phase('retire stable', true),
        phase('traffic', false),
        phase('analysis', true),
        phase('after the last step', false),
        row.spawnDelayMs ? `${row.spawnDelayMs.median} / ${row.spawnDelayMs.max} ms` : '—',
        row.starts ? `${row.starts.ownStartMs.median} / ${row.starts.ownStartMs.max} ms` : '—',
        row.starts ? `${row.starts.lagMs.median} / ${row.starts.lagMs.max} ms` : '—',
      ].join(' | ')} |`;
    }),
    '',
    ...verdicts(result),
  );
  return lines;
}

function verdicts(result: FleetResult): string[] {
  const lines: string[] = [];
  for (const platform of [...new Set(result.rows.map((row) => row.platform))]) {
    const mine = result.rows.filter((row) => row.platform === platform);
    const largest = Math.max(...mine.map((row) => row.instances));
    const smallest = Math.min(...mine.map((row) => row.instances));
    const atLargest = mine.filter((row) => row.instances === largest);
    const worst = worstRatio(atLargest);
    const rolledBack = mine.filter((row) => !succeeded(row));
    const failed = mine.reduce((sum, row) => sum + row.failed, 0);
    const perInstance = (size: number): number | undefined => {
      const values = mine.filter((row) => row.instances === size && row.scrape).map((row) => row.scrape?.perInstanceMs ?? 0);
      return values.length === 0 ? undefined : values.reduce((sum, value) => sum + value, 0) / values.length;
    };
    const small = perInstance(smallest);
    const large = perInstance(largest);
    lines.push(
      `${platformName(platform)}: ${failed} failed requests over ${mine.length} deploys` +
        (rolledBack.length > 0 ? ` (${rolledBack.length} rolled back: ${rolledBack.map((row) => `${row.strategy} of ${row.instances}`).join(', ')} — ${shortOutcome(rolledBack[0]?.outcome ?? '')})` : '') +
        `; at ${largest} instances the worst deploy / limit of a deploy that succeeded is ${Number.isFinite(worst) ? `${worst.toFixed(2)}×` : '— (none succeeded)'} (target ≤ ${FLEET_RATIO_TARGET}×: ${worst <= FLEET_RATIO_TARGET ? 'met' : '**not met**'}); ` +
        (small !== undefined && large !== undefined
          ? `a scrape round costs ${small.toFixed(2)} ms per instance at ${smallest} and ${large.toFixed(2)} ms at ${largest}, ${(large / small).toFixed(2)}× (linear: at most ${LINEAR_SLACK}× per instance; ${large <= small * LINEAR_SLACK ? 'met' : '**not met**'}).`
          : 'scraping not measured.'),
      '',
    );
    for (const row of atLargest) lines.push(`- ${whereItWent(row)}`);
    lines.push('');
  }
  return lines;
}

/** One sentence per deploy: what the orchestrator added over the limit, and in which kinds of step. */
function whereItWent(row: FleetRow): string {
  const added = row.phases
    .map((phase) => ({ phase: phase.phase, ms: phase.wallMs - phase.limitMs }))
    .filter((entry) => entry.ms >= 100)
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 3)
    .map((entry) => `${entry.phase} ${s(entry.ms / 1000)}`);
  return (
    `${platformName(row.platform)} ${row.strategyText}, ${row.instances} instances${succeeded(row) ? '' : ' (rolled back)'}: ${s(row.deploySeconds)} against a limit of ${s(row.limitSeconds)}` +
    (row.ownStartLimitSeconds === undefined ? '' : ` (${s(row.ownStartLimitSeconds)} with the instances' own start: ${(row.deploySeconds / row.ownStartLimitSeconds).toFixed(2)}×)`) +
    `; wall time over the limit by kind of step: ${added.join(', ') || 'none above 0.1 s'}` +
    (row.spawnDelayMs ? `; new instances were spawned ${row.spawnDelayMs.median} ms (median; max ${row.spawnDelayMs.max} ms) after their step began` : '') +
    (row.starts ? `${row.spawnDelayMs ? ',' : '; new instances'} took ${row.starts.ownStartMs.median} ms (median) to listen and then ${row.starts.lagMs.median} ms (max ${row.starts.lagMs.max} ms) until the orchestrator had them in the router` : '') +
    `; the orchestrator used ${s(row.orchestratorCpuSeconds)} of CPU (${((100 * row.orchestratorCpuSeconds) / Math.max(row.totalSeconds, 0.001)).toFixed(0)}% of a core over the deploy).`
  );
}

/** Targets rows: the ratio at the largest fleet, failed requests, scraping per instance. */
export function fleetTargetRows(result: FleetResult): string[] {
  const rows: string[] = [];
  for (const platform of [...new Set(result.rows.map((row) => row.platform))]) {
    const mine = result.rows.filter((row) => row.platform === platform);
    const largest = Math.max(...mine.map((row) => row.instances));
    const worst = worstRatio(mine.filter((row) => row.instances === largest));
    const failed = mine.reduce((sum, row) => sum + row.failed, 0);
    rows.push(
      `| Fleets: ${platformName(platform)} deploys of ${largest} instances within ${FLEET_RATIO_TARGET}× their physical limit | ≤ ${FLEET_RATIO_TARGET}× | worst ${worst.toFixed(2)}× | ${worst <= FLEET_RATIO_TARGET ? 'met' : 'not met'} |`,
      `| Fleets: ${platformName(platform)} deploys of ${result.options.sizes.join('/')} instances fail no request | 0 | ${failed} | ${failed === 0 ? 'met' : 'not met'} |`,
    );
  }
  return rows;
}

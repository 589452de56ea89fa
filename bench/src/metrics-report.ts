// The metrics comparison in RESULTS.md: Baton with @baton/metrics against the
// bare frameworks and against each framework's metrics peer, from the twins
// in one process (cpu-per-request.ts), the separate-process throughput rounds
// (throughput.ts) and the recording cost alone (metrics-cost.ts).
import type { CpuPerRequestResult, Twin } from './cpu-per-request.js';
import type { MetricsCostResult } from './metrics-cost.js';
import { FOREIGN_LOAD_LIMIT, type ThroughputResult, type VariantResult } from './throughput.js';
import { percent } from './throughput-report.js';
import { median } from './throughput-stats.js';

/** The issue's target: Baton with metrics keeps at least this share of bare throughput, and is no slower than the peer. */
export const METRICS_TARGET = 0.95;

/** Baton with metrics and its peer, per framework. */
export interface MetricsPair {
  framework: 'express' | 'fastify';
  name: string;
  /** Throughput variant ids (throughput-variants.ts). */
  baton: string;
  peer: string;
  peerName: string;
  /** What each records per request, and how it labels the route. */
  batonScheme: string;
  peerScheme: string;
}

const BATON_SCHEME =
  '`http_requests_total` (counter) and `http_request_duration_seconds` (histogram, 11 buckets), plus an in-flight gauge read at scrape time; labels `release` (constant), `method`, `route`, `status_code`';

export const METRICS_PAIRS: readonly MetricsPair[] = [
  {
    framework: 'express',
    name: 'Express',
    baton: 'express-baton-metrics',
    peer: 'express-prom-bundle',
    peerName: 'express-prom-bundle 8.0.0',
    batonScheme: `${BATON_SCHEME}; \`route\` is the Express route template with its mount path, \`(unmatched)\` when no route matched`,
    peerScheme:
      '`http_request_duration_seconds` (histogram, its default 6 buckets) and `up`; labels `status_code`, `method`, `path` (`includeMethod`, `includePath`, `includeStatusCode`). ' +
      'Its default `path` is the URL with id-like segments masked (`/orders/#val`); here its `normalizePath` option is a function returning the route template (`req.baseUrl + req.route.path`), as its README shows',
  },
  {
    framework: 'fastify',
    name: 'Fastify',
    baton: 'fastify-baton-metrics',
    peer: 'fastify-metrics',
    peerName: 'fastify-metrics 12.1.0',
    batonScheme: `${BATON_SCHEME}; \`route\` is Fastify's route template (\`routeOptions.url\`), \`(unmatched)\` for 404s`,
    peerScheme:
      'its route metrics as they come: `http_request_duration_seconds` (histogram, prom-client\'s default 11 buckets) and `http_request_summary_seconds` (summary, default percentiles); labels `method`, `route`, `status_code`, ' +
      "`route` being Fastify's route template (`routeOptions.url`) by default; registered routes only. Both metrics on a Registry of its own (`routeMetrics.overrides.{histogram,summary}.registers`); `defaultMetrics` (process metrics) off, as in Baton",
  },
];

/** Console lines of the twins' metrics figures. */
export function metricsConsoleLines(cpuCost: readonly CpuPerRequestResult[] | undefined, cost: MetricsCostResult | undefined): string[] {
  const lines: string[] = [];
  for (const r of cpuCost ?? []) {
    const pair = pairOf(r.framework);
    lines.push(
      `Metrics, CPU per request (${r.framework}): bare ${r.microsPerRequest.bare.toFixed(1)} µs, Baton + metrics ${r.microsPerRequest.batonMetrics.toFixed(1)} µs → ${percent(r.ratios.batonMetrics)} of bare; ` +
        `${pair.peerName} ${r.microsPerRequest.peer.toFixed(1)} µs → ${percent(r.ratios.peer)}; Baton + metrics vs peer ${percent(r.batonMetricsVsPeer)}; A/A control ${percent(r.controlRatio)}`,
    );
  }
  if (cost) lines.push(`Recording one request: Baton ${cost.batonNs.toFixed(0)} ns, prom-client histogram.observe + counter.inc ${cost.promClientNs.toFixed(0)} ns`);
  return lines;
}

/** Rows of the Targets table for the metrics comparison. */
export function metricsTargetRows(throughput: ThroughputResult | undefined, cpuCost: readonly CpuPerRequestResult[] | undefined): string[] {
  const rows: string[] = [];
  for (const r of cpuCost ?? []) {
    const pair = pairOf(r.framework);
    const control = `A/A control ${percent(r.controlRatio)}`;
    rows.push(
      `| ${pair.name} + Baton + metrics: CPU per request ≥ ${percent(METRICS_TARGET)} of bare's throughput per CPU (twins in one process) | ${percent(r.ratios.batonMetrics)} (${control}) | ${yes(r.ratios.batonMetrics >= METRICS_TARGET)} |`,
      `| ${pair.name} + Baton + metrics: no slower than ${pair.peerName} (twins in one process; peer's CPU per request ÷ Baton's ≥ 100%) | ${percent(r.batonMetricsVsPeer)} (peer at ${percent(r.ratios.peer)} of bare; ${control}) | ${yes(r.batonMetricsVsPeer >= 1)} |`,
    );
  }
  if (!cpuCost) rows.push(`| Baton + metrics ≥ ${percent(METRICS_TARGET)} of bare and no slower than the peers (twins in one process) | not measured | — |`);
  for (const pair of METRICS_PAIRS) {
    const separate = separateFigures(throughput, pair);
    if (!separate) continue;
    const { baton, peer, vsPeer } = separate;
    rows.push(
      `| ${baton.variant.label}: throughput ≥ ${percent(METRICS_TARGET)} of bare ${pair.name}, separate processes | ${describe(baton)} | indicative (${headline(baton) >= METRICS_TARGET ? 'at or above' : 'below'} target) |`,
      `| ${baton.variant.label} vs ${pair.peerName}, separate processes | ${vsPeer.text} (peer: ${describe(peer)}) | indicative (${vsPeer.value >= 1 ? 'not slower' : 'slower'}) |`,
    );
  }
  return rows;
}

/** The "Metrics" section of RESULTS.md. */
export function metricsMarkdown(
  throughput: ThroughputResult | undefined,
  cpuCost: readonly CpuPerRequestResult[] | undefined,
  cost: MetricsCostResult | undefined,
  notMeasured: string,
): string[] {
  const lines = [
    '## Metrics',
    '',
    'Baton with `@baton/metrics` (`baton(app, { metrics: createMetrics({ release: \'v1\' }) })`, `batonPlugin` with `metrics`: lifecycle, probes and RED metrics, `/metrics` served on the app) ' +
      'against the bare framework and against each framework\'s metrics peer (metrics only): express-prom-bundle 8.0.0 for Express, fastify-metrics 12.1.0 for Fastify. ' +
      `Every recorder has a prom-client Registry of its own; the setup of each is in \`bench/src/servers/metrics-setup.ts\`. Same app and route as everywhere (\`GET /orders/:id\`). Target: Baton + metrics ≥ ${percent(METRICS_TARGET)} of bare and no slower than the peer, judged on the twins in one process.`,
    '',
    '### Twins in one process (CPU per request)',
    '',
  ];
  if (cpuCost) {
    lines.push(
      'The twins of the section above: one process per framework serves bare, the A/A control, Baton, Baton + metrics and the peer on five ports, loaded in turn in the same rounds. ' +
        '"vs bare" is bare ÷ twin CPU per request (the share of bare throughput per CPU the twin keeps), median of same-round ratios. ' +
        '"Baton + metrics vs peer" is the peer\'s CPU per request ÷ Baton + metrics\' (median of same-round ratios): above 100% Baton, doing lifecycle, probes and metrics, costs less per request than the peer doing metrics alone.',
      '',
      '| Framework | Twin | µs/req | vs bare | rounds (min–max) |',
      '| --- | --- | ---: | ---: | ---: |',
    );
    for (const r of cpuCost) {
      const pair = pairOf(r.framework);
      const names: [Twin, string][] = [
        ['bare', 'bare'],
        ['bareTwin', 'bare, A/A control'],
        ['baton', 'Baton (lifecycle, probes)'],
        ['batonMetrics', 'Baton + metrics'],
        ['peer', pair.peerName],
      ];
      for (const [twin, name] of names) {
        const spreadOf = twin === 'bare' ? `${r.rounds}` : `${r.rounds} (${percent(Math.min(...r.roundRatios[twin]))}–${percent(Math.max(...r.roundRatios[twin]))})`;
        lines.push(`| ${pair.name} | ${name} | ${r.microsPerRequest[twin].toFixed(1)} | ${twin === 'bare' ? '1 (baseline)' : percent(r.ratios[twin])} | ${spreadOf} |`);
      }
    }
    lines.push('');
    for (const r of cpuCost) {
      const pair = pairOf(r.framework);
      lines.push(
        `- ${pair.name}: Baton + metrics vs ${pair.peerName} **${percent(r.batonMetricsVsPeer)}** (rounds ${percent(Math.min(...r.batonMetricsVsPeerRounds))}–${percent(Math.max(...r.batonMetricsVsPeerRounds))}); ` +
          `Baton + metrics keeps ${percent(r.metricsOverBaton)} of Baton alone's throughput per CPU (the metrics' own share); failed requests ${r.failed}.`,
      );
    }
    lines.push('');
  } else {
    lines.push(notMeasured, '');
  }

  lines.push('### Separate processes (throughput)', '');
  const separate = METRICS_PAIRS.map((pair) => ({ pair, figures: separateFigures(throughput, pair) })).filter((s) => s.figures !== undefined);
  if (throughput && separate.length > 0) {
    lines.push(
      'From the throughput table above (each variant a server of its own, indicative only on this machine: see its A/A controls). "Baton + metrics vs peer": same-round ratio of their requests per server CPU-second (median over the quiet rounds), and the quotient of their head-to-head ratios to bare.',
      '',
      '| Variant | vs bare (req/s) | vs bare (per server CPU) | head-to-head (per server CPU) |',
      '| --- | ---: | ---: | ---: |',
    );
    for (const { figures } of separate) {
      for (const v of [figures?.baton, figures?.peer]) {
        if (v) lines.push(`| ${v.variant.label} | ${percent(v.ratioToBare)} | ${percent(v.cpuRatioToBare)} | ${v.duel ? percent(v.duel.cpuRatioToBare) : 'n/a'} |`);
      }
    }
    lines.push('', ...separate.map(({ pair, figures }) => `- ${pair.name}: Baton + metrics vs ${pair.peerName}: ${figures?.vsPeer.text}.`), '');
  } else {
    lines.push(throughput ? 'The metrics variants were not in this run (`BENCH_ONLY`).' : 'Not in this run (see Throughput).', '');
  }

  lines.push('### Recording one request', '');
  if (cost) {
    lines.push(
      `\`bench/src/metrics-cost.ts\`: ${cost.requestsPerRound.toLocaleString('en-US')} real node:http request/response pairs per round (finished, status 200), ${cost.rounds} rounds in one tight loop in a fresh node process, the three loops in a rotating order; ` +
        'the loop without recording is subtracted. In a process that has run other code (the benchmark\'s own, a real server) every figure comes out higher, the bare loop too; the ratio between the recorders is what carries over. Baton: `metrics.requestStarted()` + `metrics.requestEnded(startedAt, req, res, \'/orders/:id\')`. ' +
        'prom-client: `histogram.observe(labels, seconds)` + `counter.inc(labels)` with `{ method, route, status_code }`, Baton\'s buckets, two `performance.now()` calls, a Registry of its own.',
      '',
      '| Recorder | ns per request (added) |',
      '| --- | ---: |',
      `| loop alone (request/response pair) | ${cost.bareNs.toFixed(0)} |`,
      `| @baton/metrics | ${cost.batonNs.toFixed(0)} |`,
      `| prom-client histogram + counter | ${cost.promClientNs.toFixed(0)} |`,
      '',
    );
    if (cpuCost) {
      lines.push(
        `Against bare CPU per request from the twins, Baton's recording is ${cpuCost.map((r) => `${((cost.batonNs / 1000 / r.microsPerRequest.bare) * 100).toFixed(2)}% of a${r.framework === 'express' ? 'n Express' : ' Fastify'} request`).join(' and ')}.`,
        '',
      );
    }
  } else {
    lines.push(notMeasured, '');
  }

  lines.push('### Label schemes', '', '| Variant | What it records | Order route as scraped (twins, after the warm-up) |', '| --- | --- | --- |');
  for (const pair of METRICS_PAIRS) {
    const sample = cpuCost?.find((r) => r.framework === pair.framework)?.metricsSample;
    lines.push(`| ${pair.name} + Baton + metrics | ${pair.batonScheme} | ${sample ? `\`${sample.batonMetrics}\`` : 'n/a'} |`);
    lines.push(`| ${pair.name} + ${pair.peerName} | ${pair.peerScheme} | ${sample ? `\`${sample.peer}\`` : 'n/a'} |`);
  }
  lines.push('');
  return lines;
}

interface SeparateFigures {
  baton: VariantResult;
  peer: VariantResult;
  vsPeer: { value: number; text: string };
}

function separateFigures(throughput: ThroughputResult | undefined, pair: MetricsPair): SeparateFigures | undefined {
  const baton = throughput?.variants.find((v) => v.variant.id === pair.baton);
  const peer = throughput?.variants.find((v) => v.variant.id === pair.peer);
  if (!baton || !peer) return undefined;
  const quiet = (i: number): boolean => (baton.samples[i]?.foreignCores ?? Infinity) <= FOREIGN_LOAD_LIMIT && (peer.samples[i]?.foreignCores ?? Infinity) <= FOREIGN_LOAD_LIMIT;
  const rounds = baton.samples.map((_, i) => i).filter((i) => peer.samples[i] !== undefined);
  const used = rounds.filter(quiet).length >= Math.min(3, rounds.length) ? rounds.filter(quiet) : rounds;
  const sameRound = median(used.map((i) => (baton.samples[i]?.requestsPerCpuSecond as number) / (peer.samples[i]?.requestsPerCpuSecond as number)));
  const duels = baton.duel && peer.duel ? baton.duel.cpuRatioToBare / peer.duel.cpuRatioToBare : Number.NaN;
  const value = Number.isFinite(duels) ? duels : sameRound;
  return {
    baton,
    peer,
    vsPeer: { value, text: `${percent(duels)} from the head-to-head ratios, ${percent(sameRound)} same-round back-to-back per server CPU` },
  };
}

function headline(v: VariantResult): number {
  return v.duel ? v.duel.cpuRatioToBare : v.cpuRatioToBare;
}

function describe(v: VariantResult): string {
  return v.duel
    ? `${percent(v.duel.cpuRatioToBare)} head-to-head per server CPU; back-to-back ${percent(v.ratioToBare)} req/s`
    : `${percent(v.ratioToBare)} req/s (${percent(v.cpuRatioToBare)} per server CPU)`;
}

function pairOf(framework: 'express' | 'fastify'): MetricsPair {
  const pair = METRICS_PAIRS.find((p) => p.framework === framework);
  if (!pair) throw new Error(`no metrics pair for ${framework}`);
  return pair;
}

function yes(met: boolean): string {
  return met ? 'yes' : '**no**';
}

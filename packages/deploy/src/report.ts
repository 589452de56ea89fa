import { randomUUID } from 'node:crypto';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from './internal/private-dir.js';
import type { StragglerSummary } from './orchestrator/dns-switch.js';
import { renderShadowSection } from './report-shadow.js';
import { renderStragglersSection } from './report-stragglers.js';
import type { ShadowStatus } from './shadow/shadow-step.js';
import type { GateResult } from './gates/gate.js';
import type { DeployEvent, RouteFigures, RouteTest, Verdict } from './model.js';
import type { ReleaseSample, TimelineSample } from './monitor.js';
import type { DeployRecord } from './service-state.js';

/** One step of the deploy and how long it took. */
export interface StepTiming {
  index: number;
  description: string;
  startMs: number;
  endMs: number;
}

/** Everything that happened in one deploy: what `report.json` holds and the HTML page shows. */
export interface DeployReport {
  service: string;
  deployId: string;
  from?: string;
  to: string;
  strategy: string;
  phase: string;
  reason?: string;
  startedAtMs: number;
  endedAtMs?: number;
  steps: StepTiming[];
  /** Every event but the samples: each decision, in order. */
  decisions: DeployEvent[];
  samples: TimelineSample[];
  verdicts: Verdict[];
  /** Each shadow step's figures (`shadow` events), in order. */
  shadows?: ShadowStatus[];
  /** Blue/green by DNS: each stack the record left, and how its traffic died down after the switch (`stragglers` events). */
  stragglers?: StragglerSummary[];
  /** Instances the platform could not stop (`instance-stop-failed` events): out of traffic, maybe still running. */
  stopFailures: { id: string; release: string; error: string; atMs: number }[];
  /** The environment deployed to, of a config with environments. */
  environment?: string;
  /** How the release came: a deploy, a promotion (from `promotedFrom`), or a rollback. */
  via?: 'deploy' | 'promote' | 'rollback';
  promotedFrom?: string;
  /** Who ran it. */
  by?: { user: string; host: string };
  /** The gates checked before anything moved, each with its evidence. */
  gates?: GateResult[];
  /**
   * The fresh baseline started beside the canary, when there was one: the
   * stable release's instances (by id) the analysis could judge the
   * candidate against, and the `baseline-failed` events' messages.
   */
  baseline?: { release: string; instances: string[]; failures: string[] };
}

/** Builds the report of deploy `record` from the journal's events (those of other deploys are left out). */
export function buildReport(service: string, record: DeployRecord, events: readonly DeployEvent[], environment?: string): DeployReport {
  const start = events.findLastIndex((event) => event.type === 'deploy-started' && event.data?.['deployId'] === record.id);
  const mine = start === -1 ? events.filter((event) => event.atMs >= record.startedAtMs) : events.slice(start);
  const end = record.endedAtMs ?? Number.POSITIVE_INFINITY;
  const own = mine.filter((event) => event.atMs <= end + 1000);
  const decisions = own.filter((event) => event.type !== 'sample');
  const samples = own.filter((event) => event.type === 'sample').map((event) => ({ atMs: event.atMs, releases: (event.data?.['releases'] ?? {}) as Record<string, ReleaseSample> }));
  const verdicts = decisions.filter((event) => event.type === 'analysis').map((event) => event.data?.['verdict'] as Verdict);
  const stopFailures = decisions
    .filter((event) => event.type === 'instance-stop-failed')
    .map((event) => ({ id: String(event.data?.['id'] ?? '?'), release: String(event.data?.['release'] ?? '?'), error: String(event.data?.['error'] ?? event.message), atMs: event.atMs }));
  const stepEvents = decisions.filter((event) => event.type === 'step');
  const steps = stepEvents.map((event, i) => ({
    index: Number(event.data?.['index'] ?? i),
    description: event.message.replace(/^Step \d+\/\d+: /, '').replace(/\.$/, ''),
    startMs: event.atMs,
    // A step ends where the next begins, or where the deploy turned to its end (rollback, success).
    endMs: stepEvents[i + 1]?.atMs ?? decisions.find((later) => later.atMs >= event.atMs && ENDINGS.has(later.type))?.atMs ?? record.endedAtMs ?? event.atMs,
  }));
  const report: DeployReport = {
    service,
    deployId: record.id,
    to: record.to,
    strategy: record.strategy.type,
    phase: record.phase,
    startedAtMs: record.startedAtMs,
    steps,
    decisions,
    samples,
    verdicts,
    stopFailures,
  };
  if (record.from !== undefined) report.from = record.from;
  if (record.reason !== undefined) report.reason = record.reason;
  if (record.endedAtMs !== undefined) report.endedAtMs = record.endedAtMs;
  if (environment !== undefined) report.environment = environment;
  if (record.via !== undefined) report.via = record.via;
  if (record.promotedFrom !== undefined) report.promotedFrom = record.promotedFrom;
  if (record.by !== undefined) report.by = record.by;
  if (record.gates !== undefined) report.gates = record.gates;
  const shadows = decisions.filter((event) => event.type === 'shadow').map((event) => event.data?.['shadow'] as ShadowStatus);
  if (shadows.length > 0) report.shadows = shadows;
  const stragglers = decisions.filter((event) => event.type === 'stragglers').map((event) => event.data?.['stragglers'] as StragglerSummary);
  if (stragglers.length > 0) report.stragglers = stragglers;
  const baseline = decisions.filter((event) => event.type === 'instance-started' && event.data?.['role'] === 'baseline');
  if (baseline.length > 0) {
    report.baseline = {
      release: String(baseline[0]?.data?.['release'] ?? record.from ?? '?'),
      instances: baseline.map((event) => String(event.data?.['id'] ?? '?')),
      failures: decisions.filter((event) => event.type === 'baseline-failed').map((event) => event.message),
    };
  }
  return report;
}

/**
 * Writes `report.json` and `report.html` into `dir` (each atomically, mode
 * 0600 in a 0700 directory) and returns their paths. The report holds what
 * the events hold, which the orchestrator has scrubbed of secrets already.
 */
export async function writeReport(dir: string, report: DeployReport): Promise<{ json: string; html: string }> {
  await ensurePrivateDir(dir, (name) => /^report\.(?:json|html)(?:\..*\.tmp)?$/.test(name));
  const json = join(dir, 'report.json');
  const html = join(dir, 'report.html');
  await writeAtomically(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeAtomically(html, renderReportHtml(report));
  return { json, html };
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  try {
    await writeFile(temp, text, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
}

const ENDINGS = new Set(['rollback', 'succeeded', 'failed', 'paused']);
const COLORS = ['#2563eb', '#ea580c', '#16a34a', '#9333ea', '#db2777', '#0891b2'];
const MARKED = new Set(['instance-stop-failed', 'deploy-started', 'analysis', 'shadow', 'dns-switched', 'stragglers', 'paused', 'promoted', 'rollback', 'rolled-back', 'succeeded', 'failed', 'instance-ready', 'instance-stopped', 'deploy-resumed', 'baseline-failed']);

/**
 * A self-contained HTML page (no scripts, no external files): the outcome,
 * a timeline of traffic weight, request rate, errors and p99 latency per
 * release with every decision marked, the steps with their durations, and
 * every event.
 */
export function renderReportHtml(report: DeployReport): string {
  const weightSeries = weightsFromDecisions(report.decisions);
  const releases = [...new Set([...weightSeries.keys(), ...report.samples.flatMap((sample) => Object.keys(sample.releases))])];
  const color = (release: string): string => COLORS[releases.indexOf(release) % COLORS.length] ?? '#555';
  const t0 = report.startedAtMs;
  const t1 = Math.max(report.endedAtMs ?? 0, report.samples.at(-1)?.atMs ?? 0, report.decisions.at(-1)?.atMs ?? 0, t0 + 1000);
  const marks = report.decisions.filter((event) => MARKED.has(event.type));
  const fromSamples = (value: (sample: ReleaseSample) => number | undefined): Series => {
    const series: Series = new Map();
    for (const sample of report.samples) {
      for (const [release, figures] of Object.entries(sample.releases)) {
        const v = value(figures);
        if (v !== undefined && Number.isFinite(v)) (series.get(release) ?? series.set(release, []).get(release))?.push({ t: sample.atMs, v });
      }
    }
    return series;
  };
  const charts = [
    // Weights as the orchestrator set them (exact steps), or as sampled when no decision recorded them.
    weightSeries.size > 0 ? chart('Traffic weight (%)', 'weight', weightSeries, 100, true) : chart('Traffic weight (%)', 'weight', fromSamples((r) => r.weightPercent), 100),
    chart('Requests per second', 'rate', fromSamples((r) => r.requestRate)),
    chart('Errors (5xx) per second', 'errors', fromSamples((r) => r.errorRate)),
    chart('p99 latency (ms)', 'latency', fromSamples((r) => r.p99Ms)),
  ].join('\n');

  function chart(title: string, id: string, series: Series, fixedMax?: number, steps = false): string {
    const width = 900;
    const height = 170;
    const left = 48;
    const right = 28;
    const top = 12;
    const bottom = 24;
    const values = [...series.values()].flatMap((points) => points.map((point) => point.v));
    const max = fixedMax ?? niceMax(Math.max(0, ...values));
    const x = (t: number): number => left + ((t - t0) / (t1 - t0)) * (width - left - right);
    const y = (v: number): number => top + (1 - v / (max || 1)) * (height - top - bottom);
    const lines = releases
      .map((release) => {
        const raw = series.get(release) ?? [];
        // A step chart holds each value until the next change, and to the end.
        const points = steps ? raw.flatMap((point, i) => [point, { t: raw[i + 1]?.t ?? t1, v: point.v }]) : raw;
        const text = points.map((point) => `${x(point.t).toFixed(1)},${y(point.v).toFixed(1)}`);
        return text.length === 0 ? '' : `<polyline data-release="${escape(release)}" fill="none" stroke="${color(release)}" stroke-width="2" points="${text.join(' ')}"/>`;
      })
      .join('');
    const markLines = marks
      .map((event) => `<line x1="${x(event.atMs).toFixed(1)}" x2="${x(event.atMs).toFixed(1)}" y1="${top}" y2="${height - bottom}" class="mark ${escape(event.type)}"><title>${escape(`${formatOffset(event.atMs - t0)} ${event.message}`)}</title></line>`)
      .join('');
    const ticks = [0, 0.5, 1].map((f) => `<text x="${left - 6}" y="${y(max * f) + 4}" text-anchor="end">${formatNumber(max * f)}</text>`).join('');
    const timeTicks = Array.from({ length: 6 }, (_, i) => t0 + ((t1 - t0) * i) / 5)
      .map((t) => `<text x="${x(t)}" y="${height - 6}" text-anchor="middle">${formatOffset(t - t0)}</text>`)
      .join('');
    return `<figure id="${id}"><figcaption>${escape(title)}</figcaption><svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${escape(title)}">
<rect x="${left}" y="${top}" width="${width - left - right}" height="${height - top - bottom}" class="plot"/>${markLines}${lines}${ticks}${timeTicks}</svg></figure>`;
  }

  const duration = report.endedAtMs === undefined ? 'still running' : formatOffset(report.endedAtMs - report.startedAtMs);
  const legend = releases.map((release) => `<span class="key"><i style="background:${color(release)}"></i>${escape(release)}</span>`).join(' ');
  const steps = report.steps.map((step) => `<tr><td>${step.index + 1}</td><td>${escape(step.description)}</td><td>${formatOffset(step.startMs - t0)}</td><td>${formatOffset(step.endMs - step.startMs)}</td></tr>`).join('');
  const events = report.decisions.map((event) => `<tr class="${escape(event.type)}"><td>${formatOffset(event.atMs - t0)}</td><td>${escape(event.type)}</td><td>${escape(event.message)}</td></tr>`).join('');
  const gates = (report.gates ?? [])
    .map((gate) => `<li class="${escape(gate.status)}"><b>${escape(gate.status)}</b> ${escape(gate.gate)}: ${escape(gate.summary)}${gate.evidence.length === 0 ? '' : `<small>${gate.evidence.map(escape).join('<br>')}</small>`}</li>`)
    .join('');
  const origin = report.via === 'promote' ? ` promoted from ${report.promotedFrom ?? '?'}` : report.via === 'rollback' ? ' (a rollback)' : '';
  const where = report.environment === undefined ? '' : ` to ${report.environment}`;
  const by = report.by === undefined ? '' : ` by ${report.by.user}@${report.by.host}`;
  const verdicts = report.verdicts
    .map((verdict) => {
      const figures = Object.entries(verdict.releases)
        .map(([release, f]) => `${escape(release)}: ${f.requests} requests, ${(f.errorRate * 100).toFixed(2)}% errors${f.latency === undefined ? '' : `, p99 ${(f.latency * 1000).toFixed(0)} ms`}`)
        .join('; ');
      const against = comparedWith(verdict);
      return `<li class="${verdict.outcome}"><b>${verdict.outcome}</b> at ${formatOffset(verdict.atMs - t0)}: ${escape(verdict.reasons.join(' '))} <small>${against === '' ? '' : `${escape(against)}; `}${figures}</small>${routeTable(verdict)}</li>`;
    })
    .join('');

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(`Deploy of ${report.to} — ${report.phase}`)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:960px;color:#111;padding:0 12px}
h1{font-size:22px;margin:0 0 4px}.outcome{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:600}
.outcome.succeeded{background:#16a34a}.outcome.rolled-back,.outcome.failed{background:#dc2626}.outcome.running,.outcome.paused,.outcome.rolling-back{background:#ca8a04}
table{border-collapse:collapse;width:100%;margin:8px 0 20px}td,th{border-bottom:1px solid #e5e7eb;padding:4px 6px;text-align:left;vertical-align:top}td:first-child,td:nth-child(2){white-space:nowrap}
tr.rollback td,tr.rolled-back td,tr.failed td{color:#b91c1c}tr.analysis td,tr.shadow td{color:#1d4ed8;white-space:pre-line}
figure{margin:12px 0}figcaption{font-weight:600;margin-bottom:2px}svg{width:100%;height:auto;font-size:11px;fill:#555}
.plot{fill:#fafafa;stroke:#ddd}.mark{stroke:#999;stroke-dasharray:3 3}.mark.rollback,.mark.rolled-back,.mark.failed{stroke:#dc2626;stroke-dasharray:none}
.mark.analysis{stroke:#2563eb}.mark.succeeded{stroke:#16a34a;stroke-dasharray:none}
.key{margin-right:12px}.key i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
.warning{border:1px solid #dc2626;background:#fef2f2;padding:6px 10px;margin:8px 0}tr.instance-stop-failed td{color:#b91c1c}
table.routes{font-size:12px;margin:6px 0 10px}tr.fail td{color:#b91c1c}tr.not-judged td{color:#6b7280}li.pass b{color:#16a34a}li.fail b{color:#dc2626}li.inconclusive b,li.skipped b{color:#ca8a04}small{color:#555;display:block}
</style></head><body>
<h1>${escape(report.service)}: ${escape(report.from ? `${report.from} → ${report.to}` : report.to)} <span class="outcome ${escape(report.phase)}">${escape(report.phase)}</span></h1>
<p>${escape(report.strategy)} deploy${escape(where)}${escape(origin)} <code>${escape(report.deployId)}</code>, started ${escape(new Date(report.startedAtMs).toISOString())}${escape(by)}, took ${duration}.${report.reason ? ` <b>Reason:</b> ${escape(report.reason)}` : ''}</p>
${
  (report.stopFailures ?? []).length === 0
    ? ''
    : `<div class="warning"><b>Not stopped:</b> ${(report.stopFailures ?? []).map((failure) => `${escape(failure.id)} (${escape(failure.release)}): ${escape(failure.error)}`).join('; ')}. Out of traffic, but the process may still run; the next deploy or baton down tries again.</div>`
}
${gates === '' ? '' : `<h2>Gates</h2><ul>${gates}</ul>`}
<p>${legend} <span class="key">dashed lines: decisions (hover for what happened)</span></p>
${charts}
${renderShadowSection(report.shadows ?? [], escape)}
${renderStragglersSection(report.stragglers ?? [], escape)}
<h2>Analysis</h2>${baselineLine(report)}${verdicts === '' ? '<p>No analysis ran.</p>' : `<ul>${verdicts}</ul>`}
<h2>Steps</h2><table><thead><tr><th>#</th><th>Step</th><th>Began</th><th>Took</th></tr></thead><tbody>${steps}</tbody></table>
<h2>Events</h2><table><thead><tr><th>At</th><th>Event</th><th>What happened</th></tr></thead><tbody>${events}</tbody></table>
</body></html>
`;
}

/** What a verdict compared the candidate with, in words; empty when the analysis did not say. */
function comparedWith(verdict: Verdict): string {
  const compared = verdict.comparedWith;
  if (compared === undefined) return '';
  const which = compared.instances.length === 0 ? '' : ` (${compared.instances.join(', ')})`;
  if (compared.kind === 'fresh') return `compared with the fresh baseline of ${compared.release}${which}`;
  if (compared.kind === 'warm') return `compared with the warm instances of ${compared.release}${which}`;
  if (compared.kind === 'before') return `compared with what ${compared.release}${which} served before the switch`;
  return 'compared with nothing (no stable release)';
}

/** The statistical judge's routes, one row each: the figures of both sides, the tests, and what decided. */
function routeTable(verdict: Verdict): string {
  const routes = verdict.routes ?? [];
  if (routes.length === 0) return '';
  const side = (f: RouteFigures): string => `${f.requests} req, ${f.errors} err${f.latency === undefined ? '' : `, p${quantileLabel(verdict)} ${(f.latency * 1000).toFixed(f.latency < 0.01 ? 1 : 0)} ms`}`;
  const test = (t: RouteTest | undefined, show: (t: RouteTest) => string): string =>
    t === undefined ? '—' : `${escape(`${show(t)}; p ${formatP(t.pValue)}, adjusted ${formatP(t.adjustedPValue)}`)}${t.failed ? ' <b>failed</b>' : ''}`;
  const rows = routes
    .map((route) => {
      const name = route.pooled === undefined ? route.route : `${route.route}: ${route.pooled.join(', ')}`;
      const errors = test(route.errors, (t) => `${t.effect >= 0 ? '+' : ''}${(t.effect * 100).toFixed(2)} pts (≤ ${(t.effectUpper * 100).toFixed(2)}; margin ${(t.margin * 100).toFixed(2)})`);
      const latency = test(route.latency, (t) => `p${t.quantile === undefined ? quantileLabel(verdict) : String(Number((t.quantile * 100).toPrecision(12)))} ${t.effect.toFixed(2)}× (margin ${t.margin}×)`);
      return `<tr class="${route.outcome}"><td>${escape(name)}</td><td>${route.outcome}</td><td>${escape(side(route.candidate))}</td><td>${escape(side(route.baseline))}</td><td>${errors}</td><td>${latency}</td></tr>`;
    })
    .join('');
  return `<table class="routes"><thead><tr><th>Route</th><th>Finding</th><th>Candidate</th><th>Baseline</th><th>Errors</th><th>Latency</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function quantileLabel(verdict: Verdict): string {
  return String(Number(((verdict.latencyQuantile ?? 0.99) * 100).toPrecision(12)));
}

function formatP(p: number): string {
  return p < 0.0001 ? '< 0.0001' : p.toPrecision(2);
}

/** The fresh baseline beside the canary, where people read the analysis: which instances, and what failed. */
function baselineLine(report: DeployReport): string {
  const baseline = report.baseline;
  if (baseline === undefined) return '';
  const failures = baseline.failures.length === 0 ? '' : `<small>${baseline.failures.map(escape).join('<br>')}</small>`;
  return `<p class="baseline">Fresh baseline: ${escape(baseline.instances.join(', '))}, instances of ${escape(baseline.release)} started with the canary's and given the same share of traffic, to judge it against.${failures}</p>`;
}

/** Points of one chart, by release. */
type Series = Map<string, { t: number; v: number }[]>;

/** Each release's share of the router's weight, from the orchestrator's `weights` decisions; a release absent from one has 0%. */
function weightsFromDecisions(decisions: readonly DeployEvent[]): Series {
  const series: Series = new Map();
  for (const event of decisions) {
    if (event.type !== 'weights') continue;
    const shares = { ...((event.data?.['shares'] ?? {}) as Record<string, number>) };
    // The baseline's share is kept apart from its release's: a line of its own.
    const baseline = event.data?.['baseline'] as { release?: unknown; share?: unknown } | undefined;
    if (baseline !== undefined && typeof baseline.share === 'number') shares[`${String(baseline.release)} (baseline)`] = baseline.share;
    for (const release of new Set([...series.keys(), ...Object.keys(shares)])) {
      (series.get(release) ?? series.set(release, []).get(release))?.push({ t: event.atMs, v: shares[release] ?? 0 });
    }
  }
  return series;
}

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function formatNumber(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1).replace(/\.0$/, '') : value.toFixed(2).replace(/\.?0+$/, '') || '0';
}

function formatOffset(ms: number): string {
  const seconds = Math.max(ms, 0) / 1000;
  return seconds < 60 ? `${seconds.toFixed(1)} s` : `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

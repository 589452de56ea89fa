import { compareSnapshots, scrape, type GroupWindow, type Snapshot } from '@baton/metrics';
import { defaultExcludeRoutes } from '../analysis/metrics-analysis.js';
import { servedSpan, type HistoryEntry } from '../environments/history.js';
import type { AnalysisThresholds } from '../model.js';
import { formatReleaseTime } from '../releases/release-record.js';
import { isDown, isFinished, type ServiceState, type TrackedInstance } from '../service-state.js';
import type { GateResult } from './gate.js';

/**
 * `soak`: the release served in the previous environment for at least
 * `durationMs` — counted from the end of its last successful deploy there
 * until now, or until the next release took over — and no analysis window
 * of that deploy failed.
 */
export function checkSoak(settings: { durationMs: number } | undefined, question: { version: string; environment: string; previousEnvironment: string | undefined; previousHistory: readonly HistoryEntry[]; now: number }): GateResult {
  const gate = 'soak';
  const { version, previousEnvironment: previous } = question;
  if (settings === undefined) return { gate, status: 'skipped', summary: `not configured for ${question.environment}.`, evidence: [] };
  if (previous === undefined) return { gate, status: 'skipped', summary: `${question.environment} has no environment before it to soak in.`, evidence: [] };
  const asked = formatDuration(settings.durationMs);
  const span = servedSpan(question.previousHistory, version);
  if (span === undefined) return { gate, status: 'fail', summary: `${version} never served in ${previous}: it cannot have soaked there for ${asked}.`, evidence: [] };
  const servedMs = (span.untilMs ?? question.now) - span.sinceMs;
  const evidence = [
    span.untilMs === undefined
      ? `${version} has served in ${previous} since ${formatReleaseTime(span.sinceMs)}: ${formatDuration(servedMs)}.`
      : `${version} served in ${previous} from ${formatReleaseTime(span.sinceMs)} until ${span.endedBy?.release ?? 'another release'} replaced it on ${formatReleaseTime(span.untilMs)}: ${formatDuration(servedMs)}.`,
  ];
  const analyses = span.entry.analyses;
  evidence.push(
    analyses === undefined
      ? `No analysis window ran in its deploy there (a first deploy has no release to compare with; ${previous}'s strategy may have no analysis step).`
      : `Its deploy there: ${analyses.pass} analysis window${analyses.pass === 1 ? '' : 's'} passed, ${analyses.fail} failed, ${analyses.inconclusive} inconclusive.`,
  );
  const data = { servedMs, durationMs: settings.durationMs, since: span.sinceMs, ...(span.untilMs === undefined ? {} : { until: span.untilMs }), ...(analyses === undefined ? {} : { analyses }) };
  if (analyses !== undefined && analyses.fail > 0) return { gate, status: 'fail', summary: `${version}'s analysis failed in ${previous}.`, evidence, data };
  if (servedMs < settings.durationMs) {
    // Rounded up: a refusal never says there is nothing left to wait for.
    const more = span.untilMs === undefined ? `; ${formatDuration(Math.ceil((settings.durationMs - servedMs) / 1000) * 1000)} to go` : '';
    return { gate, status: 'fail', summary: `${version} has soaked in ${previous} for ${formatDuration(servedMs)} of the ${asked} asked${more}.`, evidence, data };
  }
  return { gate, status: 'pass', summary: `${version} soaked in ${previous} for ${formatDuration(servedMs)} (${asked} asked).`, evidence, data };
}

/** What {@link checkSoakLive} is asked about, besides what {@link checkSoak} is. */
export interface SoakLiveQuestion {
  version: string;
  previousEnvironment: string;
  previousHistory: readonly HistoryEntry[];
  /** The previous environment's journaled state: its instances now; undefined when its journal holds none. */
  previousState: ServiceState | undefined;
  /** The limits the release is held to: the analysis thresholds. */
  thresholds: Pick<AnalysisThresholds, 'maxErrorRate' | 'minRequests' | 'latencyQuantile'>;
  /** Path of the instances' metrics endpoint. */
  metricsPath: string;
  /** Bearer token of the metrics endpoints; never said in a result. */
  token?: string;
  /** Limit of one scrape; default 5000 ms. */
  scrapeTimeoutMs?: number;
  now: () => number;
  signal?: AbortSignal;
}

/**
 * The soak's live part: while the release still serves in the previous
 * environment, its ready instances' `/metrics` read now, and its error rate
 * over everything they served since they started (the requests labelled with
 * its release, probes and scrapes left out as analysis does) held to
 * `thresholds.maxErrorRate`. A deploy without analysis steps — a first one —
 * is judged by its traffic this way too.
 *
 * - `fail` when it served fewer than `settings.minRequests` requests there
 *   (too little traffic to judge), when its error rate is above the limit
 *   (with fewer than `thresholds.minRequests` requests, its errors are
 *   counted against that many: a handful of errors still fails, one unlucky
 *   one does not), when an instance cannot be scraped (an unchecked release
 *   does not pass), or when it should serve there and no instance of it is
 *   ready.
 * - `skipped` when it no longer serves there (replaced, the environment taken
 *   down, its journal empty): the evidence says it is judged by its history
 *   alone.
 * - `pass` otherwise, the evidence one line of its figures.
 *
 * Undefined when there is nothing live to judge: no soak asked, or the
 * release never served there ({@link checkSoak} says so). Scrape failures
 * never throw; an aborted `signal` does.
 */
export async function checkSoakLive(settings: { minRequests?: number } | undefined, question: SoakLiveQuestion): Promise<GateResult | undefined> {
  const gate = 'soak';
  const { version, previousEnvironment: previous, previousState: state, thresholds } = question;
  if (settings === undefined) return undefined;
  const span = servedSpan(question.previousHistory, version);
  if (span === undefined) return undefined;
  const minRequests = settings.minRequests ?? 0;
  const redact = (text: string): string => (question.token === undefined ? text : text.replaceAll(question.token, '<token>'));
  const historyOnly = (why: string): GateResult => ({
    gate,
    status: 'skipped',
    summary: `${why}.`,
    evidence: [`${why}: its live numbers cannot be read, so its soak there is judged by its history alone.`],
    data: { serving: false },
  });

  // Replaced there: its instances are gone or take no traffic, so what they count now is not its soak.
  if (span.untilMs !== undefined) return historyOnly(`${version} no longer serves in ${previous} (${span.endedBy?.release ?? 'another release'} replaced it)`);
  if (state === undefined) return historyOnly(`${previous}'s journal holds no state`);
  if (isDown(state)) return historyOnly(`${previous} was taken down on ${formatReleaseTime(state.down.atMs)}`);
  const ready = state.instances.filter((instance) => instance.release === version && instance.status === 'ready').sort((a, b) => a.id.localeCompare(b.id));
  if (ready.length === 0) {
    if (state.stable !== undefined && state.stable.version !== version) return historyOnly(`${version} no longer serves in ${previous} (${state.stable.version} does)`);
    const deploy = state.deploy;
    if (deploy !== undefined && !isFinished(deploy.phase) && deploy.to !== version) return historyOnly(`${version} no longer serves in ${previous} (${deploy.to} is being deployed over it)`);
    return {
      gate,
      status: 'fail',
      summary: `${version} should serve in ${previous}, but none of its instances is ready there: its live numbers cannot be read.`,
      evidence: [`${previous}'s journal lists no ready instance of ${version}${state.instances.length === 0 ? '' : ` (${describeInstances(state.instances)})`}.`],
      data: { serving: true, instances: 0 },
    };
  }

  const scraped = await Promise.all(
    ready.map(async (instance): Promise<{ instance: TrackedInstance; snapshot: Snapshot } | { instance: TrackedInstance; error: string }> => {
      try {
        const snapshot = await scrape(`${instance.url}${question.metricsPath}`, {
          timeoutMs: question.scrapeTimeoutMs ?? 5000,
          now: question.now,
          ...(question.token === undefined ? {} : { token: question.token }),
          ...(question.signal === undefined ? {} : { signal: question.signal }),
        });
        return { instance, snapshot };
      } catch (error) {
        if (question.signal?.aborted) throw error;
        return { instance, error: redact(error instanceof Error ? error.message : String(error)) };
      }
    }),
  );

  const evidence: string[] = [];
  const befores: Snapshot[] = [];
  const afters: Snapshot[] = [];
  const failures: string[] = [];
  for (const one of scraped) {
    if ('error' in one) {
      failures.push(one.instance.id);
      evidence.push(`${one.instance.id} could not be scraped: ${one.error}.`);
      continue;
    }
    const { snapshot } = one;
    // Two records of one address would count its requests twice.
    if (afters.some((after) => after.source === snapshot.source)) {
      evidence.push(`${one.instance.id} has the address of another instance of ${version} (${one.instance.url}): counted once.`);
      continue;
    }
    afters.push(snapshot);
    // Its counters started at zero when it started: an empty snapshot then makes the window its whole life.
    befores.push({ source: snapshot.source, atMs: Math.min(one.instance.startedAtMs, snapshot.atMs - 1), families: [] });
  }

  const excluded = new Set(defaultExcludeRoutes(question.metricsPath));
  const key = `p${Number((thresholds.latencyQuantile * 100).toPrecision(12))}`;
  let groups: Map<string, GroupWindow>;
  try {
    groups = compareSnapshots(befores, afters, { groupBy: 'release', quantiles: [thresholds.latencyQuantile], filter: (labels) => labels.route === undefined || !excluded.has(labels.route) });
  } catch (error) {
    return { gate, status: 'fail', summary: `${version}'s metrics in ${previous} could not be read: ${redact(error instanceof Error ? error.message : String(error))}.`, evidence, data: { serving: true } };
  }
  const group = groups.get(version);
  const requests = group?.requests ?? 0;
  const errors = group?.errors ?? 0;
  const errorRate = requests > 0 ? errors / requests : 0;
  const latency = group === undefined ? undefined : group.latency[key];
  const counted = afters.length;
  const data: Record<string, unknown> = {
    serving: true,
    instances: ready.length,
    requests,
    errors,
    errorRate,
    ...(latency === undefined ? {} : { latency: { [key]: latency } }),
    maxErrorRate: thresholds.maxErrorRate,
    minRequests,
    ...(failures.length === 0 ? {} : { unscraped: failures }),
  };
  const figures = `${formatCount(requests)} request${requests === 1 ? '' : 's'}, ${formatCount(errors)} error${errors === 1 ? '' : 's'} (${formatRate(errorRate)})${latency === undefined ? '' : `, ${key} ${formatMs(latency)}`}`;
  const from = failures.length === 0 ? `its ${plural(counted, 'ready instance')} since they started` : `the ${counted} of its ${ready.length} ready instances that could be scraped, since they started`;
  evidence.unshift(`${version}'s live numbers in ${previous}, from ${from}: ${figures}.`);
  if (requests === 0) {
    const others = [...groups.values()].reduce((sum, other) => sum + (other.group === version ? 0 : other.requests), 0);
    if (others > 0) evidence.push(`Its instances count ${formatCount(others)} requests, none labelled release="${version}": is RELEASE passed to their metrics?`);
  }

  if (failures.length > 0) {
    return { gate, status: 'fail', summary: `${version} could not be checked in ${previous}: ${list(failures)} could not be scraped.`, evidence, data };
  }
  if (requests < minRequests) {
    return {
      gate,
      status: 'fail',
      summary: `${version} served ${formatCount(requests)} request${requests === 1 ? '' : 's'} in ${previous} over its soak: too little traffic to judge, ${formatCount(minRequests)} are asked (soak.minRequests).`,
      evidence,
      data,
    };
  }
  // Below analysis' minRequests one error is a large rate: the errors are counted against that many requests instead.
  const judgedOver = Math.max(requests, thresholds.minRequests);
  const judgedRate = judgedOver > 0 ? errors / judgedOver : 0;
  const allowed = formatRate(thresholds.maxErrorRate);
  if (judgedRate > thresholds.maxErrorRate) {
    const few = judgedOver > requests ? `, and above it even counted against the ${formatCount(judgedOver)} requests analysis needs (analysis.minRequests)` : '';
    return {
      gate,
      status: 'fail',
      summary: `${version}'s error rate in ${previous} over its soak is ${formatRate(errorRate)} of ${formatCount(requests)} request${requests === 1 ? '' : 's'}, above the ${allowed} allowed${few}.`,
      evidence,
      data,
    };
  }
  if (judgedOver > requests && errors > 0) {
    evidence.push(`${formatCount(requests)} requests are fewer than the ${formatCount(judgedOver)} analysis needs (analysis.minRequests): its errors counted against ${formatCount(judgedOver)} are ${formatRate(judgedRate)}, within the ${allowed} allowed.`);
  }
  return { gate, status: 'pass', summary: `${version}'s error rate in ${previous} is ${formatRate(errorRate)}, within the ${allowed} allowed.`, evidence, data };
}

/**
 * The one `soak` result of {@link checkSoak} (the history) and
 * {@link checkSoakLive} (the instances now): failed when either failed, its
 * summary the failing part's (both when both failed), the evidence of both.
 */
export function mergeSoak(history: GateResult, live: GateResult | undefined): GateResult {
  if (live === undefined || history.status === 'skipped') return history;
  const status = history.status === 'fail' || live.status === 'fail' ? 'fail' : history.status;
  const summary = live.status !== 'fail' ? history.summary : history.status === 'fail' ? `${history.summary} ${live.summary}` : live.summary;
  return { gate: history.gate, status, summary, evidence: [...history.evidence, ...live.evidence], data: { ...history.data, live: live.data } };
}

/** `47 min`, `2 h 5 min`, `12 s`. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** `1 200`: thousands apart, as the summaries read. */
function formatCount(value: number): string {
  const text = Number.isInteger(value) ? String(value) : value.toFixed(1);
  return text.replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/** `7.5%`, `5%`, `0.04%`: a tenth of a point, finer only for a rate that would read 0%. */
function formatRate(rate: number): string {
  const percent = rate * 100;
  if (percent > 0 && percent < 0.05) return `${Number(percent.toPrecision(1))}%`;
  return `${Number(percent.toFixed(1))}%`;
}

function formatMs(seconds: number): string {
  const ms = seconds * 1000;
  return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function list(items: readonly string[]): string {
  return items.length === 1 ? (items[0] as string) : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** `v2-1 starting, v1-4 ready`: what the journal lists instead. */
function describeInstances(instances: readonly TrackedInstance[]): string {
  const shown = instances.slice(0, 6).map((instance) => `${instance.id} ${instance.status}`);
  return instances.length > 6 ? `${shown.join(', ')} and ${instances.length - 6} more` : shown.join(', ');
}

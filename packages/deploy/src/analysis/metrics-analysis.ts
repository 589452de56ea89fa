import { BatonError } from '@baton/lifecycle';
import { compareSnapshots, scrape, type GroupWindow, type Snapshot } from '@baton/metrics';
import { DEFAULT_THRESHOLDS } from '../deploy-config.js';
import { DEFAULT_INSTANCE_PATHS, type Analysis, type AnalysisThresholds, type AnalysisWindow, type InstanceRecord, type Verdict } from '../model.js';

/** Options of {@link createMetricsAnalysis}. */
export interface MetricsAnalysisOptions {
  /** Any subset; the rest are the defaults of {@link AnalysisThresholds}. Keys that are not thresholds are ignored. */
  thresholds?: Partial<AnalysisThresholds>;
  /** Path of the instances' metrics endpoint; default `/metrics`. */
  metricsPath?: string;
  /** Bearer token of the metrics endpoints (`BATON_METRICS_TOKEN` of Baton's services). */
  token?: string;
  /** Limit of one scrape; default 5000 ms. */
  scrapeTimeoutMs?: number;
  /**
   * Keeps a request series (its labels: `route`, `method`, `status_code`,
   * `release`...) when true, on top of {@link excludeRoutes}.
   *
   * @example
   * { filter: (labels) => labels.route !== '/orders/export' }
   */
  filter?: (labels: Readonly<Record<string, string>>) => boolean;
  /**
   * Routes never counted: probes and scrapes say nothing about how a release
   * serves users, and a draining instance's 503 readiness answers would read
   * as errors. Baton's adapters already leave them out of the metrics; this
   * covers services that do not. Default `/livez`, `/readyz`, `/startupz`,
   * `/healthz` and the metrics path.
   */
  excludeRoutes?: readonly string[];
  /**
   * Latencies under this many seconds count as this much in the latency
   * check: a p99 of 2 ms against 4 ms is a 2× ratio, but noise on a busy
   * machine, and finer than the default histogram buckets can tell. Default
   * 0.01 (10 ms); 0 compares raw values.
   */
  latencyFloorSeconds?: number;
  /** The clock; default `Date.now`. */
  now?: () => number;
}

/** What a window holds besides its start: the first scrape of each instance. */
interface WindowData {
  /** Instances scraped at the start, by id, with their snapshot or why the scrape failed. */
  scrapes: Map<string, Scraped>;
}

type Scraped = { instance: InstanceRecord; snapshot: Snapshot } | { instance: InstanceRecord; error: string };

const PROBE_ROUTES = ['/livez', '/readyz', '/startupz', '/healthz'];

/**
 * The routes analysis leaves out unless told otherwise (see
 * {@link MetricsAnalysisOptions.excludeRoutes}): the probes and the metrics
 * path itself. Shared with the soak gate, which counts a release's traffic
 * the same way.
 */
export function defaultExcludeRoutes(metricsPath: string): string[] {
  return [...PROBE_ROUTES, metricsPath];
}

/**
 * An {@link Analysis} that reads Baton's RED metrics from every instance's
 * `/metrics` (through `@baton/metrics`' `scrape` and `compareSnapshots`) and
 * judges the candidate release against the baseline over the window between
 * `begin` and `judge`, grouping by the `release` label.
 *
 * - `fail` when, with at least `minRequests` requests to the candidate, its
 *   error rate (5xx) is above `maxErrorRate`, or above the baseline's by more
 *   than `maxErrorRateIncrease`, or its latency quantile is above
 *   `maxLatencyRatio` × the baseline's (compared only when both have
 *   `minRequests` observations).
 * - `inconclusive` when the candidate has no ready instance, fewer than
 *   `minRequests` requests, or a scrape of one of its instances failed (and
 *   nothing already proves a failure), or every baseline scrape failed.
 * - `pass` otherwise. With no baseline (the first deploy, or baseline equal to
 *   candidate) only the absolute limit applies, and a reason says so.
 *
 * Scrape failures never throw: each is a reason naming the instance. Every
 * reason is a sentence with its figures.
 *
 * @example
 * const analysis = createMetricsAnalysis({ thresholds: { maxErrorRate: 0.02 } });
 * const window = await analysis.begin(instances);
 * await sleep(60_000);
 * const verdict = await analysis.judge(window, instances, { baseline: 'v1', candidate: 'v2' });
 */
export function createMetricsAnalysis(options: MetricsAnalysisOptions = {}): Analysis {
  const config = resolveOptions(options);
  const windows = new WeakMap<AnalysisWindow, WindowData>();
  const excluded = new Set(config.excludeRoutes);
  const keep = (labels: Readonly<Record<string, string>>): boolean => {
    if (labels.route !== undefined && excluded.has(labels.route)) return false;
    if (config.filter === undefined) return true;
    try {
      return config.filter(labels) !== false;
    } catch {
      // A throwing filter keeps the series: losing a release's errors is worse than counting a probe.
      return true;
    }
  };

  const scrapeAll = async (instances: readonly InstanceRecord[]): Promise<Map<string, Scraped>> => {
    const results = await Promise.all(
      instances.map(async (instance): Promise<Scraped> => {
        try {
          const snapshot = await scrape(`${instance.url}${config.metricsPath}`, {
            timeoutMs: config.scrapeTimeoutMs,
            now: config.now,
            ...(config.token === undefined ? {} : { token: config.token }),
          });
          return { instance, snapshot };
        } catch (error) {
          return { instance, error: error instanceof Error ? error.message : String(error) };
        }
      }),
    );
    return new Map(results.map((scraped) => [scraped.instance.id, scraped]));
  };

  return {
    async begin(instances) {
      checkInstances(instances, 'begin');
      const startedAtMs = config.now();
      const scrapes = await scrapeAll(instances);
      const window: AnalysisWindow = Object.freeze({ startedAtMs });
      windows.set(window, { scrapes });
      return window;
    },

    async judge(window, instances, releases) {
      const data = window === null || typeof window !== 'object' ? undefined : windows.get(window);
      if (data === undefined) throw invalid('judge: `window` must be what begin() of this analysis returned.');
      checkInstances(instances, 'judge');
      if (releases === null || typeof releases !== 'object' || !isLabel(releases.baseline) || !isLabel(releases.candidate)) {
        throw invalid(`judge: \`releases\` must be { baseline, candidate }, two release labels; got ${JSON.stringify(releases)}.`);
      }
      const { baseline, candidate } = releases;
      const after = await scrapeAll(instances);
      const atMs = config.now();
      return verdictOf({ config, keep, before: data.scrapes, after, instances, baseline, candidate, startedAtMs: window.startedAtMs, atMs });
    },
  };
}

interface ResolvedOptions {
  thresholds: AnalysisThresholds;
  metricsPath: string;
  token: string | undefined;
  scrapeTimeoutMs: number;
  filter: ((labels: Readonly<Record<string, string>>) => boolean) | undefined;
  excludeRoutes: readonly string[];
  latencyFloorSeconds: number;
  now: () => number;
}

/** Checks every option at once; throws one `BATON_ERR_INVALID_OPTION` listing every problem. */
function resolveOptions(options: MetricsAnalysisOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw invalid('options must be an object.');
  const problems: string[] = [];
  const given = options.thresholds ?? {};
  if (given === null || typeof given !== 'object') problems.push('`thresholds` must be an object.');
  const t = { ...DEFAULT_THRESHOLDS };
  const pick = (key: keyof AnalysisThresholds, ok: (value: number) => boolean, accepted: string): void => {
    const value = (given as Partial<AnalysisThresholds>)[key];
    if (value === undefined) return;
    if (typeof value !== 'number' || !ok(value)) problems.push(`thresholds.${key} must be ${accepted}; got ${JSON.stringify(value)}.`);
    else t[key] = value;
  };
  const fraction = (value: number): boolean => value >= 0 && value <= 1;
  pick('maxErrorRateIncrease', fraction, 'a fraction from 0 to 1 (0.01 = one point)');
  pick('maxErrorRate', fraction, 'a fraction from 0 to 1 (0.05 = 5%)');
  pick('maxLatencyRatio', (value) => Number.isFinite(value) && value > 0, 'a positive number (1.5 = 50% slower at most)');
  pick('minLatencyIncreaseMs', (value) => Number.isFinite(value) && value >= 0, 'a number of milliseconds ≥ 0');
  pick('latencyQuantile', fraction, 'a quantile from 0 to 1 (0.99 = p99)');
  pick('minRequests', (value) => Number.isSafeInteger(value) && value >= 1, 'a whole number of requests ≥ 1');

  const metricsPath = options.metricsPath ?? DEFAULT_INSTANCE_PATHS.metrics;
  if (typeof metricsPath !== 'string' || !metricsPath.startsWith('/') || /[?#\s]/.test(metricsPath)) {
    problems.push(`\`metricsPath\` must start with "/" and hold no query or spaces; got ${JSON.stringify(metricsPath)}.`);
  }
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token === '' || /\s/.test(options.token))) {
    problems.push('`token` must be a non-empty string without spaces.');
  }
  const scrapeTimeoutMs = options.scrapeTimeoutMs ?? 5000;
  if (typeof scrapeTimeoutMs !== 'number' || !Number.isFinite(scrapeTimeoutMs) || scrapeTimeoutMs <= 0) {
    problems.push(`\`scrapeTimeoutMs\` must be a positive number of milliseconds; got ${JSON.stringify(scrapeTimeoutMs)}.`);
  }
  if (options.filter !== undefined && typeof options.filter !== 'function') problems.push('`filter` must be a function of the series labels.');
  const excludeRoutes = options.excludeRoutes ?? defaultExcludeRoutes(metricsPath);
  if (!Array.isArray(excludeRoutes) || excludeRoutes.some((route) => typeof route !== 'string')) problems.push('`excludeRoutes` must be an array of route templates.');
  const latencyFloorSeconds = options.latencyFloorSeconds ?? 0.01;
  if (typeof latencyFloorSeconds !== 'number' || !Number.isFinite(latencyFloorSeconds) || latencyFloorSeconds < 0) {
    problems.push(`\`latencyFloorSeconds\` must be a number of seconds ≥ 0; got ${JSON.stringify(latencyFloorSeconds)}.`);
  }
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') problems.push('`now` must be a function returning milliseconds.');
  if (problems.length > 0) throw invalid(problems.join(' '));
  return { thresholds: t, metricsPath, token: options.token, scrapeTimeoutMs, filter: options.filter, excludeRoutes, latencyFloorSeconds, now };
}

interface JudgeInput {
  config: ResolvedOptions;
  keep: (labels: Readonly<Record<string, string>>) => boolean;
  before: Map<string, Scraped>;
  after: Map<string, Scraped>;
  instances: readonly InstanceRecord[];
  baseline: string;
  candidate: string;
  startedAtMs: number;
  atMs: number;
}

/**
 * One reason per cause of failed scrapes, naming every instance it hit (the
 * first one's reason, already in `reasons`, becomes it): three instances
 * without metrics are one sentence, not three. A 404 is a service that
 * serves no metrics at that path, and the reason says what analysis needs.
 */
function sayScrapeFailuresOnce(reasons: string[], failedScrapes: ReadonlyMap<string, readonly string[]>, metricsPath: string): void {
  for (const [cause, who] of failedScrapes) {
    if (who.length > 1) {
      const index = reasons.findIndex((reason) => reason.startsWith(`${who[0]} could not be scraped`));
      const names = `${who.slice(0, -1).join(', ')} and ${who.at(-1)}`;
      reasons[index] = `${names} could not be scraped at the end of the window: ${cause}.`;
    }
    if (/\bHTTP 404\b/.test(cause)) {
      reasons.push(
        `${metricsPath} answered 404: analysis judges releases by the RED metrics a Baton service serves there (@baton/express or @baton/fastify with @baton/metrics; paths.metrics for another path). A service without them cannot be analysed: deploy it without analysis steps (and without strategy.analysisMs).`,
      );
    }
  }
}

function verdictOf(input: JudgeInput): Verdict {
  const { config, before, after, instances, baseline, candidate, atMs } = input;
  const t = config.thresholds;
  const reasons: string[] = [];
  const fails: string[] = [];
  const missing: string[] = [];
  const seconds = Math.max(0, (atMs - input.startedAtMs) / 1000);

  // Pair the scrapes: an instance counts only with both (or, started during the window, with the second alone).
  const befores: Snapshot[] = [];
  const afters: Snapshot[] = [];
  const unscraped = new Map<string, number>();
  const sources = new Set<string>();
  /** Instances whose scrape at the end failed, by what went wrong (their own address taken out): said once per cause. */
  const failedScrapes = new Map<string, string[]>();
  for (const instance of instances) {
    const first = before.get(instance.id);
    const second = after.get(instance.id);
    if (second === undefined) continue;
    let why: string | undefined;
    if ('error' in second) {
      const cause = second.error.replaceAll(instance.url, '<instance>');
      failedScrapes.set(cause, [...(failedScrapes.get(cause) ?? []), `${instance.id} (${instance.release})`]);
      unscraped.set(instance.release, (unscraped.get(instance.release) ?? 0) + 1);
      if (failedScrapes.get(cause)?.length === 1) reasons.push(`${instance.id} (${instance.release}) could not be scraped at the end of the window: ${second.error}.`);
      continue;
    }
    if (first !== undefined && 'error' in first) why = `${instance.id} (${instance.release}) is left out: its scrape at the start of the window failed (${first.error})`;
    else if (sources.has(second.snapshot.source)) why = `${instance.id} (${instance.release}) is left out: another instance has the same address ${instance.url}`;
    if (why !== undefined) {
      reasons.push(`${why}.`);
      unscraped.set(instance.release, (unscraped.get(instance.release) ?? 0) + 1);
      continue;
    }
    if ('snapshot' in second) {
      sources.add(second.snapshot.source);
      afters.push(second.snapshot);
      if (first !== undefined && 'snapshot' in first) befores.push(first.snapshot);
    }
  }

  sayScrapeFailuresOnce(reasons, failedScrapes, config.metricsPath);

  let groups = new Map<string, GroupWindow>();
  try {
    groups = compareSnapshots(befores, afters, { groupBy: 'release', quantiles: [t.latencyQuantile], filter: input.keep });
  } catch (error) {
    missing.push(`The metrics could not be compared: ${error instanceof Error ? error.message : String(error)}.`);
  }
  const key = quantileKey(t.latencyQuantile);
  const figures = (release: string): Verdict['releases'][string] => {
    const group = groups.get(release);
    return {
      requests: group?.requests ?? 0,
      errors: group?.errors ?? 0,
      errorRate: group?.errorRate ?? 0,
      requestRate: group?.requestRate ?? 0,
      latency: group?.latency[key],
    };
  };
  const releases: Verdict['releases'] = { [baseline]: figures(baseline), [candidate]: figures(candidate) };
  const cand = groups.get(candidate);
  const base = baseline === candidate ? undefined : groups.get(baseline);
  const candidateInstances = instances.filter((instance) => instance.release === candidate);
  const baselineInstances = baseline === candidate ? [] : instances.filter((instance) => instance.release === baseline);

  if (candidateInstances.length === 0) {
    missing.push(`${candidate} has no ready instance to judge.`);
  } else if ((unscraped.get(candidate) ?? 0) > 0) {
    missing.push(`${unscraped.get(candidate)} of ${candidateInstances.length} instances of ${candidate} could not be counted, so its figures are incomplete.`);
  }
  if (baseline === candidate) {
    reasons.push(`There is no baseline to compare ${candidate} with: only the absolute limits apply.`);
  } else if (baselineInstances.length === 0) {
    reasons.push(`${baseline} has no ready instance: ${candidate} is held to the absolute limits only.`);
  } else if ((unscraped.get(baseline) ?? 0) === baselineInstances.length) {
    missing.push(`No instance of ${baseline} could be scraped, so there is nothing to compare ${candidate} with.`);
  }

  const candRequests = cand?.requests ?? 0;
  const enough = candRequests >= t.minRequests;
  // With no instance of the candidate counted, its request count says nothing.
  if (candidateInstances.length > 0 && !enough && (unscraped.get(candidate) ?? 0) < candidateInstances.length) {
    if (candRequests === 0) {
      const unlabelled = unlabelledInstances(candidateInstances, after, candidate);
      missing.push(
        `${candidate} got no requests in the ${formatSeconds(seconds)} window` +
          (unlabelled.length > 0 ? ` (the metrics of ${unlabelled.join(', ')} count requests but none labelled release="${candidate}": is RELEASE passed to the metrics?)` : '') +
          `; ${t.minRequests} are needed (minRequests).`,
      );
    } else {
      missing.push(`${candidate} got ${formatCount(candRequests)} requests in the ${formatSeconds(seconds)} window, fewer than the ${t.minRequests} needed (minRequests).`);
    }
  }

  if (cand !== undefined && enough) {
    const candErrors = `${formatPercent(cand.errorRate)} errors (${formatCount(cand.errors)} of ${formatCount(cand.requests)})`;
    if (cand.errorRate > t.maxErrorRate) {
      fails.push(`${candidate}: ${candErrors}; the limit is ${formatPercent(t.maxErrorRate)}.`);
    }
    const baseUsable = base !== undefined && base.requests >= t.minRequests;
    if (baseUsable) {
      const increase = cand.errorRate - base.errorRate;
      const line = `${candidate}: ${candErrors} against ${baseline}'s ${formatPercent(base.errorRate)} (${formatCount(base.errors)} of ${formatCount(base.requests)}); the limit is +${formatPoints(t.maxErrorRateIncrease)} points`;
      if (increase > t.maxErrorRateIncrease + 1e-12) fails.push(`${line}.`);
      else if (cand.errorRate <= t.maxErrorRate) reasons.push(`${line} and ${formatPercent(t.maxErrorRate)} at most: within both.`);
    } else {
      if (baseline !== candidate && baselineInstances.length > 0) {
        reasons.push(`${baseline} got ${formatCount(base?.requests ?? 0)} requests, fewer than ${t.minRequests}: ${candidate}'s error rate is held to the absolute limit only.`);
      }
      if (cand.errorRate <= t.maxErrorRate) reasons.push(`${candidate}: ${candErrors}, within the limit of ${formatPercent(t.maxErrorRate)}.`);
    }

    // Latency: both sides need enough observations, or one slow request decides.
    const q = `p${formatQuantile(t.latencyQuantile)}`;
    const candLatency = cand.latency[key];
    const baseLatency = base?.latency[key];
    if (base === undefined || !baseUsable) {
      if (baseline !== candidate && baselineInstances.length > 0) reasons.push(`${q} latency was not compared: ${baseline} has too few requests.`);
    } else if (candLatency === undefined || baseLatency === undefined || cand.latencyObservations < t.minRequests || base.latencyObservations < t.minRequests) {
      reasons.push(
        `${q} latency was not compared: ${candidate} has ${formatCount(cand.latencyObservations)} and ${baseline} ${formatCount(base.latencyObservations)} timed requests, ${t.minRequests} each are needed.`,
      );
    } else {
      // Slower by the ratio AND by a difference people notice: both, or a cold instance's first requests decide.
      const limit = Math.max(t.maxLatencyRatio * Math.max(baseLatency, config.latencyFloorSeconds), baseLatency + t.minLatencyIncreaseMs / 1000);
      const floorNote = baseLatency < config.latencyFloorSeconds ? `, ${baseline}'s latency counted as the ${formatMs(config.latencyFloorSeconds)} floor` : '';
      const line = `${candidate}: ${q} latency ${formatMs(candLatency)} against ${baseline}'s ${formatMs(baseLatency)}; the limit is ${t.maxLatencyRatio}× and +${t.minLatencyIncreaseMs} ms (${formatMs(limit)}${floorNote})`;
      if (candLatency > limit) fails.push(`${line}.`);
      else reasons.push(`${line}: within it.`);
    }
  }

  const outcome: Verdict['outcome'] = fails.length > 0 ? 'fail' : missing.length > 0 ? 'inconclusive' : 'pass';
  // The deciding findings first: what failed, else what was missing, then the rest.
  const ordered = [...fails, ...missing, ...reasons];
  return { outcome, reasons: ordered, releases, atMs };
}

/** Candidate instances whose metrics count requests, none under the candidate's release label. */
function unlabelledInstances(instances: readonly InstanceRecord[], after: Map<string, Scraped>, release: string): string[] {
  const ids: string[] = [];
  for (const instance of instances) {
    const scraped = after.get(instance.id);
    if (scraped === undefined || !('snapshot' in scraped)) continue;
    let counts = false;
    let labelled = false;
    for (const family of scraped.snapshot.families) {
      for (const sample of family.samples) {
        if (sample.name !== 'http_requests_total') continue;
        counts = true;
        if (sample.labels.release === release) labelled = true;
      }
    }
    if (counts && !labelled) ids.push(instance.id);
  }
  return ids;
}

function checkInstances(instances: readonly InstanceRecord[], method: string): void {
  if (!Array.isArray(instances)) throw invalid(`${method}: \`instances\` must be an array of instance records.`);
  for (const instance of instances as readonly unknown[]) {
    const record = instance as Partial<InstanceRecord> | null;
    if (record === null || typeof record !== 'object' || typeof record.id !== 'string' || typeof record.release !== 'string' || typeof record.url !== 'string') {
      throw invalid(`${method}: every instance needs an id, a release and a url; got ${JSON.stringify(instance)}.`);
    }
  }
}

function isLabel(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

// The key compareSnapshots gives a quantile's latency ('p99', 'p99.9').
function quantileKey(q: number): string {
  return `p${formatQuantile(q)}`;
}

function formatQuantile(q: number): string {
  return String(Number((q * 100).toPrecision(12)));
}

function formatPercent(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}

function formatPoints(rate: number): string {
  return (rate * 100).toFixed(1);
}

function formatCount(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function formatMs(seconds: number): string {
  const ms = seconds * 1000;
  return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

function formatSeconds(seconds: number): string {
  return seconds < 10 ? `${seconds.toFixed(1)} s` : `${Math.round(seconds)} s`;
}

function invalid(message: string): BatonError {
  return new BatonError('BATON_ERR_INVALID_OPTION', `metrics analysis: ${message}`);
}

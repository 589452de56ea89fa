import type { Analysis, AnalysisWindow, InstanceRecord } from '../model.js';
import { invalid, resolveOptions, type MetricsAnalysisOptions } from './analysis-options.js';
import type { JudgeInput } from './judge-input.js';
import { chooseSides, earlierSides } from './sides.js';
import { statisticalVerdict } from './statistical-verdict.js';
import { thresholdVerdict } from './threshold-verdict.js';
import { joinScrapes, pairScrapes, scrapeAll, type Scraped } from './window-scrapes.js';

export { defaultExcludeRoutes, type MetricsAnalysisOptions } from './analysis-options.js';

/**
 * An {@link Analysis} that reads Baton's RED metrics from every instance's
 * `/metrics` (through `@baton/metrics`' `scrape` and `compareSnapshots`) and
 * judges the candidate release against a baseline over the window between
 * `begin` and `judge`.
 *
 * The baseline is a fresh one when the instances include some of the
 * baseline release with `role: 'baseline'` (started beside the canary), else
 * the baseline release's warm instances. The candidate is judged route by
 * route with statistical tests (`method: 'statistics'`, the default; see
 * `statistical-verdict.ts`), or as a whole against fixed limits
 * (`method: 'thresholds'`; see `threshold-verdict.ts`).
 *
 * - `fail`: the candidate is worse beyond chance and by more than the
 *   thresholds allow (or over the absolute error limit).
 * - `inconclusive`: the candidate has no ready instance, fewer than
 *   `minRequests` requests, or an instance that could not be scraped (and
 *   nothing already proves a failure), or no baseline instance could be.
 * - `pass` otherwise. With no baseline (the first deploy, or baseline equal
 *   to candidate) only the absolute limit applies, and a reason says so.
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
  const windows = new WeakMap<AnalysisWindow, OpenWindow>();
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

  return {
    async begin(instances) {
      checkInstances(instances, 'begin');
      const startedAtMs = config.now();
      const scrapes = await scrapeAll(instances, config);
      const window: AnalysisWindow = Object.freeze({ startedAtMs });
      windows.set(window, { instances: [...instances], before: scrapes });
      return window;
    },

    async end(window) {
      const data = windowOf(window, 'end');
      data.after ??= await scrapeAll(data.instances, config);
      return window;
    },

    async judge(window, instances, releases) {
      const { before } = windowOf(window, 'judge');
      checkInstances(instances, 'judge');
      if (releases === null || typeof releases !== 'object' || !isLabel(releases.baseline) || !isLabel(releases.candidate)) {
        throw invalid(`judge: \`releases\` must be { baseline, candidate }, two release labels; got ${JSON.stringify(releases)}.`);
      }
      const earlier = releases.baselineWindow === undefined ? undefined : windowOf(releases.baselineWindow, 'judge (baselineWindow)');
      if (earlier !== undefined && earlier.after === undefined) throw invalid('judge: `baselineWindow` must be a window closed by end() first.');
      const after = await scrapeAll(instances, config);
      const atMs = config.now();
      let scrapes = pairScrapes(before, after, instances, config.metricsPath);
      let sides = chooseSides(instances, scrapes, releases);
      if (earlier?.after !== undefined) {
        // The baseline is the earlier window's instances over it; today's scrapes count for the candidate only.
        const baseline = pairScrapes(earlier.before, earlier.after, earlier.instances, config.metricsPath);
        scrapes = joinScrapes(scrapes, sides.candidateInstances, baseline);
        sides = earlierSides(sides, earlier.instances);
      }
      const input: JudgeInput = { scrapes, sides, keep, startedAtMs: window.startedAtMs, atMs };
      return config.method === 'thresholds' ? thresholdVerdict(input, config) : statisticalVerdict(input, config);
    },
  };

  function windowOf(window: AnalysisWindow, method: string): OpenWindow {
    const data = window === null || typeof window !== 'object' ? undefined : windows.get(window);
    if (data === undefined) throw invalid(`${method}: \`window\` must be what begin() of this analysis returned.`);
    return data;
  }
}

/** A window's instances and scrapes: at its start, and at its end once `end()` closed it. */
interface OpenWindow {
  instances: InstanceRecord[];
  before: Map<string, Scraped>;
  after?: Map<string, Scraped>;
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

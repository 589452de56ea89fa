import { scrape, type Snapshot } from '@baton/metrics';
import type { InstanceRecord } from '../model.js';

/** One instance's scrape: its snapshot, or why it failed. */
export type Scraped = { instance: InstanceRecord; snapshot: Snapshot } | { instance: InstanceRecord; error: string };

/** How to scrape the instances' metrics endpoints. */
export interface ScrapeSettings {
  metricsPath: string;
  token: string | undefined;
  scrapeTimeoutMs: number;
  now: () => number;
}

/** Scrapes every instance at once; a failure is kept as its message, never thrown. */
export async function scrapeAll(instances: readonly InstanceRecord[], settings: ScrapeSettings): Promise<Map<string, Scraped>> {
  const results = await Promise.all(
    instances.map(async (instance): Promise<Scraped> => {
      try {
        const snapshot = await scrape(`${instance.url}${settings.metricsPath}`, {
          timeoutMs: settings.scrapeTimeoutMs,
          now: settings.now,
          ...(settings.token === undefined ? {} : { token: settings.token }),
        });
        return { instance, snapshot };
      } catch (error) {
        return { instance, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
  return new Map(results.map((scraped) => [scraped.instance.id, scraped]));
}

/** An instance whose window can be counted: both scrapes, or (started during the window) the second alone. */
export interface CountedInstance {
  instance: InstanceRecord;
  before: Snapshot | undefined;
  after: Snapshot;
}

/** The window's scrapes, paired per instance, with what could not be counted and why. */
export interface WindowScrapes {
  counted: CountedInstance[];
  /** Ids of the instances that could not be counted. */
  uncounted: Set<string>;
  /** One sentence per cause, naming the instances it hit. */
  reasons: string[];
}

/**
 * Pairs each instance's scrape at the start of the window with the one at its
 * end. An instance counts only with both (or, started during the window, with
 * the second alone); one whose scrape failed, or whose address another
 * instance already answered for, is left out and said so.
 */
export function pairScrapes(before: ReadonlyMap<string, Scraped>, after: ReadonlyMap<string, Scraped>, instances: readonly InstanceRecord[], metricsPath: string): WindowScrapes {
  const counted: CountedInstance[] = [];
  const uncounted = new Set<string>();
  const reasons: string[] = [];
  const sources = new Set<string>();
  /** Instances whose scrape at the end failed, by what went wrong (their own address taken out): said once per cause. */
  const failedScrapes = new Map<string, string[]>();
  for (const instance of instances) {
    const first = before.get(instance.id);
    const second = after.get(instance.id);
    if (second === undefined) continue;
    const name = `${instance.id} (${instance.release})`;
    if ('error' in second) {
      const cause = second.error.replaceAll(instance.url, '<instance>');
      failedScrapes.set(cause, [...(failedScrapes.get(cause) ?? []), name]);
      uncounted.add(instance.id);
      if (failedScrapes.get(cause)?.length === 1) reasons.push(`${name} could not be scraped at the end of the window: ${second.error}.`);
      continue;
    }
    let why: string | undefined;
    if (first !== undefined && 'error' in first) why = `${name} is left out: its scrape at the start of the window failed (${first.error})`;
    else if (sources.has(second.snapshot.source)) why = `${name} is left out: another instance has the same address ${instance.url}`;
    if (why !== undefined) {
      reasons.push(`${why}.`);
      uncounted.add(instance.id);
      continue;
    }
    sources.add(second.snapshot.source);
    counted.push({ instance, before: first !== undefined && 'snapshot' in first ? first.snapshot : undefined, after: second.snapshot });
  }
  sayScrapeFailuresOnce(reasons, failedScrapes, metricsPath);
  return { counted, uncounted, reasons };
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

/** The snapshots of the counted instances that `pick` keeps, as compareSnapshots takes them. */
export function snapshotsOf(scrapes: WindowScrapes, pick: (instance: InstanceRecord) => boolean): { befores: Snapshot[]; afters: Snapshot[] } {
  const befores: Snapshot[] = [];
  const afters: Snapshot[] = [];
  for (const { instance, before, after } of scrapes.counted) {
    if (!pick(instance)) continue;
    afters.push(after);
    if (before !== undefined) befores.push(before);
  }
  return { befores, afters };
}

/** Counted instances of `pick` whose metrics count requests, none under `release`'s label: RELEASE not passed to the metrics. */
export function unlabelledInstances(scrapes: WindowScrapes, pick: (instance: InstanceRecord) => boolean, release: string): string[] {
  const ids: string[] = [];
  for (const { instance, after } of scrapes.counted) {
    if (!pick(instance)) continue;
    let counts = false;
    let labelled = false;
    for (const family of after.families) {
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

/** The candidate's counted instances of `current` with every instance of `baseline` (an earlier window's). */
export function joinScrapes(current: WindowScrapes, candidates: readonly InstanceRecord[], baseline: WindowScrapes): WindowScrapes {
  const ids = new Set(candidates.map((instance) => instance.id));
  const uncounted = new Set([...current.uncounted].filter((id) => ids.has(id)));
  for (const id of baseline.uncounted) uncounted.add(id);
  return {
    counted: [...current.counted.filter(({ instance }) => ids.has(instance.id)), ...baseline.counted],
    uncounted,
    reasons: [...new Set([...current.reasons, ...baseline.reasons])],
  };
}

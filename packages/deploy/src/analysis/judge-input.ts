import type { ResolvedOptions } from './analysis-options.js';
import type { Sides } from './sides.js';
import { formatCount, formatSeconds } from './verdict-format.js';
import { unlabelledInstances, type WindowScrapes } from './window-scrapes.js';
import { memberOf } from './sides.js';

/** What a judge is given: the window's scrapes, the sides compared, and which series count. */
export interface JudgeInput {
  scrapes: WindowScrapes;
  sides: Sides;
  /** Keeps a series (not a probe, not an excluded route, the user's filter). */
  keep: (labels: Readonly<Record<string, string>>) => boolean;
  startedAtMs: number;
  atMs: number;
}

/**
 * Whether the window can be judged at all, the same for every method:
 * `missing` holds what makes a verdict inconclusive (no ready candidate, a
 * candidate instance not counted, no baseline instance counted, fewer than
 * `minRequests` requests to the candidate); `reasons` the rest worth saying
 * (scrape failures, a comparison held to the absolute limits only).
 */
export function judgeable(input: JudgeInput, config: ResolvedOptions, candidateRequests: number): { missing: string[]; reasons: string[] } {
  const { sides, scrapes } = input;
  const { candidate, baseline } = sides;
  const t = config.thresholds;
  const missing: string[] = [];
  const reasons = [...scrapes.reasons];
  const uncounted = (members: Sides['candidateInstances']): number => members.filter((instance) => scrapes.uncounted.has(instance.id)).length;
  const seconds = Math.max(0, (input.atMs - input.startedAtMs) / 1000);

  const candidateUncounted = uncounted(sides.candidateInstances);
  if (sides.candidateInstances.length === 0) missing.push(`${candidate} has no ready instance to judge.`);
  else if (candidateUncounted > 0) missing.push(`${candidateUncounted} of ${sides.candidateInstances.length} instances of ${candidate} could not be counted, so its figures are incomplete.`);

  if (baseline === candidate) reasons.push(`There is no baseline to compare ${candidate} with: only the absolute limits apply.`);
  else if (sides.baselineInstances.length === 0) reasons.push(`${baseline} has no ready instance: ${candidate} is held to the absolute limits only.`);
  else if (uncounted(sides.baselineInstances) === sides.baselineInstances.length) missing.push(`No instance of ${baseline} could be scraped, so there is nothing to compare ${candidate} with.`);

  // With no instance of the candidate counted, its request count says nothing.
  if (sides.candidateInstances.length > 0 && candidateRequests < t.minRequests && candidateUncounted < sides.candidateInstances.length) {
    if (candidateRequests === 0) {
      const unlabelled = unlabelledInstances(scrapes, memberOf(sides.candidateInstances), candidate);
      missing.push(
        `${candidate} got no requests in the ${formatSeconds(seconds)} window` +
          (unlabelled.length > 0 ? ` (the metrics of ${unlabelled.join(', ')} count requests but none labelled release="${candidate}": is RELEASE passed to the metrics?)` : '') +
          `; ${t.minRequests} are needed (minRequests).`,
      );
    } else {
      missing.push(`${candidate} got ${formatCount(candidateRequests)} requests in the ${formatSeconds(seconds)} window, fewer than the ${t.minRequests} needed (minRequests).`);
    }
  }
  return { missing, reasons };
}

import { compareAnswers, type AnswerDifference, type CompareRules, type ShadowAnswer } from './answer-diff.js';

/** What a shadow step holds the candidate to. */
export interface ShadowThresholds {
  /** Share of compared answers that may differ, per route; default 0: one changed field is a finding. */
  maxDifferenceRate: number;
  /** Share of mirrored requests the candidate may fail (no answer, or 5xx where the stable release answered below 500); default 0. */
  maxCandidateErrorRate: number;
  /** The candidate's median over the stable release's, per route; default 1.5… */
  maxLatencyRatio: number;
  /** …and by at least this much (ms), or a 2 ms against 1 ms median reads as twice as slow; default 50. */
  minLatencyIncreaseMs: number;
  /** Fewer compared answers in all is inconclusive; and a route's latency is compared from this many on; default 20. */
  minCompared: number;
}

export const DEFAULT_SHADOW_THRESHOLDS: ShadowThresholds = { maxDifferenceRate: 0, maxCandidateErrorRate: 0, maxLatencyRatio: 1.5, minLatencyIncreaseMs: 50, minCompared: 20 };

/** Ignore rules for every route (`*`) and per route (`GET /orders/:id`); a route gets both. */
export interface ShadowCompareConfig {
  headers?: readonly string[];
  ignore?: Readonly<Record<string, readonly string[]>>;
}

/** One route's shadow figures. */
export interface RouteShadow {
  /** `GET /orders/:id`: the method and the route template the service reported. */
  route: string;
  mirrored: number;
  compared: number;
  equal: number;
  different: number;
  /** Bodies over the mirror's limit: neither equal nor different. */
  uncomparable: number;
  candidateErrors: number;
  /** Medians, ms. */
  stableLatencyMs?: number;
  candidateLatencyMs?: number;
  /** Where answers differed, and how often, most frequent first; values described, never shown. */
  differences: (AnswerDifference & { count: number })[];
}

/** A shadow step's verdict, with each route's figures. */
export interface ShadowSummary {
  outcome: 'pass' | 'fail' | 'inconclusive';
  reasons: string[];
  routes: RouteShadow[];
  mirrored: number;
  compared: number;
}

/** Latencies kept per route and side: enough for a median, bounded in memory. */
const MAX_LATENCIES = 10_000;
/** Distinct difference places kept per route. */
const MAX_PLACES = 20;

interface RouteState {
  figures: RouteShadow;
  stable: number[];
  candidate: number[];
  places: Map<string, AnswerDifference & { count: number }>;
}

/** Counts a shadow step's mirrored requests route by route, and judges them. */
export interface ShadowTally {
  /** One mirrored request: the stable release's answer (what the client got) and the candidate's. */
  record(exchange: { method: string; route: string; stable: ShadowAnswer; candidate: ShadowAnswer }): void;
  summary(): ShadowSummary;
}

/** A tally for one shadow step. */
export function createShadowTally(options: { compare?: ShadowCompareConfig; thresholds?: Partial<ShadowThresholds> } = {}): ShadowTally {
  const t: ShadowThresholds = { ...DEFAULT_SHADOW_THRESHOLDS, ...options.thresholds };
  const headers = options.compare?.headers ?? [];
  const ignore = options.compare?.ignore ?? {};
  const routes = new Map<string, RouteState>();
  const rulesFor = new Map<string, CompareRules>();
  const rules = (route: string): CompareRules => {
    let found = rulesFor.get(route);
    if (found === undefined) {
      found = { headers, ignore: [...(ignore['*'] ?? []), ...(ignore[route] ?? [])] };
      rulesFor.set(route, found);
    }
    return found;
  };
  return {
    record({ method, route, stable, candidate }) {
      const key = `${method.toUpperCase()} ${route}`;
      let state = routes.get(key);
      if (state === undefined) {
        state = { figures: { route: key, mirrored: 0, compared: 0, equal: 0, different: 0, uncomparable: 0, candidateErrors: 0, differences: [] }, stable: [], candidate: [], places: new Map() };
        routes.set(key, state);
      }
      const f = state.figures;
      f.mirrored += 1;
      if (candidate.failure !== undefined || (candidate.status >= 500 && (stable.failure !== undefined || stable.status < 500))) f.candidateErrors += 1;
      if (stable.failure === undefined && state.stable.length < MAX_LATENCIES) state.stable.push(stable.latencyMs);
      if (candidate.failure === undefined && state.candidate.length < MAX_LATENCIES) state.candidate.push(candidate.latencyMs);
      const comparison = compareAnswers(stable, candidate, rules(key));
      if (comparison.outcome === 'uncomparable') {
        f.uncomparable += 1;
        return;
      }
      f.compared += 1;
      if (comparison.outcome === 'equal') f.equal += 1;
      else f.different += 1;
      for (const difference of comparison.differences) {
        const place = `${difference.kind} ${difference.path}`;
        const seen = state.places.get(place);
        if (seen !== undefined) seen.count += 1;
        else if (state.places.size < MAX_PLACES) state.places.set(place, { ...difference, count: 1 });
      }
    },
    summary() {
      const fails: string[] = [];
      const reasons: string[] = [];
      const figures = [...routes.values()].map((state) => {
        const f = state.figures;
        const stableMedian = median(state.stable);
        const candidateMedian = median(state.candidate);
        return {
          ...f,
          ...(stableMedian === undefined ? {} : { stableLatencyMs: stableMedian }),
          ...(candidateMedian === undefined ? {} : { candidateLatencyMs: candidateMedian }),
          differences: [...state.places.values()].sort((a, b) => b.count - a.count),
        };
      });
      figures.sort((a, b) => b.different - a.different || a.route.localeCompare(b.route));
      let mirrored = 0;
      let compared = 0;
      for (const route of figures) {
        mirrored += route.mirrored;
        compared += route.compared;
        if (route.compared > 0 && route.different > t.maxDifferenceRate * route.compared) {
          const top = route.differences[0];
          const where = top === undefined ? '' : `: ${top.kind === 'body' ? `field ${top.path}` : top.path} (${top.stable} against ${top.candidate})`;
          fails.push(`${route.route}: ${route.different} of ${route.compared} answers differ${where}.`);
        }
        if (route.candidateErrors > t.maxCandidateErrorRate * route.mirrored) fails.push(`${route.route}: the candidate failed ${route.candidateErrors} of ${route.mirrored} mirrored requests.`);
        const { stableLatencyMs: s, candidateLatencyMs: c } = route;
        if (s !== undefined && c !== undefined && route.compared >= t.minCompared) {
          const limit = Math.max(t.maxLatencyRatio * s, s + t.minLatencyIncreaseMs);
          const line = `${route.route}: median ${round(c)} ms against the stable release's ${round(s)} ms; the limit is ${round(limit)} ms`;
          if (c > limit) fails.push(`${line}.`);
          else reasons.push(`${line}: within it.`);
        }
      }
      const enough = compared >= t.minCompared;
      if (!enough) reasons.unshift(`${compared} answers compared, fewer than ${t.minCompared}: the shadow step cannot judge the candidate.`);
      const outcome = fails.length > 0 ? 'fail' : enough ? 'pass' : 'inconclusive';
      return { outcome, reasons: [...fails, ...reasons], routes: figures, mirrored, compared };
    },
  };
}

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

// From counted batches to the figures the targets are judged on: per
// framework, instructions per request of each app and their ratios (the share
// of the reference's throughput per CPU an app keeps = reference's
// instructions ÷ the app's), the toggles' work through Baton against raw
// unleash-client's, and Baton's own share of a five-behind request.
import { METRICS_TARGET } from '../metrics-report.js';
import { THROUGHPUT_TARGET } from '../throughput-report.js';
import { TOGGLES_TARGET } from '../toggles-compare.js';
import { VERSIONING_TARGET } from '../versioning-compare.js';
import { median, type VariantCounts } from './count-variant.js';
import type { TransformsResult } from './count-transforms.js';
import type { BatchKind, Framework, VariantId } from './variants.js';

export { METRICS_TARGET, THROUGHPUT_TARGET, TOGGLES_TARGET, VERSIONING_TARGET };

/** The A/A control must come out within this of 100% for the method to be trusted. */
export const CONTROL_TOLERANCE = 0.01;
/** A batch with a collection inside is left out of the median when at least this many others are left. */
export const MIN_CLEAN_BATCHES = 3;
/** The target for Baton's own share (chain + adapter) of a five-behind request, µs per request. */
export const FIVE_BEHIND_TARGET_MICROS = 2;

/** One app's figure for one kind of request. */
export interface PerRequest {
  /** Median over the batches used, main-thread instructions per request. */
  median: number;
  /** (max − min) ÷ median over the batches used: how far apart they are. */
  spread: number;
  batches: number;
  /** Batches used: those with no collection inside, when at least 3 are left; else all. */
  used: number;
  /** Collections that ran inside its batches (none by design), by V8's names. */
  collections: string[];
}

export interface ToggleFigures {
  /** Baton ÷ Baton + toggles: the share of Baton's throughput per CPU kept with a route reading two toggles. */
  keptOfBaton: number;
  /** Instructions the toggles route adds over Baton's plain route: through `req.toggles`, and through raw unleash-client in the route. */
  batonAdds: number;
  rawAdds: number;
  /** batonAdds ÷ rawAdds: the toggles' work per request through Baton against raw unleash-client's (target ≤ 1.1). */
  ratio: number;
  /** Whole requests: Baton + toggles ÷ Baton + raw unleash-client. */
  wholeRatio: number;
}

export interface FiveBehindFigures {
  /** Five-behind request − Baton without versioning: everything versioning adds for an old client. */
  adds: number;
  /** Five-behind − latest. */
  overLatest: number;
  /** The user's transforms alone (counted apart). */
  transforms: number;
  /** The framework's work on the smaller old bodies minus on the latest ones (negative: less). */
  bodyDelta: number;
  /** adds − transforms − bodyDelta: Baton's own share (chain + adapter). */
  batonShare: number;
  /** Of it, the versioning core's own (its calls counted alone with the transforms, minus the transforms); the rest is the adapter's. */
  chainOwn: number;
  adapter: number;
  /** batonShare in µs at the measured instructions per µs. */
  batonShareMicros: number;
}

export interface RouteFigures {
  /** vBare ÷ vLatest, vBaton ÷ vLatest, vBare ÷ vBaton. */
  latestVsBare?: number;
  latestVsBaton?: number;
  batonVsBare?: number;
  /** vLatest − vBaton, instructions per request. */
  latestAdds?: number;
  fiveBehind?: FiveBehindFigures;
}

export interface FrameworkFigures {
  framework: Framework;
  perRequest: Partial<Record<VariantId, Partial<Record<BatchKind, PerRequest>>>>;
  /** bare ÷ bare again (A/A control). */
  control?: number;
  /** bare ÷ Baton, bare ÷ Baton + metrics, Baton ÷ Baton + metrics. */
  baton?: number;
  metrics?: number;
  metricsOfBaton?: number;
  toggles?: ToggleFigures;
  versioning: Partial<Record<BatchKind, RouteFigures>>;
}

/** The figures of one framework from whatever of its apps was counted. */
export function frameworkFigures(framework: Framework, runs: readonly VariantCounts[], transforms: TransformsResult | undefined): FrameworkFigures {
  const perRequest: FrameworkFigures['perRequest'] = {};
  for (const run of runs.filter((r) => r.framework === framework)) {
    const kinds: Partial<Record<BatchKind, PerRequest>> = {};
    for (const k of run.kinds) {
      const clean = k.perRequest.filter((_, i) => (k.collections[i] ?? []).length === 0);
      const used = clean.length >= MIN_CLEAN_BATCHES ? clean : k.perRequest;
      const m = median(used);
      kinds[k.kind] = { median: m, spread: (Math.max(...used) - Math.min(...used)) / m, batches: k.perRequest.length, used: used.length, collections: k.collections.flat() };
    }
    perRequest[run.variant] = kinds;
  }
  const at = (variant: VariantId, kind: BatchKind = 'GET'): number | undefined => perRequest[variant]?.[kind]?.median;
  const share = (reference: number | undefined, app: number | undefined): number | undefined => (reference !== undefined && app !== undefined ? reference / app : undefined);
  const figures: FrameworkFigures = { framework, perRequest, versioning: {} };
  const set = <K extends 'control' | 'baton' | 'metrics' | 'metricsOfBaton'>(key: K, value: number | undefined): void => {
    if (value !== undefined) figures[key] = value;
  };
  set('control', share(at('bare'), at('bareAgain')));
  set('baton', share(at('bare'), at('baton')));
  set('metrics', share(at('bare'), at('batonMetrics')));
  set('metricsOfBaton', share(at('baton'), at('batonMetrics')));
  const baton = at('baton');
  const toggles = at('batonToggles');
  const raw = at('batonRawToggles');
  if (baton !== undefined && toggles !== undefined && raw !== undefined) {
    figures.toggles = { keptOfBaton: baton / toggles, batonAdds: toggles - baton, rawAdds: raw - baton, ratio: (toggles - baton) / (raw - baton), wholeRatio: toggles / raw };
  }
  for (const kind of ['GET', 'POST'] as const) {
    const route: RouteFigures = {};
    const bare = at('vBare', kind);
    const plain = at('vBaton', kind);
    const latest = at('vLatest', kind);
    const oldest = at('vOldest', kind);
    const put = <K extends 'latestVsBare' | 'latestVsBaton' | 'batonVsBare' | 'latestAdds'>(key: K, value: number | undefined): void => {
      if (value !== undefined) route[key] = value;
    };
    put('latestVsBare', share(bare, latest));
    put('latestVsBaton', share(plain, latest));
    put('batonVsBare', share(bare, plain));
    put('latestAdds', latest !== undefined && plain !== undefined ? latest - plain : undefined);
    if (oldest !== undefined && plain !== undefined && transforms !== undefined) {
      const t = transforms.instructions;
      const userTransforms = t[`${kind} transforms`];
      const bodyDelta = t[`${kind} body oldest`] - t[`${kind} body latest`];
      const adds = oldest - plain;
      const batonShare = adds - userTransforms - bodyDelta;
      const chainOwn = t[`${kind} chain`] - userTransforms;
      route.fiveBehind = {
        adds,
        overLatest: latest !== undefined ? oldest - latest : Number.NaN,
        transforms: userTransforms,
        bodyDelta,
        batonShare,
        chainOwn,
        adapter: batonShare - chainOwn,
        batonShareMicros: batonShare / transforms.rate.used,
      };
    }
    if (Object.keys(route).length > 0) figures.versioning[kind] = route;
  }
  return figures;
}

/** Is the A/A control within the tolerance? */
export function controlHolds(control: number | undefined): boolean {
  return control !== undefined && Math.abs(control - 1) <= CONTROL_TOLERANCE;
}

import { BatonError, type CollectorHost } from '@baton/lifecycle';
import { createNegotiator, type NegotiableRequest, type NegotiationOptions, type VersionSource } from './negotiation.js';
import { routeNotInVersionProblem, type ProblemDetails } from './problem.js';
import type { AnyVersionChange } from './version-change.js';
import { createVersionChain, type VersionChain } from './version-chain.js';
import { createVersionLifecycle, type VersionLifecycleOptions, type VersionRetirement } from './version-lifecycle.js';
import type { Versions } from './versions.js';

/** Options of {@link createVersioning}. */
export interface VersioningOptions<V extends string, R extends NegotiableRequest> extends VersionLifecycleOptions<V> {
  versions: Versions<V>;
  /** The version changes, in any order. */
  changes?: readonly AnyVersionChange[];
  /** How a request's version is found; see `createNegotiator`. */
  negotiation?: NegotiationOptions<R>;
  /** The response header echoing the resolved version. Default the negotiation header, `Api-Version`. */
  responseHeader?: string;
  /** Clock (ms since the epoch), for tests. */
  now?: () => number;
}

/** What one request's version came to: served (with the headers to send) or refused (with a problem). */
export type VersionDecision<V extends string> =
  | { ok: true; version: V; source: VersionSource | 'default'; headers: readonly (readonly [string, string])[] }
  | { ok: false; status: 400 | 406 | 410; problem: ProblemDetails; headers: readonly (readonly [string, string])[] };

export type { CollectorHost };

/**
 * One API's versioning, framework-free, for the adapters: negotiation,
 * deprecation and sunset, the chain of changes, and usage counts per version.
 */
export interface Versioning<V extends string, R extends NegotiableRequest = NegotiableRequest> {
  readonly versions: Versions<V>;
  readonly chain: VersionChain<V>;
  /** The retirement dates it was given (for the changelog). */
  readonly retirements: Readonly<Partial<Record<V, VersionRetirement>>>;
  /** Negotiates `request`'s version: the version and the headers to send (resolved version, `Vary`, deprecation), or a problem (400, 406, 410). Counts it. */
  decide(request: R): VersionDecision<V>;
  /** The 404 problem when `route` ("GET /orders/:id") does not exist in `version` (added later, or removed by then); undefined when it does. */
  routeProblem(route: string, version: V): ProblemDetails | undefined;
  /** Requests per version and source since start, and refusals per status. */
  usage(): { version: string; source: string; count: number }[];
  /** Exports `baton_api_version_requests_total{version,source}` through `@baton/metrics` (refusals as `version="(refused)"`, `source` the status). */
  bindMetrics(metrics: CollectorHost): this;
}

/**
 * Builds an API's versioning from its versions, changes, negotiation and
 * retirement options, all checked now.
 *
 * @example
 * const versioning = createVersioning({ versions, changes: [splitCustomer], negotiation: { vendor: 'orders' } });
 */
export function createVersioning<V extends string, R extends NegotiableRequest = NegotiableRequest>(options: VersioningOptions<V, R>): Versioning<V, R> {
  if (options === null || typeof options !== 'object' || options.versions === undefined) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'versioning: give `versions` (from defineVersions()).');
  }
  const { versions } = options;
  const negotiate = createNegotiator<V, R>(versions, options.negotiation);
  const chain = createVersionChain(versions, options.changes ?? []);
  const lifecycle = createVersionLifecycle(versions, options);
  const now = options.now ?? Date.now;
  const responseHeader = options.responseHeader ?? (options.negotiation?.header === false ? 'Api-Version' : (options.negotiation?.header ?? 'Api-Version'));
  // Counts by "version source": a fixed, small set of keys (versions × sources + refusals).
  const counts = new Map<string, { version: string; source: string; count: number }>();
  // The counter of a version and source, created on first use (its count is then 0).
  const counter = (version: string, source: string): { version: string; source: string; count: number } => {
    const key = `${version}\u0000${source}`;
    let entry = counts.get(key);
    if (entry === undefined) counts.set(key, (entry = { version, source, count: 0 }));
    return entry;
  };
  const count = (version: string, source: string): void => {
    counter(version, source).count += 1;
  };
  let metricsBound = false;
  // Decisions served alike, by source then version (a handful of entries), each with its counter, so
  // the common case neither allocates nor builds a key.
  const served = new Map<string, Map<string, { decision: VersionDecision<V>; usage: { count: number } }>>();

  const versioning: Versioning<V, R> = {
    versions,
    chain,
    retirements: Object.freeze({ ...options.retirements }),
    decide(request) {
      const negotiated = negotiate(request);
      if (negotiated.ok) {
        // The common case, built once per version and Vary list: no allocation per request.
        const cached = served.get(negotiated.source)?.get(negotiated.version);
        if (cached !== undefined) {
          cached.usage.count += 1;
          return cached.decision;
        }
      }
      const vary = negotiated.vary.length === 0 ? [] : [['Vary', negotiated.vary.join(', ')] as const];
      if (!negotiated.ok) {
        count('(refused)', String(negotiated.status));
        return { ok: false, status: negotiated.status, problem: negotiated.problem, headers: vary };
      }
      const standing = lifecycle.check(negotiated.version, now());
      if (standing.gone) {
        count('(refused)', '410');
        return { ok: false, status: 410, problem: standing.problem, headers: [...vary, ...standing.headers] };
      }
      count(negotiated.version, negotiated.source);
      const decision = Object.freeze({ ok: true as const, version: negotiated.version, source: negotiated.source, headers: Object.freeze([[responseHeader, negotiated.version] as const, ...vary, ...standing.headers]) });
      // The source fixes Vary; a version without retirement dates always gets the same headers. (A retiring
      // version is not cached: its sunset passing turns it into 410s.)
      if (standing.headers.length === 0) {
        let byVersion = served.get(negotiated.source);
        if (byVersion === undefined) served.set(negotiated.source, (byVersion = new Map()));
        byVersion.set(negotiated.version, { decision, usage: counter(negotiated.version, negotiated.source) });
      }
      return decision;
    },
    routeProblem(route, version) {
      return chain.routeExists(route, version) ? undefined : routeNotInVersionProblem(route, version);
    },
    usage() {
      return [...counts.values()].map((entry) => ({ ...entry }));
    },
    bindMetrics(metrics) {
      if (metricsBound) return versioning;
      metrics.addCollector({
        name: 'baton_api_version_requests_total',
        help: 'Requests per negotiated API version and what chose it (header, accept, query, pin, default); refusals as version="(refused)" with the status as source.',
        type: 'counter',
        read: () => [...counts.values()].map(({ version, source, count: value }) => ({ labels: { version, source }, value })),
      });
      metricsBound = true;
      return versioning;
    },
  };
  return Object.freeze(versioning);
}

// @baton/express and @baton/fastify take this package as an optional peer:
// they read its types from here (see OptionalPeerTypes in @baton/lifecycle)
// rather than importing them, so a user without it compiles with skipLibCheck off.
declare module '@baton/lifecycle' {
  interface OptionalPeerTypes {
    versioning: { versioning: Versioning<string> };
  }
}

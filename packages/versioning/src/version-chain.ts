import { BatonError } from '@baton/lifecycle';
import type { AnyVersionChange, TransformContext } from './version-change.js';
import type { Versions } from './versions.js';
import type { VersioningErrorCode } from './errors.js';

/** The changes between each supported version and the latest, applied to requests and responses. */
export interface VersionChain<V extends string> {
  readonly versions: Versions<V>;
  /** Every change, oldest first. */
  readonly changes: readonly AnyVersionChange[];
  /** True when a message of `route` on `version` is transformed at all (never for the latest). */
  touches(route: string, version: V): boolean;
  /** A request body written for `version`, brought up to the latest shape. */
  upgradeRequest(route: string, version: V, body: unknown): unknown;
  /** A response body of the latest shape, brought down to `version`'s (error bodies through `error` transforms). */
  downgradeResponse(route: string, version: V, status: number, body: unknown): unknown;
  /** False when `route` does not exist on `version` (added later, or removed by then). */
  routeExists(route: string, version: V): boolean;
  /**
   * A body of `route` moved from version `from` to version `to`, in either
   * direction: up through the changes' request upgrades (oldest first), or
   * down through their response downgrades (newest first). For webhooks and
   * queue messages, whose keys are `EVENT <name>`.
   */
  migrate(route: string, body: unknown, from: V, to: V): unknown;
}

// Known methods only: a route key names what an adapter reports; `EVENT <name>` names a message.
const ROUTE = /^((GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) \/\S*|EVENT [A-Za-z0-9][\w.:-]*)$/;

/**
 * Checks the changes against the versions and precomputes, per version, the
 * changes between it and the latest. Requests on the latest version do no
 * work: `touches` is false and the body is returned as it is.
 */
export function createVersionChain<V extends string>(versions: Versions<V>, changes: readonly AnyVersionChange[]): VersionChain<V> {
  const list = changes;
  const indexOf = (change: AnyVersionChange, at: number): number => {
    const fail = (what: string): never => {
      throw new BatonError('BATON_ERR_INVALID_OPTION', `versioning: changes[${at}]${typeof change?.description === 'string' ? ` ("${change.description.slice(0, 60)}")` : ''}: ${what}`);
    };
    if (change === null || typeof change !== 'object') return fail('must be a versionChange({...}).');
    if (!versions.has(change.version)) fail(`\`version\` ${JSON.stringify(change.version)} is not a supported version; supported: ${versions.list.join(', ')}.`);
    if (change.version === versions.oldest) fail(`\`version\` is the oldest version (${versions.oldest}); a change needs a version before it.`);
    if (typeof change.description !== 'string' || change.description.trim() === '') fail('`description` must say what changed, for the changelog.');
    if (!Array.isArray(change.routes) || change.routes.length === 0) fail('`routes` must list the routes it changes ("GET /orders/:id"), or ["*"].');
    for (const route of [...change.routes, ...(change.routesAdded ?? []), ...(change.routesRemoved ?? [])]) {
      if (route !== '*' && !ROUTE.test(route)) fail(`route ${JSON.stringify(route)} must be "METHOD /template" (e.g. "GET /orders/:id") or "EVENT <name>" (e.g. "EVENT order.created").`);
    }
    for (const [name, transform] of [['request.upgrade', change.request?.upgrade], ['response.downgrade', change.response?.downgrade], ['error.downgrade', change.error?.downgrade]] as const) {
      const holder = name.split('.')[0] as 'request' | 'response' | 'error';
      if (change[holder] !== undefined && typeof transform !== 'function') fail(`\`${name}\` must be a function.`);
    }
    return versions.list.indexOf(change.version as V);
  };
  // Oldest first; changes of one version keep their declared order.
  const ordered = list.map((change, at) => ({ change, index: indexOf(change, at), at })).sort((a, b) => a.index - b.index || a.at - b.at);
  const frozen = Object.freeze(ordered.map((entry) => entry.change));
  const plans = new Map<string, readonly AnyVersionChange[]>();
  const versionedRoutes = new Set(ordered.flatMap((entry) => [...(entry.change.routesAdded ?? []), ...(entry.change.routesRemoved ?? [])]));

  /** The changes after `version` that touch `route`, oldest first (cached: routes are templates, so few). */
  const plan = (route: string, version: V): readonly AnyVersionChange[] => {
    const key = `${version} ${route}`;
    let found = plans.get(key);
    if (found === undefined) {
      const from = versions.list.indexOf(version);
      found = Object.freeze(ordered.filter((entry) => entry.index > from && (entry.change.routes.includes('*') || entry.change.routes.includes(route))).map((entry) => entry.change));
      plans.set(key, found);
    }
    return found;
  };

  const run = <T>(change: AnyVersionChange, what: string, route: string, apply: () => T): T => {
    try {
      return apply();
    } catch (error) {
      throw new BatonError(
        'BATON_ERR_VERSION_TRANSFORM' satisfies VersioningErrorCode,
        `versioning: the ${what} of the change "${change.description}" (${change.version}) threw on ${route}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  };

  return Object.freeze({
    versions,
    changes: frozen,
    touches(route: string, version: V): boolean {
      return version !== versions.latest && plan(route, version).length > 0;
    },
    upgradeRequest(route: string, version: V, body: unknown): unknown {
      if (version === versions.latest) return body;
      let current = body;
      const context: TransformContext = { route };
      for (const change of plan(route, version)) {
        const upgrade = change.request?.upgrade;
        if (upgrade !== undefined) current = run(change, 'request upgrade', route, () => upgrade(current as never, context));
      }
      return current;
    },
    downgradeResponse(route: string, version: V, status: number, body: unknown): unknown {
      if (version === versions.latest) return body;
      const steps = plan(route, version);
      let current = body;
      const context: TransformContext = { route, status };
      // Newest change first: each takes the body one version further back.
      for (let at = steps.length - 1; at >= 0; at -= 1) {
        const change = steps[at] as AnyVersionChange;
        const downgrade = status >= 400 ? change.error?.downgrade : change.response?.downgrade;
        if (downgrade !== undefined) current = run(change, status >= 400 ? 'error downgrade' : 'response downgrade', route, () => downgrade(current as never, context));
      }
      return current;
    },
    migrate(route: string, body: unknown, from: V, to: V): unknown {
      const start = versions.list.indexOf(from);
      const end = versions.list.indexOf(to);
      if (start === -1 || end === -1) {
        throw new BatonError('BATON_ERR_INVALID_OPTION', `versioning: migrate from ${JSON.stringify(from)} to ${JSON.stringify(to)}: both must be supported versions (${versions.list.join(', ')}).`);
      }
      const between = ordered.filter((entry) => entry.index > Math.min(start, end) && entry.index <= Math.max(start, end) && (entry.change.routes.includes('*') || entry.change.routes.includes(route)));
      let current = body;
      if (start < end) {
        const context: TransformContext = { route };
        for (const { change } of between) {
          const upgrade = change.request?.upgrade;
          if (upgrade !== undefined) current = run(change, 'request upgrade', route, () => upgrade(current as never, context));
        }
      } else {
        const context: TransformContext = { route, status: 200 };
        for (let at = between.length - 1; at >= 0; at -= 1) {
          const { change } = between[at] as (typeof between)[number];
          const downgrade = change.response?.downgrade;
          if (downgrade !== undefined) current = run(change, 'response downgrade', route, () => downgrade(current as never, context));
        }
      }
      return current;
    },
    routeExists(route: string, version: V): boolean {
      // Most routes are in every version: one set lookup, also on the latest.
      if (!versionedRoutes.has(route)) return true;
      const at = versions.list.indexOf(version);
      for (const entry of ordered) {
        if (entry.change.routesAdded?.includes(route) && at < entry.index) return false;
        if (entry.change.routesRemoved?.includes(route) && at >= entry.index) return false;
      }
      return true;
    },
  });
}

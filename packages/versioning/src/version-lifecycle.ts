import { BatonError } from '@baton/lifecycle';
import { problemType, type ProblemDetails } from './problem.js';
import type { Versions } from './versions.js';

/** When a version is (or will be) deprecated and retired, and where to read about it. */
export interface VersionRetirement {
  /** When the version is or was deprecated (a `Date`, or an ISO date or date-time). */
  deprecatedAt: Date | string;
  /** When it stops being served (RFC 8594 `Sunset`). */
  sunsetAt?: Date | string;
  /** A page about the deprecation and the upgrade (`Link: <…>; rel="deprecation"`). */
  link?: string;
}

/** Options of {@link createVersionLifecycle}. */
export interface VersionLifecycleOptions<V extends string> {
  /** The versions being retired; the latest cannot be. */
  retirements?: Partial<Record<V, VersionRetirement>>;
  /** Past its sunset a version answers `410 Gone` (default) or is still served (`serve`, with the headers). */
  afterSunset?: 'gone' | 'serve';
}

/** What {@link VersionLifecycle.check} says about one request's version. */
export type VersionStanding = { gone: false; headers: readonly (readonly [string, string])[] } | { gone: true; problem: ProblemDetails; headers: readonly (readonly [string, string])[] };

/** Deprecation and sunset of versions: the response headers for each, and 410 past the sunset. */
export interface VersionLifecycle<V extends string> {
  /** The standing of `version` at `nowMs`: the headers to send, and whether it is gone. */
  check(version: V, nowMs?: number): VersionStanding;
}

const NONE: VersionStanding = Object.freeze({ gone: false, headers: Object.freeze([]) });

/**
 * Builds the headers of retiring versions once: `Deprecation` (RFC 9745,
 * `@<epoch seconds>`), `Sunset` (RFC 8594, an HTTP date) and `Link` with
 * `rel="deprecation"` / `rel="sunset"`. Past its sunset a version answers 410
 * with an RFC 9457 problem naming the versions still served (unless
 * `afterSunset: 'serve'`). Dates and links are checked now.
 */
export function createVersionLifecycle<V extends string>(versions: Versions<V>, options: VersionLifecycleOptions<V> = {}): VersionLifecycle<V> {
  const afterSunset = options.afterSunset ?? 'gone';
  if (afterSunset !== 'gone' && afterSunset !== 'serve') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `versioning: \`afterSunset\` must be "gone" or "serve"; got ${JSON.stringify(afterSunset)}.`);
  }
  const standing = new Map<string, { headers: readonly (readonly [string, string])[]; sunsetMs: number | undefined }>();
  for (const [version, retirement] of Object.entries(options.retirements ?? {}) as [V, VersionRetirement | undefined][]) {
    if (retirement === undefined) continue;
    const fail = (what: string): never => {
      throw new BatonError('BATON_ERR_INVALID_OPTION', `versioning: retirements["${version}"]: ${what}`);
    };
    if (!versions.has(version)) fail(`not a supported version; supported: ${versions.list.join(', ')}.`);
    if (version === versions.latest) fail('the latest version cannot be retired; add a newer one first.');
    const deprecatedMs = timeOf(retirement.deprecatedAt) ?? fail('`deprecatedAt` must be a Date or an ISO date like 2025-06-30.');
    const sunsetMs = retirement.sunsetAt === undefined ? undefined : (timeOf(retirement.sunsetAt) ?? fail('`sunsetAt` must be a Date or an ISO date like 2025-12-31.'));
    if (sunsetMs !== undefined && sunsetMs < deprecatedMs) fail('`sunsetAt` is before `deprecatedAt`.');
    if (retirement.link !== undefined && !/^https?:\/\/[^\s<>"]+$/.test(retirement.link)) fail(`\`link\` must be an http(s) URL; got ${JSON.stringify(retirement.link)}.`);
    const headers: [string, string][] = [['Deprecation', `@${Math.floor(deprecatedMs / 1000)}`]];
    if (sunsetMs !== undefined) headers.push(['Sunset', new Date(sunsetMs).toUTCString()]);
    if (retirement.link !== undefined) {
      headers.push(['Link', `<${retirement.link}>; rel="deprecation"; type="text/html"${sunsetMs === undefined ? '' : `, <${retirement.link}>; rel="sunset"; type="text/html"`}`]);
    }
    standing.set(version, { headers: Object.freeze(headers.map((header) => Object.freeze(header))), sunsetMs });
  }
  const served = (nowMs: number) => versions.list.filter((version) => {
    const sunset = standing.get(version)?.sunsetMs;
    return sunset === undefined || sunset > nowMs;
  });

  return Object.freeze({
    check(version: V, nowMs = Date.now()): VersionStanding {
      const entry = standing.get(version);
      if (entry === undefined) return NONE;
      if (afterSunset === 'gone' && entry.sunsetMs !== undefined && entry.sunsetMs <= nowMs) {
        return {
          gone: true,
          headers: entry.headers,
          problem: {
            type: problemType('api-version-gone'),
            title: 'API version retired',
            status: 410,
            detail: `Version ${version} was retired on ${new Date(entry.sunsetMs).toISOString().slice(0, 10)}. Supported versions: ${served(nowMs).join(', ')}.`,
            supported: served(nowMs),
            requested: version,
          },
        };
      }
      return { gone: false, headers: entry.headers };
    },
  });
}

function timeOf(value: Date | string): number | undefined {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'string' && /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

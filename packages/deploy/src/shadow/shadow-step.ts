import type { ShadowCompareConfig, ShadowSummary, ShadowThresholds } from './shadow-tally.js';
import { describe, integer, isObject, unknownKeys } from '../internal/config-values.js';

/**
 * A canary's shadow step as the config writes it: for `durationMs`, a copy of
 * `share` of the live requests of `methods` goes to the candidate (ready, with
 * no share of the traffic), and its answers are compared with the stable
 * release's; clients only ever get the stable answer.
 *
 * @example
 * { shadow: { durationMs: 60_000, compare: { ignore: { '*': ['**.release', '**.updatedAt'] } } } }
 */
export interface ShadowStepConfig {
  durationMs: number;
  /** Share of eligible requests copied, above 0 and at most 1; default 1. */
  share?: number;
  /** Methods copied; default GET and HEAD. Others only when listed: the service must send a copy's writes to a dry run (`req.shadow`). */
  methods?: string[];
  /** Requests with a larger body are not copied; answers are compared up to this size; default 65536. */
  maxBodyBytes?: number;
  /** A copy gets this long to be answered; default 10000. */
  timeoutMs?: number;
  compare?: ShadowCompareConfig;
  thresholds?: Partial<ShadowThresholds>;
}

/** What the orchestrator asks a router to mirror (the step without its duration, with the candidate's release). */
export interface ShadowRouterSettings extends Omit<ShadowStepConfig, 'durationMs'> {
  candidate: string;
}

/** A router's figures of a shadow step: the verdict and what was not mirrored. */
export interface ShadowStatus extends ShadowSummary {
  candidate: string;
  /** Eligible by method and size, left out of the share. */
  notInShare: number;
  /** Not mirrored: another method, a body over the limit (or of unknown length), no candidate ready. */
  skipped: { method: number; body: number; noCandidate: number };
  /** Copies still waiting for the candidate. */
  inFlight: number;
}

/** Routers that can mirror requests and compare answers (the built-in one) have it. */
export interface RouterShadow {
  /** Starts (or restarts) mirroring to the candidate's ready backends. */
  start(settings: ShadowRouterSettings): Promise<void>;
  /** The figures so far; undefined when no shadow step runs. */
  status(): Promise<ShadowStatus | undefined>;
  /** Ends the step (copies in flight get their time); its final figures, undefined when none ran. */
  stop(): Promise<ShadowStatus | undefined>;
}

const KEYS = ['durationMs', 'share', 'methods', 'maxBodyBytes', 'timeoutMs', 'compare', 'thresholds'];
const THRESHOLD_KEYS = ['maxDifferenceRate', 'maxCandidateErrorRate', 'maxLatencyRatio', 'minLatencyIncreaseMs', 'minCompared'];

/** Checks a `{ shadow: … }` step; its problems go to `problems`, each naming its field. */
export function resolveShadowStep(input: unknown, where: string, problems: string[]): ShadowStepConfig {
  const step = isObject(input) ? input : {};
  if (!isObject(input)) problems.push(`${where}: an object { durationMs, share?, methods?, maxBodyBytes?, timeoutMs?, compare?, thresholds? }; got ${describe(input)}`);
  unknownKeys(step, KEYS, `${where}.`, problems);
  const resolved: ShadowStepConfig = { durationMs: integer(step['durationMs'], `${where}.durationMs`, 60_000, 100, 3_600_000, problems) };
  const share = step['share'];
  if (share !== undefined) {
    if (typeof share === 'number' && share > 0 && share <= 1) resolved.share = share;
    else problems.push(`${where}.share: the share of requests copied, above 0 and at most 1 (0.5 = every other one); got ${describe(share)}`);
  }
  const methods = step['methods'];
  if (methods !== undefined) {
    if (Array.isArray(methods) && methods.length > 0 && methods.every((method) => typeof method === 'string' && /^[A-Za-z]+$/.test(method))) resolved.methods = methods.map((method: string) => method.toUpperCase());
    else problems.push(`${where}.methods: HTTP methods, e.g. ['GET', 'HEAD'] (the default; a write is copied only when listed, and the service must send it to a dry run: req.shadow); got ${describe(methods)}`);
  }
  if (step['maxBodyBytes'] !== undefined) resolved.maxBodyBytes = integer(step['maxBodyBytes'], `${where}.maxBodyBytes`, 65_536, 0, 16 * 1024 * 1024, problems);
  if (step['timeoutMs'] !== undefined) resolved.timeoutMs = integer(step['timeoutMs'], `${where}.timeoutMs`, 10_000, 1, 600_000, problems);
  const compare = step['compare'];
  if (compare !== undefined) {
    if (!isObject(compare)) problems.push(`${where}.compare: { headers?, ignore? }; got ${describe(compare)}`);
    else {
      unknownKeys(compare, ['headers', 'ignore'], `${where}.compare.`, problems);
      const headers = compare['headers'];
      const ignore = compare['ignore'];
      const out: { headers?: string[]; ignore?: Record<string, string[]> } = {};
      if (headers !== undefined) {
        if (Array.isArray(headers) && headers.every((header) => typeof header === 'string' && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header))) out.headers = [...headers];
        else problems.push(`${where}.compare.headers: response header names whose values must match, e.g. ['content-type']; got ${describe(headers)}`);
      }
      if (ignore !== undefined) {
        const valid = isObject(ignore) && Object.values(ignore).every((paths) => Array.isArray(paths) && paths.every((path) => typeof path === 'string' && path !== ''));
        if (valid) out.ignore = Object.fromEntries(Object.entries(ignore).map(([route, paths]) => [route, [...(paths as string[])]]));
        else problems.push(`${where}.compare.ignore: JSON paths to leave out, by route ('*' for every route), e.g. { '*': ['**.release'], 'GET /orders/:id': ['updatedAt'] }; got ${describe(ignore)}`);
      }
      resolved.compare = out;
    }
  }
  const thresholds = step['thresholds'];
  if (thresholds !== undefined) {
    if (!isObject(thresholds)) problems.push(`${where}.thresholds: an object { ${THRESHOLD_KEYS.join(', ')} }; got ${describe(thresholds)}`);
    else {
      unknownKeys(thresholds, THRESHOLD_KEYS, `${where}.thresholds.`, problems);
      const out: Partial<ShadowThresholds> = {};
      for (const key of THRESHOLD_KEYS as (keyof ShadowThresholds)[]) {
        const value = thresholds[key];
        if (value === undefined) continue;
        if (typeof value === 'number' && Number.isFinite(value) && value >= 0) out[key] = value;
        else problems.push(`${where}.thresholds.${key}: a number, 0 or more; got ${describe(value)}`);
      }
      resolved.thresholds = out;
    }
  }
  return resolved;
}

/** A shadow step's verdict for people: the outcome, then one finding a line. */
export function describeShadow(status: ShadowStatus): string {
  const head = `Shadow: ${status.outcome}: ${status.compared} answers of ${status.candidate} compared with the stable release's (${status.mirrored} requests copied).`;
  return [head, ...status.reasons].join('\n');
}

// The toggles' public option and status types, apart from the class that
// implements them (toggles.ts), so each file keeps to one job.
import type { Lifecycle, Logger } from '@baton/lifecycle';
import type { Context, Strategy } from 'unleash-client';
import type { ToggleSource } from './toggle-source.js';

/**
 * How far the toggle values can be trusted, as the readiness check and the
 * health output show it:
 *
 * - `synced`: from the source of truth (the server answered, or the file or
 *   registry defaults were read);
 * - `bootstrapped`: from a bootstrap file or the last-known-good snapshot;
 *   the server has not answered yet;
 * - `never-synced`: nothing loaded; every toggle serves its fallback;
 * - `auth-failed`: the server refused the token; polling has stopped.
 */
export type ToggleState = 'synced' | 'bootstrapped' | 'never-synced' | 'auth-failed';

/** Where the values served now came from. */
export type LoadedFrom = 'server' | 'file' | 'defaults' | 'bootstrap' | 'snapshot' | 'fallbacks';

/** The toggles' health, as {@link Toggles.status} and the readiness check report it. */
export interface ToggleStatus {
  state: ToggleState;
  source: ToggleSource['type'];
  loadedFrom: LoadedFrom;
  /** The server's endpoint or the file's path. */
  location?: string;
  /** When the source last answered with a whole, valid set (or a 304), ms since the epoch. */
  lastSyncAt?: number;
  /** How long ago that was, in ms, at the time of the call. */
  lastSyncAgeMs?: number;
  /** When the snapshot being served was saved (when `loadedFrom` is `snapshot`). */
  snapshotSavedAt?: number;
  /** The last fault since the last good sync (down, garbage, refused token). */
  lastError?: { code: string; message: string; at: number };
  /** Registry toggles the loaded set does not have: they serve their fallback. */
  missing: string[];
  /** Toggles loaded that the registry does not know (another service's, or a typo). */
  unknown: string[];
  /** True once the readiness deadline passed. */
  deadlinePassed: boolean;
}

/** The readiness check's behaviour. */
export interface ReadinessOptions {
  /**
   * How long the check fails while nothing is loaded (no sync, bootstrap or
   * snapshot), in ms. Default 10000.
   */
  deadlineMs?: number;
  /**
   * Past the deadline with nothing loaded: `warn` (default) makes the instance
   * ready on the fallbacks, so a toggle-server outage never keeps a service
   * down; `fail` keeps it unready until the first sync.
   */
  afterDeadline?: 'warn' | 'fail';
  /** A synced source not heard from for this long warns (values kept). Default 4 refresh intervals, at least 60 s. */
  staleAfterMs?: number;
}

/** Options of {@link createToggles}. */
export interface TogglesOptions {
  /** Where values come from. Default the registry's defaults. */
  source?: ToggleSource;
  /** A lifecycle to bind now (see {@link Toggles.bindLifecycle}). */
  lifecycle?: Lifecycle;
  /** Injected into every request's context as `properties.release`; default the lifecycle's release. */
  release?: string;
  /** Injected as `properties.instance`, so a toggle can target one instance. */
  instance?: string;
  /** Unleash's app name and the snapshot's namespace, unless the Unleash source names one; default the lifecycle's service, else `baton-service`. */
  appName?: string;
  readiness?: ReadinessOptions;
  /** Custom activation strategies, as unleash-client takes them. */
  strategies?: Strategy[];
  logger?: Logger;
  /** Clock (ms since the epoch), for tests. */
  now?: () => number;
}

/** What a toggle evaluates against: unleash-client's context. */
export type ToggleContext = Context;

/** Counts of evaluations, per toggle and result (`true`/`false`, or the variant's name). */
export interface EvaluationCount {
  toggle: string;
  result: string;
  count: number;
}

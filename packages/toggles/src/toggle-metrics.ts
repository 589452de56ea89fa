import type { CollectedSeries as Series, CollectorHost } from '@baton/lifecycle';
import type { ToggleState } from './toggles.js';

export type { CollectorHost };

/** What the toggle metrics read, at scrape time. */
export interface ToggleMetricsSource {
  evaluations(): { toggle: string; result: string; count: number }[];
  status(): { state: ToggleState; lastSyncAgeMs?: number };
  readonly faultCount: number;
}

const STATES: readonly ToggleState[] = ['synced', 'bootstrapped', 'never-synced', 'auth-failed'];

/** The names {@link registerToggleMetrics} registers. */
export const TOGGLE_METRIC_NAMES: readonly string[] = [
  'baton_toggle_evaluations_total',
  'baton_toggle_state',
  'baton_toggle_last_sync_age_seconds',
  'baton_toggle_faults_total',
];

/**
 * Exports, all read at scrape time (the evaluation path only bumps a number):
 *
 * - `baton_toggle_evaluations_total{toggle,result}`: evaluations by result
 *   (`true` / `false` for `isEnabled`, the variant's name for `getVariant`);
 * - `baton_toggle_state{state}`: 1 for the current state;
 * - `baton_toggle_last_sync_age_seconds`: since the source last answered (no series before that);
 * - `baton_toggle_faults_total`: faults absorbed (failed syncs, garbage answers, throwing evaluations).
 */
export function registerToggleMetrics(host: CollectorHost, toggles: ToggleMetricsSource): void {
  host.addCollector({
    name: 'baton_toggle_evaluations_total',
    help: 'Toggle evaluations, by toggle and result (true/false, or the variant name).',
    type: 'counter',
    read: () => toggles.evaluations().map(({ toggle, result, count }) => ({ labels: { toggle, result }, value: count })),
  });
  host.addCollector({
    name: 'baton_toggle_state',
    help: 'State of the toggle values: 1 for the current state (synced, bootstrapped, never-synced, auth-failed).',
    type: 'gauge',
    read: () => {
      const current = toggles.status().state;
      return STATES.map((state) => ({ labels: { state }, value: state === current ? 1 : 0 }));
    },
  });
  host.addCollector({
    name: 'baton_toggle_last_sync_age_seconds',
    help: 'Seconds since the toggle source last answered with a whole, valid set (or a 304).',
    type: 'gauge',
    read: () => {
      const age = toggles.status().lastSyncAgeMs;
      return age === undefined ? [] : [{ labels: {}, value: age / 1000 }];
    },
  });
  host.addCollector({
    name: 'baton_toggle_faults_total',
    help: 'Toggle faults absorbed without failing a request: failed syncs, garbage answers, throwing evaluations.',
    type: 'counter',
    read: () => [{ labels: {}, value: toggles.faultCount }],
  });
}

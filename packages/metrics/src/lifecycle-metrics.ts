import type { Lifecycle, LifecycleState, ShutdownPhase } from '@baton/lifecycle';
import { Gauge, type Registry } from 'prom-client';

const STATES: readonly LifecycleState[] = ['starting', 'ready', 'draining', 'stopped', 'failed'];
const PHASES: readonly (ShutdownPhase | 'done')[] = ['propagation', 'stop-accepting', 'drain', 'hooks', 'done'];
const CONSTANT_NAMES = ['service', 'release', 'instance'] as const;

type Labels = Readonly<Record<string, string>>;

/** The names {@link registerLifecycleMetrics} registers. */
export const LIFECYCLE_METRIC_NAMES: readonly string[] = [
  'baton_lifecycle_state',
  'baton_shutdown_phase',
  'baton_not_ready_seconds',
  'baton_requests_after_not_ready',
  'baton_forced_closes',
  'baton_open_connections',
  'baton_long_lived_connections',
];

/**
 * Registers the lifecycle's metrics, all read at scrape time (nothing runs
 * per request):
 *
 * - `baton_lifecycle_state{state}`: 1 for the current state, 0 for the others
 * - `baton_shutdown_phase{phase}`: 1 for the running shutdown phase (none before a shutdown)
 * - `baton_not_ready_seconds`: seconds since readiness failed (0 before a shutdown)
 * - `baton_requests_after_not_ready`: app requests that still arrived after readiness failed
 *   (a load balancer slower than the propagation delay shows here)
 * - `baton_forced_closes`: connections destroyed with work in flight at the drain deadline
 * - `baton_open_connections`, `baton_long_lived_connections`: sockets now (all, and WebSocket/SSE)
 */
export function registerLifecycleMetrics(registry: Registry, lifecycle: Lifecycle, constant: () => Labels): void {
  const gauge = (name: string, help: string, extra: readonly string[], read: (set: (labels: Labels, value: number) => void) => void): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      labelNames: [...CONSTANT_NAMES, ...extra],
      collect() {
        this.reset();
        read((labels, value) => this.set({ ...constant(), ...labels }, value));
      },
    });
  };
  gauge('baton_lifecycle_state', 'Lifecycle state of this instance: 1 for the current state.', ['state'], (set) => {
    const current = lifecycle.state;
    for (const state of STATES) set({ state }, state === current ? 1 : 0);
  });
  gauge('baton_shutdown_phase', 'Shutdown phase running now: 1 for the current phase; no series before a shutdown.', ['phase'], (set) => {
    const progress = lifecycle.shutdownProgress();
    if (progress === undefined) return;
    for (const phase of PHASES) set({ phase }, phase === progress.phase ? 1 : 0);
  });
  gauge('baton_not_ready_seconds', 'Seconds since readiness failed for a shutdown; 0 before one.', [], (set) => {
    set({}, (lifecycle.shutdownProgress()?.sinceNotReadyMs ?? 0) / 1000);
  });
  gauge('baton_requests_after_not_ready', 'App requests (probes excluded) that arrived after readiness failed.', [], (set) => {
    set({}, lifecycle.shutdownProgress()?.requestsAfterNotReady ?? 0);
  });
  gauge('baton_forced_closes', 'Connections destroyed with work in flight when the drain deadline passed.', [], (set) => {
    set({}, lifecycle.shutdownProgress()?.forcedCloses ?? 0);
  });
  gauge('baton_open_connections', 'Open client connections (sockets) now.', [], (set) => {
    set({}, lifecycle.counts().openSockets);
  });
  gauge('baton_long_lived_connections', 'Open long-lived connections (WebSocket, SSE) now.', [], (set) => {
    set({}, lifecycle.counts().longLived);
  });
}
